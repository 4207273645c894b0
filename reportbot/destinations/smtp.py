"""SMTP with verified TLS: one connection per run, transient failures retried.

Every smtplib/ssl/socket failure leaves this module as one ``DeliveryError``:

    permanent   535 login failed, certificate not verified, TLS handshake failed,
                STARTTLS not offered, a refused mailbox, any other 5xx
    transient   4xx (421, 451, ...), dropped connections, timeouts, refused connects:
                retried ``attempts`` times with exponential backoff, reconnecting
"""

from __future__ import annotations

import logging
import smtplib
import socket
import ssl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Literal

from reportbot.destinations.email import domain_of
from reportbot.errors import DeliveryError, printable

log = logging.getLogger(__name__)

Security = Literal["starttls", "ssl", "none"]
TIMEOUT_SECONDS = 30.0
RETRY_ATTEMPTS = 3
RETRY_BACKOFF_SECONDS = 2.0  # doubled after each failed attempt
CERT_HINT = "set SSL_CERT_FILE to the CA bundle that signed the server's certificate"
TLS_HINT = "check SMTP_PORT and SMTP_SECURITY (465 is ssl, 587 is starttls)"


def _default_context() -> ssl.SSLContext:
    try:
        return ssl.create_default_context()
    except (ssl.SSLError, OSError) as exc:
        raise DeliveryError(
            f"cannot load the trusted certificates (check SSL_CERT_FILE): {exc}", permanent=True
        ) from None


