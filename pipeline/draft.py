"""Front matter as data, a Jinja2 body, one atomic write that never overwrites an editor."""

from __future__ import annotations

import dataclasses
import datetime as dt
import errno
import hashlib
import logging
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import frontmatter
import jinja2
import yaml
from jinja2.sandbox import SandboxedEnvironment
from slugify import slugify

from pipeline import cleanup, suggest, vocabulary
from pipeline.config import Channel, Settings
from pipeline.errors import ConfigError, OutputError
from pipeline.store import DraftStore, remove_stale_temps, unwritable, write_atomic
from pipeline.transcript import Segment, Transcript, colon
from pipeline.video import GENERIC_EXTRACTORS, Chapter, VideoInfo
from pipeline.writer import Written

log = logging.getLogger(__name__)

# The blog's front matter, field for field, in its order, with each field's type.
SCHEMA: dict[str, type] = {
    "area": str, "category": str, "companies": list, "companies_orgs": list, "date": str,
    "draft": bool, "guest": str, "insight": str, "layout": str, "media_books": list,
    "people": list, "products_models": list, "project": list, "series": str, "source": str,
    "speaker": str, "status": str, "summary": str, "tags": list, "title": str,
}  # fmt: skip
FROM_VIDEO = ("date", "draft", "source", "title")  # never taken from config defaults

MAX_SLUG_CHARS = 45  # keeps the whole file name near 80 characters
# Paragraphs: a pause of PAUSE_SECONDS ends a paragraph once it holds MIN characters and
# a sentence; a pause of NEW_TOPIC_PAUSE_SECONDS always does (a speaker stopping that long
# is changing the subject, or the recording is); past TARGET a paragraph ends at the next
# sentence end, and it never grows beyond MAX.
PAUSE_SECONDS = 1.5
NEW_TOPIC_PAUSE_SECONDS = 3.0
PARAGRAPH_CHARS = {"spaced": (250, 600, 1200), "unspaced": (80, 200, 400)}  # MIN, TARGET, MAX
UNSPACED_LANGUAGES = cleanup.UNSPACED_LANGUAGES
SENTENCE_END = re.compile(r"[.!?。！？…]['\"”’」』)）]*$")


class Outcome(Enum):
    """What ``write_draft`` did."""

    WRITTEN = "written"  # a new draft
    UPDATED = "updated"  # draftcast's own unedited draft, rewritten with new content
    UNCHANGED = "unchanged"  # the draft on disk is already what draftcast would write
    KEPT_EDITED = "kept-edited"  # an editor changed the draft: left alone
    KEPT_REMOVED = "kept-removed"  # the draft was moved or deleted since: not written again


@dataclass(frozen=True)
class DraftResult:
    """A draft's file and what ``write_draft`` did with it."""

    path: Path
    outcome: Outcome

    @property
    def message(self) -> str:
        """One line for the person: what happened to the draft (and, for a removed one,
        how to write it anew)."""
        return {
            Outcome.WRITTEN: f"wrote {self.path}",
            Outcome.UPDATED: f"updated {self.path} (it had not been edited)",
            Outcome.UNCHANGED: f"{self.path} is up to date",
            Outcome.KEPT_EDITED: f"{self.path} was changed by an editor: left as it is",
            Outcome.KEPT_REMOVED: (
                f"{self.path} was written before and has since been moved or deleted: not written again"
                " (use --rewrite to write it anew)"
            ),
        }[self.outcome]


@dataclass(frozen=True)
class Paragraph:
    """A paragraph of the draft's body."""

    start: float  # seconds from the start of the recording (0 in an untimed transcript)
    text: str
    flags: tuple[str, ...] = ()  # "M:SS why" for each span an editor should check
    speaker: str = ""  # who starts speaking with this paragraph ('' when the turn goes on, or not known)
    voice: str = ""  # who speaks in it ('' when not known)


@dataclass(frozen=True)
class Section:
    """A chapter of the draft's body, with its paragraphs."""

    heading: str  # '' before the first chapter or when the video has none
    start: float  # seconds: where its first paragraph starts
    paragraphs: tuple[Paragraph, ...]


