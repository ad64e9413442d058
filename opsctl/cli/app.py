"""The `opsctl` command line: thin Typer commands over the core modules, assembled here from one
module per group: `opsctl.cli.read_commands` (status, readiness, history, topology, probe),
`opsctl.cli.change_commands` (failover, fallback, switch), `opsctl.cli.revocation_commands`
(revoke, revocations), `opsctl.cli.drill_command` (drill), and the sandbox's group.

Every command is a plain Typer function: its examples are its --help epilog
(`opsctl.cli.options.examples`), the flags several commands share are `Annotated` aliases
declared once in `opsctl.cli.options` (the commands that act on AWS take
--topology/--stack/--app/--profile and build one `Target` from them), and its body runs inside
`exit_on_error`, which turns every failure into one line on stderr and the documented exit code.
The change commands (failover, fallback, switch, revoke) share one plan -> approve -> apply flow,
`opsctl.cli.approval`; each command only builds its plan and says how to apply it.
"""

from __future__ import annotations

import inspect
import re
import signal
from importlib.metadata import version as package_version
from typing import Annotated

import typer

from opsctl.cli import change_commands, drill_command, output, read_commands, revocation_commands
from opsctl.cli.reporting import reopen_closed_stdout
from opsctl.sandbox.cli import sandbox_app

# The installed distribution whose version `opsctl --version` prints (pyproject.toml).
DISTRIBUTION = "multi-region-authorizer"


app = typer.Typer(
    name="opsctl",
    help=(
        "Operate the two-Region authorizer: see where traffic goes and move it between the "
        "Regions, only when a human approves. Exit codes: 0 done/nothing to do, 1 error, "
        "2 usage, 3 plan shown (not approved), 4 refused by preflight, 5 records changed "
        "under us, 130 interrupted."
    ),
    epilog=(
        "Examples:\n\n"
        "  opsctl status\n\n"
        '  opsctl failover --approve --reason "INC-123 primary 5xx"\n\n'
        "  opsctl COMMAND --help\n\n"
        "Words (INSYNC, lever, failure switch, steps, dwell) and the runbook: docs/opsctl.md "
        "in the repository (Glossary; The primary Region is down)."
    ),
    no_args_is_help=True,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _show_version(requested: bool) -> None:
    if requested:
        output.stdout.print(f"opsctl {package_version(DISTRIBUTION)}")
        raise typer.Exit()


@app.callback()
def _global_options(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_show_version,
            is_eager=True,
            help="Print opsctl's version and exit.",
        ),
    ] = False,
) -> None:
    """The options every command takes come before it: --version, --help, completion."""


# The order `opsctl --help` lists the commands in: an incident's flow first.
HELP_ORDER = (
    "status",
    "failover",
    "fallback",
    "readiness",
    "switch",
    "revoke",
    "revocations",
    "drill",
    "history",
    "topology",
    "probe",
)


def _assemble(*groups: typer.Typer) -> None:
    """Every group's commands at the top level of `opsctl`, in HELP_ORDER (any other last)."""
    found = [command for group in groups for command in group.registered_commands]

    def place(command: typer.models.CommandInfo) -> int:
        name = command.name or getattr(command.callback, "__name__", "")
        return HELP_ORDER.index(name) if name in HELP_ORDER else len(HELP_ORDER)

    app.registered_commands.extend(sorted(found, key=place))


_assemble(
    read_commands.commands,
    change_commands.commands,
    revocation_commands.commands,
    drill_command.commands,
)
app.add_typer(sandbox_app, name="sandbox")


def _summaries_as_paragraphs(*apps: typer.Typer) -> None:
    """Each command's help is its docstring with the source's line breaks joined, so a command
    list shows each summary as one paragraph (rich help keeps single newlines as written)."""
    for typer_app in apps:
        for command in typer_app.registered_commands:
            if command.help is None and command.callback is not None:
                doc = inspect.cleandoc(command.callback.__doc__ or "")
                command.help = re.sub(r"(?<!\n)\n(?!\n)", " ", doc)


_summaries_as_paragraphs(app, sandbox_app)


def _interrupt_on_termination() -> None:
    """SIGTERM and SIGHUP (a killed job, a closed terminal or SSH session) stop opsctl the way
    Ctrl-C does, so a change already applied is still audited and reported and the sandbox drill
    tears down. SIGINT is set too: a script's background job inherits it ignored, and Python then
    installs no Ctrl-C handler of its own.

    Only the first signal interrupts. opsctl is then on its way out and every step left is bounded
    (re-reading the records, writing the audit line, a teardown), so the signals are ignored from
    then on, rather than breaking that cleanup off halfway or printing a traceback (ignored at the
    OS level: Python restores its own handlers to the default, killing, action while it exits)."""
    names = [name for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)]

    def interrupt(signum: int, _frame: object) -> None:
        for name in names:
            signal.signal(getattr(signal, name), signal.SIG_IGN)
        raise KeyboardInterrupt(signal.Signals(signum).name)

    for name in names:  # no SIGHUP on Windows
        signal.signal(getattr(signal, name), interrupt)


def main() -> None:
    _interrupt_on_termination()
    reopen_closed_stdout()
    # One name whether run as the console script or `python -m opsctl` (help, completion).
    app(prog_name="opsctl")
