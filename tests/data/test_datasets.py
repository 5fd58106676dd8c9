"""Bundled datasets (Digits, Moons, Circles, Blobs), the registry, and the MNIST
IDX and CIFAR-10 binary readers on small files written here."""
import gzip
import os
import struct

import numpy as np
import pytest

import nabla as nb
from nabla.data import DataLoader, datasets
from nabla.data import transforms as T
from nabla.data.datasets import (CIFAR10, MNIST, Blobs, Circles, Digits, FashionMNIST, Moons,
                                 read_idx)

try:
    import sklearn  # noqa: F401  (the bundled datasets come from it)
except ImportError:
    sklearn = None
needs_sklearn = pytest.mark.skipif(sklearn is None, reason="scikit-learn is not installed")


# -- Digits --------------------------------------------------------------------------
@needs_sklearn
def test_digits_shapes_counts_and_split():
    train, test = Digits(), Digits(train=False)
    assert len(train) == 1438 and len(test) == 359
    x, y = train[0]
    assert isinstance(x, nb.Tensor) and x.shape == (1, 8, 8) and x.dtype == nb.float32
    assert isinstance(y, int) and 0 <= y <= 9
    assert train.data.shape == (1438, 1, 8, 8) and train.targets.dtype == nb.int64
    for split in (train, test):
        assert split.data.numpy().min() == 0.0 and split.data.numpy().max() == 1.0
    # stratified: each class has 20 % (rounded) of its samples in test
    np.testing.assert_array_equal(np.bincount(test.targets.numpy()),
                                  [36, 36, 35, 37, 36, 36, 36, 36, 35, 36])
    assert np.bincount(train.targets.numpy()).min() >= 139
    # the split is fixed: these are its first test labels (a change here breaks every result)
    assert test.targets[:12].tolist() == [5, 9, 2, 4, 6, 7, 9, 3, 4, 6, 8, 5]
    np.testing.assert_allclose(test.data.numpy().sum(), 6993.125)


@needs_sklearn
def test_digits_matches_sklearn_and_partitions():
    from sklearn.datasets import load_digits
    raw = load_digits()
    both = np.concatenate([Digits().data.numpy(), Digits(train=False).data.numpy()])
    labels = np.concatenate([Digits().targets.numpy(), Digits(train=False).targets.numpy()])
    ours = sorted(zip(map(bytes, (both.reshape(-1, 64) * 16).astype(np.uint8)), labels))
    theirs = sorted(zip(map(bytes, raw.data.astype(np.uint8)), raw.target))
    assert ours == theirs  # train + test is exactly the 1 797 images, none twice


@needs_sklearn
def test_digits_with_transforms_and_loader():
    ds = Digits(transform=T.Compose([T.ToTensor(), T.Normalize((0.5,), (0.5,))]),
                target_transform=lambda y: y + 100)
    x, y = ds[3]
    np.testing.assert_allclose(x.numpy(), Digits()[3][0].numpy() * 2 - 1, rtol=1e-6)
    assert y == Digits()[3][1] + 100
    xb, yb = next(iter(DataLoader(Digits(), batch_size=32, shuffle=True)))
    assert xb.shape == (32, 1, 8, 8) and yb.shape == (32,) and yb.dtype == nb.int64


# -- toy 2-D sets --------------------------------------------------------------------
@needs_sklearn
@pytest.mark.parametrize("cls", [Moons, Circles, Blobs])
def test_toy_sets_split_and_determinism(cls):
    train, test = cls(n_samples=200), cls(n_samples=200, train=False)
    assert len(train) == 160 and len(test) == 40
    x, y = train[0]
    assert x.shape == (2,) and x.dtype == nb.float32 and isinstance(y, int)
    counts = np.bincount(test.targets.numpy())
    assert counts.max() - counts.min() <= 1  # stratified
    np.testing.assert_array_equal(cls(n_samples=200).data.numpy(), train.data.numpy())
    assert not np.array_equal(cls(n_samples=200, seed=1).data.numpy(), train.data.numpy())


