"""Indexing: ``x[...]``, and the gather/scatter family.

Everything here rests on two primitives. ``_IndexBase`` reads ``x[index]``
(a view for basic indices, a copy for integer arrays and masks), and
``IndexAddInto`` is its adjoint: ``zeros(shape)`` with ``g`` added at ``index``,
so repeated indices accumulate. Each is the other's vjp, so gradients of any
order come free. gather, index_select, take_along_dim and masked_select are
advanced indices built from the user's arguments; scatter_add and index_add
add an ``IndexAddInto`` to the input; only scatter (an overwrite) is its own
Function.
"""
from __future__ import annotations

import numbers

import numpy as np

from .. import backend
from ..autograd.function import Function
from ..tensor import Tensor

_INDEX_DTYPES = (np.dtype(np.int64), np.dtype(np.int32))


# -- turning user indices into array indices ------------------------------------------
def normalize_index(index, data) -> tuple:
    """Turn a user index (ints, slices, Ellipsis, None, Tensors, arrays, lists, or a
    tuple of those) into a tuple NumPy/CuPy can apply to ``data``, after checking
    every integer against the size of the dimension it indexes."""
    if not isinstance(index, tuple):
        index = (index,)
    out = tuple(_normalize_item(item, data) for item in index)
    _check_index(out, data.shape)
    return out


def _normalize_item(item, data):
    if item is None or item is Ellipsis or isinstance(item, slice):
        return item
    if isinstance(item, np.bool_):
        item = bool(item)
    if isinstance(item, bool):
        # x[True] adds a size-1 dimension like None (NumPy and PyTorch agree);
        # x[False] selects nothing from it, which NumPy does for a 0-d False mask.
        return None if item else np.asarray(False)
    if isinstance(item, numbers.Integral):
        return int(item)
    if isinstance(item, Tensor):
        item = item.array
    elif isinstance(item, list):
        item = _list_index(item)
    if not (hasattr(item, "dtype") and hasattr(item, "ndim")):
        raise IndexError(
            f"index: only integers, slices (`:`), ellipsis (`...`), None and integer or "
            f"boolean tensors are valid indices, got {type(item).__name__}")
    if item.dtype.kind not in "iub":
        raise IndexError(f"index: tensors used as indices must be integer or bool, got dtype "
                         f"{item.dtype}")
    if item.ndim == 0 and item.dtype.kind != "b":
        return int(item)  # a 0-d integer tensor indexes like an int (a view, as in PyTorch)
    return backend.to_device(item, backend.device_of(data))


def _list_index(item: list):
    """A Python list used as an index: an integer or boolean array (NumPy's rule)."""
    if len(item) == 0:
        return np.zeros(0, dtype=np.int64)  # x[[]] selects nothing, as in PyTorch
    try:
        arr = np.asarray(item)
    except ValueError:
        arr = np.asarray(item, dtype=object)
    if arr.dtype.kind not in "iub":
        raise IndexError(f"index: a list used as an index must hold integers or bools, got "
                         f"{item!r}")
    return arr


def _dims_used(item) -> int:
    """How many dimensions of the indexed tensor an index entry consumes."""
    if item is None or item is Ellipsis:
        return 0
    if hasattr(item, "dtype") and item.dtype.kind == "b":
        return item.ndim
    return 1


def _check_index(index: tuple, shape: tuple) -> None:
    """Raise an IndexError naming the entry, dimension and size that do not fit."""
    if sum(item is Ellipsis for item in index) > 1:
        raise IndexError("index: an index can only have a single ellipsis ('...')")
    used = sum(_dims_used(item) for item in index)
    if used > len(shape):
        raise IndexError(f"index: too many indices for a tensor of shape {tuple(shape)}: "
                         f"{used} dimensions were indexed")
    dim = 0
    for item in index:
        if item is Ellipsis:
            dim += len(shape) - used
        elif isinstance(item, int):
            _check_range("index", item, item, dim, shape[dim], allow_negative=True)
            dim += 1
        elif hasattr(item, "dtype") and item.dtype.kind == "b":
            want = tuple(shape[dim:dim + item.ndim])
            if tuple(item.shape) != want:
                raise IndexError(
                    f"index: the mask of shape {tuple(item.shape)} does not match the shape "
                    f"{want} of the indexed tensor at dimension {dim}")
            dim += item.ndim
        elif item is not None:
            if not isinstance(item, slice):
                _check_array_range("index", item, dim, shape[dim], allow_negative=True)
            dim += 1


def _check_range(op: str, lo: int, hi: int, dim: int, size: int, allow_negative: bool) -> None:
    low = -size if allow_negative else 0
    if lo < low or hi >= size:
        bad = hi if hi >= size else lo
        raise IndexError(f"{op}: index {bad} is out of bounds for dimension {dim} with size "
                         f"{size}")


def _check_array_range(op: str, index, dim: int, size: int, allow_negative: bool) -> None:
    """Check an integer index array (one min/max pass; a device sync on GPUs, as in
    PyTorch, because CuPy would otherwise read out of bounds silently)."""
    if index.size:
        _check_range(op, int(index.min()), int(index.max()), dim, size, allow_negative)


def _is_basic(index: tuple) -> bool:
    return all(i is None or i is Ellipsis or isinstance(i, (int, slice)) for i in index)


def _has_int_array(index: tuple) -> bool:
    """Whether an integer array appears (only those can repeat a position)."""
    return any(hasattr(i, "dtype") and i.dtype.kind != "b" for i in index)


