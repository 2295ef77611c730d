"""Faults draftcast must survive without losing anything: a network that drops, errs,
stalls and cuts bodies short (tests/faults.py, on 127.0.0.1), processes killed with
SIGKILL, a full disk, runs that overlap, an editor saving meanwhile. RELIABILITY.md
lists each case with what it expects and what these tests observed."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import frontmatter
import numpy as np
import pytest

from pipeline import source, store
from pipeline.audio import SAMPLE_RATE, decode
from pipeline.errors import SourceUnavailable
from pipeline.video import Network
from tests.conftest import MEDIA, Site, make_video, run_cli, write_wav
from tests.faults import Fault, FaultyServer

REPO = Path(__file__).parent.parent
FAST = Network(timeout_seconds=1.0, retry_delays=(0.1, 0.2, 0.4))


@pytest.fixture(scope="module")
def media_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("faulty-site")
    make_video(MEDIA / "jfk.flac", root / "jfk.mp4")
    (root / "garbage.mp4").write_bytes(np.random.default_rng(1).bytes(60_000))
    return root


@pytest.fixture
def server(media_root: Path) -> Iterator[FaultyServer]:
    faulty = FaultyServer(media_root)
    yield faulty
    faulty.close()


def _page(server: FaultyServer, name: str, media: str = "jfk.mp4", title: str = "Faults") -> str:
    return Site(server.root, server.base).add_page(name, media=media, title=title, uploader="Fault TV")


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _download(server: FaultyServer, work: Path, *faults: Fault) -> Path:
    """The audio of a page, with ``faults`` on the media's download (yt-dlp requests the
    media once while it reads the metadata: the faults come after that). The download
    starts from yt-dlp's answer, as the flow's does."""
    extracted = source.extract(_page(server, "page.html"), network=FAST)
    server.fail("jfk.mp4", *faults)
    return source.download_audio(extracted.video, work, network=FAST, extracted=extracted)


def _resumed_from(server: FaultyServer, name: str) -> list[int]:
    """The byte offsets the client asked to resume from."""
    return [int(r.range.split("=")[1].split("-")[0]) for r in server.requests_for(name) if r.range]


# ------------------------------------------------------------------ network


def test_a_connection_dropped_midway_resumes_where_it_stopped(server: FaultyServer, tmp_path: Path) -> None:
    media = _download(server, tmp_path, Fault(drop_after=40_000))
    assert _sha(media) == _sha(server.root / "jfk.mp4")
    assert any(offset > 0 for offset in _resumed_from(server, "jfk.mp4")), server.requests_for("jfk.mp4")


def test_a_body_shorter_than_its_length_is_completed(server: FaultyServer, tmp_path: Path) -> None:
    media = _download(server, tmp_path, Fault(short_after=30_000))
    assert _sha(media) == _sha(server.root / "jfk.mp4")
    assert 0 < max(_resumed_from(server, "jfk.mp4")) <= 30_000  # from what it had written


def test_server_errors_are_retried_until_the_media_comes(server: FaultyServer, tmp_path: Path) -> None:
    media = _download(server, tmp_path, Fault(status=503), Fault(status=500))
    assert _sha(media) == _sha(server.root / "jfk.mp4")
    assert [r.fault.status if r.fault else 200 for r in server.requests_for("jfk.mp4")][-3:] == [503, 500, 200]


def test_a_stalled_download_times_out_and_resumes(server: FaultyServer, tmp_path: Path) -> None:
    start = time.monotonic()
    media = _download(server, tmp_path, Fault(stall_after=20_000, stall_seconds=20))
    assert time.monotonic() - start < 10  # the 1 s timeout, not the 20 s stall
    assert _sha(media) == _sha(server.root / "jfk.mp4")
    assert 0 < max(_resumed_from(server, "jfk.mp4")) <= 20_000


def test_past_the_retry_bound_a_clear_error_and_no_media(server: FaultyServer, tmp_path: Path) -> None:
    with pytest.raises(SourceUnavailable, match=r"page\.html: the server answered HTTP 503; try again later"):
        _download(server, tmp_path, *[Fault(status=503)] * 10)
    assert len(server.requests_for("jfk.mp4")) == 1 + 1 + len(FAST.retry_delays)  # metadata, then bounded
    assert source.downloaded_media(tmp_path) is None


def test_a_download_that_keeps_failing_never_becomes_a_draft(
    prefect_api: None, server: FaultyServer, isolated: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    url = _page(server, "cut.html")
    server.fail("jfk.mp4", *[Fault(drop_after=0)] * 40)
    code, out, err = run_cli(capfd, url, "--model", "tiny.en", "--language", "en")
    assert code == 1 and out == ""
    assert err.strip().splitlines()[-1].startswith(f"draftcast: error: {url}: the download kept failing (")
    assert err.strip().splitlines()[-1].endswith("; try again later")
    assert not (isolated.parent / "drafts").exists() or not list((isolated.parent / "drafts").iterdir())
    work = next((isolated / "work").iterdir())
    assert source.downloaded_media(work) is None  # only the .part, kept to resume from


def test_page_errors_are_retried_by_the_flow(
    prefect_api: None, server: FaultyServer, isolated: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    url = _page(server, "flaky.html", title="Flaky page")
    server.fail("flaky.html", Fault(status=503), Fault(status=502))
    code, out, err = run_cli(capfd, url, "--model", "tiny.en", "--language", "en")
    assert code == 0, err
    assert frontmatter.load(out.strip())["title"] == "Flaky page"
    statuses = [r.fault.status if r.fault else 200 for r in server.requests_for("flaky.html")]
    assert statuses[:3] == [503, 502, 200]


def test_corrupt_media_is_refused_and_removed(
    prefect_api: None, server: FaultyServer, isolated: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    url = _page(server, "garbage.html", media="garbage.mp4")
    code, _out, err = run_cli(capfd, url, "--model", "tiny.en", "--language", "en")
    assert code == 1 and "cannot decode the audio of media.mp4" in err.strip().splitlines()[-1]
    work = next((isolated / "work").iterdir())
    assert source.downloaded_media(work) is None  # useless: fetched again next time
    assert not (isolated.parent / "drafts").exists() or not list((isolated.parent / "drafts").iterdir())


# ------------------------------------------------------------------ processes


def _start(url: str, cwd: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "ingest", url, "--model", "tiny.en", "--language", "en", *extra],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _finish(process: subprocess.Popen[str]) -> tuple[str, str]:
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, err
    return out, err


def _leftovers(*folders: Path) -> list[Path]:
    """Temp files of writers: none may outlive a run."""
    return [p for folder in folders if folder.exists() for p in folder.rglob("*.tmp")]


@pytest.fixture(scope="module")
def long_talk(media_root: Path) -> str:
    """About five minutes of real speech (jfk and librispeech, with pauses): 11 windows."""
    pause = np.zeros(SAMPLE_RATE, np.float32)
    clips = [decode(MEDIA / "jfk.flac"), pause, decode(MEDIA / "librispeech-1995-1837-0001.wav"), pause]
    once = np.concatenate(clips)
    samples = np.tile(once, int(300 * SAMPLE_RATE / len(once)) + 1)
    make_video(write_wav(samples, media_root / "long.wav"), media_root / "long.mp4")
    return "long.mp4"


def test_killed_while_downloading_then_run_again(media_root: Path, tmp_path: Path) -> None:
    slow = FaultyServer(media_root, bytes_per_second=25_000)  # jfk.mp4 takes about 4 s
    try:
        url = _page(slow, "slow.html", title="Killed while downloading")
        run = _start(url, tmp_path)
        work = tmp_path / "draftcast-home" / "work"
        _wait_for(lambda: any(work.glob("*/media.*.part")) and next(work.glob("*/media.*.part")).stat().st_size,
                  60, "a partial download")  # fmt: skip
        run.send_signal(signal.SIGKILL)
        run.wait()
        assert not list((tmp_path / "drafts").glob("*.md"))
        _finish(_start(url, tmp_path))
        assert max(_resumed_from(slow, "jfk.mp4")) > 0  # the second run went on from the part
    finally:
        slow.close()
    drafts = list((tmp_path / "drafts").glob("*.md"))
    assert len(drafts) == 1 and "country" in drafts[0].read_text()
    assert _leftovers(tmp_path / "drafts", tmp_path / "draftcast-home" / "work") == []


def test_killed_while_transcribing_then_run_again(media_root: Path, long_talk: str, tmp_path: Path) -> None:
    server = FaultyServer(media_root)
    try:
        url = _page(server, "long.html", media=long_talk, title="Killed while transcribing")
        run = _start(url, tmp_path, "--no-speakers")
        assert run.stderr is not None
        for line in run.stderr:  # the first batch of windows is in the checkpoint
            if "transcribed 8 of" in line:
                break
        run.send_signal(signal.SIGKILL)
        run.wait()
        media = next((tmp_path / "draftcast-home" / "work").glob("*/media.mp4"))
        downloaded = (media.stat().st_ino, media.stat().st_mtime_ns)
        _, err = _finish(_start(url, tmp_path, "--no-speakers"))
        assert (media.stat().st_ino, media.stat().st_mtime_ns) == downloaded  # not fetched again
        assert re.search(r"resuming: 8 of (9|1\d) windows were transcribed before", err), err
    finally:
        server.close()
    drafts = list((tmp_path / "drafts").glob("*.md"))
    assert len(drafts) == 1 and drafts[0].read_text().lower().count("country") >= 10
    assert _leftovers(tmp_path / "drafts", tmp_path / "draftcast-home" / "work") == []
    assert not list((tmp_path / "draftcast-home" / "work").glob("*/*.partial"))


def test_what_a_writer_killed_mid_write_left_is_removed(server: FaultyServer, tmp_path: Path) -> None:
    """A kill between a temp file's creation and its rename leaves the temp file: the
    next run removes it, and only when its writer is gone."""
    dead = subprocess.Popen(["true"])
    dead.wait()
    drafts = tmp_path / "drafts"
    drafts.mkdir()
    torn = drafts / f".2025-10-28-faults-x.md.{store._HOST}-{dead.pid}.abc123.tmp"
    torn.write_text("---\ntitle: half of a dra")
    alive = drafts / f".other.md.{store._WRITER}.def456.tmp"  # a live writer's: left alone
    alive.write_text("being written")
    elsewhere = drafts / f".other.md.another_machine-{dead.pid}.ghi789.tmp"  # a shared folder's
    elsewhere.write_text("being written there")
    _finish(_start(_page(server, "torn.html"), tmp_path))
    assert not torn.exists() and alive.exists() and elsewhere.exists()
    assert len(list(drafts.glob("*.md"))) == 1


# ------------------------------------------------------------------ disk full


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 256 KB tmpfs (needs root, as in CI)."""
    mount = tmp_path / "small-disk"
    mount.mkdir()
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a tmpfs needs root")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(disk: Path, leave: int) -> None:
    """Fill ``disk`` up to ``leave`` bytes free."""
    free = shutil.disk_usage(disk).free
    (disk / "filler").write_bytes(b"\0" * max(0, free - leave))


