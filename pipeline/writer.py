"""The optional writing step: an OpenAI-compatible chat endpoint (OpenAI, or a local
server such as Ollama or vLLM) drafts ``title``, ``summary``, ``insight`` and the name
lists from the transcript. Off unless a base URL is set. Its prompts are templates in
``templates/`` (``writer-system.md.j2``, ``writer-user.md.j2``).

It never fails an ingest: any failure (no answer in time, an HTTP error, an answer that
is not the JSON asked for) gives a result without fields and a note that says why, and
the draft is written without them.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

import httpx
import jinja2
from jinja2.sandbox import SandboxedEnvironment

from pipeline.config import WriterSettings
from pipeline.transcript import Transcript
from pipeline.video import VideoInfo

log = logging.getLogger(__name__)

TEXT_FIELDS = ("title", "summary", "insight")
LIST_FIELDS = ("people", "companies_orgs", "products_models")


@dataclass(frozen=True)
class Written:
    """What the endpoint drafted (empty when it failed), and a line for the editor."""

    fields: dict[str, Any] = field(default_factory=dict)  # TEXT_FIELDS: str; LIST_FIELDS: list of str
    note: str = ""  # what was drafted by which model, or why nothing was


def draft_fields(video: VideoInfo, transcript: Transcript, settings: WriterSettings) -> Written:
    """Ask the endpoint (``settings``: its base URL, model, key and timeout, the prompt
    templates) for the fields; the transcript is cut to ``max_transcript_chars``
    characters. Returns the non-empty fields the answer held, with a note for the editor.

    Raises:
        Nothing on the endpoint's failures (no answer within the timeout, an HTTP error, an
        answer that is not the JSON asked for) or the templates' (missing, failing): they
        give ``Written({}, note)`` with why, and are logged.
    """
    where = f"{settings.model} at {settings.base_url}"
    try:
        system, user = _prompts(video, transcript, settings)
        answer = _ask(system, user, settings)
        fields = _fields(answer)
    except _Failed as failure:
        log.warning("the writing step (%s) failed, the draft is written without it: %s", where, failure)
        return Written({}, f"the writing step ({where}) failed: {failure}; the fields it drafts were left as they were")
    log.info("the writing step (%s) drafted %s", where, ", ".join(fields) or "nothing")
    return Written(fields, f"{', '.join(fields)} drafted by {where}: check them")


class _Failed(Exception):
    pass


def _prompts(video: VideoInfo, transcript: Transcript, settings: WriterSettings) -> tuple[str, str]:
    environment = SandboxedEnvironment(
        loader=jinja2.FileSystemLoader(str(settings.prompts)), undefined=jinja2.StrictUndefined
    )
    text = transcript.text
    cut = len(text) > settings.max_transcript_chars
    values = {
        "video": video,
        "language": transcript.language,
        "transcript": text[: settings.max_transcript_chars],
        "cut": cut,
        "text_fields": TEXT_FIELDS,
        "list_fields": LIST_FIELDS,
    }
    try:
        return tuple(  # type: ignore[return-value]
            environment.get_template(name).render(values).strip()
            for name in ("writer-system.md.j2", "writer-user.md.j2")
        )
    except jinja2.TemplateError as exc:
        raise _Failed(f"its prompt templates in {settings.prompts}: {exc}") from exc


def _ask(system: str, user: str, settings: WriterSettings) -> str:
    headers = {"Authorization": f"Bearer {settings.api_key}"} if settings.api_key else {}
    body = {
        "model": settings.model,
        "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
        "temperature": 0.2,
        "response_format": {"type": "json_object"},
    }
    url = settings.base_url.rstrip("/") + "/chat/completions"
    try:
        response = httpx.post(url, json=body, headers=headers, timeout=settings.timeout_seconds)
    except httpx.TimeoutException as exc:
        raise _Failed(f"no answer within {settings.timeout_seconds:g} s") from exc
    except (httpx.HTTPError, httpx.InvalidURL) as exc:  # InvalidURL: a base_url such as http://[::1
        raise _Failed(f"cannot reach {url}: {exc}") from exc
    if response.status_code != 200:
        raise _Failed(f"{url} answered HTTP {response.status_code}: {response.text[:200]}")
    try:
        return str(response.json()["choices"][0]["message"]["content"])
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise _Failed(f"{url} did not answer as an OpenAI-compatible endpoint does: {response.text[:200]}") from exc


def _fields(answer: str) -> dict[str, Any]:
    """The fields in the model's answer: a JSON object, maybe inside a ```json fence."""
    text = answer.strip().removeprefix("```json").removeprefix("```").removesuffix("```").strip()
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise _Failed(f"the answer is not JSON: {answer[:200]!r}") from exc
    if not isinstance(data, dict):
        raise _Failed(f"the answer is not a JSON object: {answer[:200]!r}")
    fields: dict[str, Any] = {}
    for name in TEXT_FIELDS:
        if isinstance(data.get(name), str) and data[name].strip():
            fields[name] = data[name].strip()
    for name in LIST_FIELDS:
        values = data.get(name)
        if isinstance(values, list):
            names = [" ".join(str(v).split()) for v in values if isinstance(v, str | int) and str(v).strip()]
            if names:
                fields[name] = names
    if not fields:
        raise _Failed(f"the answer holds none of {', '.join(TEXT_FIELDS + LIST_FIELDS)}")
    return fields
