"""``reportbot check``: try every credential the configuration names, one line per check.

    environment     every variable a report needs and does not have, one failure each
    ledger          open it as every run does (a SQLite file not there yet is not created)
    usage API       one small fetch (yesterday) per distinct set of report filters
    Slack token     auth.test, when a report posts to a channel
    Slack channels  conversations.list: each channel exists and the bot is in it
    Slack webhook   an empty POST: a live webhook refuses it with 400, a dead one with 403/404
    SMTP            connect, TLS and login; no message is sent

Checks of kinds no report uses are left out, and so are those whose credentials are
missing (the environment lines say which). Messages come from the same wrapped errors as
deliveries do, so they say what to fix and never hold a secret.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import click

from reportbot.cli.words import plural
from reportbot.config import Config, ReportConfig, missing_credentials
from reportbot.core.periods import latest_complete
from reportbot.delivery.usage import UsageSource, fetch_usage
from reportbot.delivery.wiring import utc_now
from reportbot.errors import DeliveryError, ReportbotError
from reportbot.settings import Settings

State = Literal["ok", "failed", "skipped"]
MARKS = {"ok": "✓", "failed": "✗", "skipped": "-"}
_INVITE = "invite the bot with /invite @reportbot (or grant it chat:write.public)"
_LIVE_WEBHOOK_ANSWERS = {"no_text", "invalid_payload", "missing_text_or_fallback_or_attachments"}
_NEW_WEBHOOK = "create a new one and update SLACK_WEBHOOK_URL"


@dataclass(frozen=True)
class Check:
    state: State
    what: str
    detail: str

    @property
    def failed(self) -> bool:
        return self.state == "failed"

    def line(self) -> str:
        return f"{MARKS[self.state]} {self.what}: {self.detail}"

    def styled(self) -> str:
        """The line with its mark coloured (plain off a terminal or with NO_COLOR)."""
        colour = {"ok": "green", "failed": "red"}.get(self.state)
        mark, _, rest = self.line().partition(" ")
        return f"{click.style(mark, fg=colour, bold=True) if colour else mark} {rest}"


def run_checks(config: Config, *, now: Callable[[], datetime] = utc_now) -> Iterator[Check]:
    """Every check the configuration calls for, in order, each as soon as it is done."""
    reports = list(config.reports.values())
    settings = config.settings
    count = f"{plural(len(reports), 'report')} ({', '.join(config.reports)})"
    yield Check("ok", "config", f"{config.path or 'built-in'}: {count}")
    for problem in missing_credentials(config, reports, fetch_only=False):
        yield Check("failed", "environment", problem)
    yield ledger_check(settings.database_url)
    yield from usage_checks(settings, reports, now())
    channels = list(dict.fromkeys(c for r in reports for c in r.slack if c != "webhook"))
    if channels and settings.slack_bot_token is not None:
        yield from slack_checks(settings, channels)
    if any("webhook" in r.slack for r in reports) and settings.slack_webhook_url:
        yield webhook_check(settings.slack_webhook_url.get_secret_value())
    if any(r.email for r in reports) and settings.smtp_host and settings.smtp_from:
        yield smtp_check(settings)


def ledger_check(url: str) -> Check:
    from reportbot.ledger.schema import mask_database_url, sqlite_path
    from reportbot.ledger.store import Ledger

    shown = mask_database_url(url)
    try:
        path = sqlite_path(url)
        if path is not None and not path.exists():
            return _new_sqlite_file(shown, path)
        with Ledger(url) as ledger:
            ledger.history(limit=1)
    except ReportbotError as exc:
        return Check("failed", "ledger", str(exc))
    return Check("ok", "ledger", f"{shown}: opened, schema up to date")


def _new_sqlite_file(shown: str, path: Path) -> Check:
    folder = path.parent if str(path.parent) else Path()
    if not os.access(folder, os.W_OK):
        return Check("failed", "ledger", f"{shown}: cannot create it: {folder} is not writable")
    return Check("ok", "ledger", f"{shown}: not created yet; the first run creates it")


def usage_checks(
    settings: Settings, reports: Iterable[ReportConfig], now: datetime
) -> Iterator[Check]:
    """One fetch of yesterday per distinct (application_id, api_ids, user_id) of the reports."""
    groups: dict[tuple[Any, ...], list[ReportConfig]] = {}
    for report in reports:
        if report.source == "acedata":
            key = (report.application_id, report.api_ids, report.user_id)
            groups.setdefault(key, []).append(report)
    if not groups or settings.acedata_token is None:
        return
    from reportbot.sources.acedata import UsageClient, make_http_client

    with make_http_client() as http:
        for group in groups.values():
            what = f"usage API ({', '.join(r.name for r in group)})"
            try:
                client = UsageClient(
                    http,
                    settings.acedata_base_url,
                    settings.acedata_token.get_secret_value(),
                    max_attempts=2,
                )
                yield Check("ok", what, _fetch_yesterday(client, group[0], now))
            except ReportbotError as exc:
                yield Check("failed", what, str(exc))


def _fetch_yesterday(client: UsageSource, report: ReportConfig, now: datetime) -> str:
    day = latest_complete("day", now.astimezone(report.zone).date())
    usage = fetch_usage(client, report, day.start, day.end)
    return f"token accepted; {len(usage.rows)} usage rows for {day.key}"


def slack_checks(settings: Settings, channels: list[str]) -> Iterator[Check]:
    """auth.test, then each channel against the conversations the bot can see."""
    from reportbot.destinations.factory import slack_web_api

    assert settings.slack_bot_token is not None  # checked by missing_credentials
    token = settings.slack_bot_token.get_secret_value()
    slack = slack_web_api(settings)
    try:
        yield Check("ok", "Slack token", f"accepted ({slack.auth_test()})")
    except DeliveryError as exc:
        yield Check("failed", "Slack token", str(exc))
        return
    try:
        visible = _visible_channels(token, settings.slack_api_url)
    except _ListingError as exc:
        yield Check(exc.state, "Slack channels", str(exc))
        return
    for channel in channels:
        yield channel_check(channel, visible)


class _ListingError(Exception):
    def __init__(self, message: str, state: State) -> None:
        super().__init__(message)
        self.state = state


def _visible_channels(token: str, base_url: str) -> dict[str, dict[str, Any]]:
    """id -> conversations.list entry, for every channel the token can see."""
    import time

    from slack_sdk.errors import SlackApiError, SlackClientError

    from reportbot.destinations.slack_api import reader

    client = reader(token, base_url, time.sleep)
    found: dict[str, dict[str, Any]] = {}
    try:
        for page in client.conversations_list(types="public_channel,private_channel", limit=1000):
            found.update({str(c["id"]): c for c in page.get("channels") or []})
    except SlackApiError as exc:
        code = str(exc.response.get("error") or f"HTTP {exc.response.status_code}")
        if code == "missing_scope":
            needed = exc.response.get("needed") or "channels:read,groups:read"
            message = f"not checked: the token lacks {needed} (posting needs only chat:write)"
            raise _ListingError(message, "skipped") from None
        raise _ListingError(f"Slack refused to list channels ({code})", "failed") from None
    except (SlackClientError, OSError) as exc:
        reason = f"{type(exc).__name__}: {exc}".replace(token, "[redacted]")
        raise _ListingError(f"Slack could not be reached ({reason})", "failed") from None
    return found


def channel_check(channel: str, visible: dict[str, dict[str, Any]]) -> Check:
    """Whether ``channel`` (``#name`` or an id) exists for the bot and has it as a member."""
    what = f"Slack channel {channel}"
    wanted = channel.removeprefix("#")
    key = "name" if channel.startswith("#") else "id"
    found = next((c for c in visible.values() if c.get(key) == wanted), None)
    if found is None:
        hint = "check the name or id; a private channel shows only once the bot is in it"
        return Check("failed", what, f"channel_not_found: {hint}")
    shown = f"#{found.get('name')} ({found.get('id')})"
    if found.get("is_archived"):
        return Check("failed", what, f"{shown} is archived: unarchive it or pick another")
    if not found.get("is_member"):
        return Check("failed", what, f"not_in_channel: the bot is not in {shown}: {_INVITE}")
    return Check("ok", what, f"{shown}, the bot is a member")


def webhook_check(url: str) -> Check:
    """POST an empty message: a live webhook refuses it (400) and nothing is posted."""
    from reportbot.destinations.webhook import SlackWebhook

    try:
        status, body = SlackWebhook(url).probe()
    except DeliveryError as exc:
        return Check("failed", "Slack webhook", str(exc))
    answer = body.strip()[:60]
    if status == 200 or answer in _LIVE_WEBHOOK_ANSWERS:
        return Check("ok", "Slack webhook", "live (it refused an empty test message)")
    if status in (403, 404, 410):
        problem = f"the webhook is gone (HTTP {status}, {answer}): {_NEW_WEBHOOK}"
        return Check("failed", "Slack webhook", problem)
    return Check("failed", "Slack webhook", f"unexpected answer (HTTP {status})")


def smtp_check(settings: Settings) -> Check:
    from reportbot.destinations.factory import smtp_sender

    sender = smtp_sender(settings)
    sender.attempts = 1  # say what is wrong now rather than after backing off
    try:
        return Check("ok", "SMTP", sender.check())
    except DeliveryError as exc:
        return Check("failed", "SMTP", str(exc))
