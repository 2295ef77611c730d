"""The fast path: windows cut at pauses, decoded side by side with whisper's own beam
search, and a long transcription that resumes where it was interrupted. Real weights,
real speech; bench/speed.py measures the speed itself."""

from __future__ import annotations

import itertools
import logging
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pipeline import audio, batched, engines, models, speech, transcribe
from pipeline.audio import SAMPLE_RATE
from pipeline.errors import ConfigError
from tests.conftest import MEDIA, Site


def _speech_like(seconds_on: list[float], pause: float) -> np.ndarray:
    """Noise bursts (stand-ins for phrases) separated by silent pauses."""
    rng = np.random.default_rng(0)
    silence = np.zeros(int(pause * SAMPLE_RATE), np.float32)
    parts = []
    for length in seconds_on:
        parts += [0.3 * rng.standard_normal(int(length * SAMPLE_RATE)).astype(np.float32), silence]
    return np.concatenate(parts)


def test_long_speech_is_cut_at_its_last_pause_into_windows_whisper_can_read() -> None:
    samples = _speech_like([7.0] * 12, pause=0.4)  # 88.8 s of "speech" with a pause every 7 s
    windows = speech.windows([(0.0, len(samples) / SAMPLE_RATE)], samples)
    assert all(end - start <= speech.WINDOW_SECONDS for start, end in windows)
    assert windows[0][0] == 0.0 and windows[-1][1] == len(samples) / SAMPLE_RATE
    assert all(a[1] == b[0] for a, b in itertools.pairwise(windows))  # nothing lost between
    for _, cut in windows[:-1]:  # every cut is inside a pause, not in a phrase
        assert np.abs(samples[int(cut * SAMPLE_RATE) - 80 : int(cut * SAMPLE_RATE) + 80]).max() == 0.0
    # windows stay long: the last pause is taken, less than one phrase and pause before the limit
    assert min(end - start for start, end in windows[:-1]) > speech.WINDOW_SECONDS - 7.4


def test_nearby_regions_share_a_window_and_far_ones_do_not() -> None:
    samples = np.zeros(200 * SAMPLE_RATE, np.float32)
    regions = [(0.0, 5.0), (7.0, 12.0), (60.0, 70.0)]
    assert speech.windows(regions, samples) == [(0.0, 12.0), (60.0, 70.0)]


@pytest.mark.parametrize(
    "decoding",
    [
        {"beam_size": 5},
        # a prompt of names: the first step runs once a window and projects two positions
        {"beam_size": 5, "prompt": "Kennedy, Nvidia, TSMC, Satya Nadella, Lisa Su, Sam Altman, OpenAI, SK Hynix"},
        {"prompt": "Kennedy, Nvidia, TSMC, Satya Nadella"},  # greedy: the fallbacks' loop
    ],
)
def test_windows_decoded_side_by_side_match_whisper_decoding_them_one_by_one(
    shared_models: Path, decoding: dict[str, Any]
) -> None:
    import whisper

    model = engines.load_whisper_model(models.resolve_model("tiny.en", models_dir=shared_models).path)
    clips = [audio.decode(MEDIA / name) for name in ("jfk.flac", "librispeech-1995-1837-0001.wav")]
    samples = np.concatenate([clips[0], np.zeros(SAMPLE_RATE, np.float32), clips[1]])
    spans = [
        (0.0, len(clips[0]) / SAMPLE_RATE),
        ((len(clips[0]) + SAMPLE_RATE) / SAMPLE_RATE, len(samples) / SAMPLE_RATE),
    ]
    mel = batched.window_mels(model, samples, spans, SAMPLE_RATE)
    options = whisper.DecodingOptions(language="en", fp16=False, **decoding)
    together = batched.decode_batch(model, mel, options)
    one_by_one = [whisper.decode(model, mel[i], options) for i in range(len(spans))]
    assert [r.tokens for r in together] == [r.tokens for r in one_by_one]
    # the audio's keys and values are kept in float16 (batched.AUDIO_CACHE_DTYPE): same tokens, scores to 1e-3
    assert [r.avg_logprob for r in together] == pytest.approx([r.avg_logprob for r in one_by_one], abs=1e-3)
    assert [round(r.no_speech_prob, 4) for r in together] == [round(r.no_speech_prob, 4) for r in one_by_one]
    assert "ask not what your country" in together[0].text and "sorrow" in together[1].text


