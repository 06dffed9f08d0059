"""Equity pledge risk (SPEC §3.5): zjfin.risks.pledges.

Expected numbers are computed here, independently of the module: the first-passage
formula with math.erfc, σ with pandas, the hit probability against a Monte Carlo.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import zjfin
from builders import firm_ids
from zjfin._features import firm_frame
from zjfin._policy import Policy
from zjfin.risks.pledges import pledge_contracts, pledge_risk

AS_OF = pd.Timestamp("2019-03-31")
LAST_SESSION = pd.Timestamp("2019-03-29")  # the Friday before the as-of Sunday
POLICY = Policy.default()
CFG = POLICY.pledges
T = CFG.horizon_days / CFG.days_per_year
TEXT_KIND = zjfin._arrow.TEXT


# --------------------------------------------------------------------------- builders


def phi(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def first_passage(price: float, barrier: float, sigma: float, horizon: float, mu: float = 0.0) -> float:
    """P(min of a GBM over [0, horizon] ≤ barrier), continuous monitoring (textbook form)."""
    if barrier >= price:
        return 1.0
    nu = mu - 0.5 * sigma**2
    b = math.log(barrier / price)
    s = sigma * math.sqrt(horizon)
    return phi((b - nu * horizon) / s) + math.exp(2 * nu * b / sigma**2) * phi((b + nu * horizon) / s)


def alternating_closes(sigma: float, n_returns: int = 250, last: float = 20.0) -> np.ndarray:
    """Closes whose daily log returns alternate ±a, so that the annualised sample σ of the
    last n_returns (even) is exactly ``sigma``: std(±a, ddof=1) = a·√(n/(n−1))."""
    assert n_returns % 2 == 0
    a = sigma / math.sqrt(CFG.trading_days_per_year) * math.sqrt((n_returns - 1) / n_returns)
    steps = np.resize([a, -a], n_returns)
    logs = np.r_[0.0, np.cumsum(steps)]
    return last * np.exp(logs - logs[-1])


def price_rows(stock: str, closes, end=LAST_SESSION) -> pd.DataFrame:
    dates = pd.bdate_range(end=end, periods=len(closes))
    return pd.DataFrame({"stock_code": stock, "date": dates, "close": np.asarray(closes, dtype=float)})


def make_firms(n_listed: int, n_other: int = 0, total_shares: float = 1e8) -> pd.DataFrame:
    ids = firm_ids(n_listed + n_other)
    codes = [f"{600000 + i:06d}.SH" for i in range(n_listed)] + [None] * n_other
    return pd.DataFrame(
        {
            "firm_id": pd.array(ids, dtype=TEXT_KIND),
            "stock_code": pd.array(codes, dtype=TEXT_KIND),
            "listed": pd.array([True] * n_listed + [False] * n_other, dtype="boolean"),
            "total_shares": [total_shares] * n_listed + [np.nan] * n_other,
            "firm_idx": np.arange(n_listed + n_other),
        }
    )


def make_pledges(rows: list[dict], firms: pd.DataFrame) -> pd.DataFrame:
    """Contracts in the validated layout; ``company`` is a row of ``firms`` (−1: unknown)."""
    out = []
    for i, r in enumerate(rows):
        company = r.get("company", 0)
        out.append(
            {
                "pledge_id": r.get("pledge_id", f"PLG{i:08d}"),
                "company_id": firms["firm_id"].iloc[company] if company >= 0 else "91330000MA00000000",
                "pledger_id": r.get("pledger_id", f"P{i:017d}"),
                "pledged_shares": float(r.get("shares", 1e6)),
                "loan_amount": float(r["loan"]),
                "start_date": pd.Timestamp(r.get("start", "2019-03-31")),
                "end_date": pd.Timestamp("2021-03-31"),
                "interest_rate": r.get("rate", np.nan),
                "warning_ratio": r.get("warning", np.nan),
                "liquidation_ratio": r.get("liquidation", np.nan),
                "pledger_is_controlling": r.get("controlling", False),
                "pledger_holding_shares": r.get("holding", np.nan),
                "status": r.get("status", "active"),
                "company_idx": company,
            }
        )
    frame = pd.DataFrame(out)
    for column in ("pledge_id", "company_id", "pledger_id", "status"):
        frame[column] = pd.array(frame[column], dtype=TEXT_KIND)
    frame["pledger_is_controlling"] = pd.array(frame["pledger_is_controlling"], dtype="boolean")
    return frame


def loan_for(coverage: float, price: float = 20.0, shares: float = 1e6) -> float:
    """The loan (no interest) that gives ``coverage`` at ``price``."""
    return shares * price / coverage


def assert_clean(frame: pd.DataFrame) -> None:
    """Columns are float64, bool, datetime or the text dtype; no inf anywhere."""
    for name, dtype in frame.dtypes.items():
        assert dtype in (np.float64, np.bool_, TEXT_KIND) or dtype.kind == "M", (name, dtype)
    numbers = frame.select_dtypes("float64").to_numpy()
    assert not np.isinf(numbers).any()


# --------------------------------------------------------------------------- 1 textbook


@pytest.mark.parametrize("explicit_ratios", [False, True])
def test_textbook_contract(explicit_ratios):
    firms = make_firms(1)
    prices = price_rows(firms["stock_code"][0], np.full(100, 20.0))
    ratios = {"warning": 1.6, "liquidation": 1.4} if explicit_ratios else {}
    pledges = make_pledges([{"shares": 1e6, "loan": 0.4 * 20.0 * 1e6, **ratios}], firms)
    c = pledge_contracts(pledges, prices, firms, AS_OF, POLICY).iloc[0]
    assert c["price"] == 20.0 and c["price_date"] == LAST_SESSION
    assert c["amount_owed"] == pytest.approx(8e6, rel=1e-12)
    assert c["liquidation_price"] == pytest.approx(11.2, rel=1e-12)
    assert c["warning_price"] == pytest.approx(12.8, rel=1e-12)
    assert c["coverage"] == pytest.approx(2.5, rel=1e-12)
    assert c["distance"] == pytest.approx(0.44, rel=1e-12)
    assert c["state"] == "normal"
    assert (c["warning_ratio"], c["liquidation_ratio"]) == (1.6, 1.4)


# --------------------------------------------------------------------------- 2 Monte Carlo

BGK_BETA = 0.5826  # −ζ(1/2)/√(2π), Broadie–Glasserman–Kou (1997)


def monte_carlo_hit(price, barrier, sigma, mu, horizon, steps, paths, seed) -> float:
    """Share of GBM paths whose close on one of ``steps`` monitoring dates is ≤ barrier."""
    rng = np.random.default_rng(seed)
    dt = horizon / steps
    drift, scale = (mu - 0.5 * sigma**2) * dt, sigma * math.sqrt(dt)
    level = math.log(barrier / price)
    log_s = np.zeros(paths)
    hit = np.zeros(paths, dtype=bool)
    for _ in range(steps):
        log_s += drift + scale * rng.standard_normal(paths)
        hit |= log_s <= level
    return float(hit.mean())


@pytest.mark.parametrize(
    "sigma, distance, mu",
    [(0.30, 0.15, 0.0), (0.50, 0.10, -0.20), (0.25, 0.20, 0.15), (0.60, 0.35, 0.05), (0.45, 0.05, 0.30)],
)
def test_hit_probability_against_monte_carlo(sigma, distance, mu):
    # The closed form monitors continuously; the simulation monitors once a day (one step
    # per calendar day of the horizon), which misses crossings between days and so gives
    # a lower probability. We account for that with the Broadie–Glasserman–Kou continuity
    # correction: a daily-monitored down barrier H behaves like a continuously monitored
    # one at H·exp(−0.5826·σ·√Δt). The corrected closed form is obtained from the module
    # itself by lowering the contract's liquidation ratio by that factor.
    policy = POLICY.update({"pledges": {"drift": mu}})
    firms = make_firms(1)
    prices = price_rows(firms["stock_code"][0], alternating_closes(sigma))
    loan = (1 - distance) * 20.0 * 1e6 / 1.4  # liquidation price (1 − distance)·price
    plain = pledge_contracts(make_pledges([{"loan": loan}], firms), prices, firms, AS_OF, policy).iloc[0]
    assert plain["sigma"] == pytest.approx(sigma, rel=1e-12)
    assert plain["distance"] == pytest.approx(distance, rel=1e-12)
    assert plain["hit_prob"] == pytest.approx(first_passage(20.0, 20.0 * (1 - distance), sigma, T, mu), abs=1e-12)

    steps = int(CFG.horizon_days)
    shift = math.exp(-BGK_BETA * sigma * math.sqrt(T / steps))
    corrected_pledge = make_pledges([{"loan": loan, "liquidation": 1.4 * shift}], firms)
    corrected = pledge_contracts(corrected_pledge, prices, firms, AS_OF, policy).iloc[0]["hit_prob"]
    simulated = monte_carlo_hit(20.0, 20.0 * (1 - distance), sigma, mu, T, steps, 250_000, seed=7)
    assert abs(corrected - simulated) < 0.01, (corrected, simulated, plain["hit_prob"])
    assert plain["hit_prob"] >= simulated - 0.005  # continuous monitoring catches more


# --------------------------------------------------------------------------- 3 volatility


def test_sigma_matches_pandas_on_windows():
    rng = np.random.default_rng(3)
    lengths = {"full_window": 301, "exactly_250": 251, "only_80": 81, "only_59": 60}
    firms = make_firms(len(lengths))
    frames = []
    for stock, n_closes in zip(firms["stock_code"], lengths.values()):
        closes = 15.0 * np.exp(np.cumsum(rng.normal(0.0, 0.025, n_closes)))
        frames.append(price_rows(stock, closes))
        # Sessions after the as-of date must be ignored.
        frames.append(pd.DataFrame({"stock_code": stock, "date": pd.bdate_range("2019-04-01", periods=5),
                                    "close": 99.0}))
    history = pd.concat(frames, ignore_index=True)
    prices = history.sample(frac=1.0, random_state=1).reset_index(drop=True)  # any row order
    pledges = make_pledges([{"company": i, "loan": 1e6} for i in range(len(lengths))], firms)
    c = pledge_contracts(pledges, prices, firms, AS_OF, POLICY)

    annual = math.sqrt(CFG.trading_days_per_year)
    for i, name in enumerate(lengths):
        own = history[(history["stock_code"] == firms["stock_code"][i]) & (history["date"] <= AS_OF)]
        log_returns = np.log(own["close"]).diff()
        assert c["price"][i] == own["close"].iloc[-1]
        if name == "full_window":
            expected, n = log_returns.rolling(250).std().iloc[-1] * annual, 250
        elif name == "only_59":
            expected, n = np.nan, 59
        else:
            expected, n = log_returns.dropna().std(ddof=1) * annual, len(own) - 1
        assert c["n_returns"][i] == n, name
        if np.isnan(expected):
            assert np.isnan(c["sigma"][i]) and not c["volatility_ok"][i]
            assert np.isnan(c["hit_prob"][i])  # above the line and σ unknown
        else:
            assert c["volatility_ok"][i]
            assert c["sigma"][i] == pytest.approx(expected, rel=1e-10), name


# --------------------------------------------------------------------------- 4 suspended


@pytest.mark.parametrize("mu", [0.0, 0.1])
def test_suspended_stock_has_zero_sigma_and_certain_outcomes(mu):
    firms = make_firms(1)
    prices = price_rows(firms["stock_code"][0], np.full(301, 10.0))
    # Liquidation prices 8 (above the line), exactly 10 (at it: 1.25 · 8000 / 1000) and 12.
    pledges = make_pledges(
        [{"shares": 1000, "loan": loan, "liquidation": 1.25, "warning": 1.5} for loan in (6400, 8000, 9600)],
        firms,
    )
    policy = POLICY.update({"pledges": {"drift": mu}})
    with warnings.catch_warnings(), np.errstate(all="warn"):
        warnings.simplefilter("error")
        c = pledge_contracts(pledges, prices, firms, AS_OF, policy)
        pledge_risk(c, firms, policy)
    assert (c["sigma"] == 0.0).all() and c["volatility_ok"].all()
    assert c["liquidation_price"].tolist() == pytest.approx([8.0, 10.0, 12.0], rel=1e-12)
    assert c["hit_prob"].tolist() == [0.0, 1.0, 1.0]
    assert c["state"].tolist() == ["normal", "warning", "liquidation"]  # at the line: not below it


# --------------------------------------------------------------------------- 5 edge cases


def test_missing_price_released_and_unscreened_company():
    firms = make_firms(2, n_other=1)
    prices = price_rows(firms["stock_code"][0], np.full(100, 20.0))  # stock 1 has no prices
    pledges = make_pledges(
        [{"company": 1, "loan": 1e6, "holding": 2e6, "controlling": True},  # no price
         {"company": 0, "loan": 1e7, "status": "released"},  # would be in liquidation
         {"company": -1, "loan": 1e6, "pledger_id": firms["firm_id"][2], "controlling": True},
         {"company": 0, "loan": 1e6, "start": "2019-06-30"}],  # starts after the as-of date
        firms,
    )
    c = pledge_contracts(pledges, prices, firms, AS_OF, POLICY)
    assert_clean(c)
    no_price, released, unscreened, later = (c.iloc[i] for i in range(4))
    assert np.isnan(no_price["price"]) and pd.isna(no_price["state"]) and np.isnan(no_price["coverage"])
    assert np.isnan(no_price["hit_prob"]) and no_price["n_returns"] == 0 and not no_price["volatility_ok"]
    assert no_price["liquidation_price"] == pytest.approx(1.4, rel=1e-12)  # known without a price
    assert released["state"] == "released" and np.isnan(released["hit_prob"]) and released["price"] == 20.0
    assert pd.isna(unscreened["stock_code"]) and pd.isna(unscreened["state"])
    assert later["state"] == "not_started"
    assert c["pledge_id"].tolist() == pledges["pledge_id"].tolist()  # input order

    out = pledge_risk(c, firms, POLICY)
    cols = out.columns
    assert_clean(cols)
    assert cols["pledge_risk"].tolist() == ["none", "low", "low"]
    assert cols["pledge_ratio"].tolist()[:2] == [0.0, 0.01]  # released / not started: not pledged
    assert np.isnan(cols["pledge_ratio"][2])
    assert np.isnan(cols["pledge_hit_prob"][1]) and np.isnan(cols["pledge_warning_share"][1])
    assert cols["pledge_controlling_share"][1] == pytest.approx(0.5)
    assert not out.fired.to_numpy()[[0, 2]].any()
    assert out.fired.loc[1].tolist() == [False] * 6 + [True, False, False]  # P7 only

    empty = pledge_contracts(pledges.iloc[:0], prices.iloc[:0], firms, AS_OF, POLICY)
    assert len(empty) == 0 and list(empty.columns) == list(c.columns)
    nothing = pledge_risk(empty, firms, POLICY)
    assert (nothing.columns["pledge_risk"] == "none").all() and not nothing.fired.to_numpy().any()


# --------------------------------------------------------------------------- 6 interest


def test_interest_accrues_with_years_elapsed():
    firms = make_firms(1)
    prices = price_rows(firms["stock_code"][0], np.full(100, 20.0))
    starts = ["2018-03-31", "2017-09-30", "2017-09-30", "2019-03-31"]
    rates = [0.06, 0.08, np.nan, 0.07]
    pledges = make_pledges([{"loan": 1e6, "start": s, "rate": r} for s, r in zip(starts, rates)], firms)
    c = pledge_contracts(pledges, prices, firms, AS_OF, POLICY)
    days = np.array([(AS_OF - pd.Timestamp(s)).days for s in starts])
    years = days / CFG.days_per_year
    assert c["years_elapsed"].to_numpy() == pytest.approx(years, rel=1e-12)
    expected = 1e6 * (1 + np.nan_to_num(np.array(rates)) * years)
    assert c["amount_owed"].to_numpy() == pytest.approx(expected, rel=1e-12)
    assert c["amount_owed"][0] == pytest.approx(1.06e6, rel=1e-12)  # exactly one year
    assert c["coverage"].to_numpy() == pytest.approx(1e6 * 20.0 / expected, rel=1e-12)
    later = pledge_contracts(pledges, prices, firms, "2019-09-30", POLICY)
    assert (later["amount_owed"][[0, 1, 3]] > c["amount_owed"][[0, 1, 3]]).all()
    assert later["amount_owed"][2] == c["amount_owed"][2] == 1e6


# --------------------------------------------------------------------------- 7 levels


def test_pledge_risk_levels_and_pledger_attribution():
    sigmas = {"A": 0.05, "B": 0.5, "C": 0.05, "D": 0.38, "E": 0.05, "F": 0.05, "G": 0.05}
    names = list(sigmas) + ["H", "I", "J", "K", "L", "M"]  # H listed without pledges; I-M unlisted
    firms = make_firms(8, n_other=5)
    row = dict(zip(names, range(len(names))))
    fid = dict(zip(names, firms["firm_id"]))
    prices = pd.concat([price_rows(firms["stock_code"][row[k]], alternating_closes(s)) for k, s in sigmas.items()])
    pledges = make_pledges(
        [
            # A: two contracts in liquidation (one by controlling firm J, one by non-controlling M), one sound.
            {"company": row["A"], "loan": loan_for(1.2), "pledger_id": fid["J"], "controlling": True, "holding": 5e6},
            {"company": row["A"], "loan": loan_for(1.3), "pledger_id": fid["M"]},
            {"company": row["A"], "loan": loan_for(3.0)},
            # B: normal state (warning line 1.45) but P ≥ 0.5.
            {"company": row["B"], "loan": loan_for(1.5), "warning": 1.45},
            # C: warning state, P small; pledger K controlling.
            {"company": row["C"], "loan": loan_for(1.55), "pledger_id": fid["K"], "controlling": True, "holding": 5e6},
            # D: normal, 0.2 ≤ P < 0.5.
            {"company": row["D"], "loan": loan_for(1.7)},
            # E: 60 % of the shares pledged.
            {"company": row["E"], "loan": loan_for(3.0, shares=6e7), "shares": 6e7},
            # F: the controlling holder pledged 9 of its 10 million shares in two contracts.
            {"company": row["F"], "loan": loan_for(3.0, shares=5e6), "shares": 5e6, "pledger_id": "PX",
             "controlling": True, "holding": 1e7},
            {"company": row["F"], "loan": loan_for(3.0, shares=4e6), "shares": 4e6, "pledger_id": "PX",
             "controlling": True, "holding": 1e7},
            # G: just pledged; pledger L controlling.
            {"company": row["G"], "loan": loan_for(3.0), "pledger_id": fid["L"], "controlling": True, "holding": 5e6},
        ],
        firms,
    )
    c = pledge_contracts(pledges, prices, firms, AS_OF, POLICY)
    p = {k: first_passage(20.0, 20.0 * 1.4 / cov, sigmas[k], T) for k, cov in [("B", 1.5), ("D", 1.7), ("G", 3.0)]}
    assert p["B"] >= 0.5 and 0.2 <= p["D"] < 0.5 and p["G"] < 0.2  # the cases are what they claim
    assert c["hit_prob"][[3, 5, 9]].to_numpy() == pytest.approx([p["B"], p["D"], p["G"]], abs=1e-9)

    out = pledge_risk(c, firms, POLICY)
    cols, fired = out.columns, out.fired
    assert list(fired.columns) == [f"P{i}" for i in range(1, 10)]
    assert fired.dtypes.eq(bool).all() and fired.index.equals(firms.index)
    assert_clean(cols)
    expected = {"A": "high", "B": "high", "C": "medium", "D": "medium", "E": "medium", "F": "medium",
                "G": "low", "H": "none", "I": "none", "J": "high", "K": "medium", "L": "low", "M": "none"}
    assert dict(zip(names, cols["pledge_risk"])) == expected
    codes = {k: [code for code in fired.columns if fired.loc[row[k], code]] for k in names}
    assert codes == {"A": ["P1", "P2"], "B": ["P2"], "C": ["P3"], "D": ["P4"], "E": ["P5"], "F": ["P6"],
                     "G": ["P7"], "H": [], "I": [], "J": ["P8"], "K": ["P9"], "L": [], "M": []}

    a = cols.iloc[row["A"]]
    assert (a["pledge_liquidation_count"], a["pledge_warning_count"]) == (2.0, 0.0)
    assert a["pledge_liquidation_share"] == pytest.approx(2 / 3)
    assert a["pledge_min_coverage"] == pytest.approx(1.2)
    assert a["pledge_worst_distance"] == pytest.approx(1 - 1.4 / 1.2)
    assert a["pledge_hit_prob"] == 1.0 and a["pledge_ratio"] == pytest.approx(3e6 / 1e8)
    assert a["pledge_controlling_share"] == pytest.approx(1e6 / 5e6)
    assert cols["pledge_warning_share"][row["C"]] == 1.0
    assert cols["pledge_ratio"][row["E"]] == pytest.approx(0.6)
    assert cols["pledge_controlling_share"][row["F"]] == pytest.approx(0.9)
    assert cols["pledge_ratio"][row["H"]] == 0.0 and np.isnan(cols["pledge_ratio"][row["I"]])
    assert (cols["pledge_horizon_days"] == CFG.horizon_days).all()

    # Thresholds come from the policy.
    strict = POLICY.update({"pledges": {"high_hit_probability": 0.95, "max_pledge_ratio": 0.7}})
    relaxed = pledge_risk(pledge_contracts(pledges, prices, firms, AS_OF, strict), firms, strict).columns
    assert relaxed["pledge_risk"][row["B"]] == "medium" and relaxed["pledge_risk"][row["E"]] == "low"


# --------------------------------------------------------------------------- 8 synthetic


def test_synthetic_province_planted_liquidation():
    ds = zjfin.datasets.synthetic_province(2000, seed=5)
    clean = zjfin.validate(ds, as_of="2019-03-31").dataset
    frame = firm_frame(clean["firms"], clean["financials"], "2019-03-31")
    c = pledge_contracts(clean["pledges"], clean["prices"], clean["firms"], "2019-03-31", POLICY)
    out = pledge_risk(c, frame, POLICY)
    assert_clean(c)
    assert_clean(out.columns)
    hit = c["hit_prob"].dropna()
    assert len(hit) > 0 and hit.between(0.0, 1.0).all()
    planted = ds.planted.loc[ds.planted["case"] == "pledge_liquidation"].iloc[0]
    i = int(np.flatnonzero((frame["firm_id"] == planted["firm_id"]).to_numpy())[0])
    assert out.columns["pledge_risk"][i] == planted["expected"] == "high"
    assert out.fired["P1"][i]
    # A partition of the frame gives the same rows (the engine is a per-firm function).
    part = frame.iloc[500:1500]
    sub = pledge_risk(c, part, POLICY)
    pd.testing.assert_frame_equal(sub.columns, out.columns.iloc[500:1500])
    pd.testing.assert_frame_equal(sub.fired, out.fired.iloc[500:1500])


# --------------------------------------------------------------------------- 9 properties


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    shares=st.floats(1e2, 1e9),
    pledge_rate=st.floats(0.05, 0.9),
    rate=st.one_of(st.just(np.nan), st.floats(0.0, 0.15)),
    days=st.integers(0, 1500),
    liquidation=st.floats(1.0, 2.0),
    gap=st.floats(0.01, 1.0),
    sigma=st.floats(0.02, 1.5),
    noise_seed=st.integers(0, 2**16),
    scales=st.lists(st.floats(0.2, 5.0), min_size=2, max_size=6, unique=True),
    mu=st.floats(-0.5, 0.5),
)
def test_contract_properties(shares, pledge_rate, rate, days, liquidation, gap, sigma, noise_seed, scales, mu):
    # One price history, scaled by each factor: identical log returns (so σ is held
    # fixed) and prices in the ratio of the factors. Same contract on every stock.
    scales = sorted(scales)
    firms = make_firms(len(scales))
    rng = np.random.default_rng(noise_seed)
    base = alternating_closes(sigma, last=10.0) * np.exp(rng.normal(0, 0.002, 251))
    prices = pd.concat([price_rows(firms["stock_code"][i], base * k) for i, k in enumerate(scales)])
    start = (AS_OF - pd.Timedelta(days=days)).strftime("%Y-%m-%d")
    loan = pledge_rate * base[-1] * shares
    pledges = make_pledges(
        [{"company": i, "shares": shares, "loan": loan, "rate": rate, "start": start,
          "liquidation": liquidation, "warning": liquidation + gap} for i in range(len(scales))],
        firms,
    )
    policy = POLICY.update({"pledges": {"drift": mu}})
    c = pledge_contracts(pledges, prices, firms, AS_OF, policy)
    assert_clean(c)
    owed, price = c["amount_owed"].to_numpy(), c["price"].to_numpy()
    assert (c["coverage"] * owed).to_numpy() == pytest.approx(shares * price, rel=1e-9)
    assert (c["liquidation_price"] < c["warning_price"]).all()
    assert np.ptp(c["sigma"].to_numpy()) <= 1e-9 * c["sigma"].iloc[0]
    hit = c["hit_prob"].to_numpy()
    assert ((hit >= 0) & (hit <= 1)).all()
    assert (np.diff(hit) <= 1e-9).all()  # higher price (sorted scales), lower P


# --------------------------------------------------------------------------- real data: partial inputs and disclosures


def test_without_prices_the_ratio_and_controlling_rule_still_hold():
    firms = make_firms(1)
    pledges = make_pledges([{"shares": 6e7, "loan": 1e8, "controlling": True, "holding": 7e7}], firms)
    contracts = pledge_contracts(pledges, None, firms, AS_OF, POLICY)
    assert contracts["price_gap"].tolist() == ["no prices table"]
    assert contracts[["price", "coverage", "distance", "hit_prob"]].isna().all(axis=None)
    assert contracts["state"].isna().all() and contracts["amount_owed"].tolist() == [1e8]
    out = pledge_risk(contracts, firms, POLICY)
    assert out.columns["pledge_ratio"].tolist() == [0.6]  # 6e7 / 1e8, no price needed
    assert out.columns["pledge_controlling_share"].round(6).tolist() == [round(6e7 / 7e7, 6)]
    assert out.columns["pledge_risk"].tolist() == ["medium"] and out.fired.loc[0, "P5"] and out.fired.loc[0, "P6"]
    assert out.columns["pledge_price_gap"].tolist() == ["no prices table"]


def test_price_gap_names_the_missing_stock_code_and_close():
    firms = make_firms(2, 1)
    prices = price_rows(firms["stock_code"][0], np.full(80, 20.0))  # the second stock has no closes
    pledges = make_pledges([{"company": 0, "loan": 1e6}, {"company": 1, "loan": 1e6}, {"company": 2, "loan": 1e6}], firms)
    contracts = pledge_contracts(pledges, prices, firms, AS_OF, POLICY)
    expected = [None, "no close on or before the as-of date", "no stock code for the company"]
    assert contracts["price_gap"].astype(object).where(contracts["price_gap"].notna(), None).tolist() == expected
    gap = pledge_risk(contracts, firms, POLICY).columns["pledge_price_gap"]
    assert gap.astype(object).where(gap.notna(), None).tolist() == expected


def test_liquidation_line_given_as_a_price_implies_the_amount_owed():
    # A disclosure: 1e6 shares, liquidation line 15 yuan, warning line 17 yuan, no loan amount.
    firms = make_firms(1)
    prices = price_rows(firms["stock_code"][0], np.full(100, 16.0))
    pledges = make_pledges([{"shares": 1e6, "loan": np.nan, "rate": 0.06, "start": "2018-03-31"}], firms)
    pledges["liquidation_price"], pledges["warning_price"] = [15.0], [17.0]
    c = pledge_contracts(pledges, prices, firms, AS_OF, POLICY).iloc[0]
    owed = 15.0 * 1e6 / CFG.default_liquidation_ratio  # line × shares ÷ ratio; no interest on an implied amount
    assert c["amount_owed"] == pytest.approx(owed) and c["amount_source"] == "liquidation_price"
    assert c["coverage"] == pytest.approx(1e6 * 16.0 / owed)  # = 16 / 15 × 1.4
    assert (c["liquidation_price"], c["warning_price"]) == (15.0, 17.0)
    assert c["distance"] == pytest.approx(1 - 15.0 / 16.0)
    assert c["state"] == "warning"  # 15 < 16 < 17
    prices["close"] = 14.5
    assert pledge_contracts(pledges, prices, firms, AS_OF, POLICY).iloc[0]["state"] == "liquidation"


def test_volatility_of_weekly_closes_is_annualised_by_weeks():
    firms = make_firms(1)
    rng = np.random.default_rng(3)
    closes = 20.0 * np.exp(np.cumsum(rng.normal(0, 0.05, 100)))
    dates = pd.date_range(end=LAST_SESSION, periods=100, freq="7D")
    prices = pd.DataFrame({"stock_code": firms["stock_code"][0], "date": dates, "close": closes})
    pledges = make_pledges([{"loan": 1e6}], firms)
    c = pledge_contracts(pledges, prices, firms, AS_OF, POLICY).iloc[0]
    expected = pd.Series(np.log(closes)).diff().dropna().std(ddof=1) * math.sqrt(365.25 / 7)
    assert c["n_returns"] == 99 and c["sigma"] == pytest.approx(expected, rel=1e-12)
    # Daily closes keep the policy's trading days (a weekday series has 261 a year, capped at 252).
    daily = price_rows(firms["stock_code"][0], closes)
    d = pledge_contracts(pledges, daily, firms, AS_OF, POLICY).iloc[0]
    assert d["sigma"] == pytest.approx(pd.Series(np.log(closes)).diff().std(ddof=1) * math.sqrt(CFG.trading_days_per_year))


def test_stale_close_flags_the_contract():
    firms = make_firms(1)
    prices = price_rows(firms["stock_code"][0], np.full(100, 20.0), end=pd.Timestamp("2019-03-01"))
    pledges = make_pledges([{"loan": 1e6}], firms)
    c = pledge_contracts(pledges, prices, firms, AS_OF, POLICY).iloc[0]
    assert c["price_stale"] and c["price"] == 20.0  # priced on it, and flagged (30 days > 10)
    fresh = price_rows(firms["stock_code"][0], np.full(100, 20.0))
    assert not pledge_contracts(pledges, fresh, firms, AS_OF, POLICY).iloc[0]["price_stale"]


def test_release_date_and_share_of_holding():
    firms = make_firms(1)
    pledges = make_pledges([{"shares": 3e7, "loan": 1e8, "controlling": True}, {"shares": 1e7, "loan": 1e8}], firms)
    pledges["pledged_share_of_holding"] = [0.5, np.nan]  # 占所持股比例 50 %: the holding is 6e7
    pledges["release_date"] = pd.to_datetime([None, "2019-02-01"])
    contracts = pledge_contracts(pledges, None, firms, AS_OF, POLICY)
    assert contracts["state"].tolist()[1] == "released"
    assert contracts["pledger_holding_shares"].tolist()[0] == 6e7
    out = pledge_risk(contracts, firms, POLICY).columns
    assert out["pledge_ratio"].tolist() == [0.3] and out["pledge_controlling_share"].tolist() == [0.5]
