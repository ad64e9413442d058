"""Print the resource plan of a stack under mocks:
`python -m infra.mockrun.preview Pulumi.primary.yaml`.

Shows every declared cloud resource (type, name, Region) and the `topology` output as JSON,
without the Pulumi CLI, AWS credentials or network.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

from rich.console import Console
from rich.table import Table

from infra.mockrun import ProgramRun, run_program
from infra.settings.errors import ConfigError


def plan_table(run: ProgramRun) -> Table:
    table = Table(title="Declared resources (mocked: no AWS calls)")
    table.add_column("type")
    table.add_column("name")
    table.add_column("Region")
    for resource in run.cloud_resources:
        table.add_row(resource.type, resource.name, resource.region or "-")
    return table


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    err = Console(stderr=True, soft_wrap=True)
    if len(args) != 1:
        err.print("usage: python -m infra.mockrun.preview Pulumi.<stack>.yaml")
        return 2
    stack_file = Path(args[0])
    if not stack_file.is_file():
        err.print(f"error: no such stack file: {stack_file}")
        return 2
    warnings.simplefilter("ignore", DeprecationWarning)  # pulumi_aws.lambda_ warns on import
    try:
        run = run_program(stack_file)
    except ConfigError as error:
        err.print(f"error: {error}")
        return 1
    # Piped output (make demo | less, CI logs) gets a wide page instead of 80 columns.
    out = Console(width=None if sys.stdout.isatty() else 160)
    out.print(plan_table(run))
    out.print(f"{len(run.cloud_resources)} resources")
    out.print("topology:")
    out.print_json(json.dumps(run.outputs["topology"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
