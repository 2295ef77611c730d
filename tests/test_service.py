"""draftcast as a service: a real `prefect server` on 127.0.0.1, `draftcast setup`,
`prefect deploy --all` with the repository's prefect.yaml, real process workers, and
runs started by `prefect deployment run` and by polling feeds served on 127.0.0.1."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import frontmatter
import pytest

from flows.server import start_server, stop_process
from tests.conftest import MEDIA, Site, make_video
from tests.test_polling import rss_feed, youtube_feed

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
NOW = time.time()


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(condition: Callable[[], object], *, timeout: float, what: str) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


@dataclass
class Service:
    root: Path
    env: dict[str, str]
    api_url: str
    workers: list[tuple[subprocess.Popen[bytes], Path]]

    @property
    def drafts(self) -> Path:
        return Path(self.env["DRAFTCAST_OUT"])

    @property
    def config(self) -> Path:
        return Path(self.env["DRAFTCAST_CONFIG"])

    def run(self, *command: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            command, cwd=cwd or self.root, env=self.env, capture_output=True, text=True, timeout=300
        )
        assert result.returncode == 0, f"{command}: {result.stdout}\n{result.stderr}"
        return result

    def prefect(self, *args: str, cwd: Path | None = None) -> str:
        return self.run(sys.executable, "-m", "prefect", *args, cwd=cwd).stdout

    def run_ingest(self, url: str, *parameters: str) -> None:
        """`prefect deployment run 'ingest-video/ingest' --param url=… [--param name=value …]`"""
        options = [word for parameter in (f"url={url}", *parameters) for word in ("--param", parameter)]
        self.prefect("deployment", "run", "ingest-video/ingest", *options)

    def draftcast(self, *args: str) -> str:
        return self.run(sys.executable, "-m", "flows.cli", *args).stdout

    def api(self, path: str, body: dict | None = None) -> object:
        """The API's answer to ``path`` (POST with ``body``), a 503 asked again as Prefect's
        own client does: the server sends it for a retryable error, such as its SQLite
        database busy with the service's own writes (seen once in CI)."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"{self.api_url}{path}", data=data, headers={"Content-Type": "application/json"}
        )
        attempt = 1
        while True:
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    answer = response.read()
                return json.loads(answer) if answer else None  # 204 No Content
            except urllib.error.HTTPError as error:
                if error.code != 503 or attempt == 5:
                    raise
            time.sleep(0.5 * attempt)
            attempt += 1

    def running_flow_runs(self) -> int:
        runs = self.api("/flow_runs/filter", {"flow_runs": {"state": {"type": {"any_": ["RUNNING"]}}}})
        return len(runs)  # type: ignore[arg-type]

    def draft_titled(self, title: str) -> Path | None:
        for path in self.drafts.glob("*.md"):
            if frontmatter.load(path)["title"] == title:
                return path
        return None

    def start_worker(self, name: str, *extra: str) -> None:
        log = self.root / f"worker-{name}.log"
        worker = subprocess.Popen(
            [sys.executable, "-m", "prefect", "worker", "start", "--pool", "draftcast", "--name", name, *extra],
            cwd=self.root,
            env=self.env,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.workers.append((worker, log))


@contextmanager
def _service(root: Path, shared_models: Path, database_url: str | None = None) -> Iterator[Service]:
    """A Prefect server, set up by draftcast and deployed from prefect.yaml; workers are added by tests."""
    home = root / "draftcast-home"
    home.mkdir(parents=True)
    (home / "models").symlink_to(shared_models, target_is_directory=True)
    env = {
        **os.environ,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_WORKER_QUERY_SECONDS": "1",
        "PREFECT_HOME": str(root / "prefect-client"),
        "DRAFTCAST_HOME": str(home),
        "DRAFTCAST_OUT": str(root / "drafts"),
        "DRAFTCAST_CONFIG": str(root / "draftcast.toml"),
        "DRAFTCAST_RETRY_DELAYS": "0.2",
        "PYTHONPATH": str(REPO),
    }
    server, api_url = start_server(root / "prefect-server", _free_port(), database_url=database_url)
    env["PREFECT_API_URL"] = api_url
    service = Service(root, env, api_url, [])
    service.config.write_text('[draftcast]\nmodel = "tiny.en"\nlanguage = "en"\n')
    try:
        setup = service.draftcast("setup")
        assert "work pool 'draftcast'" in setup and "'draftcast-transcription'" in setup
        service.prefect("--no-prompt", "deploy", "--all", cwd=REPO)
        yield service
    finally:
        for worker, _ in service.workers:
            stop_process(worker, timeout=20)
        stop_process(server)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, shared_models: Path) -> Iterator[Service]:
    with _service(tmp_path_factory.mktemp("service"), shared_models) as service:
        service.start_worker("main")
        yield service


