"""DefaultModel: coefficients against hand-worked values and scikit-learn, the points
table, selection, calibration, missing values, categories and errors."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit, logit
from sklearn.linear_model import LogisticRegression

from zjfin._errors import ModelDataError, ParameterError
from zjfin.model import DefaultModel


def two_bin_data(copies: int = 25) -> tuple[pd.DataFrame, np.ndarray]:
    """x = 1: one default in four; x = 2: three in four; ``copies`` times over."""
    x = np.tile([1, 1, 1, 1, 2, 2, 2, 2], copies).astype(float)
    y = np.tile([0, 0, 0, 1, 0, 1, 1, 1], copies)
    return pd.DataFrame({"x": x}), y


def synthetic(n: int = 4000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({
        "leverage": rng.uniform(0, 1, n),
        "margin": rng.normal(0.05, 0.1, n),
        "noise": rng.normal(size=n),
    })
    y = (rng.uniform(size=n) < expit(-4 + 3 * X["leverage"] - 8 * X["margin"])).astype(int)
    return X, y


def test_saturated_two_bin_model_worked_by_hand():
    X, y = two_bin_data()
    m = DefaultModel(min_iv=0.0, l2_penalty=0.0, min_bin_share=0.1).fit(X, y)
    # 100 rows in each bin: 75 non-events + 25 events at x = 1, the reverse at x = 2.
    w1, w2 = math.log(75.5 / 25.5), math.log(25.5 / 75.5)
    np.testing.assert_allclose(m.binnings_["x"].woe[:2], [w1, w2], rtol=1e-12)
    # Two bins, two parameters: the fit reproduces each bin's default rate exactly,
    # logit(1/4) = b0 + b1·w1 and logit(3/4) = b0 + b1·w2.
    b1 = (logit(0.25) - logit(0.75)) / (w1 - w2)
    b0 = logit(0.25) - b1 * w1
    assert m.coef_[0] == pytest.approx(b1, rel=1e-7)
    assert m.intercept_ == pytest.approx(b0, abs=1e-7)
    np.testing.assert_allclose(m.predict_proba(pd.DataFrame({"x": [1.0, 2.0]}))[:, 1], [0.25, 0.75], rtol=1e-7)
    # Maximum-likelihood standard error of b1: sqrt of the inverse information matrix.
    design = np.column_stack([np.ones(200), np.repeat([w1, w2], 1)[np.tile([0] * 4 + [1] * 4, 25)]])
    p = expit(design @ [b0, b1])
    covariance = np.linalg.inv(design.T @ (design * (p * (1 - p))[:, None]))
    assert m.coef_table_.loc["x", "std_err"] == pytest.approx(math.sqrt(covariance[1, 1]), rel=1e-6)


@pytest.mark.parametrize("penalty", [0.0, 1.0, 25.0])
def test_coefficients_match_scikit_learn_on_the_woe_columns(penalty):
    X, y = synthetic()
    m = DefaultModel(l2_penalty=penalty, sign_check=False, max_correlation=None).fit(X, y)
    woe = m.transform_woe(X).to_numpy()
    # scikit-learn: ½‖w‖² + C·Σ loss, the intercept unpenalised, so C = 1/λ.
    reference = LogisticRegression(C=1 / penalty if penalty else np.inf, tol=1e-12, max_iter=10_000).fit(woe, y)
    np.testing.assert_allclose(m.coef_, reference.coef_[0], rtol=1e-4, atol=1e-6)
    assert m.intercept_ == pytest.approx(reference.intercept_[0], abs=1e-5)


def test_penalised_standard_errors_are_the_sandwich():
    X, y = synthetic(seed=1)
    penalty = 5.0
    m = DefaultModel(l2_penalty=penalty, sign_check=False).fit(X, y)
    design = np.column_stack([np.ones(len(y)), m.transform_woe(X).to_numpy()])
    p = expit(design @ np.r_[m.intercept_, m.coef_])
    information = design.T @ (design * (p * (1 - p))[:, None])
    ridge = np.diag(np.r_[0.0, np.full(len(m.coef_), penalty)])
    inverse = np.linalg.inv(information + ridge)
    expected = np.sqrt(np.diag(inverse @ information @ inverse))
    np.testing.assert_allclose(m.coef_table_["std_err"].to_numpy(), expected, rtol=1e-6)
    assert "sandwich" in m.inference_


def test_points_table_adds_up_to_the_score():
    X, y = synthetic(seed=2)
    m = DefaultModel(pdo=20, base_score=600, base_odds=50).fit(X, y)
    table = m.points_table()
    factor = 20 / math.log(2)
    offset = 600 - factor * math.log(50)
    linear = m.decision_function(X)
    np.testing.assert_allclose(m.points(X), offset - factor * linear, rtol=1e-12)
    # Base points plus each feature's bin points, looked up row by row.
    total = np.full(len(X), table.loc[table["feature"] == "(base points)", "points"].iloc[0])
    for name in m.features_:
        points = table.loc[table["feature"] == name, "points"].to_numpy()
        total += points[m.binnings_[name].codes(X[name])]
    np.testing.assert_allclose(m.points(X), total, rtol=1e-12)
    # Odds of 50:1 score 600; doubling the odds adds 20 points.
    good_odds = np.exp(-linear)
    np.testing.assert_allclose(m.points(X), 600 + 20 * np.log2(good_odds / 50), rtol=1e-10)


def test_selection_drops_duplicates_and_says_why():
    X, y = synthetic(seed=3)
    X["leverage_copy"] = X["leverage"] * 1.0001
    m = DefaultModel().fit(X, y)
    reasons = m.selection_table_.set_index("feature")["reason"]
    assert {"margin"} < set(m.features_)
    assert ("leverage" in m.features_) != ("leverage_copy" in m.features_)
    dropped_copy = "leverage_copy" if "leverage" in m.features_ else "leverage"
    assert reasons[dropped_copy].startswith("correlated 1.00 with")
    assert (reasons[m.features_] == "selected").all()


def test_significance_merging_collapses_a_noise_feature():
    X, y = synthetic(seed=3)
    loose = DefaultModel(min_iv=0.0).fit(X, y)
    strict = DefaultModel(min_iv=0.0, max_pvalue=0.05).fit(X, y)
    assert strict.binnings_["noise"].n_regular < loose.binnings_["noise"].n_regular
    assert strict.binnings_["noise"].iv < loose.binnings_["noise"].iv
    assert strict.binnings_["leverage"].n_regular >= 2


def test_stepwise_keeps_the_signal_and_logs_each_decision():
    X, y = synthetic(seed=4)
    m = DefaultModel(selection="stepwise", min_iv=0.0).fit(X, y)
    assert {"leverage", "margin"} <= set(m.features_)
    p_values = m.coef_table_["p_value"].drop("(intercept)")
    assert (p_values < 0.10).all()
    reasons = m.selection_table_.set_index("feature")["reason"]
    assert all(reasons[f] == "selected" for f in m.features_)
    assert all(r.startswith(("stepwise", "wrong sign", "selected")) for r in reasons)


def test_sign_check_removes_a_feature_with_a_contradicting_coefficient():
    # b follows a, so on its own it looks risky (its bins say so), but given a it lowers
    # the risk: its coefficient on the WOE comes out positive — the wrong sign.
    rng = np.random.default_rng(5)
    n = 8000
    a = rng.normal(size=n)
    b = 0.7 * a + 0.5 * rng.normal(size=n)
    y = (rng.uniform(size=n) < expit(-2 + 2 * a - 0.8 * b)).astype(int)
    X = pd.DataFrame({"a": a, "b": b})
    loose = DefaultModel(sign_check=False, max_correlation=None, l2_penalty=0.0).fit(X, y)
    strict = DefaultModel(max_correlation=None, l2_penalty=0.0).fit(X, y)
    assert loose.features_ == ["a", "b"] and loose.coef_[1] > 0  # the case the check is for
    assert strict.features_ == ["a"] and np.all(strict.coef_ < 0)
    assert strict.selection_table_.set_index("feature").loc["b", "reason"].startswith("wrong sign")


@pytest.mark.parametrize("method", ["platt", "isotonic"])
def test_calibration_maps_out_of_fold_scores_to_observed_rates(method):
    X, y = synthetic(n=6000, seed=6)
    m = DefaultModel(calibration=method, random_state=0).fit(X, y)
    p = m.predict_proba(X)[:, 1]
    assert m.calibrator_["method"] == method
    assert 0 <= p.min() and p.max() <= 1
    # Calibrated on out-of-fold predictions: the mean probability matches the default rate.
    assert p.mean() == pytest.approx(y.mean(), rel=0.1)
    # The map is fitted on out-of-fold scores, never on the training rows' own: refit the
    # model on the same stratified folds independently and fit the map with scikit-learn.
    from sklearn.isotonic import IsotonicRegression
    from sklearn.model_selection import StratifiedKFold

    out_of_fold = np.empty(len(y))
    for train, test in StratifiedKFold(n_splits=5, shuffle=True, random_state=0).split(np.zeros(len(y)), y):
        part = DefaultModel().fit(X.iloc[train], y[train])
        out_of_fold[test] = part.decision_function(X.iloc[test])
    if method == "platt":
        reference = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10_000).fit(out_of_fold[:, None], y)
        assert m.calibrator_["slope"] == pytest.approx(reference.coef_[0, 0], rel=1e-6)
        assert m.calibrator_["intercept"] == pytest.approx(reference.intercept_[0], rel=1e-6, abs=1e-8)
    else:
        reference = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(out_of_fold, y)
        np.testing.assert_allclose(m.calibrator_["x"], reference.X_thresholds_)
        np.testing.assert_allclose(m.calibrator_["y"], reference.y_thresholds_)
    # A monotone map: the order of the firms is that of the regression.
    linear = m.intercept_ + m.transform_woe(X).to_numpy() @ m.coef_
    order = np.argsort(linear)
    assert np.all(np.diff(p[order]) >= -1e-12)
    assert np.array_equal(m.predict(X), m.classes_[(m.decision_function(X) > 0).astype(int)])


def test_missing_values_have_their_own_risk_never_a_silent_zero():
    X, y = synthetic(seed=7)
    X.loc[:299, "leverage"] = np.nan
    y = np.asarray(y).copy()
    y[:300] = (np.arange(300) % 3 == 0).astype(int)  # a third of the firms without leverage defaulted
    m = DefaultModel().fit(X, y)
    b = m.binnings_["leverage"]
    assert b.missing_source == "data"
    assert b.woe[b.n_regular] < b.woe[: b.n_regular].min()
    unseen = m.binnings_["margin"]
    assert unseen.missing_source == "riskiest (unseen in training)"
    row = X.iloc[[400]].copy()
    safer = m.predict_proba(row)[0, 1]
    row["margin"] = np.nan
    assert m.predict_proba(row)[0, 1] >= safer


def test_text_columns_are_binned_as_categories():
    rng = np.random.default_rng(8)
    kind = rng.choice(["A11", "A12", "A13", "A14"], size=3000, p=[0.3, 0.3, 0.3, 0.1])
    y = (rng.uniform(size=3000) < pd.Series(kind).map({"A11": 0.4, "A12": 0.2, "A13": 0.1, "A14": 0.05})).astype(int)
    X = pd.DataFrame({"status": kind, "amount": rng.normal(size=3000)})
    m = DefaultModel().fit(X, y)
    assert m.binnings_["status"].kind == "categorical"
    p = m.predict_proba(pd.DataFrame({"status": ["A11", "A14", "never seen"], "amount": [0.0, 0.0, 0.0]}))[:, 1]
    assert p[0] > p[1]
    assert np.isfinite(p[2])


def test_summary_has_every_table():
    X, y = synthetic(seed=9)
    summary = DefaultModel().fit(X, y).summary()
    assert set(summary.tables) == {"model", "coefficients", "selection", "binning", "points"}
    text = str(summary)
    assert "coefficients" in text and "leverage" in text and "p_value" in text
    assert "<table" in summary._repr_html_()
    assert set(summary["binning"]["trend"]) <= {"ascending", "descending", "peak", "valley", "none"}


def test_training_errors_are_clear():
    X, y = synthetic(n=200)
    with pytest.raises(ModelDataError, match="1 class"):
        DefaultModel().fit(X, np.zeros(200))
    with pytest.raises(ModelDataError, match="Only binary"):
        DefaultModel().fit(X, np.arange(200) % 3)
    with pytest.raises(ParameterError, match=r"^min_bin_share must be a number in \(0, 0.5\], got 0.9$"):
        DefaultModel(min_bin_share=0.9).fit(X, y)
    with pytest.raises(ParameterError, match="^trend must be one of"):
        DefaultModel(trend="sideways").fit(X, y)
    with pytest.raises(ParameterError, match="^calibration must be one of"):
        DefaultModel(calibration="magic").fit(X, y)
    DefaultModel(min_bin_share=0.9)  # parameters are checked at fit, not at construction


def test_string_labels_take_the_larger_as_the_event():
    X, y = synthetic(seed=10)
    labels = np.where(y == 1, "bad", "good")  # "bad" < "good": the event must be named by position
    m = DefaultModel().fit(X, labels)
    assert list(m.classes_) == ["bad", "good"]
    # classes_[1] ("good") is the event column of predict_proba, as scikit-learn orders it.
    p_good = m.predict_proba(X)[:, 1]
    assert p_good[y == 0].mean() > p_good[y == 1].mean()


def test_explain_gives_each_firm_its_points():
    X, y = synthetic(seed=11)
    m = DefaultModel().fit(X, y)
    rows = X.iloc[[3, 7]]
    table = m.explain(rows)
    assert len(table) == 2 * (len(m.features_) + 1)
    totals = table.groupby("row", sort=False)["points"].sum()
    np.testing.assert_allclose(totals.to_numpy(), m.points(rows), rtol=1e-12)
    log_odds = table.groupby("row", sort=False)["log_odds"].sum()
    np.testing.assert_allclose(log_odds.to_numpy(), m.decision_function(rows), rtol=1e-12)
    first = table[table["row"] == rows.index[0]].set_index("feature")
    name = m.features_[0]
    assert first.loc[name, "value"] == rows.iloc[0][name]
    assert first.loc[name, "bin"] == m.binnings_[name].labels()[m.binnings_[name].codes(rows[name])[0]]


def test_score_has_scikit_learns_meaning_and_points_are_points():
    rng = np.random.default_rng(7)
    X = pd.DataFrame({"debt_ratio": rng.uniform(0, 1, 3000)})
    y = (rng.uniform(size=3000) < X["debt_ratio"] / 3).astype(int)
    m = DefaultModel().fit(X, y)
    assert m.score(X, y) == pytest.approx(float((m.predict(X) == y).mean()))
    with pytest.raises(TypeError):
        m.score(X)  # points are m.points(X)
    assert m.points(X).shape == (3000,)
