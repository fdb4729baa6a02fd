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

from conftest import TinyMLP

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



def expected_failed_checks(estimator):
    """Check name -> reason, for the checks an estimator is expected to fail.

    Only sklearn's sample-weight equivalence check (integer weights must give
    the same predict_proba as repeated rows, to float64 rtol 1e-7) fails, for
    the reasons below; tests/test_robust.py checks what does hold.
    """
    if isinstance(estimator, CoTeachingClassifier):
        reason = ("Co-teaching keeps a fraction of each batch's rows: a repeated row "
                  "takes several places in the selection, a weighted row one, so "
                  "weights cannot equal repetition; its weighting of the kept rows "
                  "is tested in tests/test_robust.py.")
    elif getattr(estimator, "noise_dropout", 0) > 0:
        reason = ("Dropout draws one random mask per row, so repeated rows and one "
                  "weighted row see different masks and the fits differ.")
    else:
        reason = ("Training runs in float32: weighted and repeated fits agree to "
                  "rounding (about 1e-6), not to the check's float64 rtol of 1e-7; "
                  "tests/test_robust.py checks the equivalence at 1e-5.")
    return {"check_sample_weight_equivalence_on_dense_data": reason}


@parametrize_with_checks(
    ESTIMATORS,
    expected_failed_checks=expected_failed_checks,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
