"""Speech to text: a recording's speech (pipeline/speech.py) cut into windows, decoded a
batch at a time by a speech engine (pipeline/engines.py), cleaned (pipeline/cleanup.py)
and kept as a transcript (pipeline/transcript.py). A long transcription keeps each
finished window in a checkpoint, so a run that was killed goes on where it stopped.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import re
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from filelock import FileLock, Timeout

from pipeline import cleanup, speech, vocabulary
from pipeline.audio import SAMPLE_RATE, decode, is_silent, trim_heap
from pipeline.choices import ChineseScript, ComputeType, EngineName
from pipeline.engines import Engine, RawSegment, compute_type_for, load_engine
from pipeline.errors import AudioError, ModelError, NoSpeechError, SpeakersUnavailable
from pipeline.models import ResolvedModel, is_english_only, resolve_model
from pipeline.speakers import assign, diarize, unassign
from pipeline.store import remove_stale_temps, write_atomic
from pipeline.transcript import Segment, Transcript, write_sidecars
from pipeline.vocabulary import Vocabulary

log = logging.getLogger(__name__)

BATCH_WINDOWS = 8  # windows decoded side by side; memory is bounded by one batch, whatever the length
MAX_PASSES = 4  # a window whose text stops early is decoded again from there, at most this often
MIN_REST_SECONDS = 1.0
REST_SPEECH_FRACTION = 0.3  # a rest with less speech than this is taken as the end of the window
# What Linux shows when torch may see a GPU: NVIDIA's kernel driver loaded (/proc/driver/nvidia,
# NVIDIA's driver README), WSL 2's GPU device (/dev/dxg, Microsoft's "GPU accelerated ML
# training in WSL"), or AMD's ROCm driver (/dev/kfd: ROCm builds of torch answer as CUDA).
LINUX_GPU_SIGNS = (Path("/proc/driver/nvidia"), Path("/dev/dxg"), Path("/dev/kfd"))
# One transcription's work at a time on a machine's CPU: each decodes on every core, and two at
# once make their OpenMP threads spin against each other (GNU libgomp, in torch and in
# CTranslate2): on 2 cores two ingests of bench/speed.py's 10-minute recording took 204 s
# each with openai-whisper where one alone took 39 s, 139 s with faster-whisper against 32 s
# (BENCHMARKS.md, issue 17). A file lock, so that every process of the user shares it, in a
# folder of the user's own under the machine's temporary directory (not the home folder,
# which may be shared by other machines): ``cpu_lock``. CPU_LOCK, when set, is used instead.
CPU_LOCK: Path | None = None
KANA = "Japanese kana in Mandarin text: listen"
_KANA = re.compile("[\u3041-\u3096\u30a1-\u30fa]")  # letters: not ・, which joins names

Span = tuple[float, float]
DecodeSpans = Callable[[list[Span]], list[list[RawSegment]]]
Progress = Callable[[float], None]


@dataclass(frozen=True)
class DecodingOptions:
    """How whisper decodes; the defaults are whisper's command-line defaults."""

    language: str | None = None  # None: detected from the first speech
    beam_size: int | None = 5  # None: greedy decoding
    best_of: int | None = 5  # candidates sampled when a failed window is decoded again at a higher temperature
    device: str = "cpu"  # or "cuda"
    engine: EngineName = EngineName.OPENAI_WHISPER
    # the weights' number type (engines.compute_type_for): int8 is faster, less accurate
    compute_type: ComputeType = ComputeType.AUTO
    vad: bool = True  # decode only where voice activity detection finds speech
    chinese_script: ChineseScript = ChineseScript.SIMPLIFIED  # Mandarin output
    # The defenses below are on by default; bench/quality.py measures each one off.
    condition_on_previous_text: bool = False  # True is whisper's default, and seeds loops
    mandarin_prompt: bool = True  # steer script and punctuation, in every window
    convert_script: bool = True  # OpenCC backstop for Mandarin
    clean: bool = True  # collapse loops, drop outros on non-speech, flag doubtful spans
    batch_windows: int = BATCH_WINDOWS  # windows decoded side by side (memory grows with it)
    # Names likely said (plan.py decides them): in the prompt, and what sounds like them is corrected.
    vocabulary: Vocabulary = Vocabulary()

    @property
    def number_type(self) -> ComputeType:
        """The compute type the engine runs in on the device (``engines.compute_type_for``).

        Raises:
            ConfigError: ``compute_type`` names no compute type.
        """
        return compute_type_for(self.engine, self.device, self.compute_type)


