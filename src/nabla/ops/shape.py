"""Shape ops: views, joins and splits, reorderings, padding and triangles.

Views -- ``reshape``/``view``, ``permute``/``transpose``, ``expand``,
``diagonal`` and the slicing behind ``split``/``chunk``/``unbind``/``narrow`` --
share memory and the version counter with their input, as in PyTorch. The
other ops (``cat``, ``flip``, ``roll``, ``repeat``, ``pad``, ``tril``, ...)
return new memory. Most ops here are compositions of a few primitives
(Reshape, Permute, BroadcastTo, slicing, Cat); the primitives' rules are
themselves shape ops, so every derivative is differentiable again.
"""
from __future__ import annotations

import math
import operator

import numpy as np

from ..autograd.function import Function
from ..autograd.grad_mode import STATE
from ..backend import get_array_module, is_floating, promote_types
from ..tensor import Tensor
from .index import AdvancedIndex, BasicIndex


# -- argument helpers ------------------------------------------------------------------
def _shape_arg(shape, op: str = "shape") -> tuple:
    """Accept ``f(2, 3)`` and ``f((2, 3))`` alike; every size must be an integer."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    try:
        return tuple(int(s) if isinstance(s, Tensor) else operator.index(s) for s in shape)
    except TypeError:
        raise TypeError(f"{op}: sizes must be integers, got {shape!r}") from None


def _norm_dim(dim: int, ndim: int, op: str) -> int:
    """``dim`` in ``[0, ndim)``; a 0-d tensor accepts 0 and -1, as in PyTorch."""
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{op}: dim must be an int, got {type(dim).__name__}")
    if not -max(ndim, 1) <= dim < max(ndim, 1):
        raise IndexError(f"{op}: dimension {dim} is out of range for a tensor with {ndim} "
                         f"dimensions (expected to be in [{-max(ndim, 1)}, {max(ndim, 1) - 1}])")
    return int(dim) % max(ndim, 1)


def _norm_dims(dims, ndim: int, op: str) -> tuple:
    """An int or a sequence of dims, normalised, with repeats rejected."""
    dims = (dims,) if isinstance(dims, (int, np.integer)) else tuple(dims)
    out = tuple(_norm_dim(d, ndim, op) for d in dims)
    if len(set(out)) != len(out):
        raise RuntimeError(f"{op}: dims {list(dims)} repeat a dimension")
    return out


def _infer_shape(shape: tuple, numel: int, what: str, op: str) -> tuple:
    """``shape`` with its one ``-1`` replaced so that it holds ``numel`` elements."""
    unknown = [i for i, s in enumerate(shape) if s == -1]
    if len(unknown) > 1:
        raise RuntimeError(f"{op}: only one dimension can be inferred (-1), got shape "
                           f"{list(shape)}")
    for s in shape:
        if s < -1:
            raise RuntimeError(f"{op}: invalid size {s} in shape {list(shape)}")
    known = math.prod(s for s in shape if s != -1)
    if unknown:
        if known == 0:
            raise RuntimeError(f"{op}: cannot infer the -1 in shape {list(shape)} for {what}: "
                               f"the other sizes multiply to 0, so -1 is ambiguous")
        if numel % known == 0:
            shape = shape[:unknown[0]] + (numel // known,) + shape[unknown[0] + 1:]
    if math.prod(shape) != numel:
        raise RuntimeError(f"{op}: shape {list(shape)} is invalid for {what}")
    return shape


def _slice_dim(x: Tensor, dim: int, start: int, stop: int) -> Tensor:
    """``x[..., start:stop, ...]`` along ``dim``: a view."""
    return BasicIndex.apply(x, index=(slice(None),) * dim + (slice(start, stop),))


def _gather_dim(x: Tensor, dim: int, positions) -> Tensor:
    """``x`` indexed by the integer array ``positions`` along ``dim``: a copy whose
    vjp scatter-adds, so repeated positions accumulate their gradients."""
    idx = get_array_module(x.array).asarray(np.asarray(positions, dtype=np.int64))
    return AdvancedIndex.apply(x, index=(slice(None),) * dim + (idx,))


def _own_memory(out: Tensor, input: Tensor) -> Tensor:
    """Mark ``out`` as a fresh tensor when the array library had to copy.

    NumPy's reshape copies when strides make a view impossible (after a
    transpose, or of an expanded tensor). Such a result is not a view: it gets
    its own version counter, so in-place changes to one never flag the other.
    """
    if out._base is not None and out.array.size:
        xp = get_array_module(out.array)
        if not xp.may_share_memory(out.array, input.array):
            out._version, out._base = [0], None
    return out


def _as_copy(out: Tensor, input: Tensor) -> Tensor:
    """``out`` if it owns its memory, else a copy (for ops PyTorch defines as copies)."""
    if out is not input and out._base is None:
        return out
    from .convert import clone
    return clone(out)


# -- view primitives -----------------------------------------------------------------------
class Reshape(Function):
    uses_inputs = False
    is_view = True

    def forward(self, x, shape):
        self.in_shape = x.shape
        return x.reshape(shape)  # the wrapper has checked and resolved ``shape``

    def vjp(self, g):
        return g.reshape(self.in_shape)

    def jvp(self, t):
        return t.reshape(self.out.shape)


class Permute(Function):
    uses_inputs = False
    is_view = True

    def forward(self, x, dims):
        if sorted(dims) != list(range(x.ndim)):
            raise RuntimeError(f"permute: dims {list(dims)} are not a permutation of the "
                               f"{x.ndim} dimensions of a tensor of shape {tuple(x.shape)}")
        self.dims = dims
        return x.transpose(dims)

    def vjp(self, g):
        inverse = [0] * len(self.dims)
        for i, d in enumerate(self.dims):
            inverse[d] = i
        return g.permute(inverse)

    def jvp(self, t):
        return t.permute(self.dims)


class BroadcastTo(Function):
    uses_inputs = False
    is_view = True

    def forward(self, x, shape):
        try:
            return self.xp.broadcast_to(x, shape)
        except ValueError:
            raise RuntimeError(f"expand: tensor of shape {tuple(x.shape)} cannot be broadcast "
                               f"to shape {tuple(shape)}") from None

    def vjp(self, g):
        return g  # the engine sums over the broadcast axes

    def jvp(self, t):
        return t.broadcast_to(self.out.shape)


class Diagonal(Function):
    """The diagonal of the (dim1, dim2) planes, appended as the last dimension."""
    uses_inputs = False
    is_view = True

    def forward(self, x, offset, dim1, dim2):
        self.in_shape, self.args = x.shape, dict(offset=offset, dim1=dim1, dim2=dim2)
        return self.xp.diagonal(x, offset, dim1, dim2)

    def vjp(self, g):
        return DiagonalScatter.apply(g, shape=self.in_shape, **self.args)

    def jvp(self, t):
        return Diagonal.apply(t, **self.args)


class DiagonalScatter(Function):
    """zeros(shape) with ``g`` written on a diagonal: the adjoint of Diagonal."""
    uses_inputs = False

    def forward(self, g, shape, offset, dim1, dim2):
        self.args = dict(offset=offset, dim1=dim1, dim2=dim2)
        out = self.xp.zeros(shape, dtype=g.dtype)
        planes = self.xp.moveaxis(out, (dim1, dim2), (-2, -1))  # a writeable view of out
        i = self.xp.arange(g.shape[-1])
        planes[..., i + max(-offset, 0), i + max(offset, 0)] = g
        return out

    def vjp(self, g):
        return Diagonal.apply(g, **self.args)

    def jvp(self, t):
        return DiagonalScatter.apply(t, shape=self.out.shape, **self.args)


# -- copying primitives -----------------------------------------------------------------------
class Cat(Function):
    """Concatenation of N same-rank inputs along ``dim``; vjp slices the cotangent."""
    bfloat16_in_float32 = False  # moves or copies values: exact in bfloat16
    uses_inputs = False

    def forward(self, *arrays, dim):
        self.dim = dim
        self.shapes = [a.shape for a in arrays]
        return self.xp.concatenate(arrays, axis=dim)

    def vjp(self, g):
        grads, start = [], 0
        for shape, need in zip(self.shapes, self.needs_input_grad):
            stop = start + shape[self.dim]
            grads.append(_slice_dim(g, self.dim, start, stop) if need else None)
            start = stop
        return tuple(grads)

    def jvp(self, *tangents):
        out = self.out
        parts = [out.new_zeros(shape) if t is None else t
                 for t, shape in zip(tangents, self.shapes)]
        return Cat.apply(*parts, dim=self.dim)


class Flip(Function):
    bfloat16_in_float32 = False  # moves or copies values: exact in bfloat16
    uses_inputs = False

    def forward(self, x, axes):
        self.axes = axes
        return self.xp.flip(x, axes).copy()  # a copy, as in PyTorch (NumPy gives a view)

    def vjp(self, g):
        return Flip.apply(g, axes=self.axes)

    def jvp(self, t):
        return Flip.apply(t, axes=self.axes)


class Roll(Function):
    """Cyclic shift along ``axes`` (``None``: of the flattened tensor, shape kept)."""
    bfloat16_in_float32 = False  # moves or copies values: exact in bfloat16
    uses_inputs = False

    def forward(self, x, shifts, axes):
        self.shifts, self.axes = shifts, axes
        return self.xp.roll(x, shifts, axes)

    def vjp(self, g):
        back = tuple(-s for s in self.shifts) if self.axes is not None else -self.shifts
        return Roll.apply(g, shifts=back, axes=self.axes)

    def jvp(self, t):
        return Roll.apply(t, shifts=self.shifts, axes=self.axes)


class ConstantPad(Function):
    """``x`` placed inside a block filled with ``value``; widths are (before, after) >= 0."""
    bfloat16_in_float32 = False  # moves or copies values: exact in bfloat16
    uses_inputs = False

    def forward(self, x, widths, value):
        self.widths = widths
        self.inner = tuple(slice(b, b + n) for (b, _), n in zip(widths, x.shape))
        shape = tuple(n + b + a for (b, a), n in zip(widths, x.shape))
        out = self.xp.full(shape, value, dtype=x.dtype)
        out[self.inner] = x
        return out

    def vjp(self, g):
        return BasicIndex.apply(g, index=self.inner)

    def jvp(self, t):
        return ConstantPad.apply(t, widths=self.widths, value=0)


class Triangle(Function):
    """The lower (``tril``) or upper (``triu``) triangle of the last two dimensions."""
    bfloat16_in_float32 = False  # moves or copies values: exact in bfloat16
    uses_inputs = False

    def forward(self, x, diagonal, upper):
        self.diagonal, self.upper = diagonal, upper
        return self.xp.triu(x, diagonal) if upper else self.xp.tril(x, diagonal)

    def vjp(self, g):
        return Triangle.apply(g, diagonal=self.diagonal, upper=self.upper)

    def jvp(self, t):
        return Triangle.apply(t, diagonal=self.diagonal, upper=self.upper)


# -- reshaping -------------------------------------------------------------------------------
def reshape(input: Tensor, *shape) -> Tensor:
    """``input`` with a new shape holding the same elements; one size may be -1.

    A view when the strides allow it, else a copy (as in PyTorch).
    """
    return _reshape(input, _shape_arg(shape, "reshape"), "reshape")


def view(input: Tensor, *shape) -> Tensor:
    """``Tensor.view``: like ``reshape`` (NumPy copies where PyTorch would raise)."""
    return _reshape(input, _shape_arg(shape, "view"), "view")


def _reshape(input: Tensor, shape: tuple, op: str) -> Tensor:
    numel = input.numel()
    if min(shape, default=0) < 0 or math.prod(shape) != numel:  # -1 to resolve, or an error
        what = f"input of shape {tuple(input.shape)} ({numel} elements)"
        shape = _infer_shape(shape, numel, what, op)
    if shape == input.shape:
        return input
    return _own_memory(Reshape.apply(input, shape=shape), input)


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dimensions ``start_dim..end_dim`` into one; a 0-d tensor becomes shape (1,)."""
    start = _norm_dim(start_dim, input.ndim, "flatten")
    end = _norm_dim(end_dim, input.ndim, "flatten")
    if start > end:
        raise RuntimeError(f"flatten: start_dim ({start_dim}) cannot come after end_dim "
                           f"({end_dim}) for a tensor of shape {tuple(input.shape)}")
    if input.ndim == 0:
        return reshape(input, (1,))
    shape = input.shape
    return reshape(input, shape[:start] + (math.prod(shape[start:end + 1]),) + shape[end + 1:])


