"""Utilities for modules: gradient clipping, ..."""
from .clip_grad import *  # noqa: F401,F403
