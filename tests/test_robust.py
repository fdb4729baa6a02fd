"""GCE, SCE and Co-teaching, and per-sample weights in every loss."""

import math
import warnings
from fractions import Fraction

import numpy as np
import pytest
import sklearn
import torch
import torch.nn.functional as F
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.utils.validation import has_fit_parameter
from torch import nn
from torch.utils.data import Dataset

from sknnaqc import (
    BaseModelClassifier,
    CoTeachingClassifier,
    GeneralizedCrossEntropyClassifier,
    NNAQCClassifier,
    SymmetricCrossEntropyClassifier,
)
from sknnaqc.experiment import METHODS, load_experiment_data
from sknnaqc.losses import (
    CoTeachingLoss,
    GeneralizedCrossEntropyLoss,
    NoiseAwareLoss,
    SymmetricCrossEntropyLoss,
    generalized_cross_entropy,
    symmetric_cross_entropy,
    weighted_mean,
)
from sknnaqc.noise import corrupt_labels, make_transition_matrix
from sknnaqc.noise_models import CoTeachingModule, NonlinearNoiseModel

from conftest import TinyMLP

FAST = dict(max_epochs=2, random_state=0)


def _log(probs):
    return torch.log(torch.tensor([probs], dtype=torch.float64))


# -- loss values and gradients -------------------------------------------------------------


def test_gce_hand_computed():
    logits = _log([0.2, 0.3, 0.5])
    y = torch.tensor([2])
    # (1 - 0.5 ** 0.5) / 0.5
    assert generalized_cross_entropy(logits, y, q=0.5).item() == pytest.approx(
        0.5857864376, abs=1e-9)
    # q = 1: 1 - p_y (mean absolute error / 2)
    assert generalized_cross_entropy(logits, y, q=1.0).item() == pytest.approx(0.5, abs=1e-12)
    # default q = 0.7 on two samples: mean of (1 - p^0.7) / 0.7
    two = torch.log(torch.tensor([[0.2, 0.8], [0.6, 0.4]], dtype=torch.float64))
    expected = ((1 - 0.8 ** 0.7) / 0.7 + (1 - 0.6 ** 0.7) / 0.7) / 2
    assert generalized_cross_entropy(two, torch.tensor([1, 0])).item() == pytest.approx(expected)


def test_gce_truncation_is_constant_below_threshold():
    logits = torch.log(torch.tensor([[0.3, 0.7], [0.8, 0.2]], dtype=torch.float64))
    logits.requires_grad_(True)
    y = torch.tensor([0, 0])  # p_y = 0.3 (pruned with k = 0.5) and 0.8 (kept)
    values = generalized_cross_entropy(logits, y, q=0.7, truncation=0.5, reduction="none")
    assert values[0].item() == pytest.approx((1 - 0.5 ** 0.7) / 0.7)
    assert values[1].item() == pytest.approx((1 - 0.8 ** 0.7) / 0.7)
    grad = torch.autograd.grad(values.sum(), logits)[0]
    assert torch.all(grad[0] == 0) and torch.any(grad[1] != 0)


def test_gce_truncation_waits_for_truncation_start():
    crit = GeneralizedCrossEntropyLoss(q=0.7, truncation=0.5, truncation_start=2)
    logits, y = torch.zeros(1, 4), torch.tensor([0])  # p_y = 0.25 < 0.5
    plain = (1 - 0.25 ** 0.7) / 0.7
    crit.on_epoch_begin(1)
    assert crit(logits, y).item() == pytest.approx(plain, rel=1e-6)
    crit.on_epoch_begin(2)
    assert crit(logits, y).item() == pytest.approx((1 - 0.5 ** 0.7) / 0.7, rel=1e-6)


