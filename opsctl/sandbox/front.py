"""An API Gateway-like front for one Region: REST API routing, TOKEN authorizer, Lambda proxy.

Runs as its own process per Region (`python -m opsctl.sandbox.front SPEC_FILE --fd N`), so the
handlers' module-level caches live per Region as they do in per-Region Lambdas. It calls the real
handlers from `functions/` with REST API event shapes:

- a route with a CUSTOM authorizer: a missing identity header is a 401 without calling the
  authorizer (as API Gateway does); otherwise the TOKEN authorizer runs, its policy is cached per
  token for the authorizer's result TTL and evaluated against each request's method ARN
  (explicit Deny wins, no matching Allow is a 403), then the API function runs with the
  authorizer's context in `requestContext.authorizer`;
- a route without authorization (`/health`) calls its function directly;
- requests arrive either on the execute-api style path `/<stage>/...` or, with the custom
  domain's name as Host, on the base-path mapping (`/...` → the stage).

Each invocation runs with exactly its function's environment and its own copy of the project's
`functions` package (Lambda functions share neither environment variables nor module state, so
each function's Powertools Metrics has its own `service`), one at a time per process, like one
warm Lambda instance per function.

Like API Gateway and Lambda, the front publishes its metrics to the Region's CloudWatch:
AWS/ApiGateway Count, 4XXError, 5XXError, Latency by ApiName and Stage; AWS/Lambda Invocations,
Errors, Duration by FunctionName; and, as Lambda does with a function's log output, every
CloudWatch Embedded Metric Format (EMF) document a handler prints (Powertools Metrics), with the
document's namespace, dimensions, units and timestamp. Every line still reaches stdout (the
functions' log). The Region's own alarms are evaluated from these metrics.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import fnmatch
import importlib
import io
import json
import os
import re
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol, TextIO
from urllib.parse import parse_qs, urlsplit

import boto3

Handler = Callable[[dict[str, Any], Any], Any]

NOT_FOUND_BODY = {"message": "Missing Authentication Token"}
UNAUTHORIZED_BODY = {"message": "Unauthorized"}
EXPLICIT_DENY_BODY = {
    "Message": "User is not authorized to access this resource with an explicit deny"
}
NO_ALLOW_BODY = {"Message": "User is not authorized to access this resource"}
INTERNAL_ERROR_BODY = {"message": "Internal server error"}
AUTHORIZER_ERROR_BODY = {"message": None}


@dataclass(frozen=True)
class LambdaSpec:
    """One Lambda function as declared by the program: its handler and environment."""

    name: str
    handler: str  # "functions.api.app.handler"
    environment: dict[str, str]
    timeout_seconds: int = 3
    memory_mb: int = 128


@dataclass(frozen=True)
class RouteSpec:
    method: str  # GET, POST, ... or ANY
    resource_path: str  # "/sessions/{id}"
    function: str  # LambdaSpec.name
    authorized: bool


@dataclass(frozen=True)
class AuthorizerSpec:
    function: str  # LambdaSpec.name
    identity_header: str  # "Authorization"
    result_ttl_seconds: int
    validation_expression: str | None = None


@dataclass(frozen=True)
class FrontSpec:
    """Everything one Region's front serves; written as JSON by the supervisor."""

    region: str
    account_id: str
    api_id: str
    stage: str
    routes: list[RouteSpec]
    functions: list[LambdaSpec]
    authorizer: AuthorizerSpec | None
    custom_domains: list[str] = field(default_factory=list)
    endpoint_url: str = ""
    api_name: str = ""  # the REST API's name: API Gateway's ApiName metric dimension

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> FrontSpec:
        raw = json.loads(text)
        return cls(
            region=raw["region"],
            account_id=raw["account_id"],
            api_id=raw["api_id"],
            stage=raw["stage"],
            routes=[RouteSpec(**route) for route in raw["routes"]],
            functions=[LambdaSpec(**function) for function in raw["functions"]],
            authorizer=AuthorizerSpec(**raw["authorizer"]) if raw["authorizer"] else None,
            custom_domains=list(raw["custom_domains"]),
            endpoint_url=raw["endpoint_url"],
            api_name=raw["api_name"],
        )


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    @classmethod
    def json(cls, status: int, payload: Any, **headers: str) -> HttpResponse:
        return cls(
            status, {"Content-Type": "application/json", **headers}, json.dumps(payload).encode()
        )


