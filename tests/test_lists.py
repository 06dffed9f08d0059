"""The three lists (SPEC §4): rules on each side, precedence, priorities, actions."""

import numpy as np
import pandas as pd
import pytest

import zjfin
from zjfin._errors import PolicyError
from zjfin._lists import LISTS, assign_lists
from zjfin._policy import Policy

RISKS = ("bond_risk", "liquidity_risk", "pledge_risk", "guarantee_risk")


def firm(**over):
    """A sound small firm that qualifies for nothing but sme_funding when it has a need."""
    base = {
        "firm_id": "F", "region_code": "330102", "viable": True, "bond_risk": "none", "liquidity_risk": "none",
        "pledge_risk": "none", "guarantee_risk": "none", "size_class": "small", "revenue": 1e7,
        "revenue_growth": 0.05, "net_profit": 5e5, "z2_zone": "grey", "z2_score": 2.0, "mujun_score": np.nan,
        "mujun_class": None, "working_capital_need": 0.0, "financing_demand": np.nan, "loan_max_overdue_days": 0.0,
        "total_assets": 2e7, "total_liabilities": 1e7, "employees": 50.0, "taxes_paid": 3e5, "rd_expense": 1e5,
        "systemic_impact": np.nan, "specialised": False,
    }
    base.update(over)
    return base


def run(rows, fired=None, policy=None):
    frame = pd.DataFrame(rows)
    values = {c: frame[c] for c in frame.columns}
    fired = {k: np.asarray(v, bool) for k, v in (fired or {}).items()}
    return assign_lists(values, fired, policy or Policy.default(), frame.index)


def lists_of(rows, **kw):
    return run(rows, **kw).columns["list"].tolist()


def test_watch_needs_not_viable_and_a_high_risk_or_a_defaulted_bond():
    rows = [firm(viable=False, liquidity_risk="high"), firm(viable=False, liquidity_risk="medium"),
            firm(viable=False), firm(viable=True, liquidity_risk="high")]
    assert lists_of(rows) == ["watch", "none", "none", "relief"]
    # A defaulted bond (B1) with a non-viable firm is watch even if bond risk were lower.
    assert lists_of([firm(viable=False)], fired={"B1": [True]}) == ["watch"]


@pytest.mark.parametrize("risk", RISKS[:3])
def test_relief_for_viable_firms_with_an_acute_trigger(risk):
    out = run([firm(**{risk: "medium"}), firm(**{risk: "high"}), firm(**{risk: "low"})])
    assert out.columns["list"].tolist() == ["relief", "relief", "none"]
    assert out.columns["verify"].tolist() == [False, False, False]


def test_structural_guarantee_exposure_alone_is_no_relief_case():
    """Guarantee risk triggers relief at high only; a medium one (a mutual pair, a circle
    without a distressed member, guarantees above half of equity) is reported, with K3."""
    out = run([firm(guarantee_risk="medium"), firm(guarantee_risk="high"), firm(viable=False, guarantee_risk="medium")])
    assert out.columns["list"].tolist() == ["none", "relief", "none"]
    assert out.fired["K3"].tolist() == [True, False, False]
    assert out.fired["K4"].tolist() == [False, False, True]  # not viable, nothing high


def test_relief_triggers_come_from_the_policy():
    policy = Policy.default().update({"lists": {"relief_triggers": ["bond_risk:high", "guarantee_risk:medium"]}})
    rows = [firm(bond_risk="medium"), firm(bond_risk="high"), firm(guarantee_risk="medium"), firm(liquidity_risk="high")]
    assert lists_of(rows, policy=policy) == ["none", "relief", "relief", "none"]


def test_viability_unknown_goes_on_its_list_marked_for_verification():
    rows = [firm(viable=None, liquidity_risk="high"), firm(viable=None, bond_risk="medium"),
            firm(viable=None, working_capital_need=1e6), firm(viable=None, guarantee_risk="medium")]
    out = run(rows)
    assert out.columns["list"].tolist() == ["relief", "relief", "none", "none"]
    assert out.columns["verify"].tolist() == [True, True, False, False]
    assert out.fired["K2"].tolist() == [True, True, False, False]
    assert out.fired["K3"].tolist() == [False, False, False, True]  # at risk, no trigger: says why
    # A defaulted bond (B1) is a trigger too.
    assert lists_of([firm(viable=None)], fired={"B1": [True]}) == ["relief"]


