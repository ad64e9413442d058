"""Route 53's data plane inside the emulator: health-check status as Route 53 computes it, what
its checkers last observed, and the records a DNS answer is chosen from, read in-process."""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from moto.cloudwatch.models import cloudwatch_backends
from moto.core import DEFAULT_ACCOUNT_ID
from moto.route53.models import HealthCheck, Route53Backend, route53_backends

from opsctl.sandbox.cloudwatch.alarms import (
    MetricStore,
    dimension_map,
    evaluate_alarm,
    statistic_for,
)
from opsctl.sandbox.route53.changes import fqdn, stored_record


@dataclass
class HealthCheckObservations:
    """What each Route 53 checker last saw, per health check, for GetHealthCheckStatus.

    moto always answers one healthy checker. The sandbox's own checkers (route53/checkers.py)
    record their latest observations here, so GetHealthCheckStatus reports what
    they saw, as Route 53 does (`moto_patches`); a health check nobody probes keeps moto's answer.
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
# How far Route 53's evaluation of a CLOUDWATCH_METRIC check trails the metric's data stream
# (AWS seconds, scaled by the time scale): its own reading of the datapoints, about a minute
# behind what CloudWatch received.
METRIC_CHECK_LAG_SECONDS = 60.0
# The checker Regions GetHealthCheckStatus lists for a metric check (Route 53's own evaluation).
_METRIC_CHECK_REPORTERS = ("us-east-1", "us-west-1", "eu-west-1")


@dataclass
class Route53DataPlane:
    """Route 53's data plane inside the emulator: every health check's status and the records a
    DNS answer is chosen from, read from moto's backend in-process — never through the API,
    which an outage of us-east-1 takes away (Route 53's control plane lives there; its data
    plane does not).

    moto drops a CLOUDWATCH_METRIC check's AlarmIdentifier and InsufficientDataHealthStatus;
    `keep` puts them on moto's own health-check objects and `shown_config` shows them in the
    API's answers (`moto_patches` calls both).
    A check's status, as Route 53 computes it:
    - HTTP/HTTPS/TCP: the sandbox's checkers' verdict (`record_checkers`), healthy until they
      report;
    - CLOUDWATCH_METRIC: Route 53's own evaluation of the alarm's metric data stream with the
      alarm's settings (period, statistic, threshold, comparison, evaluation periods),
      `METRIC_CHECK_LAG_SECONDS` (scaled) behind the stream; the alarm's state (SetAlarmState
      included) and its TreatMissingData play no part. Without datapoints in the window,
      InsufficientDataHealthStatus decides: Healthy, Unhealthy or LastKnownStatus (the check's
      last evaluated status, healthy when there is none);
    - CALCULATED: healthy while at least HealthThreshold of its children are;
    then Inverted flips it and a Disabled check is healthy.
    """

    # The emulator's CloudWatch datapoints (None: no metric check ever has data).
    metrics: MetricStore | None = None
    time_scale: float = 1.0
    account_id: str = DEFAULT_ACCOUNT_ID
    # Epoch seconds now, as Route 53 evaluates a metric check (tests step it by hand).
    clock: Callable[[], float] = time.time
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _checkers: dict[str, bool] = field(default_factory=dict)
    _last_metric_status: dict[str, bool] = field(default_factory=dict)

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
            status = self._metric_status(health_check_id, check)
        elif check.type_ == "CALCULATED":
            children = check.children or []
            status = sum(self.healthy(child) for child in children) >= int(
                check.health_threshold or 0
            )
        else:
            with self._lock:
                status = self._checkers.get(health_check_id, True)
        return status != bool(check.inverted)

    def _metric_status(self, health_check_id: str, check: HealthCheck) -> bool:
        state = self._evaluated_state(check, self.clock())
        if state in ("OK", "ALARM"):
            with self._lock:
                self._last_metric_status[health_check_id] = state == "OK"
            return state == "OK"
        insufficient = getattr(check, "insufficient_data_health_status", None)
        if insufficient in _INSUFFICIENT_DATA_STATUS:
            return _INSUFFICIENT_DATA_STATUS[insufficient]
        with self._lock:  # LastKnownStatus
            return self._last_metric_status.get(health_check_id, True)

    def _evaluated_state(self, check: HealthCheck, now: float) -> str:
        """OK, ALARM or INSUFFICIENT_DATA: the alarm's settings applied to its metric's
        datapoints as they stood the lag ago, missing data treated as missing."""
        identifier = getattr(check, "alarm_identifier", None) or {}
        region = identifier.get("Region", "")
        backend = cloudwatch_backends[self.account_id].get(region)
        alarm = backend.alarms.get(identifier.get("Name", "")) if backend is not None else None
        if alarm is None or self.metrics is None:
            return "INSUFFICIENT_DATA"
        settings = {
            "Period": alarm.period,
            "EvaluationPeriods": alarm.evaluation_periods,
            "DatapointsToAlarm": alarm.datapoints_to_alarm,
            "Statistic": alarm.statistic,
            "ExtendedStatistic": alarm.extended_statistic,
            "ComparisonOperator": alarm.comparison_operator,
            "Threshold": alarm.threshold,
            "TreatMissingData": "missing",  # Route 53 ignores the alarm's TreatMissingData
        }
        if not alarm.metric_name or statistic_for(settings) is None:
            return "INSUFFICIENT_DATA"
        self.metrics.refresh()
        dimensions = dimension_map(alarm.dimensions or [])
        series = self.metrics.series(region, alarm.namespace, alarm.metric_name, dimensions)
        if series is None or not series.published:
            return "INSUFFICIENT_DATA"
        lag = METRIC_CHECK_LAG_SECONDS * self.time_scale
        evaluation = evaluate_alarm(settings, series, now - lag, self.time_scale)
        return evaluation.state if evaluation is not None else "INSUFFICIENT_DATA"

    def metric_check_observations(self, health_check_id: str) -> list[dict[str, Any]] | None:
        """GetHealthCheckStatus's answer for a CLOUDWATCH_METRIC check: Route 53's own evaluation
        of the metric, the same from every checker; None for any other check."""
        check = self._backend().health_checks.get(health_check_id)
        if check is None or check.type_ != "CLOUDWATCH_METRIC":
            return None
        status = (
            "Success: the alarm's metric is within its threshold"
            if self.healthy(health_check_id)
            else "Failure: the alarm's metric breaches its threshold"
        )
        checked = datetime.now(UTC)
        return [
            {
                "Region": region,
                "IPAddress": "127.0.0.1",
                "StatusReport": {"Status": status, "CheckedTime": checked},
            }
            for region in _METRIC_CHECK_REPORTERS
        ]

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
            vars(check)["alarm_identifier"] = dict(config["AlarmIdentifier"])
        if config.get("InsufficientDataHealthStatus"):
            vars(check)["insufficient_data_health_status"] = config["InsufficientDataHealthStatus"]

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
