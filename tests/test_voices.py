"""Names for speaker turns: voices enrolled from real clips name the same speaker in
another recording; near matches and host guesses are flagged; editors' renames are
learned without touching their drafts; the CLI refuses bad input in one line.

Diarized voices are built as diarization gives them: one embedding per speaker, from
that speaker's stretch of a real recording (tests/media), with the same CAM++ model."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
from pathlib import Path

import frontmatter
import numpy as np
import pytest

from pipeline import draft, voices
from pipeline.audio import SAMPLE_RATE, decode
from pipeline.config import Channel, load_settings
from pipeline.errors import VoiceError
from pipeline.store import DraftStore
from pipeline.transcript import Segment, Transcript, Voice
from pipeline.video import VideoInfo
from pipeline.voices import THRESHOLD, VoiceStore
from tests.conftest import MEDIA, Site, make_video, write_wav
from tests.conftest import run_cli as _run
from tests.conftest import youtube_video as _video

CHANNEL = Channel(url="https://talk.test/show", host="Hana Host")
NO_HOST = dataclasses.replace(CHANNEL, host="")


def _cut(samples: np.ndarray, start: float, end: float) -> np.ndarray:
    return samples[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)]


@pytest.fixture(scope="module")
def clips() -> dict[str, np.ndarray]:
    """Real speech: Kennedy's address cut in two, a LibriSpeech reader, an AISHELL speaker."""
    jfk = decode(MEDIA / "jfk.flac")
    return {
        "jfk_a": _cut(jfk, 0.0, 5.5),
        "jfk_b": _cut(jfk, 5.5, 11.0),
        "libri": decode(MEDIA / "librispeech-1995-1837-0001.wav"),
        "aishell": decode(MEDIA / "aishell-BAC009S0724W0121.wav"),
    }


@pytest.fixture(scope="module")
def embedded(clips: dict[str, np.ndarray]) -> dict[str, tuple[float, ...]]:
    """Each clip's speaker embedding (unit vectors of the CAM++ model)."""
    return {name: tuple(float(x) for x in voices._embed(samples)) for name, samples in clips.items()}


def _episode(*turns: tuple[str, tuple[float, ...], float]) -> Transcript:
    """A diarized transcript: each turn (label, embedding, seconds) speaks one segment of
    that length, in order; the voices as diarization lists them (first appearance)."""
    segments, found, at = [], {}, 0.0
    for label, embedding, seconds in turns:
        segments.append(Segment(at, at + seconds, f"Words of {label} at {at:g}.", speaker=label))
        found.setdefault(label, Voice(label, 0.0, embedding))
        found[label] = dataclasses.replace(found[label], seconds=found[label].seconds + seconds)
        at += seconds + 1.0
    return Transcript("en", "base", "openai-whisper", at, tuple(segments), voices=tuple(found.values()))


def test_the_clips_score_as_the_threshold_expects(embedded: dict[str, tuple[float, ...]]) -> None:
    """The figures behind THRESHOLD, on the clips the tests use: Kennedy's two halves are one
    voice, every other pair is not."""
    vector = {name: np.array(e) for name, e in embedded.items()}
    assert float(vector["jfk_a"] @ vector["jfk_b"]) >= THRESHOLD + 0.1
    others = [("jfk_a", "libri"), ("jfk_b", "libri"), ("jfk_a", "aishell"), ("libri", "aishell")]
    assert max(float(vector[a] @ vector[b]) for a, b in others) <= THRESHOLD - 0.05


def test_an_enrolled_voice_names_that_speaker_in_another_recording(
    clips: dict[str, np.ndarray], embedded: dict[str, tuple[float, ...]], isolated: Path
) -> None:
    store = VoiceStore(isolated / "voices.json")
    store.enrol("John F. Kennedy", clips["jfk_a"], source="enrolled from jfk-first-half.wav")
    episode = _episode(("Speaker 1", embedded["libri"], 8.7), ("Speaker 2", embedded["jfk_b"], 5.5))

    assert store.name_voices(episode.voices, CHANNEL.url) == {"Speaker 2": voices.Naming("John F. Kennedy")}
    named = store.name_transcript(episode, channel=None, episode="youtube:abc123")
    assert [s.speaker for s in named.segments] == ["Speaker 1", "John F. Kennedy"]
    assert named.flagged == 0 and named.voices == episode.voices  # the labels stay with the voices

    text = draft.compose(_video(), named, settings=load_settings(), speaker=None, today=dt.date(2026, 1, 15))
    body = frontmatter.loads(text).content
    assert "&t=0s) **Speaker 1:** Words of Speaker 1 at 0." in body
    assert "&t=9s) **John F. Kennedy:** Words of Speaker 2 at 9.7." in body
    assert frontmatter.loads(text)["guest"] == "John F. Kennedy"


