"""`python -m opsctl` runs the CLI."""

from opsctl.cli import main

main()
