"""``nabla.testing``: ``assert_close``, with ``torch.testing.assert_close``'s semantics.

Two tensors are close where ``|actual - expected| <= atol + rtol * |expected|``
elementwise (NaNs equal only with ``equal_nan=True``, infinities only to the same
infinity). ``rtol`` and ``atol`` are given together or not at all; left out, they come
from the dtypes (the larger of the two inputs' values):

=====================  ========  ========
dtype                  rtol      atol
=====================  ========  ========
float16                1e-3      1e-5
bfloat16               1.6e-2    1e-5
float32, complex64     1.3e-6    1e-5
float64, complex128    1e-7      1e-7
anything else          0         0
=====================  ========  ========

Inputs may be tensors, NumPy arrays, Python scalars, or sequences and mappings of them
(compared item by item, the failing item named in the message). Shapes must match, and,
with ``check_dtype`` (the default), dtypes too; with ``check_dtype=False`` both are
promoted to a common dtype first. The AssertionError says how many elements mismatch and
where the greatest absolute and relative differences are.
"""
from __future__ import annotations

import collections.abc as abc
import numbers

import numpy as np

from . import backend

__all__ = ["assert_close"]

_TOLERANCES = {
    np.dtype(np.float16): (1e-3, 1e-5),
    backend.bfloat16: (1.6e-2, 1e-5),
    np.dtype(np.float32): (1.3e-6, 1e-5),
    np.dtype(np.complex64): (1.3e-6, 1e-5),
    np.dtype(np.float64): (1e-7, 1e-7),
    np.dtype(np.complex128): (1e-7, 1e-7),
}


class _Failure(Exception):
    """A mismatch, with the path of the failing item (for nested inputs)."""

    def __init__(self, kind, message, path=()):
        super().__init__(message)
        self.kind, self.message, self.path = kind, message, path


def _tolerances(*dtypes):
    pairs = [_TOLERANCES.get(np.dtype(d), (0.0, 0.0)) for d in dtypes]
    return max(p[0] for p in pairs), max(p[1] for p in pairs)


def _is_tensor(x) -> bool:
    from .tensor import Tensor

    return isinstance(x, Tensor)


def _to_numpy(x) -> np.ndarray:
    return np.asarray(x.detach().cpu().numpy() if _is_tensor(x) else x)


def _close_mask(a, e, rtol, atol, equal_nan):
    if a.dtype == np.bool_ or e.dtype == np.bool_ or (rtol == 0 and atol == 0):
        close = a == e
    else:
        with np.errstate(invalid="ignore", over="ignore"):
            close = np.abs(a - e) <= atol + rtol * np.abs(e)
        # infinities are close only to the same infinity
        close = np.where(np.isfinite(a) & np.isfinite(e), close, a == e)
    if equal_nan:
        close |= np.isnan(a) & np.isnan(e) if a.dtype.kind in "fc" else False
    return close


def _compare_arrays(actual, expected, rtol, atol, equal_nan, check_dtype, check_device,
                    devices=None):
    a, e = actual, expected
    if a.shape != e.shape:
        raise _Failure(AssertionError, f"The values for attribute 'shape' do not match: "
                                       f"{_size(a.shape)} != {_size(e.shape)}.")
    if devices is not None and check_device and devices[0] != devices[1]:
        raise _Failure(AssertionError, f"The values for attribute 'device' do not match: "
                                       f"{devices[0]} != {devices[1]}.")
    if check_dtype and a.dtype != e.dtype:
        raise _Failure(AssertionError, f"The values for attribute 'dtype' do not match: "
                                       f"{_dt(a.dtype)} != {_dt(e.dtype)}.")
    if rtol is None:
        rtol, atol = _tolerances(a.dtype, e.dtype)
    if a.dtype != e.dtype:
        common = np.promote_types(a.dtype, e.dtype)
        a, e = a.astype(common), e.astype(common)
    if a.dtype == backend.bfloat16:
        a, e = a.astype(np.float32), e.astype(np.float32)
    close = _close_mask(a, e, rtol, atol, equal_nan)
    if bool(np.all(close)):
        return
    exact = rtol == 0 and atol == 0
    n_bad, n = int(np.size(close) - np.count_nonzero(close)), int(np.size(close))
    if a.dtype.kind in "iub":  # differences of integers, exact (no unsigned wrap-around)
        a, e = a.astype(np.int64), e.astype(np.int64)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        diff = np.where(close, 0, np.abs(a - e))
        rel = np.where(close, 0, np.abs(a - e) / np.abs(e).astype(np.float64))

    def greatest(values):
        flat = np.asarray(values).reshape(-1)
        i = int(np.nanargmax(flat)) if not np.all(np.isnan(flat)) else 0
        if np.isnan(flat).any():
            i = int(np.flatnonzero(np.isnan(flat))[0])
        index = np.unravel_index(i, values.shape) if values.ndim else ()
        value = flat[i].item()
        return value, tuple(int(k) for k in index)

    (d, di), (r, ri) = greatest(diff), greatest(rel)
    allowed = ("", "") if exact else (f" (up to {atol} allowed)", f" (up to {rtol} allowed)")
    raise _Failure(AssertionError,
                   f"Tensor-likes are not {'equal' if exact else 'close'}!\n\n"
                   f"Mismatched elements: {n_bad} / {n} ({100 * n_bad / n:.1f}%)\n"
                   f"Greatest absolute difference: {d} at index {di}{allowed[0]}\n"
                   f"Greatest relative difference: {r} at index {ri}{allowed[1]}")


