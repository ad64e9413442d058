"""No input makes opsctl crash: hypothesis drives every operator command with hostile options, a
hostile topology file and a hostile audit log, and opsctl must answer with its documented exit
codes and at most one-line errors, never a traceback and never "unexpected ... (a bug in opsctl)".

AWS is a closed loopback port (connection refused at once, no SDK retries), so a command that gets
past its input checks fails fast with `cannot reach AWS`; what is fuzzed is everything opsctl reads
before and besides AWS. `status --watch` is given one refresh (its sleep raises Ctrl-C).
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any

import pytest
from botocore.config import Config
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from opsctl.cli.app import app
from opsctl.errors import ExitCode
from tests.support.stack import topology_document

DOCUMENTED_EXIT_CODES = {int(code) for code in ExitCode}

# Valid shapes to mutate: hostile input is most interesting when it is almost right.
TOPOLOGY = topology_document(urls=True)
AUDIT_LINE = {
    "id": "0" * 32,
    "phase": "outcome",
    "time": "2026-01-01T00:00:00Z",
    "action": "failover",
    "app": "app",
    "actorArn": "arn:aws:iam::123456789012:user/op",
    "localUser": "op",
    "reason": "INC-1",
    "before": {"primary": 100, "secondary": 0},
    "after": {"primary": 0, "secondary": 100},
    "forced": False,
    "overridden": [],
    "step": None,
    "changeId": "C1",
    "applied": True,
    "insync": True,
    "insyncSeconds": 40.5,
    "detail": None,
}

# Any text an operator could type, or a file could hold: markup, escapes, bidi, other scripts.
texts = st.one_of(
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=24),
    st.sampled_from(["", "[/]", "[bold]x", "\x1b[2J", "\u202e", "a\nb", "-", "--json", "100"]),
)
numbers = st.one_of(
    st.sampled_from(
        ["inf", "-inf", "nan", "1e400", "1e10", "0", "-1", "1_0", "\u0663", "0x10", "", " 5", "3"]
    ),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-(10**6), 10**30).map(str),
)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=False)
    | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def _paths(document: dict[str, Any], prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path in a JSON document (the places a mutation can hit)."""
    found = [prefix] if prefix else []
    if isinstance(document, dict):
        for key, value in document.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            found += _paths(value, (*prefix, index))
    return found


def _mutated(document: dict[str, Any]) -> st.SearchStrategy[str]:
    """The document with one value replaced by an odd one, or one key deleted, as JSON text."""

    def apply(path: tuple[Any, ...], value: Any, delete: bool) -> str:
        copy = json.loads(json.dumps(document))
        parent = copy
        for key in path[:-1]:
            parent = parent[key]
        if delete and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = value
        return json.dumps(copy)

    return st.builds(apply, st.sampled_from(_paths(document)), json_values, st.booleans())


topology_texts = st.one_of(
    _mutated(TOPOLOGY),
    st.just(json.dumps(TOPOLOGY)),
    st.sampled_from(["", "{", "[" * 50_000, '{"version": true}', "\xff", "null", '"x"']),
    json_values.map(json.dumps),
)
audit_texts = st.lists(
    st.one_of(_mutated(AUDIT_LINE), st.just(json.dumps(AUDIT_LINE)), texts), max_size=4
).map("\n".join)


def _option(name: str, values: st.SearchStrategy[str]) -> st.SearchStrategy[list[str]]:
    return values.map(lambda value: [name, value])


def _flag(name: str) -> st.SearchStrategy[list[str]]:
    return st.just([name])


