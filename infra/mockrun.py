"""Run the Pulumi program under mocks, without the Pulumi CLI, and record what it declares.

Stable API (used by tests/infra, `infra.preview` and the local sandbox):

    run_program(stack_file, mocks=None, overrides=None) -> ProgramRun

- `stack_file`: a `Pulumi.<stack>.yaml` beside `Pulumi.yaml` and `__main__.py`. The config is
  what the Pulumi CLI would pass: the project defaults declared in `Pulumi.yaml`, then the stack
  file, then `overrides` (keys with or without the `<project>:` prefix; a value of None unsets
  the key). Values may be str, int, bool or list, as in the YAML.
- `mocks`: a `pulumi.runtime.Mocks`; default `RealisticMocks()`. Subclass `RealisticMocks` and
  call `super()` for the realistic defaults. Each `new_resource`/`call` receives a
  `RegionalResourceArgs`/`RegionalCallArgs`: the usual mock args plus `.region`, resolved from
  the explicit provider (None for component resources). Component resources reach
  `new_resource` too, with `custom=False`, as in Pulumi's own mock monitor.
- Returns `ProgramRun(resources, outputs, calls, layer_commands)`: every declared resource as a
  `DeclaredResource` (type, name, inputs, outputs, region, plus urn, id, parent, provider,
  ignore_changes, custom, dependencies, aliases; URNs as the engine makes them, aliases resolved
  to the URNs they name), the resolved stack outputs, every provider function
  call, and the pip commands the Lambda dependency layer build would have run (nothing is
  installed).
- Callable any number of times per process; each run starts a fresh root stack.
- Bad config raises `infra.config.ConfigError` before any resource is declared.
"""

from __future__ import annotations

import hashlib
import json
import runpy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime import mocks as pulumi_mocks

from infra.packaging import PlannedLayerBuilder, use_layer_builder
from infra.pulumi_internals import (
    MockMonitor,
    deserialize_properties,
    fresh_root_stack,
    is_secret,
    provider_pb2,
    resource_pb2,
    root_stack,
    run_program_func,
    run_sync,
    serialize_properties,
    set_all_config,
)

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


