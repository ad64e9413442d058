"""The front's process: HTTP on the socket the supervisor bound, and its `main`."""

from __future__ import annotations

import argparse
import os
import socket
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3

from opsctl.periodic import PeriodicWorker
from opsctl.sandbox.front.api import Front
from opsctl.sandbox.front.lambda_runtime import LambdaRuntime
from opsctl.sandbox.front.metrics import MetricsPublisher
from opsctl.sandbox.front.spec import FrontSpec


def make_server(front: Front, listening_socket: socket.socket) -> ThreadingHTTPServer:
    """An HTTP server for `front` on an already bound and listening socket."""

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

    server = ThreadingHTTPServer(
        listening_socket.getsockname()[:2], RequestHandler, bind_and_activate=False
    )
    server.socket.close()
    server.socket = listening_socket
    server.daemon_threads = True
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
    parser.add_argument("--fd", type=int, required=True, help="inherited listening socket fd")
    parser.add_argument(
        "--supervisor-pid",
        type=int,
        required=True,
        help="the supervisor's pid (given, not read: it may have died before this line runs)",
    )
    args = parser.parse_args(argv)
    exit_when_orphaned(args.supervisor_pid)
    spec = FrontSpec.from_json(args.spec.read_text())
    os.environ.update(
        {
            "AWS_REGION": spec.region,
            "AWS_DEFAULT_REGION": spec.region,
            "AWS_ENDPOINT_URL": spec.endpoint_url,
        }
    )
    listening_socket = socket.socket(fileno=args.fd)
    metrics = MetricsPublisher(boto3.client("cloudwatch", region_name=spec.region))
    metrics.start()
    # The scheduled functions run beside the front (front/schedule.py), not behind its routes.
    scheduled = spec.scheduled_functions()
    routed = [function for function in spec.functions if function not in scheduled]
    runtime = LambdaRuntime(routed, spec.region, spec.account_id, metrics)
    runtime.preload()
    server = make_server(Front(spec, runtime, metrics), listening_socket)
    print(f"front {spec.region} serving on {listening_socket.getsockname()[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        metrics.stop()
