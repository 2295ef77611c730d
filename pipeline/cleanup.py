"""Defenses against whisper's known failures, applied to its segments.

- loops: the same line repeated segment after segment is collapsed to one, and flagged
  with how often it was said and what;
- missing text: where the text is far shorter than the speech it stands for (whisper
  skips a sentence said again within a window), the span is flagged;
- stock phrases ("Thanks for watching", "字幕由Amara.org社群提供") are dropped when they
  fall on non-speech, and flagged when they fall on speech;
- doubtful segments (low confidence, likely no speech, repetitive text) are kept and
  flagged for the editor, never silently deleted;
- Mandarin: a prompt that asks for the wanted script with punctuation, and OpenCC as a
  backstop that converts every text to that script;
- Chinese typography (``typeset_chinese``, on whisper's Mandarin): full-width punctuation
  beside Chinese characters, no space between Chinese and Latin or digits (as the blog's
  posts write it), a sentence end;
- running text (``join_text``): segments joined with one space, and never a space between
  two Chinese or Japanese characters, nor beside full-width punctuation, whatever the
  window boundaries.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from pipeline.choices import ChineseScript
from pipeline.speech import speech_fraction

# Whisper's stock hallucinations, learnt from subtitle credits and video outros.
STOCK_PHRASES = (
    r"thanks? (you )?(so much )?for watching",
    r"please subscribe",
    r"(like and )?subscribe to (my|our|the) channel",
    r"see you (in the )?next (video|time)",
    r"subtitles? by",
    r"amara\.org",
    r"字幕由.*提供",
    r"(请|請)?不吝(点赞|點贊)",
    r"(订阅|訂閱).*(点赞|點贊|转发|轉發)",
    r"谢谢(观看|收看)|謝謝(觀看|收看)",
    r"明镜与点点栏目|明鏡與點點欄目",
    r"优优独播剧场|優優獨播劇場",
)
_STOCK = re.compile("|".join(STOCK_PHRASES), re.IGNORECASE)

LOW_LOGPROB = -1.0
LIKELY_NO_SPEECH = 0.6
REPETITIVE = 2.4  # gzip compression ratio of the text
ON_SPEECH = 0.5  # a segment at least half inside speech regions is "on speech"
COLLAPSED_EXCERPT_CHARS = 40  # of a collapsed line, quoted in its flag

# Text far shorter than its speech: whisper skipped some. Text runs at words per second of
# speech (voice activity's regions), or characters per second in languages written without
# spaces. Measured on speech transcribed whole (tiny.en and base; windows, and stretches of
# 8 s or more): English 2.0-3.5 words/s, very slow English (espeak-ng at 110 wpm with
# gaps between words) 1.23-1.5; Mandarin 4.1-4.7 characters/s. A sentence said six times
# and written once or twice: 0.33-0.56 words/s. Text below these rates (40 % of typical
# English, a third of Mandarin) is flagged.
MIN_TEXT_RATE = {"spaced": 1.0, "unspaced": 1.5}
MIN_JUDGED_SPEECH = 8.0  # seconds: shorter stretches (a word or two, a pause) are not judged
# Text syllables a syllable nucleus heard (speech.syllable_nuclei): 0.92 to 1.16 on real and
# synthetic English and Mandarin at 90 to 260 words a minute, 1.38 on a dense LibriSpeech
# sentence, which said six times and written three times comes out at 0.69. Text under
# MIN_SYLLABLE_SHARE of what was heard is flagged, in stretches with MIN_JUDGED_NUCLEI
# nuclei or more (8 s of speech or so).
MIN_SYLLABLE_SHARE = 0.75
MIN_JUDGED_NUCLEI = 20
SHORT_TEXT = "text shorter than the speech: check"

OPENCC_CONFIGS = {ChineseScript.SIMPLIFIED: "t2s", ChineseScript.TRADITIONAL: "s2t", ChineseScript.TAIWAN: "s2twp"}
MANDARIN_PROMPTS = {
    ChineseScript.SIMPLIFIED: "以下是普通话的句子，使用简体中文，并加上标点符号。",
    ChineseScript.TRADITIONAL: "以下是普通話的句子，使用繁體中文，並加上標點符號。",
    ChineseScript.TAIWAN: "以下是普通話的句子，使用臺灣正體中文，並加上標點符號。",
}

# The Mandarin prompt's clauses, and how much of one in a window's text is whisper
# repeating its prompt rather than speech (a known whisper failure: the prompt's words
# written where the audio is hard; "普通话的句子" replaced "不过，" in a new user's draft).
PROMPT_CLAUSES = tuple(
    {clause for prompt in MANDARIN_PROMPTS.values() for clause in re.split(r"[，。]", prompt) if clause}
)
PROMPT_ECHO_CHARS = 5
PROMPT_ECHO = "the decoder's prompt written as speech, removed"


# Characters written without spaces between words: CJK ideographs (with extensions and
# compatibility forms), radicals, CJK punctuation, kana, bopomofo, fullwidth and
# halfwidth forms. Not Hangul: Korean puts spaces between words.
_CJK = (
    "\u2e80-\u2fdf\u3000-\u303f\u3040-\u30ff\u3100-\u312f\u3190-\u31ff\u3400-\u4dbf\u4e00-\u9fff"
    "\uf900-\ufaff\ufe30-\ufe4f\uff01-\uff9f\uffe0-\uffe6\U00020000-\U0003134f"
)
# ...also after ASCII punctuation that follows a CJK character: whisper writes "最好, 垂直".
_SPACE_BETWEEN_CJK = re.compile(rf"(?:(?<=[{_CJK}])|(?<=[{_CJK}][,.!?;:]))\s+(?=[{_CJK}])")
# Full-width punctuation (CJK symbols, full-width forms less letters and digits) takes no
# space on either side, in any style.
_CJK_PUNCTUATION = "\u3000-\u303f\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65"
_SPACE_BY_CJK_PUNCTUATION = re.compile(rf"(?<=[{_CJK_PUNCTUATION}])\s+|\s+(?=[{_CJK_PUNCTUATION}])")
# Languages whose segments are joined without a space though the rule above does not cover
# their scripts (Thai, Lao, Burmese, Tibetan).
UNSPACED_SCRIPTS = {"th", "lo", "my", "bo"}
# Languages written without spaces between words: their text is measured in characters.
UNSPACED_LANGUAGES = {"zh", "ja", "yue", *UNSPACED_SCRIPTS}


@dataclass(frozen=True)
class Cleaned:
    """A segment after the defenses."""

    text: str
    start: float  # seconds from the start of the recording
    end: float
    flag: str  # '' or why an editor should check this span


def _normalized(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    return re.sub(r"[\W_]+", "", text)


def is_stock_phrase(text: str) -> bool:
    """Whether ``text`` holds one of STOCK_PHRASES (case-insensitive)."""
    return bool(_STOCK.search(text))


def join_text(texts: Iterable[str], language: str | None = None) -> str:
    """Segment texts as running text, the one rule for drafts, sidecars and the writing step:
    one space between segments (none in Thai and its like), and no space at all between two
    CJK characters, within a segment or across segments (whisper puts them at window
    boundaries: "广州市 佛地产" is "广州市佛地产"), nor beside full-width punctuation ("。 GPU"
    is "。GPU"). A space between Chinese and Latin stays ("用 GPU 训练"): whisper's
    Mandarin is set without it (``typeset_chinese``), people's text is left as written."""
    separator = "" if (language or "").split("-")[0].lower() in UNSPACED_SCRIPTS else " "
    joined = separator.join(stripped for text in texts if (stripped := text.strip()))
    return _SPACE_BY_CJK_PUNCTUATION.sub("", _SPACE_BETWEEN_CJK.sub("", joined))


