"""Speech to text with openai-whisper; the model is loaded once per process."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from pipeline import cleanup, speech
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
    flag: str = ""  # why an editor should check this span ('' when nothing is doubtful)


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

    @property
    def provenance(self) -> str:
        """Where the text came from, for the editor."""
        if self.engine == "captions":
            return f"the video's {self.model} ({self.language})"
        return f"{self.engine} {self.model}, language {self.language}"

    @property
    def flagged(self) -> int:
        return sum(1 for segment in self.segments if segment.flag)

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

    language: str | None = None  # None: detected from the first speech
    beam_size: int | None = 5
    best_of: int | None = 5
    device: str = "cpu"
    engine: str = ENGINE  # or "faster-whisper": CTranslate2 on the same weights
    vad: bool = True  # decode only where voice activity detection finds speech
    chinese_script: str = "zh-Hans"  # Mandarin output: zh-Hans, zh-Hant or zh-TW
    # The defenses below are on by default; bench/quality.py measures each one off.
    condition_on_previous_text: bool = False  # True is whisper's default, and seeds loops
    mandarin_prompt: bool = True  # steer script and punctuation, in every window
    convert_script: bool = True  # OpenCC backstop for Mandarin
    clean: bool = True  # collapse loops, drop outros on non-speech, flag doubtful spans


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
        return Transcript(options.language or "", model.name, options.engine, round(duration, 2), ())
    regions = speech.speech_regions(audio) if options.vad else [(0.0, duration)]
    if not regions:
        log.info("no speech detected in %.0f s of audio", duration)
        return Transcript(options.language or "", model.name, options.engine, round(duration, 2), ())
    decode = _decode_faster if options.engine == "faster-whisper" else _decode_openai
    language, raw_segments = decode(audio, model, options, regions)
    if options.clean:
        cleaned = cleanup.clean_segments(raw_segments, regions if options.vad else [])
    else:
        cleaned = [cleanup.Cleaned(s["text"].strip(), s["start"], s["end"], "") for s in raw_segments]
    convert = cleanup.is_chinese(language) and options.convert_script
    segments = tuple(
        Segment(
            start=round(c.start, 2),
            end=round(c.end, 2),
            text=cleanup.to_script(c.text, options.chinese_script) if convert else c.text,
            flag=c.flag,
        )
        for c in cleaned
    )
    return Transcript(language, model.name, options.engine, round(duration, 2), segments)


def _prompt(language: str, options: DecodingOptions) -> str | None:
    """For Mandarin, a prompt in the wanted script with punctuation, for every window."""
    if cleanup.is_chinese(language) and options.mandarin_prompt:
        return cleanup.MANDARIN_PROMPTS.get(options.chinese_script)
    return None


def _language_and_prompt(
    model: ResolvedModel, options: DecodingOptions, regions: list[tuple[float, float]], detect: Callable[[], str]
) -> tuple[str, str | None]:
    """The language (given, English for .en models, else detected by ``detect``) and the
    prompt for it; logs what is about to be transcribed."""
    language = options.language or ("en" if is_english_only(model.name) else None) or detect()
    log.info(
        "transcribing %.0f s of speech with %s %s (%s), language %s",
        sum(end - start for start, end in regions), options.engine, model.name, model.origin, language,
    )  # fmt: skip
    return language, _prompt(language, options)


def _decode_openai(
    audio: np.ndarray, model: ResolvedModel, options: DecodingOptions, regions: list[tuple[float, float]]
) -> tuple[str, list[dict[str, Any]]]:
    whisper_model = load_model(model.path, options.device)
    language, prompt = _language_and_prompt(
        model, options, regions, lambda: detect_language(whisper_model, audio, regions[0][0])
    )
    import torch

    torch.set_num_threads(os.cpu_count() or 1)
    with contextlib.redirect_stdout(sys.stderr):
        result = whisper_model.transcribe(
            audio,
            language=language,
            beam_size=options.beam_size,
            best_of=options.best_of,
            fp16=options.device == "cuda",
            condition_on_previous_text=options.condition_on_previous_text,
            initial_prompt=prompt,
            carry_initial_prompt=prompt is not None,
            clip_timestamps=_clips(regions, audio),
            verbose=False,  # False: a progress bar; None: silence; True: every segment
        )
    return language, list(result["segments"])


@lru_cache(maxsize=2)
def load_faster_model(folder: Path, device: str = "cpu") -> Any:
    """faster-whisper on a CTranslate2 folder: int8 on the CPU, float16 on a GPU."""
    from faster_whisper import WhisperModel

    compute_type = "float16" if device == "cuda" else "int8"
    try:
        return WhisperModel(str(folder), device=device, compute_type=compute_type, cpu_threads=os.cpu_count() or 1)
    except (RuntimeError, ValueError, OSError) as exc:
        raise ModelError(f"faster-whisper cannot load {folder}: {exc}") from exc


def _decode_faster(
    audio: np.ndarray, model: ResolvedModel, options: DecodingOptions, regions: list[tuple[float, float]]
) -> tuple[str, list[dict[str, Any]]]:
    from tqdm import tqdm

    whisper_model = load_faster_model(model.path, options.device)
    first_speech = audio[int(regions[0][0] * SAMPLE_RATE) :][: 30 * SAMPLE_RATE]
    language, prompt = _language_and_prompt(
        model, options, regions, lambda: str(whisper_model.detect_language(first_speech)[0])
    )
    segments, _ = whisper_model.transcribe(
        audio,
        language=language,
        beam_size=options.beam_size or 1,
        best_of=options.best_of or 1,
        condition_on_previous_text=options.condition_on_previous_text,
        initial_prompt=prompt,
        prefix=None,
        clip_timestamps=_clips(regions, audio),
        vad_filter=False,  # draftcast's own VAD chose the clips
    )
    raw = []
    total = round(sum(end - start for start, end in regions))
    with tqdm(total=total, unit="s", desc="transcribe", file=sys.stderr) as bar:
        for segment in segments:  # a generator: decoding happens here
            raw.append(
                {
                    "start": segment.start,
                    "end": segment.end,
                    "text": segment.text,
                    "avg_logprob": segment.avg_logprob,
                    "no_speech_prob": segment.no_speech_prob,
                    "compression_ratio": segment.compression_ratio,
                }
            )
            bar.update(min(total, round(segment.end - regions[0][0])) - bar.n)
    return language, raw


def default_device() -> str:
    """CUDA when a GPU is there (fp16, larger models are practical), else the CPU."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _clips(regions: list[tuple[float, float]], audio: np.ndarray) -> list[float]:
    """Speech regions as whisper's clip_timestamps, inside the audio's mel frames: a clip
    that ends past the last frame makes whisper's seek loop spin forever."""
    import whisper

    last = (len(audio) // whisper.audio.HOP_LENGTH - 1) / whisper.audio.FRAMES_PER_SECOND
    return [min(t, last) for region in regions for t in region]


def detect_language(whisper_model: Any, audio: np.ndarray, start: float) -> str:
    """The language spoken in the 30 s from ``start`` (the first speech)."""
    import whisper

    first = audio[int(start * SAMPLE_RATE) :][: whisper.audio.N_SAMPLES]
    mel = whisper.log_mel_spectrogram(whisper.pad_or_trim(first), whisper_model.dims.n_mels)
    _, probabilities = whisper_model.detect_language(mel.to(whisper_model.device))
    return str(max(probabilities, key=probabilities.get))


def transcript_path(work_dir: Path, model_label: str, options: DecodingOptions) -> Path:
    """Where the transcript of one video by one model, engine and language is kept."""
    engine = "" if options.engine == ENGINE else f"{options.engine}-"
    return work_dir / f"transcript.{engine}{model_label}.{options.language or 'auto'}.json"


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
        from pipeline.captions import write_sidecars

        write_sidecars(transcript, path)
    else:
        log.info("transcript already made: %s", path)
        transcript = Transcript.from_json(path.read_text(encoding="utf-8"))
    if not transcript.segments:
        raise NoSpeechError(f"no speech was found in the recording ({transcript.duration:.0f} s of audio)")
    return path