def test_prefect_deployment_run_writes_a_draft(service: Service, site: Site) -> None:
    url = site.add_page("svc-run.html", media="jfk.mp4", title="Run by deployment", uploader="Deployer")
    service.run_ingest(url, "model=tiny.en", "language=en")
    path = wait_for(lambda: service.draft_titled("Run by deployment"), timeout=180, what="the draft")
    post = frontmatter.load(path)
    assert post["source"] == url and post["speaker"] == "Deployer" and "country" in post.content


def _write_config(service: Service, site: Site, *channels: str, max_attempts: int = 3, speakers: bool = True) -> None:
    lines = [
        '[draftcast]\nmodel = "tiny.en"\nlanguage = "en"\n',
        f"[poll]\nmax_attempts = {max_attempts}\nretry_after_minutes = [0]\nmax_transcriptions = 1\n",
    ]
    speaker = 'speaker = "Speaker of {}"\n' if speakers else ""
    lines += [f'[[channels]]\nurl = "{site.url(name)}"\n{speaker.format(name)}' for name in channels]
    service.config.write_text("\n".join(lines))


def test_polling_rss_and_youtube_atom_feeds(service: Service, site: Site) -> None:
    import datetime as dt

    now = dt.datetime.now(dt.UTC)
    for name, media in (("svc-yt1", "jfk.mp4"), ("svc-yt2", "librispeech-1995-1837-0001.mp4")):
        site.add_page(f"{name}.html", media=media, title=f"Video {name}", uploader="Best Partners TV")
    channel_id = "UC" + "s" * 22
    atom = site.root / "svc-atom.xml"
    atom.write_text(
        youtube_feed(channel_id, [("svc-yt2", "Video svc-yt2", now), ("svc-yt1", "Video svc-yt1", now)], site.base)
    )
    old = now - dt.timedelta(days=400)
    # An episode as many feeds write one: no <link>, a relative enclosure, HTML show notes;
    # and, as Podcasting 2.0 feeds do, its own transcript and chapters (whisper is not run).
    (site.root / "svc-ep2.vtt").write_text("WEBVTT\n\n00:00.000 --> 00:04.000\nThe publisher's own words.\n")
    (site.root / "svc-ep2.json").write_text('{"version": "1.2.0", "chapters": [{"startTime": 0, "title": "Memory"}]}')
    bare = (
        "<item><title>Episode two: HBM &amp; CoWoS</title><guid isPermaLink='false'>svc-ep2</guid>"
        f"<pubDate>{(now - dt.timedelta(days=1)).strftime('%a, %d %b %Y %H:%M:%S GMT')}</pubDate>"
        "<itunes:author>Ann Host</itunes:author><enclosure url='/librispeech-1995-1837-0001.mp4' type='video/mp4'/>"
        "<description><![CDATA[<p>Guest:&nbsp;<b>Dylan</b></p><p>Memory &amp; packaging.</p>]]></description>"
        "<podcast:transcript url='svc-ep2.vtt' type='text/vtt'/><podcast:chapters url='/svc-ep2.json'"
        " type='application/json+chapters'/></item>"
    )
    podcast = rss_feed([("svc-ep1", "Episode one", now), ("svc-ep0", "Old", old)], site.base)
    podcast = podcast.replace("<title>A podcast</title>", f"<title>A podcast</title>{bare}")
    namespace = 'xmlns:podcast="https://podcastindex.org/namespace/1.0" xmlns:itunes='
    (site.root / "svc-pod.xml").write_text(podcast.replace("xmlns:itunes=", namespace, 1))
    _write_config(service, site, "svc-atom.xml", "svc-pod.xml", speakers=False)

    first = service.draftcast("poll")
    assert first.startswith("4 new launched, 1 skipped"), first  # the old episode is not backfilled
    assert service.draftcast("poll").startswith("0 new launched")  # polling twice launches nothing new
    for title in ("Video svc-yt1", "Video svc-yt2", "Episode one", "Episode two: HBM & CoWoS"):
        wait_for(lambda title=title: service.draft_titled(title), timeout=240, what=title)
    episode = frontmatter.load(service.draft_titled("Episode one"))
    assert episode["source"] == site.url("svc-ep1.html")  # the episode's page, not the media file
    assert episode["speaker"] == "Host" and episode["summary"] == "Notes of Episode one"
    bare_episode = frontmatter.load(service.draft_titled("Episode two: HBM & CoWoS"))
    assert bare_episode["date"] == (now - dt.timedelta(days=1)).date().isoformat()
    assert bare_episode["speaker"] == "Ann Host" and bare_episode["summary"] == "Guest: Dylan\n\nMemory & packaging."
    assert bare_episode["source"] == site.url("librispeech-1995-1837-0001.mp4")  # no page: the media file
    assert "publisher's transcript" in bare_episode.content.splitlines()[0]
    assert "### Memory" in bare_episode.content and "The publisher's own words." in bare_episode.content
    assert "skipped: published" in service.draftcast("status", "--all")

    videos = [("svc-yt3", "Video svc-yt3", now), ("svc-yt2", "Video svc-yt2", now), ("svc-yt1", "Video svc-yt1", now)]
    site.add_page("svc-yt3.html", media="jfk.mp4", title="Video svc-yt3")
    atom.write_text(youtube_feed(channel_id, videos, site.base))
    again = service.draftcast("poll")
    assert again.startswith("1 new launched"), again
    wait_for(lambda: service.draft_titled("Video svc-yt3"), timeout=240, what="the new video's draft")

    def all_drafted() -> bool:
        service.draftcast("poll")  # a poll learns how the launched runs ended
        return service.draftcast("status").splitlines()[0] == "5 drafted, 1 skipped"

    wait_for(all_drafted, timeout=120, what="the ledger to record five drafted videos")