def test_a_windows_beams_share_its_initial_tokens_cache_and_step_as_whisper_does(
    shared_models: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch
    import whisper
    from whisper.decoding import PyTorchInference

    model = engines.load_whisper_model(models.resolve_model("tiny.en", models_dir=shared_models).path)
    samples = audio.decode(MEDIA / "jfk.flac")
    spans = [(0.0, 5.5), (5.5, len(samples) / SAMPLE_RATE)]
    mel = batched.window_mels(model, samples, spans, SAMPLE_RATE)
    tokenizer = whisper.tokenizer.get_tokenizer(False, language="en", task="transcribe")
    initial = [*tokenizer.encode(" Kennedy, Nvidia, TSMC"), *tokenizer.sot_sequence_including_notimestamps]
    beams, windows = 3, len(spans)
    steps = torch.tensor([[tokenizer.encode(w)[0] for w in (" And", " so", " my")]] * windows * beams)
    steps[1::beams] = torch.tensor(tokenizer.encode(" Ask not what"))[:3]  # beams that differ
    order = [0, 0, 2, 3, 5, 4]  # after each step: the beams the search keeps (within their window)
    monkeypatch.setattr(batched, "DECODED_ROOM", 2)  # the decoded tokens' buffers grow between steps

    def run(inference: Any, step_logits: Any) -> list[Any]:
        """Each step's logits (rows, n_vocab), the kv cache reordered after each."""
        found, tokens = [], torch.tensor([initial]).repeat(windows * beams, 1)
        for step in range(steps.shape[1]):
            tokens = torch.cat([tokens, steps[:, step : step + 1]], dim=1)
            found.append(step_logits(tokens))
            inference.rearrange_kv_cache(order)
            tokens = tokens[order]
        return found

    with torch.no_grad():
        features = model.encoder(mel)
        rows_features = features.repeat_interleave(beams, dim=0)  # whisper's: a copy a beam
        theirs = PyTorchInference(model, len(initial))
        theirs.logits(torch.tensor([initial]).repeat(windows * beams, 1), rows_features)
        expected = run(theirs, lambda tokens: theirs.logits(tokens, rows_features)[:, -1])
        theirs.cleanup_caching()  # its hooks off the model before ours runs
        ours = batched.BatchInference(model, beams)
        ours.first_step(torch.tensor([initial]).repeat(windows * beams, 1), features, len(initial) - 1)
        got = run(ours, ours.logits)
    for step, (mine, whispers) in enumerate(zip(got, expected, strict=True)):
        # float16 keys and values of the audio: logits of 5 to 15 within 5e-3 (2e-3 seen)
        assert torch.allclose(mine, whispers, atol=5e-3), (step, (mine - whispers).abs().max())
    # the initial tokens' keys are kept once a window, the decoded ones' once a beam
    assert ours.initial[0][0].shape[:3] == (windows, 6, len(initial))  # tiny: 6 heads
    assert ours.decoded[0][0].shape[:2] == (windows * beams, 6) and ours.length == steps.shape[1]
    assert ours.decoded[0][0].shape[2] == 4  # room for 2 at the first step, 2 more at the third


class Recording:
    """A fake engine around a real one: records the windows it is asked to decode and
    raises KeyboardInterrupt (as a kill would) once ``interrupt_after`` have been decoded."""

    def __init__(self, real: engines.Engine, interrupt_after: int | None = None) -> None:
        self.real, self.name, self.model = real, real.name, real.model
        self.interrupt_after = interrupt_after
        self.decoded: list[tuple[float, float]] = []

    def detect_language(self, audio: Any, start: float) -> str:
        return self.real.detect_language(audio, start)

    def decode(self, audio: Any, windows: list[tuple[float, float]], **options: Any) -> Any:
        if self.interrupt_after is not None and len(self.decoded) >= self.interrupt_after:
            raise KeyboardInterrupt
        self.decoded.extend(windows)
        return self.real.decode(audio, windows, **options)


def test_an_interrupted_transcription_resumes_without_redoing_finished_windows(
    site: Site, shared_models: Path, tmp_path: Path
) -> None:
    samples = audio.decode(site.root / "gap.wav")  # two stretches of speech: two windows
    model = models.resolve_model("tiny.en", models_dir=shared_models)
    options = transcribe.DecodingOptions(language="en", batch_windows=1)
    real = engines.load_engine(options.engine, model)
    whole = transcribe.transcribe(samples, model, options, engine=real)

    checkpoint = tmp_path / "transcript.partial"
    killed = Recording(real, interrupt_after=1)
    with pytest.raises(KeyboardInterrupt):
        transcribe.transcribe(samples, model, options, checkpoint=checkpoint, engine=killed)
    assert len(checkpoint.read_text().splitlines()) == 2  # the fingerprint and one finished window

    again = Recording(real)
    resumed = transcribe.transcribe(samples, model, options, checkpoint=checkpoint, engine=again)
    assert killed.decoded[0] not in again.decoded and len(again.decoded) >= 1  # not decoded again
    assert resumed.text == whole.text

    other = transcribe.DecodingOptions(language="en", beam_size=None, batch_windows=1)  # made another way
    redone = Recording(real)
    transcribe.transcribe(samples, model, other, checkpoint=checkpoint, engine=redone)
    assert killed.decoded[0] in redone.decoded  # a checkpoint made another way is not reused


def test_an_unknown_engine_is_an_error_not_a_fallback(shared_models: Path) -> None:
    model = models.resolve_model("tiny.en", models_dir=shared_models)
    with pytest.raises(ConfigError, match="unknown engine 'whisper-cpp': use openai-whisper or faster-whisper"):
        engines.load_engine("whisper-cpp", model)


def test_bfloat16_products_decode_the_same_speech_in_half_the_weights(shared_models: Path) -> None:
    """``use_bfloat16``: every linear layer's weights and the token embedding in bfloat16,
    the float32 model (another cache entry) untouched, and the same words as float32 from
    whisper base on Kennedy, on any CPU (emulated bfloat16 is slow, not wrong)."""
    import torch
    import whisper

    path = models.resolve_model("base", models_dir=shared_models).path
    float32 = engines.load_whisper_model(path)
    bfloat16 = engines.load_whisper_model(path, "cpu", "bfloat16")
    assert bfloat16 is not float32 and not hasattr(float32.decoder, "vocabulary_projection")
    assert {p.dtype for p in float32.parameters()} == {torch.float32}

    def megabytes(model: torch.nn.Module) -> float:
        return sum(p.numel() * p.element_size() for p in model.parameters()) / 2**20

    linear = [m for m in bfloat16.modules() if isinstance(m, whisper.model.Linear)]
    assert len(linear) == 6 * 6 + 6 * 10 and all(m.weight.dtype == torch.bfloat16 for m in linear)  # base: 6 + 6 blocks
    assert bfloat16.decoder.token_embedding.weight.dtype == torch.bfloat16
    assert megabytes(bfloat16) < 0.55 * megabytes(float32)
    assert bfloat16.decoder.ln.weight.dtype == torch.float32  # the layer norms stay float32

    samples = audio.decode(MEDIA / "jfk.flac")
    mel = batched.window_mels(float32, samples, [(0.0, len(samples) / SAMPLE_RATE)], SAMPLE_RATE)
    options = whisper.DecodingOptions(language="en", fp16=False, beam_size=5)
    exact, rounded = (batched.decode_batch(model, mel, options)[0] for model in (float32, bfloat16))
    assert rounded.text == exact.text and "ask not what your country can do for you" in exact.text
    assert rounded.audio_features.dtype == torch.float32  # the residual stream stays float32
    assert abs(rounded.avg_logprob - exact.avg_logprob) < 0.05
    # whisper's own decoder call (language detection, fallback passes) goes the same way
    _, probabilities = bfloat16.detect_language(mel[:1])
    assert max(probabilities[0], key=probabilities[0].get) == "en"


def test_the_beam_update_keeps_what_whispers_own_keeps() -> None:
    """3 windows × 5 beams over 12 steps of random logits, end-of-text often among the best
    and tied tokens: batched._beam_update and whisper's BeamSearchDecoder.update keep the
    same beams, scores, reorders and finished sequences, in the same order."""
    import torch
    from whisper.decoding import BeamSearchDecoder

    class Reorders:  # stands for BatchInference: the reorders an update asks for
        def __init__(self) -> None:
            self.asked: list[list[int]] = []

        def rearrange_kv_cache(self, sources: list[int]) -> None:
            self.asked.append(list(sources))

    generator = torch.Generator().manual_seed(0)
    vocabulary, eot, beams, windows = 60, 50, 5, 3
    theirs, ours = BeamSearchDecoder(beams, eot, Reorders()), BeamSearchDecoder(beams, eot, Reorders())
    for decoder in (theirs, ours):
        decoder.finished_sequences = [{} for _ in range(windows)]
    tokens = [torch.full((windows * beams, 3), 7) for _ in range(2)]  # the first step: every beam the same
    sums = [torch.zeros(windows * beams) for _ in range(2)]
    for _ in range(12):
        logits = torch.randn(windows * beams, vocabulary, generator=generator) * 3
        logits[:, eot] += 2.5
        logits[:, 20:24] = logits[:, 20:21] + 4  # four tokens tied near the top
        theirs_out = theirs.update(tokens[0], logits.clone(), sums[0])
        ours_out = batched._beam_update(ours, tokens[1], logits.clone(), sums[1])
        assert torch.equal(theirs_out[0], ours_out[0]) and theirs_out[1] == ours_out[1]
        assert torch.equal(sums[0], sums[1])
        tokens = [theirs_out[0], ours_out[0]]
    assert theirs.inference.asked == ours.inference.asked
    assert [list(f.items()) for f in theirs.finished_sequences] == [list(f.items()) for f in ours.finished_sequences]
    assert sorted(len(f) for f in ours.finished_sequences) == [3, 4, 5]  # end-of-text taken, one window full


def test_logits_screened_in_bfloat16_choose_the_tokens_float32_chooses(shared_models: Path) -> None:
    """The screen's bound holds for every token of real decoder states (most rows need no
    more than its 32 candidates) and of random ones (flat logits, rows widened until the
    best tokens are float32's); decoding with the screen gives whisper's tokens."""
    import torch
    import whisper

    model = engines.load_whisper_model(models.resolve_model("base", models_dir=shared_models).path)
    decoder, weight = model.decoder, model.decoder.token_embedding.weight
    tokenizer = whisper.tokenizer.get_tokenizer(True, num_languages=model.num_languages, language="en")
    samples = audio.decode(MEDIA / "jfk.flac")
    mel = batched.window_mels(model, samples, [(0.0, len(samples) / SAMPLE_RATE)], SAMPLE_RATE)
    text = tokenizer.encode(" And so my fellow Americans, ask not what your country can do for you")
    with torch.no_grad():
        tokens = torch.tensor([[*tokenizer.sot_sequence, tokenizer.timestamp_begin, *text]])
        real = decoder.ln(batched._hidden(decoder, tokens, model.embed_audio(mel), None))[0]  # (positions, 512)
        flat = decoder.ln(torch.randn(12, 512, generator=torch.Generator().manual_seed(0)))
        suppressed = [220, 50256, *range(0, 50257, 997)]
        for states, some_widened in ((real, False), (flat, True)):
            screen = batched.VocabularyScreen(decoder, tokenizer.eot, suppressed, 6)
            screened = screen.logits(states)
            exact = states @ weight.T
            exact[:, suppressed] = float("-inf")
            best = exact.topk(6, dim=-1)
            assert torch.equal(screened.topk(6, dim=-1).indices, best.indices)
            torch.testing.assert_close(screened.gather(1, best.indices), best.values, atol=1e-4, rtol=0)
            torch.testing.assert_close(screened[:, tokenizer.eot :], exact[:, tokenizer.eot :], atol=1e-4, rtol=0)
            assert screen.rows == len(states)
            assert screen.widened > 0 if some_widened else screen.widened < len(states) / 2
            rounded = torch.nn.functional.linear(states.bfloat16(), decoder.screen_weight).float()
            bound = screen.highest(rounded, screen.products_bound(states)[:, None])
            assert (exact[:, : tokenizer.eot] <= bound).all()  # the bound holds for every text token
            assert (rounded - exact[:, : tokenizer.eot]).abs().max() > 1e-3  # and bfloat16 alone is not float32
        clips = [samples, audio.decode(MEDIA / "librispeech-1995-1837-0001.wav")]
        mel = torch.cat([batched.window_mels(model, c, [(0.0, len(c) / SAMPLE_RATE)], SAMPLE_RATE) for c in clips])
        options = whisper.DecodingOptions(language="en", fp16=False, beam_size=5, prompt="Kennedy, Nvidia, Lisa Su")
        plain, screened = (batched.decode_batch(model, mel, options, screen_logits=s) for s in (False, True))
    assert [r.tokens for r in screened] == [r.tokens for r in plain]
    assert [round(r.avg_logprob, 3) for r in screened] == [round(r.avg_logprob, 3) for r in plain]
    assert "ask not what your country can do for you" in plain[0].text


def test_logits_are_screened_by_default_only_where_the_cpu_multiplies_bfloat16(
    monkeypatch: pytest.MonkeyPatch, shared_models: Path
) -> None:
    resolved = models.resolve_model("tiny.en", models_dir=shared_models)
    for native in (True, False):
        monkeypatch.setattr(engines, "native_bfloat16", lambda native=native: native)
        assert engines.OpenAIWhisper(resolved, "cpu", "auto").screen_logits is native
        assert engines.OpenAIWhisper(resolved, "cpu", "float32").screen_logits is False  # asked for: float32 only


def test_bfloat16_is_asked_for_and_said_to_be_slow_where_the_cpu_emulates_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, shared_models: Path
) -> None:
    """The "auto" compute type stays float32 for openai-whisper (bfloat16 cost 2.5 points of WER on the
    harness's recording); bfloat16 asked for on a CPU the kernel lists no bfloat16
    instruction for is loaded with one warning; faster-whisper refuses it (CTranslate2 has
    none on a CPU)."""
    flags = "processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f {}\n"
    for extra, native in (("avx512_bf16", True), ("amx_bf16 amx_tile", True), ("avx512_vnni", False)):
        (tmp_path / extra).write_text(flags.format(extra))  # a file each: the answer is cached by path
        assert engines.native_bfloat16(tmp_path / extra) is native
    assert engines.native_bfloat16(tmp_path / "none") is False
    assert engines.compute_type_for("openai-whisper", "cpu") == "float32"
    assert engines.compute_type_for("openai-whisper", "cpu", "bfloat16") == "bfloat16"
    assert engines.compute_type_for("faster-whisper", "cpu") == "int8"
    assert engines.compute_type_for("openai-whisper", "cuda", "bfloat16") == "auto"
    with pytest.raises(ConfigError, match=r"^faster-whisper \(CTranslate2\) has no bfloat16 on a CPU: use float32 or"):
        engines.compute_type_for("faster-whisper", "cpu", "bfloat16")

    path = models.resolve_model("tiny.en", models_dir=shared_models).path
    for native in (True, False):
        monkeypatch.setattr(engines, "native_bfloat16", lambda native=native: native)
        engines.load_whisper_model.cache_clear()
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="pipeline.engines"):
            engines.load_whisper_model(path, "cpu", "bfloat16")
        warned = [r.getMessage() for r in caplog.records if r.name == "pipeline.engines"]
        assert warned == ([] if native else [
            "this CPU has no bfloat16 instructions (avx512_bf16, amx_bf16): bfloat16 is emulated, "
            'slower than float32; compute_type = "float32" is faster here'
        ])  # fmt: skip
    engines.load_whisper_model.cache_clear()


