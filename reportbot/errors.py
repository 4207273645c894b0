"""The one exception tree of reportbot.

Every library exception (httpx, slack-sdk, smtplib, SQLAlchemy, pydantic) is wrapped
where it enters our code, so the CLI only ever has to deal with these:

    ReportbotError                 exit status 1 unless stated
    ├── ConfigError                exit 2: bad config, unknown report, bad period,
    │                                      missing credentials (found before any network call)
    ├── FetchError                 the usage API could not be read (after retries)
    ├── DeliveryError              a destination could not take a report;
    │                              .permanent: whether retrying can help,
    │                              .ambiguous: whether it may have arrived anyway
    └── LedgerError                the delivery ledger could not be read or written

Messages are one line, say what to do next, and never contain a secret.
"""

from __future__ import annotations

import re

# Terminal escape sequences: CSI (ESC [ or 0x9B), OSC/DCS/SOS/PM/APC strings up to BEL or ST,
# and the two- or three-character ESC sequences; an unterminated string runs to the end.
_ESCAPES = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[ -/]*[0-~]?"
)


class ReportbotError(Exception):
    """Base of every error reportbot raises on purpose."""

    exit_status = 1


class ConfigError(ReportbotError):
    """Configuration or usage found wrong before any network call.

    Carries every problem found, one line each, so they can all be fixed in one go.
    """

    exit_status = 2

    def __init__(self, *problems: str) -> None:
        super().__init__(*problems)
        self.problems = list(problems)

    def __str__(self) -> str:
        return "\n".join(self.problems)


class FetchError(ReportbotError):
    """The usage API could not be read."""


class DeliveryError(ReportbotError):
    """A destination refused or failed to take a report.

    ``permanent=True`` means retrying without a change by the user cannot help
    (bad token, unknown channel, refused mailbox); ``False`` means try again later.
    ``ambiguous=True`` means the request may have arrived (a reset or timeout after it was
    sent, a truncated answer): before sending again, look whether it did.
    ``posted`` counts the parts of a multi-message report that did arrive (and
    ``first_receipt`` names the first of them), so that a retry can resume after them.
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool = False,
        ambiguous: bool = False,
        posted: int = 0,
        first_receipt: str | None = None,
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.ambiguous = ambiguous
        self.posted = posted
        self.first_receipt = first_receipt


class LedgerError(ReportbotError):
    """The delivery ledger could not be read or written."""


def printable(text: str, limit: int = 300) -> str:
    """What a remote server said, safe to show or store: one line, at most ``limit`` characters.

    Terminal escape sequences (ESC/CSI/OSC, 7- and 8-bit) are removed; every other character
    that is not printable (C0 and C1 controls, DEL, bidi and zero-width controls, line and
    paragraph separators) becomes a space, and runs of spaces become one.
    """
    cut = _ESCAPES.sub("", text[: limit * 4 + 64])
    flat = " ".join("".join(c if c.isprintable() else " " for c in cut).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
