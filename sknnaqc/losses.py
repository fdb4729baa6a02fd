"""Loss functions: the NNAQC loss (eq. 6 of the paper), its parts, and robust losses.

The paper's methods train with :class:`NoiseAwareLoss` and differ only in the
weights ``alpha`` / ``beta`` and in the noise model that produces the
noisy-label branch (see :mod:`sknnaqc.noise_models`). The robust losses
(:class:`GeneralizedCrossEntropyLoss`, :class:`SymmetricCrossEntropyLoss`)
and Co-teaching's sample selection (:class:`CoTeachingLoss`) plug into the
same place.

Every criterion computes its parts per sample and turns them into batch
values in one function, :func:`weighted_mean`, which also applies optional
per-sample weights (``fit(X, y, sample_weight=w)``).
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "weighted_mean",
    "quasi_clustering_loss",
    "class_balance_loss",
    "noise_aware_loss",
    "generalized_cross_entropy",
    "symmetric_cross_entropy",
    "PerSampleLoss",
    "NoiseAwareLoss",
    "GeneralizedCrossEntropyLoss",
    "SymmetricCrossEntropyLoss",
    "CoTeachingLoss",
]


def weighted_mean(values, sample_weight=None):
    """Batch value of a per-sample loss: ``mean_i(w_i * values_i)``.

    The one place where per-sample losses are reduced. The estimators scale
    ``sample_weight`` to mean 1 over the training set before training, so a
    batch's value is an unbiased estimate of the weighted mean loss over the
    training set, ``sum_i w_i l_i / sum_i w_i``; it equals it exactly when
    the batch holds the whole set. Weights 1 give the plain mean.

    Parameters
    ----------
    values : torch.Tensor of shape (n_samples,)
        Per-sample loss values.
    sample_weight : torch.Tensor of shape (n_samples,) or None, default=None
        Non-negative weights; None is the plain mean.

    Returns
    -------
    loss : torch.Tensor
        Scalar.

    Examples
    --------
    >>> import torch
    >>> values = torch.tensor([1.0, 2.0, 6.0])
    >>> float(weighted_mean(values))
    3.0
    >>> float(weighted_mean(values, torch.tensor([1.5, 1.5, 0.0])))
    1.5
    """
    if sample_weight is None:
        return values.mean()
    return (values * sample_weight.to(values.dtype)).mean()


def _check_reduction(reduction):
    if reduction not in ("mean", "none"):
        raise ValueError(f"reduction must be 'mean' or 'none', got {reduction!r}")


def _logits(y_pred):
    """The clean-branch logits of a module's output (a tuple or a tensor)."""
    return y_pred[0] if isinstance(y_pred, (tuple, list)) else y_pred


def quasi_clustering_loss(clean_logits, y, beta, target="soft", *, reduction="mean"):
    """Quasi-clustering loss :math:`L_{QC}` of the paper (section 3.1).

    ``-mean_i sum_k (beta * y_hat_ik + (1 - beta) * onehot(y_i)_k) * log y_hat_ik``
    with ``y_hat = softmax(clean_logits)``.

    Parameters
    ----------
    clean_logits : torch.Tensor of shape (n_samples, n_classes)
        Logits ``t1`` of the base network.
    y : torch.Tensor of shape (n_samples,)
        Integer (encoded) noisy labels.
    beta : float
        Weight of the model's own prediction in the target; ``1 - beta`` goes
        to the given label. ``beta=0`` is plain cross-entropy.
    target : {"soft", "hard"}, default="soft"
        ``"soft"`` uses ``y_hat`` itself in the target and lets the gradient
        flow through both ``y_hat`` factors: this is the entropy-minimising
        term that makes the loss cluster (and Reed et al.'s soft
        bootstrapping). ``"hard"`` uses the one-hot argmax of ``y_hat``
        without gradient (Reed et al.'s hard bootstrapping).
    reduction : {"mean", "none"}, default="mean"
        ``"none"`` returns the per-sample values (the mean is over them).

    Returns
    -------
    loss : torch.Tensor
        Scalar, or of shape (n_samples,) with ``reduction="none"``.
    """
    _check_reduction(reduction)
    log_p = F.log_softmax(clean_logits, dim=1)
    # The target is linear in its two parts, so split the sum: beta times the
    # prediction's own term plus (1 - beta) times cross-entropy with the label.
    if target == "soft":
        own = -(log_p.exp() * log_p).sum(dim=1)  # entropy, gradient through both
    elif target == "hard":
        own = F.nll_loss(log_p, log_p.argmax(dim=1), reduction="none")  # no gradient
    else:
        raise ValueError(f"target must be 'soft' or 'hard', got {target!r}")
    if beta == 0:
        per_sample = F.nll_loss(log_p, y, reduction="none")
    elif beta == 1:
        per_sample = own
    else:
        per_sample = beta * own + (1.0 - beta) * F.nll_loss(log_p, y, reduction="none")
    return per_sample if reduction == "none" else weighted_mean(per_sample)


