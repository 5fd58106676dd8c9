"""``nabla.utils.checkpoint`` against un-checkpointed runs and torch.utils.checkpoint
(the same weights), and ``nabla.compile`` / ``Module.compile`` as no-ops."""
import tracemalloc
import warnings

import numpy as np
import pytest

import nabla as nb
import nabla.utils.checkpoint
from nabla import nn
from nabla.utils.checkpoint import CheckpointError, checkpoint, checkpoint_sequential
from tests.optest import assert_param_grads_match, needs_torch, torch

F = nn.functional


def copy_from_torch(module, tmodule):
    module.load_state_dict({k: v.detach().numpy() for k, v in tmodule.state_dict().items()})


def twin_mlp(depth=4, width=16):
    """nabla's and torch's Sequential of Linear-LayerNorm-GELU blocks, torch's weights."""
    def blocks(lib):
        layers = []
        for _ in range(depth):
            layers += [lib.nn.Linear(width, width), lib.nn.LayerNorm(width), lib.nn.GELU()]
        return lib.nn.Sequential(*layers).double()
    torch.manual_seed(0)
    tmodel = blocks(torch)
    model = blocks(nb)
    copy_from_torch(model, tmodel)
    return model, tmodel


def grads_of(module, x) -> list:
    return [p.grad.numpy().copy() for p in module.parameters()] + [x.grad.numpy().copy()]


def test_module_path_imports_work():
    assert nabla.utils.checkpoint.checkpoint is checkpoint
    assert nb.utils.checkpoint.checkpoint_sequential is checkpoint_sequential
    from nabla.utils.data import DataLoader
    assert DataLoader is nb.data.DataLoader


@needs_torch
@pytest.mark.parametrize("use_reentrant", [False, True])
def test_mlp_gradients_match_plain_run_and_torch(use_reentrant):
    model, tmodel = twin_mlp()
    xs = np.random.default_rng(0).standard_normal((5, 16))

    x = nb.tensor(xs, requires_grad=True)
    (model(x) ** 2).sum().backward()
    plain = grads_of(model, x)
    model.zero_grad()

    x = nb.tensor(xs, requires_grad=True)
    h = x
    for i in range(0, 12, 3):  # one checkpoint per block
        h = checkpoint(model[i:i + 3], h, use_reentrant=use_reentrant)
    assert h._node.name == "Checkpoint"
    loss = (h ** 2).sum()
    loss.backward()
    for a, b in zip(grads_of(model, x), plain):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)

    tx = torch.tensor(xs, requires_grad=True)
    th = tx
    for i in range(0, 12, 3):
        th = torch.utils.checkpoint.checkpoint(tmodel[i:i + 3], th, use_reentrant=use_reentrant)
    tloss = (th ** 2).sum()
    tloss.backward()
    np.testing.assert_allclose(loss.item(), tloss.item(), rtol=1e-12)
    assert_param_grads_match(model, tmodel, atol=1e-10)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), atol=1e-10)


@needs_torch
def test_transformer_block_gradients_match_torch():
    kwargs = dict(d_model=16, nhead=4, dim_feedforward=32, dropout=0.0, batch_first=True)
    torch.manual_seed(0)
    tlayer = torch.nn.TransformerEncoderLayer(**kwargs).double()
    layer = nn.TransformerEncoderLayer(**kwargs).double()
    copy_from_torch(layer, tlayer)
    xs = np.random.default_rng(1).standard_normal((2, 5, 16))
    mask = nn.Transformer.generate_square_subsequent_mask(5).double()
    tmask = torch.nn.Transformer.generate_square_subsequent_mask(5).double()

    x = nb.tensor(xs, requires_grad=True)
    # keyword arguments reach the function, and a non-tensor positional one too
    out = checkpoint(lambda h, causal, src_mask: layer(h, src_mask=src_mask, is_causal=causal),
                     x, True, src_mask=mask, use_reentrant=False)
    out.sin().sum().backward()
    tx = torch.tensor(xs, requires_grad=True)
    tout = torch.utils.checkpoint.checkpoint(
        lambda h, causal, src_mask: tlayer(h, src_mask=src_mask, is_causal=causal),
        tx, True, src_mask=tmask, use_reentrant=False)
    tout.sin().sum().backward()
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), atol=1e-10)
    assert_param_grads_match(layer, tlayer, atol=1e-9)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), atol=1e-10)