def test_the_store_round_trips_lists_and_forgets(
    clips: dict[str, np.ndarray], embedded: dict[str, tuple[float, ...]], isolated: Path
) -> None:
    path = isolated / "voices.json"
    enrolled = VoiceStore(path).enrol("Ann Reader", clips["libri"], channel=CHANNEL.url, source="enrolled from a.wav")
    VoiceStore(path).add(voices.KnownVoice("Bo", embedded["aishell"], "", "enrolled from b.wav", "2026-01-02"))
    again = VoiceStore(path).known()
    assert dataclasses.replace(again[0], embedding=()) == dataclasses.replace(enrolled, embedding=())
    assert again[0].scope == CHANNEL.url and not again[0].guess
    assert again[0].origin == f"enrolled from a.wav on {dt.date.today().isoformat()}"
    assert np.allclose(again[0].embedding, embedded["libri"], atol=1e-5)  # the same model, the same vector
    assert [v.name for v in VoiceStore(path).known(CHANNEL.url)] == ["Ann Reader", "Bo"]
    assert [v.name for v in VoiceStore(path).known("")] == ["Bo"]  # a video of no channel: global voices only

    with pytest.raises(VoiceError, match=r"no voice named 'Ann Reader' is known for all channels; it is known for "):
        VoiceStore(path).forget("Ann Reader")
    assert [v.name for v in VoiceStore(path).forget(" ann  reader ", CHANNEL.url)] == ["Ann Reader"]
    assert [v.name for v in VoiceStore(path).known()] == ["Bo"]
    episode = _episode(("Speaker 1", embedded["libri"], 8.7), ("Speaker 2", embedded["aishell"], 4.0))
    assert VoiceStore(path).name_voices(episode.voices, CHANNEL.url) == {"Speaker 2": voices.Naming("Bo")}

    path.write_text("{not json")
    with pytest.raises(VoiceError, match=r"voices.json: .* fix the file or remove it"):
        VoiceStore(path).known()
    named = VoiceStore(path).name_transcript(episode, channel=CHANNEL, episode="k")  # a draft is still written
    assert named == episode


def test_the_same_clip_twice_is_one_sample_and_another_persons_clip_is_warned_of(
    isolated: Path, clips: dict[str, np.ndarray], caplog: pytest.LogCaptureFixture
) -> None:
    """A new user enrolled one clip twice (two identical rows) and another person under a
    name already kept (nothing said)."""
    store = VoiceStore(isolated / "voices.json")
    store.enrol("Ann Reader", clips["libri"], source="enrolled from a.wav")
    with caplog.at_level(logging.INFO, logger="pipeline.voices"):
        assert store.enrol("Ann Reader", clips["libri"], source="enrolled from a.wav").source == "enrolled from a.wav"
        assert "already enrolled" in caplog.text and len(store.known()) == 1
        caplog.clear()
        store.enrol("Ann Reader", clips["aishell"], source="enrolled from b.wav")
    assert [v.source for v in store.known()] == ["enrolled from a.wav", "enrolled from b.wav"]
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "sounds unlike the 1 sample(s) of Ann Reader" in warning.getMessage()


