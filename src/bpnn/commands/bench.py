"""``bpnn bench``: how fast bpnn's own training paths run a 784-300-10 float32 net on MNIST.

Two workloads, each on the path ``make_stepper`` picks (compiled when Numba is there) and on the
reference ``NumpyStepper``:

- per-sample: the tutorial's algorithm (sigmoid, squared error, 0.9/0.1 targets, SGD 0.3, batch 1);
- mini-batch: 128 samples, ReLU, softmax cross-entropy, momentum 0.1.

``--device cuda`` (or ``jax-cpu``) adds bpnn's JAX program on that device (``bpnn.accel``) for
784-300-10 and the ``best`` preset's 784-1200-1200-10 with dropout, batch 128, ReLU, softmax
cross-entropy, momentum 0.9: the trainer's chunks (32 batches a call), weights synced back once an
epoch, best of ``--epochs`` after a warm-up that compiles.

Fast paths are timed as the best of ``--epochs`` full epochs; the reference per-sample path on a
subset, scaled to a full epoch (the table says which).  Not here: the comparison with PyTorch,
scikit-learn and the tutorial's own code (``python benchmarks/bench.py`` in a source checkout,
``make bench``), and accuracy (``bpnn train``).
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np

from ..device import resolve_device
from ..fileio import atomic_write
from ..network import Network
from ..optim import SGD, make_optimizer
from ..steppers import make_stepper
from . import command

SIZES = (784, 300, 10)
CHUNK = 4096  # samples per stepper call, as the trainer does
PEERS = "python benchmarks/bench.py (from a source checkout; make bench)"
# (row name, workload, reference path, samples timed per epoch at most, epochs at most)
ROWS = (
    ("bpnn per-sample SGD", "per-sample", False, 60000, None),
    ("bpnn mini-batch", "mini-batch", False, 60000, None),
    ("bpnn reference NumPy per-sample", "per-sample", True, 3000, 1),
    ("bpnn reference NumPy mini-batch", "mini-batch", True, 60000, 1),
)
# the device workloads: name -> (hidden sizes, dropout)
DEVICE_WORKLOADS = {
    "784-300-10": ([300], 0.0),
    "784-1200-1200-10 dropout": ([1200, 1200], [0.2, 0.4, 0.4]),
}


def add_parser(sub) -> None:
    p = command(
        sub,
        "bench",
        "time bpnn's training paths on MNIST",
        "Time per-sample and mini-batch training of a 784-300-10 net on MNIST, on "
        "the compiled and the reference paths. "
        f"The comparison with PyTorch and scikit-learn: {PEERS}.",
        run,
    )
    add_arguments(p)


def add_arguments(p) -> None:
    """The options ``bpnn bench`` and ``benchmarks/bench.py`` share."""
    p.add_argument("--data", metavar="DIR", help="folder with the four MNIST files")
    p.add_argument(
        "--epochs", type=int, default=2, help="full epochs timed per fast path; the best counts (2)"
    )
    p.add_argument("--quick", action="store_true", help="small subsets: a smoke test in seconds")
    p.add_argument("--json", action="store_true", help="print the results as one JSON object")
    p.add_argument("--out", metavar="FILE", help="also write the JSON results to FILE")
    p.add_argument(
        "--device",
        choices=("cpu", "cuda", "jax-cpu"),
        default="cpu",
        help="cuda: add bpnn's JAX program on the GPU (784-300-10 and the best preset's "
        "784-1200-1200-10 with dropout, batch 128); jax-cpu: the same on JAX's CPU backend",
    )


def run(args) -> int:
    from ..data import find_mnist, load_mnist

    check_epochs(args.epochs)
    if args.device != "cpu":
        resolve_device(args.device)  # one line saying why, before any data is read
    folder = find_mnist(args.data)
    images, labels = load_mnist(folder, "train")
    print(f"bench: {len(images)} training images from {folder}", file=sys.stderr)
    rows = time_rows(images, labels, args.epochs, args.quick)
    if args.device != "cpu":
        rows += device_rows(images, labels, args.device, args.epochs, args.quick)
    report = {"training_images": len(images), "results": rows}
    write_report(report, args.out)
    print(json.dumps(report) if args.json else format_rows(rows))
    if not args.json:
        print(f"\nPyTorch, scikit-learn and the tutorial's code side by side: {PEERS}")
    return 0


def check_epochs(epochs: int) -> None:
    if epochs < 1:
        raise ValueError(f"--epochs must be >= 1, got {epochs}")


def write_report(report: dict, out) -> None:
    if out:
        text = (json.dumps(report, indent=2) + "\n").encode()
        atomic_write(out, lambda f: f.write(text))


def time_rows(
    images: np.ndarray, labels: np.ndarray, epochs: int, quick: bool, log=None
) -> list[dict]:
    """Every row of ``ROWS`` timed on images (n, 784) uint8 and labels (n,): best of ``epochs``
    for the fast paths; ``quick`` takes a tenth of each subset and one epoch."""
    log = log or (lambda line: print(line, file=sys.stderr))
    rows = []
    for name, workload, reference, most, most_epochs in ROWS:
        n_timed = min(len(images), most // 10 if quick else most)
        e = 1 if quick else min(epochs, most_epochs or epochs)
        rows.append(time_bpnn(name, images, labels, n_timed, e, workload, reference=reference))
        log(f"  {name}: {rows[-1]['seconds_per_epoch']:.3f} s/epoch")
    return rows


def workload_setup(workload: str):
    """(network, optimiser, batch size) of ``"per-sample"`` or ``"mini-batch"``, seed 0."""
    if workload == "per-sample":
        return Network(SIZES, dtype=np.float32, seed=0), SGD(0.3), 1
    net = Network(
        SIZES, activation="relu", loss="cross_entropy", init="he", dtype=np.float32, seed=0
    )
    return net, make_optimizer("momentum", 0.1), 128


def time_bpnn(
    name: str,
    images: np.ndarray,
    labels: np.ndarray,
    n_timed: int,
    epochs: int,
    workload: str,
    *,
    reference: bool = False,
) -> dict:
    """Seconds per epoch of ``workload`` on ``n_timed`` samples of images (n, 784) uint8 and
    labels (n,), best of ``epochs``, scaled to all n; the stepper's name says which path ran."""
    net, opt, batch = workload_setup(workload)
    rng = np.random.default_rng(0)
    step = make_stepper(net, opt, images, labels, batch, rng, scale=1 / 255, reference=reference)
    step(rng.permutation(len(images))[:256])  # loads (or compiles) the compiled code
    best = min(_epoch_time(step, rng.permutation(len(images)), n_timed) for _ in range(epochs))
    return {
        "name": name,
        "seconds_per_epoch": best * len(images) / n_timed,
        "samples_timed": n_timed,
        "epoch_samples": len(images),
        "path": step.name,
        "extrapolated": n_timed < len(images),
    }


