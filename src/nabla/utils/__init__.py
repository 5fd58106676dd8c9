"""``nabla.utils.data`` is ``nabla.data``, so ``torch.utils.data`` imports port."""
from .. import data  # noqa: F401
