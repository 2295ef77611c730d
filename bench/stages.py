"""Where the time of one real `draftcast ingest` goes, from py-spy's timeline of it.

py-spy (the `bench` extra) samples the unmodified command, idle threads included, and
writes a Chrome trace: each thread's stack with timestamps. Every moment of the draftcast
process's main thread goes to the first stage in STAGES that a frame of its stack matches.
While the main thread only waits for another thread (the head start's lock on the work
folder, its metadata, a Prefect future), the moment goes to that thread's stage then.
"in progress" is how long any thread of the process was in the stage: work hidden behind
another stage (the head start's, while Prefect starts) shows there only.
"""

from __future__ import annotations

import itertools
import json
from collections import defaultdict
from pathlib import Path

Frame = tuple[str, str]  # (qualified function name, file)

# (stage, function or "" for any, end of the file's path); the first stage matched wins,
# so a stage nested in another comes first (the fallback's encoder is the fallback's).
STAGES: tuple[tuple[str, str, str], ...] = (
    ("fallback passes", "decode", "whisper/decoding.py"),  # whisper.decode of a failed window, batched.py
    ("language detection", "OpenAIWhisper.detect_language", "pipeline/engines.py"),
    ("language detection", "FasterWhisper.detect_language", "pipeline/engines.py"),
    ("log-mel", "window_mels", "pipeline/batched.py"),
    ("log-mel", "FeatureExtractor.__call__", "faster_whisper/feature_extractor.py"),
    ("encoder", "DecodingTask._get_audio_features", "whisper/decoding.py"),
    ("encoder", "WhisperModel.encode", "faster_whisper/transcribe.py"),
    ("decoder (beam search)", "decode_windows", "pipeline/batched.py"),
    ("decoder (beam search)", "FasterWhisper.decode", "pipeline/engines.py"),
    ("model load", "preload", "pipeline/transcribe.py"),
    ("model load", "HeadStart._load_model", "pipeline/headstart.py"),
    ("speaker turns", "with_speakers", "pipeline/transcribe.py"),
    ("VAD", "speech_regions", "pipeline/speech.py"),
    ("decode", "decode", "pipeline/audio.py"),
    ("download", "download_audio", "pipeline/source.py"),
    ("metadata", "extract", "pipeline/source.py"),
    ("cleanup and write", "", "pipeline/cleanup.py"),
    ("cleanup and write", "syllable_nuclei", "pipeline/speech.py"),
    ("cleanup and write", "_names_and_type", "pipeline/transcribe.py"),
    ("cleanup and write", "_save", "pipeline/transcribe.py"),
    ("cleanup and write", "write_draft", "flows/ingest.py"),
    ("cleanup and write", "draft_with_writer", "flows/ingest.py"),
    ("Prefect start", "EmbeddedApi.wait_ready", "flows/server.py"),
    ("Prefect start", "start_embedded_api", "flows/server.py"),
    ("Prefect start", "_start_prefect", "flows/cli.py"),
    ("Prefect start", "<module>", "flows/ingest.py"),  # importing Prefect
)
# Within the decoder stage, the first part a frame matches (what a change there would act on).
DECODER_PARTS: tuple[tuple[str, str], ...] = (
    ("timestamp rules (a Python loop per beam, each step)", "ApplyTimestampRules.apply"),
    ("other logit filters", "SuppressTokens.apply"),
    ("other logit filters", "SuppressBlank.apply"),
    ("kv cache: reordered for the beams, appended", "BatchInference.rearrange_kv_cache"),
    ("kv cache: reordered for the beams, appended", "BatchInference.keep"),
    ("kv cache: reordered for the beams, appended", "Whisper.install_kv_cache_hooks.<locals>.save_to_cache"),
    ("beam search bookkeeping", "BeamSearchDecoder.update"),
    ("beam search bookkeeping", "BeamSearchDecoder.finalize"),
    ("cross-attention (batched.py's grouped beams)", "_cross_attention"),
    ("self-attention (batched.py's initial tokens once a window)", "BatchInference._self_attention"),
    ("self-attention (batched.py's initial tokens once a window)", "MultiHeadAttention.qkv_attention"),
    ("linear layers (projections, MLP)", "Linear.forward"),
    ("layer norms", "LayerNorm.forward"),
    ("GELU (MLP)", "GELU.forward"),
    # the logits: each row's 512 features against 51,865 token embeddings, every step
    ("TextDecoder.forward's own lines (the logits over the vocabulary)", "TextDecoder.forward"),
    ("rest of the decoder's forward pass", "BatchInference.logits"),
    ("rest of the decoder's forward pass", "BatchInference.first_step"),
)
# What the main thread waits on while another thread does the work.
WAITS: tuple[tuple[str, str], ...] = (
    ("locked", "pipeline/store.py"),
    ("HeadStart.metadata", "pipeline/headstart.py"),
    ("", "prefect/futures.py"),
)
# The main thread outside any stage: before the flow, in it (Prefect's engine), after it.
BEFORE, DURING, AFTER = "start: interpreter, imports, checks", "Prefect runs (engine, API calls)", "exit"
ORDER = list(dict.fromkeys([stage for stage, _, _ in STAGES] + [BEFORE, DURING, AFTER]))


