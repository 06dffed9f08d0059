"""Bond maturity risk (发债到期违约风险, SPEC §3.3) and short-term funding.

Reason codes B1–B6.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from zjfin._arrow import index_in, text_from_codes
from zjfin._policy import Policy
from zjfin.risks import EngineOutput, float_column, level_from_masks

__all__ = ["effective_maturity", "bond_maturities", "short_term_funding", "bond_risk"]


def effective_maturity(bonds: pd.DataFrame, as_of) -> np.ndarray:
    """Each bond's effective maturity: its put date (回售日) when that lies after the as-of
    date and before maturity, else the maturity date (NaT when unknown).

    Examples
    --------
    >>> bonds = pd.DataFrame({"maturity_date": pd.to_datetime(["2021-01-01", "2021-01-01"]),
    ...                       "put_date": pd.to_datetime(["2020-02-10", "2018-02-10"])})
    >>> effective_maturity(bonds, "2019-03-31").astype("datetime64[D]").tolist()
    [datetime.date(2020, 2, 10), datetime.date(2021, 1, 1)]
    """
    as_of64 = np.datetime64(pd.Timestamp(as_of), "ns")
    maturity = pd.to_datetime(bonds["maturity_date"]).to_numpy(dtype="datetime64[ns]")
    put = (pd.to_datetime(bonds["put_date"]).to_numpy(dtype="datetime64[ns]") if "put_date" in bonds.columns
           else np.full(len(bonds), np.datetime64("NaT"), "datetime64[ns]"))
    use_put = ~np.isnat(put) & (put > as_of64) & (np.isnat(maturity) | (put < maturity))
    return np.where(use_put, put, maturity)


def bond_maturities(bonds: pd.DataFrame, frame: pd.DataFrame, as_of, policy: Policy) -> pd.DataFrame:
    """Per firm: amounts falling due within each horizon, and the part of the 12-month
    amount the balance sheet does not already show as current.

    A bond's effective maturity is its put date (回售日) when that lies after the as-of
    date and before maturity, else its maturity date. A bond is due within H months when
    its effective maturity falls in (as_of, as_of + H months].

    Bonds due within 12 months of the statement date belong in the current portion of
    long-term debt: they count as already there up to the reported amount of that item.
    Bonds due later (but within the risk horizon of the as-of date), and any shortfall, are
    added to short-term debt (``bond_due_not_in_statement``).

    Examples
    --------
    >>> frame = pd.DataFrame({"period_end": pd.to_datetime(["2018-12-31"]), "current_portion_long_term_debt": [1e8]})
    >>> bonds = pd.DataFrame({"issuer_idx": [0, 0], "amount_outstanding": [1e8, 2e8],
    ...     "maturity_date": pd.to_datetime(["2019-05-01", "2021-01-01"]), "put_date": pd.to_datetime([None, "2020-02-10"]),
    ...     "status": ["performing", "performing"]})
    >>> bond_maturities(bonds, frame, "2019-03-31", Policy.default())[["bond_due_3m", "bond_due_12m", "bond_due_not_in_statement"]].values.tolist()
    [[100000000.0, 300000000.0, 200000000.0]]
    """
    as_of = pd.Timestamp(as_of)
    n = len(frame)
    issuer = bonds["issuer_idx"].to_numpy(dtype=np.int64)
    known = issuer >= 0
    amount = np.nan_to_num(bonds["amount_outstanding"].to_numpy(dtype=float))
    as_of64 = np.datetime64(as_of, "ns")
    effective = effective_maturity(bonds, as_of)
    out = {}

    def per_firm(mask: np.ndarray) -> np.ndarray:
        # As floats even with no bond (NumPy counts an empty input in integers).
        return np.bincount(issuer[known & mask], weights=amount[known & mask], minlength=n)[:n].astype(float, copy=False)

    for months in policy.bonds.horizons_months:
        horizon = np.datetime64(as_of + pd.DateOffset(months=int(months)), "ns")
        out[f"bond_due_{int(months)}m"] = per_firm((effective > as_of64) & (effective <= horizon))
    risk_end = np.datetime64(as_of + pd.DateOffset(months=int(policy.bonds.risk_horizon_months)), "ns")
    due = (effective > as_of64) & (effective <= risk_end)
    period_end = frame["period_end"].to_numpy(dtype="datetime64[ns]")[np.maximum(issuer, 0)]
    statement_current_until = (pd.DatetimeIndex(period_end) + pd.DateOffset(months=12)).to_numpy(dtype="datetime64[ns]")
    out["bond_due_risk_horizon"] = per_firm(due)
    # Due within the statement's own 12 months: already current debt, but only as far as
    # the reported current portion of long-term debt goes (missing counts as 0).
    within_statement = per_firm(due & (effective <= statement_current_until))
    reported = (np.nan_to_num(frame["current_portion_long_term_debt"].to_numpy(dtype=float))
                if "current_portion_long_term_debt" in frame.columns else np.zeros(n))
    out["bond_due_not_in_statement"] = (per_firm(due & ~(effective <= statement_current_until))
                                        + np.maximum(within_statement - np.maximum(reported, 0.0), 0.0))
    status = bonds["status"].fillna("performing").to_numpy(dtype=object) if "status" in bonds.columns else np.full(len(bonds), "performing")
    defaulted = np.isin(status, ["defaulted", "extended"])
    # A defaulted bond whose balance the data leaves empty still defaulted: its amount is
    # unknown (null), not 0, unless another defaulted bond of the issuer gives one.
    with_amount = ~np.isnan(bonds["amount_outstanding"].to_numpy(dtype=float))
    out["bond_defaulted_amount"] = np.where(
        np.bincount(issuer[known & defaulted & with_amount], minlength=n)[:n] > 0, per_firm(defaulted), np.nan)
    out["bond_outstanding"] = per_firm(np.ones(len(bonds), dtype=bool))
    # Counts, not amounts, say whether such a bond exists (an amount may be 0 or missing).
    out["bond_defaulted_count"] = np.bincount(issuer[known & defaulted], minlength=n)[:n].astype(float)
    out["bond_count"] = np.bincount(issuer[known], minlength=n)[:n].astype(float)
    return pd.DataFrame(out, index=frame.index, copy=False)


def short_term_funding(frame: pd.DataFrame, bond_due_not_in_statement: np.ndarray | None = None) -> pd.DataFrame:
    """Short-term debt, available cash and 现金短债比.

    ``st_debt`` = short_term_debt + notes_payable + current_portion_long_term_debt (+ bonds
    due within the risk horizon not already in it); missing items count as 0, and st_debt is
    missing only when all three are. ``available_cash`` = cash − restricted_cash.
    ``cash_to_st_debt`` is missing when st_debt is not positive (nothing to cover).

    Examples
    --------
    >>> f = pd.DataFrame({"short_term_debt": [80.0], "notes_payable": [20.0], "current_portion_long_term_debt": [np.nan],
    ...                   "cash": [60.0], "restricted_cash": [10.0]})
    >>> short_term_funding(f).iloc[0].tolist()
    [100.0, 50.0, 0.5]
    """
    n = len(frame)
    # Sum of the reported items, missing as 0; missing only when no item is reported.
    st_debt = np.zeros(n)
    reported = np.zeros(n, dtype=bool)
    for item in ("short_term_debt", "notes_payable", "current_portion_long_term_debt"):
        if item in frame.columns:
            values = float_column(frame, item)
            known = ~np.isnan(values)
            np.add(st_debt, values, out=st_debt, where=known)
            reported |= known
    if bond_due_not_in_statement is not None:
        extra = np.asarray(bond_due_not_in_statement, dtype=float)
        st_debt += extra
        reported |= extra != 0
    st_debt[~reported] = np.nan
    cash = float_column(frame, "cash", n)
    restricted = float_column(frame, "restricted_cash", n)
    available = np.subtract(cash, restricted, where=~np.isnan(restricted), out=cash.copy())
    ratio = np.full(n, np.nan)
    with np.errstate(invalid="ignore"):
        np.divide(available, st_debt, out=ratio, where=st_debt > 0)
    return pd.DataFrame({"st_debt": st_debt, "available_cash": available, "cash_to_st_debt": ratio}, index=frame.index, copy=False)


def bond_risk(bonds: pd.DataFrame, frame: pd.DataFrame, funding: pd.DataFrame, maturities: pd.DataFrame, policy: Policy) -> EngineOutput:
    """Bond risk level per firm (SPEC §3.3).

    ``high``: a bond defaulted or extended, or bonds due within 12 months while available
    cash + operating cash flow cover under 50 % of short-term debt; ``medium``: bonds due and
    covered under 100 %, or the rating fell over the year, or it is below AA−; ``low``: the
    firm has bonds and nothing above holds; ``none``: no bonds. A missing operating cash
    flow counts as 0 in the cover.

    Examples
    --------
    >>> frame = pd.DataFrame({"period_end": pd.to_datetime(["2018-12-31"]), "operating_cash_flow": [10.0]})
    >>> bonds = pd.DataFrame({"issuer_idx": [0], "amount_outstanding": [100.0], "maturity_date": pd.to_datetime(["2019-06-30"]),
    ...     "status": ["performing"], "rating": ["AA"], "rating_prev": ["AA"]})
    >>> funding = pd.DataFrame({"st_debt": [100.0], "available_cash": [30.0], "cash_to_st_debt": [0.3]})
    >>> maturities = bond_maturities(bonds, frame, "2019-03-31", Policy.default())
    >>> bond_risk(bonds, frame, funding, maturities, Policy.default()).columns["bond_risk"].tolist()
    ['high']
    """
    index = frame.index
    n = len(frame)
    scale = {r: i for i, r in enumerate(policy.bonds.rating_scale)}
    issuer = bonds["issuer_idx"].to_numpy(dtype=np.int64)
    known = issuer >= 0

    def worst(column: str) -> np.ndarray:
        """The issuer's lowest rating as a position on the scale (higher is worse); −1: none."""
        if column not in bonds.columns:
            return np.full(n, -1)
        rank = index_in(bonds[column], pd.Series(policy.bonds.rating_scale))
        out = np.full(n, -1)
        np.maximum.at(out, issuer[known], rank[known])
        return out

    rating_rank, prev_rank = worst("rating"), worst("rating_prev")
    due = maturities["bond_due_risk_horizon"].to_numpy()
    ocf = np.nan_to_num(frame["operating_cash_flow"].to_numpy(dtype=float)) if "operating_cash_flow" in frame.columns else np.zeros(n)
    funds = funding["available_cash"].to_numpy() + ocf
    st_debt = funding["st_debt"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        cover = np.where(st_debt > 0, funds / np.where(st_debt > 0, st_debt, 1.0), np.inf)
    has_bonds = maturities["bond_count"].to_numpy() > 0
    has_due = due > 0
    fired = pd.DataFrame(
        {
            "B1": maturities["bond_defaulted_count"].to_numpy() > 0,
            "B2": has_due & (cover < policy.bonds.high_coverage_below),
            "B3": has_due & (cover >= policy.bonds.high_coverage_below) & (cover < policy.bonds.medium_coverage_below),
            "B4": (prev_rank >= 0) & (rating_rank > prev_rank),
            "B5": rating_rank > scale[policy.bonds.min_rating],
        },
        index=index,
        copy=False,
    )
    high = fired["B1"] | fired["B2"]
    medium = fired["B3"] | fired["B4"] | fired["B5"]
    fired["B6"] = has_due & ~high & ~medium
    level = level_from_masks(index, high, medium, has_bonds)
    columns = pd.DataFrame(
        {
            "bond_cover_funds": funds,
            "bond_cover_ratio": np.where(np.isinf(cover), np.nan, cover),
            # Positions on the scale to text in Arrow (no Python string per firm).
            "rating": text_from_codes(rating_rank, policy.bonds.rating_scale, index=index),
            "rating_prev": text_from_codes(prev_rank, policy.bonds.rating_scale, index=index),
            "bond_risk": level,
        },
        index=index,
        copy=False,
    )
    return EngineOutput(columns, fired)
