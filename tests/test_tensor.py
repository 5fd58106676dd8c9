"""The Tensor API: construction, conversion, properties, dtypes and promotion, seeding."""
import numpy as np
import pytest

import nabla as nb


# -- construction ----------------------------------------------------------------------------
def test_tensor_default_dtypes():
    assert nb.tensor([1.0]).dtype == nb.float32
    assert nb.tensor([1]).dtype == nb.int64
    assert nb.tensor(True).dtype == nb.bool
    assert nb.tensor([[1, 2.5]]).dtype == nb.float32
    assert nb.tensor(np.array([1, 2], dtype=np.int32)).dtype == nb.int32   # arrays keep theirs
    assert nb.tensor(np.array([1.0])).dtype == nb.float64


@pytest.mark.parametrize("dtype", [nb.float16, nb.float32, nb.float64, nb.int32, nb.int64,
                                   nb.bool])
def test_tensor_with_dtype(dtype):
    t = nb.tensor([0, 1, 2], dtype=dtype)
    assert t.dtype == dtype
    np.testing.assert_array_equal(t.numpy(), np.array([0, 1, 2]).astype(dtype))


def test_python_numbers_are_read_straight_into_the_asked_dtype():
    # never through the default float32 first: 0.2 keeps float64's digits, as in PyTorch
    assert nb.tensor([0.2], dtype=nb.float64).item() == 0.2
    assert nb.tensor(0.1, dtype="float64").item() == 0.1
    assert nb.as_tensor([[0.3]], dtype=nb.float64).item() == 0.3
    assert nb.tensor([1.7, -1.7], dtype=nb.int64).tolist() == [1, -1]  # truncation
    assert nb.tensor([0.2]).dtype == nb.float32 and nb.tensor([0.2]).item() != 0.2


def test_tensor_copies_data_and_device_and_requires_grad():
    a = np.array([1.0, 2.0])
    t = nb.tensor(a, device="cpu", requires_grad=True)
    a[0] = 100.0
    assert t.detach().numpy()[0] == 1.0
    assert t.device == nb.device("cpu") and str(t.device) == "cpu"
    assert t.requires_grad and t.is_leaf and t.grad is None


def test_tensor_bad_data():
    with pytest.raises(ValueError, match="could not build an array"):
        nb.tensor([[1, 2], [3]])


def test_tensor_rejects_strings():
    with pytest.raises(TypeError, match="str"):
        nb.tensor("abc")


def test_zeros_ones_full_empty():
    z = nb.zeros(2, 3)
    assert z.shape == (2, 3) and z.dtype == nb.float32 and not z.numpy().any()
    assert nb.zeros((2, 3)).shape == (2, 3)
    o = nb.ones(4, dtype=nb.int32)
    assert o.dtype == nb.int32 and o.numpy().tolist() == [1, 1, 1, 1]
    f = nb.full((2,), 1.5)
    assert f.dtype == nb.float32 and f.tolist() == [1.5, 1.5]
    assert nb.full((2,), 7).dtype == nb.int64
    assert nb.full((1,), True).dtype == nb.bool
    e = nb.empty(0, 3)
    assert e.shape == (0, 3) and e.numel() == 0
    assert nb.zeros(()).shape == ()


def test_arange_linspace_eye():
    assert nb.arange(5).tolist() == [0, 1, 2, 3, 4] and nb.arange(5).dtype == nb.int64
    a = nb.arange(0, 1, 0.25)
    assert a.dtype == nb.float32 and a.tolist() == [0.0, 0.25, 0.5, 0.75]
    assert nb.arange(2, 8, 3).tolist() == [2, 5]
    np.testing.assert_allclose(nb.linspace(0, 1, 5).numpy(), [0, 0.25, 0.5, 0.75, 1.0])
    assert nb.linspace(0, 1, 5).dtype == nb.float32
    np.testing.assert_array_equal(nb.eye(2, 3).numpy(), np.eye(2, 3))
    assert nb.eye(3, dtype=nb.float64).dtype == nb.float64


