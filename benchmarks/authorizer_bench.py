"""Authorizer performance: the warm path vs PyJWT's jwt.decode, and the cold start vs its floor.

Warm: the real handler (`functions.authorizer.app.handler`) with a real TOKEN event, distinct
valid tokens, keys from a JWKS on 127.0.0.1 and the revocation list from DynamoDB in the local
emulator (both loaded once, as in a warm Lambda). stdout is what Lambda gives a function: a pipe
read by another process (the log service), written through on every write as Lambda's Python
runtime does, and set up before the handler module is imported. Baseline: `jwt.decode` of the
same tokens with the same checks (key, algorithm, audience, issuer), interleaved with the handler
so machine noise hits both alike. Target: median ratio <= 1.5.

Cold: in a fresh interpreter, import the handler module and create the DynamoDB client it needs,
against the irreducible floor `import jwt, jwt.algorithms, boto3` plus that client; the two are
interleaved, median of runs. Target: ratio <= 1.2. The other handlers' imports are listed too.

Run: .venv/bin/python benchmarks/authorizer_bench.py [--tokens N] [--imports N]
Prints markdown tables; exits 1 if a ratio is over its target.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, cast

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

import jwt  # noqa: E402

from tests.functions.support import (  # noqa: E402
    AUDIENCE,
    ISSUER,
    METHOD_ARN,
    FakeLambdaContext,
    JwksServer,
    SigningKey,
    claims,
    ec_key,
    rsa_key,
)
from tests.support.aws import create_state_table  # noqa: E402

WARM_TARGET = 1.5
COLD_TARGET = 1.2
TABLE_NAME = "bench-state"
REGION = "us-east-1"
HANDLER_MODULES = ("functions.authorizer.app", "functions.health.app", "functions.api.app")
# The authorizer's cold start and its floor, each in a fresh interpreter (same client settings
# as functions/shared/aws.py would not change the floor: client creation is the same work).
COLD_PROBES = {
    "handler": (
        "import functions.authorizer.app\n"
        "from functions.shared import aws\n"
        f"aws.client('dynamodb', {REGION!r}, aws.REQUEST_PATH)"
    ),
    "baseline": (
        f"import jwt, jwt.algorithms, boto3\nboto3.client('dynamodb', region_name={REGION!r})"
    ),
}


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


class LambdaStdout:
    """Lambda's Python runtime wraps stdout so that every write is flushed to the log pipe."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream

    def close(self) -> None:
        self._stream.close()

    def write(self, text: str) -> int:
        written = self._stream.write(text)
        self._stream.flush()
        return written

    def flush(self) -> None:
        self._stream.flush()


@contextlib.contextmanager
def stdout_on_a_pipe() -> Iterator[None]:
    """This process's stdout is a pipe that another process drains, as a Lambda function's is."""
    report = sys.stdout
    reader = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    assert reader.stdin is not None
    pipe = LambdaStdout(io.TextIOWrapper(reader.stdin, encoding="utf-8"))
    sys.stdout = pipe
    try:
        yield
    finally:
        sys.stdout = report
        pipe.close()
        reader.wait(timeout=10)


@dataclass(frozen=True)
class WarmResult:
    algorithm: str
    tokens: int
    handler_median_us: float
    handler_p99_us: float
    decode_median_us: float
    decode_p99_us: float

    @property
    def ratio(self) -> float:
        return self.handler_median_us / self.decode_median_us


def measure_warm(key: SigningKey, count: int) -> WarmResult:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from functions.authorizer import app as authorizer_app

    # The tests' stand-in: it has every attribute of Lambda's context the handler reads.
    context = cast(LambdaContext, FakeLambdaContext())
    public_key = key.private_key.public_key()
    # Distinct valid tokens (own jti each), so no cache can answer for a repeated one.
    tokens = [key.sign(claims(sub=f"player-{n}")) for n in range(count + 1)]

    def invoke(token: str) -> None:
        event = {"type": "TOKEN", "authorizationToken": f"Bearer {token}", "methodArn": METHOD_ARN}
        response = authorizer_app.handler(event, context)
        assert response["policyDocument"]["Statement"][0]["Effect"] == "Allow"

    def decode(token: str) -> None:
        jwt.decode(token, public_key, algorithms=[key.algorithm], audience=AUDIENCE, issuer=ISSUER)

    invoke(tokens[0])  # warm: JWKS and revocation list loaded
    timed: dict[str, list[float]] = {"handler": [], "decode": []}
    runners: list[tuple[str, Callable[[str], None]]] = [("handler", invoke), ("decode", decode)]
    for index, token in enumerate(tokens[1:]):
        order = runners if index % 2 == 0 else runners[::-1]
        for name, run in order:
            started = time.perf_counter_ns()
            run(token)
            timed[name].append((time.perf_counter_ns() - started) / 1000)
    return WarmResult(
        algorithm=key.algorithm,
        tokens=count,
        handler_median_us=statistics.median(timed["handler"]),
        handler_p99_us=percentile(timed["handler"], 0.99),
        decode_median_us=statistics.median(timed["decode"]),
        decode_p99_us=percentile(timed["decode"], 0.99),
    )


