"""Stack config: defaults, every key required and declared, bad values named and stopped early."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.mockrun import RealisticMocks, load_config, run_program
from infra.settings.errors import ConfigError

PREFIX = "multi-region-authorizer:"


class CountingMocks(RealisticMocks):
    def __init__(self) -> None:
        self.declared: list[str] = []

    def new_resource(self, args: Any) -> tuple[str | None, dict]:
        self.declared.append(args.name)
        return super().new_resource(args)


def declared_keys(project_root: str) -> list[str]:
    document = yaml.safe_load((Path(project_root) / "Pulumi.yaml").read_text())
    return sorted(document["config"])


def test_every_declared_key_is_described(project_root: str) -> None:
    document = yaml.safe_load((Path(project_root) / "Pulumi.yaml").read_text())
    for key, declaration in document["config"].items():
        assert declaration.get("description"), key
        assert declaration.get("type") in {"string", "integer", "boolean", "array"}, key


def test_example_stack_sets_the_keys_that_have_no_default(project_root: str) -> None:
    document = yaml.safe_load((Path(project_root) / "Pulumi.yaml").read_text())
    required = {key for key, decl in document["config"].items() if "default" not in decl}
    assert required == {"domainName", "hostedZone", "authIssuers", "authAudience", "authJwksUri"}
    config = load_config(Path(project_root) / "Pulumi.primary.yaml")
    assert {PREFIX + key for key in required} <= set(config)


@pytest.mark.parametrize("key", declared_keys(str(Path(__file__).parents[3])))
def test_every_declared_key_is_read_and_required(stack_file: Path, key: str) -> None:
    """Unsetting any key stops the program with that key's name: no key is silently unused."""
    mocks = CountingMocks()
    with pytest.raises(ConfigError) as raised:
        run_program(stack_file, mocks=mocks, overrides={key: None})
    assert raised.value.key == PREFIX + key
    assert "is required" in str(raised.value)
    assert mocks.declared == []


BAD_CONFIG = [
    ({"secondaryRegion": "us-east-1"}, "secondaryRegion", "must differ"),
    ({"primaryRegion": "mars-1"}, "primaryRegion", "not an AWS Region"),
    ({"primaryRegion": "cn-north-1"}, "primaryRegion", "commercial"),
    ({"healthCheckInterval": 20}, "healthCheckInterval", "10 or 30"),
    ({"healthCheckFailureThreshold": 0}, "healthCheckFailureThreshold", "between 1 and 10"),
    ({"healthCheckFailureThreshold": 11}, "healthCheckFailureThreshold", "between 1 and 10"),
    ({"authorizerCacheTtl": 3601}, "authorizerCacheTtl", "between 0 and 3600"),
    ({"authorizerCacheTtl": "soon"}, "authorizerCacheTtl", "must be an integer"),
    ({"domainName": ""}, "domainName", "must not be empty"),
    ({"hostedZone": ""}, "hostedZone", "must not be empty"),
    ({"domainName": "auth.example.org"}, "domainName", "inside hostedZone"),
    ({"logRetentionDays": 8}, "logRetentionDays", "retention period"),
    ({"lambdaRuntime": "python3.9"}, "lambdaRuntime", "python3.12"),
    ({"authIssuers": []}, "authIssuers", "at least one"),
    ({"authIssuers": ["http://idp.example.com/"]}, "authIssuers", "not an https URL"),
    ({"authJwksUri": "ftp://idp.example.com/jwks"}, "authJwksUri", "not an https URL"),
    ({"authJwksPinned": "{not json"}, "authJwksPinned", "JWKS JSON"),
    ({"authJwksPinned": '{"keys": []}'}, "authJwksPinned", "non-empty 'keys'"),
    ({"authJwksPinned": '{"keys": ["kid-1"]}'}, "authJwksPinned", "must be a JWK"),
    ({"alarmEmail": "ops-at-example"}, "alarmEmail", "not e-mail"),
    ({"autoFailover": "yes"}, "autoFailover", "true or false"),
    ({"throttleRateLimit": 0}, "throttleRateLimit", "between 1"),
    ({"secondaryProvisionedConcurrency": -1}, "secondaryProvisionedConcurrency", "between 0"),
    ({"alarmApi5xxRatePercent": 0}, "alarmApi5xxRatePercent", "between 1 and 100"),
    ({"faultInvocationPercentage": 101}, "faultInvocationPercentage", "between 1 and 100"),
    ({"incidentRegion": "eu-west-1"}, "incidentRegion", "one of this stack's Regions"),
    ({"defaultTags": '["App"]'}, "defaultTags", "must be an object of non-empty keys"),
    ({"defaultTags": "{App: x}"}, "defaultTags", "must be an object of strings"),
]


@pytest.mark.parametrize(("overrides", "key", "problem"), BAD_CONFIG)
def test_bad_config_names_the_key_and_declares_nothing(
    stack_file: Path, overrides: dict[str, Any], key: str, problem: str
) -> None:
    mocks = CountingMocks()
    with pytest.raises(ConfigError) as raised:
        run_program(stack_file, mocks=mocks, overrides=overrides)
    assert raised.value.key == PREFIX + key
    assert problem in str(raised.value)
    assert str(raised.value).startswith(f"config key '{PREFIX}{key}': ")
    assert "\n" not in str(raised.value)
    assert mocks.declared == []


def test_project_defaults_reach_the_program(default_run: Any) -> None:
    """The example stack leaves these to Pulumi.yaml; the declared resources show the defaults."""
    table = default_run.named("state")
    assert table.inputs["deletionProtectionEnabled"] is True
    log_group = default_run.named("primary-api-logs")
    assert log_group.inputs["retentionInDays"] == 30
    function = default_run.named("primary-api")
    assert function.inputs["memorySize"] == 512


# The provider's start-up calls (region validation is local, and skipped by default).
SKIPPED_CHECKS = ("skipCredentialsValidation", "skipRequestingAccountId", "skipMetadataApiCheck")


def skips(provider: Any) -> list[bool]:
    return [str(provider.inputs.get(check)).lower() == "true" for check in SKIPPED_CHECKS]


def providers_by_name(run: Any) -> dict[str, Any]:
    return {r.name: r for r in run.resources if r.type == "pulumi:providers:aws"}


def test_normally_every_provider_checks_its_credentials_and_reads_go_to_us_east_1(
    default_run: Any,
) -> None:
    for provider in providers_by_name(default_run).values():
        assert not any(skips(provider))
    (identity,) = [c for c in default_run.calls if c.token.endswith("getCallerIdentity")]
    assert identity.region == "us-east-1"


def test_an_incident_deploy_never_calls_the_impaired_region(run_with: Any) -> None:
    """With us-east-1 impaired, the program runs without a call there: its providers skip
    their start-up checks (STS, account id, metadata) and the account id is read in us-west-2;
    `pulumi up --refresh=false --target ...` then changes only the healthy Region."""
    run = run_with(incidentRegion="us-east-1")
    providers = providers_by_name(run)
    for name in ("primary", "alarm-region"):
        assert all(skips(providers[name])), name
    assert not any(skips(providers["secondary"]))
    (identity,) = [c for c in run.calls if c.token.endswith("getCallerIdentity")]
    assert identity.region == "us-west-2"
    # The same resources as always: a targeted update must not plan anything else away.
    default = run_with()
    assert sorted(r.urn for r in run.cloud_resources) == sorted(
        r.urn for r in default.cloud_resources
    )
