"""Lambda packaging: the `functions/` package as code (with a copy of `stack_topology/`, the
words the functions share with the program and opsctl), its third-party deps as a layer.

The dependency layer is built for the Lambda platform (arm64, CPython of the runtime), not the
build machine, from the lock file (every distribution pinned with its hashes, so a build installs
exactly the resolved set or fails), and cached under `build/layers/` by a hash of everything that
decides its content: the resolved set, the Python version and the platform.
Builds go through the active `LayerBuilder`: `pulumi up` uses `PipLayerBuilder`; the mock runner
installs a `PlannedLayerBuilder` that only records the pip command it would run.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import pulumi

import stack_topology

LAMBDA_PLATFORM = "manylinux2014_aarch64"  # matches the arm64 functions
COMPLETE_MARKER = ".complete"


@dataclass(frozen=True)
class LayerBuildSpec:
    """What decides a dependency layer's content."""

    lock: Path  # pinned requirements with `--hash`es (functions/requirements.lock)
    python_version: str  # "3.12"
    platform: str = LAMBDA_PLATFORM
    implementation: str = "cp"

    @classmethod
    def for_runtime(cls, lock: Path, runtime: str) -> LayerBuildSpec:
        return cls(lock=lock, python_version=runtime.removeprefix("python"))

    def content_hash(self) -> str:
        digest = hashlib.sha256(self.lock.read_bytes())
        digest.update(f"|{self.python_version}|{self.platform}|{self.implementation}".encode())
        return digest.hexdigest()[:16]

    def pip_command(self, target: Path) -> list[str]:
        # Wheels only: a source build would compile for this machine, not for Lambda. Hashes
        # required: exactly the locked files, nothing resolved anew.
        return [
            sys.executable, "-m", "pip", "install",
            "--requirement", str(self.lock),
            "--require-hashes",
            "--no-deps",
            "--target", str(target),
            "--platform", self.platform,
            "--implementation", self.implementation,
            "--python-version", self.python_version,
            "--only-binary=:all:",
            "--no-compile",
            "--quiet",
        ]  # fmt: skip


class LayerBuilder(Protocol):
    def build(self, spec: LayerBuildSpec) -> Path:
        """Return a directory whose content is the layer (it holds `python/`)."""
        ...


def _run_pip(command: list[str]) -> None:
    subprocess.run(command, check=True)


def _layer_dirs(cache_dir: Path, spec: LayerBuildSpec) -> tuple[Path, Path]:
    """(final, partial): pip installs beside the final path and the build renames it, so an
    interrupted pip never leaves a directory that looks finished."""
    final = cache_dir / f"deps-{spec.content_hash()}"
    return final, final.with_name(final.name + ".partial")


@dataclass
class PipLayerBuilder:
    """Runs pip once per content hash; later builds reuse the finished directory."""

    cache_dir: Path
    run: Callable[[list[str]], None] = _run_pip

    def build(self, spec: LayerBuildSpec) -> Path:
        final, partial = _layer_dirs(self.cache_dir, spec)
        if (final / COMPLETE_MARKER).exists():
            return final
        shutil.rmtree(partial, ignore_errors=True)
        shutil.rmtree(final, ignore_errors=True)
        self.run(spec.pip_command(partial / "python"))
        (partial / COMPLETE_MARKER).write_text(spec.content_hash())
        partial.rename(final)
        return final


@dataclass
class PlannedLayerBuilder:
    """For mock runs: reports where the layer would be and the pip command, runs nothing."""

    cache_dir: Path
    commands: list[list[str]] = field(default_factory=list)

    def build(self, spec: LayerBuildSpec) -> Path:
        final, partial = _layer_dirs(self.cache_dir, spec)
        self.commands.append(spec.pip_command(partial / "python"))
        return final


_ACTIVE_BUILDER: ContextVar[LayerBuilder | None] = ContextVar("layer_builder", default=None)


@contextmanager
def use_layer_builder(builder: LayerBuilder) -> Iterator[LayerBuilder]:
    token = _ACTIVE_BUILDER.set(builder)
    try:
        yield builder
    finally:
        _ACTIVE_BUILDER.reset(token)


def active_layer_builder(project_dir: Path) -> LayerBuilder:
    return _ACTIVE_BUILDER.get() or PipLayerBuilder(cache_dir=project_dir / "build" / "layers")


def functions_archive(functions_dir: Path) -> pulumi.AssetArchive:
    """The `functions` package, importable as `functions.<name>.app` from the archive root, and
    beside it a copy of `stack_topology` (standard library only), which the functions import for
    the words they share with the program and opsctl (the failure switch's values)."""
    if not (functions_dir / "__init__.py").is_file():
        raise FileNotFoundError(f"{functions_dir} is not the functions package")
    shared = Path(stack_topology.__file__).parent
    assets: dict[str, pulumi.Asset | pulumi.Archive] = {}
    for package in (functions_dir, shared):
        for path in sorted(package.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                name = f"{package.name}/{path.relative_to(package).as_posix()}"
                assets[name] = pulumi.FileAsset(str(path))
    return pulumi.AssetArchive(assets)
