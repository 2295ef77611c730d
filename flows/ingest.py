"""The Prefect flow ``ingest-video``: one flow run turns one video URL into one draft.

The flow fetches the metadata, asks ``plan_ingest`` what to do (pipeline/plan.py) and
runs the plan's steps as tasks: the publisher's transcript or the video's subtitles, else
the model, the download and the transcription; then the optional writing step and the
draft. The work files in the data dir are the cache (audio, then transcript per model and
language), so a run after a failure resumes at the step that failed. Prefect's result
cache is not used for them: a cached path could name a file that has since been removed,
while the files cannot lie about themselves.
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
from prefect.cache_policies import NO_CACHE
from prefect.states import Failed, State

from flows import slot
from pipeline import captions, corrections, draft, models, source, transcribe, voices, writer
from pipeline.config import Settings, load_settings
from pipeline.errors import NotReady, is_transient
from pipeline.headstart import HeadStart
from pipeline.plan import IngestPlan, channel_of, check_request, draft_inputs, plan_ingest
from pipeline.store import DraftStore, locked
from pipeline.transcribe import PreparedAudio
from pipeline.transcript import Transcript
from pipeline.video import NETWORK_RETRY_DELAYS, Chapter, Limits, Network, check_limits, with_overrides

TRANSCRIPTION_LIMIT = "draftcast-transcription"  # global concurrency limit, made by `draftcast setup`
# The name of a run's Failed state when its video is live or upcoming: polling reads it
# and tries the video again later, without counting an attempt.
NOT_BROADCAST = "NotBroadcast"

logging.getLogger("pipeline").setLevel(logging.INFO)  # shown through PREFECT_LOGGING_EXTRA_LOGGERS


def retry_if_transient(task, task_run, state) -> bool:  # type: ignore[no-untyped-def]
    """Prefect's retry condition for network steps: retry only failures that may pass
    (``errors.is_transient``: refused, timeout, HTTP 5xx or 429, cut short)."""
    try:
        state.result()
    except Exception as error:
        return is_transient(error)
    return False


# Network steps: retried after each of the delays, for failures that may pass.
NETWORK_RETRIES: dict[str, Any] = {
    "retries": len(NETWORK_RETRY_DELAYS),
    "retry_delay_seconds": list(NETWORK_RETRY_DELAYS),
    "retry_condition_fn": retry_if_transient,
}


def _retrying(settings: Settings) -> dict[str, Any]:
    """NETWORK_RETRIES with the config's delays (network_retry_delays)."""
    delays = list(settings.network_retry_delays)
    return {**NETWORK_RETRIES, "retries": len(delays), "retry_delay_seconds": delays or 0}


@task(**NETWORK_RETRIES, cache_policy=NO_CACHE)
def fetch_metadata(
    url: str, allow_local_files: bool, network: Network, head_start: HeadStart | None
) -> source.Extracted:
    """yt-dlp's answer for ``url`` (``source.extract``): the head start's when it asked for
    the same URL, else asked now. Retried after each of the network delays while the
    failure may pass.

    Raises:
        SourceError, SourceUnavailable (after the retries), NotReady: as ``source.extract``.
    """
    extracted = head_start.metadata(url) if head_start else None
    if extracted is None:
        extracted = source.extract(url, allow_local_files=allow_local_files, network=network)
    video = extracted.video
    get_run_logger().info("%s: %r by %s (%s)", video.key, video.title, video.uploader or "unknown", video.upload_date)
    return extracted


@task(**NETWORK_RETRIES)
def fetch_chapters(url: str, network: Network) -> tuple[Chapter, ...]:
    """The chapters of the feed's JSON chapters file at ``url`` (``source.fetch_chapters``),
    retried while the failure may pass.

    Raises:
        SourceError, SourceUnavailable: as ``source.fetch_chapters`` (the flow then writes
            the draft without chapters).
    """
    chapters = source.fetch_chapters(url, network=network)
    get_run_logger().info("%d chapters from the feed's chapters file %s", len(chapters), url)
    return chapters


@task(**NETWORK_RETRIES)
def fetch_captions(plan: IngestPlan, network: Network) -> Path:
    """The plan's track (it must have one) saved as a transcript in the video's work
    folder, under its lock (``captions.captions_to_file``); returns the transcript's path.
    Retried while the failure may pass.

    Raises:
        SourceError, SourceUnavailable: as ``captions.fetch_captions``.
    """
    track = plan.track
    assert track is not None
    if track.publisher:
        get_run_logger().info(
            "using the publisher's transcript (%s, %s) instead of whisper", track.mime_type or track.ext, track.url
        )
    else:
        get_run_logger().info("using the video's %s subtitles (%s) instead of whisper", track.language, track.ext)
    with locked(plan.work_dir):
        return captions.captions_to_file(
            plan.video, track, plan.work_dir, chinese_script=plan.chinese_script, network=network
        )


