"""Feeds, the ledger and poll decisions: real XML over real HTTP, a real SQLite ledger.

Launching a run and reading its outcome are draftcast's own seams (Prefect does them in
flows/poll.py, tested end to end in test_service.py); here they are recorded in lists.
"""

from __future__ import annotations

import datetime as dt
import time
import tracemalloc
from html import escape
from pathlib import Path

import pytest

from pipeline import feeds, polling
from pipeline.config import Channel, PollSettings
from pipeline.errors import SourceError, SourceUnavailable
from pipeline.feeds import FeedEntry
from pipeline.ledger import Ledger, State
from tests.conftest import Site
from tests.faults import FaultyServer

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
        "id": entry.key.replace(":", "-"),  # the episode's identity, not its media file's
        "webpage_url": site.url("ep-7.html"),
        "title": "Episode 7",
        "description": "Notes of Episode 7",
        "uploader": "Host",
        "upload_date": NOW.date().isoformat(),
    }


BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">'
    + "".join(f'<!ENTITY {n} "{("&" + p + ";") * 10}">' for p, n in zip("abcdefgh", "bcdefghi", strict=True))
    + ']><rss version="2.0"><channel><title>&i;</title><item><title>&i;</title></item></channel></rss>'
)
EXTERNAL_ENTITY = (
    '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    '<rss version="2.0"><channel><title>&x;</title><item><title>&x;</title></item></channel></rss>'
)


@pytest.mark.parametrize("document", [BILLION_LAUGHS, EXTERNAL_ENTITY], ids=["billion-laughs", "external-entity"])
def test_hostile_xml_is_refused_within_bounds(document: str) -> None:
    tracemalloc.start()
    started = time.perf_counter()
    with pytest.raises(SourceError, match="declares XML entities"):
        feeds.parse_feed(document.encode(), "http://feed/")
    elapsed, (_, peak) = time.perf_counter() - started, tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert elapsed < 1.0 and peak < 10 * 2**20  # 10^9 "a"s would be a gigabyte


def test_an_external_dtd_is_never_fetched(site: Site, tmp_path: Path) -> None:
    """A DOCTYPE naming a DTD by URL (RSS 0.91 feeds do) is read inert: nothing is fetched."""
    server = FaultyServer(tmp_path)
    (tmp_path / "evil.dtd").write_text('<!ENTITY x "expanded">')
    document = (
        f'<?xml version="1.0"?><!DOCTYPE rss SYSTEM "{server.url("evil.dtd")}">'
        '<rss version="2.0"><channel><title>t</title><item><title>one &amp; two</title>'
        '<enclosure url="http://h/a.mp3" type="audio/mpeg"/></item></channel></rss>'
    )
    try:
        (entry,) = feeds.parse_feed(document.encode(), "http://feed/")
        assert entry.title == "one & two" and server.requests == []
    finally:
        server.close()


def test_feed_fetch_errors_are_mapped(site: Site) -> None:
    with pytest.raises(SourceError, match="HTTP 404") as error:
        feeds.fetch_url(site.url("missing.xml"))
    assert type(error.value) is SourceError
    with pytest.raises(SourceUnavailable, match="cannot fetch the feed"):
        feeds.fetch_url("http://127.0.0.1:9/feed.xml")
    with pytest.raises(SourceError, match="not an RSS or Atom feed"):
        feeds.parse_feed(b"<html><body>hi</body></html>", "http://x/")
    assert feeds.fetch_url(site.url("jfk.en.vtt")).url == site.url("jfk.en.vtt")


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
            url,
            known=known.__contains__,
            polled_before=polled_before,
            fetch=lambda feed_url: feeds.Document(feed.encode(), feed_url),
        )

    assert len(poll(set(), polled_before=False).entries) == 15 and calls == []  # first poll: the feed only
    assert len(poll({"youtube:vid00000010"}, polled_before=True).entries) == 15 and calls == []  # feed overlaps
    gap = poll({"youtube:vid00000003"}, polled_before=True)  # 17 new videos: the feed's 15 hide two
    assert calls == [f"{url}/videos"]
    assert [e.key for e in gap.entries][-2:] == ["youtube:vid00000005", "youtube:vid00000004"]
    assert len(gap.entries) == 17


