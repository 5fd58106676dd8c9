"""Containers: ``Sequential``, ``ModuleList``, ``ModuleDict``, ``ParameterList``,
``ParameterDict``. Children are registered under their position (``"0"``,
``"1"``, ...) or key, so state_dict keys read ``0.weight`` as in PyTorch."""
from __future__ import annotations

import operator
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping

from ...tensor import Tensor
from ..module import Module
from ..parameter import Parameter


def _index(idx, n: int, container: str) -> int:
    """``idx`` as a position in [0, n), with a readable IndexError."""
    idx = operator.index(idx)
    if not -n <= idx < n:
        raise IndexError(f"{container}: index {idx} is out of range for {n} entries")
    return idx % n


def _renumber(registry: OrderedDict, modules: list) -> None:
    """Refill ``registry`` with ``modules`` under the keys "0", "1", ..."""
    registry.clear()
    for i, module in enumerate(modules):
        registry[str(i)] = module


def _check_key(key, container: str) -> None:
    """Keys become state_dict name parts: non-empty strings without dots."""
    if not isinstance(key, str):
        raise TypeError(f"{container}: keys must be strings, got {type(key).__name__}")
    if not key or "." in key:
        raise KeyError(f"{container}: key {key!r} must be a non-empty string without '.'")


def _check_module(value, container: str) -> Module:
    if not isinstance(value, Module):
        raise TypeError(f"{container}: expected a Module, got {type(value).__name__}")
    return value


class Sequential(Module):
    """Modules applied in order: ``Sequential(Linear(4, 8), ReLU(), Linear(8, 1))`` or
    ``Sequential(OrderedDict(fc=Linear(4, 8), act=ReLU()))`` for named children."""

    def __init__(self, *args):
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for name, module in args[0].items():
                self.add_module(name, _check_module(module, "Sequential"))
        else:
            for i, module in enumerate(args):
                self.add_module(str(i), _check_module(module, "Sequential"))

    def forward(self, input):
        for module in self._modules.values():
            input = module(input)
        return input

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __getitem__(self, idx):
        items = list(self._modules.items())
        if isinstance(idx, slice):
            return type(self)(OrderedDict(items[idx]))
        return items[_index(idx, len(items), "Sequential")][1]

    def __setitem__(self, idx, module: Module) -> None:
        key = list(self._modules)[_index(idx, len(self), "Sequential")]
        # straight into the registry: add_module would move the key to the end
        self._modules[key] = _check_module(module, "Sequential")

    def __delitem__(self, idx) -> None:
        keys = list(self._modules)
        for key in (keys[idx] if isinstance(idx, slice) else
                    [keys[_index(idx, len(keys), "Sequential")]]):
            del self._modules[key]
        # PyTorch renames the rest 0..n-1 (named children too)
        _renumber(self._modules, list(self._modules.values()))

    def append(self, module: Module) -> "Sequential":
        self.add_module(str(len(self)), _check_module(module, "Sequential"))
        return self

    def extend(self, modules: Iterable[Module]) -> "Sequential":
        for module in modules:
            self.append(module)
        return self

    def insert(self, index: int, module: Module) -> "Sequential":
        _check_module(module, "Sequential")
        n = len(self)
        if not -n <= index <= n:
            raise IndexError(f"Sequential.insert: index {index} is out of range for {n} "
                             f"entries")
        items = list(self._modules.values())
        items.insert(index % (n + 1) if index < 0 else index, module)
        _renumber(self._modules, items)
        return self

    def pop(self, index: int = -1) -> Module:
        module = self[index]
        del self[index]
        return module

    def __add__(self, other: "Sequential") -> "Sequential":
        if not isinstance(other, Sequential):
            raise TypeError(f"Sequential: can only add another Sequential, got "
                            f"{type(other).__name__}")
        return Sequential(*self, *other)


class ModuleList(Module):
    """A list of modules, registered as ``"0"``, ``"1"``, ...; no forward of its own."""

    def __init__(self, modules: Iterable[Module] | None = None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __getitem__(self, idx):
        values = list(self._modules.values())
        if isinstance(idx, slice):
            return type(self)(values[idx])
        return values[_index(idx, len(values), "ModuleList")]

    def __setitem__(self, idx, module: Module) -> None:
        key = str(_index(idx, len(self), "ModuleList"))
        self._modules[key] = _check_module(module, "ModuleList")  # keeps its position

    def __delitem__(self, idx) -> None:
        values = list(self._modules.values())
        if isinstance(idx, slice):
            del values[idx]
        else:
            del values[_index(idx, len(values), "ModuleList")]
        _renumber(self._modules, values)

    def append(self, module: Module) -> "ModuleList":
        self.add_module(str(len(self)), _check_module(module, "ModuleList"))
        return self

    def extend(self, modules: Iterable[Module]) -> "ModuleList":
        if isinstance(modules, Module) and not isinstance(modules, (ModuleList, Sequential)):
            raise TypeError(f"ModuleList.extend: expected an iterable of Modules, got "
                            f"{type(modules).__name__}")
        for module in modules:
            self.append(module)
        return self

    def insert(self, index: int, module: Module) -> None:
        values = list(self._modules.values())
        values.insert(index, _check_module(module, "ModuleList"))
        _renumber(self._modules, values)

    def pop(self, index: int = -1) -> Module:
        module = self[index]
        del self[index]
        return module

    def __iadd__(self, modules: Iterable[Module]) -> "ModuleList":
        return self.extend(modules)

    def __add__(self, other: Iterable[Module]) -> "ModuleList":
        return ModuleList([*self, *other])

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ModuleList has no forward(); iterate over it and call "
                                  "its modules")