# ---------------------------------------------------------------- front matter


def _empty(kind: type) -> Any:
    return [] if kind is list else False if kind is bool else ""


def _coerce(name: str, value: Any, where: str) -> Any:
    kind = SCHEMA[name]
    if kind is list:
        if isinstance(value, str) and "," in value:  # "a, b" meant as two items, or one with a comma?
            listed = ", ".join(f'"{item.strip()}"' for item in value.split(",") if item.strip())
            raise ConfigError(
                f"{where}: front-matter field '{name}' is a list: write {name} = [{listed}]"
                f" (or [{value!r}] for one item with commas)"
            )
        values = ([value] if value.strip() else []) if isinstance(value, str) else value  # "": none
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise ConfigError(f"{where}: front-matter field '{name}' must be a list of strings, not {value!r}")
        if any(not v.strip() for v in values):
            raise ConfigError(f"{where}: front-matter field '{name}' has an empty item ({value!r}): leave it out")
        return list(values)
    if not isinstance(value, kind):
        raise ConfigError(f"{where}: front-matter field '{name}' must be a {kind.__name__}, not {value!r}")
    return value


def check_front_matter(settings: Settings) -> None:
    """The config's front matter defaults and every channel's, checked against the schema
    as ``build_front_matter`` applies them: before any video is fetched.

    Raises:
        ConfigError: as ``build_front_matter``.
    """
    _coerced(str(settings.config_path or "config"), settings.front_matter)
    for channel in settings.channels:
        _coerced(f"channel {channel.url}", channel.front_matter)


def _coerced(where: str, table: dict[str, Any]) -> dict[str, Any]:
    """``table``'s fields that the video does not give, as the schema types them.

    Raises:
        ConfigError: a field the schema lacks, or a value of another type (``where`` names the table).
    """
    found = {}
    for name, value in table.items():
        if name not in SCHEMA:
            raise ConfigError(f"{where}: '{name}' is not a field of the blog's front matter ({', '.join(SCHEMA)})")
        if name not in FROM_VIDEO:
            found[name] = _coerce(name, value, where)
    return found


def build_front_matter(
    video: VideoInfo, *, speaker: str, defaults: list[tuple[str, dict[str, Any]]], today: dt.date
) -> dict[str, Any]:
    """The blog's front matter for ``video``, in the schema's order.

    ``defaults`` are (where, fields) pairs applied in order: global config, then channel;
    ``where`` names them in errors. The fields in FROM_VIDEO always come from ``video``
    (``date``: its upload date, else ``today``, as YYYY-MM-DD; ``draft``: True). Returns
    every SCHEMA field, empty where nothing gives it.

    Raises:
        ConfigError: a default names a field the schema lacks, or gives one a value of
            another type.
    """
    fields = {name: _empty(kind) for name, kind in SCHEMA.items()}
    for where, table in defaults:
        fields.update(_coerced(where, table))
    fields.update(
        draft=True,
        source=video.webpage_url,
        date=video.upload_date or today.isoformat(),
        title=video.title,
        speaker=speaker,
        tags=list(dict.fromkeys([*fields["tags"], *video.tags])),
    )
    if not fields["summary"]:
        fields["summary"] = video.description
    return fields


class _DraftDumper(yaml.SafeDumper):
    """Safe YAML that YAML 1.1 readers (PyYAML, python-frontmatter) and YAML 1.2 readers
    (js-yaml, which Eleventy uses) read back as the same strings; multi-line strings as
    literal blocks so editors can read them.

    PyYAML quotes a string only when its own YAML 1.1 resolvers would read it as something
    else; the resolvers below add what a YAML 1.2 reader takes for a number, boolean or
    null (``1e3``, ``0o14``, ``.5e1``), so those strings are quoted too."""


