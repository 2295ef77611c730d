"""The optional writing step, against a stand-in for an OpenAI-compatible server.

The stand-in below is not a language model: it answers /v1/chat/completions the way
OpenAI, Ollama and vLLM do, with fields built from the prompt it received (so a test can
see the transcript was sent), or with the failure a test asks for.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import frontmatter
import pytest

from pipeline import draft, writer
from pipeline.config import WriterSettings, load_settings
from tests.conftest import Site, run_cli
from tests.test_suggest import ENGLISH, _transcript, _video


class StandIn:
    """A stand-in OpenAI-compatible chat endpoint on 127.0.0.1."""

    def __init__(self) -> None:
        self.mode = "ok"  # ok | slow | error | prose
        self.requests: list[dict[str, Any]] = []
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                stand_in.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), **body})
                if stand_in.mode == "slow":
                    time.sleep(3)
                if stand_in.mode == "error":
                    self._send(500, {"error": {"message": "the model is overloaded"}})
                    return
                user = body["messages"][1]["content"]
                said = user.split("):\n", 1)[1].split()[:4]
                content = (
                    "I am sorry, I cannot do that."
                    if stand_in.mode == "prose"
                    else json.dumps({
                        "title": "Power, not chips, limits AI",
                        "summary": "Gavin Baker on why: " + " ".join(said),
                        "insight": "The grid is the bottleneck.",
                        "people": ["Gavin Baker", "Jensen Huang"],
                        "companies_orgs": ["Nvidia"],
                        "products_models": [],
                    })
                )  # fmt: skip
                self._send(200, {"choices": [{"message": {"role": "assistant", "content": content}}]})

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"


@pytest.fixture
def stand_in() -> Iterator[StandIn]:
    server = StandIn()
    yield server
    server.server.shutdown()


def _settings(stand_in: StandIn, **changes: Any) -> WriterSettings:
    return WriterSettings(base_url=stand_in.url, model="stand-in", **changes)


def test_the_endpoint_drafts_fields_from_the_transcript_and_prompts(stand_in: StandIn) -> None:
    written = writer.draft_fields(
        _video("Gavin Baker on AI chips"), _transcript(ENGLISH, "en"), _settings(stand_in, api_key="k")
    )
    assert written.fields["summary"] == "Gavin Baker on why: Gavin Baker joins us"  # the transcript was sent
    assert written.fields["people"] == ["Gavin Baker", "Jensen Huang"] and "products_models" not in written.fields
    assert "drafted by stand-in at" in written.note
    request = stand_in.requests[0]
    assert request["path"] == "/v1/chat/completions" and request["auth"] == "Bearer k"
    assert request["model"] == "stand-in" and "Answer with one JSON object" in request["messages"][0]["content"]


@pytest.mark.parametrize(
    ("mode", "words"),
    [("slow", "no answer within 1 s"), ("error", "HTTP 500"), ("prose", "the answer is not JSON")],
)
def test_a_failing_endpoint_leaves_the_fields_and_says_why(stand_in: StandIn, mode: str, words: str) -> None:
    stand_in.mode = mode
    written = writer.draft_fields(
        _video("Gavin Baker on AI chips"), _transcript(ENGLISH, "en"), _settings(stand_in, timeout_seconds=1)
    )
    assert written.fields == {} and words in written.note and "failed" in written.note


def test_the_draft_takes_the_text_fields_and_marks_the_names_as_suggestions(stand_in: StandIn) -> None:
    import datetime as dt

    written = writer.draft_fields(_video("Gavin Baker on AI chips"), _transcript(ENGLISH, "en"), _settings(stand_in))
    text = draft.compose(
        _video("Gavin Baker on AI chips", description="From the video page"), _transcript(ENGLISH, "en"),
        settings=load_settings(), speaker=None, today=dt.date(2026, 1, 15), written=written,
    )  # fmt: skip
    post = frontmatter.loads(text)
    assert post["title"] == "Power, not chips, limits AI" and post["insight"] == "The grid is the bottleneck."
    assert post["people"][:2] == ["Gavin Baker", "Jensen Huang"]
    assert f"- Jensen Huang{draft.SUGGESTION_MARK}" in text
    assert "<!-- draftcast: title, summary, insight, people, companies_orgs drafted by stand-in" in text


@pytest.mark.slow
def test_an_ingest_with_a_failing_writer_still_writes_the_draft(
    prefect_api: None,
    stand_in: StandIn,
    site: Site,
    isolated: Path,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = site.add_page("writer.html", media="jfk.mp4", title="Ask not", uploader="JFK Library")
    monkeypatch.setenv("DRAFTCAST_WRITER_URL", stand_in.url)
    monkeypatch.setenv("DRAFTCAST_WRITER_MODEL", "stand-in")
    stand_in.mode = "error"
    code, out, err = run_cli(capfd, url, "--model", "tiny.en", "--language", "en")
    assert code == 0, err
    text = Path(out.strip()).read_text()
    assert "the writing step (stand-in at" in text and "HTTP 500" in text
    assert frontmatter.loads(text)["title"] == "Ask not"

    stand_in.mode = "ok"
    Path(out.strip()).unlink()
    code, out, err = run_cli(capfd, url, "--model", "tiny.en", "--language", "en", "--rewrite")
    assert code == 0, err
    post = frontmatter.load(out.strip())
    assert post["title"] == "Power, not chips, limits AI"
    assert post["summary"].startswith("Gavin Baker on why: And so")  # whisper's words went out
