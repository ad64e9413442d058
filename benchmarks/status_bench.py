"""Benchmark: `opsctl status` wall time against an AWS endpoint that adds latency to every call.

Starts the local emulator (moto on 127.0.0.1), builds the same world the opsctl tests use, and puts
a loopback HTTP proxy in front of it that holds every request for L ms before forwarding it: one
simulated round trip per AWS call. status makes ~9 AWS calls; because they run concurrently, its
wall time should grow by about one round trip (at most three), not by one per call.

Two outage cases follow, with the shared fault proxy holding every request signed for us-east-1
(a black hole: Route 53's control plane, us-east-1 CloudWatch and STS's global endpoint with it):

- `opsctl status` run as the operator runs it (a new process) must print the secondary's view
  within 5 s;
- a lever failover (`failover --via auto`): opsctl's own time beyond waiting for the alarm and the
  DNS answers (approval to lever engaged, plus anything after the DNS confirmation) must stay under
  1 s. The alarm is evaluated, and DNS answered, by the test data plane as soon as the datapoint
  lands, so the confirmation waits here are the emulator's, not CloudWatch's minute.

Run: .venv/bin/python benchmarks/status_bench.py [--latencies 0,50,100,200] [--runs 7]
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import os
import statistics
import subprocess
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
from opsctl.change.audit import AuditLog  # noqa: E402
from opsctl.change.lever_apply import apply_lever  # noqa: E402
from opsctl.change.lever_plan import LeverPlan  # noqa: E402
from opsctl.change.routing import plan_failover_via  # noqa: E402
from opsctl.model import Approval, Via  # noqa: E402
from opsctl.read.status import read_status  # noqa: E402
from opsctl.sandbox.emulator import Emulator, start_emulator  # noqa: E402
from opsctl.sandbox.faults.proxy import Fault, FaultProxy  # noqa: E402
from opsctl.topology import load_topology_file  # noqa: E402
from tests.opsctl.dataplane import DataPlane  # noqa: E402
from tests.opsctl.world import build_world  # noqa: E402
from tests.support.fronts import HttpsFronts  # noqa: E402
from tests.support.http import LoopbackServer, QuietHandler  # noqa: E402
from tests.support.stack import RECORD_NAME, REGIONS  # noqa: E402


class LatencyProxy:
    """Loopback HTTP/1.1 proxy: sleeps `latency` seconds, then forwards the request upstream."""

    def __init__(self, upstream: str) -> None:
        self.latency = 0.0
        self.requests = 0
        self._lock = threading.Lock()
        target = urlsplit(upstream)
        if target.hostname is None:
            raise ValueError(f"not an upstream URL: {upstream!r}")
        upstream_host, upstream_port = target.hostname, target.port
        proxy = self

        class Handler(QuietHandler):
            protocol_version = "HTTP/1.1"

            def _forward(self) -> None:
                with proxy._lock:
                    proxy.requests += 1
                time.sleep(proxy.latency)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                upstream_conn = http.client.HTTPConnection(upstream_host, upstream_port, timeout=30)
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


STATUS_TARGET_S = 5.0
OVERHEAD_TARGET_S = 1.0


def black_holed_status(emulator: Emulator, runs: int) -> list[float]:
    """Wall times of `opsctl status` (what the command does once started: fresh clients, the
    topology file, every read, the JSON document) with every us-east-1 request held."""
    times = []
    for _ in range(runs):
        emulator.reset()
        with tempfile.TemporaryDirectory() as tmp, FaultProxy(emulator.endpoint_url) as proxy:
            world = build_world(emulator.endpoint_url, Path(tmp))
            proxy.set_fault("us-east-1", Fault.HANG)
            os.environ["AWS_ENDPOINT_URL"] = proxy.url
            started = time.perf_counter()
            status = read_status(AwsClients(), load_topology_file(world.topology_path)).to_json()
            json.dumps(status)
            times.append(time.perf_counter() - started)
            secondary = status["regions"][1]
            assert "records" in status["unreadable"], status["unreadable"]
            assert secondary["failureSwitch"] == "healthy" and status["lever"]["state"]
            world.close()
    return times


def process_start() -> float:
    """Seconds for `python -m opsctl --help`: the interpreter and imports, before any AWS call."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "opsctl", "--help"], capture_output=True, check=True)
    return time.perf_counter() - started


