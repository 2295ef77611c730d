"""The record of written drafts (SQLite in the data dir) and per-video locks.

The record holds the sha256 of each draft as draftcast wrote it, outside the draft's
front matter, so that a draft an editor has changed is recognised and never overwritten.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import socket
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

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


@dataclass(frozen=True)
class DraftRecord:
    """One draft draftcast wrote: where, for which video, and what it wrote."""

    out_dir: str  # the output dir, resolved, as text
    video_key: str  # VideoInfo.key
    path: Path
    sha256: str  # hex digest of the file's bytes as draftcast wrote them
    source: str  # the video's page (VideoInfo.webpage_url)
    written_at: str  # UTC, ISO 8601 to the second


class DraftStore:
    """Which draft draftcast wrote for which video, in which output dir: the SQLite file at
    ``path`` (WAL; its folder is made if missing). SQLite's own errors (a database locked
    for over 60 s, a read-only file) pass through as ``sqlite3.Error``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as db, db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=60)

    def get(self, out_dir: Path, video_key: str) -> DraftRecord | None:
        """The record of the draft written for ``video_key`` in ``out_dir`` (resolved, as
        ``draft.write_draft`` passes it), or None."""
        with closing(self._connect()) as db:
            row = db.execute(
                "SELECT out_dir, video_key, path, sha256, source, written_at FROM drafts"
                " WHERE out_dir = ? AND video_key = ?",
                (str(out_dir), video_key),
            ).fetchone()
        return None if row is None else DraftRecord(row[0], row[1], Path(row[2]), row[3], row[4], row[5])

    def records(self) -> dict[Path, DraftRecord]:
        """Every written draft, by its path."""
        with closing(self._connect()) as db:
            rows = db.execute("SELECT out_dir, video_key, path, sha256, source, written_at FROM drafts").fetchall()
        return {Path(row[2]): DraftRecord(row[0], row[1], Path(row[2]), row[3], row[4], row[5]) for row in rows}

    def put(self, out_dir: Path, video_key: str, path: Path, sha256: str, source: str) -> None:
        """Record the draft written for ``video_key`` in ``out_dir`` (replacing an earlier
        record): its ``path``, the ``sha256`` hex digest of its bytes, the video's page
        ``source``; stamped with the time now, UTC."""
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        with closing(self._connect()) as db, db:
            db.execute(
                "INSERT OR REPLACE INTO drafts (out_dir, video_key, path, sha256, source, written_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (str(out_dir), video_key, str(path), sha256, source, now),
            )


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
