"""API Gateway's REST API for one Region: routing, the resource policy and SigV4 (`AWS_IAM`)
methods, each method's throttle, the TOKEN authorizer and its policy cache, the Lambda proxy
integration and the stage's metrics; independent of the HTTP server."""

from __future__ import annotations

import base64
import json
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from botocore.credentials import ReadOnlyCredentials

from opsctl.sandbox.front.lambda_runtime import Invoker, LambdaRuntime
from opsctl.sandbox.front.metrics import MetricsPublisher
from opsctl.sandbox.front.policy import evaluate_policy
from opsctl.sandbox.front.sigv4 import check_signature, environment_credentials
from opsctl.sandbox.front.spec import FrontSpec, RouteSpec

NOT_FOUND_BODY = {"message": "Missing Authentication Token"}
UNAUTHORIZED_BODY = {"message": "Unauthorized"}
THROTTLED_BODY = {"message": "Too Many Requests"}


class TokenBucket:
    """API Gateway's throttle for one method: `burst` tokens, refilled at `rate` per second;
    a request without a token is answered 429 before the authorizer or the integration runs."""

    def __init__(
        self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._rate = rate
        self._burst = float(burst)
        self._tokens = float(burst)
        self._clock = clock
        self._at = clock()
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            now = self._clock()
            self._tokens = min(self._burst, self._tokens + (now - self._at) * self._rate)
            self._at = now
            if self._tokens < 1:
                return False
            self._tokens -= 1
            return True


EXPLICIT_DENY_BODY = {
    "Message": "User is not authorized to access this resource with an explicit deny"
}
NO_ALLOW_BODY = {"Message": "User is not authorized to access this resource"}
INTERNAL_ERROR_BODY = {"message": "Internal server error"}
AUTHORIZER_ERROR_BODY = {"message": None}


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


class Front:
    """Routes one HTTP request through authorizer and function; independent of the HTTP server."""

    def __init__(
        self,
        spec: FrontSpec,
        runtime: Invoker | None = None,
        metrics: MetricsPublisher | None = None,
        credentials: ReadOnlyCredentials | None = None,
    ) -> None:
        self.spec = spec
        # What an `AWS_IAM` method's signature is checked against: the sandbox's own.
        self.credentials = credentials or environment_credentials()
        self.metrics = metrics
        self.runtime = runtime or LambdaRuntime(spec.functions, spec.region, spec.account_id)
        self._routes = [(route, resource_pattern(route.resource_path)) for route in spec.routes]
        self._custom_domains = {domain.lower().rstrip(".") for domain in spec.custom_domains}
        self._policy_cache: dict[str, CachedPolicy] = {}
        self._cache_lock = threading.Lock()
        # One bucket per method (route), shared by every caller, as the stage's `*/*` settings
        # apply to each method separately; a method with settings of its own has its own limits.
        self._buckets: dict[tuple[str, str], TokenBucket] = {}
        for route in spec.routes:
            own = spec.method_throttles.get(f"{route.resource_path.strip('/')}/{route.method}")
            if own is not None:
                self._buckets[(route.method, route.resource_path)] = TokenBucket(
                    own[0], int(own[1])
                )
            elif spec.throttle_rate is not None and spec.throttle_burst is not None:
                bucket = TokenBucket(spec.throttle_rate, spec.throttle_burst)
                self._buckets[(route.method, route.resource_path)] = bucket

    def handle(
        self, method: str, raw_path: str, headers: dict[str, str], body: bytes, source_ip: str
    ) -> HttpResponse:
        started = time.monotonic()
        response, route = self._route(method, raw_path, headers, body, source_ip)
        if self.metrics is not None:
            values = {
                "Count": 1.0,
                "4XXError": float(400 <= response.status < 500),
                "5XXError": float(response.status >= 500),
                "Latency": (time.monotonic() - started) * 1000,
            }
            # AWS/ApiGateway by ApiName and Stage: every request the stage answers.
            stage = {"ApiName": self.spec.api_name, "Stage": self.spec.stage}
            self.metrics.add("AWS/ApiGateway", stage, values)
            if route is not None:
                # Detailed metrics (the stage enables them): by method and resource too.
                detailed = {**stage, "Method": route.method, "Resource": route.resource_path}
                self.metrics.add("AWS/ApiGateway", detailed, values)
        return response

    def _route(
        self, method: str, raw_path: str, headers: dict[str, str], body: bytes, source_ip: str
    ) -> tuple[HttpResponse, RouteSpec | None]:
        """The response, and the route it matched (None: no route)."""
        request_id = str(uuid.uuid4())
        split = urlsplit(raw_path)
        host = headers.get("Host", headers.get("host", "")).split(":")[0].lower()
        path = split.path or "/"
        if host not in self._custom_domains:
            prefix = f"/{self.spec.stage}"
            if path != prefix and not path.startswith(prefix + "/"):
                return (
                    HttpResponse.json(403, NOT_FOUND_BODY, **{"x-amzn-RequestId": request_id}),
                    None,
                )
            path = path[len(prefix) :] or "/"
        matched = self._match(method, path)
        if matched is None:
            return (
                HttpResponse.json(403, NOT_FOUND_BODY, **{"x-amzn-RequestId": request_id}),
                None,
            )
        route, path_parameters = matched
        method_arn = (
            f"arn:aws:execute-api:{self.spec.region}:{self.spec.account_id}:"
            f"{self.spec.api_id}/{self.spec.stage}/{method}{path}"
        )
        signed_path = split.path + (f"?{split.query}" if split.query else "")
        refused = self._guard(route, method, signed_path, headers, body, source_ip, method_arn)
        if refused is not None:
            return refused, route
        bucket = self._buckets.get((route.method, route.resource_path))
        if bucket is not None and not bucket.take():
            return HttpResponse.json(429, THROTTLED_BODY, **{"x-amzn-RequestId": request_id}), route
        authorizer_context: dict[str, Any] = {}
        if route.authorized and self.spec.authorizer is not None:
            outcome = self._authorize(headers, method_arn)
            if isinstance(outcome, HttpResponse):
                return outcome, route
            authorizer_context = outcome
        event = self._proxy_event(
            method, path, split.query, headers, body, route, path_parameters, source_ip, request_id
        )
        event["requestContext"]["authorizer"] = authorizer_context or None
        try:
            result = self.runtime.invoke(route.function, event)
            return self._integration_response(result, request_id), route
        except Exception as error:
            print(f"[{self.spec.region}] {route.function} failed: {error!r}", file=sys.stderr)
            failed = HttpResponse.json(502, INTERNAL_ERROR_BODY, **{"x-amzn-RequestId": request_id})
            return failed, route

    def _guard(
        self,
        route: RouteSpec,
        method: str,
        signed_path: str,
        headers: dict[str, str],
        body: bytes,
        source_ip: str,
        method_arn: str,
    ) -> HttpResponse | None:
        """An `AWS_IAM` method's signature, then the resource policy, as API Gateway checks them
        before the method's throttle and the authorizer: the refusal, or None. A method without
        authorization needs the policy's explicit Allow; a token method, none (its authorizer
        decides); a signed one is the account's IAM policies' to allow (not modelled)."""
        if route.signed:
            refusal = check_signature(
                method, signed_path, headers, body, self.credentials, self.spec.region
            )
            if refusal is not None:
                return HttpResponse.json(
                    403, {"message": refusal.message}, **{"x-amzn-ErrorType": refusal.error_type}
                )
        if self.spec.resource_policy is None:
            return None
        verdict = evaluate_policy(self.spec.resource_policy, method_arn, source_ip)
        if verdict is None and (route.authorized or route.signed):
            return None
        if verdict is not True:
            message = (
                f"User: anonymous is not authorized to perform: execute-api:Invoke on "
                f"resource: {method_arn}" + (" with an explicit deny" if verdict is False else "")
            )
            return HttpResponse.json(
                403, {"Message": message}, **{"x-amzn-ErrorType": "AccessDeniedException"}
            )
        return None

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
