"""Finding reportbot's own messages in Slack by their idempotency key.

Every message reportbot posts carries ``metadata`` (``event_type: reportbot_report``,
report, period, destination, part). ``KeyLookup.find`` reads the channel's history since
the period began (``conversations.history``, ``include_all_metadata``), and the thread of
the first part and of any parent it was given (``conversations.replies``: thread replies are
not in the history). One history scan per channel is kept until ``forget()``.

A token without ``channels:history`` / ``groups:history`` (or a bot not in the channel) is
told once, and the lookup then finds nothing: the ledger alone decides.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from reportbot.errors import DeliveryError

if TYPE_CHECKING:
    from slack_sdk import WebClient

    from reportbot.destinations.base import Key

EVENT_TYPE = "reportbot_report"
HISTORY_PAGES = 10  # of 200 messages: how far back a look reaches
HISTORY_SCOPES = "channels:history,groups:history"
_NO_READBACK = {"missing_scope", "not_allowed_token_type", "unknown_method", "not_in_channel"}
_log = logging.getLogger(__name__)

Found = dict[int, str]  # part number -> ts
Seen = dict[tuple[str, str, str, int], str]  # (report, period, destination, part) -> ts


class KeyLookup:
    def __init__(
        self,
        client: Callable[[], WebClient],
        channel_id: Callable[[str], str],
        errors: Callable[[str, str], AbstractContextManager[None]],
    ) -> None:
        self._client, self._channel_id, self._errors = client, channel_id, errors
        self.readback = True  # until Slack says the token may not read history
        self._seen: dict[tuple[str, date], Seen] = {}

    def forget(self) -> None:
        """What was seen is out of date (something may have been posted since)."""
        self._seen.clear()

    def find(self, channel: str, key: Key, since: date, parent: str | None = None) -> Found:
        """The parts of ``key`` already in ``channel`` (empty when history cannot be read)."""
        if not self.readback:
            return {}
        wanted = (key.report, key.period, key.destination)
        try:
            found = _parts(self._history(channel, since), wanted)
            # The later parts are replies in the first one's thread (top-level with
            # thread = false); a correction is all in the thread of the report it corrects.
            for thread in {found.get(1), parent} - {None}:
                assert thread is not None
                found |= _parts(self._thread(channel, thread), wanted)
        except DeliveryError as exc:
            if exc.permanent and any(code in str(exc) for code in _NO_READBACK):
                self._no_readback(exc)
                return {}
            if exc.permanent:
                raise  # no such channel, a revoked token: posting would fail the same way
            raise DeliveryError(
                f"could not check {channel} for an earlier delivery: {exc}", ambiguous=True
            ) from None
        return found

    def _history(self, channel: str, since: date) -> Seen:
        cid = self._channel_id(channel)
        if (cid, since) not in self._seen:
            oldest = datetime(since.year, since.month, since.day, tzinfo=UTC) - timedelta(days=1)
            with self._errors(f"reading the history of {channel}", HISTORY_SCOPES):
                pages = self._pages(
                    "conversations_history", channel=cid, oldest=f"{oldest.timestamp():.6f}"
                )
                self._seen[(cid, since)] = _keys(pages)
        return self._seen[(cid, since)]

    def _thread(self, channel: str, parent: str) -> Seen:
        """The replies to ``parent``; none when it is gone (deleted: nothing was kept there)."""
        try:
            with self._errors(f"reading a thread in {channel}", HISTORY_SCOPES):
                cid = self._channel_id(channel)
                return _keys(self._pages("conversations_replies", channel=cid, ts=parent))
        except DeliveryError as exc:
            if "thread_not_found" in str(exc):
                return {}
            raise

    def _pages(self, method: str, **params: Any) -> Iterator[dict[str, Any]]:
        cursor = None
        for _ in range(HISTORY_PAGES):
            call = getattr(self._client(), method)
            page = call(**params, include_all_metadata=True, limit=200, cursor=cursor)
            yield from page.get("messages") or []
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return

    def _no_readback(self, why: DeliveryError) -> None:
        self.readback = False
        _log.warning(
            "cannot read Slack history to check for earlier deliveries (%s): relying on the "
            "ledger alone; add channels:history and groups:history to close that gap",
            why,
        )


def _keys(messages: Iterator[dict[str, Any]]) -> Seen:
    seen: Seen = {}
    for message in messages:
        if (found := key_of(message)) is not None:
            seen.setdefault(found, str(message.get("ts")))
    return seen


def _parts(seen: Seen, wanted: tuple[str, str, str]) -> Found:
    return {part: ts for (r, p, d, part), ts in seen.items() if (r, p, d) == wanted}


def key_of(message: dict[str, Any]) -> tuple[str, str, str, int] | None:
    """The idempotency key a message carries, if it is one of reportbot's."""
    metadata = message.get("metadata") or {}
    payload = metadata.get("event_payload") or {}
    if metadata.get("event_type") != EVENT_TYPE or not isinstance(payload, dict):
        return None
    try:
        part = int(payload.get("part", 0))
    except (TypeError, ValueError):
        return None
    fields = (payload.get("report"), payload.get("period"), payload.get("destination"))
    if not all(isinstance(f, str) for f in fields):
        return None
    return (str(fields[0]), str(fields[1]), str(fields[2]), part)
