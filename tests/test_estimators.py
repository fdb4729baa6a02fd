"""Integration tests of NNAQCClassifier and the shared estimator machinery."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from skorch import NeuralNetClassifier
from torch import nn

from sknnaqc import BaseModelClassifier, NNAQCClassifier, NonFiniteLossError
from sknnaqc.noise import corrupt_labels, make_transition_matrix

from conftest import TinyMLP


@pytest.fixture(scope="module")
def small(digits):
    X, y = digits
    return X[:400], y[:400]


def quick(**kwargs):
    params = dict(module=TinyMLP, max_epochs=3, random_state=0)
    params.update(kwargs)
    return NNAQCClassifier(**params)


def test_fit_predict_shapes_and_attributes(small):
    X, y = small
    clf = quick().fit(X, y)
    assert clf.n_features_in_ == 64
    np.testing.assert_array_equal(clf.classes_, np.arange(10))
    proba = clf.predict_proba(X[:5])
    assert proba.shape == (5, 10) and proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert clf.noise_matrix_.shape == (10, 10)
    np.testing.assert_allclose(clf.noise_matrix_.sum(axis=1), 1.0, atol=1e-6)
    # The loss parts are logged per batch and per epoch.
    assert {"train_nna_loss", "train_qc_loss"} <= set(clf.history_[-1])
    assert "train_nna_loss" in clf.history_[-1, "batches", 0]


def test_noise_matrix_is_softmax_of_W_columns(small):
    X, y = small
    clf = quick().fit(X, y)
    W = clf.net_.module_.noise_model.weight.detach().double()
    expected = torch.softmax(W.T, dim=1).numpy()
    np.testing.assert_allclose(clf.noise_matrix_, expected, atol=1e-6)


def test_changing_W_after_fit_does_not_change_predictions(small):
    X, y = small
    clf = quick().fit(X, y)
    before = clf.predict_proba(X)
    with torch.no_grad():
        clf.net_.module_.noise_model.weight.normal_(0, 10)
    np.testing.assert_array_equal(clf.predict_proba(X), before)


def test_string_and_noncontiguous_labels(small):
    X, y = small
    names = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven",
                      "eight", "nine"])
    clf = quick().fit(X, names[y])
    assert set(clf.predict(X)) <= set(names)
    assert clf.predict(X).dtype == names[y].dtype
    odd = y * 7 + 3
    clf2 = quick().fit(X, odd)
    np.testing.assert_array_equal(clf2.classes_, np.arange(10) * 7 + 3)
    assert set(clf2.predict(X)) <= set(odd)
    # Labels come back as given, in the column order of classes_.
    proba = clf.predict_proba(X)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(1)])
    np.testing.assert_array_equal(clf.classes_, np.sort(names))


def test_random_state_gives_identical_fits_and_leaves_global_rng(small):
    X, y = small
    torch.manual_seed(123)
    expected_next = torch.rand(1)
    torch.manual_seed(123)
    p1 = quick(random_state=7).fit(X, y).predict_proba(X)
    assert torch.equal(torch.rand(1), expected_next)  # global RNG untouched
    p2 = quick(random_state=7).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(p1, p2)
    p3 = quick(random_state=8).fit(X, y).predict_proba(X)
    assert not np.allclose(p1, p3)


def test_pickle_round_trip(small):
    X, y = small
    clf = quick().fit(X, y)
    clone_ = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(clone_.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(clone_.predict(X), clf.predict(X))


def test_clone_keeps_routed_params_and_drops_fit(small):
    X, y = small
    clf = quick(module__hidden=8, optimizer__weight_decay=1e-4, alpha=0.5)
    cloned = clone(clf)
    assert cloned.get_params()["module__hidden"] == 8
    assert cloned.get_params()["optimizer__weight_decay"] == 1e-4
    assert cloned.alpha == 0.5
    cloned.fit(X, y)
    assert cloned.net_.module_.base.layers[0].out_features == 8
    assert not hasattr(clf, "net_")
    cloned.set_params(module__hidden=4, beta=0.1)
    assert cloned.module__hidden == 4 and cloned.beta == 0.1


def test_gridsearch_over_alpha_and_beta(small):
    X, y = small
    grid = GridSearchCV(quick(max_epochs=2), {"alpha": [0.5, 0.9], "beta": [0.5, 0.9]}, cv=2)
    grid.fit(X, y)
    assert len(grid.cv_results_["params"]) == 4
    assert grid.best_params_["alpha"] in (0.5, 0.9)
    assert grid.predict(X).shape == (len(X),)


def test_pipeline(small):
    X, y = small
    pipe = make_pipeline(StandardScaler(), quick()).fit(X, y)
    assert pipe.score(X, y) > 0.5


def test_module_forms_class_instance_factory(small):
    X, y = small

    def factory(n_classes, n_features, width=16):
        return TinyMLP(n_features, n_classes, hidden=width)

    instance = TinyMLP(64, 10)
    initial = [p.detach().clone() for p in instance.parameters()]
    for module, extra in [(TinyMLP, {}), (factory, {"module__width": 4}), (instance, {})]:
        clf = quick(module=module, **extra).fit(X, y)
        assert clf.predict(X).shape == (len(X),)
    # The user's instance is copied, not trained in place.
    for p, p0 in zip(instance.parameters(), initial):
        assert torch.equal(p, p0)
    with pytest.raises(ValueError, match="module__"):
        quick(module=instance, module__hidden=3).fit(X, y)


def test_default_module_is_an_mlp(digits):
    X, y = digits
    clf = NNAQCClassifier(max_epochs=20, random_state=0).fit(X, y)
    assert clf.score(X, y) > 0.8
    assert clf.net_.module_.base.__class__.__name__ == "MLP"


def test_wrong_module_output_shape_is_reported(small):
    X, y = small
    with pytest.raises(ValueError, match=r"\(n_samples, n_classes\)"):
        quick(module=lambda: nn.Linear(64, 3)).fit(X, y)


def test_nan_loss_stops_training(small):
    X, y = small
    with pytest.raises(NonFiniteLossError, match="nan|inf"):
        quick(lr=1e30, optimizer=torch.optim.SGD, max_epochs=5).fit(X * 1e6, y)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"alpha": 1.5}, "alpha"),
        ({"alpha": -0.1}, "alpha"),
        ({"beta": 2.0}, "beta"),
        ({"noise_dropout": 1.0}, "noise_dropout"),
        ({"noise_dropout": -0.5}, "noise_dropout"),
        ({"max_epochs": 0}, "max_epochs"),
        ({"lr": 0.0}, "lr"),
        ({"batch_size": 0}, "batch_size"),
        ({"alpah": 0.5}, "alpah"),
        ({"modul__hidden": 3}, "modul__hidden"),
        ({"accelerator__mixed_precision": "bf16"}, "accelerated"),
    ],
)
def test_bad_parameters_are_rejected_before_training(small, params, match):
    X, y = small
    clf = quick(**params)
    with pytest.raises(ValueError, match=match):
        clf.fit(X, y)
    assert not hasattr(clf, "net_")


def test_bad_inputs(small):
    X, y = small
    X_nan = X.copy()
    X_nan[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        quick().fit(X_nan, y)
    X_inf = X.copy()
    X_inf[1, 1] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        quick().fit(X_inf, y)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        quick().fit(X, y[:-1])
    with pytest.raises(ValueError, match="one class"):
        quick().fit(X, np.zeros(len(X)))
    with pytest.raises(ValueError, match="1-D"):
        quick().fit(X, np.stack([y, y], axis=1))
    with pytest.raises(ValueError, match="0 sample"):
        quick().fit(X[:0], y[:0])
    with pytest.raises(ValueError, match="requires y"):
        quick().fit(X)
    with pytest.raises(NotFittedError):
        quick().predict(X)
    fitted = quick().fit(X, y)
    with pytest.raises(ValueError, match="features"):
        fitted.predict(X[:, :10])


def test_column_vector_y_is_accepted_with_warning(small):
    X, y = small
    from sklearn.exceptions import DataConversionWarning

    with pytest.warns(DataConversionWarning):
        quick().fit(X, y.reshape(-1, 1))


def test_image_shaped_input():
    rng = np.random.RandomState(0)
    X = rng.rand(60, 1, 8, 8).astype(np.float32)
    y = rng.randint(0, 3, 60)

    class Conv(nn.Module):
        def __init__(self, n_classes):
            super().__init__()
            self.conv = nn.Conv2d(1, 4, 3)
            self.fc = nn.Linear(4 * 6 * 6, n_classes)

        def forward(self, X):
            return self.fc(torch.relu(self.conv(X)).flatten(1))

    clf = NNAQCClassifier(Conv, max_epochs=2, random_state=0).fit(X, y)
    assert clf.predict_proba(X).shape == (60, 3)


def test_nnaqc_beats_plain_skorch_cross_entropy_on_digits_with_50pct_noise(digits):
    """The paper's claim, on a small scale: settings from benchmarks/results/w_init.md."""
    X, y = digits
    for seed in (0, 1):
        X_tr, X_te, y_tr, y_te = train_test_split(
            X, y, test_size=0.3, random_state=seed, stratify=y
        )
        y_noisy = corrupt_labels(y_tr, noise_rate=0.5, kind="random", random_state=seed)
        nnaqc = NNAQCClassifier(TinyMLP, module__hidden=128, max_epochs=40, random_state=seed)
        nnaqc_err = 1 - nnaqc.fit(X_tr, y_noisy).score(X_te, y_te)

        torch.manual_seed(seed)
        plain = NeuralNetClassifier(
            TinyMLP, module__n_features=64, module__n_classes=10, module__hidden=128,
            criterion=nn.CrossEntropyLoss, optimizer=torch.optim.Adam, lr=1e-3,
            max_epochs=40, batch_size=100, train_split=None, verbose=0,
            iterator_train__shuffle=True,
        )
        plain_err = 1 - plain.fit(X_tr, y_noisy).score(X_te, y_te)
        assert nnaqc_err < plain_err - 0.02, (seed, nnaqc_err, plain_err)


