"""A Prefect server process on this machine, for `draftcast serve` and the tests.

No Prefect import here: the server must be up, and PREFECT_API_URL set, before Prefect
reads its settings in this process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
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
    the database at ``database_url`` (``postgresql+asyncpg://…``)."""
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