class SmtpSender:
    """Sends messages through one SMTP server; see ``session()``."""

    def __init__(
        self,
        *,
        host: str,
        port: int = 587,
        username: str | None = None,
        password: str | None = None,
        security: Security = "starttls",
        timeout: float = TIMEOUT_SECONDS,
        ssl_context: ssl.SSLContext | None = None,
        attempts: int = RETRY_ATTEMPTS,
        backoff: float = RETRY_BACKOFF_SECONDS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.host, self.port, self.security = host, port, security
        self.username, self._password = username, password
        self.timeout = timeout
        self.ssl_context = ssl_context or _default_context()
        self.attempts, self.backoff, self.sleep = max(attempts, 1), backoff, sleep

    @contextmanager
    def session(self) -> Iterator[SmtpSession]:
        """One connection (connect, TLS, login once) for all the messages of a run."""
        session = SmtpSession(self)
        try:
            yield session
        finally:
            session.close()

    def check(self) -> str:
        """Connect and log in, or raise ``DeliveryError``; describe what worked."""
        with self.session() as session:
            session.run(lambda smtp: None)
        login = f"logged in as {self.username}" if self.username else "no login"
        return f"{self.host}:{self.port} {self.security}, {login}"

    def connect(self) -> smtplib.SMTP:
        """A connected, encrypted (unless security="none") and logged-in client."""
        smtp = self._open()
        try:
            if self.security == "starttls":
                self._starttls(smtp)
            if self.username:
                smtp.login(self.username, self._password or "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _open(self) -> smtplib.SMTP:
        address, timeout = (self.host, self.port), self.timeout
        if self.security == "ssl":
            return smtplib.SMTP_SSL(*address, timeout=timeout, context=self.ssl_context)
        return smtplib.SMTP(*address, timeout=timeout)

    def _starttls(self, smtp: smtplib.SMTP) -> None:
        smtp.ehlo()
        if not smtp.has_extn("starttls"):
            raise DeliveryError(
                f"{self.host}:{self.port} does not offer STARTTLS: refusing to send in clear; "
                "use the server's STARTTLS or implicit-TLS port (SMTP_SECURITY=ssl, port 465)",
                permanent=True,
            )
        smtp.starttls(context=self.ssl_context)
        smtp.ehlo()


class SmtpSession:
    """Holds the connection of one ``SmtpSender.session()``; reconnects when it drops."""

    def __init__(self, sender: SmtpSender) -> None:
        self._sender = sender
        self._smtp: smtplib.SMTP | None = None

    def send(self, msg: EmailMessage) -> str:
        """Deliver ``msg`` and return its Message-ID (one is added if missing)."""
        if msg["Message-ID"] is None:
            msg["Message-ID"] = make_msgid(domain=domain_of(str(msg["From"])))
        self.run(lambda smtp: _send_once(smtp, msg))
        return str(msg["Message-ID"])

    def run(self, action: Callable[[smtplib.SMTP], object]) -> None:
        """Run ``action`` on the connection, retrying transient failures."""
        sender = self._sender
        for attempt in range(1, sender.attempts + 1):
            try:
                action(self._connection())
                return
            except (smtplib.SMTPException, OSError) as err:
                failure = _delivery_error(err, sender)
                if failure.permanent:
                    raise failure from err
                self.close(graceful=False)  # a QUIT could wait out another timeout
                if attempt == sender.attempts:
                    raise DeliveryError(f"{failure} (gave up after {attempt} attempts)") from err
                delay = sender.backoff * 2 ** (attempt - 1)
                log.warning("%s; retrying in %g s", failure, delay)
                sender.sleep(delay)

    def close(self, *, graceful: bool = True) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            if graceful:
                smtp.quit()
        except (smtplib.SMTPException, OSError):
            pass
        smtp.close()

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is None or self._smtp.sock is None:  # smtplib drops it after a 421
            self._smtp = self._sender.connect()
        return self._smtp


def _send_once(smtp: smtplib.SMTP, msg: EmailMessage) -> None:
    refused = smtp.send_message(msg)
    if refused:  # some recipients of several: the others got it
        raise smtplib.SMTPRecipientsRefused(refused)


def _delivery_error(err: Exception, sender: SmtpSender) -> DeliveryError:
    where = f"{sender.host}:{sender.port}"
    if isinstance(err, smtplib.SMTPRecipientsRefused):
        return _refused(err.recipients)
    if isinstance(err, smtplib.SMTPAuthenticationError) and err.smtp_code >= 500:
        login = f"SMTP login failed for {sender.username}: check SMTP_USERNAME/SMTP_PASSWORD"
        return DeliveryError(login, permanent=True)
    if isinstance(err, smtplib.SMTPResponseException):
        reply = f"{where} answered {err.smtp_code} {_said(err.smtp_error)}"
        return DeliveryError(reply, permanent=err.smtp_code >= 500)
    if isinstance(err, ssl.SSLCertVerificationError):
        untrusted = f"{where}: certificate not trusted ({err.verify_message}): {CERT_HINT}"
        return DeliveryError(untrusted, permanent=True)
    return _connection_error(err, where)


def _connection_error(err: Exception, where: str) -> DeliveryError:
    """Dropped connections, timeouts and unreachable hosts are transient; the rest is not."""
    message = f"{where}: {printable(str(err)) or type(err).__name__}"
    if isinstance(err, smtplib.SMTPServerDisconnected | ssl.SSLEOFError):
        return DeliveryError(message)
    if isinstance(err, socket.gaierror) and err.errno == socket.EAI_NONAME:
        return DeliveryError(f"{message}: check SMTP_HOST", permanent=True)
    if isinstance(err, ssl.SSLError):
        failed = f"{where}: TLS handshake failed ({err.reason}): {TLS_HINT}"
        return DeliveryError(failed, permanent=True)
    return DeliveryError(message, permanent=isinstance(err, smtplib.SMTPException))


def _refused(recipients: dict[str, tuple[int, bytes]]) -> DeliveryError:
    reasons = [f"{rcpt} ({code} {_said(text)})" for rcpt, (code, text) in recipients.items()]
    permanent = all(code >= 500 for code, _ in recipients.values())
    return DeliveryError(f"mailbox refused: {', '.join(reasons)}", permanent=permanent)


def _said(text: str | bytes) -> str:
    """What the server said, made printable: no escape sequence reaches a terminal or history."""
    return printable(text.decode(errors="replace") if isinstance(text, bytes) else text)
