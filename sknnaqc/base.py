"""``NoiseAwareClassifier``: the shared scikit-learn estimator behind every method.

A method is a configuration of two things: a noise model stacked on the
user's network (:mod:`sknnaqc.noise_models`) and the loss
(:mod:`sknnaqc.losses`). Subclasses provide both through
``_make_noise_model`` and ``_make_criterion`` (by default the NNAQC loss with
the weights from ``_loss_weights``); everything else — input and
sample-weight validation, label encoding, seeding, building the module,
training with skorch, prediction — lives here once.
"""

import contextlib
import copy
import inspect
import numbers

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    column_or_1d,
    validate_data,
)
from torch import nn
from torch.utils.data import Dataset

from ._label_issues_mixin import LabelIssuesMixin
from ._label_issues_mixin import _encode as encode_labels
from ._net import (
    CheckedTargets,
    NoiseAwareNet,
    softmax_rows,
    split_sample_weight,
    unwrap_module,
    with_sample_weight,
)
from .losses import NoiseAwareLoss
from .noise_models import CoTeachingModule, NoiseAdaptedModule

__all__ = ["NoiseAwareClassifier"]

# Prefixes of parameters routed to skorch / the module, as in skorch.
ROUTED_PREFIXES = (
    "module__",
    "optimizer__",
    "iterator_train__",
    "iterator_valid__",
    "callbacks__",
    "dataset__",
    "accelerator__",
)
# Names under which a module factory may ask for the number of classes or
# input features; filled from the data when the user did not give them.
_N_CLASSES_NAMES = ("n_classes", "num_classes", "output_units")
_N_FEATURES_NAMES = ("n_features", "input_units", "in_features", "input_dim")


# Docstring pieces shared by every estimator (filled in by ``fill_doc``).
KWARGS_DOC = """    **kwargs
        Parameters common to all sknnaqc estimators (``optimizer``, ``lr``,
        ``max_epochs``, ``batch_size``, ``train_split``, ``callbacks``,
        ``device``, ``random_state``, ``warm_start``, ``verbose``) and routed
        ``module__*``, ``optimizer__*`` ... parameters; see
        :class:`NoiseAwareClassifier`."""

FITTED_DOC = """    classes_ : ndarray of shape (n_classes,)
        Class labels seen in ``fit``.
    n_features_in_ : int
        Size of axis 1 of X seen in ``fit`` (absent when X was a Dataset).
    input_shape_ : tuple of int
        Shape of one sample of X seen in ``fit`` (``X.shape[1:]``, e.g.
        ``(1, 28, 28)`` for images); ``predict`` requires the same shape.
        Absent when X was a Dataset.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when X was a DataFrame with string column names."""


def fill_doc(cls):
    """Replace ``{kwargs}`` and ``{fitted}`` lines in a class docstring."""
    cls.__doc__ = cls.__doc__.replace("    {kwargs}", KWARGS_DOC).replace(
        "    {fitted}", FITTED_DOC)
    return cls


def _flat_feature_count(X):
    """Length of a 1-D input: columns of a 2-D array, or of a Dataset's first item."""
    if isinstance(X, np.ndarray):
        return X.shape[1] if X.ndim == 2 else None
    try:
        first = X[0][0]
    except Exception:  # any indexing failure: leave it to the module
        return None
    shape = getattr(first, "shape", None)
    return int(shape[0]) if shape is not None and len(shape) == 1 else None


def _is_routed(name):
    return name.startswith(ROUTED_PREFIXES)


@contextlib.contextmanager
def _batchnorm_hint():
    """Turn torch's BatchNorm error on a batch of one sample into advice."""
    try:
        yield
    except ValueError as exc:
        if "Expected more than 1 value per channel" not in str(exc):
            raise
        raise ValueError(
            "A BatchNorm layer got a training batch of a single sample (the last "
            "batch when the number of training samples leaves a remainder of 1 "
            "after dividing by batch_size). Pass iterator_train__drop_last=True "
            "to drop that batch, or choose another batch_size. torch said: "
            f"{exc}"
        ) from exc


