"""Per-Region impaired alarms (composite) and their signals."""

from __future__ import annotations

from typing import Any

import pytest

from functions.authorizer import app as authorizer_app
from infra.mockrun import ProgramRun
from tests.infra.plan import APP, REGIONS, RunProgram

SIGNALS = ("api-5xx", "api-p99-latency", "authorizer-errors", "lambda-throttles")


def region_alarms(run: ProgramRun, role: str) -> dict[str, Any]:
    return {
        a.inputs["name"].removeprefix(f"{APP}-{role}-"): a
        for a in run.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
        if a.name.startswith(f"{role}-alarms-")
    }


@pytest.mark.parametrize("role", REGIONS)
def test_region_alarms_watch_that_regions_own_signals(default_run: ProgramRun, role: str) -> None:
    region = REGIONS[role]
    alarms = region_alarms(default_run, role)
    assert set(alarms) == {*SIGNALS, "certificate-expiry"}
    assert {a.region for a in alarms.values()} == {region}
    api_name = default_run.named(f"{role}-rest-api").inputs["name"]

    five_xx = alarms["api-5xx"].inputs
    assert five_xx["threshold"] == 0.05
    # The routes players call, by the detailed metrics' Method and Resource; never the health
    # route, whose 500s on the idle standby are the checkers' own traffic.
    watched = {q["id"]: q["metric"] for q in five_xx["metricQueries"] if "metric" in q}
    routes = {("GET", "/whoami"), ("POST", "/sessions"), ("GET", "/sessions/{id}")}
    for metric_name in ("5XXError", "Count"):
        assert {
            (m["dimensions"]["Method"], m["dimensions"]["Resource"])
            for m in watched.values() if m["metricName"] == metric_name
        } == routes  # fmt: skip
    for metric in watched.values():
        assert metric["namespace"] == "AWS/ApiGateway" and metric["stat"] == "Sum"
        assert {k: metric["dimensions"][k] for k in ("ApiName", "Stage")} == {
            "ApiName": api_name, "Stage": "prod"
        }  # fmt: skip
    (share,) = [q for q in five_xx["metricQueries"] if q.get("returnData")]
    assert share["expression"] == "(e0 + e1 + e2) / (n0 + n1 + n2)"

    latency = alarms["api-p99-latency"].inputs
    assert (latency["metricName"], latency["extendedStatistic"]) == ("Latency", "p99")
    assert latency["threshold"] == 2000

    errors = alarms["authorizer-errors"].inputs
    assert errors["threshold"] == 5
    # Not AWS/Lambda Errors, which counts every 401 (the authorizer raises "Unauthorized").
    assert "metricName" not in errors
    authorizer_env = default_run.named(f"{role}-authorizer").inputs["environment"]["variables"]
    counted = {q["id"]: q["metric"] for q in errors["metricQueries"] if "metric" in q}
    # Exactly the series the authorizer emits for its own failures (EMF: namespace, metric,
    # Powertools' `service` dimension, the reason).
    assert sorted((m["namespace"], m["metricName"], m["dimensions"]["service"],
                   m["dimensions"]["reason"], m["stat"]) for m in counted.values()) == sorted(
        (authorizer_env["POWERTOOLS_METRICS_NAMESPACE"], authorizer_app.ERROR_METRIC,
         authorizer_env["POWERTOOLS_SERVICE_NAME"], reason.value, "Sum")
        for reason in authorizer_app.ERROR_REASONS
    )  # fmt: skip
    (total,) = [q for q in errors["metricQueries"] if q.get("returnData")]
    # `+` counts a reason missing in a minute as 0; FILL would pin a late newest minute to 0.
    assert total["expression"] == " + ".join(sorted(counted))
    assert "FILL" not in total["expression"]

    throttles = alarms["lambda-throttles"].inputs
    watched = {
        q["metric"]["dimensions"]["FunctionName"]
        for q in throttles["metricQueries"]
        if "metric" in q
    }
    assert watched == {f"{APP}-{fn}" for fn in ("authorizer", "api", "health")}
    (result,) = [q for q in throttles["metricQueries"] if q.get("returnData")]
    assert result["expression"] == "t0 + t1 + t2"
    for alarm in (five_xx, errors, throttles):
        # Every query is read at the alarm's one-minute period; only the sum is returned.
        assert {q["metric"]["period"] for q in alarm["metricQueries"] if "metric" in q} == {60}
        assert [q.get("returnData", False) for q in alarm["metricQueries"]].count(True) == 1
    for signal in SIGNALS:
        assert alarms[signal].inputs["evaluationPeriods"] == 3
        assert alarms[signal].inputs["treatMissingData"] == "notBreaching"


