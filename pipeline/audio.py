"""Decode media to what whisper eats: 16 kHz mono float32, decoded once, never re-encoded."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

import numpy as np

from pipeline.errors import AudioError

SAMPLE_RATE = 16_000
# Below this RMS (about -50 dBFS) a 20 ms frame is taken as silence; a recording needs at
# least MIN_SOUND_SECONDS of louder frames before whisper is asked for speech in it.
SILENCE_RMS = 0.003
MIN_SOUND_SECONDS = 0.5


@lru_cache(maxsize=1)
def ffmpeg_executable() -> str:
    """ffmpeg from PATH if present, else the static binary shipped by imageio-ffmpeg."""
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


def decode(path: Path, *, dtype: type = np.float32) -> np.ndarray:
    """The audio of ``path`` as 16 kHz mono samples: float32 in [-1, 1], or int16 (half
    the memory: a long recording is kept so, and turned into floats a window at a time
    by ``floats``).

    ffmpeg writes the samples to a file that is read straight into one array: through a
    pipe, Python holds the bytes, their join and the array at once (an hour is 230 MB)."""
    pcm = "s16le" if dtype == np.int16 else "f32le"
    _remove_stale_folders()
    with tempfile.TemporaryDirectory(prefix=f"{_FOLDER_PREFIX}{os.getpid()}-") as folder:
        raw = Path(folder) / f"samples.{pcm}"
        command = [
            ffmpeg_executable(), "-nostdin", "-hide_banner", "-loglevel", "error", "-threads", "0",
            "-i", str(path), "-vn", "-f", pcm, "-ac", "1", "-acodec", f"pcm_{pcm}", "-ar", str(SAMPLE_RATE),
            "-y", str(raw),
        ]  # fmt: skip
        result = subprocess.run(command, capture_output=True, check=False)
        if result.returncode != 0:
            detail = result.stderr.decode(errors="replace").strip().splitlines()
            reason = detail[-1] if detail else f"ffmpeg exited with {result.returncode}"
            raise AudioError(f"cannot decode the audio of {path.name}: {reason}")
        if not raw.exists() or raw.stat().st_size == 0:
            raise AudioError(f"{path.name} has no audio track")
        if dtype == np.int16:
            return np.fromfile(raw, dtype="<i2")
        samples = np.fromfile(raw, dtype="<f4")
    return np.clip(samples, -1.0, 1.0, out=samples)  # resampling can overshoot full scale


def floats(samples: np.ndarray) -> np.ndarray:
    """``samples`` as float32 in [-1, 1], whichever way they were decoded."""
    if samples.dtype == np.int16:
        converted = samples.astype(np.float32)
        converted *= 1 / 32768
        return converted
    return samples.astype(np.float32, copy=False)


def sound_seconds(samples: np.ndarray) -> float:
    """How many seconds of ``samples`` are louder than silence (a minute at a time: no
    copy of the whole recording)."""
    frame = SAMPLE_RATE // 50
    loud = 0
    step = 60 * SAMPLE_RATE
    for offset in range(0, len(samples), step):
        block = floats(samples[offset : offset + step])
        usable = len(block) - len(block) % frame
        frames = block[:usable].reshape(-1, frame)
        power = np.einsum("ij,ij->i", frames, frames) / frame
        loud += int((np.sqrt(power) > SILENCE_RMS).sum())
    return loud / 50


def is_silent(samples: np.ndarray) -> bool:
    """True for digital silence or near it: nothing whisper could hear as speech."""
    return sound_seconds(samples) < MIN_SOUND_SECONDS
