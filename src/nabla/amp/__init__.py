"""Mixed precision: ``autocast`` (op lists) and ``GradScaler`` (dynamic loss scaling)."""
from .autocast_mode import (autocast, get_autocast_dtype, is_autocast_enabled,
                            low_precision_dtype)
from .grad_scaler import GradScaler

__all__ = ["autocast", "GradScaler", "is_autocast_enabled", "get_autocast_dtype",
           "low_precision_dtype"]
