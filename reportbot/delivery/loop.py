"""The one delivery loop: claim, send, mark, for each destination of a rendered report.

    claim ──▶ send (claim kept alive) ──▶ mark sent ──▶ Outcome "sent"
      │         │                           └─ write fails, retried, still fails:
      │         │                              Outcome "unrecorded" (exit 1); the message
      │         │                              carries its idempotency key, so the next run
      │         │                              finds it and records it instead of re-sending
      │         └─ DeliveryError ──▶ mark failed (progress kept, permanent or not)
      └─ sent already / being sent elsewhere ──▶ Outcome "skipped"

Every error is classified here, once: a ``DeliveryError`` says itself whether it is
permanent; a ``ConfigError`` met while sending (a broken template, a bad address) is
permanent; anything else is a bug, recorded as a transient failure and logged with its
traceback. One destination failing never stops the others.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from reportbot.destinations.base import Attempt, Key, Progress, Receipt
from reportbot.errors import ConfigError, DeliveryError, LedgerError, ReportbotError

if TYPE_CHECKING:
    from reportbot.config import ReportConfig
    from reportbot.destinations.factory import Destinations
    from reportbot.ledger.rows import Claim
    from reportbot.ledger.store import Ledger
    from reportbot.render.rendered import RenderedReport

log = logging.getLogger(__name__)
outcomes_log = logging.getLogger("reportbot.outcomes")  # one record per delivery outcome

Status = Literal["sent", "skipped", "failed", "unrecorded", "dry-run"]
FAILURES: frozenset[Status] = frozenset({"failed", "unrecorded"})
MARK_ATTEMPTS = 3
MARK_BACKOFF_SECONDS = 0.5  # doubled after each failed write


@dataclass(frozen=True)
class Outcome:
    destination: str
    status: Status
    detail: str = ""
    permanent: bool = False

    @property
    def failed(self) -> bool:
        return self.status in FAILURES


class DeliveryLoop:
    """Delivers rendered reports through ``destinations``, recorded in ``ledger``."""

    def __init__(
        self,
        ledger: Ledger,
        destinations: Destinations,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.ledger = ledger
        self.destinations = destinations
        self.sleep = sleep

    def deliver(
        self,
        report: ReportConfig,
        rendered: RenderedReport,
        destination: str,
        *,
        force: bool,
        key: str | None = None,
        reply_to: str | None = None,
        summary: str | None = None,
    ) -> Outcome:
        """Claim, send and record one destination of ``rendered``.

        ``key`` replaces the period's key in the ledger (corrections, alerts); ``reply_to``
        posts into that Slack thread; ``summary`` is kept as what the delivery said.
        """
        period = rendered.report.period
        key = key or period.key
        what = f"{report.name} {key} {destination}"
        try:
            claim = self.ledger.claim(
                report.name, key, period.start, period.end, destination, force=force
            )
        except LedgerError as exc:
            log.error("%s: not sent: %s", what, exc)
            return Outcome(destination, "failed", f"not sent: {exc}")
        if claim is None:
            return self._record(report.name, key, 0, self._skipped(report.name, key, destination))
        attempt = Attempt(
            Key(report.name, key, destination, f"force-{claim.attempt}" if force else ""),
            Progress.parse(claim.previous_receipt, verify=not force),
            chart=report.chart and key == period.key,
            thread=report.thread,
            reply_to=reply_to,
        )
        try:
            with self.ledger.keep_alive(claim):
                target, address = self.destinations.route(destination)
                receipt = target.send(rendered, address, attempt)
        except Exception as exc:  # classified in _failed: nothing is swallowed
            outcome = self._failed(what, claim, attempt.progress, exc)
        else:
            outcome = self._sent(what, claim, receipt, summary)
        return self._record(report.name, key, claim.attempt, outcome)

    def _record(self, report: str, period: str, attempt: int, outcome: Outcome) -> Outcome:
        """One log record per outcome, with its fields (``--log-format json`` shows them)."""
        fields = {
            "report": report,
            "period": period,
            "destination": outcome.destination,
            "status": outcome.status,
            "attempt": attempt,
            "error": outcome.detail if outcome.failed else None,
        }
        outcomes_log.info(
            "%s %s %s: %s", report, period, outcome.destination, outcome.status, extra=fields
        )
        return outcome

    def _sent(self, what: str, claim: Claim, receipt: Receipt, summary: str | None) -> Outcome:
        shown = str(receipt) if receipt.id else "accepted"
        if receipt.found:
            shown += f"; {receipt.found} of {receipt.parts} found already delivered"
        try:
            self._write(lambda: self.ledger.mark_sent(claim, str(receipt) or None, summary=summary))
        except LedgerError as exc:
            detail = (
                f"delivered ({shown}) but not recorded: {exc}; the next run finds it "
                "by its idempotency key instead of sending it again"
            )
            log.error("%s: %s", what, detail)
            return Outcome(claim.destination, "unrecorded", detail)
        log.info("%s: delivered (%s)", what, shown)
        return Outcome(claim.destination, "sent", shown)

    def _failed(self, what: str, claim: Claim, progress: Progress, exc: Exception) -> Outcome:
        failure = classify(exc)
        if not isinstance(exc, ReportbotError):
            log.error("%s: %s", what, failure, exc_info=exc)
        else:
            log.error("%s: failed: %s", what, failure)
        progress = progress.advanced(failure.posted, failure.first_receipt)
        try:
            self._write(
                lambda: self.ledger.mark_failed(
                    claim, str(failure), progress=progress.text, permanent=failure.permanent
                )
            )
        except LedgerError as mark_error:
            log.error("%s: the failure could not be recorded either: %s", what, mark_error)
        return Outcome(claim.destination, "failed", str(failure), failure.permanent)

    def _write(self, mark: Callable[[], bool]) -> None:
        """Run a ledger write, retrying a failing one MARK_ATTEMPTS times with backoff."""
        for attempt in range(1, MARK_ATTEMPTS + 1):
            try:
                mark()
                return
            except LedgerError as exc:
                if attempt == MARK_ATTEMPTS:
                    raise
                delay = MARK_BACKOFF_SECONDS * 2 ** (attempt - 1)
                log.warning("%s; retrying in %g s", exc, delay)
                self.sleep(delay)

    def _skipped(self, report: str, period: str, destination: str) -> Outcome:
        sent = self.ledger.status(report, period).get(destination) == "sent"
        why = "already sent" if sent else "being sent by another process"
        log.info("%s %s %s: %s", report, period, destination, why)
        return Outcome(destination, "skipped", why)


def classify(exc: Exception) -> DeliveryError:
    """The one retry decision: what a failure while sending means for the next attempt."""
    if isinstance(exc, DeliveryError):
        return exc
    if isinstance(exc, ConfigError):
        return DeliveryError(str(exc).replace("\n", "; "), permanent=True)
    if isinstance(exc, ReportbotError):
        return DeliveryError(str(exc))
    return DeliveryError(f"internal error: {type(exc).__name__}: {exc}")
