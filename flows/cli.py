"""The ``draftcast`` command. It starts flows, so it lives beside them.

Prefect runs embedded by default: an ephemeral API on SQLite under draftcast's data dir,
in a process this one starts and stops, with telemetry off. Set PREFECT_API_URL to use a Prefect server.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import logging
import logging.handlers
import os
import re
import signal
import sys
import time
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.choices import EngineName
from pipeline.config import Settings, load_settings
from pipeline.errors import ConfigError, DraftcastError

if TYPE_CHECKING:
    from pipeline.draft import DraftResult


def _prepare_prefect(settings: Settings) -> None:
    """Prefect's environment; must be set before Prefect is imported."""
    settings.prefect_home.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PREFECT_HOME", str(settings.prefect_home))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # the client's telemetry too (Prefect 3.9 prints a notice on a terminal without it)
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "pipeline")
    # The work files are draftcast's cache; Prefect's own results need not be kept.
    os.environ.setdefault("PREFECT_RESULTS_PERSIST_BY_DEFAULT", "false")
    # pipeline logs from outside a flow run (the CLI's prefetch) go to the console only
    os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")


RUN_LOGGERS = ("prefect.flow_runs", "prefect.task_runs")
# Prefect's senders of events and logs to its API; at exit they send what is queued and
# warn "Still processing items" while they do: a note, nothing is lost.
SENDERS = ("EventsWorker", "APILogWorker")


class _ConsoleFilter(logging.Filter):
    """What the person at the terminal needs: expected failures without their tracebacks
    (those stay in Prefect's API), no notes on the temporary server's start and stop or on
    the last events being sent at exit, and no links to a UI that the embedded API does
    not serve. With ``cli_says_errors`` (draftcast ingest, which ends a failed run with
    its one ``draftcast: error:`` line) the runs' own reports of an expected failure and
    of a failed end stay off the console too (the same error would show four times), and
    a retry's line gives the cause without the URL and the advice that line will give."""

    def __init__(self, hide_ui_links: bool, cli_says_errors: bool = False) -> None:
        super().__init__()
        self.hide_ui_links = hide_ui_links
        self.cli_says_errors = cli_says_errors

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)
        if record.name == "prefect" and record.levelno < logging.WARNING:
            return False
        if record.name in SENDERS and message.startswith("Still processing items"):
            return False
        if self.hide_ui_links and message.startswith("View at "):
            return False
        expected = record.exc_info is not None and isinstance(record.exc_info[1], DraftcastError)
        if self.cli_says_errors and record.name in RUN_LOGGERS:
            if expected:  # "Encountered exception during execution", "Retries are exhausted"
                return False
            if message.startswith("Task run failed with "):
                _retry_line(record)
            if message.startswith("Finished in state ") and not message.startswith(
                ("Finished in state Completed", "Finished in state Cached")
            ):
                return False
        if expected:
            record.exc_info, record.exc_text = None, None
        return True


def _retry_line(record: logging.LogRecord) -> None:
    """Prefect's "Task run failed with exception: SourceUnavailable('URL: cause; what to
    do') - Retry 1/3 will start 2.0 second(s) from now" as "retry 1/3 in 2 s: cause"."""
    if not (isinstance(record.args, tuple) and len(record.args) == 5 and isinstance(record.args[1], DraftcastError)):
        return
    _, error, attempt, retries, when = record.args
    cause = str(error).split("; ")[0]
    if re.match(r"[a-z][a-z0-9+.-]*://\S*: ", cause):
        cause = cause.split(": ", 1)[1]
    seconds = re.match(r"[\d.]+", str(when))
    after = f"in {float(seconds.group()):g} s" if seconds else "now"
    record.msg, record.args = "retry %s/%s %s: %s", (attempt, retries, after, cause)


