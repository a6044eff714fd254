"""The `helhet` command line (see main.py); `helhet --help` lists every command."""

from gateway.cli.main import cli, main

__all__ = ["cli", "main"]
