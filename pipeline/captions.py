"""Subtitles and transcripts in and out: a publisher's transcript (Podcasting 2.0
``<podcast:transcript>``: WebVTT, SRT, JSON, HTML or plain text) or a video's own human-made
subtitles instead of whisper when they are in the wanted language, and sidecar files
(.srt, .vtt, .txt) of every transcript."""

from __future__ import annotations

import dataclasses
import html
import json
import re
from html.parser import HTMLParser
from pathlib import Path

from pipeline import cleanup, source
from pipeline.errors import SourceError
from pipeline.store import write_atomic
from pipeline.transcript import Segment, Transcript, write_sidecars
from pipeline.video import Network, SubtitleTrack, VideoInfo

ENGINE = "captions"  # a video's subtitles
PUBLISHER_ENGINE = "publisher"  # a podcast's own transcript (Transcript.provenance names both)
_TIMING = re.compile(r"(?:(\d+):)?(\d{1,2}):(\d{2})[.,](\d{3})\s*-->\s*(?:(\d+):)?(\d{1,2}):(\d{2})[.,](\d{3})")
_TAG = re.compile(r"<[^>]+>")
_VOICE = re.compile(r"<v(?:\.[^\s>]*)?\s+([^>]*)>")  # WebVTT voice span: <v Name>, <v.loud Name>
_CLOCK = re.compile(r"(?:(\d+):)?(\d{1,2}):(\d{2}(?:[.,]\d+)?)")  # H:MM:SS(.mmm) or M:SS
_ISO_DURATION = re.compile(r"PT?(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?", re.I)  # <time datetime="PT1M5S">


def _matches(track_language: str, wanted: str) -> bool:
    return track_language.lower().split("-")[0] == wanted.lower().split("-")[0]


def choose_track(video: VideoInfo, language: str | None, policy: str = "human") -> SubtitleTrack | None:
    """The text to use instead of whisper, or None. The publisher's transcript comes first:
    taken when its language matches the wanted one (the one asked for, else the one the site
    declares) or when either is unknown; a transcript that does not say is taken to be in
    the wanted language. Then the video's subtitles, human-made first, in the wanted
    language. With no language known, a video's only human-made track is taken as its own
    captions (translations come several at once). ``policy`` "off": always whisper.

    ``language``: the wanted language code (None: the one the site declares, if any).
    ``policy``: a ``CaptionPolicy`` value: "human" (people's subtitles only), "any"
    (automatic captions too) or "off"; the publisher's transcript is taken under both
    "human" and "any". A publisher's track without a language is returned with the
    wanted one."""
    if policy == "off":
        return None
    wanted = language or video.language
    for track in video.subtitles:
        if track.publisher and (not wanted or not track.language or _matches(track.language, wanted)):
            return track if track.language or not wanted else dataclasses.replace(track, language=wanted)
    site = [t for t in video.subtitles if not t.publisher]
    allowed = [t for t in site if policy == "any" or not t.automatic]
    if not wanted:
        human_languages = {t.language.split("-")[0] for t in site if not t.automatic}
        if len(human_languages) != 1:
            return None
        wanted = human_languages.pop()
    tracks = [t for t in allowed if _matches(t.language, wanted)]
    tracks.sort(key=lambda t: (t.automatic, t.ext != "vtt", t.ext != "srt"))
    return tracks[0] if tracks else None


def _seconds(hours: str | None, minutes: str, seconds: str, millis: str) -> float:
    return int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds) + int(millis) / 1000


def _words(text: str) -> str:
    return " ".join(text.split())


def _carried(segments: list[Segment]) -> list[Segment]:
    """Each segment with who speaks in it (Segment.speaker's meaning): sources often name a
    speaker only where their turn starts, so a segment without a name is the last one named."""
    result, current = [], ""
    for segment in segments:
        current = segment.speaker or current
        result.append(segment if segment.speaker == current else dataclasses.replace(segment, speaker=current))
    return result


def parse_subtitles(text: str) -> list[Segment]:
    """Cues of a WebVTT or SRT document: tags stripped, entities decoded, repeated rolling
    lines merged, WebVTT voice spans (``<v Name>``) kept as the speaker. Times in seconds;
    a cue without a voice span is the last speaker's. Text without cues gives []."""
    segments: list[Segment] = []
    for block in re.split(r"\n\s*\n", text.replace("\r\n", "\n").replace("\r", "\n")):
        lines = block.strip().split("\n")
        for index, line in enumerate(lines):
            match = _TIMING.search(line)
            if match:
                groups = match.groups()
                cue = " ".join(lines[index + 1 :])
                voice = _VOICE.search(cue)
                words = _words(html.unescape(_TAG.sub("", cue)))
                if words and not (segments and segments[-1].text == words):
                    speaker = _words(voice.group(1)) if voice else ""
                    segments.append(Segment(_seconds(*groups[:4]), _seconds(*groups[4:]), words, speaker=speaker))
                break
    return _carried(segments)


