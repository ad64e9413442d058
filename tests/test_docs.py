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


def _anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    kept = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return kept.replace(" ", "-")


LINK = re.compile(r"\]\(([^)#\s]+\.(?:md|json|svg))(?:#([^)\s]+))?\)")


@pytest.mark.parametrize("document", ["README.md", "docs/README.md"])
def test_every_link_of_the_indexes_reaches_a_file_and_its_heading(document: str) -> None:
    source = ROOT / document
    links = LINK.findall(source.read_text())
    assert links
    for target, anchor in links:
        path = (source.parent / target).resolve()
        assert path.is_file(), f"{document}: {target} does not exist"
        if anchor:
            headings = re.findall(r"^#+ (.+)$", path.read_text(), re.M)
            assert anchor in {_anchor(h) for h in headings}, f"{document}: {target}#{anchor}"


def test_the_readme_links_the_docs_index() -> None:
    assert "(docs/README.md)" in (ROOT / "README.md").read_text()
