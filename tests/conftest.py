"""Shared fixtures: an isolated data dir per test, real media served on 127.0.0.1.

Nothing here is a mock: videos are made with ffmpeg from real speech (tests/media),
served by a real HTTP server, fetched by real yt-dlp and transcribed by real whisper
weights (the offline packages). YouTube itself cannot be reached from here; pages with
schema.org JSON-LD metadata stand in for a video site's page.
"""

from __future__ import annotations

import functools
import html
import json
import logging
import os
import subprocess
import threading
import wave
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pipeline.audio import SAMPLE_RATE, ffmpeg_executable
from pipeline.video import VideoInfo

MEDIA = Path(__file__).parent / "media"
REFERENCES = {
    "jfk.flac": "And so my fellow Americans, ask not what your country can do for you, "
    "ask what you can do for your country.",
    "librispeech-1995-1837-0001.wav": "IT WAS THE FIRST GREAT SORROW OF HIS LIFE IT WAS NOT SO MUCH THE LOSS OF "
    "THE COTTON ITSELF BUT THE FANTASY THE HOPES THE DREAMS BUILT AROUND IT",
    "aishell-BAC009S0724W0121.wav": "广州市房地产中介协会分析",
}
HOSTILE = "Ask not: # 'what' \"your\" --- {{ country }} {% raw %} 🇺🇸 <script>alert(1)</script>\nsecond line ---"


class _QuietHandler(SimpleHTTPRequestHandler):
    """Serves files without logging; counts each path's GET requests in ``server.gets``."""

    server: _QuietServer

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.server.gets[self.path] += 1
        super().do_GET()


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.gets: Counter[str] = Counter()  # a Site shares its own (the site fixture)

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that hangs up early (yt-dlp probing) is not a test failure


@dataclass
class Site:
    """A local web site: files under ``root`` served at ``base``."""

    root: Path
    base: str
    gets: Counter[str] = field(default_factory=Counter)  # GET requests by path ("/jfk.mp4"), when counted

    def url(self, name: str) -> str:
        return f"{self.base}/{name}"

    def add_page(
        self,
        name: str,
        *,
        media: str,
        title: str,
        description: str = "",
        uploader: str = "",
        date: str = "2025-10-28",
        tags: tuple[str, ...] = (),
        chapters: tuple[tuple[float, float, str], ...] = (),
    ) -> str:
        """A video page with schema.org VideoObject metadata, as video sites publish."""
        metadata = {
            "@context": "https://schema.org",
            "@type": "VideoObject",
            "name": title,
            "description": description,
            "uploadDate": f"{date}T08:00:00+00:00",
            "contentUrl": self.url(media),
            "author": {"@type": "Person", "name": uploader},
            "keywords": ", ".join(tags),
            "hasPart": [
                {"@type": "Clip", "name": t, "startOffset": start, "endOffset": end} for start, end, t in chapters
            ],
        }
        # JSON in a <script> must not close the element early.
        encoded = json.dumps(metadata, ensure_ascii=False).replace("</", "<\\/")
        page = (
            f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<script type='application/ld+json'>{encoded}</script></head>"
            f"<body><h1>{html.escape(title)}</h1></body></html>"
        )
        (self.root / name).write_text(page, encoding="utf-8")
        return self.url(name)


def make_video(audio: Path | str, out: Path, *, lavfi_audio: bool = False) -> Path:
    """An mp4 as a video site serves it: a still picture and the audio (AAC)."""
    audio_input = ["-f", "lavfi", "-i", str(audio)] if lavfi_audio else ["-i", str(audio)]
    command = [
        ffmpeg_executable(), "-nostdin", "-loglevel", "error", "-y",
        "-f", "lavfi", "-i", "color=c=darkblue:s=160x120:r=1", *audio_input,
        "-shortest", "-c:v", "libx264", "-tune", "stillimage", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-b:a", "64k", str(out),
    ]  # fmt: skip
    subprocess.run(command, check=True)
    return out


GAP_SPEECH_STARTS = (0.0, 101.0)  # jfk (11 s), 60 s of silence, 30 s of pink noise, LibriSpeech
JFK_SUBTITLES = """WEBVTT

00:00.000 --> 00:03.500
<v Kennedy>And so, my fellow Americans:

00:03.500 --> 00:07.000
ask not what your country can do for you —

00:07.000 --> 00:11.000
ask what you can do for your country.
"""


def make_gap_recording(out: Path) -> Path:
    """Speech, a minute of silence, 30 s of noise, speech again: where whisper invents text."""
    command = [
        ffmpeg_executable(), "-nostdin", "-loglevel", "error", "-y",
        "-i", str(MEDIA / "jfk.flac"),
        "-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono:d=60",
        "-f", "lavfi", "-i", "anoisesrc=d=30:c=pink:r=16000:a=0.08",
        "-i", str(MEDIA / "librispeech-1995-1837-0001.wav"),
        "-filter_complex",
        "[0:a]aresample=16000,aformat=channel_layouts=mono[a];[3:a]aresample=16000,aformat=channel_layouts=mono[b];"
        "[a][1:a][2:a][b]concat=n=4:v=0:a=1[out]",
        "-map", "[out]", "-ar", "16000", "-ac", "1", str(out),
    ]  # fmt: skip
    subprocess.run(command, check=True)
    return out