def parse_json_transcript(text: str) -> list[Segment]:
    """Segments of a Podcasting 2.0 JSON transcript, ``{"version": "1.0.0", "segments":
    [{"speaker": str, "startTime": s, "endTime": s, "body": str}]}``, in time order. Segments
    may be single words; paragraphs are made from them later. A missing end is the next start.
    The shape is the Podcasting 2.0 namespace's JSON transcript format; times in seconds.

    Raises:
        ValueError: the text is not JSON of that shape.
    """
    try:
        data = json.loads(text)
        raw = sorted(
            (
                (float(s["startTime"]), float(s.get("endTime") or -1), _words(str(s.get("body") or "")), s)
                for s in data["segments"]
                if isinstance(s, dict)
            ),
            key=lambda item: item[0],
        )
    except (ValueError, TypeError, KeyError) as exc:
        raise ValueError(f"not a JSON transcript ({type(exc).__name__}: {exc})") from exc
    raw = [item for item in raw if item[2]]
    segments = []
    for index, (start, end, body, item) in enumerate(raw):
        following = raw[index + 1][0] if index + 1 < len(raw) else start
        speaker = _words(str(item.get("speaker") or ""))
        segments.append(Segment(start, end if end >= start else max(start, following), body, speaker=speaker))
    return _carried(segments)


def _clock_seconds(text: str) -> float | None:
    """Seconds from "1:02:03.5", "02:03", or an ISO 8601 duration ("PT1M2S"); None if neither."""
    if match := _CLOCK.fullmatch(text.strip()):
        hours, minutes, seconds = match.groups()
        return int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds.replace(",", "."))
    if (match := _ISO_DURATION.fullmatch(text.strip())) and any(match.groups()):
        hours, minutes, seconds = match.groups()
        return int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(seconds or 0)
    return None


_HTML_BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article", "blockquote"}


class _HtmlTranscript(HTMLParser):
    """The Podcasting 2.0 HTML transcript: ``<cite>`` names the speaker of the paragraphs
    that follow, ``<time>`` gives the start of the next (or its own) ``<p>``, which holds
    the words. Also keeps all text, with breaks at block ends, for HTML without ``<p>``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.paragraphs: list[tuple[str, float | None, str]] = []  # speaker, start (None: not given), text
        self.loose: list[str] = []
        self._open: list[str] = []  # cite, time, p, script, style
        self._text: dict[str, list[str]] = {"cite": [], "time": [], "p": []}
        self._datetime = ""
        self._speaker = ""
        self._start: float | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "p" and "p" in self._open:  # an unclosed <p> ends where the next begins
            self.handle_endtag("p")
        if tag in ("cite", "time", "p", "script", "style"):
            self._open.append(tag)
            self._text[tag] = []
            self._datetime = (dict(attrs).get("datetime") or "") if tag == "time" else self._datetime
        if tag in _HTML_BLOCKS:
            self.loose.append("\n\n")
            self.handle_data(" ")  # <br> inside a paragraph parts words

    def close(self) -> None:
        """As HTMLParser's, then the last paragraph ends if it was left open."""
        super().close()
        if "p" in self._open:  # the last paragraph, left open
            self.handle_endtag("p")

    def handle_endtag(self, tag: str) -> None:
        if tag in _HTML_BLOCKS:
            self.loose.append("\n\n")
        if tag not in self._open:
            return
        while self._open.pop() != tag:  # inner elements left open end with this one
            pass
        text = _words("".join(self._text.get(tag, ())))
        if tag == "cite":
            self._speaker = text.rstrip(":").strip()
        elif tag == "time":
            self._start = _clock_seconds(text)
            self._start = self._start if self._start is not None else _clock_seconds(self._datetime)
        elif tag == "p" and text:
            self.paragraphs.append((self._speaker, self._start, text))
            self._start = None

    def handle_data(self, data: str) -> None:
        if "script" in self._open or "style" in self._open:
            return
        inner = next((tag for tag in reversed(self._open) if tag in ("cite", "time", "p")), None)
        if inner:
            self._text[inner].append(data)
        if inner not in ("cite", "time"):
            self.loose.append(data)


def parse_html_transcript(text: str) -> tuple[list[Segment], bool]:
    """Paragraphs of an HTML transcript and whether it is timed. Timed when any paragraph
    has a ``<time>``: a paragraph without one starts with the one before it (the first ones
    at 0) and each ends where the next starts. Untimed: every segment at 0, one per
    paragraph. HTML without ``<p>`` is read as plain text. Times in seconds, from
    ``<time>``'s text or its ``datetime`` attribute (M:SS, H:MM:SS.mmm, or an ISO 8601
    duration such as PT1M5S)."""
    parser = _HtmlTranscript()
    parser.feed(text)
    parser.close()
    if not parser.paragraphs:
        return parse_plain_transcript("".join(parser.loose)), False
    timed = any(start is not None for _, start, _ in parser.paragraphs)
    starts: list[float] = []
    for _, start, _ in parser.paragraphs:
        starts.append(start if start is not None else (starts[-1] if starts else 0.0))
    if not timed:
        return _carried([Segment(0.0, 0.0, body, speaker=who) for who, _, body in parser.paragraphs]), False
    ends = [*starts[1:], starts[-1]]
    segments = [
        Segment(start, max(start, end), body, speaker=who)
        for (who, _, body), start, end in zip(parser.paragraphs, starts, ends, strict=True)
    ]
    return _carried(segments), True


