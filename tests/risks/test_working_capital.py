"""Working-capital loan need (SPEC §3.8, 银监会 2010 reference method).

Every expected figure is worked out here with plain arithmetic on the firm's own numbers.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import zjfin
from zjfin._policy import Policy
from zjfin.risks.working_capital import working_capital

POLICY = Policy.default()
NAN = float("nan")
BALANCES = ["inventory", "accounts_receivable", "accounts_payable", "prepayments", "advances_from_customers"]
MONEY = (["revenue", "revenue_prev", "cost_of_sales", "operating_profit", "cash", "restricted_cash",
          "short_term_debt", "financing_demand"] + BALANCES + [b + "_prev" for b in BALANCES])
COLUMNS = ["working_capital_amount", "turnover_days", "working_capital_turnover", "expected_growth",
           "working_capital_need", "suggested_credit_line", "working_capital_estimated"]


def firm(**values):
    """A firm with a 360-day cycle carried by inventory alone, unless overridden."""
    row = {"revenue": 1000.0, "revenue_prev": 1000.0, "operating_profit": 200.0, "cost_of_sales": 800.0,
           "inventory": 800.0, "inventory_prev": 800.0, "accounts_receivable": 0.0, "accounts_receivable_prev": 0.0,
           "accounts_payable": 0.0, "accounts_payable_prev": 0.0, "prepayments": 0.0, "prepayments_prev": 0.0,
           "advances_from_customers": 0.0, "advances_from_customers_prev": 0.0, "cash": 300.0,
           "restricted_cash": 0.0, "short_term_debt": 280.0, "financing_demand": NAN}
    row.update(values)
    return row


def run(rows, policy=POLICY):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return working_capital(pd.DataFrame(rows), policy)


def test_exam_case_800_less_own_funds_and_loans():
    # Exam: 营运资金量 800 − own funds 300 − short-term loans 200 − other sources 80 = 220.
    # zjfin has no "other sources" term, so the 280 of loans and other sources sit in
    # short_term_debt. Revenue 1,000, margin 20 %, growth 0, inventory days
    # 360 · 800 / 800 = 360 → turnover 1 → 1000 · 0.8 · 1 / 1 = 800.
    out = run([firm()])
    row = out.columns.iloc[0]
    assert row["turnover_days"] == 360.0
    assert row["working_capital_turnover"] == 1.0
    assert row["expected_growth"] == 0.0
    assert row["working_capital_amount"] == pytest.approx(800.0, rel=1e-12)
    assert row["working_capital_need"] == pytest.approx(800 - 300 - 280, rel=1e-12)
    assert row["suggested_credit_line"] == pytest.approx(220.0, rel=1e-12)  # < 30 % · 1000 = 300
    assert list(out.columns.columns) == COLUMNS and out.fired.empty  # W1 is fired by the lists


def test_all_five_day_figures_by_hand():
    f = firm(revenue=12000.0, revenue_prev=10000.0, cost_of_sales=9000.0, operating_profit=1200.0,
             inventory=2500.0, inventory_prev=2000.0,
             accounts_receivable=2500.0, accounts_receivable_prev=1500.0,
             accounts_payable=1250.0, accounts_payable_prev=1000.0,
             prepayments=450.0, prepayments_prev=300.0,
             advances_from_customers=400.0, advances_from_customers_prev=600.0,
             cash=1000.0, restricted_cash=200.0, short_term_debt=1500.0, financing_demand=2000.0)
    inventory_days = 360 / (9000 / ((2500 + 2000) / 2))     # 90
    receivable_days = 360 / (12000 / ((2500 + 1500) / 2))   # 60
    payable_days = 360 / (9000 / ((1250 + 1000) / 2))       # 45
    prepayment_days = 360 / (9000 / ((450 + 300) / 2))      # 15
    advance_days = 360 / (12000 / ((400 + 600) / 2))        # 15
    days = inventory_days + receivable_days - payable_days + prepayment_days - advance_days  # 105
    turnover = 360 / days
    growth = 12000 / 10000 - 1                               # 0.2, inside [0, 0.3]
    amount = 12000 * (1 - 1200 / 12000) * (1 + growth) / turnover  # 3,780
    need = amount - (1000 - 200) - 1500                      # 1,480
    assert (days, amount, need) == pytest.approx((105, 3780, 1480), rel=1e-12)
    row = run([f]).columns.iloc[0]
    assert row["turnover_days"] == pytest.approx(days, rel=1e-12)
    assert row["working_capital_turnover"] == pytest.approx(turnover, rel=1e-12)
    assert row["expected_growth"] == pytest.approx(growth, rel=1e-12)
    assert row["working_capital_amount"] == pytest.approx(amount, rel=1e-12)
    assert row["working_capital_need"] == pytest.approx(need, rel=1e-12)
    assert row["suggested_credit_line"] == pytest.approx(min(need, 2000, 0.3 * 12000), rel=1e-12)


def test_missing_prior_balance_uses_the_current_one():
    # Inventory prior missing: the average is the current 1,000 → days 360 · 1000 / 800 = 450.
    row = run([firm(inventory=1000.0, inventory_prev=NAN)]).columns.iloc[0]
    assert row["turnover_days"] == pytest.approx(450.0, rel=1e-12)
    assert row["working_capital_amount"] == pytest.approx(800 * 450 / 360, rel=1e-12)
    # A balance missing in both years counts as nil.
    row = run([firm(prepayments=NAN, prepayments_prev=NAN)]).columns.iloc[0]
    assert row["turnover_days"] == pytest.approx(360.0, rel=1e-12)


def test_growth_is_clipped_both_ends():
    rows = [firm(revenue_prev=1000 / 1.5),   # +50 % → 30 %
            firm(revenue_prev=1000 / 0.8),   # −20 % → 0
            firm(revenue_prev=1000 / 1.1),   # +10 % kept
            firm(revenue_prev=NAN),          # unknown → min_growth
            firm(revenue_prev=0.0)]          # from nothing → min_growth
    cols = run(rows).columns
    assert cols["expected_growth"].tolist() == pytest.approx([0.3, 0.0, 0.1, 0.0, 0.0], rel=1e-12, abs=1e-15)
    assert cols["working_capital_amount"].tolist() == pytest.approx(
        [800 * 1.3, 800.0, 800 * 1.1, 800.0, 800.0], rel=1e-12)
    policy = POLICY.update({"working_capital": {"min_growth": 0.05, "max_growth": 0.2}})
    cols = run(rows, policy).columns
    assert cols["expected_growth"].tolist() == pytest.approx([0.2, 0.05, 0.1, 0.05, 0.05], rel=1e-12)


def test_credit_line_is_the_least_of_the_three():
    rows = [
        firm(financing_demand=1000.0),                   # need 220 binds
        firm(financing_demand=100.0),                    # demand 100 binds
        firm(short_term_debt=0.0, cash=0.0),             # need 800, 30 % of revenue = 300 binds
        firm(short_term_debt=0.0, cash=0.0, financing_demand=250.0),
        firm(cash=2000.0, financing_demand=100.0),       # no need: line 0
    ]
    out = run(rows)
    assert out.columns["working_capital_need"].tolist() == pytest.approx([220, 220, 800, 800, 0], rel=1e-12)
    assert out.columns["suggested_credit_line"].tolist() == pytest.approx([220, 100, 300, 250, 0], rel=1e-12)
    assert (out.columns["working_capital_need"] > 0).tolist() == [True, True, True, True, False]
    policy = POLICY.update({"working_capital": {"credit_line_revenue_share": 0.5}})
    assert run(rows[2:3], policy).columns["suggested_credit_line"].tolist() == pytest.approx([500])


def test_restricted_cash_and_missing_debt():
    rows = [firm(cash=300.0, restricted_cash=100.0),     # own funds 200 → 800 − 200 − 280
            firm(restricted_cash=NAN, short_term_debt=NAN),  # 800 − 300 − 0
            firm(cash=100.0, restricted_cash=150.0)]     # own funds not below 0: 800 − 0 − 280
    assert run(rows).columns["working_capital_need"].tolist() == pytest.approx([320, 500, 520], rel=1e-12)


def test_advances_and_payables_reduce_the_cycle():
    # Payables 200 on cost 800 → 90 days; advances 100 on revenue 1000 → 36 days.
    row = run([firm(accounts_payable=200.0, accounts_payable_prev=200.0, advances_from_customers=100.0,
                    advances_from_customers_prev=100.0)]).columns.iloc[0]
    assert row["turnover_days"] == pytest.approx(360 - 90 - 36, rel=1e-12)


def test_undefined_cases_are_nan_without_warnings():
    rows = [
        firm(revenue=0.0),
        firm(revenue=-100.0),
        firm(revenue=NAN),
        firm(cost_of_sales=NAN),
        firm(cost_of_sales=0.0),
        firm(accounts_payable=5000.0, accounts_payable_prev=5000.0),  # day sum < 0
        firm(inventory=0.0, inventory_prev=0.0),                      # day sum = 0
        firm(operating_profit=NAN),
        firm(cash=NAN),
        firm(),                                                       # defined, for contrast
    ]
    out = run(rows)  # warnings are errors inside run()
    cols = out.columns
    assert cols["working_capital_need"].isna().tolist() == [True] * 9 + [False]
    assert cols["suggested_credit_line"].isna().tolist() == [True] * 9 + [False]
    assert cols["working_capital_amount"].isna().tolist() == [True] * 8 + [False, False]  # cash nets later
    assert cols["working_capital_turnover"].isna().tolist()[5:7] == [True, True]
    assert cols["turnover_days"].tolist()[6] == 0.0 and cols["turnover_days"].tolist()[5] < 0
    assert not np.isinf(cols.to_numpy(dtype=float)).any()
    assert (out.columns["working_capital_need"] > 0).tolist() == [False] * 9 + [True]
    # Operating profit above revenue: a negative 营运资金量, need 0 (not negative).
    row = run([firm(operating_profit=1500.0)]).columns.iloc[0]
    assert row["working_capital_amount"] < 0 and row["working_capital_need"] == 0.0


def test_keeps_the_frame_index():
    frame = pd.DataFrame([firm(), firm(revenue=0.0)], index=[7, 3])
    out = working_capital(frame, POLICY)
    assert out.columns.index.equals(frame.index) and out.fired.index.equals(frame.index)


# ------------------------------------------------------------------ properties
# Money in yuan with cents, up to 100 bn (validation bounds real inputs similarly).
money = st.integers(min_value=0, max_value=10**13).map(lambda cents: cents / 100)
maybe = st.one_of(st.just(NAN), money, money)


@st.composite
def firms(draw):
    n = draw(st.integers(1, 20))
    rows = []
    for _ in range(n):
        row = {c: draw(maybe) for c in MONEY}
        row["revenue"] = draw(st.one_of(st.just(0.0), money))
        row["operating_profit"] = draw(st.one_of(st.just(NAN), st.integers(-10**11, 10**11).map(lambda cents: cents / 100)))
        rows.append(row)
    return rows


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(firms())
def test_money_unit_scales_need_and_line(rows):
    base = run(rows)
    frame = pd.DataFrame(rows)
    frame[MONEY] = frame[MONEY] * 1e4
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scaled = working_capital(frame, POLICY)
    b, s = base.columns, scaled.columns
    for column in COLUMNS:
        assert not np.isinf(b[column]).any()
        assert (b[column].isna() == s[column].isna()).all(), column
    # Unit-free figures stay; money figures scale by exactly 10^4. The turnover days and the
    # need are differences, so their rounding error is relative to the terms subtracted,
    # not to the result (receivables and advances of 10^11 on a revenue of 0.01 cancel).
    f = pd.DataFrame(rows)
    flows = {"inventory": "cost_of_sales", "accounts_receivable": "revenue", "accounts_payable": "cost_of_sales",
             "prepayments": "cost_of_sales", "advances_from_customers": "revenue"}
    day_terms = sum(np.where(f[flow] > 0, 360 * (f[item].abs().fillna(0) + f[item + "_prev"].abs().fillna(0))
                             / f[flow].where(f[flow] > 0, 1.0), 0.0) for item, flow in flows.items())
    days_b, days_s = b["turnover_days"].to_numpy(), s["turnover_days"].to_numpy()
    known = ~np.isnan(days_b)
    np.testing.assert_array_less(np.abs(days_s - days_b)[known], 1e-9 * (np.abs(days_b) + day_terms)[known] + 1e-9)
    clear_days = known & (day_terms <= 1e3 * np.abs(days_b))  # no cancellation: equal at rtol 1e-9
    np.testing.assert_allclose(days_s[clear_days], days_b[clear_days], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(s["expected_growth"], b["expected_growth"], rtol=1e-9, atol=1e-12)
    amount_b, amount_s = b["working_capital_amount"].to_numpy(), s["working_capital_amount"].to_numpy()
    known = ~np.isnan(amount_b)
    with np.errstate(divide="ignore", invalid="ignore"):
        spread = 1 + day_terms / np.abs(days_b)  # how much the day sum's rounding is magnified
    np.testing.assert_array_less(np.abs(amount_s - 1e4 * amount_b)[known],
                                 (1e-9 * 1e4 * np.abs(amount_b) * spread)[known] + 1e-300)
    np.testing.assert_allclose(amount_s[clear_days & known], 1e4 * amount_b[clear_days & known], rtol=1e-9)
    terms = (b["working_capital_amount"].abs() + f["cash"].abs() + f["restricted_cash"].fillna(0).abs()
             + f["short_term_debt"].fillna(0).abs()).to_numpy()
    for column in ("working_capital_need", "suggested_credit_line"):
        bv, sv = b[column].to_numpy(), s[column].to_numpy()
        ok = ~np.isnan(bv)
        np.testing.assert_array_less(np.abs(sv[ok] - 1e4 * bv[ok]), 1e-9 * 1e4 * (np.abs(bv[ok]) + terms[ok]) + 1e-300)
        clear = ok & (bv > 1e-3 * terms)  # no cancellation: exactly ×10^4 at rtol 1e-9
        np.testing.assert_allclose(sv[clear], 1e4 * bv[clear], rtol=1e-9)
    need, line = b["working_capital_need"], b["suggested_credit_line"]
    assert (need.dropna() >= 0).all() and (line.dropna() >= 0).all()
    assert (line.dropna() <= need.dropna() * (1 + 1e-12)).all()


# ------------------------------------------------------------------ synthetic province
@pytest.fixture(scope="module")
def province():
    ds = zjfin.datasets.synthetic_province(2000, seed=5)
    clean = zjfin.validate(ds, as_of="2019-03-31").dataset
    frame = zjfin._features.firm_frame(clean["firms"], clean["financials"], "2019-03-31")
    return ds, frame, working_capital(frame, POLICY)


def test_planted_healthy_sme(province):
    ds, frame, out = province
    planted = ds.planted[ds.planted["case"] == "healthy_sme_need"]
    firm_id = planted["firm_id"].iloc[0]
    at = np.flatnonzero((frame["firm_id"] == firm_id).to_numpy())
    assert len(at) == 1
    row = out.columns.iloc[at[0]]
    demand = frame["financing_demand"].iloc[at[0]]
    assert demand == 5.0e6
    assert row["working_capital_need"] >= 0
    assert row["suggested_credit_line"] <= demand
    assert row["suggested_credit_line"] <= 0.3 * frame["revenue"].iloc[at[0]] + 1e-6


def test_synthetic_province_is_finite_and_mostly_defined(province):
    ds, frame, out = province
    cols = out.columns
    assert not np.isinf(cols.to_numpy(dtype=float)).any()
    assert cols["working_capital_need"].notna().mean() > 0.5
    assert 0.05 < (out.columns["working_capital_need"] > 0).mean() < 0.95
    both = cols[["suggested_credit_line", "working_capital_need"]].dropna()
    assert (both["suggested_credit_line"] <= both["working_capital_need"]).all()


def test_no_balances_take_the_divisions_median_turnover_days():
    """Five C17 firms report inventory only (turnover days 36, 72, 108, 144, 180 on cost of
    sales 1,000), one C17 firm and one F51 firm report no balance at all: the C17 one takes
    its division's median, 108 days; the wholesaler's division has no peer that reports, so
    it takes the province's median, also 108 days. Computed by hand."""
    rows = [dict(industry_code="C1711", revenue=1250.0, cost_of_sales=1000.0, operating_profit=100.0, cash=0.0,
                 inventory=100.0 * k) for k in range(1, 6)]
    rows += [dict(industry_code="C1799", revenue=1250.0, cost_of_sales=1000.0, operating_profit=100.0, cash=0.0),
             dict(industry_code="F5123", revenue=1250.0, cost_of_sales=1000.0, operating_profit=100.0, cash=0.0)]
    out = working_capital(pd.DataFrame(rows), POLICY).columns
    assert out["turnover_days"].tolist() == pytest.approx([36.0, 72.0, 108.0, 144.0, 180.0, 108.0, 108.0])
    assert out["working_capital_estimated"].tolist() == [False] * 5 + [True, True]
    # 营运资金量 = (1250 − 100) · 108 / 360 = 345, no own funds or loans: the need is 345.
    assert out["working_capital_need"].iloc[5] == pytest.approx(345.0)
    # With fewer reporting peers than the policy asks for, nothing is estimated.
    few = working_capital(pd.DataFrame(rows[3:]), POLICY).columns
    assert few["turnover_days"].iloc[-2:].isna().all() and not few["working_capital_estimated"].any()
