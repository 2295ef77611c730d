"""Subtitles in and out: a video's own human-made subtitles instead of whisper when they are
in the wanted language, and sidecar files (.srt, .vtt, .txt) of every transcript."""

from __future__ import annotations

import re
from pathlib import Path

import yt_dlp
from yt_dlp.utils import DownloadError, ExtractorError

from pipeline import cleanup, source
from pipeline.errors import SourceError
from pipeline.source import SubtitleTrack, VideoInfo
from pipeline.store import write_atomic
from pipeline.transcribe import Segment, Transcript

ENGINE = "captions"
_TIMING = re.compile(r"(?:(\d+):)?(\d{1,2}):(\d{2})[.,](\d{3})\s*-->\s*(?:(\d+):)?(\d{1,2}):(\d{2})[.,](\d{3})")
_TAG = re.compile(r"<[^>]+>")


def _matches(track_language: str, wanted: str) -> bool:
    return track_language.lower().split("-")[0] == wanted.lower().split("-")[0]


def choose_track(video: VideoInfo, language: str | None, policy: str = "human") -> SubtitleTrack | None:
    """The subtitle track to use instead of whisper: human-made first, in the wanted language
    (the one asked for, else the one the site declares). With no language known, a video's
    only human-made track is taken as its own captions (translations come several at once)."""
    if policy == "off":
        return None
    allowed = [t for t in video.subtitles if policy == "any" or not t.automatic]
    wanted = language or video.language
    if not wanted:
        human_languages = {t.language.split("-")[0] for t in video.subtitles if not t.automatic}
        if len(human_languages) != 1:
            return None
        wanted = human_languages.pop()
    tracks = [t for t in allowed if _matches(t.language, wanted)]
    tracks.sort(key=lambda t: (t.automatic, t.ext != "vtt", t.ext != "srt"))
    return tracks[0] if tracks else None


def _seconds(hours: str | None, minutes: str, seconds: str, millis: str) -> float:
    return int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds) + int(millis) / 1000


def parse_subtitles(text: str) -> list[Segment]:
    """Cues of a WebVTT or SRT document, tags stripped, repeated rolling lines merged."""
    segments: list[Segment] = []
    for block in re.split(r"\n\s*\n", text.replace("\r\n", "\n").replace("\r", "\n")):
        lines = block.strip().split("\n")
        for index, line in enumerate(lines):
            match = _TIMING.search(line)
            if match:
                groups = match.groups()
                words = " ".join(_TAG.sub("", part).strip() for part in lines[index + 1 :]).strip()
                if words and not (segments and segments[-1].text == words):
                    segments.append(Segment(_seconds(*groups[:4]), _seconds(*groups[4:]), words))
                break
    return segments


def fetch_captions(video: VideoInfo, track: SubtitleTrack, *, chinese_script: str = "zh-Hans") -> Transcript:
    """The track as a transcript, with the provenance editors see."""
    try:
        with yt_dlp.YoutubeDL(source._options()) as ydl:
            text = ydl.urlopen(track.url).read().decode("utf-8-sig", errors="replace")
    except (DownloadError, ExtractorError, OSError) as exc:
        raise SourceError(f"{track.url}: cannot fetch the {track.language} subtitles ({exc})") from exc
    segments = parse_subtitles(text)
    if not segments:
        raise SourceError(f"{track.url}: the {track.language} subtitles hold no cues")
    if cleanup.is_chinese(track.language):
        segments = [Segment(s.start, s.end, cleanup.to_script(s.text, chinese_script)) for s in segments]
    kind = "automatic captions" if track.automatic else "human-made subtitles"
    duration = float(video.duration or segments[-1].end)
    return Transcript(track.language, kind, ENGINE, duration, tuple(segments))


def _clock(seconds: float, separator: str) -> str:
    millis = round(seconds * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def _cue(segment: Segment, language: str) -> str:
    return cleanup.join_text([segment.text], language)


def to_srt(transcript: Transcript) -> str:
    return "\n".join(
        f"{n}\n{_clock(s.start, ',')} --> {_clock(s.end, ',')}\n{_cue(s, transcript.language)}\n"
        for n, s in enumerate(transcript.segments, start=1)
    )


def to_vtt(transcript: Transcript) -> str:
    cues = "\n".join(
        f"{_clock(s.start, '.')} --> {_clock(s.end, '.')}\n{_cue(s, transcript.language)}\n"
        for s in transcript.segments
    )
    return f"WEBVTT\n\n{cues}"


def write_sidecars(transcript: Transcript, json_path: Path) -> list[Path]:
    """.srt, .vtt and .txt beside the transcript's .json, for video editors and players."""
    written = []
    for suffix, text in (
        (".srt", to_srt(transcript)),
        (".vtt", to_vtt(transcript)),
        (".txt", transcript.text + "\n"),
    ):
        path = json_path.with_suffix(suffix)
        write_atomic(path, text.encode("utf-8"))
        written.append(path)
    return written


def captions_to_file(video: VideoInfo, track: SubtitleTrack, work_dir: Path, *, chinese_script: str) -> Path:
    """The track saved as a transcript (and sidecars) once; reused afterwards."""
    kind = "auto" if track.automatic else "human"
    path = work_dir / f"transcript.captions-{kind}.{track.language}.json"
    if not path.exists():
        transcript = fetch_captions(video, track, chinese_script=chinese_script)
        write_atomic(path, transcript.to_json().encode("utf-8"))
        write_sidecars(transcript, path)
    return path
