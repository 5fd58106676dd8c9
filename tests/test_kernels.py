"""The fused CUDA kernels of ``nabla.kernels``.

Four layers, each skipped where its tool is missing:
- the whole source builds with ``nvcc`` for Hopper (sm_90), every kernel in float and
  double (no GPU needed);
- the per-element math (GELU, SiLU, the Adam step), compiled on the host by the C++
  compiler from the same source, matches nabla's CPU ops and optimizers;
- the kernels themselves, built for the host with the CUDA emulator of ``cuda_emu.h``,
  run behind the ops' real Python glue on NumPy arrays and match the CPU path, every
  launch checked against the kernel's parameter list;
- on a CUDA GPU, every kernel matches the composed CuPy ops (the switch
  ``nabla.backends.cuda.fused_kernels`` off) on fresh random inputs, forward and backward.
"""
from __future__ import annotations

import ctypes
import re
import shutil
import subprocess

import numpy as np
import pytest

import nabla as nb
import nabla.nn.functional as F
from nabla import kernels
from nabla.kernels import _build
from nabla.backends import cuda as cuda_switches
from tests import cuda_emu
from tests.kernel_harness import both, gpu, record_launches, values_and_grads



# -- the source builds for the GPU ------------------------------------------------------------
@pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc is not installed")
@pytest.mark.parametrize("half", [False, True])
def test_source_builds_with_nvcc(tmp_path, half):
    if half:  # the float16 module: the elementwise kernels in __half
        names, types, prefix = kernels.HALF_KERNELS, ["__half"], _build.HALF_PREFIX
    else:
        names, types, prefix = kernels.KERNELS, ["float", "double"], ""
    taken = ", ".join(f"(void*)&{k}<{t}>" for k in names for t in types)
    source = tmp_path / "kernels.cu"
    source.write_text(prefix + kernels.SOURCE + f"\nvoid nb_instantiate() {{ void* k[] = "
                                                f"{{{taken}}}; (void)k; }}\n")
    done = subprocess.run(["nvcc", "-std=c++14", "-arch=sm_90", "-ptx", str(source), "-o",
                           str(tmp_path / "kernels.ptx")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    entries = re.findall(r"\.entry\s+(\S+)\(", (tmp_path / "kernels.ptx").read_text())
    codes = ["6__half"] if half else ["f", "d"]  # Itanium mangling: _Z<len><name>I<type>E...
    for k in names:
        for c in codes:
            assert any(e.startswith(f"_Z{len(k)}{k}I{c}E") for e in entries), (k, c, entries)


# -- the per-element math on the host -----------------------------------------------------------
_HARNESS = r"""
#define NB_LOOP(name, T, body) \
    extern "C" void name(const T* x, const T* aux, T* out, T* out2, long n) { \
        for (long i = 0; i < n; ++i) { body; } }
#define NB_ALL(T, s) \
    NB_LOOP(gelu_tanh_##s, T, gelu_tanh_elem(x[i], &out[i], &out2[i])) \
    NB_LOOP(gelu_tanh_grad_##s, T, out[i] = gelu_tanh_grad_elem(x[i], aux[i])) \
    NB_LOOP(gelu_erf_##s, T, out[i] = gelu_erf_elem(x[i])) \
    NB_LOOP(gelu_erf_grad_##s, T, out[i] = gelu_erf_grad_elem(x[i])) \
    NB_LOOP(silu_##s, T, out[i] = silu_elem(x[i])) \
    NB_LOOP(silu_grad_##s, T, out[i] = silu_grad_elem(x[i])) \
    extern "C" void adam_##s(T* p, const T* g, T* m, T* v, T* vmax, long n, double lr, \
                             double wd, double b1, double b2, double eps, double step_size, \
                             double bc2, int flags) { \
        for (long i = 0; i < n; ++i) \
            adam_elem(&p[i], g[i], &m[i], &v[i], &vmax[i], T(lr), T(wd), T(b1), T(b2), \
                      T(eps), T(step_size), T(bc2), flags); }
NB_ALL(float, f32)
NB_ALL(double, f64)
"""


@pytest.fixture(scope="module")
def host():
    # no -ffast-math: the GPU build keeps IEEE semantics too
    return ctypes.CDLL(cuda_emu.compile_library(kernels.SOURCE + _HARNESS, ["-O2"]))


def _call(lib, name, x, aux=None):
    x = np.ascontiguousarray(x)
    suffix = "f32" if x.dtype == np.float32 else "f64"
    out, out2 = np.empty_like(x), np.empty_like(x)
    aux = x if aux is None else np.ascontiguousarray(aux, dtype=x.dtype)
    ptr = [a.ctypes.data_as(ctypes.c_void_p) for a in (x, aux, out, out2)]
    getattr(lib, f"{name}_{suffix}")(*ptr, ctypes.c_long(x.size))
    return out, out2


def _grad(fn, x):
    t = nb.tensor(x, requires_grad=True)
    fn(t).sum().backward()
    return t.grad.numpy()


ACTIVATIONS = {
    "gelu_tanh": lambda t: F.gelu(t, approximate="tanh"),
    "gelu_erf": lambda t: F.gelu(t),
    "silu": F.silu,
}


@pytest.mark.parametrize("name", list(ACTIVATIONS))
@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-13), (np.float32, 2e-6)])
def test_activation_math_matches_cpu_ops(host, name, dtype, rtol):
    x = np.random.default_rng().standard_normal(4096) * 4  # fresh each run; |x| up to ~15
    x = np.concatenate([x, [0.0, -30.0, 30.0, -1e-3, 1e-3]]).astype(dtype)
    fn = ACTIVATIONS[name]
    y, t = _call(host, name, x)
    np.testing.assert_allclose(y, fn(nb.tensor(x)).numpy(), rtol=rtol, atol=rtol)
    d = _call(host, f"{name}_grad", x, aux=t if name == "gelu_tanh" else None)[0]
    np.testing.assert_allclose(d, _grad(fn, x), rtol=rtol, atol=rtol)