@needs_sklearn
def test_toy_set_geometry():
    c = Circles(n_samples=400, noise=0.0, factor=0.3)
    r = np.linalg.norm(c.data.numpy(), axis=1)
    labels = c.targets.numpy()
    np.testing.assert_allclose(r[labels == 0], 1.0, rtol=1e-5)
    np.testing.assert_allclose(r[labels == 1], 0.3, rtol=1e-5)
    b = Blobs(n_samples=300, centers=4, noise=0.1)
    assert b.num_classes == 4 and set(b.targets.tolist()) == {0, 1, 2, 3}
    m = Moons(n_samples=100, noise=0.0)
    upper = m.data.numpy()[m.targets.numpy() == 0]
    np.testing.assert_allclose(np.linalg.norm(upper, axis=1), 1.0, rtol=1e-5)
    with pytest.raises(ValueError, match="n_samples should be an integer >= 2"):
        Moons(n_samples=1)


# -- registry -------------------------------------------------------------------------
@needs_sklearn
def test_registry():
    reg = datasets.available()
    assert {"digits", "moons", "circles", "blobs", "mnist", "fashion-mnist",
            "cifar10"} <= set(reg)
    for name, (cls, description, defaults) in reg.items():
        assert isinstance(cls, type) and isinstance(description, str) and description
        assert isinstance(defaults, dict)
    assert len(datasets.get("digits", train=False)) == 359
    assert len(datasets.get("moons", n_samples=50)) == 40
    with pytest.raises(KeyError, match="unknown dataset 'imagenet'; available: blobs"):
        datasets.get("imagenet")


# -- IDX (MNIST / Fashion-MNIST) -------------------------------------------------------
def _idx_bytes(array: np.ndarray, type_code: int = 0x08) -> bytes:
    header = struct.pack(">HBB", 0, type_code, array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    dtype = {0x08: ">u1", 0x0C: ">i4", 0x0D: ">f4"}[type_code]
    return header + array.astype(dtype).tobytes()


def _write(path, data: bytes, compress: bool = False):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if compress:
        with gzip.open(path + ".gz", "wb") as f:
            f.write(data)
    else:
        with open(path, "wb") as f:
            f.write(data)


def _mnist_files(root, n=5, compress=False, size=28, labels=None):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, size, size)).astype(np.uint8)
    labels = np.arange(n) % 10 if labels is None else np.asarray(labels)
    for prefix in ("train", "t10k"):
        _write(os.path.join(root, f"{prefix}-images-idx3-ubyte"), _idx_bytes(images), compress)
        _write(os.path.join(root, f"{prefix}-labels-idx1-ubyte"), _idx_bytes(labels), compress)
    return images, labels


@pytest.mark.parametrize("compress", [False, True])
def test_mnist_reads_plain_and_gzip(tmp_path, compress):
    images, labels = _mnist_files(str(tmp_path), compress=compress)
    ds = MNIST(str(tmp_path), train=True, transform=lambda a: a)  # the stored array
    assert len(ds) == 5
    img, y = ds[2]
    assert isinstance(img, np.ndarray) and img.shape == (28, 28) and img.dtype == np.uint8
    np.testing.assert_array_equal(img, images[2])
    assert y == 2
    default = MNIST(str(tmp_path))[2][0]  # without a transform: as ToTensor() makes it
    assert default.shape == (1, 28, 28) and default.dtype == nb.float32
    np.testing.assert_allclose(default.numpy()[0], images[2] / 255.0, rtol=1e-6)
    assert ds.data.shape == (5, 28, 28) and ds.targets.dtype == nb.int64
    t = MNIST(str(tmp_path), train=False, transform=T.ToTensor())[0][0]
    assert t.shape == (1, 28, 28) and t.dtype == nb.float32
    np.testing.assert_allclose(t.numpy()[0], images[0] / 255.0, rtol=1e-6)


def test_mnist_torchvision_layout_and_fashion(tmp_path):
    _mnist_files(str(tmp_path / "MNIST" / "raw"), compress=True)
    _mnist_files(str(tmp_path / "FashionMNIST" / "raw"), n=3)
    assert len(MNIST(str(tmp_path))) == 5
    fashion = FashionMNIST(str(tmp_path), train=False)
    assert len(fashion) == 3 and fashion.classes[9] == "Ankle boot"
    batch = next(iter(DataLoader(fashion, batch_size=3)))
    assert batch[0].shape == (3, 1, 28, 28) and batch[0].dtype == nb.float32


