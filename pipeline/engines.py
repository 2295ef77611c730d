"""Speech engines behind one protocol: a loaded model that tells the language spoken and
turns windows of audio into raw segments. Two engines run the same offline weights:

- ``openai-whisper``: whisper's own beam search, driven over a batch of windows at once
  (pipeline/batched.py), float32 (by default its logits screened in bfloat16 where the
  CPU has it: ``batched.VocabularyScreen``), or when asked its products in bfloat16
  (``use_bfloat16``) or its linear layers in int8 (``quantize_int8``);
- ``faster-whisper``: CTranslate2 (int8 on a CPU, float16 on a GPU, unless asked
  otherwise) through its BatchedInferencePipeline.

``load_engine`` is the registry: the one place a name becomes an engine. Models are
loaded once per process (``lru_cache``), whatever asks for them.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from pipeline.audio import SAMPLE_RATE, floats, release
from pipeline.choices import ComputeType, EngineName, listed
from pipeline.errors import ConfigError, ModelError
from pipeline.models import ResolvedModel, import_whisper

log = logging.getLogger(__name__)

Span = tuple[float, float]  # (start, end) seconds from the start of the recording
# One decoded segment: start and end (seconds, from the start of the recording), text,
# avg_logprob, no_speech_prob and compression_ratio (what pipeline/cleanup.py judges by).
RawSegment = dict[str, Any]


class Engine(Protocol):
    """A speech engine with its model loaded (``load_engine`` makes one). Neither method
    raises draftcast's errors: a failure there (out of memory) is the library's own."""

    name: EngineName
    model: ResolvedModel

    def detect_language(self, audio: np.ndarray, start: float) -> str:
        """The language code spoken in the 30 s of 16 kHz mono ``audio`` (int16 or float32,
        shape (samples,)) from ``start`` seconds: one of whisper's codes ("en", "zh", …)."""
        ...

    def decode(
        self,
        audio: np.ndarray,
        windows: list[Span],
        *,
        language: str,
        prompt: str | None,
        beam_size: int | None,
        best_of: int | None,
    ) -> list[list[RawSegment]]:
        """The segments of each window of ``audio`` (16 kHz mono, int16 or float32, shape
        (samples,)), in the order given. ``windows``: (start, end) seconds, each at most
        30 s (whisper's window). ``language``: a whisper code; ``prompt``: text that steers
        every window (None: none). ``beam_size`` None is greedy decoding; ``best_of``
        candidates are sampled when a window is decoded again at a higher temperature.

        Returns one list of ``RawSegment`` per window (empty: no speech heard), with times
        in seconds from the start of ``audio``."""
        ...


def compute_type_for(engine: str, device: str, wanted: str = ComputeType.AUTO) -> ComputeType:
    """The number type ``engine`` runs in on ``device`` ("cpu" or "cuda") when ``wanted``
    (a ``ComputeType`` value) is asked for: "auto" is float32 for openai-whisper and int8
    for faster-whisper on a CPU; on a GPU both run float16 (ComputeType.AUTO comes back).
    bfloat16 is openai-whisper's only (CTranslate2 has none on a CPU).

    Raises:
        ConfigError: ``wanted`` or ``engine`` names no such thing, or a pair that cannot run.
    """
    try:
        chosen = ComputeType(wanted)
    except ValueError:
        raise ConfigError(f"unknown compute type {wanted!r}: use {listed(ComputeType)}") from None
    if device == "cuda":
        return ComputeType.AUTO
    faster = engine_name(engine) is EngineName.FASTER_WHISPER
    if chosen is ComputeType.AUTO:
        return ComputeType.INT8 if faster else ComputeType.FLOAT32
    if faster and chosen is ComputeType.BFLOAT16:
        raise ConfigError("faster-whisper (CTranslate2) has no bfloat16 on a CPU: use float32 or int8 with it")
    return chosen


@lru_cache(maxsize=1)
def native_bfloat16(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """Whether this CPU multiplies bfloat16 in hardware: Linux lists ``avx512_bf16`` or
    ``amx_bf16`` among its flags (the kernel's names, arch/x86/include/asm/cpufeatures.h).
    Elsewhere (no ``cpuinfo``, another architecture) False: there oneDNN would emulate
    bfloat16, slower than float32."""
    try:
        text = cpuinfo.read_text(errors="replace")
    except OSError:
        return False
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), [])
    return "avx512_bf16" in flags or "amx_bf16" in flags


