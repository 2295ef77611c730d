"""The transcript record: what a transcription, subtitles or a publisher's transcript
produced, as draftcast keeps it (``transcript.*.json`` in a video's work folder).

No speech library is imported here: reading a transcript (the draft, the writing step,
suggestions) costs nothing.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Segment:
    """A span of the recording and its text."""

    start: float  # seconds from the start of the recording
    end: float
    text: str
    flag: str = ""  # why an editor should check this span ('' when nothing is doubtful)
    speaker: str = ""  # who starts speaking here, when subtitles or a transcript say ('' otherwise)


@dataclass(frozen=True)
class Transcript:
    """A whole recording's text: ``segments`` in order, with where it came from
    (``engine``: openai-whisper, faster-whisper, captions or publisher; ``model``: the
    model, the kind of subtitles, or the publisher's MIME type)."""

    language: str
    model: str
    engine: str
    duration: float  # seconds of audio transcribed (0 when an untimed transcript's media says nothing)
    segments: tuple[Segment, ...]
    timed: bool = True  # False: a transcript without times (HTML without <time>, plain text), one paragraph each
    note: str = ""  # why this run used this text, for the editor (not saved: a property of the run)

    @property
    def text(self) -> str:
        return " ".join(segment.text for segment in self.segments)

    @property
    def provenance(self) -> str:
        """Where the text came from, for the editor."""
        if self.engine == "captions":
            source = f"the video's {self.model} ({self.language})"
        elif self.engine == "publisher":  # model: the MIME type the feed gave
            details = [self.model or "type not given", self.language or "language not given"]
            source = f"the publisher's transcript (podcast:transcript, {', '.join(details)})"
        else:
            source = f"{self.engine} {self.model}, language {self.language}"
        source += "" if self.timed else ", without timings"
        return f"{source} ({self.note})" if self.note else source

    @property
    def flagged(self) -> int:
        return sum(1 for segment in self.segments if segment.flag)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=1)

    @classmethod
    def from_json(cls, text: str) -> Transcript:
        """The inverse of ``to_json``.

        Raises:
            ValueError: ``text`` is not a transcript's JSON (json.JSONDecodeError is one).
        """
        data = json.loads(text)
        data["segments"] = tuple(Segment(**segment) for segment in data["segments"])
        return cls(**data)
