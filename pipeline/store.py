"""The record of written drafts (SQLite in the data dir), per-video locks, and small JSON
files changed under a lock (``JsonFile``: the known voices, the learned corrections).

The record holds the sha256 of each draft as draftcast wrote it, outside the draft's
front matter, so that a draft an editor has changed is recognised and never overwritten,
and the text it wrote, so that what an editor changed can be read (pipeline/corrections.py).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import socket
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from filelock import FileLock

from pipeline.errors import DraftcastError

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS drafts (
    out_dir    TEXT NOT NULL,
    video_key  TEXT NOT NULL,
    path       TEXT NOT NULL,
    sha256     TEXT NOT NULL,
    source     TEXT NOT NULL,
    written_at TEXT NOT NULL,
    PRIMARY KEY (out_dir, video_key)
)
"""
# Columns added since the first schema: (name, declaration). A record written before them
# has no channel ('') and no text (NULL): nothing can be learned from its draft.
# A record without inputs ('') cannot tell an ingest that it has nothing to do.
_ADDED_COLUMNS = (("channel", "TEXT NOT NULL DEFAULT ''"), ("text", "TEXT"), ("inputs", "TEXT NOT NULL DEFAULT ''"))


@dataclass(frozen=True)
class DraftRecord:
    """One draft draftcast wrote: where, for which video, and what it wrote."""

    out_dir: str  # the output dir, resolved, as text
    video_key: str  # VideoInfo.key
    path: Path
    sha256: str  # hex digest of the file's bytes as draftcast wrote them
    source: str  # the video's page (VideoInfo.webpage_url)
    written_at: str  # UTC, ISO 8601 to the second
    inputs: str = ""  # sha256 of what it was composed from (plan.draft_inputs); '' when not known


def _lock_of(path: Path) -> FileLock:
    """The lock of the file at ``path``: ``<name>.lock`` beside it."""
    return FileLock(path.with_name(path.name + ".lock"))


