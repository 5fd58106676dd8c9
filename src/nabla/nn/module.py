"""``Module``: parameters, buffers and submodules registered by attribute.

Assigning a ``Parameter`` to an attribute registers a parameter, a ``Module``
registers a submodule, and ``register_buffer`` (or assigning an ``nn.Buffer``)
registers state that is saved but not learned (running statistics).
``state_dict`` is flat with dotted names (``features.0.weight``), the same keys
PyTorch produces for the same architecture, so checkpoints map key for key.

Hooks follow PyTorch's: forward pre/post hooks (``with_kwargs``, ``prepend``,
``always_call``), full backward hooks and pre hooks (see ``hooks.py``), state_dict
and load_state_dict pre/post hooks, and global forward/backward hooks for every
module (``register_module_forward_hook`` and friends, in this module). Each
registration returns a handle whose ``remove()`` undoes it, also as a context
manager. The registries other than the forward ones are made on first use, so a
module without hooks carries two empty dicts and calls ``forward`` directly.
"""
from __future__ import annotations

import warnings
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from itertools import chain

import numpy as np

from .. import backend
from ..autograd.grad_mode import no_grad
from ..tensor import Tensor
from .hooks import BackwardHook, RemovableHandle, attach_node_hooks
from .parameter import Buffer, Parameter, UninitializedBuffer, is_lazy

_RemovableHandle = RemovableHandle  # the name before handles became public

#: hooks every module runs (``register_module_forward_hook`` and friends), by kind;
#: each registry is also a global name, so ``__call__`` checks them without a lookup
_global_forward_pre_hooks: OrderedDict = OrderedDict()
_global_forward_hooks: OrderedDict = OrderedDict()
_global_backward_pre_hooks: OrderedDict = OrderedDict()
_global_backward_hooks: OrderedDict = OrderedDict()
_GLOBAL_HOOKS: dict = {"forward_pre": _global_forward_pre_hooks,
                       "forward": _global_forward_hooks,
                       "backward_pre": _global_backward_pre_hooks,
                       "backward": _global_backward_hooks}
#: ids among the global hooks registered with ``with_kwargs`` / ``always_call``
_GLOBAL_FLAGS: dict = {"forward_with_kwargs": set(), "forward_always_call": set()}
#: whether the global backward hooks are full ones (None: none registered yet)
_global_full_backward = [None]


