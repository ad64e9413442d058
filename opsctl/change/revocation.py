"""`opsctl revoke` and `opsctl revocations`: revoke one token by its `jti` in the global table,
audited like every change, and list what is revoked.

A revoked token is the item `pk = "revoked"`, `sk = <jti>`, `expiresAt = <the token's exp>`
(docs/contracts.md); every authorizer reloads that partition at most every 60 s. The item is
written in one Region's replica (the primary's by default; `--role secondary` while it is down)
and the global table carries it to the other. The write is conditional on the item read for the
plan (absent, or its `expiresAt` as read), so a concurrent revoke of the same token is a conflict
(exit 5), never a silent overwrite.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from opsctl.aws import AwsClients, translate_aws_errors
from opsctl.change.audit import AuditLog, AuditWriteError, current_actor
from opsctl.change.audit_record import AuditRecord
from opsctl.errors import AwsError, ConflictError, InputError, OpsctlError
from opsctl.model import Approval, ChangeAction
from stack_topology import REVOKED_PARTITION, Topology

# DynamoDB's limit on a sort key value, in UTF-8 bytes.
MAX_JTI_BYTES = 1024
# A token lives minutes or hours; a revocation past a year is a typo (milliseconds, say).
MAX_REVOCATION_SECONDS = 366 * 86_400


@dataclass(frozen=True)
class Revocation:
    """One revoked token as the table holds it."""

    jti: str
    expires_at: int  # epoch seconds: the token's exp; DynamoDB's TTL deletes the item after it
    reason: str | None = None
    revoked_by: str | None = None
    revoked_at: str | None = None

    @property
    def until(self) -> str:
        return iso(self.expires_at)

    def expired(self, now: float) -> bool:
        return self.expires_at <= now

    def to_json(self) -> dict[str, Any]:
        return {
            "jti": self.jti,
            "expiresAt": self.expires_at,
            "until": self.until,
            "reason": self.reason,
            "revokedBy": self.revoked_by,
            "revokedAt": self.revoked_at,
        }


@dataclass(frozen=True)
class RevokePlan:
    jti: str
    expires_at: int
    role: str
    region: str
    table: str
    current: Revocation | None  # the item as read for the plan

    @property
    def noop(self) -> bool:
        """Already revoked at least as long."""
        return self.current is not None and self.current.expires_at >= self.expires_at

    def to_json(self) -> dict[str, Any]:
        return {
            "jti": self.jti,
            "expiresAt": self.expires_at,
            "until": iso(self.expires_at),
            "role": self.role,
            "region": self.region,
            "table": self.table,
            "current": None if self.current is None else self.current.to_json(),
            "noop": self.noop,
        }


@dataclass(frozen=True)
class RevokeResult:
    plan: RevokePlan
    change_id: str

    @property
    def summary(self) -> str:
        """What was applied, in one line."""
        plan = self.plan
        return (
            f"token {plan.jti} revoked until {iso(plan.expires_at)} in {plan.table} "
            f"({plan.region}, {self.change_id})"
        )

    def to_json(self) -> dict[str, Any]:
        return {**self.plan.to_json(), "changeId": self.change_id}


@dataclass(frozen=True)
class RevocationList:
    role: str
    region: str
    table: str
    revocations: tuple[Revocation, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "region": self.region,
            "table": self.table,
            "revocations": [revocation.to_json() for revocation in self.revocations],
        }


def iso(epoch_seconds: float) -> str:
    return datetime.fromtimestamp(epoch_seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_until(value: str, now: float | None = None) -> int:
    """The token's `exp`: epoch seconds or an ISO 8601 time with its offset (`Z` for UTC). It
    must be in the future (an expired token needs no revocation) and within a year."""
    now = time.time() if now is None else now
    text = value.strip()
    if text.isdigit():
        expires_at = int(text)
    else:
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise InputError(
                f"--until {value!r} is neither epoch seconds nor an ISO 8601 time "
                "(e.g. 1767225600 or 2026-01-01T00:00:00Z)"
            ) from None
        if parsed.tzinfo is None:
            raise InputError(f"--until {value!r} has no UTC offset (add Z or +00:00)")
        expires_at = int(parsed.timestamp())
    if expires_at - now > MAX_REVOCATION_SECONDS:
        raise InputError(
            f"--until {value} is more than a year ahead; give the token's exp in seconds, "
            "not milliseconds"
        )
    if expires_at <= now:
        raise InputError(f"--until {iso(expires_at)} is past: that token has already expired")
    return expires_at


def check_jti(jti: str) -> str:
    if not jti or not jti.strip():
        raise InputError("the token id (jti) is empty")
    if not jti.isprintable():
        raise InputError("the token id (jti) holds control characters")
    if len(jti.encode()) > MAX_JTI_BYTES:
        raise InputError(f"the token id (jti) is longer than {MAX_JTI_BYTES} bytes")
    return jti


def _key(jti: str) -> dict[str, Any]:
    return {"pk": {"S": REVOKED_PARTITION}, "sk": {"S": jti}}


def _from_item(item: dict[str, Any]) -> Revocation:
    def string(name: str) -> str | None:
        return item.get(name, {}).get("S")

    expires_at = item.get("expiresAt", {}).get("N")
    return Revocation(
        jti=item["sk"]["S"],
        expires_at=int(float(expires_at)) if expires_at is not None else 0,
        reason=string("reason"),
        revoked_by=string("revokedBy"),
        revoked_at=string("revokedAt"),
    )


def _read(dynamodb: Any, table: str, jti: str, region: str) -> Revocation | None:
    with translate_aws_errors(f"reading the revocation of {jti} from {table} in {region}"):
        item = dynamodb.get_item(TableName=table, Key=_key(jti), ConsistentRead=True).get("Item")
    return None if item is None else _from_item(item)


def plan_revoke(
    clients: AwsClients, topology: Topology, jti: str, expires_at: int, role: str
) -> RevokePlan:
    region = topology.role(role).region
    table = topology.names.table_name
    current = _read(clients.client("dynamodb", region), table, check_jti(jti), region)
    return RevokePlan(
        jti=jti, expires_at=expires_at, role=role, region=region, table=table, current=current
    )


def apply_revoke(
    clients: AwsClients,
    topology: Topology,
    plan: RevokePlan,
    approval: Approval,
    audit_log: AuditLog,
) -> RevokeResult:
    """Write the revocation, conditional on the item as planned (absent, or its expiresAt)."""
    audit_log.ensure_writable()  # an unauditable change is not made at all
    actor = current_actor(clients, plan.region)
    before = None if plan.current is None else plan.current.expires_at
    intent = AuditRecord.intent(
        action=ChangeAction.REVOKE,
        app=topology.app,
        actor=actor,
        reason=approval.reason,
        before={plan.jti: before},
        after={plan.jti: plan.expires_at},
        read=[
            {
                "table": plan.table,
                "region": plan.region,
                "jti": plan.jti,
                "expiresAt": before,
            }
        ],
    )
    try:
        audit_log.append(intent)
    except AuditWriteError as error:
        raise AuditWriteError(f"{error.message}; nothing changed") from None
    item = {
        **_key(plan.jti),
        "expiresAt": {"N": str(plan.expires_at)},
        "reason": {"S": approval.reason},
        "revokedBy": {"S": f"{actor.arn} ({actor.local_user})"},
        "revokedAt": {"S": intent.time},
    }
    if plan.current is None:
        condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(pk)"}
    else:
        condition = {
            "ConditionExpression": "expiresAt = :read",
            "ExpressionAttributeValues": {":read": {"N": str(plan.current.expires_at)}},
        }
    change_id = f"dynamodb:{plan.region}:{plan.table}:{REVOKED_PARTITION}/{plan.jti}"
    # No SDK retries: a resent conditional put whose first answer was lost fails its condition
    # on our own write and would read as someone else's.
    writer = clients.client("dynamodb", plan.region, sdk_retries=False)
    conflict: ConflictError | None = None
    try:
        with translate_aws_errors(f"writing the revocation to {plan.table} in {plan.region}"):
            try:
                writer.put_item(TableName=plan.table, Item=item, **condition)
            except writer.exceptions.ConditionalCheckFailedException:
                conflict = ConflictError(
                    f"the revocation of {plan.jti} in {plan.table} ({plan.region}) changed "
                    "since the plan; nothing changed. Run `opsctl revocations` and decide again"
                )
    except AwsError as failure:
        audit_log.record_outcome(
            intent.outcome(applied=_written(clients, plan), detail=failure.message), failure
        )
        raise
    if conflict is not None:
        audit_log.record_outcome(intent.outcome(applied=False, detail=conflict.message), conflict)
        raise conflict
    audit_log.record_outcome(intent.outcome(applied=True, change_id=change_id))
    return RevokeResult(plan, change_id)


def _written(clients: AwsClients, plan: RevokePlan) -> bool | None:
    """After a write that got no clear answer: whether the item now holds ours (None: unknown)."""
    try:
        now = _read(clients.client("dynamodb", plan.region), plan.table, plan.jti, plan.region)
    except OpsctlError:
        return None
    return now is not None and now.expires_at == plan.expires_at


def list_revocations(clients: AwsClients, topology: Topology, role: str) -> RevocationList:
    """Every item of the revoked partition in that Region's replica, soonest expiry first."""
    region = topology.role(role).region
    table = topology.names.table_name
    dynamodb = clients.client("dynamodb", region)
    revocations: list[Revocation] = []
    with translate_aws_errors(f"reading the revocations from {table} in {region}"):
        pages = dynamodb.get_paginator("query").paginate(
            TableName=table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": REVOKED_PARTITION}},
        )
        for page in pages:
            revocations.extend(_from_item(item) for item in page["Items"])
    revocations.sort(key=lambda revocation: (revocation.expires_at, revocation.jti))
    return RevocationList(role, region, table, tuple(revocations))
