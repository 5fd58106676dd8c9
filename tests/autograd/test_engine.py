"""Reverse mode: worked examples, backward()/grad() options, hooks, memory, errors."""
import gc
import math
import weakref

import numpy as np
import pytest

import nabla as nb
from nabla.autograd import forward_ad


def t64(a, requires_grad=False):
    return nb.tensor(np.asarray(a, dtype=np.float64), requires_grad=requires_grad)


# -- worked examples -------------------------------------------------------------------------
def test_square_of_square():
    x = t64([0.5, -1.5, 2.0], requires_grad=True)
    y = x * x
    z = (y * y).sum()
    z.backward()
    np.testing.assert_allclose(x.grad.numpy(), 4 * x.detach().numpy() ** 3)


def _two_output_graph(x1, x2):
    v1 = x1 * x2
    v2 = x2.log()
    return v1.sin(), v1 + v2, v2


def test_two_outputs_reverse_mode():
    x1, x2 = t64(2.0, True), t64(3.0, True)
    y1, y2, v2 = _two_output_graph(x1, x2)
    g1, g2, gv2 = nb.autograd.grad(y1, [x1, x2, v2], retain_graph=True, allow_unused=True)
    assert g1.item() == pytest.approx(3 * math.cos(6))
    assert g2.item() == pytest.approx(2 * math.cos(6))
    assert gv2 is None  # y1 does not depend on v2: dy1/dv2 = 0
    g1, g2 = nb.autograd.grad(y2, [x1, x2])
    assert g1.item() == pytest.approx(3.0)
    assert g2.item() == pytest.approx(2.0 + 1 / 3)


def test_two_outputs_forward_mode():
    with forward_ad.dual_level():
        x1 = forward_ad.make_dual(t64(2.0), t64(1.0))   # seed dx1 = 1
        x2 = t64(3.0)
        y1, y2, _ = _two_output_graph(x1, x2)
        assert forward_ad.unpack_dual(y1).tangent.item() == pytest.approx(3 * math.cos(6))
        assert forward_ad.unpack_dual(y2).tangent.item() == pytest.approx(3.0)
    with forward_ad.dual_level():
        x2 = forward_ad.make_dual(t64(3.0), t64(1.0))   # seed dx2 = 1
        y1, y2, v2 = _two_output_graph(t64(2.0), x2)
        assert forward_ad.unpack_dual(y1).tangent.item() == pytest.approx(2 * math.cos(6))
        assert forward_ad.unpack_dual(y2).tangent.item() == pytest.approx(2.0 + 1 / 3)
    with forward_ad.dual_level():
        v2 = forward_ad.make_dual(t64(math.log(3.0)), t64(1.0))   # seed dv2 = 1
        y1 = (t64(2.0) * t64(3.0)).sin()
        assert forward_ad.unpack_dual(y1).tangent is None      # dy1/dv2 = 0
        assert forward_ad.unpack_dual(t64(6.0) + v2).tangent.item() == 1.0


# -- backward() options ----------------------------------------------------------------------
def test_backward_with_gradient():
    x = t64([1.0, 2.0, 3.0], True)
    (x * x).backward(gradient=t64([1.0, 0.5, -1.0]))
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0, -6.0])


def test_grad_accumulates_over_two_backwards():
    x = t64([1.0, 2.0], True)
    (x * 3).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3 + 2, 3 + 4])


def test_retain_graph_allows_second_backward():
    x = t64([1.0, 2.0], True)
    y = (x.exp()).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.exp([1.0, 2.0]))


def test_create_graph_second_derivative_via_backward():
    x = t64(1.3, True)
    y = x ** 3
    (g,) = nb.autograd.grad(y, x, create_graph=True)
    assert g.requires_grad
    g.backward()
    assert x.grad.item() == pytest.approx(6 * 1.3)


def test_backward_create_graph_keeps_grad_differentiable():
    x = t64(0.4, True)
    x.sin().backward(create_graph=True)
    gx = x.grad                        # cos x, with a graph
    assert gx.grad_fn is not None
    (gg,) = nb.autograd.grad(gx, x)
    assert gg.item() == pytest.approx(-math.sin(0.4))


def test_shared_subexpression_gets_summed_gradient():
    x = t64([0.5, 2.0], True)
    a = x.exp()
    y = (a * a + a.sin() + a).sum()   # a used four times
    y.backward()
    e = np.exp([0.5, 2.0])
    np.testing.assert_allclose(x.grad.numpy(), (2 * e + np.cos(e) + 1) * e)


def test_same_tensor_twice_in_one_op():
    x = t64(3.0, True)
    (x * x).backward()
    assert x.grad.item() == 6.0


def test_retain_grad_on_non_leaf():
    x = t64([1.0, 2.0], True)
    h = x * 2
    h.retain_grad()
    assert h.retains_grad
    (h * h).sum().backward()
    np.testing.assert_allclose(h.grad.numpy(), [4.0, 8.0])
    np.testing.assert_allclose(x.grad.numpy(), [8.0, 16.0])
    k = x * 3
    (k * k).sum().backward()
    assert k.grad is None           # not retained


