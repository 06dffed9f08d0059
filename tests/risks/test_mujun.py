"""亩均效益 (SPEC §3.7): indicators, peer medians, capped weighted score, county classes.

Expected numbers are worked out by hand in the comments (plain arithmetic), not with the
engine's own code paths.
"""

import statistics
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import zjfin
from zjfin._arrow import TEXT, as_text
from zjfin._policy import Policy
from zjfin.risks.mujun import mujun

POLICY = Policy.default()
INDICATORS = ["tax_per_mu", "value_added_per_mu", "value_added_per_tce", "value_added_per_emission",
              "labour_productivity", "rd_share"]
MONEY = ["taxes_paid", "value_added", "rd_expense", "revenue"]
NAN = float("nan")


def firm(region="330102", industry="C1711", land=10.0, taxes=100.0, va=1000.0, energy=10.0, emissions=1.0,
         employees=10.0, rd=20.0, revenue=1000.0):
    return {"region_code": region, "industry_code": industry, "land_mu": land, "taxes_paid": taxes,
            "value_added": va, "energy_tce": energy, "emissions_t": emissions, "employees": employees,
            "rd_expense": rd, "revenue": revenue}


def frame_of(rows):
    frame = pd.DataFrame(rows)
    for column in ("region_code", "industry_code"):
        frame[column] = as_text(frame[column].tolist())
    return frame


def run(rows, policy=POLICY):
    return mujun(frame_of(rows), policy)


# ------------------------------------------------------------------ one hand-worked county
# Six firms of division C17 in county 330102 (different 4-digit classes and a bare "C17").
HAND = [
    firm(industry="C1711", land=10, taxes=100, va=1000, energy=10, emissions=1, employees=10, rd=20, revenue=1000),
    firm(industry="C1713", land=20, taxes=400, va=2000, energy=20, emissions=4, employees=10, rd=0, revenue=1000),
    firm(industry="C1751", land=10, taxes=300, va=-500, energy=5, emissions=1, employees=10, rd=10, revenue=500),
    firm(industry="C17", land=5, taxes=50, va=600, energy=NAN, emissions=NAN, employees=6, rd=6, revenue=600),
    firm(industry="C1711", land=10, taxes=0, va=1500, energy=10, emissions=2, employees=30, rd=30, revenue=1000),
    firm(industry="C1762", land=40, taxes=800, va=4000, energy=80, emissions=4, employees=20, rd=200, revenue=2000),
]
# Indicators (firm 0 … 5):
#   tax/mu      10, 20, 30, 10, 0, 20        sorted 0 10 10 20 20 30      median 15
#   VA/mu       100, 100, -50, 120, 150, 100  sorted -50 100 100 100 120 150 median 100
#   VA/tce      100, 100, -100, –, 150, 50    5 values -100 50 100 100 150 median 100
#   VA/emission 1000, 500, -500, –, 750, 1000 5 values -500 500 750 1000 1000 median 750
#   VA/employee 100, 200, -50, 100, 50, 200   sorted -50 50 100 100 200 200 median 100
#   R&D share   .02, 0, .02, .01, .03, .10    sorted 0 .01 .02 .02 .03 .10  median .02
# Scores, weights 30/20/20/10/10/10, each ratio in [0, 3]:
#   0: 30·2/3 + 20·1 + 20·1 + 10·4/3 + 10·1 + 10·1         = 93.333…
#   1: 30·4/3 + 20·1 + 20·1 + 10·2/3 + 10·2 + 10·0         = 106.666…
#   2: 30·2   + 0 (negative VA ratios count as 0) + 10·1    = 70
#   3: (30·2/3 + 20·1.2 + 10·1 + 10·0.5) / 70 · 100 = 59/70 = 84.2857… (no energy, no emissions)
#   4: 30·0   + 20·1.5 + 20·1.5 + 10·1 + 10·0.5 + 10·1.5     = 90
#   5: 30·4/3 + 20·1 + 20·0.5 + 10·4/3 + 10·2 + 10·3 (5 capped) = 133.333…
HAND_SCORES = [280 / 3, 320 / 3, 70.0, 100 * 59 / 70, 90.0, 400 / 3]
# Ranks 5,1,0,4,3,2; n = 6: A while r − ½ ≤ 1.5, B while ≤ 4.8, C while ≤ 5.7.
HAND_CLASSES = ["B", "A", "C", "B", "B", "A"]


