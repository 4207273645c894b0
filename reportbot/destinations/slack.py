"""Slack: chat.postMessage and files_upload_v2 through slack-sdk's WebClient, or a webhook.

Every slack-sdk, urllib and socket failure leaves this module as one ``DeliveryError``:
permanent for what only the user can fix (rejected token, missing scope, unknown channel,
bot not in the channel, a message Slack refuses), not permanent for rate limits and 5xx once
the retry handlers gave up, connection errors and timeouts. Messages never hold a secret.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.error import HTTPError, URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry import builtin_handlers as retries
from slack_sdk.webhook import WebhookClient

from reportbot.errors import DeliveryError
from reportbot.render.slack_limits import validate_message

WEBHOOK = "webhook"
_CHANNEL_ID = re.compile(r"[CGDZ][A-Z0-9]{8,}")
_ERROR_CODE = re.compile(r"[a-z_]{1,60}")
_AUTH_ERRORS = {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"}
_TRANSIENT = {"ratelimited", "internal_error", "fatal_error", "service_unavailable"}
_LAYOUT = "the rendered message breaks Slack's limits (check custom templates)"
_NEW_HOOK = "the webhook was removed or revoked: create a new one and update SLACK_WEBHOOK_URL"
_NOT_FOUND = "check the channel name or invite the bot with /invite @reportbot"
_HINTS = {
    "channel_not_found": "check the channel name or id",
    "not_in_channel": "invite the bot with /invite @reportbot",
    **dict.fromkeys(
        ("is_archived", "channel_is_archived"), "unarchive the channel or pick another"
    ),
    "restricted_action": "a workspace admin restricts posting there",
    "action_prohibited": "a workspace admin restricts this webhook",
    "no_service": _NEW_HOOK,
    "invalid_token": _NEW_HOOK,
    **dict.fromkeys(("msg_too_long", "msg_blocks_too_long", "invalid_blocks"), _LAYOUT),
    **dict.fromkeys(("no_text", "invalid_payload", "too_many_attachments"), _LAYOUT),
}
_WEBHOOK_LOG = logging.getLogger("reportbot.slack.webhook")
_WEBHOOK_LOG.setLevel(logging.WARNING)  # slack-sdk logs the (secret) URL at INFO on retries
_log = logging.getLogger(__name__)


def _payload(msg: dict[str, Any]) -> dict[str, Any]:
    return dict(text=msg["text"], blocks=msg.get("blocks"), unfurl_links=False, unfurl_media=False)


def _api_error(status: int, data: Any, doing: str, scope: str) -> DeliveryError:
    body = data if isinstance(data, dict) else {}
    code = str(body.get("error", ""))
    if status == 429 or status >= 500 or code in _TRANSIENT or not _ERROR_CODE.fullmatch(code):
        code = code if _ERROR_CODE.fullmatch(code) else "unexpected answer"
        return DeliveryError(f"Slack failed while {doing} (HTTP {status}, {code}): try again later")
    if code in _AUTH_ERRORS:
        hint = "create a new bot token or reinstall the app"
        return DeliveryError(f"Slack rejected SLACK_BOT_TOKEN ({code}): {hint}", permanent=True)
    if code == "missing_scope":
        hint = f"add the {body.get('needed') or scope} scope to the app and reinstall it"
    else:
        hint = _HINTS.get(code, "see Slack's documentation of this error")
    return DeliveryError(f"Slack refused {doing} ({code}): {hint}", permanent=True)


def _transport_error(exc: Exception, doing: str) -> DeliveryError:
    if isinstance(exc, HTTPError):
        transient = exc.code == 429 or exc.code >= 500
        return DeliveryError(
            f"Slack answered HTTP {exc.code} while {doing}", permanent=not transient
        )
    if isinstance(exc, TimeoutError):
        return DeliveryError(f"Slack did not answer in time while {doing}: try again later")
    reason = exc.reason if isinstance(exc, URLError) else exc
    return DeliveryError(f"Slack could not be reached while {doing} ({reason}): try again later")


def _webhook_error(status: int, body: str) -> DeliveryError:
    code = body.strip() if _ERROR_CODE.fullmatch(body.strip()) else "unexpected answer"
    if status == 200 or status == 429 or status >= 500:
        return DeliveryError(f"Slack webhook failed (HTTP {status}, {code}): try again later")
    hint = _HINTS.get(code, "check SLACK_WEBHOOK_URL")
    return DeliveryError(f"Slack webhook refused a message ({code}): {hint}", permanent=True)


class SlackDestination:
    """Posts rendered reports to Slack channels (names or ids) or to the incoming webhook."""

    def __init__(
        self,
        *,
        token: str | None,
        base_url: str = "https://slack.com/api/",
        webhook_url: str | None = None,
        max_retries: int = 3,
        timeout: int = 30,
    ) -> None:
        self._token, self._webhook_url = token, webhook_url
        retry = [
            retries.ConnectionErrorRetryHandler(),
            retries.RateLimitErrorRetryHandler(max_retry_count=max_retries),
            retries.ServerErrorRetryHandler(max_retry_count=max_retries),
        ]
        self._client = WebClient(token, base_url, timeout, retry_handlers=retry)
        self._hook = WebhookClient(
            webhook_url or "", timeout, logger=_WEBHOOK_LOG, retry_handlers=retry
        )
        self._channel_ids: dict[str, str] = {}

    def post(self, channel: str, messages: list[dict[str, Any]], *, skip: int = 0) -> str:
        """Post ``messages[skip:]`` in order; return the first one's ``ts`` (or ``"webhook"``).

        All are checked against Slack's limits first. If one fails after others were
        posted, the DeliveryError's ``posted`` says how many of ``messages`` are in the
        channel now (``skip`` included), so that a retry can pass it back as ``skip``.
        """
        if not messages:
            raise ValueError("no messages to post")
        if skip >= len(messages):
            return ""  # an earlier attempt posted them all
        for msg in messages:
            try:
                validate_message(msg)
            except ValueError as exc:
                problem = f"Slack message for {channel} not sent: {exc}"
                raise DeliveryError(problem, permanent=True) from exc
        first_ts = ""
        for n, msg in enumerate(messages[skip:], start=skip):
            try:
                with self._errors(f"posting to {channel}", "chat:write", n, len(messages)):
                    ts = self._post_one(channel, msg)
            except DeliveryError as exc:
                exc.posted, exc.first_receipt = n, first_ts or None
                raise
            first_ts = first_ts or ts
        return first_ts

    def upload_chart(self, channel: str, png: bytes, filename: str, title: str) -> None:
        """Upload a PNG into ``channel`` (skipped for the webhook: it cannot carry files)."""
        if channel == WEBHOOK:
            _log.info("incoming webhooks cannot carry files: chart %s not sent", filename)
            return
        channel_id = self._channel_id(channel)
        with self._errors(f"uploading the chart to {channel}", "files:write"):
            self._api().files_upload_v2(
                channel=channel_id, file=png, filename=filename, title=title
            )

    def auth_test(self) -> str:
        """Check the token; return ``"team / bot user"``."""
        with self._errors("checking SLACK_BOT_TOKEN", "auth"):
            response = self._api().auth_test()
        return f"{response.get('team')} / {response.get('user')}"

    def _post_one(self, channel: str, msg: dict[str, Any]) -> str:
        if channel == WEBHOOK:
            if not self._webhook_url:
                raise DeliveryError("SLACK_WEBHOOK_URL is not set: set it", permanent=True)
            answer = self._hook.send(**_payload(msg))
            if answer.status_code != 200 or answer.body.strip() != "ok":
                raise _webhook_error(answer.status_code, answer.body)
            return WEBHOOK
        target = self._channel_ids.get(channel, channel)
        response = self._api().chat_postMessage(channel=target, **_payload(msg))
        self._channel_ids.setdefault(channel, str(response["channel"]))
        return str(response["ts"])

    def _api(self) -> WebClient:
        if not self._token:
            problem = "SLACK_BOT_TOKEN is not set: set it, or send this report to the webhook"
            raise DeliveryError(problem, permanent=True)
        return self._client

    def _channel_id(self, channel: str) -> str:
        if _CHANNEL_ID.fullmatch(channel):
            return channel
        if channel not in self._channel_ids:
            self._channel_ids[channel] = self._find_channel(channel.lstrip("#"))
        return self._channel_ids[channel]

    def _find_channel(self, name: str) -> str:
        with self._errors("listing channels", "channels:read,groups:read"):
            kinds = "public_channel,private_channel"
            for page in self._api().conversations_list(types=kinds, limit=1000):
                for found in page.get("channels") or []:
                    if found.get("name") == name:
                        return str(found["id"])
        problem = f"Slack channel #{name} not found or the bot is not in it: {_NOT_FOUND}"
        raise DeliveryError(problem, permanent=True)

    @contextmanager
    def _errors(self, doing: str, scope: str, done: int = 0, total: int = 1) -> Iterator[None]:
        """Turn whatever slack-sdk raises into a one-line DeliveryError without secrets."""
        note = f" ({done} of {total} messages were already posted)" if done else ""
        try:
            yield
        except DeliveryError as exc:
            raise self._clean(exc, note) from exc
        except SlackApiError as exc:
            error = _api_error(exc.response.status_code, exc.response.data, doing, scope)
            raise self._clean(error, note) from exc
        except (SlackClientError, OSError, json.JSONDecodeError) as exc:
            raise self._clean(_transport_error(exc, doing), note) from exc

    def _clean(self, error: DeliveryError, note: str) -> DeliveryError:
        message = str(error) + note
        for secret in (self._token, self._webhook_url):
            message = message.replace(secret, "[redacted]") if secret else message
        return DeliveryError(message, permanent=error.permanent)
