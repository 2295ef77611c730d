"""One ingest plan: what plan_ingest decides, that the CLI's head start and the flow
follow it, and the import graph that keeps each type where it belongs."""

from __future__ import annotations

import ast
import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import frontmatter
import pytest

from pipeline import engines, models
from pipeline.choices import ChineseScript, EngineName
from pipeline.config import load_settings
from pipeline.errors import ConfigError, DraftcastError, ModelError, NotReady, OutputError, SourceError
from pipeline.headstart import HeadStart
from pipeline.plan import check_request, plan_ingest
from pipeline.transcript import Segment, Transcript
from pipeline.video import SubtitleTrack, VideoInfo
from tests.conftest import Site
from tests.conftest import run_cli as _run

PROJECT = Path(__file__).resolve().parent.parent
CHANNEL_CONFIG = """
[draftcast]
model = "base"
[[channels]]
url = "https://chips.example/@channel"
uploader = "Chip Channel"
model = "tiny.en"
language = "en"
[[channels]]
url = "https://zh.example/"
language = "zh"
chinese_script = "zh-TW"
diarize = false
"""


def _video(**fields: object) -> VideoInfo:
    base = {
        "id": "v1",
        "extractor": "generic",
        "title": "t",
        "uploader": "",
        "channel_url": "",
        "upload_date": None,
        "duration": 60.0,
        "webpage_url": "https://elsewhere.example/v1",
        "description": "",
        "tags": (),
        "chapters": (),
    }
    return VideoInfo(**{**base, **fields})  # type: ignore[arg-type]


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    config = tmp_path / "draftcast.toml"
    config.write_text(CHANNEL_CONFIG)
    monkeypatch.setenv("DRAFTCAST_CONFIG", str(config))
    return load_settings()


def test_the_channels_model_language_and_script_are_the_plans(settings) -> None:  # type: ignore[no-untyped-def]
    plan = plan_ingest(_video(uploader="Chip Channel"), settings, device="cpu")
    assert (plan.model, plan.language, plan.decoding.language) == ("tiny.en", "en", "en")
    assert plan.channel is not None and plan.channel.url == "https://chips.example/@channel"
    assert plan.work_dir == settings.work_dir / plan.video.work_name
    assert plan.transcript_file.name == "transcript.tiny.en.en.json" and plan.needs_audio

    given = plan_ingest(_video(uploader="Chip Channel"), settings, model="base", language="de", device="cpu")
    assert (given.model, given.language) == ("base", "de")  # what the person asks for wins

    mandarin = plan_ingest(_video(webpage_url="https://zh.example/v/1"), settings, model="tiny.en", device="cpu")
    assert mandarin.language == "zh" and mandarin.model != "tiny.en"  # an English-only model never hears Mandarin
    assert mandarin.chinese_script is ChineseScript.TAIWAN is mandarin.decoding.chinese_script

    unknown = plan_ingest(_video(), settings, device="cpu")
    assert (unknown.channel, unknown.model, unknown.language) == (None, "base", None)


def test_speaker_turns_are_the_commands_else_the_channels_else_the_configs(settings) -> None:  # type: ignore[no-untyped-def]
    chinese = _video(webpage_url="https://zh.example/v/1")
    assert plan_ingest(_video(), settings, device="cpu").speakers  # on by default
    assert not plan_ingest(chinese, settings, device="cpu").speakers  # its channel says diarize = false
    assert plan_ingest(chinese, settings, device="cpu", speakers=True).speakers
    assert not plan_ingest(_video(), settings, device="cpu", speakers=False).speakers  # --no-speakers
    assert not plan_ingest(_video(), dataclasses.replace(settings, diarize=False), device="cpu").speakers


