"""Lambda packaging: the functions archive and the platform-specific dependency layer build."""

from __future__ import annotations

import itertools
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pulumi
import pytest

from infra.mockrun import ProgramRun
from infra.packaging import (
    LayerBuildSpec,
    PipLayerBuilder,
    PlannedLayerBuilder,
    functions_archive,
)
from stack_topology import FailureSwitch
from tests.infra.plan import RunProgram

LOCKED = "pyjwt==2.10.1 \\\n    --hash=sha256:" + "a" * 64 + "\n"


@pytest.fixture
def requirements(tmp_path: Path) -> Path:
    """A lock file: what the layer is built from."""
    path = tmp_path / "requirements.lock"
    path.write_text(LOCKED)
    return path


def test_pip_command_targets_the_lambda_platform_not_this_machine(requirements: Path) -> None:
    spec = LayerBuildSpec.for_runtime(requirements, "python3.12")
    command = spec.pip_command(Path("/out/python"))
    assert command[:4] == [sys.executable, "-m", "pip", "install"]
    pairs = dict(itertools.pairwise(command))
    assert pairs["--requirement"] == str(requirements)
    assert "--require-hashes" in command and "--no-deps" in command  # the locked set, exactly
    assert pairs["--target"] == "/out/python"
    assert pairs["--platform"] == "manylinux2014_aarch64"
    assert pairs["--python-version"] == "3.12"
    assert pairs["--implementation"] == "cp"
    assert "--only-binary=:all:" in command


def test_content_hash_changes_with_what_decides_the_content(requirements: Path) -> None:
    base = LayerBuildSpec.for_runtime(requirements, "python3.12").content_hash()
    assert LayerBuildSpec.for_runtime(requirements, "python3.13").content_hash() != base
    assert LayerBuildSpec.for_runtime(requirements, "python3.12").content_hash() == base
    # The resolved set decides: a new pin or a new hash is a new layer.
    requirements.write_text(LOCKED.replace("2.10.1", "2.10.2"))
    assert LayerBuildSpec.for_runtime(requirements, "python3.12").content_hash() != base


def test_pip_runs_once_per_content_hash(requirements: Path, tmp_path: Path) -> None:
    commands: list[list[str]] = []

    def fake_pip(command: list[str]) -> None:
        commands.append(command)
        target = Path(command[command.index("--target") + 1])
        (target / "jwt").mkdir(parents=True)
        (target / "jwt" / "__init__.py").write_text("")

    builder = PipLayerBuilder(cache_dir=tmp_path / "layers", run=fake_pip)
    spec = LayerBuildSpec.for_runtime(requirements, "python3.12")
    first = builder.build(spec)
    second = builder.build(spec)
    assert first == second == tmp_path / "layers" / f"deps-{spec.content_hash()}"
    assert (first / "python" / "jwt" / "__init__.py").is_file()
    assert len(commands) == 1


def test_interrupted_build_is_not_mistaken_for_a_finished_one(
    requirements: Path, tmp_path: Path
) -> None:
    def failing_pip(command: list[str]) -> None:
        Path(command[command.index("--target") + 1]).mkdir(parents=True)
        raise RuntimeError("network down")

    spec = LayerBuildSpec.for_runtime(requirements, "python3.12")
    with pytest.raises(RuntimeError):
        PipLayerBuilder(cache_dir=tmp_path, run=failing_pip).build(spec)
    assert not (tmp_path / f"deps-{spec.content_hash()}").exists()
    calls: list[list[str]] = []
    retry = PipLayerBuilder(cache_dir=tmp_path, run=lambda c: calls.append(c) or Path(
        c[c.index("--target") + 1]).mkdir(parents=True))  # fmt: skip
    assert retry.build(spec).is_dir()
    assert len(calls) == 1


def test_planned_builder_records_without_running(requirements: Path, tmp_path: Path) -> None:
    builder = PlannedLayerBuilder(cache_dir=tmp_path)
    path = builder.build(LayerBuildSpec.for_runtime(requirements, "python3.13"))
    assert not path.exists()
    (command,) = builder.commands
    assert command[command.index("--python-version") + 1] == "3.13"


def test_functions_archive_holds_the_package_without_bytecode(project_root: str) -> None:
    archive = functions_archive(Path(project_root) / "functions")
    names = set(archive.assets)
    assert "functions/__init__.py" in names
    assert "functions/authorizer/app.py" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_the_built_package_reads_the_failure_switch_words_from_its_own_copy(
    project_root: str, tmp_path: Path
) -> None:
    """The health function imports the switch's values from stack_topology: the package must
    carry it, so on Lambda it reads the very words `opsctl switch` writes."""
    archive = functions_archive(Path(project_root) / "functions")
    for name, asset in archive.assets.items():
        assert isinstance(asset, pulumi.FileAsset)
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(asset.path, tmp_path / name)
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]); "
        "import functions.health.checks as checks, stack_topology; "
        "print(checks.__file__); print(stack_topology.__file__); "
        "print(' '.join(stack_topology.FailureSwitch))"
    )
    run = subprocess.run(
        [sys.executable, "-I", "-c", script, str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    checks_file, topology_file, values = run.stdout.splitlines()
    assert Path(checks_file).is_relative_to(tmp_path)
    assert Path(topology_file).is_relative_to(tmp_path)
    assert values.split() == list(FailureSwitch)


def test_functions_archive_refuses_a_non_package(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        functions_archive(tmp_path)


def test_program_plans_the_layer_from_the_functions_lock(
    default_run: ProgramRun, project_root: str
) -> None:
    (command,) = default_run.layer_commands
    assert command[command.index("--requirement") + 1] == str(
        Path(project_root) / "functions" / "requirements.lock"
    )
    assert "--require-hashes" in command
    layer_dir = Path(default_run.named("primary-deps").inputs["code"].path)
    assert layer_dir.parent == Path(project_root) / "build" / "layers"
    packaged = set(functions_archive(Path(project_root) / "functions").assets)
    for role in ("primary", "secondary"):
        for fn in ("authorizer", "api", "health"):
            assert set(default_run.named(f"{role}-{fn}").inputs["code"].assets) == packaged


def test_runtime_choice_moves_the_layer_build_with_it(run_with: RunProgram) -> None:
    run = run_with(lambdaRuntime="python3.13")
    (command,) = run.layer_commands
    assert command[command.index("--python-version") + 1] == "3.13"
    function = run.named("secondary-health")
    assert function.inputs["runtime"] == "python3.13"
    assert function.inputs["layers"] == [run.named("secondary-deps").outputs["arn"]]


def test_the_lock_pins_every_distribution_with_hashes_and_covers_the_requirements(
    project_root: str,
) -> None:
    """The layer installs exactly what was resolved: every entry `name==version` with at least
    one `--hash`, and every top-level requirement of requirements.txt among them."""
    functions = Path(project_root) / "functions"
    entries = re.split(r"\n(?=\S)", "\n".join(
        line for line in (functions / "requirements.lock").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ))  # fmt: skip
    pinned = {}
    for entry in entries:
        match = re.match(r"([A-Za-z0-9_.-]+)==([^\s;\\]+)", entry)
        assert match, entry
        assert re.search(r"--hash=sha256:[0-9a-f]{64}", entry), entry
        pinned[match.group(1).lower()] = match.group(2)
    wanted = [
        re.match(r"[A-Za-z0-9_.-]+", line).group(0).lower()
        for line in (functions / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert wanted and set(wanted) <= set(pinned)
    # The authorizer verifies signatures with PyJWT's algorithm classes: a pinned version.
    assert "pyjwt" in pinned and "cryptography" in pinned
