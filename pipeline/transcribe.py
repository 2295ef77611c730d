"""Speech to text with openai-whisper; the model is loaded once per process."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.audio import SAMPLE_RATE, decode, is_silent
from pipeline.errors import AudioError, ModelError, NoSpeechError
from pipeline.models import ResolvedModel, is_english_only
from pipeline.store import write_atomic

log = logging.getLogger(__name__)

ENGINE = "openai-whisper"


@dataclass(frozen=True)
class Segment:
    start: float  # seconds from the start of the recording
    end: float
    text: str


@dataclass(frozen=True)
class Transcript:
    language: str
    model: str
    engine: str
    duration: float  # seconds of audio transcribed
    segments: tuple[Segment, ...]

    @property
    def text(self) -> str:
        return " ".join(segment.text for segment in self.segments)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=1)

    @classmethod
    def from_json(cls, text: str) -> Transcript:
        data = json.loads(text)
        data["segments"] = tuple(Segment(**segment) for segment in data["segments"])
        return cls(**data)


@dataclass(frozen=True)
class DecodingOptions:
    """How whisper decodes; the defaults are whisper's command-line defaults."""

    language: str | None = None  # None: detected from the first 30 s
    beam_size: int | None = 5
    best_of: int | None = 5
    device: str = "cpu"


@lru_cache(maxsize=2)
def load_model(checkpoint: Path, device: str = "cpu") -> Any:
    """A whisper model from a checkpoint path, cached for the life of the process."""
    import torch
    import whisper

    try:
        saved = torch.load(checkpoint, map_location=device, weights_only=True)
        model = whisper.model.Whisper(whisper.model.ModelDimensions(**saved["dims"]))
        model.load_state_dict(saved["model_state_dict"])
    except (OSError, RuntimeError, KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"cannot load the whisper checkpoint {checkpoint}: {exc}") from exc
    heads = saved.get("alignment_heads")
    if heads:  # used for word timestamps; the default (all heads of the upper half) is worse
        mask = torch.zeros(model.dims.n_text_layer, model.dims.n_text_head, dtype=torch.bool)
        for layer, head in heads:
            mask[layer, head] = True
        model.register_buffer("alignment_heads", mask.to_sparse(), persistent=False)
    return model.to(device)


def transcribe(audio: np.ndarray, model: ResolvedModel, options: DecodingOptions) -> Transcript:
    """Transcribe 16 kHz mono samples; shows a progress bar on stderr."""
    if options.language and options.language != "en" and is_english_only(model.name):
        raise ModelError(
            f"model {model.name!r} only knows English but language {options.language!r} was asked: "
            "use a multilingual model such as 'base'"
        )
    duration = len(audio) / SAMPLE_RATE
    if is_silent(audio):  # whisper invents words in silence rather than say nothing
        log.info("the %.0f s of audio are silent: nothing to transcribe", duration)
        return Transcript(
            language=options.language or "", model=model.name, engine=ENGINE, duration=duration, segments=()
        )
    whisper_model = load_model(model.path, options.device)
    log.info("transcribing %.0f s of audio with %s (%s)", duration, model.name, model.origin)
    threads = os.cpu_count() or 1
    import torch

    torch.set_num_threads(threads)
    with contextlib.redirect_stdout(sys.stderr):  # whisper prints the detected language
        result = whisper_model.transcribe(
            audio,
            language=options.language,
            beam_size=options.beam_size,
            best_of=options.best_of,
            fp16=options.device == "cuda",
            verbose=False,  # False: a progress bar; None: silence; True: every segment
        )
    segments = tuple(
        Segment(start=round(float(s["start"]), 2), end=round(float(s["end"]), 2), text=s["text"].strip())
        for s in result["segments"]
        if s["text"].strip()
    )
    language = "en" if is_english_only(model.name) else str(result.get("language") or options.language or "")
    return Transcript(
        language=language, model=model.name, engine=ENGINE, duration=round(duration, 2), segments=segments
    )


def transcript_path(work_dir: Path, model_label: str, options: DecodingOptions) -> Path:
    """Where the transcript of one video by one model (and language) is kept."""
    return work_dir / f"transcript.{model_label}.{options.language or 'auto'}.json"


def transcribe_media(media: Path | None, work_dir: Path, model: ResolvedModel, options: DecodingOptions) -> Path:
    """Transcribe ``media`` once: a transcript saved earlier is reused (``media`` may then
    be None). Returns the transcript's path."""
    path = transcript_path(work_dir, model.name, options)
    if not path.exists():
        if media is None:
            raise FileNotFoundError(f"{path} vanished and no media was given to transcribe again")
        try:
            samples = decode(media)
        except AudioError:
            media.unlink(missing_ok=True)  # useless; a later run downloads it again
            raise
        transcript = transcribe(samples, model, options)
        write_atomic(path, transcript.to_json().encode("utf-8"))
    else:
        log.info("transcript already made: %s", path)
        transcript = Transcript.from_json(path.read_text(encoding="utf-8"))
    if not transcript.segments:
        raise NoSpeechError(f"no speech was found in the recording ({transcript.duration:.0f} s of audio)")
    return path
