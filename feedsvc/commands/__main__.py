"""`python -m feedsvc.commands …`: the same as the `feedsvc` command (serve starts its worker this way)."""

from feedsvc.commands import cli

cli()
