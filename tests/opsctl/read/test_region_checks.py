"""A Region's own signals judged from a StatusReport, no AWS: each check's verdict from values
already read."""

from __future__ import annotations

from dataclasses import replace

import pytest

from opsctl.model import Weights
from opsctl.read.health_probe import HealthProbe
from opsctl.read.readiness_report import FAIL, PASS, WARN, Check
from opsctl.read.region_checks import region_checks
from opsctl.read.status_report import StatusReport
from stack_topology import RegionTopology
from tests.opsctl.samples import region_status

SECONDARY = RegionTopology(
    role="secondary",
    region="us-west-2",
    set_identifier="secondary",
    health_check_id="hc-2",
    alarm_name="myapp-health-us-west-2",
    failure_switch="/myapp/us-west-2/failure-switch",
    health_url="https://api-us-west-2.example.com/health",
    impaired_alarm_name="myapp-impaired-us-west-2",
)


def _secondary_checks(unreadable: tuple[str, ...] = (), **fields: object) -> dict[str, Check]:
    status = StatusReport(
        record_name="auth.example.com.",
        weights=Weights(100, 0),
        regions=(
            region_status("primary", "us-east-1"),
            region_status("secondary", "us-west-2", **fields),
        ),
        errors=(),
        unreadable=unreadable,
    )
    return {check.name: check for check in region_checks(status, SECONDARY)}


def test_a_region_whose_signals_are_all_good_passes_every_check() -> None:
    checks = _secondary_checks()
    assert [(c.name, c.result) for c in checks.values()] == [
        ("health-check", PASS),
        ("health-alarm", PASS),
        ("impaired-alarm", PASS),
        ("failure-switch", PASS),
    ]
    assert checks["health-check"].value == "healthy (16/16 checkers)"


@pytest.mark.parametrize(
    ("fields", "unreadable", "name", "expected"),
    [
        ({"healthy": False}, (), "health-check", (FAIL, "HealthCheckStatus is 0")),
        (
            {"healthy": None},
            (),
            "health-check",
            (FAIL, "no HealthCheckStatus datapoint in the last 10 minutes"),
        ),
        ({"alarm": "ALARM"}, (), "health-alarm", (FAIL, "")),
        (
            {"alarm": "INSUFFICIENT_DATA"},
            (),
            "health-alarm",
            (WARN, "the alarm has no verdict yet"),
        ),
        ({"alarm": None}, (), "health-alarm", (WARN, "the health-check alarm was not found")),
        (
            {"alarm": None},
            ("alarms",),
            "health-alarm",
            (WARN, "the alarms in us-east-1 could not be read"),
        ),
        (
            {"impaired_alarm": "ALARM"},
            (),
            "impaired-alarm",
            (FAIL, "the Region's own signals say it is impaired"),
        ),
        (
            {"failure_switch": "failing"},
            (),
            "failure-switch",
            (FAIL, "the Region is simulating an outage"),
        ),
        (
            {"failure_switch": None},
            (),
            "failure-switch",
            (FAIL, "the failure switch is missing or not healthy|failing"),
        ),
    ],
)
def test_each_signal_is_judged_on_its_own(
    fields: dict[str, object], unreadable: tuple[str, ...], name: str, expected: tuple[str, str]
) -> None:
    check = _secondary_checks(unreadable, **fields)[name]
    assert (check.result, check.detail) == expected
    others = [c.result for c in _secondary_checks(unreadable, **fields).values() if c.name != name]
    assert others == [PASS] * 3


def test_an_alarm_in_alarm_says_since_when() -> None:
    check = _secondary_checks(alarm="ALARM", alarm_since="2026-11-29T08:57:00Z")["health-alarm"]
    assert check.value == "ALARM since 2026-11-29T08:57:00Z"


@pytest.mark.parametrize(
    ("probe", "expected"),
    [
        (None, (WARN, "unknown; no healthUrl to probe")),
        (
            HealthProbe(SECONDARY.health_url, 200, 21.0, None),
            (WARN, "unknown; probe HTTP 200 in 21 ms"),
        ),
        (
            HealthProbe(SECONDARY.health_url, None, 2000.0, "no answer in 2 s"),
            (WARN, "unknown; probe no answer in 2 s"),
        ),
        (
            HealthProbe(SECONDARY.health_url, 503, 40.0, None),
            (FAIL, "unknown; probe HTTP 503 in 40 ms"),
        ),
    ],
)
def test_an_unreadable_health_metric_in_another_region_is_judged_by_the_probe(
    probe: HealthProbe | None, expected: tuple[str, str]
) -> None:
    """us-east-1 is dark: the metric cannot be read, so the target's own /health decides, and
    only an HTTP answer that is not 2xx refuses it."""
    check = _secondary_checks(("health",), healthy=None, probe=probe)["health-check"]
    assert (check.result, check.value) == expected


