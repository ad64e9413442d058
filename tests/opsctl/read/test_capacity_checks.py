"""The target's capacity judged against the other Region's, no AWS: each comparison's verdict
from values already read."""

from __future__ import annotations

from dataclasses import replace

import pytest

from opsctl.errors import AwsUnreachable
from opsctl.read.capacity import (
    AccountConcurrency,
    AuthorizerConcurrency,
    CapacityReadings,
    StageThrottling,
)
from opsctl.read.capacity_checks import capacity_checks
from opsctl.read.concurrent_reads import Outcome
from opsctl.read.readiness_report import FAIL, PASS, WARN, Check

FUNCTION = "arn:aws:lambda:us-west-2:123456789012:function:myapp-authorizer:live"


def _readings(**changes: object) -> CapacityReadings:
    same = CapacityReadings(
        table="myapp-state",
        target_account=Outcome(AccountConcurrency(limit=1000, unreserved=900)),
        other_account=Outcome(AccountConcurrency(limit=1000, unreserved=900)),
        target_authorizer=Outcome(AuthorizerConcurrency(FUNCTION, reserved=None, provisioned=2)),
        other_authorizer=Outcome(AuthorizerConcurrency(FUNCTION, reserved=None, provisioned=2)),
        target_throttling=Outcome(StageThrottling(rate_limit=100.0, burst_limit=200)),
        other_throttling=Outcome(StageThrottling(rate_limit=100.0, burst_limit=200)),
        target_table=Outcome("ACTIVE"),
        other_table=Outcome("ACTIVE"),
        latency=Outcome(800.0),
    )
    return replace(same, **changes)


def _capacity(**changes: object) -> dict[str, Check]:
    return {check.name: check for check in capacity_checks(_readings(**changes), 5000.0)}


def test_equal_capacity_passes_every_comparison() -> None:
    checks = _capacity()
    assert {name: c.result for name, c in checks.items()} == {
        "lambda-concurrency-quota": PASS,
        "authorizer-concurrency": PASS,
        "api-throttling": PASS,
        "table-replicas": PASS,
        "replication-latency": PASS,
    }
    assert checks["replication-latency"].value == "800 ms (max 5000 ms)"


UNREACHABLE = Outcome(None, AwsUnreachable("no answer within 3.5s while reading account:other"))


@pytest.mark.parametrize(
    ("changes", "name", "expected"),
    [
        (
            {"target_account": Outcome(AccountConcurrency(limit=500, unreserved=500))},
            "lambda-concurrency-quota",
            (WARN, "the target's account concurrency limit (quota) is lower"),
        ),
        (
            {"target_account": Outcome(AccountConcurrency(limit=1000, unreserved=100))},
            "lambda-concurrency-quota",
            (WARN, "the target leaves less to functions without reserved concurrency"),
        ),
        (
            {"other_account": UNREACHABLE},
            "lambda-concurrency-quota",
            (WARN, "could not read: no answer within 3.5s"),
        ),
        (
            {"target_authorizer": Outcome(AuthorizerConcurrency(FUNCTION, 10, 2))},
            "authorizer-concurrency",
            (FAIL, "the target's reserved concurrency caps it below the other"),
        ),
        (
            {"target_authorizer": Outcome(AuthorizerConcurrency(FUNCTION, None, 0))},
            "authorizer-concurrency",
            (WARN, "less provisioned concurrency: expect cold starts"),
        ),
        (
            {"target_throttling": Outcome(StageThrottling(50.0, 200))},
            "api-throttling",
            (FAIL, "the target's stage throttles below the other's"),
        ),
        (
            {"target_throttling": Outcome(StageThrottling(None, None))},
            "api-throttling",
            (WARN, "stage throttling limits differ between the Regions"),
        ),
        (
            {"target_table": Outcome("UPDATING")},
            "table-replicas",
            (FAIL, "myapp-state must be ACTIVE in both Regions"),
        ),
        (
            {"target_table": Outcome(None, AwsUnreachable("no answer"))},
            "table-replicas",
            (FAIL, "myapp-state in the target: no answer"),
        ),
        (
            {"other_table": Outcome(None, AwsUnreachable("no answer"))},
            "table-replicas",
            (WARN, "could not read: no answer"),
        ),
        (
            {"latency": Outcome(None)},
            "replication-latency",
            (WARN, "no ReplicationLatency datapoint in 30 minutes"),
        ),
        (
            {"latency": Outcome(5001.0)},
            "replication-latency",
            (FAIL, "the target's copy of the table lags behind"),
        ),
    ],
)
def test_each_capacity_comparison(
    changes: dict[str, object], name: str, expected: tuple[str, str]
) -> None:
    checks = _capacity(**changes)
    assert (checks[name].result, checks[name].detail) == expected
    assert [c.result for n, c in checks.items() if n != name] == [PASS] * 4


def test_an_unreadable_side_is_said_in_words_with_its_region() -> None:
    """What the operator reads at 3 a.m.: the Region, what happened and what was being read; not
    the SDK's message with its endpoint URL."""
    closed = AwsUnreachable(
        "AWS SDK error while reading the Lambda account settings: Connection was closed before we "
        'received a valid response from endpoint URL: "https://lambda.us-east-1.amazonaws.com/'
        '2016-08-19/account-settings".',
        "reading the Lambda account settings",
    )
    checks = {
        check.name: check
        for check in capacity_checks(
            _readings(other_account=Outcome(None, closed)), 5000.0, ("us-west-2", "us-east-1")
        )
    }
    assert checks["lambda-concurrency-quota"].detail == (
        "could not read in us-east-1: connection closed without an answer while reading the "
        "Lambda account settings"
    )
