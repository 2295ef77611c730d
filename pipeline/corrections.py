"""Corrections that stick: a word an editor corrected in a draft is corrected in the
channel's later drafts.

- ``replacements``: what an editor replaced in a draft, from the diff of the text
  draftcast wrote (kept by ``store.DraftStore``) and the text saved: short substitutions
  only (up to MAX_WORDS words or MAX_HAN Chinese characters a side, both sides
  non-empty). Text deleted or added, paragraphs rewritten, the front matter, draftcast's
  HTML comments, timestamp links and speakers' names in bold (pipeline/voices.py learns
  those) are no corrections.
- ``CorrectionStore``: the corrections learned, per channel, in one JSON file in the data
  dir; ``learn`` reads a channel's drafts that editors changed. A wrong form corrected to
  two right forms is ambiguous and not applied until a person removes one.
- ``apply`` / ``apply_transcript``: a channel's corrections applied to a transcript's
  text, whole words for spaced languages (case-sensitive), exact strings in Chinese.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import logging
import re
import sqlite3
from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from pipeline import cleanup
from pipeline.errors import CorrectionError
from pipeline.store import DraftStore, JsonFile
from pipeline.suggest import import_spacy
from pipeline.transcript import Transcript

log = logging.getLogger(__name__)

MAX_WORDS = 4  # words a side of a correction holds at most, in spaced languages
MAX_HAN = 8  # Chinese characters a side holds at most
MIN_HAN = 2  # a side of Chinese characters only holds at least this many: one character is grammar, not a name
# How alike a paragraph must stay to what draftcast wrote (difflib's ratio of its tokens)
# for its changes to count as corrections: a paragraph an editor rewrote shares its
# common words (the, 的) with the old one, and those must not pair unrelated words.
MIN_SIMILARITY = 0.6
MIN_HEARD_ALIKE = 0.5  # share of a Chinese correction's syllables that sound alike on both sides (``_misheard``)
FORMAT = 1  # of the JSON file
COMMON_WORD_CORRECTED = "a common word corrected as editors taught"

_HAN_RANGES = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_HAN = re.compile(rf"[{_HAN_RANGES}]")
_WORD_CHAR = rf"[^\W{_HAN_RANGES}]"  # a letter or digit of a spaced script
_TOKEN = re.compile(rf"[{_HAN_RANGES}]|{_WORD_CHAR}+(?:['’.\-]{_WORD_CHAR}+)*|\S")
_WORD = re.compile(rf"{_WORD_CHAR}+(?:['’.\-]{_WORD_CHAR}+)*")
_JOINERS = frozenset("·・&+'’")  # may stand between the words of a name (埃隆·马斯克, AT&T)
_FRONT_MATTER = re.compile(r"\A---\n.*?\n---\n", re.DOTALL)
# What draftcast writes around the text and no editor corrects as a word: its HTML comments,
# the timestamp links, a speaker's name in bold at a turn's start (inside the bold, as
# draftcast writes it, or after it).
_NOT_TEXT = re.compile(r"<!--.*?-->|\[[^\]\n]*\]\([^)\n]*\)|\*\*[^*\n]+?(?:[:：]\*\*|\*\*[:：])", re.DOTALL)
_MARK = "\x00"  # the token that stands for one such place: it matches itself, and no correction spans it
_NUMBER = re.compile(r"[\d.,]+")  # a word of digits alone: 25, 3.5, 2,000
_OPENING = frozenset("\"“‘'([«")  # marks a sentence may begin with


@dataclass(frozen=True)
class Replacement:
    """A correction learned from an editor: ``wrong`` is written ``right`` in the videos of
    ``scope`` (a channel's URL; '' for videos of no configured channel); ``source``: the
    draft it was learned from; ``date``: when (YYYY-MM-DD)."""

    wrong: str
    right: str
    scope: str = ""
    source: str = ""
    date: str = ""


# ---------------------------------------------------------------- what an editor replaced


@dataclass(frozen=True)
class _Token:
    text: str
    start: int
    end: int


def _tokens(text: str) -> list[_Token]:
    """Words, single Chinese characters and single marks of ``text``, with their places;
    each of draftcast's own places (``_NOT_TEXT``) is one ``_MARK`` token."""
    tokens, position = [], 0
    for place in [*_NOT_TEXT.finditer(text), None]:
        end = place.start() if place else len(text)
        tokens += [_Token(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(text, position, end)]
        if place:
            tokens.append(_Token(_MARK, place.start(), place.end()))
            position = place.end()
    return tokens


def _body(draft: str) -> list[str]:
    """The lines of a draft's body: its front matter is no transcript."""
    return _FRONT_MATTER.sub("", draft, count=1).splitlines()


def replacements(written: str, edited: str) -> list[tuple[str, str]]:
    """What an editor replaced in a draft: (wrong, right) pairs, in the order of the text,
    from the diff of ``written`` (the draft as draftcast wrote it) and ``edited`` (as saved).

    Paragraphs are paired by a diff of lines, then the words of each changed pair by a diff
    of tokens (words; Chinese character by character). A change counts when both sides hold
    words or Chinese characters (at most MAX_WORDS words and MAX_HAN characters each, a
    side of Chinese only at least MIN_HAN), and nothing else but joiners (·, &): no
    sentence marks, no line break, none of draftcast's places (``_NOT_TEXT``). In Chinese a
    change grows over the words jieba is sure of around it (``_widen``), so 王仁熏 → 黄仁勋 is
    one correction, not 王 → 黄 and 熏 → 勋; over any of jieba's words only when a side would
    otherwise hold under MIN_HAN characters (声腾 → 昇腾, where jieba cuts 昇|腾), those of
    the written text first (whisper's mishearing is one word there: 林本接|说, where the
    edited text is cut 林本|坚说). Words its HMM made up of unknown characters take in
    neighbours that are no part of a name (it cut a seventh new user's 黄人宣罪竟 黄人|宣罪,
    and 黄人宣 → 黄仁勋 was learned as 黄人宣罪 → 黄仁勋罪). A middle dot put between a
    name's parts is a correction of that name. Outside Chinese the right form has a capital
    or a digit (``_name_like``). A change of letter case alone is a name's only when the
    editor made it wherever the word is: a form still written elsewhere in the edited
    draft (``not`` → ``NOT`` once, ``great`` → ``GREAT``, a sentence's ``the`` → ``The``)
    was emphasis or grammar, and learned it would change that word in every later draft
    of the channel (a fresh user's ``NOT`` was). A sentence's first word that only gained
    its capital is set aside (``so nvidia`` → ``So Nvidia`` teaches ``nvidia`` →
    ``Nvidia``), and a sentence's capital makes no name (``whether`` → ``Weather``
    there is none); stop words are never
    taught their capitals, nor common words all their capitals (``_common_words``:
    ``huge`` → ``HUGE`` once; ``us`` → ``US`` and ``ai`` → ``AI`` neither, the safer
    mistake, which leaves the editor to fix them as before). In Chinese the two sides
    sound alike or share a character (``_misheard``). Paragraphs less than MIN_SIMILARITY
    alike were rewritten: nothing is taken from them."""
    return _edits(written, edited)[0]


def reversals(written: str, edited: str, taught: Collection[str]) -> list[tuple[str, str]]:
    """The changes of ``written`` into ``edited`` (as ``replacements`` finds them) that take
    out a right form of ``taught`` (what the channel's editors taught) and that
    ``replacements`` does not give, as its right side is no name: ``Barnes`` → ``barn``,
    ``GREAT`` → ``great``. An editor who changes a correction back undoes it
    (``CorrectionStore.learn``); these are (wrong, right) pairs, in the order of the text."""
    return _edits(written, edited, taught)[1]


def _edits(
    written: str, edited: str, taught: Collection[str] = ()
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """``replacements`` and ``reversals`` of one draft, from one diff of it."""
    found = [change for before, after in _paragraphs(written, edited) for change in _replaced(before, after, taught)]
    edited_text = _NOT_TEXT.sub(" ", "\n".join(_body(edited)))
    names = [(w, r) for w, r, name in found if name and not (_case_only(w, r) and _written(w, edited_text))]
    return names, [(wrong, right) for wrong, right, name in found if not name]


def _paragraphs(written: str, edited: str) -> Iterator[tuple[str, str]]:
    """The changed paragraphs of a draft's body, paired by a diff of lines: (as written,
    as edited); paragraphs added or deleted are no pairs, and a run of them replaced by a
    run of another length is one pair."""
    old, new = _body(written), _body(edited)
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if tag != "replace":
            continue
        if i2 - i1 == j2 - j1:
            yield from zip(old[i1:i2], new[j1:j2], strict=True)
        else:
            yield "\n".join(old[i1:i2]), "\n".join(new[j1:j2])


def _written(words: str, text: str) -> bool:
    """Whether ``words`` stand in ``text`` as whole words, letter case as given."""
    return re.search(rf"(?<!{_WORD_CHAR}){re.escape(words)}(?!{_WORD_CHAR})", text) is not None


def _replaced(before: str, after: str, taught: Collection[str] = ()) -> list[tuple[str, str, bool]]:
    """The corrections between two versions of a paragraph (see ``replacements``), each
    with whether it may be learned as a name's; one that may not is kept only when it
    takes out a form of ``taught`` (see ``reversals``)."""
    old, new = _tokens(before), _tokens(after)
    matcher = difflib.SequenceMatcher(None, [t.text for t in old], [t.text for t in new], autojunk=False)
    if matcher.ratio() < MIN_SIMILARITY:
        return []
    old_words, new_words = cleanup.word_spans(before), cleanup.word_spans(after)
    changes: list[tuple[list[int], bool]] = []  # token ranges, and whether they replace anything
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        change = _widen([i1, i2, j1, j2], old, new, old_words, new_words, sure=True)
        replaced = tag == "replace" or _joiners_only(old[i1:i2] + new[j1:j2])  # 萨姆奥尔特曼 → 萨姆·奥尔特曼
        if changes and change[0] <= changes[-1][0][1]:  # next to (or widened into) the one before: one correction
            (a1, _, b1, _), before_it = changes.pop()
            change, replaced = [a1, change[1], b1, change[3]], before_it or replaced
        for words in ((old_words, None), (None, new_words), (old_words, new_words)):
            if not (_too_short(old[change[0] : change[1]]) or _too_short(new[change[2] : change[3]])):
                break
            change = _widen(change, old, new, *words, sure=False)
        changes.append((_with_name_around(change, old, new), replaced))
    found = []
    for (i1, i2, j1, j2), replaced in changes:
        wrong, right = _side(before, old[i1:i2]), _side(after, new[j1:j2])
        starts = bool(wrong and right) and _starts_sentence(before, old, i1)
        if starts and new[j1].text != old[i1].text == _uncapitalised(new[j1].text):
            # the first word's new capital is the sentence's: the words after it are judged alone
            wrong, right, starts = _side(before, old[i1 + 1 : i2]), _side(after, new[j1 + 1 : j2]), False
        if not (replaced and wrong and right and wrong != right):
            continue
        name = (
            _name_like(right, wrong, sentence_start=starts)
            and _misheard(wrong, right)
            and not (_case_only(wrong, right) and _common_words(wrong, right))
        )
        if name or any(_holds(wrong, form) for form in taught):
            found.append((wrong, right, name))
    return found


def _uncapitalised(text: str) -> str:
    """``text`` with its first letter in lower case (a sentence's capital taken off)."""
    return text[:1].lower() + text[1:]


def _case_only(wrong: str, right: str) -> bool:
    """Whether ``right`` is ``wrong`` with other letter case, word for word."""
    return wrong.casefold() == right.casefold()


def _starts_sentence(text: str, tokens: list[_Token], index: int) -> bool:
    """Whether ``tokens[index]`` (of paragraph ``text``) begins a sentence: first in its
    paragraph, after one of draftcast's places (a timestamp link, a speaker's label), or
    where spaCy's rule-based sentencizer starts one (after ``.``, ``?``, ``!``, closing
    quotes included; not after ``Mr.``, ``Dr.``), an opening quote or bracket before it
    aside (``"Honestly``, ``(Honestly``)."""
    while index > 0 and tokens[index - 1].text in _OPENING:
        index -= 1
    if index == 0 or tokens[index - 1].text == _MARK:
        return True
    return tokens[index].start in _sentence_starts(text)


@lru_cache(maxsize=64)
def _sentence_starts(text: str) -> frozenset[int]:
    """Where spaCy's rule-based sentencizer starts the sentences of ``text`` (character
    offsets): a paragraph is read once, not once for each change in it."""
    return frozenset(sentence.start_char for sentence in _sentencizer()(text).sents)


@lru_cache(maxsize=1)
def _sentencizer() -> Any:
    """spaCy's English tokenizer with its rule-based sentencizer, made once."""
    nlp = import_spacy().blank("en")
    nlp.add_pipe("sentencizer")
    return nlp


def _common_words(wrong: str, right: str) -> bool:
    """Whether ``wrong`` → ``right``, a change of letter case alone, gives common words
    their capitals: every word of ``wrong`` one of spaCy's English stop words (not, the,
    us), or ``right`` all in capitals and every word of ``wrong`` a common English word
    (``_one_token_words``: huge → HUGE, great → GREAT; not tsmc → TSMC, nato → NATO)."""
    if _stop_words(wrong):
        return True
    return right.isupper() and all(word.casefold() in _one_token_words() for word in _WORD.findall(wrong))


def _stop_words(text: str) -> bool:
    """Whether every word of ``text`` is one of spaCy's English stop words (not, the, us)."""
    import_spacy()
    from spacy.lang.en.stop_words import STOP_WORDS

    return all(word.casefold() in STOP_WORDS for word in _WORD.findall(text))


@lru_cache(maxsize=1)
def _one_token_words() -> frozenset[str]:
    """The lower-case words (a-z) that are one token, a space before them, of whisper's
    multilingual vocabulary (whisper/assets/multilingual.tiktoken: byte-pair merges of
    what was frequent in its training text): great, huge, storms, ai; not tsmc, nato,
    nvidia, carton. Read from the file: importing whisper imports torch. Empty where
    the file is not found (then no word counts as common)."""
    import base64
    import importlib.util

    spec = importlib.util.find_spec("whisper")
    if spec is None or spec.origin is None:
        return frozenset()
    try:
        lines = (Path(spec.origin).parent / "assets" / "multilingual.tiktoken").read_text().split("\n")
    except OSError:
        return frozenset()
    tokens = (base64.b64decode(line.split()[0]) for line in lines if line.strip())
    return frozenset(token[1:].decode() for token in tokens if re.fullmatch(rb" [a-z]+", token))


def _name_like(right: str, wrong: str, *, sentence_start: bool = False) -> bool:
    """Whether a right form may be learned for a whole channel: Chinese (jieba's words
    already keep grammar out), or a name, acronym or model with a capital or a digit
    (TSMC, H100) in a word the change wrote (not in one it took along as it stood: ``The
    Barnes`` → ``The barn`` is no name), a sentence's first capital aside when the change
    starts one (``whether`` → ``Weather`` there is no name). A common word (blow → grow)
    would change that word everywhere, as would a correction of stop words alone (``and``
    → ``AMD``) or of a number (``20`` → ``25``, ``ten`` → ``10``)."""
    if _HAN.search(right):
        return True
    if _stop_words(wrong):  # and → AMD, us → USA would change every "and", every "us"
        return False
    if sentence_start:
        right = _uncapitalised(right)
    kept = set(_WORD.findall(wrong))
    written = [word for word in _WORD.findall(right) if word not in kept]
    # a number alone is a fact corrected (20 → 25), not a name misheard; a model's is (H100)
    return any(char.isupper() or (char.isdigit() and not _NUMBER.fullmatch(word)) for word in written for char in word)


def _misheard(wrong: str, right: str) -> bool:
    """Whether Chinese ``wrong`` may be what whisper heard for ``right``: they share a
    character, or at least MIN_HEARD_ALIKE of their toneless syllables (pypinyin) line up
    (王仁熏 → 黄仁勋, 新片 → 芯片, 海利是 → 海力士). A new user's rewrite, 可能难以持续 →
    恐怕不会长久, shares neither: an editor's choice of words, not a word misheard. Text
    without Chinese on both sides is not judged here."""
    if not (_HAN.search(wrong) and _HAN.search(right)):
        return True
    if set(_HAN.findall(wrong)) & set(_HAN.findall(right)):
        return True
    from pypinyin import lazy_pinyin

    heard, said = lazy_pinyin(wrong), lazy_pinyin(right)
    return difflib.SequenceMatcher(None, heard, said, autojunk=False).ratio() >= MIN_HEARD_ALIKE


def _widen(
    change: list[int],
    old: list[_Token],
    new: list[_Token],
    old_words: cleanup.WordSpans | None,
    new_words: cleanup.WordSpans | None,
    *,
    sure: bool,
) -> list[int]:
    """``change`` (token ranges i1, i2 in ``old``, j1, j2 in ``new``) grown over the equal
    Chinese characters beside it while one text has a word across its end. ``sure``: only
    words jieba is sure of count: nouns of its dictionary (马斯克 for 科 → 克), its other
    words at least half changed (伟达 for 因为 → 英伟; not 见了面 for 接 → 见), words its
    HMM made up more than half (黄仁勋 for 人宣 → 仁勋; not 丰则 for 四字封 → 苏姿丰, nor
    the misheard text's 宣罪)."""
    i1, i2, j1, j2 = change

    def span(tokens: list[_Token], a: int, b: int) -> tuple[int, int]:
        return (tokens[a].start, tokens[b - 1].end) if a < b else (0, 0)

    changed_old, changed_new = span(old, i1, i2), span(new, j1, j2)

    def across(at: int, words: cleanup.WordSpans | None, changed: tuple[int, int], grown: list[_Token]) -> bool:
        """Whether a word of ``words`` goes across offset ``at`` (``grown``: the change so far)."""
        for start, end, tag in words or ():
            if start < at < end:
                ours = max(0, min(end, changed[1]) - max(start, changed[0]))
                joined = any(t.text in _JOINERS and (t.end == start or t.start == end) for t in grown)  # 埃隆·马斯克
                # a noun of jieba's dictionary (马斯克, 芯片), another of its words at least half
                # changed (伟达 of 因为达 → 英伟达; not 见了面 of 接 → 见), one its HMM made up more than half
                mostly = 2 * ours >= end - start if tag else 2 * ours > end - start
                return not sure or joined or tag.startswith("n") or mostly
        return False

    def inside(i: int, j: int) -> bool:
        """Whether the place before old[i] and new[j] is inside a word of either text, or
        beside a joiner at an end of the change (埃隆· goes on to its 马斯克)."""
        if any(i1 <= k < i2 and old[k].text in _JOINERS for k in (i - 1, i)):
            return True
        if any(j1 <= k < j2 and new[k].text in _JOINERS for k in (j - 1, j)):
            return True
        at_old = old[i].start if i < len(old) else (old[-1].end if old else 0)
        at_new = new[j].start if j < len(new) else (new[-1].end if new else 0)
        return across(at_old, old_words, changed_old, old[i1:i2]) or across(at_new, new_words, changed_new, new[j1:j2])

    while i1 > 0 and j1 > 0 and old[i1 - 1].text == new[j1 - 1].text and _HAN.match(old[i1 - 1].text):
        if not inside(i1, j1):
            break
        i1, j1 = i1 - 1, j1 - 1
    while i2 < len(old) and j2 < len(new) and old[i2].text == new[j2].text and _HAN.match(old[i2].text):
        if not inside(i2, j2):
            break
        i2, j2 = i2 + 1, j2 + 1
    return [i1, i2, j1, j2]


def _joiners_only(tokens: list[_Token]) -> bool:
    """Whether a change added or removed joiners (·) and nothing else."""
    return bool(tokens) and all(t.text in _JOINERS for t in tokens)


def _too_short(tokens: list[_Token]) -> bool:
    """Whether one side of a Chinese change holds under MIN_HAN Chinese characters and no
    word of a spaced script (one character is grammar, not a name)."""
    han = sum(1 for t in tokens if _HAN.fullmatch(t.text))
    return 0 < han < MIN_HAN and not any(_WORD.fullmatch(t.text) for t in tokens)


def _with_name_around(change: list[int], old: list[_Token], new: list[_Token]) -> list[int]:
    """``change`` (as ``_widen``'s) grown over the capitalized words beside it that are
    the same in both texts, when it changes words of a spaced script: "Lisa Sue" → "Lisa
    Su" is learned whole, so a later "Sue" (another person) is left alone."""
    i1, i2, j1, j2 = change
    if any(_HAN.match(t.text) for t in old[i1:i2] + new[j1:j2]):
        return change

    def capital(token: _Token) -> bool:
        return bool(_WORD.fullmatch(token.text)) and token.text[0].isupper()

    while i1 > 0 and j1 > 0 and old[i1 - 1].text == new[j1 - 1].text and capital(old[i1 - 1]):
        i1, j1 = i1 - 1, j1 - 1
    while i2 < len(old) and j2 < len(new) and old[i2].text == new[j2].text and capital(old[i2]):
        i2, j2 = i2 + 1, j2 + 1
    return [i1, i2, j1, j2]


def _side(text: str, tokens: list[_Token]) -> str:
    """The text of one side of a change, spaces collapsed, or '' when it is no correction
    (see ``replacements``)."""
    words = sum(1 for t in tokens if _WORD.fullmatch(t.text))
    han = sum(1 for t in tokens if _HAN.fullmatch(t.text))
    others = [t for t in tokens if not _WORD.fullmatch(t.text) and not _HAN.fullmatch(t.text)]
    if not tokens or any(t.text not in _JOINERS for t in others) or not words + han:
        return ""
    if words > MAX_WORDS or han > MAX_HAN or (not words and han < MIN_HAN):
        return ""
    span = text[tokens[0].start : tokens[-1].end]
    return "" if "\n" in span else " ".join(span.split())


# jieba's tags of one-character words that are no part of a name: particles (的, 得, 了),
# adverbs (则), prepositions, conjunctions, modal particles, interjections, verbs (见, 说).
_GRAMMAR_TAGS = ("u", "d", "p", "c", "y", "e", "v")


def as_term(right: str) -> str:
    """A learned right form as a term of the channel's vocabulary: the one-character words
    of grammar or verbs jieba reads at its ends left off (英伟达得 → 英伟达, 魏哲家见 →
    魏哲家), or ``right`` as it is when that would leave under MIN_HAN characters (昇腾).
    An editor's correction may keep a particle of the text around the name, and as a
    vocabulary term it would be matched by sound where the right particle was written
    (a seventh new user's 英伟达的 "corrected" to 英伟达得)."""
    if not _HAN.search(right):
        return right
    words = [(w.word, w.flag) for w in cleanup.jieba_tagger().cut(right)]
    while len(words) > 1 and len(words[-1][0]) == 1 and words[-1][1].startswith(_GRAMMAR_TAGS):
        words.pop()
    while len(words) > 1 and len(words[0][0]) == 1 and words[0][1].startswith(_GRAMMAR_TAGS):
        words.pop(0)
    term = "".join(word for word, _ in words)
    return term if len(_HAN.findall(term)) >= MIN_HAN or not _HAN.search(term) else right


# ---------------------------------------------------------------- applying


def apply(text: str, rules: Mapping[str, str]) -> tuple[str, Counter[str]]:
    """``text`` with each wrong form of ``rules`` (wrong → right) written right, in one pass
    (a right form is never corrected again), longest first; and how often each wrong form
    was replaced. A wrong form's Latin ends match whole words only (``SMC`` is not changed
    in ``SMCX`` nor in ``TSMC``), case-sensitively; its Chinese ends match where they cut
    no word of jieba's dictionary in ``text`` (因为打 → 英伟达 leaves 因为打车 and 因为打折,
    as a new user's later drafts needed; a word jieba's HMM made up of misheard characters
    does not count: 黄人宣 is replaced in 黄人宣罪竟, cut 黄人|宣罪|竟), and spaces inside it
    match any run of spaces."""
    if not rules:
        return text, Counter()
    counts: Counter[str] = Counter()
    inside_words = _inside_known_words(text) if _HAN.search(text) else set()

    def replace(match: re.Match[str]) -> str:
        """The right form of the wrong one found, counted."""
        wrong = _by_group(match)
        if match.start() in inside_words or match.end() in inside_words:
            return match.group()
        counts[wrong] += 1
        return rules[wrong]

    wrongs = tuple(sorted(rules, key=lambda w: (-len(w), w)))
    pattern, _by_group = _pattern(wrongs)
    return pattern.sub(replace, text), counts


def _inside_known_words(text: str) -> set[int]:
    """The offsets of ``text`` inside a word of jieba's dictionary (between two of its characters)."""
    inside: set[int] = set()
    for start, end, tag in cleanup.word_spans(text) or ():
        if tag:  # a word of the dictionary
            inside.update(range(start + 1, end))
    return inside


@lru_cache(maxsize=32)
def _pattern(wrongs: tuple[str, ...]) -> tuple[re.Pattern[str], Any]:
    """One regex for all ``wrongs`` (one named group each), and the wrong form a match found."""
    parts = []
    for n, wrong in enumerate(wrongs):
        body = r"\s+".join(re.escape(part) for part in wrong.split())
        before = rf"(?<!{_WORD_CHAR})" if re.match(_WORD_CHAR, wrong) else ""
        after = rf"(?!{_WORD_CHAR})" if re.match(_WORD_CHAR, wrong[-1]) else ""
        parts.append(f"(?P<w{n}>{before}{body}{after})")

    def wrong_of(match: re.Match[str]) -> str:
        """The wrong form whose group matched."""
        return wrongs[int(match.lastgroup[1:])]  # type: ignore[index]

    return re.compile("|".join(parts)), wrong_of


def apply_transcript(transcript: Transcript, rules: Mapping[str, str]) -> Transcript:
    """``transcript`` with ``rules`` applied to each segment's text (``apply``), and what was
    applied in its ``corrected`` ("SMC → TSMC (2×)", in the order of ``rules``), which the
    draft's provenance comment shows. A segment where a common Chinese word was replaced
    (生疼 → 昇腾, taught where whisper wrote the word for the name) is flagged COMMON_WORD_CORRECTED:
    the word may have been said."""
    total: Counter[str] = Counter()
    segments = []
    for segment in transcript.segments:
        text, counts = apply(segment.text, rules)
        total.update(counts)
        common = [
            f"{COMMON_WORD_CORRECTED}: {wrong} → {rules[wrong]}: check" for wrong in counts if _common_word(wrong)
        ]
        flag = ", ".join(f for f in (segment.flag, *common) if f)
        segments.append(dataclasses.replace(segment, text=text, flag=flag) if counts else segment)
    if not total:
        return transcript
    applied = tuple(f"{wrong} → {right} ({total[wrong]}×)" for wrong, right in rules.items() if total[wrong])
    return dataclasses.replace(transcript, segments=tuple(segments), corrected=applied)


# ---------------------------------------------------------------- the store


class CorrectionStore:
    """The corrections learned from editors, and the drafts they were learned from: one JSON
    file at ``path`` (``Settings.corrections_path``), read anew by each call, changed under
    a file lock and written atomically. A file that cannot be read raises CorrectionError
    naming it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        empty = {"format": FORMAT, "corrections": [], "drafts": {}}
        self._file = JsonFile(
            path, empty=empty, listed="corrections", what="the learned corrections", error=CorrectionError
        )

    def learned(self, channel: str | None = None) -> list[Replacement]:
        """The corrections learned, in the order learned: every one (``channel`` None), or
        those of ``channel`` (a URL; '' for videos of no configured channel).

        Raises:
            CorrectionError: the file cannot be read.
        """
        try:
            every = [Replacement(**entry) for entry in self._file.read()["corrections"]]
        except TypeError as exc:
            raise CorrectionError(f"{self.path} holds a correction of another shape ({exc}): fix or remove it") from exc
        return every if channel is None else [r for r in every if r.scope == channel]

    def rules(self, channel: str) -> dict[str, str]:
        """The corrections applied in ``channel``'s videos (a URL; '' for videos of no
        configured channel): wrong → right, in the order learned, leaving out a wrong form
        learned with two right forms (``ambiguous``).

        Raises:
            CorrectionError: the file cannot be read.
        """
        learned = self.learned(channel)
        unclear = ambiguous(learned)
        return {r.wrong: r.right for r in learned if r.wrong not in unclear}

    def learn(self, channel: str, drafts: Mapping[Path, str]) -> list[str]:
        """Learn the corrections editors made in ``drafts`` (path → the text draftcast last
        wrote there; ``DraftStore.written``) for ``channel`` (a URL; ''). A draft is read
        again only once changed, a correction is learned from a draft once (one a person
        removed is not learned again from it), an editor who changes a corrected word back
        undoes that correction, and a wrong form given a second right form makes both
        ambiguous (listed, not applied). The drafts are only read. Returns lines for the log,
        one for each thing learned.

        Raises:
            CorrectionError: the file cannot be read or written.
        """
        return self._file.change(lambda data: self._learn(data, channel, drafts))

    def _learn(self, data: dict[str, Any], channel: str, drafts: Mapping[Path, str]) -> list[str]:
        lines: list[str] = []
        for path, written in drafts.items():
            try:
                stat = path.stat()
                seen = [stat.st_mtime_ns, stat.st_size]
                record = data["drafts"].setdefault(str(path), {"learned": []})
                if record.get("seen") == seen:
                    continue  # read before, unchanged since
                edited = path.read_text(encoding="utf-8")
            except FileNotFoundError:
                data["drafts"].pop(str(path), None)  # moved or deleted: nothing more to learn there
                continue
            except (OSError, UnicodeDecodeError) as exc:
                lines.append(f"{path.name}: cannot read it to learn corrections: {exc}")
                continue
            record["seen"] = seen
            taught = {e["right"] for e in data["corrections"] if e["scope"] == channel}
            names, back = _edits(written, edited, taught)
            for wrong, right in dict.fromkeys(names):
                if [wrong, right] not in record["learned"]:
                    record["learned"].append([wrong, right])
                    lines += _add(data, Replacement(wrong, right, channel, f"draft {path.name}", _today()))
            for wrong, right in dict.fromkeys(back):  # Barnes → barn
                change = Replacement(wrong, right, channel, f"draft {path.name}", _today())
                if undone := _undone([e for e in data["corrections"] if e["scope"] == channel], change):
                    lines += _forget(data, undone, change)
        return lines

    def forget(self, wrong: str, channel: str | None = None) -> list[Replacement]:
        """Forget the corrections of ``wrong`` (spaces aside, case-sensitive) learned for
        ``channel`` (a URL; None or '': videos of no configured channel). Returns those
        forgotten. Its drafts keep what they taught: the correction is not learned again
        from them.

        Raises:
            CorrectionError: none is learned there (the message says where it is), or the
                file cannot be read or written.
        """
        wanted, scope = " ".join(wrong.split()), channel or ""

        removed = [Replacement(**e) for e in self._file.remove(lambda e: (e["wrong"], e["scope"]) == (wanted, scope))]
        if not removed:
            elsewhere = sorted({r.scope for r in self.learned() if r.wrong == wanted})
            where = _where(channel)
            hint = (
                "; it is learned for " + ", ".join(s or "videos of no channel" for s in elsewhere) + " (--channel URL)"
                if elsewhere
                else ": draftcast vocabulary lists what was learned"
            )
            raise CorrectionError(f"no correction of {wrong!r} is learned {where}{hint}")
        return removed


def ambiguous(learned: Iterable[Replacement]) -> set[str]:
    """The wrong forms ``learned`` (of one scope) corrects to more than one right form."""
    rights: dict[str, set[str]] = {}
    for r in learned:
        rights.setdefault(r.wrong, set()).add(r.right)
    return {wrong for wrong, forms in rights.items() if len(forms) > 1}


def _add(data: dict[str, Any], new: Replacement) -> list[str]:
    """Keep ``new`` in ``data`` unless it is known; lines for the log."""
    entries = data["corrections"]
    mine = [e for e in entries if e["scope"] == new.scope]
    where = _where(new.scope)
    if any(e["wrong"] == new.wrong and e["right"] == new.right for e in mine):
        return []
    undone = _undone(mine, new)
    if not undone and _common_word(new.right) and any(e["right"] == new.wrong for e in mine):
        # A name editors taught, changed to a common word (昇腾 → 生疼): the name was written
        # where the word was said (matched by sound), a mistake of this place, not of the name.
        return [
            f"not learned: {new.wrong} → {new.right} ({new.source}) {where}: {new.wrong} is a name this channel's "
            f"editors taught and {new.right} a common word; only that draft says so"
        ]
    if undone:  # the editor changed a corrected word back (英伟达车 → 因为打车): that correction was wrong here
        return _forget(data, undone, new)
    entries.append(dataclasses.asdict(new))
    others = sorted({e["right"] for e in mine if e["wrong"] == new.wrong})
    if others:
        forms = " and ".join([*others, new.right])
        return [f"{new.wrong} is corrected to {forms} ({new.source}) {where}: ambiguous, not applied"]
    return [f"learned {new.wrong} → {new.right} from {new.source} {where}"]


def _undone(entries: list[dict[str, Any]], change: Replacement) -> list[dict[str, Any]]:
    """The corrections of ``entries`` that ``change`` takes back (``Barnes`` → ``barn``
    undoes ``barn`` → ``Barnes``, also as a sentence's ``Barn``; ``英伟达车`` → ``因为打车``
    undoes ``因为打`` → ``英伟达``): its wrong side with the correction's right form, a whole
    word outside Chinese (``Intelligence`` → ``intelligence`` does not undo ``intel`` →
    ``Intel``), put back is its right side."""
    found = []
    for entry in entries:
        if change.right == change.wrong or not _holds(change.wrong, entry["right"]):
            continue
        back = change.wrong.replace(entry["right"], entry["wrong"], 1)
        if back == change.right or _uncapitalised(back) == _uncapitalised(change.right):
            found.append(entry)
    return found


def _holds(text: str, form: str) -> bool:
    """Whether ``form`` stands in ``text``: anywhere in Chinese, else as whole words."""
    return form in text if _HAN.search(form) else _written(form, text)


def _forget(data: dict[str, Any], undone: list[dict[str, Any]], change: Replacement) -> list[str]:
    """Take ``undone`` out of ``data``, as ``change`` asks; lines for the log."""
    where = _where(change.scope)
    data["corrections"] = [e for e in data["corrections"] if e not in undone]
    return [
        f"forgot {e['wrong']} → {e['right']} {where}: {change.source} changes {change.wrong} back to {change.right}"
        for e in undone
    ]


def _where(scope: str | None) -> str:
    """How the log names a scope: "for URL", or "for videos of no channel"."""
    return f"for {scope}" if scope else "for videos of no channel"


def _common_word(text: str) -> bool:
    """Whether ``text`` is a common Chinese word: in jieba's dictionary with
    ``vocabulary.COMMON_WORD_FREQ`` or more (生疼, 因为; not 昇腾)."""
    from pipeline.vocabulary import COMMON_WORD_FREQ

    tokenizer = cleanup.jieba_tagger().tokenizer
    tokenizer.check_initialized()  # its dictionary is read on first use
    return bool(_HAN.search(text)) and tokenizer.FREQ.get(text, 0) >= COMMON_WORD_FREQ


def _today() -> str:
    return dt.date.today().isoformat()


def learn_from_drafts(store: DraftStore, corrections: CorrectionStore, channel: str) -> list[str]:
    """What ``corrections.learn`` learns from ``channel``'s drafts as ``store`` recorded
    them; lines for the log. Never raises: a store that cannot be read or written is one
    of the lines."""
    try:
        return corrections.learn(channel, store.written(channel))
    except (CorrectionError, sqlite3.Error) as error:
        return [f"no corrections learned from drafts: {error}"]
