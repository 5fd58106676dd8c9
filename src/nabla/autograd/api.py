"""``backward`` and ``grad``: the user-facing entry points of reverse mode."""
from __future__ import annotations

from collections.abc import Sequence

from ..backend import get_array_module
from .engine import run_backward


def _as_list(x) -> list:
    if x is None:
        return []
    return list(x) if isinstance(x, Sequence) and not hasattr(x, "data") else [x]


def _root_grads(outputs: list, grad_outputs, caller: str) -> list:
    grads = _as_list(grad_outputs) or [None] * len(outputs)
    if len(grads) != len(outputs):
        raise ValueError(f"{caller}: got {len(outputs)} outputs but {len(grads)} gradients")
    result = []
    for i, (out, g) in enumerate(zip(outputs, grads)):
        if not hasattr(out, "_node"):
            raise TypeError(f"{caller}: output {i} is a {type(out).__name__}, not a Tensor")
        if not out.requires_grad:
            raise RuntimeError(
                f"{caller}: output {i} (shape {tuple(out.shape)}) does not require grad and "
                f"has no grad_fn; did you create it under no_grad() or from tensors without "
                f"requires_grad=True?")
        if g is None:
            if out.array.size != 1:
                raise RuntimeError(
                    f"{caller}: grad can be implicitly created only for scalar outputs, but "
                    f"output {i} has shape {tuple(out.shape)}; pass gradient= (a tensor of that "
                    f"shape), or reduce the output first (e.g. .sum())")
            if out.array.dtype.kind == "c":
                raise RuntimeError(
                    f"{caller}: grad can be implicitly created only for real scalar outputs, "
                    f"but output {i} is {out.dtype}; take .real or .abs() of it first, or pass "
                    f"gradient=")
            g = type(out)._wrap(get_array_module(out.array).ones_like(out.array))
        else:
            g = g if hasattr(g, "_node") else type(out)(g)
            if g.shape != out.shape:
                raise RuntimeError(
                    f"{caller}: gradient {i} has shape {tuple(g.shape)} but the output has "
                    f"shape {tuple(out.shape)}")
            if g.dtype != out.dtype:
                g = g.to(out.dtype)
        result.append(g)
    return result


def backward(tensors, grad_tensors=None, retain_graph: bool | None = None,
             create_graph: bool = False) -> None:
    """Accumulate gradients of ``tensors`` into the ``.grad`` of the leaves."""
    tensors = _as_list(tensors)
    grads = _root_grads(tensors, grad_tensors, "backward")
    if retain_graph is None:
        retain_graph = create_graph
    run_backward(tensors, grads, retain_graph=retain_graph, create_graph=create_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph: bool | None = None,
         create_graph: bool = False, allow_unused: bool = False,
         materialize_grads: bool = False) -> tuple:
    """Gradients of ``outputs`` with respect to ``inputs``, returned (not accumulated)."""
    from ..tensor import Tensor

    outputs = _as_list(outputs)
    inputs_list = _as_list(inputs)
    for i, t in enumerate(inputs_list):
        if not isinstance(t, Tensor) or not t.requires_grad:
            raise RuntimeError(f"grad: input {i} does not require grad")
    grads = _root_grads(outputs, grad_outputs, "grad")
    if retain_graph is None:
        retain_graph = create_graph
    capture = {id(t): None for t in inputs_list}
    run_backward(outputs, grads, retain_graph=retain_graph, create_graph=create_graph,
                 capture=capture)
    result = []
    for i, t in enumerate(inputs_list):
        g = capture[id(t)]
        if g is None:
            if materialize_grads:
                from ..ops.creation import zeros_like
                g = zeros_like(t)
            elif not allow_unused:
                raise RuntimeError(
                    f"grad: input {i} (shape {tuple(t.shape)}) was not used to compute the "
                    f"outputs; pass allow_unused=True to get None for it")
        result.append(g)
    return tuple(result)
