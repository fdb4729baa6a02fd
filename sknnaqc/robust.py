"""Methods from beyond the paper's comparison set: robust losses and Co-teaching.

Each is a :class:`~sknnaqc.base.NoiseAwareClassifier` configuration, so it
shares input handling, sample weights, seeding, the training loop and
prediction with NNAQC and the paper's baselines:

==================================  ==================  ==========================================
estimator                           noise model         loss
==================================  ==================  ==========================================
GeneralizedCrossEntropyClassifier   none                ``(1 - p_y^q) / q`` (optionally truncated)
SymmetricCrossEntropyClassifier     none                ``a CE + b RCE``
CoTeachingClassifier                none, two networks  CE on the peer's small-loss samples
==================================  ==================  ==========================================
"""

import numbers
import warnings

import numpy as np
from sklearn.utils._param_validation import Interval
from torch import nn

from ._net import split_sample_weight
from .base import NoiseAwareClassifier, fill_doc
from .losses import CoTeachingLoss, GeneralizedCrossEntropyLoss, SymmetricCrossEntropyLoss
from .noise import estimate_transition_matrix, noise_rate_from_matrix
from .noise_models import IdentityNoiseModel

__all__ = [
    "GeneralizedCrossEntropyClassifier",
    "SymmetricCrossEntropyClassifier",
    "CoTeachingClassifier",
]

_COMMON = NoiseAwareClassifier._parameter_constraints
_NON_NEGATIVE = [Interval(numbers.Real, 0, None, closed="left")]

_ATTRIBUTES_DOC = """    {kwargs}

    Attributes
    ----------
    {fitted}
    noise_matrix_ : ndarray of shape (n_classes, n_classes)
        The identity: the method has no noise model.
    net_ : skorch.NeuralNet
        The trained skorch net.
    history_ : skorch.History
        Training log, with the loss parts per batch and per epoch."""


def _doc(cls):
    cls.__doc__ = cls.__doc__.replace("    {common}", _ATTRIBUTES_DOC)
    return fill_doc(cls)


@_doc
class GeneralizedCrossEntropyClassifier(NoiseAwareClassifier):
    """Generalized cross-entropy (GCE) loss, ``L_q = (1 - p_y^q) / q``.

    ``p_y`` is the network's probability of the given label. ``q -> 0`` is
    cross-entropy, ``q = 1`` the mean absolute error, which is robust to
    symmetric label noise but slow to train; ``q`` in between trades the two.
    The truncated variant ``L_trunc`` gives samples with ``p_y <= truncation``
    a constant loss (no gradient), which prunes the samples the network
    finds least plausible; it starts after ``truncation_start`` epochs of
    plain ``L_q``. Zhang & Sabuncu re-select the pruned samples every 10
    epochs (starting at epoch 40 of 120); here the selection is re-made in
    every batch from the current predictions.

    Parameters
    ----------
    module : nn.Module class, instance, callable or None, default=None
        The base network returning logits.
    q : float, default=0.7
        Exponent of the loss, in (0, 1]; 0.7 is the paper's choice.
    truncation : float or None, default=None
        Threshold ``k`` of the truncated loss, in (0, 1) (the paper uses
        0.5); None uses the plain ``L_q`` loss.
    truncation_start : int, default=10
        Epochs of plain ``L_q`` before truncation starts (ignored without
        ``truncation``); >= 0. Truncating from the start would stop all
        learning when ``truncation`` exceeds ``1 / n_classes``, the initial
        ``p_y``.
    {common}

    See Also
    --------
    SymmetricCrossEntropyClassifier : Cross-entropy plus a robust reverse term.
    BaseModelClassifier : The same network with cross-entropy.

    References
    ----------
    Z. Zhang, M. R. Sabuncu, "Generalized Cross Entropy Loss for Training
    Deep Neural Networks with Noisy Labels", NeurIPS 2018.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sknnaqc import GeneralizedCrossEntropyClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = GeneralizedCrossEntropyClassifier(q=0.7, max_epochs=3, random_state=0)
    >>> clf.fit(X / 16, y).predict(X[:2] / 16).shape
    (2,)
    >>> "train_gce_loss" in clf.history_[-1]
    True
    """

    _parameter_constraints = {
        **_COMMON,
        "q": [Interval(numbers.Real, 0, 1, closed="right")],
        "truncation": [None, Interval(numbers.Real, 0, 1, closed="neither")],
        "truncation_start": [Interval(numbers.Integral, 0, None, closed="left")],
    }

    def __init__(self, module=None, *, q=0.7, truncation=None, truncation_start=10, **kwargs):
        super().__init__(module, **kwargs)
        self.q = q
        self.truncation = truncation
        self.truncation_start = truncation_start

    def _make_noise_model(self, n_classes):
        return IdentityNoiseModel()

    def _make_criterion(self):
        return GeneralizedCrossEntropyLoss(q=self.q, truncation=self.truncation,
                                           truncation_start=self.truncation_start)


