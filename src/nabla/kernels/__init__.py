"""Fused CUDA kernels behind nabla's ops on CuPy arrays.

On the CPU an op is a handful of NumPy passes; on a GPU each pass is a kernel launch
and a trip through memory, so the ops where that waste dominates a training step call
one kernel here instead. The op stays one Function with one forward; only its array work
changes (DESIGN.md: "add a backend kernel behind the same op"). The families, one module
each:

- ``activation``: the tanh and erf GELU and SiLU, forward and backward (also float16);
- ``rows``: softmax and log-softmax over the last axis, cross entropy with class indices,
  layer norm with its affine part;
- ``adam``: the Adam/AdamW update of one parameter tensor, or of many in one launch;
- ``attention``: flash attention, forward and backward (also float16);
- ``pool``: max pooling with PyTorch's indices, forward and backward (a gather);
- ``conv``: im2col and col2im around the cuBLAS GEMMs of the convolutions, and direct
  depthwise kernels;
- ``batchnorm``: batch norm in training mode, forward and backward (per-channel sums,
  then one elementwise pass), and evaluation mode's per-channel affine map;
- ``dropout``: dropout with the mask drawn on the device (Philox4x32-10), forward and
  backward (also float16);
- ``recurrent``: the LSTM, GRU and vanilla RNN cells' pointwise step, forward and
  backward (also float16).

All kernels are templates over float and double (some also float16), compiled together by CuPy's
``RawModule`` (NVRTC) the first time one is used (``_build``). Other dtypes and non-CuPy
arrays keep the composed path: callers ask :func:`usable` first. The switch
``nabla.backends.cuda.fused_kernels = False`` turns every kernel off, so a suspected
kernel can be checked against the composed ops on the same inputs.

Checked without a GPU (``tests/test_kernels*.py``): the whole source builds with
``nvcc`` for Hopper; the per-element math, compiled on the host from the same source,
matches nabla's CPU ops; and the kernels themselves run on the host under a CUDA
emulator (``tests/cuda_emu.h``: a thread per CUDA thread, barriers for
``__syncthreads``, per-warp buffers for shuffles) behind the real Python glue. On a GPU
the same tests compare each kernel with the composed CuPy ops.
"""
from __future__ import annotations

# the families register their sources in this order
from . import (_build, activation, adam, attention, batchnorm, conv, dropout, pool,
               recurrent, rows)
from ._build import HALF_KERNELS, KERNELS, enabled, usable
from .activation import gelu_erf, gelu_erf_grad, gelu_tanh, gelu_tanh_grad, silu, silu_grad
from .adam import adam_multi, adam_step
from .batchnorm import batch_norm_train, batch_norm_train_grad, channel_affine
from .conv import (col2im, depthwise, depthwise_grad_input, depthwise_grad_weight,
                   im2col)
from .dropout import dropout_apply, dropout_forward, dropout_mask
from .pool import max_pool2d, max_pool2d_grad
from .rows import (cross_entropy_rows, cross_entropy_rows_grad, layer_norm_rows,
                   layer_norm_rows_grad, softmax_last, softmax_last_grad)

__all__ = [
    "activation", "adam", "attention", "batchnorm", "conv", "dropout", "pool", "recurrent",
    "rows",
    "HALF_KERNELS", "KERNELS", "enabled", "usable",
    "gelu_erf", "gelu_erf_grad", "gelu_tanh", "gelu_tanh_grad", "silu", "silu_grad",
    "adam_multi", "adam_step", "batch_norm_train", "batch_norm_train_grad", "channel_affine",
    "col2im", "depthwise", "depthwise_grad_input", "depthwise_grad_weight", "im2col",
    "dropout_apply", "dropout_forward", "dropout_mask",
    "max_pool2d", "max_pool2d_grad",
    "cross_entropy_rows", "cross_entropy_rows_grad", "layer_norm_rows", "layer_norm_rows_grad",
    "softmax_last", "softmax_last_grad",
]

SOURCE = _build.source()
