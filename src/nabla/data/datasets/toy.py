"""Datasets that ship inside scikit-learn: real 8x8 digits and 2-D toy sets.

Nothing is downloaded. Every set has a fixed train/test split: a stratified
split (each class split in the same proportion) drawn with
``numpy.random.default_rng(seed)``, independent of nabla's generator, so the
split never changes when a program reseeds.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ...tensor import Tensor
from ..dataset import Dataset


def stratified_split(labels: np.ndarray, test_fraction: float, seed: int) -> tuple:
    """``(train_indices, test_indices)``, each sorted.

    ``round(test_fraction * N)`` samples go to test, shared between classes in
    proportion to their sizes (largest remainder first, ties to the lower
    class); within a class, a ``numpy.random.default_rng(seed)`` permutation
    picks them.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction should be in (0, 1), got {test_fraction}")
    classes, counts = np.unique(labels, return_counts=True)
    exact = test_fraction * counts
    n_test = np.floor(exact).astype(np.int64)
    short = int(round(test_fraction * len(labels))) - int(n_test.sum())
    n_test[np.argsort(-(exact - n_test), kind="stable")[:short]] += 1
    rng = np.random.default_rng(seed)
    test = [rng.permutation(np.flatnonzero(labels == c))[:k] for c, k in zip(classes, n_test)]
    test = np.sort(np.concatenate(test))
    train = np.setdiff1d(np.arange(len(labels)), test)
    return train, test


def _sklearn_datasets():
    """``sklearn.datasets``, or an error that says how to get it."""
    try:
        import sklearn.datasets
    except ImportError:
        raise ImportError("nabla's bundled datasets (Digits, Moons, Circles, Blobs) come from "
                          "scikit-learn: pip install scikit-learn") from None
    return sklearn.datasets


class ArrayDataset(Dataset):
    """Inputs held as one float32 array (N, ...) and integer labels (N,).

    ``ds[i]`` is ``(input Tensor, int label)`` after ``transform`` /
    ``target_transform``; ``ds.data`` and ``ds.targets`` are the whole split
    as tensors.
    """

    classes: list = []

    def __init__(self, inputs: np.ndarray, labels: np.ndarray, transform: Callable | None,
                 target_transform: Callable | None):
        self._inputs = np.ascontiguousarray(inputs, dtype=np.float32)
        self._labels = np.asarray(labels, dtype=np.int64)
        self.transform, self.target_transform = transform, target_transform

    @property
    def data(self) -> Tensor:
        return Tensor._wrap(self._inputs)

    @property
    def targets(self) -> Tensor:
        return Tensor._wrap(self._labels)

    def __len__(self) -> int:
        return len(self._labels)

    def __getitem__(self, index: int):
        x = Tensor._wrap(self._inputs[index].copy())
        y = int(self._labels[index])
        if self.transform is not None:
            x = self.transform(x)
        if self.target_transform is not None:
            y = self.target_transform(y)
        return x, y

    def __repr__(self) -> str:
        split = "train" if getattr(self, "train", True) else "test"
        return (f"{type(self).__name__}(split={split}, samples={len(self)}, "
                f"input_shape={tuple(self._inputs.shape[1:])}, classes={len(self.classes)})")


class Digits(ArrayDataset):
    """scikit-learn's 8x8 handwritten digits: 1 797 real images of 0-9.

    Samples are ``(image, label)``: ``image`` a float32 Tensor (1, 8, 8) in
    [0, 1] (the stored pixel values 0..16 divided by 16), ``label`` an int.
    ``transform`` receives that tensor (``ToTensor`` passes it through, so
    MNIST-style pipelines work unchanged).

    Split (fixed): stratified, 20 % of each class to test, drawn with
    ``numpy.random.default_rng(0)`` -- 1 438 train and 359 test images.
    ``root`` is accepted for a uniform signature and unused (the data ships
    with scikit-learn). ``size=32`` upsamples every image once, bilinearly, to
    (1, 32, 32): the input the CIFAR-sized nets expect (``digits32`` in the registry).
    """

    classes = [str(i) for i in range(10)]
    num_classes = 10
    input_shape = (1, 8, 8)
    test_fraction = 0.2
    split_seed = 0

    def __init__(self, root: str | None = None, train: bool = True,
                 transform: Callable | None = None, target_transform: Callable | None = None,
                 download: bool = False, size: int | None = None):
        digits = _sklearn_datasets().load_digits()
        images = digits.images.astype(np.float32)[:, None] / np.float32(16.0)  # (1797, 1, 8, 8)
        if size is not None:
            if int(size) < 1:
                raise ValueError(f"Digits: size must be a positive number of pixels, got {size}")
            images = _upsample(images, int(size))
            self.input_shape = (1, int(size), int(size))
        train_idx, test_idx = stratified_split(digits.target, self.test_fraction, self.split_seed)
        idx = train_idx if train else test_idx
        self.root, self.train = root, train
        super().__init__(images[idx], digits.target[idx], transform, target_transform)


