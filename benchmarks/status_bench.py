"""Benchmark: `opsctl status` wall time against an AWS endpoint that adds latency to every call.

Starts the local emulator (moto on 127.0.0.1), builds the same world the opsctl tests use, and puts
a loopback HTTP proxy in front of it that holds every request for L ms before forwarding it: one
simulated round trip per AWS call. status makes ~9 AWS calls; because they run concurrently, its
wall time should grow by about one round trip (at most three), not by one per call.

Run: .venv/bin/python benchmarks/status_bench.py [--latencies 0,50,100,200] [--runs 7]
"""

from __future__ import annotations

import argparse
import http.client
import logging
import os
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

for _key, _value in {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}.items():
    os.environ.setdefault(_key, _value)

from opsctl.aws import AwsClients  # noqa: E402
from opsctl.sandbox.emulator import start_emulator  # noqa: E402
from opsctl.status import read_status  # noqa: E402
from tests.opsctl.conftest import build_world  # noqa: E402
from tests.support.http import LoopbackServer, QuietHandler  # noqa: E402


class LatencyProxy:
    """Loopback HTTP/1.1 proxy: sleeps `latency` seconds, then forwards the request upstream."""

    def __init__(self, upstream: str) -> None:
        self.latency = 0.0
        self.requests = 0
        self._lock = threading.Lock()
        target = urlsplit(upstream)
        proxy = self

        class Handler(QuietHandler):
            protocol_version = "HTTP/1.1"

            def _forward(self) -> None:
                with proxy._lock:
                    proxy.requests += 1
                time.sleep(proxy.latency)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                upstream_conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
                upstream_conn.request(self.command, self.path, body=body, headers=headers)
                response = upstream_conn.getresponse()
                payload = response.read()
                upstream_conn.close()
                self.send_response(response.status)
                for key, value in response.getheaders():
                    if key.lower() not in ("content-length", "connection", "transfer-encoding"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward

        self._server = LoopbackServer(Handler)
        self.url = self._server.base_url

    def stop(self) -> None:
        self._server.close()


@dataclass(frozen=True)
class Row:
    latency_ms: float
    median_s: float
    calls: int

    def growth_round_trips(self, baseline: Row) -> float:
        if self.latency_ms == 0:
            return 0.0
        return (self.median_s - baseline.median_s) / (self.latency_ms / 1000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latencies", default="0,50,100,200", help="ms per AWS call")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    latencies = [float(v) for v in args.latencies.split(",")]
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's per-request access log

    with start_emulator() as emulator, tempfile.TemporaryDirectory() as tmp:
        world = build_world(emulator.endpoint_url, Path(tmp))
        proxy = LatencyProxy(emulator.endpoint_url)
        os.environ["AWS_ENDPOINT_URL"] = proxy.url
        try:
            clients = AwsClients()  # one CLI invocation's clients; warm connections after run 1
            read_status(clients, world.topology)
            rows = []
            for latency in latencies:
                proxy.latency = latency / 1000
                times = []
                before = proxy.requests
                for _ in range(args.runs):
                    started = time.perf_counter()
                    report = read_status(clients, world.topology)
                    times.append(time.perf_counter() - started)
                    assert report.serving == "primary" and not report.errors
                calls = (proxy.requests - before) // args.runs
                rows.append(Row(latency, statistics.median(times), calls))
        finally:
            proxy.stop()
    baseline = rows[0]
    print(f"opsctl status, median of {args.runs} runs, AWS calls per status: {rows[0].calls}")
    print(
        "| latency per AWS call | status wall time | growth vs 0 ms (round trips) | if sequential |"
    )
    print("| ---: | ---: | ---: | ---: |")
    for row in rows:
        sequential = baseline.median_s + row.calls * row.latency_ms / 1000
        print(
            f"| {row.latency_ms:.0f} ms | {row.median_s * 1000:.0f} ms | "
            f"{row.growth_round_trips(baseline):.2f} | {sequential * 1000:.0f} ms |"
        )


if __name__ == "__main__":
    main()