@pytest.mark.parametrize("use_reentrant", [False, True])
def test_parameters_get_gradients_when_no_input_requires_grad(use_reentrant):
    lin = nn.Linear(4, 3)
    x = nb.randn(2, 4)  # data: no gradient wanted
    (lin(x) ** 2).sum().backward()
    plain = [p.grad.numpy().copy() for p in lin.parameters()]
    lin.zero_grad()
    out = checkpoint(lin, x, use_reentrant=use_reentrant)
    assert out.requires_grad
    (out ** 2).sum().backward()
    for p, g in zip(lin.parameters(), plain):
        np.testing.assert_allclose(p.grad.numpy(), g, rtol=1e-6)
    assert x.grad is None


@needs_torch
def test_tuple_dict_and_non_tensor_outputs_match_torch():
    xs, ws = np.linspace(-1, 1, 6), np.linspace(0.5, 2, 6)

    def f(lib, x, w, scale, k):
        return (x * w * scale, {"s": (x.sin() * w).sum(), "n": k, "i": (x > 0).long()})

    x, w = nb.tensor(xs, requires_grad=True), nb.tensor(ws, requires_grad=True)
    a, d = checkpoint(f, nb, x, w, 3.0, k=7, use_reentrant=False)
    assert d["n"] == 7 and d["i"].dtype == nb.int64 and not d["i"].requires_grad
    (a.cos().sum() + 2 * d["s"]).backward()
    tx, tw = torch.tensor(xs, requires_grad=True), torch.tensor(ws, requires_grad=True)
    ta, td = torch.utils.checkpoint.checkpoint(f, torch, tx, tw, 3.0, k=7, use_reentrant=False)
    (ta.cos().sum() + 2 * td["s"]).backward()
    np.testing.assert_allclose(a.detach().numpy(), ta.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(d["i"].numpy(), td["i"].numpy())
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-12)


def test_only_used_outputs_and_mixed_dtypes():
    x = nb.randn(3, requires_grad=True)
    a, b = checkpoint(lambda t: (t * 2, (t * t).to(nb.float64)), x, use_reentrant=False)
    assert a.dtype == nb.float32 and b.dtype == nb.float64
    b.sum().backward()  # a unused: its cotangent is zero
    np.testing.assert_allclose(x.grad.numpy(), 2 * x.detach().numpy(), rtol=1e-6)


@needs_torch
def test_double_backward_matches_torch():
    xs, ws = np.array([0.3, -1.2, 2.0]), np.array([1.5, -0.5, 0.25])

    def f(x, w):
        return (x.tanh() * w).sum() + (x * x * x).sum()

    x, w = nb.tensor(xs, requires_grad=True), nb.tensor(ws, requires_grad=True)
    (gx,) = nb.autograd.grad(checkpoint(f, x, w, use_reentrant=False), x, create_graph=True)
    (gx ** 2).sum().backward()
    tx, tw = torch.tensor(xs, requires_grad=True), torch.tensor(ws, requires_grad=True)
    (tgx,) = torch.autograd.grad(torch.utils.checkpoint.checkpoint(f, tx, tw, use_reentrant=False),
                                 tx, create_graph=True)
    (tgx ** 2).sum().backward()
    np.testing.assert_allclose(gx.detach().numpy(), tgx.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-12)


