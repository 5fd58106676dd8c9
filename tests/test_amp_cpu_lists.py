"""CPU autocast follows PyTorch's CPU op lists, op by op.

Each row runs one op under ``nabla.autocast("cpu", dtype=low)`` and the same op under
``torch.autocast("cpu", dtype=low)``, from float32 and from bfloat16 inputs, and checks
that the output dtypes agree and the values agree to the low dtype's rounding. The rows
cover the CPU low-precision list, the CPU float32 list, and the ops that are on the CUDA
float32 list but keep their inputs' dtype on the CPU.
"""
import numpy as np
import pytest

import nabla as nb
import nabla.nn.functional as F

torch = pytest.importorskip("torch")
import torch.nn.functional as TF  # noqa: E402

LOW = {"bfloat16": (nb.bfloat16, torch.bfloat16), "float16": (nb.float16, torch.float16)}
INPUT = {"float32": (nb.float32, torch.float32), "bfloat16": (nb.bfloat16, torch.bfloat16)}


def _normal(*shape):
    return lambda rng: rng.standard_normal(shape).astype(np.float32)


def _positive(*shape):
    return lambda rng: (rng.random(shape) + 0.5).astype(np.float32)


def _unit(*shape):  # in (-0.9, 0.9): asin, acos, erfinv
    return lambda rng: ((rng.random(shape) * 2 - 1) * 0.9).astype(np.float32)


def _spd(n):
    def make(rng):
        a = rng.standard_normal((n, n)).astype(np.float32)
        return (a @ a.T + n * np.eye(n)).astype(np.float32)
    return make


def _ints(values):  # integer arguments (targets, lengths) are never cast
    return lambda rng: np.asarray(values, dtype=np.int64)


def _signs(*shape):
    return lambda rng: np.where(rng.random(shape) > 0.5, 1.0, -1.0).astype(np.float32)


def _probs(*shape):  # rows summing to 1
    def make(rng):
        p = rng.random(shape).astype(np.float32) + 0.1
        return p / p.sum(-1, keepdims=True)
    return make