@_doc
class SymmetricCrossEntropyClassifier(NoiseAwareClassifier):
    """Symmetric cross-entropy (SCE / "SL") loss, ``a * CE + b * RCE``.

    The reverse cross-entropy ``RCE = -sum_k p_k log q_k`` swaps the roles
    of the prediction ``p`` and the one-hot label ``q``; ``log 0`` is
    replaced by the constant ``A``, so ``RCE = -A (1 - p_y)``. RCE is robust
    to symmetric noise; CE keeps the network learning the hard classes.

    Parameters
    ----------
    module : nn.Module class, instance, callable or None, default=None
        The base network returning logits.
    a : float, default=0.1
        Weight of cross-entropy; >= 0. The default is the paper's CIFAR-10
        setting.
    b : float, default=1.0
        Weight of the reverse cross-entropy; >= 0 (``a`` and ``b`` not both 0).
    A : float, default=-4.0
        Value replacing ``log 0`` in RCE; < 0. The paper uses -4.
    {common}

    See Also
    --------
    GeneralizedCrossEntropyClassifier : Another robust loss between CE and MAE.

    References
    ----------
    Y. Wang, X. Ma, Z. Chen, Y. Luo, J. Yi, J. Bailey, "Symmetric Cross
    Entropy for Robust Learning with Noisy Labels", ICCV 2019.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sknnaqc import SymmetricCrossEntropyClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = SymmetricCrossEntropyClassifier(a=0.1, b=1.0, max_epochs=3, random_state=0)
    >>> clf.fit(X / 16, y).predict_proba(X[:2] / 16).shape
    (2, 10)
    >>> sorted(k for k in clf.history_[-1] if k.startswith("train_") and k.endswith("ce_loss"))
    ['train_ce_loss', 'train_rce_loss']
    """

    _parameter_constraints = {
        **_COMMON,
        "a": _NON_NEGATIVE,
        "b": _NON_NEGATIVE,
        "A": [Interval(numbers.Real, None, 0, closed="neither")],
    }

    def __init__(self, module=None, *, a=0.1, b=1.0, A=-4.0, **kwargs):
        super().__init__(module, **kwargs)
        self.a = a
        self.b = b
        self.A = A

    def _validate_method_params(self):
        if self.a == 0 and self.b == 0:
            raise ValueError(
                "SymmetricCrossEntropyClassifier needs a > 0 or b > 0 (the weights of "
                "CE and RCE); got a=0 and b=0."
            )

    def _make_noise_model(self, n_classes):
        return IdentityNoiseModel()

    def _make_criterion(self):
        return SymmetricCrossEntropyLoss(a=self.a, b=self.b, A=self.A)


