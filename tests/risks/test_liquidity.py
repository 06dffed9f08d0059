import numpy as np
import pandas as pd

from zjfin._policy import Policy
from zjfin.risks.liquidity import liquidity_risk

POLICY = Policy.default()


def run(loans, ocf, ratio):
    frame = pd.DataFrame({"operating_cash_flow": ocf})
    funding = pd.DataFrame({"cash_to_st_debt": ratio})
    return liquidity_risk(pd.DataFrame(loans, columns=["firm_idx", "amount", "classification", "overdue_days"]), frame, funding, POLICY)


def test_levels_by_each_condition():
    loans = [
        (0, 10.0, "normal", 0.0),
        (1, 10.0, "substandard", 0.0),
        (2, 10.0, "loss", 0.0),
        (3, 10.0, "normal", 91.0),
        (4, 10.0, "normal", 90.0),
        (5, 10.0, "special_mention", 0.0),
        (6, 10.0, "normal", 1.0),
        (-1, 99.0, "loss", 400.0),  # a loan of a firm not screened: ignored
    ]
    out = run(loans, [1.0] * 9, [2.0] * 8 + [0.5])
    assert out.columns["liquidity_risk"].tolist() == ["low", "high", "high", "high", "medium", "medium", "medium", "none", "none"]
    assert out.fired["L2"].tolist()[3:5] == [True, False] and out.fired["L4"].tolist()[3:5] == [False, True]
    assert out.columns["loan_substandard_amount"].tolist()[:3] == [0.0, 10.0, 10.0]


def test_cash_squeeze_needs_negative_cash_flow():
    out = run([], [-1.0, 1.0, -1.0, -1.0], [0.99, 0.5, 1.0, np.nan])
    assert out.columns["liquidity_risk"].tolist() == ["medium", "none", "none", "none"]
    assert out.fired["L5"].tolist() == [True, False, False, False]


def test_zero_amount_loans_still_count():
    out = run([(0, 0.0, "loss", 0.0), (1, 0.0, "special_mention", 0.0)], [1.0, 1.0], [2.0, 2.0])
    assert out.columns["liquidity_risk"].tolist() == ["high", "medium"]
