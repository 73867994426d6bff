"""Where trials run: Dask (``dask.distributed``), on a local cluster or an existing scheduler.

``connect`` gives a client: to the scheduler at an address (``--scheduler``, or
``DASK_SCHEDULER_ADDRESS``), or to a local cluster of one single-threaded worker process per
core, whose BLAS threads are limited to cores / workers.  Everything the local cluster opens
listens on 127.0.0.1 only (the scheduler, the workers, the nannies and their HTTP servers, on
ports the system picks: a second sweep or a Dask dashboard already on 8787 is no conflict).
While connected, Dask's warnings (``UserWarning`` and the like, from ``dask`` or
``distributed``) become one line of the sweep's log each; its own log says only what is
critical.  ``run_trials`` sends each
trial to the cluster as one task (``bpnn.sweep.trial.run_trial``) and calls back as each one
ends.  A worker lost mid-trial is Dask's to handle: the scheduler gives the task to another
worker, which resumes the trial from its last checkpoint.
Not here: the sweep folder and its results (``bpnn.sweep.results``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
import warnings
from contextlib import contextmanager
from pathlib import Path

from ..errors import BpnnError
from .trial import run_trial, write_record

__all__ = ["NEEDS_DASK", "connect", "cores", "run_trials"]

NEEDS_DASK = "bpnn sweep needs Dask: pip install 'bpnn[sweep]'"
CONNECT_TIMEOUT_S = 5.0  # to reach the scheduler and hear it answer, handshake included
CONNECT_TIMEOUT = f"{CONNECT_TIMEOUT_S:g}s"
THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS")
# Dask's log level: the sweep's own lines (and trial records) say what happens; at "error" a
# worker that outlives the scheduler by a heartbeat at shutdown printed a traceback
QUIET = "critical"
LOOPBACK = "127.0.0.1"


def cores() -> int:
    """The cores this process may use."""
    return len(os.sched_getaffinity(0))


def _dask():
    try:
        import dask
        import distributed
    except ImportError:
        raise BpnnError(NEEDS_DASK) from None
    return dask, distributed


@contextmanager
def connect(scheduler: str | None, workers: int | None, log):
    """A Dask client for the scheduler at ``scheduler``, else for a new local cluster of
    ``workers`` processes (default: one per core); both are closed on the way out."""
    dask, distributed = _dask()
    logging.getLogger("distributed").setLevel(QUIET.upper())
    with dask_warnings_to(log):
        cluster = None if scheduler else _local_cluster(dask, distributed, workers or cores())
        try:
            client = _client(distributed, scheduler or cluster)
        except BaseException:
            if cluster is not None:
                cluster.close()
            raise
        try:
            log(_describe(client, scheduler))
            yield client
        finally:
            client.close()
            if cluster is not None:
                cluster.close()


@contextmanager
def dask_warnings_to(log):
    """Within: a warning raised by Dask's own code becomes one line, ``Dask: MESSAGE`` (its
    first line), through ``log``; other warnings are shown as before."""
    shown = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if _from_dask(filename):
            first = str(message).strip().splitlines()[0] if str(message).strip() else ""
            log(f"Dask: {first} ({category.__name__})")
        else:
            shown(message, category, filename, lineno, file, line)

    with warnings.catch_warnings():
        warnings.showwarning = show
        yield


def _from_dask(filename: str) -> bool:
    """Whether a warning was raised in the dask or distributed packages' files."""
    roots = [Path(m.__file__).parent for m in _dask() if m.__file__]
    return any(Path(filename).is_relative_to(root) for root in roots)