TARGET = [_option("--app", texts), _option("--profile", texts)]
CHANGE = [_flag("--approve"), _option("--reason", texts), _flag("--force"), _flag("--json")]
PROBE_COUNTS = st.sampled_from(["0", "-1", "1", "2", "10001", "inf", "nan", "1e3", "x", ""])
ROLES = st.one_of(st.sampled_from(["primary", "secondary", "PRIMARY"]), texts)
COMMANDS: dict[tuple[str, ...], list[st.SearchStrategy[list[str]]]] = {
    ("status",): [*TARGET, _flag("--json"), _option("--watch", numbers)],
    ("failover",): [*TARGET, *CHANGE, _option("--timeout", numbers)],
    ("fallback",): [
        *TARGET,
        *CHANGE,
        _option("--timeout", numbers),
        _option("--interval", numbers),
        _option("--steps", st.one_of(texts, st.lists(numbers, max_size=4).map(",".join))),
    ],
    ("readiness",): [
        *TARGET,
        _flag("--json"),
        _option("--role", ROLES),
        _option("--max-replication-latency-ms", numbers),
    ],
    ("switch",): [
        *TARGET,
        *CHANGE[:2],
        _flag("--json"),
        _option("--role", ROLES),
        st.one_of(st.sampled_from(["healthy", "failing"]), texts).map(lambda v: [v]),
    ],
    ("revoke",): [
        *TARGET,
        *CHANGE[:2],
        _flag("--json"),
        _option("--role", ROLES),
        _option("--until", st.one_of(numbers, texts, st.just("2026-12-31T00:00:00Z"))),
        st.one_of(st.just("3f2a9c0e"), texts).map(lambda v: [v]),
    ],
    ("revocations",): [*TARGET, _flag("--json"), _option("--role", ROLES)],
    ("drill",): [
        *TARGET,
        *CHANGE[:2],
        _option("--scenario", st.one_of(st.sampled_from(["switch", "region-outage"]), texts)),
        _option("--steps", st.one_of(texts, st.lists(numbers, max_size=4).map(",".join))),
        _option("--interval", numbers),
        _option("--max-failed", numbers),
        _option("--max-duration", numbers),
        _option("--token", texts),
        _option("--token-file", texts),
        # A fixed command: fuzzed text is never run through a shell.
        _option("--token-command", st.just("echo not-a-jwt")),
        _option("--dns", st.one_of(st.sampled_from(["system", "authoritative"]), texts)),
        _option("--report-dir", texts),
    ],
    ("history",): [_flag("--json"), _option("--limit", numbers)],
    ("topology",): TARGET,
    ("probe",): [
        # Few requests at most: each is a refused loopback connection.
        _option("--count", PROBE_COUNTS),
        _option("-n", PROBE_COUNTS),
        _option("--path", st.one_of(texts, st.just("/whoami"))),
        _option("--token", texts),
        _flag("--json"),
    ],
}


@st.composite
def command_lines(draw: st.DrawFn) -> tuple[list[str], str, str, str]:
    """(argv, topology path choice, topology text, audit text)."""
    command = draw(st.sampled_from(sorted(COMMANDS)))
    options = draw(st.lists(st.sampled_from(COMMANDS[command]), max_size=5))
    argv = [*command]
    for option in options:
        argv += draw(option)
    if command == ("probe",):  # a loopback port nothing listens on: refused at once
        argv += ["--hostname", "127.0.0.1:9"]
    topology_source = draw(st.sampled_from(["file", "file", "file", "fifo", "zero", "dir", "none"]))
    return argv, topology_source, draw(topology_texts), draw(audit_texts)


@pytest.fixture(scope="module")
def dead_endpoint() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("fuzz")
    os.mkfifo(directory / "topology.fifo")
    (directory / "a-directory").mkdir()
    return directory


@settings(
    deadline=None,
    max_examples=150,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(line=command_lines())
def test_no_input_crashes_opsctl(
    line: tuple[list[str], str, str, str],
    dead_endpoint: str,
    fuzz_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    argv, topology_source, topology_text, audit_text = line
    topology_file = fuzz_dir / "topology.json"
    topology_file.write_text(topology_text, encoding="utf-8")
    audit = fuzz_dir / "audit.jsonl"
    audit.write_text(audit_text, encoding="utf-8")
    topology = {
        "file": topology_file,
        "fifo": fuzz_dir / "topology.fifo",
        "zero": Path("/dev/zero"),
        "dir": fuzz_dir / "a-directory",
        "none": fuzz_dir / "missing.json",
    }[topology_source]
    monkeypatch.chdir(fuzz_dir)  # a drill's default report directory is relative
    monkeypatch.setenv("AWS_ENDPOINT_URL", dead_endpoint)
    monkeypatch.setenv("OPSCTL_AUDIT_LOG", str(audit))
    monkeypatch.setenv("OPSCTL_TOPOLOGY", str(topology))
    monkeypatch.setattr("opsctl.aws.CLIENT_CONFIG", Config(retries={"max_attempts": 1}))
    monkeypatch.setattr("opsctl.cli.read_commands.sleep", _one_refresh)
    result = CliRunner().invoke(app, argv)
    described = f"opsctl {argv!r} -> {result.exit_code}\n{result.output}"
    assert result.exc_info is None or result.exc_info[0] is SystemExit, described
    assert result.exit_code in DOCUMENTED_EXIT_CODES, described
    assert "Traceback" not in result.output, described
    assert "a bug in opsctl" not in result.stderr, described
    errors = [text for text in result.stderr.splitlines() if text.startswith("opsctl: error:")]
    assert len(errors) <= 1, described
    assert all(char.isprintable() for text in errors for char in text), described


def _one_refresh(_seconds: float) -> None:
    raise KeyboardInterrupt  # `status --watch` ends after its first refresh, as on Ctrl-C


def test_the_fuzzed_commands_cover_every_operator_command() -> None:
    from tests.opsctl.cli.test_cli import COMMANDS as ALL_COMMANDS

    # `sandbox ...` starts and stops processes: its flags are covered by test_cli's checks.
    operator = {path for path in ALL_COMMANDS if path[0] != "sandbox"}
    assert operator == set(COMMANDS), "add the new command's options to COMMANDS here"
