"""Route 53's ChangeResourceRecordSets and GetChange, faithful where moto is not.

moto's own ChangeResourceRecordSets is not faithful enough for failover and fallback: a DELETE
with the wrong Weight is accepted, a DELETE by SetIdentifier removes every record with that id,
weights over 255 pass, and a CREATE that repeats an earlier one in the zone's journal is refused.
Failover is a compare-and-swap on exactly these semantics, so `FaithfulRoute53` answers that call
as Route 53 does: the whole batch is validated in order against the current records (CREATE
fails if the name/type/set identifier exists, DELETE must equal the current record exactly,
UPSERT replaces, weights 0-255) and then applied atomically, or not at all with a real
`InvalidChangeBatch` error.

It also gives every change its own id and, when asked, keeps it PENDING for a propagation delay
before GetChange reports INSYNC, as Route 53 does, so waiting for INSYNC can be rehearsed.
`moto_patches` routes moto's handlers here.
"""

from __future__ import annotations

import copy
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.route53.models import FakeZone, RecordSet, Route53Backend
from moto.route53.responses import Route53 as Route53Response
from moto.route53.utils import validate_domain_name

MAX_WEIGHT = 255
_ACTIONS = ("CREATE", "DELETE", "UPSERT")
# The attributes Route 53 compares when a DELETE must match the current record exactly.
_RECORD_FIELDS = (
    "Name",
    "Type",
    "SetIdentifier",
    "Weight",
    "Region",
    "Failover",
    "GeoLocation",
    "MultiValueAnswer",
    "HealthCheckId",
    "TTL",
    "ResourceRecords",
    "AliasTarget",
)


class InvalidChangeBatch(ServiceException):
    """Route 53's error for a batch that does not apply; nothing in the batch is applied."""

    code = "InvalidChangeBatch"

    def __init__(self, messages: list[str]) -> None:
        super().__init__("[" + ", ".join(messages) + "]")


class InvalidInput(ServiceException):
    code = "InvalidInput"


class NoSuchChange(ServiceException):
    code = "NoSuchChange"


def fqdn(name: str) -> str:
    name = name.lower()
    return name if name.endswith(".") else name + "."


def canonical_record(record: dict[str, Any]) -> dict[str, Any]:
    """A record set as Route 53 compares it: names lower-case with a trailing dot, values plain."""
    canonical: dict[str, Any] = {}
    for key in _RECORD_FIELDS:
        value = record.get(key)
        if value in (None, [], {}):
            continue
        if key == "Name":
            value = fqdn(value)
        elif key in ("Weight", "TTL"):
            value = int(value)
        elif key == "ResourceRecords":
            value = sorted(item["Value"] if isinstance(item, dict) else item for item in value)
        elif key == "AliasTarget":
            value = {
                "HostedZoneId": value["HostedZoneId"],
                "DNSName": fqdn(value["DNSName"]),
                "EvaluateTargetHealth": str(value.get("EvaluateTargetHealth")).lower() == "true",
            }
        canonical[key] = value
    return canonical


def stored_record(record_set: RecordSet) -> dict[str, Any]:
    return canonical_record(
        {
            "Name": record_set.name,
            "Type": record_set.type,
            "SetIdentifier": record_set.set_identifier,
            "Weight": record_set.weight,
            "Region": record_set.region,
            "Failover": record_set.failover,
            "GeoLocation": record_set.geo_location,
            "MultiValueAnswer": record_set.multi_value_answer,
            "HealthCheckId": record_set.health_check_id,
            "TTL": record_set.ttl,
            "ResourceRecords": record_set.records,
            "AliasTarget": record_set.alias_target,
        }
    )


def _record_key(record: dict[str, Any]) -> tuple[str, str, str | None]:
    return (record["Name"], record["Type"], record.get("SetIdentifier"))


def _describe(record: dict[str, Any]) -> str:
    return (
        f"[name='{record['Name']}', type='{record['Type']}', "
        f"set-identifier='{record.get('SetIdentifier')}']"
    )


def _validate_record(record: dict[str, Any], zone: FakeZone) -> None:
    validate_domain_name(record["Name"], code="InvalidChangeBatch")
    if not (record["Name"] == zone.name or record["Name"].endswith("." + zone.name)):
        raise InvalidChangeBatch(
            [f"RRSet with DNS name {record['Name']} is not permitted in zone {zone.name}"]
        )
    weight = record.get("Weight")
    if weight is not None and not 0 <= weight <= MAX_WEIGHT:
        raise InvalidInput(
            f"1 validation error detected: Value '{weight}' at 'changeBatch.changes.1.member."
            f"resourceRecordSet.weight' failed to satisfy constraint: Member must have value "
            f"less than or equal to {MAX_WEIGHT}"
        )