def test_quality_routes_and_each_condition():
    good = dict(z2_zone="safe", mujun_score=150.0, mujun_class="A")
    assert lists_of([firm(**good)]) == ["quality"]
    # Each condition on its own side: class B, zone grey, growth < 0, loss, a medium risk.
    assert lists_of([firm(**{**good, "mujun_class": "B"})]) == ["none"]
    assert lists_of([firm(**{**good, "z2_zone": "grey"})]) == ["none"]
    assert lists_of([firm(**{**good, "revenue_growth": -0.01})]) == ["none"]
    assert lists_of([firm(**{**good, "revenue_growth": 0.0})]) == ["quality"]  # growth ≥ 0
    assert lists_of([firm(**{**good, "net_profit": 0.0})]) == ["none"]
    assert lists_of([firm(**{**good, "pledge_risk": "low"})]) == ["quality"]
    # A trained model's pd below the cut-off stands in for the safe zone.
    assert lists_of([firm(**{**good, "z2_zone": "grey", "pd_12m": 0.01})]) == ["quality"]
    # 专精特新 qualifies without 亩均 class A.
    out = run([firm(**{**good, "mujun_class": "C", "specialised": True})])
    assert out.columns["list"].tolist() == ["quality"] and out.fired["Q3"].tolist() == [True]


def test_quality_without_land_is_the_top_quarter_of_the_county():
    # Eight firms without 亩均 data in one county, all otherwise eligible, ranked by every
    # indicator in the same order: the best two (top 25 %) are quality.
    rows = [firm(firm_id=f"F{i}", z2_zone="safe", net_profit=1e5 * (i + 1), revenue_growth=0.01 * (i + 1),
                 rd_expense=1e4 * (i + 1), taxes_paid=1e4 * (i + 1)) for i in range(8)]
    out = run(rows)
    assert out.columns["list"].tolist() == ["none"] * 6 + ["quality"] * 2
    assert out.fired["Q2"].tolist() == [False] * 6 + [True] * 2
    # The score is the mean of four percentile ranks: the best firm has 1.0.
    assert out.columns["quality_score"].iat[7] == pytest.approx(1.0)
    assert out.columns["quality_score"].iat[0] == pytest.approx(1 / 8)


def test_sme_funding_conditions():
    need = dict(working_capital_need=1e6)
    assert lists_of([firm(**need)]) == ["sme_funding"]
    assert lists_of([firm(financing_demand=5e5)]) == ["sme_funding"]  # a declared demand is enough
    assert lists_of([firm()]) == ["none"]  # no need, no demand
    assert lists_of([firm(**need, size_class="large")]) == ["none"]
    assert lists_of([firm(**need, loan_max_overdue_days=1.0)]) == ["none"]
    assert lists_of([firm(**need, revenue=0.0)]) == ["none"]
    assert lists_of([firm(**need, guarantee_risk="medium")]) == ["none"]  # a medium risk: not sound
    assert lists_of([firm(**need, liquidity_risk="medium")]) == ["relief"]
    out = run([firm(**need)])
    assert out.fired["W1"].tolist() == [True]


def test_precedence_and_policy_order():
    # A firm eligible for quality and sme_funding goes to quality.
    both = firm(z2_zone="safe", mujun_score=150.0, mujun_class="A", working_capital_need=1e6)
    assert lists_of([both]) == ["quality"]
    policy = Policy.default().update({"lists": {"precedence": ["watch", "relief", "sme_funding", "quality"]}})
    assert lists_of([both], policy=policy) == ["sme_funding"]
    # A precedence that leaves lists out is refused when the policy is made, before any run.
    with pytest.raises(PolicyError, match="lists.precedence"):
        Policy.default().update({"lists": {"precedence": ["watch", "relief"]}})


def test_switched_off_risk_gives_no_information():
    assert lists_of([firm(bond_risk=None, working_capital_need=1e6)]) == ["sme_funding"]


