"""A real local HTTP server standing in for the Slack Web API and an incoming webhook.

    with SlackApiStub(token="xoxb-test", channels={"C0123456789": "api-usage"}) as slack:
        client = SlackDestination(token="xoxb-test", base_url=slack.url,
                                  webhook_url=slack.webhook_url)
        client.post("#api-usage", [{"text": "hi"}])
        assert slack.posts[0].channel == "C0123456789"

Serves, under ``/api/``: auth.test, chat.postMessage (JSON or form bodies),
conversations.list (cursor pagination), files.getUploadURLExternal, the upload URL it hands
out (``/upload/F…``) and files.completeUploadExternal; plus the webhook at ``webhook_url``.
Checks the bearer token, knows its channels (and which the bot is not a member of), rejects
messages that break Slack's limits, records what it accepted, and injects faults with
``fail_next`` (method names as in ``calls``: API methods, ``"upload"`` and ``"webhook"``).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import socket
import struct
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from tests.fakes.local_http import LocalHttpServer

if TYPE_CHECKING:
    from reportbot.render.rendered import RenderedReport

WEBHOOK_PATH = "/webhook/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX"


def rendered_with(messages: list[dict[str, Any]]) -> RenderedReport:
    """A rendered demo report whose Slack output is ``messages``."""
    from reportbot.render.rendered import RenderedReport
    from tests.conftest import demo_report

    rendered = RenderedReport(demo_report("2024-W33"))
    rendered.__dict__["slack_messages"] = messages  # what cached_property would hold
    return rendered


@dataclass(frozen=True)
class Post:
    channel: str  # the channel id, or "webhook"
    text: str | None
    blocks: list[Any] | None
    thread_ts: str | None
    ts: str | None
    metadata: dict[str, Any] | None = None


@dataclass(frozen=True)
class Upload:
    channel: str
    filename: str
    title: str | None
    data: bytes
    thread_ts: str | None = None


@dataclass
class _Fault:
    status: int | None  # None: answer normally (after the delay)
    error: str | None
    retry_after: int | str | None
    times: int
    after: int
    delay: float
    mode: str | None = None  # "reset", "truncate" or "no_ts": after handling the call


FAULT_MODES = ("reset", "truncate", "no_ts")


@dataclass
class _Reply:
    status: int
    body: dict[str, Any] | str
    headers: dict[str, str]
    mode: str | None = None


def slack_limit_error(payload: dict[str, Any]) -> str | None:
    """The error Slack gives for a message payload breaking its limits, or None."""
    text, blocks = payload.get("text"), payload.get("blocks")
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    if not text:
        return "no_text"  # real Slack tolerates blocks without text; we do not
    if len(text) > 40_000:
        return "msg_too_long"
    if blocks is None:
        return None
    if not isinstance(blocks, list) or len(blocks) > 50 or not all(map(_block_ok, blocks)):
        return "invalid_blocks"
    if sum(len(s) for s in _texts(blocks)) > 12_000:
        return "msg_blocks_too_long"
    return None


def _block_ok(block: Any) -> bool:
    if not isinstance(block, dict) or len(str(block.get("block_id", ""))) > 255:
        return False
    text = (block.get("text") or {}).get("text", "")
    fields = block.get("fields") or []
    elements = block.get("elements") or []
    return {
        "header": 0 < len(text) <= 150,
        "section": (bool(text) or bool(fields))
        and len(text) <= 3000
        and len(fields) <= 10
        and all(len(f.get("text", "")) <= 2000 for f in fields),
        "context": 0 < len(elements) <= 10,
    }.get(block.get("type", ""), "type" in block)


def _texts(node: Any) -> Iterable[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from [value] if key == "text" and isinstance(value, str) else _texts(value)
    elif isinstance(node, list):
        for item in node:
            yield from _texts(item)


class SlackApiStub:
    """Start with ``with SlackApiStub(...) as slack`` (or ``start()`` / ``stop()``)."""

    def __init__(
        self,
        *,
        token: str = "xoxb-test",
        channels: dict[str, str] | None = None,
        not_member: Iterable[str] = (),
        team: str = "Test Team",
        user: str = "reportbot",
        page_size: int = 100,
        history: bool = True,
        per_channel_rate: float | None = None,
        burst: int = 3,
    ) -> None:
        self.token = token
        self.channels = dict(channels if channels is not None else {"C0123456789": "api-usage"})
        self.not_member = set(not_member)
        self.team, self.user, self.page_size = team, user, page_size
        self.history = history  # False: conversations.history answers missing_scope
        # Slack's chat.postMessage pace: a post beyond the burst at this rate gets a 429.
        self.per_channel_rate, self.burst = per_channel_rate, burst
        self._buckets: dict[str, tuple[float, float]] = {}
        self.rate_limited = 0
        self.posts: list[Post] = []
        self.uploads: list[Upload] = []
        self.calls: list[str] = []
        self._faults: dict[str, list[_Fault]] = {}
        self._pending: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1)
        self._epoch = int(time.time())  # a ts is when Slack took the message
        self._lock = threading.Lock()
        self._server = LocalHttpServer(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def url(self) -> str:
        return f"{self.base}/api/"

    @property
    def webhook_url(self) -> str:
        return f"{self.base}{WEBHOOK_PATH}"

    def start(self) -> SlackApiStub:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> SlackApiStub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def fail_next(
        self,
        method: str,
        *,
        status: int | None = None,
        error: str | None = None,
        times: int = 1,
        retry_after: int | str | None = None,
        after: int = 0,
        delay: float = 0.0,
        mode: str | None = None,
    ) -> None:
        """Answer ``times`` calls of ``method`` with a fault, after letting ``after`` through.

        ``status`` defaults to 429 for ``ratelimited``, 200 for another ``error`` (Slack's
        ``ok: false``) and 500 otherwise; a 429 sends ``Retry-After`` (default 0); a 5xx
        without ``error`` has a non-JSON body, as Slack's load balancers send. ``delay`` alone
        answers normally but late (the call succeeds here even if the client timed out).
        ``mode`` handles the call normally (a post is accepted) and then breaks the answer:
        ``reset`` closes the connection without one, ``truncate`` sends half of it, ``no_ts``
        answers ``ok`` without a ``ts``.
        """
        assert mode is None or mode in FAULT_MODES
        if status is None and mode is None and (error or not delay):
            status = 429 if error == "ratelimited" else 200 if error else 500
        fault = _Fault(status, error, retry_after, times, after, delay, mode)
        with self._lock:
            self._faults.setdefault(method, []).append(fault)

    # -- request handling (runs on the server's threads) --

    latency = 0.0  # seconds every call takes (benchmarks: a network-bound service)

    def handle(self, method: str, params: dict[str, Any], auth: str | None, raw: bytes) -> _Reply:
        if self.latency:
            time.sleep(self.latency)
        with self._lock:
            self.calls.append(method)
            fault = self._take_fault(method)
        if fault is not None:
            time.sleep(fault.delay)
        if fault is not None and fault.status is not None:
            return _fault_reply(fault.status, fault, webhook=method == "webhook")
        reply = self._answer(method, params, auth, raw)
        if fault is not None and fault.mode is not None:
            reply.mode = fault.mode
            if fault.mode == "no_ts" and isinstance(reply.body, dict):
                reply.body = {k: v for k, v in reply.body.items() if k != "ts"}
        return reply

    def _answer(
        self, method: str, params: dict[str, Any], auth: str | None, raw: bytes
    ) -> _Reply:
        if method == "webhook":
            return self._webhook(params)
        if method == "upload":
            return self._upload(params["_path"], raw)
        if auth is None and not params.get("token"):
            return _error("not_authed")
        if (auth or "") != f"Bearer {self.token}" and params.get("token") != self.token:
            return _error("invalid_auth")
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        return handler(params) if handler else _error("unknown_method")

    def _take_fault(self, method: str) -> _Fault | None:
        queue = self._faults.get(method) or []
        if not queue:
            return None
        fault = queue[0]
        if fault.after > 0:
            fault.after -= 1
            return None
        fault.times -= 1
        if fault.times <= 0:
            queue.pop(0)
        return fault

    def _channel(self, channel: str) -> tuple[str | None, str | None]:
        """(channel id, error) for an id, ``name`` or ``#name``."""
        by_name = {name: cid for cid, name in self.channels.items()}
        cid = channel if channel in self.channels else by_name.get(channel.lstrip("#"))
        if cid is None:
            return None, "channel_not_found"
        return cid, "not_in_channel" if cid in self.not_member else None

    def _auth_test(self, params: dict[str, Any]) -> _Reply:
        return _ok(
            team=self.team,
            user=self.user,
            team_id="T000",
            user_id="U000",
            bot_id="B000",
            url="https://test.slack.com/",
        )

    def _chat_postMessage(self, params: dict[str, Any]) -> _Reply:
        cid, error = self._channel(str(params.get("channel", "")))
        error = error or slack_limit_error(params)
        if error or cid is None:
            return _error(error or "channel_not_found")
        if not self._within_pace(cid):
            return _Reply(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "1"})
        blocks = params.get("blocks")
        blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
        with self._lock:
            ts = f"{self._epoch + next(self._ids)}.000100"
            metadata = params.get("metadata")
            metadata = json.loads(metadata) if isinstance(metadata, str) else metadata
            post = Post(cid, params["text"], blocks, params.get("thread_ts"), ts, metadata)
            self.posts.append(post)
        return _ok(channel=cid, ts=ts, message={"text": params["text"], "ts": ts})

    def _within_pace(self, cid: str) -> bool:
        if self.per_channel_rate is None:
            return True
        with self._lock:
            now = time.monotonic()
            tokens, when = self._buckets.get(cid, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - when) * self.per_channel_rate)
            if tokens < 1.0:
                self._buckets[cid] = (tokens, now)
                self.rate_limited += 1
                return False
            self._buckets[cid] = (tokens - 1.0, now)
            return True

    def _conversations_list(self, params: dict[str, Any]) -> _Reply:
        start = int(params.get("cursor") or 0)
        size = min(int(params.get("limit") or 100), self.page_size)
        listed = [
            {"id": cid, "name": name, "is_member": cid not in self.not_member}
            for cid, name in self.channels.items()
        ]
        more = start + size < len(listed)
        return _ok(
            channels=listed[start : start + size],
            response_metadata={"next_cursor": str(start + size) if more else ""},
        )

    def _conversations_history(self, params: dict[str, Any]) -> _Reply:
        if not self.history:
            missing = {"ok": False, "error": "missing_scope", "needed": "channels:history"}
            return _Reply(200, missing, {})
        cid, error = self._channel(str(params.get("channel", "")))
        if cid is None or cid != params.get("channel"):
            return _error("channel_not_found")  # history takes ids only
        if error:
            return _error(error)
        oldest = float(params.get("oldest") or 0)
        metadata = str(params.get("include_all_metadata")).lower() in ("true", "1")
        with self._lock:
            found = [p for p in reversed(self.posts) if p.channel == cid and p.thread_ts is None]
        found = [p for p in found if p.ts and float(p.ts) > oldest]
        start = int(params.get("cursor") or 0)
        size = min(int(params.get("limit") or 100), self.page_size)
        page = [
            {"type": "message", "ts": p.ts, "text": p.text}
            | ({"metadata": p.metadata} if metadata and p.metadata else {})
            for p in found[start : start + size]
        ]
        more = start + size < len(found)
        return _ok(
            messages=page,
            has_more=more,
            response_metadata={"next_cursor": str(start + size) if more else ""},
        )

    def _conversations_replies(self, params: dict[str, Any]) -> _Reply:
        if not self.history:
            missing = {"ok": False, "error": "missing_scope", "needed": "channels:history"}
            return _Reply(200, missing, {})
        cid, _ = self._channel(str(params.get("channel", "")))
        parent = str(params.get("ts", ""))
        metadata = str(params.get("include_all_metadata")).lower() in ("true", "1")
        with self._lock:
            thread = [
                p for p in self.posts if p.channel == cid and parent in (p.ts, p.thread_ts)
            ]
        if not any(p.ts == parent for p in thread):
            return _error("thread_not_found")
        messages = [
            {"type": "message", "ts": p.ts, "thread_ts": parent, "text": p.text}
            | ({"metadata": p.metadata} if metadata and p.metadata else {})
            for p in thread
        ]
        return _ok(messages=messages, has_more=False, response_metadata={"next_cursor": ""})

    def _files_getUploadURLExternal(self, params: dict[str, Any]) -> _Reply:
        if not params.get("filename") or not params.get("length"):
            return _error("invalid_arguments")
        file_id = f"F{next(self._ids):010d}"
        with self._lock:
            self._pending[file_id] = {"filename": params["filename"], "data": None}
        return _ok(file_id=file_id, upload_url=f"{self.base}/upload/{file_id}")

    def _upload(self, path: str, raw: bytes) -> _Reply:
        with self._lock:
            pending = self._pending.get(path.rsplit("/", 1)[-1])
            if pending is None:
                return _Reply(404, "not found", {})
            pending["data"] = raw
        return _Reply(200, f"OK - {len(raw)}", {})

    def _files_completeUploadExternal(self, params: dict[str, Any]) -> _Reply:
        cid, error = self._channel(str(params.get("channel_id", "")))
        if error or cid is None:
            return _error(error or "channel_not_found")
        files = json.loads(params.get("files") or "[]")
        with self._lock:
            pending = [self._pending.pop(f["id"], None) for f in files]
            if not files or any(p is None or p["data"] is None for p in pending):
                return _error("invalid_arguments")
            for f, p in zip(files, pending, strict=True):
                assert p is not None
                thread = params.get("thread_ts")
                upload = Upload(cid, p["filename"], f.get("title"), p["data"], thread)
                self.uploads.append(upload)
        return _ok(files=[{"id": f["id"], "title": f.get("title")} for f in files])

    def _webhook(self, params: dict[str, Any]) -> _Reply:
        error = slack_limit_error(params)
        if error:
            return _Reply(400, error, {})
        with self._lock:
            self.posts.append(Post("webhook", params.get("text"), params.get("blocks"), None, None))
        return _Reply(200, "ok", {})


