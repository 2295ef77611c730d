"""A video URL → its metadata and its audio, through yt-dlp's Python API.

yt-dlp's errors are translated here, once, into ``SourceError`` (retrying will not help)
or ``SourceUnavailable`` (a network failure that may pass).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
import os
import re
import sys
import time
from dataclasses import dataclass
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

log = logging.getLogger(__name__)

AUDIO_FORMAT = "bestaudio/best"  # audio only where the site offers it
MEDIA_STEM = "media"
# Extractors whose "id" is only a file name: the page URL must tell videos apart.
GENERIC_EXTRACTORS = ("generic", "html5mediaembed")


@dataclass(frozen=True)
class Chapter:
    start: float
    end: float | None
    title: str


@dataclass(frozen=True)
class SubtitleTrack:
    language: str  # BCP 47; '' when a publisher's transcript does not say
    url: str
    ext: str  # vtt, srt; for a publisher's transcript also json, html, txt ('' when unknown)
    automatic: bool  # the site's speech recognition, not a person's
    publisher: bool = False  # the episode's <podcast:transcript>, from its feed
    mime_type: str = ""  # as the feed gives it (publisher's transcripts)


@dataclass(frozen=True)
class VideoInfo:
    """What draftcast keeps of a video's metadata."""

    id: str
    extractor: str  # yt-dlp's extractor key, lower case ("youtube", "generic")
    title: str
    uploader: str  # uploader or channel name; '' when the site gives neither
    channel_url: str
    upload_date: str | None  # 'YYYY-MM-DD'
    duration: float | None  # seconds
    # The draft's `source`: the site's canonical page, or for generic sites the URL given,
    # never where a redirect led (a CDN signs that address anew on each request).
    webpage_url: str
    description: str
    tags: tuple[str, ...]
    chapters: tuple[Chapter, ...]
    fetch_url: str = ""  # where the media is fetched from, when not the page (a podcast's enclosure)
    language: str | None = None  # the spoken language, when the site says
    size_bytes: int | None = None  # of the media to download, when the site says
    subtitles: tuple[SubtitleTrack, ...] = ()
    chapters_url: str = ""  # a Podcasting 2.0 JSON chapters file (<podcast:chapters>), from the feed

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VideoInfo:
        """The inverse of ``dataclasses.asdict``."""
        chapters = tuple(Chapter(**chapter) for chapter in data.get("chapters", ()))
        subtitles = tuple(SubtitleTrack(**track) for track in data.get("subtitles", ()))
        return cls(**{**data, "tags": tuple(data.get("tags", ())), "chapters": chapters, "subtitles": subtitles})

    @property
    def key(self) -> str:
        """Stable identity of a video across runs and URLs: extractor + id (+ the URL given,
        for generic sites, whose ids are only file names)."""
        if self.extractor in GENERIC_EXTRACTORS:
            return f"{self.extractor}:{self.id}:{hashlib.sha256(self.webpage_url.encode()).hexdigest()[:12]}"
        return f"{self.extractor}:{self.id}"

    @property
    def work_name(self) -> str:
        """A directory name for this video's work files, safe on every OS."""
        readable = re.sub(r"[^A-Za-z0-9_-]+", "_", self.id)[:32]
        return f"{readable}-{hashlib.sha256(self.key.encode()).hexdigest()[:12]}"

    @property
    def media_url(self) -> str:
        return self.fetch_url or self.webpage_url

    def link_at(self, seconds: float) -> str:
        """The source URL that starts playing at ``seconds``."""
        whole = int(seconds)
        if self.extractor == "youtube":
            return f"{self.webpage_url}{'&' if '?' in self.webpage_url else '?'}t={whole}s"
        return f"{self.webpage_url.split('#')[0]}#t={whole}"


class _YtDlpLogger:
    """Routes yt-dlp's messages into logging; its errors come back as exceptions."""

    def debug(self, message: str) -> None:
        if not message.startswith("[debug] "):
            log.debug(message)

    def info(self, message: str) -> None:
        log.debug(message)

    def warning(self, message: str) -> None:
        if "Falling back on generic information extractor" in message:
            log.debug(message)  # expected for pages that are not on a known site
        else:
            log.warning("yt-dlp: %s", message)

    def error(self, message: str) -> None:
        log.debug(message)


