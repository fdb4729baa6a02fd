"""scikit-learn compliance of every sknnaqc estimator."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sknnaqc import (
    BaseModelClassifier,
    BootstrappingClassifier,
    CoTeachingClassifier,
    DropoutNoiseLayerClassifier,
    ForwardCorrectionClassifier,
    GeneralizedCrossEntropyClassifier,
    GenieAidedClassifier,
    NNAQCClassifier,
    SymmetricCrossEntropyClassifier,
    TraceRegularizedClassifier,
)
from sknnaqc.noise import make_transition_matrix

from conftest import TinyMLP, expected_failed_checks

COMMON = dict(max_epochs=20, lr=1e-2, random_state=0)


class SymmetricNoise:
    """Transition-matrix factory with a stable repr (test ids must not hold addresses)."""

    def __init__(self, rate):
        self.rate = rate

    def __call__(self, n_classes):
        return make_transition_matrix(n_classes, self.rate, kind="symmetric")

    def __repr__(self):
        return f"SymmetricNoise({self.rate})"


SYMMETRIC_20 = SymmetricNoise(0.2)

ESTIMATORS = [
    NNAQCClassifier(TinyMLP, **COMMON),
    NNAQCClassifier(TinyMLP, noise_dropout=0.3, **COMMON),
    BaseModelClassifier(TinyMLP, **COMMON),
    GenieAidedClassifier(TinyMLP, transition_matrix=SYMMETRIC_20, **COMMON),
    GenieAidedClassifier(TinyMLP, transition_matrix=SYMMETRIC_20, alpha=0.9, **COMMON),
    TraceRegularizedClassifier(TinyMLP, **COMMON),
    DropoutNoiseLayerClassifier(TinyMLP, **COMMON),
    BootstrappingClassifier(TinyMLP, **COMMON),
    BootstrappingClassifier(TinyMLP, mode="hard", beta=0.2, **COMMON),
    ForwardCorrectionClassifier(TinyMLP, **COMMON),
    GeneralizedCrossEntropyClassifier(TinyMLP, **COMMON),
    GeneralizedCrossEntropyClassifier(TinyMLP, truncation=0.5, **COMMON),
    SymmetricCrossEntropyClassifier(TinyMLP, **COMMON),
    CoTeachingClassifier(TinyMLP, **COMMON),
    CoTeachingClassifier(TinyMLP, forget_rate=0.2, num_gradual=5, **COMMON),
]


@parametrize_with_checks(
    ESTIMATORS,
    expected_failed_checks=expected_failed_checks,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
