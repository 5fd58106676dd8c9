"""Pruning: zero out parts of a parameter through a mask, as ``torch.nn.utils.prune``.

Pruning ``module.weight`` moves the parameter to ``module.weight_orig`` (the same
``Parameter`` object, so an optimizer built before still updates it), registers the
mask as the buffer ``module.weight_mask``, and makes ``module.weight`` a plain
attribute equal to ``weight_orig * weight_mask``, recomputed by a forward pre-hook
before every forward. The hook is the pruning method itself, as in PyTorch, so the
state_dict keys (``weight_orig``, ``weight_mask``) and the hook layout are PyTorch's.
Gradients reach ``weight_orig`` only through the entries the mask keeps.

Pruning the same tensor again composes: the new method sees only what is still
unpruned (the kept entries for unstructured methods, the kept channels for
structured ones), so ``amount`` is a fraction (or count) of what remains. The
methods gather in a ``PruningContainer``. ``remove`` makes the pruning permanent:
``weight`` is a plain parameter again, holding the masked values.

Ties. The magnitude methods pick entries with PyTorch's rule (``topk`` of the
importance: the smallest for ``L1Unstructured``, the channels of largest norm kept
for ``LnStructured``), so with distinct importances the masks are PyTorch's exactly.
Among *equal* importances PyTorch's CPU ``topk`` returns whatever its C++ standard
library's ``nth_element``/``partial_sort`` leaves first: no documented order, and it
changes with the tensor's size and with where the other values lie (pruning 5 of 10
equal values prunes indices 8, 6, 7, 5, 9; 3 of 1000 prunes 0, 1, 2). nabla takes
the lowest flat indices among equal values, always. The number pruned is the same
either way, and so are the weights when the tied values are zeros. Random methods
draw from nabla's generator (``nabla.manual_seed``): reproducible, but not PyTorch's
stream.
"""
from __future__ import annotations

import numbers
from abc import ABC, abstractmethod
from collections.abc import Iterable

import numpy as np

from ... import backend
from ...autograd.grad_mode import no_grad
from ...tensor import Tensor
from ..module import Module

__all__ = ["BasePruningMethod", "PruningContainer", "Identity", "RandomUnstructured",
           "L1Unstructured", "RandomStructured", "LnStructured", "CustomFromMask",
           "identity", "random_unstructured", "l1_unstructured", "random_structured",
           "ln_structured", "global_unstructured", "custom_from_mask", "remove",
           "is_pruned"]


# -- helpers on arrays ---------------------------------------------------------------------
def _array(x):
    """The backend array of a Tensor (or of anything ``Tensor()`` accepts)."""
    return x.array if isinstance(x, Tensor) else Tensor(x).array


def _topk_indices(xp, values, k: int, largest: bool):
    """Flat indices of the ``k`` largest (or smallest) entries of the 1-d ``values``:
    equal values in increasing index order, NaN counted as the largest (as ``topk``)."""
    stable = {"kind": "stable"} if xp is np else {}  # CuPy's sort is always stable
    if largest:
        # a stable ascending sort of the reversed array, read backwards: descending
        # order with equal values still in increasing index order
        backwards = xp.argsort(values[::-1], **stable)[::-1]
        return (values.size - 1 - backwards)[:k]
    return xp.argsort(values, **stable)[:k]


def _dim_index(ndim: int, dim: int, index) -> tuple:
    """An index that picks ``index`` along ``dim`` and everything along the others."""
    slc = [slice(None)] * ndim
    slc[dim] = index
    return tuple(slc)


def _validate_amount_init(amount) -> None:
    """``amount``: a float in [0, 1] (a fraction) or a non-negative int (a count)."""
    if not isinstance(amount, numbers.Real):
        raise TypeError(f"Invalid type for amount: {amount}. Must be int or float.")
    if isinstance(amount, numbers.Integral):
        bad = amount < 0
    else:
        bad = not 0.0 <= float(amount) <= 1.0
    if bad:
        raise ValueError(f"amount={amount} should either be a float in the range [0, 1] or "
                         f"a non-negative integer")


def _n_to_prune(amount, size: int) -> int:
    """How many of ``size`` units ``amount`` prunes (a count is checked against size)."""
    if isinstance(amount, numbers.Integral):
        if amount > size:
            raise ValueError(f"amount={amount} should be smaller than the number of "
                             f"parameters to prune={size}")
        return int(amount)
    return round(amount * size)  # Python's round, half to even, as PyTorch


