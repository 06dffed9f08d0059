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

import hashlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from zjfin._version import __version__
from zjfin._errors import ParameterError
from zjfin._features import SIZE_CLASSES
from zjfin._lists import LIST_FILES, LISTS, list_rows
from zjfin._schema import input_tables, risk_level_columns, table_schema
from zjfin._write import commit, parquet_parts, parquet_table, write_arrow_parquet, write_csv, write_parquet
from zjfin._write import mask_person_ids as masked_person_ids

if TYPE_CHECKING:  # pragma: no cover
    from zjfin._result import ScreeningResult
    from zjfin._validate import ValidationReport

__all__ = ["export_result", "write_issues", "findings_files", "findings_record", "FINDINGS_FILES", "LISTED_SEVERITIES", "manifest", "level_counts", "list_summary", "WORKBOOK", "SUMMARY_AMOUNTS"]

#: The lists workbook, relative to the output folder.
WORKBOOK = "lists/三张名单.xlsx"
#: Amounts summed per group in ``summary.csv``, in yuan.
SUMMARY_AMOUNTS = ("revenue", "total_liabilities", "bond_due_12m", "working_capital_need", "suggested_credit_line")
# summary.csv dimension → the screening column that keys it.
_SUMMARY_DIMENSIONS = {"region": "region_code", "industry": "industry_section"}


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


#: Severities listed one finding per line in ``issues.csv`` and ``rejected.csv``; notes
#: (severity ``info``: expired guarantees, periods outside the as-of date, read-as notes)
#: are one line per table, column and code there, and each in ``findings.parquet``.
LISTED_SEVERITIES = ("error", "warning")
#: The findings files: what each holds (also in the manifest).
FINDINGS_FILES = {
    "findings.parquet": "every finding, one row each (the rejects column says whether it kept its row out)",
    "issues.csv": "every rejection and warning, one line each; notes one line per table, column and code",
    "rejected.csv": "every row rejected for a defect, one line per reason; rows set aside as out of scope "
                    "(severity info) one line per table, column and code",
}
# The CSVs' extra column: how many findings a line stands for (1, or a note's count).
_COUNT_COLUMN = "findings"


def findings_files(report: "ValidationReport") -> dict[str, pd.DataFrame]:
    """The three findings files of a validation report, as frames.

    Examples
    --------
    >>> import zjfin
    >>> report = zjfin.validate(zjfin.datasets.synthetic_province(500, seed=0), as_of="2019-03-31")
    >>> files = findings_files(report)
    >>> int(files["issues.csv"]["findings"].sum()) == len(files["findings.parquet"]) == len(report.issues)
    True
    """
    issues = report.issues
    return {
        "findings.parquet": issues,
        "issues.csv": _listed_or_summarised(issues.drop(columns="rejects")),
        "rejected.csv": _listed_or_summarised(report.rejected),
    }


def _listed_or_summarised(findings: pd.DataFrame) -> pd.DataFrame:
    """Errors and warnings one per line; notes one line per (table, file, column, code)
    with their count and no row, key or value; in the findings' table order."""
    listed_mask = findings["severity"].isin(LISTED_SEVERITIES).to_numpy()
    listed = findings[listed_mask].assign(**{_COUNT_COLUMN: 1})
    listed["row"] = listed["row"].astype("Int64")
    notes = findings[~listed_mask]
    if not len(notes):
        return listed.reset_index(drop=True)
    by = ["table", "file", "column", "code", "severity", "message", "message_zh"]
    summary = notes.groupby(by, sort=False, dropna=False).size().rename(_COUNT_COLUMN).reset_index()
    summary["row"] = pd.array([pd.NA] * len(summary), dtype="Int64")
    summary["key"] = summary["value"] = ""
    order = {t: i for i, t in enumerate(input_tables())}
    lines = pd.concat([listed, summary[listed.columns]], ignore_index=True)
    # Per table: its listed findings, then its notes' counts.
    position = lines["table"].map(order).fillna(len(order)).to_numpy()
    return lines.iloc[np.argsort(position, kind="stable")].reset_index(drop=True)


