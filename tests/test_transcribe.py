"""Real whisper (offline weights) on real speech: error rates, silence, caching."""

from __future__ import annotations

import logging
import os
import subprocess
import tempfile
from pathlib import Path

import jiwer
import numpy as np
import pytest
from whisper.normalizers import EnglishTextNormalizer

from pipeline import audio, models, transcribe
from pipeline.errors import AudioError, ModelError, NoSpeechError
from pipeline.transcript import Transcript
from tests.conftest import MEDIA, REFERENCES, Site

# Word error rates measured here (2 cores, beam 5): tiny.en 0.0 on jfk, 3.3% on the
# LibriSpeech clip ("carton" for "cotton"); base 0.0 on both. The limits leave room
# for small numeric differences between machines, not for a broken pipeline.
WER_LIMITS = {
    ("tiny.en", "jfk.flac"): 0.05,
    ("tiny.en", "librispeech-1995-1837-0001.wav"): 0.10,
    ("base", "jfk.flac"): 0.05,
    ("base", "librispeech-1995-1837-0001.wav"): 0.05,
}


def _wer(reference: str, hypothesis: str) -> float:
    normalize = EnglishTextNormalizer()
    return jiwer.wer(normalize(reference), normalize(hypothesis))


@pytest.mark.parametrize(("model_name", "clip"), sorted(WER_LIMITS))
def test_english_word_error_rate(model_name: str, clip: str, shared_models: Path) -> None:
    model = models.resolve_model(model_name, models_dir=shared_models)
    result = transcribe.transcribe(audio.decode(MEDIA / clip), model, transcribe.DecodingOptions())
    assert result.language == "en"
    assert _wer(REFERENCES[clip], result.text) <= WER_LIMITS[(model_name, clip)], result.text
    assert result.segments[0].start < 1.0 and result.segments[-1].end <= result.duration + 0.5


def test_mandarin_is_detected_and_written_in_han_characters(shared_models: Path) -> None:
    model = models.resolve_model("base", models_dir=shared_models)
    result = transcribe.transcribe(
        audio.decode(MEDIA / "aishell-BAC009S0724W0121.wav"), model, transcribe.DecodingOptions()
    )
    assert result.language == "zh"
    han = [c for c in result.text if "\u4e00" <= c <= "\u9fff"]
    assert len(han) >= 8 and "州市" in result.text and "分析" in result.text  # script: issue of its own


def test_an_english_only_model_refuses_another_language(shared_models: Path) -> None:
    model = models.resolve_model("tiny.en", models_dir=shared_models)
    with pytest.raises(ModelError, match="only knows English"):
        transcribe.transcribe(np.zeros(16000, np.float32), model, transcribe.DecodingOptions(language="zh"))


def test_silence_is_no_speech_not_invented_words(site: Site, tmp_path: Path, shared_models: Path) -> None:
    model = models.resolve_model("tiny.en", models_dir=shared_models)
    with pytest.raises(NoSpeechError, match="no speech"):
        transcribe.transcribe_media(site.root / "silence.mp4", tmp_path, model, transcribe.DecodingOptions())


def test_a_transcript_is_made_once_per_model(site: Site, tmp_path: Path, shared_models: Path) -> None:
    model = models.resolve_model("tiny.en", models_dir=shared_models)
    options = transcribe.DecodingOptions(beam_size=None, best_of=None)
    path = transcribe.transcribe_media(site.root / "jfk.mp4", tmp_path, model, options)
    modified = path.stat().st_mtime_ns
    again = transcribe.transcribe_media(None, tmp_path, model, options)  # no media needed any more
    assert again == path and path.stat().st_mtime_ns == modified
    saved = Transcript.from_json(path.read_text())
    assert saved.model == "tiny.en" and saved.engine == "openai-whisper" and "country" in saved.text


def test_undecodable_media_is_a_clear_error_and_is_not_kept(site: Site, tmp_path: Path, shared_models: Path) -> None:
    media = tmp_path / "media.mp4"
    media.write_bytes((site.root / "corrupt.mp4").read_bytes())
    model = models.resolve_model("tiny.en", models_dir=shared_models)
    with pytest.raises(AudioError, match=r"cannot decode the audio of media\.mp4"):
        transcribe.transcribe_media(media, tmp_path, model, transcribe.DecodingOptions())
    assert not media.exists() and not list(tmp_path.glob("transcript*"))


