"""How every opsctl command, sandbox ones included, reports a failure: one line on stderr and the
documented exit code (docs/contracts.md), never a traceback."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import typer

from opsctl.cli import output
from opsctl.errors import ExitCode, OpsctlError

# Set to get the traceback of an unexpected error (a bug) instead of its one-line summary.
DEBUG_ENV = "OPSCTL_DEBUG"


@contextmanager
def exit_on_error() -> Iterator[None]:
    """Run a command's body: an OpsctlError is its message and exit code, Ctrl-C exits 130 with
    the notes the core added to it, anything else is a one-line bug report."""
    try:
        yield
    except typer.Exit:
        raise  # a command's own exit code (3 plan only, 4 not ready)
    except OpsctlError as error:
        output.error(error.message)
        raise typer.Exit(int(error.exit_code)) from None
    except BrokenPipeError as closed:
        stdout_closed("; ".join(getattr(closed, "__notes__", ())))
    except KeyboardInterrupt as interrupt:
        # The core adds a note when the interrupt leaves something the operator must know.
        notes = "; ".join(getattr(interrupt, "__notes__", ()))
        output.error(f"interrupted: {notes}" if notes else "interrupted")
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
    except Exception as error:
        if os.environ.get(DEBUG_ENV):
            raise
        output.error(
            f"unexpected {type(error).__name__}: {error} (a bug in opsctl; "
            f"rerun with {DEBUG_ENV}=1 for the traceback)"
        )
        raise typer.Exit(int(ExitCode.ERROR)) from None


def reopen_closed_stdout() -> None:
    """Started with descriptor 1 closed (`opsctl status >&-`), Python leaves sys.stdout None and
    the first write was an AttributeError. Make it a pipe nobody reads instead: every write is
    then a broken pipe, reported like a reader that went away (`| true`)."""
    if sys.stdout is not None:
        return
    read_end, write_end = os.pipe()
    os.close(read_end)
    if write_end != 1:
        os.dup2(write_end, 1)
        os.close(write_end)
    sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115 - lives until exit


def stdout_closed(note: str = "") -> None:
    """stdout was closed by its reader (`opsctl status | head -1`), or before opsctl started
    (`>&-`): say so on stderr, with `note` (a change already applied), and exit 1 (as click does
    when --help meets a closed pipe)."""
    # Python flushes stdout again at exit: let that go to /dev/null, not fail again. (Tests
    # capture stdout in memory: no descriptor to redirect.)
    with suppress(OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    with suppress(OSError):
        message = "stdout was closed before all output was written (e.g. `| head`)"
        output.error(f"{message}; {note}" if note else message)
    raise typer.Exit(int(ExitCode.ERROR)) from None
