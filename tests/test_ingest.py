"""The ingest-video flow through the CLI, in-process on Prefect's test harness."""

from __future__ import annotations

from pathlib import Path

import frontmatter
import jiwer
import pytest
from whisper.normalizers import EnglishTextNormalizer

from pipeline import draft
from tests.conftest import HOSTILE, REFERENCES, Site, make_repeated_recording, make_video
from tests.conftest import run_cli as _run


def _drafts(isolated: Path) -> list[Path]:
    out = isolated.parent / "drafts"
    return sorted(out.iterdir()) if out.exists() else []


def _body_text(post: frontmatter.Post) -> str:
    """The transcript in a draft's body, without timestamps and comments."""
    lines = [line.split(") ", 1)[1] for line in post.content.splitlines() if line.startswith("[")]
    return " ".join(lines)


@pytest.mark.slow
def test_ingest_writes_a_draft_with_the_pages_metadata_and_transcript(
    prefect_api: None, site: Site, isolated: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    url = site.add_page(
        "interview.html",
        media="librispeech-1995-1837-0001.mp4",
        title=HOSTILE,
        description="First line: {{ x }}\n---\nlast line",
        uploader="Invested Podcast",
        date="2025-10-22",
        tags=("ai", "geopolitics"),
    )
    code, out, err = _run(capfd, url, "--model", "tiny.en", "--language", "en")
    assert code == 0, err
    path = Path(out.strip())
    assert _drafts(isolated) == [path]
    post = frontmatter.load(path)
    assert (post["title"], post["summary"], post["speaker"]) == (
        HOSTILE,
        "First line: {{ x }}\n---\nlast line",
        "Invested Podcast",
    )
    assert (post["source"], post["date"], post["tags"][:2], post["draft"]) == (
        url,
        "2025-10-22",
        ["ai", "geopolitics"],  # the page's own tags first, then suggestions, each marked
        True,
    )
    assert path.read_text().count(draft.SUGGESTION_MARK) == len(post["tags"]) - 2 > 0
    normalize = EnglishTextNormalizer()
    reference = REFERENCES["librispeech-1995-1837-0001.wav"]
    assert jiwer.wer(normalize(reference), normalize(_body_text(post))) <= 0.10
    assert f"({url}#t=0)" in post.content

    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        previews = [a.data for a in client.read_artifacts() if a.type == "markdown"]
    assert any(f"wrote {path}" in text and "speaker: Invested Podcast" in text for text in previews)

    written = path.read_bytes()
    code, again, err = _run(capfd, url, "--model", "tiny.en", "--language", "en")  # a re-run: no second draft
    assert code == 0 and again == out and f"{path} is up to date" in err
    assert "ingesting" not in err, err  # told before Prefect and the flow start: nothing to do
    assert _drafts(isolated) == [path] and path.read_bytes() == written

    code, again, err = _run(capfd, url, "--model", "tiny.en", "--language", "en", "--speaker", "Ada Lovelace")
    assert code == 0 and again == out and "ingesting" in err and f"updated {path}" in err  # an input changed
    assert frontmatter.load(path)["speaker"] == "Ada Lovelace"
    path.write_text(path.read_text().replace("great sorrow", "great sorrows"))  # an editor's change
    code, again, err = _run(capfd, url, "--model", "tiny.en", "--language", "en")
    assert code == 0 and again == out and "ingesting" not in err and "changed by an editor: left as it is" in err
    assert "great sorrows" in path.read_text()
    path.unlink()  # published elsewhere, say: not written again, said once, before Prefect starts
    code, again, err = _run(capfd, url, "--model", "tiny.en", "--language", "en")
    assert code == 3 and again == "" and "ingesting" not in err and err.count("was removed") == 1, err
    code, again, err = _run(capfd, url, "--model", "tiny.en", "--language", "en", "--rewrite")
    assert code == 0 and again == out and f"wrote {path}" in err and path.exists()


@pytest.mark.slow
def test_a_page_with_one_video_is_drafted_with_the_pages_title_summary_and_site(
    prefect_api: None, site: Site, isolated: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    (site.root / "address.html").write_text(
        "<!doctype html><html><head><meta charset='utf-8'><title> The Inaugural Address &amp; the Ask </title>"
        "<meta name='description' content='Kennedy, 20 January 1961.'>"
        "<meta property='og:site_name' content='JFK Library'></head>"
        "<body><h1>Watch</h1><video controls src='jfk.mp4'></video></body></html>",
        encoding="utf-8",
    )
    code, out, err = _run(capfd, site.url("address.html"), "--model", "tiny.en", "--language", "en")
    assert code == 0, err
    path = Path(out.strip())
    assert path.name.startswith("2") and "-the-inaugural-address-the-ask-" in path.name
    post = frontmatter.load(path)
    assert (post["title"], post["summary"], post["speaker"]) == (
        "The Inaugural Address & the Ask",  # not yt-dlp's "… (1)"
        "Kennedy, 20 January 1961.",
        "JFK Library",
    )


@pytest.mark.slow
def test_a_sentence_said_six_times_and_written_fewer_is_flagged(
    prefect_api: None, site: Site, isolated: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    import re

    import torch

    from pipeline import cleanup
    from pipeline.transcript import Transcript

    make_video(make_repeated_recording(isolated.parent / "repeated.wav"), site.root / "repeated.mp4")
    torch.manual_seed(0)  # whisper samples at higher temperatures when a window looks like a loop
    code, out, err = _run(capfd, site.url("repeated.mp4"), "--model", "tiny.en", "--language", "en")
    assert code == 0, err
    work = next((isolated / "work").iterdir())
    transcript = Transcript.from_json(next(work.glob("transcript.tiny.en.en.json")).read_text())
    assert transcript.text.lower().count("great sorrow") < 6, transcript.text  # whisper lost some: the case at hand
    flags = [s.flag for s in transcript.segments if s.flag]
    collapsed = [re.search(r'repeated line collapsed \((\d+)×\): "It was the first great', f) for f in flags]
    assert any(collapsed) or any(cleanup.SHORT_TEXT in f for f in flags), flags
    assert all(int(match.group(1)) >= 2 for match in collapsed if match)
    body = Path(out.strip()).read_text()
    assert f"{transcript.flagged} span(s) flagged for review" in body and transcript.flagged >= 1
    assert re.search(r"<!-- draftcast: check 0:\d\d (.*)(repeated line collapsed|text shorter than the speech)", body)


@pytest.mark.slow
def test_mandarin_video_gets_an_id_based_name_and_han_text(
    prefect_api: None, site: Site, isolated: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    url = site.add_page(
        "zh.html", media="aishell-BAC009S0724W0121.mp4", title="广州房地产：中介协会分析", uploader="最佳拍档"
    )
    code, out, err = _run(capfd, url, "--model", "base", "--speaker", "Best Partners TV")
    assert code == 0, err
    path = Path(out.strip())
    assert path.name.startswith("2025-10-28-") and path.name.isascii()
    post = frontmatter.load(path)
    assert post["title"] == "广州房地产：中介协会分析" and post["speaker"] == "Best Partners TV"
    assert "州市" in _body_text(post) and " " not in _body_text(post)


@pytest.mark.slow
def test_a_rerun_after_a_failure_resumes_at_the_failed_step(
    prefect_api: None, site: Site, isolated: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = site.add_page("resume.html", media="jfk.mp4", title="Resume me")
    broken = isolated.parent / "broken.md.j2"
    broken.write_text("{{ no_such_variable }}")
    monkeypatch.setenv("DRAFTCAST_TEMPLATE", str(broken))
    code, _, err = _run(capfd, url, "--model", "tiny.en", "--language", "en")
    assert code == 1 and "broken.md.j2" in err and not _drafts(isolated)
    work = next((isolated / "work").iterdir())
    media, transcript = work / "media.mp4", next(work.glob("transcript.tiny.en.*.json"))
    stamps = (media.stat().st_mtime_ns, transcript.stat().st_mtime_ns)

    monkeypatch.delenv("DRAFTCAST_TEMPLATE")
    code, out, err = _run(capfd, url, "--model", "tiny.en", "--language", "en")
    assert code == 0, err
    assert (media.stat().st_mtime_ns, transcript.stat().st_mtime_ns) == stamps  # neither fetched nor transcribed again
    assert "country" in Path(out.strip()).read_text()


BAD_INPUTS = [
    ("http://127.0.0.1:9/talk.mp4", [], "cannot reach the host"),
    ("{site}/missing.mp4", [], "HTTP 404"),
    ("{site}/no-media.html", [], "no video or audio was found"),
    ("{site}/corrupt.mp4", [], "the download is not audio or video ffmpeg can read: cannot decode the audio"),
    ("{site}/empty.mp4", [], "the server sent an empty file; check the URL"),
    ("{site}/notes.txt", [], "the download is not audio or video ffmpeg can read"),
    ("{site}/silence.mp4", [], "s of audio): check that the URL is the recording you meant"),
    ("{site}/jfk.mp4", ["--model", "tiny.klingon"], "unknown model 'tiny.klingon'"),
    ("{site}/jfk.mp4", ["--out", "{tmp}/a-file/drafts"], "cannot write drafts to"),
    ("www.example.com/watch?v=1", [], "has no scheme: write https://www.example.com/watch?v=1"),
    ("{site}/jfk.mp4", ["--model", "medium"], "model 'medium' is not on this machine"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("url", "options", "words"), BAD_INPUTS, ids=[w for _, _, w in BAD_INPUTS])
def test_bad_input_gives_one_clear_line_and_leaves_nothing(
    prefect_api: None,
    site: Site,
    isolated: Path,
    capfd: pytest.CaptureFixture[str],
    url: str,
    options: list[str],
    words: str,
) -> None:
    (isolated.parent / "a-file").write_text("")
    (site.root / "empty.mp4").write_bytes(b"")
    (site.root / "notes.txt").write_text("Show notes, not a recording.\n" * 40)
    url = url.format(site=site.base)
    options = [o.format(tmp=isolated.parent) for o in options]
    path = url.removeprefix(site.base)
    asked_before = site.gets[path]
    code, out, err = _run(capfd, url, "--model", "tiny.en", "--language", "en", *options)
    assert code == 1 and out == ""
    if "ffmpeg can read" in words:  # asked about once, downloaded once: not again by the flow
        assert site.gets[path] - asked_before == 2
    last = err.strip().splitlines()[-1]
    assert last.startswith("draftcast: error: ") and words in last and url in last
    said = last.removeprefix("draftcast: error: ")
    assert [line for line in err.splitlines() if said in line] == [last]  # said once, not again by Prefect
    assert "Traceback" not in err
    assert not _drafts(isolated)
    leftovers = [p for p in isolated.rglob("*") if p.suffix in (".part", ".tmp", ".ytdl") or p.name.startswith(".")]
    assert [p for p in leftovers if p.name != ".lock"] == []


@pytest.mark.slow
def test_human_subtitles_are_used_instead_of_whisper_and_sidecars_written(
    prefect_api: None, site: Site, isolated: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    (site.root / "subtitled.html").write_text(
        "<html><head><title>Subtitled talk</title></head><body><video src='jfk.mp4'>"
        "<track kind='subtitles' srclang='en' src='jfk.en.vtt'></video></body></html>"
    )
    code, out, err = _run(capfd, site.url("subtitled.html"))  # its only human-made track is taken
    assert code == 0, err
    post = frontmatter.load(out.strip())
    assert "transcript from the video's human-made subtitles (en)" in post.content
    assert "ask not what your country can do for you —" in post.content  # the subtitles' own wording
    work = next((isolated / "work").iterdir())
    assert sorted(p.suffix for p in work.glob("transcript.captions-human.en.*")) == [".json", ".srt", ".txt", ".vtt"]
    assert not list(work.glob("media.*"))  # nothing was downloaded or transcribed


@pytest.mark.slow
def test_an_english_only_model_hands_possible_mandarin_to_a_multilingual_one(
    prefect_api: None, site: Site, isolated: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    url = site.add_page("zh-en-model.html", media="aishell-BAC009S0724W0121.mp4", title="繁體標題")
    code, out, err = _run(capfd, url, "--model", "tiny.en")  # no language: it may be Mandarin
    assert code == 0, err
    said = [line for line in err.splitlines() if "transcribing with base, not tiny.en" in line]
    assert len(said) == 1 and said[0].endswith(
        "tiny.en knows only English and the language is not given (--language en keeps tiny.en)"
    ), err
    post = frontmatter.load(out.strip())
    assert "openai-whisper base, language zh" in post.content and post["title"] == "繁体标题"
    work = next((isolated / "work").iterdir())
    assert {p.suffix for p in work.glob("transcript.base.*")} == {".json", ".srt", ".txt", ".vtt"}


@pytest.mark.slow
def test_the_faster_whisper_engine_writes_a_draft_that_reads_the_same_way(
    prefect_api: None, site: Site, isolated: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    url = site.add_page("fast.html", media="jfk.mp4", title="Fast engine")
    code, out, err = _run(capfd, url, "--model", "tiny.en", "--language", "en", "--engine", "faster-whisper")
    assert code == 0, err
    post = frontmatter.load(out.strip())
    assert "transcript from faster-whisper tiny.en, language en" in post.content
    assert "ask what you can do for your country" in post.content.lower()
    assert list(draft_structure(post.content)) == ["comment", "paragraph"]


def draft_structure(body: str) -> list[str]:
    return ["comment" if block.startswith("<!--") else "paragraph" for block in body.strip().split("\n\n")]


@pytest.mark.slow
def test_each_run_shows_its_draft_provenance_and_progress_in_prefect(
    prefect_api: None, site: Site, isolated: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    import json

    from prefect.client.orchestration import get_client

    url = site.add_page("artifacts.html", media="jfk.mp4", title="Shown in the UI", uploader="JFK Library")
    code, _, err = _run(capfd, url, "--model", "tiny.en", "--language", "en")
    assert code == 0, err
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts()
    run_ids = {a.flow_run_id for a in artifacts if a.key and a.key.startswith("draft-") and "Shown in the UI" in a.data}
    assert len(run_ids) == 1
    (run_id,) = run_ids
    ours = [a for a in artifacts if a.flow_run_id == run_id]
    preview = next(a for a in ours if a.type == "markdown")
    assert "title: Shown in the UI" in preview.data and "ask not what your country" in preview.data.lower()
    table = json.loads(next(a for a in ours if a.type == "table").data)
    rows = {row["what"]: row["value"] for row in table}
    assert rows["engine"] == "openai-whisper" and rows["model"] == "tiny.en" and rows["language"] == "en"
    assert rows["duration"] == "0:11" and rows["spans flagged for review"] == "0"
    progress = [a for a in ours if a.type == "progress"]
    assert len(progress) == 1 and float(progress[0].data) == 100.0  # updated after each batch
