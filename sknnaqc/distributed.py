"""Scaling out: multi-process training with Accelerate, grid search with Dask.

Needs the ``distributed`` extra (``pip install "sknnaqc[distributed]"``).

* :class:`AcceleratedNNAQCClassifier` and :func:`accelerated` train any
  sknnaqc estimator data-parallel through Hugging Face Accelerate (skorch's
  :class:`~skorch.hf.AccelerateMixin`): start the same script on N processes
  or GPUs with ``accelerate launch`` and every process trains one replica on
  its share of each epoch's batches, with gradients (including those of the
  noise model ``W``) averaged across processes after every step.
* :func:`set_torch_threads` and :class:`TorchThreadsPlugin` give every Dask
  worker a fixed number of torch threads, so that ``GridSearchCV`` under
  ``joblib.parallel_backend("dask")`` does not oversubscribe the cores.

Single-GPU training needs none of this: pass ``device="cuda"`` (or
``device="auto"``) to any estimator.
"""

import warnings

import torch
from accelerate import Accelerator, PartialState
from distributed import WorkerPlugin
from skorch import NeuralNet
from skorch.exceptions import DeviceWarning
from skorch.hf import AccelerateMixin

from ._net import NoiseAwareNet, unwrap_module
from .base import NoiseAwareClassifier
from .baselines import (
    BaseModelClassifier,
    BootstrappingClassifier,
    DropoutNoiseLayerClassifier,
    ForwardCorrectionClassifier,
    GenieAidedClassifier,
    TraceRegularizedClassifier,
)
from .nnaqc import NNAQCClassifier

__all__ = [
    "AcceleratedNoiseAwareNet",
    "AcceleratedMixin",
    "AcceleratedNNAQCClassifier",
    "accelerated",
    "set_torch_threads",
    "TorchThreadsPlugin",
]

_ACCELERATOR_PREFIX = "accelerator__"


def _print_on_main_process(*args, **kwargs):
    """``print`` on the first process of each machine only (picklable, unlike
    a bound ``accelerator.print``)."""
    if PartialState().is_local_main_process:
        print(*args, **kwargs)


def _has_trainable_parameters(module):
    return isinstance(module, torch.nn.Module) and any(
        p.requires_grad for p in module.parameters())


class AcceleratedNoiseAwareNet(AccelerateMixin, NoiseAwareNet):
    """:class:`~sknnaqc._net.NoiseAwareNet` trained through an ``accelerate.Accelerator``.

    Batches always come from a ``torch.utils.data.DataLoader``: the
    in-memory fast path of ``NoiseAwareNet`` is skipped, because only a
    ``DataLoader`` can be sharded across processes by ``accelerator.prepare``.

    The accelerator belongs to the process that trained the net, so it is
    not pickled: a net loaded from a pickle gets a fresh ``Accelerator()``
    for the process that loads it (plain single-process prediction, unless
    that process was itself started by ``accelerate launch``).
    """

    def _initialize_accelerator(self):
        # On multi-CPU runs Accelerate wraps every prepared module in
        # DistributedDataParallel, which refuses modules without trainable
        # parameters, such as NoiseAwareLoss. Those are only moved to the
        # device.
        if self._wrapped_with_accelerator:
            return self
        self._freeze_unused_noise_model()
        criteria = self._criteria
        no_parameters = [name for name in criteria if not _has_trainable_parameters(
            getattr(self, name + "_", None))]
        self._criteria = [name for name in criteria if name not in no_parameters]
        try:
            super()._initialize_accelerator()
        finally:
            self._criteria = criteria
        if self.accelerator.device_placement:
            for name in no_parameters:
                criterion = getattr(self, name + "_", None)
                if isinstance(criterion, torch.nn.Module):
                    criterion.to(self.accelerator.device)
        return self

    def _freeze_unused_noise_model(self):
        # With alpha=0 the loss never reaches the noise model, so its
        # parameters get no gradient and are never updated, even on one
        # process; DDP, however, fails on parameters without a gradient.
        # Freezing them keeps the result and satisfies DDP.
        if getattr(self.criterion_, "alpha", None) != 0:
            return
        noise_model = unwrap_module(self.module_).noise_model
        if noise_model.penalty() is None:
            noise_model.requires_grad_(False)

    def get_iterator(self, dataset, training=False):
        # NeuralNet's DataLoader, not NoiseAwareNet's InMemoryBatches.
        iterator = NeuralNet.get_iterator(self, dataset, training=training)
        return self.accelerator.prepare(iterator)

    def __getstate__(self):
        state = super().__getstate__()
        state["accelerator"] = None
        return state

    def __setstate__(self, state):
        device = state.get("device")
        with warnings.catch_warnings():
            # skorch warns that device=None becomes "cpu"; the accelerator
            # places the data, as during training.
            warnings.simplefilter("ignore", DeviceWarning)
            super().__setstate__(state)
        if self.accelerator is None:
            self.accelerator = Accelerator()
        if device is None and self.accelerator.device_placement:
            self.device = None


