"""Seconds per MNIST epoch of the device workloads, for ``bpnn bench --device`` and
``benchmarks/gpu_check.py``: bpnn's JAX program and PyTorch eager on the same device.

Workloads (float32, ReLU, softmax cross-entropy, momentum 0.9, lr 0.1, batch 128):
``784-300-10`` and the ``best`` preset's ``784-1200-1200-10`` with dropout 0.2/0.4/0.4.
bpnn runs the trainer's chunks (32 batches a call) and syncs the weights back once an epoch;
PyTorch keeps the data on the device and launches each batch's operations from Python.
Each is the best of ``epochs`` full epochs after a warm-up (compilation).
"""

from __future__ import annotations

import time

import numpy as np

from ..network import Network
from ..optim import make_optimizer
from ..steppers import make_stepper

WORKLOADS = {
    "784-300-10": ([300], 0.0),
    "784-1200-1200-10 dropout": ([1200, 1200], [0.2, 0.4, 0.4]),
}
CHUNK = 4096


def bpnn_epoch(images, labels, hidden, dropout, device: str, epochs: int = 2, n=None) -> float:
    """Best seconds per epoch of bpnn on ``device`` (cpu, jax-cpu, cuda); n: samples per epoch."""
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
    sync = getattr(step, "sync", lambda: None)
    if hasattr(step, "sync"):
        step.sync_every_call = False
    chunk = 128 * (CHUNK // 128)
    order = rng.permutation(len(images))
    step(order[: min(chunk, n)])  # compiles the full chunk's program ...
    step(order[: n % chunk or chunk])  # ... and the epoch's last, shorter one
    sync()
    best = float("inf")
    for _ in range(epochs):
        order = rng.permutation(len(images))[:n]
        start = time.perf_counter()
        for s in range(0, n, chunk):
            step(order[s : s + chunk])
        sync()
        best = min(best, time.perf_counter() - start)
    return best * len(images) / n


def torch_epoch(images, labels, hidden, dropout, device: str, epochs: int = 2, n=None) -> float:
    """Best seconds per epoch of PyTorch eager on ``device`` ("cuda" or "cpu"), data there."""
    import torch

    n = len(images) if n is None else n
    torch.manual_seed(0)
    dev = torch.device(device)
    X = torch.from_numpy(images).to(dev).float() / 255
    y = torch.from_numpy(labels.astype(np.int64)).to(dev)
    drops = [0.0] + [float(dropout)] * len(hidden) if np.ndim(dropout) == 0 else list(dropout)
    layers, width = [], images.shape[1]
    for i, out in enumerate([*hidden, 10]):
        if drops[i] > 0:
            layers.append(torch.nn.Dropout(drops[i]))
        layers.append(torch.nn.Linear(width, out))
        if i < len(hidden):
            layers.append(torch.nn.ReLU())
        width = out
    model = torch.nn.Sequential(*layers).to(dev)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    ce = torch.nn.CrossEntropyLoss()

    def epoch(count):
        order = torch.randperm(len(labels), device=dev)[:count]
        if dev.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        for s in range(0, count, 128):
            idx = order[s : s + 128]
            opt.zero_grad(set_to_none=True)
            ce(model(X[idx]), y[idx]).backward()
            opt.step()
        if dev.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - start

    model.train()
    epoch(min(n, 50 * 128))  # warm-up
    return min(epoch(n) for _ in range(epochs)) * len(images) / n


def device_workloads(images, labels, device: str, epochs: int = 2, n=None, torch=True) -> list:
    """(name, seconds per epoch, what ran) for every workload: bpnn on ``device`` and, when
    PyTorch imports and ``torch``, PyTorch on the same device (cuda; jax-cpu compares with
    PyTorch on the CPU)."""
    rows = []
    torch_device = "cuda" if device == "cuda" else "cpu"
    for name, (hidden, dropout) in WORKLOADS.items():
        seconds = bpnn_epoch(images, labels, hidden, dropout, device, epochs, n)
        rows.append((f"bpnn JAX {device} {name}", seconds, f"jit(lax.scan), {device}"))
        if torch and _torch_ok(torch_device):
            seconds = torch_epoch(images, labels, hidden, dropout, torch_device, epochs, n)
            rows.append((f"PyTorch {torch_device} {name}", seconds, f"eager, {torch_device}"))
    return rows


def _torch_ok(device: str) -> bool:
    try:
        import torch
    except Exception:  # a broken install counts as absent: it is only a comparison
        return False
    return device == "cpu" or torch.cuda.is_available()
