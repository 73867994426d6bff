"""The speed comparison: bpnn's training paths next to PyTorch, scikit-learn and the tutorial.

In one run, on the same data and machine (784-300-10, float32):

- bpnn per-sample SGD (the tutorial's algorithm: sigmoid, squared error, 0.9/0.1 targets, batch 1)
  and bpnn mini-batch (128, ReLU, softmax cross-entropy, momentum), on the compiled and the
  reference paths, timed as ``bpnn bench`` times them (``bpnn.commands.bench``);
- the same two workloads in PyTorch (CPU, data preloaded as tensors), when ``import torch`` works;
- a tutorial-style NumPy loop (one float64 column vector at a time, the tutorial's layer code);
- scikit-learn's ``MLPClassifier`` (one epoch, batch 128), when installed;
- the machine's single-precision matrix-product rate, the GFLOP/s each workload achieves (dense
  arithmetic: 2 flops per weight for the forward pass, 2 for the weight gradient, 2 per hidden
  weight for the back-propagated delta; the fast paths skip zero pixels, so theirs is "effective"),
- the peak memory (RSS) of a one-epoch ``bpnn train`` run in a child process.

Slow workloads are timed on a subset and scaled to a full epoch (the table says which).  Ratios
compare numbers from this same run: shared machines are noisy, so absolute seconds drift.
The command line is ``benchmarks/bench.py``.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings
from importlib import metadata
from pathlib import Path

import numpy as np

from bpnn import one_hot
from bpnn.commands.bench import SIZES, measured_on, time_rows
from bpnn.data import find_mnist, load_mnist

TARGET_ON, TARGET_OFF = 0.9, 0.1  # the tutorial's squared-error targets


def benchmark(
    data_dir=None,
    *,
    epochs: int = 2,
    quick: bool = False,
    torch: bool = True,
    memory: bool = True,
    log=print,
    device: str = "cpu",
) -> dict:
    """Every measurement of one run, as JSON-able data; ``device`` (cuda, jax-cpu) adds bpnn's
    JAX program and PyTorch on that device (``device_timing``)."""
    folder = find_mnist(data_dir)
    images, labels = load_mnist(folder, "train")
    n = len(images)
    load_before = os.getloadavg()
    log(f"bench: {n} training images from {folder}; matrix product rate ...")
    peak = matmul_gflops(512 if quick else 2048)
    results = time_rows(images, labels, epochs, quick, log) + peer_rows(
        images, labels, epochs, quick, torch, log
    )
    flops = epoch_flops(SIZES, n)
    for r in results:
        r["gflops"] = flops / r["seconds_per_epoch"] / 1e9
        r["percent_of_matmul"] = 100 * r["gflops"] / peak
    if device != "cpu":  # other network sizes: no flop rate
        results += device_peer_rows(images, labels, device, 1 if quick else epochs, quick, torch)
    report = {
        "machine": machine(),
        "load_average": {"start": load_before, "end": os.getloadavg()},
        "data": {"folder": str(folder), "training_images": n},
        "network": {"sizes": list(SIZES), "dtype": "float32"},
        "flops_per_epoch": flops,
        "matmul_gflops": peak,
        "results": results,
        "ratios": ratios(results),
    }
    if memory:
        log("  peak memory of one-epoch training runs ...")
        report["peak_rss_mb"] = {p: peak_rss_mb(p, folder, quick) for p in ("tutorial", "fast")}
    report["targets"] = targets(report)
    return report


def peer_rows(images, labels, epochs: int, quick: bool, torch: bool, log) -> list[dict]:
    """The tutorial-style loop, PyTorch and scikit-learn on images (n, 784) uint8, labels (n,)."""

    def sub(k: int) -> int:
        return min(len(images), k // 10 if quick else k)

    e = 1 if quick else epochs
    runs = [lambda: time_tutorial_loop(images, labels, sub(1000))]
    if torch and _importable("torch"):
        runs.append(lambda: time_torch(images, labels, sub(60000), e, per_sample=False))
        runs.append(lambda: time_torch(images, labels, sub(2000), 1, per_sample=True))
    if _importable("sklearn"):
        runs.append(lambda: time_sklearn(images, labels, sub(60000)))
    rows = []
    for timed in runs:
        rows.append(timed())
        log(f"  {rows[-1]['name']}: {rows[-1]['seconds_per_epoch']:.3f} s/epoch")
    return rows


def device_peer_rows(images, labels, device: str, epochs: int, quick: bool, torch: bool) -> list:
    """bpnn's JAX program and PyTorch eager on ``device``, each workload of ``device_timing``."""
    from device_timing import device_workloads

    n = len(images)
    n_timed = n // 10 if quick else n
    return [
        _row(name, seconds * n_timed / n, n_timed, n, how)
        for name, seconds, how in device_workloads(images, labels, device, epochs, n_timed, torch)
    ]