# name, the low-precision policy PyTorch's CPU list gives ("lower", "float32" or None),
# input makers, and the op as ``op(lib, functional, *tensors)`` -- one form for both
# libraries, or a pair (nabla's, torch's) where their names differ.
LOWER = [
    ("matmul", [_normal(4, 6), _normal(6, 3)], lambda m, f, a, b: m.matmul(a, b)),
    ("matmul_batched", [_normal(2, 4, 6), _normal(6, 3)], lambda m, f, a, b: a @ b),
    ("matmul_matrix_vector", [_normal(4, 6), _normal(6)], lambda m, f, a, b: m.matmul(a, b)),
    ("mm", [_normal(4, 6), _normal(6, 3)], lambda m, f, a, b: m.mm(a, b)),
    ("bmm", [_normal(2, 4, 6), _normal(2, 6, 3)], lambda m, f, a, b: m.bmm(a, b)),
    ("einsum", [_normal(4, 6), _normal(3, 6)], lambda m, f, a, b: m.einsum("ij,kj->ik", a, b)),
    ("tensordot", [_normal(4, 6), _normal(6, 3)], lambda m, f, a, b: m.tensordot(a, b, 1)),
    ("linear", [_normal(4, 6), _normal(3, 6), _normal(3)], lambda m, f, x, w, b: f.linear(x, w, b)),
    ("conv1d", [_normal(2, 3, 9), _normal(4, 3, 3)], lambda m, f, x, k: f.conv1d(x, k, padding=1)),
    ("conv2d", [_normal(2, 3, 6, 6), _normal(4, 3, 3, 3)],
     lambda m, f, x, k: f.conv2d(x, k, stride=2)),
    ("conv3d", [_normal(1, 2, 4, 4, 4), _normal(3, 2, 3, 3, 3)], lambda m, f, x, k: f.conv3d(x, k)),
    ("conv_transpose1d", [_normal(2, 3, 5), _normal(3, 4, 3)],
     lambda m, f, x, k: f.conv_transpose1d(x, k)),
    ("conv_transpose2d", [_normal(1, 3, 4, 4), _normal(3, 2, 3, 3)],
     lambda m, f, x, k: f.conv_transpose2d(x, k, stride=2)),
    ("scaled_dot_product_attention", [_normal(1, 2, 5, 8)] * 3,
     lambda m, f, q, k, v: f.scaled_dot_product_attention(q, k, v, is_causal=True)),
]
FLOAT32 = [
    ("prod", [_positive(3, 4)], lambda m, f, x: x.prod(1)),
    ("max_unpool2d", [_normal(1, 2, 4, 4)],
     lambda m, f, x: f.max_unpool2d(*f.max_pool2d(x, 2, return_indices=True), 2)),
    ("fft.fft", [_normal(8)], lambda m, f, x: m.fft.fft(x)),
    ("fft.rfft", [_normal(3, 8)], lambda m, f, x: m.fft.rfft(x)),
    ("fft.irfft", [_normal(3, 5)], lambda m, f, x: m.fft.irfft(x)),
    ("fft.fftn", [_normal(4, 4)], lambda m, f, x: m.fft.fftn(x)),
    ("linalg.inv", [_spd(3)], lambda m, f, a: m.linalg.inv(a)),
    ("linalg.solve", [_spd(3), _normal(3, 2)], lambda m, f, a, b: m.linalg.solve(a, b)),
    ("linalg.cholesky", [_spd(3)], lambda m, f, a: m.linalg.cholesky(a)),
    ("linalg.eigvalsh", [_spd(3)], lambda m, f, a: m.linalg.eigvalsh(a)),
    ("linalg.svdvals", [_normal(4, 3)], lambda m, f, a: m.linalg.svdvals(a)),
    ("linalg.qr", [_spd(3)], lambda m, f, a: m.linalg.qr(a)[1].abs()),
    ("cross_entropy", [_normal(4, 5), _ints([0, 1, 4, 2])],
     lambda m, f, x, t: f.cross_entropy(x, t)),
    ("cross_entropy_probabilities", [_normal(4, 5), _probs(4, 5)],
     lambda m, f, x, t: f.cross_entropy(x, t)),
    ("nll_loss", [_normal(4, 5), _ints([0, 1, 4, 2])], lambda m, f, x, t: f.nll_loss(x, t)),
    ("mse_loss", [_normal(3, 4), _normal(3, 4)], lambda m, f, x, y: f.mse_loss(x, y)),
    ("l1_loss", [_normal(3, 4), _normal(3, 4)], lambda m, f, x, y: f.l1_loss(x, y)),
    ("smooth_l1_loss", [_normal(3, 4), _normal(3, 4)],
     lambda m, f, x, y: f.smooth_l1_loss(x, y)),
    ("huber_loss", [_normal(3, 4), _normal(3, 4)], lambda m, f, x, y: f.huber_loss(x, y)),
    ("binary_cross_entropy", [_probs(3, 4), _probs(3, 4)],
     lambda m, f, p, t: f.binary_cross_entropy(p, t)),
    ("binary_cross_entropy_with_logits", [_normal(3, 4), _probs(3, 4)],
     lambda m, f, x, t: f.binary_cross_entropy_with_logits(x, t)),
    ("kl_div", [_normal(3, 4), _probs(3, 4)],
     lambda m, f, x, t: f.kl_div(x, t, reduction="batchmean")),
    ("poisson_nll_loss", [_normal(3, 4), _positive(3, 4)],
     lambda m, f, x, t: f.poisson_nll_loss(x, t)),
    ("soft_margin_loss", [_normal(3, 4), _signs(3, 4)],
     lambda m, f, x, t: f.soft_margin_loss(x, t)),
    ("multilabel_margin_loss", [_normal(2, 4), _ints([[3, 0, -1, 1], [1, 2, 0, -1]])],
     lambda m, f, x, t: f.multilabel_margin_loss(x, t)),
    ("multi_margin_loss", [_normal(4, 5), _ints([0, 1, 4, 2])],
     lambda m, f, x, t: f.multi_margin_loss(x, t)),
    ("margin_ranking_loss", [_normal(5), _normal(5), _signs(5)],
     lambda m, f, a, b, t: f.margin_ranking_loss(a, b, t)),
    ("hinge_embedding_loss", [_normal(3, 4), _signs(3, 4)],
     lambda m, f, x, t: f.hinge_embedding_loss(x, t)),
    ("cosine_embedding_loss", [_normal(3, 4), _normal(3, 4), _ints([1, -1, 1])],
     lambda m, f, a, b, t: f.cosine_embedding_loss(a, b, t)),
    ("triplet_margin_loss", [_normal(3, 4)] * 3,
     lambda m, f, a, p, n: f.triplet_margin_loss(a, p, n)),
    ("ctc_loss", [_normal(6, 2, 5), _ints([[1, 2], [3, 1]]), _ints([6, 5]), _ints([2, 2])],
     lambda m, f, x, t, il, tl: f.ctc_loss(x.log_softmax(-1), t, il, tl)),
]
# on the CUDA float32 list, but kept in the inputs' dtype on the CPU
KEEP = [
    ("softmax", [_normal(3, 5)], lambda m, f, x: f.softmax(x, -1)),
    ("log_softmax", [_normal(3, 5)], lambda m, f, x: f.log_softmax(x, -1)),
    ("sum", [_normal(3, 5)], lambda m, f, x: x.sum(1)),
    ("cumsum", [_normal(3, 5)], lambda m, f, x: x.cumsum(1)),
    ("cumprod", [_positive(3, 5)], lambda m, f, x: x.cumprod(1)),
    ("logsumexp", [_normal(3, 5)], lambda m, f, x: x.logsumexp(1)),
    ("norm", [_normal(3, 5)], lambda m, f, x: m.linalg.vector_norm(x, 3, dim=1)),
    ("pow", [_positive(3, 5), _positive(3, 5)], lambda m, f, x, y: x.pow(y)),
    ("exp", [_normal(3, 5)], lambda m, f, x: x.exp()),
    ("expm1", [_normal(3, 5)], lambda m, f, x: x.expm1()),
    ("log", [_positive(3, 5)], lambda m, f, x: x.log()),
    ("log1p", [_positive(3, 5)], lambda m, f, x: x.log1p()),
    ("rsqrt", [_positive(3, 5)], lambda m, f, x: x.rsqrt()),
    ("tan", [_unit(3, 5)], lambda m, f, x: x.tan()),
    ("sinh", [_normal(3, 5)], lambda m, f, x: x.sinh()),
    ("cosh", [_normal(3, 5)], lambda m, f, x: x.cosh()),
    ("asin", [_unit(3, 5)], lambda m, f, x: x.asin()),
    ("acos", [_unit(3, 5)], lambda m, f, x: x.acos()),
    ("erfinv", [_unit(3, 5)], lambda m, f, x: x.erfinv()),
    ("softplus", [_normal(3, 5)], lambda m, f, x: f.softplus(x)),
    ("layer_norm", [_normal(3, 5)], lambda m, f, x: f.layer_norm(x, (5,))),
    ("rms_norm", [_normal(3, 5)], lambda m, f, x: f.rms_norm(x, (5,))),
    ("group_norm", [_normal(2, 4, 3)], lambda m, f, x: f.group_norm(x, 2)),
    ("batch_norm_evaluation", [_normal(6, 3), _normal(3), _positive(3)],
     lambda m, f, x, mean, var: f.batch_norm(x, mean, var, training=False)),
    ("normalize", [_normal(3, 5)], lambda m, f, x: f.normalize(x)),
    ("cosine_similarity", [_normal(3, 5), _normal(3, 5)],
     lambda m, f, a, b: f.cosine_similarity(a, b)),
    ("pairwise_distance", [_normal(3, 5), _normal(3, 5)],
     lambda m, f, a, b: f.pairwise_distance(a, b)),
    ("gaussian_nll_loss", [_normal(3, 4), _normal(3, 4), _positive(3, 4)],
     lambda m, f, x, t, v: f.gaussian_nll_loss(x, t, v)),
    ("multilabel_soft_margin_loss", [_normal(3, 4), _signs(3, 4)],
     lambda m, f, x, t: f.multilabel_soft_margin_loss(x, (t + 1) / 2)),
]
ROWS = ([(n, "lower", i, op) for n, i, op in LOWER]
        + [(n, "float32", i, op) for n, i, op in FLOAT32]
        + [(n, None, i, op) for n, i, op in KEEP])
