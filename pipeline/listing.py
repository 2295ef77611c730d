"""What is waiting for editors: the drafts in an output dir, with their state."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import frontmatter
import yaml

from pipeline.store import DraftStore


@dataclass(frozen=True)
class DraftEntry:
    """One draft as ``draftcast drafts`` lists it: its file and its front matter's fields."""

    path: str  # the file, as found in the output dir
    date: str  # the front matter's date, YYYY-MM-DD
    title: str
    speaker: str
    source: str
    state: str  # new (as draftcast wrote it), edited (changed by an editor), published (draft: false)

    def to_dict(self) -> dict[str, Any]:
        """The fields as a dict, for ``draftcast drafts --json``."""
        return asdict(self)


def list_drafts(
    out_dir: Path,
    store: DraftStore,
    *,
    include_published: bool = False,
    speaker: str | None = None,
    since: str | None = None,
    until: str | None = None,
) -> list[DraftEntry]:
    """Drafts in ``out_dir``, newest first (by date, then by when the file was written); a
    file that is not a post is skipped.

    Posts are the ``*.md`` files with a ``draft`` field in their front matter; ``store``
    tells draftcast's own unedited ones ("new") from edited ones. ``include_published``:
    posts with ``draft`` not true too; ``speaker``: that speaker's only (exact match);
    ``since``, ``until``: YYYY-MM-DD bounds, both included, compared as text. A file that
    cannot be read raises OSError."""
    records = store.records()
    entries = []
    for path in sorted(out_dir.glob("*.md")):
        data = path.read_bytes()
        try:
            post = frontmatter.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, yaml.YAMLError, ValueError):
            continue
        if "draft" not in post.metadata:
            continue
        record = records.get(path.resolve())
        if post["draft"] is not True:
            state = "published"
        elif record is not None and record.sha256 == hashlib.sha256(data).hexdigest():
            state = "new"
        else:
            state = "edited"
        entry = DraftEntry(
            path=str(path),
            date=str(post.get("date", "")),
            title=str(post.get("title", "")),
            speaker=str(post.get("speaker", "")),
            source=str(post.get("source", "")),
            state=state,
        )
        if state == "published" and not include_published:
            continue
        if speaker and entry.speaker != speaker:
            continue
        if (since and entry.date < since) or (until and entry.date > until):
            continue
        entries.append(entry)
    # The same date: the file written last first (what was just drafted is on top).
    return sorted(entries, key=lambda e: (e.date, Path(e.path).stat().st_mtime_ns), reverse=True)
