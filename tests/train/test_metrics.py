"""Metrics: accuracy, top-k, binary logits, one-hot targets, the epoch-weighted loss."""
import numpy as np
import pytest

import nabla as nb
from nabla.train import Accuracy, Loss, TopKAccuracy, accuracy, get_metric, top_k_accuracy

SCORES = nb.tensor([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2], [0.2, 0.3, 0.5], [0.4, 0.35, 0.25]])
TARGET = nb.tensor([1, 0, 1, 2])  # right, right, wrong (2nd best), wrong (last)


def test_accuracy_and_top_k():
    assert accuracy(SCORES, TARGET) == 0.5
    assert top_k_accuracy(SCORES, TARGET, k=2) == 0.75
    assert top_k_accuracy(SCORES, TARGET, k=3) == 1.0


def test_one_hot_targets_and_binary_logits():
    one_hot = nb.one_hot(TARGET, 3).float()
    assert accuracy(SCORES, one_hot) == 0.5
    logits = nb.tensor([[2.0], [-1.0], [0.5], [-3.0]])
    assert accuracy(logits, nb.tensor([[1.0], [0.0], [0.0], [1.0]])) == 0.5
    assert accuracy(logits.reshape(-1), nb.tensor([1, 0, 1, 0])) == 1.0


def test_spatial_outputs_use_dim_1_as_classes():
    out = nb.zeros(2, 3, 4)  # (B, C, L): class 2 everywhere
    out[:, 2] = 1.0
    target = nb.tensor([[2, 2, 0, 2], [1, 2, 2, 2]])
    assert accuracy(out, target) == 6 / 8


def test_metrics_accumulate_over_batches():
    acc, top2, loss = Accuracy(), TopKAccuracy(2), Loss()
    for m in (acc, top2, loss):
        m.reset()
    for sl, value in ((slice(0, 1), 1.0), (slice(1, 4), 3.0)):
        for m in (acc, top2, loss):
            m.update(SCORES[sl], TARGET[sl], value)
    assert acc.compute() == 0.5 and top2.compute() == 0.75
    assert loss.compute() == pytest.approx((1.0 * 1 + 3.0 * 3) / 4)  # weighted by batch size
    assert np.isnan(Accuracy().compute())


def test_get_metric_names():
    assert isinstance(get_metric("acc"), Accuracy)
    assert get_metric("top_5").k == 5 and get_metric("top-3").name == "top3"
    assert isinstance(get_metric("loss"), Loss)
    with pytest.raises(ValueError, match="unknown metric 'f1'"):
        get_metric("f1")


def test_metric_errors():
    with pytest.raises(ValueError, match=r"needs targets of shape \(4,\), got \(3,\)"):
        accuracy(SCORES, TARGET[:3])
    with pytest.raises(ValueError, match="k=4 must be between 1 and the number of classes"):
        top_k_accuracy(SCORES, TARGET, k=4)


def test_language_model_metrics_derive_from_the_mean_loss():
    from nabla.train import BitsPerChar, Perplexity
    bpc, ppl = get_metric("bpc"), get_metric("perplexity")
    assert isinstance(bpc, BitsPerChar) and isinstance(ppl, Perplexity)
    out = nb.zeros(4, 3, 5)
    for m in (bpc, ppl):
        m.reset()
        m.update(out[:1], None, np.log(4.0))   # one sample at ln 4 nats
        m.update(out[1:], None, np.log(2.0))   # three at ln 2
    mean = (np.log(4.0) + 3 * np.log(2.0)) / 4
    assert bpc.compute() == pytest.approx(mean / np.log(2.0))  # 1.25 bits
    assert ppl.compute() == pytest.approx(np.exp(mean))


def test_token_accuracy_ignores_padding_and_reads_classes_last():
    from nabla.train import TokenAccuracy
    out = nb.zeros(2, 3, 4)  # (B, T, V): predicts token 1 everywhere
    out[:, :, 1] = 1.0
    target = nb.tensor([[1, 1, 0], [2, 1, 0]])  # 0 = padding
    m = TokenAccuracy(ignore_index=0)
    m.reset()
    m.update(out, target)
    assert m.compute() == 3 / 4
    with pytest.raises(ValueError, match=r"token_accuracy: output \(B, T, V\) needs targets"):
        m.update(out, nb.tensor([1, 2]))