def parse_plain_transcript(text: str) -> list[Segment]:
    """Paragraphs of plain text, untimed (all at 0): blocks between blank lines, or lines
    when there are no blank lines."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    blocks = re.split(r"\n\s*\n", text) if re.search(r"\n\s*\n", text) else text.split("\n")
    return [Segment(0.0, 0.0, words) for block in blocks if (words := _words(block))]


def _sniff(text: str) -> str:
    """The format the text itself shows ('' when it shows none)."""
    head = text.lstrip()[:200]
    if head.startswith("WEBVTT") or _TIMING.search(text[:2000]):
        return "vtt"
    return "json" if head.startswith("{") else "html" if head.startswith("<") else ""


def parse_transcript(text: str, format: str) -> tuple[list[Segment], bool]:
    """A transcript's segments and whether they are timed. ``format``: vtt, srt, json,
    html or txt (video.transcript_format). Feeds mislabel types, so text that shows
    itself as WebVTT/SRT or JSON is read as such when the declared format finds nothing or
    is plain text; an unknown format is read as what the text looks like. (HTML is never
    guessed for a declared timed format: that is more likely an error page.)

    Raises:
        ValueError: JSON that is not a transcript (``fetch_captions`` makes it a SourceError).
    """
    parsers = {
        "vtt": lambda: (parse_subtitles(text), True),
        "srt": lambda: (parse_subtitles(text), True),
        "json": lambda: (parse_json_transcript(text), True),
        "html": lambda: parse_html_transcript(text),
        "txt": lambda: (parse_plain_transcript(text), False),
    }
    looks_like = _sniff(text)
    structured = looks_like in ("vtt", "json") and looks_like != format
    if format not in parsers:
        format = looks_like or "txt"
    elif format == "txt" and structured:
        format = looks_like
    try:
        segments, timed = parsers[format]()
    except ValueError:
        if not structured:
            raise
        segments, timed = [], False
    return parsers[looks_like]() if not segments and structured else (segments, timed)


def fetch_captions(
    video: VideoInfo, track: SubtitleTrack, *, chinese_script: str = "zh-Hans", network: Network | None = None
) -> Transcript:
    """The track (a publisher's transcript or the video's subtitles) as a transcript, with
    the provenance editors see; Chinese text in ``chinese_script`` (a ChineseScript value).
    ``network``: None is ``Network()``'s defaults. The transcript's ``duration`` is the
    video's (seconds), else the last cue's end, else 0 for an untimed text.

    Raises:
        SourceUnavailable: fetching it failed in a way that may pass (retry).
        SourceError: it cannot be fetched (404, not http(s), over 20 MiB), is JSON that is
            not a transcript, or holds no text.
    """
    what = "the publisher's transcript" if track.publisher else f"the {track.language} subtitles"
    text = source.fetch_text(track.url, what=what, network=network or Network())
    try:
        segments, timed = parse_transcript(text, track.ext) if track.publisher else (parse_subtitles(text), True)
    except ValueError as exc:
        raise SourceError(f"{what} {track.url}: {exc}; check the feed") from exc
    if not segments:
        raise SourceError(f"{what} {track.url} holds no text")
    if cleanup.is_chinese(track.language):
        segments = [
            dataclasses.replace(
                s, text=cleanup.to_script(s.text, chinese_script), speaker=cleanup.to_script(s.speaker, chinese_script)
            )
            for s in segments
        ]
    duration = float(video.duration or (max(s.end for s in segments) if timed else 0.0))
    if track.publisher:
        return Transcript(
            track.language, track.mime_type or track.ext, PUBLISHER_ENGINE, duration, tuple(segments), timed=timed
        )
    kind = "automatic captions" if track.automatic else "human-made subtitles"
    return Transcript(track.language, kind, ENGINE, duration, tuple(segments))


def captions_to_file(
    video: VideoInfo, track: SubtitleTrack, work_dir: Path, *, chinese_script: str, network: Network | None = None
) -> Path:
    """The track saved as a transcript (and sidecars) once, reused afterwards:
    ``transcript.publisher.<language>.json`` or ``transcript.captions-{human,auto}.<language>.json``
    in ``work_dir`` (``und`` for an unknown language); returns its path.

    Raises:
        SourceError, SourceUnavailable: as fetch_captions.
        OSError: the files cannot be written (not translated here).
    """
    kind = "publisher" if track.publisher else f"captions-{'auto' if track.automatic else 'human'}"
    path = work_dir / f"transcript.{kind}.{track.language or 'und'}.json"
    if not path.exists():
        transcript = fetch_captions(video, track, chinese_script=chinese_script, network=network)
        write_atomic(path, transcript.to_json().encode("utf-8"))
        write_sidecars(transcript, path)
    return path