# Chinese typography. autocorrect-py (the Rust AutoCorrect's binding) turns ASCII
# punctuation between Chinese characters full-width and removes spaces beside full-width
# punctuation; its rules that add spaces between Chinese and Latin are off, since the
# blog's posts write "AI十年内实现ASI" and "2019年创立Atreides后" (242 such joins in
# ../shared/examples/published-post.md, none spaced). What it leaves is done here: the
# spaces whisper puts between Chinese and Latin or digits, ASCII punctuation on one side
# of a Chinese character ("Pro, 很贵", "个月;效果"), and the sentence end.
_AUTOCORRECT_OFF = ("space-word", "space-punctuation", "space-bracket", "space-backticks", "space-dash")
_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_SPACE_BY_CJK = re.compile(rf"(?<=[{_CJK}])[ \t]+|[ \t]+(?=[{_CJK}])")
_FULL_WIDTH = {",": "，", ";": "；", ":": "：", "!": "！", "?": "？"}
_ASCII_BY_CJK = re.compile(rf"(?<=[{_CJK}])[,;:!?]|[,;:!?](?=[{_CJK}])")
_ENDS_OPEN = re.compile(rf"[{_HAN}A-Za-z0-9%]$")
_ENDS_ASCII = re.compile(r"(?<=[A-Za-z0-9%])[.!?]$")
_COMPATIBILITY_FORMS = re.compile("[\ufe10-\ufe19\ufe31-\ufe4f\ufe50-\ufe6b]")  # not ︰, a two-dot leader