def cpu_lock() -> Path:
    """The lock file transcriptions take turns on the CPU with: ``CPU_LOCK`` if set, else
    ``draftcast-<uid>/cpu.lock`` in the temporary directory, the folder made private
    (mode 700) and checked to be the user's own, so that no other user can hold the turn.

    Raises:
        OSError: no temporary directory can be written, or the folder is another user's.
    """
    if CPU_LOCK is not None:
        return CPU_LOCK
    uid = os.getuid() if hasattr(os, "getuid") else 0
    folder = Path(tempfile.gettempdir()) / f"draftcast-{uid}"
    folder.mkdir(mode=0o700, exist_ok=True)
    if hasattr(os, "getuid") and folder.stat().st_uid != uid:
        raise PermissionError(f"{folder} belongs to another user")
    return folder / "cpu.lock"


class CpuTurns:
    """Turns on the machine's CPU for one transcription's heavy work: each ``with
    turns(device):`` block holds ``cpu_lock()`` when ``device`` is "cpu" (a GPU's work
    takes no turn). Another process's block in the meantime is waited for; the first wait
    is logged once. Turns are taken batch by batch, never across a progress report, so a
    run that waits for something else between batches (a Prefect slot) holds no turn
    meanwhile. Where the lock cannot be had (no writable temporary directory, a folder of
    another user's), the work goes on without turns, with one warning."""

    def __init__(self) -> None:
        self.waited = False
        self.warned = False
        self.turn: FileLock | None = None  # made at the first turn, then taken again each batch

    @contextlib.contextmanager
    def __call__(self, device: str = "cpu") -> Iterator[None]:
        if device != "cpu":
            yield
            return
        try:
            turn = self.turn = self.turn or FileLock(cpu_lock())
            turn.acquire(timeout=0)
        except Timeout:
            if not self.waited:
                log.info(
                    "another transcription is using this machine's CPU: waiting for its turn "
                    "(one at a time: each uses every core, and two at once are slower than one after the other)"
                )
                self.waited = True
            turn.acquire()
        except OSError as error:
            if not self.warned:
                log.warning(
                    "transcriptions will not take turns on this machine's CPU (%s): two at once are slower "
                    "than one after the other",
                    error,
                )
                self.warned = True
            yield
            return
        try:
            yield
        finally:
            turn.release()