def test_int8_weights_decode_the_same_speech_with_a_transcript_of_their_own(shared_models: Path) -> None:
    import torch
    import whisper

    path = models.resolve_model("tiny.en", models_dir=shared_models).path
    float32 = engines.load_whisper_model(path)
    int8 = engines.load_whisper_model(path, "cpu", "int8")
    assert int8 is not float32 and not hasattr(float32.decoder, "vocabulary_projection")  # the float model untouched
    linear = [m for m in int8.modules() if isinstance(m, torch.nn.Linear)]  # float layers left: none
    quantized = [m for m in int8.modules() if isinstance(m, torch.ao.nn.quantized.dynamic.Linear)]
    assert not linear and len(quantized) == 4 * 6 + 4 * 10 + 1  # tiny: 4 encoder, 4 decoder blocks; the vocabulary

    samples = audio.decode(MEDIA / "jfk.flac")
    mel = batched.window_mels(float32, samples, [(0.0, len(samples) / SAMPLE_RATE)], SAMPLE_RATE)
    options = whisper.DecodingOptions(language="en", fp16=False, beam_size=5, prompt="Kennedy, Nvidia, TSMC")
    exact, rounded = (batched.decode_batch(model, mel, options)[0] for model in (float32, int8))
    assert (
        exact.text
        == rounded.text
        == (
            "And so my fellow Americans ask not what your country can do for you, ask what you can do for your country."
        )
    )
    assert abs(rounded.avg_logprob - exact.avg_logprob) < 0.05  # the same confidence, nearly

    tiny = models.resolve_model("tiny.en", models_dir=shared_models)
    transcript = transcribe.transcribe(samples, tiny, transcribe.DecodingOptions(compute_type="int8"))
    assert transcript.compute_type == "int8" and transcript.provenance == "openai-whisper tiny.en int8, language en"
    assert "ask not what your country" in transcript.text

    own = transcribe.DecodingOptions(language="en")
    as_int8 = transcribe.DecodingOptions(language="en", compute_type="int8")
    work = Path("work")
    mine = engines.compute_type_for("openai-whisper", "cpu")  # bfloat16 or float32, as this CPU goes
    assert transcribe.transcript_path(work, "base", own) == transcribe.transcript_path(
        work, "base", transcribe.DecodingOptions(language="en", compute_type=mine)
    )
    assert transcribe.transcript_path(work, "base", as_int8).name == "transcript.int8-base.en.json"
    faster = transcribe.DecodingOptions(language="en", engine="faster-whisper", compute_type="int8")
    assert transcribe.transcript_path(work, "base", faster).name == "transcript.faster-whisper-base.en.json"
    with pytest.raises(ConfigError, match="unknown compute type 'int4': use auto, float32, bfloat16 or int8"):
        engines.compute_type_for("openai-whisper", "cpu", "int4")