def check_url(url: str, *, allow_local_files: bool = False) -> str:
    """``url`` if draftcast may fetch it; plain paths become file URLs when allowed."""
    parsed = urlparse(url)
    if parsed.scheme in ("http", "https") and parsed.netloc:
        return url
    if allow_local_files:
        if parsed.scheme == "file":
            return url
        if not parsed.scheme and Path(url).exists():
            return Path(url).resolve().as_uri()
    if parsed.scheme in ("file", "") and not allow_local_files:
        raise SourceError(
            f"{url!r} is not an http(s) URL: give a video's web address (local files need --allow-local-files)"
        )
    raise SourceError(f"{url!r} is not an http(s) URL: give a video's web address")


@lru_cache(maxsize=1)
def _js_runtimes() -> dict[str, dict[str, str]]:
    """YouTube pages need a JavaScript runtime (yt-dlp's EJS): deno, shipped on PyPI."""
    try:
        import deno
    except ImportError:
        return {"deno": {}}  # yt-dlp's default: a deno on PATH
    return {"deno": {"path": str(deno.find_deno_bin())}}


@dataclass(frozen=True)
class Network:
    """How patient draftcast is with a server: a read that waits longer than the timeout
    fails, and a failed request or an interrupted download (resumed where the server
    allows ranges) is tried again after each delay in turn, then given up."""

    timeout_seconds: float = 30
    retry_delays: tuple[float, ...] = (2, 5, 15)

    def delay(self, retry: int) -> float:
        return self.retry_delays[min(retry, len(self.retry_delays) - 1)] if self.retry_delays else 0


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
        reason = f" ({cause.reason})" if isinstance(cause, HTTPError) else ""
        return SourceError(f"{url}: the server answered HTTP {status}{reason}; check the URL")
    if isinstance(cause, ContentTooShortError):
        return SourceUnavailable(f"{url}: the server kept sending less than it announced; try again later")
    if isinstance(cause, TransportError):
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


# C0 and C1 control characters but tab and newline, and the bidirectional overrides and
# isolates that make a title read other than it is written ("\u202egpj.exe").
_UNWANTED = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _text(value: object) -> str:
    """Metadata text as a site sent it, less characters no post should carry."""
    return _UNWANTED.sub("", str(value))


def _video_info(info: dict[str, Any]) -> VideoInfo:
    chapters = tuple(
        Chapter(start=float(c.get("start_time") or 0), end=c.get("end_time"), title=_text(c.get("title") or ""))
        for c in info.get("chapters") or ()
    )
    tags = tuple(dict.fromkeys(_text(t).strip() for t in info.get("tags") or () if _text(t).strip()))
    return VideoInfo(
        id=str(info["id"]),
        extractor=str(info.get("extractor_key") or info.get("extractor") or "generic").lower(),
        title=_text(info.get("title") or info["id"]),
        uploader=_text(info.get("uploader") or info.get("channel") or info.get("creator") or ""),
        channel_url=str(info.get("channel_url") or info.get("uploader_url") or ""),
        upload_date=_date(info),
        duration=info.get("duration"),
        webpage_url=str(info.get("webpage_url") or info.get("original_url")),
        description=_text(info.get("description") or ""),
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
        title=given if video.title == _text(found) else video.title,  # a real title is kept
    )


def fetch_metadata(url: str, *, allow_local_files: bool = False, network: Network = Network()) -> VideoInfo:
    """The metadata of the video at ``url``, without downloading the media."""
    url = check_url(url, allow_local_files=allow_local_files)
    info = _recall(url)  # asked a moment ago in this process (the CLI asks while Prefect starts)
    if info is None:
        try:
            with yt_dlp.YoutubeDL(_options(network, enable_file_urls=allow_local_files)) as ydl:
                info = ydl.extract_info(url, download=False)
        except (DownloadError, ExtractorError) as exc:
            raise _translate(url, exc) from exc
    if info is None or info.get("_type") == "playlist":
        raise SourceError(f"{url}: this is a playlist or channel, not one video; give the URL of one video")
    if info.get("is_live") or info.get("live_status") in ("is_live", "is_upcoming"):
        raise NotReady(f"{url}: this is a live or upcoming stream; ingest it after it has been broadcast")
    _remember(url, info)
    video = dataclasses.replace(_as_given(_video_info(info), url), fetch_url=url)
    size = info.get("filesize") or info.get("filesize_approx")
    return dataclasses.replace(video, size_bytes=int(size) if size else None)