@pytest.mark.parametrize(
    ("probe", "expected"),
    [
        (None, (WARN, "unknown")),
        (
            HealthProbe(SECONDARY.health_url, None, 2000.0, "no answer in 2 s"),
            (WARN, "unknown; probe no answer in 2 s"),
        ),
        (
            HealthProbe(SECONDARY.health_url, 503, 40.0, None),
            (FAIL, "unknown; probe HTTP 503 in 40 ms"),
        ),
    ],
)
def test_a_switch_or_composite_alarm_that_could_not_be_read_is_neither_missing_nor_a_failure(
    probe: HealthProbe | None, expected: tuple[str, str]
) -> None:
    """The secondary's Region is dark: its SSM and CloudWatch do not answer. That is a warning
    (the health check judges the Region), unless its own endpoint answers with an error."""
    status = StatusReport(
        record_name="auth.example.com.",
        weights=Weights(100, 0),
        regions=(
            region_status("primary", "us-east-1"),
            region_status(
                "secondary", "us-west-2", failure_switch=None, impaired_alarm=None, probe=probe
            ),
        ),
        errors=("no answer within 3.5s while reading switch:secondary", "connection refused"),
        unreadable=("switch:secondary", "impaired:secondary"),
    )
    checks = {check.name: check for check in region_checks(status, SECONDARY)}
    switch, impaired = checks["failure-switch"], checks["impaired-alarm"]
    assert (switch.result, switch.value) == expected
    assert (impaired.result, impaired.value) == expected
    assert "no answer within 3.5s while reading switch:secondary" in switch.detail
    assert "connection refused" in impaired.detail


def test_a_missing_failure_switch_still_fails() -> None:
    check = _secondary_checks(failure_switch=None)["failure-switch"]
    assert (check.result, check.value) == (FAIL, "missing")


def test_an_undeployed_impaired_alarm_is_a_warning() -> None:
    status = StatusReport(
        record_name="auth.example.com.",
        weights=Weights(100, 0),
        regions=(region_status("primary", "us-east-1"), region_status("secondary", "us-west-2")),
        errors=(),
    )
    undeployed = replace(SECONDARY, impaired_alarm_name=None)
    (impaired,) = (c for c in region_checks(status, undeployed) if c.name == "impaired-alarm")
    assert (impaired.result, impaired.value) == (WARN, "not deployed")


# A partial us-east-1 event: CloudWatch there is late, the health metrics go missing ----------

OK_PROBE = HealthProbe(SECONDARY.health_url, 200, 40.0, None)
FAILED_PROBE = HealthProbe(SECONDARY.health_url, 503, 40.0, None)


@pytest.mark.parametrize(
    ("missing_data", "probe", "expected"),
    [
        (True, OK_PROBE, WARN),  # missing data treated as breaching: the probe decides
        (True, FAILED_PROBE, FAIL),
        (False, OK_PROBE, FAIL),  # a datapoint crossed the threshold: a verdict
    ],
)
def test_an_alarm_in_alarm_only_for_missing_data_is_decided_by_the_probe(
    missing_data: bool, probe: HealthProbe, expected: str
) -> None:
    check = _secondary_checks(alarm="ALARM", alarm_missing_data=missing_data, probe=probe)[
        "health-alarm"
    ]
    assert check.result == expected
    if missing_data:
        assert "only for missing HealthCheckStatus data" in check.detail


def test_the_primary_missing_its_own_regions_metric_is_judged_by_its_probe() -> None:
    """fallback --via dataplane with us-east-1's CloudWatch late: the primary's metric lives in
    its own Region; its /health answering decides, not the missing datapoint."""
    primary = RegionTopology(
        role="primary",
        region="us-east-1",
        set_identifier="primary",
        health_check_id="hc-1",
        alarm_name="myapp-health-us-east-1",
        failure_switch="/myapp/us-east-1/failure-switch",
        health_url="https://api-us-east-1.example.com/health",
    )
    status = StatusReport(
        record_name="auth.example.com.",
        weights=Weights(0, 100),
        regions=(
            region_status(
                "primary",
                "us-east-1",
                healthy=None,
                alarm="ALARM",
                alarm_missing_data=True,
                probe=HealthProbe(primary.health_url, 200, 30.0, None),
            ),
            region_status("secondary", "us-west-2"),
        ),
        errors=(),
        unreadable=("health",),
    )
    checks = {check.name: check for check in region_checks(status, primary)}
    assert checks["health-check"].result == WARN
    assert checks["health-alarm"].result == WARN
