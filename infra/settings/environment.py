"""Each function's environment variables (docs/contracts.md), from the settings and its spec row."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from infra.settings.function_specs import SPEC_BY_NAME
from infra.settings.model import METRICS_NAMESPACE, SIGNED_HEALTH_PATH, Role, Settings

# The config keys behind the variables a stack's config decides (the others are derived).
CONFIG_KEY_BY_VARIABLE = {
    "AUTH_ISSUERS": "authIssuers",
    "AUTH_AUDIENCE": "authAudience",
    "AUTH_JWKS_URI": "authJwksUri",
    "AUTH_JWKS_PINNED": "authJwksPinned",
}


@dataclass(frozen=True)
class WatchedPeer:
    """The Region a watcher watches: its role and Region, and the Regional target of its custom
    domain (`d-....execute-api.<region>.amazonaws.com`), the address the watcher connects to."""

    role: Role
    region: str
    address: pulumi.Input[str]


def peer_health_url(settings: Settings) -> str:
    """The signed health route through the custom domain of the shared name (the base path
    mapping serves the stage at the root)."""
    return f"https://{settings.domain_name}{SIGNED_HEALTH_PATH}"


def function_environment(
    settings: Settings,
    function: str,
    fis_configuration_location: pulumi.Input[str] | None = None,
    peer: WatchedPeer | None = None,
    *,
    authorizer_alias_arn: pulumi.Input[str] | None = None,
) -> dict[str, pulumi.Input[str]]:
    """Every environment variable of `function` (docs/contracts.md); with a FIS configuration
    location (fault injection on, a targeted function), the FIS extension's wiring too; the
    watcher gets the peer it watches."""
    spec = SPEC_BY_NAME[function]
    env: dict[str, pulumi.Input[str]] = {}
    if spec.table_access is not None:
        env["TABLE_NAME"] = settings.table_name
    env |= {
        "POWERTOOLS_SERVICE_NAME": function,
        "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
        "POWERTOOLS_LOG_LEVEL": "INFO",
    }
    if spec.verifies_tokens:
        env |= {
            "AUTH_ISSUERS": ",".join(settings.auth.issuers),
            "AUTH_AUDIENCE": settings.auth.audience,
            "AUTH_JWKS_URI": settings.auth.jwks_uri,
        }
        if settings.auth.jwks_pinned:
            env["AUTH_JWKS_PINNED"] = settings.auth.jwks_pinned
    if spec.reads_failure_switch:
        env["FAILURE_SWITCH_PARAMETER"] = settings.failure_switch_parameter
    if spec.invokes_authorizer:
        if authorizer_alias_arn is None:
            raise ValueError(f"the {function} function invokes the authorizer's alias: name it")
        env["AUTHORIZER_ALIAS_ARN"] = authorizer_alias_arn
    if spec.watches_peer:
        if peer is None:
            raise ValueError(f"the {function} function watches a peer: name it")
        env |= {
            "WATCH_APP": settings.app,
            "WATCH_PEER_ROLE": str(peer.role),
            "WATCH_PEER_REGION": peer.region,
            "WATCH_PEER_URL": peer_health_url(settings),
            "WATCH_PEER_ADDRESS": peer.address,
        }
    if fis_configuration_location is not None:
        env |= {
            "AWS_LAMBDA_EXEC_WRAPPER": "/opt/aws-fis/bootstrap",
            "AWS_FIS_CONFIGURATION_LOCATION": fis_configuration_location,
        }
    return env
