"""Size class (工信部联企业〔2011〕300号): every boundary of every industry.

The thresholds are transcribed here again from SPEC §3.1, independently of
data_schemas/policy/size_class_2011.csv, so a typo in either shows up.
E = employees, R = revenue (万元), A = total assets (万元).
"""

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zjfin._features import current_financials, size_class

SPEC_31 = [
    # (sector, sample codes, large, medium floors, small floors)
    ("agriculture", ["A0111", "A05"], {"R": 20000}, {"R": 500}, {"R": 50}),
    ("industry", ["B0610", "C1711", "C3670", "D4411"], {"E": 1000, "R": 40000}, {"E": 300, "R": 2000}, {"E": 20, "R": 300}),
    ("construction", ["E4710", "E50"], {"R": 80000, "A": 80000}, {"R": 6000, "A": 5000}, {"R": 300, "A": 300}),
    ("wholesale", ["F5123", "F51"], {"E": 200, "R": 40000}, {"E": 20, "R": 5000}, {"E": 5, "R": 1000}),
    ("retail", ["F5211"], {"E": 300, "R": 20000}, {"E": 50, "R": 500}, {"E": 10, "R": 100}),
    ("transport", ["G5310", "G5411", "G5520", "G5610", "G5710", "G5810"], {"E": 1000, "R": 30000}, {"E": 300, "R": 3000}, {"E": 20, "R": 200}),
    ("warehousing", ["G5951"], {"E": 200, "R": 30000}, {"E": 100, "R": 1000}, {"E": 20, "R": 100}),
    ("postal", ["G6010"], {"E": 1000, "R": 30000}, {"E": 300, "R": 2000}, {"E": 20, "R": 100}),
    ("accommodation", ["H6110"], {"E": 300, "R": 10000}, {"E": 100, "R": 2000}, {"E": 10, "R": 100}),
    ("catering", ["H6210"], {"E": 300, "R": 10000}, {"E": 100, "R": 2000}, {"E": 10, "R": 100}),
    ("information transmission", ["I6311", "I6410"], {"E": 2000, "R": 100000}, {"E": 100, "R": 1000}, {"E": 10, "R": 100}),
    ("software and IT services", ["I6510", "I65"], {"E": 300, "R": 10000}, {"E": 100, "R": 1000}, {"E": 10, "R": 50}),
    ("real-estate development", ["K7010"], {"R": 200000, "A": 10000}, {"R": 1000, "A": 5000}, {"R": 100, "A": 2000}),
    ("property management", ["K7020"], {"E": 1000, "R": 5000}, {"E": 300, "R": 1000}, {"E": 100, "R": 500}),
    ("leasing and business services", ["L7111", "L7211"], {"E": 300, "A": 120000}, {"E": 100, "A": 8000}, {"E": 10, "A": 100}),
    ("other", ["M7310", "K7030", "J6610", "O8010"], {"E": 300}, {"E": 100}, {"E": 10}),
]
WAN = 1e4
CASES = [(sector, code, large, medium, small) for sector, codes, large, medium, small in SPEC_31 for code in codes]


def firm(code, E=None, R=None, A=None):
    # Indicators an industry does not use are set generously: they must not matter.
    return {
        "industry_code": code,
        "employees": np.nan if E is None else E,
        "revenue": np.nan if R is None else R * WAN,
        "total_assets": np.nan if A is None else A * WAN,
    }


def classify(rows):
    return size_class(pd.DataFrame(rows)).tolist()


def at(levels, **override):
    values = dict(levels)
    values.update(override)
    return values


