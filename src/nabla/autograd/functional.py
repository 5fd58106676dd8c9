"""Function transforms: ``grad``, ``vjp``, ``jvp``, ``jacrev``, ``jacfwd``, ``hessian``, ``hvp``.

Two families live here:

* the ``torch.func`` / JAX transforms (re-exported by ``nabla.func`` under their
  usual names): ``grad``, ``grad_and_value``, ``value_and_grad``, ``jacrev``,
  ``jacfwd``, and ``func_vjp``, ``func_jvp``, ``func_hessian``, ``func_hvp``
  (``nabla.func.vjp`` etc.; prefixed here only because the names below take
  the plain ones);
* the ``torch.autograd.functional`` functions with PyTorch's signatures:
  ``vjp``, ``jvp``, ``jacobian``, ``hessian``, ``hvp``, ``vhp``.

They add no derivative machinery of their own: reverse mode is
``autograd.grad`` and forward mode is ``dual_level`` / ``make_dual`` /
``unpack_dual``.

How transforms nest. A transform never detaches its inputs: it gives each one
a fresh graph node, ``alias(x)``. When ``x`` belongs to an outer computation
(the input of an outer ``grad``, or a tensor that requires grad) the alias
stays linked to it, and when ``x`` carries the tangent of an outer ``jvp`` the
alias carries it too. When ``x`` is linked to nothing, the alias is a leaf:
the transform makes it require grad and calls it its own. Before running
backward, a transform asks whether the output reaches a tensor requiring grad
other than its own leaves (``_reaches_outer``); only then does it record the
backward pass (``create_graph=True``) so that an outer transform can
differentiate the result again. Otherwise the results come back as plain
tensors. Forward-mode tangents flow through the backward pass either way,
because ``Function.apply`` propagates tangents whether or not it records.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..backend import dtype_kind, get_array_module
from ..tensor import Tensor
from .api import grad as _autograd_grad
from .forward_ad import dual_level, make_dual, unpack_dual
from .grad_mode import STATE, enable_grad, no_grad, set_grad_enabled

__all__ = [
    # torch.func / JAX transforms
    "grad", "grad_and_value", "value_and_grad", "jacrev", "jacfwd",
    "func_vjp", "func_jvp", "func_hessian", "func_hvp",
    # torch.autograd.functional
    "vjp", "jvp", "jacobian", "hessian", "hvp", "vhp",
]


# -- pytrees: Tensors inside (nested) tuples, lists and dicts ---------------------------------
def _flatten(tree, what: str) -> tuple[list, Callable]:
    """The Tensors of ``tree`` in order, and a function rebuilding the tree from new leaves."""
    if isinstance(tree, Tensor):
        return [tree], lambda leaves: leaves[0]
    if isinstance(tree, (tuple, list)):
        leaves, rebuild = _join([_flatten(x, what) for x in tree])
        kind = list if isinstance(tree, list) else tuple
        return leaves, lambda new: kind(rebuild(new))
    if isinstance(tree, dict):
        keys = list(tree)
        leaves, rebuild = _join([_flatten(tree[k], what) for k in keys])
        return leaves, lambda new: dict(zip(keys, rebuild(new)))
    raise TypeError(f"{what}: expected a Tensor (or a tuple, list or dict of Tensors), got "
                    f"{type(tree).__name__}")


def _join(parts: list) -> tuple[list, Callable]:
    leaves, sizes = [], []
    for part_leaves, _ in parts:
        leaves.extend(part_leaves)
        sizes.append(len(part_leaves))

    def rebuild(new: list) -> list:
        out, start = [], 0
        for (_, part_rebuild), n in zip(parts, sizes):
            out.append(part_rebuild(new[start:start + n]))
            start += n
        return out

    return leaves, rebuild


def _as_tuple(x) -> tuple:
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


# -- argnums and the transform's own inputs ----------------------------------------------------
def _check_argnums(argnums, nargs: int, caller: str) -> tuple[tuple, bool]:
    """``argnums`` (int or tuple of ints, negative allowed) as non-negative positions."""
    single = isinstance(argnums, int)
    nums = (argnums,) if single else tuple(argnums)
    if not nums:
        raise ValueError(f"{caller}: argnums must name at least one argument")
    positions = []
    for a in nums:
        if not isinstance(a, int) or isinstance(a, bool):
            raise TypeError(f"{caller}: argnums must be an int or a tuple of ints, got {argnums!r}")
        if not -nargs <= a < nargs:
            raise IndexError(f"{caller}: argnums={argnums!r} is out of range for a function "
                             f"called with {nargs} positional argument(s)")
        positions.append(a % nargs)
    if len(set(positions)) != len(positions):
        raise ValueError(f"{caller}: argnums={argnums!r} names an argument twice")
    return tuple(positions), single


@dataclass
class _Call:
    """The arguments as the transform passes them to ``func``."""
    args: list            # all positional arguments, differentiated ones replaced
    leaves: list          # the differentiated Tensors, flattened
    own_ids: set          # ids of the leaves that belong to this transform alone
    rebuild: Callable     # flat per-leaf results -> the structure of argnums


def _own_input(x, what: str, own_ids: set, complex_ok: bool = True):
    """A new graph node for ``x``: linked to whatever ``x`` is linked to (see module doc).

    Complex inputs are differentiated by ``grad`` and ``vjp`` (PyTorch's convention, see
    ``ops/complex.py``); the Jacobian transforms refuse them, as ``torch.func`` does."""
    from ..ops.convert import alias

    kind = dtype_kind(x.dtype)
    if kind == "c" and not complex_ok:
        raise TypeError(f"{what} has dtype {x.dtype}; {_NO_COMPLEX_JACOBIAN}")
    if kind not in "fc":
        raise TypeError(f"{what} has dtype {x.dtype}; only floating-point and complex tensors "
                        f"can be differentiated")
    y = alias(x)
    if y._node is None:
        y.requires_grad_(True)
        own_ids.add(id(y))
    return y


def _prepare(args, argnums, caller: str, complex_ok: bool = True) -> _Call:
    positions, single = _check_argnums(argnums, len(args), caller)
    args = list(args)
    leaves, own_ids, rebuilds, sizes = [], set(), [], []
    for n in positions:
        arg_leaves, rebuild = _flatten(args[n], f"{caller}: argument {n}")
        mine = [_own_input(x, f"{caller}: argument {n}", own_ids, complex_ok)
                for x in arg_leaves]
        args[n] = rebuild(mine)
        leaves.extend(mine)
        rebuilds.append(rebuild)
        sizes.append(len(mine))

    def rebuild_all(flat: list):
        out, start = [], 0
        for rebuild, size in zip(rebuilds, sizes):
            out.append(rebuild(flat[start:start + size]))
            start += size
        return out[0] if single else tuple(out)

    return _Call(args, leaves, own_ids, rebuild_all)


def _reaches_outer(tensors, own_ids: set) -> bool:
    """Whether the graph of ``tensors`` reaches a tensor requiring grad that is not ours."""
    stack = [t for t in tensors if t.requires_grad]
    seen = set()
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        node = t._node
        if node is None:
            if id(t) not in own_ids:
                return True
            continue
        for inp, need in zip(getattr(node, "inputs", ()), getattr(node, "needs_input_grad", ())):
            if need:
                stack.append(inp)
    return False


def _unwrap(t, own_ids: set):
    """``t`` cut from this transform's graph, unless an outer computation needs the link.

    Tangents of outer forward-mode levels survive (an alias under no_grad keeps them)."""
    from ..ops.convert import alias

    if not isinstance(t, Tensor) or not t.requires_grad:
        return t
    if STATE.grad_enabled and _reaches_outer([t], own_ids):
        return t
    with no_grad():
        return alias(t)


def _unwrap_tree(tree, own_ids: set):
    if isinstance(tree, Tensor):
        return _unwrap(tree, own_ids)
    if isinstance(tree, (tuple, list)):
        return type(tree)(_unwrap_tree(x, own_ids) for x in tree)
    if isinstance(tree, dict):
        return {k: _unwrap_tree(v, own_ids) for k, v in tree.items()}
    return tree


def _split_aux(result, has_aux: bool, caller: str):
    if not has_aux:
        return result, None
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise TypeError(f"{caller}: with has_aux=True the function must return a pair "
                        f"(output, aux), got {type(result).__name__}")
    return result[0], result[1]


def _pullback(outputs: list, cotangents: list, leaves: list, create: bool, retain: bool) -> list:
    """Cotangents of ``leaves`` (zeros where unused) for ``cotangents`` on ``outputs``."""
    from ..ops.creation import zeros_like

    pairs = [(o, c) for o, c in zip(outputs, cotangents) if o.requires_grad]
    if pairs:
        grads = _autograd_grad([o for o, _ in pairs], leaves,
                               grad_outputs=[c for _, c in pairs], retain_graph=retain or create,
                               create_graph=create, allow_unused=True)
    else:
        grads = [None] * len(leaves)
    return [zeros_like(x) if g is None else g for x, g in zip(leaves, grads)]


# -- grad ------------------------------------------------------------------------------------
def _grad_and_value(func, args, kwargs, argnums, has_aux: bool, caller: str):
    """(gradients in the structure of argnums, output, aux)."""
    call = _prepare(args, argnums, caller)
    with enable_grad():
        out, aux = _split_aux(func(*call.args, **kwargs), has_aux, caller)
    if not isinstance(out, Tensor):
        raise TypeError(f"{caller}: the function must return a Tensor, got {type(out).__name__}")
    if out.numel() != 1:
        raise RuntimeError(f"{caller}: the function must return a scalar (one element), but "
                           f"it returned a tensor of shape {tuple(out.shape)}; reduce it (e.g. "
                           f".sum()) or use jacrev/jacfwd/vjp for non-scalar outputs")
    if dtype_kind(out.dtype) != "f":
        raise TypeError(f"{caller}: the function's output has dtype {out.dtype}; only "
                        f"floating-point outputs can be differentiated")
    create = STATE.grad_enabled and _reaches_outer([out], call.own_ids)
    ones = Tensor._wrap(get_array_module(out.array).ones_like(out.array))
    # with has_aux, aux may still need the graph (it may reach outer tensors through it)
    grads = _pullback([out], [ones], call.leaves, create, retain=has_aux)
    return call.rebuild(grads), _unwrap(out, call.own_ids), _unwrap_tree(aux, call.own_ids)


def grad(func: Callable, argnums=0, has_aux: bool = False) -> Callable:
    """The function computing the gradient of scalar ``func`` w.r.t. argument(s) ``argnums``.

    ``grad(f)(x)`` has ``x``'s shape (or structure); with a tuple ``argnums`` a tuple of
    gradients; with ``has_aux=True`` ``func`` returns ``(output, aux)`` and the result is
    ``(gradient, aux)``.
    """
    def grad_fn(*args, **kwargs):
        g, _, aux = _grad_and_value(func, args, kwargs, argnums, has_aux, "grad")
        return (g, aux) if has_aux else g

    return grad_fn


def grad_and_value(func: Callable, argnums=0, has_aux: bool = False) -> Callable:
    """Like ``grad`` but returns ``(gradient, output)`` (``(gradient, (output, aux))``), as
    ``torch.func.grad_and_value``."""
    def grad_and_value_fn(*args, **kwargs):
        g, value, aux = _grad_and_value(func, args, kwargs, argnums, has_aux, "grad_and_value")
        return (g, (value, aux)) if has_aux else (g, value)

    return grad_and_value_fn


def value_and_grad(func: Callable, argnums=0, has_aux: bool = False) -> Callable:
    """Like ``grad`` but returns ``(output, gradient)`` (``((output, aux), gradient)``), as
    ``jax.value_and_grad``."""
    def value_and_grad_fn(*args, **kwargs):
        g, value, aux = _grad_and_value(func, args, kwargs, argnums, has_aux, "value_and_grad")
        return ((value, aux), g) if has_aux else (value, g)

    return value_and_grad_fn


# -- vjp -------------------------------------------------------------------------------------
def func_vjp(func: Callable, *primals, has_aux: bool = False):
    """``(output, vjp_fn)`` (``(output, vjp_fn, aux)``): ``vjp_fn(cotangents)`` returns a tuple
    with one cotangent per primal; ``cotangents`` has the structure of ``output``.

    ``vjp_fn`` may be called many times; it records its own backward pass when an outer
    computation needs it, so it composes with the other transforms.
    """
    call = _prepare(primals, tuple(range(len(primals))), "vjp")
    with enable_grad():
        out, aux = _split_aux(func(*call.args), has_aux, "vjp")
    out_leaves, out_rebuild = _flatten(out, "vjp: the function's output")
    reaches = _reaches_outer(out_leaves, call.own_ids)

    def vjp_fn(cotangents):
        ct_leaves, _ = _flatten(cotangents, "vjp_fn: cotangents")
        if len(ct_leaves) != len(out_leaves):
            raise ValueError(f"vjp_fn: expected {len(out_leaves)} cotangent(s), one per "
                             f"output, got {len(ct_leaves)}")
        for i, (o, c) in enumerate(zip(out_leaves, ct_leaves)):
            if c.shape != o.shape:
                raise ValueError(f"vjp_fn: cotangent {i} has shape {tuple(c.shape)} but output "
                                 f"{i} has shape {tuple(o.shape)}")
        create = STATE.grad_enabled and (reaches or any(c.requires_grad for c in ct_leaves))
        grads = _pullback(out_leaves, ct_leaves, call.leaves, create, retain=True)
        return call.rebuild(grads)

    value = out_rebuild([_unwrap(o, call.own_ids) for o in out_leaves])
    if has_aux:
        return value, vjp_fn, _unwrap_tree(aux, call.own_ids)
    return value, vjp_fn


# -- jvp -------------------------------------------------------------------------------------
def func_jvp(func: Callable, primals, tangents, *, has_aux: bool = False):
    """``(output, jvp_out)`` (``(output, jvp_out, aux)``): one forward pass that carries
    ``tangents`` next to ``primals`` through every op's jvp rule.

    ``primals`` and ``tangents`` are tuples (one entry per argument of ``func``) of Tensors
    or of matching tuples/lists/dicts of Tensors; ``jvp_out`` has the structure of ``output``.
    Primals may be complex: a holomorphic ``f`` gives ``f'(z) * t`` (see ``make_dual``).
    """
    from ..ops.creation import zeros_like

    primals, tangents = _as_tuple(primals), _as_tuple(tangents)
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: got {len(primals)} primals but {len(tangents)} tangents")
    with dual_level() as level:
        args = []
        for n, (p, t) in enumerate(zip(primals, tangents)):
            p_leaves, rebuild = _flatten(p, f"jvp: primal {n}")
            t_leaves, _ = _flatten(t, f"jvp: tangent {n}")
            if len(p_leaves) != len(t_leaves):
                raise ValueError(f"jvp: tangent {n} does not have the structure of primal {n}")
            args.append(rebuild([_dual(x, u, n) for x, u in zip(p_leaves, t_leaves)]))
        out, aux = _split_aux(func(*args), has_aux, "jvp")
        out_leaves, out_rebuild = _flatten(out, "jvp: the function's output")
        out_tangents = [unpack_dual(o).tangent for o in out_leaves]
    out_tangents = [zeros_like(o) if t is None else t for o, t in zip(out_leaves, out_tangents)]
    # the level is closed: drop its (now dead) tangents from what we hand back
    aux_leaves = _flatten(aux, "jvp: aux")[0] if has_aux else []
    for t in out_leaves + aux_leaves:
        if t._tangents:
            t._tangents.pop(level, None)
    if has_aux:
        return out_rebuild(out_leaves), out_rebuild(out_tangents), aux
    return out_rebuild(out_leaves), out_rebuild(out_tangents)


def _dual(x, u, n: int):
    if not isinstance(u, Tensor):
        raise TypeError(f"jvp: tangent {n} is a {type(u).__name__}, expected a Tensor")
    if dtype_kind(x.dtype) not in "fc":
        raise TypeError(f"jvp: primal {n} has dtype {x.dtype}; only floating-point and "
                        f"complex tensors can carry tangents")
    if dtype_kind(x.dtype) == "f" and dtype_kind(u.dtype) == "c":
        raise TypeError(f"jvp: primal {n} is real ({x.dtype}) but its tangent is complex "
                        f"({u.dtype}); make the primal complex first")
    if u.shape != x.shape:
        raise ValueError(f"jvp: tangent {n} has shape {tuple(u.shape)} but primal {n} has "
                         f"shape {tuple(x.shape)}")
    return make_dual(x, u)


# -- Jacobians -------------------------------------------------------------------------------
def _one_hot(like, k: int):
    """A tensor shaped like ``like`` with a 1 at flat position ``k``."""
    xp = get_array_module(like.array)
    e = xp.zeros(like.shape, dtype=like.dtype)
    e.reshape(-1)[k] = 1
    return Tensor._wrap(e)


def _zeros(shape: tuple, like):
    from ..ops.creation import zeros

    return zeros(shape, dtype=like.dtype, device=like.device)


#: why jacrev and jacfwd refuse complex tensors: the Jacobian of a function that is not
#: holomorphic (abs, conj, real) is no complex matrix; torch.func refuses them too
_NO_COMPLEX_JACOBIAN = ("jacobians of complex tensors are not supported (as in torch.func); "
                        "split them with view_as_real / view_as_complex")


def _check_float_outputs(leaves: list, caller: str) -> None:
    for i, o in enumerate(leaves):
        kind = dtype_kind(o.dtype)
        if kind == "c":
            raise TypeError(f"{caller}: output {i} has dtype {o.dtype}; {_NO_COMPLEX_JACOBIAN}")
        if kind != "f":
            raise TypeError(f"{caller}: output {i} has dtype {o.dtype}; only floating-point "
                            f"outputs can be differentiated")


def jacrev(func: Callable, argnums=0, *, has_aux: bool = False) -> Callable:
    """The Jacobian by reverse mode: one vjp per output element (rows).

    For output ``y`` and argument ``x`` the Jacobian has shape ``y.shape + x.shape``;
    tuple outputs / tuple ``argnums`` give nested tuples (outputs outside).
    """
    def jac_fn(*args, **kwargs):
        call = _prepare(args, argnums, "jacrev", complex_ok=False)
        with enable_grad():
            out, aux = _split_aux(func(*call.args, **kwargs), has_aux, "jacrev")
        out_leaves, out_rebuild = _flatten(out, "jacrev: the function's output")
        _check_float_outputs(out_leaves, "jacrev")
        create = STATE.grad_enabled and _reaches_outer(out_leaves, call.own_ids)
        per_output = []
        for o in out_leaves:
            rows = [_pullback([o], [_one_hot(o, k)], call.leaves, create, retain=True)
                    for k in range(o.numel())]
            jacs = [_assemble(rows, j, o.shape, x) for j, x in enumerate(call.leaves)]
            per_output.append(call.rebuild(jacs))
        result = out_rebuild(per_output)
        return (result, _unwrap_tree(aux, call.own_ids)) if has_aux else result

    return jac_fn


def _assemble(rows: list, j: int, out_shape: tuple, x):
    """Rows (one list of per-input cotangents per output element) -> (*out_shape, *x.shape)."""
    from ..ops.shape import stack

    if not rows:
        return _zeros(tuple(out_shape) + tuple(x.shape), x)
    return stack([r[j] for r in rows]).reshape(tuple(out_shape) + tuple(x.shape))


@dataclass
class _Leaf:
    """One differentiated Tensor inside argument ``arg`` (a tree of ``leaves``)."""
    arg: int
    index: int
    leaves: list
    rebuild: Callable

    @property
    def value(self):
        return self.leaves[self.index]

    def substitute(self, args: tuple, x) -> list:
        """``args`` with this leaf replaced by ``x``."""
        new = list(args)
        new[self.arg] = self.rebuild(self.leaves[:self.index] + [x] + self.leaves[self.index + 1:])
        return new


def jacfwd(func: Callable, argnums=0, *, has_aux: bool = False) -> Callable:
    """The Jacobian by forward mode: one jvp per input element (columns).

    Same shapes and structure as ``jacrev``.
    """
    def jac_fn(*args, **kwargs):
        positions, single = _check_argnums(argnums, len(args), "jacfwd")
        inputs, rebuilds = [], {}
        for n in positions:
            leaves, rebuild = _flatten(args[n], f"jacfwd: argument {n}")
            rebuilds[n] = rebuild
            for i, x in enumerate(leaves):
                if dtype_kind(x.dtype) == "c":
                    raise TypeError(f"jacfwd: argument {n} has dtype {x.dtype}; "
                                    f"{_NO_COMPLEX_JACOBIAN}")
                if dtype_kind(x.dtype) != "f":
                    raise TypeError(f"jacfwd: argument {n} has dtype {x.dtype}; only "
                                    f"floating-point tensors can be differentiated")
                inputs.append(_Leaf(n, i, leaves, rebuild))

        columns, out, aux = [], None, None   # columns[leaf][element] = output tangents
        for leaf in inputs:
            def along(x, leaf=leaf):
                return func(*leaf.substitute(args, x), **kwargs)
            cols = []
            for k in range(leaf.value.numel()):
                res = func_jvp(along, (leaf.value,), (_one_hot(leaf.value, k),), has_aux=has_aux)
                out, aux = res[0], (res[2] if has_aux else None)
                cols.append(_flatten(res[1], "jacfwd: output")[0])
            columns.append(cols)
        if out is None:  # every input is empty: evaluate once for the output shapes
            out, aux = _split_aux(func(*args, **kwargs), has_aux, "jacfwd")
        out_leaves, out_rebuild = _flatten(out, "jacfwd: the function's output")
        _check_float_outputs(out_leaves, "jacfwd")
        per_output = []
        for i, o in enumerate(out_leaves):
            jacs = [_assemble_columns([c[i] for c in cols], o.shape, leaf.value)
                    for cols, leaf in zip(columns, inputs)]
            per_output.append(_regroup(jacs, inputs, rebuilds, single))
        result = out_rebuild(per_output)
        return (result, aux) if has_aux else result

    return jac_fn


def _assemble_columns(cols: list, out_shape: tuple, x):
    """Columns (one output tangent per input element) -> (*out_shape, *x.shape)."""
    from ..ops.shape import stack

    if not cols:
        return _zeros(tuple(out_shape) + tuple(x.shape), x)
    stacked = stack(cols)  # (n, *out_shape)
    moved = stacked.permute(tuple(range(1, stacked.ndim)) + (0,))
    return moved.reshape(tuple(out_shape) + tuple(x.shape))


def _regroup(jacs: list, inputs: list, rebuilds: dict, single: bool):
    """Flat per-leaf Jacobians -> the structure of the arguments named by argnums."""
    out, start = [], 0
    for n, rebuild in rebuilds.items():
        count = sum(1 for leaf in inputs if leaf.arg == n)
        out.append(rebuild(jacs[start:start + count]))
        start += count
    return out[0] if single else tuple(out)


def func_hessian(func: Callable, argnums=0) -> Callable:
    """The Hessian of scalar ``func``: ``jacfwd(jacrev(func, argnums), argnums)``."""
    return jacfwd(jacrev(func, argnums), argnums)


def func_hvp(func: Callable, primals, tangents):
    """``(output, hvp)``: the Hessian of scalar ``func`` times ``tangents``, computed
    forward-over-reverse (one jvp of the gradient); ``hvp`` is a tuple, one per primal."""
    primals, tangents = _as_tuple(primals), _as_tuple(tangents)
    argnums = tuple(range(len(primals)))

    def grad_with_value(*args):
        return grad_and_value(func, argnums)(*args)  # (gradients, output): output is aux

    _, hv, value = func_jvp(grad_with_value, primals, tangents, has_aux=True)
    return value, hv


# -- torch.autograd.functional -----------------------------------------------------------------
def _no_strict(strict: bool, caller: str) -> None:
    if strict:
        raise NotImplementedError(f"{caller}: strict=True is not supported")


def _inputs_tuple(inputs) -> tuple[tuple, bool]:
    is_tensor = isinstance(inputs, Tensor)
    return ((inputs,) if is_tensor else tuple(inputs)), is_tensor


def _default_v(v, like, caller: str, what: str):
    """``v``, or ones when ``like`` is a single one-element tensor (as PyTorch allows)."""
    from ..ops.creation import ones_like
    if v is not None:
        return v
    if isinstance(like, Tensor) and like.numel() == 1:
        return ones_like(like)
    raise RuntimeError(f"{caller}: v can be omitted only when the {what} is a single tensor "
                       f"with one element")


def vjp(func: Callable, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(outputs, vjp)`` as ``torch.autograd.functional.vjp``."""
    _no_strict(strict, "vjp")
    inputs, is_tensor = _inputs_tuple(inputs)
    with set_grad_enabled(create_graph):
        out, vjp_fn = func_vjp(func, *inputs)
        grads = vjp_fn(_default_v(v, out, "vjp", "function's output"))
    return out, grads[0] if is_tensor else grads


