"""nabla.testing.assert_close: torch.testing.assert_close's tolerances, rules and messages."""

import numpy as np
import pytest

import nabla as nb
from nabla.testing import assert_close
from tests.optest import needs_torch, torch


@pytest.mark.parametrize("dtype,rtol,atol", [
    (nb.float16, 1e-3, 1e-5), (nb.bfloat16, 1.6e-2, 1e-5), (nb.float32, 1.3e-6, 1e-5),
    (nb.float64, 1e-7, 1e-7),
])
def test_default_tolerances_follow_the_dtype(dtype, rtol, atol):
    x = nb.tensor([1.0, 100.0], dtype=dtype)
    assert_close(x, x.clone())
    with pytest.raises(AssertionError) as err:
        assert_close(x * 2, x)
    assert f"(up to {atol} allowed)" in str(err.value)
    assert f"(up to {rtol} allowed)" in str(err.value)


def test_closeness_is_atol_plus_rtol_times_expected():
    x = nb.tensor([1.0, 100.0], dtype=nb.float64)
    assert_close(x * (1 + 0.5e-7) + 0.4e-7, x)
    with pytest.raises(AssertionError, match="Mismatched elements: 2 / 2"):
        assert_close(x * (1 + 2e-7) + 2e-7, x)


def test_integers_and_bools_must_be_equal():
    assert_close(nb.tensor([1, 2]), nb.tensor([1, 2]))
    with pytest.raises(AssertionError, match="Tensor-likes are not equal!") as err:
        assert_close(nb.tensor([1, 2]), nb.tensor([1, 3]))
    assert "allowed" not in str(err.value)
    with pytest.raises(AssertionError, match="not equal"):
        assert_close(nb.tensor([True]), nb.tensor([False]))


def test_message_names_the_count_and_the_greatest_differences():
    with pytest.raises(AssertionError) as err:
        assert_close(nb.tensor([[1.0, 2.0], [3.0, 4.0]]), nb.tensor([[1.0, 2.0], [3.0, 5.0]]))
    assert str(err.value) == (
        "Tensor-likes are not close!\n\nMismatched elements: 1 / 4 (25.0%)\n"
        "Greatest absolute difference: 1.0 at index (1, 1) (up to 1e-05 allowed)\n"
        "Greatest relative difference: 0.2 at index (1, 1) (up to 1.3e-06 allowed)")


def test_shape_dtype_and_the_check_dtype_switch():
    with pytest.raises(AssertionError, match="'shape' do not match"):
        assert_close(nb.ones(2), nb.ones(3))
    with pytest.raises(AssertionError, match="'dtype' do not match: nabla.float32 != "
                                             "nabla.float64"):
        assert_close(nb.ones(2), nb.ones(2, dtype=nb.float64))
    assert_close(nb.ones(2), nb.ones(2, dtype=nb.float64), check_dtype=False)
    # promoted, with the looser of the two dtypes' tolerances (float32's)
    assert_close(nb.ones(2), nb.ones(2, dtype=nb.float64) + 5e-6, check_dtype=False)


def test_nan_and_infinity():
    nan = nb.tensor([1.0, float("nan")])
    with pytest.raises(AssertionError, match="Greatest absolute difference: nan"):
        assert_close(nan, nan)
    assert_close(nan, nan, equal_nan=True)
    inf = nb.tensor([float("inf"), -float("inf")])
    assert_close(inf, inf)
    with pytest.raises(AssertionError):
        assert_close(inf, -inf)


def test_rtol_and_atol_come_together():
    with pytest.raises(ValueError, match="got no atol"):
        assert_close(nb.ones(1), nb.ones(1), rtol=0.1)
    assert_close(nb.tensor([1.0]), nb.tensor([1.1]), rtol=0.0, atol=0.11)


def test_msg_replaces_or_rewrites_the_message():
    with pytest.raises(AssertionError, match="^custom$"):
        assert_close(nb.tensor([1.0]), nb.tensor([2.0]), msg="custom")
    with pytest.raises(AssertionError, match="^step 3: Tensor-likes"):
        assert_close(nb.tensor([1.0]), nb.tensor([2.0]), msg=lambda m: "step 3: " + m)


def test_scalars_sequences_mappings_and_arrays():
    assert_close(1.0, 1.0 + 1e-9)
    with pytest.raises(AssertionError, match="Scalars are not close!\n\nExpected 1.5 but got"):
        assert_close(1.0, 1.5)
    with pytest.raises(AssertionError, match="The \\(d\\)types do not match"):
        assert_close(1, 1.0)
    assert_close((2, 3), nb.Size([2, 3]))  # shapes compare as sequences of ints
    with pytest.raises(AssertionError, match="length of the sequences mismatch: 2 != 3"):
        assert_close([1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(AssertionError, match=r"The failure occurred for item \['w'\]\[1\]"):
        assert_close({"w": [nb.ones(1), nb.ones(1)]}, {"w": [nb.ones(1), nb.zeros(1)]})
    with pytest.raises(AssertionError, match="Missing keys in the actual mapping: \\['b'\\]"):
        assert_close({"a": 1.0}, {"b": 1.0})
    assert_close(np.array([1.0, 2.0]), np.array([1.0, 2.0 + 1e-9]))
    with pytest.raises(TypeError, match="No comparison pair"):
        assert_close(nb.ones(1), np.ones(1))
    with pytest.raises(TypeError, match="No comparison pair"):
        assert_close(nb.tensor(1.0), 1.0)


def test_tensors_that_require_grad_compare_by_value():
    w = nb.ones(3, requires_grad=True)
    assert_close(w * 2, nb.full((3,), 2.0))


@needs_torch
@pytest.mark.parametrize("actual,expected", [
    ([1.0, 2.0, 3.0], [1.0, 2.5, 3.0]),
    ([[1.0, 2.0], [3.0, 4.0]], [[1.0, 2.0], [3.0, 5.0]]),
    ([1.0, 2.0, 3.0], [1.0, 2.0 + 1e-6, 3.0]),
    ([0.0, 1e-6], [1e-6, 0.0]),
])
def test_agrees_with_torch_on_float32(actual, expected):
    def outcome(lib, check):
        try:
            check(lib.tensor(actual), lib.tensor(expected))
            return None
        except AssertionError as e:
            return str(e).split("\n")[2]  # the "Mismatched elements" line
    assert outcome(nb, assert_close) == outcome(torch, torch.testing.assert_close)


def test_reachable_as_nabla_testing():
    assert nb.testing.assert_close is assert_close
