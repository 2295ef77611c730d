"""yt-dlp, and only here: a video's metadata and audio, subtitles and small documents
(a publisher's transcript, chapters) and flat listings of playlists and channels.

yt-dlp's errors are translated here, once (``translate_errors``), into ``SourceError``
(retrying will not help) or ``SourceUnavailable`` (a network failure that may pass).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import yt_dlp
from tqdm import tqdm
from yt_dlp.networking.exceptions import HTTPError, RequestError, TransportError
from yt_dlp.utils import ContentTooShortError, DownloadError, ExtractorError, UnsupportedError, url_basename

from pipeline.audio import ffmpeg_executable
from pipeline.errors import NotReady, SourceError, SourceUnavailable
from pipeline.page import PageMetadata, read_page
from pipeline.video import (
    GENERIC_EXTRACTORS,
    Chapter,
    Limits,
    Network,
    SubtitleTrack,
    VideoInfo,
    check_url,
    clean_text,
    parse_chapters,
    without_credentials,
)

log = logging.getLogger(__name__)

AUDIO_FORMAT = "bestaudio/best"  # audio only where the site offers it
MEDIA_STEM = "media"


class _YtDlpLogger:
    """Routes yt-dlp's messages into logging; its errors come back as exceptions."""

    def debug(self, message: str) -> None:
        """yt-dlp's screen output (it sends it here when a logger is set) at DEBUG; its
        verbose ``[debug]`` lines are dropped."""
        if not message.startswith("[debug] "):
            log.debug(message)

    def info(self, message: str) -> None:
        """Notes of yt-dlp's helpers (JavaScript challenges, cookies) at DEBUG."""
        log.debug(message)

    def warning(self, message: str) -> None:
        """yt-dlp's warnings at WARNING, but the expected generic-extractor fallback."""
        if "Falling back on generic information extractor" in message:
            log.debug(message)  # expected for pages that are not on a known site
        else:
            log.warning("yt-dlp: %s", message)

    def error(self, message: str) -> None:
        """At DEBUG only: yt-dlp raises the same error, which ``translate_errors`` turns into
        draftcast's."""
        log.debug(message)


@lru_cache(maxsize=1)
def _js_runtimes() -> dict[str, dict[str, str]]:
    """YouTube pages need a JavaScript runtime (yt-dlp's EJS): deno, shipped on PyPI."""
    try:
        import deno
    except ImportError:
        return {"deno": {}}  # yt-dlp's default: a deno on PATH
    return {"deno": {"path": str(deno.find_deno_bin())}}


def _options(network: Network = Network(), **extra: Any) -> dict[str, Any]:
    """The one place yt-dlp's options are built."""
    options: dict[str, Any] = {
        "js_runtimes": _js_runtimes(),
        "format": AUDIO_FORMAT,
        "quiet": True,
        "noprogress": True,
        "no_warnings": False,
        "logger": _YtDlpLogger(),
        "noplaylist": True,
        "socket_timeout": network.timeout_seconds,
        "retries": len(network.retry_delays),
        "retry_sleep_functions": {"http": lambda n: network.delay(n)},  # yt-dlp's default: no pause
        "ffmpeg_location": ffmpeg_executable(),
        "color": {"stderr": "no_color", "stdout": "no_color"},
    }
    options.update(extra)
    return options


@contextmanager
def translate_errors(url: str, *, what: str = "") -> Iterator[None]:
    """Run a yt-dlp call on ``url``: its errors (DownloadError, ExtractorError, its
    networking RequestError, a socket's ConnectionError or TimeoutError) leave as draftcast's, naming ``url`` and,
    when given, ``what`` it was ("the publisher's transcript").

    Raises:
        SourceUnavailable: a failure that may pass (refused, timeout, HTTP 5xx or 429, cut short).
        NotReady: a live or upcoming stream.
        SourceError: any other failure (HTTP 404, no media at the address, …).
    """
    try:
        yield
    except (DownloadError, ExtractorError, RequestError, ConnectionError, TimeoutError) as exc:
        error = _translate(url, exc)
        raise type(error)(f"{what} {error}" if what else str(error)) from exc


