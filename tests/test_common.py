"""sklearn's own estimator checks over every public skae estimator."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from tests._estimators import DEFAULT_ESTIMATORS, ESTIMATORS, META_ESTIMATORS


@parametrize_with_checks(ESTIMATORS + DEFAULT_ESTIMATORS + META_ESTIMATORS)
def test_sklearn_compatible(estimator, check):
    check(estimator)
