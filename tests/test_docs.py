"""The documents a newcomer reads agree with each other and read well: one cost table, the same in
the README and docs/infra.md, whose totals are the sums of its lines; links that reach; no table
cell longer than a paragraph."""

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


LONGEST_CELL = 300  # characters: about a paragraph; more belongs in prose below the table
DOCUMENTS = ["README.md", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md"))]


def _table_cells(text: str) -> list[tuple[int, str]]:
    """Each cell of each table outside code blocks, with its line number (`\\|` is no border)."""
    cells, fenced = [], False
    for number, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
        if not fenced and line.lstrip().startswith("|"):
            row = re.split(r"(?<!\\)\|", line.strip().strip("|"))
            cells += [(number, cell.strip()) for cell in row]
    return cells


@pytest.mark.parametrize("document", DOCUMENTS)
def test_no_table_cell_is_longer_than_a_paragraph(document: str) -> None:
    long = [
        f"{document}:{number}: a cell of {len(cell)} characters: {cell[:60]}..."
        for number, cell in _table_cells((ROOT / document).read_text())
        if len(cell) > LONGEST_CELL
    ]
    assert not long, "\n".join(long)
