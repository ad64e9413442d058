"""The import rules of docs/architecture.md, read off the code: a part that reaches into another
it must not know breaks at deploy time (a Lambda package without infra/) or at 3 a.m. (opsctl
needing the Pulumi program)."""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PARTS = ("infra", "functions", "opsctl", "stack_topology")


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports by absolute name, at any depth (lazy imports included);
    relative imports stay inside their own package."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def modules(part: str, *, excluding: str | None = None) -> list[Path]:
    found = sorted((ROOT / part).rglob("*.py"))
    return [p for p in found if excluding is None or (ROOT / excluding) not in p.parents]


def violations(paths: list[Path], forbidden: Callable[[str], bool]) -> dict[str, set[str]]:
    """Per file, the imported modules that break the rule."""
    found = {str(p.relative_to(ROOT)): set(filter(forbidden, imported_modules(p))) for p in paths}
    return {path: names for path, names in found.items() if names}


def in_parts(*parts: str) -> Callable[[str], bool]:
    return lambda module: module.split(".")[0] in parts


def test_functions_import_neither_infra_nor_opsctl() -> None:
    # They ship in a Lambda package with a copy of stack_topology only (infra/packaging.py).
    assert violations(modules("functions"), in_parts("infra", "opsctl")) == {}


def test_the_topology_model_imports_only_the_standard_library() -> None:
    # Both the program and opsctl import it; it must bring neither Pulumi nor boto3 along.
    def outside(module: str) -> bool:
        top = module.split(".")[0]
        return top != "stack_topology" and top not in sys.stdlib_module_names

    assert violations(modules("stack_topology"), outside) == {}


def test_opsctl_outside_the_sandbox_never_imports_infra() -> None:
    # An operator acts from the topology document alone, without the Pulumi program.
    core = modules("opsctl", excluding="opsctl/sandbox")
    assert violations(core, in_parts("infra", "functions")) == {}


def opsctl_layers() -> list[Path]:
    """opsctl's own layers and shared modules: everything but the sandbox and the drill."""
    return [
        path
        for path in modules("opsctl", excluding="opsctl/sandbox")
        if (ROOT / "opsctl" / "drill") not in path.parents
    ]


def test_only_the_command_line_layer_imports_typer_or_rich() -> None:
    # The core is a library the drill and the sandbox drive too: it returns dataclasses, never
    # prints, and never decides an exit code.
    outside_cli = [p for p in opsctl_layers() if (ROOT / "opsctl" / "cli") not in p.parents]
    assert violations(outside_cli, in_parts("typer", "rich")) == {}


def test_the_change_layer_never_imports_the_command_line() -> None:
    # A change is driven by the CLI and by the drill alike; it takes its approval as a value.
    assert (
        violations(modules("opsctl/change"), lambda module: module.startswith("opsctl.cli")) == {}
    )


def test_the_read_layer_imports_neither_the_change_layer_nor_the_command_line() -> None:
    # Reading a Region can never change it: status and readiness cannot reach a write.
    layers = ("opsctl.change", "opsctl.cli")
    assert violations(modules("opsctl/read"), lambda module: module.startswith(layers)) == {}


def test_the_shared_modules_import_no_layer() -> None:
    # model, errors, aws, files, topology, periodic: every layer imports them, they import none.
    shared = [p for p in sorted((ROOT / "opsctl").glob("*.py")) if p.name != "__main__.py"]
    layered = ("opsctl.cli", "opsctl.read", "opsctl.change", "opsctl.drill", "opsctl.sandbox")
    assert violations(shared, lambda module: module.startswith(layered)) == {}


def test_the_drill_needs_the_sandbox_only_for_the_region_outage() -> None:
    # `opsctl drill` runs on a real account: only the scenario that breaks a sandbox Region may
    # reach into the sandbox.
    drill = [p for p in modules("opsctl/drill") if p.name != "outage_sandbox.py"]
    assert violations(drill, lambda module: module.startswith("opsctl.sandbox")) == {}


def test_infra_imports_neither_functions_nor_opsctl() -> None:
    # It packages functions/ as files, never as code.
    assert violations(modules("infra"), in_parts("functions", "opsctl")) == {}


def test_the_settings_import_nothing_else_of_infra() -> None:
    # They are read and checked before any resource is declared: no component, no mock runner.
    def outside_settings(module: str) -> bool:
        inside = module == "infra.settings" or module.startswith("infra.settings.")
        return in_parts("infra")(module) and not inside

    assert violations(modules("infra/settings"), outside_settings) == {}


def test_the_components_never_import_the_mock_runner_or_the_deploy_policy() -> None:
    # A deploy runs the components; what runs them under mocks builds on them, never the reverse.
    def tooling(module: str) -> bool:
        return any(
            module == package or module.startswith(f"{package}.")
            for package in ("infra.mockrun", "infra.deploy_policy")
        )

    assert violations([*modules("infra/components"), ROOT / "__main__.py"], tooling) == {}


def test_the_sandbox_reaches_infra_only_through_the_mock_runner() -> None:
    # It provisions by running the real program under Pulumi's mocks, nothing else of infra/:
    # anything under infra/mockrun/ and nothing beside it.
    def other_infra(module: str) -> bool:
        inside_mockrun = module == "infra.mockrun" or module.startswith("infra.mockrun.")
        return in_parts("infra")(module) and not inside_mockrun

    assert violations(modules("opsctl/sandbox"), other_infra) == {}


