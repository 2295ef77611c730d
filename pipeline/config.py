"""Settings: ``config/draftcast.toml``, then environment variables on top.

The file is found at ``$DRAFTCAST_CONFIG``, else ``./config/draftcast.toml`` in the current
directory, else the copy that ships beside this package. Relative paths in it resolve
against the current directory (the template also against the project, where the bundled
one lives). TOML is read with the standard library's parser, which evaluates nothing.

Environment overrides (for deployments): DRAFTCAST_HOME, DRAFTCAST_OUT, DRAFTCAST_MODEL,
DRAFTCAST_LANGUAGE, DRAFTCAST_TEMPLATE, DRAFTCAST_BEAM_SIZE, DRAFTCAST_RETRY_DELAYS
(seconds, comma-separated; empty: no retries), DRAFTCAST_NETWORK_TIMEOUT, DRAFTCAST_LEDGER,
DRAFTCAST_CAPTIONS, DRAFTCAST_ENGINE, DRAFTCAST_COMPUTE_TYPE; for the writing step DRAFTCAST_WRITER_URL,
DRAFTCAST_WRITER_MODEL and DRAFTCAST_WRITER_API_KEY (the key is read only from there).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pipeline.choices import CaptionPolicy, ChineseScript, ComputeType, EngineName, listed
from pipeline.errors import ConfigError
from pipeline.video import NETWORK_RETRY_DELAYS, Limits, Network

Choice = TypeVar("Choice", EngineName, CaptionPolicy, ChineseScript, ComputeType)
PROJECT_DIR = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = Path("config") / "draftcast.toml"
DEFAULT_TEMPLATE = Path("templates") / "post.md.j2"
MAX_TERM_CHARS = 40  # a vocabulary entry or tag longer than this is a phrase, not a name

# What the blog's posts have in these fields (../shared/examples/published-post.md): a
# draft gets them when the config's [front_matter] says nothing of them, so a config of
# one's own without the section still builds (the blog has no page for layout '').
BLOG_FRONT_MATTER = {"layout": "post.njk", "status": "evergreen"}

# Every section of the config file and the keys read from it ([front_matter] takes the
# blog's fields, which pipeline.draft checks). Anything else is refused, so a misspelt key
# is an error rather than a setting silently ignored. The shipped config documents each
# one (tests/test_config.py checks).
CONFIG_KEYS: dict[str, tuple[str, ...]] = {
    "draftcast": (
        "out_dir", "data_dir", "model", "language", "engine", "beam_size", "network_retry_delays",
        "network_timeout_seconds", "max_duration_hours", "max_download_mb", "captions", "vad",
        "chinese_script", "template", "ledger", "diarize", "compute_type",
    ),
    "front_matter": (),
    "channels": (
        "url", "speaker", "uploader", "language", "model", "front_matter", "poll", "include", "exclude",
        "published_after", "backfill", "chinese_script", "host", "vocabulary", "diarize",
    ),
    "poll": (
        "deployment", "max_attempts", "retry_after_minutes", "lookback_days", "max_transcriptions",
        "run_timeout_hours",
    ),
    "suggest": ("enabled", "posts", "people", "companies_orgs", "products_models"),
    "writer": ("base_url", "model", "timeout_seconds", "max_transcript_chars", "prompts"),
}  # fmt: skip


@dataclass(frozen=True)
class Channel:
    """A channel whose videos get their own speaker and front-matter defaults."""

    url: str
    speaker: str = ""
    uploader: str = ""  # matches videos by uploader name where the site gives no channel URL
    language: str | None = None  # the spoken language of its videos; None: the config's
    model: str | None = None  # None: the config's
    front_matter: dict[str, Any] = field(default_factory=dict)  # defaults over the config's [front_matter]
    poll: bool = True  # False: settings for its videos only, never polled
    include: tuple[str, ...] = ()  # title patterns (regular expressions); empty: all
    exclude: tuple[str, ...] = ()
    published_after: dt.date | None = None  # default: lookback_days before the first poll
    backfill: bool = False  # True: ingest the channel's whole history on the first poll
    chinese_script: ChineseScript | None = None  # default: the global one
    host: str = ""  # who hosts its episodes: names the voice that speaks most, as a flagged guess
    vocabulary: tuple[str, ...] = ()  # names and terms its videos say, given to the decoder (pipeline/vocabulary.py)
    diarize: bool | None = None  # speaker turns in its drafts; None: the config's

    def matches(self, *urls: str, uploader: str = "") -> bool:
        """Whether a video is this channel's: its ``uploader`` is the one set here, or one of
        its ``urls`` (channel page, video page) is the channel's URL or a page under it,
        compared without scheme, ``www.``/``m.``, case, or a trailing /videos, /featured,
        /streams. Under it means after a ``/``, ``?`` or ``#``: ``@bestpartnersclips`` is
        not a page of ``@bestpartners``."""
        if self.uploader and uploader == self.uploader:
            return True
        prefix = _normalize_url(self.url)
        return bool(prefix) and any(_is_under(_normalize_url(u), prefix) for u in urls if u)


@dataclass(frozen=True)
class PollSettings:
    """How polling launches and retries ingests."""

    deployment: str = "ingest-video/ingest"  # what poll-channels launches
    max_attempts: int = 3  # failed ingests of a video before it is left for a person
    retry_after: tuple[float, ...] = (3600, 6 * 3600)  # seconds before the 2nd, 3rd… attempt
    lookback_days: float = 7  # on a channel's first poll, how far back videos count as new
    max_transcriptions: int = 1  # at once, across all workers (Prefect global concurrency limit)
    run_timeout_hours: float = 24  # a launched run with no outcome after this counts as failed


@dataclass(frozen=True)
class WriterSettings:
    """The optional writing step (pipeline/writer.py): an OpenAI-compatible chat endpoint."""

    base_url: str = ""  # e.g. http://127.0.0.1:11434/v1 (Ollama); '' turns the step off
    model: str = ""  # the model the endpoint serves (required with base_url)
    api_key: str = ""  # sent as a bearer token when set
    timeout_seconds: float = 120.0  # httpx's timeout: to connect, and for each read of the answer
    max_transcript_chars: int = 24_000  # the start of a longer transcript is sent
    prompts: Path = PROJECT_DIR / "templates"  # where writer-system.md.j2 and writer-user.md.j2 are

    @property
    def enabled(self) -> bool:
        """Whether the writing step runs: a base URL is set."""
        return bool(self.base_url)


@dataclass(frozen=True)
class SuggestSettings:
    """Suggested tags and names in drafts (pipeline/suggest.py)."""

    enabled: bool = True
    posts: tuple[Path, ...] = ()  # folders of published posts whose names are known (besides out_dir)
    names: dict[str, list[str]] = field(default_factory=dict)  # people, companies_orgs, products_models


@dataclass(frozen=True)
class Settings:
    """Every setting, from the config file and the environment (``load_settings``)."""

    out_dir: Path  # where drafts are written
    data_dir: Path  # models, work files, Prefect's home, the draft record, the ledger
    model: str  # a whisper model name or a checkpoint's path
    language: str | None  # the spoken language; None: detected
    beam_size: int  # also the candidates sampled when a window is decoded again (best_of)
    template: Path  # the Jinja2 template of a draft's body
    front_matter: dict[str, Any]  # defaults for the blog's front-matter fields
    channels: tuple[Channel, ...] = ()
    network_retry_delays: tuple[float, ...] = NETWORK_RETRY_DELAYS  # seconds before each retry
    network_timeout_seconds: float = 30  # a server silent for longer counts as failed (then retried)
    engine: EngineName = EngineName.OPENAI_WHISPER
    compute_type: ComputeType = ComputeType.AUTO  # the weights' number type (engines.compute_type_for)
    max_duration_hours: float = 6  # longer videos are refused before download
    max_download_mb: float = 4096  # larger media are refused (before download where declared)
    captions: CaptionPolicy = CaptionPolicy.HUMAN  # which of a video's own subtitles replace whisper
    vad: bool = True  # decode only the speech that voice activity detection finds
    chinese_script: ChineseScript = ChineseScript.SIMPLIFIED  # how Mandarin is written
    diarize: bool = True  # speaker turns (who speaks in each paragraph) in whisper's transcripts
    poll: PollSettings = PollSettings()
    suggest: SuggestSettings = SuggestSettings()
    writer: WriterSettings = WriterSettings()
    ledger: Path | None = None  # default: in the data dir
    config_path: Path | None = None  # the file read; None: defaults and environment only

    @property
    def models_dir(self) -> Path:
        """``<data_dir>/models``: prepared checkpoints, CTranslate2 folders, official downloads."""
        return self.data_dir / "models"

    @property
    def work_dir(self) -> Path:
        """``<data_dir>/work``: one folder per video (media, transcripts, checkpoints)."""
        return self.data_dir / "work"

    @property
    def prefect_home(self) -> Path:
        """``<data_dir>/prefect``: PREFECT_HOME for the embedded API and ``draftcast serve``."""
        return self.data_dir / "prefect"

    @property
    def store_path(self) -> Path:
        """The record of written drafts (``store.DraftStore``)."""
        return self.data_dir / "draftcast.sqlite"

    @property
    def voices_path(self) -> Path:
        """The known voices and what draftcast learned of each channel's (``voices.VoiceStore``)."""
        return self.data_dir / "voices.json"

    @property
    def corrections_path(self) -> Path:
        """The corrections learned from editors' drafts (``corrections.CorrectionStore``)."""
        return self.data_dir / "corrections.json"

    @property
    def limits(self) -> Limits:
        """The download limits in seconds and bytes (max_download_mb counts MiB, 2**20 bytes)."""
        return Limits(self.max_duration_hours * 3600, int(self.max_download_mb * 2**20))

    @property
    def network(self) -> Network:
        """How patient to be with servers: network_timeout_seconds, network_retry_delays."""
        return Network(self.network_timeout_seconds, self.network_retry_delays)

    @property
    def ledger_path(self) -> Path:
        """The polling ledger: ``ledger`` when set, else ``<data_dir>/ledger.sqlite``."""
        return self.ledger or self.data_dir / "ledger.sqlite"

    def channel_for(self, *urls: str, uploader: str = "") -> Channel | None:
        """The configured channel a video with these ``urls`` and ``uploader`` belongs to
        (``Channel.matches``): of several, the one with the longest URL (``host/shows/zh``
        before ``host/shows``), then the first configured; None when none is."""
        found = [c for c in self.channels if c.matches(*urls, uploader=uploader)]
        return max(found, key=lambda c: len(_normalize_url(c.url)), default=None)

    def channel_named(self, url: str) -> Channel:
        """The configured channel whose ``url`` is this one (exactly, else but for a
        trailing slash: a person types it either way).

        Raises:
            ConfigError: no channel has it (the line lists those configured).
        """
        for same in (lambda a, b: a == b, lambda a, b: a.rstrip("/") == b.rstrip("/")):
            for channel in self.channels:
                if same(channel.url, url):
                    return channel
        known = ", ".join(channel.url for channel in self.channels) or "none"
        raise ConfigError(
            f"no channel with url {url!r} in {self.config_path or 'the config'}:"
            f" give one of its channels' urls ({known})"
        )