@needs_torch
def test_autograd_grad_leaves_parameter_grads_alone_as_torch():
    """A gradient penalty: grad with respect to the input does not touch .grad of the
    parameters inside (torch's non-reentrant checkpoint neither)."""
    model, tmodel = twin_mlp(depth=2, width=4)
    xs = np.random.default_rng(2).standard_normal((3, 4))
    x = nb.tensor(xs, requires_grad=True)
    (g,) = nb.autograd.grad(checkpoint(model, x, use_reentrant=False).sum(), x)
    assert all(p.grad is None for p in model.parameters())
    tx = torch.tensor(xs, requires_grad=True)
    (tg,) = torch.autograd.grad(
        torch.utils.checkpoint.checkpoint(tmodel, tx, use_reentrant=False).sum(), tx)
    assert all(p.grad is None for p in tmodel.parameters())
    np.testing.assert_allclose(g.numpy(), tg.numpy(), atol=1e-12)


def test_dropout_recomputation_sees_the_same_random_numbers():
    lin1, lin2 = nn.Linear(8, 32), nn.Linear(32, 4)

    def f(x):
        return lin2(F.dropout(lin1(x).relu(), p=0.5, training=True))

    x0 = nb.randn(6, 8)

    def step(use_checkpoint, preserve=True):
        lin1.zero_grad()
        lin2.zero_grad()
        nb.manual_seed(123)
        x = x0.clone().requires_grad_()
        out = checkpoint(f, x, use_reentrant=False, preserve_rng_state=preserve) \
            if use_checkpoint else f(x)
        nb.randn(5)  # the stream moves on between forward and backward
        out.pow(2).sum().backward()
        after = nb.rand(3).numpy()  # the recomputation must not have drawn from the stream
        return [p.grad.numpy().copy() for p in (lin1.weight, lin2.weight)] + [x.grad.numpy()], after

    plain, plain_after = step(False)
    ckpt, ckpt_after = step(True)
    for a, b in zip(ckpt, plain):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ckpt_after, plain_after)
    # without preserving the state, the recomputation draws other masks: other gradients
    unpreserved, _ = step(True, preserve=False)
    assert not np.allclose(unpreserved[0], plain[0])


@needs_torch
@pytest.mark.parametrize("segments", [1, 2, 3, 12])
def test_checkpoint_sequential_matches_torch(segments):
    model, tmodel = twin_mlp()
    xs = np.random.default_rng(3).standard_normal((4, 16))
    x = nb.tensor(xs, requires_grad=True)
    out = checkpoint_sequential(model, segments, x, use_reentrant=False)
    # as in torch, segments - 1 segments are checkpointed and the last runs normally
    assert node_names(out).count("Checkpoint") == segments - 1
    assert out._node.name != "Checkpoint"
    out.tanh().sum().backward()
    tx = torch.tensor(xs, requires_grad=True)
    tout = torch.utils.checkpoint.checkpoint_sequential(tmodel, segments, tx, use_reentrant=False)
    tout.tanh().sum().backward()
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), atol=1e-12)
    assert_param_grads_match(model, tmodel, atol=1e-10)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), atol=1e-10)


def test_autocast_state_is_replayed_in_backward():
    lin = nn.Linear(8, 8)
    x0 = nb.randn(4, 8)
    grads = []
    for use in (False, True):
        lin.zero_grad()
        with nb.autocast("cpu", dtype=nb.bfloat16):
            out = checkpoint(lin, x0, use_reentrant=False) if use else lin(x0)
        assert out.dtype == nb.bfloat16
        out.float().square().sum().backward()
        grads.append(lin.weight.grad.numpy())
    np.testing.assert_array_equal(grads[0], grads[1])


def node_names(root) -> list:
    names, stack, seen = [], [root], set()
    while stack:
        node = stack.pop()._node
        if node is not None and id(node) not in seen:
            seen.add(id(node))
            names.append(node.name)
            stack.extend(node.inputs)
    return names


# -- memory ---------------------------------------------------------------------------------------
def saved_bytes(root) -> int:
    """Bytes of the distinct arrays that the graph behind ``root`` keeps for backward."""
    seen, total, stack, visited = set(), 0, [root], set()
    while stack:
        t = stack.pop()
        node = t._node
        if node is None or id(node) in visited:
            continue
        visited.add(id(node))
        held = [v for v in vars(node).values() if isinstance(v, (nb.Tensor, np.ndarray))]
        held += list(node.inputs)
        for v in held:
            a = v.array if isinstance(v, nb.Tensor) else v
            key = id(a if a.base is None else a.base)
            if key not in seen:
                seen.add(key)
                total += (a if a.base is None else a.base).nbytes
        stack.extend(node.inputs)
    return total


