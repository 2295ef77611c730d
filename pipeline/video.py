"""What draftcast knows of a video or episode, and the limits it works within: plain
data, with no yt-dlp or whisper import, so that reading a title costs nothing.

pipeline/source.py fills these in through yt-dlp; a feed's entry overrides what it knows
better (``with_overrides``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from pipeline.errors import SourceError

# Extractors whose "id" is only a file name: the page URL must tell videos apart.
GENERIC_EXTRACTORS = ("generic", "html5mediaembed")
# Seconds before each retry of a network step: what the config's network_retry_delays
# defaults to, and what Prefect's network tasks retry after.
NETWORK_RETRY_DELAYS = (2.0, 5.0, 15.0)


@dataclass(frozen=True)
class Chapter:
    """A chapter of a video or episode: a heading in the draft."""

    start: float  # seconds from the start of the media
    end: float | None  # seconds; None when the source does not say (drafts go by the starts)
    title: str


@dataclass(frozen=True)
class SubtitleTrack:
    """A text of the video's speech: subtitles the site offers, or the publisher's
    transcript its feed links to."""

    language: str  # BCP 47; '' when a publisher's transcript does not say
    url: str  # absolute: where the text is fetched from
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
    channel_url: str  # the uploader's channel page; '' when the site gives none
    upload_date: str | None  # 'YYYY-MM-DD'
    duration: float | None  # seconds
    # The draft's `source`: the site's canonical page, or for generic sites the URL given,
    # never where a redirect led (a CDN signs that address anew on each request).
    webpage_url: str
    description: str  # the site's description, or a feed's show notes as plain text
    tags: tuple[str, ...]  # the site's tags, without repeats
    chapters: tuple[Chapter, ...]  # the site's own, as it lists them
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
        """Where the media is downloaded from: ``fetch_url`` when set (a podcast's enclosure,
        or the URL given to ``source.extract``), else the page."""
        return self.fetch_url or self.webpage_url

    def link_at(self, seconds: float) -> str:
        """The source URL that starts playing at ``seconds`` (whole seconds, rounded down):
        YouTube's ``t=<N>s`` query parameter, else a W3C Media Fragments ``#t=<N>``."""
        whole = int(seconds)
        if self.extractor == "youtube":
            return f"{self.webpage_url}{'&' if '?' in self.webpage_url else '?'}t={whole}s"
        return f"{self.webpage_url.split('#')[0]}#t={whole}"


# C0 and C1 control characters but tab and newline, and the bidirectional overrides and
# isolates that make a title read other than it is written ("\u202egpj.exe").
_UNWANTED = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def clean_text(value: object) -> str:
    """Metadata text as a site sent it, less characters no post should carry (NEL, U+0085,
    is a line break: it becomes one, so the words on either side stay apart)."""
    return _UNWANTED.sub("", str(value).replace("\x85", "\n"))


def check_url(url: str, *, allow_local_files: bool = False) -> str:
    """``url`` if draftcast may fetch it; plain paths become file URLs when allowed.

    Returns ``url`` for http(s) with a host and, if it gives one, a valid port, its scheme
    and host in lower case (``_lower_case_host``), the rest as given; file:// as given
    when allowed, or the file:// URI of an existing local path when ``allow_local_files``.
    A web address written without its scheme (``example.com/v.mp4``,
    ``www.youtube.com/watch?v=x``) is refused with the ``https://`` form to use instead:
    guessing the scheme would fetch something the person did not write.

    A tab, line break or other unprintable character anywhere (Unicode's line separators
    and C1 controls included), spaces around a web address and two addresses on one line
    are refused: urllib drops tabs and line breaks and strips spaces at the ends silently
    (as the WHATWG URL standard says browsers do), so a pasted ``https://exa\tmple.com/v``
    or `` https://…`` would otherwise be fetched as something else than what was given, or
    under another key. A space inside a path (a feed's ``/My Episode.mp3``) is left to
    yt-dlp, which escapes it.

    Raises:
        SourceError: anything else, a local path that does not exist included.
    """
    if (control := next((char for char in url if not char.isprintable()), None)) is not None:
        raise SourceError(f"{url!r} has a control character ({control!r}) in it: give one address, as it is written")
    try:
        parsed = urlparse(url)
    except ValueError:  # an unclosed "[" of an IPv6 address
        raise SourceError(f"{url!r} is not a valid address (its host's brackets): check the address") from None
    if parsed.scheme in ("http", "https"):
        if not parsed.hostname:
            raise SourceError(f"{url!r} has no host name: write it {parsed.scheme}://HOST/…")
        labels = parsed.hostname.rstrip(".").split(".")  # RFC 1035: 1 to 63 characters each
        if any(char.isspace() or char in '<>"{}|\\^`[]' for char in parsed.hostname) or not all(
            0 < len(label) <= 63 and not label.startswith("-") and not label.endswith("-") for label in labels
        ):  # RFC 1123 2.1: a label neither begins nor ends with a hyphen
            raise SourceError(f"{url!r} has a host name that cannot be: check the address")
        try:
            port = parsed.port  # urllib checks it as it is read
        except ValueError:
            port = 0
        if port == 0:
            raise SourceError(f"{url!r} has no valid port: 1 to 65535 after the host's ':'")
        if url != url.strip() or "://" in url.partition(" ")[2]:  # urllib strips spaces at the ends
            raise SourceError(f"{url!r}: give one address, without spaces around it")
        return _lower_case_host(url, parsed.scheme, parsed.netloc)
    if allow_local_files:
        if parsed.scheme == "file":
            return url
        if not parsed.scheme and Path(url).exists():
            return Path(url).resolve().as_uri()
    if (suggested := _with_scheme(url)) is not None:
        raise SourceError(f"{url!r} has no scheme: write {suggested}")
    if parsed.scheme in ("file", "") and not allow_local_files:
        raise SourceError(
            f"{url!r} is not an http(s) URL: give a video's web address (local files need --allow-local-files)"
        )
    raise SourceError(f"{url!r} is not an http(s) URL: give a video's web address")


