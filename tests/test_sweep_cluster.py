"""bpnn sweep on real Dask clusters on loopback: a scheduler and two worker processes started
here (``dask scheduler`` / ``dask worker``), or the sweep's own local cluster.  Every process
started here is stopped here, with bounded waits; sweeps run as ``python -m bpnn sweep``.

- a sweep sent with --scheduler: results sorted, best model = the best trial run alone with bpnn train;
- a diverging trial fails with its message, the others finish;
- a worker killed mid-trial: the trial resumes on the other worker from its checkpoint;
- a sweep killed and run again: finished trials are not run again, the interrupted one resumes.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("distributed")

from bpnn.model import load

REPO = Path(__file__).resolve().parents[1]
IRIS = REPO / "examples" / "iris.csv"
DASK = Path(sys.executable).parent / "dask"
START_TIMEOUT = 60
SWEEP_TIMEOUT = 120


def _wait(condition, timeout: float, what: str, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@contextmanager
def dask_cluster(folder: Path, n_workers: int = 2):
    """A scheduler and ``n_workers`` single-threaded worker processes (no nanny, so a killed
    worker stays dead) on 127.0.0.1; yields (scheduler address, worker processes, worker addresses)."""
    folder.mkdir(parents=True, exist_ok=True)
    address_file = folder / "scheduler.json"
    procs = []

    def start(args, log):
        procs.append(
            subprocess.Popen(
                [str(DASK), *args],
                stdout=subprocess.DEVNULL,
                stderr=open(folder / log, "w"),
                cwd=folder,
            )
        )
        return procs[-1]

    try:
        start(
            [
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--no-dashboard",
                "--scheduler-file",
                str(address_file),
            ],
            "scheduler.log",
        )
        address = _wait(
            lambda: (
                address_file.exists()
                and json.loads(address_file.read_text() or "{}").get("address")
            ),
            START_TIMEOUT,
            "the scheduler",
        )
        workers = [
            start(
                [
                    "worker",
                    address,
                    "--nworkers",
                    "1",
                    "--nthreads",
                    "1",
                    "--no-nanny",
                    "--no-dashboard",
                    "--host",
                    "127.0.0.1",
                ],
                f"worker{i}.log",
            )
            for i in range(n_workers)
        ]
        logs = [folder / f"worker{i}.log" for i in range(n_workers)]
        _wait(
            lambda: all("Registered to" in log.read_text() for log in logs),
            START_TIMEOUT,
            "the workers",
        )
        yield address, workers, [_worker_address(log) for log in logs]
    finally:
        for proc in reversed(procs):
            _stop(proc)


def _worker_address(log: Path) -> str:
    line = next(line for line in log.read_text().splitlines() if "Start worker at:" in line)
    return line.split("Start worker at:")[1].strip()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    with dask_cluster(tmp_path_factory.mktemp("dask")) as running:
        yield running


def _spec(folder: Path, text: str) -> Path:
    path = folder / "spec.toml"
    path.write_text(text)
    return path


def _sweep_argv(spec: Path, out: Path, *extra) -> list[str]:
    return [
        sys.executable,
        "-m",
        "bpnn",
        "sweep",
        str(spec),
        "--data",
        str(IRIS),
        "--out",
        str(out),
        *extra,
    ]


def _sweep(spec: Path, out: Path, *extra) -> dict:
    proc = subprocess.run(
        _sweep_argv(spec, out, *extra, "--json"),
        capture_output=True,
        text=True,
        timeout=SWEEP_TIMEOUT,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _record(out: Path, name: str) -> dict | None:
    try:
        return json.loads((out / "trials" / name / "trial.json").read_text())
    except (OSError, ValueError):
        return None


def test_sweep_on_a_scheduler_matches_bpnn_train_alone(cluster, tmp_path):
    address, _, worker_addresses = cluster
    spec = _spec(
        tmp_path,
        "[base]\nepochs = 15\npatience = 15\nval_size = 0.3\noptimizer = 'sgd'\n"
        "[search]\nlr = [0.003, 0.1]\nhidden = [[4], [16]]\n",
    )
    out = tmp_path / "sweep"
    results = _sweep(spec, out, "--scheduler", address)
    rows = results["trials"]
    assert [r["status"] for r in rows] == ["done"] * 4
    assert [r["val_error"] for r in rows] == sorted(r["val_error"] for r in rows)
    assert results["best"] == rows[0]["trial"]
    assert {s["worker"] for r in rows for s in _record(out, r["trial"])["starts"]} <= set(
        worker_addresses
    )
    written = {line.split(",")[0] for line in (out / "results.csv").read_text().splitlines()[1:]}
    assert written == {r["trial"] for r in rows}
    # the best trial, run alone with the command it records, gives the same model
    command = shlex.split(rows[0]["command"])
    command[command.index("--out") + 1] = str(tmp_path / "alone")
    alone = subprocess.run(
        [sys.executable, "-m", "bpnn", *command[1:], "--json"],
        capture_output=True,
        text=True,
        timeout=SWEEP_TIMEOUT,
    )
    assert alone.returncode == 0, alone.stderr
    assert json.loads(alone.stdout)["val_error"] == rows[0]["val_error"]
    best, single = load(out / "best" / "model.npz"), load(tmp_path / "alone" / "model.npz")
    for a, b in zip(best.net.params(), single.net.params()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_a_diverging_trial_fails_with_its_message_and_the_others_finish(cluster, tmp_path):
    spec = _spec(
        tmp_path,
        # ple's bounded inputs keep the loss at lr 1e6 finite, if absurd (1e5 times the
        # untrained network's): the divergence rule ends it as it ends a NaN loss
        "[base]\nepochs = 5\noptimizer = 'sgd'\npreprocessing = 'ple'\n"
        "[search]\nlr = [0.01, 1e6, 0.05]\n",
    )
    out = tmp_path / "sweep"
    rows = {r["trial"]: r for r in _sweep(spec, out, "--scheduler", cluster[0])["trials"]}
    assert [rows[name]["status"] for name in ("trial-000", "trial-001", "trial-002")] == [
        "done",
        "failed",
        "done",
    ]
    assert (
        "training diverged" in rows["trial-001"]["error"]
        and "learning rate 1e+06" in rows["trial-001"]["error"]
    )
    assert list(rows)[-1] == "trial-001"  # failed trials come last
    assert "training diverged" in (out / "results.csv").read_text()


def _running_with_checkpoint(out: Path, names: list[str], min_epoch: int):
    """A trial that is running and has saved a checkpoint after ``min_epoch`` epochs: its record."""
    for name in names:
        record = _record(out, name)
        history = out / "trials" / name / "history.json"
        if record and record["status"] == "running" and history.exists():
            try:
                epochs = len(json.loads(history.read_text())["epochs"])
            except ValueError:
                continue
            if epochs >= min_epoch:
                return record
    return None


def test_a_worker_killed_mid_trial_is_replaced_and_the_trial_resumes(tmp_path):
    spec = _spec(
        tmp_path,
        "[base]\nepochs = 80\npatience = 80\nbatch_size = 4\n[search]\nlr = [0.001, 0.002]\n",
    )
    out = tmp_path / "sweep"
    with dask_cluster(tmp_path / "dask") as (address, workers, _):
        sweep = subprocess.Popen(
            _sweep_argv(spec, out, "--scheduler", address, "--json"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            record = _wait(
                lambda: _running_with_checkpoint(out, ["trial-000", "trial-001"], 3),
                60,
                "a trial part-way through",
            )
            victim = record["starts"][-1]["pid"]
            assert victim in {w.pid for w in workers}  # only ever a worker this test started
            os.kill(victim, signal.SIGKILL)
            stdout, stderr = sweep.communicate(timeout=SWEEP_TIMEOUT)
        finally:
            _stop(sweep)
    assert sweep.returncode == 0, stderr
    rows = {r["trial"]: r for r in json.loads(stdout)["trials"]}
    assert all(r["status"] == "done" and r["epochs"] == 80 for r in rows.values())
    starts = _record(out, record["name"])["starts"]
    assert len(starts) == 2 and starts[1]["from_epoch"] >= 1 and starts[1]["pid"] != victim


def test_a_killed_sweep_run_again_skips_finished_trials_and_resumes_the_rest(tmp_path):
    spec = _spec(
        tmp_path,
        "[base]\nepochs = 60\npatience = 60\nbatch_size = 4\n"
        "[search]\nlr = [0.001, 0.002, 0.003]\n",
    )
    out = tmp_path / "sweep"
    names = ["trial-000", "trial-001", "trial-002"]
    first = subprocess.Popen(
        _sweep_argv(spec, out, "--workers", "1"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        _wait(
            lambda: (
                (_record(out, "trial-000") or {}).get("status") == "done"
                and _running_with_checkpoint(out, names[1:], 3)
            ),
            60,
            "one trial done and another part-way",
        )
        os.killpg(first.pid, signal.SIGKILL)  # the sweep, its local cluster and the trial it runs
    finally:
        first.wait(timeout=10)
    done = {
        n: (out / "trials" / n / "model.npz").stat().st_mtime_ns
        for n in names
        if (_record(out, n) or {}).get("status") == "done"
    }
    interrupted = [
        n for n in names if n not in done and (out / "trials" / n / "checkpoint.npz").exists()
    ]
    assert done and interrupted
    rows = {r["trial"]: r for r in _sweep(spec, out, "--workers", "1")["trials"]}
    assert all(r["status"] == "done" and r["epochs"] == 60 for r in rows.values())
    for name, mtime in done.items():
        assert (out / "trials" / name / "model.npz").stat().st_mtime_ns == mtime
        assert len(_record(out, name)["starts"]) == 1
    for name in interrupted:
        starts = _record(out, name)["starts"]
        assert len(starts) == 2 and starts[1]["from_epoch"] >= 3
