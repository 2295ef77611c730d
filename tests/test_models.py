"""Offline whisper weights: CTranslate2 → openai-whisper checkpoints, checked and cached."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch

from pipeline import ct2, models
from pipeline.engines import load_whisper_model as load_model
from pipeline.errors import ModelError


def test_tiny_en_converts_to_a_checkpoint_whisper_loads_strictly(shared_models: Path) -> None:
    resolved = models.resolve_model("tiny.en", models_dir=shared_models)
    assert resolved.path == shared_models / "tiny.en.pt"
    checkpoint = torch.load(resolved.path, weights_only=True)
    assert checkpoint["dims"] == {
        "n_mels": 80, "n_audio_ctx": 1500, "n_audio_state": 384, "n_audio_head": 6, "n_audio_layer": 4,
        "n_vocab": 51864, "n_text_ctx": 448, "n_text_state": 384, "n_text_head": 6, "n_text_layer": 4,
    }  # fmt: skip
    model = load_model(resolved.path)  # load_state_dict is strict: every key mapped, none left over
    assert not model.is_multilingual
    assert int(model.alignment_heads.to_dense().sum()) == 8


def test_base_is_multilingual_from_two_concatenated_parts(shared_models: Path) -> None:
    resolved = models.resolve_model("base", models_dir=shared_models)
    dims = torch.load(resolved.path, weights_only=True)["dims"]
    assert (dims["n_vocab"], dims["n_audio_layer"], dims["n_text_state"]) == (51865, 6, 512)
    assert load_model(resolved.path).is_multilingual


def test_a_second_resolve_reuses_the_converted_checkpoint(shared_models: Path) -> None:
    first = models.resolve_model("tiny.en", models_dir=shared_models)
    modified = first.path.stat().st_mtime_ns
    second = models.resolve_model("tiny.en", models_dir=shared_models)
    assert second.path == first.path and second.path.stat().st_mtime_ns == modified
    assert second.origin.startswith("prepared")


def test_weights_with_a_wrong_checksum_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tampered = dataclasses.replace(models.OFFLINE_WEIGHTS["tiny.en"], sha256="0" * 64)
    monkeypatch.setitem(models.OFFLINE_WEIGHTS, "tiny.en", tampered)
    models_dir = tmp_path / "models"
    with pytest.raises(ModelError, match="sha256"):
        models.resolve_model("tiny.en", models_dir=models_dir)
    assert not models_dir.exists() or not list(models_dir.iterdir())  # nothing half-written


@pytest.mark.parametrize("name", ["huge", "tiny.fr", ""])
def test_unknown_model_names_are_refused_with_the_choices(name: str, tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="unknown model") as error:
        models.resolve_model(name, models_dir=tmp_path)
    assert "tiny.en" in str(error.value)


def test_a_missing_checkpoint_path_is_named(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="does not exist"):
        models.resolve_model(str(tmp_path / "mine.pt"), models_dir=tmp_path)


def test_a_checkpoint_path_is_loaded_as_given(shared_models: Path, tmp_path: Path) -> None:
    path = models.resolve_model("tiny.en", models_dir=shared_models).path
    resolved = models.resolve_model(str(path), models_dir=tmp_path)
    assert resolved.path == path and resolved.name == "tiny.en"


def test_listing_tells_where_each_model_comes_from(shared_models: Path, tmp_path: Path) -> None:
    fresh = {row.name: row for row in models.list_models(models_dir=tmp_path)}
    assert fresh["tiny.en"].state == "offline weights installed"
    assert fresh["base"].state == "offline weights installed"
    assert fresh["large-v3"].state == "download only"
    models.resolve_model("tiny.en", models_dir=shared_models)
    prepared = {row.name: row for row in models.list_models(models_dir=shared_models)}
    assert prepared["tiny.en"].state == "ready"


def test_reader_rejects_a_file_that_is_not_a_ctranslate2_model(tmp_path: Path) -> None:
    bogus = tmp_path / "model.bin"
    bogus.write_bytes(b"\x05\x00\x00\x00" + b"\x00" * 32)
    with pytest.raises(ModelError, match="binary version 5"):
        ct2.read_variables([bogus])


def test_an_ingest_never_downloads_a_model_that_is_not_here(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"'medium' is not on this machine.*draftcast models prepare medium"):
        models.resolve_model("medium", models_dir=tmp_path / "models")
    assert not (tmp_path / "models").exists()


def test_a_failed_download_leaves_no_empty_official_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """whisper's CDN cannot be reached from here (and must not be asked): the download
    goes to a port of 127.0.0.1 that nothing listens on."""
    import socket

    import whisper

    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    sha = whisper._MODELS["medium"].split("/")[-2]
    monkeypatch.setitem(whisper._MODELS, "medium", f"http://127.0.0.1:{port}/models/{sha}/medium.pt")
    with pytest.raises(ModelError, match="'medium' is not available offline and could not be downloaded"):
        models.resolve_model("medium", models_dir=tmp_path / "models", download=True)
    assert list((tmp_path / "models").iterdir()) == []  # no official folder, no cut-off file


def test_a_prepared_official_download_is_found_by_later_ingests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``draftcast models prepare medium`` downloads it once; an ingest finds it there.
    whisper's CDN is stood in for by a server on 127.0.0.1 (the checksum is in the URL,
    as whisper's are)."""
    import functools
    import hashlib
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    import whisper

    served = tmp_path / "cdn"
    payload = b"the bytes of a checkpoint"
    sha = hashlib.sha256(payload).hexdigest()
    (served / sha).mkdir(parents=True)
    (served / sha / "medium.pt").write_bytes(payload)
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(served))
    with ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_address[1]}/{sha}/medium.pt"
        monkeypatch.setitem(whisper._MODELS, "medium", url)
        models_dir = tmp_path / "models"
        with pytest.raises(ModelError, match="not on this machine"):
            models.check_available("medium", models_dir=models_dir)
        downloaded = models.resolve_model("medium", models_dir=models_dir, download=True)
        server.shutdown()
    assert downloaded.path == models_dir / "official" / "medium.pt" and downloaded.origin == "official download"
    models.check_available("medium", models_dir=models_dir)  # no network needed from now on
    again = models.resolve_model("medium", models_dir=models_dir)
    assert again.path == downloaded.path and again.origin.startswith("official checkpoint")
    assert {row.name: row.state for row in models.list_models(models_dir=models_dir)}["medium"] == "ready"


def test_languages_are_whispers_codes_in_any_spelling() -> None:
    assert [models.language_code(x) for x in ("en", "EN", "English", "en-US", "zh-Hant", "zh_CN", "Mandarin")] == [
        "en", "en", "en", "en", "zh", "zh", "zh",
    ]  # fmt: skip
    with pytest.raises(ModelError, match="unknown language 'xx'"):
        models.language_code("xx")
