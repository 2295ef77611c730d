"""draftcast as a service on Prefect: the work pool and the concurrency limit it needs,
and ``draftcast serve``, which runs both deployments on one box.

``draftcast serve`` runs its deployments in its own process (Prefect's ``serve``), not
through a work pool: it creates the concurrency limit only. The work pool is for
workers (``draftcast setup``, then ``prefect worker start --pool draftcast``); a pool
that nothing polls shows as not ready in the UI."""

from __future__ import annotations

import datetime as dt
import sys

from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import (
    GlobalConcurrencyLimitCreate,
    GlobalConcurrencyLimitUpdate,
    WorkPoolCreate,
)
from prefect.exceptions import ObjectNotFound

from flows.ingest import TRANSCRIPTION_LIMIT
from pipeline.config import Settings

WORK_POOL = "draftcast"


def ensure_setup(*, max_transcriptions: int, pool: str | None = WORK_POOL) -> list[str]:
    """Create (or correct) the process work pool ``pool`` (None: none) and the transcription
    limit; says what it did.

    ``max_transcriptions``: the global concurrency limit TRANSCRIPTION_LIMIT is set to
    (made active). Returns one line per thing checked, on the Prefect API that
    PREFECT_API_URL names. Prefect's errors (an API that cannot be reached) pass through.
    """
    done = []
    with get_client(sync_client=True) as client:
        if pool is not None:
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


def serve(settings: Settings, *, interval_minutes: float) -> None:
    """Serve ``ingest-video/ingest`` (on demand) and ``poll-channels/poll`` (every
    ``interval_minutes``) from this process, until interrupted, after ``ensure_setup``
    with the config's ``max_transcriptions``. Prefect's errors pass through."""
    from prefect import serve as prefect_serve

    from flows.ingest import ingest_video
    from flows.poll import poll_channels

    for line in ensure_setup(max_transcriptions=settings.poll.max_transcriptions, pool=None):
        print(f"draftcast: {line}", file=sys.stderr)
    prefect_serve(
        ingest_video.to_deployment(name="ingest", description="One video URL → one draft post."),
        poll_channels.to_deployment(
            name="poll",
            description="Polls the configured channels and starts one ingest per new video.",
            interval=dt.timedelta(minutes=interval_minutes),
        ),
    )
