"""draftcast's pipeline: plain Python steps from a video URL to a Markdown draft.

URL → source (yt-dlp) → audio (ffmpeg) → transcribe (whisper) → draft (front matter + body).
Orchestration lives in ``flows``; nothing here imports Prefect.
"""

from pipeline.errors import (
    AudioError,
    ConfigError,
    DraftcastError,
    ModelError,
    NoSpeechError,
    NotReady,
    OutputError,
    SourceError,
    SourceUnavailable,
)

__all__ = [
    "AudioError",
    "ConfigError",
    "DraftcastError",
    "ModelError",
    "NoSpeechError",
    "NotReady",
    "OutputError",
    "SourceError",
    "SourceUnavailable",
]
