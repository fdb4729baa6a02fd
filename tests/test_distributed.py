"""Scaling out: GPU device selection, Accelerate data parallelism, Dask grid search,
training from a torch Dataset with DataLoader workers."""

import json
import os
import pickle
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.utils.estimator_checks import parametrize_with_checks
from torch.utils.data import DataLoader, Dataset

from sknnaqc import BaseModelClassifier, ForwardCorrectionClassifier, NNAQCClassifier
from sknnaqc._net import InMemoryBatches

from conftest import TinyMLP, expected_failed_checks

accelerate = pytest.importorskip("accelerate")
pytest.importorskip("dask.distributed")

from sknnaqc.distributed import (  # noqa: E402
    AcceleratedMixin,
    AcceleratedNNAQCClassifier,
    AcceleratedNoiseAwareNet,
    TorchThreadsPlugin,
    accelerated,
    set_torch_threads,
)

SMALL = dict(module__hidden=(32,), batch_size=50, lr=3e-3)


@pytest.fixture(scope="module")
def digits_split(digits):
    X, y = digits
    return X[:1000], y[:1000], X[1000:1400], y[1000:1400]


# -- GPU -------------------------------------------------------------------------
def test_device_auto_resolves_and_fits(digits_split):
    X, y, X_test, _ = digits_split
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    clf = NNAQCClassifier(device="auto", max_epochs=2, random_state=0, **SMALL)
    assert clf._resolved_device() == expected
    clf.fit(X, y)
    assert clf.net_.device == expected
    assert next(clf.net_.module_.parameters()).device.type == expected
    assert clf.predict(X_test).shape == (len(X_test),)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU")
def test_cuda_fits_and_predicts(digits_split):
    X, y, X_test, y_test = digits_split
    clf = NNAQCClassifier(device="cuda", max_epochs=10, random_state=0, **SMALL).fit(X, y)
    assert next(clf.net_.module_.parameters()).is_cuda
    proba = clf.predict_proba(X_test)
    assert proba.shape == (len(X_test), 10)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    assert clf.score(X_test, y_test) > 0.8
    assert clf.noise_matrix_.shape == (10, 10)


# -- Accelerate, one process -------------------------------------------------------
def test_accelerated_fits_in_one_process(digits_split):
    X, y, X_test, y_test = digits_split
    clf = AcceleratedNNAQCClassifier(max_epochs=10, random_state=0, **SMALL).fit(X, y)
    assert isinstance(clf.net_, AcceleratedNoiseAwareNet)
    assert clf.score(X_test, y_test) > 0.8
    np.testing.assert_allclose(clf.noise_matrix_.sum(axis=1), 1.0, atol=1e-6)
    # Unwrapped after training, so net_.module_ is the plain module.
    assert type(clf.net_.module_).__name__ == "NoiseAdaptedModule"
    again = AcceleratedNNAQCClassifier(max_epochs=10, random_state=0, **SMALL).fit(X, y)
    np.testing.assert_array_equal(again.predict_proba(X_test), clf.predict_proba(X_test))


def test_accelerated_net_uses_a_dataloader(digits_split):
    # The in-memory fast path would not be sharded across processes.
    X, y, _, _ = digits_split
    plain = NNAQCClassifier(max_epochs=1, random_state=0, **SMALL).fit(X, y)
    fast = AcceleratedNNAQCClassifier(max_epochs=1, random_state=0, **SMALL).fit(X, y)
    dataset = plain.net_.get_dataset(X, y)
    assert isinstance(plain.net_.get_iterator(dataset, training=True), InMemoryBatches)
    for training in (True, False):
        assert isinstance(fast.net_.get_iterator(dataset, training=training), DataLoader)


def test_accelerated_pickles_and_clones(digits_split):
    X, y, X_test, _ = digits_split
    clf = AcceleratedNNAQCClassifier(max_epochs=3, random_state=0, **SMALL).fit(X, y)
    loaded = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(loaded.predict_proba(X_test), clf.predict_proba(X_test))
    assert loaded.net_.accelerator is not None
    copy = clone(clf)
    assert copy.get_params()["accelerator"] is None
    assert copy.get_params()["module__hidden"] == (32,)
    assert not hasattr(copy, "net_")


