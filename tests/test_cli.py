"""draftcast as a person runs it: a real process, the embedded Prefect API, real media."""

from __future__ import annotations

import functools
import logging
import os
import re
import sqlite3
import subprocess
import sys
import threading
import time
import unicodedata
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import frontmatter
import pytest

from flows.cli import main
from tests.conftest import HOSTILE, Site


def _draftcast(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``draftcast ARGS`` as a person runs it: in a process of its own, on its embedded API
    (not on the test harness's, which an earlier test's ``prefect_api`` leaves in the environment)."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("PREFECT_")}
    return subprocess.run(
        [sys.executable, "-m", "flows.cli", *args],
        cwd=cwd,
        env={**env, "PYTHONPATH": str(Path(__file__).parent.parent)},
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.slow
def test_ingest_edit_and_rerun(site: Site, tmp_path: Path, isolated: Path) -> None:
    url = site.add_page(
        "cli.html", media="jfk.mp4", title=HOSTILE, description="Desc {% if %}", uploader="JFK Library", tags=("a",)
    )
    first = _draftcast("ingest", url, "--model", "tiny.en", "--language", "en", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    path = Path(first.stdout.strip())
    assert path.parent == tmp_path / "drafts" and path.exists()
    assert "download" in first.stderr and "transcribe:" in first.stderr  # progress bars
    assert "transcribed 1 of 1 windows" in first.stderr  # and the log says how far it got
    # each log line on a line of its own, none glued to the end of a progress bar
    assert not re.findall(r"[^\r\n]\d\d:\d\d:\d\d\.\d{3} \| ", first.stderr), first.stderr
    # the head start's download, done while Prefect's logging is being set up, is told, once
    lines = first.stderr.splitlines()
    told = [line for line in lines if "downloading the audio of" in line or "downloaded media" in line]
    assert len(told) == 2, first.stderr
    assert lines[0].startswith(f"draftcast: ingesting {url}"), first.stderr
    # no flow-run heartbeats to the embedded API (nothing outlives the process to read them)
    with sqlite3.connect(isolated / "prefect" / "prefect.db") as db:
        events = {event for (event,) in db.execute("SELECT DISTINCT event FROM events")}
    assert "prefect.flow-run.Completed" in events and "prefect.flow-run.heartbeat" not in events, events
    assert "wrote " in first.stderr
    # the embedded API serves no UI, and it stops only after Prefect sent it the last logs
    assert "View at" not in first.stderr and "Error logging to API" not in first.stderr
    # no warnings: none about a concurrency limit the embedded API does not have, none at exit
    assert "WARNING" not in first.stderr and "concurrency" not in first.stderr.lower(), first.stderr
    post = frontmatter.load(path)
    assert (post["title"], post["summary"], post["speaker"], post["source"]) == (
        HOSTILE,
        "Desc {% if %}",
        "JFK Library",
        url,
    )
    assert "ask what you can do for your country" in post.content.lower()

    edited = path.read_text().replace("draft: true", "draft: true\n# checked by an editor")
    path.write_text(edited)
    second = _draftcast("ingest", url, "--model", "tiny.en", "--language", "en", cwd=tmp_path)
    assert second.returncode == 0 and second.stdout.strip() == str(path)
    assert "changed by an editor: left as it is" in second.stderr and "WARNING" not in second.stderr
    assert path.read_text() == edited
    assert list(path.parent.iterdir()) == [path]


@pytest.mark.slow
def test_an_error_is_one_line_without_traceback(site: Site, tmp_path: Path) -> None:
    """A run that fails on the site says so once: not again through Prefect's flow-run
    and task-run loggers, and with no warning from Prefect's exit after it."""
    result = _draftcast("ingest", site.url("missing.mp4"), cwd=tmp_path)
    assert result.returncode == 1 and result.stdout == ""
    said = f"draftcast: error: {site.url('missing.mp4')}: the server answered HTTP 404 (File not found); check the URL"
    assert result.stderr.strip().splitlines()[-1] == said
    assert [line for line in result.stderr.splitlines() if "404" in line] == [said], result.stderr
    assert "Traceback" not in result.stderr and "WARNING" not in result.stderr, result.stderr
    # given as HTTP://…, it is named once, as it was fetched (it was twice, in both cases)
    shouted = _draftcast("ingest", site.url("missing.mp4").replace("http://", "HTTP://", 1), cwd=tmp_path)
    assert shouted.stderr.strip().splitlines()[-1] == said, shouted.stderr


@pytest.mark.slow
def test_two_ingests_of_one_url_at_once_end_in_one_draft(site: Site, tmp_path: Path) -> None:
    url = site.add_page("twice.html", media="jfk.mp4", title="Said twice")
    command = [sys.executable, "-m", "flows.cli", "ingest", url, "--model", "tiny.en", "--language", "en"]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)}
    runs = [subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)]
    runs.append(
        subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    )
    outputs = [run.communicate(timeout=600) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    assert outputs[0][0] == outputs[1][0]
    drafts = list((tmp_path / "drafts").iterdir())
    assert len(drafts) == 1 and "country" in drafts[0].read_text()


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        for task in Path(f"/proc/{todo.pop()}/task").glob("*"):
            try:
                children = [int(child) for child in (task / "children").read_text().split()]
            except OSError:  # gone meanwhile
                continue
            found += children
            todo += children
    return found


def _command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    try:
        return "\tZ" not in Path(f"/proc/{pid}/status").read_text().split("State:")[1][:4]
    except (OSError, IndexError):
        return False


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_a_killed_ingest_leaves_no_prefect_api_behind(site: Site, tmp_path: Path) -> None:
    url = site.add_page("killed.html", media="jfk.mp4", title="Killed midway")
    # Without a server's address (an earlier in-process ingest may have left its own): the embedded API.
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)}
    env.pop("PREFECT_API_URL", None)
    command = [sys.executable, "-m", "flows.cli", "ingest", url, "--model", "tiny.en", "--language", "en"]
    cli = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    api: list[int] = []
    deadline = time.monotonic() + 60
    while not api and time.monotonic() < deadline:
        api = [pid for pid in _descendants(cli.pid) if "uvicorn" in _command_line(pid)]
        time.sleep(0.05)
    assert api, "draftcast ingest started no embedded Prefect API"
    cli.kill()
    cli.wait()
    deadline = time.monotonic() + 30
    while _alive(api[0]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(api[0]), "the embedded API outlived draftcast"


@pytest.mark.slow
def test_models_lists_and_prepares(tmp_path: Path) -> None:
    listing = _draftcast("models", cwd=tmp_path)
    assert listing.returncode == 0
    assert any(
        line.startswith("tiny.en") and ("ready" in line or "offline" in line) for line in listing.stdout.splitlines()
    )
    prepared = _draftcast("models", "prepare", "tiny.en", cwd=tmp_path)
    assert prepared.returncode == 0 and "tiny.en.pt" in prepared.stdout
    unknown = _draftcast("models", "prepare", "gigantic", cwd=tmp_path)
    assert unknown.returncode == 1 and "unknown model 'gigantic'" in unknown.stderr


@pytest.fixture(scope="module")
def counted(site: Site) -> Iterator[tuple[str, list[str]]]:
    """The test media on another port of 127.0.0.1, with the paths of the requests made to it."""
    asked: list[str] = []

    class Counting(SimpleHTTPRequestHandler):
        def parse_request(self) -> bool:
            parsed = super().parse_request()
            asked.append(self.path)
            return parsed

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Counting, directory=str(site.root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{server.server_address[1]}", asked
    server.shutdown()


BEFORE_WORK = [
    (["not a url"], {}, "draftcast: error: 'not a url' is not an http(s) URL"),
    (["{host}/jfk.mp4"], {}, "draftcast: error: '{host}/jfk.mp4' has no scheme: write https://{host}/jfk.mp4"),
    (["{url}", "--model", "tiny.klingon"], {}, "unknown model 'tiny.klingon'"),
    (["{url}", "--model", "medium"], {}, "model 'medium' is not on this machine"),
    (["{url}", "--model", "large-v3", "--language", "en"], {}, "draftcast models prepare large-v3"),
    (["{url}", "--model", "small", "--engine", "faster-whisper"], {}, "no CTranslate2 weights"),
    (["http:///jfk.mp4"], {}, "draftcast: error: 'http:///jfk.mp4' has no host name: write it http://HOST/"),
    (["http://127.0.0.1:99999/jfk.mp4"], {}, "'http://127.0.0.1:99999/jfk.mp4' has no valid port: 1 to 65535"),
    (["http://exa mple.com/jfk.mp4"], {}, "'http://exa mple.com/jfk.mp4' has a host name that cannot be"),
    (["{url}"], {"DRAFTCAST_TEMPLATE": "{tmp}/no.j2"}, "environment: DRAFTCAST_TEMPLATE = '{tmp}/no.j2' is no file"),
    (["{url}"], {"DRAFTCAST_TEMPLATE": "{tmp}/broken.md.j2"}, "template {tmp}/broken.md.j2, line 2: unexpected '}}'"),
    (["{url}", "--engine", "faster-whisper"], {"DRAFTCAST_COMPUTE_TYPE": "bfloat16"}, "has no bfloat16 on a CPU"),
    (["{url}\n{url}"], {}, "'{url}\\n{url}' has a control character ('\\n') in it"),  # one line, not two
    (["{url}", "--language", "xx"], {}, "unknown language 'xx': give a code whisper knows"),
    (["{url}", "--language", "klingon", "--engine", "faster-whisper"], {}, "unknown language 'klingon'"),
    (["{url}", "--model", "{tmp}/a-file"], {}, "is not a whisper checkpoint"),  # an empty file
    (["{url}", "--model", "{tmp}/notes.txt"], {}, "is not a whisper checkpoint"),
    (["{url}", "--out", "{tmp}/a-file/drafts"], {}, "cannot write drafts to {tmp}/a-file/drafts"),
    (["{url}"], {"DRAFTCAST_HOME": "{tmp}/a-file/home"}, "cannot write draftcast's data dir"),
    (["{url}", "--speaker", b"M\xfcller"], {}, "draftcast: error: --speaker 'M\\xfcller' is not UTF-8 text"),
    ([b"http://{host}/caf\xe9.mp4"], {}, "draftcast: error: the URL 'http://{host}/caf\\xe9.mp4' is not UTF-8"),
]


@pytest.mark.parametrize(("args", "env", "words"), BEFORE_WORK, ids=[w.split(": ")[-1][:30] for *_, w in BEFORE_WORK])
def test_bad_input_is_refused_before_prefect_starts_or_anything_is_fetched(
    counted: tuple[str, list[str]],
    isolated: Path,
    tmp_path: Path,
    args: list[str | bytes],
    env: dict[str, str],
    words: str,
) -> None:
    host, asked = counted
    fill = {"host": host, "url": f"http://{host}/jfk.mp4", "tmp": str(tmp_path)}
    (tmp_path / "a-file").write_text("")
    (tmp_path / "notes.txt").write_text("not a model\n")
    (tmp_path / "broken.md.j2").write_text("# {{ video.title }}\n{{ transcript.text }\n")  # a brace short
    # bytes stay bytes: what a shell passes for text in another encoding
    argv = [
        a.decode("latin-1").format(**fill).encode("latin-1") if isinstance(a, bytes) else a.format(**fill) for a in args
    ]
    asked.clear()
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "flows.cli", "ingest", *argv],
        cwd=tmp_path,
        env={
            **os.environ,
            **{name: value.format(**fill) for name, value in env.items()},
            "PYTHONPATH": str(Path(__file__).parent.parent),
            "XDG_CACHE_HOME": str(tmp_path / "cache"),  # no whisper cache but the test's
        },
        capture_output=True,
        timeout=120,
    )
    elapsed = time.monotonic() - started
    stderr = result.stderr.decode()
    assert result.returncode == 1 and result.stdout == b""
    [line] = stderr.splitlines()  # one line: nothing from Prefect, no traceback
    assert line.startswith("draftcast: error: ") and words.format(**fill) in line
    assert asked == []  # nothing asked of the site: no metadata, no download
    assert not (isolated / "prefect").exists()  # Prefect's embedded API never started
    assert not (isolated / "work").exists() and not list(isolated.rglob("media.*"))
    assert not (isolated / "models" / "official").exists()
    assert not (tmp_path / "drafts").exists()
    assert elapsed < 30, f"{elapsed:.0f} s"  # Prefect alone takes 5-17 s to start here


