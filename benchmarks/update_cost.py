"""What the optimisers cost on the compiled paths, next to an older bpnn and PyTorch, in one run.

    python benchmarks/update_cost.py [--data DIR] [--old REV | --old-src DIR | --baseline FILE]
                                     [--rounds N] [--epochs N] [--only NAME ...] [--no-torch]
                                     [--record FILE] [--json FILE]

Each workload is one ``bpnn train`` child process on MNIST (784-300-10; the mini-batch ones ReLU,
softmax cross-entropy, batch 128, no evaluation; per-sample: ``--preset tutorial``); its figure
is its fastest epoch after the first (which compiles or loads the kernels).  This checkout and
the old code (a git revision, exported to a temporary folder, or a ``src`` folder) run
alternately, the order swapped every round, so a busy machine slows both alike; each figure is
the minimum over the rounds, with the spread (max - min) beside it.  A workload more than 5%
slower than the old code (``--threshold``) is flagged and the exit status is 1.  Without an old
version, ``--baseline`` compares with figures ``--record`` wrote earlier on the same machine.

PyTorch (CPU, when importable) trains the same network with plain SGD at batch 128, data
preloaded as tensors, in its own child process: the ratios bpnn/PyTorch are of the same rounds.
The machine (CPU model, OPENBLAS_CORETYPE, threads, load average) is printed with the table.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data" / "mnist"
NET = ["--layers", "784,300,10", "--activation", "relu", "--output", "softmax"]
BATCH = [*NET, "--loss", "cross_entropy", "--batch-size", "128", "--eval-every", "10"]
# name -> (bpnn train arguments, whether the old code can run it)
WORKLOADS = {
    "sgd": ([*BATCH, "--optimizer", "sgd", "--lr", "0.1"], True),
    "momentum": ([*BATCH, "--optimizer", "momentum", "--lr", "0.1"], True),
    "nesterov": ([*BATCH, "--optimizer", "nesterov", "--lr", "0.1"], True),
    "adam": ([*BATCH, "--optimizer", "adam", "--lr", "0.001"], True),
    "momentum-jax-cpu": (
        [*BATCH, "--optimizer", "momentum", "--lr", "0.1", "--device", "jax-cpu"],
        False,
    ),
    "per-sample": (["--preset", "tutorial"], True),
    "per-sample-hogwild": (["--preset", "tutorial", "--parallel-samples", "2"], False),
}
EPOCH_LINE = re.compile(r"^epoch\s+(\d+)\b.*?([0-9.]+)s\s*$")


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="update_cost", description=__doc__.splitlines()[0])
    p.add_argument("--data", default=os.environ.get("BPNN_DATA") or str(SHARED))
    old = p.add_mutually_exclusive_group()
    old.add_argument("--old", metavar="REV", help="git revision to compare with (e.g. 90199b6)")
    old.add_argument("--old-src", metavar="DIR", help="an older bpnn's src folder")
    old.add_argument("--baseline", metavar="FILE", help="figures written by --record")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--epochs", type=int, default=3, help="epochs per run (>= 2)")
    p.add_argument("--only", nargs="+", choices=[*WORKLOADS, "torch"], help="these workloads")
    p.add_argument("--no-torch", action="store_true")
    p.add_argument("--threshold", type=float, default=0.05, help="slowdown flagged (0.05: 5%%)")
    p.add_argument("--record", metavar="FILE", help="write this checkout's figures here")
    p.add_argument("--json", metavar="FILE", help="write every epoch time here")
    p.add_argument("--torch-epochs", type=int, help=argparse.SUPPRESS)  # the PyTorch child
    args = p.parse_args(argv)
    if args.epochs < 2:
        p.error("--epochs must be at least 2 (the first epoch compiles)")
    return args


def machine() -> dict:
    """What the figures were measured on."""
    model = ""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        model = next(
            (
                line.split(":", 1)[1].strip()
                for line in out.splitlines()
                if line.startswith("Model name")
            ),
            "",
        )
    except OSError:
        pass
    env = {
        k: os.environ.get(k, "unset")
        for k in (
            "OPENBLAS_CORETYPE",
            "OPENBLAS_NUM_THREADS",
            "NUMBA_NUM_THREADS",
            "OMP_NUM_THREADS",
        )
    }
    return {"cpu": model, "cores": os.cpu_count(), **env, "load": loadavg()}


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def epoch_times(src: Path, argv: list[str], data: str, epochs: int) -> list[float]:
    """Seconds of each epoch of one ``bpnn train`` run of the code in ``src``."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [
            sys.executable,
            "-m",
            "bpnn",
            "train",
            "--data",
            data,
            *argv,
            "--epochs",
            str(epochs),
            "--out",
            str(Path(tmp) / "run"),
            "--no-report",
        ]
        env = {**os.environ, "PYTHONPATH": str(src)}
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
        times = recorded_times(Path(tmp) / "run" / "history.json") or [
            float(m[2]) for line in done.stdout.splitlines() if (m := EPOCH_LINE.match(line))
        ]
    if done.returncode != 0 or len(times) != epochs:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:]
        raise SystemExit(f"{' '.join(argv)} ({src}): exit {done.returncode}: {tail}")
    return times


