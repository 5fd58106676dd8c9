"""What runs inside a DataLoader worker process, and what crosses the process boundary.

A worker owns a copy of the dataset (forked, or pickled under ``spawn``),
receives ``(task_index, indices)`` on its own index queue, and answers
``(task_index, payload)`` on the shared result queue. The payload is pickled
*in the worker*, so a batch that cannot be pickled becomes an error reported
to the main process instead of a silently lost batch (and a hung loader).
Tensors travel as plain NumPy arrays and are rebuilt in the main process.
"""
from __future__ import annotations

import os
import pickle
import queue
import random
import signal
import traceback
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import backend
from ..tensor import Tensor

# How often an idle worker wakes to check that its parent is still alive.
_POLL_S = 1.0


@dataclass(frozen=True)
class WorkerInfo:
    """What :func:`get_worker_info` returns inside a worker process."""

    id: int
    num_workers: int
    seed: int
    dataset: Any


_worker_info: WorkerInfo | None = None


def get_worker_info() -> WorkerInfo | None:
    """Information about the current DataLoader worker (``None`` in the main process).

    Use it in ``IterableDataset.__iter__`` or ``worker_init_fn`` to split work
    between workers: ``info.id`` in ``[0, info.num_workers)``, ``info.seed``
    (the seed nabla and NumPy were seeded with), ``info.dataset`` (this
    worker's copy of the dataset).
    """
    return _worker_info


# -- fetching samples ----------------------------------------------------------
class _MapFetcher:
    """``dataset[i]`` for each index of a batch, then collate."""

    def __init__(self, dataset, auto_collation: bool, collate_fn, drop_last: bool):
        self.dataset, self.auto_collation, self.collate_fn = dataset, auto_collation, collate_fn

    def fetch(self, index):
        if self.auto_collation:
            getitems = getattr(self.dataset, "__getitems__", None)
            data = getitems(index) if getitems else [self.dataset[i] for i in index]
        else:
            data = self.dataset[index]
        return self.collate_fn(data)


class _IterableFetcher:
    """Next ``len(batch)`` items of ``iter(dataset)``; raises StopIteration when done."""

    def __init__(self, dataset, auto_collation: bool, collate_fn, drop_last: bool):
        self.iterator = iter(dataset)
        self.auto_collation, self.collate_fn, self.drop_last = auto_collation, collate_fn, drop_last
        self.ended = False

    def fetch(self, index):
        if self.ended:
            raise StopIteration
        if not self.auto_collation:
            return self.collate_fn(next(self.iterator))
        data = []
        for _ in index:
            try:
                data.append(next(self.iterator))
            except StopIteration:
                self.ended = True
                break
        if not data or (self.drop_last and len(data) < len(index)):
            raise StopIteration
        return self.collate_fn(data)


def make_fetcher(dataset, auto_collation: bool, collate_fn, drop_last: bool):
    from .dataset import IterableDataset
    cls = _IterableFetcher if isinstance(dataset, IterableDataset) else _MapFetcher
    return cls(dataset, auto_collation, collate_fn, drop_last)