def test_hand_worked_county():
    out = run(HAND)
    cols = out.columns
    assert cols["tax_per_mu"].tolist() == [10, 20, 30, 10, 0, 20]
    assert cols["value_added_per_mu"].tolist() == [100, 100, -50, 120, 150, 100]
    assert cols["value_added_per_tce"].tolist()[:3] == [100, 100, -100] and np.isnan(cols["value_added_per_tce"][3])
    assert np.isnan(cols["value_added_per_emission"][3])
    assert cols["labour_productivity"].tolist() == [100, 200, -50, 100, 50, 200]
    assert cols["rd_share"].tolist() == pytest.approx([0.02, 0, 0.02, 0.01, 0.03, 0.1], rel=1e-12)
    assert cols["mujun_score"].tolist() == pytest.approx(HAND_SCORES, rel=1e-9)
    assert cols["mujun_class"].tolist() == HAND_CLASSES
    assert cols["mujun_indicators"].tolist() == [6, 6, 6, 4, 6, 6]
    assert cols["mujun_class"].dtype == TEXT
    assert list(cols.columns) == INDICATORS + ["mujun_score", "mujun_class", "mujun_indicators"]
    assert out.fired.shape == (6, 0) and out.fired.index.equals(cols.index)


def test_hand_worked_county_by_plain_python():
    # The same numbers once more from the definition, with statistics.median and loops.
    w = [30, 20, 20, 10, 10, 10]
    values = []
    for f in HAND:
        raw = [(f["taxes_paid"], f["land_mu"]), (f["value_added"], f["land_mu"]), (f["value_added"], f["energy_tce"]),
               (f["value_added"], f["emissions_t"]), (f["value_added"], f["employees"]), (f["rd_expense"], f["revenue"])]
        values.append([a / b if not (np.isnan(a) or np.isnan(b)) and b > 0 else None for a, b in raw])
    medians = [statistics.median(v[k] for v in values if v[k] is not None) for k in range(6)]
    expected = []
    for v in values:
        num = sum(w[k] * min(max(v[k] / medians[k], 0), 3) for k in range(6) if v[k] is not None)
        den = sum(w[k] for k in range(6) if v[k] is not None)
        expected.append(100 * num / den)
    assert run(HAND).columns["mujun_score"].tolist() == pytest.approx(expected, rel=1e-9)
    assert expected == pytest.approx(HAND_SCORES, rel=1e-12)


def test_firm_exactly_at_every_benchmark_scores_100():
    out = run([firm() for _ in range(5)])
    assert out.columns["mujun_score"].tolist() == [100.0] * 5
    assert out.columns["mujun_class"].tolist() == ["A"] * 5  # all tied: the best class


# ------------------------------------------------------------------ benchmark fall-back
def taxes_only(region, industry, tax_per_mu):
    # Every other indicator is the same for every firm, so it scores exactly 1.
    return firm(region=region, industry=industry, land=10.0, taxes=10.0 * tax_per_mu)


def fallback_rows():
    rows = [taxes_only("330102", "C1711", t) for t in (10, 20, 30)]       # 3 < min_peers
    rows += [taxes_only("330103", "C1799", t) for t in (40, 50, 60, 70, 80, 90)]
    rows += [taxes_only("330104", "D4411", 100)]                          # a division of one
    return rows


def test_small_county_group_falls_back_to_the_province_division():
    score = run(fallback_rows()).columns["mujun_score"].tolist()
    # County 330102: province C17 median of 10 … 90 = 50 → 70 + 30 · t / 50.
    assert score[:3] == pytest.approx([76.0, 82.0, 88.0], rel=1e-9)
    # County 330103 has 6 ≥ 5 peers: its own median (60 + 70) / 2 = 65.
    assert score[3:9] == pytest.approx([70 + 30 * t / 65 for t in (40, 50, 60, 70, 80, 90)], rel=1e-9)
    # D44 has one firm in the whole frame: the whole frame's median of 10 … 100 = 55.
    assert score[9] == pytest.approx(70 + 30 * 100 / 55, rel=1e-9)


