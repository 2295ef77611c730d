"""What a channel, feed or playlist has published: entries to poll, newest first.

- YouTube channels (``/@handle``, ``/channel/ID``, ``…/videos``): the channel's Atom feed
  (``/feeds/videos.xml?channel_id=…``, which yt-dlp does not read) is the cheap check. It
  holds only the 15 newest videos, so when none of them is known yet a backstop listing
  of the channel's videos tab (yt-dlp, flat) runs until the first known video.
- RSS 2.0 and Atom feeds (podcasts with enclosures, YouTube's own format).
- Anything else yt-dlp lists as a playlist, flat.

XML is parsed with defusedxml: no entity expansion, no external entities, no DTDs.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import logging
import re
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlparse

import defusedxml.ElementTree as SafeXML
import yt_dlp
from defusedxml import DefusedXmlException
from yt_dlp.utils import DownloadError, ExtractorError

from pipeline import source
from pipeline.errors import SourceError, SourceUnavailable

log = logging.getLogger(__name__)

FEED_TIMEOUT_SECONDS = 30
MAX_FEED_BYTES = 20 * 1024 * 1024
BACKSTOP_LIMIT = 200  # videos listed at most when the feed's 15 are all new
USER_AGENT = "draftcast (feed poller)"

_NS = {
    "atom": "http://www.w3.org/2005/Atom",
    "yt": "http://www.youtube.com/xml/schemas/2015",
    "media": "http://search.yahoo.com/mrss/",
    "itunes": "http://www.itunes.com/dtds/podcast-1.0.dtd",
}
_YOUTUBE_HOSTS = ("youtube.com", "www.youtube.com", "m.youtube.com")
_YOUTUBE_CHANNEL_ID = re.compile(r"/channel/(UC[A-Za-z0-9_-]{22})")

Fetch = Callable[[str], bytes]  # URL → body; the network, or a stand-in for benchmarks


@dataclass(frozen=True)
class FeedEntry:
    key: str  # stable identity for the ledger ("youtube:<id>", "feed:<hash>", "<extractor>:<id>")
    url: str  # what ingest fetches: the video page, or a podcast's enclosure
    title: str
    published: dt.datetime | None
    page_url: str = ""  # the episode's web page when ``url`` is a bare media file
    description: str = ""
    uploader: str = ""
    live_status: str = ""  # yt-dlp's: is_live, is_upcoming, post_live, was_live, not_live
    duration: float | None = None


@dataclass(frozen=True)
class Listing:
    entries: tuple[FeedEntry, ...]
    channel_id: str = ""  # a YouTube channel's id, worth remembering between polls


def fetch_url(url: str) -> bytes:
    """A feed document over HTTP(S), bounded in time and size."""
    source.check_url(url)
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=FEED_TIMEOUT_SECONDS) as response:
            body = response.read(MAX_FEED_BYTES + 1)
    except urllib.error.HTTPError as exc:
        if exc.code >= 500 or exc.code == 429:
            raise SourceUnavailable(f"{url}: the server answered HTTP {exc.code}; try again later") from exc
        raise SourceError(f"{url}: the server answered HTTP {exc.code}; check the feed's address") from exc
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise SourceUnavailable(f"{url}: cannot fetch the feed ({reason})") from exc
    if len(body) > MAX_FEED_BYTES:
        raise SourceError(f"{url}: the feed is larger than {MAX_FEED_BYTES // 2**20} MB")
    return body


def _text(element: Any, path: str) -> str:
    found = element.find(path, _NS)
    return (found.text or "").strip() if found is not None else ""


def _date(value: str) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = email.utils.parsedate_to_datetime(value)  # RSS: RFC 822 dates
        except (TypeError, ValueError):
            return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _hash_key(*parts: str) -> str:
    return "feed:" + hashlib.sha256("\n".join(parts).encode()).hexdigest()[:20]


def _duration(value: str) -> float | None:
    """itunes:duration: seconds, MM:SS or HH:MM:SS."""
    try:
        seconds = 0.0
        for part in value.split(":"):
            seconds = seconds * 60 + float(part)
        return seconds if value else None
    except ValueError:
        return None


def parse_feed(body: bytes, feed_url: str) -> tuple[FeedEntry, ...]:
    """Entries of an RSS 2.0 or Atom document (YouTube's channel feeds included)."""
    try:
        root = SafeXML.fromstring(body, forbid_dtd=True)
    except (SafeXML.ParseError, DefusedXmlException) as exc:
        raise SourceError(f"{feed_url}: not a valid RSS or Atom feed ({exc})") from exc
    if root.tag == "rss":
        return tuple(_rss_entry(item, feed_url) for item in root.iterfind("channel/item"))
    if root.tag == f"{{{_NS['atom']}}}feed":
        feed_author = _text(root, "atom:author/atom:name") or _text(root, "atom:title")
        return tuple(_atom_entry(entry, feed_author) for entry in root.iterfind("atom:entry", _NS))
    raise SourceError(f"{feed_url}: not an RSS or Atom feed (root element <{root.tag}>)")


def _rss_entry(item: Any, feed_url: str) -> FeedEntry:
    enclosure = item.find("enclosure")
    media = enclosure.get("url", "").strip() if enclosure is not None else ""
    link = _text(item, "link")
    guid = _text(item, "guid") or media or link
    return FeedEntry(
        key=_hash_key(feed_url, guid),
        url=media or link,
        title=_text(item, "title"),
        published=_date(_text(item, "pubDate")),
        page_url=link if media else "",
        description=_text(item, "description") or _text(item, "itunes:summary"),
        uploader=_text(item, "itunes:author") or _text(item, "author"),
        duration=_duration(_text(item, "itunes:duration")),
    )


def _atom_entry(entry: Any, feed_author: str) -> FeedEntry:
    links = {link.get("rel", "alternate"): link.get("href", "") for link in entry.iterfind("atom:link", _NS)}
    video_id = _text(entry, "yt:videoId")
    page = links.get("alternate", "")
    media = links.get("enclosure", "")
    return FeedEntry(
        key=f"youtube:{video_id}" if video_id else _hash_key(_text(entry, "atom:id") or page or media),
        url=media or page,
        title=_text(entry, "atom:title"),
        published=_date(_text(entry, "atom:published") or _text(entry, "atom:updated")),
        page_url=page if media else "",
        description=_text(entry, "media:group/media:description") or _text(entry, "atom:summary"),
        uploader=_text(entry, "atom:author/atom:name") or feed_author,
    )


def youtube_channel_id(url: str) -> str | None:
    """The channel id in a /channel/ID URL, without asking the network."""
    match = _YOUTUBE_CHANNEL_ID.search(urlparse(url).path)
    return match.group(1) if match else None


def is_youtube_channel(url: str) -> bool:
    parsed = urlparse(url)
    path = parsed.path
    return parsed.netloc.lower() in _YOUTUBE_HOSTS and (
        path.startswith(("/@", "/channel/", "/c/", "/user/")) and "list" not in parse_qs(parsed.query)
    )


def youtube_feed_url(channel_id: str) -> str:
    return f"https://www.youtube.com/feeds/videos.xml?channel_id={channel_id}"


def _flat_options(limit: int) -> dict[str, Any]:
    return source._options(extract_flat="in_playlist", playlistend=limit, noplaylist=False, format=None)


def flat_listing(url: str, *, limit: int = BACKSTOP_LIMIT) -> tuple[tuple[FeedEntry, ...], dict[str, Any]]:
    """A playlist or channel tab listed by yt-dlp without resolving each video."""
    try:
        with yt_dlp.YoutubeDL(_flat_options(limit)) as ydl:
            info = ydl.extract_info(source.check_url(url), download=False) or {}
    except (DownloadError, ExtractorError) as exc:
        raise source._translate(url, exc) from exc
    entries = []
    for item in info.get("entries") or ():
        if not item:
            continue
        extractor = str(item.get("ie_key") or item.get("extractor_key") or "").lower()
        item_url = str(item.get("url") or item.get("webpage_url") or "")
        item_id = str(item.get("id") or "")
        timestamp = item.get("timestamp")
        entries.append(
            FeedEntry(
                key=(
                    f"{extractor}:{item_id}"
                    if extractor and item_id and extractor not in source.GENERIC_EXTRACTORS
                    else _hash_key(url, item_url)  # a generic page's ids are only file names
                ),
                url=item_url,
                title=str(item.get("title") or ""),
                published=dt.datetime.fromtimestamp(timestamp, dt.UTC) if isinstance(timestamp, int | float) else None,
                description=str(item.get("description") or ""),
                uploader=str(item.get("uploader") or item.get("channel") or info.get("uploader") or ""),
                live_status=str(item.get("live_status") or ""),
                duration=item.get("duration"),
            )
        )
    return tuple(entries), info


def until_known(entries: Iterable[FeedEntry], known: Callable[[str], bool]) -> tuple[FeedEntry, ...]:
    """Entries (newest first) up to, not including, the first one already known."""
    result = []
    for entry in entries:
        if known(entry.key):
            break
        result.append(entry)
    return tuple(result)


def list_channel(
    url: str, *, known: Callable[[str], bool], polled_before: bool, channel_id: str = "", fetch: Fetch = fetch_url
) -> Listing:
    """What ``url`` has published, newest first. ``known`` tells keys seen before;
    ``polled_before`` says whether a full page of unknown entries may hide more."""
    if is_youtube_channel(url):
        return _list_youtube_channel(url, known=known, polled_before=polled_before, channel_id=channel_id, fetch=fetch)
    body = fetch(url)
    if re.search(rb"<(rss|feed)[\s>]", body[:4096]):
        return Listing(parse_feed(body, url))
    entries, _ = flat_listing(url)
    return Listing(entries)


def _list_youtube_channel(
    url: str, *, known: Callable[[str], bool], polled_before: bool, channel_id: str, fetch: Fetch
) -> Listing:
    channel_id = channel_id or youtube_channel_id(url) or ""
    tab = re.sub(r"/(videos|featured|streams|shorts)/?$", "", url.rstrip("/")) + "/videos"
    if not channel_id:  # a handle: one flat request tells the id, and lists the videos too
        entries, info = flat_listing(tab)
        return Listing(entries, str(info.get("channel_id") or ""))
    feed = parse_feed(fetch(youtube_feed_url(channel_id)), url)
    if polled_before and feed and not any(known(entry.key) for entry in feed):
        log.info("%s: all %d feed entries are new; listing the channel up to a known video", url, len(feed))
        backstop, _ = flat_listing(tab)
        seen = {entry.key for entry in feed}
        feed += tuple(entry for entry in until_known(backstop, known) if entry.key not in seen)
    return Listing(feed, channel_id)