@lru_cache(maxsize=2)
def load_whisper_model(checkpoint: Path, device: str = "cpu", compute_type: str = ComputeType.FLOAT32) -> Any:
    """An openai-whisper model from a checkpoint path, cached for the life of the process:
    a ``whisper.model.Whisper`` on ``device``, with the checkpoint's alignment heads when it
    has them (draftcast's converted checkpoints do); on a CPU its linear layers int8 when
    ``compute_type`` is "int8" (``quantize_int8``), bfloat16 when it is "bfloat16"
    (``use_bfloat16``).

    Raises:
        ModelError: the file is missing, not a whisper checkpoint, or of another shape.
    """
    import torch

    whisper = import_whisper()
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
    model = model.to(device)
    if compute_type == ComputeType.INT8 and device == "cpu":
        quantize_int8(model)
    if compute_type == ComputeType.BFLOAT16 and device == "cpu":
        if not native_bfloat16():
            log.warning("this CPU has no bfloat16 instructions (avx512_bf16, amx_bf16): bfloat16 is emulated, "
                        "slower than float32; compute_type = \"float32\" is faster here")  # fmt: skip
        use_bfloat16(model)
    return model


def use_bfloat16(model: Any) -> None:
    """Make a ``whisper.model.Whisper`` on the CPU multiply in bfloat16, in place: the
    weights of every linear layer and the token embedding are stored in bfloat16 (half
    their memory: base's 290 MB of weights become about 150 MB), each layer's input is
    rounded to bfloat16 for its product and the result comes back in the input's type;
    the vocabulary projection (whisper's matmul by the embedding's transpose) goes through
    the same bfloat16 weights. The residual stream, layer norms, convolutions, softmax and
    attention stay float32, as whisper computes them.

    On a CPU with AMX or AVX512-BF16 a decoding step's products run 2-3 times faster (the
    logits' 40 × 512 × 51,865 product: 3.1 ms against 10.9 ms); measured on 2 cores, base,
    beam 5 (BENCHMARKS.md, "bfloat16"): an ingest takes 0.79 of the float32 time, and its
    WER moved -0.1 points on the held-out recording and +2.5 on bench/speed.py's own, where
    one window skipped a 38-word sentence that float32 kept (flagged in the draft): an
    option, off by default. Where bfloat16 is emulated it is slower than float32.
    """
    import torch
    import whisper

    from pipeline import batched

    for module in model.modules():
        if isinstance(module, whisper.model.Linear):
            module.to(torch.bfloat16)
            module.forward = _product_in_bfloat16.__get__(module)
    decoder = model.decoder
    embedding = decoder.token_embedding
    embedding.to(torch.bfloat16)  # looked up, then added to float32 positions: float32 again
    projection = _vocabulary_projection(decoder)
    projection.forward = _product_in_bfloat16.__get__(projection)
    batched.project_with_layer(decoder)


def _vocabulary_projection(decoder: Any) -> Any:
    """A ``torch.nn.Linear`` onto the vocabulary sharing (not copying) ``decoder``'s token
    embedding as its weight, set as ``decoder.vocabulary_projection`` (what
    ``batched.vocabulary_logits`` multiplies by) and returned."""
    import torch

    embedding = decoder.token_embedding
    projection = torch.nn.Linear(embedding.embedding_dim, embedding.num_embeddings, bias=False)
    projection.weight = embedding.weight
    decoder.vocabulary_projection = projection
    return projection


def _product_in_bfloat16(layer: Any, x: Any) -> Any:
    """``layer``'s (a linear layer with bfloat16 weights) product with ``x`` rounded to
    bfloat16, in ``x``'s own type."""
    from torch.nn.functional import linear

    return linear(x.to(layer.weight.dtype), layer.weight, layer.bias).to(x.dtype)


