"""The documents a newcomer reads agree with each other: one cost table, the same in the README
and docs/infra.md, whose totals are the sums of its lines."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
COST_TABLE = re.compile(r"<!-- cost table:.*?-->\n(.*?)<!-- end of cost table -->", re.S)


def cost_table(path: Path) -> str:
    found = COST_TABLE.findall(path.read_text())
    assert len(found) == 1, f"{path}: one cost table expected, found {len(found)}"
    return found[0]


def test_the_cost_table_is_the_same_in_the_readme_and_the_infra_doc() -> None:
    assert cost_table(ROOT / "README.md") == cost_table(ROOT / "docs" / "infra.md")


def _amount(cell: str) -> Decimal:
    return Decimal(cell.strip().strip("*"))


@pytest.mark.parametrize("column", [1, 2], ids=["idle", "per-million"])
def test_the_cost_totals_are_the_sums_of_the_lines(column: int) -> None:
    rows = [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in cost_table(ROOT / "docs" / "infra.md").splitlines()
        if line.startswith("| ") and not line.startswith(("| item", "| ---"))
    ]
    (total,) = [row for row in rows if row[0] == "**total**"]
    lines = [row for row in rows if row[0] != "**total**"]
    assert sum(_amount(row[column]) for row in lines) == _amount(total[column])