def test_a_transcript_saved_without_speakers_needs_the_audio_only_when_they_are_wanted(settings) -> None:  # type: ignore[no-untyped-def]
    plan = plan_ingest(_video(), settings, model="tiny.en", language="en", device="cpu")
    plan.transcript_file.parent.mkdir(parents=True)
    plain = Transcript("en", "tiny.en", "openai-whisper", 3.0, (Segment(0.0, 3.0, "Hello."),))
    plan.transcript_file.write_text(plain.to_json())
    assert plan.speakers and plan.needs_audio and not plan.transcript_ready
    assert not dataclasses.replace(plan, speakers=False).needs_audio
    plan.transcript_file.write_text(dataclasses.replace(plain, diarized=True).to_json())  # one voice, looked for
    assert not plan.needs_audio


def test_people_s_text_is_planned_instead_of_a_model(settings) -> None:  # type: ignore[no-untyped-def]
    track = SubtitleTrack("en", "https://x/s.vtt", "vtt", automatic=False)
    plan = plan_ingest(_video(subtitles=(track,), uploader="Chip Channel"), settings, device="cpu")
    assert plan.track == track and not plan.needs_audio


def test_bad_choices_are_refused_by_the_plan(settings) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match="unknown engine 'whisperx': use openai-whisper or faster-whisper"):
        plan_ingest(_video(), settings, engine="whisperx", device="cpu")
    with pytest.raises(ModelError, match="unknown model 'huge'"):
        plan_ingest(_video(), settings, model="huge", device="cpu")
    with pytest.raises(
        ConfigError, match=r"no channel with url .*: give one of its channels. urls .*https://zh\.example/"
    ):
        plan_ingest(_video(), settings, channel="https://not.configured/", device="cpu")
    assert settings.channel_named("https://zh.example").url == "https://zh.example/"  # a trailing slash aside
    assert plan_ingest(_video(), settings, engine="faster-whisper", device="cpu").decoding.engine is (
        EngineName.FASTER_WHISPER
    )


def test_a_switched_model_says_which_runs_and_why(isolated: Path) -> None:
    settings = load_settings()  # no channels
    switched = plan_ingest(_video(), settings, model="tiny.en", device="cpu")
    assert switched.model == "base"  # tiny is not here; base ships offline
    assert switched.model_note == (
        "transcribing with base, not tiny.en: tiny.en knows only English and the language is not given "
        "(--language en keeps tiny.en)"
    )
    mandarin = plan_ingest(_video(), settings, model="tiny.en", language="zh", device="cpu")
    assert mandarin.model_note.endswith("knows only English and the language is zh")
    assert plan_ingest(_video(), settings, model="tiny.en", language="en", device="cpu").model_note == ""
    assert plan_ingest(_video(), settings, model="base", device="cpu").model_note == ""


