"""Base networks (the paper's "base models") as PyTorch module factories.

Every factory returns an :class:`torch.nn.Module` whose ``forward`` maps a batch
of inputs to **logits** of shape ``(N, n_classes)`` (no softmax).  All of them
take ``n_classes`` as a keyword argument, which the sknnaqc estimators fill in
at fit time, so they can be passed directly as ``module=mnist_lenet``.

Section 4 of the paper uses:

* MNIST: MatConvNet's default MNIST LeNet (:func:`mnist_lenet`);
* CIFAR-10: MatConvNet's default CIFAR-10 LeNet (:func:`cifar_lenet`);
* CIFAR-100: a low-capacity CNN (:func:`lc_cnn`) and a 44-layer ResNet
  (:func:`cifar_resnet`);
* ImageNet: AlexNet with the first four convolutional blocks transferred and
  frozen; Clothing1M: an ImageNet-pretrained ResNet-50
  (both via :func:`torchvision_backbone`).

:class:`MLP` is a small fully connected network for tabular data and tests.
"""

from numbers import Integral

import torch
from torch import nn
from torch.nn import functional as F

__all__ = [
    "MLP",
    "cifar_lenet",
    "cifar_resnet",
    "lc_cnn",
    "mnist_lenet",
    "torchvision_backbone",
]