def transcribe(
    audio: np.ndarray,
    model: ResolvedModel,
    options: DecodingOptions,
    *,
    checkpoint: Path | None = None,
    found_speech: list[Span] | None = None,
    on_progress: Progress | None = None,
    engine: Engine | None = None,
    turns: CpuTurns | None = None,
) -> Transcript:
    """Transcribe 16 kHz mono ``audio`` (int16 or float32, shape (samples,)); shows a
    progress bar on stderr and logs each batch.

    ``model``: the checkpoint (``models.resolve_model``) the engine loads.
    ``checkpoint``: a file where finished windows are kept as they are done, so a run that
    was interrupted goes on where it stopped (the caller removes it when it is done). JSON
    lines: first what the windows depend on (engine, model, language, beam, prompt: one
    made otherwise is started afresh), then one line per finished window.
    ``found_speech``: what speech_regions(audio, merge_gap=0) gave, if already known.
    ``on_progress``: called with the share of the speech transcribed (0 to 1) after each batch.
    ``engine``: the engine to decode with (default: ``options.engine`` with ``model`` loaded).
    ``turns``: the CPU's turns each batch takes (default: this transcription's own).

    Returns the ``Transcript``: segments with start and end in seconds from the start of
    ``audio`` (rounded to 10 ms), the language given or detected from the first speech,
    ``duration`` = ``len(audio) / 16000`` s. Silent audio, or audio where voice activity
    detection finds no speech, gives no segments (``transcribe_media`` raises for that).

    Raises:
        ModelError: an English-only model asked for another language, or weights that do not load.
        ConfigError: ``options.engine`` names no engine.
    """
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
    engine = engine or load_engine(options.engine, model, options.device, options.compute_type)
    language = options.language or ("en" if is_english_only(model.name) else None)
    language = language or engine.detect_language(audio, spans[0][0])
    prompt = _prompt(language, options, model)
    script_prompt = _script_prompt(language, options)
    log.info(
        "transcribing %.0f s of speech in %d window%s with %s %s %s (%s), language %s",
        sum(end - start for start, end in spans), len(spans), "" if len(spans) == 1 else "s", engine.name, model.name,
        options.number_type, model.origin, language,
    )  # fmt: skip

    turns = turns or CpuTurns()

    def decoding_with(window_prompt: str | None) -> DecodeSpans:
        """One batch of windows at a time through the engine, with this transcription's
        settings and ``window_prompt``."""

        def decode(batch: list[Span]) -> list[list[RawSegment]]:
            with turns(options.device):
                return engine.decode(
                    audio,
                    batch,
                    language=language,
                    prompt=window_prompt,
                    beam_size=options.beam_size,
                    best_of=options.best_of,
                )

        return decode

    decode, decode_without_names = decoding_with(prompt), decoding_with(script_prompt)

    fingerprint = _fingerprint(model, options, language, prompt)
    raw_segments = _decode_spans(spans, decode, fine, checkpoint, fingerprint, on_progress, options.batch_windows)
    if prompt != script_prompt:
        listed = options.vocabulary.texts(language, options.chinese_script if options.convert_script else None)
        raw_segments = _redecoded_without_names(raw_segments, spans, decode_without_names, fine, listed, language)
    if options.clean:
        cleaned = cleanup.clean_segments(raw_segments, regions if options.vad else [])
        if options.vad:  # without voice activity detection, silence would count as speech
            nuclei = speech.syllable_nuclei(audio, fine)
            cleaned = cleanup.flag_short_text(cleaned, spans, fine, language, nuclei)
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
    segments = _names_and_type(segments, language, options)
    return Transcript(
        language, model.name, options.engine, round(duration, 2), segments, compute_type=_unusual_compute_type(options)
    )


def _script_prompt(language: str, options: DecodingOptions) -> str | None:
    """For Mandarin, a prompt in the wanted script with punctuation; None otherwise."""
    chinese = cleanup.is_chinese(language)
    return cleanup.MANDARIN_PROMPTS.get(options.chinese_script) if chinese and options.mandarin_prompt else None


def _prompt(language: str, options: DecodingOptions, model: ResolvedModel) -> str | None:
    """For every window: the script prompt (``_script_prompt``); then the vocabulary's
    names, as many as whisper's prompt holds (``vocabulary.prompt``)."""
    base = _script_prompt(language, options)
    terms = options.vocabulary.texts(language, options.chinese_script if options.convert_script else None)
    return vocabulary.prompt(base, terms, language, multilingual=not is_english_only(model.name)) if terms else base


