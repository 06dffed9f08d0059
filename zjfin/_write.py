"""Writing files: Parquet and CSV that every tool opens, formula escaping, person-id
masking and the atomic commit of a set of files.

The one place where zjfin writes tabular files; the screening export, the lists workbook
and the quarter-to-quarter diff all go through it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from concurrent.futures import Future
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from zjfin._errors import InputFileError

__all__ = ["escape_text", "escape_formulas", "write_parquet", "parquet_table", "write_arrow_parquet", "write_csv", "mask_person_ids", "commit", "mark_owner", "remove_stale_staging", "FORMULA_START",
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
    write_arrow_parquet(parquet_table(frame), path, compression)


def parquet_table(frame: pd.DataFrame) -> pa.Table:
    """A frame as the Arrow table :func:`write_parquet` writes: NaN as null, pandas metadata
    every reader rebuilds. Made once, it can be written in slices that share its schema."""
    table = pa.Table.from_pandas(frame, preserve_index=False)  # NumPy floats: NaN already null
    columns = []
    for field, column in zip(table.schema, table.columns):
        # Only a column that still holds NaN (Arrow-backed or nullable floats) is copied.
        if pa.types.is_floating(field.type) and pc.any(pc.is_nan(column)).as_py():
            values = column.to_numpy(zero_copy_only=False)
            column = pa.array(values, type=field.type, mask=np.isnan(values))
        columns.append(column)
    return pa.Table.from_arrays(columns, schema=_portable_schema(table.schema))


def write_arrow_parquet(table: pa.Table, path: Path, compression: str = "zstd") -> None:
    """An Arrow table (from :func:`parquet_table`) to Parquet."""
    # Dictionaries for text and flags only: amounts and ratios rarely repeat, and trying a
    # dictionary on each numeric column first costs time (1M firms' screening: 2.9 → 2.7 s).
    coded = [f.name for f in table.schema if not (pa.types.is_floating(f.type) or pa.types.is_integer(f.type))]
    # Page checksums: a reader that verifies them finds a damaged copy instead of wrong numbers.
    pq.write_table(table, path, compression=compression, write_page_checksum=True, use_dictionary=coded)


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


def parquet_parts(source: Path) -> list[Path]:
    """The Parquet files of a table: ``source`` itself, or a folder's ``*.parquet`` parts
    (a screening by county) in name order; other files there (a user's notes) and hidden
    ones (``.``/``_``, which Parquet readers skip) are not parts."""
    if not source.is_dir():
        return [source]
    return sorted(p for p in source.glob("*.parquet") if p.name[:1] not in (".", "_") and p.is_file())


def read_parquet_columns(source: Path, wanted: Any) -> tuple[pa.Table, set[str]]:
    """The columns of ``wanted`` that a Parquet file or folder of parts holds, and the
    names it holds. Raises OSError/ArrowException as Arrow does; a folder without parts
    raises OSError."""
    parts = parquet_parts(source)
    if not parts:
        raise OSError("the folder holds no Parquet file")
    present = set(pq.read_schema(parts[0]).names)
    columns = [c for c in wanted if c in present]
    tables = [pq.read_table(part, columns=columns) for part in parts]
    # Parts with other column types than the first are not one table: Arrow says so.
    return (tables[0] if len(tables) == 1 else pa.concat_tables(tables)), present


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """CSV that Excel, WPS and Python read alike: UTF-8 with BOM, formulas escaped, ISO
    dates, CRLF rows (RFC 4180), so a cell holding a bare CR or LF is quoted and never
    starts a row of its own; a cell is quoted only when it must be; floats as Python writes
    them (the shortest text that reads back as the same number).

    The cells are made into text column by column in Arrow and the rows written as one
    buffer (:func:`_csv_rows`): the same bytes as ``DataFrame.to_csv``, ten times faster.
    """
    kinds = [_csv_kind(frame[name]) for name in frame.columns]
    with open(path, "wb") as fh:
        fh.write(b"\xef\xbb\xbf")
        if any(kind is None for kind in kinds):  # a column of Python objects (lists): pandas writes it
            text = escape_formulas(frame).to_csv(index=False, date_format="%Y-%m-%d", lineterminator="\r\n")
            fh.write(text.encode("utf-8"))
            return
        header = _csv_quoted(pa.array([str(name) for name in frame.columns], type=pa.string())).to_pylist()
        fh.write((",".join(header) + "\r\n").encode("utf-8"))
        for start in range(0, len(frame), _CSV_BATCH_ROWS):
            # A batch of rows escaped and made into CSV cells at a time: neither a long list's
            # escaped text nor its file text is ever whole in memory.
            rows = frame.iloc[start: start + _CSV_BATCH_ROWS]
            fh.write(_csv_rows([_csv_cells(rows[name], kind) for name, kind in zip(frame.columns, kinds)]))


# Rows made into text at a time: bounded memory, and text far below Arrow's 2 GB per array.
_CSV_BATCH_ROWS = 100_000


def _csv_rows(cells: list[pa.Array]) -> bytes:
    """Rows of CSV text (each ending CRLF) from the columns' cells, as one buffer."""
    rows = pc.binary_join_element_wise(*cells, ",") if len(cells) > 1 else cells[0]
    text = pc.binary_join_element_wise(rows, pa.scalar("\r\n"), "")
    offsets = np.frombuffer(text.buffers()[1], dtype=np.int32)[text.offset: text.offset + len(text) + 1]
    return text.buffers()[2].to_pybytes()[offsets[0]: offsets[-1]] if len(text) else b""


def _csv_quoted(text: pa.Array) -> pa.Array:
    """Quote a cell holding the delimiter, a quote or a line break (quotes doubled); the
    rest as they are: Python's csv.QUOTE_MINIMAL."""
    needs = pc.fill_null(pc.match_substring_regex(text, '[",\r\n]'), False)
    if not pc.any(needs).as_py():
        return text
    quoted = pc.binary_join_element_wise(pa.scalar('"'), pc.replace_substring(text, '"', '""'), pa.scalar('"'), "")
    return pc.if_else(needs, quoted, text)


_CSV_NUMPY_KINDS = {"f": "float", "b": "bool", "M": "date"}


def _csv_kind(column: pd.Series) -> str | None:
    """How a column's cells are made into text (None: Python objects, which pandas writes)."""
    kind = column.dtype.kind if isinstance(column.dtype, np.dtype) else ""
    if isinstance(column.dtype, pd.StringDtype) or (kind == "O" and _all_text(column)):
        return "text"
    if kind in _CSV_NUMPY_KINDS:
        return _CSV_NUMPY_KINDS[kind]
    if kind in ("i", "u") or isinstance(column.dtype, pd.core.dtypes.dtypes.BaseMaskedDtype):
        if pd.api.types.is_bool_dtype(column.dtype):
            return "nullable_bool"
        return "nullable_float" if pd.api.types.is_float_dtype(column.dtype) else "integer"
    return None


def _csv_cells(column: pd.Series, kind: str) -> pa.Array:
    """One column's cells as CSV text (missing: empty), as pandas writes them."""
    empty = pa.scalar("")
    if kind == "text":
        return pc.fill_null(_csv_quoted(escape_text(column)[0]), empty)
    if kind == "float":
        return pc.fill_null(_float_text(column.to_numpy()), empty)
    if kind == "nullable_bool":
        values = pa.array(column, type=pa.bool_(), from_pandas=True)
        return pc.fill_null(pc.if_else(values, pa.scalar("True"), pa.scalar("False")), empty)
    if kind == "nullable_float":
        return pc.fill_null(_float_text(column.to_numpy(dtype=float, na_value=np.nan)), empty)
    if kind == "integer":
        return pc.fill_null(pc.cast(pa.array(column, from_pandas=True), pa.string()), empty)
    if kind == "bool":
        return pc.if_else(pa.array(column.to_numpy()), pa.scalar("True"), pa.scalar("False"))
    days = pa.array(column.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]"), from_pandas=True)  # date
    return pc.fill_null(pc.cast(days, pa.string()), empty)


def _float_text(values: np.ndarray) -> pa.Array:
    """Floats as Python's repr writes them (NaN: null). Arrow's shortest text serves the
    common case; whole numbers get their ``.0``; the few Arrow writes with an exponent
    where Python does not (or with another exponent form) are written by Python."""
    values = np.asarray(values, dtype=float)
    text = pc.cast(pa.array(values, from_pandas=True), pa.string())
    with np.errstate(invalid="ignore"):
        negative_zero = (values == 0) & np.signbit(values)
        whole = np.isfinite(values) & (np.abs(values) < 1e16) & (values == np.trunc(values)) & ~negative_zero
    if whole.any():
        integers = pc.cast(pa.array(np.where(whole, values, 0).astype(np.int64)), pa.string())
        text = pc.if_else(pa.array(whole), pc.binary_join_element_wise(integers, pa.scalar(".0"), ""), text)
    with np.errstate(invalid="ignore"):  # Python writes an exponent below 1e-4 and from 1e16
        exponent = np.isfinite(values) & (values != 0) & ((np.abs(values) < 1e-4) | (np.abs(values) >= 1e16))
    arrow_exponent = pc.fill_null(pc.match_substring(text, "e"), False).to_numpy(zero_copy_only=False)
    other = np.flatnonzero(~whole & (exponent | arrow_exponent | negative_zero))
    if other.size:  # rare: tiny, huge, or large with decimals
        fixed = np.asarray(text.to_numpy(zero_copy_only=False), dtype=object)
        fixed[other] = [repr(float(v)) for v in values[other]]
        text = pa.array(fixed, type=pa.string())
    return text


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


def commit(out: Path, plan: dict[str, tuple[Callable[[Any, Path], None], Any]], manifest: dict[str, Any] | Future | None,
           known_outputs: frozenset[str] = frozenset(), order: list[str] | None = None) -> list[str]:
    """Write every file of ``plan`` (name → (writer, data)) and put them in place.

    With a ``manifest`` (a screening's outputs) the run is committed whole: the files are
    written into a new sibling folder, the files of OUT that an earlier run did not write
    are hard-linked into it, and the two folders are swapped in one atomic step
    (:func:`swap_folders`): a reader sees the old run or the new one, never a mix, and
    what an earlier run wrote that this one does not is gone (``removed_outputs`` in the
    manifest, which also gives each output's SHA-256; it may be a future, made while the
    files are written). Where the system cannot swap
    folders, files are moved one by one, ``manifest.json`` last, and stale outputs removed.
    Without a manifest (``validate``, ``diff``), files are moved one by one.

    ``known_outputs`` are names zjfin may write there: treated as an earlier run's even
    when no manifest says so. ``order`` is the order the writers take the files in (default:
    the plan's); the names returned and the manifest keep the plan's. Staging folders of
    killed runs are removed first.

    Returns the names written, relative to ``out``.
    """
    out = Path(out)
    if out.is_symlink() or out.exists():
        out = out.resolve()  # a link to the output folder: the run goes into its target
    # The current folder (--out .) cannot be swapped away from under the shell: file by file.
    whole = manifest is not None and out != Path.cwd().resolve() and out.name != ""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_staging(out.parent, f".{out.name}.zjfin-")
        if out.is_dir():
            remove_stale_staging(out, ".zjfin-")
        if not whole:
            out.mkdir(exist_ok=True)
    except OSError as exc:
        raise InputFileError(out, f"cannot create the output folder ({exc.strerror or exc})") from None
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.zjfin-" if whole else ".zjfin-", dir=out.parent if whole else out))
    mark_owner(staging)
    try:
        with _temporary_files_in(staging):
            digests = _write_side_by_side(plan, staging, digest=manifest is not None, order=order)
        names = list(plan)
        if isinstance(manifest, Future):
            manifest = manifest.result()
        if manifest is None:
            _move_into(out, staging, names)
            return names
        earlier = _earlier_outputs(out) | set(known_outputs) | {"manifest.json"}
        manifest["output_sha256"] = {name: digests[name] for name in names}
        manifest["removed_outputs"] = sorted(n for n in earlier - set(names) - {"manifest.json"} if (out / n).is_file())
        (staging / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=False) + "\n",
                                               encoding="utf-8")
        names.append("manifest.json")
        if whole and not out.exists():
            (staging / _OWNER).unlink()
            os.chmod(staging, 0o777 & ~_umask())  # mkdtemp made it private
            os.rename(staging, out)
            return names
        if not out.is_dir():
            raise InputFileError(out, "exists and is not a folder")
        if whole:
            _link_foreign_files(out, staging, earlier | set(names))
            os.chmod(staging, out.stat().st_mode & 0o7777)  # OUT keeps its permissions
            # The owner file stays until the swap: a run starting meanwhile must not take
            # this staging folder for a killed run's. In OUT it is a hidden leftover, not an output.
            if swap_folders(staging, out):
                (out / _OWNER).unlink(missing_ok=True)
                return names  # staging now holds the earlier run: removed below
        _move_into(out, staging, names)  # no atomic swap here: one by one, the manifest last
        for name in manifest["removed_outputs"]:
            (out / name).unlink(missing_ok=True)
            _remove_if_emptied(out, (out / name).parent)
        return names
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _write_side_by_side(plan: dict[str, tuple[Callable[[Any, Path], None], Any]], folder: Path,
                        digest: bool = False, order: list[str] | None = None) -> dict[str, str]:
    """Write the plan's files into ``folder``, two at a time where there are two cores:
    Parquet and Arrow's CSV kernels run outside the GIL, so the screening's Parquet file is
    written while the lists are. With ``digest``, each file's SHA-256 is taken by the thread
    that wrote it, right after (hashlib too runs outside the GIL). The first failure is
    raised once every writer stopped (the plan's first). The writers take the files in
    ``order`` (default: the plan's). Returns the digests (empty without ``digest``)."""
    order = list(plan) if order is None else order
    for name in plan:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)

    def write(name: str) -> str | None:
        writer, data = plan[name]
        writer(data, folder / name)
        return _sha256(folder / name) if digest else None

    if (os.cpu_count() or 1) < 2 or len(plan) < 2:
        digests = {name: write(name) for name in order}
    else:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="zjfin-write") as pool:
            futures = {name: pool.submit(write, name) for name in order}
        digests = {name: futures[name].result() for name in plan}
    return {name: value for name, value in digests.items() if value is not None}


