"""The sandbox's certificate authority: made at sandbox start, it signs the fronts' certificate.

API Gateway serves HTTPS only, with a certificate for the custom domain (the shared name) and
AWS's own for the execute-api names. The sandbox's fronts serve one certificate naming all of
them, issued by a CA made for this sandbox alone. `opsctl sandbox env` exports `SSL_CERT_FILE`
pointing at a bundle of the system's trusted CAs plus this one, so opsctl, curl and Python
verify the fronts as they would verify AWS, and nothing else is trusted less than before.
"""

from __future__ import annotations

import datetime
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_FILE = "sandbox-ca.pem"
CERT_FILE = "front-cert.pem"
KEY_FILE = "front-key.pem"
TRUST_BUNDLE_FILE = "trust-bundle.pem"
# Long enough for any sandbox's life, short enough that a leaked CA file soon means nothing.
VALIDITY = datetime.timedelta(days=7)


@dataclass(frozen=True)
class FrontCertificate:
    """Where the fronts' certificate and key are, and the bundle clients trust them with."""

    cert_file: Path
    key_file: Path
    trust_bundle: Path


_CA_KEY_USAGE = x509.KeyUsage(
    digital_signature=False, content_commitment=False, key_encipherment=False,
    data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
    encipher_only=False, decipher_only=False,
)  # fmt: skip


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def system_ca_file() -> Path | None:
    """The system's trusted CAs as one PEM file (OpenSSL's default), when there is one."""
    paths = ssl.get_default_verify_paths()
    for candidate in (paths.openssl_cafile, paths.cafile):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


def issue_front_certificate(directory: Path, names: Iterable[str]) -> FrontCertificate:
    """A new CA and, signed by it, one certificate for every name in `names`; the files are
    written into `directory` (the key owner-only) with the trust bundle beside them."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name(f"opsctl sandbox CA {now:%Y-%m-%d %H:%M:%S}")
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_CA_KEY_USAGE, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    dns_names = sorted({name.lower().rstrip(".") for name in names})
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(dns_names[0]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in dns_names]), False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    ca_pem = ca.public_bytes(serialization.Encoding.PEM)
    (directory / CA_FILE).write_bytes(ca_pem)
    cert_file = directory / CERT_FILE
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file = directory / KEY_FILE
    key_file.touch(mode=0o600)
    key_file.chmod(0o600)
    key_file.write_bytes(_pem_key(key))
    # SSL_CERT_FILE replaces OpenSSL's default CA file: the bundle keeps the system's CAs in it.
    system = system_ca_file()
    bundle = (system.read_bytes().rstrip(b"\n") + b"\n" if system else b"") + ca_pem
    trust_bundle = directory / TRUST_BUNDLE_FILE
    trust_bundle.write_bytes(bundle)
    return FrontCertificate(cert_file, key_file, trust_bundle)


def server_context(cert_file: Path, key_file: Path) -> ssl.SSLContext:
    """The fronts' TLS settings: TLS 1.2 or later, as API Gateway's default security policy."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_file, key_file)
    return context
