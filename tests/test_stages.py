"""bench/stages.py: the time of an ingest given to its stages, from a Chrome trace in the
form py-spy writes (B and E events per frame, timestamps in µs, one pid and tid each)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import stages

MAIN, HEAD_START = 1, 2
CLI, INGEST, SERVER = "flows/cli.py", "flows/ingest.py", "flows/server.py"
MAIN_STACK = [("<module>", "bin/draftcast"), ("main", CLI), ("ingest", CLI)]
IN_FLOW = [*MAIN_STACK, ("ingest_video", INGEST), ("_ingest", INGEST)]


class Trace:
    """A Chrome trace written one stack at a time per thread, as py-spy's changes."""

    def __init__(self) -> None:
        self.events: list[dict] = []
        self.open: dict[int, list[tuple[str, str]]] = {}

    def at(self, seconds: float, thread: int, stack: list[tuple[str, str]]) -> None:
        before = self.open.get(thread, [])
        common = 0
        while common < min(len(before), len(stack)) and before[common] == stack[common]:
            common += 1
        for name, file in reversed(before[common:]):
            self._event("E", seconds, thread, name, file)
        for name, file in stack[common:]:
            self._event("B", seconds, thread, name, file)
        self.open[thread] = stack

    def end(self, seconds: float) -> list[dict]:
        """py-spy closes every stack still open when it writes, ended threads' too."""
        for thread in list(self.open):
            self.at(seconds, thread, [])
        return self.events

    def _event(self, phase: str, seconds: float, thread: int, name: str, file: str) -> None:
        self.events.append(
            {"ph": phase, "ts": int(seconds * 1e6), "pid": 7, "tid": thread, "name": name, "args": {"filename": file}}
        )


def _ingest_trace() -> list[dict]:
    trace = Trace()
    trace.at(0.0, MAIN, MAIN_STACK[:2])  # imports, parsing
    trace.at(1.0, MAIN, [*MAIN_STACK, ("EmbeddedApi.wait_ready", SERVER)])
    trace.at(1.5, HEAD_START, [("HeadStart.run", "pipeline/headstart.py"), ("extract", "pipeline/source.py")])
    trace.at(3.0, HEAD_START, [("HeadStart.run", "pipeline/headstart.py"), ("download_audio", "pipeline/source.py")])
    trace.at(5.0, MAIN, [*IN_FLOW, ("download_audio", INGEST), ("locked", "pipeline/store.py")])  # waits
    trace.at(6.0, HEAD_START, [("prepare_audio", "pipeline/transcribe.py"), ("decode", "pipeline/audio.py")])
    trace.at(7.0, HEAD_START, [("prepare_audio", "pipeline/transcribe.py"), ("speech_regions", "pipeline/speech.py")])
    trace.at(8.0, HEAD_START, [("HeadStart.run", "pipeline/headstart.py"), ("Thread.join", "threading.py")])
    transcribe = [*IN_FLOW, ("transcribe", "pipeline/transcribe.py"), ("decode_windows", "pipeline/batched.py")]
    trace.at(8.0, MAIN, [*transcribe, ("decode_batch", "pipeline/batched.py")])
    trace.at(8.5, HEAD_START, [])  # the head start is done (py-spy records no change for a thread that ends)
    trace.at(
        9.0, MAIN, [*transcribe, ("decode_batch", ""), ("DecodingTask._get_audio_features", "whisper/decoding.py")]
    )
    trace.at(11.0, MAIN, [*transcribe, ("decode_batch", ""), ("DecodingTask._main_loop", "whisper/decoding.py")])
    trace.at(15.0, MAIN, [*transcribe, ("decode", "whisper/decoding.py"), ("DecodingTask._main_loop", "")])
    trace.at(16.0, MAIN, [*IN_FLOW, ("write_draft", INGEST)])
    trace.at(17.0, MAIN, IN_FLOW)  # Prefect's engine
    trace.at(17.5, MAIN, [("_shutdown", "threading.py")])
    return trace.end(18.0)


