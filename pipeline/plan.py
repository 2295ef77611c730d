"""One ingest, decided once: ``plan_ingest`` turns a video's metadata and the settings
into an ``IngestPlan`` (the channel, the spoken language and Chinese script, the
subtitles or publisher's transcript to use, else the model, engine and decoding options
with the names likely said, and the work folder). The ``ingest-video`` flow runs the plan's steps in order; the CLI's
head start, which downloads and decodes while Prefect starts, follows the same plan.
``check_request`` refuses, before either starts, what no video could make work.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from pipeline import captions, corrections, models, suggest, vocabulary
from pipeline.choices import ChineseScript, ComputeType, EngineName
from pipeline.config import Channel, Settings
from pipeline.draft import check_front_matter, check_out_dir, check_template
from pipeline.engines import compute_type_for, engine_name
from pipeline.errors import ConfigError, CorrectionError
from pipeline.store import DraftStore, unwritable
from pipeline.suggest import Known
from pipeline.transcribe import DecodingOptions, default_device, transcript_path, transcript_ready
from pipeline.video import SubtitleTrack, VideoInfo, check_url

log = logging.getLogger(__name__)


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
    model_note: str = ""  # why ``model`` is not the one asked for ("" when it is)
    speakers: bool = False  # speaker turns in the model's transcript (diarize, the channel's, --no-speakers)
    corrections: tuple[tuple[str, str], ...] = ()  # editors' corrections for the channel: (wrong, right)
    known: Known = field(default_factory=Known)  # the names the blog knows, read once: decoder and suggestions

    @property
    def transcript_file(self) -> Path:
        """Where the model's transcript of this video is kept (it may exist from before)."""
        return transcript_path(self.work_dir, models.model_label(self.model), self.decoding)

    @property
    def transcript_ready(self) -> bool:
        """Whether the model's transcript is there from before, with speaker turns looked
        for if they are wanted (``transcribe.transcript_ready``): no audio is needed for it."""
        return transcript_ready(self.transcript_file, speakers=self.speakers)

    @property
    def needs_audio(self) -> bool:
        """Whether the audio must be downloaded: no track to use and no transcript ready
        from before (one saved without the speaker turns now wanted gets them from the audio)."""
        return self.track is None and not self.transcript_ready


def plan_ingest(
    video: VideoInfo,
    settings: Settings,
    *,
    model: str | None = None,
    language: str | None = None,
    engine: str | None = None,
    channel: str | None = None,
    device: str | None = None,
    speakers: bool | None = None,
) -> IngestPlan:
    """The plan for ingesting ``video``. ``model``, ``language`` and ``engine`` are what
    the person asked for (None: the channel's, else the config's); ``channel`` names a
    configured channel (polling passes it; None: the one the video's URLs or uploader
    match: ``channel_of``); ``device`` "cpu" or "cuda" (None: CUDA when there is a GPU); ``speakers``:
    speaker turns in the model's transcript (None: the channel's ``diarize``, else the
    config's; subtitles and publishers' transcripts keep what they say).

    An English-only model is switched for a multilingual one when the language is not
    known to be English, so Mandarin never reaches ``tiny.en``. The track is chosen by
    ``captions.choose_track`` under the config's caption policy. The names given to the
    decoder (``vocabulary.for_video``) come from the video's metadata, the channel's
    ``vocabulary`` and the right forms of the corrections editors taught for it
    (``corrections``, which the draft applies), ``[suggest]`` and the front matter of the
    posts in ``out_dir`` and ``[suggest] posts`` (read here, the video's own draft aside).
    Nothing is downloaded here and no model is loaded
    (``device`` None imports torch to look for a GPU).

    Raises:
        ConfigError: ``channel`` is not configured, or ``engine`` names no engine.
        ModelError: a language whisper does not know, or the model is neither a known name
            nor an existing checkpoint, or it is not on this machine (``models.check_available``).
    """
    found = channel_of(video, settings, channel)
    spoken = language or (found.language if found else None) or settings.language
    spoken = models.language_code(spoken) if spoken else None
    script = ChineseScript((found.chinese_script if found else None) or settings.chinese_script)
    wanted = model or (found.model if found else None) or settings.model
    chosen_engine = engine_name(engine or settings.engine)
    chosen, note = _model_for(wanted, spoken, settings.models_dir, chosen_engine)  # before anything is downloaded
    own = DraftStore(settings.store_path).get(settings.out_dir.resolve(), video.key)  # its draft, if written
    known = suggest.known_names(
        [settings.out_dir, *settings.suggest.posts], settings.suggest.names, skip=own.path if own else None
    )
    learned = _learned(settings, found.url if found else "")
    channel_terms = [*(found.vocabulary if found else ()), *map(corrections.as_term, learned.values())]
    names = vocabulary.for_video(video.title, video.description, video.tags, channel_terms, known)
    decoding = DecodingOptions(
        language=spoken,
        beam_size=settings.beam_size,
        best_of=settings.beam_size,
        device=device or default_device(),
        engine=chosen_engine,
        compute_type=settings.compute_type,
        vad=settings.vad,
        chinese_script=script,
        vocabulary=names,
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
        model_note=note,
        speakers=_first(speakers, found.diarize if found else None, settings.diarize),
        corrections=tuple(learned.items()),
        known=known,
    )


def channel_of(video: VideoInfo, settings: Settings, channel: str | None = None) -> Channel | None:
    """The configured channel of ``video``: the one named ``channel`` (a URL, as polling
    passes it), else the one its URLs or uploader match; None for none.

    Raises:
        ConfigError: ``channel`` is not configured.
    """
    if channel:
        return settings.channel_named(channel)
    return settings.channel_for(video.channel_url, video.webpage_url, uploader=video.uploader)


