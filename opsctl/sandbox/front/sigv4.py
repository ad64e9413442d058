"""SigV4 as API Gateway checks it on an `AWS_IAM` method: the signature is computed again, with
botocore, from the request as it arrived and the sandbox's own credentials, and compared.

What API Gateway answers (403, `x-amzn-ErrorType` as it names them): no signature, "Missing
Authentication Token"; another access key, "The security token included in the request is
invalid."; a credential scoped to another Region or service, "Credential should be scoped to a
valid region." / "... correct service"; any other difference, the signature mismatch.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass

import botocore.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import ReadOnlyCredentials

SERVICE = "execute-api"
_AUTHORIZATION = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<key>[^/,\s]+)/(?P<date>\d{8})/(?P<region>[^/]+)/"
    r"(?P<service>[^/]+)/aws4_request,\s*SignedHeaders=(?P<signed>[a-z0-9;-]+),\s*"
    r"Signature=(?P<signature>[0-9a-f]{64})$"
)
MISMATCH = (
    "The request signature we calculated does not match the signature you provided. Check your "
    "AWS Secret Access Key and signing method. Consult the service documentation for details."
)


@dataclass(frozen=True)
class Refusal:
    """Why API Gateway refuses the request: its 403 body's message and error type."""

    message: str
    error_type: str


MISSING_TOKEN = Refusal("Missing Authentication Token", "MissingAuthenticationTokenException")
# Credentials no caller holds: the sandbox without any refuses every signature.
NO_CREDENTIALS = ReadOnlyCredentials("", "", None)


def environment_credentials() -> ReadOnlyCredentials:
    """The sandbox's own credentials (its processes share them, as the account's principals
    share its signing keys' verification), from the standard environment and files."""
    found = botocore.session.get_session().get_credentials()
    return NO_CREDENTIALS if found is None else found.get_frozen_credentials()


def check_signature(
    method: str,
    raw_path: str,
    headers: Mapping[str, str],
    body: bytes,
    credentials: ReadOnlyCredentials,
    region: str,
) -> Refusal | None:
    """None when the request is signed by `credentials` for `execute-api` in `region`."""
    lowered = {name.lower(): value for name, value in headers.items()}
    authorization = lowered.get("authorization")
    if not authorization:
        return MISSING_TOKEN
    parsed = _AUTHORIZATION.match(authorization.strip())
    if parsed is None:
        return Refusal(
            f"Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' "
            f"parameters. Authorization={authorization}",
            "IncompleteSignatureException",
        )
    if parsed["key"] != credentials.access_key:
        return Refusal(
            "The security token included in the request is invalid.",
            "UnrecognizedClientException",
        )
    if parsed["region"] != region:
        return Refusal(
            f"Credential should be scoped to a valid region, not '{parsed['region']}'. ",
            "InvalidSignatureException",
        )
    if parsed["service"] != SERVICE:
        return Refusal(
            f"Credential should be scoped to correct service: '{SERVICE}'. ",
            "InvalidSignatureException",
        )
    signed = parsed["signed"].split(";")
    if "host" not in signed or any(name not in lowered for name in signed):
        return Refusal(MISMATCH, "InvalidSignatureException")
    request = AWSRequest(
        method=method,
        url=f"https://{lowered['host']}{raw_path}",
        headers={name: lowered[name] for name in signed},
        data=body or None,
    )
    request.context["timestamp"] = lowered.get("x-amz-date", "")
    if request.context["timestamp"][:8] != parsed["date"]:
        return Refusal(MISMATCH, "InvalidSignatureException")
    signer = SigV4Auth(credentials, SERVICE, region)
    expected = signer.signature(
        signer.string_to_sign(request, signer.canonical_request(request)), request
    )
    if not hmac.compare_digest(expected, parsed["signature"]):
        return Refusal(MISMATCH, "InvalidSignatureException")
    return None
