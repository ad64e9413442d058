"""Route 53 health checks and records, CloudWatch alarms and SNS topics, created in the emulator as
the program declares them (the alarms are evaluated and the checks probed by the sandbox)."""

from __future__ import annotations

import uuid
from typing import Any

from opsctl.sandbox.provisioning.mocks.target import Creator, MockTarget, pascal


def health_check(
    target: MockTarget, inputs: dict[str, Any], region: str, _id: str, _out: dict
) -> tuple[str, dict]:
    route53 = target.clients("route53", "us-east-1")
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


def record(
    target: MockTarget, inputs: dict[str, Any], region: str, record_id: str, _out: dict
) -> tuple[str, dict]:
    record_set: dict[str, Any] = {"Name": inputs["name"], "Type": inputs["type"]}
    if inputs.get("setIdentifier"):
        record_set["SetIdentifier"] = inputs["setIdentifier"]
    for policy in inputs.get("weightedRoutingPolicies") or []:
        record_set["Weight"] = int(policy["weight"])
    for alias in inputs.get("aliases") or []:
        record_set["AliasTarget"] = {
            "HostedZoneId": alias["zoneId"],
            "DNSName": alias["name"],
            "EvaluateTargetHealth": bool(alias.get("evaluateTargetHealth", False)),
        }
    if inputs.get("records"):
        record_set["ResourceRecords"] = [{"Value": value} for value in inputs["records"]]
        record_set["TTL"] = int(inputs.get("ttl") or 300)
    if inputs.get("healthCheckId"):
        record_set["HealthCheckId"] = inputs["healthCheckId"]
    action = "UPSERT" if inputs.get("allowOverwrite") else "CREATE"
    target.clients("route53", "us-east-1").change_resource_record_sets(
        HostedZoneId=inputs["zoneId"],
        ChangeBatch={"Changes": [{"Action": action, "ResourceRecordSet": record_set}]},
    )
    return record_id, {}


def metric_alarm(
    target: MockTarget, inputs: dict[str, Any], region: str, _id: str, _out: dict
) -> tuple[str, dict]:
    cloudwatch = target.clients("cloudwatch", region)
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
            params[pascal(key)] = inputs[key]
    for key in ("period", "datapointsToAlarm"):
        if inputs.get(key) is not None:
            params[pascal(key)] = int(inputs[key])
    if inputs.get("threshold") is not None:
        params["Threshold"] = float(inputs["threshold"])
    if inputs.get("dimensions"):
        params["Dimensions"] = [
            {"Name": k, "Value": str(v)} for k, v in inputs["dimensions"].items()
        ]
    if inputs.get("metricQueries"):
        params["Metrics"] = [_metric_query(query) for query in inputs["metricQueries"]]
    cloudwatch.put_metric_alarm(**params)
    return name, {"arn": f"arn:aws:cloudwatch:{region}:{target.account_id}:alarm:{name}"}


def _metric_query(query: dict[str, Any]) -> dict[str, Any]:
    converted: dict[str, Any] = {
        "Id": query["id"],
        "ReturnData": bool(query.get("returnData", False)),
    }
    for key in ("expression", "label"):
        if query.get(key):
            converted[pascal(key)] = query[key]
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


def composite_alarm(
    target: MockTarget, inputs: dict[str, Any], region: str, _id: str, _out: dict
) -> tuple[str, dict]:
    name = inputs.get("alarmName") or _id
    target.clients("cloudwatch", region).put_composite_alarm(
        AlarmName=name,
        AlarmRule=inputs["alarmRule"],
        AlarmDescription=inputs.get("alarmDescription") or "",
        AlarmActions=list(inputs.get("alarmActions") or []),
        OKActions=list(inputs.get("okActions") or []),
    )
    return name, {"arn": f"arn:aws:cloudwatch:{region}:{target.account_id}:alarm:{name}"}


def topic(
    target: MockTarget, inputs: dict[str, Any], region: str, _id: str, outputs: dict
) -> tuple[str, dict]:
    arn = target.clients("sns", region).create_topic(Name=outputs["name"])["TopicArn"]
    return arn, {"arn": arn}


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


CREATORS: dict[str, Creator] = {
    "aws:route53/healthCheck:HealthCheck": health_check,
    "aws:route53/record:Record": record,
    "aws:cloudwatch/metricAlarm:MetricAlarm": metric_alarm,
    "aws:cloudwatch/compositeAlarm:CompositeAlarm": composite_alarm,
    "aws:sns/topic:Topic": topic,
}
