"""Real yt-dlp against media served on 127.0.0.1; its errors mapped to draftcast's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from yt_dlp.networking.exceptions import HTTPError as YtHTTPError
from yt_dlp.utils import DownloadError

from pipeline import draft, source
from pipeline.errors import SourceError, SourceUnavailable
from pipeline.video import Limits, check_limits, check_url
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
    assert (video.id, video.extractor, video.title, video.uploader) == ("jfk", "generic", "jfk", "127.0.0.1")
    other = source.fetch_metadata(site.url("jfk.mp4") + "?copy=2")
    assert other.id == video.id and other.key != video.key  # same file name, another video
    # a fresh user's HTTP://… made a second draft of the same file: scheme and host have no case
    shouted = source.fetch_metadata(site.url("jfk.mp4").replace("http://", "HTTP://", 1))
    assert (shouted.key, shouted.webpage_url) == (video.key, video.webpage_url)
    # a user name and password are sent, not published in the draft (a fresh user's was)
    private = source.fetch_metadata(site.url("jfk.mp4").replace("http://", "http://editor:s3cret@", 1))
    assert (private.key, private.webpage_url) == (video.key, video.webpage_url)
    assert private.media_url == site.url("jfk.mp4").replace("http://", "http://editor:s3cret@", 1)


def test_an_address_keeps_its_case_but_in_its_scheme_and_host() -> None:
    assert check_url("HTTPS://user:PW@Videos.Example.COM:8443/Talk.MP4?v=AbC#T") == (
        "https://user:PW@videos.example.com:8443/Talk.MP4?v=AbC#T"
    )
    assert check_url("http://[::ABCD]/x") == "http://[::abcd]/x"
    assert check_url("https://a.example/v%2emp4?q=%c3%a9") == "https://a.example/v%2Emp4?q=%C3%A9"  # RFC 3986 6.2.2.1


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
    assert video.title == "T"  # yt-dlp says "T (1)"


def _json_ld(**fields: object) -> str:
    return f"<script type='application/ld+json'>{json.dumps({'@type': 'VideoObject', **fields})}</script>"


OG = (
    "<meta property='og:title' content='The inaugural address &amp; its &quot;ask&quot;'>"
    "<meta property='og:description' content='From Open Graph'><meta property='og:site_name' content='JFK Library'>"
)
META = "<meta name='description' content='From the meta tag'><meta name='author' content='Jane Editor'>"
LD = _json_ld(description="From JSON-LD", author={"@type": "Person", "name": "John F. Kennedy"})
TITLE = "<title>\n  Ask not &amp; ask   what — “1961”\n</title>"
# One <video> and each kind of metadata present or not: (name, head, title, summary, speaker).
PAGES = [
    ("all", TITLE + OG + META + LD, "The inaugural address & its \"ask\"", "From Open Graph", "JFK Library"),
    ("meta-and-ld", TITLE + META + LD, "Ask not & ask what — “1961”", "From the meta tag", "Jane Editor"),
    ("ld-only", TITLE + LD, "Ask not & ask what — “1961”", "From JSON-LD", "John F. Kennedy"),
    ("og-no-site", OG[: OG.index("<meta property='og:site_name'")] + LD, "The inaugural address & its \"ask\"",
     "From Open Graph", "John F. Kennedy"),
    ("article-author", TITLE + "<meta property='article:author' content='Ann Reporter'>",
     "Ask not & ask what — “1961”", "", "Ann Reporter"),
    ("author-is-a-url", TITLE + "<meta property='article:author' content='https://facebook.com/someone'>",
     "Ask not & ask what — “1961”", "", "127.0.0.1"),
    ("title-only", TITLE, "Ask not & ask what — “1961”", "", "127.0.0.1"),
    ("untitled", "", "untitled", "", "127.0.0.1"),  # yt-dlp's title from the URL, "untitled (1)"
]  # fmt: skip


@pytest.mark.parametrize(("name", "head", "title", "summary", "speaker"), PAGES, ids=[p[0] for p in PAGES])
def test_a_page_with_one_video_gives_its_metadata_as_the_page_says_it(
    site: Site, name: str, head: str, title: str, summary: str, speaker: str
) -> None:
    page = f"<!doctype html><html><head><meta charset='utf-8'>{head}</head><body><video src='jfk.mp4'></video>"
    (site.root / f"{name}.html").write_text(page + "</body></html>", encoding="utf-8")
    video = source.extract(site.url(f"{name}.html")).video
    assert video.extractor == "html5mediaembed"
    assert (video.title, video.description, video.uploader) == (title, summary, speaker)
    slug = {"The": "the-inaugural-address-its-ask-", "Ask": "ask-not-ask-what-1961-", "untitled": "untitled-"}
    assert draft.file_name(video, "2025-10-28").startswith(f"2025-10-28-{slug[title.split()[0]]}")


def test_a_pages_declared_charset_is_read_and_a_sites_uploader_wins(site: Site) -> None:
    page = (
        "<html><head><meta http-equiv='Content-Type' content='text/html; charset=gb2312'>"
        "<title>黄仁勋谈芯片</title><meta property='og:site_name' content='最佳拍档'></head>"
        "<body><video src='aishell-BAC009S0724W0121.mp4'></video></body></html>"
    )
    (site.root / "gb.html").write_bytes(page.encode("gb2312"))
    video = source.extract(site.url("gb.html")).video
    assert (video.title, video.uploader) == ("黄仁勋谈芯片", "最佳拍档")
    named = source.extract(site.add_page("named.html", media="jfk.mp4", title="T", uploader="JFK Library")).video
    assert named.uploader == "JFK Library"  # yt-dlp's uploader (JSON-LD here) is the site's word


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
