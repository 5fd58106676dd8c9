"""nabla's CUDA kernel source, run on the host (see cuda_emu.h): the CPU suite executes the
kernels themselves, block reductions and shared-memory tiles included, on NumPy arrays.

``build(source)`` compiles the source with the C++ compiler together with one C wrapper
per kernel and type, and returns an :class:`Emulator`, whose ``launch`` checks each launch
against the kernel's parameter list (pointer dtypes, integer widths, scalar types, block
shape) before running it. Emulation checks what a kernel computes, not its speed: one OS
thread per CUDA thread, blocks one at a time.
"""
from __future__ import annotations

import ctypes
import hashlib
import os
import re
import shutil
import subprocess
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))

#: C types of kernel parameters -> (ctypes type, NumPy scalar type or dtype for pointers)
_SCALARS = {
    "int": (ctypes.c_int, np.int32),
    "long long": (ctypes.c_longlong, np.int64),
    "unsigned long long": (ctypes.c_ulonglong, np.uint64),
    "float": (ctypes.c_float, np.float32),
    "double": (ctypes.c_double, np.float64),
}
_POINTEES = {"unsigned char": np.uint8, "int": np.int32, "long long": np.int64,
             "float": np.float32, "double": np.float64}
_CTYPE = {np.dtype(np.float32): "float", np.dtype(np.float64): "double",
          np.dtype(np.float16): "__half"}


def signatures(source: str) -> dict:
    """kernel name -> its parameter types as written ("const T*", "long long", "T", ...)."""
    out = {}
    for name, params in re.findall(r"__global__ void (\w+)\(([^)]*)\)", source):
        out[name] = [" ".join(p.split()[:-1]).replace(" *", "*") for p in params.split(",")]
    return out


def _concrete(param: str, ctype: str) -> str:
    return re.sub(r"\bT\b", ctype, param)


class Emulator:
    def __init__(self, library: str, sigs: dict):
        self.lib = ctypes.CDLL(library)
        self.sigs = sigs

    def launch(self, name: str, dtype, grid, block, args) -> None:
        dtype = np.dtype(dtype)
        params = self.sigs[name]
        assert len(args) == len(params), f"{name}: {len(args)} arguments for {params}"
        converted = []
        for k, (a, p) in enumerate(zip(args, params)):
            where = f"{name}: argument {k} ({p})"
            if p.endswith("*"):
                base = p.rstrip("*").replace("const ", "").strip()
                if base == "T":
                    want = dtype
                elif base == "typename Acc<T>::type":  # the header's accumulator type
                    want = np.dtype(np.float32) if dtype == np.float16 else dtype
                else:
                    want = np.dtype(_POINTEES[base])
                assert isinstance(a, np.ndarray), f"{where}: got {type(a).__name__}"
                assert a.dtype == want, f"{where}: array of {a.dtype}, expected {want}"
                assert a.flags.c_contiguous, f"{where}: array is not C-contiguous"
                converted.append(ctypes.c_void_p(a.ctypes.data))
            elif p == "T":
                assert type(a) is dtype.type, f"{where}: got {type(a).__name__}"
                converted.append((ctypes.c_double if dtype == np.float64 else ctypes.c_float)(a))
            else:
                ct, npt = _SCALARS[p]
                assert type(a) is npt, f"{where}: got {type(a).__name__}, expected {npt}"
                converted.append(ct(a))
        grid, block = tuple(grid) + (1,) * (3 - len(grid)), tuple(block) + (1,) * (3 - len(block))
        threads = block[0] * block[1] * block[2]
        assert 0 < threads <= 1024 and threads % 32 == 0, f"{name}: block {block}"
        assert all(0 < g < 2 ** 31 for g in grid), f"{name}: grid {grid}"
        fn = getattr(self.lib, f"emu_{name}_{_CTYPE[dtype].strip('_')}")
        fn(*[ctypes.c_uint(v) for v in grid + block], *converted)


def compile_library(code: str, flags: list) -> str:
    """``code`` built by the host C++ compiler into a shared library (its path), cached by
    content and flags in a per-user temporary folder; skips the test without a compiler."""
    compiler = shutil.which("g++") or shutil.which("clang++")
    if compiler is None:
        import pytest
        pytest.skip("no C++ compiler for the kernels' host builds")
    key = hashlib.sha256((code + " ".join(flags)).encode()).hexdigest()[:16]
    folder = os.path.join(tempfile.gettempdir(), f"nabla-cuda-emu-{os.getuid()}")
    os.makedirs(folder, exist_ok=True)
    library = os.path.join(folder, f"{key}.so")
    if not os.path.exists(library):
        src = os.path.join(folder, f"{key}.cpp")
        with open(src, "w") as f:
            f.write(code)
        part = f"{library}.{os.getpid()}.tmp"
        done = subprocess.run([compiler, *flags, "-shared", "-fPIC", src, "-o", part],
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-4000:]
        os.replace(part, library)
    return library


def build(source: str, kernels: dict, prefix: str = "") -> Emulator:
    """Compile ``source`` (after ``prefix``) for the host, with a wrapper ``emu_NAME_TYPE``
    for every kernel name -> C types in ``kernels``; cached by content for the session."""
    sigs = signatures(source)
    wrappers = []
    for name, types in kernels.items():
        for ctype in types:
            params = [_concrete(p, "float" if ctype == "__half" and p == "T" else ctype)
                      for p in sigs[name]]
            decl = ", ".join(f"{p} a{k}" for k, p in enumerate(params))
            call = ", ".join(f"a{k}" for k in range(len(params)))
            wrappers.append(
                f'extern "C" void emu_{name}_{ctype.strip("_")}(unsigned gx, unsigned gy, '
                f"unsigned gz, unsigned bx, unsigned by, unsigned bz, {decl}) {{\n"
                f"    nb_emu_launch(&{name}<{ctype}>, dim3(gx, gy, gz), dim3(bx, by, bz), "
                f"{call});\n}}\n")
    with open(os.path.join(HERE, "cuda_emu.h")) as f:
        header = f.read()
    code = ("#define NB_EMU 1\n" + header + "\n" + prefix + source + "\n"
            + "".join(wrappers))
    return Emulator(compile_library(code, ["-std=c++20", "-O1", "-pthread", "-w"]), sigs)