@lru_cache(maxsize=1)
def _autocorrect() -> Any:
    import autocorrect_py

    # Its config is process-wide; draftcast is its only user in the process.
    autocorrect_py.load_config(json.dumps({"rules": dict.fromkeys(_AUTOCORRECT_OFF, 0)}))
    return autocorrect_py


def typeset_chinese(text: str) -> str:
    """Mandarin ``text`` as the blog sets it: full-width ，。？！：； beside Chinese
    characters, never ASCII; no space between Chinese characters, nor between Chinese and
    Latin or digits ("用GPU训练了3个月"), nor beside full-width punctuation; small and
    vertical forms (﹑﹐︒) as the usual marks; a sentence end (。, or ， after a
    conjunction) when the text ends without punctuation. Text without Chinese characters
    is returned as it is."""
    if not re.search(f"[{_HAN}]", text):
        return text
    # Small and vertical forms (﹑﹐︒: whisper wrote "份額﹑埃隆") as the usual ones (NFKC).
    text = _COMPATIBILITY_FORMS.sub(lambda m: unicodedata.normalize("NFKC", m.group()), text)
    text = _as_commas(text)
    text = _SPACE_BY_CJK.sub("", text.strip())
    text = _autocorrect().format(text)
    text = _ASCII_BY_CJK.sub(lambda m: _FULL_WIDTH[m.group()], text)
    text = _ENDS_ASCII.sub(lambda m: {".": "。", "!": "！", "?": "？"}[m.group()], text)
    text = _LONE_CLAUSE.sub(lambda m: m.group(1) + ("，" if _is_conjunction(m.group(1)) else "。"), text)
    return text + _open_end(text) if _ENDS_OPEN.search(text) else text


# A conjunction (jieba's part of speech c: 不过, 但是, 所以…) starts what follows it: a new
# user's draft read "…更大的机会。不过。数据安全…", whisper's own full stop after 不过.
_LONE_CLAUSE = re.compile(f"(?:^|(?<=[。！？，；：]))([{_HAN}]{{1,4}})。")


def _is_conjunction(clause: str) -> bool:
    words = list(jieba_tagger().cut(clause))
    return len(words) == 1 and words[0].flag == "c"


def _open_end(text: str) -> str:
    """What ends ``text``, a segment without end punctuation: 。, or ， after a conjunction,
    which the next segment goes on from."""
    clause = re.split(f"[^{_HAN}A-Za-z0-9]", text)[-1]
    words = list(jieba_tagger().cut(clause)) if clause else []
    return "，" if words and words[-1].flag == "c" else "。"


@lru_cache(maxsize=1)
def jieba_tagger() -> Any:
    """jieba's part-of-speech tagger on a tokenizer of its own (jieba's global one keeps
    the words any caller adds)."""
    import logging

    import jieba
    import jieba.posseg

    jieba.setLogLevel(logging.WARNING)  # it announces building its dictionary
    return jieba.posseg.POSTokenizer(jieba.Tokenizer())


# jieba's words of a text: start, end (character offsets), and the word's part of speech in
# jieba's dictionary ("n", "nr", "v", …; "" for a word its HMM made up of unknown characters)
WordSpans = list[tuple[int, int, str]]


def word_spans(text: str) -> WordSpans | None:
    """jieba's words of ``text``: their start and end offsets, and their part of speech
    in jieba's dictionary, "" when the word is not in it (made up by its HMM for
    characters it does not know); None for text without Chinese characters."""
    if not re.search(f"[{_HAN}]", text):
        return None
    tagger = jieba_tagger()
    tokenizer = tagger.tokenizer
    words, position = [], 0
    for word in tokenizer.cut(text):
        tag = tagger.word_tag_tab.get(word, "x") if tokenizer.FREQ.get(word) else ""
        words.append((position, position + len(word), tag))
        position += len(word)
    return words