def class_balance_loss(clean_logits, class_prior=None, sample_weight=None):
    """``KL(mean_i y_hat_i || prior)``: how far the batch's average prediction is from the prior.

    Zero when the clean branch predicts the classes, on average over the
    batch, in the proportions of ``class_prior``; largest when it puts every
    sample in one class. Added to NNAQC's loss it stops the entropy part of
    :math:`L_{QC}` from merging classes at high noise (see
    :class:`~sknnaqc.NNAQCClassifier`'s ``class_balance``). It is a batch-level
    term, the information-maximisation prior of discriminative clustering,
    not a per-sample loss.

    Parameters
    ----------
    clean_logits : torch.Tensor of shape (n_samples, n_classes)
        Logits ``t1`` of the base network.
    class_prior : torch.Tensor of shape (n_classes,) or None, default=None
        Expected class proportions (positive, summing to 1); None is uniform.
    sample_weight : torch.Tensor of shape (n_samples,) or None, default=None
        Per-sample weights of the batch average.

    Returns
    -------
    loss : torch.Tensor
        Scalar, >= 0.

    Examples
    --------
    >>> import torch
    >>> round(float(class_balance_loss(torch.zeros(4, 2))), 6)  # balanced
    0.0
    >>> round(float(class_balance_loss(torch.tensor([[9.0, -9.0]] * 4))), 4)  # ~log(2)
    0.6931
    """
    proba = torch.softmax(clean_logits, dim=1)
    if sample_weight is None:
        mean = proba.mean(dim=0)
    else:
        w = sample_weight.to(proba.dtype)
        total = w.sum()
        if total <= 0:  # a batch of weight-0 samples carries no information
            return proba.new_zeros(())
        mean = (proba * w[:, None]).sum(dim=0) / total
    log_mean = torch.log(mean.clamp_min(1e-12))
    if class_prior is None:
        log_prior = -torch.log(torch.tensor(float(proba.shape[1]), dtype=proba.dtype))
    else:
        log_prior = torch.log(class_prior.to(proba.dtype).clamp_min(1e-12))
    return (mean * (log_mean - log_prior)).sum()


def _mix(weight, first, second):
    """``weight * first + (1 - weight) * second``, skipping a part of weight 0
    so that a non-finite value there cannot leak into the total through 0 * inf."""
    if weight == 1:
        return first
    if weight == 0:
        return second
    return weight * first + (1.0 - weight) * second


def noise_aware_loss(clean_logits, noisy_log_proba, y, alpha, beta, qc_target="soft", *,
                     sample_weight=None):
    """Combined loss ``alpha * L_NNA + (1 - alpha) * L_QC`` (eq. 6).

    Parameters
    ----------
    clean_logits : torch.Tensor of shape (n_samples, n_classes)
        Logits ``t1`` of the base network (clean branch).
    noisy_log_proba : torch.Tensor of shape (n_samples, n_classes)
        Log-probabilities of the noisy labels from the noise model.
    y : torch.Tensor of shape (n_samples,)
        Integer (encoded) noisy labels.
    alpha, beta : float
        Mixing weights, both in [0, 1].
    qc_target : {"soft", "hard"}, default="soft"
        See :func:`quasi_clustering_loss`.
    sample_weight : torch.Tensor of shape (n_samples,) or None, default=None
        Per-sample weights, applied to both parts (see :func:`weighted_mean`).

    Returns
    -------
    parts : dict of torch.Tensor
        ``"loss"`` (the combined scalar), ``"nna"`` and ``"qc"``.
    """
    return NoiseAwareLoss(alpha, beta, qc_target).components(
        (clean_logits, noisy_log_proba), y, sample_weight=sample_weight)