def test_read_idx_other_types(tmp_path):
    a = np.arange(6, dtype=np.int32).reshape(2, 3) - 3
    _write(str(tmp_path / "a.idx"), _idx_bytes(a, 0x0C))
    out = read_idx(str(tmp_path / "a.idx"))
    np.testing.assert_array_equal(out, a)
    assert out.dtype == np.int32 and out.dtype.isnative


def test_mnist_missing_file_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"MNIST: cannot find train-images-idx3-ubyte "
                                                r"\(plain or .gz\).*t10k-labels-idx1-ubyte"):
        MNIST(str(tmp_path))
    _mnist_files(str(tmp_path))
    os.remove(tmp_path / "t10k-labels-idx1-ubyte")
    with pytest.raises(FileNotFoundError, match="cannot find t10k-labels-idx1-ubyte"):
        MNIST(str(tmp_path), train=False)


def test_mnist_truncated_and_extra_bytes(tmp_path):
    _mnist_files(str(tmp_path))
    path = tmp_path / "train-images-idx3-ubyte"
    good = path.read_bytes()
    path.write_bytes(good[:-100])
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte: truncated IDX file: "
                                         r"dimensions \(5, 28, 28\) need 3920 bytes of data, "
                                         r"found 3820"):
        MNIST(str(tmp_path))
    path.write_bytes(good + b"xx")
    with pytest.raises(ValueError, match="corrupt IDX file.*2 extra"):
        MNIST(str(tmp_path))
    path.write_bytes(good[:10])
    with pytest.raises(ValueError, match="truncated IDX header"):
        MNIST(str(tmp_path))


def test_mnist_bad_headers_and_contents(tmp_path):
    _mnist_files(str(tmp_path))
    path = tmp_path / "train-images-idx3-ubyte"
    good = path.read_bytes()
    path.write_bytes(b"\x12\x34" + good[2:])
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte: not an IDX file: bad magic "
                                         r"number 0x12340803"):
        MNIST(str(tmp_path))
    path.write_bytes((tmp_path / "train-labels-idx1-ubyte").read_bytes())
    with pytest.raises(ValueError, match=r"bad magic number 0x00000801, expected 0x00000803"):
        MNIST(str(tmp_path))
    _mnist_files(str(tmp_path), size=27)
    with pytest.raises(ValueError, match=r"expected images of size \(28, 28\).*\(27, 27\)"):
        MNIST(str(tmp_path))
    _mnist_files(str(tmp_path), labels=[0, 1, 2, 12, 4])
    with pytest.raises(ValueError, match=r"labels-idx1-ubyte: corrupt labels: label 12 at index 3"):
        MNIST(str(tmp_path))
    _mnist_files(str(tmp_path))
    _write(str(tmp_path / "train-labels-idx1-ubyte"), _idx_bytes(np.zeros(4, np.uint8)))
    with pytest.raises(ValueError, match="holds 5 images but .*labels-idx1-ubyte holds 4 labels"):
        MNIST(str(tmp_path))


