"""The whole collection and a series on a case whose every text column is hostile (issue 20
item 2): every executed notebook's Markdown and HTML outputs, ``report.html`` and
``series.html`` carry no live markup from the case, every CSV output is inert in a
spreadsheet, and the figures stay figure-sized.

The case is :func:`hostile_text.everything_hostile_case`; a fast test checks that it fills
every text column of the schema (so a new column must be added to it) and is still valid.
"""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from conftest import DATA
from hostile_text import (HOSTILE_TEST, IMG, everything_hostile_case, formula_cells,
                          hostile_columns, live_html, notebook_live_markup)

from casekit import cli, render
from casekit.case import validate_case
from casekit.case.schema import SCHEMAS, text_columns

SEED = DATA / "jlc2022"
SHOWN_IMG = render.html(IMG)  # the payload as an HTML page shows it: escaped


def test_the_hostile_case_fills_every_text_column_and_is_valid(tmp_path):
    case = everything_hostile_case(SEED, tmp_path / "hostile")
    every = {(file, column) for file in SCHEMAS for column in text_columns(file)}
    assert every - hostile_columns(case) == set(), "make these hostile in everything_hostile_case"
    assert validate_case(case) == []


def _png_size(path: Path) -> tuple[int, int]:
    return struct.unpack(">II", path.read_bytes()[16:24])


@pytest.mark.slow
def test_run_and_series_on_a_hostile_case_leave_nothing_live(tmp_path):
    case = everything_hostile_case(SEED, tmp_path / "hostile")
    out, series = tmp_path / "out", tmp_path / "series"
    assert cli.main(["run", "--case", str(case), "--out", str(out)]) == 0
    assert cli.main(["series", "--cases", str(case), str(SEED), "--out", str(series),
                     "--jobs", "1"]) == 0

    notebooks = sorted(out.glob("notebooks/*.ipynb")) + sorted(series.glob("notebooks/*.ipynb"))
    assert len(notebooks) == 10
    report = (out / "report.html").read_text(encoding="utf-8")
    page = (series / "series.html").read_text(encoding="utf-8")
    live = [m for nb in notebooks for m in notebook_live_markup(nb)]
    live += [f"report.html {m}" for m in live_html(report)]
    live += [f"series.html {m}" for m in live_html(page)]
    assert live == []
    # ... and the case text was there to be shown, escaped
    assert SHOWN_IMG in report and render.html(HOSTILE_TEST) in page

    tables = sorted(out.rglob("*.csv")) + sorted(series.rglob("*.csv"))
    assert len(tables) > 15
    assert [cell for table in tables for cell in formula_cells(table)] == []

    for png in sorted(out.glob("figures/*.png")) + sorted(series.glob("figures/*.png")):
        width, height = _png_size(png)
        assert width <= 1200 and height <= 2000, (png.name, width, height)