def test_filters_and_no_backfill(tmp_path: Path) -> None:
    ledger, runs = Ledger(tmp_path / "ledger.sqlite"), Runs()
    channel = Channel(url="http://feed/", include=("(?i)interview",), exclude=("#shorts",))
    entries = (
        _entry("a", 5, "An interview with Gavin Baker"),
        _entry("b", 5, "Interview #shorts"),
        _entry("c", 5, "A lecture"),
        _entry("d", 60 * 24 * 30, "Interview, a month old"),
        _entry("e", 5, "Interview, live now", live="is_live"),
        FeedEntry(key="f", url="http://v/f", title="Interview, undated", published=None),
    )
    report = runs.poll(ledger, channel, entries)
    assert [key for key, _, _ in runs.launched] == ["a"]
    assert sorted(report.skipped) == ["b", "c", "d", "f"]  # recorded with why; "e" waits for its broadcast
    assert "before" in ledger.get("d").last_error and "no readable date" in ledger.get("f").last_error
    assert "exclude" in ledger.get("b").last_error and ledger.get("e") is None

    # Second poll: the undated entry of the first poll is history, not news; a new one is new.
    later = (FeedEntry(key="g", url="http://v/g", title="Interview, undated and new", published=None), *entries)
    report = runs.poll(ledger, channel, later)
    assert [key for key, _, _ in runs.launched] == ["a", "g"] and report.skipped == []
    assert ledger.get("f").state is State.SKIPPED

    backfill = Channel(url="http://other/", include=channel.include, exclude=channel.exclude, backfill=True)
    fresh, other_runs = Ledger(tmp_path / "fresh.sqlite"), Runs()
    other_runs.poll(fresh, backfill, entries)
    assert {key for key, _, _ in other_runs.launched} == set("adf")  # filters still hold


class Runs:
    """Records launches; outcomes are set by the test (Prefect does this in flows/poll.py).
    As Prefect does, a launch with an idempotency key seen before gets that run back."""

    def __init__(self) -> None:
        self.launched: list[tuple[str, dict, str]] = []  # (key, parameters, idempotency key)
        self.outcomes: dict[str, polling.RunOutcome] = {}
        self.runs: dict[str, str] = {}  # idempotency key → run id

    def launch(self, key: str, parameters: dict, run_key: str) -> str:
        if run_key not in self.runs:
            self.launched.append((key, parameters, run_key))
            self.runs[run_key] = f"run-{len(self.launched)}"
        return self.runs[run_key]

    def read(self, run_id: str) -> polling.RunOutcome:
        return self.outcomes.get(run_id, polling.RunOutcome("running"))

    def poll(
        self, ledger: Ledger, channel: Channel, entries: tuple[FeedEntry, ...], settings: PollSettings | None = None
    ) -> polling.PollReport:
        """One poll of one channel whose listing is ``entries``, as the flow does it."""
        return polling.poll(
            [channel],
            ledger,
            settings or PollSettings(),
            list_channel=lambda url, **_: feeds.Listing(entries),
            launch=self.launch,
            read_run=self.read,
            now=NOW,
        )


def test_launch_once_then_retry_with_backoff_then_give_up(tmp_path: Path) -> None:
    ledger, runs, report = Ledger(tmp_path / "ledger.sqlite"), Runs(), polling.PollReport()
    channel = Channel(url="http://feed/")
    settings = PollSettings(max_attempts=2, retry_after=(600,))
    entries = (_entry("new-1"), _entry("new-2", 1))
    runs.poll(ledger, channel, entries, settings)
    assert [k for k, _, _ in runs.launched] == ["new-2", "new-1"]  # oldest first
    runs.poll(ledger, channel, entries, settings)
    assert len(runs.launched) == 2  # polling twice launches nothing new

    runs.outcomes = {"run-1": polling.RunOutcome("completed"), "run-2": polling.RunOutcome("failed", "HTTP 404")}
    polling.refresh(ledger, runs.read, settings, report, NOW)
    assert ledger.get("new-2").state is State.DRAFTED and ledger.get("new-1").state is State.FAILED
    polling.relaunch_due(ledger, runs.launch, report, NOW)
    assert len(runs.launched) == 2  # not due yet: backoff
    polling.relaunch_due(ledger, runs.launch, report, NOW + dt.timedelta(seconds=601))
    assert runs.launched[-1] == ("new-1", {"url": "http://v/new-1", "channel": "http://feed/"}, "new-1#attempt-2")
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
    runs.poll(ledger, channel, (_entry("live"),), settings)
    for n in range(1, 4):  # a poll every 5 minutes; the stream is not over yet
        now = NOW + dt.timedelta(minutes=5 * n)
        runs.outcomes[f"run-{n}"] = polling.RunOutcome("failed", "http://v/live: not broadcast yet", not_broadcast=True)
        polling.refresh(ledger, runs.read, settings, report, now)
        assert ledger.get("live").state is State.WAITING
        polling.relaunch_due(ledger, runs.launch, report, now + dt.timedelta(minutes=2))
    # each wait is a new run (Prefect would hand back the failed run of a key it has seen)
    assert len(runs.launched) == 4 and len({run_key for _, _, run_key in runs.launched}) == 4
    assert ledger.get("live").attempts == 1


