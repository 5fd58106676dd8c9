"""Utilities for modules: gradient clipping, ..."""
from . import rnn  # noqa: F401  (nn.utils.rnn, as in PyTorch)
from .clip_grad import *  # noqa: F401,F403
