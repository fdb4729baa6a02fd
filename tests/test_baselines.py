"""Behaviour of the baseline methods built on the shared machinery."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import train_test_split

from sknnaqc import (
    BaseModelClassifier,
    BootstrappingClassifier,
    DropoutNoiseLayerClassifier,
    ForwardCorrectionClassifier,
    GenieAidedClassifier,
    NNAQCClassifier,
    TraceRegularizedClassifier,
)
from sknnaqc.losses import NoiseAwareLoss
from sknnaqc.noise import corrupt_labels, make_transition_matrix

from conftest import TinyMLP

ALL = [
    BaseModelClassifier,
    GenieAidedClassifier,
    TraceRegularizedClassifier,
    DropoutNoiseLayerClassifier,
    BootstrappingClassifier,
    ForwardCorrectionClassifier,
    NNAQCClassifier,
]


def _build(cls, **kwargs):
    if cls is GenieAidedClassifier:
        kwargs.setdefault("transition_matrix", make_transition_matrix(10, 0.2, kind="symmetric"))
    return cls(TinyMLP, max_epochs=2, random_state=0, **kwargs)


@pytest.mark.parametrize("cls", ALL)
def test_fit_predict_clone_pickle(cls, digits):
    X, y = digits
    X, y = X[:300], y[:300]
    clf = _build(cls).fit(X, y)
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(1), 1.0)
    np.testing.assert_allclose(clf.noise_matrix_.sum(1), 1.0, atol=1e-5)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), proba)
    again = clone(clf).fit(X, y)
    np.testing.assert_array_equal(again.predict_proba(X), proba)


def test_bootstrapping_loss_hand_computed():
    # p = softmax([ln 3, 0]) = [0.75, 0.25], label 1, beta = 0.05 (Reed's 0.95 on the label).
    logits = torch.tensor([[np.log(3.0), 0.0]], dtype=torch.float32)
    out = (logits, torch.log_softmax(logits, 1))
    y = torch.tensor([1])
    soft = NoiseAwareLoss(alpha=0.0, beta=0.05, qc_target="soft")(out, y)
    expected = -(0.05 * 0.75 * np.log(0.75) + (0.05 * 0.25 + 0.95) * np.log(0.25))
    assert soft.item() == pytest.approx(expected, rel=1e-5)
    hard = NoiseAwareLoss(alpha=0.0, beta=0.2, qc_target="hard")(out, y)
    expected_hard = -(0.2 * np.log(0.75) + 0.8 * np.log(0.25))
    assert hard.item() == pytest.approx(expected_hard, rel=1e-5)


def test_linear_noise_layer_loss_hand_computed():
    # Genie-aided: p(y'|x) = T^T p; p = [0.75, 0.25], T = [[0.8, 0.2], [0.4, 0.6]].
    from sknnaqc.noise_models import LinearNoiseModel

    T = np.array([[0.8, 0.2], [0.4, 0.6]])
    logits = torch.tensor([[np.log(3.0), 0.0]], dtype=torch.float32)
    noisy = LinearNoiseModel(2, transition_matrix=T)(logits)
    loss = NoiseAwareLoss(alpha=1.0, beta=0.0)((logits, noisy), torch.tensor([1]))
    assert loss.item() == pytest.approx(-np.log(0.75 * 0.2 + 0.25 * 0.6), rel=1e-5)


def test_genie_needs_a_matching_matrix(digits):
    X, y = digits
    with pytest.raises(ValueError, match="transition_matrix"):
        GenieAidedClassifier(TinyMLP, max_epochs=1).fit(X[:100], y[:100])
    with pytest.raises(ValueError, match="transition_matrix"):
        GenieAidedClassifier(TinyMLP, transition_matrix=np.eye(3), max_epochs=1).fit(X, y)
    bad = np.full((10, 10), 0.2)
    with pytest.raises(ValueError, match="transition_matrix"):
        GenieAidedClassifier(TinyMLP, transition_matrix=bad, max_epochs=1).fit(X, y)


def test_genie_with_identity_matches_base_model(digits):
    X, y = digits
    X, y = X[:300], y[:300]
    genie = GenieAidedClassifier(TinyMLP, transition_matrix=np.eye(10), max_epochs=3,
                                 random_state=0).fit(X, y)
    base = BaseModelClassifier(TinyMLP, max_epochs=3, random_state=0).fit(X, y)
    np.testing.assert_allclose(genie.predict_proba(X), base.predict_proba(X), atol=1e-4)


def test_trace_penalty_lowers_learned_trace(digits):
    X, y = digits
    X, y = X[:500], y[:500]
    free = TraceRegularizedClassifier(TinyMLP, trace_weight=0.0, max_epochs=10, lr=0.05,
                                      random_state=0)
    pushed = TraceRegularizedClassifier(TinyMLP, trace_weight=1.0, max_epochs=10, lr=0.05,
                                        random_state=0)
    t_free = np.trace(free.fit(X, y).noise_matrix_)
    t_pushed = np.trace(pushed.fit(X, y).noise_matrix_)
    assert t_pushed < t_free - 0.5
    assert "train_penalty" in pushed.history_[-1]


def test_forward_correction_with_true_T_fixes_heavy_pairflip(digits):
    """Pair-flip noise of 60 %: the majority label of class i is i + 1, so plain
    cross-entropy learns the wrong class; correcting with the true T recovers it."""
    X, y = digits
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
    with pytest.warns(UserWarning, match="not informative"):
        T = make_transition_matrix(10, 0.6, kind="pairflip")
    with pytest.warns(UserWarning, match="not informative"):
        y_noisy = corrupt_labels(y_tr, transition_matrix=T, random_state=0)
    common = dict(module=TinyMLP, module__hidden=64, max_epochs=30, random_state=0)
    base_acc = BaseModelClassifier(**common).fit(X_tr, y_noisy).score(X_te, y_te)
    fc = ForwardCorrectionClassifier(transition_matrix=T, **common).fit(X_tr, y_noisy)
    fc_acc = fc.score(X_te, y_te)
    clean_acc = BaseModelClassifier(**common).fit(X_tr, y_tr).score(X_te, y_te)
    assert base_acc < 0.3
    assert fc_acc > clean_acc - 0.1, (fc_acc, clean_acc)
    np.testing.assert_allclose(fc.transition_matrix_, T)
    assert fc.stage1_history_ is None


def test_forward_correction_estimates_T_in_stage_one(digits):
    X, y = digits
    T = make_transition_matrix(10, 0.3, kind="symmetric")
    y_noisy = corrupt_labels(y, transition_matrix=T, random_state=0)
    fc = ForwardCorrectionClassifier(TinyMLP, module__hidden=128, max_epochs=30,
                                     random_state=0).fit(X, y_noisy)
    assert fc.stage1_history_ is not None and len(fc.stage1_history_) == 30
    np.testing.assert_allclose(fc.transition_matrix_.sum(1), 1.0)
    # A well-trained stage 1 finds the noise: mean diagonal near 0.7, entries close.
    assert abs(np.mean(np.diag(fc.transition_matrix_)) - 0.7) < 0.05
    assert np.abs(fc.transition_matrix_ - T).max() < 0.2


def test_dropout_noise_layer_uses_dropout_only_in_training(digits):
    X, y = digits
    clf = DropoutNoiseLayerClassifier(TinyMLP, noise_dropout=0.9, max_epochs=2,
                                      random_state=0).fit(X[:200], y[:200])
    p1 = clf.predict_proba(X[:50])
    np.testing.assert_array_equal(p1, clf.predict_proba(X[:50]))


@pytest.mark.parametrize(
    "cls, params, match",
    [
        (TraceRegularizedClassifier, {"trace_weight": -1.0}, "trace_weight"),
        (DropoutNoiseLayerClassifier, {"noise_dropout": 1.0}, "noise_dropout"),
        (BootstrappingClassifier, {"mode": "medium"}, "mode"),
        (BootstrappingClassifier, {"beta": 1.5}, "beta"),
        (ForwardCorrectionClassifier, {"anchor_quantile": 0.0}, "anchor_quantile"),
        (GenieAidedClassifier, {"alpha": 2.0, "transition_matrix": np.eye(10)}, "alpha"),
    ],
)
def test_bad_method_parameters(cls, params, match, digits):
    X, y = digits
    with pytest.raises(ValueError, match=match):
        cls(TinyMLP, max_epochs=1, **params).fit(X[:100], y[:100])