def _copies_prompt(text: str, listed: Sequence[str]) -> bool:
    """Whether ``text`` may hold the decoder's prompt rather than speech: its names in a
    loop or in the prompt's order (``vocabulary.without_name_loops``), the Mandarin script
    prompt (``cleanup.PROMPT_ECHO``), or nothing but names of the prompt."""
    # Not two names in order: said ("英特尔、帕特·基辛格"), a new user's window went back and
    # came without the names' spelling (因特尔, 怕特机性隔); a copy of two that is a stutter
    # ("萨姆·萨姆·奥尔特曼、埃隆·马斯克") is a loop.
    if vocabulary.without_name_loops(text, listed)[1] or cleanup.without_prompt_echo(text)[1]:
        return True
    # A segment that is nothing but the prompt's names: nine names turned "不过，" into "谷歌。".
    bare = re.sub(r"[\s、，,。.·・!?！？:：;；]+", "", text)
    names = "|".join(re.escape(re.sub(r"[\s·・]+", "", name)) for name in sorted(listed, key=len, reverse=True))
    return bool(bare and names and re.fullmatch(f"(?:{names})+", bare))


def _redecoded_without_names(
    raw: list[RawSegment],
    spans: list[Span],
    decode_without_names: DecodeSpans,
    speech_regions: list[Span],
    listed: Sequence[str],
    language: str = "",
) -> list[RawSegment]:
    """``raw`` (segments in order, times in seconds) with each window (``spans``) whose text
    copies the prompt (``_copies_prompt``), loops or is doubted, or is far shorter than its
    speech (``cleanup.too_little_text`` in ``language``), decoded again without the names
    (as ``_decode_spans`` does, on ``speech_regions``), and its segments taken from there
    when they copy nothing and, for text that was too short, hold more. Whisper writes its
    prompt where the audio is hard: with nine names in the prompt, zh-tts-talk's
    "埃隆·马斯克表示" came out as "萨姆·萨姆·萨姆·奥尔特曼、萨姆·奥尔特曼…", and without them
    as "埃隆·马斯克表述". And it skips speech: with bench/speed.py's 45 names, two windows
    after a quoted clip ended their text there and 100 words were lost (WER 12.2% against
    7.2% without the names); decoded again without them, they were whole."""

    def inside(segment: RawSegment, span: Span) -> bool:
        return span[0] <= float(segment["start"]) < span[1]

    def copies(segment: RawSegment) -> bool:
        # A loop of anything (compression ratio past whisper's 2.4), or text the decoder
        # itself doubts (average log probability under whisper's -1), is the other way a
        # hard window fails with names in the prompt: thirty names turned "不过，" into 458
        # characters of "lamentable statement…" for a new user, and into "舞棍。请你首先问质
        # 科学…为19 Vampire Beatwork…" (100 characters, -3.7) here. whisper.transcribe decodes
        # such windows again too (at a higher temperature).
        repetitive = float(segment.get("compression_ratio", 0.0)) > cleanup.REPETITIVE
        doubted = float(segment.get("avg_logprob", 0.0)) < cleanup.LOW_LOGPROB
        return repetitive or doubted or _copies_prompt(str(segment["text"]), listed)

    def units(segments: list[RawSegment]) -> int:
        return sum(cleanup.text_units(str(s["text"]), language) for s in segments)

    def skipped(span: Span) -> bool:
        seconds = speech.speech_fraction(span[0], span[1], speech_regions) * (span[1] - span[0])
        return bool(language) and cleanup.too_little_text(units([s for s in raw if inside(s, span)]), seconds, language)

    copied = [span for span in spans if any(inside(s, span) and copies(s) for s in raw)]
    short = [span for span in spans if span not in copied and skipped(span)]
    if not copied and not short:
        return raw
    log.info(
        "%d window(s) with names in the prompt wrote the prompt, a loop or text the decoder doubts, "
        "%d far less text than speech: decoded again without the names",
        len(copied),
        len(short),
    )
    redo = sorted(copied + short)
    result = [s for s in raw if not any(inside(s, span) for span in redo)]
    decoded = _decode_spans(redo, decode_without_names, speech_regions, None, {})
    for span in redo:
        first = [s for s in raw if inside(s, span)]
        again = [s for s in decoded if inside(s, span)]
        if any(copies(s) for s in again) or (span in short and units(again) <= units(first)):
            again = first  # no better: the first text, flagged later
        result += again
    return sorted(result, key=lambda s: float(s["start"]))


