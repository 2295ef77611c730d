"""The Prefect flow ``ingest-video``: one flow run turns one video URL into one draft.

Tasks wrap the pipeline's steps; the work files in the data dir are the cache (audio,
then transcript per model and language), so a run after a failure resumes at the step
that failed. Prefect's result cache is not used for them: a cached path could name a
file that has since been removed, while the files cannot lie about themselves.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)

from flows import slot
from pipeline import captions, draft, models, source, transcribe, writer
from pipeline.config import Channel, Settings, load_settings
from pipeline.errors import SourceUnavailable
from pipeline.source import SubtitleTrack, VideoInfo
from pipeline.store import DraftStore, locked
from pipeline.transcript import Transcript

TRANSCRIPTION_LIMIT = "draftcast-transcription"  # global concurrency limit, made by `draftcast setup`

logging.getLogger("pipeline").setLevel(logging.INFO)  # shown through PREFECT_LOGGING_EXTRA_LOGGERS


def _retry_if_transient(task, task_run, state) -> bool:  # type: ignore[no-untyped-def]
    """Retry network steps only for failures that may pass (refused, timeout, 5xx)."""
    try:
        state.result()
    except SourceUnavailable:
        return True
    except Exception:
        return False
    return False


@task(retries=3, retry_delay_seconds=[2, 5, 15], retry_condition_fn=_retry_if_transient)
def fetch_metadata(url: str, allow_local_files: bool, network: source.Network) -> VideoInfo:
    video = source.fetch_metadata(url, allow_local_files=allow_local_files, network=network)
    get_run_logger().info("%s: %r by %s (%s)", video.key, video.title, video.uploader or "unknown", video.upload_date)
    return video


@task
def prepare_model(model: str, models_dir: Path, engine: str, device: str) -> models.ResolvedModel:
    resolved = transcribe.preload(model, models_dir=models_dir, engine=engine, device=device)
    get_run_logger().info("model %s: %s", resolved.name, resolved.origin)
    return resolved


@task(retries=3, retry_delay_seconds=[2, 5, 15], retry_condition_fn=_retry_if_transient)
def download_audio(
    video: VideoInfo, work_dir: Path, allow_local_files: bool, limits: source.Limits, network: source.Network
) -> Path:
    with locked(work_dir):
        return source.download_audio(
            video, work_dir, allow_local_files=allow_local_files, limits=limits, network=network
        )


@task
def transcribe_audio(
    media: Path | None, work_dir: Path, model: models.ResolvedModel, options: transcribe.DecodingOptions
) -> Path:
    with locked(work_dir):
        if transcribe.transcript_path(work_dir, model.name, options).exists():
            return transcribe.transcribe_media(None, work_dir, model, options)
        # At most N transcriptions at once across all workers; a killed holder's slot is
        # free again within a minute (flows/slot.py). Without the limit (the embedded
        # default, before `draftcast setup`) this does not wait.
        with slot.hold(TRANSCRIPTION_LIMIT) as held:
            progress = create_progress_artifact(progress=0.0, description="Share of the speech transcribed")

            def show(done: float) -> None:
                update_progress_artifact(artifact_id=progress, progress=round(100 * done, 1))
                held.keep()  # between batches: a slot lost meanwhile is waited for again

            return transcribe.transcribe_media(media, work_dir, model, options, on_progress=show)


@task
def write_draft(
    video: VideoInfo,
    transcript_file: Path,
    work_dir: Path,
    settings: Settings,
    channel: Channel | None,
    speaker: str | None,
    rewrite: bool,
    written: writer.Written | None,
    note: str = "",
) -> draft.DraftResult:
    transcript = Transcript.from_json(transcript_file.read_text(encoding="utf-8"))
    transcript = dataclasses.replace(transcript, note=note)  # e.g. why the publisher's transcript was not used
    text = draft.compose(
        video, transcript, settings=settings, channel=channel, speaker=speaker, today=dt.date.today(), written=written
    )
    with locked(work_dir):
        result = draft.write_draft(
            text, video=video, out_dir=settings.out_dir, store=DraftStore(settings.store_path), rewrite=rewrite
        )
    get_run_logger().info(result.message)
    key = video.work_name.rsplit("-", 1)[-1]
    create_markdown_artifact(
        key=f"draft-{key}", markdown=draft.preview(text, result), description=f"Draft for {video.webpage_url}"
    )
    create_table_artifact(
        key=f"provenance-{key}",
        table=draft.provenance_rows(transcript, written),
        description=f"Where the draft of {video.webpage_url} came from",
    )
    return result


@task
def draft_with_writer(video: VideoInfo, transcript_file: Path, settings: Settings) -> writer.Written:
    """The optional writing step; it never fails the run (a failure is a note in the draft)."""
    transcript = Transcript.from_json(transcript_file.read_text(encoding="utf-8"))
    return writer.draft_fields(video, transcript, settings.writer)


@task(retries=3, retry_delay_seconds=[2, 5, 15], retry_condition_fn=_retry_if_transient)
def fetch_captions(
    video: VideoInfo, track: SubtitleTrack, work_dir: Path, chinese_script: str, network: source.Network
) -> Path:
    if track.publisher:
        get_run_logger().info(
            "using the publisher's transcript (%s, %s) instead of whisper", track.mime_type or track.ext, track.url
        )
    else:
        get_run_logger().info("using the video's %s subtitles (%s) instead of whisper", track.language, track.ext)
    with locked(work_dir):
        return captions.captions_to_file(video, track, work_dir, chinese_script=chinese_script, network=network)


@task(retries=3, retry_delay_seconds=[2, 5, 15], retry_condition_fn=_retry_if_transient)
def fetch_chapters(url: str, network: source.Network) -> tuple[source.Chapter, ...]:
    chapters = source.fetch_chapters(url, network=network)
    get_run_logger().info("%d chapters from the feed's chapters file %s", len(chapters), url)
    return chapters


def _failure(state: Any) -> str:
    """The one-line reason a task's final state failed."""
    error = state.result(raise_on_failure=False)
    return str(error).splitlines()[0] if isinstance(error, BaseException) and str(error) else str(state.message)


