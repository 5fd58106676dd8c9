"""``vmap``: map a function over a batch dimension of its inputs.

This vmap runs ``func`` once per sample and stacks the results. That is correct for any
``func`` nabla can run (control flow on values included) and composes with every other
transform, because slicing and stacking are ordinary differentiable ops; it is not
faster than a Python loop. A batching vmap (rules that run each op once on the whole
batch) would be a separate piece of work.
"""
from __future__ import annotations

import functools
from typing import Callable

from . import backend
from .ops.shape import movedim, select, stack
from .tensor import Tensor

__all__ = ["vmap"]

_RANDOMNESS = ("error", "different", "same")


def _tree_map_dims(in_dims, args: tuple, caller: str) -> list:
    """One in_dim per Tensor leaf of ``args`` (None: not mapped)."""
    if isinstance(in_dims, int) or in_dims is None:
        return [in_dims] * len(_flatten_any(args)[0])
    if not isinstance(in_dims, (tuple, list)) or len(in_dims) != len(args):
        raise ValueError(f"{caller}: in_dims={in_dims!r} must be an int, None, or a tuple with "
                         f"one entry per positional argument ({len(args)} given)")
    dims = []
    for i, (spec, arg) in enumerate(zip(in_dims, args)):
        dims.extend(_spec_leaves(spec, arg, f"{caller}: in_dims[{i}]"))
    return dims


def _spec_leaves(spec, arg, what: str) -> list:
    """``spec`` (an int/None, or a structure matching ``arg``) per Tensor leaf of ``arg``."""
    if spec is None or isinstance(spec, int):
        return [spec] * len(_flatten_any(arg)[0])
    if isinstance(arg, dict) and isinstance(spec, dict) and set(spec) == set(arg):
        return [d for k in arg for d in _spec_leaves(spec[k], arg[k], f"{what}[{k!r}]")]
    if isinstance(arg, (tuple, list)) and isinstance(spec, (tuple, list)) and \
            len(spec) == len(arg):
        return [d for i, (s, a) in enumerate(zip(spec, arg))
                for d in _spec_leaves(s, a, f"{what}[{i}]")]
    raise ValueError(f"{what}: {spec!r} does not match the structure of the argument "
                     f"({type(arg).__name__})")


def _flatten_any(tree):
    """The Tensor leaves of ``tree`` and a rebuild function; non-Tensor leaves stay put."""
    if isinstance(tree, Tensor):
        return [tree], lambda leaves: leaves[0]
    if isinstance(tree, (tuple, list, dict)):
        items = list(tree.items()) if isinstance(tree, dict) else list(enumerate(tree))
        parts = [_flatten_any(v) for _, v in items]
        leaves = [leaf for part, _ in parts for leaf in part]
        sizes = [len(part) for part, _ in parts]

        def rebuild(new):
            out, start = [], 0
            for (_, part_rebuild), n in zip(parts, sizes):
                out.append(part_rebuild(new[start:start + n]))
                start += n
            if isinstance(tree, dict):
                return dict(zip([k for k, _ in items], out))
            return type(tree)(out) if not hasattr(tree, "_fields") else type(tree)(*out)
        return leaves, rebuild
    return [], lambda leaves: tree


def _batch_size(leaves: list, dims: list, chunk_size, caller: str) -> int:
    sizes = set()
    for x, d in zip(leaves, dims):
        if d is None:
            continue
        if not -x.ndim <= d < x.ndim:
            raise ValueError(f"{caller}: in_dim {d} is out of range for an input of shape "
                             f"{tuple(x.shape)}")
        sizes.add(x.shape[d])
    if not sizes:
        raise ValueError(f"{caller}: at least one input must be mapped (all in_dims are None "
                         f"or no input is a Tensor)")
    if len(sizes) > 1:
        shapes = [(tuple(x.shape), d) for x, d in zip(leaves, dims) if d is not None]
        raise ValueError(f"{caller}: mapped inputs disagree on the batch size {sorted(sizes)}: "
                         f"(shape, in_dim) = {shapes}")
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size < 1):
        raise ValueError(f"{caller}: chunk_size must be a positive int or None, got {chunk_size!r}")
    return sizes.pop()


