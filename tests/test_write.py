"""write_csv: the cells made into text in Arrow give the very bytes pandas' to_csv writes
(the independent reference), for every kind of column a list or findings file holds."""

import datetime as dt
from unittest import mock

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from zjfin._arrow import as_text
from zjfin._write import escape_formulas, write_csv

_FLOATS = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from(
    [0.1 + 0.2, 1e16, 1e15, 9999999999999998.0, 123456789012.0, 1234567890123.45, 1e-4, 9.9e-5, 1e-5, 2.5e11, -0.0, 5e-324])
_TEXTS = st.none() | st.text(max_size=6) | st.sampled_from(["a,b", 'x"y', "l\r\nm", "=1", "", " ", "甲，乙", "\t@x"])


def _pandas_bytes(frame: pd.DataFrame) -> bytes:
    text = escape_formulas(frame).to_csv(index=False, date_format="%Y-%m-%d", lineterminator="\r\n")
    return b"\xef\xbb\xbf" + text.encode("utf-8")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_FLOATS, _TEXTS, st.integers(-2**62, 2**62), st.booleans(),
                          st.none() | st.dates(dt.date(1700, 1, 1), dt.date(2200, 1, 1))), max_size=12),
       st.sampled_from([1, 3, 100_000]))
def test_csv_bytes_are_pandas_bytes(tmp_path_factory, rows, batch_rows):
    # Any batch size (rows made into text a batch at a time) gives pandas' bytes.
    frame = pd.DataFrame({
        "金额,元": pd.Series([r[0] for r in rows], dtype=float),  # a header that needs quoting
        "name": as_text([r[1] for r in rows]),
        "count": pd.Series([r[2] for r in rows], dtype="int64"),
        "flag": pd.Series([r[3] for r in rows], dtype=bool),
        "date": pd.Series(pd.to_datetime([r[4] for r in rows]), dtype="datetime64[ns]"),
        "nullable": pd.array([r[2] if r[3] else None for r in rows], dtype="Int64"),
        "maybe": pd.array([r[3] if r[2] % 2 else None for r in rows], dtype="boolean"),
        "text_object": pd.Series([r[1] for r in rows], dtype=object),
    })
    path = tmp_path_factory.mktemp("csv") / "x.csv"
    with mock.patch("zjfin._write._CSV_BATCH_ROWS", batch_rows):
        write_csv(frame, path)
    assert path.read_bytes() == _pandas_bytes(frame)


def test_many_rows_are_written_in_batches(tmp_path, monkeypatch):
    import zjfin._write as write

    monkeypatch.setattr(write, "_CSV_BATCH_ROWS", 7)
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=50) * 1e6, "s": as_text([f"r{i}" if i % 3 else None for i in range(50)])})
    write_csv(frame, tmp_path / "x.csv")
    assert (tmp_path / "x.csv").read_bytes() == _pandas_bytes(frame)


def test_a_column_of_lists_falls_back_to_pandas(tmp_path):
    frame = pd.DataFrame({"members": [["a", "b"], ["c"]], "n": [2, 1]})
    write_csv(frame, tmp_path / "x.csv")
    assert (tmp_path / "x.csv").read_bytes() == _pandas_bytes(frame)


def test_a_list_after_a_batch_of_text_still_falls_back_for_the_whole_file(tmp_path, monkeypatch):
    # Whether pandas writes the file is decided on whole columns, not on the first batch.
    import zjfin._write as write

    monkeypatch.setattr(write, "_CSV_BATCH_ROWS", 2)
    frame = pd.DataFrame({"members": pd.Series(["a", "b", "c", ["d", "e"]], dtype=object), "n": [1, 2, 3, 4]})
    write_csv(frame, tmp_path / "x.csv")
    assert (tmp_path / "x.csv").read_bytes() == _pandas_bytes(frame)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True) | st.none(), max_size=8))
def test_parquet_holds_nulls_never_nan_for_every_float_dtype(tmp_path_factory, values):
    # NumPy, nullable and Arrow-backed floats (the last two can hold NaN beside NA).
    import pyarrow as pa
    import pyarrow.parquet as pq

    from zjfin._write import write_parquet

    nullable = pd.array([np.nan if v is None else v for v in values], dtype="Float64")
    if len(values):
        nullable[0] = np.nan if values[0] is None else values[0]
    arrow = pd.array(pa.array([v for v in values], type=pa.float64(), from_pandas=False), dtype=pd.ArrowDtype(pa.float64()))
    frame = pd.DataFrame({"numpy": pd.Series(values, dtype=float), "numpy32": pd.Series(values, dtype="float32"),
                          "nullable": nullable, "arrow": arrow})
    path = tmp_path_factory.mktemp("p") / "t.parquet"
    write_parquet(frame, path)
    table = pq.read_table(path)
    expected = [v is None or v != v for v in values]  # None and NaN: both missing
    for name in frame.columns:
        column = table.column(name)
        assert column.is_null().to_pylist() == expected, name
        assert not any(v != v for v in column.to_pylist() if v is not None), name
