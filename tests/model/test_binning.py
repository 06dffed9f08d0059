"""Monotone binning and WOE, against hand-worked numbers and scikit-learn's isotonic fit."""

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.isotonic import IsotonicRegression

from zjfin.model.binning import bin_feature, pava


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(-5, 5), st.floats(0.1, 10)), min_size=1, max_size=30))
def test_pava_matches_scikit_learn_isotonic_regression(pairs):
    values = np.array([v for v, _ in pairs])
    weights = np.array([w for _, w in pairs])
    expected = IsotonicRegression().fit(np.arange(len(values)), values, sample_weight=weights).predict(np.arange(len(values)))
    np.testing.assert_allclose(pava(values, weights), expected, atol=1e-9)


def test_woe_and_iv_of_a_two_bin_feature_worked_by_hand():
    # x = 1: 3 non-events, 1 event; x = 2: 1 non-event, 3 events.
    x = np.array([1, 1, 1, 1, 2, 2, 2, 2], dtype=float)
    y = np.array([0, 0, 0, 1, 0, 1, 1, 1])
    b = bin_feature(x, y, "x", trend="ascending", min_bin_share=0.1)
    assert b.cuts.tolist() == [1.5]
    # woe = ln((non_events + ½)/4) − ln((events + ½)/4)
    low, high = math.log(3.5 / 1.5), math.log(1.5 / 3.5)
    np.testing.assert_allclose(b.woe[:2], [low, high], rtol=1e-12)
    # IV = (3/4 − 1/4)·low + (1/4 − 3/4)·high
    assert b.iv == pytest.approx(0.5 * low - 0.5 * high, rel=1e-12)
    table = b.table()
    assert table["count"].tolist() == [4, 4, 0, 0]
    assert table["event_rate"].iloc[:2].tolist() == [0.25, 0.75]


def test_a_value_on_a_cut_goes_to_the_upper_bin():
    x = np.r_[np.zeros(50), np.ones(50)]
    y = np.r_[np.zeros(45), np.ones(5), np.zeros(25), np.ones(25)]
    b = bin_feature(x, y, "x")
    assert b.codes(np.array([0.5, 0.4999, 1.0])).tolist() == [1, 0, 1]


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from(["ascending", "descending"]), st.floats(0.02, 0.2))
def test_bins_follow_the_trend_and_respect_the_minimum_share(seed, trend, share):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=600)
    y = (rng.uniform(size=600) < 1 / (1 + np.exp(-x))).astype(int)
    b = bin_feature(x, y, "x", trend=trend, min_bin_share=share)
    count = b.events + b.non_events
    rate = b.events[: b.n_regular] / count[: b.n_regular]
    steps = np.diff(rate)
    assert np.all(steps >= -1e-12) if trend == "ascending" else np.all(steps <= 1e-12)
    # The WOE (positive is safer) follows the trend too: it falls as the risk rises.
    woe_steps = np.diff(b.woe[: b.n_regular])
    assert np.all(woe_steps <= 1e-12) if trend == "ascending" else np.all(woe_steps >= -1e-12)
    if b.n_regular > 1:
        assert count[: b.n_regular].min() >= share * 600 - 1e-9
    assert count.sum() == 600
    # Every row lands in the bin whose counts include it.
    codes = b.codes(x)
    np.testing.assert_array_equal(np.bincount(codes, minlength=len(b.woe)), count)
    np.testing.assert_array_equal(np.bincount(codes, weights=y, minlength=len(b.woe)), b.events)


def test_auto_trend_picks_the_direction_and_a_clear_peak():
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 1, 5000)
    down = (rng.uniform(size=5000) < 0.3 - 0.25 * x).astype(int)
    assert bin_feature(x, down, "x").trend == "descending"
    hump = (rng.uniform(size=5000) < 0.05 + 0.4 * np.exp(-((x - 0.5) ** 2) / 0.02)).astype(int)
    b = bin_feature(x, hump, "x")
    assert b.trend == "peak"
    assert bin_feature(x, hump, "x", trend="auto_monotone").trend in ("ascending", "descending")
    rate = b.events[: b.n_regular] / (b.events + b.non_events)[: b.n_regular]
    top = int(np.argmax(rate))
    assert np.all(np.diff(rate[: top + 1]) >= 0) and np.all(np.diff(rate[top:]) <= 0)