def _is_under(url: str, prefix: str) -> bool:
    """``url`` is ``prefix`` or a page under it (both normalized by ``_normalize_url``)."""
    return url == prefix or (url.startswith(prefix) and url[len(prefix)] in "/?#")


def _normalize_url(url: str) -> str:
    url = url.strip().lower().split("://", 1)[-1].removeprefix("www.").removeprefix("m.")
    for suffix in ("/videos", "/featured", "/streams", "/"):
        url = url.removesuffix(suffix)
    return url


def default_data_dir() -> Path:
    """platformdirs' data dir for draftcast (``~/.local/share/draftcast`` on Linux)."""
    from platformdirs import user_data_dir

    return Path(user_data_dir("draftcast", appauthor=False))


def find_config_file() -> Path | None:
    """The config file: ``$DRAFTCAST_CONFIG``, else ``./config/draftcast.toml``, else the one
    beside the package; None when there is none.

    Raises:
        ConfigError: DRAFTCAST_CONFIG names a file that does not exist.
    """
    if env := os.environ.get("DRAFTCAST_CONFIG"):
        path = Path(env).expanduser()
        if not path.is_file():
            raise ConfigError(f"DRAFTCAST_CONFIG names {path}, which does not exist")
        return path
    for candidate in (Path.cwd() / DEFAULT_CONFIG, PROJECT_DIR / DEFAULT_CONFIG):
        if candidate.is_file():
            return candidate
    return None


