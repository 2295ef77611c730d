"""Names spelled right: the names a video is likely to say steer the decoder, and a word
heard that sounds like one of them is corrected afterwards, with a flag for the editor.

- ``for_video``: the names draftcast knows (the ``[suggest]`` lists, the front matter of
  the blog's posts, the channel's ``vocabulary``) and the video's own (its tags, and the
  names in its title and description), ranked for this video: those its title,
  description and tags hold first, then the channel's, then the blog's most used.
- ``prompt``: the script prompt followed by as many of them as whisper's prompt holds.
- ``correct_segments``: after decoding, a span that sounds like a name likely for this
  video (the video's own or the channel's, not merely one the blog once used) is
  replaced by it and flagged. Mandarin by toneless pinyin (pypinyin), every syllable the
  same; English by spelling and sound (rapidfuzz, metaphone), for name-like words only.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import re
import threading
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pipeline import cleanup, models
from pipeline.choices import ChineseScript
from pipeline.config import MAX_TERM_CHARS
from pipeline.suggest import ENTITY_FIELDS, Known
from pipeline.transcript import Segment

log = logging.getLogger(__name__)

VIDEO, CHANNEL, BLOG = "video", "channel", "blog"  # where a term comes from, most likely first
MAX_TERMS = 300  # kept per video: more than any prompt holds, for the corrections
# Whisper keeps at most the last n_text_ctx // 2 - 1 tokens of a prompt (448 // 2 - 1 for
# every whisper model); a longer one would lose its start, the script prompt.
PROMPT_TOKENS = 223
# A span that is a word of jieba's dictionary this common is a word, never a misheard name.
# Measured: the dictionary's homophones of names are common words (谷歌~骨骼 619, 华为~化为
# 664, 中介~终结 412, 百度~摆渡 80, 小米~消弭 57, 三星~三行 47, 芯片~新片 21), while its
# spellings of names are rare (亚马逊~亚玛逊 2); names of three syllables or more have
# no homophone in it at all (海力士, 英伟达, 台积电, 黄仁勋, 埃隆马斯克, 高带宽内存).
COMMON_WORD_FREQ = 10
# English: a name-like span is replaced when its letters are this similar to a name
# (rapidfuzz's ratio, 0-100), and either sound the same (metaphone) or are similar enough
# alone. SMC~TSMC 85.7, Nvidea~Nvidia 83.3 (same sound), Elon Mask~Elon Musk 87.5 pass;
# Nadia~Nvidia 72.7, SMIC~TSMC 75, Grok~Groq 75, Apple~Ample 80 (other sounds) do not.
SIMILAR, SIMILAR_ALONE = 80.0, 85.0

_HANZI = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]+")
_CJK_CHAR = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]")
_DOTS = "·・‧"  # between the parts of a name in Chinese (‧ in Taiwan, ・ from Japanese input)
_SEPARATORS = re.compile(rf"[\s•\-{_DOTS}]")  # inside a name: 埃隆·马斯克 is said 埃隆马斯克
_LATIN_WORD = re.compile(r"[A-Za-z0-9]+(?:[-.][A-Za-z0-9]+)*")
# Latin words inside Chinese text have no \b before them (Chinese characters are \w too).
_CAMEL_OR_CODE = re.compile(
    r"(?<![A-Za-z0-9])(?:[A-Za-z]*[A-Z][a-z0-9]*[A-Z][A-Za-z0-9]*|[A-Za-z]+-?\d[A-Za-z0-9]*)(?![A-Za-z0-9])"
)
_CAPITALIZED_RUN = re.compile(r"(?<![A-Za-z0-9])[A-Z][a-z]+(?: [A-Z][a-z]+){1,2}(?![A-Za-z0-9])")
_SENTENCE_END = re.compile(r"[.!?。！？]\s*$")
# Capitalized words that start titles and sentences rather than names.
_NOT_NAMES_LISTED = """
a an and are as at be but by can could did do does for from had has have he her his how i if in
into is it its may me my new no not now of on or our she so than that the their them then there these
they this to up us was we were what when where which who why will with would you your
"""
_NOT_NAMES = frozenset(_NOT_NAMES_LISTED.split())


@dataclass(frozen=True)
class Term:
    """A name or term, as the blog spells it, and where it was found."""

    text: str
    source: str  # VIDEO (its title, description or tags), CHANNEL (its vocabulary) or BLOG

    @property
    def likely(self) -> bool:
        """Whether it is likely said in this video (its own or its channel's): only these
        correct what was heard."""
        return self.source != BLOG


@dataclass(frozen=True)
class Vocabulary:
    """The terms of one video, most likely first (``for_video``); empty: none."""

    terms: tuple[Term, ...] = ()

    def texts(self, language: str, script: str | None = None) -> tuple[str, ...]:
        """Every term usable in ``language``: in Chinese all, in ``script`` when given; in
        other languages those without CJK characters."""
        return _in_language([t.text for t in self.terms], language, script)

    def likely(self, language: str, script: str | None = None) -> tuple[str, ...]:
        """The likely terms usable in ``language``, as ``texts``."""
        return _in_language([t.text for t in self.terms if t.likely], language, script)


def _in_language(terms: Iterable[str], language: str, script: str | None) -> tuple[str, ...]:
    if cleanup.is_chinese(language):
        return tuple(_unique(in_script(t, script) if script else t for t in terms))
    return tuple(t for t in terms if not _CJK_CHAR.search(t))


def in_script(term: str, script: str) -> str:
    """``term`` in ``script``, unless it is written in that script already (hanzidentifier,
    from CC-CEDICT's character lists): OpenCC alone would write a listed 昇腾 (Huawei's
    Ascend) as 升腾 and a listed 台積電 as 臺積電."""
    import hanzidentifier

    written = hanzidentifier.identify(term)
    own = hanzidentifier.SIMPLIFIED if script == ChineseScript.SIMPLIFIED else hanzidentifier.TRADITIONAL
    return term if written in (own, hanzidentifier.BOTH) else cleanup.to_script(term, script)


def for_video(title: str, description: str, tags: Sequence[str], channel: Sequence[str], known: Known) -> Vocabulary:
    """The terms of one video, best first and without repeats (case and spacing aside), at
    most MAX_TERMS: the video's own first (``tags``; names the blog or ``channel`` knows
    that its ``title``, ``description`` or ``tags`` hold; names found in the title and
    description: words like TSMC, OpenAI or H100, two or three capitalized words in a row,
    and in Chinese the people, organisations and other proper nouns jieba tags), most
    mentioned first (the title counts twice); then ``channel`` (the channel's vocabulary,
    in its order); then the blog's names (``known``), those the most posts name first."""
    tags = [" ".join(t.split()) for t in tags if t.strip() and len(t) <= MAX_TERM_CHARS and "://" not in t]
    blog = sorted(
        _unique(n for field in ENTITY_FIELDS for n in known.of(field)), key=lambda n: -known.uses.get(n.casefold(), 0)
    )
    said = "\n".join((title, title, description, *tags))
    found = [
        *tags,
        *(n for n in _unique([*channel, *blog]) if _mentions(said, n)),
        *_names_in(f"{title}\n{description}"),
    ]
    mentions = Counter({n: _mentions(said, n) for n in _unique(found)})
    own = [n for n, _ in mentions.most_common()]  # stable: ties keep the order found
    terms = [Term(n, VIDEO) for n in own] + [Term(n, CHANNEL) for n in channel] + [Term(n, BLOG) for n in blog]
    seen: set[str] = set()
    kept = []
    for term in terms:
        key = " ".join(term.text.split()).casefold()
        if key and key not in seen:
            seen.add(key)
            kept.append(dataclasses.replace(term, text=" ".join(term.text.split())))
    if len(kept) > MAX_TERMS:
        log.warning(
            "%d names known for this video: the first %d are used (its own, then the channel's, then the blog's"
            " most used); %s and %d more are left out",
            len(kept), MAX_TERMS, kept[MAX_TERMS].text, len(kept) - MAX_TERMS - 1,
        )  # fmt: skip
    return Vocabulary(tuple(kept[:MAX_TERMS]))


