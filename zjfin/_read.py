"""Read a dataset folder into typed tables.

Stage 1 of the data flow (read → validate → features → risks → lists → export).
A dataset is a folder with one file per table (``firms.csv``, ``financials.parquet``,
``guarantees.xlsx`` …). Headers may be canonical English names or Chinese labels;
CSV encodings are detected; money is scaled to yuan. Values that cannot be converted to
their column's type become missing and are recorded as findings for validation to judge:
reading never drops a row.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import difflib
import hashlib
import io
import os
import re
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from zjfin._arrow import TEXT, arrow_text, as_text
from zjfin._errors import InputFileError, ParameterError, ZjfinError
from zjfin._schema import TableSchema, header_key, input_tables, table_schema

__all__ = ["Dataset", "Source", "read_dataset", "read_partitioned_table", "read_table", "write_dataset", "MONEY_UNITS"]

#: Multipliers from the accepted money units to yuan.
MONEY_UNITS: dict[str, float] = {"yuan": 1.0, "10k_yuan": 1e4, "100m_yuan": 1e8}
_UNIT_ALIASES = {"元": "yuan", "万元": "10k_yuan", "亿元": "100m_yuan"}
# Decompression budget of an XLSX: this many bytes per byte of the file (real workbooks
# expand 5–20×), and never less than this many bytes.
_XLSX_MAX_EXPANSION = 100
_XLSX_MIN_BUDGET = 64 << 20
_FORMATS = {".csv": "csv", ".txt": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx", ".parquet": "parquet", ".pq": "parquet"}
#: Cell texts that mean "no value" in exported statements.
NULL_TOKENS = ["", "-", "--", "—", "——", "null", "NULL", "Null", "None", "none", "nan", "NaN", "NAN",
               "NA", "N/A", "n/a", "#N/A", "/", "无数据"]
_TRUE = {"true", "t", "yes", "y", "1", "1.0", "是", "有", "√", "✓", "对"}
_FALSE = {"false", "f", "no", "n", "0", "0.0", "否", "无", "×", "✗", "错"}
#: Spreadsheet row of the first data row: the header is row 1.
FIRST_DATA_ROW = 2
_HEADER_UNIT = re.compile(r"[(（\[【]\s*(元|万元|亿元|yuan|10k_yuan|100m_yuan)\s*[)）\]】]\s*$", re.I)
# Share counts whose header states 万股 (10,000 shares), as exchange disclosures give them.
_HEADER_SHARES = re.compile(r"[(（\[【]\s*万股\s*[)）\]】]\s*$")
#: A column whose header names its own unit: its scale, and the decimals a scaled value
#: keeps (money units are in MONEY_UNITS and keep fen).
_STATED_UNITS = {"percent": (0.01, 12), "10k_shares": (1e4, 2)}
_MONEY_DECIMALS = 2
# Dates before this are placeholders (1900-1-1 for "unknown" in bank exports), not dates.
_PLACEHOLDER_BEFORE = np.datetime64("1901-01-01", "ns")
_HEADER_PERCENT = re.compile(r"[(（\[【]\s*[%％]\s*[)）\]】]\s*$")
_FINDING_COLUMNS = ["table", "file", "row", "key", "column", "value", "code"]
# A count written with its unit in the cell (123人): the unit of the column's schema unit.
_CELL_UNITS = {"person": r"\s*(人|名)\s*$", "mu": r"\s*亩\s*$", "day": r"\s*(天|日)\s*$", "tce": r"\s*(吨标准煤|吨标煤)\s*$",
               "t": r"\s*吨\s*$", "share": r"\s*股\s*$"}


@dataclass
class Source:
    """Where a table came from and how it was read (recorded in the manifest)."""

    table: str
    path: str | None
    format: str
    encoding: str | None = None
    unit: str = "yuan"
    sha256: str | None = None
    rows_read: int = 0
    columns: dict[str, str] = field(default_factory=dict)
    ignored_columns: list[str] = field(default_factory=list)
    #: Money columns whose header names its own unit, e.g. 营业收入（万元）: that unit wins.
    column_units: dict[str, str] = field(default_factory=dict)
    #: Ambiguous headers whose values decided their column (column → header), each noted.
    readings: dict[str, str] = field(default_factory=dict)
    #: A table read from a folder of Parquet files: each file (``path`` relative to the
    #: dataset folder, ``sha256``, ``rows_read``, ``first``: its first row's position among
    #: the table's rows). Empty for a table read from one file.
    parts: list[dict[str, Any]] = field(default_factory=list)

    @property
    def label(self) -> str:
        """The name findings give the source: its file's (or its folder's) name."""
        return self.path.rsplit("/", 1)[-1] if self.path else ""

    def file_rows(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The table's row numbers (``_row``: numbered through the parts as if one file)
        as (file, row in that file); rows before the first data row stay the table's."""
        rows = np.asarray(rows, dtype=np.int64)
        label = self.label
        if not self.parts:
            return np.full(len(rows), label, dtype=object), rows
        firsts = np.array([p["first"] for p in self.parts], dtype=np.int64)
        at = np.maximum(np.searchsorted(firsts, rows - FIRST_DATA_ROW, side="right") - 1, 0)
        data = rows >= FIRST_DATA_ROW
        files = np.array([p["path"] for p in self.parts], dtype=object)[at]
        return np.where(data, files, label), np.where(data, rows - firsts[at], rows)

    def table_rows(self, files: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """The inverse of :meth:`file_rows`: (file, row in it) → the table's row number."""
        rows = np.asarray(rows, dtype=np.int64)
        if not self.parts:
            return rows
        first = {p["path"]: p["first"] for p in self.parts}
        offset = pd.Series(np.asarray(files, dtype=object)).map(first).fillna(0).to_numpy(dtype=np.int64)
        return np.where(rows >= FIRST_DATA_ROW, rows + offset, rows)

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "path": self.path,
            "format": self.format,
            "encoding": self.encoding,
            "unit": self.unit,
            "sha256": self.sha256,
            "rows_read": self.rows_read,
            "columns": self.columns,
            "ignored_columns": self.ignored_columns,
            "column_units": self.column_units,
            **({"parts": [{k: v for k, v in p.items() if k != "first"} for p in self.parts]} if self.parts else {}),
        }


class Dataset:
    """Typed input tables of one screening, keyed by table name.

    Each table is a DataFrame with the canonical columns of its schema (missing optional
    columns are present and empty) plus ``_row``, the row as a spreadsheet shows it.
    ``findings`` holds the conversion problems met while reading (validation turns them
    into rejections or warnings).

    A dataset read with ``read_dataset(folder, lazy=True)`` keeps its firms and statements
    held in Parquet parts unread (``in_groups``: a :class:`TableInGroups` each): a screening
    on Dask reads, validates and frames them group by group on its workers; anything else
    that takes such a table reads it whole then.

    Examples
    --------
    >>> ds = Dataset({"firms": pd.DataFrame({"firm_id": ["91330100799655058B"], "name": ["甲"],
    ...     "region_code": ["330102"], "industry_code": ["C1711"], "employees": [30.0]})})
    >>> ds.tables_present()
    ['firms']
    """

    def __init__(
        self,
        tables: Mapping[str, pd.DataFrame],
        sources: Mapping[str, Source] | None = None,
        findings: pd.DataFrame | None = None,
        name: str = "dataset",
    ) -> None:
        self.tables: dict[str, pd.DataFrame] = {}
        self.sources: dict[str, Source] = dict(sources or {})
        extra: list[pd.DataFrame] = [] if findings is None else [findings]
        for table, frame in tables.items():
            schema = table_schema(table)
            if schema.kind != "input":
                raise ParameterError("table", "an input table", table)
            if "_row" in frame.columns and set(schema.names) <= set(frame.columns):
                self.tables[table] = frame  # already typed by the reader
                continue
            typed, problems = _conform_frame(frame, schema, table, None, "yuan")
            self.tables[table] = typed
            extra.append(problems)
            self.sources.setdefault(table, Source(table, None, "memory", rows_read=len(typed)))
        self.findings = _concat_findings(extra)
        self.name = name
        # Optional extras (the synthetic province records its planted cases here).
        self.planted: pd.DataFrame | None = None
        self.in_groups: dict[str, TableInGroups] = {}

    def __getitem__(self, table: str) -> pd.DataFrame:
        if table in self.in_groups:
            self.read_whole(table)
        return self.tables[table]

    def __contains__(self, table: str) -> bool:
        return table in self.tables or table in self.in_groups

    def __getattr__(self, table: str) -> pd.DataFrame:
        if table in self.__dict__.get("tables", {}) or table in self.__dict__.get("in_groups", {}):
            return self[table]
        raise AttributeError(table)

    def read_whole(self, table: str) -> None:
        """Read a table kept in its parts (``in_groups``) as a whole, as ``read_dataset`` does."""
        groups = self.in_groups.pop(table)
        self.tables[table], self.sources[table], found = read_partitioned_table(groups.folder, table, groups.unit)
        self.findings = _concat_findings([self.findings, found])

    def __dir__(self) -> list[str]:
        # Tab completion lists the tables beside the methods (they are attributes too).
        return sorted({*super().__dir__(), *self.__dict__.get("tables", {})})

    def tables_present(self) -> list[str]:
        """Input tables the dataset has, in reading order."""
        return [t for t in input_tables() if t in self]

    def __repr__(self) -> str:
        parts = ", ".join(f"{t}={len(self.tables[t]):,}" if t in self.tables else f"{t}=(in parts, unread)"
                          for t in self.tables_present())
        return f"<zjfin.Dataset {self.name!r}: {parts}>"


def _concat_findings(frames: list[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if f is not None and len(f)]
    if not frames:
        return _empty_findings()
    return pd.concat(frames, ignore_index=True)[_FINDING_COLUMNS]


def _empty_findings() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="int64" if c == "row" else object) for c in _FINDING_COLUMNS})


# --------------------------------------------------------------------------------------
# locating and reading files


