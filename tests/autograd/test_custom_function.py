"""Custom functions written the PyTorch way (ctx, save_for_backward, static backward),
each written once for both libraries and compared with torch 2.13."""
import numpy as np
import pytest

import nabla as nb
from nabla.autograd import forward_ad as fwAD

torch = pytest.importorskip("torch")


def pair(a, requires_grad=True):
    """The same float64 values as a nabla and a torch tensor."""
    a = np.asarray(a, dtype=np.float64)
    return (nb.tensor(a, requires_grad=requires_grad),
            torch.tensor(a, requires_grad=requires_grad))


def close(n, t, **kw):
    assert n is not None and t is not None
    np.testing.assert_allclose(n.detach().numpy(), t.detach().numpy(), rtol=1e-10, atol=1e-12,
                               **kw)


def both(make):
    """``make(lib)`` for nabla and for torch."""
    return make(nb), make(torch)


X = [0.3, -1.2, 0.7, 2.0]


# -- the classes, written once -------------------------------------------------------------
def scaled_exp(lib):
    class ScaledExp(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, scale=1.0):
            y = x.exp() * scale
            ctx.save_for_backward(y)
            ctx.scale = scale
            ScaledExp.seen = (ctx.needs_input_grad, lib.is_grad_enabled(), y.requires_grad)
            return y

        @staticmethod
        def backward(ctx, grad):
            (y,) = ctx.saved_tensors
            return grad * y, None     # written in Tensor ops: differentiable again
    return ScaledExp


