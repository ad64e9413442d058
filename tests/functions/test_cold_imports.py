"""Handler modules import cleanly in a fresh interpreter with no environment (Lambda init,
cold-start measurement, the sandbox), and the authorizer imports only what it uses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HANDLER_MODULES = [
    "functions.authorizer.app",
    "functions.health.app",
    "functions.api.app",
    "functions.watcher.app",
]


def fresh_import(module: str, project_root: str, probe: str = "") -> subprocess.CompletedProcess:
    # No AWS_*, AUTH_*, TABLE_NAME...: only what the interpreter needs to start.
    return subprocess.run(
        [sys.executable, "-c", f"import {module}\n{probe}"],
        cwd=project_root,
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("module", HANDLER_MODULES)
def test_handler_modules_import_with_an_empty_environment(module: str, project_root: str) -> None:
    result = fresh_import(module, project_root, f"assert callable({module}.handler)")
    assert result.returncode == 0, result.stderr


def test_the_authorizer_does_not_import_what_its_first_invocation_does_not_need(
    project_root: str,
) -> None:
    probe = (
        "import sys, json\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith(("
        "'boto3', 'aws_lambda_powertools.event_handler', "
        "'aws_lambda_powertools.utilities.idempotency', "
        "'aws_lambda_powertools.utilities.parameters', "
        "'aws_lambda_powertools.utilities.data_classes', 'pydantic')))))"
    )
    result = fresh_import("functions.authorizer.app", project_root, probe)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == []


@pytest.mark.parametrize("module", HANDLER_MODULES)
def test_no_handler_imports_the_xray_sdk(module: str, project_root: str) -> None:
    """Lambda active tracing needs no SDK in the package; the X-Ray SDK (behind Powertools
    Tracer) was most of the cold start and is going out of support."""
    probe = "import sys\nprint(sorted(m for m in sys.modules if m.startswith('aws_xray_sdk')))"
    result = fresh_import(module, project_root, probe)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "[]"


def test_the_functions_layer_ships_powertools_without_extras_and_pyjwt_with_crypto(
    project_root: str,
) -> None:
    lines = (Path(project_root) / "functions" / "requirements.txt").read_text().splitlines()
    requirements = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    # No `[tracer]` or `[all]` extra: those install the X-Ray SDK into the layer.
    assert requirements == ["aws-lambda-powertools>=3.0", "pyjwt[crypto]>=2.8"]
