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
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import StateType
from prefect.deployments import run_deployment
from prefect.exceptions import ObjectNotFound

from flows.ingest import _retry_if_transient
from pipeline import feeds, polling
from pipeline.config import Channel, load_settings
from pipeline.errors import DraftcastError
from pipeline.ledger import Ledger

logging.getLogger("pipeline").setLevel(logging.INFO)

_FAILED = (StateType.FAILED, StateType.CRASHED, StateType.CANCELLED)


def _launcher(deployment: str) -> polling.Launch:
    def launch(key: str, parameters: dict[str, Any], attempt: int) -> str:
        run = run_deployment(
            deployment,
            parameters=parameters,
            timeout=0,
            as_subflow=False,
            idempotency_key=polling.idempotency_key(key, attempt),
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
        return polling.RunOutcome("failed", state.message or state.type.value)
    return polling.RunOutcome("running")


@task(retries=2, retry_delay_seconds=[5, 30], retry_condition_fn=_retry_if_transient)
def list_channel(channel: Channel, ledger_path: Path) -> feeds.Listing:
    ledger = Ledger(ledger_path)
    record = ledger.channel(channel.url)
    return feeds.list_channel(
        channel.url,
        known=lambda key: bool(ledger.known([key])),
        polled_before=record is not None,
        channel_id=record.channel_id if record else "",
    )


@task
def launch_new_videos(channel: Channel, listing: feeds.Listing, ledger_path: Path, deployment: str) -> list[str]:
    settings, ledger = load_settings(), Ledger(ledger_path)
    record = ledger.channel_polled(channel.url, channel_id=listing.channel_id)
    report = polling.PollReport()
    entries = polling.new_entries(listing.entries, channel, record, ledger, settings.poll)
    polling.launch_new(entries, channel, ledger, _launcher(deployment), report)
    get_run_logger().info("%s: %d entries listed, %d new", channel.url, len(listing.entries), len(report.launched))
    return report.launched


@task
def follow_up_runs(ledger_path: Path, deployment: str) -> polling.PollReport:
    """Record how launched runs ended, then relaunch failures whose retry is due."""
    settings, ledger = load_settings(), Ledger(ledger_path)
    report = polling.PollReport()
    now = dt.datetime.now(dt.UTC)
    polling.refresh(ledger, _read_run, settings.poll, report, now)
    polling.relaunch_due(ledger, _launcher(deployment), report, now)
    return report


@flow(name="poll-channels")
def poll_channels() -> str:
    """Poll every configured channel once; returns a one-line summary."""
    settings = load_settings()
    ledger = Ledger(settings.ledger_path)
    deployment = settings.poll.deployment
    report = follow_up_runs(settings.ledger_path, deployment)
    for channel in (c for c in settings.channels if c.poll):
        try:
            listing = list_channel(channel, settings.ledger_path)
        except DraftcastError as error:
            ledger.channel_polled(channel.url, error=str(error))
            report.channel_errors[channel.url] = str(error)
            get_run_logger().error("%s: %s", channel.url, error)
            continue
        report.launched += launch_new_videos(channel, listing, settings.ledger_path, deployment)
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
