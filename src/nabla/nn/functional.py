"""Stateless layer functions, where PyTorch puts them (``import nabla.nn.functional as F``)."""
from ._functional_more import *  # noqa: F401,F403
from ..ops.activation import *  # noqa: F401,F403
from ..ops.attention import *  # noqa: F401,F403
from ..ops.conv import *  # noqa: F401,F403
from ..ops.distance import *  # noqa: F401,F403
from ..ops.dropout import *  # noqa: F401,F403
from ..ops.elementwise import sigmoid, tanh  # noqa: F401
from ..ops.index import one_hot  # noqa: F401
from ..ops.linear import *  # noqa: F401,F403
from ..ops.loss import *  # noqa: F401,F403
from ..ops.normalization import *  # noqa: F401,F403
from ..ops.pool import *  # noqa: F401,F403
from ..ops.sampling import *  # noqa: F401,F403
from ..ops.shape import pad  # noqa: F401
from ..ops.softmax import *  # noqa: F401,F403
