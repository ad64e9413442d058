"""The cross-Region dashboard: one row per signal, the two Regions side by side."""

from __future__ import annotations

import json
from typing import Any

from infra.mockrun import ProgramRun
from tests.infra.plan import APP, REGIONS


def test_dashboard_puts_both_regions_side_by_side(default_run: ProgramRun) -> None:
    dashboard = default_run.named("dashboard")
    assert dashboard.inputs["dashboardName"] == APP
    widgets = json.loads(dashboard.inputs["dashboardBody"])["widgets"]
    rows: dict[int, list[dict[str, Any]]] = {}
    for widget in widgets:
        rows.setdefault(widget["y"], []).append(widget)
    assert len(rows) == 8
    for row in rows.values():
        assert [(w["x"], w["properties"]["region"]) for w in sorted(row, key=lambda w: w["x"])] == [
            (0, "us-east-1"),
            (12, "us-west-2"),
        ]
    text = json.dumps(widgets)
    for metric in ("HealthCheckStatus", "HealthCheckPercentageHealthy", "4XXError", "5XXError",
                   "AuthorizerAllow", "AuthorizerDeny", "AuthorizerError", "Errors", "Throttles",
                   "ConcurrentExecutions", "ReplicationLatency", "ThrottledRequests"):  # fmt: skip
        assert metric in text, metric
    for role in REGIONS:
        assert default_run.named(f"dns-{role}-health-check").id in text
        assert default_run.named(f"{role}-rest-api").inputs["name"] in text
    # Route 53 metrics exist only in us-east-1, whichever column shows them.
    health_rows = [w for w in widgets if w["properties"]["title"].startswith("Route 53")]
    for widget in health_rows:
        assert {m[-1]["region"] for m in widget["properties"]["metrics"]} == {"us-east-1"}
    latency = [w for w in widgets if w["properties"]["title"].startswith("API latency")]
    assert {m[-1]["stat"] for w in latency for m in w["properties"]["metrics"]} == {"p50", "p99"}
    # Each Region's column shows how the other Region's watcher sees it, read where it publishes.
    watched = [w for w in widgets if w["properties"]["title"].startswith("Seen from")]
    seen = {(w["properties"]["region"], m[5], m[-1]["region"])
            for w in watched for m in w["properties"]["metrics"]}  # fmt: skip
    assert seen == {("us-east-1", "primary", "us-west-2"), ("us-west-2", "secondary", "us-east-1")}
    replication = [w for w in widgets if "replication" in w["properties"]["title"]]
    receiving = {(w["properties"]["region"], m[5]) for w in replication
                 for m in w["properties"]["metrics"] if "ReplicationLatency" in m}  # fmt: skip
    assert receiving == {("us-east-1", "us-west-2"), ("us-west-2", "us-east-1")}