def test_random_constructors():
    r = nb.rand(100)
    assert r.dtype == nb.float32 and r.shape == (100,)
    assert 0 <= r.numpy().min() and r.numpy().max() < 1
    n = nb.randn(2000, dtype=nb.float64)
    assert n.dtype == nb.float64 and abs(float(n.mean())) < 0.1
    i = nb.randint(3, 7, (50,))
    assert i.dtype == nb.int64 and set(i.tolist()) <= {3, 4, 5, 6}
    assert set(nb.randint(2, (20,)).tolist()) <= {0, 1}
    assert nb.rand(2, 3, requires_grad=True).requires_grad


def test_like_constructors():
    x = nb.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=nb.float64)
    for fn in (nb.zeros_like, nb.ones_like, nb.empty_like, nb.rand_like, nb.randn_like):
        y = fn(x)
        assert y.shape == (2, 2) and y.dtype == nb.float64, fn.__name__
    assert nb.zeros_like(x).numpy().sum() == 0 and nb.ones_like(x).numpy().sum() == 4
    assert nb.ones_like(x, dtype=nb.int32).dtype == nb.int32
    np.testing.assert_array_equal(nb.full_like(x, 7).numpy(), np.full((2, 2), 7.0))
    r = nb.randint_like(nb.zeros(3, dtype=nb.int64), 0, 4)
    assert r.dtype == nb.int64 and set(r.tolist()) <= {0, 1, 2, 3}


def test_from_numpy_shares_memory_and_numpy_round_trip():
    a = np.arange(3.0)
    t = nb.from_numpy(a)
    assert t.dtype == nb.float64
    a[0] = 9.0
    assert t.tolist() == [9.0, 1.0, 2.0]
    t.add_(1)
    assert a.tolist() == [10.0, 2.0, 3.0]
    assert np.shares_memory(t.numpy(), a)
    with pytest.raises(TypeError, match="numpy.ndarray"):
        nb.from_numpy([1, 2])


# -- conversion and properties ---------------------------------------------------------------
def test_item_tolist():
    assert nb.tensor(3.5).item() == 3.5 and isinstance(nb.tensor(3.5).item(), float)
    assert nb.tensor([7]).item() == 7 and isinstance(nb.tensor([7]).item(), int)
    assert nb.tensor([[1, 2], [3, 4]]).tolist() == [[1, 2], [3, 4]]
    assert nb.tensor(2.0).tolist() == 2.0
    with pytest.raises(ValueError, match=r"one-element tensors.*shape \(2,\)"):
        nb.tensor([1.0, 2.0]).item()


def test_shape_size_numel_dim():
    x = nb.zeros(2, 3, 4)
    assert x.shape == (2, 3, 4) and x.size() == (2, 3, 4)
    assert x.size(0) == 2 and x.size(-1) == 4
    assert x.numel() == 24 and nb.numel(x) == 24
    assert x.dim() == 3 and x.ndim == 3 and len(x) == 2
    s = nb.tensor(1.0)
    assert s.shape == () and s.dim() == 0 and s.numel() == 1
    with pytest.raises(TypeError, match="0-d"):
        len(s)


def test_size_out_of_range_message():
    with pytest.raises(IndexError, match=r"dimension.*out of range"):
        nb.zeros(2, 3).size(2)


def test_transpose_property_and_contiguous():
    x = nb.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert x.T.shape == (3, 2)
    np.testing.assert_array_equal(x.T.numpy(), x.numpy().T)
    assert nb.zeros(2, 3, 4).T.shape == (4, 3, 2)
    assert x.is_contiguous() and x.contiguous() is x
    assert not x.T.is_contiguous()
    c = x.T.contiguous()
    assert c.is_contiguous()
    np.testing.assert_array_equal(c.numpy(), x.numpy().T)


