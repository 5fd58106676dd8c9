"""In-place ops: version counters, saved-tensor checks, leaves, non-leaves and views."""
import numpy as np
import pytest

import nabla as nb


def leaf(values=(1.0, 2.0)):
    return nb.tensor(list(values), requires_grad=True)


def sigmoid(x):
    return 1 / (1 + np.exp(-np.asarray(x)))


def _setitem(t):
    t[0] = 5.0


@pytest.mark.parametrize("name, op", [
    ("add_", lambda t: t.add_(1.0)),
    ("mul_", lambda t: t.mul_(2.0)),
    ("zero_", lambda t: t.zero_()),
    ("fill_", lambda t: t.fill_(3.0)),
    ("copy_", lambda t: t.copy_(nb.tensor([7.0, 8.0]))),
    ("__iadd__", lambda t: t.__iadd__(1.0)),
    ("__setitem__", _setitem),
])
def test_inplace_ops_bump_version_and_write(name, op):
    t = nb.tensor([1.0, 2.0])
    before = t.numpy().copy()
    result = op(t)
    assert t._version[0] == 1, name
    assert not np.array_equal(t.numpy(), before), name
    if result is not None:
        assert result is t       # in-place ops return the tensor itself


def test_iadd_keeps_identity_and_values():
    t = nb.tensor([1.0, 2.0])
    alias = t
    t += 1
    t *= 3
    assert t is alias and t._version[0] == 2
    np.testing.assert_array_equal(t.numpy(), [6.0, 9.0])


def test_modifying_saved_input_raises():
    x = leaf()
    a = x * 2
    b = a * a                   # Mul saves a
    a.add_(1)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        b.sum().backward()


def test_modifying_tensor_saved_by_another_op_raises():
    x = leaf()
    y = x.sigmoid()
    z = y * 2                   # Mul saves y (its input)
    y.mul_(2)
    with pytest.raises(RuntimeError, match=r"Mul: input 0 .*modified by an in-place operation"):
        z.sum().backward()


def test_modifying_saved_output_raises():
    x = leaf()
    y = x.sigmoid()             # Sigmoid's vjp reads its output
    with nb.no_grad():
        y.mul_(2)               # changes the output behind the recorded graph's back
    with pytest.raises(RuntimeError, match=r"Sigmoid: its output .*modified by an in-place"):
        y.sum().backward()


def test_inplace_on_recorded_output_keeps_gradient_correct():
    # recording in-place on sigmoid's output: the node keeps the old value
    x = leaf()
    y = x.sigmoid()
    y.mul_(2)
    y.sum().backward()
    s = sigmoid([1.0, 2.0])
    np.testing.assert_allclose(x.grad.numpy(), 2 * s * (1 - s), rtol=1e-6)


def test_inplace_on_unsaved_tensor_is_fine():
    x = leaf()
    a = x * 2
    b = a + 3                   # Add saves nothing
    a.add_(1)
    b.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0])
    np.testing.assert_array_equal(b.detach().numpy(), [5.0, 7.0])


@pytest.mark.parametrize("op", [
    lambda t: t.add_(1.0), lambda t: t.mul_(2.0), lambda t: t.zero_(),
    lambda t: t.fill_(1.0), lambda t: t.copy_(nb.tensor([3.0, 4.0])),
    lambda t: t.__iadd__(1.0), _setitem,
])
def test_inplace_on_leaf_requiring_grad_raises(op):
    x = leaf()
    with pytest.raises(RuntimeError, match="requires grad"):
        op(x)
    assert x._version[0] == 0
    with nb.no_grad():
        op(x)
    assert x._version[0] == 1 and x.requires_grad and x.is_leaf


def test_inplace_on_non_leaf_gives_right_gradient():
    x = leaf()
    y = x * 2
    y.mul_(3)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [6.0, 6.0])


def test_chain_of_inplace_ops_on_non_leaf():
    x = leaf()
    y = x * 1
    y += x                      # 2x
    y.mul_(x)                   # 2x^2
    y.sub_(1)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 8.0])
    np.testing.assert_allclose(y.detach().numpy(), [1.0, 7.0])


def test_inplace_with_grad_requiring_operand():
    x, w = leaf(), leaf((3.0, 4.0))
    buf = nb.zeros(2)
    buf.add_(w * x)             # buf now depends on x and w
    assert buf.requires_grad and not buf.is_leaf
    buf.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 4.0])
    np.testing.assert_array_equal(w.grad.numpy(), [1.0, 2.0])


def test_copy_into_plain_tensor_records():
    x = leaf()
    buf = nb.zeros(2)
    buf.copy_(x * 3)
    buf.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])


