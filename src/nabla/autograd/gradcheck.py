"""Finite-difference checks of reverse and forward mode, to second order.

For random directions ``u`` (inputs) and ``v`` (outputs) the checks compare
  reverse mode:  <vjp(v), u>  with  <v, (f(x + eps u) - f(x - eps u)) / 2 eps>
  forward mode:  jvp(u)       with  (f(x + eps u) - f(x - eps u)) / 2 eps
in float64, where <a, b> = sum(Re a Re b + Im a Im b): complex tensors are
checked as pairs of real ones (complex128 inputs). Second order applies the
same checks to the functions x -> vjp(x; v) and x -> jvp(x; u), which covers
reverse-over-reverse, forward-over-reverse, reverse-over-forward and
forward-over-forward. The checks use one random direction for all inputs at
once; only when that fails are the inputs (and their real and imaginary parts)
tried one by one, to name the one that is wrong.
"""
from __future__ import annotations

import numpy as np

from . import forward_ad
from ..backend import dtype_kind
from .api import grad as _grad
from .grad_mode import enable_grad, no_grad


class GradcheckError(AssertionError):
    pass


_PART = ("real part", "imaginary part")


def _outputs(result) -> list:
    return list(result) if isinstance(result, (tuple, list)) else [result]


def _float_outputs(outs) -> list:
    """The differentiable outputs: floating point and complex."""
    return [o for o in outs if o is not None and dtype_kind(o.dtype) in "fc"]


def _is_complex(x) -> bool:
    return dtype_kind(x.dtype) == "c"


def _parts(x) -> tuple:
    """The real coordinates of ``x``: (0,) for a real tensor, (0, 1) for a complex one."""
    return (0, 1) if _is_complex(x) else (0,)


def _as_float64(o):
    return o.array.astype(np.complex128 if _is_complex(o) else np.float64)


def _rdot(a, b) -> float:
    """The real inner product Re <a, b> = sum(Re a Re b + Im a Im b) (arrays, or None: 0)."""
    if a is None or b is None:
        return 0.0
    a, b = np.asarray(a), np.asarray(b)
    return float(np.sum(a.real * b.real) + np.sum(np.imag(a) * np.imag(b)))


def _draw(rng, rng_im, shape, parts: tuple):
    """A random direction in the ``parts`` of a tensor of ``shape`` (imaginary ones from
    ``rng_im``, so that real inputs and outputs see the same draws as ever)."""
    real = rng.standard_normal(shape) if 0 in parts else None
    if 1 not in parts:
        return real
    imag = 1j * rng_im.standard_normal(shape)
    return imag if real is None else real + imag


def _differentiated(inputs, caller: str) -> tuple[tuple, list]:
    """``inputs`` as a tuple and the positions of those to differentiate (checked)."""
    from ..tensor import Tensor

    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    diff = [i for i, x in enumerate(inputs)
            if isinstance(x, Tensor) and x.requires_grad and dtype_kind(x.dtype) in "fc"]
    for i in diff:
        if inputs[i].dtype not in (np.float64, np.complex128):
            raise ValueError(f"{caller}: input {i} has dtype {inputs[i].dtype}; finite "
                             f"differences need float64 (or complex128) inputs")
    return inputs, diff


def _fd_directional(func, inputs, diff, dirs, eps):
    """Central difference of every differentiable output along the input directions
    (None: that input stays put)."""
    from ..tensor import Tensor

    def shifted(sign):
        args = list(inputs)
        for i, u in zip(diff, dirs):
            if u is not None:
                # keep requires_grad: func may itself differentiate (second-order checks)
                args[i] = Tensor._wrap(inputs[i].array + sign * eps * u).requires_grad_()
        return [_as_float64(o) for o in _float_outputs(_outputs(func(*args)))]

    plus, minus = shifted(1), shifted(-1)
    return [(p - m) / (2 * eps) for p, m in zip(plus, minus)]


def _close(a, b, atol, rtol) -> bool:
    return bool(np.all(np.abs(a - b) <= atol + rtol * np.abs(b)))


def _fail(msg: str, raise_exception: bool) -> bool:
    if raise_exception:
        raise GradcheckError(msg)
    return False


