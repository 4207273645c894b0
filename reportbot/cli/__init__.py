"""The command line: a thin shell over the library."""

from reportbot.cli.commands import cli
from reportbot.cli.main import main

__all__ = ["cli", "main"]