def _resolve_unit(unit: str | Mapping[str, str] | None, table: str) -> str:
    if unit is None:
        value = "yuan"
    elif isinstance(unit, str):
        value = unit
    elif isinstance(unit, Mapping):
        unknown = set(unit) - set(input_tables()) - {"default"}
        if unknown:
            raise ParameterError("unit", f"keyed by input table names ({', '.join(input_tables())})", sorted(unknown))
        value = unit.get(table, unit.get("default", "yuan"))
    else:
        raise ParameterError("unit", "a string or a mapping of table to unit", unit)
    value = _UNIT_ALIASES.get(value, value)
    if value not in MONEY_UNITS:
        raise ParameterError("unit", f"one of {', '.join(MONEY_UNITS)}", value)
    return value


def _table_stems() -> dict[str, str]:
    """Every file stem (header key of a table name or alias) and its table."""
    return {header_key(stem): table for table in input_tables() for stem in (table, *table_schema(table).aliases)}


def _closest_table(stem: str) -> str | None:
    """The table a file name most resembles (``guarantee`` → ``guarantees``), if any."""
    stems = _table_stems()
    match = difflib.get_close_matches(header_key(stem), list(stems), n=1, cutoff=0.75)
    return stems[match[0]] if match else None


def _find_table_files(folder: Path) -> tuple[dict[str, Path], list[Path]]:
    """Match the files of a folder to tables by file stem (name or alias); also return the
    data files that match no table."""
    stems = _table_stems()
    found: dict[str, Path] = {}
    unmatched: list[Path] = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith((".", "~$")):
            continue
        named = stems.get(header_key(path.stem if path.suffix.lower() in _FORMATS else path.name))
        if path.is_dir() and named is not None and path.suffix.lower() not in _FORMATS:
            # A folder named after a table: the table in parts (Parquet files, hive-style
            # folders such as county=330102 allowed).
            if named in found:
                raise InputFileError(path, f"a second source for table {named!r} (the first is {found[named].name})")
            found[named] = path
            continue
        if not path.is_file():
            # A path that names a table but is no file (a dangling link, a folder named
            # like a file) is an unreadable table, not an absent one: screening without it
            # would switch a risk off.
            if named is not None:
                what = "a folder" if path.is_dir() else "a broken link" if path.is_symlink() else "not a regular file"
                raise InputFileError(path, f"names table {named!r} but is {what}")
            continue
        if path.suffix.lower() not in _FORMATS:
            table = stems.get(header_key(path.stem))
            if table is not None and path.suffix:
                raise InputFileError(path, f"names table {table!r} but zjfin does not read {path.suffix} files: "
                                           "save it as .xlsx, .csv or .parquet")
            continue
        table = named
        if table is None:
            unmatched.append(path)
            continue
        if table in found:
            raise InputFileError(path, f"a second source for table {table!r} (the first is {found[table].name})")
        found[table] = path
    return found, unmatched


def _unmatched_findings(unmatched: list[Path]) -> pd.DataFrame:
    """One warning per data file that is not read, naming the table it may be meant for."""
    if not unmatched:
        return _empty_findings()
    guesses = [_closest_table(p.stem) for p in unmatched]
    return pd.DataFrame({
        "table": [g or "" for g in guesses], "file": [p.name for p in unmatched], "row": 0, "key": "", "column": "",
        "value": [f"{p.name} → {g}?" if g else p.name for p, g in zip(unmatched, guesses)], "code": "unmatched_file"})


def read_dataset(
    path: str | os.PathLike[str],
    unit: str | Mapping[str, str] | None = None,
    lazy: bool = False,
) -> Dataset:
    """Read a dataset folder.

    Parameters
    ----------
    path : str or path
        Folder with one file per table, named after the table (``firms.csv``,
        ``financials.parquet``, ``guarantees.xlsx`` …), or a folder of Parquet files
        named after the table (:func:`read_partitioned_table`). Only ``firms`` and
        ``financials`` are required; a missing optional table switches its risk off.
    unit : {"yuan", "10k_yuan", "100m_yuan"} or mapping, optional
        Money unit of the files: one for the dataset, or ``{"financials": "10k_yuan",
        "default": "yuan"}`` per table. Chinese names 元/万元/亿元 are accepted.
    lazy : bool
        Keep ``firms`` and ``financials`` unread where each is a folder of Parquet parts
        (``Dataset.in_groups``): ``zjfin.screen(..., engine="dask")`` then reads, validates
        and frames them a folder of parts (a county) at a time on its workers, so this
        process never holds them; taken any other way, such a table is read whole then.
        Their parts are listed here but read only then: a part that cannot be read is
        refused at that time (with the same message), not by ``read_dataset``.

    Returns
    -------
    Dataset

    Raises
    ------
    InputFileError
        A file that cannot be read at all, or a required table or column is missing.

    Examples
    --------
    >>> import tempfile, zjfin
    >>> folder = tempfile.mkdtemp()
    >>> _ = zjfin.write_dataset(zjfin.datasets.synthetic_province(300, seed=1), folder)
    >>> ds = zjfin.read_dataset(folder)
    >>> len(ds.firms)
    300
    """
    folder = Path(path)
    if not folder.is_dir():
        raise InputFileError(folder, "is not a folder (a dataset is a folder with one file per table)")
    files, unmatched = _find_table_files(folder)
    for table in input_tables():
        if table_schema(table).required and table not in files:
            accepted = ", ".join(f"{table}{ext}" for ext in (".csv", ".xlsx", ".parquet"))
            near = [p.name for p in unmatched if _closest_table(p.stem) == table]
            hint = f"; {near[0]} looks like it: rename it {table}{Path(near[0]).suffix}" if near else ""
            raise InputFileError(folder, f"required table {table!r} is missing (expected a file such as {accepted}){hint}")
    kept = {t: TableInGroups(files[t], t, _resolve_unit(unit, t)) for t in _IN_GROUPS if t in files and files[t].is_dir()
            } if lazy else {}
    tables, sources, findings = {}, {}, [_unmatched_findings(unmatched)]
    read = _read_side_by_side({t: files[t] for t in input_tables() if t in files and t not in kept}, unit)
    for table, (frame, source, problems) in read.items():  # firms first, whatever the file names
        tables[table], sources[table] = frame, source
        findings.append(problems)
    dataset = Dataset(tables, sources, _concat_findings(findings), name=folder.name)
    dataset.in_groups = kept
    return dataset


#: The tables a lazy read keeps in their parts: the firms and their statements, the ones a
#: province's size is in (the others refer to firms and are small beside them).
_IN_GROUPS = ("firms", "financials")


def _read_side_by_side(files: dict[str, Path], unit: str | Mapping[str, str] | None) -> dict[str, tuple[pd.DataFrame, Source, pd.DataFrame]]:
    """Each table's file read, the largest beside the others (on a thread of their own) where
    there are two cores (Arrow's decoding and NumPy's copies release the GIL: 1M firms,
    3.0 → 2.4 s). Results in the order of ``files``; the first table's failure in that
    order is raised, whatever finished first."""

    def read(table: str) -> tuple[pd.DataFrame, Source, pd.DataFrame]:
        reader = read_partitioned_table if files[table].is_dir() else read_table
        return reader(files[table], table, unit=_resolve_unit(unit, table))

    if (os.cpu_count() or 1) < 2 or len(files) < 2:
        return {table: read(table) for table in files}
    largest = max(files, key=lambda t: _bytes_on_disk(files[t]))
    others = [t for t in files if t != largest]

    def read_others() -> dict[str, tuple[bool, Any]]:
        outcome = {}
        for table in others:
            try:  # a failure is raised below, in table order
                outcome[table] = (True, read(table))
            except Exception as exc:
                outcome[table] = (False, exc)
        return outcome

    # The largest table on this thread: what its reading frees is reused by the stages
    # that follow here (memory a finished thread freed stays in its allocator arena).
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="zjfin-read") as pool:
        beside = pool.submit(read_others)
        try:
            outcome = {largest: (True, read(largest))}
        except Exception as exc:
            outcome = {largest: (False, exc)}
        outcome.update(beside.result())
    for table in files:
        done, value = outcome[table]
        if not done:
            raise value
    return {table: outcome[table][1] for table in files}


def _bytes_on_disk(path: Path) -> int:
    """A table's size on disk: its file's, or the sum of a folder's files."""
    try:
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else path.stat().st_size
    except OSError:
        return 0


def read_table(path: str | os.PathLike[str], table: str, unit: str = "yuan") -> tuple[pd.DataFrame, Source, pd.DataFrame]:
    """Read one table file: returns (typed frame, source, conversion findings).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "firms.csv"
    >>> _ = p.write_text("统一社会信用代码,企业名称,行政区划代码,行业代码,从业人员\\n91330100799655058B,甲公司,330102,C1711,abc\\n", encoding="gbk")
    >>> frame, source, findings = read_table(p, "firms")
    >>> source.encoding, findings.loc[0, "code"]
    ('gb18030', 'bad_number')
    """
    path = Path(path)
    return _read_file(path, table, _resolve_unit(unit, table), path.name)


