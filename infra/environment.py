"""Each function's environment variables (docs/contracts.md), from the settings and its spec row."""

from __future__ import annotations

import pulumi

from infra.function_specs import SPEC_BY_NAME
from infra.settings import METRICS_NAMESPACE, Settings

# The config keys behind the variables a stack's config decides (the others are derived).
CONFIG_KEY_BY_VARIABLE = {
    "AUTH_ISSUERS": "authIssuers",
    "AUTH_AUDIENCE": "authAudience",
    "AUTH_JWKS_URI": "authJwksUri",
    "AUTH_JWKS_PINNED": "authJwksPinned",
}


def function_environment(
    settings: Settings,
    function: str,
    authorizer_alias_arn: pulumi.Input[str],
    fis_configuration_location: pulumi.Input[str] | None = None,
) -> dict[str, pulumi.Input[str]]:
    """Every environment variable of `function` (docs/contracts.md); with a FIS configuration
    location (fault injection on, a targeted function), the FIS extension's wiring too."""
    env: dict[str, pulumi.Input[str]] = {
        "TABLE_NAME": settings.table_name,
        "POWERTOOLS_SERVICE_NAME": function,
        "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
        "POWERTOOLS_LOG_LEVEL": "INFO",
    }
    spec = SPEC_BY_NAME[function]
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
        env["AUTHORIZER_ALIAS_ARN"] = authorizer_alias_arn
    if fis_configuration_location is not None:
        env |= {
            "AWS_LAMBDA_EXEC_WRAPPER": "/opt/aws-fis/bootstrap",
            "AWS_FIS_CONFIGURATION_LOCATION": fis_configuration_location,
        }
    return env
