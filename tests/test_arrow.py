"""Arrow helpers: a take from text in chunks equals a row-by-row reading."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from zjfin._arrow import TEXT, as_text, take_rows

cells = st.one_of(st.none(), st.text(max_size=6))


@settings(max_examples=200, deadline=None)
@given(chunks=st.lists(st.lists(cells, max_size=7), min_size=1, max_size=5), data=st.data())
def test_take_rows_from_text_in_chunks_equals_reading_row_by_row(chunks, data):
    column = as_text(pa.chunked_array([pa.array(c, type=pa.string()) for c in chunks], type=pa.string()))
    flat = [v for c in chunks for v in c]
    positions = np.array(data.draw(st.lists(st.integers(0, max(len(flat) - 1, 0)), max_size=12 if flat else 0)),
                         dtype=np.int64)
    taken = take_rows(column, positions)
    assert taken.dtype == TEXT
    assert list(taken.index) == list(range(len(positions)))
    assert [None if pd.isna(v) else v for v in taken] == [flat[p] for p in positions]


def test_take_rows_keeps_other_columns_types():
    frame = pd.DataFrame({"x": [1.5, np.nan, 3.0], "p": pd.array([2, None, 1], dtype="Int64"),
                          "b": pd.array([True, None, False], dtype="boolean"),
                          "o": pd.Series(["a", None, "b"], dtype=object), "m": pd.Series([1, "x", None], dtype=object)},
                         index=[10, 11, 12])
    for name in frame.columns:
        taken = take_rows(frame[name], np.array([2, 0]))
        pd.testing.assert_series_equal(taken, frame[name].take([2, 0]).reset_index(drop=True))