@pytest.mark.skipif(sys.platform != "linux", reason="the driver files are Linux's")
def test_the_device_is_told_without_torch_where_no_gpu_can_be_seen(tmp_path: Path) -> None:
    """Without a GPU driver's files the device is the CPU and torch is not imported (0.9 s
    and about 200 MiB that faster-whisper's ingest carried through its transcription);
    with one, torch is asked."""
    present = tmp_path / "nvidia"
    present.mkdir()

    def told(*signs: Path) -> str:
        code = (
            "import sys\nfrom pathlib import Path\nfrom pipeline.transcribe import default_device\n"
            f"print(default_device([Path(p) for p in {[str(s) for s in signs]!r}]), 'torch' in sys.modules)"
        )
        run = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, cwd=Path(__file__).parent.parent, check=True
        )
        return run.stdout.strip()

    assert told(tmp_path / "absent", tmp_path / "dxg") == "cpu False"
    device, imported = told(tmp_path / "absent", present).split()
    assert imported == "True" and device in ("cpu", "cuda")


def test_one_transcription_at_a_time_on_the_cpu(
    tmp_path: Path, shared_models: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Two transcriptions on one machine's CPU take turns (two at once spun against each
    other: 204 s each where one alone took 39 s): while another process holds the CPU's
    lock, a transcription waits, says so once, and goes on when the lock is let go."""
    lock = tmp_path / "cpu.lock"
    monkeypatch.setattr(transcribe, "CPU_LOCK", lock)
    samples = audio.decode(MEDIA / "jfk.flac")
    tiny = models.resolve_model("tiny.en", models_dir=shared_models)
    engine = engines.load_engine("openai-whisper", tiny)
    # another process holding the CPU's turn (the lock kept in a name: a lock collected is let go)
    hold = f"import filelock, time\nheld = filelock.FileLock({str(lock)!r})\nheld.acquire()\nprint(1, flush=True)\n"
    hold += "time.sleep(60)"
    other = subprocess.Popen([sys.executable, "-c", hold], stdout=subprocess.PIPE, text=True)
    assert other.stdout is not None and other.stdout.readline().strip() == "1"
    done: list[Any] = []
    options = transcribe.DecodingOptions(language="en")
    worker = threading.Thread(target=lambda: done.append(transcribe.transcribe(samples, tiny, options, engine=engine)))
    with caplog.at_level(logging.INFO, logger="pipeline.transcribe"):
        worker.start()
        for _ in range(300):  # up to 30 s for it to reach its first batch
            if "waiting for its turn" in caplog.text:
                break
            time.sleep(0.1)
        time.sleep(1.0)
        assert "waiting for its turn" in caplog.text and not done  # nothing decoded while the other holds it
        other.kill()
        other.wait()
        worker.join(120)
    assert "ask not what your country" in done[0].text
    assert caplog.text.count("waiting for its turn") == 1
    monkeypatch.setattr(transcribe, "CPU_LOCK", tmp_path / "gpu.lock")
    with transcribe.CpuTurns()("cuda"):  # a GPU's work takes no turn: not even the lock's file is made
        assert not (tmp_path / "gpu.lock").exists()
    with transcribe.CpuTurns()("cpu"):
        assert (tmp_path / "gpu.lock").exists()


def test_the_cpu_lock_is_the_users_own_and_its_absence_is_no_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The lock lives in a folder of the user's own (mode 700) under the temporary
    directory, found when it is first needed (not on import: without any temporary
    directory, importing draftcast failed); where it cannot be had, the work goes on
    without turns, with one warning (a lock silently off made two ingests 173 s each)."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    lock = transcribe.cpu_lock()
    assert lock.parent.parent == tmp_path and lock.parent.stat().st_mode & 0o777 == 0o700
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "gone"))  # no such directory
    turns = transcribe.CpuTurns()
    ran = 0
    with caplog.at_level(logging.WARNING, logger="pipeline.transcribe"):
        for _ in range(2):
            with turns("cpu"):
                ran += 1
    assert ran == 2
    assert caplog.text.count("will not take turns on this machine's CPU") == 1 and "gone" in caplog.text


def test_whisper_is_imported_without_numba_and_its_word_timing_gives_the_same_path() -> None:
    """numba (60 MiB, 0.2 s) comes with whisper's word timing, which draftcast never uses:
    ``import_whisper`` leaves it out, the stand-in is gone after, numba itself still
    imports, and whisper's DTW gives the path numba's compiled one gives."""
    dtw = "import numpy as np; x = np.random.default_rng(7).random((12, 19)).astype(np.float32); "
    ours = (
        "import sys; from pipeline import models; whisper = models.import_whisper(); "
        "print('numba' in sys.modules, 'whisper.decoding' in sys.modules); "
        + dtw
        + "print(whisper.timing.dtw_cpu(x).tolist()); "
        "import numba; print(hasattr(numba, 'njit'))"
    )
    plain = "import whisper; " + dtw + "print(whisper.timing.dtw_cpu(x).tolist())"
    project = Path(__file__).parent.parent
    with_stand_in, with_numba = (
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, cwd=project, check=True
        ).stdout.split("\n")
        for code in (ours, plain)
    )
    assert with_stand_in[0] == "False True" and with_stand_in[2] == "True"
    assert with_stand_in[1] == with_numba[0] and with_numba[0].endswith(
        ", 11], [0, 1, 2, 3, 4, 5, 6, 7, 8, 8, 9, 10, 11, 12, 13, 13, 14, 15, 16, 17, 18]]"
    )
