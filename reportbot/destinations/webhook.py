"""The Slack incoming webhook (``slack = ["webhook"]``): SLACK_WEBHOOK_URL, posted once.

A webhook cannot be read back, so an ambiguous outcome (a reset or timeout after the POST
left) is recorded as failed and retried later: the one window where a message can arrive
twice. It is never re-sent blindly within a run. Webhooks cannot carry files: no chart.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any, ClassVar

from slack_sdk.webhook import WebhookClient

from reportbot.destinations.base import Attempt, Receipt
from reportbot.destinations.slack_api import (
    HINTS,
    TIMEOUT_SECONDS,
    CappedRateLimitHandler,
    checked_messages,
    scrubbed,
    slack_errors,
)
from reportbot.errors import DeliveryError

if TYPE_CHECKING:
    from collections.abc import Callable

    from reportbot.destinations.pacing import ChannelPacer
    from reportbot.render.rendered import RenderedReport

WEBHOOK = "webhook"
_ERROR_CODE = re.compile(r"[a-z_]{1,60}")
_log = logging.getLogger(__name__)
_log.setLevel(logging.WARNING)  # slack-sdk logs the (secret) URL at INFO on retries


class SlackWebhook:
    """Posts rendered reports to the incoming webhook."""

    kind: ClassVar[str] = "slack"

    def __init__(
        self,
        url: str | None,
        *,
        sleep: Callable[[float], None] | None = None,
        timeout: int = TIMEOUT_SECONDS,
        pacer: ChannelPacer | None = None,
    ) -> None:
        self._url = url
        self._pacer = pacer
        handler = CappedRateLimitHandler(sleep=sleep) if sleep else CappedRateLimitHandler()
        self._hook = WebhookClient(url or "", timeout, logger=_log, retry_handlers=[handler])

    def close(self) -> None:
        """Nothing to close: slack-sdk opens a connection per call."""

    def send(self, rendered: RenderedReport, address: str, attempt: Attempt) -> Receipt:
        if not self._url:
            raise DeliveryError("SLACK_WEBHOOK_URL is not set: set it", permanent=True)
        messages = checked_messages(rendered.slack_messages, "the webhook")
        for number in range(attempt.progress.posted + 1, len(messages) + 1):
            try:
                self._post(messages[number - 1])
            except DeliveryError as exc:
                exc.posted, exc.first_receipt = number - 1, WEBHOOK if number > 1 else None
                raise scrubbed(exc, (self._url,)) from None
        if attempt.chart:
            _log.info(
                "incoming webhooks cannot carry files: the chart of %s is not sent", rendered.stem
            )
        return Receipt(WEBHOOK, len(messages))

    def probe(self) -> tuple[int, str]:
        """POST an empty message (a live webhook refuses it): HTTP status and body."""
        with slack_errors("checking the webhook", "incoming-webhook", (self._url,)):
            answer = self._hook.send_dict({})
        return answer.status_code, answer.body

    def _post(self, msg: dict[str, Any]) -> None:
        if self._pacer is not None:
            self._pacer.wait(WEBHOOK)
        with slack_errors("posting to the webhook", "incoming-webhook", (self._url,)):
            answer = self._hook.send(
                text=msg["text"], blocks=msg.get("blocks"), unfurl_links=False, unfurl_media=False
            )
        if answer.status_code != 200 or answer.body.strip() != "ok":
            raise webhook_error(answer.status_code, answer.body)


def webhook_error(status: int, body: str) -> DeliveryError:
    code = body.strip() if _ERROR_CODE.fullmatch(body.strip()) else "unexpected answer"
    if status == 200 or status == 429 or status >= 500:
        return DeliveryError(
            f"Slack webhook failed (HTTP {status}, {code}): try again later",
            ambiguous=status >= 500,
        )
    hint = HINTS.get(code, "check SLACK_WEBHOOK_URL")
    return DeliveryError(f"Slack webhook refused a message ({code}): {hint}", permanent=True)