def test_gce_tends_to_cross_entropy_as_q_goes_to_zero():
    torch.manual_seed(0)
    logits = torch.randn(6, 5, dtype=torch.float64, requires_grad=True)
    y = torch.tensor([0, 1, 2, 3, 4, 0])
    ce = F.cross_entropy(logits, y)
    gce = generalized_cross_entropy(logits, y, q=1e-7)
    assert gce.item() == pytest.approx(ce.item(), rel=1e-6)
    g_ce = torch.autograd.grad(ce, logits)[0]
    g_gce = torch.autograd.grad(gce, logits)[0]
    assert torch.allclose(g_ce, g_gce, atol=1e-6)
    # and it moves away from CE as q grows
    assert abs(generalized_cross_entropy(logits, y, q=0.7).item() - ce.item()) > 0.1


def test_sce_hand_computed_and_reverse_ce_definition():
    p = [0.2, 0.3, 0.5]
    logits, y = _log(p), torch.tensor([1])
    ce = -math.log(0.3)
    rce = 4 * (1 - 0.3)  # -A * (1 - p_y) with A = -4
    assert symmetric_cross_entropy(logits, y, a=0.1, b=1.0, A=-4).item() == pytest.approx(
        0.1 * ce + rce)
    parts = SymmetricCrossEntropyLoss(a=0.1, b=1.0, A=-4.0).components(logits, y)
    assert parts["ce"].item() == pytest.approx(ce)
    assert parts["rce"].item() == pytest.approx(rce)
    assert parts["loss"].item() == pytest.approx(0.1 * ce + rce)
    # RCE from its definition -sum_k p_k log q_k, with log 0 := A
    log_q = torch.full((3,), -4.0, dtype=torch.float64)
    log_q[1] = 0.0
    assert -(torch.tensor(p, dtype=torch.float64) * log_q).sum().item() == pytest.approx(rce)


def test_gradcheck_gce_and_sce():
    torch.manual_seed(1)
    logits = torch.randn(5, 4, dtype=torch.float64, requires_grad=True)
    y = torch.tensor([0, 1, 2, 3, 1])
    assert torch.autograd.gradcheck(lambda z: generalized_cross_entropy(z, y, q=0.7), (logits,))
    assert torch.autograd.gradcheck(lambda z: generalized_cross_entropy(z, y, q=0.3), (logits,))
    assert torch.autograd.gradcheck(
        lambda z: symmetric_cross_entropy(z, y, a=0.1, b=1.0, A=-4.0), (logits,))
    assert torch.autograd.gradcheck(
        lambda z: symmetric_cross_entropy(z, y, a=2.0, b=0.5, A=-6.0), (logits,))


# -- sample weights in the losses --------------------------------------------------------------


def test_weighted_mean_hand_computed():
    values = torch.tensor([1.0, 2.0, 6.0])
    assert weighted_mean(values).item() == pytest.approx(3.0)
    w = torch.tensor([2.0, 1.0, 0.0])
    w = w / w.mean()  # as the estimators scale them
    # sum(w l) / sum(w) = (2 * 1 + 1 * 2) / 3
    assert weighted_mean(values, w).item() == pytest.approx(4 / 3)


def _criteria():
    return [NoiseAwareLoss(0.7, 0.8), GeneralizedCrossEntropyLoss(0.7),
            GeneralizedCrossEntropyLoss(0.5, truncation=0.3),
            SymmetricCrossEntropyLoss(0.3, 1.0, -4.0)]


@pytest.mark.parametrize("criterion", _criteria(), ids=lambda c: type(c).__name__)
def test_integer_weights_equal_repetition_in_every_part(criterion):
    torch.manual_seed(2)
    logits = torch.randn(6, 4, dtype=torch.float64)
    y = torch.tensor([0, 1, 2, 3, 1, 2])
    counts = torch.tensor([1, 3, 0, 2, 1, 0])
    noise = NonlinearNoiseModel(4).double()

    def out(z):
        return (z, noise(z))

    weighted = criterion.components(out(logits), y, sample_weight=counts / counts.double().mean())
    idx = torch.repeat_interleave(torch.arange(6), counts)
    repeated = criterion.components(out(logits[idx]), y[idx])
    dropped = criterion.components(out(logits[counts > 0]), y[counts > 0],
                                   sample_weight=(counts[counts > 0] / counts.double().mean()))
    assert set(weighted) == set(repeated) == {"loss", *criterion.parts}
    for name in weighted:
        assert weighted[name].item() == pytest.approx(repeated[name].item(), rel=1e-12)
        # Weight 0 is the same as leaving the sample out.
        assert weighted[name].item() == pytest.approx(
            dropped[name].item() * (counts > 0).sum().item() / 6, rel=1e-12)


