"""Lambda for the front: each function's handler with its own environment and module state."""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from types import ModuleType
from typing import Any, Protocol

from opsctl.sandbox.front.emf import EmfCapture
from opsctl.sandbox.front.metrics import MetricsPublisher
from opsctl.sandbox.front.spec import LambdaSpec

Handler = Callable[[dict[str, Any], Any], Any]


class FakeLambdaContext:
    """The parts of the Lambda context object that handlers and Powertools read."""

    def __init__(self, function: LambdaSpec, region: str, account_id: str) -> None:
        self.function_name = function.name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = function.memory_mb
        self.invoked_function_arn = f"arn:aws:lambda:{region}:{account_id}:function:{function.name}"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function.name}"
        self.log_stream_name = datetime.now(UTC).strftime("%Y/%m/%d/[$LATEST]") + uuid.uuid4().hex
        self._deadline = time.monotonic() + function.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class Invoker(Protocol):
    def invoke(self, function_name: str, event: dict[str, Any]) -> Any: ...


class LambdaRuntime:
    """Imports handlers lazily (a cold start on first use) and invokes them one at a time."""

    def __init__(
        self,
        functions: list[LambdaSpec],
        region: str,
        account_id: str,
        metrics: MetricsPublisher | None = None,
    ) -> None:
        self._metrics = metrics
        self._functions = {function.name: function for function in functions}
        self._region = region
        self._account_id = account_id
        self._handlers: dict[str, Handler] = {}
        # Each function's own copy of the `functions` package, swapped into sys.modules while it
        # runs: one function's module state (Powertools Metrics' service, caches) is not another's.
        self._modules: dict[str, dict[str, ModuleType]] = {}
        self._env_keys = {key for function in functions for key in function.environment}
        self._lock = threading.Lock()
        self._nested_lock = threading.Lock()

    def preload(self) -> None:
        """Import every handler now, as provisioned concurrency initialises ahead of traffic:
        a first health check must not spend Route 53's 2 s on Python imports."""
        with self._lock:
            for function in self._functions.values():
                self._handler(function)

    def invoke(self, function_name: str, event: dict[str, Any]) -> Any:
        with self._lock:
            return self._invoke(self._functions[function_name], event)

    def invoke_from_function(self, function_name: str, event: dict[str, Any]) -> Any:
        """Invoke on behalf of a running function (the health function's authorizer canary),
        whose invocation holds the runtime and waits for this answer, as a Lambda function
        waits on another running in its own environment. Such calls run one at a time, and
        the caller's environment variables are back in place afterwards."""
        with self._nested_lock:
            saved = dict(os.environ)
            try:
                return self._invoke(self._functions[function_name], event)
            finally:
                os.environ.clear()
                os.environ.update(saved)

    def _invoke(self, function: LambdaSpec, event: dict[str, Any]) -> Any:
        started = time.monotonic()
        failed = True
        try:
            handler = self._handler(function)
            context = FakeLambdaContext(function, self._region, self._account_id)
            with self._own_modules(function), self._captured_emf():
                # Lambda serializes the result to JSON; so this catches non-JSON returns.
                result = json.loads(json.dumps(handler(event, context)))
            failed = False
            return result
        finally:
            # AWS/Lambda by function: a raised exception (the authorizer's "Unauthorized"
            # too) is a function error. Nothing throttles here, so no Throttles datapoint.
            if self._metrics is not None:
                self._metrics.add(
                    "AWS/Lambda",
                    {"FunctionName": function.name},
                    {
                        "Invocations": 1.0,
                        "Errors": float(failed),
                        "Duration": (time.monotonic() - started) * 1000,
                    },
                )

    def _handler(self, function: LambdaSpec) -> Handler:
        self._apply_environment(function)
        handler = self._handlers.get(function.name)
        if handler is None:
            module_name, _, attribute = function.handler.rpartition(".")
            with self._own_modules(function):
                handler = getattr(importlib.import_module(module_name), attribute)
            self._handlers[function.name] = handler
        return handler

    @contextlib.contextmanager
    def _own_modules(self, function: LambdaSpec) -> Iterator[None]:
        """sys.modules holds this function's own `functions.*` modules (none before its first
        import) while the block runs; whatever was there before is put back afterwards."""
        own = self._modules.setdefault(function.name, {})
        outside = {name: sys.modules.pop(name) for name in _project_modules()}
        sys.modules.update(own)
        try:
            yield
        finally:
            own.clear()
            own.update({name: sys.modules.pop(name) for name in _project_modules()})
            sys.modules.update(outside)

    @contextlib.contextmanager
    def _captured_emf(self) -> Iterator[None]:
        """The invocation's stdout, scanned for EMF documents that become CloudWatch metrics."""
        if self._metrics is None:
            yield
            return
        capture = EmfCapture(sys.stdout, self._metrics.publish_emf)
        try:
            with contextlib.redirect_stdout(capture):
                yield
        finally:
            capture.finish()

    def _apply_environment(self, function: LambdaSpec) -> None:
        for key in self._env_keys - function.environment.keys():
            os.environ.pop(key, None)
        os.environ.update(function.environment)
        os.environ["AWS_LAMBDA_FUNCTION_NAME"] = function.name
        os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] = str(function.memory_mb)


# The project's handler code; everything else (boto3, Powertools, ...) is shared by the functions.
HANDLER_PACKAGE = "functions"


def _project_modules() -> list[str]:
    return [
        name
        for name in list(sys.modules)
        if name == HANDLER_PACKAGE or name.startswith(HANDLER_PACKAGE + ".")
    ]
