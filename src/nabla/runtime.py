"""Process-wide settings with PyTorch's names: threads, printing, determinism, the
default device, warnings and anomaly mode.

Everything here is a switch other modules read; nothing here computes on tensors.
The CPU thread count lives in ``backend`` (its elementwise pool reads it on every
call); this module is where the user-facing names and their documentation live.
"""
from __future__ import annotations

import math

from . import backend
from .autograd.grad_mode import STATE
from .backend import get_num_threads, set_num_threads  # noqa: F401  (re-exported)

__all__ = [
    "set_num_threads", "get_num_threads", "set_num_interop_threads", "get_num_interop_threads",
    "set_printoptions", "get_printoptions",
    "use_deterministic_algorithms", "are_deterministic_algorithms_enabled",
    "is_deterministic_algorithms_warn_only_enabled", "set_deterministic_debug_mode",
    "get_deterministic_debug_mode", "set_default_device", "get_default_device", "seed",
    "default_generator", "is_inference_mode_enabled", "is_anomaly_enabled",
    "is_anomaly_check_nan_enabled", "set_anomaly_enabled", "is_warn_always_enabled",
    "set_warn_always", "e", "pi", "inf", "nan", "newaxis",
]

# -- constants (torch.e, torch.pi, ...) -------------------------------------------------------
e = math.e
pi = math.pi
inf = math.inf
nan = math.nan
newaxis = None

default_generator = backend.default_generator


def seed() -> int:
    """Seed the default generator from fresh OS entropy; returns the seed it used."""
    return default_generator.seed()


# -- threads ----------------------------------------------------------------------------------
# nabla has no inter-op pool: ops run one after another on the calling thread. The value is
# recorded so code written for PyTorch (which sets it once at start-up) runs unchanged.
_interop_threads = max(1, len(backend._os.sched_getaffinity(0))
                       if hasattr(backend._os, "sched_getaffinity") else (backend._os.cpu_count() or 1))


def set_num_interop_threads(n: int) -> None:
    """Record the number of inter-op threads. nabla runs ops one at a time on the calling
    thread, so the value changes nothing; it exists for programs written for PyTorch."""
    global _interop_threads
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"set_num_interop_threads: expected a positive int, got {n!r}")
    _interop_threads = n


def get_num_interop_threads() -> int:
    """The value last given to ``set_num_interop_threads`` (the CPU count by default)."""
    return _interop_threads


# -- printing ---------------------------------------------------------------------------------
_PROFILES = {
    "default": dict(precision=4, threshold=1000, edgeitems=3, linewidth=80),
    "short": dict(precision=2, threshold=1000, edgeitems=2, linewidth=80),
    "full": dict(precision=4, threshold=math.inf, edgeitems=3, linewidth=80),
}
#: What ``Tensor.__repr__`` reads. sci_mode None lets the printer choose per tensor.
PRINT_OPTIONS: dict = dict(_PROFILES["default"], sci_mode=None)


def set_printoptions(precision: int | None = None, threshold: float | None = None,
                     edgeitems: int | None = None, linewidth: int | None = None,
                     profile: str | None = None, sci_mode: bool | None = None) -> None:
    """How tensors print: ``precision`` (digits after the point), ``threshold`` (elements
    beyond which the middle is summarised as ``...``), ``edgeitems`` (elements kept at each
    end when summarising), ``linewidth``, ``profile`` ("default", "short" or "full": sets the
    first four before the others apply) and ``sci_mode`` (True: always scientific notation,
    False: never, None: the printer chooses). As in PyTorch, ``sci_mode`` is set on every call."""
    if profile is not None:
        if profile not in _PROFILES:
            raise ValueError(f"set_printoptions: unknown profile {profile!r}; expected one of "
                             f"{sorted(_PROFILES)}")
        PRINT_OPTIONS.update(_PROFILES[profile])
    for name, value in (("precision", precision), ("threshold", threshold),
                        ("edgeitems", edgeitems), ("linewidth", linewidth)):
        if value is not None:
            if value < 0:
                raise ValueError(f"set_printoptions: {name} must be non-negative, got {value}")
            PRINT_OPTIONS[name] = value
    PRINT_OPTIONS["sci_mode"] = sci_mode


