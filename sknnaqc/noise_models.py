"""Noise models: the layer between clean-label and noisy-label predictions.

This is where NNAQC differs from the linear-noise-layer methods, in one line:

* NNAQC (:class:`NonlinearNoiseModel`, eq. 3):
  ``noisy = softmax(W @ softmax(t1))`` with an unconstrained square ``W``.
* Linear noise layers (:class:`LinearNoiseModel`, eq. 5):
  ``noisy = Q.T @ softmax(t1)`` with a row-stochastic ``Q`` (learned, or fixed
  to a known / estimated transition matrix).
* The base model (:class:`IdentityNoiseModel`): ``noisy = softmax(t1)``.

Every noise model maps clean logits ``t1`` of shape (n_samples, n_classes) to
noisy-label log-probabilities of the same shape, and reports its implied
transition matrix with the convention used throughout sknnaqc:
``T[i, j] = P(noisy label = j | true label = i)``, rows sum to 1.
"""

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "IdentityNoiseModel",
    "NonlinearNoiseModel",
    "LinearNoiseModel",
    "NoiseAdaptedModule",
    "CoTeachingModule",
]

# Smallest probability fed to log() in the linear models; keeps the loss finite
# when a fixed transition matrix has structural zeros.
_EPS = 1e-12


class IdentityNoiseModel(nn.Module):
    """No noise model: the noisy branch equals the clean branch."""

    def forward(self, clean_logits):
        return F.log_softmax(clean_logits, dim=1)

    def penalty(self):
        return None

    def transition_matrix(self, n_classes):
        return torch.eye(n_classes)


class NonlinearNoiseModel(nn.Module):
    """NNAQC's nonlinear noise model ``softmax(W softmax(t1))`` (eq. 3).

    Parameters
    ----------
    n_classes : int
        Number of classes ``L``; ``W`` is ``L x L`` with no bias.
    init_scale : float, default=1.0
        ``W`` starts as ``init_scale * I``.
    dropout : float, default=0.0
        Dropout on the noise model's input ``softmax(t1)`` during training
        ("Regu. NNAQC").
    """

    def __init__(self, n_classes, init_scale=1.0, dropout=0.0):
        super().__init__()
        self.weight = nn.Parameter(init_scale * torch.eye(n_classes))
        # No Dropout module at rate 0: one op less per batch.
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def forward(self, clean_logits):
        y_hat = self.dropout(torch.softmax(clean_logits, dim=1))
        # Row-vector form of W @ y_hat for a batch.
        return F.log_softmax(y_hat @ self.weight.T, dim=1)

    def penalty(self):
        return None

    def transition_matrix(self, n_classes=None):
        """``T[i, j] = softmax(W e_i)_j`` (eq. 4): what ``W`` does to class ``i``."""
        return torch.softmax(self.weight.T, dim=1)


class LinearNoiseModel(nn.Module):
    """Linear noise layer ``p(y'|x) = Q.T p(y|x)`` with row-stochastic ``Q``.

    Parameters
    ----------
    n_classes : int
        Number of classes.
    transition_matrix : array-like of shape (n_classes, n_classes), default=None
        A fixed ``Q`` (genie-aided, forward correction). When None, ``Q`` is
        learned as ``softmax`` of a free matrix, row by row (Sukhbaatar et al.).
    init_scale : float, default=1.0
        A learned ``Q`` starts at ``softmax(init_scale * I)`` row-wise.
    dropout : float, default=0.0
        Dropout on the layer's input ``softmax(t1)`` (Jindal et al. 2016).
    trace_weight : float, default=0.0
        Weight of the ``trace(Q)`` penalty (Sukhbaatar et al. 2014).
    """

    def __init__(
        self, n_classes, transition_matrix=None, init_scale=1.0, dropout=0.0, trace_weight=0.0
    ):
        super().__init__()
        if transition_matrix is None:
            self.logits = nn.Parameter(init_scale * torch.eye(n_classes))
        else:
            self.logits = None
            self.register_buffer(
                "fixed", torch.as_tensor(transition_matrix, dtype=torch.float32).clone()
            )
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.trace_weight = trace_weight

    def transition_matrix(self, n_classes=None):
        if self.logits is None:
            return self.fixed
        return torch.softmax(self.logits, dim=1)

    def forward(self, clean_logits):
        y_hat = self.dropout(torch.softmax(clean_logits, dim=1))
        q = self.transition_matrix().to(y_hat.dtype)
        return torch.log((y_hat @ q).clamp_min(_EPS))

    def penalty(self):
        if self.trace_weight == 0 or self.logits is None:
            return None
        return self.trace_weight * torch.trace(self.transition_matrix())


class NoiseAdaptedModule(nn.Module):
    """A base network with a noise model stacked on its logits.

    ``forward`` returns ``(clean_logits, noisy_log_proba)``. skorch uses the
    first element of a tuple for prediction, so the noise model is
    disconnected at test time.

    Parameters
    ----------
    base : torch.nn.Module
        The user's network; returns logits of shape (n_samples, n_classes).
    noise_model : torch.nn.Module
        One of the noise models of this module.
    """

    def __init__(self, base, noise_model):
        super().__init__()
        self.base = base
        self.noise_model = noise_model

    def forward(self, *args, **kwargs):
        clean_logits = self.base(*args, **kwargs)
        return clean_logits, self.noise_model(clean_logits)


class CoTeachingModule(nn.Module):
    """Two networks of the same architecture trained side by side (Co-teaching).

    ``forward`` returns ``(logits_1, logits_2)``; skorch predicts with the
    first element of a tuple, so prediction uses network 1 (``base``) alone.
    :class:`~sknnaqc.losses.CoTeachingLoss` makes each network learn from
    the samples the other one selected. There is no noise model
    (``noise_model`` is the identity, kept so that every sknnaqc module has one).

    Parameters
    ----------
    base : torch.nn.Module
        Network 1, the one used for prediction.
    peer : torch.nn.Module
        Network 2, a separately initialised copy of ``base``.
    """

    def __init__(self, base, peer):
        super().__init__()
        self.base = base
        self.peer = peer
        self.noise_model = IdentityNoiseModel()

    def forward(self, *args, **kwargs):
        return self.base(*args, **kwargs), self.peer(*args, **kwargs)
