"""The guard on each Region's health route: only Route 53's health checkers may GET /health, in a
throttle bucket of its own; every other caller GETs the IAM-authorized twin, signed.

`GET /health` is unauthenticated because Route 53's checkers cannot sign. API Gateway throttles
per method across all callers, so without the guard a flood of `GET /health` from anywhere would
answer the checkers 429 and push the Region out of DNS. Three parts (docs/infra.md, "The health
route's guard"):
- a resource policy on the REST API: `GET /health` is allowed from the ranges Route 53 publishes
  for its health checkers (`ROUTE53_HEALTHCHECKS` in ip-ranges.json, IPv4 and IPv6) and
  explicitly denied to every other source; the token routes are allowed as before (their
  authorizer decides); the twin route has no statement, so only an IAM policy of this account
  admits a signed caller (API Gateway's rule for IAM authorization in the same account);
- method settings of its own for `health/GET`: its bucket is not the API's;
- the twin `GET /health/signed` (`SIGNED_HEALTH_PATH`), served by the same function with
  `AWS_IAM` authorization, for the peer's watcher and opsctl.
The ranges are read at each `pulumi up` (the policy changes, and the stage is redeployed, when
Route 53's ranges do).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_aws as aws

from infra.settings.model import HEALTH_PATH, SIGNED_HEALTH_PATH, STAGE_NAME

# The service name of Route 53's health checkers in ip-ranges.json, as the provider spells it.
HEALTH_CHECKER_SERVICE = "route53_healthchecks"
# The health method's own bucket. Its callers: Route 53's checkers of every checker Region (the
# default eight Regions, several checkers each: about 16 to 24 checkers, each one request per
# 10 s interval, so ~2.5 requests per second on average and "several requests per second" at
# once, as Route 53 warns, since the checkers do not coordinate). The peer's watcher (one a
# minute) and opsctl's probes (a few per `opsctl status`) use the twin route, under the stage's
# own limits. 20 per second with a burst of 40 is eight times the checkers' average and covers
# all of them arriving within the same second.
HEALTH_THROTTLE_RATE_LIMIT = 20
HEALTH_THROTTLE_BURST_LIMIT = 40
# API Gateway's method path for the stage's method settings: `<resource path without the leading
# slash>/<HTTP method>`.
HEALTH_METHOD_PATH = f"{HEALTH_PATH.strip('/')}/GET"
SOURCE_IP = "aws:SourceIp"


def method_arn(execution_arn: str, method: str, path: str) -> str:
    """The ARN a resource policy or an IAM policy names one method of the stage by:
    `arn:aws:execute-api:<region>:<account>:<api id>/<stage>/<METHOD><path>`."""
    return f"{execution_arn}/{STAGE_NAME}/{method}{path}"


def signed_health_arn(execution_arn: pulumi.Input[str]) -> pulumi.Output[str]:
    """The twin route, as `execute-api:Invoke` grants it (the watcher's role, operators)."""
    return pulumi.Output.from_input(execution_arn).apply(
        lambda arn: method_arn(arn, "GET", SIGNED_HEALTH_PATH)
    )


def health_checker_ranges(opts: pulumi.InvokeOutputOptions) -> pulumi.Output[list[str]]:
    """Route 53's health-checker CIDRs as AWS publishes them today, IPv4 then IPv6."""
    ranges = aws.get_ip_ranges_output(services=[HEALTH_CHECKER_SERVICE], opts=opts)
    return pulumi.Output.all(ranges.cidr_blocks, ranges.ipv6_cidr_blocks).apply(
        lambda both: [*both[0], *(both[1] or [])]
    )


def resource_policy(
    execution_arn: str, open_routes: Sequence[str], checker_ranges: Sequence[str]
) -> dict[str, Any]:
    """The REST API's resource policy. `open_routes` are the token routes' method ARN patterns
    (`GET/sessions/*`, ...); `checker_ranges` the CIDRs `GET /health` is admitted from."""
    if not checker_ranges:
        raise ValueError("no Route 53 health-checker ranges: the health route would admit no one")
    health = method_arn(execution_arn, "GET", HEALTH_PATH)
    sources = {SOURCE_IP: sorted(checker_ranges)}
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "TokenRoutes",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "execute-api:Invoke",
                "Resource": [f"{execution_arn}/{STAGE_NAME}/{route}" for route in open_routes],
            },
            {
                "Sid": "HealthFromRoute53Checkers",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "execute-api:Invoke",
                "Resource": health,
                "Condition": {"IpAddress": sources},
            },
            {
                "Sid": "HealthOnlyFromRoute53Checkers",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "execute-api:Invoke",
                "Resource": health,
                "Condition": {"NotIpAddress": sources},
            },
        ],
    }


def policy_document(
    execution_arn: pulumi.Input[str], open_routes: Sequence[str], opts: pulumi.InvokeOutputOptions
) -> pulumi.Output[str]:
    """`resource_policy` as JSON, with the ranges Route 53 publishes at this `pulumi up`."""
    return pulumi.Output.all(execution_arn, health_checker_ranges(opts)).apply(
        lambda both: json.dumps(resource_policy(both[0], open_routes, both[1]))
    )


def health_method_settings(
    name: str, stage: aws.apigateway.Stage, opts: pulumi.ResourceOptions
) -> aws.apigateway.MethodSettings:
    """`health/GET`'s settings. They replace the stage's `*/*` ones for this method, so metrics
    and logging are repeated here."""
    return aws.apigateway.MethodSettings(
        name,
        rest_api=stage.rest_api,
        stage_name=stage.stage_name,
        method_path=HEALTH_METHOD_PATH,
        settings=aws.apigateway.MethodSettingsSettingsArgs(
            metrics_enabled=True,
            logging_level="ERROR",
            throttling_rate_limit=HEALTH_THROTTLE_RATE_LIMIT,
            throttling_burst_limit=HEALTH_THROTTLE_BURST_LIMIT,
        ),
        opts=opts,
    )