def _validate_structured(t: Tensor, dim: int) -> None:
    if t.ndim <= 1:
        raise ValueError(f"Structured pruning can only be applied to multidimensional "
                         f"tensors. Found tensor of shape {tuple(t.shape)} with {t.ndim} dims")
    if dim >= t.ndim:
        raise IndexError(f"Invalid index {dim} for tensor of size {tuple(t.shape)}")


# -- the methods ---------------------------------------------------------------------------
class BasePruningMethod(ABC):
    """A way of choosing a mask for one tensor of a module; also that tensor's forward
    pre-hook, which recomputes ``module.<name> = <name>_orig * <name>_mask``."""

    #: the name of the pruned tensor in its module; set by ``apply``
    _tensor_name: str | None = None

    def __call__(self, module: Module, inputs) -> None:
        setattr(module, self._tensor_name, self.apply_mask(module))

    @abstractmethod
    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        """The mask (same shape as ``t``) that prunes ``t``, given the mask already on
        it (``default_mask``); ``t`` holds importances, not necessarily the weights."""

    def apply_mask(self, module: Module) -> Tensor:
        """``<name>_orig * <name>_mask`` of ``module``: the pruned tensor, differentiable
        with respect to ``<name>_orig``."""
        if self._tensor_name is None:
            raise AssertionError(f"Module {type(module).__name__} has to be pruned "
                                 f"(apply this method first)")
        mask = getattr(module, self._tensor_name + "_mask")
        orig = getattr(module, self._tensor_name + "_orig")
        return mask.to(dtype=orig.dtype) * orig

    @classmethod
    def apply(cls, module: Module, name: str, *args, importance_scores=None, **kwargs):
        """Prune ``module.<name>`` with ``cls(*args, **kwargs)``, on top of any pruning
        already there (composed in a ``PruningContainer``); return the hook now on it.
        ``importance_scores`` (shape of the tensor) rank units instead of its values."""
        old_key, old = _pruning_hook(module, name)
        method = cls(*args, **kwargs)
        method._tensor_name = name
        orig = getattr(module, name)
        if importance_scores is not None:
            if tuple(importance_scores.shape) != tuple(orig.shape):
                raise AssertionError(f"importance_scores should have the same shape as "
                                     f"parameter {name} of {type(module).__name__}, got "
                                     f"{tuple(importance_scores.shape)} vs {tuple(orig.shape)}")
        else:
            importance_scores = orig

        if old is None:
            module.register_parameter(name + "_orig", orig)
            del module._parameters[name]
            xp = backend.get_array_module(orig.array)
            default_mask = Tensor._wrap(xp.ones_like(orig.array))
            hook = method
        else:
            default_mask = Tensor._wrap(_array(getattr(module, name + "_mask")).copy())
            if isinstance(old, PruningContainer):
                old.add_pruning_method(method)
                hook = old
            else:
                hook = PruningContainer(old)
                hook.add_pruning_method(method)
        try:
            mask = hook.compute_mask(importance_scores, default_mask=default_mask)
            module.register_buffer(name + "_mask", mask)
            setattr(module, name, hook.apply_mask(module))
        except Exception:
            _undo_apply(module, name, old, hook)
            raise
        if old_key is not None:
            del module._forward_pre_hooks[old_key]
        module.register_forward_pre_hook(hook)
        return hook

    def prune(self, t: Tensor, default_mask: Tensor | None = None,
              importance_scores: Tensor | None = None) -> Tensor:
        """``t`` times the mask this method computes for it (from ``importance_scores``
        when given); differentiable with respect to ``t``."""
        if importance_scores is not None:
            if tuple(importance_scores.shape) != tuple(t.shape):
                raise AssertionError(f"importance_scores should have the same shape as "
                                     f"tensor t, got {tuple(importance_scores.shape)} vs "
                                     f"{tuple(t.shape)}")
        else:
            importance_scores = t
        if default_mask is None:
            xp = backend.get_array_module(t.array)
            default_mask = Tensor._wrap(xp.ones_like(t.array))
        return t * self.compute_mask(importance_scores, default_mask=default_mask)

    def remove(self, module: Module) -> None:
        """Make the pruning permanent: ``module.<name>`` becomes the ``<name>_orig``
        parameter again, now holding the masked values; the buffer goes away. (The hook
        itself is taken off by the function ``remove``.)"""
        if self._tensor_name is None:
            raise AssertionError(f"Module {type(module).__name__} has to be pruned before "
                                 f"pruning can be removed")
        name = self._tensor_name
        with no_grad():
            weight = self.apply_mask(module)
        if name in module.__dict__:
            delattr(module, name)
        orig = module._parameters[name + "_orig"]
        orig.data = weight.data
        del module._parameters[name + "_orig"]
        del module._buffers[name + "_mask"]
        setattr(module, name, orig)


