"""IAM policies returned to API Gateway (the documents Powertools' APIGatewayAuthorizerResponse
builds, written out: importing Powertools' data classes was a tenth of the authorizer's cold start).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from functions.authorizer.tokens import VerifiedToken

POLICY_VERSION = "2012-10-17"
INVOKE = "execute-api:Invoke"

# arn:<partition>:execute-api:<region>:<account>:<apiId>/<stage>/<METHOD>/<resource...>
# No wildcards anywhere we echo back: a `*` API id or stage would widen the policy.
_METHOD_ARN = re.compile(
    r"arn:(aws[a-z-]*):execute-api:([a-z0-9-]+):(\d{12}):([A-Za-z0-9]+)/([A-Za-z0-9_-]+)/[A-Z]+/.*"
)


class InvalidMethodArn(Exception):
    """The event's methodArn is not an execute-api method ARN."""


def allow_stage(method_arn: object, principal_id: str, context: dict[str, Any]) -> dict[str, Any]:
    """Allow every route of the stage the request came in on, and nothing else.

    API Gateway caches the policy per token for all routes of the stage, so a policy naming only
    this request's route would turn the caller's next request to another route into a 403.
    """
    match = _METHOD_ARN.fullmatch(method_arn) if isinstance(method_arn, str) else None
    if match is None:
        raise InvalidMethodArn("methodArn is not an execute-api method ARN")
    return {
        "principalId": principal_id,
        "policyDocument": _stage_policy(*match.groups()),
        "context": context,
    }


@lru_cache(maxsize=64)
def _stage_policy(
    partition: str, region: str, account_id: str, api_id: str, stage: str
) -> dict[str, Any]:
    # The same for every caller of a stage, so built once; the Lambda runtime only serializes
    # it, and nothing may mutate it. Every method and resource of this stage, nothing else.
    resource = f"arn:{partition}:execute-api:{region}:{account_id}:{api_id}/{stage}/*/*"
    return _policy("Allow", resource)


def _policy(effect: str, resource: str) -> dict[str, Any]:
    return {
        "Version": POLICY_VERSION,
        "Statement": [{"Action": INVOKE, "Effect": effect, "Resource": [resource]}],
    }


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
    return {"principalId": "deny-all-user", "policyDocument": _policy("Deny", "*")}
