"""draftcast as a service on Prefect: the work pool and the concurrency limit it needs,
and ``draftcast serve``, which runs both deployments on one box."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import (
    GlobalConcurrencyLimitCreate,
    GlobalConcurrencyLimitUpdate,
    WorkPoolCreate,
)
from prefect.exceptions import ObjectNotFound

from flows.ingest import TRANSCRIPTION_LIMIT
from pipeline.config import Settings
from pipeline.errors import ConfigError

WORK_POOL = "draftcast"
SERVER_START_SECONDS = 120


def ensure_setup(*, max_transcriptions: int, pool: str = WORK_POOL) -> list[str]:
    """Create (or correct) the process work pool and the transcription limit; says what it did."""
    done = []
    with get_client(sync_client=True) as client:
        try:
            client.read_work_pool(pool)
            done.append(f"work pool {pool!r} exists")
        except ObjectNotFound:
            client.create_work_pool(WorkPoolCreate(name=pool, type="process"))
            done.append(f"created work pool {pool!r} (process)")
        try:
            limit = client.read_global_concurrency_limit_by_name(TRANSCRIPTION_LIMIT)
            if limit.limit != max_transcriptions or not limit.active:
                client.update_global_concurrency_limit(
                    TRANSCRIPTION_LIMIT, GlobalConcurrencyLimitUpdate(limit=max_transcriptions, active=True)
                )
                done.append(f"set concurrency limit {TRANSCRIPTION_LIMIT!r} to {max_transcriptions}")
            else:
                done.append(f"concurrency limit {TRANSCRIPTION_LIMIT!r} is {max_transcriptions}")
        except ObjectNotFound:
            client.create_global_concurrency_limit(
                GlobalConcurrencyLimitCreate(name=TRANSCRIPTION_LIMIT, limit=max_transcriptions)
            )
            done.append(f"created concurrency limit {TRANSCRIPTION_LIMIT!r} = {max_transcriptions}")
    return done


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
            stop_server(server)
            raise ConfigError(f"the Prefect server did not start on port {port}: see {prefect_home / 'server.log'}")
        time.sleep(0.5)
    return server, api_url


def stop_server(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)


def serve(settings: Settings, *, interval_minutes: float) -> None:
    """Serve ``ingest-video/ingest`` (on demand) and ``poll-channels/poll`` (every
    ``interval_minutes``) from this process, until interrupted."""
    from prefect import serve as prefect_serve

    from flows.ingest import ingest_video
    from flows.poll import poll_channels

    for line in ensure_setup(max_transcriptions=settings.poll.max_transcriptions):
        print(f"draftcast: {line}", file=sys.stderr)
    prefect_serve(
        ingest_video.to_deployment(name="ingest", description="One video URL → one draft post."),
        poll_channels.to_deployment(
            name="poll",
            description="Polls the configured channels and starts one ingest per new video.",
            interval=dt.timedelta(minutes=interval_minutes),
        ),
    )
