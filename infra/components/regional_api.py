"""A Region's REST API: TOKEN authorizer, one route per row of `ROUTES`, stage, custom domain.

The API calls the functions of `RegionalFunctions` through their `InvokeTarget`s. A new route is
a new row of `ROUTES` (and its handler in `functions/`); the deployment follows by itself.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import pulumi
import pulumi_aws as aws

from infra.aliases import regional_child
from infra.components import health_guard
from infra.components.regional_functions import InvokeTarget
from infra.policies import allow, regional_arn, service_role
from infra.settings.model import (
    HEALTH_PATH,
    PROJECT,
    SIGNED_HEALTH_PATH,
    STAGE_NAME,
    Role,
    Settings,
)

R = TypeVar("R", bound=pulumi.Resource)

# The function behind the TOKEN authorizer, and where it reads the token: protected methods
# require that header.
AUTHORIZER_FUNCTION = "authorizer"
TOKEN_SOURCE = "method.request.header.Authorization"
# API Gateway answers 401 without invoking the authorizer when the header does not have this
# shape: `Bearer` (any case, as the authorizer accepts it) and a compact JWS. Junk costs no
# invocation and cannot use up the authorizer's concurrency.
TOKEN_SHAPE = r"^[Bb][Ee][Aa][Rr][Ee][Rr] [A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$"


@dataclass(frozen=True)
class Route:
    path: tuple[str, ...]  # path parts under the stage: ("sessions", "{id}")
    method: str
    function: str  # the `FunctionSpec` name that serves it (Lambda proxy integration)
    protected: bool = True  # behind the TOKEN authorizer
    signed: bool = False  # AWS_IAM: a SigV4 signature of a principal allowed to invoke it

    @property
    def slug(self) -> str:
        return _slug(self.path)

    @property
    def authorization(self) -> str:
        return "CUSTOM" if self.protected else "AWS_IAM" if self.signed else "NONE"

    @property
    def arn_pattern(self) -> str:
        """`<METHOD>/<path>` as a policy names it under the stage, path parameters as `*`."""
        return self.method + "/" + "/".join("*" if p.startswith("{") else p for p in self.path)

    @property
    def resource_path(self) -> str:
        """As API Gateway names the resource (its detailed metrics' `Resource` dimension)."""
        return "/" + "/".join(self.path)


# Declared in this order; the deployment's trigger hashes them in it.
ROUTES: tuple[Route, ...] = (
    Route((HEALTH_PATH.strip("/"),), "GET", "health", protected=False),
    # Its twin for every caller but Route 53's checkers (infra/components/health_guard.py).
    Route(tuple(SIGNED_HEALTH_PATH.strip("/").split("/")), "GET", "health", False, signed=True),
    Route(("whoami",), "GET", "api"),
    Route(("sessions",), "POST", "api"),
    Route(("sessions", "{id}"), "GET", "api"),
)

ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "ip": "$context.identity.sourceIp",
        "requestTime": "$context.requestTime",
        "httpMethod": "$context.httpMethod",
        "resourcePath": "$context.resourcePath",
        "status": "$context.status",
        "responseLatency": "$context.responseLatency",
        "integrationLatency": "$context.integrationLatency",
        "authorizerStatus": "$context.authorizer.status",
        "authorizerLatency": "$context.authorizer.latency",
        "authorizerError": "$context.authorizer.error",
        "principalId": "$context.authorizer.principalId",
        "domainName": "$context.domainName",
    },
    separators=(",", ":"),
)


class ApiDefinition:
    """Every resource that defines the REST API (authorizer, resources, methods, integrations),
    declared through `declare` so its arguments are exactly what the deployment trigger hashes:
    nothing can change the API without a new deployment reaching the stage."""

    def __init__(self) -> None:
        self.parts: list[pulumi.Resource] = []
        self._arguments: list[dict[str, Any]] = []

    def declare(
        self,
        resource_type: Callable[..., R],
        resource_name: str,
        opts: pulumi.ResourceOptions,
        /,
        **arguments: Any,
    ) -> R:
        resource = resource_type(resource_name, opts=opts, **arguments)
        self.parts.append(resource)
        self._arguments.append({"resource": resource_name, **arguments})
        return resource

    def fingerprint(self) -> pulumi.Output[str]:
        """SHA-256 of every declared argument (resolved outputs included), in declaration order."""
        return pulumi.Output.json_dumps(self._arguments, sort_keys=True).apply(
            lambda text: hashlib.sha256(text.encode()).hexdigest()
        )


def _slug(path_parts: tuple[str, ...]) -> str:
    """A route's path as a logical-name fragment: ("sessions", "{id}") -> "sessions-id"."""
    return "-".join(part.strip("{}") for part in path_parts)