def test_a_voice_close_to_two_known_voices_is_flagged_in_the_draft(
    clips: dict[str, np.ndarray], embedded: dict[str, tuple[float, ...]], isolated: Path
) -> None:
    store = VoiceStore(isolated / "voices.json")
    store.enrol("John F. Kennedy", clips["jfk_a"])
    store.enrol("JFK", clips["jfk_a"], channel=CHANNEL.url)  # an editor enrolled him twice, under two names
    episode = _episode(
        ("Speaker 1", embedded["libri"], 8.7),
        ("Speaker 2", embedded["jfk_b"], 5.5),
        ("Speaker 1", embedded["libri"], 3),
    )
    namings = store.name_voices(episode.voices, CHANNEL.url)
    assert set(namings) == {"Speaker 2"}
    assert namings["Speaker 2"].flag in (
        "voice close to John F. Kennedy and JFK: check who speaks",
        "voice close to JFK and John F. Kennedy: check who speaks",
    )
    assert store.name_voices(episode.voices, None)["Speaker 2"] == voices.Naming("John F. Kennedy")  # one in scope

    named = store.name_transcript(episode, channel=CHANNEL, episode="youtube:abc123")
    text = draft.compose(_video(), named, settings=load_settings(), speaker=None, today=dt.date(2026, 1, 15))
    assert f"<!-- draftcast: check 0:09 {namings['Speaker 2'].flag} -->" in text
    assert text.count("voice close to") == 1  # once for the voice, not at each of its turns


def test_two_voices_never_get_one_name(clips: dict[str, np.ndarray], embedded: dict[str, tuple[float, ...]]) -> None:
    """Diarization may split one speaker in two: the closer half gets the name."""
    store = VoiceStore(Path(load_settings().voices_path))
    store.enrol("John F. Kennedy", clips["jfk_b"])
    episode = _episode(("Speaker 1", embedded["jfk_a"], 5.5), ("Speaker 2", embedded["jfk_b"], 5.5))
    assert store.name_voices(episode.voices, None) == {"Speaker 2": voices.Naming("John F. Kennedy")}


def test_the_host_is_guessed_flagged_and_never_overrides_an_enrolment(
    clips: dict[str, np.ndarray], embedded: dict[str, tuple[float, ...]], isolated: Path
) -> None:
    store = VoiceStore(isolated / "voices.json")
    first = _episode(("Speaker 1", embedded["aishell"], 6.0), ("Speaker 2", embedded["libri"], 30.0))
    guessed = voices.Naming("Hana Host", "host guessed: check that this is Hana Host", guess=True)
    assert store.name_voices(first.voices, CHANNEL.url, CHANNEL.host) == {"Speaker 2": guessed}  # nothing counted yet
    named = store.name_transcript(first, channel=CHANNEL, episode="e1")
    assert [s.speaker for s in named.segments] == ["Speaker 1", "Hana Host"]  # the longest voice of a first episode
    assert named.segments[1].flag == "host guessed: check that this is Hana Host"
    guess = [v for v in store.known() if v.guess]
    assert [(v.name, v.scope) for v in guess] == [("Hana Host", CHANNEL.url)]
    assert guess[0].source == "guessed as host: the voice heard most, in 1 episode(s)"

    # Kennedy speaks longer in the second episode, the host across both: the guess follows the channel
    second = _episode(("Speaker 1", embedded["jfk_b"], 20.0), ("Speaker 2", embedded["libri"], 12.0))
    named = store.name_transcript(second, channel=CHANNEL, episode="e2")
    assert [s.speaker for s in named.segments] == ["Speaker 1", "Hana Host"]
    assert named.segments[1].flag.startswith("host guessed")
    store.name_transcript(second, channel=CHANNEL, episode="e2")  # a re-run counts the episode once
    counted = json.loads((isolated / "voices.json").read_text())["channels"][CHANNEL.url]["clusters"]
    assert sorted(c["seconds"] for c in counted) == [6.0, 20.0, 42.0]
    assert [v.source for v in store.known() if v.guess] == ["guessed as host: the voice heard most, in 2 episode(s)"]

    # an enrolment wins: the host's name goes to the voice it matches, unflagged, and nothing is guessed
    store.enrol("Hana Host", clips["jfk_a"], channel=CHANNEL.url)
    assert store.name_voices(second.voices, CHANNEL.url, CHANNEL.host) == {"Speaker 1": voices.Naming("Hana Host")}
    # an enrolled voice that speaks most keeps its own name: no host guess over it
    store.forget("Hana Host", CHANNEL.url)
    store.enrol("Ann Reader", clips["libri"])
    assert store.name_voices(second.voices, CHANNEL.url, CHANNEL.host) == {"Speaker 2": voices.Naming("Ann Reader")}
    assert store.name_voices(second.voices, CHANNEL.url) == {"Speaker 2": voices.Naming("Ann Reader")}  # no host