def ravel(input: Tensor) -> Tensor:
    """All elements in one dimension."""
    return reshape(input, (-1,))


def unflatten(input: Tensor, dim: int, sizes) -> Tensor:
    """Split dimension ``dim`` into ``sizes`` (one of which may be -1)."""
    d = _norm_dim(dim, input.ndim, "unflatten")
    if input.ndim == 0:
        raise RuntimeError("unflatten: cannot unflatten a 0-d tensor")
    sizes = _shape_arg((sizes,), "unflatten")
    if not sizes:
        raise RuntimeError("unflatten: sizes must be non-empty")
    what = f"dimension {d} of size {input.shape[d]} (input of shape {tuple(input.shape)})"
    sizes = _infer_shape(sizes, input.shape[d], what, "unflatten")
    return reshape(input, input.shape[:d] + sizes + input.shape[d + 1:])


def squeeze(input: Tensor, dim=None) -> Tensor:
    """Drop size-1 dimensions (only ``dim`` when given; a no-op if it is not size 1)."""
    if dim is None:
        shape = tuple(n for n in input.shape if n != 1)
    else:
        dims = set(_norm_dims(dim, input.ndim, "squeeze"))
        shape = tuple(n for i, n in enumerate(input.shape) if not (i in dims and n == 1))
    return reshape(input, shape)


def unsqueeze(input: Tensor, dim: int) -> Tensor:
    """Insert a size-1 dimension at ``dim`` (negative counts from the new end)."""
    dim = _norm_dim(dim, input.ndim + 1, "unsqueeze")
    shape = input.shape[:dim] + (1,) + input.shape[dim:]
    return reshape(input, shape)


def atleast_1d(*tensors):
    """Each tensor with at least 1 dimension (one tensor in, one out; else a tuple)."""
    return _atleast(tensors, lambda t: reshape(t, (1,)) if t.ndim == 0 else t)


