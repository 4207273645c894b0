"""The command line: a thin shell over the library, each command a few lines.

Library errors become one line on stderr and an exit status: 0 delivered (or already
delivered), 1 a fetch or delivery failed, 2 bad usage or configuration.

Global options work before or after the command (``reportbot.cli.group``). Colour only on
a terminal, and never with ``NO_COLOR`` set (https://no-color.org).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from reportbot.cli.group import GlobalOptionsGroup, complete_report_names

if TYPE_CHECKING:
    from reportbot.config import Config

PERIOD_HELP = "week, month, day, 2024-W33, 2024-08, 2024-08-15 or 2024-08-01..2024-08-14"
OUT_HELP = "Also write every output (report.txt, slack.json, email.html/.txt, CSV, PNG) here."


class Context:
    def __init__(self, config_path: Path | None, verbose: bool, log_format: str = "text") -> None:
        self.config_path = config_path
        self.verbose = verbose
        self.log_format = log_format

    def config(self) -> Config:
        from reportbot.config import load_config

        return load_config(self.config_path)


@click.group(cls=GlobalOptionsGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Reports file (default: $REPORTBOT_CONFIG, else ./reportbot.toml).",
)
@click.option("-v", "--verbose", is_flag=True, help="Log every step, with tracebacks.")
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    envvar="REPORTBOT_LOG_FORMAT",
)
@click.version_option(package_name="reportbot")
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None, verbose: bool, log_format: str) -> None:
    """API-usage cost reports for AceData Cloud, to Slack and email.

    Example: reportbot run weekly-digest --dry-run
    """
    import logging

    from reportbot.logs import setup_logging

    setup_logging(logging.DEBUG if verbose else logging.WARNING, log_format, traceback=verbose)
    if os.environ.get("NO_COLOR"):
        ctx.color = False
    ctx.obj = Context(config_path, verbose, log_format)


@cli.command()
@click.argument("names", nargs=-1, shell_complete=complete_report_names)
@click.option("--all", "all_reports", is_flag=True, help="Run every configured report.")
@click.option("--period", help=f"Which period: {PERIOD_HELP}.")
@click.option("--dry-run", is_flag=True, help="Print what would be sent; send and record nothing.")
@click.option("--force", is_flag=True, help="Send again where already sent.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help=OUT_HELP)
@click.option(
    "--to",
    "to",
    metavar="DEST",
    help="Test send: only to this channel or address, labelled a test; the ledger is untouched.",
)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 64),
    help="Reports built and sent at once (default: $REPORTBOT_CONCURRENCY, else 8).",
)
@click.pass_obj
def run(
    obj: Context,
    names: tuple[str, ...],
    all_reports: bool,
    period: str | None,
    dry_run: bool,
    force: bool,
    out: Path | None,
    to: str | None,
    concurrency: int | None,
) -> None:
    """Build reports now and deliver them, or show them with --dry-run.

    Without a name it lists the configured reports.

    Example: reportbot run weekly-digest --period 2024-W33
    """
    from reportbot.config import missing_credentials
    from reportbot.delivery.wiring import open_runner
    from reportbot.errors import ConfigError

    if names and all_reports:
        raise ConfigError("name one or more reports, or pass --all, not both")
    if out and not dry_run:
        raise ConfigError("--out goes with --dry-run")
    config = obj.config()
    if not names and not all_reports:
        from reportbot.cli.listing import report_menu

        for line in report_menu(config):
            click.echo(line)
        raise ConfigError("name one or more reports, or pass --all")
    reports = config.select(names, all_reports=all_reports)
    from reportbot.cli.output import LiveResults, exit_with, finish, test_copy

    if to is not None:
        reports = [test_copy(report, to) for report in reports]
    if problems := missing_credentials(config, reports, fetch_only=dry_run):
        raise ConfigError(*problems)
    if to is not None and not dry_run:
        with open_runner(config, with_ledger=False) as runner:
            finish(config, [runner.test_send(r, period=period) for r in reports], out=None)
        return
    live = LiveResults(config, len(reports), out=out)
    with open_runner(config, with_ledger=not dry_run) as runner:
        results = runner.run_many(
            reports,
            period=period,
            dry_run=dry_run,
            force=force,
            concurrency=concurrency,
            on_result=live,
        )
    live.close()
    exit_with(results)


@cli.command()
@click.option("--period", default="week", show_default=True, help=f"Which period: {PERIOD_HELP}.")
@click.option(
    "--slack", "show_slack", is_flag=True, help="Also print the Slack payloads (for any report)."
)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help=OUT_HELP)
def demo(period: str, show_slack: bool, out: Path | None) -> None:
    """The whole pipeline on a built-in demo account: no credentials needed.

    Example: reportbot demo --period month --out demo-out
    """
    from reportbot.delivery.wiring import demo_config, open_runner

    config = demo_config()
    monthly = period == "month" or (len(period) == 7 and period[4] == "-")
    report = config.reports["monthly-costs" if monthly else "weekly-digest"]
    with open_runner(config, with_ledger=False) as runner:
        result = runner.run(report, period=period, dry_run=True)
    from reportbot.cli.output import finish

    finish(config, [result], out=out, show_slack=show_slack)
    if show_slack and not report.slack and result.built is not None:
        import json

        from reportbot.render.slack import slack_messages

        click.echo(f"Slack messages {report.name} would post to a channel:")
        messages = slack_messages(result.built, config.settings.templates)
        click.echo(json.dumps(messages, indent=2, ensure_ascii=False))


@cli.command()
@click.option(
    "--grace",
    type=click.FloatRange(min=0),
    default=25.0,
    show_default=True,
    help="Seconds a delivery in flight may take to finish after SIGTERM.",
)
@click.pass_obj
def serve(obj: Context, grace: float) -> None:
    """Run every report on its schedule: catch up on start, retry failures, stop on SIGTERM.

    Example: reportbot --log-format json serve
    """
    import logging

    from reportbot.config import missing_credentials
    from reportbot.errors import ConfigError
    from reportbot.service.child import LogSetup
    from reportbot.service.scheduler import serve as serve_reports

    config = obj.config()
    if problems := missing_credentials(config, config.reports.values(), fetch_only=False):
        raise ConfigError(*problems)
    logs = LogSetup(logging.DEBUG if obj.verbose else logging.INFO, obj.log_format, obj.verbose)
    logging.getLogger().setLevel(logs.level)
    if not obj.verbose:  # our listener logs job errors, misses and overlaps in one line each
        logging.getLogger("apscheduler").setLevel(logging.ERROR)
        logging.getLogger("apscheduler.executors").setLevel(logging.CRITICAL)
    serve_reports(config, logs, grace=grace)


@cli.command("list")
@click.pass_obj
def list_reports(obj: Context) -> None:
    """Show each report: schedule, next run in its time zone, last delivery.

    Example: reportbot list
    """
    from reportbot.cli.listing import list_lines

    for line in list_lines(obj.config_path):  # reads the reports file and the ledger URL only
        click.echo(line)


@cli.command()
@click.pass_obj
def check(obj: Context) -> None:
    """Validate the configuration and try every credential it names.

    Prints one line per check, a missing variable as a failed one; exits 2 when a variable
    is missing (after every check it can run), 1 when a check fails.

    Example: reportbot check
    """
    from reportbot.cli.checks import run_checks
    from reportbot.cli.words import plural

    failed = missing = 0
    for result in run_checks(obj.config()):
        click.echo(result.styled())
        failed += result.failed
        missing += result.failed and result.what == "environment"
    if failed:
        click.echo(f"reportbot: {plural(failed, 'check')} failed", err=True)
        sys.exit(2 if missing else 1)


@cli.command("slack-manifest")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["json", "yaml"]),
    default="json",
    show_default=True,
    help="Slack accepts either.",
)
@click.option("--name", default="reportbot", show_default=True, help="The app's name.")
@click.pass_obj
def slack_manifest(obj: Context, fmt: str, name: str) -> None:
    """Print a Slack app manifest with exactly the scopes the configured reports need.

    Create the app from it at https://api.slack.com/apps?new_app=1 ("From a manifest").

    Example: reportbot slack-manifest --format yaml
    """
    from reportbot.cli.manifest import as_json, as_yaml, slack_manifest
    from reportbot.errors import ConfigError

    reports = obj.config().reports.values()
    if not any(report.slack for report in reports):
        raise ConfigError("no report posts to Slack (slack = [...]): a manifest would be empty")
    manifest = slack_manifest(reports, name=name)
    click.echo(as_yaml(manifest) if fmt == "yaml" else as_json(manifest), nl=False)


@cli.command()
@click.argument("name", required=False, shell_complete=complete_report_names)
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@click.pass_obj
def history(obj: Context, name: str | None, limit: int) -> None:
    """Show the delivery ledger, newest first (times in UTC).

    Example: reportbot history weekly-digest --limit 50
    """
    from reportbot import environment
    from reportbot.cli.history_table import history_lines
    from reportbot.ledger.reader import read_ledger

    with read_ledger(environment.database_url()) as ledger:
        rows = ledger.history(name, limit=limit) if ledger else []
    if not rows:
        click.echo(f"no deliveries recorded{f' for {name}' if name else ''} yet")
        return
    for line in history_lines(rows):
        click.echo(line)