class _Checker:
    """One gradcheck: the function, its inputs and tolerances, and the two checks."""

    def __init__(self, func, inputs, diff, eps, atol, rtol):
        self.func, self.inputs, self.diff = func, inputs, diff
        self.eps, self.atol, self.rtol = eps, atol, rtol
        self.name = getattr(func, "__name__", "func")

    def numeric(self, dirs) -> list:
        return _fd_directional(self.func, self.inputs, self.diff, dirs, self.eps)

    def single(self, j: int, part: int, rng) -> list:
        """Directions that move only the ``part`` of differentiated input ``j``."""
        x = self.inputs[self.diff[j]]
        u = rng.standard_normal(x.shape) * (1j if part else 1)
        return [u if k == j else None for k in range(len(self.diff))]

    def input_parts(self):
        """(j, part) for every real coordinate of every differentiated input."""
        return [(j, p) for j, i in enumerate(self.diff) for p in _parts(self.inputs[i])]

    # -- reverse mode: <vjp(v), u> against <v, finite difference along u> ------------------
    def outputs_with_graph(self) -> list:
        with enable_grad():
            return _float_outputs(_outputs(self.func(*self.inputs)))

    def pullback_dot(self, outs, vs, dirs) -> float:
        """<vjp(vs), dirs>: cotangents ``vs`` (None: none) on ``outs``."""
        from ..tensor import Tensor

        pairs = [(o, Tensor._wrap(v.astype(o.dtype))) for o, v in zip(outs, vs)
                 if v is not None and o.requires_grad]
        if not pairs:
            return 0.0
        grads = _grad([o for o, _ in pairs], [self.inputs[i] for i in self.diff],
                      grad_outputs=[v for _, v in pairs], retain_graph=True, allow_unused=True)
        return sum(_rdot(None if g is None else g.array, u) for g, u in zip(grads, dirs))

    def reverse(self, dirs, numeric, rng, rng_im) -> str | None:
        """None, or what is wrong. Complex outputs are checked with real cotangents, then
        with imaginary ones (a complex output is two real outputs)."""
        outs = self.outputs_with_graph()
        real_vs = [_draw(rng, rng_im, o.shape, (0,)) for o in outs]
        imag_vs = [_draw(rng, rng_im, o.shape, (1,)) if _is_complex(o) else None for o in outs]
        for vs in (real_vs, imag_vs):
            if all(v is None for v in vs):
                continue
            got = self.pullback_dot(outs, vs, dirs)
            expected = sum(_rdot(v, n) for v, n in zip(vs, numeric))
            if not _close(got, expected, self.atol, self.rtol):
                return self.locate_reverse(rng) or (
                    f"gradcheck({self.name}): reverse mode <vjp(v), u> = {got!r} but finite "
                    f"differences give {expected!r}")
        return None

    def locate_reverse(self, rng) -> str | None:
        """After a failure: the first input part and output part whose check fails."""
        outs = self.outputs_with_graph()
        for j, p in self.input_parts():
            dirs = self.single(j, p, rng)
            numeric = self.numeric(dirs)
            for k, o in enumerate(outs):
                for q in _parts(o):
                    v = rng.standard_normal(o.shape) * (1j if q else 1)
                    vs = [v if m == k else None for m in range(len(outs))]
                    got = self.pullback_dot(outs, vs, dirs)
                    expected = _rdot(v, numeric[k])
                    if not _close(got, expected, self.atol, self.rtol):
                        return (f"gradcheck({self.name}): reverse mode is wrong for input "
                                f"{self.diff[j]} ({_PART[p]}) and output {k} ({_PART[q]}): "
                                f"<vjp(v), u> = {got!r} but finite differences give "
                                f"{expected!r}")
        return None

    # -- forward mode: jvp(u) against the finite difference along u --------------------------
    def tangents(self, dirs) -> list:
        from ..tensor import Tensor

        with forward_ad.dual_level():
            args = list(self.inputs)
            for i, u in zip(self.diff, dirs):
                if u is not None:
                    args[i] = forward_ad.make_dual(self.inputs[i], Tensor._wrap(u))
            outs = _float_outputs(_outputs(self.func(*args)))
            tangents = [forward_ad.unpack_dual(o).tangent for o in outs]
        return [None if t is None else _as_float64(t) for t in tangents]

    def tangent_error(self, dirs, numeric, along: str = "") -> str | None:
        for k, (t, n) in enumerate(zip(self.tangents(dirs), numeric)):
            t = np.zeros_like(n) if t is None else t
            if t.shape != n.shape:
                return (f"gradcheck({self.name}): forward mode tangent of output {k}{along} "
                        f"has shape {t.shape}, finite differences {n.shape}")
            for q, get in enumerate((np.real, np.imag)):
                if not _close(get(t), get(n), self.atol, self.rtol):
                    part = f" ({_PART[q]})" if np.iscomplexobj(n) else ""
                    err = np.max(np.abs(get(t) - get(n)))
                    return (f"gradcheck({self.name}): forward mode tangent of output {k}{part}"
                            f"{along} differs from finite differences (max abs error {err})")
        return None

    def forward(self, dirs, numeric, rng) -> str | None:
        """None, or what is wrong (naming the input part when one alone shows it)."""
        combined = self.tangent_error(dirs, numeric)
        if combined is None:
            return None
        for j, p in self.input_parts():
            single = self.single(j, p, rng)
            found = self.tangent_error(single, self.numeric(single),
                                       f" along input {self.diff[j]} ({_PART[p]})")
            if found is not None:
                return found
        return combined