@task
def prepare_model(plan: IngestPlan, models_dir: Path) -> models.ResolvedModel:
    """The plan's model resolved and loaded into this process (``transcribe.preload``);
    the flow submits it so that it loads while the audio downloads.

    Raises:
        ModelError, ConfigError: as ``transcribe.preload``.
    """
    options = plan.decoding
    resolved = transcribe.preload(
        plan.model,
        models_dir=models_dir,
        engine=options.engine,
        device=options.device,
        compute_type=options.compute_type,
    )
    get_run_logger().info("model %s: %s", resolved.name, resolved.origin)
    return resolved


@task(**NETWORK_RETRIES, cache_policy=NO_CACHE)
def download_audio(
    plan: IngestPlan, extracted: source.Extracted, allow_local_files: bool, limits: Limits, network: Network
) -> Path:
    """The audio of the plan's video in its work folder, under the video's lock
    (``source.download_audio``, starting from ``extracted``); returns the media file.
    Retried while the failure may pass.

    Raises:
        SourceError, SourceUnavailable (after the retries), NotReady: as
            ``source.download_audio``.
    """
    with locked(plan.work_dir):
        return source.download_audio(
            plan.video,
            plan.work_dir,
            allow_local_files=allow_local_files,
            limits=limits,
            network=network,
            extracted=extracted,
        )


@task(cache_policy=NO_CACHE)  # decoded samples are no cache key
def transcribe_audio(
    media: Path | None, plan: IngestPlan, model: models.ResolvedModel, prepared: PreparedAudio | None
) -> Path:
    """The plan's transcript (``transcribe.transcribe_media``), with speaker turns when the
    plan wants them, made under the video's lock and a slot of TRANSCRIPTION_LIMIT, with
    the share done as a progress artifact; a transcript ready from before is reused
    without a slot (one that lacks the speaker turns now wanted gets them in a slot).
    ``media``: the downloaded file (None when the transcript is ready); ``model``:
    ``prepare_model``'s; ``prepared``: the head start's decoded audio, if any. Returns the
    transcript's path.

    Raises:
        AudioError, NoSpeechError, ModelError, ConfigError: as
            ``transcribe.transcribe_media``.
    """
    with locked(plan.work_dir):
        if plan.transcript_ready:
            return transcribe.transcribe_media(None, plan.work_dir, model, plan.decoding, speakers=plan.speakers)
        # At most N transcriptions at once across all workers; a killed holder's slot is
        # free again within a minute (flows/slot.py). Without the limit (the embedded
        # default, before `draftcast setup`) this does not wait.
        with slot.hold(TRANSCRIPTION_LIMIT) as held:
            progress = create_progress_artifact(progress=0.0, description="Share of the speech transcribed")

            def show(done: float) -> None:
                """Report ``done`` (0 to 1) to the progress artifact and keep the slot."""
                update_progress_artifact(artifact_id=progress, progress=round(100 * done, 1))
                held.keep()  # between batches: a slot lost meanwhile is waited for again

            return transcribe.transcribe_media(
                media, plan.work_dir, model, plan.decoding, on_progress=show, prepared=prepared, speakers=plan.speakers
            )


@task
def learn_corrections(channel_url: str, settings: Settings) -> None:
    """Learn the words editors corrected in the drafts of the channel ``channel_url`` ('' for
    videos of no configured channel), before its next video is planned
    (``corrections.learn_from_drafts``); one log line for each thing learned."""
    store = corrections.CorrectionStore(settings.corrections_path)
    for line in corrections.learn_from_drafts(DraftStore(settings.store_path), store, channel_url):
        get_run_logger().info(line)


@task
def draft_with_writer(plan: IngestPlan, transcript_file: Path, settings: Settings) -> writer.Written:
    """The optional writing step, on the transcript with the editors' corrections applied;
    it never fails the run (a failure is a note in the draft)."""
    transcript = Transcript.from_json(transcript_file.read_text(encoding="utf-8"))
    transcript = corrections.apply_transcript(transcript, dict(plan.corrections))
    return writer.draft_fields(plan.video, transcript, settings.writer)


