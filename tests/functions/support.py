"""Helpers for the function tests: events, a LambdaContext fake, signing keys the tests
generate, a JWKS endpoint on 127.0.0.1, and the global table in the emulator."""

from __future__ import annotations

import base64
import copy
import json
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from tests.support import aws as shared_aws
from tests.support.http import LoopbackServer, QuietHandler

EVENTS_DIR = Path(__file__).parent / "events"
REGION = "us-east-1"
OTHER_REGION = "us-west-2"
ISSUER = "https://idp.example.com/"
AUDIENCE = "game-api"
APP = "multi-region-authorizer-primary"
TABLE_NAME = f"{APP}-state"
FAILURE_SWITCH = f"/{APP}/health/failure-switch"
AUTHORIZER_ALIAS_ARN = f"arn:aws:lambda:{REGION}:123456789012:function:{APP}-authorizer:live"
METHOD_ARN = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/whoami"


def load_event(name: str) -> dict[str, Any]:
    """A fresh copy of a JSON event fixture (tests mutate what they get)."""
    return copy.deepcopy(json.loads((EVENTS_DIR / f"{name}.json").read_text()))


@dataclass
class FakeLambdaContext:
    function_name: str = f"{APP}-authorizer"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:123456789012:function:{APP}-authorizer"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = f"/aws/lambda/{APP}-authorizer"
    log_stream_name: str = "2026/11/27/[$LATEST]0123456789abcdef"

    def get_remaining_time_in_millis(self) -> int:
        return 3000


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


@dataclass
class FakeClock:
    """A monotonic clock the test moves by hand (the caches' `clock=` argument)."""

    now: float = 0.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass(frozen=True)
class SigningKey:
    """A key pair the tests sign with; `public_jwk` is what the identity provider publishes."""

    kid: str
    algorithm: str
    private_key: Any

    @property
    def public_jwk(self) -> dict[str, Any]:
        codec = RSAAlgorithm if self.algorithm == "RS256" else ECAlgorithm
        jwk = codec.to_jwk(self.private_key.public_key(), as_dict=True)
        return {**jwk, "kid": self.kid, "alg": self.algorithm, "use": "sig"}

    def sign(self, claims: dict[str, Any], headers: dict[str, Any] | None = None) -> str:
        # PyJWS signs any JSON payload (jwt.encode refuses some invalid claims we need to send).
        return jwt.PyJWS().encode(
            json.dumps(claims).encode(),
            self.private_key,
            algorithm=self.algorithm,
            headers={"kid": self.kid, **(headers or {})},
        )


def rsa_key(kid: str, bits: int = 2048) -> SigningKey:
    return SigningKey(kid, "RS256", rsa.generate_private_key(public_exponent=65537, key_size=bits))


def ec_key(kid: str) -> SigningKey:
    return SigningKey(kid, "ES256", ec.generate_private_key(ec.SECP256R1()))


def jwks_document(*keys: SigningKey) -> bytes:
    return json.dumps({"keys": [key.public_jwk for key in keys]}).encode()


@dataclass(frozen=True)
class FromNow:
    """A NumericDate relative to when the claims are built, not to when tests are collected
    (a parametrize list is evaluated minutes before its last case runs)."""

    seconds: int


def claims(**overrides: Any) -> dict[str, Any]:
    """Claims of a valid access token; pass a claim as None to leave it out."""
    now = int(time.time())
    base = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "user-8f14e45f",
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "jti": str(uuid.uuid4()),
        "scope": "sessions:read sessions:write",
    }
    base.update(
        {
            name: now + value.seconds if isinstance(value, FromNow) else value
            for name, value in overrides.items()
        }
    )
    return {name: value for name, value in base.items() if value is not None}


class JwksServer:
    """The identity provider's JWKS endpoint on 127.0.0.1 (port chosen by the OS)."""

    def __init__(self) -> None:
        self.document = b'{"keys": []}'
        self.status = 200
        self.requests = 0
        server = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                server.requests += 1
                body = server.document if server.status == 200 else b"unavailable"
                self.reply(server.status, body, "application/json")

        self._httpd = LoopbackServer(Handler)

    @property
    def url(self) -> str:
        return f"{self._httpd.base_url}/.well-known/jwks.json"

    def publish(self, *keys: SigningKey) -> None:
        self.document = jwks_document(*keys)
        self.status = 200

    def go_down(self) -> None:
        self.status = 503

    def close(self) -> None:
        self._httpd.close()


@dataclass(frozen=True)
class FunctionEnv:
    """The environment the infra gives the functions, backed by the emulator."""

    dynamodb: Any
    ssm: Any
    jwks: JwksServer

    def revoke(self, token_id: str, expires_at: int | None = None) -> None:
        self.dynamodb.put_item(
            TableName=TABLE_NAME,
            Item={
                "pk": {"S": "revoked"},
                "sk": {"S": token_id},
                "expiresAt": {"N": str(expires_at or int(time.time()) + 3600)},
            },
        )

    def set_switch(self, value: str) -> None:
        self.ssm.put_parameter(Name=FAILURE_SWITCH, Value=value, Type="String", Overwrite=True)


def create_state_table(dynamodb: Any) -> None:
    shared_aws.create_state_table(dynamodb, TABLE_NAME)
