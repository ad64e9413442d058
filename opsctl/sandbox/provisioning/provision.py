"""Provision the emulator from the real Pulumi program, as `pulumi up` would provision AWS.

`__main__.py` runs with the stack file under Pulumi's mock runtime (infra.mockrun). The mocks
create in the emulator what the product needs at run time — the hosted zone (the program looks it
up by name), the weighted records and the certificate validation record, the tagged health
checks, the alarms and the SNS topic, the table in each Region (with its stream, for replication),
the SSM failure switches — and return the real ids, so the `topology` output is the one opsctl
then reads, exactly as after `pulumi up`. Everything else (roles, log groups, layers, ...) keeps
the realistic mock answers. The mocks live in `opsctl.sandbox.provisioning.mocks`.

What AWS would run but moto cannot (API Gateway stages, Lambda) is read back from the declared
resources — routes, methods, authorizer, functions with their handler and environment, custom
domain, the resource policy, each method's throttle — into one FrontSpec per Region, served by
`opsctl.sandbox.front`. The stage keeps its real invoke URL
(https://<api id>.execute-api.<region>.amazonaws.com/prod); the sandbox's host map (its stand-in
for public DNS) sends that name, and the custom domain's Regional target, to the Region's
loopback front.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from infra.mockrun import ProgramRun, run_program
from opsctl.sandbox.front.spec import (
    AuthorizerSpec,
    FrontSpec,
    LambdaSpec,
    RouteSpec,
    ScheduleSpec,
)
from opsctl.sandbox.provisioning.mocks.apigateway import IDENTITY_SOURCE_PREFIX
from opsctl.sandbox.provisioning.mocks.sandbox import SandboxMocks
from opsctl.sandbox.provisioning.mocks.target import boto3_clients


@dataclass(frozen=True)
class Provisioned:
    """What the sandbox needs after provisioning: the topology and what to serve per Region."""

    topology: dict[str, Any]
    fronts: dict[str, FrontSpec]  # Region -> spec
    host_map: dict[str, str]  # DNS names (execute-api, custom-domain targets) -> 127.0.0.x:port
    hostname: str  # the shared record name, no trailing dot
    run: ProgramRun


def front_spec(run: ProgramRun, region: str, endpoint_url: str, jwks_url: str) -> FrontSpec:
    """The API Gateway configuration of one Region, read from what the program declared."""

    def of(type_: str) -> list[Any]:
        return [r for r in run.of_type(type_) if r.region == region]

    (rest_api,) = of("aws:apigateway/restApi:RestApi")
    (stage,) = of("aws:apigateway/stage:Stage")
    functions_by_invoke_arn = {}
    functions_by_arn = {}
    functions = []
    aliases: dict[str, list[str]] = {}
    for alias in of("aws:lambda/alias:Alias"):
        aliases.setdefault(alias.inputs["functionName"], []).append(alias.inputs["name"])
    for declared in of("aws:lambda/function:Function"):
        environment = dict((declared.inputs.get("environment") or {}).get("variables") or {})
        if "AUTH_JWKS_URI" in environment:
            # The identity provider's hostname "resolves" to the sandbox IdP.
            environment["AUTH_JWKS_URI"] = jwks_url
        name = declared.outputs.get("name") or declared.inputs["name"]
        spec = LambdaSpec(
            name=name,
            handler=declared.inputs["handler"],
            environment={k: str(v) for k, v in environment.items()},
            timeout_seconds=int(declared.inputs.get("timeout") or 3),
            memory_mb=int(declared.inputs.get("memorySize") or 128),
            aliases=aliases.get(name, []),
        )
        functions.append(spec)
        functions_by_invoke_arn[declared.outputs["invokeArn"]] = spec.name
        functions_by_arn[declared.outputs["arn"]] = spec.name
    for alias in of("aws:lambda/alias:Alias"):
        functions_by_invoke_arn[alias.outputs["invokeArn"]] = alias.inputs["functionName"]

    paths = {rest_api.outputs["rootResourceId"]: ""}
    resources = of("aws:apigateway/resource:Resource")
    while len(paths) < len(resources) + 1:
        progressed = False
        for resource in resources:
            if resource.id not in paths and resource.inputs["parentId"] in paths:
                paths[resource.id] = (
                    paths[resource.inputs["parentId"]] + "/" + resource.inputs["pathPart"]
                )
                progressed = True
        if not progressed:
            raise RuntimeError(f"API resources in {region} do not form a tree from the root")

    integrations = {
        (i.inputs["resourceId"], i.inputs["httpMethod"]): i
        for i in of("aws:apigateway/integration:Integration")
    }
    routes = []
    for method in of("aws:apigateway/method:Method"):
        key = (method.inputs["resourceId"], method.inputs["httpMethod"])
        integration = integrations.get(key)
        if integration is None or integration.inputs.get("type") != "AWS_PROXY":
            continue
        routes.append(
            RouteSpec(
                method=method.inputs["httpMethod"],
                resource_path=paths[method.inputs["resourceId"]] or "/",
                function=functions_by_invoke_arn[integration.inputs["uri"]],
                authorized=method.inputs.get("authorization") == "CUSTOM",
                signed=method.inputs.get("authorization") == "AWS_IAM",
            )
        )

    authorizer = None
    for declared in of("aws:apigateway/authorizer:Authorizer"):
        source = declared.inputs.get("identitySource", IDENTITY_SOURCE_PREFIX + "Authorization")
        authorizer = AuthorizerSpec(
            function=functions_by_invoke_arn[declared.inputs["authorizerUri"]],
            identity_header=source.removeprefix(IDENTITY_SOURCE_PREFIX),
            result_ttl_seconds=int(declared.inputs.get("authorizerResultTtlInSeconds", 300)),
            validation_expression=declared.inputs.get("identityValidationExpression"),
        )
    rules = {rule.inputs["name"]: rule for rule in of("aws:cloudwatch/eventRule:EventRule")}
    schedules = [
        ScheduleSpec(
            function=functions_by_arn[target.inputs["arn"]],
            rate_seconds=rate_seconds(rules[target.inputs["rule"]].inputs["scheduleExpression"]),
            rule=target.inputs["rule"],
        )
        for target in of("aws:cloudwatch/eventTarget:EventTarget")
        if target.inputs["arn"] in functions_by_arn
    ]
    throttle: dict[str, Any] = {}
    method_throttles: dict[str, list[float]] = {}
    for declared in of("aws:apigateway/methodSettings:MethodSettings"):
        settings = declared.inputs.get("settings") or {}
        if declared.inputs.get("methodPath") == "*/*":
            throttle = settings
        elif settings.get("throttlingRateLimit") is not None:
            limits = [settings["throttlingRateLimit"], settings["throttlingBurstLimit"]]
            method_throttles[declared.inputs["methodPath"]] = limits
    policies = [
        json.loads(p.inputs["policy"]) for p in of("aws:apigateway/restApiPolicy:RestApiPolicy")
    ]
    return FrontSpec(
        region=region,
        account_id=rest_api.outputs["executionArn"].split(":")[4],
        api_id=rest_api.id,
        stage=stage.inputs["stageName"],
        routes=routes,
        functions=functions,
        authorizer=authorizer,
        custom_domains=[d.inputs["domainName"] for d in of("aws:apigateway/domainName:DomainName")],
        endpoint_url=endpoint_url,
        api_name=rest_api.inputs["name"],
        schedules=schedules,
        throttle_rate=throttle.get("throttlingRateLimit"),
        throttle_burst=throttle.get("throttlingBurstLimit"),
        method_throttles=method_throttles,
        resource_policy=policies[0] if policies else None,
    )


_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


def rate_seconds(expression: str) -> float:
    """EventBridge's `rate(1 minute)` in seconds (cron expressions are not scheduled here)."""
    match = _RATE.match(expression)
    if match is None:
        raise ValueError(f"the sandbox schedules rate expressions only, not {expression!r}")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2).rstrip("s")]


