"""Deciding what a poll launches: new videos that pass a channel's filters, and failed ones
whose retry is due. Launching and reading a run's outcome are given as functions, so this
stays plain Python (the Prefect wiring lives in flows/poll.py)."""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pipeline.config import Channel, PollSettings
from pipeline.feeds import FeedEntry
from pipeline.ledger import ChannelRecord, Ledger, State

log = logging.getLogger(__name__)

NOT_READY_MARK = "NotReady"  # in a failed run's message: live or upcoming, try later
SKIPPED_LIVE_STATUSES = ("is_live", "is_upcoming")


@dataclass(frozen=True)
class RunOutcome:
    """How a launched ingest run stands: 'running', 'completed' or 'failed' (with why)."""

    status: str
    message: str = ""


Launch = Callable[[str, dict[str, Any], int], str]  # (key, ingest parameters, attempt) → flow run id
ReadRun = Callable[[str], RunOutcome]


@dataclass
class PollReport:
    launched: list[str] = field(default_factory=list)  # keys of new videos launched
    retried: list[str] = field(default_factory=list)
    drafted: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    gave_up: list[str] = field(default_factory=list)
    channel_errors: dict[str, str] = field(default_factory=dict)

    def summary(self) -> str:
        parts = [
            f"{len(self.launched)} new launched",
            f"{len(self.retried)} retried",
            f"{len(self.drafted)} drafted",
            f"{len(self.failed)} failed",
            f"{len(self.gave_up)} given up",
        ]
        if self.channel_errors:
            parts.append(f"{len(self.channel_errors)} channel(s) unreadable")
        return ", ".join(parts)


def published_after(channel: Channel, record: ChannelRecord, poll: PollSettings) -> dt.datetime | None:
    """Entries published before this are not ingested: no backfill unless asked."""
    if channel.backfill:
        return None
    if channel.published_after:
        return dt.datetime.combine(channel.published_after, dt.time(), dt.UTC)
    return record.first_polled_at - dt.timedelta(days=poll.lookback_days)


def wanted(entry: FeedEntry, channel: Channel, after: dt.datetime | None, first_poll: bool) -> bool:
    """Whether a channel's filters let ``entry`` through (live and upcoming wait)."""
    if entry.live_status in SKIPPED_LIVE_STATUSES:
        return False
    if channel.include and not any(re.search(pattern, entry.title) for pattern in channel.include):
        return False
    if any(re.search(pattern, entry.title) for pattern in channel.exclude):
        return False
    if after is None:
        return True
    if entry.published is None:
        return not first_poll  # undated entries on a first poll are the channel's history
    return entry.published >= after


def new_entries(
    entries: tuple[FeedEntry, ...], channel: Channel, record: ChannelRecord, ledger: Ledger, poll: PollSettings
) -> list[FeedEntry]:
    """Entries not in the ledger that pass the filters, oldest first."""
    known = ledger.known(entry.key for entry in entries)
    first_poll = record.polls == 1
    after = published_after(channel, record, poll)
    fresh = {
        entry.key: entry for entry in entries if entry.key not in known and wanted(entry, channel, after, first_poll)
    }
    return list(reversed(fresh.values()))


def ingest_parameters(entry: FeedEntry, channel: Channel) -> dict[str, Any]:
    """The ingest run's parameters for a feed entry: a podcast's enclosure brings the
    episode's page, title, date and text, which the media file itself does not carry."""
    parameters: dict[str, Any] = {"url": entry.url, "channel": channel.url}
    if entry.page_url:
        overrides = {
            "webpage_url": entry.page_url,
            "title": entry.title,
            "description": entry.description,
            "uploader": entry.uploader,
            "upload_date": entry.published.date().isoformat() if entry.published else "",
        }
        parameters["overrides"] = {name: value for name, value in overrides.items() if value}
    return parameters


def launch_new(entries: list[FeedEntry], channel: Channel, ledger: Ledger, launch: Launch, report: PollReport) -> None:
    for entry in entries:
        parameters = ingest_parameters(entry, channel)
        fields = {"channel": channel.url, "url": entry.url, "title": entry.title, "published": entry.published}
        if ledger.discover(entry.key, parameters=parameters, **fields):
            ledger.launched(entry.key, launch(entry.key, parameters, 1))
            report.launched.append(entry.key)
            log.info("launched %s: %s", entry.key, entry.title)


def refresh(ledger: Ledger, read_run: ReadRun, poll: PollSettings, report: PollReport, now: dt.datetime) -> None:
    """Learn how launched runs ended; schedule retries with backoff, within the bound."""
    for video in ledger.in_state(State.LAUNCHED):
        outcome = read_run(video.flow_run_id or "")
        launched_at = dt.datetime.fromisoformat(video.updated_at)
        if outcome.status == "running" and now - launched_at > dt.timedelta(hours=poll.run_timeout_hours):
            # A run whose worker died stays "running" in Prefect: count it as failed.
            outcome = RunOutcome("failed", f"no outcome {poll.run_timeout_hours:g} h after launch")
        if outcome.status == "completed":
            ledger.drafted(video.key)
            report.drafted.append(video.key)
        elif outcome.status == "failed":
            waiting = NOT_READY_MARK in outcome.message
            if waiting or video.attempts < poll.max_attempts:
                delay = poll.retry_after[min(video.attempts, len(poll.retry_after)) - 1] if poll.retry_after else 0
                ledger.failed(video.key, outcome.message, retry_at=now + dt.timedelta(seconds=delay), waiting=waiting)
                report.failed.append(video.key)
            else:
                ledger.failed(video.key, outcome.message, retry_at=None)
                report.gave_up.append(video.key)
                log.warning("gave up on %s after %d attempts: %s", video.key, video.attempts, outcome.message)


def relaunch_due(ledger: Ledger, launch: Launch, report: PollReport, now: dt.datetime) -> None:
    for video in ledger.due(now):
        attempt = video.attempts + 1
        ledger.launched(video.key, launch(video.key, video.parameters, attempt))
        report.retried.append(video.key)
        log.info("relaunched %s (attempt %d): %s", video.key, attempt, video.last_error or "never launched")


def idempotency_key(key: str, attempt: int) -> str:
    """One run per video and attempt, whoever launches it and however often."""
    return key if attempt <= 1 else f"{key}#attempt-{attempt}"