def atleast_2d(*tensors):
    """Each tensor with at least 2 dimensions: () -> (1, 1), (n,) -> (1, n)."""
    return _atleast(tensors, lambda t: reshape(t, (1,) * (2 - t.ndim) + t.shape)
                    if t.ndim < 2 else t)


def atleast_3d(*tensors):
    """At least 3 dimensions: () -> (1, 1, 1), (n,) -> (1, n, 1), (m, n) -> (m, n, 1)."""
    def lift3(t: Tensor) -> Tensor:
        if t.ndim == 0:
            return reshape(t, (1, 1, 1))
        if t.ndim == 1:
            return reshape(t, (1, t.shape[0], 1))
        return reshape(t, t.shape + (1,)) if t.ndim == 2 else t
    return _atleast(tensors, lift3)


def _atleast(tensors: tuple, fn):
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        return tuple(fn(t) for t in tensors[0])
    out = tuple(fn(t) for t in tensors)
    return out[0] if len(out) == 1 else out


# -- reordering dimensions -----------------------------------------------------------------
def permute(input: Tensor, *dims) -> Tensor:
    """Reorder the dimensions: output dimension i is input dimension ``dims[i]`` (a view)."""
    dims = tuple(_norm_dim(d, input.ndim, "permute") for d in _shape_arg(dims, "permute"))
    return Permute.apply(input, dims=dims)


def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """Swap two dimensions (a view)."""
    n = input.ndim
    dim0, dim1 = _norm_dim(dim0, n, "transpose"), _norm_dim(dim1, n, "transpose")
    if n < 2 or dim0 == dim1:
        return input
    dims = list(range(n))
    dims[dim0], dims[dim1] = dims[dim1], dims[dim0]
    return Permute.apply(input, dims=tuple(dims))


def swapaxes(input: Tensor, axis0: int, axis1: int) -> Tensor:
    """Alias of ``transpose`` (NumPy's name)."""
    return transpose(input, axis0, axis1)


