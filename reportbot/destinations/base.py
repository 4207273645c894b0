"""What every destination is: a ``send(rendered, address, resume) -> Receipt`` and its limits.

    Destination           Slack Web API (slack.py), Slack webhook (webhook.py), SMTP (email.py)
      .send(rendered, address, attempt)  -> Receipt, or raises DeliveryError
                          attempt: the idempotency Key, the Progress of earlier tries, options
      .close()

A destination never decides whether to retry: it raises one ``DeliveryError`` whose
``permanent`` and ``ambiguous`` flags carry what it knows, and ``progress`` how far it got.
The delivery loop (reportbot.delivery.loop) reads them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Protocol

if TYPE_CHECKING:
    from reportbot.render.rendered import RenderedReport

PARTIAL = "partial:"


@dataclass(frozen=True)
class Progress:
    """How far earlier attempts got: parts delivered, and the first one's receipt.

    Kept in the ledger row's receipt as ``partial:N:FIRST`` so that the next attempt sends
    only the rest of a multi-message report (none of it twice). ``verify`` asks the
    destination to look for parts that may have arrived unrecorded before sending them:
    the ledger had no row, a process died mid-send, or an outcome was ambiguous.
    """

    posted: int = 0
    first: str | None = None
    verify: bool = False

    @classmethod
    def parse(cls, receipt: str | None, *, verify: bool = False) -> Progress:
        count, _, first = (receipt or "").removeprefix(PARTIAL).partition(":")
        if not (receipt or "").startswith(PARTIAL) or not count.isdigit():
            return cls(verify=verify)
        return cls(int(count), first or None, verify)

    def advanced(self, posted: int, first: str | None) -> Progress:
        """Never less than before, and the first receipt kept."""
        return Progress(max(self.posted, posted), self.first or first, self.verify)

    @property
    def text(self) -> str | None:
        return f"{PARTIAL}{self.posted}:{self.first or ''}" if self.posted else None


@dataclass(frozen=True)
class Receipt:
    """What a destination answered: the first message's id (Slack ts, Message-ID, ...)."""

    id: str
    parts: int = 1
    note: str = ""  # e.g. "chart not uploaded: ..."
    found: int = 0  # parts found already delivered instead of sent

    def __str__(self) -> str:
        return self.id + (f" ({self.note})" if self.note else "")


@dataclass(frozen=True)
class Key:
    """The idempotency key of one message part: report, period, destination, part."""

    report: str
    period: str
    destination: str
    attempt_tag: str = ""  # set by --force, so that a forced resend is a new message

    def part(self, number: int) -> dict[str, str | int]:
        payload: dict[str, str | int] = {
            "report": self.report,
            "period": self.period,
            "destination": self.destination,
            "part": number,
        }
        if self.attempt_tag:
            payload["resend"] = self.attempt_tag
        return payload


@dataclass(frozen=True)
class Attempt:
    """One try at one destination: the idempotency key, what earlier tries did, options."""

    key: Key
    progress: Progress = Progress()
    chart: bool = False  # also upload the chart (Slack channels)
    thread: bool = True  # Slack: the rest of a report, and its chart, in the first's thread
    reply_to: str | None = None  # Slack: post it all in this thread (a correction)


class Destination(Protocol):
    """One kind of destination; its limits are class constants of each implementation."""

    kind: ClassVar[str]

    def send(self, rendered: RenderedReport, address: str, attempt: Attempt) -> Receipt:
        """Deliver ``rendered`` to ``address`` (what follows ``kind:`` in a destination)."""
        ...

    def close(self) -> None: ...
