"""`helhet demo`: helhet end to end on the embedded defaults with a synthetic municipality."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.command("demo")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("demo-instance"),
    show_default=True,
    help="Where the demo instance is written (replaced on every run).",
)
@click.option("--families", type=click.IntRange(1, 1000), default=50, show_default=True)
@click.option("--seed", type=int, default=20261124, show_default=True)
@click.option(
    "--port",
    type=int,
    default=8080,
    show_default=True,
    help="HTTP port (a free one is taken if this one is busy).",
)
@click.option("--no-serve", is_flag=True, help="Exit after the summary instead of serving.")
@click.option(
    "--json",
    "json_out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the summary as JSON to this file.",
)
@click.option(
    "--verbose",
    is_flag=True,
    help="Also print the checks behind the summary (topics counted against the log).",
)
def command(
    directory: Path,
    families: int,
    seed: int,
    port: int,
    no_serve: bool,
    json_out: Path | None,
    verbose: bool,
) -> None:
    """Run helhet end to end on the embedded defaults with a synthetic municipality.

    Starts the bundled broker and the gateway on SQLite, enrols synthetic families with
    consents of every kind, streams records from all five agencies through the HTTP API,
    consumes every topic with the receiver and prints a summary checked against the log.
    """
    import socket

    from gateway.demo.run import as_dict, run_demo

    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            port = 0
    result = run_demo(
        directory,
        families=families,
        seed=seed,
        port=port or None,
        serve=not no_serve,
        echo=click.echo,
        verbose=verbose,
    )
    if json_out:
        json_out.write_text(json.dumps(as_dict(result), indent=2, default=str))
    if not result.adds_up:
        raise click.ClickException("the demo's numbers do not add up (see the checks above)")