def findings_record(report: "ValidationReport") -> dict[str, Any]:
    """The manifest's ``findings`` block: totals by severity, and per file what it holds and
    how its lines reconcile with the findings (listed + summarised = the file's findings)."""
    issues = report.issues
    severity = issues["severity"].to_numpy()
    listed = np.isin(severity, LISTED_SEVERITIES)
    rejects = issues["rejects"].to_numpy(dtype=bool)
    key = ["table", "file", "column", "code"]

    def lines(mask: np.ndarray) -> dict[str, int]:
        summarised = issues.loc[mask & ~listed, key].drop_duplicates()
        return {"findings": int(mask.sum()), "listed": int((mask & listed).sum()),
                "summarised": int((mask & ~listed).sum()), "lines": int((mask & listed).sum()) + len(summarised)}

    everything = np.ones(len(issues), dtype=bool)
    return {
        "total": len(issues),
        **{s: int((severity == s).sum()) for s in ("error", "warning", "info")},
        "files": {
            "findings.parquet": {"holds": FINDINGS_FILES["findings.parquet"], "findings": len(issues), "lines": len(issues)},
            "issues.csv": {"holds": FINDINGS_FILES["issues.csv"], **lines(everything)},
            "rejected.csv": {"holds": FINDINGS_FILES["rejected.csv"], **lines(rejects)},
        },
    }


def _findings_plan(report: "ValidationReport", compression: str) -> dict[str, tuple[Any, Any]]:
    return {name: ((lambda f, p: write_parquet(f, p, compression)) if name.endswith(".parquet") else write_csv, frame)
            for name, frame in findings_files(report).items()}


def write_issues(report: "ValidationReport", out: str | os.PathLike[str], compression: str = "zstd") -> list[str]:
    """Write ``findings.parquet``, ``issues.csv`` and ``rejected.csv`` for a validation
    report (atomically); see :data:`FINDINGS_FILES` for what each holds."""
    return commit(Path(out), _findings_plan(report, compression), None)