def fresh_interpreter_ms(code: str) -> float:
    """Wall time of `code` in a new interpreter with an empty environment, as at Lambda init."""
    probe = (
        "import time\nstarted = time.perf_counter()\n"
        f"{code}\nprint((time.perf_counter() - started) * 1000)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=PROJECT_ROOT,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        capture_output=True,
        text=True,
        check=True,
    )
    return float(result.stdout.strip().splitlines()[-1])


def measure_cold(runs: int) -> dict[str, list[float]]:
    """Interleaved runs of the COLD_PROBES and each handler module's import."""
    samples: dict[str, list[float]] = {name: [] for name in (*COLD_PROBES, *HANDLER_MODULES)}
    for _ in range(runs):
        for name, code in COLD_PROBES.items():
            samples[name].append(fresh_interpreter_ms(code))
        for module in HANDLER_MODULES:
            samples[module].append(fresh_interpreter_ms(f"import {module}"))
    return samples


def configure_environment(endpoint_url: str, jwks_uri: str) -> None:
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_REGION": REGION,
            "AWS_ENDPOINT_URL": endpoint_url,
            "TABLE_NAME": TABLE_NAME,
            "AUTH_ISSUERS": ISSUER,
            "AUTH_AUDIENCE": AUDIENCE,
            "AUTH_JWKS_URI": jwks_uri,
            "POWERTOOLS_SERVICE_NAME": "authorizer",
            "POWERTOOLS_LOG_LEVEL": "INFO",
        }
    )
    import boto3

    create_state_table(boto3.client("dynamodb", region_name=REGION), TABLE_NAME)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=2000, help="distinct tokens per algorithm")
    parser.add_argument("--imports", type=int, default=9, help="fresh interpreters per probe")
    args = parser.parse_args()
    if args.imports < 7:
        parser.error("--imports must be at least 7 (medians of fewer runs are noise)")

    from opsctl.sandbox.emulator import start_emulator

    keys = [rsa_key("bench-rsa"), ec_key("bench-ec")]
    jwks = JwksServer()
    jwks.publish(*keys)
    try:
        with start_emulator() as emulator:
            configure_environment(emulator.endpoint_url, jwks.url)
            # Set up before the handler module is imported: its logger keeps that stdout.
            with stdout_on_a_pipe():
                warm = [measure_warm(key, args.tokens) for key in keys]
    finally:
        jwks.close()
    cold = measure_cold(args.imports)

    print(f"Python {sys.version.split()[0]}, PyJWT {jwt.__version__}, {os.cpu_count()} CPUs\n")
    print(
        "| warm, per token (stdout on a pipe) | tokens | handler median | handler p99 "
        "| jwt.decode median | jwt.decode p99 | median ratio |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for result in warm:
        print(
            f"| {result.algorithm} | {result.tokens} | {result.handler_median_us:.0f} µs "
            f"| {result.handler_p99_us:.0f} µs | {result.decode_median_us:.0f} µs "
            f"| {result.decode_p99_us:.0f} µs | {result.ratio:.2f} |"
        )
    print(f"\n| fresh interpreter, {args.imports} runs | median | min | max |")
    print("| --- | ---: | ---: | ---: |")
    labels = {
        "handler": "authorizer cold start: import + DynamoDB client",
        "baseline": "baseline: `import jwt, jwt.algorithms, boto3` + DynamoDB client",
    }
    for name, samples in cold.items():
        label = labels.get(name, f"import `{name}`")
        print(
            f"| {label} | {statistics.median(samples):.0f} ms | {min(samples):.0f} ms "
            f"| {max(samples):.0f} ms |"
        )
    warm_ratio = max(result.ratio for result in warm)
    cold_ratio = statistics.median(cold["handler"]) / statistics.median(cold["baseline"])
    failed = False
    for label, ratio, target in (
        ("Warm (worst median ratio)", warm_ratio, WARM_TARGET),
        ("Cold start (median ratio)", cold_ratio, COLD_TARGET),
    ):
        verdict = "meets" if ratio <= target else "MISSES"
        failed |= ratio > target
        print(f"\n{label}: {ratio:.2f}, {verdict} the target of {target}.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