def test_grad_of_non_leaf_is_none_and_leaf_grad_independent_of_root():
    x = t64([1.0, 2.0], True)
    y = x * 2
    y.sum().backward()
    g = x.grad
    g.data[0] = 100.0               # .grad owns its memory
    x.grad = None
    (x * 2).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0])


# -- hooks -----------------------------------------------------------------------------------
def test_hooks_modify_observe_and_remove():
    x = t64([1.0, 2.0], True)
    seen = []
    h = x * 1.0
    h.register_hook(lambda g: seen.append(g.numpy().copy()))
    handle = h.register_hook(lambda g: g * 10)
    (h * t64([1.0, 3.0])).sum().backward(retain_graph=True)
    np.testing.assert_allclose(seen[0], [1.0, 3.0])
    np.testing.assert_allclose(x.grad.numpy(), [10.0, 30.0])
    handle.remove()
    x.grad = None
    (h * t64([1.0, 3.0])).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 3.0])
    assert len(seen) == 2


def test_hook_handle_is_a_context_manager():
    x = t64([1.0, 2.0], True)
    with x.register_hook(lambda g: g * 3):
        (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [6.0, 12.0])
    x.grad = None
    (x * x).sum().backward()  # removed on leaving the block
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0])


def test_hook_on_leaf_changes_accumulated_grad():
    x = t64([1.0, 2.0], True)
    x.register_hook(lambda g: g * 0 + 7)
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [7.0, 7.0])
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        t64([1.0]).register_hook(lambda g: g)


# -- autograd.grad ---------------------------------------------------------------------------
def test_grad_with_grad_outputs_multiple_outputs_and_inputs():
    a, b = t64([1.0, 2.0], True), t64([3.0, -1.0], True)
    y1, y2 = a * b, (a + b).sum()
    ga, gb = nb.autograd.grad([y1, y2], [a, b], grad_outputs=[t64([1.0, 2.0]), t64(3.0)])
    np.testing.assert_allclose(ga.numpy(), [3.0 + 3, -2.0 + 3])
    np.testing.assert_allclose(gb.numpy(), [1.0 + 3, 4.0 + 3])
    assert a.grad is None and b.grad is None   # grad() does not accumulate


def test_grad_allow_unused():
    a, b = t64(1.0, True), t64(2.0, True)
    with pytest.raises(RuntimeError, match="input 1.*not used.*allow_unused=True"):
        nb.autograd.grad(a * 2, [a, b])
    ga, gb = nb.autograd.grad(a * 2, [a, b], allow_unused=True)
    assert ga.item() == 2.0 and gb is None
    ga, gb = nb.autograd.grad(a * 2, [a, b], materialize_grads=True)
    assert gb.item() == 0.0


@pytest.mark.parametrize("x0", [0.3, 1.7])
def test_second_and_third_derivatives_are_analytic(x0):
    x = t64(x0, True)
    # y' = e^x (sin + cos), y'' = 2 e^x cos, y''' = 2 e^x (cos - sin)
    y = x.exp() * x.sin()
    (d1,) = nb.autograd.grad(y, x, create_graph=True)
    (d2,) = nb.autograd.grad(d1, x, create_graph=True)
    (d3,) = nb.autograd.grad(d2, x)
    e, s, c = math.exp(x0), math.sin(x0), math.cos(x0)
    assert d1.item() == pytest.approx(e * (s + c))
    assert d2.item() == pytest.approx(2 * e * c)
    assert d3.item() == pytest.approx(2 * e * (c - s))


def test_mixed_partial_derivative():
    x, y = t64(0.5, True), t64(2.0, True)
    f = x * x * y.sin()                        # d2f/dxdy = 2x cos y
    (fx,) = nb.autograd.grad(f, x, create_graph=True)
    (fxy,) = nb.autograd.grad(fx, y)
    assert fxy.item() == pytest.approx(2 * 0.5 * math.cos(2.0))


# -- scale and memory ------------------------------------------------------------------------
def test_long_chain_has_no_recursion_limit():
    x = t64([1.0, 2.0], True)
    y = x
    for _ in range(100_000):
        y = y + 1.0
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0])


def _graph_with_intermediate():
    x = t64([1.0, 2.0], True)
    a = x.exp()                     # saved by the Mul below
    loss = (a * a).sum()
    return x, weakref.ref(a), weakref.ref(a._node), loss


def test_backward_frees_intermediates():
    x, a_ref, node_ref, loss = _graph_with_intermediate()
    gc.collect()
    assert a_ref() is not None and node_ref() is not None   # alive: the graph holds them
    loss.backward()
    gc.collect()
    # freed although the root `loss` is still alive
    assert a_ref() is None and node_ref() is None
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.exp(2 * np.array([1.0, 2.0])))