# YAML 1.2's core schema as js-yaml resolves it, widened to its older releases
# (underscores in numbers) and to YAML 1.1's booleans in any case (y, n, on, off…).
_YAML12_SCALARS = {
    "tag:yaml.org,2002:bool": r"(?i:true|false|yes|no|on|off|y|n)",
    "tag:yaml.org,2002:null": r"~|(?i:null)",
    "tag:yaml.org,2002:int": r"[-+]?(?:0b[01_]+|0o[0-7_]+|0x[0-9a-fA-F_]+|[0-9][0-9_]*)",
    "tag:yaml.org,2002:float": (
        r"[-+]?(?:\.[0-9_]+|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?i:inf|nan)"
    ),
}
for _tag, _pattern in _YAML12_SCALARS.items():
    _DraftDumper.add_implicit_resolver(_tag, re.compile(rf"(?:{_pattern})\Z"), None)

# Line breaks to YAML 1.1 and not to YAML 1.2: written raw, PyYAML folds U+0085 into a
# newline and js-yaml keeps the indentation after U+2028/U+2029. Escaped ("\N", "\L",
# "\P" in a double-quoted string) both read them back as they were.
_ESCAPE_ONLY = re.compile("[\x85\u2028\u2029]")


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = '"' if _ESCAPE_ONLY.search(value) else "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_DraftDumper.add_representer(str, _represent_str)


# ---------------------------------------------------------------- body


def _is_unspaced(language: str) -> bool:
    return language.split("-")[0].lower() in UNSPACED_LANGUAGES


def paragraphs(segments: tuple[Segment, ...], language: str) -> list[Paragraph]:
    """Readable paragraphs from transcript segments: breaks at pauses and sentence ends,
    and where another speaker starts (only the paragraph that starts a turn names its
    speaker); the text joined by ``cleanup.join_text``. Lengths
    are counted in characters (PARAGRAPH_CHARS), shorter for ``language``s written
    without spaces (UNSPACED_LANGUAGES); pauses in seconds."""
    minimum, target, maximum = PARAGRAPH_CHARS["unspaced" if _is_unspaced(language) else "spaced"]
    result: list[Paragraph] = []
    current: list[Segment] = []

    def flush() -> None:
        """End the paragraph of the segments gathered so far, if any."""
        if current:
            flags = tuple(f"{timestamp(s.start)} {s.flag}" for s in current if s.flag)
            text = cleanup.join_text((s.text for s in current), language)
            if text.endswith("，"):  # a turn or topic that ends on a conjunction ("不过，")
                text = text[:-1] + "。"
            turn_starts = current[0].speaker != (result[-1].voice if result else "")
            speaker = current[0].speaker if turn_starts else ""
            result.append(Paragraph(current[0].start, text, flags, speaker, current[0].speaker))
            current.clear()

    for segment in segments:
        if current and segment.speaker != current[-1].speaker:
            flush()
        if current:
            length = sum(len(s.text) for s in current)
            pause = segment.start - current[-1].end
            sentence_done = bool(SENTENCE_END.search(current[-1].text))
            if (
                pause >= NEW_TOPIC_PAUSE_SECONDS
                or (pause >= PAUSE_SECONDS and length >= minimum and sentence_done)
                or (length >= target and sentence_done)
                or length + len(segment.text) > maximum
            ):
                flush()
        current.append(segment)
    flush()
    return result


def sections(transcript: Transcript, chapters: tuple[Chapter, ...]) -> list[Section]:
    """Paragraphs grouped under the video's chapters (one untitled section without).

    An untimed transcript keeps its own paragraphs, one per segment, in one untitled
    section: without times there is no knowing where a chapter starts."""
    if not transcript.timed:
        if chapters:
            log.info("the transcript has no timings: its %d chapters are not placed in the draft", len(chapters))
        before = ("", *(s.speaker for s in transcript.segments))  # who spoke in the paragraph before
        kept = tuple(
            Paragraph(s.start, s.text, (), s.speaker if s.speaker != previous else "", s.speaker)
            for s, previous in zip(transcript.segments, before, strict=False)
        )
        return [Section("", 0.0, kept)] if kept else []
    bounds = sorted(chapters, key=lambda c: c.start) or [Chapter(0.0, None, "")]
    result = []
    for index, chapter in enumerate(bounds):
        start = 0.0 if index == 0 else chapter.start
        end = bounds[index + 1].start if index + 1 < len(bounds) else float("inf")
        # A segment belongs where most of it is: a cue that starts just before a chapter
        # and runs into it opens that chapter, so no chapter loses its heading.
        inside = tuple(s for s in transcript.segments if start <= (s.start + max(s.end, s.start)) / 2 < end)
        if inside or chapter.title:  # a chapter with no speech keeps its heading
            first = inside[0].start if inside else chapter.start
            result.append(Section(chapter.title, first, tuple(paragraphs(inside, transcript.language))))
    return result


