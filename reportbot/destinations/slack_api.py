"""slack-sdk, tamed: clients that never re-send a POST blindly, capped waits, one error type.

    poster()   chat.postMessage, files_upload_v2: retried only on 429 (Slack did not take
               it), waiting Retry-After capped at RETRY_AFTER_CAP; anything else comes back
               to the caller, which looks before posting again (slack.py)
    reader()   auth.test, conversations.list/history: also retried on connection errors and
               500/503, which is safe for reads

``slack_errors()`` turns whatever slack-sdk, urllib, http.client or a socket raise into one
``DeliveryError``: permanent for what only the user can fix (rejected token, missing scope,
unknown channel, a message Slack refuses), ``ambiguous`` when the request may have been
taken (a reset, timeout or truncated answer after it was sent, a 5xx). Messages hold no
secret and nothing a server said unprintable.
"""

from __future__ import annotations

import http.client
import json
import logging
import random
import re
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from urllib.error import HTTPError, URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry import builtin_handlers as retries
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from reportbot.core.waits import RETRY_AFTER_CAP, retry_after
from reportbot.errors import DeliveryError
from reportbot.render.slack_limits import validate_message

TIMEOUT_SECONDS = 30
RATE_LIMIT_RETRIES = 10  # a 429 is a wait (each ≤ RETRY_AFTER_CAP), not a failure
_ERROR_CODE = re.compile(r"[a-z_]{1,60}")
_AUTH_ERRORS = {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"}
_TRANSIENT = {"ratelimited", "internal_error", "fatal_error", "service_unavailable"}
_LAYOUT = "the rendered message breaks Slack's limits (check custom templates)"
NEW_HOOK = "the webhook was removed or revoked: create a new one and update SLACK_WEBHOOK_URL"
HINTS = {
    "channel_not_found": "check the channel name or id",
    "not_in_channel": "invite the bot with /invite @reportbot",
    **dict.fromkeys(
        ("is_archived", "channel_is_archived"), "unarchive the channel or pick another"
    ),
    "restricted_action": "a workspace admin restricts posting there",
    "action_prohibited": "a workspace admin restricts this webhook",
    "no_service": NEW_HOOK,
    "invalid_token": NEW_HOOK,
    **dict.fromkeys(("msg_too_long", "msg_blocks_too_long", "invalid_blocks"), _LAYOUT),
    **dict.fromkeys(("no_text", "invalid_payload", "too_many_attachments"), _LAYOUT),
}
_log = logging.getLogger(__name__)


class StillInFlight(DeliveryError):
    """No answer in time: Slack may still be working on the request, so a look now proves
    nothing. Not sent again in this attempt; the next attempt looks first."""


class CappedRateLimitHandler(RetryHandler):
    """slack-sdk's 429 retry, with any ``Retry-After`` read safely and capped.

    slack-sdk's own handler sleeps ``int(Retry-After)`` uncapped and raises ValueError on
    ``1.5``, an HTTP date or a negative value.
    """

    def __init__(
        self,
        max_retry_count: int = RATE_LIMIT_RETRIES,
        *,
        cap: float = RETRY_AFTER_CAP,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(max_retry_count)
        self.cap, self.sleep = cap, sleep

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return response is not None and response.status_code == 429

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        headers = {k.lower(): v for k, v in (response.headers if response else {}).items()}
        value = headers.get("retry-after")
        value = value[0] if isinstance(value, list) and value else value
        wait = retry_after(value if isinstance(value, str) else None, datetime.now(UTC), self.cap)
        delay = 1.0 + random.random() if wait is None else wait  # noqa: S311 - jitter only
        _log.info("Slack asked to slow down: waiting %.1f s", delay)
        state.next_attempt_requested = True
        self.sleep(delay)
        state.increment_current_attempt()


def poster(
    token: str | None,
    base_url: str,
    sleep: Callable[[float], None],
    timeout: int = TIMEOUT_SECONDS,
) -> WebClient:
    """A client for POSTs that must not be repeated blindly: only 429s are retried."""
    handlers: list[RetryHandler] = [CappedRateLimitHandler(sleep=sleep)]
    return WebClient(token, base_url, timeout, retry_handlers=handlers)


def reader(
    token: str | None,
    base_url: str,
    sleep: Callable[[float], None],
    timeout: int = TIMEOUT_SECONDS,
) -> WebClient:
    """A client for reads, which may be repeated: connection errors and 5xx retried too."""
    handlers = [
        retries.ConnectionErrorRetryHandler(max_retry_count=1),
        CappedRateLimitHandler(sleep=sleep),
        retries.ServerErrorRetryHandler(max_retry_count=2),
    ]
    return WebClient(token, base_url, timeout, retry_handlers=handlers)


def api_error(status: int, data: Any, doing: str, scope: str) -> DeliveryError:
    """The DeliveryError for an answer of Slack's Web API that is not ``ok``."""
    body = data if isinstance(data, dict) else {}
    code = str(body.get("error", ""))
    if status == 429 or status >= 500 or code in _TRANSIENT or not _ERROR_CODE.fullmatch(code):
        code = code if _ERROR_CODE.fullmatch(code) else "unexpected answer"
        return DeliveryError(
            f"Slack failed while {doing} (HTTP {status}, {code}): try again later",
            ambiguous=status >= 500,
        )
    if code in _AUTH_ERRORS:
        hint = "create a new bot token or reinstall the app"
        return DeliveryError(f"Slack rejected SLACK_BOT_TOKEN ({code}): {hint}", permanent=True)
    if code == "missing_scope":
        needed = body.get("needed")
        needed = needed if isinstance(needed, str) and _SCOPES.fullmatch(needed) else scope
        hint = f"add the {needed} scope to the app and reinstall it"
    else:
        hint = HINTS.get(code, "see Slack's documentation of this error")
    return DeliveryError(f"Slack refused {doing} ({code}): {hint}", permanent=True)


_SCOPES = re.compile(r"[a-z:._,]{1,200}")


def transport_error(exc: BaseException, doing: str) -> DeliveryError:
    """The DeliveryError for a failure below the API: HTTP, TLS, socket, a broken answer."""
    if isinstance(exc, HTTPError):
        transient = exc.code == 429 or exc.code >= 500
        return DeliveryError(
            f"Slack answered HTTP {exc.code} while {doing}",
            permanent=not transient,
            ambiguous=exc.code >= 500,
        )
    if isinstance(exc, http.client.InvalidURL | ValueError) and not isinstance(
        exc, json.JSONDecodeError
    ):
        # Its message holds the whole URL: for a webhook, the secret. Never show it.
        return DeliveryError(
            f"Slack could not be called while {doing}: invalid URL", permanent=True
        )
    if isinstance(exc, TimeoutError | socket.timeout):
        return StillInFlight(
            f"Slack did not answer in time while {doing}: try again later", ambiguous=True
        )
    reason = exc.reason if isinstance(exc, URLError) else exc
    sent = not _never_sent(reason)
    what = "broke off its answer" if sent else "could not be reached"
    name = type(reason).__name__
    return DeliveryError(f"Slack {what} while {doing} ({name}): try again later", ambiguous=sent)


def _never_sent(reason: object) -> bool:
    """Whether the request surely never left: refused, unresolvable, TLS never set up."""
    return isinstance(reason, ConnectionRefusedError | socket.gaierror | str)


@contextmanager
def slack_errors(doing: str, scope: str, secrets: tuple[str | None, ...]) -> Iterator[None]:
    """Turn whatever slack-sdk and the layers below raise into a one-line DeliveryError."""
    try:
        yield
    except DeliveryError:
        raise
    except SlackApiError as exc:
        raise scrubbed(
            api_error(exc.response.status_code, exc.response.data, doing, scope), secrets
        ) from None
    except (SlackClientError, OSError, http.client.HTTPException, ValueError) as exc:
        raise scrubbed(transport_error(exc, doing), secrets) from None


def checked_messages(messages: list[dict[str, Any]], where: str) -> list[dict[str, Any]]:
    """``messages`` if none breaks Slack's limits; else a permanent DeliveryError, sending none."""
    for msg in messages:
        try:
            validate_message(msg)
        except ValueError as exc:
            raise DeliveryError(
                f"Slack message for {where} not sent: {exc}", permanent=True
            ) from exc
    return messages


def scrubbed(
    error: DeliveryError, secrets: tuple[str | None, ...], note: str = ""
) -> DeliveryError:
    """A copy of ``error`` with ``note`` appended and no secret in its message."""
    message = str(error) + note
    for secret in secrets:
        message = message.replace(secret, "[redacted]") if secret else message
    return type(error)(
        message,
        permanent=error.permanent,
        ambiguous=error.ambiguous,
        posted=error.posted,
        first_receipt=error.first_receipt,
    )