@dataclass(frozen=True)
class LeverRun:
    plan_s: float  # the status read and preflight (us-east-1 reads held until the deadline)
    overhead_s: float  # approval to lever engaged, plus the time after DNS confirmed
    alarm_s: float  # approval to the alarm reading ALARM
    dns_s: float  # approval to every DNS answer naming the secondary


def lever_failover(emulator: Emulator, runs: int) -> list[LeverRun]:
    results = []
    for _ in range(runs):
        emulator.reset()
        with tempfile.TemporaryDirectory() as tmp, FaultProxy(emulator.endpoint_url) as proxy:
            world = build_world(emulator.endpoint_url, Path(tmp))
            # Each Region's HTTPS front doors: DNS answers are classified by asking them.
            fronts = HttpsFronts(Path(tmp) / "tls", RECORD_NAME.rstrip("."), REGIONS)
            os.environ["SSL_CERT_FILE"] = fronts.trust_bundle
            plane = DataPlane(world, fronts, emulator.health_checks, interval=0.02)
            world.set_topology(
                {
                    **world.topology_document,
                    "nameServers": [plane.server.address],
                    "httpsPort": fronts.port,
                }
            )
            proxy.set_fault("us-east-1", Fault.HANG)
            os.environ["AWS_ENDPOINT_URL"] = proxy.url
            clients = AwsClients()
            started = time.perf_counter()
            plan = plan_failover_via(clients, world.topology, Via.AUTO)
            planned = time.perf_counter()
            assert isinstance(plan, LeverPlan), plan
            approval = Approval(reason="benchmark", force=True)  # measure, whatever load says
            result = apply_lever(
                clients,
                world.topology,
                plan,
                approval,
                AuditLog(Path(tmp) / "audit.jsonl"),
                timeout=60,
            )
            done = time.perf_counter() - approval.approved_at
            assert result.approval_to_dns_seconds is not None
            results.append(
                LeverRun(
                    plan_s=planned - started,
                    overhead_s=result.approval_to_lever_seconds
                    + (done - result.approval_to_dns_seconds),
                    alarm_s=result.approval_to_alarm_seconds,
                    dns_s=result.approval_to_dns_seconds,
                )
            )
            plane.close()
            fronts.close()
            world.close()
    return results


def outage_report(emulator: Emulator, runs: int) -> None:
    times = black_holed_status(emulator, runs)
    verdict = "ok" if max(times) <= STATUS_TARGET_S else "OVER TARGET"
    print()
    print(f"us-east-1 black-holed, `opsctl status --json` as a new process, {runs} runs:")
    print(
        f"median {statistics.median(times):.2f} s, max {max(times):.2f} s "
        f"(target <= {STATUS_TARGET_S:.0f} s: {verdict})"
    )
    lever_runs = lever_failover(emulator, runs)
    print()
    print(f"lever failover with us-east-1 black-holed, {runs} runs (medians):")
    print("| plan (status + preflight) | opsctl overhead | approval to ALARM | approval to DNS |")
    print("| ---: | ---: | ---: | ---: |")

    def median(values: list[float]) -> float:
        return statistics.median(values)

    overhead = median([r.overhead_s for r in lever_runs])
    print(
        f"| {median([r.plan_s for r in lever_runs]):.2f} s | {overhead:.2f} s | "
        f"{median([r.alarm_s for r in lever_runs]):.2f} s | "
        f"{median([r.dns_s for r in lever_runs]):.2f} s |"
    )
    verdict = "ok" if overhead < OVERHEAD_TARGET_S else "OVER TARGET"
    print(f"opsctl overhead target < {OVERHEAD_TARGET_S:.0f} s: {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latencies", default="0,50,100,200", help="ms per AWS call")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--outage-runs", type=int, default=3, help="runs of each outage case")
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
            world.close()
        os.environ.pop("AWS_ENDPOINT_URL", None)
        outage = args.outage_runs
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
    if outage:
        with start_emulator() as emulator:
            outage_report(emulator, outage)


if __name__ == "__main__":
    main()