ADAM_CASES = [
    ("Adam", {}),
    ("Adam", {"weight_decay": 0.1}),
    ("Adam", {"amsgrad": True, "maximize": True}),
    ("AdamW", {"weight_decay": 0.05}),
    ("AdamW", {"betas": (0.3, 0.9), "amsgrad": True}),  # beta1 < 0.5: lerp's other branch
]


@pytest.mark.parametrize("name, options", ADAM_CASES)
@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-12), (np.float32, 1e-5)])
def test_adam_step_math_matches_optimizer(host, name, options, dtype, rtol):
    rng = np.random.default_rng()
    p0 = rng.standard_normal(1000).astype(dtype)
    grads = [rng.standard_normal(1000).astype(dtype) for _ in range(4)]
    param = nb.nn.Parameter(nb.tensor(p0.copy()))
    opt = getattr(nb.optim, name)([param], lr=0.01, **options)
    group = opt.param_groups[0]
    p, m, v, vmax = p0.copy(), np.zeros_like(p0), np.zeros_like(p0), np.zeros_like(p0)
    flags = (int(group["maximize"]) | 2 * int(group["decoupled_weight_decay"])
             | 4 * int(group["amsgrad"]))
    beta1, beta2 = group["betas"]
    fn = getattr(host, "adam_f32" if dtype == np.float32 else "adam_f64")
    for step, g in enumerate(grads, start=1):
        param.grad = nb.tensor(g)
        opt.step()
        fn(*[a.ctypes.data_as(ctypes.c_void_p) for a in (p, g, m, v, vmax)],
           ctypes.c_long(p.size), *[ctypes.c_double(c) for c in (
               group["lr"], group["weight_decay"], beta1, beta2, group["eps"],
               group["lr"] / (1 - beta1 ** step), (1 - beta2 ** step) ** 0.5)],
           ctypes.c_int(flags))
        np.testing.assert_allclose(p, param.detach().numpy(), rtol=rtol, atol=rtol * 0.1,
                                   err_msg=f"{name} {options}: step {step}")
    state = opt.state[param]
    np.testing.assert_allclose(m, state["exp_avg"].numpy(), rtol=rtol, atol=rtol * 0.1)
    np.testing.assert_allclose(v, state["exp_avg_sq"].numpy(), rtol=rtol, atol=rtol * 0.1)


