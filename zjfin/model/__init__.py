"""Default-probability models (SPEC §6): monotone binning → WOE → logistic regression.

Examples
--------
>>> import zjfin
>>> from zjfin.model import DefaultModel, default_labels, evaluate, features
>>> ds = zjfin.datasets.synthetic_province(3000, seed=5)
>>> X, y = features(ds, "2018-03-31"), default_labels(ds, "2019-03-31")
>>> m = DefaultModel().fit(X, y)
>>> bool(evaluate(m, X, y).auc > 0.5)
True
"""

from zjfin.model.binning import FeatureBinning, bin_feature
from zjfin.model.estimator import DefaultModel, ModelSummary
from zjfin.model.features import default_labels, feature_table, features, firm_features
from zjfin.model.persist import FORMAT_VERSION
from zjfin.model.validation import ModelValidation, auc, calibration_table, evaluate, ks_statistic, psi, validate

__all__ = [
    "DefaultModel",
    "FORMAT_VERSION",
    "FeatureBinning",
    "ModelSummary",
    "ModelValidation",
    "auc",
    "bin_feature",
    "calibration_table",
    "default_labels",
    "evaluate",
    "feature_table",
    "features",
    "firm_features",
    "ks_statistic",
    "psi",
    "validate",
]
