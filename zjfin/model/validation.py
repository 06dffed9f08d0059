"""Validation a regulator can audit: discrimination, calibration and stability.

Every figure is computed here from its definition (no black box):

- **AUC**: the Mann–Whitney statistic, the chance that a random defaulter scores a higher
  probability than a random non-defaulter (ties count half); **Gini** = 2·AUC − 1.
- **KS**: the largest gap between the cumulative distributions of the probability among
  defaulters and among non-defaulters.
- **Brier**: mean squared difference between probability and outcome.
- **Calibration**: rows in groups of predicted probability (deciles), predicted against
  observed default rate, with the Hosmer–Lemeshow statistic (χ², groups − 2 degrees of
  freedom).
- **IV** per feature on this sample, with the model's bins.
- **PSI** (population stability) per feature and for the score, between a reference
  sample (by default the training sample, whose bin shares the model keeps) and this one:
  ``Σ (actual − expected) · ln(actual / expected)``, shares floored at 0.0001 so that an
  empty bin stays finite. Read: below 0.1 stable, 0.1–0.25 watch, above 0.25 shifted.
"""

from __future__ import annotations

import warnings

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from zjfin._errors import ModelDataError

__all__ = ["ModelValidation", "auc", "evaluate", "ks_statistic", "psi", "validate"]

_SHARE_FLOOR = 1e-4
_CALIBRATION_GROUPS = 10


def auc(y: Any, score: Any) -> float:
    """Area under the ROC curve by the rank-sum (Mann–Whitney) statistic.

    Examples
    --------
    >>> auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    """
    y, score = _binary(y), np.asarray(score, dtype=float)
    events = int(y.sum())
    ranks = stats.rankdata(score)
    return float((ranks[y == 1].sum() - events * (events + 1) / 2) / (events * (len(y) - events)))


def ks_statistic(y: Any, score: Any) -> float:
    """Kolmogorov–Smirnov distance between the scores of defaulters and non-defaulters.

    Examples
    --------
    >>> ks_statistic([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.5
    """
    y, score = _binary(y), np.asarray(score, dtype=float)
    order = np.argsort(score, kind="stable")
    sorted_score, sorted_y = score[order], y[order]
    # Evaluate only after the last row of each distinct score: tied rows move together.
    last = np.r_[np.flatnonzero(np.diff(sorted_score) != 0), len(score) - 1]
    events = np.cumsum(sorted_y)[last] / sorted_y.sum()
    non_events = np.cumsum(1 - sorted_y)[last] / (len(y) - sorted_y.sum())
    return float(np.max(np.abs(events - non_events)))


def psi(expected: Any, actual: Any) -> float:
    """Population stability index between two vectors of bin shares (or counts).

    Examples
    --------
    >>> round(psi([0.5, 0.5], [0.6, 0.4]), 6)
    0.040547
    """
    expected = np.asarray(expected, dtype=float)
    actual = np.asarray(actual, dtype=float)
    expected = np.maximum(expected / expected.sum(), _SHARE_FLOOR)
    actual = np.maximum(actual / actual.sum(), _SHARE_FLOOR)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def _binary(y: Any) -> np.ndarray:
    """Outcomes as 0.0/1.0; two other labels: the larger one is the event."""
    y = np.asarray(y)
    values = np.unique(y)
    if len(values) > 2:
        raise ModelDataError(f"y must hold two classes, got {len(values)}")
    if not set(values.tolist()) <= {0, 1}:
        y = y == values[-1]
    y = y.astype(float)
    if y.sum() == 0 or y.sum() == len(y):
        raise ModelDataError("y has 1 class: AUC, KS and calibration need defaulters and non-defaulters")
    return y


def calibration_table(y: Any, probability: Any, groups: int = _CALIBRATION_GROUPS) -> pd.DataFrame:
    """Predicted against observed default rate in groups of predicted probability."""
    y, probability = _binary(y), np.asarray(probability, dtype=float)
    order = np.argsort(probability, kind="stable")
    # Equal-count groups over the sorted rows (ties may straddle a boundary).
    group = np.empty(len(y), dtype=np.int64)
    group[order] = np.arange(len(y)) * groups // len(y)
    count = np.bincount(group, minlength=groups).astype(float)
    used = count > 0
    events = np.bincount(group, weights=y, minlength=groups)[used]
    predicted = np.bincount(group, weights=probability, minlength=groups)[used]
    lower = np.full(groups, np.inf)
    upper = np.full(groups, -np.inf)
    np.minimum.at(lower, group, probability)
    np.maximum.at(upper, group, probability)
    count = count[used]
    return pd.DataFrame({
        "group": np.arange(1, int(used.sum()) + 1), "pd_from": lower[used], "pd_to": upper[used],
        "count": count.astype(np.int64), "events": events.astype(np.int64),
        "mean_pd": predicted / count, "observed_rate": events / count,
    })


