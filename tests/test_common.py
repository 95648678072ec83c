"""sklearn's own estimator checks over every public skae estimator."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skae import OutlierDetector
from tests._estimators import DEFAULT_ESTIMATORS, ESTIMATORS, META_ESTIMATORS

# scikit-learn's sparse-container checks read classifier_tags.multi_class of
# every estimator with predict_proba, and an outlier detector has no
# classifier tags. tests/test_validation.py checks the detector on the same
# sparse formats instead.
SPARSE_PROBA_BUG = "scikit-learn's check assumes predict_proba means a classifier"


def expected_failed_checks(estimator):
    if isinstance(estimator, OutlierDetector):
        return dict.fromkeys(
            ["check_estimator_sparse_array", "check_estimator_sparse_matrix"],
            SPARSE_PROBA_BUG,
        )
    return {}


@parametrize_with_checks(
    ESTIMATORS + DEFAULT_ESTIMATORS + META_ESTIMATORS,
    expected_failed_checks=expected_failed_checks,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)
