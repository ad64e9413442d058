"""Typed settings read from the Lambda environment.

Settings are read when a handler first needs them, never at import time, so every handler module
imports cleanly with an empty environment (cold-start measurement, tests, the local sandbox).
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

# http is allowed only for a JWKS served on this machine (tests, the local sandbox).
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class ConfigurationError(Exception):
    """The function's environment is missing or has an invalid variable (one-line message)."""


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigurationError(f"environment variable {name} is required")
    return value


def validate_jwks_uri(uri: str) -> str:
    """Return `uri` if it is https (or http on a loopback host), else raise ConfigurationError."""
    parts = urlsplit(uri)
    if parts.scheme == "https" and parts.hostname:
        return uri
    if parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS:
        return uri
    raise ConfigurationError(
        "AUTH_JWKS_URI must be an https URL (http only for 127.0.0.1/localhost)"
    )


@dataclass(frozen=True)
class AuthSettings:
    """How tokens are verified: trusted issuers, the audience and where the signing keys are."""

    issuers: frozenset[str]
    audience: str
    jwks_uri: str
    jwks_pinned: str | None  # JWKS JSON shipped with the deployment, used when the URI is down

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> AuthSettings:
        listed = _required(env, "AUTH_ISSUERS").split(",")
        issuers = frozenset(issuer.strip() for issuer in listed if issuer.strip())
        if not issuers:
            raise ConfigurationError("AUTH_ISSUERS must name at least one issuer")
        return cls(
            issuers=issuers,
            audience=_required(env, "AUTH_AUDIENCE"),
            jwks_uri=validate_jwks_uri(_required(env, "AUTH_JWKS_URI")),
            jwks_pinned=env.get("AUTH_JWKS_PINNED", "").strip() or None,
        )


@dataclass(frozen=True)
class TableSettings:
    """The global table's Regional replica this function reads and writes."""

    table_name: str
    region: str

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> TableSettings:
        return cls(table_name=_required(env, "TABLE_NAME"), region=_required(env, "AWS_REGION"))


@dataclass(frozen=True)
class AuthorizerSettings:
    auth: AuthSettings
    table: TableSettings

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> AuthorizerSettings:
        return cls(auth=AuthSettings.from_env(env), table=TableSettings.from_env(env))


@dataclass(frozen=True)
class HealthSettings:
    auth: AuthSettings
    table: TableSettings
    failure_switch_parameter: str
    authorizer_alias_arn: str  # the alias API Gateway invokes; the canary invokes it too

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> HealthSettings:
        return cls(
            auth=AuthSettings.from_env(env),
            table=TableSettings.from_env(env),
            failure_switch_parameter=_required(env, "FAILURE_SWITCH_PARAMETER"),
            authorizer_alias_arn=_required(env, "AUTHORIZER_ALIAS_ARN"),
        )


def _is_loopback(address: str) -> bool:
    """host[:port] on this machine: a loopback name or any 127/8 or ::1 address."""
    host = address.rsplit(":", 1)[0] if address.count(":") == 1 else address
    host = host.strip("[]")
    if host in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class WatcherSettings:
    """What the peer watcher watches and how it labels what it sees."""

    app: str  # the `App` dimension
    region: str  # where this watcher runs (and publishes)
    peer_role: str  # `primary` or `secondary`: the `Peer` dimension
    peer_region: str  # the Region the peer's health answer must name
    # The health route through the custom domain of the shared name: its host is the TLS server
    # name and the Host header, its path the route (https; http only towards a loopback address).
    peer_url: str
    # host[:port] connected to: the peer's Regional custom-domain target, so this Region's view
    # of the peer does not depend on where DNS sends the shared name.
    peer_address: str

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> WatcherSettings:
        peer_role = _required(env, "WATCH_PEER_ROLE")
        if peer_role not in ("primary", "secondary"):
            raise ConfigurationError("WATCH_PEER_ROLE must be primary or secondary")
        address = _required(env, "WATCH_PEER_ADDRESS")
        url = _required(env, "WATCH_PEER_URL")
        parts = urlsplit(url)
        loopback_http = parts.scheme == "http" and _is_loopback(address)
        if not parts.hostname or not (parts.scheme == "https" or loopback_http):
            raise ConfigurationError(
                "WATCH_PEER_URL must be an https URL (http only towards a loopback address)"
            )
        return cls(
            app=_required(env, "WATCH_APP"),
            region=_required(env, "AWS_REGION"),
            peer_role=peer_role,
            peer_region=_required(env, "WATCH_PEER_REGION"),
            peer_url=url,
            peer_address=address,
        )