def test_to_dtype_and_device_and_shortcuts():
    x = nb.tensor([1.5, -2.5])
    assert x.to(nb.float64).dtype == nb.float64
    assert x.to("float64").dtype == nb.float64
    assert x.to(dtype=nb.float16).dtype == nb.float16
    assert x.to("cpu") is x and x.cpu() is x
    assert x.to(nb.float32) is x
    assert x.to(nb.float32, copy=True) is not x
    assert x.double().dtype == nb.float64 and x.float() is x
    assert x.half().dtype == nb.float16
    assert x.bfloat16().dtype == nb.bfloat16 and x.to("bfloat16").dtype == nb.bfloat16
    assert x.long().tolist() == [1, -2] and x.long().dtype == nb.int64
    assert x.int().dtype == nb.int32 and x.bool().dtype == nb.bool
    assert x.to(nb.tensor([1], dtype=nb.int32)).dtype == nb.int32
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        x.to("tpu")
    with pytest.raises(TypeError, match="unknown dtype"):
        x.to(dtype="complex7")


def test_to_dtype_is_differentiable():
    x = nb.tensor([1.0, 2.0], requires_grad=True)
    y = x.double()
    assert y.dtype == nb.float64 and y.requires_grad
    (y * y).sum().backward()
    assert x.grad.dtype == nb.float32
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0])


def test_bfloat16_is_a_floating_dtype_with_float32_range():
    x = nb.tensor([1.0, 3.0e38, 1.0 / 3.0], dtype=nb.bfloat16, requires_grad=True)
    assert x.is_floating_point() and x.element_size() == 2
    assert nb.backend.finfo(nb.bfloat16).eps == 2.0 ** -7
    # 8 significant bits: 1/3 rounds to 0.333984375; 3e38 stays finite (float16 overflows)
    assert x.tolist()[2] == 0.333984375 and np.isfinite(x.detach().float().numpy()).all()
    (x * x).sum().backward()
    assert x.grad.dtype == nb.bfloat16
    assert (nb.arange(3) + x.detach()).dtype == nb.bfloat16
    assert (x.detach().half() + x.detach()).dtype == nb.float32  # as in PyTorch
    assert repr(nb.tensor([1.5, -2.0], dtype=nb.bfloat16)) == \
        "tensor([ 1.5000, -2.0000], dtype=nabla.bfloat16)"  # as torch prints it
    with pytest.raises(RuntimeError, match="only floating-point tensors"):
        nb.arange(3).requires_grad_()


def test_detach_clone_requires_grad_():
    x = nb.tensor([1.0, 2.0], requires_grad=True)
    d = x.detach()
    assert not d.requires_grad and d.grad_fn is None
    assert np.shares_memory(d.numpy(), x.detach().numpy())
    c = x.clone()
    assert c.requires_grad and c.grad_fn is not None
    assert not np.shares_memory(c.detach().numpy(), x.detach().numpy())
    (c * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])
    y = nb.tensor([1.0])
    assert y.requires_grad_() is y and y.requires_grad
    y.requires_grad_(False)
    assert not y.requires_grad
    with pytest.raises(RuntimeError, match="only leaf tensors"):
        (x * 2).requires_grad_(False)


def test_repr():
    assert repr(nb.tensor([1.0, 2.5])) == "tensor([1.0000, 2.5000])"  # as torch prints it
    r = repr(nb.tensor([1.0, 2.0], dtype=nb.float64))
    assert "1." in r and "dtype=nabla.float64" in r
    assert "dtype" not in repr(nb.tensor([1, 2]))
    assert "dtype=nabla.int32" in repr(nb.tensor([1, 2], dtype=nb.int32))
    assert "dtype=nabla.float16" in repr(nb.tensor([1.0], dtype=nb.float16))
    assert "requires_grad=True" in repr(nb.tensor([1.0], requires_grad=True))
    g = nb.tensor([1.0], requires_grad=True) * 2
    assert "grad_fn=<MulBackward>" in repr(g) and "2." in repr(g)
    assert "size=(0, 3)" in repr(nb.zeros(0, 3))
    assert str(nb.tensor(5)) == "tensor(5)"


