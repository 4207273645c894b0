"""Sending one built report to one destination: each output rendered once, each
connection opened once, and how far a failed multi-message post got.
"""

from __future__ import annotations

import logging
from contextlib import ExitStack
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from reportbot.config import Config, ReportConfig, Settings
from reportbot.core.report import Report
from reportbot.errors import ConfigError, DeliveryError

if TYPE_CHECKING:
    from reportbot.destinations.email import SmtpSender, SmtpSession
    from reportbot.destinations.slack import SlackDestination
    from reportbot.render.email import RenderedEmail

log = logging.getLogger("reportbot.delivery.runner")
PARTIAL = "partial:"


@dataclass(frozen=True)
class Progress:
    """How far an earlier, failed attempt got: messages posted, and the first one's receipt.

    Kept in the ledger row's receipt as ``partial:N:FIRST`` so that the next attempt posts
    only the rest of a multi-message report (none of it twice).
    """

    posted: int = 0
    first: str | None = None

    @classmethod
    def parse(cls, receipt: str | None) -> Progress:
        count, _, first = (receipt or "").removeprefix(PARTIAL).partition(":")
        if not (receipt or "").startswith(PARTIAL) or not count.isdigit():
            return cls()
        return cls(int(count), first or None)

    def after(self, failure: DeliveryError) -> Progress:
        return Progress(max(self.posted, failure.posted), self.first or failure.first_receipt)

    @property
    def text(self) -> str | None:
        return f"{PARTIAL}{self.posted}:{self.first or ''}" if self.posted else None


class Senders:
    """Renders each output once, opens each connection once, sends to one destination."""

    def __init__(self, config: Config, report: ReportConfig, built: Report, stack: ExitStack):
        self.settings = config.settings
        self.report = report
        self.built = built
        self.stack = stack

    def send(self, destination: str, *, skip: int = 0) -> str:
        """Send to one destination; ``skip``: messages an earlier attempt already posted."""
        kind, _, address = destination.partition(":")
        if kind == "slack":
            return self._send_slack(address, skip)
        if kind == "email":
            return self._send_email(address)
        raise ConfigError(f"unknown destination {destination!r}")

    def _send_slack(self, channel: str, skip: int) -> str:
        ts = self.slack.post(channel, self.slack_messages, skip=skip)
        if not self.report.chart or channel == "webhook":
            return ts
        try:
            self.slack.upload_chart(
                channel, self.chart, f"{self.stem}.png", self.built.period.label
            )
        except DeliveryError as exc:
            # The report itself arrived: retrying would post it twice. Say so, keep it sent.
            log.warning("%s %s: the chart was not uploaded: %s", self.report.name, channel, exc)
            return f"{ts} (chart not uploaded: {exc})"
        return ts

    def _send_email(self, address: str) -> str:
        from reportbot.destinations.email import build_message

        sender = self.settings.smtp_from
        if sender is None:
            raise DeliveryError("SMTP_FROM is not set", permanent=True)
        mail = self.email
        message = build_message(
            sender=sender,
            recipient=address,
            subject=mail.subject,
            text=mail.text,
            html=mail.html,
            png=mail.png,
            csv_bytes=mail.csv_bytes,
            csv_filename=mail.csv_filename,
        )
        return self.smtp.send(message)

    @property
    def stem(self) -> str:
        return f"{self.built.name}-{self.built.period.key}"

    @cached_property
    def slack(self) -> SlackDestination:
        from reportbot.destinations.slack import SlackDestination

        s = self.settings
        return SlackDestination(
            token=s.slack_bot_token.get_secret_value() if s.slack_bot_token else None,
            base_url=s.slack_api_url,
            webhook_url=s.slack_webhook_url.get_secret_value() if s.slack_webhook_url else None,
        )

    @cached_property
    def slack_messages(self) -> list[dict[str, Any]]:
        from reportbot.render.slack import slack_messages

        return slack_messages(self.built, self.settings.templates)

    @cached_property
    def chart(self) -> bytes:
        from reportbot.render.chart import daily_chart

        return daily_chart(self.built)

    @cached_property
    def email(self) -> RenderedEmail:
        from reportbot.render.email import render_email

        return render_email(self.built, self.settings.templates)

    @cached_property
    def smtp(self) -> SmtpSession:
        s = self.settings
        if s.smtp_host is None:
            raise DeliveryError("SMTP_HOST is not set", permanent=True)
        return self.stack.enter_context(smtp_sender(self.settings).session())


def smtp_sender(settings: Settings) -> SmtpSender:
    from reportbot.destinations.email import SmtpSender

    assert settings.smtp_host is not None
    return SmtpSender(
        host=settings.smtp_host,
        port=settings.smtp_port,
        username=settings.smtp_username,
        password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        security=settings.smtp_security,
    )
