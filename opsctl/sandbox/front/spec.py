"""What one Region's front serves, as provisioning declares it and the supervisor writes it."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class LambdaSpec:
    """One Lambda function as declared by the program: its handler and environment."""

    name: str
    handler: str  # "functions.api.app.handler"
    environment: dict[str, str]
    timeout_seconds: int = 3
    memory_mb: int = 128
    aliases: list[str] = field(default_factory=list)  # what Invoke accepts as a qualifier


@dataclass(frozen=True)
class RouteSpec:
    method: str  # GET, POST, ... or ANY
    resource_path: str  # "/sessions/{id}"
    function: str  # LambdaSpec.name
    authorized: bool  # behind the TOKEN authorizer (CUSTOM)
    signed: bool = False  # AWS_IAM: a SigV4 signature of the sandbox's credentials


@dataclass(frozen=True)
class AuthorizerSpec:
    function: str  # LambdaSpec.name
    identity_header: str  # "Authorization"
    result_ttl_seconds: int
    validation_expression: str | None = None


@dataclass(frozen=True)
class ScheduleSpec:
    """An EventBridge schedule rule invoking a function: `rate(1 minute)` is 60 s."""

    function: str  # LambdaSpec.name
    rate_seconds: float
    rule: str  # the rule's name, as the event names it


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
    # The stage's default method throttling (`*/*`): each method's own token bucket, shared by
    # every caller. None: not throttled.
    throttle_rate: float | None = None
    throttle_burst: int | None = None
    # A method's own throttle (its method settings: `health/GET` -> [rate, burst]).
    method_throttles: dict[str, list[float]] = field(default_factory=dict)
    # The REST API's resource policy, evaluated against each caller's source address.
    resource_policy: dict[str, Any] | None = None
    # The Region's scheduled functions (the peer watcher), run beside the front.
    schedules: list[ScheduleSpec] = field(default_factory=list)

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
            throttle_rate=raw.get("throttle_rate"),
            throttle_burst=raw.get("throttle_burst"),
            method_throttles=dict(raw.get("method_throttles") or {}),
            resource_policy=raw.get("resource_policy"),
            schedules=[ScheduleSpec(**schedule) for schedule in raw.get("schedules", [])],
        )

    def enter_region(self) -> None:
        """Make this process one of the Region's: the handlers' SDK clients (and Powertools)
        take the Region and the emulator's endpoint from the environment, as on Lambda."""
        os.environ.update(
            {
                "AWS_REGION": self.region,
                "AWS_DEFAULT_REGION": self.region,
                "AWS_ENDPOINT_URL": self.endpoint_url,
            }
        )

    def scheduled_functions(self) -> list[LambdaSpec]:
        """The functions a schedule invokes (no route reaches them)."""
        names = {schedule.function for schedule in self.schedules}
        return [function for function in self.functions if function.name in names]


def front_spec_file(directory: Path, region: str) -> Path:
    """Where the supervisor writes `region`'s FrontSpec in the sandbox's directory."""
    return directory / f"front-{region}.json"