def test_a_full_disk_gives_a_clear_error_and_keeps_the_previous_draft(
    prefect_api: None, server: FaultyServer, isolated: Path, small_disk: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    url = _page(server, "full.html", title="Disk full")
    out = small_disk / "drafts"
    code, first, err = run_cli(capfd, url, "--model", "tiny.en", "--language", "en", "--out", str(out))
    assert code == 0, err
    draft = Path(first.strip())
    before = draft.read_bytes()
    _page(server, "full.html", title="Disk full, title changed")  # the next draft is different
    _fill(small_disk, leave=64)
    code, _, err = run_cli(capfd, url, "--model", "tiny.en", "--language", "en", "--out", str(out))
    assert code == 1
    assert err.strip().splitlines()[-1] == (
        f"draftcast: error: {url}: cannot write the draft to {out}: No space left on device: "
        "free some space there, or set out_dir to another disk"
    )
    assert draft.read_bytes() == before  # intact, not truncated
    assert sorted(p.name for p in out.iterdir()) == [draft.name]  # no temp file left


# ------------------------------------------------------------------ concurrency


def test_eight_ingests_of_two_urls_at_once_make_two_complete_drafts(server: FaultyServer, tmp_path: Path) -> None:
    urls = [_page(server, "twin-a.html", title="Twin A"), _page(server, "twin-b.html", title="Twin B")]
    runs = [_start(urls[i % 2], tmp_path) for i in range(8)]
    outputs = [_finish(run) for run in runs]
    drafts = sorted((tmp_path / "drafts").glob("*.md"))
    assert len(drafts) == 2
    assert {out.strip() for out, _ in outputs} == {str(d) for d in drafts}
    assert sorted(frontmatter.load(d)["title"] for d in drafts) == ["Twin A", "Twin B"]
    assert all("country" in d.read_text() for d in drafts)
    assert _leftovers(tmp_path / "drafts", tmp_path / "draftcast-home" / "work") == []


def test_an_editor_saving_during_an_ingest_keeps_the_editors_text(media_root: Path, tmp_path: Path) -> None:
    server = FaultyServer(media_root)
    try:
        url = _page(server, "edited.html", title="Edited meanwhile")
        first, _ = _finish(_start(url, tmp_path, "--no-speakers"))
        draft = Path(first.strip())
        # The same video again with another engine: a new transcript, a new draft text,
        # which would replace the untouched draft, but the editor saves as it transcribes.
        run = _start(url, tmp_path, "--engine", "faster-whisper", "--no-speakers")
        assert run.stderr is not None
        for line in run.stderr:
            if "transcribing" in line:
                break
        edited = draft.read_text().replace("draft: true", "draft: true\n# an editor's note")
        draft.write_text(edited)
        _out, err = run.communicate(timeout=600)
        assert run.returncode == 0, err
        assert "changed by an editor: left as it is" in err
    finally:
        server.close()
    assert draft.read_text() == edited
    assert list(draft.parent.glob("*.md")) == [draft]


# ------------------------------------------------------------------ hostile input

HOSTILE_TITLE = "../../../etc/passwd\x00 /abs/path \x1b[2J\x07 \u202egpj.exe " + "t" * 100_000
HOSTILE_UPLOADER = "/root/../../tmp/evil\x00\u202e {{ 7 * 7 }} {% raw %}"


def test_hostile_titles_and_uploaders_stay_in_the_output_dir(
    prefect_api: None, server: FaultyServer, isolated: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    url = Site(server.root, server.base).add_page(
        "hostile-names.html", media="jfk.mp4", title=HOSTILE_TITLE, uploader=HOSTILE_UPLOADER
    )
    around = isolated.parent.parent  # the folder holding this test's folder
    before = sorted(around.iterdir())
    code, out, err = run_cli(capfd, url, "--model", "tiny.en", "--language", "en")
    assert code == 0, err[-2000:]
    drafts = list((isolated.parent / "drafts").iterdir())
    assert drafts == [Path(out.strip())]
    name = drafts[0].name
    assert name.isascii() and name.isprintable() and len(name) <= 90 and ".." not in name
    assert sorted(around.iterdir()) == before  # nothing was written beside the test's folder
    post = frontmatter.load(drafts[0])
    assert post["speaker"] == "/root/../../tmp/evil {{ 7 * 7 }} {% raw %}"  # text, never evaluated
    assert post["title"] == "../../../etc/passwd /abs/path [2J gpj.exe " + "t" * 100_000  # no controls


def test_decoded_samples_a_killed_run_left_are_removed(tmp_path: Path) -> None:
    import tempfile

    dead = subprocess.Popen(["true"])
    dead.wait()
    left = Path(tempfile.gettempdir()) / f"draftcast-audio-{dead.pid}-abc"
    left.mkdir()
    (left / "samples.f32").write_bytes(b"\0" * 1024)
    mine = Path(tempfile.gettempdir()) / f"draftcast-audio-{os.getpid()}-def"  # a live decoder's
    mine.mkdir()
    try:
        assert len(decode(MEDIA / "jfk.flac")) > 0
        assert not left.exists() and mine.exists()
    finally:
        shutil.rmtree(mine, ignore_errors=True)
        shutil.rmtree(left, ignore_errors=True)


def test_subtitle_fetch_faults_are_translated_and_only_transient_ones_retried(
    prefect_api: None, server: FaultyServer, media_root: Path
) -> None:
    """yt-dlp's TransportError is no OSError: a refused connection on the subtitles used to
    escape as a traceback, and the subtitle step retried a 404 as often as a 503."""
    from prefect.settings import PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW, temporary_settings

    from flows.ingest import fetch_captions
    from pipeline import captions
    from pipeline.config import load_settings
    from pipeline.errors import SourceError, is_transient
    from pipeline.plan import plan_ingest
    from pipeline.video import SubtitleTrack, VideoInfo

    (media_root / "talk.en.vtt").write_text("WEBVTT\n\n00:00.000 --> 00:02.000\nHello there.\n")

    def planned(url: str) -> object:
        """A video whose only subtitles are at ``url`` (its work folder named after it)."""
        track = SubtitleTrack("en", url, "vtt", automatic=False)
        page = url.replace(".en.vtt", ".html")
        video = VideoInfo(Path(page).stem, "generic", "t", "", "", None, 2.0, page, "", (), (), subtitles=(track,))
        return plan_ingest(video, load_settings(), device="cpu")

    refused = SubtitleTrack("en", "http://127.0.0.1:9/talk.en.vtt", "vtt", automatic=False)
    with pytest.raises(SourceUnavailable, match="cannot reach the host") as error:
        captions.fetch_captions(planned(refused.url).video, refused, network=FAST)  # type: ignore[attr-defined]
    assert is_transient(error.value)

    retried = fetch_captions.with_options(retries=3, retry_delay_seconds=0)
    server.fail("talk.en.vtt", Fault(status=503), Fault(status=503))
    # the task runs outside a flow here: its retry and failure notes go to the console, not to the API
    with temporary_settings({PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW: "ignore"}):
        assert retried(planned(server.url("talk.en.vtt")), FAST).exists()  # two 503s, then the subtitles
        assert len(server.requests_for("talk.en.vtt")) == 3
        (media_root / "gone.en.vtt").unlink(missing_ok=True)
        with pytest.raises(SourceError, match="HTTP 404") as error:
            retried(planned(server.url("gone.en.vtt")), FAST)
    assert not is_transient(error.value) and len(server.requests_for("gone.en.vtt")) == 1  # not retried