def _transcribe(
    video: VideoInfo,
    work_dir: Path,
    settings: Settings,
    channel: Channel | None,
    model: str | None,
    language: str | None,
    chinese_script: str,
    retrying: dict[str, Any],
    allow_local_files: bool,
    engine: str | None,
) -> Path:
    """Model, download and whisper: the path without subtitles."""
    model_name = model or (channel.model if channel else None) or settings.model
    models.check_model(model_name)  # fail before any download
    if language != "en":
        model_name = models.multilingual_for(model_name, models_dir=settings.models_dir)
    options = transcribe.DecodingOptions(
        language=language,
        beam_size=settings.beam_size,
        best_of=settings.beam_size,
        device=transcribe.default_device(),
        engine=engine or settings.engine,
        vad=settings.vad,
        chinese_script=chinese_script,
    )
    # loads the model into memory while the audio downloads
    resolved = prepare_model.submit(model_name, settings.models_dir, options.engine, options.device)
    done_before = transcribe.transcript_path(work_dir, models.model_label(model_name), options).exists()
    media = (
        None
        if done_before
        else download_audio.with_options(**retrying)(
            video, work_dir, allow_local_files, settings.limits, settings.network
        )
    )
    return transcribe_audio(media, work_dir, resolved, options)


@flow(name="ingest-video")
def ingest_video(
    url: str,
    speaker: str | None = None,
    model: str | None = None,
    language: str | None = None,
    out_dir: str | None = None,
    allow_local_files: bool = False,
    rewrite: bool = False,
    channel: str | None = None,
    overrides: dict[str, str] | None = None,
    engine: str | None = None,
) -> str:
    """Fetch the audio of ``url``, transcribe it and write a draft post; returns its path.

    ``channel`` names a configured channel whose settings apply (polling passes it);
    ``overrides`` replace metadata a feed knows better than the media file (title,
    description, upload_date, uploader, webpage_url) and bring a podcast episode's own
    transcript and chapters (transcript_url, transcript_type, transcript_language,
    chapters_url; see source.with_overrides). ``engine``: openai-whisper or
    faster-whisper (default: the config's)."""
    settings = load_settings()
    if out_dir:
        settings = dataclasses.replace(settings, out_dir=Path(out_dir))
    draft.check_out_dir(settings.out_dir)  # fail before any download
    if model:
        models.check_model(model)
    delays = list(settings.network_retry_delays)
    retrying = {"retries": len(delays), "retry_delay_seconds": delays or 0}
    video = source.with_overrides(
        fetch_metadata.with_options(**retrying)(url, allow_local_files, settings.network), overrides
    )
    source.check_limits(video, settings.limits)  # before any download
    channel_settings = (
        settings.channel_named(channel)
        if channel
        else settings.channel_for(video.channel_url, video.webpage_url, uploader=video.uploader)
    )
    spoken = language or (channel_settings.language if channel_settings else None) or settings.language
    script = (channel_settings.chinese_script if channel_settings else None) or settings.chinese_script
    work_dir = settings.work_dir / video.work_name
    if video.chapters_url and not video.chapters:  # the site's own chapters win over the feed's
        chapters = fetch_chapters.with_options(**retrying)(video.chapters_url, settings.network, return_state=True)
        if chapters.is_completed():
            video = dataclasses.replace(video, chapters=chapters.result())
        else:
            get_run_logger().warning("the draft has no chapters: %s", _failure(chapters))
    track = captions.choose_track(video, spoken, settings.captions)
    transcript_file, note = None, ""
    if track is not None:  # people wrote these: better than any model
        fetched = fetch_captions.with_options(**retrying)(
            video, track, work_dir, script, settings.network, return_state=True
        )
        if fetched.is_completed():
            transcript_file = fetched.result()
        elif track.publisher:  # a feed's link gone bad must not cost the episode
            why = _failure(fetched).removeprefix("the publisher's transcript ")
            note = f"the publisher's transcript could not be used: {why}"
            get_run_logger().warning("%s; transcribing with whisper instead", note)
        else:
            fetched.result()  # raises: the video's own subtitles failed, as before
    if transcript_file is None:
        transcript_file = _transcribe(
            video, work_dir, settings, channel_settings, model, spoken, script, retrying, allow_local_files, engine
        )
    written = draft_with_writer(video, transcript_file, settings) if settings.writer.enabled else None
    result = write_draft(video, transcript_file, work_dir, settings, channel_settings, speaker, rewrite, written, note)
    return str(result.path)