@_doc
class CoTeachingClassifier(NoiseAwareClassifier):
    """Co-teaching: two networks that pick clean-looking samples for each other.

    Two copies of the base network, initialised separately, are trained
    together. In every mini-batch of ``n`` samples each network keeps the
    ``ceil((1 - R(t)) n)`` samples with its smallest cross-entropy, and the
    *other* network is updated on them (so the two do not confirm their own
    mistakes). The fraction left out grows from 0 to ``forget_rate`` over
    the first ``num_gradual`` epochs: ``R(t) = forget_rate * min(t /
    num_gradual, 1)`` with ``t`` the number of completed epochs, as in
    Algorithm 1 of the paper; it is recorded per epoch as ``forget_rate`` in
    ``history_``. ``predict`` and ``predict_proba`` use network 1.

    Training costs about twice a single network's time per epoch, plus one
    single-network run to estimate the noise rate when ``forget_rate`` is
    None (about three times the base model's fit time in all).

    Parameters
    ----------
    module : nn.Module class, instance, callable or None, default=None
        The base network returning logits. Pass a class or factory: it is
        called once per network, so the two start from different weights.
        An instance is deep-copied for both, which then start identical and
        differ only through dropout (a warning says so).
    forget_rate : float or None, default=None
        Final fraction ``tau`` of each batch left out, in [0, 1); the paper
        sets it to the noise rate. None estimates the noise rate from the
        data as the paper suggests (with Patrini et al.'s estimator): a
        single copy of the network is first trained with cross-entropy for
        ``max_epochs`` epochs, exactly like stage 1 of
        :class:`ForwardCorrectionClassifier`; the transition matrix ``T`` is
        estimated from its predicted probabilities on the training inputs
        with anchor points (:func:`sknnaqc.noise.estimate_transition_matrix`),
        and the forget rate is the implied noise rate
        ``sum_i prior_i (1 - T[i, i])`` (:func:`sknnaqc.noise.noise_rate_from_matrix`)
        with the mean predicted class distribution as prior, capped at
        ``1 - 1 / n_classes``. (A shorter warm-up underfits and overestimates
        the rate: on digits with 20 % symmetric noise, 10 epochs gave 0.38,
        40 epochs 0.20.)
    num_gradual : int, default=10
        ``T_k``, the number of epochs over which the fraction left out grows
        to ``forget_rate``; >= 1.
    {common}
    forget_rate_ : float
        The forget rate used (given or estimated).
    transition_matrix_ : ndarray of shape (n_classes, n_classes) or None
        The transition matrix estimated for ``forget_rate_``; None when
        ``forget_rate`` was given.

    See Also
    --------
    ForwardCorrectionClassifier : Uses the same anchor-point estimate of ``T``.

    References
    ----------
    B. Han, Q. Yao, X. Yu, G. Niu, M. Xu, W. Hu, I. W. Tsang, M. Sugiyama,
    "Co-teaching: Robust Training of Deep Neural Networks with Extremely
    Noisy Labels", NeurIPS 2018.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sknnaqc import CoTeachingClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = CoTeachingClassifier(forget_rate=0.2, num_gradual=2, max_epochs=3,
    ...                            random_state=0).fit(X / 16, y)
    >>> [round(r, 2) for r in clf.history_[:, "forget_rate"]]
    [0.0, 0.1, 0.2]
    >>> clf.predict(X[:2] / 16).shape
    (2,)
    """

    _parameter_constraints = {
        **_COMMON,
        "forget_rate": [None, Interval(numbers.Real, 0, 1, closed="left")],
        "num_gradual": [Interval(numbers.Integral, 1, None, closed="left")],
    }

    def __init__(self, module=None, *, forget_rate=None, num_gradual=10, **kwargs):
        super().__init__(module, **kwargs)
        self.forget_rate = forget_rate
        self.num_gradual = num_gradual

    def _make_noise_model(self, n_classes):
        return IdentityNoiseModel()

    def _estimate_forget_rate(self, X, y, **fit_params):
        """Noise-rate estimate from a short cross-entropy run (see ``forget_rate``)."""
        n_classes = len(self.classes_)
        warm_up = self._make_net(X, IdentityNoiseModel(), dict(alpha=0.0, beta=0.0))
        warm_up.partial_fit(X, y, **fit_params)
        proba = warm_up.predict_proba(split_sample_weight(X)[0])
        T = estimate_transition_matrix(proba, y)
        rate = noise_rate_from_matrix(T, class_prior=proba.mean(axis=0))
        return float(np.clip(rate, 0.0, 1.0 - 1.0 / n_classes)), T

    def _fit_net(self, X, y, **fit_params):
        if isinstance(self.module, nn.Module):
            warnings.warn(
                "CoTeachingClassifier got an nn.Module instance as module, so both "
                "networks start from the same weights and differ only through "
                "dropout; pass the module's class or a factory to initialise them "
                "separately, as Co-teaching intends.",
                UserWarning,
                stacklevel=3,
            )
        if self.forget_rate is None:
            forget_rate, T = self._estimate_forget_rate(X, y, **fit_params)
        else:
            forget_rate, T = float(self.forget_rate), None
        self.forget_rate_, self.transition_matrix_ = forget_rate, T
        net = self._make_net(X, None, CoTeachingLoss(forget_rate, self.num_gradual),
                             peer=True)
        return net.partial_fit(X, y, **fit_params)
