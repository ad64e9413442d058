"""Provision the emulator from the real Pulumi program, as `pulumi up` would provision AWS.

`__main__.py` runs with the stack file under Pulumi's mock runtime (infra.mockrun). The mocks
create in the emulator what the product needs at run time — the hosted zone (the program looks it
up by name), the weighted records and the certificate validation record, the tagged health
checks, the alarms and the SNS topic, the table in each Region (with its stream, for replication),
the SSM failure switches — and return the real ids, so the `topology` output is the one opsctl
then reads, exactly as after `pulumi up`. Everything else (roles, log groups, layers, ...) keeps
the realistic mock answers.

What AWS would run but moto cannot (API Gateway stages, Lambda) is read back from the declared
resources — routes, methods, authorizer, functions with their handler and environment, custom
domain — into one FrontSpec per Region, served by `opsctl.sandbox.front`. The stage keeps its
real invoke URL (https://<api id>.execute-api.<region>.amazonaws.com/prod); the sandbox's host map
(its stand-in for public DNS) sends that name, and the custom domain's Regional target, to the
Region's loopback front.
"""

from __future__ import annotations

import io
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pulumi

from infra.mockrun import ProgramRun, RealisticMocks, run_program
from opsctl.sandbox.front.spec import AuthorizerSpec, FrontSpec, LambdaSpec, RouteSpec

ClientFactory = Callable[[str, str], Any]  # (service, region) -> boto3 client

IDENTITY_SOURCE_PREFIX = "method.request.header."
# How Pulumi's RPC marks a secret value (e.g. an SSM parameter's `value`).
SECRET_SIGNATURE = ("4dabf18193072939515e22adb298388d", "1b47061264138c4ac30d75fd1eb44270")


def plain(value: Any) -> Any:
    """`value` with Pulumi's secret wrappers removed: the emulator stores plain values."""
    if isinstance(value, dict):
        if value.get(SECRET_SIGNATURE[0]) == SECRET_SIGNATURE[1]:
            return plain(value.get("value"))
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


@dataclass(frozen=True)
class Provisioned:
    """What the sandbox needs after provisioning: the topology and what to serve per Region."""

    topology: dict[str, Any]
    fronts: dict[str, FrontSpec]  # Region -> spec
    host_map: dict[str, str]  # DNS names (execute-api, custom-domain targets) -> 127.0.0.x:port
    hostname: str  # the shared record name, no trailing dot
    run: ProgramRun


def boto3_clients(endpoint_url: str) -> ClientFactory:
    def make(service: str, region: str) -> Any:
        return boto3.client(service, region_name=region, endpoint_url=endpoint_url)

    return make


def _pascal(name: str) -> str:
    return name[:1].upper() + name[1:]