def _row(name: str, seconds: float, n_timed: int, n: int, path: str) -> dict:
    """A result row in ``bpnn bench``'s form: ``seconds`` on ``n_timed`` samples, scaled to n."""
    return {
        "name": name,
        "seconds_per_epoch": seconds * n / n_timed,
        "samples_timed": n_timed,
        "epoch_samples": n,
        "path": path,
        "extrapolated": n_timed < n,
    }


def targets(report: dict) -> dict:
    """The speed goals, each met or not in this run (absent when not measured)."""
    r, out = report["ratios"], {}
    for key in ("per-sample / torch mini-batch", "mini-batch / torch mini-batch"):
        if key in r:
            out[f"{key} <= 0.5"] = r[key] <= 0.5
    for key, value in r.items():
        if key.startswith("JAX cuda / torch"):
            out[f"{key} <= 0.1"] = value <= 0.1
    for preset, mb in (report.get("peak_rss_mb") or {}).items():
        if mb is not None:
            out[f"peak RSS {preset} <= 400 MB"] = mb <= 400
    return out


def epoch_flops(sizes, n_samples: int = 60000) -> float:
    """Dense flops of one training epoch: forward, weight gradients, hidden deltas."""
    weights = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    deltas = sum(a * b for a, b in zip(sizes[1:-1], sizes[2:]))
    return float(n_samples * (4 * weights + 2 * deltas))


RATIOS = {
    "per-sample / torch mini-batch": ("bpnn per-sample SGD", "PyTorch mini-batch"),
    "mini-batch / torch mini-batch": ("bpnn mini-batch", "PyTorch mini-batch"),
    "per-sample / torch per-sample": ("bpnn per-sample SGD", "PyTorch per-sample"),
    "per-sample / tutorial-style loop": ("bpnn per-sample SGD", "tutorial-style NumPy loop"),
    "per-sample / reference NumPy per-sample": (
        "bpnn per-sample SGD",
        "bpnn reference NumPy per-sample",
    ),
    "mini-batch / reference NumPy mini-batch": (
        "bpnn mini-batch",
        "bpnn reference NumPy mini-batch",
    ),
    "mini-batch / scikit-learn": ("bpnn mini-batch", "scikit-learn MLPClassifier"),
}


def ratios(results: list[dict]) -> dict:
    """Each comparison of ``RATIOS`` measured in this run, as a ratio of seconds per epoch."""
    t = {r["name"]: r["seconds_per_epoch"] for r in results}
    out = {k: t[a] / t[b] for k, (a, b) in RATIOS.items() if a in t and b in t}
    for name in t:  # "bpnn JAX cuda W" against "PyTorch cuda W" (jax-cpu: "PyTorch cpu W")
        if name.startswith("bpnn JAX "):
            device, workload = name[len("bpnn JAX ") :].split(" ", 1)
            peer_device = "cpu" if device == "jax-cpu" else device
            peer = f"PyTorch {peer_device} {workload}"
            if peer in t:
                out[f"JAX {device} / torch {peer_device}, {workload}"] = t[name] / t[peer]
    return out


# ---- the peers -----------------------------------------------------------------------------
def time_tutorial_loop(images, labels, n_timed) -> dict:
    """The tutorial's vectorised code: column vectors, float64, one sample at a time."""
    rng = np.random.default_rng(0)
    layers = [TutorialLayer(a, b, rng) for a, b in zip(SIZES[:-1], SIZES[1:])]
    rows = one_hot(labels, SIZES[-1], TARGET_ON, TARGET_OFF)
    start = time.perf_counter()
    for i in range(n_timed):
        x = images[i].reshape(-1, 1) / 255.0
        label = rows[i].reshape(-1, 1)
        for layer in layers:
            layer.forward(x)
            x = layer.output
        delta = x * (1 - x) * (label - x)
        for layer in reversed(layers):
            layer.backward(delta)
            delta = layer.delta
        for layer in layers:
            layer.update(0.3)
    seconds = time.perf_counter() - start
    name = "tutorial-style NumPy loop"
    return _row(name, seconds, n_timed, len(images), "float64 column vectors")