def test_missing_and_special_values_get_their_own_bins():
    rng = np.random.default_rng(4)
    x = rng.normal(size=1000)
    x[:100] = np.nan
    x[100:150] = -999.0
    y = (rng.uniform(size=1000) < 0.1).astype(int)
    y[:100] = 1  # every missing row defaulted
    b = bin_feature(x, y, "x", special_values=[-999.0])
    missing, special = b.n_regular, b.n_regular + 1
    assert b.events[missing] == 100 and b.non_events[missing] == 0
    assert b.events[special] + b.non_events[special] == 50
    assert b.missing_source == "data" and b.special_source == "data"
    assert b.transform(np.array([np.nan]))[0] == b.woe[missing] < b.woe[: b.n_regular].min()
    assert b.labels()[-2:] == ["missing", "special: -999"]


def test_a_missing_value_unseen_in_training_takes_the_riskiest_bin_and_says_so():
    x = np.arange(200, dtype=float)
    y = (x > 150).astype(int)
    b = bin_feature(x, y, "x")
    assert b.missing_source == "riskiest (unseen in training)"
    assert b.transform(np.array([np.nan]))[0] == b.woe[: b.n_regular].min() != 0
    assert b.table()["woe_from"].iloc[-2] == "riskiest (unseen in training)"


def test_categories_rare_ones_pooled_and_unseen_ones_with_them():
    values = pd.Series(["a"] * 400 + ["b"] * 400 + ["c"] * 190 + ["d"] * 10)
    y = np.r_[np.zeros(380), np.ones(20), np.zeros(300), np.ones(100), np.zeros(150), np.ones(40), np.ones(10)]
    b = bin_feature(values, y, "kind", kind="categorical", min_bin_share=0.05)
    assert b.categories[-1] == ["(other)", "d"]
    assert sorted(sum(b.categories[:-1], [])) == ["a", "b", "c"]
    codes = b.codes(pd.Series(["d", "zzz", None, "a"]))
    assert codes[0] == codes[1] == b.n_regular - 1  # unseen "zzz" goes with the rare ones
    assert codes[2] == b.n_regular  # missing
    # Categories are ordered by default rate: a (5 %) safest.
    assert b.categories[0] == ["a"]


def test_a_constant_feature_has_one_bin_and_no_information():
    b = bin_feature(np.ones(100), np.r_[np.zeros(90), np.ones(10)], "flat")
    assert b.n_regular == 1 and b.iv == pytest.approx(0.0, abs=1e-12) and b.trend == "none"


def test_woe_follows_the_trend_when_a_small_bin_has_no_defaults():
    # A small bin with no default and a large one with a tiny rate are in ascending order
    # by raw rate (0 < 2/10,000), but with half counts the small bin looks riskier:
    # (0 + ½) / 1,001 > (2 + ½) / 10,001. The bins must be pooled so the WOE keeps the trend.
    x = np.r_[np.full(1000, 1.0), np.full(10_000, 2.0), np.full(1000, 3.0)]
    y = np.r_[np.zeros(1000), np.r_[np.ones(2), np.zeros(9998)], np.r_[np.ones(193), np.zeros(807)]]
    b = bin_feature(x, y, "x", trend="ascending", min_bin_share=0.05)
    regular = b.woe[: b.n_regular]
    assert np.all(np.diff(regular) <= 0)
    # Worked by hand: {1, 2} pooled (2 defaults in 11,000), {3} alone (193 in 1,000).
    assert b.n_regular == 2
    events, non_events = 195.0, 12_000 - 195.0
    expected = [np.log((10_998 + 0.5) / non_events) - np.log((2 + 0.5) / events),
                np.log((807 + 0.5) / non_events) - np.log((193 + 0.5) / events)]
    np.testing.assert_allclose(regular, expected, rtol=1e-12)
    from zjfin.model import DefaultModel

    m = DefaultModel(trend="ascending", min_iv=0.0).fit(pd.DataFrame({"x": x}), y.astype(int))
    p = m.predict_proba(pd.DataFrame({"x": [1.0, 2.0, 3.0]}))[:, 1]
    assert p[0] <= p[1] <= p[2]


def test_special_categories_get_the_special_bin():
    rng = np.random.default_rng(3)
    sector = pd.Series(rng.choice(["C", "F", "K", "N/A"], size=2000, p=[0.5, 0.3, 0.18, 0.02]))
    y = (rng.uniform(size=2000) < np.where(sector == "N/A", 0.6, 0.1)).astype(int)
    b = bin_feature(sector, y, "sector", kind="categorical", special_values=["N/A"])
    assert all("N/A" not in group for group in b.categories)
    special_bin = b.n_regular + 1
    codes = b.codes(sector)
    assert (codes[(sector == "N/A").to_numpy()] == special_bin).all()
    assert b.events[special_bin] == y[(sector == "N/A").to_numpy()].sum()
    assert b.labels()[special_bin] == "special: N/A"
    again = type(b).from_dict(b.to_dict())
    np.testing.assert_array_equal(again.codes(sector), codes)
