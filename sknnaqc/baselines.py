"""The methods NNAQC is compared with in the paper (Tables 1-2).

Each is a :class:`~sknnaqc.base.NoiseAwareClassifier` configured with a noise
model and loss weights, so all of them share the input handling, seeding,
training loop and prediction of :class:`~sknnaqc.NNAQCClassifier`:

=============================  ========================================  ===============
estimator                      noise model                               loss
=============================  ========================================  ===============
BaseModelClassifier            none                                      CE(clean)
GenieAidedClassifier           fixed linear, the true ``T``              alpha NNA + (1-alpha) QC
TraceRegularizedClassifier     learned linear ``Q``                      CE(noisy) + w tr(Q)
DropoutNoiseLayerClassifier    learned linear ``Q``, dropout on input    CE(noisy)
BootstrappingClassifier        none                                      QC (soft or hard)
ForwardCorrectionClassifier    fixed linear, estimated ``T``             CE(noisy)
NNAQCClassifier                nonlinear ``softmax(W .)``                alpha NNA + (1-alpha) QC
=============================  ========================================  ===============
"""

import numbers
import warnings

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from .base import NoiseAwareClassifier, fill_doc
from .noise import check_transition_matrix, estimate_transition_matrix
from .noise_models import IdentityNoiseModel, LinearNoiseModel

__all__ = [
    "BaseModelClassifier",
    "GenieAidedClassifier",
    "TraceRegularizedClassifier",
    "DropoutNoiseLayerClassifier",
    "BootstrappingClassifier",
    "ForwardCorrectionClassifier",
]

_COMMON = NoiseAwareClassifier._parameter_constraints
_UNIT = [Interval(numbers.Real, 0, 1, closed="both")]
_DROPOUT = [Interval(numbers.Real, 0, 1, closed="left")]
_ANY_REAL = [Interval(numbers.Real, None, None, closed="neither")]
_MATRIX = [None, "array-like", callable]
_CLASSES = [None, "array-like"]

_CLASSES_DOC = """    classes : array-like of shape (n_classes,), default=None
        The full label set; the rows and columns of ``transition_matrix``
        follow its sorted order. Give it when y may lack a class (e.g. in a
        cross-validation fold of a rare class); None takes the labels in y."""

_ATTRIBUTES_DOC = """    {kwargs}

    Attributes
    ----------
    {fitted}
    noise_matrix_ : ndarray of shape (n_classes, n_classes)
        The noise model's transition matrix after training,
        ``noise_matrix_[i, j] = P(noisy = j | true = i)`` (identity when the
        method has no noise model).
    net_ : skorch.NeuralNet
        The trained skorch net.
    history_ : skorch.History
        Training log."""


def _given_matrix(matrix, n_classes):
    """Validate a user's transition matrix, calling it first if it is a factory."""
    if callable(matrix):
        matrix = matrix(n_classes)
    shape = np.shape(matrix)
    if len(shape) == 2 and shape[0] == shape[1] and shape[0] > n_classes:
        raise ValueError(
            f"transition_matrix has shape {shape} but y has only {n_classes} classes; "
            "if y lacks some classes (e.g. in a cross-validation fold), pass "
            "classes= with the full label set."
        )
    return check_transition_matrix(matrix, n_classes=n_classes)


def _doc(cls):
    cls.__doc__ = cls.__doc__.replace("    {common}", _ATTRIBUTES_DOC).replace(
        "    {classes}", _CLASSES_DOC)
    return fill_doc(cls)


def _warn_if_no_information(T):
    """Warn when every row of ``T`` is the same: the noisy label then says
    nothing about the true class, and the network receives no training signal."""
    if T.shape[0] > 1 and np.allclose(T, T[0], rtol=0, atol=1e-6):
        warnings.warn(
            "transition_matrix has identical rows: the noisy label is then "
            "independent of the true class, so the loss on the noisy branch "
            "gives the network no training signal.",
            UserWarning,
            stacklevel=2,
        )


