"""Real yt-dlp against media served on 127.0.0.1; its errors mapped to draftcast's."""

from __future__ import annotations

from pathlib import Path

import pytest
from yt_dlp.networking.exceptions import HTTPError as YtHTTPError
from yt_dlp.utils import DownloadError

from pipeline import source
from pipeline.errors import SourceError, SourceUnavailable
from pipeline.video import Limits, check_limits
from tests.conftest import HOSTILE, Site


def test_page_metadata_is_captured_exactly(site: Site) -> None:
    url = site.add_page(
        "meta.html",
        media="jfk.mp4",
        title=HOSTILE,
        description="Line one\nLine two: {{ x }}",
        uploader="Best Partners TV",
        date="2025-10-28",
        tags=("ai", "chips"),
        chapters=((0, 5, "Intro"), (5, 11, "The ask")),
    )
    video = source.fetch_metadata(url)
    assert video.title == HOSTILE
    assert video.description == "Line one\nLine two: {{ x }}"
    assert video.uploader == "Best Partners TV"
    assert video.upload_date == "2025-10-28"
    assert video.tags == ("ai", "chips")
    assert video.webpage_url == url
    assert [(c.start, c.title) for c in video.chapters] == [(0.0, "Intro"), (5.0, "The ask")]


def test_a_direct_media_url_works_and_its_key_depends_on_the_url(site: Site) -> None:
    video = source.fetch_metadata(site.url("jfk.mp4"))
    assert (video.id, video.extractor, video.title) == ("jfk", "generic", "jfk")
    other = source.fetch_metadata(site.url("jfk.mp4") + "?copy=2")
    assert other.id == video.id and other.key != video.key  # same file name, another video


def test_download_fetches_the_media_once(site: Site, tmp_path: Path) -> None:
    video = source.fetch_metadata(site.url("jfk.mp4"))
    media = source.download_audio(video, tmp_path / "work")
    assert media.name == "media.mp4" and media.stat().st_size == (site.root / "jfk.mp4").stat().st_size
    modified = media.stat().st_mtime_ns
    assert source.download_audio(video, tmp_path / "work") == media
    assert media.stat().st_mtime_ns == modified


def test_an_html5_video_page_works(site: Site) -> None:
    (site.root / "embed.html").write_text(
        "<html><head><title>T</title></head><body><video src='jfk.mp4'></video></body>"
    )
    video = source.fetch_metadata(site.url("embed.html"))
    assert video.extractor == "html5mediaembed"


@pytest.mark.parametrize(
    ("url", "error", "words"),
    [
        ("http://127.0.0.1:9/x.mp4", SourceUnavailable, "cannot reach the host"),
        ("{site}/missing.mp4", SourceError, "HTTP 404"),
        ("{site}/no-media.html", SourceError, "no video or audio was found"),
        ("not a url", SourceError, "not an http(s) URL"),
        ("file:///etc/passwd", SourceError, "--allow-local-files"),
        ("ftp://127.0.0.1/x.mp4", SourceError, "not an http(s) URL"),
    ],
)
def test_bad_urls_give_one_clear_error_naming_the_input(
    site: Site, url: str, error: type[Exception], words: str
) -> None:
    url = url.format(site=site.base)
    with pytest.raises(error) as raised:
        source.fetch_metadata(url)
    assert words in str(raised.value)
    assert url in str(raised.value)
    assert type(raised.value) is error  # a 404 is not retried as if it were a network fault


def test_local_files_need_the_explicit_option(tmp_path: Path) -> None:
    copy = tmp_path / "talk.flac"
    copy.write_bytes((Path(__file__).parent / "media" / "jfk.flac").read_bytes())
    with pytest.raises(SourceError):
        source.fetch_metadata(str(copy))
    video = source.fetch_metadata(str(copy), allow_local_files=True)
    assert video.title == "talk"


def test_server_errors_are_retryable_and_client_errors_are_not() -> None:
    from yt_dlp.networking import Response

    def http_error(status: int) -> DownloadError:
        response = Response(fp=None, url="http://x/", headers={}, status=status)  # type: ignore[arg-type]
        return DownloadError("ERROR: boom", exc_info=(YtHTTPError, YtHTTPError(response), None))

    assert type(source._translate("http://x/", http_error(503))) is SourceUnavailable
    assert type(source._translate("http://x/", http_error(429))) is SourceUnavailable
    assert type(source._translate("http://x/", http_error(403))) is SourceError


def test_media_over_the_limits_is_refused_before_download(site: Site, tmp_path: Path) -> None:
    long_page = site.root / "seven-hours.html"
    long_page.write_text(
        "<html><head><script type='application/ld+json'>"
        '{"@context": "https://schema.org", "@type": "VideoObject", "name": "A very long stream",'
        f' "duration": "PT7H", "contentUrl": "{site.url("jfk.mp4")}"}}'
        "</script></head><body></body></html>"
    )
    video = source.fetch_metadata(site.url("seven-hours.html"))
    with pytest.raises(SourceError, match=r"7\.0 h long, over the limit of 6 h \(max_duration_hours"):
        check_limits(video, Limits())
    small = Limits(max_download_bytes=10_000)  # jfk.mp4 is about 93 KB
    jfk = source.fetch_metadata(site.url("jfk.mp4"))
    check_limits(jfk, small)  # the server declared no size up front…
    with pytest.raises(SourceError, match=r"over the limit of 0 MB \(max_download_mb"):
        source.download_audio(jfk, tmp_path / "work", limits=small)  # …so the download stops at it
    assert not [p for p in (tmp_path / "work").iterdir() if p.name.startswith("media")]
