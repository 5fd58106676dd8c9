"""``Parameter``: a Tensor a Module registers as learnable."""
from __future__ import annotations

from ..tensor import Tensor


class Parameter(Tensor):
    """A leaf tensor that requires grad by default; assigning one to a Module
    attribute registers it (``model.weight = nn.Parameter(...)``)."""

    __slots__ = ()

    def __init__(self, data=None, requires_grad: bool = True):
        if data is None:
            from ..ops.creation import empty
            data = empty(0)
        super().__init__(data.detach() if isinstance(data, Tensor) else data,
                         requires_grad=requires_grad)
        if isinstance(data, Tensor):
            self._version = [0]

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __reduce_ex__(self, protocol):
        raise TypeError("nabla never pickles tensors; use nabla.save(state_dict, path)")