@_doc
class BaseModelClassifier(NoiseAwareClassifier):
    """The base network trained with plain cross-entropy on the given labels.

    The control for every comparison: same network, same label handling,
    seeding and training loop as the noise-aware methods, no noise model.

    Parameters
    ----------
    module : nn.Module class, instance, callable or None, default=None
        The base network returning logits.
    {common}

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sknnaqc import BaseModelClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = BaseModelClassifier(max_epochs=3, random_state=0).fit(X / 16, y)
    >>> clf.predict_proba(X[:2] / 16).shape
    (2, 10)
    """

    def __init__(self, module=None, **kwargs):
        super().__init__(module, **kwargs)

    def _make_noise_model(self, n_classes):
        return IdentityNoiseModel()

    def _loss_weights(self):
        return dict(alpha=0.0, beta=0.0)


@_doc
class GenieAidedClassifier(NoiseAwareClassifier):
    """Linear noise layer fixed to the true transition matrix ("genie-aided").

    ``p(y'|x) = T^T p(y|x)`` (eq. 5 with the known matrix). With
    ``alpha=1`` (default) the loss is cross-entropy on the noisy branch; with
    ``alpha < 1`` it is NNAQC's combined loss, the paper's "Genie-aided (QC)".

    Parameters
    ----------
    module : nn.Module class, instance, callable or None, default=None
        The base network returning logits.
    transition_matrix : array-like of shape (n_classes, n_classes) or callable
        The true noise, ``T[i, j] = P(noisy = j | true = i)``, rows and
        columns in the order of ``classes_`` (sorted labels). Required. A
        callable is called with ``n_classes`` and must return the matrix
        (e.g. ``functools.partial(make_transition_matrix, noise_rate=0.3)``).
    alpha : float, default=1.0
        Weight of the noisy-branch cross-entropy; in [0, 1].
    beta : float, default=0.9
        Weight of the prediction in the QC term (used when ``alpha < 1``); in
        [0, 1].
    {classes}
    {common}

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from sknnaqc import GenieAidedClassifier
    >>> from sknnaqc.noise import corrupt_labels, make_transition_matrix
    >>> X, y = load_digits(return_X_y=True)
    >>> T = make_transition_matrix(10, 0.3, random_state=0)
    >>> y_noisy = corrupt_labels(y, transition_matrix=T, random_state=0)
    >>> clf = GenieAidedClassifier(transition_matrix=T, max_epochs=3, random_state=0)
    >>> clf.fit(X / 16, y_noisy).noise_matrix_.shape
    (10, 10)

    References
    ----------
    Jindal et al. (2019), section 4.1; the comparison follows Jindal, Nokleby
    and Chen, "Learning deep networks from noisy labels with dropout
    regularization", ICDM 2016.
    """

    _parameter_constraints = {**_COMMON, "transition_matrix": _MATRIX, "alpha": _UNIT,
                              "beta": _UNIT, "classes": _CLASSES}

    def __init__(self, module=None, *, transition_matrix=None, alpha=1.0, beta=0.9,
                 classes=None, **kwargs):
        super().__init__(module, **kwargs)
        self.transition_matrix = transition_matrix
        self.alpha = alpha
        self.beta = beta
        self.classes = classes

    def _declared_classes(self):
        return self.classes

    def _validate_method_params(self):
        if self.transition_matrix is None:
            raise ValueError(
                "GenieAidedClassifier needs transition_matrix (the true noise "
                "transition matrix, T[i, j] = P(noisy = j | true = i)); got None."
            )

    def _make_noise_model(self, n_classes):
        T = _given_matrix(self.transition_matrix, n_classes)
        _warn_if_no_information(T)
        return LinearNoiseModel(n_classes, transition_matrix=T)

    def _loss_weights(self):
        return dict(alpha=self.alpha, beta=self.beta)


