"""Dataset combinators, random_split, default_collate and the samplers."""
from collections import Counter, namedtuple

import numpy as np
import pytest

import nabla as nb
from nabla.data import (BatchSampler, ChainDataset, ConcatDataset, Dataset, IterableDataset,
                        RandomSampler, SequentialSampler, Subset, SubsetRandomSampler,
                        TensorDataset, WeightedRandomSampler, default_collate, default_convert,
                        random_split)
from tests.optest import needs_torch, torch


class Squares(Dataset):
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if not 0 <= i < self.n:
            raise IndexError(i)
        return i * i


class Count(IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self):
        return self.n


# -- datasets ----------------------------------------------------------------------
def test_tensor_dataset_rows():
    x = nb.arange(12).reshape(4, 3)
    y = nb.tensor([10, 11, 12, 13])
    ds = TensorDataset(x, y)
    assert len(ds) == 4
    xi, yi = ds[2]
    np.testing.assert_array_equal(xi.numpy(), [6, 7, 8])
    assert yi.item() == 12


def test_tensor_dataset_size_mismatch():
    with pytest.raises(ValueError, match=r"size mismatch.*\(4, 3\), \(5,\)"):
        TensorDataset(nb.zeros(4, 3), nb.zeros(5))


def test_subset_and_concat():
    a, b = Squares(3), Squares(4)
    cat = a + b
    assert isinstance(cat, ConcatDataset) and len(cat) == 7
    assert [cat[i] for i in range(7)] == [0, 1, 4, 0, 1, 4, 9]
    assert cat[-1] == 9 and cat.cumulative_sizes == [3, 7]
    with pytest.raises(IndexError, match="out of range for length 7"):
        cat[7]
    sub = Subset(cat, [6, 0, 2])
    assert len(sub) == 3 and [sub[i] for i in range(3)] == [9, 0, 4]


def test_concat_rejects_iterable():
    with pytest.raises(TypeError, match="ChainDataset"):
        ConcatDataset([Count(3)])
    with pytest.raises(ValueError, match="empty"):
        ConcatDataset([])


def test_chain_dataset():
    assert list(ChainDataset([Count(2), Count(3)])) == [0, 1, 0, 1, 2]
    chained = Count(2) + Count(3)
    assert isinstance(chained, ChainDataset) and len(chained) == 5
    with pytest.raises(TypeError, match="only supports IterableDataset"):
        list(ChainDataset([Squares(2)]))


# -- random_split ------------------------------------------------------------------
def test_random_split_partition_and_reproducible():
    ds = Squares(10)
    nb.manual_seed(3)
    a, b = random_split(ds, [7, 3])
    nb.manual_seed(3)
    a2, b2 = random_split(ds, [7, 3])
    assert list(a.indices) == list(a2.indices) and list(b.indices) == list(b2.indices)
    assert sorted(list(a.indices) + list(b.indices)) == list(range(10))
    assert len(a) == 7 and len(b) == 3
    nb.manual_seed(4)
    a3, _ = random_split(ds, [7, 3])
    assert list(a3.indices) != list(a.indices)


def test_random_split_generator_independent_of_global():
    g = nb.Generator().manual_seed(5)
    first = random_split(Squares(8), [4, 4], generator=g)[0].indices
    nb.manual_seed(99)
    g = nb.Generator().manual_seed(5)
    assert random_split(Squares(8), [4, 4], generator=g)[0].indices == first


@pytest.mark.parametrize("n,fractions", [(10, [0.8, 0.2]), (11, [0.5, 0.5]),
                                         (7, [0.3, 0.3, 0.4]), (9, [0.1, 0.1, 0.8])])
def test_random_split_fractions_match_torch_lengths(n, fractions):
    lengths = [len(s) for s in random_split(Squares(n), fractions)]
    assert sum(lengths) == n
    if torch is not None:
        expected = [len(s) for s in torch.utils.data.random_split(range(n), fractions)]
        assert lengths == expected


def test_random_split_errors():
    with pytest.raises(ValueError, match=r"sum of input lengths \(9\) does not equal .* \(10\)"):
        random_split(Squares(10), [5, 4])
    with pytest.raises(ValueError, match="non-negative integers or fractions"):
        random_split(Squares(10), [0.5, 0.3])


# -- collate -----------------------------------------------------------------------
def test_collate_numbers_follow_torch_dtypes():
    assert default_collate([1, 2, 3]).dtype == nb.int64
    floats = default_collate([1.5, 2.5])
    assert floats.dtype == nb.float64  # as torch.utils.data.default_collate
    np.testing.assert_array_equal(floats.numpy(), [1.5, 2.5])
    assert default_collate([True, False]).dtype == nb.bool
    assert default_collate(["a", "b"]) == ["a", "b"]


