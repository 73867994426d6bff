"""What the typing rule and the fill values need of a column of numbers, in one pass:
``NumberStats`` (missing count, whether it holds only 0 and 1, its median).

``column_stats(values)`` for one column, given as one array (n,) or as its chunks (n_i,) (as
``bpnn.tables.read`` reads it): its values present are copied once, for its median.
``in_order(work, items)``: ``work`` on each item on a few threads (the statistics of many
columns, the blocks of a table), the results in order.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from ..device import default_threads

__all__ = ["MAX_WORKERS", "NumberStats", "column_stats", "in_order", "median"]

T = TypeVar("T")
R = TypeVar("R")
# threads of in_order: the work is memory-bound (copies, compares, selections), and past a few
# threads the bus is the limit; each thread also reserves its stack (``ulimit -v``)
MAX_WORKERS = 4
# values (all the items' together) below which in_order works in the calling thread: starting
# a thread costs about as much as this much work (a 569-row table's 30 columns: two threads
# started took 1-3 ms of a 50 ms fit, the statistics themselves 0.2 ms)
INLINE_VALUES = 1 << 17


@dataclass(frozen=True)
class NumberStats:
    """A numeric column's facts: values present, missing, both 0 and 1 and nothing else."""

    present: int
    missing: int
    zero_one: bool
    median: float


def median(x: np.ndarray) -> float:
    """The median of x (n,), reordering x in place (np.median would copy it); 0 when empty."""
    n = len(x)
    if n == 0:
        return 0.0
    half = n // 2
    x.partition(half)  # one selection; the lower middle is then the largest of x[:half]
    return float(x[half]) if n % 2 else float((x[:half].max() + x[half]) / 2)


def column_stats(values: np.ndarray | list[np.ndarray]) -> NumberStats:
    """The facts of one column of numbers (NaN: missing): an array (n,) or its chunks (n_i,).
    Gaps and the 0/1 test are taken chunk by chunk; only the values present are copied, once,
    into the array (present,) the median reorders."""
    chunks = [values] if isinstance(values, np.ndarray) else values
    gaps = [np.isnan(c) if c.dtype.kind == "f" else np.zeros(0, bool) for c in chunks]  # ints: none
    counts = [len(c) - int(np.count_nonzero(g)) for c, g in zip(chunks, gaps)]
    x = np.empty(sum(counts))
    at = 0
    for chunk, gap, count in zip(chunks, gaps, counts):
        if count == len(chunk):
            x[at : at + count] = chunk
        else:  # straight into x: no copy of the chunk's values in between
            np.compress(~gap, chunk.astype(np.float64, copy=False), out=x[at : at + count])
        at += count
    missing = sum(len(c) for c in chunks) - len(x)
    if len(x) == 0:
        return NumberStats(0, missing, False, 0.0)
    # only 0 and 1, both present: the extremes tell at once for nearly every column
    zero_one = bool(x.min() == 0 and x.max() == 1 and np.all((x == 0) | (x == 1)))
    return NumberStats(len(x), missing, zero_one, median(x))


def in_order(work: Callable[[T], R], items: Iterable[T], values: int | None = None) -> Iterator[R]:
    """``work`` on each item, on up to ``MAX_WORKERS`` threads (never more than the cores:
    NumPy lets go of the GIL while it copies, compares and selects), its results in the items'
    order; the first failure in that order is raised and the work not yet begun is dropped.
    ``values``: how many values the work reads in all; under ``INLINE_VALUES``, no threads.
    Threads that cannot be started (``can't start new thread`` under a tight ``ulimit -v``) are
    done without: fewer threads, or none (the work in this thread).  Each item is worked on
    once: the threads take the items one at a time from a shared count."""
    items = list(items)
    futures: list[Future] = [Future() for _ in items]
    lock, taken, failed = threading.Lock(), iter(range(len(items))), threading.Event()

    def worker() -> None:
        while not failed.is_set():
            with lock:
                k = next(taken, None)
            if k is None or not futures[k].set_running_or_notify_cancel():
                return  # done, or the results are no longer wanted
            try:
                futures[k].set_result(work(items[k]))
            except BaseException as exc:  # handed to the caller, in order; no more begun
                failed.set()
                futures[k].set_exception(exc)

    threads = []
    wanted = min(MAX_WORKERS, default_threads(), len(items)) if len(items) > 1 else 0
    if values is not None and values < INLINE_VALUES:
        wanted = 0
    for _ in range(wanted):
        thread = threading.Thread(target=worker, daemon=True)
        try:
            thread.start()
        except RuntimeError:  # can't start new thread: those begun do the work
            break
        threads.append(thread)
    if not threads:
        yield from map(work, items)  # here, in order
        return
    try:
        for future in futures:
            yield future.result()
    finally:
        for future in futures:
            future.cancel()  # not begun: dropped (a thread stops at the first it meets)
        for thread in threads:
            thread.join()
