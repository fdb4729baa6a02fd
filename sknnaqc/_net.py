"""The skorch net that every sknnaqc estimator trains internally.

It plugs into skorch's seams only: ``get_loss`` (loss parts, sample
weights, NaN guard), ``get_iterator`` (fast batches for in-memory data),
``infer`` / ``predict_proba`` (the clean branch alone at prediction time;
sample weights never reach the module), ``on_epoch_begin`` (epoch-dependent
criteria such as Co-teaching's schedule), ``_set_training`` (no per-batch
mode switch when nothing changed) and the default callbacks (epoch averages
of the loss parts). skorch's training loop, callbacks and history are used
unchanged.

Sample weights travel with the inputs, as skorch recommends: X becomes the
dict ``{"X": X, "sample_weight": w}`` (a torch Dataset is wrapped in
:class:`WeightedDataset`, whose items carry the same dict), so that
splitting, shuffling and batching keep each weight with its sample.
``infer`` passes only ``"X"`` to the module; ``get_loss`` hands the batch's
weights to the criterion.
"""

import math
from collections.abc import Mapping

import numpy as np
import torch
from sklearn.base import ClassifierMixin
from skorch import NeuralNet
from skorch.callbacks import PassthroughScoring
from skorch.dataset import Dataset as SkorchDataset
from skorch.utils import to_tensor
from torch.utils.data import DataLoader, Dataset, Subset

from .exceptions import NonFiniteLossError
from .noise_models import CoTeachingModule, NoiseAdaptedModule

# Parts logged when the criterion does not name its own (see ``parts`` of
# the criteria in sknnaqc.losses); the noise model's penalty is always added.
LOSS_PARTS = ("nna", "qc", "penalty")
# Modules whose first output is the base network's logits, computed by
# ``module.base`` alone: predict_proba runs only that network.
_BASE_FIRST_MODULES = (NoiseAdaptedModule, CoTeachingModule)
_INPUT_KEY, _WEIGHT_KEY = "X", "sample_weight"


def softmax_rows(logits):
    """Prediction nonlinearity (module level so that fitted nets pickle)."""
    return torch.softmax(logits, dim=1)


def _history_key(prefix, part):
    return f"{prefix}_{part}_loss" if part != "penalty" else f"{prefix}_penalty"


class WeightedDataset(torch.utils.data.Dataset):
    """A torch Dataset of ``(input, label)`` items with a weight per item.

    Item ``i`` is ``({"X": input_i, "sample_weight": w_i}, label_i)``.

    Parameters
    ----------
    dataset : torch.utils.data.Dataset
    sample_weight : array-like of shape (len(dataset),)
    """

    def __init__(self, dataset, sample_weight):
        self.dataset = dataset
        self.sample_weight = torch.as_tensor(np.asarray(sample_weight, dtype=np.float32))

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, i):
        x, y = self.dataset[i]
        return {_INPUT_KEY: x, _WEIGHT_KEY: self.sample_weight[i]}, y


def with_sample_weight(X, sample_weight):
    """Attach per-sample weights to X (array, tensor or torch Dataset)."""
    if isinstance(X, torch.utils.data.Dataset):
        return WeightedDataset(X, sample_weight)
    return {_INPUT_KEY: X, _WEIGHT_KEY: np.asarray(sample_weight, dtype=np.float32)}


def split_sample_weight(X):
    """``(inputs, weights)`` of X or of a batch; weights are None when absent."""
    if isinstance(X, WeightedDataset):
        return X.dataset, X.sample_weight
    if isinstance(X, Mapping) and set(X) == {_INPUT_KEY, _WEIGHT_KEY}:
        return X[_INPUT_KEY], X[_WEIGHT_KEY]
    return X, None


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
        return math.ceil(_n_rows(self.X) / self.batch_size)

    def __iter__(self):
        n = _n_rows(self.X)
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
            yield _take(self.X, idx), (None if self.y is None else self.y[idx])


