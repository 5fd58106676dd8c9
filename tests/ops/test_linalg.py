"""matmul and its relatives, tensordot and einsum: values, gradients to 2nd order, errors."""
import numpy as np
import pytest

import nabla as nb
from tests.optest import check_op, rand, torch


def _t(name):
    """A torch function by name, looked up only when torch is installed."""
    return None if torch is None else getattr(torch, name)


# -- matmul ---------------------------------------------------------------------------
@pytest.mark.parametrize("sa, sb", [
    ((3,), (3,)),              # vector . vector -> 0-d
    ((3,), (3, 2)),            # 1-D @ 2-D
    ((2, 3), (3,)),            # 2-D @ 1-D
    ((3,), (2, 3, 4)),         # 1-D @ batched
    ((2, 2, 3), (3,)),         # batched @ 1-D
    ((2, 1, 3, 4), (3, 4, 2)), # batch broadcasting
    ((1, 3), (3, 1)),          # size-1 dims
    ((0, 3), (3, 2)),          # empty rows
    ((2, 0), (0, 3)),          # empty contraction: zeros
])
def test_matmul(sa, sb):
    check_op(nb.matmul, [rand(*sa), rand(*sb, seed=1)], ref=np.matmul, torch_fn=_t("matmul"))


def test_matmul_errors():
    a, b = nb.ones(3, 4), nb.ones(5, 2)
    with pytest.raises(RuntimeError, match=r"matmul: shapes \(3, 4\) and \(5, 2\) do not align"):
        nb.matmul(a, b)
    with pytest.raises(RuntimeError, match="at least 1 dimension"):
        nb.matmul(nb.tensor(2.0), a)
    with pytest.raises(RuntimeError, match="batch dimensions"):
        nb.matmul(nb.ones(2, 3, 4), nb.ones(3, 4, 5))
    with pytest.raises(RuntimeError, match="same dtype, got float32 and float64"):
        nb.matmul(nb.ones(2, 3), nb.ones(3, 2, dtype=nb.float64))
    with pytest.raises(RuntimeError, match="same dtype"):
        nb.matmul(nb.ones(2, 3), nb.ones(3, 2, dtype=nb.int64))


# -- mm, bmm, mv, dot, outer, inner -------------------------------------------------------
@pytest.mark.parametrize("sa, sb", [((2, 3), (3, 4)), ((0, 3), (3, 2)), ((1, 1), (1, 1))])
def test_mm(sa, sb):
    check_op(nb.mm, [rand(*sa), rand(*sb, seed=1)], ref=np.matmul, torch_fn=_t("mm"))
    check_op(lambda a, b: a.mm(b), [rand(*sa), rand(*sb, seed=1)], ref=np.matmul)


@pytest.mark.parametrize("sa, sb", [((2, 2, 3), (2, 3, 4)), ((0, 2, 3), (0, 3, 1))])
def test_bmm(sa, sb):
    check_op(lambda a, b: a.bmm(b), [rand(*sa), rand(*sb, seed=1)], ref=np.matmul,
             torch_fn=_t("bmm"))


def test_mv_dot_outer():
    check_op(nb.mv, [rand(2, 3), rand(3, seed=1)], ref=np.matmul, torch_fn=_t("mv"))
    check_op(lambda a, b: a.mv(b), [rand(0, 3), rand(3, seed=1)], ref=np.matmul)
    check_op(nb.dot, [rand(4), rand(4, seed=1)], ref=np.dot, torch_fn=_t("dot"))
    check_op(lambda a, b: a.dot(b), [rand(0), rand(0, seed=1)], ref=np.dot)
    check_op(nb.outer, [rand(3), rand(2, seed=1)], ref=np.outer, torch_fn=_t("outer"))
    check_op(lambda a, b: a.outer(b), [rand(0), rand(2, seed=1)], ref=np.outer)


@pytest.mark.parametrize("sa, sb", [((3,), (3,)), ((2, 3), (4, 3)), ((2, 1, 3), (3,)),
                                    ((), (2, 3)), ((2, 3), ()), ((0, 2), (3, 2))])