class Module:
    """Base class of every layer and model: subclass it, set parts in
    ``__init__``, compute in ``forward``."""

    training: bool
    #: the version recorded in ``state_dict`` metadata (``local_metadata["version"]``)
    _version: int = 1
    #: whether ``Module.__init__`` passes its arguments on to the next class in the MRO
    #: (for cooperative multiple inheritance), as in PyTorch
    call_super_init: bool = False
    #: kept for PyTorch compatibility; nabla never pickles modules, so it means nothing
    dump_patches: bool = False

    def __init__(self, *args, **kwargs):
        if not self.call_super_init and (args or kwargs):
            given = ", ".join([repr(a) for a in args] + [f"{k}=" for k in kwargs])
            raise TypeError(f"{type(self).__name__}: Module.__init__() takes no arguments "
                            f"(got {given}); set call_super_init = True to pass them on")
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_forward_hooks", OrderedDict())
        object.__setattr__(self, "_forward_pre_hooks", OrderedDict())
        # the other hook registries, by kind, made on first use (see _registry)
        object.__setattr__(self, "_hook_registries", None)
        if self.call_super_init:
            super().__init__(*args, **kwargs)

    # -- registration ----------------------------------------------------------------
    def __setattr__(self, name: str, value) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"cannot assign {name!r} before Module.__init__() call; call "
                f"super().__init__() first in {type(self).__name__}.__init__")
        params, buffers, modules = self._parameters, self._buffers, self._modules
        if isinstance(value, Parameter):
            self._drop(name, keep=params)
            params[name] = value
        elif isinstance(value, Module):
            self._drop(name, keep=modules)
            modules[name] = value
        elif name in params:
            if value is not None:
                raise TypeError(f"cannot assign a {type(value).__name__} to parameter "
                                f"{name!r} of {type(self).__name__} (expected a Parameter "
                                f"or None)")
            params[name] = None
        elif name in modules:
            if value is not None:
                raise TypeError(f"cannot assign a {type(value).__name__} to submodule "
                                f"{name!r} (expected a Module or None)")
            modules[name] = None
        elif isinstance(value, Buffer) or (isinstance(value, UninitializedBuffer)
                                           and name not in buffers):
            if name not in buffers and (name in self.__dict__ or hasattr(type(self), name)):
                raise KeyError(f"cannot register buffer {name!r} of {type(self).__name__}: "
                               f"attribute {name!r} already exists")
            persistent = getattr(value, "persistent", True)
            self.register_buffer(name, value._as_tensor() if isinstance(value, Buffer)
                                 else value, persistent)
        elif name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign a {type(value).__name__} to buffer {name!r} "
                                f"(expected a Tensor or None)")
            buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def _drop(self, name: str, keep: dict | None = None) -> None:
        """Forget ``name`` everywhere except in ``keep`` (where re-assigning it
        keeps its position, so state_dict order matches PyTorch's)."""
        for registry in (self._parameters, self._buffers, self._modules):
            if registry is not keep:
                registry.pop(name, None)
        self.__dict__.pop(name, None)

    def __getattr__(self, name: str):
        # only called when normal lookup fails: look in the registries
        d = self.__dict__
        for registry in ("_parameters", "_buffers", "_modules"):
            if registry in d and name in d[registry]:
                return d[registry][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        for registry in (self._parameters, self._buffers, self._modules):
            if name in registry:
                del registry[name]
                return
        object.__delattr__(self, name)

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers)
                      | set(self._modules))

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: {name!r} must be a Parameter or None, got "
                            f"{type(param).__name__}")
        self._drop(name, keep=self._parameters)
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"register_buffer: {name!r} must be a Tensor or None, got "
                            f"{type(tensor).__name__}")
        self._drop(name, keep=self._buffers)
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent.discard(name)
        else:
            self._non_persistent.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {name!r} must be a Module, got {type(module).__name__}")
        self._drop(name, keep=self._modules)
        self._modules[name] = module

    register_module = add_module

    def get_submodule(self, target: str) -> "Module":
        mod = self
        for part in target.split(".") if target else []:
            if part not in mod._modules:
                raise AttributeError(f"{type(mod).__name__} has no submodule {part!r}")
            mod = mod._modules[part]
        return mod

    def get_parameter(self, target: str) -> Parameter:
        path, _, name = target.rpartition(".")
        mod = self.get_submodule(path)
        if name not in mod._parameters:
            raise AttributeError(f"{type(mod).__name__} has no parameter {name!r}")
        return mod._parameters[name]

    def get_buffer(self, target: str) -> Tensor:
        """The buffer at the dotted path ``target`` (``"bn.running_mean"``)."""
        path, _, name = target.rpartition(".")
        mod = self.get_submodule(path)
        if name not in mod._buffers:
            raise AttributeError(f"get_buffer: {type(mod).__name__} has no buffer {name!r}")
        return mod._buffers[name]

    def set_submodule(self, target: str, module: "Module", strict: bool = False) -> None:
        """Put ``module`` at the dotted path ``target`` (``"encoder.layers.0"``). The parent
        must exist; with ``strict`` the last part must already name a submodule."""
        if not target:
            raise ValueError("set_submodule: cannot set the module itself (target is empty)")
        if not isinstance(module, Module):
            raise TypeError(f"set_submodule: expected a Module for {target!r}, got "
                            f"{type(module).__name__}")
        path, _, name = target.rpartition(".")
        parent = self.get_submodule(path)
        if strict and name not in parent._modules:
            raise AttributeError(f"set_submodule: {type(parent).__name__} has no submodule "
                                 f"{name!r} (strict=True replaces existing ones only)")
        if name not in parent._modules and hasattr(parent, name):
            raise AttributeError(f"set_submodule: {name!r} of {type(parent).__name__} is an "
                                 f"attribute that is not a submodule")
        setattr(parent, name, module)

    # -- calling -----------------------------------------------------------------------
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} has no forward()")

    def __call__(self, *args, **kwargs):
        registries = self._hook_registries
        if not (self._forward_pre_hooks or self._forward_hooks or registries
                or _global_forward_pre_hooks or _global_forward_hooks
                or _global_backward_pre_hooks or _global_backward_hooks):
            return self.forward(*args, **kwargs)
        return self._call_with_hooks(args, kwargs)

    def _call_with_hooks(self, args: tuple, kwargs: dict):
        """``forward`` with the forward, backward and global hooks around it, in PyTorch's
        order; forward hooks registered with ``always_call`` run even when it raises."""
        result, called = None, set()
        try:
            args, kwargs = self._run_forward_pre_hooks(args, kwargs)
            full, non_full, pre = self._backward_hooks()
            bw_hook = BackwardHook(self, full, pre) if full or pre else None
            if bw_hook is not None:
                args = bw_hook.setup_inputs(args)
            result = self.forward(*args, **kwargs)
            for hook_id, hook, with_kwargs, always in self._forward_hooks_in_order():
                if always:
                    called.add(hook_id)
                new = hook(self, args, kwargs, result) if with_kwargs else hook(self, args, result)
                if new is not None:
                    result = new
            if bw_hook is not None:
                result = bw_hook.setup_outputs(result)
            if non_full:
                attach_node_hooks(self, non_full, result)
            return result
        except Exception:
            for hook_id, hook, with_kwargs, always in self._forward_hooks_in_order():
                if not always or hook_id in called:
                    continue
                try:
                    new = (hook(self, args, kwargs, result) if with_kwargs
                           else hook(self, args, result))
                    if new is not None:
                        result = new
                except Exception as e:
                    warnings.warn(f"{type(self).__name__}: a forward hook registered with "
                                  f"always_call=True raised {type(e).__name__}: {e}, silenced "
                                  f"since forward raised first", stacklevel=2)
            raise

    def _run_forward_pre_hooks(self, args: tuple, kwargs: dict) -> tuple:
        with_kwargs = self._registry("forward_pre_with_kwargs", set)
        for hook_id, hook in chain(_GLOBAL_HOOKS["forward_pre"].items(),
                                   self._forward_pre_hooks.items()):
            if hook_id in with_kwargs:
                new = hook(self, args, kwargs)
                if new is None:
                    continue
                if not (isinstance(new, tuple) and len(new) == 2):
                    raise RuntimeError(f"{type(self).__name__}: a forward pre-hook registered "
                                       f"with with_kwargs=True must return None or a tuple "
                                       f"(new_args, new_kwargs), got {type(new).__name__}")
                args, kwargs = new
            else:
                new = hook(self, args)
                if new is not None:
                    args = new if isinstance(new, tuple) else (new,)
        return args, kwargs

    def _forward_hooks_in_order(self):
        """``(id, hook, with_kwargs, always_call)``: the global hooks, then this module's."""
        with_kwargs = self._registry("forward_with_kwargs", set)
        always = self._registry("forward_always_call", set)
        for hook_id, hook in _GLOBAL_HOOKS["forward"].items():
            yield (hook_id, hook, hook_id in _GLOBAL_FLAGS["forward_with_kwargs"],
                   hook_id in _GLOBAL_FLAGS["forward_always_call"])
        for hook_id, hook in list(self._forward_hooks.items()):
            yield hook_id, hook, hook_id in with_kwargs, hook_id in always

    def _backward_hooks(self) -> tuple:
        """``(full hooks, deprecated non-full hooks, pre hooks)``, global ones first."""
        full, non_full = [], []
        mine = self._registry("backward")
        own_full = self._registry("backward_is_full", dict).get("full")
        for hooks, is_full in ((_GLOBAL_HOOKS["backward"], _global_full_backward[0]),
                               (mine, own_full)):
            if hooks:
                (full if is_full else non_full).extend(hooks.values())
        pre = list(_GLOBAL_HOOKS["backward_pre"].values()) + list(
            self._registry("backward_pre").values())
        return full, non_full, pre

    def _registry(self, kind: str, make=OrderedDict, create: bool = False):
        """This module's registry of hooks (or flags) of ``kind``: an empty one when there
        is none yet, made and kept only when ``create`` (registration)."""
        registries = self._hook_registries
        if registries is None:
            if not create:
                return make()
            registries = {}
            object.__setattr__(self, "_hook_registries", registries)
        if kind not in registries:
            if not create:
                return make()
            registries[kind] = make()
        return registries[kind]

    def _register(self, kind: str, hook, prepend: bool = False, flags=()) -> RemovableHandle:
        """Add ``hook`` to the registry of ``kind``; ``flags``: the flag sets its id joins."""
        if not callable(hook):
            raise TypeError(f"{type(self).__name__}: a {kind.replace('_', ' ')} hook must be "
                            f"callable, got {type(hook).__name__}")
        registry = (getattr(self, f"_{kind}_hooks") if kind in ("forward", "forward_pre")
                    else self._registry(kind, create=True))
        handle = RemovableHandle(registry, flags)
        registry[handle.id] = hook
        for flag in flags:
            flag.add(handle.id)
        if prepend:
            registry.move_to_end(handle.id, last=False)
        return handle

    def register_forward_pre_hook(self, hook, *, prepend: bool = False,
                                  with_kwargs: bool = False) -> RemovableHandle:
        """``hook(module, args)`` before every forward; may return new args (a tuple, or
        one value). With ``with_kwargs``: ``hook(module, args, kwargs)`` returning None or
        ``(args, kwargs)``. ``prepend`` runs it before the hooks already registered."""
        flags = (self._registry("forward_pre_with_kwargs", set, create=True),) \
            if with_kwargs else ()
        return self._register("forward_pre", hook, prepend, flags)

    def register_forward_hook(self, hook, *, prepend: bool = False, with_kwargs: bool = False,
                              always_call: bool = False) -> RemovableHandle:
        """``hook(module, args, output)`` after every forward (``hook(module, args, kwargs,
        output)`` with ``with_kwargs``); may return a new output. ``always_call`` runs it
        even when forward raises (then with the output None)."""
        flags = []
        if with_kwargs:
            flags.append(self._registry("forward_with_kwargs", set, create=True))
        if always_call:
            flags.append(self._registry("forward_always_call", set, create=True))
        return self._register("forward", hook, prepend, tuple(flags))

    def register_full_backward_pre_hook(self, hook, prepend: bool = False) -> RemovableHandle:
        """``hook(module, grad_output)`` when the gradients w.r.t. the module's outputs are
        known, before they flow into it; may return a tuple that replaces ``grad_output``.
        Entries are None for outputs that are not Tensors or received no gradient."""
        return self._register("backward_pre", hook, prepend)

    def register_full_backward_hook(self, hook, prepend: bool = False) -> RemovableHandle:
        """``hook(module, grad_input, grad_output)`` once the gradients w.r.t. the module's
        positional inputs are known; may return a tuple that replaces ``grad_input``.

        ``grad_input`` has one entry per positional argument: None for non-Tensors, zeros
        for Tensors that received no gradient. When no input requires grad, the hook runs
        with ``grad_input`` all None as soon as ``grad_output`` is known. Inputs and
        outputs pass through identity ops (views), so modifying them in place inside
        the module is not supported while hooks are registered (as in PyTorch)."""
        self._set_backward_kind(full=True)
        return self._register("backward", hook, prepend)

    def register_backward_hook(self, hook) -> RemovableHandle:
        """Deprecated (use ``register_full_backward_hook``): ``hook(module, grad_input,
        grad_output)`` on the last op of forward only -- ``grad_input`` are the gradients
        w.r.t. that op's inputs, not the module's, as in PyTorch."""
        self._set_backward_kind(full=False)
        return self._register("backward", hook)

    def _set_backward_kind(self, full: bool) -> None:
        kind = self._registry("backward_is_full", dict, create=True)
        if kind.get("full", full) != full:
            raise RuntimeError(f"{type(self).__name__}: cannot use both register_backward_hook "
                               f"and register_full_backward_hook on one module; use only "
                               f"register_full_backward_hook")
        kind["full"] = full

    def register_state_dict_pre_hook(self, hook) -> RemovableHandle:
        """``hook(module, prefix, keep_vars)`` before ``state_dict`` saves this module."""
        return self._register("state_dict_pre", hook)

    def register_state_dict_post_hook(self, hook) -> RemovableHandle:
        """``hook(module, state_dict, prefix, local_metadata)`` after ``state_dict`` saved
        this module and its submodules; it may edit ``state_dict`` in place and must
        return None."""
        return self._register("state_dict", hook)

    def register_load_state_dict_pre_hook(self, hook) -> RemovableHandle:
        """``hook(module, state_dict, prefix, local_metadata, strict, missing_keys,
        unexpected_keys, error_msgs)`` before ``load_state_dict`` loads this module; it may
        edit ``state_dict`` (a copy of the caller's) in place, e.g. to rename keys."""
        return self._register("load_state_dict_pre", hook)

    def register_load_state_dict_post_hook(self, hook) -> RemovableHandle:
        """``hook(module, incompatible_keys)`` after ``load_state_dict`` loaded this module
        and its submodules; it may edit ``incompatible_keys.missing_keys`` and
        ``.unexpected_keys`` in place (``strict`` checks them afterwards) and must
        return None."""
        return self._register("load_state_dict_post", hook)

    # -- traversal ------------------------------------------------------------------------
    def named_modules(self, memo: set | None = None, prefix: str = "",
                      remove_duplicate: bool = True) -> Iterator[tuple[str, "Module"]]:
        memo = set() if memo is None else memo
        stack = [(prefix, self)]
        while stack:  # iterative: deep nets must not hit the recursion limit
            name, mod = stack.pop()
            if remove_duplicate:
                if id(mod) in memo:
                    continue
                memo.add(id(mod))
            yield name, mod
            children = [(f"{name}.{n}" if name else n, m) for n, m in mod._modules.items()
                        if m is not None]
            stack.extend(reversed(children))

    def modules(self) -> Iterator["Module"]:
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, "Module"]]:
        seen = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def children(self) -> Iterator["Module"]:
        for _, m in self.named_children():
            yield m

    def _named_members(self, registry: str, prefix: str, recurse: bool,
                       remove_duplicate: bool = True):
        seen = set()
        mods = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for mod_name, mod in mods:
            for name, value in getattr(mod, registry).items():
                if value is None or (remove_duplicate and id(value) in seen):
                    continue
                seen.add(id(value))
                yield (f"{mod_name}.{name}" if mod_name else name), value

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[tuple[str, Parameter]]:
        yield from self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Tensor]]:
        yield from self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    # -- state -------------------------------------------------------------------------------
    def state_dict(self, destination=None, prefix: str = "", keep_vars: bool = False) -> dict:
        """Parameters, persistent buffers and extra state by dotted name (detached unless
        keep_vars; a lazy module's uninitialized ones as they are, as in PyTorch).

        Each module runs its state_dict pre hooks before saving its own entries and its
        post hooks after its submodules' (``local_metadata`` is ``{"version": ...}``).
        A module that overrides ``get_extra_state`` adds ``<prefix>_extra_state``."""
        out = OrderedDict() if destination is None else destination
        stack = [(self, prefix, False)]
        while stack:  # iterative pre-order walk; post hooks once a subtree is done
            mod, base, done = stack.pop()
            registries = mod._hook_registries or {}
            if done:
                for hook in list(registries.get("state_dict", {}).values()):
                    if hook(mod, out, base, {"version": mod._version}) is not None:
                        raise RuntimeError(f"{type(mod).__name__}: a state_dict post-hook "
                                           f"must return None (edit state_dict in place)")
                continue
            for hook in list(registries.get("state_dict_pre", {}).values()):
                hook(mod, base, keep_vars)
            mod._save_own_state(out, base, keep_vars)
            stack.append((mod, base, True))
            stack.extend((child, f"{base}{name}.", False)
                         for name, child in reversed(mod._modules.items()) if child is not None)
        return out

    def _own_state(self) -> Iterator[tuple[str, Tensor]]:
        """This module's own parameters and persistent buffers, by name."""
        for name, p in self._parameters.items():
            if p is not None:
                yield name, p
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent:
                yield name, b

    def _save_own_state(self, out: dict, prefix: str, keep_vars: bool) -> None:
        for name, t in self._own_state():
            out[prefix + name] = t if keep_vars or is_lazy(t) else t.detach()
        if type(self).get_extra_state is not Module.get_extra_state:
            out[prefix + "_extra_state"] = self.get_extra_state()

    def get_extra_state(self):
        """Extra state for ``state_dict`` (key ``_extra_state``): override it together with
        ``set_extra_state``. nabla saves checkpoints as safetensors + JSON, so it must be
        a Tensor, a NumPy array, a JSON value (str, int, float, bool, None) or a dict /
        list / tuple of those for ``nabla.save`` to store it."""
        raise RuntimeError(f"{type(self).__name__}.get_extra_state() was called but not "
                           f"overridden; override it (and set_extra_state) to save extra "
                           f"state in the state_dict")

    def set_extra_state(self, state) -> None:
        """Restore what ``get_extra_state`` returned (called by ``load_state_dict``)."""
        raise RuntimeError(f"{type(self).__name__}.set_extra_state() was called but not "
                           f"overridden; override it to load the '_extra_state' entry a "
                           f"get_extra_state override saved")

    def load_state_dict(self, state_dict: Mapping, strict: bool = True, assign: bool = False):
        """Copy tensors from ``state_dict`` into this module's parameters and buffers.

        Returns ``(missing_keys, unexpected_keys)``; with ``strict`` either raises. An
        uninitialized parameter or buffer (of a lazy module) takes the checkpoint's shape.
        With ``assign`` the checkpoint's tensors replace the module's (a parameter stays a
        Parameter with its ``requires_grad``) instead of being copied into them.
        Load pre hooks run per module before it loads (on a copy of ``state_dict``, which
        they may edit); post hooks run after all loading, children first.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"{type(self).__name__}.load_state_dict: expected a mapping of "
                            f"names to tensors, got {type(state_dict).__name__}")
        state_dict = OrderedDict(state_dict)  # hooks may edit it; the caller's stays as is
        missing, unexpected, errors, expected = [], [], [], set()
        walk, stack = [], [(self, "")]
        while stack:  # iterative pre-order walk, shared submodules under every name
            mod, base = stack.pop()
            walk.append(mod)
            for hook in list((mod._hook_registries or {}).get("load_state_dict_pre",
                                                                {}).values()):
                hook(mod, state_dict, base, {"version": mod._version}, strict, missing,
                     unexpected, errors)
            mod._load_own_state(state_dict, base, strict, assign, missing, errors, expected)
            stack.extend((child, f"{base}{name}.")
                         for name, child in reversed(mod._modules.items()) if child is not None)
        unexpected.extend(k for k in state_dict if k not in expected)
        result = _IncompatibleKeys(missing, unexpected)
        for mod in reversed(walk):  # children before parents, as PyTorch's recursion
            for hook in list((mod._hook_registries or {}).get("load_state_dict_post",
                                                                {}).values()):
                if hook(mod, result) is not None:
                    raise RuntimeError(f"{type(mod).__name__}: a load_state_dict post-hook "
                                       f"must return None (edit incompatible_keys in place)")
        if strict:
            if unexpected:
                errors.insert(0, "unexpected keys: " + ", ".join(unexpected))
            if missing:
                errors.insert(0, "missing keys: " + ", ".join(missing))
        if errors:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n  "
                               + "\n  ".join(errors))
        return result

    def _load_own_state(self, state_dict: Mapping, prefix: str, strict: bool, assign: bool,
                        missing: list, errors: list, expected: set) -> None:
        """Load this module's own parameters, persistent buffers and extra state."""
        for name, target in list(self._own_state()):
            key = prefix + name
            expected.add(key)
            if key not in state_dict:
                missing.append(key)
                continue
            error = self._load_one(name, target, state_dict[key], key, assign)
            if error:
                errors.append(error)
        if type(self).set_extra_state is not Module.set_extra_state:
            key = prefix + "_extra_state"
            if key in state_dict:
                expected.add(key)
                self.set_extra_state(state_dict[key])
            elif strict:
                missing.append(key)

    def _load_one(self, name: str, target: Tensor, value, key: str, assign: bool):
        """Load ``value`` into the parameter or buffer ``name``; an error message or None."""
        if is_lazy(value):
            if not is_lazy(target):
                return (f"{key}: the checkpoint holds an uninitialized parameter or buffer "
                        f"(saved before its lazy module's first forward)")
            return None
        if isinstance(value, Tensor):
            array = value.array
        else:  # a NumPy or CuPy array, or anything NumPy makes one of
            array = value if hasattr(value, "__array__") and hasattr(value, "shape") \
                else np.asarray(value)
        if is_lazy(target) and not assign:
            target.materialize(array.shape)
        if tuple(array.shape) != tuple(target.shape) and not is_lazy(target):
            return (f"size mismatch for {key}: checkpoint has shape {tuple(array.shape)}, "
                    f"the model has {tuple(target.shape)}")
        if assign:
            new = value if isinstance(value, Tensor) else Tensor(array)
            if name in self._parameters:
                if not isinstance(new, Parameter):
                    new = Parameter(new, requires_grad=target.requires_grad)
                self._parameters[name] = new
            else:
                self._buffers[name] = new
            return None
        with no_grad():
            target.array[...] = backend.to_device(array, target.device).astype(
                target.dtype, copy=False)
            target._version[0] += 1
        return None

    # -- modes and conversions -----------------------------------------------------------------
    def train(self, mode: bool = True) -> "Module":
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self) -> "Module":
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> "Module":
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                p.grad = p.grad.detach()
                p.grad.zero_()

    def apply(self, fn) -> "Module":
        """Call ``fn`` on every submodule, children before parents, in registration
        order (PyTorch's order), then on self."""
        order, stack = [], [(self, False)]
        while stack:  # iterative post-order walk
            mod, expanded = stack.pop()
            if expanded:
                order.append(mod)
                continue
            stack.append((mod, True))
            stack.extend((child, False) for child in reversed(list(mod.children())))
        for m in order:
            fn(m)
        return self

    def _convert(self, convert) -> "Module":
        """Rewrite every parameter and buffer array in place (keeps object identity,
        so an optimizer built before ``.to()`` still holds the right tensors)."""
        with no_grad():
            for m in self.modules():
                for registry in (m._parameters, m._buffers):
                    for t in registry.values():
                        if t is None:
                            continue
                        if is_lazy(t):  # convert the placeholder: dtype and device only
                            t.array = convert(Tensor._wrap(t._placeholder)).array
                            continue
                        t.array = convert(t).array
                        if t.grad is not None:
                            t.grad = convert(t.grad)
        return self

    def to(self, *args, **kwargs) -> "Module":
        """``to(device)``, ``to(dtype)`` (floating tensors only) or both."""
        device, dtype = kwargs.get("device"), kwargs.get("dtype")
        for a in args:
            if isinstance(a, (backend.Device,)) or (isinstance(a, str) and
                                                    a.split(":")[0] in ("cpu", "cuda")):
                device = a
            else:
                dtype = a

        def convert(t: Tensor) -> Tensor:
            out = t
            if device is not None:
                out = out.to(device)
            if dtype is not None and backend.dtype_kind(out.dtype) == "f":
                out = out.to(dtype)
            return out
        return self._convert(convert)

    def cpu(self) -> "Module":
        return self.to("cpu")

    def cuda(self, device: int = 0) -> "Module":
        return self.to(backend.Device("cuda", device))

    def float(self) -> "Module":
        return self.to(backend.float32)

    def double(self) -> "Module":
        return self.to(backend.float64)

    def half(self) -> "Module":
        return self.to(backend.float16)

    def bfloat16(self) -> "Module":
        return self.to(backend.bfloat16)

    def type(self, dst_type) -> "Module":
        """Cast every parameter and buffer to ``dst_type`` (integer ones too, as PyTorch)."""
        dtype = backend.as_dtype(dst_type)
        return self._convert(lambda t: t.to(dtype))

    def to_empty(self, *, device=None, recurse: bool = True) -> "Module":
        """Move parameters and buffers to ``device`` (default: the CPU) *without* their
        values: the new memory is uninitialised. For modules built on one device and
        filled later (``load_state_dict``, ``reset_parameters``)."""
        dev = backend.device("cpu" if device is None else device)

        from ..ops.creation import empty

        def fresh(t: Tensor) -> Tensor:
            return empty(t.shape, dtype=t.dtype, device=dev)
        mods = self.modules() if recurse else [self]
        with no_grad():
            for m in mods:
                for registry in (m._parameters, m._buffers):
                    for t in registry.values():
                        if t is not None and not is_lazy(t):
                            t.array = fresh(t).array
                            t.grad = None if t.grad is None else fresh(t.grad)
        return self

    def share_memory(self) -> "Module":
        """A no-op returning self: nabla has no process-shared CPU tensors (PyTorch moves
        them to shared memory for torch.multiprocessing), and CuPy memory is per process."""
        return self

    def compile(self, *args, **kwargs) -> None:
        """A no-op returning None, as PyTorch's in-place ``Module.compile``: nabla has no
        compiler (``nabla.compile``), so the module keeps running eagerly."""
        from ..compiler import compile

        compile(self, *args, **kwargs)  # PyTorch's argument checks

    # -- printing -------------------------------------------------------------------------------
    def _head(self) -> str:
        """The first line of the repr, ``Linear(in_features=4, ...)``: how error messages
        name the layer that raised them."""
        return f"{type(self).__name__}({self.extra_repr()})"

    def extra_repr(self) -> str:
        return ""

    def _get_name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        """The module tree; every module with parameters shows their count."""
        extra = self.extra_repr()
        children = [f"({name}): " + repr(m).replace("\n", "\n  ")
                    for name, m in self._modules.items()]
        total = sum(p.numel() for p in self.parameters() if not is_lazy(p))
        count = f"  # {total:,} parameters" if total else ""
        lines = (extra.split("\n") if extra else []) + children
        if not children and len(lines) <= 1:
            return f"{type(self).__name__}({extra})" + count
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)" + count