def _filter_console(hide_ui_links: bool, cli_says_errors: bool) -> None:
    """Prefect's console handler sits on the root logger; filter it there, and write its
    lines between the progress bars (``_between_bars``)."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler) and not any(
            isinstance(f, _ConsoleFilter) for f in handler.filters
        ):
            handler.addFilter(_ConsoleFilter(hide_ui_links, cli_says_errors))
            handler.emit = _between_bars(handler)  # type: ignore[method-assign]


def _between_bars(handler: logging.StreamHandler) -> Callable[[logging.LogRecord], None]:
    """``handler.emit`` with the progress bars drawn on its stream cleared first and drawn
    again after (tqdm's ``external_write_mode``): a line logged while the download's or the
    transcription's bar is on screen (Prefect's flow starting during a long download, a
    head start's held lines) starts a line of its own instead of continuing the bar's."""
    from tqdm import tqdm

    emit = handler.emit

    def emit_between_bars(record: logging.LogRecord) -> None:
        with tqdm.external_write_mode(file=handler.stream):
            emit(record)

    return emit_between_bars


def _start_prefect(settings: Settings, *, hide_ui_links: bool = False, cli_says_errors: bool = False) -> None:
    """Prefect's environment and console logging, before any flow runs."""
    _prepare_prefect(settings)
    from prefect.logging.configuration import setup_logging

    _with_every_handler_whole(setup_logging)
    _filter_console(hide_ui_links, cli_says_errors)


def _with_every_handler_whole(configure: Callable[[], object], *, patience: float = 1.0) -> None:
    """Run ``configure`` (a non-incremental ``logging.config.dictConfig``, such as Prefect's
    ``setup_logging``) while no other thread is midway through making a logging handler.

    dictConfig closes every handler in logging's list, taking each one's lock; a handler is
    listed before its lock exists (``logging.Handler.__init__`` calls ``_addHandlerRef``, then
    ``createLock``). The head start's threads make handlers while Prefect's logging is set up
    (torch's import makes two, yt-dlp's request handler one), so one caught between the two
    steps failed the ingest with "AttributeError: 'StreamHandler' object has no attribute
    'lock'" (CPython 3.11's logging; seen once in 8 concurrent ingests). logging's module lock,
    held across the check and ``configure``, keeps new handlers out of the list; a listed one
    without its lock is finishing ``createLock``, which needs no module lock: wait for it.

    Args:
        configure: called once, with logging's module lock held (dictConfig takes it again).
        patience: seconds to wait for handlers midway; after that ``configure`` runs anyway.
    """
    give_up = time.monotonic() + patience
    while True:
        with logging._lock:  # type: ignore[attr-defined]  # logging's module lock (stdlib)
            handlers = (ref() for ref in logging._handlerList)  # type: ignore[attr-defined]
            if time.monotonic() > give_up or all(hasattr(h, "lock") for h in handlers if h is not None):
                configure()
                return
        time.sleep(0.001)


def _hold_pipeline_logs() -> logging.handlers.MemoryHandler:
    """Keep the ``pipeline`` loggers' records (INFO and up) until Prefect's console
    logging is set up: a head start that downloads before then is otherwise not told."""
    held = logging.handlers.MemoryHandler(capacity=10_000, flushLevel=logging.CRITICAL + 1)
    pipeline_log = logging.getLogger("pipeline")
    pipeline_log.setLevel(logging.INFO)
    pipeline_log.addHandler(held)
    return held


class _Replay(logging.Handler):
    """Hands a held record to its logger's handlers of now."""

    def emit(self, record: logging.LogRecord) -> None:
        logging.getLogger(record.name).handle(record)


def _release_logs(held: logging.handlers.MemoryHandler) -> None:
    """Hand the held records to the handlers set up since, in the order they were made;
    one the head start's thread is emitting as this runs is passed on too."""
    logging.getLogger("pipeline").removeHandler(held)
    with held.lock:
        held.setTarget(_Replay())
        held.flushLevel = logging.NOTSET
    held.flush()


def ingest(args: argparse.Namespace) -> int:
    """``draftcast ingest URL``: one video into one draft, by the ``ingest-video`` flow on
    the embedded API (or the server at PREFECT_API_URL), with a head start while it starts.
    Prints the draft's path on stdout. Returns 0, or 3 when the draft was removed since it
    was written and is not written again (``--rewrite`` does).

    Raises:
        ConfigError, SourceError, SourceUnavailable, NotReady, ModelError, AudioError,
        NoSpeechError, OutputError: as ``flows.ingest.ingest_video`` (``main`` prints them).
    """
    import atexit
    import dataclasses

    from flows.server import start_embedded_api
    from pipeline.draft import Outcome
    from pipeline.headstart import HeadStart
    from pipeline.plan import check_request

    settings = load_settings()
    if args.out:
        settings = dataclasses.replace(settings, out_dir=Path(args.out))
    # What no video could make work is refused here: before Prefect starts, before the
    # head start asks the site anything, before any download.
    check_request(
        args.url,
        settings,
        model=args.model,
        language=args.language,
        engine=args.engine,
        allow_local_files=args.allow_local_files,
    )
    options = {
        "model": args.model,
        "language": args.language,
        "engine": args.engine,
        "speakers": False if args.no_speakers else None,
    }
    # The metadata first: a draft with nothing to do is told before Prefect starts.
    head_start = HeadStart(args.url)
    head_start.ask(settings, allow_local_files=args.allow_local_files)
    nothing_to_do = head_start.up_to_date(settings, speaker=args.speaker, rewrite=args.rewrite, **options)
    for line in head_start.learned:
        print(f"draftcast: {line}", file=sys.stderr)
    if nothing_to_do is not None:
        if nothing_to_do.outcome is not Outcome.KEPT_REMOVED:  # _finished says that one
            print(f"draftcast: {nothing_to_do.message}", file=sys.stderr)
        return _finished(nothing_to_do)
    _prepare_prefect(settings)
    server_url = os.environ.get("PREFECT_API_URL")
    where = server_url or f"embedded Prefect in {os.environ['PREFECT_HOME']}"
    print(f"draftcast: ingesting {args.url} ({where})", file=sys.stderr, flush=True)
    # Prefect's API starts in its own process; meanwhile this one follows the ingest's
    # plan as far as it can (model, download, decoding) and hands it to the flow. Its
    # logs wait for Prefect's console handler, so that they show once, in order.
    held = _hold_pipeline_logs()
    head_start.start(settings, **options, allow_local_files=args.allow_local_files)
    embedded = None
    try:
        if not server_url:
            embedded = start_embedded_api(settings.prefect_home)
            os.environ["PREFECT_API_URL"] = embedded.url  # before Prefect is imported
            # registered before Prefect's own exit handlers, so it runs after them: Prefect
            # sends its last logs to the API before the API stops
            atexit.register(embedded.stop)
        _start_prefect(settings, hide_ui_links=embedded is not None, cli_says_errors=True)
    finally:
        _release_logs(held)
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    from flows.ingest import ingest_video

    if embedded:
        embedded.wait_ready()
    # Heartbeats tell a server that a run's process died; the embedded API dies with it.
    # Their thread sleeps in 1-second steps and is joined at the end (0.2-1.0 s, BENCHMARKS.md).
    heartbeats = {PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None} if embedded else {}
    with temporary_settings(updates=heartbeats):
        result = ingest_video(
            url=args.url,
            speaker=args.speaker,
            out_dir=str(args.out) if args.out else None,
            allow_local_files=args.allow_local_files,
            rewrite=args.rewrite,
            head_start=head_start,
            **options,
        )
    return _finished(result)


def _finished(result: DraftResult) -> int:
    """Print the draft's path on stdout; 0, or 3 when it was removed since it was written."""
    from pipeline.draft import Outcome

    if result.outcome is Outcome.KEPT_REMOVED:  # moved or deleted by an editor since: the log says so
        print(
            f"draftcast: no draft written: {result.path} was removed since it was written (--rewrite)", file=sys.stderr
        )
        return 3
    print(result.path)
    return 0


def _require_server(command: str) -> None:
    if not os.environ.get("PREFECT_API_URL"):
        raise ConfigError(
            f"draftcast {command} needs a Prefect server: set PREFECT_API_URL "
            "(or use draftcast serve, which starts one on this machine)"
        )


def setup(args: argparse.Namespace) -> int:
    """``draftcast setup``: the work pool (``--pool``) and the transcription limit (the
    config's ``max_transcriptions``) on the server at PREFECT_API_URL; prints what it did.

    Raises:
        ConfigError: PREFECT_API_URL is not set, or the config.
    """
    settings = load_settings()
    _require_server("setup")
    _start_prefect(settings)
    from flows.service import ensure_setup

    for line in ensure_setup(max_transcriptions=settings.poll.max_transcriptions, pool=args.pool):
        print(f"draftcast: {line}")
    return 0


STOP_SECONDS = 30  # draftcast serve exits at most this long after SIGINT or SIGTERM


def serve(args: argparse.Namespace) -> int:
    """``draftcast serve``: a Prefect server on 127.0.0.1:``--port`` (unless PREFECT_API_URL
    names one), then both deployments served from this process, polling every
    ``--interval-minutes``, until SIGINT or SIGTERM; it exits within STOP_SECONDS of one.
    Returns 0.

    Raises:
        ConfigError: the config, or the port is taken or the server did not start.
    """
    import threading

    settings = load_settings()
    _prepare_prefect(settings)
    from flows.server import start_server, stop_process

    server = None
    if not os.environ.get("PREFECT_API_URL"):
        print(f"draftcast: starting a Prefect server on 127.0.0.1:{args.port} …", file=sys.stderr, flush=True)
        server, api_url = start_server(settings.prefect_home / "server", args.port)
        os.environ["PREFECT_API_URL"] = api_url  # before Prefect is imported below
        print(
            f"draftcast: Prefect UI at {api_url.removesuffix('/api')}; in another shell:\n"
            f"  export PREFECT_API_URL={api_url}\n"
            "  prefect deployment run 'ingest-video/ingest' --param url=URL",
            file=sys.stderr,
            flush=True,
        )

    def interrupted(signum: int, frame: object) -> None:
        """Leave as on Ctrl-C, stopping the server too; a service manager sends SIGTERM.
        Prefect's runner was seen to take over a minute to wind down under load: after
        STOP_SECONDS the server is killed and this process exits regardless."""

        def force() -> None:
            """Kill the server's process group and leave at once."""
            if server is not None:
                os.killpg(server.pid, signal.SIGKILL)
            os._exit(130)

        timer = threading.Timer(STOP_SECONDS, force)
        timer.daemon = True
        timer.start()
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupted)
    signal.signal(signal.SIGTERM, interrupted)
    try:
        _start_prefect(settings)
        from flows.service import serve as serve_deployments

        serve_deployments(settings, interval_minutes=args.interval_minutes)
    except KeyboardInterrupt:
        print("draftcast: stopped", file=sys.stderr)
    finally:
        if server is not None:
            stop_process(server)
    return 0