@pytest.mark.parametrize("role", REGIONS)
def test_each_regions_custom_domain_certificate_is_watched_for_expiry(
    default_run: ProgramRun, role: str
) -> None:
    """Route 53's HTTPS checks do not validate certificates: a failing ACM renewal must page
    before the shared name serves an expired certificate from this Region."""
    expiry = region_alarms(default_run, role)["certificate-expiry"]
    assert expiry.region == REGIONS[role]
    certificate = default_run.named(f"{role}-certificate-validation").outputs["certificateArn"]
    assert certificate == default_run.named(f"{role}-certificate").outputs["arn"]
    assert {k: expiry.inputs[k] for k in ("namespace", "metricName", "dimensions", "statistic",
            "period", "comparisonOperator", "threshold")} == {
        "namespace": "AWS/CertificateManager", "metricName": "DaysToExpiry",
        "dimensions": {"CertificateArn": certificate}, "statistic": "Minimum", "period": 86400,
        "comparisonOperator": "LessThanThreshold", "threshold": 45,
    }  # fmt: skip
    topic = default_run.named(f"{role}-alarms-topic").outputs["arn"]
    assert expiry.inputs["alarmActions"] == [topic] and expiry.inputs["okActions"] == [topic]
    # A warning, not an impairment: the composite alarm does not include it.
    (impaired,) = [
        a for a in default_run.of_type("aws:cloudwatch/compositeAlarm:CompositeAlarm")
        if a.name == f"{role}-alarms-impaired"
    ]  # fmt: skip
    assert "certificate-expiry" not in impaired.inputs["alarmRule"]


@pytest.mark.parametrize("role", REGIONS)
def test_composite_impaired_alarm_ors_the_signals_and_notifies_in_region(
    default_run: ProgramRun, role: str
) -> None:
    composite = default_run.named(f"{role}-alarms-impaired")
    topic = default_run.named(f"{role}-alarms-topic")
    assert composite.region == topic.region == REGIONS[role]
    assert composite.inputs["alarmName"] == f"{APP}-{role}-impaired"
    assert composite.inputs["alarmRule"] == " OR ".join(
        f'ALARM("{APP}-{role}-{signal}")' for signal in SIGNALS
    )
    assert composite.inputs["alarmActions"] == [topic.outputs["arn"]]
    assert composite.inputs["okActions"] == [topic.outputs["arn"]]
    assert topic.inputs["name"] == f"{APP}-{role}-region-alarms"
    assert topic.inputs["name"] != f"{APP}-alarms"  # no clash when the primary is us-east-1


def test_thresholds_come_from_config(run_with: RunProgram) -> None:
    run = run_with(
        alarmApi5xxRatePercent=2,
        alarmApiP99LatencyMs=800,
        alarmAuthorizerErrors=10,
        alarmLambdaThrottles=1,
        alarmEvaluationMinutes=5,
    )
    alarms = region_alarms(run, "secondary")
    assert alarms["api-5xx"].inputs["threshold"] == 0.02
    assert alarms["api-p99-latency"].inputs["threshold"] == 800
    assert alarms["authorizer-errors"].inputs["threshold"] == 10
    assert alarms["lambda-throttles"].inputs["threshold"] == 1
    assert {alarms[signal].inputs["evaluationPeriods"] for signal in SIGNALS} == {5}
