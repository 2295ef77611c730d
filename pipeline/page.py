"""A web page's own metadata, as the page states it: its title, Open Graph and ``<meta>``
tags, and schema.org JSON-LD.

yt-dlp's generic extractors keep little of it (a page with one ``<video>`` comes back as
"Title (1)", with no site or author); pipeline/source.py fetches such a page and reads it
here. Plain parsing with lxml: no network, no yt-dlp.
"""

from __future__ import annotations

import codecs
import html
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import lxml.etree
import lxml.html

from pipeline.video import clean_text

# schema.org types that describe the recording itself; other nodes (WebSite,
# Organization, BreadcrumbList) describe the site, and are read only when these say nothing.
MEDIA_TYPES = {"VideoObject", "AudioObject", "PodcastEpisode", "Episode", "MediaObject", "Clip"}
_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)


@dataclass(frozen=True)
class PageMetadata:
    """What a page says of itself; '' where it says nothing. Entities are decoded, and
    text is trimmed (titles also have their inner whitespace collapsed, as browsers show them)."""

    title: str = ""  # og:title, else <title>
    description: str = ""  # og:description, else <meta name="description">, else JSON-LD's
    site_name: str = ""  # og:site_name
    author: str = ""  # <meta name="author"> or article:author (not a URL), else JSON-LD's author names

    @property
    def speaker(self) -> str:
        """Who the page is by, when the site gives no uploader: the site's name, else the author."""
        return self.site_name or self.author


def read_page(data: bytes, content_type: str = "") -> PageMetadata:
    """The metadata in the HTML ``data``, decoded by the charset of ``content_type`` (the
    HTTP header), else the page's ``<meta charset>``, else UTF-8."""
    text = data.decode(_encoding(data, content_type), errors="replace")
    try:
        document = lxml.html.document_fromstring(text.encode("utf-8"), parser=lxml.html.HTMLParser(encoding="utf-8"))
    except (lxml.etree.ParserError, ValueError):  # an empty page
        return PageMetadata()
    metas: dict[str, str] = {}
    for meta in document.iter("meta"):
        key = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").strip().lower()
        content = clean_text(meta.get("content") or "").strip()
        if key and content and key not in metas:  # the first of each, as yt-dlp reads them
            metas[key] = content
    nodes = sorted(_json_ld_nodes(document), key=lambda node: not _is_media(node))  # stable: page order kept
    authors = [metas.get("author", ""), metas.get("article:author", "")]
    return PageMetadata(
        title=_one_line(metas.get("og:title") or document.findtext(".//title") or ""),
        description=metas.get("og:description") or metas.get("description") or _first(nodes, "description"),
        site_name=metas.get("og:site_name", ""),
        author=next((a for a in authors if a and not _is_url(a)), "") or _first(nodes, "author"),
    )


def _encoding(data: bytes, content_type: str) -> str:
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    declared = re.search(r"charset\s*=\s*[\"']?([\w.:-]+)", content_type, re.I)
    sniffed = _CHARSET.search(data[:4096])
    for name in (declared.group(1) if declared else "", sniffed.group(1).decode("ascii") if sniffed else ""):
        if name:
            try:
                return codecs.lookup(name).name
            except LookupError:  # a charset Python does not know: the next guess
                pass
    return "utf-8"


def _one_line(text: str) -> str:
    return " ".join(clean_text(text).split())


def _is_url(text: str) -> bool:
    return bool(re.match(r"(?i)https?://", text))


def _is_media(node: dict[str, Any]) -> bool:
    kinds = node.get("@type")
    return bool(set(kinds if isinstance(kinds, list) else [kinds]) & MEDIA_TYPES)


def _json_ld_nodes(document: Any) -> Iterator[dict[str, Any]]:
    """Every JSON-LD object on the page, in page order (lists and ``@graph`` unfolded); a
    script that is not JSON is skipped, as browsers and search engines skip it."""
    for script in document.iter("script"):
        if (script.get("type") or "").strip().lower() != "application/ld+json":
            continue
        try:
            data = json.loads(script.text or "", strict=False)  # raw newlines in strings are common
        except ValueError:
            continue
        pending = [data]
        while pending:
            item = pending.pop(0)
            if isinstance(item, list):
                pending[:0] = item
            elif isinstance(item, dict):
                yield item
                if isinstance(item.get("@graph"), list):
                    pending[:0] = item["@graph"]


def _first(nodes: list[dict[str, Any]], field: str) -> str:
    """The first non-empty ``field`` of ``nodes``: a text, or for people and
    organisations their names, joined by ', '."""
    for node in nodes:
        value = node.get(field)
        items = value if isinstance(value, list) else [value]
        names = [item.get("name") if isinstance(item, dict) else item for item in items]
        texts = [clean_text(html.unescape(n)).strip() for n in names if isinstance(n, str) and not _is_url(n)]
        text = ", ".join(t for t in texts if t)
        if text:
            return text
    return ""
