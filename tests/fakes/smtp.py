"""An in-process SMTP server (aiosmtpd) for delivery tests.

    with SmtpServer(mode="starttls", auth=("user", "pass")) as server:
        SmtpSender(host=server.host, port=server.port, ssl_context=server.client_context, ...)
        server.messages[0].raw           # bytes as received after DATA
        server.refuse("gone@example.com")  # RCPT answered 550 from now on
        server.fail_next(421, "try later")  # next DATA answered 421 (on="MAIL"/"RCPT" too)
        server.connections                # client connections accepted so far
        server.disconnect_clients()       # drop open connections, like an idle timeout

Modes: ``plain`` (no TLS offered), ``starttls`` (STARTTLS offered and required before
mail) and ``ssl`` (implicit TLS). The certificate is for 127.0.0.1 and localhost, signed by a
trustme CA that ``client_context`` trusts; ``untrusted_client_context()`` trusts another CA.
With ``auth``, one user/password is accepted and MAIL before AUTH is answered 530.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

Mode = Literal["plain", "starttls", "ssl"]
Command = Literal["MAIL", "RCPT", "DATA"]
HOST = "127.0.0.1"


@functools.cache
def _test_ca() -> trustme.CA:
    return trustme.CA()


def _server_context() -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    _test_ca().issue_cert(HOST, "localhost").configure_cert(context)
    return context


def trusted_client_context() -> ssl.SSLContext:
    """A verifying client context that trusts the fake server's certificate."""
    context = ssl.create_default_context()
    _test_ca().configure_trust(context)
    return context


def untrusted_client_context() -> ssl.SSLContext:
    """A verifying client context that trusts some other CA, so verification fails."""
    context = ssl.create_default_context()
    trustme.CA().configure_trust(context)
    return context


@dataclass(frozen=True)
class ReceivedMessage:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes


@dataclass
class _Fault:
    code: int
    message: str
    times: int


@dataclass
class _Handler:
    """aiosmtpd handler: records messages and answers scripted faults."""

    auth_required: bool
    messages: list[ReceivedMessage] = field(default_factory=list)
    refused: set[str] = field(default_factory=set)
    faults: dict[str, _Fault] = field(default_factory=dict)

    def _fault(self, command: str) -> str | None:
        fault = self.faults.get(command)
        if fault is None:
            return None
        fault.times -= 1
        if fault.times <= 0:
            del self.faults[command]
        return f"{fault.code} {fault.message}"

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.auth_required and not session.authenticated:
            return "530 5.7.0 Authentication required"
        if fault := self._fault("MAIL"):
            return fault
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address.lower() in self.refused:
            return f"550 5.1.1 <{address}>: mailbox unavailable"
        if fault := self._fault("RCPT"):
            return fault
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if fault := self._fault("DATA"):
            return fault
        raw = envelope.original_content or b""
        self.messages.append(ReceivedMessage(envelope.mail_from or "", envelope.rcpt_tos, raw))
        return "250 2.0.0 Message accepted"


class _Authenticator:
    def __init__(self, username: str, password: str) -> None:
        self._expected = LoginPassword(username.encode(), password.encode())

    def __call__(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        return AuthResult(success=data == self._expected, handled=False)


class _CountingController(Controller):
    """Binds a free port and keeps the SMTP protocol it creates for each connection."""

    def __init__(self, handler: _Handler, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self.protocols: list[SMTP] = []

    def factory(self) -> SMTP:
        protocol: SMTP = super().factory()  # type: ignore[no-untyped-call]
        self.protocols.append(protocol)
        return protocol

    def _trigger_server(self) -> None:
        # Asked for port 0: learn the real one before start() connects to check readiness.
        assert isinstance(self.server, asyncio.Server)
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]

    async def close_connections(self) -> None:
        open_ones = [p for p in self.protocols if p.transport is not None]
        for protocol in open_ones:
            transport = protocol.transport
            assert isinstance(transport, asyncio.Transport)
            transport.abort()  # no TLS close_notify dance: the client is idle
        while any(p.transport is not None for p in open_ones):
            await asyncio.sleep(0)  # connection_lost() clears it once the socket is gone


class SmtpServer:
    """A local SMTP server on a free port; use it as a context manager."""

    host = HOST

    def __init__(self, mode: Mode = "plain", auth: tuple[str, str] | None = None) -> None:
        self.mode = mode
        self.client_context = trusted_client_context()
        self._handler = _Handler(auth_required=auth is not None)
        self._controller = _CountingController(self._handler, **_controller_kwargs(mode, auth))
        self._baseline = 0

    def __enter__(self) -> SmtpServer:
        self._controller.start()
        # start() opened one connection itself to check the server is up.
        self._baseline = len(self._controller.protocols)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._controller.stop()

    @property
    def port(self) -> int:
        port: int = self._controller.port
        return port

    @property
    def messages(self) -> list[ReceivedMessage]:
        return self._handler.messages

    @property
    def connections(self) -> int:
        return len(self._controller.protocols) - self._baseline

    def refuse(self, recipient: str) -> None:
        """Answer RCPT TO for this mailbox with 550 from now on."""
        self._handler.refused.add(recipient.lower())

    def fail_next(self, code: int, message: str, times: int = 1, on: Command = "DATA") -> None:
        """Answer the next ``times`` ``on`` commands with ``code message`` (0 clears it)."""
        if times > 0:
            self._handler.faults[on] = _Fault(code, message, times)
        else:
            self._handler.faults.pop(on, None)

    def disconnect_clients(self) -> None:
        """Close every open client connection, as a server's idle timeout would."""
        closing = self._controller.close_connections()
        asyncio.run_coroutine_threadsafe(closing, self._controller.loop).result(timeout=5)


def _controller_kwargs(mode: Mode, auth: tuple[str, str] | None) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"hostname": HOST, "port": 0, "server_hostname": "localhost"}
    if mode == "starttls":
        kwargs |= {"tls_context": _server_context(), "require_starttls": True}
    elif mode == "ssl":
        kwargs["ssl_context"] = _server_context()
    if auth is not None:
        kwargs["authenticator"] = _Authenticator(*auth)
        # aiosmtpd only counts STARTTLS as TLS, so implicit TLS (and plain) must opt out.
        kwargs["auth_require_tls"] = mode == "starttls"
    return kwargs


def write_test_ca(path: Path) -> Path:
    """The fake server's CA as a PEM file, for a subprocess's SSL_CERT_FILE."""
    _test_ca().cert_pem.write_to_path(str(path))
    return path