def test_nnaqc_loss_weights_hand_computed():
    # Two samples, two classes, W = 2 I; weights 3 and 1 -> parts 3/4, 1/4 of each.
    logits = torch.tensor([[math.log(3.0), 0.0], [0.0, 0.0]])
    noise = NonlinearNoiseModel(2, init_scale=2.0)
    y = torch.tensor([1, 0])
    w = torch.tensor([1.5, 0.5])  # 3:1 scaled to mean 1
    parts = NoiseAwareLoss(0.5, 0.5).components((logits, noise(logits)), y, sample_weight=w)
    nna_0 = -math.log(1 / (1 + math.e))  # -log sigmoid(-1), see test_losses
    nna_1 = math.log(2.0)  # uniform branch
    qc_0 = -(0.375 * math.log(0.75) + 0.625 * math.log(0.25))
    qc_1 = math.log(2.0)
    assert parts["nna"].item() == pytest.approx(0.75 * nna_0 + 0.25 * nna_1, abs=1e-6)
    assert parts["qc"].item() == pytest.approx(0.75 * qc_0 + 0.25 * qc_1, abs=1e-6)
    assert parts["loss"].item() == pytest.approx(
        0.5 * parts["nna"].item() + 0.5 * parts["qc"].item(), abs=1e-6)


# -- sample weights through the estimators -----------------------------------------------------

WEIGHTED = [BaseModelClassifier, NNAQCClassifier, GeneralizedCrossEntropyClassifier,
            SymmetricCrossEntropyClassifier]


@pytest.fixture(scope="module")
def small(digits):
    X, y = digits
    return X[:120], y[:120]


@pytest.mark.parametrize("cls", WEIGHTED, ids=lambda c: c.__name__)
def test_fit_weight_zero_equals_dropping_and_integers_equal_repeating(cls, small):
    X, y = small
    # One batch holds the whole set, so the loss is the full weighted mean.
    params = dict(module=TinyMLP, max_epochs=5, lr=1e-2, batch_size=1000, random_state=0)
    w = np.tile([0, 1, 2, 3], 30)
    weighted = cls(**params).fit(X, y, sample_weight=w)
    keep = w > 0
    dropped = cls(**params).fit(X[keep], y[keep], sample_weight=w[keep])
    repeated = cls(**params).fit(np.repeat(X, w, axis=0), np.repeat(y, w))
    for other in (dropped, repeated):
        np.testing.assert_allclose(weighted.predict_proba(X), other.predict_proba(X), atol=1e-5)


def test_unit_weights_change_nothing(small):
    X, y = small
    plain = NNAQCClassifier(TinyMLP, **FAST).fit(X, y)
    ones = NNAQCClassifier(TinyMLP, **FAST).fit(X, y, sample_weight=np.ones(len(y)))
    scaled = NNAQCClassifier(TinyMLP, **FAST).fit(X, y, sample_weight=np.full(len(y), 7.0))
    np.testing.assert_array_equal(plain.predict_proba(X), ones.predict_proba(X))
    np.testing.assert_array_equal(plain.predict_proba(X), scaled.predict_proba(X))
    assert plain.history_[:, "train_nna_loss"] == ones.history_[:, "train_nna_loss"]


def test_weights_change_the_fit(small):
    X, y = small
    w = np.where(y == 3, 10.0, 1.0)
    params = dict(module=TinyMLP, max_epochs=10, lr=1e-2, random_state=0)
    plain = BaseModelClassifier(**params).fit(X, y)
    weighted = BaseModelClassifier(**params).fit(X, y, sample_weight=w)
    assert (weighted.predict_proba(X)[:, 3].mean() > plain.predict_proba(X)[:, 3].mean() + 0.05)