def test_priority_is_one_to_k_per_list_and_county():
    rows = []
    for county in ("330102", "330106"):
        for i in range(4):  # relief firms with growing employees: the largest comes first
            rows.append(firm(firm_id=f"{county}-{i}", region_code=county, liquidity_risk="medium",
                             employees=10.0 * (i + 1), taxes_paid=1e4 * (i + 1), total_liabilities=1e6))
    out = run(rows).columns
    for county in ("330102", "330106"):
        mine = out[[r["region_code"] == county for r in rows]]
        assert mine["priority"].tolist() == [4, 3, 2, 1]
    none = run([firm()]).columns
    assert none["priority"].isna().all()


def test_relief_actions_follow_the_reasons():
    rows = [firm(bond_risk="high"), firm(pledge_risk="medium"), firm(guarantee_risk="high", liquidity_risk="medium")]
    fired = {"B2": [True, False, False], "P3": [False, True, False], "G5": [False, False, True], "L4": [False, False, True]}
    out = run(rows, fired=fired).columns
    assert out["suggested_action"].tolist() == ["展期/续贷", "纾困基金/平仓缓冲", "无还本续贷；担保增信"]
    assert out["suggested_action_en"].iat[0] == "extension or refinancing of debt falling due"


def test_province_lists_partition_and_respect_precedence():
    ds = zjfin.datasets.synthetic_province(3000, seed=1)
    s = zjfin.screen(ds, as_of="2019-03-31").screening
    assert set(s["list"]) <= set(LISTS) and s["list"].notna().all()
    listed = s[s["list"] != "none"]
    # Priorities are exactly 1..k within each list and county.
    for (_, _), group in listed.groupby(["list", "region_code"]):
        assert sorted(group["priority"].tolist()) == list(range(1, len(group) + 1))
    levels = s[list(RISKS)].apply(lambda c: c.map({"none": 0, "low": 1, "medium": 2, "high": 3})).max(axis=1)
    # Precedence: no relief firm is watch-eligible; quality and sme firms carry no risk above low.
    assert not ((s["list"] == "relief") & (s["viable"] == False)).any()  # noqa: E712
    assert (levels[s["list"].isin(["quality", "sme_funding"])] <= 1).all()
    assert (levels[s["list"] == "watch"] == 3).all() or s["reason_codes"][s["list"] == "watch"].str.contains("B1").all()
    # Every listed firm carries reasons in both languages.
    assert (listed["reason_codes"] != "").all()
    assert (listed["reasons_zh"] != "").all() and (listed["reasons_en"] != "").all()
    assert listed["suggested_action"].notna().eq(listed["list"] == "relief").all()


def test_edited_policy_round_trips_and_bad_values_name_the_key(tmp_path):
    edited = Policy.default().update({"lists": {"quality_top_share": 0.3, "precedence": ["watch", "relief", "sme_funding", "quality"]},
                                      "network": {"systemic_max_firms": 5}})
    path = tmp_path / "policy.toml"
    path.write_text(edited.to_toml(), encoding="utf-8")
    back = Policy.from_toml(path)
    assert back.to_dict() == edited.to_dict()
    assert back.lists.precedence == ["watch", "relief", "sme_funding", "quality"]
    path.write_text('[lists]\nquality_top_share = "a lot"\n', encoding="utf-8")
    with pytest.raises(PolicyError, match="lists.quality_top_share.*a number"):
        Policy.from_toml(path)
    path.write_text("[lists]\ntop_share = 0.3\n", encoding="utf-8")
    with pytest.raises(PolicyError, match="unknown policy key 'lists.top_share'"):
        Policy.from_toml(path)


# --------------------------------------------------------------------------- partial data

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from zjfin._schema import risk_level_columns, table_schema  # noqa: E402

_PROVINCE = zjfin.datasets.synthetic_province(1500, seed=23)
_OPTIONAL = [(table, c.name) for table in ("firms", "financials") for c in table_schema(table).columns
             if not c.required and c.name in _PROVINCE[table].columns]
_OPTIONAL_TABLES = ["bonds", "loans", "pledges", "prices", "guarantees"]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dropped=st.sets(st.sampled_from(_OPTIONAL), max_size=len(_OPTIONAL)),
       tables=st.sets(st.sampled_from(_OPTIONAL_TABLES)))
