"""scikit-learn's own estimator checks on DefaultModel."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from zjfin.model import DefaultModel


@parametrize_with_checks([DefaultModel(), DefaultModel(calibration="platt", random_state=0)])
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)
