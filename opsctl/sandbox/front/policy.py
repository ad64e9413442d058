"""IAM policy evaluation as API Gateway applies a policy to a method ARN: an authorizer's policy,
and the REST API's resource policy against the caller's source address."""

from __future__ import annotations

import fnmatch
import ipaddress
from typing import Any

SOURCE_IP = "aws:SourceIp"


def arn_matches(pattern: str, arn: str) -> bool:
    """IAM-style wildcard match of a policy Resource against a method ARN."""
    return fnmatch.fnmatchcase(arn, pattern)


def _listed(value: Any) -> list[Any]:
    return [value] if isinstance(value, str) else list(value)


def _in_ranges(source_ip: str | None, ranges: Any) -> bool:
    if source_ip is None:
        return False
    address = ipaddress.ip_address(source_ip)
    return any(address in ipaddress.ip_network(cidr, strict=False) for cidr in _listed(ranges))


class UnsupportedCondition(ValueError):
    """A policy condition the sandbox cannot judge: refused loudly, since skipping a Deny it
    cannot judge would let through what API Gateway refuses."""


def _conditions_hold(conditions: dict[str, Any], source_ip: str | None) -> bool:
    """The `IpAddress` / `NotIpAddress` conditions on `aws:SourceIp` (all a resource policy of
    this program uses); any other condition raises UnsupportedCondition."""
    for operator, tests in conditions.items():
        for key, ranges in tests.items():
            if key != SOURCE_IP or operator not in ("IpAddress", "NotIpAddress"):
                raise UnsupportedCondition(f"the sandbox cannot judge {operator} on {key}")
            if _in_ranges(source_ip, ranges) != (operator == "IpAddress"):
                return False
    return True


def evaluate_policy(
    policy: dict[str, Any], method_arn: str, source_ip: str | None = None
) -> bool | None:
    """True when allowed, False on explicit Deny, None when no statement allows (implicit deny).
    `source_ip` is the caller's address, for statements with conditions on it."""
    allowed: bool | None = None
    for statement in policy.get("Statement", []):
        actions = _listed(statement.get("Action", []))
        if not any(fnmatch.fnmatchcase("execute-api:Invoke", action) for action in actions):
            continue
        resources = _listed(statement.get("Resource", []))
        if not any(arn_matches(resource, method_arn) for resource in resources):
            continue
        if not _conditions_hold(statement.get("Condition") or {}, source_ip):
            continue
        if statement.get("Effect") == "Deny":
            return False
        if statement.get("Effect") == "Allow":
            allowed = True
    return allowed
