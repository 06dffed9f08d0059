"""The screening kept in files (zjfin._screening_parts): rows back in the firms file's order,
columns and rows read alone, the folder gone with the object."""

import gc

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zjfin._screening_parts import ScreeningParts


def _frame(n: int, rng: np.random.Generator) -> pd.DataFrame:
    return pd.DataFrame({
        "firm_id": pd.array([f"f{i}" for i in rng.integers(0, 10**6, n)], dtype="str"),
        "list": pd.array(rng.choice(["relief", "none", None], n), dtype="str"),
        "amount": np.where(rng.random(n) < 0.2, np.nan, rng.normal(size=n)),
        "priority": pd.array(np.where(rng.random(n) < 0.3, None, rng.integers(0, 9, n)), dtype="Int64"),
        "flag": pd.array(np.where(rng.random(n) < 0.2, None, rng.random(n) < 0.5), dtype="boolean"),
        "due": pd.to_datetime(rng.integers(0, 10**9, n), unit="s").astype("datetime64[ns]"),
    })


@settings(max_examples=40, deadline=None)
@given(sizes=st.lists(st.integers(0, 30), min_size=1, max_size=6), seed=st.integers(0, 2**32 - 1))
def test_parts_read_back_as_the_table_in_its_order(sizes, seed):
    rng = np.random.default_rng(seed)
    whole = _frame(sum(sizes), rng)
    order = rng.permutation(len(whole))  # the parts hold the rows in another order
    at = np.asarray(order, dtype=np.int64)
    parts = ScreeningParts(at)
    start = 0
    for size in sizes:
        parts.add(whole.iloc[order[start:start + size]].reset_index(drop=True))
        start += size
    assert len(parts) == len(whole)
    pd.testing.assert_frame_equal(parts.frame(), whole)
    pd.testing.assert_frame_equal(parts.frame(["amount", "list"]), whole[["amount", "list"]])
    relief = pd.concat(list(parts.frames(["firm_id"], where=("list", "relief"))), ignore_index=True)
    expected = whole["firm_id"].iloc[order][whole["list"].iloc[order].eq("relief").fillna(False).to_numpy()]
    assert relief["firm_id"].tolist() == expected.tolist() and list(relief.columns) == ["firm_id"]
    parts.close()


def test_the_files_go_with_the_object(tmp_path):
    parts = ScreeningParts(np.arange(2), folder=str(tmp_path))
    parts.add(pd.DataFrame({"x": [1.0, 2.0]}))
    parts.finish()
    folder = parts.folder
    assert folder.parent == tmp_path and len(list(folder.iterdir())) == 1
    del parts
    gc.collect()
    assert not folder.exists()


def test_no_part_is_an_error_not_an_empty_table():
    with pytest.raises(ValueError, match="no part"):
        ScreeningParts(np.arange(0)).frame()


def test_a_write_that_fails_is_an_error_where_the_writing_ends(tmp_path):
    """Parts are written on a thread while the next is fetched: a failed write (here, its
    folder gone) is raised by finish(), never a part silently missing."""
    import shutil

    parts = ScreeningParts(np.arange(2), folder=str(tmp_path))
    parts.add(pd.DataFrame({"x": [1.0]}))
    parts.finish()
    shutil.rmtree(parts.folder)
    parts.add(pd.DataFrame({"x": [2.0]}))
    with pytest.raises(OSError):
        parts.finish()
