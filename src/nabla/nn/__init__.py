"""Neural-network building blocks (layers arrive with the training issue)."""
from . import functional

__all__ = ["functional"]
