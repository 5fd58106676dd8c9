"""The op library: one file per family; each op is a Function plus a wrapper.

Each family lists its public functions in ``__all__`` (re-exported here and by
``nabla``) and the Tensor methods it provides in ``TENSOR_METHODS``
(installed on ``Tensor`` below).
"""
from ..tensor import Tensor
from . import convert, creation, elementwise, index, linalg, random, reduction, shape
from .convert import *  # noqa: F401,F403
from .creation import *  # noqa: F401,F403
from .elementwise import *  # noqa: F401,F403
from .index import *  # noqa: F401,F403
from .linalg import *  # noqa: F401,F403
from .random import *  # noqa: F401,F403
from .reduction import *  # noqa: F401,F403
from .shape import *  # noqa: F401,F403

FAMILIES = (convert, creation, elementwise, index, linalg, random, reduction, shape)

for _family in FAMILIES:
    for _name, _method in _family.TENSOR_METHODS.items():
        setattr(Tensor, _name, _method)