def get_printoptions() -> dict:
    """A copy of the current print options."""
    return dict(PRINT_OPTIONS)


# -- determinism ------------------------------------------------------------------------------
# nabla's CPU ops are deterministic: NumPy and BLAS give the same bits for the same inputs
# and thread count (changing the thread count may change reduction order in BLAS). On GPUs,
# CuPy's atomics-based scatter-adds may not be; nabla has no deterministic alternatives to
# switch to, so the flag is recorded for code that reads it and changes no kernel.
_deterministic = False
_warn_only = False
_DEBUG_MODES = {"default": 0, "warn": 1, "error": 2}


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """Ask for deterministic algorithms. nabla's CPU ops already are; the flag is
    recorded (``are_deterministic_algorithms_enabled``) and selects no other kernel."""
    global _deterministic, _warn_only
    if not isinstance(mode, bool):
        raise TypeError(f"use_deterministic_algorithms: expected a bool, got {type(mode).__name__}")
    _deterministic, _warn_only = mode, bool(warn_only)


def are_deterministic_algorithms_enabled() -> bool:
    return _deterministic


def is_deterministic_algorithms_warn_only_enabled() -> bool:
    return _warn_only


def set_deterministic_debug_mode(debug_mode) -> None:
    """0 / "default": off; 1 / "warn": on, warn only; 2 / "error": on."""
    if isinstance(debug_mode, str):
        if debug_mode not in _DEBUG_MODES:
            raise RuntimeError(f"set_deterministic_debug_mode: invalid mode {debug_mode!r}; "
                               f"expected one of {list(_DEBUG_MODES)} or 0, 1, 2")
        debug_mode = _DEBUG_MODES[debug_mode]
    if debug_mode not in (0, 1, 2) or isinstance(debug_mode, bool):
        raise RuntimeError(f"set_deterministic_debug_mode: invalid mode {debug_mode!r}; "
                           f"expected 0, 1 or 2 (or 'default', 'warn', 'error')")
    use_deterministic_algorithms(debug_mode != 0, warn_only=debug_mode == 1)


def get_deterministic_debug_mode() -> int:
    if not _deterministic:
        return 0
    return 1 if _warn_only else 2


# -- default device ---------------------------------------------------------------------------
#: The device creation functions use when given none (read by ``ops/creation.py``).
default_device: backend.Device = backend.CPU


def set_default_device(device) -> None:
    """The device tensors are created on when a creation function is given none
    (``None`` restores the CPU). Data converted from existing arrays keeps its own."""
    global default_device
    default_device = backend.CPU if device is None else backend.device(device)


def get_default_device() -> backend.Device:
    return default_device


# -- modes ------------------------------------------------------------------------------------
def is_inference_mode_enabled() -> bool:
    """Whether code runs inside ``nabla.inference_mode()`` (which acts like ``no_grad``)."""
    return getattr(STATE, "inference", False)


def is_anomaly_enabled() -> bool:
    return STATE.anomaly


def is_anomaly_check_nan_enabled() -> bool:
    """nabla's anomaly mode always checks for NaN/Inf when on."""
    return STATE.anomaly


def set_anomaly_enabled(enabled: bool, check_nan: bool = True) -> None:
    """Switch anomaly mode (what ``detect_anomaly`` does for a block) on or off for good.
    nabla's anomaly mode is its NaN/Inf check, so ``check_nan`` is accepted and ignored."""
    STATE.anomaly = bool(enabled)


_warn_always = False


def set_warn_always(b: bool) -> None:
    """Record whether warnings meant to fire once should fire every time (nabla's own
    warnings go through Python's ``warnings`` filters, which decide)."""
    global _warn_always
    _warn_always = bool(b)


def is_warn_always_enabled() -> bool:
    return _warn_always
