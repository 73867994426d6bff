"""The GPU check of issue 11, in one run of a few minutes; prints one JSON summary.

    python benchmarks/gpu_check.py /path/to/mnist            # on a machine with a CUDA GPU
    python benchmarks/gpu_check.py /path/to/mnist --quick --device cpu   # smoke test, no GPU

Needs bpnn with JAX and its CUDA plugin (``pip install 'bpnn[gpu]'``), PyTorch (for the side by
side timings) and the four MNIST files.  Sections, each in its own try/except (a failure is
reported in the summary, the others still run):

1. ``environment``: versions and the devices JAX sees;
2. ``agreement``: the JAX program on the device and the NumPy reference on the CPU, from the same
   weights on the same batches (784-300-10 ReLU/cross-entropy with momentum and with Adam, and
   the tutorial's sigmoid/squared-error net), weights compared after 3 chunks;
3. ``timings``: seconds per epoch of bpnn's JAX program and PyTorch eager on the same device,
   784-300-10 and 784-1200-1200-10 with dropout, batch 128, and their ratios (target <= 0.1);
4. ``best_preset``: ``bpnn train --preset best --device cuda`` (120 epochs; target: test error
   <= 1.2% in under 15 s of training).

``--device cpu`` runs the same JAX program on JAX's CPU backend instead (and PyTorch on the CPU);
``--quick`` uses small subsets and two epochs of the preset.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

# this checkout's bpnn, installed or not (also for the child processes it starts)
SRC = str(Path(__file__).resolve().parents[1] / "src")
sys.path.insert(0, SRC)
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [SRC, os.environ.get("PYTHONPATH")]))
import os
import subprocess
import sys
import tempfile
import time
import traceback

os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")  # leave PyTorch its memory

import numpy as np


def section(summary: dict, name: str, fn, *args) -> None:
    """Run one section; its result or its error goes into the summary."""
    start = time.perf_counter()
    print(f"gpu_check: {name} ...", file=sys.stderr, flush=True)
    try:
        summary[name] = fn(*args)
    except Exception as exc:
        summary[name] = {"error": f"{type(exc).__name__}: {exc}"}
        traceback.print_exc(file=sys.stderr)
    summary[name + "_seconds"] = round(time.perf_counter() - start, 1)


def environment(device: str) -> dict:
    import jax

    from bpnn.device import cuda_problem, default_threads

    info = {
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "jax": jax.__version__,
        "jax_devices": [str(d) for d in jax.devices()],
        "cuda_problem": cuda_problem(),
        "cpu_threads": default_threads(),
        "device": device,
    }
    try:
        import torch

        info["torch"] = torch.__version__
        info["torch_cuda"] = torch.cuda.is_available()
    except Exception as exc:
        info["torch"] = f"not usable: {exc}"
    return info


def agreement(images, labels, device: str, quick: bool) -> dict:
    """Max differences after 3 chunks of 4096 (1024 quick) between the device and NumPy."""
    from bpnn.network import Network
    from bpnn.optim import make_optimizer
    from bpnn.steppers import make_stepper

    cases = {
        "relu-ce-momentum": dict(activation="relu", loss="cross_entropy", opt="momentum", lr=0.1),
        "relu-ce-adam": dict(activation="relu", loss="cross_entropy", opt="adam", lr=1e-3),
        "sigmoid-squared-sgd": dict(activation="sigmoid", loss="squared", opt="sgd", lr=0.3),
    }
    chunk = 1024 if quick else 4096
    out = {}
    for name, c in cases.items():
        nets = [
            Network(
                [784, 300, 10], activation=c["activation"], loss=c["loss"], dtype=np.float32, seed=0
            )
        ]
        nets.append(nets[0].copy())
        opts = [make_optimizer(c["opt"], c["lr"], weight_decay=1e-4) for _ in range(2)]
        kw = dict(scale=1 / 255)
        ref = make_stepper(
            nets[0], opts[0], images, labels, 128, np.random.default_rng(0), reference=True, **kw
        )
        dev = make_stepper(
            nets[1], opts[1], images, labels, 128, np.random.default_rng(0), device=device, **kw
        )
        order = np.random.default_rng(1).permutation(len(images))
        losses = []
        for k in range(3):
            idx = order[k * chunk : (k + 1) * chunk - (5 if k == 2 else 0)]  # a short last batch
            losses.append((ref(idx), dev(idx)))
        diffs = [np.abs(p - q).max() for p, q in zip(nets[0].params(), nets[1].params())]
        scale = max(np.abs(p).max() for p in nets[0].params())
        ok = all(
            np.allclose(q, p, rtol=1e-3, atol=1e-5)
            for p, q in zip(nets[0].params(), nets[1].params())
        )
        out[name] = {
            "max_abs_diff": float(max(diffs)),
            "largest_weight": float(scale),
            "losses_numpy_device": [[float(a), float(b)] for a, b in losses],
            "agree": bool(ok),
            "stepper": dev.name,
        }
    return out


def timings(images, labels, device: str, quick: bool) -> dict:
    from device_timing import device_workloads

    n = 6000 if quick else None
    rows = device_workloads(images, labels, device, epochs=1 if quick else 3, n=n)
    result = {name: {"seconds_per_epoch": round(s, 4), "how": how} for name, s, how in rows}
    ratios = {}
    for name, s, _ in rows:
        if name.startswith("bpnn JAX"):
            workload = name.split(" ", 3)[3]
            peer = next(
                (
                    t
                    for other, t, _ in rows
                    if other.startswith("PyTorch") and other.endswith(workload)
                ),
                None,
            )
            if peer:
                ratios[f"bpnn / PyTorch, {workload}"] = round(s / peer, 4)
    result["ratios"] = ratios
    result["targets"] = {k + " <= 0.1": v <= 0.1 for k, v in ratios.items()}
    return result


def best_preset(data: str, device: str, quick: bool) -> dict:
    """``bpnn train --preset best`` on the device in a child process; its JSON results."""
    dev = "cuda" if device == "cuda" else "jax-cpu"
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [
            sys.executable,
            "-m",
            "bpnn",
            "train",
            "--preset",
            "best",
            "--device",
            dev,
            "--data",
            data,
            "--out",
            os.path.join(tmp, "run"),
            "--no-report",
            "--json",
        ]
        if quick:
            cmd += ["--epochs", "2", "--limit", "3000", "--val-size", "500"]
        start = time.perf_counter()
        child = subprocess.run(cmd, capture_output=True, text=True, timeout=420)
        wall = time.perf_counter() - start
    if child.returncode != 0:
        return {"error": child.stderr.strip().splitlines()[-1:] or child.returncode}
    r = json.loads(child.stdout.strip().splitlines()[-1])
    out = {
        "test_error": r.get("test_error"),
        "training_seconds": r.get("seconds"),
        "epochs": r.get("epochs"),
        "stepper": r.get("stepper"),
        "wall_seconds": round(wall, 1),
    }
    if not quick:
        out["targets"] = {
            "test error <= 1.2%": r.get("test_error", 1) <= 0.012,
            "training < 15 s": r.get("seconds", 1e9) < 15,
        }
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("data", help="folder with the four MNIST files")
    p.add_argument(
        "--device",
        choices=("cuda", "cpu"),
        default="cuda",
        help="cuda (default) or cpu: the JAX program on JAX's CPU backend",
    )
    p.add_argument("--quick", action="store_true", help="small subsets: a smoke test")
    p.add_argument("--skip", default="", help="comma-separated sections to skip")
    args = p.parse_args(argv)
    device = "cuda" if args.device == "cuda" else "jax-cpu"
    skip = set(filter(None, args.skip.split(",")))
    if device == "cuda":  # without a GPU every section would fail: say so once
        from bpnn.device import DeviceError, resolve_device

        try:
            resolve_device("cuda", "float32")
        except DeviceError as exc:
            print(f"gpu_check: {exc} (--device cpu: JAX's CPU backend)", file=sys.stderr)
            return 2
    summary: dict = {"quick": args.quick}
    section(summary, "environment", environment, device)
    try:
        from bpnn.data import find_mnist, load_mnist

        images, labels = load_mnist(find_mnist(args.data), "train")
        if args.quick:
            images, labels = images[:6000], labels[:6000]
    except Exception as exc:
        summary["data"] = {"error": f"{type(exc).__name__}: {exc}"}
        images = labels = None
    if images is not None:
        if "agreement" not in skip:
            section(summary, "agreement", agreement, images, labels, device, args.quick)
        if "timings" not in skip:
            section(summary, "timings", timings, images, labels, device, args.quick)
    if "best_preset" not in skip:
        section(summary, "best_preset", best_preset, args.data, device, args.quick)
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
