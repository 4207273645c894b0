"""Pure checks behind the settings and the reports file: each says what is wrong in words.

They raise ``ValueError`` (pydantic turns it into a field error) and never echo a secret.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from urllib.parse import urlsplit

_EMAIL = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+$")
_CHANNEL = re.compile(r"^(#[a-z0-9][a-z0-9._-]{0,79}|[CGDZ][A-Z0-9]{8,}|webhook)$")
_ADDRESS = r"[^@\s<>,;\"]+@[^@\s<>,;\"]+"
_SENDER = re.compile(rf"^(?:[^<>@]*<{_ADDRESS}>|{_ADDRESS})$")


def channels(values: Sequence[str]) -> None:
    """Every channel is '#name', an id or 'webhook'; all bad ones are named at once."""
    if bad := [c for c in values if not _CHANNEL.match(c)]:
        what = "is not a channel" if len(bad) == 1 else "are not channels"
        raise ValueError(f"{listed(bad)} {what}: use '#name', an id like C0123456789, or 'webhook'")
    no_duplicates(values)


def addresses(values: Sequence[str]) -> None:
    """Every recipient is addr@domain.tld; all bad ones are named at once."""
    if bad := [a for a in values if not _EMAIL.match(a)]:
        what = "is not an email address" if len(bad) == 1 else "are not email addresses"
        raise ValueError(f"{listed(bad)} {what}")
    no_duplicates(values)


def destination(value: str) -> str:
    """The ledger-style destination of ``--to``: ``#name``/an id/``webhook``, or an address."""
    value = value.strip()
    if _CHANNEL.match(value):
        return f"slack:{value}"
    if _EMAIL.match(value):
        return f"email:{value}"
    raise ValueError(
        f"--to {value!r} is neither a Slack channel ('#name', an id like C0123456789, "
        "'webhook') nor an email address"
    )


def sender(value: str) -> str:
    """SMTP_FROM: ``addr@domain`` or ``Name <addr@domain>``, one line."""
    value = value.strip()
    if not (value.isprintable() and _SENDER.match(value)):
        raise ValueError("SMTP_FROM must be addr@domain or Name <addr@domain>, on one line")
    return value


def webhook_url(url: str) -> str:
    """SLACK_WEBHOOK_URL, stripped: an http(s) URL with a host; the message never shows it."""
    url = url.strip()
    if not is_http_url(url):
        raise ValueError(
            "SLACK_WEBHOOK_URL is not an http(s) URL with a host and no spaces or control "
            "characters (it is not shown: copy it again from the Slack app's Incoming "
            "Webhooks page)"
        )
    return url


def sendable(field: str, value: str) -> str:
    """A secret that is sent somewhere, checked for where it goes (the webhook, a header)."""
    return (
        webhook_url(value) if field == "slack_webhook_url" else header_token(field.upper(), value)
    )


def folder(name: str, path: Path) -> Path:
    if not path.is_dir():
        raise ValueError(f"{name} {str(path)!r} is not a folder")
    return path


def header_token(name: str, token: str) -> str:
    """A token sent in an HTTP header, stripped; the message never shows it."""
    token = token.strip()
    if not (token.isascii() and token.isprintable()) or any(c.isspace() for c in token):
        raise ValueError(
            f"{name} contains spaces or characters an HTTP header cannot carry "
            "(it is not shown: copy it again)"
        )
    return token


def is_http_url(url: str) -> bool:
    if not (url.isascii() and url.isprintable()) or any(c.isspace() for c in url):
        return False
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def listed(values: Iterable[str]) -> str:
    return ", ".join(repr(value) for value in values)


def no_duplicates(values: Iterable[str]) -> None:
    if twice := [value for value, count in Counter(values).items() if count > 1]:
        raise ValueError(f"{listed(twice)} {'is' if len(twice) == 1 else 'are'} listed twice")


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest choice, or ''."""
    import difflib  # only when something is misspelt

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
