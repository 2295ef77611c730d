"""Podcasting 2.0: a publisher's transcript (<podcast:transcript>) instead of whisper, and
chapters (<podcast:chapters>) as headings. Files are served on 127.0.0.1 and fetched for
real; the flow runs on Prefect's test harness."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import frontmatter
import pytest

from pipeline import captions, draft, source
from pipeline.config import load_settings
from pipeline.errors import SourceError
from pipeline.transcript import Segment, Transcript
from pipeline.video import Chapter, SubtitleTrack, VideoInfo, parse_chapters, with_overrides
from tests.conftest import Site

GOLDEN = Path(__file__).parent / "golden"

VTT = """WEBVTT

NOTE speakers are named where their turn starts

00:00:00.179 --> 00:00:02.399
<v Travis>When you first get
started in podcasting &amp; radio,

00:00:02.400 --> 00:00:04.799
it's almost guaranteed.

00:00:05.000 --> 00:00:06.500
<v.loud Sarah Jane>Creating good audio</v>

00:00:06.500 --> 00:00:08.000
<v Sarah Jane>is really key.
"""

SRT = """1
00:00:00,000 --> 00:00:02,760
Sarah: In today's episode,
you'll learn whether

2
00:00:02,760 --> 00:01:06,090
you need a trailer.
"""

JSON_TRANSCRIPT = {  # word by word, out of order, one end missing, as feeds serve them
    "version": "1.0.0",
    "segments": [
        {"speaker": "Luke", "startTime": 2.75, "endTime": 3.0, "body": "Nooooo"},
        {"speaker": "Darth Vader", "startTime": 0.5, "endTime": 0.75, "body": "I"},
        {"speaker": "Darth Vader", "startTime": 1, "body": "am"},
        {"speaker": "Darth Vader", "startTime": 1.5, "endTime": 2.0, "body": " your "},
        {"speaker": "Darth Vader", "startTime": 2.25, "endTime": 2.5, "body": "father.\n"},
        {"speaker": "Darth Vader", "startTime": 2.6, "endTime": 2.7, "body": ""},
    ],
}

HTML_TIMED = """<!doctype html><html><body>
<cite>Kevin:</cite>
<time>0:00</time>
<p>We have an update planned &amp; ready.</p>
<p>It ships <em>soon</em>.</p>
<cite>Alban :</cite>
<time>1:02:09.5</time>
<p>You're triggering Tom<br>right now.</p>
<script>var notText = 1;</script>
</body></html>"""

HTML_UNTIMED = """<cite>Host:</cite><p>Welcome to the show.</p><p>Today: chips.</p>
<cite>Guest:</cite><p>Thanks for having me.
<p>Glad to be here."""


def test_webvtt_voice_spans_name_the_speaker_of_every_cue_of_their_turn() -> None:
    segments, timed = captions.parse_transcript(VTT, "vtt")
    assert timed
    assert [(s.start, s.end, s.speaker, s.text) for s in segments] == [
        (0.179, 2.399, "Travis", "When you first get started in podcasting & radio,"),
        (2.4, 4.799, "Travis", "it's almost guaranteed."),  # a cue without a voice span: the turn goes on
        (5.0, 6.5, "Sarah Jane", "Creating good audio"),
        (6.5, 8.0, "Sarah Jane", "is really key."),
    ]


def test_srt_cues_keep_their_times_and_text() -> None:
    segments, timed = captions.parse_transcript(SRT, "srt")
    assert timed
    assert [(s.start, s.end, s.text) for s in segments] == [
        (0.0, 2.76, "Sarah: In today's episode, you'll learn whether"),  # SRT has no speaker markup
        (2.76, 66.09, "you need a trailer."),
    ]


def test_a_json_transcript_is_sorted_and_each_word_has_its_speaker() -> None:
    segments, timed = captions.parse_transcript(json.dumps(JSON_TRANSCRIPT), "json")
    assert timed
    assert [(s.start, s.end, s.speaker, s.text) for s in segments] == [
        (0.5, 0.75, "Darth Vader", "I"),
        (1.0, 1.5, "Darth Vader", "am"),  # no endTime: it ends where the next word starts
        (1.5, 2.0, "Darth Vader", "your"),  # no speaker of its own: the turn goes on
        (2.25, 2.5, "Darth Vader", "father."),
        (2.75, 3.0, "Luke", "Nooooo"),
    ]
    with pytest.raises(ValueError, match="not a JSON transcript"):
        captions.parse_transcript('{"version": "1.0.0"}', "json")


def test_html_with_cite_and_time_is_timed_by_its_paragraphs() -> None:
    segments, timed = captions.parse_transcript(HTML_TIMED, "html")
    assert timed
    assert [(s.start, s.speaker, s.text) for s in segments] == [
        (0.0, "Kevin", "We have an update planned & ready."),
        (0.0, "Kevin", "It ships soon."),  # no <time> of its own: its speaker's turn started at 0:00
        (3729.5, "Alban", "You're triggering Tom right now."),
    ]
    assert segments[1].end == 3729.5  # a paragraph ends where the next starts


def test_html_without_times_and_plain_text_keep_their_paragraphs_untimed() -> None:
    segments, timed = captions.parse_transcript(HTML_UNTIMED, "html")
    assert not timed
    assert [(s.speaker, s.text) for s in segments] == [
        ("Host", "Welcome to the show."),
        ("Host", "Today: chips."),
        ("Guest", "Thanks for having me."),
        ("Guest", "Glad to be here."),  # an unclosed <p> ends where the next begins, or at the end
    ]
    assert {(s.start, s.end) for s in segments} == {(0.0, 0.0)}
    plain, timed = captions.parse_transcript("First paragraph,\nstill the first.\n\n\nSecond one.\n", "txt")
    assert not timed and [s.text for s in plain] == ["First paragraph, still the first.", "Second one."]


def test_a_mislabelled_transcript_is_read_as_what_it_is() -> None:
    segments, timed = captions.parse_transcript(SRT, "txt")  # SRT served as text/plain
    assert timed and segments[1].start == 2.76
    segments, timed = captions.parse_transcript(VTT, "")  # no type given, no telling suffix
    assert timed and segments[0].speaker == "Travis"


def test_json_chapters_skip_silent_markers_and_come_in_time_order() -> None:
    text = json.dumps(
        {
            "version": "1.2.0",
            "chapters": [
                {"startTime": 65.5, "title": "Chips\u202e and power", "endTime": 120},
                {"startTime": 30, "title": "Sponsor", "toc": False},
                {"startTime": 0, "title": "Intro"},
                {"startTime": 90, "title": ""},
            ],
        }
    )
    assert parse_chapters(text) == (Chapter(0.0, None, "Intro"), Chapter(65.5, 120.0, "Chips and power"))
    with pytest.raises(ValueError, match="not a JSON chapters file"):
        parse_chapters("[1, 2]")


def _video(**changes: object) -> VideoInfo:
    base = VideoInfo("jfk", "generic", "jfk", "", "", None, None, "http://127.0.0.1/jfk.mp4", "", (), ())
    return dataclasses.replace(base, **changes)


def test_overrides_bring_the_publishers_transcript_and_chapters_and_survive_json() -> None:
    video = with_overrides(
        _video(subtitles=(SubtitleTrack("en", "https://site/en.vtt", "vtt", automatic=False),)),
        {
            "title": "Episode 1",
            "transcript_url": " https://feed.example/ep1.json ",
            "transcript_type": "application/json",
            "transcript_language": "en-US",
            "chapters_url": "https://feed.example/ep1.chapters.json",
        },
    )
    publisher = SubtitleTrack("en-US", "https://feed.example/ep1.json", "json", False, True, "application/json")
    assert video.subtitles[0] == publisher and len(video.subtitles) == 2
    assert video.title == "Episode 1" and video.chapters_url == "https://feed.example/ep1.chapters.json"
    assert VideoInfo.from_dict(json.loads(json.dumps(dataclasses.asdict(video)))) == video
    unknown_type = with_overrides(_video(), {"transcript_url": "https://f/t.srt", "transcript_type": "x/y"})
    assert unknown_type.subtitles[0].ext == "srt"  # the suffix says what the type does not
    assert with_overrides(_video(), {"transcript_url": "", "transcript_type": "text/vtt"}) == _video(
        fetch_url="http://127.0.0.1/jfk.mp4"
    )
    with pytest.raises(SourceError, match="cannot override transcript_format"):
        with_overrides(_video(), {"transcript_format": "vtt"})


def test_the_publishers_transcript_comes_first_in_the_wanted_language() -> None:
    site_track = SubtitleTrack("en", "https://site/en.vtt", "vtt", automatic=False)
    publisher = SubtitleTrack("en-GB", "https://feed/t.vtt", "vtt", False, True, "text/vtt")
    video = _video(subtitles=(publisher, site_track))
    assert captions.choose_track(video, "en") == publisher
    assert captions.choose_track(video, None) == publisher  # the wanted language unknown
    assert captions.choose_track(video, "zh") is None  # another language: not this episode's words
    assert captions.choose_track(video, "en", "off") is None  # "off" always transcribes
    unsaid = dataclasses.replace(publisher, language="")
    assert captions.choose_track(_video(subtitles=(unsaid,)), "zh") == dataclasses.replace(unsaid, language="zh")
    assert captions.choose_track(_video(subtitles=(unsaid,)), None) == unsaid


def test_fetched_transcripts_of_each_type_and_chinese_ones_in_the_wanted_script(site: Site) -> None:
    files = {"t.vtt": VTT, "t.srt": SRT, "t.json": json.dumps(JSON_TRANSCRIPT), "t.html": HTML_TIMED}
    files["zh.txt"] = "廣州市房地產中介協會分析。\n\n第二段。"
    for name, text in files.items():
        (site.root / name).write_text(text, encoding="utf-8")
    for name, mime in (("t.vtt", "text/vtt"), ("t.srt", "application/x-subrip"), ("t.json", "application/json")):
        track = with_overrides(_video(), {"transcript_url": site.url(name), "transcript_type": mime})
        transcript = captions.fetch_captions(track, track.subtitles[0])
        assert transcript.engine == "publisher" and transcript.model == mime and transcript.timed
    html = with_overrides(_video(duration=3800.0), {"transcript_url": site.url("t.html")})
    transcript = captions.fetch_captions(html, html.subtitles[0])
    assert transcript.model == "html" and transcript.duration == 3800.0 and transcript.segments[2].speaker == "Alban"
    zh = with_overrides(
        _video(),
        {"transcript_url": site.url("zh.txt"), "transcript_type": "text/plain", "transcript_language": "zh-TW"},
    )
    transcript = captions.fetch_captions(zh, zh.subtitles[0], chinese_script="zh-Hans")
    assert [s.text for s in transcript.segments] == ["广州市房地产中介协会分析。", "第二段。"] and not transcript.timed
    assert (
        transcript.provenance == "the publisher's transcript (podcast:transcript, text/plain, zh-TW), without timings"
    )


@pytest.mark.parametrize(
    ("name", "words"), [("gone.vtt", "HTTP 404"), ("empty.vtt", "holds no text"), ("bad.json", "not a JSON")]
)
def test_a_transcript_that_cannot_be_used_is_a_clear_error(site: Site, name: str, words: str) -> None:
    (site.root / "empty.vtt").write_text("WEBVTT\n\n")
    (site.root / "bad.json").write_text('{"segments": 3}')
    video = with_overrides(_video(), {"transcript_url": site.url(name)})
    with pytest.raises(SourceError, match=words) as raised:
        captions.fetch_captions(video, video.subtitles[0])
    assert type(raised.value) is SourceError and site.url(name) in str(raised.value)  # not retried


def test_chapters_are_fetched_and_a_missing_file_is_a_clear_error(site: Site) -> None:
    (site.root / "c.json").write_text(json.dumps({"version": "1.2.0", "chapters": [{"startTime": 3, "title": "B"}]}))
    assert source.fetch_chapters(site.url("c.json")) == (Chapter(3.0, None, "B"),)
    with pytest.raises(SourceError, match="HTTP 404"):
        source.fetch_chapters(site.url("no-chapters.json"))
    with pytest.raises(SourceError, match="not at an http"):
        source.fetch_chapters("file:///etc/passwd")


def test_an_untimed_transcript_reads_as_its_paragraphs_without_time_links() -> None:
    segments = (
        Segment(0.0, 0.0, "Welcome to the show.", speaker="Host"),
        Segment(0.0, 0.0, "Today: chips."),
        Segment(0.0, 0.0, "Thanks {{ for }} having me.", speaker="Guest"),
    )
    transcript = Transcript("en", "text/html", "publisher", 0.0, segments, timed=False)
    video = _video(chapters=(Chapter(0.0, None, "Intro"), Chapter(60.0, None, "Chips")))
    text = draft.compose(
        video, transcript, settings=load_settings(GOLDEN / "draftcast.toml"), speaker=None, today=dt.date(2026, 1, 15)
    )
    body = frontmatter.loads(text).content
    assert body.splitlines()[0].startswith(
        "<!-- draftcast: transcript from the publisher's transcript (podcast:transcript, text/html, en), without"
        " timings; 0 span(s) flagged"  # no "0:00 of audio" when the length is not known
    )
    assert body.split("\n\n")[1:] == [
        "**Host:** Welcome to the show.",
        "Today: chips.",
        "**Guest:** Thanks &#123;{ for }} having me.",
    ]  # no links to 0:00, no chapter headings placed by guesswork


def test_a_new_speaker_starts_a_new_paragraph() -> None:
    segments = (
        Segment(0.0, 1.0, "Hello", speaker="Ann"),
        Segment(1.0, 2.0, "there.", speaker="Ann"),
        Segment(2.0, 3.0, "Hi.", speaker="Bob"),
        Segment(3.0, 4.0, "Bye.", speaker="Ann"),
        Segment(4.5, 5.0, "Bye."),  # not known who
    )
    assert draft.paragraphs(segments, "en") == [
        draft.Paragraph(0.0, "Hello there.", (), "Ann", "Ann"),
        draft.Paragraph(2.0, "Hi.", (), "Bob", "Bob"),
        draft.Paragraph(3.0, "Bye.", (), "Ann", "Ann"),
        draft.Paragraph(4.5, "Bye.", (), "", ""),
    ]
    long_turn = tuple(
        Segment(float(i), i + 1.0, "A sentence of forty characters or so here.", speaker="Ann") for i in range(40)
    )
    turn = draft.paragraphs(long_turn, "en")
    assert len(turn) > 1 and [p.speaker for p in turn] == ["Ann"] + [""] * (len(turn) - 1)  # named once a turn
    assert draft.paragraphs(long_turn, "zh")[0].speaker == "Ann"


EPISODE_TRANSCRIPT = {  # the publisher's words: a host's line whisper could never hear, Kennedy's with a dash
    "version": "1.0.0",
    "segments": [
        {"speaker": "Host", "startTime": 0.0, "endTime": 0.1, "body": "From the archive of the JFK Library."},
        {"speaker": "John F. Kennedy", "startTime": 0.2, "endTime": 3.5, "body": "And so, my fellow Americans:"},
        {"speaker": "John F. Kennedy", "startTime": 3.5, "endTime": 7.0, "body": "ask not what your country can"},
        {"speaker": "John F. Kennedy", "startTime": 7.0, "endTime": 7.9, "body": "do for you —"},
        {
            "speaker": "John F. Kennedy",
            "startTime": 8.0,
            "endTime": 11.0,
            "body": "ask what you can do for your country.",
        },
    ],
}
EPISODE_CHAPTERS = {
    "version": "1.2.0",
    "chapters": [
        {"startTime": 7.0, "title": "The answer"},
        {"startTime": 2.0, "title": "Sponsor", "toc": False},
        {"startTime": 0, "title": "Welcome"},
        {"startTime": 3.5, "title": "The ask", "endTime": 7.0},
    ],
}


def _artifacts_of(path: Path) -> tuple[str, dict[str, str]]:
    """The markdown preview and the provenance table the flow run of the draft at ``path`` published."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts()
    (run_id,) = {a.flow_run_id for a in artifacts if a.type == "markdown" and str(path) in a.data}
    table = next(a for a in artifacts if a.flow_run_id == run_id and a.type == "table")
    return run_id, {row["what"]: row["value"] for row in json.loads(table.data)}