def _read_file(path: Path, table: str, unit: str, label: str,
               constants: Mapping[str, str | None] | None = None) -> tuple[pd.DataFrame, Source, pd.DataFrame]:
    """:func:`read_table`, with findings naming the file ``label`` and ``constants``
    (header → value, from a partition folder's name) as columns the file lacks."""
    schema = table_schema(table)
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputFileError(path, f"unknown file type {path.suffix!r} (use .csv, .xlsx or .parquet)")
    with _digest_beside(path) as digest:
        source = Source(table, str(path), fmt, unit=unit)
        try:
            ragged: dict[int, int] = {}
            if fmt == "csv":
                raw, source.encoding, ragged = _read_csv(path.read_bytes(), path, schema)
            elif fmt == "xlsx":
                raw = _read_xlsx(path.read_bytes(), path)
            else:
                raw = _read_parquet(path)
        except ZjfinError:
            raise
        except Exception as exc:  # any parser failure: the file is unusable as a whole
            raise _unreadable(path, fmt, exc) from None
        source.sha256 = digest()
    if constants:
        # A partition folder's column only where the file has no column of that meaning.
        mapping = schema.header_map()
        present = {mapping.get(header_key(h), h) for h in raw.columns}
        for header, value in constants.items():
            if header not in raw.columns and mapping.get(header_key(header), header) not in present:
                raw[header] = pd.Series([value] * len(raw), index=raw.index, dtype=object)
    raw = _rename_headers(raw, schema, path, source)
    frame, findings = _conform_frame(raw, schema, table, label, unit, source.column_units)
    if ragged:
        rows = np.fromiter(ragged, dtype=np.int64)
        keys = frame.set_index("_row").loc[rows, schema.primary_key[0] if schema.primary_key else schema.names[0]]
        findings = _concat_findings([findings, pd.DataFrame({
            "table": table, "file": label, "row": rows, "key": cell_text(keys.reset_index(drop=True)),
            "column": "", "value": [f"{ragged[r]} of {len(raw.columns) + len(source.ignored_columns)} fields" for r in rows],
            "code": "wrong_field_count"})])
    if source.readings and len(frame):
        key = schema.primary_key[0] if schema.primary_key else schema.names[0]
        findings = _concat_findings([findings, *(
            _note(table, label, frame["_row"].to_numpy()[:1], cell_text(frame[key].iloc[:1]), column,
                  np.array([f"{header} → {column}"], dtype=object), "header_read_as")
            for column, header in source.readings.items())])
    source.rows_read = len(frame)
    return frame, source, findings


def read_partitioned_table(folder: str | os.PathLike[str], table: str,
                           unit: str = "yuan") -> tuple[pd.DataFrame, Source, pd.DataFrame]:
    """Read a table held as a folder of Parquet files: returns (typed frame, source,
    conversion findings), as :func:`read_table` does for one file.

    Every ``.parquet`` file under ``folder`` is a part, read in the order of its path
    (files and folders whose names start with ``.`` or ``_``, such as ``_SUCCESS``, are
    skipped, as Arrow and Spark do). A folder named ``key=value`` (hive style, e.g.
    ``county=330102``) gives the files under it the column ``key``, when they lack it;
    a key that is no column of the table is noted as an unknown column. Each finding names
    the part's path and its row in that file; ``source.parts`` lists each part's rows and
    checksum, and ``source.sha256`` is the checksum of that list.

    Examples
    --------
    >>> import tempfile, pathlib, zjfin
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> _ = zjfin.write_dataset(zjfin.datasets.synthetic_province(300, seed=1), root)
    >>> firms = pd.read_parquet(root / "firms.parquet")
    >>> (root / "firms" / "county=a").mkdir(parents=True)
    >>> firms.iloc[:100].to_parquet(root / "firms" / "county=a" / "part-0.parquet")
    >>> firms.iloc[100:].to_parquet(root / "firms" / "part-1.parquet")
    >>> frame, source, _ = read_partitioned_table(root / "firms", "firms")
    >>> len(frame), [(p["path"], p["rows_read"]) for p in source.parts]
    (300, [('firms/county=a/part-0.parquet', 100), ('firms/part-1.parquet', 200)])
    """
    folder = Path(folder)
    unit = _resolve_unit(unit, table)
    files = _part_files(folder)
    alike = _read_alike_parts(folder, files, table, unit)
    return alike if alike is not None else _read_part_by_part(folder, files, table, unit)


class TableInGroups:
    """A table held as a folder of Parquet parts, read one group of parts at a time — the
    parts under one folder (``county=330102/…``), or a part of its own where it lies in the
    table's folder itself (``330102.parquet``), in path order — so that a caller holds a
    group, never the table: iterating gives each group's (key, typed frame, findings), its rows
    numbered through the parts and its findings naming each part and row, as
    :func:`read_partitioned_table` reads them. ``keys`` name the groups (the folder, or the
    part's name without its suffix: two tables' groups of one county share it). ``source``
    is complete, every part's rows and checksum, once every group is read. A key that comes
    again after another group's parts is numbered (``330102~2``): every key names one group.

    Examples
    --------
    >>> import tempfile, pathlib, zjfin
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> firms = zjfin.datasets.synthetic_province(300, seed=1).firms.drop(columns="_row")
    >>> for k, county in enumerate(["330102", "330106"]):
    ...     (root / "firms" / f"county={county}").mkdir(parents=True)
    ...     firms.iloc[150 * k: 150 * (k + 1)].to_parquet(root / "firms" / f"county={county}" / "part-0.parquet")
    >>> groups = TableInGroups(root / "firms", "firms")
    >>> [(key, len(frame), int(frame["_row"].iloc[0])) for key, frame, _ in groups]
    [('county=330102', 150, 2), ('county=330106', 150, 152)]
    >>> groups.source.rows_read, len(groups.source.parts)
    (300, 2)
    """

    def __init__(self, folder: str | os.PathLike[str], table: str, unit: str = "yuan") -> None:
        self.folder, self.table, self.unit = Path(folder), table, _resolve_unit(unit, table)
        self.files = _part_files(self.folder)
        where = [(path.parent if path.parent != self.folder else path.with_suffix("")).relative_to(self.folder).as_posix()
                 for path in self.files]  # in path order: a folder's parts side by side
        bounds = [0, *(k for k in range(1, len(where)) if where[k] != where[k - 1]), len(where)]
        self.groups = [self.files[a:b] for a, b in zip(bounds, bounds[1:])]
        self.keys = _unique_keys([where[a] for a in bounds[:-1]])
        self.source = Source(table, str(self.folder), "parquet", unit=self.unit)

    def __iter__(self) -> Iterator[tuple[str, pd.DataFrame, pd.DataFrame]]:
        schema, first = table_schema(self.table), 0
        seen: dict[str, tuple[Any, str]] = {}  # how the parts before read each column: every part reads it so
        self.source = Source(self.table, str(self.folder), "parquet", unit=self.unit)
        for key, files in zip(self.keys, self.groups):
            alike = _read_alike_parts(self.folder, files, self.table, self.unit)
            if alike is None:
                frame, source, findings = _read_part_by_part(self.folder, files, self.table, self.unit, seen)
            else:
                frame, source, findings = alike
                none = _empty_findings()
                for part in source.parts:  # alike parts read no header by its values: only their rates count
                    rows = slice(part["first"], part["first"] + part["rows_read"])
                    _same_reading(seen, source, none, frame.iloc[rows], schema, part["path"])
            frame["_row"] = frame["_row"].to_numpy() + first  # numbered through the table's parts
            self.source.parts += [{**part, "first": part["first"] + first} for part in source.parts]
            self.source.columns.update(source.columns)
            self.source.ignored_columns += [c for c in source.ignored_columns if c not in self.source.ignored_columns]
            self.source.readings.update(source.readings)
            self.source.column_units.update(source.column_units)
            first += len(frame)
            yield key, frame, findings
        _seal_parts(self.source)


def _unique_keys(keys: list[str]) -> list[str]:
    """Group keys made unique in path order: a key that comes again after another's parts
    (``330102.parquet``, ``330102.x.parquet``, ``330102/part-0.parquet``) is numbered
    (``330102~2``), so no group stands for another."""
    taken, unique = set(keys), []
    used: set[str] = set()
    for key in keys:  # a loop over groups (counties), not rows
        candidate, n = key, 1
        while candidate in used or (n > 1 and candidate in taken):  # nor a name a part has
            n += 1
            candidate = f"{key}~{n}"
        used.add(candidate)
        unique.append(candidate)
    return unique


def _read_part_by_part(folder: Path, files: list[Path], table: str, unit: str,
                       seen: dict[str, tuple[Any, str]] | None = None) -> tuple[pd.DataFrame, Source, pd.DataFrame]:
    """Each part read as a file of its own, then the parts joined: for parts that differ.
    ``seen``: how earlier parts read each column (:func:`_same_reading`), for a table read
    a group of parts at a time."""
    merged = Source(table, str(folder), "parquet", unit=unit)
    frames, findings, first = [], [], 0
    seen = {} if seen is None else seen
    for path in files:
        label = path.relative_to(folder.parent).as_posix()
        hive = _hive_values(path.relative_to(folder))
        frame, source, problems = _read_file(path, table, unit, label, hive)
        frame["_row"] = frame["_row"].to_numpy() + first  # numbered through the parts, as one file
        frames.append(frame)
        findings.append(problems)
        merged.parts.append({"path": label, "sha256": source.sha256, "rows_read": len(frame), "first": first,
                             # the file's own unknown columns (a partition key is the folder's)
                             "ignored_columns": [c for c in source.ignored_columns if c not in hive]})
        _same_reading(seen, source, problems, frame, table_schema(table), label)
        merged.columns.update(source.columns)
        merged.ignored_columns += [c for c in source.ignored_columns if c not in merged.ignored_columns]
        merged.readings.update(source.readings)
        merged.column_units.update(source.column_units)
        first += len(frame)
    _seal_parts(merged)
    return _join_parts(frames), merged, _concat_findings(findings)


def join_in_order(pieces: list[pd.DataFrame], at: np.ndarray) -> pd.DataFrame:
    """Groups' rows joined, row ``i`` the one at position ``at``'s rank ``i`` (groups with no
    row left out: an empty frame's columns may be typed otherwise). The pieces are let go as
    they are copied."""
    full = [p for p in pieces if len(p)] or pieces[:1]
    pieces.clear()
    if np.all(at[1:] > at[:-1]):  # groups of parts in path order: already the table's order
        return _join_parts(full).reset_index(drop=True)
    joined = pd.concat(full, ignore_index=True)
    return joined.take(np.argsort(at, kind="stable")).reset_index(drop=True)