def _epoch_time(step, order: np.ndarray, n_timed: int) -> float:
    start = time.perf_counter()
    for s in range(0, n_timed, CHUNK):
        step(order[s : min(s + CHUNK, n_timed)])
    return time.perf_counter() - start


def measured_on(row: dict) -> str:
    """How a row was measured: a full epoch, or a subset scaled to one."""
    how = f"{row['samples_timed']} samples, scaled" if row["extrapolated"] else "full epoch"
    return f"{how} [{row['path']}]"


def format_rows(rows: list[dict]) -> str:
    lines = [f"{'workload':36s} {'s/epoch':>9s}  measured on"]
    lines += [f"{r['name']:36s} {r['seconds_per_epoch']:9.3f}  {measured_on(r)}" for r in rows]
    return "\n".join(lines)


def device_rows(
    images: np.ndarray, labels: np.ndarray, device: str, epochs: int, quick: bool, log=None
) -> list[dict]:
    """Every ``DEVICE_WORKLOADS`` entry timed on ``device`` (cuda or jax-cpu)."""
    log = log or (lambda line: print(line, file=sys.stderr))
    n, rows = len(images), []
    n_timed = n // 10 if quick else n
    for name, (hidden, dropout) in DEVICE_WORKLOADS.items():
        seconds = time_device(
            images, labels, hidden, dropout, device, 1 if quick else epochs, n_timed
        )
        rows.append(
            {
                "name": f"bpnn JAX {device} {name}",
                "seconds_per_epoch": seconds,
                "samples_timed": n_timed,
                "epoch_samples": n,
                "path": f"jit(lax.scan), {device}",
                "extrapolated": n_timed < n,
            }
        )
        log(f"  {rows[-1]['name']}: {seconds:.3f} s/epoch")
    return rows


def time_device(images, labels, hidden, dropout, device: str, epochs: int = 2, n=None) -> float:
    """Best seconds per epoch of bpnn on ``device`` (cpu, jax-cpu, cuda) for images (N, 784)
    uint8 and labels (N,); n: samples timed per epoch (scaled to N)."""
    n = len(images) if n is None else n
    net = Network(
        [images.shape[1], *hidden, 10],
        activation="relu",
        loss="cross_entropy",
        init="he",
        dtype=np.float32,
        seed=0,
        dropout=dropout,
    )
    rng = np.random.default_rng(0)
    opt = make_optimizer("momentum", 0.1)
    step = make_stepper(net, opt, images, labels, 128, rng, scale=1 / 255, device=device)
    step.sync_every_call = False  # a device stepper syncs once an epoch, as the trainer's
    chunk = 128 * (CHUNK // 128)
    order = rng.permutation(len(images))
    step(order[: min(chunk, n)])  # compiles the full chunk's program ...
    step(order[: n % chunk or chunk])  # ... and the epoch's last, shorter one
    step.sync()
    best = float("inf")
    for _ in range(epochs):
        order = rng.permutation(len(images))[:n]
        start = time.perf_counter()
        for s in range(0, n, chunk):
            step(order[s : s + chunk])
        step.sync()
        best = min(best, time.perf_counter() - start)
    return best * len(images) / n
