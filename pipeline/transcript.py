"""The transcript record: what a transcription, subtitles or a publisher's transcript
produced, as draftcast keeps it (``transcript.*.json`` in a video's work folder), and its
sidecars for video editors and players (.srt, .vtt, .txt).

No speech library is imported here: reading a transcript (the draft, the writing step,
suggestions) costs nothing.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from pipeline.cleanup import join_text
from pipeline.store import write_atomic


@dataclass(frozen=True)
class Segment:
    """A span of the recording and its text."""

    start: float  # seconds from the start of the recording
    end: float  # seconds; equal to start (0) in an untimed transcript
    text: str
    flag: str = ""  # why an editor should check this span ('' when nothing is doubtful)
    speaker: str = ""  # who speaks in this span: a name, or a Voice's label ('' when not known)


@dataclass(frozen=True)
class Voice:
    """One speaker that diarization found in a recording: the ``label`` its segments carry
    ("Speaker 1", "说话人1": numbered by first appearance), how many ``seconds`` they speak,
    and their voice's ``embedding`` (a unit vector; its size is the speaker model's), which
    names the voice later by comparing it with enrolled voices."""

    label: str
    seconds: float
    embedding: tuple[float, ...]


@dataclass(frozen=True)
class Transcript:
    """A whole recording's text: ``segments`` in order, with where it came from
    (``engine``: openai-whisper, faster-whisper, captions or publisher; ``model``: the
    model, the kind of subtitles, or the publisher's MIME type)."""

    language: str  # whisper's or a BCP 47 code; '' when unknown
    model: str
    engine: str
    duration: float  # seconds of audio transcribed (0 when an untimed transcript's media says nothing)
    segments: tuple[Segment, ...]
    timed: bool = True  # False: a transcript without times (HTML without <time>, plain text), one paragraph each
    note: str = ""  # why this run used this text, for the editor (a property of the run: set after loading)
    voices: tuple[Voice, ...] = ()  # the speakers diarization told apart (none: one voice, or not diarized)
    diarized: bool = False  # whether speaker turns were looked for (so no voices means one voice)
    speakers_note: str = ""  # why speaker turns were wanted but not found, for the editor
    corrected: tuple[str, ...] = ()  # editors' corrections applied ("SMC → TSMC (2×)"; set after loading)
    compute_type: str = ""  # the weights' number type when not the engine's own ("int8" on openai-whisper)

    @property
    def text(self) -> str:
        """The whole text, joined by the one rule for running text (``cleanup.join_text``)."""
        return join_text((segment.text for segment in self.segments), self.language)

    @property
    def provenance(self) -> str:
        """Where the text came from, for the editor."""
        if self.engine == "captions":
            source = f"the video's {self.model} ({self.language})"
        elif self.engine == "publisher":  # model: the MIME type the feed gave
            details = [self.model or "type not given", self.language or "language not given"]
            source = f"the publisher's transcript (podcast:transcript, {', '.join(details)})"
        else:
            source = f"{' '.join(filter(None, (self.engine, self.model, self.compute_type)))}, language {self.language}"
        source += "" if self.timed else ", without timings"
        return f"{source} ({self.note})" if self.note else source

    @property
    def flagged(self) -> int:
        """How many segments an editor should check (those with a flag)."""
        return sum(1 for segment in self.segments if segment.flag)

    def to_json(self) -> str:
        """The record as JSON, every field: what ``transcript.*.json`` holds."""
        return json.dumps(asdict(self), ensure_ascii=False, indent=1)

    @classmethod
    def from_json(cls, text: str) -> Transcript:
        """The inverse of ``to_json``.

        Raises:
            ValueError: ``text`` is not JSON (json.JSONDecodeError is one).
            KeyError, TypeError: JSON of another shape (no segments, unknown fields).
        """
        data = json.loads(text)
        data["segments"] = tuple(Segment(**segment) for segment in data["segments"])
        data["voices"] = tuple(Voice(v["label"], v["seconds"], tuple(v["embedding"])) for v in data.get("voices", ()))
        data["corrected"] = tuple(data.get("corrected", ()))
        return cls(**data)


def colon(language: str) -> str:
    """The colon after a speaker's name: full-width in Chinese and Japanese (说话人1：)."""
    return "：" if language.split("-")[0].lower() in {"zh", "ja", "yue"} else ":"


def _clock(seconds: float, separator: str) -> str:
    millis = round(seconds * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def _voice(segment: Segment) -> str:
    """A cue's speaker as a WebVTT voice span (``<v Name>``), '' when not known."""
    return f"<v {segment.speaker}>" if segment.speaker else ""


def to_srt(transcript: Transcript) -> str:
    """SubRip: numbered cues, ``HH:MM:SS,mmm`` times, each cue's speaker as a voice span
    (``<v Name>``: SubRip has no markup of its own for speakers; players that do not know
    the tag hide it, as they hide ``<i>``)."""
    return "\n".join(
        f"{n}\n{_clock(s.start, ',')} --> {_clock(s.end, ',')}\n{_voice(s)}{join_text([s.text], transcript.language)}\n"
        for n, s in enumerate(transcript.segments, start=1)
    )


def to_vtt(transcript: Transcript) -> str:
    """WebVTT: cues with ``HH:MM:SS.mmm`` times, each cue's speaker as a voice span (``<v Name>``)."""
    cues = "\n".join(
        f"{_clock(s.start, '.')} --> {_clock(s.end, '.')}\n{_voice(s)}{join_text([s.text], transcript.language)}\n"
        for s in transcript.segments
    )
    return f"WEBVTT\n\n{cues}"


def to_text(transcript: Transcript) -> str:
    """Plain text: one run of words, or an untimed transcript's paragraphs (with the
    speakers named where their turn starts) between blank lines; with speakers, a
    paragraph per turn."""
    if not transcript.timed or any(s.speaker for s in transcript.segments):
        turns: list[tuple[str, list[str]]] = []
        for segment in transcript.segments:
            if transcript.timed and turns and turns[-1][0] == segment.speaker:
                turns[-1][1].append(segment.text)
            else:
                turns.append((segment.speaker, [segment.text]))
        paragraphs, before = [], ""
        for who, parts in turns:
            text = join_text(parts, transcript.language)
            paragraphs.append(f"{who}{colon(transcript.language)} {text}" if who and who != before else text)
            before = who
        return "\n\n".join(paragraphs) + "\n"
    return transcript.text + "\n"


def write_sidecars(transcript: Transcript, json_path: Path) -> list[Path]:
    """.srt, .vtt and .txt beside the transcript's .json, for video editors and players;
    only .txt for an untimed transcript (subtitles all at 0:00 would mislead). Returns the
    paths written, each replaced atomically (``store.write_atomic``: an OSError passes)."""
    written = []
    sidecars = [(".srt", to_srt(transcript)), (".vtt", to_vtt(transcript))] if transcript.timed else []
    for suffix, text in [*sidecars, (".txt", to_text(transcript))]:
        path = json_path.with_suffix(suffix)
        write_atomic(path, text.encode("utf-8"))
        written.append(path)
    return written
