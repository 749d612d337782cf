"""`python -m paperboy.cli ...`, the same as the `paperboy` command."""

from paperboy.cli import run

run()