_TEMPLATE_SYNTAX = re.compile(r"\{(?=[{%#])")  # Liquid / Nunjucks openers: {{ {% {#
_HTML_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")
_LINE_BREAKS = re.compile(r"\s*[\r\n\u2028\u2029]+\s*")


def inert(value: Any) -> Any:
    """Text that Eleventy's Liquid/Nunjucks pass and Markdown's HTML pass leave as text.

    Applied to every value a body template prints: a transcript or a chapter title that
    holds ``{{ }}``, ``{% %}`` or ``<script>`` shows as written and runs nothing.
    """
    if not isinstance(value, str):
        return value
    value = _LINE_BREAKS.sub(" ", value)
    value = _TEMPLATE_SYNTAX.sub("&#123;", value)
    return _HTML_TAG_START.sub("&lt;", value)


def timestamp(seconds: float) -> str:
    """``seconds`` as M:SS, or H:MM:SS from an hour on (rounded down to the second): the
    body template's ``timestamp`` filter."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def _environment(template: Path) -> SandboxedEnvironment:
    environment = SandboxedEnvironment(
        loader=jinja2.FileSystemLoader(str(template.parent)),
        undefined=jinja2.StrictUndefined,
        finalize=inert,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # Markdown, not HTML: `inert` does the escaping that matters
    )
    environment.filters["timestamp"] = timestamp
    return environment


def check_template(template: Path) -> None:
    """Parse the draft template at ``template`` (a Jinja2 file), without rendering it: a
    syntax error is told before any video is fetched, not after its transcription.

    Raises:
        ConfigError: the file cannot be read, or a syntax error (naming its line).
    """
    try:
        _environment(template).get_template(template.name)
    except jinja2.TemplateSyntaxError as exc:
        raise ConfigError(f"draft template {template}, line {exc.lineno}: {exc.message}: fix the template") from None
    except (jinja2.TemplateError, OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"draft template {template} cannot be read: {exc}") from None


def render(
    video: VideoInfo,
    transcript: Transcript,
    front_matter: dict[str, Any],
    template: Path,
    *,
    suggested: dict[str, list[str]] | None = None,
    notes: list[str] | None = None,
) -> str:
    """The whole draft file: YAML front matter and the body rendered from ``template``;
    the list items in ``suggested`` are marked as suggestions. ``notes``: lines for the
    editor, given to the template. Returns the text, ending with a newline.

    Raises:
        ConfigError: ``template`` does not exist, or fails (a syntax error, an undefined
            name: the environment is strict).
    """
    if not template.is_file():
        raise ConfigError(f"draft template {template} does not exist: set DRAFTCAST_TEMPLATE or the config's template")
    try:
        body = (
            _environment(template)
            .get_template(template.name)
            .render(
                video=video,
                transcript=transcript,
                sections=sections(transcript, video.chapters),
                front_matter=front_matter,
                link_at=video.link_at,
                notes=notes or [],
                colon=colon(transcript.language),
            )
        )
    except jinja2.TemplateError as exc:
        raise ConfigError(f"draft template {template}: {exc}") from exc
    post = frontmatter.Post(body.strip() + "\n", **front_matter)
    text = frontmatter.dumps(post, Dumper=_DraftDumper, sort_keys=False, allow_unicode=True, width=1 << 30)
    if suggested:
        head, _, body = text.removeprefix("---\n").partition("\n---\n")
        text = f"---\n{_mark_suggestions(head, suggested)}\n---\n{body}"
    return text if text.endswith("\n") else text + "\n"


def compose(
    video: VideoInfo,
    transcript: Transcript,
    *,
    settings: Settings,
    speaker: str | None,
    today: dt.date,
    channel: Channel | None = None,
    written: Written | None = None,
    known: suggest.Known | None = None,
    learned: Sequence[str] = (),
) -> str:
    """The draft for ``video``: speaker is the one given, else the channel's, else the uploader.
    ``channel`` is found from the video's URLs when not given; ``written``: what the
    optional writing step drafted (its text fields win, its names are suggestions).
    ``today``: the date of a video that has no upload date; ``known``: the names the blog
    knows (``plan.known``; None reads them from ``out_dir`` and ``[suggest]``). Mandarin drafts are written
    in the channel's Chinese script, else the config's, the channel's ``vocabulary`` and the
    right forms its editors taught (``learned``) spelled as they are written there. ``guest`` lists the names given to
    diarized voices that are neither the channel's host nor the speaker (``named_guests``;
    none found: the defaults' ``guest`` stays). Returns the whole file's text (``render``),
    which ``write_draft`` writes.

    Raises:
        ConfigError: the config's or the channel's front matter does not fit the schema
            (``build_front_matter``), or the template is missing or fails (``render``).
    """
    channel = channel or settings.channel_for(video.channel_url, video.webpage_url, uploader=video.uploader)
    defaults = [(str(settings.config_path or "config"), settings.front_matter)]
    if channel:
        defaults.append((f"channel {channel.url}", channel.front_matter))
    fields = build_front_matter(
        video,
        speaker=speaker or (channel.speaker if channel else "") or video.uploader,
        defaults=defaults,
        today=today,
    )
    if guests := named_guests(transcript, (channel.host if channel else "", fields["speaker"])):
        fields["guest"] = ", ".join(guests)
    suggested: dict[str, list[str]] = {}
    notes = [written.note] if written and written.note else []
    if transcript.speakers_note:  # speaker turns were wanted: why there are none, and what to do
        notes.append(transcript.speakers_note)
    if written:
        fields.update({name: value for name, value in written.fields.items() if isinstance(value, str)})
        names = {name: tuple(v) for name, v in written.fields.items() if isinstance(v, list)}
        fields, suggested = _add_suggestions(fields, suggest.Suggestions(**names))
    if settings.suggest.enabled and transcript.segments:
        if known is None:
            known = suggest.known_names([settings.out_dir, *settings.suggest.posts], settings.suggest.names)
        found = suggest.suggest(video.title, video.description, transcript.text, transcript.language, known)
        fields, more = _add_suggestions(fields, found)
        suggested = {name: [*suggested.get(name, []), *more.get(name, [])] for name in {*suggested, *more}}
    if cleanup.is_chinese(transcript.language):  # one script through the whole post
        script = (channel.chinese_script if channel else None) or settings.chinese_script
        # The channel's names as it lists them and its editors wrote them: OpenCC writes 臺積電
        # for a listed 台積電, and 升腾 for an editor's 昇腾.
        names = [*(channel.vocabulary if channel else ()), *learned]
        listed = [vocabulary.in_script(term, script) for term in names]

        def as_listed(value: Any) -> Any:
            """``value`` (converted) with the channel's names as listed; lists item by item."""
            if isinstance(value, list):
                return [as_listed(item) for item in value]
            return vocabulary.spelled_as_listed(value, listed, script) if isinstance(value, str) else value

        fields = {
            name: value if name in ("source", "date") else as_listed(value)
            for name, value in cleanup.convert_fields(fields, script).items()
        }
        suggested = {
            name: as_listed([cleanup.to_script(v, script) for v in values]) for name, values in suggested.items()
        }
        segments = tuple(
            dataclasses.replace(s, text=as_listed(cleanup.to_script(s.text, script))) for s in transcript.segments
        )
        transcript = dataclasses.replace(transcript, segments=segments)
    return render(video, transcript, fields, settings.template, suggested=suggested, notes=notes)


