"""The op library: one file per family; each op is a Function plus a wrapper.

Each family lists its public functions in ``__all__`` (re-exported here and by
``nabla``, except the losses and attention, which live in ``nabla.nn.functional``
as in PyTorch) and the Tensor methods it provides in ``TENSOR_METHODS`` (installed
on ``Tensor`` below).
"""
from ..tensor import Tensor
from . import (activation, attention, complex, conv, convert, counting, creation, distance,
               dropout, elementwise, index, linalg, linear, loss, normalization, pool, random,
               recurrent, reduction, shape, softmax, sorting, tensor_extras)

# named before the star imports below rebind names like `softmax` (and `complex`) to functions
FAMILIES = (activation, attention, complex, conv, convert, counting, creation, distance,
            dropout, elementwise, index, linalg, linear, loss, normalization, pool, random,
            recurrent, reduction, shape, softmax, sorting, tensor_extras)

from .activation import *  # noqa: F401,F403
from .complex import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .convert import *  # noqa: F401,F403
from .counting import *  # noqa: F401,F403
from .creation import *  # noqa: F401,F403
from .distance import *  # noqa: F401,F403
from .dropout import *  # noqa: F401,F403
from .elementwise import *  # noqa: F401,F403
from .index import *  # noqa: F401,F403
from .linalg import *  # noqa: F401,F403
from .linear import *  # noqa: F401,F403
from .normalization import *  # noqa: F401,F403
from .pool import *  # noqa: F401,F403
from .random import *  # noqa: F401,F403
from .recurrent import *  # noqa: F401,F403
from .reduction import *  # noqa: F401,F403
from .shape import *  # noqa: F401,F403
from .softmax import *  # noqa: F401,F403
from .sorting import *  # noqa: F401,F403
from .tensor_extras import *  # noqa: F401,F403

_FUNCTIONAL_ONLY = (attention, loss)
__all__ = sorted({name for family in FAMILIES if family not in _FUNCTIONAL_ONLY
                  for name in family.__all__})

for _family in FAMILIES:
    for _name, _method in _family.TENSOR_METHODS.items():
        setattr(Tensor, _name, _method)
