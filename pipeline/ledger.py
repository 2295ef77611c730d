"""The ledger of videos found by polling: what was discovered, launched, drafted or failed.

SQLite, by default in the data dir (``ledger_path`` in the config moves it). A video's key
is stable across polls (extractor + id, or a hash of a feed's guid), so polling twice
launches nothing new. Only the poller writes the ledger: it learns how each launched
ingest ended by asking Prefect about the flow run it started, so ingest workers on other
machines never need the ledger.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS videos (
    key             TEXT PRIMARY KEY,
    channel         TEXT NOT NULL,
    url             TEXT NOT NULL,
    title           TEXT NOT NULL,
    published       TEXT,
    parameters      TEXT NOT NULL,
    state           TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    flow_run_id     TEXT,
    last_error      TEXT,
    next_attempt_at TEXT,
    discovered_at   TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS videos_state ON videos (state);
CREATE TABLE IF NOT EXISTS channels (
    url             TEXT PRIMARY KEY,
    channel_id      TEXT NOT NULL DEFAULT '',
    first_polled_at TEXT NOT NULL,
    last_polled_at  TEXT NOT NULL,
    polls           INTEGER NOT NULL DEFAULT 1,
    last_error      TEXT
);
"""


class State(StrEnum):
    """Where a polled video stands."""

    DISCOVERED = "discovered"  # found, not launched yet
    LAUNCHED = "launched"  # an ingest run was started
    DRAFTED = "drafted"  # the run completed
    FAILED = "failed"  # the run failed; retried after next_attempt_at
    WAITING = "waiting"  # live or upcoming: tried again later, not counted as a failure
    GAVE_UP = "gave-up"  # failed too often: left for a person (draftcast status shows it)
    SKIPPED = "skipped"  # never launched: history (no backfill), or filtered out; last_error says why


# The states whose next launch reads the parameters again: they follow the feed as it is now.
_RELAUNCHABLE = (State.DISCOVERED, State.FAILED, State.WAITING, State.GAVE_UP)


@dataclass(frozen=True)
class Video:
    """One video of the ledger. Times are UTC, ISO 8601 to the second, as text."""

    key: str  # FeedEntry.key
    channel: str  # the configured channel's url
    url: str  # what ingest fetches (the feed's current one while a launch is still to come)
    title: str
    published: str | None  # None: the feed gives no readable date
    parameters: dict[str, Any]  # the ingest run's parameters, the same for every attempt
    state: State
    attempts: int  # launches that count against max_attempts (waiting for a broadcast does not)
    flow_run_id: str | None  # the last launched run
    last_error: str | None  # why the last run failed, or why the video was skipped
    next_attempt_at: str | None  # when a failed or waiting video is launched again; None: never
    discovered_at: str
    updated_at: str  # the last change of state (a launch's time while LAUNCHED)


@dataclass(frozen=True)
class ChannelRecord:
    """A polled channel's history."""

    url: str
    channel_id: str  # a YouTube channel's id, learnt on a poll; '' otherwise
    first_polled_at: dt.datetime  # UTC; lookback_days count back from it
    last_polled_at: dt.datetime  # UTC
    polls: int  # polls that listed it or tried to, failed ones included
    last_error: str | None  # why the last poll could not read it; None when it could


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds") if moment else None


