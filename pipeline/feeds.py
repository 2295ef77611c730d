"""What a channel, feed or playlist has published: entries to poll, newest first.

- YouTube channels (``/@handle``, ``/channel/ID``, ``…/videos``): the channel's Atom feed
  (``/feeds/videos.xml?channel_id=…``, which yt-dlp does not read) is the cheap check. It
  holds only the 15 newest videos, so when none of them is known yet a backstop listing
  of the channel's videos tab (yt-dlp, flat) runs until the first known video.
- RSS and Atom feeds (podcasts with enclosures, YouTube's own format) are read by
  feedparser, which has met feeds from the wild for twenty years: its loose parser reads
  what is not well-formed XML, it knows the namespaces' many spellings and the dates'
  many forms (a ``dateutil`` handler is added for ``Aug 15, 2019``-style dates).
- Anything else yt-dlp lists as a playlist, flat.

What identifies an episode (``FeedEntry.key``), so it is launched once:

- a YouTube video: ``youtube:<video id>``;
- a feed entry: a hash of the feed's URL, the entry's guid (else its ``<link>``) and the
  location of its media: the enclosure's host and path, without query or fragment, where
  CDNs put the tracking and signing tokens that change on every fetch. Publishers reuse
  guids, so the guid alone is not enough; two items that still collide (the same guid or
  link and the same media path) are told apart by their titles, the oldest keeping the plain key;
- an entry with none of those: its title and date.

Relative URLs (``<enclosure url="/ep1.mp3">``, ``xml:base``) are resolved against the URL
the feed was fetched from. Documents that declare XML entities are refused before parsing:
feeds have no use for them, and they are how billion-laughs and external-entity attacks work.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import io
import logging
import re
import urllib.error
import urllib.request
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qs, urljoin, urlparse

import defusedxml.ElementTree as SafeXML
import feedparser
from dateutil import parser as dateutil_parser
from defusedxml import DefusedXmlException
from inscriptis import get_text

from pipeline import source
from pipeline.errors import SourceError, SourceUnavailable
from pipeline.video import GENERIC_EXTRACTORS, check_url

log = logging.getLogger(__name__)

FEED_TIMEOUT_SECONDS = 30
MAX_FEED_BYTES = 20 * 1024 * 1024
BACKSTOP_LIMIT = 200  # videos listed at most when the feed's 15 are all new
USER_AGENT = "draftcast (feed poller)"

# The podcast namespace (Podcasting 2.0), under its current and its first URI.
PODCAST_NAMESPACES = (
    "https://podcastindex.org/namespace/1.0",
    "https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/1.0.md",
)
# Publisher transcripts, most useful first: timed cues, timed JSON, then text alone.
TRANSCRIPT_TYPES = (
    "text/vtt",
    "application/x-subrip",
    "application/srt",
    "text/srt",
    "application/json",
    "text/html",
    "text/plain",
)
_MEDIA_TYPES = ("audio/", "video/")
_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".svg")
_YOUTUBE_HOSTS = ("youtube.com", "www.youtube.com", "m.youtube.com")
_YOUTUBE_CHANNEL_ID = re.compile(r"/channel/(UC[A-Za-z0-9_-]{22})")
_ROOT_ELEMENT = re.compile(rb"<[A-Za-z]")
_COMMENTS_AND_CDATA = re.compile(rb"<!--.*?-->|<!\[CDATA\[.*?\]\]>", re.S)
_DECLARED_ENCODING = re.compile(rb"^(<\?xml[^>]*?encoding\s*=\s*[\"'])[^\"']*", re.I)
_FEED_ROOT = re.compile(rb"<(?:rss|feed|rdf:RDF)[\s>]", re.I)
_HTML_TAG = re.compile(r"</?[A-Za-z][^>]*>")
_YEAR = re.compile(r"(?<!\d)(1[89]|2\d)\d\d(?!\d)")
# The iTunes namespace as feeds spell it: https, Apple's host, any case. feedparser knows the
# canonical URI; it reads the others only when their prefix happens to be "itunes".
ITUNES_NAMESPACE = b"http://www.itunes.com/dtds/podcast-1.0.dtd"
_ITUNES_SPELLINGS = re.compile(
    rb"(xmlns:[\w.-]+\s*=\s*[\"'])https?://(?:www\.)?itunes(?:\.apple)?\.com/dtds/podcast-1\.0\.dtd/?(?=[\"'])", re.I
)


@dataclass(frozen=True)
class PublisherTranscript:
    """A ``<podcast:transcript>``: the publisher's own text of an episode."""

    url: str  # absolute
    type: str  # MIME type as the feed gives it ("text/vtt", "application/json", …)
    language: str  # BCP 47, '' when neither the element nor the feed says


