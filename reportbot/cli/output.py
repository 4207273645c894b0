"""What the commands print: reports and payloads on stdout, problems on stderr."""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path

import click

from reportbot.config import Config, ReportConfig
from reportbot.delivery.usage import RunResult
from reportbot.errors import printable
from reportbot.logs import scrub
from reportbot.render.rendered import RenderedReport

COLOURS = {"sent": "green", "failed": "red", "unrecorded": "red", "skipped": "yellow"}
MARKS = {"sent": "✓", "skipped": "=", "failed": "✗", "unrecorded": "!", "dry-run": "·"}


def print_result(config: Config, result: RunResult, *, out: Path | None, show_slack: bool) -> None:
    if result.error is not None:
        for line in str(result.error).splitlines():
            shown = printable(scrub(line), 2000)
            click.echo(f"reportbot: error: {result.report}: {shown}", err=True)
        return
    report = config.reports[result.report]
    dry_run = any(o.status == "dry-run" for o in result.outcomes)
    if result.rendered is not None and dry_run:
        rendered = result.rendered
        click.echo(rendered.text)
        if report.email:
            click.echo(f"Email subject: {rendered.email.subject}")
        if show_slack and report.slack:
            click.echo(json.dumps(rendered.slack_messages, indent=2, ensure_ascii=False))
        if out is not None:
            written = write_outputs(rendered, out)
            click.echo(f"wrote {', '.join(str(p) for p in written)}", err=True)
    period = result.period.key if result.period else "?"
    if result.note:
        click.echo(f"· {result.report} {period}: {result.note}")
    for outcome in result.outcomes:
        mark = click.style(MARKS[outcome.status], fg=COLOURS.get(outcome.status), bold=True)
        line = f"{mark} {result.report} {period} {outcome.destination}: "
        detail = printable(scrub(outcome.detail), 2000)
        line += outcome.status + (f" ({detail})" if detail else "")
        click.echo(line)


class LiveResults:
    """Prints each result as it completes; on a terminal, a progress line on stderr."""

    def __init__(self, config: Config, total: int, *, out: Path | None) -> None:
        self.config, self.total, self.out = config, total, out
        self.done = self.failed = 0
        self._lock = threading.Lock()
        self._tty = total > 1 and sys.stderr.isatty()

    def __call__(self, result: RunResult) -> None:
        with self._lock:
            self._clear()
            print_result(self.config, result, out=self.out, show_slack=True)
            self.done += 1
            self.failed += result.exit_status != 0
            if self._tty and self.done < self.total:
                failed = f", {self.failed} failed" if self.failed else ""
                click.echo(f"{self.done}/{self.total} reports done{failed}", nl=False, err=True)

    def close(self) -> None:
        with self._lock:
            self._clear()

    def _clear(self) -> None:
        if self._tty:
            click.echo("\r\x1b[K", nl=False, err=True)


def write_outputs(rendered: RenderedReport, out: Path) -> list[Path]:
    """Every output of a report as files a person can open."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, content in rendered.files().items():
        path = out / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        written.append(path)
    return written


def finish(
    config: Config, results: list[RunResult], *, out: Path | None, show_slack: bool = True
) -> None:
    for result in results:
        print_result(config, result, out=out, show_slack=show_slack)
    exit_with(results)


def test_copy(report: ReportConfig, to: str) -> ReportConfig:
    """The report with ``--to`` as its only destination."""
    from reportbot.errors import ConfigError
    from reportbot.validators import destination

    try:
        kind, _, address = destination(to).partition(":")
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    slack, email = ((address,), ()) if kind == "slack" else ((), (address,))
    return report.model_copy(update={"slack": slack, "email": email})


def exit_with(results: list[RunResult]) -> None:
    status = max((r.exit_status for r in results), default=0)
    if status:
        sys.exit(status)