def _names_and_type(segments: tuple[Segment, ...], language: str, options: DecodingOptions) -> tuple[Segment, ...]:
    """The vocabulary copied from the decoder's prompt taken out and flagged
    (``vocabulary.without_name_loops``); its names written as listed where only a
    separator differs (``vocabulary.spelled_as_listed``); what sounds like a likely name written as that
    name, and flagged; then Mandarin set as the blog sets Chinese
    (``cleanup.typeset_chinese``) when cleaning."""
    script = options.chinese_script if options.convert_script else None
    listed = options.vocabulary.texts(language, script)
    if listed:
        segments = tuple(_without_name_loops(segment, listed) for segment in segments)
        segments = tuple(
            dataclasses.replace(s, text=vocabulary.spelled_as_listed(s.text, listed, script)) for s in segments
        )
    likely = options.vocabulary.likely(language, script)
    if likely:
        segments = vocabulary.correct_segments(segments, likely, options.vocabulary.texts(language, script))
    if listed:
        segments = tuple(_flagged(s, vocabulary.odd_names(s.text, listed)) for s in segments)
        segments = tuple(_flagged(s, vocabulary.names_inside_words(s.text, listed)) for s in segments)
    if cleanup.is_chinese(language) and options.clean:
        segments = tuple(dataclasses.replace(s, text=cleanup.typeset_chinese(s.text)) for s in segments)
        # Kana in Mandarin is whisper drifting into Japanese ("生疼しい片" for 昇腾芯片).
        segments = tuple(_flagged(s, [KANA] if _KANA.search(s.text) else []) for s in segments)
        segments = tuple(
            _flagged(s, [f'{cleanup.STRAY_DIGIT}: "{place}": listen' for place in cleanup.stray_digits(s.text)])
            for s in segments
        )
    return segments


def _without_name_loops(segment: Segment, listed: Sequence[str]) -> Segment:
    """``segment`` without the prompt's names copied as speech, its flags joined."""
    text, flags = vocabulary.without_name_loops(segment.text, listed)
    return _flagged(dataclasses.replace(segment, text=text), flags)


def _flagged(segment: Segment, flags: Sequence[str]) -> Segment:
    """``segment`` with ``flags`` joined to its own (the same segment when there are none)."""
    if not flags:
        return segment
    return dataclasses.replace(segment, flag=", ".join(f for f in (segment.flag, *flags) if f))


def _fingerprint(model: ResolvedModel, options: DecodingOptions, language: str, prompt: str | None) -> dict[str, Any]:
    """What a checkpoint's windows depend on: one made another way is not reused."""
    return {
        "engine": options.engine,
        "compute_type": options.number_type,
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
    batch_windows: int = BATCH_WINDOWS,
) -> list[RawSegment]:
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
        for first in range(0, len(todo), batch_windows):
            batch = todo[first : first + batch_windows]
            found = _with_rests(batch, decode, speech_regions)
            for span, segments in zip(batch, found, strict=True):
                done[_key(span)] = segments
                keep(span, segments)
            trim_heap()  # the batch's tensors are freed: their memory goes back, not kept for the next
            bar.update(round(sum(end - start for start, end in batch)))
            log.info("transcribed %d of %d windows", len(spans) - len(todo) + first + len(batch), len(spans))
            if on_progress:
                on_progress(bar.n / max(bar.total, 1))
    return [segment for span in spans for segment in done[_key(span)]]