def export_result(result: "ScreeningResult", out: str | os.PathLike[str],
                  formats: tuple[str, ...] = ("parquet", "csv", "xlsx"), mask_person_ids: bool | None = None,
                  by_county: bool | None = None) -> list[str]:
    """Write the SPEC §7 layout: ``manifest.json``, ``screening.parquet``, ``rejected.csv``,
    ``issues.csv``, ``summary.csv``, the list files and, when the tables exist,
    ``pledges.parquet`` and ``circles.parquet``.

    ``by_county`` writes the screening as a partitioned Parquet dataset instead,
    ``screening/<county>.parquet`` (``screening/no-county.parquet`` for firms without one),
    each county's firms in the order of the firms file; ``pandas.read_parquet("OUT/screening")``
    reads them back as one table, county after county. Default: by county when the screening
    ran by county (``engine="dask"``).

    ``formats`` chooses the list files: ``lists/<list>.parquet``, ``lists/<list>.csv`` and
    the workbook ``lists/三张名单.xlsx``; the other files are always written.
    ``mask_person_ids`` (default: the policy's ``[output] mask_person_ids``) masks the ids
    of natural-person pledgers in ``pledges.parquet``.

    Returns the paths written, relative to ``out``.
    """
    unknown = set(formats) - {"parquet", "csv", "xlsx"}
    if unknown:
        raise ParameterError("formats", "a subset of parquet, csv, xlsx", sorted(unknown))
    compression = result.policy.output.parquet_compression
    if by_county is None:
        by_county = result.engine.get("partitions") is not None
    # What the summary and the manifest count: these columns alone (the screening may be in files).
    counted = result.screening_columns(_counted_columns())
    parts = getattr(result, "_parts", None)
    if by_county:
        screening_files = _screening_by_county(result.screening if parts is None else parts, compression)
    else:
        screening_files = {"screening.parquet": (lambda f, p: write_parquet(f, p, compression), result.screening)}
    plan: dict[str, tuple[Any, Any]] = {
        **screening_files,
        **_findings_plan(result.validation, compression),
        # Summed by a writer: the group sums (0.24 s at 1M firms) need not hold back the writers' start.
        "summary.csv": (lambda screening, p: write_csv(list_summary(screening), p), counted),
    }
    # Each list's rows are made when its first file is written and let go after its last,
    # so without the workbook (which takes all four) the lists are not all in memory at once.
    users = sum(f in formats for f in ("parquet", "csv", "xlsx"))
    lists = {name: _MadeOnce(lambda name=name: result.list_rows(name), users) for name in LIST_FILES}
    counts = counted["list"].value_counts()
    width = len(table_schema("lists").columns)
    list_cells = {name: int(counts.get(name, 0)) * width for name in LIST_FILES}
    for name, rows in lists.items():
        if "parquet" in formats:
            plan[f"lists/{name}.parquet"] = (lambda made, p: write_parquet(made.take(), p, compression), rows)
        if "csv" in formats:
            plan[f"lists/{name}.csv"] = (lambda made, p: write_csv(made.take(), p), rows)
    if "xlsx" in formats:
        # Imported here: openpyxl is loaded only when a workbook is asked for.
        from zjfin._xlsx import write_lists_workbook

        plan[WORKBOOK] = (lambda made, p: write_lists_workbook(
            {name: rows.take() for name, rows in made.items()}, p, as_of=result.as_of, policy=result.policy,
            counts={n: int(counts.get(n, 0)) for n in LISTS}, dataset=result.validation.dataset.name), lists)
    masking = result.policy.output.mask_person_ids if mask_person_ids is None else mask_person_ids
    if "pledges" in result.tables:
        # Masked by a writer: looking the pledgers up among the firms (0.27 s at 1M firms) need not hold back the writers' start.
        plan["pledges.parquet"] = (lambda contracts, p: write_parquet(
            masked_person_ids(contracts, result.screening_columns(["firm_id"])["firm_id"]) if masking else contracts, p,
            compression), result.tables["pledges"])
    if "circles" in result.tables:
        plan["circles.parquet"] = (lambda f, p: write_parquet(f, p, compression), result.tables["circles"])

    def record() -> dict[str, Any]:
        made = manifest(result, counted)
        made["outputs"] = sorted([*plan, "manifest.json"])
        return made

    n_firms = len(counted)
    cells = {name: data.size for name, (_, data) in plan.items() if isinstance(data, pd.DataFrame)}
    cells |= {name: len(rows) * width for name, (_, (_, rows, width)) in screening_files.items()} if by_county else {}
    cells["summary.csv"] = n_firms  # a pass over the firms, then a few hundred rows
    if "pledges.parquet" in plan and masking:
        cells["pledges.parquet"] += n_firms  # the firms' ids hashed
    # A list's files one after the other: its rows are made for the first and let go after the last.
    list_of_file = {f"lists/{name}.{ext}": name for name in LIST_FILES for ext in ("parquet", "csv")}
    cells |= {file: list_cells[name] for file, name in list_of_file.items()}
    cells[WORKBOOK] = sum(list_cells.values())
    # A screening in files: each file's counties one after the other, so its files are read one at a time.
    together = {**list_of_file, **{file: f"screening piece {id(data[0])}" for file, (_, data) in screening_files.items()
                                   if by_county and parts is not None}}
    order = _costliest_first({name: cells.get(name, 0) for name in plan}, together)

    # The record is made on a thread of its own while the files are written (writing is
    # Arrow's work, outside the GIL): 0.35 s at 1M firms.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="zjfin-manifest") as pool:
        return commit(Path(out), plan, pool.submit(record), known_outputs=KNOWN_OUTPUTS | _parts_in(Path(out)),
                      order=order)


def _screening_pieces(screening: Any) -> list[tuple[Any, pd.Series, int]]:
    """The screening in pieces of whole counties: (a function making the piece's Arrow table,
    its region codes, its columns) — the one table of a screening in memory, or each file of
    one kept in files (:class:`zjfin._screening_parts.ScreeningParts`), read when written."""
    if isinstance(screening, pd.DataFrame):
        return [(lambda: parquet_table(screening), screening["region_code"], screening.shape[1])]
    width = len(screening.columns)
    return [(lambda path=path: pq.read_table(path), pq.read_table(path, columns=["region_code"]).column(0).to_pandas(),
             width) for path in screening.files]


