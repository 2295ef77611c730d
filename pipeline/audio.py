"""Decode media to what whisper eats: 16 kHz mono float32, decoded once, never re-encoded.

A stereo recording whose channels cancel when mixed to mono (one is the other inverted,
a wiring fault of some recorders) is heard through its louder channel alone."""

from __future__ import annotations

import ctypes
import logging
import mmap
import os
import re
import shutil
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

import numpy as np

from pipeline.errors import AudioError

log = logging.getLogger(__name__)

SAMPLE_RATE = 16_000
# The channels are compared over the first minutes (a cheap decode of their own); a mono
# mix this much quieter than the louder channel means they cancel out.
PROBE_SECONDS = 300
CANCELLING_DB = 20.0
# Below this RMS (about -50 dBFS) a 20 ms frame is taken as silence; a recording needs at
# least MIN_SOUND_SECONDS of louder frames before whisper is asked for speech in it.
SILENCE_RMS = 0.003
MIN_SOUND_SECONDS = 0.5


@lru_cache(maxsize=1)
def ffmpeg_executable() -> str:
    """The path of ffmpeg: the one on PATH if present, else the static binary shipped by
    imageio-ffmpeg (found once per process).

    Raises:
        AudioError: neither is there.
    """
    on_path = shutil.which("ffmpeg")
    if on_path:
        return on_path
    try:
        import imageio_ffmpeg
    except ImportError as exc:
        raise AudioError(
            "ffmpeg was not found: install it (apt-get install ffmpeg) or pip install imageio-ffmpeg"
        ) from exc
    return imageio_ffmpeg.get_ffmpeg_exe()


_FOLDER_PREFIX = "draftcast-audio-"  # then the pid of the process decoding


