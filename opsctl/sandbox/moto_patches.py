"""Every change the sandbox makes to moto, in one place: `install` before the server starts.

Each patch replaces or wraps one of moto's request handlers (or adds a route moto lacks) and
says which moto behaviour it corrects; the logic lives in the layer it hands the request to
(`route53.changes`, `route53.data_plane`, `awslambda.apis`). The patches reach into moto's internals
(response classes, URL tables, model properties), so moto is pinned to the tested minor release
in pyproject.toml; a new moto wants this module checked first.

moto's handlers are taken once, when this module is imported, so installing again (a second
emulator in one process) replaces the layers instead of wrapping the previous patch.
"""

from __future__ import annotations

from moto.awslambda import urls as lambda_urls
from moto.awslambda.responses import LambdaResponse
from moto.cloudwatch.models import Alarm
from moto.cloudwatch.responses import CloudWatchResponse
from moto.core.responses import ActionResult, EmptyResult
from moto.route53 import urls as route53_urls
from moto.route53.models import FakeZone, HealthCheck
from moto.route53.responses import Route53 as Route53Response

from opsctl.sandbox.awslambda.apis import LambdaAccountSettings, ProvisionedConcurrency
from opsctl.sandbox.route53.changes import FaithfulRoute53
from opsctl.sandbox.route53.data_plane import HealthCheckObservations, Route53DataPlane

_MOTO_GET_HEALTH_CHECK_STATUS = Route53Response.get_health_check_status
_MOTO_CREATE_HEALTH_CHECK = Route53Response.create_health_check
_MOTO_UPDATE_HEALTH_CHECK = Route53Response.update_health_check
_MOTO_HEALTH_CHECK_CONFIG = vars(HealthCheck)["health_check_config"].fget
_MOTO_ALARM_UPDATE_STATE = Alarm.update_state
_HOSTED_ZONE_FEATURES_URL = r"{0}/(?P<api_version>[\d_-]+)/hostedzone/(?P<zone_id>[^/]+)/features$"
_LAMBDA_ACCOUNT_SETTINGS_URL = r"{0}/(?P<api_version>[^/]+)/account-settings/?$"
_PROVISIONED_CONCURRENCY_URL = (
    r"{0}/(?P<api_version>[^/]+)/functions/(?P<function_name>[\w_:%-]+)"
    r"/provisioned-concurrency/?$"
)