DEPTH, WIDTH, BATCH = 24, 64, 512  # activations outweigh parameters, as in real training


def deep_stack(depth=DEPTH, width=WIDTH):
    nb.manual_seed(0)
    return nn.Sequential(*[nn.Sequential(nn.Linear(width, width), nn.GELU(), nn.LayerNorm(width))
                           for _ in range(depth)])


def test_checkpointing_keeps_fewer_activations():
    model = deep_stack()
    params = sum(p.array.nbytes for p in model.parameters())
    x = nb.randn(BATCH, WIDTH)

    plain = saved_bytes(model(x).sum()) - params
    h = x
    for block in model:
        h = checkpoint(block, h, use_reentrant=False)
    ckpt = saved_bytes(h.sum())
    one_activation = BATCH * WIDTH * 4
    # each block keeps only its input (the first is x itself); without checkpointing,
    # Linear, GELU and LayerNorm save several activation-sized arrays per block
    assert ckpt <= (DEPTH + 1) * one_activation
    assert plain >= 3 * DEPTH * one_activation
    assert ckpt * 3 < plain


def test_checkpointing_lowers_peak_memory_of_a_training_step():
    model = deep_stack()
    x = nb.randn(BATCH, WIDTH)

    def peak(run) -> int:
        model.zero_grad()
        tracemalloc.start()
        try:
            tracemalloc.reset_peak()
            base = tracemalloc.get_traced_memory()[0]
            run().sum().backward()
            return tracemalloc.get_traced_memory()[1] - base
        finally:
            tracemalloc.stop()

    plain = peak(lambda: model(x))
    ckpt = peak(lambda: checkpoint_sequential(model, 6, x, use_reentrant=False))
    # measured: about 26 MB without checkpointing, 4 MB with it (of which 2.4 MB are
    # the four segment inputs kept and one segment recomputed at a time)
    assert ckpt < 0.3 * plain, (ckpt, plain)


# -- errors and warnings --------------------------------------------------------------------------
@needs_torch
def test_use_reentrant_left_out_warns_like_torch():
    with pytest.warns(UserWarning) as record:
        torch.utils.checkpoint.checkpoint(torch.sin, torch.ones(2, requires_grad=True))
    assert record[0].category is UserWarning
    with pytest.warns(UserWarning, match="use_reentrant"):
        checkpoint(nb.sin, nb.ones(2, requires_grad=True))
    with pytest.warns(UserWarning, match="use_reentrant"):
        checkpoint_sequential([nb.sin], 1, nb.ones(2, requires_grad=True))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        checkpoint(nb.sin, nb.ones(2, requires_grad=True), use_reentrant=False)


@needs_torch
def test_argument_errors_as_torch():
    x, tx = nb.ones(2, requires_grad=True), torch.ones(2, requires_grad=True)
    for lib, fn, t in ((torch.utils.checkpoint, torch.add, tx), (nabla.utils.checkpoint, nb.add, x)):
        with pytest.raises(ValueError, match="Unexpected keyword arguments: alpha"):
            lib.checkpoint(fn, t, t, alpha=2, use_reentrant=True)
        with pytest.raises(ValueError, match="only supported when|only supported with"):
            lib.checkpoint(fn, t, t, use_reentrant=True, context_fn=lambda: (None, None))
        with pytest.raises(ValueError, match="determinism_check"):
            lib.checkpoint(fn, t, t, use_reentrant=False, determinism_check="strict")
        # a function with no tensor result: returned as it is
        assert lib.checkpoint(lambda a: None, t, use_reentrant=False) is None
        assert lib.checkpoint(lambda a: 3, t, use_reentrant=False) == 3
    with pytest.raises(TypeError, match="callable"):
        checkpoint(3, x, use_reentrant=False)
    with pytest.raises(ValueError, match="segments"):
        checkpoint_sequential([nb.sin, nb.cos], 3, x, use_reentrant=False)


