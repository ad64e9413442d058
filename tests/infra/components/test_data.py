"""The DynamoDB global table."""

from __future__ import annotations

from infra.mockrun import ProgramRun
from tests.infra.plan import RunProgram


def test_global_table_matches_the_contract(default_run: ProgramRun) -> None:
    table = default_run.named("state")
    inputs = table.inputs
    assert table.region == "us-east-1"
    assert inputs["name"] == "multi-region-authorizer-primary-state"
    assert inputs["billingMode"] == "PAY_PER_REQUEST"
    assert (inputs["hashKey"], inputs["rangeKey"]) == ("pk", "sk")
    assert inputs["attributes"] == [{"name": "pk", "type": "S"}, {"name": "sk", "type": "S"}]
    assert inputs["streamEnabled"] is True
    assert inputs["streamViewType"] == "NEW_AND_OLD_IMAGES"
    assert inputs["pointInTimeRecovery"] == {"enabled": True}
    assert inputs["ttl"] == {"attributeName": "expiresAt", "enabled": True}
    assert inputs["deletionProtectionEnabled"] is True
    assert inputs["replicas"] == [
        {"regionName": "us-west-2", "pointInTimeRecovery": True, "deletionProtectionEnabled": True}
    ]


def test_deletion_protection_from_config_and_replica_follows_secondary(
    run_with: RunProgram,
) -> None:
    run = run_with(tableDeletionProtection=False, primaryRegion="eu-west-1",
                   secondaryRegion="eu-central-1")  # fmt: skip
    table = run.named("state")
    assert table.region == "eu-west-1"
    assert table.inputs["deletionProtectionEnabled"] is False
    assert [r["regionName"] for r in table.inputs["replicas"]] == ["eu-central-1"]
    assert table.inputs["replicas"][0]["deletionProtectionEnabled"] is False