_EXTRACTED: dict[str, tuple[float, dict[str, Any]]] = {}  # url → (when, yt-dlp's answer), this process
_EXTRACTED_KEEP = 8
# Long enough for the CLI's prefetch and the flow's steps that follow it; short enough that
# a long-running worker ingesting a video again sees its metadata as it is now.
_EXTRACTED_SECONDS = 60.0


def _remember(url: str, info: dict[str, Any]) -> None:
    """Keep what yt-dlp answered for ``url``, so the download that follows does not ask again."""
    _EXTRACTED[url] = (time.monotonic(), info)
    while len(_EXTRACTED) > _EXTRACTED_KEEP:
        del _EXTRACTED[next(iter(_EXTRACTED))]


def _recall(url: str) -> dict[str, Any] | None:
    when, info = _EXTRACTED.get(url, (0.0, None))
    return info if info is not None and time.monotonic() - when < _EXTRACTED_SECONDS else None


@dataclass(frozen=True)
class Limits:
    """What draftcast refuses to download (before downloading it)."""

    max_duration_seconds: float = 6 * 3600
    max_download_bytes: int = 4 * 1024**3


def check_limits(video: VideoInfo, limits: Limits) -> None:
    """Refuse media over the limits by what the site declares, before any download."""
    if video.duration and video.duration > limits.max_duration_seconds:
        raise SourceError(
            f"{video.webpage_url}: the video is {video.duration / 3600:.1f} h long, over the limit of "
            f"{limits.max_duration_seconds / 3600:g} h (max_duration_hours in the config)"
        )
    if video.size_bytes and video.size_bytes > limits.max_download_bytes:
        raise SourceError(
            f"{video.webpage_url}: the media is {video.size_bytes / 2**20:.0f} MB, over the limit of "
            f"{limits.max_download_bytes / 2**20:.0f} MB (max_download_mb in the config)"
        )


def downloaded_media(work_dir: Path) -> Path | None:
    """The completely downloaded media in ``work_dir`` (yt-dlp renames it from .part when done)."""
    for path in sorted(work_dir.glob(f"{MEDIA_STEM}.*")):
        if path.suffix not in (".part", ".ytdl", ".temp") and not path.name.endswith(".part"):
            return path
    return None