def test_recomputation_that_differs_raises():
    calls = []

    def f(x):
        calls.append(1)
        return x[: len(calls)] * 2  # a different shape the second time

    x = nb.ones(4, requires_grad=True)
    with pytest.raises(CheckpointError, match="recomputation"):
        checkpoint(f, x, use_reentrant=False).sum().backward()
    assert issubclass(CheckpointError, RuntimeError)


def test_backward_twice_and_inplace_change_raise():
    x = nb.randn(3, requires_grad=True)
    loss = checkpoint(lambda t: t.exp(), x, use_reentrant=False).sum()
    loss.backward()
    with pytest.raises(RuntimeError, match="second time"):
        loss.backward()
    # retain_graph: the function is recomputed once per backward, gradients add up
    x.grad = None
    loss = checkpoint(lambda t: t.exp(), x, use_reentrant=False).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.exp(x.detach().numpy()), rtol=1e-6)

    y = nb.randn(3).requires_grad_()
    h = y * 1.0
    out = checkpoint(lambda t: t.exp(), h, use_reentrant=False)
    with nb.no_grad():
        h.add_(1.0)
    with pytest.raises(RuntimeError, match="in-place"):
        out.sum().backward()


def test_context_fn_and_no_grad():
    entered = []

    class Mark:
        def __init__(self, name):
            self.name = name

        def __enter__(self):
            entered.append(self.name)

        def __exit__(self, *exc):
            return False

    x = nb.randn(3, requires_grad=True)
    out = checkpoint(nb.sin, x, use_reentrant=False,
                     context_fn=lambda: (Mark("forward"), Mark("recompute")))
    assert entered == ["forward"]
    out.sum().backward()
    assert entered == ["forward", "recompute"]
    with nb.no_grad():
        out = checkpoint(nb.sin, x, use_reentrant=False)
    assert not out.requires_grad and out._node is None


# -- nabla.compile -------------------------------------------------------------------------------
def test_compile_is_a_no_op_returning_the_model():
    model = nn.Sequential(nn.Linear(4, 4), nn.ReLU())
    x = nb.randn(2, 4)
    expected = model(x).detach().numpy()
    assert nb.compile(model) is model
    assert nb.compile(model, mode="max-autotune", fullgraph=True, dynamic=False) is model
    assert model.compile() is None  # in place, as torch's Module.compile
    np.testing.assert_array_equal(model(x).detach().numpy(), expected)

    @nb.compile(mode="reduce-overhead")
    def f(a):
        return a * 2 + 1

    @nb.compiler.disable
    def g(a):
        return a - 1

    np.testing.assert_array_equal(f(x).numpy(), x.numpy() * 2 + 1)
    np.testing.assert_array_equal(g(x).numpy(), x.numpy() - 1)
    assert nb.compiler.is_compiling() is False
    assert nb.compiler.disable(recursive=False)(g) is g
    with pytest.raises(RuntimeError, match="mode or options"):
        nb.compile(model, mode="default", options={})
    with pytest.raises(TypeError, match="callable"):
        nb.compile(3)


@needs_torch
def test_a_torch_compile_script_runs_the_same():
    torch.manual_seed(0)
    tmodel = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))
    copy_from_torch(model, tmodel)
    xs = np.random.default_rng(4).standard_normal((3, 4)).astype(np.float32)

    def script(lib, model, x):  # a training step as a torch.compile script writes it
        model.compile()
        step = lib.compile(lambda inp: model(inp).square().mean(), disable=True)
        loss = step(x)
        loss.backward()
        return loss.item(), model[0].weight.grad.numpy()

    loss, grad = script(nb, model, nb.tensor(xs))
    tloss, tgrad = script(torch, tmodel, torch.tensor(xs))
    np.testing.assert_allclose(loss, tloss, rtol=1e-5)
    np.testing.assert_allclose(grad, tgrad, rtol=1e-4, atol=1e-6)
