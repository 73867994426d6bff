"""Optimisers and learning-rate schedules, separate from the network.

The network returns gradients; an optimiser owns the update rule and its state.  Formula 5 of the
tutorial, w <- w + eta delta x, is plain ``SGD`` on the gradient dE/dw = -delta x.

``step(params, grads)`` updates a list of arrays in place.  L2 weight decay adds
``weight_decay * w`` to the gradient of every weight matrix (arrays with ndim >= 2), not of the
biases.  State is plain arrays (``state_dict`` / ``load_state_dict``), so it can be checkpointed
without pickle.

Schedules map an epoch number (0-based) to a learning rate.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "OPTIMIZERS",
    "SCHEDULES",
    "SGD",
    "Adam",
    "Optimizer",
    "learning_rate",
    "make_optimizer",
]


class Optimizer:
    """Base class.  ``lr`` may be changed between steps (schedules do)."""

    name = "optimizer"

    def __init__(self, lr: float, weight_decay: float = 0.0):
        if not (lr > 0 and math.isfinite(lr)):
            raise ValueError(f"learning rate must be a positive number, got {lr}")
        if weight_decay < 0:
            raise ValueError(f"weight decay must be >= 0, got {weight_decay}")
        self.lr = float(lr)
        self.weight_decay = float(weight_decay)
        self.t = 0  # steps taken

    def _decayed(self, p: np.ndarray, g: np.ndarray) -> np.ndarray:
        if self.weight_decay and p.ndim >= 2:
            return g + self.weight_decay * p
        return g

    def step(self, params: list, grads: list) -> None:
        raise NotImplementedError

    def hyper(self) -> dict:
        """Hyper-parameters as JSON-able data."""
        return {"name": self.name, "lr": self.lr, "weight_decay": self.weight_decay}

    def state_dict(self) -> dict[str, np.ndarray]:
        return {"t": np.array(self.t)}

    def load_state_dict(self, state: dict) -> None:
        self.t = int(state["t"])

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v}" for k, v in self.hyper().items() if k != "name")
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """w <- w - lr * g, optionally with momentum mu: v <- mu v + g; w <- w - lr v.

    Nesterov: w <- w - lr (g + mu v) (the form PyTorch uses).  With batch size 1, mu = 0 and no
    decay this is exactly the tutorial's formula 5.
    """

    name = "sgd"

    def __init__(
        self,
        lr: float = 0.1,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
    ):
        super().__init__(lr, weight_decay)
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        if nesterov and momentum == 0:
            raise ValueError("Nesterov momentum needs momentum > 0")
        self.momentum, self.nesterov = float(momentum), bool(nesterov)
        self.velocity: list[np.ndarray] | None = None

    def step(self, params, grads):
        self.t += 1
        if self.momentum == 0:
            for p, g in zip(params, grads):
                p -= self.lr * self._decayed(p, g)
            return
        if self.velocity is None:
            self.velocity = [np.zeros_like(p) for p in params]
        mu = self.momentum
        for p, g, v in zip(params, grads, self.velocity):
            g = self._decayed(p, g)
            v *= mu
            v += g
            p -= self.lr * (g + mu * v if self.nesterov else v)

    def hyper(self):
        return {**super().hyper(), "momentum": self.momentum, "nesterov": self.nesterov}

    def state_dict(self):
        state = super().state_dict()
        for i, v in enumerate(self.velocity or []):
            state[f"velocity.{i}"] = v
        return state

    def load_state_dict(self, state):
        super().load_state_dict(state)
        n = sum(1 for k in state if k.startswith("velocity."))
        self.velocity = [np.array(state[f"velocity.{i}"]) for i in range(n)] or None


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015) with bias correction; L2 decay added to the gradient."""

    name = "adam"

    def __init__(
        self,
        lr: float = 1e-3,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ):
        super().__init__(lr, weight_decay)
        if not (0 <= beta1 < 1 and 0 <= beta2 < 1):
            raise ValueError(f"Adam betas must be in [0, 1), got {beta1}, {beta2}")
        self.beta1, self.beta2, self.eps = float(beta1), float(beta2), float(eps)
        self.m: list[np.ndarray] | None = None
        self.v: list[np.ndarray] | None = None

    def step(self, params, grads):
        if self.m is None:
            self.m = [np.zeros_like(p) for p in params]
            self.v = [np.zeros_like(p) for p in params]
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        step = self.lr * math.sqrt(1 - b2**self.t) / (1 - b1**self.t)
        for p, g, m, v in zip(params, grads, self.m, self.v):
            g = self._decayed(p, g)
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * (g * g)
            p -= step * m / (np.sqrt(v) + self.eps)

    def hyper(self):
        return {**super().hyper(), "beta1": self.beta1, "beta2": self.beta2, "eps": self.eps}

    def state_dict(self):
        state = super().state_dict()
        for i, (m, v) in enumerate(zip(self.m or [], self.v or [])):
            state[f"m.{i}"], state[f"v.{i}"] = m, v
        return state

    def load_state_dict(self, state):
        super().load_state_dict(state)
        n = sum(1 for k in state if k.startswith("m."))
        self.m = [np.array(state[f"m.{i}"]) for i in range(n)] or None
        self.v = [np.array(state[f"v.{i}"]) for i in range(n)] or None


OPTIMIZERS = {"sgd": SGD, "momentum": SGD, "nesterov": SGD, "adam": Adam}


def make_optimizer(name: str, lr: float, **kwargs) -> Optimizer:
    """Build an optimiser by name: sgd, momentum (SGD, mu 0.9), nesterov, adam."""
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")
    if name in ("momentum", "nesterov"):
        kwargs.setdefault("momentum", 0.9)
        kwargs["nesterov"] = name == "nesterov"
    return OPTIMIZERS[name](lr=lr, **kwargs)


# ---- learning-rate schedules: (base_lr, epoch, total_epochs, **options) -> lr ---------------
def _constant(base, epoch, total, **_):
    return base


def _step(base, epoch, total, step_size=10, gamma=0.5, **_):
    return base * gamma ** (epoch // step_size)


def _exponential(base, epoch, total, gamma=0.95, **_):
    return base * gamma**epoch


def _cosine(base, epoch, total, min_lr=0.0, **_):
    return min_lr + 0.5 * (base - min_lr) * (
        1 + math.cos(math.pi * min(epoch, total) / max(total, 1))
    )


SCHEDULES = {"constant": _constant, "step": _step, "exponential": _exponential, "cosine": _cosine}


def learning_rate(schedule: str, base_lr: float, epoch: int, total_epochs: int, **options) -> float:
    """The learning rate for 0-based ``epoch`` under the named schedule."""
    try:
        fn = SCHEDULES[schedule]
    except KeyError:
        raise ValueError(
            f"unknown schedule {schedule!r}; choose one of {', '.join(SCHEDULES)}"
        ) from None
    return float(fn(base_lr, epoch, total_epochs, **options))