def _move_into(out: Path, staging: Path, names: list[str]) -> None:
    """Move the staged files into OUT one by one, in order (the manifest, when there is one, last)."""
    for name in names:
        final = out / name
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging / name, final)


# A file in a staging folder naming the process that writes it (a killed run's is stale).
_OWNER = ".zjfin-owner"


def _earlier_outputs(out: Path) -> set[str]:
    """The files the manifest of the run in ``out`` lists (none without one)."""
    try:
        record = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
        return {str(n) for n in record.get("outputs", [])}
    except (OSError, ValueError, AttributeError):
        return set()


def _link_foreign_files(out: Path, staging: Path, ours: set[str]) -> None:
    """What OUT holds that zjfin did not write (a user's notes, ``input/`` of ``zjfin
    demo``, links, empty folders) goes along into the new run: files as hard links (nothing
    copied), links as links, empty folders as folders. A folder that held only an earlier
    run's outputs (``screening/`` of a screening by county) is not made again."""
    for folder, dirs, files in os.walk(out, followlinks=False):
        base = Path(folder)
        for name in [*dirs, *files]:
            path = base / name
            rel = path.relative_to(out).as_posix()
            if rel in ours or rel.startswith(".zjfin-"):
                continue
            target = staging / rel
            if target.exists() or target.is_symlink():
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            if path.is_symlink():
                os.symlink(os.readlink(path), target)
            elif path.is_dir():
                if not any(path.iterdir()):  # others are made for the foreign files they hold
                    target.mkdir()
            else:
                try:
                    os.link(path, target)
                except OSError:
                    shutil.copy2(path, target)