@pytest.mark.parametrize("sector,code,large,medium,small", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_every_boundary(sector, code, large, medium, small):
    rows, expected = [], []
    # At each floor the class is reached ("以上" includes the number).
    rows += [firm(code, **large), firm(code, **medium), firm(code, **small)]
    expected += ["large", "medium", "small"]
    for indicator in medium:
        # One unit below one medium floor, the other indicators at their floors: small.
        unit = 1 if indicator == "E" else 1 / WAN  # one person, or one yuan
        rows.append(firm(code, **at(medium, **{indicator: medium[indicator] - unit})))
        expected.append("small")
        # Revenue/assets one 万元 below too.
        if indicator != "E":
            rows.append(firm(code, **at(medium, **{indicator: medium[indicator] - 1})))
            expected.append("small")
    for indicator in small:
        unit = 1 if indicator == "E" else 1 / WAN
        rows.append(firm(code, **at(small, **{indicator: small[indicator] - unit})))
        expected.append("micro")
    for indicator in large:
        # Large needs every ceiling: one below on any one of them is medium.
        unit = 1 if indicator == "E" else 1 / WAN
        rows.append(firm(code, **at(large, **{indicator: large[indicator] - unit})))
        expected.append("medium")
    # Zero of everything is micro.
    rows.append(firm(code, **{k: 0 for k in small}))
    expected.append("micro")
    assert classify(rows) == expected


@pytest.mark.parametrize("sector,code,large,medium,small", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_missing_needed_indicator_is_unknown(sector, code, large, medium, small):
    for indicator in small:
        values = at(large)
        values.pop(indicator)
        assert classify([firm(code, **values)]) == ["unknown"]
    # A negative headcount or revenue is impossible: unknown too, never micro.
    first = next(iter(small))
    assert classify([firm(code, **at(large, **{first: -1}))]) == ["unknown"]


def test_unused_indicator_does_not_matter():
    # Agriculture is classed by revenue alone: no headcount needed.
    assert classify([firm("A0111", R=500)]) == ["medium"]
    # Industry ignores assets.
    assert classify([firm("C1711", E=300, R=2000, A=None)]) == ["medium"]


def test_current_financials_picks_latest_on_or_before():
    fin = pd.DataFrame(
        {
            "firm_id": ["a", "a", "a", "b"],
            "period_end": pd.to_datetime(["2016-12-31", "2018-12-31", "2017-12-31", "2019-06-30"]),
            "revenue": [1.0, 3.0, 2.0, 9.0],
        }
    )
    assert current_financials(fin, "2019-03-31")["revenue"].to_dict() == {"a": 3.0}
    assert current_financials(fin, "2019-03-31", lag=1)["revenue"].to_dict() == {"a": 2.0}
    assert current_financials(fin, "2019-12-31")["revenue"].to_dict() == {"a": 3.0, "b": 9.0}


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), st.dates(dt.date(1700, 1, 1), dt.date(2250, 12, 31))),
                min_size=1, max_size=25),
       st.integers(0, 3))
def test_current_financials_is_the_lagged_latest_period_per_firm(rows, lag):
    """By pandas: per firm, periods on or before the as-of date newest first (ties in file
    order), the one at position ``lag``."""
    fin = pd.DataFrame({"firm_id": [r[0] for r in rows], "period_end": pd.to_datetime([r[1] for r in rows]),
                        "revenue": np.arange(len(rows), dtype=float)})
    as_of = pd.Timestamp("2100-06-30")
    eligible = fin[fin["period_end"] <= as_of]
    ordered = eligible.sort_values("period_end", ascending=False, kind="stable").sort_values("firm_id", kind="stable")
    expected = ordered.groupby("firm_id").nth(lag)  # ties on a date: the earlier row of the file first
    got = current_financials(fin, as_of, lag=lag)
    assert got["revenue"].to_dict() == dict(zip(expected["firm_id"], expected["revenue"]))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.dates(dt.date(1960, 1, 1), dt.date(2030, 12, 31)), st.booleans()), max_size=25),
       st.booleans())
def test_ranked_statements_match_a_groupby_rank(rows, by_index):
    """Each kept statement on or before the as-of date, ordered by firm (first appearance of
    the firm code) and newest first, ranked within its firm, as pandas' stable sort and
    cumcount give it — dates before 1970 included (days floor like datetime64[D])."""
    from zjfin._features import ranked_statements

    frame = pd.DataFrame({"firm_id": [f"f{f}" for f, _, _ in rows],
                          "period_end": pd.to_datetime([d for _, d, _ in rows]).astype("datetime64[ns]")})
    if by_index:
        frame["firm_idx"] = [f for f, _, _ in rows]
    keep = np.array([k for _, _, k in rows], dtype=bool)
    as_of = pd.Timestamp("2019-03-31")
    positions, rank = ranked_statements(frame, as_of, keep=keep)
    eligible = frame[(frame["period_end"] <= as_of).to_numpy() & keep].copy()
    eligible["code"] = eligible["firm_idx"] if by_index else pd.factorize(frame["firm_id"])[0][eligible.index]
    expected = eligible.assign(day=eligible["period_end"].to_numpy().astype("datetime64[D]").astype(np.int64)).sort_values(
        ["code", "day"], ascending=[True, False], kind="stable")
    assert positions.tolist() == expected.index.tolist()
    assert rank.tolist() == expected.groupby("code", sort=False).cumcount().tolist()
