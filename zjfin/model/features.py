"""The model's feature frame from a dataset's statements (SPEC §6).

The same function serves training (features at a past date, outcomes after it) and
screening (``zjfin screen --model``), so a model always sees ratios built one way. The
ratios are data, in ``data_schemas/policy/model_features.csv``: a numerator and a
denominator, each a sum or difference of statement columns, and a transform (``ratio``,
``growth`` = ratio − 1, ``log``). A ratio whose denominator is not positive, or whose
inputs are missing, is missing: the model bins it as such.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from zjfin._errors import SchemaError
from zjfin._schema import policy_table

__all__ = ["default_labels", "feature_table", "features", "firm_features"]

_TRANSFORMS = ("ratio", "growth", "log")


def feature_table() -> pd.DataFrame:
    """The feature definitions: name, numerator, denominator, transform and labels.

    Examples
    --------
    >>> feature_table().set_index("name").loc["debt_ratio", ["numerator", "denominator"]].tolist()
    ['total_liabilities', 'total_assets']
    """
    table = policy_table("model_features").fillna({"denominator": ""})
    unknown = sorted(set(table["transform"]) - set(_TRANSFORMS))
    if unknown:
        raise SchemaError(f"model_features: unknown transform {unknown[0]!r} (one of {list(_TRANSFORMS)})")
    return table


def _expression(frame: pd.DataFrame, text: str) -> np.ndarray:
    """A sum or difference of columns, e.g. ``current_assets - inventory``."""
    tokens = text.replace("-", " - ").replace("+", " + ").split()
    total = np.zeros(len(frame))
    sign = 1.0
    for token in tokens:
        if token in "+-":
            sign = 1.0 if token == "+" else -1.0
            continue
        if token not in frame.columns:
            raise SchemaError(f"model_features: column {token!r} is not in the firm frame")
        total = total + sign * frame[token].to_numpy(dtype=float, na_value=np.nan)
    return total


def firm_features(frame: pd.DataFrame, table: pd.DataFrame | None = None) -> pd.DataFrame:
    """Features of every row of a firm frame (:func:`zjfin._features.firm_frame`).

    Examples
    --------
    >>> f = pd.DataFrame({"total_assets": [100.0, 0.0], "total_liabilities": [60.0, 5.0]})
    >>> t = feature_table().query("name == 'debt_ratio'")
    >>> firm_features(f, t)["debt_ratio"].tolist()
    [0.6, nan]
    """
    table = feature_table() if table is None else table
    columns = {}
    for row in table.itertuples(index=False):
        numerator = _expression(frame, row.numerator)
        with np.errstate(divide="ignore", invalid="ignore"):
            if row.transform == "log":
                value = np.where(numerator > 0, np.log(np.where(numerator > 0, numerator, 1.0)), np.nan)
            else:
                denominator = _expression(frame, row.denominator)
                value = np.where(denominator > 0, numerator / np.where(denominator > 0, denominator, 1.0), np.nan)
                if row.transform == "growth":
                    value = value - 1.0
        columns[row.name] = np.where(np.isfinite(value), value, np.nan)
    return pd.DataFrame(columns, index=frame.index)


def features(dataset: Any, as_of: Any, policy: Any = None) -> pd.DataFrame:
    """The model's feature frame of a dataset at a date, indexed by ``firm_id``.

    Statements are those a screening on ``as_of`` would use: each firm's latest fiscal
    period ending on or before it, and the year before for growth. Rows failing
    validation are left out, as in screening.

    Parameters
    ----------
    dataset : Dataset
    as_of : date
    policy : Policy, optional

    Returns
    -------
    DataFrame
        One row per firm, one column per feature of :func:`feature_table`.

    Examples
    --------
    >>> import zjfin
    >>> X = features(zjfin.datasets.synthetic_province(200, seed=3), "2018-03-31")
    >>> X.shape[0], "debt_ratio" in X.columns
    (200, True)
    """
    from zjfin._features import firm_frame
    from zjfin._policy import Policy
    from zjfin._validate import validate

    report = validate(dataset, as_of=as_of, policy=policy or Policy.default())
    clean = report.dataset
    frame = firm_frame(clean["firms"], clean["financials"], as_of)
    out = firm_features(frame)
    out.index = pd.Index(frame["firm_id"].astype(object), name="firm_id")
    return out


def default_labels(dataset: Any, as_of: Any, policy: Any = None) -> pd.Series:
    """1 for a firm in default by the dataset's own records, else 0, indexed by ``firm_id``.

    Default: a loan classified substandard or worse, or overdue beyond the policy's
    ``[liquidity] high_overdue_days_above`` (90 days, the NPL line), or a bond defaulted
    or extended. The loans and bonds tables record one state, so train on features taken
    a year or so before it: ``features(ds, "2018-03-31")`` with ``default_labels(ds, ...)``.

    Examples
    --------
    >>> import zjfin
    >>> y = default_labels(zjfin.datasets.synthetic_province(2000, seed=3), "2019-03-31")
    >>> len(y), bool(0 < y.mean() < 0.5)
    (2000, True)
    """
    from zjfin._policy import Policy
    from zjfin._validate import validate

    policy = policy or Policy.default()
    clean = validate(dataset, as_of=as_of, policy=policy).dataset
    firms = clean["firms"]
    defaulted = np.zeros(len(firms), dtype=bool)
    present = set(clean.tables_present())
    if "loans" in present:
        loans = clean["loans"]
        rule = policy.liquidity
        bad = loans["classification"].isin(list(rule.high_classifications)).to_numpy(dtype=bool, na_value=False)
        overdue = loans["overdue_days"].to_numpy(dtype=float, na_value=np.nan) > rule.high_overdue_days_above
        firm = loans["firm_idx"].to_numpy()
        defaulted[firm[(bad | overdue) & (firm >= 0)]] = True
    if "bonds" in present:
        bonds = clean["bonds"]
        # The bond engine's statuses of a bond in default (B1).
        bad = bonds["status"].isin(["defaulted", "extended"]).to_numpy(dtype=bool, na_value=False)
        issuer = bonds["issuer_idx"].to_numpy()
        defaulted[issuer[bad & (issuer >= 0)]] = True
    return pd.Series(defaulted.astype(np.int64), index=pd.Index(firms["firm_id"].astype(object), name="firm_id"),
                     name="default")