def list_flat(url: str, *, limit: int) -> dict[str, Any]:
    """yt-dlp's flat listing of a playlist or channel tab (its first ``limit`` entries,
    each with url, id, title, timestamp where the site gives them), without resolving
    each video.

    Returns yt-dlp's answer as a dict (``entries``: a list of dicts, some None; a
    channel's ``channel_id``, ``uploader``), or {} when yt-dlp answers nothing.

    Raises:
        SourceError: ``url`` is not http(s) (``check_url``), or as ``translate_errors``.
        SourceUnavailable, NotReady: as ``translate_errors``.
    """
    options = _options(extract_flat="in_playlist", playlistend=limit, noplaylist=False, format=None)
    with translate_errors(url), yt_dlp.YoutubeDL(options) as ydl:
        return ydl.extract_info(check_url(url), download=False) or {}


def _cause(exc: Exception) -> BaseException:
    """What yt-dlp's error wraps: the HTTP or network error underneath, when there is one."""
    cause = exc.exc_info[1] if isinstance(exc, DownloadError) and exc.exc_info else exc
    if isinstance(cause, ExtractorError) and cause.orig_msg is None and cause.exc_info:
        cause = cause.exc_info[1] or cause
    if isinstance(cause, ExtractorError) and isinstance(cause.cause, Exception):
        cause = cause.cause
    return cause or exc


def _http_status(exc: Exception) -> int | None:
    """The HTTP status that failed a yt-dlp call; its downloader gives up with a message,
    not the exception it retried on."""
    if isinstance(cause := _cause(exc), HTTPError):
        return cause.status
    status = re.search(r"HTTP Error (\d{3})", _reason(exc))
    return int(status.group(1)) if status else None


def _translate(url: str, exc: Exception) -> SourceError:
    """A yt-dlp failure as draftcast's error, naming the URL and what to do."""
    cause = _cause(exc)
    if (status := _http_status(exc)) is not None:
        if status >= 500 or status == 429:
            return SourceUnavailable(f"{url}: the server answered HTTP {status}; try again later")
        if 300 <= status < 400:  # yt-dlp follows redirects: one left is a loop, or one too many
            return SourceError(f"{url}: the server redirects without end (HTTP {status} again and again); check it")
        reason = f" ({cause.reason})" if isinstance(cause, HTTPError) else ""
        return SourceError(f"{url}: the server answered HTTP {status}{reason}; check the URL")
    if isinstance(cause, ContentTooShortError):
        return SourceUnavailable(f"{url}: the server kept sending less than it announced; try again later")
    if isinstance(cause, TransportError | ConnectionError | TimeoutError):  # refused, reset, timed out
        return SourceUnavailable(
            f"{url}: cannot reach the host ({_os_reason(cause)}); check the URL and your connection"
        )
    if isinstance(cause, UnsupportedError):
        return SourceError(f"{url}: no video or audio was found at this address")
    message = _reason(exc).removeprefix("ERROR: ").removeprefix("[download] Got error: ")
    if "Giving up after" in message:  # a network failure that outlasted the retries
        return SourceUnavailable(f"{url}: the download kept failing ({message}); try again later")
    if re.search(r"live event will begin|Premieres in|is_upcoming|not (yet )?(started|live)", message, re.I):
        return NotReady(f"{url}: not broadcast yet ({message}); it is tried again later")
    if "Did not get any data blocks" in message:
        return SourceError(f"{url}: the server sent an empty file; check the URL")
    if adapter := re.search(r"No connection adapters were found for '([^']*)'", message):
        return SourceError(f"{url}: it leads to {adapter.group(1)}, which is not an http(s) address; check the URL")
    if "Unsupported URL" in message or "No video formats found" in message:
        return SourceError(f"{url}: no video or audio was found at this address")
    return SourceError(f"{url}: {message}")


