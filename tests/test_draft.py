"""Drafts: golden files, front matter that survives hostile text, writes that lose nothing."""

from __future__ import annotations

import datetime as dt
import json
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import frontmatter
import pytest
import yaml

from pipeline import captions, cleanup, draft
from pipeline.config import load_settings
from pipeline.draft import Outcome
from pipeline.errors import ConfigError, OutputError
from pipeline.store import DraftStore, locked
from pipeline.transcript import Segment, Transcript, Voice
from pipeline.video import Chapter, VideoInfo
from tests.conftest import HOSTILE

GOLDEN = Path(__file__).parent / "golden"
TODAY = dt.date(2026, 1, 15)


def _load_case(case: Path) -> tuple[VideoInfo, Transcript]:
    video = VideoInfo.from_dict(json.loads((case / "video.json").read_text(encoding="utf-8")))
    transcript = Transcript.from_json((case / "transcript.json").read_text(encoding="utf-8"))
    return video, transcript


def _video(**changes: object) -> VideoInfo:
    base = {
        "id": "abc123", "extractor": "youtube", "title": "A talk", "uploader": "Uploader", "channel_url": "",
        "upload_date": "2025-10-28", "duration": 12.0, "webpage_url": "https://www.youtube.com/watch?v=abc123",
        "description": "", "tags": [], "chapters": [],
    }  # fmt: skip
    return VideoInfo.from_dict({**base, **changes})


def _transcript(*texts: str, language: str = "en") -> Transcript:
    segments = tuple(Segment(float(i * 5), float(i * 5 + 4), text) for i, text in enumerate(texts))
    return Transcript(language, "tiny.en", "openai-whisper", 5.0 * len(texts), segments)


@pytest.mark.parametrize("case", sorted(p for p in GOLDEN.iterdir() if p.is_dir()), ids=lambda p: p.name)
def test_golden(case: Path) -> None:
    """Transcript JSON in, draft out: the expected file's name and content, byte for byte."""
    video, transcript = _load_case(case)
    settings = load_settings(GOLDEN / "draftcast.toml")
    text = draft.compose(video, transcript, settings=settings, speaker=None, today=TODAY)
    expected = [p for p in case.glob("*.md")]
    if os.environ.get("UPDATE_GOLDEN"):
        for old in expected:
            old.unlink()
        (case / draft.file_name(video, frontmatter.loads(text)["date"])).write_text(text, encoding="utf-8")
        pytest.skip("golden file rewritten")
    assert len(expected) == 1, f"{case} needs exactly one expected .md (UPDATE_GOLDEN=1 writes it)"
    assert expected[0].name == draft.file_name(video, frontmatter.loads(text)["date"])
    assert text == expected[0].read_text(encoding="utf-8")


def test_front_matter_has_the_blogs_fields_in_order_and_types() -> None:
    video, transcript = _load_case(GOLDEN / "english-chapters")
    settings = load_settings(GOLDEN / "draftcast.toml")
    post = frontmatter.loads(draft.compose(video, transcript, settings=settings, speaker=None, today=TODAY))
    published = frontmatter.loads((Path(__file__).parent / "golden" / "published-front-matter.md").read_text())
    assert list(post.metadata) == list(published.metadata) == list(draft.SCHEMA)
    for name in draft.SCHEMA:
        assert type(post[name]) is type(published[name]), name
    assert post["draft"] is True and post["date"] == "2025-10-22" and post["layout"] == "post.njk"
    assert post["source"] == "https://www.youtube.com/watch?v=Lpp-D6UqNW8"
    assert post["tags"][:2] == ["AI", "semiconductors"]  # then suggestions


def test_speaker_is_the_option_else_the_channels_else_the_uploader() -> None:
    settings = load_settings(GOLDEN / "draftcast.toml")
    transcript = _transcript("Hello there.")
    ours = _video(channel_url="https://www.youtube.com/@BestPartners/videos")
    other = _video(uploader="Someone Else")

    def speaker(video: VideoInfo, given: str | None) -> str:
        text = draft.compose(video, transcript, settings=settings, speaker=given, today=TODAY)
        return frontmatter.loads(text)["speaker"]

    assert speaker(ours, "Gavin Baker") == "Gavin Baker"
    assert speaker(ours, None) == "Best Partners TV"
    assert speaker(other, None) == "Someone Else"


