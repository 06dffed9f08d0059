"""Bond maturities, short-term funding and bond risk worked by hand."""

import numpy as np
import pandas as pd
import pytest

from zjfin._policy import Policy
from zjfin.risks.bonds import bond_maturities, bond_risk, short_term_funding

POLICY = Policy.default()
AS_OF = "2019-03-31"


def bonds_frame(rows):
    frame = pd.DataFrame(rows, columns=["issuer_idx", "amount_outstanding", "maturity_date", "put_date", "status", "rating", "rating_prev"])
    for c in ("maturity_date", "put_date"):
        frame[c] = pd.to_datetime(frame[c])
    return frame


def test_horizons_and_put_dates():
    frame = pd.DataFrame({"period_end": pd.to_datetime(["2018-12-31", "2018-12-31"]),
                          "current_portion_long_term_debt": [6e8, 0.0]})
    bonds = bonds_frame([
        (0, 1e8, "2019-03-31", None, "performing", "AA", "AA"),     # on the as-of date: not in (t, t+H]
        (0, 2e8, "2019-06-30", None, "performing", "AA", "AA"),     # exactly 3 months: in
        (0, 4e8, "2019-07-01", None, "performing", "AA", "AA"),     # 6 months
        (0, 8e8, "2022-01-01", "2020-03-31", "performing", "AA", "AA"),  # put exactly 12 months: counts
        (1, 16e8, "2020-04-01", None, "performing", "AA", "AA"),    # one day past 12 months
        (1, 32e8, "2021-01-01", "2019-01-01", "performing", "AA", "AA"),  # put already passed: maturity counts
    ])
    m = bond_maturities(bonds, frame, AS_OF, POLICY)
    assert m["bond_due_3m"].tolist() == [2e8, 0.0]
    assert m["bond_due_6m"].tolist() == [6e8, 0.0]
    assert m["bond_due_12m"].tolist() == [14e8, 0.0]
    # Due by 2019-12-31 (statement + 12 months) is already current debt (6e8 reported);
    # the put on 2020-03-31 is not.
    assert m["bond_due_not_in_statement"].tolist() == [8e8, 0.0]


def test_firms_without_a_bond_get_amounts_as_floats():
    """A partition whose firms issued no bond: its amounts are float zeros, as the schema
    declares (NumPy sums an empty input in integers; a county file then had other types)."""
    frame = pd.DataFrame({"period_end": pd.to_datetime(["2018-12-31", "2018-12-31"])})
    m = bond_maturities(bonds_frame([]), frame, AS_OF, POLICY)
    assert (m.dtypes == np.float64).all() and m["bond_due_12m"].tolist() == [0.0, 0.0]
    assert m["bond_defaulted_amount"].isna().all()


def test_bonds_missing_from_the_statement_are_added():
    # The reviewer's case: a 3亿 bond due in 3 months, no current portion reported.
    frame = pd.DataFrame({"period_end": pd.to_datetime(["2018-12-31"] * 3),
                          "current_portion_long_term_debt": [np.nan, 0.0, 1e8]})
    bonds = bonds_frame([(i, 3e8, "2019-06-30", None, "performing", "AA", "AA") for i in range(3)])
    m = bond_maturities(bonds, frame, AS_OF, POLICY)
    assert m["bond_due_not_in_statement"].tolist() == [3e8, 3e8, 2e8]
    f = frame.assign(short_term_debt=1e7, cash=1e7, operating_cash_flow=0.0)
    funding = short_term_funding(f, m["bond_due_not_in_statement"].to_numpy())
    out = bond_risk(bonds, f, funding, m, POLICY)
    assert out.columns["bond_risk"].tolist() == ["high"] * 3 and out.fired["B2"].all()


def test_zero_amount_defaulted_bond_still_counts():
    frame = pd.DataFrame({"period_end": pd.to_datetime(["2018-12-31"]), "operating_cash_flow": [0.0]})
    bonds = bonds_frame([(0, 0.0, "2025-01-01", None, "defaulted", "AA", "AA")])
    funding = pd.DataFrame({"st_debt": [1.0], "available_cash": [9.0], "cash_to_st_debt": [9.0]})
    out = bond_risk(bonds, frame, funding, bond_maturities(bonds, frame, AS_OF, POLICY), POLICY)
    assert out.columns["bond_risk"].tolist() == ["high"] and out.fired["B1"].all()