def _check_positive_int(value, name, minimum=1):
    if isinstance(value, bool) or not isinstance(value, Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


# ---------------------------------------------------------------------------
# LeNet-style networks from MatConvNet's examples
# ---------------------------------------------------------------------------


def mnist_lenet(n_classes=10, in_channels=1):
    """MatConvNet's default MNIST LeNet, the paper's MNIST base model.

    Architecture (MatConvNet ``cnn_mnist_init``, without batch normalisation),
    with the spatial size for a 28x28 input::

        conv 5x5, 20 filters          -> 20 x 24 x 24
        max-pool 2x2, stride 2        -> 20 x 12 x 12
        conv 5x5, 50 filters          -> 50 x 8 x 8
        max-pool 2x2, stride 2        -> 50 x 4 x 4
        conv 4x4, 500 filters, ReLU   -> 500 x 1 x 1
        conv 1x1, n_classes filters   -> n_classes x 1 x 1 -> flattened

    As in the original there is no non-linearity after the first two
    convolutions (max-pooling is the only non-linearity there).

    Parameters
    ----------
    n_classes : int, default=10
        Number of output logits.
    in_channels : int, default=1
        Number of input channels.

    Returns
    -------
    module : torch.nn.Module
        Maps float32 input of shape ``(N, in_channels, 28, 28)`` to logits of
        shape ``(N, n_classes)``.

    Notes
    -----
    The number of parameters (weights + biases) is::

        (in_channels*25*20 + 20) + (20*25*50 + 50) + (50*16*500 + 500)
            + (500*n_classes + n_classes)

    i.e. 431,080 for ``in_channels=1, n_classes=10``.

    Examples
    --------
    >>> import torch
    >>> net = mnist_lenet(n_classes=10)
    >>> net(torch.zeros(2, 1, 28, 28)).shape
    torch.Size([2, 10])
    >>> sum(p.numel() for p in net.parameters())
    431080
    """
    n_classes = _check_positive_int(n_classes, "n_classes")
    in_channels = _check_positive_int(in_channels, "in_channels")
    return nn.Sequential(
        nn.Conv2d(in_channels, 20, kernel_size=5),
        nn.MaxPool2d(kernel_size=2, stride=2),
        nn.Conv2d(20, 50, kernel_size=5),
        nn.MaxPool2d(kernel_size=2, stride=2),
        nn.Conv2d(50, 500, kernel_size=4),
        nn.ReLU(),
        nn.Conv2d(500, n_classes, kernel_size=1),
        nn.Flatten(),
    )


def cifar_lenet(n_classes=10):
    """MatConvNet's default CIFAR-10 network, the paper's CIFAR-10 base model.

    Architecture (MatConvNet ``cnn_cifar_init``, network type ``'lenet'``),
    with the spatial size for a 32x32 input::

        conv 5x5, 32 filters, pad 2         -> 32 x 32 x 32
        max-pool 3x3, stride 2              -> 32 x 16 x 16
        ReLU
        conv 5x5, 32 filters, pad 2, ReLU   -> 32 x 16 x 16
        avg-pool 3x3, stride 2              -> 32 x 8 x 8
        conv 5x5, 64 filters, pad 2, ReLU   -> 64 x 8 x 8
        avg-pool 3x3, stride 2              -> 64 x 4 x 4
        conv 4x4, 64 filters, ReLU          -> 64 x 1 x 1
        conv 1x1, n_classes filters         -> n_classes x 1 x 1 -> flattened

    Parameters
    ----------
    n_classes : int, default=10
        Number of output logits.

    Returns
    -------
    module : torch.nn.Module
        Maps float32 input of shape ``(N, 3, 32, 32)`` to logits of shape
        ``(N, n_classes)``.

    Notes
    -----
    A 3x3, stride-2 pooling without padding would shrink 32 -> 15 -> 7 -> 3
    and the 4x4 convolution would not fit.  MatConvNet pads each pooling
    layer by one row at the bottom and one column at the right
    (``'pad', [0 1 0 1]``, "emulate Caffe"), giving 32 -> 16 -> 8 -> 4.  Here
    the same windows are obtained with ``ceil_mode=True``: the extra window
    at the bottom/right edge is clipped to the image, so the max-pool ignores
    the missing row/column and the average-pool divides by the number of
    pixels actually inside the image (as Caffe does).

    The number of parameters is::

        (3*25*32 + 32) + (32*25*32 + 32) + (32*25*64 + 64) + (64*16*64 + 64)
            + (64*n_classes + n_classes)

    i.e. 145,578 for ``n_classes=10``.

    Examples
    --------
    >>> import torch
    >>> cifar_lenet(n_classes=10)(torch.zeros(2, 3, 32, 32)).shape
    torch.Size([2, 10])
    """
    n_classes = _check_positive_int(n_classes, "n_classes")
    return nn.Sequential(
        nn.Conv2d(3, 32, kernel_size=5, padding=2),
        nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
        nn.ReLU(),
        nn.Conv2d(32, 32, kernel_size=5, padding=2),
        nn.ReLU(),
        nn.AvgPool2d(kernel_size=3, stride=2, ceil_mode=True),
        nn.Conv2d(32, 64, kernel_size=5, padding=2),
        nn.ReLU(),
        nn.AvgPool2d(kernel_size=3, stride=2, ceil_mode=True),
        nn.Conv2d(64, 64, kernel_size=4),
        nn.ReLU(),
        nn.Conv2d(64, n_classes, kernel_size=1),
        nn.Flatten(),
    )


def lc_cnn(n_classes=100, channels=(64, 128), hidden=384):
    """Low-capacity CNN (LC-CNN), the paper's first CIFAR-100 base model.

    The paper only says "two conv+ReLU+max pool layers, two FC layers and a
    softmax layer"; the widths below are this library's choice::

        conv 5x5, channels[0] filters, pad 2, ReLU   -> c0 x 32 x 32
        max-pool 2x2, stride 2                        -> c0 x 16 x 16
        conv 5x5, channels[1] filters, pad 2, ReLU   -> c1 x 16 x 16
        max-pool 2x2, stride 2                        -> c1 x 8 x 8
        flatten, FC hidden, ReLU                      -> hidden
        FC n_classes                                  -> n_classes

    Parameters
    ----------
    n_classes : int, default=100
        Number of output logits.
    channels : tuple of two int, default=(64, 128)
        Number of filters of the two convolutions.
    hidden : int, default=384
        Width of the first fully connected layer.

    Returns
    -------
    module : torch.nn.Module
        Maps float32 input of shape ``(N, 3, 32, 32)`` to logits of shape
        ``(N, n_classes)``.

    Notes
    -----
    With ``c0, c1 = channels`` the number of parameters is::

        (3*25*c0 + c0) + (c0*25*c1 + c1) + (c1*64*hidden + hidden)
            + (hidden*n_classes + n_classes)

    i.e. 3,394,404 with the defaults (most of it in the first FC layer).

    Examples
    --------
    >>> import torch
    >>> lc_cnn(n_classes=100)(torch.zeros(2, 3, 32, 32)).shape
    torch.Size([2, 100])
    """
    n_classes = _check_positive_int(n_classes, "n_classes")
    hidden = _check_positive_int(hidden, "hidden")
    channels = tuple(channels)
    if len(channels) != 2:
        raise ValueError(f"channels must hold two integers, got {channels!r}")
    c0, c1 = (_check_positive_int(c, "channels[i]") for c in channels)
    return nn.Sequential(
        nn.Conv2d(3, c0, kernel_size=5, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(kernel_size=2, stride=2),
        nn.Conv2d(c0, c1, kernel_size=5, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(kernel_size=2, stride=2),
        nn.Flatten(),
        nn.Linear(c1 * 8 * 8, hidden),
        nn.ReLU(),
        nn.Linear(hidden, n_classes),
    )


# ---------------------------------------------------------------------------
# CIFAR ResNet (He et al., 2016, section 4.2)
# ---------------------------------------------------------------------------


class _BasicBlock(nn.Module):
    """Two 3x3 conv-BN layers with a shortcut (option A or B)."""

    def __init__(self, in_planes, planes, stride, shortcut):
        super().__init__()
        self.conv1 = nn.Conv2d(
            in_planes, planes, kernel_size=3, stride=stride, padding=1, bias=False
        )
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(
            planes, planes, kernel_size=3, stride=1, padding=1, bias=False
        )
        self.bn2 = nn.BatchNorm2d(planes)
        self.stride = stride
        self.downsample = None
        self.extra_channels = 0
        if stride != 1 or in_planes != planes:
            if shortcut == "B":
                self.downsample = nn.Sequential(
                    nn.Conv2d(in_planes, planes, kernel_size=1, stride=stride, bias=False),
                    nn.BatchNorm2d(planes),
                )
            else:
                self.extra_channels = planes - in_planes

    def _shortcut(self, x):
        if self.downsample is not None:
            return self.downsample(x)
        if self.extra_channels:
            # Option A: subsample spatially, zero-pad the new channels.
            x = x[:, :, :: self.stride, :: self.stride]
            half = self.extra_channels // 2
            x = F.pad(x, (0, 0, 0, 0, half, self.extra_channels - half))
        return x

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self._shortcut(x))


class _CifarResNet(nn.Module):
    def __init__(self, n_blocks, n_classes, shortcut):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, kernel_size=3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        stages = []
        in_planes = 16
        for planes, stride in ((16, 1), (32, 2), (64, 2)):
            blocks = []
            for i in range(n_blocks):
                blocks.append(
                    _BasicBlock(in_planes, planes, stride if i == 0 else 1, shortcut)
                )
                in_planes = planes
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3 = stages
        self.fc = nn.Linear(64, n_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer3(self.layer2(self.layer1(out)))
        out = F.adaptive_avg_pool2d(out, 1).flatten(1)
        return self.fc(out)


def cifar_resnet(depth=44, n_classes=100, shortcut="A"):
    """CIFAR ResNet of He et al. (2016), the paper's second CIFAR-100 model.

    A 3x3 convolution with 16 filters, then three stages of ``n`` basic
    blocks (two 3x3 conv-BN layers each) with 16, 32 and 64 filters on
    32x32, 16x16 and 8x8 maps, global average pooling and a fully connected
    layer: ``6n + 2`` weighted layers in all.  The paper uses ``depth=44``
    (``n = 7``).

    Parameters
    ----------
    depth : int, default=44
        Number of weighted layers; must be of the form ``6n + 2`` with
        ``n >= 1`` (20, 32, 44, 56, 110, ...).
    n_classes : int, default=100
        Number of output logits.
    shortcut : {"A", "B"}, default="A"
        Shortcut used where the number of channels doubles.  ``"A"`` (as in
        He et al.'s CIFAR experiments): identity on the stride-2 subsampled
        input with the new channels zero-padded, no extra parameters.
        ``"B"``: a 1x1 stride-2 convolution followed by batch normalisation.
        All other shortcuts are identities.

    Returns
    -------
    module : torch.nn.Module
        Maps float32 input of shape ``(N, 3, H, W)`` (32x32 for CIFAR) to
        logits of shape ``(N, n_classes)``.

    Raises
    ------
    ValueError
        If ``depth`` is not ``6n + 2`` for a positive integer ``n``.

    Notes
    -----
    Convolutions have no bias; each BatchNorm has ``2c`` parameters.  With
    option A the number of parameters is::

        (27*16 + 32)                                   # first conv + BN
        + n * 2 * (16*9*16 + 32)                      # stage 1
        + (16*9*32 + 64) + (32*9*32 + 64)             # first block, stage 2
        + (n - 1) * 2 * (32*9*32 + 64)
        + (32*9*64 + 128) + (64*9*64 + 128)           # first block, stage 3
        + (n - 1) * 2 * (64*9*64 + 128)
        + 64*n_classes + n_classes                    # classifier

    which is 664,436 for ``depth=44, n_classes=100``.  Option B adds
    ``(16*32 + 64) + (32*64 + 128)`` = 2,752 parameters.

    Examples
    --------
    >>> import torch
    >>> cifar_resnet(depth=20, n_classes=10)(torch.zeros(2, 3, 32, 32)).shape
    torch.Size([2, 10])
    """
    if (
        isinstance(depth, bool)
        or not isinstance(depth, Integral)
        or depth < 8
        or (depth - 2) % 6
    ):
        raise ValueError(
            "depth must be of the form 6n + 2 with n >= 1 (e.g. 20, 32, 44, 56, 110), "
            f"got {depth!r}"
        )
    n_classes = _check_positive_int(n_classes, "n_classes")
    if shortcut not in ("A", "B"):
        raise ValueError(f"shortcut must be 'A' or 'B', got {shortcut!r}")
    return _CifarResNet((int(depth) - 2) // 6, n_classes, shortcut)


# ---------------------------------------------------------------------------
# MLP
# ---------------------------------------------------------------------------


class MLP(nn.Module):
    """Fully connected network for tabular data (and fast tests).

    ``Linear -> ReLU (-> Dropout)`` for each hidden layer, then a final
    ``Linear`` to ``n_classes`` logits.

    Parameters
    ----------
    n_features : int
        Number of input features.  Inputs of shape ``(N, d1, d2, ...)`` are
        flattened, so ``n_features`` must equal ``d1 * d2 * ...``.
    n_classes : int
        Number of output logits.
    hidden : tuple of int, default=(128,)
        Widths of the hidden layers; ``()`` gives multinomial logistic
        regression.
    dropout : float, default=0.0
        Dropout probability after each hidden layer, in ``[0, 1)``.

    Examples
    --------
    >>> import torch
    >>> MLP(n_features=4, n_classes=3)(torch.zeros(5, 4)).shape
    torch.Size([5, 3])
    """

    def __init__(self, n_features, n_classes, hidden=(128,), dropout=0.0):
        super().__init__()
        n_features = _check_positive_int(n_features, "n_features")
        n_classes = _check_positive_int(n_classes, "n_classes")
        if isinstance(hidden, Integral):
            hidden = (hidden,)
        hidden = tuple(_check_positive_int(h, "each hidden width") for h in hidden)
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
        self.n_features = n_features
        self.n_classes = n_classes
        layers = []
        width = n_features
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            if dropout > 0:
                layers.append(nn.Dropout(float(dropout)))
            width = h
        layers.append(nn.Linear(width, n_classes))
        self.layers = nn.Sequential(*layers)

    def forward(self, X):
        """Compute logits.

        Parameters
        ----------
        X : torch.Tensor of shape (N, n_features) or (N, ...)
            Input batch; any trailing dimensions are flattened.

        Returns
        -------
        logits : torch.Tensor of shape (N, n_classes)
        """
        X = X.reshape(X.shape[0], -1)
        if X.dtype != self.layers[0].weight.dtype:
            X = X.to(self.layers[0].weight.dtype)
        return self.layers(X)


# ---------------------------------------------------------------------------
# torchvision backbones
# ---------------------------------------------------------------------------

# Auxiliary classifiers of GoogLeNet / Inception-v3, disabled here.
_AUX_PREFIXES = ("AuxLogits.", "aux1.", "aux2.")


def _available_models():
    import torchvision.models

    return torchvision.models.list_models(module=torchvision.models)


def _find_head(model):
    """Return ``(parent, key, qualified_name)`` of the final Linear layer."""
    if isinstance(getattr(model, "fc", None), nn.Linear):
        return model, "fc", "fc"
    classifier = getattr(model, "classifier", None)
    if isinstance(classifier, nn.Linear):
        return model, "classifier", "classifier"
    if isinstance(classifier, nn.Sequential) and isinstance(classifier[-1], nn.Linear):
        key = str(len(classifier) - 1)
        return classifier, key, f"classifier.{key}"
    # Generic fallback: the last Linear layer registered in the model.
    last = None
    for qualname, module in model.named_modules():
        if isinstance(module, nn.Linear):
            last = qualname
    if last is None:
        return None
    parent_name, _, key = last.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    return parent, key, last


def _freeze_blocks(model, head_name):
    """Split ``model`` into the ordered blocks that ``freeze`` counts."""
    names = dict(model.named_children())
    if all(k in names for k in ("conv1", "bn1", "layer1", "layer4")):
        # ResNet family: stem, then the four stages.
        return [
            [model.conv1, model.bn1],
            [model.layer1],
            [model.layer2],
            [model.layer3],
            [model.layer4],
        ]
    features = getattr(model, "features", None)
    if isinstance(features, nn.Sequential) and any(
        isinstance(m, nn.Conv2d) for m in features.children()
    ) and all(
        isinstance(m, (nn.Conv2d, nn.BatchNorm2d, nn.ReLU, nn.MaxPool2d))
        for m in features.children()
    ):
        # AlexNet / VGG: each convolution starts a new block that also holds
        # the following BatchNorm, ReLU and max-pooling layers.
        blocks = []
        for m in features.children():
            if isinstance(m, nn.Conv2d) or not blocks:
                blocks.append([])
            blocks[-1].append(m)
        return blocks
    if isinstance(features, nn.Sequential):
        return [[m] for m in features.children() if any(True for _ in m.parameters())]
    head_root = head_name.split(".")[0]
    return [
        [m]
        for name, m in model.named_children()
        if name != head_root and any(True for _ in m.parameters())
    ]


class _KeepInEval:
    """Forward pre-hook that puts frozen blocks back in eval mode.

    The estimators switch the whole network to training mode before every
    batch; this runs after that, just before the forward pass. A module-level
    class so that the network still pickles and deep-copies.
    """

    def __init__(self, modules):
        self.modules = modules

    def __call__(self, model, args):
        for module in self.modules:
            if module.training:
                module.eval()


def _read_state_dict(weights_path):
    import os

    path = os.fspath(weights_path)
    if not os.path.isfile(path):
        raise FileNotFoundError(path)
    state = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(state, dict):
        for key in ("state_dict", "model_state_dict", "model"):
            if isinstance(state.get(key), dict):
                state = state[key]
                break
    if not isinstance(state, dict) or not all(
        isinstance(v, torch.Tensor) for v in state.values()
    ):
        raise ValueError(
            f"{path!r} does not hold a state_dict (a dict of tensors, as written "
            "by torch.save(model.state_dict(), path))"
        )
    if state and all(k.startswith("module.") for k in state):
        state = {k[len("module."):]: v for k, v in state.items()}
    return state


def torchvision_backbone(name="resnet50", *, n_classes=1000, weights_path=None, freeze=0,
                         frozen_eval=False):
    """A ``torchvision.models`` architecture with a new ``n_classes`` head.

    The model is built with ``weights=None``: nothing is ever downloaded.
    Pretrained weights are read from a local file instead.

    Parameters
    ----------
    name : str, default="resnet50"
        Any classification model of ``torchvision.models``, e.g.
        ``"resnet18"``, ``"resnet50"``, ``"alexnet"``, ``"vgg16"``,
        ``"densenet121"``, ``"mobilenet_v3_small"``.  The paper uses
        ``"alexnet"`` (ImageNet) and ``"resnet50"`` (Clothing1M).
    n_classes : int, default=1000
        Number of output logits of the new classification head.
    weights_path : str or path-like, default=None
        Local file written by ``torch.save(model.state_dict(), path)`` (a
        checkpoint dict with a ``"state_dict"`` key and ``"module."``
        prefixes from DataParallel are also accepted).  All weights are
        loaded except the head's when its shape differs from the new head
        (e.g. 1000 ImageNet classes saved, ``n_classes=14`` wanted): the new
        head is then randomly initialised.  Every other tensor must match.
    freeze : int, default=0
        Number of leading blocks whose parameters get
        ``requires_grad=False``.  Blocks are, for ResNets: ``conv1 + bn1``,
        then ``layer1`` ... ``layer4`` (up to 5); for AlexNet and VGG: each
        convolution of ``.features`` together with the BatchNorm, ReLU and
        max-pooling layers that follow it (5 blocks for AlexNet, so the
        paper's setting is ``freeze=4``); for other models with a
        ``.features`` ``Sequential``: its children that have parameters;
        otherwise the model's top-level children that have parameters,
        head excluded.  The new head is never frozen.
    frozen_eval : bool, default=False
        If True, the frozen blocks stay in eval mode even while the network
        trains: their BatchNorm layers normalise with, and keep, the loaded
        running statistics, and their dropout is off.  If False, only their
        parameters are frozen (see Notes).

    Returns
    -------
    module : torch.nn.Module
        The torchvision model; for ImageNet-style models input is float32
        ``(N, 3, H, W)`` (224x224 usually; ResNets accept any size >= 32)
        and output is logits ``(N, n_classes)``.

    Raises
    ------
    ValueError
        If ``name`` is not a torchvision classification model, ``freeze`` is
        out of range, the model has no final ``Linear`` layer to replace, or
        the weights file does not fit the architecture.
    FileNotFoundError
        If ``weights_path`` is given but does not exist.

    Notes
    -----
    By default freezing sets ``requires_grad=False`` only.  BatchNorm layers
    inside frozen blocks then still update their running statistics in
    training mode, and the estimators put the whole network in training mode
    for every batch, so calling ``.eval()`` on them beforehand does not keep
    them fixed; pass ``frozen_eval=True`` if the statistics must not change.
    It registers a forward pre-hook that switches the frozen blocks back to
    eval mode before every forward pass.

    GoogLeNet and Inception-v3 are built without their auxiliary
    classifiers so that ``forward`` returns a single tensor; auxiliary
    weights found in a weights file are ignored.

    To get ImageNet weights, on a machine with internet access run e.g.
    ``torch.save(torchvision.models.resnet50(weights="DEFAULT").state_dict(),
    "resnet50.pth")`` and copy the file over.

    Examples
    --------
    >>> import torch
    >>> net = torchvision_backbone("resnet18", n_classes=3, freeze=2)
    >>> net(torch.zeros(2, 3, 64, 64)).shape
    torch.Size([2, 3])
    >>> net.conv1.weight.requires_grad, net.layer2[0].conv1.weight.requires_grad
    (False, True)
    """
    import torchvision.models

    available = _available_models()
    if name not in available:
        examples = ", ".join(
            repr(n)
            for n in ("resnet18", "resnet50", "alexnet", "vgg16", "densenet121",
                      "mobilenet_v3_small", "efficientnet_b0", "vit_b_16")
            if n in available
        )
        raise ValueError(
            f"unknown torchvision model name {name!r}; valid names include {examples} "
            "(see torchvision.models.list_models())"
        )
    n_classes = _check_positive_int(n_classes, "n_classes")
    if isinstance(freeze, bool) or not isinstance(freeze, Integral) or freeze < 0:
        raise ValueError(f"freeze must be a non-negative integer, got {freeze!r}")
    if not isinstance(frozen_eval, bool):
        raise ValueError(f"frozen_eval must be True or False, got {frozen_eval!r}")

    kwargs = {}
    if name in ("googlenet", "inception_v3"):
        kwargs = {"aux_logits": False, "init_weights": True}
    model = torchvision.models.get_model(name, weights=None, **kwargs)

    head = _find_head(model)
    if head is None:
        raise ValueError(
            f"cannot find a final nn.Linear classification layer in {name!r}; "
            "build the model yourself and replace its head"
        )
    parent, key, head_name = head
    old = getattr(parent, key) if not key.isdigit() else parent[int(key)]
    new = nn.Linear(old.in_features, n_classes, bias=old.bias is not None)
    if key.isdigit():
        parent[int(key)] = new
    else:
        setattr(parent, key, new)

    if weights_path is not None:
        try:
            state = _read_state_dict(weights_path)
        except FileNotFoundError:
            raise FileNotFoundError(
                f"weights file {str(weights_path)!r} not found. sknnaqc never "
                f"downloads weights: download the {name!r} weights yourself (for "
                f"example torch.save(torchvision.models.get_model({name!r}, "
                "weights='DEFAULT').state_dict(), path) on a machine with "
                "internet access) and pass the local path as weights_path"
            ) from None
        own = model.state_dict()
        head_prefix = head_name + "."
        state = {
            k: v
            for k, v in state.items()
            if not k.startswith(_AUX_PREFIXES)
            and not (k.startswith(head_prefix) and k in own and v.shape != own[k].shape)
        }
        mismatched = [
            f"{k}: file {tuple(v.shape)} vs model {tuple(own[k].shape)}"
            for k, v in state.items()
            if k in own and v.shape != own[k].shape
        ]
        unexpected = [k for k in state if k not in own]
        # Old checkpoints lack BatchNorm's num_batches_tracked counters.
        missing = [
            k
            for k in own
            if k not in state
            and not k.startswith(head_prefix)
            and not k.endswith("num_batches_tracked")
        ]
        if mismatched or unexpected or missing:
            details = "; ".join(
                f"{label}: {', '.join(items[:5])}{' ...' if len(items) > 5 else ''}"
                for label, items in (
                    ("shape mismatch", mismatched),
                    ("unexpected keys", unexpected),
                    ("missing keys", missing),
                )
                if items
            )
            raise ValueError(
                f"weights file {str(weights_path)!r} does not fit torchvision "
                f"model {name!r} ({details})"
            )
        model.load_state_dict(state, strict=False)

    if freeze:
        blocks = _freeze_blocks(model, head_name)
        if freeze > len(blocks):
            raise ValueError(
                f"freeze must be in [0, {len(blocks)}] for {name!r}, got {freeze}"
            )
        for block in blocks[:freeze]:
            for module in block:
                for param in module.parameters():
                    param.requires_grad_(False)
        # The head is always trainable, even if a generic block contained it.
        for param in new.parameters():
            param.requires_grad_(True)
        if frozen_eval:
            frozen = [module for block in blocks[:freeze] for module in block]
            model.register_forward_pre_hook(_KeepInEval(frozen))
    return model
