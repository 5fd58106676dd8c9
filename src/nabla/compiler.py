"""``nabla.compile`` and ``nabla.compiler``: no-ops, so scripts written for ``torch.compile`` run.

nabla has no compiler: every op runs eagerly as it is called. ``nabla.compile(model)``
returns ``model`` itself (PyTorch returns a wrapper that compiles on first call), and
``Module.compile()`` changes nothing; outputs are exactly the eager ones. The arguments
PyTorch takes are accepted and, apart from PyTorch's own argument checks, ignored.
"""
from __future__ import annotations

__all__ = ["compile", "disable", "is_compiling", "is_dynamo_compiling", "reset"]


def compile(model=None, *, fullgraph: bool = False, dynamic: bool | None = None,
            backend="inductor", mode: str | None = None, options: dict | None = None,
            disable: bool = False):
    """Return ``model`` (a function or a Module) unchanged: nabla runs eagerly.

    Called without ``model`` it returns a decorator, as ``@torch.compile(mode=...)``.
    """
    if mode is not None and options is not None:
        raise RuntimeError("compile: either mode or options can be given, not both")
    if model is None:
        def decorate(fn):
            return compile(fn, fullgraph=fullgraph, dynamic=dynamic, backend=backend,
                           mode=mode, options=options, disable=disable)
        return decorate
    if not callable(model):
        raise TypeError(f"compile: model must be callable, got {type(model).__name__}")
    return model


def disable(fn=None, recursive: bool = True, *, reason: str | None = None):
    """Mark ``fn`` as not to be compiled: it is returned unchanged (a decorator without ``fn``)."""
    if fn is None:
        return lambda f: f
    return fn


def is_compiling() -> bool:
    """False: nabla never traces or compiles code."""
    return False


def is_dynamo_compiling() -> bool:
    return False


def reset() -> None:
    """Nothing to clear: nabla keeps no compiled code."""