@pytest.mark.parametrize("field", ["title", "summary", "speaker"])
def test_hostile_metadata_reads_back_exactly(field: str) -> None:
    hostile_strings = [
        HOSTILE,
        "---\ntitle: injected\n---",
        "  leading and trailing spaces  ",
        "line with trailing space \nnext",
        "tab\there, NUL-free control \x1b[31m red",
        "'single' \"double\" `back` \\ backslash",
        "{{ site.title }} {% include 'x' %} {# c #}",
        "😀 emoji 🇨🇳 中文标题：测试 — dash",
        "yes",
        "2025-10-28",
        "null",
        "@at &anchor *alias !tag %percent | > ?",
    ]
    for value in hostile_strings:
        video = _video(title=value if field == "title" else "t", description=value if field == "summary" else "")
        text = draft.compose(
            video, _transcript("Hi."), settings=load_settings(GOLDEN / "draftcast.toml"),
            speaker=value if field == "speaker" else None, today=TODAY,
        )  # fmt: skip
        assert yaml.safe_load(text.split("\n---\n")[0].removeprefix("---\n"))[field] == value
        assert frontmatter.loads(text)[field] == value, repr(value)


# Strings a YAML 1.1 reader (PyYAML) or a YAML 1.2 reader (js-yaml, Eleventy's) could take
# for something else, or read back changed, if written unquoted or unescaped.
YAML_HOSTILE = [
    # numbers as YAML 1.2 (js-yaml) reads them
    "1e3", "1E3", "-1e-3", "+2.5e+4", ".5", "-.5e2", "1.", "0o14", "0o7_7", "0x1F", "-0xff", "0b1010",
    "08", "012", "0", "-0", "+12", "1_000", "3.14_15", ".inf", "-.Inf", "+.INF", ".nan", ".NaN", ".NAN",
    # numbers only YAML 1.1 reads: sexagesimal, underscores
    "1:20", "190:20:30.15", "-1:30", "0b1_0", "0x_1F", "1_000.5",
    # booleans and nulls, YAML 1.1 and 1.2, in any case
    "true", "False", "TRUE", "tRuE", "yes", "No", "ON", "off", "y", "N", "~", "null", "Null", "NULL", "nUlL",
    # timestamps
    "2025-10-28", "2025-1-2 3:04:05", "2001-12-14t21:59:43.10-05:00", "2001-12-14 21:59:43.10 Z",
    # indicators and syntax
    "*alias", "&anchor", "!tag", "!!int 3", "@handle", "%YAML 1.2", "|literal", ">folded", "`tick", "#hash",
    "- item", "? key", ": value", "<<", "=", "[1, 2]", "{a: 1}", "'quoted'", '"quoted"', "a: b", "a #b", "---",
    "...",
    # whitespace, line breaks YAML 1.1 and 1.2 disagree on, control and invisible characters
    "tab\there", "\tleading tab", "trailing tab\t", " lead", "trail ", "a\u2028b", "a\u2029b", "a\x85b",
    "\u2028", "line\nbreak", "two\n\nbreaks\n", "\n leading newline", "  indented\nblock",
    "mixed\nline\u2028sep\x85", "cr\r\nlf", "\ufeffbom", "nbsp\u00a0x", "zero\u200bwidth", "esc \x1b[31m red",
    "🎉 emoji", "中文：标题",
]  # fmt: skip


def hostile_yaml_draft(value: str, video_id: str = "abc123") -> str:
    """A draft whose title, summary, speaker and one tag are ``value``."""
    video = _video(id=video_id, title=value, description=value, tags=[value])
    settings = load_settings(GOLDEN / "draftcast.toml")
    return draft.compose(video, _transcript("Hi."), settings=settings, speaker=value, today=TODAY)


@pytest.mark.parametrize("value", YAML_HOSTILE, ids=ascii)
def test_strings_any_yaml_reader_could_misread_read_back_exactly(value: str) -> None:
    """python-frontmatter reads them back (js-yaml: tests/test_blog_build.py)."""
    post = frontmatter.loads(hostile_yaml_draft(value))
    assert (post["title"], post["summary"], post["speaker"]) == (value, value, value)
    assert value in post["tags"]


