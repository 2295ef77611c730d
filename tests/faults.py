"""A fault-injecting HTTP server on 127.0.0.1 for the reliability tests.

It serves the files of a folder as a CDN does (byte ranges included, so downloads can
resume) and, for a path with faults queued, answers the next requests for it with those
faults, one per request, in order: an error status, a connection reset part-way, a body
shorter than its Content-Length, a stall. Every request is recorded with its Range
header, so a test can see what the client did (retries, resumes).

It also redirects, as a podcast host hands out its media: a path answers with a redirect
to an address signed anew on each request (a random signature in the query or the path),
which the server honours until it is told to expire the signatures it handed out.
"""

from __future__ import annotations

import functools
import re
import secrets
import socket
import struct
import threading
import time
from collections import defaultdict, deque
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@dataclass(frozen=True)
class Fault:
    """``status``: answer with this HTTP status. ``drop_after``: send the headers and this
    many bytes, then reset the connection. ``short_after``: the same, but close it
    cleanly (a body shorter than its Content-Length). ``stall_after``: send this many
    bytes, then send nothing for ``stall_seconds``."""

    status: int | None = None
    drop_after: int | None = None
    short_after: int | None = None
    stall_after: int | None = None
    stall_seconds: float = 0.0


@dataclass(frozen=True)
class Redirect:
    """Answer with ``status`` to ``to``, a path or a URL, in which each "{sig}" becomes a
    new random signature and "{now}" the time (Unix seconds)."""

    status: int
    to: str


@dataclass(frozen=True)
class Request:
    path: str  # without the query and without any signature ("/cdn/ep.mp3")
    range: str | None
    fault: Fault | None
    signature: str | None = None  # handed out by a redirect (that request's) or used in this one


class FaultyServer:
    def __init__(
        self, root: Path, *, bytes_per_second: float | None = None, signatures: dict[str, bool] | None = None
    ) -> None:
        self.root = root
        self.bytes_per_second = bytes_per_second  # throttles every body (None: full speed)
        self.faults: dict[str, deque[Fault]] = defaultdict(deque)
        self.redirects: dict[str, Redirect] = {}
        # signature → still honoured; shared with another server, that one honours them too
        self.signatures: dict[str, bool] = {} if signatures is None else signatures
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Handler, self))
        self._server.daemon_threads = True
        self._server.handle_error = lambda request, address: None  # type: ignore[method-assign]
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()  # quick to shut down

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def url(self, name: str) -> str:
        return f"{self.base}/{name}"

    def fail(self, name: str, *faults: Fault) -> None:
        with self._lock:
            self.faults[f"/{name}"].extend(faults)

    def redirect(self, name: str, to: str, status: int = 302) -> None:
        self.redirects[f"/{name}"] = Redirect(status, to)

    def sign(self) -> str:
        with self._lock:
            signature = secrets.token_hex(8)
            self.signatures[signature] = True
            return signature

    def signature_in(self, address: str) -> str | None:
        """The signature handed out earlier that ``address`` carries, if any."""
        with self._lock:
            return next((s for s in self.signatures if s in address), None)

    def expire_signatures(self) -> None:
        """Every signature handed out so far is refused from now on (HTTP 403)."""
        with self._lock:
            self.signatures.update(dict.fromkeys(self.signatures, False))

    def requests_for(self, name: str) -> list[Request]:
        return [r for r in self.requests if r.path == f"/{name}"]

    def next_fault(self, path: str, range_header: str | None, signature: str | None = None) -> Fault | None:
        with self._lock:
            queued = self.faults.get(path)
            fault = queued.popleft() if queued else None
            self.requests.append(Request(path, range_header, fault, signature))
            return fault

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def __init__(self, server: FaultyServer, *args: object) -> None:
        self.faulty = server
        super().__init__(*args)  # type: ignore[arg-type]

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_HEAD(self) -> None:
        self._answer(head=True)

    def do_GET(self) -> None:
        self._answer(head=False)

    def _answer(self, *, head: bool) -> None:
        path = self.path.split("?")[0]
        if (redirect := self.faulty.redirects.get(path)) is not None:
            signature = self.faulty.sign() if "{sig}" in redirect.to else None
            self.faulty.next_fault(path, self.headers.get("Range"), signature)
            self.send_response(redirect.status)
            self.send_header("Location", redirect.to.format(sig=signature, now=int(time.time())))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        signature = self.faulty.signature_in(self.path)
        if signature is not None:  # "/cdn/<sig>/ep.mp3" and "/cdn/ep-<sig>.mp3" are "/cdn/ep.mp3"
            path = re.sub(f"[-_./]?{signature}", "", path)
        file = self.faulty.root / path.lstrip("/")
        fault = self.faulty.next_fault(path, self.headers.get("Range"), signature)
        if signature is not None and not self.faulty.signatures[signature]:
            self._empty(403)  # expired, as a CDN's signed URL does
            return
        if fault and fault.status:
            self._empty(fault.status)
            return
        if not file.is_file() or ".." in path:
            self._empty(404)
            return
        data = file.read_bytes()
        start, end = 0, len(data) - 1
        match = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range") or "")
        if match:
            start = int(match.group(1))
            end = min(int(match.group(2) or end), end)
            if start > end:
                self._empty(416)
                return
        self.send_response(206 if match else 200)
        self.send_header("Content-Type", _content_type(file))
        self.send_header("Content-Length", str(end - start + 1))
        self.send_header("Accept-Ranges", "bytes")
        if match:
            self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
        self.end_headers()
        if head:
            return
        body = data[start : end + 1]
        cuts = (fault.drop_after, fault.short_after, fault.stall_after) if fault else ()
        limit = next((n for n in cuts if n is not None), None)
        for chunk in self._chunks(body[:limit] if limit is not None else body):
            self.wfile.write(chunk)
        self.wfile.flush()
        if fault and fault.stall_after is not None:
            time.sleep(fault.stall_seconds)
        if fault and fault.drop_after is not None:  # RST, as a dropped connection looks
            time.sleep(0.3)  # once the client has what was sent: a reset discards unread data
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        if fault and (fault.drop_after is not None or fault.short_after is not None or fault.stall_after is not None):
            self.close_connection = True
            self.connection.close()

    def _chunks(self, body: bytes) -> Iterator[bytes]:
        step = 16 * 1024
        for offset in range(0, len(body), step):
            if self.faulty.bytes_per_second:
                time.sleep(step / self.faulty.bytes_per_second)
            yield body[offset : offset + step]

    def _empty(self, status: int) -> None:
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()


def _content_type(file: Path) -> str:
    return {".html": "text/html; charset=utf-8", ".mp4": "video/mp4", ".m4a": "audio/mp4", ".mp3": "audio/mpeg"}.get(
        file.suffix, "application/octet-stream"
    )