@dataclass(frozen=True)
class CachedPolicy:
    principal_id: str
    policy: dict[str, Any]
    context: dict[str, Any]
    expires_at: float


class FakeLambdaContext:
    """The parts of the Lambda context object that handlers and Powertools read."""

    def __init__(self, function: LambdaSpec, region: str, account_id: str) -> None:
        self.function_name = function.name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = function.memory_mb
        self.invoked_function_arn = f"arn:aws:lambda:{region}:{account_id}:function:{function.name}"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function.name}"
        self.log_stream_name = datetime.now(UTC).strftime("%Y/%m/%d/[$LATEST]") + uuid.uuid4().hex
        self._deadline = time.monotonic() + function.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class MetricsPublisher:
    """API Gateway's and Lambda's CloudWatch metrics for this Region, as AWS publishes them.

    Each request and invocation adds datapoints; a background thread sends them in batches to the
    emulator's CloudWatch, so publishing costs a request nothing. A failed batch is reported and
    dropped (AWS does not back-fill metrics either).
    """

    BATCH = 500  # PutMetricData takes up to 1000 datums

    def __init__(self, cloudwatch: Any, flush_seconds: float = 0.5) -> None:
        self._cloudwatch = cloudwatch
        self._flush_seconds = flush_seconds
        self._pending: dict[str, list[dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="metrics")

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self.flush()

    def add(self, namespace: str, dimensions: dict[str, str], values: dict[str, float]) -> None:
        stamp = datetime.now(UTC)
        shaped = [{"Name": name, "Value": value} for name, value in dimensions.items()]
        self.queue(
            namespace,
            [
                {
                    "MetricName": name,
                    "Dimensions": shaped,
                    "Timestamp": stamp,
                    "Value": value,
                    "Unit": METRIC_UNITS.get(name, "Count"),
                }
                for name, value in values.items()
            ],
        )

    def queue(self, namespace: str, datums: list[dict[str, Any]]) -> None:
        """PutMetricData datums, sent with the next batch."""
        with self._lock:
            self._pending.setdefault(namespace, []).extend(datums)

    def publish_emf(self, document: dict[str, Any]) -> None:
        """A function's EMF document, as CloudWatch extracts it from the function's logs; an
        invalid one is reported and yields nothing."""
        try:
            data = emf_metric_data(document)
        except InvalidEmf as error:
            print(f"metrics: EMF document rejected: {error}", file=sys.stderr)
            return
        with self._lock:
            for namespace, datum in data:
                self._pending.setdefault(namespace, []).append(datum)

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
        for namespace, datums in pending.items():
            for start in range(0, len(datums), self.BATCH):
                try:
                    self._cloudwatch.put_metric_data(
                        Namespace=namespace, MetricData=datums[start : start + self.BATCH]
                    )
                except Exception as error:
                    print(f"metrics: {namespace} batch dropped: {error!r}", file=sys.stderr)

    def _run(self) -> None:
        while not self._stop.wait(self._flush_seconds):
            self.flush()


METRIC_UNITS = {"Latency": "Milliseconds", "IntegrationLatency": "Milliseconds",
                "Duration": "Milliseconds"}  # fmt: skip


class InvalidEmf(ValueError):
    """A JSON log line with `_aws` metadata that is not a valid EMF document."""


def emf_metric_data(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The PutMetricData datums (with their namespaces) CloudWatch extracts from one EMF document.

    Every metric of a directive is published once per dimension set, with the values the
    document's root gives the dimension keys, the directive's unit and storage resolution, at
    the document's `_aws.Timestamp` (epoch ms). A value may be a number or a list of numbers.
    Raises InvalidEmf for a document CloudWatch would reject, which then yields no metrics.
    """
    metadata = document.get("_aws")
    if not isinstance(metadata, dict):
        raise InvalidEmf("_aws is not an object")
    stamp_ms = metadata.get("Timestamp")
    directives = metadata.get("CloudWatchMetrics")
    if not isinstance(stamp_ms, int) or isinstance(stamp_ms, bool):
        raise InvalidEmf("_aws.Timestamp is not an integer (epoch milliseconds)")
    if not isinstance(directives, list):
        raise InvalidEmf("_aws.CloudWatchMetrics is not a list")
    stamp = datetime.fromtimestamp(stamp_ms / 1000, UTC)
    data: list[tuple[str, dict[str, Any]]] = []
    for directive in directives:
        namespace = directive.get("Namespace") if isinstance(directive, dict) else None
        if not isinstance(namespace, str) or not namespace:
            raise InvalidEmf("a metric directive has no Namespace")
        dimension_sets = directive.get("Dimensions") or [[]]
        for dimension_set in dimension_sets:
            for key in dimension_set:
                if not isinstance(document.get(key), str):
                    raise InvalidEmf(f"dimension {key!r} has no string value in the document")
        for definition in directive.get("Metrics") or []:
            name = definition.get("Name") if isinstance(definition, dict) else None
            raw = document.get(name) if isinstance(name, str) else None
            values = raw if isinstance(raw, list) else [raw]
            if not values or not all(
                isinstance(v, int | float) and not isinstance(v, bool) for v in values
            ):
                raise InvalidEmf(f"metric {name!r} has no numeric value in the document")
            for dimension_set in dimension_sets:
                dimensions = [{"Name": key, "Value": document[key]} for key in dimension_set]
                for value in values:
                    datum: dict[str, Any] = {
                        "MetricName": name,
                        "Dimensions": dimensions,
                        "Timestamp": stamp,
                        "Value": float(value),
                        "Unit": definition.get("Unit") or "None",
                    }
                    if definition.get("StorageResolution") == 1:
                        datum["StorageResolution"] = 1
                    data.append((namespace, datum))
    return data


class EmfCapture(io.TextIOBase):
    """Stands in for stdout during an invocation: passes every write through to `target` at
    once (the functions' log keeps its lines and order) and hands each complete line that is an
    EMF document to `on_document`, as Lambda's log pipeline does with a function's output."""

    def __init__(self, target: TextIO, on_document: Callable[[dict[str, Any]], None]) -> None:
        self._target = target
        self._on_document = on_document
        self._partial = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        written = self._target.write(text)
        lines = (self._partial + text).split("\n")
        self._partial = lines.pop()
        for line in lines:
            self._scan(line)
        return written

    def flush(self) -> None:
        self._target.flush()

    def finish(self) -> None:
        """The invocation ended: a last line without a newline still counts."""
        if self._partial:
            self._scan(self._partial)
            self._partial = ""

    def _scan(self, line: str) -> None:
        if not line.startswith("{") or '"_aws"' not in line:
            return
        try:
            document = json.loads(line)
        except ValueError:
            return  # not JSON: an ordinary log line
        if isinstance(document, dict) and "_aws" in document:
            self._on_document(document)


class Invoker(Protocol):
    def invoke(self, function_name: str, event: dict[str, Any]) -> Any: ...


class LambdaRuntime:
    """Imports handlers lazily (a cold start on first use) and invokes them one at a time."""

    def __init__(
        self,
        functions: list[LambdaSpec],
        region: str,
        account_id: str,
        metrics: MetricsPublisher | None = None,
    ) -> None:
        self._metrics = metrics
        self._functions = {function.name: function for function in functions}
        self._region = region
        self._account_id = account_id
        self._handlers: dict[str, Handler] = {}
        # Each function's own copy of the `functions` package, swapped into sys.modules while it
        # runs: one function's module state (Powertools Metrics' service, caches) is not another's.
        self._modules: dict[str, dict[str, ModuleType]] = {}
        self._env_keys = {key for function in functions for key in function.environment}
        self._lock = threading.Lock()

    def preload(self) -> None:
        """Import every handler now, as provisioned concurrency initialises ahead of traffic:
        a first health check must not spend Route 53's 2 s on Python imports."""
        with self._lock:
            for function in self._functions.values():
                self._handler(function)

    def invoke(self, function_name: str, event: dict[str, Any]) -> Any:
        function = self._functions[function_name]
        with self._lock:
            started = time.monotonic()
            failed = True
            try:
                handler = self._handler(function)
                context = FakeLambdaContext(function, self._region, self._account_id)
                with self._own_modules(function), self._captured_emf():
                    # Lambda serializes the result to JSON; so this catches non-JSON returns.
                    result = json.loads(json.dumps(handler(event, context)))
                failed = False
                return result
            finally:
                # AWS/Lambda by function: a raised exception (the authorizer's "Unauthorized"
                # too) is a function error. Nothing throttles here, so no Throttles datapoint.
                if self._metrics is not None:
                    self._metrics.add(
                        "AWS/Lambda",
                        {"FunctionName": function.name},
                        {
                            "Invocations": 1.0,
                            "Errors": float(failed),
                            "Duration": (time.monotonic() - started) * 1000,
                        },
                    )

    def _handler(self, function: LambdaSpec) -> Handler:
        self._apply_environment(function)
        handler = self._handlers.get(function.name)
        if handler is None:
            module_name, _, attribute = function.handler.rpartition(".")
            with self._own_modules(function):
                handler = getattr(importlib.import_module(module_name), attribute)
            self._handlers[function.name] = handler
        return handler

    @contextlib.contextmanager
    def _own_modules(self, function: LambdaSpec) -> Iterator[None]:
        """sys.modules holds this function's own `functions.*` modules (none before its first
        import) while the block runs; whatever was there before is put back afterwards."""
        own = self._modules.setdefault(function.name, {})
        outside = {name: sys.modules.pop(name) for name in _project_modules()}
        sys.modules.update(own)
        try:
            yield
        finally:
            own.clear()
            own.update({name: sys.modules.pop(name) for name in _project_modules()})
            sys.modules.update(outside)

    @contextlib.contextmanager
    def _captured_emf(self) -> Iterator[None]:
        """The invocation's stdout, scanned for EMF documents that become CloudWatch metrics."""
        if self._metrics is None:
            yield
            return
        capture = EmfCapture(sys.stdout, self._metrics.publish_emf)
        try:
            with contextlib.redirect_stdout(capture):
                yield
        finally:
            capture.finish()

    def _apply_environment(self, function: LambdaSpec) -> None:
        for key in self._env_keys - function.environment.keys():
            os.environ.pop(key, None)
        os.environ.update(function.environment)
        os.environ["AWS_LAMBDA_FUNCTION_NAME"] = function.name
        os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] = str(function.memory_mb)


# The project's handler code; everything else (boto3, Powertools, ...) is shared by the functions.
HANDLER_PACKAGE = "functions"


def _project_modules() -> list[str]:
    return [
        name
        for name in list(sys.modules)
        if name == HANDLER_PACKAGE or name.startswith(HANDLER_PACKAGE + ".")
    ]


def resource_pattern(resource_path: str) -> re.Pattern[str]:
    """A regex for an API Gateway resource path: `{name}` is one segment, `{name+}` the rest."""
    parts = []
    for segment in resource_path.strip("/").split("/"):
        if segment.startswith("{") and segment.endswith("+}"):
            parts.append(f"(?P<{segment[1:-2]}>.+)")
        elif segment.startswith("{") and segment.endswith("}"):
            parts.append(f"(?P<{segment[1:-1]}>[^/]+)")
        else:
            parts.append(re.escape(segment))
    return re.compile("^/" + "/".join(parts) + "$")


def arn_matches(pattern: str, arn: str) -> bool:
    """IAM-style wildcard match of a policy Resource against a method ARN."""
    return fnmatch.fnmatchcase(arn, pattern)


def evaluate_policy(policy: dict[str, Any], method_arn: str) -> bool | None:
    """True when allowed, False on explicit Deny, None when no statement allows (implicit deny)."""
    allowed: bool | None = None
    for statement in policy.get("Statement", []):
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        if not any(fnmatch.fnmatchcase("execute-api:Invoke", action) for action in actions):
            continue
        resources = statement.get("Resource", [])
        resources = [resources] if isinstance(resources, str) else resources
        if not any(arn_matches(resource, method_arn) for resource in resources):
            continue
        if statement.get("Effect") == "Deny":
            return False
        if statement.get("Effect") == "Allow":
            allowed = True
    return allowed


class Front:
    """Routes one HTTP request through authorizer and function; independent of the HTTP server."""

    def __init__(
        self,
        spec: FrontSpec,
        runtime: Invoker | None = None,
        metrics: MetricsPublisher | None = None,
    ) -> None:
        self.spec = spec
        self.metrics = metrics
        self.runtime = runtime or LambdaRuntime(spec.functions, spec.region, spec.account_id)
        self._routes = [(route, resource_pattern(route.resource_path)) for route in spec.routes]
        self._custom_domains = {domain.lower().rstrip(".") for domain in spec.custom_domains}
        self._policy_cache: dict[str, CachedPolicy] = {}
        self._cache_lock = threading.Lock()

    def handle(
        self, method: str, raw_path: str, headers: dict[str, str], body: bytes, source_ip: str
    ) -> HttpResponse:
        started = time.monotonic()
        response = self._route(method, raw_path, headers, body, source_ip)
        if self.metrics is not None:
            # AWS/ApiGateway by ApiName and Stage: every request the stage answers.
            self.metrics.add(
                "AWS/ApiGateway",
                {"ApiName": self.spec.api_name, "Stage": self.spec.stage},
                {
                    "Count": 1.0,
                    "4XXError": float(400 <= response.status < 500),
                    "5XXError": float(response.status >= 500),
                    "Latency": (time.monotonic() - started) * 1000,
                },
            )
        return response

    def _route(
        self, method: str, raw_path: str, headers: dict[str, str], body: bytes, source_ip: str
    ) -> HttpResponse:
        request_id = str(uuid.uuid4())
        split = urlsplit(raw_path)
        host = headers.get("Host", headers.get("host", "")).split(":")[0].lower()
        path = split.path or "/"
        if host not in self._custom_domains:
            prefix = f"/{self.spec.stage}"
            if path != prefix and not path.startswith(prefix + "/"):
                return HttpResponse.json(403, NOT_FOUND_BODY, **{"x-amzn-RequestId": request_id})
            path = path[len(prefix) :] or "/"
        matched = self._match(method, path)
        if matched is None:
            return HttpResponse.json(403, NOT_FOUND_BODY, **{"x-amzn-RequestId": request_id})
        route, path_parameters = matched
        authorizer_context: dict[str, Any] = {}
        if route.authorized and self.spec.authorizer is not None:
            method_arn = (
                f"arn:aws:execute-api:{self.spec.region}:{self.spec.account_id}:"
                f"{self.spec.api_id}/{self.spec.stage}/{method}{path}"
            )
            outcome = self._authorize(headers, method_arn)
            if isinstance(outcome, HttpResponse):
                return outcome
            authorizer_context = outcome
        event = self._proxy_event(
            method, path, split.query, headers, body, route, path_parameters, source_ip, request_id
        )
        event["requestContext"]["authorizer"] = authorizer_context or None
        try:
            result = self.runtime.invoke(route.function, event)
            return self._integration_response(result, request_id)
        except Exception as error:
            print(f"[{self.spec.region}] {route.function} failed: {error!r}", file=sys.stderr)
            return HttpResponse.json(502, INTERNAL_ERROR_BODY, **{"x-amzn-RequestId": request_id})

    def _match(self, method: str, path: str) -> tuple[RouteSpec, dict[str, str]] | None:
        for route, pattern in self._routes:
            found = pattern.match(path)
            if found and route.method in (method, "ANY"):
                return route, found.groupdict()
        return None

    def _authorize(self, headers: dict[str, str], method_arn: str) -> dict[str, Any] | HttpResponse:
        """The authorizer context on Allow, else the response API Gateway would send."""
        spec = self.spec.authorizer
        assert spec is not None
        lowered = {name.lower(): value for name, value in headers.items()}
        identity = lowered.get(spec.identity_header.lower(), "")
        if not identity or (
            spec.validation_expression and not re.fullmatch(spec.validation_expression, identity)
        ):
            return HttpResponse.json(
                401, UNAUTHORIZED_BODY, **{"x-amzn-ErrorType": "UnauthorizedException"}
            )
        cached = self._cached_policy(identity)
        if cached is None:
            event = {"type": "TOKEN", "authorizationToken": identity, "methodArn": method_arn}
            try:
                result = self.runtime.invoke(spec.function, event)
            except Exception as error:
                # Lambda reports the raised exception; API Gateway maps "Unauthorized" to 401.
                if str(error) == "Unauthorized":
                    return HttpResponse.json(
                        401, UNAUTHORIZED_BODY, **{"x-amzn-ErrorType": "UnauthorizedException"}
                    )
                print(f"[{self.spec.region}] authorizer failed: {error!r}", file=sys.stderr)
                return HttpResponse.json(
                    500,
                    AUTHORIZER_ERROR_BODY,
                    **{"x-amzn-ErrorType": "AuthorizerConfigurationException"},
                )
            if not isinstance(result, dict) or "policyDocument" not in result:
                return HttpResponse.json(
                    500,
                    AUTHORIZER_ERROR_BODY,
                    **{"x-amzn-ErrorType": "AuthorizerConfigurationException"},
                )
            cached = CachedPolicy(
                principal_id=str(result.get("principalId", "")),
                policy=result["policyDocument"],
                context=dict(result.get("context") or {}),
                expires_at=time.monotonic() + spec.result_ttl_seconds,
            )
            if spec.result_ttl_seconds > 0:
                with self._cache_lock:
                    self._policy_cache[identity] = cached
        verdict = evaluate_policy(cached.policy, method_arn)
        if verdict is False:
            return HttpResponse.json(
                403, EXPLICIT_DENY_BODY, **{"x-amzn-ErrorType": "AccessDeniedException"}
            )
        if verdict is None:
            return HttpResponse.json(
                403, NO_ALLOW_BODY, **{"x-amzn-ErrorType": "AccessDeniedException"}
            )
        return {**cached.context, "principalId": cached.principal_id}

    def _cached_policy(self, identity: str) -> CachedPolicy | None:
        with self._cache_lock:
            cached = self._policy_cache.get(identity)
            if cached is not None and cached.expires_at <= time.monotonic():
                del self._policy_cache[identity]
                return None
            return cached

    def _proxy_event(
        self,
        method: str,
        path: str,
        query: str,
        headers: dict[str, str],
        body: bytes,
        route: RouteSpec,
        path_parameters: dict[str, str],
        source_ip: str,
        request_id: str,
    ) -> dict[str, Any]:
        now = datetime.now(UTC)
        multi_query = parse_qs(query, keep_blank_values=True)
        try:
            text_body: str | None = body.decode() if body else None
            is_base64 = False
        except UnicodeDecodeError:
            text_body, is_base64 = base64.b64encode(body).decode(), True
        return {
            "resource": route.resource_path,
            "path": path,
            "httpMethod": method,
            "headers": dict(headers) or None,
            "multiValueHeaders": {name: [value] for name, value in headers.items()} or None,
            "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
            "multiValueQueryStringParameters": multi_query or None,
            "pathParameters": path_parameters or None,
            "stageVariables": None,
            "requestContext": {
                "resourceId": uuid.uuid4().hex[:6],
                "resourcePath": route.resource_path,
                "httpMethod": method,
                "extendedRequestId": request_id,
                "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
                "path": f"/{self.spec.stage}{path}",
                "accountId": self.spec.account_id,
                "protocol": "HTTP/1.1",
                "stage": self.spec.stage,
                "domainPrefix": self.spec.api_id,
                "requestTimeEpoch": int(now.timestamp() * 1000),
                "requestId": request_id,
                "identity": {
                    "cognitoIdentityPoolId": None,
                    "accountId": None,
                    "cognitoIdentityId": None,
                    "caller": None,
                    "sourceIp": source_ip,
                    "principalOrgId": None,
                    "accessKey": None,
                    "cognitoAuthenticationType": None,
                    "cognitoAuthenticationProvider": None,
                    "userArn": None,
                    "userAgent": headers.get("User-Agent"),
                    "user": None,
                },
                "domainName": f"{self.spec.api_id}.execute-api.{self.spec.region}.amazonaws.com",
                "apiId": self.spec.api_id,
            },
            "body": text_body,
            "isBase64Encoded": is_base64,
        }

    @staticmethod
    def _integration_response(result: Any, request_id: str) -> HttpResponse:
        """A Lambda proxy result as API Gateway returns it; a malformed one is a 502."""
        if not isinstance(result, dict) or not isinstance(result.get("statusCode"), int):
            return HttpResponse.json(502, INTERNAL_ERROR_BODY, **{"x-amzn-RequestId": request_id})
        headers = {str(k): str(v) for k, v in (result.get("headers") or {}).items()}
        for name, values in (result.get("multiValueHeaders") or {}).items():
            headers[str(name)] = ",".join(str(value) for value in values)
        headers["x-amzn-RequestId"] = request_id
        body = result.get("body") or ""
        payload = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
        return HttpResponse(result["statusCode"], headers, payload)


def make_server(front: Front, listening_socket: socket.socket) -> ThreadingHTTPServer:
    """An HTTP server for `front` on an already bound and listening socket."""

    class RequestHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {name: value for name, value in self.headers.items()}
            response = front.handle(self.command, self.path, headers, body, self.client_address[0])
            self.send_response(response.status)
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            self.wfile.write(response.body)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass  # request volume would drown the sandbox log; failures are printed in Front

    server = ThreadingHTTPServer(
        listening_socket.getsockname()[:2], RequestHandler, bind_and_activate=False
    )
    server.socket.close()
    server.socket = listening_socket
    server.daemon_threads = True
    return server


def exit_when_orphaned(parent_pid: int, poll_seconds: float = 0.5) -> None:
    """Stop this process when its supervisor is gone, so no front outlives the sandbox."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(poll_seconds)
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("spec", type=Path, help="the FrontSpec JSON file")
    parser.add_argument("--fd", type=int, required=True, help="inherited listening socket fd")
    parser.add_argument(
        "--supervisor-pid",
        type=int,
        required=True,
        help="the supervisor's pid (given, not read: it may have died before this line runs)",
    )
    args = parser.parse_args(argv)
    exit_when_orphaned(args.supervisor_pid)
    spec = FrontSpec.from_json(args.spec.read_text())
    os.environ.update(
        {
            "AWS_REGION": spec.region,
            "AWS_DEFAULT_REGION": spec.region,
            "AWS_ENDPOINT_URL": spec.endpoint_url,
        }
    )
    listening_socket = socket.socket(fileno=args.fd)
    metrics = MetricsPublisher(boto3.client("cloudwatch", region_name=spec.region))
    metrics.start()
    runtime = LambdaRuntime(spec.functions, spec.region, spec.account_id, metrics)
    runtime.preload()
    server = make_server(Front(spec, runtime, metrics), listening_socket)
    print(f"front {spec.region} serving on {listening_socket.getsockname()[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        metrics.stop()


if __name__ == "__main__":
    main()