def test_skorch_validation_split_callbacks_and_progress(small, capsys):
    from skorch.callbacks import EarlyStopping
    from skorch.dataset import ValidSplit

    X, y = small
    clf = quick(max_epochs=30, train_split=ValidSplit(4, stratified=True),
                callbacks=[EarlyStopping(patience=2, threshold=1.0)], verbose=1).fit(X, y)
    assert len(clf.history_) < 30  # early stopping fired
    last = clf.history_[-1]
    assert {"valid_loss", "valid_nna_loss", "valid_qc_loss", "train_nna_loss"} <= set(last)
    out = capsys.readouterr().out
    assert "train_nna_loss" in out and "valid_qc_loss" in out


def test_fast_batches_match_dataloader_path(small):
    """The in-memory batch iterator gives the same training as skorch's DataLoader."""
    X, y = small
    fast = quick(max_epochs=2).fit(X, y)
    # Any extra DataLoader option routes training through skorch's DataLoader.
    slow = quick(max_epochs=2, iterator_train__drop_last=False,
                 iterator_valid__drop_last=False).fit(X, y)
    np.testing.assert_allclose(fast.predict_proba(X), slow.predict_proba(X), atol=1e-5)


class _FlatDataset(torch.utils.data.Dataset):
    def __init__(self, X, y):
        self.X, self.targets = torch.as_tensor(X), np.asarray(y)

    def __len__(self):
        return len(self.targets)

    def __getitem__(self, i):
        return self.X[i], int(self.targets[i])