# whisper base at times writes one full-width digit or letter between clauses instead of
# a comma (a new user's draft: "创下历史新高４以此同时４萨姆奥尔特曼表示４…", 13 times; autocorrect
# then made it ASCII "4"). One such character standing alone between Chinese characters
# twice or more in a text is taken for that comma; once ("第４季度") it is left.
_LONE_FULL_WIDTH = re.compile(f"(?<=[{_HAN}])([０-９Ａ-Ｚａ-ｚ])(?=[{_HAN}])")


def _as_commas(text: str) -> str:
    """``text`` with the full-width characters whisper wrote for commas (``_LONE_FULL_WIDTH``) as ，."""
    counts = Counter(match.group(1) for match in _LONE_FULL_WIDTH.finditer(text))
    return _LONE_FULL_WIDTH.sub(lambda m: "，" if counts[m.group(1)] >= 2 else m.group(1), text)


# With names in its prompt whisper base also writes an ASCII digit for a mark: a new user's
# drafts read "埃隆·马斯克能4他好像" (呢？他), "情况怎么样4。" (？) and "中国这边1华为" (，). A
# lone digit after a Chinese character is a number when a classifier, a unit or 第 goes
# with it (3个月, 第4季度, 5年); before a pronoun, a name or a sentence mark it is flagged.
STRAY_DIGIT = "a digit where whisper may have meant a mark"
_LONE_DIGIT = re.compile(f"(?<=[{_HAN}])(?<!第)[0-9０-９](?![0-9０-９.,%])")
_NOT_COUNTED = ("r", "nr", "nrt", "ns", "nt", "nz")  # jieba: pronouns and names are not counted


def stray_digits(text: str) -> list[str]:
    """The places in Mandarin ``text`` (a few characters around each) where a lone digit
    stands where a mark may belong (see STRAY_DIGIT); [] when none."""
    found = []
    for match in _LONE_DIGIT.finditer(text):
        after = text[match.end() :]
        words = list(jieba_tagger().cut(after[:8])) if re.match(f"[{_HAN}]", after) else []
        if after[:1] in ("", "。", "，", "？", "！", "；", "：") or (words and words[0].flag in _NOT_COUNTED):
            found.append(text[max(0, match.start() - 3) : match.end() + 2])
    return found


def is_chinese(language: str | None) -> bool:
    """Whether ``language`` (whisper's or a BCP 47 code) is Chinese: zh, any script or
    region, or yue (Cantonese)."""
    return (language or "").split("-")[0].lower() in ("zh", "yue")


def clean_segments(segments: list[dict[str, Any]], regions: list[tuple[float, float]]) -> list[Cleaned]:
    """Whisper's raw segments, defended. ``regions`` are the speech regions of the audio.

    ``segments``: ``engines.RawSegment`` dicts, in order. ``regions``: (start, end) seconds;
    [] (no voice activity detection) takes every segment as on speech. Returns the segments
    left, in order: empty ones and stock phrases off speech dropped, a segment that repeats
    the one before merged into it, each flagged with why an editor should look ('' if
    nothing): low confidence (avg_logprob < -1), maybe not speech (no_speech_prob > 0.6
    with avg_logprob < -0.5), repetitive (compression ratio > 2.4), outside detected speech.
    The -1, 0.6 and 2.4 are whisper.transcribe's thresholds."""
    result: list[Cleaned] = []
    said: list[int] = []  # how often each kept line was said in a row
    for segment in segments:
        # U+FFFD: whisper's last token cut a character's bytes in two (a new user's "设计�")
        text, echoed = without_prompt_echo(str(segment["text"]).replace("\ufffd", "").strip())
        text, repeats = without_repeated_phrase(text)
        start, end = float(segment["start"]), float(segment["end"])
        if not any(char.isalnum() for char in text):
            continue  # no words (。。。。 or ♪): speech here is flagged as having no text (flag_short_text)
        on_speech = speech_fraction(start, end, regions) >= ON_SPEECH if regions else True
        if is_stock_phrase(text) and not on_speech:
            continue  # an outro whisper heard in silence or music
        if result and _normalized(result[-1].text) == _normalized(text):
            result[-1] = dataclasses.replace(result[-1], end=end)
            said[-1] += 1
            continue
        reasons = []
        if is_stock_phrase(text):
            reasons.append("stock phrase")
        if float(segment.get("avg_logprob", 0.0)) < LOW_LOGPROB:
            reasons.append("low confidence")
        if float(segment.get("no_speech_prob", 0.0)) > LIKELY_NO_SPEECH and float(segment.get("avg_logprob", 0)) < -0.5:
            reasons.append("maybe not speech")
        if float(segment.get("compression_ratio", 0.0)) > REPETITIVE:
            reasons.append("repetitive")
        if not on_speech:
            reasons.append("outside detected speech")
        if echoed:
            reasons.append(f'{PROMPT_ECHO}: "{echoed}"')
        if repeats:
            reasons.append(repeats)
        if unheard := float(segment.get("unheard", 0.0)):
            reasons.append(f"{UNHEARD} ({unheard:.1f} s): listen")
        result.append(Cleaned(text, start, end, ", ".join(reasons)))
        said.append(1)
    return [
        _with_reason(kept, _collapsed(kept.text, times)) if times > 1 else kept
        for kept, times in zip(result, said, strict=True)
    ]