def test_short_term_funding_by_hand():
    f = pd.DataFrame({"short_term_debt": [50.0, np.nan], "notes_payable": [30.0, np.nan],
                      "current_portion_long_term_debt": [20.0, np.nan], "cash": [70.0, 5.0], "restricted_cash": [20.0, np.nan]})
    out = short_term_funding(f, np.array([100.0, 0.0]))
    assert out["st_debt"].tolist()[0] == 200.0 and np.isnan(out["st_debt"].iat[1])
    assert out["available_cash"].tolist() == [50.0, 5.0]
    assert out["cash_to_st_debt"].iat[0] == 0.25 and np.isnan(out["cash_to_st_debt"].iat[1])


def risk_for(st_debt, cash, ocf, bonds_rows, n=1):
    frame = pd.DataFrame({"period_end": pd.to_datetime(["2018-12-31"] * n), "operating_cash_flow": [ocf] * n})
    bonds = bonds_frame(bonds_rows)
    funding = pd.DataFrame({"st_debt": [st_debt] * n, "available_cash": [cash] * n, "cash_to_st_debt": [cash / st_debt] * n})
    maturities = bond_maturities(bonds, frame, AS_OF, POLICY)
    out = bond_risk(bonds, frame, funding, maturities, POLICY)
    # The amounts are the maturities' (bond_maturities), the levels and ratings bond_risk's.
    return pd.concat([maturities, out.columns], axis=1).iloc[0], out.fired.iloc[0]


@pytest.mark.parametrize("cash,ocf,level,code", [
    (30.0, 19.0, "high", "B2"),     # (30 + 19) / 100 < 50 %
    (30.0, 20.0, "medium", "B3"),   # exactly 50 %: not high
    (60.0, 39.0, "medium", "B3"),   # 99 %
    (60.0, 40.0, "low", "B6"),      # covered
])
def test_coverage_levels(cash, ocf, level, code):
    columns, fired = risk_for(100.0, cash, ocf, [(0, 50.0, "2019-09-30", None, "performing", "AA", "AA")])
    assert columns["bond_risk"] == level and fired[code]
    assert sum(fired[c] for c in ("B2", "B3", "B6")) == 1


def test_default_rating_drop_and_floor():
    c, f = risk_for(100.0, 500.0, 0.0, [(0, 50.0, "2025-01-01", None, "defaulted", "AA", "AA")])
    assert c["bond_risk"] == "high" and f["B1"] and c["bond_defaulted_amount"] == 50.0
    c, f = risk_for(100.0, 500.0, 0.0, [(0, 50.0, "2025-01-01", None, "performing", "AA-", "AA")])
    assert c["bond_risk"] == "medium" and f["B4"] and not f["B5"] and (c["rating"], c["rating_prev"]) == ("AA-", "AA")
    c, f = risk_for(100.0, 500.0, 0.0, [(0, 50.0, "2025-01-01", None, "performing", "A+", "A+")])
    assert c["bond_risk"] == "medium" and f["B5"] and not f["B4"]
    # Bonds outstanding, none due, nothing wrong: low; the worst of several ratings counts.
    c, f = risk_for(100.0, 500.0, 0.0, [(0, 50.0, "2025-01-01", None, "performing", "AAA", "AAA"),
                                        (0, 50.0, "2026-01-01", None, "performing", "AA", "AA+")])
    assert c["bond_risk"] == "medium" and f["B4"] and c["rating"] == "AA"


def test_no_bonds_is_none():
    frame = pd.DataFrame({"period_end": pd.to_datetime(["2018-12-31", "2018-12-31"]), "operating_cash_flow": [1.0, 1.0]})
    bonds = bonds_frame([(0, 50.0, "2025-01-01", None, "performing", "AA", "AA")])
    funding = pd.DataFrame({"st_debt": [1.0, 1.0], "available_cash": [1.0, 1.0], "cash_to_st_debt": [1.0, 1.0]})
    maturities = bond_maturities(bonds, frame, AS_OF, POLICY)
    out = bond_risk(bonds, frame, funding, maturities, POLICY)
    assert out.columns["bond_risk"].tolist() == ["low", "none"]
    assert maturities["bond_due_12m"].tolist() == [0.0, 0.0]