class NoiseAwareClassifier(LabelIssuesMixin, ClassifierMixin, BaseEstimator):
    """Base class of all sknnaqc classifiers (not used directly).

    Parameters common to every estimator
    ------------------------------------
    module : nn.Module class, nn.Module instance, callable or None, default=None
        The base network; it must return logits of shape
        (n_samples, n_classes). A class or factory is called with the
        ``module__*`` parameters; if it takes ``n_classes`` (or
        ``num_classes`` / ``output_units``) or ``n_features`` (or
        ``in_features`` / ``input_units`` / ``input_dim``) and they were not
        given, they are filled in from the data. An instance is deep-copied
        at every ``fit``, so refitting starts from the same weights. None
        uses :class:`sknnaqc.networks.MLP` (one hidden layer of 128 units).
    optimizer : torch optimizer class, default=torch.optim.Adam
        Configure it with ``optimizer__*`` parameters
        (e.g. ``optimizer__weight_decay=1e-4``).
    lr : float, default=1e-3
        Learning rate.
    max_epochs : int, default=20
        Number of training epochs (of each ``fit`` and ``partial_fit`` call).
    batch_size : int, default=100
        Mini-batch size (the paper's); -1 trains on all samples as one batch.
    train_split : callable or None, default=None
        skorch's internal validation split (e.g. ``skorch.dataset.ValidSplit(5)``).
        None trains on all data, as scikit-learn estimators do.
    callbacks : list of skorch callbacks, "disable" or None, default=None
        Extra skorch callbacks, routed with ``callbacks__*``; e.g.
        ``EpochScoring("accuracy")`` (scored on the clean branch).
        ``EarlyStopping()`` and ``Checkpoint()`` monitor the validation loss
        by default, so they need a ``train_split``; without one, pass
        ``EarlyStopping(monitor="train_loss")``.
    device : str, default="cpu"
        torch device; "auto" picks "cuda" when available. Batches are moved
        to the device one at a time.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation and batch shuffling. With an int, two fits
        on CPU give identical predictions. torch's global random state is
        left as it was before ``fit``.
    warm_start : bool, default=False
        When True and the estimator is fitted, ``fit`` continues training
        the fitted network for ``max_epochs`` more epochs instead of starting
        from scratch (as :meth:`partial_fit` does); y must only hold labels
        from ``classes_``. The network keeps its optimizer state and the
        training settings of the fit that built it, except ``max_epochs``.
    verbose : int, default=0
        1 prints skorch's per-epoch table (losses and their NNA/QC parts).
    **kwargs
        Routed parameters: ``module__*``, ``optimizer__*``,
        ``iterator_train__*``, ``iterator_valid__*``, ``callbacks__*``,
        ``dataset__*``.
    """

    _parameter_constraints = {
        "module": [None, callable, nn.Module],
        "optimizer": [callable],
        "lr": [Interval(numbers.Real, 0, None, closed="neither")],
        "max_epochs": [Interval(numbers.Integral, 1, None, closed="left")],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left"),
                       Options(numbers.Integral, {-1})],
        "train_split": [None, callable],
        "callbacks": [None, list, StrOptions({"disable"})],
        "device": [str, torch.device],
        "random_state": ["random_state"],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
    }

    # Estimator class used for the inner skorch net; AcceleratedNNAQC swaps it.
    _net_class = NoiseAwareNet

    def __init__(
        self,
        module=None,
        *,
        optimizer=torch.optim.Adam,
        lr=1e-3,
        max_epochs=20,
        batch_size=100,
        train_split=None,
        callbacks=None,
        device="cpu",
        random_state=None,
        warm_start=False,
        verbose=0,
        **kwargs,
    ):
        self.module = module
        self.optimizer = optimizer
        self.lr = lr
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.train_split = train_split
        self.callbacks = callbacks
        self.device = device
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        vars(self).update(kwargs)

    # -- parameters ---------------------------------------------------------
    @classmethod
    def _get_param_names(cls):
        names = set()
        for klass in cls.__mro__:
            if "__init__" not in vars(klass) or not issubclass(klass, NoiseAwareClassifier):
                continue
            for p in inspect.signature(klass.__init__).parameters.values():
                if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
                    names.add(p.name)
        return sorted(names)

    def _extra_params(self):
        """Keyword arguments beyond the declared parameters (routed ones, typos)."""
        declared = set(self._get_param_names())
        return {
            k: v for k, v in vars(self).items()
            if k not in declared and not k.startswith("_") and not k.endswith("_")
        }

    def _routed_params(self):
        return {k: v for k, v in self._extra_params().items() if _is_routed(k)}

    def get_params(self, deep=True):
        params = super().get_params(deep=False)
        params.update(self._extra_params())
        return params

    def set_params(self, **params):
        extra = set(self._extra_params())
        passthrough = {k: params.pop(k) for k in list(params) if _is_routed(k) or k in extra}
        vars(self).update(passthrough)
        return super().set_params(**params) if params else self

    def _validate_all_params(self):
        self._validate_params()
        unknown = sorted(k for k in self._extra_params() if not _is_routed(k))
        if unknown:
            raise ValueError(
                f"Unknown parameter(s) {unknown} for {type(self).__name__}. Valid "
                f"parameters are {self._get_param_names()}, plus routed parameters "
                f"starting with one of {list(ROUTED_PREFIXES)}."
            )
        if "accelerator" not in self._get_param_names():
            accel = sorted(k for k in self._routed_params() if k.startswith("accelerator__"))
            if accel:
                raise ValueError(
                    f"{accel} configure Hugging Face Accelerate, which "
                    f"{type(self).__name__} does not use; train with "
                    f"sknnaqc.distributed.accelerated({type(self).__name__}) instead."
                )
        self._check_device()
        self._validate_method_params()

    def _check_device(self):
        if str(self.device) == "auto":
            return
        try:
            device = torch.device(self.device)
        except (RuntimeError, TypeError) as exc:
            raise ValueError(
                f"device must be 'cpu', 'cuda', 'cuda:N', 'auto' or another torch "
                f"device; got {self.device!r} ({exc})."
            ) from None
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(
                f"device={str(self.device)!r} but torch finds no CUDA GPU on this "
                "machine; use device=\"auto\" to train on a GPU when there is one "
                "and on the CPU otherwise."
            )

    # -- hooks for subclasses ------------------------------------------------
    def _validate_method_params(self):
        """Checks the constraints dict cannot express (subclasses extend)."""

    def _make_noise_model(self, n_classes):  # pragma: no cover - abstract
        raise NotImplementedError

    def _loss_weights(self):  # pragma: no cover - abstract
        """Return ``dict(alpha=..., beta=..., qc_target=...)``."""
        raise NotImplementedError

    def _make_criterion(self):
        """The training criterion; by default the NNAQC loss with ``_loss_weights``."""
        return NoiseAwareLoss(**self._loss_weights())

    def _declared_classes(self):
        """The full label set given as a parameter, or None (subclasses override)."""
        return None

    # -- data ------------------------------------------------------------------
    def _validate_training_data(self, X, y, classes=None):
        """Validate X, y; set ``classes_``, ``n_features_in_``, ``input_shape_``; encode y.

        ``classes`` (or the estimator's declared classes) is the full label
        set when y may lack some of them.
        """
        if classes is None:
            classes = self._declared_classes()
        if isinstance(X, Dataset):
            return self._validate_training_dataset(X, y, classes)
        X = self._validate_X(X, reset=True)
        y = self._validate_y(X, y)
        if classes is None:
            self.classes_ = np.unique(y)
        else:
            self.classes_ = self._check_classes(classes)
        self._check_two_classes()
        self.input_shape_ = tuple(int(d) for d in X.shape[1:])
        return X, self._encode(y)

    def _validate_y(self, X, y):
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        y = np.asarray(y) if not hasattr(y, "iloc") else y.to_numpy()
        if y.ndim == 2 and y.shape[1] != 1:
            raise ValueError(
                f"y must be 1-D (one label per sample); got an array of shape {y.shape}. "
                "Multi-label and multi-output targets are not supported."
            )
        y = column_or_1d(y, warn=True)
        if len(y) != X.shape[0]:
            raise ValueError(
                f"X and y have inconsistent numbers of samples: X has {X.shape[0]}, "
                f"y has {len(y)}."
            )
        check_classification_targets(y)
        return y

    @staticmethod
    def _check_classes(classes):
        classes = np.asarray(classes)
        if classes.ndim != 1 or len(classes) == 0:
            raise ValueError(
                f"classes must be a non-empty 1-D array of labels; got shape {classes.shape}."
            )
        unique = np.unique(classes)
        if len(unique) != len(classes):
            raise ValueError(f"classes must not repeat a label; got {classes.tolist()}.")
        return unique

    def _encode(self, y):
        """Class indices of the labels y; every label must be in ``classes_``."""
        return encode_labels(y, self.classes_)

    def _validate_training_dataset(self, X, y, classes=None):
        n_classes = self._check_dataset_targets(X, y)
        names = getattr(X, "classes", None) if classes is None else classes
        if classes is not None:
            self.classes_ = np.asarray(classes)
            if len(self.classes_) < n_classes:
                raise ValueError(
                    f"The Dataset's targets hold class indices up to {n_classes - 1}, "
                    f"but classes has only {len(self.classes_)} labels."
                )
        elif names is not None and len(names) >= n_classes:
            self.classes_ = np.asarray(names)
        else:
            self.classes_ = np.arange(n_classes)
        self._check_two_classes()
        # The items' labels are checked against the classes while training.
        return CheckedTargets(X, len(self.classes_)), None

    @staticmethod
    def _check_dataset_targets(X, y=None):
        """Validate a Dataset X (y must be None) and its ``targets``; return the
        number of classes they imply."""
        if y is not None:
            raise ValueError(
                "When X is a torch Dataset, its items must be (input, label) pairs "
                "and y must be None; wrap the dataset to change its labels."
            )
        targets = getattr(X, "targets", None)
        if targets is None:
            raise ValueError(
                "A torch Dataset passed as X needs a `targets` attribute (the integer "
                "label of every item, as torchvision datasets have) so that the "
                "classes are known before training."
            )
        targets = np.asarray(targets)
        if targets.ndim != 1 or targets.size == 0:
            raise ValueError(
                "Dataset targets must be a non-empty 1-D sequence of class indices; "
                f"got shape {targets.shape}."
            )
        if targets.dtype.kind not in "iu":
            raise ValueError(
                "Dataset targets must be non-negative integer class indices; got "
                f"dtype {targets.dtype} (first value {targets[0]!r})."
            )
        smallest = targets.min()
        if smallest < 0:
            raise ValueError(
                "Dataset targets must be non-negative integer class indices; got "
                f"minimum {smallest}."
            )
        try:
            n_items = len(X)
        except TypeError:
            n_items = None
        if n_items is not None and n_items != len(targets):
            raise ValueError(
                f"The Dataset has {n_items} items but its targets list {len(targets)} "
                "labels; they must match one to one."
            )
        return int(targets.max()) + 1

    def _validate_sample_weight(self, sample_weight, X):
        """Check ``sample_weight`` as scikit-learn does; return it scaled to mean 1.

        None stays None (the unweighted loss). Weights must be finite,
        non-negative, not all zero and one per sample of X (an array or a
        Dataset). Scaling to mean 1 keeps the loss and its gradients on the
        scale of the unweighted loss, whatever the weights' unit.
        """
        if sample_weight is None:
            return None
        sample_weight = _check_sample_weight(
            sample_weight, X, dtype=np.float64, ensure_non_negative=True, copy=True)
        return sample_weight / sample_weight.mean()

    def _attach_sample_weight(self, X, sample_weight):
        """X carrying validated weights for the loss (X itself when there are none)."""
        sample_weight = self._validate_sample_weight(sample_weight, X)
        return X if sample_weight is None else with_sample_weight(X, sample_weight)

    def _check_two_classes(self):
        if len(self.classes_) < 2:
            raise ValueError(
                f"{type(self).__name__} needs at least 2 classes in y; got one class: "
                f"{self.classes_[0]!r}."
            )

    def _check_input_shape(self, shape):
        """Per-sample shape must match ``input_shape_`` (before torch sees it)."""
        expected = getattr(self, "input_shape_", None)
        if expected is None or shape is None or len(shape) < 2:
            return  # 1-D X: scikit-learn's "Expected 2D array" message follows
        got = tuple(int(d) for d in shape[1:])
        if got == tuple(expected) or (len(got) == 1 and len(expected) == 1):
            return  # flat features: scikit-learn's n_features_in_ message
        raise ValueError(
            f"X has samples of shape {got} (X of shape {tuple(shape)}), but "
            f"{type(self).__name__} was fitted on samples of shape {tuple(expected)}; "
            f"X must have shape (n_samples, {', '.join(map(str, expected))})."
        )

    def _validate_X(self, X, reset):
        if not reset:
            self._check_input_shape(getattr(X, "shape", None))
        X = validate_data(
            self, X, reset=reset, allow_nd=True, dtype=(np.float32, np.float64),
            ensure_min_features=1,
        )
        if not reset:
            self._check_input_shape(X.shape)
        with np.errstate(over="ignore"):  # reported below, in words
            X32 = X.astype(np.float32, copy=False)
        if X.dtype != np.float32 and not np.isfinite(X32).all():
            raise ValueError(
                "Input X contains values too large for float32 (largest magnitude "
                f"{np.abs(X).max():.3g}; float32 holds at most 3.4e+38), which the "
                "network computes in. Scale the features."
            )
        # Writable: torch warns on (and may not share) read-only arrays, which
        # pandas and memory-mapped inputs produce.
        return np.require(X32, requirements="W")

    # -- building ----------------------------------------------------------------
    def _resolved_device(self):
        if str(self.device) == "auto":
            return "cuda" if torch.cuda.is_available() else "cpu"
        return str(self.device)

    def _build_base_module(self, n_classes, n_features):
        module = self.module
        kwargs = {k[len("module__"):]: v for k, v in self._routed_params().items()
                  if k.startswith("module__")}
        if module is None:
            from .networks import MLP

            if n_features is None and "n_features" not in kwargs:
                raise ValueError(
                    "module=None uses an MLP, which needs flat feature vectors; X has "
                    "inputs of another shape. Pass a network as module (e.g. "
                    "sknnaqc.networks.mnist_lenet for 28x28 images) or module__n_features."
                )
            module = MLP
        if isinstance(module, nn.Module):
            if kwargs:
                raise ValueError(
                    "module is an nn.Module instance, so module__* parameters "
                    f"{sorted(kwargs)} cannot be applied; pass the class or a factory."
                )
            return copy.deepcopy(module)
        try:
            signature = inspect.signature(module)
        except (TypeError, ValueError):
            signature = None
        if signature is not None:
            accepted = signature.parameters
            for names, value in ((_N_CLASSES_NAMES, n_classes), (_N_FEATURES_NAMES, n_features)):
                if value is None:
                    continue
                for name in names:
                    if name in accepted and name not in kwargs:
                        kwargs[name] = value
                        break
        base = module(**kwargs)
        if not isinstance(base, nn.Module):
            raise TypeError(
                f"module must build a torch.nn.Module; calling {module!r} returned "
                f"{type(base).__name__}."
            )
        return base

    def _initial_net_kwargs(self):
        """Keyword arguments of the inner skorch net shared by all methods."""
        routed = {k: v for k, v in self._routed_params().items()
                  if not k.startswith("module__")}
        routed.setdefault("iterator_train__shuffle", True)
        return dict(
            optimizer=self.optimizer,
            lr=self.lr,
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            train_split=self.train_split,
            callbacks=self.callbacks,
            predict_nonlinearity=softmax_rows,
            verbose=self.verbose,
            device=self._resolved_device(),
            **routed,
        )

    def _make_net(self, X, noise_model, criterion, *, peer=False, **net_params):
        """Build an initialised inner net around a fresh copy of the base network.

        ``criterion`` is a criterion module or the ``alpha`` / ``beta``
        dict of a :class:`~sknnaqc.losses.NoiseAwareLoss`. With ``peer=True``
        a second, separately built copy of the base network is trained beside
        the first (:class:`~sknnaqc.noise_models.CoTeachingModule`) and
        ``noise_model`` must be None. ``net_params`` override the inner
        net's parameters (e.g. ``max_epochs``).
        """
        X, _ = split_sample_weight(X)
        n_classes = len(self.classes_)
        n_features = _flat_feature_count(X)
        base = self._build_base_module(n_classes, n_features)
        if isinstance(X, np.ndarray):
            self._check_output_shape(base, X[:2], n_classes)
        if peer:
            module = CoTeachingModule(base, self._build_base_module(n_classes, n_features))
        else:
            module = NoiseAdaptedModule(base, noise_model)
        if isinstance(criterion, dict):
            criterion = NoiseAwareLoss(**criterion)
        net = self._net_class(
            module=module,
            criterion=criterion,
            **{**self._initial_net_kwargs(), **net_params},
        )
        net.initialize()
        # Class indices, for skorch's scoring callbacks (EpochScoring("accuracy")).
        net.classes_ = np.arange(n_classes)
        self._check_monitored_callbacks(net)
        return net

    @staticmethod
    def _check_monitored_callbacks(net):
        """Callbacks that watch a validation score need a validation split."""
        if net.train_split is not None:
            return
        for name, callback in net.callbacks_:
            monitor = getattr(callback, "monitor", None)
            if isinstance(monitor, str) and monitor.startswith("valid_"):
                raise ValueError(
                    f"Callback {name!r} ({type(callback).__name__}) monitors "
                    f"{monitor!r}, which is only recorded with a validation split, "
                    "but train_split=None. Pass train_split=skorch.dataset.ValidSplit(5) "
                    f"(or another split), or monitor the training loss "
                    f"(e.g. {type(callback).__name__}(monitor='train_loss'))."
                )

    @staticmethod
    def _check_output_shape(base, X_probe, n_classes):
        was_training = base.training
        base.eval()
        try:
            with torch.no_grad():
                out = base(torch.as_tensor(X_probe))
        except Exception as exc:
            raise ValueError(
                f"The base network failed on input of shape {tuple(X_probe.shape)}: {exc}"
            ) from exc
        finally:
            base.train(was_training)
        if not isinstance(out, torch.Tensor) or out.shape != (len(X_probe), n_classes):
            shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            raise ValueError(
                f"The base network must return logits of shape (n_samples, n_classes) = "
                f"({len(X_probe)}, {n_classes}); it returned {shape}."
            )

    # -- fitting -------------------------------------------------------------------
    def _seed(self):
        return int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))

    def _rng_devices(self):
        device = torch.device(self._resolved_device())
        if device.type == "cuda":
            return [device.index if device.index is not None else torch.cuda.current_device()]
        return []

    def fit(self, X, y=None, sample_weight=None, **fit_params):
        """Train on (X, y), where y holds the given (possibly noisy) labels.

        A fit that raises leaves the estimator as it was before the call:
        fitted attributes change only when training succeeds.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...) or torch Dataset
            Inputs: a 2-D feature matrix, an image array such as
            (n_samples, channels, height, width), or a torch Dataset of
            ``(input, label)`` items with a ``targets`` attribute (streamed
            from disk through a DataLoader; y must then be None).
        y : array-like of shape (n_samples,)
            Labels of any type (strings, non-contiguous integers).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each sample's loss (every part of it);
            None weights all samples equally. Also accepted with a Dataset
            X (one weight per item). Only the relative sizes matter: the
            weights are scaled to mean 1, and each batch's loss is the mean
            of its weighted per-sample losses. A sample of weight 0 does not
            contribute to the loss (with mini-batches it still takes a place
            in its batch, so training is not identical to dropping it).
            The transition-matrix estimates that some methods make before
            training (forward correction's stage 1, Co-teaching's noise-rate
            estimate) do not use the weights.
        **fit_params
            Passed to skorch's ``fit`` (and to the module's forward).

        Returns
        -------
        self
        """
        self._validate_all_params()
        with self._fit_transaction() as previous:
            if self.warm_start and "net_" in previous:
                self._continue_fit(previous, X, y, None, sample_weight, fit_params)
            else:
                self._new_fit(X, y, None, sample_weight, fit_params)
        return self

    def partial_fit(self, X, y=None, classes=None, sample_weight=None, **fit_params):
        """Train ``max_epochs`` more epochs, continuing from the fitted network.

        The first call (on an unfitted estimator) fits like :meth:`fit`;
        later calls keep the network, its optimizer state and the history and
        train on (X, y) for ``max_epochs`` more epochs, as skorch's
        ``partial_fit`` does. A call that raises leaves the estimator as it
        was.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...) or torch Dataset
            Inputs with the same per-sample shape as in the first call.
        y : array-like of shape (n_samples,)
            Labels; every label must be in ``classes_``.
        classes : array-like of shape (n_classes,), default=None
            The full label set, needed on the first call when its y lacks
            some labels; on later calls it must equal ``classes_``.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights of this call's loss, as in :meth:`fit`. They
            are scaled to mean 1 within each call, so relative weights between
            calls are not kept.
        **fit_params
            Passed to skorch's ``partial_fit``.

        Returns
        -------
        self

        Examples
        --------
        >>> from sklearn.datasets import load_digits
        >>> from sknnaqc import NNAQCClassifier
        >>> X, y = load_digits(return_X_y=True)
        >>> clf = NNAQCClassifier(max_epochs=2, random_state=0)
        >>> clf = clf.partial_fit(X[:900] / 16, y[:900], classes=range(10))
        >>> clf = clf.partial_fit(X[900:] / 16, y[900:])
        >>> len(clf.history_)
        4
        """
        self._validate_all_params()
        with self._fit_transaction() as previous:
            if "net_" in previous:
                self._continue_fit(previous, X, y, classes, sample_weight, fit_params)
            else:
                self._new_fit(X, y, classes, sample_weight, fit_params)
        return self

    def _fitted_state(self):
        return {k: v for k, v in vars(self).items()
                if k.endswith("_") and not k.startswith("_")}

    @contextlib.contextmanager
    def _fit_transaction(self):
        """Run a fit on a clean slate; on failure restore the previous fitted state.

        Yields the previous fitted attributes. They are removed for the
        duration of the fit, so that nothing stale survives a successful fit,
        and put back unchanged if it raises.
        """
        previous = self._fitted_state()
        for name in previous:
            delattr(self, name)
        try:
            yield previous
        except BaseException:
            for name in self._fitted_state():
                delattr(self, name)
            vars(self).update(previous)
            raise

    def _new_fit(self, X, y, classes, sample_weight, fit_params):
        X, y_enc = self._validate_training_data(X, y, classes)
        X = self._attach_sample_weight(X, sample_weight)
        with torch.random.fork_rng(devices=self._rng_devices()):
            torch.manual_seed(self._seed())
            with _batchnorm_hint():
                net = self._fit_net(X, y_enc, **fit_params)
        self._set_fitted_net(net)

    def _continue_fit(self, previous, X, y, classes, sample_weight, fit_params):
        """More epochs on a copy of the fitted net; assigned only if they succeed."""
        vars(self).update(previous)
        if classes is not None and not np.array_equal(
                self._check_classes(classes), np.sort(self.classes_)):
            raise ValueError(
                f"classes {np.asarray(classes).tolist()} differ from the classes_ "
                f"{self.classes_.tolist()} of the first fit."
            )
        if isinstance(X, Dataset):
            n_classes = self._check_dataset_targets(X, y)
            if n_classes > len(self.classes_):
                raise ValueError(
                    f"The Dataset's targets hold class indices up to {n_classes - 1}, "
                    f"but the estimator was fitted on {len(self.classes_)} classes."
                )
            X, y_enc = CheckedTargets(X, len(self.classes_)), None
        else:
            X = self._validate_X(X, reset=False)
            y_enc = self._encode(self._validate_y(X, y))
        X = self._attach_sample_weight(X, sample_weight)
        net = copy.deepcopy(self.net_)
        self._count_labels(net.criterion_, X, y_enc)
        net.max_epochs = self.max_epochs
        seed = (self._seed() + len(net.history)) % np.iinfo(np.int32).max
        with torch.random.fork_rng(devices=self._rng_devices()):
            torch.manual_seed(seed)
            with _batchnorm_hint():
                net.partial_fit(X, y_enc, **fit_params)
        self._set_fitted_net(net)

    def _set_fitted_net(self, net):
        noise_model = unwrap_module(net.module_).noise_model
        with torch.no_grad():
            noise_matrix = (
                noise_model.transition_matrix(len(self.classes_)).detach().cpu().double().numpy()
            )
        self.net_ = net
        self.history_ = net.history
        self.noise_matrix_ = noise_matrix

    def _fit_net(self, X, y, **fit_params):
        """Build and train the inner net (ForwardCorrection overrides this).

        X carries the sample weights when ``fit`` got them (see
        :func:`~sknnaqc._net.with_sample_weight`).
        """
        criterion = self._make_criterion()
        self._count_labels(criterion, X, y)
        net = self._make_net(X, self._make_noise_model(len(self.classes_)), criterion)
        return net.partial_fit(X, y, **fit_params)

    def _count_labels(self, criterion, X, y):
        """Give a criterion that uses label frequencies (NNAQC's class-balance
        term) the weighted counts of this call's labels."""
        if not hasattr(criterion, "add_label_counts"):
            return
        X, sample_weight = split_sample_weight(X)
        labels, inner = y, X
        while labels is None and inner is not None:  # a (wrapped) Dataset's targets
            labels = getattr(inner, "targets", None)
            inner = getattr(inner, "dataset", None)
        if labels is None:  # not known up front: the balance term uses a uniform prior
            return
        counts = np.bincount(np.asarray(labels, dtype=np.int64), weights=sample_weight,
                             minlength=len(self.classes_))
        criterion.add_label_counts(counts)

    # -- prediction ----------------------------------------------------------------
    def _predict_input(self, X):
        check_is_fitted(self, "net_")
        if isinstance(X, Dataset):
            return X
        return self._validate_X(X, reset=False)

    def predict_proba(self, X):
        """Clean-label probabilities ``softmax(t1)``; the noise model is not used.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...) or torch Dataset

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns follow ``classes_``.
        """
        X = self._predict_input(X)
        proba = self.net_.predict_proba(X).astype(np.float64)
        return proba / proba.sum(axis=1, keepdims=True)

    def predict(self, X):
        """Predicted clean labels (values from ``classes_``).

        Parameters
        ----------
        X : array-like of shape (n_samples, ...) or torch Dataset

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        proba = self.predict_proba(X)
        return self.classes_[proba.argmax(axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags
