"""Transcript quality: Mandarin script and punctuation, no invented text, loops, flags,
subtitles first, sidecars. Real whisper weights and real Silero VAD on real speech."""

from __future__ import annotations

import re
from pathlib import Path

import jiwer
import pytest
from whisper.normalizers import EnglishTextNormalizer

from pipeline import audio, captions, cleanup, models, speech, transcribe
from pipeline.transcript import Transcript, write_sidecars
from pipeline.video import SubtitleTrack, VideoInfo
from tests.conftest import GAP_SPEECH_STARTS, MEDIA, REFERENCES, Site

# Measured here with base (beam 5): "广州市佛地产中间协会分析。" against 广州市房地产中介协会分析,
# CER 2/12 = 16.7 % (before this issue: Traditional characters, no punctuation, 58 % CER
# without conversion). The limit leaves room for one more character.
MANDARIN_CER_LIMIT = 0.25


def cer(reference: str, hypothesis: str) -> float:
    strip = re.compile(r"[\W_]+")
    return jiwer.cer(strip.sub("", reference), strip.sub("", hypothesis))


@pytest.mark.parametrize(("script", "expected"), [("zh-Hans", "广州市"), ("zh-Hant", "廣州市")])
def test_mandarin_comes_out_in_the_wanted_script_with_punctuation(
    shared_models: Path, script: str, expected: str
) -> None:
    model = models.resolve_model("base", models_dir=shared_models)
    samples = audio.decode(MEDIA / "aishell-BAC009S0724W0121.wav")
    result = transcribe.transcribe(samples, model, transcribe.DecodingOptions(chinese_script=script))
    assert result.language == "zh" and expected in result.text
    assert re.search(r"[，。！？]", result.text)  # punctuated
    simplified = cleanup.to_script(result.text, "zh-Hans")
    assert cer(REFERENCES["aishell-BAC009S0724W0121.wav"], simplified) <= MANDARIN_CER_LIMIT, result.text


def test_silence_and_noise_between_speech_invent_nothing(site: Site, shared_models: Path) -> None:
    samples = audio.decode(site.root / "gap.wav")
    regions = speech.speech_regions(samples)
    assert len(regions) == 2 and abs(regions[1][0] - GAP_SPEECH_STARTS[1]) < 1.0
    model = models.resolve_model("tiny.en", models_dir=shared_models)
    result = transcribe.transcribe(samples, model, transcribe.DecodingOptions(language="en"))
    reference = f"{REFERENCES['jfk.flac']} {REFERENCES['librispeech-1995-1837-0001.wav']}"
    normalize = EnglishTextNormalizer()
    assert jiwer.wer(normalize(reference), normalize(result.text)) <= 0.10, result.text  # nothing invented
    assert not [s for s in result.segments if 12.0 < s.start < 100.0]  # nothing in the gap
    assert not _missing_text_flags(result)  # normal speech, a minute of silence and noise: nothing missing
    after = next(s for s in result.segments if "sorrow" in s.text.lower())
    assert abs(after.start - GAP_SPEECH_STARTS[1]) < 1.0  # timestamps right after the gap


def _missing_text_flags(transcript: Transcript) -> list[str]:
    return [s.flag for s in transcript.segments if cleanup.SHORT_TEXT in s.flag or "collapsed" in s.flag]


def test_loops_collapse_and_outros_on_non_speech_are_dropped() -> None:
    regions = [(0.0, 20.0)]
    raw = [
        {"start": 0.0, "end": 4.0, "text": " We are back.", "avg_logprob": -0.2},
        {"start": 4.0, "end": 8.0, "text": " We are back!", "avg_logprob": -0.2},
        {"start": 8.0, "end": 12.0, "text": " We are back.", "avg_logprob": -0.2},
        {"start": 12.0, "end": 16.0, "text": " The chips matter.", "avg_logprob": -1.4},
        {"start": 16.0, "end": 19.0, "text": " Thanks for watching!", "avg_logprob": -0.3},
        {"start": 40.0, "end": 44.0, "text": " Thank you for watching.", "avg_logprob": -0.3},
        {"start": 44.0, "end": 48.0, "text": "字幕由Amara.org社群提供", "avg_logprob": -0.3},
    ]
    cleaned = cleanup.clean_segments(raw, regions)
    assert [(c.text, c.flag) for c in cleaned] == [
        ("We are back.", 'repeated line collapsed (3×): "We are back."'),
        ("The chips matter.", "low confidence"),
        ("Thanks for watching!", "stock phrase"),  # said during speech: kept, flagged
    ]
    assert cleaned[0].end == 12.0


