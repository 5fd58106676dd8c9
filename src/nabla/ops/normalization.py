"""Normalization: batch, layer, RMS, group and instance norm, local response norm, normalize.

Layer, group and instance norm (and batch norm on empty inputs) share one
fused primitive, ``Standardize``: over the reduced ``axes`` of each slice,

    mu = mean(x),  sigma^2 = mean((x - mu)^2)  (biased),  x_hat = (x - mu) / sqrt(sigma^2 + eps)

and they differ only in which axes they reduce. The affine part
``y = gamma * x_hat + beta`` is composed from elementwise ops (the engine sums
the broadcast gradients of gamma and beta). The Jacobian of x_hat is symmetric,

    d x_hat = rstd * (dx - mean(dx) - x_hat * mean(dx * x_hat)),

so the vjp and the jvp are the same projection of the cotangent or tangent.
Training-mode batch norm, on the hot path of every CNN, fuses the affine part
too (``BatchNormTrain``). Eval-mode batch norm is one per-channel affine map
(``ChannelAffine``): the running statistics fold into one scale and one shift per
channel. On CuPy arrays both run as fused kernels (``nabla.kernels.batchnorm``).
"""
from __future__ import annotations

import math
import numbers

from ..autograd.function import (Function, autocast_args, autocast_float32,
                                 jvp_by_composition, vjp_by_composition)
from ..autograd.grad_mode import no_grad
from .. import backend, kernels
from ..backend import get_array_module
from ..tensor import Tensor
from .reduction import _rules_differentiated, vector_norm
from .shape import pad


# -- channels-last helpers -------------------------------------------------------------------
def _channel_rows(x):
    """x (N, C, L) as the (N*L, C) matrix of its rows when that is a view (channels-last
    memory, as a convolution leaves it), else None."""
    if x.ndim != 3 or x.shape[1] < 2:
        return None
    rows = x.transpose(0, 2, 1)
    if not rows.flags.c_contiguous:
        return None
    return rows.reshape(-1, x.shape[1])


