"""Media behind redirects to addresses a CDN signs anew on each request (tests/faults.py,
on 127.0.0.1): the key, the work folder, the draft's name and its `source` come from the
URL given, so a re-run finds its work and its draft; the download itself goes where a
fresh redirect leads."""

from __future__ import annotations

import hashlib
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import frontmatter
import pytest

from pipeline import draft, source
from pipeline.audio import ffmpeg_executable
from pipeline.errors import SourceUnavailable
from pipeline.video import Network, VideoInfo
from tests.conftest import MEDIA, run_cli
from tests.faults import Fault, FaultyServer

FAST = Network(timeout_seconds=1.0, retry_delays=(0.1, 0.2, 0.4))
CDN_FILE = "cdn/ep.mp3"  # what every signed address serves
VIDEO_PAGE = "<html><head><title>T</title></head><body><video src='/ep.mp3'></video></body></html>"


@pytest.fixture(scope="module")
def cdn_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cdn")
    (root / "cdn").mkdir()
    (root / "pages").mkdir()
    command = [ffmpeg_executable(), "-nostdin", "-loglevel", "error", "-i", str(MEDIA / "jfk.flac")]
    subprocess.run([*command, "-c:a", "libmp3lame", "-b:a", "64k", str(root / CDN_FILE)], check=True)
    (root / "embed.html").write_text(VIDEO_PAGE)
    (root / "pages" / "talk.html").write_text(VIDEO_PAGE)
    return root


@pytest.fixture
def far(cdn_root: Path) -> Iterator[FaultyServer]:
    """The same files on another port."""
    server = FaultyServer(cdn_root)
    yield server
    server.close()


@pytest.fixture
def cdn(cdn_root: Path, far: FaultyServer) -> Iterator[FaultyServer]:
    """``ep.mp3`` and its kin redirect to signed addresses, some by way of ``far``."""
    near = FaultyServer(cdn_root, signatures=far.signatures)  # either honours the other's
    near.redirect("ep.mp3", "/cdn/ep.mp3?sig={sig}&exp={now}")
    for status in (301, 303, 307, 308):
        near.redirect(f"{status}/ep.mp3", "/cdn/ep.mp3?sig={sig}&exp={now}", status)
    near.redirect("in-path/ep.mp3", "/cdn/{sig}/ep.mp3?exp={now}")
    near.redirect("in-name/ep.mp3", "/cdn/ep-{sig}.mp3")  # yt-dlp would name it ep-<sig>
    near.redirect("elsewhere/ep.mp3", f"{far.base}/cdn/ep.mp3?sig={{sig}}")
    near.redirect("chain/ep.mp3", f"{far.base}/hop/ep.mp3", 301)
    far.redirect("hop/ep.mp3", f"{near.base}/cdn/{{sig}}/ep.mp3?exp={{now}}", 307)
    near.redirect("moved.html", "/pages/{sig}/talk.html", 301)  # a page that moved, its <video> too
    yield near
    near.close()


def _signatures(*servers: FaultyServer, name: str = CDN_FILE) -> Counter[str | None]:
    """How many requests each signed address of ``name`` got."""
    return Counter(r.signature for server in servers for r in server.requests_for(name))


def _fresh(url: str) -> VideoInfo:
    """The metadata as a new process sees it."""
    return source.fetch_metadata(url, network=FAST)


@pytest.mark.parametrize(
    ("name", "kind", "title"),
    [
        ("ep.mp3", "generic", "ep"),
        ("301/ep.mp3", "generic", "ep"),
        ("303/ep.mp3", "generic", "ep"),
        ("307/ep.mp3", "generic", "ep"),
        ("308/ep.mp3", "generic", "ep"),
        ("in-path/ep.mp3", "generic", "ep"),
        ("in-name/ep.mp3", "generic", "ep"),
        ("elsewhere/ep.mp3", "generic", "ep"),
        ("chain/ep.mp3", "generic", "ep"),
        ("embed.html", "html5mediaembed", "T"),  # a page whose <video> redirects
        ("moved.html", "html5mediaembed", "T"),  # the page's own title is kept
    ],
)
def test_a_redirected_url_is_the_same_video_on_every_run(
    cdn: FaultyServer, far: FaultyServer, name: str, kind: str, title: str
) -> None:
    url = cdn.url(name)
    first, second = _fresh(url), _fresh(url)
    assert (first.extractor, first.title, first.webpage_url) == (kind, title, url)
    assert (second.key, second.work_name, second.title, second.webpage_url) == (
        first.key,
        first.work_name,
        first.title,
        first.webpage_url,
    )
    assert draft.file_name(second, "2025-10-28") == draft.file_name(first, "2025-10-28")
    assert first.media_url == url  # downloads follow a fresh redirect, never a signed address
    handed_out = {r.signature for server in (cdn, far) for r in server.requests if r.signature}
    # each run was sent elsewhere; to a moved page twice, as its metadata is read from the URL given too
    assert len(handed_out) == {"embed.html": 0, "moved.html": 4}.get(name, 2)