def recorded_times(history: Path) -> list[float]:
    """Each epoch's seconds as the run folder records them (0.1 ms; the log rounds to 10 ms),
    or [] where the run wrote none."""
    try:
        return [float(e["seconds"]) for e in json.loads(history.read_text())["epochs"]]
    except (OSError, ValueError, KeyError, TypeError):
        return []


def torch_epochs(data: str, epochs: int) -> list[float]:
    """PyTorch: 784-300-10 ReLU, softmax cross-entropy, plain SGD 0.1, batch 128 (this child)."""
    import numpy as np
    import torch

    from bpnn.data.folder import load_mnist

    images, labels = load_mnist(data)
    X = torch.from_numpy(images[:54000].astype(np.float32) / 255)
    y = torch.from_numpy(labels[:54000].astype(np.int64))
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(784, 300), torch.nn.ReLU(), torch.nn.Linear(300, 10)
    )
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    loss_fn = torch.nn.CrossEntropyLoss()
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        order = torch.randperm(len(X))
        for i in range(0, len(X), 128):
            b = order[i : i + 128]
            opt.zero_grad()
            loss_fn(model(X[b]), y[b]).backward()
            opt.step()
        times.append(time.perf_counter() - start)
    return times


def run_torch(data: str, epochs: int) -> list[float]:
    cmd = [sys.executable, __file__, "--data", data, "--torch-epochs", str(epochs)]
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(f"PyTorch: {(done.stderr.strip().splitlines() or ['?'])[-1]}")
    return json.loads(done.stdout)


def old_source(args: argparse.Namespace, tmp: Path) -> Path | None:
    """The old code's src folder: exported from git, or as given."""
    if args.old_src:
        return Path(args.old_src).resolve()
    if not args.old:
        return None
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", args.old, "src"], capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(tmp)], input=archive, check=True)
    return tmp / "src"


def measure(args: argparse.Namespace, old: Path | None) -> dict:
    """{(version, workload): [fastest epoch after the first, one per round]}."""
    names = args.only or [*WORKLOADS, "torch"]
    has_torch = "torch" in names and not args.no_torch and _importable("torch")
    new = REPO / "src"
    results: dict = {}
    for r in range(args.rounds):
        for name in (n for n in names if n in WORKLOADS):
            argv, old_runs = WORKLOADS[name]
            versions = [("new", new)] + ([("old", old)] if old and old_runs else [])
            for version, src in versions if r % 2 else versions[::-1]:
                times = epoch_times(src, argv, args.data, args.epochs)
                results.setdefault((version, name), []).append(min(times[1:]))
                print(
                    f"round {r + 1} {version:3} {name:19} {min(times[1:]):.3f}s"
                    f"  (load {loadavg()})",
                    file=sys.stderr,
                )
        if has_torch:
            times = run_torch(args.data, args.epochs)
            results.setdefault(("torch", "torch"), []).append(min(times[1:]))
            print(f"round {r + 1} PyTorch batch 128     {min(times[1:]):.3f}s", file=sys.stderr)
    return results


def _importable(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def report(args: argparse.Namespace, results: dict, baseline: dict | None) -> int:
    """Print the table; returns the number of workloads flagged slower."""

    def cell(xs):
        return f"{min(xs):.3f} (+{max(xs) - min(xs):.3f})" if xs else "-"

    torch = min(results.get(("torch", "torch"), [float("nan")]))
    flagged = 0
    print(f"{'workload':20} {'old s':>16} {'new s':>16} {'change':>8} {'new/PyTorch':>11}")
    for name in WORKLOADS:
        new = results.get(("new", name))
        if not new:
            continue
        old = results.get(("old", name)) or (
            [baseline[name]] if baseline and name in baseline else []
        )
        change, flag = "", ""
        if old:
            ratio = min(new) / min(old) - 1
            change = f"{ratio:+.1%}"
            if ratio > args.threshold:
                flag, flagged = "  SLOWER", flagged + 1
        print(
            f"{name:20} {cell(old):>16} {cell(new):>16} {change:>8} "
            f"{min(new) / torch:>10.2f}x{flag}"
        )
    if ("torch", "torch") in results:
        print(f"{'PyTorch batch 128':20} {'':>16} {cell(results[('torch', 'torch')]):>16}")
    print("machine:", json.dumps(machine()))
    return flagged


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.torch_epochs:
        print(json.dumps(torch_epochs(args.data, args.torch_epochs)))
        return 0
    baseline = json.loads(Path(args.baseline).read_text())["seconds"] if args.baseline else None
    print("machine at the start:", json.dumps(machine()), file=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        results = measure(args, old_source(args, Path(tmp)))
    flagged = report(args, results, baseline)
    if args.record:
        best = {name: min(xs) for (version, name), xs in results.items() if version == "new"}
        Path(args.record).write_text(json.dumps({"machine": machine(), "seconds": best}, indent=1))
    if args.json:
        rows = [{"version": v, "workload": n, "seconds": xs} for (v, n), xs in results.items()]
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 1 if flagged else 0


if __name__ == "__main__":
    sys.exit(main())
