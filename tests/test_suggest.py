"""Suggested tags and names: offline, deduplicated, in the post's script, marked."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import frontmatter

from pipeline import draft, suggest
from pipeline.config import load_settings
from pipeline.transcript import Segment, Transcript
from pipeline.video import VideoInfo

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
