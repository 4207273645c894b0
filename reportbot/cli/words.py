"""Small wording helpers for what the commands print."""

from __future__ import annotations

IRREGULAR = {"is": "are", "was": "were", "has": "have"}


def plural(count: int, noun: str, many: str | None = None) -> str:
    """``1 report``, ``2 reports``, ``0 reports``; ``many`` for an irregular plural."""
    if count == 1:
        return f"{count} {noun}"
    return f"{count} {many or IRREGULAR.get(noun) or noun + 's'}"