@pytest.mark.parametrize("bad, message", [
    (np.ones(5), r"sample_weight.shape == \(5,\), expected \(120,\)"),
    (np.ones((120, 2)), "1D array or scalar"),
    (-np.ones(120), "Negative values in data passed to `sample_weight`"),
    (np.zeros(120), "at least one non-zero"),
    (np.r_[np.nan, np.ones(119)], "NaN"),
])
def test_sample_weight_validation(bad, message, small):
    X, y = small
    with pytest.raises(ValueError, match=message):
        NNAQCClassifier(TinyMLP, **FAST).fit(X, y, sample_weight=bad)


def test_sample_weight_is_declared_and_routed(small):
    X, y = small
    est = NNAQCClassifier(TinyMLP, **FAST)
    assert has_fit_parameter(est, "sample_weight")
    w = np.where(y == 3, 5.0, 1.0)
    # Without metadata routing: Pipeline's step__param convention.
    pipe = make_pipeline(NNAQCClassifier(TinyMLP, **FAST))
    pipe.fit(X, y, nnaqcclassifier__sample_weight=w)
    direct = NNAQCClassifier(TinyMLP, **FAST).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(pipe.predict_proba(X), direct.predict_proba(X))
    # With metadata routing: set_fit_request is generated from fit's signature.
    with sklearn.config_context(enable_metadata_routing=True):
        routed = (NNAQCClassifier(TinyMLP, **FAST).set_fit_request(sample_weight=True)
                  .set_score_request(sample_weight=False))
        scores = cross_val_score(routed, X, y, cv=2, params={"sample_weight": w})
    assert scores.shape == (2,)


class _Pairs(Dataset):
    def __init__(self, X, y):
        self.X, self.y = torch.as_tensor(X), torch.as_tensor(y)
        self.targets = list(y)

    def __len__(self):
        return len(self.X)

    def __getitem__(self, i):
        return self.X[i], self.y[i]


@pytest.mark.parametrize("cls", [NNAQCClassifier, GeneralizedCrossEntropyClassifier,
                                 SymmetricCrossEntropyClassifier, CoTeachingClassifier],
                         ids=lambda c: c.__name__)
def test_dataset_input_with_and_without_weights(cls, small):
    X, y = small
    ds = _Pairs(X, y)
    w = np.tile([0.0, 1.0, 2.0], 40)
    params = dict(module=TinyMLP, lr=1e-2, forget_rate=0.2) if cls is CoTeachingClassifier \
        else dict(module=TinyMLP, lr=1e-2)
    from_ds = cls(**params, **FAST).fit(ds, sample_weight=w)
    from_arrays = cls(**params, **FAST).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(from_ds.predict_proba(X), from_arrays.predict_proba(X), atol=1e-5)
    assert cls(**params, **FAST).fit(ds).predict(ds).shape == (120,)
    with pytest.raises(ValueError, match="expected"):
        cls(**params, **FAST).fit(ds, sample_weight=w[:10])


def test_weights_reach_the_loss_with_a_validation_split(small):
    from skorch.dataset import ValidSplit

    X, y = small
    clf = NNAQCClassifier(TinyMLP, train_split=ValidSplit(4), **FAST)
    clf.fit(X, y, sample_weight=np.tile([1.0, 3.0], 60))
    assert np.isfinite(clf.history_[-1, "valid_nna_loss"])


# -- Co-teaching ---------------------------------------------------------------------------------


class _Table(nn.Module):
    """Stub network: the logits of sample i are row i of a parameter table."""

    def __init__(self, logits):
        super().__init__()
        self.logits = nn.Parameter(torch.as_tensor(logits, dtype=torch.float64))

    def forward(self, idx):
        return self.logits[idx.long()]


@pytest.mark.parametrize("forget_rate, epoch, n", [(0.5, 10, 10), (0.4, 5, 10), (0.3, 3, 7),
                                                   (0.9, 100, 13), (0.2, 0, 9)])