class DraftStore:
    """Which draft draftcast wrote for which video, in which output dir: the SQLite file at
    ``path`` (WAL; its folder is made if missing). SQLite's own errors (a database locked
    for over 60 s, a read-only file) pass through as ``sqlite3.Error``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        # Made or brought up to date by one process at a time: two workers opening a store
        # made before a column both added it, and the second failed (duplicate column
        # name); two switching a new file to WAL at once, one was told "database is locked".
        with _lock_of(path), closing(self._connect()) as db, db:
            if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":  # set once: it stays with the file
                db.execute("PRAGMA journal_mode=WAL")
            db.execute(_SCHEMA)
            present = {row[1] for row in db.execute("PRAGMA table_info(drafts)")}
            for name, declaration in _ADDED_COLUMNS:
                if name not in present:
                    db.execute(f"ALTER TABLE drafts ADD COLUMN {name} {declaration}")

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=60)

    def get(self, out_dir: Path, video_key: str) -> DraftRecord | None:
        """The record of the draft written for ``video_key`` in ``out_dir`` (resolved, as
        ``draft.write_draft`` passes it), or None."""
        with closing(self._connect()) as db:
            row = db.execute(
                "SELECT out_dir, video_key, path, sha256, source, written_at, inputs FROM drafts"
                " WHERE out_dir = ? AND video_key = ?",
                (str(out_dir), video_key),
            ).fetchone()
        return None if row is None else DraftRecord(row[0], row[1], Path(row[2]), *row[3:])

    def records(self) -> dict[Path, DraftRecord]:
        """Every written draft, by its path."""
        with closing(self._connect()) as db:
            rows = db.execute(
                "SELECT out_dir, video_key, path, sha256, source, written_at, inputs FROM drafts"
            ).fetchall()
        return {Path(row[2]): DraftRecord(row[0], row[1], Path(row[2]), *row[3:]) for row in rows}

    def put(
        self,
        out_dir: Path,
        video_key: str,
        path: Path,
        sha256: str,
        source: str,
        *,
        text: str,
        channel: str = "",
        inputs: str = "",
    ) -> None:
        """Record the draft written for ``video_key`` in ``out_dir`` (replacing an earlier
        record): its ``path``, the ``sha256`` hex digest of its bytes, the video's page
        ``source``, the whole ``text`` written (kept so that an editor's changes can be
        read; tens of kilobytes for an hour's talk), the ``channel`` (its URL, '' for
        none) it was written for and the digest of the ``inputs`` it was composed from
        ('' when not known); stamped with the time now, UTC."""
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        with closing(self._connect()) as db, db:
            db.execute(
                "INSERT OR REPLACE INTO drafts"
                " (out_dir, video_key, path, sha256, source, written_at, channel, text, inputs)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (str(out_dir), video_key, str(path), sha256, source, now, channel, text, inputs),
            )

    def set_inputs(self, out_dir: Path, video_key: str, inputs: str) -> None:
        """Record that the draft of ``video_key`` in ``out_dir``, unchanged, is what the
        ``inputs`` digest compose (a re-run found the same draft from new inputs)."""
        with closing(self._connect()) as db, db:
            db.execute(
                "UPDATE drafts SET inputs = ? WHERE out_dir = ? AND video_key = ?", (inputs, str(out_dir), video_key)
            )

    def written(self, channel: str) -> dict[Path, str]:
        """What draftcast last wrote of each draft for ``channel`` (a URL; '' for drafts of
        no configured channel), by the draft's path; drafts recorded without their text
        are left out. In the order they were last written."""
        with closing(self._connect()) as db:
            rows = db.execute(
                "SELECT path, text FROM drafts WHERE channel = ? AND text IS NOT NULL ORDER BY rowid", (channel,)
            )
            return {Path(path): text for path, text in rows.fetchall()}


class JsonFile:
    """A small JSON object in a file, read anew by each call, changed under a file lock
    (``<name>.lock`` beside it) and written atomically. ``empty``: the object of a file
    that does not exist yet, whose keys a file read later is completed with; ``listed``:
    a key whose value must be a list (how a file of this kind is recognised); ``what``:
    its contents in messages ("the known voices"); ``error``: the error raised.
    """

    def __init__(
        self, path: Path, *, empty: dict[str, Any], listed: str, what: str, error: type[DraftcastError]
    ) -> None:
        self.path, self.empty, self.listed, self.what, self.error = path, empty, listed, what, error

    def read(self) -> dict[str, Any]:
        """The object (``empty``'s keys added where missing).

        Raises:
            ``error``: the file cannot be read, is not JSON, or is not a file of this kind.
        """
        empty = json.loads(json.dumps(self.empty))  # a fresh copy: callers change it
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return empty
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise self.error(f"cannot read {self.what} in {self.path}: {exc}; fix the file or remove it") from exc
        if not isinstance(data, dict) or not isinstance(data.get(self.listed), list):
            what = self.what.removeprefix("the ")
            raise self.error(f"{self.path} does not hold draftcast's {what}: fix the file or remove it")
        return {**empty, **data}

    def change(self, change: Callable[[dict[str, Any]], T]) -> T:
        """Apply ``change`` to the object under the file's lock, write it back if it changed,
        and return what ``change`` returned.

        Raises:
            ``error``: the file cannot be read or written.
        """
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with _lock_of(self.path):
                data = self.read()
                before = json.dumps(data, ensure_ascii=False, indent=1)
                result = change(data)
                text = json.dumps(data, ensure_ascii=False, indent=1)
                if text != before:  # most calls find nothing new: the file is not touched
                    write_atomic(self.path, text.encode("utf-8"))
        except OSError as exc:
            raise self.error(f"cannot write {self.what} to {self.path}: {exc.strerror or exc}") from exc
        return result

    def remove(self, match: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
        """Remove the entries of the ``listed`` list that ``match``; returns them.

        Raises:
            ``error``: the file cannot be read or written.
        """

        def drop(data: dict[str, Any]) -> list[dict[str, Any]]:
            """Keep the entries that do not match; those that do."""
            removed = [e for e in data[self.listed] if match(e)]
            data[self.listed] = [e for e in data[self.listed] if not match(e)]
            return removed

        return self.change(drop)


@contextmanager
def locked(directory: Path) -> Iterator[None]:
    """Hold the lock of a video's work dir: one process at a time works on one video. The
    dir is made if missing; the lock (``.lock`` in it, a filelock) is waited for without a
    time limit."""
    directory.mkdir(parents=True, exist_ok=True)
    with FileLock(directory / ".lock"):
        yield


_HOST = re.sub(r"[^A-Za-z0-9_]", "_", socket.gethostname())[:40]
_WRITER = f"{_HOST}-{os.getpid()}"


def unwritable(folder: Path) -> OSError | None:
    """Why files cannot be created in ``folder`` (made when missing), or None when they can."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        return exc
    return None


def write_atomic(path: Path, data: bytes, *, replace: bool = True) -> bool:
    """Write ``data`` to ``path`` through a synced temp file in the same directory, so a
    reader sees the old file or the new one, never half of one. Without ``replace`` an
    existing file wins (returns False), even one that appeared a moment ago. Returns True
    when ``data`` was written; the file is made readable by all (0644).

    Raises:
        OSError: the folder or the file cannot be written (draft.write_draft turns this
            into an OutputError).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    # the writer's host and pid in the name: what a killed writer leaves is recognised and removed
    descriptor, temp_name = tempfile.mkstemp(prefix=f".{path.name}.{_WRITER}.", suffix=".tmp", dir=path.parent)
    temp = Path(temp_name)
    try:
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temp, 0o644)
        if replace:
            os.replace(temp, path)
        else:
            try:
                os.link(temp, path)  # fails if the name exists: no race with another writer
            except FileExistsError:
                return False
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        return True
    finally:
        temp.unlink(missing_ok=True)


def process_gone(pid: int) -> bool:
    """True when no process ``pid`` runs on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # another user's
        return False
    return False


def remove_stale_temps(directory: Path) -> list[Path]:
    """Remove the temp files of write_atomic whose writer is gone (killed mid-write). A
    live writer's are left alone, and so are other machines' (a shared folder). Returns
    the files removed."""
    removed = []
    for temp in directory.glob(".*.tmp"):
        writer = temp.name.rsplit(".", 3)[-3] if temp.name.count(".") >= 4 else ""
        host, _, pid = writer.rpartition("-")
        if host == _HOST and pid.isdigit() and process_gone(int(pid)):
            temp.unlink(missing_ok=True)
            removed.append(temp)
    return removed
