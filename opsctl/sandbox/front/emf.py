"""CloudWatch Embedded Metric Format: the datums CloudWatch extracts from a function's log lines."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TextIO


class InvalidEmf(ValueError):
    """A JSON log line with `_aws` metadata that is not a valid EMF document."""


def emf_metric_data(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The PutMetricData datums (with their namespaces) CloudWatch extracts from one EMF document.

    Every metric of a directive is published once per dimension set, with the values the
    document's root gives the dimension keys, the directive's unit and storage resolution, at
    the document's `_aws.Timestamp` (epoch ms). A value may be a number or a list of numbers.
    Raises InvalidEmf for a document CloudWatch would reject, which then yields no metrics.
    """
    metadata = document.get("_aws")
    if not isinstance(metadata, dict):
        raise InvalidEmf("_aws is not an object")
    stamp_ms = metadata.get("Timestamp")
    directives = metadata.get("CloudWatchMetrics")
    if not isinstance(stamp_ms, int) or isinstance(stamp_ms, bool):
        raise InvalidEmf("_aws.Timestamp is not an integer (epoch milliseconds)")
    if not isinstance(directives, list):
        raise InvalidEmf("_aws.CloudWatchMetrics is not a list")
    stamp = datetime.fromtimestamp(stamp_ms / 1000, UTC)
    data: list[tuple[str, dict[str, Any]]] = []
    for directive in directives:
        namespace = directive.get("Namespace") if isinstance(directive, dict) else None
        if not isinstance(namespace, str) or not namespace:
            raise InvalidEmf("a metric directive has no Namespace")
        dimension_sets = directive.get("Dimensions") or [[]]
        for dimension_set in dimension_sets:
            for key in dimension_set:
                if not isinstance(document.get(key), str):
                    raise InvalidEmf(f"dimension {key!r} has no string value in the document")
        for definition in directive.get("Metrics") or []:
            name = definition.get("Name") if isinstance(definition, dict) else None
            raw = document.get(name) if isinstance(name, str) else None
            values = raw if isinstance(raw, list) else [raw]
            numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
            if not numbers or len(numbers) != len(values):
                raise InvalidEmf(f"metric {name!r} has no numeric value in the document")
            for dimension_set in dimension_sets:
                dimensions = [{"Name": key, "Value": document[key]} for key in dimension_set]
                for value in numbers:
                    datum: dict[str, Any] = {
                        "MetricName": name,
                        "Dimensions": dimensions,
                        "Timestamp": stamp,
                        "Value": float(value),
                        "Unit": definition.get("Unit") or "None",
                    }
                    if definition.get("StorageResolution") == 1:
                        datum["StorageResolution"] = 1
                    data.append((namespace, datum))
    return data


class EmfCapture(io.TextIOBase):
    """Stands in for stdout during an invocation: passes every write through to `target` at
    once (the functions' log keeps its lines and order) and hands each complete line that is an
    EMF document to `on_document`, as Lambda's log pipeline does with a function's output."""

    def __init__(self, target: TextIO, on_document: Callable[[dict[str, Any]], None]) -> None:
        self._target = target
        self._on_document = on_document
        self._partial = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        written = self._target.write(text)
        lines = (self._partial + text).split("\n")
        self._partial = lines.pop()
        for line in lines:
            self._scan(line)
        return written

    def flush(self) -> None:
        self._target.flush()

    def finish(self) -> None:
        """The invocation ended: a last line without a newline still counts."""
        if self._partial:
            self._scan(self._partial)
            self._partial = ""

    def _scan(self, line: str) -> None:
        if not line.startswith("{") or '"_aws"' not in line:
            return
        try:
            document = json.loads(line)
        except ValueError:
            return  # not JSON: an ordinary log line
        if isinstance(document, dict) and "_aws" in document:
            self._on_document(document)
