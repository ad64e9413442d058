"""Runs of the Pulumi program under mocks (infra.mockrun), shared by the infra tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from infra.mockrun import ProgramRun, run_program
from tests.infra.plan import RunProgram


@pytest.fixture(scope="session")
def stack_file(project_root: str) -> Path:
    return Path(project_root) / "Pulumi.primary.yaml"


@pytest.fixture(scope="session")
def run_with(stack_file: Path) -> RunProgram:
    """Run the example stack with config overrides (keys without the project prefix)."""

    def run(**overrides: Any) -> ProgramRun:
        return run_program(stack_file, overrides=overrides)

    return run


@pytest.fixture(scope="session")
def default_run(run_with: RunProgram) -> ProgramRun:
    return run_with()
