"""Speech to text with openai-whisper; the model is loaded once per process."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from pipeline import cleanup, speech
from pipeline.audio import SAMPLE_RATE, decode, floats, is_silent
from pipeline.errors import AudioError, ModelError, NoSpeechError
from pipeline.models import ResolvedModel, is_english_only, resolve_model
from pipeline.store import remove_stale_temps, write_atomic

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
        return cleanup.join_text((segment.text for segment in self.segments), self.language)

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


BATCH_WINDOWS = 8  # windows decoded side by side; memory is bounded by one batch, whatever the length
MAX_PASSES = 4  # a window whose text stops early is decoded again from there, at most this often
MIN_REST_SECONDS = 1.0
REST_SPEECH_FRACTION = 0.3  # a rest with less speech than this is taken as the end of the window


def transcribe(
    audio: np.ndarray,
    model: ResolvedModel,
    options: DecodingOptions,
    *,
    checkpoint: Path | None = None,
    found_speech: list[Span] | None = None,
    on_progress: Progress | None = None,
) -> Transcript:
    """Transcribe 16 kHz mono samples; shows a progress bar on stderr and logs each batch.

    ``checkpoint``: a file where finished windows are kept as they are done, so a run that
    was interrupted goes on where it stopped (the caller removes it when it is done).
    ``found_speech``: what speech_regions(audio, merge_gap=0) gave, if already known.
    ``on_progress``: called with the share of the speech transcribed (0 to 1) after each batch."""
    if options.language and options.language != "en" and is_english_only(model.name):
        raise ModelError(
            f"model {model.name!r} only knows English but language {options.language!r} was asked: "
            "use a multilingual model such as 'base'"
        )
    duration = len(audio) / SAMPLE_RATE
    if is_silent(audio):  # whisper invents words in silence rather than say nothing
        log.info("the %.0f s of audio are silent: nothing to transcribe", duration)
        return Transcript(options.language or "", model.name, options.engine, round(duration, 2), ())
    if not options.vad:
        fine = [(0.0, duration)]
    else:
        fine = found_speech if found_speech is not None else speech.speech_regions(audio, merge_gap=0.0)
    regions = speech.merge(fine, speech.MERGE_GAP_SECONDS)
    if not regions:
        log.info("no speech detected in %.0f s of audio", duration)
        return Transcript(options.language or "", model.name, options.engine, round(duration, 2), ())
    spans = speech.windows(regions, audio)
    decode_batch = _openai_batches if options.engine == ENGINE else _faster_batches
    language, raw_segments = decode_batch(audio, model, options, spans, fine, checkpoint, on_progress)
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


Span = tuple[float, float]
DecodeSpans = Callable[[list[Span]], list[list[dict[str, Any]]]]
Progress = Callable[[float], None]


def _prompt(language: str, options: DecodingOptions) -> str | None:
    """For Mandarin, a prompt in the wanted script with punctuation, for every window."""
    if cleanup.is_chinese(language) and options.mandarin_prompt:
        return cleanup.MANDARIN_PROMPTS.get(options.chinese_script)
    return None


def _language_and_prompt(
    model: ResolvedModel, options: DecodingOptions, spans: list[Span], detect: Callable[[], str]
) -> tuple[str, str | None]:
    """The language (given, English for .en models, else detected by ``detect``) and the
    prompt for it; logs what is about to be transcribed."""
    language = options.language or ("en" if is_english_only(model.name) else None) or detect()
    log.info(
        "transcribing %.0f s of speech in %d windows with %s %s (%s), language %s",
        sum(end - start for start, end in spans), len(spans), options.engine, model.name, model.origin, language,
    )  # fmt: skip
    return language, _prompt(language, options)


def _openai_batches(
    audio: np.ndarray,
    model: ResolvedModel,
    options: DecodingOptions,
    spans: list[Span],
    speech_regions: list[Span],
    checkpoint: Path | None,
    on_progress: Progress | None = None,
) -> tuple[str, list[dict[str, Any]]]:
    import torch
    import whisper

    from pipeline import batched

    torch.set_num_threads(os.cpu_count() or 1)
    whisper_model = load_model(model.path, options.device)
    language, prompt = _language_and_prompt(
        model, options, spans, lambda: detect_language(whisper_model, audio, spans[0][0])
    )
    decoding = whisper.DecodingOptions(
        language=language,
        beam_size=options.beam_size,
        fp16=options.device == "cuda",
        prompt=prompt,
    )
    segments = _decode_spans(
        spans,
        lambda batch: batched.decode_windows(whisper_model, audio, batch, decoding, SAMPLE_RATE, options.best_of),
        speech_regions,
        checkpoint,
        _fingerprint(model, options, language, prompt),
        on_progress,
    )
    return language, segments


@lru_cache(maxsize=2)
def load_faster_model(folder: Path, device: str = "cpu") -> Any:
    """faster-whisper on a CTranslate2 folder: int8 on the CPU, float16 on a GPU."""
    from faster_whisper import WhisperModel

    compute_type = "float16" if device == "cuda" else "int8"
    try:
        return WhisperModel(str(folder), device=device, compute_type=compute_type, cpu_threads=os.cpu_count() or 1)
    except (RuntimeError, ValueError, OSError) as exc:
        raise ModelError(f"faster-whisper cannot load {folder}: {exc}") from exc


def _faster_batches(
    audio: np.ndarray,
    model: ResolvedModel,
    options: DecodingOptions,
    spans: list[Span],
    speech_regions: list[Span],
    checkpoint: Path | None,
    on_progress: Progress | None = None,
) -> tuple[str, list[dict[str, Any]]]:
    from faster_whisper import BatchedInferencePipeline

    logging.getLogger("faster_whisper").setLevel(logging.WARNING)  # it logs every batch twice
    whisper_model = load_faster_model(model.path, options.device)
    first_speech = floats(audio[int(spans[0][0] * SAMPLE_RATE) :][: 30 * SAMPLE_RATE])
    language, prompt = _language_and_prompt(
        model, options, spans, lambda: str(whisper_model.detect_language(first_speech)[0])
    )
    pipeline = BatchedInferencePipeline(whisper_model)

    def decode(batch: list[Span]) -> list[list[dict[str, Any]]]:
        found: list[list[dict[str, Any]]] = [[] for _ in batch]
        first = min(start for start, _ in batch)  # floats for this batch's stretch only
        piece = floats(audio[int(first * SAMPLE_RATE) : int(max(end for _, end in batch) * SAMPLE_RATE) + 1])
        segments, _ = pipeline.transcribe(
            piece,
            language=language,
            beam_size=options.beam_size or 1,
            best_of=options.best_of or 1,
            condition_on_previous_text=False,
            initial_prompt=prompt,
            without_timestamps=False,
            vad_filter=False,
            clip_timestamps=[{"start": start - first, "end": end - first} for start, end in batch],
            batch_size=len(batch),
        )
        for segment in segments:  # a generator: decoding happens here
            begins = segment.start + first
            owner = max(i for i, (start, _) in enumerate(batch) if i == 0 or begins >= start - 0.01)
            found[owner].append(
                {
                    "start": begins,
                    "end": segment.end + first,
                    "text": segment.text,
                    "avg_logprob": segment.avg_logprob,
                    "no_speech_prob": segment.no_speech_prob,
                    "compression_ratio": segment.compression_ratio,
                }
            )
        return found

    fingerprint = _fingerprint(model, options, language, prompt)
    return language, _decode_spans(spans, decode, speech_regions, checkpoint, fingerprint, on_progress)


def _fingerprint(model: ResolvedModel, options: DecodingOptions, language: str, prompt: str | None) -> dict[str, Any]:
    """What a checkpoint's windows depend on: one made another way is not reused."""
    return {
        "engine": options.engine,
        "model": str(model.path),
        "language": language,
        "beam": options.beam_size,
        "prompt": prompt,
    }