def _pruning_hook(module: Module, name: str):
    """``(key, hook)`` of the pruning hook on ``module.<name>``, or ``(None, None)``."""
    found = [(k, h) for k, h in module._forward_pre_hooks.items()
             if isinstance(h, BasePruningMethod) and h._tensor_name == name]
    if len(found) > 1:
        raise AssertionError(f"Avoid adding multiple pruning hooks to the same tensor {name} "
                             f"of module {type(module).__name__}. Use a PruningContainer.")
    return found[0] if found else (None, None)


def _undo_apply(module: Module, name: str, old, hook) -> None:
    """Leave ``module`` as it was before a failed ``apply``."""
    if old is None:
        module._buffers.pop(name + "_mask", None)
        module.__dict__.pop(name, None)
        module.register_parameter(name, module._parameters.pop(name + "_orig"))
    elif hook is old:  # the new method was added to the existing container: take it out
        old._pruning_methods = old._pruning_methods[:-1]


class PruningContainer(BasePruningMethod):
    """Several pruning methods applied one after another to the same tensor; the mask
    is the last one's, computed on what the earlier ones left."""

    def __init__(self, *args):
        self._pruning_methods: tuple = ()
        if args and isinstance(args[0], BasePruningMethod):
            self._tensor_name = args[0]._tensor_name
        for method in args:
            self.add_pruning_method(method)

    def add_pruning_method(self, method: BasePruningMethod) -> None:
        """Append ``method``; it must act on the same tensor name as the container."""
        if method is not None and not isinstance(method, BasePruningMethod):
            raise TypeError(f"{type(method)} is not a BasePruningMethod subclass")
        if method is not None and self._tensor_name != method._tensor_name:
            raise ValueError(f"Can only add pruning methods acting on the parameter named "
                             f"'{self._tensor_name}' to PruningContainer {self}. Found "
                             f"'{method._tensor_name}'")
        self._pruning_methods += (method,)

    def __len__(self) -> int:
        return len(self._pruning_methods)

    def __iter__(self):
        return iter(self._pruning_methods)

    def __getitem__(self, idx):
        return self._pruning_methods[idx]

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        """``default_mask`` with the last method's mask written over the part still
        unpruned: the entries it keeps (unstructured), the channels along the method's
        ``dim`` with any entry kept (structured), or everything (global)."""
        method = self._pruning_methods[-1]
        t_arr, mask = _array(t), _array(default_mask)
        new_mask = mask.astype(t_arr.dtype, copy=True)
        kind = getattr(method, "PRUNING_TYPE", None)
        if kind == "unstructured":
            slc = mask == 1
        elif kind == "structured":
            if not hasattr(method, "dim"):
                raise AttributeError('Pruning methods of PRUNING_TYPE "structured" need to '
                                     'have the attribute `dim` defined.')
            dim = method.dim + mask.ndim if method.dim < 0 else method.dim
            if dim < 0:
                raise IndexError(f"Index is out of bounds for tensor with dimensions "
                                 f"{mask.ndim}")
            others = tuple(d for d in range(mask.ndim) if d != dim)
            slc = _dim_index(mask.ndim, dim, mask.sum(axis=others) != 0)
        elif kind == "global":
            slc = (slice(None),) * mask.ndim
        else:
            raise ValueError(f"Unrecognized PRUNING_TYPE {kind}")
        part = method.compute_mask(Tensor._wrap(t_arr[slc]),
                                   default_mask=Tensor._wrap(mask[slc]))
        new_mask[slc] = _array(part).astype(new_mask.dtype, copy=False)
        return Tensor._wrap(new_mask)


class Identity(BasePruningMethod):
    """Prunes nothing: the mask is all ones (handy to give a tensor the pruned layout)."""

    PRUNING_TYPE = "unstructured"

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        return default_mask

    @classmethod
    def apply(cls, module: Module, name: str):
        return super().apply(module, name)


class _Unstructured(BasePruningMethod):
    """Prunes the ``amount`` entries (a fraction, or a count) that come first by a score:
    ``_scores(t)`` (flat), the largest first when ``prune_largest``."""

    PRUNING_TYPE = "unstructured"
    prune_largest = False

    def __init__(self, amount):
        _validate_amount_init(amount)
        self.amount = amount

    def _scores(self, t: Tensor):
        raise NotImplementedError

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        k = _n_to_prune(self.amount, t.numel())
        mask = _array(default_mask).copy()
        if k:
            xp = backend.get_array_module(mask)
            flat = mask.reshape(-1)
            flat[_topk_indices(xp, self._scores(t), k, largest=self.prune_largest)] = 0
            mask = flat.reshape(mask.shape)
        return Tensor._wrap(mask)

    @classmethod
    def apply(cls, module: Module, name: str, amount):
        return super().apply(module, name, amount=amount)