def _moto_kwargs(record: dict[str, Any]) -> dict[str, Any]:
    """The keyword form moto's RecordSet stores (resource records as plain values)."""
    kwargs = dict(record)
    if "ResourceRecords" in kwargs:
        kwargs["ResourceRecords"] = list(kwargs["ResourceRecords"])
    return kwargs


@dataclass
class _Change:
    change_id: str
    submitted_at: Any
    insync_after: float
    comment: str | None

    def info(self) -> dict[str, Any]:
        status = "INSYNC" if time.monotonic() >= self.insync_after else "PENDING"
        info = {
            "Id": f"/change/{self.change_id}",
            "Status": status,
            "SubmittedAt": self.submitted_at,
        }
        if self.comment:
            info["Comment"] = self.comment
        return info


@dataclass
class FaithfulRoute53:
    """Route 53's batch semantics over moto's zone storage; one instance per emulator process."""

    propagation_seconds: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _changes: dict[str, _Change] = field(default_factory=dict)

    def apply(
        self,
        backend: Route53Backend,
        zone_id: str,
        changes: list[dict[str, Any]],
        comment: str | None,
    ) -> _Change:
        zone = backend.get_hosted_zone(zone_id)
        with self._lock:
            current = [(stored_record(rs), rs) for rs in zone.rrsets]
            proposed: dict[tuple[str, str, str | None], tuple[dict[str, Any], RecordSet | None]] = {
                _record_key(record): (record, rs) for record, rs in current
            }
            errors: list[str] = []
            for change in changes:
                action = change.get("Action")
                if action not in _ACTIONS:
                    raise InvalidInput(f"Invalid Action: {action}")
                record = canonical_record(change["ResourceRecordSet"])
                _validate_record(record, zone)
                key = _record_key(record)
                existing = proposed.get(key)
                if action == "CREATE":
                    if existing is not None:
                        errors.append(
                            f"Tried to create resource record set {_describe(record)} "
                            "but it already exists"
                        )
                        continue
                    proposed[key] = (record, None)
                elif action == "UPSERT":
                    proposed[key] = (record, None)
                elif existing is None:
                    errors.append(
                        f"Tried to delete resource record set {_describe(record)} "
                        "but it was not found"
                    )
                elif existing[0] != record:
                    errors.append(
                        f"Tried to delete resource record set {_describe(record)} "
                        "but the values provided do not match the current values"
                    )
                else:
                    del proposed[key]
            if errors:
                raise InvalidChangeBatch(errors)
            # Untouched records keep their moto objects; new ones are built from the request.
            zone.rrsets = []
            for record, stored in proposed.values():
                if stored is None:
                    zone.add_rrset(_moto_kwargs(record))
                else:
                    zone.rrsets.append(stored)
            for change in changes:
                zone.rr_changes.append(copy.deepcopy(change))
            recorded = _Change(
                change_id="C" + secrets.token_hex(10).upper(),
                submitted_at=utcnow(),
                insync_after=time.monotonic() + self.propagation_seconds,
                comment=comment,
            )
            self._changes[recorded.change_id] = recorded
            return recorded

    def get(self, change_id: str) -> _Change | None:
        return self._changes.get(change_id.rsplit("/", 1)[-1])

    def change_resource_record_sets(self, response: Route53Response) -> ActionResult:
        """ChangeResourceRecordSets with Route 53's batch semantics (see the module)."""
        change = self.apply(
            response.backend,
            response._get_param("HostedZoneId"),
            response._get_param("ChangeBatch.Changes") or [],
            response._get_param("ChangeBatch.Comment"),
        )
        return ActionResult({"ChangeInfo": change.info()})

    def get_change(self, response: Route53Response) -> ActionResult:
        """GetChange: PENDING until the change's propagation delay has passed, then INSYNC."""
        change_id = response._get_param("Id")
        change = self.get(change_id)
        if change is None:
            raise NoSuchChange(f"Could not find resource with ID: {change_id}")
        return ActionResult({"ChangeInfo": change.info()})