def _draft_template(main: dict[str, Any], where: str, env: Mapping[str, str]) -> Path:
    """The draft template: DRAFTCAST_TEMPLATE, else the file's ``template``, else the bundled
    one; checked now, so that a wrong path is refused before anything is downloaded.

    Raises:
        ConfigError: the path is no file (naming the variable or the file's key).
    """
    given, named = _text("DRAFTCAST_TEMPLATE", "template", str(DEFAULT_TEMPLATE), main, where, env)
    template = _resolve_template(given)
    if not template.is_file():
        raise ConfigError(f"{named} = {given!r} is no file ({template}): give a Jinja2 template, as {DEFAULT_TEMPLATE}")
    return template


def _out_dir(main: dict[str, Any], where: str, env: Mapping[str, str]) -> Path:
    """Where drafts go: DRAFTCAST_OUT, else the file's ``out_dir``, else ``drafts``.

    Raises:
        ConfigError: the value is blank (spaces only: a folder named with spaces is a typo).
    """
    given, named = _text("DRAFTCAST_OUT", "out_dir", "drafts", main, where, env)
    if not given.strip():
        raise ConfigError(f"{named} = {given!r} is blank: give a folder, or leave it out for ./drafts")
    return Path(given).expanduser()


def _text(
    variable: str, key: str, default: str, main: dict[str, Any], where: str, env: Mapping[str, str]
) -> tuple[str, str]:
    """The text setting ``key`` of [draftcast]: ``variable`` from the environment first, else
    the file's, else ``default`` (an empty value is unset); with where it was set, for an
    error (``_named``).

    Raises:
        ConfigError: the file's value is not a string.
    """
    variable_value = env.get(variable)
    given = variable_value or _expect(main, key, str, where) or default
    return given, _named(variable, bool(variable_value), key, where)


