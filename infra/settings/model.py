"""A stack's typed settings, the program's constants, and the names derived from them.

`infra.settings.config.load_settings` builds a `Settings` from the stack config; every component
takes it.
"""

from __future__ import annotations

from dataclasses import dataclass

from infra.settings.function_specs import FUNCTION_SPECS

# The roles and the alarm Region are the topology model's; infra's modules take them from here.
from stack_topology import ALARM_REGION as ALARM_REGION
from stack_topology import HEALTH_PATH as HEALTH_PATH
from stack_topology import ROLES as ROLES
from stack_topology import SIGNED_HEALTH_PATH as SIGNED_HEALTH_PATH
from stack_topology import AppNames
from stack_topology import Role as Role
from stack_topology import per_role as per_role

PROJECT = "multi-region-authorizer"
PARTITION = "aws"  # every ARN this program builds is in the commercial partition
STAGE_NAME = "prod"
METRICS_NAMESPACE = "MultiRegionAuthorizer"  # the functions' own metrics (docs/contracts.md)
# The data-plane lever's metric: a namespace of its own, so the operator policy's PutMetricData
# (limited to it) cannot forge the functions' metrics.
LEVER_METRICS_NAMESPACE = "MultiRegionAuthorizer/Lever"
FUNCTIONS = tuple(spec.name for spec in FUNCTION_SPECS)
# The functions AWS FIS Lambda actions target (they get the FIS extension's wiring).
FAULT_INJECTION_FUNCTIONS = tuple(
    spec.name for spec in FUNCTION_SPECS if spec.fault_injection_target
)
# The Region's own signals; each is one alarm `<app>-<role>-<signal>`.
REGION_SIGNALS = ("api-5xx", "api-p99-latency", "authorizer-errors", "lambda-throttles")
# Not an impairment but a warning ahead of one: alarm `<app>-<role>-certificate-expiry`.
CERTIFICATE_SIGNAL = "certificate-expiry"


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
    # A Region the program must not call during this deploy ("" for none): its providers skip
    # their start-up checks and the account id is read elsewhere (an incident deploy).
    incident_region: str = ""
    # Tags every provider adds to each resource (the AWS provider's default_tags).
    default_tags: tuple[tuple[str, str], ...] = ()

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
    def alerts_topic_name(self) -> str:
        """Each Region's own topic for the watcher's alarm (us-east-1 included)."""
        return f"{self.app}-alerts"

    @property
    def watch_schedule_name(self) -> str:
        """The EventBridge rule invoking the Region's peer watcher each minute."""
        return f"{self.app}-watch"

    def unreachable_alarm_name(self, watched: Role) -> str:
        return self.names.unreachable_alarm_name(watched)

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

    def health_check_tags(self, role: Role, zone_id: str) -> dict[str, str]:
        """A Region's health check's discovery tags (docs/contracts.md), exactly; the lever's and
        the calculated check carry the primary's, with their own Name and AlarmName."""
        region = self.region_of(role)
        return {
            "Name": f"{self.app}-{role}",
            "App": self.app,
            "Role": role,
            "Region": region,
            "HostedZoneId": zone_id.removeprefix("/hostedzone/"),
            "RecordName": self.record_name,
            "SetIdentifier": region,
            "AlarmName": self.health_alarm_name(role),
            "FailureSwitch": self.failure_switch_parameter,
            "ImpairedAlarmName": self.impaired_alarm_name(role),
        }

    @property
    def out_of_service_alarm_name(self) -> str:
        """The data-plane lever's alarm, in the secondary Region."""
        return self.names.out_of_service_alarm_name

    @property
    def operator_policy_name(self) -> str:
        return f"{self.app}-operator"

    def function_name(self, function: str) -> str:
        return f"{self.app}-{function}"
