"""Nothing to do: the wall time of `draftcast ingest URL` when its draft is up to date.

    python bench/noop.py [--runs 5] [--model base]

Serves the jfk clip (tests/media) on 127.0.0.1 as a video page, ingests it once into
a fresh data dir (not timed), then runs the same command --runs times, each in its own
process as a person would, and prints each wall time and the median. The runs must all
say the draft is up to date (the harness fails otherwise). Target (issue 17): ≤ 3 s.
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.conftest import MEDIA, Site, _QuietHandler, _QuietServer, make_video

BIN = Path(sys.executable).parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--model", default="base")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="draftcast-bench-noop-"))
    site_root = work / "site"
    site_root.mkdir()
    make_video(MEDIA / "jfk.flac", site_root / "jfk.mp4")
    server = _QuietServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(site_root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    site = Site(site_root, f"http://127.0.0.1:{server.server_address[1]}")
    url = site.add_page("address.html", media="jfk.mp4", title="The address", date="2026-01-20")
    env = {**os.environ, "DRAFTCAST_HOME": str(work / "data")}
    command = [str(BIN / "draftcast"), "ingest", url, "--out", str(work / "drafts"), "--model", args.model]
    subprocess.run(command, env=env, check=True, capture_output=True)  # the draft, written once
    times = []
    for run in range(1, args.runs + 1):
        load = os.getloadavg()[0]
        started = time.perf_counter()
        done = subprocess.run(command, env=env, check=True, capture_output=True, text=True)
        times.append(time.perf_counter() - started)
        if "is up to date" not in done.stderr:
            raise SystemExit(f"run {run} did not find the draft up to date:\n{done.stderr}")
        print(f"run {run}: {times[-1]:.2f} s (load {load:.1f} on {os.cpu_count()} CPUs)", flush=True)
    print(f"\nmedian of {len(times)} no-op re-runs: {statistics.median(times):.2f} s (target ≤ 3 s)")
    server.shutdown()


if __name__ == "__main__":
    main()
