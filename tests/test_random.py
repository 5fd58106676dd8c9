"""nabla.random: torch.random's seed and state functions, and fork_rng."""
import pytest

import nabla as nb


def test_manual_seed_and_state_round_trip():
    nb.random.manual_seed(3)
    assert nb.random.initial_seed() == 3 and nb.initial_seed() == 3
    state = nb.random.get_rng_state()
    a = nb.rand(4)
    nb.random.set_rng_state(state)
    assert nb.equal(nb.rand(4), a)
    nb.random.manual_seed(3)
    assert nb.equal(nb.rand(4), a)


def test_seed_draws_a_fresh_seed_and_reports_it():
    s = nb.random.seed()
    assert nb.initial_seed() == s
    a = nb.rand(3)
    nb.manual_seed(s)
    assert nb.equal(nb.rand(3), a)


def test_fork_rng_restores_the_stream_on_exit():
    nb.manual_seed(0)
    expected = nb.rand(5)
    nb.manual_seed(0)
    with nb.random.fork_rng():
        nb.manual_seed(123)
        inside = nb.randn(7)  # draws and reseeds inside do not leak out
    assert nb.initial_seed() == 0
    assert nb.equal(nb.rand(5), expected)
    assert inside.shape == (7,)


def test_fork_rng_restores_after_an_exception_and_can_be_disabled():
    nb.manual_seed(0)
    expected = nb.rand(2)
    nb.manual_seed(0)
    with pytest.raises(ValueError):
        with nb.random.fork_rng(devices=[]):
            nb.rand(9)
            raise ValueError
    assert nb.equal(nb.rand(2), expected)
    nb.manual_seed(0)
    with nb.random.fork_rng(enabled=False):
        nb.rand(2)  # consumes the main stream
    assert not nb.equal(nb.rand(2), expected)