def test_province_figures_lacking_a_division_of_the_frame_name_it():
    from zjfin.risks.mujun import mujun_province, mujun_shares

    rows = fallback_rows()
    frame = frame_of(rows)
    # The province's figures from the C17 firms only: D44 (the frame's last firm) is not in them.
    province = mujun_province(mujun_shares(frame.iloc[:9], POLICY), POLICY)
    with pytest.raises(zjfin.ParameterError, match=r"lacking its divisions \['44'\]"):
        mujun(frame, POLICY, province=province)
    # With figures that include every division the frame has, the frame is scored as the province.
    whole = mujun_province(mujun_shares(frame, POLICY), POLICY)
    pd.testing.assert_frame_equal(mujun(frame, POLICY, province=whole).columns, run(rows).columns)


def test_min_peers_comes_from_the_policy():
    policy = POLICY.update({"mujun": {"min_peers": 3}})
    score = run(fallback_rows(), policy).columns["mujun_score"].tolist()
    # Now county 330102's own median 20 serves: 70 + 30 · t / 20.
    assert score[:3] == pytest.approx([85.0, 100.0, 115.0], rel=1e-9)


def test_non_positive_median_is_no_benchmark():
    # Five firms without R&D: the county median of rd_share is 0, so the province division
    # (also 0) and the frame (also 0) give none; rd_share drops out and weights renormalise.
    rows = [firm(rd=0.0) for _ in range(5)]
    out = run(rows)
    assert out.columns["mujun_score"].tolist() == [100.0] * 5
    assert out.columns["mujun_indicators"].tolist() == [5] * 5


def test_weights_and_cap_come_from_the_policy():
    rows = [firm() for _ in range(4)] + [firm(taxes=1000.0)]  # tax/mu 100 vs median 10
    default = run(rows).columns["mujun_score"].tolist()[-1]
    assert default == pytest.approx(70 + 30 * 3)  # capped at 3
    policy = POLICY.update({"mujun": {"cap": 5.0, "weights": [50.0, 10.0, 10.0, 10.0, 10.0, 10.0]}})
    assert run(rows, policy).columns["mujun_score"].tolist()[-1] == pytest.approx(50 + 50 * 5)


# ------------------------------------------------------------------ classes
def twenty(extra=()):
    rows = [firm(taxes=10.0 * (i + 1)) for i in range(20)]  # tax/mu 1 … 20, distinct scores
    return rows + list(extra)


def test_class_shares_on_twenty_firms():
    out = run(twenty()).columns
    by_rank = out.sort_values("mujun_score", ascending=False)["mujun_class"].tolist()
    assert by_rank == ["A"] * 5 + ["B"] * 11 + ["C"] * 3 + ["D"]


def test_equal_scores_share_a_class():
    # tax/mu 1 … 20 with 15 raised to 16: the 5th and 6th best tie, both take rank 5 → A.
    rows = [firm(taxes=10.0 * (i + 1)) for i in range(20)]
    rows[14] = firm(taxes=160.0)
    out = run(rows).columns
    assert out["mujun_score"][14] == out["mujun_score"][15]
    assert out["mujun_class"][14] == out["mujun_class"][15] == "A"
    assert out["mujun_class"].value_counts().to_dict() == {"A": 6, "B": 10, "C": 3, "D": 1}


def test_classes_rank_within_the_county():
    # Two counties of 20: each has its own 5/11/3/1, whatever the other's scores.
    other = [firm(region="330103", taxes=1000.0 * (i + 1)) for i in range(20)]
    out = run(twenty(other)).columns
    for region in ("330102", "330103"):
        counts = out.loc[frame_of(twenty(other))["region_code"] == region, "mujun_class"].value_counts()
        assert counts.to_dict() == {"A": 5, "B": 11, "C": 3, "D": 1}


def test_class_shares_come_from_the_policy():
    policy = POLICY.update({"mujun": {"class_shares": [0.5, 0.3, 0.1, 0.1]}})
    counts = run(twenty(), policy).columns["mujun_class"].value_counts().to_dict()
    assert counts == {"A": 10, "B": 6, "C": 2, "D": 2}


