"""Seconds per MNIST epoch of the device workloads, for ``benchmarks/bench.py --device`` and
``benchmarks/gpu_check.py``: bpnn's JAX program (timed as ``bpnn bench --device`` times it) and
PyTorch eager on the same device.

Workloads (float32, ReLU, softmax cross-entropy, momentum 0.9, lr 0.1, batch 128):
``784-300-10`` and the ``best`` preset's ``784-1200-1200-10`` with dropout 0.2/0.4/0.4.
bpnn runs the trainer's chunks (32 batches a call) and syncs the weights back once an epoch;
PyTorch keeps the data on the device and launches each batch's operations from Python.
Each is the best of ``epochs`` full epochs after a warm-up (compilation).
"""

from __future__ import annotations

import time

import numpy as np

from bpnn.commands.bench import DEVICE_WORKLOADS as WORKLOADS
from bpnn.commands.bench import time_device

bpnn_epoch = time_device  # one owner of how bpnn's device epoch is timed


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
