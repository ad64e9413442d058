"""Every stack setting, read and validated in one place before any resource is declared.

Defaults live in `Pulumi.yaml` (the Pulumi CLI applies them); this module insists that every key
is present, parses it, and checks it, so a bad stack stops with one message naming the key.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import pulumi

from infra.function_specs import FUNCTION_SPECS, SPEC_BY_NAME

# The roles and the alarm Region are the topology model's; infra's modules take them from here.
from topology import ALARM_REGION as ALARM_REGION
from topology import ROLES as ROLES
from topology import AppNames, Role

PROJECT = "multi-region-authorizer"
PARTITION = "aws"  # every ARN this program builds is in the commercial partition
STAGE_NAME = "prod"
METRICS_NAMESPACE = "MultiRegionAuthorizer"  # the functions' own metrics (docs/contracts.md)
HEALTH_PATH = "/health"
FUNCTIONS = tuple(spec.name for spec in FUNCTION_SPECS)
# The functions AWS FIS Lambda actions target (they get the FIS extension's wiring).
FAULT_INJECTION_FUNCTIONS = tuple(
    spec.name for spec in FUNCTION_SPECS if spec.fault_injection_target
)
# The Region's own signals; each is one alarm `<app>-<role>-<signal>`.
REGION_SIGNALS = ("api-5xx", "api-p99-latency", "authorizer-errors", "lambda-throttles")

# Lambda refuses a function whose environment variables exceed 4 KB in total.
LAMBDA_ENVIRONMENT_LIMIT_BYTES = 4096
# What signature verification needs from a JWK (RFC 7517/7518); `x5c` chains, thumbprints and
# the like can be kilobytes per key and would only eat into the 4 KB environment.
JWK_VERIFICATION_MEMBERS = ("kty", "kid", "use", "alg", "n", "e", "crv", "x", "y")
# The FIS configuration location is `arn:aws:s3:::<bucket>/FisConfigs/`; bucket names are at most
# 63 characters, so the size check reserves the longest.
LONGEST_FIS_CONFIGURATION_LOCATION = "arn:aws:s3:::" + "b" * 63 + "/FisConfigs/"

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


class ConfigError(ValueError):
    """A stack setting is missing or invalid; `key` is the fully qualified config key."""

    def __init__(self, key: str, problem: str) -> None:
        self.key = key
        self.problem = problem
        super().__init__(f"config key '{key}': {problem}")


class StackNameError(ValueError):
    """A name derived from the project and stack names would not fit an AWS limit."""

    def __init__(self, stack: str, problem: str) -> None:
        self.stack = stack
        self.problem = problem
        super().__init__(f"stack '{stack}': {problem}")


@dataclass(frozen=True)
class AuthSettings:
    issuers: tuple[str, ...]
    audience: str
    jwks_uri: str
    jwks_pinned: str  # JWKS JSON, or "" for none


@dataclass(frozen=True)
class HealthCheckSettings:
    request_interval: int
    failure_threshold: int


@dataclass(frozen=True)
class AlarmThresholds:
    api_5xx_rate_percent: int
    api_p99_latency_ms: int
    authorizer_errors: int
    lambda_throttles: int
    evaluation_minutes: int


@dataclass(frozen=True)
class FaultInjectionSettings:
    enabled: bool
    duration_minutes: int
    invocation_percentage: int
    delay_ms: int


@dataclass(frozen=True)
class Settings:
    project: str
    stack: str
    primary_region: str
    secondary_region: str
    domain_name: str
    hosted_zone: str
    auth: AuthSettings
    lambda_runtime: str
    lambda_memory_mb: int
    log_retention_days: int
    authorizer_cache_ttl: int
    throttle_rate_limit: int
    throttle_burst_limit: int
    secondary_provisioned_concurrency: int
    table_deletion_protection: bool
    health_check: HealthCheckSettings
    auto_failover: bool
    alarm_email: str
    manage_api_gateway_account: bool
    alarms: AlarmThresholds
    fault_injection: FaultInjectionSettings

    # Names other parts rely on (docs/contracts.md); derived here so there is one spelling (the
    # topology model's AppNames for those opsctl finds too).
    @property
    def app(self) -> str:
        return f"{self.project}-{self.stack}"

    @property
    def names(self) -> AppNames:
        return AppNames(self.app)

    @property
    def record_name(self) -> str:
        """The shared hostname, fully qualified with a trailing dot (Route 53's spelling)."""
        return f"{self.domain_name}."

    @property
    def table_name(self) -> str:
        return self.names.table_name

    @property
    def failure_switch_parameter(self) -> str:
        return self.names.failure_switch_parameter

    @property
    def alarm_topic_name(self) -> str:
        return f"{self.app}-alarms"

    @property
    def dependency_layer_name(self) -> str:
        return f"{self.app}-deps"

    @property
    def access_log_group_name(self) -> str:
        return f"/aws/apigateway/{self.app}-access"

    def log_group_name(self, function: str) -> str:
        return f"/aws/lambda/{self.function_name(function)}"

    def rest_api_name(self, role: Role) -> str:
        return f"{self.app}-{role}"

    def region_alarm_name(self, role: Role, signal: str) -> str:
        return f"{self.app}-{role}-{signal}"

    def region_alarm_topic_name(self, role: Role) -> str:
        return f"{self.app}-{role}-region-alarms"

    def region_of(self, role: Role) -> str:
        return role.pick(self.primary_region, self.secondary_region)

    def health_alarm_name(self, role: Role) -> str:
        return self.names.health_alarm_name(role)

    def impaired_alarm_name(self, role: Role) -> str:
        return self.names.impaired_alarm_name(role)

    @property
    def out_of_service_alarm_name(self) -> str:
        """The data-plane lever's alarm, in the secondary Region."""
        return self.names.out_of_service_alarm_name

    @property
    def operator_policy_name(self) -> str:
        return f"{self.app}-operator"

    def function_name(self, function: str) -> str:
        return f"{self.app}-{function}"


# The config keys behind the variables a stack's config decides (the others are derived).
CONFIG_KEY_BY_VARIABLE = {
    "AUTH_ISSUERS": "authIssuers",
    "AUTH_AUDIENCE": "authAudience",
    "AUTH_JWKS_URI": "authJwksUri",
    "AUTH_JWKS_PINNED": "authJwksPinned",
}


def function_environment(
    settings: Settings,
    function: str,
    fis_configuration_location: pulumi.Input[str] | None = None,
) -> dict[str, pulumi.Input[str]]:
    """Every environment variable of `function` (docs/contracts.md); with a FIS configuration
    location (fault injection on, a targeted function), the FIS extension's wiring too."""
    env: dict[str, pulumi.Input[str]] = {
        "TABLE_NAME": settings.table_name,
        "POWERTOOLS_SERVICE_NAME": function,
        "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
        "POWERTOOLS_LOG_LEVEL": "INFO",
    }
    spec = SPEC_BY_NAME[function]
    if spec.verifies_tokens:
        env |= {
            "AUTH_ISSUERS": ",".join(settings.auth.issuers),
            "AUTH_AUDIENCE": settings.auth.audience,
            "AUTH_JWKS_URI": settings.auth.jwks_uri,
        }
        if settings.auth.jwks_pinned:
            env["AUTH_JWKS_PINNED"] = settings.auth.jwks_pinned
    if spec.reads_failure_switch:
        env["FAILURE_SWITCH_PARAMETER"] = settings.failure_switch_parameter
    if fis_configuration_location is not None:
        env |= {
            "AWS_LAMBDA_EXEC_WRAPPER": "/opt/aws-fis/bootstrap",
            "AWS_FIS_CONFIGURATION_LOCATION": fis_configuration_location,
        }
    return env


def variable_size(name: str, value: str) -> int:
    """Bytes one variable adds to the environment: name and value in UTF-8, with the quoting,
    colon and comma of the JSON object the Lambda API receives (a slight overcount at worst)."""
    return len(json.dumps({name: value}, ensure_ascii=False, separators=(",", ":")).encode()) - 1


def environment_size(env: Mapping[str, str]) -> int:
    return 1 + sum(variable_size(name, value) for name, value in env.items())


def derived_names(settings: Settings) -> list[tuple[str, str, int]]:
    """Every AWS name built from the project and stack names: (what it names, name, AWS's
    maximum length). The IAM roles are named by Pulumi from fixed logical names."""
    names = [
        ("DynamoDB table name", settings.table_name, 255),
        # 2048 characters include 1037 that Parameter Store reserves for internal use.
        ("SSM parameter name", settings.failure_switch_parameter, 1011),
        ("SNS topic name", settings.alarm_topic_name, 256),
        ("Lambda layer name", settings.dependency_layer_name, 140),
        ("CloudWatch Logs log group name", settings.access_log_group_name, 512),
        ("CloudWatch dashboard name", settings.app, 255),
        ("CloudWatch alarm name", settings.out_of_service_alarm_name, 255),
        ("IAM policy name", settings.operator_policy_name, 128),
    ]
    for function in FUNCTIONS:
        names.append(("Lambda function name", settings.function_name(function), 64))
        names.append(("CloudWatch Logs log group name", settings.log_group_name(function), 512))
    for role in ROLES:
        names.append(("SNS topic name", settings.region_alarm_topic_name(role), 256))
        names.append(("API Gateway REST API name", settings.rest_api_name(role), 1024))
        alarms = [settings.health_alarm_name(role), settings.impaired_alarm_name(role)]
        alarms += [settings.region_alarm_name(role, signal) for signal in REGION_SIGNALS]
        names += [("CloudWatch alarm name", alarm, 255) for alarm in alarms]
    return names


# Lambda function, SNS topic and dashboard names allow only these; Pulumi stacks also allow "."
_NAME_PART_RE = re.compile(r"^[A-Za-z0-9_-]+$")


def _check_derived_names(settings: Settings) -> None:
    if not _NAME_PART_RE.match(settings.stack):
        raise StackNameError(
            settings.stack,
            "may contain only letters, digits, '-' and '_' (it is part of the Lambda function, "
            "SNS topic and dashboard names)",
        )
    names = derived_names(settings)
    longest_stack = len(settings.stack) + min(limit - len(name) for _, name, limit in names)
    for what, name, limit in names:
        if len(name) > limit:
            raise StackNameError(
                settings.stack,
                f"the {what} {name!r} would be {len(name)} characters, over AWS's limit of "
                f"{limit}; stack names of this project can be at most {longest_stack} characters",
            )


def _check_environment_sizes(reader: _Reader, settings: Settings) -> None:
    """Lambda refuses an environment over 4 KB at deploy time; refuse it here, naming the key."""
    for function in FUNCTIONS:
        targeted = settings.fault_injection.enabled and function in FAULT_INJECTION_FUNCTIONS
        location = LONGEST_FIS_CONFIGURATION_LOCATION if targeted else None
        env: dict[str, Any] = function_environment(settings, function, location)
        size = environment_size(env)
        if size <= LAMBDA_ENVIRONMENT_LIMIT_BYTES:
            continue
        sizes = {
            name: variable_size(name, value)
            for name, value in env.items()
            if name in CONFIG_KEY_BY_VARIABLE
        }
        largest = max(sizes, key=sizes.__getitem__)
        raise ConfigError(
            reader.key(CONFIG_KEY_BY_VARIABLE[largest]),
            f"the {function} function's environment would be {size} bytes, over Lambda's "
            f"limit of {LAMBDA_ENVIRONMENT_LIMIT_BYTES} bytes (4 KB); {largest} is "
            f"{sizes[largest]} bytes of it",
        )


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

    def check(self, name: str, value: T, ok: Callable[[T], bool], problem: str) -> T:
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
    )
    _check_derived_names(settings)
    _check_environment_sizes(reader, settings)
    return settings