def test_small_counties_round_to_the_nearest_firm():
    # n = 1: r − ½ = 0.5 > 0.25 but ≤ 0.8 → B. n = 3: A ≤ 0.75, B ≤ 2.4, C ≤ 2.85 → A, B, C.
    alone = run([firm(region="330103")]).columns["mujun_class"].tolist()
    assert alone == ["B"]
    three = run([firm(taxes=t) for t in (300.0, 200.0, 100.0)]).columns["mujun_class"].tolist()
    assert three == ["A", "B", "C"]


def test_bad_policy_lists_are_refused():
    # Refused when the policy is made, before any run.
    with pytest.raises(zjfin.PolicyError, match="mujun.weights"):
        POLICY.update({"mujun": {"weights": [1.0, 2.0]}})
    with pytest.raises(zjfin.PolicyError, match="mujun.class_shares"):
        POLICY.update({"mujun": {"class_shares": [0.5, 0.5, 0.5, 0.5]}})


# ------------------------------------------------------------------ scope
def test_non_industrial_and_landless_firms_are_unscored():
    outsiders = [
        firm(industry="F5123"),          # wholesale: not industrial
        firm(industry="K7010"),
        firm(land=NAN),                  # no land data
        firm(land=0.0),
        firm(taxes=NAN, va=NAN, rd=NAN),  # land but no indicator at all
    ]
    base = run([firm(taxes=10.0 * (i + 1)) for i in range(6)]).columns
    out = run([firm(taxes=10.0 * (i + 1)) for i in range(6)] + outsiders).columns
    tail = out.iloc[6:]
    assert tail["mujun_score"].isna().all() and tail["mujun_class"].isna().all()
    assert tail["mujun_indicators"].tolist() == [0] * 5
    assert tail[INDICATORS].iloc[:4].isna().all().all()
    # Outsiders are nobody's peers: the six scores are unchanged.
    assert out["mujun_score"].iloc[:6].tolist() == base["mujun_score"].tolist()
    assert out["mujun_class"].iloc[:6].tolist() == base["mujun_class"].tolist()


def test_mining_and_utilities_are_industrial():
    rows = [firm(industry="B0610") for _ in range(5)] + [firm(industry="D4411") for _ in range(5)]
    assert run(rows).columns["mujun_score"].tolist() == [100.0] * 10


def test_keeps_the_frame_index_and_empty_frame():
    frame = frame_of(HAND).set_axis(pd.Index([10, 11, 12, 13, 14, 15]))
    out = mujun(frame, POLICY)
    assert out.columns.index.equals(frame.index) and out.fired.index.equals(frame.index)
    assert out.columns["mujun_class"].tolist() == HAND_CLASSES
    empty = mujun(frame_of(HAND).iloc[:0], POLICY)
    assert len(empty.columns) == 0 and "mujun_score" in empty.columns


# ------------------------------------------------------------------ properties
finite = st.floats(min_value=1.0, max_value=1e9, allow_nan=False)


@st.composite
def provinces(draw):
    n = draw(st.integers(min_value=1, max_value=40))
    rows = []
    for _ in range(n):
        rows.append(firm(
            region=draw(st.sampled_from(["330102", "330103", "330281"])),
            industry=draw(st.sampled_from(["C1711", "C1811", "C3670", "D4411", "F5123"])),
            land=draw(st.one_of(st.just(NAN), st.just(0.0), st.floats(0.1, 5000))),
            taxes=draw(st.one_of(st.just(NAN), st.just(0.0), finite)),
            va=draw(st.one_of(st.just(NAN), finite, finite.map(lambda x: -x / 10))),
            energy=draw(st.one_of(st.just(NAN), st.just(0.0), st.floats(0.01, 1e6))),
            emissions=draw(st.one_of(st.just(NAN), st.floats(0.001, 1e4))),
            employees=draw(st.one_of(st.just(0.0), st.integers(1, 5000).map(float))),
            rd=draw(st.one_of(st.just(NAN), st.just(0.0), finite)),
            revenue=draw(st.one_of(st.just(0.0), finite)),
        ))
    return rows


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(provinces())
def test_money_unit_changes_no_score_or_class(rows):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        base = run(rows).columns
        frame = frame_of(rows)
        frame[MONEY] = frame[MONEY] * 1e4
        scaled = mujun(frame, POLICY).columns
    assert scaled["mujun_class"].fillna("-").tolist() == base["mujun_class"].fillna("-").tolist()
    np.testing.assert_allclose(scaled["mujun_score"], base["mujun_score"], rtol=1e-9, atol=2e-9)
    assert scaled["mujun_indicators"].tolist() == base["mujun_indicators"].tolist()
    numbers = base.drop(columns="mujun_class").to_numpy(dtype=float)
    assert not np.isinf(numbers).any()
    score = base["mujun_score"].dropna()
    assert ((score >= 0) & (score <= 300)).all()
    assert (base["mujun_class"].notna() == base["mujun_score"].notna()).all()


