"""Per-firm features: the current fiscal period, industry keys and the size class.

Stage 3 of the data flow. Pure functions of a partition of firms (DataFrame in, DataFrame
out), vectorised: they run unchanged on one pandas frame or partition by partition.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from zjfin.errors import ParameterError
from zjfin.schema import policy_table

__all__ = ["SIZE_CLASSES", "current_financials", "size_class", "size_class_table"]

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
    as_of = pd.Timestamp(as_of)
    eligible = financials[financials["period_end"] <= as_of]
    ordered = eligible.sort_values(["firm_id", "period_end"], ascending=[True, False], kind="stable")
    rank = ordered.groupby("firm_id", sort=False).cumcount()
    return ordered[rank.to_numpy() == lag].set_index("firm_id")


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
    rules = table.set_index("prefix")
    code = firms["industry_code"].astype(object).where(firms["industry_code"].notna(), "")
    code = pd.Series(code, dtype=object).astype(str)
    # Longest matching prefix wins: K7010 → K701, F5123 → F51, C1711 → C; else the "*" row.
    matched = pd.Series("*", index=firms.index, dtype=object)
    for length in (1, 3, 4):
        prefix = code.str[:length]
        matched = matched.where(~prefix.isin(rules.index), prefix)
    thresholds = rules.loc[matched.to_numpy()].reset_index(drop=True)
    thresholds.index = firms.index

    values = {}
    for indicator, column in _INDICATORS.items():
        raw = pd.to_numeric(firms[column], errors="coerce").to_numpy(dtype=float)
        values[indicator] = raw if indicator == "employees" else raw / _TEN_THOUSAND
    needed_missing = np.zeros(len(firms), dtype=bool)
    for indicator, value in values.items():
        uses = thresholds[f"{indicator}_small"].notna().to_numpy()
        needed_missing |= uses & (np.isnan(value) | (value < 0))

    def meets(level: str) -> np.ndarray:
        ok = np.ones(len(firms), dtype=bool)
        for indicator, value in values.items():
            floor = thresholds[f"{indicator}_{level}"].to_numpy(dtype=float)
            with np.errstate(invalid="ignore"):
                ok &= np.isnan(floor) | (value >= floor)
        return ok

    result = np.select(
        [needed_missing, meets("large"), meets("medium"), meets("small")],
        ["unknown", "large", "medium", "small"],
        default="micro",
    )
    return pd.Series(result, index=firms.index, name="size_class", dtype=object)
