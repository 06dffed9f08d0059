"""Writing files: Parquet and CSV that every tool opens, formula escaping, person-id
masking and the atomic commit of a set of files.

The one place where zjfin writes tabular files; the screening export, the lists workbook
and the quarter-to-quarter diff all go through it.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from zjfin._errors import InputFileError

__all__ = ["escape_text", "escape_formulas", "write_parquet", "write_csv", "mask_person_ids", "commit", "FORMULA_START",
           "MAX_CELL_CHARS"]

#: Text cells starting with one of these are run as formulas by spreadsheets (the full-width
#: forms too: Excel and WPS read ＝ as =).
FORMULA_START = ("=", "+", "-", "@", "＝", "＋", "－", "＠")
#: Excel's limit on the characters of a cell.
MAX_CELL_CHARS = 32_767
# A formula sign after any leading whitespace or control characters, or a leading tab or CR
# (a spreadsheet strips those and runs what follows).
_RISKY = "^(?:[\\s\\x00-\\x1f\\x{3000}]*[" + "".join("\\" + c if c in "-+" else c for c in FORMULA_START) + "]|[\\t\\r])"


def escape_text(values: Any) -> tuple[pa.Array, int]:
    """One text column made safe for a spreadsheet: a cell a spreadsheet would run as a
    formula gets a leading ``'``, and a cell longer than Excel's limit is cut to it.
    Returns the column and how many cells were cut. Every CSV and workbook cell we write
    goes through here.

    Examples
    --------
    >>> text, cut = escape_text(["=1+1", " =cmd|' /C calc'!A0", "\\t@SUM(A1)", "＝1", "-x", "ok", None])
    >>> text.to_pylist(), cut
    (["'=1+1", "' =cmd|' /C calc'!A0", "'\\t@SUM(A1)", "'＝1", "'-x", 'ok', None], 0)
    """
    from zjfin._arrow import arrow_text

    text = arrow_text(pd.Series(values, dtype=object) if not isinstance(values, pd.Series) else values)
    text = text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text
    risky = pc.fill_null(pc.match_substring_regex(text, _RISKY), False)
    if pc.any(risky).as_py():
        text = pc.if_else(risky, pc.binary_join_element_wise(pa.scalar("'"), text, ""), text)
    long = pc.fill_null(pc.greater(pc.utf8_length(text), MAX_CELL_CHARS), False)
    cut = int(pc.sum(long).as_py() or 0)
    if cut:
        text = pc.if_else(long, pc.utf8_slice_codeunits(text, 0, MAX_CELL_CHARS), text)
    return text, cut


def escape_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Every text column through :func:`escape_text`; numbers are left alone (a negative
    number stays a number). The cells cut to Excel's limit are counted in
    ``out.attrs["cut_cells"]``.

    Examples
    --------
    >>> escape_formulas(pd.DataFrame({"a": ["=1+1", "ok", "-x"], "b": [-1.0, 2.0, 3.0]}))["a"].tolist()
    ["'=1+1", 'ok', "'-x"]
    """
    from zjfin._arrow import as_text

    out = frame.copy(deep=False)
    cut = 0
    for name in out.columns:
        column = out[name]
        if column.dtype == object or pd.api.types.is_string_dtype(column.dtype):
            if column.dtype == object and not _all_text(column):
                continue  # lists, numbers: not text cells
            text, n_cut = escape_text(column)
            cut += n_cut
            out[name] = as_text(text, index=out.index)
    out.attrs["cut_cells"] = cut
    return out


def _all_text(column: pd.Series) -> bool:
    return pd.api.types.infer_dtype(column, skipna=True) in ("string", "empty")