class AcceleratedMixin(NoiseAwareClassifier):
    """Adds Accelerate data-parallel training to a sknnaqc estimator.

    Put it first among the bases (``class C(AcceleratedMixin, NNAQCClassifier)``)
    or use :func:`accelerated`. It adds the ``accelerator`` parameter and
    trains the inner net as an :class:`AcceleratedNoiseAwareNet`.

    Parameters
    ----------
    accelerator : accelerate.Accelerator or None, default=None
        The accelerator to train with. None creates one at ``fit`` time from
        the ``accelerator__*`` parameters (``Accelerator(**params)``), e.g.
        ``accelerator__mixed_precision="bf16"``; unlike an instance, such
        parameters survive ``clone``, pickling and ``GridSearchCV``.
        When the accelerator places the data (the default), ``device`` is
        ignored: Accelerate picks the process's device.

    Notes
    -----
    * Each process draws ``batch_size`` samples per step, so one optimiser
      step sees ``batch_size * num_processes`` samples and an epoch has
      ``num_processes`` times fewer steps. To keep one process's schedule
      (each step's ``batch_size`` samples split across the processes), pass
      ``accelerator__dataloader_config=accelerate.DataLoaderConfiguration(split_batches=True)``.
    * Parameters that get no gradient make DistributedDataParallel fail. The
      noise model is frozen automatically when ``alpha=0`` leaves it out of
      the loss; for unused parameters of your own network pass
      ``accelerator__kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=True)]``
      (``DistributedDataParallelKwargs`` from ``accelerate``).
    * ``predict`` and ``predict_proba`` are collective operations when the
      script runs on several processes: every process must call them; each
      process gets the predictions for all samples.
    * ``random_state`` must be the same on every process (it is, when it is
      a literal in the launched script): the replicas then start from the
      same weights and shuffle the same way before their batches are split.
    """

    def __init__(self, module=None, *, accelerator=None, **kwargs):
        super().__init__(module, **kwargs)
        self.accelerator = accelerator

    _net_class = AcceleratedNoiseAwareNet

    def _validate_method_params(self):
        super()._validate_method_params()
        if self.accelerator is not None and not hasattr(self.accelerator, "prepare"):
            raise TypeError(
                "accelerator must be an accelerate.Accelerator or None, got "
                f"{type(self.accelerator).__name__}."
            )
        if self.accelerator is not None and self._accelerator_params():
            raise ValueError(
                "accelerator__* parameters configure the Accelerator made at fit time; "
                "they cannot be combined with an accelerator instance "
                f"(got {sorted(self._accelerator_params())})."
            )

    def _accelerator_params(self):
        return {
            k[len(_ACCELERATOR_PREFIX):]: v for k, v in self._routed_params().items()
            if k.startswith(_ACCELERATOR_PREFIX)
        }

    def _initial_net_kwargs(self):
        kwargs = {
            k: v for k, v in super()._initial_net_kwargs().items()
            if not k.startswith(_ACCELERATOR_PREFIX)
        }
        accelerator = self.accelerator
        if accelerator is None:
            accelerator = Accelerator(**self._accelerator_params())
        kwargs["accelerator"] = accelerator
        # skorch's PrintLog ignores verbose=0 with any sink but print.
        kwargs.setdefault(
            "callbacks__print_log__sink", _print_on_main_process if self.verbose else print
        )
        if accelerator.device_placement:
            kwargs["device"] = None
        return kwargs

    def _rng_devices(self):
        # Accelerate may place the module on any visible GPU.
        return list(range(torch.cuda.device_count()))

    def __reduce_ex__(self, protocol):
        if not vars(type(self)).get("_made_by_accelerated", False):
            return super().__reduce_ex__(protocol)
        # Classes made by accelerated() are not module attributes; rebuild
        # them from the estimator class they wrap.
        return (_new_accelerated, (type(self)._accelerated_base,), self.__getstate__())


