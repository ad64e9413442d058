"""The front's process: HTTPS on the sockets the supervisor bound (one per address), and its
`main`."""

from __future__ import annotations

import argparse
import os
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3

from opsctl.periodic import PeriodicWorker
from opsctl.sandbox.front.api import Front
from opsctl.sandbox.front.lambda_endpoint import LambdaEndpoint
from opsctl.sandbox.front.lambda_runtime import LambdaRuntime
from opsctl.sandbox.front.metrics import MetricsPublisher
from opsctl.sandbox.front.spec import FrontSpec
from opsctl.sandbox.tls_ca import server_context

# Seconds a client has to complete the TLS handshake: one that connects and sends nothing holds
# only its own connection's thread, and only this long.
HANDSHAKE_TIMEOUT_SECONDS = 5.0


class TlsHttpServer(ThreadingHTTPServer):
    """A threading HTTP server that does each TLS handshake in the connection's own thread (in
    `accept` it would let one silent client stall every other)."""

    tls: ssl.SSLContext | None = None

    def finish_request(self, request: Any, client_address: Any) -> None:
        if self.tls is not None:
            request.settimeout(HANDSHAKE_TIMEOUT_SECONDS)
            try:
                request = self.tls.wrap_socket(request, server_side=True)
            except (OSError, ssl.SSLError):
                request.close()  # a failed handshake is the client's to see, not the log's
                return
            request.settimeout(None)
        super().finish_request(request, client_address)


def make_server(
    front: Front, listening_socket: socket.socket, tls: ssl.SSLContext | None = None
) -> ThreadingHTTPServer:
    """An HTTP server for `front` on an already bound and listening socket; HTTPS with `tls`."""

    class RequestHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {name: value for name, value in self.headers.items()}
            response = front.handle(self.command, self.path, headers, body, self.client_address[0])
            self.send_response(response.status)
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            self.wfile.write(response.body)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass  # request volume would drown the sandbox log; failures are printed in Front

    server = TlsHttpServer(
        listening_socket.getsockname()[:2], RequestHandler, bind_and_activate=False
    )
    server.socket.close()
    server.socket = listening_socket
    server.daemon_threads = True
    server.tls = tls
    return server


def exit_when_orphaned(parent_pid: int, poll_seconds: float = 0.5) -> None:
    """Stop this process when its supervisor is gone, so no front outlives the sandbox."""

    def watch() -> None:
        if os.getppid() != parent_pid:
            os._exit(0)

    PeriodicWorker("orphan-watch", watch, poll_seconds).start()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("spec", type=Path, help="the FrontSpec JSON file")
    parser.add_argument(
        "--fd",
        type=int,
        action="append",
        required=True,
        help="an inherited listening socket fd (once per address the Region answers on)",
    )
    parser.add_argument("--tls-cert", type=Path, required=True, help="the certificate (PEM)")
    parser.add_argument("--tls-key", type=Path, required=True, help="its private key (PEM)")
    parser.add_argument(
        "--supervisor-pid",
        type=int,
        required=True,
        help="the supervisor's pid (given, not read: it may have died before this line runs)",
    )
    args = parser.parse_args(argv)
    exit_when_orphaned(args.supervisor_pid)
    spec = FrontSpec.from_json(args.spec.read_text())
    spec.enter_region()
    listening_sockets = [socket.socket(fileno=fd) for fd in args.fd]
    tls = server_context(args.tls_cert, args.tls_key)
    metrics = MetricsPublisher(boto3.client("cloudwatch", region_name=spec.region))
    metrics.start()
    # The scheduled functions run beside the front (front/schedule.py), not behind its routes.
    scheduled = spec.scheduled_functions()
    routed = [function for function in spec.functions if function not in scheduled]
    runtime = LambdaRuntime(routed, spec.region, spec.account_id, metrics)
    # This Region's Lambda Invoke API, for a function that invokes another (moto's Invoke
    # needs Docker): botocore sends the functions' Lambda calls here.
    lambda_endpoint = LambdaEndpoint(
        runtime.invoke_from_function, {f.name: f.aliases for f in routed}
    )
    os.environ["AWS_ENDPOINT_URL_LAMBDA"] = lambda_endpoint.url
    runtime.preload()
    front = Front(spec, runtime, metrics)
    servers = [make_server(front, listening, tls) for listening in listening_sockets]
    for server in servers[1:]:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    addresses = ", ".join(":".join(map(str, s.getsockname()[:2])) for s in listening_sockets)
    print(f"front {spec.region} serving HTTPS on {addresses}", flush=True)
    try:
        servers[0].serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        for server in servers:
            server.server_close()
        lambda_endpoint.close()
        metrics.stop()
