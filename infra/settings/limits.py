"""AWS limits a real account enforces at deploy time, checked before any resource is declared:
Lambda's 4 KB environment, the lengths of the names derived from the project and stack names,
and Route 53's 10 tags per health check.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from infra.settings.environment import CONFIG_KEY_BY_VARIABLE, WatchedPeer, function_environment
from infra.settings.errors import ConfigError, StackNameError
from infra.settings.function_specs import SPEC_BY_NAME
from infra.settings.model import (
    CERTIFICATE_SIGNAL,
    FAULT_INJECTION_FUNCTIONS,
    FUNCTIONS,
    REGION_SIGNALS,
    ROLES,
    Settings,
)

# Lambda refuses a function whose environment variables exceed 4 KB in total.
LAMBDA_ENVIRONMENT_LIMIT_BYTES = 4096
# The FIS configuration location is `arn:aws:s3:::<bucket>/FisConfigs/`; bucket names are at most
# 63 characters, so the size check reserves the longest.
LONGEST_FIS_CONFIGURATION_LOCATION = "arn:aws:s3:::" + "b" * 63 + "/FisConfigs/"
# The authorizer alias's ARN, with the longest partition and Region names and a 64-character
# function name.
LONGEST_AUTHORIZER_ALIAS_ARN = (
    "arn:aws-iso-b:lambda:ap-southeast-7:123456789012:function:" + "f" * 64 + ":live"
)
# What the watcher connects to: a Regional custom domain's target, `d-<id>.execute-api.<region>.
# amazonaws.com`; the size check reserves a long id and Region.
LONGEST_PEER_ADDRESS = "d-" + "x" * 20 + ".execute-api.ap-southeast-5.amazonaws.com"
# Route 53 refuses more than 10 tags on a health check (ChangeTagsForResource, CreateHealthCheck
# via the provider); the provider's default tags are sent with the resource's own.
ROUTE53_HEALTH_CHECK_TAG_LIMIT = 10


def variable_size(name: str, value: str) -> int:
    """Bytes one variable adds to the environment: name and value in UTF-8, with the quoting,
    colon and comma of the JSON object the Lambda API receives (a slight overcount at worst)."""
    return len(json.dumps({name: value}, ensure_ascii=False, separators=(",", ":")).encode()) - 1


def environment_size(env: Mapping[str, str]) -> int:
    return 1 + sum(variable_size(name, value) for name, value in env.items())


def derived_names(settings: Settings) -> list[tuple[str, str, int]]:
    """Every AWS name built from the project and stack names: (what it names, name, AWS's
    maximum length). The IAM roles are named by Pulumi from fixed logical names."""
    names = [
        ("DynamoDB table name", settings.table_name, 255),
        # 2048 characters include 1037 that Parameter Store reserves for internal use.
        ("SSM parameter name", settings.failure_switch_parameter, 1011),
        ("SNS topic name", settings.alarm_topic_name, 256),
        ("Lambda layer name", settings.dependency_layer_name, 140),
        ("CloudWatch Logs log group name", settings.access_log_group_name, 512),
        ("CloudWatch dashboard name", settings.app, 255),
        ("CloudWatch alarm name", settings.out_of_service_alarm_name, 255),
        ("IAM policy name", settings.operator_policy_name, 128),
        ("SNS topic name", settings.alerts_topic_name, 256),
        ("EventBridge rule name", settings.watch_schedule_name, 64),
    ]
    for function in FUNCTIONS:
        names.append(("Lambda function name", settings.function_name(function), 64))
        names.append(("CloudWatch Logs log group name", settings.log_group_name(function), 512))
    for role in ROLES:
        names.append(("SNS topic name", settings.region_alarm_topic_name(role), 256))
        names.append(("API Gateway REST API name", settings.rest_api_name(role), 1024))
        alarms = [settings.health_alarm_name(role), settings.impaired_alarm_name(role)]
        alarms.append(settings.unreachable_alarm_name(role))
        alarms += [
            settings.region_alarm_name(role, signal)
            for signal in (*REGION_SIGNALS, CERTIFICATE_SIGNAL)
        ]
        names += [("CloudWatch alarm name", alarm, 255) for alarm in alarms]
    return names


# Lambda function, SNS topic and dashboard names allow only these; Pulumi stacks also allow "."
_NAME_PART_RE = re.compile(r"^[A-Za-z0-9_-]+$")


def check_derived_names(settings: Settings) -> None:
    if not _NAME_PART_RE.match(settings.stack):
        raise StackNameError(
            settings.stack,
            "may contain only letters, digits, '-' and '_' (it is part of the Lambda function, "
            "SNS topic and dashboard names)",
        )
    names = derived_names(settings)
    longest_stack = len(settings.stack) + min(limit - len(name) for _, name, limit in names)
    for what, name, limit in names:
        if len(name) > limit:
            raise StackNameError(
                settings.stack,
                f"the {what} {name!r} would be {len(name)} characters, over AWS's limit of "
                f"{limit}; stack names of this project can be at most {longest_stack} characters",
            )


def check_environment_sizes(settings: Settings, config_key: Callable[[str], str]) -> None:
    """Lambda refuses an environment over 4 KB at deploy time; refuse it here, naming the key
    (`config_key` qualifies a config key name, as the stack config spells it)."""
    for function in FUNCTIONS:
        targeted = settings.fault_injection.enabled and function in FAULT_INJECTION_FUNCTIONS
        location = LONGEST_FIS_CONFIGURATION_LOCATION if targeted else None
        peer = None
        if SPEC_BY_NAME[function].watches_peer:
            peer = WatchedPeer(ROLES[0], settings.primary_region, LONGEST_PEER_ADDRESS)
        env: dict[str, Any] = function_environment(
            settings, function, location, peer, authorizer_alias_arn=LONGEST_AUTHORIZER_ALIAS_ARN
        )
        size = environment_size(env)
        if size <= LAMBDA_ENVIRONMENT_LIMIT_BYTES:
            continue
        sizes = {
            name: variable_size(name, value)
            for name, value in env.items()
            if name in CONFIG_KEY_BY_VARIABLE
        }
        largest = max(sizes, key=sizes.__getitem__)
        raise ConfigError(
            config_key(CONFIG_KEY_BY_VARIABLE[largest]),
            f"the {function} function's environment would be {size} bytes, over Lambda's "
            f"limit of {LAMBDA_ENVIRONMENT_LIMIT_BYTES} bytes (4 KB); {largest} is "
            f"{sizes[largest]} bytes of it",
        )


def check_health_check_tags(settings: Settings, config_key: Callable[[str], str]) -> None:
    """Every health check carries its discovery tags plus the providers' default tags (a
    resource's own tag wins on a shared key); refuse a set Route 53 would reject, naming the key.
    The lever's and the calculated check carry the primary's keys, so the Regions' checks cover
    them all."""
    default_keys = {key for key, _ in settings.default_tags}
    for role in ROLES:
        own = settings.health_check_tags(role, "Z0000000000000")
        keys = set(own) | default_keys
        if len(keys) <= ROUTE53_HEALTH_CHECK_TAG_LIMIT:
            continue
        extra = sorted(default_keys - set(own))
        raise ConfigError(
            config_key("defaultTags"),
            f"the {role} Region's Route 53 health check would carry {len(keys)} tags, over "
            f"Route 53's limit of {ROUTE53_HEALTH_CHECK_TAG_LIMIT} per health check: its "
            f"{len(own)} discovery tags plus {', '.join(extra)} (default tags may only reuse "
            f"the discovery tags' keys: {', '.join(own)})",
        )
