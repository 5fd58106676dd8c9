"""Automatic differentiation: reverse mode, forward mode, checks and switches."""
from . import forward_ad, function, functional
from .api import backward, grad
from .function import Function
from .gradcheck import gradcheck, gradgradcheck
from .grad_mode import (detect_anomaly, enable_grad, inference_mode, is_anomaly_enabled,
                        is_grad_enabled, no_grad, set_detect_anomaly, set_grad_enabled)

__all__ = ["Function", "function", "backward", "grad", "forward_ad", "functional", "gradcheck",
           "gradgradcheck", "detect_anomaly", "set_detect_anomaly", "no_grad", "enable_grad",
           "set_grad_enabled", "inference_mode", "is_grad_enabled", "is_anomaly_enabled"]
