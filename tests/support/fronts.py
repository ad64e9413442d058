"""Each Region's HTTPS front doors for the shared name, on loopback, as API Gateway's look.

Several addresses per Region, all on one port (the topology's `httpsPort`), serving HTTPS with a
certificate for the shared name from a CA made for the test: trusted once `SSL_CERT_FILE` names
`trust_bundle`. The signed health route (`GET .../health/signed`) answers the Region's health
JSON (it names `region`) to a request signed, as API Gateway checks it, with the environment's
credentials for that Region; anything else is refused 403. A Region can be black-holed:
connections are accepted, and nothing answers.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

from botocore.credentials import ReadOnlyCredentials

from opsctl.read.signing import HealthSigner
from opsctl.sandbox.front.server import TlsHttpServer
from opsctl.sandbox.front.sigv4 import MISSING_TOKEN, check_signature
from opsctl.sandbox.supervisor.region_front import address_of, bind_front_listeners
from opsctl.sandbox.tls_ca import issue_front_certificate, server_context
from stack_topology import SIGNED_HEALTH_PATH
from tests.support.http import QuietHandler


def environment_credentials() -> ReadOnlyCredentials:
    """What opsctl signs with in the tests (tests/conftest.py sets them)."""
    return ReadOnlyCredentials(
        os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"], None
    )


SIGNER = HealthSigner(environment_credentials)


class HttpsFronts:
    """`regions` (role -> Region) each on its own loopback addresses: `own[role]` is what the
    Region's API names resolve to, `doors[role]` what the shared name is answered with."""

    def __init__(self, directory: Path, shared_name: str, regions: dict[str, str]) -> None:
        certificate = issue_front_certificate(directory, [shared_name])
        self.trust_bundle = str(certificate.trust_bundle)
        tls = server_context(certificate.cert_file, certificate.key_file)
        self.requests: dict[str, int] = {}  # address -> /health requests served
        self.silent: set[str] = set()  # roles whose addresses accept and never answer
        self._released = threading.Event()
        listeners = bind_front_listeners(list(regions.values()))
        self.port = int(next(iter(listeners.values()))[0].getsockname()[1])
        self.own: dict[str, str] = {}
        self.doors: dict[str, list[str]] = {}
        self._servers: list[TlsHttpServer] = []
        fronts = self
        for role, region in regions.items():
            bound = listeners[region]
            self.own[role] = address_of(bound[0]).rsplit(":", 1)[0]
            self.doors[role] = [address_of(b).rsplit(":", 1)[0] for b in bound[1:]]

            class Handler(QuietHandler):
                def do_GET(self, role: str = role, region: str = region) -> None:
                    if role in fronts.silent:
                        fronts._released.wait(30)
                        return
                    refusal = MISSING_TOKEN
                    if self.path.endswith(SIGNED_HEALTH_PATH):
                        refusal = check_signature(
                            "GET",
                            self.path,
                            dict(self.headers.items()),
                            b"",
                            environment_credentials(),
                            region,
                        )
                    if refusal is not None:
                        self.reply(403, json.dumps({"message": refusal.message}).encode())
                        return
                    address = self.server.server_address[0]
                    fronts.requests[address] = fronts.requests.get(address, 0) + 1
                    body = json.dumps({"status": "healthy", "region": region}).encode()
                    self.reply(200, body, "application/json")

            for listener in bound:
                server = TlsHttpServer(listener.getsockname()[:2], Handler, False)
                server.socket.close()
                server.socket = listener
                server.daemon_threads = True
                server.tls = tls
                threading.Thread(target=server.serve_forever, daemon=True).start()
                self._servers.append(server)

    def close(self) -> None:
        self._released.set()
        for server in self._servers:
            server.shutdown()
            server.server_close()
