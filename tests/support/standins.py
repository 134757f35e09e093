"""Local stand-ins of the platforms' APIs, on loopback, for the extractor tests.

Each stand-in is a small HTTP app over ``http.server`` that implements one API's paging, cursors
and filters on records the test gives it, checks the credentials, and can be told to answer the
next requests with a fault (429 with ``Retry-After``, a 500, an expired token, an API error). It
records every request it received and every body it served, so that a test can assert the number
of requests and compare the landed files byte for byte with what the API sent.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    status: int = 0


@dataclass
class Fault:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def api_json(obj) -> bytes:
    """How the stand-ins serialise: spaced, non-ASCII escaped, key order kept. Anything that
    re-serialises a page (pretty-printing, other separators) changes these bytes."""
    return json.dumps(obj, indent=1, ensure_ascii=True).encode() + b"\n"


class StandIn:
    """Base of the stand-ins: a threaded HTTP server on 127.0.0.1 and a random port."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.served: list[bytes] = []  # bodies of the successful (2xx) answers, in order
        self.faults: list[Fault] = []
        self._lock = threading.Lock()
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                url = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                request = Request(self.command, url.path, {k: v[-1] for k, v in parse_qs(url.query).items()},
                                  {k.lower(): v for k, v in self.headers.items()}, self.rfile.read(length))
                status, headers, body = stand_in._answer(request)
                request.status = status
                self.send_response(status)
                for k, v in {"Content-Type": "application/json; charset=utf-8", **headers}.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _handle

            def log_message(self, *args) -> None:  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> StandIn:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def fail_next(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None, times: int = 1) -> None:
        """Answer the next ``times`` requests with this fault instead of serving them."""
        with self._lock:
            self.faults.extend(Fault(status, body, headers or {}) for _ in range(times))

    def _answer(self, request: Request) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            self.requests.append(request)
            fault = self.faults.pop(0) if self.faults else None
        if fault is not None:
            return fault.status, fault.headers, fault.body
        status, headers, body = self.route(request)
        if status < 300:
            with self._lock:
                self.served.append(body)
        return status, headers, body

    def route(self, request: Request) -> tuple[int, dict[str, str], bytes]:
        raise NotImplementedError

    def served_requests(self, path_part: str = "") -> list[Request]:
        return [r for r in self.requests if path_part in r.path]


def page_slice(items: list, page: int, count: int) -> list:
    return items[(page - 1) * count: page * count]


class YotpoStandIn(StandIn):
    """``GET /v1/apps/{app_key}/reviews?utoken&since_updated_at&page&count`` -> ``{"reviews": [...]}``,
    oldest update first; a wrong ``utoken`` gets Yotpo's 401 body."""

    def __init__(self, app_key: str, token: str, reviews: list[dict]) -> None:
        super().__init__()
        self.app_key, self.token, self.reviews = app_key, token, reviews

    def route(self, request: Request) -> tuple[int, dict[str, str], bytes]:
        if request.path != f"/v1/apps/{self.app_key}/reviews":
            return 404, {}, api_json({"status": {"code": 404, "message": "Not Found"}})
        if request.query.get("utoken") != self.token:
            return 401, {}, api_json({"status": {"code": 401, "message": "Invalid token", "error_type": "Unauthorized"}})
        from ugc_pipeline.extract import parse_time

        since = request.query.get("since_updated_at")
        chosen = sorted((r for r in self.reviews if since is None or parse_time(r["updated_at"]) >= parse_time(since)),
                        key=lambda r: (parse_time(r["updated_at"]), r["id"]))
        page, count = int(request.query.get("page", 1)), int(request.query.get("count", 10))
        return 200, {}, api_json({"reviews": page_slice(chosen, page, count)})