class AcceleratedNNAQCClassifier(AcceleratedMixin, NNAQCClassifier):
    """:class:`~sknnaqc.NNAQCClassifier` trained data-parallel with Hugging Face Accelerate.

    Run the training script with ``accelerate launch --num_processes N
    script.py`` (add ``--cpu`` for CPU processes, or configure GPUs with
    ``accelerate config``); run as a plain ``python script.py`` it trains on
    one process, like ``NNAQCClassifier``. Each process trains a replica of
    the network and of the noise model ``W`` on its share of every epoch's
    mini-batches; gradients are averaged across processes after every step
    (PyTorch ``DistributedDataParallel``), so all replicas, ``W`` included,
    stay identical.

    Parameters
    ----------
    module : nn.Module class, instance, callable or None, default=None
        The base network returning logits.
    accelerator : accelerate.Accelerator or None, default=None
        None creates ``Accelerator(**accelerator__params)`` at fit time. For
        bf16 mixed precision pass ``accelerator__mixed_precision="bf16"``
        (or ``accelerator=Accelerator(mixed_precision="bf16")``, or
        ``accelerate launch --mixed_precision bf16``). Accelerate allows one
        mixed-precision setting per process.
    alpha, beta, class_balance, noise_dropout, noise_init_scale
        As in :class:`~sknnaqc.NNAQCClassifier` (the class-balance term
        averages each process's own batch).
    **kwargs
        Parameters common to all sknnaqc estimators and routed parameters,
        including ``accelerator__*``; ``device`` is decided by the
        accelerator.

    Attributes
    ----------
    classes_, n_features_in_, noise_matrix_, history_
        As in :class:`~sknnaqc.NNAQCClassifier` (``history_`` holds the
        losses seen by this process).
    net_ : AcceleratedNoiseAwareNet
        The trained skorch net, unwrapped from ``DistributedDataParallel``
        after training so that it pickles.

    See Also
    --------
    accelerated : The same for any sknnaqc estimator.

    Notes
    -----
    One step uses ``batch_size`` samples on each process; see
    :class:`AcceleratedMixin` for this, for collective prediction and for
    seeding.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sknnaqc.distributed import AcceleratedNNAQCClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = AcceleratedNNAQCClassifier(max_epochs=2, random_state=0).fit(X / 16.0, y)
    >>> clf.predict(X[:3] / 16.0).shape
    (3,)
    """

    def __init__(self, module=None, *, accelerator=None, alpha=0.9, beta=0.9,
                 class_balance=0.3, noise_dropout=0.0, noise_init_scale=2.0, **kwargs):
        super().__init__(
            module, accelerator=accelerator, alpha=alpha, beta=beta,
            class_balance=class_balance, noise_dropout=noise_dropout,
            noise_init_scale=noise_init_scale, **kwargs,
        )


_ACCELERATED = {NNAQCClassifier: AcceleratedNNAQCClassifier}