@task
def write_draft(
    plan: IngestPlan,
    transcript_file: Path,
    settings: Settings,
    speaker: str | None,
    rewrite: bool,
    written: writer.Written | None,
    note: str = "",
) -> draft.DraftResult:
    """The draft composed from the transcript at ``transcript_file`` (``draft.compose``)
    and written under the video's lock (``draft.write_draft``), with its preview and its
    provenance as artifacts. Diarized voices are named first (``voices``: after learning
    the names editors gave in the channel's drafts) and the editors' corrections of the
    plan applied (``corrections.apply_transcript``), and the sidecars carry both.
    ``speaker``: None is the channel's, else the uploader; ``rewrite``: write again a
    draft removed since; ``written``: the writing step's fields; ``note``: for the
    editor (why the publisher's transcript was not used).

    Raises:
        ConfigError: the front-matter defaults or the template (``draft.compose``).
        OutputError: the draft cannot be written.
    """
    video = plan.video
    transcript = Transcript.from_json(transcript_file.read_text(encoding="utf-8"))
    transcript = dataclasses.replace(transcript, note=note)  # e.g. why the publisher's transcript was not used
    channel_url = plan.channel.url if plan.channel else ""
    known_voices = voices.VoiceStore(settings.voices_path)
    for line in known_voices.learn(channel_url):  # editors' renames in this channel's drafts
        get_run_logger().info(line)
    named = known_voices.name_transcript(transcript, channel=plan.channel, episode=video.key)
    named = corrections.apply_transcript(named, dict(plan.corrections))
    if named.corrected:
        get_run_logger().info("editors' corrections applied: %s", ", ".join(named.corrected))
    today = dt.date.today()
    text = draft.compose(
        video,
        named,
        settings=settings,
        channel=plan.channel,
        speaker=speaker,
        today=today,
        written=written,
        known=plan.known,
        learned=[right for _, right in plan.corrections],
    )
    # What the draft is made from, when a later ingest can tell it without the flow (headstart.up_to_date).
    inputs = (
        ""
        if plan.track or written
        else draft_inputs(
            plan, settings, transcript_file, speaker=speaker, today=today, learned=(known_voices.state(channel_url),)
        )
    )
    with locked(plan.work_dir):
        store = DraftStore(settings.store_path)  # it keeps the text written: corrections are learned from it
        result = draft.write_draft(
            text,
            video=video,
            out_dir=settings.out_dir,
            store=store,
            rewrite=rewrite,
            channel=channel_url,
            inputs=inputs,
        )
        if transcript.voices or named.corrected:  # the sidecars read as the draft does
            voices.write_named_sidecars(named, transcript_file)
        if transcript.voices:  # what the draft shows for each label, for learning
            known_voices.remember_draft(
                result, channel=channel_url, transcript_file=transcript_file, transcript=transcript, named=named
            )
    get_run_logger().info(result.message)
    key = video.work_name.rsplit("-", 1)[-1]
    create_markdown_artifact(
        key=f"draft-{key}", markdown=draft.preview(text, result), description=f"Draft for {video.webpage_url}"
    )
    create_table_artifact(
        key=f"provenance-{key}",
        table=draft.provenance_rows(named, written),
        description=f"Where the draft of {video.webpage_url} came from",
    )
    return result


def _failure(state: State) -> str:
    """The one-line reason a task's final state failed."""
    error = state.result(raise_on_failure=False)
    return str(error).splitlines()[0] if isinstance(error, BaseException) and str(error) else str(state.message)


def _with_feed_chapters(plan: IngestPlan, settings: Settings, retrying: dict[str, Any]) -> IngestPlan:
    """The plan with the feed's chapters, when the media has none of its own; a chapters
    file that cannot be read costs the headings only."""
    url = plan.video.chapters_url
    fetched = fetch_chapters.with_options(**retrying)(url, settings.network, return_state=True)
    if not fetched.is_completed():
        get_run_logger().warning("the draft has no chapters: %s", _failure(fetched))
        return plan
    return dataclasses.replace(plan, video=dataclasses.replace(plan.video, chapters=fetched.result()))


def _people_text(plan: IngestPlan, settings: Settings, retrying: dict[str, Any]) -> tuple[Path | None, str]:
    """The plan's track saved as a transcript, and a note for the editor: a publisher's
    transcript that cannot be used gives (None, why), and a model transcribes instead."""
    fetched = fetch_captions.with_options(**retrying)(plan, settings.network, return_state=True)
    if fetched.is_completed():
        return fetched.result(), ""
    if plan.track is not None and plan.track.publisher:  # a feed's link gone bad must not cost the episode
        why = _failure(fetched).removeprefix("the publisher's transcript ")
        note = f"the publisher's transcript could not be used: {why}"
        get_run_logger().warning("%s; transcribing with whisper instead", note)
        return None, note
    return fetched.result(), ""  # raises: the video's own subtitles failed