class TutorialLayer:
    """The tutorial's FullConnectedLayer, as written there (W: (out, in), column vectors)."""

    def __init__(self, n_in, n_out, rng):
        self.W = rng.uniform(-0.1, 0.1, (n_out, n_in))
        self.b = np.zeros((n_out, 1))

    def forward(self, input_array):
        self.input = input_array
        self.output = 1.0 / (1.0 + np.exp(-(np.dot(self.W, input_array) + self.b)))

    def backward(self, delta_array):
        self.delta = self.input * (1 - self.input) * np.dot(self.W.T, delta_array)
        self.W_grad = np.dot(delta_array, self.input.T)
        self.b_grad = delta_array

    def update(self, learning_rate):
        self.W += learning_rate * self.W_grad
        self.b += learning_rate * self.b_grad


def time_torch(images, labels, n_timed, epochs, *, per_sample) -> dict:
    """PyTorch on the CPU, data preloaded as float tensors; same nets, rates and batches."""
    import torch

    torch.manual_seed(0)
    X = torch.from_numpy(images.astype(np.float32) / np.float32(255))
    y = torch.from_numpy(labels.astype(np.int64))
    if per_sample:
        model = torch.nn.Sequential(
            torch.nn.Linear(784, 300),
            torch.nn.Sigmoid(),
            torch.nn.Linear(300, 10),
            torch.nn.Sigmoid(),
        )
        T = torch.from_numpy(one_hot(labels, 10, TARGET_ON, TARGET_OFF, np.float32))
        opt, batch = torch.optim.SGD(model.parameters(), lr=0.3), 1

        def loss_fn(out, idx):
            return 0.5 * ((out - T[idx]) ** 2).sum()

    else:
        model = torch.nn.Sequential(
            torch.nn.Linear(784, 300), torch.nn.ReLU(), torch.nn.Linear(300, 10)
        )
        ce = torch.nn.CrossEntropyLoss()
        opt, batch = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9), 128

        def loss_fn(out, idx):
            return ce(out, y[idx])

    def epoch(order, n):
        start = time.perf_counter()
        for s in range(0, n, batch):
            idx = order[s : min(s + batch, n)]
            opt.zero_grad(set_to_none=True)
            loss_fn(model(X[idx]), idx).backward()
            opt.step()
        return time.perf_counter() - start

    epoch(torch.randperm(len(labels)), min(50 * batch, n_timed))  # warm-up
    best = min(epoch(torch.randperm(len(labels)), n_timed) for _ in range(epochs))
    name = "PyTorch per-sample" if per_sample else "PyTorch mini-batch"
    how = f"torch {torch.__version__}, {torch.get_num_threads()} threads"
    return _row(name, best, n_timed, len(images), how)


def time_sklearn(images, labels, n_timed) -> dict:
    """scikit-learn's MLPClassifier: one epoch of batch 128, ReLU, momentum SGD."""
    import sklearn
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    X = images[:n_timed].astype(np.float32) / np.float32(255)
    clf = MLPClassifier(
        hidden_layer_sizes=(300,),
        batch_size=128,
        max_iter=1,
        solver="sgd",
        learning_rate_init=0.1,
        momentum=0.9,
        random_state=0,
    )
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, labels[:n_timed])
    seconds = time.perf_counter() - start
    name, how = "scikit-learn MLPClassifier", f"scikit-learn {sklearn.__version__}"
    return _row(name, seconds, n_timed, len(images), how)


# ---- the machine ---------------------------------------------------------------------------
def matmul_gflops(n: int = 2048, seconds: float = 1.0) -> float:
    """Best single-precision GFLOP/s of NumPy's (n, n) @ (n, n) product over ~``seconds``."""
    rng = np.random.default_rng(0)
    A, B = rng.random((n, n), dtype=np.float32), rng.random((n, n), dtype=np.float32)
    C = np.empty_like(A)
    np.matmul(A, B, out=C)
    best, spent = float("inf"), 0.0
    while spent < seconds:
        start = time.perf_counter()
        np.matmul(A, B, out=C)
        took = time.perf_counter() - start
        best, spent = min(best, took), spent + took
    return 2 * n**3 / best / 1e9


# The child reports its own peak: a forked child's ru_maxrss counts its parent's pages too.
_REPORT_PEAK = (
    "import sys\nfrom bpnn.cli import main\nrc = main(sys.argv[1:])\n"
    "for line in open('/proc/self/status'):\n"
    "    if line.startswith('VmHWM:'):\n"
    "        sys.stderr.write('\\nVmHWM ' + line.split()[1] + '\\n')\n"
    "sys.exit(rc)\n"
)