# ------------------------------------------------------------------ synthetic province
@pytest.fixture(scope="module")
def province():
    ds = zjfin.datasets.synthetic_province(2000, seed=5)
    clean = zjfin.validate(ds, as_of="2019-03-31").dataset
    frame = zjfin._features.firm_frame(clean["firms"], clean["financials"], "2019-03-31")
    return frame, mujun(frame, POLICY).columns


def test_synthetic_province_class_shares_per_county(province):
    frame, out = province
    scored = out["mujun_score"].notna()
    assert scored.sum() > 500
    shares = np.cumsum(POLICY.mujun.class_shares)[:3]
    checked = 0
    for region, classes in out.loc[scored, "mujun_class"].groupby(frame.loc[scored, "region_code"].to_numpy()):
        n = len(classes)
        cumulative = np.cumsum([(classes == c).sum() for c in "ABC"])
        # Class sizes are the cumulative shares times n rounded to the nearest firm (± ties).
        assert np.all(np.abs(cumulative - shares * n) <= 1.0), (region, n, cumulative)
        checked += n >= 20
    assert checked >= 5
    overall = out.loc[scored, "mujun_class"].value_counts(normalize=True)
    for letter, share in zip("ABCD", POLICY.mujun.class_shares):
        assert overall[letter] == pytest.approx(share, abs=0.02)


def test_synthetic_province_scope_and_finiteness(province):
    frame, out = province
    industrial = frame["industry_code"].str[0].isin(["B", "C", "D"]).to_numpy()
    land = (frame["land_mu"] > 0).to_numpy()
    assert (out["mujun_score"].notna().to_numpy() <= (industrial & land)).all()
    assert out["mujun_score"].notna().sum() >= 0.99 * (industrial & land).sum()
    assert not np.isinf(out.drop(columns="mujun_class").to_numpy(dtype=float)).any()
    # Peers around the median: the typical score is near 100.
    assert 80 < out["mujun_score"].median() < 130


@pytest.mark.parametrize("n_groups", [7, 40_000])  # a radix sort on int16 groups; the integer-key sort beyond
def test_group_medians_match_pandas(n_groups):
    from zjfin.risks.mujun import _group_medians, _small, _starts

    rng = np.random.default_rng(n_groups)
    m = 60_000
    values = np.round(rng.normal(size=m), 1)  # many ties
    values[rng.random(m) < 0.1] = np.nan
    group = rng.integers(0, n_groups + 1, m)  # group n_groups: rows in no group
    order = np.argsort(np.where(np.isnan(values), np.inf, values))
    median, count = _group_medians(values, np.isnan(values), order, _small(group, n_groups), n_groups,
                                   _starts(group, n_groups))
    frame = pd.DataFrame({"g": group, "v": values})
    frame = frame[frame["g"] < n_groups]
    expected = frame.groupby("g")["v"].median().reindex(range(n_groups))
    expected_count = frame.groupby("g")["v"].count().reindex(range(n_groups), fill_value=0)
    np.testing.assert_allclose(median, expected.to_numpy(), rtol=0, atol=1e-12, equal_nan=True)
    np.testing.assert_array_equal(count, expected_count.to_numpy())