def test_a_failing_video_is_retried_within_its_bound(service: Service, site: Site) -> None:
    import datetime as dt

    (site.root / "svc-broken.xml").write_text(
        rss_feed([("svc-gone", "Gone", dt.datetime.now(dt.UTC))], site.base).replace("jfk.mp4", "gone.mp4")
    )
    _write_config(service, site, "svc-broken.xml", max_attempts=2)
    assert service.draftcast("poll").startswith("1 new launched")

    def gave_up() -> bool:
        service.draftcast("poll")  # learns that the run failed, relaunches it while attempts remain
        return "gave-up" in service.draftcast("status").splitlines()[0]

    wait_for(gave_up, timeout=240, what="the video to be given up after 2 attempts")
    status = service.draftcast("status")
    assert re.search(r"^gave-up +2 ", status, re.M) and "HTTP 404" in status
    runs = service.api("/flow_runs/filter", {"limit": 200})
    gone = [run for run in runs if run["parameters"].get("url", "").endswith("/gone.mp4")]  # type: ignore[union-attr]
    keys = sorted(run["idempotency_key"] for run in gone)  # type: ignore[index]
    assert len(keys) == 2 and keys[1] == keys[0] + "#attempt-2"  # two attempts, no more
    quiet = service.draftcast("poll")
    assert quiet.startswith("0 new launched") and "0 retried" in quiet


