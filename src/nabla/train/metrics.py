"""Metrics the fit loop accumulates over an epoch: loss, accuracy, top-k accuracy,
and for language models bits per character and perplexity.

A metric is a small accumulator: ``reset()``, ``update(output, target, loss)``
once per batch, ``compute()`` for the epoch value. They read detached arrays
(NumPy or CuPy) and never record a graph. Class predictions follow PyTorch's
layout: ``output`` is ``(B, C, ...)`` logits or scores, ``target`` is ``(B, ...)``
class indices (or one-hot / probabilities of ``output``'s shape). A binary output
``(B,)`` or ``(B, 1)`` is read as a logit: class 1 where it is above ``threshold``.
"""
from __future__ import annotations

import math

from ..backend import get_array_module
from ..tensor import Tensor

__all__ = ["Metric", "Loss", "BitsPerChar", "Perplexity", "Accuracy", "TokenAccuracy",
           "TopKAccuracy",
           "accuracy", "top_k_accuracy", "get_metric"]


def _array(x):
    return x.detach().array if isinstance(x, Tensor) else x


def _is_binary(output, target) -> bool:
    """(B,) or (B, 1) scores beside (B,) or (B, 1) targets: one logit per sample."""
    return output.ndim <= 1 or (output.shape[1] == 1 and target.ndim == output.ndim)


def _class_targets(output, target):
    """Class indices from ``target``: argmax over the class dim when it is one-hot."""
    xp = get_array_module(target)
    if target.ndim == output.ndim and target.ndim > 1:
        return xp.argmax(target, axis=1)
    return target


def _correct_count(output, target, k: int = 1, threshold: float = 0.0) -> tuple[int, int]:
    """(number correct, number of predictions) for top-``k`` accuracy."""
    output, target = _array(output), _array(target)
    xp = get_array_module(output)
    if output.ndim == 0:
        raise ValueError("accuracy: output is a scalar; expected (B, C, ...) scores or (B,) "
                         "logits")
    if _is_binary(output, target):
        pred = (output > threshold).reshape(-1)
        return int((pred == (target.reshape(-1) > 0.5)).sum()), pred.size
    target = _class_targets(output, target)
    if target.shape != output.shape[:1] + output.shape[2:]:
        raise ValueError(f"accuracy: output of shape {tuple(output.shape)} needs targets of "
                         f"shape {tuple(output.shape[:1] + output.shape[2:])}, got "
                         f"{tuple(target.shape)}")
    num_classes = output.shape[1]
    if not 1 <= k <= num_classes:
        raise ValueError(f"top_k_accuracy: k={k} must be between 1 and the number of classes "
                         f"({num_classes})")
    if k == 1:
        hit = xp.argmax(output, axis=1) == target
    else:
        # the k largest scores along the class dim, in no particular order
        topk = xp.argpartition(-output, k - 1, axis=1)[:, :k]
        hit = (topk == xp.expand_dims(target, 1)).any(axis=1)
    return int(hit.sum()), int(hit.size)


def accuracy(output, target, threshold: float = 0.0) -> float:
    """Fraction of samples whose arg-max class is the target; ``output`` (B, C, ...)."""
    correct, total = _correct_count(output, target, 1, threshold)
    return correct / total if total else float("nan")


def top_k_accuracy(output, target, k: int = 5) -> float:
    """Fraction of samples whose target is among the ``k`` highest scores."""
    correct, total = _correct_count(output, target, k)
    return correct / total if total else float("nan")


class Metric:
    """Accumulates one number over an epoch. Subclasses set ``name``."""

    name = "metric"

    def reset(self) -> None:
        raise NotImplementedError

    def update(self, output, target, loss: float | None = None) -> None:
        raise NotImplementedError

    def compute(self) -> float:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