class PerSampleLoss(nn.Module):
    """Base of the criteria whose parts are per-sample losses.

    A subclass names its logged parts in ``parts``, returns them per sample
    from ``per_sample(y_pred, y_true)`` and sums the reduced parts into the
    total in ``combine(parts)`` (a linear combination, so reducing first
    gives the same total). :meth:`components` reduces every part with
    :func:`weighted_mean`; it is what the training loop calls.
    """

    parts = ()

    def per_sample(self, y_pred, y_true):  # pragma: no cover - abstract
        raise NotImplementedError

    def combine(self, parts):  # pragma: no cover - abstract
        raise NotImplementedError

    def components(self, y_pred, y_true, sample_weight=None):
        """Return ``{"loss": total, part: batch value, ...}``.

        Parameters
        ----------
        y_pred : torch.Tensor or tuple of torch.Tensor
            The module's output.
        y_true : torch.Tensor of shape (n_samples,)
            Integer (encoded) labels.
        sample_weight : torch.Tensor of shape (n_samples,) or None, default=None
            Per-sample weights, applied to every part.
        """
        parts = {name: weighted_mean(values, sample_weight)
                 for name, values in self.per_sample(y_pred, y_true).items()}
        parts["loss"] = self.combine(parts)
        return parts

    def forward(self, y_pred, y_true, sample_weight=None):
        return self.components(y_pred, y_true, sample_weight)["loss"]


class NoiseAwareLoss(PerSampleLoss):
    """Criterion module for the two-branch output of a noise-adapted network.

    Parameters
    ----------
    alpha : float, default=0.9
        Weight of the noisy-branch cross-entropy :math:`L_{NNA}`.
    beta : float, default=0.9
        Weight of the model's prediction inside :math:`L_{QC}` (the label
        gets ``1 - beta``).
    qc_target : {"soft", "hard"}, default="soft"
        See :func:`quasi_clustering_loss`.
    class_balance : float, default=0.0
        Weight of :func:`class_balance_loss`, added to the total (and logged
        as the ``"balance"`` part when positive). 0 is the paper's loss.
    class_prior : array-like of shape (n_classes,) or None, default=None
        Class proportions for the balance term; None is uniform. The
        estimators set it from the given labels' frequencies (see
        :meth:`set_class_prior`).

    Examples
    --------
    >>> import torch
    >>> crit = NoiseAwareLoss(alpha=1.0, beta=0.0)
    >>> logits = torch.zeros(2, 3)
    >>> out = (logits, torch.log_softmax(logits, dim=1))
    >>> round(float(crit(out, torch.tensor([0, 1]))), 4)  # log(3)
    1.0986
    """

    def __init__(self, alpha=0.9, beta=0.9, qc_target="soft", class_balance=0.0,
                 class_prior=None):
        super().__init__()
        self.alpha = alpha
        self.beta = beta
        self.qc_target = qc_target
        self.class_balance = class_balance
        self.register_buffer(
            "class_prior",
            None if class_prior is None else torch.as_tensor(class_prior, dtype=torch.float32),
        )

    @property
    def parts(self):
        return ("nna", "qc", "balance") if self.class_balance > 0 else ("nna", "qc")

    def set_class_prior(self, class_prior):
        """Use these class proportions in the balance term (called by ``fit``)."""
        self.class_prior = torch.as_tensor(class_prior, dtype=torch.float32).to(
            self.class_prior.device if self.class_prior is not None else "cpu")

    def components(self, y_pred, y_true, sample_weight=None):
        parts = super().components(y_pred, y_true, sample_weight)
        if self.class_balance > 0:
            parts["balance"] = class_balance_loss(y_pred[0], self.class_prior, sample_weight)
            parts["loss"] = parts["loss"] + self.class_balance * parts["balance"]
        return parts

    def per_sample(self, y_pred, y_true):
        clean_logits, noisy_log_proba = y_pred
        return {
            "nna": F.nll_loss(noisy_log_proba, y_true, reduction="none"),
            "qc": quasi_clustering_loss(clean_logits, y_true, self.beta,
                                        target=self.qc_target, reduction="none"),
        }

    def combine(self, parts):
        return _mix(self.alpha, parts["nna"], parts["qc"])


