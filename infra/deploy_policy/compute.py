"""Grants for API Gateway (the REST APIs and the custom domain), Lambda (functions, aliases,
permissions, layers) and EventBridge (the peer watcher's schedule)."""

from __future__ import annotations

from infra.deploy_policy.grant import TAG_ACTIONS, Grant, P

_APIGATEWAY = "aws:apigateway/"

GRANTS: tuple[Grant, ...] = (
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
                "restApiPolicy:RestApiPolicy",
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
            *(f"events:{action}" for action in TAG_ACTIONS),
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
)