def _with_rests(batch: list[Span], decode: DecodeSpans, speech_regions: list[Span]) -> list[list[dict[str, Any]]]:
    """Each window's segments (``batch``: (start, end) seconds), a window whose text stops
    while speech goes on decoded again from there, MAX_PASSES times at most. A rest with
    speech that decodes to nothing (whisper writes no text for a second or so: "不过" at
    a window's end) marks the segment before it ``unheard`` (its seconds), for the flag
    ``cleanup.UNHEARD``: never lost in silence."""
    found: list[list[dict[str, Any]]] = [[] for _ in batch]
    pending = list(enumerate(batch))
    for attempt in range(MAX_PASSES):
        rests = []
        for (index, (start, end)), segments in zip(pending, decode([span for _, span in pending]), strict=True):
            if attempt and not segments and found[index]:
                found[index][-1]["unheard"] = round(end - start, 2)
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
            """Append a finished window and sync it to disk: a crash loses at most the next."""
            out.write(json.dumps({"window": _key(span), "segments": segments}, ensure_ascii=False) + "\n")
            out.flush()
            os.fsync(out.fileno())

        yield keep


_PRELOADING = threading.Lock()


def preload(
    model: str, *, models_dir: Path, engine: str, device: str, compute_type: str = ComputeType.AUTO
) -> ResolvedModel:
    """``model`` resolved (prepared once if needed) and loaded into this process's cache,
    so that loading overlaps other work (Prefect's start, the download). Threads may call
    it together: the first does the work, the others wait for it and share the result.

    ``model``: a name or a checkpoint path; ``models_dir``: where prepared weights go;
    ``engine``: openai-whisper or faster-whisper; ``device``: "cpu" or "cuda";
    ``compute_type``: as ``engines.compute_type_for``. Returns the resolved model, whose
    engine ``load_engine`` then finds loaded.

    Raises:
        ModelError: as ``models.resolve_model`` (unknown name, missing file, weights that
            fail their checksum or cannot be had offline), or weights that do not load.
        ConfigError: ``engine`` names no engine, or ``compute_type`` no compute type.
    """
    with _PRELOADING:
        resolved = resolve_model(model, models_dir=models_dir, engine=engine)
        load_engine(engine, resolved, device, compute_type)  # its model stays in this process's cache
        return resolved


def default_device(linux_gpu_signs: Sequence[Path] = LINUX_GPU_SIGNS) -> str:
    """CUDA when torch sees a GPU (fp16, larger models are practical), else the CPU.

    On Linux, where none of ``linux_gpu_signs`` exists no CUDA device can be seen, and the
    answer is "cpu" without importing torch (0.9 s and about 200 MiB): an ingest's plan no
    longer waits for it on the main thread, and faster-whisper without speaker turns never
    imports it (nor do whisper's tokenizer, ``models.whisper_tokenizer``, or spaCy,
    ``suggest.import_spacy``; BENCHMARKS.md, issue 17, tenth and twelfth sessions).
    """
    if sys.platform == "linux" and not any(sign.exists() for sign in linux_gpu_signs):
        return "cpu"
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


@dataclass(frozen=True)
class PreparedAudio:
    """A recording decoded to 16 kHz mono int16 samples, with the speech VAD found in it
    (None: not looked for)."""

    file: tuple[str, int, int]  # resolved path, size (bytes) and mtime (ns) of the file decoded
    samples: np.ndarray  # int16, shape (samples,), at 16 kHz
    found_speech: list[Span] | None  # (start, end) seconds, from speech_regions(merge_gap=0)

    def is_of(self, media: Path, *, vad: bool) -> bool:
        """Whether these are ``media``'s samples as it is now, with speech found if ``vad``."""
        return self.file == _identity(media) and (not vad or self.found_speech is not None)


def _identity(media: Path) -> tuple[str, int, int]:
    stat = media.stat()
    return (str(media.resolve()), stat.st_size, stat.st_mtime_ns)


