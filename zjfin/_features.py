"""Per-firm features: the current fiscal period, industry keys and the size class.

Stage 3 of the data flow. Pure functions of a partition of firms (DataFrame in, DataFrame
out), vectorised: they run unchanged on one pandas frame or partition by partition.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from zjfin._arrow import as_text, distinct, index_in, text_from_codes
from zjfin._errors import ParameterError
from zjfin._schema import policy_table

__all__ = ["SIZE_CLASSES", "current_financials", "ranked_statements", "firm_frame", "size_class", "size_class_table"]

#: Size classes, largest first; ``unknown`` when an indicator the industry needs is missing.
SIZE_CLASSES = ("large", "medium", "small", "micro", "unknown")
_INDICATORS = {"employees": "employees", "revenue": "revenue", "assets": "total_assets"}
# The standard states revenue and assets in 万元; inputs are in yuan.
_TEN_THOUSAND = 1e4


def current_financials(financials: pd.DataFrame, as_of: str | pd.Timestamp, lag: int = 0) -> pd.DataFrame:
    """One statement per firm: the latest period ending on or before ``as_of``.

    Parameters
    ----------
    financials : DataFrame
        Validated ``financials`` rows (several periods per firm).
    as_of : date
    lag : int
        0 for the current period, 1 for the one before it, and so on (trends and the
        zombie test use earlier years).

    Returns
    -------
    DataFrame indexed by ``firm_id``.

    Examples
    --------
    >>> f = pd.DataFrame({"firm_id": ["a", "a", "b"], "period_end": pd.to_datetime(["2017-12-31", "2018-12-31", "2019-12-31"]), "revenue": [1.0, 2.0, 3.0]})
    >>> current_financials(f, "2019-03-31")["revenue"].to_dict()
    {'a': 2.0}
    """
    if lag < 0:
        raise ParameterError("lag", "a whole number ≥ 0", lag)
    rows, rank = ranked_statements(financials, as_of)
    return financials.iloc[rows[rank == lag]].set_index("firm_id")


def ranked_statements(financials: pd.DataFrame, as_of: str | pd.Timestamp,
                      keep: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The statements ending on or before ``as_of`` (among the rows ``keep``, a mask), as
    row positions ordered by firm and newest first, with each one's rank in its firm: 0 is
    the current statement, 1 the one before it, and so on. One sort serves every lag.

    Examples
    --------
    >>> f = pd.DataFrame({"firm_id": ["a", "a", "b"], "period_end": pd.to_datetime(["2017-12-31", "2018-12-31", "2018-06-30"])})
    >>> [r.tolist() for r in ranked_statements(f, "2019-03-31")]
    [[1, 0, 2], [0, 1, 0]]
    """
    periods = financials["period_end"].to_numpy(dtype="datetime64[ns]")
    within = periods <= np.datetime64(pd.Timestamp(as_of), "ns")
    eligible = np.flatnonzero(within if keep is None else within & keep)
    # Integer firm codes: the dense index validation assigned, else factorised ids.
    codes = (financials["firm_idx"].to_numpy() if "firm_idx" in financials.columns
             else pd.factorize(financials["firm_id"])[0])[eligible]
    # Within each firm, newest period first: rank 0 is current, 1 the year before … One
    # stable sort of firm and period in one integer (days fit 20 bits): files that come
    # ordered by firm sort in linear time. Worked in place: at millions of statements each
    # temporary is fresh memory the system must fault in.
    key = periods.view(np.int64)[eligible]
    key //= 86_400_000_000_000  # days since 1970 (floored, as datetime64[D])
    np.subtract((1 << 19), key, out=key)
    firm = codes.astype(np.int64)
    firm <<= 20
    key += firm
    del firm
    order = np.argsort(key, kind="stable")
    del key
    sorted_codes = codes[order]
    boundary = np.flatnonzero(sorted_codes[1:] != sorted_codes[:-1]) + 1
    del sorted_codes
    # Each statement's position minus its firm's first position.
    rank = np.arange(len(order), dtype=np.int64)
    if len(order):
        first = np.zeros(len(order), dtype=np.int64)
        first[boundary] = boundary
        np.maximum.accumulate(first, out=first)
        rank -= first
    return eligible[order], rank


#: Statement columns carried from the year before (trends, averages, liability growth).
PRIOR_COLUMNS = (
    "revenue", "cost_of_sales", "net_profit", "government_subsidies", "total_assets", "total_liabilities",
    "accounts_receivable", "inventory", "prepayments", "accounts_payable", "advances_from_customers",
)
#: ... and from two years before (the zombie test needs three years of real profit).
PRIOR2_COLUMNS = ("net_profit", "government_subsidies")
# A prior statement counts as "the year before" when it ends 300–430 days earlier.
_YEAR_GAP_DAYS = (300, 430)


