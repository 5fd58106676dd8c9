"""The flash-attention kernels (``nabla.kernels.attention``) behind
``scaled_dot_product_attention``'s tiled path: under the host emulator on the CPU, and
against the composed CuPy ops on a GPU."""
from __future__ import annotations

import numpy as np
import pytest

import nabla as nb
import nabla.nn.functional as F
from nabla.backends import cuda as cuda_switches
from nabla.kernels import attention as flash_kernels
from nabla.ops import attention as attention_op
from tests.kernel_harness import gpu, record_launches, values_and_grads


def _sdpa(causal, scale=None):
    return lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=causal,
                                                          scale=scale)


def _inputs(shapes, dtype):
    rng = np.random.default_rng()  # fresh every run
    return [rng.standard_normal(s).astype(dtype) for s in shapes]


CASES = {  # name -> (causal, scale, shapes of q, k, v)
    "causal": (True, None, [(2, 37, 16), (2, 37, 16), (2, 37, 16)]),
    "cross, L != S, E != Ev": (False, 0.2, [(3, 21, 12), (3, 45, 12), (3, 45, 20)]),
    "causal, heads, S > L": (True, None, [(2, 2, 18, 8), (2, 2, 40, 8), (2, 2, 40, 8)]),
    "one query": (False, None, [(2, 1, 8), (2, 9, 8), (2, 9, 8)]),
    "widest heads": (False, None, [(1, 20, 128), (1, 33, 128), (1, 33, 128)]),
}
LAUNCHES = {  # dtype -> the kernels a forward and backward launch
    np.dtype(np.float16): ["flash_tc_fwd", "flash_tc_bwd_kv", "flash_tc_bwd_q"],  # tensor cores
    np.dtype(np.float32): ["flash_fwd", "flash_bwd_kv", "flash_bwd_q"],
    np.dtype(np.float64): ["flash_fwd", "flash_bwd_kv", "flash_bwd_q"],
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 2e-5),
                                        (np.float16, 3e-2)])
def test_flash_kernels_match_the_composed_attention(case, dtype, tol, emulated, monkeypatch):
    causal, scale, shapes = CASES[case]
    arrays = _inputs(shapes, dtype)
    monkeypatch.setattr(attention_op, "FLASH_MIN_SCORES", 0)  # every call takes the tiled path
    monkeypatch.setattr(cuda_switches, "flash_attention_kernel", True)
    calls = record_launches(monkeypatch)
    glued = values_and_grads(_sdpa(causal, scale), arrays)
    assert calls == LAUNCHES[np.dtype(dtype)], calls
    monkeypatch.undo()
    attention_op.enable_flash_attention(False)
    try:  # the reference: the composed ops on the CPU, in float64
        plain = values_and_grads(_sdpa(causal, scale), [a.astype(np.float64) for a in arrays])
    finally:
        attention_op.enable_flash_attention(True)
    for k, (a, b) in enumerate(zip(glued, plain)):
        assert a.dtype == dtype
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol * max(1.0, np.abs(b).max()),
                                   err_msg=f"{case}: {'value' if k == 0 else f'grad {k - 1}'}")


def test_wide_heads_keep_the_blocked_path(emulated, monkeypatch):
    q = np.random.default_rng().standard_normal((1, 4, flash_kernels.MAX_HEAD_DIM + 1))
    monkeypatch.setattr(attention_op, "FLASH_MIN_SCORES", 0)
    monkeypatch.setattr(cuda_switches, "flash_attention_kernel", True)
    calls = record_launches(monkeypatch)
    out = values_and_grads(_sdpa(False), [q, q, q])[0]
    assert calls == []
    assert out.shape == q.shape


@pytest.mark.parametrize("switch, dtype, launched", [
    (None, np.float16, True), (None, np.float32, False), (None, np.float64, False),
    (False, np.float16, False), (True, np.float32, True)])
def test_flash_kernels_follow_their_switch(emulated, monkeypatch, switch, dtype, launched):
    """``nabla.backends.cuda.flash_attention_kernel``: by default (None) float16 takes the
    tensor-core kernels and float32/float64 the op's blocked form; True takes every dtype,
    False none."""
    q = np.random.default_rng().standard_normal((2, 6, 8)).astype(dtype)
    monkeypatch.setattr(attention_op, "FLASH_MIN_SCORES", 0)
    monkeypatch.setattr(cuda_switches, "flash_attention_kernel", switch)
    calls = record_launches(monkeypatch)
    values_and_grads(_sdpa(True), [q, q, q])
    assert (calls == LAUNCHES[np.dtype(dtype)]) if launched else not calls, calls


@gpu
@pytest.mark.parametrize("dtype, rtol", [(np.float32, 1e-4), (np.float64, 1e-10),
                                         (np.float16, 2e-2)])
@pytest.mark.parametrize("causal", [True, False])
def test_flash_kernels_match_composed_ops_on_gpu(dtype, rtol, causal, monkeypatch):
    monkeypatch.setattr(attention_op, "FLASH_MIN_SCORES", 0)
    monkeypatch.setattr(cuda_switches, "flash_attention_kernel", True)
    arrays = _inputs([(4, 8, 300, 64)] * 3, dtype)
    y, *grads = values_and_grads(_sdpa(causal), arrays, "cuda")  # the kernels
    attention_op.enable_flash_attention(False)
    try:
        y_ref, *grads_ref = values_and_grads(_sdpa(causal), arrays, "cuda")
    finally:
        attention_op.enable_flash_attention(True)
    np.testing.assert_allclose(y, y_ref, rtol=rtol, atol=rtol * np.abs(y_ref).max())
    for d, d_ref in zip(grads, grads_ref):
        np.testing.assert_allclose(d, d_ref, rtol=rtol, atol=rtol * np.abs(d_ref).max())


@gpu
def test_flash_kernel_memory_grows_with_length_not_its_square(monkeypatch):
    monkeypatch.setattr(cuda_switches, "flash_attention_kernel", True)
    q = nb.tensor(np.random.default_rng().standard_normal((1, 4, 8192, 64)).astype(np.float32),
                  device="cuda", requires_grad=True)
    nb.cuda.synchronize()
    nb.cuda.reset_peak_memory_stats()
    base = nb.cuda.memory_allocated()
    F.scaled_dot_product_attention(q, q, q, is_causal=True).sum().backward()
    nb.cuda.synchronize()
    # the composed path would hold (4, 8192, 8192) float32 scores and weights: 1 GiB each
    assert nb.cuda.max_memory_allocated() - base < 64 << 20
