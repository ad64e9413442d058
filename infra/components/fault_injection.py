"""Optional AWS FIS experiment templates (config `faultInjection`, default off).

Two templates against the primary Region's API and health functions: invocation errors and
added latency, each stopped by the Region's own alarms. The FIS Lambda actions work through the
AWS-managed FIS extension layer, which reads its fault configuration from an S3 prefix; the
`FaultInjectionStore` provides that bucket and the wiring the functions need.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.policies import allow, service_role
from infra.settings.model import FAULT_INJECTION_FUNCTIONS, PROJECT, Settings

CONFIG_PREFIX = "FisConfigs/"
EXTENSION_PARAMETER = "/aws/service/fis/lambda-extension/AWS-FIS-extension-arm64/1.x.x"
TARGET = "Functions"


@dataclass(frozen=True)
class FisLambdaWiring:
    """What a function needs so AWS FIS Lambda actions can reach it (the FIS extension)."""

    extension_layer_arn: pulumi.Input[str]
    configuration_location: pulumi.Input[str]  # arn:aws:s3:::bucket/prefix/
    bucket_arn: pulumi.Input[str]
    prefix: str
    functions: tuple[str, ...] = FAULT_INJECTION_FUNCTIONS


@dataclass(frozen=True)
class FaultInjectionStoreArgs:
    # The functions FIS may target: they get the extension layer and the configuration location.
    functions: tuple[str, ...] = FAULT_INJECTION_FUNCTIONS


class FaultInjectionStore(pulumi.ComponentResource):
    """The private bucket FIS writes fault configurations to, and the functions' wiring."""

    def __init__(
        self,
        name: str,
        args: FaultInjectionStoreArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(f"{PROJECT}:infra:FaultInjectionStore", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.bucket = aws.s3.Bucket(name, force_destroy=True, opts=child)
        aws.s3.BucketPublicAccessBlock(
            f"{name}-private",
            bucket=self.bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        extension = aws.ssm.get_parameter_output(
            name=EXTENSION_PARAMETER, opts=pulumi.InvokeOutputOptions(parent=self)
        )
        self.wiring = FisLambdaWiring(
            extension_layer_arn=extension.value,
            configuration_location=pulumi.Output.concat(
                "arn:aws:s3:::", self.bucket.bucket, f"/{CONFIG_PREFIX}"
            ),
            bucket_arn=self.bucket.arn,
            prefix=CONFIG_PREFIX,
            functions=args.functions,
        )
        self.register_outputs({"bucket": self.bucket.bucket})


@dataclass(frozen=True)
class FaultInjectionExperimentsArgs:
    settings: Settings
    account_id: pulumi.Input[str]  # FIS may assume the role only on this account's behalf
    wiring: FisLambdaWiring
    function_arns: list[pulumi.Input[str]]  # the primary's API and health functions
    stop_alarm_arns: list[pulumi.Input[str]]


class FaultInjectionExperiments(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        args: FaultInjectionExperimentsArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(f"{PROJECT}:infra:FaultInjectionExperiments", name, None, opts)
        settings, faults = args.settings, args.settings.fault_injection
        child = pulumi.ResourceOptions(parent=self)

        role = service_role(
            name,
            "fis.amazonaws.com",
            "AWS FIS experiments against the primary Region's functions",
            [
                allow(["lambda:GetFunction"], list(args.function_arns)),
                allow(
                    ["s3:PutObject", "s3:DeleteObject"],
                    [pulumi.Output.concat(args.wiring.bucket_arn, f"/{args.wiring.prefix}*")],
                ),
            ],
            child,
            source_account=args.account_id,
        )

        common_parameters = {
            "duration": f"PT{faults.duration_minutes}M",
            "invocationPercentage": str(faults.invocation_percentage),
        }
        experiments = {
            "lambda-errors": (
                "aws:lambda:invocation-error",
                {**common_parameters, "preventExecution": "true"},
                f"{faults.invocation_percentage}% of invocations fail",
            ),
            "lambda-latency": (
                "aws:lambda:invocation-add-delay",
                {**common_parameters, "startupDelayMilliseconds": str(faults.delay_ms)},
                f"{faults.invocation_percentage}% of invocations start {faults.delay_ms} ms late",
            ),
        }
        self.templates: dict[str, aws.fis.ExperimentTemplate] = {}
        for experiment, (action_id, parameters, effect) in experiments.items():
            self.templates[experiment] = aws.fis.ExperimentTemplate(
                f"{name}-{experiment}",
                description=f"Primary Region API and health functions: {effect} for "
                f"{faults.duration_minutes} min; stops when a Region alarm fires",
                role_arn=role.arn,
                stop_conditions=[
                    aws.fis.ExperimentTemplateStopConditionArgs(
                        source="aws:cloudwatch:alarm", value=alarm_arn
                    )
                    for alarm_arn in args.stop_alarm_arns
                ],
                targets=[
                    aws.fis.ExperimentTemplateTargetArgs(
                        name=TARGET,
                        resource_type="aws:lambda:function",
                        selection_mode="ALL",
                        resource_arns=list(args.function_arns),
                    )
                ],
                actions=[
                    aws.fis.ExperimentTemplateActionArgs(
                        name=experiment,
                        action_id=action_id,
                        parameters=[
                            aws.fis.ExperimentTemplateActionParameterArgs(key=k, value=v)
                            for k, v in parameters.items()
                        ],
                        target=aws.fis.ExperimentTemplateActionTargetArgs(key=TARGET, value=TARGET),
                    )
                ],
                tags={"Name": f"{settings.app}-primary-{experiment}", "App": settings.app},
                opts=child,
            )
        self.register_outputs({k: t.id for k, t in self.templates.items()})
