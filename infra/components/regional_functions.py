"""A Region's Lambda functions, one per row of `infra.settings.function_specs`, and the failure
switch.

The peer watcher's row is declared by `infra.components.watch` from the same builders
(`function_log_group`, `function_role`, `lambda_function`), once the other Region's API exists.

Each function gets its log group (with retention), an execution role with only what its row
grants, the shared dependency layer and, where the row names an alias, a published version behind
that alias (where provisioned concurrency lives). With fault injection on, the functions the FIS
wiring targets also get the FIS extension.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from infra.aliases import regional_child
from infra.components.fault_injection import FisLambdaWiring
from infra.policies import ServiceRole, allow, regional_arn, service_role
from infra.settings.environment import function_environment
from infra.settings.function_specs import AUTHORIZER_ALIAS, FUNCTION_SPECS, FunctionSpec
from infra.settings.model import PROJECT, Role, Settings
from stack_topology import FailureSwitch

# Every function but the peer watcher (infra/components/watch.py declares it, after the other
# Region's API).
REGIONAL_SPECS = tuple(spec for spec in FUNCTION_SPECS if not spec.watches_peer)


@dataclass(frozen=True)
class InvokeTarget:
    """How API Gateway calls a function: the function a permission names, the alias it
    qualifies (None: the unqualified function) and the ARN an integration or authorizer uses."""

    function_name: pulumi.Output[str]
    qualifier: pulumi.Output[str] | None
    invoke_arn: pulumi.Output[str]


@dataclass(frozen=True)
class RegionalFunctionsArgs:
    role: Role
    region: str
    settings: Settings
    account_id: pulumi.Input[str]
    table_arn: pulumi.Input[str]  # this Region's replica
    code: pulumi.Archive
    dependency_layer_dir: Path
    # On every aliased function (the authorizer); 0 for none.
    provisioned_concurrency: int = 0
    fault_injection: FisLambdaWiring | None = None
    depends_on: list[pulumi.Resource] = field(default_factory=list)


class RegionalFunctions(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        args: RegionalFunctionsArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(f"{PROJECT}:infra:RegionalFunctions", name, None, opts)
        self._name = name
        self._args = args
        settings = args.settings
        self.region = args.region
        self.function_names = {
            spec.name: settings.function_name(spec.name) for spec in REGIONAL_SPECS
        }

        self.failure_switch = aws.ssm.Parameter(
            f"{name}-failure-switch",
            name=settings.failure_switch_parameter,
            type="String",
            value=FailureSwitch.HEALTHY,
            description=(
                f"{FailureSwitch.HEALTHY} | {FailureSwitch.FAILING}: '{FailureSwitch.FAILING}' "
                "makes this Region's /health answer 500."
            ),
            # Operators flip it (opsctl switch); `pulumi up` must not flip it back.
            opts=self._child(ignore_changes=["value"]),
        )
        self.dependency_layer = aws.lambda_.LayerVersion(
            f"{name}-deps",
            layer_name=settings.dependency_layer_name,
            code=pulumi.FileArchive(str(args.dependency_layer_dir)),
            compatible_runtimes=[settings.lambda_runtime],
            compatible_architectures=["arm64"],
            description="Third-party deps of functions/ (functions/requirements.lock), arm64",
            opts=self._child(),
        )
        self.package = FunctionPackage(
            settings=settings,
            region=args.region,
            account_id=args.account_id,
            table_arn=args.table_arn,
            code=args.code,
            layer_arn=self.dependency_layer.arn,
        )
        self.log_groups = {
            spec.name: function_log_group(self.package, spec, f"{name}-{spec.name}", self._child())
            for spec in REGIONAL_SPECS
        }
        self.roles = {spec.name: self._function_role(spec) for spec in REGIONAL_SPECS}
        self.functions = {spec.name: self._function(spec) for spec in REGIONAL_SPECS}

        self.aliases: dict[str, aws.lambda_.Alias] = {}
        self.provisioned_concurrency: dict[str, aws.lambda_.ProvisionedConcurrencyConfig] = {}
        self.targets: dict[str, InvokeTarget] = {}
        for spec in REGIONAL_SPECS:
            function = self.functions[spec.name]
            if spec.alias is None:
                self.targets[spec.name] = InvokeTarget(function.name, None, function.invoke_arn)
                continue
            alias = self.aliases[spec.name] = aws.lambda_.Alias(
                f"{name}-{spec.name}-{spec.alias}",
                name=spec.alias,
                function_name=function.name,
                function_version=function.version,
                opts=self._child(),
            )
            self.targets[spec.name] = InvokeTarget(function.name, alias.name, alias.invoke_arn)
            if args.provisioned_concurrency > 0:
                self.provisioned_concurrency[spec.name] = aws.lambda_.ProvisionedConcurrencyConfig(
                    f"{name}-{spec.name}-provisioned",
                    function_name=function.name,
                    qualifier=alias.name,
                    provisioned_concurrent_executions=args.provisioned_concurrency,
                    opts=self._child(),
                )

        self.register_outputs(
            {
                "region": args.region,
                "functionArns": {fn: function.arn for fn, function in self.functions.items()},
                "failureSwitch": self.failure_switch.name,
            }
        )

    def _child(self, **options: Any) -> pulumi.ResourceOptions:
        return regional_child(self, self._args.role, **options)

    def _fis_wiring(self, spec: FunctionSpec) -> FisLambdaWiring | None:
        """The FIS wiring, if fault injection is on and targets this function."""
        fis = self._args.fault_injection
        return fis if fis is not None and spec.name in fis.functions else None

    def _function_role(self, spec: FunctionSpec) -> ServiceRole:
        return function_role(
            self.package,
            spec,
            f"{self._name}-{spec.name}",
            self.log_groups[spec.name],
            self._child(),
            self._fis_wiring(spec),
        )

    def _function(self, spec: FunctionSpec) -> aws.lambda_.Function:
        fis = self._fis_wiring(spec)
        return lambda_function(
            self.package,
            spec,
            f"{self._name}-{spec.name}",
            role=self.roles[spec.name],
            log_group=self.log_groups[spec.name],
            environment=function_environment(
                self._args.settings,
                spec.name,
                fis.configuration_location if fis is not None else None,
                authorizer_alias_arn=self.package.authorizer_alias_arn,
            ),
            extra_layers=[fis.extension_layer_arn] if fis is not None else [],
            opts=self._child(depends_on=[*self._args.depends_on, self.log_groups[spec.name]]),
        )


@dataclass(frozen=True)
class FunctionPackage:
    """What every function of one Region is built from: the code, the dependency layer, and
    where it runs (its component declares the rest)."""

    settings: Settings
    region: str
    account_id: pulumi.Input[str]
    table_arn: pulumi.Input[str]  # this Region's replica
    code: pulumi.Archive
    layer_arn: pulumi.Input[str]

    @property
    def authorizer_alias_arn(self) -> pulumi.Output[str]:
        """The alias API Gateway invokes the authorizer through (the health canary's target),
        known before the alias exists, so its caller does not wait for it."""
        name = self.settings.function_name("authorizer")
        return regional_arn(
            "lambda", self.region, self.account_id, f"function:{name}:{AUTHORIZER_ALIAS}"
        )


def function_log_group(
    package: FunctionPackage, spec: FunctionSpec, name: str, opts: pulumi.ResourceOptions
) -> aws.cloudwatch.LogGroup:
    settings = package.settings
    return aws.cloudwatch.LogGroup(
        f"{name}-logs",
        name=settings.log_group_name(spec.name),
        retention_in_days=settings.log_retention_days,
        opts=opts,
    )


def function_role(
    package: FunctionPackage,
    spec: FunctionSpec,
    name: str,
    log_group: aws.cloudwatch.LogGroup,
    opts: pulumi.ResourceOptions,
    fis: FisLambdaWiring | None = None,
) -> ServiceRole:
    """An execution role with only what the row grants; `*` only for X-Ray and CloudWatch's
    PutMetricData (neither has resource-level permissions; the latter is held to its namespace)."""
    statements = [
        allow(
            ["logs:CreateLogStream", "logs:PutLogEvents"],
            [pulumi.Output.concat(log_group.arn, ":*")],
        ),
        allow(["xray:PutTraceSegments", "xray:PutTelemetryRecords"], ["*"]),
    ]
    if spec.table_access is not None:
        access = spec.table_access
        statements.append(allow(list(access.actions), [package.table_arn], access.condition()))
    if spec.metric_namespace is not None:
        statements.append(
            allow(
                ["cloudwatch:PutMetricData"],
                ["*"],
                {"StringEquals": {"cloudwatch:namespace": spec.metric_namespace}},
            )
        )
    if spec.reads_failure_switch:
        parameter = f"parameter{package.settings.failure_switch_parameter}"
        statements.append(
            allow(
                ["ssm:GetParameter"],
                [regional_arn("ssm", package.region, package.account_id, parameter)],
            )
        )
    if spec.invokes_authorizer:
        statements.append(allow(["lambda:InvokeFunction"], [package.authorizer_alias_arn]))
    if fis is not None:
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
        name,
        "lambda.amazonaws.com",
        f"{spec.name} function in {package.region}",
        statements,
        opts,
    )


def lambda_function(
    package: FunctionPackage,
    spec: FunctionSpec,
    name: str,
    *,
    role: ServiceRole,
    log_group: aws.cloudwatch.LogGroup,
    environment: dict[str, pulumi.Input[str]],
    extra_layers: list[pulumi.Input[str]],
    opts: pulumi.ResourceOptions,
) -> aws.lambda_.Function:
    settings = package.settings
    # Powertools comes in the dependency layer, without extras: the AWS-managed Powertools
    # layer also ships the X-Ray SDK, pydantic and more that no function uses.
    return aws.lambda_.Function(
        name,
        name=settings.function_name(spec.name),
        role=role.arn,
        runtime=settings.lambda_runtime,
        architectures=["arm64"],
        handler=spec.handler,
        code=package.code,
        layers=[package.layer_arn, *extra_layers],
        memory_size=settings.lambda_memory_mb,
        timeout=spec.timeout_seconds,
        tracing_config=aws.lambda_.FunctionTracingConfigArgs(mode="Active"),
        environment=aws.lambda_.FunctionEnvironmentArgs(variables=environment),
        logging_config=aws.lambda_.FunctionLoggingConfigArgs(
            log_format="Text", log_group=log_group.name
        ),
        publish=spec.alias is not None,  # a version for the alias
        opts=opts,
    )