def test_a_run_that_never_ends_counts_as_failed(tmp_path: Path) -> None:
    ledger, runs, report = Ledger(tmp_path / "ledger.sqlite"), Runs(), polling.PollReport()
    runs.poll(ledger, Channel(url="http://feed/"), (_entry("stuck"),))
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


# ---------------------------------------------------------------- feeds from the wild
# Each case is a kind of feed that podcast apps and feed readers were reported to get
# wrong, rebuilt small and served on 127.0.0.1.

ITUNES = "http://www.itunes.com/dtds/podcast-1.0.dtd"
PODCAST = "https://podcastindex.org/namespace/1.0"


def podcast_feed(items: str, *, itunes: str = ITUNES, prefix: str = "itunes", channel: str = "") -> str:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" xmlns:{prefix}="{itunes}"'
        f' xmlns:podcast="{PODCAST}"><channel><title>Chips Weekly</title><link>https://example.org/</link>'
        f"<language>en</language>{channel}{items}</channel></rss>"
    )


RFC822 = "%a, %d %b %Y %H:%M:%S +0000"


def item(title: str, *, guid: str = "", date: str = "", media: str = "", extra: str = "") -> str:
    """An RSS <item>; ``media`` becomes an audio enclosure."""
    parts = [f"<title>{title}</title>", extra]
    parts += [f"<guid>{guid}</guid>"] if guid else []
    parts += [f"<pubDate>{date}</pubDate>"] if date else []
    parts += [f'<enclosure url="{media}" type="audio/mpeg"/>'] if media else []
    return f"<item>{''.join(parts)}</item>"


def serve(site: Site, name: str, document: str | bytes) -> str:
    path = site.root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(document.encode() if isinstance(document, str) else document)
    return site.url(name)


def listed(url: str) -> tuple[FeedEntry, ...]:
    return feeds.list_channel(url, known=lambda key: False, polled_before=False).entries


def test_relative_urls_are_resolved_against_the_feed(site: Site) -> None:
    one = item("One", guid="1", media="/media/ep1.mp3", extra="<link>ep1.html</link>")
    (entry,) = listed(serve(site, "wild/relative.xml", podcast_feed(one)))
    assert entry.url == f"{site.base}/media/ep1.mp3" and entry.page_url == f"{site.base}/wild/ep1.html"
    atom = (
        '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom" xml:base="shows/"><title>A</title>'
        '<entry xml:base="two/"><id>urn:a</id><title>Two</title><updated>2024-05-01T10:00:00Z</updated>'
        '<link rel="enclosure" type="audio/mpeg" href="ep2.m4a"/><link rel="alternate" href="/ep2"/></entry></feed>'
    )
    (entry,) = listed(serve(site, "wild/base.xml", atom))
    assert entry.url == f"{site.base}/wild/shows/two/ep2.m4a" and entry.page_url == f"{site.base}/ep2"


