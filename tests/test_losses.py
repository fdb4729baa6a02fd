"""Unit tests of the loss functions and noise models on tiny tensors."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from sknnaqc.losses import NoiseAwareLoss, noise_aware_loss, quasi_clustering_loss
from sknnaqc.noise_models import (
    IdentityNoiseModel,
    LinearNoiseModel,
    NoiseAdaptedModule,
    NonlinearNoiseModel,
)


def test_nnaqc_loss_hand_computed():
    # One sample, two classes: t1 = [ln 3, 0] -> y_hat = [0.75, 0.25];
    # W = 2 I -> W y_hat = [1.5, 0.5] -> noisy = [sigmoid(1), sigmoid(-1)].
    logits = torch.tensor([[math.log(3.0), 0.0]])
    noise_model = NonlinearNoiseModel(2, init_scale=2.0)
    y = torch.tensor([1])
    parts = noise_aware_loss(logits, noise_model(logits), y, alpha=0.5, beta=0.5)
    nna = -math.log(1 / (1 + math.e))  # -log sigmoid(-1)
    qc = -(0.375 * math.log(0.75) + 0.625 * math.log(0.25))
    assert parts["nna"].item() == pytest.approx(nna, abs=1e-6)
    assert parts["qc"].item() == pytest.approx(qc, abs=1e-6)
    assert parts["loss"].item() == pytest.approx(0.5 * nna + 0.5 * qc, abs=1e-6)
    assert parts["loss"].item() == pytest.approx(1.143787, abs=1e-5)


def test_loss_matches_numpy_reference():
    rng = np.random.RandomState(0)
    t1 = rng.randn(5, 4)
    W = rng.randn(4, 4)
    y = np.array([0, 3, 1, 1, 2])
    alpha, beta = 0.7, 0.8

    def softmax(z):
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    y_hat = softmax(t1)
    noisy = softmax(y_hat @ W.T)  # row form of W @ y_hat
    onehot = np.eye(4)[y]
    nna = -np.mean(np.log(noisy[np.arange(5), y]))
    qc = -np.mean(np.sum((beta * y_hat + (1 - beta) * onehot) * np.log(y_hat), axis=1))
    expected = alpha * nna + (1 - alpha) * qc

    model = NonlinearNoiseModel(4)
    with torch.no_grad():
        model.weight.copy_(torch.tensor(W, dtype=torch.float32))
    logits = torch.tensor(t1, dtype=torch.float32)
    loss = NoiseAwareLoss(alpha, beta)((logits, model(logits)), torch.tensor(y))
    assert loss.item() == pytest.approx(expected, rel=1e-5)


def test_gradcheck_combined_loss():
    torch.manual_seed(0)
    logits = torch.randn(6, 4, dtype=torch.float64, requires_grad=True)
    W = torch.randn(4, 4, dtype=torch.float64, requires_grad=True)
    y = torch.tensor([0, 1, 2, 3, 1, 0])

    def loss_fn(logits, W):
        noisy = F.log_softmax(torch.softmax(logits, dim=1) @ W.T, dim=1)
        return noise_aware_loss(logits, noisy, y, alpha=0.6, beta=0.9)["loss"]

    assert torch.autograd.gradcheck(loss_fn, (logits, W))


def test_alpha_extremes_are_pure_parts():
    torch.manual_seed(1)
    logits = torch.randn(8, 5)
    noisy = NonlinearNoiseModel(5, init_scale=3.0)(logits)
    y = torch.randint(0, 5, (8,))
    nna = F.nll_loss(noisy, y)
    qc = quasi_clustering_loss(logits, y, 0.9)
    assert noise_aware_loss(logits, noisy, y, 1.0, 0.9)["loss"].item() == pytest.approx(nna.item())
    assert noise_aware_loss(logits, noisy, y, 0.0, 0.9)["loss"].item() == pytest.approx(qc.item())
    # beta = 0 makes L_QC plain cross-entropy on the clean branch.
    ce = F.cross_entropy(logits, y)
    assert quasi_clustering_loss(logits, y, 0.0).item() == pytest.approx(ce.item(), rel=1e-6)


def test_qc_gradient_flows_through_both_factors():
    torch.manual_seed(2)
    logits = torch.randn(4, 3, requires_grad=True)
    y = torch.tensor([0, 1, 2, 0])
    quasi_clustering_loss(logits, y, beta=0.9).backward()
    grad_full = logits.grad.clone()

    # Same value with the target detached: a different gradient.
    logits2 = logits.detach().clone().requires_grad_(True)
    log_p = F.log_softmax(logits2, dim=1)
    target = 0.9 * log_p.exp().detach() + 0.1 * F.one_hot(y, 3)
    (-(target * log_p).sum(1).mean()).backward()
    assert not torch.allclose(grad_full, logits2.grad, atol=1e-4)

    # beta = 1 is the entropy; a gradient step lowers it (clustering effect).
    logits3 = torch.randn(4, 3, requires_grad=True)
    entropy = quasi_clustering_loss(logits3, y, beta=1.0)
    entropy.backward()
    with torch.no_grad():
        stepped = logits3 - 0.5 * logits3.grad
    assert quasi_clustering_loss(stepped, y, beta=1.0).item() < entropy.item()


def test_hard_target_has_no_gradient_through_argmax():
    logits = torch.tensor([[2.0, 0.0, -1.0]], requires_grad=True)
    y = torch.tensor([1])
    loss = quasi_clustering_loss(logits, y, beta=0.2, target="hard")
    # Target = 0.2 * onehot(argmax = 0) + 0.8 * onehot(1), a constant.
    expected = -(0.2 * F.log_softmax(logits, 1)[0, 0] + 0.8 * F.log_softmax(logits, 1)[0, 1])
    assert loss.item() == pytest.approx(expected.item())
    grad = torch.autograd.grad(loss, logits)[0]
    grad_fixed_target = torch.autograd.grad(expected, logits)[0]
    assert torch.allclose(grad, grad_fixed_target, atol=1e-6)
    # The soft target differs exactly by the gradient through y_hat.
    soft = quasi_clustering_loss(logits, y, beta=0.2, target="soft")
    assert not torch.allclose(torch.autograd.grad(soft, logits)[0], grad, atol=1e-3)
    with pytest.raises(ValueError, match="target"):
        quasi_clustering_loss(logits, y, 0.5, target="bogus")


def test_noise_model_transition_matrices():
    W = torch.tensor([[1.0, 2.0], [0.0, -1.0]])
    model = NonlinearNoiseModel(2)
    with torch.no_grad():
        model.weight.copy_(W)
    T = model.transition_matrix()
    # T[i, j] = softmax(W e_i)_j, e.g. row 0 = softmax([1, 0]).
    expected_row0 = torch.softmax(torch.tensor([1.0, 0.0]), 0)
    assert torch.allclose(T[0], expected_row0)
    assert torch.allclose(T.sum(1), torch.ones(2))
    # Feeding a one-hot clean prediction reproduces the row (eq. 3 = eq. 4 there).
    onehot_logits = torch.tensor([[50.0, -50.0]])
    assert torch.allclose(model(onehot_logits).exp()[0], T[0], atol=1e-6)

    learned = LinearNoiseModel(3, init_scale=2.0)
    assert torch.allclose(learned.transition_matrix().sum(1), torch.ones(3))
    fixed = LinearNoiseModel(2, transition_matrix=[[0.8, 0.2], [0.3, 0.7]])
    probs = fixed(torch.tensor([[50.0, -50.0]])).exp()
    assert torch.allclose(probs, torch.tensor([[0.8, 0.2]]), atol=1e-6)


def test_genie_with_identity_equals_base_model_loss():
    torch.manual_seed(3)
    logits = torch.randn(7, 4, requires_grad=True)
    y = torch.randint(0, 4, (7,))
    genie = NoiseAwareLoss(alpha=1.0, beta=0.0)(
        (logits, LinearNoiseModel(4, transition_matrix=np.eye(4))(logits)), y
    )
    base = NoiseAwareLoss(alpha=0.0, beta=0.0)((logits, IdentityNoiseModel()(logits)), y)
    assert genie.item() == pytest.approx(base.item(), rel=1e-6)
    assert genie.item() == pytest.approx(F.cross_entropy(logits, y).item(), rel=1e-6)
    g1 = torch.autograd.grad(genie, logits)[0]
    g2 = torch.autograd.grad(F.cross_entropy(logits, y), logits)[0]
    assert torch.allclose(g1, g2, atol=1e-6)


def test_trace_penalty_gradient_lowers_trace():
    model = LinearNoiseModel(4, init_scale=3.0, trace_weight=1.0)
    before = torch.trace(model.transition_matrix()).item()
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    for _ in range(5):
        opt.zero_grad()
        model.penalty().backward()
        opt.step()
    assert torch.trace(model.transition_matrix()).item() < before - 0.1
    assert LinearNoiseModel(4, trace_weight=0.0).penalty() is None


def test_linear_models_stay_finite_with_structural_zeros():
    fixed = LinearNoiseModel(3, transition_matrix=np.eye(3))
    out = fixed(torch.tensor([[100.0, -100.0, -100.0]]))
    assert torch.isfinite(out).all()


def test_noise_adapted_module_returns_both_branches():
    base = torch.nn.Linear(3, 2)
    module = NoiseAdaptedModule(base, NonlinearNoiseModel(2))
    clean, noisy = module(torch.randn(5, 3))
    assert clean.shape == noisy.shape == (5, 2)
    assert torch.allclose(noisy.exp().sum(1), torch.ones(5))


# -- class-balance term (issue 10) ---------------------------------------------------
def test_class_balance_hand_computed_with_prior_and_weights():
    from sknnaqc.losses import class_balance_loss

    # Two samples with y_hat = [0.75, 0.25] and [0.25, 0.75]: mean [0.5, 0.5].
    logits = torch.log(torch.tensor([[0.75, 0.25], [0.25, 0.75]]))
    assert class_balance_loss(logits).item() == pytest.approx(0.0, abs=1e-7)
    prior = torch.tensor([0.8, 0.2])
    expected = 0.5 * math.log(0.5 / 0.8) + 0.5 * math.log(0.5 / 0.2)
    assert class_balance_loss(logits, prior).item() == pytest.approx(expected, rel=1e-6)
    # Weights 3:1 give the mean [0.625, 0.375]; weight 0 everywhere gives 0.
    w = torch.tensor([3.0, 1.0])
    m = np.array([0.625, 0.375])
    assert class_balance_loss(logits, None, w).item() == pytest.approx(
        float(np.sum(m * np.log(m / 0.5))), rel=1e-5)
    assert class_balance_loss(logits, None, torch.zeros(2)).item() == 0.0


def test_class_balance_gradient_spreads_a_merged_batch():
    from sknnaqc.losses import class_balance_loss

    # Every sample leans to class 0: a gradient step must raise the mean of class 1.
    logits = torch.tensor([[2.0, 0.0], [1.0, 0.0], [3.0, 0.5]], requires_grad=True)
    class_balance_loss(logits).backward()
    stepped = logits - 0.5 * logits.grad
    before = torch.softmax(logits, 1).mean(0)[1].item()
    after = torch.softmax(stepped, 1).mean(0)[1].item()
    assert after > before


def test_noise_aware_loss_adds_weighted_balance_part():
    from sknnaqc.losses import class_balance_loss

    torch.manual_seed(0)
    logits = torch.randn(6, 3)
    noisy = NonlinearNoiseModel(3, init_scale=2.0)(logits)
    y = torch.tensor([0, 1, 2, 0, 1, 2])
    plain = NoiseAwareLoss(alpha=0.9, beta=0.9).components((logits, noisy), y)
    with_bal = NoiseAwareLoss(alpha=0.9, beta=0.9, class_balance=0.3,
                              class_prior=[0.5, 0.25, 0.25]).components((logits, noisy), y)
    assert "balance" not in plain and set(with_bal) == {"loss", "nna", "qc", "balance"}
    expected = class_balance_loss(logits, torch.tensor([0.5, 0.25, 0.25]))
    assert with_bal["balance"].item() == pytest.approx(expected.item(), rel=1e-6)
    assert with_bal["loss"].item() == pytest.approx(
        plain["loss"].item() + 0.3 * expected.item(), rel=1e-6)