def _named(variable: str, from_environment: bool, key: str, where: str) -> str:
    """Where a refused value was set, for its error: the environment's ``variable``, or the
    file's ``key`` (``where``: the file, and its table)."""
    return f"environment: {variable}" if from_environment else f"{where}: {key}"


def _resolve_template(value: str) -> Path:
    path = Path(value).expanduser()
    if path.is_absolute() or path.exists():
        return path.resolve()
    return PROJECT_DIR / path


def _expect(table: dict[str, Any], key: str, kind: type, where: str) -> Any:
    value = table.get(key)
    if value is not None and not isinstance(value, kind):
        name = getattr(kind, "__name__", str(kind))
        raise ConfigError(f"{where}: '{key}' must be {'an' if name[0] in 'aeiou' else 'a'} {name}, not {value!r}")
    return value


def _positive(
    variable: str,
    key: str,
    kind: type[int] | type[float],
    default: float,
    main: dict[str, Any],
    where: str,
    env: Mapping[str, str],
    says: tuple[str, str],
) -> Any:
    """The number ``key`` of [draftcast], above 0: ``variable`` from the environment first,
    else the file's (0 is a value, refused, not the default), else ``default``. ``says``:
    what a value must be, then what a valid one is, for the error.

    Raises:
        ConfigError: the variable is not a number of ``kind``, the file's value is not a
            number, or the value is 0 or less (naming the variable or the file's key).
    """
    raw = env.get(variable)
    if raw:
        try:
            value = kind(raw)
        except ValueError:
            raise ConfigError(f"{variable} must be {says[0]}, not {raw!r}") from None
    else:
        found = _expect(main, key, int if kind is int else int | float, where)
        value = kind(default if found is None else found)
    if not value > 0:
        raise ConfigError(f"{_named(variable, bool(raw), key, where)} must be {says[1]}, not {value:g}")
    return value