def without_prompt_echo(text: str) -> tuple[str, str]:
    """``text`` without what repeats a clause of the Mandarin prompt (PROMPT_ECHO_CHARS or
    more characters of one, and a sentence mark after them), and what was removed ('')."""
    removed = []
    while re.search(f"[{_HAN}]", text):  # the prompts are Chinese: other text holds none of them
        match = max(
            (
                difflib.SequenceMatcher(None, text, clause, autojunk=False).find_longest_match()
                for clause in PROMPT_CLAUSES
            ),
            key=lambda found: found.size,
        )
        if match.size < PROMPT_ECHO_CHARS:
            break
        end = match.a + match.size
        end += 1 if text[end : end + 1] in ("，", "。", ",", ".") else 0
        removed.append(text[match.a : match.a + match.size])
        text = (text[: match.a] + text[end:]).strip()
    return text, "、".join(removed)


# A phrase whisper writes twice or more within one segment, with nothing but punctuation
# between: a new user's Traditional draft read "埃隆馬斯克表述﹑埃隆馬斯克表述。" where
# "埃隆·马斯克表示，" was said once. People repeat a word or two ("对对对", "I think, I
# think"); a phrase of REPEATED_PHRASE_CHARS Chinese characters or REPEATED_PHRASE_WORDS
# words said again at once is the decoder's loop, kept once and flagged; so is a shorter
# phrase of two different characters or words said REPEATED_PHRASE_TIMES times or more
# ("设计设计设计设计设计设计" after a new user's last sentence), but not laughter (哈哈哈哈).
REPEATED_PHRASE_CHARS = 5
REPEATED_PHRASE_WORDS = 4
REPEATED_PHRASE_TIMES = 4
_REPEATED_PHRASE = re.compile(r"(?<![A-Za-z0-9])(\w.+?)((?:[\W_]*?\1)+)(?![A-Za-z0-9])", re.DOTALL)


# Speech right after a line that whisper, asked again, wrote nothing for (transcribe._with_rests).
UNHEARD = "speech after this has no text"


def without_repeated_phrase(text: str) -> tuple[str, str]:
    """``text`` with each phrase said twice or more in a row kept once (see
    REPEATED_PHRASE_CHARS), and the flag for the editor ('' when nothing was collapsed)."""
    collapsed: list[str] = []

    def once(match: re.Match[str]) -> str:
        phrase = match.group(1)
        han, words = re.findall(f"[{_HAN}]", phrase), re.findall(r"[A-Za-z0-9]+", phrase)
        times = 1 + len(re.findall(re.escape(phrase), match.group(2)))
        units = han or words
        long_enough = len(units) >= (REPEATED_PHRASE_CHARS if han else REPEATED_PHRASE_WORDS)
        looped = times >= REPEATED_PHRASE_TIMES and len(set(units)) >= 2
        if not (long_enough or looped) or not re.search(r"\w$", phrase):
            return match.group()
        collapsed.append(_collapsed(phrase, times, "repeated words"))
        return phrase

    text = _REPEATED_PHRASE.sub(once, text)
    return text, ", ".join(collapsed)