@pytest.mark.parametrize("part", PARTS)
def test_every_part_is_checked(part: str) -> None:
    assert modules(part), f"{part}/ has no modules: the rules above would pass vacuously"


ARCHITECTURE = ROOT / "docs" / "architecture.md"
# A file or folder path as the document writes it: `opsctl/change/apply.py`, `infra/components/`.
NAMED_FILE = re.compile(r"(?<![\w/.-])((?:[\w-]+/)*[\w-]+\.py)\b")
NAMED_FOLDER = re.compile(rf"(?<![\w/.-])((?:{'|'.join(PARTS)})(?:/\w+)*/)(?![\w/])")


def test_every_path_the_architecture_document_names_exists() -> None:
    # A path that no longer exists sends a newcomer nowhere (a module moved, the document not).
    document = ARCHITECTURE.read_text()
    missing = [path for path in NAMED_FILE.findall(document) if not (ROOT / path).is_file()]
    missing += [path for path in NAMED_FOLDER.findall(document) if not (ROOT / path).is_dir()]
    assert sorted(set(missing)) == []


def test_the_architecture_document_names_every_module_by_its_path() -> None:
    # A newcomer finds any module from docs/architecture.md in one hop, by its path; a package's
    # __init__.py is named with its folder.
    document = ARCHITECTURE.read_text()
    named = set(NAMED_FILE.findall(document)) | set(NAMED_FOLDER.findall(document))

    def is_named(path: Path) -> bool:
        relative = path.relative_to(ROOT)
        if path.name == "__init__.py" and f"{relative.parent.as_posix()}/" in named:
            return True
        return relative.as_posix() in named

    unnamed = [str(path.relative_to(ROOT)) for part in PARTS for path in modules(part)]
    assert [path for path in unnamed if not is_named(ROOT / path)] == []


TESTS = ROOT / "tests"
# Test folders that mirror no package: whole-system tests, and helpers shared by every area.
UNMIRRORED = (TESTS / "e2e", TESTS / "support")


def test_test_files_are_named_after_their_module_or_a_behaviour_no_module_has() -> None:
    # docs/architecture.md ("Tests"): tests/<folder>/test_<name>.py tests <folder>/<name>.py (or
    # the package <folder>/<name>/, or <folder> itself); any other name is a behaviour's, and no
    # module may have it, or its tests would read as that module's, in the wrong folder.
    module_names = {
        path.stem if path.name != "__init__.py" else path.parent.name
        for part in PARTS
        for path in modules(part)
    }
    misplaced = []
    for test in sorted(TESTS.rglob("test_*.py")):
        if any(test.is_relative_to(folder) for folder in UNMIRRORED) or test.parent == TESTS:
            continue
        mirrored = ROOT / test.parent.relative_to(TESTS)
        name = test.stem.removeprefix("test_")
        covers_a_module = (
            (mirrored / f"{name}.py").is_file()
            or (mirrored / name / "__init__.py").is_file()
            or (mirrored.name == name and (mirrored / "__init__.py").is_file())
        )
        if not covers_a_module and name in module_names:
            misplaced.append(str(test.relative_to(ROOT)))
    assert misplaced == []


def test_every_test_folder_mirrors_a_package() -> None:
    folders = {path.parent for path in TESTS.rglob("test_*.py")} - {TESTS}
    unmirrored = [
        str(folder.relative_to(ROOT))
        for folder in sorted(folders)
        if not any(folder.is_relative_to(other) for other in UNMIRRORED)
        and not (ROOT / folder.relative_to(TESTS) / "__init__.py").is_file()
    ]
    assert unmirrored == []


def _type_ignores(path: Path) -> list[tuple[int, str]]:
    lines = path.read_text().splitlines()
    return [(n, line) for n, line in enumerate(lines, start=1) if "# type: ignore" in line]


def test_every_type_ignore_names_its_error_and_why() -> None:
    # mypy checks everything but the tests (pyproject.toml): there, a silenced error says which
    # and why on its line; in the tests, an ignore silences nothing.
    checked = [*(p for part in PARTS for p in modules(part)), *modules("benchmarks")]
    checked.append(ROOT / "__main__.py")
    bare = re.compile(r"# type: ignore(?!\[[a-z-]+(, [a-z-]+)*\]  # \S)")
    unexplained = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in checked
        for n, line in _type_ignores(path)
        if bare.search(line)
    ]
    assert unexplained == []
    this = Path(__file__).resolve()
    tests = [p for p in modules("tests") if p != this]
    in_tests = [f"{p.relative_to(ROOT)}:{n}" for p in tests for n, _ in _type_ignores(p)]
    assert in_tests == []


# A module a reader can hold in mind: past this, it has two jobs or more, and its seams are where
# it splits (docs/architecture.md names each module by its path and its one job).
MAX_MODULE_LINES = 400
SIZED = ("opsctl", "infra", "functions", "stack_topology", "benchmarks", "tests")


def test_no_module_is_over_400_lines() -> None:
    lengths = {
        str(path.relative_to(ROOT)): len(path.read_text().splitlines())
        for part in SIZED
        for path in modules(part)
    }
    assert {path: n for path, n in lengths.items() if n > MAX_MODULE_LINES} == {}
