"""Write a screening's outputs: the SPEC §7 layout, atomically.

Stage 6 of the data flow. Every file is first written into a private temporary folder
inside the output folder and moved into place only when all are complete, the manifest
last, so a failed run leaves the previous outputs as they were and no half-written file.

The lists go to ``lists/<list>.parquet`` and ``lists/<list>.csv`` (columns of
``data_schemas/lists.json``, ordered by county then priority) and to the workbook
``lists/三张名单.xlsx`` (:mod:`zjfin._xlsx`); ``summary.csv`` counts firms and sums amounts by
county × list and by industry section × list.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from zjfin._errors import InputFileError, ParameterError
from zjfin._lists import LISTS
from zjfin._schema import table_schema

if TYPE_CHECKING:  # pragma: no cover
    from zjfin._screen import ScreeningResult
    from zjfin._validate import ValidationReport

__all__ = ["export_result", "write_parquet", "write_csv", "escape_formulas", "write_issues", "list_rows",
           "list_summary", "LIST_FILES", "WORKBOOK", "SUMMARY_AMOUNTS"]

_FORMULA_START = ("=", "+", "-", "@")
#: The lists written under ``lists/`` (SPEC §7); firms on ``none`` are in no list file.
LIST_FILES = ("relief", "quality", "sme_funding", "watch")
#: The lists workbook, relative to the output folder.
WORKBOOK = "lists/三张名单.xlsx"
#: Amounts summed per group in ``summary.csv``, in yuan.
SUMMARY_AMOUNTS = ("revenue", "total_liabilities", "bond_due_12m", "working_capital_need", "suggested_credit_line")
# summary.csv dimension → the screening column that keys it.
_SUMMARY_DIMENSIONS = {"region": "region_code", "industry": "industry_section"}


def escape_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Prefix text cells that a spreadsheet would run as a formula with ``'``.

    Only text cells are touched: a negative number stays a number.

    Examples
    --------
    >>> escape_formulas(pd.DataFrame({"a": ["=1+1", "ok", "-x"], "b": [-1.0, 2.0, 3.0]}))["a"].tolist()
    ["'=1+1", 'ok', "'-x"]
    """
    out = frame.copy()
    for name in out.columns:
        column = out[name]
        if column.dtype == object or pd.api.types.is_string_dtype(column.dtype):
            text = column.astype(object)
            # .str yields NaN for non-text cells; na=False leaves them alone.
            risky = text.str.startswith(_FORMULA_START, na=False).astype(bool)
            if risky.any():
                out[name] = text.mask(risky, "'" + text.where(risky, "").astype(str))
    return out


