"""The command-line flags several commands share, each declared once as an `Annotated` alias.

A command lists the aliases it takes in its own signature, as plain Typer parameters (e.g.
`json_output: JsonOption = False`). The commands that act on AWS take the four target flags
(`TopologyOption`, `StackOption`, `AppOption`, `ProfileOption`) and build one `Target` from them.

`number_option` is the one way a command declares a number: the value must be finite (no `inf`,
`nan`, `1e400`) and within the range the help text states, else the command stops with a usage
error (exit 2) before it reads or changes anything.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from opsctl.aws import AwsClients
from opsctl.model import Via
from opsctl.read.concurrent_reads import read_deadline
from opsctl.topology import discover_topology, load_topology_file, load_topology_from_stack
from stack_topology import Role, Topology


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def number_option(*names: str, low: float, high: float, help: str) -> Any:
    """A typer.Option for a number in [low, high]; the range is shown in --help."""

    def check(value: float | None) -> float | None:
        if value is None:
            return value
        if not (math.isfinite(value) and low <= value <= high):
            raise typer.BadParameter(
                f"must be a number from {_number(low)} to {_number(high)}, not {value:g}"
            )
        return value

    return typer.Option(*names, callback=check, help=f"{help} [{_number(low)}-{_number(high)}]")


TOPOLOGY_ENV = "OPSCTL_TOPOLOGY"


TopologyOption = Annotated[
    Path | None,
    typer.Option(
        "--topology",
        help=(
            "Topology JSON: the stack's `topology` output or the whole `pulumi stack output "
            f"--json` document. Default: ${TOPOLOGY_ENV}, else discovery by tags."
        ),
        show_default=False,
    ),
]
StackOption = Annotated[
    str | None,
    typer.Option("--stack", help="Read the topology with `pulumi stack output --json`."),
]
AppOption = Annotated[
    str | None,
    typer.Option("--app", help="App tag to discover by, when several apps share the account."),
]
ProfileOption = Annotated[
    str | None,
    typer.Option("--profile", help="AWS profile (default: AWS_PROFILE or the standard chain)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]
ApproveOption = Annotated[
    bool, typer.Option("--approve", help="Apply the change (without it: show the plan, exit 3).")
]
ReasonOption = Annotated[
    str | None, typer.Option("--reason", help="Why (required with --approve; goes in the audit).")
]
ForceOption = Annotated[
    bool,
    typer.Option("--force", help="Override failing preflight checks (recorded in the audit)."),
]
TimeoutOption = Annotated[
    float,
    number_option(
        "--timeout",
        low=1,
        high=3600,
        help=(
            "Seconds to wait for the change to take effect: each weight step to reach INSYNC, "
            "or the name servers to answer by the lever (2-4 minutes on AWS)."
        ),
    ),
]
ViaOption = Annotated[
    Via,
    typer.Option(
        "--via",
        help=(
            "How to move traffic: `weights` (Route 53's control plane, us-east-1), `dataplane` "
            "(the lever: an alarm in the secondary Region fails the primary's record; DNS only), "
            "or `auto`: weights when the control plane answers, else the lever."
        ),
        case_sensitive=False,
    ),
]
# The probe reads only the shared hostname from a topology, and discovers none.
ProbeTopologyOption = Annotated[
    Path | None,
    typer.Option(
        "--topology", help=f"Topology JSON to read the hostname from (or ${TOPOLOGY_ENV})."
    ),
]
ReportDirOption = Annotated[
    Path | None,
    typer.Option(
        "--report-dir",
        help="Where the drill writes report.md, timeline.svg and events.jsonl "
        "(default: ./drills/<UTC time>-<scenario>/).",
        show_default=False,
    ),
]
RoleOption = Annotated[
    Role,
    typer.Option("--role", help="The Region, by role.", case_sensitive=False),
]


@dataclass(frozen=True)
class Target:
    """What to act on and as whom: the flags every AWS command shares."""

    topology_file: Path | None
    stack: str | None
    app_name: str | None
    profile: str | None

    def resolve(self) -> tuple[AwsClients, Topology]:
        """Clients for the profile, and the first topology source given (see docs/opsctl.md).

        With a topology at hand, the credentials are resolved through the secondary's Region,
        within the read deadline: the lever and the secondary's reads must work while the
        primary's Region (often us-east-1, Route 53's home) is down. Discovery reads Route 53,
        in us-east-1, anyway."""
        topology = self._given_topology()
        if topology is None:
            clients = AwsClients.from_profile(self.profile)
            return clients, discover_topology(clients.route53(), self.app_name)
        clients = AwsClients.from_profile(self.profile, topology.secondary.region)
        clients.resolve_credentials(read_deadline())
        return clients, topology

    def _given_topology(self) -> Topology | None:
        if self.topology_file is not None:
            return load_topology_file(self.topology_file)
        if self.stack is not None:
            return load_topology_from_stack(self.stack)
        from_env = topology_file_from_env()
        return load_topology_file(from_env) if from_env is not None else None


def topology_file_from_env() -> Path | None:
    from_env = os.environ.get(TOPOLOGY_ENV)
    return Path(from_env) if from_env else None


def examples(*lines: str) -> str:
    """A command's --help epilog: one example per line."""
    return "Examples:\n\n" + "\n\n".join(f"  {line}" for line in lines)
