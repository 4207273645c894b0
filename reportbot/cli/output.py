"""What the commands print: reports and payloads on stdout, problems on stderr."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from reportbot.config import Config
from reportbot.core.report import Report
from reportbot.delivery.runner import RunResult
from reportbot.render.templates import render_text

if TYPE_CHECKING:
    from reportbot.render.email import RenderedEmail

MARKS = {"sent": "✓", "skipped": "=", "failed": "✗", "dry-run": "·"}


def print_result(config: Config, result: RunResult, *, out: Path | None, show_slack: bool) -> None:
    if result.error is not None:
        for line in str(result.error).splitlines():
            click.echo(f"reportbot: error: {result.report}: {line}", err=True)
        return
    report = config.reports[result.report]
    dry_run = any(o.status == "dry-run" for o in result.outcomes)
    if result.built is not None and dry_run:
        click.echo(render_text(result.built, config.settings.templates))
        if report.email:
            click.echo(f"Email subject: {_email(config, result.built).subject}")
        if show_slack and report.slack:
            click.echo(
                json.dumps(_slack_payloads(config, result.built), indent=2, ensure_ascii=False)
            )
        if out is not None:
            written = write_outputs(config, result.built, out)
            click.echo(f"wrote {', '.join(str(p) for p in written)}", err=True)
    period = result.period.key if result.period else "?"
    for outcome in result.outcomes:
        line = f"{MARKS[outcome.status]} {result.report} {period} {outcome.destination}: "
        line += outcome.status + (f" ({outcome.detail})" if outcome.detail else "")
        click.echo(line)


def _slack_payloads(config: Config, report: Report) -> list[dict[str, object]]:
    from reportbot.render.slack import slack_messages

    return slack_messages(report, config.settings.templates)


def _email(config: Config, report: Report) -> RenderedEmail:
    from reportbot.render.email import render_email

    return render_email(report, config.settings.templates)


def write_outputs(config: Config, report: Report, out: Path) -> list[Path]:
    """Every output of a report as files a person can open."""
    out.mkdir(parents=True, exist_ok=True)
    stem = f"{report.name}-{report.period.key.replace('..', '_')}"
    mail = _email(config, report)
    slack = json.dumps(_slack_payloads(config, report), indent=2, ensure_ascii=False)
    files: dict[Path, str | bytes] = {
        out / f"{stem}.txt": render_text(report, config.settings.templates),
        out / f"{stem}.slack.json": slack,
        out / f"{stem}.email.txt": f"Subject: {mail.subject}\n\n{mail.text}",
        out / f"{stem}.email.html": _viewable(mail),
        out / mail.csv_filename: mail.csv_bytes,
    }
    if mail.png is not None:
        files[out / f"{stem}.png"] = mail.png
    for path, content in files.items():
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return list(files)


def _viewable(mail: RenderedEmail) -> str:
    """The HTML with the chart embedded, so a browser shows what a mail client would."""
    if mail.png is None:
        return mail.html
    data = base64.b64encode(mail.png).decode("ascii")
    return mail.html.replace('"cid:chart"', f'"data:image/png;base64,{data}"')
