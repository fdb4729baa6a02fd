"""The skorch net that every sknnaqc estimator trains internally.

It plugs into skorch's seams only: ``get_loss`` (loss parts, NaN guard),
``get_iterator`` (fast batches for in-memory data), ``infer`` /
``predict_proba`` (the clean branch alone at prediction time),
``_set_training`` (no per-batch mode switch when nothing changed) and the
default callbacks (epoch averages of the loss parts). skorch's training
loop, callbacks and history are used unchanged.
"""

import math

import numpy as np
import torch
from sklearn.base import ClassifierMixin
from skorch import NeuralNet
from skorch.callbacks import PassthroughScoring
from skorch.dataset import Dataset as SkorchDataset
from skorch.utils import to_tensor
from torch.utils.data import DataLoader, Dataset, Subset

from .exceptions import NonFiniteLossError
from .noise_models import NoiseAdaptedModule

LOSS_PARTS = ("nna", "qc", "penalty")


def softmax_rows(logits):
    """Prediction nonlinearity (module level so that fitted nets pickle)."""
    return torch.softmax(logits, dim=1)


def unwrap_module(module):
    """The plain module inside a DistributedDataParallel / compiled wrapper."""
    while hasattr(module, "module") and isinstance(module.module, torch.nn.Module):
        module = module.module
    return getattr(module, "_orig_mod", module)


class InMemoryBatches:
    """Re-iterable mini-batches sliced from tensors held once in memory.

    Equivalent to ``DataLoader(dataset, batch_size, shuffle)`` over in-memory
    arrays, without per-sample ``__getitem__`` and collation, which dominate
    epoch time for small networks. Shuffling draws from torch's global
    generator, like ``DataLoader`` does, so seeding works the same way.
    """

    def __init__(self, X, y, batch_size, shuffle):
        self.X = X
        self.y = y
        self.batch_size = batch_size
        self.shuffle = shuffle

    def __len__(self):
        return math.ceil(len(self.X) / self.batch_size)

    def __iter__(self):
        n = len(self.X)
        # Draw from the global generator exactly as DataLoader does (one base
        # seed per iterator, one sampler seed when shuffling), so both paths
        # give the same batches and leave the RNG in the same state.
        _draw_seed()
        order = None
        if self.shuffle:
            generator = torch.Generator()
            generator.manual_seed(_draw_seed())
            order = torch.randperm(n, generator=generator)
        for start in range(0, n, self.batch_size):
            if order is None:
                idx = slice(start, start + self.batch_size)
            else:
                idx = order[start:start + self.batch_size]
            yield self.X[idx], (None if self.y is None else self.y[idx])


def _draw_seed():
    return int(torch.empty((), dtype=torch.int64).random_().item())


def _as_tensor(a):
    if a is None or isinstance(a, torch.Tensor):
        return a
    return torch.as_tensor(np.ascontiguousarray(a))


def _in_memory_arrays(dataset):
    """``(X, y)`` tensors behind a skorch Dataset (or a Subset of one), else None."""
    indices = None
    if isinstance(dataset, Subset):
        indices = torch.as_tensor(np.asarray(dataset.indices), dtype=torch.long)
        dataset = dataset.dataset
    if type(dataset) is not SkorchDataset:
        return None
    X, y = dataset.X, dataset.y
    if not isinstance(X, (np.ndarray, torch.Tensor)):
        return None
    if y is not None and not isinstance(y, (np.ndarray, torch.Tensor)):
        return None
    X, y = _as_tensor(X), _as_tensor(y)
    if indices is not None:
        X = X[indices]
        y = None if y is None else y[indices]
    return X, y


class CheckedTargets(Dataset):
    """A Dataset whose items' labels are checked against the number of classes.

    ``fit`` learns the classes from a Dataset's ``targets``; an item whose
    label lies outside them (``targets`` and items disagree) raises a clear
    error instead of torch's "Target ... is out of bounds" deep in the loss.
    """

    def __init__(self, dataset, n_classes):
        self.dataset = dataset
        self.n_classes = n_classes

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, i):
        item = self.dataset[i]
        try:
            label = int(item[1])
        except (TypeError, ValueError, IndexError):
            return item  # not a scalar label: leave it to the module and loss
        if not 0 <= label < self.n_classes:
            raise ValueError(
                f"Dataset item {i} has label {label}, but the Dataset's targets "
                f"attribute implies {self.n_classes} classes (labels 0 to "
                f"{self.n_classes - 1}); targets and the items' labels must agree."
            )
        return item