@pytest.mark.parametrize("op, value", [("zero_", 0.0), ("fill_", 3.0)])
def test_fill_on_non_leaf_cuts_the_gradient(op, value):
    x = leaf()
    y = x * 2
    getattr(y, op)(*([] if op == "zero_" else [value]))
    (y * x).sum().backward()    # y is now a constant: d/dx = y
    np.testing.assert_array_equal(x.grad.numpy(), [value, value])


def test_views_share_the_version_counter():
    t = nb.tensor([1.0, 2.0, 3.0, 4.0])
    v = t.reshape(2, 2)
    s = t[1:]
    d = t.detach()
    v.add_(1)
    assert t._version[0] == v._version[0] == s._version[0] == d._version[0] == 1
    s.mul_(2)
    assert t._version[0] == 2
    np.testing.assert_array_equal(t.numpy(), [2.0, 6.0, 8.0, 10.0])   # views write through
    d.zero_()
    assert t._version[0] == 3 and float(t.sum()) == 0.0


def test_modifying_a_view_of_a_saved_tensor_raises():
    x = leaf()
    y = x * 1
    s = y.sin()                 # Sin saves y
    with nb.no_grad():
        y.reshape(2, 1).mul_(2)
    with pytest.raises(RuntimeError, match="Sin: input 0 .*modified by an in-place"):
        s.sum().backward()


_X = np.random.default_rng(3).standard_normal((3, 4))
_W = np.random.default_rng(4).standard_normal((3, 4))
_Y = np.random.default_rng(5).standard_normal(3)


def _view_case(lib, case: str):
    """In-place ops on views while recording; each returns (x.grad, y.grad, loss)."""
    x, y, w = lib.tensor(_X, requires_grad=True), lib.tensor(_Y, requires_grad=True), lib.tensor(_W)
    h = x * 2
    if case == "column":
        h[:, 0].mul_(3)
        out = (h * w).sum()
    elif case == "overlapping siblings":  # c and a share h[0, 0]; c was made before a changed
        c, a = h[0], h[:, 0]
        a.add_(y * 1.5)
        out = (c * c).sum() + (h * w).sum() + (a ** 2).sum()
    elif case == "relu inplace on reshape":
        v = h.view(2, 6)
        lib.nn.functional.relu(v, inplace=True)
        out = (h * w).sum() + v.sum()
    elif case == "view of a view":
        h.view(2, 6)[1].mul_(y.sum())
        out = (h * w).sum()
    elif case == "transposed":
        h.t()[1].sub_(y)
        out = (h * w).sum()
    else:  # "constant base": a buffer takes differentiable values through its views
        buf = lib.zeros(3, 4, dtype=lib.float64)
        buf[:, 1].copy_(y)
        buf.narrow(1, 2, 1).add_(y.unsqueeze(1))
        out = (buf * w).sum() + (buf ** 2).sum()
    out.backward()
    return tuple(None if t.grad is None else t.grad.numpy() for t in (x, y)) + (out.item(),)


@pytest.mark.parametrize("case", ["column", "overlapping siblings", "relu inplace on reshape",
                                  "view of a view", "transposed", "constant base"])
def test_inplace_on_a_view_while_recording_matches_torch(case):
    """The base takes the new history and every view reads through it, as in PyTorch."""
    torch = pytest.importorskip("torch")
    ours, theirs = _view_case(nb, case), _view_case(torch, case)
    for a, b in zip(ours[:2], theirs[:2]):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ours[2], theirs[2], rtol=1e-12)


def test_inplace_on_a_view_by_hand():
    x = leaf((1.0, 2.0, 3.0))
    h = x * 1
    h[1:].mul_(5)
    (h * nb.tensor([1.0, 10.0, 100.0], dtype=nb.float64)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 50.0, 500.0])
    np.testing.assert_array_equal(h.detach().numpy(), [1.0, 10.0, 15.0])


def test_inplace_on_a_view_of_a_leaf_or_of_a_saved_value_is_refused():
    x = leaf()
    with pytest.raises(RuntimeError, match=r"mul_: a view of a leaf tensor that requires grad"):
        x[0:1].mul_(2)
    y = x * 1
    s = y.sin()                 # Sin saves y; changing it through a view is caught
    y[0:1].mul_(2)
    with pytest.raises(RuntimeError, match="Sin: input 0 .*modified by an in-place"):
        s.sum().backward()


def test_write_shape_and_dtype_errors():
    t = nb.tensor([1, 2])
    with pytest.raises(RuntimeError, match="float.*can't be cast.*int64"):
        t.add_(0.5)
    with pytest.raises(RuntimeError, match=r"copy_: source of shape \(3,\).*shape \(2,\)"):
        t.copy_(nb.tensor([1, 2, 3]))