def accelerated(estimator_class):
    """Return the Accelerate-trained version of a sknnaqc estimator class.

    Parameters
    ----------
    estimator_class : subclass of NoiseAwareClassifier
        E.g. :class:`~sknnaqc.BaseModelClassifier` or any other sknnaqc
        estimator (also your own subclasses).

    Returns
    -------
    accelerated_class : subclass of estimator_class
        Takes the same parameters plus ``accelerator`` (see
        :class:`AcceleratedMixin`). The same class is returned on every call,
        and its fitted estimators pickle.

    Examples
    --------
    >>> from sknnaqc import BaseModelClassifier
    >>> from sknnaqc.distributed import accelerated
    >>> Accelerated = accelerated(BaseModelClassifier)
    >>> Accelerated.__name__
    'AcceleratedBaseModelClassifier'
    >>> Accelerated(max_epochs=5).get_params()["accelerator"] is None
    True
    """
    if not (isinstance(estimator_class, type)
            and issubclass(estimator_class, NoiseAwareClassifier)):
        raise TypeError(
            "accelerated() takes a sknnaqc estimator class (a subclass of "
            f"NoiseAwareClassifier), got {estimator_class!r}."
        )
    if issubclass(estimator_class, AcceleratedMixin):
        return estimator_class
    cls = _ACCELERATED.get(estimator_class)
    if cls is None:
        name = f"Accelerated{estimator_class.__name__}"
        cls = type(name, (AcceleratedMixin, estimator_class), {
            "__module__": __name__,
            "__qualname__": name,
            "__doc__": (
                f"{estimator_class.__name__} trained data-parallel with Hugging Face "
                "Accelerate; made by :func:`sknnaqc.distributed.accelerated`, see "
                ":class:`AcceleratedMixin` for the ``accelerator`` parameter."
            ),
            "_made_by_accelerated": True,
            "_accelerated_base": estimator_class,
        })
        _ACCELERATED[estimator_class] = cls
    return cls


def _new_accelerated(estimator_class):
    """Unpickling helper: an empty instance of ``accelerated(estimator_class)``."""
    cls = accelerated(estimator_class)
    return cls.__new__(cls)


for _baseline in (BaseModelClassifier, GenieAidedClassifier, TraceRegularizedClassifier,
                  DropoutNoiseLayerClassifier, BootstrappingClassifier,
                  ForwardCorrectionClassifier):
    accelerated(_baseline)
del _baseline


def set_torch_threads(n_threads):
    """Set torch's intra-op thread count in this process and return it.

    Meant for Dask workers, which run in their own processes: call it on every
    worker with ``client.run(set_torch_threads, n)`` so that the workers
    together use no more threads than there are cores, e.g.
    ``n = cores_per_machine // workers_per_machine``. Workers that start later
    (adaptive clusters, restarts) do not get it; register
    :class:`TorchThreadsPlugin` for those.

    Parameters
    ----------
    n_threads : int
        Number of threads, at least 1.

    Returns
    -------
    n_threads : int
        ``torch.get_num_threads()`` after the change.

    Examples
    --------
    >>> import torch
    >>> from sknnaqc.distributed import set_torch_threads
    >>> old = torch.get_num_threads()
    >>> set_torch_threads(1)
    1
    >>> _ = set_torch_threads(old)
    """
    if isinstance(n_threads, bool) or not isinstance(n_threads, int) or n_threads < 1:
        raise ValueError(f"n_threads must be an int >= 1, got {n_threads!r}.")
    torch.set_num_threads(n_threads)
    return torch.get_num_threads()


class TorchThreadsPlugin(WorkerPlugin):
    """Dask worker plugin that sets torch's thread count on every worker.

    ``client.register_plugin(TorchThreadsPlugin(n))`` runs
    :func:`set_torch_threads` on the workers that exist and on every worker
    that joins later.

    Parameters
    ----------
    n_threads : int, default=1
        Threads per worker process.
    """

    name = "sknnaqc-torch-threads"

    def __init__(self, n_threads=1):
        self.n_threads = n_threads

    def setup(self, worker):
        set_torch_threads(self.n_threads)
