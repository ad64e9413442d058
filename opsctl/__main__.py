"""`python -m opsctl` runs the CLI."""

from opsctl.cli.app import main

main()