# -- the two primitives ---------------------------------------------------------------
class _IndexBase(Function):
    bfloat16_in_float32 = False  # moves or copies values: exact in bfloat16
    uses_inputs = False

    def forward(self, x, index):
        self.index, self.in_shape = index, x.shape
        try:
            return x[index]
        except IndexError as e:
            raise IndexError(f"index: {e} (tensor of shape {tuple(x.shape)})") from None

    def vjp(self, g):
        return IndexAddInto.apply(g, index=self.index, shape=self.in_shape)

    def jvp(self, t):
        return _index(t, self.index)


class BasicIndex(_IndexBase):
    """Slicing with ints, slices, None and Ellipsis: a view."""
    is_view = True
    vjp_scatters = True  # basic indices never repeat a position

    def scatter_add(self, buffer, g) -> None:
        """``buffer[index] += g``: this op's vjp added into an existing cotangent."""
        buffer[self.index] += g


class AdvancedIndex(_IndexBase):
    """Integer-array or boolean-mask indexing: a copy."""


class IndexAddInto(Function):
    """zeros(shape) with ``g`` added at ``index`` (repeated indices accumulate)."""
    uses_inputs = False

    def forward(self, g, index, shape):
        self.index = index
        out = self.xp.zeros(shape, dtype=g.dtype)
        _add_at(self.xp, out, index, g)
        return out

    def vjp(self, gg):
        return _index(gg, self.index)

    def jvp(self, t):
        return IndexAddInto.apply(t, index=self.index, shape=self.out.shape)


def _add_at(xp, out, index: tuple, values) -> None:
    """``out[index] += values``, accumulating over repeated positions."""
    if not _has_int_array(index):
        out[index] = values  # slices and masks never repeat a position
        return
    axis = _lone_array_axis(index) if xp is np else None
    if axis is not None:
        _add_rows(xp, out, axis, index[axis], values)
    else:
        # on GPUs CuPy's add.at is an atomic scatter-add: already the fast way
        xp.add.at(out, index, values)


def _lone_array_axis(index: tuple) -> int | None:
    """The axis of the only integer array when every other entry is a full slice (an
    embedding lookup, index_select, index_add), else None."""
    arrays = [k for k, i in enumerate(index) if hasattr(i, "dtype")]
    if len(arrays) != 1:
        return None
    if any(k not in arrays and i != slice(None) for k, i in enumerate(index)):
        return None
    return arrays[0]


def _add_rows(xp, out, axis: int, rows, values) -> None:
    """``out[:, ..., rows] += values`` along ``axis`` by sorting ``rows`` and summing runs
    with ``add.reduceat``: several times faster on the CPU than ``add.at``, which
    handles one element at a time (1000x64 table, 4096 rows: 0.6 ms against 2 ms)."""
    if rows.size == 0:
        return
    n = out.shape[axis]
    rows = rows.ravel()
    rows = xp.where(rows < 0, rows + n, rows)
    # values: shape[:axis] + rows.shape + shape[axis+1:] -> one slab per row, rows first
    values = values.reshape(out.shape[:axis] + (rows.size,) + out.shape[axis + 1:])
    values = xp.moveaxis(values, axis, 0)
    order = xp.argsort(rows, kind="stable")
    sorted_rows = rows[order]
    starts = xp.flatnonzero(xp.concatenate([xp.ones(1, dtype=bool),
                                            sorted_rows[1:] != sorted_rows[:-1]]))
    sums = xp.add.reduceat(values[order], starts, axis=0)
    xp.moveaxis(out, axis, 0)[sorted_rows[starts]] = sums


def _index(x: Tensor, index: tuple) -> Tensor:
    cls = BasicIndex if _is_basic(index) else AdvancedIndex
    return cls.apply(x, index=index)


def getitem(input: Tensor, index) -> Tensor:
    """``input[index]`` with NumPy's (and PyTorch's) rules; gradients accumulate over
    repeated indices."""
    index = normalize_index(index, input.array)
    if not _is_basic(index) and any(isinstance(i, int) for i in index):
        # PyTorch applies integers first, as a basic index, then the arrays; NumPy
        # counts integers as advanced indices, which moves the result's dimensions
        # (x[None, [1, 0], ..., 2] is (1, 2, n1) in PyTorch, (2, 1, n1) in NumPy).
        ints_first, rest = _split_ints(index)
        return _index(_index(input, ints_first), rest)
    return _index(input, index)


def assign(data, index, value) -> None:
    """``data[index] = value`` on arrays, placing dimensions as ``getitem`` does."""
    index = normalize_index(index, data)
    if not _is_basic(index) and any(isinstance(i, int) for i in index):
        ints_first, rest = _split_ints(index)
        data[ints_first][rest] = value  # basic indexing gives a view: writes land in data
    else:
        data[index] = value


def _split_ints(index: tuple) -> tuple[tuple, tuple]:
    """``index`` as (ints and slices, then the arrays and None on what remains)."""
    first, rest = [], []
    for item in index:
        if item is None:
            rest.append(None)
        elif item is Ellipsis:
            first.append(Ellipsis)
            rest.append(Ellipsis)
        elif isinstance(item, int):
            first.append(item)
        elif isinstance(item, slice):
            first.append(item)
            rest.append(slice(None))
        else:
            first.extend([slice(None)] * _dims_used(item))
            rest.append(item)
    return tuple(first), tuple(rest)