def test_a_collapsed_loop_is_flagged_with_what_was_collapsed_whatever_else_is_flagged() -> None:
    line = " Ask what you can do for your country -- ask it now, every day of the year."
    raw = [{"start": 4.0 * n, "end": 4.0 * n + 4.0, "text": line, "compression_ratio": 3.1} for n in range(4)]
    (kept,) = cleanup.clean_segments(raw, [(0.0, 16.0)])
    assert (kept.start, kept.end) == (0.0, 16.0)
    assert kept.flag == 'repetitive, repeated line collapsed (4×): "Ask what you can do for your country –…"'


def test_a_phrase_written_twice_within_a_line_is_kept_once_and_flagged_a_word_said_twice_stays() -> None:
    """A new user's Traditional draft: "…廠份額﹑埃隆馬斯克表述﹑埃隆馬斯克表述。" for one
    "埃隆·马斯克表示，"; people do repeat a word or two."""
    looped = "希望分得更多的是廠份額﹑埃隆馬斯克表述﹑埃隆馬斯克表述。他的公司正在建設。"
    raw = [
        {"start": 0.0, "end": 8.0, "text": looped},
        {"start": 8.0, "end": 12.0, "text": " the cat sat on the mat, the cat sat on the mat the cat sat on the mat"},
        *({"start": 12.0 + n, "end": 13.0 + n, "text": t} for n, t in enumerate(
            ["谢谢大家，谢谢大家。", "对对对，是的。", "I think, I think we should go.", "哈哈哈哈哈哈", "好的好的。"]
        )),
    ]  # fmt: skip
    cleaned = cleanup.clean_segments(raw, [(0.0, 20.0)])
    assert [c.text for c in cleaned[:2]] == [
        "希望分得更多的是廠份額﹑埃隆馬斯克表述。他的公司正在建設。",
        "the cat sat on the mat",
    ]
    assert cleaned[0].flag == 'repeated words collapsed (2×): "埃隆馬斯克表述"'
    assert cleaned[1].flag == 'repeated words collapsed (3×): "the cat sat on the mat"'
    assert [(c.text, c.flag) for c in cleaned[2:]] == [(str(r["text"]), "") for r in raw[2:]]
    # A short phrase looped (a new user's last line, with half a character whisper cut: U+FFFD).
    (looped,) = cleanup.clean_segments(
        [{"start": 0.0, "end": 2.0, "text": "我们拭目以待。设计设计设计设计设计设计\ufffd"}], []
    )
    assert (looped.text, looped.flag) == ("我们拭目以待。设计", 'repeated words collapsed (6×): "设计"')


def test_the_mandarin_prompt_written_as_speech_is_removed_and_flagged_and_marks_alone_are_no_text() -> None:
    """Cases of a new user's drafts: whisper wrote its prompt where the audio was hard, and
    a window of full stops only."""
    raw = [
        {"start": 0.0, "end": 4.0, "text": "。。。。。。。。。。"},
        {"start": 4.0, "end": 8.0, "text": "普通话的句子。数据安全和隐私保护仍然是企业最关心的问题。"},
        {"start": 8.0, "end": 12.0, "text": "以下是普通話的句子，使用繁體中文，並加上標點符號。"},
        {"start": 12.0, "end": 16.0, "text": "我们都说普通话，也写简体中文。"},  # speech about the same things stays
    ]
    cleaned = cleanup.clean_segments(raw, [(0.0, 16.0)])
    assert [(c.text, c.flag) for c in cleaned] == [
        ("数据安全和隐私保护仍然是企业最关心的问题。", f'{cleanup.PROMPT_ECHO}: "普通话的句子"'),
        ("我们都说普通话，也写简体中文。", ""),
    ]


def _said(start: float, end: float, words: int, flag: str = "") -> cleanup.Cleaned:
    return cleanup.Cleaned(" ".join(["word"] * words), start, end, flag)


