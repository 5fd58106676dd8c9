"""Indexing: x[...], __setitem__, and the gather/scatter/mask family."""
import numpy as np
import pytest

import nabla as nb
import nabla.nn.functional as F
from tests.optest import check_op, rand, torch


def _t(idx):
    """The same index for torch: arrays become tensors, tuples are mapped."""
    if isinstance(idx, tuple):
        return tuple(_t(i) for i in idx)
    if isinstance(idx, np.ndarray):
        return torch.from_numpy(idx)
    if isinstance(idx, list) and idx and isinstance(idx[0], list):
        return torch.tensor(idx)  # torch reads nested lists as tuples; NumPy as arrays
    return idx


def _nb(idx):
    """The same index with NumPy arrays turned into nabla tensors."""
    if isinstance(idx, tuple):
        return tuple(_nb(i) for i in idx)
    if isinstance(idx, np.ndarray):
        return nb.tensor(idx)
    return idx


def _np(idx):
    if isinstance(idx, tuple):
        return tuple(_np(i) for i in idx)
    return np.asarray(idx, dtype=np.int64 if idx == [] else None) if isinstance(idx, list) else idx


I = np.array  # noqa: E741  (short name for the index tables below)

GETITEM_CASES = [
    # basic: views
    ((3, 4), (1,)),
    ((3, 4), (-1, slice(1, None))),
    ((3, 4), (slice(None, None, -1),)),                 # torch has no negative steps:
    ((3, 4), (slice(None, None, -2), slice(3, 0, -1))),  # see TORCH_EQUIVALENT
    ((2, 3, 4), (Ellipsis, 2)),
    ((2, 3, 4), (None, 1, Ellipsis, None, slice(0, 4, 3))),
    ((3, 4), (slice(5, 10),)),            # slice past the end: empty
    ((), ()),                             # 0-d
    ((), (None, Ellipsis)),
    ((0, 3), (slice(None), 1)),           # empty dim
    # integer arrays (copies); repeated indices must accumulate gradients
    ((3, 4), ([0, 0, 1, 0],)),
    ((3, 4), (I([-1, 0, -1]),)),
    ((3, 4), (I([[0, 1], [2, 2]]),)),
    ((3, 4), (I([0, 2, 2]), I([1, 1, -1]))),
    ((3, 4), (I([0, 0, 2]), slice(1, 3))),
    ((3, 4), (slice(None, None, -1), [3, 3, 0])),
    ((2, 3, 4), (I([1, 1]), slice(None), I([0, 3]))),  # separated: advanced dims first
    ((2, 3, 4), (None, I([1, 0, 1]), Ellipsis, 2)),    # PyTorch's rule: see NUMPY_EQUIVALENT
    ((3, 4), (I([0, 2, 0]), -1)),
    ((3, 4), ([],)),
    ((0, 3), (I([], dtype=np.int64),)),
    ((3, 4), (I([2, 0], dtype=np.int32),)),
    # boolean masks
    ((3, 4), (I([True, False, True]),)),
    ((3, 4), (I([True, False, True]), slice(1, None))),
    ((2, 3), (I([[True, False, True], [False, False, True]]),)),
    ((3, 4), (I([False, False, False]),)),
]


# PyTorch slices only with positive steps; these are its spelling of the same result
TORCH_EQUIVALENT = {
    str((slice(None, None, -1),)): lambda a: a.flip(0),
    str((slice(None, None, -2), slice(3, 0, -1))): lambda a: a.flip(0, 1)[::2, :3],
    str((slice(None, None, -1), [3, 3, 0])): lambda a: a.flip(0)[:, [3, 3, 0]],
}

# NumPy counts an int beside an array as an advanced index (which moves the result's
# dimensions); PyTorch, and so nabla, applies the ints first
NUMPY_EQUIVALENT = {
    str((None, I([1, 0, 1]), Ellipsis, 2)): lambda a: a[..., 2][None, [1, 0, 1]],
}


