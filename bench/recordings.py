"""Recordings for the benchmarks, with their reference text: espeak-ng reading
bench/speech.txt in several voices and speeds, with the real English clips of
../shared/media between paragraphs; optionally with silence and music, or hours long.

espeak-ng comes from Debian (`apt-get install espeak-ng`).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.audio import SAMPLE_RATE, decode

BENCH = Path(__file__).resolve().parent
SHARED_MEDIA = BENCH.parent.parent / "shared" / "media"
VOICES = ("en-us", "en-gb", "en-us+m3", "en-gb-x-rp", "en-us+f2", "en-gb-scotland", "en-us+m7")
# The held-out recording (bench/speed.py --held-out): another text, other voices, never
# used to choose a setting, so that a change tuned on the first one is checked on speech
# it has not seen.
HELD_OUT_TEXT = "heldout.txt"
HELD_OUT_VOICES = ("en-us+f3", "en-gb+m4", "en-us+klatt", "en-gb-x-gbclan+f4", "en-us+m1", "en-029")
PAUSE_SECONDS = 1.2  # between paragraphs, as a speaker breathes
CLIP_EVERY = 4  # a real recording after every few paragraphs
CLIPS = {
    "jfk.flac": "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your "
    "country.",
    "librispeech-1995-1837-0001.wav": "It was the first great sorrow of his life. It was not so much the loss of the "
    "cotton itself but the fantasy, the hopes, the dreams built around it.",
    "OSR_us_000_0034_8k.wav": "A gold ring will please most any girl. The long journey home took a year. She saw a "
    "cat in the neighbor's house. A pink shell was found on the sandy beach. Small children came to see him. The "
    "grass and bushes were wet with dew. The blind man counted his old coins. A severe storm tore down the barn. "
    "She called his name many times. When you hear the bell, come quickly.",
}


def paragraphs(text: str = "speech.txt") -> list[str]:
    return [p.strip() for p in (BENCH / text).read_text(encoding="utf-8").split("\n\n") if p.strip()]


def _espeak(text: str, voice: str, words_per_minute: int, work: Path) -> np.ndarray:
    if shutil.which("espeak-ng") is None:
        raise SystemExit("espeak-ng is missing: apt-get install espeak-ng")
    out = work / "espeak.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(words_per_minute), "-w", str(out), text], check=True)
    return decode(out)


def _music(seconds: float, seed: int) -> np.ndarray:
    """Chords of decaying tones over soft noise: music as far as a speech detector can tell."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    notes = 220.0 * 2 ** (np.array([0, 4, 7, 12, 16, 19]) / 12)
    out = 0.02 * rng.standard_normal(len(t))
    beat = 0.5
    for start in np.arange(0, seconds, beat):
        chord = rng.choice(notes, 3, replace=False)
        mask = (t >= start) & (t < start + 2 * beat)
        local = t[mask] - start
        out[mask] += sum(0.08 * np.sin(2 * np.pi * f * local) * np.exp(-3 * local) for f in chord)
    return out.astype(np.float32)


def build(
    seconds: float, out: Path, *, non_speech: float = 0.0, with_clips: bool = True, held_out: bool = False
) -> tuple[Path, str]:
    """A WAV (16 kHz mono) of about ``seconds``, and what is said in it. ``non_speech``: the
    share of the recording that is silence and music, in blocks between paragraphs.
    ``held_out``: HELD_OUT_TEXT in HELD_OUT_VOICES instead of speech.txt in VOICES."""
    out.parent.mkdir(parents=True, exist_ok=True)
    texts = paragraphs(HELD_OUT_TEXT if held_out else "speech.txt")
    voices = HELD_OUT_VOICES if held_out else VOICES
    pause = np.zeros(int(PAUSE_SECONDS * SAMPLE_RATE), np.float32)
    pieces: list[np.ndarray] = []
    said: list[str] = []
    length = 0
    n = 0
    clips = [name for name in CLIPS if (SHARED_MEDIA / name).exists()] if with_clips else []
    since_block = 0  # samples of speech since the last block of non-speech
    while length < seconds * SAMPLE_RATE:
        text = texts[n % len(texts)]
        voice = voices[n % len(voices)]
        speed = 130 + (n * 7) % 30
        spoken = [_espeak(text, voice, speed, out.parent), pause]
        said.append(text)
        if clips and n % CLIP_EVERY == CLIP_EVERY - 1:
            name = clips[(n // CLIP_EVERY) % len(clips)]
            spoken += [decode(SHARED_MEDIA / name), pause]
            said.append(CLIPS[name])
        pieces += spoken
        since_block += sum(len(p) for p in spoken)
        if non_speech and n % 2 == 1:  # every other paragraph, a block of silence or music
            block = since_block / SAMPLE_RATE * non_speech / (1 - non_speech)
            pieces.append(_music(block, n) if n % 4 == 1 else np.zeros(int(block * SAMPLE_RATE), np.float32))
            since_block = 0
        length = sum(len(p) for p in pieces)
        n += 1
    samples = np.concatenate(pieces)
    write_wav(out, samples)
    return out, " ".join(said)


def write_wav(path: Path, samples: np.ndarray) -> None:
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(SAMPLE_RATE)
        wav.writeframes(pcm.tobytes())


if __name__ == "__main__":
    path, reference = build(float(sys.argv[1]), Path(sys.argv[2]), non_speech=float(sys.argv[3] or 0))
    path.with_suffix(".txt").write_text(reference, encoding="utf-8")
    print(path, len(decode(path)) / SAMPLE_RATE, "s")