def _local_cluster(dask, distributed, n_workers: int):
    """n single-threaded worker processes on 127.0.0.1; each trial gets cores / n BLAS threads.
    No dashboard; the scheduler's HTTP server (which Dask always starts, on 8787 unless told)
    on a free loopback port."""
    threads = str(max(1, cores() // n_workers))
    environ = {
        **dask.config.get("distributed.nanny.pre-spawn-environ", {}),
        **{name: threads for name in THREAD_VARS},
        "DASK_LOGGING__DISTRIBUTED": QUIET,
    }
    with dask.config.set({"distributed.nanny.pre-spawn-environ": environ}):
        return distributed.LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            host=LOOPBACK,
            dashboard_address=None,
            scheduler_kwargs={"dashboard_address": f"{LOOPBACK}:0"},
        )


def _client(distributed, address):
    try:
        if isinstance(address, str):  # (a local cluster's scheduler answers: it was just made)
            _answers(address, CONNECT_TIMEOUT_S)
        return distributed.Client(address, timeout=CONNECT_TIMEOUT)
    except (OSError, ValueError, TypeError) as exc:
        hint = (
            " (a tls:// scheduler needs Dask's TLS settings: DASK_DISTRIBUTED__COMM__TLS__CA_FILE,"
            " ..._CLIENT__CERT and ..._CLIENT__KEY, or distributed.comm.tls in Dask's config)"
            if "ssl_context" in str(exc)
            else ""
        )
        raise BpnnError(f"cannot reach the Dask scheduler at {address}: {exc}{hint}") from None


def _answers(address: str, seconds: float) -> None:
    """TimeoutError unless the scheduler at ``address`` connects, shakes hands and says who it
    is within ``seconds`` in all: ``distributed.Client`` waits forever on a port that accepts
    connections but never answers (its timeout covers the connection only).  A ``tls://``
    scheduler is reached with Dask's own TLS settings, as the client reaches it."""
    from distributed.comm import connect
    from distributed.security import Security

    tls = Security().get_connection_args("client")  # Dask's TLS settings (distributed.comm.tls)

    async def identity() -> None:
        comm = await connect(address, timeout=seconds, **tls)
        try:
            await comm.write({"op": "identity", "reply": True})
            await comm.read()
        finally:
            comm.abort()

    async def bounded() -> None:
        await asyncio.wait_for(identity(), seconds)

    try:
        asyncio.run(bounded())
    except TimeoutError:
        raise TimeoutError(f"no answer in {seconds:g} s (is it a Dask scheduler?)") from None


def _describe(client, scheduler: str | None) -> str:
    workers = client.scheduler_info()["workers"]
    where = f"Dask scheduler {scheduler}" if scheduler else "a local Dask cluster"
    line = (
        f"trials run on {where}: {len(workers)} workers, "
        f"{sum(w['nthreads'] for w in workers.values())} trials at a time"
    )
    return line if workers else line + " (none yet: trials wait for workers to join)"


def _slots(client) -> dict:
    """host -> trials that may run on it at once (its workers' threads)."""
    slots: dict = {}
    for worker in client.scheduler_info()["workers"].values():
        slots[worker["host"]] = slots.get(worker["host"], 0) + worker["nthreads"]
    return slots


def run_trials(client, jobs: list, data: dict, on_end) -> None:
    """Run ``jobs`` ([(Trial, folder)]) on the cluster, calling ``on_end(record, running)`` as
    each ends.  A task that the cluster itself gives up on (a trial that kills its workers again
    and again) is recorded as failed with Dask's message."""
    _, distributed = _dask()
    slots = _slots(client)
    token = uuid.uuid4().hex[:8]
    futures = {}
    for i, (trial, folder) in enumerate(jobs):
        future = client.submit(
            run_trial,
            trial.to_dict(),
            data,
            str(folder),
            slots,
            pure=False,
            key=f"bpnn-{trial.name}-{token}",
            priority=len(jobs) - i,
        )
        futures[future] = (trial, Path(folder))
    for future in distributed.as_completed(futures):
        trial, folder = futures[future]
        record = _record(future, trial, folder)
        on_end(record, _running(client))


def _running(client) -> int:
    """Trials running now: tasks on workers, at most as many as the workers' threads."""
    threads = sum(w["nthreads"] for w in client.scheduler_info()["workers"].values())
    return min(threads, sum(len(keys) for keys in client.processing().values()))


def _record(future, trial, folder: Path) -> dict:
    if future.status == "finished":
        return future.result()
    record = {
        **trial.to_dict(),
        "status": "failed",
        "error": f"the cluster gave up on the trial: "
        f"{type(future.exception()).__name__}: {future.exception()}",
    }
    write_record(folder, record)
    return record
