"""``Tensor``: an array, its gradient, and the node that produced it.

Operators and most methods are installed from the op families in
``nabla/ops`` (each family lists its ``TENSOR_METHODS``); this file holds what
is about the tensor itself: construction, conversion, autograd entry points
and in-place updates.
"""
from __future__ import annotations

import numbers
import sys

import numpy as np

from . import backend
from .autograd.grad_mode import STATE

_NDARRAY_TYPES: tuple = (np.ndarray,)
if backend._cupy is not None:  # pragma: no cover - GPU machines only
    _NDARRAY_TYPES = (np.ndarray, backend._cupy.ndarray)


class Size(tuple):
    """A shape, as ``torch.Size``: a tuple of ints with ``numel()``; ``Tensor.size()`` returns
    one (``Tensor.shape`` stays a plain tuple: it is read on every op)."""

    def __new__(cls, sizes=()):
        return super().__new__(cls, (int(s) for s in sizes))

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n

    def __getitem__(self, index):
        out = super().__getitem__(index)
        return Size(out) if isinstance(index, slice) else out

    def __add__(self, other):
        return Size(tuple(self) + tuple(other))

    def __repr__(self) -> str:
        return f"nabla.Size({list(self)})"


# -- predicates ------------------------------------------------------------------------------


class Tensor:
    """An n-dimensional array that can record the operations applied to it.

    Create tensors with :func:`nabla.tensor`, :func:`nabla.zeros`, ... rather
    than with this constructor. ``array`` is the backend array (NumPy or CuPy) that
    the ops compute on; ``data`` is what it is in PyTorch: the same memory as a Tensor
    outside the graph (``w.data.normal_(0, 0.02)``, ``torch.max(out.data, 1)``).
    """

    __slots__ = ("array", "requires_grad", "grad", "_node", "_version", "_retains_grad",
                 "_hooks", "_tangents", "_base", "__weakref__")
    __array_priority__ = 1000  # so ndarray + Tensor defers to Tensor.__radd__

    def __init__(self, data, requires_grad: bool = False):
        if isinstance(data, Tensor):
            data = data.array
        elif not isinstance(data, _NDARRAY_TYPES):
            data = np.asarray(data)
        self.array = data
        self.grad = None
        self._node = None
        self._version = [0]
        self._retains_grad = False
        self._hooks = None
        self._tangents = None
        self._base = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _wrap(cls, data) -> "Tensor":
        """Fast constructor for op outputs (``data`` is already a backend array)."""
        t = cls.__new__(cls)
        if type(data) is not np.ndarray and not isinstance(data, _NDARRAY_TYPES):
            data = np.asarray(data)  # NumPy returns scalars for 0-d results
        t.array = data
        t.requires_grad = False
        t.grad = None
        t._node = None
        t._version = [0]
        t._retains_grad = False
        t._hooks = None
        t._tangents = None
        t._base = None
        return t

    # -- basic properties --------------------------------------------------------
    @property
    def shape(self) -> tuple:
        return self.array.shape

    @property
    def dtype(self) -> np.dtype:
        return self.array.dtype

    @property
    def device(self) -> backend.Device:
        return backend.device_of(self.array)

    @property
    def is_cuda(self) -> bool:
        return self.device.type == "cuda"

    @property
    def ndim(self) -> int:
        return self.array.ndim

    def dim(self) -> int:
        return self.array.ndim

    def size(self, dim: int | None = None):
        if dim is None:
            return Size(self.array.shape)
        n = self.array.ndim
        if not -max(n, 1) <= dim < max(n, 1):
            raise IndexError(f"size(): dimension {dim} is out of range for a tensor with {n} "
                             f"dimensions (expected to be in [{-max(n, 1)}, {max(n, 1) - 1}])")
        return self.array.shape[dim] if n else 1

    def numel(self) -> int:
        return int(self.array.size)

    def nelement(self) -> int:
        return int(self.array.size)

    def element_size(self) -> int:
        return self.array.itemsize

    def __len__(self) -> int:
        if self.array.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.array.shape[0]

    def ndimension(self) -> int:
        return self.array.ndim

    @property
    def itemsize(self) -> int:
        return self.array.itemsize

    @property
    def nbytes(self) -> int:
        return int(self.array.size) * self.array.itemsize

    @property
    def is_cpu(self) -> bool:
        return self.device.type == "cpu"

    def get_device(self) -> int:
        """The GPU's index, or -1 for a CPU tensor."""
        device = self.device
        return -1 if device.type == "cpu" else (device.index or 0)

    def is_signed(self) -> bool:
        return backend.dtype_kind(self.array.dtype) in "fic"

    def is_complex(self) -> bool:
        return self.array.dtype.kind == "c"

    def is_inference(self) -> bool:
        return False  # nabla has no inference mode

    def is_nonzero(self) -> bool:
        """The truth of a one-element tensor."""
        if self.array.size != 1:
            what = "no values" if self.array.size == 0 else "more than one value"
            raise RuntimeError(f"is_nonzero: Boolean value of Tensor with {what} is ambiguous "
                               f"(shape {tuple(self.shape)})")
        return bool(self.item())

    def is_same_size(self, other: "Tensor") -> bool:
        return tuple(self.shape) == tuple(other.shape)

    def stride(self, dim: int | None = None):
        """Steps in elements between neighbours along each dimension (or ``dim``)."""
        steps = tuple(s // self.array.itemsize for s in self.array.strides)
        if dim is None:
            return steps
        n = self.array.ndim
        if not -max(n, 1) <= dim < max(n, 1) or n == 0:
            raise IndexError(f"stride(): dimension {dim} is out of range for a tensor with {n} "
                             f"dimensions")
        return steps[dim]

    def data_ptr(self) -> int:
        """The address of the first element."""
        return _address(self.array)

    def storage_offset(self) -> int:
        """How many elements past the start of its memory this tensor begins."""
        root = self.array
        while isinstance(getattr(root, "base", None), _NDARRAY_TYPES):
            root = root.base
        return (_address(self.array) - _address(root)) // self.array.itemsize

    @property
    def is_leaf(self) -> bool:
        return self._node is None

    @property
    def grad_fn(self):
        return self._node

    def is_floating_point(self) -> bool:
        return backend.dtype_kind(self.array.dtype) == "f"

    @property
    def _version_count(self) -> int:
        return self._version[0]

    # -- conversion --------------------------------------------------------------
    def numpy(self) -> np.ndarray:
        if self.requires_grad and STATE.grad_enabled:
            raise RuntimeError(
                "numpy(): can't call numpy() on a tensor that requires grad; use "
                "tensor.detach().numpy()")
        return backend.to_device(self.array, backend.CPU)

    def item(self):
        if self.array.size != 1:
            raise ValueError(
                f"item(): only one-element tensors can be converted to a Python scalar, got "
                f"shape {tuple(self.shape)}")
        return self.array.reshape(()).item()

    def tolist(self):
        return backend.to_device(self.array, backend.CPU).tolist()

    def __array__(self, dtype=None, copy=None):
        a = backend.to_device(self.array, backend.CPU)
        return a if dtype is None else a.astype(dtype)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self.array.dtype.kind not in "iub":
            raise TypeError(f"only integer tensors can be used as an index, got {self.dtype}")
        return int(self.item())

    def __bool__(self) -> bool:
        if self.array.size != 1:
            raise RuntimeError(
                f"bool(): the truth value of a tensor with {self.array.size} elements is "
                f"ambiguous; use .any() or .all()")
        return bool(self.item())

    def __hash__(self) -> int:
        return id(self)

    def contiguous(self) -> "Tensor":
        if self.array.flags.c_contiguous:
            return self
        from .ops.convert import clone
        return clone(self)

    def is_contiguous(self) -> bool:
        return bool(self.array.flags.c_contiguous)

    def to(self, *args, dtype=None, device=None, copy: bool = False,
           non_blocking: bool = False) -> "Tensor":
        """``to(dtype)``, ``to(device)``, ``to(device, dtype)`` or ``to(other_tensor)``.

        ``non_blocking`` is accepted for PyTorch compatibility: CuPy copies from pinned
        host memory (``pin_memory()``, ``DataLoader(pin_memory=True)``) asynchronously
        on the current stream either way, and from ordinary memory synchronously."""
        for a in args:
            if isinstance(a, Tensor):
                dtype, device = a.dtype, a.device
            elif isinstance(a, (str, backend.Device)) and not _is_dtype_name(a):
                device = a
            else:
                dtype = a
        from .ops.convert import cast, to_device

        out = self
        if device is not None and backend.device(device) != self.device:
            out = to_device(out, backend.device(device))
        if dtype is not None and backend.as_dtype(dtype) != out.dtype:
            out = cast(out, backend.as_dtype(dtype))
        if copy and out is self:
            from .ops.convert import clone
            out = clone(out)
        return out

    def pin_memory(self) -> "Tensor":
        """A copy in page-locked host memory (CPU tensors; needs CuPy and a GPU)."""
        if self.device.type != "cpu":
            raise RuntimeError(f"pin_memory: only CPU tensors can be pinned, got one on "
                               f"{self.device}")
        if self.is_pinned():
            return self
        return Tensor._wrap(backend.pin_memory(self.array))

    def is_pinned(self) -> bool:
        return backend.is_pinned(self.array)

    def type(self, dtype=None):
        if dtype is None:
            return f"nabla.{backend.dtype_name(self.dtype)}"
        return self.to(dtype)

    def float(self) -> "Tensor":
        return self.to(backend.float32)

    def double(self) -> "Tensor":
        return self.to(backend.float64)

    def half(self) -> "Tensor":
        return self.to(backend.float16)

    def bfloat16(self) -> "Tensor":
        return self.to(backend.bfloat16)

    def long(self) -> "Tensor":
        return self.to(backend.int64)

    def int(self) -> "Tensor":
        return self.to(backend.int32)

    def byte(self) -> "Tensor":
        return self.to(backend.uint8)

    def char(self) -> "Tensor":
        return self.to(backend.int8)

    def short(self) -> "Tensor":
        return self.to(backend.int16)

    def bool(self) -> "Tensor":
        return self.to(backend.bool_)

    def cpu(self) -> "Tensor":
        return self.to("cpu")

    def cuda(self, index: int = 0) -> "Tensor":
        return self.to(backend.Device("cuda", index))

    @property
    def data(self) -> "Tensor":
        """The same memory as a Tensor that records nothing, as in PyTorch: in-place
        changes through it reach this tensor without autograd seeing them."""
        return Tensor._wrap(self.array)

    @data.setter
    def data(self, value) -> None:
        """``param.data = t``: this tensor now holds ``t``'s array (any shape)."""
        if isinstance(value, Tensor):
            value = value.array
        elif not isinstance(value, _NDARRAY_TYPES):
            raise TypeError(f"Tensor.data: expected a Tensor, got {type(value).__name__}")
        self.array = value

    def detach(self) -> "Tensor":
        """The same data, cut from the graph."""
        t = Tensor._wrap(self.array)
        t._version = self._version  # shares memory, so shares the version counter
        return t

    def __deepcopy__(self, memo) -> "Tensor":
        """A leaf's independent copy (data, ``requires_grad`` and ``grad``), of the same
        class (a Parameter stays a Parameter): what ``copy.deepcopy(module)`` needs. As
        in PyTorch, a tensor an op computed (a graph node) cannot be deep-copied."""
        if self._node is not None:
            raise RuntimeError("deepcopy: only leaf tensors support deepcopy (this one was "
                               "computed by an op recorded for autograd); copy "
                               "tensor.detach() instead")
        new = Tensor._wrap(self.array.copy()) if type(self) is Tensor else \
            type(self)(Tensor._wrap(self.array.copy()), requires_grad=self.requires_grad)
        new.requires_grad = self.requires_grad
        memo[id(self)] = new
        if self.grad is not None:
            new.grad = self.grad.__deepcopy__(memo)
        return new

    def detach_(self) -> "Tensor":
        self._node = None
        self.requires_grad = False
        return self

    def clone(self) -> "Tensor":
        from .ops.convert import clone
        return clone(self)

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        if requires_grad and backend.dtype_kind(self.array.dtype) not in "fc":
            raise RuntimeError(
                f"requires_grad_: only floating-point tensors (and complex ones) can require "
                f"gradients, got dtype {self.dtype}")
        if not requires_grad and self._node is not None:
            raise RuntimeError(
                "requires_grad_(False): only leaf tensors can be switched off; use detach()")
        self.requires_grad = bool(requires_grad)
        return self

    # -- autograd ------------------------------------------------------------------
    def backward(self, gradient=None, retain_graph: bool | None = None,
                 create_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad``."""
        _api.backward([self], None if gradient is None else [gradient],
                     retain_graph=retain_graph, create_graph=create_graph)

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor after backward."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad: the tensor does not require grad")
        if self._node is not None:
            self._retains_grad = True

    @property
    def retains_grad(self) -> bool:
        return self._retains_grad

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed; a non-None
        return value replaces the gradient. Returns a handle with ``remove()``."""
        if not self.requires_grad:
            raise RuntimeError("register_hook: cannot register a hook on a tensor that "
                               "doesn't require gradient")
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(hook)
        return _HookHandle(self._hooks, hook)

    def register_post_accumulate_grad_hook(self, hook):
        """Call ``hook(self)`` each time backward has added into this leaf's ``.grad``
        (optimizer-in-backward recipes step there); it must return None. Returns a
        handle with ``remove()``."""
        from .autograd.engine import PostAccumulateGradHook

        if not self.requires_grad or self._node is not None:
            raise RuntimeError("register_post_accumulate_grad_hook: expected a leaf tensor "
                               "that requires grad" + ("" if self.requires_grad else
                                                        ", got one that does not"))
        return self.register_hook(PostAccumulateGradHook(hook))

    # -- in-place updates ------------------------------------------------------------
    def _inplace(self, fn, *args, _name: str | None = None, **kwargs) -> "Tensor":
        """Run the out-of-place ``fn(self, *args)`` and write its result into this tensor.

        The result is written into the existing array, so views see it. When
        grad is recorded, the op runs on a copy of the old value and this tensor
        takes over the result's node; the version counter then catches any node
        that had saved the old value.
        """
        name = _name or fn.__name__ + "_"
        recording = STATE.grad_enabled and (
            self.requires_grad or any(isinstance(a, Tensor) and a.requires_grad for a in args))
        if not recording:
            with _no_grad():
                result = fn(self, *args, **kwargs)
            self._write(result, name)
            return self
        if self._node is None and self.requires_grad:
            raise RuntimeError(
                f"{name}: a leaf tensor that requires grad (shape {tuple(self.shape)}) "
                f"is used in an in-place operation; wrap it in nabla.no_grad() or use the "
                f"out-of-place op")
        if self._base is not None:
            return self._inplace_on_view(fn, args, kwargs, name)
        old = Tensor._wrap(self.array.copy())
        old.requires_grad, old._node = self.requires_grad, self._node
        if self._node is not None:
            self._node._out = _weakref(old)
        result = fn(old, *args, **kwargs)
        self._write(result, name)
        self._node, self.requires_grad = result._node, result.requires_grad
        if result._node is not None:
            result._node._out = _weakref(self)
            result._node.out_version = self._version[0]
        return self

    def _inplace_on_view(self, fn, args: tuple, kwargs: dict, name: str) -> "Tensor":
        """``_inplace`` on a view while recording, as PyTorch rebases a view's history: the
        base takes a new history, ``setitem(old base, region, result)``, and the view reads
        its region from that. Every other view of the base routes its gradient through the
        base Tensor, so it sees the new history too; a node that saved the old values is
        caught by the version counter the views share with their base."""
        from .ops.index import setitem

        base = self._base
        if base._node is None and base.requires_grad:
            raise RuntimeError(
                f"{name}: a view of a leaf tensor that requires grad (the leaf's shape "
                f"{tuple(base.shape)}) is used in an in-place operation; wrap it in "
                f"nabla.no_grad() or clone() the view")
        region = _view_region(base.array, self.array, name)
        old = Tensor._wrap(base.array.copy())
        old.requires_grad, old._node = base.requires_grad, base._node
        if base._node is not None:
            base._node._out = _weakref(old)
        result = fn(old[region], *args, **kwargs)
        self._write(result, name)  # into the base's memory; bumps the shared version
        new_base = setitem(old, region, result)
        for t, rebuilt in ((base, new_base), (self, None)):
            if rebuilt is None:
                rebuilt = base[region]  # the view's values, read from the base's new history
            t._node, t.requires_grad = rebuilt._node, rebuilt.requires_grad
            if rebuilt._node is not None:
                rebuilt._node._out = _weakref(t)
                rebuilt._node.out_version = t._version[0]
        return self

    def _write(self, result: "Tensor", name: str) -> None:
        if result.shape != self.shape:
            raise RuntimeError(
                f"{name}: result of shape {tuple(result.shape)} cannot be written in place "
                f"into a tensor of shape {tuple(self.shape)}")
        if result.dtype != self.dtype and not np.can_cast(result.dtype, self.dtype, "same_kind"):
            raise RuntimeError(
                f"{name}: result type {result.dtype} can't be cast to the tensor's dtype "
                f"{self.dtype}")
        if not getattr(self.array.flags, "writeable", True):
            raise RuntimeError(
                f"{name}: the tensor of shape {tuple(self.shape)} is a read-only (expanded) "
                f"view; clone() it first")
        self.array[...] = result.array
        self._version[0] += 1

    def zero_(self) -> "Tensor":
        return self.fill_(0, _name="zero_")

    def fill_(self, value, _name: str = "fill_") -> "Tensor":
        if STATE.grad_enabled and self.requires_grad:
            if self._node is None:
                raise RuntimeError(f"{_name}: a leaf tensor that requires grad is used in an "
                                   f"in-place operation; wrap it in nabla.no_grad()")
            # the result no longer depends on the old history: a constant now
            self._node, self.requires_grad = None, False
        self.array[...] = value.array if isinstance(value, Tensor) else value
        self._version[0] += 1
        return self

    def copy_(self, src) -> "Tensor":
        src = src if isinstance(src, Tensor) else Tensor(np.asarray(src))
        if STATE.grad_enabled and (self.requires_grad or src.requires_grad):
            from .ops.convert import copy_from
            return self._inplace(copy_from, src, _name="copy_")
        if src.device != self.device:
            src = src.to(self.device)
        try:
            self.array[...] = src.array
        except ValueError:
            raise RuntimeError(
                f"copy_: source of shape {tuple(src.shape)} does not broadcast to destination "
                f"shape {tuple(self.shape)}") from None
        self._version[0] += 1
        return self

    def apply_(self, callable) -> "Tensor":
        """Replace each element ``x`` by ``callable(x)`` (a Python function; CPU, no grad)."""
        self._check_python_map("apply_")
        flat = self.array.reshape(-1)
        flat[...] = [callable(v) for v in flat.tolist()]
        self._version[0] += 1
        return self

    def map_(self, tensor: "Tensor", callable) -> "Tensor":
        """Replace each element ``x`` by ``callable(x, y)``, ``y`` from ``tensor`` broadcast
        to this shape (CPU, no grad)."""
        self._check_python_map("map_")
        other = np.broadcast_to(tensor.array if isinstance(tensor, Tensor) else tensor,
                                self.shape)
        flat = self.array.reshape(-1)
        flat[...] = [callable(a, b) for a, b in zip(flat.tolist(), other.reshape(-1).tolist())]
        self._version[0] += 1
        return self

    def _check_python_map(self, name: str) -> None:
        if self.device.type != "cpu":
            raise TypeError(f"{name}: only CPU tensors are supported, got one on {self.device}")
        if STATE.grad_enabled and self.requires_grad:
            raise RuntimeError(f"{name}: a tensor that requires grad (shape "
                               f"{tuple(self.shape)}) cannot be changed by a Python function")
        if not self.array.flags.c_contiguous:
            raise RuntimeError(f"{name}: expects a contiguous tensor; call contiguous() first")

    def __setitem__(self, index, value) -> None:
        if STATE.grad_enabled and (self.requires_grad or (isinstance(value, Tensor)
                                                          and value.requires_grad)):
            from .ops.index import setitem  # recorded: gradients reach self and value

            self._inplace(setitem, index, value, _name="__setitem__")
            return
        from .ops.index import assign

        assign(self.array, index, value.array if isinstance(value, Tensor) else value)
        self._version[0] += 1

    # -- printing ----------------------------------------------------------------------
    def __repr__(self) -> str:
        arr = backend.to_device(self.array, backend.CPU)
        if arr.dtype == backend.bfloat16:  # NumPy's printer has no float layout for it
            arr = arr.astype(np.float32)
        body = np.array2string(arr, separator=", ", prefix="tensor(", **_print_options(arr))
        extras = []
        if self.array.dtype not in (backend.float32, backend.int64, backend.bool_) or arr.size == 0:
            extras.append(f"dtype=nabla.{backend.dtype_name(self.dtype)}")
        if arr.size == 0:
            extras.append(f"size={tuple(self.shape)}")
        if self.device.type != "cpu":
            extras.append(f"device='{self.device}'")
        if self._node is not None:
            extras.append(f"grad_fn={self._node!r}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extras) + ")"

    __str__ = __repr__


from .autograd import api as _api  # noqa: E402  (api needs nothing from this module)


def _print_options(arr) -> dict:
    """``np.array2string`` options from ``nabla.set_printoptions`` for the CPU array ``arr``.
    Like PyTorch, non-integral floats show exactly ``precision`` digits (1.5000)."""
    from .runtime import PRINT_OPTIONS as opts

    out = dict(precision=opts["precision"], edgeitems=opts["edgeitems"],
               max_line_width=opts["linewidth"], threshold=min(opts["threshold"], sys.maxsize))
    if arr.dtype.kind in "fc" and arr.size:
        finite = arr[np.isfinite(arr)]
        if finite.size and np.any(finite != np.round(finite)):
            out["floatmode"] = "fixed"
        if opts["sci_mode"] is False:
            out["suppress"] = True
        elif opts["sci_mode"] is True:
            spec = (" " if np.any(np.signbit(arr.real)) else "") + f".{opts['precision']}e"
            out["formatter"] = {"float_kind": lambda v: format(v, spec)}
    return out


class _HookHandle:
    def __init__(self, hooks: list, hook):
        self._hooks, self._hook = hooks, hook

    def remove(self) -> None:
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)

    def __enter__(self) -> "_HookHandle":  # ``with t.register_hook(h): ...`` removes it on exit
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


def _view_region(base, view, name: str) -> tuple:
    """The index (a tuple of integer arrays shaped like ``view``) of the elements of
    ``base`` that the array ``view`` shares memory with, in base's logical order."""
    xp = backend.get_array_module(base)
    item = base.itemsize

    def offsets(a, start: int):
        off = xp.full(a.shape, start, dtype=np.int64)
        for k, (n, stride) in enumerate(zip(a.shape, a.strides)):
            shape = [1] * a.ndim
            shape[k] = n
            off = off + (xp.arange(n, dtype=np.int64) * (stride // item)).reshape(shape)
        return off

    if view.size == 0:
        return tuple(xp.zeros(view.shape, dtype=np.int64) for _ in range(base.ndim))
    in_base = offsets(base, 0)
    in_view = offsets(view, (_address(view) - _address(base)) // item)
    low = int(in_base.min())
    table = xp.full(int(in_base.max()) - low + 1, -1, dtype=np.int64)
    table[(in_base - low).ravel()] = xp.arange(base.size, dtype=np.int64)
    inside = (in_view >= low) & (in_view - low < table.size)
    flat = table[xp.clip(in_view - low, 0, table.size - 1)]
    if not bool(inside.all()) or bool((flat < 0).any()):
        raise RuntimeError(f"{name}: the view of shape {tuple(view.shape)} does not lie within "
                           f"its base of shape {tuple(base.shape)}; clone() it first")
    return tuple(xp.unravel_index(flat, base.shape))


def _address(array) -> int:
    if isinstance(array, np.ndarray):
        return int(array.__array_interface__["data"][0])
    return int(array.data.ptr)  # CuPy


def _weakref(t):
    import weakref
    return weakref.ref(t)


def _no_grad():
    from .autograd.grad_mode import no_grad
    return no_grad()


def _is_dtype_name(a) -> bool:
    if isinstance(a, backend.Device):
        return False
    return a.replace("nabla.", "") in backend._DTYPE_NAMES


# -- turning user values into tensors -------------------------------------------------
def lift(value, like: Tensor) -> Tensor:
    """``value`` as a Tensor beside ``like``: Python numbers take ``like``'s dtype
    (a float next to an integer tensor takes the default float dtype), as in PyTorch."""
    if isinstance(value, Tensor):
        return value
    xp = backend.get_array_module(like.array)
    if isinstance(value, bool):
        kind = backend.dtype_kind(like.array.dtype)
        return Tensor._wrap(xp.asarray(value, dtype=like.array.dtype if kind != "b" else bool))
    if isinstance(value, numbers.Integral):
        dt = like.array.dtype if backend.dtype_kind(like.array.dtype) in "iufc" else backend.int64
        return Tensor._wrap(xp.asarray(value, dtype=dt))
    if isinstance(value, numbers.Real):
        dt = (like.array.dtype if backend.is_floating(like.array.dtype)
              or like.array.dtype.kind == "c" else backend.get_default_dtype())
        return Tensor._wrap(xp.asarray(value, dtype=dt))
    if isinstance(value, numbers.Complex):  # complex beside a real tensor: its precision
        dt = like.array.dtype
        dt = backend.complex_dtype(dt if backend.is_floating(dt) or dt.kind == "c"
                                   else backend.get_default_dtype())
        return Tensor._wrap(xp.asarray(value, dtype=dt))
    if isinstance(value, _NDARRAY_TYPES) or isinstance(value, np.generic):
        return Tensor._wrap(xp.asarray(value))
    if isinstance(value, (list, tuple)):
        arr = np.asarray(value)
        if backend.dtype_kind(arr.dtype) == "f":
            arr = arr.astype(like.array.dtype if backend.dtype_kind(like.array.dtype) == "f"
                             else backend.get_default_dtype())
        return Tensor._wrap(xp.asarray(arr))
    raise TypeError(f"expected a Tensor or a number, got {type(value).__name__}")