def poll(args: argparse.Namespace) -> int:
    """``draftcast poll``: one poll now (``flows.poll.poll_channels``) on the server at
    PREFECT_API_URL; prints its summary. Returns 0.

    Raises:
        ConfigError: PREFECT_API_URL is not set, or the config.
    """
    settings = load_settings()
    _require_server("poll")
    _start_prefect(settings)
    from flows.poll import poll_channels

    print(poll_channels())
    return 0


def status(args: argparse.Namespace) -> int:
    """``draftcast status``: the ledger's videos counted by state, then those that need a
    person (failed, given up, waiting; ``--all``: every one) with their last error.
    Returns 0.

    Raises:
        ConfigError: the config.
    """
    from pipeline.ledger import Ledger, State

    settings = load_settings()
    videos = Ledger(settings.ledger_path).all()
    counts = {state: sum(v.state == state for v in videos) for state in State}
    print(", ".join(f"{count} {state}" for state, count in counts.items() if count) or "the ledger is empty")
    shown = videos if args.all else [v for v in videos if v.state in (State.FAILED, State.GAVE_UP, State.WAITING)]
    if not shown:
        return 0
    rows = [[str(v.state), str(v.attempts), str(v.updated_at), _one_line(v.title), v.url] for v in shown]
    lines = _table(("STATE", "TRIES", "UPDATED", "TITLE", "URL"), rows)
    print(lines[0])
    for video, line in zip(shown, lines[1:], strict=True):
        print(line)
        if video.last_error and video.state != State.DRAFTED:
            print(f"  last error: {video.last_error}")
    return 0