def _matches(stack: tuple[Frame, ...], function: str, file: str) -> bool:
    return any((not function or name == function) and path.endswith(file) for name, path in stack)


def stage_of(stack: tuple[Frame, ...]) -> str | None:
    """The first stage of STAGES a frame of ``stack`` (outermost first) matches, or None."""
    return next((stage for stage, function, file in STAGES if _matches(stack, function, file)), None)


def _timelines(events: list[dict]) -> tuple[dict[tuple[int, int], list[tuple[float, tuple[Frame, ...]]]], float]:
    """Each (pid, thread)'s stacks over time, as (seconds, stack) at each change, and the
    trace's end. The closing of every stack still open when py-spy writes the trace (the
    stacks of threads that ended long before included) is left out."""
    end = max(event["ts"] for event in events) / 1e6
    stacks: dict[tuple[int, int], list[Frame]] = defaultdict(list)
    changes: dict[tuple[int, int], list[tuple[float, tuple[Frame, ...]]]] = defaultdict(list)
    for event in events:
        thread = (event["pid"], event["tid"])
        if event["ph"] == "B":
            stacks[thread].append((event["name"], event["args"]["filename"]))
        elif stacks[thread]:
            stacks[thread].pop()
        at = event["ts"] / 1e6
        if changes[thread] and changes[thread][-1][0] == at:
            changes[thread][-1] = (at, tuple(stacks[thread]))
        else:
            changes[thread].append((at, tuple(stacks[thread])))
    for seen in changes.values():
        if len(seen) > 1 and seen[-1][0] == end:
            seen.pop()
    return changes, end


def _main_thread(changes: dict[tuple[int, int], list[tuple[float, tuple[Frame, ...]]]]) -> tuple[int, int]:
    """The (pid, thread) running draftcast's ``main``.

    Raises:
        ValueError: no thread runs it.
    """
    for thread, seen in changes.items():
        if any(_matches(stack, "main", "flows/cli.py") for _, stack in seen):
            return thread
    raise ValueError("no draftcast main thread in the trace: was the command `draftcast ingest`?")


def decoder_parts(events: list[dict]) -> dict[str, float]:
    """Seconds of the main thread's decoder stage per part of DECODER_PARTS ("other": none),
    from the same trace as ``attribute``.

    Raises:
        ValueError: as ``attribute``.
    """
    changes, end = _timelines(events)
    seen = changes[_main_thread(changes)] + [(end, ())]
    parts: dict[str, float] = defaultdict(float)
    for (at, stack), (after, _) in itertools.pairwise(seen):
        if stage_of(stack) == "decoder (beam search)":
            names = {name for name, _ in stack}
            parts[next((part for part, function in DECODER_PARTS if function in names), "other")] += after - at
    return dict(parts)


