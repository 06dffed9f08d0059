"""Equity pledge risk (股权质押爆仓风险, SPEC §3.5).

Two steps, both vectorised (no Python loop over contracts, stocks or price rows):

:func:`pledge_contracts`
    One row per share-pledge contract: the amount owed with accrued interest, the
    coverage ratio (履约保障比例), the warning and liquidation prices, the distance to the
    liquidation line, the contract's state and the probability that the share price
    touches the liquidation line within the horizon under geometric Brownian motion, with
    the volatility of the stock's last daily log returns. This is ``OUT/pledges.parquet``.
:func:`pledge_risk`
    Per firm of the firm frame: the listed company's pledge ratio, the shares of its
    contracts in warning / liquidation, the worst distance, the largest hit probability,
    the controlling shareholder's pledged share of its holding, ``pledge_risk`` and the
    reason codes P1–P9; a controlling pledger that is itself a firm of the frame inherits
    the risk of its own contracts.

Every number (ratios, horizon, drift, volatility window, thresholds) comes from the
policy section ``[pledges]``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from scipy.special import log_ndtr, ndtr

from zjfin._arrow import arrow_text, as_text, index_in, text_from_codes
from zjfin._policy import Policy
from zjfin.risks import RISK_LEVELS, EngineOutput, float_column

__all__ = ["CONTRACT_STATES", "PRICE_GAPS", "REASON_CODES", "pledge_contracts", "pledge_risk"]

#: States of a contract in force, best first (``state`` may also be ``released``,
#: ``not_started`` or missing when the share price is unknown).
CONTRACT_STATES = ("normal", "warning", "liquidation")
#: Why a contract has no share price (``price_gap``), in the order they are checked.
PRICE_GAPS = ("no prices table", "no stock code for the company", "no close on or before the as-of date")
#: The reason codes this engine fires (``data_schemas/reason_codes.json``).
REASON_CODES = ("P1", "P2", "P3", "P4", "P5", "P6", "P7", "P8", "P9")

_NS_PER_DAY = 86_400 * 10**9


# --------------------------------------------------------------------------- helpers


def _flags(frame: pd.DataFrame, column: str) -> np.ndarray:
    """A boolean column as numpy bool (missing → False); all False when absent."""
    if column not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    return pd.array(frame[column], dtype="boolean").to_numpy(dtype=bool, na_value=False)


def _dates(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column not in frame.columns:
        return np.full(len(frame), np.datetime64("NaT"), dtype="datetime64[ns]")
    return pd.to_datetime(frame[column]).to_numpy(dtype="datetime64[ns]")


def _text(frame: pd.DataFrame, column: str, index: pd.Index) -> pd.Series:
    if column not in frame.columns:
        return as_text(np.full(len(frame), None, dtype=object), index=index)
    return as_text(frame[column], index=index)


def _unique_keys(values) -> pa.Array:
    """Distinct non-missing strings (the key set of :func:`zjfin._arrow.index_in`)."""
    return pc.drop_null(pc.unique(arrow_text(values)))


def _stock_history(prices: pd.DataFrame | None, stocks: pa.Array, as_of: np.datetime64, window: int,
                   max_per_year: float = 252.0):
    """Per stock of ``stocks``: last close on or before ``as_of``, its date, the number of
    log returns used (the last ``window``), their sample standard deviation, and the
    number of observations per year the closes are sampled at: 365.25 days over the mean
    calendar gap between the closes used, at most ``max_per_year`` (a daily series has
    one close per trading day, not per calendar day; a weekly one about 52).

    One pass over all price rows: sort by (stock, date), difference the log closes where
    the stock is the one of the previous row, rank the returns from the end of each stock's
    run and keep the last ``window``; means and squared deviations by ``np.bincount``.
    """
    k = len(stocks)
    last_close = np.full(k, np.nan)
    last_date = np.full(k, np.datetime64("NaT"), dtype="datetime64[ns]")
    n_returns = np.zeros(k, dtype=np.int64)
    std = np.full(k, np.nan)
    per_year = np.full(k, np.nan)
    if k == 0 or prices is None or len(prices) == 0:
        return last_close, last_date, n_returns, std, per_year
    code = index_in(prices["stock_code"], stocks)
    date = prices["date"].to_numpy(dtype="datetime64[ns]")
    close = float_column(prices, "close")
    with np.errstate(invalid="ignore"):
        # Prices after the as-of date do not exist yet; a non-positive close has no log.
        keep = (code >= 0) & (date <= as_of) & (close > 0) & np.isfinite(close)
    code, date, close = code[keep], date[keep], close[keep]
    code, date, close = _by_stock_and_date(code, date, close, k)

    counts = np.bincount(code, minlength=k)
    has = counts > 0
    last = np.cumsum(counts)[has] - 1  # each stock's last row
    last_close[has] = close[last]
    last_date[has] = date[last]

    same = code[1:] == code[:-1]
    returns = np.diff(np.log(close))[same]
    r_code = code[1:][same]
    r_start = date[:-1][same]  # the close each return starts from
    r_end = np.cumsum(np.bincount(r_code, minlength=k))  # one past each stock's last return
    from_end = r_end[r_code] - 1 - np.arange(returns.size)  # 0 for a stock's latest return
    use = from_end < window
    returns, r_code, r_start = returns[use], r_code[use], r_start[use]
    n_returns = np.bincount(r_code, minlength=k)
    first = np.full(k, np.iinfo(np.int64).max)
    np.minimum.at(first, r_code, r_start.view(np.int64))
    with np.errstate(invalid="ignore", divide="ignore"):
        span_days = (last_date.view(np.int64) - first) / _NS_PER_DAY
        per_year = np.where(n_returns > 0, np.minimum(float(max_per_year), 365.25 * n_returns / span_days), np.nan)
    mean = np.bincount(r_code, weights=returns, minlength=k) / np.maximum(n_returns, 1)
    deviation = returns - mean[r_code]  # two passes: exact zero for a flat (suspended) stock
    squares = np.bincount(r_code, weights=deviation * deviation, minlength=k)
    enough = n_returns >= 2
    std[enough] = np.sqrt(squares[enough] / (n_returns[enough] - 1))
    return last_close, last_date, n_returns, std, per_year


def _by_stock_and_date(code: np.ndarray, date: np.ndarray, close: np.ndarray, k: int):
    """Price rows sorted by (stock, date). Price files come by date within each stock, so a
    stable radix sort on the stock number usually does it; else a full lexsort."""
    if k < np.iinfo(np.int16).max:
        order = np.argsort(code.astype(np.int16), kind="stable")
        code, date, close = code[order], date[order], close[order]
        if not (date[1:] < date[:-1])[code[1:] == code[:-1]].any():
            return code, date, close
    order = np.lexsort((date.view(np.int64), code))
    return code[order], date[order], close[order]


def _hit_probability(price, barrier, sigma, horizon_years: float, drift: float) -> np.ndarray:
    """Probability that a GBM price (annual drift ``drift``, volatility ``sigma``) started
    at ``price`` touches ``barrier`` within ``horizon_years`` (continuous monitoring).

    P = 1 when the price is at or below the barrier (whatever σ); with σ = 0 the path is
    deterministic (the σ → 0 limit of the formula: 1 when b ≥ min(0, μT), else 0); NaN
    where the price, the barrier or σ is unknown.
    """
    price, barrier, sigma = (np.asarray(a, dtype=float) for a in (price, barrier, sigma))
    p = np.full(price.shape, np.nan)
    with np.errstate(invalid="ignore"):
        known = (price > 0) & (barrier >= 0) & np.isfinite(price) & np.isfinite(barrier)
    zero_barrier = known & (barrier == 0)  # no debt left: the line is at a price of zero
    p[zero_barrier] = 0.0
    live = known & ~zero_barrier
    b = np.full(price.shape, np.nan)
    b[live] = np.log(barrier[live] / price[live])
    touched = live & (b >= 0)
    p[touched] = 1.0
    T = float(horizon_years)
    pending = live & ~touched
    if T <= 0:
        p[pending] = 0.0
        return p
    with np.errstate(invalid="ignore"):
        flat = pending & (sigma == 0)
        moving = pending & (sigma > 0) & np.isfinite(sigma)
    p[flat] = (b[flat] >= min(0.0, drift * T)).astype(float)
    s, bb = sigma[moving], b[moving]
    nu = drift - 0.5 * s * s
    scale = s * np.sqrt(T)
    first = ndtr((bb - nu * T) / scale)
    # exp(2νb/σ²) overflows for small σ; in log space the product stays ≤ 1.
    log_second = 2.0 * nu * bb / (s * s) + log_ndtr((bb + nu * T) / scale)
    second = np.exp(np.minimum(log_second, 0.0))
    p[moving] = np.clip(first + second, 0.0, 1.0)
    return p


# --------------------------------------------------------------------------- contracts


def pledge_contracts(
    pledges: pd.DataFrame,
    prices: pd.DataFrame,
    firms: pd.DataFrame,
    as_of,
    policy: Policy,
) -> pd.DataFrame:
    """Per share-pledge contract: amount owed, coverage, lines, state and hit probability.

    For a contract in force (status not ``released``, started on or before ``as_of``):

    - ``amount_owed`` L = loan_amount · (1 + interest_rate · years elapsed since
      start_date), years = days / ``days_per_year`` (missing rate: no interest);
    - ``coverage`` = pledged_shares · price / L (履约保障比例);
    - ``warning_price`` = warning_ratio · L / pledged_shares, ``liquidation_price``
      likewise with liquidation_ratio (policy defaults where the contract leaves them empty);
    - ``distance`` = 1 − liquidation_price / price;
    - ``state``: ``liquidation`` when coverage is below the liquidation ratio, else
      ``warning`` below the warning ratio, else ``normal``;
    - ``hit_prob``: the probability that the price touches the liquidation line within
      T = horizon_days / days_per_year years under GBM, ν = drift − σ²/2,
      b = ln(liquidation_price / price): P = 1 when b ≥ 0, else
      P = Φ((b − νT)/(σ√T)) + exp(2νb/σ²)·Φ((b + νT)/(σ√T)).

    Disclosures give the lines as prices (预警线(估算), 平仓线(估算)) and no loan: then
    L = liquidation_price · pledged_shares / liquidation_ratio (no interest: the line is
    today's), ``amount_source`` says ``liquidation_price`` rather than ``loan``, and a line
    given as a price is the line itself (state: the price below it). This keeps coverage,
    distance and P in the same terms as for a contract with its loan amount. A release
    date on or before ``as_of`` releases the contract; a holding given as the pledged
    share of it (占所持股比例) gives ``pledger_holding_shares`` = shares / that share.

    ``price`` is the stock's last close on or before ``as_of`` (``price_stale`` when it is
    more than ``max_price_age_days`` older; ``price_gap`` says why there is none: no
    prices table, no stock code, no close); ``sigma`` the sample standard deviation
    (ddof = 1) of its last ``volatility_window`` log returns up to ``as_of``, annualised
    by the observations per year the closes show (365.25 days over their mean gap, at
    most ``trading_days_per_year``: √252 for daily closes, √52 for weekly ones), NaN with
    fewer than ``min_returns`` returns (``volatility_ok`` False). A flat (suspended) stock has σ = 0 and P = 1 at or below
    the line, 0 above it (with a zero drift).

    Judgement calls: a contract already at or below its line has P = 1 even when σ is
    unknown (the line has been touched); a contract whose company is not screened has
    no stock code, hence no price: state and the price-based figures are NaN; a released
    contract has state ``released`` and a contract starting after ``as_of`` state
    ``not_started``: neither is in force, so L, coverage, the lines, distance and P are
    NaN for them; a contract past its end date but not released stays in force (an overdue
    repurchase); a loan of 0 has state ``normal``, zero lines and P = 0 (coverage NaN: it
    would be infinite); pledged_shares ≤ 0 makes the lines and state NaN.

    Parameters
    ----------
    pledges : DataFrame
        Validated ``pledges`` (``company_idx``: row of the company in ``firms``, −1 when
        not screened; without that column the company is looked up by ``company_id``).
    prices : DataFrame or None
        Validated ``prices``: ``stock_code``, ``date``, ``close`` (any order). Without
        it every price-dependent figure is NaN (``price_gap`` "no prices table").
    firms : DataFrame
        Validated ``firms`` (row i is ``firm_idx`` i), for ``stock_code``.
    as_of : date
    policy : Policy
        Section ``[pledges]``.

    Returns
    -------
    DataFrame
        One row per input contract, in input order (same index): ``pledge_id``,
        ``company_id``, ``pledger_id``, ``stock_code``, ``status``, ``price``,
        ``price_date``, ``price_gap``, ``price_stale``, ``sigma``, ``n_returns``,
        ``volatility_ok``, ``years_elapsed``, ``amount_owed``, ``amount_source``, ``coverage``, ``warning_price``, ``liquidation_price``,
        ``distance``, ``state``, ``hit_prob``, ``warning_ratio``, ``liquidation_ratio``,
        ``pledger_is_controlling``, ``pledger_holding_shares``, ``pledged_shares``,
        ``loan_amount``.

    Examples
    --------
    A stock that alternates between 20 and 21 yuan for 120 sessions, pledged at 40 % of
    its value with the usual 160 % / 140 % lines:

    >>> import numpy as np, pandas as pd
    >>> from zjfin._policy import Policy
    >>> firms = pd.DataFrame({"firm_id": ["F1"], "stock_code": ["600001.SH"],
    ...                       "total_shares": [1e8], "listed": [True]})
    >>> days = pd.bdate_range(end="2019-03-29", periods=121)
    >>> prices = pd.DataFrame({"stock_code": "600001.SH", "date": days,
    ...                        "close": np.resize([20.0, 21.0], 121)})
    >>> pledges = pd.DataFrame({"pledge_id": ["C1"], "company_id": ["F1"], "pledger_id": ["P1"],
    ...                         "pledged_shares": [1e6], "loan_amount": [0.4 * 20 * 1e6],
    ...                         "start_date": pd.to_datetime(["2019-01-02"]), "company_idx": [0]})
    >>> c = pledge_contracts(pledges, prices, firms, "2019-03-31", Policy.default())
    >>> c.loc[0, ["price", "coverage", "warning_price", "liquidation_price", "distance"]].astype(float).round(4).tolist()
    [20.0, 2.5, 12.8, 11.2, 0.44]
    >>> row = c.iloc[0]
    >>> row["state"], int(row["n_returns"]), round(float(row["sigma"]), 4), round(float(row["hit_prob"]), 4)
    ('normal', 120, 0.7778, 0.1759)
    """
    cfg = policy.pledges
    as_of_ts = pd.Timestamp(as_of)
    as_of_ns = np.datetime64(as_of_ts.to_datetime64(), "ns")
    n = len(pledges)
    index = pledges.index

    # The company's stock code: its row in firms (company_idx), else a look-up by id.
    if "company_idx" in pledges.columns:
        row = pledges["company_idx"].to_numpy(dtype=np.int64, na_value=-1)
    else:
        row = index_in(pledges["company_id"], firms["firm_id"])
    row = np.where((row >= 0) & (row < len(firms)), row, -1)
    if "stock_code" in firms.columns and len(firms):
        take = pa.array(np.maximum(row, 0), mask=row < 0)
        stock = arrow_text(firms["stock_code"]).take(take)
    else:
        stock = pa.chunked_array([pa.nulls(n, pa.string())])
    stocks = _unique_keys(stock)
    stock_of = index_in(stock, stocks)

    last_close, last_date, n_ret, std, per_year = _stock_history(prices, stocks, as_of_ns, int(cfg.volatility_window),
                                                                 float(cfg.trading_days_per_year))
    pad = np.where(stock_of >= 0, stock_of, len(stocks))  # the sentinel slot: no price
    price = np.r_[last_close, np.nan][pad]
    price_date = np.r_[last_date, np.datetime64("NaT", "ns")][pad]
    n_returns = np.r_[n_ret, 0][pad]
    volatility_ok = n_returns >= int(cfg.min_returns)
    # Annualised by how often the closes were observed: √252 for daily closes, √52 for weekly.
    sigma = np.where(volatility_ok, np.r_[std, np.nan][pad] * np.sqrt(np.r_[per_year, np.nan][pad]), np.nan)
    stock_known = stock_of >= 0
    price_gap = np.select([np.full(n, prices is None), ~stock_known, np.isnan(price)],
                          list(PRICE_GAPS), default=None).astype(object)
    oldest = as_of_ns - np.timedelta64(int(cfg.max_price_age_days), "D")
    price_stale = ~np.isnan(price) & (price_date < oldest)

    # In force: not released (by status or a release date by the as-of date) and started
    # by the as-of date (missing status: active).
    status = _text(pledges, "status", index)
    released = (status == "released").to_numpy(dtype=bool) | (_dates(pledges, "release_date") <= as_of_ns)
    start = _dates(pledges, "start_date")
    elapsed = (as_of_ns - start).astype(np.int64) / _NS_PER_DAY / float(cfg.days_per_year)
    elapsed[np.isnat(start)] = np.nan
    not_started = ~released & (elapsed < 0)
    in_force = ~released & ~not_started
    years = np.where(in_force, np.maximum(elapsed, 0.0), np.nan)

    shares = float_column(pledges, "pledged_shares")
    loan = float_column(pledges, "loan_amount")
    rate = float_column(pledges, "interest_rate")
    warning_ratio = float_column(pledges, "warning_ratio")
    warning_ratio = np.where(np.isnan(warning_ratio), float(cfg.default_warning_ratio), warning_ratio)
    liquidation_ratio = float_column(pledges, "liquidation_ratio")
    liquidation_ratio = np.where(np.isnan(liquidation_ratio), float(cfg.default_liquidation_ratio), liquidation_ratio)

    given_warning = float_column(pledges, "warning_price")
    given_liquidation = float_column(pledges, "liquidation_price")
    with np.errstate(invalid="ignore", divide="ignore"):
        has_shares = shares > 0
        # Disclosures give the lines as prices and no loan: the line implies the amount owed
        # (liquidation price × shares ÷ liquidation ratio), so coverage, distance and P
        # are the same quantities as for a contract with its loan amount.
        implied = np.isnan(loan) & (given_liquidation > 0) & has_shares
        interest = np.where(np.nan_to_num(rate) > 0, rate * years, 0.0)
        owed = np.where(in_force, np.where(implied, given_liquidation * shares / liquidation_ratio,
                                           loan * (1.0 + interest)), np.nan)
        has_debt = owed > 0
        coverage = np.where(has_debt & has_shares, shares * price / owed, np.nan)
        warning_price = np.where(has_shares & (owed >= 0), warning_ratio * owed / shares, np.nan)
        liquidation_price = np.where(has_shares & (owed >= 0), liquidation_ratio * owed / shares, np.nan)
        # A line the contract states as a price is the line (in force only).
        warning_price = np.where(in_force & (given_warning > 0), given_warning, warning_price)
        liquidation_price = np.where(in_force & (given_liquidation > 0), given_liquidation, liquidation_price)
        priced = price > 0
        distance = np.where(priced, 1.0 - liquidation_price / price, np.nan)
        judged = priced & has_shares & (owed >= 0)
        below_liquidation = has_debt & np.where(given_liquidation > 0, price < liquidation_price,
                                                coverage < liquidation_ratio)
        below_warning = has_debt & np.where(given_warning > 0, price < warning_price, coverage < warning_ratio)
    amount_source = np.select([~in_force, implied, ~np.isnan(loan)], [None, "liquidation_price", "loan"],
                              default=None).astype(object)
    holding = float_column(pledges, "pledger_holding_shares")
    share_of_holding = float_column(pledges, "pledged_share_of_holding")
    with np.errstate(invalid="ignore", divide="ignore"):
        # A disclosure gives the pledge as a share of the holder's shares instead of the holding.
        holding = np.where(np.isnan(holding) & (share_of_holding > 0) & has_shares, shares / share_of_holding, holding)
    state = np.select(
        [released, not_started, ~judged, below_liquidation, below_warning],
        ["released", "not_started", None, "liquidation", "warning"],
        default="normal",
    )
    hit_prob = _hit_probability(
        price, liquidation_price, sigma, float(cfg.horizon_days) / float(cfg.days_per_year), float(cfg.drift)
    )
    hit_prob[~judged] = np.nan

    return pd.DataFrame(
        {
            "pledge_id": _text(pledges, "pledge_id", index),
            "company_id": _text(pledges, "company_id", index),
            "pledger_id": _text(pledges, "pledger_id", index),
            "stock_code": as_text(stock, index=index),
            "status": status,
            "price": price,
            "price_date": price_date,
            "price_gap": as_text(price_gap, index=index),
            "price_stale": price_stale,
            "sigma": sigma,
            "n_returns": n_returns.astype(float),
            "volatility_ok": volatility_ok,
            "years_elapsed": years,
            "amount_owed": owed,
            "amount_source": as_text(amount_source, index=index),
            "coverage": coverage,
            "warning_price": warning_price,
            "liquidation_price": liquidation_price,
            "distance": distance,
            "state": as_text(state, index=index),
            "hit_prob": hit_prob,
            "warning_ratio": warning_ratio,
            "liquidation_ratio": liquidation_ratio,
            "pledger_is_controlling": _flags(pledges, "pledger_is_controlling"),
            "pledger_holding_shares": holding,
            "pledged_shares": shares,
            "loan_amount": loan,
        },
        index=index,
        copy=False,
    )


# --------------------------------------------------------------------------- per firm


def _group_min(groups: np.ndarray, values: np.ndarray, n: int, largest: bool = False) -> np.ndarray:
    """NaN-ignoring min (or max) of ``values`` per group 0 … n−1; NaN for empty groups."""
    out = np.full(n, np.nan)
    (np.fmax if largest else np.fmin).at(out, groups, values)
    return out


def pledge_risk(contracts: pd.DataFrame, frame: pd.DataFrame, policy: Policy) -> EngineOutput:
    """Pledge risk per firm (SPEC §3.5) from the contracts of :func:`pledge_contracts`.

    Per listed company (the contracts' ``company_id`` matched to the frame's ``firm_id``),
    over its contracts in force:

    - ``pledge_ratio``: pledged shares / total_shares. 0 for a firm with total_shares
      and no pledge in force, NaN where total_shares is missing or not positive (an
      unlisted firm);
    - ``pledge_warning_count``, ``pledge_liquidation_count``: contracts in each state (0
      without pledges); ``pledge_warning_share``, ``pledge_liquidation_share``: those
      counts over the contracts whose state is known (NaN when none is);
    - ``pledge_min_coverage``, ``pledge_worst_distance`` (smallest distance),
      ``pledge_hit_prob`` (largest P): NaN when no contract gives one;
    - ``pledge_controlling_share``: the largest, over controlling pledgers, of their
      pledged shares in force / their holding (NaN without a controlling pledge with a
      known holding);
    - ``pledge_horizon_days``: the policy horizon (for the P2/P4 sentences);
    - ``pledge_risk``: ``high`` for a contract in liquidation state or P ≥
      ``high_hit_probability``; ``medium`` for a contract in warning state, P ≥
      ``medium_hit_probability``, pledge_ratio > ``max_pledge_ratio`` or a controlling
      share > ``controlling_pledged_share_above``; ``low`` when pledged at all; else ``none``.

    A controlling pledger that is itself a firm of the frame gets at least the level of its
    own contracts in force: ``high`` for one in liquidation state or with P ≥
    ``high_hit_probability`` (reason P8), ``medium`` for warning state or P ≥
    ``medium_hit_probability``, else ``low``. Its figures stay those of its own shares.

    Reason codes: P1 liquidation state, P2 P ≥ high, P3 warning state, P4 medium ≤ P <
    high, P5 pledge ratio above the cap, P6 controlling share above the limit, P7 the
    company's own level is ``low``, P8 attributed ``high`` as a controlling pledger, P9 attributed ``medium``.

    Parameters
    ----------
    contracts : DataFrame
        From :func:`pledge_contracts`.
    frame : DataFrame
        The firm frame (:func:`zjfin._features.firm_frame`) or a partition of it:
        ``firm_id``, ``total_shares``.
    policy : Policy
        Section ``[pledges]``.

    Returns
    -------
    EngineOutput
        ``columns`` and ``fired`` (P1–P9), both with the frame's index.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from zjfin._policy import Policy
    >>> firms = pd.DataFrame({"firm_id": ["F1", "F2"], "stock_code": ["600001.SH", None],
    ...                       "total_shares": [1e8, np.nan], "listed": [True, False]})
    >>> days = pd.bdate_range(end="2019-03-29", periods=121)
    >>> prices = pd.DataFrame({"stock_code": "600001.SH", "date": days,
    ...                        "close": np.resize([20.0, 21.0], 121)})
    >>> pledges = pd.DataFrame({"pledge_id": ["C1"], "company_id": ["F1"], "pledger_id": ["F2"],
    ...                         "pledged_shares": [6e7], "loan_amount": [0.4 * 20 * 6e7],
    ...                         "start_date": pd.to_datetime(["2019-01-02"]), "company_idx": [0],
    ...                         "pledger_is_controlling": [True], "pledger_holding_shares": [7e7]})
    >>> policy = Policy.default()
    >>> out = pledge_risk(pledge_contracts(pledges, prices, firms, "2019-03-31", policy), firms, policy)
    >>> out.columns[["pledge_ratio", "pledge_controlling_share"]].round(3).values.tolist()
    [[0.6, 0.857], [nan, nan]]
    >>> out.columns["pledge_risk"].tolist()
    ['medium', 'low']
    >>> [code for code in out.fired.columns if out.fired.loc[0, code]]
    ['P5', 'P6']
    """
    cfg = policy.pledges
    high_p, medium_p = float(cfg.high_hit_probability), float(cfg.medium_hit_probability)
    index = frame.index
    n = len(frame)
    m = len(contracts)

    state = contracts["state"]
    in_force = ~((state == "released") | (state == "not_started")).to_numpy(dtype=bool)
    liquidation = (state == "liquidation").to_numpy(dtype=bool)
    warning = (state == "warning").to_numpy(dtype=bool)
    normal = (state == "normal").to_numpy(dtype=bool)
    shares = float_column(contracts, "pledged_shares")
    holding = float_column(contracts, "pledger_holding_shares")
    coverage = float_column(contracts, "coverage")
    distance = float_column(contracts, "distance")
    hit = float_column(contracts, "hit_prob")
    controlling = _flags(contracts, "pledger_is_controlling")

    # The company's row and the pledger's row in the frame, by one look-up of the frame's
    # ids in the (small) set of ids the contracts name: hashing the contracts' few thousand
    # ids and probing the frame's million is ten times faster than the other way round.
    ends = pa.concat_arrays([arrow_text(contracts["company_id"]).combine_chunks(),
                             arrow_text(contracts["pledger_id"]).combine_chunks()])
    named = _unique_keys(ends)
    row_of_named = np.full(len(named) + 1, -1, dtype=np.int64)  # last slot: not named
    if len(named) and n:
        found = index_in(frame["firm_id"], named)
        row_of_named[found[found >= 0]] = np.flatnonzero(found >= 0)
    position = index_in(ends, named) if len(named) else np.full(2 * m, -1, dtype=np.int64)
    rows = row_of_named[np.where(position >= 0, position, len(named))]
    company_row, pledger_row = rows[:m], rows[m:]

    # ---------------------------------------------------------------- per company
    at = in_force & (company_row >= 0)
    r = company_row[at]
    pledged = np.bincount(r, weights=np.nan_to_num(shares[at]), minlength=n)
    n_in_force = np.bincount(r, minlength=n)
    n_liquidation = np.bincount(r, weights=liquidation[at], minlength=n)
    n_warning = np.bincount(r, weights=warning[at], minlength=n)
    n_known = np.bincount(r, weights=(liquidation | warning | normal)[at], minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        liquidation_share = np.where(n_known > 0, n_liquidation / n_known, np.nan)
        warning_share = np.where(n_known > 0, n_warning / n_known, np.nan)
        total_shares = float_column(frame, "total_shares")
        ratio = np.where(total_shares > 0, pledged / total_shares, np.nan)
    # Why a firm's price-dependent figures are empty: the first gap among its contracts in force.
    gap_code = np.full(m, len(PRICE_GAPS), dtype=np.int64)
    if "price_gap" in contracts.columns:
        for i, gap in enumerate(PRICE_GAPS):
            gap_code[(contracts["price_gap"] == gap).to_numpy(dtype=bool)] = i
    firm_gap = np.full(n, len(PRICE_GAPS), dtype=np.int64)
    np.minimum.at(firm_gap, r, gap_code[at])
    min_coverage = _group_min(r, coverage[at], n)
    worst_distance = _group_min(r, distance[at], n)
    hit_prob = _group_min(r, hit[at], n, largest=True)

    # Controlling pledgers: pledged shares in force / holding, per (company, pledger).
    pledgers = _unique_keys(contracts["pledger_id"]) if m else pa.array([], pa.string())
    pledger_code = index_in(contracts["pledger_id"], pledgers) if m else np.zeros(0, np.int64)
    pair_at = at & (pledger_code >= 0)
    key = company_row[pair_at] * max(len(pledgers), 1) + pledger_code[pair_at]
    pairs, pair = np.unique(key, return_inverse=True)
    pair_pledged = np.bincount(pair, weights=np.nan_to_num(shares[pair_at]), minlength=pairs.size)
    pair_holding = _group_min(pair, holding[pair_at], pairs.size, largest=True)
    pair_controlling = np.bincount(pair, weights=controlling[pair_at], minlength=pairs.size) > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        pair_share = np.where(pair_holding > 0, pair_pledged / pair_holding, np.nan)
    keep = pair_controlling & ~np.isnan(pair_share)
    controlling_share = _group_min(pairs[keep] // max(len(pledgers), 1), pair_share[keep], n, largest=True)

    with np.errstate(invalid="ignore"):
        p1 = n_liquidation > 0
        p2 = hit_prob >= high_p
        p3 = n_warning > 0
        p4 = (hit_prob >= medium_p) & ~p2
        p5 = ratio > float(cfg.max_pledge_ratio)
        p6 = controlling_share > float(cfg.controlling_pledged_share_above)
    company_high = p1 | p2
    company_medium = ~company_high & (p3 | p4 | p5 | p6)
    company_low = ~company_high & ~company_medium & (n_in_force > 0)
    level = np.select([company_high, company_medium, company_low], [3, 2, 1], default=0)

    # ---------------------------------------------------------------- per pledger
    by = in_force & controlling & (pledger_row >= 0)
    with np.errstate(invalid="ignore"):
        contract_level = np.select(
            [liquidation | (hit >= high_p), warning | (hit >= medium_p)], [3, 2], default=1
        )
    attributed = np.zeros(n, dtype=np.int64)
    np.maximum.at(attributed, pledger_row[by], contract_level[by])
    p8 = attributed == 3
    p9 = attributed == 2  # a pledger raised to medium by its own contracts
    level = np.maximum(level, attributed)

    columns = pd.DataFrame(
        {
            "pledge_ratio": ratio,
            "pledge_warning_share": warning_share,
            "pledge_liquidation_share": liquidation_share,
            "pledge_warning_count": n_warning.astype(float),
            "pledge_liquidation_count": n_liquidation.astype(float),
            "pledge_min_coverage": min_coverage,
            "pledge_worst_distance": worst_distance,
            "pledge_hit_prob": hit_prob,
            "pledge_controlling_share": controlling_share,
            "pledge_horizon_days": np.full(n, float(cfg.horizon_days)),
            "pledge_in_force_count": n_in_force.astype(float),
        },
        index=index,
        copy=False,
    )
    # The level numbers to text, as risks.level_from_masks does (in Arrow: no string per firm).
    columns["pledge_risk"] = text_from_codes(level, RISK_LEVELS, index=index)
    columns["pledge_price_gap"] = as_text(np.array([*PRICE_GAPS, None], dtype=object)[firm_gap], index=index)
    fired = pd.DataFrame(
        dict(zip(REASON_CODES, (p1, p2, p3, p4, p5, p6, company_low, p8, p9))), index=index, copy=False
    )
    return EngineOutput(columns, fired)
