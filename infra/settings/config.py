"""Every stack setting, read and validated in one place before any resource is declared.

Defaults live in `Pulumi.yaml` (the Pulumi CLI applies them); this module insists that every key
is present, parses it, and checks it, so a bad stack stops with one message naming the key. The
settings it returns are `infra.settings.model.Settings`; the AWS limits they must fit,
`infra.settings.limits`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import TypeVar

import pulumi

from infra.settings.errors import ConfigError
from infra.settings.limits import (
    check_derived_names,
    check_environment_sizes,
    check_health_check_tags,
)
from infra.settings.model import (
    AlarmThresholds,
    AuthSettings,
    FaultInjectionSettings,
    HealthCheckSettings,
    Settings,
)

# What signature verification needs from a JWK (RFC 7517/7518); `x5c` chains, thumbprints and
# the like can be kilobytes per key and would only eat into the 4 KB environment.
JWK_VERIFICATION_MEMBERS = ("kty", "kid", "use", "alg", "n", "e", "crv", "x", "y")

# CloudWatch Logs accepts only these retention periods (days).
LOG_RETENTION_DAYS = frozenset(
    {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
     2922, 3288, 3653}
)  # fmt: skip
LAMBDA_RUNTIMES = ("python3.12", "python3.13")
_REGION_RE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
_HOSTNAME_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

T = TypeVar("T")


class _Reader:
    """Reads raw string values from Pulumi config and turns them into typed values."""

    def __init__(self, config: pulumi.Config) -> None:
        self._config = config
        self._namespace = config.name

    def key(self, name: str) -> str:
        return f"{self._namespace}:{name}"

    def raw(self, name: str) -> str:
        value = self._config.get(name)
        if value is None:
            raise ConfigError(self.key(name), "is required but not set")
        return value

    def string(self, name: str, *, allow_empty: bool = False) -> str:
        value = self.raw(name).strip()
        if not value and not allow_empty:
            raise ConfigError(self.key(name), "must not be empty")
        return value

    def integer(self, name: str, low: int, high: int) -> int:
        text = self.raw(name).strip()
        try:
            value = int(text)
        except ValueError:
            raise ConfigError(self.key(name), f"must be an integer (got {text!r})") from None
        if not low <= value <= high:
            raise ConfigError(self.key(name), f"must be between {low} and {high} (got {value})")
        return value

    def boolean(self, name: str) -> bool:
        text = self.raw(name).strip().lower()
        if text not in ("true", "false"):
            raise ConfigError(self.key(name), f"must be true or false (got {text!r})")
        return text == "true"

    def string_list(self, name: str) -> tuple[str, ...]:
        text = self.raw(name)
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            raise ConfigError(self.key(name), "must be a list of strings") from None
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise ConfigError(self.key(name), "must be a list of non-empty strings")
        if not value:
            raise ConfigError(self.key(name), "must name at least one entry")
        return tuple(value)

    def string_map(self, name: str) -> tuple[tuple[str, str], ...]:
        text = self.raw(name)
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            raise ConfigError(self.key(name), "must be an object of strings") from None
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and k and isinstance(v, str) for k, v in value.items()
        ):
            raise ConfigError(self.key(name), "must be an object of non-empty keys to strings")
        return tuple(value.items())

    def check(self, name: str, value: T, ok: Callable[[T], object], problem: str) -> T:
        if not ok(value):
            raise ConfigError(self.key(name), problem)
        return value


def _is_https_url(value: str) -> bool:
    return re.match(r"^https://[^/\s]+(/\S*)?$", value) is not None


def _region(reader: _Reader, name: str) -> str:
    region = reader.string(name)
    reader.check(name, region, _REGION_RE.match, f"is not an AWS Region name (got {region!r})")
    reader.check(
        name,
        region,
        lambda r: not r.startswith(("cn-", "us-gov-")),
        "must be a commercial-partition Region (the ARNs this program builds are in `aws`)",
    )
    return region


def _pinned_jwks(reader: _Reader) -> str:
    text = reader.string("authJwksPinned", allow_empty=True)
    if not text:
        return ""
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        raise ConfigError(reader.key("authJwksPinned"), "must be a JWKS JSON document") from None
    keys = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(keys, list) or not keys:
        raise ConfigError(reader.key("authJwksPinned"), "must be a JWKS with a non-empty 'keys'")
    if not all(isinstance(key, dict) for key in keys):
        raise ConfigError(reader.key("authJwksPinned"), "every entry of 'keys' must be a JWK")
    # Shipped in the functions' environment, which Lambda caps at 4 KB: verification members only.
    trimmed = [
        {member: key[member] for member in JWK_VERIFICATION_MEMBERS if member in key}
        for key in keys
    ]
    return json.dumps({"keys": trimmed}, separators=(",", ":"))


def load_settings(config: pulumi.Config | None = None) -> Settings:
    """Read and check every setting of the current stack; ConfigError names the first bad key."""
    reader = _Reader(config or pulumi.Config())

    primary = _region(reader, "primaryRegion")
    secondary = _region(reader, "secondaryRegion")
    reader.check(
        "secondaryRegion",
        secondary,
        lambda s: s != primary,
        f"must differ from primaryRegion (both are {primary})",
    )

    zone = reader.string("hostedZone").lower().rstrip(".")
    reader.check("hostedZone", zone, _HOSTNAME_RE.match, f"is not a DNS zone name ({zone!r})")
    domain = reader.string("domainName").lower().rstrip(".")
    reader.check("domainName", domain, _HOSTNAME_RE.match, f"is not a hostname ({domain!r})")
    reader.check(
        "domainName",
        domain,
        lambda d: d.endswith("." + zone),
        f"must be a name inside hostedZone {zone!r} (got {domain!r})",
    )

    issuers = reader.string_list("authIssuers")
    for issuer in issuers:
        reader.check("authIssuers", issuer, _is_https_url, f"{issuer!r} is not an https URL")
    jwks_uri = reader.string("authJwksUri")
    reader.check("authJwksUri", jwks_uri, _is_https_url, f"{jwks_uri!r} is not an https URL")
    auth = AuthSettings(
        issuers=issuers,
        audience=reader.string("authAudience"),
        jwks_uri=jwks_uri,
        jwks_pinned=_pinned_jwks(reader),
    )

    runtime = reader.string("lambdaRuntime")
    reader.check(
        "lambdaRuntime",
        runtime,
        lambda r: r in LAMBDA_RUNTIMES,
        f"must be one of {', '.join(LAMBDA_RUNTIMES)} (got {runtime!r})",
    )
    retention = reader.integer("logRetentionDays", 1, 3653)
    reader.check(
        "logRetentionDays",
        retention,
        lambda d: d in LOG_RETENTION_DAYS,
        f"must be a CloudWatch Logs retention period, e.g. 7, 30, 90, 365 (got {retention})",
    )

    interval = reader.integer("healthCheckInterval", 10, 30)
    reader.check(
        "healthCheckInterval",
        interval,
        lambda i: i in (10, 30),
        f"must be 10 or 30 seconds (got {interval})",
    )
    health_check = HealthCheckSettings(
        request_interval=interval,
        failure_threshold=reader.integer("healthCheckFailureThreshold", 1, 10),
    )

    rate = reader.integer("throttleRateLimit", 1, 1_000_000)
    burst = reader.integer("throttleBurstLimit", 1, 1_000_000)

    alarm_email = reader.string("alarmEmail", allow_empty=True)
    if alarm_email:
        reader.check("alarmEmail", alarm_email, _EMAIL_RE.match, f"{alarm_email!r} is not e-mail")

    alarms = AlarmThresholds(
        api_5xx_rate_percent=reader.integer("alarmApi5xxRatePercent", 1, 100),
        api_p99_latency_ms=reader.integer("alarmApiP99LatencyMs", 1, 29_000),
        authorizer_errors=reader.integer("alarmAuthorizerErrors", 1, 1_000_000),
        lambda_throttles=reader.integer("alarmLambdaThrottles", 1, 1_000_000),
        evaluation_minutes=reader.integer("alarmEvaluationMinutes", 1, 60),
    )
    fault_injection = FaultInjectionSettings(
        enabled=reader.boolean("faultInjection"),
        duration_minutes=reader.integer("faultDurationMinutes", 1, 720),
        invocation_percentage=reader.integer("faultInvocationPercentage", 1, 100),
        delay_ms=reader.integer("faultDelayMs", 1, 900_000),
    )

    incident_region = reader.string("incidentRegion", allow_empty=True)
    reader.check(
        "incidentRegion",
        incident_region,
        lambda r: r in ("", primary, secondary),
        f"must be empty or one of this stack's Regions, {primary} or {secondary} "
        f"(got {incident_region!r})",
    )

    settings = Settings(
        project=pulumi.get_project(),
        stack=pulumi.get_stack(),
        primary_region=primary,
        secondary_region=secondary,
        domain_name=domain,
        hosted_zone=zone,
        auth=auth,
        lambda_runtime=runtime,
        lambda_memory_mb=reader.integer("lambdaMemoryMb", 128, 10_240),
        log_retention_days=retention,
        authorizer_cache_ttl=reader.integer("authorizerCacheTtl", 0, 3600),
        throttle_rate_limit=rate,
        throttle_burst_limit=burst,
        secondary_provisioned_concurrency=reader.integer(
            "secondaryProvisionedConcurrency", 0, 10_000
        ),
        table_deletion_protection=reader.boolean("tableDeletionProtection"),
        health_check=health_check,
        auto_failover=reader.boolean("autoFailover"),
        alarm_email=alarm_email,
        manage_api_gateway_account=reader.boolean("manageApiGatewayAccount"),
        alarms=alarms,
        fault_injection=fault_injection,
        incident_region=incident_region,
        default_tags=reader.string_map("defaultTags"),
    )
    check_derived_names(settings)
    check_environment_sizes(settings, reader.key)
    check_health_check_tags(settings, reader.key)
    return settings