def test_text_far_shorter_than_its_speech_is_flagged() -> None:
    windows, speech = [(0.0, 28.0), (30.0, 58.0)], [(0.0, 28.0), (30.0, 58.0)]
    normal = [_said(0.0, 9.0, 20), _said(9.0, 19.0, 24), _said(19.0, 28.0, 21), _said(30.0, 58.0, 60)]
    assert cleanup.flag_short_text(normal, windows, speech, "en") == normal
    slow = [_said(0.0, 28.0, 36), _said(30.0, 58.0, 36)]  # 1.3 words/s: slow speech, not missing text
    assert cleanup.flag_short_text(slow, windows, speech, "en") == slow
    # one copy of a sentence said four times: 10 words for 20 s of speech
    skipped = [_said(0.0, 6.0, 15), _said(6.0, 26.0, 10, "low confidence"), _said(30.0, 58.0, 60)]
    flags = [s.flag for s in cleanup.flag_short_text(skipped, windows, speech, "en")]
    assert flags == ["", f"low confidence, {cleanup.SHORT_TEXT}", ""]
    # the text stops while the speech goes on to the window's end
    stopped = [_said(0.0, 9.0, 20), _said(30.0, 58.0, 60)]
    flags = [s.flag for s in cleanup.flag_short_text(stopped, windows, speech, "en")]
    assert flags == [f"{cleanup.SHORT_TEXT} (no text for the speech from 0:09 to 0:28)", ""]
    # a window whisper gave no text at all: flagged on the text before it
    assert [s.flag for s in cleanup.flag_short_text(normal[:3], windows, speech, "en")] == [
        "",
        "",
        f"{cleanup.SHORT_TEXT} (no text for the speech from 0:30 to 0:58)",
    ]
    # many short stretches, each too short to judge, but the window as a whole is
    sparse = [_said(n * 4.0, n * 4.0 + 4.0, 2) for n in range(7)]
    assert [bool(s.flag) for s in cleanup.flag_short_text(sparse, windows[:1], speech, "en")].count(True) == 1
    assert cleanup.flag_short_text(sparse[:1], windows[:1], [(0.0, 4.0)], "en") == sparse[:1]  # 4 s: not judged


def test_text_in_languages_without_spaces_is_measured_in_characters() -> None:
    windows = speech = [(0.0, 20.0)]
    said = [cleanup.Cleaned("广州市房地产中介协会分析，" * 6, 0.0, 20.0, "")]  # 72 characters: 3.6 a second
    assert cleanup.flag_short_text(said, windows, speech, "zh") == said
    short = [cleanup.Cleaned("广州市房地产中介协会分析。", 0.0, 20.0, "")]
    assert cleanup.flag_short_text(short, windows, speech, "zh")[0].flag == cleanup.SHORT_TEXT
    assert cleanup.text_units("用 GPU 训练。", "zh") == 6 and cleanup.text_units("Don't stop — go on.", "en") == 4


def test_an_english_only_model_is_never_given_possibly_mandarin_audio(shared_models: Path) -> None:
    assert models.multilingual_for("tiny.en", models_dir=shared_models) == "base"  # tiny is not offline
    assert models.multilingual_for("base", models_dir=shared_models) == "base"


def _video(*tracks: SubtitleTrack, language: str | None = None) -> VideoInfo:
    return VideoInfo(
        "id1", "youtube", "t", "u", "", None, None, "https://v/", "", (), (), language=language, subtitles=tracks
    )


def test_human_subtitles_in_the_wanted_language_are_chosen_automatic_ones_are_not() -> None:
    human_en = SubtitleTrack("en-GB", "https://s/en.vtt", "vtt", automatic=False)
    auto_zh = SubtitleTrack("zh-Hans", "https://s/zh.vtt", "vtt", automatic=True)
    video = _video(human_en, auto_zh)
    assert captions.choose_track(video, "en") == human_en
    assert captions.choose_track(video, "zh") is None  # automatic captions: whisper does better
    assert captions.choose_track(video, "zh", "any") == auto_zh
    assert captions.choose_track(video, None) == human_en  # the only human-made track: the video's own
    human_fr = SubtitleTrack("fr", "https://s/fr.vtt", "vtt", automatic=False)
    assert captions.choose_track(_video(human_en, human_fr), None) is None  # which is original? whisper decides
    assert captions.choose_track(_video(human_en, language="en"), None) == human_en
    assert captions.choose_track(video, "en", "off") is None


def test_subtitles_parse_and_sidecars_round_trip(site: Site, tmp_path: Path) -> None:
    segments = captions.parse_subtitles((site.root / "jfk.en.vtt").read_text())
    assert segments[0].text == "And so, my fellow Americans:" and segments[-1].end == 11.0
    assert [s.speaker for s in segments] == ["Kennedy"] * 3  # <v Kennedy> starts his turn, which goes on
    transcript = Transcript("en", "human-made subtitles", "captions", 11.0, tuple(segments))
    json_path = tmp_path / "transcript.json"
    srt, vtt, txt = write_sidecars(transcript, json_path)
    assert srt.read_text().count("<v Kennedy>") == vtt.read_text().count("<v Kennedy>") == 3  # on every cue
    assert captions.parse_subtitles(srt.read_text()) == segments
    assert captions.parse_subtitles(vtt.read_text()) == segments
    assert txt.read_text().startswith("Kennedy: And so, my fellow Americans: ask not")


