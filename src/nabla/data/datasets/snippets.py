"""Code snippets of the standard library labelled by package: many-to-one classification.

A snippet is ``snippet_chars`` characters of a ``.py`` file of the running
interpreter's standard library, starting at the beginning of a line; its label
is the package the file belongs to (``asyncio``, ``email``, ...). Snippets of
a file follow one another without overlap: the next one starts at the first
line that begins after the previous one ends, and a file's tail shorter than
``snippet_chars`` is dropped. The source files are those of
:func:`~nabla.data.text.stdlib_corpus` (no tests). Nothing is downloaded.
"""
from __future__ import annotations

import bisect
import os
from typing import Callable, Sequence

import numpy as np

from ..dataset import Dataset
from ..text import (CharVocab, _hash_order, _read_file, _split_by_file, _stdlib_files,
                    _stdlib_root)

# packages with at least ~180 000 characters of source each, present in Python 3.8 - 3.13
DEFAULT_PACKAGES = ("asyncio", "email", "http", "importlib", "logging", "multiprocessing",
                    "unittest", "xml")


def _snippet_starts(text: str, length: int) -> list[int]:
    """Offsets of the non-overlapping, line-aligned snippets of ``length`` characters."""
    line_starts = [0] + [i + 1 for i, c in enumerate(text) if c == "\n"]
    starts, pos = [], 0
    while pos + length <= len(text):
        starts.append(pos)
        k = bisect.bisect_left(line_starts, pos + length)
        if k == len(line_starts):
            break
        pos = line_starts[k]
    return starts


class CodeSnippets(Dataset):
    """Snippets of standard-library source, labelled by package.

    Split BY FILE: within each package the files, in the order of the
    SHA-256 of their paths, are split as :class:`~nabla.data.text.TextCorpus`
    splits a directory (test is filled from the last file back up to
    ``test_fraction`` of the package's characters; the smallest file when none
    fits), so test snippets come from files never seen in training.

    ``ds[i] = (ids, label)``: int64 array (snippet_chars,) and an int64
    scalar. ``classes`` (the package names, the order of ``packages``),
    ``num_classes``, ``class_counts`` (class -> snippets in this split),
    ``files`` (this split's files, relative to the standard library),
    ``sources`` ((file, character offset) of each snippet) and ``vocab``: a
    :class:`~nabla.data.text.CharVocab` of the characters of the training files
    plus ``<unk>``, the same for both splits. Classes are unbalanced unless
    ``balanced=True``: then every class keeps as many snippets as the smallest
    one in this split, evenly spaced through its snippets.

    ``root``: one's own code instead of the standard library: a directory whose
    subdirectories are the classes (``packages`` defaults to every one of them with
    ``.py`` files), read the same way.
    """

    def __init__(self, train: bool = True, packages: Sequence[str] | None = None,
                 snippet_chars: int = 256, *, root: str | None = None,
                 test_fraction: float = 0.2, balanced: bool = False,
                 transform: Callable | None = None, target_transform: Callable | None = None):
        if not isinstance(snippet_chars, int) or snippet_chars < 1:
            raise ValueError(f"CodeSnippets: snippet_chars should be a positive integer, got "
                             f"{snippet_chars!r}")
        if not 0.0 < test_fraction < 1.0:
            raise ValueError(f"CodeSnippets: test_fraction should be in (0, 1), got "
                             f"{test_fraction}")
        if root is not None:
            root = os.path.expanduser(str(root))
            if not os.path.isdir(root):
                raise ValueError(f"CodeSnippets: {root} is not a directory (expected one "
                                 f"subdirectory of .py files per class)")
            if packages is None:
                packages = [d for d in sorted(os.listdir(root))
                            if os.path.isdir(os.path.join(root, d))
                            and _stdlib_files(root, d)]
        elif packages is None:
            packages = DEFAULT_PACKAGES
        packages = [packages] if isinstance(packages, str) else list(packages)
        where = "the standard library" if root is None else root
        if len(packages) < 2 or len(set(packages)) != len(packages):
            raise ValueError(f"CodeSnippets: packages should be at least two distinct package "
                             f"names (subdirectories of {where} with .py files), got "
                             f"{packages}")
        self.train, self.snippet_chars, self.test_fraction = train, snippet_chars, test_fraction
        self.transform, self.target_transform = transform, target_transform
        self.classes = packages
        self.num_classes = len(packages)

        self.root = root
        root = _stdlib_root() if root is None else root
        splits = [self._split_package(root, p, test_fraction) for p in packages]
        self.vocab = CharVocab([t for train_files, _ in splits for _, t in train_files],
                               unk=True)
        ids, labels, self.sources, self.files = [], [], [], []
        for label, (train_files, test_files) in enumerate(splits):
            for name, text in train_files if train else test_files:
                self.files.append(name)
                encoded = self.vocab.encode(text)
                for start in _snippet_starts(text, snippet_chars):
                    ids.append(encoded[start:start + snippet_chars])
                    labels.append(label)
                    self.sources.append((name, start))
        labels = np.array(labels, dtype=np.int64)
        keep = self._balanced_indices(labels) if balanced else np.arange(len(labels))
        self._ids = np.stack(ids)[keep]  # (N, snippet_chars)
        self._labels = labels[keep]
        self.sources = [self.sources[i] for i in keep]
        counts = np.bincount(self._labels, minlength=self.num_classes)
        self.class_counts = dict(zip(self.classes, counts.tolist()))

    def _split_package(self, root: str, package: str, test_fraction: float) -> tuple:
        """([(name, text)] train files, [(name, text)] test files) of one package."""
        if not os.path.isdir(os.path.join(root, package)):
            raise ValueError(f"CodeSnippets: no package {package!r} in "
                             f"{'the standard library at ' if self.root is None else ''}{root}")
        names = _hash_order(_stdlib_files(root, package))
        files = [(n, t) for n in names if len(t := _read_file(os.path.join(root, n)))
                 >= self.snippet_chars]
        if len(files) < 2:
            raise ValueError(f"CodeSnippets: package {package!r} has {len(files)} source files "
                             f"of at least snippet_chars={self.snippet_chars} characters; "
                             f"splitting by file needs two")
        train, _, test = _split_by_file([len(t) for _, t in files],
                                        (1.0 - test_fraction, 0.0, test_fraction))
        return [files[i] for i in train], [files[i] for i in test]

    def _balanced_indices(self, labels: np.ndarray) -> np.ndarray:
        """The same number of snippets of every class, evenly spaced through each class."""
        per_class = [np.flatnonzero(labels == c) for c in range(self.num_classes)]
        n = min(len(idx) for idx in per_class)
        return np.concatenate([idx[np.linspace(0, len(idx) - 1, n).round().astype(np.int64)]
                               for idx in per_class])

    def __len__(self) -> int:
        return len(self._labels)

    def __getitem__(self, index: int):
        ids, label = self._ids[index].copy(), self._labels[index]
        if self.transform is not None:
            ids = self.transform(ids)
        if self.target_transform is not None:
            label = self.target_transform(label)
        return ids, label

    def __repr__(self) -> str:
        split = "train" if self.train else "test"
        return (f"CodeSnippets(split={split}, samples={len(self)}, classes={self.num_classes}, "
                f"snippet_chars={self.snippet_chars}, files={len(self.files)})")


__all__ = ["CodeSnippets", "DEFAULT_PACKAGES"]
