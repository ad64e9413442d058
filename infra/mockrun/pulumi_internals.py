"""The one place `infra.mockrun` reaches into Pulumi's Python SDK beyond its public API.

Running `__main__.py` in-process under mocks, and recording every registration, needs parts of
the SDK that are not documented API (checked against pulumi 3.100 to 3.272):

- `pulumi.runtime.mocks.MockMonitor`: the monitor `set_mocks` installs; subclassed to record
  each `RegisterResource`/`Invoke` (uses its `resources`, `ResourceRegistration`).
- `pulumi.runtime.proto.{resource_pb2, provider_pb2}`: the gRPC messages the monitor answers.
- `pulumi.runtime.rpc.{serialize_properties, deserialize_properties}` and the secret marker
  `_special_sig_key`/`_special_secret_sig`: the wire form of resource properties.
- `RegisterResourceRequest.replacement_trigger`: the option's value, as a protobuf Value.
- `pulumi.runtime.settings.ROOT` and `get_root_resource`: the root stack, reset per run.
- `pulumi.runtime.config.set_all_config`: the config the CLI would hand the program.
- `pulumi.runtime.stack.run_pulumi_func`: runs a program and waits for its registrations.
- `pulumi.runtime.sync_await.{_sync_await, _ensure_event_loop}`: await from synchronous mock
  callbacks, which Pulumi calls outside an event loop.

A Pulumi upgrade that moves any of these breaks here, in one file, at import time.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from google.protobuf import json_format
from pulumi.runtime import rpc
from pulumi.runtime import settings as _settings
from pulumi.runtime.config import set_all_config
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.proto import provider_pb2, resource_pb2
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

__all__ = [
    "MockMonitor",
    "deserialize_properties",
    "fresh_root_stack",
    "is_secret",
    "provider_pb2",
    "replacement_trigger_of",
    "resource_pb2",
    "root_stack",
    "run_program_func",
    "run_sync",
    "serialize_properties",
    "set_all_config",
]

T = TypeVar("T")


def run_sync(awaitable: Awaitable[T]) -> T:
    """Await from synchronous code (a mock callback), on Pulumi's event loop."""
    _ensure_event_loop()
    return _sync_await(awaitable)


def deserialize_properties(struct: Any) -> dict[str, Any]:
    """Resource properties off the wire (secrets still wrapped: see `is_secret`)."""
    _ensure_event_loop()
    return rpc.deserialize_properties(struct)


def serialize_properties(properties: dict[str, Any]) -> Any:
    """Resource properties onto the wire, as a mock monitor's answer carries them."""
    return run_sync(rpc.serialize_properties(properties, {}))


def replacement_trigger_of(request: Any) -> Any:
    """A RegisterResourceRequest's `replacement_trigger` option (a protobuf Value), as Python;
    None when it is not set. An unknown (a preview's) value stays Pulumi's unknown marker."""
    if not request.HasField("replacement_trigger"):
        return None
    return json_format.MessageToDict(request.replacement_trigger)


def is_secret(value: dict[str, Any]) -> bool:
    """Whether a deserialized property is Pulumi's secret wrapper (its value under "value")."""
    return value.get(rpc._special_sig_key) == rpc._special_secret_sig


def fresh_root_stack() -> None:
    """Forget the previous run's root stack, so the next program registers a new one."""
    _settings.ROOT.set(None)


def root_stack() -> Any:
    """The current root `pulumi:pulumi:Stack` (its `outputs` are the program's exports)."""
    root = _settings.get_root_resource()
    assert root is not None, "no root stack: call after pulumi.runtime.set_mocks"
    return root


def run_program_func(program: Callable[[], None]) -> None:
    """Run a Pulumi program function to completion, as the language host does."""
    run_sync(run_pulumi_func(program))