def _seal_parts(source: Source) -> None:
    """A table read in parts: its rows and its checksum, that of the list of its parts."""
    listing = "".join(f"{p['path']}\t{p['sha256']}\n" for p in source.parts)
    source.sha256 = hashlib.sha256(listing.encode("utf-8")).hexdigest()
    source.rows_read = sum(p["rows_read"] for p in source.parts)


def _read_alike_parts(folder: Path, files: list[Path], table: str,
                      unit: str) -> tuple[pd.DataFrame, Source, pd.DataFrame] | None:
    """Parts alike (Parquet files of one Arrow schema under the same partition keys, as one
    writer makes them) read as one file is, in batches of about 250,000 rows: a batch's
    Arrow tables joined (no copy) and typed at once, the typed batches then joined column by
    column; each finding named by its part and its row there. What :func:`_read_part_by_part`
    decides part by part from a part's values (an ambiguous header, rates in per cent, a unit
    in the cells, keys made from file and row) is left to it: ``None``.

    Typing a part has a fixed cost (a few pandas calls a column: about 10 ms a part), so
    parts read one by one took 3.7 times as long as one file (1M firms in 89 counties: 9 s
    against 2.6 s), and the typed parts were then joined again."""
    if len(files) < 2 or any(_FORMATS.get(path.suffix.lower()) != "parquet" for path in files):
        return None
    schema = table_schema(table)
    hives = [_hive_values(path.relative_to(folder)) for path in files]
    try:
        footers = [pq.read_metadata(path) for path in files]
        arrow = [footer.schema.to_arrow_schema() for footer in footers]
    except Exception:  # an unreadable part: said so, with its path, when read on its own
        return None
    if any(not a.equals(arrow[0]) for a in arrow[1:]) or any(h.keys() != hives[0].keys() for h in hives[1:]):
        return None
    ambiguous = {header_key(h) for h in schema.raw.get("ambiguous_headers", {})}
    mapping = schema.header_map()
    # A partition folder's column only where the files have no column of that meaning.
    present = {mapping.get(header_key(n), n) for n in arrow[0].names}
    constants = [k for k in hives[0] if k not in arrow[0].names and mapping.get(header_key(k), k) not in present]
    for name, kind in [*zip(arrow[0].names, arrow[0].types), *((k, pa.string()) for k in constants)]:
        canonical = mapping.get(header_key(name))
        unit_in_cells = canonical is not None and schema.column(canonical).unit in _CELL_UNITS
        if header_key(name) in ambiguous or (unit_in_cells and not (pa.types.is_integer(kind) or pa.types.is_floating(kind))):
            return None
    if schema.raw.get("generate_key") and schema.primary_key and not any(
            mapping.get(header_key(n)) == schema.primary_key[0] for n in arrow[0].names):
        return None  # keys made from each file's name and row

    rows_read = [footer.num_rows for footer in footers]
    firsts = np.concatenate([[0], np.cumsum(rows_read)]).astype(np.int64)
    merged = Source(table, str(folder), "parquet", unit=unit)
    table_rows, findings = _Filling(int(firsts[-1])), []
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="zjfin-digest") as pool:
        digests = [pool.submit(_sha256, path) for path in files]  # beside the reading (outside the GIL)
        for batch in _batches(rows_read, _BATCH_ROWS):
            typed = _read_batch([files[k] for k in batch], [hives[k] for k in batch], constants, schema, table, unit,
                                merged.label, firsts[batch[0]:batch[-1] + 2] - firsts[batch[0]])
            if typed is None:
                return None
            frame, problems, read_as = typed
            if not findings:  # the parts' headers are alike: the first batch's reading is every one's
                merged.columns, merged.column_units = read_as.columns, read_as.column_units
                merged.ignored_columns = read_as.ignored_columns
            frame["_row"] = frame["_row"].to_numpy() + firsts[batch[0]]  # numbered through the parts, as one file
            table_rows.add(frame)
            del frame
            findings.append(problems.assign(row=problems["row"].to_numpy(dtype=np.int64) + firsts[batch[0]]))
        sums = []
        for path, future in zip(files, digests):
            try:
                sums.append(future.result())
            except OSError as exc:
                raise _unreadable(path, "parquet", exc) from None
    labels = [path.relative_to(folder.parent).as_posix() for path in files]
    ignored = [c for c in merged.ignored_columns if c not in hives[0]]
    merged.parts = [{"path": label, "sha256": digest, "rows_read": n, "first": int(first), "ignored_columns": ignored}
                    for label, digest, n, first in zip(labels, sums, rows_read, firsts)]
    _seal_parts(merged)
    found = _concat_findings(findings)
    if len(found):
        # Each finding on its part's file and row there, the parts' findings in part order.
        rows = found["row"].to_numpy(dtype=np.int64)
        at = np.searchsorted(firsts, rows - FIRST_DATA_ROW, side="right") - 1
        files_, rows_ = merged.file_rows(rows)
        found = found.assign(file=files_, row=rows_).iloc[np.argsort(at, kind="stable")].reset_index(drop=True)
    return table_rows.frame(), merged, found


class _Filling:
    """A table's typed columns filled batch by batch into arrays made once for every row
    (text as Arrow chunks, joined without a copy): joining the typed batches afterwards
    wrote the table a second time onto fresh pages (9 of the 24 s an 8M-firm province's
    statements took to read)."""

    def __init__(self, rows: int) -> None:
        self.rows, self.at = rows, 0
        self.columns: dict[str, Any] = {}

    def add(self, frame: pd.DataFrame) -> None:
        n = len(frame)
        for name, column in frame.items():
            filled = self.columns.get(name)
            if isinstance(column.dtype, np.dtype) and (filled is None and not self.at
                                                       or isinstance(filled, np.ndarray) and filled.dtype == column.dtype):
                if filled is None:
                    filled = self.columns[name] = np.empty(self.rows, dtype=column.dtype)
                filled[self.at:self.at + n] = column.to_numpy()
                continue
            if isinstance(filled, np.ndarray):  # a batch typed otherwise: the rows so far as a piece
                filled = self.columns[name] = [pd.Series(filled[:self.at].copy())]
            # Text and nullable columns: their pieces, joined once.
            self.columns.setdefault(name, []).append(column)
        self.at += n

    def frame(self) -> pd.DataFrame:
        out = {}
        for name in list(self.columns):
            filled = self.columns.pop(name)
            if isinstance(filled, np.ndarray):
                out[name] = pd.Series(filled, copy=False)
            elif all(piece.dtype == TEXT for piece in filled):
                out[name] = as_text(pa.chunked_array([chunk for piece in filled for chunk in arrow_text(piece).chunks],
                                                     type=pa.string()))
            else:
                out[name] = pd.concat(filled, ignore_index=True)
        return pd.DataFrame(out, index=pd.RangeIndex(self.rows), copy=False)


# Rows typed at once from parts alike: few enough that a batch's Arrow, raw and typed columns
# are a small share of the table (an 8M-firm province's statements are 24M rows), many
# enough that a part's fixed cost is paid a few times, not once a part.
_BATCH_ROWS = 250_000


def _batches(rows: list[int], limit: int) -> list[list[int]]:
    """Consecutive parts, each batch up to ``limit`` rows (a larger part alone).

    Examples
    --------
    >>> _batches([400, 400, 400, 1500, 0, 10], 1000), _batches([0, 0], 1000)
    ([[0, 1], [2], [3], [4, 5]], [[0, 1]])
    """
    batches: list[list[int]] = []
    total = 0
    for k, n in enumerate(rows):
        if not batches or total + n > limit:
            batches.append([])
            total = 0
        batches[-1].append(k)
        total += n
    return batches


def _read_batch(files: list[Path], hives: list[dict[str, str | None]], constants: list[str], schema: TableSchema,
                table: str, unit: str, label: str,
                firsts: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame, Source] | None:
    """Parts alike typed as one file (rows numbered from the batch's first): (frame,
    findings, how the headers were read); ``None`` where a part's rates read as per cent
    (judged part by part)."""
    source = Source(table, None, "parquet", unit=unit)
    parts = []
    for path, hive in zip(files, hives):
        try:
            part = _parquet_table(path)
        except Exception as exc:  # any parser failure: the file is unusable as a whole
            raise _unreadable(path, "parquet", exc) from None
        for key in constants:
            part = part.append_column(key, pa.array([hive[key]] * part.num_rows, type=pa.string()))
        if not parts:  # its headers judged before the next part is read, as part by part: the same error first
            _rename_headers(_arrow_to_raw(part.slice(0, 0)), schema, path, Source(table, None, "parquet", unit=unit))
        parts.append(part)
    joined = pa.concat_tables(parts)
    del parts  # each column's buffers go as it is converted
    raw = _arrow_to_raw(joined)
    del joined
    raw = _rename_headers(raw, schema, files[0], source)
    for column in schema.columns:
        # Rates in per cent without their sign are judged part by part: each such part is noted.
        if (column.name in raw.columns and column.type == "float" and column.unit == "ratio"
                and column.name not in source.column_units):
            values = raw[column.name]
            if not pd.api.types.is_numeric_dtype(values.dtype):
                return None
            values = values.to_numpy(dtype=float, na_value=np.nan)
            if _reads_as_percent(values) or any(_reads_as_percent(values[a:b]) for a, b in zip(firsts, firsts[1:])):
                return None
    return (*_conform_frame(raw, schema, table, label, unit, source.column_units), source)