def write_parquet(frame: pd.DataFrame, path: Path, compression: str = "zstd") -> None:
    """Parquet with missing values as nulls, never NaN (DuckDB sorts NaN above numbers)."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    columns = []
    for field, column in zip(table.schema, table.columns):
        if pa.types.is_floating(field.type):
            values = column.to_numpy(zero_copy_only=False)
            column = pa.array(values, type=field.type, mask=np.isnan(values))
        columns.append(column)
    table = pa.Table.from_arrays(columns, schema=table.schema)
    pq.write_table(table, path, compression=compression)


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
    stars = pa.array(np.full(len(ids), "*"), type=pa.string())
    masked = pc.binary_join_element_wise(
        pc.utf8_slice_codeunits(text, 0, 3), pc.binary_repeat(stars, pc.max_element_wise(pc.subtract(length, 7), 0)),
        pc.utf8_slice_codeunits(text, -4), "")
    # Too short to keep both ends without showing most of it: mask it whole.
    masked = pc.if_else(pc.less(length, 8), pc.binary_repeat(stars, length), masked)
    out = contracts.copy(deep=False)
    out[column] = as_text(pc.if_else(pa.array(person), masked, text), index=contracts.index)
    return out


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """CSV that Excel opens correctly: UTF-8 with BOM, formulas escaped, ISO dates."""
    escape_formulas(frame).to_csv(path, index=False, encoding="utf-8-sig", date_format="%Y-%m-%d",
                                  float_format="%.10g", lineterminator="\n")


def list_rows(screening: pd.DataFrame, name: str) -> pd.DataFrame:
    """The rows of one list, a lender's view: the columns of ``data_schemas/lists.json``
    that the screening has, ordered by county (``region_code``) then ``priority``.

    Examples
    --------
    >>> s = pd.DataFrame({"firm_id": ["a", "b", "c", "d"], "region_code": ["330102", "330101", "330102", "330101"],
    ...                   "list": ["relief", "relief", "relief", "none"],
    ...                   "priority": pd.array([2, 1, 1, None], dtype="Int64"), "zombie": [False] * 4})
    >>> list_rows(s, "relief")
      firm_id region_code    list  priority
    0       b      330101  relief         1
    1       c      330102  relief         1
    2       a      330102  relief         2
    """
    columns = [c for c in table_schema("lists").names if c in screening.columns]
    rows = screening.loc[screening["list"].eq(name).to_numpy(dtype=bool, na_value=False), columns]
    # Priority is unique within list and county; the stable sort keeps file order if it is not.
    return rows.sort_values(["region_code", "priority"], kind="stable", na_position="last").reset_index(drop=True)


def list_summary(screening: pd.DataFrame) -> pd.DataFrame:
    """``summary.csv``: firms and amounts by county × list and by industry section × list.

    One row per (dimension, code, list) with every list, ``none`` included, for every code
    seen; ordered by dimension (region, industry), code, then list in precedence order. The
    amounts are whole yuan; a group whose firms all lack a figure has none (empty).

    Examples
    --------
    >>> s = pd.DataFrame({"region_code": ["330102", "330102", "330101"], "industry_section": ["C", "C", "F"],
    ...                   "list": ["relief", "none", "relief"], "revenue": [1e6, 2e6, np.nan]})
    >>> t = list_summary(s)
    >>> t[(t["dimension"] == "region") & (t["list"] == "relief")][["code", "firms", "revenue", "total_liabilities"]]
         code  firms  revenue  total_liabilities
    1  330101      1     <NA>               <NA>
    6  330102      1  1000000               <NA>
    >>> t.groupby("dimension")["firms"].sum().to_dict()
    {'industry': 3, 'region': 3}
    """
    amounts = list(SUMMARY_AMOUNTS)
    on_list = pd.Categorical(screening["list"], categories=list(LISTS))
    blocks = []
    for dimension, key in _SUMMARY_DIMENSIONS.items():
        # A missing code is a group of its own (""), so the counts still add up to the firms.
        codes = pd.Categorical(screening[key].fillna("").astype(str) if key in screening else np.full(len(screening), ""))
        frame = screening.reindex(columns=amounts).astype(float).assign(code=codes, list=on_list)
        grouped = frame.groupby(["code", "list"], observed=False, sort=True)
        firms = grouped.size()
        sums = grouped[amounts].sum(min_count=1)
        # Whole yuan as integers: write_csv's float format would print large sums with an exponent.
        empty = np.broadcast_to(firms.eq(0).to_numpy()[:, None], sums.shape)
        sums = sums.round(0).astype("Int64").mask(empty, 0)
        block = sums.assign(firms=firms.astype(np.int64)).reset_index()
        block.insert(0, "dimension", dimension)
        blocks.append(block[["dimension", "code", "list", "firms", *amounts]])
    out = pd.concat(blocks, ignore_index=True)
    out["code"] = out["code"].astype(str)
    out["list"] = out["list"].astype(str)
    return out


def write_issues(report: "ValidationReport", out: str | os.PathLike[str]) -> list[str]:
    """Write ``issues.csv`` and ``rejected.csv`` for a validation report (atomically)."""
    files = {"issues.csv": report.to_frame(), "rejected.csv": report.rejected}
    return _commit(Path(out), {name: (write_csv, frame) for name, frame in files.items()}, None)


def export_result(result: "ScreeningResult", out: str | os.PathLike[str],
                  formats: tuple[str, ...] = ("parquet", "csv", "xlsx")) -> list[str]:
    """Write the SPEC §7 layout: ``manifest.json``, ``screening.parquet``, ``rejected.csv``,
    ``issues.csv``, ``summary.csv``, the list files and, when the tables exist,
    ``pledges.parquet`` and ``circles.parquet``.

    ``formats`` chooses the list files: ``lists/<list>.parquet``, ``lists/<list>.csv`` and
    the workbook ``lists/三张名单.xlsx``; the other files are always written.

    Returns the paths written, relative to ``out``.
    """
    unknown = set(formats) - {"parquet", "csv", "xlsx"}
    if unknown:
        raise ParameterError("formats", "a subset of parquet, csv, xlsx", sorted(unknown))
    compression = result.policy.output.parquet_compression
    plan: dict[str, tuple[Any, Any]] = {
        "screening.parquet": (lambda f, p: write_parquet(f, p, compression), result.screening),
        "rejected.csv": (write_csv, result.validation.rejected),
        "issues.csv": (write_csv, result.validation.to_frame()),
        "summary.csv": (write_csv, list_summary(result.screening)),
    }
    lists = {name: list_rows(result.screening, name) for name in LIST_FILES}
    for name, rows in lists.items():
        if "parquet" in formats:
            plan[f"lists/{name}.parquet"] = (lambda f, p: write_parquet(f, p, compression), rows)
        if "csv" in formats:
            plan[f"lists/{name}.csv"] = (write_csv, rows)
    if "xlsx" in formats:
        # Imported here: openpyxl is loaded only when a workbook is asked for.
        from zjfin._xlsx import write_lists_workbook

        counts = result.screening["list"].value_counts()
        plan[WORKBOOK] = (lambda frames, p: write_lists_workbook(
            frames, p, as_of=result.as_of, policy=result.policy, counts={n: int(counts.get(n, 0)) for n in LISTS},
            dataset=result.validation.dataset.name), lists)
    if "pledges" in result.tables:
        contracts = result.tables["pledges"]
        if result.policy.output.mask_person_ids:
            contracts = mask_person_ids(contracts, result.screening["firm_id"])
        plan["pledges.parquet"] = (lambda f, p: write_parquet(f, p, compression), contracts)
    if "circles" in result.tables:
        plan["circles.parquet"] = (lambda f, p: write_parquet(f, p, compression), result.tables["circles"])
    manifest = result.manifest()
    manifest["outputs"] = sorted([*plan, "manifest.json"])
    return _commit(Path(out), plan, manifest)


def _commit(out: Path, plan: dict[str, tuple[Any, Any]], manifest: dict[str, Any] | None) -> list[str]:
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
