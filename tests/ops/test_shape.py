"""Shape ops: values against NumPy and PyTorch, gradients to second order,
view semantics (shared memory and version counters) and error messages."""
import numpy as np
import pytest

import nabla as nb
import nabla.nn.functional as F
from tests.optest import check_op, rand, torch

TF = None if torch is None else torch.nn.functional


def _tensors(*shapes):
    return [rand(*s, seed=i) for i, s in enumerate(shapes)]


# -- views: reshape, permute, transpose, expand, squeeze, unsqueeze ------------------------
@pytest.mark.parametrize("shape,new", [
    ((2, 3, 4), (6, -1)), ((2, 3), (3, 2)), ((4,), (2, 2)), ((2, 3), (-1,)),
    ((0, 3), (3, 0)), ((0, 3), (-1, 3)), ((), (1, 1)), ((1,), ()), ((1, 1), (-1,)),
])
def test_reshape_and_view(shape, new):
    check_op(lambda a: a.reshape(new), [rand(*shape)], ref=lambda a: a.reshape(new),
             torch_fn=lambda a: a.reshape(new))
    check_op(lambda a: a.view(new), [rand(*shape)], ref=lambda a: a.reshape(new),
             torch_fn=lambda a: a.view(new))


def test_reshape_of_transposed_copies_values_and_gradients():
    check_op(lambda a: a.mT.reshape(-1), [rand(3, 4)], ref=lambda a: a.T.reshape(-1),
             torch_fn=lambda a: a.mT.reshape(-1))


@pytest.mark.parametrize("shape,dims", [
    ((2, 3, 4), (2, 0, 1)), ((2, 3, 4), (-1, 0, 1)), ((0, 2, 1), (1, 2, 0)), ((), ()),
    ((3,), (0,)),
])
def test_permute(shape, dims):
    nd = tuple(d % len(shape) for d in dims)
    check_op(lambda a: a.permute(*dims), [rand(*shape)], ref=lambda a: a.transpose(nd),
             torch_fn=lambda a: a.permute(dims))
    check_op(lambda a: nb.permute(a, dims), [rand(*shape)], ref=lambda a: a.transpose(nd))


@pytest.mark.parametrize("shape,d0,d1", [
    ((2, 3, 4), 0, -1), ((2, 3, 4), -2, -1), ((3, 2), 1, 0), ((0, 4), 0, 1), ((3,), 0, -1),
    ((), 0, -1),
])
def test_transpose_swapaxes_swapdims(shape, d0, d1):
    ref = lambda a: np.swapaxes(a, d0, d1) if a.ndim else a  # noqa: E731
    check_op(lambda a: a.transpose(d0, d1), [rand(*shape)], ref=ref,
             torch_fn=lambda a: a.transpose(d0, d1))
    check_op(lambda a: nb.swapaxes(a, d0, d1), [rand(*shape)], ref=ref)
    check_op(lambda a: a.swapdims(d0, d1), [rand(*shape)], ref=ref)


@pytest.mark.parametrize("shape", [(2, 3), (3,), (), (0, 2)])
def test_t_and_T(shape):
    check_op(lambda a: a.t(), [rand(*shape)], ref=lambda a: a.T, torch_fn=lambda a: a.t())
    check_op(lambda a: nb.t(a), [rand(*shape)], ref=lambda a: a.T)
    check_op(lambda a: a.T, [rand(*shape)], ref=lambda a: a.T)


@pytest.mark.parametrize("shape", [(2, 3), (4, 2, 3), (2, 0, 3)])
def test_mT_and_T_of_batches(shape):
    check_op(lambda a: a.mT, [rand(*shape)], ref=lambda a: np.swapaxes(a, -1, -2),
             torch_fn=lambda a: a.mT)
    check_op(lambda a: a.T, [rand(*shape)], ref=lambda a: a.transpose(),
             torch_fn=lambda a: a.permute(*range(a.ndim - 1, -1, -1)))


@pytest.mark.parametrize("shape,sizes,want", [
    ((3, 1), (2, -1, 4), (2, 3, 4)), ((1,), (0,), (0,)), ((), (2, 3), (2, 3)),
    ((2, 1, 3), (-1, 5, -1), (2, 5, 3)), ((0, 1), (0, 4), (0, 4)),
])
def test_expand(shape, sizes, want):
    check_op(lambda a: a.expand(*sizes), [rand(*shape)],
             ref=lambda a: np.broadcast_to(a, want), torch_fn=lambda a: a.expand(*sizes))
    check_op(lambda a: a.expand_as(nb.zeros(want)), [rand(*shape)],
             ref=lambda a: np.broadcast_to(a, want))
    check_op(lambda a: nb.broadcast_to(a, want), [rand(*shape)],
             ref=lambda a: np.broadcast_to(a, want))


