"""Built-in datasets: the synthetic province (SPEC §9)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from zjfin._errors import ParameterError
from zjfin._read import Dataset

__all__ = ["synthetic_province", "write_partitioned_province", "SYNTHETIC_AS_OF"]

#: The synthetic province's natural as-of date: its latest fiscal year is 2018.
SYNTHETIC_AS_OF = "2019-03-31"


def synthetic_province(n_firms: int = 20_000, seed: int = 0, partitioned: bool = False) -> Dataset:
    """A realistic Zhejiang-like province: every input table, with planted cases.

    Parameters
    ----------
    n_firms : int
        Number of firms (at least 200; planted cases included).
    seed : int
        Same seed, same data.
    partitioned : bool
        The province :func:`write_partitioned_province` writes (its counties generated block
        by block, each block from a seed of its own), held in memory: the same rows, in the
        order the written dataset reads back (county by county). Its data differ from the
        default province's (a different stream of random draws).

    Returns
    -------
    Dataset
        With ``planted``: the planted cases and the outcome screening must give
        (columns ``firm_id``, ``case``, ``column``, ``expected``).

    Examples
    --------
    >>> ds = synthetic_province(500, seed=3)
    >>> len(ds.firms), sorted(ds.planted["case"].unique())[:2]
    (500, ['bond_wall', 'guarantee_circle_defaulter'])
    """
    from zjfin.datasets._synthetic import build_tables

    _check(n_firms, seed)
    if partitioned:
        parts: dict[str, list[pd.DataFrame]] = {}
        planted_parts = []
        for _, tables, planted in _counties(n_firms, seed):
            for table, frame in tables.items():
                parts.setdefault(table, []).append(frame)
            planted_parts.append(planted)
        tables = {t: pd.concat(frames, ignore_index=True) for t, frames in parts.items()}
        planted = pd.concat(planted_parts, ignore_index=True)
        name = f"synthetic_province(n_firms={n_firms}, seed={seed}, partitioned=True)"
    else:
        tables, planted = build_tables(n_firms, seed)
        name = f"synthetic_province(n_firms={n_firms}, seed={seed})"
    ds = Dataset(tables, name=name)
    ds.planted = planted
    return ds


def _check(n_firms: Any, seed: Any) -> None:
    if not isinstance(n_firms, int) or isinstance(n_firms, bool) or n_firms < 200:
        raise ParameterError("n_firms", "a whole number ≥ 200", n_firms)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ParameterError("seed", "a whole number ≥ 0", seed)


def _counties(n_firms: int, seed: int):
    """(county code, its tables, the planted cases of its block) county by county in code
    order, one block in memory at a time."""
    import numpy as np

    from zjfin.datasets._synthetic import blocks, build_tables, county_tables

    _check(n_firms, seed)
    for block in blocks(n_firms, seed):
        # The block's seed: a whole number drawn from (the province's seed, the block's number).
        block_seed = int(np.random.SeedSequence([seed, block.number]).generate_state(1, np.uint64)[0] >> 1)
        tables, planted = build_tables(block.firms, block_seed, _block=block)
        first = True
        for code, part in county_tables(tables):
            yield code, part, planted if first else planted.iloc[:0]
            first = False


def write_partitioned_province(path: str | os.PathLike[str], n_firms: int, seed: int = 0) -> dict[str, int]:
    """Write a synthetic province of any size county by county: each table a folder of
    Parquet files, one per county (``firms/330102.parquet``, ``financials/330102.parquet``
    …), which :func:`zjfin.read_dataset` reads as a table in parts. Only one block of
    counties (at least 2,000 firms, one county in a large province) is in memory at a time,
    so the size is bounded by the disk, not by memory. Same arguments, same files.

    The counties are generated in blocks of whole counties, each from its own seed (the
    province's seed and the block's number); every row lives in its firm's county (a
    guarantee in its guarantor's), so guarantees link counties only within a block.

    Returns the rows written per table.

    Examples
    --------
    >>> import tempfile, zjfin
    >>> rows = write_partitioned_province(tempfile.mkdtemp(), 3_000, seed=1)
    >>> rows["firms"]
    3000
    """
    from zjfin._read import write_dataset

    folder = Path(path)
    rows: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="zjfin-county-", dir=folder.parent if folder.parent.exists() else None) as tmp:
        for code, tables, _ in _counties(n_firms, seed):
            for written in write_dataset(Dataset(tables), Path(tmp)):
                table = Path(written).stem
                (folder / table).mkdir(parents=True, exist_ok=True)
                shutil.move(str(written), folder / table / f"{code}.parquet")
                rows[table] = rows.get(table, 0) + len(tables[table])
    return rows