# nabla's linalg functions refuse 16-bit inputs before the op (and so its autocast
# policy) sees them, where PyTorch's CPU autocast casts them to float32 first
FLOAT32_INPUTS_ONLY = {n for n, _, _ in FLOAT32 if n.startswith("linalg.")}
CASES = [pytest.param(*row, low, inp, id=f"{row[0]}-{low}-{inp}")
         for row in ROWS for low in LOW for inp in INPUT
         if inp == "float32" or row[0] not in FLOAT32_INPUTS_ONLY]


def _expected(policy, low, dtype):
    """The output dtype the lists promise, for ops whose output is their inputs' dtype."""
    return {"lower": low, "float32": nb.float32, None: dtype}[policy]


def _as_numpy(t):
    t = t.detach() if hasattr(t, "detach") else t
    if "complex" in str(t.dtype):
        t = t.abs()
    return np.asarray(t.float().cpu().numpy() if hasattr(t, "cpu") else t, np.float64)


def _run(op, arrays, low_name, input_name):
    (nb_low, t_low), (nb_in, t_in) = LOW[low_name], INPUT[input_name]
    ours = [nb.tensor(a).to(nb_in) if a.dtype == np.float32 else nb.tensor(a) for a in arrays]
    theirs = [torch.tensor(a).to(t_in) if a.dtype == np.float32 else torch.tensor(a)
              for a in arrays]
    with nb.autocast("cpu", dtype=nb_low):
        out = op(nb, F, *ours)
    with torch.autocast("cpu", dtype=t_low):
        ref = op(torch, TF, *theirs)
    return out, ref