def test_a_server_that_keeps_failing_is_recorded_in_the_ledger(service: Service, site: Site) -> None:
    import datetime as dt

    from tests.faults import Fault, FaultyServer

    faulty = FaultyServer(site.root)
    faulty.fail("busy.mp4", *[Fault(status=503)] * 200)
    try:
        feed = rss_feed([("svc-busy", "Busy", dt.datetime.now(dt.UTC))], site.base)
        (site.root / "svc-busy.xml").write_text(feed.replace(f"{site.base}/jfk.mp4", faulty.url("busy.mp4")))
        _write_config(service, site, "svc-busy.xml", max_attempts=2)
        assert service.draftcast("poll").startswith("1 new launched")

        def busy_line() -> str:
            service.draftcast("poll")  # learns how the runs ended, relaunches while attempts remain
            lines = service.draftcast("status").splitlines()
            return next((f"{line}\n{lines[i + 1]}" for i, line in enumerate(lines) if " Busy " in line), "")

        wait_for(lambda: busy_line().startswith("gave-up"), timeout=240, what="the busy video to be given up")
    finally:
        faulty.close()
    line = busy_line()
    assert re.match(r"gave-up +2 ", line) and "busy.mp4: the server answered HTTP 503; try again later" in line
    # bounded: per attempt, the first request and one retry (DRAFTCAST_RETRY_DELAYS has one delay)
    assert len(faulty.requests_for("busy.mp4")) <= 2 * 2 * 2


def test_the_transcription_limit_holds_with_more_runs_than_slots(service: Service, site: Site) -> None:
    titles = [f"Limit {n}" for n in range(3)]
    for n, title in enumerate(titles):
        url = site.add_page(f"svc-limit{n}.html", media="librispeech-1995-1837-0001.mp4", title=title)
        service.run_ingest(url)
    most_slots, most_running = 0, 0
    deadline = time.monotonic() + 300
    while not all(service.draft_titled(t) for t in titles):
        assert time.monotonic() < deadline, "the three drafts did not appear"
        limit = service.api("/v2/concurrency_limits/draftcast-transcription")
        most_slots = max(most_slots, limit["active_slots"])  # type: ignore[index]
        most_running = max(most_running, service.running_flow_runs())
        time.sleep(0.2)
    assert most_running >= 2  # runs did overlap…
    assert most_slots == 1  # …but never two transcriptions at once


def _holders(service: Service) -> dict[str, str]:
    """The transcription slot's holders as the server knows them: variable name → last beat."""
    found = service.api("/variables/filter", {"variables": {"tags": {"all_": ["draftcast-transcription"]}}})
    return {variable["name"]: variable["updated"] for variable in found}  # type: ignore[union-attr]


def _active_slots(service: Service) -> int:
    return service.api("/v2/concurrency_limits/draftcast-transcription")["active_slots"]  # type: ignore[index]


def _ingest(service: Service, url: str, log: Path) -> subprocess.Popen[bytes]:
    """`draftcast ingest URL` against the service's server: the flow runs in this process."""
    command = [sys.executable, "-m", "flows.cli", "ingest", url, "--model", "tiny.en", "--language", "en"]
    return subprocess.Popen(command, cwd=service.root, env=service.env, stdout=subprocess.PIPE, stderr=log.open("wb"))


