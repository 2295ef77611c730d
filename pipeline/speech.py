"""Where the speech is: voice activity detection with Silero VAD (its model ships on PyPI).

Whisper is only asked to decode these regions (its ``clip_timestamps``): silence, music
and noise between them are never decoded, so they cannot turn into invented sentences,
and timestamps after a long gap stay right.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

import numpy as np

from pipeline.audio import SAMPLE_RATE

MIN_SPEECH_SECONDS = 0.25
MIN_SILENCE_SECONDS = 0.8  # shorter pauses stay inside one region
PAD_SECONDS = 0.3  # around each region, so first and last syllables are not cut
MERGE_GAP_SECONDS = 2.0  # regions closer than this are decoded as one


@lru_cache(maxsize=1)
def _model() -> Any:
    import torch
    from silero_vad import load_silero_vad

    torch.set_num_threads(1)  # the VAD is small; more threads only add overhead
    return load_silero_vad()


def speech_regions(samples: np.ndarray, *, threshold: float = 0.5) -> list[tuple[float, float]]:
    """(start, end) seconds of speech in 16 kHz mono ``samples``, padded and merged."""
    import torch
    from silero_vad import get_speech_timestamps

    if len(samples) == 0:
        return []
    stamps = get_speech_timestamps(
        torch.from_numpy(np.ascontiguousarray(samples, dtype=np.float32)),
        _model(),
        sampling_rate=SAMPLE_RATE,
        threshold=threshold,
        min_speech_duration_ms=int(MIN_SPEECH_SECONDS * 1000),
        min_silence_duration_ms=int(MIN_SILENCE_SECONDS * 1000),
    )
    duration = len(samples) / SAMPLE_RATE
    regions: list[tuple[float, float]] = []
    for stamp in stamps:
        start = max(0.0, stamp["start"] / SAMPLE_RATE - PAD_SECONDS)
        end = min(duration, stamp["end"] / SAMPLE_RATE + PAD_SECONDS)
        if regions and start - regions[-1][1] < MERGE_GAP_SECONDS:
            regions[-1] = (regions[-1][0], end)
        else:
            regions.append((start, end))
    return [(math.floor(start * 100) / 100, math.floor(end * 100) / 100) for start, end in regions]


def speech_fraction(start: float, end: float, regions: list[tuple[float, float]]) -> float:
    """How much of [start, end] lies inside speech regions (0 to 1)."""
    if end <= start:
        return 0.0
    inside = sum(max(0.0, min(end, r_end) - max(start, r_start)) for r_start, r_end in regions)
    return inside / (end - start)
