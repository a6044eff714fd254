"""`python -m gateway.cli`: the `helhet` command."""

from gateway.cli.main import main

main()
