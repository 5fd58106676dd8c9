"""``skip_init``: build a module without running its weight initialisers."""
from __future__ import annotations

import contextlib
import inspect
import threading

from .. import init

_LOCK = threading.Lock()


@contextlib.contextmanager
def _initialisers_skipped():
    """``nabla.nn.init``'s in-place initialisers (``uniform_``, ``kaiming_uniform_``, ...)
    return their tensor untouched while this is active: layers initialise through them, so
    their parameters keep the memory ``empty`` gave them. Module construction in other
    threads sees the no-ops too, hence the lock around the swap."""
    names = [n for n, f in vars(init).items()
             if n.endswith("_") and not n.startswith("_") and inspect.isfunction(f)]
    with _LOCK:
        saved = {n: getattr(init, n) for n in names}
        try:
            for n in names:
                setattr(init, n, lambda tensor, *args, **kwargs: tensor)
            yield
        finally:
            for n, f in saved.items():
                setattr(init, n, f)


def skip_init(module_cls, *args, **kwargs):
    """``module_cls(*args, **kwargs)`` with its parameters left uninitialised (whatever
    ``empty`` holds) and the random stream untouched: for modules whose weights are about to
    be overwritten (loaded or initialised by hand), without paying for the default
    initialisation first. As in PyTorch, ``module_cls`` must accept a ``device`` argument.
    """
    if not isinstance(module_cls, type):
        raise TypeError(f"skip_init: expected a Module class, got {module_cls!r}")
    if "device" not in inspect.signature(module_cls).parameters:
        raise RuntimeError(f"skip_init: {module_cls.__name__} must accept a 'device' argument "
                           f"to skip its initialisation")
    with _initialisers_skipped():
        return module_cls(*args, **kwargs)


__all__ = ["skip_init"]
