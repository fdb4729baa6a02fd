"""Tests for sknnaqc.datasets, on small synthetic files (and real ones if present)."""

import gzip
import os
import pickle
import struct

import numpy as np
import pytest
import torch

from sknnaqc.datasets import (
    TargetOverrideDataset,
    image_folder_dataset,
    load_cifar10,
    load_cifar100,
    load_digits_images,
    load_fashion_mnist,
    load_mnist,
    read_idx,
)

FASHION_DIR = "/usr/share/datasets/fashion-mnist"


def write_idx(path, array, type_code=0x08, compress=None):
    array = np.asarray(array)
    dtype = {0x08: ">u1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4"}[type_code]
    header = bytes([0, 0, type_code, array.ndim]) + struct.pack(
        f">{array.ndim}I", *array.shape
    )
    payload = header + array.astype(dtype).tobytes()
    if compress is None:
        compress = str(path).endswith(".gz")
    with (gzip.open if compress else open)(path, "wb") as f:
        f.write(payload)


def make_idx_dir(directory, n_train=5, n_test=3, gz=True, seed=0):
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if gz else ""
    data = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n, dtype=np.uint8)
        write_idx(directory / f"{prefix}-images-idx3-ubyte{suffix}", images)
        write_idx(directory / f"{prefix}-labels-idx1-ubyte{suffix}", labels)
        data[prefix] = (images, labels)
    return data


# ---------------------------------------------------------------- IDX


@pytest.mark.parametrize("name", ["images.idx", "images.idx.gz"])
def test_read_idx_roundtrip(tmp_path, name):
    images = np.random.default_rng(1).integers(0, 256, (4, 28, 28), dtype=np.uint8)
    write_idx(tmp_path / name, images)
    out = read_idx(tmp_path / name)
    assert out.dtype == np.uint8 and out.shape == (4, 28, 28)
    np.testing.assert_array_equal(out, images)


def test_read_idx_other_types(tmp_path):
    values = np.array([[1, -2, 300], [4, 5, -6]])
    write_idx(tmp_path / "a.idx", values, type_code=0x0C)
    out = read_idx(tmp_path / "a.idx")
    assert out.dtype == np.int32 and out.dtype.isnative
    np.testing.assert_array_equal(out, values)
    floats = np.array([0.5, -1.25], dtype=np.float32)
    write_idx(tmp_path / "f.idx", floats, type_code=0x0D)
    np.testing.assert_array_equal(read_idx(tmp_path / "f.idx"), floats)


@pytest.mark.parametrize(
    "header", [b"\x01\x00\x08\x01", b"\x00\x00\x07\x01", b"\x00\x00\x08\x00", b"PK\x03\x04"]
)
def test_read_idx_bad_magic(tmp_path, header):
    (tmp_path / "bad.idx").write_bytes(header + struct.pack(">I", 2) + b"\x00\x01")
    with pytest.raises(ValueError, match="magic number"):
        read_idx(tmp_path / "bad.idx")


def test_read_idx_wrong_length(tmp_path):
    (tmp_path / "short.idx").write_bytes(b"\x00\x00\x08\x01" + struct.pack(">I", 5) + b"ab")
    with pytest.raises(ValueError, match="shape"):
        read_idx(tmp_path / "short.idx")


def test_read_idx_missing(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "absent.idx")