def _unique(values: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    result = []
    for value in values:
        key = " ".join(value.split()).casefold()
        if key and key not in seen:
            seen.add(key)
            result.append(value)
    return result


def _mentions(text: str, name: str) -> int:
    """How often ``name`` is in ``text``: case aside, whole words for Latin names, in
    Simplified for Chinese ones."""
    if _CJK_CHAR.search(name):
        return cleanup.to_script(text, "zh-Hans").count(cleanup.to_script(name, "zh-Hans"))
    return len(re.findall(rf"(?<![a-z0-9-]){re.escape(name.casefold())}(?![a-z0-9-])", text.casefold()))


def _names_in(text: str) -> list[str]:
    """Names by their shape in a title or description: TSMC, OpenAI, H100, GPT-4o; two or
    three capitalized words in a row (Satya Nadella) that are not title words; in Chinese,
    jieba's people (nr), organisations (nt) and other proper nouns (nz) of two characters
    or more."""
    found = [w for w in _CAMEL_OR_CODE.findall(text) if len(w) >= 2]
    for run in _CAPITALIZED_RUN.findall(text):
        words = run.split()
        if not any(w.casefold() in _NOT_NAMES for w in words):
            found.append(" ".join(words))
    if _HANZI.search(text):
        tagger = cleanup.jieba_tagger()
        simplified = cleanup.to_script(text, "zh-Hans")
        found += [w for w, flag in tagger.cut(simplified) if len(w) >= 2 and flag in ("nr", "nrt", "nt", "nz")]
    return found


def prompt(base: str | None, terms: Sequence[str], language: str, *, multilingual: bool = True) -> str | None:
    """``base`` (the script prompt, or None) followed by as many of ``terms`` as fit, in
    order, in PROMPT_TOKENS tokens of whisper's tokenizer (``multilingual`` False: the
    English-only models' GPT-2 one), counted as whisper encodes a prompt (with a leading
    space). Chinese lists terms as 黄仁勋、海力士。, other languages as "Nvidia, TSMC.".
    None when there is neither."""
    encoding = models.whisper_tokenizer().get_encoding("multilingual" if multilingual else "gpt2")
    chinese = cleanup.is_chinese(language)

    def compose(chosen: list[str]) -> str:
        listed = ("、".join(chosen) + "。") if chinese else (", ".join(chosen) + ".")
        return ("" if chinese else " ").join(part for part in (base or "", listed if chosen else "") if part)

    def tokens(text: str) -> int:
        return len(encoding.encode(" " + text.strip(), disallowed_special=()))

    chosen: list[str] = []
    for term in terms:
        if tokens(compose([*chosen, term])) <= PROMPT_TOKENS:
            chosen.append(term)
    return compose(chosen) or None


def spelled_as_listed(text: str, terms: Sequence[str], script: str | None = None) -> str:
    """``text`` with each of ``terms`` written as listed where it is there with the same
    letters, in the same case, but other separators between them: whisper writes the
    vocabulary's 埃隆·馬斯克 as 埃隆馬斯克 at times, and "OpenAI" as "Open AI", "GPT-4" as
    "GPT 4"; with a Chinese ``script`` (the one ``text`` was converted to), also where
    OpenCC wrote the term's characters otherwise (臺積電 for a listed 台積電). Not flagged:
    the name is the same."""
    for converted, term in _opencc_forms(tuple(terms), script) if script else ():
        text = text.replace(converted, term)
    listed, spellings = _spellings(tuple(terms))
    if not listed:
        return text
    return spellings.sub(lambda match: listed[int(str(match.lastgroup)[1:])], text)


@lru_cache(maxsize=8)
def _opencc_forms(terms: tuple[str, ...], script: str) -> list[tuple[str, str]]:
    """(OpenCC's form, the term) for each of ``terms`` OpenCC writes otherwise in ``script``."""
    forms = [(cleanup.to_script(cleanup.to_script(t, ChineseScript.SIMPLIFIED), script), t) for t in terms]
    return [(converted, term) for converted, term in forms if converted != term]


@lru_cache(maxsize=8)
def _spellings(terms: tuple[str, ...]) -> tuple[list[str], re.Pattern[str]]:
    """The terms (longest first) and one pattern that finds each, group ``t<index>``,
    with or without separators between its letters."""
    between = _SEPARATORS.pattern + "?"
    listed = sorted((t for t in _unique(terms) if len(_SEPARATORS.sub("", t)) >= 2), key=len, reverse=True)
    alternatives = "|".join(
        f"(?P<t{i}>{between.join(re.escape(c) for c in _SEPARATORS.sub('', term))})" for i, term in enumerate(listed)
    )
    return listed, re.compile(f"(?<![A-Za-z0-9])(?:{alternatives})(?![A-Za-z0-9])")


# Whisper blends the prompt's names where the audio is hard: a fifth new user's list had
# 萨姆·奥尔特曼 then 埃隆·马斯克, and the draft read "萨隆·马斯克·能4他" for "埃隆·马斯克呢？他"
# (and "隆·馬斯克" elsewhere). A listed name's last part after another first part, or a
# listed name with a dot and more after it, is flagged: the sound match cannot tell.
ODD_NAME = "a name not as listed"


def odd_names(text: str, terms: Sequence[str]) -> list[str]:
    """Flags for the names of ``terms`` written otherwise in ``text``: a dotted term's
    last part after another part and a dot (萨隆·马斯克 for a listed 埃隆·马斯克), or a
    term followed by another dot (埃隆·马斯克·能). Chinese names only; [] when none."""
    flags: list[str] = []
    for term in _unique(terms):
        parts = re.split(f"[{_DOTS}]", term)
        if len(parts) < 2 or not all(_HANZI.fullmatch(part) for part in parts):
            continue
        before, last = parts[-2], parts[-1]
        for match in re.finditer(rf"([\u4e00-\u9fff]{{1,4}})[{_DOTS}]{re.escape(last)}", text):
            if not match.group(1).endswith(before):
                flags.append(f'{ODD_NAME}: "{match.group(1)[-len(before) :]}·{last}" (listed: {term}): check')
        for match in re.finditer(rf"{re.escape(term)}[{_DOTS}]+[^{_DOTS}\s]?", text):
            flags.append(f'{ODD_NAME}: "{match.group()}" (listed: {term}): check')
    return list(dict.fromkeys(flags))


# A name in the prompt pulls whisper toward it where a common word sounds alike: an eighth
# new user's 因为达到了 ("because it reached") came out 英伟达到了 with 英伟达 listed.
NAME_IN_WORD = "a listed name inside a word"


def names_inside_words(text: str, terms: Sequence[str]) -> list[str]:
    """Flags for the Chinese names of ``terms`` whose first or last character in ``text``
    is part of a word of jieba's dictionary that goes on past the name (英伟达到了, cut
    英伟|达到|了: 达到 is a word); [] when none. The name may be right (英伟达到2025年),
    so it is flagged for the editor, not changed."""
    spans = None
    flags: list[str] = []
    for term in _unique(terms):
        if not _HANZI.fullmatch(term) or len(term) < 2 or term not in text:
            continue
        spans = spans if spans is not None else cleanup.word_spans(text) or []
        for match in re.finditer(re.escape(term), text):
            for start, end, tag in spans:
                cut = start < match.start() < end or start < match.end() < end
                if tag and cut:  # a word of the dictionary
                    whole = text[min(start, match.start()) : max(end, match.end())]
                    flags.append(f'{NAME_IN_WORD}: "{whole}" ({term} + {text[start:end]}): listen')
    return list(dict.fromkeys(flags))


# Whisper copies its prompt where the audio is hard: with a channel's nine names in the
# prompt, a new user's draft read "萨姆·萨姆·萨姆·奥尔特曼、萨姆·奥尔特曼、萨姆·奥尔特曼。"
# where "埃隆·马斯克表示，" was said, and with four names "萨姆·萨姆·奥尔特曼、埃隆·马斯克表述。".
# A run of listed names (or their parts) with nothing but separators between them is that
# copy when one name (a name and a part of it count as one) is heard twice with no pause
# between ("萨姆·萨姆", "英伟达、英伟达") or twice among NAME_LOOP_ITEMS or more: nobody says
# a name like that. It is removed and flagged, with what was removed.
NAME_LOOP = "the decoder's vocabulary written as speech, removed"
NAME_LOOP_ITEMS = 3
# A run of this many listed names in the prompt's own order may be the list copied once
# (with twelve names, "不过，" came out as "埃隆·马斯克、英特尔、超微半导体。", three names in
# a row of the prompt); it may also be said ("微软、谷歌、亚马逊和…"), so it is only flagged.
PROMPT_ORDER_RUN = 3
PROMPT_ORDER = "names in the vocabulary's order: check they were said"
_RUN_SEPARATOR = rf"[、，,{_DOTS}\s]*"


def without_name_loops(text: str, terms: Sequence[str]) -> tuple[str, list[str]]:
    """``text`` without the runs of ``terms`` (the names in the decoder's prompt, in its
    order) that are the prompt copied rather than speech (a name heard twice with no pause
    between, or twice among NAME_LOOP_ITEMS or more names or parts of names), and the
    flags for the editor: NAME_LOOP with what was removed, PROMPT_ORDER where
    PROMPT_ORDER_RUN names follow the prompt's order."""
    term_of: dict[str, int] = {}
    parts_of = [[part for part in re.split(rf"[\s{_DOTS}]+", term) if part] for term in terms]
    for index, term in enumerate(terms):
        for part in (term, *parts_of[index]):
            term_of.setdefault(part, index)
    if not term_of:
        return text, []
    item = "|".join(re.escape(part) for part in sorted(term_of, key=len, reverse=True))
    bounded = f"(?<![A-Za-z0-9])(?:{item})(?![A-Za-z0-9])"
    runs = re.compile(f"{bounded}(?:{_RUN_SEPARATOR}{bounded})+")
    flags: list[str] = []
    removed: list[str] = []

    def heard_in(run: str) -> list[tuple[int, int, int, bool]]:
        """The names heard in ``run``: (term, start, end, whole); parts of one name in its
        order (埃隆马斯克, the dot left out) are that name once."""
        heard: list[tuple[int, int, int, bool]] = []
        last_part = ""
        for found in re.finditer(bounded, run):
            term, said = term_of[found.group()], found.group()
            parts = parts_of[term]
            follows = last_part in parts and parts[parts.index(last_part) + 1 :][:1] == [said]
            if heard and heard[-1][0] == term and follows:
                heard[-1] = (term, heard[-1][1], found.end(), said == parts[-1])
                last_part = said
                continue
            heard.append((term, found.start(), found.end(), said == terms[term]))
            last_part = said
        return heard

    def judged(match: re.Match[str]) -> str:
        run = match.group()
        heard = heard_in(run)
        said = [term for term, *_ in heard]
        # "英伟达，英伟达的芯片" may be said (a pause between); "萨姆·萨姆·奥尔特曼" and
        # "英伟达、英伟达" are not: one name twice with no pause between.
        twice_at_once = any(
            a[0] == b[0] and not re.search(r"[，,]", run[a[2] : b[1]]) for a, b in itertools.pairwise(heard)
        )
        if twice_at_once or (len(said) >= NAME_LOOP_ITEMS and len(set(said)) < len(said)):
            # From the first to the last of the names heard twice; a name before or after
            # them in the run is kept ("萨姆·萨姆·奥尔特曼、埃隆·马斯克表述" for "埃隆·马斯克表示").
            repeated = [heard[i] for i, term in enumerate(said) if said.count(term) > 1]
            start, end = repeated[0][1], repeated[-1][2]
            after = re.match(_RUN_SEPARATOR, run[end:])
            end += after.end() if after and end < len(run) else 0
            removed.append(run[start:end].strip("、，,· "))
            before, rest = run[:start], run[end:]
            return before + rest if rest else before.rstrip("、，,·・‧ ")
        positions = [term for term, _, _, whole in heard if whole]
        in_order = max((len(chain) for chain in _consecutive(positions)), default=0)
        if in_order >= PROMPT_ORDER_RUN:
            flags.append(f'{PROMPT_ORDER}: "{run.strip()}"')
        return run

    text = runs.sub(judged, text)
    if removed:
        text = re.sub(r"^[、，,。.\s]+|(?<=[。，,.])[、，,。.]+", "", text)
        text = re.sub(r"\s{2,}", " ", text).strip()
        flags.insert(0, NAME_LOOP + ": " + "; ".join(f'"{run}"' for run in removed) + ": listen to what was said")
    return text, [re.sub("-{2,}", "–", flag) for flag in flags]


def _consecutive(positions: list[int]) -> list[list[int]]:
    """``positions`` cut where one is not the one before plus one: [3, 4, 5, 1] → [[3, 4, 5], [1]]."""
    runs: list[list[int]] = []
    for position in positions:
        if runs and position == runs[-1][-1] + 1:
            runs[-1].append(position)
        else:
            runs.append([position])
    return runs


@dataclass(frozen=True)
class Correction:
    """A span heard as ``heard`` written as the name ``term``."""

    heard: str
    term: str

    @property
    def flag(self) -> str:
        """The editor's flag (inside the draft's HTML comment, so never ``--``)."""
        return re.sub("-{2,}", "–", f"name corrected: {self.heard} → {self.term} (sounds alike): check")


def correct_segments(segments: Iterable[Segment], likely: Sequence[str], known: Collection[str]) -> tuple[Segment, ...]:
    """``segments`` with each span that sounds like one of the ``likely`` terms written as
    that term, and flagged (``Correction.flag``); ``known``: every term of the vocabulary
    (a span that is one of them is left as it is). See ``correct``."""
    result = []
    for segment in segments:
        text, corrections = correct(segment.text, likely, known)
        if corrections:
            said = Counter(c.flag for c in corrections)  # one flag for a name corrected twice, "(2×)"
            made = [flag if times == 1 else f"{flag} ({times}×)" for flag, times in said.items()]
            segment = dataclasses.replace(segment, text=text, flag=", ".join(r for r in (segment.flag, *made) if r))
        result.append(segment)
    return tuple(result)


def correct(text: str, likely: Sequence[str], known: Collection[str] = ()) -> tuple[str, tuple[Correction, ...]]:
    """``text`` with the spans that sound like a ``likely`` term replaced by it, and what
    was replaced, left to right. A span is never one of ``known`` (the vocabulary's terms)
    and never a common word. Mandarin terms (Chinese characters only, two or more): the
    span has as many characters, each with the term's syllable among its readings, tones
    aside; it is no word of jieba's dictionary with COMMON_WORD_FREQ or more, and it stays
    one word when jieba reads the text with it as a (rare) word, so it does not take the
    end of one word and the start of the next (集中接受 has no 中介). English terms: the
    span is one to (words + 1) name-like words (capitalized, or with digits; in a text
    without Chinese, a lone capitalized word that starts a sentence is not taken), its
    letters SIMILAR to the term's and either sounding alike (metaphone) or SIMILAR_ALONE,
    at most one letter more or fewer (two for names of eight letters or more). A span
    two terms fit equally is left."""
    known_keys = {_key(k) for k in known} | {_hanzi_key(k) for k in known if _hanzi_key(k)}
    chinese_terms = [t for t in _unique(likely) if len(_hanzi_key(t)) >= 2 and _hanzi_key(t) == _SEPARATORS.sub("", t)]
    latin_terms = [t for t in _unique(likely) if not _CJK_CHAR.search(t) and len(_key(t)) >= 3]
    found = _mandarin_spans(text, chinese_terms, known_keys) + _english_spans(text, latin_terms, known_keys)
    chosen: list[tuple[int, int, str, float]] = []
    for start, end, term, score in sorted(found, key=lambda f: (-f[3], -(f[1] - f[0]), f[0])):
        rivals = [f for f in found if (f[0], f[1]) == (start, end) and f[2] != term and f[3] == score]
        if not rivals and all(end <= s or start >= e for s, e, _, _ in chosen):
            chosen.append((start, end, term, score))
    corrections = []
    for start, end, term, _ in sorted(chosen, reverse=True):
        corrections.append(Correction(text[start:end], term))
        text = text[:start] + term + text[end:]
    return text, tuple(reversed(corrections))


def _key(text: str) -> str:
    return re.sub(r"[\W_]+", "", text).casefold()


def _hanzi_key(text: str) -> str:
    return "".join(_HANZI.findall(text))


Span = tuple[int, int, str, float]  # start, end (characters), the term, how close (0-100)


def _mandarin_spans(text: str, terms: Sequence[str], known_keys: set[str]) -> list[Span]:
    if not terms or not _HANZI.search(text):
        return []
    from pypinyin import lazy_pinyin

    wanted = [(term, lazy_pinyin(_hanzi_key(term))) for term in terms]  # a name's own reading
    found = []
    for run in _HANZI.finditer(text):
        readings = [_readings(char) for char in run.group()]
        for term, syllables in wanted:
            size = len(syllables)
            for i in range(len(readings) - size + 1):
                if all(syllables[k] in readings[i + k] for k in range(size)):
                    start, end = run.start() + i, run.start() + i + size
                    heard = text[start:end]
                    if heard != _hanzi_key(term) and heard not in known_keys and _reads_as_word(text, start, end):
                        found.append((start, end, term, 100.0))
    return found


@lru_cache(maxsize=4096)
def _readings(char: str) -> frozenset[str]:
    """Every toneless reading of one Chinese character (whisper picks characters by sound,
    whichever reading)."""
    from pypinyin import Style, pinyin

    return frozenset(pinyin(char, style=Style.NORMAL, heteronym=True)[0])


_JIEBA_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _jieba() -> Any:
    """A tokenizer of its own: words are added to it for a moment (jieba's global one is
    left alone)."""
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    return tokenizer


def _reads_as_word(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` (Chinese characters) is not a common word, and is one
    word when jieba reads ``text`` (in Simplified) with it as a word of COMMON_WORD_FREQ."""
    simplified = cleanup.to_script(text, "zh-Hans")
    if len(simplified) != len(text):
        return False  # OpenCC changed the length: positions no longer match
    span = simplified[start:end]
    tokenizer = _jieba()
    with _JIEBA_LOCK:
        saved, total = tokenizer.FREQ.get(span), tokenizer.total
        if (saved or 0) >= COMMON_WORD_FREQ:
            return False
        tokenizer.add_word(span, freq=COMMON_WORD_FREQ)
        try:
            words = list(tokenizer.cut(simplified, HMM=False))
        finally:
            if saved is None:
                del tokenizer.FREQ[span]
            else:
                tokenizer.FREQ[span] = saved
            tokenizer.total = total
    bounds, position = {0}, 0
    for word in words:
        position += len(word)
        bounds.add(position)
    return start in bounds and end in bounds


def _english_spans(text: str, terms: Sequence[str], known_keys: set[str]) -> list[Span]:
    if not terms:
        return []
    import jellyfish
    from rapidfuzz import fuzz

    words = list(_LATIN_WORD.finditer(text))
    chinese = bool(_HANZI.search(text))
    found = []
    for term in terms:
        key, size = _key(term), len(term.split())
        sound = jellyfish.metaphone(key)
        for count in range(max(1, size - 1), size + 2):
            for first in range(len(words) - count + 1):
                run = words[first : first + count]
                if any(text[a.end() : b.start()].strip() for a, b in itertools.pairwise(run)):
                    continue  # only words with nothing but spaces between them
                heard = text[run[0].start() : run[-1].end()]
                heard_key = _key(heard)
                if heard_key == key or heard_key in known_keys or not _name_like(text, run, chinese):
                    continue
                if abs(len(heard_key) - len(key)) > (1 if len(key) < 8 else 2):
                    continue
                score = fuzz.ratio(heard_key, key)
                if score >= SIMILAR_ALONE or (score >= SIMILAR and jellyfish.metaphone(heard_key) == sound):
                    found.append((run[0].start(), run[-1].end(), term, score))
    return found


def _name_like(text: str, run: list[re.Match[str]], chinese: bool) -> bool:
    """Every word capitalized or with a digit, and not all of them numbers (the 100 of
    "100,000 people" is no H100); a lone word with only its first letter capitalized
    does not start a sentence (in English text; in Chinese, a Latin word is a name
    wherever it is)."""
    if not all(w.group()[0].isupper() or w.group()[0].isdigit() for w in run):
        return False
    if all(w.group().isdigit() for w in run):
        return False
    word = run[0].group()
    plain = len(run) == 1 and word[1:].islower()
    return chinese or not plain or not (run[0].start() == 0 or _SENTENCE_END.search(text[: run[0].start()]))