def attribute(events: list[dict]) -> tuple[dict[str, float], dict[str, float], float]:
    """(critical-path seconds per stage, seconds each stage was in progress in any thread,
    the main thread's wall seconds) from py-spy's Chrome trace ``events`` of one
    ``draftcast ingest`` (``py-spy record --idle --format chrometrace``).

    Raises:
        ValueError: no thread of the trace runs the draftcast command.
    """
    changes, end = _timelines(events)
    main = _main_thread(changes)
    others = [t for t in changes if t[0] == main[0] and t != main]  # in order of appearance
    # A thread's last stack may be that of a thread long gone (py-spy records no change when
    # it ends): it holds until the main thread next does something else than wait for it.
    free = [at for at, stack in changes[main] if not any(_matches(stack, f, p) for f, p in WAITS)]
    for thread in others:
        last = changes[thread][-1][0]
        changes[thread].append((next((at for at in free if at > last), end), ()))
    in_flow = [at for at, stack in changes[main] if _matches(stack, "ingest_video", "flows/ingest.py")]
    flow_start, flow_end = (in_flow[0], in_flow[-1]) if in_flow else (end, end)
    moments = sorted({at for t in (main, *others) for at, _ in changes[t]} | {end})
    position = dict.fromkeys((main, *others), 0)
    wall: dict[str, float] = defaultdict(float)
    progress: dict[str, float] = defaultdict(float)
    cache: dict[tuple[Frame, ...], str | None] = {}

    def classify(stack: tuple[Frame, ...]) -> str | None:
        if stack not in cache:
            cache[stack] = stage_of(stack)
        return cache[stack]

    for at, after in itertools.pairwise(moments):
        current = {}
        for thread in (main, *others):
            seen = changes[thread]
            while position[thread] + 1 < len(seen) and seen[position[thread] + 1][0] <= at:
                position[thread] += 1
            current[thread] = () if seen[position[thread]][0] > at else seen[position[thread]][1]
        busy = [s for t in others if (s := classify(current[t]))]
        stage = classify(current[main])
        if stage is None and any(_matches(current[main], f, p) for f, p in WAITS) and busy:
            stage = busy[0]
        if stage is None:
            stage = BEFORE if at < flow_start else AFTER if at > flow_end else DURING
        wall[stage] += after - at
        for name in {stage, *busy}:
            progress[name] += after - at
    return dict(wall), dict(progress), end - changes[main][0][0]


def table(trace: Path, *, floor: float | None = None, unprofiled: float | None = None) -> str:
    """The Markdown table of the Chrome trace at ``trace``, every stage in ORDER; with the
    encoder ``floor`` (seconds), end-to-end ÷ floor, for the sampled run and for the same
    command run without the profiler (``unprofiled``, seconds)."""
    events = json.loads(trace.read_text())
    wall, progress, total = attribute(events)
    lines = ["| stage | critical path (s) | share of wall | in progress, any thread (s) |", "|---|---|---|---|"]
    for stage in ORDER:
        seconds = wall.get(stage, 0.0)
        lines.append(f"| {stage} | {seconds:.1f} | {100 * seconds / total:.1f}% | {progress.get(stage, 0.0):.1f} |")
    lines.append(f"| **wall of the main thread, sampled** | **{total:.1f}** | 100% | |")
    if unprofiled:
        lines.append(f"\nwithout the profiler: {unprofiled:.1f} s (sampled ÷ not: {total / unprofiled:.2f})")
    if floor:
        ratios = [f"{total / floor:.2f} sampled"] + ([f"{unprofiled / floor:.2f} unprofiled"] if unprofiled else [])
        lines.append(f"encoder floor {floor:.1f} s; end-to-end ÷ floor: {', '.join(ratios)}")
    if wall.get("encoder"):  # the same run's encoder passes: no other load between them and the wall
        lines.append(f"end-to-end ÷ this run's own encoder passes: {total / wall['encoder']:.2f}")
    parts = decoder_parts(events)
    if set(parts) - {"other"}:  # openai-whisper's; CTranslate2's decoder is native, one piece
        lines += ["", "| the decoder stage: part | seconds | share of the decoder |", "|---|---|---|"]
        decoder = sum(parts.values())
        for part, seconds in sorted(parts.items(), key=lambda item: -item[1]):
            lines.append(f"| {part} | {seconds:.1f} | {100 * seconds / decoder:.1f}% |")
    return "\n".join(lines)
