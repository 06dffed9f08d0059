"""Validate a dataset: collect every finding, set unusable rows aside, keep the rest.

Stage 2 of the data flow. Each check is a vectorised mask over a table; masks become rows
of one findings table (table, file row, key, column, value, code, severity, message) with
codes from ``data_schemas/validation_codes.json``. Whether a finding rejects its row is
data (the code's ``rejects`` rule and the column's ``required`` flag), not an ``if`` here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from zjfin._arrow import arrow_text, as_text, distinct, index_in, is_in
from zjfin._codes import normalise_industry_code, region_code_status, uscc_status
from zjfin._errors import ParameterError
from zjfin._features import ranked_statements, size_class
from zjfin._policy import Policy
from zjfin._read import FIRST_DATA_ROW, Dataset, _FINDING_COLUMNS, cell_text
from zjfin._schema import input_tables, table_schema, validation_codes

__all__ = ["ValidationReport", "validate"]

ISSUE_COLUMNS = [*_FINDING_COLUMNS, "severity", "message", "message_zh"]
_SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}
# Tables whose rows are only usable for firms that are screened (they describe that firm).
_FIRM_REFERENCE = {"financials": "firm_id", "bonds": "issuer_id", "loans": "firm_id", "pledges": "company_id"}
# With [validation] firm_id_format = "any": the longest id accepted.
_MAX_ID_LENGTH = 64
# Guarantee ends may name firms outside the firms table: they stay network nodes.
_NETWORK_REFERENCE = ("guarantor_id", "borrower_id")


@dataclass
class ValidationReport:
    """What validation found and the usable dataset.

    Attributes
    ----------
    dataset : Dataset
        The usable rows of every table (rejected rows removed, codes normalised).
    issues : DataFrame
        Every finding: rejections (severity ``error``, or ``info`` for rows outside the
        as-of date), warnings and notes.
    rows : DataFrame
        Per table: rows read, rejected, used (read = rejected + used).
    file_rows : DataFrame
        The same per input file: a table read from a folder of Parquet files has a line
        per file.
    firms : dict
        ``read``, ``screened``, ``not_screened`` (read = screened + not_screened).
    """

    dataset: Dataset
    issues: pd.DataFrame
    rows: pd.DataFrame
    firms: dict[str, int]
    as_of: pd.Timestamp | None
    rejected_mask: dict[str, np.ndarray] = field(repr=False, default_factory=dict)
    file_rows: pd.DataFrame | None = field(repr=False, default=None)

    @property
    def rejected(self) -> pd.DataFrame:
        """One line per reason a row was not used (what ``rejected.csv`` holds)."""
        return self.issues[self.issues["rejects"]].drop(columns="rejects").reset_index(drop=True)

    def to_frame(self) -> pd.DataFrame:
        """All findings (what ``issues.csv`` holds)."""
        return self.issues.drop(columns="rejects")

    def summary(self) -> pd.DataFrame:
        """Counts of findings by table, code and severity."""
        if self.issues.empty:
            return pd.DataFrame(columns=["table", "code", "severity", "findings", "rows"])
        grouped = self.issues.groupby(["table", "code", "severity"], sort=True)
        counts = grouped.agg(findings=("row", "size")).reset_index()
        # A row is a file's row: the same number in two parts of a table is two rows.
        rows = self.issues.drop_duplicates(["table", "code", "severity", "file", "row"])
        counts["rows"] = rows.groupby(["table", "code", "severity"], sort=True).size().to_numpy()
        return counts

    @property
    def n_warnings(self) -> int:
        return int((self.issues["severity"] == "warning").sum())

    @property
    def n_rejected_rows(self) -> int:
        """Rows rejected for a defect (rows set aside as out of scope are not counted)."""
        errors = self.issues[self.issues["rejects"] & (self.issues["severity"] == "error")]
        return int(errors[["table", "file", "row"]].drop_duplicates().shape[0])

    def exit_code(self, policy: Policy | None = None) -> int:
        """0 clean, 1 rejected rows or warnings above the policy's share of rows read."""
        policy = policy or Policy.default()
        rows_read = int(self.rows["read"].sum()) or 1
        warned_rows = self.issues[self.issues["severity"] == "warning"][["table", "file", "row"]].drop_duplicates()
        if self.n_rejected_rows or len(warned_rows) / rows_read > policy.validation.warning_limit_share:
            return 1
        return 0

    def __repr__(self) -> str:
        f = self.firms
        return (
            f"<ValidationReport: firms read {f['read']:,}, screened {f['screened']:,}, not screened "
            f"{f['not_screened']:,}; {self.n_rejected_rows:,} rows rejected, {self.n_warnings:,} warnings>"
        )

    def _repr_html_(self) -> str:
        return f"<p>{self.__repr__()[1:-1]}</p>" + self.rows.to_html(index=False) + self.summary().to_html(index=False)


