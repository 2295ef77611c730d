"""Voices found against voices there, on interviews drawn at random from our clips.

    python bench/drawn.py [--seed 23] [--count 24]

Needs the bench extra (pyannote.metrics) and espeak-ng, as bench/speakers.py. Each
interview takes 2 to 4 voices from the real clips of ../shared/media (jfk, LibriSpeech,
OSR, AISHELL, zh-tts-talk's first 90 s) and three espeak-ng voices (en-us, cmn, en-us+f3).
A real clip is either played whole twice or cut at random into one to three turns; an
espeak voice says three of its sentences. Turns are shuffled, with pauses of 0.1 to 1.0 s.
The clustering's thresholds (pipeline/speakers.py) were chosen on other interviews
(drawn by another script, and bench/speakers.py's): every draw of this one is held out.

It prints, per interview, the voices found and there, and the confusion (speech given to
the wrong speaker, pyannote.metrics, collar 0.25 s each side); then how many interviews
got the count right and the confusion over all of them. espeak-ng's en-us and cmn are one
voice to CAM++ (centroids 0.91 alike): an interview with both is counted as right when it
finds one voice fewer, and said so.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.recordings import SHARED_MEDIA
from bench.speakers import _espeak16, _trimmed, error_rates, voiced
from pipeline import speakers, speech
from pipeline.audio import SAMPLE_RATE, decode

CLIPS = {
    "jfk": "jfk.flac",
    "libri": "librispeech-1995-1837-0001.wav",
    "osr": "OSR_us_000_0034_8k.wav",
    "aishell": "aishell-BAC009S0724W0121.wav",
    "zh-tts": "zh-tts-talk.flac",
}
ESPEAK = {"espeak-en": "en-us", "espeak-zh": "cmn", "espeak-en-f": "en-us+f3"}
ONE_VOICE_TO_CAMPP = {"espeak-en", "espeak-zh"}
EN = [
    "Thanks for joining us today, it is good to have you here.",
    "So tell me, what happened next with the factory?",
    "Right, and how did the government respond to that?",
    "Interesting. Let us take a short break and come back.",
    "That makes sense to me, please go on.",
]
ZH = [
    "欢迎大家收听今天的节目。",
    "那么接下来发生了什么呢？",
    "政府对此有什么回应？",
    "很有意思，我们稍后回来。",
    "好的，请继续。",
]


def draw(rng: np.random.Generator, clips: dict[str, np.ndarray], work: Path) -> tuple[np.ndarray, list]:
    """One interview: int16 samples and its reference (start, end, speaker)."""
    voices = list(rng.choice([*CLIPS, *ESPEAK], int(rng.integers(2, 5)), replace=False))
    turns: list[tuple[str, np.ndarray]] = []
    for voice in voices:
        if voice in ESPEAK:
            sentences = ZH if voice == "espeak-zh" else EN
            turns += [(voice, _espeak16(sentences[i], ESPEAK[voice], work)) for i in rng.permutation(5)[:3]]
        elif rng.random() < 0.3:
            turns += [(voice, clips[voice])] * 2
        else:
            clip = clips[voice]
            cuts = sorted(rng.choice(np.arange(1, 10), int(rng.integers(0, 3)), replace=False) * len(clip) // 10)
            edges = [0, *cuts, len(clip)]
            turns += [(voice, clip[a:b]) for a, b in itertools.pairwise(edges) if b - a > SAMPLE_RATE // 2]
    order = rng.permutation(len(turns))
    pieces, reference, at = [np.zeros(SAMPLE_RATE // 2, np.int16)], [], 0.5
    for index in order:
        who, samples = turns[index]
        reference += [(round(at + a, 2), round(at + b, 2), who) for a, b in voiced(samples)]
        gap = np.zeros(int(rng.uniform(0.1, 1.0) * SAMPLE_RATE), np.int16)
        pieces += [samples, gap]
        at += (len(samples) + len(gap)) / SAMPLE_RATE
    return np.concatenate(pieces), reference


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=23)
    parser.add_argument("--count", type=int, default=24)
    args = parser.parse_args()
    clips = {name: _trimmed(decode(SHARED_MEDIA / file, dtype=np.int16)) for name, file in CLIPS.items()}
    clips["zh-tts"] = clips["zh-tts"][: 90 * SAMPLE_RATE]
    rng = np.random.default_rng(args.seed)
    right = 0
    confused = scored = 0.0
    with tempfile.TemporaryDirectory() as work:
        for number in range(args.count):
            samples, reference = draw(rng, clips, Path(work))
            diarization = speakers.diarize(samples, speech.speech_regions(samples, merge_gap=0.0))
            there = {who for _, _, who in reference}
            expected = len(there) - (there >= ONE_VOICE_TO_CAMPP)
            rates = error_rates(reference, diarization.turns)
            right += diarization.speakers == expected
            confused += rates["confusion"] * rates["scored seconds"] / 100
            scored += rates["scored seconds"]
            note = " (espeak en-us and cmn: one voice to CAM++)" if there >= ONE_VOICE_TO_CAMPP else ""
            print(
                f"{number:3d}  {len(samples) / SAMPLE_RATE:6.1f} s  voices {diarization.speakers}/{expected}"
                f"  confusion {rates['confusion']:5.1f}%  {', '.join(sorted(there))}{note}"
            )
    share = 100 * confused / scored
    print(f"voices counted right in {right}/{args.count} interviews; confusion {share:.1f}% of speech")


if __name__ == "__main__":
    main()