class SandboxMocks(RealisticMocks):
    """Realistic mock answers, plus real resources in the emulator for what runs."""

    def __init__(self, clients: ClientFactory) -> None:
        super().__init__()
        self.clients = clients
        self._zone_ids: dict[str, str] = {}

    # ---- provider functions ---------------------------------------------------------------

    def call(self, args: Any) -> tuple[dict, list | None]:
        answer, failures = super().call(args)
        if args.token == "aws:route53/getZone:getZone":
            zone_id = self._hosted_zone(answer["name"])
            answer = {**answer, "zoneId": zone_id, "id": zone_id,
                      "arn": f"arn:aws:route53:::hostedzone/{zone_id}"}  # fmt: skip
        return answer, failures

    def _hosted_zone(self, name: str) -> str:
        """The public zone the program looks up must exist, as it does in the account."""
        if name not in self._zone_ids:
            route53 = self.clients("route53", "us-east-1")
            zone = route53.create_hosted_zone(Name=name, CallerReference=f"sandbox-{name}")
            self._zone_ids[name] = zone["HostedZone"]["Id"].rsplit("/", 1)[-1]
        return self._zone_ids[name]

    # ---- resources ------------------------------------------------------------------------

    def new_resource(self, args: Any) -> tuple[str | None, dict]:
        resource_id, outputs = super().new_resource(args)
        region = args.region or "us-east-1"
        inputs = plain(dict(args.inputs))
        create = {
            "aws:route53/healthCheck:HealthCheck": self._health_check,
            "aws:route53/record:Record": self._record,
            "aws:cloudwatch/metricAlarm:MetricAlarm": self._metric_alarm,
            "aws:cloudwatch/compositeAlarm:CompositeAlarm": self._composite_alarm,
            "aws:sns/topic:Topic": self._topic,
            "aws:dynamodb/table:Table": self._table,
            "aws:ssm/parameter:Parameter": self._parameter,
            "aws:iam/role:Role": self._role,
            "aws:lambda/function:Function": self._function,
            "aws:lambda/alias:Alias": self._alias,
            "aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig": (
                self._provisioned_concurrency
            ),
            "aws:apigateway/restApi:RestApi": self._rest_api,
            "aws:apigateway/resource:Resource": self._api_resource,
            "aws:apigateway/authorizer:Authorizer": self._authorizer,
            "aws:apigateway/method:Method": self._method,
            "aws:apigateway/integration:Integration": self._integration,
            "aws:apigateway/deployment:Deployment": self._deployment,
            "aws:apigateway/stage:Stage": self._stage,
            "aws:apigateway/methodSettings:MethodSettings": self._method_settings,
        }.get(args.typ)
        if create is None:
            return resource_id, outputs
        real_id, real_outputs = create(inputs, region, resource_id or "", outputs)
        return real_id, {**outputs, **real_outputs}

    def _health_check(
        self, inputs: dict[str, Any], region: str, _id: str, _out: dict
    ) -> tuple[str, dict]:
        route53 = self.clients("route53", "us-east-1")
        config = health_check_config(inputs)
        created = route53.create_health_check(
            CallerReference=f"sandbox-{uuid.uuid4()}", HealthCheckConfig=config
        )["HealthCheck"]
        tags = [{"Key": k, "Value": v} for k, v in (inputs.get("tags") or {}).items()]
        if tags:
            route53.change_tags_for_resource(
                ResourceType="healthcheck", ResourceId=created["Id"], AddTags=tags
            )
        return created["Id"], {"arn": f"arn:aws:route53:::healthcheck/{created['Id']}"}

    def _record(
        self, inputs: dict[str, Any], region: str, record_id: str, _out: dict
    ) -> tuple[str, dict]:
        record: dict[str, Any] = {"Name": inputs["name"], "Type": inputs["type"]}
        if inputs.get("setIdentifier"):
            record["SetIdentifier"] = inputs["setIdentifier"]
        for policy in inputs.get("weightedRoutingPolicies") or []:
            record["Weight"] = int(policy["weight"])
        for alias in inputs.get("aliases") or []:
            record["AliasTarget"] = {
                "HostedZoneId": alias["zoneId"],
                "DNSName": alias["name"],
                "EvaluateTargetHealth": bool(alias.get("evaluateTargetHealth", False)),
            }
        if inputs.get("records"):
            record["ResourceRecords"] = [{"Value": value} for value in inputs["records"]]
            record["TTL"] = int(inputs.get("ttl") or 300)
        if inputs.get("healthCheckId"):
            record["HealthCheckId"] = inputs["healthCheckId"]
        action = "UPSERT" if inputs.get("allowOverwrite") else "CREATE"
        self.clients("route53", "us-east-1").change_resource_record_sets(
            HostedZoneId=inputs["zoneId"],
            ChangeBatch={"Changes": [{"Action": action, "ResourceRecordSet": record}]},
        )
        return record_id, {}

    def _metric_alarm(
        self, inputs: dict[str, Any], region: str, _id: str, _out: dict
    ) -> tuple[str, dict]:
        cloudwatch = self.clients("cloudwatch", region)
        name = inputs.get("name") or _id
        params: dict[str, Any] = {
            "AlarmName": name,
            "ComparisonOperator": inputs["comparisonOperator"],
            "EvaluationPeriods": int(inputs["evaluationPeriods"]),
            "AlarmActions": list(inputs.get("alarmActions") or []),
            "OKActions": list(inputs.get("okActions") or []),
            "InsufficientDataActions": list(inputs.get("insufficientDataActions") or []),
            "TreatMissingData": inputs.get("treatMissingData", "missing"),
        }
        for key in (
            "alarmDescription",
            "namespace",
            "metricName",
            "statistic",
            "extendedStatistic",
            "unit",
        ):
            if inputs.get(key) is not None:
                params[_pascal(key)] = inputs[key]
        for key in ("period", "datapointsToAlarm"):
            if inputs.get(key) is not None:
                params[_pascal(key)] = int(inputs[key])
        if inputs.get("threshold") is not None:
            params["Threshold"] = float(inputs["threshold"])
        if inputs.get("dimensions"):
            params["Dimensions"] = [
                {"Name": k, "Value": str(v)} for k, v in inputs["dimensions"].items()
            ]
        if inputs.get("metricQueries"):
            params["Metrics"] = [self._metric_query(query) for query in inputs["metricQueries"]]
        cloudwatch.put_metric_alarm(**params)
        return name, {"arn": f"arn:aws:cloudwatch:{region}:{self.account_id}:alarm:{name}"}

    @staticmethod
    def _metric_query(query: dict[str, Any]) -> dict[str, Any]:
        converted: dict[str, Any] = {
            "Id": query["id"],
            "ReturnData": bool(query.get("returnData", False)),
        }
        for key in ("expression", "label"):
            if query.get(key):
                converted[_pascal(key)] = query[key]
        if query.get("period"):
            converted["Period"] = int(query["period"])
        metric = query.get("metric")
        if metric:
            converted["MetricStat"] = {
                "Metric": {
                    "Namespace": metric["namespace"],
                    "MetricName": metric["metricName"],
                    "Dimensions": [
                        {"Name": k, "Value": str(v)}
                        for k, v in (metric.get("dimensions") or {}).items()
                    ],
                },
                "Period": int(metric["period"]),
                "Stat": metric["stat"],
            }
            if metric.get("unit"):
                converted["MetricStat"]["Unit"] = metric["unit"]
        return converted

    def _composite_alarm(
        self, inputs: dict[str, Any], region: str, _id: str, _out: dict
    ) -> tuple[str, dict]:
        name = inputs.get("alarmName") or _id
        self.clients("cloudwatch", region).put_composite_alarm(
            AlarmName=name,
            AlarmRule=inputs["alarmRule"],
            AlarmDescription=inputs.get("alarmDescription") or "",
            AlarmActions=list(inputs.get("alarmActions") or []),
            OKActions=list(inputs.get("okActions") or []),
        )
        return name, {"arn": f"arn:aws:cloudwatch:{region}:{self.account_id}:alarm:{name}"}

    def _topic(
        self, inputs: dict[str, Any], region: str, _id: str, outputs: dict
    ) -> tuple[str, dict]:
        arn = self.clients("sns", region).create_topic(Name=outputs["name"])["TopicArn"]
        return arn, {"arn": arn}

    def _table(
        self, inputs: dict[str, Any], region: str, _id: str, outputs: dict
    ) -> tuple[str, dict]:
        """The table in its Region and in every replica Region, each with its own stream."""
        name = inputs["name"]
        key_schema = [{"AttributeName": inputs["hashKey"], "KeyType": "HASH"}]
        if inputs.get("rangeKey"):
            key_schema.append({"AttributeName": inputs["rangeKey"], "KeyType": "RANGE"})
        attributes = [
            {"AttributeName": a["name"], "AttributeType": a["type"]} for a in inputs["attributes"]
        ]
        regions = [region, *(replica["regionName"] for replica in inputs.get("replicas") or [])]
        stream_arn = ""
        for table_region in regions:
            dynamodb = self.clients("dynamodb", table_region)
            created = dynamodb.create_table(
                TableName=name,
                KeySchema=key_schema,
                AttributeDefinitions=attributes,
                BillingMode="PAY_PER_REQUEST",
                # Global tables replicate through the stream; the sandbox's replicator tails it.
                StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
            )["TableDescription"]
            ttl = inputs.get("ttl") or {}
            if ttl.get("enabled"):
                dynamodb.update_time_to_live(
                    TableName=name,
                    TimeToLiveSpecification={
                        "Enabled": True,
                        "AttributeName": ttl["attributeName"],
                    },
                )
            if table_region == region:
                stream_arn = created["LatestStreamArn"]
        return name, {"streamArn": stream_arn}

    def _parameter(
        self, inputs: dict[str, Any], region: str, _id: str, _out: dict
    ) -> tuple[str, dict]:
        self.clients("ssm", region).put_parameter(
            Name=inputs["name"],
            Value=inputs["value"],
            Type=inputs.get("type", "String"),
            Overwrite=True,
        )
        return inputs["name"], {}

    # ---- Lambda: created (not invoked: moto needs Docker for that; the fronts run handlers) ----

    def _role(
        self, inputs: dict[str, Any], region: str, _id: str, outputs: dict
    ) -> tuple[str, dict]:
        role = self.clients("iam", "us-east-1").create_role(
            RoleName=outputs["name"],
            AssumeRolePolicyDocument=inputs["assumeRolePolicy"],
            Description=inputs.get("description") or "",
        )["Role"]
        return role["RoleName"], {"arn": role["Arn"]}

    def _function(
        self, inputs: dict[str, Any], region: str, _id: str, outputs: dict
    ) -> tuple[str, dict]:
        lambda_ = self.clients("lambda", region)
        variables = (inputs.get("environment") or {}).get("variables") or {}
        created = lambda_.create_function(
            FunctionName=inputs["name"],
            Runtime=inputs["runtime"],
            Role=inputs["role"],
            Handler=inputs["handler"],
            Code={"ZipFile": archive_zip(inputs["code"])},
            Timeout=int(inputs.get("timeout") or 3),
            MemorySize=int(inputs.get("memorySize") or 128),
            Architectures=list(inputs.get("architectures") or ["x86_64"]),
            Environment={"Variables": {k: str(v) for k, v in variables.items()}},
            Publish=bool(inputs.get("publish", False)),
        )
        reserved = inputs.get("reservedConcurrentExecutions")
        if reserved is not None and int(reserved) >= 0:  # -1: unreserved (the provider's default)
            lambda_.put_function_concurrency(
                FunctionName=inputs["name"], ReservedConcurrentExecutions=int(reserved)
            )
        arn = created["FunctionArn"]
        outputs = {"arn": arn, "invokeArn": _invoke_arn(region, arn), "version": created["Version"]}
        return inputs["name"], outputs

    def _alias(self, inputs: dict[str, Any], region: str, _id: str, _out: dict) -> tuple[str, dict]:
        alias = self.clients("lambda", region).create_alias(
            FunctionName=inputs["functionName"],
            Name=inputs["name"],
            FunctionVersion=str(inputs["functionVersion"]),
        )
        arn = alias["AliasArn"]
        return arn, {"arn": arn, "invokeArn": _invoke_arn(region, arn)}

    def _provisioned_concurrency(
        self, inputs: dict[str, Any], region: str, _id: str, _out: dict
    ) -> tuple[str, dict]:
        self.clients("lambda", region).put_provisioned_concurrency_config(
            FunctionName=inputs["functionName"],
            Qualifier=inputs["qualifier"],
            ProvisionedConcurrentExecutions=int(inputs["provisionedConcurrentExecutions"]),
        )
        return f"{inputs['functionName']}:{inputs['qualifier']}", {}

    # ---- API Gateway: the REST API as declared, so its id and settings are real ------------

    def _rest_api(
        self, inputs: dict[str, Any], region: str, _id: str, _out: dict
    ) -> tuple[str, dict]:
        types = (inputs.get("endpointConfiguration") or {}).get("types") or "EDGE"
        api = self.clients("apigateway", region).create_rest_api(
            name=inputs["name"],
            description=inputs.get("description") or "",
            endpointConfiguration={"types": [types] if isinstance(types, str) else list(types)},
        )
        api_id = api["id"]
        return api_id, {
            "rootResourceId": api["rootResourceId"],
            "executionArn": f"arn:aws:execute-api:{region}:{self.account_id}:{api_id}",
            "arn": f"arn:aws:apigateway:{region}::/restapis/{api_id}",
        }

    def _api_resource(
        self, inputs: dict[str, Any], region: str, _id: str, _out: dict
    ) -> tuple[str, dict]:
        created = self.clients("apigateway", region).create_resource(
            restApiId=inputs["restApi"], parentId=inputs["parentId"], pathPart=inputs["pathPart"]
        )
        return created["id"], {"path": created["path"]}

    def _authorizer(
        self, inputs: dict[str, Any], region: str, _id: str, _out: dict
    ) -> tuple[str, dict]:
        params: dict[str, Any] = {
            "restApiId": inputs["restApi"],
            "name": inputs["name"],
            "type": inputs.get("type", "TOKEN"),
            "authorizerUri": inputs["authorizerUri"],
            "identitySource": inputs.get(
                "identitySource", IDENTITY_SOURCE_PREFIX + "Authorization"
            ),
            "authorizerResultTtlInSeconds": int(inputs.get("authorizerResultTtlInSeconds", 300)),
        }
        if inputs.get("identityValidationExpression"):
            params["identityValidationExpression"] = inputs["identityValidationExpression"]
        created = self.clients("apigateway", region).create_authorizer(**params)
        return created["id"], {}

    def _method(
        self, inputs: dict[str, Any], region: str, _id: str, _out: dict
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
            params["requestParameters"] = {
                k: bool(v) for k, v in inputs["requestParameters"].items()
            }
        self.clients("apigateway", region).put_method(**params)
        return f"agm-{inputs['restApi']}-{inputs['resourceId']}-{inputs['httpMethod']}", {}

    def _integration(
        self, inputs: dict[str, Any], region: str, _id: str, _out: dict
    ) -> tuple[str, dict]:
        self.clients("apigateway", region).put_integration(
            restApiId=inputs["restApi"],
            resourceId=inputs["resourceId"],
            httpMethod=inputs["httpMethod"],
            type=inputs["type"],
            integrationHttpMethod=inputs["integrationHttpMethod"],
            uri=inputs["uri"],
        )
        return f"agi-{inputs['restApi']}-{inputs['resourceId']}-{inputs['httpMethod']}", {}

    def _deployment(
        self, inputs: dict[str, Any], region: str, _id: str, _out: dict
    ) -> tuple[str, dict]:
        created = self.clients("apigateway", region).create_deployment(restApiId=inputs["restApi"])
        return created["id"], {}

    def _stage(
        self, inputs: dict[str, Any], region: str, stage_id: str, _out: dict
    ) -> tuple[str, dict]:
        apigateway = self.clients("apigateway", region)
        api_id, stage = inputs["restApi"], inputs["stageName"]
        apigateway.create_stage(
            restApiId=api_id,
            stageName=stage,
            deploymentId=inputs["deployment"],
            tracingEnabled=bool(inputs.get("xrayTracingEnabled", False)),
        )
        access_logs = inputs.get("accessLogSettings") or {}
        if access_logs:
            apigateway.update_stage(
                restApiId=api_id,
                stageName=stage,
                patchOperations=[
                    {"op": "replace", "path": "/accessLogSettings/destinationArn",
                     "value": access_logs["destinationArn"]},
                    {"op": "replace", "path": "/accessLogSettings/format",
                     "value": access_logs["format"]},
                ],
            )  # fmt: skip
        return stage_id, {}

    def _method_settings(
        self, inputs: dict[str, Any], region: str, settings_id: str, _out: dict
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
        self.clients("apigateway", region).update_stage(
            restApiId=inputs["restApi"], stageName=inputs["stageName"], patchOperations=operations
        )
        return settings_id, {}


def health_check_config(inputs: dict[str, Any]) -> dict[str, Any]:
    """Route 53's HealthCheckConfig for a declared aws.route53.HealthCheck, of any type: an
    endpoint check (HTTP, HTTPS, TCP, ...), CLOUDWATCH_METRIC on an alarm, or CALCULATED over
    child checks."""
    kind = inputs["type"]
    config: dict[str, Any] = {"Type": kind}
    if kind == "CLOUDWATCH_METRIC":
        config["AlarmIdentifier"] = {
            "Region": inputs["cloudwatchAlarmRegion"],
            "Name": inputs["cloudwatchAlarmName"],
        }
        if inputs.get("insufficientDataHealthStatus"):
            config["InsufficientDataHealthStatus"] = inputs["insufficientDataHealthStatus"]
    elif kind == "CALCULATED":
        config["ChildHealthChecks"] = list(inputs.get("childHealthchecks") or [])
        config["HealthThreshold"] = int(inputs.get("childHealthThreshold") or 0)
    else:
        config.update(
            {
                "FullyQualifiedDomainName": inputs["fqdn"],
                "Port": int(inputs["port"]),
                "ResourcePath": inputs.get("resourcePath") or "/",
                "RequestInterval": int(inputs.get("requestInterval") or 30),
                "FailureThreshold": int(inputs.get("failureThreshold") or 3),
                "EnableSNI": bool(inputs.get("enableSni", False)),
            }
        )
    if inputs.get("invertHealthcheck"):
        config["Inverted"] = True
    if inputs.get("disabled"):
        config["Disabled"] = True
    return config


def _invoke_arn(region: str, function_arn: str) -> str:
    """What API Gateway integrations and authorizers call a Lambda function (or alias) by."""
    return (
        f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{function_arn}/invocations"
    )


def _patch_value(value: Any) -> str:
    """A setting as API Gateway's patch operations spell it (Pulumi hands numbers as floats)."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def archive_zip(archive: Any) -> bytes:
    """The zip Lambda receives for a declared archive (an AssetArchive of files, or a directory
    FileArchive), so the code moto stores is the program's own `functions/` package."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        _add_to_zip(bundle, archive, "")
    return buffer.getvalue()


def _add_to_zip(bundle: zipfile.ZipFile, item: Any, prefix: str) -> None:
    if isinstance(item, pulumi.AssetArchive):
        for name, member in item.assets.items():
            _add_to_zip(bundle, member, f"{prefix}{name}")
    elif isinstance(item, pulumi.FileAsset):
        bundle.write(item.path, prefix)
    elif isinstance(item, pulumi.StringAsset):
        bundle.writestr(prefix, item.text)
    elif isinstance(item, pulumi.FileArchive) and Path(item.path).is_dir():
        root = Path(item.path)
        for path in sorted(root.rglob("*")):
            if path.is_file():
                name = path.relative_to(root).as_posix()
                bundle.write(path, f"{prefix}/{name}" if prefix else name)
    else:
        raise TypeError(f"cannot package {type(item).__name__} for Lambda")


def _front_spec(run: ProgramRun, region: str, endpoint_url: str, jwks_url: str) -> FrontSpec:
    """The API Gateway configuration of one Region, read from what the program declared."""

    def of(type_: str) -> list[Any]:
        return [r for r in run.of_type(type_) if r.region == region]

    (rest_api,) = of("aws:apigateway/restApi:RestApi")
    (stage,) = of("aws:apigateway/stage:Stage")
    functions_by_invoke_arn = {}
    functions = []
    for declared in of("aws:lambda/function:Function"):
        environment = dict((declared.inputs.get("environment") or {}).get("variables") or {})
        if "AUTH_JWKS_URI" in environment:
            # The identity provider's hostname "resolves" to the sandbox IdP.
            environment["AUTH_JWKS_URI"] = jwks_url
        spec = LambdaSpec(
            name=declared.outputs.get("name") or declared.inputs["name"],
            handler=declared.inputs["handler"],
            environment={k: str(v) for k, v in environment.items()},
            timeout_seconds=int(declared.inputs.get("timeout") or 3),
            memory_mb=int(declared.inputs.get("memorySize") or 128),
        )
        functions.append(spec)
        functions_by_invoke_arn[declared.outputs["invokeArn"]] = spec.name
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
    )


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
    fronts = {region: _front_spec(run, region, endpoint_url, jwks_url) for region in regions}
    host_map: dict[str, str] = {}
    for region, spec in fronts.items():
        host_map[f"{spec.api_id}.execute-api.{region}.amazonaws.com"] = front_addresses[region]
    for domain in run.of_type("aws:apigateway/domainName:DomainName"):
        host_map[domain.outputs["regionalDomainName"]] = front_addresses[domain.region]
    hostname = topology["records"][0]["name"].rstrip(".")
    return Provisioned(
        topology=topology, fronts=fronts, host_map=host_map, hostname=hostname, run=run
    )
