"""Datasets: bundled real and toy sets, and readers of standard files the user has.

:func:`available` is the registry the command line lists (``nabla datasets``):
name -> ``(class, one-line description, default kwargs)``; :func:`get` builds
one by name.
"""
from __future__ import annotations

from typing import NamedTuple

from ..text import StdlibText
from .cifar import CIFAR10, read_cifar_bin
from .dates import Dates
from .idx import MNIST, FashionMNIST, read_idx
from .snippets import CodeSnippets
from .toy import Blobs, Circles, Digits, Moons, stratified_split


class DatasetEntry(NamedTuple):
    cls: type
    description: str
    defaults: dict


_REGISTRY = {
    "digits": DatasetEntry(Digits, "scikit-learn's 1 797 real 8x8 handwritten digits, 10 classes "
                           "(1 438 train / 359 test, bundled)", {}),
    "digits32": DatasetEntry(Digits, "the same digits upsampled to 32x32 (bilinear): the "
                             "default of the CIFAR-sized conv nets (bundled)", {"size": 32}),
    "moons": DatasetEntry(Moons, "two interleaving half circles, 2-D, 2 classes (generated)",
                          {"n_samples": 1000, "noise": 0.1, "seed": 0}),
    "circles": DatasetEntry(Circles, "a circle inside a circle, 2-D, 2 classes (generated)",
                            {"n_samples": 1000, "noise": 0.05, "factor": 0.5, "seed": 0}),
    "blobs": DatasetEntry(Blobs, "Gaussian clusters, 2-D, 3 classes (generated)",
                          {"n_samples": 1000, "centers": 3, "noise": 1.0, "seed": 0}),
    "mnist": DatasetEntry(MNIST, "MNIST 28x28 digits from IDX files under root, 10 classes "
                          "(not bundled)", {"root": "data"}),
    "fashion-mnist": DatasetEntry(FashionMNIST, "Fashion-MNIST 28x28 clothing from IDX files "
                                  "under root, 10 classes (not bundled)", {"root": "data"}),
    "cifar10": DatasetEntry(CIFAR10, "CIFAR-10 32x32 colour images from the binary files "
                            "under root, 10 classes (not bundled)", {"root": "data"}),
    "stdlib-text": DatasetEntry(StdlibText, "character windows of the Python standard library's "
                                "source, ~1 M characters, for language models (bundled with "
                                "Python)", {"seq_len": 128, "max_chars": 1_000_000}),
    "dates": DatasetEntry(Dates, "written dates in 20 formats -> ISO dates, 1950-2049, for "
                          "seq2seq (generated)", {"n_samples": 10000, "seed": 0}),
    "snippets": DatasetEntry(CodeSnippets, "256-character snippets of standard-library source "
                             "labelled by package, 8 classes (bundled with Python)", {}),
}


def available() -> dict:
    """Every registered dataset: name -> ``(class, description, default kwargs)``."""
    return dict(_REGISTRY)


def get(name: str, **kwargs):
    """Build the dataset registered as ``name``; ``kwargs`` override its defaults
    (``get("mnist", root="~/data", train=False)``)."""
    key = name.lower().replace("_", "-")
    if key not in _REGISTRY:
        raise KeyError(f"unknown dataset {name!r}; available: {', '.join(sorted(_REGISTRY))}")
    entry = _REGISTRY[key]
    return entry.cls(**{**entry.defaults, **kwargs})


__all__ = ["Digits", "Moons", "Circles", "Blobs", "MNIST", "FashionMNIST", "CIFAR10",
           "StdlibText", "Dates", "CodeSnippets",
           "available", "get", "read_idx", "read_cifar_bin", "stratified_split", "DatasetEntry"]
