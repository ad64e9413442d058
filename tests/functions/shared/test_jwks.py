"""Signing keys: JWKS parsing, the cache's TTL, rotation refetch, rate limits and the pinned
fallback, against a JWKS endpoint served on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from threading import Thread
from typing import Any

import pytest

from functions.shared.jwks import (
    JwksCache,
    JwksError,
    KeySource,
    KeysUnavailable,
    fetch_jwks,
    key_cache_for,
    parse_jwks,
)
from functions.shared.settings import AuthSettings, ConfigurationError, validate_jwks_uri
from tests.functions.support import (
    FakeClock,
    JwksServer,
    SigningKey,
    jwks_document,
    rsa_key,
)
from tests.support.http import LoopbackServer, QuietHandler


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(now=1000.0)


def cache_for(jwks: JwksServer, clock: FakeClock, **kwargs: Any) -> JwksCache:
    return JwksCache(jwks.url, clock=clock, **kwargs)


# --- parsing -------------------------------------------------------------------------------


def test_only_rs256_and_es256_public_signing_keys_are_usable(
    rs_key: SigningKey, es_key: SigningKey
) -> None:
    weak = rsa_key("weak", bits=1024)
    entries = [
        rs_key.public_jwk,
        es_key.public_jwk,
        {**rs_key.public_jwk, "kid": "enc", "use": "enc"},
        {**rs_key.public_jwk, "kid": "rs512", "alg": "RS512"},
        {**es_key.public_jwk, "kid": "mislabelled", "alg": "RS256"},
        {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0", "alg": "HS256"},
        {**weak.public_jwk},
        {**rs_key.public_jwk, "kid": "private", "d": "AQAB"},
        {**rs_key.public_jwk, "kid": None},
        {"kty": "EC", "kid": "p384", "crv": "P-384", "x": "AA", "y": "AA"},
        {"kty": "RSA", "kid": "broken", "n": "!!", "e": "AQAB"},
        "not an object",
    ]
    keys = parse_jwks(json.dumps({"keys": entries}))
    assert set(keys) == {rs_key.kid, es_key.kid}
    assert keys[rs_key.kid].algorithm_name == "RS256"
    assert keys[es_key.kid].algorithm_name == "ES256"


def test_a_key_type_or_curve_that_is_not_a_string_skips_that_entry(
    rs_key: SigningKey, es_key: SigningKey
) -> None:
    entries = [
        rs_key.public_jwk,
        {**rs_key.public_jwk, "kid": "listed-type", "kty": ["RSA"]},
        {**es_key.public_jwk, "kid": "object-curve", "crv": {"name": "P-256"}},
    ]
    assert set(parse_jwks(json.dumps({"keys": entries}))) == {rs_key.kid}


@pytest.mark.parametrize("document", ["", "[]", '{"keys": {}}', '{"keys": []}', "not json"])
def test_a_document_without_usable_keys_is_an_error(document: str) -> None:
    with pytest.raises(JwksError):
        parse_jwks(document)


def test_duplicate_kids_keep_the_first(rs_key: SigningKey) -> None:
    other = rsa_key(rs_key.kid)
    keys = parse_jwks(json.dumps({"keys": [rs_key.public_jwk, other.public_jwk]}))
    assert keys[rs_key.kid].key.public_numbers() == (
        rs_key.private_key.public_key().public_numbers()
    )


# --- settings: where keys may come from ----------------------------------------------------


@pytest.mark.parametrize(
    "uri",
    [
        "https://idp.example.com/.well-known/jwks.json",
        "http://127.0.0.1:8080/jwks.json",
        "http://localhost/jwks.json",
    ],
)
def test_https_or_loopback_http_jwks_uris_are_accepted(uri: str) -> None:
    assert validate_jwks_uri(uri) == uri


@pytest.mark.parametrize(
    "uri",
    [
        "http://idp.example.com/jwks.json",
        "http://127.0.0.1.evil.example/jwks.json",
        "ftp://idp.example.com/jwks.json",
        "file:///etc/passwd",
        "https:///jwks.json",
        "idp.example.com/jwks.json",
    ],
)
def test_other_jwks_uris_are_a_configuration_error(uri: str) -> None:
    with pytest.raises(ConfigurationError, match="AUTH_JWKS_URI"):
        validate_jwks_uri(uri)


def test_an_unusable_pinned_jwks_is_a_configuration_error() -> None:
    auth = AuthSettings(
        issuers=frozenset({"https://idp.example.com/"}),
        audience="game-api",
        jwks_uri="https://idp.example.com/jwks.json",
        jwks_pinned='{"keys": [{"kty": "oct", "kid": "x", "k": "c2VjcmV0"}]}',
    )
    with pytest.raises(ConfigurationError, match="AUTH_JWKS_PINNED"):
        key_cache_for(auth, deadline=1.0)


# --- fetching -------------------------------------------------------------------------------


def test_fetch_reads_the_document(jwks: JwksServer) -> None:
    assert json.loads(fetch_jwks(jwks.url, deadline=2))["keys"]


def test_fetch_fails_cleanly_on_http_errors_and_refused_connections(jwks: JwksServer) -> None:
    jwks.go_down()
    with pytest.raises(JwksError, match="HTTPError"):
        fetch_jwks(jwks.url, deadline=2)
    with pytest.raises(JwksError):
        fetch_jwks("http://127.0.0.1:9/jwks.json", deadline=2)  # discard port: refused


def test_fetch_refuses_redirects() -> None:
    class Redirect(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(302)
            self.send_header("Location", "http://127.0.0.1:9/elsewhere")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Redirect)
    Thread(target=server.handle_request, daemon=True).start()
    try:
        with pytest.raises(JwksError, match="redirect"):
            fetch_jwks(f"http://127.0.0.1:{server.server_address[1]}/jwks.json", deadline=2)
    finally:
        server.server_close()


DEADLINE = 0.6


@pytest.fixture
def trickling_jwks() -> Iterator[str]:
    """A JWKS endpoint that sends its body one byte every 0.2 s: every socket read succeeds
    well within any per-operation timeout, the whole response takes 4 s."""

    class Trickle(QuietHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "20")
            self.end_headers()
            try:
                for _ in range(20):
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(0.2)
            except OSError:  # the client gave up
                pass

    server = LoopbackServer(Trickle)
    yield f"{server.base_url}/.well-known/jwks.json"
    server.close()


@pytest.fixture
def hung_resolver(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Name resolution that never answers (getaddrinfo itself has no timeout)."""
    release = threading.Event()

    def never_answers(*args: Any, **kwargs: Any) -> Any:
        release.wait(5)  # bounded, so a fetch without a deadline fails instead of hanging
        raise socket.gaierror("resolver gave up")

    monkeypatch.setattr(socket, "getaddrinfo", never_answers)
    yield
    release.set()  # let the abandoned fetch thread finish