def _watching_front(spec: FrontSpec, host_map: dict[str, str]) -> FrontSpec:
    """The watcher connects to the peer's custom-domain target: the sandbox's stand-in for public
    DNS sends that name to the peer's front (HTTPS on the fronts' one port), where the server
    name and the certificate are checked against the shared name, as on AWS."""
    functions = []
    for function in spec.functions:
        environment = dict(function.environment)
        address = host_map.get(environment.get("WATCH_PEER_ADDRESS", ""))
        if address is not None:
            environment["WATCH_PEER_ADDRESS"] = address
        functions.append(replace(function, environment=environment))
    return replace(spec, functions=functions)


def with_data_plane(run: ProgramRun, topology: dict[str, Any]) -> dict[str, Any]:
    """The topology with what opsctl reads from Route 53's data plane, where the program does not
    output it yet: each Region's `aliasTarget` (what its weighted record points at) and
    `outOfService` (the lever: the CLOUDWATCH_METRIC health check and its alarm), if declared."""
    topology = {**topology, "regions": {**topology["regions"]}}
    aliases = {
        record.inputs.get("setIdentifier"): record.inputs["aliases"][0]["name"]
        for record in run.of_type("aws:route53/record:Record")
        if record.inputs.get("aliases") and record.inputs.get("setIdentifier")
    }
    for role, region in topology["regions"].items():
        target = aliases.get(region.get("setIdentifier"))
        if "aliasTarget" not in region and target:
            topology["regions"][role] = {**region, "aliasTarget": target.rstrip(".")}
    if "outOfService" not in topology:
        alarms = {
            a.inputs.get("name"): a for a in run.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
        }
        for check in run.of_type("aws:route53/healthCheck:HealthCheck"):
            alarm = alarms.get(check.inputs.get("cloudwatchAlarmName"))
            if check.inputs.get("type") != "CLOUDWATCH_METRIC" or alarm is None:
                continue
            topology["outOfService"] = {
                "region": check.inputs["cloudwatchAlarmRegion"],
                "namespace": alarm.inputs.get("namespace"),
                "metricName": alarm.inputs.get("metricName"),
                "dimensions": dict(alarm.inputs.get("dimensions") or {}),
                "alarmName": alarm.inputs["name"],
                "healthCheckId": check.id,
            }
    return topology