def test_guest_lists_named_speakers_who_are_not_the_host(embedded: dict[str, tuple[float, ...]]) -> None:
    turns = (("Speaker 1", embedded["libri"], 8.0), ("Speaker 2", embedded["jfk_b"], 5.0))
    episode = _episode(*turns, ("Speaker 3", embedded["aishell"], 4.0))
    named = voices.apply_names(
        episode, {"Speaker 1": voices.Naming("Hana Host"), "Speaker 2": voices.Naming("John F. Kennedy")}
    )
    settings = dataclasses.replace(load_settings(), channels=(dataclasses.replace(CHANNEL, uploader="Talk Show"),))
    post = frontmatter.loads(draft.compose(_video(), named, settings=settings, speaker=None, today=dt.date(2026, 1, 1)))
    assert post["guest"] == "John F. Kennedy"  # the host is not a guest; an unnamed voice is no one yet
    named = voices.apply_names(episode, {"Speaker 2": voices.Naming("Talk Show")})  # the draft's speaker
    post = frontmatter.loads(draft.compose(_video(), named, settings=settings, speaker=None, today=dt.date(2026, 1, 1)))
    assert post["guest"] == ""
    post = frontmatter.loads(
        draft.compose(_video(), episode, settings=settings, speaker=None, today=dt.date(2026, 1, 1))
    )
    assert post["guest"] == "" and "**Speaker 3:**" in post.content  # nothing invented


def _write(store: VoiceStore, transcript: Transcript, transcript_file: Path, video: VideoInfo) -> Path:
    """Name, compose and write a draft as the ingest flow does; returns its path."""
    transcript_file.write_text(transcript.to_json(), encoding="utf-8")
    named = store.name_transcript(transcript, channel=NO_HOST, episode=video.key)
    settings = load_settings()
    text = draft.compose(video, named, settings=settings, channel=NO_HOST, speaker=None, today=dt.date(2026, 1, 1))
    result = draft.write_draft(text, video=video, out_dir=settings.out_dir, store=DraftStore(settings.store_path))
    store.remember_draft(
        result, channel=NO_HOST.url, transcript_file=transcript_file, transcript=transcript, named=named
    )
    return result.path


def test_a_label_an_editor_renames_is_learned_and_names_the_voice_next_time(
    embedded: dict[str, tuple[float, ...]], isolated: Path, tmp_path: Path
) -> None:
    store = VoiceStore(isolated / "voices.json")
    talk = _episode(
        ("Speaker 1", embedded["jfk_b"], 5.5),
        ("Speaker 2", embedded["libri"], 8.7),
        ("Speaker 1", embedded["jfk_b"], 2.0),
        ("Speaker 2", embedded["libri"], 3.0),
    )
    path = _write(store, talk, tmp_path / "transcript.json", _video("ep1"))
    assert path.read_text().count("**Speaker 2:**") == 2
    assert store.learn(CHANNEL.url) == []  # nothing renamed yet

    edited = path.read_text().replace("**Speaker 2:**", "**Ada Lovelace:**")
    path.write_text(edited)
    assert store.learn("https://another.test/channel") == []  # another channel's drafts are not this one's
    assert store.learn(CHANNEL.url) == [
        f"learned 'Ada Lovelace' from {path.name} (Speaker 2 renamed there), for {CHANNEL.url}"
    ]
    assert store.learn(CHANNEL.url) == []  # learned once
    assert path.read_text() == edited  # the editor's draft is only read
    (learned,) = [v for v in store.known() if v.name == "Ada Lovelace"]
    assert (learned.scope, learned.source) == (CHANNEL.url, f"learned from draft {path.name} (label Speaker 2)")

    # the next episode: the same reader, another label, named by what was learned
    later = _episode(("Speaker 1", embedded["aishell"], 4.0), ("Speaker 2", embedded["libri"], 8.7))
    assert store.name_voices(later.voices, CHANNEL.url)["Speaker 2"].name == "Ada Lovelace"
    assert store.name_voices(later.voices, None) == {}  # learned for that channel only