def cube(lib):
    class Cube(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return 3 * x ** 2 * grad
    return Cube


def sin_cos(lib, materialize=True):
    class SinCos(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, w):
            ctx.set_materialize_grads(materialize)
            ctx.save_for_backward(x, w)
            return x.sin() * w, x.cos()

        @staticmethod
        def backward(ctx, g_sin, g_cos):
            x, w = ctx.saved_tensors
            SinCos.received = (g_sin, g_cos)
            gx = g_sin * w * x.cos()
            if g_cos is not None:
                gx = gx - g_cos * x.sin()
            return gx, g_sin * x.sin()
    return SinCos


# -- one output, non-tensor inputs ---------------------------------------------------------
def test_single_output_with_a_non_tensor_input():
    (xn, xt), (Fn, Ft) = pair(X), both(scaled_exp)
    yn, yt = Fn.apply(xn, 2.0), Ft.apply(xt, 2.0)
    close(yn, yt)
    assert "ScaledExpBackward" in repr(yn.grad_fn)
    (yn * yn).sum().backward()
    (yt * yt).sum().backward()
    close(xn.grad, xt.grad)
    # forward ran with grad off on Tensors; needs_input_grad has one entry per argument
    assert Fn.seen == Ft.seen == ((True, False), False, False)


def test_apply_under_no_grad_records_nothing():
    (xn, xt), (Fn, Ft) = pair(X), both(scaled_exp)
    with nb.no_grad():
        yn = Fn.apply(xn, 3.0)
    with torch.no_grad():
        yt = Ft.apply(xt, 3.0)
    close(yn, yt)
    assert yn.grad_fn is None and yt.grad_fn is None
    assert not yn.requires_grad and not yt.requires_grad


def test_nablas_own_ops_keep_the_array_level_apply():
    from nabla.ops.linalg import Matmul

    assert Matmul.apply.__func__ is nb.autograd.Function.apply.__func__
    assert scaled_exp(nb).apply.__func__ is not nb.autograd.Function.apply.__func__


# -- several outputs -----------------------------------------------------------------------
@pytest.mark.parametrize("materialize", [True, False])
def test_multi_output_with_one_unused(materialize):
    (xn, xt), (wn, wt) = pair(X), pair([1.5, 0.5, -2.0, 1.0])
    Fn, Ft = sin_cos(nb, materialize), sin_cos(torch, materialize)
    sn, cn = Fn.apply(xn, wn)
    st, ct = Ft.apply(xt, wt)
    close(sn, st)
    close(cn, ct)
    (sn * sn).sum().backward()  # cos output unused
    (st * st).sum().backward()
    close(xn.grad, xt.grad)
    close(wn.grad, wt.grad)
    if materialize:  # zeros for the unused output, as PyTorch passes
        close(Fn.received[1], Ft.received[1])
        np.testing.assert_array_equal(Fn.received[1].numpy(), np.zeros(4))
    else:
        assert Fn.received[1] is None and Ft.received[1] is None


def test_multi_output_both_used_and_hooks_on_outputs():
    (xn, xt), (wn, wt) = pair(X), pair([1.5, 0.5, -2.0, 1.0])
    Fn, Ft = both(sin_cos)
    sn, cn = Fn.apply(xn, wn)
    st, ct = Ft.apply(xt, wt)
    seen = []
    cn.register_hook(lambda g: seen.append(g) or g * 2)
    ct.register_hook(lambda g: g * 2)
    (sn * cn).sum().backward()
    (st * ct).sum().backward()
    close(xn.grad, xt.grad)
    close(wn.grad, wt.grad)
    close(seen[0], st.detach())


def test_non_tensor_outputs_and_inputs():
    def make(lib):
        class Power(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x, n, label):
                ctx.save_for_backward(x)
                ctx.n = n
                return x ** n, n + 1, label.upper()

            @staticmethod
            def backward(ctx, g, g_int, g_str):
                Power.received = (g_int, g_str)
                (x,) = ctx.saved_tensors
                return g * ctx.n * x ** (ctx.n - 1), None, None
        return Power

    (xn, xt), (Fn, Ft) = pair(X), both(make)
    yn, kn, ln = Fn.apply(xn, 3, "ab")
    yt, kt, lt = Ft.apply(xt, 3, "ab")
    assert (kn, ln) == (kt, lt) == (4, "AB")
    yn.sum().backward()
    yt.sum().backward()
    close(xn.grad, xt.grad)
    assert Fn.received == Ft.received == (None, None)


def test_mark_non_differentiable_sort_indices():
    def make(lib):
        class Sort(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                values, indices = x.sort()
                ctx.mark_non_differentiable(indices)
                ctx.save_for_backward(indices)
                return values, indices

            @staticmethod
            def backward(ctx, g_values, g_indices):
                Sort.received = g_indices
                (indices,) = ctx.saved_tensors
                return g_values[indices.argsort()]
        return Sort

    (xn, xt), (Fn, Ft) = pair(X), both(make)
    vn, in_ = Fn.apply(xn)
    vt, it = Ft.apply(xt)
    close(vn, vt)
    np.testing.assert_array_equal(in_.numpy(), it.numpy())
    assert not in_.requires_grad and not it.requires_grad
    (vn * nb.tensor(np.arange(4.0))).sum().backward()
    (vt * torch.arange(4.0, dtype=torch.float64)).sum().backward()
    close(xn.grad, xt.grad)
    np.testing.assert_array_equal(Fn.received.numpy(), Ft.received.numpy())  # zeros


def test_mark_non_differentiable_float_output():
    def make(lib):
        class Twice(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                mask = (x > 0).to(x.dtype)
                ctx.mark_non_differentiable(mask)
                return x * 2, mask

            @staticmethod
            def backward(ctx, g, g_mask):
                return g * 2
        return Twice

    (xn, xt), (Fn, Ft) = pair(X), both(make)
    (yn, mn), (yt, mt) = Fn.apply(xn), Ft.apply(xt)
    close(mn, mt)
    assert not mn.requires_grad and not mt.requires_grad
    yn.sum().backward()
    yt.sum().backward()
    close(xn.grad, xt.grad)


# -- in place ------------------------------------------------------------------------------
def double_in_place(lib):
    class DoubleInPlace(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            x.mul_(2)
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, g):
            return g * 2
    return DoubleInPlace


def test_mark_dirty_in_place_forward():
    (xn, xt), (Fn, Ft) = pair(X), both(double_in_place)
    an, at = xn * 1.5, xt * 1.5
    bn, bt = Fn.apply(an), Ft.apply(at)
    assert bn is an and bt is at
    close(bn, bt)
    assert an._version_count == at._version == 2
    assert "DoubleInPlaceBackward" in repr(an.grad_fn)
    (bn * bn).sum().backward()
    (bt * bt).sum().backward()
    close(xn.grad, xt.grad)


def test_mark_dirty_errors():
    (xn, xt), (Fn, Ft) = pair(X), both(double_in_place)
    with pytest.raises(RuntimeError, match="leaf"):
        Ft.apply(xt)
    with pytest.raises(RuntimeError, match="leaf"):
        Fn.apply(xn)
    # an op that saved its output sees the in-place change at backward, in both
    en, et = xn.exp(), xt.exp()
    Fn.apply(en)
    Ft.apply(et)
    with pytest.raises(RuntimeError, match="in-?place"):
        et.sum().backward()
    with pytest.raises(RuntimeError, match="in-place"):
        en.sum().backward()

    def not_returned(lib):
        class Hidden(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                x.mul_(2)
                ctx.mark_dirty(x)
                return x * 1

            @staticmethod
            def backward(ctx, g):
                return g
        return Hidden
    Hn, Ht = both(not_returned)
    with pytest.raises(RuntimeError, match="returned"):
        Ht.apply(xt.clone())
    with pytest.raises(RuntimeError, match="returned"):
        Hn.apply(xn.clone())


def test_saved_tensor_modified_in_place_raises_at_backward():
    (xn, xt), (Fn, Ft) = pair(X), both(scaled_exp)
    yn, yt = Fn.apply(xn, 2.0), Ft.apply(xt, 2.0)
    with nb.no_grad():
        yn.mul_(2)
    with torch.no_grad():
        yt.mul_(2)
    with pytest.raises(RuntimeError, match="inplace"):
        yt.sum().backward()
    with pytest.raises(RuntimeError, match="ScaledExp.*in-place"):
        yn.sum().backward()


def test_returning_an_input_gives_a_new_tensor_on_the_same_memory():
    def make(lib):
        class Identity(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x

            @staticmethod
            def backward(ctx, g):
                return g * 3
        return Identity

    (xn, xt), (Fn, Ft) = pair(X), both(make)
    yn, yt = Fn.apply(xn), Ft.apply(xt)
    assert yn is not xn and yt is not xt
    assert np.shares_memory(yn.detach().numpy(), xn.detach().numpy())
    yn.sum().backward()
    yt.sum().backward()
    close(xn.grad, xt.grad)
    assert xn.grad_fn is None  # the input keeps its own (leaf) history


# -- higher order --------------------------------------------------------------------------
@pytest.mark.parametrize("make", [scaled_exp, cube])
def test_double_backward_through_a_differentiable_backward(make):
    (xn, xt), (Fn, Ft) = pair(X), both(make)
    args = (2.0,) if make is scaled_exp else ()
    gn, = nb.autograd.grad((Fn.apply(xn, *args) ** 2).sum(), xn, create_graph=True)
    gt, = torch.autograd.grad((Ft.apply(xt, *args) ** 2).sum(), xt, create_graph=True)
    close(gn, gt)
    hn, = nb.autograd.grad((gn * gn).sum(), xn)
    ht, = torch.autograd.grad((gt * gt).sum(), xt)
    close(hn, ht)


def once(lib):
    class Square(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 2

        @staticmethod
        @lib.autograd.function.once_differentiable
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * x * g
    return Square


def test_once_differentiable():
    (xn, xt), (Fn, Ft) = pair(X), both(once)
    gn, = nb.autograd.grad((Fn.apply(xn) ** 2).sum(), xn, create_graph=True)
    gt, = torch.autograd.grad((Ft.apply(xt) ** 2).sum(), xt, create_graph=True)
    close(gn, gt)
    with pytest.raises(RuntimeError, match="once_differentiable"):
        gt.sum().backward()
    with pytest.raises(RuntimeError, match="once_differentiable"):
        gn.sum().backward()
    # first order as usual; no error node when the incoming gradient is a constant
    gn, = nb.autograd.grad(Fn.apply(xn).sum(), xn, create_graph=True)
    gt, = torch.autograd.grad(Ft.apply(xt).sum(), xt, create_graph=True)
    close(gn, gt)
    assert not gn.requires_grad and not gt.requires_grad


# -- errors in backward --------------------------------------------------------------------
def returning(lib, grads):
    class Bad(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, scale):
            return x * scale

        @staticmethod
        def backward(ctx, g):
            return grads(lib, g)
    return Bad


def check_both(grads, match_n, match_t, xs=X):
    (xn, xt) = pair(xs)
    with pytest.raises(RuntimeError, match=match_t):
        returning(torch, grads).apply(xt, 2.0).sum().backward()
    with pytest.raises(RuntimeError, match=match_n):
        returning(nb, grads).apply(xn, 2.0).sum().backward()


def test_wrong_number_of_gradients():
    check_both(lambda lib, g: g, r"Bad\.backward returned 1 gradient, expected 2",
               r"BadBackward.*expected 2, got 1")
    check_both(lambda lib, g: (g, None, g), r"Bad\.backward returned 3 gradients, expected 2",
               r"BadBackward.*expected 2, got 3")


def test_gradient_for_a_non_tensor_argument_and_of_a_wrong_shape():
    check_both(lambda lib, g: (g, g), r"argument 1 of forward, which is not a Tensor",
               "not a Variable")
    check_both(lambda lib, g: (lib.ones(5, dtype=lib.float64), None),
               r"Bad\.backward returned a gradient of shape \(5,\) for argument 0.*\(4,\)",
               "invalid gradient at index 0")


def test_extra_none_gradients_and_broadcast_gradients_are_accepted():
    for grads in (lambda lib, g: (g * 2, None, None),
                  lambda lib, g: (lib.ones(3, 4, dtype=lib.float64), None)):
        (xn, xt) = pair(X)
        returning(nb, grads).apply(xn, 2.0).sum().backward()
        returning(torch, grads).apply(xt, 2.0).sum().backward()
        close(xn.grad, xt.grad)


# -- setup_context style -------------------------------------------------------------------
def scaled_sin(lib):
    class ScaledSin(lib.autograd.Function):
        @staticmethod
        def forward(x, scale=2.0):
            return x.sin() * scale

        @staticmethod
        def setup_context(ctx, inputs, output):
            x, scale = inputs
            ctx.save_for_backward(x)
            ctx.save_for_forward(x)
            ctx.scale = scale
            ScaledSin.seen = (len(inputs), type(output).__name__)

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * ctx.scale * x.cos(), None

        @staticmethod
        def jvp(ctx, tx, t_scale):
            (x,) = ctx.saved_tensors  # what save_for_forward kept
            return tx * ctx.scale * x.cos()
    return ScaledSin


def test_setup_context_style():
    (xn, xt), (Fn, Ft) = pair(X), both(scaled_sin)
    yn, yt = Fn.apply(xn), Ft.apply(xt)   # the default fills inputs, as in PyTorch
    close(yn, yt)
    assert Fn.seen == (2, "Tensor") and Ft.seen == (2, "Tensor")
    (yn ** 2).sum().backward()
    (yt ** 2).sum().backward()
    close(xn.grad, xt.grad)


# -- forward mode --------------------------------------------------------------------------
def test_forward_mode_jvp_against_torch():
    (xn, xt), (un, ut) = pair(X, False), pair([1.0, -0.5, 2.0, 0.25], False)
    Fn, Ft = both(scaled_sin)
    yn, tn = nb.func.jvp(lambda x: Fn.apply(x, 3.0), (xn,), (un,))
    yt, tt = torch.func.jvp(lambda x: Ft.apply(x, 3.0), (xt,), (ut,))
    close(yn, yt)
    close(tn, tt)
    with fwAD.dual_level():
        on = Fn.apply(fwAD.make_dual(xn, un))
        tn = fwAD.unpack_dual(on).tangent
    import torch.autograd.forward_ad as tfw
    with tfw.dual_level():
        tt = tfw.unpack_dual(Ft.apply(tfw.make_dual(xt, ut))).tangent
    close(tn, tt)


def test_forward_mode_two_outputs_and_a_missing_tangent():
    def make(lib):
        class MulAdd(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x, w):
                ctx.save_for_forward(x, w)
                return x * w, x + w

            @staticmethod
            def jvp(ctx, tx, tw):
                MulAdd.tw = tw
                x, w = ctx.saved_tensors
                return tx * w + x * tw, tx + tw
        return MulAdd

    (xn, xt), (wn, wt) = pair(X, False), pair([2.0, 1.0, -1.0, 0.5], False)
    (un, ut), (Fn, Ft) = pair([1.0, 2.0, 3.0, 4.0], False), both(make)
    import torch.autograd.forward_ad as tfw
    with fwAD.dual_level():
        an, bn = Fn.apply(fwAD.make_dual(xn, un), wn)   # w has no tangent: zeros
        tan_n = [fwAD.unpack_dual(o).tangent for o in (an, bn)]
    with tfw.dual_level():
        at, bt = Ft.apply(tfw.make_dual(xt, ut), wt)
        tan_t = [tfw.unpack_dual(o).tangent for o in (at, bt)]
    for a, b in zip(tan_n, tan_t):
        close(a, b)
    close(Fn.tw, Ft.tw)


def test_forward_mode_without_jvp_raises():
    (xn, xt), (un, ut) = pair(X, False), pair(X, False)
    Fn, Ft = both(cube)
    import torch.autograd.forward_ad as tfw
    with tfw.dual_level(), pytest.raises(RuntimeError, match="jvp"):
        Ft.apply(tfw.make_dual(xt, ut))
    with fwAD.dual_level(), pytest.raises(RuntimeError, match="Cube: forward-mode AD needs a jvp"):
        Fn.apply(fwAD.make_dual(xn, un))


# -- in a model ----------------------------------------------------------------------------
def linear_fn(lib):
    class LinearFn(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, w, b):
            ctx.save_for_backward(x, w)
            return x @ w.t() + b

        @staticmethod
        def backward(ctx, g):
            x, w = ctx.saved_tensors
            gx = g @ w if ctx.needs_input_grad[0] else None
            return gx, g.t() @ x, g.sum(0)
    return LinearFn


def test_training_a_module_with_a_custom_function():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((16, 3)), rng.standard_normal((16, 1))
    w1, b1 = rng.standard_normal((8, 3)) * 0.5, np.zeros(8)
    w2, b2 = rng.standard_normal((1, 8)) * 0.5, np.zeros(1)

    def model(lib):
        fn = linear_fn(lib)

        class Net(lib.nn.Module):
            def __init__(self):
                super().__init__()
                param = lambda a: lib.nn.Parameter(lib.tensor(a))  # noqa: E731
                self.w1, self.b1, self.w2, self.b2 = param(w1), param(b1), param(w2), param(b2)

            def forward(self, x):
                return fn.apply(fn.apply(x, self.w1, self.b1).tanh(), self.w2, self.b2)
        return Net()

    losses = {}
    for lib in (nb, torch):
        net = model(lib)
        opt = lib.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
        xs, ys = lib.tensor(x), lib.tensor(y)
        losses[lib.__name__] = []
        for _ in range(20):
            opt.zero_grad()
            loss = ((net(xs) - ys) ** 2).mean()
            loss.backward()
            opt.step()
            losses[lib.__name__].append(loss.item())
    np.testing.assert_allclose(losses["nabla"], losses["torch"], rtol=1e-9)
    assert losses["nabla"][-1] < 0.5 * losses["nabla"][0]


# -- gradcheck -----------------------------------------------------------------------------
def test_gradcheck_passes_a_right_rule_and_catches_a_wrong_one():
    xn, _ = pair(X)
    Sin = scaled_sin(nb)
    assert nb.autograd.gradcheck(lambda x: Sin.apply(x, 1.5), (xn,))
    assert nb.autograd.gradgradcheck(lambda x: Sin.apply(x, 1.5), (xn,), check_forward_ad=False)
    assert nb.autograd.gradcheck(lambda x: scaled_exp(nb).apply(x, 2.0), (xn,),
                                 check_forward_ad=False)

    class WrongSin(Sin):
        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * ctx.scale * x.sin(), None   # sin where cos belongs

    with pytest.raises(AssertionError, match="gradcheck"):
        nb.autograd.gradcheck(lambda x: WrongSin.apply(x, 1.5), (xn,), check_forward_ad=False)
    assert not nb.autograd.gradcheck(lambda x: WrongSin.apply(x, 1.5), (xn,),
                                     check_forward_ad=False, raise_exception=False)


def test_function_ctx_and_vjp_alias():
    from nabla.autograd.function import FunctionCtx

    class ExpVjp(nb.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            assert isinstance(ctx, FunctionCtx)
            y = x.exp()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def vjp(ctx, g):     # PyTorch's other name for backward
            return g * ctx.saved_tensors[0]

    xn, xt = pair(X)
    ExpVjp.apply(xn).sum().backward()
    xt.exp().sum().backward()
    close(xn.grad, xt.grad)
    y = ExpVjp.apply(xn)
    y.sum().backward()
    with pytest.raises(RuntimeError, match="second time"):
        y.sum().backward()
