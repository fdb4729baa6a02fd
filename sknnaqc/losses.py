"""Loss functions: the NNAQC loss (eq. 6 of the paper) and its parts.

Every estimator in sknnaqc trains with :class:`NoiseAwareLoss`; the methods
differ only in the weights ``alpha`` / ``beta`` and in the noise model that
produces the noisy-label branch (see :mod:`sknnaqc.noise_models`).
"""

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["quasi_clustering_loss", "noise_aware_loss", "NoiseAwareLoss"]


def quasi_clustering_loss(clean_logits, y, beta, target="soft"):
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

    Returns
    -------
    loss : torch.Tensor
        Scalar.
    """
    log_p = F.log_softmax(clean_logits, dim=1)
    # The target is linear in its two parts, so split the sum: beta times the
    # prediction's own term plus (1 - beta) times cross-entropy with the label.
    if target == "soft":
        own = -(log_p.exp() * log_p).sum(dim=1).mean()  # entropy, gradient through both
    elif target == "hard":
        own = F.nll_loss(log_p, log_p.argmax(dim=1))  # argmax carries no gradient
    else:
        raise ValueError(f"target must be 'soft' or 'hard', got {target!r}")
    if beta == 0:
        return F.nll_loss(log_p, y)
    if beta == 1:
        return own
    return beta * own + (1.0 - beta) * F.nll_loss(log_p, y)


def noise_aware_loss(clean_logits, noisy_log_proba, y, alpha, beta, qc_target="soft"):
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

    Returns
    -------
    parts : dict of torch.Tensor
        ``"loss"`` (the combined scalar), ``"nna"`` and ``"qc"``.
    """
    nna = F.nll_loss(noisy_log_proba, y)
    qc = quasi_clustering_loss(clean_logits, y, beta, target=qc_target)
    # Skip a part whose weight is exactly zero so that a non-finite value
    # there cannot leak into the total through 0 * inf.
    if alpha == 1:
        loss = nna
    elif alpha == 0:
        loss = qc
    else:
        loss = alpha * nna + (1.0 - alpha) * qc
    return {"loss": loss, "nna": nna, "qc": qc}


class NoiseAwareLoss(nn.Module):
    """Criterion module for the two-branch output of a noise-adapted network.

    Parameters
    ----------
    alpha : float, default=0.9
        Weight of the noisy-branch cross-entropy :math:`L_{NNA}`.
    beta : float, default=0.1
        Weight of the model's prediction inside :math:`L_{QC}` (the label
        gets ``1 - beta``; see :class:`~sknnaqc.NNAQCClassifier`).
    qc_target : {"soft", "hard"}, default="soft"
        See :func:`quasi_clustering_loss`.

    Examples
    --------
    >>> import torch
    >>> crit = NoiseAwareLoss(alpha=1.0, beta=0.0)
    >>> logits = torch.zeros(2, 3)
    >>> out = (logits, torch.log_softmax(logits, dim=1))
    >>> round(float(crit(out, torch.tensor([0, 1]))), 4)  # log(3)
    1.0986
    """

    def __init__(self, alpha=0.9, beta=0.1, qc_target="soft"):
        super().__init__()
        self.alpha = alpha
        self.beta = beta
        self.qc_target = qc_target

    def components(self, y_pred, y_true):
        """Return the dict of loss parts (see :func:`noise_aware_loss`)."""
        clean_logits, noisy_log_proba = y_pred
        return noise_aware_loss(
            clean_logits, noisy_log_proba, y_true, self.alpha, self.beta, self.qc_target
        )

    def forward(self, y_pred, y_true):
        return self.components(y_pred, y_true)["loss"]