@pytest.mark.parametrize("name, policy, makers, op, low_name, input_name", CASES)
def test_cpu_autocast_dtype_and_values_match_torch(name, policy, makers, op, low_name,
                                                   input_name):
    rng = np.random.default_rng(sum(map(ord, name)))
    arrays = [make(rng) for make in makers]
    out, ref = _run(op, arrays, low_name, input_name)
    assert str(out.dtype) == str(ref.dtype).replace("torch.", ""), (out.dtype, ref.dtype)
    if "complex" not in str(ref.dtype):
        assert out.dtype == _expected(policy, LOW[low_name][0], INPUT[input_name][0])
    # the values: equal up to the low dtype's rounding (both round the same inputs)
    ours, theirs = _as_numpy(out), _as_numpy(ref)
    scale = max(1.0, float(np.abs(theirs).max(initial=0.0)))
    np.testing.assert_allclose(ours, theirs, rtol=2e-2, atol=2e-2 * scale)


def _recurrent_pair(kind: str):
    torch.manual_seed(0)
    theirs = getattr(torch.nn, kind)(6, 5, batch_first=True)
    ours = getattr(nb.nn, kind)(6, 5, batch_first=True)
    ours.load_state_dict({k: nb.tensor(v.detach().numpy()) for k, v in
                          theirs.state_dict().items()})
    return ours, theirs


@pytest.mark.parametrize("kind", ["LSTM", "RNN"])
def test_lstm_and_rnn_run_in_bfloat16_on_the_cpu_as_in_torch(kind):
    # float32 inputs only: nabla's layers refuse an input dtype other than the parameters'
    ours, theirs = _recurrent_pair(kind)
    x = np.random.default_rng(1).standard_normal((2, 4, 6)).astype(np.float32)
    with nb.autocast("cpu", dtype=nb.bfloat16):
        out = ours(nb.tensor(x))[0]
    with torch.autocast("cpu", dtype=torch.bfloat16):
        ref = theirs(torch.tensor(x))[0]
    assert out.dtype == nb.bfloat16 and ref.dtype == torch.bfloat16
    np.testing.assert_allclose(_as_numpy(out), _as_numpy(ref), atol=3e-2)


@pytest.mark.parametrize("kind", ["GRU", "GRUCell", "LSTMCell"])
def test_gru_and_the_gated_cells_stay_in_float32_on_the_cpu_as_in_torch(kind):
    torch.manual_seed(0)
    cell = kind.endswith("Cell")
    theirs = getattr(torch.nn, kind)(6, 5) if cell else getattr(torch.nn, kind)(6, 5,
                                                                               batch_first=True)
    ours = getattr(nb.nn, kind)(6, 5) if cell else getattr(nb.nn, kind)(6, 5, batch_first=True)
    ours.load_state_dict({k: nb.tensor(v.detach().numpy()) for k, v in
                          theirs.state_dict().items()})
    x = np.random.default_rng(1).standard_normal((3, 6) if cell else (2, 4, 6)).astype(np.float32)
    with nb.autocast("cpu", dtype=nb.bfloat16):
        out = ours(nb.tensor(x))
        after = nb.nn.functional.linear(nb.ones(2, 6), nb.ones(3, 6))  # autocast still on after
    with torch.autocast("cpu", dtype=torch.bfloat16):
        ref = theirs(torch.tensor(x))
    out, ref = (out[0], ref[0]) if isinstance(out, tuple) else (out, ref)
    assert out.dtype == nb.float32 and ref.dtype == torch.float32
    assert after.dtype == nb.bfloat16
    # torch's composite GRU still sends some inner products through autocast (its output is
    # float32 but carries bfloat16-sized differences); nabla's stays float32 throughout
    np.testing.assert_allclose(_as_numpy(out), _as_numpy(ref), atol=3e-2)


def test_cuda_lists_are_unchanged_by_the_cpu_lists():
    """Each policy is read for the device under autocast: a float32 tensor on the CPU
    under CUDA autocast is left alone, and the CUDA policies still say what they said."""
    from nabla.amp import autocast_mode as am

    assert all(c.autocast == "lower" for c in am.LOWER_PRECISION)
    assert all(c.autocast == "float32" for c in am.FLOAT32)
    assert all(f.autocast == "float32" for f in am.CPU_NOT_FLOAT32)
    assert am.Softmax.autocast == "float32" and am.Softmax.autocast_cpu is None
    assert am.Prod.autocast == am.Prod.autocast_cpu == "float32"
    x = nb.tensor(np.ones((2, 3), np.float32)).bfloat16()
    with nb.autocast("cpu", dtype=nb.bfloat16):
        assert F.softmax(x, -1).dtype == nb.bfloat16 and F.layer_norm(x, (3,)).dtype == nb.bfloat16
        assert x.prod().dtype == nb.float32 and F.mse_loss(x, x).dtype == nb.float32
