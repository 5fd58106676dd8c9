"""Old names ``torch.nn.utils`` still answers to, with a ``FutureWarning``:
``clip_grad_norm`` (now ``clip_grad_norm_``)."""
from __future__ import annotations

import warnings

from .clip_grad import clip_grad_norm_


def clip_grad_norm(parameters, max_norm: float, norm_type: float = 2.0,
                   error_if_nonfinite: bool = False, foreach: bool | None = None):
    """``clip_grad_norm_`` under its deprecated name (warns)."""
    warnings.warn("nn.utils.clip_grad_norm is deprecated in favor of nn.utils.clip_grad_norm_",
                  FutureWarning, stacklevel=2)
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


__all__ = ["clip_grad_norm"]