@pytest.mark.parametrize("shape,dim,want", [
    ((2, 1, 3, 1), None, (2, 3)), ((2, 1, 3, 1), 1, (2, 3, 1)), ((2, 1, 3, 1), -1, (2, 1, 3)),
    ((2, 1, 3, 1), 0, (2, 1, 3, 1)), ((2, 1, 3, 1), (1, 3), (2, 3)), ((1,), 0, ()),
    ((), 0, ()), ((0, 1), 1, (0,)), ((0, 1), None, (0,)),
])
def test_squeeze(shape, dim, want):
    fn = (lambda a: a.squeeze()) if dim is None else (lambda a: a.squeeze(dim))
    check_op(fn, [rand(*shape)], ref=lambda a: a.reshape(want), torch_fn=fn)


@pytest.mark.parametrize("shape,dim", [((2, 3), 0), ((2, 3), -1), ((2, 3), 1), ((), 0),
                                       ((), -1), ((0,), 1)])
def test_unsqueeze(shape, dim):
    check_op(lambda a: a.unsqueeze(dim), [rand(*shape)],
             ref=lambda a: np.expand_dims(a, dim), torch_fn=lambda a: a.unsqueeze(dim))


@pytest.mark.parametrize("shape,start,end", [
    ((2, 3, 4), 0, -1), ((2, 3, 4), 1, 2), ((2, 3, 4), 0, 1), ((2, 3, 4), -2, -1),
    ((2, 3, 4), 1, 1), ((2, 0, 3), 0, 1), ((), 0, -1), ((5,), 0, 0),
])
def test_flatten(shape, start, end):
    def ref(a):
        if a.ndim == 0:
            return a.reshape(1)
        s, e = start % a.ndim, end % a.ndim
        return a.reshape(a.shape[:s] + (-1,) + a.shape[e + 1:]) if a.size else \
            a.reshape(a.shape[:s] + (int(np.prod(a.shape[s:e + 1])),) + a.shape[e + 1:])
    check_op(lambda a: a.flatten(start, end), [rand(*shape)], ref=ref,
             torch_fn=lambda a: a.flatten(start, end))
    check_op(lambda a: nb.ravel(a), [rand(*shape)], ref=np.ravel, torch_fn=torch and torch.ravel)


@pytest.mark.parametrize("shape,dim,sizes,want", [
    ((2, 12), 1, (3, 4), (2, 3, 4)), ((2, 12), -1, (-1, 2, 2), (2, 3, 2, 2)),
    ((6,), 0, (2, 3), (2, 3)), ((0, 4), 1, (2, 2), (0, 2, 2)), ((3, 0), 1, (0, 5), (3, 0, 5)),
])
def test_unflatten(shape, dim, sizes, want):
    check_op(lambda a: a.unflatten(dim, sizes), [rand(*shape)],
             ref=lambda a: a.reshape(want), torch_fn=lambda a: a.unflatten(dim, sizes))


@pytest.mark.parametrize("shape,src,dst", [
    ((2, 3, 4), 0, -1), ((2, 3, 4), (0, 1), (2, 0)), ((2, 3, 4), -1, 0), ((0, 3), 0, 1),
    ((2, 3, 4, 5), (3, 0), (1, 2)),
])
def test_movedim(shape, src, dst):
    check_op(lambda a: a.movedim(src, dst), [rand(*shape)],
             ref=lambda a: np.moveaxis(a, src, dst), torch_fn=lambda a: a.movedim(src, dst))
    check_op(lambda a: nb.moveaxis(a, src, dst), [rand(*shape)],
             ref=lambda a: np.moveaxis(a, src, dst))


@pytest.mark.parametrize("n", [1, 2, 3])
def test_atleast_nd(n):
    fn = getattr(nb, f"atleast_{n}d")
    ref = getattr(np, f"atleast_{n}d")
    for shape in [(), (3,), (2, 3), (2, 3, 4), (0,)]:
        check_op(fn, [rand(*shape)], ref=ref,
                 torch_fn=lambda a: getattr(torch, f"atleast_{n}d")(a))
    a, b = nb.zeros(()), nb.zeros(4)
    assert [t.shape for t in fn(a, b)] == [r.shape for r in ref(np.zeros(()), np.zeros(4))]
    assert [t.shape for t in fn([a, b])] == [r.shape for r in ref(np.zeros(()), np.zeros(4))]


# -- repetition ------------------------------------------------------------------------------
@pytest.mark.parametrize("shape,reps", [
    ((2, 3), (2, 1)), ((2, 3), (2, 1, 2)), ((), (2, 3)), ((0, 2), (2, 3)), ((3,), (0, 2)),
    ((2, 3), (1, 1)), ((1, 2), (3, 2)),
])
def test_repeat(shape, reps):
    check_op(lambda a: a.repeat(*reps), [rand(*shape)], ref=lambda a: np.tile(a, reps),
             torch_fn=lambda a: a.repeat(*reps))
    check_op(lambda a: a.repeat(reps), [rand(*shape)], ref=lambda a: np.tile(a, reps))