def _os_reason(exc: BaseException) -> str:
    """The operating system's words deep in a network error's chain ("Connection refused")."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.strerror:
            return current.strerror
        match = re.search(r"\[Errno -?\d+\] ([^)'\]]+)", str(current))
        if match:
            return match.group(1).strip()
        current = current.__cause__ or current.__context__
    return _reason(exc)


def _reason(exc: BaseException) -> str:
    """The first line of an error's message ('\\r' is yt-dlp's progress-line reset, not a break)."""
    text = str(exc).replace("\r", "").strip() or type(exc).__name__
    return text.splitlines()[0]


def _date(info: dict[str, Any]) -> str | None:
    raw = info.get("upload_date") or info.get("release_date")
    if raw and re.fullmatch(r"\d{8}", raw):
        return f"{raw[:4]}-{raw[4:6]}-{raw[6:]}"
    if isinstance(info.get("timestamp"), int | float):
        return dt.datetime.fromtimestamp(info["timestamp"], dt.UTC).strftime("%Y-%m-%d")
    return None


SUBTITLE_FORMATS = ("vtt", "srt")  # formats draftcast reads, in order of preference


def _subtitle_tracks(info: dict[str, Any]) -> tuple[SubtitleTrack, ...]:
    tracks = []
    for field, automatic in (("subtitles", False), ("automatic_captions", True)):
        for language, formats in (info.get(field) or {}).items():
            usable = [f for f in formats or () if f.get("ext") in SUBTITLE_FORMATS and f.get("url")]
            usable.sort(key=lambda f: SUBTITLE_FORMATS.index(f["ext"]))
            if usable and language != "live_chat":
                tracks.append(SubtitleTrack(str(language), str(usable[0]["url"]), str(usable[0]["ext"]), automatic))
    return tuple(tracks)


def _video_info(info: dict[str, Any]) -> VideoInfo:
    chapters = tuple(
        Chapter(start=float(c.get("start_time") or 0), end=c.get("end_time"), title=clean_text(c.get("title") or ""))
        for c in info.get("chapters") or ()
    )
    tags = tuple(dict.fromkeys(clean_text(t).strip() for t in info.get("tags") or () if clean_text(t).strip()))
    return VideoInfo(
        id=str(info["id"]),
        extractor=str(info.get("extractor_key") or info.get("extractor") or "generic").lower(),
        title=clean_text(info.get("title") or info["id"]),
        uploader=clean_text(info.get("uploader") or info.get("channel") or info.get("creator") or ""),
        channel_url=str(info.get("channel_url") or info.get("uploader_url") or ""),
        upload_date=_date(info),
        duration=info.get("duration"),
        webpage_url=str(info.get("webpage_url") or info.get("original_url")),
        description=clean_text(info.get("description") or ""),
        tags=tags,
        chapters=chapters,
        language=str(info["language"]) if info.get("language") else None,
        subtitles=_subtitle_tracks(info),
    )


def _file_name(url: str) -> str:
    """What yt-dlp's generic extractor names what it finds at ``url``: the last path
    segment, unquoted, without its extension ('ep' for .../ep.mp3?sig=…)."""
    return unquote(os.path.splitext(url_basename(url))[0])


def _as_given(video: VideoInfo, url: str) -> VideoInfo:
    """``video`` as found at ``url``, the URL given, when yt-dlp followed redirects from it.

    For generic sites yt-dlp reports the page, the id and, without better metadata, the
    title of where the redirects led; a CDN signs that address anew on each request (a
    token in its query or path), so a re-run would see another video. Here they come from
    ``url`` instead. A site's own extractor (YouTube) gives ids that do not move: left as is."""
    landed = video.webpage_url
    if video.extractor not in GENERIC_EXTRACTORS or landed == url:
        return video
    found, given = _file_name(landed), _file_name(url) or urlparse(url).hostname or "media"
    return dataclasses.replace(
        video,
        webpage_url=url,
        id=given + video.id[len(found) :] if video.id.startswith(found) else video.id,  # html5's 'ep-1'
        title=given if video.title == clean_text(found) else video.title,  # a real title is kept
    )