# -- gather / scatter ----------------------------------------------------------------------
def _dim(dim: int, ndim: int, op: str) -> int:
    if not isinstance(dim, numbers.Integral):
        raise TypeError(f"{op}: dim must be an int, got {type(dim).__name__}")
    if not -max(ndim, 1) <= dim < max(ndim, 1):
        raise IndexError(f"{op}: dimension {dim} is out of range for a tensor with {ndim} "
                         f"dimensions (expected to be in [{-max(ndim, 1)}, {max(ndim, 1) - 1}])")
    return int(dim) % max(ndim, 1)


def _index_data(index, like: Tensor, op: str):
    """The array of an index argument, checked to be int64/int32, on ``like``'s device."""
    data = index.array if isinstance(index, Tensor) else index
    if not (hasattr(data, "dtype") and hasattr(data, "ndim")):
        raise TypeError(f"{op}: index must be an integer Tensor, got {type(index).__name__}")
    if data.dtype not in _INDEX_DTYPES:
        raise RuntimeError(f"{op}: expected index of dtype int64 or int32, got {data.dtype}")
    return backend.to_device(data, backend.device_of(like.array))


def _along_dim(index, dim: int) -> tuple:
    """The advanced index that picks ``x[i0, ..., index[i0, ..., ik], ..., ik]``: ``index``
    at ``dim`` and a broadcasting arange for every other dimension."""
    from ..backend import get_array_module
    xp = get_array_module(index)
    grids = []
    for d, n in enumerate(index.shape):
        if d == dim:
            grids.append(index)
        else:
            shape = [1] * index.ndim
            shape[d] = n
            grids.append(xp.arange(n).reshape(shape))
    return tuple(grids)


def _check_along_dim(op: str, input: Tensor, dim: int, index, what: str = "self") -> None:
    """PyTorch's gather/scatter rules: same ndim, index no larger than ``input`` outside
    ``dim``, values in [0, size)."""
    if index.ndim != input.ndim:
        raise RuntimeError(f"{op}: index of shape {tuple(index.shape)} must have the same "
                           f"number of dimensions as {what} of shape {tuple(input.shape)}")
    for d, (i, n) in enumerate(zip(index.shape, input.shape)):
        if d != dim and i > n:
            raise RuntimeError(
                f"{op}: index of shape {tuple(index.shape)} is larger than {what} of shape "
                f"{tuple(input.shape)} at dimension {d} (only dimension {dim} may differ)")
    _check_array_range(op, index, dim, input.shape[dim], allow_negative=False)


def _prepare_along_dim(op: str, input: Tensor, dim: int, index):
    """``(dim, index array)`` for gather/scatter, checked against ``input``."""
    dim = _dim(dim, input.ndim, op)
    data = _index_data(index, input, op)
    _check_along_dim(op, input, dim, data)
    return dim, data


def _on_1d(fn, input: Tensor, dim: int, index, *rest) -> Tensor:
    """Run ``fn`` on a 0-d input (and 0-d index/src) viewed as shape (1,), as PyTorch does."""
    def as_1d(t):
        return t.reshape(1) if isinstance(t, Tensor) and t.ndim == 0 else t
    return fn(input.reshape(1), dim, as_1d(index), *[as_1d(t) for t in rest])


def gather(input: Tensor, dim: int, index: Tensor, *, sparse_grad: bool = False) -> Tensor:
    """``out[i][j][k] = input[i][index[i][j][k]][k]`` (for dim=1); the output has
    ``index``'s shape. The gradient scatter-adds back into ``input``'s shape."""
    if input.ndim == 0:
        return _on_1d(gather, input, dim, index).reshape(tuple(index.shape))
    dim, data = _prepare_along_dim("gather", input, dim, index)
    return AdvancedIndex.apply(input, index=_along_dim(data, dim))


class Scatter(Function):
    """``input`` with ``src`` written at a grid index (``src`` already has the index's
    shape, or is 0-d). The written positions get no gradient from ``input``."""
    bfloat16_in_float32 = False  # moves or copies values: exact in bfloat16
    uses_inputs = False

    def forward(self, x, src, index):
        self.index = index
        out = x.copy()
        out[index] = src
        return out

    def vjp(self, g):
        need_x, need_src = self.needs_input_grad
        gx = Scatter.apply(g, g.new_zeros(()), index=self.index) if need_x else None
        # as in PyTorch, every src element gets the gradient of the position it targets
        gsrc = _index(g, self.index) if need_src else None
        return gx, gsrc

    def jvp(self, tx, tsrc):
        if tx is None:
            tx = self.out.new_zeros(self.out.shape)
        if tsrc is None:
            tsrc = self.out.new_zeros(())
        return Scatter.apply(tx, tsrc, index=self.index)


def _src_tensor(op: str, input: Tensor, src, index) -> Tensor:
    """``src`` checked (dtype, shape at least the index's) and cropped to the index's shape."""
    if not isinstance(src, Tensor):
        raise TypeError(f"{op}: src must be a Tensor, got {type(src).__name__}")
    if src.dtype != input.dtype:
        raise RuntimeError(f"{op}: expected src to have the input's dtype {input.dtype}, got "
                           f"{src.dtype}")
    if src.ndim != index.ndim or any(i > s for i, s in zip(index.shape, src.shape)):
        raise RuntimeError(f"{op}: index of shape {tuple(index.shape)} must not be larger than "
                           f"src of shape {tuple(src.shape)} in any dimension")
    if src.shape != index.shape:
        src = src[tuple(slice(0, n) for n in index.shape)]
    return src