class RegionalResourceArgs(pulumi_mocks.MockResourceArgs):
    """Pulumi's mock resource args plus the Region of the resource's explicit provider."""

    def __init__(self, *, region: str | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.region = region


class RegionalCallArgs(pulumi_mocks.MockCallArgs):
    def __init__(self, *, region: str | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.region = region


@dataclass(frozen=True)
class DeclaredResource:
    type: str
    name: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    region: str | None
    urn: str
    id: str
    parent: str
    provider: str  # provider URN, "" if none
    ignore_changes: tuple[str, ...]
    custom: bool
    # URNs this resource waits for: `depends_on` plus the resources its inputs came from.
    dependencies: tuple[str, ...] = ()
    # The URNs it was known by (its `aliases`, resolved as the engine does, in `urn`'s scheme):
    # the engine carries a resource found under one of them over to `urn` instead of replacing it.
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class DeclaredCall:
    token: str
    args: dict[str, Any]
    region: str | None
    result: dict[str, Any]


@dataclass
class ProgramRun:
    resources: list[DeclaredResource]
    outputs: dict[str, Any]
    calls: list[DeclaredCall] = field(default_factory=list)
    layer_commands: list[list[str]] = field(default_factory=list)

    def of_type(self, type_: str) -> list[DeclaredResource]:
        return [r for r in self.resources if r.type == type_]

    @property
    def cloud_resources(self) -> list[DeclaredResource]:
        """What the stack would create in AWS: neither components nor providers."""
        return [
            r for r in self.resources if r.custom and not r.type.startswith("pulumi:providers:")
        ]

    def named(self, name: str) -> DeclaredResource:
        """The one cloud resource with this logical name."""
        matches = [r for r in self.cloud_resources if r.name == name]
        if len(matches) != 1:
            raise KeyError(f"{len(matches)} resources named {name!r}")
        return matches[0]


def _reveal(value: Any) -> Any:
    """Unwrap secret markers, so tests and mocks see plain values (nothing here is secret)."""
    if isinstance(value, dict):
        if is_secret(value):
            return _reveal(value.get("value"))
        return {k: _reveal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_reveal(v) for v in value]
    return value


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
        raise NotImplementedError(f"RealisticMocks has no answer for {args.token}")

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


class _RecordingMonitor(MockMonitor):
    """Pulumi's mock monitor, recording each registration with its provider's Region."""

    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self.declared: list[DeclaredResource] = []
        self.calls: list[DeclaredCall] = []
        self._provider_regions: dict[str, str | None] = {}
        self._root_urn = ""

    def _region_of(self, provider_ref: str) -> str | None:
        # A provider reference is "<provider urn>::<provider id>".
        return self._provider_regions.get(provider_ref.rsplit("::", 1)[0]) if provider_ref else None

    def _urn(self, parent: str, type_: str, name: str, stack: str = "", project: str = "") -> str:
        """A URN as the engine makes it (what `pulumi stack --show-urns` lists): the type is
        qualified by the parent's qualified type, all its ancestors' but the root stack's."""
        if parent and parent != self._root_urn:
            type_ = f"{parent.split('::')[2]}${type_}"
        stack, project = stack or pulumi.get_stack(), project or pulumi.get_project()
        return f"urn:pulumi:{stack}::{project}::{type_}::{name}"

    def RegisterResource(self, request: Any) -> Any:
        urn = self._urn(request.parent, request.type, request.name)
        if request.type == "pulumi:pulumi:Stack":
            self._root_urn = urn
            return resource_pb2.RegisterResourceResponse(urn=urn)
        inputs = _reveal(deserialize_properties(request.object))
        is_provider = request.type.startswith("pulumi:providers:")
        region = inputs.get("region") if is_provider else self._region_of(request.provider)
        args = RegionalResourceArgs(
            region=region,
            typ=request.type,
            name=request.name,
            inputs=inputs,
            provider=request.provider,
            resource_id=request.importId,
            custom=request.custom or False,
        )
        resource_id, state = self.mocks.new_resource(args)
        resource_id = resource_id or ""
        if is_provider:
            self._provider_regions[urn] = region
        self.declared.append(
            DeclaredResource(
                type=request.type,
                name=request.name,
                inputs=inputs,
                outputs=state,
                region=region,
                urn=urn,
                id=resource_id,
                parent=request.parent,
                provider=request.provider.rsplit("::", 1)[0] if request.provider else "",
                ignore_changes=tuple(request.ignoreChanges),
                custom=request.custom or False,
                dependencies=tuple(request.dependencies),
                aliases=tuple(self._alias_urn(request, alias) for alias in request.aliases),
            )
        )
        self.resources[urn] = MockMonitor.ResourceRegistration(urn, resource_id, state)
        obj_proto = serialize_properties(state)
        return resource_pb2.RegisterResourceResponse(urn=urn, id=resource_id, object=obj_proto)

    def _alias_urn(self, request: Any, alias: Any) -> str:
        """An alias as the URN it names: the spec's name, type, parent, stack and project, each
        defaulting to the resource's own (no parent spelled: the current one)."""
        if alias.WhichOneof("alias") == "urn":
            return alias.urn
        spec = alias.spec
        parent = "" if spec.noParent else (spec.parentUrn or request.parent)
        return self._urn(
            parent, spec.type or request.type, spec.name or request.name, spec.stack, spec.project
        )

    def Invoke(self, request: Any) -> Any:
        if request.tok == "pulumi:pulumi:getResource":
            return super().Invoke(request)
        args = _reveal(deserialize_properties(request.args))
        call_args = RegionalCallArgs(
            region=self._region_of(request.provider),
            token=request.tok,
            args=args,
            provider=request.provider,
        )
        answer = self.mocks.call(call_args)
        result, failures = answer if isinstance(answer, tuple) else (answer, None)
        self.calls.append(DeclaredCall(request.tok, args, call_args.region, result))
        fields = {
            "failures": [provider_pb2.CheckFailure(property=p, reason=r) for p, r in failures or []]
            or None,
            "return": serialize_properties(result),
        }
        return resource_pb2.ResourceInvokeResponse(**fields)


def _config_string(value: Any) -> str:
    """Pulumi passes config to programs as strings; structured values as JSON."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)


def load_config(stack_file: Path, overrides: dict[str, Any] | None = None) -> dict[str, str]:
    """The config the Pulumi CLI would hand the program for this stack file."""
    project_doc = yaml.safe_load((stack_file.parent / "Pulumi.yaml").read_text())
    project = project_doc["name"]

    def qualified(key: str) -> str:
        return key if ":" in key else f"{project}:{key}"

    config: dict[str, str] = {}
    for key, declaration in (project_doc.get("config") or {}).items():
        if isinstance(declaration, dict):
            if "default" in declaration:
                config[qualified(key)] = _config_string(declaration["default"])
            elif "value" in declaration:
                config[qualified(key)] = _config_string(declaration["value"])
        else:
            config[qualified(key)] = _config_string(declaration)
    stack_doc = yaml.safe_load(stack_file.read_text()) or {}
    for key, value in (stack_doc.get("config") or {}).items():
        config[qualified(key)] = _config_string(value)
    for key, value in (overrides or {}).items():
        if value is None:
            config.pop(qualified(key), None)
        else:
            config[qualified(key)] = _config_string(value)
    return config


def run_program(
    stack_file: Path,
    mocks: pulumi.runtime.Mocks | None = None,
    overrides: dict[str, Any] | None = None,
) -> ProgramRun:
    stack_file = Path(stack_file).resolve()
    project_dir = stack_file.parent
    project = yaml.safe_load((project_dir / "Pulumi.yaml").read_text())["name"]
    stack = stack_file.name.removeprefix("Pulumi.").rsplit(".", 1)[0]

    set_all_config(load_config(stack_file, overrides))
    monitor = _RecordingMonitor(mocks or RealisticMocks())
    fresh_root_stack()
    pulumi.runtime.set_mocks(
        monitor.mocks, project=project, stack=stack, preview=False, monitor=monitor
    )
    root = root_stack()
    outputs: dict[str, Any] = {}

    def program() -> None:
        runpy.run_path(str(project_dir / "__main__.py"), run_name="__main__")
        resolved = run_sync(pulumi.Output.from_input(dict(root.outputs)).future())
        outputs.update(resolved or {})

    layer_builder = PlannedLayerBuilder(cache_dir=project_dir / "build" / "layers")
    with use_layer_builder(layer_builder):
        run_program_func(program)
    return ProgramRun(
        resources=list(monitor.declared),
        outputs=outputs,
        calls=list(monitor.calls),
        layer_commands=list(layer_builder.commands),
    )
