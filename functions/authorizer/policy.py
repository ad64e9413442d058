"""IAM policies returned to API Gateway, built with Powertools' APIGatewayAuthorizerResponse."""

from __future__ import annotations

import copy
import re
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
    if not isinstance(method_arn, str) or not _METHOD_ARN.fullmatch(method_arn):
        raise InvalidMethodArn("methodArn is not an execute-api method ARN")
    route = parse_api_gateway_arn(method_arn)
    response = APIGatewayAuthorizerResponse(
        principal_id=principal_id,
        region=route.region,
        aws_account_id=route.aws_account_id,
        api_id=route.api_id,
        stage=route.stage,
        context=context,
        partition=route.partition,
    )
    response.allow_all_routes()
    return response.asdict()


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