def scatter(input: Tensor, dim: int, index: Tensor, src=None, *, value=None,
            reduce: str | None = None) -> Tensor:
    """A copy of ``input`` with ``out[i][index[i][j]] = src[i][j]`` (for dim=1); ``src``
    may be a Tensor or a number (``value``). Differentiable in ``input`` (written
    positions get zero) and in ``src`` (the gradient gathered at ``index``)."""
    if reduce is not None:
        raise NotImplementedError("scatter: reduce= is not supported; use scatter_add")
    if src is not None and not isinstance(src, Tensor):
        src, value = None, src  # scatter(input, dim, index, 0.5) passes a value
    if src is None:
        if value is None:
            raise TypeError("scatter: expected a src tensor or a value")
        if not isinstance(value, numbers.Number):
            raise TypeError(f"scatter: value must be a number, got {type(value).__name__}")
    if input.ndim == 0:
        return _on_1d(scatter, input, dim, index, src, value=value).reshape(())
    dim, data = _prepare_along_dim("scatter", input, dim, index)
    if src is None:
        xp = backend.get_array_module(input.array)
        src = Tensor._wrap(xp.asarray(value).astype(input.dtype))
    else:
        src = _src_tensor("scatter", input, src, data)
    return Scatter.apply(input, src, index=_along_dim(data, dim))


def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """A copy of ``input`` with ``out[i][index[i][j]] += src[i][j]`` (for dim=1); repeated
    indices accumulate. The gradient of ``src`` is the output's gradient gathered."""
    if input.ndim == 0:
        return _on_1d(scatter_add, input, dim, index, src).reshape(())
    dim, data = _prepare_along_dim("scatter_add", input, dim, index)
    src = _src_tensor("scatter_add", input, src, data)
    return input + IndexAddInto.apply(src, index=_along_dim(data, dim), shape=input.shape)


def _index_rows(op: str, input: Tensor, dim: int, index) -> tuple:
    """(dim, the 1-D index array) for the ``index_*`` ops, checked."""
    dim = _dim(dim, input.ndim, op)
    data = _index_data(index, input, op)
    if data.ndim > 1:
        raise IndexError(f"{op}: index must be 1-D, got shape {tuple(data.shape)}")
    return dim, data.reshape(-1)


def _check_index_source(op: str, input: Tensor, dim: int, data, source) -> tuple:
    """``source`` checked against ``input`` for the ``index_*`` ops: a Tensor of input's dtype
    and shape, but with ``len(index)`` along ``dim``; returns that shape."""
    if not isinstance(source, Tensor):
        raise TypeError(f"{op}: source must be a Tensor, got {type(source).__name__}")
    want = input.shape[:dim] + (data.size,) + input.shape[dim + 1:]
    if source.shape != want:
        raise RuntimeError(f"{op}: source of shape {tuple(source.shape)} does not match the "
                           f"expected shape {want} (input {tuple(input.shape)} with dimension "
                           f"{dim} of size len(index) = {data.size})")
    if source.dtype != input.dtype:
        raise RuntimeError(f"{op}: expected source to have the input's dtype {input.dtype}, "
                           f"got {source.dtype}")
    _check_array_range(op, data, dim, input.shape[dim], allow_negative=False)
    return want


def index_add(input: Tensor, dim: int, index: Tensor, source: Tensor, *,
              alpha=1) -> Tensor:
    """``input`` with ``alpha * source`` added at rows ``index`` along ``dim``; ``source``
    has ``input``'s shape with ``dim`` of size ``len(index)``."""
    dim, data = _index_rows("index_add", input, dim, index)
    if input.ndim == 0 and isinstance(source, Tensor):
        return index_add(input.reshape(1), 0, index, source.reshape(-1), alpha=alpha).reshape(())
    _check_index_source("index_add", input, dim, data, source)
    if alpha != 1:
        source = source * alpha
    where = (slice(None),) * dim + (data,)
    return input + IndexAddInto.apply(source, index=where, shape=input.shape)


