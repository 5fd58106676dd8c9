"""Grad mode switches: no_grad, enable_grad, set_grad_enabled, inference_mode."""
import numpy as np
import pytest

import nabla as nb


def leaf():
    return nb.tensor([1.0, 2.0], requires_grad=True)


def test_no_grad_context():
    x = leaf()
    assert nb.is_grad_enabled()
    with nb.no_grad():
        assert not nb.is_grad_enabled()
        y = x * 2
    assert nb.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None
    np.testing.assert_array_equal(y.numpy(), [2.0, 4.0])


def test_no_grad_decorator():
    @nb.no_grad()
    def double(x):
        assert not nb.is_grad_enabled()
        return x * 2

    assert not double(leaf()).requires_grad
    assert nb.is_grad_enabled()
    assert double.__name__ == "double"


def test_enable_grad_inside_no_grad():
    x = leaf()
    with nb.no_grad():
        with nb.enable_grad():
            assert nb.is_grad_enabled()
            y = x * 2
        z = x * 2
        assert not nb.is_grad_enabled()
    assert y.requires_grad and not z.requires_grad
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0])


def test_enable_grad_decorator():
    @nb.enable_grad()
    def f(x):
        return x * 3

    with nb.no_grad():
        y = f(leaf())
    assert y.requires_grad


@pytest.mark.parametrize("mode", [True, False])
def test_set_grad_enabled_context_and_function_call(mode):
    x = leaf()
    with nb.set_grad_enabled(mode):
        assert nb.is_grad_enabled() is mode
        assert (x * 2).requires_grad is mode
    assert nb.is_grad_enabled()
    nb.set_grad_enabled(False)          # as a plain call it switches at once, as in PyTorch
    try:
        assert not nb.is_grad_enabled()
    finally:
        nb.set_grad_enabled(True)
    assert nb.is_grad_enabled()


def test_set_grad_enabled_decorator():
    @nb.set_grad_enabled(False)
    def f(x):
        return x * 2

    assert nb.is_grad_enabled()          # decorating does not switch
    assert not f(leaf()).requires_grad
    assert nb.is_grad_enabled()


def test_nesting_restores_on_exception():
    with pytest.raises(ValueError):
        with nb.no_grad():
            with nb.enable_grad():
                raise ValueError("boom")
    assert nb.is_grad_enabled()


def test_deep_nesting():
    with nb.no_grad():
        with nb.set_grad_enabled(True):
            with nb.no_grad():
                assert not nb.is_grad_enabled()
            assert nb.is_grad_enabled()
        assert not nb.is_grad_enabled()
    assert nb.is_grad_enabled()


def test_inference_mode():
    x = leaf()
    with nb.inference_mode():
        assert not (x * 2).requires_grad
    with nb.inference_mode(False):
        assert (x * 2).requires_grad


def test_results_under_no_grad_do_not_require_grad_even_from_leaves():
    x = leaf()
    with nb.no_grad():
        y = (x.exp() * x).sum()
        assert y.is_leaf and not y.requires_grad
        with pytest.raises(RuntimeError, match="does not require grad"):
            y.backward()


def test_numpy_allowed_under_no_grad():
    x = leaf()
    with nb.no_grad():
        np.testing.assert_array_equal(x.numpy(), [1.0, 2.0])
