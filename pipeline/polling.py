"""Deciding what a poll launches: new videos that pass a channel's filters, and failed ones
whose retry is due. Launching and reading a run's outcome are given as functions, so this
stays plain Python (the Prefect wiring lives in flows/poll.py)."""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from pipeline.config import Channel, PollSettings
from pipeline.errors import DraftcastError
from pipeline.feeds import FeedEntry, Listing
from pipeline.ledger import ChannelRecord, Ledger, State

log = logging.getLogger(__name__)

SKIPPED_LIVE_STATUSES = ("is_live", "is_upcoming")


@dataclass(frozen=True)
class RunOutcome:
    """How a launched ingest run stands: 'running', 'completed' or 'failed' (with why;
    ``not_broadcast``: the video is live or upcoming, and is tried again later)."""

    status: str
    message: str = ""
    not_broadcast: bool = False


# (key, ingest parameters, idempotency key of this launch) → flow run id
Launch = Callable[[str, dict[str, Any], str], str]
ReadRun = Callable[[str], RunOutcome]
ListChannel = Callable[..., Listing]  # feeds.list_channel's signature; the flow adds retries


def poll(
    channels: Iterable[Channel],
    ledger: Ledger,
    settings: PollSettings,
    *,
    list_channel: ListChannel,
    launch: Launch,
    read_run: ReadRun,
    now: dt.datetime,
) -> PollReport:
    """One poll: learn how launched runs ended, list each channel that is polled and launch
    its new entries, then relaunch failures whose retry is due. A channel that cannot be
    read is reported and recorded; the others go on.

    The poll-channels flow runs exactly this, with Prefect's tasks as ``list_channel``,
    ``launch`` and ``read_run``; bench/poll.py times it with stand-ins for the network.

    ``channels``: the configured ones (those with ``poll`` False are skipped);
    ``settings``: attempts, backoff and timeouts; ``list_channel``: ``feeds.list_channel``'s
    signature; ``launch``: starts an ingest run, returns its flow run id; ``read_run``: how
    a run stands; ``now``: the poll's time, timezone-aware (UTC). Returns what was done,
    by video key.

    Raises:
        Whatever ``launch``, ``read_run`` or the ledger raise. A channel's DraftcastError
        (SourceError and its kind, from ``list_channel``) is recorded and reported instead.
    """
    report = PollReport()
    refresh(ledger, read_run, settings, report, now)
    for channel in (c for c in channels if c.poll):
        before = ledger.channel(channel.url)
        try:
            listing = list_channel(
                channel.url,
                known=lambda key: bool(ledger.known([key])),
                polled_before=before is not None and before.polls > 0,
                channel_id=before.channel_id if before else "",
            )
        except DraftcastError as error:
            ledger.channel_polled(channel.url, error=str(error))
            report.channel_errors[channel.url] = str(error)
            log.error("%s", error if str(error).startswith(channel.url) else f"{channel.url}: {error}")
            continue
        record = ledger.channel_polled(channel.url, channel_id=listing.channel_id)
        launched = len(report.launched)
        poll_listing(listing.entries, channel, record, ledger, settings, launch, report)
        log.info("%s: %d entries listed, %d new", channel.url, len(listing.entries), len(report.launched) - launched)
    relaunch_due(ledger, launch, report, now)
    return report


@dataclass
class PollReport:
    """What one poll did, by video key."""

    launched: list[str] = field(default_factory=list)  # keys of new videos launched
    skipped: list[str] = field(default_factory=list)  # newly listed, not launched (history, filters)
    retried: list[str] = field(default_factory=list)  # relaunched: due retries, or never launched before
    drafted: list[str] = field(default_factory=list)  # launched runs found completed
    failed: list[str] = field(default_factory=list)  # launched runs found failed, to be retried (waiting too)
    gave_up: list[str] = field(default_factory=list)  # failed max_attempts times: left for a person
    channel_errors: dict[str, str] = field(default_factory=dict)  # channel url → why it could not be read

    def summary(self) -> str:
        """One line: how many videos of each kind."""
        parts = [
            f"{len(self.launched)} new launched",
            f"{len(self.skipped)} skipped",
            f"{len(self.retried)} retried",
            f"{len(self.drafted)} drafted",
            f"{len(self.failed)} failed",
            f"{len(self.gave_up)} given up",
        ]
        if self.channel_errors:
            parts.append(f"{len(self.channel_errors)} channel(s) unreadable")
        return ", ".join(parts)


def published_after(channel: Channel, record: ChannelRecord, poll: PollSettings) -> dt.datetime | None:
    """Entries published before this are not ingested: no backfill unless asked. None with
    ``backfill``; else the channel's ``published_after`` (midnight UTC), else
    ``lookback_days`` before the channel's first poll."""
    if channel.backfill:
        return None
    if channel.published_after:
        return dt.datetime.combine(channel.published_after, dt.time(), dt.UTC)
    return record.first_polled_at - dt.timedelta(days=poll.lookback_days)


