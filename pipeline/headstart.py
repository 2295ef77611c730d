"""The work an ingest can do before its flow runs. Prefect's API takes seconds to start;
meanwhile the CLI fetches the metadata, follows the ingest's plan (pipeline/plan.py),
loads the model, downloads the audio, decodes it and finds its speech. The results go
to the flow in one ``HeadStart`` object, which its steps use instead of doing the same
work again; whatever failed here, the flow's own steps meet, retry and report.
"""

from __future__ import annotations

import logging
import threading

from pipeline import source, speakers, transcribe
from pipeline.config import Settings
from pipeline.plan import IngestPlan, plan_ingest
from pipeline.store import locked
from pipeline.transcribe import PreparedAudio
from pipeline.video import check_limits

log = logging.getLogger(__name__)

METADATA_WAIT_SECONDS = 120.0  # a flow that starts while the head start still asks waits this long at most


class HeadStart:
    """What was done ahead of the ingest of ``url``. Slots, not a dataclass: Prefect
    stores a placeholder for it among the flow run's parameters instead of copying the
    decoded samples into JSON."""

    __slots__ = ("_asked", "extracted", "plan", "prepared", "url")

    def __init__(self, url: str) -> None:
        self.url = url
        self.extracted: source.Extracted | None = None  # yt-dlp's answer for url
        self.plan: IngestPlan | None = None
        self.prepared: PreparedAudio | None = None  # the downloaded audio, decoded, its speech found
        self._asked = threading.Event()  # set once the metadata was asked for (found or not)

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
        """Do what the flow will need, as far as it goes: the metadata, the plan, and when
        the plan needs audio the models loaded (in a thread of their own: whisper's, and
        the speaker model when speaker turns are wanted), the audio downloaded into the
        plan's work folder (under its lock), decoded and its speech found. ``model``,
        ``language``, ``engine``, ``speakers``: as ``plan_ingest``'s. Never raises: the
        flow's steps meet the same failure, retry it where it may pass and report it once."""
        try:
            try:
                self.extracted = source.extract(self.url, allow_local_files=allow_local_files, network=settings.network)
            finally:
                self._asked.set()
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

    def _load_model(self, plan: IngestPlan, settings: Settings) -> None:
        try:
            transcribe.preload(
                plan.model, models_dir=settings.models_dir, engine=plan.decoding.engine, device=plan.decoding.device
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