def test_mnist_corrupt_gzip(tmp_path):
    _mnist_files(str(tmp_path), compress=True)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    good = path.read_bytes()
    path.write_bytes(good[: len(good) // 2])
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte.gz: truncated gzip file"):
        MNIST(str(tmp_path))
    path.write_bytes(b"this is not gzip data at all")
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte.gz: corrupt gzip file"):
        MNIST(str(tmp_path))


# -- CIFAR-10 binary ----------------------------------------------------------------------
def _cifar_files(folder, per_file=2, labels=None):
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(1)
    written = {}
    for k, name in enumerate([f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]):
        ys = (np.arange(per_file) + k) % 10 if labels is None else np.asarray(labels)
        chw = rng.integers(0, 256, (per_file, 3, 32, 32)).astype(np.uint8)
        records = np.concatenate([ys.astype(np.uint8)[:, None], chw.reshape(per_file, -1)], 1)
        with open(os.path.join(folder, name), "wb") as f:
            f.write(records.tobytes())
        written[name] = (chw, ys)
    return written


def test_cifar10_reads_binary(tmp_path, monkeypatch):
    written = _cifar_files(str(tmp_path / "cifar-10-batches-bin"))
    with pytest.warns(UserWarning, match="hold 2 records each; the CIFAR-10 distribution's "
                                         "hold 10,000"):
        CIFAR10(str(tmp_path))
    monkeypatch.setattr(CIFAR10, "records_per_file", 2)  # these small files are whole
    train = CIFAR10(str(tmp_path), transform=T.Lambda(lambda a: a))
    assert len(train) == 10 and train.data.shape == (10, 32, 32, 3)
    chw, ys = written["data_batch_3.bin"]
    img, y = train[4]  # first record of the third file
    np.testing.assert_array_equal(img, chw[0].transpose(1, 2, 0))  # R, G, B planes -> HWC
    assert y == int(ys[0])
    test = CIFAR10(str(tmp_path), train=False, transform=T.ToTensor())
    x, y = test[1]
    assert x.shape == (3, 32, 32) and x.dtype == nb.float32
    np.testing.assert_allclose(x.numpy(), written["test_batch.bin"][0][1] / 255.0, rtol=1e-6)
    xb, yb = next(iter(DataLoader(test, batch_size=2)))
    assert xb.shape == (2, 3, 32, 32) and yb.tolist() == written["test_batch.bin"][1].tolist()


def test_cifar10_errors(tmp_path, monkeypatch):
    monkeypatch.setattr(CIFAR10, "records_per_file", 2)
    folder = tmp_path / "cifar-10-batches-bin"
    with pytest.raises(FileNotFoundError, match="CIFAR10: cannot find data_batch_1.bin.*"
                                                "binary distribution"):
        CIFAR10(str(tmp_path))
    _cifar_files(str(folder))
    os.remove(folder / "data_batch_4.bin")
    with pytest.raises(FileNotFoundError, match="lacks data_batch_4.bin"):
        CIFAR10(str(tmp_path))
    _cifar_files(str(folder))
    path = folder / "data_batch_2.bin"
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(ValueError, match=r"data_batch_2.bin: truncated or corrupt .* 6136 bytes "
                                         r"is not a whole number of 3073-byte records"):
        CIFAR10(str(tmp_path))
    _cifar_files(str(folder))
    path.write_bytes(path.read_bytes()[:3073])  # cut at a record boundary
    with pytest.raises(ValueError, match=r"data_batch_2.bin holds 1 records and another "
                                         r"batch 2: .* truncated"):
        CIFAR10(str(tmp_path))
    _cifar_files(str(folder), labels=[3, 10])
    with pytest.raises(ValueError, match=r"data_batch_1.bin: corrupt .* label 10 in record 1"):
        CIFAR10(str(tmp_path))


def test_cifar10_refuses_pickled_version(tmp_path):
    (tmp_path / "cifar-10-batches-py").mkdir()
    (tmp_path / "cifar-10-batches-py" / "data_batch_1").write_bytes(b"\x80\x04not read")
    with pytest.raises(FileNotFoundError, match="pickled Python version, which nabla never loads"):
        CIFAR10(str(tmp_path))


def test_digits_upsampled_to_32_for_the_cifar_sized_nets():
    from nabla.data import datasets
    small, big = datasets.Digits(train=False), datasets.get("digits32", train=False)
    assert len(big) == len(small) == 359 and big.input_shape == (1, 32, 32)
    x8, y8 = small[5]
    x32, y32 = big[5]
    assert tuple(x32.shape) == (1, 32, 32) and y32 == y8
    a, b = x8.numpy(), x32.numpy()
    assert 0.0 <= b.min() and b.max() <= 1.0 + 1e-6
    # the op's bilinear upsampling (align_corners=False; tested against PyTorch in ops)
    ref = nb.nn.functional.interpolate(x8[None], size=(32, 32), mode="bilinear",
                                       align_corners=False)
    np.testing.assert_allclose(b, ref.numpy()[0], atol=1e-6)
    assert abs(b.mean() - a.mean()) < 0.02 and not np.allclose(b, b.mean())
    with pytest.raises(ValueError, match="size must be a positive"):
        datasets.Digits(size=0)