@pytest.mark.parametrize("shape,idx", GETITEM_CASES, ids=[str(c) for c in GETITEM_CASES])
@pytest.mark.parametrize("as_tensor", [False, True], ids=["array", "tensor"])
def test_getitem(shape, idx, as_tensor):
    nb_idx = _nb(idx) if as_tensor else idx
    torch_fn = TORCH_EQUIVALENT.get(str(idx), lambda a: a[_t(idx)])
    ref = NUMPY_EQUIVALENT.get(str(idx), lambda a: a[_np(idx)])
    check_op(lambda a: a[nb_idx], [rand(*shape)], ref=ref, torch_fn=torch_fn)


def test_getitem_mask_from_data():
    x = np.array([[0.5, -1.0, 1.5], [-0.7, 2.0, -0.2]])
    check_op(lambda a: a[a > 0], [x], ref=lambda a: a[a > 0], torch_fn=lambda a: a[a > 0])


def test_getitem_repeated_indices_accumulate():
    x = nb.tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
    y = x[[0, 0, 2, 0]]
    y.backward(nb.tensor(np.arange(8.0).reshape(4, 2)))
    np.testing.assert_array_equal(x.grad.numpy(), [[0 + 2 + 6, 1 + 3 + 7], [0, 0], [4, 5]])


def test_getitem_basic_is_a_view_and_advanced_a_copy():
    x = nb.tensor(np.arange(6.0).reshape(2, 3))
    v = x[:, 1]
    x[0, 1] = 10.0
    assert v.tolist() == [10.0, 4.0]
    c = x[[0, 1]]
    x[0, 0] = -1.0
    assert c[0, 0].item() == 0.0
    assert x[nb.tensor(1)].tolist() == [3.0, 4.0, 5.0]  # 0-d int tensor acts as an int
    assert x[True].shape == (1, 2, 3)
    assert x[False].shape == (0, 2, 3)


# -- the fast accumulation path (one integer array, full slices elsewhere) -------------
@pytest.mark.parametrize("axis", [0, 1, 2])
def test_index_add_into_rows_matches_add_at(axis):
    from nabla.ops.index import IndexAddInto
    rng = np.random.default_rng(0)
    shape = (5, 4, 3)
    rows = rng.integers(-shape[axis], shape[axis], size=(3, 7))
    where = (slice(None),) * axis + (rows,)
    g = rng.standard_normal(np.zeros(shape)[where].shape)
    want = np.zeros(shape)
    np.add.at(want, where, g)
    got = IndexAddInto.apply(nb.tensor(g), index=where, shape=shape)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-12, atol=1e-12)


def test_embedding_lookup_gradient_float32_and_empty_rows():
    table = nb.tensor(np.ones((10, 4), np.float32), requires_grad=True)
    tokens = nb.tensor(np.array([[1, 1, 9], [1, 0, 9]]))
    table[tokens].sum().backward()
    want = np.zeros((10, 4), np.float32)
    want[[0, 1, 9]] = [[1], [3], [2]]
    assert table.grad.dtype == nb.float32
    np.testing.assert_array_equal(table.grad.numpy(), want)
    empty = nb.tensor(np.ones((3, 0)), requires_grad=True)
    empty[[0, 0]].sum().backward()
    assert empty.grad.shape == (3, 0)


def test_getitem_errors():
    x = nb.tensor(np.zeros((3, 4)))
    with pytest.raises(IndexError, match="index 5 is out of bounds for dimension 0 with size 3"):
        x[5]
    with pytest.raises(IndexError, match="index 7 is out of bounds for dimension 1 with size 4"):
        x[:, 7]
    with pytest.raises(IndexError, match="index -4 is out of bounds for dimension 0 with size 3"):
        x[[0, -4]]
    with pytest.raises(IndexError, match="index 9 is out of bounds for dimension 1 with size 4"):
        x[..., nb.tensor([1, 9])]
    with pytest.raises(IndexError, match=r"too many indices for a tensor of shape \(3, 4\)"):
        x[0, 0, 0]
    with pytest.raises(IndexError, match="integer or bool, got dtype float"):
        x[nb.tensor([0.0, 1.0])]
    with pytest.raises(IndexError, match="valid indices, got float"):
        x[1.5]
    with pytest.raises(IndexError, match=r"mask of shape \(2,\) does not match the shape \(3,\)"):
        x[np.array([True, False])]
    with pytest.raises(IndexError, match="single ellipsis"):
        x[..., ...]
    with pytest.raises(IndexError, match="could not be broadcast"):
        x[[0, 1], [0, 1, 2]]


