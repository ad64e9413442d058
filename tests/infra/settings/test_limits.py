"""AWS limits a real account enforces at deploy time and mocks do not: Lambda's 4 KB environment
and the lengths of the names derived from the project and stack names."""

from __future__ import annotations

import base64
import datetime
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from jwt.algorithms import RSAAlgorithm

from functions.shared.jwks import parse_jwks
from infra.mockrun import ProgramRun, run_program
from infra.settings.errors import ConfigError, StackNameError
from infra.settings.limits import LAMBDA_ENVIRONMENT_LIMIT_BYTES, environment_size
from infra.settings.model import FUNCTIONS
from tests.infra.plan import RunProgram

PREFIX = "multi-region-authorizer:"
PROJECT = "multi-region-authorizer"
LONGEST_STACK = 64 - len(f"{PROJECT}--authorizer")  # Lambda's 64 characters bind first


def _certificate(subject: str, key: Any, issuer: str, issuer_key: Any) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=365))
        .sign(issuer_key, hashes.SHA256())
    )


def _b64(data: bytes, url: bool = False) -> str:
    if url:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
    return base64.b64encode(data).decode()


def idp_style_jwk(kid: str, ca_key: Any) -> dict[str, Any]:
    """An RSA signing key as Entra ID or Auth0 publish it: with its certificate chain (x5c),
    thumbprints and issuer metadata beside the members verification needs."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    leaf = _certificate(f"signing {kid}", key, "Example IdP CA", ca_key)
    ca = _certificate("Example IdP CA", ca_key, "Example IdP CA", ca_key)
    der = leaf.public_bytes(serialization.Encoding.DER)
    jwk = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    return {
        **jwk,
        "kid": kid,
        "use": "sig",
        "alg": "RS256",
        "x5t": _b64(leaf.fingerprint(hashes.SHA1()), url=True),
        "x5t#S256": _b64(leaf.fingerprint(hashes.SHA256()), url=True),
        "x5c": [_b64(der), _b64(ca.public_bytes(serialization.Encoding.DER))],
        "issuer": "https://login.example.com/tenant/v2.0",
    }


@pytest.fixture(scope="module")
def idp_jwks() -> dict[str, Any]:
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return {"keys": [idp_style_jwk(kid, ca_key) for kid in ("2026-10", "2026-11", "2026-12")]}


def environment(run: ProgramRun, function: str) -> dict[str, str]:
    return run.named(f"primary-{function}").inputs["environment"]["variables"]


# --- the 4 KB environment ------------------------------------------------------------------------


def test_a_real_jwks_with_certificate_chains_is_trimmed_to_fit_the_environment(
    run_with: RunProgram, idp_jwks: dict[str, Any]
) -> None:
    document = json.dumps(idp_jwks)
    assert len(document) > LAMBDA_ENVIRONMENT_LIMIT_BYTES  # as published, it could never fit
    run = run_with(authJwksPinned=document)
    for function in ("authorizer", "health"):
        env = environment(run, function)
        assert environment_size(env) <= LAMBDA_ENVIRONMENT_LIMIT_BYTES
        pinned = json.loads(env["AUTH_JWKS_PINNED"])
        assert {member for key in pinned["keys"] for member in key} == {
            "kty", "kid", "use", "alg", "n", "e"
        }  # fmt: skip
        # The functions verify with exactly the keys the provider published.
        shipped, published = parse_jwks(env["AUTH_JWKS_PINNED"]), parse_jwks(document)
        assert shipped.keys() == published.keys()
        for kid, key in shipped.items():
            assert key.key.public_numbers() == published[kid].key.public_numbers()


def test_an_environment_over_4_kb_is_refused_naming_the_key_the_size_and_the_limit(
    run_with: RunProgram, idp_jwks: dict[str, Any]
) -> None:
    # Even trimmed, a dozen RSA keys need more than 4 KB.
    keys = [{**key, "kid": f"{key['kid']}-{n}"} for n in range(4) for key in idp_jwks["keys"]]
    with pytest.raises(ConfigError) as raised:
        run_with(authJwksPinned=json.dumps({"keys": keys}))
    message = str(raised.value)
    assert raised.value.key == PREFIX + "authJwksPinned"
    assert "the authorizer function's environment would be" in message
    assert f"limit of {LAMBDA_ENVIRONMENT_LIMIT_BYTES} bytes (4 KB)" in message
    assert "AUTH_JWKS_PINNED is" in message
    size = int(message.split("would be ")[1].split(" bytes")[0])
    assert size > LAMBDA_ENVIRONMENT_LIMIT_BYTES
    assert "\n" not in message


@pytest.mark.parametrize("fault_injection", [False, True])
def test_every_deployed_environment_is_counted_as_the_check_counts_it(
    run_with: RunProgram, fault_injection: bool
) -> None:
    run = run_with(faultInjection=fault_injection)
    for function in FUNCTIONS:
        env = environment(run, function)
        assert ("AWS_FIS_CONFIGURATION_LOCATION" in env) == (
            fault_injection and function in ("api", "health")
        )
        # JSON of the variables as the Lambda API receives them, never undercounted.
        assert environment_size(env) >= len(json.dumps(env, separators=(",", ":")).encode())


# --- derived names --------------------------------------------------------------------------------


def run_stack(project_root: str, tmp_path: Path, stack: str) -> ProgramRun:
    """The example stack's config under another stack name (Pulumi takes it from the file)."""
    project = tmp_path / "project"
    project.mkdir()
    for name in ("Pulumi.yaml", "__main__.py"):
        (project / name).symlink_to(Path(project_root) / name)
    stack_file = project / f"Pulumi.{stack}.yaml"
    stack_file.write_text((Path(project_root) / "Pulumi.primary.yaml").read_text())
    return run_program(stack_file)


