"""Distress and viability (SPEC §3.2): Altman Z'', the zombie test, viability.

Reason codes Z1, V1–V7.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

import pyarrow.compute as pc

from zjfin._arrow import as_text, text_from_codes
from zjfin._reasons import join_labels, reason_catalogue
from zjfin._policy import Policy
from zjfin.risks import EngineOutput

__all__ = ["distress"]


def _col(frame: pd.DataFrame, name: str) -> np.ndarray:
    return frame[name].to_numpy(dtype=float) if name in frame.columns else np.full(len(frame), np.nan)


def _flag(frame: pd.DataFrame, name: str) -> np.ndarray:
    """A yes/no column as plain booleans (missing counts as no)."""
    if name not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    return frame[name].astype("boolean").fillna(False).to_numpy(dtype=bool)


# The yes/no list flags among the viability criteria, by reason code.
_FLAGS = {"V2": "backward_capacity", "V3": "dishonest_debtor", "V4": "major_violation"}


def flag_given(frame: pd.DataFrame, name: str) -> bool:
    """Whether the data gives a yes/no list at all: the column has a value somewhere (the
    readers fill a column the file lacks with nulls)."""
    return name in frame.columns and bool(frame[name].notna().any())


def flags_given_shares(frame: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """A partition's share of which yes/no lists the data gives (:func:`flag_given`): one
    row, a column per list. The shares of every partition, in any order, give
    :func:`flags_given_province`.

    Examples
    --------
    >>> flags_given_shares(pd.DataFrame({"dishonest_debtor": [None, True]}), Policy.default()).iloc[0].tolist()
    [False, True, False]
    """
    return pd.DataFrame({name: [flag_given(frame, name)] for name in _FLAGS.values()})


def flags_given_province(shares: pd.DataFrame, policy: Policy) -> dict[str, bool]:
    """Which yes/no lists the province's data gives: those any partition gives. A county
    whose file lacks a list judges its firms by the others' (an empty cell: not on it),
    as the whole province at once does.

    Examples
    --------
    >>> shares = pd.DataFrame({"backward_capacity": [False, True], "dishonest_debtor": [False, False],
    ...                        "major_violation": [False, False]})
    >>> flags_given_province(shares, Policy.default())["backward_capacity"]
    True
    """
    return {name: bool(shares[name].any()) if name in shares.columns else False for name in _FLAGS.values()}


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, NaN where the denominator is not positive or the ratio
    overflows (a denominator of a fraction of a fen is no real statement)."""
    ratio = np.full(len(numerator), np.nan)
    with np.errstate(invalid="ignore", over="ignore"):
        np.divide(numerator, denominator, out=ratio, where=denominator > 0)
    ratio[np.isinf(ratio)] = np.nan
    return ratio


def _tri_state(known: np.ndarray, value: np.ndarray) -> pd.Series:
    """Nullable boolean: ``value`` where ``known``, else missing."""
    out = pd.array(value, dtype="boolean")
    out[~known] = pd.NA
    return pd.Series(out)


def distress(frame: pd.DataFrame, policy: Policy, province: dict[str, bool] | None = None) -> EngineOutput:
    """Altman Z'' and its zone, the zombie test and viability for every firm.

    Z'' = 6.56·X1 + 3.26·X2 + 6.72·X3 + 1.05·X4 (no constant), with
    X1 = working capital / total assets, X2 = retained earnings / total assets,
    X3 = EBIT / total assets (EBIT missing: operating profit + interest expense, a missing
    interest expense counting as 0), X4 = equity / total liabilities (equity missing:
    assets − liabilities). Z'' is missing when total assets or total liabilities are not
    positive (a firm with no liabilities has no finite X4); its zone is then missing too.

    ``zombie`` and ``viable`` are nullable booleans: missing when a condition cannot be
    decided from the data (a year of statements missing) and no other condition decides it.

    Parameters
    ----------
    frame : DataFrame
        The firm frame (:func:`zjfin._features.firm_frame`).
    policy : Policy
        Sections ``[distress]``, ``[zombie]``, ``[viability]``.
    province : dict, optional
        In a screening by partitions, which yes/no lists the province's data gives
        (:func:`flags_given_province`); by default the frame's own.

    Returns
    -------
    EngineOutput
        Columns ``z2_x1`` … ``z2_x4``, ``z2_score``, ``z2_zone``, ``real_profit``,
        ``debt_ratio``, ``ebitda``, ``revenue_growth``, ``revenue_drop``, ``zombie``,
        ``viable``; reason codes Z1 and V1–V7.

    Examples
    --------
    >>> f = pd.DataFrame({"total_assets": [100.0], "total_liabilities": [40.0], "equity": [60.0],
    ...     "current_assets": [50.0], "current_liabilities": [30.0], "retained_earnings": [20.0], "ebit": [10.0]})
    >>> out = distress(f, Policy.default())
    >>> # 6.56·0.2 + 3.26·0.2 + 6.72·0.1 + 1.05·1.5 = 4.211
    >>> round(float(out.columns["z2_score"][0]), 4), out.columns["z2_zone"][0]
    (4.211, 'safe')
    """
    index = frame.index
    assets, liabilities = _col(frame, "total_assets"), _col(frame, "total_liabilities")
    equity = _col(frame, "equity")
    equity = np.where(np.isnan(equity), assets - liabilities, equity)
    ebit = _col(frame, "ebit")
    ebit = np.where(np.isnan(ebit), _col(frame, "operating_profit") + np.nan_to_num(_col(frame, "interest_expense")), ebit)
    x1 = _ratio(_col(frame, "current_assets") - _col(frame, "current_liabilities"), assets)
    x2 = _ratio(_col(frame, "retained_earnings"), assets)
    x3 = _ratio(ebit, assets)
    x4 = _ratio(equity, liabilities)
    weights = policy.distress.z2_weights
    z2 = weights[0] * x1 + weights[1] * x2 + weights[2] * x3 + weights[3] * x4
    # 1 distress, 2 grey, 3 safe; 0 without a score (NaN compares false).
    with np.errstate(invalid="ignore"):
        zone_number = (z2 >= policy.distress.z2_distress_below).view(np.int8) + (z2 > policy.distress.z2_safe_above).view(np.int8)
        zone_number += (~np.isnan(z2)).view(np.int8)

    # Zombie: real profit negative in each of the last `loss_years` years, indebted, and
    # liabilities growing.
    years = ("", "_prev", "_prev2")[: policy.zombie.loss_years]
    real = [_col(frame, "net_profit" + s) - np.nan_to_num(_col(frame, "government_subsidies" + s)) for s in years]
    real_known = np.all([~np.isnan(r) for r in real], axis=0)
    with np.errstate(invalid="ignore"):
        all_losses = np.all([r < 0 for r in real], axis=0)
        any_profit = np.any([r >= 0 for r in real], axis=0)
        debt_ratio = _ratio(liabilities, assets)
        indebted = debt_ratio > policy.zombie.debt_ratio_above
        liabilities_prev = _col(frame, "total_liabilities_prev")
        growing = liabilities > liabilities_prev if policy.zombie.require_liability_growth else np.ones(len(frame), bool)
        growth_known = ~np.isnan(liabilities_prev) | (not policy.zombie.require_liability_growth)
    zombie_true = real_known & all_losses & indebted & growing & growth_known
    zombie_false = any_profit | (~np.isnan(debt_ratio) & ~indebted) | (growth_known & ~growing)
    zombie = _tri_state(zombie_true | zombie_false, zombie_true).set_axis(index)

    # Viability.
    revenue, cost = _col(frame, "revenue"), _col(frame, "cost_of_sales")
    ebitda = ebit + np.nan_to_num(_col(frame, "depreciation_amortization"))
    growth = _ratio(revenue, _col(frame, "revenue_prev")) - 1.0
    drop = np.where(np.isnan(growth), np.nan, np.maximum(-growth, 0.0))
    with np.errstate(invalid="ignore"):
        failing = {
            "V1": zombie_true,
            **{code: _flag(frame, name) for code, name in _FLAGS.items()},
            "V5": revenue <= cost,
            "V6": ebitda <= 0,
            "V7": drop >= policy.viability.max_revenue_drop,
        }
    # A criterion is judged where its inputs are there; a list flag is judged wherever the
    # firms file gives the list at all (an empty cell then counts as "not on the list").
    n = len(frame)
    given = province if province is not None else flags_given_province(flags_given_shares(frame, policy), policy)
    decided = {"V1": zombie_true | zombie_false,
               **{code: np.full(n, given[name]) for code, name in _FLAGS.items()},
               "V5": ~np.isnan(revenue) & ~np.isnan(cost), "V6": ~np.isnan(ebitda), "V7": ~np.isnan(drop)}
    any_failing = np.any(list(failing.values()), axis=0)
    any_decided = np.any(list(decided.values()), axis=0)
    # Viable when no criterion that could be judged fails; unknown when none could be.
    viable = _tri_state(any_failing | any_decided, ~any_failing).set_axis(index)
    unchecked = {code: ~known for code, known in decided.items()}
    labels = reason_catalogue().loc[list(unchecked)]
    codes = join_labels(list(unchecked.values()), list(unchecked), ";", n)

    columns = pd.DataFrame(
        {
            "z2_x1": x1, "z2_x2": x2, "z2_x3": x3, "z2_x4": x4, "z2_score": z2,
            "z2_zone": text_from_codes(zone_number - 1, ("distress", "grey", "safe"), index=index),  # 0: missing
            "real_profit": real[0], "debt_ratio": debt_ratio, "ebitda": ebitda,
            "revenue_growth": growth, "revenue_drop": drop,
            "zombie": zombie, "viable": viable,
            "viability_unchecked": as_text(pc.if_else(pc.equal(codes, ""), None, codes), index=index),
            # The inputs behind the unchecked criteria, for the V8 and K2 sentences.
            "viability_missing_zh": as_text(join_labels(list(unchecked.values()), labels["needs_zh"].tolist(), "、", n), index=index),
            "viability_missing_en": as_text(join_labels(list(unchecked.values()), labels["needs_en"].tolist(), ", ", n), index=index),
        },
        index=index,
        copy=False,
    )
    judged_partly = viable.fillna(False).to_numpy(dtype=bool) & np.any(list(unchecked.values()), axis=0)
    fired = pd.DataFrame({"Z1": zone_number == 1, **failing, "V8": judged_partly}, index=index, copy=False)
    return EngineOutput(columns, fired)
