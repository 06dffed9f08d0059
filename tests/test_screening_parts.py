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
    assert folder.parent == tmp_path and len(list(folder.glob("*.parquet"))) == 1
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


def test_a_killed_runs_folder_is_removed_by_the_next(tmp_path):
    """A run killed while its screening was in files leaves its folder: the next run removes
    it (its owner process is gone), never one whose owner still runs."""
    import os
    import subprocess
    import sys

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale, alive = tmp_path / "zjfin-screening-old", tmp_path / "zjfin-screening-mine"
    for folder, pid in ((stale, gone.stdout.strip()), (alive, os.getpid())):
        folder.mkdir()
        (folder / ".zjfin-owner").write_text(str(pid))
        (folder / "part-00000.parquet").write_bytes(b"x")
    parts = ScreeningParts(np.arange(0), folder=str(tmp_path))
    assert not stale.exists() and alive.exists() and parts.folder.exists()


def test_a_result_in_files_copied_pickled_or_read_by_threads_keeps_its_rows(tmp_path):
    """The review's cases: a copy of a result, a pickled result, four threads reading the
    screening at once — each gets every row; the files go with the last holder."""
    import copy
    import pickle
    from concurrent.futures import ThreadPoolExecutor

    import zjfin
    from zjfin._screen import _screen

    folder = tmp_path / "in"
    zjfin.datasets.write_partitioned_province(folder, 600, seed=3)
    whole = _screen(zjfin.read_dataset(folder), "2019-03-31").screening

    def lazy():
        return _screen(zjfin.read_dataset(folder, lazy=True), "2019-03-31", partition_firms=100)

    result = lazy()
    files = result._parts.folder
    twin = copy.copy(result)
    pd.testing.assert_frame_equal(result.screening, whole)
    pd.testing.assert_frame_equal(twin.screening, whole)
    packed = pickle.dumps(lazy())
    gc.collect()
    pd.testing.assert_frame_equal(pickle.loads(packed).screening, whole)
    result = lazy()
    with ThreadPoolExecutor(4) as pool:
        for frame in pool.map(lambda _: result.screening, range(4)):
            pd.testing.assert_frame_equal(frame, whole)
    del twin, result
    gc.collect()
    assert not files.exists()


def test_the_screening_read_while_an_export_writes_from_its_files(tmp_path, monkeypatch):
    """Another thread (a notebook's) reads result.screening while the export writes from the
    files: the files stay until the export is done with them."""
    import zjfin
    import zjfin._export
    from zjfin._screen import _screen

    folder = tmp_path / "in"
    zjfin.datasets.write_partitioned_province(folder, 600, seed=3)
    result = _screen(zjfin.read_dataset(folder, lazy=True), "2019-03-31", partition_firms=100)
    commit = zjfin._export.commit
    monkeypatch.setattr(zjfin._export, "commit", lambda *a, **k: (result.screening, commit(*a, **k))[1])
    written = zjfin._export.export_result(result, tmp_path / "out", formats=("parquet",))
    assert sum(name.startswith("screening/") for name in written) > 3 and result._parts is None
