"""The IAM policy whoever runs `pulumi up` / `pulumi destroy` needs, and nothing more:
`python -m infra.deploy_policy Pulumi.<stack>.yaml > deploy-policy.json`.

One grant per kind of resource the program declares (the Pulumi resource types it covers, the IAM
actions the AWS provider calls to create, read (refresh), update, tag and delete one, and the ARNs
it may touch), plus one per provider function the program calls. The document is built from a run
of the program under mocks, so it names exactly the Regions and the app of that stack and only
the grants of the resources that stack declares; tests/infra/test_deploy_policy.py fails when the
program declares a type no grant covers, when a grant covers nothing, or when a declared
resource's ARN is outside its grant's resources.

Placeholders in resource patterns: `{region}` (expanded to the stack's two Regions), `{app}`
(`<project>-<stack>`), `{domain}` (the shared hostname). The account is `*`: the policy is
attached in the one account it deploys to.
"""

from __future__ import annotations

import json
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.mockrun import ProgramRun, run_program
from infra.settings.errors import ConfigError
from infra.settings.model import PARTITION

P = PARTITION


@dataclass(frozen=True)
class Grant:
    sid: str
    # Pulumi resource types or provider function tokens this grant exists for.
    covers: tuple[str, ...]
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    condition: dict[str, Any] | None = None


# Actions whose IAM name is not the API operation's name (or that have no operation), so the test
# that checks every action against botocore's service models knows them.
IAM_ONLY_ACTIONS = frozenset(
    {
        "apigateway:DELETE",
        "apigateway:GET",
        "apigateway:PATCH",
        "apigateway:POST",
        "apigateway:PUT",
        "dynamodb:CreateTableReplica",
        "dynamodb:DeleteTableReplica",
        "iam:PassRole",
        "s3:GetAccelerateConfiguration",
        "s3:GetBucketCORS",
        "s3:DeleteObjectVersion",
        "s3:GetBucketObjectLockConfiguration",
        "s3:GetBucketPublicAccessBlock",
        "s3:GetEncryptionConfiguration",
        "s3:GetLifecycleConfiguration",
        "s3:GetReplicationConfiguration",
        "s3:ListBucket",
        "s3:ListBucketVersions",
        "s3:PutBucketPublicAccessBlock",
    }
)

_APIGATEWAY = "aws:apigateway/"
_TAGS = ("TagResource", "UntagResource", "ListTagsForResource")

