"""The shipped config documents every key the loader reads, polls nothing out of the box,
and a key the loader does not know is refused."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipeline import config
from pipeline.config import CONFIG_KEYS, load_settings
from pipeline.errors import ConfigError
from pipeline.suggest import ENTITY_FIELDS

SHIPPED = config.PROJECT_DIR / "config" / "draftcast.toml"
_HEADER = re.compile(r"^\[\[?([a-z_]+)\]\]?\s*$")
_KEY = re.compile(r"^(#\s*)?([a-z_]+)\s*=")


def _documented() -> dict[str, dict[str, bool]]:
    """Per section of the shipped file, its keys (set or commented out) and whether each
    comes with a comment: on the line above (or a run of keys under one comment) or after it."""
    sections: dict[str, dict[str, bool]] = {}
    section, commented = "", False
    for line in SHIPPED.read_text(encoding="utf-8").splitlines():
        if header := _HEADER.match(line):
            section, commented = header.group(1), False
            sections[section] = {}
        elif (key := _KEY.match(line)) and section:
            sections[section][key.group(2)] = commented or bool(key.group(1)) or " # " in line
        else:
            commented = line.startswith("#")
    return sections


def test_the_shipped_config_documents_every_section_and_key_the_loader_reads() -> None:
    documented = _documented()
    assert set(documented) == set(CONFIG_KEYS)
    for section, keys in CONFIG_KEYS.items():
        assert set(keys) <= set(documented[section]), f"[{section}] lacks {set(keys) - set(documented[section])}"
        assert all(documented[section][key] for key in keys), f"[{section}]: a key without a comment"
    assert set(ENTITY_FIELDS) <= set(CONFIG_KEYS["suggest"])  # the names [suggest] reads


def test_the_shipped_config_names_every_environment_variable_draftcast_reads() -> None:
    sources = [*(config.PROJECT_DIR / "pipeline").glob("*.py"), *(config.PROJECT_DIR / "flows").glob("*.py")]
    variables = {v for path in sources for v in re.findall(r"\"(DRAFTCAST_[A-Z_]+)\"", path.read_text())}
    assert "DRAFTCAST_HOME" in variables  # the search finds them
    text = SHIPPED.read_text(encoding="utf-8")
    assert {v for v in variables if v not in text} == set()


def test_the_shipped_config_loads_and_polls_nothing_out_of_the_box() -> None:
    settings = load_settings(SHIPPED)
    assert settings.channels, "the example channel stays, as settings for its videos"
    assert [c.url for c in settings.channels if c.poll] == []
    assert not settings.writer.enabled and settings.suggest.enabled and settings.model == "base"


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ('[draftcast]\nmodle = "tiny.en"\n', r"\[draftcast\]: unknown key\(s\) modle \(known: out_dir"),
        ('[[channels]]\nurl = "https://x.test/feed"\nspeker = "A"\n', r"channels\[0\]: unknown key\(s\) speker"),
        ("[poll]\nmax_attempt = 3\n", r"\[poll\]: unknown key\(s\) max_attempt"),
        ("[suggest]\npeople = []\nbrands = []\n", r"\[suggest\]: unknown key\(s\) brands"),
        ('[writer]\napi_key = "sk-x"\n', r"\[writer\]: unknown key\(s\) api_key \(the API key goes in an env"),
        ("[pol]\nmax_attempts = 3\n", r"unknown section\(s\) pol \(known: draftcast, front_matter"),
    ],
)
def test_a_key_the_loader_does_not_read_is_refused(tmp_path: Path, text: str, named: str) -> None:
    path = tmp_path / "draftcast.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=named) as error:
        load_settings(path)
    assert str(path) in str(error.value)


def test_a_channel_claims_its_own_pages_not_a_channel_whose_url_merely_starts_the_same(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        '[[channels]]\nurl = "https://www.youtube.com/@bestpartners"\nspeaker = "Best Partners"\n\n'
        '[[channels]]\nurl = "http://127.0.0.1:8000/shows"\nspeaker = "Shows"\n\n'
        '[[channels]]\nurl = "http://127.0.0.1:8000/shows/zh/"\nspeaker = "Shows in Mandarin"\n',
        encoding="utf-8",
    )
    settings = load_settings(path)

    def speaker(*urls: str) -> str | None:
        channel = settings.channel_for(*urls)
        return channel.speaker if channel else None

    assert speaker("https://youtube.com/@bestpartners/videos") == "Best Partners"
    assert speaker("https://m.youtube.com/@BestPartners?sub=1") == "Best Partners"
    assert speaker("https://www.youtube.com/@bestpartnersclips") is None  # another channel (a new user's defect)
    assert speaker("http://127.0.0.1:8000/showsandtell/a.flac") is None
    assert speaker("http://127.0.0.1:8000/shows/a.flac") == "Shows"
    assert speaker("http://127.0.0.1:8000/shows/zh/talk.flac") == "Shows in Mandarin"  # the closer one
    assert speaker("http://127.0.0.1:8000/shows/zhlist/talk.flac") == "Shows"


def test_a_config_without_front_matter_still_gives_the_blogs_layout_and_status(tmp_path: Path) -> None:
    """A new user's own config had no [front_matter]: drafts got `layout: ''`, which the
    blog cannot build. The blog's values come unless the config gives its own."""
    bare = tmp_path / "bare.toml"
    bare.write_text('[draftcast]\nmodel = "base"\n')
    assert load_settings(bare).front_matter == {"layout": "post.njk", "status": "evergreen"}
    own = tmp_path / "own.toml"
    own.write_text('[front_matter]\nlayout = "talk.njk"\ncategory = "ai"\n')
    assert load_settings(own).front_matter == {"layout": "talk.njk", "status": "evergreen", "category": "ai"}


