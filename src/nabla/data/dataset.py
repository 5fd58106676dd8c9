"""Datasets: the map-style ``Dataset`` protocol and its combinators.

A map-style dataset answers ``len(ds)`` and ``ds[i]``; an ``IterableDataset``
is iterated instead (streams, generators). ``random_split`` draws from nabla's
generator, so ``nabla.manual_seed`` fixes the split.
"""
from __future__ import annotations

import bisect
import math
from typing import Iterable, Iterator, Sequence

from .. import backend
from ..tensor import Tensor


def _generator(generator) -> backend.Generator:
    return generator if generator is not None else backend.default_generator


class Dataset:
    """A map-style dataset: subclasses define ``__getitem__`` (and usually ``__len__``)."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __add__(self, other: "Dataset") -> "ConcatDataset":
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A dataset that is iterated rather than indexed (define ``__iter__``).

    With worker processes every worker iterates its own copy: split the work
    inside ``__iter__`` with :func:`nabla.data.get_worker_info`, or each sample
    comes once per worker.
    """

    def __iter__(self) -> Iterator:
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")

    def __add__(self, other: "IterableDataset") -> "ChainDataset":
        return ChainDataset([self, other])


class TensorDataset(Dataset):
    """Samples are the ``i``-th rows of tensors that share their first dimension.

    ``TensorDataset(x, y)[i] == (x[i], y[i])`` for ``x`` of shape (N, ...) and
    ``y`` of shape (N, ...).
    """

    def __init__(self, *tensors: Tensor):
        if not tensors:
            raise ValueError("TensorDataset: expected at least one tensor")
        sizes = [t.shape[0] if getattr(t, "ndim", 0) > 0 else None for t in tensors]
        if None in sizes or len(set(sizes)) != 1:
            shapes = ", ".join(str(tuple(getattr(t, "shape", ()))) for t in tensors)
            raise ValueError(f"TensorDataset: size mismatch between tensors: every tensor needs "
                             f"the same first dimension, got shapes {shapes}")
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset: Dataset, indices: Sequence[int]):
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, idx):
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __len__(self) -> int:
        return len(self.indices)


class ConcatDataset(Dataset):
    """Map-style datasets one after another: ``len`` is the sum of their lengths."""

    def __init__(self, datasets: Iterable[Dataset]):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise TypeError("ConcatDataset: does not support IterableDataset "
                                "(use ChainDataset)")
        self.cumulative_sizes = self._cumsum(self.datasets)

    @staticmethod
    def _cumsum(datasets: list) -> list:
        out, total = [], 0
        for d in datasets:
            total += len(d)
            out.append(total)
        return out

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx: int):
        n = len(self)
        if idx < 0:
            if -idx > n:
                raise IndexError(f"ConcatDataset: index {idx} out of range for length {n}")
            idx += n
        if idx >= n:
            raise IndexError(f"ConcatDataset: index {idx} out of range for length {n}")
        which = bisect.bisect_right(self.cumulative_sizes, idx)
        start = self.cumulative_sizes[which - 1] if which > 0 else 0
        return self.datasets[which][idx - start]


class ChainDataset(IterableDataset):
    """Iterable datasets one after another."""

    def __init__(self, datasets: Iterable[Dataset]):
        self.datasets = datasets

    def __iter__(self) -> Iterator:
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise TypeError("ChainDataset: only supports IterableDataset, "
                                f"got {type(d).__name__}")
            yield from d

    def __len__(self) -> int:
        return sum(len(d) for d in self.datasets)


class StackDataset(Dataset):
    """Several datasets of one length side by side: sample ``i`` is the tuple of their ``i``-th
    samples (``StackDataset(images, labels)``) or, given by keyword, a dict
    (``StackDataset(image=images, label=labels)[i] == {"image": ..., "label": ...}``)."""

    def __init__(self, *args, **kwargs):
        if args and kwargs:
            raise ValueError("StackDataset: give the datasets either by position (samples are "
                             "tuples) or by keyword (samples are dicts), not both")
        if not args and not kwargs:
            raise ValueError("StackDataset: expected at least one dataset")
        self.datasets = args if args else kwargs
        lengths = [len(d) for d in (args or kwargs.values())]
        if len(set(lengths)) != 1:
            names = list(kwargs) if kwargs else list(range(len(args)))
            raise ValueError(f"StackDataset: size mismatch between datasets: every dataset "
                             f"needs the same length, got {dict(zip(names, lengths))}")
        self._length = lengths[0]

    def __getitem__(self, index):
        if isinstance(self.datasets, dict):
            return {k: d[index] for k, d in self.datasets.items()}
        return tuple(d[index] for d in self.datasets)

    def __getitems__(self, indices: list) -> list:
        """A batch of samples, through each dataset's own ``__getitems__`` where it has one."""
        named = self.datasets.items() if isinstance(self.datasets, dict) \
            else enumerate(self.datasets)
        columns = {}
        for key, d in named:
            getitems = getattr(d, "__getitems__", None)
            column = getitems(indices) if callable(getitems) else [d[i] for i in indices]
            if len(column) != len(indices):
                raise ValueError(f"StackDataset: dataset {key!r} returned {len(column)} samples "
                                 f"from __getitems__ for {len(indices)} indices")
            columns[key] = column
        rows = range(len(indices))
        if isinstance(self.datasets, dict):
            return [{k: c[r] for k, c in columns.items()} for r in rows]
        return [tuple(c[r] for c in columns.values()) for r in rows]

    def __len__(self) -> int:
        return self._length


def _lengths_from_fractions(fractions: Sequence[float], n: int) -> list:
    """Fractions summing to 1 -> integer lengths summing to ``n`` (PyTorch's rule:
    floor each, then hand the remainder out round-robin from the first)."""
    if not math.isclose(sum(fractions), 1.0, abs_tol=1e-6):
        raise ValueError(f"random_split: fractions must sum to 1, got {list(fractions)} "
                         f"(sum {sum(fractions)})")
    for f in fractions:
        if f < 0 or f > 1:
            raise ValueError(f"random_split: fraction {f} is not between 0 and 1")
    lengths = [int(math.floor(n * f)) for f in fractions]
    for i in range(n - sum(lengths)):
        lengths[i % len(lengths)] += 1
    return lengths


def random_split(dataset: Dataset, lengths: Sequence, generator=None) -> list:
    """Split ``dataset`` into non-overlapping random subsets of the given lengths.

    ``lengths`` are sizes summing to ``len(dataset)`` or fractions summing to 1
    (``[0.8, 0.2]``). The permutation is drawn from ``generator`` (the default
    generator when None), so ``nabla.manual_seed`` makes the split reproducible.
    """
    n = len(dataset)
    lengths = list(lengths)
    if lengths and all(isinstance(x, float) for x in lengths) and math.isclose(sum(lengths), 1.0,
                                                                                 abs_tol=1e-6):
        lengths = _lengths_from_fractions(lengths, n)
    if any(int(x) != x or x < 0 for x in lengths):
        raise ValueError(f"random_split: lengths must be non-negative integers or fractions "
                         f"summing to 1, got {lengths}")
    if sum(lengths) != n:
        raise ValueError(f"random_split: sum of input lengths ({sum(lengths)}) does not equal "
                         f"the length of the input dataset ({n})")
    perm = _generator(generator).numpy.permutation(n).tolist()
    out, offset = [], 0
    for length in lengths:
        out.append(Subset(dataset, perm[offset:offset + int(length)]))
        offset += int(length)
    return out


__all__ = ["Dataset", "IterableDataset", "TensorDataset", "Subset", "ConcatDataset",
           "ChainDataset", "StackDataset", "random_split"]