def generalized_cross_entropy(logits, y, q=0.7, truncation=None, *, reduction="mean"):
    """Generalized cross-entropy ``L_q = (1 - p_y^q) / q`` (Zhang & Sabuncu, 2018).

    ``q -> 0`` gives cross-entropy ``-log p_y``; ``q = 1`` gives ``1 - p_y``,
    the mean absolute error up to a factor 2. Computed as
    ``-expm1(q log p_y) / q``, which stays accurate for small ``q``.

    Parameters
    ----------
    logits : torch.Tensor of shape (n_samples, n_classes)
        Logits of the network; ``p = softmax(logits)``.
    y : torch.Tensor of shape (n_samples,)
        Integer (encoded) labels.
    q : float, default=0.7
        In (0, 1].
    truncation : float or None, default=None
        The truncated loss ``L_trunc``: a sample whose ``p_y`` is at most
        ``truncation`` (the paper's ``k``, 0.5 there) gets the constant
        ``L_q(truncation)`` and so no gradient. None: no truncation.
    reduction : {"mean", "none"}, default="mean"
        ``"none"`` returns the per-sample values.

    Returns
    -------
    loss : torch.Tensor
        Scalar, or of shape (n_samples,) with ``reduction="none"``.

    Examples
    --------
    >>> import math, torch
    >>> logits = torch.log(torch.tensor([[0.25, 0.75]]))
    >>> round(float(generalized_cross_entropy(logits, torch.tensor([1]), q=0.5)), 6)
    0.267949
    >>> round(2 * (1 - math.sqrt(0.75)), 6)
    0.267949
    """
    _check_reduction(reduction)
    log_p_y = F.log_softmax(logits, dim=1).gather(1, y.view(-1, 1)).squeeze(1)
    per_sample = -torch.expm1(q * log_p_y) / q
    if truncation is not None:
        floor = (1.0 - truncation ** q) / q
        per_sample = torch.where(log_p_y > math.log(truncation), per_sample,
                                 torch.full_like(per_sample, floor))
    return per_sample if reduction == "none" else weighted_mean(per_sample)


def symmetric_cross_entropy(logits, y, a=0.1, b=1.0, A=-4.0, *, reduction="mean"):
    """Symmetric cross-entropy ``a * CE + b * RCE`` (Wang et al., 2019).

    The reverse cross-entropy ``RCE = -sum_k p_k log q_k`` swaps prediction
    ``p = softmax(logits)`` and one-hot label ``q``, with ``log 0`` replaced by
    the constant ``A``; it reduces to ``-A * (1 - p_y)``.

    Parameters
    ----------
    logits : torch.Tensor of shape (n_samples, n_classes)
    y : torch.Tensor of shape (n_samples,)
        Integer (encoded) labels.
    a, b : float, default=0.1, 1.0
        Weights of CE and RCE.
    A : float, default=-4.0
        Value that replaces ``log 0`` in RCE; negative.
    reduction : {"mean", "none"}, default="mean"

    Returns
    -------
    loss : torch.Tensor
        Scalar, or of shape (n_samples,) with ``reduction="none"``.

    Examples
    --------
    >>> import torch
    >>> logits = torch.log(torch.tensor([[0.5, 0.5]]))
    >>> round(float(symmetric_cross_entropy(logits, torch.tensor([0]), a=1.0, b=1.0)), 6)
    2.693147
    """
    _check_reduction(reduction)
    parts = SymmetricCrossEntropyLoss(a, b, A).per_sample(logits, y)
    per_sample = a * parts["ce"] + b * parts["rce"]
    return per_sample if reduction == "none" else weighted_mean(per_sample)


class GeneralizedCrossEntropyLoss(PerSampleLoss):
    """Criterion of :func:`generalized_cross_entropy` on the clean-branch logits.

    Parameters
    ----------
    q : float, default=0.7
    truncation : float or None, default=None
    truncation_start : int, default=0
        Completed epochs of plain ``L_q`` before truncation applies (the
        training loop reports epochs through :meth:`on_epoch_begin`). At
        the start every ``p_y`` is near ``1 / n_classes``, so truncating
        from the first batch would leave no gradient at all.

    Examples
    --------
    >>> import torch
    >>> crit = GeneralizedCrossEntropyLoss(q=1.0)
    >>> round(float(crit(torch.zeros(1, 4), torch.tensor([2]))), 4)  # 1 - 1/4
    0.75
    """

    parts = ("gce",)

    def __init__(self, q=0.7, truncation=None, truncation_start=0):
        super().__init__()
        self.q = q
        self.truncation = truncation
        self.truncation_start = truncation_start
        self.epoch = 0

    def on_epoch_begin(self, epoch):
        """Set the number of completed epochs; returns values to log."""
        self.epoch = epoch
        return {}

    def per_sample(self, y_pred, y_true):
        truncation = self.truncation if self.epoch >= self.truncation_start else None
        return {"gce": generalized_cross_entropy(
            _logits(y_pred), y_true, self.q, truncation, reduction="none")}

    def combine(self, parts):
        return parts["gce"]


