"""Working-capital loan need (流动资金贷款需求量测算), SPEC §3.8.

The reference method of the 2010 CBRC rules on working-capital loans
(《流动资金贷款管理暂行办法》附件《流动资金贷款需求量的测算参考》): the working capital a
firm's turnover ties up, less its own free cash and its existing short-term loans. Every
number comes from the policy's ``[working_capital]`` section.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from zjfin._arrow import index_in
from zjfin._policy import Policy
from zjfin.risks import EngineOutput, float_column

__all__ = ["PeerDays", "working_capital", "working_capital_province", "working_capital_shares"]

#: Balance-sheet items of the turnover: name → (flow it turns over on, sign in the day sum).
TURNOVER_ITEMS = {
    "inventory": ("cost_of_sales", +1),
    "accounts_receivable": ("revenue", +1),
    "accounts_payable": ("cost_of_sales", -1),
    "prepayments": ("cost_of_sales", +1),
    "advances_from_customers": ("revenue", -1),
}


def _average_balance(current: np.ndarray, prior: np.ndarray) -> np.ndarray:
    """Mean of the prior and current year-end balances; the one available alone when the
    other is missing; 0 when both are (an item not reported is nil)."""
    current_known, prior_known = ~np.isnan(current), ~np.isnan(prior)
    balance = np.zeros(len(current))
    np.copyto(balance, current, where=current_known)
    np.copyto(balance, prior, where=prior_known & ~current_known)
    both = current_known & prior_known
    np.add(current, prior, out=balance, where=both)
    np.multiply(balance, 0.5, out=balance, where=both)
    return balance


@dataclass(frozen=True)
class PeerDays:
    """The province's turnover days the estimates use (:func:`working_capital_province`):
    per industry division (section letter and two digits) the median and count of the
    firms that report their balances, and the median of all of them (NaN below
    ``min_peers``)."""

    divisions: pa.Array
    median: np.ndarray
    count: np.ndarray
    overall: float


def _division(frame: pd.DataFrame) -> pd.Series:
    return frame["industry_code"].str[:3] if "industry_code" in frame.columns else pd.Series("", index=frame.index)


def _turnover_days(frame: pd.DataFrame, days_in_year: float) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """The day sum (NaN where revenue or cost of sales is missing or ≤ 0), whether the firm
    reports any balance that turns over, and where each flow is positive."""
    revenue = float_column(frame, "revenue")
    cost = float_column(frame, "cost_of_sales")
    flows = {"revenue": revenue, "cost_of_sales": cost}
    with np.errstate(invalid="ignore"):
        flow_ok = {"revenue": revenue > 0, "cost_of_sales": cost > 0}
    day_sum = np.zeros(len(frame))
    defined = flow_ok["revenue"] & flow_ok["cost_of_sales"]
    days = np.empty(len(frame))
    for item, (flow_name, sign) in TURNOVER_ITEMS.items():
        balance = _average_balance(float_column(frame, item), float_column(frame, item + "_prev"))
        balance *= days_in_year
        days.fill(0.0)
        np.divide(balance, flows[flow_name], out=days, where=flow_ok[flow_name])
        if sign > 0:
            day_sum += days
        else:
            day_sum -= days
    day_sum = np.where(defined, day_sum, np.nan)
    reported = np.zeros(len(frame), dtype=bool)
    for item in TURNOVER_ITEMS:
        reported |= ~np.isnan(float_column(frame, item)) | ~np.isnan(float_column(frame, item + "_prev"))
    return day_sum, reported, flow_ok


def _shares(frame: pd.DataFrame, day_sum: np.ndarray, reported: np.ndarray) -> pd.DataFrame:
    known = reported & np.isfinite(day_sum)
    return pd.DataFrame({"division": _division(frame)[known].reset_index(drop=True), "turnover_days": day_sum[known]})


def working_capital_shares(frame: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """A partition's share of the province's turnover days: the division and day sum of
    each of its firms that report their balances. The shares of every partition,
    concatenated in any order, give :func:`working_capital_province`.

    Examples
    --------
    >>> f = pd.DataFrame({"industry_code": ["C1711", "F5123"], "revenue": [100.0, 100.0], "cost_of_sales": [50.0, 50.0],
    ...                   "inventory": [10.0, np.nan]})
    >>> working_capital_shares(f, Policy.default()).values.tolist()
    [['C17', 72.0]]
    """
    day_sum, reported, _ = _turnover_days(frame, float(policy.working_capital.days_in_year))
    return _shares(frame, day_sum, reported)


def working_capital_province(shares: pd.DataFrame, policy: Policy) -> PeerDays:
    """The province's peer turnover days from the partitions' shares
    (:func:`working_capital_shares`); medians, so the order of the shares does not matter.

    Examples
    --------
    >>> shares = pd.DataFrame({"division": ["C17", "C17", "C17", "F51"], "turnover_days": [30.0, 50.0, 70.0, 100.0]})
    >>> peers = working_capital_province(shares, Policy.default().update({"working_capital": {"min_peers": 3}}))
    >>> peers.divisions.to_pylist(), peers.median.tolist(), peers.overall
    (['C17', 'F51'], [50.0, 100.0], 60.0)
    """
    days = shares["turnover_days"].astype(float)
    grouped = days.groupby(shares["division"].to_numpy(), sort=True)  # a firm without a division: no group
    median, count = grouped.median(), grouped.count()
    overall = float(np.nanmedian(days)) if days.count() >= int(policy.working_capital.min_peers) else np.nan
    return PeerDays(pa.array(median.index.astype(str), type=pa.string()), median.to_numpy(dtype=float),
                    count.to_numpy(dtype=np.int64), overall)


def _peer_days(frame: pd.DataFrame, peers: PeerDays, min_peers: int) -> np.ndarray:
    """Per firm, the median turnover days of its industry division's firms that report
    their balances, else of the province's; NaN where fewer than ``min_peers`` firms report.

    Examples
    --------
    >>> f = pd.DataFrame({"industry_code": ["C1711", "C1712", "C1713", "F5123", "C1799"]})
    >>> shares = pd.DataFrame({"division": ["C17", "C17", "C17", "F51"], "turnover_days": [30.0, 50.0, 70.0, 100.0]})
    >>> policy = Policy.default().update({"working_capital": {"min_peers": 3}})
    >>> _peer_days(f, working_capital_province(shares, policy), 3).tolist()
    [50.0, 50.0, 50.0, 60.0, 50.0]
    """
    at = index_in(_division(frame), peers.divisions)
    found = at >= 0
    median = np.where(found, peers.median[np.maximum(at, 0)], np.nan) if len(peers.median) else np.full(len(at), np.nan)
    count = np.where(found, peers.count[np.maximum(at, 0)], 0) if len(peers.count) else np.zeros(len(at), dtype=np.int64)
    return np.where(count >= min_peers, median, peers.overall)


def working_capital(frame: pd.DataFrame, policy: Policy, province: PeerDays | None = None) -> EngineOutput:
    """Working-capital loan need and a suggested credit line (SPEC §3.8).

    With D = ``days_in_year`` (360)::

        days_x          = D / (flow_x / average balance_x) = D · average balance_x / flow_x
        turnover_days   = inventory days + receivable days − payable days
                          + prepayment days − advance days
        turnover        = D / turnover_days
        营运资金量        = revenue · (1 − operating_profit / revenue) · (1 + g) / turnover
        need            = max(0, 营运资金量 − (cash − restricted_cash) − short_term_debt)
        credit line     = max(0, min(need, financing_demand, share · revenue))

    Receivables and advances from customers turn over on revenue; inventory, prepayments
    and payables on cost of sales. The average balance is the mean of the prior
    (``<name>_prev``) and current year-end balances; when the prior balance is missing the
    current balance is used alone (and the prior alone when the current one is missing); a
    balance missing in both years counts as 0. g is last year's revenue growth
    ``revenue / revenue_prev − 1`` clipped to [``min_growth``, ``max_growth``], and
    ``min_growth`` when it cannot be computed (prior revenue missing or ≤ 0). A missing
    ``restricted_cash`` or ``short_term_debt`` counts as 0; own funds are not taken below 0
    (restricted cash above cash counts as no free cash). ``financing_demand`` enters the
    minimum only when declared.

    Undefined cases give NaN, never ±inf: when revenue is missing or ≤ 0 or cost of sales is
    missing or ≤ 0 (days on cost would be infinite), the day sum and everything after it
    are NaN; when the day sum is ≤ 0 (no positive turnover) or operating profit is missing,
    ``working_capital_turnover`` (day sum ≤ 0 only), ``working_capital_amount``, the need and
    the credit line are NaN; when cash is missing, the need and the credit line are NaN.

    Parameters
    ----------
    frame : DataFrame
        The firm frame (:func:`zjfin._features.firm_frame`): ``revenue``, ``revenue_prev``,
        ``cost_of_sales``, ``operating_profit``, ``cash``, ``restricted_cash``,
        ``short_term_debt``, ``financing_demand``, and the five turnover balances with their
        ``_prev`` columns (money in yuan; any unit works, the need is in the same unit).
    policy : Policy
        Section ``[working_capital]``: ``days_in_year``, ``min_growth``, ``max_growth``,
        ``credit_line_revenue_share``, ``min_peers``.
    province : PeerDays, optional
        The province's peer turnover days for the estimates (default: the frame's own, the
        frame standing for the province; a partition of firms passes the province's).

    Returns
    -------
    EngineOutput
        ``columns``: ``working_capital_amount`` (营运资金量), ``turnover_days`` (the day sum),
        ``working_capital_turnover``, ``expected_growth``, ``working_capital_need``,
        ``suggested_credit_line``. ``fired``: no reason code (the W1 sentence goes to
        sme_funding firms, :func:`zjfin._lists.assign_lists`).

    Examples
    --------
    Revenue 1,000, operating margin 20 %, no growth, a 360-day cycle (turnover 1): 营运资金量
    = 800; less free cash 300 and short-term loans 280, the need is 220.

    >>> import pandas as pd
    >>> from zjfin._policy import Policy
    >>> f = pd.DataFrame({"revenue": [1000.0], "revenue_prev": [1000.0], "operating_profit": [200.0],
    ...                   "cost_of_sales": [800.0], "inventory": [800.0], "accounts_receivable": [0.0],
    ...                   "accounts_payable": [0.0], "prepayments": [0.0], "advances_from_customers": [0.0],
    ...                   "cash": [300.0], "restricted_cash": [0.0], "short_term_debt": [280.0],
    ...                   "financing_demand": [500.0]})
    >>> out = working_capital(f, Policy.default())
    >>> out.columns[["working_capital_amount", "turnover_days", "working_capital_need", "suggested_credit_line"]].iloc[0].tolist()
    [800.0, 360.0, 220.0, 220.0]
    """
    p = policy.working_capital
    days_in_year = float(p.days_in_year)
    low, high, share = float(p.min_growth), float(p.max_growth), float(p.credit_line_revenue_share)

    revenue = float_column(frame, "revenue")
    day_sum, reported, flow_ok = _turnover_days(frame, days_in_year)
    # A firm that reports no balance that turns over (the readers leave them empty) has no
    # cycle of its own: its turnover days are its peers' (SPEC §3.8 reference method, with
    # the division's median standing in), marked estimated.
    estimated = ~reported & flow_ok["revenue"]
    if estimated.any():
        if province is None:  # the frame is the province
            province = working_capital_province(_shares(frame, day_sum, reported), policy)
        peer_days = _peer_days(frame, province, int(p.min_peers))
        day_sum = np.where(estimated, peer_days, day_sum)
        estimated &= ~np.isnan(peer_days)

    with np.errstate(invalid="ignore"):
        cycle_ok = day_sum > 0
    turnover = np.full(len(frame), np.nan)
    np.divide(days_in_year, day_sum, out=turnover, where=cycle_ok)

    prior = float_column(frame, "revenue_prev")
    growth = np.full(len(frame), np.nan)
    with np.errstate(invalid="ignore"):
        np.divide(revenue, prior, out=growth, where=(prior > 0) & ~np.isnan(revenue))
    growth = np.clip(np.where(np.isnan(growth), low, growth - 1.0), low, high)

    operating_profit = float_column(frame, "operating_profit")
    amount = np.full(len(frame), np.nan)
    # revenue · (1 − op / revenue) = revenue − op; / turnover = · day_sum / D.
    np.divide((revenue - operating_profit) * (1.0 + growth) * day_sum, days_in_year, out=amount,
              where=cycle_ok & ~np.isnan(operating_profit))

    cash = float_column(frame, "cash")
    own_funds = np.maximum(cash - np.nan_to_num(float_column(frame, "restricted_cash"), nan=0.0), 0.0)
    short_term_debt = np.nan_to_num(float_column(frame, "short_term_debt"), nan=0.0)
    need = np.maximum(amount - own_funds - short_term_debt, 0.0)  # NaN stays NaN

    demand = float_column(frame, "financing_demand")
    line = np.where(np.isnan(demand), need, np.minimum(need, demand))  # a missing demand does not bind
    line = np.minimum(line, share * revenue)
    line = np.maximum(line, 0.0)

    columns = pd.DataFrame(
        {
            "working_capital_amount": amount,
            "turnover_days": day_sum,
            "working_capital_turnover": turnover,
            "expected_growth": growth,
            "working_capital_need": need,
            "suggested_credit_line": line,
            "working_capital_estimated": estimated,
        },
        index=frame.index,
        copy=False,
    )
    # The W1 sentence (need and suggested line) belongs to sme_funding firms: zjfin._lists.
    return EngineOutput(columns, pd.DataFrame(index=frame.index))