# -- __setitem__ ------------------------------------------------------------------------
def test_setitem_writes_values_and_bumps_version():
    x = nb.zeros(3, 4)
    v0 = x._version_count
    x[0] = 1.0
    x[1, [0, 0, 3]] = nb.tensor([2.0, 2.0, 3.0])
    x[x > 2.5] = -1.0
    x[:, 1:3][2] = nb.tensor(7.0)
    x[nb.tensor([2]), -1] = 5.0
    want = [[1, 1, 1, 1], [2, 0, 0, -1], [0, 7, 7, 5]]
    np.testing.assert_array_equal(x.numpy(), want)
    assert x._version_count == v0 + 5
    with pytest.raises(IndexError, match="index 3 is out of bounds for dimension 0 with size 3"):
        x[3] = 0.0


def test_setitem_requires_grad_error_and_no_grad():
    w = nb.zeros(2, 2, requires_grad=True)
    with pytest.raises(RuntimeError, match="__setitem__: a leaf tensor that requires grad"):
        w[0, 0] = 1.0  # as in PyTorch: a leaf that requires grad cannot change in place
    with nb.no_grad():
        w[0, 0] = 1.0
    assert w.tolist() == [[1.0, 0.0], [0.0, 0.0]]


@pytest.mark.skipif(torch is None, reason="torch is not installed")
@pytest.mark.parametrize("index", [
    (slice(None), 0),                      # logits[:, PAD] = -1e9
    (np.array([2, 0]), slice(1, 3)),       # advanced rows, a slice of columns
    (1, np.array([0, 3])),                 # an int with an array: PyTorch's dimension order
    (np.array([[True, False, True, False, False]] * 4),),  # a boolean mask
])
def test_setitem_while_recording_is_differentiable_like_torch(index):
    """``y[index] = value`` on a tensor in the graph, with a value that requires grad:
    the written positions pass no gradient to y's old value, the value gets theirs."""
    rng = np.random.default_rng(0)
    xa, wa = rng.standard_normal((4, 5)), rng.standard_normal((4, 5))
    results = []
    for lib in (nb, torch):
        x = lib.tensor(xa, requires_grad=True)
        y = x * 2
        region = tuple(y[_t(index) if lib is torch else index].shape)
        v = lib.tensor(np.random.default_rng(1).standard_normal(region[-1:]),
                       requires_grad=True)
        y[_t(index) if lib is torch else index] = v * 3  # broadcast over the region
        y[0, 4] = -1e9                                     # a Python scalar
        (y * lib.tensor(wa)).sum().backward()
        results.append([t.detach().numpy() for t in (y, x.grad, v.grad)])
    for got, want in zip(*results):
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_setitem_of_a_tensor_that_needs_grad_into_a_constant_records_it():
    buf = nb.zeros(3)
    v = nb.tensor([2.0], requires_grad=True)
    buf[1] = v[0] * 5
    assert buf.requires_grad
    buf.sum().backward()
    assert v.grad.tolist() == [5.0]


# -- index_select / gather / take_along_dim --------------------------------------------
@pytest.mark.parametrize("shape,dim,idx", [
    ((4, 3), 0, [3, 0, 0, 2]),
    ((4, 3), 1, [2, 2]),
    ((2, 3, 4), -1, [0, 3, 0]),
    ((4, 3), 0, []),
    ((0, 3), 1, [1]),
])
def test_index_select(shape, dim, idx):
    idx = np.array(idx, dtype=np.int64)
    check_op(lambda a: nb.index_select(a, dim, nb.tensor(idx)), [rand(*shape)],
             ref=lambda a: np.take(a, idx, axis=dim),
             torch_fn=lambda a: torch.index_select(a, dim, torch.from_numpy(idx)))


def test_index_select_0d_index_and_method():
    x = nb.tensor(np.arange(6.0).reshape(2, 3))
    assert x.index_select(1, nb.tensor(2)).tolist() == [[2.0], [5.0]]


def _crop(a, shape, dim):
    return a[tuple(slice(None) if d == dim else slice(0, n) for d, n in enumerate(shape))]


