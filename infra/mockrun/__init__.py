"""Run the Pulumi program under mocks, without the Pulumi CLI, and record what it declares.

Stable API (used by tests/infra, `infra.mockrun.preview` and the local sandbox):

    run_program(stack_file, mocks=None, overrides=None) -> ProgramRun

- `stack_file`: a `Pulumi.<stack>.yaml` beside `Pulumi.yaml` and `__main__.py`. The config is
  what the Pulumi CLI would pass: the project defaults declared in `Pulumi.yaml`, then the stack
  file, then `overrides` (keys with or without the `<project>:` prefix; a value of None unsets
  the key). Values may be str, int, bool or list, as in the YAML.
- `mocks`: a `pulumi.runtime.Mocks`; default `RealisticMocks()` (the answers AWS would give,
  `infra.mockrun.mock_aws`, also importable from here). Subclass `RealisticMocks` and call `super()`
  for the realistic defaults. Each `new_resource`/`call` receives a
  `RegionalResourceArgs`/`RegionalCallArgs`: the usual mock args plus `.region`, resolved from
  the explicit provider (None for component resources). Component resources reach
  `new_resource` too, with `custom=False`, as in Pulumi's own mock monitor.
- Returns `ProgramRun(resources, outputs, calls, layer_commands)`: every declared resource as a
  `DeclaredResource` (type, name, inputs, outputs, region, plus urn, id, parent, provider,
  ignore_changes, custom, dependencies, aliases, replacement_trigger; URNs as the engine makes
  them, aliases resolved to the URNs they name), the resolved stack outputs, every provider function
  call, and the pip commands the Lambda dependency layer build would have run (nothing is
  installed).
- Callable any number of times per process; each run starts a fresh root stack.
- Bad config raises `infra.settings.errors.ConfigError` before any resource is declared.
"""

from __future__ import annotations

import json
import runpy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime import mocks as pulumi_mocks

from infra.mockrun.mock_aws import RealisticMocks
from infra.mockrun.pulumi_internals import (
    MockMonitor,
    deserialize_properties,
    fresh_root_stack,
    is_secret,
    provider_pb2,
    replacement_trigger_of,
    resource_pb2,
    root_stack,
    run_program_func,
    run_sync,
    serialize_properties,
    set_all_config,
)
from infra.packaging import PlannedLayerBuilder, use_layer_builder

__all__ = [
    "DeclaredCall",
    "DeclaredResource",
    "ProgramRun",
    "RealisticMocks",
    "RegionalCallArgs",
    "RegionalResourceArgs",
    "load_config",
    "run_program",
]


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
    # Its `replacement_trigger` option: a change of this value replaces the resource.
    replacement_trigger: Any = None


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
                replacement_trigger=replacement_trigger_of(request),
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