def test_every_firm_at_risk_is_listed_or_says_why(dropped, tables):
    """Whatever optional columns and tables are missing, a firm with a risk of medium or
    above is on a list or carries the reason it is not (K3, K4): never silently on none."""
    data = {t: f for t, f in _PROVINCE.tables.items() if t not in tables}
    for table, column in dropped:
        data[table] = data[table].drop(columns=column)
    res = zjfin.screen(zjfin.Dataset(data), as_of="2019-03-31", n_jobs=1)
    s = res.screening
    at_risk = s[list(risk_level_columns())].isin(["medium", "high"]).any(axis=1)
    unlisted = at_risk & (s["list"] == "none")
    codes = s.loc[unlisted, "reason_codes"].fillna("").str.split(";")
    assert codes.map(lambda c: "K3" in c or "K4" in c).all(), s.loc[unlisted, ["firm_id", "reason_codes"]].head()
    # Relief for a firm whose viability is unknown is marked for verification (K2).
    unknown = (s["list"] == "relief") & s["viable"].isna()
    assert s.loc[unknown, "verify"].fillna(False).all()
    # And every rule that could not run says so in the coverage.
    assert (res.coverage["evaluated"] + res.coverage["estimated"] + res.coverage["not_evaluated"]
            + res.coverage["not_applicable"] == res.coverage["firms"]).all()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(-1, 70_000), st.sampled_from([1.0, 2.0, 0.1 + 0.2, 0.3, -np.inf, np.inf, np.nan, -0.0, 0.0])),
                min_size=1, max_size=40))
def test_group_percentile_ranks_equal_pandas_groupby_rank(cells):
    # The sort-based ranks are the very floats pandas' groupby rank gives (ties averaged,
    # a missing score lowest), for group codes beyond 16 bits and -1 (no county) too.
    from zjfin._lists import _group_pct_rank

    groups = np.array([c[0] for c in cells], dtype=np.int64)
    score = np.array([c[1] for c in cells])
    members = np.arange(len(cells)) % 3 != 1
    expected = np.full(len(cells), np.nan)
    frame = pd.DataFrame({"g": groups[members], "s": np.nan_to_num(score[members], nan=-np.inf)})
    expected[members] = frame.groupby("g", sort=False)["s"].rank(method="average", pct=True).to_numpy()
    got = _group_pct_rank(score, groups, members)
    assert np.array_equal(got, expected, equal_nan=True)


def test_lists_and_priorities_are_the_same_on_one_thread_and_two():
    """The percentile ranks run side by side with two threads: nothing may change."""
    res = zjfin.screen(zjfin.datasets.synthetic_province(3000, seed=5), as_of="2019-03-31", n_jobs=1)
    values = {c: res.screening[c] for c in res.screening.columns}
    one = assign_lists(values, {}, Policy.default(), res.screening.index, n_jobs=1).columns
    two = assign_lists(values, {}, Policy.default(), res.screening.index, n_jobs=2).columns
    pd.testing.assert_frame_equal(one, two)
    assert one["priority"].notna().sum() > 500  # the lists are not empty: the ranks were used


def test_list_inputs_name_every_column_the_lists_read():
    """A screening by county hands each partition only list_inputs(policy): record what
    assign_lists reads on a real screening and check it is among them."""
    from zjfin._lists import list_inputs

    res = zjfin.screen(zjfin.datasets.synthetic_province(2000, seed=6), as_of="2019-03-31")

    class Recording(dict):
        def __init__(self, *args):
            super().__init__(*args)
            self.read = set()

        def __getitem__(self, name):
            self.read.add(name)
            return super().__getitem__(name)

        def __contains__(self, name):
            self.read.add(name)
            return super().__contains__(name)

    values = Recording({c: res.screening[c] for c in res.screening.columns})
    policy = Policy.default()
    assign_lists(values, {}, policy, res.screening.index)
    assert values.read <= set(list_inputs(policy)), sorted(values.read - set(list_inputs(policy)))
    assert {"bond_risk", "region_code", "mujun_score"} <= values.read
