"""scikit-learn compliance of every sknnaqc estimator."""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from sknnaqc import NNAQCClassifier

from conftest import TinyMLP

ESTIMATORS = [
    NNAQCClassifier(TinyMLP, max_epochs=20, lr=1e-2, random_state=0),
]

# check name -> reason, for checks that are expected to fail.
EXPECTED_FAILED_CHECKS = {}


@parametrize_with_checks(
    ESTIMATORS,
    expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
