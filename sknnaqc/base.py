"""``NoiseAwareClassifier``: the shared scikit-learn estimator behind every method.

A method is a configuration of two things: a noise model stacked on the
user's network (:mod:`sknnaqc.noise_models`) and the weights of the combined
loss (:mod:`sknnaqc.losses`). Subclasses provide both through
``_make_noise_model`` and ``_loss_weights``; everything else — input
validation, label encoding, seeding, building the module, training with
skorch, prediction — lives here once.
"""

import copy
import inspect
import numbers

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data
from torch import nn
from torch.utils.data import Dataset

from ._label_issues_mixin import LabelIssuesMixin
from ._net import NoiseAwareNet, softmax_rows, unwrap_module
from .losses import NoiseAwareLoss
from .noise_models import NoiseAdaptedModule

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
        ``device``, ``random_state``, ``verbose``) and routed ``module__*``,
        ``optimizer__*`` ... parameters; see :class:`NoiseAwareClassifier`."""

FITTED_DOC = """    classes_ : ndarray of shape (n_classes,)
        Class labels seen in ``fit``.
    n_features_in_ : int
        Size of axis 1 of X seen in ``fit`` (absent when X was a Dataset).
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
        Number of training epochs.
    batch_size : int, default=100
        Mini-batch size (the paper's).
    train_split : callable or None, default=None
        skorch's internal validation split (e.g. ``skorch.dataset.ValidSplit(5)``).
        None trains on all data, as scikit-learn estimators do.
    callbacks : list of skorch callbacks, "disable" or None, default=None
        Extra skorch callbacks (e.g. ``EarlyStopping``), routed with
        ``callbacks__*``.
    device : str, default="cpu"
        torch device; "auto" picks "cuda" when available. Batches are moved
        to the device one at a time.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation and batch shuffling. With an int, two fits
        on CPU give identical predictions. torch's global random state is
        left as it was before ``fit``.
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
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "train_split": [None, callable],
        "callbacks": [None, list, StrOptions({"disable"})],
        "device": [str, torch.device],
        "random_state": ["random_state"],
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
        self._validate_method_params()

    # -- hooks for subclasses ------------------------------------------------
    def _validate_method_params(self):
        """Checks the constraints dict cannot express (subclasses extend)."""

    def _make_noise_model(self, n_classes):  # pragma: no cover - abstract
        raise NotImplementedError

    def _loss_weights(self):  # pragma: no cover - abstract
        """Return ``dict(alpha=..., beta=..., qc_target=...)``."""
        raise NotImplementedError

    # -- data ------------------------------------------------------------------
    def _validate_training_data(self, X, y):
        """Validate X, y; set ``classes_`` and ``n_features_in_``; encode y."""
        if isinstance(X, Dataset):
            return self._validate_training_dataset(X, y)
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        X = self._validate_X(X, reset=True)
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
        encoder = LabelEncoder().fit(y)
        self.classes_ = encoder.classes_
        self._check_two_classes()
        return X, encoder.transform(y).astype(np.int64)

    def _validate_training_dataset(self, X, y):
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
        if targets.dtype.kind not in "iu" or targets.min() < 0:
            raise ValueError(
                "Dataset targets must be non-negative integer class indices; got "
                f"dtype {targets.dtype} with minimum {targets.min()}."
            )
        names = getattr(X, "classes", None)
        n_classes = int(targets.max()) + 1
        if names is not None and len(names) >= n_classes:
            self.classes_ = np.asarray(names)
        else:
            self.classes_ = np.arange(n_classes)
        self._check_two_classes()
        for stale in ("n_features_in_", "feature_names_in_"):
            if hasattr(self, stale):
                delattr(self, stale)
        return X, None

    def _check_two_classes(self):
        if len(self.classes_) < 2:
            raise ValueError(
                f"{type(self).__name__} needs at least 2 classes in y; got one class: "
                f"{self.classes_[0]!r}."
            )

    def _validate_X(self, X, reset):
        X = validate_data(
            self, X, reset=reset, allow_nd=True, dtype=(np.float32, np.float64),
            ensure_min_features=1,
        )
        # Writable: torch warns on (and may not share) read-only arrays, which
        # pandas and memory-mapped inputs produce.
        return np.require(X.astype(np.float32, copy=False), requirements="W")

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

    def _make_net(self, X, noise_model, loss_weights):
        """Build an initialised inner net around a fresh copy of the base network."""
        n_classes = len(self.classes_)
        n_features = _flat_feature_count(X)
        base = self._build_base_module(n_classes, n_features)
        if isinstance(X, np.ndarray):
            self._check_output_shape(base, X[:2], n_classes)
        net = self._net_class(
            module=NoiseAdaptedModule(base, noise_model),
            criterion=NoiseAwareLoss(**loss_weights),
            **self._initial_net_kwargs(),
        )
        return net.initialize()

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

    def fit(self, X, y=None, **fit_params):
        """Train on (X, y), where y holds the given (possibly noisy) labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...) or torch Dataset
            Inputs: a 2-D feature matrix, an image array such as
            (n_samples, channels, height, width), or a torch Dataset of
            ``(input, label)`` items with a ``targets`` attribute (streamed
            from disk through a DataLoader; y must then be None).
        y : array-like of shape (n_samples,)
            Labels of any type (strings, non-contiguous integers).
        **fit_params
            Passed to skorch's ``fit`` (and to the module's forward).

        Returns
        -------
        self
        """
        self._validate_all_params()
        X, y_enc = self._validate_training_data(X, y)
        with torch.random.fork_rng(devices=self._rng_devices()):
            torch.manual_seed(self._seed())
            self.net_ = self._fit_net(X, y_enc, **fit_params)
        self.history_ = self.net_.history
        noise_model = unwrap_module(self.net_.module_).noise_model
        with torch.no_grad():
            self.noise_matrix_ = (
                noise_model.transition_matrix(len(self.classes_)).detach().cpu().double().numpy()
            )
        return self

    def _fit_net(self, X, y, **fit_params):
        """Build and train the inner net (ForwardCorrection overrides this)."""
        net = self._make_net(X, self._make_noise_model(len(self.classes_)), self._loss_weights())
        return net.partial_fit(X, y, **fit_params)

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
