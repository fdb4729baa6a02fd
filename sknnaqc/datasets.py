"""Loaders for the image datasets used in the paper, from local files only.

Nothing here downloads anything.  Array loaders return ``(X, y)`` with
``X`` float32 of shape ``(N, C, H, W)`` and ``y`` int64 of shape ``(N,)``,
ready for the sknnaqc estimators.  For folders of images too large for
memory, :func:`image_folder_dataset` returns a lazily loading
``torch.utils.data.Dataset`` and :class:`TargetOverrideDataset` swaps in
(noisy) labels.
"""

import gzip
import os
import pickle
from numbers import Integral
from pathlib import Path

import numpy as np
from torch.utils.data import Dataset

__all__ = [
    "TargetOverrideDataset",
    "image_folder_dataset",
    "load_cifar10",
    "load_cifar100",
    "load_digits_images",
    "load_fashion_mnist",
    "load_mnist",
    "read_idx",
]

FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"

# IDX type codes -> big-endian numpy dtypes.
_IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

_SUBSETS = ("train", "test", "all")


def _check_subset(subset):
    if subset not in _SUBSETS:
        raise ValueError(f"subset must be one of {_SUBSETS}, got {subset!r}")


def read_idx(path):
    """Read an IDX file (the MNIST / Fashion-MNIST format) into an array.

    Parameters
    ----------
    path : str or path-like
        File to read; gzip-compressed when its name ends in ``.gz``.

    Returns
    -------
    array : numpy.ndarray
        Array with the shape and type stored in the header, in native byte
        order: uint8 ``(N, 28, 28)`` for MNIST images, uint8 ``(N,)`` for
        labels.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the magic number is invalid or the file is truncated or too long.

    Notes
    -----
    The header is a 4-byte magic number ``0x00 0x00 <type> <ndim>`` followed
    by ``ndim`` big-endian uint32 sizes, then the data in C order.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4:
        raise ValueError(f"{str(path)!r} is not an IDX file: it is shorter than 4 bytes")
    zero1, zero2, type_code, ndim = raw[:4]
    if zero1 != 0 or zero2 != 0 or type_code not in _IDX_DTYPES or ndim == 0:
        raise ValueError(
            f"{str(path)!r} is not an IDX file: bad magic number 0x{raw[:4].hex()} "
            "(expected 0x0000 followed by a type code in "
            f"{{{', '.join(f'0x{c:02x}' for c in _IDX_DTYPES)}}} and a non-zero "
            "number of dimensions, e.g. 0x00000803 for images, 0x00000801 for labels)"
        )
    header_end = 4 + 4 * ndim
    if len(raw) < header_end:
        raise ValueError(f"{str(path)!r} is truncated: incomplete IDX header")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = _IDX_DTYPES[type_code]
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header_end != expected:
        raise ValueError(
            f"{str(path)!r} holds {len(raw) - header_end} data bytes, but its header "
            f"announces shape {shape} of {dtype.name} ({expected} bytes)"
        )
    data = np.frombuffer(raw, dtype=dtype, offset=header_end).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


def _find_idx(data_dir, stem, how_to_get):
    for candidate in (Path(data_dir) / f"{stem}.gz", Path(data_dir) / stem):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"{stem}.gz (or {stem}) not found in {str(data_dir)!r}. {how_to_get}"
    )


def _load_idx_pair(data_dir, prefix, how_to_get):
    images = read_idx(_find_idx(data_dir, f"{prefix}-images-idx3-ubyte", how_to_get))
    labels = read_idx(_find_idx(data_dir, f"{prefix}-labels-idx1-ubyte", how_to_get))
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(
            f"{prefix} files in {str(data_dir)!r} do not match: images "
            f"{images.shape}, labels {labels.shape}"
        )
    return images, labels


def _load_idx_dataset(data_dir, subset, normalize, how_to_get):
    _check_subset(subset)
    if not Path(data_dir).is_dir():
        raise FileNotFoundError(f"data directory {str(data_dir)!r} not found. {how_to_get}")
    prefixes = {"train": ["train"], "test": ["t10k"], "all": ["train", "t10k"]}[subset]
    pairs = [_load_idx_pair(data_dir, p, how_to_get) for p in prefixes]
    images = np.concatenate([p[0] for p in pairs])
    labels = np.concatenate([p[1] for p in pairs])
    X = images[:, None, :, :].astype(np.float32)
    if normalize:
        X /= 255.0
    return X, labels.astype(np.int64)


_LOADER_DOC = """
    Parameters
    ----------
    data_dir : str or path-like, default={default}
        Folder holding ``train-images-idx3-ubyte``,
        ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte`` and
        ``t10k-labels-idx1-ubyte``, each gzip-compressed (``.gz``) or raw.
    subset : {{"train", "test", "all"}}, default="train"
        The 60,000 training images, the 10,000 test images, or both (training
        first).
    normalize : bool, default=True
        Scale pixels to ``[0, 1]``; otherwise keep the values 0..255 (still
        float32).

    Returns
    -------
    X : numpy.ndarray of shape (N, 1, 28, 28), dtype float32
        Images.
    y : numpy.ndarray of shape (N,), dtype int64
        Labels in ``0..9``.

    Raises
    ------
    FileNotFoundError
        If ``data_dir`` or one of the needed files is missing; the message
        names the file and says how to get it.
