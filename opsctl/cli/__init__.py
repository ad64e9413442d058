"""The command line: Typer commands, shared options, the plan -> approve -> apply flow, and every
line and table opsctl prints. The only layer that imports typer or rich."""
