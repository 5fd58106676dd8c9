"""Choosing OpenBLAS's CPU kernels before NumPy loads it.

NumPy's OpenBLAS picks its matrix-multiply kernels by CPU model when it loads.
On AMD CPUs with AVX-512 (Zen 4 and later) it can fall back to its AVX2
("Haswell") kernels, although the AVX-512 ("SkylakeX") ones run there and
measured 1.3-1.9x faster on this project's machines (a 1024x2048x256 float32
GEMM: 116-147 vs 193-230 GFLOP/s) -- and PyTorch, on oneDNN, does use AVX-512.
The choice is read from ``OPENBLAS_CORETYPE`` once, when NumPy is first
imported, so nabla can only make it when it is imported before NumPy (as the
``nabla`` command is). Set ``OPENBLAS_CORETYPE`` yourself to choose, or
``NABLA_BLAS_TUNING=0`` to leave OpenBLAS's own choice alone.
"""
from __future__ import annotations

import os
import sys

_AVX512 = {"avx512f", "avx512bw", "avx512dq", "avx512vl"}


def choose_coretype(cpuinfo: str, environ, numpy_loaded: bool) -> str | None:
    """The OpenBLAS core type to ask for, or None to leave the choice to OpenBLAS."""
    if numpy_loaded or environ.get("OPENBLAS_CORETYPE") or \
            environ.get("NABLA_BLAS_TUNING") == "0":
        return None
    vendor, flags = "", set()
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "vendor_id" and not vendor:
            vendor = value.strip()
        elif key == "flags" and not flags:
            flags = set(value.split())
    # Intel CPUs with AVX-512 are recognised by OpenBLAS (and may have better kernels)
    if vendor == "AuthenticAMD" and _AVX512 <= flags:
        return "SkylakeX"
    return None


def tune() -> str | None:
    """Set ``OPENBLAS_CORETYPE`` for this process if it helps; the core type set, or None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            cpuinfo = f.read()
    except OSError:
        return None
    coretype = choose_coretype(cpuinfo, os.environ, "numpy" in sys.modules)
    if coretype is not None:
        os.environ["OPENBLAS_CORETYPE"] = coretype
    return coretype
