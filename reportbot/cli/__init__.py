"""The command line: a thin shell over the library."""

from reportbot.cli.commands import cli, main

__all__ = ["cli", "main"]