class RandomUnstructured(_Unstructured):
    """Prunes ``amount`` entries (a fraction, or a count) chosen uniformly at random."""

    prune_largest = True

    def _scores(self, t: Tensor):
        from ...ops.random import rand
        return rand(tuple(t.shape), dtype=t.dtype, device=t.device).array.reshape(-1)


class L1Unstructured(_Unstructured):
    """Prunes the ``amount`` entries (a fraction, or a count) of smallest absolute value."""

    def _scores(self, t: Tensor):
        return backend.get_array_module(_array(t)).abs(_array(t)).reshape(-1)

    @classmethod
    def apply(cls, module: Module, name: str, amount, importance_scores=None):
        return super(_Unstructured, cls).apply(module, name, amount=amount,
                                               importance_scores=importance_scores)


class RandomStructured(BasePruningMethod):
    """Prunes ``amount`` whole channels along ``dim`` (a fraction, or a count), chosen
    uniformly at random."""

    PRUNING_TYPE = "structured"

    def __init__(self, amount, dim: int = -1):
        _validate_amount_init(amount)
        self.amount = amount
        self.dim = dim

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        from ...ops.random import rand
        _validate_structured(t, self.dim)
        n_channels = t.shape[self.dim]
        k = _n_to_prune(self.amount, n_channels)
        if k == 0:
            return default_mask
        t_arr = _array(t)
        xp = backend.get_array_module(t_arr)
        prob = rand(n_channels, device=t.device).array
        keep = prob > xp.sort(prob)[k - 1]  # all but the k smallest draws
        mask = xp.zeros_like(t_arr)
        mask[_dim_index(t_arr.ndim, self.dim, keep)] = 1
        mask *= _array(default_mask).astype(mask.dtype, copy=False)
        return Tensor._wrap(mask)

    @classmethod
    def apply(cls, module: Module, name: str, amount, dim: int = -1):
        return super().apply(module, name, amount=amount, dim=dim)


class LnStructured(BasePruningMethod):
    """Prunes the ``amount`` channels along ``dim`` (a fraction, or a count) of smallest
    ``n``-norm (``n``: any number, ``inf``, ``-inf`` or ``'fro'``)."""

    PRUNING_TYPE = "structured"

    def __init__(self, amount, n, dim: int = -1):
        _validate_amount_init(amount)
        self.amount = amount
        self.n = n
        self.dim = dim

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        from ...ops.reduction import norm
        _validate_structured(t, self.dim)
        n_channels = t.shape[self.dim]
        k = _n_to_prune(self.amount, n_channels)
        if k == 0:
            return default_mask
        t_arr = _array(t)
        xp = backend.get_array_module(t_arr)
        dim = self.dim % t_arr.ndim
        others = [d for d in range(t_arr.ndim) if d != dim]
        norms = norm(Tensor._wrap(t_arr), p=self.n, dim=others).array  # (n_channels,)
        kept = _topk_indices(xp, norms, n_channels - k, largest=True)
        mask = xp.zeros_like(t_arr)
        mask[_dim_index(t_arr.ndim, dim, kept)] = 1
        mask *= _array(default_mask).astype(mask.dtype, copy=False)
        return Tensor._wrap(mask)

    @classmethod
    def apply(cls, module: Module, name: str, amount, n, dim: int, importance_scores=None):
        return super().apply(module, name, amount=amount, n=n, dim=dim,
                             importance_scores=importance_scores)


class CustomFromMask(BasePruningMethod):
    """Prunes where the given ``mask`` (same shape as the tensor) is zero."""

    PRUNING_TYPE = "global"

    def __init__(self, mask):
        self.mask = mask if isinstance(mask, Tensor) else Tensor(mask)

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        if tuple(default_mask.shape) != tuple(self.mask.shape):
            raise AssertionError(f"default_mask shape {tuple(default_mask.shape)} must match "
                                 f"self.mask shape {tuple(self.mask.shape)}")
        base = _array(default_mask)
        return Tensor._wrap(base * _array(self.mask).astype(base.dtype, copy=False))

    @classmethod
    def apply(cls, module: Module, name: str, mask):
        return super().apply(module, name, mask=mask)