def test_the_body_keeps_template_and_html_syntax_inert() -> None:
    video, transcript = _load_case(GOLDEN / "hostile")
    text = draft.compose(
        video, transcript, settings=load_settings(GOLDEN / "draftcast.toml"), speaker=None, today=TODAY
    )
    body = frontmatter.loads(text).content
    assert "{{" not in body and "{%" not in body and "<script" not in body and "<img" not in body
    assert "&#123;{ site.title }}" in body  # shown as written once Markdown decodes the entity
    assert "\n# two" not in body  # a newline in a chapter title cannot start a heading


def test_user_templates_render_in_a_sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    template = tmp_path / "evil.md.j2"
    template.write_text("{{ video.__class__.__init__.__globals__ }}")
    monkeypatch.setenv("DRAFTCAST_TEMPLATE", str(template))
    with pytest.raises(ConfigError, match=r"evil\.md\.j2"):
        draft.compose(_video(), _transcript("Hi."), settings=load_settings(), speaker=None, today=TODAY)


def test_unknown_or_mistyped_front_matter_defaults_are_refused(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[front_matter]\ncatgory = "typo"\n')
    with pytest.raises(ConfigError, match="'catgory' is not a field"):
        draft.compose(_video(), _transcript("Hi."), settings=load_settings(config), speaker=None, today=TODAY)
    config.write_text("[front_matter]\ndraft = false\nlayout = 3\n")
    with pytest.raises(ConfigError, match="'layout' must be a str"):
        draft.compose(_video(), _transcript("Hi."), settings=load_settings(config), speaker=None, today=TODAY)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"title": "Café Society: Résumé & Naïveté"}, "2025-10-28-cafe-society-resume-naivete-abc123.md"),
        ({"title": "贝克深度访谈：AI十年内实现ASI"}, "2025-10-28-abc123.md"),
        ({"title": "x" * 500}, "2025-10-28-" + "x" * 45 + "-abc123.md"),
        ({"upload_date": None}, "2026-01-15-a-talk-abc123.md"),
    ],
)
def test_file_names(changes: dict[str, object], expected: str) -> None:
    video = _video(**changes)
    text = draft.compose(video, _transcript("Hi."), settings=load_settings(), speaker=None, today=TODAY)
    assert draft.file_name(video, frontmatter.loads(text)["date"]) == expected


@pytest.mark.parametrize(
    "video_id", ["../../etc/passwd", "/abs/path", "a\x00b", "con", "\u202eevil", "x" * 100_000, "ＡＢＣ"]
)
def test_file_names_stay_safe_for_hostile_ids(video_id: str) -> None:
    name = draft.file_name(_video(id=video_id, extractor="generic", title="\u202e/../" + "t" * 1000), "2025-10-28")
    assert name.isascii() and "/" not in name and "\\" not in name and "\x00" not in name and ".." not in name
    assert len(name) <= 90 and name.startswith("2025-10-28-") and name.endswith(".md")


def test_distinct_videos_with_one_title_get_distinct_names() -> None:
    first = draft.file_name(_video(id="aaa"), "2025-10-28")
    second = draft.file_name(_video(id="bbb"), "2025-10-28")
    assert first != second


def test_paragraphs_follow_pauses_and_sentences() -> None:
    sentence = "This sentence has a reasonable number of words in it for a paragraph test."
    segments = tuple(Segment(i * 5.0, i * 5.0 + 4.9, sentence) for i in range(12))
    gap = (Segment(70.0, 74.0, "After a long pause, a new thought begins."),)
    paragraphs = draft.paragraphs(segments + gap, "en")
    assert all(len(p.text) <= 1200 for p in paragraphs)
    assert 2 <= len(paragraphs) <= 4
    assert paragraphs[0].start == 0.0 and " This sentence" in paragraphs[0].text


def test_mandarin_paragraphs_join_without_spaces() -> None:
    segments = (Segment(0, 2, "大家好。"), Segment(2, 4, "今天聊芯片。"))
    assert draft.paragraphs(segments, "zh")[0].text == "大家好。今天聊芯片。"


def test_a_paragraph_that_stops_on_a_conjunction_ends_a_sentence() -> None:
    """A line ending on 不过 is set "不过，" (the next goes on); where a long pause or
    another voice ends the paragraph there, it ends with 。."""
    segments = (Segment(0, 2, "大家好。"), Segment(2, 4, "不过，"), Segment(30, 32, "今天聊芯片。"))
    assert [p.text for p in draft.paragraphs(segments, "zh")] == ["大家好。不过。", "今天聊芯片。"]
    assert draft.paragraphs((*segments[:2], Segment(4.2, 6, "数据安全。")), "zh")[0].text == "大家好。不过，数据安全。"