def _remove_stale_folders() -> None:
    """Decoded samples a killed process left in the temp dir (an hour is 230 MB)."""
    from pipeline.store import process_gone

    for folder in Path(tempfile.gettempdir()).glob(f"{_FOLDER_PREFIX}*-*"):
        pid = folder.name.removeprefix(_FOLDER_PREFIX).split("-")[0]
        if pid.isdigit() and process_gone(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def _ffmpeg(path: Path, outputs: list[list[str]]) -> None:
    """Decode ``path`` once with ffmpeg into each output (its options, then its file), all
    16 kHz headerless samples.

    Raises:
        AudioError: ffmpeg failed (its last line of stderr is the reason), or there is no audio.
    """
    command = [ffmpeg_executable(), "-nostdin", "-hide_banner", "-loglevel", "error", "-threads", "0"]
    command += ["-i", str(path)]
    for output in outputs:
        command += ["-vn", *output[:-1], "-ar", str(SAMPLE_RATE), "-y", output[-1]]
    result = subprocess.run(command, capture_output=True, check=False)
    if result.returncode != 0:
        detail = result.stderr.decode(errors="replace").strip().splitlines()
        reason = detail[-1] if detail else f"ffmpeg exited with {result.returncode}"
        reason = re.sub(r"^\[[^]]* @ 0x[0-9a-f]+\] ", "", reason)  # "[out#1/s16le @ 0x55…] ": where in ffmpeg
        raise AudioError(f"cannot decode the audio of {path.name}: {reason}")
    if any(not Path(o[-1]).exists() or Path(o[-1]).stat().st_size == 0 for o in outputs):
        raise AudioError(f"{path.name} has no audio track")


def lone_channel(stereo: np.ndarray) -> int | None:
    """The channel (0 left, 1 right) to hear alone when the two channels cancel out in a
    mono mix, that is when the mix is CANCELLING_DB or more quieter than the louder one;
    None for every other recording (mono ones too: ffmpeg makes two equal channels of them).

    ``stereo``: interleaved int16 samples, left then right, shape (2 × frames,)."""
    stereo = stereo[: len(stereo) // 2 * 2].reshape(-1, 2)
    power = np.zeros(3)  # left, right, mix: sums of squares
    step = 60 * SAMPLE_RATE
    for offset in range(0, len(stereo), step):  # a minute at a time: no float copy of it all
        block = stereo[offset : offset + step].astype(np.float64)
        mixed = block.mean(axis=1)
        power += [np.dot(block[:, 0], block[:, 0]), np.dot(block[:, 1], block[:, 1]), np.dot(mixed, mixed)]
    louder = int(power[1] > power[0])
    rms = np.sqrt(power / max(len(stereo), 1)) / 32768
    if rms[louder] <= SILENCE_RMS or rms[2] > rms[louder] * 10 ** (-CANCELLING_DB / 20):
        return None
    return louder


def decode(path: Path, *, dtype: type = np.float32) -> np.ndarray:
    """The audio of ``path`` as 16 kHz mono samples: float32 in [-1, 1], or int16 (half
    the memory: a long recording is kept so, and turned into floats a window at a time
    by ``floats``). The channels are mixed, unless they cancel out (``lone_channel``, over
    the first PROBE_SECONDS, taken from the same ffmpeg pass): then the louder is kept.

    ffmpeg writes the samples to a file: float32 ones are read straight into one array
    (through a pipe, Python would hold the bytes, their join and the array at once); int16
    ones stay in the file, memory-mapped (read-only; the file's name is gone when this
    returns, its pages are the kernel's to keep or drop, ``release`` hands back those read):
    a two-hour recording is 231 MB that no longer has to fit in memory (issue 17).

    ``path``: any media file ffmpeg reads (audio, or a video whose picture is ignored).
    ``dtype``: ``np.float32`` or ``np.int16``. Returns an array of shape (samples,), at
    SAMPLE_RATE: ``len(samples) / 16000`` is the duration in seconds.

    Raises:
        AudioError: ffmpeg cannot decode ``path``, ``path`` has no audio track, or there is
            no ffmpeg (``ffmpeg_executable``).
    """
    pcm = "s16le" if dtype == np.int16 else "f32le"
    _remove_stale_folders()
    with tempfile.TemporaryDirectory(prefix=f"{_FOLDER_PREFIX}{os.getpid()}-") as folder:
        raw, probe = Path(folder) / f"samples.{pcm}", Path(folder) / "probe.s16le"
        mono = ["-f", pcm, "-acodec", f"pcm_{pcm}"]
        stereo = ["-t", str(PROBE_SECONDS), "-f", "s16le", "-ac", "2", "-acodec", "pcm_s16le", str(probe)]
        _ffmpeg(path, [[*mono, "-ac", "1", str(raw)], stereo])
        channel = lone_channel(np.fromfile(probe, dtype="<i2"))
        if channel is not None:  # rare: decoded again, the one channel alone
            side = ("left", "right")[channel]
            log.info(
                "the channels of %s cancel out when mixed to mono (one is the other inverted): "
                "transcribing the %s channel alone",
                path.name,
                side,
            )
            _ffmpeg(path, [[*mono, "-af", f"pan=mono|c0=c{channel}", str(raw)]])
        if dtype == np.int16:
            return _mapped(raw)
        samples = np.fromfile(raw, dtype="<f4")
    return np.clip(samples, -1.0, 1.0, out=samples)  # resampling can overshoot full scale


def _mapped(raw: Path) -> np.ndarray:
    """The int16 samples of ``raw`` as a read-only array over a memory map of the file."""
    with raw.open("rb") as file:
        if os.fstat(file.fileno()).st_size < 2:
            return np.zeros(0, np.int16)
        mapping = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)  # outlives the file and its name
    return np.frombuffer(mapping, dtype="<i2")


def release(samples: np.ndarray) -> None:
    """Drop the pages of memory-mapped ``samples`` (``decode``'s int16) from this process's
    memory; they are read from the file again when used. Called after each pass over a
    stretch of a recording, so resident memory holds a stretch, not the recording. Samples
    held in memory are left as they are."""
    base: object = samples
    while isinstance(base, np.ndarray):
        base = base.base
    if isinstance(base, memoryview):  # np.frombuffer's view of the map
        base = base.obj
    if isinstance(base, mmap.mmap) and hasattr(mmap, "MADV_DONTNEED"):
        base.madvise(mmap.MADV_DONTNEED)


def trim_heap() -> None:
    """Give memory freed by C allocations (torch's tensors, the speaker model's buffers)
    back to the system: glibc's ``malloc_trim(0)``. Without it, a batch's tensors, once
    freed, stay in the process's heap (after speaker turns on two hours: 302 MiB kept,
    measured). No-op where glibc is not the C library."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)


@lru_cache(maxsize=1)
def _glibc() -> ctypes.CDLL | None:
    """glibc, loaded once; None where it is not the C library."""
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:
        return None


def floats(samples: np.ndarray) -> np.ndarray:
    """``samples`` as float32 in [-1, 1], whichever way they were decoded: int16 scaled by
    1/32768 into a new array, float32 returned as it is (no copy). The shape is kept."""
    if samples.dtype == np.int16:
        converted = samples.astype(np.float32)
        converted *= 1 / 32768
        return converted
    return samples.astype(np.float32, copy=False)


def sound_seconds(samples: np.ndarray) -> float:
    """How many seconds of ``samples`` (16 kHz mono, int16 or float32, shape (samples,))
    are louder than silence: 20 ms frames whose RMS is over SILENCE_RMS, so a multiple of
    0.02 s. Read a minute at a time: no float copy of the whole recording."""
    frame = SAMPLE_RATE // 50
    loud = 0
    step = 60 * SAMPLE_RATE
    for offset in range(0, len(samples), step):
        block = floats(samples[offset : offset + step])
        usable = len(block) - len(block) % frame
        frames = block[:usable].reshape(-1, frame)
        power = np.einsum("ij,ij->i", frames, frames) / frame
        loud += int((np.sqrt(power) > SILENCE_RMS).sum())
        release(samples)
    return loud / 50


def is_silent(samples: np.ndarray) -> bool:
    """True for digital silence or near it (under MIN_SOUND_SECONDS of sound, as
    ``sound_seconds`` counts it): nothing whisper could hear as speech."""
    return sound_seconds(samples) < MIN_SOUND_SECONDS
