"""Polling benchmark: one poll of 50 YouTube channels × 15 feed entries, none of them new,
with 10,000 videos in the ledger. The network is excluded: the feeds are served from
memory by a stand-in for YouTube's feed endpoint. Target: under 2 s.

    python bench/poll.py
"""

from __future__ import annotations

import datetime as dt
import functools
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline import feeds, polling
from pipeline.config import Channel, PollSettings
from pipeline.ledger import Ledger
from tests.test_polling import youtube_feed

CHANNELS, ENTRIES, LEDGER_VIDEOS, TARGET_SECONDS, ROUNDS = 50, 15, 10_000, 2.0, 5


def channel_id(n: int) -> str:
    return f"UC{n:022d}"


def build(ledger: Ledger) -> tuple[list[Channel], dict[str, bytes]]:
    now = dt.datetime.now(dt.UTC)
    documents, channels = {}, []
    for n in range(CHANNELS):
        videos = [(f"c{n:03d}v{m:06d}", f"Video {m} of channel {n}", now) for m in range(ENTRIES)]
        documents[feeds.youtube_feed_url(channel_id(n))] = youtube_feed(channel_id(n), videos, "https://yt").encode()
        channels.append(Channel(url=f"https://www.youtube.com/channel/{channel_id(n)}"))
    rows = [(f"youtube:c{n:03d}v{m:06d}", channels[n % CHANNELS].url) for n in range(CHANNELS) for m in range(ENTRIES)]
    rows += [(f"youtube:old{k:07d}", channels[k % CHANNELS].url) for k in range(LEDGER_VIDEOS - len(rows))]
    for key, channel in rows:
        ledger.discover(key, channel=channel, url=key, title=key, published=now, parameters={"url": key})
        ledger.drafted(key)
    for channel in channels:
        ledger.channel_polled(channel.url, channel_id=channel.url.rsplit("/", 1)[-1])
    return channels, documents


def poll(channels: list[Channel], ledger: Ledger, documents: dict[str, bytes]) -> polling.PollReport:
    """The poll-channels flow's own function, with the feeds served from memory."""

    def launch(key: str, parameters: dict, run_key: str) -> str:
        raise AssertionError(f"nothing is new, yet {key} was launched")

    def fetch(url: str) -> feeds.Document:
        return feeds.Document(documents[url], url, "application/atom+xml")

    return polling.poll(
        channels,
        ledger,
        PollSettings(),
        list_channel=functools.partial(feeds.list_channel, fetch=fetch),
        launch=launch,
        read_run=lambda run_id: polling.RunOutcome("running"),
        now=dt.datetime.now(dt.UTC),
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        ledger = Ledger(Path(folder) / "ledger.sqlite")
        started = time.perf_counter()
        channels, documents = build(ledger)
        print(
            f"built {len(ledger.all())} ledger rows and {len(documents)} feeds in {time.perf_counter() - started:.1f} s"
        )
        times = []
        for _ in range(ROUNDS):
            started = time.perf_counter()
            report = poll(channels, ledger, documents)
            times.append(time.perf_counter() - started)
            assert not report.launched and not report.retried
        median = statistics.median(times)
        print(
            f"one poll, {CHANNELS} channels × {ENTRIES} entries, none new, {LEDGER_VIDEOS:,} videos in the ledger: "
            f"median {median:.3f} s of {ROUNDS} (min {min(times):.3f}, max {max(times):.3f})"
        )
        print(
            f"ratio to the 2 s target: {median / TARGET_SECONDS:.2f} ({'met' if median < TARGET_SECONDS else 'MISSED'})"
        )


if __name__ == "__main__":
    main()