def test_coteaching_keeps_ceil_and_updates_each_network_from_the_other(forget_rate, epoch, n):
    rng = np.random.RandomState(epoch + n)
    net_1, net_2 = _Table(rng.randn(n, 3) * 2), _Table(rng.randn(n, 3) * 2)
    module = CoTeachingModule(net_1, net_2)
    crit = CoTeachingLoss(forget_rate=forget_rate, num_gradual=10)
    logged = crit.on_epoch_begin(epoch)
    rate = Fraction(str(forget_rate)) * min(Fraction(epoch, 10), 1)
    assert logged["forget_rate"] == pytest.approx(float(rate))
    n_keep = math.ceil((1 - rate) * n)  # exact arithmetic
    y = torch.as_tensor(rng.randint(0, 3, n))
    idx = torch.arange(n)
    logits_1, logits_2 = module(idx)
    ce_1 = F.cross_entropy(logits_1, y, reduction="none").detach()
    ce_2 = F.cross_entropy(logits_2, y, reduction="none").detach()
    chosen_by_1 = set(torch.argsort(ce_1)[:n_keep].tolist())
    chosen_by_2 = set(torch.argsort(ce_2)[:n_keep].tolist())
    assert set(crit.select(ce_1).tolist()) == chosen_by_1
    assert len(chosen_by_1) == len(chosen_by_2) == n_keep

    parts = crit.components((logits_1, logits_2), y)
    parts["loss"].backward()
    rows_1 = set(torch.nonzero(net_1.logits.grad.abs().sum(1)).flatten().tolist())
    rows_2 = set(torch.nonzero(net_2.logits.grad.abs().sum(1)).flatten().tolist())
    assert rows_1 == chosen_by_2  # network 1 learns only from network 2's choice
    assert rows_2 == chosen_by_1
    assert parts["net1"].item() == pytest.approx(ce_1[sorted(chosen_by_2)].mean().item())
    assert parts["net2"].item() == pytest.approx(ce_2[sorted(chosen_by_1)].mean().item())


def test_coteaching_selection_with_weights():
    crit = CoTeachingLoss(forget_rate=0.5, num_gradual=1)
    crit.on_epoch_begin(1)
    losses = torch.tensor([0.1, 0.2, 0.3, 0.4])
    w = torch.tensor([0.0, 2.0, 1.0, 1.0])
    # Weight-0 samples are ranked last: the 2 kept are samples 1 and 2.
    assert sorted(crit.select(losses, w).tolist()) == [1, 2]
    margins = torch.tensor([4.0, 3.0, 2.0, 1.0])  # CE grows from sample 0 to 3
    logits = torch.stack([margins, torch.zeros(4)], dim=1)
    parts = crit.components((logits, logits), torch.zeros(4, dtype=torch.long),
                            sample_weight=w)
    ce = [math.log1p(math.exp(-m)) for m in (3.0, 2.0)]
    # mean over the 2 kept of w * CE = (2 * CE_1 + 1 * CE_2) / 2
    assert parts["net1"].item() == pytest.approx((2 * ce[0] + ce[1]) / 2, rel=1e-6)
    assert parts["net2"].item() == pytest.approx(parts["net1"].item())


def test_coteaching_estimator_schedule_prediction_and_parts(small):
    X, y = small
    clf = CoTeachingClassifier(TinyMLP, forget_rate=0.3, num_gradual=3, max_epochs=5, lr=1e-2,
                               random_state=0).fit(X, y)
    assert clf.history_[:, "forget_rate"] == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.3])
    assert clf.forget_rate_ == 0.3 and clf.transition_matrix_ is None
    for key in ("train_net1_loss", "train_net2_loss", "train_loss"):
        assert np.isfinite(clf.history_[-1, key])
    module = clf.net_.module_
    assert isinstance(module, CoTeachingModule)
    with torch.no_grad():
        proba = torch.softmax(module.base(torch.as_tensor(X)), 1).double().numpy()
        peer = torch.softmax(module.peer(torch.as_tensor(X)), 1).double().numpy()
    np.testing.assert_allclose(clf.predict_proba(X), proba / proba.sum(1, keepdims=True),
                               atol=1e-6)
    assert not np.allclose(proba, peer, atol=1e-3)  # separately initialised networks
    np.testing.assert_array_equal(clf.noise_matrix_, np.eye(10))