def write_parquet(frame: pd.DataFrame, path: Path, compression: str = "zstd") -> None:
    """Parquet with missing values as nulls, never NaN (DuckDB sorts NaN above numbers)."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    columns = []
    for field, column in zip(table.schema, table.columns):
        if pa.types.is_floating(field.type):
            values = column.to_numpy(zero_copy_only=False)
            column = pa.array(values, type=field.type, mask=np.isnan(values))
        columns.append(column)
    table = pa.Table.from_arrays(columns, schema=_portable_schema(table.schema))
    # Page checksums: a reader that verifies them finds a damaged copy instead of wrong numbers.
    pq.write_table(table, path, compression=compression, write_page_checksum=True)


def _portable_schema(schema: pa.Schema) -> pa.Schema:
    """The schema with pandas metadata every reader can rebuild: a dtype pandas names in
    its own words (``str``, ``list<item: string>[pyarrow]``) becomes ``object``, which
    pandas 2.2 and 3.x both read back (text as their default string type, lists as lists).

    Examples
    --------
    >>> frame = pd.DataFrame({"members": pd.Series([["a", "b"]], dtype=pd.ArrowDtype(pa.list_(pa.string())))})
    >>> meta = json.loads(_portable_schema(pa.Table.from_pandas(frame).schema).metadata[b"pandas"])
    >>> meta["columns"][0]["numpy_type"]
    'object'
    """
    if not schema.metadata or b"pandas" not in schema.metadata:
        return schema
    meta = json.loads(schema.metadata[b"pandas"])
    for column in meta.get("columns", []):
        if not _numpy_dtype_name(column.get("numpy_type")):
            column["numpy_type"] = "object"
    return schema.with_metadata({**schema.metadata, b"pandas": json.dumps(meta).encode()})


def _numpy_dtype_name(name: object) -> bool:
    """Whether pandas 2.2 and 3.x both rebuild the dtype from its name: NumPy's and the
    nullable ones (``Int64``, ``boolean``), not pandas 3's ``str`` nor Arrow-backed types."""
    if not isinstance(name, str) or name == "str" or "[pyarrow]" in name or "<" in name:
        return False
    try:
        pd.api.types.pandas_dtype(name)
    except TypeError:
        return False
    return True


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """CSV that Excel, WPS and Python read alike: UTF-8 with BOM, formulas escaped, ISO
    dates, CRLF rows (RFC 4180), so a cell holding a bare CR or LF is quoted and never
    starts a row of its own."""
    escape_formulas(frame).to_csv(path, index=False, encoding="utf-8-sig", date_format="%Y-%m-%d",
                                  float_format="%.10g", lineterminator="\r\n")


def mask_person_ids(contracts: pd.DataFrame, firm_ids: pd.Series, column: str = "pledger_id") -> pd.DataFrame:
    """Mask pledger ids that are not firms of the dataset (natural persons): the first
    three and last four characters stay, the rest become ``*``.

    Examples
    --------
    >>> c = pd.DataFrame({"pledger_id": ["P33010219750101123X", "91330100799655058B"]})
    >>> mask_person_ids(c, pd.Series(["91330100799655058B"]))["pledger_id"].tolist()
    ['P33************123X', '91330100799655058B']
    """
    from zjfin._arrow import arrow_text, as_text, is_in

    ids = contracts[column]
    person = ~is_in(ids, firm_ids) & ids.notna().to_numpy()
    text = arrow_text(ids)
    length = pc.utf8_length(text)
    stars = pa.repeat(pa.scalar("*", pa.string()), len(ids))
    masked = pc.binary_join_element_wise(
        pc.utf8_slice_codeunits(text, 0, 3), pc.binary_repeat(stars, pc.max_element_wise(pc.subtract(length, 7), 0)),
        pc.utf8_slice_codeunits(text, -4), "")
    # Too short to keep both ends without showing most of it: mask it whole.
    masked = pc.if_else(pc.less(length, 8), pc.binary_repeat(stars, length), masked)
    out = contracts.copy(deep=False)
    out[column] = as_text(pc.if_else(pa.array(person), masked, text), index=contracts.index)
    return out


def commit(out: Path, plan: dict[str, tuple[Callable[[Any, Path], None], Any]], manifest: dict[str, Any] | None) -> list[str]:
    """Write every file of ``plan`` (name → (writer, data)) into a private folder inside
    ``out``, then move them into place, ``manifest.json`` last: a failed write leaves the
    earlier files as they were, and a manifest marks a complete set.

    Returns the names written, relative to ``out``.
    """
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputFileError(out, f"cannot create the output folder ({exc.strerror or exc})") from None
    staging = Path(tempfile.mkdtemp(prefix=".zjfin-", dir=out))
    try:
        for name, (writer, frame) in plan.items():
            target = staging / name
            target.parent.mkdir(parents=True, exist_ok=True)
            writer(frame, target)
        names = list(plan)
        if manifest is not None:
            (staging / "manifest.json").write_text(
                json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=False) + "\n", encoding="utf-8"
            )
            names.append("manifest.json")  # moved last: its presence marks a complete run
        for name in names:
            final = out / name
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / name, final)
        return names
    finally:
        shutil.rmtree(staging, ignore_errors=True)