def test_a_label_renamed_in_part_or_to_two_names_is_not_learned_and_said_once(
    embedded: dict[str, tuple[float, ...]], isolated: Path, tmp_path: Path
) -> None:
    store = VoiceStore(isolated / "voices.json")
    turns = [("Speaker 1", embedded["jfk_b"], 5.5), ("Speaker 2", embedded["libri"], 8.7)] * 3
    path = _write(store, _episode(*turns), tmp_path / "transcript.json", _video("ep2"))
    text = path.read_text()
    assert text.count("**Speaker 2:**") == 3

    path.write_text(text.replace("**Speaker 2:**", "**Ada Lovelace:**", 2))
    lines = store.learn(CHANNEL.url)
    assert lines == [
        f"{path.name}: Speaker 2 is renamed to Ada Lovelace in 2 of 3 turns: not learned"
        " (rename every Speaker 2 to teach draftcast this voice)"
    ]
    assert store.learn(CHANNEL.url) == []  # said once
    path.write_text(text.replace("**Speaker 2:**", "**Ada Lovelace:**", 2).replace("**Speaker 2:**", "**Ada L.:**"))
    assert store.learn(CHANNEL.url) == [
        f"{path.name}: Speaker 2 is renamed to Ada Lovelace and Ada L.: not learned (one name for every turn)"
    ]
    path.write_text(text.replace("**Speaker 2:**", "**Speaker 1:**"))  # a speaker's label is no name
    assert store.learn(CHANNEL.url) == [f"{path.name}: Speaker 2 now reads Speaker 1, another speaker's: not learned"]
    assert [v.name for v in store.known() if not v.guess] == []

    path.unlink()  # a draft gone (published elsewhere, deleted) is no longer read
    assert store.learn(CHANNEL.url) == []
    assert json.loads((isolated / "voices.json").read_text())["drafts"] == {}


