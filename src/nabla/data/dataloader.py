"""``DataLoader``: batches from a dataset, in the main process or in worker processes.

Determinism: each iteration first draws a ``base_seed`` from the loader's
generator (nabla's default generator unless ``generator=`` is given), then the
sampler draws its order from the same generator. Worker ``i`` seeds nabla,
NumPy and ``random`` with ``base_seed + i``. So after ``nabla.manual_seed(s)``
the batches are fixed, and for a dataset without randomness they are the same
with and without workers (batches always come back in sampler order).

Robustness: the main process never blocks without a timeout. While it waits
for a batch it checks that every worker is alive; a worker's exception is
re-raised in the main process with the worker's id and traceback; workers
are shut down when the iterator ends, is garbage collected (``break`` out of
the loop), or on ``KeyboardInterrupt``; workers exit on their own when the
main process dies.
"""
from __future__ import annotations

import itertools
import multiprocessing
import os
import pickle
import queue
import time
import warnings
from typing import Any, Callable

import numpy as np

from .. import backend
from ..tensor import Tensor
from . import _worker
from .collate import default_collate, default_convert
from .dataset import Dataset, IterableDataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler

# How often the main process, while waiting for a batch, checks its workers.
_POLL_S = 0.1
# How long shutdown waits for a worker to exit before terminating it.
_JOIN_TIMEOUT_S = 2.0


class _InfiniteConstantSampler(Sampler):
    """``None`` forever: the index stream of an IterableDataset."""

    def __iter__(self):
        while True:
            yield None


def _default_context():
    # fork is fast and needs nothing picklable; spawn where fork does not exist.
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


class DataLoader:
    """Iterate over ``dataset`` in batches, with PyTorch's signature and semantics.

    ``batch_size=None`` turns batching off (samples are converted one by one).
    ``pin_memory=True`` copies each batch's tensors and arrays into page-locked host
    memory, from which ``.to("cuda")`` copies asynchronously; without a GPU it warns
    and does nothing, as PyTorch does (``pin_memory_device`` is accepted and
    ignored). ``prefetch_factor`` (2 when None) batches per worker are requested
    ahead of use. ``in_order=False`` lets PyTorch hand out worker batches as they finish;
    here batches always come in sampler order, which that setting permits.
    """

    def __init__(self, dataset: Dataset, batch_size: int | None = 1, shuffle: bool | None = None,
                 sampler=None, batch_sampler=None, num_workers: int = 0,
                 collate_fn: Callable | None = None, pin_memory: bool = False,
                 drop_last: bool = False, timeout: float = 0,
                 worker_init_fn: Callable | None = None,
                 multiprocessing_context=None, generator=None, *,
                 prefetch_factor: int | None = None, persistent_workers: bool = False,
                 pin_memory_device: str = "", in_order: bool = True):
        self._check_worker_options(num_workers, timeout, prefetch_factor, persistent_workers)
        if isinstance(dataset, IterableDataset):
            if shuffle not in (None, False):
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified shuffle "
                                 f"option, but got shuffle={shuffle}")
            if sampler is not None or batch_sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified sampler "
                                 "and batch_sampler options")
            sampler = _InfiniteConstantSampler()
        elif sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("DataLoader: batch_sampler option is mutually exclusive with "
                                 "batch_size, shuffle, sampler, and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("DataLoader: batch_size=None option disables auto-batching and is "
                             "mutually exclusive with drop_last")
        if sampler is None:
            sampler = (RandomSampler(dataset, generator=generator) if shuffle
                       else SequentialSampler(dataset))
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)

        self.dataset = dataset
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor if prefetch_factor is not None or num_workers == 0 \
            else 2
        self.collate_fn = collate_fn if collate_fn is not None else (
            default_collate if batch_sampler is not None else default_convert)
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.in_order = bool(in_order)
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.generator = generator
        self.persistent_workers = persistent_workers
        self._iterator = None

    @staticmethod
    def _check_worker_options(num_workers, timeout, prefetch_factor, persistent_workers) -> None:
        if not isinstance(num_workers, int) or num_workers < 0:
            raise ValueError(f"DataLoader: num_workers option should be a non-negative integer, "
                             f"got {num_workers!r}; use num_workers=0 to disable multiprocessing")
        if timeout < 0:
            raise ValueError(f"DataLoader: timeout option should be non-negative, got {timeout}")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("DataLoader: prefetch_factor option could only be specified in "
                             "multiprocessing: let num_workers > 0 to enable multiprocessing")
        if prefetch_factor is not None and prefetch_factor < 1:
            raise ValueError(f"DataLoader: prefetch_factor option should be a positive integer, "
                             f"got {prefetch_factor}")
        if persistent_workers and num_workers == 0:
            raise ValueError("DataLoader: persistent_workers option needs num_workers > 0")

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None

    @property
    def _index_sampler(self):
        return self.batch_sampler if self._auto_collation else self.sampler

    def __iter__(self):
        if self.num_workers == 0:
            return _SingleProcessIter(self)
        if not self.persistent_workers:
            return _MultiProcessIter(self)
        if self._iterator is None or self._iterator._shutdown:
            self._iterator = _MultiProcessIter(self)
        else:
            self._iterator._reset(self)
        return self._iterator

    def __len__(self) -> int:
        if isinstance(self.dataset, IterableDataset):
            n = len(self.dataset)  # TypeError when the dataset has no length, as in PyTorch
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        return len(self._index_sampler)