@pytest.mark.parametrize("pause", [3.0, 20.0])
def test_a_pause_of_three_seconds_or_more_always_starts_a_paragraph(pause: float) -> None:
    before = (Segment(0.0, 2.0, "So we were talking about chips"), Segment(2.5, 4.0, "and"))  # short, unfinished
    after = Segment(4.0 + pause, 6.0 + pause, "Now, the second topic.")
    paragraphs = draft.paragraphs((*before, after), "en")
    assert [p.text for p in paragraphs] == ["So we were talking about chips and", "Now, the second topic."]
    assert paragraphs[1].start == 4.0 + pause
    assert len(draft.paragraphs((*before, Segment(6.9, 8.0, "Now, the second topic.")), "en")) == 1  # 2.9 s


@pytest.mark.parametrize(
    ("texts", "language", "joined"),
    [
        (["广州市 佛地产 中建协会分析"], "zh", "广州市佛地产中建协会分析"),  # spaces whisper left in a segment
        (["广州市", "佛地产 中建", "协会分析。"], "zh", "广州市佛地产中建协会分析。"),  # across windows
        (["广州市", "佛地产"], "en", "广州市佛地产"),  # whatever language was detected
        (["你好， ", " 世界！", "再见。"], "zh", "你好，世界！再见。"),  # CJK punctuation is CJK too
        (["我们用 GPU 训练", "模型。"], "zh", "我们用 GPU 训练模型。"),  # Chinese and Latin keep their space
        (["我们用", "GPU 训练"], "zh", "我们用 GPU 训练"),
        (["こんにちは", "世界、 テスト"], "ja", "こんにちは世界、テスト"),
        (["안녕 하세요", "여러분"], "ko", "안녕 하세요 여러분"),  # Korean spaces its words
        (["Hello there.", " General Kenobi. "], "en", "Hello there. General Kenobi."),
        (["สวัสดี", "ครับ"], "th", "สวัสดีครับ"),
    ],
)
def test_segment_texts_join_by_one_rule(texts: list[str], language: str, joined: str) -> None:
    assert cleanup.join_text(texts, language) == joined
    segments = tuple(Segment(float(i), i + 0.9, text) for i, text in enumerate(texts))
    assert draft.paragraphs(segments, language)[0].text == joined
    assert Transcript(language, "base", "openai-whisper", 9.0, segments).text == joined


def test_chinese_sidecars_have_no_spaces_between_characters(tmp_path: Path) -> None:
    segments = (Segment(0.0, 2.0, "广州市 佛地产"), Segment(2.0, 4.0, "中建协会分析。"))
    transcript = Transcript("zh", "base", "openai-whisper", 4.0, segments)
    srt, vtt, txt = captions.write_sidecars(transcript, tmp_path / "transcript.json")
    assert txt.read_text(encoding="utf-8") == "广州市佛地产中建协会分析。\n"
    for cues in (srt, vtt):
        assert "\n广州市佛地产\n" in cues.read_text(encoding="utf-8")


# ------------------------------------------------------------------ writing


def _write(tmp_path: Path, text: str, video: VideoInfo | None = None, rewrite: bool = False) -> draft.DraftResult:
    store = DraftStore(tmp_path / "store.sqlite")
    return draft.write_draft(text, video=video or _video(), out_dir=tmp_path / "out", store=store, rewrite=rewrite)


def _text(body: str = "Hi.") -> str:
    return draft.compose(_video(), _transcript(body), settings=load_settings(), speaker=None, today=TODAY)


def test_write_then_rerun_is_unchanged_and_updates_only_unedited_drafts(tmp_path: Path) -> None:
    first = _write(tmp_path, _text())
    assert first.outcome is Outcome.WRITTEN and first.path.read_text() == _text()
    assert _write(tmp_path, _text()).outcome is Outcome.UNCHANGED
    updated = _write(tmp_path, _text("Hello again."))
    assert updated.outcome is Outcome.UPDATED and "Hello again." in updated.path.read_text()
    assert list((tmp_path / "out").iterdir()) == [first.path]  # no temp files, no second draft