# A host name (labels joined by dots, the last one letters) or an IPv4 address.
_HOST = re.compile(r"(?:[a-z0-9-]+\.)+[a-z]{2,}|localhost|\d{1,3}(?:\.\d{1,3}){3}", re.IGNORECASE)


def _lower_case_host(url: str, scheme: str, netloc: str) -> str:
    """``url`` (http(s), whose parts ``urlparse`` gave as ``scheme`` and ``netloc``) with
    its scheme and host in lower case and its percent-encodings in upper case: both are
    case-insensitive (RFC 3986, 6.2.2.1), and a generic site's video is keyed by the
    address given (``VideoInfo.key``), so ``HTTP://Example.com/v%2emp4`` would be a second
    draft of ``http://example.com/v%2Emp4``. The user name and password, path, query and
    fragment are otherwise kept as written."""
    user, at, host = netloc.rpartition("@")
    rest = re.sub(r"%[0-9a-fA-F]{2}", lambda escape: escape.group().upper(), url[len(scheme) + 3 + len(netloc) :])
    return f"{scheme}://{user}{at}{host.lower()}{rest}"


def without_credentials(url: str) -> str:
    """``url`` without the user name and password it may hold (``https://user:pw@host/v``
    → ``https://host/v``): the address a draft may publish as its source."""
    parsed = urlparse(url)
    if "@" not in parsed.netloc:
        return url
    return parsed._replace(netloc=parsed.netloc.rpartition("@")[2]).geturl()


def _with_scheme(url: str) -> str | None:
    """``https://`` + ``url`` when ``url`` reads as a web address without its scheme
    (``example.com/v.mp4``, ``localhost:8000/v``, ``//cdn.example.com/v``), else None."""
    if "://" in url or any(c.isspace() for c in url):
        return None
    candidate = "https://" + url.lstrip("/")
    netloc = urlparse(candidate).netloc
    host = netloc.rsplit(":", 1)[0]  # without the port
    return candidate if "@" not in netloc and _HOST.fullmatch(host) else None


@dataclass(frozen=True)
class Network:
    """How patient draftcast is with a server: a read that waits longer than the timeout
    fails, and a failed request or an interrupted download (resumed where the server
    allows ranges) is tried again after each delay in turn, then given up."""

    timeout_seconds: float = 30  # a socket silent this long fails (yt-dlp's socket_timeout)
    retry_delays: tuple[float, ...] = NETWORK_RETRY_DELAYS  # seconds; () : no retries

    def delay(self, retry: int) -> float:
        """Seconds to wait before retry ``retry`` (0 for the first, as yt-dlp counts in its
        ``retry_sleep_functions``); the last delay repeats, and there is none without delays."""
        return self.retry_delays[min(retry, len(self.retry_delays) - 1)] if self.retry_delays else 0


@dataclass(frozen=True)
class Limits:
    """What draftcast refuses to download (before downloading it)."""

    max_duration_seconds: float = 6 * 3600  # by the duration the site declares
    max_download_bytes: int = 4 * 1024**3  # by the declared size; else yt-dlp's max_filesize stops it


def check_limits(video: VideoInfo, limits: Limits) -> None:
    """Refuse media over the limits by what the site declares, before any download. Media
    that declares no duration or size passes (the download stops at ``max_download_bytes``).

    Raises:
        SourceError: ``video.duration`` (seconds) is over ``limits.max_duration_seconds``, or
            ``video.size_bytes`` over ``limits.max_download_bytes``.
    """
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


def parse_chapters(text: str) -> tuple[Chapter, ...]:
    """The chapters of a Podcasting 2.0 JSON chapters file, ``{"version": "1.2.0",
    "chapters": [{"startTime": s, "title": str, "endTime": s, "toc": bool}]}``, by start
    time. Chapters with ``"toc": false`` are silent markers, not headings, and are left out,
    as are chapters without a title. The shape and the ``toc`` rule are the Podcasting 2.0
    namespace's "JSON Chapters Format" (version 1.2); times are seconds from the start of
    the episode.

    Raises:
        ValueError: the text is not JSON of that shape (``source.fetch_chapters`` makes it a
            SourceError).
    """
    try:
        chapters = [
            Chapter(
                float(c["startTime"]), float(c["endTime"]) if c.get("endTime") is not None else None, clean_text(title)
            )
            for c in json.loads(text)["chapters"]
            if isinstance(c, dict)
            and c.get("toc", True) is not False
            and (title := clean_text(c.get("title") or "").strip())
        ]
    except (ValueError, TypeError, KeyError) as exc:
        raise ValueError(f"not a JSON chapters file ({type(exc).__name__}: {exc})") from exc
    return tuple(sorted(chapters, key=lambda chapter: chapter.start))


# What a feed knows better than the media file. "id" is the episode's identity in its feed
# (polling gives its ledger key): two episodes that share one media file, or a rerun of an
# old episode under a new title, stay two drafts.
METADATA_OVERRIDES = ("id", "title", "description", "upload_date", "uploader", "webpage_url")
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
    (PODCAST_OVERRIDES). Empty values change nothing. The media is still fetched from
    where it was (``fetch_url`` is set to ``video.media_url``), whatever page is given; a
    publisher's transcript goes first among ``subtitles``.

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