def test_each_moment_of_the_main_thread_goes_to_its_stage_and_its_waits_to_the_thread_it_waits_for() -> None:
    wall, progress, total = stages.attribute(_ingest_trace())
    assert total == 18.0
    assert wall == pytest.approx(
        {
            stages.BEFORE: 1.0,
            "Prefect start": 4.0,
            "download": 1.0,  # the main thread waits for the head start's lock: what it does then
            "decode": 1.0,
            "VAD": 1.0,
            "decoder (beam search)": 1.0 + 4.0,  # decode_batch before its encoder, then the beam search
            "encoder": 2.0,
            "fallback passes": 1.0,  # whisper.decode of a failed window, its encoder included
            "cleanup and write": 1.0,
            stages.DURING: 0.5,
            stages.AFTER: 0.5,
        }
    )
    assert sum(wall.values()) == pytest.approx(total)
    # hidden behind Prefect's start: only in progress
    assert "metadata" not in wall and progress["metadata"] == pytest.approx(1.5)
    assert progress["download"] == pytest.approx(3.0)


def test_a_thread_that_ended_holds_its_last_stage_only_while_the_main_thread_waits() -> None:
    trace = Trace()
    trace.at(0.0, MAIN, MAIN_STACK)
    trace.at(1.0, HEAD_START, [("HeadStart.run", "pipeline/headstart.py"), ("speech_regions", "pipeline/speech.py")])
    trace.at(2.0, MAIN, [*IN_FLOW, ("download_audio", INGEST), ("locked", "pipeline/store.py")])
    trace.at(3.0, MAIN, [*IN_FLOW, ("transcribe", "pipeline/transcribe.py")])  # the lock was let go: VAD ended
    trace.at(4.0, MAIN, [*IN_FLOW, ("HeadStart.metadata", "pipeline/headstart.py")])  # nothing answers: not VAD
    wall, progress, _ = stages.attribute(trace.end(10.0))
    assert wall["VAD"] == pytest.approx(1.0)
    assert progress["VAD"] == pytest.approx(2.0)  # from 1.0 until the main thread stopped waiting, not until 10.0


def test_the_table_gives_every_stage_its_share_and_the_floor_ratio(tmp_path: Path) -> None:
    trace = tmp_path / "trace.json"
    trace.write_text(json.dumps(_ingest_trace()))
    text = stages.table(trace, floor=2.0, unprofiled=9.0)
    assert "| encoder | 2.0 | 11.1% |" in text
    assert "| model load | 0.0 | 0.0% | 0.0 |" in text  # every stage is listed, those that took no time too
    assert "end-to-end ÷ floor: 9.00 sampled, 4.50 unprofiled" in text
    assert "end-to-end ÷ this run's own encoder passes: 9.00" in text


def test_a_trace_of_another_command_is_refused() -> None:
    trace = Trace()
    trace.at(0.0, MAIN, [("<module>", "other.py")])
    with pytest.raises(ValueError, match="draftcast main thread"):
        stages.attribute(trace.end(1.0))


def test_the_decoder_stage_is_split_into_what_a_change_would_act_on() -> None:
    parts = stages.decoder_parts(_ingest_trace())
    assert parts == pytest.approx({"other": 1.0 + 4.0})  # decode_batch itself, _main_loop without a known part
    trace = Trace()
    loop = [*IN_FLOW, ("decode_windows", "pipeline/batched.py"), ("DecodingTask._main_loop", "whisper/decoding.py")]
    trace.at(0.0, MAIN, [*loop, ("ApplyTimestampRules.apply", "whisper/decoding.py")])
    trace.at(3.0, MAIN, [*loop, ("BatchInference.logits", ""), ("_cross_attention", "batched.py"),
                         ("Linear.forward", "torch/nn/modules/linear.py")])  # fmt: skip
    trace.at(4.0, MAIN, [*loop, ("BatchInference.logits", ""), ("Linear.forward", "torch/nn/modules/linear.py")])
    parts = stages.decoder_parts(trace.end(6.0))
    assert parts == pytest.approx(
        {
            "timestamp rules (a Python loop per beam, each step)": 3.0,
            "cross-attention (batched.py's grouped beams)": 1.0,  # its linear layers included
            "linear layers (projections, MLP)": 2.0,
        }
    )


def test_the_speed_harness_scores_the_drafts_words_not_its_labels_or_links(tmp_path: Path) -> None:
    from bench import speed

    draft = tmp_path / "draft.md"
    draft.write_text(
        "---\ntitle: t\ndraft: true\n---\n## Transcript\n<!-- an editor's note -->\n"
        "[00:01](https://example.invalid/v?t=1) **Speaker 1:** ask not what your country can do\n\n"
        "[00:09](https://example.invalid/v?t=9) **李华：** 我们今天谈芯片\n",
        encoding="utf-8",
    )
    words = speed.draft_text(draft).split()
    assert words == ["ask", "not", "what", "your", "country", "can", "do", "我们今天谈芯片"]
