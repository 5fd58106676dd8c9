"""``AdaptiveLogSoftmaxWithLoss``: the adaptive softmax of Grave et al., "Efficient softmax
approximation for GPUs" (2017), for outputs with very many classes.

Classes are split by ``cutoffs`` into a frequent head and rarer tail clusters. The head
predicts the frequent classes and one entry per cluster; each cluster's classes are
predicted from a smaller projection (``in_features / div_value**(i + 1)`` wide) and their
log-probability is the cluster's head log-probability plus the class's within the cluster.
Parameter names are PyTorch's (``head.weight``, ``tail.0.0.weight``, ...), so state dicts
map key for key.
"""
from __future__ import annotations

from collections import namedtuple
from numbers import Integral

import numpy as np

from ... import backend
from ...ops.index import gather, index_select
from ...ops.shape import cat
from ...ops.softmax import log_softmax
from ...tensor import Tensor
from ..module import Module
from .container import ModuleList, Sequential
from .linear import Linear

#: what ``forward`` returns: per-row target log-probabilities and their negated mean
ASMoutput = namedtuple("ASMoutput", ["output", "loss"])


class AdaptiveLogSoftmaxWithLoss(Module):
    """Adaptive log-softmax over ``n_classes`` classes of (N, in_features) or (in_features,).

    ``cutoffs``: increasing class boundaries, e.g. [1000, 10000] puts classes below 1000 in
    the head and two clusters after it. ``forward(input, target)`` returns
    ``(output, loss)``: the log-probability of each target (N,) and the mean negative
    log-likelihood; ``log_prob(input)`` the full (N, n_classes) log-probabilities and
    ``predict(input)`` their argmax. Targets must be sorted by frequency for this to help.
    """

    def __init__(self, in_features: int, n_classes: int, cutoffs, div_value: float = 4.0,
                 head_bias: bool = False, device=None, dtype=None):
        super().__init__()
        cutoffs = list(cutoffs)
        if (len(cutoffs) == 0 or not all(isinstance(c, Integral) for c in cutoffs)
                or cutoffs != sorted(cutoffs) or min(cutoffs) <= 0
                or max(cutoffs) > n_classes - 1 or len(set(cutoffs)) != len(cutoffs)):
            raise ValueError(
                f"AdaptiveLogSoftmaxWithLoss: cutoffs must be a non-empty increasing sequence "
                f"of unique ints in [1, n_classes - 1] = [1, {n_classes - 1}], got {cutoffs}")
        self.in_features, self.n_classes = in_features, n_classes
        self.cutoffs = [int(c) for c in cutoffs] + [n_classes]
        self.div_value, self.head_bias = div_value, head_bias
        self.shortlist_size = self.cutoffs[0]
        self.n_clusters = len(self.cutoffs) - 1
        self.head_size = self.shortlist_size + self.n_clusters
        self.head = Linear(in_features, self.head_size, bias=head_bias, device=device,
                           dtype=dtype)
        self.tail = ModuleList()
        for i in range(self.n_clusters):
            hidden = int(in_features // (div_value ** (i + 1)))
            size = self.cutoffs[i + 1] - self.cutoffs[i]
            self.tail.append(Sequential(
                Linear(in_features, hidden, bias=False, device=device, dtype=dtype),
                Linear(hidden, size, bias=False, device=device, dtype=dtype)))

    def reset_parameters(self) -> None:
        self.head.reset_parameters()
        for projection in self.tail:
            for layer in projection:
                layer.reset_parameters()

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, n_classes={self.n_classes}, "
                f"cutoffs={self.cutoffs[:-1]}, div_value={self.div_value}, "
                f"head_bias={self.head_bias}")

    # -- forward ------------------------------------------------------------------------
    def _check_input(self, input: Tensor, batched: bool) -> None:
        want = 2 if batched else 1
        if not isinstance(input, Tensor) or input.ndim != want \
                or input.shape[-1] != self.in_features:
            shape = tuple(input.shape) if isinstance(input, Tensor) else type(input).__name__
            raise RuntimeError(
                f"{self._head()}: expected input of shape "
                f"{'(N, ' if batched else '('}{self.in_features})"
                f"{' with a 1-D target (N,)' if batched else ' with a 0-D target'}, got {shape}")

    def forward(self, input: Tensor, target: Tensor) -> ASMoutput:
        """(N, in_features) and targets (N,) -> (output (N,), loss ()); unbatched: (), ()."""
        if not isinstance(target, Tensor) or target.ndim > 1:
            raise RuntimeError(f"{self._head()}: expected a 0-D or 1-D target Tensor, got "
                               f"{getattr(target, 'shape', type(target).__name__)}")
        batched = target.ndim == 1
        self._check_input(input, batched)
        if batched and input.shape[0] != target.shape[0]:
            raise RuntimeError(f"{self._head()}: input of shape {tuple(input.shape)} and target "
                               f"of shape {tuple(target.shape)} differ in batch size")
        if not batched:
            input, target = input.reshape((1, -1)), target.reshape((1,))
        labels = target.detach().cpu().numpy().astype(np.int64)
        if labels.size and (labels.min() < 0 or labels.max() >= self.n_classes):
            raise RuntimeError(
                f"{self._head()}: target values must lie in [0, {self.n_classes - 1}], got "
                f"values in [{labels.min()}, {labels.max()}]")
        head_index = np.minimum(labels, self.shortlist_size - 1)  # the head entry each row reads
        rows, parts = [np.flatnonzero(labels < self.shortlist_size)], []
        for i in range(self.n_clusters):
            low, high = self.cutoffs[i], self.cutoffs[i + 1]
            members = np.flatnonzero((labels >= low) & (labels < high))
            head_index[members] = self.shortlist_size + i
            if members.size == 0:
                continue
            cluster = log_softmax(self.tail[i](index_select(input, 0, self._index(members,
                                                                                     input))), 1)
            parts.append(gather(cluster, 1, self._index(labels[members] - low, input)[:, None]))
            rows.append(members)
        head = log_softmax(self.head(input), 1)
        output = gather(head, 1, self._index(head_index, input)[:, None]).reshape((-1,))
        if parts:  # the within-cluster terms, put back in row order
            order = np.concatenate(rows)
            within = cat([head.new_zeros((rows[0].size, 1))] + parts, 0).reshape((-1,))
            output = output + index_select(within, 0, self._index(np.argsort(order), input))
        loss = (-output).mean()
        return ASMoutput(output if batched else output.reshape(()), loss)

    @staticmethod
    def _index(array: np.ndarray, like: Tensor) -> Tensor:
        return Tensor._wrap(backend.to_device(np.ascontiguousarray(array, dtype=np.int64),
                                              backend.device_of(like.array)))

    def _full_log_prob(self, input: Tensor) -> Tensor:
        head = log_softmax(self.head(input), 1)
        columns = [head[:, :self.shortlist_size]]
        for i in range(self.n_clusters):
            cluster = log_softmax(self.tail[i](input), 1)
            columns.append(cluster + head[:, self.shortlist_size + i:self.shortlist_size + i + 1])
        return cat(columns, 1)

    def log_prob(self, input: Tensor) -> Tensor:
        """(N, in_features) -> (N, n_classes) log-probabilities; (in_features,) -> (n_classes,)."""
        batched = isinstance(input, Tensor) and input.ndim == 2
        self._check_input(input, batched)
        out = self._full_log_prob(input if batched else input.reshape((1, -1)))
        return out if batched else out.reshape((-1,))

    def predict(self, input: Tensor) -> Tensor:
        """The most likely class of each row: (N, in_features) -> (N,) int64."""
        return self.log_prob(input).argmax(-1)


__all__ = ["AdaptiveLogSoftmaxWithLoss"]