def prepare_audio(media: Path, *, vad: bool) -> PreparedAudio:
    """``media`` decoded (int16: half the memory of floats, 115 MB an hour) and, when
    ``vad``, its speech found: what ``transcribe_media`` needs, done ahead of it (the CLI
    does it while Prefect starts). Silent audio gets no speech search (``found_speech``
    None).

    Raises:
        AudioError: ffmpeg cannot decode ``media``, which is then removed (a later run downloads it again).
    """
    try:
        samples = decode(media, dtype=np.int16)
    except AudioError as exc:
        media.unlink(missing_ok=True)
        raise AudioError(f"the download is not audio or video ffmpeg can read: {exc}; check the URL") from exc
    found = speech.speech_regions(samples, merge_gap=0.0) if vad and not is_silent(samples) else None
    return PreparedAudio(_identity(media), samples, found)


def transcript_path(work_dir: Path, model_label: str, options: DecodingOptions) -> Path:
    """Where the transcript of one video by one model, engine and language is kept:
    ``<work_dir>/transcript.[<engine>-][<compute type>-]<model_label>.<language or
    'auto'>.json`` (no engine part for openai-whisper, no compute type part for the
    engine's own: ``engines.compute_type_for``).

    Raises:
        ConfigError: ``options.compute_type`` names no compute type.
    """
    engine = "" if options.engine == EngineName.OPENAI_WHISPER else f"{options.engine}-"
    number_type = f"{unusual}-" if (unusual := _unusual_compute_type(options)) else ""
    return work_dir / f"transcript.{engine}{number_type}{model_label}.{options.language or 'auto'}.json"


def _unusual_compute_type(options: DecodingOptions) -> str:
    """The compute type ``options`` ask for when it is not their engine's own on their
    device ("int8" for openai-whisper on a CPU), else "" (``engines.compute_type_for``).

    Raises:
        ConfigError: ``options.compute_type`` names no compute type.
    """
    own = compute_type_for(options.engine, options.device)
    return "" if options.number_type == own else str(options.number_type)


def transcript_ready(path: Path, *, speakers: bool) -> bool:
    """Whether the transcript at ``path`` (``transcript_path``) needs no audio any more: it
    exists and, when ``speakers`` are wanted, speaker turns were looked for in it (a
    transcript that could not get them, ``speakers_note``, is tried again)."""
    if not path.exists():
        return False
    if not speakers:
        return True
    try:
        return Transcript.from_json(path.read_text(encoding="utf-8")).diarized
    except (OSError, ValueError, KeyError, TypeError):
        return False  # unreadable: transcribe_media says so


def with_speakers(
    transcript: Transcript, samples: np.ndarray, found_speech: list[Span] | None, turns: CpuTurns | None = None
) -> Transcript:
    """``transcript`` with its speaker turns (pipeline/speakers.py): each segment labelled
    with who speaks in it, the voices kept, ``diarized`` set. ``samples``: the recording
    it was transcribed from (16 kHz mono, int16 or float32); ``found_speech``: its speech,
    as ``speech.speech_regions(samples, merge_gap=0)`` gave it (None: looked for now);
    ``turns``: the CPU's turns it takes (default: its own). When speaker turns cannot be
    found on this machine, the transcript is returned without them and ``speakers_note``
    says why and what to do (the ingest goes on)."""
    if not transcript.segments:
        return transcript
    found = found_speech if found_speech is not None else speech.speech_regions(samples, merge_gap=0.0)
    # 1–1.5 s a minute of speech on 2 cores (38 s for a new user's 26 minutes), after the last window: say so
    log.info("finding speaker turns in %.0f s of speech", sum(end - start for start, end in found))
    try:
        with (turns or CpuTurns())("cpu"):  # the speaker model runs on the CPU
            diarization = diarize(samples, found)
        trim_heap()
    except SpeakersUnavailable as error:
        log.warning("no speaker turns: %s", error)
        return replace(transcript, diarized=False, speakers_note=f"no speaker turns: {error}")
    segments, voices = assign(transcript.segments, diarization, transcript.language)
    log.info(
        "speaker turns: %s",
        f"{len(voices)} voices" if voices else f"one voice ({diarization.speakers} found, {len(segments)} segments)",
    )
    return replace(transcript, segments=segments, voices=voices, diarized=True, speakers_note="")