@pytest.mark.parametrize("prefix", [b"\n", b"  \r\n\t", b"\xef\xbb\xbf", b"\xef\xbb\xbf\n\n  "], ids=repr)
def test_blank_lines_and_a_bom_before_the_xml_declaration(site: Site, prefix: bytes) -> None:
    xml = '<item><title>Ünïcode</title><guid>1</guid><enclosure url="/a.mp3" type="audio/mpeg"/></item>'
    (entry,) = listed(serve(site, f"wild/prefix-{prefix.hex()}.xml", prefix + podcast_feed(xml).encode()))
    assert entry.title == "Ünïcode" and entry.url == f"{site.base}/a.mp3"


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        ("Aug 15, 2019", dt.datetime(2019, 8, 15, tzinfo=dt.UTC)),
        ("Sun, 19 Dec 2021", dt.datetime(2021, 12, 19, tzinfo=dt.UTC)),
        ("Tue, 05 Sept 2017 10:00:00 +0000", dt.datetime(2017, 9, 5, 10, tzinfo=dt.UTC)),
        ("2018-03-04 05:06:07 -0200", dt.datetime(2018, 3, 4, 7, 6, 7, tzinfo=dt.UTC)),
        ("Wednesday, 1 June 2016 09:00 PST", dt.datetime(2016, 6, 1, 17, tzinfo=dt.UTC)),
        ("3 days ago", None),
        ("Aug 15", None),  # no year: not guessed
    ],
)
def test_dates_in_the_forms_feeds_publish(written: str, meant: dt.datetime | None) -> None:
    xml = f'<item><title>t</title><guid>1</guid><pubDate>{written}</pubDate><enclosure url="http://h/a.mp3"/></item>'
    (entry,) = feeds.parse_feed(podcast_feed(xml).encode(), "http://h/feed.xml")
    assert entry.published == meant


def test_old_and_undated_episodes_are_not_launched_and_the_ledger_says_why(site: Site, tmp_path: Path) -> None:
    new = NOW.strftime(RFC822)
    items = "".join(
        item(title, guid=guid, date=date, media=f"/{guid}.mp3")
        for guid, title, date in [
            ("new", "New one", new),
            ("a", "Old A", "Aug 15, 2019"),
            ("b", "Old B", "Sun, 19 Dec 2021"),
            ("c", "Old C", "Tue, 05 Sept 2017 10:00:00 +0000"),
            ("d", "Undated D", "sometime last spring"),
        ]
    )
    url = serve(site, "wild/dates.xml", podcast_feed(items))
    ledger, runs, channel = Ledger(tmp_path / "ledger.sqlite"), Runs(), Channel(url=url)

    def poll() -> polling.PollReport:
        return polling.poll(
            [channel],
            ledger,
            PollSettings(),
            list_channel=feeds.list_channel,
            launch=runs.launch,
            read_run=runs.read,
            now=NOW,
        )

    first = poll()
    assert [p["overrides"]["title"] for _, p, _ in runs.launched] == ["New one"] and len(first.skipped) == 4
    reasons = {video.title: video.last_error for video in ledger.all() if video.state is State.SKIPPED}
    assert "published 2019-08-15" in reasons["Old A"] and "no readable date" in reasons["Undated D"]
    second = poll()
    assert len(runs.launched) == 1 and second.launched == second.skipped == []


def test_episodes_sharing_a_guid_are_each_launched_once(site: Site, tmp_path: Path) -> None:
    items = "".join(
        item(f"Part {n}", date=NOW.strftime(RFC822), media=f"/media/{media}", extra="<guid>same-guid</guid>")
        for n, media in ((1, "part1.mp3"), (2, "part2.mp3"), (3, "part3.mp3"))
    )
    url = serve(site, "wild/guids.xml", podcast_feed(items))
    ledger, runs = Ledger(tmp_path / "ledger.sqlite"), Runs()
    for _ in range(2):
        polling.poll(
            [Channel(url=url)],
            ledger,
            PollSettings(),
            list_channel=feeds.list_channel,
            launch=runs.launch,
            read_run=runs.read,
            now=NOW,
        )
    assert sorted(p["url"] for _, p, _ in runs.launched) == [f"{site.base}/media/part{n}.mp3" for n in (1, 2, 3)]
    # The same item twice in one feed is one episode.
    twice = podcast_feed(item("Dup", guid="x", media="/x.mp3") * 2)
    assert len(feeds.parse_feed(twice.encode(), url)) == 1