def _decode_spans(
    spans: list[Span],
    decode: DecodeSpans,
    speech_regions: list[Span],
    checkpoint: Path | None,
    fingerprint: dict[str, Any],
    on_progress: Progress | None = None,
) -> list[dict[str, Any]]:
    """Every span's segments, in order, decoded BATCH_WINDOWS at a time. A window whose text
    ends while speech goes on is decoded again from there (whisper.transcribe does the same
    by moving its window; here the rest joins a later pass). Finished windows are appended
    to ``checkpoint``; the ones already there are not decoded again."""
    from tqdm import tqdm

    done = _read_checkpoint(checkpoint, fingerprint)
    todo = [span for span in spans if _key(span) not in done]
    total = sum(end - start for start, end in spans)
    if done:
        log.info("resuming: %d of %d windows were transcribed before", len(spans) - len(todo), len(spans))
    with (
        tqdm(total=round(total), initial=round(total - sum(e - s for s, e in todo)), unit="s", desc="transcribe",
             file=sys.stderr) as bar,
        _checkpoint_writer(checkpoint, fingerprint, fresh=not done) as keep,
    ):  # fmt: skip
        for first in range(0, len(todo), BATCH_WINDOWS):
            batch = todo[first : first + BATCH_WINDOWS]
            found = _with_rests(batch, decode, speech_regions)
            for span, segments in zip(batch, found, strict=True):
                done[_key(span)] = segments
                keep(span, segments)
            bar.update(round(sum(end - start for start, end in batch)))
            log.info("transcribed %d of %d windows", len(spans) - len(todo) + first + len(batch), len(spans))
            if on_progress:
                on_progress(bar.n / max(bar.total, 1))
    return [segment for span in spans for segment in done[_key(span)]]