# -- on a GPU: each kernel against the composed CuPy ops --------------------------------------


GPU_CASES = {
    "gelu_tanh": (lambda x: F.gelu(x, approximate="tanh"), [(16, 128, 1024)]),
    "gelu_erf": (F.gelu, [(4096, 512)]),
    "silu": (F.silu, [(4096, 512)]),
    "softmax": (lambda x: F.softmax(x, dim=-1), [(64, 4, 128, 128)]),
    "softmax_long_rows": (lambda x: F.softmax(x, dim=-1), [(8, 50257)]),
    "log_softmax": (lambda x: F.log_softmax(x, dim=-1), [(2048, 96)]),
    "cross_entropy": (lambda x: F.cross_entropy(
        x, nb.tensor(np.arange(512) * 97 % 50257, device="cuda")), [(512, 50257)]),
    "layer_norm": (lambda x, w, b: F.layer_norm(x, (768,), w, b), [(8, 256, 768), (768,),
                                                                     (768,)]),
    "layer_norm_odd": (lambda x, w, b: F.layer_norm(x, (33,), w, b), [(100, 33), (33,),
                                                                       (33,)]),
}


@gpu
@pytest.mark.parametrize("case", list(GPU_CASES))
@pytest.mark.parametrize("dtype, rtol", [(np.float32, 1e-4), (np.float64, 1e-10)])
def test_kernel_matches_composed_ops_on_gpu(case, dtype, rtol):
    fn, shapes = GPU_CASES[case]
    rng = np.random.default_rng()  # fresh inputs every run
    arrays = [(rng.standard_normal(s) * 3).astype(dtype) for s in shapes]
    (y, grads), (y_ref, grads_ref) = both(fn, arrays)
    scale = np.abs(y_ref).max()
    np.testing.assert_allclose(y, y_ref, rtol=rtol, atol=rtol * scale, err_msg=f"{case} value")
    for k, (d, d_ref) in enumerate(zip(grads, grads_ref)):
        np.testing.assert_allclose(d, d_ref, rtol=rtol, atol=rtol * np.abs(d_ref).max(),
                                   err_msg=f"{case}: gradient of input {k}")


@gpu
@pytest.mark.parametrize("name, options", ADAM_CASES)
def test_adam_kernel_matches_cpu_optimizer_on_gpu(name, options):
    rng = np.random.default_rng()
    p0 = rng.standard_normal((300, 70)).astype(np.float32)
    grads = [rng.standard_normal(p0.shape).astype(np.float32) for _ in range(5)]
    params = [nb.nn.Parameter(nb.tensor(p0.copy(), device=d)) for d in ("cpu", "cuda")]
    opts = [getattr(nb.optim, name)([p], lr=0.01, **options) for p in params]
    for g in grads:
        for p, opt in zip(params, opts):
            p.grad = nb.tensor(g, device=p.device)
            opt.step()
    np.testing.assert_allclose(params[1].detach().cpu().numpy(), params[0].detach().numpy(),
                               rtol=1e-5,
                               atol=1e-6)


@gpu
def test_switch_off_runs_composed_ops():
    x = nb.tensor(np.random.default_rng().standard_normal((4, 8)), device="cuda")
    cuda_switches.fused_kernels = False
    try:
        assert not kernels.usable(x.array)
    finally:
        cuda_switches.fused_kernels = True
    assert kernels.usable(x.array)


def test_kernels_are_never_used_on_numpy_arrays():
    assert not kernels.usable(np.zeros(3, np.float32))


HALF_CASES = ("gelu_tanh", "gelu_erf", "silu", "cross_entropy")  # the float16 module's kernels
CPU_CASES = {
    "gelu_tanh": (lambda x: F.gelu(x, approximate="tanh"), [(8, 16, 64)]),
    "gelu_erf": (F.gelu, [(40, 30)]),
    "silu": (F.silu, [(40, 30)]),
    "softmax": (lambda x: F.softmax(x, dim=-1), [(4, 2, 16, 16)]),
    "log_softmax": (lambda x: F.log_softmax(x, dim=-1), [(50, 96)]),
    "cross_entropy": (lambda x: F.cross_entropy(x, nb.tensor(np.arange(50) % 7)), [(50, 7)]),
    "cross_entropy with ignored rows (none)": (
        lambda x: F.cross_entropy(x, nb.tensor(np.where(np.arange(40) % 5, np.arange(40) % 9,
                                                        -100)), reduction="none"), [(40, 9)]),
    "cross_entropy over wide rows (sum)": (
        lambda x: F.cross_entropy(x, nb.tensor(np.arange(6) * 50), reduction="sum"), [(6, 301)]),
    "layer_norm": (lambda x, w, b: F.layer_norm(x, (48,), w, b), [(3, 5, 48), (48,), (48,)]),
}