def test_a_rotating_token_in_the_enclosure_url_launches_once_and_retries_use_the_url_of_now(
    site: Site, tmp_path: Path
) -> None:
    """No guid, and a signed enclosure URL that changes on every fetch of the feed."""
    ledger, runs = Ledger(tmp_path / "ledger.sqlite"), Runs()
    channel = Channel(url=site.url("wild/signed.xml"))
    settings = PollSettings(max_attempts=3, retry_after=(0,))
    for token in ("tok-1", "tok-2", "tok-3"):
        xml = (
            f"<item><title>Signed</title><pubDate>{NOW.strftime('%a, %d %b %Y %H:%M:%S +0000')}</pubDate>"
            f'<enclosure url="https://cdn.example/ep.mp3?token={token}&amp;expires=1" type="audio/mpeg"/></item>'
        )
        serve(site, "wild/signed.xml", podcast_feed(xml))
        polling.poll(
            [channel],
            ledger,
            settings,
            list_channel=feeds.list_channel,
            launch=runs.launch,
            read_run=runs.read,
            now=NOW,
        )
        runs.outcomes[f"run-{len(runs.launched)}"] = polling.RunOutcome("failed", "HTTP 403: the signature expired")
    assert [p["url"] for _, p, _ in runs.launched] == [
        "https://cdn.example/ep.mp3?token=tok-1&expires=1",  # launched once, when first seen
        "https://cdn.example/ep.mp3?token=tok-2&expires=1",  # retried with the feed's URL of the second poll
        "https://cdn.example/ep.mp3?token=tok-3&expires=1",
    ]
    key = runs.launched[0][0]
    assert [run_key for _, _, run_key in runs.launched] == [key, f"{key}#attempt-2", f"{key}#attempt-3"]
    (video,) = ledger.all()
    assert video.url.endswith("token=tok-3&expires=1")


def test_html_show_notes_become_plain_text_with_paragraphs() -> None:
    notes = (
        "<![CDATA[<p>Guest:&nbsp;<strong>Dylan Patel</strong> of SemiAnalysis.</p>"
        "<p>We talk <em>HBM</em> &amp; CoWoS.<br/>Links below.</p><script>alert(1)</script><ul><li>One</li></ul>]]>"
    )
    xml = f'<item><title>t</title><guid>1</guid><description>{notes}</description><enclosure url="http://h/a.mp3"/></item>'
    (entry,) = feeds.parse_feed(podcast_feed(xml).encode(), "http://h/feed.xml")
    assert entry.description.startswith("Guest: Dylan Patel of SemiAnalysis.\n\nWe talk HBM & CoWoS.\nLinks below.")
    assert "<" not in entry.description and "&nbsp;" not in entry.description and "\xa0" not in entry.description
    assert "alert" not in entry.description and "One" in entry.description
    plain = item(
        "t", guid="1", media="http://a/b.mp3", extra="<description>Line one\nLine two &amp; more</description>"
    )
    (entry,) = feeds.parse_feed(podcast_feed(plain).encode(), "http://h/feed.xml")
    assert entry.description == "Line one\nLine two & more"


def test_an_item_without_a_link_brings_its_own_metadata() -> None:
    xml = (
        "<item><title>Episode 12: HBM</title><guid>ep-12</guid><pubDate>Mon, 02 Nov 2026 08:00:00 GMT</pubDate>"
        '<description>Show notes.</description><enclosure url="http://h/ep12.mp3" type="audio/mpeg"/></item>'
    )
    (entry,) = feeds.parse_feed(podcast_feed(xml).encode(), "http://h/feed.xml")
    assert entry.page_url == ""  # the guid is not a page, whatever isPermaLink says
    overrides = polling.ingest_parameters(entry, Channel(url="http://h/feed.xml"))["overrides"]
    assert overrides == {
        "id": entry.key.replace(":", "-"),
        "title": "Episode 12: HBM",
        "description": "Show notes.",
        "uploader": "Chips Weekly",  # no itunes:author: the channel's name
        "upload_date": "2026-11-02",
    }
    with_author = podcast_feed(xml.replace("<guid>", "<itunes:author>Ann Host</itunes:author><guid>"))
    (entry,) = feeds.parse_feed(with_author.encode(), "http://h/feed.xml")
    assert entry.uploader == "Ann Host"


def test_atom_entry_with_several_links() -> None:
    atom = (
        '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>A</title><author><name>FA</name></author>'
        "<entry><id>urn:1</id><title>E</title><updated>2024-01-02T03:04:05Z</updated>"
        '<link rel="enclosure" type="image/jpeg" href="http://h/cover.jpg"/>'
        '<link rel="alternate" type="text/html" href="http://h/e.html"/>'
        '<link rel="enclosure" type="audio/mpeg" href="http://h/e.mp3" length="5"/></entry></feed>'
    )
    (entry,) = feeds.parse_feed(atom.encode(), "http://h/atom.xml")
    assert entry.url == "http://h/e.mp3" and entry.page_url == "http://h/e.html" and entry.uploader == "FA"
    parameters = polling.ingest_parameters(entry, Channel(url="http://h/atom.xml"))
    assert parameters["overrides"]["webpage_url"] == "http://h/e.html"


