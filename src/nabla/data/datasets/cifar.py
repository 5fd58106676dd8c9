"""CIFAR-10 from the *binary* distribution (``cifar-10-binary.tar.gz``, extracted).

Each ``.bin`` file is a run of 3 073-byte records: one label byte (0-9), then
1 024 red, 1 024 green and 1 024 blue bytes of a 32x32 image, row-major. The
pickled "python version" is never read: unpickling a file can run code.
"""
from __future__ import annotations

import os
import warnings
from typing import Callable

import numpy as np

from ._image_files import ImageFileDataset

_RECORD = 1 + 3 * 32 * 32


def read_cifar_bin(path: str, num_classes: int = 10) -> tuple:
    """``(images uint8 (N, 32, 32, 3), labels int64 (N,))`` from one binary batch file."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: file not found") from None
    if len(raw) == 0:
        raise ValueError(f"{path}: empty file: expected records of {_RECORD} bytes")
    if len(raw) % _RECORD:
        raise ValueError(f"{path}: truncated or corrupt CIFAR-10 binary file: {len(raw)} bytes "
                         f"is not a whole number of {_RECORD}-byte records "
                         f"({len(raw) // _RECORD} records and {len(raw) % _RECORD} bytes left)")
    records = np.frombuffer(raw, dtype=np.uint8).reshape(-1, _RECORD)
    labels = records[:, 0].astype(np.int64)
    bad = np.flatnonzero(labels >= num_classes)
    if bad.size:
        raise ValueError(f"{path}: corrupt CIFAR-10 binary file: label {labels[bad[0]]} in record "
                         f"{bad[0]} is not in [0, {num_classes - 1}]")
    images = records[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)  # (N, H, W, C)
    return np.ascontiguousarray(images), labels


class CIFAR10(ImageFileDataset):
    """CIFAR-10 (60 000 32x32 colour images, 10 classes) from the binary files.

    Looks in ``root/cifar-10-batches-bin`` and ``root`` for
    ``data_batch_1.bin`` ... ``data_batch_5.bin`` (train) or ``test_batch.bin``.
    Samples are ``(image, label)`` with ``label`` an int. ``transform``
    receives the image as stored, a uint8 NumPy array (32, 32, 3) (what PIL
    would hold in torchvision); without a transform the image is what
    ``ToTensor()`` makes of it, a float32 tensor (3, 32, 32) in [0, 1].
    ``data`` is the uint8 array (N, 32, 32, 3) and ``targets`` a list of
    ints, as in torchvision.
    """

    classes = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
               "truck"]
    num_classes = 10
    input_shape = (3, 32, 32)
    train_files = [f"data_batch_{i}.bin" for i in range(1, 6)]
    test_files = ["test_batch.bin"]
    #: records in each file of the distribution: a file cut at a record boundary has fewer
    records_per_file = 10_000

    def __init__(self, root: str, train: bool = True, transform: Callable | None = None,
                 target_transform: Callable | None = None, download: bool = False):
        if root is None:
            raise ValueError("CIFAR10: root is required: the directory holding "
                             "cifar-10-batches-bin")
        root = os.path.expanduser(str(root))
        self.root, self.train = root, train
        self.transform, self.target_transform = transform, target_transform
        folder = self._find_folder(root)
        images, labels = [], []
        names = self.train_files if train else self.test_files
        for name in names:
            x, y = read_cifar_bin(os.path.join(folder, name), len(self.classes))
            images.append(x)
            labels.append(y)
        counts = [len(y) for y in labels]
        if len(set(counts)) > 1:  # the batches of one split are all the same size
            short = names[counts.index(min(counts))]
            raise ValueError(f"CIFAR10: {os.path.join(folder, short)} holds {min(counts):,} "
                             f"records and another batch {max(counts):,}: the files of a "
                             f"split are equal in size, so this one is truncated")
        if counts[0] != self.records_per_file:
            warnings.warn(f"CIFAR10: the files in {folder} hold {counts[0]:,} records each; "
                          f"the CIFAR-10 distribution's hold {self.records_per_file:,} "
                          f"(truncated files, or a subset)", UserWarning, stacklevel=2)
        self.data = np.concatenate(images)
        self.targets = np.concatenate(labels).tolist()

    def _find_folder(self, root: str) -> str:
        dirs = [os.path.join(root, "cifar-10-batches-bin"), root]
        needed = self.train_files if self.train else self.test_files
        for d in dirs:
            if all(os.path.isfile(os.path.join(d, n)) for n in needed):
                return d
        for d in dirs:  # say what is missing from the most plausible folder
            present = [n for n in needed if os.path.isfile(os.path.join(d, n))]
            if present:
                missing = [n for n in needed if n not in present]
                raise FileNotFoundError(f"CIFAR10: {d} lacks {', '.join(missing)}; expected "
                                        f"{', '.join(needed)} of the binary distribution")
        hint = ""
        for d in dirs + [os.path.join(root, "cifar-10-batches-py")]:
            if os.path.isfile(os.path.join(d, "data_batch_1")):
                hint = (f" Found {os.path.join(d, 'data_batch_1')}: that is the pickled Python "
                        f"version, which nabla never loads (unpickling can run code); use the "
                        f"binary version cifar-10-binary.tar.gz.")
        if os.path.isfile(os.path.join(root, "cifar-10-binary.tar.gz")):
            hint = " Found cifar-10-binary.tar.gz: extract it first (tar xzf)."
        raise FileNotFoundError(
            f"CIFAR10: cannot find {', '.join(needed)} in {', '.join(map(repr, dirs))}. Expected "
            f"the extracted binary distribution (cifar-10-batches-bin/data_batch_1.bin ... "
            f"data_batch_5.bin, test_batch.bin); nabla does not download data.{hint}")

    def __len__(self) -> int:
        return len(self.targets)

    def _raw(self, index: int) -> tuple:
        return self.data[index], self.targets[index]


__all__ = ["CIFAR10", "read_cifar_bin"]