def test_accelerated_with_alpha_zero(digits_split):
    # W gets no gradient with alpha=0; it is frozen (DDP needs that) and unchanged.
    X, y, _, _ = digits_split
    clf = AcceleratedNNAQCClassifier(alpha=0.0, max_epochs=2, random_state=0, **SMALL).fit(X, y)
    W = clf.net_.module_.noise_model.weight
    assert not W.requires_grad
    np.testing.assert_allclose(W.detach().numpy(), 2.0 * np.eye(10))


def test_accelerated_is_quiet_unless_verbose(digits_split, capsys):
    X, y, _, _ = digits_split
    AcceleratedNNAQCClassifier(max_epochs=2, random_state=0, **SMALL).fit(X, y)
    assert capsys.readouterr().out == ""
    AcceleratedNNAQCClassifier(max_epochs=2, random_state=0, verbose=1, **SMALL).fit(X, y)
    assert "train_nna_loss" in capsys.readouterr().out


def test_accelerated_factory_for_baselines(digits_split):
    X, y, X_test, y_test = digits_split
    cls = accelerated(BaseModelClassifier)
    assert cls is accelerated(BaseModelClassifier)
    assert issubclass(cls, BaseModelClassifier) and issubclass(cls, AcceleratedMixin)
    assert cls.__name__ == "AcceleratedBaseModelClassifier"
    assert accelerated(NNAQCClassifier) is AcceleratedNNAQCClassifier
    assert accelerated(cls) is cls
    assert "accelerator" in cls().get_params()

    clf = cls(max_epochs=5, random_state=0, **SMALL).fit(X, y)
    assert isinstance(clf.net_, AcceleratedNoiseAwareNet)
    assert clf.score(X_test, y_test) > 0.7
    loaded = pickle.loads(pickle.dumps(clf))
    assert type(loaded) is cls
    np.testing.assert_array_equal(loaded.predict(X_test), clf.predict(X_test))

    # Two-stage method: stage 1 predicts through the accelerator too.
    fc = accelerated(ForwardCorrectionClassifier)(max_epochs=2, random_state=0, **SMALL)
    assert fc.fit(X, y).transition_matrix_.shape == (10, 10)


@parametrize_with_checks(
    [
        AcceleratedNNAQCClassifier(TinyMLP, max_epochs=20, lr=1e-2, random_state=0),
        accelerated(BaseModelClassifier)(TinyMLP, max_epochs=20, lr=1e-2, random_state=0),
    ],
    expected_failed_checks=expected_failed_checks,
)
def test_accelerated_sklearn_compatible(estimator, check):
    check(estimator)


def test_accelerated_rejects_bad_input():
    with pytest.raises(TypeError, match="sknnaqc estimator class"):
        accelerated(NNAQCClassifier())
    with pytest.raises(TypeError, match="sknnaqc estimator class"):
        accelerated(dict)
    X, y = np.random.RandomState(0).rand(20, 3), np.arange(20) % 2
    with pytest.raises(TypeError, match="accelerator must be"):
        AcceleratedNNAQCClassifier(accelerator="bf16").fit(X, y)
    with pytest.raises(ValueError, match="cannot be combined"):
        AcceleratedNNAQCClassifier(
            accelerator=accelerate.Accelerator(), accelerator__mixed_precision="bf16"
        ).fit(X, y)


def _run_python(code, timeout=300, **kwargs):
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONWARNINGS="ignore")
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout,
        env=env, **kwargs,
    )


def test_accelerated_bf16_mixed_precision():
    # Accelerate allows one mixed-precision setting per process: use a fresh one.
    code = textwrap.dedent("""
        import numpy as np, torch
        from sklearn.datasets import load_digits
        from sknnaqc.distributed import AcceleratedNNAQCClassifier
        torch.set_num_threads(1)
        X, y = load_digits(return_X_y=True)
        X = (X / 16.0).astype(np.float32)
        clf = AcceleratedNNAQCClassifier(
            max_epochs=8, batch_size=50, lr=3e-3, random_state=0,
            accelerator__mixed_precision="bf16",
        ).fit(X[:1000], y[:1000])
        print(clf.net_.accelerator.mixed_precision, clf.score(X[1000:1400], y[1000:1400]))
    """)
    result = _run_python(code)
    assert result.returncode == 0, result.stderr[-3000:]
    precision, score = result.stdout.split()[-2:]
    assert precision == "bf16"
    assert float(score) > 0.8