@dataclass(frozen=True)
class FeedEntry:
    """One video or episode as a channel lists it."""

    key: str  # stable identity for the ledger ("youtube:<id>", "feed:<hash>", "<extractor>:<id>")
    url: str  # what ingest fetches: the video page, or a podcast's enclosure
    title: str
    published: dt.datetime | None  # None: the feed gives no date draftcast can read
    page_url: str = ""  # the episode's web page when ``url`` is an enclosure
    description: str = ""  # plain text: tags gone, paragraphs as line breaks
    uploader: str = ""  # itunes:author or the author, else the channel's name
    live_status: str = ""  # yt-dlp's: is_live, is_upcoming, post_live, was_live, not_live
    duration: float | None = None  # seconds
    enclosure: bool = False  # ``url`` is a media file, whose own metadata is only its file name
    aliases: tuple[str, ...] = ()  # keys earlier versions of draftcast gave this entry
    transcript: PublisherTranscript | None = None
    chapters_url: str = ""  # Podcasting 2.0 JSON chapters

    @property
    def keys(self) -> tuple[str, ...]:
        """Every key this entry may be known by in the ledger."""
        return (self.key, *self.aliases)


@dataclass(frozen=True)
class Listing:
    """What one listing of a channel found."""

    entries: tuple[FeedEntry, ...]  # newest first
    channel_id: str = ""  # a YouTube channel's id, worth remembering between polls


@dataclass(frozen=True)
class Document:
    """A fetched document: its bytes, the URL it came from (after redirects) and its type."""

    body: bytes
    url: str
    content_type: str = ""


Fetch = Callable[[str], Document]  # URL → document; the network, or a stand-in for benchmarks


def fetch_url(url: str) -> Document:
    """A feed document over HTTP(S), bounded in time (FEED_TIMEOUT_SECONDS, 30 s) and size
    (MAX_FEED_BYTES, 20 MiB). Redirects are followed; the document says where it ended.

    Raises:
        SourceUnavailable: refused, timed out, HTTP 5xx or 429 (worth retrying), or any other
            failure to connect or read.
        SourceError: any other HTTP error, a document over ``MAX_FEED_BYTES``, or a URL that
            is not http(s).
    """
    check_url(url)
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=FEED_TIMEOUT_SECONDS) as response:
            body = response.read(MAX_FEED_BYTES + 1)
            final_url, content_type = response.geturl(), response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as exc:
        if exc.code >= 500 or exc.code == 429:
            raise SourceUnavailable(f"{url}: the server answered HTTP {exc.code}; try again later") from exc
        raise SourceError(f"{url}: the server answered HTTP {exc.code}; check the feed's address") from exc
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise SourceUnavailable(f"{url}: cannot fetch the feed ({reason})") from exc
    if len(body) > MAX_FEED_BYTES:
        raise SourceError(f"{url}: the feed is larger than {MAX_FEED_BYTES // 2**20} MB")
    return Document(body, final_url, content_type)


