"""The deploy policy (infra/deploy_policy/) stays true to what the program declares: every
resource type and provider call of a stack with every optional feature on has a grant, no grant
is left over, every declared resource's ARN (and record name) is inside its grant, every action
is one AWS has, and the document in docs/ is what the generator prints for the example stack."""

from __future__ import annotations

import fnmatch
import json
from pathlib import Path

import botocore.session
import pytest

from infra.deploy_policy.grant import IAM_ONLY_ACTIONS
from infra.deploy_policy.policy import GRANTS, covered_types, deploy_policy, main
from infra.mockrun import ProgramRun
from tests.infra.plan import RunProgram

EVERYTHING_ON = {
    "faultInjection": True,
    "autoFailover": True,
    "secondaryProvisionedConcurrency": 2,
    "alarmEmail": "oncall@example.com",
}


@pytest.fixture(scope="module")
def full_run(run_with: RunProgram) -> ProgramRun:
    return run_with(**EVERYTHING_ON)


def grants_for(type_: str) -> list[str]:
    return [grant.sid for grant in GRANTS if type_ in grant.covers]


def test_every_declared_type_and_call_has_a_grant(full_run: ProgramRun) -> None:
    uncovered = sorted(t for t in covered_types(full_run) if not grants_for(t))
    assert uncovered == [], f"add a grant to infra/deploy_policy/ for {uncovered}"


def test_no_grant_covers_nothing_the_program_declares(
    full_run: ProgramRun, default_run: ProgramRun
) -> None:
    declared = covered_types(full_run) | covered_types(default_run)
    unused = [grant.sid for grant in GRANTS if not declared.intersection(grant.covers)]
    assert unused == []


def test_the_default_stack_gets_no_grant_of_an_optional_feature(default_run: ProgramRun) -> None:
    sids = {statement["Sid"] for statement in deploy_policy(default_run)["Statement"]}
    assert "FaultInjection" not in sids and "FaultInjectionBucket" not in sids
    assert "Records" in sids and "Functions" in sids


def _allowed(full_run: ProgramRun, type_: str, arn: str) -> bool:
    policy = deploy_policy(full_run)
    sids = set(grants_for(type_))
    return any(
        fnmatch.fnmatchcase(arn, pattern)
        for statement in policy["Statement"]
        if statement["Sid"] in sids and statement["Resource"] != ["*"]
        for pattern in statement["Resource"]
    )


def test_every_declared_resource_is_inside_its_grant(full_run: ProgramRun) -> None:
    outside = []
    for resource in full_run.cloud_resources:
        arn = resource.outputs.get("arn")
        # Sub-resources without an ARN of their own (methods, integrations, permissions...) are
        # authorized on their parent's path or function.
        if not isinstance(arn, str) or arn.startswith("arn:aws:mock"):
            continue
        if resource.inputs.get("arn") == arn:  # an EventBridge target's `arn` is what it invokes
            continue
        if not _allowed(full_run, resource.type, arn):
            outside.append(f"{resource.type} {arn}")
    assert outside == []


def test_records_are_limited_to_the_shared_name_and_its_validation_record(
    full_run: ProgramRun,
) -> None:
    (records,) = [s for s in deploy_policy(full_run)["Statement"] if s["Sid"] == "Records"]
    names = records["Condition"]["ForAllValues:StringLike"][
        "route53:ChangeResourceRecordSetsNormalizedRecordNames"
    ]
    for record in full_run.of_type("aws:route53/record:Record"):
        name = record.inputs["name"].rstrip(".").lower()
        assert any(fnmatch.fnmatchcase(name, pattern) for pattern in names), name
    assert not any(fnmatch.fnmatchcase("www.example.com", pattern) for pattern in names)


def test_a_resource_of_another_app_is_outside(full_run: ProgramRun) -> None:
    other = "arn:aws:lambda:us-east-1:123456789012:function:someone-else-authorizer"
    assert not _allowed(full_run, "aws:lambda/function:Function", other)
    assert not _allowed(
        full_run,
        "aws:dynamodb/table:Table",
        "arn:aws:dynamodb:eu-west-1:123456789012:table/multi-region-authorizer-primary-state",
    )


def test_every_action_is_an_aws_action() -> None:
    session = botocore.session.get_session()
    unknown = []
    for grant in GRANTS:
        for action in grant.actions:
            if action in IAM_ONLY_ACTIONS:
                continue
            prefix, operation = action.split(":")
            model = session.get_service_model(prefix)  # the IAM prefixes here are botocore's names
            if operation not in model.operation_names:
                unknown.append(action)
    assert unknown == []


def test_no_wildcard_action(full_run: ProgramRun) -> None:
    for statement in deploy_policy(full_run)["Statement"]:
        assert all("*" not in action for action in statement["Action"]), statement["Sid"]


def test_the_documented_policy_is_the_generated_one(
    default_run: ProgramRun, project_root: str
) -> None:
    documented = json.loads((Path(project_root) / "docs" / "deploy-policy.json").read_text())
    assert documented == deploy_policy(default_run), (
        "regenerate: python -m infra.deploy_policy Pulumi.primary.yaml > docs/deploy-policy.json"
    )


def test_the_command_prints_the_document_and_refuses_a_missing_stack_file(
    stack_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(stack_file)]) == 0
    assert json.loads(capsys.readouterr().out)["Version"] == "2012-10-17"
    assert main(["Pulumi.nowhere.yaml"]) == 2
    assert "no such stack file" in capsys.readouterr().err