def test_collate_tensors_arrays_and_nesting():
    samples = [(np.full((2, 3), i, dtype=np.uint8), {"y": i, "w": nb.tensor([float(i)])})
               for i in range(4)]
    x, d = default_collate(samples)
    assert isinstance(x, nb.Tensor) and x.shape == (4, 2, 3) and x.dtype == nb.uint8
    np.testing.assert_array_equal(x.numpy()[:, 0, 0], [0, 1, 2, 3])
    assert d["y"].dtype == nb.int64 and d["y"].tolist() == [0, 1, 2, 3]
    assert d["w"].shape == (4, 1) and d["w"].dtype == nb.float32


def test_collate_namedtuple_and_numpy_scalars():
    Point = namedtuple("Point", "x y")
    out = default_collate([Point(np.float32(1), 2), Point(np.float32(3), 4)])
    assert isinstance(out, Point)
    assert out.x.dtype == nb.float32 and out.x.tolist() == [1.0, 3.0]
    assert out.y.tolist() == [2, 4]


def test_collate_keeps_gradient_path():
    w = nb.tensor([1.0, 2.0], requires_grad=True)
    batch = default_collate([w * 2, w * 3])
    batch.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), [5.0, 5.0])


@needs_torch
def test_collate_matches_torch_structure():
    from torch.utils.data import default_collate as tcollate
    samples = [([i, float(i)], np.arange(3) + i) for i in range(3)]
    ours, theirs = default_collate(samples), tcollate(samples)
    assert isinstance(ours, list) and len(ours) == len(theirs) == 2
    for o, t in zip(ours[0], theirs[0]):
        np.testing.assert_array_equal(o.numpy(), t.numpy())
        assert str(o.dtype) == str(t.dtype).replace("torch.", "")
    np.testing.assert_array_equal(ours[1].numpy(), theirs[1].numpy())


def test_collate_errors():
    with pytest.raises(RuntimeError, match=r"equal size.*\(3,\) at entry 0 and \(4,\) at entry 1"):
        default_collate([nb.zeros(3), nb.zeros(4)])
    with pytest.raises(RuntimeError, match="equal size.*entry 1 has 3"):
        default_collate([(1, 2), (1, 2, 3)])
    with pytest.raises(TypeError, match="found object"):
        default_collate([object(), object()])
    with pytest.raises(TypeError, match="non-empty list"):
        default_collate([])


def test_default_convert():
    out = default_convert((np.arange(3), 2, "s"))
    assert isinstance(out[0], nb.Tensor) and out[0].tolist() == [0, 1, 2]
    assert out[1:] == [2, "s"]


# -- samplers ----------------------------------------------------------------------
def test_sequential_and_batch_sampler():
    assert list(SequentialSampler(range(5))) == [0, 1, 2, 3, 4]
    bs = BatchSampler(SequentialSampler(range(5)), 2, drop_last=False)
    assert list(bs) == [[0, 1], [2, 3], [4]] and len(bs) == 3
    bs = BatchSampler(SequentialSampler(range(5)), 2, drop_last=True)
    assert list(bs) == [[0, 1], [2, 3]] and len(bs) == 2
    with pytest.raises(ValueError, match="batch_size should be a positive integer, got 0"):
        BatchSampler(range(3), 0, False)


def test_random_sampler_permutation_and_seed():
    nb.manual_seed(7)
    order = list(RandomSampler(range(20)))
    assert sorted(order) == list(range(20)) and order != list(range(20))
    nb.manual_seed(7)
    assert list(RandomSampler(range(20))) == order
    s = RandomSampler(range(20))
    assert list(s) != list(s)  # each epoch draws a fresh order


def test_random_sampler_replacement_and_num_samples():
    s = RandomSampler(range(3), replacement=True, num_samples=50)
    draws = list(s)
    assert len(draws) == len(s) == 50 and set(draws) == {0, 1, 2}
    s = RandomSampler(range(4), num_samples=10)  # several permutations back to back
    draws = list(s)
    assert len(draws) == 10 and sorted(draws[:4]) == [0, 1, 2, 3]
    assert sorted(draws[4:8]) == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="num_samples should be a positive integer"):
        RandomSampler(range(3), num_samples=0)


def test_random_sampler_generator():
    g1, g2 = nb.Generator().manual_seed(1), nb.Generator().manual_seed(1)
    assert list(RandomSampler(range(10), generator=g1)) == list(RandomSampler(range(10),
                                                                               generator=g2))


def test_subset_random_sampler():
    s = SubsetRandomSampler([10, 20, 30, 40])
    out = list(s)
    assert sorted(out) == [10, 20, 30, 40] and len(s) == 4


def test_weighted_random_sampler():
    s = WeightedRandomSampler([0.0, 1.0, 3.0], num_samples=4000)
    counts = Counter(s)
    assert counts[0] == 0
    assert abs(counts[2] / 4000 - 0.75) < 0.04
    s = WeightedRandomSampler(nb.tensor([1.0, 1.0, 0.0, 1.0]), 3, replacement=False)
    assert sorted(s) == [0, 1, 3]
    with pytest.raises(ValueError, match="cannot draw 4 samples without replacement from 3"):
        WeightedRandomSampler([1.0, 1.0, 0.0, 1.0], 4, replacement=False)
    with pytest.raises(ValueError, match="non-negative"):
        WeightedRandomSampler([1.0, -1.0], 2)
