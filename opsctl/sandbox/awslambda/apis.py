"""The Lambda APIs moto answers 404 that the product reads: GetAccountSettings and the
provisioned concurrency configs (Put/Get/List/Delete). `moto_patches` routes moto's requests
here."""

from __future__ import annotations

import json
import threading
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from moto.awslambda.responses import LambdaResponse
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.exceptions import ServiceException
from moto.core.responses import TYPE_RESPONSE
from moto.core.utils import utcnow

# Lambda's "Concurrent executions" default per account and Region (AWS Lambda quotas page).
LAMBDA_CONCURRENCY_DEFAULT = 1000
# The other AccountLimit fields, AWS's fixed values in bytes (AWS Lambda quotas page).
_LAMBDA_CODE_LIMITS = {
    "CodeSizeUnzipped": 262_144_000,
    "CodeSizeZipped": 52_428_800,
    "TotalCodeSize": 80_530_636_800,
}


@dataclass
class LambdaAccountSettings:
    """Lambda's GetAccountSettings, which moto answers 404.

    The account's concurrency limit is AWS's default unless a test sets a Region's own (as an
    approved quota increase would); the unreserved part is that limit minus the reserved
    concurrency of moto's functions in the Region, as AWS computes it.
    """

    _lock: threading.Lock = field(default_factory=threading.Lock)
    _limits: dict[tuple[str, str], int] = field(default_factory=dict)  # (account, Region) -> limit

    def set_concurrency_limit(
        self, region: str, limit: int, account: str = DEFAULT_ACCOUNT_ID
    ) -> None:
        with self._lock:
            self._limits[(account, region)] = limit

    def reset(self) -> None:
        with self._lock:
            self._limits.clear()

    def get_account_settings(self, response: LambdaResponse) -> TYPE_RESPONSE:
        with self._lock:
            limit = self._limits.get(
                (response.current_account, response.region), LAMBDA_CONCURRENCY_DEFAULT
            )
        functions = list(response.backend.list_functions())
        reserved = sum(int(f.reserved_concurrency or 0) for f in functions)
        settings = {
            "AccountLimit": {
                **_LAMBDA_CODE_LIMITS,
                "ConcurrentExecutions": limit,
                "UnreservedConcurrentExecutions": limit - reserved,
            },
            "AccountUsage": {
                "FunctionCount": len(functions),
                "TotalCodeSize": sum(int(f.code_size) for f in functions),
            },
        }
        return 200, {}, json.dumps(settings)


class ProvisionedConcurrencyError(ServiceException):
    code = "InvalidParameterValueException"


class ProvisionedConcurrencyListError(ServiceException):
    code = "ValidationException"


def _function_of(response: LambdaResponse) -> tuple[tuple[str, str, str], Any]:
    name = urllib.parse.unquote(response.path.split("?")[0].rstrip("/").split("/")[-2])
    function = response.backend.get_function(name)  # raises moto's not-found error
    key = (response.current_account, response.region, function.function_name)
    return key, function


def _qualifier_of(response: LambdaResponse, function: Any) -> str:
    qualifier = response.querystring.get("Qualifier", [""])[0]
    if not qualifier or qualifier == "$LATEST":
        raise ProvisionedConcurrencyError(
            "Provisioned concurrency needs a published version or an alias as Qualifier"
        )
    response.backend.get_function(function.function_name, qualifier)
    return qualifier


def _describe_config(function: Any, qualifier: str, requested: int, modified: str) -> dict:
    # A version's or alias's function_arn is qualified already; name the base function.
    base = function.function_arn.split(":function:")[0] + ":function:"
    return {
        "FunctionArn": f"{base}{function.function_name}:{qualifier}",
        "RequestedProvisionedConcurrentExecutions": requested,
        "AvailableProvisionedConcurrentExecutions": requested,
        "AllocatedProvisionedConcurrentExecutions": requested,
        "Status": "READY",
        "LastModified": modified,
    }


@dataclass
class ProvisionedConcurrency:
    """Lambda's provisioned concurrency configs (Put/Get/List/Delete), which moto answers 404.

    A config belongs to a function's alias or version (the qualifier) and is READY at once: the
    sandbox has no instances to warm. Functions and aliases are moto's; only the configs live here.
    As in Lambda, the list takes the unqualified function and holds every qualifier's config.
    """

    _lock: threading.Lock = field(default_factory=threading.Lock)
    # (account, Region, function name) -> qualifier -> (requested executions, last modified)
    _configs: dict[tuple[str, str, str], dict[str, tuple[int, str]]] = field(default_factory=dict)

    def reset(self) -> None:
        with self._lock:
            self._configs.clear()

    def put(self, response: LambdaResponse) -> TYPE_RESPONSE:
        key, function = _function_of(response)
        qualifier = _qualifier_of(response, function)
        requested = int(response.json_body["ProvisionedConcurrentExecutions"])
        if requested < 1:
            raise ProvisionedConcurrencyError("ProvisionedConcurrentExecutions must be >= 1")
        modified = utcnow().strftime("%Y-%m-%dT%H:%M:%S.000+0000")
        with self._lock:
            self._configs.setdefault(key, {})[qualifier] = (requested, modified)
        shown = _describe_config(function, qualifier, requested, modified)
        shown.pop("FunctionArn")
        return 202, {}, json.dumps(shown)

    def get(self, response: LambdaResponse) -> TYPE_RESPONSE:
        if "List" in response.querystring:
            # Lambda's FunctionName pattern for the list has no qualifier: a name, an ARN
            # or a partial ARN of the function itself, never `name:alias` or `...:alias`.
            name = urllib.parse.unquote(response.path.split("?")[0].rstrip("/").split("/")[-2])
            if len(name.split(":")) in (2, 4, 8):
                raise ProvisionedConcurrencyListError(
                    f"1 validation error detected: Value '{name}' at 'functionName' failed "
                    "to satisfy constraint: an unqualified function name or ARN"
                )
        key, function = _function_of(response)
        if "List" in response.querystring:
            with self._lock:
                configs = dict(self._configs.get(key, {}))
            listed = [
                _describe_config(function, q, *config) for q, config in sorted(configs.items())
            ]
            return 200, {}, json.dumps({"ProvisionedConcurrencyConfigs": listed})
        qualifier = _qualifier_of(response, function)
        with self._lock:
            config = self._configs.get(key, {}).get(qualifier)
        if config is None:
            return 404, {"x-amzn-ErrorType": "ProvisionedConcurrencyConfigNotFoundException"}, (
                json.dumps({"message": f"No Provisioned Concurrency Config found for "
                            f"{function.function_arn}:{qualifier}"})
            )  # fmt: skip
        shown = _describe_config(function, qualifier, *config)
        shown.pop("FunctionArn")
        return 200, {}, json.dumps(shown)

    def delete(self, response: LambdaResponse) -> TYPE_RESPONSE:
        key, function = _function_of(response)
        qualifier = _qualifier_of(response, function)
        with self._lock:
            self._configs.get(key, {}).pop(qualifier, None)
        return 204, {}, ""