GATHER_CASES = [
    ((3, 4), 1, [[0, 0], [3, 1], [2, 2]]),
    ((3, 4), 0, [[2, 0, 1, 0], [2, 2, 2, 2]]),
    ((3, 4), -1, [[1], [0]]),                      # index smaller than input outside dim
    ((2, 3, 2), 1, [[[0, 1], [2, 2], [0, 0], [1, 1]], [[2, 1], [1, 1], [0, 0], [2, 0]]]),
    ((3, 4), 1, np.zeros((0, 2), np.int64)),
]


@pytest.mark.parametrize("shape,dim,idx", GATHER_CASES)
def test_gather(shape, dim, idx):
    idx = np.array(idx, dtype=np.int64)
    check_op(lambda a: nb.gather(a, dim, nb.tensor(idx)), [rand(*shape)],
             ref=lambda a: np.take_along_axis(_crop(a, idx.shape, dim % a.ndim), idx, dim),
             torch_fn=lambda a: torch.gather(a, dim, torch.from_numpy(idx)))


def test_gather_0d_and_int32_and_method():
    assert nb.gather(nb.tensor(5.0), 0, nb.tensor(0)).item() == 5.0
    x = nb.tensor([[1.0, 2.0], [3.0, 4.0]])
    idx = nb.tensor(np.array([[1, 1], [0, 1]], np.int32))
    assert x.gather(1, idx).tolist() == [[2.0, 2.0], [3.0, 4.0]]


@pytest.mark.parametrize("xshape,ishape,dim", [
    ((3, 4), (3, 2), 1), ((3, 4), (1, 2), 1), ((1, 4), (3, 2), 1), ((3, 4), (2, 4), 0),
    ((3, 4), (5,), None),
])
def test_take_along_dim(xshape, ishape, dim):
    size = int(np.prod(xshape)) if dim is None else xshape[dim]
    idx = np.random.default_rng(3).integers(0, size, ishape)

    def ref(a):
        if dim is None:
            return np.take_along_axis(a.ravel(), idx.ravel(), 0)
        return np.take_along_axis(a, idx, dim)
    check_op(lambda a: nb.take_along_dim(a, nb.tensor(idx), dim), [rand(*xshape)], ref=ref,
             torch_fn=lambda a: torch.take_along_dim(a, torch.from_numpy(idx), dim))


def test_take():
    x = nb.tensor(np.arange(6.0).reshape(2, 3))
    assert nb.take(x, nb.tensor([[5, -1], [0, 0]])).tolist() == [[5.0, 5.0], [0.0, 0.0]]


def test_gather_family_errors():
    x = nb.tensor(np.zeros((3, 4)))
    i = nb.tensor(np.array([[0, 1]]))
    with pytest.raises(RuntimeError, match="expected index of dtype int64 or int32, got float"):
        x.gather(1, nb.tensor([[0.0]]))
    with pytest.raises(RuntimeError, match="same number of dimensions"):
        x.gather(1, nb.tensor([0, 1]))
    with pytest.raises(IndexError, match="index 4 is out of bounds for dimension 1 with size 4"):
        x.gather(1, nb.tensor([[0, 4]]))
    with pytest.raises(IndexError, match="index -1 is out of bounds for dimension 1 with size 4"):
        x.gather(1, nb.tensor([[-1]]))
    with pytest.raises(RuntimeError, match=r"larger than self of shape \(3, 4\) at dimension 0"):
        x.gather(1, nb.tensor(np.zeros((5, 1), np.int64)))
    with pytest.raises(IndexError, match="dimension 2 is out of range"):
        x.gather(2, i)
    with pytest.raises(TypeError, match="index must be an integer Tensor"):
        x.gather(1, [[0]])
    with pytest.raises(IndexError, match=r"index must be 1-D, got shape \(1, 2\)"):
        x.index_select(0, i)
    with pytest.raises(IndexError, match="index 3 is out of bounds for dimension 0 with size 3"):
        x.index_select(0, nb.tensor([3]))
    with pytest.raises(RuntimeError, match="do not broadcast outside dimension 1"):
        nb.take_along_dim(x, nb.tensor(np.zeros((2, 1), np.int64)), 1)


