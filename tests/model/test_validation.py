"""Validation metrics against scikit-learn and scipy, PSI and Hosmer–Lemeshow by hand."""

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from sklearn.metrics import brier_score_loss, roc_auc_score

from zjfin._errors import ModelDataError
from zjfin.model import DefaultModel, auc, calibration_table, evaluate, ks_statistic, psi, validate
from zjfin.model.validation import hosmer_lemeshow

outcomes = st.lists(st.tuples(st.integers(0, 1), st.integers(0, 20)), min_size=2, max_size=80).filter(
    lambda rows: 0 < sum(r[0] for r in rows) < len(rows))


@settings(max_examples=80, deadline=None)
@given(outcomes)
def test_auc_matches_scikit_learn_with_ties(rows):
    y = np.array([r[0] for r in rows])
    score = np.array([r[1] for r in rows], dtype=float) / 20  # few distinct values: many ties
    assert auc(y, score) == pytest.approx(roc_auc_score(y, score), abs=1e-12)


@settings(max_examples=80, deadline=None)
@given(outcomes)
def test_ks_matches_the_largest_gap_between_the_two_empirical_distributions(rows):
    y = np.array([r[0] for r in rows])
    score = np.array([r[1] for r in rows], dtype=float)
    # Brute force: both empirical CDFs at every observed score.
    grid = np.unique(score)
    events = (score[y == 1][None, :] <= grid[:, None]).mean(axis=1)
    non_events = (score[y == 0][None, :] <= grid[:, None]).mean(axis=1)
    expected = np.max(np.abs(events - non_events))
    assert ks_statistic(y, score) == pytest.approx(expected, abs=1e-12)


def test_psi_by_hand():
    # (0.6 − 0.5)·ln(0.6/0.5) + (0.4 − 0.5)·ln(0.4/0.5)
    expected = 0.1 * math.log(1.2) - 0.1 * math.log(0.8)
    assert psi([50, 50], [60, 40]) == pytest.approx(expected, rel=1e-12)
    assert psi([1, 2, 3], [1, 2, 3]) == 0.0
    # An empty bin is floored at 0.0001, not infinite.
    assert np.isfinite(psi([0.5, 0.5, 0.0], [0.4, 0.4, 0.2]))


def test_calibration_table_and_hosmer_lemeshow_by_hand():
    y = np.array([0, 0, 1, 0, 1, 1])
    p = np.array([0.1, 0.2, 0.3, 0.6, 0.7, 0.8])
    table = calibration_table(y, p, groups=2)
    assert table["count"].tolist() == [3, 3]
    assert table["events"].tolist() == [1, 2]
    np.testing.assert_allclose(table["mean_pd"], [0.2, 0.7])
    statistic, p_value = hosmer_lemeshow(table)
    # Σ (O − E)² / (E·(1 − E/n)): group 1 E = 0.6, group 2 E = 2.1.
    expected = (1 - 0.6) ** 2 / (0.6 * 0.8) + (2 - 2.1) ** 2 / (2.1 * 0.3)
    assert statistic == pytest.approx(expected, rel=1e-12)
    assert p_value == pytest.approx(stats.chi2.sf(expected, 1), rel=1e-12)  # max(2 − 2, 1) degrees


def sample(n, seed, shift=0.0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"leverage": rng.uniform(0, 1, n) + shift, "margin": rng.normal(0.05, 0.1, n)})
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(4 - 3 * X["leverage"] + 8 * X["margin"]))).astype(int)
    return X, y


def test_validate_reports_every_metric():
    X, y = sample(6000, 0)
    m = DefaultModel().fit(X[:4000], y[:4000])
    v = evaluate(m, X[4000:], y[4000:])
    p = m.predict_proba(X[4000:])[:, 1]
    assert v.auc == pytest.approx(roc_auc_score(y[4000:], p), abs=1e-12)
    assert v.gini == pytest.approx(2 * v.auc - 1)
    assert v.brier == pytest.approx(brier_score_loss(y[4000:], p), abs=1e-12)
    assert 0 < v.ks < 1
    frame = v.to_frame()
    assert {"auc", "gini", "ks", "brier", "hosmer_lemeshow", "hosmer_lemeshow_p", "score_psi"} <= set(frame.index)
    assert v.calibration["count"].sum() == 2000
    assert list(v.features["feature"]) == m.features_
    assert (v.features["psi"] < 0.1).all() and v.score_psi < 0.1  # same population
    assert "calibration" in v.summary()


def test_psi_flags_a_shifted_population():
    X, y = sample(4000, 1)
    m = DefaultModel().fit(X, y)
    shifted, y2 = sample(4000, 2, shift=0.6)
    v = evaluate(m, shifted, y2)
    psi_by_feature = v.features.set_index("feature")["psi"]
    assert psi_by_feature["leverage"] > 0.25
    assert v.score_psi > 0.1
    # Against an explicit reference sample instead of the training shares.
    same = evaluate(m, shifted, y2, reference=shifted)
    assert same.features["psi"].max() == pytest.approx(0.0, abs=1e-12) and same.score_psi == pytest.approx(0.0, abs=1e-12)


def test_plots_draw(tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    X, y = sample(3000, 3)
    v = evaluate(DefaultModel().fit(X, y), X, y)
    for plot in (v.plot_roc, v.plot_ks, v.plot_calibration):
        ax = plot()
        assert ax.get_title()
        ax.figure.savefig(tmp_path / f"{plot.__name__}.png")
    curve = v.roc_curve()
    assert curve["fpr"].iloc[0] == 0 and curve["tpr"].iloc[-1] == 1
    assert np.trapezoid(curve["tpr"], curve["fpr"]) == pytest.approx(v.auc, abs=1e-9)


def test_one_class_is_an_error():
    with pytest.raises(ModelDataError, match="1 class"):
        auc(np.zeros(5), np.arange(5))


def test_validate_is_a_deprecated_name_of_evaluate():
    rng = np.random.default_rng(5)
    X = pd.DataFrame({"debt_ratio": rng.uniform(0, 1, 2000)})
    y = (rng.uniform(size=2000) < X["debt_ratio"] / 4).astype(int)
    m = DefaultModel().fit(X, y)
    with pytest.warns(DeprecationWarning, match="renamed zjfin.model.evaluate"):
        old = validate(m, X, y)
    assert old.to_frame().equals(evaluate(m, X, y).to_frame())
