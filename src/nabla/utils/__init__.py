"""``nabla.utils``: ``data`` (which is ``nabla.data``, so ``torch.utils.data`` imports port)
and ``checkpoint`` (activation checkpointing, as ``torch.utils.checkpoint``)."""
import sys as _sys

from .. import data  # noqa: F401
from . import checkpoint

__all__ = ["checkpoint", "data"]

# Register the alias (and its submodules) so that ``import nabla.utils.data`` and
# ``from nabla.utils.data.dataloader import default_collate`` find the same
# module objects as ``nabla.data``, instead of failing to locate a file.
for _name, _module in list(_sys.modules.items()):
    if _name == data.__name__ or _name.startswith(data.__name__ + "."):
        _sys.modules[__name__ + _name[len("nabla"):]] = _module
del _name, _module