URL = "https://videos.example/talk.mp4"
REFUSED = [
    ("not a url", {}, SourceError, "'not a url' is not an http(s) URL"),
    ("example.com/v.mp4", {}, SourceError, "'example.com/v.mp4' has no scheme: write https://example.com/v.mp4"),
    ("www.youtube.com/watch?v=x", {}, SourceError, "write https://www.youtube.com/watch?v=x"),
    ("localhost:8000/v.mp4", {}, SourceError, "write https://localhost:8000/v.mp4"),
    ("//cdn.example/v.mp4", {}, SourceError, "write https://cdn.example/v.mp4"),
    ("ftp://example.com/v.mp4", {}, SourceError, "is not an http(s) URL"),
    ("http://", {}, SourceError, "has no host name: write it http://HOST/"),
    ("http://127.0.0.1:0/v.mp4", {}, SourceError, "'http://127.0.0.1:0/v.mp4' has no valid port: 1 to 65535"),
    ("https://cdn.example:70000/v.mp4", {}, SourceError, "has no valid port: 1 to 65535 after the host's ':'"),
    ("https://cdn.<example>/v.mp4", {}, SourceError, "has a host name that cannot be: check the address"),
    ("http://a..b/v.mp4", {}, SourceError, "'http://a..b/v.mp4' has a host name that cannot be"),
    ("HTTP://-BAD-.COM/x", {}, SourceError, "'HTTP://-BAD-.COM/x' has a host name that cannot be"),  # RFC 1123
    ("https://" + "a" * 64 + ".example/v.mp4", {}, SourceError, "has a host name that cannot be"),
    ("http://[::1/v.mp4", {}, SourceError, "'http://[::1/v.mp4' is not a valid address (its host's brackets)"),
    ("https://exa\tmple.com/v.mp4", {}, SourceError, "has a control character ('\\t') in it: give one address"),
    ("https://a.example/v.mp4\nhttps://b.example/w", {}, SourceError, "a control character ('\\n') in it"),
    (" https://a.example/v.mp4", {}, SourceError, "' https://a.example/v.mp4': give one address, without spaces"),
    ("https://a.example/v.mp4 ", {}, SourceError, "'https://a.example/v.mp4 ': give one address, without spaces"),
    ("https://a.example/v.mp4 https://b.example/w", {}, SourceError, "w': give one address, without spaces around"),
    ("https://a.example/v.mp4\u2028", {}, SourceError, "has a control character ('\\u2028') in it"),
    ("https://a.example/v.mp4\x85", {}, SourceError, "has a control character ('\\x85') in it"),
    (URL, {"model": "tiny.klingon"}, ModelError, "unknown model 'tiny.klingon'"),
    (URL, {"model": "medium"}, ModelError, "model 'medium' is not on this machine"),
    (URL, {"model": "large-v3", "language": "en"}, ModelError, "draftcast models prepare large-v3 downloads it"),
    (URL, {"model": "small", "engine": "faster-whisper"}, ModelError, "no CTranslate2 weights here"),
    (URL, {"model": "/no/such/model.pt"}, ModelError, "does not exist"),
    (URL, {"engine": "whisperx"}, ConfigError, "unknown engine 'whisperx'"),
    (URL, {"out": "a-file/drafts"}, OutputError, "cannot write drafts to"),
    (URL, {"home": "a-file/home"}, ConfigError, "cannot write draftcast's data dir"),
]


@pytest.mark.parametrize(
    ("config", "words"),
    [
        ('[front_matter]\nlayout = "post.njk"\nauthor = "me"\n', "'author' is not a field of the blog's front matter"),
        (
            '[[channels]]\nurl = "https://x.test/feed"\n[channels.front_matter]\nlayout = 3\n',
            "channel https://x.test/feed: front-matter field 'layout' must be a str, not 3",
        ),
        ('[front_matter]\ntags = ["chips", "  "]\n', "front-matter field 'tags' has an empty item (['chips', '  '])"),
        ('[front_matter]\ntags = "chips,"\n', """field 'tags' is a list: write tags = ["chips"] (or ['chips,']"""),
        (  # a fresh user's tags = "a,b" became the one tag "a,b"
            '[front_matter]\ntags = "chips, export controls"\n',
            """field 'tags' is a list: write tags = ["chips", "export controls"] (or ['chips, export controls']""",
        ),
    ],
)
def test_front_matter_the_schema_lacks_is_refused_before_any_video(isolated: Path, config: str, words: str) -> None:
    """The config's and the channels' front matter defaults are checked with the request
    (a fresh user's D3: an unknown key was refused only when the draft was composed)."""
    path = isolated.parent / "c.toml"
    path.write_text(config)
    with pytest.raises(ConfigError) as raised:
        check_request(URL, load_settings(path))
    assert words in str(raised.value) and "\n" not in str(raised.value)


@pytest.mark.parametrize(("url", "options", "error", "words"), REFUSED, ids=[r[3][:40] for r in REFUSED])
def test_a_request_no_video_could_satisfy_is_refused_before_any_work(
    isolated: Path, url: str, options: dict[str, str], error: type[DraftcastError], words: str
) -> None:
    (isolated.parent / "a-file").write_text("")
    settings = load_settings()
    if "out" in options:
        settings = dataclasses.replace(settings, out_dir=isolated.parent / options.pop("out"))
    if "home" in options:
        settings = dataclasses.replace(settings, data_dir=isolated.parent / options.pop("home"))
    before = sorted(isolated.rglob("*"))
    with pytest.raises(error) as raised:
        check_request(url, settings, **options)
    assert words in str(raised.value) and "\n" not in str(raised.value)
    assert sorted(isolated.rglob("*")) == before  # no work dir, no models/official, no Prefect home
    assert not (isolated.parent / "drafts").exists()


