"""A screening kept in files, not in memory: one Parquet file per partition (whole counties,
in county order), written as each partition's rows arrive from where they were made.

A province screened where its frames are (``read_dataset(folder, lazy=True)`` with
``engine="dask"``) would otherwise gather about 1.1 GB of screening rows per million firms
into this process. Held here, the rows are read back as they are needed: a few columns for
the manifest's counts and ``summary.csv``, a list's rows for the list files, one part at a
time for the county files, and the whole table, in the firms file's order, only when it is
asked for (a notebook's ``result.screening``). The folder is a private temporary one
(``TMPDIR`` chooses where: about 0.33 GB of disk per million firms), removed with the
object; a killed run's, by the next run.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import weakref
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from zjfin._read import join_in_order
from zjfin._write import mark_owner, parquet_table, remove_stale_staging, write_arrow_parquet

__all__ = ["ScreeningParts"]

_PREFIX = "zjfin-screening-"
# Written once and read back within the run: speed over size (lz4 writes about twice as fast as zstd).
_COMPRESSION = "lz4"


class ScreeningParts:
    """The screening's rows as Parquet files, one per partition, and each row's place in
    the firms file (``at``: row ``i`` of the parts read one after the other is firm
    ``at[i]``).

    Examples
    --------
    >>> parts = ScreeningParts(np.array([2, 0, 1]))
    >>> parts.add(pd.DataFrame({"firm_id": ["c", "a"], "list": ["relief", "none"]}))
    >>> parts.add(pd.DataFrame({"firm_id": ["b"], "list": ["relief"]}))
    >>> parts.finish()
    >>> parts.frame()["firm_id"].tolist(), len(parts)
    (['a', 'b', 'c'], 3)
    >>> parts.frame(["list"]).columns.tolist()
    ['list']
    >>> [t.num_rows for t in parts.tables(where=("list", "relief"))]
    [1, 1]
    """

    def __init__(self, at: np.ndarray, folder: str | None = None) -> None:
        self.at = np.asarray(at, dtype=np.int64)
        # A killed run's folder is removed by the next (its owner process gone).
        remove_stale_staging(Path(folder or tempfile.gettempdir()), _PREFIX)
        self.folder = Path(tempfile.mkdtemp(prefix=_PREFIX, dir=folder))
        mark_owner(self.folder)
        self.files: list[Path] = []
        self.rows = 0
        self._pool: ThreadPoolExecutor | None = None
        self._writing: Future | None = None
        # The files go with the object (or at the interpreter's exit), whoever drops it.
        self._remove = weakref.finalize(self, shutil.rmtree, str(self.folder), True)

    def add(self, frame: pd.DataFrame) -> None:
        """The next partition's rows: written on a thread of its own while the caller
        fetches the next (one write at a time, so two partitions here at most)."""
        path = self.folder / f"part-{len(self.files):05d}.parquet"
        self._settle()
        self._writing = self._writer().submit(_write, frame, path)
        self.files.append(path)
        self.rows += len(frame)

    def finish(self) -> None:
        """Wait for the last write (its error raised here: a full disk, say)."""
        self._settle()
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def _writer(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="zjfin-parts")
        return self._pool

    def _settle(self) -> None:
        """Wait for the write in flight (its error, if any, raised here)."""
        writing, self._writing = self._writing, None
        if writing is not None:
            writing.result()

    def __len__(self) -> int:
        return self.rows

    @property
    def columns(self) -> list[str]:
        self._settle()
        return pq.read_schema(self.files[0]).names if self.files else []

    def tables(self, columns: list[str] | None = None, where: tuple[str, str] | None = None) -> Iterator[pa.Table]:
        """Each part's rows as written (their Arrow table: the types and pandas metadata of
        the partition's frame), one at a time; ``columns`` only those, ``where`` only the rows
        whose column (``where[0]``) holds ``where[1]``."""
        self._settle()
        for path in self.files:
            read = None if columns is None else list(dict.fromkeys([*columns, *([where[0]] if where else [])]))
            table = pq.read_table(path, columns=read)
            if where is not None:
                table = table.filter(pc.equal(table[where[0]], pa.scalar(where[1], table.schema.field(where[0]).type)))
                table = table.select(columns) if columns is not None else table
            yield table

    def frames(self, columns: list[str] | None = None, where: tuple[str, str] | None = None) -> Iterator[pd.DataFrame]:
        """:meth:`tables` as frames, with the partitions' own dtypes."""
        for table in self.tables(columns, where):
            yield _frame(table)

    def rows_where(self, column: str, value: str, columns: list[str]) -> pd.DataFrame:
        """Every part's rows whose ``column`` holds ``value`` (their ``columns``), in part
        order, as one frame of one chunk a column: a Parquet file's bytes depend on how its
        columns are chunked (the writer leaves a dictionary past 1 MB at a chunk's batch)."""
        tables = list(self.tables(columns, where=(column, value)))
        return _frame(pa.concat_tables(tables).combine_chunks())

    def frame(self, columns: list[str] | None = None) -> pd.DataFrame:
        """The screening (or its ``columns``) in the firms file's order."""
        if not self.files:
            raise ValueError("no part written")
        return join_in_order(list(self.frames(columns)), self.at)

    def close(self) -> None:
        """Remove the files now."""
        with contextlib.suppress(Exception):  # a write that failed: its error was the caller's to see
            self.finish()
        self._remove()


def _write(frame: pd.DataFrame, path: Path) -> None:
    write_arrow_parquet(parquet_table(frame), path, _COMPRESSION)


def _frame(table: pa.Table) -> pd.DataFrame:
    # The frame's own dtypes back from the pandas metadata; Arrow's buffers let go as converted.
    return table.to_pandas(split_blocks=True, self_destruct=True)
