"""One serializer from dataclasses to JSON values, driven by the dataclasses' own fields.

A field is written under its name in camelCase (`health_check_id` -> `healthCheckId`), in field
order; `json_field(...)` in the field's metadata says where it differs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import fields, is_dataclass
from enum import Enum
from typing import Any

_KEY = "json_key"
_OMIT_EMPTY = "json_omit_empty"
_KEYED_BY = "json_keyed_by"
_ENCODE = "json_encode"


def json_field(
    *,
    key: str | None = None,
    omit_empty: bool = False,
    keyed_by: str | None = None,
    encode: Callable[[Any], Any] | None = None,
) -> dict[str, Any]:
    """Metadata for `dataclasses.field(metadata=...)`: how `to_json_value` writes the field.

    key: the JSON key, when it is not the field's name in camelCase;
    omit_empty: leave the key out when the value is None or an empty string or collection;
    keyed_by: write a sequence of dataclasses as an object keyed by that attribute of each
      (which the values then leave out);
    encode: turns the field's value into its JSON value.
    """
    metadata: dict[str, Any] = {_OMIT_EMPTY: omit_empty}
    if key is not None:
        metadata[_KEY] = key
    if keyed_by is not None:
        metadata[_KEYED_BY] = keyed_by
    if encode is not None:
        metadata[_ENCODE] = encode
    return metadata


def to_json_value(value: Any) -> Any:
    """`value` as JSON values (dicts, lists, str, int, float, bool, None) for `json.dumps`."""
    if is_dataclass(value) and not isinstance(value, type):
        return _object(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Mapping):
        return {to_json_value(key): to_json_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_json_value(item) for item in value]
    return value


def _camel(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(part.capitalize() for part in rest)


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str | list | tuple | Mapping) and not value)


def _object(obj: Any, leave_out: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for spec in fields(obj):
        if spec.name == leave_out:
            continue
        value = getattr(obj, spec.name)
        metadata = spec.metadata
        if metadata.get(_OMIT_EMPTY) and _is_empty(value):
            continue
        key = metadata.get(_KEY) or _camel(spec.name)
        if _ENCODE in metadata:
            out[key] = metadata[_ENCODE](value)
        elif _KEYED_BY in metadata:
            by = metadata[_KEYED_BY]
            out[key] = {to_json_value(getattr(item, by)): _object(item, by) for item in value}
        else:
            out[key] = to_json_value(value)
    return out