def gradcheck(func, inputs, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              check_backward_ad: bool = True, check_forward_ad: bool = True,
              raise_exception: bool = True, seed: int = 0) -> bool:
    """Check ``func``'s vjp and jvp against central finite differences.

    ``inputs`` is a Tensor or tuple of Tensors; those with ``requires_grad``
    and a floating or complex dtype (use float64 / complex128) are differentiated.
    A complex input counts as two real inputs (its real and imaginary parts) and a
    complex output as two real outputs, so both Wirtinger derivatives are checked:
    reverse mode with real and with imaginary cotangents, in PyTorch's convention
    (``z.grad = dL/dRe z + i dL/dIm z``), forward mode along complex directions.
    A failure names the input and output, and which part, that disagree.
    """
    inputs, diff = _differentiated(inputs, "gradcheck")
    if not diff:
        raise ValueError("gradcheck: no input requires grad")
    rng = np.random.default_rng(seed)
    rng_im = np.random.default_rng([seed, 1])  # imaginary parts: real draws stay as they were
    dirs = [_draw(rng, rng_im, inputs[i].shape, _parts(inputs[i])) for i in diff]
    check = _Checker(func, inputs, diff, eps, atol, rtol)
    numeric = check.numeric(dirs)

    if check_backward_ad:
        problem = check.reverse(dirs, numeric, rng, rng_im)
        if problem is not None:
            return _fail(problem, raise_exception)
    if check_forward_ad:
        problem = check.forward(dirs, numeric, rng)
        if problem is not None:
            return _fail(problem, raise_exception)
    return True


def gradgradcheck(func, inputs, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
                  check_backward_ad: bool = True, check_forward_ad: bool = True,
                  raise_exception: bool = True, seed: int = 1) -> bool:
    """Check second derivatives: ``gradcheck`` of x -> vjp(x; v) and x -> jvp(x; u).

    For complex outputs ``v`` and for complex inputs ``u`` are complex (random real
    and imaginary parts); the gradcheck of those maps then checks each part."""
    from ..tensor import Tensor

    inputs, diff = _differentiated(inputs, "gradgradcheck")
    rng = np.random.default_rng(seed)
    rng_im = np.random.default_rng([seed, 1])
    with no_grad():
        outs = _float_outputs(_outputs(func(*inputs)))
    vs = [Tensor._wrap(_draw(rng, rng_im, o.shape, _parts(o)).astype(o.dtype)) for o in outs]
    us = [Tensor._wrap(_draw(rng, rng_im, inputs[i].shape, _parts(inputs[i]))) for i in diff]

    def vjp_fn(*args):
        with enable_grad():
            outs = _float_outputs(_outputs(func(*args)))
            pairs = [(o, v) for o, v in zip(outs, vs) if o.requires_grad]
            if not pairs:
                return tuple(args[i] * 0 for i in diff)
            grads = _grad([o for o, _ in pairs], [args[i] for i in diff],
                          grad_outputs=[v for _, v in pairs], create_graph=True,
                          allow_unused=True)
        return tuple(args[i] * 0 if g is None else g for i, g in zip(diff, grads))

    def jvp_fn(*args):
        with forward_ad.dual_level():
            duals = list(args)
            for i, u in zip(diff, us):
                duals[i] = forward_ad.make_dual(args[i], u)
            outs = _float_outputs(_outputs(func(*duals)))
            tangents = [forward_ad.unpack_dual(o).tangent for o in outs]
        return tuple(o * 0 if t is None else t for o, t in zip(outs, tangents))

    kw = dict(eps=eps, atol=atol, rtol=rtol, check_backward_ad=check_backward_ad,
              check_forward_ad=check_forward_ad, raise_exception=raise_exception, seed=seed)
    ok = True
    if check_backward_ad:
        vjp_fn.__name__ = f"vjp of {getattr(func, '__name__', 'func')}"
        ok = gradcheck(vjp_fn, inputs, **kw) and ok
    if check_forward_ad:
        jvp_fn.__name__ = f"jvp of {getattr(func, '__name__', 'func')}"
        ok = gradcheck(jvp_fn, inputs, **kw) and ok
    return ok