def _learned(settings: Settings, channel: str) -> dict[str, str]:
    """The corrections editors taught for ``channel`` (``corrections.CorrectionStore.rules``);
    none, with a warning, when they cannot be read: they never stop an ingest."""
    try:
        return corrections.CorrectionStore(settings.corrections_path).rules(channel)
    except CorrectionError as error:
        log.warning("no editors' corrections applied: %s", error)
        return {}


def _first(*choices: bool | None) -> bool:
    """The first choice made (not None)."""
    return next(choice for choice in choices if choice is not None)


def _model_for(wanted: str, spoken: str | None, models_dir: Path, engine: EngineName) -> tuple[str, str]:
    """The model that transcribes audio in ``spoken`` (None: not known) when ``wanted``
    is asked for, checked to be here, and why it is another one ("" when it is not).

    Raises:
        ModelError: the model is unknown, missing or not on this machine.
    """
    models.check_model(wanted)
    chosen = wanted if spoken == "en" else models.multilingual_for(wanted, models_dir=models_dir, engine=engine)
    models.check_available(chosen, models_dir=models_dir, engine=engine)
    if chosen == wanted:
        return chosen, ""
    language = f"the language is {spoken}" if spoken else f"the language is not given (--language en keeps {wanted})"
    return chosen, f"transcribing with {chosen}, not {wanted}: {wanted} knows only English and {language}"


def draft_inputs(
    plan: IngestPlan,
    settings: Settings,
    transcript_file: Path,
    *,
    speaker: str | None,
    today: dt.date,
    learned: Sequence[str],
) -> str:
    """The sha256 (hex) of everything the draft of ``plan`` is composed from when a model
    transcribed it: draftcast's code and template, the settings, the plan (the video's
    metadata, its channel, the model and decoding options, the device aside, the names the
    blog knows), the bytes of ``transcript_file``, ``speaker`` as given, ``today``
    for a video without a date of its own, and ``learned``: what is known of the channel's
    voices and corrections, as their stores give it. Equal inputs compose the same draft,
    so an ingest whose inputs equal those recorded with an unchanged draft has nothing
    to do (``headstart.HeadStart.up_to_date``).

    Raises:
        OSError: ``transcript_file`` cannot be read.
    """
    decoding = dataclasses.replace(plan.decoding, device="")  # a GPU's transcript is the file read
    try:
        template = settings.template.read_bytes()
    except OSError:
        template = b""  # composing says what is wrong with it
    parts = [
        _code_digest(),
        repr(settings),
        repr(dataclasses.replace(plan, decoding=decoding)),
        hashlib.sha256(transcript_file.read_bytes()).hexdigest(),
        hashlib.sha256(template).hexdigest(),
        repr(speaker),
        "" if plan.video.upload_date else today.isoformat(),
        *learned,
    ]
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()


@lru_cache(maxsize=1)
def _code_digest() -> str:
    """The sha256 of draftcast's own code (pipeline/ and flows/): a new version may
    compose another draft from the same inputs."""
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for path in sorted([*root.glob("pipeline/*.py"), *root.glob("flows/*.py")]):
        digest.update(path.name.encode("utf-8") + b"\0" + path.read_bytes())
    return digest.hexdigest()


def check_request(
    url: str,
    settings: Settings,
    *,
    model: str | None = None,
    language: str | None = None,
    engine: str | None = None,
    allow_local_files: bool = False,
) -> None:
    """Refuse, before anything starts or is downloaded, an ingest that fails whatever the
    video is: ``url`` not an http(s) URL (or local file, when allowed), an unknown engine or
    language, a compute type the engine cannot run here, a model that is unknown or not on
    this machine, front matter defaults the blog's schema does not have, a draft template
    that does not parse, a data dir or ``settings.out_dir`` that cannot be written. Needs
    no network; creates the two dirs when missing.

    The model checked is the one a video of no configured channel gets. When channels
    choose their own model or language and the arguments do not, the plan checks the
    model once the video's channel is known, still before any download.

    Raises:
        SourceError: the URL.  ConfigError: the engine or its compute type, the front matter, the
            template, or the data dir.
        ModelError: the model or a language.  OutputError: the output dir.
    """
    check_url(url, allow_local_files=allow_local_files)
    chosen_engine = engine_name(engine or settings.engine)
    if chosen_engine is EngineName.FASTER_WHISPER and settings.compute_type == ComputeType.BFLOAT16:
        compute_type_for(chosen_engine, default_device(), settings.compute_type)  # bfloat16 on a CPU: refused
    language = models.language_code(language) if language else None
    for given in {settings.language, *(channel.language for channel in settings.channels)} - {None}:
        models.language_code(given)  # the config's own languages: refused before the first video too
    if model or not any(channel.model for channel in settings.channels):
        wanted = model or settings.model
        if language or not any(channel.language for channel in settings.channels):
            _model_for(wanted, language or settings.language, settings.models_dir, chosen_engine)
        else:
            models.check_available(wanted, models_dir=settings.models_dir, engine=chosen_engine)
    check_front_matter(settings)
    check_template(settings.template)
    _check_data_dir(settings.data_dir)
    check_out_dir(settings.out_dir)


def _check_data_dir(data_dir: Path) -> None:
    if (exc := unwritable(data_dir)) is not None:
        raise ConfigError(
            f"cannot write draftcast's data dir {data_dir}: {exc.strerror or exc}; "
            "set DRAFTCAST_HOME (or data_dir in the config) to a folder you can write"
        ) from exc