def _draw_seed():
    return int(torch.empty((), dtype=torch.int64).random_().item())


def _as_tensor(a):
    if a is None or isinstance(a, torch.Tensor):
        return a
    if isinstance(a, Mapping):
        return {k: _as_tensor(v) for k, v in a.items()}
    return torch.as_tensor(np.ascontiguousarray(a))


def _is_array(a):
    if isinstance(a, Mapping):
        return all(isinstance(v, (np.ndarray, torch.Tensor)) for v in a.values())
    return isinstance(a, (np.ndarray, torch.Tensor))


def _n_rows(X):
    return len(next(iter(X.values()))) if isinstance(X, Mapping) else len(X)


def _take(X, idx):
    return {k: v[idx] for k, v in X.items()} if isinstance(X, Mapping) else X[idx]


def _in_memory_arrays(dataset):
    """``(X, y)`` tensors behind a skorch Dataset (or a Subset of one), else None."""
    indices = None
    if isinstance(dataset, Subset):
        indices = torch.as_tensor(np.asarray(dataset.indices), dtype=torch.long)
        dataset = dataset.dataset
    if type(dataset) is not SkorchDataset:
        return None
    X, y = dataset.X, dataset.y
    if not _is_array(X):
        return None
    if y is not None and not isinstance(y, (np.ndarray, torch.Tensor)):
        return None
    X, y = _as_tensor(X), _as_tensor(y)
    if indices is not None:
        X = _take(X, indices)
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

    The criterion must have a ``components(y_pred, y_true, sample_weight)``
    method returning a dict with ``"loss"`` and the parts to log, which it
    names in its ``parts`` attribute (``("nna", "qc")`` when it has none).
    Per batch, ``train_<part>_loss`` (and ``valid_*`` when a validation split
    is used) and ``train_penalty`` are recorded in the history, and their
    epoch averages appear as epoch-level entries. A criterion with an
    ``on_epoch_begin(epoch)`` method is told the number of completed epochs
    before each epoch; the values it returns are recorded in the history.

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
            for part in self._loss_parts():
                name = _history_key(prefix, part)
                extra.append((name, PassthroughScoring(name=name, on_train=prefix == "train")))
        return callbacks[:position] + extra + callbacks[position:]

    def _loss_parts(self):
        parts = getattr(self.criterion, "parts", None)
        return (*parts, "penalty") if parts is not None else LOSS_PARTS

    def get_loss(self, y_pred, y_true, X=None, training=False):
        y_true = to_tensor(y_true, device=self.device).long()
        _, sample_weight = split_sample_weight(X)
        if sample_weight is not None:
            sample_weight = to_tensor(sample_weight, device=self.device)
        parts = self.criterion_.components(y_pred, y_true, sample_weight=sample_weight)
        loss = parts["loss"]
        penalty = unwrap_module(self.module_).noise_model.penalty()
        if penalty is not None:
            loss = loss + penalty
            parts["penalty"] = penalty
        prefix = "train" if training else "valid"
        # One device-to-host copy for the total and every logged part
        # (a single synchronisation per batch on GPU instead of one per value).
        logged = [part for part in self._loss_parts() if part in parts]
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
            self.history.record_batch(_history_key(prefix, part), value)
        return loss

    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        super().on_epoch_begin(net, dataset_train, dataset_valid, **kwargs)
        hook = getattr(self.criterion_, "on_epoch_begin", None)
        if hook is not None:
            for key, value in hook(len(self.history) - 1).items():
                self.history.record(key, value)

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
        # Sample weights are for the loss (get_loss reads them from the batch).
        x, _ = split_sample_weight(x)
        # In predict_proba, run the base network alone: its logits are the
        # first element of the module's output, which is all skorch keeps
        # for prediction. Wrapped modules and extra inputs go the usual way.
        if (self._clean_branch_only and not fit_params and isinstance(x, torch.Tensor)
                and type(self.module_) in _BASE_FIRST_MODULES):
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