def index_select(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """The entries ``index`` (1-D) of ``input`` along ``dim``; that dimension becomes
    ``len(index)`` long."""
    dim, data = _index_rows("index_select", input, dim, index)
    if input.ndim == 0:
        return index_select(input.reshape(1), 0, index).reshape(data.shape)
    _check_array_range("index_select", data, dim, input.shape[dim], allow_negative=False)
    return AdvancedIndex.apply(input, index=(slice(None),) * dim + (data,))


def take_along_dim(input: Tensor, indices: Tensor, dim: int | None = None) -> Tensor:
    """``gather`` after broadcasting ``input`` and ``indices`` outside ``dim``; with
    ``dim=None`` both are flattened first."""
    if dim is None:
        return gather(input.reshape(-1), 0, indices.reshape(-1))
    dim = _dim(dim, input.ndim, "take_along_dim")
    data = _index_data(indices, input, "take_along_dim")
    if data.ndim != input.ndim:
        raise RuntimeError(f"take_along_dim: input of shape {tuple(input.shape)} and indices "
                           f"of shape {tuple(data.shape)} must have the same number of "
                           f"dimensions")
    a = input.shape[:dim] + (1,) + input.shape[dim + 1:]
    b = data.shape[:dim] + (1,) + data.shape[dim + 1:]
    try:
        common = np.broadcast_shapes(a, b)
    except ValueError:
        raise RuntimeError(f"take_along_dim: input of shape {tuple(input.shape)} and indices "
                           f"of shape {tuple(data.shape)} do not broadcast outside dimension "
                           f"{dim}") from None
    x_shape = common[:dim] + (input.shape[dim],) + common[dim + 1:]
    i_shape = common[:dim] + (data.shape[dim],) + common[dim + 1:]
    from ..backend import get_array_module
    data = get_array_module(data).broadcast_to(data, i_shape)
    x = input if input.shape == x_shape else input.broadcast_to(x_shape)
    return gather(x, dim, Tensor._wrap(data))


# -- masks --------------------------------------------------------------------------------
def _mask_data(mask, input: Tensor, op: str):
    data = mask.array if isinstance(mask, Tensor) else mask
    if not hasattr(data, "dtype"):
        data = np.asarray(data)
    if data.dtype != np.bool_:
        raise RuntimeError(f"{op}: expected a bool mask, got dtype {data.dtype}")
    return backend.to_device(data, backend.device_of(input.array))


def masked_fill(input: Tensor, mask: Tensor, value) -> Tensor:
    """``input`` with ``value`` (a number or 0-d tensor) where ``mask`` (broadcast to
    ``input``'s shape) is True. Differentiable in ``input`` and in a tensor ``value``."""
    from .elementwise import Where
    data = _mask_data(mask, input, "masked_fill")
    try:
        shape = np.broadcast_shapes(data.shape, input.shape)
    except ValueError:
        shape = None
    if shape != input.shape:
        raise RuntimeError(f"masked_fill: mask of shape {tuple(data.shape)} does not broadcast "
                           f"to the input's shape {tuple(input.shape)}")
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError(f"masked_fill: value must be a number or a 0-d tensor, got a "
                               f"tensor of shape {tuple(value.shape)}")
        value = value if value.dtype == input.dtype else value.to(input.dtype)
    elif isinstance(value, numbers.Number):
        xp = backend.get_array_module(input.array)
        # the value takes input's dtype, as in PyTorch (2.7 into an int tensor is 2)
        value = Tensor._wrap(xp.asarray(value).astype(input.dtype))
    else:
        raise TypeError(f"masked_fill: value must be a number or a 0-d tensor, got "
                        f"{type(value).__name__}")
    return Where.apply(value, input, cond=data)


def masked_select(input: Tensor, mask: Tensor) -> Tensor:
    """The 1-D tensor of ``input``'s entries where ``mask`` is True (the two broadcast)."""
    data = _mask_data(mask, input, "masked_select")
    try:
        shape = np.broadcast_shapes(data.shape, input.shape)
    except ValueError:
        raise RuntimeError(f"masked_select: mask of shape {tuple(data.shape)} and input of "
                           f"shape {tuple(input.shape)} do not broadcast") from None
    xp = backend.get_array_module(input.array)
    x = input if input.shape == shape else input.broadcast_to(shape)
    return AdvancedIndex.apply(x, index=(xp.broadcast_to(data, shape),))


def index_fill(input: Tensor, dim: int, index: Tensor, value) -> Tensor:
    """``input`` with ``value`` (a number or 0-d tensor) at the entries ``index`` (0-d or
    1-D, negative counting from the end) along ``dim``. Differentiable in ``input`` (the
    filled entries get 0) and in a tensor ``value``."""
    dim = _dim(dim, input.ndim, "index_fill")
    data = _index_data(index, input, "index_fill")
    if data.ndim > 1:
        raise IndexError(f"index_fill: index must be 0-d or 1-D, got shape {tuple(data.shape)}")
    if isinstance(value, Tensor) and value.ndim != 0:
        raise RuntimeError(f"index_fill: value must be a number or a 0-d tensor, got a tensor "
                           f"of shape {tuple(value.shape)}")
    n = input.shape[dim] if input.ndim else 1
    data = data.reshape(-1)
    _check_array_range("index_fill", data, dim, n, allow_negative=True)
    xp = backend.get_array_module(input.array)
    rows = xp.zeros(n, dtype=bool)
    rows[data] = True
    mask = rows.reshape(tuple(n if d == dim else 1 for d in range(input.ndim)))
    return masked_fill(input, mask, value)


def _fill_diagonal(input: Tensor, fill_value, wrap: bool = False) -> Tensor:
    """``input`` with ``fill_value`` on its main diagonal (entries ``[i, i, ..., i]``); for a
    tall matrix, ``wrap=True`` starts the diagonal again N + 1 rows down, as NumPy does."""
    if input.ndim < 2:
        raise RuntimeError(f"fill_diagonal_: expected a tensor with at least 2 dimensions, "
                           f"got shape {tuple(input.shape)}")
    if input.ndim > 2 and len(set(input.shape)) != 1:
        raise RuntimeError(f"fill_diagonal_: all dimensions of a tensor with more than 2 "
                           f"must have the same size, got shape {tuple(input.shape)}")
    xp = backend.get_array_module(input.array)
    numel = input.numel()
    # consecutive diagonal entries lie a fixed step apart in the flat (C-order) layout
    step = sum(int(np.prod(input.shape[k + 1:])) for k in range(input.ndim))
    end = numel if wrap and input.ndim == 2 else min(input.shape) * step
    mask = xp.zeros(numel, dtype=bool)
    mask[xp.arange(0, min(end, numel), step)] = True
    return masked_fill(input, mask.reshape(input.shape), fill_value)


def _fill_diagonal_method(self: Tensor, fill_value, wrap: bool = False) -> Tensor:
    """``x.fill_diagonal_(value, wrap=False)``: fill the main diagonal in place."""
    return self._inplace(_fill_diagonal, fill_value, wrap, _name="fill_diagonal_")


def _type_as(self: Tensor, other: Tensor) -> Tensor:
    """``self`` with ``other``'s dtype and device (``self`` itself when they match)."""
    return self.to(other)


# -- integer outputs (no gradient) ----------------------------------------------------------
class OneHot(Function):
    differentiable = False

    def forward(self, x, num_classes):
        return (x[..., None] == self.xp.arange(num_classes)).astype(self.xp.int64)


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """(*) class indices -> (*, num_classes) int64 with a 1 at each index."""
    if tensor.dtype.kind not in "iu":
        raise RuntimeError(f"one_hot: expected an integer tensor of class indices, got dtype "
                           f"{tensor.dtype}")
    data = tensor.array
    if num_classes == -1:
        if data.size == 0:
            raise RuntimeError("one_hot: cannot infer the number of classes from an empty "
                               "tensor; pass num_classes")
        num_classes = int(data.max()) + 1
    if num_classes < 0:
        raise ValueError(f"one_hot: num_classes must be -1 or non-negative, got {num_classes}")
    if data.size:
        lo, hi = int(data.min()), int(data.max())
        if lo < 0:
            raise RuntimeError(f"one_hot: class values must be non-negative, got {lo}")
        if hi >= num_classes:
            raise RuntimeError(f"one_hot: class values must be smaller than num_classes "
                               f"({num_classes}), got {hi}")
    return OneHot.apply(tensor, num_classes=int(num_classes))


def nonzero(input: Tensor, *, as_tuple: bool = False):
    """Indices of the non-zero entries: an (n, ndim) int64 tensor, or with
    ``as_tuple=True`` one 1-D tensor per dimension (a 0-d input acts as 1-D)."""
    xp = backend.get_array_module(input.array)
    data = input.array
    if as_tuple:
        return tuple(Tensor._wrap(i.astype(xp.int64, copy=False))
                     for i in xp.nonzero(xp.atleast_1d(data)))
    if data.ndim == 0:
        return Tensor._wrap(xp.zeros((int(bool(data)), 0), dtype=xp.int64))
    return Tensor._wrap(xp.argwhere(data).astype(xp.int64, copy=False))


def argwhere(input: Tensor) -> Tensor:
    """Indices of the non-zero entries, (n, ndim) int64 (``nonzero(input)``)."""
    return nonzero(input)


def take(input: Tensor, index: Tensor) -> Tensor:
    """``input`` read as 1-D at ``index``; the output has ``index``'s shape."""
    data = _index_data(index, input, "take")
    flat = input.reshape(-1)
    _check_array_range("take", data, 0, flat.shape[0], allow_negative=True)
    return AdvancedIndex.apply(flat, index=(data,))


def index_copy(input: Tensor, dim: int, index: Tensor, source: Tensor) -> Tensor:
    """A copy of ``input`` with its rows ``index`` (1-D) along ``dim`` replaced by
    ``source``'s; the replaced rows get no gradient from ``input``."""
    if input.ndim == 0:
        return index_copy(input.reshape(1), 0, index, source.reshape(-1)).reshape(())
    dim, data = _index_rows("index_copy", input, dim, index)
    _check_array_range("index_copy", data, dim, input.shape[dim], allow_negative=False)
    return _overwrite("index_copy", input, (slice(None),) * dim + (data,), source)


def _overwrite(op: str, input: Tensor, index: tuple, values) -> Tensor:
    """``input`` with ``input[index] = values`` (``values`` broadcast to the region)."""
    if not isinstance(values, Tensor):
        raise TypeError(f"{op}: values must be a Tensor, got {type(values).__name__}")
    if values.dtype != input.dtype:
        raise RuntimeError(f"{op}: expected values to have the input's dtype {input.dtype}, "
                           f"got {values.dtype}")
    region = input.array[index].shape
    if tuple(values.shape) != region:
        try:
            values = values.broadcast_to(region)
        except RuntimeError:
            raise RuntimeError(f"{op}: values of shape {tuple(values.shape)} cannot be "
                               f"broadcast to the indexed shape {region}") from None
    return Scatter.apply(input, values, index=index)


def setitem(input: Tensor, index, value) -> Tensor:
    """A copy of ``input`` with ``input[index] = value`` (any index ``getitem`` takes; a
    scalar or a Tensor cast to input's dtype and broadcast), differentiable in both: what
    ``x[index] = value`` records while gradients are on (see ``Tensor.__setitem__``)."""
    index = normalize_index(index, input.array)
    if not _is_basic(index) and any(isinstance(i, int) for i in index):
        ints_first, rest = _split_ints(index)  # PyTorch's order, as in getitem
        return _overwrite("__setitem__", input, ints_first,
                          setitem(_index(input, ints_first), rest, value))
    if not isinstance(value, Tensor):
        xp = backend.get_array_module(input.array)
        value = Tensor._wrap(xp.asarray(value, dtype=input.dtype))
    return _overwrite("__setitem__", input, index, value.to(input.dtype))


def index_put(input: Tensor, indices, values: Tensor, accumulate: bool = False) -> Tensor:
    """A copy of ``input`` with ``input[indices] = values`` (``+=`` with ``accumulate``,
    where repeated indices add up); ``indices`` is a tuple of integer or bool tensors."""
    if not isinstance(indices, (tuple, list)):
        raise TypeError(f"index_put: indices must be a tuple of tensors, got "
                        f"{type(indices).__name__}")
    index = normalize_index(tuple(indices), input.array)
    if not accumulate:
        return _overwrite("index_put", input, index, values)
    if values.dtype != input.dtype:
        raise RuntimeError(f"index_put: expected values to have the input's dtype "
                           f"{input.dtype}, got {values.dtype}")
    region = input.array[index].shape
    return input + IndexAddInto.apply(values.broadcast_to(region), index=index,
                                      shape=input.shape)


def put(input: Tensor, index: Tensor, source: Tensor, accumulate: bool = False) -> Tensor:
    """A copy of ``input`` with ``source`` written at the flat positions ``index`` (as if
    ``input`` were 1-D; negative positions count from the end)."""
    data = _index_data(index, input, "put").reshape(-1)
    if source.numel() != data.size:
        raise RuntimeError(f"put: source has {source.numel()} elements but index has "
                           f"{data.size}")
    flat = index_put(input.reshape(-1), (Tensor._wrap(data),), source.reshape(-1), accumulate)
    return flat.reshape(input.shape)


# -- scatter_reduce ----------------------------------------------------------------------
_REDUCES = ("sum", "prod", "mean", "amax", "amin")


class ScatterReduce(Function):
    """``input`` with each ``src`` element reduced into the position its grid ``index``
    names. Locally ``d out = w_self * d input + scatter_add(w_src * d src)``; the
    weights (see ``_weights``) give both the vjp and the jvp."""

    uses_output = True

    def forward(self, x, src, index, reduce, include_self):
        self.index, self.reduce, self.include_self = index, reduce, include_self
        xp = self.xp
        hit = xp.zeros(x.shape, dtype=np.int64)
        xp.add.at(hit, index, 1)
        self.hit = hit
        out = x.copy()
        if not include_self:
            out[hit > 0] = _identity(xp, reduce, x.dtype)
        ufunc = {"sum": xp.add, "mean": xp.add, "prod": xp.multiply, "amax": xp.maximum,
                 "amin": xp.minimum}[reduce]
        ufunc.at(out, index, src)
        if reduce == "mean":
            count = xp.maximum(hit + int(include_self), 1).astype(out.dtype)
            out = out // count if backend.dtype_kind(out.dtype) != "f" else out / count
        return out.astype(x.dtype, copy=False)

    def _weights(self):
        x, src = self.inputs
        out, xp = self.out, self.xp
        hit = Tensor._wrap(self.hit)
        keep = Tensor._wrap(xp.asarray(self.include_self) | (self.hit == 0)).to(x.dtype)
        if self.reduce == "sum":
            w_self, w_src = keep, src.new_ones(())
        elif self.reduce == "mean":
            count = (hit + int(self.include_self)).clamp_min(1).to(x.dtype)
            w_self, w_src = keep / count, 1 / _index(count, self.index)
        elif self.reduce == "prod":
            w_self, w_src = keep * out / x, _index(out, self.index) / src
        else:
            picked = _index(out, self.index)
            self_is = (x == out).to(x.dtype)
            src_is = (src == picked).to(x.dtype)
            count = self_is + IndexAddInto.apply(src_is, index=self.index, shape=x.shape)
            w_self = keep * self_is / count
            w_src = src_is / _index(count, self.index)
        return w_self, w_src

    def vjp(self, g):
        w_self, w_src = self._weights()
        need_x, need_src = self.needs_input_grad
        return (g * w_self if need_x else None,
                _index(g, self.index) * w_src if need_src else None)

    def jvp(self, tx, tsrc):
        w_self, w_src = self._weights()
        out = self.out.new_zeros(self.out.shape)
        if tx is not None:
            out = out + tx * w_self
        if tsrc is not None:
            out = out + IndexAddInto.apply(tsrc * w_src, index=self.index, shape=out.shape)
        return out


def _identity(xp, reduce: str, dtype):
    """The value a position starts from when ``include_self=False``."""
    if reduce in ("sum", "mean"):
        return 0
    if reduce == "prod":
        return 1
    big = xp.inf if backend.dtype_kind(dtype) == "f" else np.iinfo(dtype).max
    return -big if reduce == "amax" else big


def scatter_reduce(input: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str, *,
                   include_self: bool = True) -> Tensor:
    """A copy of ``input`` with ``src[i][j]`` reduced into ``out[i][index[i][j]]`` (for
    dim=1) by ``reduce`` ('sum', 'prod', 'mean', 'amax' or 'amin'), the input's own value
    taking part unless ``include_self=False``. Ties of amax/amin share the gradient."""
    if reduce not in _REDUCES:
        raise RuntimeError(f"scatter_reduce: reduce must be one of {', '.join(_REDUCES)}; "
                           f"got {reduce!r}")
    if input.ndim == 0:
        return _on_1d(lambda i, d, ix, s: scatter_reduce(i, d, ix, s, reduce,
                                                         include_self=include_self),
                      input, dim, index, src).reshape(())
    dim, data = _prepare_along_dim("scatter_reduce", input, dim, index)
    src = _src_tensor("scatter_reduce", input, src, data)
    return ScatterReduce.apply(input, src, index=_along_dim(data, dim), reduce=reduce,
                               include_self=bool(include_self))


def index_reduce(input: Tensor, dim: int, index: Tensor, source: Tensor, reduce: str, *,
                 include_self: bool = True) -> Tensor:
    """A copy of ``input`` with each row ``source[..., j, ...]`` (along ``dim``) reduced
    into row ``index[j]`` by ``reduce`` ('prod', 'mean', 'amax' or 'amin'), the input's
    own value taking part unless ``include_self=False`` (rows no index names are kept).
    ``scatter_reduce`` with ``index`` spread along ``dim``; ties of amax/amin share the
    gradient."""
    if reduce not in _REDUCES[1:]:
        raise RuntimeError(f"index_reduce: reduce must be one of prod, mean, amax or amin; "
                           f"got {reduce!r}")
    if input.ndim == 0:
        return index_reduce(input.reshape(1), dim, index, source.reshape(-1), reduce,
                            include_self=include_self).reshape(())
    dim, data = _index_rows("index_reduce", input, dim, index)
    want = _check_index_source("index_reduce", input, dim, data, source)
    xp = backend.get_array_module(data)
    rows = tuple(data.size if d == dim else 1 for d in range(input.ndim))
    grid = xp.broadcast_to(data.reshape(rows), want)
    return ScatterReduce.apply(input, source, index=_along_dim(grid, dim), reduce=reduce,
                               include_self=bool(include_self))


def masked_scatter(input: Tensor, mask: Tensor, source: Tensor) -> Tensor:
    """A copy of ``input`` (broadcast with ``mask``) whose positions where ``mask`` is True
    take ``source``'s elements in turn (row-major order; ``source`` needs at least as
    many as the mask has Trues, the rest are unused). Differentiable in ``input`` (the
    written positions get 0) and ``source`` (its unused elements get 0)."""
    data = _mask_data(mask, input, "masked_scatter")
    if not isinstance(source, Tensor):
        raise TypeError(f"masked_scatter: source must be a Tensor, got "
                        f"{type(source).__name__}")
    if source.dtype != input.dtype:
        raise RuntimeError(f"masked_scatter: expected source to have the input's dtype "
                           f"{input.dtype}, got {source.dtype}")
    try:
        shape = np.broadcast_shapes(data.shape, input.shape)
    except ValueError:
        raise RuntimeError(f"masked_scatter: mask of shape {tuple(data.shape)} and input of "
                           f"shape {tuple(input.shape)} do not broadcast") from None
    xp = backend.get_array_module(input.array)
    data = xp.broadcast_to(data, shape)
    count = int(data.sum())
    if count > source.numel():
        raise RuntimeError(f"masked_scatter: the mask has {count} True entries but source "
                           f"(shape {tuple(source.shape)}) only {source.numel()} elements")
    x = input if input.shape == shape else input.broadcast_to(shape)
    return Scatter.apply(x, source.reshape(-1)[:count], index=(data,))


def _masked_scatter_(self: Tensor, mask: Tensor, source: Tensor) -> Tensor:
    """``x.masked_scatter_(mask, source)``: in place; ``mask`` broadcasts to x's shape."""
    data = _mask_data(mask, self, "masked_scatter_")
    if np.broadcast_shapes(data.shape, self.shape) != self.shape:
        raise RuntimeError(f"masked_scatter_: mask of shape {tuple(data.shape)} does not "
                           f"broadcast to the tensor's shape {tuple(self.shape)}")
    return self._inplace(masked_scatter, mask, source, _name="masked_scatter_")


def _inplace(fn):
    """The in-place Tensor method ``x.fn_(...)`` (see ``Tensor._inplace``)."""
    def method(self, *args, **kwargs):
        return self._inplace(fn, *args, **kwargs)
    method.__name__ = method.__qualname__ = fn.__name__ + "_"
    return method


TENSOR_METHODS = {
    "__getitem__": getitem,
    "gather": gather, "scatter": scatter, "scatter_add": scatter_add, "index_add": index_add,
    "index_select": index_select, "take_along_dim": take_along_dim, "take": take,
    "masked_fill": masked_fill, "masked_select": masked_select, "nonzero": nonzero,
    "argwhere": argwhere,
    "masked_fill_": _inplace(masked_fill), "scatter_": _inplace(scatter),
    "scatter_add_": _inplace(scatter_add), "index_add_": _inplace(index_add),
    "index_fill": index_fill, "index_fill_": _inplace(index_fill),
    "fill_diagonal_": _fill_diagonal_method, "type_as": _type_as,
    "index_copy": index_copy, "index_copy_": _inplace(index_copy),
    "index_put": index_put, "index_put_": _inplace(index_put),
    "put": put, "put_": _inplace(put),
    "scatter_reduce": scatter_reduce, "scatter_reduce_": _inplace(scatter_reduce),
    "index_reduce": index_reduce, "index_reduce_": _inplace(index_reduce),
    "masked_scatter": masked_scatter, "masked_scatter_": _masked_scatter_,
}

__all__ = [
    "gather", "scatter", "scatter_add", "index_add", "index_select", "take_along_dim", "take",
    "masked_fill", "masked_select", "one_hot", "nonzero", "argwhere", "index_fill",
    "index_copy", "index_put", "put", "scatter_reduce", "index_reduce", "masked_scatter",
]