def _screening_by_county(screening: Any, compression: str) -> dict[str, tuple[Any, Any]]:
    """The plan's ``screening/<county>.parquet`` files of a screening (a frame, or
    :class:`zjfin._screening_parts.ScreeningParts`): slices of each piece's Arrow table
    (:func:`_screening_pieces`: made when its first file is written, let go after its last),
    so every file of a piece has its schema even where a county's column is all missing."""
    # Imported here: _partition imports the engines, which this module does not need otherwise.
    from zjfin._partition import county_partitions

    files = {}
    for make, region_code, width in _screening_pieces(screening):
        # No firm: one empty part, so the folder still reads back as a table with its columns.
        counties = county_partitions(region_code) if len(region_code) else [np.arange(0)]
        codes = region_code.to_numpy(dtype=object, na_value=None)
        table = _MadeOnce(make, len(counties))
        for rows in counties:
            code = codes[rows[0]] if len(rows) else None
            name = f"screening/{NO_COUNTY if code is None else _file_safe(code)}.parquet"
            files[name] = (lambda data, p: write_arrow_parquet(data[0].take().take(pa.array(data[1])), p, compression),
                           (table, rows, width))
    return files


def _parts_in(out: Path) -> frozenset[str]:
    """The parts of a screening by county already in OUT: zjfin's folder, so an earlier
    run's parts are replaced even when its manifest is missing (else a county screened then
    and not now would read back as part of this run)."""
    folder = out / "screening"
    # A link to a folder elsewhere is the user's: its files are not zjfin's to remove.
    return frozenset(f"screening/{p.name}" for p in parquet_parts(folder)) if folder.is_dir() and not folder.is_symlink() \
        else frozenset()


#: The part of a screening by county holding the firms without a county.
NO_COUNTY = "no-county"


def _file_safe(code: str) -> str:
    """A county code as a file name: validated codes are six digits; anything else is
    percent-encoded, and a leading dot or underscore (hidden from Parquet readers) escaped.

    Examples
    --------
    >>> _file_safe("330102"), _file_safe("../x"), _file_safe("_a b"), _file_safe("no-county")
    ('330102', '%2E.%2Fx', '%5Fa%20b', '%6Eo-county')
    """
    from urllib.parse import quote

    name = quote(str(code), safe="")
    if len(name) > 120:  # file names hold 255 bytes: a long code keeps its start and a digest
        name = f"{name[:96]}-{hashlib.sha256(str(code).encode('utf-8')).hexdigest()[:16]}"
    # "no-county" is the part of firms without a county: a county of that name is escaped too.
    return f"%{ord(name[0]):02X}{name[1:]}" if name[:1] in (".", "_") or name == NO_COUNTY else name


# What writing one cell costs, relative to Parquet (1M firms, two writers: screening.parquet
# about 28 ns a cell, a list's CSV 250–330 ns, the workbook about 500 ns).
_CELL_COST = {".parquet": 1, ".csv": 10, ".xlsx": 18}


def _costliest_first(cells: dict[str, int], together: dict[str, str] | None = None) -> list[str]:
    """The order the writers take the files in: the costliest first (cells × the format's
    cost a cell), so the two writers finish together (1M firms, Parquet + CSV: the largest
    list's CSV, taken last, kept one writer busy 3.5 s after the other was done). Files
    mapped to the same key in ``together`` go one after the other, at their sum's place.

    Examples
    --------
    >>> _costliest_first({"a.parquet": 50, "b.csv": 10, "c.parquet": 60, "b.parquet": 15}, {"b.csv": "b", "b.parquet": "b"})
    ['b.csv', 'b.parquet', 'c.parquet', 'a.parquet']
    >>> _costliest_first({"x1": 2, "y1": 2, "x2": 1, "y2": 1}, {"x1": "x", "x2": "x", "y1": "y", "y2": "y"})
    ['y1', 'y2', 'x1', 'x2']
    """
    together = together or {}
    cost = {name: n * _CELL_COST.get(Path(name).suffix, 1) for name, n in cells.items()}
    group = {}
    for name, c in cost.items():
        group[together.get(name, name)] = group.get(together.get(name, name), 0) + c
    # The group's key second: two groups of the same cost must not interleave.
    return sorted(cost, key=lambda name: (group[together.get(name, name)], together.get(name, name), cost[name]),
                  reverse=True)