def _size(shape) -> str:
    return f"nabla.Size({list(shape)})"


def _dt(dtype) -> str:
    return f"nabla.{np.dtype(dtype).name}"


def _compare_scalars(actual, expected, rtol, atol, equal_nan, check_dtype):
    if check_dtype and type(actual) is not type(expected):
        raise _Failure(AssertionError, f"The (d)types do not match: {type(actual)} != "
                                       f"{type(expected)}.")
    if isinstance(actual, bool) or isinstance(expected, bool):
        rtol = atol = 0.0
    elif rtol is None:
        complex_ = isinstance(actual, complex) or isinstance(expected, complex)
        floating = complex_ or isinstance(actual, float) or isinstance(expected, float)
        rtol, atol = (1e-7, 1e-7) if floating else (0.0, 0.0)
    if actual == expected or (equal_nan and actual != actual and expected != expected):
        return
    diff = abs(actual - expected)
    if diff <= atol + rtol * abs(expected):
        return
    rel = diff / abs(expected) if expected != 0 else float("inf")
    exact = rtol == 0 and atol == 0
    raise _Failure(AssertionError,
                   f"Scalars are not {'equal' if exact else 'close'}!\n\n"
                   f"Expected {expected} but got {actual}.\n"
                   f"Absolute difference: {diff}{'' if exact else f' (up to {atol} allowed)'}\n"
                   f"Relative difference: {rel}{'' if exact else f' (up to {rtol} allowed)'}")


def _compare(actual, expected, path, kw):
    if _is_tensor(actual) and _is_tensor(expected):
        try:
            _compare_arrays(_to_numpy(actual), _to_numpy(expected), *kw,
                            devices=(str(actual.device), str(expected.device)))
        except _Failure as f:
            f.path = path
            raise
        return
    if isinstance(actual, np.ndarray) and isinstance(expected, np.ndarray):
        try:
            _compare_arrays(actual, expected, *kw)
        except _Failure as f:
            f.path = path
            raise
        return
    if isinstance(actual, (numbers.Number, np.generic)) and \
            isinstance(expected, (numbers.Number, np.generic)) and \
            not _is_tensor(actual) and not _is_tensor(expected):
        try:
            _compare_scalars(actual, expected, *kw[:4])
        except _Failure as f:
            f.path = path
            raise
        return
    if isinstance(actual, abc.Mapping) and isinstance(expected, abc.Mapping):
        if set(actual) != set(expected):
            missing = sorted(set(expected) - set(actual), key=repr)
            extra = sorted(set(actual) - set(expected), key=repr)
            raise _Failure(AssertionError,
                           f"The keys of the mappings do not match:\n"
                           f"Missing keys in the actual mapping: {missing}\n"
                           f"Additional keys in the actual mapping: {extra}", path)
        for key in expected:
            _compare(actual[key], expected[key], path + (key,), kw)
        return
    if _is_sequence(actual) and _is_sequence(expected):
        if len(actual) != len(expected):
            raise _Failure(AssertionError, f"The length of the sequences mismatch: "
                                           f"{len(actual)} != {len(expected)}", path)
        for i, (a, e) in enumerate(zip(actual, expected)):
            _compare(a, e, path + (i,), kw)
        return
    raise _Failure(TypeError, f"No comparison pair was able to handle inputs of type "
                              f"{type(actual)} and {type(expected)}.", path)


def _is_sequence(x) -> bool:
    return isinstance(x, abc.Sequence) and not isinstance(x, (str, bytes))


def assert_close(actual, expected, *, allow_subclasses=True, rtol=None, atol=None,
                 equal_nan=False, check_device=True, check_dtype=True, check_layout=True,
                 check_stride=False, msg=None) -> None:
    """Raise an AssertionError unless ``actual`` and ``expected`` are close (see the module).

    ``msg`` replaces the generated message, or, if callable, is called with it and
    returns the message. ``allow_subclasses``, ``check_layout`` and ``check_stride`` are
    accepted for PyTorch's signature; nabla's tensors are all dense and strided alike.
    """
    if (rtol is None) != (atol is None):
        raise ValueError(f"Both 'rtol' and 'atol' must be either specified or omitted, but "
                         f"got no {'rtol' if rtol is None else 'atol'}.")
    kw = (rtol, atol, equal_nan, check_dtype, check_device)
    try:
        _compare(actual, expected, (), kw)
    except _Failure as f:
        message = f.message
        if f.path:
            message += "\n\nThe failure occurred for item " + "".join(f"[{p!r}]"
                                                                     for p in f.path)
        if f.kind is AssertionError and msg is not None:
            message = msg(message) if callable(msg) else msg
        raise f.kind(message) from None
