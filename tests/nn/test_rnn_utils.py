"""nn.utils.rnn: padding and packing against PyTorch (values, packed layout, round
trips, gradients), errors; the truncated-BPTT helpers carry state values across
chunks but no gradient, and train a character language model."""
import numpy as np
import pytest

import nabla as nb
import nabla.nn as nn
import nabla.nn.functional as F
from nabla.nn.utils.rnn import (PackedSequence, detach_state, pack_padded_sequence,
                                pack_sequence, pad_packed_sequence, pad_sequence, tbptt_chunks,
                                unpack_sequence, unpad_sequence)
from tests.optest import needs_torch, rand, torch

TR = None if torch is None else torch.nn.utils.rnn


def sequences(lengths, trailing=(3,)):
    return [rand(n, *trailing, seed=i) for i, n in enumerate(lengths)]


# -- padding ---------------------------------------------------------------------------------
@needs_torch
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("padding_side", ["right", "left"])
@pytest.mark.parametrize("trailing", [(), (3,), (2, 2)])
def test_pad_sequence_matches_torch(batch_first, padding_side, trailing):
    arrays = sequences([2, 4, 1], trailing)
    xs = [nb.tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = pad_sequence(xs, batch_first, -1.5, padding_side)
    tout = TR.pad_sequence(ts, batch_first, -1.5, padding_side)
    np.testing.assert_array_equal(out.detach().numpy(), tout.detach().numpy())
    cot = rand(*out.shape, seed=9)
    (out * nb.tensor(cot)).sum().backward()
    (tout * torch.tensor(cot)).sum().backward()
    for x, t in zip(xs, ts):
        np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())


# -- packing ---------------------------------------------------------------------------------
@needs_torch
@pytest.mark.parametrize("lengths, enforce_sorted", [([4, 2, 2, 1], True), ([1, 4, 3], False)])
@pytest.mark.parametrize("batch_first", [False, True])
def test_pack_pad_round_trip_matches_torch(lengths, enforce_sorted, batch_first):
    batch = len(lengths)
    x = rand(batch, 5, 3) if batch_first else rand(5, batch, 3)
    packed = pack_padded_sequence(nb.tensor(x), lengths, batch_first, enforce_sorted)
    tpacked = TR.pack_padded_sequence(torch.tensor(x), lengths, batch_first, enforce_sorted)
    np.testing.assert_array_equal(packed.data.numpy(), tpacked.data.numpy())
    np.testing.assert_array_equal(packed.batch_sizes.numpy(), tpacked.batch_sizes.numpy())
    for name in ("sorted_indices", "unsorted_indices"):
        a, b = getattr(packed, name), getattr(tpacked, name)
        assert (a is None) == (b is None) if enforce_sorted else True
        if not enforce_sorted:
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    for kwargs in ({}, {"padding_value": 7.0, "total_length": 6}):
        padded, lens = pad_packed_sequence(packed, batch_first, **kwargs)
        tpadded, tlens = TR.pad_packed_sequence(tpacked, batch_first, **kwargs)
        np.testing.assert_array_equal(padded.numpy(), tpadded.numpy())
        np.testing.assert_array_equal(lens.numpy(), tlens.numpy())
        assert lens.dtype == nb.int64


@needs_torch
def test_pack_sequence_and_unpack_match_torch():
    arrays = sequences([4, 3, 1], (2,))
    packed = pack_sequence([nb.tensor(a) for a in arrays])
    tpacked = TR.pack_sequence([torch.tensor(a) for a in arrays])
    np.testing.assert_array_equal(packed.data.numpy(), tpacked.data.numpy())
    for a, b in zip(unpack_sequence(packed), arrays):
        np.testing.assert_array_equal(a.numpy(), b)
    padded = pad_sequence([nb.tensor(a) for a in arrays], batch_first=True)
    for a, b in zip(unpad_sequence(padded, [4, 3, 1], batch_first=True), arrays):
        np.testing.assert_array_equal(a.numpy(), b)


def test_packed_sequence_holds_padded_and_mask():
    x = nb.tensor(rand(2, 5, 3))
    packed = pack_padded_sequence(x, nb.tensor([3, 1]), batch_first=True)
    assert isinstance(packed, PackedSequence)
    assert packed.padded.shape == (3, 2, 3)          # time-major, trimmed to the longest
    np.testing.assert_array_equal(packed.mask(), [[True, True], [True, False], [True, False]])
    np.testing.assert_array_equal(packed.padded.numpy(), x.numpy()[:, :3].transpose(1, 0, 2))
    assert "lengths=[3, 1]" in repr(packed)


def test_packed_gradient_reaches_only_valid_steps():
    x = nb.tensor(rand(4, 2, 3), requires_grad=True)
    padded, _ = pad_packed_sequence(pack_padded_sequence(x, [4, 2]))
    padded.sum().backward()
    expected = np.ones((4, 2, 3))
    expected[2:, 1] = 0
    np.testing.assert_array_equal(x.grad.numpy(), expected)