@pytest.mark.parametrize("gz", [True, False])
@pytest.mark.parametrize("loader", [load_mnist, load_fashion_mnist])
def test_load_idx_dataset(tmp_path, gz, loader):
    data = make_idx_dir(tmp_path, gz=gz)
    X, y = loader(tmp_path)
    assert X.shape == (5, 1, 28, 28) and X.dtype == np.float32
    assert y.shape == (5,) and y.dtype == np.int64
    np.testing.assert_allclose(X[:, 0], data["train"][0] / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(y, data["train"][1])
    assert 0.0 <= X.min() and X.max() <= 1.0

    X_test, y_test = loader(tmp_path, subset="test")
    np.testing.assert_array_equal(y_test, data["t10k"][1])
    X_all, y_all = loader(tmp_path, subset="all", normalize=False)
    assert X_all.shape == (8, 1, 28, 28) and X_all.dtype == np.float32
    np.testing.assert_array_equal(X_all[5:, 0], data["t10k"][0])


def test_load_idx_prefers_either_format(tmp_path):
    # training files compressed, test files raw
    data = make_idx_dir(tmp_path, gz=True)
    for stem in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        gz = tmp_path / f"{stem}.gz"
        (tmp_path / stem).write_bytes(gzip.decompress(gz.read_bytes()))
        gz.unlink()
    _, y = load_mnist(tmp_path, subset="all")
    np.testing.assert_array_equal(y, np.concatenate([data["train"][1], data["t10k"][1]]))


def test_load_idx_missing_file_message(tmp_path):
    make_idx_dir(tmp_path)
    (tmp_path / "train-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(FileNotFoundError, match="train-labels-idx1-ubyte") as excinfo:
        load_fashion_mnist(tmp_path)
    assert "apt-get install dataset-fashion-mnist" in str(excinfo.value)
    with pytest.raises(FileNotFoundError, match="train-labels-idx1-ubyte") as excinfo:
        load_mnist(tmp_path)
    assert "by hand" in str(excinfo.value)
    # the test subset is still complete
    assert load_mnist(tmp_path, subset="test")[0].shape == (3, 1, 28, 28)


def test_load_idx_missing_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="no_such_dir"):
        load_fashion_mnist(tmp_path / "no_such_dir")


def test_load_idx_bad_subset(tmp_path):
    make_idx_dir(tmp_path)
    with pytest.raises(ValueError, match="subset"):
        load_mnist(tmp_path, subset="valid")


def test_load_idx_mismatched_lengths(tmp_path):
    make_idx_dir(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(2, dtype=np.uint8))
    with pytest.raises(ValueError, match="do not match"):
        load_mnist(tmp_path)


@pytest.mark.skipif(not os.path.isdir(FASHION_DIR), reason="Fashion-MNIST not installed")
def test_real_fashion_mnist():
    X, y = load_fashion_mnist()
    assert X.shape == (60000, 1, 28, 28) and X.dtype == np.float32
    assert y.shape == (60000,) and y.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 1.0
    np.testing.assert_array_equal(np.bincount(y), np.full(10, 6000))
    X_test, y_test = load_fashion_mnist(subset="test")
    assert X_test.shape == (10000, 1, 28, 28)
    np.testing.assert_array_equal(np.unique(y_test), np.arange(10))


# ---------------------------------------------------------------- CIFAR


def write_cifar_batch(path, n, label_keys, seed):
    rng = np.random.default_rng(seed)
    batch = {b"data": rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)}
    for key, n_labels in label_keys.items():
        batch[key.encode()] = rng.integers(0, n_labels, size=n).tolist()
    with open(path, "wb") as f:
        pickle.dump(batch, f)
    return batch