MAX_PAGE_BYTES = 5 * 2**20  # a video page's HTML; its metadata is in its head and first scripts
_NUMBERED = re.compile(r" \(\d+\)$")  # yt-dlp's html5 extractor numbers a page's media: "Title (1)"


def _is_page(info: dict[str, Any]) -> bool:
    """Whether yt-dlp found the media on a web page, not at the media file's own URL."""
    return info.get("url") != info.get("webpage_url")


def _read_page(url: str, *, allow_local_files: bool, network: Network) -> PageMetadata:
    """What the HTML page at ``url`` says of itself; nothing for what is not HTML. One more
    request: yt-dlp keeps nothing of the page it read.

    Raises:
        SourceError: as ``translate_errors``.
    """
    options = _options(network, enable_file_urls=allow_local_files)
    with translate_errors(url, what="the page"), yt_dlp.YoutubeDL(options) as ydl, ydl.urlopen(url) as response:
        content_type = str(response.headers.get("Content-Type") or "")
        if content_type and "html" not in content_type.lower():
            return PageMetadata()
        data = response.read(MAX_PAGE_BYTES)
    return read_page(data, content_type)


def _with_page(video: VideoInfo, page: PageMetadata, url: str) -> VideoInfo:
    """``video``, found by yt-dlp's generic extractors at ``url``, with what its page says
    (``page``; empty for a media file's own URL): for a page's one ``<video>``, the page's
    title as written (yt-dlp's "Title (1)" without its number); the page's description
    (og:description, else its meta description, else JSON-LD's) before yt-dlp's; and when
    yt-dlp names no uploader, the site's name, else the page's author, else the host name
    ('' only for a local file)."""
    title = video.title
    if video.extractor == "html5mediaembed":
        title = page.title or _NUMBERED.sub("", title)
    host = (urlparse(url).hostname or "").removeprefix("www.")
    return dataclasses.replace(
        video,
        title=title,
        description=page.description or video.description,
        uploader=video.uploader or page.speaker or host,
    )


class Extracted:
    """yt-dlp's answer for one URL, with the video it describes. The download that follows
    starts from it once (``take``): its addresses may be signed for a short while only, so
    a retry asks yt-dlp anew."""

    __slots__ = ("_info", "url", "video")

    def __init__(self, url: str, info: dict[str, Any], video: VideoInfo) -> None:
        self.url, self.video, self._info = url, video, info

    def take(self) -> dict[str, Any] | None:
        """yt-dlp's answer the first time; None after."""
        info, self._info = self._info, None
        return info


