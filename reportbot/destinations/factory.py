"""Destinations built from the settings: one client per kind, opened on first use.

    slack:#name, slack:C0123…   SlackWebApi   (SLACK_BOT_TOKEN, SLACK_API_URL)
    slack:webhook               SlackWebhook  (SLACK_WEBHOOK_URL)
    email:addr                  SmtpEmail     (SMTP_*)

``reportbot check`` builds its clients here too, so it tries exactly what a run uses.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from reportbot.destinations.base import Destination
from reportbot.errors import ConfigError
from reportbot.settings import Settings

if TYPE_CHECKING:
    from reportbot.destinations.pacing import ChannelPacer
    from reportbot.destinations.slack import SlackWebApi
    from reportbot.destinations.smtp import SmtpSender


class Destinations:
    """The destinations of one run; ``close()`` ends their connections."""

    def __init__(
        self,
        settings: Settings,
        *,
        sleep: Callable[[float], None] = time.sleep,
        pacer: ChannelPacer | None = None,
    ) -> None:
        self.settings = settings
        self.sleep = sleep
        self.pacer = pacer  # shared by every thread of a run: Slack's 1 message/s a channel
        self._open: dict[str, Destination] = {}

    @classmethod
    def from_settings(cls, settings: Settings, pacer: ChannelPacer | None = None) -> Destinations:
        return cls(settings, pacer=pacer)

    def route(self, destination: str) -> tuple[Destination, str]:
        """The client for a ledger destination (``slack:#x``, ``email:a@b``) and its address."""
        which, address = kind_of(destination), destination.partition(":")[2]
        if which not in KINDS:
            raise ConfigError(f"unknown destination {destination!r}")
        if which not in self._open:
            self._open[which] = self._build(which)
        return self._open[which], address

    def close(self) -> None:
        for destination in self._open.values():
            destination.close()
        self._open.clear()

    def _build(self, which: str) -> Destination:
        s = self.settings
        if which == "slack":
            return slack_web_api(s, sleep=self.sleep, pacer=self.pacer)
        if which == "webhook":
            from reportbot.destinations.webhook import SlackWebhook

            url = s.slack_webhook_url.get_secret_value() if s.slack_webhook_url else None
            return SlackWebhook(url, sleep=self.sleep, pacer=self.pacer)
        from reportbot.destinations.email import SmtpEmail

        return SmtpEmail(smtp_sender(s) if s.smtp_host else None, s.smtp_from)


KINDS = ("slack", "webhook", "email")


def kind_of(destination: str) -> str:
    """Which client sends to ``destination``: ``slack``, ``webhook``, ``email`` (or unknown)."""
    kind, _, address = destination.partition(":")
    return "webhook" if (kind, address) == ("slack", "webhook") else kind


def slack_web_api(
    settings: Settings,
    *,
    sleep: Callable[[float], None] = time.sleep,
    pacer: ChannelPacer | None = None,
) -> SlackWebApi:
    from reportbot.destinations.slack import SlackWebApi

    token = settings.slack_bot_token
    return SlackWebApi(
        token=token.get_secret_value() if token else None,
        base_url=settings.slack_api_url,
        sleep=sleep,
        pacer=pacer,
    )


def smtp_sender(settings: Settings) -> SmtpSender:
    from reportbot.destinations.smtp import SmtpSender

    assert settings.smtp_host is not None
    return SmtpSender(
        host=settings.smtp_host,
        port=settings.smtp_port,
        username=settings.smtp_username,
        password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        security=settings.smtp_security,
    )