def test_an_unavailable_model_says_what_is_here_and_how_to_get_more(isolated: Path) -> None:
    with pytest.raises(ModelError) as raised:
        check_request(URL, load_settings(), model="medium")
    assert str(raised.value) == (
        "model 'medium' is not on this machine, and an ingest downloads no model: draftcast models prepare "
        "medium downloads it from whisper's CDN, or pass a checkpoint's path with --model "
        "(on this machine: tiny.en, base; see draftcast models)"
    )


def test_a_model_the_channels_choose_is_checked_once_the_channel_is_known(settings) -> None:  # type: ignore[no-untyped-def]
    """The config's model is not here, but channels choose their own: the request passes,
    and the plan refuses it for a video of no channel, before anything is downloaded."""
    settings = dataclasses.replace(settings, model="medium")
    check_request(URL, settings)
    assert plan_ingest(_video(uploader="Chip Channel"), settings, device="cpu").model == "tiny.en"
    with pytest.raises(ModelError, match="'medium' is not on this machine"):
        plan_ingest(_video(), settings, device="cpu")
    with pytest.raises(ModelError, match="'medium' is not on this machine"):
        check_request(URL, settings, model="medium")  # asked for: checked at once


@pytest.mark.slow
def test_the_head_start_and_the_flow_use_the_channels_model_and_language(
    prefect_api: None,
    site: Site,
    settings,  # type: ignore[no-untyped-def]
    capfd: pytest.CaptureFixture[str],
) -> None:
    """The channel says tiny.en and English, the config base and no language: the head
    start loads tiny.en and decodes the audio, and the draft is tiny.en's, in English."""
    url = site.add_page("channel-talk.html", media="jfk.mp4", title="A channel's talk", uploader="Chip Channel")
    head_start = HeadStart(url)
    engines.load_whisper_model.cache_clear()
    head_start.run(settings)
    assert head_start.plan is not None and (head_start.plan.model, head_start.plan.language) == ("tiny.en", "en")
    assert head_start.prepared is not None and head_start.prepared.found_speech  # decoded, speech found
    tiny = models.resolve_model("tiny.en", models_dir=settings.models_dir)
    loaded = engines.load_whisper_model.cache_info()
    decoding = head_start.plan.decoding  # loaded as the engine loads it
    engines.load_whisper_model(
        tiny.path, decoding.device, engines.compute_type_for(decoding.engine, decoding.device, decoding.compute_type)
    )
    assert loaded.currsize == 1 and engines.load_whisper_model.cache_info().hits == loaded.hits + 1  # tiny.en, loaded

    code, out, err = _run(capfd, url)
    assert code == 0, err
    post = frontmatter.load(out.strip())
    assert "openai-whisper tiny.en, language en" in post.content.splitlines()[0]
    assert "country" in post.content