def _join_parts(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """The typed parts as one frame, filled in part by part (:class:`_Filling`), each part let
    go once copied: the table is held about once, not twice as ``pd.concat`` holds it (every
    part, then the whole: 16 GB to read an 8M-firm province in parts)."""
    if len(frames) == 1:
        return frames[0]
    names = list(frames[0].columns)
    # Parts typed alike have the same columns; a name twice, or other columns, pandas joins.
    if len(set(names)) < len(names) or any(list(f.columns) != names for f in frames[1:]):
        return pd.concat(frames, ignore_index=True)
    table = _Filling(sum(len(f) for f in frames))
    while frames:
        table.add(frames.pop(0))
    return table.frame()


def _same_reading(seen: dict[str, tuple[Any, str]], part: Source, findings: pd.DataFrame, frame: pd.DataFrame,
                  schema: TableSchema, label: str) -> None:
    """Refuse a part that reads a column differently from the parts before it where the
    reading depends on the values (a rate written in per cent without its sign, an
    ambiguous header): one file holding both would be read one way, so the parts must agree."""
    percent = set(findings.loc[findings["code"] == "read_as_percent", "column"]) if len(findings) else set()
    readings: dict[str, Any] = {column: f"header {header!r}" for column, header in part.readings.items()}
    for column in schema.columns:
        if column.type == "float" and column.unit == "ratio" and column.name not in part.column_units:
            values = frame[column.name].to_numpy(dtype=float, na_value=np.nan)
            if (np.isfinite(values) & (values != 0)).any():  # a part without rates decides nothing
                readings[column.name] = "per cent" if column.name in percent else "fractions"
    for column, reading in readings.items():
        earlier, where = seen.setdefault(column, (reading, label))
        if earlier != reading:
            raise InputFileError(label, f"reads column {column!r} as {reading} but {where} as {earlier}: the parts of "
                                        "a table are read alike (one file holding both would be read one way)")


def _part_files(folder: Path) -> list[Path]:
    """The Parquet files of a partitioned table, in path order; another data file among
    them is an error (a table's parts are all Parquet), as is a folder without any."""
    files = []
    for path in sorted(folder.rglob("*"), key=lambda p: _natural(p.relative_to(folder).as_posix())):
        relative = path.relative_to(folder).parts
        if any(part.startswith((".", "_", "~$")) for part in relative) or not path.is_file():
            continue
        if _FORMATS.get(path.suffix.lower()) != "parquet":  # a file of rows not read would be rows lost
            raise InputFileError(path, f"is not a .parquet file but lies in the folder of table {folder.name}: "
                                       "a table in parts is read from Parquet files only")
        files.append(path)
    if not files:
        raise InputFileError(folder, "names a table but holds no .parquet file")
    return files


def _natural(text: str) -> list[Any]:
    """Sort key that puts part-2 before part-10 (numbers by value)."""
    return [(0, int(piece), "") if piece.isdigit() else (1, 0, piece) for piece in re.split(r"(\d+)", text)]


def _hive_values(relative: Path) -> dict[str, str | None]:
    """Columns named by hive-style folders (``county=330102``) on the way to a file."""
    from urllib.parse import unquote

    values: dict[str, str | None] = {}
    for part in relative.parts[:-1]:
        key, sep, value = part.partition("=")
        if sep and key:
            value = unquote(value)
            values[unquote(key)] = None if value == "__HIVE_DEFAULT_PARTITION__" else value
    return values


def _rename_headers(raw: pd.DataFrame, schema: TableSchema, path: Path, source: Source) -> pd.DataFrame:
    mapping = schema.header_map()
    ambiguous = {header_key(h): rule for h, rule in schema.raw.get("ambiguous_headers", {}).items()}
    rename, seen = {}, {}
    for header in raw.columns:
        # An ambiguous header is judged before any alias: a guess would read it with the wrong meaning.
        if header_key(header) in ambiguous:
            canonical = _reading(raw[header], str(header), ambiguous[header_key(header)], schema, path)
            if canonical is not None:
                source.readings[canonical] = str(header)
        else:
            canonical = mapping.get(header_key(header))
        if canonical is None:
            source.ignored_columns.append(str(header))
            continue
        if canonical in seen:
            raise InputFileError(path, f"columns {seen[canonical]!r} and {header!r} both mean {canonical!r}")
        seen[canonical] = str(header)
        rename[header] = canonical
        stated = _HEADER_UNIT.search(str(header))
        if _HEADER_PERCENT.search(str(header)) and schema.column(canonical).unit == "ratio":
            source.column_units[canonical] = "percent"  # 票面利率（%）: 3.5 means 0.035
        elif _HEADER_SHARES.search(str(header)) and schema.column(canonical).unit == "share":
            source.column_units[canonical] = "10k_shares"  # 质押股数(万股): 3,556 means 35,560,000 shares
        elif stated and schema.column(canonical).is_money:
            source.column_units[canonical] = _UNIT_ALIASES.get(stated.group(1), stated.group(1).lower())
    missing = [c for c in schema.required_names if c not in seen and not _supplied_otherwise(schema, c, seen)]
    if missing:
        detail = "; ".join(f"{c} (header {schema.column(c).label_zh} or {c})" for c in missing)
        raise InputFileError(path, f"missing required column(s): {detail}")
    source.columns = {v: k for k, v in seen.items()}
    return raw[list(rename)].rename(columns=rename)


def _supplied_otherwise(schema: TableSchema, name: str, present: Mapping[str, str]) -> bool:
    """Whether a required column the file lacks comes from elsewhere: a key zjfin makes
    (``generate_key``), a firm found by another column (``resolve``), or a value the
    other columns may stand in for (``required_unless``, judged row by row in validation)."""
    cons = schema.column(name).constraints
    if schema.raw.get("generate_key") and schema.primary_key and schema.primary_key[0] == name:
        return True
    if cons.get("resolve", {}).get("from") in present:
        return True
    return any(other in present for other in cons.get("required_unless", {}))


def _reading(cells: pd.Series, header: str, rule: dict[str, Any], schema: TableSchema, path: Path) -> str | None:
    """The column an ambiguous header means, when its values tell (every reading has a list
    of allowed values and exactly one holds them all); else the file is refused, naming the
    readings: a guess would give the column the wrong meaning without a word.

    Examples
    --------
    >>> from zjfin._schema import table_schema
    >>> g = table_schema("guarantees")
    >>> _reading(pd.Series(["Chain", "Focus", None]), "担保类型", g.raw["ambiguous_headers"]["担保类型"], g, Path("g.csv"))
    'structure'
    """
    readings = rule["readings"]
    values = pd.Series(cells, dtype=object).dropna().astype(str).str.strip()
    values = set(values[values != ""]) - set(NULL_TOKENS)
    if not values:
        return None  # an empty column means nothing either way: left out, as an unknown column is
    fits = []
    for name in readings:
        cons = schema.column(name).constraints
        if "enum" not in cons:
            fits = None  # a reading with free values: the values cannot decide
            break
        allowed = {v.lower() for v in cons["enum"]} | {str(a).lower() for a in cons.get("enum_aliases", {})}
        if {v.lower() for v in values} <= allowed:
            fits.append(name)
    if fits is not None and len(fits) == 1:
        return fits[0]
    shown = " or ".join(f"{name} ({schema.column(name).label_zh})" for name in readings)
    raise InputFileError(path, f"column {header!r} could mean {shown}; zjfin does not guess: {rule['hint']}")


def _decode(data: bytes, path: Path) -> tuple[str, str]:
    """Detect UTF-8 (with or without BOM) or GB18030 (a superset of GBK and GB2312)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data, bom = data[3:], True
    else:
        bom = False
    try:
        return data.decode("utf-8"), "utf-8-sig" if bom else "utf-8"
    except UnicodeDecodeError:
        pass
    if bom:
        raise InputFileError(path, "starts with a UTF-8 byte-order mark but is not valid UTF-8 (mixed encodings?)")
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError as exc:
        raise InputFileError(path, f"is neither UTF-8 nor GB18030/GBK text (bad byte at offset {exc.start})") from None


def _read_csv(data: bytes, path: Path, schema: TableSchema) -> tuple[pd.DataFrame, str, dict[int, int]]:
    """Read a CSV as text columns; returns (frame, encoding, {row: field count} of rows
    whose field count differs from the header's)."""
    text, encoding = _decode(data, path)
    text = text.lstrip("\ufeff")  # a stray second BOM
    if not text.strip():
        raise InputFileError(path, "is empty (no header row)")
    first_line = re.match(r"[^\r\n]*", text).group()  # not splitlines(): it also breaks at \x0b, \x85, \u2028 …
    dialect_delim = "\t" if first_line.count("\t") > first_line.count(",") else ","
    header = next(csv.reader([first_line], delimiter=dialect_delim))
    if len(set(header)) != len(header):
        dupes = sorted({h for h in header if header.count(h) > 1})
        raise InputFileError(path, f"repeats column header(s) {dupes}")
    # Every column is read as text: types are converted per cell so a bad cell is one
    # finding, not a failed file.
    options = pacsv.ConvertOptions(
        column_types={h: pa.string() for h in header},
        null_values=[], strings_can_be_null=False, quoted_strings_can_be_null=False,
    )
    # Trailing blank lines are not rows; a lone header line needs its newline for arrow.
    text = text.rstrip("\r\n") + "\n"
    try:
        table = pacsv.read_csv(
            io.BytesIO(text.encode("utf-8")),
            read_options=pacsv.ReadOptions(use_threads=True, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(delimiter=dialect_delim, newlines_in_values=True,
                                               ignore_empty_lines=False),  # a blank line keeps its row number
            convert_options=options,
        )
    except pa.ArrowInvalid as exc:
        if "Expected" not in str(exc) or "columns" not in str(exc):
            raise
        # A row with too few or too many fields: read record by record so that only
        # that row is rejected (wrong_field_count), not the file.
        frame, ragged = _read_csv_records(text, dialect_delim, header)
        return frame, encoding, ragged
    return _arrow_to_raw(table), encoding, {}


def _read_csv_records(text: str, delimiter: str, header: list[str]) -> tuple[pd.DataFrame, dict[int, int]]:
    """Slow path for CSVs with ragged or malformed rows: the csv module, record by record,
    rows padded or cut to the header. A record the csv module cannot parse becomes an
    empty row with a field count of 0 (rejected with its row number); reading goes on."""
    # newline="": a bare \r or \n ends a record outside quotes, as pandas reads it.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    records: list[list[str]] = []
    broken: set[int] = set()
    while True:
        try:
            records.append(next(reader))
        except StopIteration:
            break
        except csv.Error:
            broken.add(len(records))
            records.append([])
    records = records[1:]
    width = len(header)
    ragged = {FIRST_DATA_ROW + i: len(r) for i, r in enumerate(records)
              if (len(r) != width and any(f.strip() for f in r)) or i + 1 in broken}
    body = [(r + [""] * width)[:width] for r in records]
    frame = pd.DataFrame(body, columns=header, dtype=object) if body else pd.DataFrame(columns=header, dtype=object)
    return frame, ragged


def _check_expansion(data: bytes, path: Path) -> None:
    """An XLSX is a zip: refuse one whose parts expand past a budget (a few MB that unpack
    to GBs is an attack, not a table). zipfile never inflates a part past the size its
    header states, so the stated sizes bound what openpyxl can unpack."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        total = sum(info.file_size for info in archive.infolist())
    budget = max(_XLSX_MIN_BUDGET, _XLSX_MAX_EXPANSION * len(data))
    if total > budget:
        raise InputFileError(path, f"unpacks to {total:,} bytes from {len(data):,} (more than {_XLSX_MAX_EXPANSION}× its size): "
                                   "not read; save it again from Excel or as CSV")


def _read_xlsx(data: bytes, path: Path) -> pd.DataFrame:
    from openpyxl import load_workbook

    _check_expansion(data, path)
    workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        sheet = workbook.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            raise InputFileError(path, "is empty (no header row)")
        width = max((i + 1 for i, h in enumerate(header) if h is not None), default=0)
        header = [str(h).strip() if h is not None else f"column_{i + 1}" for i, h in enumerate(header[:width])]
        if len(set(header)) != len(header):
            raise InputFileError(path, f"repeats column header(s) {sorted({h for h in header if header.count(h) > 1})}")
        body = [list(r[:width]) + [None] * (width - len(r)) for r in rows]
    finally:
        workbook.close()
    # Trailing rows that are wholly empty are formatting, not data.
    while body and all(v is None or (isinstance(v, str) and not v.strip()) for v in body[-1]):
        body.pop()
    frame = pd.DataFrame(body, columns=header, dtype=object) if body else pd.DataFrame(columns=header, dtype=object)
    return frame


def _unreadable(path: Path, fmt: str, exc: Exception) -> InputFileError:
    """The error for a file that cannot be read: the system's reason, or the parser's."""
    if isinstance(exc, OSError):
        return InputFileError(path, f"cannot be read ({exc.strerror or exc})")
    return InputFileError(path, f"cannot be read as {fmt.upper()}: {type(exc).__name__}: {exc}")


def _parquet_table(path: Path) -> pa.Table:
    # Memory-mapped: the file's bytes are not held twice. Page checksums, where the writer
    # stored them, are verified: a damaged page is an unreadable file, not wrong numbers.
    return pq.read_table(path, memory_map=True, page_checksum_verification=True)


def _read_parquet(path: Path) -> pd.DataFrame:
    return _arrow_to_raw(_parquet_table(path))


@contextlib.contextmanager
def _digest_beside(path: Path) -> Iterator[Callable[[], str]]:
    """The file's SHA-256, computed on a thread of its own while the file is parsed (hashlib
    and Arrow's readers both run outside the GIL); calling what it yields waits for it."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="zjfin-digest") as pool:
        future = pool.submit(_sha256, path)

        def digest() -> str:
            try:
                return future.result()
            except OSError as exc:
                raise InputFileError(path, f"cannot be read ({exc.strerror or exc})") from None

        yield digest


def _sha256(path: Path) -> str:
    """The file's digest for the manifest, read in blocks (a large file is not held whole)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


_NULLABLE_INTEGERS = {pa.int8(): pd.Int8Dtype(), pa.int16(): pd.Int16Dtype(), pa.int32(): pd.Int32Dtype(),
                      pa.int64(): pd.Int64Dtype(), pa.uint8(): pd.UInt8Dtype(), pa.uint16(): pd.UInt16Dtype(),
                      pa.uint32(): pd.UInt32Dtype(), pa.uint64(): pd.UInt64Dtype()}


def _arrow_to_raw(table: pa.Table) -> pd.DataFrame:
    """Arrow columns to pandas without type guessing: text stays object, numbers numeric."""
    columns = {}
    n = table.num_rows
    for name in table.column_names:
        # Column by column, each dropped from the table once converted: a large file's
        # buffers are not held twice (Arrow's and pandas') beyond one column.
        col, table = table.column(0), table.remove_column(0)
        kind = col.type
        if pa.types.is_dictionary(kind):
            col = col.cast(kind.value_type)
            kind = col.type
        if pa.types.is_string(kind) or pa.types.is_large_string(kind):
            columns[name] = as_text(col.cast(pa.string()))
        elif pa.types.is_timestamp(kind) or pa.types.is_date(kind):
            if pa.types.is_timestamp(kind) and kind.tz is not None:
                col = pc.local_timestamp(col)  # the date the file states, not the UTC instant's date
            try:
                columns[name] = pd.to_datetime(col.cast(pa.timestamp("ns")).to_numpy(zero_copy_only=False))
            except pa.ArrowInvalid:  # beyond datetime64[ns] (a 9999-12-31 sentinel): judged per cell
                columns[name] = col.to_numpy(zero_copy_only=False).astype(object)
        elif pa.types.is_boolean(kind):
            columns[name] = pd.Series(pd.array(col.to_pylist() if col.null_count else col.to_numpy(zero_copy_only=False), dtype="boolean"))
        elif pa.types.is_integer(kind) and col.null_count:
            # Nullable integers, not floats: an id past 2**53 (a bank's customer number) stays itself.
            columns[name] = col.to_pandas(types_mapper=_NULLABLE_INTEGERS.get)
        elif pa.types.is_integer(kind) or pa.types.is_floating(kind):
            columns[name] = col.to_pandas()
        else:
            columns[name] = col.to_numpy(zero_copy_only=False).astype(object)
        del col
    return pd.DataFrame(columns, index=pd.RangeIndex(n), copy=False)  # no block consolidation copy


# --------------------------------------------------------------------------------------
# type conversion


def _conform_frame(
    raw: pd.DataFrame,
    schema: TableSchema,
    table: str,
    file: str | None,
    unit: str,
    column_units: Mapping[str, str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Convert raw columns to the schema's types; return (typed frame, findings)."""
    n = len(raw)
    raw = raw.reset_index(drop=True)
    rows = np.arange(FIRST_DATA_ROW, FIRST_DATA_ROW + n, dtype=np.int64)
    key_col = schema.primary_key[0] if schema.primary_key else schema.names[0]
    def keys(mask: np.ndarray) -> np.ndarray:  # only for the rows with a finding
        return cell_text(raw[key_col][mask]) if key_col in raw.columns else np.full(int(mask.sum()), "", dtype=object)

    column_units = column_units or {}
    out: dict[str, Any] = {}
    findings: list[pd.DataFrame] = []
    for column in schema.columns:
        if column.name not in raw.columns:
            out[column.name] = _empty_column(column.type, n)
            continue
        stated = column_units.get(column.name)
        cells = raw[column.name]
        if stated == "percent" and not pd.api.types.is_numeric_dtype(cells.dtype):
            text = cells.astype(object)
            stripped = text.str.replace(r"[%％]\s*$", "", regex=True)  # the header already says percent
            cells = stripped.where(stripped.notna(), text)
        if column.unit in _CELL_UNITS and not pd.api.types.is_numeric_dtype(cells.dtype):
            # 123人, 45.6亩: the number with its unit written in the cell; read the number, say so.
            text = cells.astype(object)
            kind = pd.api.types.infer_dtype(text, skipna=True)
            if kind == "string":
                words = text.notna().to_numpy()
            else:  # a spreadsheet column of numbers and text: only the text cells
                mixed = kind.startswith("mixed")  # mixed, mixed-integer, mixed-integer-float
                words = np.fromiter((isinstance(v, str) for v in text), dtype=bool, count=n) if mixed else np.zeros(n, bool)
            stripped = text.copy()
            if words.any():
                stripped[words] = text[words].str.replace(_CELL_UNITS[column.unit], "", regex=True)
            unit_written = words & (stripped != text).to_numpy(dtype=bool)
            if unit_written.any():
                at = np.zeros(n, dtype=bool)
                at[np.argmax(unit_written)] = True
                findings.append(_note(table, file, rows[at], keys(at), column.name,
                                      np.array([f"{int(unit_written.sum())} cells such as {text[at].iloc[0]!s}"], dtype=object),
                                      "unit_in_cell"))
                cells = stripped.where(stripped.notna(), text)
        values, bad = _CONVERTERS[column.type](cells)
        if stated in _STATED_UNITS:
            factor, decimals = _STATED_UNITS[stated]
        else:
            factor, decimals = (MONEY_UNITS[stated or unit] if column.is_money else 1.0), _MONEY_DECIMALS
        if factor != 1.0:
            with np.errstate(over="ignore", invalid="ignore"):  # overflow is caught just below
                # At a stated precision (fen, or 12 decimals for a rate): 1,234.5678 万元 is then
                # the very number 12,345,678 yuan is, and no rank or threshold tells them apart.
                values = np.round(values * factor, decimals)
        if column.type in ("float", "int"):
            # Money scaled past float range, or literal inf: not a usable number.
            overflow = np.isinf(values)
            if overflow.any():  # copies only when there is something to mend
                bad = bad | overflow
                values = np.where(overflow, np.nan, values)
        if bad.any():
            code = _BAD_CODE[column.type]
            if column.type == "int":
                code_arr = np.where(np.isfinite(_CONVERTERS["float"](raw[column.name])[0]), "not_whole_number", "bad_number")
            else:
                code_arr = np.full(n, code, dtype=object)
            findings.append(
                pd.DataFrame(
                    {
                        "table": table,
                        "file": file or "",
                        "row": rows[bad],
                        "key": keys(bad),
                        "column": column.name,
                        "value": cell_text(raw[column.name][bad]),
                        "code": code_arr[bad],
                    }
                )
            )
        if column.type == "date":
            placeholder = values < _PLACEHOLDER_BEFORE  # NaT compares False
            if placeholder.any():
                findings.append(_note(table, file, rows[placeholder], keys(placeholder), column.name,
                                      cell_text(raw[column.name][placeholder]), "placeholder_date"))
                values = np.where(placeholder, np.datetime64("NaT"), values)
        elif (column.type == "float" and column.unit == "ratio" and column.constraints.get("max") == 1 and stated is None
              and _reads_as_percent(values) and not _has_percent_sign(raw[column.name])):
            # A rate above 1 is per cent written without its sign (票面利率 8.7): read it so, and say so.
            # One note, on the row of the largest rate (the figure it quotes).
            at = np.zeros(n, dtype=bool)
            at[np.nanargmax(values)] = True
            findings.append(_note(table, file, rows[at], keys(at), column.name,
                                  np.array([f"largest {np.nanmax(values):g}"], dtype=object), "read_as_percent"))
            scaled = values * _STATED_UNITS["percent"][0]
            # Rounded where it can be (rounding 1e300 to 12 decimals overflows): a huge rate stays
            # itself, for the range checks to judge.
            with np.errstate(over="ignore", invalid="ignore"):
                values = np.where(np.abs(scaled) < 1e15, np.round(scaled, _STATED_UNITS["percent"][1]), scaled)
        if column.type == "str":
            values, long = _over_cell_limit(values)
            if long.any():  # Excel's own limit: no real export holds more; a rejected cell
                findings.append(_note(table, file, rows[long], keys(long), column.name,
                                      np.array([f"{n:,} characters" for n in _lengths(raw[column.name][long])], dtype=object),
                                      "text_too_long"))
        # Text stays object dtype whatever the content, on pandas 2 and 3 alike.
        out[column.name] = as_text(values) if column.type == "str" else values
    frame = pd.DataFrame(out, index=pd.RangeIndex(n), copy=False)
    frame["_row"] = rows
    if schema.raw.get("generate_key") and schema.primary_key and schema.primary_key[0] not in raw.columns and n:
        # A layout without contract ids (exchange disclosures): the file and row are the id.
        key = schema.primary_key[0]
        frame[key] = as_text(np.char.add(f"{file or table}:", rows.astype(str)).astype(object))
        findings.append(_note(table, file, rows[:1], frame[key].to_numpy(dtype=object)[:1], key, np.array([""], dtype=object),
                              "key_generated"))
    return frame, _concat_findings(findings)


def _over_cell_limit(values: Any) -> tuple[Any, np.ndarray]:
    """Text with the cells past Excel's limit (32,767 characters) emptied, and where."""
    from zjfin._write import MAX_CELL_CHARS

    text = arrow_text(values)  # zero-copy for text columns
    # A cell of more characters has more bytes too: bytes first (no decoding), characters only then.
    long = pc.greater(pc.binary_length(text), MAX_CELL_CHARS)
    if pc.any(long).as_py():
        long = pc.and_(long, pc.greater(pc.utf8_length(text), MAX_CELL_CHARS))
    mask = pc.fill_null(long, False).to_numpy(zero_copy_only=False)
    if not mask.any():
        return values, mask
    return as_text(pc.if_else(long, pa.scalar(None, pa.string()), text)), mask


def _lengths(cells: pd.Series) -> list[int]:
    return [len(str(v)) for v in cells]


def _note(table: str, file: str | None, rows: np.ndarray, keys: np.ndarray, column: str, values: np.ndarray,
          code: str) -> pd.DataFrame:
    """Findings of one code for the given rows."""
    return pd.DataFrame({"table": table, "file": file or "", "row": rows, "key": keys, "column": column,
                         "value": values, "code": code})


def _reads_as_percent(values: np.ndarray) -> bool:
    """A rate column written in per cent: most of its non-zero values above 1, none above
    100 (one stray 1.05 among fractions is a bad value, not a column in per cent)."""
    finite = values[np.isfinite(values) & (values != 0)]
    with np.errstate(over="ignore"):  # the middle two of huge values average to inf: not per cent
        return bool(finite.size) and float(np.median(finite)) > 1.0 and float(finite.max()) <= 100.0


def _has_percent_sign(cells: pd.Series) -> bool:
    """Cells written with their own % sign (read as per cent already, cell by cell)."""
    if pd.api.types.is_numeric_dtype(cells.dtype):
        return False
    return bool(cells.astype(object).astype(str).str.contains("[%％]", regex=True).any())  # numbers never hold one


_BAD_CODE = {"float": "bad_number", "int": "bad_number", "date": "bad_date", "bool": "bad_bool", "str": "bad_text"}


def cell_text(values: pd.Series | np.ndarray) -> np.ndarray:
    """Cell values as text for findings: missing → "", dates as dates, whole floats
    without ".0", anything else as written. Runs over the findings only, never a table."""
    if getattr(values, "dtype", None) is not None and values.dtype.kind == "M":  # datetime64: one vectorised pass
        days = np.asarray(values, dtype="datetime64[ns]").astype("datetime64[D]")
        text = np.datetime_as_string(days).astype(object)
        text[np.isnat(days)] = ""
        return text
    if isinstance(values, pd.Series) and isinstance(values.dtype, pd.StringDtype):  # text already: no loop
        return values.to_numpy(dtype=object, na_value="")
    values = values.to_numpy(dtype=object) if isinstance(values, pd.Series) else np.asarray(values, dtype=object)
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        if _is_missing(v):
            out[i] = ""
        elif isinstance(v, dt.datetime):  # pd.Timestamp too; years beyond 2262 stay readable
            out[i] = v.date().isoformat()
        elif isinstance(v, dt.date):
            out[i] = v.isoformat()
        elif isinstance(v, np.datetime64):
            out[i] = str(v.astype("datetime64[D]"))
        elif isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
            out[i] = str(int(v))
        else:
            out[i] = str(v)
    return out


def _is_missing(value: object) -> bool:
    return (value is None or value is pd.NaT or value is pd.NA or (isinstance(value, float) and np.isnan(value))
            or (isinstance(value, np.datetime64) and np.isnat(value)))


def _empty_column(kind: str, n: int):
    if kind in ("float", "int"):
        return np.full(n, np.nan)
    if kind == "date":
        return pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]").to_numpy()
    if kind == "bool":
        return pd.array([pd.NA] * n, dtype="boolean")
    return as_text(np.full(n, None, dtype=object))


def _text_or_none(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(stripped text with None for empty/null tokens, mask of cells that held a value)."""
    values = series.to_numpy(dtype=object)
    out = np.empty(len(values), dtype=object)
    present = np.zeros(len(values), dtype=bool)
    nulls = set(NULL_TOKENS)
    for i, v in enumerate(values):  # only on the slow path (dirty or spreadsheet cells)
        if _is_missing(v):
            out[i] = None
            continue
        if isinstance(v, float) and v.is_integer():
            text = str(int(v))
        elif isinstance(v, (dt.datetime, pd.Timestamp)):
            text = v.strftime("%Y-%m-%d") if v == v.replace(hour=0, minute=0, second=0, microsecond=0) else v.isoformat(sep=" ")
        elif isinstance(v, dt.date):
            text = v.isoformat()
        else:
            text = str(v).strip().strip("\ufeff").strip()
        if text in nulls:
            out[i] = None
        else:
            out[i] = text
            present[i] = True
    return out, present


def _to_float(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    if pd.api.types.is_bool_dtype(series.dtype):
        return series.astype(float).to_numpy(), np.zeros(len(series), bool)
    if series.dtype == np.float64:
        return series.to_numpy(copy=False), np.zeros(len(series), bool)
    if pd.api.types.is_numeric_dtype(series.dtype):
        values = series.to_numpy(dtype=float, na_value=np.nan)
        return values, np.zeros(len(series), bool)
    # Fast path: clean text parsed by arrow in C.
    try:
        arr = pa.array(series.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
        trimmed = pc.utf8_trim_whitespace(arr)
        nullish = pc.is_in(trimmed, value_set=pa.array(NULL_TOKENS))
        cleaned = pc.if_else(nullish, pa.scalar(None, pa.string()), trimmed)
        values = pc.cast(cleaned, pa.float64()).to_numpy(zero_copy_only=False).astype(float)
        # "-nan", "nAn" … parse to NaN but are no null token: not a number.
        return values, np.isnan(values) & pc.is_valid(cleaned).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        pass
    text, present = _text_or_none(series)
    cleaned = pd.Series(text, dtype=object)
    is_str = present
    # Full-width digits and signs (１２３，（５）) fold to ASCII; the Unicode minus to "-".
    s = cleaned[is_str].astype(str).str.normalize("NFKC").str.replace("\u2212", "-", regex=False)
    # Accounting notation and separators: "1,234.5", "（1,234）" = -1234, "6.5%".
    negative = s.str.match(r"^[(（].*[)）]$")
    percent = s.str.rstrip(")）").str.endswith(("%", "％"))  # also "(6.5%)"
    s = s.str.replace(r"[,，\s()（）%％¥￥元]", "", regex=True)
    parsed = pd.to_numeric(s, errors="coerce").astype(float)
    parsed = parsed.where(~negative, -parsed)
    parsed = parsed.where(~percent, parsed / 100.0)  # of the signed value: "(6.5%)" = -0.065
    values = np.full(len(series), np.nan)
    values[np.flatnonzero(is_str)] = parsed.to_numpy()
    bad = present & (np.isnan(values) | ~np.isfinite(values))
    values[bad] = np.nan
    return values, bad


def _to_int(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    values, bad = _to_float(series)
    overflow = np.isinf(values)  # "1e400": a bad number, not a fraction
    values, bad = np.where(overflow, np.nan, values), bad | overflow
    fractional = ~np.isnan(values) & (np.abs(values - np.round(values)) > 1e-9)
    values = np.where(fractional, np.nan, np.round(values))  # within the tolerance: the whole number
    return values, bad | fractional


_DATE_PATTERN = re.compile(
    r"^\s*(?P<y>\d{4})\s*(?:[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*日?|(?P<m2>\d{2})(?P<d2>\d{2}))"
    r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?\s*$"
)


def _to_date(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    n = len(series)
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        values = pd.to_datetime(series)
        if getattr(values.dt, "tz", None) is not None:
            values = values.dt.tz_localize(None)
        return values.dt.normalize().to_numpy(dtype="datetime64[ns]"), np.zeros(n, bool)
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        series = series.astype(object)  # 20190331 stored as a number
    # Fast path: ISO dates, parsed by arrow in C.
    try:
        arr = pa.array(series.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
        trimmed = pc.utf8_trim_whitespace(arr)
        nullish = pc.is_in(trimmed, value_set=pa.array(NULL_TOKENS))
        cleaned = pc.if_else(nullish, pa.scalar(None, pa.string()), trimmed)
        parsed = pc.strptime(cleaned, format="%Y-%m-%d", unit="s", error_is_null=True)
        failed = pc.and_(pc.is_null(parsed), pc.invert(pc.fill_null(nullish, True)))
        # arrow rolls an impossible day over (2019-02-30 → 2019-03-02): the written day must survive.
        written_day = pc.cast(pc.utf8_slice_codeunits(cleaned, 8, 10), pa.int64())
        failed = pc.or_(failed, pc.fill_null(pc.not_equal(pc.day(parsed), written_day), False))
        if not pc.any(failed).as_py():
            values = parsed.cast(pa.timestamp("ns")).to_numpy(zero_copy_only=False)
            return values.astype("datetime64[ns]"), np.zeros(n, bool)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        pass
    text, present = _text_or_none(series)
    s = pd.Series(text, dtype=object)[present].astype(str).str.normalize("NFKC")  # ２０１９年３月３１日
    parts = s.str.extract(_DATE_PATTERN).apply(pd.to_numeric)
    # Years datetime64[ns] cannot hold are bad dates (pandas 2.2 would misread year 19 as 1903);
    # its first and last years hold in part (1677-09-22 on, to 2262-04-11): cut just below.
    year = parts["y"].where(parts["y"].between(1677, 2262))
    month = parts["m"].fillna(parts["m2"])
    day = parts["d"].fillna(parts["d2"])
    dates = pd.to_datetime(
        pd.DataFrame({"year": year, "month": month, "day": day}),
        errors="coerce",
    ) if len(s) else pd.Series([], dtype="datetime64[ns]")
    # Outside datetime64[ns] (1677–2262, e.g. 9999-12-31) numpy would wrap silently: a bad date.
    dates = dates.where(dates.between(pd.Timestamp.min, pd.Timestamp.max))
    values = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    values[np.flatnonzero(present)] = np.asarray(dates, dtype="datetime64[ns]")
    bad = present & np.isnat(values)
    return values, bad


def _to_bool(series: pd.Series) -> tuple[Any, np.ndarray]:
    n = len(series)
    if pd.api.types.is_bool_dtype(series.dtype):
        return pd.array(series, dtype="boolean"), np.zeros(n, bool)
    text, present = _text_or_none(series)
    lowered = pd.Series(text, dtype=object).str.lower()
    true = lowered.isin(_TRUE).to_numpy()
    false = lowered.isin(_FALSE).to_numpy()
    bad = present & ~true & ~false
    result = pd.array(np.where(true, True, False), dtype="boolean")
    result[~(true | false)] = pd.NA
    return result, bad


def _to_str(series: pd.Series) -> tuple[pd.Series, np.ndarray]:
    n = len(series)
    try:  # text (or missing) cells: trimmed and nulled in Arrow, no Python strings made
        arr = pa.array(series, type=pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        text, _ = _text_or_none(series)  # spreadsheet cells of mixed types
        return as_text(text), np.zeros(n, bool)
    # Unicode whitespace and stray BOMs, as str.strip() and _text_or_none() treat them;
    # trimmed (three copies) only when some cell starts or ends with one.
    maybe = _edge_may_be_padding(arr)  # a byte test first: the pattern only where it may match
    if maybe.any() and pc.any(pc.match_substring_regex(arr.filter(pa.array(maybe)), _PADDED)).as_py():
        arr = pc.utf8_trim_whitespace(pc.utf8_trim(pc.utf8_trim_whitespace(arr), characters="\ufeff"))
    nullish = pc.is_in(arr, value_set=pa.array(NULL_TOKENS))
    if pc.any(nullish).as_py():
        arr = pc.if_else(nullish, pa.scalar(None, pa.string()), arr)
    return as_text(arr), np.zeros(n, bool)


# A cell that starts or ends with what the trim removes: whitespace as Python's str.isspace
# and Arrow's utf8_trim_whitespace know it (a superset of both), or a BOM.
_PADDED = r"^[\s\p{Z}\x{0B}\x{1C}-\x{1F}\x{85}\x{FEFF}]|[\s\p{Z}\x{0B}\x{1C}-\x{1F}\x{85}\x{FEFF}]$"


# The UTF-8 bytes such a character starts and ends with (ASCII controls and space; C2 85,
# C2 A0; E1 9A 80; E2 80 80–8A, A8, A9, AF; E2 81 9F; E3 80 80; EF BB BF). A superset, tested
# against the pattern over every code point.
_PAD_FIRST_BYTE = np.zeros(256, dtype=bool)
_PAD_FIRST_BYTE[[*range(0x21), 0xC2, 0xE1, 0xE2, 0xE3, 0xEF]] = True
_PAD_LAST_BYTE = np.zeros(256, dtype=bool)
_PAD_LAST_BYTE[[*range(0x21), *range(0x80, 0x8B), 0x85, 0x9F, 0xA0, 0xA8, 0xA9, 0xAF, 0xBF]] = True


def _edge_may_be_padding(text: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Per cell of a string array, whether its first or last byte may belong to a character
    :data:`_PADDED` matches: read from the array's buffers, no string made."""
    chunks = text.chunks if isinstance(text, pa.ChunkedArray) else [text]
    flags = [np.zeros(0, dtype=bool)]
    for chunk in chunks:
        n = len(chunk)
        if n == 0:  # an empty array may have no offsets buffer at all
            continue
        offsets = np.frombuffer(chunk.buffers()[1], dtype=np.int32, count=n + 1, offset=4 * chunk.offset)
        data = chunk.buffers()[2]
        flag = np.zeros(n, dtype=bool)
        filled = np.flatnonzero(offsets[1:] > offsets[:-1])
        if filled.size:
            data = np.frombuffer(data, dtype=np.uint8)
            flag[filled] = _PAD_FIRST_BYTE[data[offsets[filled]]] | _PAD_LAST_BYTE[data[offsets[filled + 1] - 1]]
        flags.append(flag)
    return np.concatenate(flags)


_CONVERTERS = {"float": _to_float, "int": _to_int, "date": _to_date, "bool": _to_bool, "str": _to_str}


# --------------------------------------------------------------------------------------
# writing


def write_dataset(
    dataset: Dataset,
    path: str | os.PathLike[str],
    format: str = "parquet",
    headers: str = "en",
    unit: str = "yuan",
    encoding: str = "utf-8-sig",
) -> list[Path]:
    """Write a dataset's tables to a folder, one file per table, readable by
    :func:`read_dataset`.

    Parameters
    ----------
    format : {"parquet", "csv", "xlsx"}
    headers : {"en", "zh"}
        Canonical English names or the Chinese labels of the schema.
    unit : {"yuan", "10k_yuan", "100m_yuan"}
        Money unit to write (the reader must be told the same unit).
    encoding : str
        CSV only: ``utf-8-sig`` (opens in Excel), ``utf-8`` or ``gb18030``.

    Examples
    --------
    >>> import tempfile, zjfin
    >>> files = write_dataset(zjfin.datasets.synthetic_province(200, seed=0), tempfile.mkdtemp(), format="csv", headers="zh")
    >>> sorted(f.name for f in files)[:2]
    ['bonds.csv', 'financials.csv']
    """
    if format not in ("parquet", "csv", "xlsx"):
        raise ParameterError("format", "one of parquet, csv, xlsx", format)
    if headers not in ("en", "zh"):
        raise ParameterError("headers", "'en' or 'zh'", headers)
    factor = MONEY_UNITS[_resolve_unit(unit, "firms")]
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for table in dataset.tables_present():
        schema = table_schema(table)
        lacking = [name for name in schema.names if name not in dataset[table].columns]
        if lacking:  # a table changed after reading (a column dropped): say which, not a KeyError
            raise ParameterError("dataset", f"tables with every column of their schema ({table} lacks {', '.join(lacking)})",
                                 dataset.name)
        frame = dataset[table][schema.names].copy()
        for column in schema.columns:
            if column.is_money and factor != 1.0:
                frame[column.name] = frame[column.name] / factor
        if headers == "zh":
            frame.columns = [c.label_zh for c in schema.columns]
        target = folder / f"{table}.{format}"
        if format == "parquet":
            pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), target, compression="zstd",
                           write_page_checksum=True)
        elif format == "csv":
            # CRLF rows: a cell holding a bare CR or LF is then quoted, and read back as one cell.
            frame.to_csv(target, index=False, encoding=encoding, date_format="%Y-%m-%d", float_format="%.17g",
                         lineterminator="\r\n")
        else:
            _write_xlsx(frame, target)
        written.append(target)
    return written


def _write_xlsx(frame: pd.DataFrame, target: Path) -> None:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("data")
    sheet.append(list(frame.columns))
    columns = [frame[c].to_numpy(dtype=object) for c in frame.columns]
    for row in zip(*columns):
        sheet.append([None if _is_missing(v) else (v.to_pydatetime() if isinstance(v, pd.Timestamp) else v) for v in row])
    workbook.save(target)