def test_inner(sa, sb):
    check_op(nb.inner, [rand(*sa), rand(*sb, seed=1)], ref=np.inner, torch_fn=_t("inner"))
    check_op(lambda a, b: a.inner(b), [rand(*sa), rand(*sb, seed=1)], ref=np.inner)


def test_product_errors():
    with pytest.raises(RuntimeError,
                       match=r"mm: expected input to be a 2-D tensor, got shape \(3,\)"):
        nb.mm(nb.ones(3), nb.ones(3, 2))
    with pytest.raises(RuntimeError, match=r"mm: shapes \(2, 3\) and \(4, 2\) cannot be "
                                           r"multiplied: 3 != 4"):
        nb.mm(nb.ones(2, 3), nb.ones(4, 2))
    with pytest.raises(RuntimeError, match=r"bmm: expected mat2 to be a 3-D tensor, got "
                                           r"shape \(3, 4\) \(2-D\)"):
        nb.bmm(nb.ones(2, 2, 3), nb.ones(3, 4))
    with pytest.raises(RuntimeError, match="bmm: batch sizes .* differ: 2 != 3"):
        nb.bmm(nb.ones(2, 2, 3), nb.ones(3, 3, 4))
    with pytest.raises(RuntimeError, match="bmm: shapes .* cannot be multiplied: 3 != 4"):
        nb.bmm(nb.ones(2, 2, 3), nb.ones(2, 4, 4))
    with pytest.raises(RuntimeError, match="mv: expected vec to be a 1-D tensor"):
        nb.mv(nb.ones(2, 3), nb.ones(3, 1))
    with pytest.raises(RuntimeError, match="mv: shapes .* 3 != 2"):
        nb.mv(nb.ones(2, 3), nb.ones(2))
    with pytest.raises(RuntimeError, match="dot: the vectors have different lengths: 3 and 4"):
        nb.dot(nb.ones(3), nb.ones(4))
    with pytest.raises(RuntimeError, match="dot: expected input to be a 1-D tensor"):
        nb.dot(nb.ones(1, 3), nb.ones(3))
    with pytest.raises(RuntimeError, match="outer: expected vec2 to be a 1-D tensor"):
        nb.outer(nb.ones(3), nb.ones(2, 2))
    with pytest.raises(RuntimeError, match=r"inner: the last dimensions of \(2, 3\) and "
                                           r"\(3, 2\) differ: 3 != 2"):
        nb.inner(nb.ones(2, 3), nb.ones(3, 2))


# -- tensordot ---------------------------------------------------------------------------
@pytest.mark.parametrize("sa, sb, dims", [
    ((2, 3, 4), (3, 4, 2), 2),
    ((2, 3), (3, 2), 1),
    ((2, 3), (4,), 0),                    # outer product
    ((2, 3, 4), (4, 2, 3), ([1, 2], [2, 0])),
    ((2, 3, 4), (4, 3), ([-1, 1], [0, -1])),
    ((3, 0), (0, 2), 1),
    ((2, 3), (2, 3), 2),                  # full contraction -> 0-d
])
def test_tensordot(sa, sb, dims):
    check_op(lambda a, b: nb.tensordot(a, b, dims), [rand(*sa), rand(*sb, seed=1)],
             ref=lambda a, b: np.tensordot(a, b, dims),
             torch_fn=None if torch is None else lambda a, b: torch.tensordot(a, b, dims))


def test_tensordot_errors():
    a, b = nb.ones(2, 3), nb.ones(4, 2)
    with pytest.raises(RuntimeError, match=r"tensordot: contracted dimensions differ in size: "
                                           r"dim 1 of \(2, 3\) has 3, dim 0 of \(4, 2\) has 4"):
        nb.tensordot(a, b, 1)
    with pytest.raises(RuntimeError, match="cannot contract 3 dimensions"):
        nb.tensordot(a, b, 3)
    with pytest.raises(RuntimeError, match="same length"):
        nb.tensordot(a, b, ([0, 1], [0]))
    with pytest.raises(IndexError, match=r"dimension 5 is out of range for a tensor of shape "
                                         r"\(2, 3\)"):
        nb.tensordot(a, b, ([5], [0]))
    with pytest.raises(TypeError, match="dims must be an int or a pair"):
        nb.tensordot(a, b, "ij")


