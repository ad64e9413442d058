"""Route 53's data plane inside the emulator: health-check status as Route 53 computes it, what
its checkers last observed, and the records a DNS answer is chosen from, read in-process."""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass, field
from typing import Any

from moto.cloudwatch.models import cloudwatch_backends
from moto.core import DEFAULT_ACCOUNT_ID
from moto.route53.models import HealthCheck, Route53Backend, route53_backends

from opsctl.sandbox.route53changes import fqdn, stored_record


@dataclass
class HealthCheckObservations:
    """What each Route 53 checker last saw, per health check, for GetHealthCheckStatus.

    moto always answers one healthy checker. The sandbox's own checkers (opsctl.sandbox.
    healthcheck) record their latest observations here, so GetHealthCheckStatus reports what
    they saw, as Route 53 does (`motopatches`); a health check nobody probes keeps moto's answer.
    """

    _lock: threading.Lock = field(default_factory=threading.Lock)
    _latest: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def record(self, health_check_id: str, observations: list[dict[str, Any]]) -> None:
        """`observations`: GetHealthCheckStatus HealthCheckObservations entries."""
        with self._lock:
            self._latest[health_check_id] = copy.deepcopy(observations)

    def observations(self, health_check_id: str) -> list[dict[str, Any]] | None:
        """What the checkers last saw of the check; None when nobody probes it."""
        with self._lock:
            return self._latest.get(health_check_id)


# InsufficientDataHealthStatus: what a CLOUDWATCH_METRIC check reports while its alarm has no data.
_INSUFFICIENT_DATA_STATUS = {"Healthy": True, "Unhealthy": False}


@dataclass
class Route53DataPlane:
    """Route 53's data plane inside the emulator: every health check's status and the records a
    DNS answer is chosen from, read from moto's backend in-process — never through the API,
    which an outage of us-east-1 takes away (Route 53's control plane lives there; its data
    plane does not).

    moto drops a CLOUDWATCH_METRIC check's AlarmIdentifier and InsufficientDataHealthStatus;
    `keep` puts them on moto's own health-check objects and `shown_config` shows them in the
    API's answers (`motopatches` calls both).
    A check's status, as Route 53 computes it:
    - HTTP/HTTPS/TCP: the sandbox's checkers' verdict (`record_checkers`), healthy until they
      report;
    - CLOUDWATCH_METRIC: the named alarm's state in its Region (OK healthy, ALARM unhealthy;
      INSUFFICIENT_DATA as InsufficientDataHealthStatus says: Healthy, Unhealthy or
      LastKnownStatus, healthy when there is none);
    - CALCULATED: healthy while at least HealthThreshold of its children are;
    then Inverted flips it and a Disabled check is healthy.
    """

    account_id: str = DEFAULT_ACCOUNT_ID
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _checkers: dict[str, bool] = field(default_factory=dict)

    def record_checkers(self, health_check_id: str, healthy: bool) -> None:
        with self._lock:
            self._checkers[health_check_id] = healthy

    def _backend(self) -> Route53Backend:
        return route53_backends[self.account_id]["aws"]

    def healthy(self, health_check_id: str) -> bool:
        check = self._backend().health_checks.get(health_check_id)
        if check is None:  # deleted under the record: Route 53 answers as if it were healthy
            return True
        if check.disabled:
            return True
        if check.type_ == "CLOUDWATCH_METRIC":
            status = self._alarm_status(check)
        elif check.type_ == "CALCULATED":
            children = check.children or []
            status = sum(self.healthy(child) for child in children) >= int(
                check.health_threshold or 0
            )
        else:
            with self._lock:
                status = self._checkers.get(health_check_id, True)
        return status != bool(check.inverted)

    def _alarm_status(self, check: HealthCheck) -> bool:
        identifier = getattr(check, "alarm_identifier", None) or {}
        backend = cloudwatch_backends[self.account_id].get(identifier.get("Region", ""))
        alarm = backend.alarms.get(identifier.get("Name", "")) if backend is not None else None
        state = alarm.state_value if alarm is not None else "INSUFFICIENT_DATA"
        if state in ("OK", "ALARM"):
            return state == "OK"
        insufficient = getattr(check, "insufficient_data_health_status", None)
        if insufficient in _INSUFFICIENT_DATA_STATUS:
            return _INSUFFICIENT_DATA_STATUS[insufficient]
        # LastKnownStatus: the alarm's latest OK or ALARM (moto's history keeps each old state).
        earlier = [entry[3] for entry in (alarm.history if alarm is not None else [])]
        known = [old for old in earlier if old in ("OK", "ALARM")]
        return not known or known[-1] == "OK"

    def zone_name(self, hosted_zone_id: str) -> str:
        return str(self._backend().get_hosted_zone(hosted_zone_id).name)

    def records(self, hosted_zone_id: str, name: str, record_type: str) -> list[dict[str, Any]]:
        """The zone's record sets of that name and type, as ListResourceRecordSets shows them."""
        zone = self._backend().get_hosted_zone(hosted_zone_id)
        wanted = fqdn(name)
        return [
            stored_record(record_set)
            for record_set in list(zone.rrsets)
            if fqdn(record_set.name) == wanted and record_set.type == record_type
        ]

    @staticmethod
    def keep(check: HealthCheck, config: dict[str, Any]) -> None:
        """Keep on moto's health check what moto drops from a CLOUDWATCH_METRIC check's config."""
        if config.get("AlarmIdentifier"):
            check.alarm_identifier = dict(config["AlarmIdentifier"])  # type: ignore[attr-defined]
        if config.get("InsufficientDataHealthStatus"):
            check.insufficient_data_health_status = config["InsufficientDataHealthStatus"]  # type: ignore[attr-defined]

    @staticmethod
    def shown_config(check: HealthCheck, moto_config: dict[str, Any]) -> dict[str, Any]:
        """The HealthCheckConfig Get/ListHealthChecks show: Route 53 shows no endpoint settings
        (port, interval, ...) for a metric check, but its alarm and InsufficientDataHealthStatus."""
        if check.type_ != "CLOUDWATCH_METRIC":
            return moto_config
        shown = {key: moto_config[key] for key in ("Type", "Inverted", "Disabled")}
        shown["AlarmIdentifier"] = getattr(check, "alarm_identifier", None)
        shown["InsufficientDataHealthStatus"] = getattr(
            check, "insufficient_data_health_status", None
        )
        return shown