class ModuleDict(Module):
    """An ordered dict of modules registered under their (string) keys."""

    def __init__(self, modules: Mapping[str, Module] | Iterable | None = None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        if key not in self._modules:
            raise KeyError(f"ModuleDict has no key {key!r} (keys: {list(self._modules)})")
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        _check_key(key, "ModuleDict")
        self._modules[key] = _check_module(module, "ModuleDict")  # a dict keeps positions

    def __delitem__(self, key: str) -> None:
        del self._modules[key]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __contains__(self, key: str) -> bool:
        return key in self._modules

    def keys(self):
        return self._modules.keys()

    def values(self):
        return self._modules.values()

    def items(self):
        return self._modules.items()

    def clear(self) -> None:
        self._modules.clear()

    def pop(self, key: str) -> Module:
        module = self[key]
        del self[key]
        return module

    def update(self, modules) -> None:
        pairs = modules.items() if isinstance(modules, Mapping) else modules
        for pair in pairs:
            key, module = pair
            self[key] = module

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ModuleDict has no forward(); index it and call its modules")


def _as_parameter(value, container: str) -> Parameter:
    if isinstance(value, Parameter):
        return value
    if isinstance(value, Tensor):
        return Parameter(value)
    raise TypeError(f"{container}: expected a Parameter or Tensor, got {type(value).__name__}")


class ParameterList(Module):
    """A list of parameters, registered as ``"0"``, ``"1"``, ... (Tensors become
    Parameters)."""

    def __init__(self, values: Iterable[Tensor] | None = None):
        super().__init__()
        if values is not None:
            self.extend(values)

    def __len__(self) -> int:
        return len(self._parameters)

    def __iter__(self) -> Iterator[Parameter]:
        return iter(self._parameters.values())

    def __getitem__(self, idx):
        values = list(self._parameters.values())
        if isinstance(idx, slice):
            return type(self)(values[idx])
        return values[_index(idx, len(values), "ParameterList")]

    def __setitem__(self, idx, value) -> None:
        key = str(_index(idx, len(self), "ParameterList"))
        self._parameters[key] = _as_parameter(value, "ParameterList")  # keeps its position

    def append(self, value) -> "ParameterList":
        self.register_parameter(str(len(self)), _as_parameter(value, "ParameterList"))
        return self

    def extend(self, values: Iterable[Tensor]) -> "ParameterList":
        for value in values:
            self.append(value)
        return self

    def extra_repr(self) -> str:
        return ", ".join(f"({i}): Parameter of shape {tuple(p.shape)}"
                         for i, p in enumerate(self))


class ParameterDict(Module):
    """An ordered dict of parameters under string keys (Tensors become Parameters)."""

    def __init__(self, parameters=None):
        super().__init__()
        if parameters is not None:
            self.update(parameters)

    def __getitem__(self, key: str) -> Parameter:
        if key not in self._parameters:
            raise KeyError(f"ParameterDict has no key {key!r} (keys: {list(self._parameters)})")
        return self._parameters[key]

    def __setitem__(self, key: str, value) -> None:
        _check_key(key, "ParameterDict")
        self._parameters[key] = _as_parameter(value, "ParameterDict")

    def __delitem__(self, key: str) -> None:
        del self._parameters[key]

    def __len__(self) -> int:
        return len(self._parameters)

    def __iter__(self) -> Iterator[str]:
        return iter(self._parameters)

    def __contains__(self, key: str) -> bool:
        return key in self._parameters

    def keys(self):
        return self._parameters.keys()

    def values(self):
        return self._parameters.values()

    def items(self):
        return self._parameters.items()

    def update(self, parameters) -> None:
        pairs = parameters.items() if isinstance(parameters, Mapping) else parameters
        for key, value in pairs:
            self[key] = value

    def extra_repr(self) -> str:
        return ", ".join(f"({k}): Parameter of shape {tuple(p.shape)}" for k, p in self.items())


__all__ = ["Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict"]
