"""Vocabulary benchmark: the recordings in ../shared/media transcribed by base (beam 5, as
the product decodes) without and with a vocabulary, scored by CER (Mandarin, punctuation
stripped) or WER (English, whisper's EnglishTextNormalizer), and by the names spelled
right.

The vocabulary is what an ingest on a channel that knows the talk's names would get: the
channel's ``vocabulary`` (zh-tts-talk's twelve names) and the blog's names (the front
matter of ../shared/examples/published-post.md: 33 names, most not said in any clip).
English clips get the same vocabulary (none of its names is said in them): what it costs
where it does not help, and whether a name in the prompt is written though not said.

Rows: "none" (no vocabulary), "sound only" (no prompt; what sounds like a likely name
corrected afterwards), "prompt only" (names in the prompt, no correction), "prompt +
sound" (what draftcast does). Two decodes per clip: the corrections are applied to the
decoded text afterwards, as transcribe() does.

    python bench/vocabulary.py [--shared ../shared/media] [--clips zh-tts-talk.flac ...]
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

from bench.quality import REFERENCES, score
from pipeline import audio, models, suggest, vocabulary
from pipeline.transcribe import DecodingOptions, transcribe
from pipeline.transcript import Transcript

REPO = Path(__file__).resolve().parent.parent
TALK_NAMES = (
    "OpenAI",
    "微软",
    "谷歌",
    "萨姆·奥尔特曼",
    "亚马逊",
    "阿里巴巴",
    "腾讯",
    "欧盟",
    "英伟达",
    "超微半导体",
    "英特尔",
    "埃隆·马斯克",
)


def talk_reference(shared: Path) -> str:
    """zh-tts-talk's reference text, from SOURCES.md beside it."""
    notes = (shared / "SOURCES.md").read_text(encoding="utf-8")
    block = notes.split("## zh-tts-talk.flac", 1)[1].split("compare by CER after stripping punctuation):", 1)[1]
    return "".join(line.strip() for line in block.split("\n## ", 1)[0].splitlines())


def names_right(text: str, names: tuple[str, ...]) -> list[str]:
    """The names written as the reference writes them (a name's middle dot aside)."""
    plain = re.sub(r"[\s·]", "", text)
    return [name for name in names if re.sub(r"[\s·]", "", name) in plain]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "media")
    parser.add_argument("--models-dir", type=Path, default=Path(tempfile.gettempdir()) / "draftcast-bench-models")
    parser.add_argument(
        "--clips", nargs="*", default=["zh-tts-talk.flac", *(c for c in REFERENCES if "aishell" not in c)]
    )
    args = parser.parse_args()
    references = {**REFERENCES, "zh-tts-talk.flac": ("zh", talk_reference(args.shared))}
    blog = suggest.known_names([args.shared.parent / "examples"], {})
    likely = vocabulary.for_video("", "", (), TALK_NAMES, blog)
    prompt_only = vocabulary.Vocabulary(tuple(dataclasses.replace(t, source=vocabulary.BLOG) for t in likely.terms))
    model = models.resolve_model("base", models_dir=args.models_dir)
    blog_names = tuple(t.text for t in likely.terms if t.source == vocabulary.BLOG)
    print(f"vocabulary: {len(likely.terms)} terms ({len(TALK_NAMES)} the channel's, {len(blog_names)} the blog's)")
    print("| clip | vocabulary | score | names right | names not said but written | seconds | corrections |")
    print("|---|---|---|---|---|---|---|")
    for clip in args.clips:
        language, reference = references[clip]
        samples = audio.decode(args.shared / clip)
        said = tuple(
            n for n in (*TALK_NAMES, *blog_names) if re.sub(r"[\s·]", "", n) in re.sub(r"[\s·]", "", reference)
        )
        unsaid = tuple(n for n in (*TALK_NAMES, *blog_names) if n not in said)
        for label, vocab in (("none", vocabulary.Vocabulary()), ("prompt only", prompt_only)):
            options = DecodingOptions(language=language, vocabulary=vocab)
            started = time.perf_counter()
            result = transcribe(samples, model, options)
            elapsed = time.perf_counter() - started
            rows = [(label, result)]
            corrected = vocabulary.correct_segments(result.segments, likely.likely(language), likely.texts(language))
            rows.append(("sound only" if label == "none" else "prompt + sound", _with(result, corrected)))
            for row, transcript in rows:
                text = transcript.text
                metric = "CER" if language == "zh" else "WER"
                right = names_right(text, said)
                wrong = names_right(text, unsaid)
                fixes = "; ".join(
                    f.split(": check")[0]
                    for s in transcript.segments
                    for f in s.flag.split(", ")
                    if "name corrected" in f
                )
                print(
                    f"| {clip} | {row} | {metric} {score(language, reference, text):.1%} | {len(right)}/{len(said)} "
                    f"| {', '.join(wrong) or '–'} | {elapsed:.0f} | {fixes or '–'} |",
                    flush=True,
                )
            print(f"<!-- {clip} {label}: {result.text} -->", flush=True)


def _with(transcript: Transcript, segments: tuple) -> Transcript:
    return dataclasses.replace(transcript, segments=segments)


if __name__ == "__main__":
    main()
