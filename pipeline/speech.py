"""Where the speech is: voice activity detection with Silero VAD (the ONNX model that ships
with faster-whisper: five times faster on a CPU than the TorchScript one of silero-vad).

Whisper is only asked to decode these regions (its ``clip_timestamps``): silence, music
and noise between them are never decoded, so they cannot turn into invented sentences,
and timestamps after a long gap stay right.
"""

from __future__ import annotations

import math

import numpy as np

from pipeline.audio import SAMPLE_RATE, floats, release

MIN_SPEECH_SECONDS = 0.25
MIN_SILENCE_SECONDS = 0.8  # shorter pauses stay inside one region
PAD_SECONDS = 0.3  # around each region, so first and last syllables are not cut
MERGE_GAP_SECONDS = 2.0  # regions closer than this are decoded as one
VAD_PIECE_SECONDS = 600.0  # a 2-hour recording in one piece took over 1 GB in the VAD model


def speech_regions(
    samples: np.ndarray, *, threshold: float = 0.5, merge_gap: float = MERGE_GAP_SECONDS
) -> list[tuple[float, float]]:
    """(start, end) seconds of speech in 16 kHz mono ``samples`` (int16 or float32, shape
    (samples,)), in order, each padded by PAD_SECONDS; regions closer than ``merge_gap``
    seconds are merged (0: only overlapping ones). ``threshold``: Silero's speech
    probability (0 to 1) above which a frame is speech."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    if len(samples) == 0:
        return []
    options = VadOptions(
        threshold=threshold,
        min_speech_duration_ms=int(MIN_SPEECH_SECONDS * 1000),
        min_silence_duration_ms=int(MIN_SILENCE_SECONDS * 1000),
        speech_pad_ms=0,
    )
    duration = len(samples) / SAMPLE_RATE
    padded = []
    step = int(VAD_PIECE_SECONDS * SAMPLE_RATE)
    for offset in range(0, len(samples), step):  # in pieces: the model's buffers grow with its input
        piece = np.ascontiguousarray(floats(samples[offset : offset + step]))
        for stamp in get_speech_timestamps(piece, options, sampling_rate=SAMPLE_RATE):
            start, end = (offset + stamp["start"]) / SAMPLE_RATE, (offset + stamp["end"]) / SAMPLE_RATE
            padded.append((max(0.0, start - PAD_SECONDS), min(duration, end + PAD_SECONDS)))
        release(samples)
    return merge(padded, merge_gap)


def merge(regions: list[tuple[float, float]], gap: float) -> list[tuple[float, float]]:
    """Regions closer than ``gap`` seconds joined into one (times floored to 10 ms)."""
    merged: list[tuple[float, float]] = []
    for start, end in regions:
        if merged and start - merged[-1][1] < gap:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return [(math.floor(start * 100) / 100, math.floor(end * 100) / 100) for start, end in merged]


def speech_fraction(start: float, end: float, regions: list[tuple[float, float]]) -> float:
    """How much of [start, end] lies inside speech regions (0 to 1)."""
    if end <= start:
        return 0.0
    inside = sum(max(0.0, min(end, r_end) - max(start, r_start)) for r_start, r_end in regions)
    return inside / (end - start)


# Whisper reads 30 s at a time, but in a window filled to the edge it stops early, taking
# the last words as cut off; the rest then costs another encoder pass (0.6 s with base on
# 2 cores). Ending 2 s short took those passes from 41 to 28 on bench/speed.py's recording.
WINDOW_SECONDS = 28.0
PACK_GAP_SECONDS = 4.0  # regions closer than this share a window (a short pause is fine to decode)
QUIET_FRAME_SECONDS = 0.2  # a long region is cut in the quietest stretch of this length


def windows(
    regions: list[tuple[float, float]], samples: np.ndarray, *, max_seconds: float = WINDOW_SECONDS
) -> list[tuple[float, float]]:
    """Speech regions as independent windows of at most ``max_seconds``, ready to be decoded
    side by side: nearby regions share a window, and a region too long for one is cut at
    the last pause (a quiet stretch) before the window is full, so words are not split and
    windows stay long (each one costs a pass of the encoder).

    ``regions``: (start, end) seconds, in order; ``samples``: the 16 kHz mono recording
    they are in, where pauses are looked for. Returns (start, end) seconds, in order."""
    result: list[tuple[float, float]] = []
    for start, end in regions:
        if result and start - result[-1][1] < PACK_GAP_SECONDS and end - result[-1][0] <= max_seconds:
            result[-1] = (result[-1][0], end)
            continue
        while end - start > max_seconds:
            cut = _last_pause(samples, start + max_seconds / 3, start + max_seconds)
            result.append((start, cut))
            start = cut
        result.append((start, end))
    return result


def _last_pause(samples: np.ndarray, earliest: float, latest: float) -> float:
    """The middle of the last quiet stretch of QUIET_FRAME_SECONDS between two times (quiet:
    near the quietest level there), in seconds."""
    hop = int(0.01 * SAMPLE_RATE)
    first, last = int(earliest * SAMPLE_RATE), int(latest * SAMPLE_RATE)
    piece = floats(samples[first:last])
    frames = len(piece) // hop
    if frames < 2:
        return latest
    energy = np.square(piece[: frames * hop]).reshape(frames, hop).mean(axis=1)
    width = max(1, int(QUIET_FRAME_SECONDS / 0.01))
    smoothed = np.convolve(energy, np.ones(width) / width, mode="valid")  # frame i covers i .. i+width
    quietest, typical = float(smoothed.min()), float(np.median(smoothed))
    quiet = np.flatnonzero(smoothed <= quietest + 0.02 * (typical - quietest))
    frame = int(quiet[-1]) + width // 2
    return round((first + frame * hop + hop // 2) / SAMPLE_RATE, 2)


# Syllable nuclei: peaks of the speech band's loudness, after de Jong & Wempe, "Praat script
# to detect syllable nuclei and measure speech rate automatically" (Behavior Research
# Methods 41, 2009): peaks at least NUCLEUS_DIP_DB above the dips on either side, within
# NUCLEUS_FLOOR_DB of the loudest frame of their speech region.
NUCLEUS_BAND_HZ = (300.0, 2500.0)  # where vowels carry their energy
NUCLEUS_DIP_DB = 2.0
NUCLEUS_FLOOR_DB = 25.0
NUCLEUS_PIECE_SECONDS = 60.0
_FRAME_SECONDS, _HOP_SECONDS = 0.025, 0.01


def syllable_nuclei(samples: np.ndarray, regions: list[tuple[float, float]]) -> np.ndarray:
    """Times (seconds, ascending, shape (nuclei,)) of the syllable nuclei heard in the
    speech ``regions`` of 16 kHz mono ``samples`` (int16 or float32): about one per
    syllable said, whatever the language and the speaker's pace. Measured here against
    the syllables of the reference texts: 0.92 to 1.16 text syllables a nucleus on real
    English (3 speakers), Mandarin (AISHELL, synthetic) and espeak-ng at 90 to 260 words
    a minute (1.38 on one dense LibriSpeech sentence). Read a region at a time, in pieces
    of NUCLEUS_PIECE_SECONDS: memory does not grow with the recording."""
    frame, hop = int(_FRAME_SECONDS * SAMPLE_RATE), int(_HOP_SECONDS * SAMPLE_RATE)
    size = 1 << (frame - 1).bit_length()
    hertz = np.fft.rfftfreq(size, 1 / SAMPLE_RATE)
    band = (hertz >= NUCLEUS_BAND_HZ[0]) & (hertz <= NUCLEUS_BAND_HZ[1])
    taper, smooth = np.hanning(frame).astype(np.float32), np.hanning(7) / np.hanning(7).sum()
    found = []
    for start, end in regions:
        first, last = int(start * SAMPLE_RATE), int(end * SAMPLE_RATE)
        loudness = []
        step = int(NUCLEUS_PIECE_SECONDS * SAMPLE_RATE)
        for offset in range(first, last - frame + 1, step):
            piece = floats(samples[offset : min(last, offset + step + frame - hop)])
            frames = np.lib.stride_tricks.sliding_window_view(piece, frame)[::hop] * taper
            power = np.square(np.abs(np.fft.rfft(frames, size)))[:, band].sum(axis=1)
            loudness.append(10 * np.log10(power + 1e-10))
        if not loudness or sum(len(part) for part in loudness) < 4:
            continue
        level = np.convolve(np.concatenate(loudness), smooth, mode="same")
        peaks = _nuclei(level, NUCLEUS_DIP_DB, float(level.max()) - NUCLEUS_FLOOR_DB)
        found.append((first + np.asarray(peaks, dtype=np.int64) * hop + frame // 2) / SAMPLE_RATE)
    return np.concatenate(found) if found else np.zeros(0)


def _nuclei(level: np.ndarray, dip: float, floor: float) -> list[int]:
    """Frames of ``level`` (dB) that are syllable nuclei: local maxima above ``floor``,
    each with a dip of ``dip`` dB or more between it and the nucleus before; of two
    without such a dip, the louder one (de Jong & Wempe's rule)."""
    rising = np.flatnonzero((level[1:-1] > level[:-2]) & (level[1:-1] >= level[2:])) + 1
    kept: list[int] = []
    for peak in rising[level[rising] > floor]:
        if kept:
            between = float(level[kept[-1] : peak + 1].min())
            if min(level[kept[-1]], level[peak]) - between < dip:
                if level[peak] > level[kept[-1]]:
                    kept[-1] = int(peak)
                continue
        kept.append(int(peak))
    return kept