def _with_reason(segment: Cleaned, reason: str) -> Cleaned:
    if reason in segment.flag:
        return segment
    return dataclasses.replace(segment, flag=", ".join(r for r in (segment.flag, reason) if r))


def _collapsed(text: str, times: int, what: str = "repeated line") -> str:
    """The flag of a line (``what``) said ``times`` in a row and kept once, quoting its
    start (inside the draft's HTML comment, so never ``--``)."""
    excerpt = text if len(text) <= COLLAPSED_EXCERPT_CHARS else text[:COLLAPSED_EXCERPT_CHARS].rstrip() + "…"
    return f'{what} collapsed ({times}×): "{re.sub("-{2,}", "–", excerpt)}"'


def too_little_text(units: int, seconds: float, language: str) -> bool:
    """Whether ``units`` of text (``text_units``) are far too few for ``seconds`` of speech
    in ``language``: under MIN_TEXT_RATE a second, judged from MIN_JUDGED_SPEECH seconds on."""
    unspaced = language.split("-")[0].lower() in UNSPACED_LANGUAGES
    return seconds >= MIN_JUDGED_SPEECH and units < MIN_TEXT_RATE["unspaced" if unspaced else "spaced"] * seconds


def text_units(text: str, language: str) -> int:
    """How much text there is: characters in languages written without spaces, else words."""
    if language.split("-")[0].lower() in UNSPACED_LANGUAGES:
        return sum(1 for char in text if char.isalnum())
    return len(re.findall(r"\w+(?:['’]\w+)*", text))


# A syllable of text: a CJK ideograph, a kana or a Hangul block; in alphabets, a run of vowels
# (accents stripped) within a word, at least one a word. Digits count one each.
_SYLLABLE_CHARS = re.compile(
    r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af\U00020000-\U0003134f]|\d"
)
_ALPHABET_WORD = re.compile(r"[^\W\d_]+")
_VOWELS = re.compile(r"[aeiouyæøåœəіїєыэюяаеёиоуαεηιουω]+")
# Scripts whose syllables this count knows: CJK, Hangul, Latin, Greek, Cyrillic.
_COUNTED = re.compile(
    r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7afA-Za-z\u00c0-\u024f\u0370-\u03ff\u0400-\u04ff]"
)


def text_syllables(text: str) -> int | None:
    """About how many syllables ``text`` takes to say; None when its script is not one
    counted here (most of its letters outside CJK, Hangul, Latin, Greek, Cyrillic)."""
    letters = [char for char in text if char.isalpha()]
    if letters and sum(1 for char in letters if _COUNTED.match(char)) < 0.8 * len(letters):
        return None
    count = len(_SYLLABLE_CHARS.findall(text))
    plain = unicodedata.normalize("NFKD", _SYLLABLE_CHARS.sub(" ", text).lower())
    plain = "".join(char for char in plain if not unicodedata.combining(char))
    for word in _ALPHABET_WORD.findall(plain):
        count += max(1, len(_VOWELS.findall(word)))
    return count


@dataclass(frozen=True)
class _Stretch:
    """Speech that a piece of text stands for, and how much of each there is."""

    index: int  # the segment a flag for it goes on
    seconds: float  # of speech
    units: int  # words, or characters in unspaced languages
    said: int | None  # syllables of the text (None: a script text_syllables does not count)
    heard: int  # syllable nuclei in the speech
    reason: str

    def too_short(self, minimum: float) -> bool:
        """Far less text than speech: under ``minimum`` units a second, or under
        MIN_SYLLABLE_SHARE of the syllables heard."""
        slow = self.seconds >= MIN_JUDGED_SPEECH and self.units < minimum * self.seconds
        judged = self.said is not None and self.heard >= MIN_JUDGED_NUCLEI
        return slow or (judged and (self.said or 0) < MIN_SYLLABLE_SHARE * self.heard)


