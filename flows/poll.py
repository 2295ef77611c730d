"""The Prefect flow ``poll-channels``: list each configured channel and start one
``ingest-video`` run per new video; learn how earlier runs ended and retry failures.

Each launch is ``run_deployment(..., timeout=0, as_subflow=False, idempotency_key=…)``:
the key is the video's (and the attempt's), so two polls, or two pollers, never start
two runs for one video.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import StateType
from prefect.deployments import run_deployment
from prefect.exceptions import ObjectNotFound

from flows.ingest import NETWORK_RETRIES, NOT_BROADCAST
from pipeline import feeds, polling
from pipeline.config import load_settings
from pipeline.corrections import CorrectionStore, learn_from_drafts
from pipeline.ledger import Ledger
from pipeline.store import DraftStore
from pipeline.voices import VoiceStore

logging.getLogger("pipeline").setLevel(logging.INFO)

_FAILED = (StateType.FAILED, StateType.CRASHED, StateType.CANCELLED)


def _launcher(deployment: str) -> polling.Launch:
    def launch(key: str, parameters: dict[str, Any], run_key: str) -> str:
        """Start one ingest run for ``key``'s ``attempt`` without waiting; its flow run id."""
        run = run_deployment(
            deployment,
            parameters=parameters,
            timeout=0,
            as_subflow=False,
            idempotency_key=run_key,
        )
        return str(run.id)

    return launch


def _read_run(flow_run_id: str) -> polling.RunOutcome:
    with get_client(sync_client=True) as client:
        try:
            state = client.read_flow_run(uuid.UUID(flow_run_id)).state
        except (ObjectNotFound, ValueError):
            return polling.RunOutcome("failed", f"flow run {flow_run_id} no longer exists")
    if state is None or not state.is_final():
        return polling.RunOutcome("running")
    if state.type == StateType.COMPLETED:
        return polling.RunOutcome("completed")
    if state.type in _FAILED:
        return polling.RunOutcome(
            "failed", state.message or state.type.value, not_broadcast=state.name == NOT_BROADCAST
        )
    return polling.RunOutcome("running")


@task(**NETWORK_RETRIES, cache_policy=NO_CACHE)
def list_channel(url: str, *, known: Callable[[str], bool], polled_before: bool, channel_id: str) -> feeds.Listing:
    """``feeds.list_channel`` as a task, retried after each of the network delays while
    the failure may pass.

    Raises:
        SourceError, SourceUnavailable (after the retries): as ``feeds.list_channel``;
            ``polling.poll`` records them against the channel.
    """
    return feeds.list_channel(url, known=known, polled_before=polled_before, channel_id=channel_id)


@flow(name="poll-channels")
def poll_channels() -> str:
    """Learn the speakers' names and the words editors corrected in each polled channel's
    drafts (``voices.VoiceStore.learn``, ``corrections.learn_from_drafts``), then poll
    every configured channel once (``polling.poll``), launching runs of the deployment
    named by ``[poll] deployment``; returns a one-line summary, also left as the
    ``poll-report`` artifact with the ledger's latest 50 videos.

    Raises:
        ConfigError: the config. A channel that cannot be read is reported, not raised;
            Prefect's errors (a deployment that does not exist) pass through.
    """
    settings = load_settings()
    known_voices = VoiceStore(settings.voices_path)
    learned = CorrectionStore(settings.corrections_path)
    store = DraftStore(settings.store_path)
    for channel in (c for c in settings.channels if c.poll):  # what editors did in the channels' drafts
        for line in [*known_voices.learn(channel.url), *learn_from_drafts(store, learned, channel.url)]:
            get_run_logger().info(line)
    ledger = Ledger(settings.ledger_path)
    report = polling.poll(
        settings.channels,
        ledger,
        settings.poll,
        list_channel=list_channel,
        launch=_launcher(settings.poll.deployment),
        read_run=_read_run,
        now=dt.datetime.now(dt.UTC),
    )
    create_markdown_artifact(key="poll-report", markdown=_report_markdown(report, ledger))
    get_run_logger().info(report.summary())
    return report.summary()


def _report_markdown(report: polling.PollReport, ledger: Ledger) -> str:
    lines = [f"**{report.summary()}**", "", "| video | state | attempts | last error |", "|---|---|---|---|"]
    for video in ledger.all()[:50]:
        error = (video.last_error or "").replace("|", "\\|")[:200]
        lines.append(f"| {video.title.replace('|', '/')[:80]} | {video.state} | {video.attempts} | {error} |")
    lines += [f"- {url}: {error}" for url, error in report.channel_errors.items()]
    return "\n".join(lines)
