"""Jinja environments and number formatting shared by every output.

Three environments (STYLE §6): HTML autoescaped, Slack with every expression escaped for
mrkdwn, and plain text. Templates come from ``templates/`` (shipped in the wheel as
``reportbot/templates``); a file of the same name in ``REPORTBOT_TEMPLATES`` overrides one.
With an override folder, every template renders in the sandbox of ``reportbot.render.sandbox``
(bounded output and time); :func:`check_templates` compiles the folder's templates up front.
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
from reportbot.errors import ConfigError, printable
from reportbot.render.insight_text import FILTERS as INSIGHT_FILTERS
from reportbot.render.money import money
from reportbot.render.sandbox import ReportSandbox, bounded_render

Flavour = Literal["html", "slack", "text"]
LIST_NAMES = 12  # names listed under "New" and "Stopped"; the rest are counted
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
    """A share of the period total; "—" outside 0–100%, where refunds make it meaningless."""
    return f"{value * 100:.1f}%" if 0 <= value <= 1 else "—"


def arrow(value: Decimal) -> str:
    return "▲" if value > 0 else "▼" if value < 0 else "▬"


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
    kind = ReportSandbox if override else jinja2.Environment
    env = kind(
        loader=jinja2.FileSystemLoader([str(f) for f in folders]),
        autoescape=flavour == "html",
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=_escape_for_slack if flavour == "slack" else None,
    )
    env.filters.update(FILTERS)
    env.filters.update(INSIGHT_FILTERS)
    env.globals["list_names"] = LIST_NAMES
    return env


def render(flavour: Flavour, name: str, override: Path | None = None, **context: Any) -> str:
    """Render one template; a broken (user) template is a one-line ConfigError."""
    try:
        template = environment(flavour, override).get_template(name)
        return bounded_render(template, context) if override else template.render(**context)
    except jinja2.TemplateNotFound as exc:
        raise ConfigError(f"template {exc.name} not found") from None
    except (jinja2.TemplateError, TypeError, ValueError, ArithmeticError) as exc:
        raise ConfigError(template_problem(name, exc)) from None


def template_problem(name: str, exc: Exception) -> str:
    """``template FILE line N: what`` for a template that failed to compile or render."""
    where, line = name, getattr(exc, "lineno", None)
    if isinstance(exc, jinja2.TemplateSyntaxError):
        where = exc.filename or exc.name or name
    else:
        where, line = _template_frame(exc, name, line)
    what = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    where = _relative(where)
    return f"template {where}{f' line {line}' if line else ''}: {printable(str(what))}"


def _template_frame(exc: Exception, name: str, line: int | None) -> tuple[str, int | None]:
    """The innermost template file (and line) in the traceback of a render error."""
    where, tb = name, exc.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.endswith(".j2"):
            where, line = filename, tb.tb_lineno
        tb = tb.tb_next
    return where, line


def _relative(filename: str) -> str:
    """A template file as its template name (``text/report.txt.j2``), wherever it lives."""
    parts = Path(filename).parts
    tops = [i for i, part in enumerate(parts[:-1]) if part in ("text", "slack", "email")]
    return "/".join(parts[tops[-1] :]) if tops else filename


def flavour_of(name: str) -> Flavour:
    """The environment a template is rendered in, from its name."""
    if name.startswith("slack/"):
        return "slack"
    return "html" if name.endswith((".html.j2", ".htm.j2", ".html")) else "text"


def check_templates(folder: Path) -> None:
    """Compile every template under ``folder``; a ConfigError names each broken one."""
    problems = []
    for path in sorted(folder.rglob("*.j2")):
        name = path.relative_to(folder).as_posix()
        try:
            environment(flavour_of(name), folder).get_template(name)
        except jinja2.TemplateError as exc:
            problems.append(template_problem(name, exc))
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(f"template {path}: cannot be read ({type(exc).__name__})")
    if problems:
        raise ConfigError(*problems)


def render_text(report: Report, override: Path | None = None) -> str:
    return render("text", "text/report.txt.j2", override, r=report)
