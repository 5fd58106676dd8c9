"""``GradScaler``: dynamic loss scaling for float16 training, as ``torch.amp.GradScaler``.

float16 gradients underflow below about 6e-8. The scaler multiplies the loss by a
large factor ``S`` before ``backward`` so that small gradients stay representable,
then divides the gradients by ``S`` before the optimizer uses them. If any gradient
came out inf or NaN, ``S`` was too large: that step is skipped and ``S`` shrinks by
``backoff_factor``; after ``growth_interval`` clean steps in a row it grows by
``growth_factor``::

    scaler = nabla.amp.GradScaler()
    for x, y in loader:
        optimizer.zero_grad()
        with nabla.autocast("cuda"):
            loss = loss_fn(model(x), y)
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)           # optional: to clip the true gradients
        nabla.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        scaler.step(optimizer)               # skipped when a gradient is not finite
        scaler.update()
"""
from __future__ import annotations

import warnings

from .. import backend

_READY, _UNSCALED, _STEPPED = "ready", "unscaled", "stepped"


class GradScaler:
    """Dynamic loss scaling (see the module docstring). ``enabled=False`` makes every
    method a pass-through, so one training loop serves both precisions."""

    def __init__(self, device: str = "cuda", init_scale: float = 2.0 ** 16,
                 growth_factor: float = 2.0, backoff_factor: float = 0.5,
                 growth_interval: int = 2000, enabled: bool = True):
        kind = backend.Device(device).type
        if enabled and kind == "cuda" and not backend.cuda_is_available():
            warnings.warn("GradScaler is enabled for 'cuda', but CUDA is not available "
                          "(no CuPy or no GPU); disabling it", stacklevel=2)
            enabled = False
        if growth_factor <= 1.0:
            raise ValueError(f"GradScaler: growth_factor must be > 1, got {growth_factor}")
        if not 0.0 < backoff_factor < 1.0:
            raise ValueError(f"GradScaler: backoff_factor must be in (0, 1), got "
                             f"{backoff_factor}")
        if int(growth_interval) <= 0:
            raise ValueError(f"GradScaler: growth_interval must be a positive int, got "
                             f"{growth_interval}")
        self.device = kind
        self._enabled = bool(enabled)
        self._scale = float(init_scale)
        self._growth_factor = float(growth_factor)
        self._backoff_factor = float(backoff_factor)
        self._growth_interval = int(growth_interval)
        self._growth_tracker = 0
        self._per_optimizer: dict = {}   # id(optimizer) -> {"stage", "found_inf"}

    # -- the four calls of a training step ----------------------------------------------
    def scale(self, outputs):
        """``outputs`` (a Tensor, or nested lists/tuples of them) times the scale."""
        if not self._enabled:
            return outputs
        if isinstance(outputs, (list, tuple)):
            return type(outputs)(self.scale(o) for o in outputs)
        return outputs * self._scale

    def unscale_(self, optimizer) -> None:
        """Divide ``optimizer``'s gradients by the scale, in place, and record whether
        any is inf or NaN. At most once per optimizer between ``update`` calls."""
        if not self._enabled:
            return
        state = self._state(optimizer)
        if state["stage"] == _UNSCALED:
            raise RuntimeError("GradScaler.unscale_() has already been called on this "
                               "optimizer since the last update()")
        if state["stage"] == _STEPPED:
            raise RuntimeError("GradScaler.unscale_() is being called after step(); call "
                               "it before step(), once per update()")
        inv_scale = 1.0 / self._scale
        finite = []
        for group in optimizer.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad.array
                if g.dtype == backend.float16:
                    raise ValueError(f"GradScaler: a parameter of shape {tuple(p.shape)} has "
                                     f"a float16 gradient; keep parameters in float32 (autocast "
                                     f"casts them for the ops that run in float16)")
                xp = backend.get_array_module(g)
                xp.multiply(g, g.dtype.type(inv_scale), out=g)
                finite.append(xp.isfinite(g).all())
        # one device-to-host sync for all the flags
        state["found_inf"] = bool(finite) and not bool(
            backend.get_array_module(finite[0]).stack(finite).all())
        state["stage"] = _UNSCALED

    def step(self, optimizer, *args, **kwargs):
        """Unscale (if ``unscale_`` was not called) and step ``optimizer``, unless a
        gradient was inf or NaN; returns what ``optimizer.step`` returned, or None."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("GradScaler.step: closures are not supported while the "
                               "scaler is enabled")
        state = self._state(optimizer)
        if state["stage"] == _STEPPED:
            raise RuntimeError("GradScaler.step() has already been called since the last "
                               "update()")
        if state["stage"] == _READY:
            self.unscale_(optimizer)
        result = None if state["found_inf"] else optimizer.step(*args, **kwargs)
        state["stage"] = _STEPPED
        return result

    def update(self, new_scale=None) -> None:
        """Set the scale for the next iteration: back off after a step with inf/NaN
        gradients, grow after ``growth_interval`` clean steps, or ``new_scale``."""
        if not self._enabled:
            return
        if new_scale is not None:
            value = new_scale.item() if hasattr(new_scale, "item") else new_scale
            self._scale = float(value)
        else:
            if not self._per_optimizer:
                raise RuntimeError("GradScaler.update: no optimizer was stepped or unscaled "
                                   "through this scaler since the last update()")
            if any(s["found_inf"] for s in self._per_optimizer.values()):
                self._scale *= self._backoff_factor
                self._growth_tracker = 0
            else:
                self._growth_tracker += 1
                if self._growth_tracker == self._growth_interval:
                    grown = self._scale * self._growth_factor
                    if grown != float("inf"):
                        self._scale = grown
                    self._growth_tracker = 0
        # the scale lives in float32, as PyTorch's scale tensor does
        self._scale = float(backend.float32.type(self._scale))
        self._per_optimizer = {}

    # -- inspection and settings --------------------------------------------------------
    def _state(self, optimizer) -> dict:
        return self._per_optimizer.setdefault(id(optimizer),
                                              {"stage": _READY, "found_inf": False})

    def is_enabled(self) -> bool:
        return self._enabled

    def get_scale(self) -> float:
        """The current scale (1.0 when disabled)."""
        return self._scale if self._enabled else 1.0

    def get_growth_factor(self) -> float:
        return self._growth_factor

    def set_growth_factor(self, value: float) -> None:
        self._growth_factor = float(value)

    def get_backoff_factor(self) -> float:
        return self._backoff_factor

    def set_backoff_factor(self, value: float) -> None:
        self._backoff_factor = float(value)

    def get_growth_interval(self) -> int:
        return self._growth_interval

    def set_growth_interval(self, value: int) -> None:
        self._growth_interval = int(value)

    def state_dict(self) -> dict:
        """Plain values (no tensors): the scale, the factors and the growth tracker; empty
        when disabled, as in PyTorch."""
        if not self._enabled:
            return {}
        return {"scale": self._scale, "growth_factor": self._growth_factor,
                "backoff_factor": self._backoff_factor,
                "growth_interval": self._growth_interval,
                "_growth_tracker": self._growth_tracker}

    def load_state_dict(self, state_dict: dict) -> None:
        if not self._enabled:
            raise RuntimeError("GradScaler.load_state_dict: the scaler is not enabled")
        if not state_dict:
            raise RuntimeError("GradScaler.load_state_dict: the state dict is empty (was it "
                               "saved from a disabled GradScaler?)")
        missing = {"scale", "growth_factor", "backoff_factor", "growth_interval",
                   "_growth_tracker"} - set(state_dict)
        if missing:
            raise KeyError(f"GradScaler.load_state_dict: missing {', '.join(sorted(missing))}")
        value = state_dict["scale"]
        self._scale = float(value.item() if hasattr(value, "item") else value)
        self._growth_factor = float(state_dict["growth_factor"])
        self._backoff_factor = float(state_dict["backoff_factor"])
        self._growth_interval = int(state_dict["growth_interval"])
        tracker = state_dict["_growth_tracker"]
        self._growth_tracker = int(tracker.item() if hasattr(tracker, "item") else tracker)
