"""The deploy policy of one stack: the grants of what a run of its program declares and calls,
expanded to its app, domain and Regions; and the command that prints it."""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path
from typing import Any

from infra.deploy_policy import compute, dns, fault_injection, iam, lookups, monitoring, storage
from infra.deploy_policy.grant import Grant
from infra.mockrun import ProgramRun, run_program
from infra.settings.errors import ConfigError

# In the order the document lists them.
GRANTS: tuple[Grant, ...] = (
    *lookups.GRANTS,
    *dns.GRANTS,
    *compute.GRANTS,
    *monitoring.GRANTS,
    *storage.GRANTS,
    *iam.GRANTS,
    *fault_injection.GRANTS,
)


def covered_types(run: ProgramRun) -> set[str]:
    """What a run needs grants for: its cloud resources' types and its provider calls."""
    needed = {resource.type for resource in run.cloud_resources}
    needed |= {call.token for call in run.calls}
    needed.discard("aws:index/getCallerIdentity:getCallerIdentity")  # STS needs no permission
    # A public document (ip-ranges.json) the provider downloads: no AWS API call, no permission.
    needed.discard("aws:index/getIpRanges:getIpRanges")
    return needed


def _expand(pattern: str, app: str, domain: str, regions: list[str]) -> list[str]:
    named = pattern.replace("{app}", app).replace("{domain}", domain)
    if "{region}" not in named:
        return [named]
    return [named.replace("{region}", region) for region in regions]


def _expand_condition(value: Any, app: str, domain: str) -> Any:
    if isinstance(value, dict):
        return {key: _expand_condition(item, app, domain) for key, item in value.items()}
    if isinstance(value, list):
        return [_expand_condition(item, app, domain) for item in value]
    if isinstance(value, str):
        return value.replace("{app}", app).replace("{domain}", domain)
    return value


def deploy_policy(run: ProgramRun) -> dict[str, Any]:
    """The policy document for the stack `run` ran: the grants of what it declares and calls."""
    topology = run.outputs["topology"]
    app = topology["app"]
    domain = topology["records"][0]["name"].rstrip(".")
    regions = [topology["regions"][role]["region"] for role in ("primary", "secondary")]
    needed = covered_types(run)
    statements = []
    for grant in GRANTS:
        if not needed.intersection(grant.covers):
            continue
        statement: dict[str, Any] = {
            "Sid": grant.sid,
            "Effect": "Allow",
            "Action": sorted(grant.actions),
            "Resource": [
                arn for pattern in grant.resources for arn in _expand(pattern, app, domain, regions)
            ],
        }
        if grant.condition:
            statement["Condition"] = _expand_condition(grant.condition, app, domain)
        statements.append(statement)
    return {"Version": "2012-10-17", "Statement": statements}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m infra.deploy_policy Pulumi.<stack>.yaml", file=sys.stderr)
        return 2
    stack_file = Path(args[0])
    if not stack_file.is_file():
        print(f"error: no such stack file: {stack_file}", file=sys.stderr)
        return 2
    warnings.simplefilter("ignore", DeprecationWarning)  # pulumi_aws.lambda_ warns on import
    try:
        run = run_program(stack_file)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(json.dumps(deploy_policy(run), indent=2))
    return 0