def extract(url: str, *, allow_local_files: bool = False, network: Network = Network()) -> Extracted:
    """What yt-dlp finds at ``url`` (one video's metadata), without downloading the media;
    for a page of a site without its own extractor, completed by what the page says of
    itself (``_with_page``).

    ``allow_local_files``: also accept file:// URLs and paths of existing files.
    ``network``: the timeout and retry delays yt-dlp uses.

    Returns an ``Extracted``: the ``VideoInfo`` (for generic sites with the URL given as
    its page, see ``_as_given``; ``fetch_url`` is ``url``; ``size_bytes`` when the site
    declares it) and yt-dlp's answer, which ``download_audio`` starts from.

    Raises:
        SourceError: not an http(s) URL (unless ``allow_local_files``), a playlist or
            channel, no media at the address, an HTTP error that retrying will not mend
            (404, 403, …).
        SourceUnavailable: a failure that may pass: refused, timed out, HTTP 5xx or 429.
        NotReady: a live or upcoming stream.
    """
    url = check_url(url, allow_local_files=allow_local_files)
    with translate_errors(url), yt_dlp.YoutubeDL(_options(network, enable_file_urls=allow_local_files)) as ydl:
        info = ydl.extract_info(url, download=False)
    if info is None or info.get("_type") == "playlist":
        raise SourceError(f"{url}: this is a playlist or channel, not one video; give the URL of one video")
    if info.get("is_live") or info.get("live_status") in ("is_live", "is_upcoming"):
        raise NotReady(f"{url}: this is a live or upcoming stream; ingest it after it has been broadcast")
    video = _video_info(info)
    if video.extractor in GENERIC_EXTRACTORS:  # a site's own extractor (YouTube) knows its pages
        page = _read_page(url, allow_local_files=allow_local_files, network=network) if _is_page(info) else None
        video = _with_page(video, page or PageMetadata(), url)
    size = info.get("filesize") or info.get("filesize_approx")
    video = _as_given(video, url)
    # fetched with the credentials given, published (the draft's source) without them
    video = dataclasses.replace(
        video, webpage_url=without_credentials(video.webpage_url), fetch_url=url, size_bytes=int(size) if size else None
    )
    return Extracted(url, info, video)


def fetch_metadata(url: str, *, allow_local_files: bool = False, network: Network = Network()) -> VideoInfo:
    """The metadata of the video at ``url``, without downloading the media: ``extract``'s
    ``VideoInfo`` alone.

    Raises:
        SourceError, SourceUnavailable, NotReady: as ``extract``.
    """
    return extract(url, allow_local_files=allow_local_files, network=network).video


def downloaded_media(work_dir: Path) -> Path | None:
    """The completely downloaded media in ``work_dir`` (``media.<ext>``; yt-dlp renames it
    from .part when done), or None."""
    for path in sorted(work_dir.glob(f"{MEDIA_STEM}.*")):
        if path.suffix not in (".part", ".ytdl", ".temp") and not path.name.endswith(".part"):
            return path
    return None


def _download(ydl: yt_dlp.YoutubeDL, url: str, extracted: Extracted | None) -> None:
    """Download from what yt-dlp answered for ``url`` a moment ago (``extracted``), else
    ask it anew.

    That answer holds where redirects led, which a CDN may sign for a short while only:
    when it is refused (HTTP 4xx but 429), ``url`` is asked again for a fresh address. The
    answer is used once, so a retry of the step asks anew too."""
    info = extracted.take() if extracted is not None and extracted.url == url else None
    if info is not None:
        try:
            ydl.process_ie_result(ydl.sanitize_info(info, remove_private_keys=True), download=True)
            return
        except (DownloadError, ExtractorError) as exc:
            status = _http_status(exc)
            if status is None or not 400 <= status < 500 or status == 429:
                raise
            log.info("%s: the address found a moment ago was refused (HTTP %d); asking again", url, status)
    ydl.extract_info(url, download=True)


