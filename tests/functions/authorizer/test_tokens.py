"""Token extraction and verification: every rejection reason, with keys the tests generate."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from jwt import PyJWK

from functions.authorizer.tokens import (
    MAX_TOKEN_BYTES,
    RejectReason,
    TokenRejected,
    TokenVerifier,
    extract_bearer_token,
)
from functions.shared.jwks import parse_jwks
from tests.functions.support import (
    AUDIENCE,
    ISSUER,
    FromNow,
    SigningKey,
    b64url,
    b64url_decode,
    claims,
    ec_key,
    jwks_document,
)


class StaticKeys:
    """A fixed key set (the JWKS cache itself is tested in test_jwks)."""

    def __init__(self, keys: Mapping[str, PyJWK]) -> None:
        self.keys = keys
        self.lookups: list[str] = []

    def find(self, kid: str) -> PyJWK | None:
        self.lookups.append(kid)
        return self.keys.get(kid)


@pytest.fixture
def keys(rs_key: SigningKey, es_key: SigningKey) -> StaticKeys:
    return StaticKeys(parse_jwks(jwks_document(rs_key, es_key)))


@pytest.fixture
def verifier(keys: StaticKeys) -> TokenVerifier:
    return TokenVerifier(keys, frozenset({ISSUER, "https://login.partner.example/"}), AUDIENCE)


def forge(header: dict[str, Any], payload: dict[str, Any], signature: bytes = b"sig") -> str:
    """A compact JWS with arbitrary header and signature bytes."""
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(payload).encode())}"
    return f"{signing_input}.{b64url(signature)}"


def rejection(verifier: TokenVerifier, token: str) -> RejectReason:
    with pytest.raises(TokenRejected) as rejected:
        verifier.verify(token)
    return rejected.value.reason


# --- extracting the bearer token -------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, RejectReason.MISSING_TOKEN),
        ("", RejectReason.MISSING_TOKEN),
        (42, RejectReason.MISSING_TOKEN),
        ("Basic dXNlcjpwYXNz", RejectReason.NOT_BEARER),
        ("eyJhbGciOi.eyJzdWIi.c2ln", RejectReason.NOT_BEARER),
        ("Bearer", RejectReason.NOT_BEARER),
        ("Bearer ", RejectReason.MALFORMED),
        ("Bearer a.b", RejectReason.MALFORMED),
        ("Bearer a.b.c.d", RejectReason.MALFORMED),
        ("Bearer  a.b.c", RejectReason.MALFORMED),
        ("Bearer a.b.c ", RejectReason.MALFORMED),
        ("Bearer a+b.c/d.e=", RejectReason.MALFORMED),
    ],
)
def test_authorization_values_that_are_not_one_bearer_jws_are_rejected(
    header: object, reason: RejectReason
) -> None:
    with pytest.raises(TokenRejected) as rejected:
        extract_bearer_token(header)
    assert rejected.value.reason is reason


def test_bearer_scheme_is_case_insensitive() -> None:
    assert extract_bearer_token("bearer a.b.c") == "a.b.c"
    assert extract_bearer_token("BEARER a.b.c") == "a.b.c"


def test_a_token_over_8_kib_is_rejected_before_it_is_parsed() -> None:
    # Not even a JWS: the size check must come first, so the reason is size, not shape.
    with pytest.raises(TokenRejected) as rejected:
        extract_bearer_token("Bearer " + "!" * (MAX_TOKEN_BYTES + 1))
    assert rejected.value.reason is RejectReason.TOKEN_TOO_LARGE


def test_a_token_of_exactly_8_kib_is_accepted_for_verification() -> None:
    token = "a" * (MAX_TOKEN_BYTES - 4) + ".b.c"
    assert extract_bearer_token("Bearer " + token) == token


def test_multibyte_characters_count_as_bytes_toward_the_limit() -> None:
    with pytest.raises(TokenRejected) as rejected:
        extract_bearer_token("Bearer " + "é" * (MAX_TOKEN_BYTES // 2 + 1))
    assert rejected.value.reason is RejectReason.TOKEN_TOO_LARGE


# --- verifying -------------------------------------------------------------------------------


@pytest.mark.parametrize("key_name", ["rs_key", "es_key"])
def test_valid_rs256_and_es256_tokens_verify(
    verifier: TokenVerifier, key_name: str, request: pytest.FixtureRequest
) -> None:
    key: SigningKey = request.getfixturevalue(key_name)
    token = key.sign(claims(sub="player-1", jti="t-1", scope="sessions:read"))
    verified = verifier.verify(token)
    assert verified.subject == "player-1"
    assert verified.issuer == ISSUER
    assert verified.scopes == ("sessions:read",)
    assert verified.token_id == "t-1"


def test_second_trusted_issuer_and_scp_list_are_accepted(
    verifier: TokenVerifier, rs_key: SigningKey
) -> None:
    token = rs_key.sign(
        claims(iss="https://login.partner.example/", scope=None, scp=["a:read", "b:write"])
    )
    verified = verifier.verify(token)
    assert verified.issuer == "https://login.partner.example/"
    assert verified.scopes == ("a:read", "b:write")


def test_audience_may_be_one_of_a_list(verifier: TokenVerifier, rs_key: SigningKey) -> None:
    assert verifier.verify(rs_key.sign(claims(aud=["other-api", AUDIENCE]))).subject


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"exp": FromNow(-120)}, RejectReason.EXPIRED),
        ({"nbf": FromNow(120)}, RejectReason.NOT_YET_VALID),
        ({"iat": FromNow(120)}, RejectReason.NOT_YET_VALID),
        ({"iss": "https://idp.example.com"}, RejectReason.INVALID_ISSUER),  # no trailing slash
        ({"iss": "https://idp.example.com/.evil"}, RejectReason.INVALID_ISSUER),
        ({"iss": "https://"}, RejectReason.INVALID_ISSUER),  # a substring of a trusted issuer
        ({"iss": [ISSUER]}, RejectReason.INVALID_ISSUER),
        ({"aud": "another-api"}, RejectReason.INVALID_AUDIENCE),
        ({"aud": "game"}, RejectReason.INVALID_AUDIENCE),
        ({"exp": None}, RejectReason.MISSING_CLAIM),
        ({"iss": None}, RejectReason.MISSING_CLAIM),
        ({"aud": None}, RejectReason.MISSING_CLAIM),
        ({"sub": None}, RejectReason.MISSING_CLAIM),
        ({"sub": ""}, RejectReason.INVALID_CLAIM),
        ({"sub": 12345}, RejectReason.INVALID_CLAIM),
        ({"jti": 7}, RejectReason.INVALID_CLAIM),
        ({"exp": "tomorrow"}, RejectReason.INVALID_CLAIM),
        ({"exp": "4102444800"}, RejectReason.INVALID_CLAIM),  # NumericDate is a number
        ({"exp": True}, RejectReason.INVALID_CLAIM),
        ({"exp": float("inf")}, RejectReason.INVALID_CLAIM),  # json emits Infinity
        ({"exp": float("nan")}, RejectReason.INVALID_CLAIM),
        ({"nbf": "now"}, RejectReason.INVALID_CLAIM),
        ({"aud": [AUDIENCE, 7]}, RejectReason.INVALID_AUDIENCE),
        ({"aud": {"game-api": True}}, RejectReason.INVALID_AUDIENCE),
        ({"scope": ["not", "a", "string"]}, RejectReason.INVALID_CLAIM),
    ],
)
def test_claims_are_checked(
    verifier: TokenVerifier, rs_key: SigningKey, overrides: dict[str, Any], reason: RejectReason
) -> None:
    assert rejection(verifier, rs_key.sign(claims(**overrides))) is reason


def test_small_clock_skew_is_tolerated(verifier: TokenVerifier, rs_key: SigningKey) -> None:
    now = int(time.time())
    token = rs_key.sign(claims(exp=now - 10, nbf=now + 10, iat=now + 10))
    assert verifier.verify(token).subject


def test_a_signature_by_another_key_under_a_known_kid_fails(
    verifier: TokenVerifier, attacker_key: SigningKey, rs_key: SigningKey
) -> None:
    assert attacker_key.kid == rs_key.kid
    assert rejection(verifier, attacker_key.sign(claims())) is RejectReason.INVALID_SIGNATURE


def test_a_tampered_payload_fails_the_signature(
    verifier: TokenVerifier, rs_key: SigningKey
) -> None:
    header, _, signature = rs_key.sign(claims(sub="alice")).split(".")
    payload = b64url(json.dumps(claims(sub="admin")).encode())
    assert rejection(verifier, f"{header}.{payload}.{signature}") is RejectReason.INVALID_SIGNATURE


def test_unknown_and_missing_kids_are_rejected(verifier: TokenVerifier) -> None:
    stranger = ec_key("not-published")
    assert rejection(verifier, stranger.sign(claims())) is RejectReason.UNKNOWN_KEY
    token = forge({"alg": "RS256", "typ": "JWT"}, claims())
    assert rejection(verifier, token) is RejectReason.UNKNOWN_KEY
    assert rejection(verifier, forge({"alg": "RS256", "kid": ""}, claims())) is (
        RejectReason.UNKNOWN_KEY
    )


@pytest.mark.parametrize("alg", ["none", "None", "HS256", "HS512", "RS512", "PS256", "ES384", ""])
def test_algorithms_outside_the_allow_list_are_rejected_before_key_lookup(
    verifier: TokenVerifier, keys: StaticKeys, rs_key: SigningKey, alg: str
) -> None:
    token = forge({"alg": alg, "kid": rs_key.kid}, claims())
    assert rejection(verifier, token) is RejectReason.ALGORITHM_NOT_ALLOWED
    assert keys.lookups == []


def test_hmac_signed_with_the_public_key_is_rejected(
    verifier: TokenVerifier, rs_key: SigningKey
) -> None:
    # The classic confusion attack: HS256 keyed with the published RSA public key.
    public_pem = rs_key.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = b64url(json.dumps({"alg": "HS256", "kid": rs_key.kid}).encode())
    payload = b64url(json.dumps(claims()).encode())
    mac = hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    token = f"{header}.{payload}.{b64url(mac)}"
    assert rejection(verifier, token) is RejectReason.ALGORITHM_NOT_ALLOWED


def test_the_algorithm_comes_from_the_key_not_the_token(
    verifier: TokenVerifier, rs_key: SigningKey, es_key: SigningKey
) -> None:
    # An ES256 token that names the RSA key: allowed algorithm, wrong one for that key.
    token = es_key.sign(claims(), headers={"kid": rs_key.kid})
    assert rejection(verifier, token) is RejectReason.ALGORITHM_NOT_ALLOWED


@pytest.mark.parametrize("header", ["jku", "x5u"])
def test_key_url_headers_are_ignored(
    verifier: TokenVerifier, keys: StaticKeys, attacker_key: SigningKey, header: str
) -> None:
    # The attacker points at their own key set; we still verify against ours only.
    token = attacker_key.sign(claims(), headers={header: "https://attacker.example/jwks.json"})
    assert rejection(verifier, token) is RejectReason.INVALID_SIGNATURE
    assert keys.lookups == [attacker_key.kid]


def test_an_embedded_jwk_header_is_ignored(
    verifier: TokenVerifier, attacker_key: SigningKey
) -> None:
    token = attacker_key.sign(claims(), headers={"jwk": attacker_key.public_jwk})
    assert rejection(verifier, token) is RejectReason.INVALID_SIGNATURE


def test_unsupported_critical_header_is_rejected(
    verifier: TokenVerifier, rs_key: SigningKey
) -> None:
    token = rs_key.sign(claims(), headers={"crit": ["exp-ext"], "exp-ext": True})
    assert rejection(verifier, token) is RejectReason.MALFORMED


def test_a_non_canonical_base64_spelling_is_rejected(
    verifier: TokenVerifier, rs_key: SigningKey
) -> None:
    header, payload, signature = rs_key.sign(claims()).split(".")
    # A 256-byte signature leaves 4 spare bits in its last character; flip the lowest one.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    respelled = signature[:-1] + alphabet[alphabet.index(signature[-1]) ^ 1]
    assert b64url_decode(respelled) == b64url_decode(signature)
    assert rejection(verifier, f"{header}.{payload}.{respelled}") is RejectReason.MALFORMED


@pytest.mark.parametrize(
    "token",
    [
        "e30.e30.c2ln",  # {} header
        "bm90anNvbg.e30.c2ln",  # header is not JSON
        "WzFd.e30.c2ln",  # header is a JSON array
        "eyJhbGciOiJSUzI1NiIsImtpZCI6InJzYS0yMDI2LTExIn0.bm90anNvbg.c2ln",  # payload not JSON
        "eyJhbGciOiJSUzI1NiIsImtpZCI6InJzYS0yMDI2LTExIn0.e30.A",  # bad base64 length
    ],
)
def test_structurally_broken_tokens_are_rejected(verifier: TokenVerifier, token: str) -> None:
    assert rejection(verifier, token) in {
        RejectReason.MALFORMED,
        RejectReason.ALGORITHM_NOT_ALLOWED,
        RejectReason.INVALID_SIGNATURE,
    }