def _check_keys(raw: dict[str, Any], where: str) -> None:
    """Refuse sections and keys the loader does not read ([writer] checks its own).

    Raises:
        ConfigError: naming the file, the section and the unknown keys, with the known ones.
    """
    unknown = set(raw) - set(CONFIG_KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown section(s) {', '.join(sorted(unknown))} (known: {', '.join(CONFIG_KEYS)})")
    for section in ("draftcast", "channels", "poll", "suggest"):
        tables = raw.get(section, [])
        for index, table in enumerate(tables if isinstance(tables, list) else [tables]):
            unknown = set(table) - set(CONFIG_KEYS[section]) if isinstance(table, dict) else set()
            if unknown:
                here = f"channels[{index}]" if section == "channels" else f"[{section}]"
                known = ", ".join(CONFIG_KEYS[section])
                raise ConfigError(f"{where} {here}: unknown key(s) {', '.join(sorted(unknown))} (known: {known})")


def _suggest_settings(table: dict[str, Any], where: str) -> SuggestSettings:
    from pipeline.suggest import ENTITY_FIELDS

    names = {}
    for name in ENTITY_FIELDS:
        values = _expect(table, name, list, where) or []
        if not all(isinstance(v, str) for v in values):
            raise ConfigError(f"{where}: '{name}' must be a list of names")
        names[name] = values
    posts = tuple(Path(p).expanduser().resolve() for p in _expect(table, "posts", list, where) or [])
    return SuggestSettings(enabled=_expect(table, "enabled", bool, where) is not False, posts=posts, names=names)


def _writer_settings(table: dict[str, Any], where: str, env: Mapping[str, str]) -> WriterSettings:
    unknown = set(table) - set(CONFIG_KEYS["writer"])
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))} (the API key goes in an env variable)")
    defaults = WriterSettings()
    base_url = env.get("DRAFTCAST_WRITER_URL") or _expect(table, "base_url", str, where) or ""
    model = env.get("DRAFTCAST_WRITER_MODEL") or _expect(table, "model", str, where) or ""
    if base_url and not model:
        raise ConfigError(f"{where}: base_url is set but no model: name the model the endpoint serves")
    prompts = _expect(table, "prompts", str, where)
    return WriterSettings(
        base_url=base_url,
        model=model,
        api_key=env.get("DRAFTCAST_WRITER_API_KEY", ""),
        timeout_seconds=float(_expect(table, "timeout_seconds", int | float, where) or defaults.timeout_seconds),
        max_transcript_chars=int(_expect(table, "max_transcript_chars", int, where) or defaults.max_transcript_chars),
        prompts=_resolve_template(prompts) if prompts else defaults.prompts,
    )


def _choice(choices: type[Choice], value: str | None, name: str, where: str) -> Choice | None:
    """``value`` as one of ``choices`` (None stays None)."""
    if value is None:
        return None
    try:
        return choices(value)
    except ValueError:
        raise ConfigError(f"{where}: {name} must be {listed(choices)}, not {value!r}") from None


