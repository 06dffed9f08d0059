"""Every Parquet file zjfin writes opens in pandas, pyarrow, DuckDB and Polars (issue 15 §6)."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow.parquet as pq
import pytest

import zjfin

duckdb = pytest.importorskip("duckdb")
polars = pytest.importorskip("polars")


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    res = zjfin.screen(zjfin.datasets.synthetic_province(2000, seed=1), as_of="2019-03-31", n_jobs=1)
    res.export(out)
    files = sorted(out.rglob("*.parquet"))
    assert {f.name for f in files} >= {"screening.parquet", "circles.parquet", "pledges.parquet", "relief.parquet"}
    return files


def test_every_parquet_output_opens_in_every_reader(outputs):
    for path in outputs:
        rows = pq.read_metadata(path).num_rows
        assert len(pd.read_parquet(path)) == rows, path
        assert pq.read_table(path).num_rows == rows, path
        assert duckdb.sql(f"select count(*) from read_parquet('{path}')").fetchall()[0][0] == rows, path
        assert polars.read_parquet(path).height == rows, path


def test_pandas_metadata_names_only_dtypes_every_pandas_rebuilds(outputs):
    # pandas 2.2 and 3.x failed on circles.parquet: 'list<item: string>[pyarrow]' not understood.
    for path in outputs:
        meta = json.loads(pq.read_schema(path).metadata[b"pandas"])
        names = {c["numpy_type"] for c in meta["columns"]}
        assert not {n for n in names if n == "str" or "[pyarrow]" in n or "<" in n}, path


def test_list_columns_come_back_as_lists(outputs):
    circles = next(p for p in outputs if p.name == "circles.parquet")
    frame = pd.read_parquet(circles)
    assert len(frame) and all(len(m) == s for m, s in zip(frame["members"], frame["size"]))
