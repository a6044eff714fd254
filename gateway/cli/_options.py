"""Options several commands share: the recipient agency, and where its private key goes."""

from __future__ import annotations

from pathlib import Path

import click

from schemas import Agency

agency_option = click.option(
    "--agency", type=click.Choice([a.value for a in Agency]), required=True
)
private_key_out_option = click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(),
    show_default="the current directory",
    help="Where to write the agency's PRIVATE key, <agency>.key (mode 0600): it is the "
    "agency's, to hand over, not the instance's.",
)