def test_repeat_is_a_copy_with_accumulated_gradient():
    x = nb.tensor([1.0, 2.0], requires_grad=True)
    y = x.repeat(3)
    assert y.tolist() == [1.0, 2.0] * 3
    assert not np.shares_memory(y.array, x.array) and y._version is not x._version
    y.backward(nb.tensor([1.0, 10.0, 100.0, 1000.0, 10000.0, 100000.0]))
    assert x.grad.tolist() == [10101.0, 101010.0]
    z = nb.tensor([[1.0, 2.0]]).repeat(1, 1)  # all ones: still a fresh, writable copy
    z.add_(1)
    assert z.tolist() == [[2.0, 3.0]]


@pytest.mark.parametrize("shape,dims", [((2, 3), (2,)), ((2, 3), (2, 2)), ((3,), (2, 2)),
                                        ((2, 1, 2), (3, 1, 1, 2)), ((), (2,))])
def test_tile(shape, dims):
    check_op(lambda a: a.tile(dims), [rand(*shape)], ref=lambda a: np.tile(a, dims),
             torch_fn=lambda a: a.tile(dims))


@pytest.mark.parametrize("shape,reps,dim", [
    ((2, 3), 2, 0), ((2, 3), 3, -1), ((2, 3), 2, None), ((0, 3), 2, 1), ((), 3, None),
    ((3,), [1, 0, 2], 0), ((2, 3), [2, 1], 0),
])
def test_repeat_interleave(shape, reps, dim):
    r = np.array(reps) if isinstance(reps, list) else reps
    fn = (lambda a: a.repeat_interleave(nb.tensor(r), dim)) if isinstance(reps, list) else \
        (lambda a: a.repeat_interleave(r, dim))
    tfn = (lambda a: a.repeat_interleave(torch.tensor(r), dim)) if isinstance(reps, list) else \
        (lambda a: a.repeat_interleave(r, dim))
    check_op(fn, [rand(*shape)], ref=lambda a: np.repeat(a, r, dim), torch_fn=tfn)


# -- reordering elements --------------------------------------------------------------------
@pytest.mark.parametrize("shape,dims", [
    ((2, 3, 4), (0,)), ((2, 3, 4), (-1, 0)), ((2, 3), (0, 1)), ((0, 3), (0,)), ((5,), (0,)),
    ((), ()),
])
def test_flip(shape, dims):
    check_op(lambda a: a.flip(dims), [rand(*shape)], ref=lambda a: np.flip(a, dims),
             torch_fn=lambda a: a.flip(dims))
    check_op(lambda a: a.flip(*dims), [rand(*shape)], ref=lambda a: np.flip(a, dims))
    check_op(lambda a: nb.flip(a, dims=dims), [rand(*shape)], ref=lambda a: np.flip(a, dims))


def test_fliplr_flipud():
    check_op(nb.fliplr, [rand(2, 3, 2)], ref=np.fliplr, torch_fn=torch and torch.fliplr)
    check_op(nb.flipud, [rand(3, 2)], ref=np.flipud, torch_fn=torch and torch.flipud)
    with pytest.raises(RuntimeError, match=r"fliplr: .*at least 2 dimensions.*\(3,\)"):
        nb.fliplr(nb.zeros(3))


def test_flip_is_a_copy():
    x = nb.arange(3.0)
    y = x.flip(0)
    x.add_(10)
    assert y.tolist() == [2.0, 1.0, 0.0]


@pytest.mark.parametrize("shape,shifts,dims", [
    ((2, 3), 1, None), ((2, 3), -4, None), ((2, 3), 1, 1), ((2, 3, 4), (1, -2), (0, 2)),
    ((2, 3), (5, 1), (-1, 0)), ((0, 3), 2, 0), ((), 3, None), ((4,), 2, 0),
    ((2, 3), (1, 1), (1, 1)),
])
def test_roll(shape, shifts, dims):
    check_op(lambda a: a.roll(shifts, dims), [rand(*shape)],
             ref=lambda a: np.roll(a, shifts, dims), torch_fn=lambda a: a.roll(shifts, dims))


# -- joining -------------------------------------------------------------------------------
@pytest.mark.parametrize("shapes,dim", [
    ([(2, 3), (4, 3)], 0), ([(2, 3), (2, 1), (2, 2)], 1), ([(2, 3, 4), (2, 3, 1)], -1),
    ([(0, 3), (2, 3)], 0), ([(2, 0), (2, 0)], 1), ([(3,)], 0), ([(2, 3), (2, 3)], -2),
    ([(1,), (3,), (2,)], 0),
])
def test_cat(shapes, dim):
    arrays = _tensors(*shapes)
    ref = lambda *a: np.concatenate(a, dim)  # noqa: E731
    check_op(lambda *a: nb.cat(a, dim), arrays, ref=ref,
             torch_fn=lambda *a: torch.cat(a, dim))
    check_op(lambda *a: nb.concatenate(list(a), dim=dim), arrays, ref=ref)
    check_op(lambda *a: nb.concat(a, dim=dim), arrays, ref=ref)