def _pinned(batch):
    """``batch`` with every CPU tensor and NumPy array copied into pinned memory."""
    if isinstance(batch, Tensor):
        return batch.pin_memory() if batch.device.type == "cpu" else batch
    if isinstance(batch, np.ndarray):
        return backend.pin_memory(batch)
    if isinstance(batch, dict):
        return type(batch)((k, _pinned(v)) for k, v in batch.items())
    if isinstance(batch, (list, tuple)) and not hasattr(batch, "_fields"):
        return type(batch)(_pinned(v) for v in batch)
    if isinstance(batch, tuple):  # a namedtuple
        return type(batch)(*(_pinned(v) for v in batch))
    return batch


class _BaseIter:
    def __init__(self, loader: DataLoader):
        self._dataset = loader.dataset
        self._index_sampler = loader._index_sampler
        self._auto_collation = loader._auto_collation
        self._drop_last = loader.drop_last
        self._collate_fn = loader.collate_fn
        # Drawn before the sampler's order, with and without workers alike, so a
        # seed gives the same order in both modes.
        gen = loader.generator if loader.generator is not None else backend.default_generator
        self._base_seed = int(gen.numpy.integers(0, 2 ** 62))
        self._sampler_iter = iter(self._index_sampler)
        self._loader = loader
        self._pin = loader.pin_memory and backend.cuda_is_available()
        if loader.pin_memory and not self._pin:
            warnings.warn("DataLoader: pin_memory=True but no CUDA GPU is available; pinned "
                          "memory will not be used", stacklevel=3)

    def __iter__(self):
        return self

    def __len__(self) -> int:
        return len(self._loader)

    def _next_index(self):
        return next(self._sampler_iter)


class _SingleProcessIter(_BaseIter):
    def __init__(self, loader: DataLoader):
        super().__init__(loader)
        self._fetcher = _worker.make_fetcher(self._dataset, self._auto_collation,
                                             self._collate_fn, self._drop_last)

    def __next__(self) -> Any:
        index = self._next_index()  # StopIteration ends the epoch
        batch = self._fetcher.fetch(index)
        return _pinned(batch) if self._pin else batch