def _chosen(
    choices: type[Choice], key: str, default: Choice, main: dict[str, Any], where: str, env: Mapping[str, str]
) -> Choice:
    """The setting ``key`` of [draftcast], one of ``choices``: DRAFTCAST_<KEY> from the
    environment first (a wrong value's error names the variable, not the file), else the
    file's, else ``default``.

    Raises:
        ConfigError: the value is not one of ``choices``.
    """
    variable = f"DRAFTCAST_{key.upper()}"
    if env.get(variable):
        return _choice(choices, env[variable], variable, "environment") or default
    return _choice(choices, _expect(main, key, str, where) or None, key, where) or default  # '': the default


def _script(value: str | None, where: str) -> ChineseScript | None:
    return _choice(ChineseScript, value, "chinese_script", where)


def load_settings(config_path: Path | None = None) -> Settings:
    """Settings from the config file (``config_path``, else found as the module says) and
    the environment, which wins. Relative paths resolve against the current directory.

    Raises:
        ConfigError: the file cannot be read or is not TOML; an unknown section or key; a
            value of the wrong type or not one of its choices; an environment value that
            does not parse; a channel without a url, or with a bad pattern or date; a
            [writer] base_url without a model. The message names the file and key, or the variable.
    """
    path = config_path or find_config_file()
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read config file {path}: {exc}") from exc
    where = str(path or "config")
    _check_keys(raw, where)
    main = raw.get("draftcast", {})
    env = os.environ
    data_dir = env.get("DRAFTCAST_HOME") or _expect(main, "data_dir", str, where) or str(default_data_dir())
    language = env.get("DRAFTCAST_LANGUAGE", _expect(main, "language", str, where) or "") or None
    # whisper asserts the beam size only when it decodes, after the download
    beam_size = _positive("DRAFTCAST_BEAM_SIZE", "beam_size", int, 5, main, where, env,
                          ("a whole number", "1 or more (1: greedy; 5: whisper's beam search)"))  # fmt: skip
    delays = env.get("DRAFTCAST_RETRY_DELAYS")
    try:
        retry_delays = (
            tuple(float(d) for d in delays.split(",") if d.strip())
            if delays is not None
            else tuple(_expect(main, "network_retry_delays", list, where) or NETWORK_RETRY_DELAYS)
        )
    except ValueError as exc:
        raise ConfigError(f"DRAFTCAST_RETRY_DELAYS must be seconds separated by commas, not {delays!r}") from exc
    timeout = _positive("DRAFTCAST_NETWORK_TIMEOUT", "network_timeout_seconds", float, 30, main, where, env,
                        ("seconds", "seconds above 0 (30 by default)"))  # fmt: skip
    if any(isinstance(delay, bool) or not isinstance(delay, int | float) or delay < 0 for delay in retry_delays):
        named = _named("DRAFTCAST_RETRY_DELAYS", delays is not None, "network_retry_delays", where)
        listed = ", ".join(str(delay) for delay in retry_delays)
        raise ConfigError(f"{named} must be seconds of 0 or more, such as 2, 10, 30; not {listed}")
    channels = []
    for index, table in enumerate(raw.get("channels", [])):
        if not isinstance(table, dict) or not isinstance(table.get("url"), str):
            raise ConfigError(f"{where}: channels[{index}] needs a url")
        here = f"{where} channels[{index}]"
        patterns = {}
        for name in ("include", "exclude"):
            patterns[name] = tuple(_expect(table, name, list, here) or ())
            for pattern in patterns[name]:
                try:
                    re.compile(pattern)
                except (re.error, TypeError) as exc:
                    raise ConfigError(f"{here}: {name} pattern {pattern!r} is not a regular expression: {exc}") from exc
        vocabulary = _expect(table, "vocabulary", list, here) or []
        if not all(isinstance(term, str) for term in vocabulary):
            raise ConfigError(f'{here}: vocabulary must be a list of names, such as ["黄仁勋", "TSMC"]')
        odd = next((term for term in vocabulary if not term.strip() or len(term.strip()) > MAX_TERM_CHARS), None)
        if odd is not None:  # "" is an entry too: falsy, so compared with None
            raise ConfigError(
                f"{here}: vocabulary holds {odd[:50]!r}{'…' if len(odd) > 50 else ''}: each entry is one name or"
                f" term of 1 to {MAX_TERM_CHARS} characters (remove the empty or overlong one)"
            )
        after = table.get("published_after")
        if after is not None and not isinstance(after, dt.date):
            raise ConfigError(f"{here}: published_after must be a date such as 2025-10-01, not {after!r}")
        channels.append(
            Channel(
                url=table["url"],
                speaker=_expect(table, "speaker", str, here) or "",
                uploader=_expect(table, "uploader", str, here) or "",
                language=_expect(table, "language", str, here) or None,
                model=_expect(table, "model", str, here) or None,
                front_matter=_expect(table, "front_matter", dict, here) or {},
                poll=_expect(table, "poll", bool, here) is not False,
                include=patterns["include"],
                exclude=patterns["exclude"],
                published_after=after,
                backfill=bool(_expect(table, "backfill", bool, here)),
                chinese_script=_script(_expect(table, "chinese_script", str, here), here),
                host=" ".join((_expect(table, "host", str, here) or "").split()),
                vocabulary=tuple(term.strip() for term in vocabulary if term.strip()),
                diarize=_expect(table, "diarize", bool, here),
            )
        )
    suggest = _suggest_settings(_expect(raw, "suggest", dict, where) or {}, f"{where} [suggest]")
    poll_table = _expect(raw, "poll", dict, where) or {}
    defaults = PollSettings()
    try:
        poll = PollSettings(
            deployment=str(poll_table.get("deployment", defaults.deployment)),
            max_attempts=int(poll_table.get("max_attempts", defaults.max_attempts)),
            retry_after=tuple(float(m) * 60 for m in poll_table["retry_after_minutes"])
            if "retry_after_minutes" in poll_table
            else defaults.retry_after,
            lookback_days=float(poll_table.get("lookback_days", defaults.lookback_days)),
            max_transcriptions=int(poll_table.get("max_transcriptions", defaults.max_transcriptions)),
            run_timeout_hours=float(poll_table.get("run_timeout_hours", defaults.run_timeout_hours)),
        )
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: [poll] has a value of the wrong kind: {exc}") from exc
    ledger = env.get("DRAFTCAST_LEDGER") or _expect(main, "ledger", str, where)
    captions = _chosen(CaptionPolicy, "captions", CaptionPolicy.HUMAN, main, where, env)
    vad = _expect(main, "vad", bool, where)
    engine = _chosen(EngineName, "engine", EngineName.OPENAI_WHISPER, main, where, env)
    compute_type = _chosen(ComputeType, "compute_type", ComputeType.AUTO, main, where, env)
    return Settings(
        out_dir=_out_dir(main, where, env),
        data_dir=Path(data_dir).expanduser(),
        model=env.get("DRAFTCAST_MODEL") or _expect(main, "model", str, where) or "base",
        language=language,
        beam_size=beam_size,
        template=_draft_template(main, where, env),
        front_matter={**BLOG_FRONT_MATTER, **(_expect(raw, "front_matter", dict, where) or {})},
        channels=tuple(channels),
        network_retry_delays=retry_delays,
        network_timeout_seconds=timeout,
        poll=poll,
        suggest=suggest,
        writer=_writer_settings(_expect(raw, "writer", dict, where) or {}, f"{where} [writer]", env),
        ledger=Path(ledger).expanduser() if ledger else None,
        captions=captions,
        engine=engine,
        compute_type=compute_type,
        max_duration_hours=float(_expect(main, "max_duration_hours", int | float, where) or 6),
        max_download_mb=float(_expect(main, "max_download_mb", int | float, where) or 4096),
        vad=vad is not False,
        diarize=_expect(main, "diarize", bool, where) is not False,
        chinese_script=_script(_expect(main, "chinese_script", str, where), where) or ChineseScript.SIMPLIFIED,
        config_path=path,
    )