def quantize_int8(model: Any) -> None:
    """Make a ``whisper.model.Whisper`` on the CPU run its linear layers in int8, in place:
    every ``nn.Linear`` of the encoder and the decoder, and the projection onto the
    vocabulary (whisper multiplies by the token embedding's transpose, 512 × 51,865 for
    base: a third of a decoding step's time), through torch's dynamic quantization: the
    weights int8 with a scale per output row, the activations quantized at each call,
    fbgemm's int8 kernels (AVX2 here). Convolutions, layer norms and the embeddings stay
    float32.

    Measured on 2 cores, base, beam 5 (BENCHMARKS.md "int8"): decoding 0.6-0.7 of the
    float32 time; WER +0.8 points decoding bench/speed.py's held-out recording
    (+1.7 end to end), -0.1 on the recording it was tried on, where one weight scale per
    tensor instead of per row had cost 1.8 points more (the vocabulary's projection).
    Folding SmoothQuant's channel scales into the layer norms, with the activations'
    range guessed from the norms' parameters, did not make the log-probabilities closer.
    """
    import torch
    import whisper

    from pipeline import batched

    for module in model.modules():
        # whisper's Linear only casts its weight to the input's dtype (float32 here):
        # as torch's own class it is one that dynamic quantization knows
        if type(module) is whisper.model.Linear:
            module.__class__ = torch.nn.Linear
    decoder = model.decoder
    _vocabulary_projection(decoder)  # quantized below with the other linear layers
    with warnings.catch_warnings():  # torch.ao's dynamic quantization is deprecated for torchao, yet kept in 2.13
        warnings.simplefilter("ignore")
        torch.ao.quantization.quantize_dynamic(
            model, {torch.nn.Linear: torch.ao.quantization.per_channel_dynamic_qconfig}, dtype=torch.qint8, inplace=True
        )
    batched.project_with_layer(decoder)


@lru_cache(maxsize=2)
def load_ctranslate2_model(folder: Path, device: str = "cpu", compute_type: str = ComputeType.INT8) -> Any:
    """faster-whisper on a CTranslate2 folder: ``compute_type`` on the CPU (int8 or
    float32), float16 on a GPU; a ``faster_whisper.WhisperModel`` using every core, cached
    for the life of the process.

    Raises:
        ModelError: the folder does not hold a CTranslate2 whisper model.
    """
    from faster_whisper import WhisperModel

    compute_type = "float16" if device == "cuda" else str(compute_type)
    try:
        return WhisperModel(str(folder), device=device, compute_type=compute_type, cpu_threads=os.cpu_count() or 1)
    except (RuntimeError, ValueError, OSError) as exc:
        raise ModelError(f"faster-whisper cannot load {folder}: {exc}") from exc


class OpenAIWhisper:
    """openai-whisper, with whisper's beam search run over a batch of windows at once.

    Raises:
        ModelError: on construction, the checkpoint at ``model.path`` does not load.
    """

    name = EngineName.OPENAI_WHISPER

    def __init__(self, model: ResolvedModel, device: str = "cpu", compute_type: str = ComputeType.AUTO) -> None:
        import torch

        # silero and other libraries set one thread process-wide; decoding wants them all
        torch.set_num_threads(os.cpu_count() or 1)
        self.model, self.device = model, device
        chosen = compute_type_for(self.name, device, compute_type)
        self.whisper = load_whisper_model(model.path, device, chosen)
        # float32 by default, its logits screened in bfloat16 where the CPU multiplies it (the
        # same tokens chosen on every recording measured, the logits in 0.6 of the time);
        # float32 asked for by name: every product in float32
        self.screen_logits = compute_type == ComputeType.AUTO and device == "cpu" and native_bfloat16()

    def detect_language(self, audio: np.ndarray, start: float) -> str:
        """As ``Engine.detect_language``: whisper's own detection on the log-mel of the 30 s."""
        import whisper

        first = floats(audio[int(start * SAMPLE_RATE) :][: whisper.audio.N_SAMPLES])
        mel = whisper.log_mel_spectrogram(whisper.pad_or_trim(first), self.whisper.dims.n_mels)
        _, probabilities = self.whisper.detect_language(mel.to(self.whisper.device))
        return str(max(probabilities, key=probabilities.get))

    def decode(
        self,
        audio: np.ndarray,
        windows: list[Span],
        *,
        language: str,
        prompt: str | None,
        beam_size: int | None,
        best_of: int | None,
    ) -> list[list[RawSegment]]:
        """As ``Engine.decode``: all ``windows`` at once through ``batched.decode_windows``
        (fp16 on CUDA only; the logits screened in bfloat16 where ``screen_logits``)."""
        import whisper

        from pipeline import batched

        options = whisper.DecodingOptions(
            language=language, beam_size=beam_size, fp16=self.device == "cuda", prompt=prompt
        )
        return batched.decode_windows(
            self.whisper, audio, windows, options, SAMPLE_RATE, best_of, screen_logits=self.screen_logits
        )