def test_cat_skips_empty_1d_and_gradient_flows_to_the_others():
    check_op(lambda a, b, c: nb.cat([a, b, c]), [rand(0), rand(2, 3), rand(1, 3, seed=2)],
             ref=lambda a, b, c: np.concatenate([b, c]),
             torch_fn=lambda a, b, c: torch.cat([a, b, c]))
    assert nb.cat([nb.zeros(0), nb.zeros(0)]).shape == (0,)


def test_cat_only_differentiates_inputs_that_need_it():
    a = nb.tensor(rand(2, 3), requires_grad=True)
    b = nb.tensor(rand(1, 3, seed=1))
    out = nb.cat([b, a, b])
    out.backward(nb.tensor(np.arange(12.0).reshape(4, 3)))
    np.testing.assert_array_equal(a.grad.numpy(), np.arange(3.0, 9.0).reshape(2, 3))
    assert b.grad is None


def test_cat_forward_mode_with_some_inputs_constant():
    from nabla.autograd import forward_ad
    a, b = nb.tensor(rand(2, 3)), nb.tensor(rand(1, 3, seed=1))
    with forward_ad.dual_level():
        out = nb.cat([a, forward_ad.make_dual(b, nb.ones(1, 3, dtype=nb.float64)), a])
        tangent = forward_ad.unpack_dual(out).tangent
    want = np.zeros((5, 3))
    want[2] = 1.0
    np.testing.assert_array_equal(tangent.numpy(), want)


def test_cat_promotes_dtypes():
    out = nb.cat([nb.tensor([1, 2]), nb.tensor([0.5], dtype=nb.float32)])
    assert out.dtype.kind == "f"
    assert out.tolist() == [1.0, 2.0, 0.5]


@pytest.mark.parametrize("shape,n,dim", [((2, 3), 3, 0), ((2, 3), 2, -1), ((2, 3), 2, 2),
                                         ((), 3, 0), ((0, 2), 2, 1), ((3,), 1, -2)])
def test_stack(shape, n, dim):
    arrays = _tensors(*[shape] * n)
    check_op(lambda *a: nb.stack(a, dim), arrays, ref=lambda *a: np.stack(a, dim),
             torch_fn=lambda *a: torch.stack(a, dim))


@pytest.mark.parametrize("name", ["hstack", "vstack", "dstack"])
@pytest.mark.parametrize("shapes", [[(3,), (2,)], [(2, 3), (2, 1)], [(), ()], [(3,), (3,)],
                                    [(2, 1, 3), (2, 1, 3)], [(2, 3), (4, 3)]])
def test_hstack_vstack_dstack(name, shapes):
    arrays = _tensors(*shapes)
    try:
        want = getattr(np, name)(arrays)
    except ValueError:
        with pytest.raises(RuntimeError, match="cat: sizes of tensors must match"):
            getattr(nb, name)([nb.tensor(a) for a in arrays])
        return
    check_op(lambda *a: getattr(nb, name)(a), arrays, ref=lambda *a: getattr(np, name)(a),
             torch_fn=lambda *a: getattr(torch, name)(a))


# -- splitting -----------------------------------------------------------------------------
@pytest.mark.parametrize("shape,arg,dim", [
    ((5, 3), 2, 0), ((5, 3), 1, 1), ((5, 3), 5, 0), ((5, 3), 7, 0), ((5, 3), [2, 3], 0),
    ((5, 3), [1, 0, 2], -1), ((0, 3), 2, 0), ((4,), (1, 3), 0),
])
def test_split(shape, arg, dim):
    def ref(a):
        n = a.shape[dim]
        if isinstance(arg, int):
            cuts = list(range(arg, n, arg))
            return tuple(np.split(a, cuts, dim)) if n else (a,)
        return tuple(np.split(a, np.cumsum(arg)[:-1], dim))
    check_op(lambda a: a.split(arg, dim), [rand(*shape)], ref=ref,
             torch_fn=lambda a: a.split(arg, dim))
    check_op(lambda a: nb.split(a, arg, dim=dim), [rand(*shape)], ref=ref)


@pytest.mark.parametrize("shape,chunks,dim,sizes", [
    ((5, 3), 3, 0, [2, 2, 1]), ((6, 3), 4, 0, [2, 2, 2]), ((2, 3), 3, 1, [1, 1, 1]),
    ((2, 3), 5, -1, [1, 1, 1]), ((0, 3), 3, 0, [0, 0, 0]), ((2, 3), 1, 0, [2]),
])
def test_chunk(shape, chunks, dim, sizes):
    ref = lambda a: tuple(np.split(a, np.cumsum(sizes)[:-1], dim))  # noqa: E731
    check_op(lambda a: a.chunk(chunks, dim), [rand(*shape)], ref=ref,
             torch_fn=lambda a: a.chunk(chunks, dim))
    assert [p.shape[dim] for p in nb.zeros(shape).chunk(chunks, dim)] == sizes


