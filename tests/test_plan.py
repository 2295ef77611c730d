"""One ingest plan: what plan_ingest decides, that the CLI's head start and the flow
follow it, and the import graph that keeps each type where it belongs."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import frontmatter
import pytest

from pipeline import engines, models
from pipeline.choices import ChineseScript, EngineName
from pipeline.config import load_settings
from pipeline.errors import ConfigError, ModelError, NotReady
from pipeline.headstart import HeadStart
from pipeline.plan import plan_ingest
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


def test_people_s_text_is_planned_instead_of_a_model(settings) -> None:  # type: ignore[no-untyped-def]
    track = SubtitleTrack("en", "https://x/s.vtt", "vtt", automatic=False)
    plan = plan_ingest(_video(subtitles=(track,), uploader="Chip Channel"), settings, device="cpu")
    assert plan.track == track and not plan.needs_audio


def test_bad_choices_are_refused_by_the_plan(settings) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match="unknown engine 'whisperx': use openai-whisper or faster-whisper"):
        plan_ingest(_video(), settings, engine="whisperx", device="cpu")
    with pytest.raises(ModelError, match="unknown model 'huge'"):
        plan_ingest(_video(), settings, model="huge", device="cpu")
    with pytest.raises(ConfigError, match="no channel with url"):
        plan_ingest(_video(), settings, channel="https://not.configured/", device="cpu")
    assert plan_ingest(_video(), settings, engine="faster-whisper", device="cpu").decoding.engine is (
        EngineName.FASTER_WHISPER
    )


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
    engines.load_whisper_model(tiny.path, head_start.plan.decoding.device)
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