class _Collector:
    """Accumulates findings as masks over the tables."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset
        self.frames: dict[str, list[pd.DataFrame]] = {}
        self.codes = validation_codes()
        self.folded: dict[str, np.ndarray] = {}
        # Each statement's firm row (the first with its id; −1: none), and which firm rows'
        # ids are malformed: a statement whose firm_id is a firm's is judged by that id.
        self.firm_rows: dict[tuple[str, str], np.ndarray] = {}
        self.firm_id_malformed: np.ndarray | None = None

    def add(self, findings: pd.DataFrame) -> None:
        """Take findings made elsewhere (the reader's), filed by their table."""
        for table, part in findings.groupby("table", sort=False):
            source = self.dataset.sources.get(str(table))
            if source is not None and source.parts:  # a part's rows as the table's rows
                files = part["file"].to_numpy(dtype=object)
                ours = np.isin(files, [p["path"] for p in source.parts]) & (part["row"].to_numpy() >= FIRST_DATA_ROW)
                part = part.assign(row=np.where(ours, source.table_rows(files, part["row"].to_numpy()), part["row"].to_numpy()),
                                   file=np.where(ours, self.file(str(table)), files))
            self.frames.setdefault(str(table), []).append(part)

    def file(self, table: str) -> str:
        source = self.dataset.sources.get(table)
        return source.label if source else ""

    def emit(self, table: str, mask: np.ndarray, column: str, code: str, values: Any = None, key: str | None = None) -> None:
        mask = np.asarray(mask, dtype=bool)
        if table in self.folded:
            mask = mask & ~self.folded[table]
        if not mask.any():
            return
        frame = self.dataset[table]
        schema = table_schema(table)
        key_col = key or (schema.primary_key[0] if schema.primary_key else schema.names[0])
        if values is None:
            values = frame[column] if column in frame.columns else pd.Series("", index=frame.index)
        # Pick the flagged cells in their own dtype first: never convert a whole column.
        if isinstance(values, str):  # one value for every flagged cell
            picked = np.full(int(mask.sum()), values, dtype=object)
        else:
            picked = values[mask] if isinstance(values, pd.Series) else np.asarray(values, dtype=object)[mask]
        self.frames.setdefault(table, []).append(
            pd.DataFrame(
                {
                    "table": table,
                    "file": self.file(table),
                    "row": frame["_row"].to_numpy()[mask],
                    "key": cell_text(frame[key_col][mask]),
                    "column": column,
                    "value": cell_text(picked),
                    "code": code,
                }
            )
        )

    def table_findings(self, table: str) -> pd.DataFrame:
        frames = [f for f in self.frames.get(table, []) if len(f)]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=_FINDING_COLUMNS)

    def rejecting(self, findings: pd.DataFrame) -> np.ndarray:
        """Which findings reject their row: the code's rule, with the column's flag."""
        if findings.empty:
            return np.zeros(0, dtype=bool)
        rule = _per_distinct(findings["code"], self.codes["rejects"])
        # One schema look-up per distinct (table, column), not per finding.
        at_table, tables = pd.factorize(findings["table"], use_na_sentinel=False)
        at_column, columns = pd.factorize(findings["column"], use_na_sentinel=False)
        pairs, at = np.unique(at_table * len(columns) + at_column, return_inverse=True)
        required = np.array([_required(str(tables[p // len(columns)]), str(columns[p % len(columns)])) for p in pairs],
                            dtype=bool)[at.reshape(-1)]
        return (rule == "always") | ((rule == "if_required") & required)

    def rejected_rows(self, table: str) -> np.ndarray:
        """Boolean mask over the table: rows with at least one rejecting finding."""
        frame = self.dataset[table]
        mask = np.zeros(len(frame), dtype=bool)
        findings = self.table_findings(table)
        if len(findings):
            rows = findings["row"].to_numpy()[self.rejecting(findings)].astype(np.int64)
            # By the row number itself: a filtered dataset's rows are not its positions.
            mask = np.isin(frame["_row"].to_numpy(dtype=np.int64), rows)
        return mask


def _reference_malformed(values: pd.Series, firm_row: np.ndarray, firm_id_malformed: np.ndarray) -> np.ndarray:
    """Which references are malformed codes: a reference that is some firm's id is what
    that id is (the same text); only the others are checked."""
    found = firm_row >= 0
    malformed = np.zeros(len(values), dtype=bool)
    malformed[found] = firm_id_malformed[firm_row[found]]
    rest = np.flatnonzero(~found)
    if len(rest):
        malformed[rest] = uscc_status(values.iloc[rest], checks=False)["malformed"].to_numpy()
    return malformed


def _key_frame(frame: pd.DataFrame, key: list[str], firm_rows: dict[str, np.ndarray]) -> pd.DataFrame:
    """A table's key columns for the duplicate check, each firm reference among them as an
    integer with the same equality as its text (the firm row its id was found at; for ids
    no firm has, one negative code per distinct id, missing ones alike): a statement's key
    is then compared without hashing three million ids again."""
    columns = {}
    for name in key:
        if name not in firm_rows:
            columns[name] = frame[name]
            continue
        codes = firm_rows[name].copy()
        nowhere = codes < 0
        if nowhere.any():
            codes[nowhere] = -1 - pd.factorize(frame[name].iloc[np.flatnonzero(nowhere)], use_na_sentinel=False)[0]
        columns[name] = codes
    return pd.DataFrame(columns, index=frame.index, copy=False)


def _per_distinct(values: pd.Series, mapping: Any) -> np.ndarray:
    """``values.map(mapping)`` (a mapping or a function) as an object array, looked up
    once per distinct value: findings repeat a few codes and tables over many rows."""
    at, distinct_values = pd.factorize(values, use_na_sentinel=False)
    return pd.Series(distinct_values, dtype=object).map(mapping).to_numpy(dtype=object)[at]


def _required(table: str, column: str) -> bool:
    try:
        return table_schema(table).column(column).required
    except Exception:
        return False


def validate(
    dataset: Dataset,
    as_of: str | dt.date | pd.Timestamp | None = None,
    policy: Policy | None = None,
    today: str | dt.date | None = None,
) -> ValidationReport:
    """Check a dataset against the data contract and set aside unusable rows.

    Parameters
    ----------
    dataset : Dataset
        From :func:`zjfin.read_dataset` or :func:`zjfin.datasets.synthetic_province`.
    as_of : date, optional
        Screening date. Financial periods ending after it are set aside (code
        ``after_as_of``) and a firm with no period on or before it is not screened.
        Without it every period counts.
    policy : Policy, optional
        Tolerances (``[validation]`` section).
    today : date, optional
        Reference for ``future_date`` warnings (default: the real date).

    Returns
    -------
    ValidationReport

    Examples
    --------
    >>> import zjfin
    >>> report = validate(zjfin.datasets.synthetic_province(300, seed=2), as_of="2019-03-31")
    >>> report.firms
    {'read': 300, 'screened': 300, 'not_screened': 0}
    """
    policy = policy or Policy.default()
    as_of_ts, today_ts = validation_dates(as_of, today)
    col, work = _start(dataset)
    registry = _validate_firms(col, work, as_of_ts, policy, today_ts)
    _validate_linked(col, work, registry, as_of_ts, policy, today_ts)
    return _report(col, work, dataset, as_of_ts)


def validation_dates(as_of: Any, today: Any) -> tuple[pd.Timestamp | None, pd.Timestamp]:
    """The as-of date (None: every period counts) and the date ``future_date`` is judged by."""
    as_of_ts = pd.Timestamp(as_of).normalize() if as_of is not None else None
    return as_of_ts, pd.Timestamp(today or dt.date.today()).normalize()


def _start(dataset: Dataset) -> tuple[_Collector, Dataset]:
    """The tables to check (shallow copies: checks replace whole columns, normalising codes,
    never write into the caller's arrays) and a collector holding the reader's findings and
    every unknown column's."""
    for table in dataset.tables_present():
        _check_rows_once(table, dataset[table]["_row"].to_numpy())
    col = _Collector(dataset)
    work = Dataset({t: dataset[t].copy(deep=False) for t in dataset.tables_present()}, dataset.sources,
                   name=dataset.name)
    col.dataset = work
    if len(dataset.findings):
        col.add(dataset.findings)
    for table, source in dataset.sources.items():
        # A table in parts: each part's unknown columns, on that part.
        own = {c for p in source.parts for c in p["ignored_columns"]}
        for file, headers in [(col.file(table), [c for c in source.ignored_columns if c not in own]),
                              *((p["path"], p["ignored_columns"]) for p in source.parts)]:
            for header in headers:
                col.add(pd.DataFrame({"table": [table], "file": [file], "row": [1], "key": [""],
                                      "column": [header], "value": [header], "code": ["unknown_column"]}))
    return col, work


def _check_rows_once(table: str, rows: np.ndarray) -> None:
    """Every finding names its row by ``_row``: a table holding a row twice (a frame joined
    with itself) cannot be reported on."""
    if len(rows) > 1 and not np.all(rows[1:] > rows[:-1]):  # as read: increasing, checked at once
        ordered = np.sort(rows)
        again = ordered[1:][ordered[1:] == ordered[:-1]]
        if len(again):
            raise ParameterError(f"dataset[{table!r}]", "rows each held once (its _row values unique)",
                                 f"{len(again):,} rows held again, the first _row {int(again[0])}")


def _report(col: _Collector, work: Dataset, dataset: Dataset, as_of: pd.Timestamp | None) -> ValidationReport:
    """The report of checked tables: every finding in order, the usable rows, the counts."""
    issues = _finish(col)
    masks = {t: col.rejected_rows(t) for t in work.tables_present()}
    clean = Dataset({t: _usable(work[t], masks[t] | col.folded.get(t, False)) for t in work.tables_present()},
                    dataset.sources, name=dataset.name)
    clean.planted = dataset.planted
    rows = pd.DataFrame(
        {
            "table": work.tables_present(),
            "file": [col.file(t) for t in work.tables_present()],
            "read": [len(work[t]) for t in work.tables_present()],
            "rejected": [int(masks[t].sum()) for t in work.tables_present()],
        }
    )
    rows["used"] = rows["read"] - rows["rejected"]
    firms = {"read": len(work["firms"]), "screened": int((~masks["firms"]).sum())}
    firms["not_screened"] = firms["read"] - firms["screened"]
    return ValidationReport(clean, issues, rows, firms, as_of, masks, file_rows=_file_rows(work, rows, masks))


class FirmRegistry:
    """What the other tables' checks need of the firms, and nothing more: which screened
    firm an id names (its ``firm_idx``), which firm a name or stock code names, and the
    stock codes the firms have.

    The firms and their statements are validated first, on their own (:data:`FIRM_TABLES`);
    the tables that refer to firms (bonds, loans, pledges, prices, guarantees) are then
    judged against this registry alone, so they can be checked where the firms' tables are
    not held (a screening whose counties are validated on other machines).

    Parameters
    ----------
    screened_ids : pyarrow.Array
        The id of each screened firm, in ``firm_idx`` order.
    firms : DataFrame
        Every firm row (rejected ones too) with ``firm_id`` and, where given, ``name`` and
        ``stock_code`` (normalised): a name or code names a firm only where exactly one row has it.

    Examples
    --------
    >>> reg = FirmRegistry(pa.array(["A", "B"]), pd.DataFrame({"firm_id": ["A", "B", "C"], "name": ["x", "y", "y"]}))
    >>> reg.screened_position(pd.Series(["B", "C", None])).tolist()
    [1, -1, -1]
    >>> reg.ids_by("name", pd.Series(["x", "y"])).tolist()
    ['A', None]
    """

    def __init__(self, screened_ids: pa.Array, firms: pd.DataFrame) -> None:
        self.screened_ids = screened_ids
        self.firms = firms[[c for c in ("firm_id", "name", "stock_code") if c in firms.columns]]  # the keys alone

    def screened_position(self, values: pd.Series | pa.ChunkedArray) -> np.ndarray:
        """Each id's screened firm (its ``firm_idx``; −1: no screened firm has it)."""
        return index_in(values, self.screened_ids)

    def ids_by(self, by: str, values: pd.Series) -> np.ndarray:
        """The firm_id whose name or stock code (``by``) each value names; None where no
        firm or several have it."""
        return _firm_ids_by(self.firms, by, values)

    def stock_codes(self) -> pd.Series:
        """The firms' stock codes (normalised; every firm row that has one)."""
        return self.firms["stock_code"].dropna() if "stock_code" in self.firms.columns else pd.Series([], dtype=object)


#: The tables validated as the firms' own: a firm and its statements, judged together.
FIRM_TABLES = ("firms", "financials")


def _validate_firms(col: _Collector, work: Dataset, as_of: pd.Timestamp | None, policy: Policy,
                    today: pd.Timestamp, lost: np.ndarray | None = None) -> FirmRegistry:
    """The firms and their statements: every check, duplicate, statement of an unknown firm
    or after the as-of date, firm without a statement; ``firm_idx`` numbered. Returns the
    registry the other tables are judged against.

    ``lost``: firm rows whose id an earlier usable row held elsewhere has (validation by
    groups, :mod:`zjfin._validate_groups`): duplicates, as they would be found here."""
    firms, fin = work["firms"], work["financials"]
    # Every firm id and statement's reference hashed once, against every firm row's id
    # (the first row with each id): the references' id checks, the statements' duplicate
    # check and the look-ups below share it. (The checks leave ids as they are.)
    # A firm row whose id is found at an earlier row is a duplicate (the duplicate check
    # below uses it where no firm row is set aside).
    referring = pa.chunked_array([*arrow_text(firms["firm_id"]).chunks, *arrow_text(fin["firm_id"]).chunks],
                                 type=pa.string())
    firm_row = index_in(referring, firms["firm_id"])
    first_with_id, firm_row = firm_row[:len(firms)], firm_row[len(firms):]
    referring = referring[len(firms):]
    col.firm_rows = {("financials", "firm_id"): firm_row}
    for table in FIRM_TABLES:
        _check_columns(col, work, table, policy, today)

    # Duplicates are judged among rows that are otherwise usable: the first usable one wins.
    if lost is not None:
        col.emit("firms", lost & ~col.rejected_rows("firms"), "firm_id", "duplicate_key")
    for table in FIRM_TABLES:
        key = list(table_schema(table).primary_key)
        rejected = col.rejected_rows(table)
        frame = _key_frame(work[table], key, {ref: col.firm_rows[(t, ref)] for t, ref in col.firm_rows if t == table})
        if table == "firms" and not rejected.any() and (first_with_id >= 0).all():  # the look-up above decides
            dupes = first_with_id != np.arange(len(first_with_id))
        else:
            dupes = _duplicated(frame, ~rejected)
        col.emit(table, dupes, key[-1], "duplicate_key")

    # Each statement's position among the usable firms, from the firm row found above where
    # that row is usable (then it is the first usable one with that id); looked up again
    # only where it was set aside.
    firm_rejected = col.rejected_rows("firms")
    usable_rows = np.flatnonzero(~firm_rejected)
    usable_at = np.full(len(firm_rejected), -1, dtype=np.int64)
    usable_at[usable_rows] = np.arange(len(usable_rows))
    found = np.where(firm_row >= 0, usable_at[np.maximum(firm_row, 0)], -1) if len(usable_at) else np.full(len(firm_row), -1)
    again = (firm_row >= 0) & (found < 0)
    if again.any():
        found[again] = index_in(referring.filter(pa.array(again)), firms["firm_id"].iloc[usable_rows])
    fin_rejected = col.rejected_rows("financials")
    col.emit("financials", ~fin_rejected & (found < 0) & fin["firm_id"].notna().to_numpy(), "firm_id", "unknown_firm")
    if as_of is not None:
        late = (fin["period_end"] > as_of).to_numpy()
        col.emit("financials", ~fin_rejected & (found >= 0) & late, "period_end", "after_as_of")
    _check_balance(col, work, policy)
    fin_rejected = col.rejected_rows("financials")
    has_statement = np.zeros(len(usable_rows), dtype=bool)
    has_statement[found[~fin_rejected & (found >= 0)]] = True
    no_fin = np.zeros(len(firm_rejected), dtype=bool)
    no_fin[usable_rows[~has_statement]] = True
    col.emit("firms", no_fin, "firm_id", "no_financials")
    # Dense firm positions, assigned once: later stages join on integers.
    clean_position = np.where(has_statement, np.cumsum(has_statement) - 1, -1)
    screened = np.where(found >= 0, clean_position[np.maximum(found, 0)], -1) if len(clean_position) else found
    work.tables["financials"] = fin.assign(firm_idx=screened)
    firm_idx = np.where(no_fin | firm_rejected, -1, np.cumsum(~(no_fin | firm_rejected)) - 1)
    work.tables["firms"] = firms.assign(firm_idx=firm_idx)
    _check_size_class(col, work, as_of, policy)
    screened_ids = arrow_text(firms["firm_id"]).take(pa.array(np.flatnonzero(firm_idx >= 0)))
    return FirmRegistry(screened_ids, work["firms"])


def _validate_linked(col: _Collector, work: Dataset, registry: FirmRegistry, as_of: pd.Timestamp | None,
                     policy: Policy, today: pd.Timestamp) -> None:
    """The tables that refer to firms (every table but :data:`FIRM_TABLES`), judged
    against the firms' registry: names resolved, events folded, every check, duplicates,
    references to firms not screened, guarantees in force, prices of no firm's stock;
    firm positions assigned."""
    linked = [t for t in work.tables_present() if t not in FIRM_TABLES]
    _resolve_firms(col, work, registry, linked)
    _imply_from_events(col, work, linked)
    # Rows folded into another (a bond's earlier default events) before the checks: used,
    # but not rows of their own, so no check speaks of them again.
    col.folded.update({t: _collapse_events(col, work, t, col.rejected_rows(t)) for t in linked})
    for table in linked:
        _check_columns(col, work, table, policy, today)
    rejected = {t: col.rejected_rows(t) for t in linked}
    for table in linked:
        key = list(table_schema(table).primary_key)
        if key:
            col.emit(table, _duplicated(work[table][key], ~rejected[table] & ~col.folded[table]), key[-1], "duplicate_key")
    # Every reference looked up once among the screened firms.
    references = [(table, ref) for table, refs in FIRM_INDEX_COLUMNS.items() if table in linked for ref in refs]
    referring = pa.chunked_array([c for t, r in references for c in arrow_text(work[t][r]).chunks], type=pa.string())
    found = registry.screened_position(referring)
    bounds = np.cumsum([0] + [len(work[t]) for t, _ in references])
    screened = {key: found[bounds[i]: bounds[i + 1]] for i, key in enumerate(references)}
    for table, column in _FIRM_REFERENCE.items():
        if table not in linked:
            continue
        unknown = ~col.rejected_rows(table) & (screened[(table, column)] < 0) & work[table][column].notna().to_numpy()
        col.emit(table, unknown, column, "unknown_firm")
    if "guarantees" in linked:
        g = work["guarantees"]
        rej = col.rejected_rows("guarantees")
        col.emit("guarantees", ~rej & (g["guarantor_id"] == g["borrower_id"]).to_numpy(), "borrower_id", "self_reference", key="guarantor_id")
        for column in _NETWORK_REFERENCE:
            outside = ~rej & (screened[("guarantees", column)] < 0) & g[column].notna().to_numpy()
            col.emit("guarantees", outside, column, "unknown_firm_in_network", key="guarantor_id")
        if as_of is not None:
            # In force: start ≤ as-of < end (SPEC §3.6); a missing date does not limit.
            for column, out_of_force in (("start_date", lambda d: d > as_of), ("end_date", lambda d: d <= as_of)):
                if column in g.columns:
                    dates = pd.to_datetime(g[column], errors="coerce")
                    col.emit("guarantees", ~col.rejected_rows("guarantees") & out_of_force(dates).fillna(False).to_numpy(dtype=bool),
                             column, "guarantee_inactive", key="guarantor_id")
    if "prices" in linked:
        _check_unmatched_prices(col, work, registry)
        if as_of is not None:
            _check_stale_prices(col, work, as_of, policy)
    for table, refs in FIRM_INDEX_COLUMNS.items():
        if table in linked:
            work.tables[table] = work[table].assign(**{idx: screened[(table, ref)] for ref, idx in refs.items()})


def _duplicated(frame: pd.DataFrame, usable: np.ndarray) -> np.ndarray:
    """Rows whose key an earlier usable row has, among the usable rows."""
    if usable.all():  # the usual case: no copy of the key columns
        return frame.duplicated(keep="first").to_numpy()
    dupes = np.zeros(len(frame), dtype=bool)
    dupes[usable] = frame.loc[usable].duplicated(keep="first").to_numpy()
    return dupes


def _file_rows(work: Dataset, rows: pd.DataFrame, masks: dict[str, np.ndarray]) -> pd.DataFrame:
    """``rows`` per input file: a table read in parts has a line per part."""
    lines = []
    for line in rows.itertuples(index=False):
        source = work.sources.get(line.table)
        if source is None or not source.parts:
            lines.append(pd.DataFrame([line._asdict()]))
            continue
        # Counted from the rows the table holds now (a dataset changed in memory included).
        names = [p["path"] for p in source.parts]
        every, _ = source.file_rows(work[line.table]["_row"].to_numpy())
        mine, _ = source.file_rows(work[line.table]["_row"].to_numpy()[masks[line.table]])
        read = pd.Series(every, dtype=object).value_counts().reindex(names, fill_value=0).to_numpy(dtype=np.int64)
        rejected = pd.Series(mine, dtype=object).value_counts().reindex(names, fill_value=0).to_numpy(dtype=np.int64)
        lines.append(pd.DataFrame({"table": line.table, "file": names, "read": read, "rejected": rejected,
                                   "used": read - rejected}))
    if not lines:
        return pd.DataFrame(columns=["table", "file", "read", "rejected", "used"])
    return pd.concat(lines, ignore_index=True)


def _usable(frame: pd.DataFrame, rejected: np.ndarray) -> pd.DataFrame:
    """The rows kept, numbered 0..n−1 whatever the caller's index; a table with nothing
    rejected and already so numbered is passed on without a copy."""
    if rejected.any():
        return frame.loc[~rejected].reset_index(drop=True)
    numbered = isinstance(frame.index, pd.RangeIndex) and frame.index.start == 0 and frame.index.step == 1
    return frame if numbered else frame.reset_index(drop=True)


#: Dense firm positions: the column each referencing table gets (−1: not a screened firm,
#: possible only in guarantees, whose ends may lie outside the firms table).
FIRM_INDEX_COLUMNS = {
    "financials": {"firm_id": "firm_idx"},
    "bonds": {"issuer_id": "issuer_idx"},
    "loans": {"firm_id": "firm_idx"},
    "pledges": {"company_id": "company_idx"},
    "guarantees": {"guarantor_id": "guarantor_idx", "borrower_id": "borrower_idx"},
}


def _check_columns(col: _Collector, work: Dataset, table: str, policy: Policy, today: pd.Timestamp) -> None:
    """Per-column contract checks: required, range, choices, code formats, dates."""
    frame = work[table]
    schema = table_schema(table)
    converted = col.table_findings(table)
    flagged = {c: set(g["row"]) for c, g in converted.groupby("column")} if len(converted) else {}
    rows = frame["_row"].to_numpy()
    excusable: list[tuple[str, np.ndarray, dict[str, list[str]]]] = []
    for column in schema.columns:
        name, values = column.name, frame[column.name]
        cons = column.constraints
        missing = values.isna().to_numpy() if column.required or "format" in cons else None
        if column.required:
            already = np.isin(rows, list(flagged.get(name, ()))) if name in flagged else np.zeros(len(frame), bool)
            if "required_unless" in cons:  # judged after the loop, once the choices are normalised
                excusable.append((name, missing & ~already, cons["required_unless"]))
            else:
                col.emit(table, missing & ~already, name, "missing_value")
        if column.type in ("float", "int"):
            numbers = values.to_numpy(dtype=float)
            # The column's range first (two reductions): a cell-by-cell mask only for a
            # check the range says some cell fails.
            lo, hi = (np.fmin.reduce(numbers), np.fmax.reduce(numbers)) if numbers.size else (np.nan, np.nan)
            if column.is_money and max(abs(lo), abs(hi)) >= policy.validation.max_abs_money:
                with np.errstate(invalid="ignore"):  # NaN is no finding; ±inf is
                    huge = np.abs(numbers) >= policy.validation.max_abs_money
                col.emit(table, huge, name, "implausible_value")
                numbers = np.where(huge, np.nan, numbers)
                frame[name] = numbers
            with np.errstate(invalid="ignore"):
                if "note_zero" in cons and lo <= 0 <= hi:  # kept, but worth a word (a guarantee of 0 carries no weight)
                    col.emit(table, numbers == 0, name, cons["note_zero"])
                if "min" in cons and lo < cons["min"]:  # input minimums are all 0 (a schema test pins this)
                    col.emit(table, numbers < cons["min"], name, "negative_value")
                if "max" in cons and hi > cons["max"]:
                    col.emit(table, numbers > cons["max"], name, "above_max")
        if "enum" in cons:
            _check_enum(col, frame, table, name, cons)
        fmt = cons.get("format")
        if fmt == "uscc" and policy.validation.firm_id_format == "any":
            # Any id (a bank's customer number, an anonymised id): only its length is checked.
            length = pc.utf8_length(arrow_text(values)).to_numpy(zero_copy_only=False)
            col.emit(table, ~missing & (np.nan_to_num(np.asarray(length, dtype=float)) > _MAX_ID_LENGTH), name, "id_too_long")
        elif fmt == "uscc":
            # Check characters are reported once, on the firm's own row; references only
            # need the structure (and must match a firm anyway).
            if (table, name) in col.firm_rows and col.firm_id_malformed is not None:
                malformed = _reference_malformed(values, col.firm_rows[(table, name)], col.firm_id_malformed)
            else:
                status = uscc_status(values, checks=table == "firms")
                malformed = status["malformed"].to_numpy()
            col.emit(table, ~missing & malformed, name, "uscc_malformed")
            if table == "firms":
                col.firm_id_malformed = malformed if name == "firm_id" else col.firm_id_malformed
                col.emit(table, status["check_char"].to_numpy(), name, "uscc_check_char")
                col.emit(table, status["org_check"].to_numpy(), name, "org_code_check")
        elif fmt == "region_code":
            status = region_code_status(values)
            col.emit(table, ~missing & status["malformed"].to_numpy(), name, "region_malformed")
            col.emit(table, status["unknown_province"].to_numpy(), name, "region_unknown_province")
            frame[name] = values.mask(~missing & status["malformed"].to_numpy())
        elif fmt == "industry_code":
            status = normalise_industry_code(values)
            bad = ~missing & status["malformed"].to_numpy()
            col.emit(table, bad, name, "industry_malformed")
            col.emit(table, status["section_mismatch"].to_numpy(), name, "industry_section_mismatch")
            frame[name] = status["code"].set_axis(frame.index)
        elif fmt == "stock_code":
            normal = _normalise_stock_code(values)
            bad = ~missing & normal.isna().to_numpy()
            col.emit(table, bad, name, "stock_code_malformed")
            frame[name] = normal
        if column.type == "date":
            dates = values
            if cons.get("not_future"):
                col.emit(table, (dates > today).to_numpy(), name, "future_date")
            if "after" in cons and cons["after"] in frame.columns:
                col.emit(table, (dates < frame[cons["after"]]).to_numpy(), name, "date_order")
    # Status beats amount: a defaulted bond or a non-performing loan whose amount is missing
    # is kept (with a warning) and still drives its risk.
    # A value other columns stand in for ("*": any value of that column, such as a pledge's
    # liquidation line given as a price, which implies the amount owed) needs no finding.
    for name, missing, conditions in excusable:
        excused = np.zeros(len(frame), dtype=bool)
        implied = np.zeros(len(frame), dtype=bool)
        for other, values in conditions.items():
            if values == "*":
                implied |= frame[other].notna().to_numpy()
            else:
                excused |= is_in(frame[other], pd.Series(values))
        col.emit(table, missing & excused & ~implied, name, "amount_missing")
        col.emit(table, missing & ~excused & ~implied, name, "missing_value")


def _match_key(values: pd.Series, by: str) -> pd.Series:
    """What two spellings of a firm's name or stock code have in common."""
    if by == "stock_code":
        return _normalise_stock_code(values)
    text = pc.replace_substring(pc.replace_substring(arrow_text(values), "（", "("), "）", ")")
    text = pc.replace_substring_regex(text, _WHITESPACE, "")
    return as_text(pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text), index=values.index)


# Python's \s in RE2 terms: ASCII whitespace, the separators (U+3000 in Chinese names) and
# the other characters str.isspace() accepts.
_WHITESPACE = r"[\s\p{Z}\x{0B}\x{1C}-\x{1F}\x{85}]+"


def _firm_ids_by(firms: pd.DataFrame, by: str, values: pd.Series) -> np.ndarray:
    """The firm_id whose ``by`` (name or stock code) each value names; None where no firm
    or several firms have it (a shared name decides nothing)."""
    if by not in firms.columns or not len(values) or not len(firms):
        return np.full(len(values), None, dtype=object)
    wanted = _match_key(values, by)
    asked = pc.unique(arrow_text(wanted).combine_chunks().drop_null())
    # The firms probe the few keys asked for (a small hash table), not the other way round.
    which = _firm_keys_in(firms[by], by, asked)
    named = np.flatnonzero(which >= 0)
    firms_with = np.bincount(which[named], minlength=len(asked))
    owner = np.full(len(asked), -1, dtype=np.int64)
    owner[which[named][::-1]] = named[::-1]  # the first firm with each key
    owner[firms_with != 1] = -1  # none, or several: a shared name decides nothing
    at = index_in(wanted, asked)
    firm = np.where(at >= 0, owner[np.maximum(at, 0)], -1) if len(asked) else np.full(len(values), -1)
    ids = pc.take(arrow_text(firms["firm_id"]), pa.array(np.maximum(firm, 0))).to_numpy(zero_copy_only=False)
    return np.where(firm >= 0, ids, None)


def _firm_keys_in(values: pd.Series, by: str, asked: pa.Array) -> np.ndarray:
    """Position of each firm's match key among ``asked`` (−1: none). A name is its own key
    unless it holds a bracket or a space: only those names are normalised (a province's
    million names are not rewritten for the few thousand a pledge table asks about)."""
    if by != "name":
        return index_in(_match_key(values, by), asked)
    text = arrow_text(values)
    which = index_in(pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text), asked)
    changed = np.flatnonzero(pc.fill_null(pc.match_substring_regex(text, "[（）]|" + _WHITESPACE), False).to_numpy(
        zero_copy_only=False))
    if len(changed):
        which[changed] = index_in(_match_key(values.iloc[changed], by), asked)
    return which


def _resolve_firms(col: _Collector, work: Dataset, registry: FirmRegistry, tables: list[str]) -> None:
    """Firms named the way vendor exports name them: a firm reference left empty is filled
    from another column (schema ``resolve``: a bond's issuer by name, a pledged company by
    stock code), and a column that may hold names (``by_name``: a pledger) gets the firm's
    id where the name is a firm's. An empty reference whose name or code matches no firm,
    or several, is ``unresolved_name``."""
    for table in tables:
        frame = work[table]
        for column in table_schema(table).columns:
            rule = column.constraints.get("resolve")
            if rule and rule["from"] in frame.columns:
                target, source = frame[column.name], frame[rule["from"]]
                todo = target.isna().to_numpy() & source.notna().to_numpy()
                if todo.any():
                    hit = _fill_firm_ids(frame, column.name, registry, rule["by"], source, todo)
                    col.emit(table, todo & ~hit, column.name, "unresolved_name", values=source)
            if column.constraints.get("by_name"):
                values = frame[column.name]
                _fill_firm_ids(frame, column.name, registry, "name", values, values.notna().to_numpy())


def _fill_firm_ids(frame: pd.DataFrame, column: str, registry: FirmRegistry, by: str, source: pd.Series,
                   where: np.ndarray) -> np.ndarray:
    """Put in ``column`` the firm_id each ``source`` value names (by name or stock code),
    on the rows ``where``; returns the rows where a firm was found."""
    found = np.full(len(frame), None, dtype=object)
    if where.any():
        found[where] = registry.ids_by(by, source[where])
    hit = pd.notna(found)
    frame[column] = as_text(np.where(hit, found, frame[column].to_numpy(dtype=object)), index=frame.index)
    return hit


def _imply_from_events(col: _Collector, work: Dataset, tables: list[str]) -> None:
    """A default report (rows with events and no status column) lists defaulted bonds: the
    status its schema's ``events.implies`` names is taken for every row with an event, with
    one note."""
    for table in tables:
        spec = table_schema(table).raw.get("events")
        if not spec:
            continue
        frame = work[table]
        has_event = _event_rows(frame, spec)
        for column, value in spec.get("implies", {}).items():
            if not has_event.any() or frame[column].notna().any():
                continue
            frame[column] = as_text(np.where(has_event, value, None).astype(object), index=frame.index)
            first = np.zeros(len(frame), dtype=bool)
            first[np.argmax(has_event)] = True
            col.emit(table, first, column, "status_implied")


def _event_rows(frame: pd.DataFrame, spec: dict[str, Any]) -> np.ndarray:
    """The rows that report an event (a date or a description of one)."""
    return (frame[spec["date"]].notna() | frame[spec["event"]].notna()).to_numpy()


def _collapse_events(col: _Collector, work: Dataset, table: str, rejected: np.ndarray) -> np.ndarray:
    """Rows of one item's events (a default report lists a bond once per event): the item's
    latest row takes, column by column, the latest value any of its rows gives; the earlier
    rows are folded into it (``event_collapsed``, a note) instead of being duplicates.
    Returns the mask of folded rows."""
    frame = work[table]
    folded = np.zeros(len(frame), dtype=bool)
    spec = table_schema(table).raw.get("events")
    if not spec:
        return folded
    key = frame[spec["key"]]
    # Only rows that are events fold; a plain repeated row stays a duplicate (duplicate_key).
    eligible = ~rejected & _event_rows(frame, spec)
    repeated = eligible & key.notna().to_numpy() & key.where(pd.Series(eligible, index=frame.index)).duplicated(keep=False).to_numpy()
    if not repeated.any():
        return folded
    rows = np.flatnonzero(repeated)
    part = frame.iloc[rows]
    when = part[spec["date"]].to_numpy(dtype="datetime64[ns]").view(np.int64)  # NaT sorts first
    order = np.lexsort((part["_row"].to_numpy(), when, part[spec["key"]].to_numpy(dtype=object).astype(str)))
    rows, part = rows[order], part.iloc[order]
    names = [c for c in table_schema(table).names if c in frame.columns]
    latest = part.groupby(spec["key"], sort=False)[names].last()  # the last non-null value of each column
    last_row = pd.Series(rows, index=part[spec["key"]].to_numpy()).groupby(level=0, sort=False).last()
    is_last = np.isin(rows, last_row.to_numpy())
    folded[rows[~is_last]] = True
    target = last_row.to_numpy()
    for name in names:
        column = frame[name].copy()
        column.iloc[target] = latest.loc[last_row.index, name].to_numpy()
        frame[name] = column
    col.emit(table, folded, spec["event"], "event_collapsed")
    return folded


def _check_stale_prices(col: _Collector, work: Dataset, as_of: pd.Timestamp, policy: Policy) -> None:
    """A stock whose last close on or before the as-of date is older than
    ``[pledges] max_price_age_days``: one warning, on that close's row."""
    prices = work["prices"]
    usable = ~col.rejected_rows("prices") & prices["stock_code"].notna().to_numpy()
    date = prices["date"].to_numpy(dtype="datetime64[ns]")
    usable &= date <= np.datetime64(as_of.to_datetime64(), "ns")
    if not usable.any():
        return
    stock = distinct(prices["stock_code"])[1].fill_null(-1).to_numpy()  # a stock as an integer
    last = pd.Series(date[usable]).groupby(stock[usable]).transform("max").to_numpy()
    oldest = np.datetime64((as_of - pd.Timedelta(days=int(policy.pledges.max_price_age_days))).to_datetime64(), "ns")
    stale = np.zeros(len(prices), dtype=bool)
    stale[np.flatnonzero(usable)] = (date[usable] == last) & (last < oldest)
    col.emit("prices", stale, "date", "stale_price")


def _check_enum(col: _Collector, frame: pd.DataFrame, table: str, name: str, cons: dict[str, Any]) -> None:
    allowed = list(cons["enum"])
    aliases = {str(k): v for k, v in cons.get("enum_aliases", {}).items()}
    # A few distinct values (ratings, classes) among many rows: each judged once, then spread.
    # (factorize: Arrow's hashing for text, and any cell of a frame given already typed.)
    at, distinct_cells = pd.factorize(frame[name], use_na_sentinel=True)
    stripped = pd.Series(np.asarray(distinct_cells, dtype=object), dtype=object).str.strip()  # not text: NaN, bad
    # Case does not matter: ratings are upper case, the other choices lower case.
    upper = all(a == a.upper() for a in allowed)
    cased = stripped.str.upper() if upper else stripped.str.lower()
    mapped = cased.where(cased.isin(allowed), stripped.map(aliases))
    known = mapped.isin(allowed).to_numpy()
    col.emit(table, (at >= 0) & ~known[np.maximum(at, 0)] if len(known) else np.zeros(len(at), bool), name, "bad_choice")
    choices = pa.array(mapped.where(known, None).tolist(), type=pa.string())
    frame[name] = as_text(choices.take(pa.array(at, mask=at < 0)), index=frame.index)


#: The exchange of a bare six-digit A/B-share code, from its leading digits (the exchanges'
#: code allocation): 6/9 Shanghai (but 92 Beijing), 0/2/3 Shenzhen, 4/8 Beijing.
_MARKET_BY_PREFIX = (("92", "BJ"), ("6", "SH"), ("9", "SH"), ("0", "SZ"), ("2", "SZ"), ("3", "SZ"), ("4", "BJ"), ("8", "BJ"))


def _normalise_stock_code(values: pd.Series) -> pd.Series:
    """``600000.sh``, ``SH600000``, ``sh.600000`` and the bare ``600000`` of exchange
    disclosures all become ``600000.SH``."""
    # Prices repeat each code for every day: normalise the distinct codes, then spread.
    codes, at = distinct(values)
    text = pc.utf8_upper(pc.utf8_trim_whitespace(codes))
    bare = pc.fill_null(pc.match_substring_regex(text, r"^\d{6}$"), False)
    market = pa.nulls(len(text), pa.string())
    for prefix, exchange in reversed(_MARKET_BY_PREFIX):  # the first listed wins
        market = pc.if_else(pc.fill_null(pc.starts_with(text, prefix), False), pa.scalar(exchange), market)
    text = pc.if_else(bare, pc.binary_join_element_wise(text, market, "."), text)
    parts = pc.extract_regex(text, r"^(?P<d1>\d{6})?\.?(?P<m>SH|SZ|BJ)?\.?(?P<d2>\d{6})?$")
    d1, market, d2 = (pc.struct_field(parts, f) for f in ("d1", "m", "d2"))
    digits = pc.if_else(pc.equal(pc.binary_length(d1), 6), d1, d2)
    # Exactly one of the two digit groups, and a market.
    ok = pc.and_(pc.and_(pc.equal(pc.binary_length(market), 2), pc.equal(pc.binary_length(digits), 6)),
                 pc.not_equal(pc.binary_length(d1), pc.binary_length(d2)))
    normal = pc.if_else(pc.fill_null(ok, False), pc.binary_join_element_wise(digits, market, "."), pa.scalar(None, pa.string()))
    return as_text(pc.take(normal, at), index=values.index)


def _check_balance(col: _Collector, work: Dataset, policy: Policy) -> None:
    fin = work["financials"]
    assets = fin["total_assets"].to_numpy(dtype=float)
    gap = np.abs(assets - fin["total_liabilities"].to_numpy(dtype=float) - fin["equity"].to_numpy(dtype=float))
    with np.errstate(invalid="ignore"):
        off = gap > policy.validation.balance_tolerance * np.abs(assets)
    col.emit("financials", off, "equity", "balance_identity", values=fin["equity"])


def _check_size_class(col: _Collector, work: Dataset, as_of: pd.Timestamp | None, policy: Policy) -> None:
    """Size class unknown (an indicator the industry's standard uses is missing): a warning
    on the screened firm's row naming the column. Judged on the statement screening uses
    (the latest period on or before the as-of date; without one, the latest)."""
    firms = work["firms"]
    screened = np.flatnonzero(firms["firm_idx"].to_numpy() >= 0)
    if not screened.size:
        return
    financials = work["financials"]
    usable = ~col.rejected_rows("financials") & (financials["firm_idx"].to_numpy() >= 0)
    rows, rank = ranked_statements(financials, as_of if as_of is not None else pd.Timestamp.max, keep=usable)
    current = rows[rank == 0]  # positions, not a copy of the table
    at = financials["firm_idx"].to_numpy()[current]
    frame = pd.DataFrame({"industry_code": firms["industry_code"].iloc[screened].reset_index(drop=True),
                          "employees": firms["employees"].to_numpy(dtype=float, na_value=np.nan)[screened]})
    for column in ("revenue", "total_assets"):
        values = np.full(len(screened), np.nan)
        values[at] = financials[column].to_numpy(dtype=float)[current]
        frame[column] = values
    unknown = np.zeros(len(firms), dtype=bool)
    unknown[screened] = (size_class(frame, policy.size_class.table) == "unknown").to_numpy()
    col.emit("firms", unknown, "size_class", "size_unknown", values="unknown")


def _check_unmatched_prices(col: _Collector, work: Dataset, registry: FirmRegistry) -> None:
    """Prices of stocks no firm has are not used: each row is set aside (info), so
    rejected.csv lists every unused row and the counts reconcile."""
    prices = work["prices"]
    unmatched = ~is_in(prices["stock_code"], registry.stock_codes()) & prices["stock_code"].notna().to_numpy()
    col.emit("prices", unmatched, "stock_code", "unmatched_stock")


def _finish(col: _Collector) -> pd.DataFrame:
    frames = [f for table in col.frames for f in col.frames[table] if len(f)]
    if not frames:
        issues = pd.DataFrame({c: pd.Series(dtype=object) for c in _FINDING_COLUMNS})
        issues["row"] = issues["row"].astype("int64")
    else:
        issues = pd.concat(frames, ignore_index=True)
    rejects = col.rejecting(issues) if len(issues) else np.zeros(0, bool)
    catalogue = col.codes
    # Per distinct code, spread back in Arrow: a province has 10^5 findings of a few codes.
    at, codes = pd.factorize(issues["code"], use_na_sentinel=False)
    levels = ["info", "warning", "error"]
    level = pd.Series(codes, dtype=object).map(catalogue["severity"]).map(
        {name: i for i, name in enumerate(levels)}).fillna(1).to_numpy(dtype=np.int64)[at]
    # A rejecting finding is an error (a rejecting note stays a note); one that does not reject is at most a warning.
    level = np.where(rejects, np.where(level == 0, 0, 2), np.minimum(level, 1))
    # Object arrays, as the other text columns of the findings (pandas 2.2 keeps them object).
    issues["severity"] = np.asarray(levels, dtype=object)[level]
    for name, text in (("message", "message_en"), ("message_zh", "message_zh")):
        issues[name] = pd.Series(codes, dtype=object).map(catalogue[text]).fillna("").to_numpy(dtype=object)[at]
    issues["rejects"] = rejects
    order = {t: i for i, t in enumerate(input_tables())}  # a file that is no table's (table ""): last
    issues["_t"] = _per_distinct(issues["table"], lambda t: order.get(t, len(order))).astype(np.int64)
    issues = issues.sort_values(["_t", "row", "column", "code"], kind="stable").drop(columns="_t")
    issues["row"] = issues["row"].astype("int64")
    for table, source in col.dataset.sources.items():
        if source.parts:  # a table read in parts: each finding names its file and row in it
            # Data rows only: a header-level finding (row 0 or 1) keeps the file it names.
            at = ((issues["table"] == table) & (issues["file"] == col.file(table))).to_numpy() & (
                issues["row"].to_numpy() >= FIRST_DATA_ROW)
            files, rows = source.file_rows(issues["row"].to_numpy()[at])
            issues.loc[at, "file"], issues.loc[at, "row"] = files, rows
    return issues[[*ISSUE_COLUMNS, "rejects"]].reset_index(drop=True)