def test_redirects_from_two_urls_are_two_videos(cdn: FaultyServer) -> None:
    assert _fresh(cdn.url("ep.mp3")).key != _fresh(cdn.url("301/ep.mp3")).key


def test_an_expired_address_is_asked_for_anew(cdn: FaultyServer, tmp_path: Path) -> None:
    extracted = source.extract(cdn.url("in-name/ep.mp3"), network=FAST)
    (found,) = _signatures(cdn)
    cdn.expire_signatures()  # before the download: the address yt-dlp found is refused
    media = source.download_audio(extracted.video, tmp_path, network=FAST, extracted=extracted)
    assert media.read_bytes() == (cdn.root / CDN_FILE).read_bytes()
    assert cdn.requests_for(CDN_FILE)[-1].signature not in (found, None)


def test_a_retry_after_a_failed_download_is_sent_to_a_fresh_address(cdn: FaultyServer, tmp_path: Path) -> None:
    extracted = source.extract(cdn.url("ep.mp3"), network=FAST)
    (found,) = _signatures(cdn)
    cdn.fail(CDN_FILE, *[Fault(status=503)] * (1 + len(FAST.retry_delays)))
    with pytest.raises(SourceUnavailable):
        source.download_audio(extracted.video, tmp_path, network=FAST, extracted=extracted)
    assert {r.signature for r in cdn.requests_for(CDN_FILE)} == {found}  # yt-dlp's own retries
    # the flow's retry, moments later, with the same answer: it was used once, so it asks anew
    media = source.download_audio(extracted.video, tmp_path, network=FAST, extracted=extracted)
    assert media.read_bytes() == (cdn.root / CDN_FILE).read_bytes()
    assert cdn.requests_for(CDN_FILE)[-1].signature not in (found, None)


def test_a_rerun_resumes_the_same_work_from_a_fresh_redirect(cdn: FaultyServer, isolated: Path) -> None:
    """The first run is cut off mid-download and its address expires; the next one (a new
    process) finds the same work folder and resumes the part from a newly signed address."""
    url = cdn.url("in-name/ep.mp3")
    extracted = source.extract(url, network=FAST)
    video = extracted.video
    work = isolated / "work" / video.work_name
    cdn.fail(CDN_FILE, *[Fault(drop_after=5_000)] * (1 + len(FAST.retry_delays)))
    with pytest.raises(SourceUnavailable):
        source.download_audio(video, work, network=FAST, extracted=extracted)
    assert source.downloaded_media(work) is None and list(work.glob("media.*.part"))
    cdn.expire_signatures()
    expired = set(cdn.signatures)

    again = _fresh(url)
    assert again.work_name == video.work_name
    media = source.download_audio(again, isolated / "work" / again.work_name, network=FAST)
    assert media.read_bytes() == (cdn.root / CDN_FILE).read_bytes()
    last = cdn.requests_for(CDN_FILE)[-1]
    assert last.signature not in expired and last.range and int(last.range.split("=")[1].split("-")[0]) > 0


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow
def test_a_rerun_of_redirected_media_is_up_to_date_and_downloads_nothing(
    prefect_api: None, cdn: FaultyServer, isolated: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    url = cdn.url("in-name/ep.mp3")
    # yt-dlp GETs the media it is led to while reading the metadata (headers only); a
    # download is one GET more of the same signed address.
    work = isolated / "work" / _fresh(url).work_name
    metadata_gets = max(_signatures(cdn).values())

    code, out, err = run_cli(capfd, url, "--model", "tiny.en", "--language", "en")
    assert code == 0, err
    path = Path(out.strip())
    post = frontmatter.load(path)
    assert (post["source"], post["title"]) == (url, "ep")
    assert "country" in post.content
    assert max(_signatures(cdn).values()) == metadata_gets + 1  # the one download
    media = source.downloaded_media(work)
    assert media is not None
    before, downloaded = len(cdn.requests), (media.stat().st_ino, media.stat().st_mtime_ns, _sha(media))

    code, again, err = run_cli(capfd, url, "--model", "tiny.en", "--language", "en")
    assert code == 0 and again == out and f"{path} is up to date" in err, err
    assert sorted((isolated.parent / "drafts").iterdir()) == [path]
    rerun = Counter(r.signature for r in cdn.requests[before:] if r.path == f"/{CDN_FILE}")
    assert rerun and max(rerun.values()) <= metadata_gets  # metadata only: no download
    assert (media.stat().st_ino, media.stat().st_mtime_ns, _sha(media)) == downloaded