def named_guests(transcript: Transcript, hosts: tuple[str, ...]) -> list[str]:
    """The names draftcast gave the transcript's diarized voices (``voices.name_transcript``:
    a segment's speaker that is not one of ``transcript.voices``' labels), in the order
    they first speak, leaving out ``hosts`` (the channel's host, the draft's speaker; case
    aside). A transcript without diarized voices names none: its speakers are the
    source's own (a publisher's "Host", "Guest"), not names draftcast found."""
    labels = {voice.label for voice in transcript.voices}
    skip = {host.casefold() for host in hosts if host}
    if not labels:
        return []
    names = (s.speaker for s in transcript.segments if s.speaker and s.speaker not in labels)
    return [name for name in dict.fromkeys(names) if name.casefold() not in skip]


def _add_suggestions(fields: dict[str, Any], found: suggest.Suggestions) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """``fields`` with the suggestions appended to their lists (what is there stays first,
    nothing twice), and what was added, by field."""
    fields = dict(fields)
    added: dict[str, list[str]] = {}
    for name, values in found.fields().items():
        present = {str(v).casefold() for v in fields[name]}
        new = [v for v in values if v.casefold() not in present]
        if new:
            fields[name] = [*fields[name], *new]
            added[name] = new
    return fields, added


SUGGESTION_MARK = suggest.SUGGESTION_MARK