@_doc
class TraceRegularizedClassifier(NoiseAwareClassifier):
    """Learned linear noise layer with a trace penalty (Sukhbaatar et al.).

    ``p(y'|x) = Q^T p(y|x)`` with ``Q = softmax(V)`` row by row (so ``Q`` stays
    row-stochastic); loss ``CE(noisy) + trace_weight * trace(Q)``. The penalty
    pushes ``Q`` to be diffuse so that the noise is absorbed by ``Q`` rather
    than by the base network.

    Parameters
    ----------
    module : nn.Module class, instance, callable or None, default=None
        The base network returning logits.
    trace_weight : float, default=0.01
        Weight of ``trace(Q)``; >= 0.
    noise_init_scale : float, default=4.0
        ``Q`` starts at ``softmax(noise_init_scale * I)``, close to the identity.
    {common}

    References
    ----------
    S. Sukhbaatar, J. Bruna, M. Paluri, L. Bourdev, R. Fergus, "Training
    convolutional networks with noisy labels", ICLR workshop 2015
    (arXiv:1406.2080, 2014).
    """

    _parameter_constraints = {
        **_COMMON,
        "trace_weight": [Interval(numbers.Real, 0, None, closed="left")],
        "noise_init_scale": _ANY_REAL,
    }

    def __init__(self, module=None, *, trace_weight=0.01, noise_init_scale=4.0, **kwargs):
        super().__init__(module, **kwargs)
        self.trace_weight = trace_weight
        self.noise_init_scale = noise_init_scale

    def _make_noise_model(self, n_classes):
        return LinearNoiseModel(
            n_classes, init_scale=self.noise_init_scale, trace_weight=self.trace_weight
        )

    def _loss_weights(self):
        return dict(alpha=1.0, beta=0.0)


@_doc
class DropoutNoiseLayerClassifier(NoiseAwareClassifier):
    """Learned linear noise layer regularised by dropout (Jindal et al. 2016).

    ``p(y'|x) = Q^T dropout(p(y|x))`` during training, ``Q`` row-stochastic
    and learned; loss ``CE(noisy)``.

    Parameters
    ----------
    module : nn.Module class, instance, callable or None, default=None
        The base network returning logits.
    noise_dropout : float, default=0.5
        Dropout rate on the noise layer's input; in [0, 1).
    noise_init_scale : float, default=4.0
        ``Q`` starts at ``softmax(noise_init_scale * I)``.
    {common}

    References
    ----------
    I. Jindal, M. Nokleby, X. Chen, "Learning deep networks from noisy labels
    with dropout regularization", ICDM 2016.
    """

    _parameter_constraints = {**_COMMON, "noise_dropout": _DROPOUT,
                              "noise_init_scale": _ANY_REAL}

    def __init__(self, module=None, *, noise_dropout=0.5, noise_init_scale=4.0, **kwargs):
        super().__init__(module, **kwargs)
        self.noise_dropout = noise_dropout
        self.noise_init_scale = noise_init_scale

    def _make_noise_model(self, n_classes):
        return LinearNoiseModel(
            n_classes, init_scale=self.noise_init_scale, dropout=self.noise_dropout
        )

    def _loss_weights(self):
        return dict(alpha=1.0, beta=0.0)