@pytest.mark.parametrize(
    ("namespace", "prefix"),
    [
        (ITUNES, "itunes"),
        ("https://www.itunes.com/dtds/podcast-1.0.dtd", "itunes"),
        ("http://www.itunes.com/DTDs/Podcast-1.0.dtd", "itunes"),
        ("http://www.itunes.com/DTDs/PodCast-1.0.dtd", "it"),
        ("https://itunes.apple.com/dtds/podcast-1.0.dtd", "ipod"),
    ],
)
def test_itunes_namespace_in_the_spellings_feeds_use(namespace: str, prefix: str) -> None:
    xml = (
        f"<item><title>t</title><guid>1</guid><{prefix}:author>Ann Host</{prefix}:author>"
        f"<{prefix}:summary>About chips.</{prefix}:summary><{prefix}:duration>01:02:03</{prefix}:duration>"
        '<enclosure url="http://h/a.mp3"/></item>'
    )
    (entry,) = feeds.parse_feed(podcast_feed(xml, itunes=namespace, prefix=prefix).encode(), "http://h/feed.xml")
    assert (entry.uploader, entry.description, entry.duration) == ("Ann Host", "About chips.", 3723)


def test_publisher_transcript_in_the_episodes_language_and_chapters() -> None:
    xml = (
        '<item><title>t</title><guid>1</guid><enclosure url="http://h/a.mp3" type="audio/mpeg"/>'
        '<podcast:transcript url="/t/es.vtt" type="text/vtt" language="es"/>'
        '<podcast:transcript url="/t/en.html" type="text/html"/>'
        '<podcast:transcript url="/t/en.json" type="application/json" language="en-US"/>'
        '<podcast:chapters url="/t/chapters.json" type="application/json+chapters"/></item>'
    )
    (entry,) = feeds.parse_feed(podcast_feed(xml).encode(), "http://h/feed.xml")
    assert entry.transcript == feeds.PublisherTranscript("http://h/t/en.json", "application/json", "en-US")
    assert entry.chapters_url == "http://h/t/chapters.json"
    overrides = polling.ingest_parameters(entry, Channel(url="http://h/feed.xml"))["overrides"]
    assert overrides["transcript_url"] == "http://h/t/en.json" and overrides["chapters_url"] == entry.chapters_url
    only_spanish = xml.replace('url="/t/en.html" type="text/html"', 'url="/t/x.html" type="text/html" language="es"')
    only_spanish = only_spanish.replace('language="en-US"', 'language="es"')
    (entry,) = feeds.parse_feed(podcast_feed(only_spanish).encode(), "http://h/feed.xml")
    assert entry.transcript is None  # a translation is not the episode's text: whisper it


def test_keys_of_earlier_versions_still_count_as_known(tmp_path: Path) -> None:
    """A ledger written before feedparser keyed entries by hash(feed, guid): those
    episodes are not launched again after an upgrade."""
    guid = '<guid isPermaLink="false">g-1</guid>'  # as podcast hosts write them
    one = item("t", date=NOW.strftime(RFC822), media="http://h/a.mp3", extra=guid)
    (entry,) = feeds.parse_feed(podcast_feed(one).encode(), "http://h/feed.xml")
    ledger, runs = Ledger(tmp_path / "ledger.sqlite"), Runs()
    legacy = feeds._hash_key("http://h/feed.xml", "g-1")
    ledger.discover(legacy, channel="http://h/feed.xml", url="http://h/a.mp3", title="t", published=NOW, parameters={})
    ledger.drafted(legacy)
    runs.poll(ledger, Channel(url="http://h/feed.xml"), (entry,))
    assert runs.launched == [] and legacy in entry.aliases


# ------------------------------------------------------- found by a new user's poll run


def test_a_feed_that_redirects_to_an_address_signed_anew_keeps_its_episodes_keys(tmp_path: Path) -> None:
    server = FaultyServer(tmp_path)
    try:
        serve_at = tmp_path / "feeds"
        serve_at.mkdir()
        (serve_at / "pod.xml").write_text(podcast_feed(item("One", guid="1", media="/media/one.mp3")))
        server.redirect("r/pod.xml", "/feeds/pod.xml?sig={sig}")
        first, second = (listed(server.url("r/pod.xml")) for _ in range(2))
        assert first[0].key == second[0].key and first[0].url == f"{server.base}/media/one.mp3"
    finally:
        server.close()