def _tile_count(rows) -> int:
    """How many rows of (M, C) make one line of about 1,024 elements (dividing M): a
    per-channel vector repeated that many times broadcasts over long contiguous lines
    instead of rows of C elements, which NumPy loops over slowly."""
    m, c = rows.shape
    count = max(1, min(m, 1024 // c))
    while m % count:
        count -= 1
    return count


def _tiles(rows):
    """(M, C) rows viewed as (M / k, k * C) lines (``_tile_count``)."""
    k = _tile_count(rows)
    return rows.reshape(-1, k * rows.shape[1])


def _tiled(xp, v, rows):
    """The per-channel vector ``v`` (C,) repeated to one line of ``_tiles(rows)``."""
    return xp.tile(v.astype(rows.dtype, copy=False), _tile_count(rows))


# -- the fused primitive -------------------------------------------------------------------
class Standardize(Function):
    """``(x - mean) / sqrt(var + eps)`` over ``axes`` (keepdim statistics)."""

    def forward(self, x, axes, eps, stats=None):
        self.axes, self.eps = axes, eps
        if x.size == 0:
            self.mean = self.rstd = None
            return x.copy()
        mean = x.mean(axis=axes, keepdims=True)
        centered = x - mean
        var = (centered * centered).mean(axis=axes, keepdims=True)
        rstd = 1.0 / self.xp.sqrt(var + eps)
        self.mean, self.rstd = mean, rstd.astype(x.dtype, copy=False)
        if stats is not None:  # the caller (batch_norm) updates its running statistics from them
            stats["mean"], stats["var"] = mean, var
        return centered * self.rstd

    def _x_hat_and_rstd(self) -> tuple[Tensor, Tensor]:
        """x_hat and rstd as Tensors: constants from the forward in a plain backward,
        graphs of x when the rule itself is differentiated (second order)."""
        x = self.inputs[0]
        if _rules_differentiated():
            centered = x - x.mean(dim=self.axes, keepdim=True)
            var = (centered * centered).mean(dim=self.axes, keepdim=True)
            rstd = (var + self.eps).rsqrt()
            return centered * rstd, rstd
        return Tensor._wrap((x.array - self.mean) * self.rstd), Tensor._wrap(self.rstd)

    def _project(self, g: Tensor) -> Tensor:
        if self.mean is None:  # empty input: nothing flows
            return g
        x_hat, rstd = self._x_hat_and_rstd()
        g_mean = g.mean(dim=self.axes, keepdim=True)
        gx_mean = (g * x_hat).mean(dim=self.axes, keepdim=True)
        return (g - g_mean - x_hat * gx_mean) * rstd

    def vjp(self, g):
        return self._project(g)

    def jvp(self, t):
        return self._project(t)


class LayerNormAffine(Function):
    """Layer norm with its affine part, fused: x (*, D) as rows (R, D), weight and bias
    (D,) -> gamma * x_hat + beta, statistics per row.

    Every Transformer block runs two, so forward and backward are written on arrays:
    row sums as GEMVs with a ones vector, the backward from the saved x_hat and
    rstd as dx = rstd (g gamma - mean(g gamma) - x_hat mean(g gamma x_hat)), and the
    parameter gradients as ones-vector GEMVs over the rows. When the rule is itself
    differentiated it runs in Tensor ops (``_graph``)."""

    def forward(self, x, weight, bias, eps):
        xp, d = self.xp, weight.shape[0]
        self.eps, self.shape = eps, x.shape
        rows = x.reshape(-1, d)
        n = rows.shape[0]
        if kernels.usable(x, weight, bias):  # one GPU kernel, a block per row
            y, self.x_hat, self.rstd = kernels.layer_norm_rows(xp.ascontiguousarray(rows),
                                                               weight, bias, eps)
            return y.reshape(x.shape)
        ones_d = backend.ones_vector(xp, d, x.dtype)
        self.x_hat = x_hat = xp.empty_like(rows)
        self.rstd = rstd = xp.empty(n, dtype=x.dtype)
        y = xp.empty_like(rows)

        def block(s, e):  # rows s:e, each independent of the others
            xh = x_hat[s:e]
            xp.subtract(rows[s:e], (rows[s:e] @ ones_d / x.dtype.type(d))[:, None], out=xh)
            var = backend.einsum(xp, "rd,rd->r", xh, xh) / d
            rstd[s:e] = 1.0 / xp.sqrt(var + eps)
            xh *= rstd[s:e, None]
            xp.multiply(xh, weight, out=y[s:e])
            y[s:e] += bias

        backend.parallel_rows(xp, block, n, rows.size)
        return y.reshape(x.shape)

    def vjp(self, g):
        if _rules_differentiated():
            return vjp_by_composition(self, self._graph, g)
        xp, x_hat, rstd = self.xp, self.x_hat, self.rstd
        n, d = x_hat.shape
        weight = self.inputs[1].array
        g = g.array.reshape(n, d)
        need = self.needs_input_grad
        if kernels.usable(g, x_hat, weight):  # dx in one GPU kernel, the rest two GEMVs
            ones_r = backend.ones_vector(xp, n, g.dtype)
            return (Tensor._wrap(kernels.layer_norm_rows_grad(g, x_hat, rstd, weight)
                                 .reshape(self.shape)) if need[0] else None,
                    Tensor._wrap(ones_r @ (g * x_hat)) if need[1] else None,
                    Tensor._wrap(ones_r @ g) if need[2] else None)
        dx = xp.empty_like(g) if need[0] else None
        ones_d = backend.ones_vector(xp, d, g.dtype)

        def block(s, e):  # dx of rows s:e and their share of dweight, dbias
            gb, xh = g[s:e], x_hat[s:e]
            ones_r = backend.ones_vector(xp, e - s, g.dtype)
            dw = ones_r @ (gb * xh) if need[1] else None
            db = ones_r @ gb if need[2] else None
            if need[0]:
                gh = xp.multiply(gb, weight, out=dx[s:e])
                m1 = gh @ ones_d / g.dtype.type(d)
                m2 = backend.einsum(xp, "rd,rd->r", gh, xh) / d
                gh -= m1[:, None]
                gh -= xh * m2[:, None]
                gh *= rstd[s:e, None]
            return dw, db

        parts = backend.parallel_rows(xp, block, n, g.size)
        grads = [None if dx is None else Tensor._wrap(dx.reshape(self.shape)), None, None]
        for i in (1, 2):
            if need[i]:
                total = parts[0][i - 1]
                for p in parts[1:]:
                    total = total + p[i - 1]
                grads[i] = Tensor._wrap(total)
        return tuple(grads)

    def _graph(self, x, weight, bias):
        """The same map in Tensor ops (for rules that are differentiated)."""
        axes = (x.ndim - 1,)
        centered = x - x.mean(dim=axes, keepdim=True)
        rstd = ((centered * centered).mean(dim=axes, keepdim=True) + self.eps).rsqrt()
        return centered * rstd * weight + bias

    def jvp(self, tx, tw, tb):
        return jvp_by_composition(self, self._graph, (tx, tw, tb))


class BatchNormTrain(Function):
    """Training-mode batch norm with its affine part, fused: x (N, C, L), weight and
    bias (C,) -> gamma * x_hat + beta, statistics over N and L.

    Batch norm follows every convolution of a ResNet, so its backward is a hot
    path. In a plain backward the three gradients come from two reductions and
    one fused pass, using that x_hat is affine in x within a channel:

        dx = A g + B x + C,  A = gamma rstd,  B = -A rstd mean(g x_hat),
        C = -A mean(g) - B mean(x)

    (about six passes over the data instead of fifteen through the composed
    ops). On a GPU both directions are kernels (``kernels.batchnorm``): one read for
    the per-channel sums, one elementwise pass. When the rule is itself
    differentiated it runs in Tensor ops.
    """

    def forward(self, x, weight, bias, eps, stats):
        self.eps = eps
        self.rows = _channel_rows(x)
        if kernels.usable(x, weight, bias):  # per-channel sums, then one elementwise pass
            y, mean, var, rstd = kernels.batch_norm_train(x, weight, bias, eps)
            # the statistics in the shapes of the composed paths (vjp falls back to them)
            if self.rows is not None:
                self.mean, self.rstd = mean, rstd
            else:
                self.mean, self.rstd = mean.reshape(1, -1, 1), rstd.reshape(-1, 1)
            stats["mean"], stats["var"] = mean, var
            return y
        if self.rows is not None:
            return self._forward_rows(x, weight, bias, eps, stats)
        mean = x.mean(axis=(0, 2), keepdims=True)                           # (1, C, 1)
        y = x - mean
        var = backend.einsum(self.xp, "ncl,ncl->c", y, y)[:, None] / (x.shape[0] * x.shape[2])
        rstd = (1.0 / self.xp.sqrt(var + eps)).astype(x.dtype, copy=False)  # (C, 1)
        self.mean, self.rstd = mean, rstd
        stats["mean"], stats["var"] = mean, var
        y *= rstd * weight[:, None]
        y += bias[:, None]
        return y

    # -- channels-last inputs (a convolution's output): everything on the (M, C) rows ---------
    def _forward_rows(self, x, weight, bias, eps, stats):
        xp, rows = self.xp, self.rows
        m, c = rows.shape
        mean = backend.ones_vector(xp, m, x.dtype) @ rows / x.dtype.type(m)            # (C,)
        y = _tiles(rows) - _tiled(xp, mean, rows)
        centered = y.reshape(m, c)
        var = backend.einsum(xp, "mc,mc->c", centered, centered) / m
        rstd = (1.0 / xp.sqrt(var + eps)).astype(x.dtype, copy=False)
        self.mean, self.rstd = mean, rstd
        stats["mean"], stats["var"] = mean.reshape(1, c, 1), var.reshape(c, 1)
        y *= _tiled(xp, rstd * weight, rows)
        y += _tiled(xp, bias, rows)
        n, _, length = x.shape
        return y.reshape(n, length, c).transpose(0, 2, 1)

    def _vjp_rows(self, g):
        xp, rows = self.xp, self.rows
        m, c = rows.shape
        g_rows = _channel_rows(g)
        if g_rows is None:
            g_rows = xp.ascontiguousarray(g.transpose(0, 2, 1)).reshape(m, c)
        weight, mean, rstd = self.inputs[1].array, self.mean, self.rstd
        g_sum = backend.ones_vector(xp, m, g.dtype) @ g_rows
        gx_hat_sum = rstd * (backend.einsum(xp, "mc,mc->c", g_rows, rows) - mean * g_sum)
        grads = [None, None, None]
        if self.needs_input_grad[0]:
            a = weight * rstd
            b = -a * rstd * (gx_hat_sum / m)
            shift = -a * (g_sum / m) - b * mean
            dx = _tiles(g_rows) * _tiled(xp, a, rows)
            dx += _tiles(rows) * _tiled(xp, b, rows)
            dx += _tiled(xp, shift, rows)
            n, _, length = g.shape
            grads[0] = Tensor._wrap(dx.reshape(n, length, c).transpose(0, 2, 1))
        if self.needs_input_grad[1]:
            grads[1] = Tensor._wrap(gx_hat_sum)
        if self.needs_input_grad[2]:
            grads[2] = Tensor._wrap(g_sum)
        return tuple(grads)

    def vjp(self, g):
        if _rules_differentiated():
            return self._vjp_graph(g)
        x, weight = self.inputs[0].array, self.inputs[1].array
        if kernels.usable(g.array, x, weight):  # two reductions and one elementwise pass
            need = self.needs_input_grad
            grads = kernels.batch_norm_train_grad(x, g.array, self.mean, self.rstd, weight,
                                                  need_input=need[0])
            return tuple(Tensor._wrap(a) if n else None for a, n in zip(grads, need))
        if self.rows is not None:
            return self._vjp_rows(g.array)
        xp = self.xp
        x, weight, g = self.inputs[0].array, self.inputs[1].array[:, None], g.array
        count = x.shape[0] * x.shape[2]
        mean, rstd = self.mean[0], self.rstd                                # (C, 1) each
        g_sum = g.sum(axis=(0, 2))[:, None]
        # sum(g * x_hat) = rstd * (sum(g * x) - mean * sum(g)): no x_hat needed
        gx_hat_sum = rstd * (backend.einsum(xp, "ncl,ncl->c", g, x)[:, None] - mean * g_sum)
        grads = [None, None, None]
        if self.needs_input_grad[0]:
            a = weight * rstd
            b = -a * rstd * (gx_hat_sum / count)
            c = -a * (g_sum / count) - b * mean
            dx = g * a
            dx += x * b
            dx += c
            grads[0] = Tensor._wrap(dx)
        if self.needs_input_grad[1]:
            grads[1] = Tensor._wrap(gx_hat_sum[:, 0])
        if self.needs_input_grad[2]:
            grads[2] = Tensor._wrap(g_sum[:, 0])
        return tuple(grads)

    def _x_hat_and_rstd(self) -> tuple[Tensor, Tensor]:
        """x_hat and rstd as graphs of x (for rules that are differentiated)."""
        x = self.inputs[0]
        centered = x - x.mean(dim=(0, 2), keepdim=True)
        rstd = ((centered * centered).mean(dim=(0, 2), keepdim=True) + self.eps).rsqrt()
        return centered * rstd, rstd

    def _vjp_graph(self, g: Tensor) -> tuple:
        x_hat, rstd = self._x_hat_and_rstd()
        h = g * self.inputs[1].reshape(-1, 1)
        dx = (h - h.mean(dim=(0, 2), keepdim=True)
              - x_hat * (h * x_hat).mean(dim=(0, 2), keepdim=True)) * rstd
        return dx, (g * x_hat).sum(dim=(0, 2)), g.sum(dim=(0, 2))

    def jvp(self, tx, tw, tb):
        x_hat, rstd = self._x_hat_and_rstd()
        terms = []
        if tx is not None:
            dx_hat = (tx - tx.mean(dim=(0, 2), keepdim=True)
                      - x_hat * (tx * x_hat).mean(dim=(0, 2), keepdim=True)) * rstd
            terms.append(dx_hat * self.inputs[1].reshape(-1, 1))
        if tw is not None:
            terms.append(x_hat * tw.reshape(-1, 1))
        if tb is not None:
            terms.append(tb.reshape(-1, 1))
        out = terms[0]
        for term in terms[1:]:
            out = out + term
        return out


class ChannelAffine(Function):
    """``x * scale + shift`` per channel of x (N, C, *), scale and shift (C,): batch norm
    in evaluation mode once the running statistics are folded into them. One pass on a
    GPU (``kernels.channel_affine``) instead of a product and a sum."""

    def forward(self, x, scale, shift):
        if kernels.usable(x, scale, shift):
            return kernels.channel_affine(x, scale, shift)
        shape = (x.shape[1],) + (1,) * (x.ndim - 2)
        return x * scale.reshape(shape) + shift.reshape(shape)

    def _axes(self) -> tuple:
        return (0,) + tuple(range(2, self.inputs[0].ndim))

    def vjp(self, g):
        x, scale, _ = self.inputs
        need = self.needs_input_grad
        return (g * scale.reshape(_channel_shape(x)) if need[0] else None,
                (g * x).sum(dim=self._axes()) if need[1] else None,
                g.sum(dim=self._axes()) if need[2] else None)

    def jvp(self, tx, tscale, tshift):
        x, scale, _ = self.inputs
        shape = _channel_shape(x)
        terms = [t for t in (None if tx is None else tx * scale.reshape(shape),
                             None if tscale is None else x * tscale.reshape(shape),
                             None if tshift is None else tshift.reshape(shape))
                 if t is not None]
        out = terms[0]
        for term in terms[1:]:
            out = out + term
        return out


# -- helpers -------------------------------------------------------------------------------
def _check_input(input, op: str, min_ndim: int, layout: str) -> None:
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(input).__name__}")
    if backend.dtype_kind(input.dtype) != "f":
        raise RuntimeError(f"{op}: expected a floating-point input, got dtype {input.dtype}; "
                           f"convert with .float()")
    if input.ndim < min_ndim:
        raise ValueError(f"{op}: expected an input of shape {layout}, got shape "
                         f"{tuple(input.shape)}")


def _check_vector(op: str, name: str, t, size: int) -> None:
    """``t`` (if given) must be a 1-D tensor of ``size`` entries, one per channel."""
    if t is None:
        return
    if not isinstance(t, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor or None, got {type(t).__name__}")
    if tuple(t.shape) != (size,):
        raise ValueError(f"{op}: {name} must have shape ({size},) (one entry per channel), "
                         f"got {tuple(t.shape)}")


def _channel_shape(input: Tensor) -> tuple:
    """(C, 1, ..., 1): a per-channel vector laid out to broadcast against (N, C, *)."""
    return (input.shape[1],) + (1,) * (input.ndim - 2)


def _affine(out: Tensor, weight, bias, shape: tuple) -> Tensor:
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


def _update_running(running: Tensor | None, batch_value, momentum: float) -> None:
    """running <- (1 - momentum) * running + momentum * batch_value, in place."""
    if running is None:
        return
    with no_grad():
        value = batch_value.reshape(running.shape).astype(running.dtype, copy=False)
        running.array[...] = (1.0 - momentum) * running.array + momentum * value
        running._version[0] += 1


def _apply_running(input: Tensor, running_mean: Tensor, running_var: Tensor, weight, bias,
                   eps: float) -> Tensor:
    """Eval mode: normalise with fixed statistics, folded into one scale and one shift
    per channel (two passes over the input instead of four; one on a GPU)."""
    shape = _channel_shape(input)
    scale = (running_var.to(input.dtype) + eps).rsqrt()
    if weight is not None:
        scale = scale * weight
    shift = -running_mean.to(input.dtype) * scale
    if bias is not None:
        shift = shift + bias
    if input.numel() == 0 or not input.dtype == scale.dtype == shift.dtype:
        return input * scale.reshape(shape) + shift.reshape(shape)
    return ChannelAffine.apply(input, scale, shift)


# -- batch norm ----------------------------------------------------------------------------
def _check_channel_vectors(op: str, input: Tensor, running_mean, running_var, weight,
                           bias) -> int:
    """Check every per-channel argument has C entries; return C."""
    channels = input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        _check_vector(op, name, t, channels)
    return channels


def _normalize_with_running(op: str, when: str, input: Tensor, running_mean, running_var,
                            weight, bias, eps: float) -> Tensor:
    """Normalise with the running statistics, which must then be given."""
    if running_mean is None or running_var is None:
        raise ValueError(f"{op}: running_mean and running_var must be given {when}")
    return _apply_running(input, running_mean, running_var, weight, bias, eps)


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-05) -> Tensor:
    """Batch normalization of (N, C), (N, C, L) or (N, C, H, W) per channel C.

    Training: normalise with the batch's mean and biased variance over every
    axis but C, and update ``running_mean``/``running_var`` in place with the
    batch mean and *unbiased* variance (``momentum`` weighs the new value), as
    PyTorch does. Eval: normalise with the running statistics.
    """
    op = "batch_norm"
    _check_input(input, op, 2, "(N, C, *)")
    channels = _check_channel_vectors(op, input, running_mean, running_var, weight, bias)
    if not training:
        return _normalize_with_running(op, "in evaluation mode (training=False)", input,
                                       running_mean, running_var, weight, bias, eps)

    axes = (0,) + tuple(range(2, input.ndim))
    count = math.prod(input.shape[a] for a in axes)
    if count == 1:
        raise ValueError(f"{op}: expected more than 1 value per channel when training, got "
                         f"input of shape {tuple(input.shape)}")
    if input.numel() == 0:  # nothing to normalise; the running statistics stay as they are
        return _affine(Standardize.apply(input, axes=axes, eps=eps), weight, bias,
                       _channel_shape(input))
    (input,) = autocast_args(BatchNormTrain, input)  # float32 under autocast
    xp = get_array_module(input.array)
    if weight is None:  # constants: the fused op always applies an affine map
        weight = Tensor._wrap(xp.ones(channels, dtype=input.dtype))
    if bias is None:
        bias = Tensor._wrap(xp.zeros(channels, dtype=input.dtype))
    stats = {}
    rows = input.reshape(input.shape[0], channels, -1)                      # (N, C, L)
    out = BatchNormTrain.apply(rows, weight.to(input.dtype), bias.to(input.dtype), eps=eps,
                               stats=stats).reshape(input.shape)
    # a view of a temporary no one else holds, and BatchNormTrain's vjp does not read its
    # output: hand it back as a fresh tensor, so that an in-place op may follow
    # (``nn.ReLU(inplace=True)`` after batch norm, as in every ResNet)
    out._version, out._base = [0], None
    _update_running(running_mean, stats["mean"], momentum)
    # the running variance estimates the population: Bessel's correction, like PyTorch
    _update_running(running_var, stats["var"] * (count / (count - 1)), momentum)
    return out


def instance_norm(input: Tensor, running_mean: Tensor | None = None,
                  running_var: Tensor | None = None, weight: Tensor | None = None,
                  bias: Tensor | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-05) -> Tensor:
    """Instance normalization of (N, C, *): each sample's channel over its own spatial axes.

    With ``use_input_stats`` the running statistics (if given) are updated with
    the batch average of the per-instance mean and unbiased variance, as in PyTorch.
    """
    op = "instance_norm"
    _check_input(input, op, 3, "(N, C, *) with at least one spatial dimension")
    _check_channel_vectors(op, input, running_mean, running_var, weight, bias)
    if not use_input_stats:
        return _normalize_with_running(op, "when use_input_stats=False", input, running_mean,
                                       running_var, weight, bias, eps)
    axes = tuple(range(2, input.ndim))
    count = math.prod(input.shape[a] for a in axes)
    if count == 1:
        raise ValueError(f"{op}: expected more than 1 spatial element per channel when "
                         f"training, got input of shape {tuple(input.shape)}")
    stats = {}
    out = Standardize.apply(input, axes=axes, eps=eps, stats=stats)
    if stats and input.shape[0]:
        _update_running(running_mean, stats["mean"].mean(axis=0), momentum)
        unbiased = stats["var"] * (count / (count - 1))
        _update_running(running_var, unbiased.mean(axis=0), momentum)
    return _affine(out, weight, bias, _channel_shape(input))


# -- layer norm, rms norm and group norm ---------------------------------------------------
def _check_trailing(op: str, input: Tensor, normalized_shape, **affine) -> tuple:
    """``normalized_shape`` as a tuple, checked against the trailing dimensions of
    ``input`` and the shapes of the ``affine`` tensors (name=Tensor or None)."""
    if isinstance(normalized_shape, numbers.Integral):
        normalized_shape = (int(normalized_shape),)
    normalized_shape = tuple(int(n) for n in normalized_shape)
    _check_input(input, op, 0, "")
    k = len(normalized_shape)
    if k == 0 or input.ndim < k or tuple(input.shape[input.ndim - k:]) != normalized_shape:
        raise ValueError(f"{op}: given normalized_shape={list(normalized_shape)}, expected an "
                         f"input of shape (*, {', '.join(map(str, normalized_shape))}), got "
                         f"{tuple(input.shape)}")
    for name, t in affine.items():
        if t is not None and tuple(t.shape) != normalized_shape:
            raise ValueError(f"{op}: {name} must have shape normalized_shape="
                             f"{normalized_shape}, got {tuple(t.shape)}")
    return normalized_shape


@autocast_float32
def layer_norm(input: Tensor, normalized_shape, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-05) -> Tensor:
    """Normalise over the trailing ``normalized_shape`` dimensions of (*, *normalized_shape);
    ``weight`` and ``bias`` have shape ``normalized_shape``."""
    op = "layer_norm"
    normalized_shape = _check_trailing(op, input, normalized_shape, weight=weight, bias=bias)
    k = len(normalized_shape)
    if (weight is not None and bias is not None and input.numel() > 0
            and weight.dtype == bias.dtype == input.dtype):
        d = math.prod(normalized_shape)
        rows = input if k == 1 else input.reshape(tuple(input.shape[:-k]) + (d,))
        out = LayerNormAffine.apply(rows, weight.reshape(d), bias.reshape(d), eps=eps)
        return out if k == 1 else out.reshape(input.shape)
    axes = tuple(range(input.ndim - k, input.ndim))
    out = Standardize.apply(input, axes=axes, eps=eps)
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


@autocast_float32
def rms_norm(input: Tensor, normalized_shape, weight: Tensor | None = None,
             eps: float | None = None) -> Tensor:
    """x / sqrt(mean(x^2) + eps) over the trailing ``normalized_shape`` dimensions of
    (*, *normalized_shape), times ``weight`` (of shape ``normalized_shape``).

    16-bit inputs are normalised in float32, as PyTorch does; ``eps=None`` is the machine
    epsilon of that computation dtype (float32's for 16-bit and float32 inputs).
    """
    normalized_shape = _check_trailing("rms_norm", input, normalized_shape, weight=weight)
    x = input.to(backend.float32) if input.dtype.itemsize < 4 else input
    if eps is None:
        eps = float(backend.finfo(x.dtype).eps)
    axes = tuple(range(input.ndim - len(normalized_shape), input.ndim))
    out = (x * ((x * x).mean(dim=axes, keepdim=True) + eps).rsqrt()).to(input.dtype)
    return out if weight is None else out * weight


@autocast_float32
def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-05) -> Tensor:
    """Group normalization of (N, C, *): the C channels split into ``num_groups`` groups,
    each normalised over its channels and spatial axes; affine per channel."""
    op = "group_norm"
    _check_input(input, op, 2, "(N, C, *)")
    channels = input.shape[1]
    if num_groups <= 0 or channels % num_groups:
        raise ValueError(f"{op}: expected the number of channels to be divisible by "
                         f"num_groups, got input of shape {tuple(input.shape)} and "
                         f"num_groups={num_groups}")
    for name, t in (("weight", weight), ("bias", bias)):
        _check_vector(op, name, t, channels)
    n = input.shape[0]
    grouped = input.reshape(n, num_groups, (channels // num_groups) * math.prod(input.shape[2:]))
    out = Standardize.apply(grouped, axes=(2,), eps=eps).reshape(input.shape)
    return _affine(out, weight, bias, _channel_shape(input))


# -- local response norm and normalize -----------------------------------------------------
def local_response_norm(input: Tensor, size: int, alpha: float = 0.0001, beta: float = 0.75,
                        k: float = 1.0) -> Tensor:
    """AlexNet's local response normalization across channels of (N, C, *):

        b_c = a_c / (k + alpha / size * sum_{c' near c} a_c'^2) ** beta

    over a window of ``size`` channels centred on c (zeros beyond the edges).
    """
    op = "local_response_norm"
    _check_input(input, op, 3, "(N, C, *) with at least one spatial dimension")
    if size < 1:
        raise ValueError(f"{op}: size must be a positive integer, got {size}")
    channels = input.shape[1]
    squares = input * input
    # pad the channel axis; pad() lists widths from the last dimension backwards
    widths = (0, 0) * (input.ndim - 2) + (size // 2, (size - 1) // 2)
    padded = pad(squares, widths)
    window = padded.narrow(1, 0, channels)
    for j in range(1, size):
        window = window + padded.narrow(1, j, channels)
    div = (window * (alpha / size) + k) ** beta
    return input / div


@autocast_float32
def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12,
              out=None) -> Tensor:
    """``input / max(||input||_p, eps)`` with the norm taken along ``dim``."""
    if out is not None:
        raise NotImplementedError("normalize: out= is not supported")
    _check_input(input, "normalize", 1, "(*) with at least one dimension")
    denom = vector_norm(input, p, dim, keepdim=True).clamp_min(eps)
    return input / denom


TENSOR_METHODS: dict = {}

__all__ = ["batch_norm", "instance_norm", "layer_norm", "rms_norm", "group_norm",
           "local_response_norm", "normalize"]
