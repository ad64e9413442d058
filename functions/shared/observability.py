"""Logs and metrics shared by the three functions.

The Powertools Logger writes JSON lines and Powertools Metrics flushes EMF to stdout, both built at
import without touching AWS. The authorizer, whose warm path costs tens of microseconds, counts
with `EmfCounter` instead: one pre-rendered EMF line per outcome, stamped and written at once.

No tracing SDK is packaged: Lambda active tracing records each invocation's segment without one
(docs/functions.md says how to add OpenTelemetry for subsegments).
"""

from __future__ import annotations

import json
import os
import sys
import time

from aws_lambda_powertools import Logger, Metrics

METRICS_NAMESPACE = "MultiRegionAuthorizer"
SERVICE_NAME = "multi-region-authorizer"

logger = Logger(service=os.getenv("POWERTOOLS_SERVICE_NAME", SERVICE_NAME))
metrics = Metrics(namespace=os.getenv("POWERTOOLS_METRICS_NAMESPACE", METRICS_NAMESPACE))

_TIMESTAMP = "\x00timestamp"  # placeholder split out of the rendered document


class EmfCounter:
    """Counts (value 1) in CloudWatch Embedded Metric Format, the same documents Powertools
    Metrics writes: namespace, `service` plus the given dimensions, unit Count.

    Each distinct (metrics, dimensions) line is rendered once and then only stamped with the
    time; one `write` per count keeps it to one pipe write per invocation on Lambda's stdout.
    """

    def __init__(self, namespace: str | None = None, service: str | None = None) -> None:
        self._namespace = namespace or os.getenv("POWERTOOLS_METRICS_NAMESPACE", METRICS_NAMESPACE)
        self._service = service or os.getenv("POWERTOOLS_SERVICE_NAME", SERVICE_NAME)
        self._lines: dict[tuple[tuple[str, ...], tuple[tuple[str, str], ...]], tuple[str, str]] = {}
        self._cold = True

    def count_cold_start(self, function_name: str) -> None:
        """`ColdStart` by function_name on this environment's first invocation only."""
        if self._cold:
            self._cold = False
            self.count(("ColdStart",), function_name=function_name)

    def count(self, names: tuple[str, ...], **dimensions: str) -> None:
        key = (names, tuple(dimensions.items()))
        line = self._lines.get(key)
        if line is None:
            line = self._lines[key] = self._render(names, dimensions)
        prefix, suffix = line
        sys.stdout.write(f"{prefix}{time.time_ns() // 1_000_000}{suffix}")

    def _render(self, names: tuple[str, ...], dimensions: dict[str, str]) -> tuple[str, str]:
        values = {"service": self._service, **dimensions}
        document = {
            "_aws": {
                "Timestamp": _TIMESTAMP,
                "CloudWatchMetrics": [
                    {
                        "Namespace": self._namespace,
                        "Dimensions": [list(values)],
                        "Metrics": [{"Name": name, "Unit": "Count"} for name in names],
                    }
                ],
            },
            **values,
            **dict.fromkeys(names, 1),
        }
        prefix, suffix = json.dumps(document, separators=(",", ":")).split(json.dumps(_TIMESTAMP))
        return prefix, suffix + "\n"