@dataclass(frozen=True)
class RegionalApiArgs:
    role: Role
    region: str
    settings: Settings
    account_id: pulumi.Input[str]
    # Validated, for the custom domain (infra/components/certificates.py).
    certificate_arn: pulumi.Input[str]
    targets: Mapping[str, InvokeTarget]  # by function name (RegionalFunctions.targets)


class RegionalApi(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        args: RegionalApiArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(f"{PROJECT}:infra:RegionalApi", name, None, opts)
        self._name = name
        self._args = args
        settings = args.settings
        self.role = args.role
        self.region = args.region

        self.rest_api = aws.apigateway.RestApi(
            f"{name}-rest-api",
            name=settings.rest_api_name(self.role),
            description=f"Authorizer API, {self.role} Region {self.region}",
            endpoint_configuration=aws.apigateway.RestApiEndpointConfigurationArgs(
                types="REGIONAL"
            ),
            opts=self._child(),
        )
        definition = self._definition(settings)
        self._invoke_permissions()
        self._stage(settings, definition)
        self._custom_domain(settings)

        self.health_check_fqdn = pulumi.Output.concat(
            self.rest_api.id, f".execute-api.{args.region}.amazonaws.com"
        )
        self.api_url = self.stage.invoke_url
        self.health_url = pulumi.Output.concat(self.stage.invoke_url, HEALTH_PATH)
        self.register_outputs(
            {
                "region": args.region,
                "restApiId": self.rest_api.id,
                "apiUrl": self.api_url,
                "healthUrl": self.health_url,
                "regionalDomainName": self.domain.regional_domain_name,
            }
        )

    def _child(self, **options: Any) -> pulumi.ResourceOptions:
        return regional_child(self, self._args.role, **options)

    def _definition(self, settings: Settings) -> ApiDefinition:
        """The authorizer and every route: path parts, methods, integrations."""
        name = self._name
        definition = ApiDefinition()
        self.authorizer = definition.declare(
            aws.apigateway.Authorizer,
            f"{name}-token-authorizer",
            self._child(),
            name="jwt",
            rest_api=self.rest_api.id,
            type="TOKEN",
            identity_source=TOKEN_SOURCE,
            identity_validation_expression=TOKEN_SHAPE,
            authorizer_uri=self._args.targets[AUTHORIZER_FUNCTION].invoke_arn,
            authorizer_result_ttl_in_seconds=settings.authorizer_cache_ttl,
        )

        resources: dict[tuple[str, ...], aws.apigateway.Resource] = {}

        def resource_for(parts: tuple[str, ...]) -> aws.apigateway.Resource:
            if parts not in resources:
                parent_id = (
                    self.rest_api.root_resource_id
                    if len(parts) == 1
                    else resource_for(parts[:-1]).id
                )
                resources[parts] = definition.declare(
                    aws.apigateway.Resource,
                    f"{name}-res-{_slug(parts)}",
                    self._child(),
                    rest_api=self.rest_api.id,
                    parent_id=parent_id,
                    path_part=parts[-1],
                )
            return resources[parts]

        for route in ROUTES:
            method = definition.declare(
                aws.apigateway.Method,
                f"{name}-{route.method.lower()}-{route.slug}",
                self._child(),
                rest_api=self.rest_api.id,
                resource_id=resource_for(route.path).id,
                http_method=route.method,
                authorization=route.authorization,
                authorizer_id=self.authorizer.id if route.protected else None,
                request_parameters={TOKEN_SOURCE: True} if route.protected else None,
            )
            definition.declare(
                aws.apigateway.Integration,
                f"{name}-{route.method.lower()}-{route.slug}-integration",
                self._child(),
                rest_api=self.rest_api.id,
                resource_id=method.resource_id,
                http_method=method.http_method,
                type="AWS_PROXY",
                integration_http_method="POST",
                uri=self._args.targets[route.function].invoke_arn,
            )
        # A new policy takes effect only with a new deployment: declared here, it is one.
        self.policy = definition.declare(
            aws.apigateway.RestApiPolicy,
            f"{name}-policy",
            self._child(),
            rest_api_id=self.rest_api.id,
            policy=health_guard.policy_document(
                self.rest_api.execution_arn,
                [route.arn_pattern for route in ROUTES if route.protected],
                pulumi.InvokeOutputOptions(parent=self),
            ),
        )
        return definition

    def _invoke_permissions(self) -> None:
        """API Gateway may invoke the authorizer from its authorizer, each route's function from
        the stage, and nothing else."""
        targets = self._args.targets
        authorizer = targets[AUTHORIZER_FUNCTION]
        aws.lambda_.Permission(
            f"{self._name}-{AUTHORIZER_FUNCTION}-invoke",
            action="lambda:InvokeFunction",
            function=authorizer.function_name,
            qualifier=authorizer.qualifier,
            principal="apigateway.amazonaws.com",
            source_arn=pulumi.Output.concat(
                self.rest_api.execution_arn, "/authorizers/", self.authorizer.id
            ),
            opts=self._child(),
        )
        for fn in dict.fromkeys(route.function for route in ROUTES):
            aws.lambda_.Permission(
                f"{self._name}-{fn}-invoke",
                action="lambda:InvokeFunction",
                function=targets[fn].function_name,
                qualifier=targets[fn].qualifier,
                principal="apigateway.amazonaws.com",
                source_arn=pulumi.Output.concat(self.rest_api.execution_arn, f"/{STAGE_NAME}/*/*"),
                opts=self._child(),
            )

    def _stage(self, settings: Settings, definition: ApiDefinition) -> None:
        name = self._name
        # A stage serves what its deployment captured: a new deployment whenever anything that
        # defines the API changes, and only after all of it exists.
        self.deployment = aws.apigateway.Deployment(
            f"{name}-deployment",
            rest_api=self.rest_api.id,
            triggers={"api": definition.fingerprint()},
            opts=self._child(depends_on=definition.parts),
        )
        self.access_logs = aws.cloudwatch.LogGroup(
            f"{name}-access-logs",
            name=settings.access_log_group_name,
            retention_in_days=settings.log_retention_days,
            opts=self._child(),
        )
        # Method logging (below) makes API Gateway create this group on its first write, with
        # no retention. Declared here, before the stage, it exists first and keeps ours.
        self.execution_logs = aws.cloudwatch.LogGroup(
            f"{name}-execution-logs",
            name=pulumi.Output.concat(
                "API-Gateway-Execution-Logs_", self.rest_api.id, f"/{STAGE_NAME}"
            ),
            retention_in_days=settings.log_retention_days,
            opts=self._child(),
        )
        stage_depends: list[pulumi.Resource] = [self.execution_logs]
        if settings.manage_api_gateway_account:
            stage_depends.append(self._api_gateway_account())
        self.stage = aws.apigateway.Stage(
            f"{name}-stage",
            rest_api=self.rest_api.id,
            deployment=self.deployment.id,
            stage_name=STAGE_NAME,
            xray_tracing_enabled=True,
            access_log_settings=aws.apigateway.StageAccessLogSettingsArgs(
                destination_arn=self.access_logs.arn, format=ACCESS_LOG_FORMAT
            ),
            opts=self._child(depends_on=stage_depends),
        )
        self.method_settings = aws.apigateway.MethodSettings(
            f"{name}-method-settings",
            rest_api=self.rest_api.id,
            stage_name=self.stage.stage_name,
            method_path="*/*",
            settings=aws.apigateway.MethodSettingsSettingsArgs(
                metrics_enabled=True,
                logging_level="ERROR",
                throttling_rate_limit=settings.throttle_rate_limit,
                throttling_burst_limit=settings.throttle_burst_limit,
            ),
            opts=self._child(depends_on=[self.execution_logs]),
        )
        # The health route's own bucket; after the stage-wide settings (both patch the stage).
        self.health_method_settings = health_guard.health_method_settings(
            f"{name}-health-method-settings",
            self.stage,
            self._child(depends_on=[self.method_settings]),
        )

    def _api_gateway_account(self) -> aws.apigateway.Account:
        """The account-wide role API Gateway uses to write logs in this Region."""
        role = service_role(
            f"{self._name}-apigw-logs",
            "apigateway.amazonaws.com",
            f"API Gateway CloudWatch Logs role in {self.region}",
            [
                allow(
                    [
                        "logs:CreateLogGroup",
                        "logs:CreateLogStream",
                        "logs:DescribeLogGroups",
                        "logs:DescribeLogStreams",
                        "logs:PutLogEvents",
                        "logs:GetLogEvents",
                        "logs:FilterLogEvents",
                    ],
                    [regional_arn("logs", self.region, self._args.account_id, "log-group:*")],
                )
            ],
            self._child(),
            source_account=self._args.account_id,
        )
        # Without its policy the role cannot write logs, and API Gateway checks that it can.
        return aws.apigateway.Account(
            f"{self._name}-apigw-account",
            cloudwatch_role_arn=role.arn,
            opts=self._child(depends_on=[role.policy]),
        )

    def _custom_domain(self, settings: Settings) -> None:
        name = self._name
        self.domain = aws.apigateway.DomainName(
            f"{name}-domain",
            domain_name=settings.domain_name,
            regional_certificate_arn=self._args.certificate_arn,
            endpoint_configuration=aws.apigateway.DomainNameEndpointConfigurationArgs(
                types="REGIONAL"
            ),
            security_policy="TLS_1_2",
            opts=self._child(),
        )
        self.base_path_mapping = aws.apigateway.BasePathMapping(
            f"{name}-base-path",
            domain_name=self.domain.domain_name,
            rest_api=self.rest_api.id,
            stage_name=self.stage.stage_name,
            opts=self._child(),
        )
