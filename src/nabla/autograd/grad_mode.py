"""Grad mode, forward-mode levels and anomaly mode: the engine's global switches.

Each switch is a context manager that also works as a decorator, as in PyTorch.
"""
from __future__ import annotations

import functools


class _State:
    """The switches ``Function.apply`` reads on every call (kept in one object
    so the hot path does a single attribute lookup each)."""

    grad_enabled: bool = True
    # forward-mode levels currently propagating tangents (innermost last)
    fw_levels: list = []
    # levels temporarily switched off while one level's jvp rules run
    fw_muted: set = set()
    anomaly: bool = False
    # True while the engine runs vjp rules and hooks (anomaly checks happen there)
    in_backward: bool = False
    # True while that backward is ``autograd.grad`` (gradients captured, no ``.grad`` written)
    capturing: bool = False
    # (device type, low-precision dtype) while ``nabla.autocast`` is on, else None
    autocast: tuple | None = None


STATE = _State()


class _DecoratorContext:
    """Base for context managers that can also decorate functions."""

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapped(*args, **kwargs):
            with self.__class__(*self._args):
                return fn(*args, **kwargs)

        return wrapped

    _args: tuple = ()


class set_grad_enabled(_DecoratorContext):
    """Turn recording of the graph on or off (``with set_grad_enabled(False):``)."""

    def __init__(self, mode: bool):
        self._args = (mode,)
        self._prev = STATE.grad_enabled
        STATE.grad_enabled = bool(mode)  # takes effect at once, as in PyTorch

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        STATE.grad_enabled = self._prev
        return False

    def __call__(self, fn):
        STATE.grad_enabled = self._prev  # used as a decorator: undo the eager switch
        return super().__call__(fn)


class _GradSwitch(_DecoratorContext):
    """Set grad mode to ``_mode`` inside the block, restore it after."""

    _mode: bool

    def __enter__(self):
        self._prev = STATE.grad_enabled
        STATE.grad_enabled = self._mode
        return self

    def __exit__(self, *exc):
        STATE.grad_enabled = self._prev
        return False


class no_grad(_GradSwitch):
    """Do not record operations: results need no gradient."""

    _mode = False


class enable_grad(_GradSwitch):
    """Record operations even inside ``no_grad``."""

    _mode = True


class inference_mode(_GradSwitch):
    """Like ``no_grad`` (nabla has no separate inference tensors)."""

    def __init__(self, mode: bool = True):
        self._args = (mode,)
        self._mode = not mode

    def __enter__(self):  # also recorded for nabla.is_inference_mode_enabled()
        self._prev_inference = getattr(STATE, "inference", False)
        STATE.inference = not self._mode
        return super().__enter__()

    def __exit__(self, *exc):
        STATE.inference = self._prev_inference
        return super().__exit__(*exc)


def is_grad_enabled() -> bool:
    return STATE.grad_enabled


class detect_anomaly(_DecoratorContext):
    """Raise at the first NaN/Inf produced in forward or backward, naming the op
    and the line of user code that created it."""

    def __init__(self, check_nan: bool = True):
        self._args = (check_nan,)
        self._mode = check_nan

    def __enter__(self):
        self._prev = STATE.anomaly
        STATE.anomaly = self._mode
        return self

    def __exit__(self, *exc):
        STATE.anomaly = self._prev
        return False


class set_detect_anomaly(detect_anomaly):
    pass


def is_anomaly_enabled() -> bool:
    return STATE.anomaly