# -- Accelerate, two processes --------------------------------------------------------
LAUNCHED_SCRIPT = """
import json
import os
import pickle
import sys

import numpy as np
import torch
from accelerate import DataLoaderConfiguration
from accelerate.utils import gather_object
from sklearn.datasets import load_digits

from sknnaqc.distributed import AcceleratedNNAQCClassifier

torch.set_num_threads(1)
out = sys.argv[1]
X, y = load_digits(return_X_y=True)
X = (X / 16.0).astype(np.float32)
X_train, y_train, X_test, y_test = X[:1000], y[:1000], X[1000:1400], y[1000:1400]

results = {}
for mode, extra in [
    ("sharded", {}),  # batch_size samples per process and step
    ("split", {"accelerator__dataloader_config": DataLoaderConfiguration(split_batches=True)}),
]:
    clf = AcceleratedNNAQCClassifier(
        max_epochs=EPOCHS, batch_size=50, lr=3e-3, module__hidden=(32,), random_state=0,
        **extra,
    )
    clf.fit(X_train, y_train)
    pred = clf.predict(X_test)  # collective: every process calls it
    state = clf.net_.accelerator.state
    per_rank = gather_object([{
        "rank": state.process_index,
        "W": clf.net_.module_.noise_model.weight.detach().cpu().numpy().tolist(),
        "batches_per_epoch": len(clf.history_[0, "batches"]),
        "accuracy": float(np.mean(pred == y_test)),
    }])
    results[mode] = {"num_processes": state.num_processes, "pred": pred.tolist(),
                     "ranks": per_rank}
    if state.is_main_process:
        with open(f"{out}-{mode}.pkl", "wb") as f:
            pickle.dump(clf, f)
if state.is_main_process:
    with open(out + ".json", "w") as f:
        json.dump(results, f)
# Leave together and close the process group before exiting.
clf.net_.accelerator.wait_for_everyone()
clf.net_.accelerator.end_training()
# Skip interpreter teardown: gloo's threads occasionally abort there
# ("terminate called without an active exception") after all work is done.
sys.stdout.flush()
os._exit(0)
"""
LAUNCHED_EPOCHS = 10


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.distributed
def test_accelerate_launch_two_processes(tmp_path, digits_split):
    X, y, X_test, y_test = digits_split
    script = tmp_path / "train.py"
    script.write_text(LAUNCHED_SCRIPT.replace("EPOCHS", str(LAUNCHED_EPOCHS)))
    out = tmp_path / "result"
    port = _free_port()
    # On CPU, accelerate launch starts its processes with --multi_gpu plus
    # ACCELERATE_USE_CPU=true (its --cpu launcher runs one process without MPI).
    env = dict(os.environ, ACCELERATE_USE_CPU="true", MASTER_ADDR="127.0.0.1",
               MASTER_PORT=str(port), OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu",
           "--num_processes", "2", "--num_machines", "1", "--mixed_precision", "no",
           "--dynamo_backend", "no", "--main_process_ip", "127.0.0.1",
           "--main_process_port", str(port), str(script), str(out)]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env,
                            cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    results = json.loads((tmp_path / "result.json").read_text())

    # One process with the same number of samples per step: 2 x 50 when each
    # process draws 50, 50 when split_batches shares a step's 50 out.
    single_batch = {"sharded": 100, "split": 50}
    expected_batches = {"sharded": 10, "split": 20}  # 1000 samples per epoch
    for mode, res in results.items():
        assert res["num_processes"] == 2
        ranks = sorted(res["ranks"], key=lambda r: r["rank"])
        assert [r["rank"] for r in ranks] == [0, 1]
        assert [r["batches_per_epoch"] for r in ranks] == [expected_batches[mode]] * 2
        # DDP kept the noise model in sync; predictions are gathered on every rank.
        np.testing.assert_array_equal(ranks[0]["W"], ranks[1]["W"])
        assert ranks[0]["accuracy"] == ranks[1]["accuracy"]

        # Similar accuracy to one process (the data order differs).
        single = AcceleratedNNAQCClassifier(
            max_epochs=LAUNCHED_EPOCHS, batch_size=single_batch[mode], lr=3e-3,
            module__hidden=(32,), random_state=0,
        ).fit(X, y)
        accuracy = np.mean(np.asarray(res["pred"]) == y_test)
        assert abs(accuracy - single.score(X_test, y_test)) < 0.05, (mode, accuracy)

        # The estimator pickled on rank 0 predicts the same here, on one process.
        with open(tmp_path / f"result-{mode}.pkl", "rb") as f:
            loaded = pickle.load(f)
        np.testing.assert_array_equal(loaded.predict(X_test), res["pred"])
        np.testing.assert_allclose(
            loaded.net_.module_.noise_model.weight.detach().numpy(), ranks[0]["W"])


