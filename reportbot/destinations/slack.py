"""Slack channels through the Web API: each message once, found again by its idempotency key.

Every message carries ``metadata`` (``event_type: reportbot_report``; report, period,
destination and part). Before posting a part that may be there already (the ledger had
no row, a process died mid-send, an earlier outcome was ambiguous), and after any
ambiguous outcome, ``conversations.history`` is read with ``include_all_metadata``: a part
found is counted as delivered and not posted again. A token without ``channels:history``
/ ``groups:history`` gets one warning, and the ledger alone decides. A POST is never
repeated blindly: slack-sdk retries only 429s (capped waits); every other retry is ours,
after looking.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from reportbot.destinations.base import Attempt, Key, Receipt
from reportbot.destinations.slack_api import (
    TIMEOUT_SECONDS,
    StillInFlight,
    checked_messages,
    poster,
    reader,
    scrubbed,
    slack_errors,
)
from reportbot.destinations.slack_lookup import EVENT_TYPE, KeyLookup
from reportbot.errors import DeliveryError

if TYPE_CHECKING:
    from datetime import date

    from slack_sdk import WebClient

    from reportbot.destinations.pacing import ChannelPacer
    from reportbot.render.rendered import RenderedReport

_CHANNEL_ID = re.compile(r"[CGDZ][A-Z0-9]{8,}")
_NOT_FOUND = "check the channel name or invite the bot with /invite @reportbot"
_log = logging.getLogger(__name__)


class SlackWebApi:
    """Posts rendered reports to Slack channels (``#name`` or an id) with a bot token."""

    kind: ClassVar[str] = "slack"
    POST_ATTEMPTS: ClassVar[int] = 3  # per message, each after looking whether it arrived

    def __init__(
        self,
        *,
        token: str | None,
        base_url: str = "https://slack.com/api/",
        sleep: Callable[[float], None] = time.sleep,
        timeout: int = TIMEOUT_SECONDS,
        pacer: ChannelPacer | None = None,
    ) -> None:
        self._token = token
        self._pacer = pacer
        self._poster = poster(token, base_url, sleep, timeout)
        self._reader = reader(token, base_url, sleep, timeout)
        self._channel_ids: dict[str, str] = {}
        self._lookup = KeyLookup(lambda: self._api(self._reader), self.channel_id, self._errors)

    def close(self) -> None:
        """Nothing to close: slack-sdk opens a connection per call."""

    def send(self, rendered: RenderedReport, address: str, attempt: Attempt) -> Receipt:
        """Post every part not yet in the channel, in order; upload the chart after them."""
        messages = checked_messages(rendered.slack_messages, address)
        since = rendered.report.period.start
        verify = attempt.progress.verify
        found = self._lookup.find(address, attempt.key, since, attempt.reply_to) if verify else {}
        posted, first = attempt.progress.posted, attempt.progress.first or found.get(1)
        for number in range(posted + 1, len(messages) + 1):
            thread = attempt.reply_to or (first if attempt.thread and number > 1 else None)
            try:
                ts = found.get(number) or self._post(
                    address, messages[number - 1], attempt.key, number, since, thread
                )
            except DeliveryError as exc:
                note = f" ({number - 1} of {len(messages)} messages were already posted)"
                exc.posted, exc.first_receipt = number - 1, first
                raise scrubbed(exc, (self._token,), note if number > 1 else "") from None
            first = first or ts
        note = ""
        if attempt.chart and not found:
            note = self._chart(
                rendered, address, attempt.reply_to or (first if attempt.thread else None)
            )
        return Receipt(first or "", len(messages), note, found=len(found))

    def auth_test(self) -> str:
        """Check the token; return ``"team / bot user"``."""
        with self._errors("checking SLACK_BOT_TOKEN", "auth"):
            response = self._api(self._reader).auth_test()
        return f"{response.get('team')} / {response.get('user')}"

    def channel_id(self, channel: str) -> str:
        """The id of ``#name`` (conversations.list, cached) or of an id: itself."""
        if _CHANNEL_ID.fullmatch(channel):
            return channel
        if channel not in self._channel_ids:
            self._channel_ids[channel] = self._find_channel(channel.lstrip("#"))
        return self._channel_ids[channel]

    # -- posting --

    def _post(
        self,
        channel: str,
        msg: dict[str, Any],
        key: Key,
        number: int,
        since: date,
        thread: str | None,
    ) -> str:
        metadata = {"event_type": EVENT_TYPE, "event_payload": key.part(number)}
        for tries in range(1, self.POST_ATTEMPTS + 1):
            if self._pacer is not None:
                self._pacer.wait(channel)
            try:
                with self._errors(f"posting to {channel}", "chat:write"):
                    response = self._api(self._poster).chat_postMessage(
                        channel=self._channel_ids.get(channel, channel),
                        text=msg["text"],
                        blocks=msg.get("blocks"),
                        metadata=metadata,
                        thread_ts=thread,
                        unfurl_links=False,
                        unfurl_media=False,
                    )
            except DeliveryError as exc:
                if not exc.ambiguous:
                    raise
                ts = self._look_again(channel, key, number, since, exc, thread)
                if ts:
                    return ts
                if isinstance(exc, StillInFlight):
                    raise  # it may land any moment: the next attempt looks again first
                if tries == self.POST_ATTEMPTS:
                    raise DeliveryError(str(exc)) from None  # surely not there: not ambiguous
                _log.warning(
                    "%s: message %d did not arrive (%s); posting it again", channel, number, exc
                )
                continue
            if response.get("channel"):
                self._channel_ids.setdefault(channel, str(response["channel"]))
            ts = str(response.get("ts") or "")
            return (
                ts
                or self._look_again(channel, key, number, since, None, thread)
                or "accepted, no ts"
            )
        raise AssertionError("unreachable")

    def _look_again(
        self,
        channel: str,
        key: Key,
        number: int,
        since: date,
        failure: DeliveryError | None,
        parent: str | None,
    ) -> str | None:
        """The ts of part ``number`` if it is in the channel; an ambiguous failure if unknowable."""
        self._lookup.forget()  # what we saw before this post is out of date now
        found = self._lookup.find(channel, key, since, parent)
        if not self._lookup.readback and failure is not None:
            raise failure  # cannot tell whether it arrived: do not post it twice
        return found.get(number)

    # -- the rest --

    def _chart(self, rendered: RenderedReport, channel: str, thread: str | None) -> str:
        """Upload the chart (in the thread, if any); a failure leaves the report delivered."""
        try:
            self.upload_chart(
                channel,
                rendered.chart,
                f"{rendered.stem}.png",
                rendered.report.period.label,
                thread=thread,
            )
        except DeliveryError as exc:
            # The report itself arrived: retrying would post it twice. Say so, keep it sent.
            _log.warning("%s %s: the chart was not uploaded: %s", rendered.stem, channel, exc)
            return f"chart not uploaded: {exc}"
        return ""

    def upload_chart(
        self, channel: str, png: bytes, filename: str, title: str, *, thread: str | None = None
    ) -> None:
        """Upload a PNG into ``channel`` (files_upload_v2 needs its id), maybe in a thread."""
        channel_id = self.channel_id(channel)
        with self._errors(f"uploading the chart to {channel}", "files:write"):
            self._api(self._poster).files_upload_v2(
                channel=channel_id, file=png, filename=filename, title=title, thread_ts=thread
            )

    def _find_channel(self, name: str) -> str:
        with self._errors("listing channels", "channels:read,groups:read"):
            kinds = "public_channel,private_channel"
            for page in self._api(self._reader).conversations_list(types=kinds, limit=1000):
                for found in page.get("channels") or []:
                    if found.get("name") == name:
                        return str(found["id"])
        problem = f"Slack channel #{name} not found or the bot is not in it: {_NOT_FOUND}"
        raise DeliveryError(problem, permanent=True)

    def _api(self, client: WebClient) -> WebClient:
        if not self._token:
            problem = "SLACK_BOT_TOKEN is not set: set it, or send this report to the webhook"
            raise DeliveryError(problem, permanent=True)
        return client

    def _errors(self, doing: str, scope: str) -> Any:
        return slack_errors(doing, scope, (self._token,))