def _mark_suggestions(front_matter: str, suggested: dict[str, list[str]]) -> str:
    """A YAML comment after each list item draftcast suggested (the blog's schema has no
    field for it, and a comment is seen where the editor looks, then dropped by the build)."""
    lines, field = [], ""
    for line in front_matter.split("\n"):
        if re.match(r"^[A-Za-z_]+:", line):
            field = line.split(":", 1)[0]
        elif line.startswith("- ") and field in suggested and yaml.safe_load(line[2:]) in suggested[field]:
            line += SUGGESTION_MARK
        lines.append(line)
    return "\n".join(lines)


def provenance_rows(transcript: Transcript, written: Written | None = None) -> list[dict[str, str]]:
    """Where a draft came from, as rows of a table (the Prefect UI shows it)."""
    rows = {
        "transcript from": transcript.provenance,
        "engine": transcript.engine,
        "model": transcript.model,
        "language": transcript.language,
        "duration": timestamp(transcript.duration),
        "spans flagged for review": str(transcript.flagged),
    }
    if transcript.diarized or transcript.speakers_note:
        voices = f"{len(transcript.voices)} voices" if transcript.voices else "one voice"
        rows["speaker turns"] = voices if transcript.diarized else transcript.speakers_note
    if transcript.corrected:
        rows["editors' corrections applied"] = ", ".join(transcript.corrected)
    if written is not None:
        rows["writing step"] = written.note
    return [{"what": what, "value": value} for what, value in rows.items()]


def preview(text: str, result: DraftResult, paragraphs_shown: int = 3) -> str:
    """Markdown for the Prefect UI: what happened, the front matter, the first paragraphs."""
    head, _, body = text.partition("\n---\n")
    kept = [p for p in body.strip().split("\n\n") if not p.startswith("<!--")]
    opening = "\n\n".join(kept[:paragraphs_shown])
    return f"**{result.message}**\n\n```yaml\n{head.removeprefix('---').strip()}\n```\n\n{opening}\n"


# ---------------------------------------------------------------- file name and write


