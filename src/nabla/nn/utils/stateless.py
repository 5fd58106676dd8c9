"""``functional_call``: run a module with some parameters and buffers swapped for given
tensors, as a function of them (``torch.func.functional_call``)."""
from __future__ import annotations

from collections.abc import Mapping

_MISSING = object()


def _slots(module, names) -> dict:
    """For each dotted name, the (submodule, registry or None, leaf) it lives in."""
    out = {}
    for name in names:
        path, _, leaf = name.rpartition(".")
        owner = module.get_submodule(path)
        if leaf in owner._parameters:
            out[name] = (owner, owner._parameters, leaf)
        elif leaf in owner._buffers:
            out[name] = (owner, owner._buffers, leaf)
        else:
            out[name] = (owner, None, leaf)
    return out


def _merge(module, parameter_and_buffer_dicts, tie_weights: bool) -> dict:
    if isinstance(parameter_and_buffer_dicts, Mapping):
        parameter_and_buffer_dicts = (parameter_and_buffer_dicts,)
    merged = {}
    for d in parameter_and_buffer_dicts:
        if not isinstance(d, Mapping):
            raise TypeError(f"functional_call: expected a dict of tensors or a tuple of dicts, "
                            f"got {type(d).__name__}")
        repeated = sorted(set(merged) & set(d))
        if repeated:
            raise ValueError(f"functional_call: {repeated} appear in more than one dict; which "
                             f"tensor to use is ambiguous")
        merged.update(d)
    if tie_weights:  # a tensor given for one name of a shared parameter reaches every name
        groups = {}
        for kind in ("named_parameters", "named_buffers"):
            for name, t in getattr(module, kind)(remove_duplicate=False):
                groups.setdefault(id(t), []).append(name)
        for names in groups.values():
            given = [n for n in names if n in merged]
            if not given:
                continue
            first = merged[given[0]]
            if any(merged[n] is not first for n in given[1:]):
                raise ValueError(f"functional_call: the tied names {given} were given different "
                                 f"tensors; give one, or pass tie_weights=False")
            for n in names:
                merged.setdefault(n, first)
    return merged


def _check_strict(module, merged: dict) -> None:
    expected = {n for kind in ("named_parameters", "named_buffers")
                for n, _ in getattr(module, kind)(remove_duplicate=False)}
    missing, unexpected = sorted(expected - set(merged)), sorted(set(merged) - expected)
    if missing or unexpected:
        raise RuntimeError(f"functional_call on {type(module).__name__} (strict): missing "
                           f"names {missing}, unexpected names {unexpected}")


def functional_call(module, parameter_and_buffer_dicts, args=None, kwargs=None, *,
                    tie_weights: bool = True, strict: bool = False):
    """``module(*args, **kwargs)`` with the parameters and buffers named in
    ``parameter_and_buffer_dicts`` (a dict from dotted names to tensors, or a tuple of them)
    replaced for the call; the module is restored afterwards, also on error.

    Gradients flow to the given tensors, not to the module's own parameters: this makes a
    module a function of its weights for ``nabla.func.grad``, ``jacrev``, and the like.
    ``args`` may be one argument or a tuple. With ``tie_weights``, a tensor given for one
    name of a shared parameter is used for all its names; ``strict`` requires exactly the
    module's parameter and buffer names.
    """
    merged = _merge(module, parameter_and_buffer_dicts, tie_weights)
    if strict:
        _check_strict(module, merged)
    args = () if args is None else args if isinstance(args, tuple) else (args,)
    slots = _slots(module, merged)
    saved = []
    try:
        for name, (owner, registry, leaf) in slots.items():
            if registry is not None:
                saved.append((registry, leaf, registry[leaf]))
                registry[leaf] = merged[name]
            else:  # a name that is neither: a plain attribute for the call, as PyTorch
                saved.append((owner, leaf, owner.__dict__.get(leaf, _MISSING)))
                owner.__dict__[leaf] = merged[name]
        return module(*args, **(kwargs or {}))
    finally:
        for where, leaf, old in reversed(saved):
            target = where if isinstance(where, dict) else where.__dict__
            if old is _MISSING:
                del target[leaf]
            else:
                target[leaf] = old


__all__ = ["functional_call"]