class _MultiProcessIter(_BaseIter):
    """Round-robin tasks to workers, keep ``prefetch_factor * num_workers`` in
    flight, and hand batches back in task order."""

    def __init__(self, loader: DataLoader):
        super().__init__(loader)
        self._num_workers = loader.num_workers
        self._prefetch = loader.prefetch_factor * loader.num_workers
        self._timeout = loader.timeout
        self._persistent = loader.persistent_workers
        self._shutdown = True  # until the workers exist
        # A forked child inherits a copy of this object; only the creator may stop workers.
        self._owner_pid = os.getpid()
        ctx = loader.multiprocessing_context
        if ctx is None:
            ctx = _default_context()
        elif isinstance(ctx, str):
            ctx = multiprocessing.get_context(ctx)
        self._result_queue = ctx.Queue()
        self._done_event = ctx.Event()
        self._index_queues, self._workers = [], []
        self._shutdown = False
        try:
            for i in range(self._num_workers):
                index_queue = ctx.Queue()
                index_queue.cancel_join_thread()  # never block our exit on unsent tasks
                w = ctx.Process(target=_worker.worker_loop, daemon=True, args=(
                    self._dataset, index_queue, self._result_queue, self._done_event,
                    self._auto_collation, self._collate_fn, self._drop_last, self._base_seed,
                    loader.worker_init_fn, i, self._num_workers, os.getpid()))
                w.start()
                self._index_queues.append(index_queue)
                self._workers.append(w)
        except BaseException:
            self._shutdown_workers()
            raise
        self._epoch = 0
        self._start_epoch()

    def _start_epoch(self) -> None:
        self._send_idx = 0  # next task index to send
        self._rcvd_idx = 0  # next task index to return
        self._task_info: dict = {}  # task index -> [worker id] or [worker id, result]
        self._outstanding = 0
        self._active = [True] * self._num_workers
        self._worker_cycle = itertools.cycle(range(self._num_workers))
        for _ in range(self._prefetch):
            self._try_put_index()

    def _reset(self, loader: DataLoader) -> None:
        """A new epoch on persistent workers: fresh sampler order, drain stale results."""
        self._sampler_iter = iter(self._index_sampler)
        self._epoch += 1
        resume = _worker.ResumeIteration(self._epoch)
        for q in self._index_queues:
            q.put(resume)
        pending = self._num_workers
        while pending:  # results of an abandoned epoch arrive before the acknowledgements
            msg, _ = self._get_message()
            if msg == resume:
                pending -= 1
        self._start_epoch()

    def _try_put_index(self) -> None:
        if self._outstanding >= self._prefetch:
            return
        try:
            index = self._next_index()
        except StopIteration:
            return
        for _ in range(self._num_workers):
            worker_id = next(self._worker_cycle)
            if self._active[worker_id]:
                break
        else:
            return  # every worker's IterableDataset copy is exhausted
        self._index_queues[worker_id].put((self._send_idx, index))
        self._task_info[self._send_idx] = [worker_id]
        self._outstanding += 1
        self._send_idx += 1

    def __next__(self) -> Any:
        try:
            return self._next_data()
        except KeyboardInterrupt:
            self._shutdown_workers()
            raise

    def _next_data(self) -> Any:
        while True:
            # Skip tasks that went to a worker whose IterableDataset ran out.
            while self._rcvd_idx < self._send_idx:
                info = self._task_info[self._rcvd_idx]
                if len(info) == 2 or self._active[info[0]]:
                    break
                del self._task_info[self._rcvd_idx]
                self._rcvd_idx += 1
            else:
                if not self._persistent:
                    self._shutdown_workers()
                raise StopIteration
            info = self._task_info[self._rcvd_idx]
            if len(info) == 2:  # arrived earlier, out of order
                del self._task_info[self._rcvd_idx]
                self._rcvd_idx += 1
                return self._process(info[1])
            idx, data = self._get_message()
            if isinstance(idx, _worker.ResumeIteration):
                continue
            self._outstanding -= 1
            if isinstance(data, _worker.IterableExhausted):
                self._active[data.worker_id] = False
                self._try_put_index()
                continue
            if idx != self._rcvd_idx:
                self._task_info[idx].append(data)
                continue
            del self._task_info[idx]
            self._rcvd_idx += 1
            return self._process(data)

    def _process(self, data):
        self._try_put_index()
        if isinstance(data, _worker.ExceptionWrapper):
            data.reraise()
        batch = _worker.from_transfer(data)
        return _pinned(batch) if self._pin else batch

    def _get_message(self):
        """The next ``(task index, payload)`` from any worker, never blocking forever."""
        if self._shutdown:
            raise RuntimeError("DataLoader: the worker processes were shut down; "
                               "start a new iteration")
        deadline = time.monotonic() + self._timeout if self._timeout > 0 else None
        while True:
            try:
                idx, blob = self._result_queue.get(timeout=_POLL_S)
                return idx, (pickle.loads(blob) if blob is not None else None)
            except queue.Empty:
                pass
            self._check_workers_alive()
            if deadline is not None and time.monotonic() > deadline:
                self._shutdown_workers()
                raise RuntimeError(f"DataLoader timed out after {self._timeout} seconds "
                                   f"waiting for batch {self._rcvd_idx} from the workers")

    def _check_workers_alive(self) -> None:
        for i, w in enumerate(self._workers):
            if not w.is_alive():
                code = w.exitcode
                self._shutdown_workers()
                raise RuntimeError(f"DataLoader worker {i} (pid {w.pid}) exited unexpectedly "
                                   f"with exit code {code}")

    def _shutdown_workers(self) -> None:
        """Ask workers to stop, wait a little, terminate the stragglers, close queues."""
        if self._shutdown or os.getpid() != self._owner_pid:
            return
        self._shutdown = True
        try:
            self._done_event.set()
            for q in self._index_queues:
                try:
                    q.put(None)
                except Exception:
                    pass
            deadline = time.monotonic() + _JOIN_TIMEOUT_S
            for w in self._workers:
                w.join(timeout=max(0.0, deadline - time.monotonic()))
            for w in self._workers:
                if w.is_alive():
                    w.terminate()
                    w.join(timeout=_JOIN_TIMEOUT_S)
        finally:
            for q in self._index_queues + [self._result_queue]:
                try:
                    q.cancel_join_thread()
                    q.close()
                except Exception:
                    pass

    def __del__(self):
        try:
            self._shutdown_workers()
        except Exception:  # during interpreter shutdown modules may already be gone
            pass


__all__ = ["DataLoader"]
