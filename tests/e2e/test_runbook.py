"""The runbook "The primary Region is down" (docs/opsctl.md) run on a sandbox with us-east-1 out:
its commands in its order, each documented block checked against what the command prints.

A block is marked for this test by the HTML comment before it, which names the command it shows
(`<!-- runbook: opsctl failover (exit 3) -->`; exit 0 unless it says otherwise). A block holds
the command's stdout, then its stderr. What varies between runs is masked on both sides (times,
durations, addresses, ids), whitespace and table rules compare by presence rather than length (a
longer duration widens a column), and `...` stands for any text: a line of its own for any lines.
"""

from __future__ import annotations

import ast
import difflib
import re
import shlex
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from infra.components.watch import WATCHER_SPEC
from opsctl.aws import AwsClients
from opsctl.read.region_status import RegionStatus
from opsctl.read.status import read_status
from opsctl.sandbox.faults.outage import outage, regions_out, restore
from opsctl.sandbox.rehearsal import sandbox_environment
from opsctl.sandbox.state import SandboxState
from opsctl.sandbox.supervisor.processes import PROJECT_ROOT
from opsctl.topology import load_topology_file
from tests.e2e.conftest import OpsctlRunner

RUNBOOK = PROJECT_ROOT / "docs" / "opsctl.md"
SECTION = "## The primary Region is down (runbook)"
PRIMARY_REGION = "us-east-1"
MARKER = re.compile(r"<!-- runbook: (?P<command>opsctl .+?)(?: \(exit (?P<exit>\d)\))? -->")
# What varies from run to run, masked on both sides (in this order).
MASKS = (
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"), "<time>"),
    (re.compile(r"\b\d\d-\d\d \d\d:\d\d\b"), "<time>"),  # history's short time
    (re.compile(r"https?://\S+"), "<url>"),
    (re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b"), "<address>"),
    (re.compile(r"\b\d+(?:\.\d+)?\s?(?:ms|s|m|h)\b"), "<duration>"),
    (re.compile(r"\b(?=[A-Z0-9]*\d)[A-Z0-9]{12,}\b"), "<id>"),  # change ids, zone ids
    (re.compile(r"\b\d+x\b"), "<count>"),  # how often the lever was asserted again
)
RULES = re.compile(r"[─━]+")  # a table's horizontal rules: their length follows the columns
ELLIPSIS = "..."
WAIT_SECONDS = 90.0
# The sandbox evaluates alarms every 0.25 s: a state read this long after the last datapoint
# that could turn it is the evaluated one.
EVALUATION_SLACK_SECONDS = 2.0


@dataclass(frozen=True)
class Step:
    """A command of the runbook and the block that shows what it prints."""

    command: str
    exit_code: int
    block: str
    line: int  # where the block starts in docs/opsctl.md

    @property
    def verb(self) -> str:
        return shlex.split(self.command)[1]


def runbook_lines() -> list[str]:
    lines = RUNBOOK.read_text().splitlines()
    start = lines.index(SECTION)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    return lines[start:end]


def runbook_steps() -> list[Step]:
    lines = runbook_lines()
    offset = RUNBOOK.read_text().splitlines().index(SECTION)
    steps: list[Step] = []
    for number, line in enumerate(lines):
        marker = MARKER.search(line)
        if not marker:
            continue
        fence = lines[number + 1]
        assert fence.strip() == "```", f"docs/opsctl.md:{offset + number + 2}: a fence expected"
        indent = fence.index("`")
        end = next(i for i in range(number + 2, len(lines)) if lines[i].strip() == "```")
        block = "\n".join(row[indent:] for row in lines[number + 2 : end])
        steps.append(Step(marker["command"], int(marker["exit"] or 0), block, offset + number + 3))
    return steps


def masked(text: str) -> str:
    for pattern, replacement in MASKS:
        text = pattern.sub(replacement, text)
    return "\n".join(line.rstrip() for line in RULES.sub("─", text).strip().splitlines())


def flat(text: str) -> str:
    """Masked, every run of whitespace one space: wrapping and padding do not count."""
    return " ".join(masked(text).split())


def matches(block: str, printed: str) -> bool:
    parts = [re.escape(part.strip()) for part in flat(block).split(ELLIPSIS)]
    return re.fullmatch(r"\s*.*?\s*".join(parts), flat(printed), re.DOTALL) is not None


def mismatch(step: Step, printed: str, exit_code: int) -> str | None:
    """None when the output is the block's (and the exit code the documented one), else a
    readable diff naming the step."""
    where = f"docs/opsctl.md:{step.line}: `{step.command}`"
    if exit_code != step.exit_code:
        return f"{where} exited {exit_code}, documented {step.exit_code}:\n{printed}"
    if matches(step.block, printed):
        return None
    diff = difflib.unified_diff(
        masked(step.block).splitlines(),
        masked(printed).splitlines(),
        "documented",
        "printed",
        lineterm="",
    )
    return f"{where} prints something else (masked):\n" + "\n".join(diff)


def primary_status(sandbox: SandboxState) -> RegionStatus:
    """The primary's column of `opsctl status`, read in this process (no interpreter to start)."""
    with sandbox_environment(sandbox):
        topology = load_topology_file(Path(sandbox.topology_file))
        return read_status(AwsClients(), topology).region("primary")


def wait_for(what: str, done: Callable[[], bool]) -> None:
    """Poll `done()` until true, at most WAIT_SECONDS."""
    deadline = time.monotonic() + WAIT_SECONDS
    while not done():
        assert time.monotonic() < deadline, f"{what}: not within {WAIT_SECONDS:g}s"
        time.sleep(0.5)


def code_literals() -> str:
    """Every string opsctl's code holds, an f-string's parts apart (NUL between them)."""
    pieces: list[str] = []
    for path in (PROJECT_ROOT / "opsctl").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.JoinedStr):
                pieces.append(
                    "\0".join(v.value if isinstance(v, ast.Constant) else "" for v in node.values)
                )
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                pieces.append(node.value)
    return "\0\n".join(pieces)