def _download(ydl: yt_dlp.YoutubeDL, url: str) -> None:
    """Download from what yt-dlp answered for ``url`` a moment ago, else ask it anew.

    That answer holds where redirects led, which a CDN may sign for a short while only:
    when it is refused (HTTP 4xx but 429), ``url`` is asked again for a fresh address. Any
    failure forgets it, so a retry of the step asks anew too."""
    if (info := _recall(url)) is not None:
        try:
            ydl.process_ie_result(ydl.sanitize_info(info, remove_private_keys=True), download=True)
            return
        except (DownloadError, ExtractorError) as exc:
            _EXTRACTED.pop(url, None)
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
) -> Path:
    """Download the audio of ``video`` into ``work_dir``, with a progress bar on stderr.

    An earlier complete download is reused; an interrupted one is resumed where the
    server allows it (yt-dlp keeps it as ``.part``)."""
    if (done := downloaded_media(work_dir)) is not None:
        log.info("audio of %s already downloaded: %s", video.key, done.name)
        return done
    work_dir.mkdir(parents=True, exist_ok=True)

    bar = tqdm(desc="download", unit="B", unit_scale=True, unit_divisor=1024, file=sys.stderr)

    def hook(status: dict[str, Any]) -> None:
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
    log.info("downloading the audio of %s", video.media_url)
    try:
        with yt_dlp.YoutubeDL(options) as ydl:
            _download(ydl, check_url(video.media_url, allow_local_files=allow_local_files))
    except (DownloadError, ExtractorError) as exc:
        raise _translate(video.media_url, exc) from exc
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

    Raises:
        SourceUnavailable: a failure that may pass (refused, timeout, HTTP 5xx or 429).
        SourceError: one that will not (not http(s), HTTP 404, over MAX_DOCUMENT_BYTES).
    """
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise SourceError(f"{what} {url!r} is not at an http(s) URL; the feed must give an absolute web address")
    try:
        with yt_dlp.YoutubeDL(_options(network)) as ydl, ydl.urlopen(url) as response:
            data = response.read(MAX_DOCUMENT_BYTES + 1)
    except (RequestError, OSError) as exc:
        error = _translate(url, exc)
        raise type(error)(f"{what} {error}") from exc
    if len(data) > MAX_DOCUMENT_BYTES:
        raise SourceError(f"{what} {url}: larger than {MAX_DOCUMENT_BYTES // 2**20} MB; not read")
    return data.decode("utf-8-sig", errors="replace")


def parse_chapters(text: str) -> tuple[Chapter, ...]:
    """The chapters of a Podcasting 2.0 JSON chapters file, ``{"version": "1.2.0",
    "chapters": [{"startTime": s, "title": str, "endTime": s, "toc": bool}]}``, by start
    time. Chapters with ``"toc": false`` are silent markers, not headings, and are left out,
    as are chapters without a title.

    Raises:
        ValueError: the text is not JSON of that shape.
    """
    try:
        chapters = [
            Chapter(float(c["startTime"]), float(c["endTime"]) if c.get("endTime") is not None else None, _text(title))
            for c in json.loads(text)["chapters"]
            if isinstance(c, dict) and c.get("toc", True) is not False and (title := str(c.get("title") or "").strip())
        ]
    except (ValueError, TypeError, KeyError) as exc:
        raise ValueError(f"not a JSON chapters file ({type(exc).__name__}: {exc})") from exc
    return tuple(sorted(chapters, key=lambda chapter: chapter.start))


def fetch_chapters(url: str, *, network: Network = Network()) -> tuple[Chapter, ...]:
    """The chapters of the Podcasting 2.0 JSON chapters file at ``url``.

    Raises:
        SourceUnavailable: a failure that may pass (refused, timeout, HTTP 5xx or 429).
        SourceError: the file cannot be fetched (404, not http(s)) or is not a chapters file.
    """
    text = fetch_text(url, what="the chapters file", network=network)
    try:
        return parse_chapters(text)
    except ValueError as exc:
        raise SourceError(f"the chapters file {url}: {exc}; check the feed") from exc


METADATA_OVERRIDES = ("title", "description", "upload_date", "uploader", "webpage_url")
# Podcasting 2.0: the episode's <podcast:transcript> (one, chosen by the feed's reader) and
# <podcast:chapters> (absolute URLs; the type as the feed gives it; BCP 47 language).
PODCAST_OVERRIDES = ("transcript_url", "transcript_type", "transcript_language", "chapters_url")
OVERRIDABLE = METADATA_OVERRIDES + PODCAST_OVERRIDES
TRANSCRIPT_TYPES = {  # MIME type → format, as feeds name them
    "text/vtt": "vtt",
    "application/x-subrip": "srt",
    "application/srt": "srt",
    "text/srt": "srt",
    "application/json": "json",
    "text/html": "html",
    "text/plain": "txt",
}
_TRANSCRIPT_SUFFIXES = {".vtt": "vtt", ".srt": "srt", ".json": "json", ".html": "html", ".htm": "html", ".txt": "txt"}


def transcript_format(mime_type: str, url: str) -> str:
    """vtt, srt, json, html or txt: by the MIME type, else the URL's suffix; '' if neither says."""
    known = TRANSCRIPT_TYPES.get(mime_type.split(";")[0].strip().lower())
    return known or _TRANSCRIPT_SUFFIXES.get(Path(urlparse(url).path).suffix.lower(), "")


def with_overrides(video: VideoInfo, overrides: dict[str, str] | None) -> VideoInfo:
    """``video`` with what a feed knows better: a podcast episode's title, page, date and
    text (METADATA_OVERRIDES), and its publisher's transcript and chapters
    (PODCAST_OVERRIDES). Empty values change nothing.

    Raises:
        SourceError: a key that is not in OVERRIDABLE.
    """
    if not overrides:
        return video
    unknown = set(overrides) - set(OVERRIDABLE)
    if unknown:
        raise SourceError(f"cannot override {', '.join(sorted(unknown))}: only {', '.join(OVERRIDABLE)}")
    given = {name: str(value) for name, value in overrides.items() if value}
    changes: dict[str, Any] = {name: given[name] for name in METADATA_OVERRIDES if name in given}
    podcast = {name: given.get(name, "").strip() for name in PODCAST_OVERRIDES}
    if podcast["chapters_url"]:
        changes["chapters_url"] = podcast["chapters_url"]
    if podcast["transcript_url"]:
        url, mime_type, language = podcast["transcript_url"], podcast["transcript_type"], podcast["transcript_language"]
        track = SubtitleTrack(language, url, transcript_format(mime_type, url), False, True, mime_type)
        changes["subtitles"] = (track, *video.subtitles)  # the publisher's first
    return dataclasses.replace(video, fetch_url=video.media_url, **changes)