def test_a_feed_unreadable_on_its_first_poll_keeps_its_history_when_it_is_read(tmp_path: Path) -> None:
    ledger, runs, channel = Ledger(tmp_path / "ledger.sqlite"), Runs(), Channel(url="http://h/feed.xml")
    undated = (FeedEntry(key="u1", url="http://h/u1.mp3", title="Undated", published=None),)

    def unreadable(url: str, **_: object) -> feeds.Listing:
        raise SourceError(f"{url}: the server answered HTTP 404; check the feed's address")

    for _ in range(2):
        report = polling.poll(
            [channel], ledger, PollSettings(), list_channel=unreadable, launch=runs.launch, read_run=runs.read, now=NOW
        )
        assert report.channel_errors
    runs.poll(ledger, channel, undated)  # the first poll that reads the feed: its history
    runs.poll(ledger, channel, undated)
    assert runs.launched == [] and ledger.get("u1").state is State.SKIPPED


def test_atom_enclosure_without_a_type_and_xhtml_content() -> None:
    atom = (
        '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>A</title>'
        "<entry><id>urn:3</id><title>Three</title><updated>2024-01-02T03:04:05Z</updated>"
        '<link rel="alternate" href="http://h/three.html"/><link rel="enclosure" href="../media/ep5.mp3"/>'
        '<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>Para one</p><p>Para two</p></div>'
        "</content></entry></feed>"
    )
    (entry,) = feeds.parse_feed(atom.encode(), "http://h/shows/atom.xml")
    assert entry.url == "http://h/media/ep5.mp3" and entry.page_url == "http://h/three.html"
    assert entry.description == "Para one\n\nPara two"


def test_podcast_namespace_under_another_prefix() -> None:
    xml = (
        '<?xml version="1.0"?><rss version="2.0" xmlns:pod="https://podcastindex.org/namespace/1.0">'
        "<channel><title>P</title><language>en</language><item><title>t</title><guid>1</guid>"
        '<enclosure url="http://h/a.mp3" type="audio/mpeg"/><pod:transcript url="/t.vtt" type="text/vtt"/>'
        '<pod:chapters url="/c.json" type="application/json+chapters"/></item></channel></rss>'
    )
    (entry,) = feeds.parse_feed(xml.encode(), "http://h/feed.xml")
    assert entry.transcript is not None and entry.transcript.url == "http://h/t.vtt"
    assert entry.chapters_url == "http://h/c.json"


@pytest.mark.parametrize(
    "document",
    [
        BILLION_LAUGHS.replace("<!DOCTYPE", "<!-- made by <b>Generator</b> --><!DOCTYPE").encode(),
        BILLION_LAUGHS.replace('version="1.0"', 'version="1.0" encoding="UTF-16"').encode("utf-16"),
        BILLION_LAUGHS.encode("utf-16-le"),
    ],
    ids=["comment-with-a-tag-first", "utf-16-with-bom", "utf-16-le"],
)
def test_hostile_xml_in_disguise_is_refused(document: bytes) -> None:
    started = time.perf_counter()
    with pytest.raises(SourceError, match="declares XML entities"):
        feeds.parse_feed(document, "http://feed/")
    assert time.perf_counter() - started < 1.0


def test_a_utf16_feed_is_read_and_its_relative_urls_resolved(site: Site) -> None:
    xml = podcast_feed(item("Zwölf", guid="12", media="/media/ep33.mp3")).replace(
        'encoding="UTF-8"', 'encoding="UTF-16"'
    )
    (entry,) = listed(serve(site, "wild/utf16.xml", xml.encode("utf-16")))
    assert entry.title == "Zwölf" and entry.url == f"{site.base}/media/ep33.mp3"


def test_itunes_namespace_with_a_trailing_slash() -> None:
    xml = item("t", guid="1", media="http://h/a.mp3", extra="<it:author>Ann</it:author>")
    feed = podcast_feed(xml, itunes="http://www.itunes.com/dtds/podcast-1.0.dtd/", prefix="it")
    (entry,) = feeds.parse_feed(feed.encode(), "http://h/feed.xml")
    assert entry.uploader == "Ann"