def hosmer_lemeshow(table: pd.DataFrame) -> tuple[float, float]:
    """Hosmer–Lemeshow χ² over the calibration table's groups and its p-value."""
    count, events, expected = table["count"].to_numpy(float), table["events"].to_numpy(float), \
        (table["mean_pd"] * table["count"]).to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = (events - expected) ** 2 / (expected * (1 - expected / count))
    statistic = float(np.nansum(terms))
    dof = max(len(table) - 2, 1)
    return statistic, float(stats.chi2.sf(statistic, dof))


class ModelValidation:
    """What :func:`validate` returns: metrics, tables and plots."""

    def __init__(self, metrics: dict[str, float], calibration: pd.DataFrame, features: pd.DataFrame,
                 y: np.ndarray, probability: np.ndarray) -> None:
        self.metrics = metrics
        self.calibration = calibration
        self.features = features
        self._y = y
        self._probability = probability

    def __getattr__(self, name: str) -> float:
        metrics = self.__dict__.get("metrics", {})
        if name in metrics:
            return metrics[name]
        raise AttributeError(name)

    def to_frame(self) -> pd.DataFrame:
        """The headline metrics, one row each."""
        return pd.DataFrame({"value": pd.Series(self.metrics)}).rename_axis("metric")

    def summary(self) -> str:
        with pd.option_context("display.width", 140, "display.max_columns", 20):
            return "\n\n".join([
                "== metrics ==\n" + self.to_frame().to_string(),
                "== calibration ==\n" + self.calibration.to_string(index=False),
                "== features ==\n" + self.features.to_string(index=False),
            ])

    def __repr__(self) -> str:
        return self.summary()

    def roc_curve(self) -> pd.DataFrame:
        """False and true positive rates at every distinct probability, highest first."""
        order = np.argsort(-self._probability, kind="stable")
        score, y = self._probability[order], self._y[order]
        last = np.r_[np.flatnonzero(np.diff(score) != 0), len(score) - 1]
        tpr = np.r_[0.0, np.cumsum(y)[last] / y.sum()]
        fpr = np.r_[0.0, np.cumsum(1 - y)[last] / (len(y) - y.sum())]
        return pd.DataFrame({"threshold": np.r_[np.inf, score[last]], "fpr": fpr, "tpr": tpr})

    def plot_roc(self, ax: Any = None) -> Any:
        """ROC curve with the AUC in the title."""
        ax = _axes(ax)
        curve = self.roc_curve()
        ax.plot(curve["fpr"], curve["tpr"], color="C0")
        ax.plot([0, 1], [0, 1], color="grey", linestyle=":")
        ax.set(xlabel="false positive rate", ylabel="true positive rate",
               title=f"ROC, AUC {self.metrics['auc']:.3f}")
        return ax

    def plot_ks(self, ax: Any = None) -> Any:
        """Cumulative shares of defaulters and non-defaulters by probability, with the KS gap."""
        ax = _axes(ax)
        curve = self.roc_curve().iloc[1:]
        threshold = curve["threshold"].to_numpy()
        ax.plot(threshold, 1 - curve["tpr"], label="defaulters", color="C3")
        ax.plot(threshold, 1 - curve["fpr"], label="non-defaulters", color="C0")
        gap = np.argmax(np.abs(curve["tpr"].to_numpy() - curve["fpr"].to_numpy()))
        ax.vlines(threshold[gap], 1 - curve["tpr"].iloc[gap], 1 - curve["fpr"].iloc[gap], color="black")
        ax.set(xlabel="probability of default", ylabel="cumulative share", title=f"KS {self.metrics['ks']:.3f}")
        ax.legend()
        return ax

    def plot_calibration(self, ax: Any = None) -> Any:
        """Observed against predicted default rate per group."""
        ax = _axes(ax)
        table = self.calibration
        top = float(max(table["mean_pd"].max(), table["observed_rate"].max()))
        ax.plot([0, top], [0, top], color="grey", linestyle=":")
        ax.plot(table["mean_pd"], table["observed_rate"], marker="o", color="C0")
        ax.set(xlabel="mean predicted probability", ylabel="observed default rate",
               title=f"calibration, Brier {self.metrics['brier']:.4f}")
        return ax


