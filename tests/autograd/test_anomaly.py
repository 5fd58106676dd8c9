"""Anomaly mode: the first NaN/Inf in forward or backward names the op and the user's line."""
import numpy as np
import pytest

import nabla as nb


def test_nan_in_forward_names_op_and_line():
    x = nb.tensor([-1.0, 2.0], requires_grad=True)
    with np.errstate(all="ignore"), nb.autograd.detect_anomaly():
        with pytest.raises(FloatingPointError, match=r"Log \(forward\) produced NaN") as info:
            x.log()
    assert "test_anomaly.py" in str(info.value)
    assert "x.log()" in str(info.value)


def test_zero_over_zero_names_div():
    x = nb.tensor([0.0, 1.0])
    with np.errstate(all="ignore"), nb.autograd.detect_anomaly():
        with pytest.raises(FloatingPointError, match=r"Div \(forward\) produced NaN.*test_anomaly"):
            x / x


def test_inf_in_forward():
    with np.errstate(all="ignore"), nb.autograd.detect_anomaly():
        with pytest.raises(FloatingPointError, match=r"Exp \(forward\) produced Inf"):
            nb.tensor([1000.0]).exp()


def test_inf_only_in_backward_is_caught():
    x = nb.tensor([0.0, 4.0], requires_grad=True)
    with np.errstate(all="ignore"), nb.autograd.detect_anomaly():
        y = x.sqrt().sum()                     # forward is finite
        with pytest.raises(FloatingPointError, match="produced Inf"):
            y.backward()




def test_inf_only_in_backward_names_the_op():
    x = nb.tensor([0.0, 4.0], requires_grad=True)
    with np.errstate(all="ignore"), nb.autograd.detect_anomaly():
        y = x.sqrt().sum()                     # forward is finite
        with pytest.raises(FloatingPointError, match=r"Sqrt \(backward\) produced Inf") as info:
            y.backward()
    assert "test_anomaly.py" in str(info.value)       # where the Sqrt was created
    assert "x.sqrt()" in str(info.value)


def test_nan_from_hook_in_backward():
    x = nb.tensor([1.0, 2.0], requires_grad=True)
    with np.errstate(all="ignore"), nb.autograd.detect_anomaly():
        h = x.exp()
        h.register_hook(lambda g: g * float("nan"))
        with pytest.raises(FloatingPointError, match=r"Exp \(backward\) produced NaN"):
            h.sum().backward()


def test_no_error_outside_the_context():
    x = nb.tensor([-1.0, 0.0], requires_grad=True)
    with np.errstate(all="ignore"):
        y = x.log()
        z = x.sqrt().sum()
        z.backward()
    assert np.isnan(y.detach().numpy()[0])
    assert np.isinf(x.grad.numpy()[1])
    assert not nb.autograd.is_anomaly_enabled()


def test_decorator_and_flag():
    @nb.autograd.detect_anomaly()
    def f(x):
        assert nb.autograd.is_anomaly_enabled()
        return x.log()

    with np.errstate(all="ignore"), pytest.raises(FloatingPointError, match="Log"):
        f(nb.tensor([-1.0]))
    assert not nb.autograd.is_anomaly_enabled()
    with nb.autograd.detect_anomaly(check_nan=False), np.errstate(all="ignore"):
        assert np.isnan(nb.tensor([-1.0]).log().numpy()[0])


def test_finite_computation_unaffected():
    x = nb.tensor([1.0, 2.0], requires_grad=True)
    with nb.autograd.detect_anomaly():
        (x.log() * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.log([1.0, 2.0]) + 1, rtol=1e-6)