def _with_rests(batch: list[Span], decode: DecodeSpans, speech_regions: list[Span]) -> list[list[dict[str, Any]]]:
    found: list[list[dict[str, Any]]] = [[] for _ in batch]
    pending = list(enumerate(batch))
    for _ in range(MAX_PASSES):
        rests = []
        for (index, (start, end)), segments in zip(pending, decode([span for _, span in pending]), strict=True):
            found[index] += segments
            resume = segments[-1]["end"] if segments else end
            speech_left = speech.speech_fraction(resume, end, speech_regions) >= REST_SPEECH_FRACTION
            if end - resume >= MIN_REST_SECONDS and resume > start and speech_left:
                rests.append((index, (resume, end)))
        if not rests:
            break
        log.debug("%d window(s) stopped early: decoding the rest", len(rests))
        pending = rests
    return found


def _key(span: Span) -> str:
    return f"{span[0]:.2f}-{span[1]:.2f}"


def _read_checkpoint(checkpoint: Path | None, fingerprint: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The windows finished before, if the checkpoint was made the same way."""
    if checkpoint is None or not checkpoint.exists():
        return {}
    lines = checkpoint.read_text(encoding="utf-8").splitlines()
    done: dict[str, list[dict[str, Any]]] = {}
    try:
        if not lines or json.loads(lines[0]) != {"fingerprint": fingerprint}:
            return {}
        for line in lines[1:]:
            entry = json.loads(line)
            done[entry["window"]] = entry["segments"]
    except (json.JSONDecodeError, KeyError, TypeError):
        pass  # a line torn by a crash ends what can be trusted
    return done


@contextlib.contextmanager
def _checkpoint_writer(
    checkpoint: Path | None, fingerprint: dict[str, Any], *, fresh: bool
) -> Iterator[Callable[[Span, list[dict[str, Any]]], None]]:
    if checkpoint is None:
        yield lambda span, segments: None
        return
    with checkpoint.open("w" if fresh else "a", encoding="utf-8") as out:
        if fresh:
            out.write(json.dumps({"fingerprint": fingerprint}) + "\n")

        def keep(span: Span, segments: list[dict[str, Any]]) -> None:
            out.write(json.dumps({"window": _key(span), "segments": segments}, ensure_ascii=False) + "\n")
            out.flush()
            os.fsync(out.fileno())

        yield keep


_PRELOADING = threading.Lock()


def preload(model: str, *, models_dir: Path, engine: str, device: str) -> ResolvedModel:
    """``model`` resolved (prepared once if needed) and loaded into this process's cache,
    so that loading overlaps other work (Prefect's start, the download). Threads may call
    it together: the first does the work, the others wait for it and share the result."""
    with _PRELOADING:
        resolved = resolve_model(model, models_dir=models_dir, engine=engine)
        if engine == ENGINE:
            load_model(resolved.path, device)
        else:
            load_faster_model(resolved.path, device)
        return resolved


def default_device() -> str:
    """CUDA when a GPU is there (fp16, larger models are practical), else the CPU."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def detect_language(whisper_model: Any, audio: np.ndarray, start: float) -> str:
    """The language spoken in the 30 s from ``start`` (the first speech)."""
    import whisper

    first = floats(audio[int(start * SAMPLE_RATE) :][: whisper.audio.N_SAMPLES])
    mel = whisper.log_mel_spectrogram(whisper.pad_or_trim(first), whisper_model.dims.n_mels)
    _, probabilities = whisper_model.detect_language(mel.to(whisper_model.device))
    return str(max(probabilities, key=probabilities.get))


@dataclass(frozen=True)
class PreparedAudio:
    """A recording decoded, with the speech VAD found in it (None: not looked for)."""

    file: tuple[str, int, int]  # path, size and mtime of the file it was decoded from
    samples: np.ndarray
    found_speech: list[Span] | None


_PREPARED: list[PreparedAudio] = []  # at most one, from prepare_audio to transcribe_media


def _identity(media: Path) -> tuple[str, int, int]:
    stat = media.stat()
    return (str(media.resolve()), stat.st_size, stat.st_mtime_ns)


def _prepare(media: Path, *, vad: bool) -> PreparedAudio:
    try:
        samples = decode(media, dtype=np.int16)  # half the memory of floats: 115 MB an hour
    except AudioError:
        media.unlink(missing_ok=True)  # useless; a later run downloads it again
        raise
    found = speech.speech_regions(samples, merge_gap=0.0) if vad and not is_silent(samples) else None
    return PreparedAudio(_identity(media), samples, found)


def prepare_audio(media: Path, *, vad: bool) -> None:
    """Decode ``media`` and find its speech ahead of the transcription step (the CLI does
    it while Prefect starts); transcribe_media of the same file takes it from here."""
    _PREPARED[:] = [_prepare(media, vad=vad)]


def _take_prepared(media: Path, vad: bool) -> PreparedAudio | None:
    prepared = _PREPARED.pop() if _PREPARED else None
    if prepared is None or prepared.file != _identity(media) or (vad and prepared.found_speech is None):
        return None
    return prepared


def transcript_path(work_dir: Path, model_label: str, options: DecodingOptions) -> Path:
    """Where the transcript of one video by one model, engine and language is kept."""
    engine = "" if options.engine == ENGINE else f"{options.engine}-"
    return work_dir / f"transcript.{engine}{model_label}.{options.language or 'auto'}.json"


def transcribe_media(
    media: Path | None,
    work_dir: Path,
    model: ResolvedModel,
    options: DecodingOptions,
    on_progress: Progress | None = None,
) -> Path:
    """Transcribe ``media`` once: a transcript saved earlier is reused (``media`` may then
    be None). Returns the transcript's path."""
    path = transcript_path(work_dir, model.name, options)
    remove_stale_temps(work_dir)
    if not path.exists():
        if media is None:
            raise FileNotFoundError(f"{path} vanished and no media was given to transcribe again")
        prepared = _take_prepared(media, options.vad) or _prepare(media, vad=False)
        partial = path.with_name(path.name + ".partial")  # windows done so far, for a resumed run
        transcript = transcribe(
            prepared.samples,
            model,
            options,
            checkpoint=partial,
            found_speech=prepared.found_speech,
            on_progress=on_progress,
        )
        write_atomic(path, transcript.to_json().encode("utf-8"))
        partial.unlink(missing_ok=True)
        from pipeline.captions import write_sidecars

        write_sidecars(transcript, path)
    else:
        log.info("transcript already made: %s", path)
        transcript = Transcript.from_json(path.read_text(encoding="utf-8"))
    if not transcript.segments:
        raise NoSpeechError(f"no speech was found in the recording ({transcript.duration:.0f} s of audio)")
    return path
