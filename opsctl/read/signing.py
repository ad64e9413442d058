"""opsctl's GETs of a Region's health: the signed twin route (`GET /health/signed`, AWS_IAM), as
`GET /health` itself admits only Route 53's health checkers (docs/contracts.md).

Each GET is signed with SigV4 for `execute-api` in the Region asked, with the operator's own
credentials (the operator policy grants `execute-api:Invoke` on each Region's twin). The
credentials are the session's opsctl already resolved through the secondary's Region, so signing
never needs us-east-1. Without credentials the probe says so in one line.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import ReadOnlyCredentials

from stack_topology import HEALTH_PATH, SIGNED_HEALTH_PATH

NO_CREDENTIALS = (
    "probe: no credentials to sign the GET of the health route (AWS_PROFILE or --profile; "
    "the operator policy grants execute-api:Invoke)"
)


class NoSigningCredentials(Exception):
    """No AWS credentials to sign with."""

    def __init__(self) -> None:
        super().__init__(NO_CREDENTIALS)


def signed_health_url(health_url: str) -> str:
    """The topology's `healthUrl` (`.../prod/health`) as its signed twin
    (`.../prod/health/signed`)."""
    base = health_url.rstrip("/")
    if base.endswith(HEALTH_PATH):
        base = base[: -len(HEALTH_PATH)]
    return base + SIGNED_HEALTH_PATH


@dataclass(frozen=True)
class HealthSigner:
    """Signs GETs of the health twin; `credentials` is asked at each signature (it may refresh)."""

    credentials: Callable[[], ReadOnlyCredentials | None]

    def headers(self, host: str, path: str, region: str) -> dict[str, str]:
        """SigV4 headers for `GET path` with `Host: host` in `region` (the Host the request
        carries is the one signed). Raises NoSigningCredentials."""
        credentials = self.credentials()
        if credentials is None:
            raise NoSigningCredentials()
        request = AWSRequest(method="GET", url=f"https://{host}{path}", headers={"Host": host})
        SigV4Auth(credentials, "execute-api", region).add_auth(request)
        return {name: value for name, value in request.headers.items() if name.lower() != "host"}
