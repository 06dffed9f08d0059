"""Z'', zombie and viability on statements worked by hand."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zjfin._policy import Policy
from zjfin.risks.distress import distress

POLICY = Policy.default()


def statement(**over):
    base = dict(total_assets=1000.0, total_liabilities=400.0, equity=600.0, current_assets=500.0, current_liabilities=300.0,
                retained_earnings=150.0, ebit=80.0, operating_profit=70.0, interest_expense=10.0, revenue=2000.0,
                cost_of_sales=1500.0, depreciation_amortization=20.0, net_profit=50.0, government_subsidies=5.0,
                revenue_prev=1900.0, total_liabilities_prev=380.0, net_profit_prev=40.0, government_subsidies_prev=0.0,
                net_profit_prev2=30.0, government_subsidies_prev2=0.0)
    base.update(over)
    return base


def run(*rows):
    return distress(pd.DataFrame(list(rows)), POLICY)


def test_z2_by_hand():
    out = run(statement()).columns.iloc[0]
    # X1 = 200/1000, X2 = 150/1000, X3 = 80/1000, X4 = 600/400
    expected = 6.56 * 0.2 + 3.26 * 0.15 + 6.72 * 0.08 + 1.05 * 1.5
    assert out["z2_score"] == pytest.approx(expected, abs=1e-12)  # 3.9393
    assert out["z2_zone"] == "safe"


def test_z2_ebit_fallback_and_no_constant():
    out = run(statement(ebit=np.nan, operating_profit=50.0, interest_expense=30.0, equity=np.nan)).columns.iloc[0]
    # EBIT = 50 + 30; equity = 1000 - 400
    assert out["z2_x3"] == pytest.approx(0.08) and out["z2_x4"] == pytest.approx(1.5)
    # A firm with Z'' 2.0 is grey, not "safe" as it would be with +3.25 added.
    grey = run(statement(current_assets=300.0, retained_earnings=0.0, ebit=0.0, equity=400.0, total_liabilities=600.0)).columns.iloc[0]
    assert grey["z2_score"] == pytest.approx(6.56 * 0.0 + 1.05 * (400 / 600)) and grey["z2_zone"] == "distress"


@pytest.mark.parametrize("score,zone", [(1.0999, "distress"), (1.10, "grey"), (2.60, "grey"), (2.6001, "safe")])
def test_zone_boundaries(score, zone):
    # Only X4 non-zero: z2 = 1.05·equity/liabilities.
    row = statement(current_assets=300.0, current_liabilities=300.0, retained_earnings=0.0, ebit=0.0, total_liabilities=1000.0,
                    equity=score / 1.05 * 1000.0, total_assets=1000.0)
    assert run(row).columns["z2_zone"].iat[0] == zone


def zombie_row(**over):
    # Real profits -10, -20, -5 (net profit minus subsidies); debt ratio 0.6; liabilities up.
    values = dict(net_profit=0.0, government_subsidies=10.0, net_profit_prev=-20.0, government_subsidies_prev=0.0,
                  net_profit_prev2=-5.0, government_subsidies_prev2=0.0, total_liabilities=600.0, equity=400.0,
                  total_liabilities_prev=550.0)
    values.update(over)
    return statement(**values)


def test_zombie_and_each_condition():
    assert bool(run(zombie_row()).columns["zombie"].iat[0]) is True
    not_zombies = [
        zombie_row(government_subsidies=0.0),          # real profit 0 this year: not a loss
        zombie_row(net_profit_prev=1.0),               # profit last year
        zombie_row(net_profit_prev2=0.0),              # break-even two years ago
        zombie_row(total_liabilities=500.0, equity=500.0),  # debt ratio exactly 50 %: not above
        zombie_row(total_liabilities_prev=600.0),      # liabilities did not grow
    ]
    out = run(*not_zombies).columns["zombie"]
    assert out.tolist() == [False] * 5


def test_zombie_unknown_without_history():
    out = run(zombie_row(net_profit_prev2=np.nan)).columns["zombie"]
    assert out.isna().all()


def test_viability_conditions():
    rows = [statement(), zombie_row(), statement(backward_capacity=True), statement(dishonest_debtor=True),
            statement(major_violation=True), statement(cost_of_sales=2000.0), statement(ebit=-30.0),
            statement(revenue=1330.0, revenue_prev=1900.0, cost_of_sales=1000.0), statement(revenue=1331.0, revenue_prev=1900.0, cost_of_sales=1000.0)]
    frame = pd.DataFrame(rows)
    frame[["backward_capacity", "dishonest_debtor", "major_violation"]] = frame[["backward_capacity", "dishonest_debtor", "major_violation"]].astype("boolean")
    out = distress(frame, POLICY)
    assert out.columns["viable"].tolist() == [True, False, False, False, False, False, False, False, True]
    # EBITDA = EBIT + D&A: -30 + 20 < 0 fires V6; a 30 % fall (1330/1900) fires V7, 29.95 % does not.
    assert out.fired.loc[6, "V6"] and out.fired.loc[7, "V7"] and not out.fired.loc[8, "V7"]
    assert out.fired.loc[1, "V1"] and out.fired.loc[5, "V5"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=12, max_size=12), st.floats(1, 1e9))
def test_unit_free_and_finite(values, scale):
    names = ["current_assets", "current_liabilities", "retained_earnings", "ebit", "equity", "revenue", "cost_of_sales",
             "net_profit", "government_subsidies", "revenue_prev", "total_liabilities_prev", "net_profit_prev"]
    row = statement(**dict(zip(names, values)))
    a = run(row).columns
    b = run({k: v * scale for k, v in row.items()}).columns
    assert np.isfinite(a["z2_score"].dropna()).all()
    np.testing.assert_allclose(a["z2_score"].to_numpy(float), b["z2_score"].to_numpy(float), rtol=1e-9, atol=1e-9)
    assert a["zombie"].equals(b["zombie"]) and a["viable"].equals(b["viable"])
