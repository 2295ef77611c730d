"""The work an ingest can do before its flow runs. Prefect's API takes seconds to start;
meanwhile the CLI fetches the metadata, follows the ingest's plan (pipeline/plan.py),
loads the model, downloads the audio, decodes it and finds its speech. The results go
to the flow in one ``HeadStart`` object, which its steps use instead of doing the same
work again; whatever failed here, the flow's own steps meet, retry and report.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import threading
from typing import Any

from pipeline import corrections, source, speakers, transcribe
from pipeline.config import Settings
from pipeline.draft import DraftResult, Outcome
from pipeline.errors import AudioError, DraftcastError
from pipeline.plan import IngestPlan, channel_of, draft_inputs, plan_ingest
from pipeline.store import DraftStore, locked
from pipeline.transcribe import PreparedAudio
from pipeline.video import check_limits
from pipeline.voices import VoiceStore

log = logging.getLogger(__name__)

METADATA_WAIT_SECONDS = 120.0  # a flow that starts while the head start still asks waits this long at most


class HeadStart:
    """What was done ahead of the ingest of ``url``. Slots, not a dataclass: Prefect
    stores a placeholder for it among the flow run's parameters instead of copying the
    decoded samples into JSON."""

    __slots__ = ("_asked", "_idle", "extracted", "failure", "learned", "plan", "prepared", "url")

    def __init__(self, url: str) -> None:
        self.url = url
        self.extracted: source.Extracted | None = None  # yt-dlp's answer for url
        self.plan: IngestPlan | None = None
        self.prepared: PreparedAudio | None = None  # the downloaded audio, decoded, its speech found
        self.learned: list[str] = []  # what up_to_date learned from editors' drafts, a line each
        # Why the audio could not be had, when trying again cannot help (a download ffmpeg
        # cannot read): the flow reports it rather than download and decode it again.
        self.failure: DraftcastError | None = None
        self._asked = threading.Event()  # set once the metadata was asked for (found or not)
        self._idle = threading.Event()  # clear while ``start``'s run goes on
        self._idle.set()

    def ask(self, settings: Settings, *, allow_local_files: bool = False) -> None:
        """The metadata, now (``source.extract``): what ``up_to_date`` and the flow start
        from. Never raises: the flow's steps meet the same failure and report it once."""
        try:
            self.extracted = source.extract(self.url, allow_local_files=allow_local_files, network=settings.network)
        except Exception as error:
            log.debug("head start of %s stopped: %s", self.url, error)
        finally:
            self._asked.set()

    def up_to_date(
        self,
        settings: Settings,
        *,
        speaker: str | None,
        rewrite: bool,
        model: str | None = None,
        language: str | None = None,
        engine: str | None = None,
        speakers: bool | None = None,
    ) -> DraftResult | None:
        """What the ingest would do with the video's draft (after ``ask``), when that is
        nothing: UNCHANGED when the draft on disk is what draftcast wrote from inputs
        equal to today's (``plan.draft_inputs``), KEPT_EDITED when an editor changed it
        since, KEPT_REMOVED when it was removed (and ``rewrite`` is not asked). None when
        there is work to do or it cannot be told without doing it: no metadata,
        subtitles or a publisher's transcript to fetch, a transcript still to make, the
        writing step on, or a draft recorded before draftcast kept its inputs. What
        editors taught in the channel's drafts (words corrected, voices named) is learned
        first, as the flow would (``learned`` says what, for the caller to tell).
        ``model``, ``language``, ``engine``, ``speakers``: as ``plan_ingest``'s. Never
        raises."""
        if self.extracted is None or settings.writer.enabled:
            return None
        try:
            video = self.extracted.video
            check_limits(video, settings.limits)
            found = channel_of(video, settings)
            channel = found.url if found else ""
            drafts = DraftStore(settings.store_path)
            self.learned += corrections.learn_from_drafts(
                drafts, corrections.CorrectionStore(settings.corrections_path), channel
            )
            known_voices = VoiceStore(settings.voices_path)
            self.learned += known_voices.learn(channel)
            # The device is not among a draft's inputs; naming one spares importing torch to look for a GPU.
            plan = plan_ingest(
                video, settings, model=model, language=language, engine=engine, speakers=speakers, device="cpu"
            )
            if plan.track is not None or not plan.transcript_ready:
                return None
            record = drafts.get(settings.out_dir.resolve(), video.key)
            if record is None or not record.inputs:
                return None
            if not record.path.exists():
                return None if rewrite else DraftResult(record.path, Outcome.KEPT_REMOVED)
            if hashlib.sha256(record.path.read_bytes()).hexdigest() != record.sha256:
                return DraftResult(record.path, Outcome.KEPT_EDITED)
            inputs = draft_inputs(
                plan,
                settings,
                plan.transcript_file,
                speaker=speaker,
                today=dt.date.today(),
                learned=(known_voices.state(channel),),
            )
        except Exception as error:  # the flow meets it and says what it is
            log.debug("cannot tell whether the draft of %s is up to date: %s", self.url, error)
            return None
        return DraftResult(record.path, Outcome.UNCHANGED) if inputs == record.inputs else None

    def start(self, settings: Settings, **options: Any) -> None:
        """``run`` in a thread of its own (``options``: its keyword arguments); ``wait``
        returns once it is done."""
        self._idle.clear()

        def run() -> None:
            try:
                self.run(settings, **options)
            finally:
                self._idle.set()

        threading.Thread(target=run, daemon=True).start()

    def wait(self) -> DraftcastError | None:
        """Once ``start``'s run is done (at once if none was started): ``failure``, why
        the audio could not be had when trying again cannot help, or None."""
        self._idle.wait()
        return self.failure

    def run(
        self,
        settings: Settings,
        *,
        model: str | None = None,
        language: str | None = None,
        engine: str | None = None,
        allow_local_files: bool = False,
        speakers: bool | None = None,
    ) -> None:
        """Do what the flow will need, as far as it goes: the metadata (``ask``, unless
        asked before), the plan, and when the plan needs audio the models loaded
        (in a thread of their own: whisper's, and the speaker model when speaker turns
        are wanted), the audio downloaded into the plan's work folder (under its lock),
        decoded and its speech found. ``model``, ``language``, ``engine``, ``speakers``:
        as ``plan_ingest``'s. Never raises: the flow's steps meet the same failure,
        retry it where it may pass and report it once."""
        if not self._asked.is_set():
            self.ask(settings, allow_local_files=allow_local_files)
        if self.extracted is None:
            return
        try:
            video = self.extracted.video
            check_limits(video, settings.limits)
            plan = self.plan = plan_ingest(
                video, settings, model=model, language=language, engine=engine, speakers=speakers
            )
            if not plan.needs_audio:
                return  # the flow uses subtitles, or a transcript made before
            loading = threading.Thread(target=self._load_model, args=(plan, settings), daemon=True)
            loading.start()
            with locked(plan.work_dir):
                if plan.transcript_ready:
                    return
                media = source.download_audio(
                    video,
                    plan.work_dir,
                    allow_local_files=allow_local_files,
                    limits=settings.limits,
                    network=settings.network,
                    extracted=self.extracted,
                )
                self.prepared = transcribe.prepare_audio(media, vad=settings.vad or plan.speakers)
            loading.join()  # mostly done by now: downloading and decoding take longer
        except Exception as error:
            log.debug("head start of %s stopped: %s", self.url, error)
            if isinstance(error, AudioError):
                self.failure = error

    def _load_model(self, plan: IngestPlan, settings: Settings) -> None:
        try:
            transcribe.preload(
                plan.model,
                models_dir=settings.models_dir,
                engine=plan.decoding.engine,
                device=plan.decoding.device,
                compute_type=plan.decoding.compute_type,
            )
        except Exception as error:
            log.debug("head start: the model %s did not load: %s", plan.model, error)
        if plan.speakers:
            try:
                speakers.preload()
            except Exception as error:  # the transcription says why there are no speaker turns
                log.debug("head start: the speaker model did not load: %s", error)

    def metadata(self, url: str) -> source.Extracted | None:
        """yt-dlp's answer for ``url`` once the head start has asked (waiting for it up to
        METADATA_WAIT_SECONDS); None when it asked about another URL or failed."""
        if url != self.url or not self._asked.wait(METADATA_WAIT_SECONDS):
            return None
        return self.extracted
