"""Quality benchmark: every clip in ../shared/media through draftcast's transcription with
tiny.en and base, scored against its reference (WER for English with whisper's
EnglishTextNormalizer, CER for Mandarin without punctuation), with all defenses on and
with each one off. A gap recording (speech, 60 s silence, 30 s noise, speech) built from
the clips shows what the defenses against invented text are for.

    python bench/quality.py [--shared ../shared/media]
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import jiwer
from whisper.normalizers import EnglishTextNormalizer

from pipeline import audio, models
from pipeline.transcribe import DecodingOptions, transcribe
from tests.conftest import make_gap_recording

REPO = Path(__file__).resolve().parent.parent
REFERENCES = {
    "jfk.flac": (
        "en",
        "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country.",
    ),
    "OSR_us_000_0034_8k.wav": (
        "en",
        "A gold ring will please most any girl. The long journey home took a year. She saw a cat in the neighbor's "
        "house. A pink shell was found on the sandy beach. Small children came to see him. The grass and bushes were "
        "wet with dew. The blind man counted his old coins. A severe storm tore down the barn. She called his name "
        "many times. When you hear the bell, come quickly.",
    ),
    "librispeech-1995-1837-0001.wav": (
        "en",
        "IT WAS THE FIRST GREAT SORROW OF HIS LIFE IT WAS NOT SO MUCH THE LOSS OF THE COTTON ITSELF BUT THE FANTASY "
        "THE HOPES THE DREAMS BUILT AROUND IT",
    ),
    "aishell-BAC009S0724W0121.wav": ("zh", "广州市房地产中介协会分析"),
}
DEFAULTS = DecodingOptions()
VARIANTS = {
    "all defenses": DEFAULTS,
    "no VAD": dataclasses.replace(DEFAULTS, vad=False),
    "conditioned on previous text": dataclasses.replace(DEFAULTS, condition_on_previous_text=True),
    "no cleanup (loops, outros, flags)": dataclasses.replace(DEFAULTS, clean=False),
    "no Mandarin prompt": dataclasses.replace(DEFAULTS, mandarin_prompt=False),
    "no OpenCC": dataclasses.replace(DEFAULTS, convert_script=False),
    "none (whisper's defaults)": dataclasses.replace(
        DEFAULTS, vad=False, condition_on_previous_text=True, clean=False, mandarin_prompt=False, convert_script=False
    ),
}
MANDARIN_ONLY = ("no Mandarin prompt", "no OpenCC")


def score(language: str, reference: str, hypothesis: str) -> float:
    if language == "zh":
        strip = re.compile(r"[\W_]+")
        return jiwer.cer(strip.sub("", reference), strip.sub("", hypothesis) or "∅")
    normalize = EnglishTextNormalizer()
    return jiwer.wer(normalize(reference), normalize(hypothesis) or "∅")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "media")
    parser.add_argument("--models-dir", type=Path, default=Path(tempfile.gettempdir()) / "draftcast-bench-models")
    args = parser.parse_args()
    clips = {name: (args.shared / name, *REFERENCES[name]) for name in REFERENCES}
    gap = make_gap_recording(Path(tempfile.mkdtemp()) / "gap.wav")
    clips["gap: jfk + 60 s silence + 30 s noise + librispeech"] = (
        gap,
        "en",
        f"{REFERENCES['jfk.flac'][1]} {REFERENCES['librispeech-1995-1837-0001.wav'][1]}",
    )
    print("| clip | model | defenses | score | seconds | text |")
    print("|---|---|---|---|---|---|")
    for clip, (path, language, reference) in clips.items():
        samples = audio.decode(path)
        for model_name in ("tiny.en", "base"):
            if language != "en" and models.is_english_only(model_name):
                print(f"| {clip} | {model_name} | — | n/a: English-only model (draftcast uses base) | | |")
                continue
            model = models.resolve_model(model_name, models_dir=args.models_dir)
            for variant, options in VARIANTS.items():
                if variant in MANDARIN_ONLY and language != "zh":
                    continue
                options = dataclasses.replace(options, language=None if language == "zh" else "en")
                started = time.perf_counter()
                result = transcribe(samples, model, options)
                elapsed = time.perf_counter() - started
                metric = "CER" if language == "zh" else "WER"
                value = score(language, reference, result.text)
                text = result.text.replace("|", "/")
                text = text if len(text) < 90 else text[:87] + "…"
                print(
                    f"| {clip} | {model_name} | {variant} | {metric} {value:.1%} | {elapsed:.1f} | {text} |", flush=True
                )


if __name__ == "__main__":
    main()