@pytest.mark.slow
def test_an_episodes_own_transcript_and_chapters_replace_whisper(prefect_api: None, site: Site, isolated: Path) -> None:
    from flows.ingest import ingest_video

    (site.root / "ep1.json").write_text(json.dumps(EPISODE_TRANSCRIPT), encoding="utf-8")
    (site.root / "ep1.chapters.json").write_text(json.dumps(EPISODE_CHAPTERS), encoding="utf-8")
    overrides = {
        "webpage_url": "https://podcast.example/episodes/1",
        "title": "Episode 1: The ask",
        "transcript_url": site.url("ep1.json"),
        "transcript_type": "application/json",
        "transcript_language": "en",
        "chapters_url": site.url("ep1.chapters.json"),
    }
    path = ingest_video(url=site.url("jfk.mp4"), model="tiny.en", language="en", overrides=overrides).path
    body = frontmatter.load(path).content
    assert body.startswith(
        "<!-- draftcast: transcript from the publisher's transcript (podcast:transcript, application/json, en);"
        " 0:11 of audio;"
    )
    assert "**Host:** From the archive of the JFK Library." in body  # words no one said in the recording
    assert "ask not what your country can" in body and "do for you — ask what you can do for your country." in body
    headings = [line for line in body.splitlines() if line.startswith("### ")]
    assert headings == ["### Welcome", "### The ask", "### The answer"]  # the silent "Sponsor" marker is no heading
    # each section starts at its time, and says who speaks
    assert "[0:03](https://podcast.example/episodes/1#t=3) **John F. Kennedy:** ask not" in body
    work = next((isolated / "work").iterdir())
    assert sorted(p.name for p in work.glob("transcript.*")) == [
        f"transcript.publisher.en.{suffix}" for suffix in ("json", "srt", "txt", "vtt")
    ]
    assert not list(work.glob("media.*"))  # nothing downloaded: whisper never ran
    _, provenance = _artifacts_of(path)
    assert provenance["engine"] == "publisher" and provenance["model"] == "application/json"