def test_a_holder_killed_with_sigkill_frees_the_slot_within_a_minute(service: Service, site: Site) -> None:
    from pipeline.audio import ffmpeg_executable

    speech = site.root / "svc-long.wav"  # two minutes of speech: the kill lands mid-transcription
    loop = ["-stream_loop", "-1", "-i", str(MEDIA / "librispeech-1995-1837-0001.wav"), "-t", "120"]
    subprocess.run([ffmpeg_executable(), "-nostdin", "-loglevel", "error", "-y", *loop, str(speech)], check=True)
    make_video(speech, site.root / "svc-long.mp4")
    long_url = site.add_page("svc-killed.html", media="svc-long.mp4", title="Killed holding the slot")
    next_url = site.add_page("svc-next.html", media="jfk.mp4", title="Next in line")
    assert _active_slots(service) == 0 and not _holders(service)

    holder = _ingest(service, long_url, service.root / "killed.log")
    try:
        wait_for(lambda: _active_slots(service) == 1 and _holders(service), timeout=120, what="A to hold the slot")
        (dead,) = _holders(service)
        holder.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        holder.wait()
    finally:
        holder.kill()
    log = service.root / "next.log"
    second = _ingest(service, next_url, log)
    wait_for(lambda: set(_holders(service)) - {dead}, timeout=90, what="B to take the slot")
    took = time.monotonic() - killed
    out, _ = second.communicate(timeout=120)
    done = time.monotonic() - killed
    print(f"\nkill -9 of the holder → the next ingest holds the slot after {took:.1f} s, its draft after {done:.1f} s")
    assert second.returncode == 0, log.read_text()
    assert took < 60, f"the next ingest waited {took:.0f} s for the slot of the killed one"
    assert frontmatter.load(out.decode().strip())["title"] == "Next in line"
    assert "freed a slot of 'draftcast-transcription' whose holder was silent" in log.read_text()
    # a normal ingest gives its slot back at once: nothing is held once it has exited
    assert _active_slots(service) == 0 and not _holders(service)


_LOSES_ITS_SLOT = """
import sys, time
from flows.slot import BEAT_SECONDS, Slot

slot = Slot("draftcast-transcription")
slot.acquire()
print(slot.lease_id, flush=True)
sys.stdin.readline()  # meanwhile the server freed the slot and another run took it
time.sleep(BEAT_SECONDS + 2)  # a beat finds the lease gone
print("keeping", flush=True)
slot.keep()  # between two batches: waits for a slot again
print(slot.lease_id, flush=True)
slot.release()
"""