def download_audio(
    video: VideoInfo,
    work_dir: Path,
    *,
    allow_local_files: bool = False,
    limits: Limits = Limits(),
    network: Network = Network(),
    extracted: Extracted | None = None,
) -> Path:
    """Download the audio of ``video`` (from its ``media_url``) into ``work_dir``
    (``media.<ext>``: the site's own audio format, m4a, webm, mp3…, never re-encoded), with
    a progress bar on stderr; returns the file. ``work_dir`` is made if missing.
    ``extracted``: yt-dlp's answer for the video a moment ago, to start from instead of
    asking again. ``limits.max_download_bytes`` goes to yt-dlp as ``max_filesize``: a
    larger file is not downloaded.

    An earlier complete download is reused; an interrupted one is resumed where the
    server allows it (yt-dlp keeps it as ``.part``).

    Raises:
        SourceUnavailable: a network failure that may pass, after yt-dlp's own retries.
        SourceError: one that will not (HTTP 404, nothing downloaded, over ``limits``), or
            a ``media_url`` that is not http(s) (unless ``allow_local_files``).
        NotReady: as ``translate_errors``.
    """
    if (done := downloaded_media(work_dir)) is not None:
        log.info("audio of %s already downloaded: %s", video.key, done.name)
        return done
    work_dir.mkdir(parents=True, exist_ok=True)

    log.info("downloading the audio of %s", video.media_url)  # before the bar starts its line
    bar = tqdm(desc="download", unit="B", unit_scale=True, unit_divisor=1024, file=sys.stderr)

    def hook(status: dict[str, Any]) -> None:
        """yt-dlp's progress hook: the bar follows its downloaded and total bytes."""
        if status.get("status") in ("downloading", "finished"):
            total = status.get("total_bytes") or status.get("total_bytes_estimate")
            bar.total = int(total) if total else None
            bar.update(int(status.get("downloaded_bytes") or 0) - bar.n)

    options = _options(
        network,
        outtmpl={"default": str(work_dir / f"{MEDIA_STEM}.%(ext)s")},
        progress_hooks=[hook],
        enable_file_urls=allow_local_files,
        continuedl=True,
        max_filesize=limits.max_download_bytes,  # for sites that declare no size up front
    )
    try:
        with translate_errors(video.media_url), yt_dlp.YoutubeDL(options) as ydl:
            _download(ydl, check_url(video.media_url, allow_local_files=allow_local_files), extracted)
    finally:
        bar.close()
    done = downloaded_media(work_dir)
    log.info("downloaded %s (%.1f MB)", done.name if done else "nothing", done.stat().st_size / 1e6 if done else 0)
    if done is None:
        raise SourceError(
            f"{video.media_url}: no media was downloaded; it may be over the limit of "
            f"{limits.max_download_bytes / 2**20:.0f} MB (max_download_mb in the config)"
        )
    return done


MAX_DOCUMENT_BYTES = 20 * 2**20  # a transcript or a chapters file: hours of speech fit in a few MB


def fetch_text(url: str, *, what: str, network: Network = Network()) -> str:
    """The text of a small document at an http(s) ``url`` (a publisher's transcript, a
    chapters file); ``what`` names it in errors ("the publisher's transcript").

    Returns the body decoded as UTF-8 (a byte-order mark dropped, bytes that are not
    UTF-8 replaced by U+FFFD), at most MAX_DOCUMENT_BYTES of it.

    Raises:
        SourceUnavailable: a failure that may pass (refused, timeout, HTTP 5xx or 429).
        SourceError: one that will not (not http(s), HTTP 404, over MAX_DOCUMENT_BYTES).
    """
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise SourceError(f"{what} {url!r} is not at an http(s) URL; the feed must give an absolute web address")
    with translate_errors(url, what=what), yt_dlp.YoutubeDL(_options(network)) as ydl, ydl.urlopen(url) as response:
        data = response.read(MAX_DOCUMENT_BYTES + 1)
    if len(data) > MAX_DOCUMENT_BYTES:
        raise SourceError(f"{what} {url}: larger than {MAX_DOCUMENT_BYTES // 2**20} MB; not read")
    return data.decode("utf-8-sig", errors="replace")


def fetch_chapters(url: str, *, network: Network = Network()) -> tuple[Chapter, ...]:
    """The chapters of the Podcasting 2.0 JSON chapters file at ``url`` (``parse_chapters``):
    start and end in seconds, by start.

    Raises:
        SourceUnavailable: a failure that may pass (refused, timeout, HTTP 5xx or 429).
        SourceError: the file cannot be fetched (404, not http(s)) or is not a chapters file.
    """
    text = fetch_text(url, what="the chapters file", network=network)
    try:
        return parse_chapters(text)
    except ValueError as exc:
        raise SourceError(f"the chapters file {url}: {exc}; check the feed") from exc