class _IncompatibleKeys(tuple):
    def __new__(cls, missing, unexpected):
        obj = super().__new__(cls, (missing, unexpected))
        obj.missing_keys, obj.unexpected_keys = missing, unexpected
        return obj

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return (f"_IncompatibleKeys(missing_keys={self.missing_keys}, "
                f"unexpected_keys={self.unexpected_keys})")


# -- hooks for every module -----------------------------------------------------------------
def _register_global(kind: str, hook, flags=()) -> RemovableHandle:
    if not callable(hook):
        raise TypeError(f"register_module_{kind}_hook: the hook must be callable, got "
                        f"{type(hook).__name__}")
    registry = _GLOBAL_HOOKS[kind]
    handle = RemovableHandle(registry, flags)
    registry[handle.id] = hook
    for flag in flags:
        flag.add(handle.id)
    return handle


def register_module_forward_pre_hook(hook) -> RemovableHandle:
    """``hook(module, args)`` before the forward of every module (before its own hooks)."""
    return _register_global("forward_pre", hook)


def register_module_forward_hook(hook, *, with_kwargs: bool = False,
                                 always_call: bool = False) -> RemovableHandle:
    """``hook(module, args, output)`` after the forward of every module (before its own
    hooks); the options as in ``Module.register_forward_hook``."""
    flags = []
    if with_kwargs:
        flags.append(_GLOBAL_FLAGS["forward_with_kwargs"])
    if always_call:
        flags.append(_GLOBAL_FLAGS["forward_always_call"])
    return _register_global("forward", hook, tuple(flags))


def register_module_full_backward_pre_hook(hook) -> RemovableHandle:
    """``Module.register_full_backward_pre_hook`` for every module."""
    return _register_global("backward_pre", hook)


def register_module_full_backward_hook(hook) -> RemovableHandle:
    """``Module.register_full_backward_hook`` for every module."""
    _set_global_backward_kind(True)
    return _register_global("backward", hook)


def register_module_backward_hook(hook) -> RemovableHandle:
    """Deprecated: ``Module.register_backward_hook`` for every module."""
    _set_global_backward_kind(False)
    return _register_global("backward", hook)


def _set_global_backward_kind(full: bool) -> None:
    if _global_full_backward[0] not in (None, full) and _global_backward_hooks:
        raise RuntimeError("cannot use both register_module_backward_hook and "
                           "register_module_full_backward_hook; use only the full one")
    _global_full_backward[0] = full
