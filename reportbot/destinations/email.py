"""Email: a report message with a deterministic Message-ID, sent over SMTP (smtp.py).

Each (report, period, recipient) has one ``Message-ID``, derived from those three, so that
a message sent again after an ambiguous outcome (a connection lost after the DATA went
out) is the same message to the receiving side: Gmail and most stores keep one. Reports
are marked ``Auto-Submitted: auto-generated`` (RFC 3834): no out-of-office replies.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid, parseaddr
from typing import TYPE_CHECKING, ClassVar

from reportbot.destinations.base import Attempt, Key, Receipt
from reportbot.errors import ConfigError, DeliveryError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from reportbot.destinations.smtp import SmtpSender, SmtpSession
    from reportbot.render.email import Attachment
    from reportbot.render.rendered import RenderedReport

DEFAULT_CSV_FILENAME = "report.csv"
CSV_PARAMS = {"charset": "utf-8"}


class SmtpEmail:
    """Sends rendered reports by email, over one SMTP session opened on first use."""

    kind: ClassVar[str] = "email"

    def __init__(self, sender: SmtpSender | None, mail_from: str | None) -> None:
        self._sender, self._from = sender, mail_from
        self._session: SmtpSession | None = None

    def send(self, rendered: RenderedReport, address: str, attempt: Attempt) -> Receipt:
        if self._sender is None:
            raise DeliveryError("SMTP_HOST is not set", permanent=True)
        if self._from is None:
            raise DeliveryError("SMTP_FROM is not set", permanent=True)
        mail = rendered.email
        message = build_message(
            sender=self._from,
            recipient=address,
            subject=mail.subject,
            text=mail.text,
            html=mail.html,
            png=mail.png,
            csv_bytes=None,
            csv_filename=None,
            attachments=mail.attachments,
            message_id=message_id(attempt.key, address, domain_of(self._from)),
        )
        return Receipt(self._open().send(message))

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    def _open(self) -> SmtpSession:
        if self._session is None:
            from reportbot.destinations.smtp import SmtpSession

            assert self._sender is not None
            self._session = SmtpSession(self._sender)
        return self._session


def message_id(key: Key, recipient: str, domain: str) -> str:
    """The Message-ID of one report to one recipient: the same for every attempt."""
    seed = "\x1f".join((key.report, key.period, recipient.lower(), key.attempt_tag))
    digest = hashlib.sha256(seed.encode()).hexdigest()[:32]
    return f"<reportbot.{digest}@{domain}>"


def build_message(
    *,
    sender: str,
    recipient: str,
    subject: str,
    text: str,
    html: str,
    png: bytes | None,
    png_cid_name: str = "chart",
    csv_bytes: bytes | None,
    csv_filename: str | None,
    date: datetime | None = None,
    message_id: str | None = None,
    attachments: Sequence[Attachment] = (),
) -> EmailMessage:
    """A multipart report: text + HTML alternatives, inline PNG chart, CSV attachment.

    The HTML refers to the chart by a fixed placeholder, ``src="cid:chart"`` (``cid:`` plus
    ``png_cid_name``, quoted), so templates stay free of generated ids; it is rewritten here
    to a fresh Content-ID. An HTML that never references the chart gets no image part (a
    stray inline part shows up as an attachment). Header values are cleaned of CR/LF.
    """
    domain = domain_of(sender)
    msg = EmailMessage()
    msg["From"], msg["To"] = _mailbox(sender), _mailbox(recipient)
    msg["Subject"] = one_line(subject)
    msg["Date"] = format_datetime(date or datetime.now(UTC))
    msg["Message-ID"] = message_id or make_msgid(domain=domain)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(text, charset="utf-8")
    placeholder = re.compile(rf"(?<=[\"'])cid:{re.escape(png_cid_name)}(?=[\"'])")
    cid = make_msgid(domain=domain)
    html, references = placeholder.subn(f"cid:{cid[1:-1]}", html)
    msg.add_alternative(html, subtype="html", charset="utf-8")
    html_part = msg.get_body(preferencelist=("html",))
    if png is not None and references and html_part is not None:
        html_part.add_related(png, "image", "png", cid=cid, disposition="inline")
    if csv_bytes is not None:
        filename = csv_filename or DEFAULT_CSV_FILENAME
        msg.add_attachment(csv_bytes, "text", "csv", filename=filename, params=CSV_PARAMS)
    for extra in attachments:
        params = CSV_PARAMS if extra.maintype == "text" else {}
        msg.add_attachment(
            extra.data, extra.maintype, extra.subtype, filename=extra.filename, params=params
        )
    return msg


def one_line(value: str | bytes) -> str:
    """``value`` with line breaks (which could inject headers) turned into spaces."""
    text = value.decode(errors="replace") if isinstance(value, bytes) else value
    return " ".join(text.splitlines()).strip()


def _mailbox(value: str) -> str:
    """The header form of ``addr`` or ``Name <addr>``; ``ConfigError`` if it is neither."""
    name, address = parseaddr(one_line(value))
    if "@" not in address:
        raise ConfigError(f"not an email address: {value!r}: use name@domain or Name <name@domain>")
    return formataddr((name, address))


def domain_of(mailbox: str) -> str:
    return parseaddr(_mailbox(mailbox))[1].rpartition("@")[2]
