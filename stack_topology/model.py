"""The topology document's parts, the two roles, and the names derived from the app."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypeVar

from stack_topology.jsonvalue import json_field

# Route 53's health-check metrics (and so their alarms) exist only in us-east-1.
ALARM_REGION = "us-east-1"
DNS_PORT = 53
HTTPS_PORT = 443
TOPOLOGY_VERSION = 1
# The global table's partition of revoked token ids (`sk` = the jti, `expiresAt` = its exp):
# opsctl writes it, the authorizers read it (docs/contracts.md).
REVOKED_PARTITION = "revoked"

T = TypeVar("T")


class Role(StrEnum):
    """A Region's part in the pair: the primary serves, the secondary stands by."""

    PRIMARY = "primary"
    SECONDARY = "secondary"

    def pick(self, primary: T, secondary: T) -> T:
        """This role's one of a pair given as (the primary's, the secondary's)."""
        return primary if self is Role.PRIMARY else secondary

    @property
    def other(self) -> Role:
        return self.pick(Role.SECONDARY, Role.PRIMARY)


ROLES: tuple[Role, Role] = (Role.PRIMARY, Role.SECONDARY)


class FailureSwitch(StrEnum):
    """The values of a Region's failure switch (`AppNames.failure_switch_parameter`): the
    program creates it healthy, `opsctl switch` flips it, the health function reads it. The
    Lambda package carries this package, so the functions read the same words."""

    HEALTHY = "healthy"
    FAILING = "failing"  # the health function answers 500: a simulated outage


def per_role(make: Callable[[Role], T]) -> tuple[T, T]:
    """A pair made role by role: (the primary's, the secondary's)."""
    return make(Role.PRIMARY), make(Role.SECONDARY)


@dataclass(frozen=True)
class AppNames:
    """The names derived from the app (`<project>-<stack>`) that the program creates and opsctl
    finds, spelled once (docs/contracts.md, "Names")."""

    app: str

    @property
    def table_name(self) -> str:
        return f"{self.app}-state"

    @property
    def failure_switch_parameter(self) -> str:
        return f"/{self.app}/health/failure-switch"

    @property
    def drill_marker_parameter(self) -> str:
        """The SSM parameter (secondary Region) an `opsctl drill` holds while it runs."""
        return f"/{self.app}/opsctl/drill-running"

    def health_alarm_name(self, role: Role) -> str:
        return f"{self.app}-{role}-health"

    def impaired_alarm_name(self, role: Role) -> str:
        return f"{self.app}-{role}-impaired"

    @property
    def out_of_service_alarm_name(self) -> str:
        """The data-plane lever's alarm, in the secondary Region."""
        return f"{self.app}-{Role.PRIMARY}-out-of-service"

    def unreachable_alarm_name(self, role: Role) -> str:
        """The alarm on `role`'s Region as the other Region's watcher sees it (in that other
        Region)."""
        return f"{self.app}-{role}-unreachable"


@dataclass(frozen=True)
class RecordRef:
    """One record name/type that carries the weighted pair (alias A, maybe AAAA too)."""

    name: str
    type: str


@dataclass(frozen=True)
class Watch:
    """Who watches a Region from outside it: the other Region, where the watcher's alarm on
    this one (`<app>-<role>-unreachable`) is, so a page needs nothing of the watched Region."""

    region: str
    alarm_name: str


@dataclass(frozen=True, kw_only=True)
class RegionTopology:
    role: Role
    region: str
    set_identifier: str
    health_check_id: str
    alarm_name: str
    api_url: str = ""
    health_url: str = ""
    failure_switch: str
    # The Region's composite "Region impaired" alarm (in that Region); None when not deployed.
    impaired_alarm_name: str | None = field(default=None, metadata=json_field(omit_empty=True))
    # The Regional domain name the weighted record's alias points at (lower case, no trailing
    # dot); None in topologies written before it was part of the output.
    alias_target: str | None = field(default=None, metadata=json_field(omit_empty=True))
    # The other Region's watch on this one; None when not deployed (or written before it).
    watch: Watch | None = field(default=None, metadata=json_field(omit_empty=True))


@dataclass(frozen=True)
class HealthCheckTiming:
    """How often the Regions' endpoint health checks probe, and after how many failures in a row
    Route 53 calls an endpoint unhealthy: how long a health signal takes to show a change."""

    request_interval: int  # seconds: 10 or 30
    failure_threshold: int  # 1-10

    @property
    def seconds_to_notice(self) -> int:
        return self.request_interval * self.failure_threshold


@dataclass(frozen=True)
class OutOfService:
    """The data-plane lever: a metric in the secondary Region whose alarm fails the primary's
    record health check, so DNS answers the secondary without a Route 53 control-plane call."""

    region: str
    namespace: str
    metric_name: str
    dimensions: dict[str, str] = field(hash=False)
    alarm_name: str
    # The CLOUDWATCH_METRIC health check on the alarm; None when the output does not name it.
    health_check_id: str | None = field(default=None, metadata=json_field(omit_empty=True))


@dataclass(frozen=True)
class NameServer:
    """One of the hosted zone's authoritative servers (the sandbox serves on a loopback port)."""

    host: str
    port: int = DNS_PORT

    def __str__(self) -> str:
        if self.port == DNS_PORT:
            return self.host
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def _name_server_strings(servers: tuple[NameServer, ...]) -> list[str]:
    return [str(server) for server in servers]


@dataclass(frozen=True)
class Topology:
    """The whole document; `stack_topology.document` reads and writes its JSON form."""

    version: int = field(default=TOPOLOGY_VERSION, init=False)
    app: str
    hosted_zone_id: str
    records: tuple[RecordRef, ...]
    alarm_region: str
    # The primary's and the secondary's, in that order; in JSON an object keyed by role.
    regions: tuple[RegionTopology, RegionTopology] = field(metadata=json_field(keyed_by="role"))
    # The lever and the zone's name servers; None / () in topologies written before them.
    out_of_service: OutOfService | None = field(default=None, metadata=json_field(omit_empty=True))
    name_servers: tuple[NameServer, ...] = field(
        default=(), metadata=json_field(omit_empty=True, encode=_name_server_strings)
    )
    dashboard_url: str | None = field(default=None, metadata=json_field(omit_empty=True))
    # The endpoint health checks' timing; None in topologies written before it was exported.
    health_check: HealthCheckTiming | None = field(
        default=None, metadata=json_field(omit_empty=True)
    )
    # The port the shared name's HTTPS fronts answer on; None (absent) is HTTPS's own, 443.
    https_port: int | None = field(default=None, metadata=json_field(omit_empty=True))

    def __post_init__(self) -> None:
        if tuple(region.role for region in self.regions) != ROLES:
            raise ValueError("a topology's regions are the primary's and the secondary's")

    @property
    def primary(self) -> RegionTopology:
        return self.regions[0]

    @property
    def secondary(self) -> RegionTopology:
        return self.regions[1]

    @property
    def front_port(self) -> int:
        """Where an address the shared name answers with is asked over HTTPS."""
        return self.https_port or HTTPS_PORT

    @property
    def record_name(self) -> str:
        return self.records[0].name

    @property
    def names(self) -> AppNames:
        return AppNames(self.app)

    def role(self, role: Role | str) -> RegionTopology:
        return self.regions[ROLES.index(Role(role))]

    def other(self, role: Role | str) -> RegionTopology:
        return self.role(Role(role).other)

    def role_of_set_identifier(self, set_identifier: str) -> Role | None:
        for region in self.regions:
            if region.set_identifier == set_identifier:
                return region.role
        return None
