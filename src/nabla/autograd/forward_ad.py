"""Forward mode: tangents travel with their primals, one op at a time.

Inside ``with dual_level():``, ``make_dual(x, t)`` attaches tangent ``t`` to
``x``; every op applied to tensors carrying tangents runs its ``jvp`` rule
next to its forward (``Function.apply``), so the output carries its tangent
too, and ``unpack_dual`` reads it. Levels nest: a tangent may itself carry a
tangent of an outer level, which is how forward-over-forward derivatives work.
"""
from __future__ import annotations

import itertools
from typing import NamedTuple

from ..backend import dtype_kind
from .grad_mode import STATE

_level_ids = itertools.count(1)


class dual_level:
    """Open a forward-mode level; tangents made inside it vanish on exit."""

    def __enter__(self) -> int:
        self.level = next(_level_ids)
        STATE.fw_levels = STATE.fw_levels + [self.level]
        return self.level

    def __exit__(self, *exc):
        STATE.fw_levels = [lv for lv in STATE.fw_levels if lv != self.level]
        return False


def _current_level(level):
    if level is not None:
        return level
    if not STATE.fw_levels:
        raise RuntimeError("make_dual/unpack_dual: no forward-mode level is open; use "
                           "`with nabla.autograd.forward_ad.dual_level():`")
    return STATE.fw_levels[-1]


def make_dual(tensor, tangent, *, level: int | None = None):
    """A view of ``tensor`` that carries ``tangent`` at ``level`` (innermost by default).

    The primal is floating point or complex; the tangent is cast to its dtype (a real
    tangent of a complex primal points along the real axis). Complex tangents follow
    the ops' jvp rules: ``f'(z) * t`` for a holomorphic ``f`` -- no conjugate, unlike
    reverse mode -- and the real-linear map of ``real``, ``imag``, ``conj``, ``abs``
    and ``angle`` (see ``ops/complex.py``)."""
    from ..tensor import Tensor

    level = _current_level(level)
    if tangent.shape != tensor.shape:
        raise ValueError(f"make_dual: tangent of shape {tuple(tangent.shape)} does not match "
                         f"primal of shape {tuple(tensor.shape)}")
    kind = dtype_kind(tensor.array.dtype)
    if kind not in "fc":
        raise ValueError(f"make_dual: primal must be floating point or complex, got "
                         f"{tensor.dtype}")
    tangent = tangent if isinstance(tangent, Tensor) else Tensor(tangent)
    if kind == "f" and dtype_kind(tangent.array.dtype) == "c":
        # the cast to the primal's dtype would drop the imaginary part without a word
        raise ValueError(f"make_dual: a real primal ({tensor.dtype}) cannot carry a complex "
                         f"tangent ({tangent.dtype}); make the primal complex first")
    from ..ops.convert import alias

    dual = alias(tensor)  # a new graph node: keeps reverse-mode links and outer tangents
    dual._tangents = dict(tensor._tangents or {})
    dual._tangents[level] = tangent.to(tensor.dtype)
    return dual


class UnpackedDual(NamedTuple):
    primal: object
    tangent: object


def unpack_dual(tensor, *, level: int | None = None) -> UnpackedDual:
    level = _current_level(level)
    tangent = (tensor._tangents or {}).get(level)
    return UnpackedDual(tensor, tangent)