def plain_text(value: str) -> str:
    """Show notes as plain text: tags dropped, paragraphs and line breaks kept as line
    breaks, entities decoded, no-break spaces made plain. Text without tags keeps its lines."""
    text = get_text(value) if _HTML_TAG.search(value) else html.unescape(value)
    text = re.sub(r"[ \t]+\n", "\n", text.replace("\xa0", " ").replace("\r\n", "\n"))
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def parse_date(value: str) -> dt.datetime | None:
    """A date in a form feedparser's handlers miss ("Aug 15, 2019"), read by dateutil;
    None for text with no four-digit year (dateutil would fill in this year) or no date."""
    if not _YEAR.search(value):
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # an unknown zone name: read as UTC below
            parsed = dateutil_parser.parse(value)
    except (ValueError, OverflowError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _published(entry: Any) -> dt.datetime | None:
    for name in ("published", "updated"):
        parsed = entry.get(f"{name}_parsed")
        if parsed:
            return dt.datetime(*parsed[:6], tzinfo=dt.UTC)
    for name in ("published", "updated"):
        if entry.get(name) and (moment := parse_date(str(entry[name]))):
            return moment.astimezone(dt.UTC)
    return None


def _duration(value: str) -> float | None:
    """itunes:duration: seconds, MM:SS or HH:MM:SS."""
    try:
        seconds = 0.0
        for part in value.split(":"):
            seconds = seconds * 60 + float(part)
        return seconds if value else None
    except ValueError:
        return None


def _hash_key(*parts: str) -> str:
    return "feed:" + hashlib.sha256("\n".join(parts).encode()).hexdigest()[:20]


def _location(url: str) -> str:
    """Host and path of a media URL: what stays when a CDN signs or tracks it anew."""
    parts = urlparse(url)
    return f"{parts.netloc.lower()}{parts.path}"


def _refuse_entities(body: bytes, feed_url: str) -> None:
    """Refuse a document that declares entities in its DTD (comments and CDATA, where a
    tag or the word may appear as text, do not count)."""
    markup = _COMMENTS_AND_CDATA.sub(b"", body)
    root = _ROOT_ELEMENT.search(markup)
    prolog = markup[: root.start()] if root else markup
    if b"<!ENTITY" in prolog:
        raise SourceError(
            f"{feed_url}: the feed declares XML entities, which feeds have no use for "
            "(and which billion-laughs and external-entity attacks use); refused"
        )


def _media_link(entry: Any) -> tuple[str, str]:
    """The enclosure to download and its length: audio or video, never the cover image."""
    links = [link for link in entry.get("links", ()) if link.get("rel") == "enclosure" and link.get("href")]
    links += [{"href": m["url"], "type": m.get("type", "")} for m in entry.get("media_content", ()) if m.get("url")]
    typed = [link for link in links if str(link.get("type", "")).startswith(_MEDIA_TYPES)]
    # An enclosure without a type: feedparser calls an Atom link without one text/html.
    untyped = [
        link
        for link in links
        if link.get("type", "") in ("", "text/html")
        and not urlparse(link["href"]).path.lower().endswith(_IMAGE_SUFFIXES)
    ]
    chosen = (typed or untyped or [{}])[0]
    return str(chosen.get("href", "")).strip(), str(chosen.get("length", ""))


def _page_link(entry: Any) -> str:
    """The entry's web page: an html ``alternate`` link, never a guid taken for a link."""
    for link in entry.get("links", ()):
        html_type = link.get("type", "text/html") in ("text/html", "application/xhtml+xml", "")
        if link.get("rel", "alternate") == "alternate" and link.get("href") and html_type:
            return str(link["href"]).strip()
    return ""


def _show_notes(entry: Any) -> str:
    """The fullest of the entry's texts (content:encoded, description, itunes:summary), as
    plain text whatever type the feed declares (Atom's xhtml content comes as markup)."""
    candidates = [plain_text(c.get("value", "")) for c in entry.get("content", ())]
    if entry.get("summary"):
        candidates.append(plain_text(entry["summary"]))
    return max(candidates, key=len, default="")


def _language_matches(first: str, second: str) -> bool:
    return not first or not second or first.lower().split("-")[0] == second.lower().split("-")[0]


def choose_transcript(candidates: Iterable[dict[str, str]], language: str, base: str) -> PublisherTranscript | None:
    """The publisher transcript to use: in the episode's ``language`` (or with none said),
    of the most useful type (``TRANSCRIPT_TYPES``); None when none fits.

    ``candidates``: the attributes of an item's ``<podcast:transcript>`` elements (url,
    type, language); ``language``: the feed's; ``base``: the URL relative ones resolve
    against. A transcript that names no language is given ``language``."""
    fitting = []
    for attributes in candidates:
        kind = attributes.get("type", "").split(";")[0].strip().lower()
        said = attributes.get("language", "").strip()
        if attributes.get("url") and kind in TRANSCRIPT_TYPES and _language_matches(said, language):
            fitting.append(PublisherTranscript(urljoin(base, attributes["url"].strip()), kind, said or language))
    fitting.sort(key=lambda t: TRANSCRIPT_TYPES.index(t.type))
    return fitting[0] if fitting else None


def _podcast_elements(body: bytes) -> list[list[tuple[str, dict[str, str]]]] | None:
    """Each item's podcast-namespace elements, (name, attributes), in document order, read
    by namespace URI. feedparser keeps only the last of an item's transcripts (publishers
    list one per format and language) and knows the namespace only by its usual prefix."""
    try:
        root = SafeXML.fromstring(body)
    except (SafeXML.ParseError, DefusedXmlException, ValueError):
        return None  # not well-formed: feedparser's loose parser read it, and what it found serves
    names = {f"{{{namespace}}}{name}": name for namespace in PODCAST_NAMESPACES for name in ("transcript", "chapters")}
    items = [element for element in root.iter() if str(element.tag).rsplit("}", 1)[-1] in ("item", "entry")]
    return [[(names[child.tag], dict(child.attrib)) for child in item if child.tag in names] for item in items]


def parse_feed(body: bytes, feed_url: str, *, base_url: str = "") -> tuple[FeedEntry, ...]:
    """Entries of an RSS or Atom document (YouTube's channel feeds included), newest first
    as the feed lists them. ``feed_url`` is the feed's address as configured: part of each
    entry's key, so a feed that redirects to an address signed anew does not make its
    episodes new. ``base_url`` is where it was fetched from (after redirects; default
    ``feed_url``): the base of its relative URLs.

    Raises:
        SourceError: the document is not a feed, or declares XML entities.
    """
    base = base_url or feed_url
    body = _utf8(body)
    if body[:1].isspace() and body.lstrip().startswith(b"<?xml"):
        body = body.lstrip()  # "XML declaration not at start": a blank line a CMS put there
    _refuse_entities(body, feed_url)
    body = _ITUNES_SPELLINGS.sub(lambda match: match.group(1) + ITUNES_NAMESPACE, body)
    # A stream, never bytes: feedparser takes bytes that name a file for a path to open.
    # The feed's URL as Content-Location: the base of its relative URLs and of its xml:base.
    headers = {"content-location": base}
    parsed = feedparser.parse(io.BytesIO(body), response_headers=headers, sanitize_html=True)
    if not parsed.version and not parsed.entries:
        reason = f" ({parsed.bozo_exception})" if parsed.get("bozo_exception") else ""
        raise SourceError(f"{feed_url}: not an RSS or Atom feed{reason}")
    feed = parsed.feed
    channel_name = str(feed.get("author_detail", {}).get("name") or feed.get("author") or feed.get("title") or "")
    language = str(feed.get("language") or "")
    podcast = _podcast_elements(body) if b"podcast" in body or b"podcastindex" in body else None
    if podcast is not None and len(podcast) != len(parsed.entries):
        podcast = None
    entries = [
        _entry(
            item, feed_url, base, channel_name=channel_name, language=language, podcast=podcast[n] if podcast else None
        )
        for n, item in enumerate(parsed.entries)
    ]
    return _distinct(entries)


def _utf8(body: bytes) -> bytes:
    """The document in UTF-8, its declaration saying so. A UTF-16 feed (a BOM, or the
    zero bytes of '<?' at the start) is decoded here, so that the checks before parsing
    read it as text."""
    body = body.removeprefix(b"\xef\xbb\xbf")
    if body[:2] in (b"\xff\xfe", b"\xfe\xff") or body[:4] in (b"<\x00?\x00", b"\x00<\x00?"):
        encoding = (
            "utf-16" if body[:2] in (b"\xff\xfe", b"\xfe\xff") else ("utf-16-le" if body[:1] == b"<" else "utf-16-be")
        )
        body = body.decode(encoding, errors="replace").encode("utf-8").removeprefix(b"\xef\xbb\xbf")
        body = _DECLARED_ENCODING.sub(lambda match: match.group(1) + b"utf-8", body.lstrip())
    return body


def _entry(
    item: Any,
    feed_url: str,
    base: str,
    *,
    channel_name: str,
    language: str,
    podcast: list[tuple[str, dict[str, str]]] | None,
) -> FeedEntry:
    media, _ = _media_link(item)
    page = _page_link(item)
    guid = str(item.get("id") or "").strip()
    video_id = str(item.get("yt_videoid") or "")
    title = plain_text(str(item.get("title") or ""))
    published = _published(item)
    if video_id:
        key = f"youtube:{video_id}"
    elif guid or page or media:
        key = _hash_key(feed_url, guid or page, _location(media) if media else "")
    else:
        key = _hash_key(feed_url, title, published.isoformat() if published else "")
    legacy = _hash_key(feed_url, guid or media or page)  # draftcast before feedparser
    author = item.get("author_detail", {}).get("name") or item.get("author") or channel_name
    if podcast is not None:
        transcripts = [attributes for name, attributes in podcast if name == "transcript"]
        chapters = next((a.get("url", "") for name, a in podcast if name == "chapters"), "").strip()
    else:  # feedparser's, by prefix: the last of each
        transcripts = [item["podcast_transcript"]] if "podcast_transcript" in item else []
        chapters = str(item.get("podcast_chapters", {}).get("url") or "").strip()
    return FeedEntry(
        key=key,
        url=urljoin(base, media or page),
        title=title,
        published=published,
        page_url=urljoin(base, page) if media and page else "",
        description=_show_notes(item),
        uploader=str(author or "").strip(),
        duration=_duration(str(item.get("itunes_duration") or "").strip()),
        enclosure=bool(media),
        aliases=(legacy,) if legacy != key and not video_id else (),
        transcript=choose_transcript(transcripts, language, base) if media else None,
        chapters_url=urljoin(base, chapters) if chapters and media else "",
    )


def _distinct(entries: list[FeedEntry]) -> tuple[FeedEntry, ...]:
    """One entry per key. Items that share a guid and a media path (publishers reuse
    guids) are told apart by title: the oldest keeps the plain key, so that an episode
    known before keeps its identity when a later one copies its guid."""
    oldest_first = sorted(
        range(len(entries)), key=lambda n: (entries[n].published or dt.datetime.max.replace(tzinfo=dt.UTC), -n)
    )
    taken: dict[str, FeedEntry] = {}
    keys: dict[int, str] = {}
    for n in oldest_first:
        entry = entries[n]
        key = entry.key
        if key in taken and taken[key].title != entry.title:
            key = _hash_key(entry.key, entry.title)
        if key not in taken:
            taken[key] = entry
            keys[n] = key
    return tuple(replace(entries[n], key=keys[n]) for n in range(len(entries)) if n in keys)


def youtube_channel_id(url: str) -> str | None:
    """The channel id in a /channel/ID URL, without asking the network."""
    match = _YOUTUBE_CHANNEL_ID.search(urlparse(url).path)
    return match.group(1) if match else None


def is_youtube_channel(url: str) -> bool:
    """Whether ``url`` is a YouTube channel's page (``/@handle``, ``/channel/ID``, ``/c/…``,
    ``/user/…``), not a playlist (no ``list=``)."""
    parsed = urlparse(url)
    path = parsed.path
    return parsed.netloc.lower() in _YOUTUBE_HOSTS and (
        path.startswith(("/@", "/channel/", "/c/", "/user/")) and "list" not in parse_qs(parsed.query)
    )


def youtube_feed_url(channel_id: str) -> str:
    """The Atom feed of a YouTube channel's 15 newest videos."""
    return f"https://www.youtube.com/feeds/videos.xml?channel_id={channel_id}"


def flat_listing(url: str, *, limit: int = BACKSTOP_LIMIT) -> tuple[tuple[FeedEntry, ...], dict[str, Any]]:
    """A playlist or channel tab listed by yt-dlp without resolving each video: its
    entries (at most ``limit``, in the site's order), and yt-dlp's answer (which holds a
    channel's id). An entry's key is ``<extractor>:<id>``, or a hash of ``url`` and its URL
    for a generic page, whose ids are only file names.

    Raises:
        SourceError: yt-dlp cannot list ``url`` (``SourceUnavailable`` when worth retrying):
            as ``source.list_flat``, whose ``NotReady`` passes too.
    """
    info = source.list_flat(url, limit=limit)
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
                    if extractor and item_id and extractor not in GENERIC_EXTRACTORS
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
        if any(known(key) for key in entry.keys):
            break
        result.append(entry)
    return tuple(result)


def _looks_like_feed(document: Document) -> bool:
    """An RSS, RDF or Atom root element near the start, or a feed's content type. A web
    page (even XHTML) is not: yt-dlp lists what it embeds."""
    kind = document.content_type.lower()
    return bool(_FEED_ROOT.search(_utf8(document.body[:65536]))) or "rss" in kind or "atom" in kind


def list_channel(
    url: str, *, known: Callable[[str], bool], polled_before: bool, channel_id: str = "", fetch: Fetch = fetch_url
) -> Listing:
    """What ``url`` has published, newest first. ``known`` tells keys seen before;
    ``polled_before`` says whether a full page of unknown entries may hide more.

    ``channel_id``: a YouTube channel's id learnt on an earlier poll ('' : taken from the
    URL, or learnt by listing the channel's videos tab, and returned in the ``Listing``).
    ``fetch``: how documents are fetched (``fetch_url``; a stand-in in bench/poll.py). A
    YouTube channel is read from its Atom feed; another URL whose document is a feed is
    parsed; anything else is listed by yt-dlp.

    Raises:
        SourceError: the channel cannot be read (``SourceUnavailable`` when worth retrying):
            as ``fetch_url``, ``parse_feed`` and ``flat_listing``.
    """
    if is_youtube_channel(url):
        return _list_youtube_channel(url, known=known, polled_before=polled_before, channel_id=channel_id, fetch=fetch)
    document = fetch(url)
    if _looks_like_feed(document):
        return Listing(parse_feed(document.body, url, base_url=document.url))
    entries, _ = flat_listing(url)  # a web page or a playlist: yt-dlp lists what it holds
    return Listing(entries)


def _list_youtube_channel(
    url: str, *, known: Callable[[str], bool], polled_before: bool, channel_id: str, fetch: Fetch
) -> Listing:
    channel_id = channel_id or youtube_channel_id(url) or ""
    tab = re.sub(r"/(videos|featured|streams|shorts)/?$", "", url.rstrip("/")) + "/videos"
    if not channel_id:  # a handle: one flat request tells the id, and lists the videos too
        entries, info = flat_listing(tab)
        return Listing(entries, str(info.get("channel_id") or ""))
    document = fetch(youtube_feed_url(channel_id))
    feed = parse_feed(document.body, url, base_url=document.url)
    if polled_before and feed and not any(known(entry.key) for entry in feed):
        log.info("%s: all %d feed entries are new; listing the channel up to a known video", url, len(feed))
        backstop, _ = flat_listing(tab)
        seen = {entry.key for entry in feed}
        feed += tuple(entry for entry in until_known(backstop, known) if entry.key not in seen)
    return Listing(feed, channel_id)