REPEATED_SENTENCE = "It was the first great sorrow of his life"  # LibriSpeech's first 2.7 s


def make_repeated_recording(out: Path, *, times: int = 6, pause: float = 0.5) -> Path:
    """One sentence said ``times`` times with short pauses: whisper writes it fewer times."""
    command = [
        ffmpeg_executable(), "-nostdin", "-loglevel", "error", "-y",
        "-i", str(MEDIA / "librispeech-1995-1837-0001.wav"),
        "-filter_complex",
        f"[0:a]atrim=0:2.7,asetpts=PTS-STARTPTS,apad=pad_dur={pause},asplit={times}"
        + "".join(f"[s{n}]" for n in range(times)) + ";"
        + "".join(f"[s{n}]" for n in range(times)) + f"concat=n={times}:v=0:a=1[out]",
        "-map", "[out]", "-ar", "16000", "-ac", "1", str(out),
    ]  # fmt: skip
    subprocess.run(command, check=True)
    return out


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("site")
    for clip in REFERENCES:
        make_video(MEDIA / clip, root / f"{Path(clip).stem}.mp4")
    make_video("anullsrc=r=16000:cl=mono:d=6", root / "silence.mp4", lavfi_audio=True)
    make_gap_recording(root / "gap.wav")
    make_video(root / "gap.wav", root / "gap.mp4")
    (root / "jfk.en.vtt").write_text(JFK_SUBTITLES, encoding="utf-8")
    (root / "corrupt.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40)
    (root / "no-media.html").write_text("<html><head><title>Words only</title></head><body>hi</body></html>")
    server = _QuietServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Site(root, f"http://127.0.0.1:{server.server_address[1]}", server.gets)
    server.shutdown()


@pytest.fixture(scope="session")
def shared_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Converted checkpoints, shared by all tests (converting is the slow part)."""
    return tmp_path_factory.mktemp("models")


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shared_models: Path) -> Path:
    """Every test gets its own data dir, output dir and home: none touches the user's."""
    home = tmp_path / "draftcast-home"
    home.mkdir()
    (home / "models").symlink_to(shared_models, target_is_directory=True)
    monkeypatch.setenv("DRAFTCAST_HOME", str(home))
    monkeypatch.setenv("DRAFTCAST_OUT", str(tmp_path / "drafts"))
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    monkeypatch.setenv("DRAFTCAST_RETRY_DELAYS", "0.1")
    for name in ("DRAFTCAST_CONFIG", "DRAFTCAST_MODEL", "DRAFTCAST_LANGUAGE", "DRAFTCAST_TEMPLATE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return home


@pytest.fixture(scope="session")
def prefect_api() -> Iterator[None]:
    """Prefect's test harness: a temporary API for flows run in this process."""
    from prefect.testing.utilities import prefect_test_harness

    saved = dict(os.environ)
    # The harness's server would send telemetry to Prefect's host: nothing leaves 127.0.0.1.
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    with prefect_test_harness(server_startup_timeout=120):
        yield
    os.environ.clear()
    os.environ.update(saved)


def run_cli(capfd: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``draftcast ingest ARGS`` in this process: (exit code, stdout, stderr)."""
    from prefect.logging import configuration

    from flows.cli import main

    # Each call configures logging as a fresh process would, so Prefect's console
    # handler writes to this test's captured stderr, not to an earlier test's. A daemon
    # thread of an earlier call (its head start) may still log through that call's
    # handler, to its captured stream, closed since: logging would print "--- Logging
    # error ---" into this test's stderr. No person's run shares a process that way.
    configuration.PROCESS_LOGGING_CONFIG.clear()
    logging.raiseExceptions = False
    code = main(["ingest", *args])
    captured = capfd.readouterr()
    return code, captured.out, captured.err


def write_wav(samples: np.ndarray, path: Path) -> Path:
    """16 kHz mono 16-bit WAV of ``samples`` (floats in -1..1, clipped, or int16 as they are)."""
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2") if samples.dtype.kind == "f" else samples.astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(pcm.tobytes())
    return path


def youtube_video(key: str = "abc123") -> VideoInfo:
    """A YouTube video's metadata as yt-dlp gives it (no network): "A talk" by Talk Show."""
    fields = {
        "id": key, "extractor": "youtube", "title": "A talk", "uploader": "Talk Show", "channel_url": "",
        "upload_date": "2025-10-28", "duration": 30.0, "webpage_url": f"https://www.youtube.com/watch?v={key}",
        "description": "", "tags": [], "chapters": [],
    }  # fmt: skip
    return VideoInfo.from_dict(fields)
