"""One ingest, decided once: ``plan_ingest`` turns a video's metadata and the settings
into an ``IngestPlan`` (the channel, the spoken language and Chinese script, the
subtitles or publisher's transcript to use, else the model, engine and decoding options,
and the work folder). The ``ingest-video`` flow runs the plan's steps in order; the CLI's
head start, which downloads and decodes while Prefect starts, follows the same plan.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipeline import captions, models
from pipeline.choices import ChineseScript, EngineName, listed
from pipeline.config import Channel, Settings
from pipeline.errors import ConfigError
from pipeline.transcribe import DecodingOptions, default_device, transcript_path
from pipeline.video import SubtitleTrack, VideoInfo


@dataclass(frozen=True)
class IngestPlan:
    """What one ingest does, decided before any slow step starts."""

    video: VideoInfo  # the site's metadata, with what a feed knows better applied
    channel: Channel | None  # the configured channel the video belongs to
    language: str | None  # the spoken language: given, the channel's or the config's; None: detect
    chinese_script: ChineseScript  # how Mandarin text is written: the channel's, else the config's
    work_dir: Path  # the video's work files: media, transcripts, checkpoints
    track: SubtitleTrack | None  # people's text to use instead of a model (subtitles, the publisher's)
    model: str  # the model to transcribe with when there is no track, or when the track fails
    decoding: DecodingOptions  # language, beam, engine, device, VAD and script for the model

    @property
    def transcript_file(self) -> Path:
        """Where the model's transcript of this video is kept (it may exist from before)."""
        return transcript_path(self.work_dir, models.model_label(self.model), self.decoding)

    @property
    def needs_audio(self) -> bool:
        """Whether the audio must be downloaded: no track to use and no transcript made before."""
        return self.track is None and not self.transcript_file.exists()


def plan_ingest(
    video: VideoInfo,
    settings: Settings,
    *,
    model: str | None = None,
    language: str | None = None,
    engine: str | None = None,
    channel: str | None = None,
    device: str | None = None,
) -> IngestPlan:
    """The plan for ingesting ``video``. ``model``, ``language`` and ``engine`` are what
    the person asked for (None: the channel's, else the config's); ``channel`` names a
    configured channel (polling passes it; None: the one the video's URLs or uploader
    match); ``device`` "cpu" or "cuda" (None: CUDA when there is a GPU).

    An English-only model is switched for a multilingual one when the language is not
    known to be English, so Mandarin never reaches ``tiny.en``. The track is chosen by
    ``captions.choose_track`` under the config's caption policy. Nothing is downloaded
    here and no model is loaded (``device`` None imports torch to look for a GPU).

    Raises:
        ConfigError: ``channel`` is not configured, or ``engine`` names no engine.
        ModelError: the model is neither a known name nor an existing checkpoint.
    """
    found = (
        settings.channel_named(channel)
        if channel
        else settings.channel_for(video.channel_url, video.webpage_url, uploader=video.uploader)
    )
    spoken = language or (found.language if found else None) or settings.language
    script = ChineseScript((found.chinese_script if found else None) or settings.chinese_script)
    wanted = model or (found.model if found else None) or settings.model
    models.check_model(wanted)  # before anything is downloaded
    chosen = wanted if spoken == "en" else models.multilingual_for(wanted, models_dir=settings.models_dir)
    decoding = DecodingOptions(
        language=spoken,
        beam_size=settings.beam_size,
        best_of=settings.beam_size,
        device=device or default_device(),
        engine=_engine(engine or settings.engine),
        vad=settings.vad,
        chinese_script=script,
    )
    return IngestPlan(
        video=video,
        channel=found,
        language=spoken,
        chinese_script=script,
        work_dir=settings.work_dir / video.work_name,
        track=captions.choose_track(video, spoken, settings.captions),
        model=chosen,
        decoding=decoding,
    )


def _engine(name: str) -> EngineName:
    try:
        return EngineName(name)
    except ValueError:
        raise ConfigError(f"unknown engine {name!r}: use {listed(EngineName)}") from None