def test_a_wrong_choice_names_where_it_was_set_and_an_empty_one_is_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "draftcast.toml"
    path.write_text('[draftcast]\ncompute_type = "int4"\ncaptions = ""\n')
    with pytest.raises(ConfigError, match=r"toml: compute_type must be auto, float32, bfloat16 or int8, not 'int4'"):
        load_settings(path)
    monkeypatch.setenv("DRAFTCAST_COMPUTE_TYPE", "fp16")  # the variable wins, and its error names it, not the file
    wrong = r"^environment: DRAFTCAST_COMPUTE_TYPE must be auto, float32, bfloat16 or int8, not 'fp16'"
    with pytest.raises(ConfigError, match=wrong):
        load_settings(path)
    monkeypatch.setenv("DRAFTCAST_COMPUTE_TYPE", "int8")
    settings = load_settings(path)
    assert (settings.compute_type, settings.captions, settings.engine) == ("int8", "human", "openai-whisper")


@pytest.mark.parametrize(
    ("text", "variable", "value", "refused"),
    [
        ("[draftcast]\nbeam_size = 0\n", None, None, r"draftcast.toml: beam_size must be 1 or more .*not 0$"),
        ("[draftcast]\nbeam_size = -2\n", None, None, r"draftcast.toml: beam_size must be 1 or more .*not -2$"),
        ("", "DRAFTCAST_BEAM_SIZE", "0", r"^environment: DRAFTCAST_BEAM_SIZE must be 1 or more .*not 0$"),
        ("", "DRAFTCAST_NETWORK_TIMEOUT", "-5", r"^environment: DRAFTCAST_NETWORK_TIMEOUT must be seconds above 0"),
        ("[draftcast]\nnetwork_timeout_seconds = 0\n", None, None, r"network_timeout_seconds must be seconds above 0"),
        ("", "DRAFTCAST_RETRY_DELAYS", "2,-1", r"^environment: DRAFTCAST_RETRY_DELAYS must be seconds of 0 or more"),
        ('[draftcast]\nnetwork_retry_delays = [2, "x"]\n', None, None, r"network_retry_delays must be seconds of 0"),
        ('[draftcast]\nbeam_size = "5"\n', None, None, r"draftcast.toml: 'beam_size' must be an int, not '5'"),
        ('[draftcast]\nout_dir = "   "\n', None, None, r"draftcast.toml: out_dir = '   ' is blank: give a folder"),
        ("", "DRAFTCAST_OUT", "  ", r"^environment: DRAFTCAST_OUT = '  ' is blank: give a folder, or leave it out"),
    ],
)
def test_a_setting_out_of_its_range_is_refused_naming_where_it_was_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, variable: str | None, value: str | None, refused: str
) -> None:
    """Refused when the settings are read, before any download (whisper asserted the beam
    size only when decoding; a new user's negative timeout failed in yt-dlp)."""
    path = tmp_path / "draftcast.toml"
    path.write_text(text)
    monkeypatch.delenv("DRAFTCAST_RETRY_DELAYS", raising=False)
    monkeypatch.delenv("DRAFTCAST_OUT", raising=False)
    if variable and value:
        monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=refused):
        load_settings(path)
