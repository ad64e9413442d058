"""Property tests: no mutation of a valid token, and no input at all, ever yields Allow."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from functions.authorizer import app as authorizer_app
from functions.authorizer.core import Authorizer, Outcome
from functions.authorizer.revocations import RevocationList
from functions.authorizer.tokens import TokenVerifier
from functions.shared.jwks import JwksCache, JwksError, parse_jwks
from tests.functions.support import (
    AUDIENCE,
    ISSUER,
    METHOD_ARN,
    FakeLambdaContext,
    FunctionEnv,
    b64url,
    b64url_decode,
    claims,
    ec_key,
    jwks_document,
    rsa_key,
)

RS_KEY, ES_KEY = rsa_key("fuzz-rsa"), ec_key("fuzz-ec")
VALID_TOKENS = [
    RS_KEY.sign(claims(exp=4_102_444_800, sub="alice")),  # expires in 2100
    ES_KEY.sign(claims(exp=4_102_444_800, sub="bob", scp=["x"])),
]
B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _offline(uri: str, timeout: float) -> bytes:
    raise JwksError("offline: the fuzz run verifies with its pinned keys")


def _authorizer() -> Authorizer:
    # The one failed fetch is never retried, so every example runs on the pinned keys.
    keys = JwksCache(
        "https://idp.example.com/jwks.json",
        parse_jwks(jwks_document(RS_KEY, ES_KEY)),
        fetch=_offline,
        retry_interval=float("inf"),
        refetch_interval=float("inf"),
    )
    verifier = TokenVerifier(keys, frozenset({ISSUER}), AUDIENCE)
    return Authorizer(verifier, RevocationList(frozenset), region="us-east-1")


AUTHORIZER = _authorizer()


def _decoded(segment: str) -> Any:
    return json.loads(b64url_decode(segment))


@st.composite
def character_mutations(draw: st.DrawFn) -> tuple[str, str]:
    token = draw(st.sampled_from(VALID_TOKENS))
    chars = list(token)
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, len(chars) - 1))
        action = draw(st.sampled_from(["replace", "delete", "insert"]))
        if action == "replace":
            chars[position] = draw(st.sampled_from(B64URL + "."))
        elif action == "delete" and len(chars) > 1:
            del chars[position]
        else:
            chars.insert(position, draw(st.sampled_from(B64URL + ".")))
    return token, "".join(chars)


def _encode(document: dict[str, Any]) -> str:
    return b64url(json.dumps(document).encode())


@st.composite
def structural_mutations(draw: st.DrawFn) -> tuple[str, str]:
    token = draw(st.sampled_from(VALID_TOKENS))
    header, payload, signature = token.split(".")
    decoded_header, decoded_payload = _decoded(header), _decoded(payload)
    choice = draw(st.integers(0, 6))
    if choice == 0:  # re-sign nothing, claim another algorithm
        alg = draw(st.sampled_from(["none", "HS256", "RS256", "ES256", "PS256", "RS384"]))
        header = _encode({**decoded_header, "alg": alg})
    elif choice == 1:  # escalate a claim
        claim = draw(st.sampled_from(["sub", "aud", "iss", "exp", "scope", "jti"]))
        value = draw(st.one_of(st.text(max_size=20), st.integers(), st.none()))
        payload = _encode({**decoded_payload, claim: value})
    elif choice == 2:  # another token's signature
        signature = draw(st.sampled_from(VALID_TOKENS)).split(".")[2]
    elif choice == 3:  # another key's kid
        header = _encode({**decoded_header, "kid": draw(st.sampled_from(["fuzz-rsa", "fuzz-ec"]))})
    elif choice == 4:  # drop the signature
        signature = draw(st.sampled_from(["", "AA", signature[: len(signature) // 2]]))
    elif choice == 5:  # point at an attacker's keys
        header = _encode({**decoded_header, "jku": "https://evil.example/jwks.json"})
    else:  # swap segments around
        header, payload = payload, header
    return token, f"{header}.{payload}.{signature}"


def test_the_fuzz_authorizer_allows_the_unmutated_tokens() -> None:
    # Without this, the properties below would pass against an authorizer that allows nothing.
    for token in VALID_TOKENS:
        assert AUTHORIZER.decide(f"Bearer {token}").outcome is Outcome.ALLOW


@settings(max_examples=400, deadline=None)
@given(character_mutations())
def test_character_mutations_of_a_valid_token_never_allow(case: tuple[str, str]) -> None:
    original, mutated = case
    if mutated == original:
        return
    assert AUTHORIZER.decide(f"Bearer {mutated}").outcome is not Outcome.ALLOW


@settings(max_examples=300, deadline=None)
@given(structural_mutations())
def test_structural_mutations_of_a_valid_token_never_allow(case: tuple[str, str]) -> None:
    original, mutated = case
    if mutated == original:
        return
    assert AUTHORIZER.decide(f"Bearer {mutated}").outcome is not Outcome.ALLOW


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=200), st.binary(max_size=64), st.integers(), st.none()))
def test_arbitrary_header_values_never_allow_and_never_raise(value: Any) -> None:
    assert AUTHORIZER.decide(value).outcome is not Outcome.ALLOW
    assert AUTHORIZER.decide(f"Bearer {value}").outcome is not Outcome.ALLOW


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],  # the env is read-only here
)
@given(
    token=st.text(max_size=120),
    method_arn=st.one_of(st.text(max_size=80), st.just(METHOD_ARN)),
)
def test_the_handler_answers_any_event_with_401_or_a_policy(
    function_env: FunctionEnv, token: str, method_arn: str
) -> None:
    event = {"type": "TOKEN", "authorizationToken": token, "methodArn": method_arn}
    with contextlib.suppress(authorizer_app.Unauthorized):
        response = authorizer_app.handler(event, FakeLambdaContext())
        assert {s["Effect"] for s in response["policyDocument"]["Statement"]} == {"Deny"}