def _remove_if_emptied(out: Path, folder: Path) -> None:
    """A folder inside OUT that an earlier run's outputs alone filled (``screening/``) goes
    with them; one still holding anything stays."""
    if folder != out and out in folder.parents:
        with contextlib.suppress(OSError):  # not empty: a user's file, or this run's
            folder.rmdir()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def mark_owner(folder: Path) -> None:
    """Name this process as the folder's owner (:func:`remove_stale_staging` leaves it while it lives)."""
    (folder / _OWNER).write_text(str(os.getpid()))


def remove_stale_staging(folder: Path, prefix: str) -> None:
    """Remove staging folders whose run is gone (killed): their owner process is not alive."""
    try:
        entries = [p for p in folder.iterdir() if p.name.startswith(prefix) and p.is_dir()]
    except OSError:
        return
    for path in entries:
        try:
            pid = int((path / _OWNER).read_text())
            os.kill(pid, 0)
            continue  # a run still writing it
        except PermissionError:
            continue  # another user's run, alive
        except (OSError, ValueError):
            shutil.rmtree(path, ignore_errors=True)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def swap_folders(a: Path, b: Path) -> bool:
    """Exchange two folders in one atomic step (Linux ``renameat2(RENAME_EXCHANGE)``);
    False where the system or the file system cannot."""
    import ctypes
    import errno as _errno

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(str(a)), at_fdcwd, os.fsencode(str(b)), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (_errno.EINVAL, _errno.ENOSYS, _errno.EOPNOTSUPP, getattr(_errno, "ENOTSUP", _errno.EOPNOTSUPP)):
        return False
    raise OSError(err, os.strerror(err), str(b))


@contextlib.contextmanager
def _temporary_files_in(folder: Path):
    """openpyxl's write-only sheets spill to temporary files in the system temp folder; a
    killed run left them there. Inside the staging folder they go with it."""
    before = tempfile.tempdir
    tempfile.tempdir = str(folder)
    try:
        yield
    finally:
        tempfile.tempdir = before