# -- scatter / scatter_add / index_add ---------------------------------------------------
def _scatter_ref(a, dim, idx, src, add):
    out = a.copy()
    for pos in np.ndindex(*idx.shape):
        target = list(pos)
        target[dim] = idx[pos]
        s = src if np.ndim(src) == 0 else src[pos]
        out[tuple(target)] = out[tuple(target)] + s if add else s
    return out


# each row of an index along dim has distinct targets, so scatter's result is defined
SCATTER_CASES = [
    ((3, 4), 1, [[3, 0], [1, 2], [0, 3]], (3, 2)),
    ((3, 4), 1, [[3, 0], [1, 2], [0, 3]], (4, 3)),           # src larger than index
    ((3, 4), 0, [[2, 0, 1, 1]], (2, 4)),
    ((2, 3, 2), -1, [[[1], [0], [1]], [[0], [1], [0]]], (2, 3, 2)),
    ((3, 4), 1, np.zeros((3, 0), np.int64), (3, 2)),
]


@pytest.mark.parametrize("shape,dim,idx,src_shape", SCATTER_CASES)
def test_scatter(shape, dim, idx, src_shape):
    idx = np.array(idx, dtype=np.int64)
    d = dim % len(shape)
    # torch 2.13's backward fails when src is larger than index (its gradient keeps
    # index's shape), so it is the reference only when they match
    torch_ok = src_shape == idx.shape
    check_op(lambda a, s: nb.scatter(a, dim, nb.tensor(idx), s),
             [rand(*shape), rand(*src_shape, seed=1)],
             ref=lambda a, s: _scatter_ref(a, d, idx, s, add=False),
             torch_fn=(lambda a, s: torch.scatter(a, dim, torch.from_numpy(idx), s))
             if torch_ok else None)


def test_scatter_value():
    idx = np.array([[1], [0], [1]])
    check_op(lambda a: nb.scatter(a, 1, nb.tensor(idx), 0.5), [rand(3, 2)],
             ref=lambda a: _scatter_ref(a, 1, idx, 0.5, add=False),
             torch_fn=lambda a: torch.scatter(a, 1, torch.from_numpy(idx), 0.5))
    x = nb.zeros(2, 2)
    np.testing.assert_array_equal(x.scatter(0, nb.tensor([[1, 0]]), value=2.0).numpy(),
                                  [[0, 2], [2, 0]])


SCATTER_ADD_CASES = [
    ((3, 4), 1, [[3, 3, 0], [1, 1, 1], [0, 3, 0]], (3, 3)),    # repeats accumulate
    ((3, 4), 0, [[2, 2, 2, 2], [2, 0, 0, 2]], (3, 4)),
    ((2, 3), 1, [[0, 0]], (1, 2)),
    ((2, 3), 0, np.zeros((0, 3), np.int64), (0, 3)),
]


@pytest.mark.parametrize("shape,dim,idx,src_shape", SCATTER_ADD_CASES)
def test_scatter_add(shape, dim, idx, src_shape):
    idx = np.array(idx, dtype=np.int64)
    torch_ok = src_shape == idx.shape  # see test_scatter
    check_op(lambda a, s: nb.scatter_add(a, dim, nb.tensor(idx), s),
             [rand(*shape), rand(*src_shape, seed=1)],
             ref=lambda a, s: _scatter_ref(a, dim, idx, s, add=True),
             torch_fn=(lambda a, s: torch.scatter_add(a, dim, torch.from_numpy(idx), s))
             if torch_ok else None)


@pytest.mark.parametrize("shape,dim,idx,alpha", [
    ((4, 3), 0, [0, 0, 3, 0, 1], 1),
    ((4, 3), 1, [2, 2], -2.5),
    ((2, 3, 4), -1, [1, 3, 1], 1),
    ((4, 3), 0, [], 1),
])
def test_index_add(shape, dim, idx, alpha):
    idx = np.array(idx, dtype=np.int64)
    d = dim % len(shape)
    src_shape = shape[:d] + (len(idx),) + shape[d + 1:]

    def ref(a, s):
        out = np.moveaxis(a.copy(), d, 0)
        np.add.at(out, idx, alpha * np.moveaxis(s, d, 0))
        return np.moveaxis(out, 0, d)
    check_op(lambda a, s: nb.index_add(a, dim, nb.tensor(idx), s, alpha=alpha),
             [rand(*shape), rand(*src_shape, seed=1)], ref=ref,
             torch_fn=lambda a, s: torch.index_add(a, dim, torch.from_numpy(idx), s,
                                                   alpha=alpha))