def skip_reason(entry: FeedEntry, channel: Channel, after: dt.datetime | None, first_poll: bool) -> str | None:
    """Why ``entry`` is not launched (None: launch it). Live and upcoming streams are not
    skipped here: they wait for their broadcast, and are launched when they appear again."""
    if channel.include and not any(re.search(pattern, entry.title) for pattern in channel.include):
        return "skipped: its title matches none of the channel's include patterns"
    if any(re.search(pattern, entry.title) for pattern in channel.exclude):
        return "skipped: its title matches one of the channel's exclude patterns"
    if after is None:
        return None
    if entry.published is None:
        # No date to compare: what a channel lists on its first poll is its history.
        # An undated entry that first appears on a later poll is new, by when it appeared.
        return "skipped: no readable date, and listed on the channel's first poll (no backfill)" if first_poll else None
    if entry.published < after:
        return f"skipped: published {entry.published.date()}, before {after.date()} (no backfill)"
    return None


def poll_listing(
    entries: tuple[FeedEntry, ...],
    channel: Channel,
    record: ChannelRecord,
    ledger: Ledger,
    poll: PollSettings,
    launch: Launch,
    report: PollReport,
) -> None:
    """Act on one channel's listing (newest first): launch each new entry once, oldest
    first; record the ones not launched with why; and give videos still to be retried
    the URL and parameters the feed gives now (signed media URLs expire)."""
    known = ledger.known(key for entry in entries for key in entry.keys)
    ledger.follow_feed(
        (key, entry.url, ingest_parameters(entry, channel)) for entry in entries for key in entry.keys if key in known
    )
    after = published_after(channel, record, poll)
    for entry in reversed(entries):
        if known.intersection(entry.keys) or entry.live_status in SKIPPED_LIVE_STATUSES:
            continue
        known.add(entry.key)
        fields = {"channel": channel.url, "url": entry.url, "title": entry.title, "published": entry.published}
        reason = skip_reason(entry, channel, after, first_poll=record.polls == 1)
        if reason is not None:
            ledger.skip(entry.key, reason, **fields)
            report.skipped.append(entry.key)
            continue
        parameters = ingest_parameters(entry, channel)
        if ledger.discover(entry.key, parameters=parameters, **fields):
            ledger.launched(entry.key, launch(entry.key, parameters, idempotency_key(entry.key, 1)))
            report.launched.append(entry.key)
            log.info("launched %s: %s", entry.key, entry.title)


def ingest_parameters(entry: FeedEntry, channel: Channel) -> dict[str, Any]:
    """The ingest run's parameters for a feed entry. An enclosure is only a media file:
    the feed knows the episode's page, title, date, speaker and show notes, and the
    publisher's transcript and chapters, so they go along as overrides."""
    parameters: dict[str, Any] = {"url": entry.url, "channel": channel.url}
    if entry.enclosure:
        transcript = entry.transcript
        overrides = {
            "id": entry.key.replace(":", "-"),  # the episode, not its media file, is the draft's identity
            "webpage_url": entry.page_url,
            "title": entry.title,
            "description": entry.description,
            "uploader": entry.uploader,
            "upload_date": entry.published.date().isoformat() if entry.published else "",
            "transcript_url": transcript.url if transcript else "",
            "transcript_type": transcript.type if transcript else "",
            "transcript_language": transcript.language if transcript else "",
            "chapters_url": entry.chapters_url,
        }
        parameters["overrides"] = {name: value for name, value in overrides.items() if value}
    return parameters


def refresh(ledger: Ledger, read_run: ReadRun, poll: PollSettings, report: PollReport, now: dt.datetime) -> None:
    """Learn how launched runs ended; schedule retries with backoff, within the bound.

    A run still "running" ``poll.run_timeout_hours`` after its launch counts as failed. A
    failed video is retried ``poll.retry_after[attempts - 1]`` seconds later (the last delay
    repeats) until ``poll.max_attempts``, then given up; a video not broadcast yet waits
    (retried after the same delay, the attempt not counted)."""
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
            waiting = outcome.not_broadcast
            if waiting or video.attempts < poll.max_attempts:
                delay = poll.retry_after[min(video.attempts, len(poll.retry_after)) - 1] if poll.retry_after else 0
                ledger.failed(video.key, outcome.message, retry_at=now + dt.timedelta(seconds=delay), waiting=waiting)
                report.failed.append(video.key)
            else:
                ledger.failed(video.key, outcome.message, retry_at=None)
                report.gave_up.append(video.key)
                log.warning("gave up on %s after %d attempts: %s", video.key, video.attempts, outcome.message)


def relaunch_due(ledger: Ledger, launch: Launch, report: PollReport, now: dt.datetime) -> None:
    """Launch the videos due at ``now`` (``Ledger.due``: failed or waiting ones whose time
    has come, discovered ones never launched) as attempt ``attempts + 1``. A video waiting
    for its broadcast keeps its attempt number, so its launch is keyed by when it was due:
    Prefect hands back the run of a key it has seen, and the video would wait forever."""
    for video in ledger.due(now):
        attempt = video.attempts + 1
        waited = video.next_attempt_at if video.state is State.WAITING else None
        ledger.launched(video.key, launch(video.key, video.parameters, idempotency_key(video.key, attempt, waited)))
        report.retried.append(video.key)
        log.info("relaunched %s (attempt %d): %s", video.key, attempt, video.last_error or "never launched")


def idempotency_key(key: str, attempt: int, waited_until: str | None = None) -> str:
    """One run per video and attempt, whoever launches it and however often: ``key`` for the
    first, ``key#attempt-N`` after a failure, ``key#waited-<when>`` after a wait for a broadcast."""
    if waited_until:
        return f"{key}#waited-{waited_until}"
    return key if attempt <= 1 else f"{key}#attempt-{attempt}"
