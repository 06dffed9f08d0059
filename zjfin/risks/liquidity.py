"""Capital-chain / liquidity risk (资金链, SPEC §3.4). Reason codes L1–L5."""

from __future__ import annotations

import numpy as np
import pandas as pd

from zjfin._arrow import is_in
from zjfin._policy import Policy
from zjfin.risks import EngineOutput, level_from_masks

__all__ = ["liquidity_risk"]


def liquidity_risk(loans: pd.DataFrame, frame: pd.DataFrame, funding: pd.DataFrame, policy: Policy) -> EngineOutput:
    """Liquidity risk level per firm from its bank loans and cash position.

    ``high``: any loan classified substandard or worse (次级、可疑、损失) or more than 90
    days overdue; ``medium``: a loan under special mention (关注) or any overdue, or
    cash_to_st_debt below 1 together with negative operating cash flow; ``low``: the firm has
    bank loans and nothing above holds; ``none``: no loans and no cash squeeze.

    Parameters
    ----------
    loans : DataFrame
        Validated loans (``firm_idx`` assigned).
    frame : DataFrame
        The firm frame.
    funding : DataFrame
        :func:`zjfin.risks.bonds.short_term_funding` output (``cash_to_st_debt``).

    Examples
    --------
    >>> loans = pd.DataFrame({"firm_idx": [0, 1], "amount": [5.0, 7.0], "classification": ["normal", "substandard"],
    ...                       "overdue_days": [0.0, 30.0]})
    >>> frame = pd.DataFrame({"operating_cash_flow": [1.0, 1.0, -1.0]})
    >>> funding = pd.DataFrame({"cash_to_st_debt": [2.0, 2.0, 0.5]})
    >>> liquidity_risk(loans, frame, funding, Policy.default()).columns["liquidity_risk"].tolist()
    ['low', 'high', 'medium']
    """
    index = frame.index
    n = len(frame)
    firm = loans["firm_idx"].to_numpy(dtype=np.int64)
    known = firm >= 0
    amount = np.nan_to_num(loans["amount"].to_numpy(dtype=float))
    classification = loans["classification"] if "classification" in loans.columns else pd.Series([None] * len(loans))
    overdue = np.nan_to_num(loans["overdue_days"].to_numpy(dtype=float)) if "overdue_days" in loans.columns else np.zeros(len(loans))
    policy_l = policy.liquidity

    has_amount = ~np.isnan(loans["amount"].to_numpy(dtype=float))

    def total(mask: np.ndarray) -> np.ndarray:
        # Unknown (null), not 0, where no such loan of the firm gives its amount.
        summed = np.bincount(firm[known & mask], weights=amount[known & mask], minlength=n)[:n]
        counted = np.bincount(firm[known & mask & has_amount], minlength=n)[:n] > 0
        return np.where(counted | (np.bincount(firm[known & mask], minlength=n)[:n] == 0), summed, np.nan)

    is_substandard = is_in(classification, pd.Series(policy_l.high_classifications))
    is_special = is_in(classification, pd.Series(policy_l.medium_classifications))
    substandard, special = total(is_substandard), total(is_special)
    # Counts, not amounts, say whether such a loan exists (an amount may be 0).
    n_substandard = np.bincount(firm[known & is_substandard], minlength=n)[:n]
    n_special = np.bincount(firm[known & is_special], minlength=n)[:n]
    max_overdue = np.zeros(n)
    late = known & (overdue > 0)  # most loans are not overdue: only the late ones are scattered
    np.maximum.at(max_overdue, firm[late], overdue[late])
    has_loans = np.bincount(firm[known], minlength=n)[:n] > 0
    ocf = frame["operating_cash_flow"].to_numpy(dtype=float) if "operating_cash_flow" in frame.columns else np.full(n, np.nan)
    ratio = funding["cash_to_st_debt"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        fired = pd.DataFrame(
            {
                "L1": n_substandard > 0,
                "L2": max_overdue > policy_l.high_overdue_days_above,
                "L3": n_special > 0,
                "L4": (max_overdue > 0) & ~(max_overdue > policy_l.high_overdue_days_above),
                "L5": (ratio < policy_l.cash_to_st_debt_below) & (ocf < 0),
            },
            index=index,
            copy=False,
        )
    high = fired["L1"].to_numpy() | fired["L2"].to_numpy()
    medium = fired["L3"].to_numpy() | fired["L4"].to_numpy() | fired["L5"].to_numpy()
    columns = pd.DataFrame(
        {
            "loan_total": total(np.ones(len(loans), dtype=bool)),
            "loan_substandard_amount": substandard,
            "loan_special_mention_amount": special,
            "loan_max_overdue_days": max_overdue,
            "liquidity_risk": level_from_masks(index, high, medium, has_loans),
        },
        index=index,
        copy=False,
    )
    return EngineOutput(columns, fired)