def test_packing_errors():
    x = nb.zeros(4, 3, 2)
    with pytest.raises(ValueError, match=r"lengths \[1, 3, 2\] must be sorted in decreasing "
                                         r"order when enforce_sorted=True"):
        pack_padded_sequence(x, [1, 3, 2])
    with pytest.raises(ValueError, match="every length must be greater than 0"):
        pack_padded_sequence(x, [3, 0, 0])
    with pytest.raises(ValueError, match=r"expected len\(lengths\) to equal the batch size 3, "
                                         r"got 2"):
        pack_padded_sequence(x, [3, 2])
    with pytest.raises(ValueError, match="longest length 5 exceeds the 4 time steps"):
        pack_padded_sequence(x, [5, 2, 1])
    with pytest.raises(TypeError, match="lengths must be a 1-D sequence of ints"):
        pack_padded_sequence(x, [2.5, 2, 1])
    with pytest.raises(ValueError, match=r"total_length=2 is less than the longest sequence "
                                         r"\(4 steps\)"):
        pad_packed_sequence(pack_padded_sequence(x, [4, 2, 1]), total_length=2)
    with pytest.raises(ValueError, match=r"pad_sequence: every sequence must have the trailing "
                                         r"shape and dtype of sequence 0 \(\(2,\)"):
        pad_sequence([nb.zeros(3, 2), nb.zeros(3, 4)])
    with pytest.raises(TypeError, match="pad_sequence: expected a non-empty list of Tensors"):
        pad_sequence([])
    with pytest.raises(ValueError, match="padding_side must be 'right' or 'left'"):
        pad_sequence([nb.zeros(2)], padding_side="middle")
    with pytest.raises(TypeError, match="pad_packed_sequence: expected a PackedSequence"):
        pad_packed_sequence(x)


# -- truncated BPTT ----------------------------------------------------------------------------
def test_detach_state():
    h = nb.tensor(rand(2, 3), requires_grad=True) * 2
    c = nb.tensor(rand(2, 3), requires_grad=True) * 3
    assert detach_state(None) is None
    out = detach_state((h, [c, None]))
    assert isinstance(out, tuple) and isinstance(out[1], list)
    assert not out[0].requires_grad and not out[1][0].requires_grad and out[1][1] is None
    np.testing.assert_array_equal(out[0].numpy(), h.detach().numpy())
    with pytest.raises(TypeError, match="detach_state: expected a Tensor, None or a tuple"):
        detach_state("h")


def test_tbptt_chunks():
    x, y = nb.arange(20).reshape(2, 10), nb.arange(20).reshape(2, 10) + 1
    chunks = list(tbptt_chunks(x, y, 4, batch_first=True))
    assert [c[0].shape for c in chunks] == [(2, 4), (2, 4), (2, 2)]
    np.testing.assert_array_equal(chunks[1][0].numpy(), x.numpy()[:, 4:8])
    np.testing.assert_array_equal(chunks[2][1].numpy(), y.numpy()[:, 8:])
    assert [c[0].shape for c in tbptt_chunks(x.T, y.T, 5)] == [(5, 2), (5, 2)]
    with pytest.raises(ValueError, match="same length along the time dimension 1"):
        next(tbptt_chunks(x, y[:, :3], 4, batch_first=True))
    with pytest.raises(ValueError, match="bptt must be a positive int, got 0"):
        next(tbptt_chunks(x, y, 0))


def _chunked_run(lstm, x, bptt, detach):
    """Outputs of ``lstm`` over x (T, B, F) chunk by chunk, the state carried."""
    state, outs = None, []
    for xc, _ in tbptt_chunks(x, x, bptt):
        out, state = lstm(xc, detach_state(state) if detach else state)
        outs.append(out)
    return nb.cat(outs), state


def test_tbptt_carries_state_values_across_chunks():
    lstm = nn.LSTM(3, 4).double()
    x = nb.tensor(rand(10, 2, 3))
    full, (h, c) = lstm(x)
    chunked, (hc, cc) = _chunked_run(lstm, x, 3, detach=True)
    np.testing.assert_allclose(chunked.detach().numpy(), full.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(cc.detach().numpy(), c.detach().numpy(), rtol=1e-12)


@pytest.mark.parametrize("detach", [True, False])
def test_tbptt_gradients_stop_at_chunk_boundaries(detach):
    lstm = nn.LSTM(3, 4).double()
    x = nb.tensor(rand(10, 2, 3), requires_grad=True)
    chunked, _ = _chunked_run(lstm, x, 4, detach)
    chunked[8:].sum().backward()  # a loss on the last chunk (steps 8, 9) only
    earlier = np.abs(x.grad.numpy()[:8]).max()
    assert np.abs(x.grad.numpy()[8:]).max() > 0
    if detach:
        assert earlier == 0
    else:  # without detaching, the gradient would flow into the earlier chunks
        assert earlier > 0


def test_tbptt_trains_a_character_model():
    """A char LSTM trained with TBPTT on a periodic text learns to predict it."""
    nb.manual_seed(0)
    text = "hello world. " * 40
    vocab = sorted(set(text))
    ids = nb.tensor([vocab.index(ch) for ch in text]).reshape(4, -1)  # 4 streams (B, N)
    inputs, targets = ids[:, :-1], ids[:, 1:]
    emb, lstm, head = nn.Embedding(len(vocab), 8), nn.LSTM(8, 32, batch_first=True), \
        nn.Linear(32, len(vocab))
    params = list(emb.parameters()) + list(lstm.parameters()) + list(head.parameters())
    opt = nb.optim.Adam(params, lr=0.02)
    losses = []
    for epoch in range(6):
        state = None
        for x, y in tbptt_chunks(inputs, targets, 20, batch_first=True):
            out, state = lstm(emb(x), detach_state(state))
            loss = F.cross_entropy(head(out).reshape(-1, len(vocab)), y.reshape(-1))
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
    assert losses[-1] < 0.1 < losses[0]