# -- messages between processes ------------------------------------------------
class ExceptionWrapper:
    """An exception raised in a worker, carried to the main process with its traceback."""

    def __init__(self, exc: BaseException, where: str):
        self.exc_type = type(exc)
        try:  # a class defined in a closure or __main__ under spawn may not pickle
            pickle.dumps(self.exc_type)
        except Exception:
            self.exc_type = RuntimeError
        self.message = (f"Caught {type(exc).__name__} {where}.\nOriginal "
                        + "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))

    def reraise(self):
        msg = self.message
        if self.exc_type is KeyError:  # KeyError's str() is its repr: keep newlines readable
            msg = KeyErrorMessage(msg)
        try:
            exc = self.exc_type(msg)
        except Exception:  # an exception type whose constructor wants other arguments
            exc = RuntimeError(msg)
        raise exc


class KeyErrorMessage(str):
    def __repr__(self):
        return self


@dataclass(frozen=True)
class IterableExhausted:
    """A worker's copy of an IterableDataset has no more samples."""

    worker_id: int


@dataclass(frozen=True)
class ResumeIteration:
    """Sent to persistent workers at the start of a new epoch; echoed back."""

    epoch: int


class _TensorBox:
    """A Tensor on its way between processes: its NumPy data and its device."""

    __slots__ = ("array", "device")

    def __init__(self, array: np.ndarray, device: str):
        self.array, self.device = array, device

    def __reduce__(self):
        return (_TensorBox, (self.array, self.device))


def to_transfer(obj):
    """Replace Tensors inside (nested lists/tuples/dicts of) ``obj`` by NumPy boxes."""
    if isinstance(obj, Tensor):
        return _TensorBox(backend.to_device(obj.array, backend.CPU), str(obj.device))
    if isinstance(obj, dict):
        return {k: to_transfer(v) for k, v in obj.items()}
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return type(obj)(*(to_transfer(v) for v in obj))
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_transfer(v) for v in obj)
    return obj


def from_transfer(obj):
    """Inverse of :func:`to_transfer`, run in the main process."""
    if isinstance(obj, _TensorBox):
        arr = obj.array if obj.device == "cpu" else backend.to_device(obj.array,
                                                                      backend.Device(obj.device))
        return Tensor._wrap(arr)
    if isinstance(obj, dict):
        return {k: from_transfer(v) for k, v in obj.items()}
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return type(obj)(*(from_transfer(v) for v in obj))
    if isinstance(obj, (list, tuple)):
        return type(obj)(from_transfer(v) for v in obj)
    return obj


# -- the worker process --------------------------------------------------------
def seed_worker(seed: int) -> None:
    """Seed every random stream a dataset or transform might use."""
    backend.manual_seed(seed)
    np.random.seed(seed % 2 ** 32)
    random.seed(seed)


def _parent_alive(parent_pid: int) -> bool:
    return os.getppid() == parent_pid


def worker_loop(dataset, index_queue, result_queue, done_event, auto_collation: bool,
                collate_fn, drop_last: bool, base_seed: int, init_fn, worker_id: int,
                num_workers: int, parent_pid: int) -> None:
    """Serve tasks until ``None`` arrives, ``done_event`` is set or the parent dies."""
    global _worker_info
    # Ctrl-C goes to the whole process group; the main process shuts workers down.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    seed = base_seed + worker_id
    seed_worker(seed)
    _worker_info = WorkerInfo(worker_id, num_workers, seed, dataset)
    where = f"in DataLoader worker process {worker_id}"
    init_error = None
    fetcher = None
    try:
        if init_fn is not None:
            init_fn(worker_id)
        fetcher = make_fetcher(dataset, auto_collation, collate_fn, drop_last)
    except Exception as e:
        init_error = ExceptionWrapper(e, where)
    exhausted = False
    while True:
        try:
            task = index_queue.get(timeout=_POLL_S)
        except queue.Empty:
            if not _parent_alive(parent_pid) or done_event.is_set():
                break
            continue
        if task is None:
            break
        if isinstance(task, ResumeIteration):  # persistent workers: a new epoch
            exhausted = False
            if init_error is None:
                try:
                    fetcher = make_fetcher(dataset, auto_collation, collate_fn, drop_last)
                except Exception as e:
                    init_error = ExceptionWrapper(e, where)
            result_queue.put((task, None))
            continue
        if done_event.is_set() or exhausted:
            continue  # the main process no longer wants these results
        idx, index = task
        payload = init_error
        if payload is None:
            try:
                payload = to_transfer(fetcher.fetch(index))
            except StopIteration:
                payload = IterableExhausted(worker_id)
                exhausted = True
            except Exception as e:
                payload = ExceptionWrapper(e, where)
        try:
            blob = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as e:
            blob = pickle.dumps(ExceptionWrapper(e, f"{where} while sending batch {idx}"))
        result_queue.put((idx, blob))
    # Do not wait for unread results to be flushed: the main process is gone or done.
    result_queue.cancel_join_thread()