def swapdims(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """Alias of ``transpose``."""
    return transpose(input, dim0, dim1)


def t(input: Tensor) -> Tensor:
    """Transpose a matrix; 0-d and 1-D tensors come back as they are."""
    if input.ndim > 2:
        raise RuntimeError(f"t: expects a tensor with <= 2 dimensions, got shape "
                           f"{tuple(input.shape)}; use transpose(dim0, dim1) or .mT")
    return transpose(input, 0, 1) if input.ndim == 2 else input


def movedim(input: Tensor, source, destination) -> Tensor:
    """Move dimensions ``source`` to positions ``destination`` (ints or sequences)."""
    src = _norm_dims(source, input.ndim, "movedim")
    dst = _norm_dims(destination, input.ndim, "movedim")
    if len(src) != len(dst):
        raise RuntimeError(f"movedim: source {source} and destination {destination} must "
                           f"name the same number of dimensions")
    if input.ndim == 0:
        return input
    order = [d for d in range(input.ndim) if d not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return Permute.apply(input, dims=tuple(order))


moveaxis = movedim


def _T(self: Tensor) -> Tensor:
    """Reverse all dimensions (``x.T``)."""
    return permute(self, tuple(range(self.ndim - 1, -1, -1)))


class MatrixTranspose(Function):
    """Swap the last two dimensions: ``x.mT`` (its own op: matmul's vjp uses it twice)."""
    uses_inputs = False
    is_view = True

    def forward(self, x):
        return self.xp.swapaxes(x, -1, -2)

    def vjp(self, g):
        return MatrixTranspose.apply(g)

    def jvp(self, t):
        return MatrixTranspose.apply(t)


def _mT(self: Tensor) -> Tensor:
    """Transpose the last two dimensions (``x.mT``) of a (batch of) matrices."""
    if self.array.ndim < 2:
        raise RuntimeError(f"mT: expects a matrix or a batch of matrices, got a tensor of "
                           f"shape {tuple(self.shape)}")
    return MatrixTranspose.apply(self)


# -- broadcasting and repetition ---------------------------------------------------------------
def broadcast_to(input: Tensor, *shape) -> Tensor:
    """``input`` broadcast to ``shape`` (a read-only view)."""
    shape = _shape_arg(shape, "broadcast_to")
    if shape == input.shape:
        return input
    return BroadcastTo.apply(input, shape=shape)


def expand(input: Tensor, *sizes) -> Tensor:
    """Like PyTorch: -1 keeps a dimension's size; new dimensions go in front."""
    sizes = _shape_arg(sizes, "expand")
    lead = len(sizes) - input.ndim
    if lead < 0:
        raise RuntimeError(f"expand: the number of sizes ({len(sizes)}) must be at least the "
                           f"number of dimensions ({input.ndim}) of the tensor of shape "
                           f"{tuple(input.shape)}")
    for i, s in enumerate(sizes[:lead]):
        if s < 0:
            raise RuntimeError(f"expand: size {s} is not allowed in the new leading "
                               f"dimension {i} (sizes {list(sizes)})")
    shape = tuple(input.shape[i - lead] if i >= lead and s == -1 else s
                  for i, s in enumerate(sizes))
    return broadcast_to(input, shape)


def repeat(input: Tensor, *repeats) -> Tensor:
    """``Tensor.repeat``: tile ``input`` ``repeats[i]`` times along dimension i.

    More repeats than dimensions add leading dimensions: (2, 3).repeat(4, 1, 2)
    has shape (4, 2, 6).
    """
    repeats = _shape_arg(repeats, "repeat")
    if len(repeats) < input.ndim:
        raise RuntimeError(f"repeat: the number of repeats ({len(repeats)}) cannot be smaller "
                           f"than the number of dimensions ({input.ndim}) of the tensor of "
                           f"shape {tuple(input.shape)}")
    if any(r < 0 for r in repeats):
        raise RuntimeError(f"repeat: repeats must be non-negative, got {list(repeats)}")
    shape = (1,) * (len(repeats) - input.ndim) + input.shape
    # (s0, s1) -> (1, s0, 1, s1) -> broadcast (r0, s0, r1, s1) -> (r0*s0, r1*s1):
    # the engine's unbroadcast sums the copies' gradients.
    x = reshape(input, tuple(v for s in shape for v in (1, s)))
    x = broadcast_to(x, tuple(v for r, s in zip(repeats, shape) for v in (r, s)))
    return _as_copy(reshape(x, tuple(r * s for r, s in zip(repeats, shape))), input)


def tile(input: Tensor, dims) -> Tensor:
    """Like ``repeat``, but fewer ``dims`` than dimensions are padded with 1s in front."""
    dims = _shape_arg((dims,), "tile")
    dims = (1,) * (input.ndim - len(dims)) + dims
    return repeat(input, dims)


def repeat_interleave(input: Tensor, repeats, dim: int | None = None, *,
                      output_size: int | None = None) -> Tensor:
    """Repeat each element ``repeats`` times along ``dim`` (flattened when None).

    ``repeats`` is an int or a 1-D integer tensor with one count per element;
    ``output_size`` is accepted for PyTorch compatibility and not needed.
    """
    if dim is None:
        input, dim = flatten(input), 0
    d = _norm_dim(dim, input.ndim, "repeat_interleave")
    if input.ndim == 0:
        input = reshape(input, (1,))
    n = input.shape[d]
    if isinstance(repeats, Tensor) and repeats.numel() == 1:
        repeats = int(repeats.reshape(()).item())
    if isinstance(repeats, (int, np.integer)):
        if repeats < 0:
            raise RuntimeError(f"repeat_interleave: repeats must be non-negative, got {repeats}")
        shape = input.shape
        x = broadcast_to(unsqueeze(input, d + 1), shape[:d + 1] + (int(repeats),) + shape[d + 1:])
        return _as_copy(reshape(x, shape[:d] + (n * int(repeats),) + shape[d + 1:]), input)
    counts = np.asarray(repeats)  # a Tensor converts to a CPU array
    if counts.ndim != 1 or counts.shape[0] != n or counts.dtype.kind not in "iu":
        raise RuntimeError(f"repeat_interleave: repeats must be an int or a 1-D integer tensor "
                           f"of {n} counts (the size of dim {d}), got shape {counts.shape} "
                           f"and dtype {counts.dtype}")
    if (counts < 0).any():
        raise RuntimeError("repeat_interleave: repeats must be non-negative")
    return _gather_dim(input, d, np.repeat(np.arange(n), counts))


# -- reordering elements ----------------------------------------------------------------------
def flip(input: Tensor, dims) -> Tensor:
    """Reverse the order of elements along ``dims`` (a copy)."""
    axes = _norm_dims(dims, input.ndim, "flip")
    if input.ndim == 0:
        axes = ()
    return Flip.apply(input, axes=axes)


def fliplr(input: Tensor) -> Tensor:
    """Reverse dimension 1 (left/right) of a tensor with at least 2 dimensions."""
    if input.ndim < 2:
        raise RuntimeError(f"fliplr: expects a tensor with at least 2 dimensions, got shape "
                           f"{tuple(input.shape)}")
    return flip(input, (1,))


def flipud(input: Tensor) -> Tensor:
    """Reverse dimension 0 (up/down) of a tensor with at least 1 dimension."""
    if input.ndim < 1:
        raise RuntimeError("flipud: expects a tensor with at least 1 dimension, got a 0-d "
                           "tensor")
    return flip(input, (0,))


def roll(input: Tensor, shifts, dims=None) -> Tensor:
    """Shift elements cyclically by ``shifts`` along ``dims``; with ``dims=None`` the
    tensor is rolled as if flattened, then given back its shape."""
    shifts = (shifts,) if isinstance(shifts, (int, np.integer)) else tuple(shifts)
    if dims is None:
        if len(shifts) != 1:
            raise RuntimeError(f"roll: with dims=None, shifts must be a single int, got "
                               f"{list(shifts)}")
        return Roll.apply(input, shifts=int(shifts[0]), axes=None)
    dims = (dims,) if isinstance(dims, (int, np.integer)) else tuple(dims)
    if len(shifts) != len(dims):
        raise RuntimeError(f"roll: shifts {list(shifts)} and dims {list(dims)} must have the "
                           f"same length")
    axes = tuple(_norm_dim(d, input.ndim, "roll") for d in dims)
    if input.ndim == 0:
        return roll(input, shifts[0])  # NumPy has no axis 0 to roll a 0-d array along
    return Roll.apply(input, shifts=tuple(int(s) for s in shifts), axes=axes)


def rot90(input: Tensor, k: int = 1, dims=(0, 1)) -> Tensor:
    """Rotate by 90 degrees ``k`` times in the plane ``dims``, from the first axis
    towards the second (a copy); negative ``k`` rotates the other way."""
    dims = tuple(dims)
    if len(dims) != 2:
        raise RuntimeError(f"rot90: expected 2 rotation dims, got {list(dims)}")
    if input.ndim < 2:
        raise RuntimeError(f"rot90: expected a tensor with at least 2 dimensions, got shape "
                           f"{tuple(input.shape)}")
    d0, d1 = (_norm_dim(d, input.ndim, "rot90") for d in dims)
    if d0 == d1:
        raise RuntimeError(f"rot90: the rotation dims must differ, got {list(dims)}")
    k = operator.index(k) % 4
    if k == 1:
        return transpose(flip(input, (d1,)), d0, d1)
    if k == 2:
        return flip(input, (d0, d1))
    if k == 3:
        return transpose(flip(input, (d0,)), d0, d1)
    from .convert import clone
    return clone(input)


# -- joining -------------------------------------------------------------------------------
def _tensor_list(tensors, op: str) -> list:
    if isinstance(tensors, Tensor):
        raise TypeError(f"{op}: expected a sequence of Tensors, got a single Tensor; wrap it "
                        f"in a list")
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError(f"{op}: expected a non-empty list of Tensors")
    for i, x in enumerate(tensors):
        if not isinstance(x, Tensor):
            raise TypeError(f"{op}: expected a sequence of Tensors, but element {i} is a "
                            f"{type(x).__name__}")
    return tensors


def cat(tensors, dim: int = 0) -> Tensor:
    """Concatenate ``tensors`` along ``dim``; all other sizes must match.

    As in PyTorch, 1-D tensors of size 0 are skipped, and mixed dtypes are
    promoted to a common one (a float dtype wins over integer ones).
    """
    tensors = _tensor_list(tensors, "cat")
    for i, x in enumerate(tensors):
        if x.ndim == 0:
            raise RuntimeError(f"cat: zero-dimensional tensor (at position {i}) cannot be "
                               f"concatenated; unsqueeze it or use stack")
    kept = [(i, x) for i, x in enumerate(tensors) if x.shape != (0,)]
    if not kept:
        kept = list(enumerate(tensors))
    i0, first = kept[0]
    d = _norm_dim(dim, first.ndim, "cat")
    for i, x in kept[1:]:
        if x.ndim != first.ndim:
            raise RuntimeError(
                f"cat: tensors must have the same number of dimensions, but tensor {i0} has "
                f"shape {tuple(first.shape)} and tensor {i} has shape {tuple(x.shape)}")
        if x.shape[:d] != first.shape[:d] or x.shape[d + 1:] != first.shape[d + 1:]:
            raise RuntimeError(
                f"cat: sizes of tensors must match except in dimension {d}, but tensor {i0} "
                f"has shape {tuple(first.shape)} and tensor {i} has shape {tuple(x.shape)}")
    parts = [x for _, x in kept]
    # PyTorch's rule, as for elementwise ops: a float dtype wins over integers and bools
    # (int64 with float32 gives float32, where NumPy would widen to float64)
    floats = [x.dtype for x in parts if is_floating(x.dtype)]
    dtype = promote_types(*(floats or [x.dtype for x in parts]))
    parts = [x if x.dtype == dtype else x.to(dtype) for x in parts]
    return Cat.apply(*parts, dim=d)


concatenate = concat = cat


def stack(tensors, dim: int = 0) -> Tensor:
    """Join same-shape tensors along a new dimension ``dim``."""
    tensors = _tensor_list(tensors, "stack")
    shape = tensors[0].shape
    for i, x in enumerate(tensors[1:], 1):
        if x.shape != shape:
            raise RuntimeError(f"stack: expects each tensor to be equal size, but got "
                               f"{tuple(shape)} at entry 0 and {tuple(x.shape)} at entry {i}")
    d = _norm_dim(dim, len(shape) + 1, "stack")
    return cat([unsqueeze(x, d) for x in tensors], d)


def hstack(tensors) -> Tensor:
    """Concatenate column-wise: along dim 0 for 1-D tensors, else along dim 1."""
    tensors = atleast_1d(_tensor_list(tensors, "hstack"))
    return cat(tensors, 0 if tensors[0].ndim == 1 else 1)


def vstack(tensors) -> Tensor:
    """Concatenate row-wise after making every tensor at least 2-D."""
    return cat(atleast_2d(_tensor_list(tensors, "vstack")), 0)


def dstack(tensors) -> Tensor:
    """Concatenate depth-wise (dim 2) after making every tensor at least 3-D."""
    return cat(atleast_3d(_tensor_list(tensors, "dstack")), 2)


row_stack = vstack


def column_stack(tensors) -> Tensor:
    """Stack as columns: 0-d and 1-D tensors become (n, 1) columns, then all are joined
    along dim 1 (``hstack``)."""
    tensors = _tensor_list(tensors, "column_stack")
    return hstack([reshape(x, (x.numel(), 1)) if x.ndim <= 1 else x for x in tensors])


def meshgrid(*tensors, indexing: str = "ij") -> tuple:
    """Coordinate grids of n 1-D tensors (0-d count as size 1) of sizes s1, ..., sn: each
    output has shape (s1, ..., sn) with ``indexing='ij'``, or (s2, s1, s3, ..., sn) with
    'xy' (Cartesian: the first two swapped). The outputs are read-only broadcast views."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tensors[0]
    tensors = _tensor_list(tensors, "meshgrid")
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    for i, x in enumerate(tensors):
        if x.ndim > 1:
            raise RuntimeError(f"meshgrid: expected 0-d or 1-D tensors, but tensor {i} has "
                               f"shape {tuple(x.shape)}")
        if x.dtype != tensors[0].dtype:
            raise RuntimeError(f"meshgrid: expected all tensors to have the same dtype, got "
                               f"{tensors[0].dtype} (tensor 0) and {x.dtype} (tensor {i})")
    axes = list(range(len(tensors)))  # the output axis each input runs along
    if indexing == "xy" and len(axes) >= 2:
        axes[0], axes[1] = 1, 0
    shape = [0] * len(tensors)
    for x, axis in zip(tensors, axes):
        shape[axis] = x.numel()
    grids = []
    for x, axis in zip(tensors, axes):
        along = tuple(-1 if j == axis else 1 for j in range(len(axes)))  # x laid along axis
        grids.append(broadcast_to(reshape(x, along), tuple(shape)))
    return tuple(grids)


def cartesian_prod(*tensors) -> Tensor:
    """All combinations of the elements of n 1-D tensors, as rows of an (prod sizes, n)
    tensor in lexicographic order; one tensor comes back as it is."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tensors[0]
    tensors = _tensor_list(tensors, "cartesian_prod")
    for i, x in enumerate(tensors):
        if x.ndim != 1:
            raise RuntimeError(f"cartesian_prod: expected 1-D tensors, but tensor {i} has "
                               f"shape {tuple(x.shape)}")
    if len(tensors) == 1:
        return tensors[0]
    grids = meshgrid(tensors, indexing="ij")
    return stack([reshape(g, (-1,)) for g in grids], dim=1)


# -- splitting (views) -----------------------------------------------------------------------
def split(tensor: Tensor, split_size_or_sections, dim: int = 0) -> tuple:
    """Views of consecutive pieces along ``dim``: pieces of one size (an int; the last
    may be smaller) or of the given sizes (a list that sums to the dimension's size)."""
    if tensor.ndim == 0:
        raise RuntimeError("split: expects at least a 1-dimensional tensor")
    d = _norm_dim(dim, tensor.ndim, "split")
    n = tensor.shape[d]
    if isinstance(split_size_or_sections, (int, np.integer)):
        size = int(split_size_or_sections)
        if size < 0 or (size == 0 and n != 0):
            raise RuntimeError(f"split: split_size must be positive (or 0 for a dimension of "
                               f"size 0), got {size} for dimension {d} of size {n}")
        sizes = [size] * (n // size) + ([n % size] if n % size else []) if n else [0]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if any(s < 0 for s in sizes) or sum(sizes) != n:
            raise RuntimeError(f"split: split sizes {sizes} must be non-negative and sum "
                               f"exactly to {n}, the size of dimension {d} of the tensor of "
                               f"shape {tuple(tensor.shape)}")
    pieces, start = [], 0
    for s in sizes:
        pieces.append(_slice_dim(tensor, d, start, start + s))
        start += s
    return tuple(pieces)


def tensor_split(input: Tensor, indices_or_sections, dim: int = 0) -> tuple:
    """Views of ``input`` split along ``dim``: into ``sections`` pieces (an int; the first
    ``n % sections`` one longer), or at ``indices`` (a list or 1-D integer tensor: the
    pieces ``[:i0], [i0:i1], ..., [ik:]`` sliced as Python slices, so indices past the
    end give empty pieces). A 0-d integer tensor counts as a number of sections."""
    if input.ndim == 0:
        raise RuntimeError("tensor_split: expected a tensor with at least 1 dimension, got a "
                           "0-d tensor")
    d = _norm_dim(dim, input.ndim, "tensor_split")
    n = input.shape[d]
    split_at = indices_or_sections
    if isinstance(split_at, Tensor):
        if split_at.dtype.kind not in "iu" or split_at.ndim > 1:
            raise RuntimeError(f"tensor_split: a tensor of indices_or_sections must be a 0-d "
                               f"or 1-D integer tensor, got shape {tuple(split_at.shape)} and "
                               f"dtype {split_at.dtype}")
        split_at = split_at.tolist()
    if isinstance(split_at, (int, np.integer)):
        sections = int(split_at)
        if sections <= 0:
            raise RuntimeError(f"tensor_split: the number of sections must be positive, got "
                               f"{sections}")
        size, extra = divmod(n, sections)
        bounds = [i * size + min(i, extra) for i in range(1, sections)]
    else:
        bounds = [operator.index(i) for i in split_at]
    pieces, prev = [], 0
    for bound in bounds + [None]:
        start, stop, _ = slice(prev, bound).indices(n)
        pieces.append(_slice_dim(input, d, start, max(start, stop)))
        prev = bound
    return tuple(pieces)


def _split_evenly(input: Tensor, indices_or_sections, dim: int, op: str) -> tuple:
    """``tensor_split`` for hsplit/vsplit/dsplit: a number of sections must divide the size."""
    if isinstance(indices_or_sections, (int, np.integer)):
        n, sections = input.shape[dim], int(indices_or_sections)
        if sections <= 0 or n % sections:
            raise RuntimeError(f"{op}: dimension {dim} of size {n} (shape "
                               f"{tuple(input.shape)}) cannot be split into {sections} equal "
                               f"sections")
    return tensor_split(input, indices_or_sections, dim)


def hsplit(input: Tensor, indices_or_sections) -> tuple:
    """``tensor_split`` along dim 1 (dim 0 for a 1-D tensor); sections must be equal."""
    if input.ndim == 0:
        raise RuntimeError("hsplit: expected a tensor with at least 1 dimension, got a 0-d "
                           "tensor")
    return _split_evenly(input, indices_or_sections, 0 if input.ndim == 1 else 1, "hsplit")


def vsplit(input: Tensor, indices_or_sections) -> tuple:
    """``tensor_split`` along dim 0 of a tensor with at least 2 dimensions."""
    if input.ndim < 2:
        raise RuntimeError(f"vsplit: expected a tensor with at least 2 dimensions, got shape "
                           f"{tuple(input.shape)}")
    return _split_evenly(input, indices_or_sections, 0, "vsplit")


def dsplit(input: Tensor, indices_or_sections) -> tuple:
    """``tensor_split`` along dim 2 of a tensor with at least 3 dimensions."""
    if input.ndim < 3:
        raise RuntimeError(f"dsplit: expected a tensor with at least 3 dimensions, got shape "
                           f"{tuple(input.shape)}")
    return _split_evenly(input, indices_or_sections, 2, "dsplit")


def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple:
    """Split into ``chunks`` pieces of size ceil(n / chunks) (fewer if n runs out)."""
    if chunks <= 0:
        raise RuntimeError(f"chunk: expects chunks to be greater than 0, got {chunks}")
    if input.ndim == 0:
        raise RuntimeError("chunk: expects at least a 1-dimensional tensor")
    d = _norm_dim(dim, input.ndim, "chunk")
    n = input.shape[d]
    if n == 0:
        return tuple(_slice_dim(input, d, 0, 0) for _ in range(chunks))
    return split(input, -(-n // chunks), d)


def unbind(input: Tensor, dim: int = 0) -> tuple:
    """The slices along ``dim``, with ``dim`` removed (views)."""
    if input.ndim == 0:
        raise RuntimeError("unbind: dimension specified as 0 but tensor has no dimensions")
    d = _norm_dim(dim, input.ndim, "unbind")
    return tuple(BasicIndex.apply(input, index=(slice(None),) * d + (i,))
                 for i in range(input.shape[d]))


def narrow(input: Tensor, dim: int, start: int, length: int) -> Tensor:
    """The view ``input[..., start:start + length, ...]`` along ``dim``."""
    if input.ndim == 0:
        raise RuntimeError("narrow: cannot be applied to a 0-d tensor")
    d = _norm_dim(dim, input.ndim, "narrow")
    n = input.shape[d]
    start, length = int(start), int(length)
    if not -n <= start <= n:
        raise IndexError(f"narrow: start {start} is out of range for dimension {d} of size {n}")
    if start < 0:
        start += n
    if length < 0:
        raise RuntimeError(f"narrow: length must be non-negative, got {length}")
    if start + length > n:
        raise RuntimeError(f"narrow: start ({start}) + length ({length}) exceeds dimension "
                           f"{d} of size {n}")
    return _slice_dim(input, d, start, start + length)


# -- padding -------------------------------------------------------------------------------
_PAD_MODES = ("constant", "reflect", "replicate", "circular")


def pad(input: Tensor, pad, mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad the last ``len(pad) // 2`` dimensions, last dimension first.

    ``pad = (left, right)`` pads the last dimension, ``(left, right, top, bottom)``
    the last two, and so on. ``mode``: 'constant' (fill with ``value``; negative
    widths crop), 'reflect' (mirror without repeating the edge), 'replicate'
    (repeat the edge) or 'circular' (wrap around); the last three pad at most
    the last 3 dimensions.
    """
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2:
        raise RuntimeError(f"pad: padding length must be divisible by 2, got {list(pad)}")
    npad = len(pad) // 2
    if npad > input.ndim:
        raise RuntimeError(f"pad: padding {list(pad)} covers {npad} dimensions, but the input "
                           f"of shape {tuple(input.shape)} has only {input.ndim}")
    if mode not in _PAD_MODES:
        raise ValueError(f"pad: mode must be one of {', '.join(_PAD_MODES)}; got {mode!r}")
    widths = [(0, 0)] * input.ndim
    for k in range(npad):
        widths[input.ndim - 1 - k] = (pad[2 * k], pad[2 * k + 1])
    for d, (before, after) in enumerate(widths):
        if input.shape[d] + before + after < 0:
            raise RuntimeError(f"pad: padding ({before}, {after}) of dimension {d} (size "
                               f"{input.shape[d]}) would give a negative size")
    if mode != "constant":
        if value is not None and value != 0:
            raise ValueError(f"pad: mode {mode!r} does not take a value argument")
        if npad > 3:
            raise NotImplementedError(f"pad: mode {mode!r} pads at most the last 3 "
                                      f"dimensions, got a padding of length {len(pad)}")
    # negative widths crop, as in PyTorch: slice them off first, then pad the rest
    if any(b < 0 or a < 0 for b, a in widths):
        crop = tuple(slice(max(-b, 0), n - max(-a, 0)) for (b, a), n in zip(widths, input.shape))
        input = BasicIndex.apply(input, index=crop)
        widths = [(max(b, 0), max(a, 0)) for b, a in widths]
    if mode == "constant":
        return ConstantPad.apply(input, widths=tuple(widths),
                                 value=0.0 if value is None else value)
    out = input
    for d, (before, after) in enumerate(widths):
        if before or after:
            out = _gather_dim(out, d, _pad_positions(input.shape[d], before, after, mode, d))
    return out


def _pad_positions(n: int, before: int, after: int, mode: str, dim: int) -> np.ndarray:
    """For each output position along one dimension, the input position it copies."""
    p = np.arange(-before, n + after)
    if mode == "reflect":
        if before >= n or after >= n:
            raise RuntimeError(f"pad: reflect padding ({before}, {after}) must be smaller than "
                               f"dimension {dim} of size {n}")
        p = np.abs(p)
        return np.where(p > n - 1, 2 * (n - 1) - p, p)
    if n == 0:
        raise RuntimeError(f"pad: {mode} padding needs a non-empty dimension {dim}")
    if mode == "replicate":
        return np.clip(p, 0, n - 1)
    if before > n or after > n:
        raise RuntimeError(f"pad: circular padding ({before}, {after}) may not exceed dimension "
                           f"{dim} of size {n} (it would wrap around more than once)")
    return p % n


# -- triangles and diagonals ----------------------------------------------------------------
def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    """The lower triangle of the last two dimensions (entries j - i <= diagonal kept)."""
    return _triangle(input, diagonal, False, "tril")


def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    """The upper triangle of the last two dimensions (entries j - i >= diagonal kept)."""
    return _triangle(input, diagonal, True, "triu")


def _triangle(input: Tensor, diagonal: int, upper: bool, op: str) -> Tensor:
    if input.ndim < 2:
        raise RuntimeError(f"{op}: input tensor must have at least 2 dimensions, got shape "
                           f"{tuple(input.shape)}")
    return Triangle.apply(input, diagonal=int(diagonal), upper=upper)


def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The diagonal of the (dim1, dim2) planes, as the last dimension (a read-only view).

    (..., n, m) with offset k > 0 takes the k-th superdiagonal, k < 0 a subdiagonal.
    """
    if input.ndim < 2:
        raise RuntimeError(f"diagonal: expects a tensor with at least 2 dimensions, got shape "
                           f"{tuple(input.shape)}")
    d1, d2 = _norm_dim(dim1, input.ndim, "diagonal"), _norm_dim(dim2, input.ndim, "diagonal")
    if d1 == d2:
        raise RuntimeError(f"diagonal: dim1 and dim2 cannot be the same dimension ({dim1}, "
                           f"{dim2})")
    return Diagonal.apply(input, offset=int(offset), dim1=d1, dim2=d2)


def diag_embed(input: Tensor, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """Put the last dimension of ``input`` on the diagonal of new (dim1, dim2) planes:
    (..., n) -> (..., n + |offset|, n + |offset|) for the default dims."""
    if input.ndim == 0:
        raise RuntimeError("diag_embed: expects a tensor with at least 1 dimension")
    ndim = input.ndim + 1
    d1, d2 = _norm_dim(dim1, ndim, "diag_embed"), _norm_dim(dim2, ndim, "diag_embed")
    if d1 == d2:
        raise RuntimeError(f"diag_embed: dim1 and dim2 cannot be the same dimension ({dim1}, "
                           f"{dim2})")
    m = input.shape[-1] + abs(int(offset))
    rest = iter(input.shape[:-1])
    shape = tuple(m if i in (d1, d2) else next(rest) for i in range(ndim))
    return DiagonalScatter.apply(input, shape=shape, offset=int(offset), dim1=d1, dim2=d2)


def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    """1-D -> the square matrix with ``input`` on its ``diagonal``-th diagonal;
    2-D -> that diagonal, as a new 1-D tensor."""
    if input.ndim == 1:
        return diag_embed(input, diagonal, 0, 1)
    if input.ndim == 2:
        from .convert import clone
        return clone(Diagonal.apply(input, offset=int(diagonal), dim1=0, dim2=1))
    raise RuntimeError(f"diag: expects a 1-D or 2-D tensor, got shape {tuple(input.shape)}")


def diagflat(input: Tensor, offset: int = 0) -> Tensor:
    """The square matrix with the flattened ``input`` on its ``offset``-th diagonal."""
    return diag(flatten(input), offset)


def block_diag(*tensors) -> Tensor:
    """The block-diagonal matrix of the (at most 2-D) ``tensors``, zeros elsewhere; a 0-d
    tensor is a (1, 1) block and a 1-D one a row. Mixed dtypes are promoted."""
    for i, x in enumerate(tensors):
        if not isinstance(x, Tensor):
            raise TypeError(f"block_diag: expected Tensors, but argument {i} is a "
                            f"{type(x).__name__}")
        if x.ndim > 2:
            raise RuntimeError(f"block_diag: expected tensors with 2 or fewer dimensions, but "
                               f"tensor {i} has shape {tuple(x.shape)}")
    if not tensors:
        from .creation import zeros
        return zeros((1, 0))
    blocks = [reshape(x, (1,) * (2 - x.ndim) + tuple(x.shape)) for x in tensors]
    width = sum(b.shape[1] for b in blocks)
    rows, left = [], 0
    for b in blocks:  # each block, padded with zeros to the full width, is a band of rows
        rows.append(pad(b, (left, width - left - b.shape[1])))
        left += b.shape[1]
    return cat(rows, 0)


# -- differences ----------------------------------------------------------------------------
def diff(input: Tensor, n: int = 1, dim: int = -1, prepend: Tensor | None = None,
         append: Tensor | None = None) -> Tensor:
    """The ``n``-th forward difference ``x[i+1] - x[i]`` along ``dim`` (``!=`` for bools),
    after joining ``prepend`` and ``append`` to ``input`` there; each pass is one shorter."""
    if input.ndim == 0:
        raise RuntimeError("diff: expected a tensor with at least 1 dimension, got a 0-d "
                           "tensor")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise RuntimeError(f"diff: the order n must be a non-negative int, got {n!r}")
    d = _norm_dim(dim, input.ndim, "diff")
    x = input
    for name, extra in (("prepend", prepend), ("append", append)):
        if extra is not None and (not isinstance(extra, Tensor) or extra.ndim != input.ndim):
            shape = tuple(extra.shape) if isinstance(extra, Tensor) else type(extra).__name__
            raise RuntimeError(f"diff: {name} must be a tensor with the input's "
                               f"{input.ndim} dimensions, got {shape}")
    if prepend is not None or append is not None:
        x = cat([t for t in (prepend, input, append) if t is not None], d)
    if n == 0:
        from .convert import clone
        return clone(x)
    for _ in range(n):
        m = x.shape[d]
        later, earlier = _slice_dim(x, d, min(1, m), m), _slice_dim(x, d, 0, max(m - 1, 0))
        x = later != earlier if x.dtype == np.bool_ else later - earlier
    return x


# -- sliding windows, selections and their scatters ---------------------------------------
def _unfold(input: Tensor, dimension: int, size: int, step: int) -> Tensor:
    """``x.unfold(dimension, size, step)``: every ``size``-long window along ``dimension``,
    ``step`` apart, as a new last dimension; ``dimension`` becomes the number of windows.
    The gradient adds each window back where it came from (overlaps accumulate)."""
    x = input.reshape(1) if input.ndim == 0 else input
    d = _norm_dim(dimension, x.ndim, "unfold")
    n, size, step = x.shape[d], int(size), int(step)
    if size < 0 or size > n:
        raise RuntimeError(f"unfold: size {size} must be in [0, {n}], the size of dimension "
                           f"{d} of the tensor of shape {tuple(input.shape)}")
    if step <= 0:
        raise RuntimeError(f"unfold: step must be positive, got {step}")
    count = (n - size) // step + 1
    positions = np.arange(count)[:, None] * step + np.arange(size)      # (count, size)
    out = _gather_dim(x, d, positions)                                  # d -> (count, size)
    out = movedim(out, d + 1, -1)
    return out.reshape((size,)) if input.ndim == 0 else out  # a 0-d input: one window


def select(input: Tensor, dim: int, index: int) -> Tensor:
    """``input[..., index, ...]`` along ``dim``, that dimension removed (a view)."""
    if input.ndim == 0:
        raise IndexError("select: cannot be applied to a 0-d tensor")
    d = _norm_dim(dim, input.ndim, "select")
    n, i = input.shape[d], operator.index(index)
    if not -n <= i < n:
        raise IndexError(f"select: index {i} is out of range for dimension {d} of size {n} "
                         f"(tensor of shape {tuple(input.shape)})")
    return BasicIndex.apply(input, index=(slice(None),) * d + (i % n,))


def narrow_copy(input: Tensor, dim: int, start: int, length: int) -> Tensor:
    """``narrow`` in new memory."""
    return _as_copy(narrow(input, dim, start, length), input)


def split_with_sizes(input: Tensor, split_sizes, dim: int = 0) -> tuple:
    """``split`` into pieces of the given sizes (which must sum to the dimension's size)."""
    return split(input, list(split_sizes), dim)


def _scatter_region(op: str, input: Tensor, src: Tensor, index: tuple) -> Tensor:
    """A copy of ``input`` with ``input[index] = src``; ``src`` must have the region's shape.
    Differentiable in both (the overwritten region gets no gradient from ``input``)."""
    from .index import Scatter
    if not isinstance(src, Tensor):
        raise TypeError(f"{op}: src must be a Tensor, got {type(src).__name__}")
    want = input.array[index].shape
    if tuple(src.shape) != want:
        raise RuntimeError(f"{op}: src of shape {tuple(src.shape)} does not match the shape "
                           f"{want} of the region it replaces in the input of shape "
                           f"{tuple(input.shape)}")
    if src.dtype != input.dtype:
        raise RuntimeError(f"{op}: expected src to have the input's dtype {input.dtype}, got "
                           f"{src.dtype}")
    return Scatter.apply(input, src, index=index)


def select_scatter(input: Tensor, src: Tensor, dim: int, index: int) -> Tensor:
    """A copy of ``input`` with ``src`` written into ``select(input, dim, index)``."""
    select(input, dim, index)  # checks dim and index
    d = _norm_dim(dim, input.ndim, "select_scatter")
    i = operator.index(index) % input.shape[d]
    return _scatter_region("select_scatter", input, src, (slice(None),) * d + (i,))


def slice_scatter(input: Tensor, src: Tensor, dim: int = 0, start: int | None = None,
                  end: int | None = None, step: int = 1) -> Tensor:
    """A copy of ``input`` with ``src`` written into ``input[..., start:end:step, ...]``."""
    if input.ndim == 0:
        raise RuntimeError("slice_scatter: cannot be applied to a 0-d tensor")
    d = _norm_dim(dim, input.ndim, "slice_scatter")
    if int(step) <= 0:
        raise RuntimeError(f"slice_scatter: step must be positive, got {step}")
    return _scatter_region("slice_scatter", input, src,
                           (slice(None),) * d + (slice(start, end, int(step)),))


def diagonal_scatter(input: Tensor, src: Tensor, offset: int = 0, dim1: int = 0,
                     dim2: int = 1) -> Tensor:
    """A copy of ``input`` with ``src`` written into ``diagonal(input, offset, dim1, dim2)``
    (``src`` has the diagonal's shape: the other dimensions, then the diagonal's length)."""
    diagonal(input, offset, dim1, dim2)  # checks the dims
    d1, d2 = _norm_dim(dim1, input.ndim, "diagonal_scatter"), _norm_dim(dim2, input.ndim,
                                                                          "diagonal_scatter")
    planes = movedim(input, (d1, d2), (-2, -1))                        # (..., n, m)
    offset = int(offset)
    n, m = planes.shape[-2:]
    length = max(0, min(n + min(offset, 0), m - max(offset, 0)))
    xp = get_array_module(input.array)
    i = xp.arange(length)
    index = (Ellipsis, i + max(-offset, 0), i + max(offset, 0))
    out = _scatter_region("diagonal_scatter", planes, src, index)
    return movedim(out, (-2, -1), (d1, d2))


def _mH(self: Tensor) -> Tensor:
    """The conjugate transpose of the last two dimensions (``mT`` for real tensors)."""
    if self.array.dtype.kind == "c":
        from .complex import conj
        return conj(_mT(self))
    return _mT(self)


def adjoint(input: Tensor) -> Tensor:
    """The conjugate transpose of the last two dimensions (a view)."""
    return _mH(input)


def _shape_inplace(fn):
    """``x.unsqueeze_(0)`` and kin: ``x`` takes the shape of ``fn(x)``, keeping its memory.
    Only outside recording: a tensor in the graph keeps the shape its node gave it."""
    name = fn.__name__ + "_"

    def method(self: Tensor, *args, **kwargs) -> Tensor:
        if STATE.grad_enabled and self.requires_grad:
            raise RuntimeError(f"{name}: changing the shape of a tensor that requires grad in "
                               f"place is not supported; use the out-of-place {fn.__name__}")
        self.array = fn(self.detach(), *args, **kwargs).array
        return self
    method.__name__ = method.__qualname__ = name
    return method


# -- Tensor methods and exports -------------------------------------------------------------
def _inplace(fn):
    def method(self: Tensor, *args, **kwargs) -> Tensor:
        return self._inplace(fn, *args, **kwargs)
    method.__name__ = fn.__name__ + "_"
    return method


def _flip_method(self: Tensor, *dims, **kwargs) -> Tensor:
    """``x.flip(0, 1)``, ``x.flip((0, 1))`` and ``x.flip(dims=(0, 1))``."""
    dims = kwargs.pop("dims") if "dims" in kwargs else _shape_arg(dims, "flip")
    return flip(self, dims, **kwargs)


TENSOR_METHODS = {
    "reshape": reshape, "view": view, "flatten": flatten, "ravel": ravel,
    "unflatten": unflatten, "squeeze": squeeze, "unsqueeze": unsqueeze,
    "permute": permute, "transpose": transpose, "swapaxes": swapaxes, "swapdims": swapdims,
    "movedim": movedim, "moveaxis": moveaxis, "t": t,
    "T": property(_T), "mT": property(_mT),
    "broadcast_to": broadcast_to, "expand": expand,
    "expand_as": lambda self, other: broadcast_to(self, other.shape),
    "view_as": lambda self, other: view(self, other.shape),
    "reshape_as": lambda self, other: reshape(self, other.shape),
    "repeat": repeat, "tile": tile, "repeat_interleave": repeat_interleave,
    "flip": _flip_method,
    "fliplr": fliplr, "flipud": flipud, "roll": roll,
    "split": split, "chunk": chunk, "unbind": unbind, "narrow": narrow,
    "tril": tril, "triu": triu, "tril_": _inplace(tril), "triu_": _inplace(triu),
    "diagonal": diagonal, "diag": diag, "diag_embed": diag_embed,
    "tensor_split": tensor_split, "hsplit": hsplit, "vsplit": vsplit, "dsplit": dsplit,
    "rot90": rot90, "diagflat": diagflat, "diff": diff,
    "unfold": _unfold, "select": select, "narrow_copy": narrow_copy,
    "split_with_sizes": split_with_sizes, "select_scatter": select_scatter,
    "slice_scatter": slice_scatter, "diagonal_scatter": diagonal_scatter,
    "mH": property(_mH), "adjoint": adjoint,
    "unsqueeze_": _shape_inplace(unsqueeze), "squeeze_": _shape_inplace(squeeze),
    "t_": _shape_inplace(t), "transpose_": _shape_inplace(transpose),
    "swapdims_": _shape_inplace(swapdims), "swapaxes_": _shape_inplace(swapaxes),
}

__all__ = [
    "reshape", "flatten", "ravel", "unflatten", "squeeze", "unsqueeze", "atleast_1d",
    "atleast_2d", "atleast_3d", "permute", "transpose", "swapaxes", "swapdims", "t", "movedim",
    "moveaxis", "broadcast_to", "expand", "repeat", "tile", "repeat_interleave", "flip",
    "fliplr", "flipud", "roll", "cat", "concatenate", "concat", "stack", "hstack", "vstack",
    "dstack", "row_stack", "split", "chunk", "unbind", "narrow", "pad", "tril", "triu",
    "diagonal", "diag_embed", "diag", "meshgrid", "cartesian_prod", "tensor_split", "hsplit",
    "vsplit", "dsplit", "column_stack", "rot90", "diagflat", "block_diag", "diff",
    "select", "narrow_copy", "split_with_sizes", "select_scatter", "slice_scatter",
    "diagonal_scatter", "adjoint",
]