# -- Dask ----------------------------------------------------------------------------
def test_set_torch_threads_validates():
    old = torch.get_num_threads()
    try:
        assert set_torch_threads(1) == 1
    finally:
        torch.set_num_threads(old)
    for bad in (0, 1.5, True, "2"):
        with pytest.raises(ValueError, match="n_threads"):
            set_torch_threads(bad)


@pytest.mark.distributed
def test_dask_grid_search_matches_sequential(digits):
    from dask.distributed import Client, LocalCluster
    from joblib import parallel_backend

    X, y = digits[0][:600], digits[1][:600]
    estimator = NNAQCClassifier(max_epochs=5, random_state=0, **SMALL)
    grid = {"alpha": [0.5, 0.9], "beta": [0.5, 0.9]}
    cv = KFold(2, shuffle=True, random_state=0)

    sequential = GridSearchCV(estimator, grid, cv=cv, n_jobs=1, refit=False).fit(X, y)

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster) as client:
        client.register_plugin(TorchThreadsPlugin(2))
        assert set(client.run(torch.get_num_threads).values()) == {2}
        assert set(client.run(set_torch_threads, 1).values()) == {1}
        assert set(client.run(torch.get_num_threads).values()) == {1}
        with parallel_backend("dask"):
            parallel = GridSearchCV(estimator, grid, cv=cv, refit=False).fit(X, y)
        # Both workers took part.
        assert len(client.scheduler_info()["workers"]) == 2

    np.testing.assert_allclose(parallel.cv_results_["mean_test_score"],
                               sequential.cv_results_["mean_test_score"], atol=1e-6)
    assert parallel.best_params_ == sequential.best_params_


# -- Data larger than memory ---------------------------------------------------------
class DigitsDataset(Dataset):
    """Items ``(float32 tensor, int)`` read one at a time, with ``targets``."""

    def __init__(self, X, y):
        self.X = X
        self.targets = np.asarray(y, dtype=np.int64)

    def __len__(self):
        return len(self.targets)

    def __getitem__(self, i):
        return torch.from_numpy(self.X[i]), int(self.targets[i])


def test_fit_from_dataset_with_dataloader_workers(digits_split):
    X, y, X_test, y_test = digits_split
    clf = NNAQCClassifier(
        max_epochs=10, random_state=0, iterator_train__num_workers=2,
        iterator_valid__num_workers=2, module__n_features=64, **SMALL,
    ).fit(DigitsDataset(X, y), None)
    iterator = clf.net_.get_iterator(clf.net_.get_dataset(DigitsDataset(X, y)), training=True)
    assert isinstance(iterator, DataLoader) and iterator.num_workers == 2
    test = DigitsDataset(X_test, y_test)
    pred = clf.predict(test)
    assert pred.shape == (len(X_test),)
    assert np.mean(pred == y_test) > 0.8
    np.testing.assert_allclose(clf.predict_proba(test), clf.predict_proba(X_test), atol=1e-6)