def quoted_texts() -> list[tuple[int, str]]:
    """What the runbook's prose quotes opsctl as saying: code spans (`...`, or ``...`` around
    text holding a backtick) of four words or more that are not commands, with their lines."""
    offset = RUNBOOK.read_text().splitlines().index(SECTION)
    prose: list[str] = []
    fenced = False
    for line in runbook_lines():
        fence = line.strip().startswith("```")
        fenced ^= fence
        prose.append("" if fenced or fence else line)
    text = "\n".join(prose)
    quotes: list[tuple[int, str]] = []
    for quote in re.finditer(r"``\s?(.+?)\s?``|`([^`]+)`", text, re.DOTALL):
        said = " ".join((quote[1] or quote[2]).split())
        if len(said.split()) >= 4 and not said.startswith(("opsctl ", "pulumi ")):
            quotes.append((offset + text.count("\n", 0, quote.start()) + 1, said))
    return quotes


# What a quote may fill in (numbers, Regions, roles, placeholders), and where a message is
# composed of parts (backticks around a command inside it).
VARIABLE = re.compile(
    r"\.\.\.|`|\b\d+(?:\.\d+)?\s?(?:ms|s|m|h)?\b|\b[a-z]{2}-[a-z]+-\d\b|\bprimary\b|"
    r"\bsecondary\b|<[^>]*>|\bN(?=x?\b)"
)


def said_by_opsctl(quote: str, printed: list[str], literals: str) -> bool:
    """The quote is in what the run printed, or each fixed part of it (three words or more
    between what varies) is in opsctl's code or in what the run printed."""
    outputs = [flat(output) for output in printed]
    if any(flat(quote) in output for output in outputs):
        return True
    parts = [part.strip(" ()") for part in VARIABLE.split(quote) if len(part.split()) >= 3]
    return all(
        part in literals or any(flat(part) in output for output in outputs) for part in parts
    )


@pytest.mark.e2e
def test_the_runbook_matches_what_the_commands_print(
    sandbox: SandboxState, run_opsctl: OpsctlRunner, tmp_path: Path
) -> None:
    steps = runbook_steps()
    assert steps, f"no `<!-- runbook: ... -->` block in {SECTION!r}"
    # The operator's shell: the saved topology at hand, a terminal 80 columns wide.
    shutil.copy(sandbox.topology_file, tmp_path / "topology.json")
    env = {**sandbox.environment(), "OPSCTL_TOPOLOGY": "topology.json", "COLUMNS": "80"}

    # us-east-1 is lost as a whole; the page comes from the secondary's watcher. A watcher run
    # that began before the outage may still report the primary healthy (and turn the alarm OK
    # for a moment) until its function timeout has passed; the runbook shows the steady state.
    outage(sandbox, PRIMARY_REGION)
    settled = time.monotonic() + WATCHER_SPEC.timeout_seconds + EVALUATION_SLACK_SECONDS
    wait_for(
        "the secondary's watcher sees the primary unreachable",
        lambda: (
            bool((seen := primary_status(sandbox).watch) and seen.unreachable)
            and time.monotonic() >= settled
        ),
    )

    printed: list[str] = []
    wrong: list[str] = []
    for step in steps:
        if step.verb == "fallback" and PRIMARY_REGION in regions_out(sandbox):
            # us-east-1 is back; as step 6 says, wait until the primary's health has cleared.
            restore(sandbox, PRIMARY_REGION)
            wait_for("the primary's health clears", lambda: _healthy(primary_status(sandbox)))
        started = time.monotonic()
        result = _run(run_opsctl, step, env, tmp_path)
        output = result.stdout + result.stderr
        took = time.monotonic() - started
        print(f"$ {step.command}  (exit {result.returncode}, {took:.1f}s)\n{output}")  # with -s
        printed.append(output)
        problem = mismatch(step, output, result.returncode)
        if problem:
            wrong.append(problem)

    literals = code_literals()
    wrong += [
        f"docs/opsctl.md:{line}: `{quote}` is neither printed by the run nor in opsctl's code"
        for line, quote in quoted_texts()
        if not said_by_opsctl(quote, printed, literals)
    ]
    assert not wrong, "\n\n".join(wrong)


def _run(
    run_opsctl: OpsctlRunner, step: Step, env: dict[str, str], cwd: Path
) -> subprocess.CompletedProcess[str]:
    """The step's command; a refused change (exit 4, nothing changed) is run again until it is
    not refused, within WAIT_SECONDS, as the refusal tells the operator to."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        result = run_opsctl(*shlex.split(step.command)[1:], env=env, cwd=cwd)
        refused = result.returncode == 4 and step.exit_code != 4
        if not refused or time.monotonic() > deadline:
            return result
        time.sleep(1.0)


def _healthy(region: RegionStatus) -> bool:
    """What step 6 waits for: health `healthy (3/3)`, every checker seeing it."""
    return region.healthy is True and region.checkers_healthy == region.checkers_total
