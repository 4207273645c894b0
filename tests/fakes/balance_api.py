"""A real local HTTP server standing in for ``GET /api/v1/applications/`` (paged).

    with BalanceApiServer(token="platform-v1-test") as api:
        api.applications = [{"id": "app-1", "remaining_amount": "12.50"}]
        BalanceClient(httpx.Client(), api.url, "platform-v1-test").balance()

Pages with ``limit``/``offset`` (default limit 10, like a list endpoint) and answers
``{"count", "next", "previous", "items"}``; ``fail_next(status, times)`` scripts errors;
401 for a wrong bearer token; every request is recorded in ``requests``.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.local_http import LocalHttpServer

APPLICATIONS_PATH = "/api/v1/applications/"


class BalanceApiServer:
    def __init__(self, *, token: str | None = None) -> None:
        self.token = token
        self.applications: list[dict[str, Any]] = []
        self.requests: list[dict[str, list[str]]] = []
        self._script: deque[tuple[int, bytes]] = deque()
        self._lock = threading.Lock()
        self._httpd = LocalHttpServer(("127.0.0.1", 0), _Handler)
        self._httpd.fake = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def fail_next(self, status: int, times: int = 1, body: bytes | None = None) -> None:
        payload = body if body is not None else json.dumps({"detail": f"fake {status}"}).encode()
        with self._lock:
            self._script.extend([(status, payload)] * times)

    def respond_next(self, body: bytes, status: int = 200) -> None:
        with self._lock:
            self._script.append((status, body))

    def answer(self, path: str, query: dict[str, list[str]], auth: str | None) -> tuple[int, bytes]:
        with self._lock:
            self.requests.append(query)
            if self._script:
                return self._script.popleft()
        if path != APPLICATIONS_PATH:
            return 404, b'{"detail": "Not found."}'
        if self.token is not None and auth != f"Bearer {self.token}":
            return 401, b'{"detail": "Invalid platform token"}'
        limit = int(query.get("limit", ["10"])[0])
        offset = int(query.get("offset", ["0"])[0])
        page = self.applications[offset : offset + limit]
        body = {"count": len(self.applications), "next": None, "previous": None, "items": page}
        return 200, json.dumps(body).encode()

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()

    def __enter__(self) -> BalanceApiServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        fake: BalanceApiServer = self.server.fake  # type: ignore[attr-defined]
        status, body = fake.answer(
            parts.path, parse_qs(parts.query), self.headers.get("authorization")
        )
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read ``requests`` instead."""
