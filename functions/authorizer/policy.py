"""IAM policies returned to API Gateway, built with Powertools' APIGatewayAuthorizerResponse."""

from __future__ import annotations

import copy
import re
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    DENY_ALL_RESPONSE,
    APIGatewayAuthorizerResponse,
    parse_api_gateway_arn,
)

from functions.authorizer.tokens import VerifiedToken

# arn:<partition>:execute-api:<region>:<account>:<apiId>/<stage>/<METHOD>/<resource...>
_METHOD_ARN = re.compile(
    r"arn:(aws[a-z-]*):execute-api:([a-z0-9-]+):(\d{12}):([A-Za-z0-9]+)/([A-Za-z0-9_-]+)/[A-Z*]+/.*"
)


class InvalidMethodArn(Exception):
    """The event's methodArn is not an execute-api method ARN."""


def allow_stage(method_arn: object, principal_id: str, context: dict[str, Any]) -> dict[str, Any]:
    """Allow every route of the stage the request came in on, and nothing else.

    API Gateway caches the policy per token for all routes of the stage, so a policy naming only
    this request's route would turn the caller's next request to another route into a 403.
    """
    if not isinstance(method_arn, str):
        raise InvalidMethodArn("methodArn is not a string")
    return {
        "principalId": principal_id,
        "policyDocument": _stage_policy(method_arn),
        "context": context,
    }


@lru_cache(maxsize=256)
def _stage_policy(method_arn: str) -> dict[str, Any]:
    # A warm authorizer sees a handful of distinct methodArns (one per route), so the policy
    # document for each is built once; callers must treat it as read-only.
    if not _METHOD_ARN.fullmatch(method_arn):
        raise InvalidMethodArn("methodArn is not an execute-api method ARN")
    route = parse_api_gateway_arn(method_arn)
    response = APIGatewayAuthorizerResponse(
        principal_id="stage-policy",
        region=route.region,
        aws_account_id=route.aws_account_id,
        api_id=route.api_id,
        stage=route.stage,
        partition=route.partition,
    )
    response.allow_all_routes()
    return response.asdict()["policyDocument"]


def caller_context(token: VerifiedToken, region: str) -> dict[str, str]:
    """What the API learns about the caller (API Gateway allows only string/number/bool values)."""
    return {
        "subject": token.subject,
        "issuer": token.issuer,
        "scopes": " ".join(token.scopes),
        "region": region,
    }


def deny_all() -> dict[str, Any]:
    """An explicit Deny (403) for a token we will not honour although it is well formed."""
    return copy.deepcopy(DENY_ALL_RESPONSE)  # the Powertools constant must never be mutated