@_doc
class BootstrappingClassifier(NoiseAwareClassifier):
    """Bootstrapping (Reed et al.): train towards a mix of label and prediction.

    Loss ``-mean sum_k (beta * q_k + (1 - beta) * onehot(y')_k) log p_k``. In
    ``mode="soft"`` ``q = p`` (gradient through both factors), which is the
    quasi-clustering loss of NNAQC alone; in ``mode="hard"`` ``q`` is the
    one-hot argmax of ``p`` (no gradient).

    Parameters
    ----------
    module : nn.Module class, instance, callable or None, default=None
        The base network returning logits.
    beta : float, default=0.05
        Weight of the model's prediction in the target; in [0, 1]. Reed et
        al. write the weight of the *label*, 0.95 (soft) and 0.8 (hard): these
        are ``beta=0.05`` and ``beta=0.2`` here.
    mode : {"soft", "hard"}, default="soft"
        Soft or hard bootstrapping.
    {common}

    References
    ----------
    S. Reed, H. Lee, D. Anguelov, C. Szegedy, D. Erhan, A. Rabinovich,
    "Training deep neural networks on noisy labels with bootstrapping",
    ICLR workshop 2015 (arXiv:1412.6596).
    """

    _parameter_constraints = {**_COMMON, "beta": _UNIT, "mode": [StrOptions({"soft", "hard"})]}

    def __init__(self, module=None, *, beta=0.05, mode="soft", **kwargs):
        super().__init__(module, **kwargs)
        self.beta = beta
        self.mode = mode

    def _make_noise_model(self, n_classes):
        return IdentityNoiseModel()

    def _loss_weights(self):
        return dict(alpha=0.0, beta=self.beta, qc_target=self.mode)


@_doc
class ForwardCorrectionClassifier(NoiseAwareClassifier):
    """Forward loss correction (Patrini et al.).

    Stage 1 trains the base network with cross-entropy on the noisy labels
    and estimates the transition matrix ``T`` with anchor points
    (:func:`sknnaqc.noise.estimate_transition_matrix`) from its predictions
    on the training inputs. Stage 2 trains a fresh network with the loss
    ``CE(T^T p(y|x), y')``. A given ``transition_matrix`` skips stage 1.

    Parameters
    ----------
    module : nn.Module class, instance, callable or None, default=None
        The base network returning logits.
    transition_matrix : array-like of shape (n_classes, n_classes) or callable, default=None
        A known ``T[i, j] = P(noisy = j | true = i)`` (rows/columns in the
        order of ``classes_``) to use instead of the estimate; a callable is
        called with ``n_classes``.
    anchor_quantile : float, default=0.97
        Quantile of each class's predicted probability that picks its anchor
        point (1.0 takes the maximum); in (0, 1].
    {classes}
    {common}
    transition_matrix_ : ndarray of shape (n_classes, n_classes)
        The matrix used in stage 2 (estimated or given).
    stage1_history_ : skorch.History or None
        Training log of stage 1 (None when ``transition_matrix`` was given).

    References
    ----------
    G. Patrini, A. Rozza, A. K. Menon, R. Nock, L. Qu, "Making deep neural
    networks robust to label noise: a loss correction approach", CVPR 2017.
    """

    _parameter_constraints = {
        **_COMMON,
        "transition_matrix": _MATRIX,
        "anchor_quantile": [Interval(numbers.Real, 0, 1, closed="right")],
        "classes": _CLASSES,
    }

    def __init__(self, module=None, *, transition_matrix=None, anchor_quantile=0.97,
                 classes=None, **kwargs):
        super().__init__(module, **kwargs)
        self.transition_matrix = transition_matrix
        self.anchor_quantile = anchor_quantile
        self.classes = classes

    def _declared_classes(self):
        return self.classes

    def _fit_net(self, X, y, **fit_params):
        n_classes = len(self.classes_)
        if self.transition_matrix is None:
            stage1 = self._make_net(X, IdentityNoiseModel(), dict(alpha=0.0, beta=0.0))
            stage1.partial_fit(X, y, **fit_params)
            proba = stage1.predict_proba(X)
            T = estimate_transition_matrix(proba, y, quantile=self.anchor_quantile)
            self.stage1_history_ = stage1.history
        else:
            T = _given_matrix(self.transition_matrix, n_classes)
            _warn_if_no_information(T)
            self.stage1_history_ = None
        self.transition_matrix_ = T
        net = self._make_net(X, LinearNoiseModel(n_classes, transition_matrix=T),
                             dict(alpha=1.0, beta=0.0))
        return net.partial_fit(X, y, **fit_params)