# -- functions -----------------------------------------------------------------------------
def identity(module: Module, name: str) -> Module:
    """Give ``module.<name>`` the pruned layout with an all-ones mask. Returns ``module``."""
    Identity.apply(module, name)
    return module


def random_unstructured(module: Module, name: str, amount) -> Module:
    """Prune ``amount`` random entries of ``module.<name>``. Returns ``module``."""
    RandomUnstructured.apply(module, name, amount)
    return module


def l1_unstructured(module: Module, name: str, amount, importance_scores=None) -> Module:
    """Prune the ``amount`` entries of ``module.<name>`` of smallest magnitude (of
    ``importance_scores`` when given). Returns ``module``."""
    L1Unstructured.apply(module, name, amount=amount, importance_scores=importance_scores)
    return module


def random_structured(module: Module, name: str, amount, dim: int) -> Module:
    """Prune ``amount`` random channels of ``module.<name>`` along ``dim``. Returns
    ``module``."""
    RandomStructured.apply(module, name, amount, dim)
    return module


def ln_structured(module: Module, name: str, amount, n, dim: int,
                  importance_scores=None) -> Module:
    """Prune the ``amount`` channels of ``module.<name>`` along ``dim`` of smallest
    ``n``-norm (of ``importance_scores`` when given). Returns ``module``."""
    LnStructured.apply(module, name, amount, n, dim, importance_scores=importance_scores)
    return module


def global_unstructured(parameters, pruning_method, importance_scores=None, **kwargs) -> None:
    """Prune the tensors ``parameters`` (``(module, name)`` pairs) together, as if they
    were one vector: ``pruning_method(**kwargs)`` (an unstructured method, such as
    ``L1Unstructured`` with ``amount=0.2``) ranks all their unpruned entries at once.
    ``importance_scores``: a dict from ``(module, name)`` to scores that replace the
    tensor's values in the ranking."""
    if not isinstance(parameters, Iterable):
        raise TypeError("global_unstructured(): parameters is not an Iterable")
    parameters = list(parameters)
    importance_scores = importance_scores if importance_scores is not None else {}
    if not isinstance(importance_scores, dict):
        raise TypeError("global_unstructured(): importance_scores must be of type dict")
    method = pruning_method(**kwargs)
    method._tensor_name = "temp"
    if method.PRUNING_TYPE != "unstructured":
        raise TypeError(f'Only "unstructured" PRUNING_TYPE supported for the '
                        f'`pruning_method`. Found method {pruning_method} of type '
                        f'{method.PRUNING_TYPE}')
    if not parameters:
        return
    tensors = [getattr(module, name) for module, name in parameters]
    xp = backend.get_array_module(tensors[0].array)
    scores = xp.concatenate([_array(importance_scores.get(key, t)).reshape(-1)
                             for key, t in zip(parameters, tensors)])
    masks = []
    for (module, name), t in zip(parameters, tensors):
        mask = getattr(module, name + "_mask", None)
        masks.append((xp.ones_like(t.array) if mask is None else _array(mask)).reshape(-1))
    container = PruningContainer()
    container._tensor_name = "temp"
    container.add_pruning_method(method)
    final = _array(container.compute_mask(Tensor._wrap(scores),
                                          Tensor._wrap(xp.concatenate(masks))))
    start = 0
    for (module, name), t in zip(parameters, tensors):
        n = t.numel()
        custom_from_mask(module, name, mask=Tensor._wrap(final[start:start + n].reshape(t.shape)))
        start += n


def custom_from_mask(module: Module, name: str, mask) -> Module:
    """Prune ``module.<name>`` where ``mask`` is zero. Returns ``module``."""
    CustomFromMask.apply(module, name, mask)
    return module


def remove(module: Module, name: str) -> Module:
    """Make the pruning of ``module.<name>`` permanent: it becomes a plain parameter
    holding the pruned values; ``<name>_orig``, ``<name>_mask`` and the hook go away.
    Returns ``module``."""
    for key, hook in module._forward_pre_hooks.items():
        if isinstance(hook, BasePruningMethod) and hook._tensor_name == name:
            hook.remove(module)
            del module._forward_pre_hooks[key]
            return module
    raise ValueError(f"Parameter '{name}' of module {type(module).__name__} has to be pruned "
                     f"before pruning can be removed")


def is_pruned(module: Module) -> bool:
    """Whether ``module`` or any of its submodules carries a pruning hook."""
    return any(isinstance(hook, BasePruningMethod)
               for _, sub in module.named_modules()
               for hook in sub._forward_pre_hooks.values())