def jvp(func: Callable, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(outputs, jvp)`` as ``torch.autograd.functional.jvp``."""
    _no_strict(strict, "jvp")
    inputs_t, is_tensor = _inputs_tuple(inputs)
    v = _default_v(v, inputs, "jvp", "input")
    with set_grad_enabled(create_graph):
        return func_jvp(func, inputs_t, _as_tuple(v))


def jacobian(func: Callable, inputs, create_graph: bool = False, strict: bool = False,
             vectorize: bool = False, strategy: str = "reverse-mode"):
    """The Jacobian as ``torch.autograd.functional.jacobian`` (``vectorize`` is ignored)."""
    _no_strict(strict, "jacobian")
    inputs, is_tensor = _inputs_tuple(inputs)
    transform = _strategy(strategy, "jacobian")
    with set_grad_enabled(create_graph):
        return transform(func, 0 if is_tensor else tuple(range(len(inputs))))(*inputs)


def _strategy(strategy: str, caller: str) -> Callable:
    if strategy == "reverse-mode":
        return jacrev
    if strategy == "forward-mode":
        return jacfwd
    raise ValueError(f"{caller}: strategy must be 'reverse-mode' or 'forward-mode', got "
                     f"{strategy!r}")


def hessian(func: Callable, inputs, create_graph: bool = False, strict: bool = False,
            vectorize: bool = False, outer_jacobian_strategy: str = "reverse-mode"):
    """The Hessian of scalar ``func`` as ``torch.autograd.functional.hessian``: a Tensor for
    a Tensor input, else a tuple of tuples ``H[i][j]`` of shape ``x_i.shape + x_j.shape``."""
    _no_strict(strict, "hessian")
    inputs, is_tensor = _inputs_tuple(inputs)
    argnums = 0 if is_tensor else tuple(range(len(inputs)))
    outer = _strategy(outer_jacobian_strategy, "hessian")

    def scalar(*args):
        out = func(*args)
        if out.numel() != 1:
            raise RuntimeError(f"hessian: the function must return a single-element tensor, "
                               f"got shape {tuple(out.shape)}")
        return out.reshape(())

    with set_grad_enabled(create_graph):
        return outer(jacrev(scalar, argnums), argnums)(*inputs)


def hvp(func: Callable, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(output, hvp)`` as ``torch.autograd.functional.hvp`` (forward-over-reverse)."""
    _no_strict(strict, "hvp")
    inputs_t, is_tensor = _inputs_tuple(inputs)
    v = _default_v(v, inputs, "hvp", "input")
    with set_grad_enabled(create_graph):
        value, hv = func_hvp(func, inputs_t, _as_tuple(v))
    return value, hv[0] if is_tensor else hv


def vhp(func: Callable, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(output, vhp)`` as ``torch.autograd.functional.vhp`` (reverse-over-reverse)."""
    _no_strict(strict, "vhp")
    inputs_t, is_tensor = _inputs_tuple(inputs)
    v = _default_v(v, inputs, "vhp", "input")
    argnums = tuple(range(len(inputs_t)))
    with set_grad_enabled(create_graph):
        _, vjp_fn, value = func_vjp(grad_and_value(func, argnums), *inputs_t, has_aux=True)
        result = vjp_fn(_as_tuple(v))
    return value, result[0] if is_tensor else result
