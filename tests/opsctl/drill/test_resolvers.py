"""`--dns authoritative`: the zone's name servers asked directly, each answer kept for its TTL,
and HTTPS to the answered address with the hostname as TLS server name (the certificate is
checked against the hostname, not the address)."""

from __future__ import annotations

import datetime
import http.server
import ipaddress
import json
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from opsctl.drill.resolvers import SYSTEM_CACHE_SECONDS, AuthoritativeResolver, SystemResolver
from opsctl.errors import AwsError
from opsctl.read.probe import Endpoint, call_api
from tests.support.dns import LoopbackDnsServer

pytestmark = pytest.mark.unit
HOSTNAME = "auth.example.com"


def certificate(tmp_path: Path, name: str) -> tuple[Path, Path]:
    """A self-signed certificate for `name` (no IP address in it) and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@dataclass(frozen=True)
class Fixed:
    """A resolver that always gives one endpoint (the test server's port)."""

    endpoint: Endpoint

    def resolve(self, hostname: str) -> Endpoint:
        return self.endpoint


class WhoAmI(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"region": "us-west-2", "host": self.headers["Host"]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def https_api(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """An HTTPS server on 127.0.0.1 whose certificate names only the shared hostname."""
    cert, key = certificate(tmp_path, HOSTNAME)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), WhoAmI)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], cert
    server.shutdown()
    server.server_close()


def test_answers_are_kept_for_their_ttl_then_asked_again() -> None:
    asked: list[str] = []
    addresses = ["192.0.2.10"]

    def answer(name: str) -> list[str]:
        asked.append(name)
        return list(addresses)

    server = LoopbackDnsServer(answer)
    try:
        host, port = server.address.split(":")
        now = [100.0]
        resolver = AuthoritativeResolver([(host, int(port))], clock=lambda: now[0])
        assert resolver.lookup(HOSTNAME) == "192.0.2.10"
        addresses[0] = "198.51.100.10"  # the weights moved
        now[0] += 59  # inside the answer's 60 s TTL: the player still goes to the primary
        assert resolver.lookup(HOSTNAME) == "192.0.2.10"
        now[0] += 2  # past it
        assert resolver.lookup(HOSTNAME) == "198.51.100.10"
        assert asked == [HOSTNAME, HOSTNAME]
    finally:
        server.close()


def test_https_to_the_address_checks_the_certificate_against_the_hostname(
    https_api: tuple[int, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    port, cert = https_api
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # trust the test's self-signed certificate
    server = LoopbackDnsServer(lambda name: ["127.0.0.1"] if name == HOSTNAME else None)
    try:
        host, dns_port = server.address.split(":")
        resolver = AuthoritativeResolver([(host, int(dns_port))])
        endpoint = resolver.resolve(HOSTNAME)
        assert endpoint.address and ipaddress.ip_address(endpoint.address).is_loopback
        at_port = replace(endpoint, base_url=f"{endpoint.base_url}:{port}")
        served = call_api(HOSTNAME, Fixed(at_port))
        assert (served.status, served.region) == (200, "us-west-2"), served.error
        assert served.body is not None and served.body["host"] == HOSTNAME
        # Without the hostname for TLS the same certificate does not hold for the address.
        by_address = replace(at_port, base_url=f"https://{endpoint.address}:{port}", address=None)
        refused = call_api(HOSTNAME, Fixed(by_address))
        assert refused.status is None and "CERTIFICATE_VERIFY_FAILED" in (refused.error or "")
    finally:
        server.close()


def test_the_system_resolver_keeps_an_address_briefly_as_a_client_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[tuple[str, int]] = []
    addresses = ["192.0.2.10"]

    def getaddrinfo(name: str, port: int, **_: object) -> list[tuple[object, ...]]:
        asked.append((name, port))
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (addresses[0], port))]

    monkeypatch.setattr("opsctl.drill.resolvers.socket.getaddrinfo", getaddrinfo)
    now = [100.0]
    resolver = SystemResolver(port=8443, clock=lambda: now[0])
    endpoint = resolver.resolve(HOSTNAME + ".")
    assert endpoint == Endpoint(f"https://{HOSTNAME}:8443", HOSTNAME, address="192.0.2.10")
    addresses[0] = "198.51.100.10"  # the weights moved
    now[0] += SYSTEM_CACHE_SECONDS - 1  # still cached: the player stays where it was
    assert resolver.lookup(HOSTNAME) == "192.0.2.10"
    now[0] += 2  # past the cache: asked again, and follows
    assert resolver.lookup(HOSTNAME) == "198.51.100.10"
    assert asked == [(HOSTNAME, 8443), (HOSTNAME, 8443)]


def test_a_system_resolver_failure_is_one_line_naming_the_host(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def getaddrinfo(*_: object, **__: object) -> list[tuple[object, ...]]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr("opsctl.drill.resolvers.socket.getaddrinfo", getaddrinfo)
    with pytest.raises(AwsError, match=f"^this machine's resolver did not answer {HOSTNAME}: "):
        SystemResolver().resolve(HOSTNAME)
