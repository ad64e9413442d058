"""Everything one Region runs: functions, REST API, custom domain, failure switch.

Instantiated once per Region with that Region's provider; the two instances differ only in
what their args say (Region, role, provisioned concurrency, fault-injection wiring).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pulumi
import pulumi_aws as aws

from infra.config import (
    FUNCTIONS,
    HEALTH_PATH,
    PARTITION,
    PROJECT,
    STAGE_NAME,
    Role,
    Settings,
    function_environment,
)
from infra.fault_injection import FisLambdaWiring
from infra.policies import allow, service_role

R = TypeVar("R", bound=pulumi.Resource)

HEALTHY = "healthy"
HANDLERS = {name: f"functions.{name}.app.handler" for name in FUNCTIONS}
# Route 53 gives an HTTPS check 2 s to answer; the health function must stay well inside it.
TIMEOUT_SECONDS = {"authorizer": 5, "api": 10, "health": 3}
AUTHORIZER_ALIAS = "live"

# The global table's partitions each function may touch (`dynamodb:LeadingKeys`), as the
# functions spell them (tests/infra check them against functions/): revocations are written
# only by the identity side, never by a function.
REVOKED_PARTITION = "revoked"
HEALTH_PROBE_PARTITION = "health"
API_PARTITIONS = ("session#*", "idempotency#sessions")

# Where the TOKEN authorizer reads the token; protected methods require that header.
TOKEN_SOURCE = "method.request.header.Authorization"
# Routes behind the TOKEN authorizer: (path parts, method). `/health` is added without auth.
PROTECTED_ROUTES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("whoami",), "GET"),
    (("sessions",), "POST"),
    (("sessions", "{id}"), "GET"),
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
class RegionalStackArgs:
    role: Role
    region: str
    settings: Settings
    account_id: pulumi.Input[str]
    table_arn: pulumi.Input[str]  # this Region's replica
    code: pulumi.Archive
    dependency_layer_dir: Path
    certificate_arn: pulumi.Input[str]  # validated, for the custom domain (infra/certificates.py)
    provisioned_concurrency: int = 0
    fault_injection: FisLambdaWiring | None = None
    depends_on: list[pulumi.Resource] = field(default_factory=list)


class RegionalStack(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        args: RegionalStackArgs,
        provider: aws.Provider,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(f"{PROJECT}:infra:RegionalStack", name, None, opts)
        self._name = name
        self._provider = provider
        self._args = args
        settings = args.settings
        self.role = args.role
        self.region = args.region
        self.function_names = {fn: settings.function_name(fn) for fn in FUNCTIONS}

        self.failure_switch = aws.ssm.Parameter(
            f"{name}-failure-switch",
            name=settings.failure_switch_parameter,
            type="String",
            value=HEALTHY,
            description="healthy | failing: 'failing' makes this Region's /health answer 500.",
            # Operators flip it (opsctl switch); `pulumi up` must not flip it back.
            opts=self._child(ignore_changes=["value"]),
        )

        self.log_groups = {
            fn: aws.cloudwatch.LogGroup(
                f"{name}-{fn}-logs",
                name=settings.log_group_name(fn),
                retention_in_days=settings.log_retention_days,
                opts=self._child(),
            )
            for fn in FUNCTIONS
        }
        self.access_logs = aws.cloudwatch.LogGroup(
            f"{name}-access-logs",
            name=settings.access_log_group_name,
            retention_in_days=settings.log_retention_days,
            opts=self._child(),
        )

        self.dependency_layer = aws.lambda_.LayerVersion(
            f"{name}-deps",
            layer_name=settings.dependency_layer_name,
            code=pulumi.FileArchive(str(args.dependency_layer_dir)),
            compatible_runtimes=[settings.lambda_runtime],
            compatible_architectures=["arm64"],
            description="Third-party deps of functions/ (functions/requirements.txt), arm64",
            opts=self._child(),
        )

        self.roles = {fn: self._function_role(fn) for fn in FUNCTIONS}
        self.functions = {fn: self._function(fn) for fn in FUNCTIONS}

        # API Gateway invokes the authorizer through an alias so provisioned concurrency
        # (configured on the alias) serves the calls.
        self.authorizer_alias = aws.lambda_.Alias(
            f"{name}-authorizer-live",
            name=AUTHORIZER_ALIAS,
            function_name=self.functions["authorizer"].name,
            function_version=self.functions["authorizer"].version,
            opts=self._child(),
        )
        self.provisioned_concurrency: aws.lambda_.ProvisionedConcurrencyConfig | None = None
        if args.provisioned_concurrency > 0:
            self.provisioned_concurrency = aws.lambda_.ProvisionedConcurrencyConfig(
                f"{name}-authorizer-provisioned",
                function_name=self.functions["authorizer"].name,
                qualifier=self.authorizer_alias.name,
                provisioned_concurrent_executions=args.provisioned_concurrency,
                opts=self._child(),
            )

        self._api(settings)
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
                "failureSwitch": self.failure_switch.name,
            }
        )

    # ---- helpers -------------------------------------------------------------------------

    def _child(
        self,
        ignore_changes: list[str] | None = None,
        depends_on: list[pulumi.Resource] | None = None,
    ) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(
            parent=self,
            provider=self._provider,
            ignore_changes=ignore_changes,
            depends_on=depends_on,
        )

    def _arn(self, service: str, resource: str) -> pulumi.Output[str]:
        return pulumi.Output.concat(
            f"arn:{PARTITION}:{service}:{self.region}:", self._args.account_id, f":{resource}"
        )

    def _function_role(self, fn: str) -> aws.iam.Role:
        """An execution role with only what `fn` does; `*` only for X-Ray, which requires it."""
        args = self._args
        statements = [
            allow(
                ["logs:CreateLogStream", "logs:PutLogEvents"],
                [pulumi.Output.concat(self.log_groups[fn].arn, ":*")],
            ),
            allow(["xray:PutTraceSegments", "xray:PutTelemetryRecords"], ["*"]),
        ]
        if fn == "authorizer":
            # Only the revocation partition, only reads.
            statements.append(
                allow(
                    ["dynamodb:Query"],
                    [args.table_arn],
                    {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [REVOKED_PARTITION]}},
                )
            )
        elif fn == "api":
            # Sessions and Powertools idempotency records; never the revocation list.
            statements.append(
                allow(
                    [
                        "dynamodb:GetItem",
                        "dynamodb:PutItem",
                        "dynamodb:UpdateItem",
                        "dynamodb:DeleteItem",
                    ],
                    [args.table_arn],
                    {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": list(API_PARTITIONS)}},
                )
            )
        else:  # health: a one-item read probe on the table and the failure switch
            statements.append(
                allow(
                    ["dynamodb:GetItem"],
                    [args.table_arn],
                    {
                        "ForAllValues:StringEquals": {
                            "dynamodb:LeadingKeys": [HEALTH_PROBE_PARTITION]
                        }
                    },
                )
            )
            statements.append(
                allow(
                    ["ssm:GetParameter"],
                    [self._arn("ssm", f"parameter{args.settings.failure_switch_parameter}")],
                )
            )
        fis = args.fault_injection
        if fis is not None and fn in fis.functions:
            # The FIS extension polls its fault configuration from this prefix.
            statements.append(
                allow(
                    ["s3:ListBucket"],
                    [fis.bucket_arn],
                    {"StringLike": {"s3:prefix": [f"{fis.prefix}*"]}},
                )
            )
            statements.append(
                allow(["s3:GetObject"], [pulumi.Output.concat(fis.bucket_arn, f"/{fis.prefix}*")])
            )
        return service_role(
            f"{self._name}-{fn}",
            "lambda.amazonaws.com",
            f"{fn} function in {self.region}",
            statements,
            self._child(),
        )

    def _environment(self, fn: str) -> dict[str, pulumi.Input[str]]:
        fis = self._args.fault_injection
        fis_location = fis.configuration_location if fis and fn in fis.functions else None
        return function_environment(self._args.settings, fn, fis_location)

    def _function(self, fn: str) -> aws.lambda_.Function:
        settings = self._args.settings
        # Powertools comes in the dependency layer, without extras: the AWS-managed Powertools
        # layer also ships the X-Ray SDK, pydantic and more that no function uses.
        layers: list[pulumi.Input[str]] = [self.dependency_layer.arn]
        fis = self._args.fault_injection
        if fis is not None and fn in fis.functions:
            layers.append(fis.extension_layer_arn)
        return aws.lambda_.Function(
            f"{self._name}-{fn}",
            name=self.function_names[fn],
            role=self.roles[fn].arn,
            runtime=settings.lambda_runtime,
            architectures=["arm64"],
            handler=HANDLERS[fn],
            code=self._args.code,
            layers=layers,
            memory_size=settings.lambda_memory_mb,
            timeout=TIMEOUT_SECONDS[fn],
            tracing_config=aws.lambda_.FunctionTracingConfigArgs(mode="Active"),
            environment=aws.lambda_.FunctionEnvironmentArgs(variables=self._environment(fn)),
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(
                log_format="Text", log_group=self.log_groups[fn].name
            ),
            publish=fn == "authorizer",  # a version for the alias / provisioned concurrency
            opts=self._child(depends_on=[*self._args.depends_on, self.log_groups[fn]]),
        )

    def _api(self, settings: Settings) -> None:
        name = self._name
        self.rest_api = aws.apigateway.RestApi(
            f"{name}-rest-api",
            name=settings.rest_api_name(self.role),
            description=f"Authorizer API, {self.role} Region {self.region}",
            endpoint_configuration=aws.apigateway.RestApiEndpointConfigurationArgs(
                types="REGIONAL"
            ),
            opts=self._child(),
        )
        definition = ApiDefinition()
        self.authorizer = definition.declare(
            aws.apigateway.Authorizer,
            f"{name}-token-authorizer",
            self._child(),
            name="jwt",
            rest_api=self.rest_api.id,
            type="TOKEN",
            identity_source=TOKEN_SOURCE,
            authorizer_uri=self.authorizer_alias.invoke_arn,
            authorizer_result_ttl_in_seconds=settings.authorizer_cache_ttl,
        )
        aws.lambda_.Permission(
            f"{name}-authorizer-invoke",
            action="lambda:InvokeFunction",
            function=self.functions["authorizer"].name,
            qualifier=self.authorizer_alias.name,
            principal="apigateway.amazonaws.com",
            source_arn=pulumi.Output.concat(
                self.rest_api.execution_arn, "/authorizers/", self.authorizer.id
            ),
            opts=self._child(),
        )
        for fn in ("api", "health"):
            aws.lambda_.Permission(
                f"{name}-{fn}-invoke",
                action="lambda:InvokeFunction",
                function=self.functions[fn].name,
                principal="apigateway.amazonaws.com",
                source_arn=pulumi.Output.concat(self.rest_api.execution_arn, f"/{STAGE_NAME}/*/*"),
                opts=self._child(),
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

        routes: list[tuple[tuple[str, ...], str, str]] = [
            ((HEALTH_PATH.strip("/"),), "GET", "health"),
            *((parts, method, "api") for parts, method in PROTECTED_ROUTES),
        ]
        for parts, method, fn in routes:
            slug = _slug(parts)
            protected = fn == "api"
            api_method = definition.declare(
                aws.apigateway.Method,
                f"{name}-{method.lower()}-{slug}",
                self._child(),
                rest_api=self.rest_api.id,
                resource_id=resource_for(parts).id,
                http_method=method,
                authorization="CUSTOM" if protected else "NONE",
                authorizer_id=self.authorizer.id if protected else None,
                request_parameters={TOKEN_SOURCE: True} if protected else None,
            )
            definition.declare(
                aws.apigateway.Integration,
                f"{name}-{method.lower()}-{slug}-integration",
                self._child(),
                rest_api=self.rest_api.id,
                resource_id=api_method.resource_id,
                http_method=api_method.http_method,
                type="AWS_PROXY",
                integration_http_method="POST",
                uri=self.functions[fn].invoke_arn,
            )

        # A stage serves what its deployment captured: a new deployment whenever anything that
        # defines the API changes, and only after all of it exists.
        self.deployment = aws.apigateway.Deployment(
            f"{name}-deployment",
            rest_api=self.rest_api.id,
            triggers={"api": definition.fingerprint()},
            opts=self._child(depends_on=definition.parts),
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
                    [self._arn("logs", "log-group:*")],
                )
            ],
            self._child(),
        )
        return aws.apigateway.Account(
            f"{self._name}-apigw-account",
            cloudwatch_role_arn=role.arn,
            opts=self._child(),
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
