"""Command-line habits click does not have by itself.

- Global options (``-v``, ``--config``, ``--log-format``) before or after the command:
  ``reportbot run NAME -v`` is ``reportbot -v run NAME``. ``GlobalOptionsGroup`` moves them
  to the front before click parses; a ``--`` ends the search.
- Shell completion is click's (``eval "$(_REPORTBOT_COMPLETE=bash_source reportbot)"``, or
  ``zsh_source``, ``fish_source``); report names complete from the configuration.
"""

from __future__ import annotations

import click

GLOBAL_FLAGS = ("-v", "--verbose")
GLOBAL_WITH_VALUE = ("--config", "--log-format")


def hoist_global_options(args: list[str]) -> list[str]:
    """``run NAME -v --config x.toml`` -> ``-v --config x.toml run NAME`` (up to a ``--``)."""
    front: list[str] = []
    rest: list[str] = []
    items = iter(args)
    for arg in items:
        if arg == "--":
            rest += [arg, *items]
        elif arg in GLOBAL_FLAGS:
            front.append(arg)
        elif arg in GLOBAL_WITH_VALUE:
            front += [arg, *(value for value in [next(items, None)] if value is not None)]
        elif arg.startswith(tuple(f"{option}=" for option in GLOBAL_WITH_VALUE)):
            front.append(arg)
        else:
            rest.append(arg)
    return front + rest


class GlobalOptionsGroup(click.Group):
    """A group whose own options may also come after the command and its arguments."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, hoist_global_options(args))


def complete_report_names(ctx: click.Context, _: click.Parameter, incomplete: str) -> list[str]:
    """Report names from the configuration, for shell completion; nothing when it is broken."""
    from reportbot.config import load_config
    from reportbot.errors import ReportbotError

    try:
        config = load_config(ctx.find_root().params.get("config_path"))
    except (ReportbotError, OSError):
        return []
    return [name for name in config.reports if name.startswith(incomplete)]