def _axes(ax: Any) -> Any:
    from zjfin._plots import _axes as plot_axes, _require_matplotlib

    _require_matplotlib()
    return plot_axes(ax, (5.0, 4.0))


def evaluate(model: Any, X: Any, y: Any, reference: Any = None) -> ModelValidation:
    """Evaluate a fitted model on a sample: discrimination, calibration, stability.

    Parameters
    ----------
    model : DefaultModel
        Fitted.
    X, y : features and 0/1 outcomes (or the model's two class labels)
    reference : DataFrame, optional
        The sample PSI compares against; by default the training sample (its bin shares).

    Returns
    -------
    ModelValidation
        ``auc``, ``ks``, ``gini``, ``brier``, ``hosmer_lemeshow`` and its p-value,
        ``score_psi``; the calibration table; per feature IV and PSI; ``to_frame()`` and
        plots.

    Examples
    --------
    >>> from zjfin.model import DefaultModel
    >>> rng = np.random.default_rng(2)
    >>> X = pd.DataFrame({"debt_ratio": rng.uniform(0, 1, 3000)})
    >>> y = (rng.uniform(size=3000) < X["debt_ratio"] / 4).astype(int)
    >>> m = DefaultModel().fit(X[:2000], y[:2000])
    >>> v = evaluate(m, X[2000:], y[2000:])
    >>> bool(v.auc > 0.6), round(v.gini - (2 * v.auc - 1), 12)
    (True, 0.0)
    """
    y_array = np.asarray(y)
    classes = list(model.classes_)
    if set(np.unique(y_array).tolist()) <= set(classes):
        y01 = (y_array == classes[1]).astype(float)
    else:
        y01 = _binary(y_array)
    probability = model.predict_proba(X)[:, 1]
    table = calibration_table(y01, probability)
    statistic, p_value = hosmer_lemeshow(table)
    linear = model._linear_predictor(X)
    if reference is None:
        expected_score = model.score_shares_
    else:
        reference_linear = model._linear_predictor(reference)
        expected_score = np.bincount(np.searchsorted(model.score_cuts_, reference_linear, side="right"),
                                     minlength=len(model.score_cuts_) + 1)
    actual_score = np.bincount(np.searchsorted(model.score_cuts_, linear, side="right"),
                               minlength=len(model.score_cuts_) + 1)
    value = auc(y01, probability)
    metrics = {
        "rows": float(len(y01)), "event_rate": float(y01.mean()), "auc": value, "gini": 2 * value - 1,
        "ks": ks_statistic(y01, probability), "brier": float(np.mean((probability - y01) ** 2)),
        "hosmer_lemeshow": statistic, "hosmer_lemeshow_p": p_value, "score_psi": psi(expected_score, actual_score),
    }
    return ModelValidation(metrics, table, _feature_table(model, X, y01, reference), y01, probability)


def validate(model: Any, X: Any, y: Any, reference: Any = None) -> ModelValidation:
    """Deprecated name of :func:`evaluate` (kept for one release; ``zjfin.validate`` checks
    data, this scores a model)."""
    warnings.warn("zjfin.model.validate is renamed zjfin.model.evaluate; the old name goes in the next release",
                  DeprecationWarning, stacklevel=2)
    return evaluate(model, X, y, reference)


def _feature_table(model: Any, X: Any, y: np.ndarray, reference: Any) -> pd.DataFrame:
    """IV on this sample and PSI against the reference, per selected feature, over the
    model's own bins."""
    from zjfin.model.binning import _iv

    columns = dict(zip(model.feature_names_, model._columns(X).values()))
    reference_columns = dict(zip(model.feature_names_, model._columns(reference).values())) if reference is not None else None
    rows = []
    for name in model.features_:
        binning = model.binnings_[name]
        n_bins = len(binning.woe)
        codes = binning.codes(columns[name])
        counts = np.bincount(codes, minlength=n_bins).astype(float)
        events = np.bincount(codes, weights=y, minlength=n_bins)
        expected = (np.bincount(binning.codes(reference_columns[name]), minlength=n_bins) if reference_columns
                    else binning.events + binning.non_events)
        # Bins empty in both samples carry no information about a shift.
        used = (counts > 0) | (expected > 0)
        rows.append({"feature": name, "iv_train": binning.iv, "iv": _iv(events, counts - events),
                     "psi": psi(expected[used], counts[used])})
    return pd.DataFrame(rows, columns=["feature", "iv_train", "iv", "psi"])