class Ledger:
    """The ledger in the SQLite file at ``path`` (WAL; its folder is made if missing). Each
    thread keeps one connection: a poll asks it a few times per channel, and opening one
    per question was half of a poll's time (BENCHMARKS.md, polling). SQLite's own errors
    pass through as ``sqlite3.Error``; nothing here raises draftcast's."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection, in a transaction committed on leaving."""
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = sqlite3.connect(self.path, timeout=60)
            db.execute("PRAGMA synchronous=NORMAL")  # with WAL: safe, without an fsync per commit
        with db:
            yield db

    # ------------------------------------------------------------ channels

    def channel(self, url: str) -> ChannelRecord | None:
        """The record of the channel at ``url``, or None before its first poll."""
        with self._db() as db:
            row = db.execute(
                "SELECT url, channel_id, first_polled_at, last_polled_at, polls, last_error"
                " FROM channels WHERE url = ?",
                (url,),
            ).fetchone()
        if row is None:
            return None
        first, last = dt.datetime.fromisoformat(row[2]), dt.datetime.fromisoformat(row[3])
        return ChannelRecord(row[0], row[1], first, last, row[4], row[5])

    def channel_polled(self, url: str, *, channel_id: str = "", error: str | None = None) -> ChannelRecord:
        """Record a poll of ``url`` and return its record. ``polls`` counts the polls that
        read the channel: one that failed (``error``) does not, so the first poll that reads
        it is still its first, whose entries are its history."""
        now = _iso(_now())
        read = 0 if error else 1
        with self._db() as db:
            db.execute(
                "INSERT INTO channels (url, channel_id, first_polled_at, last_polled_at, polls, last_error)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (url) DO UPDATE SET"
                " channel_id = CASE WHEN excluded.channel_id != '' THEN excluded.channel_id ELSE channel_id END,"
                " last_polled_at = excluded.last_polled_at, polls = polls + excluded.polls,"
                " last_error = excluded.last_error",
                (url, channel_id, now, now, read, error),
            )
        record = self.channel(url)
        assert record is not None
        return record

    # ------------------------------------------------------------ videos

    def known(self, keys: Iterable[str]) -> set[str]:
        """Which of ``keys`` the ledger holds (one query per 500 keys)."""
        keys = list(keys)
        found: set[str] = set()
        with self._db() as db:
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                marks = ",".join("?" * len(chunk))
                found.update(row[0] for row in db.execute(f"SELECT key FROM videos WHERE key IN ({marks})", chunk))
        return found

    def discover(
        self,
        key: str,
        *,
        channel: str,
        url: str,
        title: str,
        published: dt.datetime | None,
        parameters: dict[str, Any],
    ) -> bool:
        """Record a new video; False if the key was already there."""
        now = _iso(_now())
        with self._db() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO videos"
                " (key, channel, url, title, published, parameters, state, discovered_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (key, channel, url, title, _iso(published), json.dumps(parameters), State.DISCOVERED, now, now),
            )
        return cursor.rowcount == 1

    def skip(self, key: str, reason: str, *, channel: str, url: str, title: str, published: dt.datetime | None) -> bool:
        """Record a video that is not launched, with why; False if the key was already there."""
        now = _iso(_now())
        with self._db() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO videos (key, channel, url, title, published, parameters, state, last_error,"
                " discovered_at, updated_at) VALUES (?, ?, ?, ?, ?, '{}', ?, ?, ?, ?)",
                (key, channel, url, title, _iso(published), State.SKIPPED, reason, now, now),
            )
        return cursor.rowcount == 1

    def follow_feed(self, current: Iterable[tuple[str, str, dict[str, Any]]]) -> int:
        """Take each (key, url, parameters) as the feed gives them now, for videos still to be
        (re)launched: signed media URLs expire, so a retry must not use the first attempt's.
        Returns how many videos changed."""
        states = ", ".join(f"'{state}'" for state in _RELAUNCHABLE)  # constants of this module
        rows = [{"key": key, "url": url, "parameters": json.dumps(parameters)} for key, url, parameters in current]
        with self._db() as db:
            cursor = db.executemany(
                f"UPDATE videos SET url = :url, parameters = :parameters WHERE key = :key AND state IN ({states})"
                " AND (url != :url OR parameters != :parameters)",
                rows,
            )
        return cursor.rowcount

    def launched(self, key: str, flow_run_id: str) -> None:
        """An ingest run (``flow_run_id``) was started for ``key``: one more attempt, none scheduled."""
        self._update(key, state=State.LAUNCHED, flow_run_id=flow_run_id, next_attempt_at=None, attempts_delta=1)

    def drafted(self, key: str) -> None:
        """The run for ``key`` completed: its error and schedule are cleared."""
        self._update(key, state=State.DRAFTED, last_error=None, next_attempt_at=None)

    def failed(self, key: str, error: str, *, retry_at: dt.datetime | None, waiting: bool = False) -> None:
        """A failed run: retried at ``retry_at``, or left for a person when it is None.
        ``waiting``: the video is live or upcoming; it is tried again at ``retry_at`` and the
        attempt is not counted."""
        if waiting:
            self._update(key, state=State.WAITING, last_error=error, next_attempt_at=_iso(retry_at), attempts_delta=-1)
        elif retry_at is None:
            self._update(key, state=State.GAVE_UP, last_error=error, next_attempt_at=None)
        else:
            self._update(key, state=State.FAILED, last_error=error, next_attempt_at=_iso(retry_at))

    def _update(self, key: str, *, state: State, attempts_delta: int = 0, **fields: str | None) -> None:
        assignments = "".join(f", {name} = :{name}" for name in fields)
        with self._db() as db:
            db.execute(
                f"UPDATE videos SET state = :state, attempts = MAX(0, attempts + :delta),"
                f" updated_at = :now{assignments} WHERE key = :key",
                {"state": state, "delta": attempts_delta, "now": _iso(_now()), "key": key, **fields},
            )

    def get(self, key: str) -> Video | None:
        """The video known by ``key``, or None."""
        rows = self._select("WHERE key = ?", (key,))
        return rows[0] if rows else None

    def in_state(self, *states: State) -> list[Video]:
        """The videos in any of ``states``, in the order they were discovered."""
        marks = ",".join("?" * len(states))
        return self._select(f"WHERE state IN ({marks}) ORDER BY discovered_at", states)

    def due(self, now: dt.datetime) -> list[Video]:
        """Failed or waiting videos whose next attempt is due, and discovered ones never launched."""
        return self._select(
            "WHERE (state IN (?, ?) AND next_attempt_at <= ?) OR state = ? ORDER BY discovered_at",
            (State.FAILED, State.WAITING, _iso(now), State.DISCOVERED),
        )

    def all(self) -> list[Video]:
        """Every video, the most recently changed first."""
        return self._select("ORDER BY updated_at DESC", ())

    def _select(self, where: str, parameters: Iterable[object]) -> list[Video]:
        with self._db() as db:
            rows = db.execute(
                "SELECT key, channel, url, title, published, parameters, state, attempts, flow_run_id,"
                f" last_error, next_attempt_at, discovered_at, updated_at FROM videos {where}",
                tuple(parameters),
            ).fetchall()
        return [Video(*row[:5], json.loads(row[5]), State(row[6]), *row[7:]) for row in rows]