class NoiseAwareNet(ClassifierMixin, NeuralNet):
    """skorch ``NeuralNet`` for a :class:`~sknnaqc.noise_models.NoiseAdaptedModule`.

    The criterion must have a ``components(y_pred, y_true)`` method returning
    a dict with ``"loss"`` and the parts to log (``"nna"``, ``"qc"``). Per
    batch, ``train_nna_loss``, ``train_qc_loss`` (and ``valid_*`` when a
    validation split is used) are recorded in the history, and their epoch
    averages appear as epoch-level entries.

    Like skorch's ``NeuralNetClassifier``, ``predict`` returns class indices
    (the argmax of the clean branch), so skorch's scoring callbacks such as
    ``EpochScoring("accuracy")`` work on train and validation data.
    """

    # DataLoader keyword arguments the in-memory fast path reproduces exactly.
    _FAST_PATH_KWARGS = {"batch_size", "shuffle"}
    # True only inside predict_proba (see ``infer``); the class attribute is
    # the default.
    _clean_branch_only = False

    @property
    def _default_callbacks(self):
        callbacks = list(super()._default_callbacks)
        position = [name for name, _ in callbacks].index("print_log")
        extra = []
        for prefix in ("train", "valid"):
            for part in LOSS_PARTS:
                name = f"{prefix}_{part}_loss" if part != "penalty" else f"{prefix}_penalty"
                extra.append((name, PassthroughScoring(name=name, on_train=prefix == "train")))
        return callbacks[:position] + extra + callbacks[position:]

    def get_loss(self, y_pred, y_true, X=None, training=False):
        y_true = to_tensor(y_true, device=self.device).long()
        parts = self.criterion_.components(y_pred, y_true)
        loss = parts["loss"]
        penalty = unwrap_module(self.module_).noise_model.penalty()
        if penalty is not None:
            loss = loss + penalty
            parts["penalty"] = penalty
        prefix = "train" if training else "valid"
        # One device-to-host copy for the total and every logged part
        # (a single synchronisation per batch on GPU instead of one per value).
        logged = [part for part in LOSS_PARTS if part in parts]
        with torch.no_grad():
            values = torch.stack(
                [loss.detach()] + [parts[p].detach().to(loss.dtype) for p in logged]
            ).tolist()
        if not math.isfinite(values[0]):
            raise NonFiniteLossError(
                f"The {prefix} loss became {values[0]} in epoch {len(self.history)}; "
                "training was stopped. Lower lr, scale the input features, or "
                "check X for extreme values."
            )
        for part, value in zip(logged, values[1:]):
            name = f"{prefix}_{part}_loss" if part != "penalty" else f"{prefix}_penalty"
            self.history.record_batch(name, value)
        return loss

    def _set_training(self, training=True):
        """Switch train/eval mode only where a module is not in it already.

        skorch calls this before every batch; ``Module.train`` walks every
        submodule through ``nn.Module.__setattr__``, which is a measurable
        part of a small network's step. When every submodule's ``training``
        flag already has the requested value the call is skipped; otherwise
        (first batch, a callback or a custom ``train()`` changed a flag) the
        module's own ``train(mode)`` runs as before.
        """
        for name in self._modules + self._criteria:
            module = getattr(self, name + "_")
            if not isinstance(module, torch.nn.Module):
                continue
            if any(m.training != training for m in module.modules()):
                module.train(training)

    def infer(self, x, **fit_params):
        # In predict_proba, run the base network alone: its logits are the
        # first element of NoiseAdaptedModule's output, which is all skorch
        # keeps for prediction. Wrapped modules and extra inputs go the usual way.
        if (self._clean_branch_only and not fit_params and isinstance(x, torch.Tensor)
                and type(self.module_) is NoiseAdaptedModule):
            return self.module_.base(to_tensor(x, device=self.device))
        return super().infer(x, **fit_params)

    def predict_proba(self, X):
        # An instance attribute only while predicting: skorch lists every
        # instance attribute not ending in "_" among the net's parameters.
        # Batch iterators draw seeds from torch's global generator (as
        # DataLoader does); predicting must leave it as it was.
        self._clean_branch_only = True
        try:
            with torch.random.fork_rng(devices=[]):
                return super().predict_proba(X)
        finally:
            del self._clean_branch_only

    def predict(self, X):
        """Class indices: argmax of the clean-branch probabilities."""
        return self.predict_proba(X).argmax(axis=1)

    def get_iterator(self, dataset, training=False):
        if training:
            kwargs = self.get_params_for("iterator_train")
            iterator = self.iterator_train
        else:
            kwargs = self.get_params_for("iterator_valid")
            iterator = self.iterator_valid
        if iterator is DataLoader and set(kwargs) <= self._FAST_PATH_KWARGS:
            arrays = _in_memory_arrays(dataset)
            if arrays is not None:
                batch_size = kwargs.get("batch_size", self.batch_size)
                if batch_size == -1:
                    batch_size = len(arrays[0])
                return InMemoryBatches(*arrays, batch_size, bool(kwargs.get("shuffle", False)))
        return super().get_iterator(dataset, training=training)