def test_retain_graph_keeps_intermediates_until_dropped():
    x, a_ref, node_ref, loss = _graph_with_intermediate()
    loss.backward(retain_graph=True)
    gc.collect()
    assert a_ref() is not None and node_ref() is not None
    loss.backward()
    del loss
    gc.collect()
    assert a_ref() is None and node_ref() is None


def test_dropping_the_root_frees_the_graph_without_backward():
    x, a_ref, node_ref, loss = _graph_with_intermediate()
    del loss
    gc.collect()
    assert a_ref() is None


# -- errors ----------------------------------------------------------------------------------
def test_backward_on_non_scalar_needs_gradient():
    x = t64([1.0, 2.0], True)
    with pytest.raises(RuntimeError, match=r"scalar outputs.*shape \(2,\)"):
        (x * 2).backward()


def test_second_backward_through_freed_graph():
    x = t64([1.0, 2.0], True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_gradient_of_wrong_shape():
    x = t64([1.0, 2.0], True)
    with pytest.raises(RuntimeError, match=r"gradient 0 has shape \(3,\).*shape \(2,\)"):
        (x * 2).backward(gradient=t64([1.0, 1.0, 1.0]))


def test_requires_grad_on_int_tensor():
    with pytest.raises(RuntimeError, match="floating-point.*int64"):
        nb.tensor([1, 2], requires_grad=True)
    with pytest.raises(RuntimeError, match="floating-point.*int32"):
        nb.tensor([1, 2], dtype=nb.int32).requires_grad_()


def test_numpy_on_tensor_requiring_grad():
    x = t64([1.0], True)
    with pytest.raises(RuntimeError, match=r"requires grad.*detach\(\)\.numpy\(\)"):
        x.numpy()
    np.testing.assert_array_equal(x.detach().numpy(), [1.0])


def test_backward_on_tensor_without_graph():
    with pytest.raises(RuntimeError, match="does not require grad"):
        t64(1.0).backward()


def test_grad_of_input_not_requiring_grad():
    x = t64(1.0, True)
    with pytest.raises(RuntimeError, match="input 0 does not require grad"):
        nb.autograd.grad(x * 2, [t64(1.0)])


# -- slices add their cotangents in place ------------------------------------------------------
def test_chunks_overlapping_slices_and_whole_uses_accumulate_correctly():
    rng = np.random.default_rng(0)
    x0 = rng.standard_normal((4, 9))
    w = rng.standard_normal((4, 9))
    for order in range(3):  # the whole-tensor use reaches x's cotangent first, between, last
        x = nb.tensor(x0, requires_grad=True)
        q, k, v = x.chunk(3, dim=-1)
        parts = [(q * 2.0).sum(), (k * k).sum(), (v * nb.tensor(w[:, 6:])).sum(),
                 (x[1:3] * 3.0).sum(), (x[2:] * x[2:]).sum()]   # overlapping rows 2
        whole = (x * nb.tensor(w)).sum()
        parts.insert([0, 2, 5][order], whole)
        total = parts[0]
        for p in parts[1:]:
            total = total + p
        total.backward()
        expected = np.zeros_like(x0)
        expected[:, :3] += 2.0
        expected[:, 3:6] += 2 * x0[:, 3:6]
        expected[:, 6:] += w[:, 6:]
        expected[1:3] += 3.0
        expected[2:] += 2 * x0[2:]
        expected += w
        np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-12)


def test_in_place_slice_accumulation_never_writes_into_a_cotangent_it_did_not_make():
    x = nb.tensor(np.arange(6.0), requires_grad=True)
    t = x * 1.0
    t.retain_grad()
    seen = []
    u = t * 1.0
    u.register_hook(lambda g: seen.append(g.numpy().copy()))
    # t's cotangent: first u's (a vjp output that may alias g), then two slices of t
    root = nb.tensor(np.ones(6))
    loss_parts = (u * root).sum() + (t[:3] * 5.0).sum() + (t[2:] * 7.0).sum()
    loss_parts.backward()
    np.testing.assert_allclose(t.grad.numpy(), [6, 6, 13, 8, 8, 8])
    np.testing.assert_allclose(x.grad.numpy(), [6, 6, 13, 8, 8, 8])
    np.testing.assert_allclose(seen[0], np.ones(6))
    np.testing.assert_allclose(root.numpy(), np.ones(6))


def test_slice_gradients_to_second_order_still_exact():
    # create_graph runs the slicing vjp as a graph (the in-place path is first order only)
    x = nb.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    a, b = x[:2], x[1:]
    y = (a ** 3).sum() + (b ** 2).sum()
    (g,) = nb.autograd.grad(y, x, create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), [3.0, 12.0 + 4.0, 6.0])
    (h,) = nb.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(h.numpy(), [6.0, 12.0 + 2.0, 2.0])