def _on_port(url: str, port: int) -> str:
    parts = urlsplit(url)
    if not parts.hostname or parts.port is not None:
        return url
    return urlunsplit(parts._replace(netloc=f"{parts.hostname}:{port}"))


def served_topology(topology: dict[str, Any], name_server: str, port: int) -> dict[str, Any]:
    """The topology as the running sandbox serves it: its DNS server as the zone's name server,
    and every front's HTTPS port (one for all, not 443) in `httpsPort` and the Regions' URLs."""
    urls = ("apiUrl", "healthUrl")
    regions = {
        role: {**region, **{key: _on_port(region[key], port) for key in urls if key in region}}
        for role, region in topology["regions"].items()
    }
    return {**topology, "regions": regions, "nameServers": [name_server], "httpsPort": port}


def provision(
    stack_file: Path,
    *,
    endpoint_url: str,
    front_addresses: dict[str, str],
    jwks_url: str,
    overrides: dict[str, Any] | None = None,
) -> Provisioned:
    """Run the program against the emulator; `front_addresses` maps each Region to where its front
    listens ("127.0.0.x:port")."""
    clients = boto3_clients(endpoint_url)
    run = run_program(stack_file, SandboxMocks(clients), overrides)
    topology = with_data_plane(run, run.outputs["topology"])
    regions = [topology["regions"][role]["region"] for role in ("primary", "secondary")]
    fronts = {region: front_spec(run, region, endpoint_url, jwks_url) for region in regions}
    host_map: dict[str, str] = {}
    for region, spec in fronts.items():
        host_map[f"{spec.api_id}.execute-api.{region}.amazonaws.com"] = front_addresses[region]
    for domain in run.of_type("aws:apigateway/domainName:DomainName"):
        if domain.region is None:
            raise RuntimeError(f"API domain {domain.name} was declared without a Regional provider")
        host_map[domain.outputs["regionalDomainName"]] = front_addresses[domain.region]
    fronts = {region: _watching_front(spec, host_map) for region, spec in fronts.items()}
    hostname = topology["records"][0]["name"].rstrip(".")
    return Provisioned(
        topology=topology, fronts=fronts, host_map=host_map, hostname=hostname, run=run
    )