def install(
    *,
    route53: FaithfulRoute53,
    health_checks: HealthCheckObservations,
    data_plane: Route53DataPlane,
    lambda_account: LambdaAccountSettings,
    provisioned_concurrency: ProvisionedConcurrency,
) -> None:
    """Patch moto (in this process) so its server answers as AWS does where the product relies
    on it, with the given layers holding what moto does not keep."""

    # Route 53 ChangeResourceRecordSets: moto accepts a DELETE with the wrong Weight, deletes
    # every record sharing a SetIdentifier, lets weights over 255 pass and refuses a CREATE that
    # repeats one in the zone's journal. Route 53 validates the batch in order against the
    # current records and applies it atomically or not at all (InvalidChangeBatch).
    _patch(
        Route53Response,
        "change_resource_record_sets",
        lambda self: route53.change_resource_record_sets(self),
    )
    # Route 53 GetChange: moto answers INSYNC at once for any id, even one never issued; Route 53
    # keeps each change PENDING while it propagates and refuses an unknown id (NoSuchChange).
    _patch(Route53Response, "get_change", lambda self: route53.get_change(self))

    # Route 53 GetHealthCheckStatus: moto always answers one healthy checker; Route 53 answers
    # what each of its checkers last observed (the sandbox's checkers record it), and for a
    # CLOUDWATCH_METRIC check its own evaluation of the alarm's metric (not the alarm's state).
    def get_health_check_status(self: Route53Response) -> ActionResult:
        health_check_id = self._get_param("HealthCheckId")
        observations = health_checks.observations(health_check_id)
        if observations is None:
            observations = data_plane.metric_check_observations(health_check_id)
        if observations is None:  # nobody probes it: moto's answer
            return _MOTO_GET_HEALTH_CHECK_STATUS(self)
        return ActionResult({"HealthCheckObservations": observations})

    # Route 53 CreateHealthCheck / UpdateHealthCheck: moto drops a CLOUDWATCH_METRIC check's
    # AlarmIdentifier and InsufficientDataHealthStatus, which decide its status.
    def create_health_check(self: Route53Response) -> ActionResult:
        result = _MOTO_CREATE_HEALTH_CHECK(self)
        data_plane.keep(_health_check_in(result), self._get_param("HealthCheckConfig") or {})
        return result

    def update_health_check(self: Route53Response) -> ActionResult:
        result = _MOTO_UPDATE_HEALTH_CHECK(self)
        data_plane.keep(
            _health_check_in(result),
            {
                "AlarmIdentifier": self._get_param("AlarmIdentifier"),
                "InsufficientDataHealthStatus": self._get_param("InsufficientDataHealthStatus"),
            },
        )
        return result

    _patch(Route53Response, "get_health_check_status", get_health_check_status)
    _patch(Route53Response, "create_health_check", create_health_check)
    _patch(Route53Response, "update_health_check", update_health_check)
    # Get/ListHealthChecks: moto shows a metric check with endpoint settings and without its
    # alarm; Route 53 shows its AlarmIdentifier and InsufficientDataHealthStatus instead.
    _patch(
        HealthCheck,
        "health_check_config",
        property(lambda check: data_plane.shown_config(check, _MOTO_HEALTH_CHECK_CONFIG(check))),
    )

    # Route 53 GetHostedZone / UpdateHostedZoneFeatures: moto shows no Features and has no route
    # for the update (404). Route 53 reports the zone's AcceleratedRecoveryStatus, off until the
    # zone's owner opts in (the sandbox's switch is immediate; Route 53's goes through ENABLING).
    _patch(
        FakeZone,
        "features",
        property(
            lambda zone: {
                "AcceleratedRecoveryStatus": getattr(zone, "accelerated_recovery", "DISABLED")
            }
        ),
    )
    route53_urls.url_paths[_HOSTED_ZONE_FEATURES_URL] = Route53Response.dispatch

    def update_hosted_zone_features(self: Route53Response) -> EmptyResult:
        zone = self.backend.get_hosted_zone(self._get_param("Id"))
        enable = self._get_param("EnableAcceleratedRecovery")
        if enable is not None:
            on = str(enable).lower() == "true"  # the XML body's text
            _patch(zone, "accelerated_recovery", "ENABLED" if on else "DISABLED")
        return EmptyResult()

    _patch(Route53Response, "update_hosted_zone_features", update_hosted_zone_features)

    # CloudWatch DescribeAlarms: moto has no StateTransitionedTimestamp. CloudWatch moves it only
    # when the state changes, and StateUpdatedTimestamp on any state update (a SetAlarmState to
    # the same state, a new reason).
    def update_state(alarm: Alarm, reason: str, reason_data: str, state_value: str) -> None:
        changed = state_value != alarm.state_value
        _MOTO_ALARM_UPDATE_STATE(alarm, reason, reason_data, state_value)
        if changed:
            _patch(alarm, "transitioned_at", alarm.state_updated_timestamp)

    _patch(Alarm, "update_state", update_state)
    _patch(
        Alarm,
        "state_transitioned_timestamp",
        property(
            lambda alarm: getattr(alarm, "transitioned_at", alarm.configuration_updated_timestamp)
        ),
    )

    # CloudWatch PutCompositeAlarm: moto routes no action to it, though its PutMetricAlarm
    # handler already stores an alarm with an AlarmRule as a composite alarm (DescribeAlarms
    # lists it so).
    _patch(CloudWatchResponse, "put_composite_alarm", CloudWatchResponse.put_metric_alarm)

    # Lambda GetAccountSettings: moto has no route for it (404); AWS answers the account's
    # concurrency limit and what the functions' reserved concurrency leaves of it.
    lambda_urls.url_paths[_LAMBDA_ACCOUNT_SETTINGS_URL] = LambdaResponse.dispatch
    _patch(
        LambdaResponse,
        "get_account_settings",
        lambda self: lambda_account.get_account_settings(self),
    )

    # Lambda provisioned concurrency configs: moto has no route for them (404); AWS keeps one
    # per alias or version and lists them per function.
    lambda_urls.url_paths[_PROVISIONED_CONCURRENCY_URL] = LambdaResponse.dispatch
    put, get, delete = (
        provisioned_concurrency.put,
        provisioned_concurrency.get,
        provisioned_concurrency.delete,
    )
    _patch(LambdaResponse, "put_provisioned_concurrency_config", lambda self: put(self))
    _patch(LambdaResponse, "get_provisioned_concurrency_config", lambda self: get(self))
    _patch(LambdaResponse, "list_provisioned_concurrency_configs", lambda self: get(self))
    _patch(LambdaResponse, "delete_provisioned_concurrency_config", lambda self: delete(self))


def _patch(target: object, name: str, value: object) -> None:
    """Set one attribute of moto's classes or objects. setattr, because a patch replaces a method
    or adds what moto does not declare, which a type checker rightly refuses as an assignment."""
    setattr(target, name, value)


def _health_check_in(result: ActionResult) -> HealthCheck:
    """The health check in moto's Create/UpdateHealthCheck result."""
    body = result.result
    if not isinstance(body, dict) or not isinstance(body.get("HealthCheck"), HealthCheck):
        raise TypeError(f"moto's health check handler answered {body!r}")  # moto changed
    return body["HealthCheck"]
