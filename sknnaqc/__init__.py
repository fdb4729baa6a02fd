"""sknnaqc: deep classifiers that learn from noisy labels (NNAQC).

scikit-learn estimators built on skorch and PyTorch implementing NNAQC
(Jindal et al.), the baselines it is compared with, and newer robust
methods (generalized and symmetric cross-entropy, Co-teaching).
"""

from .base import NoiseAwareClassifier
from .baselines import (
    BaseModelClassifier,
    BootstrappingClassifier,
    DropoutNoiseLayerClassifier,
    ForwardCorrectionClassifier,
    GenieAidedClassifier,
    TraceRegularizedClassifier,
)
from .exceptions import NonFiniteLossError
from .nnaqc import NNAQCClassifier
from .noise import NoisyLabelTransformer, corrupt_labels, make_transition_matrix
from .robust import (
    CoTeachingClassifier,
    GeneralizedCrossEntropyClassifier,
    SymmetricCrossEntropyClassifier,
)

__version__ = "0.1.0"

__all__ = [
    "NNAQCClassifier",
    "BaseModelClassifier",
    "GenieAidedClassifier",
    "TraceRegularizedClassifier",
    "DropoutNoiseLayerClassifier",
    "BootstrappingClassifier",
    "ForwardCorrectionClassifier",
    "GeneralizedCrossEntropyClassifier",
    "SymmetricCrossEntropyClassifier",
    "CoTeachingClassifier",
    "NoiseAwareClassifier",
    "NonFiniteLossError",
    "NoisyLabelTransformer",
    "corrupt_labels",
    "make_transition_matrix",
    "__version__",
]
