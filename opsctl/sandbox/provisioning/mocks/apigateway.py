"""The REST API as declared (resources, authorizer, methods, integrations, deployment, stage and
its method settings), created in the emulator so its id and settings are real."""

from __future__ import annotations

from typing import Any

from opsctl.sandbox.provisioning.mocks.target import Creator, MockTarget

IDENTITY_SOURCE_PREFIX = "method.request.header."


def rest_api(
    target: MockTarget, inputs: dict[str, Any], region: str, _id: str, _out: dict
) -> tuple[str, dict]:
    types = (inputs.get("endpointConfiguration") or {}).get("types") or "EDGE"
    api = target.clients("apigateway", region).create_rest_api(
        name=inputs["name"],
        description=inputs.get("description") or "",
        endpointConfiguration={"types": [types] if isinstance(types, str) else list(types)},
    )
    api_id = api["id"]
    return api_id, {
        "rootResourceId": api["rootResourceId"],
        "executionArn": f"arn:aws:execute-api:{region}:{target.account_id}:{api_id}",
        "arn": f"arn:aws:apigateway:{region}::/restapis/{api_id}",
    }


def api_resource(
    target: MockTarget, inputs: dict[str, Any], region: str, _id: str, _out: dict
) -> tuple[str, dict]:
    created = target.clients("apigateway", region).create_resource(
        restApiId=inputs["restApi"], parentId=inputs["parentId"], pathPart=inputs["pathPart"]
    )
    return created["id"], {"path": created["path"]}


def authorizer(
    target: MockTarget, inputs: dict[str, Any], region: str, _id: str, _out: dict
) -> tuple[str, dict]:
    params: dict[str, Any] = {
        "restApiId": inputs["restApi"],
        "name": inputs["name"],
        "type": inputs.get("type", "TOKEN"),
        "authorizerUri": inputs["authorizerUri"],
        "identitySource": inputs.get("identitySource", IDENTITY_SOURCE_PREFIX + "Authorization"),
        "authorizerResultTtlInSeconds": int(inputs.get("authorizerResultTtlInSeconds", 300)),
    }
    if inputs.get("identityValidationExpression"):
        params["identityValidationExpression"] = inputs["identityValidationExpression"]
    created = target.clients("apigateway", region).create_authorizer(**params)
    return created["id"], {}


def method(
    target: MockTarget, inputs: dict[str, Any], region: str, _id: str, _out: dict
) -> tuple[str, dict]:
    params: dict[str, Any] = {
        "restApiId": inputs["restApi"],
        "resourceId": inputs["resourceId"],
        "httpMethod": inputs["httpMethod"],
        "authorizationType": inputs["authorization"],
    }
    if inputs.get("authorizerId"):
        params["authorizerId"] = inputs["authorizerId"]
    if inputs.get("requestParameters"):
        params["requestParameters"] = {k: bool(v) for k, v in inputs["requestParameters"].items()}
    target.clients("apigateway", region).put_method(**params)
    return f"agm-{inputs['restApi']}-{inputs['resourceId']}-{inputs['httpMethod']}", {}


def integration(
    target: MockTarget, inputs: dict[str, Any], region: str, _id: str, _out: dict
) -> tuple[str, dict]:
    target.clients("apigateway", region).put_integration(
        restApiId=inputs["restApi"],
        resourceId=inputs["resourceId"],
        httpMethod=inputs["httpMethod"],
        type=inputs["type"],
        integrationHttpMethod=inputs["integrationHttpMethod"],
        uri=inputs["uri"],
    )
    return f"agi-{inputs['restApi']}-{inputs['resourceId']}-{inputs['httpMethod']}", {}


def deployment(
    target: MockTarget, inputs: dict[str, Any], region: str, _id: str, _out: dict
) -> tuple[str, dict]:
    created = target.clients("apigateway", region).create_deployment(restApiId=inputs["restApi"])
    return created["id"], {}


def stage(
    target: MockTarget, inputs: dict[str, Any], region: str, stage_id: str, _out: dict
) -> tuple[str, dict]:
    apigateway = target.clients("apigateway", region)
    api_id, stage_name = inputs["restApi"], inputs["stageName"]
    apigateway.create_stage(
        restApiId=api_id,
        stageName=stage_name,
        deploymentId=inputs["deployment"],
        tracingEnabled=bool(inputs.get("xrayTracingEnabled", False)),
    )
    access_logs = inputs.get("accessLogSettings") or {}
    if access_logs:
        apigateway.update_stage(
            restApiId=api_id,
            stageName=stage_name,
            patchOperations=[
                {"op": "replace", "path": "/accessLogSettings/destinationArn",
                 "value": access_logs["destinationArn"]},
                {"op": "replace", "path": "/accessLogSettings/format",
                 "value": access_logs["format"]},
            ],
        )  # fmt: skip
    return stage_id, {}


def method_settings(
    target: MockTarget, inputs: dict[str, Any], region: str, settings_id: str, _out: dict
) -> tuple[str, dict]:
    """The stage's method settings (throttling, metrics, logging) as UpdateStage patches."""
    settings = inputs.get("settings") or {}
    paths = {
        "metricsEnabled": "metrics/enabled",
        "loggingLevel": "logging/loglevel",
        "dataTraceEnabled": "logging/dataTrace",
        "throttlingRateLimit": "throttling/rateLimit",
        "throttlingBurstLimit": "throttling/burstLimit",
    }
    operations = [
        {
            "op": "replace",
            "path": f"/{inputs['methodPath']}/{path}",
            "value": _patch_value(settings[key]),
        }
        for key, path in paths.items()
        if settings.get(key) is not None
    ]
    target.clients("apigateway", region).update_stage(
        restApiId=inputs["restApi"], stageName=inputs["stageName"], patchOperations=operations
    )
    return settings_id, {}


def _patch_value(value: Any) -> str:
    """A setting as API Gateway's patch operations spell it (Pulumi hands numbers as floats)."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


CREATORS: dict[str, Creator] = {
    "aws:apigateway/restApi:RestApi": rest_api,
    "aws:apigateway/resource:Resource": api_resource,
    "aws:apigateway/authorizer:Authorizer": authorizer,
    "aws:apigateway/method:Method": method,
    "aws:apigateway/integration:Integration": integration,
    "aws:apigateway/deployment:Deployment": deployment,
    "aws:apigateway/stage:Stage": stage,
    "aws:apigateway/methodSettings:MethodSettings": method_settings,
}