def _one_line(title: str, limit: int = 60) -> str:
    """A title on one line, at most ``limit`` characters, whatever it holds."""
    return " ".join(title.split())[:limit]


def _width(text: str) -> int:
    """Columns ``text`` takes in a terminal: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """The header and the rows as lines of aligned columns (the last one ragged)."""
    widths = [max(_width(row[i]) for row in [header, *rows]) for i in range(len(header) - 1)]
    return [
        "  ".join([*(cell + " " * (w - _width(cell)) for cell, w in zip(row, widths, strict=False)), row[-1]])
        for row in [header, *rows]
    ]


def _date(value: str | None, option: str) -> str | None:
    """``value`` as YYYY-MM-DD, the form drafts' dates are compared in.

    Raises:
        ConfigError: ``value`` is not a date written YYYY-MM-DD.
    """
    if value is None:
        return None
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise ValueError
        return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        raise ConfigError(f"{option} {value!r} is not a date: write it YYYY-MM-DD, for example 2025-10-28") from None


def list_models(args: argparse.Namespace) -> int:
    """``draftcast models``: what each model name would load from; ``draftcast models
    prepare NAME``: NAME prepared for openai-whisper now, its checkpoint printed. Returns 0.

    Raises:
        ModelError: as ``models.resolve_model`` (an unknown name, a missing file, weights
            that cannot be had offline or downloaded).
        ConfigError: the config.
    """
    from pipeline import models

    settings = load_settings()
    if args.name:
        # the one place a model is downloaded: asked for by name, ahead of any ingest
        resolved = models.resolve_model(args.name, models_dir=settings.models_dir, download=True)
        print(f"{resolved.name}: {resolved.path} ({resolved.origin})")
        return 0
    rows = models.list_models(models_dir=settings.models_dir)
    width = max(len(row.name) for row in rows)
    for row in rows:
        print(f"{row.name:<{width}}  {row.state:<26}  {row.where}")
    return 0


def drafts(args: argparse.Namespace) -> int:
    """``draftcast drafts``: the drafts waiting in the output dir (``pipeline.listing``),
    newest first, one line each or ``--json``; filtered by ``--speaker``, ``--channel``,
    ``--since``, ``--until`` (YYYY-MM-DD, included). Returns 0, even when there are none.

    Raises:
        ConfigError: ``--channel`` names no configured channel, ``--since`` is after
            ``--until``, the output dir is not a folder, or the config.
    """
    import json

    from pipeline.listing import list_drafts
    from pipeline.store import DraftStore

    since, until = _date(args.since, "--since"), _date(args.until, "--until")
    if since and until and since > until:
        raise ConfigError(f"--since {since} is after --until {until}: no draft can be dated in between")
    settings = load_settings()
    out_dir = Path(args.out or settings.out_dir)
    if not out_dir.is_dir():
        raise ConfigError(f"{out_dir} is not a folder of drafts: check --out (or out_dir in the config)")
    channel = settings.channel_named(args.channel) if args.channel else None
    entries = list_drafts(
        out_dir,
        DraftStore(settings.store_path),
        include_published=args.all,
        speaker=args.speaker,
        since=since,
        until=until,
    )
    if channel is not None:
        entries = [e for e in entries if channel.matches(e.source, uploader=e.speaker) or e.speaker == channel.speaker]
    if args.json:
        print(json.dumps([e.to_dict() for e in entries], ensure_ascii=False, indent=1))
        return 0
    if not entries:
        print(f"no drafts waiting in {out_dir}", file=sys.stderr)
        return 0
    rows = [[e.date, e.state, _one_line(e.title), e.speaker, e.source, e.path] for e in entries]
    for line in _table(("DATE", "STATE", "TITLE", "SPEAKER", "SOURCE", "PATH"), rows):
        print(line)
    return 0


def voices(args: argparse.Namespace) -> int:
    """``draftcast voices``: the known voices (name, scope, where each came from, date)
    under a header line; ``voices add NAME AUDIO`` enrols NAME from a local recording,
    ``voices remove NAME`` forgets it; ``--channel URL`` (a configured channel) limits
    either to that channel's videos. Returns 0.

    Raises:
        VoiceError: an empty name, a missing file, too little speech, an unknown name to
            remove, a store that cannot be read or written.
        AudioError: the file cannot be decoded.  ConfigError: ``--channel`` or the config.
    """
    from pipeline.voices import VoiceStore

    settings = load_settings()
    store = VoiceStore(settings.voices_path)
    channel = settings.channel_named(args.channel).url if args.channel else None
    where = channel or "all channels"
    if args.voices_command == "add":
        voice = store.enrol_file(args.voice_name, Path(args.audio), channel)
        print(f"enrolled {voice.name} for {where} from {args.audio}")
        return 0
    if args.voices_command == "remove":
        forgotten = store.forget(args.voice_name, channel)
        print(f"forgot {forgotten[0].name} for {where} ({len(forgotten)} sample(s))")
        return 0
    known = store.known()
    if not known:
        print("no voices known: draftcast voices add NAME AUDIO enrols one", file=sys.stderr)
        return 0
    rows = [[_one_line(v.name), v.scope or "all channels", v.source, v.date] for v in known]
    for line in _table(("NAME", "SCOPE", "SOURCE", "DATE"), rows):
        print(line)
    return 0


def vocabulary(args: argparse.Namespace) -> int:
    """``draftcast vocabulary``: the corrections learned from editors' drafts (wrong, right,
    scope, the draft each came from, date, and whether it is applied) under a header line,
    ``--channel URL`` (a configured channel) only that channel's; ``vocabulary remove
    WRONG`` forgets the corrections of WRONG, for that channel (default: videos of no
    channel). Returns 0.

    Raises:
        CorrectionError: nothing learned to remove, a store that cannot be read or written.
        ConfigError: ``--channel`` or the config.
    """
    from pipeline.corrections import CorrectionStore, ambiguous

    settings = load_settings()
    store = CorrectionStore(settings.corrections_path)
    channel = settings.channel_named(args.channel).url if args.channel else None
    if args.vocabulary_command == "remove":
        forgotten = store.forget(args.wrong, channel)
        rights = ", ".join(r.right for r in forgotten)
        print(f"forgot {forgotten[0].wrong} → {rights} for {channel or 'videos of no channel'}")
        return 0
    learned = store.learned(channel)
    if not learned:
        print("no corrections learned: an editor's corrections in a draft are learned at the channel's next ingest "
              "or poll", file=sys.stderr)  # fmt: skip
        return 0
    scopes = {r.scope for r in learned}
    unclear = {(s, wrong) for s in scopes for wrong in ambiguous(r for r in learned if r.scope == s)}
    rows = [
        [
            _one_line(r.wrong),
            _one_line(r.right),
            r.scope or "videos of no channel",
            r.source,
            r.date,
            "ambiguous: not in effect" if (r.scope, r.wrong) in unclear else "in effect",
        ]
        for r in learned
    ]
    for line in _table(("WRONG", "RIGHT", "SCOPE", "SOURCE", "DATE", "STATE"), rows):
        print(line)
    return 0


def _folder(value: str) -> str:
    """An ``--out`` value as given, unless it is empty or blank (which would otherwise mean
    the config's ``out_dir`` without a word).

    Raises:
        argparse.ArgumentTypeError: the value is empty (argparse prints it, naming --out).
    """
    if not value.strip():
        raise argparse.ArgumentTypeError("an empty path: give a folder, or leave --out out for the config's out_dir")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The ``draftcast`` command line: one subcommand per handler, each setting ``handler``."""
    parser = argparse.ArgumentParser(prog="draftcast", description="Turn video interviews into draft blog posts.")
    commands = parser.add_subparsers(dest="command", required=True)

    ingest_parser = commands.add_parser("ingest", help="transcribe one video URL into a Markdown draft")
    ingest_parser.add_argument("url", help="the video's web address (http or https)")
    ingest_parser.add_argument("--speaker", help="the draft's speaker (default: the channel's, else the uploader)")
    ingest_parser.add_argument("--out", type=_folder, help="directory for the draft (default: out_dir in the config)")
    ingest_parser.add_argument("--model", help="whisper model name (tiny.en, base, …) or checkpoint path")
    ingest_parser.add_argument("--language", help="spoken language code (en, zh, …); default: detected")
    ingest_parser.add_argument(
        "--engine", choices=[str(engine) for engine in EngineName], help="speech engine (default: the config's)"
    )
    ingest_parser.add_argument("--allow-local-files", action="store_true", help="accept file:// URLs and paths")
    ingest_parser.add_argument("--rewrite", action="store_true", help="write again a draft that was moved or deleted")
    ingest_parser.add_argument(
        "--no-speakers", action="store_true", help="no speaker turns in the draft (default: the config's diarize)"
    )
    ingest_parser.set_defaults(handler=ingest)

    models_parser = commands.add_parser("models", help="list the whisper models draftcast can use")
    models_commands = models_parser.add_subparsers(dest="models_command")
    prepare_parser = models_commands.add_parser("prepare", help="prepare a model ahead of time (offline)")
    prepare_parser.add_argument("name", help="model name or checkpoint path")
    models_parser.set_defaults(handler=list_models, name=None)

    setup_parser = commands.add_parser("setup", help="create the work pool and the transcription limit on a server")
    setup_parser.add_argument("--pool", default="draftcast", help="work pool name (default: draftcast)")
    setup_parser.set_defaults(handler=setup)

    serve_parser = commands.add_parser("serve", help="serve the ingest and poll deployments from this machine")
    serve_parser.add_argument("--port", type=int, default=4200, help="port of the local Prefect server (default 4200)")
    serve_parser.add_argument("--interval-minutes", type=float, default=60, help="poll every N minutes (default 60)")
    serve_parser.set_defaults(handler=serve)

    poll_parser = commands.add_parser("poll", help="poll the configured channels once, now")
    poll_parser.set_defaults(handler=poll)

    drafts_parser = commands.add_parser("drafts", help="list the drafts waiting for editors, newest first")
    drafts_parser.add_argument("--out", type=_folder, help="the drafts dir (default: out_dir in the config)")
    drafts_parser.add_argument("--speaker", help="only this speaker's drafts")
    drafts_parser.add_argument("--channel", help="only drafts of this configured channel (its url)")
    drafts_parser.add_argument("--since", help="only drafts dated on or after YYYY-MM-DD")
    drafts_parser.add_argument("--until", help="only drafts dated on or before YYYY-MM-DD")
    drafts_parser.add_argument("--all", action="store_true", help="published ones too (draft: false)")
    drafts_parser.add_argument("--json", action="store_true", help="JSON for scripts")
    drafts_parser.set_defaults(handler=drafts)

    voices_parser = commands.add_parser("voices", help="list the voices drafts name; add or remove one")
    voices_commands = voices_parser.add_subparsers(dest="voices_command")
    add_parser = voices_commands.add_parser("add", help="enrol a voice from a recording of that person alone")
    add_parser.add_argument("voice_name", metavar="NAME", help="the name drafts give the voice")
    add_parser.add_argument("audio", metavar="AUDIO", help="a local audio or video file: 3 s or more of them speaking")
    remove_parser = voices_commands.add_parser("remove", help="forget a voice")
    remove_parser.add_argument("voice_name", metavar="NAME", help="the name of the voice")
    for voice_parser in (add_parser, remove_parser):
        voice_parser.add_argument("--channel", help="for this configured channel's videos only (default: all channels)")
    voices_parser.set_defaults(handler=voices, voices_command=None, channel=None)

    vocabulary_parser = commands.add_parser("vocabulary", help="list the corrections learned from editors; remove one")
    vocabulary_parser.add_argument("--channel", help="only this configured channel's (its url)")
    vocabulary_commands = vocabulary_parser.add_subparsers(dest="vocabulary_command")
    forget_parser = vocabulary_commands.add_parser("remove", help="forget the corrections of a wrong form")
    forget_parser.add_argument("wrong", metavar="WRONG", help="the wrong form, as the listing shows it")
    forget_parser.add_argument(  # SUPPRESS: `vocabulary --channel URL remove WRONG` keeps the URL given first
        "--channel",
        default=argparse.SUPPRESS,
        help="for this configured channel's videos (default: videos of no channel)",
    )
    vocabulary_parser.set_defaults(handler=vocabulary, vocabulary_command=None, channel=None)

    status_parser = commands.add_parser("status", help="what polling found, launched, drafted and failed")
    status_parser.add_argument("--all", action="store_true", help="every video, not only those needing a person")
    status_parser.set_defaults(handler=status)
    # An unknown option is told with the usage of the command it was given to
    # ("draftcast ingest --bogus"), not the top-level one (argparse's own way).
    stack = [parser]
    while stack:
        for action in stack.pop()._actions:
            if isinstance(action, argparse._SubParsersAction):
                for command_parser in action.choices.values():
                    command_parser.set_defaults(command_parser=command_parser)
                    stack.append(command_parser)
    return parser


# Where an argument that is not UTF-8 came from, for the error line (options are named by
# their dest, --speaker for speaker).
POSITIONALS = {
    "url": "the URL",
    "name": "the model name",
    "voice_name": "the voice's name",
    "audio": "the audio file",
    "wrong": "the wrong form",
}


def _check_utf8(args: argparse.Namespace) -> None:
    """Python hands arguments that are not UTF-8 over with lone surrogates in them
    (surrogateescape); such text could reach neither a draft nor a log.

    Raises:
        ConfigError: naming the first such argument and showing its bytes.
    """
    for dest, value in vars(args).items():
        if not isinstance(value, str):
            continue
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            try:
                shown = value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            except UnicodeEncodeError:  # a surrogate that stands for no byte
                shown = value.encode("utf-8", "backslashreplace").decode()
            name = POSITIONALS.get(dest, f"--{dest.replace('_', '-')}")
            raise ConfigError(
                f"{name} '{shown}' is not UTF-8 text: give it in UTF-8 (a UTF-8 locale, or iconv -t UTF-8)"
            ) from None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command in ``argv`` (None: the process's arguments); returns the exit code:
    0 done, 1 a DraftcastError (one line on stderr, naming the URL), 3 a removed draft not
    written again, 130 interrupted. Bad arguments exit with 2 (argparse)."""
    args, unknown = build_parser().parse_known_args(argv)
    if unknown:
        args.command_parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    del args.command_parser
    if args.handler in (list_models, status, drafts, voices, vocabulary):  # the others log through Prefect's handlers
        logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    try:
        _check_utf8(args)
    except ConfigError as error:
        print(f"draftcast: error: {error}", file=sys.stderr)
        return 1
    try:
        code = args.handler(args)
        sys.stdout.flush()  # here, where a reader that went away can be told apart
        if argv is None:  # the process ends next
            # The interpreter's last garbage collection walks every object of torch, Prefect
            # and the model at exit (0.7 of 0.8 s, measured); the OS takes the memory back.
            gc.freeze()
        return code
    except BrokenPipeError:
        # The reader stopped reading (draftcast drafts | head): nothing went wrong here.
        # stdout goes to /dev/null so that Python's own flush at exit does not complain,
        # and the exit code is a shell's for a process ended by SIGPIPE.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE
    except DraftcastError as error:
        url = getattr(args, "url", None)
        message = str(error)
        # named already, maybe as check_url gave it on (HTTP://Host/… as http://host/…)
        if url and url.lower() not in message.lower() and repr(url) not in message:
            message = f"{url if url.isprintable() else repr(url)}: {message}"  # one line, whatever it holds
        print(f"draftcast: error: {message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("draftcast: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