@pytest.mark.parametrize("shape,dim", [((3, 2), 0), ((3, 2), 1), ((3, 2), -1), ((2, 0), 0),
                                       ((4,), 0)])
def test_unbind(shape, dim):
    ref = lambda a: tuple(np.moveaxis(a, dim, 0))  # noqa: E731
    check_op(lambda a: a.unbind(dim), [rand(*shape)], ref=ref,
             torch_fn=lambda a: a.unbind(dim))
    assert nb.unbind(nb.zeros(0, 3)) == ()


@pytest.mark.parametrize("shape,dim,start,length", [
    ((5, 3), 0, 1, 3), ((5, 3), -1, 0, 2), ((5, 3), 0, -2, 2), ((5, 3), 1, 3, 0),
    ((0, 3), 0, 0, 0), ((5,), 0, 5, 0),
])
def test_narrow(shape, dim, start, length):
    s = start % shape[dim] if start < 0 else start
    ref = lambda a: np.take(a, range(s, s + length), axis=dim)  # noqa: E731
    check_op(lambda a: a.narrow(dim, start, length), [rand(*shape)], ref=ref,
             torch_fn=lambda a: a.narrow(dim, start, length))


# -- padding -------------------------------------------------------------------------------
_NP_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def _np_pad(a, pad, mode="constant", value=0.0):
    widths = [(0, 0)] * a.ndim
    for k in range(len(pad) // 2):
        widths[a.ndim - 1 - k] = (pad[2 * k], pad[2 * k + 1])
    crop = tuple(slice(max(-b, 0), n - max(-e, 0)) for (b, e), n in zip(widths, a.shape))
    a = a[crop]
    widths = [(max(b, 0), max(e, 0)) for b, e in widths]
    if mode == "constant":
        return np.pad(a, widths, constant_values=value)
    return np.pad(a, widths, mode=_NP_MODES[mode])


@pytest.mark.parametrize("shape,pad,value", [
    ((2, 3), (1, 2), 0.0), ((2, 3), (1, 0, 2, 1), -1.5), ((1, 2, 3), (0, 1, 1, 0, 2, 0), 3.0),
    ((2, 3), (-1, 2), 0.0), ((2, 4), (-1, -2, 1, -1), 2.0), ((0, 3), (1, 1, 1, 1), 0.0),
    ((3,), (), 0.0), ((2, 3), (0, 0), 0.0),
])
def test_pad_constant(shape, pad, value):
    check_op(lambda a: F.pad(a, pad, value=value), [rand(*shape)],
             ref=lambda a: _np_pad(a, pad, value=value),
             torch_fn=lambda a: TF.pad(a, pad, value=value))
    check_op(lambda a: nb.pad(a, pad, "constant", value), [rand(*shape)],
             ref=lambda a: _np_pad(a, pad, value=value))


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("shape,pad", [
    ((2, 4), (2, 1)), ((1, 2, 5), (3, 3)), ((1, 3, 4), (1, 2, 2, 0)), ((2, 1, 3, 3), (2, 1, 0, 2)),
    ((1, 1, 3, 3, 4), (1, 1, 2, 0, 0, 2)), ((2, 3), (0, 0)), ((2, 4), (-1, 2)),
])
def test_pad_modes(mode, shape, pad):
    check_op(lambda a: F.pad(a, pad, mode=mode), [rand(*shape)],
             ref=lambda a: _np_pad(a, pad, mode), torch_fn=lambda a: TF.pad(a, pad, mode=mode))


def test_pad_reflect_accumulates_gradient_of_mirrored_entries():
    x = nb.tensor([[0.0, 1.0, 2.0, 3.0]], requires_grad=True)
    y = F.pad(x, (2, 3), mode="reflect")  # [2, 1, | 0, 1, 2, 3, | 2, 1, 0]
    assert y.tolist() == [[2.0, 1.0, 0.0, 1.0, 2.0, 3.0, 2.0, 1.0, 0.0]]
    y.sum().backward()
    assert x.grad.tolist() == [[2.0, 3.0, 3.0, 1.0]]
    x.grad = None
    F.pad(x, (3, 3), mode="circular").sum().backward()
    assert x.grad.tolist() == [[2.0, 3.0, 3.0, 2.0]]
    x.grad = None
    F.pad(x, (2, 1), mode="replicate").sum().backward()
    assert x.grad.tolist() == [[3.0, 1.0, 1.0, 2.0]]


def test_pad_errors():
    x = nb.zeros(1, 2, 3)
    with pytest.raises(RuntimeError, match=r"pad: padding length must be divisible by 2"):
        F.pad(x, (1, 1, 1))
    with pytest.raises(RuntimeError, match=r"reflect padding \(3, 3\) must be smaller than "
                                           r"dimension 2 of size 3"):
        F.pad(x, (3, 3), mode="reflect")
    with pytest.raises(RuntimeError, match="circular padding .* wrap around more than once"):
        F.pad(x, (4, 0), mode="circular")
    with pytest.raises(RuntimeError, match=r"covers 4 dimensions, but the input of shape "
                                           r"\(1, 2, 3\) has only 3"):
        F.pad(x, (1,) * 8)
    with pytest.raises(ValueError, match="mode must be one of"):
        F.pad(x, (1, 1), mode="mirror")
    with pytest.raises(ValueError, match="does not take a value"):
        F.pad(x, (1, 1), mode="reflect", value=2.0)
    with pytest.raises(RuntimeError, match="negative size"):
        F.pad(x, (-2, -2))
    with pytest.raises(NotImplementedError, match="at most the last 3 dimensions"):
        F.pad(nb.zeros(2, 2, 2, 2), (1,) * 8, mode="replicate")
    with pytest.raises(RuntimeError, match="replicate padding needs a non-empty dimension"):
        F.pad(nb.zeros(2, 0), (1, 1), mode="replicate")


# -- triangles and diagonals ---------------------------------------------------------------
@pytest.mark.parametrize("shape,k", [((3, 4), 0), ((3, 4), 1), ((3, 4), -2), ((2, 3, 3), 0),
                                     ((4, 3), 5), ((0, 3), 0), ((2, 2, 0), -1)])
def test_tril_triu(shape, k):
    check_op(lambda a: a.tril(k), [rand(*shape)], ref=lambda a: np.tril(a, k),
             torch_fn=lambda a: a.tril(k))
    check_op(lambda a: nb.triu(a, diagonal=k), [rand(*shape)], ref=lambda a: np.triu(a, k),
             torch_fn=lambda a: torch.triu(a, diagonal=k))
    check_op(lambda a: nb.tril(a, k), [rand(*shape)], ref=lambda a: np.tril(a, k))


def test_tril_inplace_and_integer_input():
    x = nb.ones(3, 3)
    assert x.tril_() is x
    assert x.tolist() == np.tril(np.ones((3, 3))).tolist()
    assert nb.triu(nb.tensor([[1, 2], [3, 4]])).tolist() == [[1, 2], [0, 4]]
    with pytest.raises(RuntimeError, match=r"tril: input tensor must have at least 2 "
                                           r"dimensions, got shape \(3,\)"):
        nb.tril(nb.zeros(3))


@pytest.mark.parametrize("shape,offset,d1,d2", [
    ((3, 4), 0, 0, 1), ((3, 4), 1, 0, 1), ((3, 4), -1, 0, 1), ((3, 4), 2, 1, 0),
    ((2, 3, 4), 0, -1, 0), ((2, 3, 4), 1, 1, 2), ((3, 4), 7, 0, 1), ((0, 3), 0, 0, 1),
])
def test_diagonal(shape, offset, d1, d2):
    check_op(lambda a: a.diagonal(offset, d1, d2), [rand(*shape)],
             ref=lambda a: np.diagonal(a, offset, d1, d2),
             torch_fn=lambda a: a.diagonal(offset, d1, d2))


@pytest.mark.parametrize("shape,offset,d1,d2", [
    ((3,), 0, -2, -1), ((2, 3), 1, -2, -1), ((2, 3), -2, 0, 2), ((2, 3), 0, 2, 1), ((0,), 1, 0, 1),
])
def test_diag_embed(shape, offset, d1, d2):
    def ref(a):
        m = a.shape[-1] + abs(offset)
        out = np.zeros(a.shape[:-1] + (m, m))
        i = np.arange(a.shape[-1])
        out[..., i + max(-offset, 0), i + max(offset, 0)] = a
        return np.moveaxis(out, (-2, -1), (d1, d2))
    check_op(lambda a: a.diag_embed(offset, d1, d2), [rand(*shape)], ref=ref,
             torch_fn=lambda a: torch.diag_embed(a, offset, d1, d2))


@pytest.mark.parametrize("shape,k", [((3,), 0), ((3,), 1), ((3,), -2), ((3, 4), 0),
                                     ((3, 4), 1), ((3, 4), -2), ((0,), 0)])
def test_diag(shape, k):
    check_op(lambda a: nb.diag(a, k), [rand(*shape)], ref=lambda a: np.diag(a, k),
             torch_fn=lambda a: torch.diag(a, k))


# -- view semantics -------------------------------------------------------------------------
_VIEWS = {
    "reshape": lambda x: x.reshape(3, 4),
    "view": lambda x: x.view(-1),
    "flatten": lambda x: x.flatten(),
    "unflatten": lambda x: x.unflatten(1, (2, 2)),
    "permute": lambda x: x.permute(1, 0),
    "transpose": lambda x: x.transpose(0, 1),
    "mT": lambda x: x.mT,
    "movedim": lambda x: x.movedim(0, 1),
    "expand": lambda x: x.unsqueeze(0).expand(2, 3, 4),
    "squeeze": lambda x: x.unsqueeze(1).squeeze(1),
    "slice": lambda x: x[1:, ::2],
    "narrow": lambda x: x.narrow(1, 1, 2),
    "split": lambda x: x.split(2, 1)[1],
    "chunk": lambda x: x.chunk(3)[2],
    "unbind": lambda x: x.unbind(1)[3],
    "diagonal": lambda x: x.diagonal(),
}


@pytest.mark.parametrize("name", list(_VIEWS))
def test_views_share_memory_and_version_counter(name):
    x = nb.tensor(rand(3, 4))
    y = _VIEWS[name](x)
    assert np.shares_memory(y.array, x.array)
    assert y._version is x._version
    before = y.numpy().copy()
    x.mul_(2)  # an in-place op on the base is seen by the view and bumps its version
    assert y._version_count == 1
    np.testing.assert_allclose(y.numpy(), 2 * before)


_COPIES = {
    "flip": lambda x: x.flip(0), "roll": lambda x: x.roll(1, 0), "repeat": lambda x: x.repeat(1, 2),
    "tile": lambda x: x.tile((2,)), "cat": lambda x: nb.cat([x, x]),
    "stack": lambda x: nb.stack([x]),
    "pad": lambda x: F.pad(x, (1, 1)), "reflect": lambda x: F.pad(x, (1, 1), mode="reflect"),
    "tril": lambda x: x.tril(), "diag": lambda x: nb.diag(x),
    "reshape_of_transposed": lambda x: x.mT.reshape(-1),
    "repeat_interleave": lambda x: x.repeat_interleave(2),
}


@pytest.mark.parametrize("name", list(_COPIES))
def test_copies_own_their_memory(name):
    x = nb.tensor(rand(3, 4))
    y = _COPIES[name](x)
    assert not np.shares_memory(y.array, x.array)
    assert y._version is not x._version
    before = y.numpy().copy()
    x.mul_(2)
    np.testing.assert_array_equal(y.numpy(), before)
    assert y._version_count == 0


def test_inplace_on_a_view_writes_through_to_the_base():
    x = nb.zeros(2, 3)
    v = x.view(6)
    v.add_(1)
    assert x.tolist() == [[1.0] * 3] * 2 and x._version_count == 1
    x.narrow(1, 0, 1).fill_(5)
    assert x[:, 0].tolist() == [5.0, 5.0]


def test_inplace_on_base_after_saving_a_view_is_caught():
    x = nb.tensor(rand(2, 3), requires_grad=True)
    base = x * 1
    y = base.view(6)
    z = (y * y).sum()  # Mul saved the view
    with nb.no_grad():
        base.add_(1)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        z.backward()


# -- error messages ------------------------------------------------------------------------
def test_reshape_errors():
    x = nb.zeros(2, 3)
    with pytest.raises(RuntimeError, match=r"reshape: shape \[4, -1\] is invalid for input of "
                                           r"shape \(2, 3\) \(6 elements\)"):
        x.reshape(4, -1)
    with pytest.raises(RuntimeError, match=r"view: shape \[5\] is invalid for input of shape "
                                           r"\(2, 3\)"):
        x.view(5)
    with pytest.raises(RuntimeError, match="only one dimension can be inferred"):
        x.reshape(-1, -1)
    with pytest.raises(RuntimeError, match=r"invalid size -2"):
        x.reshape(-2, -3)
    with pytest.raises(RuntimeError, match="ambiguous"):
        nb.zeros(0, 3).reshape(-1, 0)
    with pytest.raises(RuntimeError, match=r"unflatten: shape \[4, -1\] is invalid for "
                                           r"dimension 1 of size 3"):
        x.unflatten(1, (4, -1))
    with pytest.raises(RuntimeError, match="flatten: start_dim .* cannot come after end_dim"):
        nb.zeros(2, 3, 4).flatten(2, 1)


def test_dim_errors():
    x = nb.zeros(2, 3)
    with pytest.raises(IndexError, match=r"transpose: dimension 2 is out of range for a tensor "
                                         r"with 2 dimensions \(expected to be in \[-2, 1\]\)"):
        x.transpose(0, 2)
    with pytest.raises(RuntimeError, match=r"permute: dims \[0, 0\] are not a permutation"):
        x.permute(0, 0)
    with pytest.raises(RuntimeError, match=r"permute: dims \[0\] are not a permutation of the "
                                           r"2 dimensions of a tensor of shape \(2, 3\)"):
        x.permute(0)
    with pytest.raises(IndexError, match="unsqueeze: dimension 3 is out of range"):
        x.unsqueeze(3)
    with pytest.raises(IndexError, match="squeeze: dimension -3 is out of range"):
        x.squeeze(-3)
    with pytest.raises(RuntimeError, match="movedim: dims .* repeat a dimension"):
        x.movedim((0, 0), (0, 1))
    with pytest.raises(RuntimeError, match="movedim: source .* same number of dimensions"):
        x.movedim((0, 1), 0)
    with pytest.raises(RuntimeError, match=r"t: expects a tensor with <= 2 dimensions, got "
                                           r"shape \(2, 3, 4\)"):
        nb.zeros(2, 3, 4).t()
    with pytest.raises(RuntimeError, match=r"mT: expects a matrix .* shape \(3,\)"):
        nb.zeros(3).mT
    with pytest.raises(RuntimeError, match="flip: dims .* repeat a dimension"):
        x.flip(0, -2)
    with pytest.raises(TypeError, match="view: sizes must be integers"):
        x.view(nb.float32)
    with pytest.raises(TypeError, match="transpose: dim must be an int, got tuple"):
        x.transpose((0, 1), 1)


def test_expand_and_repeat_errors():
    with pytest.raises(RuntimeError, match=r"expand: tensor of shape \(2, 3\) cannot be "
                                           r"broadcast to shape \(2, 4\)"):
        nb.zeros(2, 3).expand(2, 4)
    with pytest.raises(RuntimeError, match=r"expand: size -1 is not allowed in the new leading "
                                           r"dimension 0"):
        nb.zeros(3).expand(-1, 3)
    with pytest.raises(RuntimeError, match=r"expand: the number of sizes \(1\) must be at least "
                                           r"the number of dimensions \(2\)"):
        nb.zeros(2, 3).expand(3)
    with pytest.raises(RuntimeError, match=r"repeat: the number of repeats \(1\) cannot be "
                                           r"smaller than the number of dimensions \(2\)"):
        nb.zeros(2, 3).repeat(2)
    with pytest.raises(RuntimeError, match="repeat: repeats must be non-negative"):
        nb.zeros(2).repeat(-1)
    with pytest.raises(RuntimeError, match=r"repeat_interleave: repeats must be an int or a 1-D "
                                           r"integer tensor of 3 counts"):
        nb.zeros(3).repeat_interleave(nb.tensor([1, 2]))
    with pytest.raises(RuntimeError, match=r"roll: shifts \[1, 2\] and dims \[0\] must have "
                                           r"the same length"):
        nb.zeros(3).roll((1, 2), 0)


def test_cat_and_stack_errors():
    a, b = nb.zeros(2, 3), nb.zeros(2, 4)
    with pytest.raises(RuntimeError, match=r"cat: sizes of tensors must match except in "
                                           r"dimension 0, but tensor 0 has shape \(2, 3\) and "
                                           r"tensor 2 has shape \(2, 4\)"):
        nb.cat([a, a, b])
    with pytest.raises(RuntimeError, match=r"cat: tensors must have the same number of "
                                           r"dimensions, but tensor 0 has shape \(2, 3\) and "
                                           r"tensor 1 has shape \(2, 3, 1\)"):
        nb.cat([a, nb.zeros(2, 3, 1)])
    with pytest.raises(RuntimeError, match=r"zero-dimensional tensor \(at position 1\)"):
        nb.cat([nb.zeros(1), nb.zeros(())])
    with pytest.raises(RuntimeError, match="expected a non-empty list"):
        nb.cat([])
    with pytest.raises(TypeError, match="cat: expected a sequence of Tensors, got a single"):
        nb.cat(a)
    with pytest.raises(TypeError, match="element 1 is a list"):
        nb.cat([a, [1.0]])
    with pytest.raises(IndexError, match="cat: dimension 2 is out of range"):
        nb.cat([a, a], 2)
    with pytest.raises(RuntimeError, match=r"stack: expects each tensor to be equal size, but "
                                           r"got \(2, 3\) at entry 0 and \(2, 4\) at entry 1"):
        nb.stack([a, b])


def test_split_family_errors():
    x = nb.zeros(4, 3)
    with pytest.raises(RuntimeError, match=r"split: split sizes \[1, 2\] must be non-negative "
                                           r"and sum exactly to 4"):
        x.split([1, 2])
    with pytest.raises(RuntimeError, match="split: split_size must be positive"):
        x.split(0)
    with pytest.raises(RuntimeError, match="chunk: expects chunks to be greater than 0, got 0"):
        x.chunk(0)
    with pytest.raises(RuntimeError, match=r"narrow: start \(2\) \+ length \(3\) exceeds "
                                           r"dimension 0 of size 4"):
        x.narrow(0, 2, 3)
    with pytest.raises(RuntimeError, match="narrow: length must be non-negative"):
        x.narrow(0, 0, -1)
    with pytest.raises(IndexError, match="narrow: start 5 is out of range"):
        x.narrow(0, 5, 0)
    with pytest.raises(RuntimeError, match="unbind: .* no dimensions"):
        nb.zeros(()).unbind()
    with pytest.raises(RuntimeError, match=r"diagonal: dim1 and dim2 cannot be the same"):
        x.diagonal(0, 1, -1)
    with pytest.raises(RuntimeError, match=r"diag: expects a 1-D or 2-D tensor, got shape"):
        nb.diag(nb.zeros(2, 2, 2))
