"""Authorizer performance: warm invocations vs PyJWT's own jwt.decode, and handler cold imports.

Warm: the real handler (`functions.authorizer.app.handler`) with a real TOKEN event, distinct
valid tokens, keys from a JWKS on 127.0.0.1 and the revocation list from DynamoDB in the local
emulator (both loaded once, as in a warm Lambda). Baseline: `jwt.decode` of the same tokens
with the same checks (key, algorithm, audience, issuer), measured in the same run, interleaved
with the handler so machine noise hits both alike. Target: median ratio <= 1.5.

Cold: each handler module imported in a fresh interpreter (`-c "import ..."`), median of runs.

Run: .venv/bin/python benchmarks/authorizer_bench.py [--tokens N] [--imports N]
Prints a markdown table; exits 1 if the warm median ratio is over the target.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

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

TARGET_RATIO = 1.5
TABLE_NAME = "bench-state"
REGION = "us-east-1"
HANDLER_MODULES = ("functions.authorizer.app", "functions.health.app", "functions.api.app")


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


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
    from functions.authorizer import app as authorizer_app

    context = FakeLambdaContext()
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


def measure_cold_import(module: str, runs: int) -> list[float]:
    probe = (
        "import time; started = time.perf_counter(); "
        f"import {module}; print((time.perf_counter() - started) * 1000)"
    )
    samples = []
    for _ in range(runs):
        result = subprocess.run(
            [sys.executable, "-c", probe],
            cwd=PROJECT_ROOT,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
            capture_output=True,
            text=True,
            check=True,
        )
        samples.append(float(result.stdout.strip().splitlines()[-1]))
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
            "POWERTOOLS_LOG_LEVEL": "INFO",
        }
    )
    import boto3

    create_state_table(boto3.client("dynamodb", region_name=REGION), TABLE_NAME)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=2000, help="distinct tokens per algorithm")
    parser.add_argument("--imports", type=int, default=7, help="fresh interpreters per module")
    args = parser.parse_args()

    from opsctl.sandbox.emulator import start_emulator

    keys = [rsa_key("bench-rsa"), ec_key("bench-ec")]
    jwks = JwksServer()
    jwks.publish(*keys)
    try:
        with start_emulator() as emulator:
            configure_environment(emulator.endpoint_url, jwks.url)
            # The handler prints one EMF line per invocation, as in Lambda; keep it off the table.
            with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
                warm = [measure_warm(key, args.tokens) for key in keys]
    finally:
        jwks.close()
    cold = {module: measure_cold_import(module, args.imports) for module in HANDLER_MODULES}

    print(f"Python {sys.version.split()[0]}, PyJWT {jwt.__version__}, {os.cpu_count()} CPUs\n")
    print(
        "| warm, per token | tokens | handler median | handler p99 | jwt.decode median "
        "| jwt.decode p99 | median ratio |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for result in warm:
        print(
            f"| {result.algorithm} | {result.tokens} | {result.handler_median_us:.0f} µs "
            f"| {result.handler_p99_us:.0f} µs | {result.decode_median_us:.0f} µs "
            f"| {result.decode_p99_us:.0f} µs | {result.ratio:.2f} |"
        )
    print("\n| cold import (fresh interpreter) | median | min | max |")
    print("| --- | ---: | ---: | ---: |")
    for module, samples in cold.items():
        print(
            f"| `{module}` | {statistics.median(samples):.0f} ms | {min(samples):.0f} ms "
            f"| {max(samples):.0f} ms |"
        )
    worst = max(result.ratio for result in warm)
    verdict = "meets" if worst <= TARGET_RATIO else "MISSES"
    print(f"\nWorst median ratio {worst:.2f} {verdict} the target of {TARGET_RATIO}.")
    return 0 if worst <= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