def test_a_holder_whose_slot_was_freed_waits_for_one_again(service: Service) -> None:
    """A live holder taken for dead (a frozen process, a server out of reach for 30 s)
    does not go on beyond the limit: it waits in line again before its next batch."""
    import queue
    import threading

    run = subprocess.Popen(
        [sys.executable, "-c", _LOSES_ITS_SLOT],
        cwd=service.root,
        env=service.env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        for line in run.stdout:  # type: ignore[union-attr]
            lines.put(line.strip())

    threading.Thread(target=read, daemon=True).start()
    try:
        first = lines.get(timeout=60)
        # what a waiting run does to a holder it takes for dead, then it holds the slot
        service.api("/v2/concurrency_limits/decrement-with-lease", {"lease_id": first})
        urllib.request.urlopen(
            urllib.request.Request(f"{service.api_url}/variables/name/draftcast-transcription-{first}", method="DELETE")
        )
        other = service.api(
            "/v2/concurrency_limits/increment-with-lease",
            {"names": ["draftcast-transcription"], "slots": 1, "lease_duration": 60},
        )
        run.stdin.write("\n")  # type: ignore[union-attr]
        run.stdin.flush()  # type: ignore[union-attr]
        assert lines.get(timeout=30) == "keeping"
        time.sleep(3)
        assert lines.empty() and _active_slots(service) == 1  # still waiting: the other run holds the only slot
        service.api("/v2/concurrency_limits/decrement-with-lease", {"lease_id": other["lease_id"]})  # type: ignore[index]
        second = lines.get(timeout=30)
        assert second not in ("", first)  # a new lease
        assert run.wait(timeout=30) == 0
    finally:
        run.kill()
    assert "lost the slot of 'draftcast-transcription' (the server freed it: HTTP 410)" in run.stderr.read()  # type: ignore[union-attr]
    assert _active_slots(service) == 0 and not _holders(service)


@pytest.fixture(scope="module")
def postgres_url() -> str:
    url = os.environ.get("DRAFTCAST_TEST_POSTGRES")
    if not url:
        pytest.skip("DRAFTCAST_TEST_POSTGRES is not set: .ci/run starts PostgreSQL and sets it")
    return url


def test_two_workers_on_a_postgresql_backed_server(
    postgres_url: str, tmp_path_factory: pytest.TempPathFactory, shared_models: Path, site: Site
) -> None:
    with _service(tmp_path_factory.mktemp("postgres"), shared_models, database_url=postgres_url) as service:
        service.start_worker("worker-a", "--limit", "1")
        service.start_worker("worker-b", "--limit", "1")
        titles = [f"Scale {n}" for n in range(4)]
        for n, title in enumerate(titles):
            url = site.add_page(f"svc-pg{n}.html", media="jfk.mp4", title=title)
            service.run_ingest(url)
        for title in titles:
            wait_for(lambda title=title: service.draft_titled(title), timeout=300, what=title)
        for _, log in service.workers:
            assert "Beginning flow run" in log.read_text(), f"{log.name} ran no ingest"
        # The server's state is in PostgreSQL: the completed runs are rows there.
        wait_for(lambda: _flow_runs_in_postgres(postgres_url) >= len(titles), timeout=60, what="4 runs in PostgreSQL")


def _flow_runs_in_postgres(url: str) -> int:
    import asyncio

    import asyncpg

    async def count() -> int:
        connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            query = "SELECT count(*) FROM flow_run WHERE state_type = 'COMPLETED' AND parameters ? 'url'"
            return int(await connection.fetchval(query))
        finally:
            await connection.close()

    return asyncio.run(count())


def test_draftcast_serve_runs_both_deployments_on_one_box(
    tmp_path_factory: pytest.TempPathFactory, shared_models: Path, site: Site
) -> None:
    root = tmp_path_factory.mktemp("serve")
    (root / "home").mkdir()
    (root / "home" / "models").symlink_to(shared_models, target_is_directory=True)
    port = _free_port()
    env = {**os.environ, "DRAFTCAST_HOME": str(root / "home"), "DRAFTCAST_OUT": str(root / "drafts")}
    env["PYTHONPATH"] = str(REPO)
    env.pop("PREFECT_API_URL", None)
    log = root / "serve.log"
    serve = subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "serve", "--port", str(port)],
        cwd=root,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_for(lambda: "being served" in log.read_text(), timeout=120, what="draftcast serve to start")
        assert "ingest-video/ingest" in log.read_text() and "poll-channels/poll" in log.read_text()
        # it serves from its own process: no work pool that nothing polls (shown red in the UI)
        assert "created concurrency limit 'draftcast-transcription'" in log.read_text()
        pools = urllib.request.Request(f"http://127.0.0.1:{port}/api/work_pools/filter", data=b"{}", method="POST")
        pools.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(pools, timeout=10) as answer:
            assert json.load(answer) == []
        assert "work pool" not in log.read_text()
        url = site.add_page("svc-serve.html", media="jfk.mp4", title="Served on one box")
        client_env = {**env, "PREFECT_API_URL": f"http://127.0.0.1:{port}/api"}
        command = [sys.executable, "-m", "prefect", "deployment", "run", "ingest-video/ingest", "--param", f"url={url}"]
        model = ["--param", "model=tiny.en", "--param", "language=en"]
        subprocess.run([*command, *model], env=client_env, check=True, capture_output=True)
        draft = wait_for(
            lambda: next((root / "drafts").glob("*served-on-one-box*.md"), None), timeout=180, what="draft"
        )
        assert frontmatter.load(draft)["source"] == url
        # Ctrl-C once the run is over: under the full suite's load, an interrupt while the
        # run's process was still reporting its end was seen to take over 60 s to exit
        finished = re.compile(r"Flow run '[^']+' - Finished in state")
        wait_for(lambda: finished.search(log.read_text()), timeout=60, what="the flow run to finish")
    finally:
        os.killpg(serve.pid, signal.SIGINT)
        serve.wait(timeout=60)
    assert serve.returncode is not None
    with pytest.raises(OSError):  # the Prefect server it started is gone with it
        urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2)