def test_coteaching_warns_when_both_networks_start_equal(small):
    X, y = small
    with pytest.warns(UserWarning, match="same weights"):
        CoTeachingClassifier(TinyMLP(64, 10), forget_rate=0.1, **FAST).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        CoTeachingClassifier(TinyMLP, forget_rate=0.1, **FAST).fit(X, y)


# -- parameters ----------------------------------------------------------------------------------


@pytest.mark.parametrize("est, message", [
    (GeneralizedCrossEntropyClassifier(q=0), "'q' parameter"),
    (GeneralizedCrossEntropyClassifier(q=1.5), "'q' parameter"),
    (GeneralizedCrossEntropyClassifier(truncation=1.0), "'truncation' parameter"),
    (GeneralizedCrossEntropyClassifier(truncation_start=-1), "'truncation_start' parameter"),
    (SymmetricCrossEntropyClassifier(A=0.0), "'A' parameter"),
    (SymmetricCrossEntropyClassifier(a=-1.0), "'a' parameter"),
    (SymmetricCrossEntropyClassifier(a=0, b=0), "a > 0 or b > 0"),
    (CoTeachingClassifier(forget_rate=1.0), "'forget_rate' parameter"),
    (CoTeachingClassifier(num_gradual=0), "'num_gradual' parameter"),
])
def test_parameter_validation(est, message, small):
    X, y = small
    with pytest.raises(ValueError, match=message):
        est.fit(X, y)


def test_grid_search_over_method_parameters(small):
    X, y = small
    search = GridSearchCV(GeneralizedCrossEntropyClassifier(TinyMLP, **FAST),
                          {"q": [0.3, 0.7]}, cv=2).fit(X, y)
    assert search.best_params_["q"] in (0.3, 0.7)


def test_experiment_engine_knows_the_methods():
    common = dict(max_epochs=1, random_state=0)
    assert isinstance(METHODS["gce"].build(common, None), GeneralizedCrossEntropyClassifier)
    assert isinstance(METHODS["sce"].build(common, None), SymmetricCrossEntropyClassifier)
    assert isinstance(METHODS["coteaching"].build(common, None), CoTeachingClassifier)


# -- digits with 50 % symmetric noise ------------------------------------------------------------


@pytest.fixture(scope="module")
def noisy_digits():
    X_tr, y_tr, X_te, y_te, _ = load_experiment_data("digits")
    T = make_transition_matrix(10, 0.5, kind="symmetric")
    return X_tr, corrupt_labels(y_tr, transition_matrix=T, random_state=0), X_te, y_te


# Co-teaching's schedule counts epochs; at batch size 100 digits has 13 batches
# per epoch, and selection then starts before the networks have learned every
# class, which can drop a whole class (seen on some seeds). Batch size 32
# gives 40 steps per epoch; the comparison uses it for both models.
BEATS_BASE = [
    (GeneralizedCrossEntropyClassifier, {}, {}),
    (SymmetricCrossEntropyClassifier, {}, {}),
    (CoTeachingClassifier, {}, {"batch_size": 32}),
]


@pytest.mark.parametrize("cls, method_params, common", BEATS_BASE, ids=lambda v: getattr(
    v, "__name__", ""))
def test_beats_base_model_on_digits_with_half_the_labels_wrong(cls, method_params, common,
                                                               noisy_digits):
    X_tr, y_noisy, X_te, y_te = noisy_digits
    params = dict(max_epochs=40, random_state=0, **common)
    base_error = 1 - BaseModelClassifier(**params).fit(X_tr, y_noisy).score(X_te, y_te)
    clf = cls(**method_params, **params).fit(X_tr, y_noisy)
    error = 1 - clf.score(X_te, y_te)
    assert error < base_error - 0.01, (error, base_error)
    if cls is CoTeachingClassifier:  # estimated noise rate, true 0.5
        assert 0.4 < clf.forget_rate_ < 0.6