def without_speakers(transcript: Transcript) -> Transcript:
    """``transcript`` as it was before ``with_speakers``: no labels, voices or short-turn flags."""
    return replace(
        transcript,
        segments=unassign(transcript.segments),
        voices=(),
        diarized=False,
        speakers_note="",
    )


def _save(transcript: Transcript, path: Path) -> None:
    write_atomic(path, transcript.to_json().encode("utf-8"))
    write_sidecars(transcript, path)


def transcribe_media(
    media: Path | None,
    work_dir: Path,
    model: ResolvedModel,
    options: DecodingOptions,
    on_progress: Progress | None = None,
    prepared: PreparedAudio | None = None,
    *,
    speakers: bool = False,
) -> Path:
    """Transcribe ``media`` once: a transcript saved earlier is reused (``media`` may then
    be None). Returns the transcript's path (``transcript_path``), with .srt, .vtt and .txt
    beside it. ``prepared``: ``media`` decoded ahead of time, used if it is still that file.

    ``speakers``: find who speaks in each segment (``with_speakers``); a transcript saved
    without them gets them from ``media`` without being transcribed again (``media`` None:
    it is kept as it is). False takes them out of a transcript saved with them.

    ``work_dir``: the video's work folder; the windows done so far are kept beside the
    transcript (``.partial``), so a killed run resumes. ``on_progress``: as ``transcribe``.

    Raises:
        AudioError: ``media`` cannot be decoded (it is then removed: ``prepare_audio``).
        NoSpeechError: the recording holds no speech (also for a saved transcript without
            segments).
        ModelError, ConfigError: as ``transcribe``.
        FileNotFoundError: no saved transcript and ``media`` is None.
        OSError: the transcript cannot be written (not translated here).
    """
    path = transcript_path(work_dir, model.name, options)
    remove_stale_temps(work_dir)
    turns = CpuTurns()  # one for the transcription and its speaker turns: a wait is told once
    wants_speech = options.vad or speakers
    if not path.exists():
        if media is None:
            raise FileNotFoundError(f"{path} vanished and no media was given to transcribe again")
        if prepared is None or not prepared.is_of(media, vad=wants_speech):
            prepared = prepare_audio(media, vad=wants_speech)
        partial = path.with_name(path.name + ".partial")  # windows done so far, for a resumed run
        transcript = transcribe(
            prepared.samples,
            model,
            options,
            checkpoint=partial,
            found_speech=prepared.found_speech,
            on_progress=on_progress,
            turns=turns,
        )
        if speakers:
            # Saved first: a run killed while it looks for speakers resumes with that alone.
            _save(transcript, path)
            transcript = with_speakers(transcript, prepared.samples, prepared.found_speech, turns)
        _save(transcript, path)
        partial.unlink(missing_ok=True)
    else:
        log.info("transcript already made: %s", path)
        transcript = Transcript.from_json(path.read_text(encoding="utf-8"))
        if speakers and not transcript.diarized and transcript.segments and media is not None:
            log.info("looking for speaker turns in the transcript made before")
            if prepared is None or not prepared.is_of(media, vad=True):
                prepared = prepare_audio(media, vad=True)
            transcript = with_speakers(transcript, prepared.samples, prepared.found_speech, turns)
            _save(transcript, path)
        elif not speakers and (transcript.diarized or transcript.speakers_note):
            transcript = without_speakers(transcript)
            _save(transcript, path)
    if not transcript.segments:
        raise NoSpeechError(
            f"no speech was found in the recording ({transcript.duration:.0f} s of audio): "
            "check that the URL is the recording you meant (nothing was written)"
        )
    return path