def _transcribed(
    plan: IngestPlan,
    settings: Settings,
    retrying: dict[str, Any],
    extracted: source.Extracted,
    allow_local_files: bool,
    head_start: HeadStart | None,
) -> Path:
    """The model's transcript: loaded while the audio downloads, then transcribed."""
    resolved = prepare_model.submit(plan, settings.models_dir)
    # The head start may be downloading this audio now; when ffmpeg could not read it,
    # the same bytes would come again: say so rather than download and decode them twice.
    if head_start is not None and (failure := head_start.wait()) is not None:
        raise failure
    media = None
    if not plan.transcript_ready:
        media = download_audio.with_options(**retrying)(
            plan, extracted, allow_local_files, settings.limits, settings.network
        )
    prepared = head_start.prepared if head_start else None
    return transcribe_audio(media, plan, resolved, prepared)


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
    head_start: HeadStart | None = None,
    speakers: bool | None = None,
) -> draft.DraftResult | State:
    """Fetch the audio of ``url``, transcribe it and write a draft post; returns the
    draft's path and what happened to it (written, up to date, left alone as an editor
    changed it, not written as it was removed).

    ``channel`` names a configured channel whose settings apply (polling passes it);
    ``overrides`` replace metadata a feed knows better than the media file (title,
    description, upload_date, uploader, webpage_url) and bring a podcast episode's own
    transcript and chapters (transcript_url, transcript_type, transcript_language,
    chapters_url; see video.with_overrides). ``engine``: openai-whisper or
    faster-whisper (default: the config's). ``head_start``: what the CLI did while
    Prefect started. ``speaker``, ``model``, ``language``: None is the channel's, else the
    config's (the speaker: else the uploader); ``out_dir``: None is the config's.
    ``speakers``: speaker turns in whisper's transcript (False: none, as ``draftcast
    ingest --no-speakers``; None: the channel's ``diarize``, else the config's).

    A live or upcoming video ends the run in a Failed state named NOT_BROADCAST (called
    directly, the flow then raises the NotReady).

    Raises:
        ConfigError: the config, a ``channel`` that is not configured, the template.
        ModelError: a model that cannot exist, be prepared or be loaded.
        SourceError: a URL without media, an override that is not allowed, media over the
            limits; SourceUnavailable after the network steps' retries.
        AudioError: the media cannot be decoded.
        NoSpeechError: the recording holds no speech.
        OutputError: the draft cannot be written (the output dir is tried before any
            download).
    """
    try:
        return _ingest(
            url,
            speaker,
            model,
            language,
            out_dir,
            allow_local_files,
            rewrite,
            channel,
            overrides,
            engine,
            head_start,
            speakers,
        )
    except NotReady as error:
        return Failed(name=NOT_BROADCAST, message=str(error), data=error)


def _ingest(
    url: str,
    speaker: str | None,
    model: str | None,
    language: str | None,
    out_dir: str | None,
    allow_local_files: bool,
    rewrite: bool,
    channel: str | None,
    overrides: dict[str, str] | None,
    engine: str | None,
    head_start: HeadStart | None,
    speakers: bool | None,
) -> draft.DraftResult:
    settings = load_settings()
    if out_dir:
        settings = dataclasses.replace(settings, out_dir=Path(out_dir))
    check_request(  # the CLI did this before Prefect started; a deployment's run does it here
        url, settings, model=model, language=language, engine=engine, allow_local_files=allow_local_files
    )
    retrying = _retrying(settings)
    extracted = fetch_metadata.with_options(**retrying)(url, allow_local_files, settings.network, head_start)
    video = with_overrides(extracted.video, overrides)
    check_limits(video, settings.limits)  # before any download
    found = channel_of(video, settings, channel)
    learn_corrections(found.url if found else "", settings)  # before the plan: what is learned steers the decoder
    plan = plan_ingest(
        video, settings, model=model, language=language, engine=engine, channel=channel, speakers=speakers
    )
    if plan.model_note:
        get_run_logger().info(plan.model_note)
    if video.chapters_url and not video.chapters:  # the site's own chapters win over the feed's
        plan = _with_feed_chapters(plan, settings, retrying)
    transcript_file, note = _people_text(plan, settings, retrying) if plan.track else (None, "")
    if transcript_file is None:
        transcript_file = _transcribed(plan, settings, retrying, extracted, allow_local_files, head_start)
    written = draft_with_writer(plan, transcript_file, settings) if settings.writer.enabled else None
    return write_draft(plan, transcript_file, settings, speaker, rewrite, written, note)