def firm_frame(firms: pd.DataFrame, financials: pd.DataFrame, as_of: str | pd.Timestamp) -> pd.DataFrame:
    """One row per screened firm (row i is ``firm_idx`` i): the firm's attributes, its
    current statement (canonical names) and the two years before it (``<name>_prev``,
    ``<name>_prev2``; empty when that year is missing or not a year earlier).

    The input of every per-firm risk engine: a pure function of a partition of firms.

    Parameters
    ----------
    firms, financials : DataFrame
        Validated tables (``firm_idx`` assigned by :func:`zjfin.validate`).
    as_of : date

    Examples
    --------
    >>> import zjfin
    >>> clean = zjfin.validate(zjfin.datasets.synthetic_province(300, seed=1), as_of="2019-03-31").dataset
    >>> frame = firm_frame(clean["firms"], clean["financials"], "2019-03-31")
    >>> len(frame), bool(frame["revenue_prev"].notna().all())
    (300, True)
    """
    n = len(firms)
    frame = firms.reset_index(drop=True).copy(deep=False)
    statement_columns = [c for c in financials.columns if c not in ("firm_id", "_row", "firm_idx")]
    rows, rank = ranked_statements(financials, as_of)
    firm_idx = financials["firm_idx"].to_numpy()
    period_end = financials["period_end"].to_numpy(dtype="datetime64[ns]")
    previous_end = None
    for lag, suffix, wanted in ((0, "", statement_columns), (1, "_prev", PRIOR_COLUMNS), (2, "_prev2", PRIOR2_COLUMNS)):
        picked = rows[rank == lag]  # only the columns wanted are taken, each once
        at = firm_idx[picked]
        ends = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
        ends[at] = period_end[picked]
        if previous_end is not None:
            gap = (previous_end - ends) / np.timedelta64(1, "D")
            usable = (gap >= _YEAR_GAP_DAYS[0]) & (gap <= _YEAR_GAP_DAYS[1])
        else:
            usable = np.ones(n, dtype=bool)
        for name in wanted:
            values = financials[name].to_numpy()
            fill = np.datetime64("NaT") if values.dtype.kind == "M" else np.nan
            column = np.full(n, fill, dtype=values.dtype if values.dtype.kind in "fM" else float)
            column[at] = values[picked]
            column[~usable] = fill
            frame[name + suffix] = column
        # A gap breaks the chain: two years back counts only if one year back did.
        previous_end = np.where(usable, ends, np.datetime64("NaT"))
    return frame


def size_class_table(name: str = "size_class_2011") -> pd.DataFrame:
    """The size-class standard as a table keyed by GB/T 4754 code prefix."""
    return policy_table(name)


def size_class(
    firms: pd.DataFrame,
    table: pd.DataFrame | str = "size_class_2011",
) -> pd.Series:
    """Size class by the 2011 standard (工信部联企业〔2011〕300号).

    A firm is ``large`` at or above all of its industry's large-firm thresholds,
    ``medium`` if it meets both medium floors, ``small`` if both small floors, else
    ``micro``; ``unknown`` when an indicator its industry uses is missing or negative.
    "以上" includes the threshold.

    Parameters
    ----------
    firms : DataFrame
        Columns ``industry_code`` (normalised GB/T 4754, e.g. ``C1711``), ``employees``,
        ``revenue`` and ``total_assets`` (yuan).
    table : DataFrame or str
        The standard (see :func:`size_class_table`).

    Examples
    --------
    >>> f = pd.DataFrame({"industry_code": ["C1711", "C1711", "F5123"], "employees": [300, 299, 20],
    ...                   "revenue": [2e7, 2e7, 5e7], "total_assets": [1e7, 1e7, 1e6]})
    >>> size_class(f).tolist()
    ['medium', 'small', 'medium']
    """
    if isinstance(table, str):
        table = size_class_table(table)
    rules = table.reset_index(drop=True)
    prefixes = as_text(rules["prefix"].astype(str))
    # Codes repeat: each distinct code is matched once, then spread to its firms.
    codes, at = distinct(firms["industry_code"])
    # Longest matching prefix wins: K7010 → K701, F5123 → F51, C1711 → C; else the "*" row.
    default = int(np.flatnonzero(rules["prefix"] == "*")[0])
    of_code = np.full(len(codes) + 1, default, dtype=np.int64)  # the last slot: no code
    for length in (1, 3, 4):
        found = index_in(pc.utf8_slice_codeunits(codes, 0, length), prefixes)
        of_code[:-1] = np.where(found >= 0, found, of_code[:-1])
    position = of_code[pc.fill_null(at, len(codes)).to_numpy(zero_copy_only=False)]
    thresholds = {f"{indicator}_{level}": rules[f"{indicator}_{level}"].to_numpy(dtype=float)[position]
                  for indicator in _INDICATORS for level in ("large", "medium", "small")}

    values = {}
    for indicator, column in _INDICATORS.items():
        raw = pd.to_numeric(firms[column], errors="coerce").to_numpy(dtype=float)
        values[indicator] = raw if indicator == "employees" else raw / _TEN_THOUSAND
    needed_missing = np.zeros(len(firms), dtype=bool)
    for indicator, value in values.items():
        uses = ~np.isnan(thresholds[f"{indicator}_small"])
        needed_missing |= uses & (np.isnan(value) | (value < 0))

    def meets(level: str) -> np.ndarray:
        ok = np.ones(len(firms), dtype=bool)
        for indicator, value in values.items():
            floor = thresholds[f"{indicator}_{level}"]
            with np.errstate(invalid="ignore"):
                ok &= np.isnan(floor) | (value >= floor)
        return ok

    classes = ["unknown", "large", "medium", "small", "micro"]
    # Integer codes, then text in Arrow: no Python string per firm.
    codes = np.select([needed_missing, meets("large"), meets("medium"), meets("small")], [0, 1, 2, 3], default=4)
    return text_from_codes(codes, classes, index=firms.index).rename("size_class")
