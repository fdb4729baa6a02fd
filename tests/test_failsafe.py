"""Issue 12: a failed fit loses nothing, inputs are checked, skorch idioms work.

Each test names the defect or friction item of issue 12 it guards against.
Setup as in the issue: ``X`` = 300 digits in [0, 1] (float32), ``y`` their
labels, ``Xte`` the next 100, ``E = dict(max_epochs=2, random_state=0)``.
"""

import csv
import os
import pickle
import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import KFold, cross_val_score
from sklearn.utils.validation import check_is_fitted
from skorch.callbacks import Callback, EarlyStopping, EpochScoring
from skorch.dataset import ValidSplit
from torch import nn

import sknnaqc
from sknnaqc import (
    BaseModelClassifier,
    ForwardCorrectionClassifier,
    GenieAidedClassifier,
    NNAQCClassifier,
)
from sknnaqc.cli import main
from sknnaqc.experiment import run_experiment
from sknnaqc.noise import make_transition_matrix

E = dict(max_epochs=2, random_state=0)


@pytest.fixture(scope="module")
def data(digits):
    X, y = digits
    return X[:300], y[:300], X[300:400]


@pytest.fixture(scope="module")
def fitted(data):
    X, y, Xte = data
    return NNAQCClassifier(**E).fit(X, y)


