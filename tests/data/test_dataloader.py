"""DataLoader: batching, seeded shuffling, and worker processes (determinism,
errors re-raised, no hangs on early exit)."""
import multiprocessing
import os
import time

import numpy as np
import pytest

import nabla as nb
from nabla.data import (DataLoader, Dataset, IterableDataset, SequentialSampler, TensorDataset,
                        get_worker_info)


class Range(Dataset):
    """Sample i is (float32 array [i, 2i], label i % 3, {"id": i})."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return np.array([i, 2 * i], dtype=np.float32), i % 3, {"id": i}


class Failing(Range):
    def __getitem__(self, i):
        if i == 5:
            raise ValueError("sample 5 is broken")
        return super().__getitem__(i)


class Dying(Range):
    def __getitem__(self, i):
        if i == 3:
            os._exit(3)
        return super().__getitem__(i)


class Slow(Range):
    def __getitem__(self, i):
        time.sleep(1.0)
        return i


class RandomSamples(Dataset):
    """Each sample draws from nabla's and NumPy's global generators."""

    def __len__(self):
        return 8

    def __getitem__(self, i):
        info = get_worker_info()
        return nb.rand(1).item(), float(np.random.rand()), -1 if info is None else info.id


class Stream(IterableDataset):
    """0..n-1, split between workers by get_worker_info."""

    def __init__(self, n, split=True):
        self.n, self.split = n, split

    def __iter__(self):
        info = get_worker_info()
        if info is None or not self.split:
            return iter(range(self.n))
        return iter(range(info.id, self.n, info.num_workers))

    def __len__(self):
        return self.n


def _flat(batches):
    return [b[2]["id"].tolist() for b in batches]


def _worker_pids(it):
    return [w.pid for w in it._workers]


def _wait_dead(pids, limit=5.0):
    deadline = time.monotonic() + limit
    alive = pids
    while alive and time.monotonic() < deadline:
        alive = [p for p in alive if _alive(p)]
        time.sleep(0.05)
    return alive


def _alive(pid):
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            return False
    except ChildProcessError:
        return False
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


# -- main-process loading ------------------------------------------------------------
def test_batches_len_and_drop_last():
    loader = DataLoader(Range(10), batch_size=4)
    batches = list(loader)
    assert len(loader) == 3 and len(batches) == 3
    x, y, d = batches[0]
    assert x.shape == (4, 2) and x.dtype == nb.float32
    np.testing.assert_array_equal(x.numpy()[:, 1], [0, 2, 4, 6])
    assert y.dtype == nb.int64 and y.tolist() == [0, 1, 2, 0]
    assert _flat(batches) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    loader = DataLoader(Range(10), batch_size=4, drop_last=True)
    assert len(loader) == 2 and _flat(loader) == [[0, 1, 2, 3], [4, 5, 6, 7]]


def test_batch_size_none_and_custom_collate():
    loader = DataLoader(Range(3), batch_size=None)
    x, y, d = next(iter(loader))
    assert isinstance(x, nb.Tensor) and x.shape == (2,) and y == 0
    loader = DataLoader(Range(5), batch_size=2, collate_fn=lambda b: [s[1] for s in b])
    assert list(loader) == [[0, 1], [2, 0], [1]]


def test_tensor_dataset_loader():
    x, y = nb.arange(10).reshape(5, 2).float(), nb.arange(5)
    xb, yb = next(iter(DataLoader(TensorDataset(x, y), batch_size=5)))
    np.testing.assert_array_equal(xb.numpy(), x.numpy())
    assert yb.tolist() == [0, 1, 2, 3, 4]


def test_shuffle_fixed_by_manual_seed():
    loader = DataLoader(Range(20), batch_size=6, shuffle=True)
    nb.manual_seed(11)
    first = _flat(loader)
    second = _flat(loader)
    nb.manual_seed(11)
    assert _flat(loader) == first
    assert first != second  # a new order each epoch
    assert sorted(sum(first, [])) == list(range(20))
    g = nb.Generator().manual_seed(2)
    a = _flat(DataLoader(Range(20), batch_size=6, shuffle=True, generator=g))
    nb.manual_seed(123)  # the loader's own generator ignores the global one
    g = nb.Generator().manual_seed(2)
    assert _flat(DataLoader(Range(20), batch_size=6, shuffle=True, generator=g)) == a


def test_iterable_dataset_main_process():
    loader = DataLoader(Stream(7), batch_size=3)
    assert [b.tolist() for b in loader] == [[0, 1, 2], [3, 4, 5], [6]]
    assert len(loader) == 3
    loader = DataLoader(Stream(7), batch_size=3, drop_last=True)
    assert [b.tolist() for b in loader] == [[0, 1, 2], [3, 4, 5]] and len(loader) == 2


@pytest.mark.parametrize("kwargs,match", [
    (dict(shuffle=True, sampler=SequentialSampler(range(4))), "mutually exclusive with shuffle"),
    (dict(batch_sampler=[[0, 1]], batch_size=2), "batch_sampler option is mutually exclusive"),
    (dict(batch_size=None, drop_last=True), "batch_size=None .* drop_last"),
    (dict(num_workers=-1), "num_workers option should be a non-negative integer, got -1"),
    (dict(timeout=-1), "timeout option should be non-negative"),
    (dict(prefetch_factor=4), "prefetch_factor option could only be specified"),
    (dict(persistent_workers=True), "persistent_workers option needs num_workers > 0"),
    (dict(batch_size=0), "batch_size should be a positive integer, got 0"),
])
def test_argument_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DataLoader(Range(4), **kwargs)


def test_iterable_dataset_rejects_shuffle():
    with pytest.raises(ValueError, match="IterableDataset: expected unspecified shuffle"):
        DataLoader(Stream(3), shuffle=True)


# -- worker processes ----------------------------------------------------------------
def test_workers_yield_same_batches_as_main_process():
    ds = Range(23)
    nb.manual_seed(5)
    main = list(DataLoader(ds, batch_size=4, shuffle=True))
    nb.manual_seed(5)
    workers = list(DataLoader(ds, batch_size=4, shuffle=True, num_workers=2))
    assert len(main) == len(workers) == 6
    for a, b in zip(main, workers):
        np.testing.assert_array_equal(a[0].numpy(), b[0].numpy())
        assert a[0].dtype == b[0].dtype and a[1].dtype == b[1].dtype
        assert a[1].tolist() == b[1].tolist() and a[2]["id"].tolist() == b[2]["id"].tolist()


def test_worker_seeding_deterministic_and_distinct():
    def run():
        nb.manual_seed(9)
        return list(DataLoader(RandomSamples(), batch_size=2, num_workers=2))
    first, second = run(), run()
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a[0].numpy(), b[0].numpy())
        np.testing.assert_array_equal(a[1].numpy(), b[1].numpy())
    # batches alternate between workers 0 and 1, whose streams differ
    assert [b[2].tolist() for b in first] == [[0, 0], [1, 1], [0, 0], [1, 1]]
    assert first[0][0].tolist() != first[1][0].tolist()


def test_worker_info_and_init_fn():
    seen = []

    def init(worker_id):
        info = get_worker_info()
        assert info.id == worker_id and info.num_workers == 2
        np.random.seed(1000 + worker_id)

    class Report(Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            info = get_worker_info()
            return info.id, info.seed, int(np.random.randint(0, 10 ** 6))

    g = nb.Generator().manual_seed(4)
    batches = list(DataLoader(Report(), batch_size=1, num_workers=2, worker_init_fn=init,
                              generator=g))
    seen = [(b[0].item(), b[1].item()) for b in batches]
    assert [s[0] for s in seen] == [0, 1, 0, 1]
    assert seen[1][1] == seen[0][1] + 1  # seed = base_seed + worker id
    assert batches[0][2].item() == np.random.RandomState(1000).randint(0, 10 ** 6)
    assert get_worker_info() is None


def test_worker_exception_reraised_with_worker_id():
    loader = DataLoader(Failing(8), batch_size=2, num_workers=2)
    it = iter(loader)
    with pytest.raises(ValueError, match=r"(?s)in DataLoader worker process 0.*"
                                         r"Traceback.*sample 5 is broken"):
        for _ in it:
            pass
    pids = _worker_pids(it)
    it._shutdown_workers()
    assert _wait_dead(pids) == []


def test_worker_init_exception_reraised():
    def init(worker_id):
        raise KeyError(f"bad init {worker_id}")
    with pytest.raises(KeyError, match=r"(?s)worker process 0.*bad init 0"):
        next(iter(DataLoader(Range(4), num_workers=1, worker_init_fn=init)))


def test_unpicklable_batch_reported():
    with pytest.raises(Exception, match="worker process 0 while sending batch 0"):
        next(iter(DataLoader(Range(4), num_workers=1, collate_fn=lambda b: (lambda: b))))


def test_dead_worker_detected():
    it = iter(DataLoader(Dying(8), batch_size=1, num_workers=2))
    with pytest.raises(RuntimeError, match=r"DataLoader worker 1 \(pid \d+\) exited "
                                           r"unexpectedly with exit code 3"):
        list(it)
    assert it._shutdown


def test_timeout():
    loader = DataLoader(Slow(4), batch_size=1, num_workers=1, timeout=0.2)
    t0 = time.monotonic()
    with pytest.raises(RuntimeError, match="timed out after 0.2 seconds"):
        next(iter(loader))
    assert time.monotonic() - t0 < 5


def test_early_break_shuts_workers_down():
    loader = DataLoader(Range(200), batch_size=2, num_workers=2)
    it = iter(loader)
    next(it)
    pids = _worker_pids(it)
    assert all(_alive(p) for p in pids)
    del it  # what `break` out of a for loop does
    assert _wait_dead(pids) == []
    before = {p.pid for p in multiprocessing.active_children()}
    t0 = time.monotonic()
    for i, _ in enumerate(loader):
        if i == 1:
            break
    new = {p.pid for p in multiprocessing.active_children()} - before
    assert time.monotonic() - t0 < 5 and new == set()  # the loop's workers are gone


def test_keyboard_interrupt_shuts_workers_down():
    it = iter(DataLoader(Range(50), batch_size=2, num_workers=2))
    next(it)
    pids = _worker_pids(it)

    def interrupted():
        raise KeyboardInterrupt
    it._get_message = interrupted
    with pytest.raises(KeyboardInterrupt):
        while True:
            next(it)
    assert it._shutdown and _wait_dead(pids) == []


def test_iterable_dataset_with_workers():
    loader = DataLoader(Stream(7), batch_size=2, num_workers=2)
    batches = [b.tolist() for b in loader]
    # worker 0 holds 0,2,4,6 and worker 1 holds 1,3,5; batches alternate workers
    assert batches == [[0, 2], [1, 3], [4, 6], [5]]
    dup = sorted(sum([b.tolist() for b in DataLoader(Stream(3, split=False), batch_size=2,
                                                       num_workers=2)], []))
    assert dup == [0, 0, 1, 1, 2, 2]  # unsplit: every worker yields everything, as in torch


def test_persistent_workers_across_epochs():
    loader = DataLoader(Range(9), batch_size=2, num_workers=2, persistent_workers=True)
    it = iter(loader)
    next(it)  # abandon the first epoch early: its in-flight batches must be discarded
    pids = _worker_pids(it)
    assert _flat(loader) == [[0, 1], [2, 3], [4, 5], [6, 7], [8]]
    assert _flat(loader) == [[0, 1], [2, 3], [4, 5], [6, 7], [8]]
    assert _worker_pids(loader._iterator) == pids  # the same processes served every epoch
    loader._iterator._shutdown_workers()
    assert _wait_dead(pids) == []


def test_prefetch_bounded():
    loader = DataLoader(Range(40), batch_size=1, num_workers=2, prefetch_factor=3)
    it = iter(loader)
    assert it._send_idx == 6  # prefetch_factor * num_workers tasks in flight
    next(it)
    assert it._send_idx == 7
    it._shutdown_workers()


def test_spawn_start_method():
    # macOS and Windows have no fork: the dataset is pickled to each worker instead.
    nb.manual_seed(2)
    main = _flat(DataLoader(Range(6), batch_size=2, shuffle=True))
    nb.manual_seed(2)
    spawned = DataLoader(Range(6), batch_size=2, shuffle=True, num_workers=1,
                         multiprocessing_context="spawn")
    assert _flat(spawned) == main


@pytest.mark.skipif(nb.cuda.is_available(), reason="checks the CPU-only behaviour")
def test_pin_memory_without_a_gpu_warns_and_changes_nothing():
    data = TensorDataset(nb.arange(10.0).reshape(5, 2), nb.arange(5))
    plain = [tuple(t.numpy().tolist() for t in b) for b in DataLoader(data, batch_size=2)]
    with pytest.warns(UserWarning, match="pin_memory=True but no CUDA GPU"):
        pinned = [tuple(t.numpy().tolist() for t in b)
                  for b in DataLoader(data, batch_size=2, pin_memory=True)]
    assert pinned == plain
    with pytest.raises(RuntimeError, match="pin_memory: CUDA is not available"):
        nb.ones(3).pin_memory()
    assert not nb.ones(3).is_pinned()


@pytest.mark.skipif(not nb.cuda.is_available(), reason="needs a CUDA GPU")
def test_pin_memory_batches_are_pinned_and_copy_to_the_gpu():  # pragma: no cover
    data = TensorDataset(nb.arange(10.0).reshape(5, 2), nb.arange(5))
    for x, y in DataLoader(data, batch_size=2, pin_memory=True, num_workers=1):
        assert x.is_pinned() and y.is_pinned()
        gx = x.to("cuda", non_blocking=True)
        nb.cuda.synchronize()
        np.testing.assert_array_equal(gx.cpu().numpy(), x.numpy())


def test_in_order_false_is_accepted_and_batches_stay_in_sampler_order():
    ds = TensorDataset(nb.arange(20.0))
    for workers in (0, 2):
        loader = DataLoader(ds, batch_size=3, num_workers=workers, in_order=False)
        assert loader.in_order is False
        assert [float(v) for b in loader for v in b[0].tolist()] == [float(i) for i in range(20)]