@pytest.mark.parametrize("model_name", ["tiny.en", "base"])
def test_faster_whisper_reads_the_same_weights_and_the_text_agrees(model_name: str, shared_models: Path) -> None:
    samples = audio.decode(MEDIA / "librispeech-1995-1837-0001.wav")
    texts = {}
    for engine in ("openai-whisper", "faster-whisper"):
        model = models.resolve_model(model_name, models_dir=shared_models, engine=engine)
        result = transcribe.transcribe(samples, model, transcribe.DecodingOptions(language="en", engine=engine))
        assert result.engine == engine and result.segments
        assert not _missing_text_flags(result)  # 8.7 s of speech, judged and found whole
        texts[engine] = EnglishTextNormalizer()(result.text)
    reference = EnglishTextNormalizer()(REFERENCES["librispeech-1995-1837-0001.wav"])
    assert jiwer.wer(reference, texts["faster-whisper"]) <= 0.10
    assert jiwer.wer(texts["openai-whisper"], texts["faster-whisper"]) <= 0.10  # comparable text


def test_the_split_base_weights_are_joined_once_for_ctranslate2(shared_models: Path) -> None:
    folder = models.resolve_model("base", models_dir=shared_models, engine="faster-whisper").path
    assert folder == shared_models / "ct2" / "base"
    assert {p.name for p in folder.iterdir()} >= {"model.bin", "config.json", "tokenizer.json", "vocabulary.txt"}
    assert models._sha256([folder / "model.bin"]) == models.OFFLINE_WEIGHTS["base"].sha256
    with pytest.raises(models.ModelError, match="no CTranslate2 weights"):
        models.resolve_model("small", models_dir=shared_models, engine="faster-whisper")


@pytest.mark.parametrize("clip", sorted(REFERENCES))
def test_syllable_nuclei_heard_match_the_syllables_said(clip: str) -> None:
    samples = audio.decode(MEDIA / clip)
    regions = speech.speech_regions(samples, merge_gap=0.0)
    heard = speech.syllable_nuclei(samples, regions)
    said = cleanup.text_syllables(REFERENCES[clip])
    assert said is not None and 0.85 <= said / len(heard) <= 1.45, (said, len(heard))  # measured: 0.92 to 1.12
    assert all(any(start <= t <= end for start, end in regions) for t in heard)  # only in speech


def test_a_fast_speakers_sentence_written_half_as_often_as_said_is_flagged(tmp_path: Path) -> None:
    from tests.conftest import REPEATED_SENTENCE, make_repeated_recording

    samples = audio.decode(make_repeated_recording(tmp_path / "six.wav", times=6))
    regions = speech.speech_regions(samples, merge_gap=0.0)
    nuclei = speech.syllable_nuclei(samples, regions)
    duration = len(samples) / audio.SAMPLE_RATE
    window = [(0.0, duration)]

    def written(copies: int) -> list[cleanup.Cleaned]:
        return [cleanup.Cleaned(f"{REPEATED_SENTENCE}. " * copies, 0.0, duration - 0.5, "")]

    assert len(REPEATED_SENTENCE.split()) * 6 / duration >= 1.6  # faster than MIN_TEXT_RATE alone could judge
    assert [s.flag for s in cleanup.flag_short_text(written(6), window, regions, "en", nuclei)] == [""]
    for copies in (2, 3):
        (flagged,) = cleanup.flag_short_text(written(copies), window, regions, "en", nuclei)
        assert cleanup.SHORT_TEXT in flagged.flag, (copies, len(nuclei))
    assert cleanup.text_syllables("สวัสดีครับ") is None  # a script not counted is not judged by syllables


def test_speech_whisper_writes_nothing_for_when_asked_again_is_flagged_not_lost() -> None:
    """With a 34-name prompt, base ended a window at 54.3 s where "不过" was said until
    55.3 s; decoded again, that second gave no text, and the draft lost it unflagged. The
    engine is stood in for by canned segments: which rest is asked for again, what is marked."""
    asked: list[list[tuple[float, float]]] = []
    heard = {
        (0.0, 30.0): [{"start": 0.0, "end": 28.9, "text": "更大的机会。"}],  # stops 1.1 s early
        (30.0, 60.0): [{"start": 30.0, "end": 50.0, "text": "数据安全。"}],  # speech ends at 50 s
    }

    def decode(spans: list[tuple[float, float]]) -> list[list[dict]]:
        asked.append(spans)
        return [heard.get(span, []) for span in spans]

    speech_regions = [(0.0, 30.0), (30.0, 50.0)]  # 50–60 s is silence
    found = transcribe._with_rests([(0.0, 30.0), (30.0, 60.0)], decode, speech_regions)
    assert asked == [[(0.0, 30.0), (30.0, 60.0)], [(28.9, 30.0)]]  # not the silent 50–60 s
    assert found[0][-1]["unheard"] == 1.1 and "unheard" not in found[1][-1]
    cleaned = cleanup.clean_segments(found[0] + found[1], speech_regions)
    assert [c.flag for c in cleaned] == [f"{cleanup.UNHEARD} (1.1 s): listen", ""]