"""


def load_fashion_mnist(data_dir=FASHION_MNIST_DIR, *, subset="train", normalize=True):
    how_to_get = (
        "On Debian/Ubuntu run `apt-get install dataset-fashion-mnist` (it installs "
        f"the four .gz files into {FASHION_MNIST_DIR}); otherwise download them by "
        "hand from https://github.com/zalandoresearch/fashion-mnist (data/fashion) "
        "into data_dir."
    )
    return _load_idx_dataset(data_dir, subset, normalize, how_to_get)


load_fashion_mnist.__doc__ = (
    """Load Fashion-MNIST (Zalando article images, 10 classes) from IDX files.
"""
    + _LOADER_DOC.format(default=repr(FASHION_MNIST_DIR))
    + """
    Examples
    --------
    >>> X, y = load_fashion_mnist(subset="test")  # doctest: +SKIP
    >>> X.shape, y.shape  # doctest: +SKIP
    ((10000, 1, 28, 28), (10000,))
"""
)


def load_mnist(data_dir, *, subset="train", normalize=True):
    how_to_get = (
        "Download the four MNIST IDX files (train-images-idx3-ubyte.gz, "
        "train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, "
        "t10k-labels-idx1-ubyte.gz) by hand into data_dir; sknnaqc never "
        "downloads data."
    )
    return _load_idx_dataset(data_dir, subset, normalize, how_to_get)


load_mnist.__doc__ = (
    """Load MNIST (handwritten digits, 10 classes) from IDX files.
"""
    + _LOADER_DOC.format(default="no default")
)


# ---------------------------------------------------------------------------
# CIFAR
# ---------------------------------------------------------------------------


def _cifar_folder(data_dir, folder_name, first_file, how_to_get):
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise FileNotFoundError(f"data directory {str(data_dir)!r} not found. {how_to_get}")
    if (data_dir / first_file).is_file() or not (data_dir / folder_name).is_dir():
        return data_dir
    return data_dir / folder_name


def _read_cifar_batch(path, label_key, how_to_get):
    if not path.is_file():
        raise FileNotFoundError(f"{path.name} not found in {str(path.parent)!r}. {how_to_get}")
    with open(path, "rb") as f:
        batch = pickle.load(f, encoding="bytes")
    batch = {k.decode() if isinstance(k, bytes) else k: v for k, v in batch.items()}
    if "data" not in batch or label_key not in batch:
        raise ValueError(
            f"{str(path)!r} is not a CIFAR python batch: expected keys 'data' and "
            f"{label_key!r}, got {sorted(batch)}"
        )
    data = np.asarray(batch["data"], dtype=np.uint8)
    labels = np.asarray(batch[label_key], dtype=np.int64)
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(data) != len(labels):
        raise ValueError(
            f"{str(path)!r} has data of shape {data.shape} and {len(labels)} labels; "
            "expected (N, 3072) and N labels"
        )
    return data, labels


def _cifar_arrays(batches):
    data = np.concatenate([b[0] for b in batches])
    labels = np.concatenate([b[1] for b in batches])
    X = data.reshape(-1, 3, 32, 32).astype(np.float32) / 255.0
    return X, labels


_CIFAR_RETURNS = """
    Returns
    -------
    X : numpy.ndarray of shape (N, 3, 32, 32), dtype float32
        Images scaled to ``[0, 1]``, channels first (RGB).
    y : numpy.ndarray of shape (N,), dtype int64
        Labels.

    Raises
    ------
    FileNotFoundError
        If ``data_dir`` or a batch file is missing; the message names the
        file and says how to get it.

    Notes
    -----
    The batches are Python pickles: only load files from a source you trust.
