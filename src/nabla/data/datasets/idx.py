"""MNIST and Fashion-MNIST from the standard IDX files the user already has.

IDX format: two zero bytes, a type code (0x08 = uint8, ...), the number of
dimensions, each dimension as a big-endian uint32, then the data, big-endian.
Files may be plain or gzip-compressed (``.gz``). Nothing is downloaded.
"""
from __future__ import annotations

import gzip
import os
import struct
import zlib
from typing import Callable

import numpy as np

from ...tensor import Tensor
from ._image_files import ImageFileDataset

# IDX type code -> (big-endian NumPy dtype, name)
_IDX_TYPES = {0x08: (">u1", "uint8"), 0x09: (">i1", "int8"), 0x0B: (">i2", "int16"),
              0x0C: (">i4", "int32"), 0x0D: (">f4", "float32"), 0x0E: (">f8", "float64")}


def read_bytes(path: str) -> bytes:
    """The (decompressed, for ``.gz``) bytes of ``path``, with errors that name it."""
    try:
        if path.endswith(".gz"):
            with gzip.open(path, "rb") as f:
                return f.read()
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: file not found") from None
    except EOFError:
        raise ValueError(f"{path}: truncated gzip file (the compressed stream ends early)") \
            from None
    except (gzip.BadGzipFile, zlib.error) as e:
        raise ValueError(f"{path}: corrupt gzip file ({e})") from None


def read_idx(path: str, expected_magic: int | None = None) -> np.ndarray:
    """Read one IDX file (plain or ``.gz``) into a native-endian NumPy array.

    Checks the magic number (against ``expected_magic`` when given, e.g. 0x803
    for uint8 3-D images), the header length and that the data size matches
    the dimensions exactly; every error names the file.
    """
    raw = read_bytes(path)
    if len(raw) < 4:
        raise ValueError(f"{path}: truncated IDX file: {len(raw)} bytes, the header alone "
                         f"needs at least 4")
    magic = struct.unpack(">I", raw[:4])[0]
    zeros, type_code, ndim = raw[0:2], raw[2], raw[3]
    if zeros != b"\x00\x00" or type_code not in _IDX_TYPES or ndim == 0:
        raise ValueError(f"{path}: not an IDX file: bad magic number 0x{magic:08x} (expected two "
                         f"zero bytes, a type code in {sorted(hex(t) for t in _IDX_TYPES)} and a "
                         f"positive number of dimensions)")
    if expected_magic is not None and magic != expected_magic:
        raise ValueError(f"{path}: bad magic number 0x{magic:08x}, expected "
                         f"0x{expected_magic:08x}")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: truncated IDX header: {ndim} dimensions need {header} bytes, "
                         f"the file has {len(raw)}")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = np.dtype(_IDX_TYPES[type_code][0])
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    found = len(raw) - header
    if found < expected:
        raise ValueError(f"{path}: truncated IDX file: dimensions {dims} need {expected} bytes "
                         f"of data, found {found}")
    if found > expected:
        raise ValueError(f"{path}: corrupt IDX file: dimensions {dims} need {expected} bytes "
                         f"of data, found {found} ({found - expected} extra)")
    array = np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims)
    return array.astype(dtype.newbyteorder("="))


def _candidates(stem: str) -> list:
    """File names a distribution may use for ``stem`` (``train-images-idx3-ubyte``)."""
    dotted = stem.replace("-idx", ".idx")  # e.g. train-images.idx3-ubyte
    return [stem, stem + ".gz", dotted, dotted + ".gz"]


def find_file(dirs: list, stem: str, dataset: str, all_stems: list) -> str:
    for d in dirs:
        for name in _candidates(stem):
            path = os.path.join(d, name)
            if os.path.isfile(path):
                return path
    raise FileNotFoundError(
        f"{dataset}: cannot find {stem} (plain or .gz) in {', '.join(map(repr, dirs))}. "
        f"Expected the standard IDX files {', '.join(all_stems)} (optionally gzip-compressed). "
        f"nabla does not download data: put the files in the directory given as root.")


class MNIST(ImageFileDataset):
    """MNIST handwritten digits read from the standard IDX files under ``root``.

    Looks for ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
    ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte`` (plain or
    ``.gz``) in ``root``, ``root/MNIST/raw`` (torchvision's layout),
    ``root/MNIST`` and ``root/raw``. Nothing is downloaded.

    Samples are ``(image, label)`` with ``label`` an int. ``transform``
    receives the image as stored, a uint8 NumPy array (28, 28) (what PIL
    would hold in torchvision, so ``Compose([ToTensor(), ...])`` pipelines
    port); without a transform the image is what ``ToTensor()`` makes of it,
    a float32 tensor (1, 28, 28) in [0, 1]. ``data`` is the uint8 tensor
    (N, 28, 28), ``targets`` the int64 tensor (N,).
    """

    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five",
               "6 - six", "7 - seven", "8 - eight", "9 - nine"]
    num_classes = 10
    input_shape = (1, 28, 28)
    image_size = (28, 28)
    files = {True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
             False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}

    def __init__(self, root: str, train: bool = True, transform: Callable | None = None,
                 target_transform: Callable | None = None, download: bool = False):
        name = type(self).__name__
        if root is None:
            raise ValueError(f"{name}: root is required: the directory holding the IDX files")
        root = os.path.expanduser(str(root))
        self.root, self.train = root, train
        self.transform, self.target_transform = transform, target_transform
        dirs = [root, os.path.join(root, name, "raw"), os.path.join(root, name),
                os.path.join(root, "raw")]
        all_stems = [s for pair in self.files.values() for s in pair]
        image_stem, label_stem = self.files[bool(train)]
        image_path = find_file(dirs, image_stem, name, all_stems)
        label_path = find_file(dirs, label_stem, name, all_stems)
        self._images = read_idx(image_path, expected_magic=0x00000803)
        self._labels = read_idx(label_path, expected_magic=0x00000801).astype(np.int64)
        self._check(image_path, label_path)

    def _check(self, image_path: str, label_path: str) -> None:
        if self._images.shape[1:] != self.image_size:
            raise ValueError(f"{image_path}: expected images of size {self.image_size}, the file "
                             f"holds {self._images.shape[1:]}")
        if len(self._images) != len(self._labels):
            raise ValueError(f"{type(self).__name__}: {image_path} holds {len(self._images)} "
                             f"images but {label_path} holds {len(self._labels)} labels")
        bad = np.flatnonzero(self._labels >= len(self.classes))
        if bad.size:
            raise ValueError(f"{label_path}: corrupt labels: label {self._labels[bad[0]]} at "
                             f"index {bad[0]} is not in [0, {len(self.classes) - 1}]")

    @property
    def data(self) -> Tensor:
        return Tensor._wrap(self._images)

    @property
    def targets(self) -> Tensor:
        return Tensor._wrap(self._labels)

    def __len__(self) -> int:
        return len(self._labels)

    def _raw(self, index: int) -> tuple:
        return self._images[index], int(self._labels[index])


class FashionMNIST(MNIST):
    """Fashion-MNIST (Zalando article images): the same IDX files and layout as
    :class:`MNIST`, looked for under ``root``, ``root/FashionMNIST/raw``, ..."""

    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot"]


__all__ = ["MNIST", "FashionMNIST", "read_idx"]