def test_the_voices_command_adds_lists_and_removes(
    clips: dict[str, np.ndarray], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from flows.cli import main

    clip = write_wav(clips["libri"], tmp_path / "ann.wav")
    assert main(["voices"]) == 0
    assert capsys.readouterr().err == "no voices known: draftcast voices add NAME AUDIO enrols one\n"
    assert main(["voices", "add", "Ann  Reader", str(clip)]) == 0
    assert capsys.readouterr().out == f"enrolled Ann Reader for all channels from {clip}\n"
    assert main(["voices"]) == 0
    header, row = capsys.readouterr().out.splitlines()
    assert header.split() == ["NAME", "SCOPE", "SOURCE", "DATE"]
    assert row.split("  ")[0] == "Ann Reader" and "all channels" in row and "enrolled from ann.wav" in row
    assert row.endswith(dt.date.today().isoformat()) and row.index("enrolled") == header.index("SOURCE")
    assert main(["voices", "remove", "ann reader"]) == 0
    assert capsys.readouterr().out == "forgot Ann Reader for all channels (1 sample(s))\n"
    assert VoiceStore(load_settings().voices_path).known() == []


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["add", "  ", "{clip}"], "a voice needs a name: give it as NAME, for example 'Ada Lovelace'"),
        (["add", "Ann **X**", "{clip}"], "the name 'Ann **X**' holds *, which the draft's Markdown would read as"),
        (["add", "<b>Bob</b>", "{clip}"], "the name '<b>Bob</b>' holds < >, which"),
        (["add", "Ann", "{tmp}/missing.wav"], "{tmp}/missing.wav: no such file: give the path of a recording of Ann"),
        (["add", "Ann", "{tmp}/noise.wav"], "{tmp}/noise.wav: cannot decode the audio of noise.wav: "),
        (["add", "Ann", "{short}"], "{short}: only 1.2 s of speech; a voice needs at least 3 s of one person"),
        (["remove", "Nobody"], "no voice named 'Nobody' is known for all channels: draftcast voices lists the known"),
        (["add", "Ann", "{clip}", "--channel", "https://nope.test"], "no channel with url 'https://nope.test' in "),
    ],
)
def test_voices_refuses_bad_input_in_one_line(
    clips: dict[str, np.ndarray], tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], error: str
) -> None:
    from flows.cli import main

    places = {
        "clip": str(write_wav(clips["libri"], tmp_path / "ann.wav")),
        "short": str(write_wav(_cut(clips["libri"], 0.0, 1.2), tmp_path / "short.wav")),
        "tmp": str(tmp_path),
    }
    (tmp_path / "noise.wav").write_bytes(bytes(range(256)) * 8)
    assert main(["voices", *(a.format(**places) for a in args)]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and len(captured.err.splitlines()) == 1
    assert captured.err.startswith(f"draftcast: error: {error.format(**places)}"), captured.err
    assert "Traceback" not in captured.err and not load_settings().voices_path.exists()


@pytest.mark.slow
def test_an_ingest_names_voices_and_the_next_one_learns_an_editors_rename(
    prefect_api: None,
    site: Site,
    isolated: Path,
    capfd: pytest.CaptureFixture[str],
    clips: dict[str, np.ndarray],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The ingest flow end to end, on a two-voice recording: a LibriSpeech reader, then
    Kennedy (the second half of his address; the first half is enrolled): diarization
    tells them apart, the enrolment names Kennedy, the reader keeps a label."""
    gap = np.zeros(5 * SAMPLE_RATE, dtype=np.float32)  # past speech.PACK_GAP_SECONDS: a window each
    recording = np.concatenate([clips["libri"], gap, clips["jfk_b"]])
    make_video(write_wav(recording, tmp_path / "two.wav"), site.root / "two-voices.mp4")
    url = site.add_page("two-voices.html", media="two-voices.mp4", title="Two voices", uploader="Talk Show")
    feed = site.url("talk-show.xml")  # the channel as polling lists it: a feed with nothing new
    (site.root / "talk-show.xml").write_text('<rss version="2.0"><channel><title>Talk</title></channel></rss>')
    config = tmp_path / "draftcast.toml"
    config.write_text(f'[[channels]]\nurl = "{feed}"\nuploader = "Talk Show"\npoll = true\n')
    monkeypatch.setenv("DRAFTCAST_CONFIG", str(config))
    from flows.cli import main

    assert main(["voices", "add", "John F. Kennedy", str(write_wav(clips["jfk_a"], tmp_path / "jfk-a.wav"))]) == 0
    assert capfd.readouterr().out.startswith("enrolled John F. Kennedy for all channels from ")
    code, out, err = _run(capfd, url, "--model", "tiny.en", "--language", "en")
    assert code == 0, err
    path = Path(out.strip())
    (transcript_file,) = (isolated / "work").glob("*/transcript.*.json")
    post = frontmatter.load(path)
    first = next(line for line in post.content.splitlines() if line.startswith("[0:00]"))
    assert "**Speaker 1:** It was the first great sorrow" in first
    assert "**John F. Kennedy:** " in post.content and post["guest"] == "John F. Kennedy"
    vtt = transcript_file.with_suffix(".vtt").read_text()
    assert "<v John F. Kennedy>" in vtt and "<v Speaker 1>" in vtt  # the sidecars carry the names
    assert Transcript.from_json(transcript_file.read_text()).segments[-1].speaker == "Speaker 2"  # JSON: labels

    edited = path.read_text().replace("**Speaker 1:**", "**Ada Lovelace:**")
    path.write_text(edited)
    code, out, err = _run(capfd, url, "--model", "tiny.en", "--language", "en")
    assert code == 0 and "changed by an editor: left as it is" in err, err
    assert f"learned 'Ada Lovelace' from {path.name} (Speaker 1 renamed there), for {feed}" in err
    assert path.read_text() == edited
    known = {v.name: v for v in VoiceStore(load_settings().voices_path).known()}
    assert known["Ada Lovelace"].scope == feed
    assert known["Ada Lovelace"].source == f"learned from draft {path.name} (label Speaker 1)"

    # a poll of the channel learns too: here a name draftcast gave, corrected by the editor
    from flows.poll import poll_channels

    path.write_text(edited.replace("**John F. Kennedy:**", "**President Kennedy:**"))
    assert poll_channels().startswith("0 new launched")
    known = {v.name: v for v in VoiceStore(load_settings().voices_path).known()}
    assert known["President Kennedy"].source == f"learned from draft {path.name} (label Speaker 2)"