def _upsample(images: np.ndarray, size: int) -> np.ndarray:
    """(N, 1, 8, 8) -> (N, 1, size, size), bilinear (PyTorch's align_corners=False)."""
    from ...autograd.grad_mode import no_grad
    from ...nn.functional import interpolate
    from ...ops.creation import tensor
    with no_grad():
        return interpolate(tensor(images), size=(size, size), mode="bilinear",
                           align_corners=False).numpy()


class _Toy2D(ArrayDataset):
    """A 2-D toy set: samples are ``(point float32 Tensor (2,), int label)``.

    ``n_samples`` points are generated with ``seed``, then split stratified
    with ``test_fraction`` of each class to test (seed ``seed``).
    """

    input_shape = (2,)

    def __init__(self, root: str | None, train: bool, transform, target_transform, *,
                 n_samples: int, seed: int, test_fraction: float):
        if not isinstance(n_samples, int) or n_samples < 2:
            raise ValueError(f"{type(self).__name__}: n_samples should be an integer >= 2, "
                             f"got {n_samples!r}")
        points, labels = self._generate(n_samples, seed)
        train_idx, test_idx = stratified_split(labels, test_fraction, seed)
        idx = train_idx if train else test_idx
        self.root, self.train, self.n_samples, self.seed = root, train, n_samples, seed
        super().__init__(points[idx], labels[idx], transform, target_transform)

    def _generate(self, n_samples: int, seed: int) -> tuple:
        raise NotImplementedError


class Moons(_Toy2D):
    """Two interleaving half circles (``sklearn.datasets.make_moons``); 2 classes."""

    classes = ["upper", "lower"]
    num_classes = 2

    def __init__(self, root: str | None = None, train: bool = True, transform=None,
                 target_transform=None, *, n_samples: int = 1000, noise: float = 0.1,
                 seed: int = 0, test_fraction: float = 0.2):
        self.noise = noise
        super().__init__(root, train, transform, target_transform, n_samples=n_samples,
                         seed=seed, test_fraction=test_fraction)

    def _generate(self, n_samples: int, seed: int) -> tuple:
        return _sklearn_datasets().make_moons(n_samples=n_samples, noise=self.noise,
                                              random_state=seed)


class Circles(_Toy2D):
    """A small circle inside a large one (``sklearn.datasets.make_circles``); 2 classes.

    ``factor`` is the ratio of the inner radius to the outer one.
    """

    classes = ["outer", "inner"]
    num_classes = 2

    def __init__(self, root: str | None = None, train: bool = True, transform=None,
                 target_transform=None, *, n_samples: int = 1000, noise: float = 0.05,
                 factor: float = 0.5, seed: int = 0, test_fraction: float = 0.2):
        self.noise, self.factor = noise, factor
        super().__init__(root, train, transform, target_transform, n_samples=n_samples,
                         seed=seed, test_fraction=test_fraction)

    def _generate(self, n_samples: int, seed: int) -> tuple:
        return _sklearn_datasets().make_circles(n_samples=n_samples, noise=self.noise,
                                                factor=self.factor, random_state=seed)


class Blobs(_Toy2D):
    """Isotropic Gaussian clusters (``sklearn.datasets.make_blobs``), one class each.

    ``noise`` is the clusters' standard deviation (sklearn's ``cluster_std``).
    """

    def __init__(self, root: str | None = None, train: bool = True, transform=None,
                 target_transform=None, *, n_samples: int = 1000, centers: int = 3,
                 noise: float = 1.0, n_features: int = 2, seed: int = 0,
                 test_fraction: float = 0.2):
        if not isinstance(centers, int) or centers < 1:
            raise ValueError(f"Blobs: centers should be a positive integer, got {centers!r}")
        self.centers, self.noise, self.n_features = centers, noise, n_features
        self.classes = [str(i) for i in range(centers)]
        self.num_classes = centers
        self.input_shape = (n_features,)
        super().__init__(root, train, transform, target_transform, n_samples=n_samples,
                         seed=seed, test_fraction=test_fraction)

    def _generate(self, n_samples: int, seed: int) -> tuple:
        return _sklearn_datasets().make_blobs(n_samples=n_samples, centers=self.centers,
                                              cluster_std=self.noise, n_features=self.n_features,
                                              random_state=seed)


__all__ = ["Digits", "Moons", "Circles", "Blobs"]
