"""Module hooks (forward, full backward, state_dict, load_state_dict, global), extra
state, the rest of torch.nn.Module's public API, and Tensor post-accumulate-grad hooks
-- each compared with what PyTorch 2.13 does for the same module and the same hooks."""
import warnings

import numpy as np
import pytest

import nabla as nb
import nabla.nn as nn
from nabla.nn import module as nb_module

torch = pytest.importorskip("torch")

LIBS = [nb, torch]


def arr(t):
    return None if t is None else t.detach().numpy().copy()


def same(a, b):
    """Two nested tuples/lists of arrays (or None) are equal, None where None."""
    assert type(a) is type(b) or (a is not None and b is not None), (a, b)
    if isinstance(a, (tuple, list)):
        assert len(a) == len(b), (a, b)
        for x, y in zip(a, b):
            same(x, y)
    elif isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    else:
        assert a == b, (a, b)


def run_both(fn):
    """``fn(lib)`` for nabla and torch; asserts both results equal and returns nabla's."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got, want = fn(nb), fn(torch)
    same(got, want)
    return got


def linear(lib, n_in, n_out, seed=0):
    """A Linear layer with the same weights in both libraries."""
    rng = np.random.default_rng(seed)
    layer = lib.nn.Linear(n_in, n_out)
    with lib.no_grad():
        layer.weight.copy_(lib.tensor(rng.standard_normal((n_out, n_in)).astype(np.float32)))
        layer.bias.copy_(lib.tensor(rng.standard_normal(n_out).astype(np.float32)))
    return layer


def make_two_inputs(lib):
    class TwoInputs(lib.nn.Module):
        """Two outputs; the second input never needs a gradient."""

        def forward(self, x, y, k=2):
            return x * y * k, (x + 1) ** 2
    return TwoInputs()


# -- full backward hooks --------------------------------------------------------------------
def test_full_backward_hook_sees_grads_of_inputs_and_outputs_like_torch():
    def go(lib):
        m = make_two_inputs(lib)
        seen = []
        m.register_full_backward_pre_hook(lambda mod, go: seen.append(("pre", go)))
        m.register_full_backward_hook(lambda mod, gi, go: seen.append(("full", gi, go)))
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = lib.tensor([3.0, -4.0])  # does not require grad: zeros, as torch gives
        a, b = m(x, y, 3)  # a non-Tensor positional argument: None
        (a.sum() + (b * lib.tensor([1.0, 5.0])).sum()).backward()
        assert [s[0] for s in seen] == ["pre", "full"]
        return ([arr(g) for g in seen[0][1]], [arr(g) for g in seen[1][1]],
                [arr(g) for g in seen[1][2]], arr(x.grad))
    gi = run_both(go)[1]
    assert gi[2] is None


def test_unused_output_gives_none_and_unused_input_gives_zeros_like_torch():
    def go(lib):
        m = make_two_inputs(lib)
        seen = []
        m.register_full_backward_hook(lambda mod, gi, go: seen.append((gi, go)))
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = lib.tensor([0.5, 0.5], requires_grad=True)
        a, b = m(x, y)
        b.sum().backward()  # the first output receives no gradient
        (gi, go_), = seen
        return [arr(g) for g in gi], [arr(g) for g in go_], arr(x.grad), arr(y.grad)
    gi, go_, _, ygrad = run_both(go)
    assert go_[0] is None
    np.testing.assert_array_equal(ygrad, [0.0, 0.0])  # torch materializes zeros too


def test_hooks_that_modify_gradients_change_the_backward_like_torch():
    def go(lib):
        net = lib.nn.Sequential(linear(lib, 3, 4, seed=1), lib.nn.Tanh(), linear(lib, 4, 2, 2))
        net[0].register_full_backward_hook(lambda m, gi, go: (gi[0] * 10,))
        net[2].register_full_backward_pre_hook(lambda m, go: (go[0] * -2,))
        x = lib.tensor(np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3),
                       requires_grad=True)
        (net(x) ** 2).sum().backward()
        return arr(x.grad), arr(net[0].weight.grad), arr(net[2].weight.grad)
    run_both(go)


def test_hook_order_prepend_and_nested_modules_like_torch():
    def go(lib):
        calls = []
        inner = linear(lib, 2, 2)
        outer = lib.nn.Sequential(inner, lib.nn.ReLU())
        for name, mod in (("outer", outer), ("inner", inner)):
            mod.register_full_backward_pre_hook(lambda m, go, n=name: calls.append(n + ".pre"))
            mod.register_full_backward_hook(lambda m, gi, go, n=name: calls.append(n + ".a"))
            mod.register_full_backward_hook(lambda m, gi, go, n=name: calls.append(n + ".b"),
                                            prepend=True)
        x = lib.ones(1, 2, requires_grad=True)
        outer(x).sum().backward()
        return calls
    calls_nb = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        calls_nb, calls_torch = go(nb), go(torch)
    assert calls_nb == calls_torch
    assert calls_nb[0] == "outer.pre"


def test_no_input_requires_grad_runs_hook_with_grad_input_none_and_warns():
    def go(lib):
        layer = linear(lib, 2, 1)
        seen = []
        layer.register_full_backward_hook(lambda m, gi, go: seen.append((gi, go)))
        layer(lib.ones(3, 2)).sum().backward()
        (gi, go_), = seen
        return list(gi), [arr(g) for g in go_], arr(layer.weight.grad)
    assert run_both(go)[0] == [None]
    layer = nn.Linear(2, 1)
    layer.register_full_backward_hook(lambda m, gi, go: (nb.ones(3, 2),))
    with pytest.warns(UserWarning, match="no input requires grad"):
        with pytest.raises(RuntimeError, match="must return None"):
            layer(nb.ones(3, 2)).sum().backward()


def test_module_called_twice_runs_hooks_per_call_and_remove_and_context_manager():
    layer = nn.Linear(2, 2)
    grads = []
    handle = layer.register_full_backward_hook(lambda m, gi, go: grads.append(arr(gi[0])))
    x = nb.ones(1, 2, requires_grad=True)
    (layer(x) + 2 * layer(x)).sum().backward()
    assert len(grads) == 2
    handle.remove()
    handle.remove()  # twice is harmless
    layer(x).sum().backward()
    assert len(grads) == 2
    with layer.register_full_backward_pre_hook(lambda m, go: grads.append("pre")):
        layer(x).sum().backward()
    layer(x).sum().backward()
    assert grads[2:] == ["pre"]


def test_bad_hook_return_length_names_the_module():
    layer = nn.Linear(2, 2)
    layer.register_full_backward_hook(lambda m, gi, go: (gi[0], gi[0]))
    with pytest.raises(RuntimeError, match=r"Linear: .*returned 2 gradients; expected 1"):
        layer(nb.ones(1, 2, requires_grad=True)).sum().backward()
    layer = nn.Linear(2, 2)
    layer.register_full_backward_pre_hook(lambda m, go: (go[0], None))
    with pytest.raises(RuntimeError, match=r"Linear: .*pre-hook returned 2"):
        layer(nb.ones(1, 2, requires_grad=True)).sum().backward()


def test_gates_keep_higher_order_gradients_and_autograd_grad_like_torch():
    def go(lib):
        class Cube(lib.nn.Module):
            def forward(self, x):
                return x ** 3
        m = Cube()
        seen = []
        m.register_full_backward_hook(lambda mod, gi, go: seen.append(arr(gi[0])))
        x = lib.tensor([1.0, -2.0], requires_grad=True)
        g, = lib.autograd.grad(m(x).sum(), x, create_graph=True)
        g2, = lib.autograd.grad(g.sum(), x)
        return arr(g), arr(g2), seen
    run_both(go)


def test_global_module_hooks_like_torch():
    def go(lib):
        mm = nb_module if lib is nb else torch.nn.modules.module
        calls = []
        handles = [
            mm.register_module_forward_pre_hook(lambda m, a: calls.append(("fpre", type(m).__name__))),
            mm.register_module_forward_hook(lambda m, a, o: calls.append(("f", type(m).__name__))),
            mm.register_module_full_backward_pre_hook(lambda m, g: calls.append(("bpre", type(m).__name__))),
            mm.register_module_full_backward_hook(lambda m, gi, go: calls.append(("b", type(m).__name__))),
        ]
        try:
            net = lib.nn.Sequential(linear(lib, 2, 2), lib.nn.ReLU())
            net(lib.ones(1, 2, requires_grad=True)).sum().backward()
        finally:
            for h in handles:
                h.remove()
        net(lib.ones(1, 2)).sum().backward()  # removed: nothing more
        return calls
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert go(nb) == go(torch)


def test_deprecated_backward_hook_sees_the_last_op_like_torch():
    def go(lib):
        class Scale(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.w = lib.nn.Parameter(lib.tensor([2.0, 3.0]))

            def forward(self, x):
                return x * self.w
        m = Scale()
        seen = []
        m.register_backward_hook(lambda mod, gi, go: seen.append(
            ([arr(g) for g in gi], [arr(g) for g in go])))
        x = lib.tensor([1.0, 5.0], requires_grad=True)
        (m(x) * lib.tensor([1.0, -1.0])).sum().backward()
        return seen, arr(x.grad)
    run_both(go)
    m = nn.Linear(1, 1)
    m.register_backward_hook(lambda *a: None)
    with pytest.raises(RuntimeError, match="both register_backward_hook and"):
        m.register_full_backward_hook(lambda *a: None)


# -- forward hooks ----------------------------------------------------------------------------
def test_forward_hook_options_like_torch():
    def go(lib):
        calls = []
        layer = linear(lib, 2, 2)

        class Wrap(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.layer = layer

            def forward(self, x, scale=1.0):
                return self.layer(x) * scale
        m = Wrap()
        m.register_forward_pre_hook(lambda mod, a: calls.append("pre1"))
        m.register_forward_pre_hook(lambda mod, a: calls.append("pre0"), prepend=True)
        m.register_forward_pre_hook(
            lambda mod, a, kw: (a, {**kw, "scale": kw.get("scale", 1.0) * 10}), with_kwargs=True)
        m.register_forward_hook(lambda mod, a, kw, out: calls.append(("kw", kw)) or out + 1,
                                with_kwargs=True)
        m.register_forward_hook(lambda mod, a, out: calls.append("post0"), prepend=True)
        out = m(lib.ones(1, 2), scale=2.0)
        return calls, arr(out)
    (calls, _) = run_both(lambda lib: (str(go(lib)[0]), go(lib)[1]))
    assert "'scale': 20.0" in calls


def test_always_call_forward_hook_runs_when_forward_raises_like_torch():
    def go(lib):
        class Boom(lib.nn.Module):
            def forward(self, x):
                raise ValueError("boom")
        m = Boom()
        calls = []
        m.register_forward_hook(lambda mod, a, out: calls.append(("always", out)),
                                always_call=True)
        m.register_forward_hook(lambda mod, a, out: calls.append("normal"))
        with pytest.raises(ValueError, match="boom"):
            m(lib.ones(1))
        return calls
    assert go(nb) == go(torch) == [("always", None)]


def test_forward_pre_hook_with_kwargs_must_return_a_pair():
    m = nn.Identity()
    m.register_forward_pre_hook(lambda mod, a, kw: a, with_kwargs=True)
    with pytest.raises(RuntimeError, match=r"Identity: .*\(new_args, new_kwargs\)"):
        m(nb.ones(1))
    with pytest.raises(TypeError, match="callable"):
        m.register_forward_hook(3)


# -- state_dict and load_state_dict hooks, extra state ------------------------------------------
def make_net(lib, extra_cls=None):
    net = lib.nn.Sequential(linear(lib, 2, 3), lib.nn.BatchNorm1d(3))
    return net


def test_state_dict_hooks_like_torch():
    def go(lib):
        net = make_net(lib)
        calls = []
        for name, mod in (("root", net), ("0", net[0]), ("1", net[1])):
            mod.register_state_dict_pre_hook(
                lambda m, prefix, keep_vars, n=name: calls.append(("pre", n, prefix, keep_vars)))

            def post(m, sd, prefix, meta, n=name):
                calls.append(("post", n, prefix, sorted(sd), meta.get("version")))
                sd[prefix + "note"] = lib.ones(1)
            mod.register_state_dict_post_hook(post)
        keys = list(net.state_dict(prefix="model."))
        # torch's version numbers differ per layer (BatchNorm is 2): compare without them
        return [c[:4] for c in calls], keys
    run_both(go)
    net = nn.Linear(1, 1)
    net.register_state_dict_post_hook(lambda m, sd, p, meta: {})
    with pytest.raises(RuntimeError, match="Linear: a state_dict post-hook must return None"):
        net.state_dict()


def test_load_state_dict_hooks_rename_keys_and_clear_missing_like_torch():
    def go(lib):
        net = make_net(lib)
        source = {k: v + 1 for k, v in make_net(lib).state_dict().items()
                  if not k.endswith("running_var")}
        source["0.W"] = source.pop("0.weight")  # an old checkpoint's name
        calls = []

        def rename(m, sd, prefix, meta, strict, missing, unexpected, errors):
            calls.append(("pre", prefix, strict))
            if prefix + "W" in sd:
                sd[prefix + "weight"] = sd.pop(prefix + "W")

        def forgive(m, keys):
            calls.append(("post", list(keys.missing_keys), list(keys.unexpected_keys)))
            keys.missing_keys[:] = [k for k in keys.missing_keys if "running_var" not in k]
        net[0].register_load_state_dict_pre_hook(rename)
        net.register_load_state_dict_post_hook(forgive)
        result = net.load_state_dict(source)  # strict, but the post hook forgave the miss
        assert "0.W" in source  # the caller's dict is not edited
        return calls, list(result.missing_keys), arr(net[0].weight)
    run_both(go)


class WithExtra:
    """A mixin: a step counter and a dict saved as extra state."""

    def init_extra(self):
        self.steps, self.config = 0, {"mode": "fast"}

    def get_extra_state(self):
        return {"steps": self.steps, "config": self.config}

    def set_extra_state(self, state):
        self.steps, self.config = state["steps"], dict(state["config"])


def test_extra_state_keys_like_torch_and_round_trip_through_nabla_save(tmp_path):
    def build(lib):
        class Counter(WithExtra, lib.nn.Linear):
            pass
        net = lib.nn.Sequential(lib.nn.ReLU(), Counter(2, 2))
        net[1].init_extra()
        return net
    assert list(build(nb).state_dict()) == list(build(torch).state_dict()) == [
        "1.weight", "1.bias", "1._extra_state"]
    net = build(nb)
    net[1].steps, net[1].config = 7, {"mode": "slow", "sizes": [1, 2]}
    path = tmp_path / "net.safetensors"
    nb.save(net.state_dict(), path)
    loaded = nb.load(path)
    other = build(nb)
    other.load_state_dict(loaded)
    assert other[1].steps == 7 and other[1].config == {"mode": "slow", "sizes": [1, 2]}
    np.testing.assert_array_equal(arr(other[1].weight), arr(net[1].weight))
    # strict: a module with extra state needs the key
    del loaded["1._extra_state"]
    with pytest.raises(RuntimeError, match=r"missing keys: 1\._extra_state"):
        build(nb).load_state_dict(loaded)
    assert build(nb).load_state_dict(loaded, strict=False).missing_keys == []


def test_extra_state_tensor_and_default_errors():
    class Holder(nn.Module):
        def get_extra_state(self):
            return nb.arange(3.0)

        def set_extra_state(self, state):
            self.got = state
    sd = Holder().state_dict()
    h = Holder()
    h.load_state_dict(sd)
    np.testing.assert_array_equal(h.got.numpy(), [0.0, 1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"Linear.get_extra_state\(\) was called"):
        nn.Linear(1, 1).get_extra_state()
    with pytest.raises(RuntimeError, match="unexpected keys: _extra_state"):
        nn.Linear(1, 1).load_state_dict({**nn.Linear(1, 1).state_dict(), "_extra_state": 1})


def test_load_state_dict_assign_replaces_tensors():
    layer = nn.Linear(2, 2)
    new = {"weight": nb.ones(2, 2), "bias": nb.zeros(2)}
    layer.load_state_dict(new, assign=True)
    assert isinstance(layer.weight, nn.Parameter) and layer.weight.requires_grad
    np.testing.assert_array_equal(arr(layer.weight), np.ones((2, 2)))
    with pytest.raises(TypeError, match="expected a mapping"):
        layer.load_state_dict([("weight", nb.ones(2, 2))])


# -- the rest of the public API ------------------------------------------------------------
def test_every_public_torch_module_method_exists():
    skipped = {"compile", "ipu", "xpu", "mtia", "T_destination"}  # no such backends here
    public = {n for n in dir(torch.nn.Module) if not n.startswith("_")}
    assert sorted(public - skipped - set(dir(nn.Module))) == []
    assert nn.Module.call_super_init is False and nn.Module.dump_patches is False


def test_get_buffer_and_set_submodule_like_torch():
    def go(lib):
        net = lib.nn.Sequential(lib.nn.Sequential(lib.nn.BatchNorm1d(2)), lib.nn.ReLU())
        buf = arr(net.get_buffer("0.0.running_var"))
        net.set_submodule("0.0", lib.nn.Identity())
        net.set_submodule("1", lib.nn.Tanh(), strict=True)
        with pytest.raises(AttributeError):
            net.set_submodule("0.7", lib.nn.Tanh(), strict=True)
        with pytest.raises(AttributeError):
            net.get_buffer("0.0.running_var")
        return buf, [type(m).__name__ for m in net.modules()]
    run_both(lambda lib: (go(lib)[0], str(go(lib)[1])))


def test_conversions_type_bfloat16_to_empty_share_memory():
    layer = nn.BatchNorm1d(2)
    assert layer.bfloat16() is layer and layer.weight.dtype == nb.bfloat16
    assert layer.num_batches_tracked.dtype == nb.int64  # integers stay as they are
    layer.type(nb.float64)
    assert layer.weight.dtype == nb.float64 and layer.num_batches_tracked.dtype == nb.float64
    w = layer.weight
    assert layer.to_empty(device="cpu") is layer and layer.weight is w
    assert layer.weight.shape == (2,) and layer.weight.dtype == nb.float64
    assert layer.share_memory() is layer


def test_call_super_init_passes_arguments_to_mixins():
    class Named:
        def __init__(self, name=None):
            self.name = name

    class Plain(nn.Module, Named):
        pass

    class Cooperative(nn.Module, Named):
        call_super_init = True
    assert Cooperative(name="a").name == "a"
    with pytest.raises(TypeError, match="Plain: Module.__init__"):
        Plain(name="a")


# -- Tensor.register_post_accumulate_grad_hook ---------------------------------------------------
def test_post_accumulate_grad_hook_like_torch():
    def go(lib):
        w = lib.tensor([1.0, 2.0], requires_grad=True)
        seen = []
        handle = w.register_post_accumulate_grad_hook(lambda p: seen.append(arr(p.grad)))
        (w * 3).sum().backward()
        (w * w).sum().backward()
        lib.autograd.grad((w * 5).sum(), w)  # no .grad accumulated: not called
        handle.remove()
        (w * 3).sum().backward()
        return seen, arr(w.grad)
    seen, _ = run_both(go)
    assert len(seen) == 2
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        (nb.ones(1, requires_grad=True) * 2).register_post_accumulate_grad_hook(print)
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        nb.ones(1).register_post_accumulate_grad_hook(print)


def test_optimizer_in_backward_matches_torch():
    def go(lib):
        net = lib.nn.Sequential(linear(lib, 3, 4, 5), lib.nn.Tanh(), linear(lib, 4, 1, 6))
        opts = {}
        for p in net.parameters():
            opts[p] = lib.optim.SGD([p], lr=0.1)

            def step(param):
                opts[param].step()
                opts[param].zero_grad()
            p.register_post_accumulate_grad_hook(step)
        x = lib.tensor(np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3))
        for _ in range(3):
            (net(x) ** 2).mean().backward()
        return [arr(p) for p in net.parameters()]
    run_both(go)