class _MadeOnce:
    """A value made when its first user takes it and let go when its last one has: the
    files written from it hold it only as long as they need it (threads may share it)."""

    def __init__(self, make: Any, users: int) -> None:
        self._make, self._users = make, users
        self._value: Any = None
        self._lock = threading.Lock()

    def take(self) -> Any:
        with self._lock:
            value = self._make() if self._value is None else self._value
            self._users -= 1
            self._value = value if self._users > 0 else None
            return value


#: Every file a screening may write: an earlier run's, even when its manifest is missing.
# The bulletin (`zjfin report`) is of the run beside it: a new run removes an earlier run's.
KNOWN_OUTPUTS = frozenset({"screening.parquet", "report.html", "通报.xlsx", *FINDINGS_FILES, "issues.csv", "summary.csv", "pledges.parquet",
                           "circles.parquet", WORKBOOK, *(f"lists/{name}.{ext}" for name in LIST_FILES for ext in ("parquet", "csv"))})


# The screening columns the manifest's counts and summary.csv read.
_NETWORK_COLUMNS = ("guarantee_out", "guarantee_in", "guarantee_group_id", "guarantee_circle_id", "mutual_guarantee",
                    "chain_depth")
_LIST_AMOUNTS = ("revenue", "total_liabilities", "bond_due_12m", "suggested_credit_line")


def _counted_columns() -> list[str]:
    """The screening columns :func:`manifest` and :func:`list_summary` read."""
    return list(dict.fromkeys(["size_class", *risk_level_columns(), "zombie", "viable", "list", "pd_12m",
                               *_NETWORK_COLUMNS, *_LIST_AMOUNTS, *_SUMMARY_DIMENSIONS.values(), *SUMMARY_AMOUNTS]))


def manifest(result: "ScreeningResult", counted: pd.DataFrame | None = None) -> dict[str, Any]:
    """The run's record (``manifest.json``): version, as-of, the full policy, every input
    file with its rows read / rejected / used, the firms' reconciliation, findings, the
    risks switched off, per-engine coverage, counts and amounts, and seconds per stage.

    Examples
    --------
    >>> import zjfin
    >>> record = manifest(zjfin.screen(zjfin.datasets.synthetic_province(300, seed=1), as_of="2019-03-31"))
    >>> record["firms"], record["coverage"]["bonds"]["evaluated"]
    ({'read': 300, 'screened': 300, 'not_screened': 0}, 300)
    """
    screening = result.screening_columns(_counted_columns()) if counted is None else counted
    validation = result.validation
    rows = validation.rows.set_index("table")
    inputs = {}
    sources = validation.dataset.sources
    for table in [t for t in input_tables() if t in sources]:
        entry = sources[table].to_dict()
        entry.update(
            rows_read=int(rows.loc[table, "read"]) if table in rows.index else sources[table].rows_read,
            rows_rejected=int(rows.loc[table, "rejected"]) if table in rows.index else 0,
            rows_used=int(rows.loc[table, "used"]) if table in rows.index else 0,
        )
        if "parts" in entry and validation.file_rows is not None:  # each file of a table in parts
            per_file = validation.file_rows[validation.file_rows["table"] == table].set_index("file")
            for part in entry["parts"]:
                if part["path"] in per_file.index:
                    counts = per_file.loc[part["path"]]
                    part.update(rows_rejected=int(counts["rejected"]), rows_used=int(counts["used"]))
        inputs[table] = entry
    severity = validation.issues["severity"].value_counts()
    sizes = screening["size_class"].value_counts()
    return {
        "zjfin_version": __version__,
        "as_of": str(result.as_of.date()),
        "dataset": validation.dataset.name,
        "policy": result.policy.to_dict(),
        "inputs": inputs,
        "firms": dict(validation.firms),
        "issues": {s: int(severity.get(s, 0)) for s in ("error", "warning", "info")},
        "findings": findings_record(validation),
        "risks_switched_off": result.switched_off,
        "coverage": _coverage_record(result.coverage),
        "model": _model_record(result, screening),
        "counts": {
            "size_class": {c: int(sizes.get(c, 0)) for c in SIZE_CLASSES},
            **{risk: level_counts(screening, risk) for risk in risk_level_columns()},
            "zombie": int(screening["zombie"].eq(True).sum()),
            "not_viable": int(screening["viable"].eq(False).sum()),
            "guarantee_network": _network_counts(result, screening),
            "lists": _list_counts(screening),
        },
        "engine": dict(getattr(result, "engine", {"name": "local"})),
        "timings": dict(result.timings),
        "peak_memory_mb": dict(result.peak_memory_mb),
    }