def test_decoding_gives_16khz_mono_float32() -> None:
    samples = audio.decode(MEDIA / "jfk.flac")
    assert samples.dtype == np.float32 and abs(len(samples) / audio.SAMPLE_RATE - 11.0) < 0.05
    assert 0.05 < np.abs(samples).max() <= 1.0
    assert not audio.is_silent(samples) and audio.is_silent(np.zeros(16000 * 5, np.float32))


def _resident_file_mib() -> float:
    """RssFile of this process (Linux): file pages mapped and resident, MiB."""
    line = next(line for line in Path("/proc/self/status").read_text().splitlines() if line.startswith("RssFile:"))
    return int(line.split()[1]) / 1024


def test_int16_samples_stay_in_their_file_and_a_pass_over_them_hands_its_pages_back(tmp_path: Path) -> None:
    # ten minutes of noise: 18.3 MiB of int16 that a long recording's 231 MB stands for
    noise = (np.random.default_rng(3).standard_normal(600 * audio.SAMPLE_RATE) * 0.1).astype(np.float32)
    wav = tmp_path / "noise.wav"
    subprocess.run(
        [audio.ffmpeg_executable(), "-v", "error", "-f", "f32le", "-ar", "16000", "-ac", "1", "-i", "-", str(wav)],
        input=noise.tobytes(), check=True,
    )  # fmt: skip
    samples = audio.decode(wav, dtype=np.int16)
    assert samples.dtype == np.int16 and len(samples) == len(noise) and not samples.flags.writeable
    left = Path(tempfile.gettempdir()).glob(f"{audio._FOLDER_PREFIX}{os.getpid()}-*")
    assert not list(left)  # the samples' file has no name left: nothing to clean up after a kill
    before = _resident_file_mib()
    total = int(samples.astype(np.int64).sum())  # a pass over all of it maps every page
    assert _resident_file_mib() - before > 15
    audio.release(samples)
    assert _resident_file_mib() - before < 3  # the pages are the kernel's again
    assert int(samples.astype(np.int64).sum()) == total  # and read again from the file when needed
    assert np.allclose(audio.floats(samples), noise, atol=2e-4)
    in_memory = np.ones(8, np.int16)
    audio.release(in_memory)
    assert in_memory.sum() == 8


@pytest.mark.parametrize(
    ("name", "right", "alone"),
    [
        ("inverted.wav", "-1*c0", True),  # the right channel is the left inverted: the mix is silence
        ("inverted.m4a", "-1*c0", True),
        ("mostly-inverted.m4a", "-0.9*c0", True),  # the mix is 26 dB down
        ("left-only.wav", "0*c0", False),  # the mix is the left channel at half: fine as it is
    ],
)
def test_stereo_channels_that_cancel_in_mono_are_heard_one_alone(
    name: str, right: str, alone: bool, tmp_path: Path, shared_models: Path, caplog: pytest.LogCaptureFixture
) -> None:
    media = tmp_path / name
    subprocess.run(
        [audio.ffmpeg_executable(), "-nostdin", "-loglevel", "error", "-i", str(MEDIA / "jfk.flac"),
         "-filter_complex", f"[0:a]pan=stereo|c0=c0|c1={right}", str(media)],
        check=True,
    )  # fmt: skip
    plain_mix = subprocess.run(
        [audio.ffmpeg_executable(), "-nostdin", "-loglevel", "error", "-i", str(media), "-ac", "1", "-f", "f32le", "-"],
        check=True, capture_output=True,
    ).stdout  # fmt: skip
    assert audio.is_silent(np.frombuffer(plain_mix, "<f4")) == (right == "-1*c0")  # what ingest used to hear
    caplog.set_level(logging.INFO, logger="pipeline.audio")
    model = models.resolve_model("tiny.en", models_dir=shared_models)
    options = transcribe.DecodingOptions(beam_size=None, best_of=None)
    path = transcribe.transcribe_media(media, tmp_path, model, options)  # ingest's decode and transcription
    text = transcribe.Transcript.from_json(path.read_text()).text
    assert "ask not what your country can do for you" in EnglishTextNormalizer()(text), text
    assert ("cancel out when mixed to mono" in caplog.text) == alone
