"""Corrections that stick: what an editor replaced in a draft is learned for its channel,
applied to the channel's later transcripts (whole words; Chinese exactly), named in the
draft's provenance, listed and removed with ``draftcast vocabulary``."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
from pathlib import Path

import frontmatter
import pytest

from pipeline import corrections, draft
from pipeline.config import load_settings
from pipeline.corrections import CorrectionStore, apply, replacements
from pipeline.plan import plan_ingest
from pipeline.store import DraftStore
from pipeline.transcript import Segment, Transcript
from pipeline.vocabulary import CHANNEL
from tests.conftest import Site
from tests.conftest import run_cli as _run
from tests.conftest import youtube_video as _video

HEAD = (
    "---\ndate: '2025-10-28'\ntitle: A talk\npeople: []\n---\n"
    "<!-- draftcast: transcript from openai-whisper base, language en -->\n\n"
)


def _draft(*paragraphs: str) -> str:
    """A draft as draftcast writes one: front matter, its comment, paragraphs with links."""
    return HEAD + "".join(f"[0:{n:02d}](https://v.test/w#t={n}) {p}\n\n" for n, p in enumerate(paragraphs))


ENGLISH = (
    "**Speaker 1:** We buy our chips from SMC and the GPUs from Nvidea, and that will not change soon.",
    "**Speaker 2:** Sending a melon told me the same thing last year, when we met in Redmond for the talks.",
    "Well, I think the market for memory chips will keep growing for a long time, and the makers will do well.",
)
MANDARIN = "英伟达的CEO王仁熏说，SK海利是的高贷款内存卖得很好，我们请到黄仁勋先生来谈一谈。"


def test_an_editors_word_corrections_are_found_in_english_and_mandarin() -> None:
    written = _draft(*ENGLISH, MANDARIN)
    edited = _draft(
        "**Speaker 1:** We buy our chips from TSMC and the GPUs from Nvidia, and that will not change soon.",
        "**Speaker 2:** Satya Nadella told me the same thing last year, when we met in Redmond for the talks.",
        ENGLISH[2],
        "英伟达的CEO黄仁勋说，SK海力士的高带宽内存卖得很好，我们请到黄仁勋先生来谈一谈。",
    )
    assert replacements(written, edited) == [
        ("SMC", "TSMC"),
        ("Nvidea", "Nvidia"),
        ("Sending a melon", "Satya Nadella"),
        ("王仁熏", "黄仁勋"),  # one correction: the characters between the changed ones belong to the name
        ("海利是", "海力士"),
        ("高贷款", "高带宽"),
    ]
    # A misheard surname is learned with the name it is part of: "Sue" alone may be someone else.
    lisa = _draft("**Speaker 1:** Lisa Sue at AMD said, and Jensen Quan agreed, that Sue was right.")
    assert replacements(lisa, lisa.replace("Lisa Sue", "Lisa Su").replace("Jensen Quan", "Jensen Huang")) == [
        ("Lisa Sue", "Lisa Su"),
        ("Jensen Quan", "Jensen Huang"),
    ]


@pytest.mark.parametrize(
    ("written", "edited", "learned"),
    [
        # a seventh new user's case: jieba cut the misheard text 黄人|宣罪, and 罪 came with the name
        ("你怎么看黄人宣罪竟在台北的演讲。", "你怎么看黄仁勋罪竟在台北的演讲。", ("黄人宣", "黄仁勋")),
        (
            "他说四字封则表示明年会推出新的加速器。",
            "他说苏姿丰则表示明年会推出新的加速器。",
            ("四字封", "苏姿丰"),
        ),  # 丰则
        ("因为达得优势不只是芯片。", "英伟达得优势不只是芯片。", ("因为达", "英伟达")),  # never 因为 → 英伟
        ("华为的声腾芯片卖得很好。", "华为的昇腾芯片卖得很好。", ("声腾", "昇腾")),  # jieba cuts 昇|腾
        ("林本间说得对。", "林本坚说得对。", ("林本间", "林本坚")),
        ("我们请到艾龙马斯克来谈。", "我们请到埃隆·马斯克来谈。", ("艾龙马斯克", "埃隆·马斯克")),  # not 埃隆· alone
        ("他说萨姆奥尔特门表示同意。", "他说萨姆·奥尔特曼表示同意。", ("萨姆奥尔特门", "萨姆·奥尔特曼")),
        ("我们请到埃隆·马斯科来谈。", "我们请到埃隆·马斯克来谈。", ("马斯科", "马斯克")),
        # an eighth new user's: jieba cut the edited text 林本|坚说, the written one 林本接|说
        ("他认为林本接说，光刻很难。", "他认为林本坚说，光刻很难。", ("林本接", "林本坚")),
        # a ninth new user's: 见了面 is a word of jieba's dictionary, not a part of the name
        (
            "他今天和台积电的位置加接了面，谈得很好。",
            "他今天和台积电的魏哲家见了面，谈得很好。",
            ("位置加接", "魏哲家见"),
        ),
        # a middle dot put between a name's parts, and nothing else changed
        ("他说萨姆奥尔特曼表示同意。", "他说萨姆·奥尔特曼表示同意。", ("萨姆奥尔特曼", "萨姆·奥尔特曼")),
    ],
)
def test_a_mandarin_correction_is_the_name_the_editor_fixed_and_takes_in_no_word_beside_it(
    written: str, edited: str, learned: tuple[str, str]
) -> None:
    assert replacements(_draft(written), _draft(edited)) == [learned]


def test_renamed_speakers_front_matter_deletions_additions_and_rewrites_are_no_corrections() -> None:
    written = _draft(*ENGLISH, MANDARIN)
    edited = _draft(
        "**Baker:** We buy our chips from SMC and the GPUs from Nvidea, and that will not change soon.",  # voices'
        "**Speaker 2:** Sending a melon told me the same thing, when we met in Redmond for the talks.",  # deleted
        "Memory demand will rise for years; chip makers such as Samsung stand to gain the most from it.",  # rewritten
        "英伟达的CEO王仁熏说，SK海利是的高贷款内存卖得很好，我们请到了黄仁勋先生来谈一谈。",  # 了 added
    ).replace("people: []", "people: [Satya Nadella]")
    assert replacements(written, edited) == []
    # a phrase of more than four words, or a sentence mark in it, is a rewrite; one character is grammar
    longer = written.replace("Sending a melon told me", "the chief executive of Microsoft, told me")
    assert replacements(written, longer) == []
    assert replacements(written, written.replace("王仁熏说", "王仁熏讲")) == []
    # a common word would change everywhere in the channel: only names, acronyms and models are learned
    assert replacements(written, written.replace("will not change soon", "will not shift soon")) == []
    assert replacements(written, written.replace("SMC and", "SMC, and")) == []
    # Chinese words of the editor's choosing, not words misheard (a new user's rewrite was learned and applied)
    assert replacements(written, written.replace("卖得很好", "销路不错")) == []


def test_capitals_for_a_sentence_or_for_emphasis_are_no_corrections_and_a_names_are() -> None:
    """A fresh user's "not → NOT" was learned for the whole channel: every later "not" would
    have been written NOT; and a second one's HUGE, GREAT and STORMS were, while a sentence's
    first word lost the name after it (The carton → The Carton) and Mr. ended a sentence."""
    written = _draft(
        "We talked about it. the next thing is that we will not stop tsmc, not now.",
        "And so nvidia said it would, and it did. it was a great year and a great deal.",
        "so jensen huang said. the us and china talk to us about storms, a huge deal.",
        'the carton people came. We met Mr. musk. "Stop." ai is here, he said.',
    )
    edited = _draft(
        "We talked about it. The next thing is that we will NOT stop TSMC, not now.",
        "And so Nvidia said it would, and it did. it was a GREAT year and a great deal.",
        "So Jensen Huang said. the US and China talk to us about STORMS, a HUGE deal.",
        'The Carton people came. We met Mr. Musk. "Stop." AI is here, he said.',
    )
    assert replacements(written, edited) == [
        ("tsmc", "TSMC"),  # NOT: "not" is still written; a stop word besides
        ("nvidia", "Nvidia"),  # GREAT: "great" is still written
        ("jensen huang", "Jensen Huang"),  # "So" is the sentence's; US: a stop word; STORMS, HUGE: common words
        ("china", "China"),
        ("carton", "Carton"),  # "The" is the sentence's
        ("musk", "Musk"),  # "Mr." ends no sentence; AI: a common word (the safer mistake)
    ]
    # an acronym first in its sentence is more than the sentence's capital; a sentence's
    # capital makes no name of a word corrected there (a third fresh look's whether → Weather)
    assert replacements(_draft("tsmc said so."), _draft("TSMC said so.")) == [("tsmc", "TSMC")]
    said = " said the analyst on the call, and the rest of it stays as it was."
    assert replacements(_draft("whether is bad" + said), _draft("Weather is bad" + said)) == []
    assert replacements(_draft("so smc is ahead" + said), _draft("So TSMC is ahead" + said)) == [("smc", "TSMC")]
    # after an opening quote too; a number corrected is a fact, and stop words alone no name
    assert replacements(_draft('"honestly it works"' + said), _draft('"Honestly it works"' + said)) == []
    assert replacements(_draft("we saw 20 percent" + said), _draft("we saw 25 percent" + said)) == []
    assert replacements(_draft("we buy and chips" + said), _draft("we buy AMD chips" + said)) == []
    assert replacements(_draft("the h 100 chip" + said), _draft("the H100 chip" + said)) == [("h 100", "H100")]


def test_corrections_apply_to_whole_words_case_sensitive_and_chinese_exactly() -> None:
    rules = {"SMC": "TSMC", "王仁熏": "黄仁勋", "Sending a melon": "Satya Nadella", "TSMC": "Taiwan Semi"}
    text, counts = apply("SMC, SMCX, smc, TSMC and SMC. Sending  a melon. 我们用SMC的芯片，王仁熏说", rules)
    assert text == "TSMC, SMCX, smc, Taiwan Semi and TSMC. Satya Nadella. 我们用TSMC的芯片，黄仁勋说"
    assert counts == {"SMC": 3, "TSMC": 1, "王仁熏": 1, "Sending a melon": 1}  # one pass: no TSMC → Taiwan Semi chain
    transcript = Transcript(
        "zh", "base", "openai-whisper", 4.0, (Segment(0, 2, "王仁熏说"), Segment(2, 4, "王仁熏和SMC"))
    )
    corrected = corrections.apply_transcript(transcript, {"SMC": "TSMC", "王仁熏": "黄仁勋", "SK": "SK海力士"})
    assert [s.text for s in corrected.segments] == ["黄仁勋说", "黄仁勋和TSMC"]
    assert corrected.corrected == ("SMC → TSMC (1×)", "王仁熏 → 黄仁勋 (2×)")
    assert corrections.apply_transcript(transcript, {}) is transcript
    # A Chinese wrong form is no word of its own where it cuts a word of jieba's dictionary:
    # a new user's 因为打 → 英伟达 turned 因为打车 into 英伟达车, 电单 → 订单 电单车 into 订单车.
    rules = {"因为打": "英伟达", "电单": "订单", "黄人宣": "黄仁勋"}
    kept = "他因为打车迟到了，因为打折，电单车的市场"
    assert apply(kept, rules) == (kept, {})
    text, counts = apply("因为打的电单越来越多，你怎么看黄人宣罪竟在台北", rules)  # 宣罪: jieba's HMM, no word
    assert text == "英伟达的订单越来越多，你怎么看黄仁勋罪竟在台北"
    assert counts == {"因为打": 1, "电单": 1, "黄人宣": 1}
    # a common word an editor corrected (whisper's 生疼 for 昇腾) may have been said: the place is flagged
    said = Transcript("zh", "base", "openai-whisper", 4.0, (Segment(0, 2, "膝盖生疼"), Segment(2, 4, "黄人宣表示")))
    taught = corrections.apply_transcript(said, {"生疼": "昇腾", "黄人宣": "黄仁勋"})
    assert [(s.text, s.flag) for s in taught.segments] == [
        ("膝盖昇腾", f"{corrections.COMMON_WORD_CORRECTED}: 生疼 → 昇腾: check"),
        ("黄仁勋表示", ""),
    ]


CHANNEL_URL = "https://talk.test/show"


def _write(text: str, key: str, channel: str = CHANNEL_URL) -> Path:
    settings = load_settings()
    store = DraftStore(settings.store_path)
    return draft.write_draft(text, video=_video(key), out_dir=settings.out_dir, store=store, channel=channel).path


def _learn(channel: str = CHANNEL_URL) -> list[str]:
    settings = load_settings()
    store = CorrectionStore(settings.corrections_path)
    return corrections.learn_from_drafts(DraftStore(settings.store_path), store, channel)


def test_corrections_are_learned_once_per_channel_and_a_wrong_form_with_two_right_forms_is_not_applied() -> None:
    first, second = _write(_draft(*ENGLISH), "ep1"), _write(_draft(*ENGLISH), "ep2")
    other = _write(_draft(*ENGLISH), "ep3", channel="https://other.test/show")
    assert _learn() == []  # nothing edited yet
    edited = first.read_text().replace("SMC", "TSMC").replace("Nvidea", "Nvidia")
    first.write_text(edited)
    other.write_text(other.read_text().replace("SMC", "SMIC"))
    assert _learn() == [
        f"learned SMC → TSMC from draft {first.name} for {CHANNEL_URL}",
        f"learned Nvidea → Nvidia from draft {first.name} for {CHANNEL_URL}",
    ]
    assert _learn() == []  # learned once
    assert first.read_text() == edited  # the editor's draft is only read
    store = CorrectionStore(load_settings().corrections_path)
    assert store.rules(CHANNEL_URL) == {"SMC": "TSMC", "Nvidea": "Nvidia"}
    assert store.rules("https://other.test/show") == {}  # another channel learns at its own ingest

    second.write_text(second.read_text().replace("SMC", "SMIC"))
    assert _learn() == [
        f"SMC is corrected to TSMC and SMIC (draft {second.name}) for {CHANNEL_URL}: ambiguous, not applied"
    ]
    assert store.rules(CHANNEL_URL) == {"Nvidea": "Nvidia"}
    assert [r.right for r in store.forget("SMC", CHANNEL_URL)] == ["TSMC", "SMIC"]
    first.write_text(edited + "\n")  # read again: what a person removed is not learned again from it
    assert _learn() == [] and store.rules(CHANNEL_URL) == {"Nvidea": "Nvidia"}

    # draftcast wrote Nvidia in a later draft, and the editor changed it back: the correction goes
    third = _write(_draft(*ENGLISH).replace("Nvidea", "Nvidia"), "ep4")
    third.write_text(third.read_text().replace("Nvidia", "Nvidea"))
    assert _learn() == [f"forgot Nvidea → Nvidia for {CHANNEL_URL}: draft {third.name} changes Nvidia back to Nvidea"]
    assert store.learned(CHANNEL_URL) == []
    # changed back with the word around it (jieba's 打车): 英伟达车 → 因为打车 undoes 因为打 → 英伟达
    fourth = _write(_draft("他因为打的车迟到了，因为打的价格。"), "ep5")
    fourth.write_text(fourth.read_text().replace("因为打的价", "英伟达的价"))
    assert _learn() == [f"learned 因为打 → 英伟达 from draft {fourth.name} for {CHANNEL_URL}"]
    fifth = _write(_draft("他英伟达车迟到了。"), "ep6")
    fifth.write_text(fifth.read_text().replace("英伟达车", "因为打车"))
    assert _learn() == [
        f"forgot 因为打 → 英伟达 for {CHANNEL_URL}: draft {fifth.name} changes 英伟达车 back to 因为打车"
    ]
    assert store.learned(CHANNEL_URL) == []
    # a taught name changed to a common word where the word was said: that place, not the name
    sixth = _write(_draft("华为的声腾芯片卖得很好。"), "ep7")
    sixth.write_text(sixth.read_text().replace("声腾", "昇腾"))
    assert _learn() == [f"learned 声腾 → 昇腾 from draft {sixth.name} for {CHANNEL_URL}"]
    seventh = _write(_draft("他的膝盖昇腾，走路都很困难。"), "ep8")
    seventh.write_text(seventh.read_text().replace("昇腾", "生疼"))
    assert _learn() == [
        f"not learned: 昇腾 → 生疼 (draft {seventh.name}) for {CHANNEL_URL}: 昇腾 is a name this channel's editors "
        "taught and 生疼 a common word; only that draft says so"
    ]
    assert store.rules(CHANNEL_URL) == {"声腾": "昇腾"}
    store.forget("声腾", CHANNEL_URL)
    # changed back in English, to a word without a capital (a fresh user's stayed learned)
    eighth = _write(_draft("We met barn at the fair, he said."), "ep9")
    eighth.write_text(eighth.read_text().replace("barn", "Barnes"))
    assert _learn() == [f"learned barn → Barnes from draft {eighth.name} for {CHANNEL_URL}"]
    ninth = _write(_draft("The cows are in the Barnes now, he said."), "ep10")
    ninth.write_text(ninth.read_text().replace("Barnes", "barn"))
    assert _learn() == [f"forgot barn → Barnes for {CHANNEL_URL}: draft {ninth.name} changes Barnes back to barn"]
    assert store.rules(CHANNEL_URL) == {}
    tenth = _write(_draft("The Barnes family came."), "ep11")  # no correction of theirs left: nothing to undo
    tenth.write_text(tenth.read_text().replace("Barnes", "barn"))
    assert _learn() == [] and store.rules(CHANNEL_URL) == {}
    # a sentence's capital on the word changed back, and a taught name inside another word
    eleventh = _write(_draft("We met intel and barn at the fair, he said."), "ep12")
    eleventh.write_text(eleventh.read_text().replace("intel", "Intel").replace("barn", "Barnes"))
    assert len(_learn()) == 2 and store.rules(CHANNEL_URL) == {"intel": "Intel", "barn": "Barnes"}
    twelfth = _write(_draft("Barnes is where the cows are. Artificial Intelligence is here, he said."), "ep13")
    twelfth.write_text(twelfth.read_text().replace("Barnes is", "Barn is").replace("Intelligence", "intelligence"))
    assert _learn() == [f"forgot barn → Barnes for {CHANNEL_URL}: draft {twelfth.name} changes Barnes back to Barn"]
    assert store.rules(CHANNEL_URL) == {"intel": "Intel"}
    store.forget("intel", CHANNEL_URL)
    first.unlink()  # a draft gone is no longer read
    assert _learn() == [] and str(first) not in json.loads(store.path.read_text())["drafts"]


# the draft store's table before the text, the channel and the inputs were kept
OLD_SCHEMA = (
    "CREATE TABLE drafts (out_dir TEXT NOT NULL, video_key TEXT NOT NULL, path TEXT NOT NULL,"
    " sha256 TEXT NOT NULL, source TEXT NOT NULL, written_at TEXT NOT NULL, PRIMARY KEY (out_dir, video_key))"
)


def test_an_old_record_opened_by_many_at_once_gains_its_columns_once(tmp_path: Path) -> None:
    """Two workers opening a store made before a column was added both added it: the second
    failed its flow run (duplicate column name), seen in CI's PostgreSQL-backed service test;
    two making a new one at once could be told "database is locked"."""
    for attempt in range(6):
        path = tmp_path / f"store{attempt}.sqlite"
        if attempt % 2:  # as draftcast made it before the added columns; else a new file
            with sqlite3.connect(path) as db:
                db.execute("PRAGMA journal_mode=WAL")
                db.execute(OLD_SCHEMA)
        start, errors = threading.Barrier(8), []

        def open_store(path: Path = path, start: threading.Barrier = start, errors: list[Exception] = errors) -> None:
            start.wait()
            try:
                DraftStore(path)
            except sqlite3.Error as error:
                errors.append(error)

        threads = [threading.Thread(target=open_store) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        with sqlite3.connect(path) as db:
            assert {"channel", "text", "inputs"} <= {row[1] for row in db.execute("PRAGMA table_info(drafts)")}


def test_the_record_keeps_what_was_last_written_and_an_old_record_gains_the_columns(isolated: Path) -> None:
    settings = load_settings()
    with sqlite3.connect(settings.store_path) as db:  # the schema before the text was kept
        db.execute(OLD_SCHEMA)
        db.execute("INSERT INTO drafts VALUES ('/o', 'k', '/o/old.md', 'ab', 'https://v', '2025-01-01T00:00:00')")
    store = DraftStore(settings.store_path)
    assert store.written("") == {}  # no text: nothing to learn from it
    path = _write(_draft(ENGLISH[0]), "ep1")
    path.unlink()  # removed, then written anew with other text: the record follows
    again = _draft(ENGLISH[1])
    result = draft.write_draft(
        again, video=_video("ep1"), out_dir=settings.out_dir, store=store, rewrite=True, channel=CHANNEL_URL
    )
    assert result.outcome == draft.Outcome.WRITTEN
    assert store.written(CHANNEL_URL) == {path: again}


def test_learned_right_forms_join_the_channels_vocabulary_and_the_plan_applies_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "draftcast.toml"
    config.write_text(f'[[channels]]\nurl = "{CHANNEL_URL}"\nuploader = "Talk Show"\nvocabulary = ["Nvidia"]\n')
    monkeypatch.setenv("DRAFTCAST_CONFIG", str(config))
    path = _write(_draft(*ENGLISH, "因为达得优势不只是芯片，你怎么看黄人宣罪竟在台北的演讲。"), "ep1")
    edited = path.read_text().replace("Sending a melon", "Satya Nadella").replace("SMC", "TSMC")
    path.write_text(edited.replace("因为达得", "英伟达的").replace("黄人宣", "黄仁勋"))
    assert len(_learn()) == 4
    plan = plan_ingest(_video("ep2"), load_settings(), model="tiny.en", language="en", device="cpu")
    assert plan.corrections == (
        ("SMC", "TSMC"),
        ("Sending a melon", "Satya Nadella"),
        ("因为达得", "英伟达的"),
        ("黄人宣", "黄仁勋"),
    )
    # a particle the editor's correction took along is no part of the term (it would be matched by sound)
    terms = [(t.text, t.source) for t in plan.decoding.vocabulary.terms]
    assert terms == [
        ("Nvidia", CHANNEL),
        ("TSMC", CHANNEL),
        ("Satya Nadella", CHANNEL),
        ("英伟达", CHANNEL),
        ("黄仁勋", CHANNEL),
    ]
    rights = ("苏姿丰则", "台积电了", "的确", "SK海力士", "昇腾", "魏哲家见", "台积电", "华为")
    assert [corrections.as_term(right) for right in rights] == [
        "苏姿丰",
        "台积电",
        "的确",
        "SK海力士",
        "昇腾",
        "魏哲家",
        "台积电",
        "华为",
    ]
    CorrectionStore(load_settings().corrections_path).path.write_text("{")  # unreadable: the ingest goes on
    assert plan_ingest(_video("ep2"), load_settings(), model="tiny.en", language="en", device="cpu").corrections == ()


@pytest.mark.slow
def test_an_ingest_learns_an_editors_correction_and_the_channels_next_video_applies_it(
    prefect_api: None, site: Site, tmp_path: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two real ingests of Kennedy's address on one channel; between them an editor
    corrects a word in the first draft, as editors do, in the file."""
    feed = site.url("talk-show.xml")
    config = tmp_path / "draftcast.toml"
    config.write_text(f'[[channels]]\nurl = "{feed}"\nuploader = "Talk Show"\npoll = false\n')
    monkeypatch.setenv("DRAFTCAST_CONFIG", str(config))
    options = ("--model", "tiny.en", "--language", "en", "--no-speakers")
    first = site.add_page("corrected-1.html", media="jfk.mp4", title="Ask not", uploader="Talk Show")
    code, out, err = _run(capfd, first, *options)
    assert code == 0, err
    path = Path(out.strip())
    text = path.read_text()
    assert text.count("your country") == 2, text  # in the body; the tags are the front matter's
    path.write_text(text.replace("your country", "your USA"))

    second = site.add_page("corrected-2.html", media="jfk.mp4", title="Ask not, again", uploader="Talk Show")
    code, out, err = _run(capfd, second, *options)
    assert code == 0, err
    assert f"learned country → USA from draft {path.name} for {feed}" in err
    post = frontmatter.load(out.strip())
    assert post.content.count("your USA") == 2 and "your country" not in post.content
    assert "flagged for review; editors' corrections applied: country → USA (2×). Edit freely" in post.content
    assert path.read_text() == text.replace("your country", "your USA")  # the edited draft is only read

    from flows.cli import main

    assert main(["vocabulary", "--channel", feed]) == 0
    header, row = capfd.readouterr().out.splitlines()
    assert header.split() == ["WRONG", "RIGHT", "SCOPE", "SOURCE", "DATE", "STATE"]
    assert row.split() == ["country", "USA", feed, "draft", path.name, dt.date.today().isoformat(), "in", "effect"]
    assert main(["vocabulary", "remove", "country", "--channel", feed]) == 0
    assert capfd.readouterr().out == f"forgot country → USA for {feed}\n"
    assert main(["vocabulary", "--channel", feed]) == 0
    assert capfd.readouterr().err.startswith("no corrections learned")


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["remove", "SMC"], "no correction of 'SMC' is learned for videos of no channel: draftcast vocabulary lists"),
        (["remove", "SMC", "--channel", "https://nope.test"], "no channel with url 'https://nope.test' in "),
    ],
)
def test_vocabulary_refuses_bad_input_in_one_line(
    capsys: pytest.CaptureFixture[str], args: list[str], error: str
) -> None:
    from flows.cli import main

    assert main(["vocabulary", *args]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and len(captured.err.splitlines()) == 1
    assert captured.err.startswith(f"draftcast: error: {error}"), captured.err


def test_the_vocabulary_command_lists_every_channels_corrections_and_says_which_are_ambiguous(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from flows.cli import main

    assert main(["vocabulary"]) == 0
    assert capsys.readouterr().err.startswith("no corrections learned: an editor's corrections in a draft are learned")
    first, second = _write(_draft(*ENGLISH), "ep1"), _write(_draft(*ENGLISH), "ep2", channel="")
    first.write_text(first.read_text().replace("SMC", "TSMC").replace("Nvidea", "Nvidia"))
    second.write_text(second.read_text().replace("SMC", "SMIC"))
    third = _write(_draft(*ENGLISH), "ep3", channel="")
    third.write_text(third.read_text().replace("SMC", "TSMC"))
    assert len(_learn()) == 2 and len(_learn("")) == 2
    assert main(["vocabulary"]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()]
    today = dt.date.today().isoformat()
    assert rows == [
        ["WRONG", "RIGHT", "SCOPE", "SOURCE", "DATE", "STATE"],
        ["SMC", "TSMC", CHANNEL_URL, "draft", first.name, today, "in", "effect"],
        ["Nvidea", "Nvidia", CHANNEL_URL, "draft", first.name, today, "in", "effect"],
        [
            "SMC",
            "SMIC",
            "videos",
            "of",
            "no",
            "channel",
            "draft",
            second.name,
            today,
            "ambiguous:",
            "not",
            "in",
            "effect",
        ],
        [
            "SMC",
            "TSMC",
            "videos",
            "of",
            "no",
            "channel",
            "draft",
            third.name,
            today,
            "ambiguous:",
            "not",
            "in",
            "effect",
        ],
    ]
    assert main(["vocabulary", "remove", "SMC"]) == 0
    assert capsys.readouterr().out == "forgot SMC → SMIC, TSMC for videos of no channel\n"