# -- dtypes and promotion --------------------------------------------------------------------
@pytest.mark.parametrize("a, b, want", [
    (nb.float32, nb.float64, nb.float64),
    (nb.int32, nb.int64, nb.int64),
    (nb.int64, nb.float32, nb.float32),
    (nb.int32, nb.float64, nb.float64),
    (nb.float16, nb.float32, nb.float32),
    (nb.bool, nb.int32, nb.int32),
    (nb.bool, nb.float16, nb.float16),
])
def test_promotion_between_tensors(a, b, want):
    x, y = nb.tensor([1], dtype=a), nb.tensor([1], dtype=b)
    assert (x + y).dtype == want and (y + x).dtype == want
    assert (x * y).dtype == want


@pytest.mark.parametrize("dtype, scalar, want", [
    (nb.float32, 2.5, nb.float32),
    (nb.float16, 2.5, nb.float16),
    (nb.float64, 2, nb.float64),
    (nb.int64, 2.5, nb.float32),
    (nb.int32, 2.5, nb.float32),
    (nb.int32, 2, nb.int32),
    (nb.int64, 2, nb.int64),
])
def test_python_scalars_take_the_tensor_dtype(dtype, scalar, want):
    t = nb.tensor([2], dtype=dtype)
    assert (t * scalar).dtype == want
    assert (scalar * t).dtype == want
    assert (t + scalar).dtype == want
    np.testing.assert_allclose((t * scalar).numpy(), 2 * scalar)


def test_int_division_gives_float():
    assert (nb.tensor([1]) / nb.tensor([2])).dtype == nb.float32
    assert (nb.tensor([1]) / 2).tolist() == [0.5]


# -- seeding ---------------------------------------------------------------------------------
@pytest.mark.parametrize("draw", [lambda **k: nb.rand(5, **k), lambda **k: nb.randn(5, **k),
                                  lambda **k: nb.randint(0, 100, (5,), **k)])
def test_manual_seed_reproducible(draw):
    nb.manual_seed(3)
    a = draw()
    nb.manual_seed(3)
    b = draw()
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert not np.array_equal(draw().numpy(), a.numpy())    # the stream moves on


def test_generator_is_independent_of_the_global_stream():
    nb.manual_seed(0)
    plain = [nb.rand(4).numpy() for _ in range(2)]
    nb.manual_seed(0)
    g = nb.Generator().manual_seed(3)
    first = nb.rand(4).numpy()
    from_g = nb.randn(4, generator=g).numpy()     # does not consume the global stream
    second = nb.rand(4).numpy()
    np.testing.assert_array_equal(first, plain[0])
    np.testing.assert_array_equal(second, plain[1])
    g2 = nb.Generator().manual_seed(3)
    np.testing.assert_array_equal(nb.randn(4, generator=g2).numpy(), from_g)
    assert g.initial_seed() == 3


def test_data_is_a_tensor_view_outside_the_graph_as_in_pytorch():
    w = nb.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    d = w.data
    assert isinstance(d, nb.Tensor) and not d.requires_grad and d.grad_fn is None
    assert np.shares_memory(d.array, w.array) and type(w.array) is np.ndarray
    d.fill_(0.5)                                   # reaches w, unseen by autograd
    np.testing.assert_array_equal(w.detach().numpy(), np.full((2, 2), 0.5))
    w.data.mul_(2.0)
    assert w.sum().item() == 4.0
    w.data = nb.zeros(3)                           # replaces the array, any shape
    assert tuple(w.shape) == (3,) and w.requires_grad
    values, idx = nb.max(nb.tensor([[1.0, 5.0], [7.0, 2.0]]).data, 1)
    assert idx.tolist() == [1, 0] and values.tolist() == [5.0, 7.0]
    with pytest.raises(TypeError, match="Tensor.data: expected a Tensor, got list"):
        w.data = [1.0]


def test_size_is_a_size_with_numel():
    x = nb.ones(2, 3, 4)
    assert x.size() == (2, 3, 4) and isinstance(x.size(), tuple)
    assert type(x.size()) is nb.Size and x.size().numel() == 24
    assert x.size()[1:] == (3, 4) and type(x.size()[1:]) is nb.Size
    assert repr(x.size()) == "nabla.Size([2, 3, 4])"
    assert x.size(1) == 3 and type(x.size(1)) is int
