"""The console script: every ReportbotError becomes one line per problem and its status."""

from __future__ import annotations

import sys

import click

from reportbot.cli.commands import cli


def _shown(text: str) -> str:
    """One line of an error, printable and without secrets (imported only when needed)."""
    from reportbot.errors import printable
    from reportbot.logs import scrub

    return printable(scrub(text), 2000)


def main() -> None:
    """Entry point: every ReportbotError is one line per problem and its exit status."""
    from reportbot.errors import ReportbotError

    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2)
    except click.Abort:
        click.echo("reportbot: interrupted", err=True)
        sys.exit(130)
    except ReportbotError as exc:
        for line in str(exc).splitlines() or [type(exc).__name__]:
            click.echo(f"reportbot: error: {_shown(line)}", err=True)
        sys.exit(exc.exit_status)
    except Exception as exc:
        if "-v" in sys.argv or "--verbose" in sys.argv:
            raise
        said = _shown(str(exc))
        click.echo(
            f"reportbot: internal error: {type(exc).__name__}: {said} (run with -v)", err=True
        )
        sys.exit(1)