"""


def load_cifar10(data_dir, *, subset="train"):
    how_to_get = (
        "Download cifar-10-python.tar.gz by hand from "
        "https://www.cs.toronto.edu/~kriz/cifar.html and extract it into data_dir "
        "(it creates cifar-10-batches-py/); sknnaqc never downloads data."
    )
    _check_subset(subset)
    root = _cifar_folder(data_dir, "cifar-10-batches-py", "data_batch_1", how_to_get)
    names = {
        "train": [f"data_batch_{i}" for i in range(1, 6)],
        "test": ["test_batch"],
        "all": [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"],
    }[subset]
    return _cifar_arrays([_read_cifar_batch(root / n, "labels", how_to_get) for n in names])


load_cifar10.__doc__ = (
    """Load CIFAR-10 (10 classes, 50,000 train / 10,000 test) from its python batches.

    Parameters
    ----------
    data_dir : str or path-like
        The extracted ``cifar-10-batches-py`` folder (holding ``data_batch_1``
        ... ``data_batch_5`` and ``test_batch``) or the folder containing it.
    subset : {"train", "test", "all"}, default="train"
        Training batches, test batch, or both (training first).
"""
    + _CIFAR_RETURNS
)


def load_cifar100(data_dir, *, subset="train", label_mode="fine"):
    how_to_get = (
        "Download cifar-100-python.tar.gz by hand from "
        "https://www.cs.toronto.edu/~kriz/cifar.html and extract it into data_dir "
        "(it creates cifar-100-python/); sknnaqc never downloads data."
    )
    _check_subset(subset)
    if label_mode not in ("fine", "coarse"):
        raise ValueError(f"label_mode must be 'fine' or 'coarse', got {label_mode!r}")
    root = _cifar_folder(data_dir, "cifar-100-python", "train", how_to_get)
    names = {"train": ["train"], "test": ["test"], "all": ["train", "test"]}[subset]
    key = f"{label_mode}_labels"
    return _cifar_arrays([_read_cifar_batch(root / n, key, how_to_get) for n in names])


load_cifar100.__doc__ = (
    """Load CIFAR-100 (50,000 train / 10,000 test) from its python files.

    Parameters
    ----------
    data_dir : str or path-like
        The extracted ``cifar-100-python`` folder (holding ``train`` and
        ``test``) or the folder containing it.
    subset : {"train", "test", "all"}, default="train"
        Training file, test file, or both (training first).
    label_mode : {"fine", "coarse"}, default="fine"
        The 100 fine classes or the 20 coarse superclasses.
"""
    + _CIFAR_RETURNS
)


def load_digits_images():
    """scikit-learn's 8x8 digits as images, handy for fast CNN tests.

    Returns
    -------
    X : numpy.ndarray of shape (1797, 1, 8, 8), dtype float32
        Images scaled from 0..16 to ``[0, 1]``.
    y : numpy.ndarray of shape (1797,), dtype int64
        Labels in ``0..9``.

    Examples
    --------
    >>> X, y = load_digits_images()
    >>> X.shape, X.dtype, y.dtype
    ((1797, 1, 8, 8), dtype('float32'), dtype('int64'))
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    X = (digits.images[:, None, :, :] / 16.0).astype(np.float32)
    return X, digits.target.astype(np.int64)


# ---------------------------------------------------------------------------
# Image folders (lazy, torch Datasets)
# ---------------------------------------------------------------------------

_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