class SymmetricCrossEntropyLoss(PerSampleLoss):
    """Criterion of :func:`symmetric_cross_entropy`; logs ``ce`` and ``rce``.

    Parameters
    ----------
    a : float, default=0.1
    b : float, default=1.0
    A : float, default=-4.0

    Examples
    --------
    >>> import torch
    >>> parts = SymmetricCrossEntropyLoss(a=1.0, b=1.0).components(
    ...     torch.zeros(1, 4), torch.tensor([0]))
    >>> round(float(parts["rce"]), 4)  # 4 * (1 - 1/4)
    3.0
    """

    parts = ("ce", "rce")

    def __init__(self, a=0.1, b=1.0, A=-4.0):
        super().__init__()
        self.a = a
        self.b = b
        self.A = A

    def per_sample(self, y_pred, y_true):
        log_p_y = F.log_softmax(_logits(y_pred), dim=1).gather(1, y_true.view(-1, 1)).squeeze(1)
        return {"ce": -log_p_y, "rce": -self.A * (1.0 - log_p_y.exp())}

    def combine(self, parts):
        # Skip a part of weight 0 (no 0 * inf in the total).
        terms = [w * parts[name] for w, name in ((self.a, "ce"), (self.b, "rce")) if w != 0]
        return terms[0] if len(terms) == 1 else terms[0] + terms[1]


class CoTeachingLoss(nn.Module):
    """Co-teaching's cross-update of two networks (Han et al., 2018).

    The module's output is ``(logits_1, logits_2)`` of two networks. In each
    batch of ``n`` samples each network ranks the samples by its own
    cross-entropy and keeps its ``ceil((1 - R(t)) * n)`` smallest; network 1
    is then trained on the samples network 2 kept, and network 2 on those
    network 1 kept. ``R(t) = forget_rate * min(t / num_gradual, 1)``, where
    ``t`` is the number of completed epochs (the training loop sets it
    through :meth:`on_epoch_begin`), so the first epoch keeps every sample.

    The total is the sum of the two networks' losses: their parameters are
    disjoint, so each network's gradient is that of its own loss alone.
    Samples of weight 0 are ranked last; the weights then enter the mean of
    the kept samples (:func:`weighted_mean`).

    Parameters
    ----------
    forget_rate : float, default=0.2
        Final fraction of each batch left out; in [0, 1).
    num_gradual : int, default=10
        Epochs ``T_k`` over which the fraction left out grows linearly to
        ``forget_rate``.

    Examples
    --------
    >>> import torch
    >>> crit = CoTeachingLoss(forget_rate=0.5, num_gradual=1)
    >>> crit.on_epoch_begin(1)
    {'forget_rate': 0.5}
    >>> crit.n_keep(5)
    3
    """

    parts = ("net1", "net2")

    def __init__(self, forget_rate=0.2, num_gradual=10):
        super().__init__()
        self.forget_rate = forget_rate
        self.num_gradual = num_gradual
        self.epoch = 0

    def rate(self, epoch=None):
        """``R(t)`` after ``epoch`` completed epochs (default: the current one)."""
        epoch = self.epoch if epoch is None else epoch
        return self.forget_rate * min(epoch / self.num_gradual, 1.0)

    def on_epoch_begin(self, epoch):
        """Set the number of completed epochs; returns values to log."""
        self.epoch = epoch
        return {"forget_rate": self.rate()}

    def n_keep(self, n):
        """``ceil((1 - R(t)) * n)``, rounded first so that 0.8 * 10 is 8, not 9."""
        return min(n, max(1, math.ceil(round((1.0 - self.rate()) * n, 9))))

    def select(self, losses, sample_weight=None):
        """Indices of the ``n_keep`` smallest ``losses`` (weight-0 samples last)."""
        ranking = losses.detach()
        if sample_weight is not None:
            ranking = ranking.masked_fill(sample_weight == 0, float("inf"))
        return torch.topk(ranking, self.n_keep(len(ranking)), largest=False).indices

    def components(self, y_pred, y_true, sample_weight=None):
        """Return ``{"loss", "net1", "net2"}``: each network's loss on the
        samples the *other* network kept, and their sum."""
        logits_1, logits_2 = y_pred
        ce_1 = F.cross_entropy(logits_1, y_true, reduction="none")
        ce_2 = F.cross_entropy(logits_2, y_true, reduction="none")
        kept_by_1 = self.select(ce_1, sample_weight)
        kept_by_2 = self.select(ce_2, sample_weight)

        def mean_over(values, idx):
            return weighted_mean(values[idx], None if sample_weight is None
                                 else sample_weight[idx])

        net1 = mean_over(ce_1, kept_by_2)
        net2 = mean_over(ce_2, kept_by_1)
        return {"loss": net1 + net2, "net1": net1, "net2": net2}

    def forward(self, y_pred, y_true, sample_weight=None):
        return self.components(y_pred, y_true, sample_weight)["loss"]