def test_scatter_family_errors():
    x = nb.tensor(np.zeros((3, 4)))
    i = nb.tensor([[0, 1]])
    with pytest.raises(RuntimeError, match="expected src to have the input's dtype float64"):
        x.scatter(1, i, nb.ones(1, 2))
    with pytest.raises(RuntimeError, match=r"must not be larger than src of shape \(1, 1\)"):
        x.scatter_add(1, i, nb.ones(1, 1, dtype=nb.float64))
    with pytest.raises(IndexError, match="index 3 is out of bounds for dimension 0 with size 3"):
        x.scatter(0, nb.tensor([[3]]), 1.0)
    with pytest.raises(TypeError, match="value must be a number"):
        x.scatter(1, i, "a")
    with pytest.raises(RuntimeError, match=r"source of shape \(2, 4\) does not match the "
                                           r"expected shape \(1, 4\)"):
        x.index_add(0, nb.tensor([0]), nb.zeros(2, 4, dtype=nb.float64))
    with pytest.raises(IndexError, match="index 4 is out of bounds for dimension 1 with size 4"):
        x.index_add(1, nb.tensor([4]), nb.zeros(3, 1, dtype=nb.float64))


# -- masks ---------------------------------------------------------------------------------
@pytest.mark.parametrize("shape,mask", [
    ((3, 4), I([[True, False, False, True]] * 2 + [[False] * 4])),
    ((3, 4), I([True, False, True, False])),
    ((2, 3, 2), I([[True], [False], [True]])),
    ((), I(True)),
    ((0, 2), I([False, True])),
])
def test_masked_fill(shape, mask):
    check_op(lambda a: nb.masked_fill(a, nb.tensor(mask), -1.5), [rand(*shape)],
             ref=lambda a: np.where(mask, a.dtype.type(-1.5), a),
             torch_fn=lambda a: torch.masked_fill(a, torch.from_numpy(mask), -1.5))


def test_masked_fill_tensor_value_gradient():
    mask = I([[True, False, True], [False, False, True]])
    check_op(lambda a, v: a.masked_fill(nb.tensor(mask), v), [rand(2, 3), np.array(0.7)],
             ref=lambda a, v: np.where(mask, v, a),
             torch_fn=lambda a, v: a.masked_fill(torch.from_numpy(mask), v))


def test_masked_fill_int_and_errors():
    x = nb.tensor([1, 2, 3])
    out = x.masked_fill(nb.tensor([True, False, True]), 2.7)
    assert out.dtype == nb.int64 and out.tolist() == [2, 2, 2]
    with pytest.raises(RuntimeError, match="expected a bool mask, got dtype int64"):
        x.masked_fill(nb.tensor([1, 0, 1]), 0)
    with pytest.raises(RuntimeError, match=r"mask of shape \(2, 3\) does not broadcast to the "
                                           r"input's shape \(3,\)"):
        x.masked_fill(nb.tensor(np.ones((2, 3), bool)), 0)
    with pytest.raises(RuntimeError, match=r"0-d tensor, got a tensor of shape \(1,\)"):
        x.masked_fill(nb.tensor([True, False, True]), nb.tensor([1]))


@pytest.mark.parametrize("shape,mask", [
    ((3, 4), I([[True, False, False, True]] * 2 + [[False] * 4])),
    ((3, 4), I([True, False, True, True])),
    ((3, 1), I([[True, False], [False, False], [True, True]])),   # input broadcasts too
    ((0, 2), I([False, True])),
])
def test_masked_select(shape, mask):
    check_op(lambda a: nb.masked_select(a, nb.tensor(mask)), [rand(*shape)],
             ref=lambda a: np.broadcast_to(a, np.broadcast_shapes(a.shape, mask.shape))[
                 np.broadcast_to(mask, np.broadcast_shapes(a.shape, mask.shape))],
             torch_fn=lambda a: torch.masked_select(a, torch.from_numpy(mask)))


