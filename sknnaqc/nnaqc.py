"""``NNAQCClassifier``: the paper's method."""

import numbers

from sklearn.utils._param_validation import Interval

from .base import NoiseAwareClassifier, fill_doc
from .noise_models import NonlinearNoiseModel

__all__ = ["NNAQCClassifier"]


@fill_doc
class NNAQCClassifier(NoiseAwareClassifier):
    """Nonlinear, noise-aware, quasi-clustering classifier (NNAQC).

    Trains any PyTorch network on noisy labels by stacking NNAQC's nonlinear
    noise model on its logits ``t1`` during training only:
    ``y_hat = softmax(t1)``, noisy-label probabilities ``softmax(W y_hat)``
    with a learned square ``W`` and no bias (eq. 3 of Jindal et al.), and the
    loss ``alpha * L_NNA + (1 - alpha) * L_QC`` (eq. 6). ``predict`` and
    ``predict_proba`` use the clean branch ``softmax(t1)`` alone.

    Parameters
    ----------
    module : nn.Module class, instance, callable or None, default=None
        The base network returning logits; see :class:`NoiseAwareClassifier`
        for how it is built. None uses a one-hidden-layer MLP.
    alpha : float, default=0.9
        Weight of the noise-aware cross-entropy ``L_NNA``; ``1 - alpha`` goes
        to the quasi-clustering loss ``L_QC``. ``alpha=1`` is NNA alone,
        ``alpha=0`` QC alone. In [0, 1].
    beta : float, default=0.9
        Weight of the model's own prediction in ``L_QC``'s target; ``1 - beta``
        goes to the given label. In [0, 1]. 0.9 is the paper's value, used as
        its formula is written (see the README's "Which reading of L_QC").
    class_balance : float, default=0.3
        Weight of a class-balance term added to the loss,
        ``KL(mean_i y_hat_i || prior)`` over each batch, with ``prior`` the
        frequencies of the given labels (:func:`sknnaqc.losses.class_balance_loss`).
        Not in the paper: with ``beta=0.9`` most of ``L_QC`` is the entropy of
        the prediction, and at high noise minimising it merges classes (digits,
        70 % noise: 5–8 of 10 classes predicted, 60.8 ± 9.3 % error against
        43.6 % for plain cross-entropy); the balance term keeps every class in
        use and leaves the clustering intact. 0 gives the paper's loss exactly.
        >= 0. Chosen by ``benchmarks/bench_high_noise.py`` (results in
        ``benchmarks/results/high_noise/``).
    noise_dropout : float, default=0.0
        Dropout on the noise model's input during training ("Regu. NNAQC"
        in the paper). In [0, 1).
    noise_init_scale : float, default=2.0
        ``W`` starts as ``noise_init_scale * I``. The paper does not say how
        ``W`` starts; with 1.0 the noisy branch starts nearly uniform
        (at most e/(e+L-1) ~ 0.23 for 10 classes) and needs many more epochs;
        large scales make NNAQC behave like plain cross-entropy. The default
        was chosen by ``benchmarks/bench_w_init.py`` (results in
        ``benchmarks/results/w_init.md``, digits, 30 % and 50 % noise): with 40
        or more epochs 2.0 was best or within seed-to-seed spread of the best
        (1.0), and unlike 1.0 it does not fail with short training (20 epochs
        at 50 % noise: 17 % error for 2.0, 71 % for 1.0).
    {kwargs}

    Attributes
    ----------
    {fitted}
    noise_matrix_ : ndarray of shape (n_classes, n_classes)
        What the noise model learned: ``noise_matrix_[i, j] = softmax(W e_i)_j``
        (eq. 4), rows sum to 1. It is a "denoising operator" rather than an
        estimate of the true transition matrix (section 3.2).
    net_ : skorch.NeuralNet
        The trained skorch net; ``net_.module_.base`` is the trained network.
    history_ : skorch.History
        Per-epoch and per-batch training log, including the loss parts
        ``train_nna_loss`` and ``train_qc_loss``.

    See Also
    --------
    BaseModelClassifier : The same network trained with plain cross-entropy.
    ForwardCorrectionClassifier : Forward loss correction (Patrini et al.).

    References
    ----------
    I. Jindal, M. Nokleby, D. Pressel, X. Chen, "A Nonlinear, Noise-aware,
    Quasi-clustering Approach to Learning Deep CNNs from Noisy Labels", CVPR
    Workshops 2019.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sknnaqc import NNAQCClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> X = X / 16.0
    >>> clf = NNAQCClassifier(max_epochs=5, random_state=0).fit(X, y)
    >>> clf.predict(X[:3]).shape
    (3,)
    >>> clf.noise_matrix_.sum(axis=1).round(6).tolist() == [1.0] * 10
    True
    """

    _parameter_constraints = {
        **NoiseAwareClassifier._parameter_constraints,
        "alpha": [Interval(numbers.Real, 0, 1, closed="both")],
        "beta": [Interval(numbers.Real, 0, 1, closed="both")],
        "class_balance": [Interval(numbers.Real, 0, None, closed="left")],
        "noise_dropout": [Interval(numbers.Real, 0, 1, closed="left")],
        "noise_init_scale": [Interval(numbers.Real, None, None, closed="neither")],
    }

    def __init__(
        self,
        module=None,
        *,
        alpha=0.9,
        beta=0.9,
        class_balance=0.3,
        noise_dropout=0.0,
        noise_init_scale=2.0,
        **kwargs,
    ):
        super().__init__(module, **kwargs)
        self.alpha = alpha
        self.beta = beta
        self.class_balance = class_balance
        self.noise_dropout = noise_dropout
        self.noise_init_scale = noise_init_scale

    def _make_noise_model(self, n_classes):
        return NonlinearNoiseModel(
            n_classes, init_scale=self.noise_init_scale, dropout=self.noise_dropout
        )

    def _loss_weights(self):
        return dict(alpha=self.alpha, beta=self.beta, qc_target="soft",
                    class_balance=self.class_balance)
