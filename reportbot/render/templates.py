"""Jinja environments and number formatting shared by every output.

Three environments (STYLE §6): HTML autoescaped, Slack with every expression escaped for
mrkdwn, and plain text. Templates come from ``templates/`` (shipped in the wheel as
``reportbot/templates``); a file of the same name in ``REPORTBOT_TEMPLATES`` overrides one.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any, Literal

import jinja2

from reportbot.core.report import Report
from reportbot.errors import ConfigError

Flavour = Literal["html", "slack", "text"]
# C0 and C1 controls, DEL, line/paragraph separators, the bidi embeddings, overrides, isolates
# and marks, and the invisible zero-width space, word joiner and BOM. Zero-width (non-)joiners
# stay: scripts and emoji sequences need them, and they cannot reorder or hide text.
_CONTROL = re.compile(
    "[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
    "\u200e\u200f\u061c\u200b\u2060\ufeff]+"
)
_MRKDWN = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def builtin_templates() -> Path:
    package = Path(__file__).parent.parent
    packaged = package / "templates"
    return packaged if packaged.is_dir() else package.parent / "templates"


def oneline(value: object) -> str:
    """Data on one line: control characters (C0, C1, bidi), and newlines become spaces."""
    return _CONTROL.sub(" ", str(value)).strip()


def mrkdwn(value: object) -> str:
    """Escape for Slack mrkdwn: only & < > are special (no link, no @channel)."""
    return oneline(value).translate(_MRKDWN)


def credits(value: Decimal) -> str:
    return f"{value:,.2f}"


def signed(value: Decimal) -> str:
    return f"{value:+,.2f}"


def pct(value: Decimal | None, digits: int = 1) -> str:
    return "new" if value is None else f"{value:+,.{digits}f}%"


def share(value: Decimal) -> str:
    return f"{value * 100:.1f}%"


def arrow(value: Decimal) -> str:
    return "▲" if value > 0 else "▼" if value < 0 else "▬"


def money(value: Decimal | None, currency: str = "USD") -> str:
    if value is None:
        return ""
    symbol = {"USD": "$", "EUR": "€", "GBP": "£"}.get(currency)
    return f"{symbol}{value:,.2f}" if symbol else f"{value:,.2f} {currency}"


def day(value: date, style: str = "short") -> str:
    return f"{value:%a %b} {value.day}" if style == "short" else value.isoformat()


def truncate(value: str, width: int) -> str:
    return value if len(value) <= width else value[: width - 1] + "…"


FILTERS: dict[str, Any] = {
    "oneline": oneline,
    "mrkdwn": mrkdwn,
    "credits": credits,
    "signed": signed,
    "pct": pct,
    "share": share,
    "arrow": arrow,
    "money": money,
    "day": day,
    "clip": truncate,
}


def _escape_for_slack(value: Any) -> Any:
    return mrkdwn(value) if isinstance(value, str) else value


@cache
def environment(flavour: Flavour, override: Path | None = None) -> jinja2.Environment:
    """One environment per output flavour and override folder.

    Template names include their folder (``slack/header.txt.j2``, ``email/report.html.j2``);
    the flavour decides the escaping, so the email's text parts use the text flavour.
    """
    folders = [override] if override else []
    folders.append(builtin_templates())
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(f) for f in folders]),
        autoescape=flavour == "html",  # noqa: S701 (slack and text escape their own way)
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=_escape_for_slack if flavour == "slack" else None,
    )
    env.filters.update(FILTERS)
    return env


def render(flavour: Flavour, name: str, override: Path | None = None, **context: Any) -> str:
    """Render one template; a broken (user) template is a one-line ConfigError."""
    try:
        return environment(flavour, override).get_template(name).render(**context)
    except jinja2.TemplateNotFound as exc:
        raise ConfigError(f"template {exc.name} not found") from None
    except jinja2.TemplateError as exc:
        line = getattr(exc, "lineno", None)
        raise ConfigError(f"template {name}{f' line {line}' if line else ''}: {exc}") from None


def render_text(report: Report, override: Path | None = None) -> str:
    return render("text", "text/report.txt.j2", override, r=report)