class FailAtEpoch(Callback):
    """Raises at the end of the given epoch (counted over the net's whole history)."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) >= self.epoch:
            raise RuntimeError(f"planned failure in epoch {len(net.history)}")


def _fitted_state(est):
    return {k: v for k, v in vars(est).items() if k.endswith("_") and not k.startswith("_")}


def _weights(est):
    return {k: v.clone() for k, v in est.net_.module_.state_dict().items()}


# -- defect 1: a failed (re)fit changes nothing -------------------------------


def test_failed_refit_with_overflowing_X_keeps_fitted_model(data):
    X, y, Xte = data
    m = NNAQCClassifier(**E).fit(X, y)
    before, pred = _fitted_state(m), m.predict(Xte)
    Xb = X.astype(np.float64)
    Xb[:, 0] = 1e300
    # Today a clear ValueError (float32 overflow); before, NonFiniteLossError
    # in training. Either way the fitted model must survive.
    with pytest.raises((ValueError, FloatingPointError)):
        m.fit(Xb, y + 100)
    assert _fitted_state(m).keys() == before.keys()
    assert all(getattr(m, k) is v for k, v in before.items())
    np.testing.assert_array_equal(m.classes_, np.arange(10))
    np.testing.assert_array_equal(m.predict(Xte), pred)


def test_failed_refit_with_one_class_keeps_fitted_model(data):
    X, y, Xte = data
    m = NNAQCClassifier(**E).fit(X, y)
    pred = m.predict(Xte)
    with pytest.raises(ValueError, match="at least 2 classes"):
        m.fit(X, np.zeros(300, int))
    np.testing.assert_array_equal(m.predict(Xte), pred)


def test_refit_failing_during_training_keeps_fitted_model(data):
    X, y, Xte = data
    m = NNAQCClassifier(**E).fit(X, y)
    before, pred = _fitted_state(m), m.predict(Xte)
    m.set_params(callbacks=[FailAtEpoch(1)])
    with pytest.raises(RuntimeError, match="planned failure"):
        m.fit(X, y + 100)
    assert all(getattr(m, k) is v for k, v in before.items())
    assert _fitted_state(m).keys() == before.keys()
    np.testing.assert_array_equal(m.predict(Xte), pred)


@pytest.mark.parametrize("make", [
    lambda: NNAQCClassifier(callbacks=[FailAtEpoch(1)], **E),
    lambda: ForwardCorrectionClassifier(callbacks=[FailAtEpoch(2)], **E),
])
def test_failed_fit_leaves_unfitted_estimator_unfitted(data, make):
    X, y, Xte = data
    m = make()
    with pytest.raises(RuntimeError, match="planned failure"):
        m.fit(X, y)
    assert _fitted_state(m) == {}
    with pytest.raises(NotFittedError):
        check_is_fitted(m)
    # Validation failures too (validate_data sets n_features_in_ on its way).
    Xb = X.astype(np.float64)
    Xb[0, 0] = 1e300
    with pytest.raises(ValueError):
        NNAQCClassifier(**E).fit(Xb, y)
    u = NNAQCClassifier(**E)
    with pytest.raises(ValueError):
        u.fit(Xb, y)
    assert _fitted_state(u) == {}


def test_successful_refit_on_a_dataset_drops_array_attributes(data):
    X, y, Xte = data
    m = NNAQCClassifier(**E).fit(X, y)
    assert m.input_shape_ == (64,)
    m.fit(_ItemDataset(X, y))
    assert not hasattr(m, "n_features_in_") and not hasattr(m, "input_shape_")


# -- defect 2: skorch's scoring callbacks ---------------------------------------


def test_epoch_scoring_accuracy_and_f1_on_train_and_valid(data):
    X, y, Xte = data
    callbacks = [
        EpochScoring("accuracy", name="valid_acc"),
        EpochScoring("f1_macro", name="valid_f1"),
        EpochScoring("accuracy", name="train_acc", on_train=True),
        EpochScoring("f1_macro", name="train_f1", on_train=True),
        EpochScoring("neg_log_loss", name="valid_nll"),
    ]
    m = NNAQCClassifier(callbacks=callbacks, train_split=ValidSplit(5),
                        **dict(E, max_epochs=8, lr=1e-2)).fit(X, y)
    last = m.history_[-1]
    for name in ("valid_acc", "valid_f1", "train_acc", "train_f1"):
        assert 0.5 < last[name] <= 1.0, (name, last[name])
    assert last["valid_nll"] < 0
    # The inner net predicts class indices like skorch's NeuralNetClassifier.
    np.testing.assert_array_equal(m.net_.predict(Xte), m.predict_proba(Xte).argmax(1))


# -- defect 3: values that overflow float32 ---------------------------------------


def test_predict_rejects_values_that_overflow_float32(fitted, data):
    X, y, Xte = data
    Xb = Xte.astype(np.float64)
    Xb[0] = 1e300
    for method in (fitted.predict_proba, fitted.predict):
        with pytest.raises(ValueError, match="float32"):
            method(Xb)
    with pytest.raises(ValueError, match="float32"):
        clone(fitted).fit(Xb, y[:100])
    # Large values that fit float32 stay accepted.
    assert fitted.predict(Xte.astype(np.float64) * 1e30).shape == (100,)


# -- defect 4: per-sample shape checked at predict --------------------------------


class SmallConv(nn.Module):
    def __init__(self, n_classes=10):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)
        self.out = nn.Linear(4 * 6 * 6, n_classes)

    def forward(self, x):
        return self.out(torch.flatten(torch.relu(self.conv(x)), 1))


@pytest.mark.parametrize("shape", [(1, 10, 10), (5, 1, 64), (64,)])
def test_predict_names_expected_and_given_sample_shape(data, shape):
    X, y, Xte = data
    m = NNAQCClassifier(SmallConv, **E).fit(X.reshape(-1, 1, 8, 8), y)
    assert m.input_shape_ == (1, 8, 8)
    with pytest.raises(ValueError, match=r"samples of shape .*\(1, 8, 8\)") as info:
        m.predict(np.zeros((3,) + shape, np.float32))
    assert str(shape) in str(info.value)


# -- defect 6: Dataset input errors -------------------------------------------------


class _ItemDataset(torch.utils.data.Dataset):
    def __init__(self, X, labels, targets=None):
        self.X = torch.as_tensor(X)
        self.labels = np.asarray(labels)
        self.targets = self.labels if targets is None else targets

    def __len__(self):
        return len(self.X)

    def __getitem__(self, i):
        return self.X[i], int(self.labels[i])


@pytest.mark.parametrize("targets, match", [
    (np.array(["a", "b"] * 150), "integer class indices"),
    (np.array([], dtype=int), "non-empty"),
    ([], "non-empty"),
])
def test_dataset_with_bad_targets_is_a_clear_error(data, targets, match):
    X, y, Xte = data
    dataset = _ItemDataset(X, y, targets=targets)
    m = NNAQCClassifier(**E)
    with pytest.raises(ValueError, match=match):
        m.fit(dataset)
    assert _fitted_state(m) == {}


def test_dataset_whose_items_disagree_with_targets(data):
    X, y, Xte = data
    dataset = _ItemDataset(X, y, targets=np.arange(300) % 2)  # says 2 classes, items carry 10
    m = NNAQCClassifier(**E)
    with pytest.raises(ValueError, match="targets and the items' labels must agree"):
        m.fit(dataset)
    assert _fitted_state(m) == {}


# -- defect 7: CLI mistakes end in one error line ------------------------------------


def _cli_error(argv, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    err = capsys.readouterr().err
    assert info.value.code == 2
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("sknnaqc: error: ")
    return last


def test_cli_bad_device_is_one_error_line(tmp_path, capsys):
    last = _cli_error(["--device", "banana", "--output", str(tmp_path / "o")], capsys)
    assert "banana" in last


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU")
def test_cli_cuda_without_gpu_is_one_error_line(tmp_path, capsys):
    last = _cli_error(["--device", "cuda", "--output", str(tmp_path / "o")], capsys)
    assert "--device auto" in last


def test_cli_output_that_is_a_file_is_one_error_line(tmp_path, capsys):
    path = tmp_path / "results.txt"
    path.write_text("not a folder")
    assert "existing file" in _cli_error(["--output", str(path)], capsys)
    last = _cli_error(["--output", str(path / "sub")], capsys)
    assert "lies under" in last


# -- defect 8: a torn line in runs.csv ------------------------------------------------


def test_resume_skips_a_torn_row_and_writes_whole_rows(tmp_path):
    csv_path = tmp_path / "runs.csv"
    kw = dict(dataset="digits", noise_rates=[0.0], methods=["base"], epochs=1,
              results_csv=str(csv_path))
    log = open(os.devnull, "w")
    run_experiment(seeds=[0], log=log, **kw)
    with open(csv_path, "a") as fh:  # a run killed half-way through its row
        fh.write("digits,1257,random,0.0,base,1,1,100,12.")
    report = tmp_path / "log.txt"
    with open(report, "w") as fh:
        rows = run_experiment(seeds=[0, 1], log=fh, **kw)
    assert sorted(int(r["seed"]) for r in rows) == [0, 1]
    assert "skipped 1 unreadable row" in report.read_text()
    with open(csv_path, newline="") as fh:
        records = list(csv.DictReader(fh))
    assert len(records) == 3  # seed 0, the torn row, seed 1 on a line of its own
    assert records[2]["seed"] == "1" and records[2]["test_error"]
    log.close()


# -- friction: partial_fit and warm_start ---------------------------------------------


def test_partial_fit_continues_the_same_net(data):
    X, y, Xte = data
    m = NNAQCClassifier(**E).partial_fit(X[:150], y[:150], classes=np.arange(10))
    net, first = m.net_, _weights(m)
    m.partial_fit(X[150:], y[150:])
    assert len(m.history_) == 4
    assert m.net_ is not net  # trained on a copy, assigned after success
    assert any(not torch.equal(first[k], v) for k, v in _weights(m).items())
    with pytest.raises(ValueError, match="not in classes_"):
        m.partial_fit(X, y + 100)
    with pytest.raises(ValueError, match="differ from the classes_"):
        m.partial_fit(X, y, classes=np.arange(11))
    assert len(m.history_) == 4


def test_partial_fit_first_call_learns_all_declared_classes(data):
    X, y, Xte = data
    keep = y < 9
    m = BaseModelClassifier(**E).partial_fit(X[keep], y[keep], classes=np.arange(10))
    assert m.predict_proba(Xte).shape == (100, 10)
    m.partial_fit(X, y)  # class 9 arrives later


def test_partial_fit_failure_keeps_weights_and_history(data):
    X, y, Xte = data
    m = NNAQCClassifier(callbacks=[FailAtEpoch(3)], **E).fit(X, y)
    weights, pred = _weights(m), m.predict(Xte)
    with pytest.raises(RuntimeError, match="planned failure"):
        m.partial_fit(X, y)
    assert len(m.history_) == 2
    assert all(torch.equal(weights[k], v) for k, v in _weights(m).items())
    np.testing.assert_array_equal(m.predict(Xte), pred)


def test_warm_start(data):
    X, y, Xte = data
    m = NNAQCClassifier(warm_start=True, **E).fit(X, y)
    m.fit(X, y)
    assert len(m.history_) == 4
    m.set_params(max_epochs=1).fit(X, y)
    assert len(m.history_) == 5
    m.set_params(warm_start=False).fit(X, y)
    assert len(m.history_) == 1
    with pytest.raises(ValueError, match="warm_start"):
        NNAQCClassifier(warm_start="yes").fit(X, y)


def test_partial_fit_is_reproducible(data):
    X, y, Xte = data
    a = NNAQCClassifier(**E).fit(X, y).partial_fit(X, y)
    b = NNAQCClassifier(**E).fit(X, y).partial_fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(Xte), b.predict_proba(Xte))


# -- friction: EarlyStopping, device, batch_size ----------------------------------------


def test_early_stopping_without_train_split_says_what_to_do(data):
    X, y, Xte = data
    with pytest.raises(ValueError, match="train_split=skorch.dataset.ValidSplit"):
        NNAQCClassifier(callbacks=[EarlyStopping()], **E).fit(X, y)
    m = NNAQCClassifier(callbacks=[EarlyStopping(monitor="train_loss")], **E).fit(X, y)
    assert len(m.history_) == 2
    m = NNAQCClassifier(callbacks=[EarlyStopping()], train_split=ValidSplit(5), **E).fit(X, y)
    assert "valid_loss" in m.history_[-1]


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU")
def test_cuda_without_gpu_is_one_clear_error(data):
    X, y, Xte = data
    with pytest.raises(ValueError, match='device="auto"') as info:
        NNAQCClassifier(device="cuda", **E).fit(X, y)
    assert "\n" not in str(info.value)


def test_bad_device_is_a_value_error(data):
    X, y, Xte = data
    with pytest.raises(ValueError, match="banana"):
        NNAQCClassifier(device="banana", **E).fit(X, y)


def test_batch_size_minus_one_is_one_batch(data):
    X, y, Xte = data
    m = NNAQCClassifier(batch_size=-1, **E).fit(X, y)
    assert len(m.history_[-1, "batches"]) == 1
    with pytest.raises(ValueError, match="batch_size"):
        NNAQCClassifier(batch_size=-2, **E).fit(X, y)


# -- friction: GenieAided / ForwardCorrection ---------------------------------------------


def test_genie_warns_for_a_matrix_without_information(data):
    X, y, Xte = data
    T = np.full((10, 10), 0.1)
    with pytest.warns(UserWarning, match="identical rows"):
        GenieAidedClassifier(transition_matrix=T, **E).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        GenieAidedClassifier(transition_matrix=make_transition_matrix(10, 0.3, random_state=0),
                             **E).fit(X, y)


@pytest.mark.parametrize("make", [
    lambda T: GenieAidedClassifier(transition_matrix=T, classes=np.arange(10), **E),
    lambda T: ForwardCorrectionClassifier(transition_matrix=T, classes=np.arange(10), **E),
    lambda T: ForwardCorrectionClassifier(classes=np.arange(10), **E),
])
def test_classes_parameter_allows_folds_without_a_class(data, make):
    X, y, Xte = data
    T = make_transition_matrix(10, 0.2, kind="symmetric")
    order = np.argsort(y == 9, kind="stable")  # all 9s at the end: the last fold has them all
    Xs, ys = X[order], y[order]
    scores = cross_val_score(make(T), Xs, ys, cv=KFold(3))
    assert scores.shape == (3,)
    m = make(T).fit(Xs[ys != 9], ys[ys != 9])
    np.testing.assert_array_equal(m.classes_, np.arange(10))
    assert m.predict_proba(Xte).shape == (100, 10)
    with pytest.raises(ValueError, match="not in classes_"):
        make(T).fit(X, y + 1)


def test_matrix_larger_than_the_classes_in_y_suggests_classes(data):
    X, y, Xte = data
    T = make_transition_matrix(10, 0.2, kind="symmetric")
    with pytest.raises(ValueError, match="pass classes="):
        GenieAidedClassifier(transition_matrix=T, **E).fit(X[y != 9], y[y != 9])


# -- friction: BatchNorm and a last batch of one -------------------------------------------


class BatchNormMLP(nn.Module):
    def __init__(self, n_features, n_classes):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(n_features, 16), nn.BatchNorm1d(16), nn.ReLU(),
                                    nn.Linear(16, n_classes))

    def forward(self, x):
        return self.layers(x)


def test_batchnorm_last_batch_of_one_suggests_drop_last(data):
    X, y, Xte = data
    X1, y1 = X[:201], y[:201]  # batches of 100, 100 and 1
    with pytest.raises(ValueError, match="iterator_train__drop_last=True"):
        BaseModelClassifier(BatchNormMLP, **E).fit(X1, y1)
    BaseModelClassifier(BatchNormMLP, iterator_train__drop_last=True, **E).fit(X1, y1)


# -- friction: top-level exports -------------------------------------------------------------


def test_noise_tools_are_exported_at_top_level():
    from sknnaqc import NoisyLabelTransformer, corrupt_labels, make_transition_matrix

    assert {"NoisyLabelTransformer", "corrupt_labels", "make_transition_matrix"} <= set(
        sknnaqc.__all__)
    assert corrupt_labels is sknnaqc.noise.corrupt_labels
    assert make_transition_matrix is sknnaqc.noise.make_transition_matrix
    assert NoisyLabelTransformer is sknnaqc.noise.NoisyLabelTransformer


def test_fitted_estimator_still_pickles_after_partial_fit(data):
    X, y, Xte = data
    m = NNAQCClassifier(**E).fit(X, y).partial_fit(X, y)
    again = pickle.loads(pickle.dumps(m))
    np.testing.assert_array_equal(again.predict(Xte), m.predict(Xte))


def test_frozen_eval_backbone_keeps_statistics_during_fit():
    pytest.importorskip("torchvision")
    from sknnaqc.networks import torchvision_backbone

    torch.manual_seed(0)
    rng = np.random.RandomState(0)
    X = rng.rand(24, 3, 32, 32).astype(np.float32)
    y = np.arange(24) % 3
    for frozen_eval in (True, False):
        base = torchvision_backbone("resnet18", n_classes=3, freeze=2, frozen_eval=frozen_eval)
        m = BaseModelClassifier(base, max_epochs=1, batch_size=8, random_state=0).fit(X, y)
        trained = m.net_.module_.base
        same = torch.equal(trained.layer1[0].bn1.running_mean, base.layer1[0].bn1.running_mean)
        assert same == frozen_eval
        assert not torch.equal(trained.layer2[0].bn1.running_mean,
                               base.layer2[0].bn1.running_mean)