def peak_rss_mb(preset: str, folder, quick: bool) -> float | None:
    """Peak RSS (MB, Linux's VmHWM) of ``bpnn train --preset PRESET --epochs 1`` in a child."""
    if not Path("/proc/self/status").exists():
        return None
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-c", _REPORT_PEAK, "train", "--preset", preset, "--epochs", "1"]
        cmd += ["--data", str(folder), "--out", str(Path(tmp) / "run"), "--no-report", "--json"]
        if quick:
            cmd += ["--limit", "1000", "--val-size", "100"]
        child = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peaks = [line.split()[1] for line in child.stderr.splitlines() if line.startswith("VmHWM ")]
    if child.returncode != 0 or not peaks:
        return None
    return int(peaks[-1]) / 1024  # kB


def machine() -> dict:
    """What the numbers depend on: CPU, cores, library versions, BLAS threads and settings."""
    info = {
        "cpu": _cpu_name(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "env": {
            k: v
            for k, v in os.environ.items()
            if k.startswith("OPENBLAS") or k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")
        },
    }
    for name in ("numba", "torch", "scikit-learn"):  # versions without importing them
        try:
            info[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    info["blas"] = _openblas()
    return info


def _openblas() -> dict | None:
    """Threads and kernel of the OpenBLAS inside NumPy's wheel (threadpoolctl is not needed)."""
    import ctypes
    import glob

    libs = glob.glob(str(Path(np.__file__).parent.parent / "numpy.libs" / "*openblas*"))
    for path in libs:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix in ("scipy_openblas_", "openblas_"):
            for suffix in ("64_", ""):
                threads = getattr(lib, f"{prefix}get_num_threads{suffix}", None)
                core = getattr(lib, f"{prefix}get_corename{suffix}", None)
                if threads and core:
                    core.restype = ctypes.c_char_p
                    return {
                        "library": Path(path).name,
                        "threads": threads(),
                        "kernel": core().decode(),
                    }
    return None


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _importable(name: str) -> bool:
    try:
        __import__(name)
    except Exception:  # a broken install counts as absent: it is only a comparison
        return False
    return True


# ---- output --------------------------------------------------------------------------------
def format_table(report: dict) -> str:
    """The report as the text table ``benchmarks/bench.py`` prints."""
    lines = _header(report) + [
        "",
        f"{'workload':36s} {'s/epoch':>9s} {'GFLOP/s':>8s} {'% peak':>7s}  measured on",
    ]
    for r in report["results"]:
        rate = (  # the device workloads' networks are other sizes: no rate for them
            f"{r['gflops']:8.1f} {r['percent_of_matmul']:6.1f}%"
            if "gflops" in r
            else f"{'-':>8s} {'-':>7s}"
        )
        lines.append(f"{r['name']:36s} {r['seconds_per_epoch']:9.3f} {rate}  {measured_on(r)}")
    lines += ["", "ratios (seconds per epoch, this run):"]
    lines += [f"  {k:42s} {v:8.3f}" for k, v in report["ratios"].items()]
    if "peak_rss_mb" in report:
        lines.append("")
        for preset, mb in report["peak_rss_mb"].items():
            text = "failed" if mb is None else f"{mb:.0f} MB"
            lines.append(f"peak RSS, one-epoch `bpnn train --preset {preset}`: {text}")
    if report.get("targets"):
        met = (f"{k}: {'met' if ok else 'NOT met'}" for k, ok in report["targets"].items())
        lines += ["", "targets: " + "; ".join(met)]
    return "\n".join(lines)


def _header(report: dict) -> list[str]:
    """The machine, its load and the workload, in three lines."""
    m = report["machine"]
    blas = m.get("blas") or {}
    return [
        f"{m['cpu']}, {m['cores']} cores; numpy {m['numpy']}"
        + (f" (OpenBLAS {blas['kernel']} kernel, {blas['threads']} threads)" if blas else "")
        + (f", numba {m['numba']}" if "numba" in m else "")
        + (f", torch {m['torch']}" if "torch" in m else "")
        + "; "
        + (", ".join(f"{k}={v}" for k, v in m["env"].items()) or "no OPENBLAS_* set"),
        f"load average at start {report['load_average']['start'][0]:.2f}, "
        f"end {report['load_average']['end'][0]:.2f} (other work on the machine slows "
        f"every number)",
        f"{report['data']['training_images']} training images, 784-300-10 float32; "
        f"{report['flops_per_epoch'] / 1e9:.1f} GFLOP per epoch; "
        f"matrix product {report['matmul_gflops']:.0f} GFLOP/s",
    ]
