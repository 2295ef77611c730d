"""Feeds, the ledger and poll decisions: real XML over real HTTP, a real SQLite ledger.

Launching a run and reading its outcome are draftcast's own seams (Prefect does them in
flows/poll.py, tested end to end in test_service.py); here they are recorded in lists.
"""

from __future__ import annotations

import datetime as dt
from html import escape
from pathlib import Path

import pytest

from pipeline import feeds, polling
from pipeline.config import Channel, PollSettings
from pipeline.errors import SourceError, SourceUnavailable
from pipeline.feeds import FeedEntry
from pipeline.ledger import Ledger, State
from tests.conftest import Site

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def youtube_feed(channel_id: str, videos: list[tuple[str, str, dt.datetime]], base: str) -> str:
    """A feed in YouTube's channel-feed format (Atom + yt: and media: namespaces)."""
    entries = "".join(
        f"""<entry><id>yt:video:{video_id}</id><yt:videoId>{video_id}</yt:videoId>
        <yt:channelId>{channel_id}</yt:channelId><title>{title}</title>
        <link rel="alternate" href="{base}/{video_id}.html"/>
        <author><name>Best Partners TV</name><uri>https://www.youtube.com/channel/{channel_id}</uri></author>
        <published>{published.isoformat()}</published><updated>{published.isoformat()}</updated>
        <media:group><media:title>{title}</media:title><media:description>About {title}</media:description>
        </media:group></entry>"""
        for video_id, title, published in ((v, escape(t), p) for v, t, p in videos)
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns:yt="http://www.youtube.com/xml/schemas/2015" xmlns:media="http://search.yahoo.com/mrss/"
 xmlns="http://www.w3.org/2005/Atom"><id>yt:channel:{channel_id}</id><yt:channelId>{channel_id}</yt:channelId>
<title>Best Partners TV</title><author><name>Best Partners TV</name></author>{entries}</feed>"""


def rss_feed(items: list[tuple[str, str, dt.datetime]], base: str) -> str:
    body = "".join(
        f"""<item><title>{title}</title><link>{base}/{guid}.html</link><guid>{guid}</guid>
        <pubDate>{published.strftime("%a, %d %b %Y %H:%M:%S +0000")}</pubDate>
        <description>Notes of {title}</description>
        <enclosure url="{base}/jfk.mp4" type="video/mp4" length="1"/><itunes:author>Host</itunes:author>
        <itunes:duration>1:02:03</itunes:duration></item>"""
        for guid, title, published in ((g, escape(t), p) for g, t, p in items)
    )
    return f"""<?xml version="1.0"?><rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd">
<channel><title>A podcast</title>{body}</channel></rss>"""


def test_youtube_atom_feed_entries_have_youtube_keys(site: Site) -> None:
    (site.root / "yt.xml").write_text(youtube_feed("UC" + "a" * 22, [("abcdefghijk", "Talk & chips", NOW)], site.base))
    listing = feeds.list_channel(site.url("yt.xml"), known=lambda key: False, polled_before=False)
    (entry,) = listing.entries
    assert entry.key == "youtube:abcdefghijk" and entry.title == "Talk & chips"
    assert entry.url == f"{site.base}/abcdefghijk.html" and entry.page_url == ""
    assert entry.published == NOW and entry.description == "About Talk & chips"
    assert entry.uploader == "Best Partners TV"


def test_rss_enclosures_carry_the_episode_page_and_metadata(site: Site) -> None:
    (site.root / "pod.xml").write_text(rss_feed([("ep-7", "Episode 7", NOW)], site.base))
    (entry,) = feeds.list_channel(site.url("pod.xml"), known=lambda key: False, polled_before=False).entries
    assert entry.url == site.url("jfk.mp4") and entry.page_url == site.url("ep-7.html")
    assert entry.key.startswith("feed:") and entry.duration == 3723 and entry.uploader == "Host"
    parameters = polling.ingest_parameters(entry, Channel(url=site.url("pod.xml")))
    assert parameters["overrides"] == {
        "webpage_url": site.url("ep-7.html"),
        "title": "Episode 7",
        "description": "Notes of Episode 7",
        "uploader": "Host",
        "upload_date": NOW.date().isoformat(),
    }


@pytest.mark.parametrize(
    "document",
    [
        # billion laughs: entity expansion
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]><rss>&b;</rss>',
        # external entity
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><rss><channel>&x;</channel></rss>',
    ],
)
def test_hostile_xml_is_refused_not_expanded(document: str) -> None:
    with pytest.raises(SourceError, match="not a valid RSS or Atom feed"):
        feeds.parse_feed(document.encode(), "http://feed/")


def test_feed_fetch_errors_are_mapped(site: Site) -> None:
    with pytest.raises(SourceError, match="HTTP 404") as error:
        feeds.fetch_url(site.url("missing.xml"))
    assert type(error.value) is SourceError
    with pytest.raises(SourceUnavailable, match="cannot fetch the feed"):
        feeds.fetch_url("http://127.0.0.1:9/feed.xml")
    with pytest.raises(SourceError, match="not an RSS or Atom feed"):
        feeds.parse_feed(b"<html><body>hi</body></html>", "http://x/")


def test_youtube_channel_urls_are_recognised() -> None:
    assert feeds.is_youtube_channel("https://www.youtube.com/@BestPartners/videos")
    assert feeds.is_youtube_channel("https://www.youtube.com/channel/UC" + "x" * 22)
    assert not feeds.is_youtube_channel("https://www.youtube.com/watch?v=abc")
    assert not feeds.is_youtube_channel("https://www.youtube.com/playlist?list=PL1")
    assert feeds.youtube_channel_id("https://www.youtube.com/channel/UC" + "x" * 22 + "/videos") == "UC" + "x" * 22


def _entry(key: str, minutes_ago: float = 0, title: str = "t", live: str = "") -> FeedEntry:
    published = NOW - dt.timedelta(minutes=minutes_ago)
    return FeedEntry(key=key, url=f"http://v/{key}", title=title, published=published, live_status=live)


def test_youtube_backstop_lists_the_channel_only_when_the_whole_feed_is_new(monkeypatch: pytest.MonkeyPatch) -> None:
    """YouTube cannot be reached here: its feed endpoint and yt-dlp's listing of the
    channel's videos tab are replaced by stand-ins that return what YouTube would."""
    channel_id = "UC" + "b" * 22
    feed = youtube_feed(channel_id, [(f"vid{n:08d}", f"Video {n}", NOW) for n in range(20, 5, -1)], "https://yt")
    tab = tuple(_entry(f"youtube:vid{n:08d}") for n in range(20, 0, -1))  # the videos tab, newest first
    calls: list[str] = []

    def listing_stand_in(url: str, *, limit: int = feeds.BACKSTOP_LIMIT) -> tuple[tuple[FeedEntry, ...], dict]:
        calls.append(url)
        return tab, {"channel_id": channel_id}

    monkeypatch.setattr(feeds, "flat_listing", listing_stand_in)
    url = f"https://www.youtube.com/channel/{channel_id}"

    def poll(known: set[str], polled_before: bool) -> feeds.Listing:
        return feeds.list_channel(
            url, known=known.__contains__, polled_before=polled_before, fetch=lambda feed_url: feed.encode()
        )

    assert len(poll(set(), polled_before=False).entries) == 15 and calls == []  # first poll: the feed only
    assert len(poll({"youtube:vid00000010"}, polled_before=True).entries) == 15 and calls == []  # feed overlaps
    gap = poll({"youtube:vid00000003"}, polled_before=True)  # 17 new videos: the feed's 15 hide two
    assert calls == [f"{url}/videos"]
    assert [e.key for e in gap.entries][-2:] == ["youtube:vid00000005", "youtube:vid00000004"]
    assert len(gap.entries) == 17


def test_filters_and_no_backfill(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite")
    channel = Channel(url="http://feed/", include=("(?i)interview",), exclude=("#shorts",))
    record = ledger.channel_polled(channel.url)
    entries = (
        _entry("a", 5, "An interview with Gavin Baker"),
        _entry("b", 5, "Interview #shorts"),
        _entry("c", 5, "A lecture"),
        _entry("d", 60 * 24 * 30, "Interview, a month old"),
        _entry("e", 5, "Interview, live now", live="is_live"),
        FeedEntry(key="f", url="http://v/f", title="Interview, undated", published=None),
    )
    new = polling.new_entries(entries, channel, record, ledger, PollSettings())
    assert [e.key for e in new] == ["a"]
    backfill = Channel(url="http://feed/", backfill=True)
    assert {e.key for e in polling.new_entries(entries, backfill, record, ledger, PollSettings())} == set("abcdf")
    later = ledger.channel_polled(channel.url)  # second poll: undated entries are new now
    assert [e.key for e in polling.new_entries(entries, channel, later, ledger, PollSettings())] == ["f", "a"]


class Runs:
    """Records launches; outcomes are set by the test (Prefect does this in flows/poll.py)."""

    def __init__(self) -> None:
        self.launched: list[tuple[str, dict, int]] = []
        self.outcomes: dict[str, polling.RunOutcome] = {}

    def launch(self, key: str, parameters: dict, attempt: int) -> str:
        self.launched.append((key, parameters, attempt))
        return f"run-{len(self.launched)}"

    def read(self, run_id: str) -> polling.RunOutcome:
        return self.outcomes.get(run_id, polling.RunOutcome("running"))


def test_launch_once_then_retry_with_backoff_then_give_up(tmp_path: Path) -> None:
    ledger, runs, report = Ledger(tmp_path / "ledger.sqlite"), Runs(), polling.PollReport()
    channel = Channel(url="http://feed/")
    settings = PollSettings(max_attempts=2, retry_after=(600,))
    record = ledger.channel_polled(channel.url)
    entries = (_entry("new-1"), _entry("new-2", 1))
    polling.launch_new(
        polling.new_entries(entries, channel, record, ledger, settings), channel, ledger, runs.launch, report
    )
    assert [k for k, _, _ in runs.launched] == ["new-2", "new-1"]  # oldest first
    polling.launch_new(
        polling.new_entries(entries, channel, record, ledger, settings), channel, ledger, runs.launch, report
    )
    assert len(runs.launched) == 2  # polling twice launches nothing new

    runs.outcomes = {"run-1": polling.RunOutcome("completed"), "run-2": polling.RunOutcome("failed", "HTTP 404")}
    polling.refresh(ledger, runs.read, settings, report, NOW)
    assert ledger.get("new-2").state is State.DRAFTED and ledger.get("new-1").state is State.FAILED
    polling.relaunch_due(ledger, runs.launch, report, NOW)
    assert len(runs.launched) == 2  # not due yet: backoff
    polling.relaunch_due(ledger, runs.launch, report, NOW + dt.timedelta(seconds=601))
    assert runs.launched[-1] == ("new-1", {"url": "http://v/new-1", "channel": "http://feed/"}, 2)
    assert polling.idempotency_key("new-1", 2) == "new-1#attempt-2" != polling.idempotency_key("new-1", 1)

    runs.outcomes["run-3"] = polling.RunOutcome("failed", "HTTP 404 again")
    polling.refresh(ledger, runs.read, settings, report, NOW)
    gave_up = ledger.get("new-1")
    assert gave_up.state is State.GAVE_UP and gave_up.attempts == 2 and gave_up.last_error == "HTTP 404 again"
    polling.relaunch_due(ledger, runs.launch, report, NOW + dt.timedelta(days=30))
    assert len(runs.launched) == 3  # left for a person


def test_live_videos_wait_without_using_up_attempts(tmp_path: Path) -> None:
    ledger, runs, report = Ledger(tmp_path / "ledger.sqlite"), Runs(), polling.PollReport()
    channel = Channel(url="http://feed/")
    settings = PollSettings(max_attempts=1, retry_after=(60,))
    polling.launch_new([_entry("live")], channel, ledger, runs.launch, report)
    for n in range(1, 4):
        runs.outcomes[f"run-{n}"] = polling.RunOutcome("failed", "NotReady: http://v/live: not broadcast yet")
        polling.refresh(ledger, runs.read, settings, report, NOW)
        assert ledger.get("live").state is State.WAITING
        polling.relaunch_due(ledger, runs.launch, report, NOW + dt.timedelta(minutes=2))
    assert len(runs.launched) == 4 and ledger.get("live").attempts == 1


def test_a_run_that_never_ends_counts_as_failed(tmp_path: Path) -> None:
    ledger, runs, report = Ledger(tmp_path / "ledger.sqlite"), Runs(), polling.PollReport()
    polling.launch_new([_entry("stuck")], Channel(url="http://feed/"), ledger, runs.launch, report)
    settings = PollSettings(run_timeout_hours=1)
    polling.refresh(ledger, runs.read, settings, report, NOW)
    assert ledger.get("stuck").state is State.LAUNCHED
    polling.refresh(ledger, runs.read, settings, report, NOW + dt.timedelta(hours=2))
    assert ledger.get("stuck").state is State.FAILED and "no outcome" in ledger.get("stuck").last_error


def test_pages_and_playlists_are_listed_flat_by_yt_dlp(site: Site) -> None:
    (site.root / "two-talks.html").write_text(
        "<html><head><title>Two talks</title></head><body>"
        "<video src='jfk.mp4'></video><video src='librispeech-1995-1837-0001.mp4'></video></body></html>"
    )
    listing = feeds.list_channel(site.url("two-talks.html"), known=lambda key: False, polled_before=False)
    assert [e.url for e in listing.entries] == [site.url("jfk.mp4"), site.url("librispeech-1995-1837-0001.mp4")]
    assert len({e.key for e in listing.entries}) == 2 and all(e.key.startswith("feed:") for e in listing.entries)