def test_a_live_video_ends_in_the_named_state_polling_waits_for(
    prefect_api: None, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    """A live YouTube stream cannot exist here: a stand-in for yt-dlp's answer about one
    raises NotReady, as source.extract does for a live or upcoming stream."""
    from flows.ingest import NOT_BROADCAST, ingest_video
    from pipeline import source

    def live(url: str, **_: object) -> None:
        raise NotReady(f"{url}: this is a live or upcoming stream; ingest it after it has been broadcast")

    monkeypatch.setattr(source, "extract", live)
    url = "https://www.youtube.com/watch?v=live0000000"
    state = ingest_video(url=url, return_state=True)
    assert state.is_failed() and state.name == NOT_BROADCAST and "live or upcoming" in str(state.message)
    # Prefect's console handler still writes to the stream an earlier test's run_cli gave
    # it, now closed ("--- Logging error ---"): what that direct call printed is not the CLI's
    capfd.readouterr()
    code, _, err = _run(capfd, url)
    assert code == 1 and err.count("draftcast: error:") == 1 and "Traceback" not in err


HEAVY = ("yt_dlp", "whisper", "torch", "faster_whisper", "ctranslate2")


@pytest.mark.parametrize("module", ["pipeline.draft", "pipeline.writer", "pipeline.suggest", "pipeline.store"])
def test_reading_and_writing_drafts_imports_no_speech_or_download_library(module: str) -> None:
    code = f"import sys, {module}; print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r}))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=PROJECT)
    assert loaded.stdout.strip() == "[]", f"{module} imports {loaded.stdout.strip()}"


def test_pipeline_never_imports_flows_or_prefect_and_only_source_imports_yt_dlp() -> None:
    for path in sorted((PROJECT / "pipeline").glob("*.py")):
        imported = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                imported.add(node.module.split(".")[0])
        assert not imported & {"flows", "prefect"}, path.name
        assert "yt_dlp" not in imported or path.name == "source.py", f"{path.name} imports yt_dlp"


DIGEST = """
import datetime as dt, sys
from pathlib import Path
from pipeline.config import load_settings
from pipeline.plan import draft_inputs, plan_ingest
from pipeline.video import VideoInfo
video = VideoInfo(id="v1", extractor="generic", title="t", uploader="u", channel_url="", upload_date=None,
                  duration=60.0, webpage_url="https://chips.example/@channel/v1", description="d", tags=("a", "b"),
                  chapters=())
settings = load_settings()
plan = plan_ingest(video, settings, device="cpu")
print(draft_inputs(plan, settings, Path(sys.argv[1]), speaker=sys.argv[2] or None, today=dt.date(2026, 1, 2),
                   learned=("voices",)))
"""


def test_a_drafts_inputs_are_one_digest_in_every_process_and_change_with_each_input(
    settings,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    """The digest an ingest with nothing to do is recognised by (headstart.up_to_date) is
    the same in two processes (str hashes differ between them) and changes with the
    transcript and the speaker."""
    transcript = tmp_path / "transcript.json"

    def said(text: str) -> str:
        return Transcript("en", "base", "openai-whisper", 60.0, (Segment(0.0, 2.0, text),)).to_json()

    transcript.write_text(said("Hello there."))

    def digest(seed: str, speaker: str = "") -> str:
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(PROJECT)}
        command = [sys.executable, "-c", DIGEST, str(transcript), speaker]
        return subprocess.run(command, capture_output=True, text=True, env=env, check=True).stdout.strip()

    first = digest("1")
    assert len(first) == 64 and digest("2") == first
    assert digest("1", speaker="Ada") != first
    transcript.write_text(said("Hello, there."))
    assert digest("3") != first


def test_the_blogs_known_names_leave_out_the_videos_own_draft(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A draft's own suggestions are no news: read back, they would change the plan of its
    re-run (and a re-run with nothing to do would run the flow once more)."""
    from pipeline.store import DraftStore

    settings = dataclasses.replace(settings, out_dir=tmp_path / "drafts")
    settings.out_dir.mkdir()
    video = _video()
    own, other = settings.out_dir / "own.md", settings.out_dir / "other.md"
    own.write_text("---\npeople: [Ada Own]\n---\ntext\n")
    other.write_text("---\npeople: [Bob Other]\n---\ntext\n")
    assert set(plan_ingest(video, settings, device="cpu").known.of("people")) == {"Ada Own", "Bob Other"}
    DraftStore(settings.store_path).put(settings.out_dir.resolve(), video.key, own, "0" * 64, "u", text="")
    assert plan_ingest(video, settings, device="cpu").known.of("people") == ("Bob Other",)