def test_a_long_stack_name_is_refused_naming_the_stack_and_the_limit(
    project_root: str, tmp_path: Path
) -> None:
    stack = "customer-acceptance-eu-central-1"  # 32 characters
    with pytest.raises(StackNameError) as raised:
        run_stack(project_root, tmp_path, stack)
    message = str(raised.value)
    assert message.startswith(f"stack '{stack}': the Lambda function name ")
    assert f"'{PROJECT}-{stack}-authorizer' would be 67 characters" in message
    assert "over AWS's limit of 64" in message
    assert f"at most {LONGEST_STACK} characters" in message


def test_the_longest_accepted_stack_name_gives_names_that_fit_every_limit(
    project_root: str, tmp_path: Path
) -> None:
    stack = "s" * LONGEST_STACK
    run = run_stack(project_root, tmp_path, stack)
    limits = {
        "aws:lambda/function:Function": ("name", 64),
        "aws:iam/role:Role": ("name", 64),
        "aws:iam/policy:Policy": ("name", 128),
        "aws:lambda/layerVersion:LayerVersion": ("layerName", 140),
        "aws:cloudwatch/metricAlarm:MetricAlarm": ("name", 255),
        "aws:cloudwatch/compositeAlarm:CompositeAlarm": ("alarmName", 255),
        "aws:cloudwatch/logGroup:LogGroup": ("name", 512),
        "aws:dynamodb/table:Table": ("name", 255),
        "aws:sns/topic:Topic": ("name", 256),
        "aws:ssm/parameter:Parameter": ("name", 1011),
        "aws:cloudwatch/dashboard:Dashboard": ("dashboardName", 255),
    }
    checked = set()
    for resource in run.cloud_resources:
        if resource.type in limits:
            field, limit = limits[resource.type]
            name = resource.inputs.get(field) or resource.outputs.get(field)
            assert isinstance(name, str), (resource.name, field)
            assert len(name) <= limit, (resource.type, name)
            checked.add(resource.type)
    assert checked == set(limits)
    assert len(run.named("primary-authorizer").inputs["name"]) == 64


def test_a_stack_name_with_a_dot_is_refused(project_root: str, tmp_path: Path) -> None:
    with pytest.raises(StackNameError, match="only letters, digits, '-' and '_'"):
        run_stack(project_root, tmp_path, "eu.prod")


def test_default_tags_that_push_a_health_check_over_10_tags_are_refused_naming_the_key(
    run_with: RunProgram,
) -> None:
    # The checks carry 10 discovery tags: one more key from the providers is one too many.
    with pytest.raises(ConfigError) as raised:
        run_with(defaultTags=json.dumps({"CostCenter": "1234"}))
    message = str(raised.value)
    assert raised.value.key == PREFIX + "defaultTags"
    assert "health check would carry 11 tags" in message
    assert "Route 53's limit of 10 per health check" in message
    assert "CostCenter" in message
    assert "\n" not in message


def test_every_health_check_with_its_providers_default_tags_fits_route_53s_10(
    run_with: RunProgram,
) -> None:
    # Default tags on the discovery tags' keys are accepted: the resource's own values win.
    run = run_with(defaultTags=json.dumps({"App": "billing-default"}), autoFailover=True)
    providers = [r for r in run.resources if r.type == "pulumi:providers:aws"]
    default_keys: set[str] = set()
    for provider in providers:
        # Provider inputs reach the engine JSON-encoded.
        tags = json.loads(provider.inputs["defaultTags"])["tags"]
        assert tags == {"App": "billing-default"}, provider.name
        default_keys |= set(tags)
    checks = run.of_type("aws:route53/healthCheck:HealthCheck")
    assert len(checks) == 4  # two Regions' HTTPS checks, the lever, the calculated check
    for check in checks:
        assert len(set(check.inputs["tags"]) | default_keys) <= 10, check.name