# -- einsum --------------------------------------------------------------------------------
EINSUM_CASES = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("bij,bjk->bik", [(2, 2, 3), (2, 3, 2)]),
    ("i,i->", [(4,), (4,)]),
    ("ij->ji", [(2, 3)]),
    ("ij->", [(2, 3)]),
    ("ij->j", [(2, 3)]),                       # a label summed within one operand
    ("...ij,...jk->...ik", [(2, 2, 3), (3, 2)]),
    ("...ij,...jk", [(2, 1, 2, 3), (3, 3, 2)]),  # implicit output, ellipsis broadcast
    ("ij,jk", [(2, 3), (3, 4)]),                # implicit output: 'ik'
    ("ba,Ab", [(2, 3), (4, 2)]),                # implicit output: uppercase first, 'Aa'
    ("i,j->ij", [(2,), (3,)]),
    ("ij,jk,kl->il", [(2, 3), (3, 2), (2, 2)]),
    ("ij,ij->ij", [(1, 3), (2, 3)]),            # size-1 broadcasting
    ("ii->i", [(3, 3)]),                        # diagonal
    ("ii", [(3, 3)]),                           # trace (implicit)
    ("iji->j", [(2, 3, 2)]),
    ("ij,jj->i", [(2, 3), (3, 3)]),
    ("i,j->", [(2,), (3,)]),                    # labels summed in each operand alone
    ("ij,jk->ik", [(0, 3), (3, 2)]),            # empty
    (" i j , j -> i ", [(2, 3), (3,)]),         # spaces
    ("->", [()]),                               # 0-d
    ("...,...->...", [(), (2,)]),
]


@pytest.mark.parametrize("eq, shapes", EINSUM_CASES)
def test_einsum(eq, shapes):
    arrays = [rand(*s, seed=k) for k, s in enumerate(shapes)]
    check_op(lambda *xs: nb.einsum(eq, *xs), arrays,
             ref=lambda *xs: np.einsum(eq.replace(" ", ""), *xs),
             torch_fn=None if torch is None else lambda *xs: torch.einsum(eq, *xs))


def test_einsum_list_of_operands():
    a, b = rand(2, 3), rand(3, 2, seed=1)
    got = nb.einsum("ij,jk->ik", [nb.tensor(a), nb.tensor(b)])
    np.testing.assert_allclose(got.numpy(), a @ b)


def test_einsum_errors():
    a = nb.ones(2, 3)
    with pytest.raises(ValueError, match="has 2 operand subscripts but 1 operands"):
        nb.einsum("ij,jk->ik", a)
    with pytest.raises(ValueError, match=r"operand 0 has shape \(2, 3\) \(2 dims\) but its "
                                         r"subscripts 'ijk' name 3"):
        nb.einsum("ijk->i", a)
    with pytest.raises(ValueError, match="label 'j' of 'ij,jk->ik' has size 3 in one operand "
                                         "but 4 in operand 1"):
        nb.einsum("ij,jk->ik", a, nb.ones(4, 2))
    with pytest.raises(ValueError, match="label 'i' is repeated in operand 0 .* 2 != 3"):
        nb.einsum("ii->i", a)
    with pytest.raises(ValueError, match="output label.*'k'.*appear in no operand"):
        nb.einsum("ij->k", a)
    with pytest.raises(ValueError, match="repeat a label"):
        nb.einsum("ij->ii", a)
    with pytest.raises(ValueError, match="invalid subscripts"):
        nb.einsum("i1->i", a)
    with pytest.raises(RuntimeError, match="same dtype"):
        nb.einsum("ij,jk", a, nb.ones(3, 2, dtype=nb.float64))
    with pytest.raises(TypeError, match="equation string"):
        nb.einsum(a, [0, 1])


def test_einsum_output_owns_its_memory():
    a = nb.ones(2, 3)
    b = nb.einsum("ij->ji", a)
    b.add_(1)   # NumPy's einsum returns a view here; nabla's must not alias the input
    np.testing.assert_array_equal(a.numpy(), 1)
