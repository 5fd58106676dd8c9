"""Tensors and automatic differentiation, checked against derivatives worked out by hand.

Shows: tensor creation and broadcasting, ``backward`` and ``.grad``, ``autograd.grad``
(including a second derivative with ``create_graph=True``), a tensor hook, ``no_grad``,
forward mode (``nabla.autograd.forward_ad``) and the JAX-style ``nabla.func.grad`` /
``jacrev``. Every derivative is compared with its closed form.

Run: python examples/01_tensors_and_autograd.py
"""
import nabla as nb
import nabla.autograd.forward_ad as fwAD
from nabla.func import grad, jacrev


def f(x):
    """f(x) = sum(sin(x) * x**2); df/dx = cos(x) x^2 + 2 x sin(x)."""
    return (x.sin() * x ** 2).sum()


def df_by_hand(x):
    return x.cos() * x ** 2 + 2 * x * x.sin()


def main(quick: bool = False) -> dict:
    nb.manual_seed(0)
    errors = {}

    # broadcasting: (3, 1) + (4,) -> (3, 4), as in NumPy
    col = nb.arange(3, dtype=nb.float32).reshape(3, 1)
    row = nb.linspace(0.0, 1.0, 4)
    table = col + row
    print("broadcast", tuple(col.shape), "+", tuple(row.shape), "->", tuple(table.shape))

    # reverse mode: backward() fills .grad of the leaves
    x = nb.randn(5, requires_grad=True)
    f(x).backward()
    errors["backward"] = (x.grad - df_by_hand(x.detach())).abs().max().item()

    # broadcasting in the backward pass: a bias added to every row gets the row-sum
    w = nb.randn(3, 4, requires_grad=True)
    b = nb.zeros(4, requires_grad=True)
    ((w + b) ** 2).sum().backward()
    errors["broadcast_grad"] = (b.grad - (2 * w.detach()).sum(0)).abs().max().item()

    # autograd.grad returns gradients instead of accumulating them; create_graph=True
    # keeps the graph of the gradient, so we can differentiate again: d2/dx2 of x^3 = 6x
    y = nb.tensor([0.5, -1.0, 2.0], requires_grad=True)
    (dy,) = nb.autograd.grad((y ** 3).sum(), y, create_graph=True)
    (d2y,) = nb.autograd.grad(dy.sum(), y)
    errors["second_order"] = (d2y - 6 * y.detach()).abs().max().item()

    # a hook sees (and may replace) the gradient flowing into a tensor
    seen = []
    z = nb.randn(4, requires_grad=True)
    h = z * 3
    h.register_hook(lambda g: seen.append(g.clone()))
    (h ** 2).sum().backward()
    errors["hook"] = (seen[0] - 2 * h.detach()).abs().max().item()
    errors["hook_chain"] = (z.grad - 3 * seen[0]).abs().max().item()

    # no_grad: nothing is recorded, so the result needs no gradient
    with nb.no_grad():
        frozen = f(x)
    assert not frozen.requires_grad

    # forward mode: one pass gives the directional derivative <df/dx, v>
    v = nb.randn(5)
    with fwAD.dual_level():
        dual = fwAD.make_dual(x.detach(), v)
        tangent = fwAD.unpack_dual(f(dual)).tangent
    errors["forward_mode"] = abs(tangent.item() - (df_by_hand(x.detach()) * v).sum().item())

    # nabla.func: transforms of functions, as in JAX / torch.func
    xs = x.detach()
    errors["func_grad"] = (grad(f)(xs) - df_by_hand(xs)).abs().max().item()
    # the Jacobian of the elementwise map sin(x) * x^2 is diagonal
    jac = jacrev(lambda t: t.sin() * t ** 2)(xs)
    errors["jacrev"] = (jac - nb.diag(df_by_hand(xs))).abs().max().item()

    for name, err in errors.items():
        print(f"{name:15s} max |autograd - by hand| = {err:.2e}")
    worst = max(errors.values())
    print(f"all {len(errors)} checks agree with the hand derivatives to {worst:.1e}")
    return {"max_error": worst, "errors": errors}


if __name__ == "__main__":
    main()
