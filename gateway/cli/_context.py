"""What every command shares: the instance of `--config` (or HELHET_CONFIG), the clock, and
the log lines of the long-running commands on stderr."""

from __future__ import annotations

import logging

import click

from gateway.clock import utcnow
from gateway.config.instance import Instance, open_instance
from gateway.config.settings import load_settings

__all__ = ["load_instance", "log_to_stderr", "utcnow"]


def load_instance(ctx: click.Context) -> Instance:
    """The instance of the `--config` given to `helhet` (or HELHET_CONFIG), opened once."""
    root = ctx.find_root()
    obj = root.obj if isinstance(root.obj, dict) else {}
    if "instance" not in obj:
        settings = load_settings(obj.get("config"))
        obj["instance"] = open_instance(settings)
        root.obj = obj
        root.call_on_close(obj["instance"].close)
    instance: Instance = obj["instance"]
    return instance


def log_to_stderr(level: int = logging.INFO) -> None:
    """The gateway's own log lines (loggers `helhet.*`) on stderr, for `serve` and `relay`."""
    logger = logging.getLogger("helhet")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s: %(name)s: %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
