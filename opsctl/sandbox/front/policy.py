"""IAM policy evaluation as API Gateway applies an authorizer's policy to a method ARN."""

from __future__ import annotations

import fnmatch
from typing import Any


def arn_matches(pattern: str, arn: str) -> bool:
    """IAM-style wildcard match of a policy Resource against a method ARN."""
    return fnmatch.fnmatchcase(arn, pattern)


def evaluate_policy(policy: dict[str, Any], method_arn: str) -> bool | None:
    """True when allowed, False on explicit Deny, None when no statement allows (implicit deny)."""
    allowed: bool | None = None
    for statement in policy.get("Statement", []):
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        if not any(fnmatch.fnmatchcase("execute-api:Invoke", action) for action in actions):
            continue
        resources = statement.get("Resource", [])
        resources = [resources] if isinstance(resources, str) else resources
        if not any(arn_matches(resource, method_arn) for resource in resources):
            continue
        if statement.get("Effect") == "Deny":
            return False
        if statement.get("Effect") == "Allow":
            allowed = True
    return allowed