class FasterWhisper:
    """faster-whisper (CTranslate2) on the same weights, windows given as clip timestamps.

    Raises:
        ModelError: on construction, ``model.path`` is not a CTranslate2 whisper folder.
    """

    name = EngineName.FASTER_WHISPER

    def __init__(self, model: ResolvedModel, device: str = "cpu", compute_type: str = ComputeType.AUTO) -> None:
        from faster_whisper import BatchedInferencePipeline

        logging.getLogger("faster_whisper").setLevel(logging.WARNING)  # it logs every batch twice
        self.model = model
        self.whisper = load_ctranslate2_model(model.path, device, compute_type_for(self.name, device, compute_type))
        self.pipeline = BatchedInferencePipeline(self.whisper)

    def detect_language(self, audio: np.ndarray, start: float) -> str:
        """As ``Engine.detect_language``: faster-whisper's own detection on the 30 s."""
        first = floats(audio[int(start * SAMPLE_RATE) :][: 30 * SAMPLE_RATE])
        return str(self.whisper.detect_language(first)[0])

    def decode(
        self,
        audio: np.ndarray,
        windows: list[Span],
        *,
        language: str,
        prompt: str | None,
        beam_size: int | None,
        best_of: int | None,
    ) -> list[list[RawSegment]]:
        """As ``Engine.decode``: the windows as the clip timestamps of one batched call
        (batch size: the number of windows) on the stretch of audio they span; each segment
        goes to the window it starts in. No temperature fallback: faster-whisper's
        BatchedInferencePipeline keeps only the first temperature (0)."""
        found: list[list[RawSegment]] = [[] for _ in windows]
        first = min(start for start, _ in windows)  # floats for this batch's stretch only
        piece = floats(audio[int(first * SAMPLE_RATE) : int(max(end for _, end in windows) * SAMPLE_RATE) + 1])
        release(audio)
        segments, _ = self.pipeline.transcribe(
            piece,
            language=language,
            beam_size=beam_size or 1,
            best_of=best_of or 1,
            condition_on_previous_text=False,
            initial_prompt=prompt,
            without_timestamps=False,
            vad_filter=False,
            clip_timestamps=[{"start": start - first, "end": end - first} for start, end in windows],
            batch_size=len(windows),
        )
        for segment in segments:  # a generator: decoding happens here
            begins = segment.start + first
            owner = max(i for i, (start, _) in enumerate(windows) if i == 0 or begins >= start - 0.01)
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


ENGINES: dict[EngineName, Callable[[ResolvedModel, str, str], Engine]] = {
    EngineName.OPENAI_WHISPER: OpenAIWhisper,
    EngineName.FASTER_WHISPER: FasterWhisper,
}


def load_engine(name: str, model: ResolvedModel, device: str = "cpu", compute_type: str = ComputeType.AUTO) -> Engine:
    """The engine called ``name`` (an ``EngineName`` value) with ``model`` loaded on
    ``device`` ("cpu" or "cuda") in ``compute_type`` (``compute_type_for``); the model
    itself is loaded once per process.

    Raises:
        ConfigError: no engine has that name, or no compute type.
        ModelError: the model cannot be loaded (a checkpoint missing or of another shape for
            openai-whisper, a folder without a CTranslate2 model for faster-whisper).
    """
    return ENGINES[engine_name(name)](model, device, compute_type)


def engine_name(name: str) -> EngineName:
    """``name`` as an EngineName.

    Raises:
        ConfigError: no engine has that name.
    """
    try:
        return EngineName(name)
    except ValueError:
        raise ConfigError(f"unknown engine {name!r}: use {listed(EngineName)}") from None
