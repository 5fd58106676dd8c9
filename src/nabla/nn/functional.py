"""Stateless layer functions, where PyTorch puts them (``import nabla.nn.functional as F``)."""
from ..ops.activation import *  # noqa: F401,F403
from ..ops.elementwise import sigmoid, tanh  # noqa: F401
from ..ops.index import *  # noqa: F401,F403
from ..ops.loss import *  # noqa: F401,F403
from ..ops.shape import *  # noqa: F401,F403
from ..ops.softmax import *  # noqa: F401,F403