def _stack_outputs(per_sample: list, out_dims, caller: str):
    """Stack the Tensor leaves of the per-sample outputs along ``out_dims``."""
    first_leaves, rebuild = _flatten_any(per_sample[0])
    if isinstance(out_dims, int):
        dims = [out_dims] * len(first_leaves)
    else:
        dims = _spec_leaves(out_dims, per_sample[0], f"{caller}: out_dims")
    columns = [[] for _ in first_leaves]
    for out in per_sample:
        leaves, _ = _flatten_any(out)
        if len(leaves) != len(first_leaves):
            raise ValueError(f"{caller}: the function returned differently structured outputs "
                             f"for different samples")
        for column, leaf in zip(columns, leaves):
            column.append(leaf)
    stacked = []
    for column, d in zip(columns, dims):
        if d is None:
            stacked.append(column[0])
            continue
        if not -(column[0].ndim + 1) <= d <= column[0].ndim:
            raise ValueError(f"{caller}: out_dim {d} is out of range for a per-sample output "
                             f"of shape {tuple(column[0].shape)}")
        stacked.append(stack(column, dim=d))
    return rebuild(stacked)


def _check_outputs(out, caller: str) -> None:
    leaves, _ = _flatten_any(out)
    if not leaves:
        raise ValueError(f"{caller}: the function must return Tensors (or tuples, lists or "
                         f"dicts of them), got {type(out).__name__}")


def vmap(func: Callable, in_dims=0, out_dims=0, randomness: str = "error", *,
         chunk_size: int | None = None) -> Callable:
    """``func`` mapped over a batch dimension: ``vmap(f)(x)[i] == f(x[i])``.

    ``in_dims`` gives the batch dim of each positional argument (an int for all, or a
    tuple with one entry per argument, each an int, None for "not batched", or a nested
    structure matching a tuple/list/dict argument); ``out_dims`` where the batch dim goes
    in each output. Inputs and outputs may be nested tuples, lists and dicts of Tensors.
    ``randomness``: "error" raises if ``func`` draws from the default generator,
    "different" lets each sample draw its own numbers, "same" gives every sample the same
    numbers. ``chunk_size`` is accepted for PyTorch compatibility.

    This implementation runs ``func`` once per sample and stacks the outputs: correct and
    differentiable (it composes with ``grad``, e.g. per-sample gradients
    ``vmap(grad(loss), in_dims=(None, 0, 0))(params, x, y)``), but no faster than a loop.
    """
    if randomness not in _RANDOMNESS:
        raise ValueError(f"vmap: randomness must be one of {_RANDOMNESS}, got {randomness!r}")
    if not callable(func):
        raise TypeError(f"vmap: expected a callable, got {type(func).__name__}")

    @functools.wraps(func)
    def mapped(*args, **kwargs):
        leaves, rebuild = _flatten_any(args)
        dims = _tree_map_dims(in_dims, args, "vmap")
        n = _batch_size(leaves, dims, chunk_size, "vmap")
        moved = [x if d is None else movedim(x, d, 0) if d % x.ndim else x
                 for x, d in zip(leaves, dims)]
        gen = backend.default_generator
        start_state = gen.get_state() if randomness == "same" else None
        outputs = []
        for i in range(n):
            sample = [x if d is None else select(x, 0, i) for x, d in zip(moved, dims)]
            if randomness == "same":
                gen.set_state(start_state)
            before = gen.get_state() if randomness == "error" else None
            out = func(*rebuild(sample), **kwargs)
            if randomness == "error" and gen.get_state() != before:
                raise RuntimeError(
                    "vmap: the function drew random numbers from the default generator, but "
                    "randomness='error'; pass randomness='different' (each sample draws its "
                    "own) or 'same' (all samples share the draws)")
            if i == 0:
                _check_outputs(out, "vmap")
            outputs.append(out)
        return _stack_outputs(outputs, out_dims, "vmap")

    return mapped