GRANTS: tuple[Grant, ...] = (
    # Lookups the program makes before declaring anything.
    Grant(
        "ZoneLookup",
        ("aws:route53/getZone:getZone",),
        ("route53:ListHostedZones", "route53:GetHostedZone", "route53:ListTagsForResource"),
        ("*",),
    ),
    Grant(
        "FisExtensionLookup",
        ("aws:ssm/getParameter:getParameter",),
        ("ssm:GetParameter",),
        (f"arn:{P}:ssm:{{region}}::parameter/aws/service/fis/*",),
    ),
    # DNS: the weighted records and the certificates' validation record of this one name.
    Grant(
        "Records",
        ("aws:route53/record:Record",),
        ("route53:ChangeResourceRecordSets", "route53:ListResourceRecordSets"),
        (f"arn:{P}:route53:::hostedzone/*",),
        {
            "ForAllValues:StringLike": {
                "route53:ChangeResourceRecordSetsNormalizedRecordNames": [
                    "{domain}",
                    "_*.{domain}",
                ]
            }
        },
    ),
    Grant(
        "RecordChanges",
        ("aws:route53/record:Record",),
        ("route53:GetChange",),
        (f"arn:{P}:route53:::change/*",),
    ),
    Grant(
        "HealthChecks",
        ("aws:route53/healthCheck:HealthCheck",),
        (
            "route53:CreateHealthCheck",
            "route53:GetHealthCheck",
            "route53:UpdateHealthCheck",
            "route53:DeleteHealthCheck",
            "route53:ChangeTagsForResource",
            "route53:ListTagsForResource",
        ),
        (f"arn:{P}:route53:::healthcheck/*",),
    ),
    # Certificates: RequestCertificate has no resource-level permission.
    Grant(
        "CertificateRequest",
        ("aws:acm/certificate:Certificate",),
        ("acm:RequestCertificate", "acm:AddTagsToCertificate"),
        ("*",),
    ),
    Grant(
        "Certificates",
        ("aws:acm/certificate:Certificate", "aws:acm/certificateValidation:CertificateValidation"),
        (
            "acm:DescribeCertificate",
            "acm:ListTagsForCertificate",
            "acm:AddTagsToCertificate",
            "acm:RemoveTagsFromCertificate",
            "acm:DeleteCertificate",
        ),
        (f"arn:{P}:acm:{{region}}:*:certificate/*",),
    ),
    # API Gateway authorizes by HTTP verb on resource paths; REST API ids are random.
    Grant(
        "RestApis",
        tuple(
            _APIGATEWAY + kind
            for kind in (
                "restApi:RestApi",
                "resource:Resource",
                "method:Method",
                "integration:Integration",
                "authorizer:Authorizer",
                "deployment:Deployment",
                "stage:Stage",
                "methodSettings:MethodSettings",
                "domainName:DomainName",
                "basePathMapping:BasePathMapping",
                "account:Account",
            )
        ),
        ("apigateway:GET", "apigateway:POST", "apigateway:PUT", "apigateway:PATCH"),
        (
            f"arn:{P}:apigateway:{{region}}::/restapis",
            f"arn:{P}:apigateway:{{region}}::/restapis/*",
            f"arn:{P}:apigateway:{{region}}::/domainnames",
            f"arn:{P}:apigateway:{{region}}::/domainnames/{{domain}}",
            f"arn:{P}:apigateway:{{region}}::/domainnames/{{domain}}/*",
            f"arn:{P}:apigateway:{{region}}::/account",
            f"arn:{P}:apigateway:{{region}}::/tags/*",
        ),
    ),
    Grant(
        "RestApiDeletes",
        (_APIGATEWAY + "restApi:RestApi", _APIGATEWAY + "domainName:DomainName"),
        ("apigateway:DELETE",),
        (
            f"arn:{P}:apigateway:{{region}}::/restapis/*",
            f"arn:{P}:apigateway:{{region}}::/domainnames/{{domain}}",
            f"arn:{P}:apigateway:{{region}}::/domainnames/{{domain}}/*",
            f"arn:{P}:apigateway:{{region}}::/tags/*",
        ),
    ),
    # Functions, their alias, invoke permissions, provisioned concurrency and the shared layer.
    Grant(
        "Functions",
        (
            "aws:lambda/function:Function",
            "aws:lambda/alias:Alias",
            "aws:lambda/permission:Permission",
            "aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig",
            "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig",
        ),
        (
            "lambda:CreateFunction",
            "lambda:GetFunction",
            "lambda:GetFunctionConfiguration",
            "lambda:GetFunctionCodeSigningConfig",
            "lambda:GetRuntimeManagementConfig",
            "lambda:ListVersionsByFunction",
            "lambda:UpdateFunctionCode",
            "lambda:UpdateFunctionConfiguration",
            "lambda:PublishVersion",
            "lambda:DeleteFunction",
            "lambda:PutFunctionConcurrency",
            "lambda:DeleteFunctionConcurrency",
            "lambda:CreateAlias",
            "lambda:GetAlias",
            "lambda:UpdateAlias",
            "lambda:DeleteAlias",
            "lambda:AddPermission",
            "lambda:RemovePermission",
            "lambda:GetPolicy",
            "lambda:PutProvisionedConcurrencyConfig",
            "lambda:GetProvisionedConcurrencyConfig",
            "lambda:DeleteProvisionedConcurrencyConfig",
            "lambda:PutFunctionEventInvokeConfig",
            "lambda:GetFunctionEventInvokeConfig",
            "lambda:UpdateFunctionEventInvokeConfig",
            "lambda:DeleteFunctionEventInvokeConfig",
            "lambda:TagResource",
            "lambda:UntagResource",
            "lambda:ListTags",
        ),
        (
            f"arn:{P}:lambda:{{region}}:*:function:{{app}}-*",
            f"arn:{P}:lambda:{{region}}:*:function:{{app}}-*:*",
        ),
    ),
    # The peer watcher's schedule (infra/components/watch.py): one rule per Region and its target.
    Grant(
        "Schedules",
        ("aws:cloudwatch/eventRule:EventRule", "aws:cloudwatch/eventTarget:EventTarget"),
        (
            "events:PutRule",
            "events:DescribeRule",
            "events:DeleteRule",
            "events:PutTargets",
            "events:ListTargetsByRule",
            "events:RemoveTargets",
            *(f"events:{action}" for action in _TAGS),
        ),
        (f"arn:{P}:events:{{region}}:*:rule/{{app}}-*",),
    ),
    Grant(
        "Layers",
        ("aws:lambda/layerVersion:LayerVersion",),
        ("lambda:PublishLayerVersion", "lambda:GetLayerVersion", "lambda:DeleteLayerVersion"),
        (
            f"arn:{P}:lambda:{{region}}:*:layer:{{app}}-*",
            f"arn:{P}:lambda:{{region}}:*:layer:{{app}}-*:*",
        ),
    ),
    # CreateFunction reads every layer it attaches: ours, and the FIS extension's (AWS's account).
    Grant(
        "AttachedLayers",
        ("aws:lambda/function:Function",),
        ("lambda:GetLayerVersion",),
        (f"arn:{P}:lambda:{{region}}:*:layer:*:*",),
    ),
    Grant(
        "LogGroups",
        ("aws:cloudwatch/logGroup:LogGroup",),
        (
            "logs:CreateLogGroup",
            "logs:PutRetentionPolicy",
            "logs:DeleteRetentionPolicy",
            "logs:DeleteLogGroup",
            *(f"logs:{action}" for action in _TAGS),
        ),
        (
            f"arn:{P}:logs:{{region}}:*:log-group:/aws/lambda/{{app}}-*",
            f"arn:{P}:logs:{{region}}:*:log-group:/aws/apigateway/{{app}}-*",
            f"arn:{P}:logs:{{region}}:*:log-group:API-Gateway-Execution-Logs_*",
        ),
    ),
    Grant(
        "LogGroupReads",
        ("aws:cloudwatch/logGroup:LogGroup",),
        ("logs:DescribeLogGroups",),
        ("*",),
    ),
    Grant(
        "Alarms",
        ("aws:cloudwatch/metricAlarm:MetricAlarm", "aws:cloudwatch/compositeAlarm:CompositeAlarm"),
        (
            "cloudwatch:PutMetricAlarm",
            "cloudwatch:PutCompositeAlarm",
            "cloudwatch:DeleteAlarms",
            *(f"cloudwatch:{action}" for action in _TAGS),
        ),
        (f"arn:{P}:cloudwatch:{{region}}:*:alarm:{{app}}-*",),
    ),
    # DescribeAlarms returns composite alarms only to a permission scoped to `*`.
    Grant(
        "AlarmReads",
        ("aws:cloudwatch/metricAlarm:MetricAlarm", "aws:cloudwatch/compositeAlarm:CompositeAlarm"),
        ("cloudwatch:DescribeAlarms",),
        ("*",),
    ),
    Grant(
        "Dashboard",
        ("aws:cloudwatch/dashboard:Dashboard",),
        ("cloudwatch:PutDashboard", "cloudwatch:GetDashboard", "cloudwatch:DeleteDashboards"),
        (f"arn:{P}:cloudwatch::*:dashboard/{{app}}",),
    ),
    Grant(
        "Topics",
        ("aws:sns/topic:Topic", "aws:sns/topicSubscription:TopicSubscription"),
        (
            "sns:CreateTopic",
            "sns:GetTopicAttributes",
            "sns:SetTopicAttributes",
            "sns:DeleteTopic",
            "sns:Subscribe",
            "sns:Unsubscribe",
            "sns:GetSubscriptionAttributes",
            "sns:SetSubscriptionAttributes",
            *(f"sns:{action}" for action in _TAGS),
        ),
        (f"arn:{P}:sns:{{region}}:*:{{app}}-*",),
    ),
    # The global table: the primary's table and its replica (CreateTableReplica also needs the
    # item actions on the replica, as DynamoDB documents for global tables).
    Grant(
        "GlobalTable",
        ("aws:dynamodb/table:Table",),
        (
            "dynamodb:CreateTable",
            "dynamodb:DescribeTable",
            "dynamodb:UpdateTable",
            "dynamodb:DeleteTable",
            "dynamodb:DescribeContinuousBackups",
            "dynamodb:UpdateContinuousBackups",
            "dynamodb:DescribeTimeToLive",
            "dynamodb:UpdateTimeToLive",
            "dynamodb:ListTagsOfResource",
            "dynamodb:TagResource",
            "dynamodb:UntagResource",
            "dynamodb:CreateTableReplica",
            "dynamodb:DeleteTableReplica",
            "dynamodb:Scan",
            "dynamodb:Query",
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
            "dynamodb:BatchWriteItem",
        ),
        (f"arn:{P}:dynamodb:{{region}}:*:table/{{app}}-*",),
    ),
    Grant(
        "GlobalTableServiceRole",
        ("aws:dynamodb/table:Table",),
        ("iam:CreateServiceLinkedRole",),
        (
            f"arn:{P}:iam::*:role/aws-service-role/replication.dynamodb.amazonaws.com/"
            "AWSServiceRoleForDynamoDBReplication",
        ),
        {"StringEquals": {"iam:AWSServiceName": "replication.dynamodb.amazonaws.com"}},
    ),
    Grant(
        "FailureSwitches",
        ("aws:ssm/parameter:Parameter",),
        (
            "ssm:PutParameter",
            "ssm:GetParameter",
            "ssm:GetParameters",
            "ssm:DeleteParameter",
            "ssm:AddTagsToResource",
            "ssm:RemoveTagsFromResource",
            "ssm:ListTagsForResource",
        ),
        (f"arn:{P}:ssm:{{region}}:*:parameter/{{app}}/*",),
    ),
    Grant(
        "ParameterReads",
        ("aws:ssm/parameter:Parameter",),
        ("ssm:DescribeParameters",),
        ("*",),
    ),
    # Service roles. Pulumi names them `<logical name>-<random suffix>` (no app prefix: renaming
    # would replace every role), so they are scoped by the program's logical-name prefixes.
    Grant(
        "ServiceRoles",
        ("aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy"),
        (
            "iam:CreateRole",
            "iam:GetRole",
            "iam:UpdateRole",
            "iam:UpdateAssumeRolePolicy",
            "iam:DeleteRole",
            "iam:TagRole",
            "iam:UntagRole",
            "iam:ListRolePolicies",
            "iam:ListAttachedRolePolicies",
            "iam:ListInstanceProfilesForRole",
            "iam:PutRolePolicy",
            "iam:GetRolePolicy",
            "iam:DeleteRolePolicy",
        ),
        (
            f"arn:{P}:iam::*:role/primary-*",
            f"arn:{P}:iam::*:role/secondary-*",
            f"arn:{P}:iam::*:role/fault-injection-*",
        ),
    ),
    Grant(
        "PassServiceRoles",
        ("aws:iam/role:Role",),
        ("iam:PassRole",),
        (
            f"arn:{P}:iam::*:role/primary-*",
            f"arn:{P}:iam::*:role/secondary-*",
            f"arn:{P}:iam::*:role/fault-injection-*",
        ),
        {
            "StringEquals": {
                "iam:PassedToService": [
                    "lambda.amazonaws.com",
                    "apigateway.amazonaws.com",
                    "fis.amazonaws.com",
                ]
            }
        },
    ),
    Grant(
        "OperatorPolicy",
        ("aws:iam/policy:Policy",),
        (
            "iam:CreatePolicy",
            "iam:GetPolicy",
            "iam:GetPolicyVersion",
            "iam:ListPolicyVersions",
            "iam:CreatePolicyVersion",
            "iam:DeletePolicyVersion",
            "iam:DeletePolicy",
            "iam:TagPolicy",
            "iam:UntagPolicy",
        ),
        (f"arn:{P}:iam::*:policy/{{app}}-*",),
    ),
    # Fault injection (faultInjection: true): the experiment templates and their config bucket.
    Grant(
        "FaultInjection",
        ("aws:fis/experimentTemplate:ExperimentTemplate",),
        (
            "fis:CreateExperimentTemplate",
            "fis:GetExperimentTemplate",
            "fis:UpdateExperimentTemplate",
            "fis:DeleteExperimentTemplate",
            *(f"fis:{action}" for action in _TAGS),
        ),
        (
            f"arn:{P}:fis:{{region}}:*:experiment-template/*",
            f"arn:{P}:fis:{{region}}:*:action/*",
        ),
    ),
    Grant(
        "FaultInjectionBucket",
        ("aws:s3/bucket:Bucket", "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"),
        (
            "s3:CreateBucket",
            "s3:DeleteBucket",
            "s3:ListBucket",
            "s3:DeleteObject",
            "s3:DeleteObjectVersion",
            "s3:ListBucketVersions",
            "s3:GetBucketAcl",
            "s3:GetBucketCORS",
            "s3:GetBucketWebsite",
            "s3:GetBucketVersioning",
            "s3:GetAccelerateConfiguration",
            "s3:GetBucketRequestPayment",
            "s3:GetBucketLogging",
            "s3:GetLifecycleConfiguration",
            "s3:GetReplicationConfiguration",
            "s3:GetEncryptionConfiguration",
            "s3:GetBucketObjectLockConfiguration",
            "s3:GetBucketPolicy",
            "s3:GetBucketTagging",
            "s3:PutBucketTagging",
            "s3:GetBucketPublicAccessBlock",
            "s3:PutBucketPublicAccessBlock",
        ),
        (f"arn:{P}:s3:::fault-injection-*",),
    ),
)


