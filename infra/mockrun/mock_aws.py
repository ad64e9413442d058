"""What AWS would answer, for running the program under Pulumi's mocks (`infra.mockrun`).

`RealisticMocks` returns, for each resource type the program declares and each provider function
it calls, the computed outputs AWS would (ARNs, ids, URLs, zone ids), deterministic per type, name
and Region so that repeated runs declare identical resources.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks

ACCOUNT_ID = "123456789012"
HOSTED_ZONE_ID = "Z0123456789ABC"
# API Gateway's Regional custom-domain hosted zones (what Route 53 aliases point at).
API_GATEWAY_ZONE_IDS = {
    "us-east-1": "Z1UJRXOUMOOFQ8",
    "us-east-2": "ZOJJZC49E0EPZ",
    "us-west-1": "Z2MUQ32089INYE",
    "us-west-2": "Z2OJLYMUO9EFXC",
    "eu-west-1": "ZLY8HYME6SFDD",
    "eu-central-1": "Z1U9ULNL0V5AJ3",
}

# A sample of what ip-ranges.json publishes for ROUTE53_HEALTHCHECKS.
ROUTE53_HEALTH_CHECKER_CIDRS = (
    "54.243.31.192/26", "54.244.52.192/26", "54.241.32.64/26", "176.34.159.192/26",
    "54.251.31.128/26", "54.252.254.192/26", "54.248.220.0/26", "177.71.207.128/26",
)  # fmt: skip
ROUTE53_HEALTH_CHECKER_IPV6_CIDRS = (
    "2600:1f18:7fff:f800::/53", "2600:1f14:fff:f800::/53", "2a05:d018:fff:f800::/53",
)  # fmt: skip


def _short_id(*parts: str, length: int = 10) -> str:
    """Deterministic lowercase id, so repeated runs declare identical resources."""
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:length]


class RealisticMocks(pulumi.runtime.Mocks):
    """Answers with the computed outputs AWS would return (ARNs, ids, URLs, zone ids)."""

    account_id = ACCOUNT_ID
    hosted_zone_id = HOSTED_ZONE_ID

    def call(self, args: pulumi_mocks.MockCallArgs) -> tuple[dict, list | None]:
        region = getattr(args, "region", None) or "us-east-1"
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": self.account_id,
                "arn": f"arn:aws:iam::{self.account_id}:user/deployer",
                "userId": "AIDAEXAMPLEDEPLOYER",
                "id": self.account_id,
            }, None
        if args.token == "aws:index/getRegion:getRegion":
            return {"name": region, "region": region, "id": region}, None
        if args.token == "aws:route53/getZone:getZone":
            name = str(args.args.get("name", "")).rstrip(".") + "."
            return {
                "zoneId": self.hosted_zone_id,
                "id": self.hosted_zone_id,
                "name": name,
                "arn": f"arn:aws:route53:::hostedzone/{self.hosted_zone_id}",
                "privateZone": False,
                "nameServers": ["ns-1.awsdns-01.org.", "ns-2.awsdns-02.net."],
            }, None
        if args.token == "aws:ssm/getParameter:getParameter":
            name = str(args.args.get("name", ""))
            value = f"arn:aws:lambda:{region}:211125607513:layer:aws-fis-extension-arm64:9"
            return {
                "name": name,
                "value": value,
                "insecureValue": value,
                "type": "String",
                "id": name,
                "arn": f"arn:aws:ssm:{region}::parameter{name}",
            }, None
        if args.token == "aws:index/getIpRanges:getIpRanges":
            return self.ip_ranges(args.args), None
        raise NotImplementedError(f"RealisticMocks has no answer for {args.token}")

    def ip_ranges(self, query: dict[str, Any]) -> dict[str, Any]:
        """ip-ranges.json filtered as asked; Route 53's health checkers only (a sample of the
        ranges AWS publishes for them, both families)."""
        services = [str(service).lower() for service in query.get("services") or []]
        if services != ["route53_healthchecks"]:
            raise NotImplementedError(f"RealisticMocks has no IP ranges for {services}")
        return {
            "id": "1700000000",
            "cidrBlocks": list(ROUTE53_HEALTH_CHECKER_CIDRS),
            "ipv6CidrBlocks": list(ROUTE53_HEALTH_CHECKER_IPV6_CIDRS),
            "createDate": "2026-12-01-00-00-00",
            "syncToken": 1700000000,
            "services": services,
            "regions": [],
            "url": "https://ip-ranges.amazonaws.com/ip-ranges.json",
        }

    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str | None, dict]:
        region = getattr(args, "region", None) or "us-east-1"
        inputs = dict(args.inputs)
        if not args.custom:
            return "", {}
        if args.typ.startswith("pulumi:providers:"):
            return f"{args.name}-provider", inputs
        account = self.account_id
        uid = _short_id(args.typ, args.name, region)
        resource_id, computed = self._computed(args.typ, args.name, inputs, region, account, uid)
        return resource_id, {**inputs, **computed}

    def _computed(
        self, typ: str, name: str, inputs: dict[str, Any], region: str, account: str, uid: str
    ) -> tuple[str, dict[str, Any]]:
        own = inputs.get("name") or name
        if typ == "aws:lambda/function:Function":
            arn = f"arn:aws:lambda:{region}:{account}:function:{own}"
            invoke = (
                f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{arn}/invocations"
            )
            return own, {
                "arn": arn,
                "invokeArn": invoke,
                "version": "1",
                "qualifiedArn": f"{arn}:1",
                "qualifiedInvokeArn": invoke.replace("/invocations", ":1/invocations"),
            }
        if typ == "aws:lambda/alias:Alias":
            function_name = inputs["functionName"]
            arn = f"arn:aws:lambda:{region}:{account}:function:{function_name}:{own}"
            invoke = (
                f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{arn}/invocations"
            )
            return arn, {"arn": arn, "invokeArn": invoke}
        if typ == "aws:lambda/layerVersion:LayerVersion":
            layer = f"arn:aws:lambda:{region}:{account}:layer:{inputs['layerName']}"
            return f"{layer}:1", {"arn": f"{layer}:1", "layerArn": layer, "version": "1"}
        if typ == "aws:iam/role:Role":
            role_name = inputs.get("name") or f"{name}-{uid[:7]}"
            return role_name, {"name": role_name, "arn": f"arn:aws:iam::{account}:role/{role_name}"}
        if typ == "aws:iam/policy:Policy":
            arn = f"arn:aws:iam::{account}:policy/{own}"
            return arn, {"arn": arn, "policyId": f"ANPA{uid.upper()}"}
        if typ == "aws:cloudwatch/logGroup:LogGroup":
            return own, {"arn": f"arn:aws:logs:{region}:{account}:log-group:{own}"}
        if typ == "aws:apigateway/restApi:RestApi":
            api_id = uid
            return api_id, {
                "rootResourceId": _short_id("root", uid, length=10),
                "executionArn": f"arn:aws:execute-api:{region}:{account}:{api_id}",
                "arn": f"arn:aws:apigateway:{region}::/restapis/{api_id}",
            }
        if typ == "aws:apigateway/stage:Stage":
            api_id, stage = inputs["restApi"], inputs["stageName"]
            return f"ags-{api_id}-{stage}", {
                "invokeUrl": f"https://{api_id}.execute-api.{region}.amazonaws.com/{stage}",
                "executionArn": f"arn:aws:execute-api:{region}:{account}:{api_id}/{stage}",
                "arn": f"arn:aws:apigateway:{region}::/restapis/{api_id}/stages/{stage}",
            }
        if typ == "aws:apigateway/domainName:DomainName":
            return inputs["domainName"], {
                "regionalDomainName": f"d-{uid}.execute-api.{region}.amazonaws.com",
                "regionalZoneId": API_GATEWAY_ZONE_IDS.get(region, "Z2FDTNDATAQYW2"),
                "arn": f"arn:aws:apigateway:{region}::/domainnames/{inputs['domainName']}",
            }
        if typ == "aws:acm/certificate:Certificate":
            domain = inputs["domainName"]
            arn = f"arn:aws:acm:{region}:{account}:certificate/{uid}"
            return arn, {
                "arn": arn,
                "status": "ISSUED",
                "domainValidationOptions": [
                    {
                        "domainName": domain,
                        "resourceRecordName": f"_{_short_id('v', domain, length=32)}.{domain}.",
                        "resourceRecordType": "CNAME",
                        # ACM's CNAME depends on the name and the account, not the Region.
                        "resourceRecordValue": f"_{_short_id('acm', domain, account)}"
                        ".acm-validations.aws.",
                    }
                ],
            }
        if typ == "aws:acm/certificateValidation:CertificateValidation":
            return inputs["certificateArn"], {}
        if typ == "aws:route53/record:Record":
            fqdn = str(inputs["name"]).rstrip(".")
            set_id = inputs.get("setIdentifier")
            record_id = "_".join(
                str(p) for p in (inputs["zoneId"], fqdn, inputs["type"], set_id) if p
            )
            return record_id, {"fqdn": fqdn}
        if typ == "aws:route53/healthCheck:HealthCheck":
            hc_id = f"{uid[:8]}-{uid[8:10]}aa-4bbb-8ccc-{_short_id('hc', uid, length=12)}"
            return hc_id, {"arn": f"arn:aws:route53:::healthcheck/{hc_id}"}
        if typ in (
            "aws:cloudwatch/metricAlarm:MetricAlarm",
            "aws:cloudwatch/compositeAlarm:CompositeAlarm",
        ):
            alarm = inputs.get("name") or inputs.get("alarmName") or name
            return alarm, {"arn": f"arn:aws:cloudwatch:{region}:{account}:alarm:{alarm}"}
        if typ == "aws:cloudwatch/dashboard:Dashboard":
            dashboard = inputs["dashboardName"]
            return dashboard, {
                "dashboardArn": f"arn:aws:cloudwatch::{account}:dashboard/{dashboard}"
            }
        if typ == "aws:sns/topic:Topic":
            arn = f"arn:aws:sns:{region}:{account}:{own}"
            return arn, {"arn": arn, "name": own}
        if typ == "aws:sns/topicSubscription:TopicSubscription":
            arn = f"{inputs['topic']}:{uid}"
            return arn, {"arn": arn}
        if typ == "aws:dynamodb/table:Table":
            arn = f"arn:aws:dynamodb:{region}:{account}:table/{own}"
            replicas = [
                {
                    **replica,
                    "arn": f"arn:aws:dynamodb:{replica['regionName']}:{account}:table/{own}",
                }
                for replica in inputs.get("replicas", [])
            ]
            return own, {
                "arn": arn,
                "streamArn": f"{arn}/stream/2024-01-01T00:00:00.000",
                "replicas": replicas,
            }
        if typ == "aws:cloudwatch/eventRule:EventRule":
            return own, {"arn": f"arn:aws:events:{region}:{account}:rule/{own}"}
        if typ == "aws:cloudwatch/eventTarget:EventTarget":
            target_id = inputs.get("targetId") or f"terraform-{uid[:20]}"
            return f"{inputs['rule']}-{target_id}", {"targetId": target_id}
        if typ == "aws:ssm/parameter:Parameter":
            return own, {"arn": f"arn:aws:ssm:{region}:{account}:parameter{own}"}
        if typ == "aws:s3/bucket:Bucket":
            bucket = inputs.get("bucket") or f"{name}-{uid[:8]}"
            return bucket, {"bucket": bucket, "arn": f"arn:aws:s3:::{bucket}"}
        if typ == "aws:fis/experimentTemplate:ExperimentTemplate":
            template_id = f"EXT{uid.upper()}"
            arn = f"arn:aws:fis:{region}:{account}:experiment-template/{template_id}"
            return template_id, {"arn": arn}
        return f"{name}-{uid}", {"arn": f"arn:aws:mock:{region}:{account}:{name}"}