def _coverage_record(coverage: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """The coverage table as the manifest's block: one entry per engine, its rules in it."""
    out: dict[str, dict[str, Any]] = {}
    for row in coverage.to_dict("records"):
        engine, rule = row.pop("engine"), row.pop("rule")
        entry = {key: (bool(value) if isinstance(value, (bool, np.bool_)) else int(value)
                       if isinstance(value, (int, np.integer)) else value) for key, value in row.items()}
        if rule:
            out[engine].setdefault("rules", {})[rule] = entry
        else:
            out[engine] = entry
    return out


def _model_record(result: "ScreeningResult", screening: pd.DataFrame) -> dict[str, Any] | None:
    """What the manifest says of the default model: its checksum (the model file's
    ``sha256``), features and training sample."""
    if result.model is None:
        return None
    from zjfin.model.persist import model_checksum

    pd_12m = screening["pd_12m"]
    return {"sha256": model_checksum(result.model), "features": list(result.model.features_),
            "n_train": result.model.n_train_, "event_rate": result.model.event_rate_,
            "pd_12m_mean": float(pd_12m.mean()) if pd_12m.notna().any() else None}


def _network_counts(result: "ScreeningResult", s: pd.DataFrame) -> dict[str, int] | None:
    graph = result.tables.get("graph")
    if graph is None:
        return None
    return {
        "guarantees_in_force": int(graph.guarantees_used),
        "guarantee_pairs": int(graph.matrix.nnz),
        "nodes_outside_firms": int(graph.n_nodes - graph.n_firms),
        "firms_in_network": int(((s["guarantee_out"] > 0) | (s["guarantee_in"] > 0) | s["guarantee_group_id"].notna()).sum()),
        "circles": int(len(result.circles)),
        "firms_in_circles": int(s["guarantee_circle_id"].notna().sum()),
        "firms_in_mutual_pairs": int(s["mutual_guarantee"].eq(True).sum()),
        "max_chain_depth": int(s["chain_depth"].max()) if len(s) else 0,
    }


def _list_counts(screening: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Firms and amounts per list (SPEC §7: "counts and amounts per list"), in yuan to the fen."""
    out = {}
    amounts = screening[list(_LIST_AMOUNTS)]  # not every column
    on_list = screening["list"].to_numpy(dtype=object, na_value="")
    for name in LISTS:
        mine = amounts[on_list == name]
        out[name] = {
            "firms": int(len(mine)),
            "revenue": round(float(mine["revenue"].sum()), 2),
            "total_liabilities": round(float(mine["total_liabilities"].sum()), 2),
            "bond_due_12m": round(float(mine["bond_due_12m"].sum()), 2),
            "suggested_credit_line": round(float(mine["suggested_credit_line"].sum()), 2) if name == "sme_funding" else 0.0,
        }
    return out


def level_counts(screening: pd.DataFrame, column: str) -> dict[str, int]:
    """Firms per risk level of ``column``; ``switched_off`` counts firms whose level is null.

    Examples
    --------
    >>> level_counts(pd.DataFrame({"bond_risk": ["high", None, "none"]}), "bond_risk")
    {'none': 1, 'low': 0, 'medium': 0, 'high': 1, 'switched_off': 1}
    """
    from zjfin.risks import RISK_LEVELS

    counts = screening[column].value_counts()
    out = {level: int(counts.get(level, 0)) for level in RISK_LEVELS}
    out["switched_off"] = int(screening[column].isna().sum())
    return out
