"""draftcast as a person runs it: a real process, the embedded Prefect API, real media."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import frontmatter
import pytest

from tests.conftest import HOSTILE, Site

pytestmark = pytest.mark.slow


def _draftcast(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flows.cli", *args],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)},
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_ingest_edit_and_rerun(site: Site, tmp_path: Path) -> None:
    url = site.add_page(
        "cli.html", media="jfk.mp4", title=HOSTILE, description="Desc {% if %}", uploader="JFK Library", tags=("a",)
    )
    first = _draftcast("ingest", url, "--model", "tiny.en", "--language", "en", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    path = Path(first.stdout.strip())
    assert path.parent == tmp_path / "drafts" and path.exists()
    assert "download" in first.stderr and "transcribe:" in first.stderr  # progress bars
    assert "transcribed 1 of 1 windows" in first.stderr  # and the log says how far it got
    assert "wrote " in first.stderr
    # the embedded API serves no UI, and it stops only after Prefect sent it the last logs
    assert "View at" not in first.stderr and "Error logging to API" not in first.stderr
    post = frontmatter.load(path)
    assert (post["title"], post["summary"], post["speaker"], post["source"]) == (
        HOSTILE,
        "Desc {% if %}",
        "JFK Library",
        url,
    )
    assert "ask what you can do for your country" in post.content.lower()

    edited = path.read_text().replace("draft: true", "draft: true\n# checked by an editor")
    path.write_text(edited)
    second = _draftcast("ingest", url, "--model", "tiny.en", "--language", "en", cwd=tmp_path)
    assert second.returncode == 0 and second.stdout.strip() == str(path)
    assert "changed by an editor: left as it is" in second.stderr
    assert path.read_text() == edited
    assert list(path.parent.iterdir()) == [path]


def test_an_error_is_one_line_without_traceback(site: Site, tmp_path: Path) -> None:
    result = _draftcast("ingest", site.url("missing.mp4"), cwd=tmp_path)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.strip().splitlines()[-1] == (
        f"draftcast: error: {site.url('missing.mp4')}: the server answered HTTP 404 (File not found); check the URL"
    )
    assert "Traceback" not in result.stderr


def test_two_ingests_of_one_url_at_once_end_in_one_draft(site: Site, tmp_path: Path) -> None:
    url = site.add_page("twice.html", media="jfk.mp4", title="Said twice")
    command = [sys.executable, "-m", "flows.cli", "ingest", url, "--model", "tiny.en", "--language", "en"]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)}
    runs = [subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)]
    runs.append(
        subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    )
    outputs = [run.communicate(timeout=600) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    assert outputs[0][0] == outputs[1][0]
    drafts = list((tmp_path / "drafts").iterdir())
    assert len(drafts) == 1 and "country" in drafts[0].read_text()


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        for task in Path(f"/proc/{todo.pop()}/task").glob("*"):
            try:
                children = [int(child) for child in (task / "children").read_text().split()]
            except OSError:  # gone meanwhile
                continue
            found += children
            todo += children
    return found


def _command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    try:
        return "\tZ" not in Path(f"/proc/{pid}/status").read_text().split("State:")[1][:4]
    except (OSError, IndexError):
        return False


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_a_killed_ingest_leaves_no_prefect_api_behind(site: Site, tmp_path: Path) -> None:
    url = site.add_page("killed.html", media="jfk.mp4", title="Killed midway")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)}
    command = [sys.executable, "-m", "flows.cli", "ingest", url, "--model", "tiny.en", "--language", "en"]
    cli = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    api: list[int] = []
    deadline = time.monotonic() + 60
    while not api and time.monotonic() < deadline:
        api = [pid for pid in _descendants(cli.pid) if "uvicorn" in _command_line(pid)]
        time.sleep(0.05)
    assert api, "draftcast ingest started no embedded Prefect API"
    cli.kill()
    cli.wait()
    deadline = time.monotonic() + 30
    while _alive(api[0]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(api[0]), "the embedded API outlived draftcast"


def test_models_lists_and_prepares(tmp_path: Path) -> None:
    listing = _draftcast("models", cwd=tmp_path)
    assert listing.returncode == 0
    assert any(
        line.startswith("tiny.en") and ("ready" in line or "offline" in line) for line in listing.stdout.splitlines()
    )
    prepared = _draftcast("models", "prepare", "tiny.en", cwd=tmp_path)
    assert prepared.returncode == 0 and "tiny.en.pt" in prepared.stdout
    unknown = _draftcast("models", "prepare", "gigantic", cwd=tmp_path)
    assert unknown.returncode == 1 and "unknown model 'gigantic'" in unknown.stderr