def image_folder_dataset(root, *, train=True, image_size=224, augment=True):
    """A ``torchvision.datasets.ImageFolder`` with standard ImageNet transforms.

    ``root`` must hold one sub-folder per class (``root/<class>/<image>``);
    classes are numbered ``0..L-1`` in sorted folder-name order.  Images are
    read from disk lazily, one per item, so the folder may be larger than
    memory.

    Parameters
    ----------
    root : str or path-like
        Folder with one sub-folder per class.
    train : bool, default=True
        Training transforms (with augmentation when ``augment``) or
        evaluation transforms.
    image_size : int, default=224
        Side of the square output images.
    augment : bool, default=True
        For training: ``RandomResizedCrop(image_size)`` and a random
        horizontal flip.  Without augmentation, and for evaluation:
        ``Resize(round(image_size * 256 / 224))`` then
        ``CenterCrop(image_size)``.

    Returns
    -------
    dataset : torchvision.datasets.ImageFolder
        Items are ``(image, label)`` with ``image`` a float32 tensor of shape
        ``(3, image_size, image_size)``, normalised with the ImageNet mean
        and standard deviation, and ``label`` an int; ``.targets`` and
        ``.classes`` are set.

    Raises
    ------
    FileNotFoundError
        If ``root`` is not a folder (or holds no class folder with images).

    See Also
    --------
    TargetOverrideDataset : train on other (e.g. noisy) labels.
    """
    from torchvision import datasets, transforms

    if isinstance(image_size, bool) or not isinstance(image_size, Integral) or image_size < 1:
        raise ValueError(f"image_size must be a positive integer, got {image_size!r}")
    if not Path(root).is_dir():
        raise FileNotFoundError(
            f"image folder {str(root)!r} not found; it must hold one sub-folder per "
            "class with the images inside"
        )
    if train and augment:
        geometry = [
            transforms.RandomResizedCrop(image_size),
            transforms.RandomHorizontalFlip(),
        ]
    else:
        geometry = [
            transforms.Resize(round(image_size * 256 / 224)),
            transforms.CenterCrop(image_size),
        ]
    transform = transforms.Compose(
        geometry
        + [
            transforms.ToTensor(),
            transforms.Normalize(_IMAGENET_MEAN, _IMAGENET_STD),
        ]
    )
    # ImageFolder opens images with PIL and converts them to RGB.
    return datasets.ImageFolder(os.fspath(root), transform=transform)


class TargetOverrideDataset(Dataset):
    """Wrap a dataset of ``(x, label)`` items and replace the labels.

    Use it to train on corrupted labels (e.g. from a noise simulator) while
    streaming the images of an :func:`image_folder_dataset`.

    Parameters
    ----------
    dataset : torch.utils.data.Dataset
        Map-style dataset whose items are ``(x, label)`` (or ``x`` alone).
    targets : array-like of int, shape (len(dataset),)
        Labels returned instead of the dataset's own, in ``0..L-1``.

    Attributes
    ----------
    dataset : torch.utils.data.Dataset
        The wrapped dataset.
    targets : numpy.ndarray of shape (len(dataset),), dtype int64
        The replacement labels.
    classes : list of str
        Class names, copied from ``dataset.classes`` when it has them.
    class_to_idx : dict
        Copied from ``dataset.class_to_idx`` when it has it.

    Examples
    --------
    >>> import torch
    >>> from torch.utils.data import TensorDataset
    >>> base = TensorDataset(torch.zeros(3, 2), torch.tensor([0, 1, 1]))
    >>> noisy = TargetOverrideDataset(base, [1, 1, 0])
    >>> noisy[2][1], len(noisy)
    (0, 3)
    """

    def __init__(self, dataset, targets):
        targets = np.asarray(targets)
        if targets.ndim != 1 or len(targets) != len(dataset):
            raise ValueError(
                f"targets must be 1-D with one label per item ({len(dataset)}), "
                f"got shape {targets.shape}"
            )
        if targets.size and not np.issubdtype(targets.dtype, np.integer):
            if not np.issubdtype(targets.dtype, np.floating) or np.any(
                targets != np.round(targets)
            ):
                raise ValueError(
                    f"targets must be integer class indices, got dtype {targets.dtype}"
                )
        targets = targets.astype(np.int64)
        if targets.size and targets.min() < 0:
            raise ValueError(f"targets must be >= 0, got {targets.min()}")
        if hasattr(dataset, "classes"):
            self.classes = list(dataset.classes)
            if targets.size and targets.max() >= len(self.classes):
                raise ValueError(
                    f"targets must be in [0, {len(self.classes) - 1}] for a dataset "
                    f"with {len(self.classes)} classes, got {targets.max()}"
                )
        if hasattr(dataset, "class_to_idx"):
            self.class_to_idx = dict(dataset.class_to_idx)
        self.dataset = dataset
        self.targets = targets

    def __len__(self):
        return len(self.targets)

    def __getitem__(self, index):
        item = self.dataset[index]
        x = item[0] if isinstance(item, (tuple, list)) else item
        return x, int(self.targets[index])