def _write_drafts(out: Path) -> list[Path]:
    """Two drafts as draftcast writes them, one of them with a Mandarin title."""
    out.mkdir(parents=True, exist_ok=True)
    posts = [
        ("2025-10-28-chips-a1.md", "2025-10-28", "Chips and the cloud", "Best Partners TV"),
        ("2025-11-02-b2.md", "2025-11-02", "黄仁勋谈人工智能", "最佳拍档"),
    ]
    for name, date, title, speaker in posts:
        post = frontmatter.Post(
            "Text.", date=date, draft=True, title=title, speaker=speaker, source=f"https://v/{name}"
        )
        (out / name).write_text(frontmatter.dumps(post), encoding="utf-8")
    return [out / name for name, *_ in posts]


def _columns(line: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line)


def test_drafts_and_status_print_a_header_over_aligned_columns(
    isolated: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    newer, older = reversed(_write_drafts(tmp_path / "drafts"))
    assert main(["drafts"]) == 0
    header, *rows = capsys.readouterr().out.splitlines()
    assert header.split() == ["DATE", "STATE", "TITLE", "SPEAKER", "SOURCE", "PATH"]
    assert [row.split()[0] for row in rows] == ["2025-11-02", "2025-10-28"]  # newest first
    where = _columns(header[: header.index("SOURCE")])
    for row, path in zip(rows, (newer, older), strict=True):
        assert row.endswith(str(path)) and _columns(row[: row.index("https://v/")]) == where

    from pipeline.config import load_settings
    from pipeline.ledger import Ledger

    ledger = Ledger(load_settings().ledger_path)
    ledger.discover("k1", channel="c", url="https://v/1", title="A talk", published=None, parameters={})
    ledger.failed("k1", "HTTP 404", retry_at=None)
    assert main(["status"]) == 0
    summary, header, row, error = capsys.readouterr().out.splitlines()
    assert summary == "1 gave-up"
    assert header.split() == ["STATE", "TRIES", "UPDATED", "TITLE", "URL"]
    assert row.split()[:2] == ["gave-up", "0"] and row.endswith("A talk  https://v/1")
    assert _columns(row[: row.index("A talk")]) == header.index("TITLE")
    assert error == "  last error: HTTP 404"


@pytest.mark.parametrize("value", ["2025-13-01", "yesterday", "2025-1-5", "20250105", ""])
@pytest.mark.parametrize("option", ["--since", "--until"])
def test_since_and_until_refuse_what_is_not_a_date_in_one_line(
    isolated: Path, capsys: pytest.CaptureFixture[str], option: str, value: str
) -> None:
    assert main(["drafts", option, value]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        f"draftcast: error: {option} {value!r} is not a date: write it YYYY-MM-DD, for example 2025-10-28"
    ]


def test_since_and_until_filter_by_the_drafts_date(
    isolated: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write_drafts(tmp_path / "drafts")
    assert main(["drafts", "--json", "--since", "2025-11-01"]) == 0
    assert '"2025-11-02"' in capsys.readouterr().out
    assert main(["drafts", "--json", "--until", "2025-10-31"]) == 0
    listed = capsys.readouterr().out
    assert '"2025-10-28"' in listed and '"2025-11-02"' not in listed
    assert main(["drafts", "--since", "2025-11-02", "--until", "2025-10-28"]) == 1
    assert "draftcast: error: --since 2025-11-02 is after --until 2025-10-28" in capsys.readouterr().err
    assert main(["drafts", "--out", str(tmp_path / "no-such-folder")]) == 1
    assert "no-such-folder is not a folder of drafts: check --out" in capsys.readouterr().err


def test_drafts_of_one_day_list_the_one_written_last_first(isolated: Path, tmp_path: Path) -> None:
    from pipeline.listing import list_drafts
    from pipeline.store import DraftStore

    out = tmp_path / "drafts"
    out.mkdir()
    for n, name in enumerate(["b.md", "a.md", "c.md"]):  # written in this order
        (out / name).write_text(f"---\ndate: '2025-10-28'\ndraft: true\ntitle: {name}\n---\ntext\n")
        os.utime(out / name, ns=(n * 10**9, n * 10**9))
    assert [Path(e.path).name for e in list_drafts(out, DraftStore(tmp_path / "store.db"))] == ["c.md", "a.md", "b.md"]


@pytest.mark.parametrize("command", [["drafts", "--json"], ["drafts"], ["status", "--all"]])
def test_a_reader_that_stops_reading_ends_the_listing_quietly(
    isolated: Path, tmp_path: Path, command: list[str]
) -> None:
    """draftcast drafts --json | head: the reader goes away before draftcast writes."""
    _write_drafts(tmp_path / "drafts")
    listing = subprocess.Popen(
        [sys.executable, "-m", "flows.cli", *command],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert listing.stdout is not None and listing.stderr is not None
    listing.stdout.close()  # nobody reads stdout any more
    stderr = listing.stderr.read().decode()
    assert listing.wait(timeout=60) == 141  # as a shell reports a process that SIGPIPE ended
    assert stderr == ""  # no BrokenPipeError, no "Exception ignored"


def test_the_console_drops_prefects_note_at_exit_and_gives_a_retry_its_cause() -> None:
    from flows.cli import _ConsoleFilter
    from pipeline.errors import SourceUnavailable

    def record(name: str, message: str, *args: object) -> logging.LogRecord:
        return logging.LogRecord(name, logging.INFO, __file__, 1, message, args or None, None)

    console = _ConsoleFilter(hide_ui_links=True, cli_says_errors=True)
    assert not console.filter(record("EventsWorker", "Still processing items: 3 items remaining..."))
    assert console.filter(record("EventsWorker", "Service 'EventsWorker' failed to process item"))
    error = SourceUnavailable("http://h/x.mp4: cannot reach the host (Connection refused); check the URL")
    retry = record("prefect.task_runs", "Task run failed with %s: %r - Retry %s/%s will start %s",
                   "exception", error, 1, 3, "2.0 second(s) from now")  # fmt: skip
    assert (
        console.filter(retry) and retry.getMessage() == "retry 1/3 in 2 s: cannot reach the host (Connection refused)"
    )
    assert not console.filter(record("prefect.flow_runs", "Finished in state Failed('Flow run encountered …')"))
    assert console.filter(record("prefect.flow_runs", "Finished in state Completed()"))


_HANDLER_MIDWAY = """
import logging, logging.config, sys, threading
from flows.cli import _with_every_handler_whole

listed, finish = threading.Event(), threading.Event()


class Midway(logging.StreamHandler):
    def createLock(self):  # listed in logging's list by now, its lock not made yet
        listed.set()
        finish.wait()
        super().createLock()


made = []
maker = threading.Thread(target=lambda: made.append(Midway()))
maker.start()
listed.wait()
threading.Timer(0.2, finish.set).start()
config = {"version": 1, "handlers": {"console": {"class": "logging.StreamHandler"}}, "root": {"handlers": ["console"]}}
if sys.argv[1] == "plain":
    logging.config.dictConfig(config)
else:
    _with_every_handler_whole(lambda: logging.config.dictConfig(config))
maker.join()
print("configured", type(made[0].lock).__name__)
"""


@pytest.mark.parametrize("how", ["plain", "whole"])
def test_logging_is_configured_while_another_thread_makes_a_handler(how: str) -> None:
    # CI once: torch's import in the head start made a StreamHandler while Prefect's
    # setup_logging closed every listed handler; the plain dictConfig shows the race is real.
    run = subprocess.run(
        [sys.executable, "-c", _HANDLER_MIDWAY, how],
        cwd=Path(__file__).parent.parent,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if how == "plain":
        assert run.returncode == 1 and "has no attribute 'lock'" in run.stderr
    else:
        assert run.returncode == 0, run.stderr
        assert run.stdout.strip() == "configured RLock"


def test_a_usage_error_names_the_choices_as_they_are_typed(capsys: pytest.CaptureFixture[str]) -> None:
    from flows.cli import build_parser

    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["ingest", "http://127.0.0.1:1/x", "--engine", "bogus"])
    assert exited.value.code == 2
    assert "(choose from 'openai-whisper', 'faster-whisper')" in capsys.readouterr().err


@pytest.mark.parametrize("command", [["ingest", "http://127.0.0.1:9/a.mp4"], ["drafts"]])
@pytest.mark.parametrize("empty", ["", "  "])
def test_an_empty_out_is_refused_not_taken_for_the_configs(
    command: list[str], empty: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A fresh user's `--out ""` (an unset shell variable) wrote to the config's out_dir
    without a word."""
    from flows.cli import main

    with pytest.raises(SystemExit) as exited:
        main([*command, "--out", empty])
    assert exited.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"draftcast {command[0]}: error: argument --out: an empty path: give a folder, "
        "or leave --out out for the config's out_dir"
    )


@pytest.mark.parametrize(
    ("argv", "usage"),
    [
        (["ingest", "--bogus", "http://127.0.0.1:9/a.mp4"], "usage: draftcast ingest "),
        (["voices", "add", "--loud", "Ada", "ada.wav"], "usage: draftcast voices add "),
        (["--bogus", "drafts"], "usage: draftcast drafts "),
    ],
)
def test_an_unknown_option_is_told_with_the_usage_of_its_command(
    argv: list[str], usage: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from flows.cli import main

    with pytest.raises(SystemExit) as exited:
        main(argv)
    err = capsys.readouterr().err
    assert exited.value.code == 2 and err.startswith(usage)
    unknown = next(a for a in argv if a.startswith("--"))
    command = usage.removeprefix("usage: ").strip()
    assert err.splitlines()[-1] == f"{command}: error: unrecognized arguments: {unknown}"