def test_an_editors_change_is_never_overwritten(tmp_path: Path) -> None:
    path = _write(tmp_path, _text()).path
    edited = path.read_text().replace("title: A talk", "title: Edited by a person")
    path.write_text(edited)
    result = _write(tmp_path, _text("New transcript."))
    assert result.outcome is Outcome.KEPT_EDITED and "changed by an editor" in result.message
    assert path.read_text() == edited


def test_a_file_draftcast_did_not_write_is_left_alone(tmp_path: Path) -> None:
    video = _video()
    target = tmp_path / "out" / draft.file_name(video, "2025-10-28")
    target.parent.mkdir()
    target.write_text("someone's own post")
    assert _write(tmp_path, _text()).outcome is Outcome.KEPT_EDITED
    assert target.read_text() == "someone's own post"


def test_a_removed_draft_is_not_written_again_unless_asked(tmp_path: Path) -> None:
    path = _write(tmp_path, _text()).path
    path.unlink()  # an editor moved it into the site
    assert _write(tmp_path, _text()).outcome is Outcome.KEPT_REMOVED
    assert not path.exists()
    assert _write(tmp_path, _text(), rewrite=True).outcome is Outcome.WRITTEN
    assert path.exists()


def test_an_unwritable_output_dir_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    with pytest.raises(OutputError, match="not-a-dir"):
        draft.check_out_dir(blocker / "drafts")


def _write_in_process(args: tuple[str, str]) -> str:
    tmp, text = args
    with locked(Path(tmp) / "work"):
        return _write(Path(tmp), text).outcome.value


def test_concurrent_writers_end_in_one_draft(tmp_path: Path) -> None:
    with ProcessPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(_write_in_process, [(str(tmp_path), _text())] * 8))
    assert sorted(outcomes) == ["unchanged"] * 7 + ["written"]
    drafts = list((tmp_path / "out").iterdir())
    assert len(drafts) == 1 and drafts[0].read_text() == _text()


def test_drafts_are_listed_newest_first_with_their_state(tmp_path: Path) -> None:
    from pipeline.listing import list_drafts

    store = DraftStore(tmp_path / "store.sqlite")
    out = tmp_path / "out"

    def write(video_id: str, date: str, title: str) -> Path:
        video = _video(id=video_id, upload_date=date, title=title)
        text = draft.compose(video, _transcript("Hi."), settings=load_settings(), speaker=None, today=TODAY)
        return draft.write_draft(text, video=video, out_dir=out, store=store).path

    write("aaa", "2025-01-01", "Old talk")
    edited = write("bbb", "2025-06-01", "Edited talk")
    edited.write_text(edited.read_text().replace("Hi.", "Hello, edited."))
    published = write("ccc", "2025-07-01", "Published talk")
    published.write_text(published.read_text().replace("draft: true", "draft: false"))
    (out / "notes.md").write_text("no front matter here")

    waiting = list_drafts(out, store)
    assert [(e.title, e.state) for e in waiting] == [("Edited talk", "edited"), ("Old talk", "new")]
    everything = list_drafts(out, store, include_published=True)
    assert [e.state for e in everything] == ["published", "edited", "new"]
    assert [e.title for e in list_drafts(out, store, since="2025-03-01")] == ["Edited talk"]
    assert list_drafts(out, store, speaker="Nobody") == []


def test_a_chapter_that_starts_inside_a_cue_keeps_its_heading() -> None:
    """Cues at 0 and 2.5 s, chapters at 0 and 3 s: the second cue is mostly in the second
    chapter, and a chapter with no speech at all still shows as a heading."""
    segments = (Segment(0.0, 2.5, "Opening words."), Segment(2.5, 5.0, "The main part."))
    transcript = Transcript("en", "text/vtt", "publisher", 5.0, segments)
    chapters = (Chapter(0.0, None, "Opening"), Chapter(3.0, None, "Main"), Chapter(60.0, None, "Credits"))
    found = draft.sections(transcript, chapters)
    assert [(s.heading, [p.text for p in s.paragraphs]) for s in found] == [
        ("Opening", ["Opening words."]),
        ("Main", ["The main part."]),
        ("Credits", []),
    ]