def covered_types(run: ProgramRun) -> set[str]:
    """What a run needs grants for: its cloud resources' types and its provider calls."""
    needed = {resource.type for resource in run.cloud_resources}
    needed |= {call.token for call in run.calls}
    needed.discard("aws:index/getCallerIdentity:getCallerIdentity")  # STS needs no permission
    return needed


def _expand(pattern: str, app: str, domain: str, regions: list[str]) -> list[str]:
    named = pattern.replace("{app}", app).replace("{domain}", domain)
    if "{region}" not in named:
        return [named]
    return [named.replace("{region}", region) for region in regions]


def _expand_condition(value: Any, app: str, domain: str) -> Any:
    if isinstance(value, dict):
        return {key: _expand_condition(item, app, domain) for key, item in value.items()}
    if isinstance(value, list):
        return [_expand_condition(item, app, domain) for item in value]
    if isinstance(value, str):
        return value.replace("{app}", app).replace("{domain}", domain)
    return value


def deploy_policy(run: ProgramRun) -> dict[str, Any]:
    """The policy document for the stack `run` ran: the grants of what it declares and calls."""
    topology = run.outputs["topology"]
    app = topology["app"]
    domain = topology["records"][0]["name"].rstrip(".")
    regions = [topology["regions"][role]["region"] for role in ("primary", "secondary")]
    needed = covered_types(run)
    statements = []
    for grant in GRANTS:
        if not needed.intersection(grant.covers):
            continue
        statement: dict[str, Any] = {
            "Sid": grant.sid,
            "Effect": "Allow",
            "Action": sorted(grant.actions),
            "Resource": [
                arn for pattern in grant.resources for arn in _expand(pattern, app, domain, regions)
            ],
        }
        if grant.condition:
            statement["Condition"] = _expand_condition(grant.condition, app, domain)
        statements.append(statement)
    return {"Version": "2012-10-17", "Statement": statements}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m infra.deploy_policy Pulumi.<stack>.yaml", file=sys.stderr)
        return 2
    stack_file = Path(args[0])
    if not stack_file.is_file():
        print(f"error: no such stack file: {stack_file}", file=sys.stderr)
        return 2
    warnings.simplefilter("ignore", DeprecationWarning)  # pulumi_aws.lambda_ warns on import
    try:
        run = run_program(stack_file)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(json.dumps(deploy_policy(run), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