class Loss(Metric):
    """Mean of the per-batch losses, weighted by batch size (the loss of the epoch
    when ``loss_fn`` averages over its batch)."""

    name = "loss"

    def reset(self) -> None:
        self._sum, self._count = 0.0, 0

    def update(self, output, target, loss: float | None = None) -> None:
        if loss is None:
            return
        n = int(_array(output).shape[0]) if _array(output).ndim else 1
        self._sum += float(loss) * n
        self._count += n

    def compute(self) -> float:
        return self._sum / self._count if self._count else float("nan")


class BitsPerChar(Loss):
    """The epoch's mean cross-entropy in bits: ``loss / ln 2`` (``bpc``). Read with a
    loss in nats per token (``cross_entropy``'s mean), as a language model's."""

    name = "bpc"

    def compute(self) -> float:
        return super().compute() / math.log(2.0)


class Perplexity(Loss):
    """``exp(loss)``: the number of equally likely tokens the model hesitates between."""

    name = "perplexity"

    def compute(self) -> float:
        loss = super().compute()
        return math.exp(loss) if loss < 700 else float("inf")


class Accuracy(Metric):
    """Fraction of correct arg-max (or, for binary logits, thresholded) predictions."""

    name = "accuracy"

    def __init__(self, threshold: float = 0.0):
        self.threshold = threshold
        self.reset()

    def reset(self) -> None:
        self._correct, self._total = 0, 0

    def update(self, output, target, loss: float | None = None) -> None:
        correct, total = _correct_count(output, target, 1, self.threshold)
        self._correct += correct
        self._total += total

    def compute(self) -> float:
        return self._correct / self._total if self._total else float("nan")


class TokenAccuracy(Accuracy):
    """Fraction of correctly predicted tokens of a sequence model: ``output`` (B, T, V)
    logits -- a language model's layout, classes last -- and ``target`` (B, T) ids;
    positions whose target is ``ignore_index`` (padding) are not counted."""

    name = "token_accuracy"

    def __init__(self, ignore_index: int = -100):
        self.ignore_index = ignore_index
        super().__init__()

    def update(self, output, target, loss: float | None = None) -> None:
        output, target = _array(output), _array(target)
        if output.ndim != target.ndim + 1 or output.shape[:-1] != target.shape:
            raise ValueError(f"token_accuracy: output (B, T, V) needs targets (B, T); got "
                             f"output {tuple(output.shape)} and target {tuple(target.shape)}")
        keep = target != self.ignore_index
        xp = get_array_module(output)
        self._correct += int(((xp.argmax(output, axis=-1) == target) & keep).sum())
        self._total += int(keep.sum())


class TopKAccuracy(Accuracy):
    """Fraction of samples whose target is among the ``k`` highest scores (``top5``)."""

    def __init__(self, k: int = 5):
        self.k = k
        self.name = f"top{k}"
        super().__init__()

    def update(self, output, target, loss: float | None = None) -> None:
        correct, total = _correct_count(output, target, self.k)
        self._correct += correct
        self._total += total


def get_metric(spec: str | Metric) -> Metric:
    """A fresh metric from a name (``"loss"``, ``"accuracy"``/``"acc"``, ``"top5"``,
    ``"top_3"``, ``"top-2"``) or a ``Metric`` instance (returned as is)."""
    if isinstance(spec, Metric):
        return spec
    if not isinstance(spec, str):
        raise TypeError(f"metrics: expected a metric name or a Metric, got "
                        f"{type(spec).__name__}")
    name = spec.lower().replace("_", "").replace("-", "")
    if name == "loss":
        return Loss()
    if name in ("bpc", "bitsperchar"):
        return BitsPerChar()
    if name in ("perplexity", "ppl"):
        return Perplexity()
    if name in ("accuracy", "acc", "top1"):
        return Accuracy()
    if name == "tokenaccuracy":
        return TokenAccuracy()
    if name.startswith("top") and name[3:].isdigit():
        return TopKAccuracy(int(name[3:]))
    raise ValueError(f"metrics: unknown metric {spec!r}; expected 'loss', 'accuracy', "
                     f"'topK' (e.g. 'top5'), 'token_accuracy', 'bpc' or 'perplexity'")