def test_speaker_turns_are_labelled_in_bold_with_the_languages_colon() -> None:
    settings = load_settings(GOLDEN / "draftcast.toml")
    said = [("说话人1", "我们先谈芯片。"), ("说话人1", "然后谈能源。"), ("说话人2", "好的。"), ("说话人1", "谢谢。")]
    segments = tuple(Segment(i * 5.0, i * 5.0 + 4, text, speaker=who) for i, (who, text) in enumerate(said))
    voices = (Voice("说话人1", 14.0, (0.6, 0.8)), Voice("说话人2", 4.0, (1.0, 0.0)))
    transcript = Transcript("zh", "base", "openai-whisper", 20.0, segments, voices=voices)
    assert Transcript.from_json(transcript.to_json()) == transcript  # the voices are kept with the transcript
    body = frontmatter.loads(draft.compose(_video(), transcript, settings=settings, speaker=None, today=TODAY)).content
    turns = [line.split(") ", 1)[1] for line in body.splitlines() if line.startswith("[")]
    assert turns == ["**说话人1：** 我们先谈芯片。然后谈能源。", "**说话人2：** 好的。", "**说话人1：** 谢谢。"]
    english = Transcript("en", "base", "openai-whisper", 10.0, (Segment(0, 4, "Hi.", speaker="Speaker 1"),))
    body = draft.compose(_video(), english, settings=settings, speaker=None, today=TODAY)
    assert "**Speaker 1:** Hi." in body


def test_metadata_loses_control_characters_but_a_next_line_still_parts_words() -> None:
    from pipeline.video import clean_text

    assert clean_text("nel\x85x") == "nel\nx"  # NEL is a line break: the words stay apart
    assert clean_text("bell\x07 \u202egpj.exe\x00") == "bell gpj.exe"
    assert " ".join(clean_text("newline\x85nel").split()) == "newline nel"


def test_chinese_text_has_no_space_after_ascii_punctuation_either() -> None:
    assert cleanup.join_text(["做到最好,", "垂直应用"], "zh") == "做到最好,垂直应用"
    assert cleanup.join_text(["用 GPU 训练。", "好"], "zh") == "用 GPU 训练。好"
    assert cleanup.join_text(["Hello,", "world"], "en") == "Hello, world"


def test_a_traditional_channel_keeps_its_names_as_listed_through_the_drafts_conversion(tmp_path: Path) -> None:
    """A new user's zh-Hant channel listed 台積電; OpenCC's s2t writes 臺積電, in the body and tags."""
    config = tmp_path / "draftcast.toml"
    config.write_text(
        f'[draftcast]\nout_dir = "{tmp_path}"\n[[channels]]\nurl = "https://www.youtube.com/@chips"\n'
        'chinese_script = "zh-Hant"\nvocabulary = ["台積電", "英伟达"]\n'
    )
    video = _video(channel_url="https://www.youtube.com/@chips", title="台积电与英伟达", tags=["台积电"])
    transcript = _transcript("台积电和英伟达的芯片。台积电很忙。", language="zh")
    post = frontmatter.loads(
        draft.compose(video, transcript, settings=load_settings(config), speaker=None, today=TODAY)
    )
    assert "台積電和英偉達的芯片" in post.content and "臺" not in post.content
    assert post["title"] == "台積電與英偉達" and "台積電" in post["tags"] and "臺積電" not in post["tags"]


def test_a_name_an_editor_taught_keeps_the_editors_spelling_through_the_drafts_conversion(tmp_path: Path) -> None:
    """An eighth new user corrected 声腾 → 昇腾; the next draft read 升腾 (OpenCC's t2s)."""
    config = tmp_path / "draftcast.toml"
    config.write_text(f'[draftcast]\nout_dir = "{tmp_path}"\n[[channels]]\nurl = "https://www.youtube.com/@chips"\n')
    video = _video(channel_url="https://www.youtube.com/@chips", title="华为的芯片")
    transcript = _transcript("华为的昇腾芯片卖得很好。", language="zh")
    settings = load_settings(config)
    taught = draft.compose(video, transcript, settings=settings, speaker=None, today=TODAY, learned=["昇腾"])
    assert "华为的昇腾芯片" in frontmatter.loads(taught).content
    untaught = draft.compose(video, transcript, settings=settings, speaker=None, today=TODAY)
    assert "华为的升腾芯片" in frontmatter.loads(untaught).content  # OpenCC's own choice, without the teaching