def test_a_trickling_server_cannot_hold_the_fetch_past_its_deadline(trickling_jwks: str) -> None:
    started = time.monotonic()
    with pytest.raises(JwksError, match="deadline"):
        fetch_jwks(trickling_jwks, deadline=DEADLINE)
    assert time.monotonic() - started < DEADLINE + 0.3


@pytest.mark.usefixtures("hung_resolver")
def test_a_hung_name_resolution_cannot_hold_the_fetch_past_its_deadline() -> None:
    started = time.monotonic()
    with pytest.raises(JwksError, match="deadline"):
        fetch_jwks("http://localhost:9/.well-known/jwks.json", deadline=DEADLINE)
    assert time.monotonic() - started < DEADLINE + 0.3


# --- the cache --------------------------------------------------------------------------------


def test_keys_are_fetched_once_and_reused_until_the_ttl(
    jwks: JwksServer, clock: FakeClock, rs_key: SigningKey
) -> None:
    cache = cache_for(jwks, clock, ttl=600)
    assert cache.find(rs_key.kid) is not None
    clock.advance(599)
    assert cache.find(rs_key.kid) is not None
    assert jwks.requests == 1
    clock.advance(1)
    assert cache.current().source is KeySource.REMOTE
    assert jwks.requests == 2


def test_an_unknown_kid_triggers_one_refetch_so_rotation_needs_no_redeploy(
    jwks: JwksServer, clock: FakeClock, rs_key: SigningKey, rotated_key: SigningKey
) -> None:
    cache = cache_for(jwks, clock, refetch_interval=30)
    assert cache.find(rs_key.kid) is not None
    jwks.publish(rs_key, rotated_key)  # the identity provider rotates
    assert cache.find(rotated_key.kid) is not None
    assert jwks.requests == 2


def test_unknown_kid_refetches_are_rate_limited(
    jwks: JwksServer, clock: FakeClock, rotated_key: SigningKey
) -> None:
    cache = cache_for(jwks, clock, refetch_interval=30)
    for forged in range(20):
        assert cache.find(f"forged-{forged}") is None
    assert jwks.requests == 2  # the initial load plus one refetch
    jwks.publish(rotated_key)
    clock.advance(29)
    assert cache.find(rotated_key.kid) is None
    clock.advance(1)
    assert cache.find(rotated_key.kid) is not None
    assert jwks.requests == 3


def test_pinned_keys_are_used_when_the_endpoint_is_down_at_cold_start(
    jwks: JwksServer, clock: FakeClock, rs_key: SigningKey
) -> None:
    jwks.go_down()
    cache = cache_for(jwks, clock, pinned=parse_jwks(jwks_document(rs_key)))
    assert cache.current().source is KeySource.PINNED
    assert cache.find(rs_key.kid) is not None


def test_failed_fetches_back_off_instead_of_fetching_per_request(
    jwks: JwksServer, clock: FakeClock, rs_key: SigningKey
) -> None:
    jwks.go_down()
    cache = cache_for(jwks, clock, pinned=parse_jwks(jwks_document(rs_key)), retry_interval=30)
    for _ in range(10):
        cache.find(rs_key.kid)
        cache.find("unknown")
    assert jwks.requests == 1
    jwks.publish(rs_key)
    clock.advance(30)
    assert cache.current().source is KeySource.REMOTE
    assert jwks.requests == 2


def test_cached_keys_outlive_a_failed_refresh(
    jwks: JwksServer, clock: FakeClock, rs_key: SigningKey, es_key: SigningKey
) -> None:
    # Pinned holds only the RSA key: if the cache fell back to it, the EC key would vanish.
    cache = cache_for(jwks, clock, pinned=parse_jwks(jwks_document(rs_key)), ttl=600)
    assert cache.find(es_key.kid) is not None
    jwks.go_down()
    clock.advance(3600)
    key_set = cache.current()
    assert key_set.source is KeySource.REMOTE
    assert es_key.kid in key_set.keys


def test_remote_keys_replace_pinned_ones_so_a_withdrawn_key_stops_working(
    jwks: JwksServer, clock: FakeClock, rs_key: SigningKey, es_key: SigningKey
) -> None:
    cache = cache_for(jwks, clock, pinned=parse_jwks(jwks_document(rs_key, es_key)))
    jwks.publish(es_key)  # the provider withdrew the RSA key
    assert cache.find(rs_key.kid) is None


def test_no_keys_at_all_is_reported(jwks: JwksServer, clock: FakeClock) -> None:
    jwks.go_down()
    with pytest.raises(KeysUnavailable):
        cache_for(jwks, clock).current()