@pytest.mark.slow
def test_a_transcript_or_chapters_that_cannot_be_fetched_fall_back_to_whisper(
    prefect_api: None, site: Site, isolated: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from flows.ingest import ingest_video

    overrides = {
        "webpage_url": "https://podcast.example/episodes/2",
        "transcript_url": site.url("gone/ep2.vtt"),
        "transcript_type": "text/vtt",
        "chapters_url": site.url("gone/ep2.chapters.json"),
    }
    path = ingest_video(url=site.url("jfk.mp4"), model="tiny.en", language="en", overrides=overrides).path
    body = frontmatter.load(path).content
    assert body.startswith(
        "<!-- draftcast: transcript from openai-whisper tiny.en, language en (the publisher's transcript could not"
        f" be used: {site.url('gone/ep2.vtt')}: the server answered HTTP 404"
    )
    assert "ask not what your country can do for you" in body.lower()  # whisper heard it
    assert "### " not in body  # no chapters, and the draft is written all the same
    work = next((isolated / "work").iterdir())
    assert list(work.glob("transcript.tiny.en.*.json")) and not list(work.glob("transcript.publisher.*"))
    ours = [r.getMessage() for r in caplog.records if r.name == "prefect.flow_runs" and r.levelname == "WARNING"]
    assert len([line for line in ours if "HTTP 404" in line and "transcribing with whisper instead" in line]) == 1
    assert len([line for line in ours if "HTTP 404" in line and line.startswith("the draft has no chapters")]) == 1
    _, provenance = _artifacts_of(path)
    assert provenance["engine"] == "openai-whisper" and "HTTP 404" in provenance["transcript from"]