# -- integer outputs ----------------------------------------------------------------------
def test_one_hot():
    y = nb.tensor([[0, 2], [1, 2]])
    out = F.one_hot(y)
    assert out.dtype == nb.int64 and out.shape == (2, 2, 3) and not out.requires_grad
    np.testing.assert_array_equal(out.numpy(), np.eye(3, dtype=np.int64)[y.numpy()])
    assert nb.one_hot(nb.tensor(1), 4).tolist() == [0, 1, 0, 0]
    assert nb.one_hot(nb.tensor(np.zeros(0, np.int64)), 3).shape == (0, 3)
    if torch is not None:
        np.testing.assert_array_equal(
            out.numpy(), torch.nn.functional.one_hot(torch.tensor([[0, 2], [1, 2]])).numpy())


def test_one_hot_errors():
    with pytest.raises(RuntimeError, match="smaller than num_classes \\(2\\), got 2"):
        nb.one_hot(nb.tensor([0, 2]), 2)
    with pytest.raises(RuntimeError, match="non-negative, got -1"):
        nb.one_hot(nb.tensor([0, -1]))
    with pytest.raises(RuntimeError, match="cannot infer the number of classes"):
        nb.one_hot(nb.tensor(np.zeros(0, np.int64)))
    with pytest.raises(RuntimeError, match="expected an integer tensor"):
        nb.one_hot(nb.tensor([0.0, 1.0]))


def test_nonzero_and_argwhere():
    x = nb.tensor([[0.0, 1.5, 0.0], [2.0, 0.0, -1.0]])
    want = [[0, 1], [1, 0], [1, 2]]
    assert x.nonzero().dtype == nb.int64
    assert nb.nonzero(x).tolist() == want and nb.argwhere(x).tolist() == want
    rows, cols = nb.nonzero(x, as_tuple=True)
    assert rows.tolist() == [0, 1, 1] and cols.tolist() == [1, 0, 2]
    assert nb.nonzero(nb.tensor(3.0)).shape == (1, 0)
    assert nb.nonzero(nb.tensor(0.0)).shape == (0, 0)
    assert [t.tolist() for t in nb.nonzero(nb.tensor(3.0), as_tuple=True)] == [[0]]
    assert nb.nonzero(nb.zeros(0, 2)).shape == (0, 2)


# -- in-place methods ------------------------------------------------------------------------
def test_inplace_methods_write_and_bump_version():
    x = nb.zeros(2, 3)
    v = x._version_count
    assert x.masked_fill_(nb.tensor([True, False, True]), 1.0) is x
    x.scatter_(1, nb.tensor([[1], [1]]), 2.0)
    x.scatter_add_(0, nb.tensor([[0, 0, 0]]), nb.ones(1, 3))
    x.index_add_(1, nb.tensor([2, 2]), nb.ones(2, 2), alpha=3)
    np.testing.assert_array_equal(x.numpy(), [[2, 3, 8], [1, 2, 7]])
    assert x._version_count == v + 4


def test_inplace_methods_record_gradients_like_torch():
    a = rand(2, 3)
    idx = np.array([[2, 0, 2]])
    mask = np.array([True, False, False])

    def run(lib, t, idx_t, mask_t):
        y = t * 2.0
        y.masked_fill_(mask_t, 0.0)
        y.scatter_add_(1, idx_t, t[:1] * 3.0)
        y.index_add_(0, idx_t[0, :2] // 2, t[:2], alpha=0.5)
        return y

    x = nb.tensor(a, requires_grad=True)
    y = run(nb, x, nb.tensor(idx), nb.tensor(mask))
    (y * y).sum().backward()
    got = x.grad.numpy()
    if torch is not None:
        tx = torch.tensor(a, requires_grad=True)
        ty = run(torch, tx, torch.from_numpy(idx), torch.from_numpy(mask))
        (ty * ty).sum().backward()
        np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-12)
        np.testing.assert_allclose(got, tx.grad.numpy(), rtol=1e-12)
    leaf = nb.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="masked_fill_: a leaf tensor that requires grad"):
        leaf.masked_fill_(nb.tensor([True, False, False]), 1.0)