def flag_short_text(
    segments: list[Cleaned],
    windows: list[tuple[float, float]],
    speech: list[tuple[float, float]],
    language: str,
    nuclei: np.ndarray | None = None,
) -> list[Cleaned]:
    """``segments`` (in order) with SHORT_TEXT on those whose text is far shorter than the
    speech it stands for: whisper skipped some, often a sentence said again within a window.

    In each window of ``windows`` (seconds, as decoded), a segment's text stands for the
    speech since the text before it, and the speech after the window's last text stands
    for none (that flag goes on the segment nearest before it, else after it, and says
    where the speech is). A stretch is flagged when it has MIN_JUDGED_SPEECH seconds of
    speech or more (``speech``: the regions voice activity found) and its text runs below
    MIN_TEXT_RATE, or when its text has fewer than MIN_SYLLABLE_SHARE of the syllables
    heard in it (``nuclei``: times in seconds, ``speech.syllable_nuclei``; this catches a
    fast speaker's sentence written half as often as said); so is a whole window, on its
    stretch with the most speech lacking text."""
    if not segments:
        return segments  # nothing to flag on; the caller reports a recording without text
    unspaced = language.split("-")[0].lower() in UNSPACED_LANGUAGES
    minimum = MIN_TEXT_RATE["unspaced" if unspaced else "spaced"]
    heard = nuclei if nuclei is not None else np.zeros(0)

    def stretch(index: int, first: float, last: float, text: str, reason: str) -> _Stretch:
        nuclei_in = int(np.searchsorted(heard, last) - np.searchsorted(heard, first))
        return _Stretch(
            index, _speech_in(first, last, speech), text_units(text, language), text_syllables(text), nuclei_in, reason
        )

    reasons: dict[int, str] = {}
    for start, end in windows:
        inside = [i for i, segment in enumerate(segments) if start <= segment.start < end]
        stretches = []
        since = start
        for i in inside:
            stretches.append(stretch(i, since, max(since, segments[i].end), segments[i].text, SHORT_TEXT))
            since = max(since, segments[i].end)
        nearest = inside[-1] if inside else max((i for i, s in enumerate(segments) if s.start < start), default=0)
        untold = f"{SHORT_TEXT} (no text for the speech from {_clock(since)} to {_clock(end)})"
        stretches.append(stretch(nearest, since, end, "", untold))
        slow = [st for st in stretches if st.too_short(minimum)]
        said = [st.said for st in stretches]
        whole = _Stretch(
            -1, sum(st.seconds for st in stretches), sum(st.units for st in stretches),
            None if None in said else sum(st.said or 0 for st in stretches), sum(st.heard for st in stretches), "",
        )  # fmt: skip
        if not slow and whole.too_short(minimum):
            slow = [max(stretches, key=lambda st: st.seconds - st.units / minimum)]  # the most speech without text
        for st in slow:
            if reasons.get(st.index, SHORT_TEXT) == SHORT_TEXT:  # saying where speech has no text is worth more
                reasons[st.index] = st.reason
    return [_with_reason(segment, reasons[i]) if i in reasons else segment for i, segment in enumerate(segments)]


def _speech_in(start: float, end: float, speech: list[tuple[float, float]]) -> float:
    return speech_fraction(start, end, speech) * max(0.0, end - start)


def _clock(seconds: float) -> str:
    """M:SS, or H:MM:SS from an hour on: as the draft writes times (draft.timestamp)."""
    hours, rest = divmod(int(seconds), 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


@lru_cache(maxsize=4)
def _converter(config: str) -> Any:
    import opencc

    return opencc.OpenCC(config)


def to_script(text: str, script: str) -> str:
    """``text`` in the given Chinese script, by OpenCC.

    Raises:
        ValueError: ``script`` is not a ChineseScript.
    """
    return _converter(OPENCC_CONFIGS[ChineseScript(script)]).convert(text)


def convert_fields(
    fields: dict[str, Any], script: str, *, keep: tuple[str, ...] = ("source", "date")
) -> dict[str, Any]:
    """Every text field of the front matter in ``script`` (URLs and dates left as they are):
    strings and the strings in lists converted, the fields named in ``keep`` and other
    values as they were; a new dict.

    Raises:
        ValueError: ``script`` is not a ChineseScript.
    """
    converted: dict[str, Any] = {}
    for name, value in fields.items():
        if name in keep:
            converted[name] = value
        elif isinstance(value, str):
            converted[name] = to_script(value, script)
        elif isinstance(value, list):
            converted[name] = [to_script(v, script) if isinstance(v, str) else v for v in value]
        else:
            converted[name] = value
    return converted
