"""Prefect server processes on this machine: the full server of `draftcast serve` and the
tests, and the embedded API of `draftcast ingest`.

No Prefect import here: the server must be up, and PREFECT_API_URL set, before Prefect
reads its settings in this process.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import ConfigError

SERVER_START_SECONDS = 120


def _healthy(api_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def start_server(
    prefect_home: Path, port: int, *, database_url: str | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    """``prefect server start`` on 127.0.0.1:``port``: on SQLite in ``prefect_home``, or on
    the database at ``database_url`` (``postgresql+asyncpg://…``). Returns the process (in
    a session of its own: stop it with ``stop_process``) once its API answers, and the API
    URL ``http://127.0.0.1:<port>/api``. Its output goes to ``prefect_home/server.log``.

    Raises:
        ConfigError: something already answers on the port, or the server exited or was
            not healthy within SERVER_START_SECONDS (120 s).
    """
    api_url = f"http://127.0.0.1:{port}/api"
    if _healthy(api_url):
        raise ConfigError(f"something already answers on {api_url}: choose another --port")
    prefect_home.mkdir(parents=True, exist_ok=True)
    log = (prefect_home / "server.log").open("ab")
    env = {**os.environ, "PREFECT_HOME": str(prefect_home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    env.pop("PREFECT_API_URL", None)
    if database_url:
        env["PREFECT_API_DATABASE_CONNECTION_URL"] = database_url
    server = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + SERVER_START_SECONDS
    while not _healthy(api_url):
        if server.poll() is not None or time.monotonic() > deadline:
            stop_process(server)
            raise ConfigError(f"the Prefect server did not start on port {port}: see {prefect_home / 'server.log'}")
        time.sleep(0.5)
    return server, api_url


def stop_process(process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    """Stop a process started in its own session, with its children: SIGINT (Prefect's
    server and workers shut down cleanly on it; SIGTERM was seen to hang), then SIGKILL."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


@dataclass
class EmbeddedApi:
    """The temporary API Prefect starts on a flow's first call when no server is set
    (uvicorn, no UI, no background services, SQLite under PREFECT_HOME), started by
    draftcast at once instead, so that its 5 s of start-up overlap draftcast's own
    imports, model load and download. Its socket is bound before it starts: the port is
    known (PREFECT_API_URL can be set before Prefect is imported) and cannot be taken."""

    process: subprocess.Popen[bytes]
    url: str  # http://127.0.0.1:<port>/api, for PREFECT_API_URL
    log: Path  # its stdout and stderr

    def wait_ready(self) -> None:
        """Wait until the API answers on ``/health`` (polled every 50 ms).

        Raises:
            ConfigError: the process exited, or did not answer within SERVER_START_SECONDS
                (120 s); it is stopped, and its log says why.
        """
        deadline = time.monotonic() + SERVER_START_SECONDS
        while not _healthy(self.url):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise ConfigError(f"Prefect's embedded API did not start: see {self.log}")
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop the API: SIGTERM, then SIGKILL after 5 s."""
        if self.process.poll() is None:
            self.process.terminate()  # uvicorn shuts down cleanly on SIGTERM
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


# Run in the server's own fresh process, before uvicorn: the kernel sends it SIGTERM when
# draftcast dies, even by SIGKILL, so no server is left behind (Linux; elsewhere it stops
# when draftcast exits normally). Not a preexec_fn: code run between fork and exec can
# deadlock on a lock another thread of draftcast held at the fork.
_LAUNCH_DYING_WITH_PARENT = """
import ctypes, os, signal, sys
parent = int(sys.argv[1])
if sys.platform == "linux":
    ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # draftcast died before that
        sys.exit(1)
os.execv(sys.executable, [sys.executable, *sys.argv[2:]])
"""


def start_embedded_api(prefect_home: Path) -> EmbeddedApi:
    """Prefect's embedded API on a free port of 127.0.0.1, starting in the background.

    The first start of a Prefect version creates or migrates its database, and two such
    starts at once collide (two ingests started together on a fresh machine): that first
    start is made under a lock, and waited for. Returns the API, maybe still starting
    (``wait_ready``); it dies with this process on Linux.

    Raises:
        ConfigError: a first start that did not become ready (``EmbeddedApi.wait_ready``).
    """
    import importlib.metadata

    from filelock import FileLock

    prefect_home.mkdir(parents=True, exist_ok=True)
    migrated = prefect_home / "embedded-api.migrated"
    version = importlib.metadata.version("prefect")
    if _read(migrated) == version:
        return _spawn_embedded_api(prefect_home)
    with FileLock(prefect_home / "embedded-api.lock"):
        api = _spawn_embedded_api(prefect_home)
        if _read(migrated) != version:
            api.wait_ready()
            migrated.write_text(version)
        return api


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _spawn_embedded_api(prefect_home: Path) -> EmbeddedApi:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    port = listener.getsockname()[1]
    env = {**os.environ, "PREFECT_HOME": str(prefect_home), "PREFECT_UI_ENABLED": "0"}
    env |= {"PREFECT__SERVER_EPHEMERAL": "1", "PREFECT__SERVER_FINAL": "1"}  # as Prefect starts it
    env.pop("PREFECT_API_URL", None)
    log_path = prefect_home / "embedded-api.log"
    with listener, log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-c", _LAUNCH_DYING_WITH_PARENT, str(os.getpid()),
             "-m", "uvicorn", "--factory", "prefect.server.api.server:create_app",
             "--fd", str(listener.fileno()), "--log-level", "error", "--lifespan", "on"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            pass_fds=[listener.fileno()],
        )  # fmt: skip
    return EmbeddedApi(process, f"http://127.0.0.1:{port}/api", log_path)