def test_dataset_input_with_default_module(small):
    X, y = small
    clf = NNAQCClassifier(max_epochs=2, random_state=0).fit(_FlatDataset(X, y))
    assert clf.predict(_FlatDataset(X, y)).shape == (len(y),)
    images = _FlatDataset(X.reshape(-1, 1, 8, 8), y)
    with pytest.raises(ValueError, match="module"):
        NNAQCClassifier(max_epochs=1).fit(images)


def test_dataframe_input_and_refit_on_dataset(small):
    import warnings

    pd = pytest.importorskip("pandas")
    X, y = small
    df = pd.DataFrame(X, columns=[f"px{i}" for i in range(64)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf = quick().fit(df, y)
        clf.predict(df)
    assert list(clf.feature_names_in_) == list(df.columns)
    clf.fit(_FlatDataset(X, y))
    assert not hasattr(clf, "feature_names_in_") and not hasattr(clf, "n_features_in_")


def test_nnaqc_keeps_all_classes_at_70pct_noise(digits):
    """Issue 10: with 0.9 on the prediction in L_QC (the paper's formula as
    written) NNAQC merged classes at 70 % noise (60.8 % error against 43.6 %
    for cross-entropy on digits). The default weighting must keep every class
    and do no worse than the base model."""
    X, y = digits
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
    T = make_transition_matrix(10, 0.7, kind="random", random_state=0)
    with pytest.warns(UserWarning, match="not informative"):
        y_noisy = corrupt_labels(y_tr, transition_matrix=T, random_state=0)
    nnaqc = NNAQCClassifier(max_epochs=40, random_state=0).fit(X_tr, y_noisy)
    base = BaseModelClassifier(max_epochs=40, random_state=0).fit(X_tr, y_noisy)
    pred = nnaqc.predict(X_te)
    assert len(np.unique(pred)) == 10
    assert np.mean(pred != y_te) <= 1 - base.score(X_te, y_te) + 0.02


def test_class_balance_prior_comes_from_the_given_labels(digits):
    X, y = digits
    y = np.where(y < 5, 0, 1)  # classes 0 and 1 with about half each
    keep = np.r_[np.flatnonzero(y == 0), np.flatnonzero(y == 1)[:100]]
    X, y = X[keep], y[keep]
    clf = NNAQCClassifier(max_epochs=1, random_state=0).fit(X, y)
    freq = np.bincount(y) / len(y)
    np.testing.assert_allclose(clf.net_.criterion_.class_prior.numpy(),
                               0.999 * freq + 0.0005, rtol=1e-6)
    assert "train_balance_loss" in clf.history_[-1]
    # class_balance=0 is the paper's loss: no balance part is logged.
    paper = NNAQCClassifier(class_balance=0.0, max_epochs=1, random_state=0).fit(X, y)
    assert "train_balance_loss" not in paper.history_[-1]
    with pytest.raises(ValueError, match="class_balance"):
        NNAQCClassifier(class_balance=-0.1).fit(X, y)
