"""The schema's fast path agrees with pandera (issue 17: series speed).

``casekit.case.load._passes_schema`` calls the schema's check functions directly and skips
pandera's lazy run when a table passes; it may only ever say "passes" when pandera finds
nothing. Tables are drawn from the seed case's own cells mixed with cells that break one
check each (empty, negative, comma-grouped, decimal comma, overflowing, not a number, not
an identifier, unknown word), plus dropped and extra columns.
"""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from casekit.case import schema
from casekit.case.load import _passes_schema

BAD = ["", "-3", "1,470", "1,5", "1e999", "abc", "a b", "7.5x", "99999999", "<b>", "nan"]


def _seed_cells(name: str) -> dict[str, list[str]]:
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "data" / "jlc2022" / name
    if not path.is_file():
        return {}
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    return {c: sorted(set(frame[c]))[:20] for c in frame.columns}


def _pandera_passes(frame: pd.DataFrame, table_schema: pa.DataFrameSchema) -> bool:
    try:
        table_schema.validate(frame, lazy=True)
        return True
    except pa.errors.SchemaErrors:
        return False


@st.composite
def tables(draw):
    name = draw(st.sampled_from(sorted(schema.SCHEMAS)))
    table_schema = schema.SCHEMAS[name]
    seed = _seed_cells(name)
    columns = list(table_schema.columns)
    if draw(st.booleans()) and len(columns) > 1:
        columns.remove(draw(st.sampled_from(columns)))
    if draw(st.integers(0, 5)) == 0:
        columns.append("extra")
    rows = draw(st.integers(0, 4))
    data = {c: [draw(st.sampled_from((seed.get(c) or ["x"]) + BAD)) for _ in range(rows)]
            for c in columns}
    return name, pd.DataFrame(data, columns=columns, dtype=object)


@settings(max_examples=300, deadline=None)
@given(tables())
def test_fast_path_says_passes_only_when_pandera_does(drawn):
    name, frame = drawn
    table_schema = schema.SCHEMAS[name]
    if _passes_schema(frame, table_schema):
        assert _pandera_passes(frame, table_schema), (name, frame.to_dict("list"))


@pytest.mark.parametrize("name", sorted(schema.SCHEMAS))
def test_fast_path_passes_the_seed_tables(name):
    seed = _seed_cells(name)
    if not seed:
        pytest.skip(f"the seed case has no {name}")
    from pathlib import Path

    frame = pd.read_csv(Path(__file__).resolve().parent.parent / "data" / "jlc2022" / name,
                        dtype=str, keep_default_na=False).astype(object)
    assert _passes_schema(frame, schema.SCHEMAS[name])


def test_fast_path_declines_a_failing_cell():
    frame = pd.DataFrame({"event_id": ["a"], "label": ["A"], "category": ["imaging"],
                          "anchor": [""], "offset_days": ["1,5"], "status": ["assumed"],
                          "source": ["why"]}, dtype=object)
    assert not _passes_schema(frame, schema.SCHEMAS["timeline.csv"])
    assert _passes_schema(frame.assign(offset_days="15"), schema.SCHEMAS["timeline.csv"])