def _mostly_latin(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    latin = sum(unicodedata.name(c, "").startswith("LATIN") for c in letters)
    return bool(letters) and latin / len(letters) >= 0.8


def file_name(video: VideoInfo, date: str) -> str:
    """``YYYY-MM-DD-<slug>-<id>.md``: ASCII, no separators, stable and unique per video.

    ``date``: YYYY-MM-DD (anything else gives 0000-00-00). The slug, at most
    MAX_SLUG_CHARS, comes from a title of mostly (80%) Latin letters, and is left out
    otherwise; the id is the site's when it is short and safe, else 10 hex digits of the
    sha256 of ``video.key``."""
    if re.fullmatch(r"[A-Za-z0-9_-]{1,20}", video.id) and video.extractor not in GENERIC_EXTRACTORS:
        id_part = video.id
    else:  # ids from generic pages are file names: not unique across sites, maybe not safe
        id_part = hashlib.sha256(video.key.encode()).hexdigest()[:10]
    slug = slugify(video.title, max_length=MAX_SLUG_CHARS, word_boundary=True) if _mostly_latin(video.title) else ""
    safe_date = date if re.fullmatch(r"\d{4}-\d{2}-\d{2}", date) else "0000-00-00"
    return "-".join(part for part in (safe_date, slug, id_part) if part) + ".md"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_out_dir(out_dir: Path) -> None:
    """Fail early, with a clear message, when drafts cannot be written to ``out_dir``: it is
    made if missing, and a temporary file is created and removed in it.

    Raises:
        OutputError: ``out_dir`` cannot be made or written to.
    """
    if (exc := unwritable(out_dir)) is not None:
        raise OutputError(f"cannot write drafts to {out_dir}: {exc.strerror or exc}; choose another --out") from exc


def write_draft(
    text: str,
    *,
    video: VideoInfo,
    out_dir: Path,
    store: DraftStore,
    rewrite: bool = False,
    channel: str = "",
    inputs: str = "",
) -> DraftResult:
    """Write the draft unless an editor owns it now. Call with the video's lock held.

    ``text``: the whole file (``compose``); its front matter's ``date`` names a new file
    (``file_name``). ``out_dir`` is resolved and made if missing; ``store`` records the
    sha256 of what is written, by which an edited draft is recognised, and the text, from
    which an editor's corrections are learned (``channel``: the URL of the video's
    configured channel, '' for none) and the digest of its ``inputs`` (``plan.draft_inputs``,
    by which a later ingest knows it has nothing to do; '' when not known). ``rewrite``:
    write again a draft that was moved or deleted since. Returns the file and the ``Outcome``.

    Raises:
        OutputError: the draft cannot be written (permissions, a full disk). SQLite's
            errors in ``store`` pass through.
    """
    out_dir = out_dir.resolve()
    data = text.encode("utf-8")
    record = store.get(out_dir, video.key)
    path = record.path if record else out_dir / file_name(video, frontmatter.loads(text)["date"])
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for stale in remove_stale_temps(out_dir):
            log.info("removed %s, left by a run that was killed while writing", stale.name)
        if path.exists():
            current = _sha256(path.read_bytes())
            if record is None or current != record.sha256:
                return DraftResult(path, Outcome.KEPT_EDITED)
            if current == _sha256(data):
                if inputs and inputs != record.inputs:  # new inputs, the same draft: a re-run now knows
                    store.set_inputs(out_dir, video.key, inputs)
                return DraftResult(path, Outcome.UNCHANGED)
            outcome = Outcome.UPDATED
            # Re-check just before replacing: an editor may have saved in the meantime.
            if _sha256(path.read_bytes()) != record.sha256:
                return DraftResult(path, Outcome.KEPT_EDITED)
            write_atomic(path, data, replace=True)
        else:
            if record is not None and not rewrite:
                return DraftResult(path, Outcome.KEPT_REMOVED)
            if write_atomic(path, data, replace=False):
                outcome = Outcome.WRITTEN
            elif _sha256(path.read_bytes()) == _sha256(data):
                outcome = Outcome.UNCHANGED  # another run wrote the same draft a moment ago
            else:
                return DraftResult(path, Outcome.KEPT_EDITED)
    except OSError as exc:
        hint = ": free some space there, or set out_dir to another disk" if exc.errno == errno.ENOSPC else ""
        raise OutputError(f"cannot write the draft to {out_dir}: {exc.strerror or exc}{hint}") from exc
    store.put(out_dir, video.key, path, _sha256(data), video.webpage_url, text=text, channel=channel, inputs=inputs)
    return DraftResult(path, outcome)