@pytest.mark.parametrize("case", list(CPU_CASES) + [f"{k}, float16" for k in HALF_CASES])
def test_ops_through_the_kernel_glue_match_the_cpu_path(case, emulated, monkeypatch):
    name, half = case.split(", ")[0], case.endswith("float16")
    fn, shapes = CPU_CASES[name]
    rng = np.random.default_rng()
    arrays = [(rng.standard_normal(s) * 3).astype(np.float16 if half else np.float64)
              for s in shapes]
    tol = 1e-2 if half else 1e-12
    calls = record_launches(monkeypatch)
    glued = values_and_grads(fn, arrays)
    assert calls, f"{case}: no kernel was launched"
    monkeypatch.undo()
    plain = values_and_grads(fn, arrays)
    for a, b in zip(glued, plain):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol, err_msg=case)


@pytest.mark.parametrize("name, options", ADAM_CASES)
def test_adam_through_the_kernel_glue_matches_the_cpu_path(name, options, emulated, monkeypatch):
    rng = np.random.default_rng()
    p0 = rng.standard_normal((30, 7))
    grads = [rng.standard_normal(p0.shape) for _ in range(3)]

    def run():
        p = nb.nn.Parameter(nb.tensor(p0.copy()))
        opt = getattr(nb.optim, name)([p], lr=0.01, **options)
        for g in grads:
            p.grad = nb.tensor(g)
            opt.step()
        return p.detach().numpy(), opt.state[p]["step"]

    calls = record_launches(monkeypatch)
    glued, steps = run()
    assert calls == ["adam_step"] * len(grads)
    monkeypatch.undo()
    plain, plain_steps = run()
    assert steps == plain_steps == len(grads)
    np.testing.assert_allclose(glued, plain, rtol=1e-13, atol=1e-14)


def _adam_many(name, options, device="cpu"):
    """Four parameters through three steps; the last has no gradient at the first step, so
    its step count lags the others' (it cannot share their launch)."""
    rng = np.random.default_rng(7)
    shapes = [(30, 7), (7,), (5, 3, 2), (4,)]
    params = [nb.nn.Parameter(nb.tensor(rng.standard_normal(s), device=device)) for s in shapes]
    opt = getattr(nb.optim, name)(params, lr=0.01, **options)
    for step in range(3):
        for k, p in enumerate(params):
            g = rng.standard_normal(p.shape)
            p.grad = None if (k == 3 and step == 0) else nb.tensor(g, device=device)
        opt.step()
    return [p.detach().cpu().numpy() for p in params], [opt.state[p]["step"] for p in params]


@pytest.mark.parametrize("name, options", ADAM_CASES)
def test_adam_over_many_tensors_takes_one_launch(name, options, emulated, monkeypatch):
    calls = record_launches(monkeypatch)
    glued, steps = _adam_many(name, options)
    # the three in step share a launch; the lagging one runs alone
    assert calls == ["adam_multi", "adam_multi", "adam_step", "adam_multi", "adam_step"], calls
    monkeypatch.undo()
    plain, plain_steps = _adam_many(name, options)
    assert steps == plain_steps == [3, 3, 3, 2]
    for a, b in zip(glued, plain):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-14)


@gpu
@pytest.mark.parametrize("name, options", ADAM_CASES)
def test_adam_over_many_tensors_matches_the_cpu_on_gpu(name, options):
    (on_gpu, _), (on_cpu, _) = _adam_many(name, options, "cuda"), _adam_many(name, options)
    for a, b in zip(on_gpu, on_cpu):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)