@pytest.fixture
def cifar10_dir(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    batches = {
        name: write_cifar_batch(folder / name, 2 + i, {"labels": 10}, seed=i)
        for i, name in enumerate(names)
    }
    return tmp_path, batches


@pytest.mark.parametrize("use_parent", [True, False])
def test_load_cifar10(cifar10_dir, use_parent):
    parent, batches = cifar10_dir
    root = parent if use_parent else parent / "cifar-10-batches-py"
    X, y = load_cifar10(root)
    train = [batches[f"data_batch_{i}"] for i in range(1, 6)]
    assert X.shape == (sum(len(b[b"labels"]) for b in train), 3, 32, 32)
    assert X.dtype == np.float32 and y.dtype == np.int64
    expected = np.concatenate([b[b"data"] for b in train]).reshape(-1, 3, 32, 32)
    np.testing.assert_allclose(X, expected / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(y, np.concatenate([b[b"labels"] for b in train]))
    X_test, y_test = load_cifar10(root, subset="test")
    np.testing.assert_array_equal(y_test, batches["test_batch"][b"labels"])
    # channel-first layout: first 1024 bytes are the red plane
    np.testing.assert_allclose(
        X_test[0, 0].ravel(), batches["test_batch"][b"data"][0, :1024] / 255.0, rtol=1e-6
    )


def test_load_cifar10_missing_batch(cifar10_dir):
    parent, _ = cifar10_dir
    (parent / "cifar-10-batches-py" / "data_batch_3").unlink()
    with pytest.raises(FileNotFoundError, match="data_batch_3") as excinfo:
        load_cifar10(parent)
    assert "cifar-10-python.tar.gz" in str(excinfo.value)


def test_load_cifar10_missing_dir(tmp_path):
    with pytest.raises(FileNotFoundError, match="data_batch_1"):
        load_cifar10(tmp_path)
    with pytest.raises(FileNotFoundError, match="absent"):
        load_cifar10(tmp_path / "absent")


@pytest.mark.parametrize("use_parent", [True, False])
@pytest.mark.parametrize("label_mode", ["fine", "coarse"])
def test_load_cifar100(tmp_path, use_parent, label_mode):
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    keys = {"fine_labels": 100, "coarse_labels": 20}
    train = write_cifar_batch(folder / "train", 6, keys, seed=0)
    test = write_cifar_batch(folder / "test", 3, keys, seed=1)
    root = tmp_path if use_parent else folder
    key = f"{label_mode}_labels".encode()
    X, y = load_cifar100(root, label_mode=label_mode)
    assert X.shape == (6, 3, 32, 32) and X.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_allclose(X.reshape(6, -1), train[b"data"] / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(y, train[key])
    _, y_test = load_cifar100(root, subset="test", label_mode=label_mode)
    np.testing.assert_array_equal(y_test, test[key])


def test_load_cifar100_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="train") as excinfo:
        load_cifar100(tmp_path)
    assert "cifar-100-python.tar.gz" in str(excinfo.value)
    with pytest.raises(ValueError, match="label_mode"):
        load_cifar100(tmp_path, label_mode="medium")


def test_load_cifar_wrong_keys(tmp_path):
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    write_cifar_batch(folder / "train", 2, {"labels": 10}, seed=0)
    with pytest.raises(ValueError, match="fine_labels"):
        load_cifar100(tmp_path)


# ---------------------------------------------------------------- digits


def test_load_digits_images():
    X, y = load_digits_images()
    assert X.shape == (1797, 1, 8, 8) and X.dtype == np.float32
    assert y.shape == (1797,) and y.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 1.0


# ---------------------------------------------------------------- image folders


@pytest.fixture
def image_root(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    root = tmp_path / "images"
    for cls in ("cat", "dog"):
        (root / cls).mkdir(parents=True)
        for i in range(4):
            size = (40 + 3 * i, 30 + 2 * i)  # non-square, varying sizes
            pixels = rng.integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / cls / f"{i}.png")
    # one grayscale image: converted to RGB
    Image.fromarray(rng.integers(0, 256, (20, 20), dtype=np.uint8)).save(
        root / "dog" / "gray.png"
    )
    return root


@pytest.mark.parametrize("train, augment", [(True, True), (True, False), (False, True)])
def test_image_folder_dataset(image_root, train, augment):
    ds = image_folder_dataset(image_root, train=train, image_size=16, augment=augment)
    assert len(ds) == 9
    assert ds.classes == ["cat", "dog"]
    assert list(ds.targets) == [0] * 4 + [1] * 5
    for i in (0, 8):
        x, label = ds[i]
        assert isinstance(x, torch.Tensor)
        assert x.shape == (3, 16, 16) and x.dtype == torch.float32
        assert isinstance(label, int)


def test_image_folder_eval_is_deterministic(image_root):
    ds = image_folder_dataset(image_root, train=False, image_size=16)
    assert torch.equal(ds[3][0], ds[3][0])


def test_image_folder_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        image_folder_dataset(tmp_path / "nowhere")


def test_target_override_dataset(image_root):
    ds = image_folder_dataset(image_root, train=False, image_size=16)
    noisy = [1, 1, 0, 0, 1, 0, 0, 1, 1]
    wrapped = TargetOverrideDataset(ds, noisy)
    assert isinstance(wrapped, torch.utils.data.Dataset)
    assert len(wrapped) == len(ds)
    assert wrapped.classes == ["cat", "dog"]
    assert wrapped.class_to_idx == {"cat": 0, "dog": 1}
    np.testing.assert_array_equal(wrapped.targets, noisy)
    assert wrapped.targets.dtype == np.int64
    for i in (0, 2, 8):
        x, label = wrapped[i]
        assert label == noisy[i] and isinstance(label, int)
        assert torch.equal(x, ds[i][0])
    loader = torch.utils.data.DataLoader(wrapped, batch_size=4)
    xb, yb = next(iter(loader))
    assert xb.shape == (4, 3, 16, 16)
    assert yb.tolist() == noisy[:4]


def test_target_override_without_classes():
    base = torch.utils.data.TensorDataset(torch.zeros(3, 2), torch.tensor([0, 1, 1]))
    wrapped = TargetOverrideDataset(base, np.array([2.0, 0.0, 1.0]))
    assert not hasattr(wrapped, "classes")
    assert wrapped[0][1] == 2


@pytest.mark.parametrize(
    "targets, match",
    [([0, 1], "one label per item"), ([0, 1, 2], r"\[0, 1\]"), ([0, -1, 1], ">= 0"),
     ([0.5, 1, 0], "integer")],
)
def test_target_override_invalid(targets, match):
    class Named(torch.utils.data.TensorDataset):
        classes = ["a", "b"]

    base = Named(torch.zeros(3, 2), torch.tensor([0, 1, 1]))
    with pytest.raises(ValueError, match=match):
        TargetOverrideDataset(base, targets)
