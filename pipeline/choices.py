"""The values a setting may take, each listed once: the config, the CLI and the pipeline
all read them from here."""

from __future__ import annotations

from enum import StrEnum


class EngineName(StrEnum):
    """The speech engines (pipeline/engines.py has one class for each)."""

    OPENAI_WHISPER = "openai-whisper"  # the reference implementation, on PyTorch
    FASTER_WHISPER = "faster-whisper"  # CTranslate2 on the same weights: int8 on a CPU


class ComputeType(StrEnum):
    """The number type of the model's weights (CTranslate2's ``compute_type`` names)."""

    # openai-whisper: float32 (logits screened in bfloat16 where the CPU has it: pipeline/batched.py);
    # faster-whisper: int8 on a CPU; float16 on a GPU
    AUTO = "auto"
    FLOAT32 = "float32"  # openai-whisper: every product in float32
    BFLOAT16 = "bfloat16"  # openai-whisper's products in bfloat16 (pipeline/engines.py: faster on AMX, less accurate)
    INT8 = "int8"  # linear layers' weights in 8 bits (pipeline/engines.py: faster, less accurate)


class CaptionPolicy(StrEnum):
    """Which of a video's own subtitles replace whisper."""

    HUMAN = "human"  # made by people (the default)
    ANY = "any"  # automatic captions too
    OFF = "off"  # always transcribe


class ChineseScript(StrEnum):
    """How Mandarin text is written (OpenCC converts to it)."""

    SIMPLIFIED = "zh-Hans"
    TRADITIONAL = "zh-Hant"
    TAIWAN = "zh-TW"  # Traditional, with Taiwan's words


def listed(choices: type[StrEnum]) -> str:
    """``a, b or c``: the values of ``choices`` for an error message."""
    values = [str(choice) for choice in choices]
    return ", ".join(values[:-1]) + f" or {values[-1]}" if len(values) > 1 else values[0]