def _ok(**fields: Any) -> _Reply:
    return _Reply(200, {"ok": True, **fields}, {})


def _error(code: str, status: int = 200) -> _Reply:
    return _Reply(status, {"ok": False, "error": code}, {})


def _fault_reply(status: int, fault: _Fault, *, webhook: bool) -> _Reply:
    headers = {}
    if fault.retry_after is not None or status == 429:
        headers["Retry-After"] = str(0 if fault.retry_after is None else fault.retry_after)
    code = fault.error or ("ratelimited" if status == 429 else None)
    if code is None:
        return _Reply(status, "<html><body>Service Unavailable</body></html>", headers)
    return _Reply(status, code if webhook else {"ok": False, "error": code}, headers)


def _handler_for(stub: SlackApiStub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            path = urlsplit(self.path)
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            params: dict[str, Any] = {**dict(parse_qsl(path.query)), "_path": path.path}
            params.update(self._body(raw))
            if path.path == WEBHOOK_PATH:
                method = "webhook"
            elif path.path.startswith("/upload/"):
                method = "upload"
            elif path.path.startswith("/api/"):
                method = path.path.removeprefix("/api/")
            else:
                return self._send(_Reply(404, "not found", {}))
            return self._send(stub.handle(method, params, self.headers.get("Authorization"), raw))

        do_GET = do_POST

        def _body(self, raw: bytes) -> dict[str, Any]:
            kind = self.headers.get("Content-Type") or ""
            if kind.startswith("application/json"):
                body = json.loads(raw or b"{}")
                return dict(body) if isinstance(body, dict) else {}
            if kind.startswith("application/x-www-form-urlencoded") and "/upload/" not in self.path:
                return dict(parse_qsl(raw.decode()))
            return {}

        def _send(self, reply: _Reply) -> None:
            if reply.mode == "reset":
                self._reset()
                return
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self._write(reply)  # unless the client gave up (a timeout test)

        def _reset(self) -> None:
            """Close the connection with a RST and no answer (the post was taken)."""
            self.close_connection = True
            self.connection.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
            )
            self.connection.close()

        def _write(self, reply: _Reply) -> None:
            is_json = isinstance(reply.body, dict)
            data = (json.dumps(reply.body) if is_json else str(reply.body)).encode()
            self.send_response(reply.status)
            kind = "application/json; charset=utf-8" if is_json else "text/html; charset=utf-8"
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            if reply.mode == "truncate":
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler
