"""The local AWS emulator: moto in server mode on loopback, with a faithful Route 53 change layer.

moto serves every Region and us-east-1 from one endpoint. Its own ChangeResourceRecordSets is not
faithful enough for failover and fallback: a DELETE with the
wrong Weight is accepted, a DELETE by SetIdentifier removes every record with that id, weights over
255 pass, and a CREATE that repeats an earlier one in the zone's journal is refused. Failover is a
compare-and-swap on exactly these semantics, so this module replaces that one call with Route 53's:
the whole batch is validated in order against the current records (CREATE fails if the
name/type/set identifier exists, DELETE must equal the current record exactly, UPSERT replaces,
weights 0-255) and then applied atomically, or not at all with a real `InvalidChangeBatch` error.

It also gives every change its own id and, when asked, keeps it PENDING for a propagation delay
before GetChange reports INSYNC, as Route 53 does, so waiting for INSYNC can be rehearsed.

Only the sandbox and the tests use this module; nothing in the product imports it.
"""

from __future__ import annotations

import copy
import json
import secrets
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

from moto.awslambda import urls as lambda_urls
from moto.awslambda.responses import LambdaResponse
from moto.cloudwatch import responses as cloudwatch_responses
from moto.cloudwatch.models import MetricDatum, cloudwatch_backends
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.exceptions import ServiceException
from moto.core.responses import TYPE_RESPONSE, ActionResult
from moto.core.utils import utcnow
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.route53 import responses as route53_responses
from moto.route53.models import FakeZone, HealthCheck, RecordSet, Route53Backend, route53_backends
from moto.route53.utils import validate_domain_name

from opsctl.sandbox.alarms import MetricSeries

MAX_WEIGHT = 255
_ACTIONS = ("CREATE", "DELETE", "UPSERT")
# The attributes Route 53 compares when a DELETE must match the current record exactly.
_RECORD_FIELDS = (
    "Name",
    "Type",
    "SetIdentifier",
    "Weight",
    "Region",
    "Failover",
    "GeoLocation",
    "MultiValueAnswer",
    "HealthCheckId",
    "TTL",
    "ResourceRecords",
    "AliasTarget",
)


class InvalidChangeBatch(ServiceException):
    """Route 53's error for a batch that does not apply; nothing in the batch is applied."""

    code = "InvalidChangeBatch"

    def __init__(self, messages: list[str]) -> None:
        super().__init__("[" + ", ".join(messages) + "]")


class InvalidInput(ServiceException):
    code = "InvalidInput"


class NoSuchChange(ServiceException):
    code = "NoSuchChange"


def _fqdn(name: str) -> str:
    name = name.lower()
    return name if name.endswith(".") else name + "."


def canonical_record(record: dict[str, Any]) -> dict[str, Any]:
    """A record set as Route 53 compares it: names lower-case with a trailing dot, values plain."""
    canonical: dict[str, Any] = {}
    for key in _RECORD_FIELDS:
        value = record.get(key)
        if value in (None, [], {}):
            continue
        if key == "Name":
            value = _fqdn(value)
        elif key in ("Weight", "TTL"):
            value = int(value)
        elif key == "ResourceRecords":
            value = sorted(item["Value"] if isinstance(item, dict) else item for item in value)
        elif key == "AliasTarget":
            value = {
                "HostedZoneId": value["HostedZoneId"],
                "DNSName": _fqdn(value["DNSName"]),
                "EvaluateTargetHealth": str(value.get("EvaluateTargetHealth")).lower() == "true",
            }
        canonical[key] = value
    return canonical


def _stored_record(record_set: RecordSet) -> dict[str, Any]:
    return canonical_record(
        {
            "Name": record_set.name,
            "Type": record_set.type,
            "SetIdentifier": record_set.set_identifier,
            "Weight": record_set.weight,
            "Region": record_set.region,
            "Failover": record_set.failover,
            "GeoLocation": record_set.geo_location,
            "MultiValueAnswer": record_set.multi_value_answer,
            "HealthCheckId": record_set.health_check_id,
            "TTL": record_set.ttl,
            "ResourceRecords": record_set.records,
            "AliasTarget": record_set.alias_target,
        }
    )


def _record_key(record: dict[str, Any]) -> tuple[str, str, str | None]:
    return (record["Name"], record["Type"], record.get("SetIdentifier"))


def _describe(record: dict[str, Any]) -> str:
    return (
        f"[name='{record['Name']}', type='{record['Type']}', "
        f"set-identifier='{record.get('SetIdentifier')}']"
    )


def _validate_record(record: dict[str, Any], zone: FakeZone) -> None:
    validate_domain_name(record["Name"], code="InvalidChangeBatch")
    if not (record["Name"] == zone.name or record["Name"].endswith("." + zone.name)):
        raise InvalidChangeBatch(
            [f"RRSet with DNS name {record['Name']} is not permitted in zone {zone.name}"]
        )
    weight = record.get("Weight")
    if weight is not None and not 0 <= weight <= MAX_WEIGHT:
        raise InvalidInput(
            f"1 validation error detected: Value '{weight}' at 'changeBatch.changes.1.member."
            f"resourceRecordSet.weight' failed to satisfy constraint: Member must have value "
            f"less than or equal to {MAX_WEIGHT}"
        )


def _moto_kwargs(record: dict[str, Any]) -> dict[str, Any]:
    """The keyword form moto's RecordSet stores (resource records as plain values)."""
    kwargs = dict(record)
    if "ResourceRecords" in kwargs:
        kwargs["ResourceRecords"] = list(kwargs["ResourceRecords"])
    return kwargs


@dataclass
class _Change:
    change_id: str
    submitted_at: Any
    insync_after: float
    comment: str | None

    def info(self) -> dict[str, Any]:
        status = "INSYNC" if time.monotonic() >= self.insync_after else "PENDING"
        info = {
            "Id": f"/change/{self.change_id}",
            "Status": status,
            "SubmittedAt": self.submitted_at,
        }
        if self.comment:
            info["Comment"] = self.comment
        return info


@dataclass
class FaithfulRoute53:
    """Route 53's batch semantics over moto's zone storage; one instance per emulator process."""

    propagation_seconds: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _changes: dict[str, _Change] = field(default_factory=dict)

    def apply(
        self,
        backend: Route53Backend,
        zone_id: str,
        changes: list[dict[str, Any]],
        comment: str | None,
    ) -> _Change:
        zone = backend.get_hosted_zone(zone_id)
        with self._lock:
            current = [(_stored_record(rs), rs) for rs in zone.rrsets]
            proposed: dict[tuple[str, str, str | None], tuple[dict[str, Any], RecordSet | None]] = {
                _record_key(record): (record, rs) for record, rs in current
            }
            errors: list[str] = []
            for change in changes:
                action = change.get("Action")
                if action not in _ACTIONS:
                    raise InvalidInput(f"Invalid Action: {action}")
                record = canonical_record(change["ResourceRecordSet"])
                _validate_record(record, zone)
                key = _record_key(record)
                existing = proposed.get(key)
                if action == "CREATE":
                    if existing is not None:
                        errors.append(
                            f"Tried to create resource record set {_describe(record)} "
                            "but it already exists"
                        )
                        continue
                    proposed[key] = (record, None)
                elif action == "UPSERT":
                    proposed[key] = (record, None)
                elif existing is None:
                    errors.append(
                        f"Tried to delete resource record set {_describe(record)} "
                        "but it was not found"
                    )
                elif existing[0] != record:
                    errors.append(
                        f"Tried to delete resource record set {_describe(record)} "
                        "but the values provided do not match the current values"
                    )
                else:
                    del proposed[key]
            if errors:
                raise InvalidChangeBatch(errors)
            # Untouched records keep their moto objects; new ones are built from the request.
            zone.rrsets = [
                stored if stored is not None else RecordSet(_moto_kwargs(record))
                for record, stored in proposed.values()
            ]
            for change in changes:
                zone.rr_changes.append(copy.deepcopy(change))
            recorded = _Change(
                change_id="C" + secrets.token_hex(10).upper(),
                submitted_at=utcnow(),
                insync_after=time.monotonic() + self.propagation_seconds,
                comment=comment,
            )
            self._changes[recorded.change_id] = recorded
            return recorded

    def get(self, change_id: str) -> _Change | None:
        return self._changes.get(change_id.rsplit("/", 1)[-1])

    def install(self) -> None:
        """Route moto's ChangeResourceRecordSets and GetChange responses through this layer."""
        layer = self

        def change_resource_record_sets(self: route53_responses.Route53) -> ActionResult:
            change = layer.apply(
                self.backend,
                self._get_param("HostedZoneId"),
                self._get_param("ChangeBatch.Changes") or [],
                self._get_param("ChangeBatch.Comment"),
            )
            return ActionResult({"ChangeInfo": change.info()})

        def get_change(self: route53_responses.Route53) -> ActionResult:
            change_id = self._get_param("Id")
            change = layer.get(change_id)
            if change is None:
                raise NoSuchChange(f"Could not find resource with ID: {change_id}")
            return ActionResult({"ChangeInfo": change.info()})

        route53_responses.Route53.change_resource_record_sets = change_resource_record_sets
        route53_responses.Route53.get_change = get_change


@dataclass
class HealthCheckObservations:
    """What each Route 53 checker last saw, per health check, for GetHealthCheckStatus.

    moto always answers one healthy checker. The sandbox's own checkers (opsctl.sandbox.
    healthcheck) record their latest observations here, so GetHealthCheckStatus reports what
    they saw, as Route 53 does; a health check nobody probes keeps moto's answer.
    """

    _lock: threading.Lock = field(default_factory=threading.Lock)
    _latest: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def record(self, health_check_id: str, observations: list[dict[str, Any]]) -> None:
        """`observations`: GetHealthCheckStatus HealthCheckObservations entries."""
        with self._lock:
            self._latest[health_check_id] = copy.deepcopy(observations)

    def install(self) -> None:
        layer = self
        moto_answer = route53_responses.Route53.get_health_check_status

        def get_health_check_status(self: route53_responses.Route53) -> ActionResult:
            with layer._lock:
                observations = layer._latest.get(self._get_param("HealthCheckId"))
            if observations is None:
                return moto_answer(self)
            return ActionResult({"HealthCheckObservations": observations})

        route53_responses.Route53.get_health_check_status = get_health_check_status


# InsufficientDataHealthStatus: what a CLOUDWATCH_METRIC check reports while its alarm has no data.
_INSUFFICIENT_DATA_STATUS = {"Healthy": True, "Unhealthy": False}


@dataclass
class Route53DataPlane:
    """Route 53's data plane inside the emulator: every health check's status and the records a
    DNS answer is chosen from, read from moto's backend in-process — never through the API,
    which an outage of us-east-1 takes away (Route 53's control plane lives there; its data
    plane does not).

    moto drops a CLOUDWATCH_METRIC check's AlarmIdentifier and InsufficientDataHealthStatus;
    `install` keeps them on moto's own health-check objects and shows them in the API's answers.
    A check's status, as Route 53 computes it:
    - HTTP/HTTPS/TCP: the sandbox's checkers' verdict (`record_checkers`), healthy until they
      report;
    - CLOUDWATCH_METRIC: the named alarm's state in its Region (OK healthy, ALARM unhealthy;
      INSUFFICIENT_DATA as InsufficientDataHealthStatus says: Healthy, Unhealthy or
      LastKnownStatus, healthy when there is none);
    - CALCULATED: healthy while at least HealthThreshold of its children are;
    then Inverted flips it and a Disabled check is healthy.
    """

    account_id: str = DEFAULT_ACCOUNT_ID
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _checkers: dict[str, bool] = field(default_factory=dict)

    def record_checkers(self, health_check_id: str, healthy: bool) -> None:
        with self._lock:
            self._checkers[health_check_id] = healthy

    def _backend(self) -> Route53Backend:
        return route53_backends[self.account_id]["aws"]

    def healthy(self, health_check_id: str) -> bool:
        check = self._backend().health_checks.get(health_check_id)
        if check is None:  # deleted under the record: Route 53 answers as if it were healthy
            return True
        if check.disabled:
            return True
        if check.type_ == "CLOUDWATCH_METRIC":
            status = self._alarm_status(check)
        elif check.type_ == "CALCULATED":
            children = check.children or []
            status = sum(self.healthy(child) for child in children) >= int(
                check.health_threshold or 0
            )
        else:
            with self._lock:
                status = self._checkers.get(health_check_id, True)
        return status != bool(check.inverted)

    def _alarm_status(self, check: HealthCheck) -> bool:
        identifier = getattr(check, "alarm_identifier", None) or {}
        backend = cloudwatch_backends[self.account_id].get(identifier.get("Region", ""))
        alarm = backend.alarms.get(identifier.get("Name", "")) if backend is not None else None
        state = alarm.state_value if alarm is not None else "INSUFFICIENT_DATA"
        if state in ("OK", "ALARM"):
            return state == "OK"
        insufficient = getattr(check, "insufficient_data_health_status", None)
        if insufficient in _INSUFFICIENT_DATA_STATUS:
            return _INSUFFICIENT_DATA_STATUS[insufficient]
        # LastKnownStatus: the alarm's latest OK or ALARM (moto's history keeps each old state).
        earlier = [entry[3] for entry in (alarm.history if alarm is not None else [])]
        known = [old for old in earlier if old in ("OK", "ALARM")]
        return not known or known[-1] == "OK"

    def zone_name(self, hosted_zone_id: str) -> str:
        return str(self._backend().get_hosted_zone(hosted_zone_id).name)

    def records(self, hosted_zone_id: str, name: str, record_type: str) -> list[dict[str, Any]]:
        """The zone's record sets of that name and type, as ListResourceRecordSets shows them."""
        zone = self._backend().get_hosted_zone(hosted_zone_id)
        wanted = _fqdn(name)
        return [
            _stored_record(record_set)
            for record_set in list(zone.rrsets)
            if _fqdn(record_set.name) == wanted and record_set.type == record_type
        ]

    def install(self) -> None:
        """Keep what moto drops from CreateHealthCheck/UpdateHealthCheck, and show it."""
        moto_create = route53_responses.Route53.create_health_check
        moto_update = route53_responses.Route53.update_health_check
        moto_config = HealthCheck.health_check_config.fget  # type: ignore[attr-defined]

        def keep(check: HealthCheck, config: dict[str, Any]) -> None:
            if config.get("AlarmIdentifier"):
                check.alarm_identifier = dict(config["AlarmIdentifier"])  # type: ignore[attr-defined]
            if config.get("InsufficientDataHealthStatus"):
                check.insufficient_data_health_status = config["InsufficientDataHealthStatus"]  # type: ignore[attr-defined]

        def create_health_check(self: route53_responses.Route53) -> ActionResult:
            result = moto_create(self)
            keep(result.result["HealthCheck"], self._get_param("HealthCheckConfig") or {})  # type: ignore[index]
            return result

        def update_health_check(self: route53_responses.Route53) -> ActionResult:
            result = moto_update(self)
            keep(
                result.result["HealthCheck"],  # type: ignore[index]
                {
                    "AlarmIdentifier": self._get_param("AlarmIdentifier"),
                    "InsufficientDataHealthStatus": self._get_param("InsufficientDataHealthStatus"),
                },
            )
            return result

        def health_check_config(check: HealthCheck) -> dict[str, Any]:
            config = moto_config(check)
            if check.type_ != "CLOUDWATCH_METRIC":
                return config
            # Route 53 shows no endpoint settings (port, interval, ...) for a metric check.
            shown = {key: config[key] for key in ("Type", "Inverted", "Disabled")}
            shown["AlarmIdentifier"] = getattr(check, "alarm_identifier", None)
            shown["InsufficientDataHealthStatus"] = getattr(
                check, "insufficient_data_health_status", None
            )
            return shown

        route53_responses.Route53.create_health_check = create_health_check
        route53_responses.Route53.update_health_check = update_health_check
        HealthCheck.health_check_config = property(health_check_config)  # type: ignore[assignment,method-assign]


def install_composite_alarms() -> None:
    """Serve PutCompositeAlarm: moto's PutMetricAlarm handler already stores an alarm with an
    AlarmRule as a composite alarm (DescribeAlarms lists it so), but moto routes no action to it."""
    cloudwatch_responses.CloudWatchResponse.put_composite_alarm = (  # type: ignore[attr-defined]
        cloudwatch_responses.CloudWatchResponse.put_metric_alarm
    )


# Lambda's "Concurrent executions" default per account and Region (AWS Lambda quotas page).
LAMBDA_CONCURRENCY_DEFAULT = 1000
# The other AccountLimit fields, AWS's fixed values in bytes (AWS Lambda quotas page).
_LAMBDA_CODE_LIMITS = {
    "CodeSizeUnzipped": 262_144_000,
    "CodeSizeZipped": 52_428_800,
    "TotalCodeSize": 80_530_636_800,
}


@dataclass
class LambdaAccountSettings:
    """Lambda's GetAccountSettings, which moto answers 404.

    The account's concurrency limit is AWS's default unless a test sets a Region's own (as an
    approved quota increase would); the unreserved part is that limit minus the reserved
    concurrency of moto's functions in the Region, as AWS computes it.
    """

    _lock: threading.Lock = field(default_factory=threading.Lock)
    _limits: dict[tuple[str, str], int] = field(default_factory=dict)  # (account, Region) -> limit

    def set_concurrency_limit(
        self, region: str, limit: int, account: str = DEFAULT_ACCOUNT_ID
    ) -> None:
        with self._lock:
            self._limits[(account, region)] = limit

    def reset(self) -> None:
        with self._lock:
            self._limits.clear()

    def install(self) -> None:
        layer = self
        lambda_urls.url_paths[r"{0}/(?P<api_version>[^/]+)/account-settings/?$"] = (
            LambdaResponse.dispatch
        )

        def get(self: LambdaResponse) -> TYPE_RESPONSE:
            with layer._lock:
                limit = layer._limits.get(
                    (self.current_account, self.region), LAMBDA_CONCURRENCY_DEFAULT
                )
            functions = list(self.backend.list_functions())
            reserved = sum(int(f.reserved_concurrency or 0) for f in functions)
            settings = {
                "AccountLimit": {
                    **_LAMBDA_CODE_LIMITS,
                    "ConcurrentExecutions": limit,
                    "UnreservedConcurrentExecutions": limit - reserved,
                },
                "AccountUsage": {
                    "FunctionCount": len(functions),
                    "TotalCodeSize": sum(int(f.code_size) for f in functions),
                },
            }
            return 200, {}, json.dumps(settings)

        LambdaResponse.get_account_settings = get  # type: ignore[attr-defined]


class ProvisionedConcurrencyError(ServiceException):
    code = "InvalidParameterValueException"


class ProvisionedConcurrencyListError(ServiceException):
    code = "ValidationException"


@dataclass
class ProvisionedConcurrency:
    """Lambda's provisioned concurrency configs (Put/Get/List/Delete), which moto answers 404.

    A config belongs to a function's alias or version (the qualifier) and is READY at once: the
    sandbox has no instances to warm. Functions and aliases are moto's; only the configs live here.
    As in Lambda, the list takes the unqualified function and holds every qualifier's config.
    """

    _lock: threading.Lock = field(default_factory=threading.Lock)
    # (account, Region, function name) -> qualifier -> (requested executions, last modified)
    _configs: dict[tuple[str, str, str], dict[str, tuple[int, str]]] = field(default_factory=dict)

    def reset(self) -> None:
        with self._lock:
            self._configs.clear()

    def install(self) -> None:
        layer = self
        lambda_urls.url_paths[
            r"{0}/(?P<api_version>[^/]+)/functions/(?P<function_name>[\w_:%-]+)"
            r"/provisioned-concurrency/?$"
        ] = LambdaResponse.dispatch

        def function_of(response: LambdaResponse) -> tuple[tuple[str, str, str], Any]:
            name = urllib.parse.unquote(response.path.split("?")[0].rstrip("/").split("/")[-2])
            function = response.backend.get_function(name)  # raises moto's not-found error
            key = (response.current_account, response.region, function.function_name)
            return key, function

        def qualifier_of(response: LambdaResponse, function: Any) -> str:
            qualifier = response.querystring.get("Qualifier", [""])[0]
            if not qualifier or qualifier == "$LATEST":
                raise ProvisionedConcurrencyError(
                    "Provisioned concurrency needs a published version or an alias as Qualifier"
                )
            response.backend.get_function(function.function_name, qualifier)
            return qualifier

        def describe(function: Any, qualifier: str, requested: int, modified: str) -> dict:
            # A version's or alias's function_arn is qualified already; name the base function.
            base = function.function_arn.split(":function:")[0] + ":function:"
            return {
                "FunctionArn": f"{base}{function.function_name}:{qualifier}",
                "RequestedProvisionedConcurrentExecutions": requested,
                "AvailableProvisionedConcurrentExecutions": requested,
                "AllocatedProvisionedConcurrentExecutions": requested,
                "Status": "READY",
                "LastModified": modified,
            }

        def put(self: LambdaResponse) -> TYPE_RESPONSE:
            key, function = function_of(self)
            qualifier = qualifier_of(self, function)
            requested = int(self.json_body["ProvisionedConcurrentExecutions"])
            if requested < 1:
                raise ProvisionedConcurrencyError("ProvisionedConcurrentExecutions must be >= 1")
            modified = utcnow().strftime("%Y-%m-%dT%H:%M:%S.000+0000")
            with layer._lock:
                layer._configs.setdefault(key, {})[qualifier] = (requested, modified)
            shown = describe(function, qualifier, requested, modified)
            shown.pop("FunctionArn")
            return 202, {}, json.dumps(shown)

        def get(self: LambdaResponse) -> TYPE_RESPONSE:
            if "List" in self.querystring:
                # Lambda's FunctionName pattern for the list has no qualifier: a name, an ARN
                # or a partial ARN of the function itself, never `name:alias` or `...:alias`.
                name = urllib.parse.unquote(self.path.split("?")[0].rstrip("/").split("/")[-2])
                if len(name.split(":")) in (2, 4, 8):
                    raise ProvisionedConcurrencyListError(
                        f"1 validation error detected: Value '{name}' at 'functionName' failed "
                        "to satisfy constraint: an unqualified function name or ARN"
                    )
            key, function = function_of(self)
            if "List" in self.querystring:
                with layer._lock:
                    configs = dict(layer._configs.get(key, {}))
                listed = [describe(function, q, *config) for q, config in sorted(configs.items())]
                return 200, {}, json.dumps({"ProvisionedConcurrencyConfigs": listed})
            qualifier = qualifier_of(self, function)
            with layer._lock:
                config = layer._configs.get(key, {}).get(qualifier)
            if config is None:
                return 404, {"x-amzn-ErrorType": "ProvisionedConcurrencyConfigNotFoundException"}, (
                    json.dumps({"message": f"No Provisioned Concurrency Config found for "
                                f"{function.function_arn}:{qualifier}"})
                )  # fmt: skip
            shown = describe(function, qualifier, *config)
            shown.pop("FunctionArn")
            return 200, {}, json.dumps(shown)

        def delete(self: LambdaResponse) -> TYPE_RESPONSE:
            key, function = function_of(self)
            qualifier = qualifier_of(self, function)
            with layer._lock:
                layer._configs.get(key, {}).pop(qualifier, None)
            return 204, {}, ""

        LambdaResponse.put_provisioned_concurrency_config = put  # type: ignore[attr-defined]
        LambdaResponse.get_provisioned_concurrency_config = get  # type: ignore[attr-defined]
        LambdaResponse.list_provisioned_concurrency_configs = get  # type: ignore[attr-defined]
        LambdaResponse.delete_provisioned_concurrency_config = delete  # type: ignore[attr-defined]


MetricKey = tuple[str, str, str, frozenset[tuple[str, str]]]  # Region, namespace, name, dims


@dataclass
class CloudWatchStore:
    """The emulator's CloudWatch datapoints, indexed per metric for alarm evaluation.

    moto keeps every datum put_metric_data receives but never evaluates an alarm, and its
    statistics API works in whole CloudWatch periods while the sandbox's alarm periods are
    scaled down. The evaluator runs in the emulator's process, so it reads the datums directly:
    `refresh` indexes what arrived since the last call (moto only appends), `series` returns one
    metric's points by its exact dimension set, as CloudWatch matches alarms to metrics.
    """

    account_id: str = DEFAULT_ACCOUNT_ID
    retain_seconds: float = 3600.0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _indexed: dict[str, tuple[int, int]] = field(default_factory=dict)  # Region -> (list, count)
    _series: dict[MetricKey, MetricSeries] = field(default_factory=dict)

    def refresh(self) -> None:
        with self._lock:
            for region, backend in list(cloudwatch_backends[self.account_id].items()):
                data = backend.metric_data
                identity, count = self._indexed.get(region, (id(data), 0))
                if identity != id(data) or count > len(data):  # the emulator was reset
                    self._series = {k: v for k, v in self._series.items() if k[0] != region}
                    count = 0
                end = len(data)
                for datum in data[count:end]:
                    if isinstance(datum, MetricDatum):
                        self._add(region, datum)
                self._indexed[region] = (id(data), end)

    def _add(self, region: str, datum: MetricDatum) -> None:
        dimensions = frozenset((d.name, d.value) for d in datum.dimensions)
        key = (region, datum.namespace, datum.name, dimensions)
        stamp = datum.timestamp
        if stamp.tzinfo is None:  # moto keeps UTC, sometimes without a zone
            stamp = stamp.replace(tzinfo=UTC)
        series = self._series.setdefault(key, MetricSeries())
        series.add(stamp.timestamp(), float(datum.value), self.retain_seconds)

    def series(
        self, region: str, namespace: str, name: str, dimensions: dict[str, str]
    ) -> MetricSeries | None:
        with self._lock:
            return self._series.get((region, namespace, name, frozenset(dimensions.items())))


@dataclass
class Emulator:
    """A running moto server on 127.0.0.1 serving every Region."""

    endpoint_url: str
    route53: FaithfulRoute53
    _server: ThreadedMotoServer
    health_checks: HealthCheckObservations = field(default_factory=HealthCheckObservations)
    data_plane: Route53DataPlane = field(default_factory=Route53DataPlane)
    metrics: CloudWatchStore = field(default_factory=CloudWatchStore)
    lambda_account: LambdaAccountSettings = field(default_factory=LambdaAccountSettings)
    provisioned_concurrency: ProvisionedConcurrency = field(default_factory=ProvisionedConcurrency)

    def reset(self) -> None:
        """Forget every resource in every service (moto's reset API), and what the Lambda
        additions keep beside moto: provisioned concurrency configs, concurrency limits."""
        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10):
            pass
        self.provisioned_concurrency.reset()
        self.lambda_account.reset()

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> Emulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_emulator(port: int = 0, propagation_seconds: float = 0.0) -> Emulator:
    """Start moto on 127.0.0.1 (port 0 picks a free one) with the faithful Route 53 layer."""
    route53 = FaithfulRoute53(propagation_seconds=propagation_seconds)
    route53.install()
    health_checks = HealthCheckObservations()
    health_checks.install()
    data_plane = Route53DataPlane()
    data_plane.install()
    install_composite_alarms()
    lambda_account = LambdaAccountSettings()
    lambda_account.install()
    provisioned_concurrency = ProvisionedConcurrency()
    provisioned_concurrency.install()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    host, bound_port = server.get_host_and_port()
    return Emulator(
        endpoint_url=f"http://{host}:{bound_port}",
        route53=route53,
        _server=server,
        health_checks=health_checks,
        data_plane=data_plane,
        lambda_account=lambda_account,
        provisioned_concurrency=provisioned_concurrency,
    )
