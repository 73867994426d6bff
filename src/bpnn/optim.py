"""Optimisers and learning-rate schedules, separate from the network.

The network returns gradients; an optimiser owns the update rule and its state.  Formula 5 of the
tutorial, w <- w + eta delta x, is plain ``SGD`` on the gradient dE/dw = -delta x.

``step(params, grads)`` updates a list of arrays in place: params and grads in one layout,
[W0 (n_1, n_0), b0 (n_1,), W1, b1, ...] (``Network.params()`` and ``Network.gradient``).  L2
weight decay adds ``weight_decay * w`` to the gradient of the parameters ``decays`` names (the
weight matrices, not the biases); ``AdamW`` decays them apart from the gradient instead
(decoupled weight decay, Loshchilov & Hutter 2019).  State is plain arrays (``state_dict`` /
``load_state_dict``), so it can be checkpointed without pickle.

The compiled and device training paths (``bpnn.fast``, ``bpnn.accel``) run the same update
without reaching inside: an optimiser creates its state arrays (``state_for``) and describes each
step as numbers (``next_rule`` -> ``UpdateRule``: the kind of update and its per-step scalars,
Adam's bias-corrected step size included), which ``step`` itself uses too.  The rule is all those
paths read; a setting they do not read (``UpdateRule.ignored``) sends the run to the reference
path instead of being dropped.  A new update option is a field of ``UpdateRule`` set by the
optimiser and applied by ``step``, plus its use in the kernels and the JAX program.

Schedules map an epoch number (0-based) to a learning rate.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import MISSING, dataclass, fields, replace

import numpy as np

__all__ = [
    "OPTIMIZERS",
    "SCHEDULES",
    "SGD",
    "Adam",
    "AdamW",
    "Optimizer",
    "UpdateRule",
    "decays",
    "learning_rate",
    "make_optimizer",
]


@dataclass(frozen=True)
class UpdateRule:
    """One step of an optimiser as plain numbers, the form the compiled update kernels run.

    kind: the optimiser class's ``code`` (``SGD.code``, ``Adam.code``).  lr: the learning rate;
    weight_decay: L2 decay of the weight matrices; clip_norm: the largest global L2 norm of a
    step's gradient (0: no clipping).  SGD: momentum mu (0: none), nesterov.
    Adam: step = lr sqrt(1 - beta2^t) / (1 - beta1^t) (the bias-corrected step size of step t),
    beta1, beta2, eps.  decoupled (AdamW): the decay is not added to the gradient but taken off
    the weights before the step, w <- w - lr weight_decay w (``shrunk``).  Fields an optimiser
    does not use are 0.
    """

    kind: int
    lr: float
    weight_decay: float = 0.0
    momentum: float = 0.0
    nesterov: bool = False
    step: float = 0.0
    beta1: float = 0.0
    beta2: float = 0.0
    eps: float = 0.0
    clip_norm: float = 0.0
    decoupled: bool = False

    @property
    def plain(self) -> bool:
        """w <- w - lr g and nothing else (formula 5): SGD, every other setting at its default."""
        return self.kind == SGD.code and not self.ignored(("kind", "lr"))

    def fixed(self) -> UpdateRule:
        """The rule without the numbers that change from step to step (lr and step, zeroed):
        what a compiled program may be specialised on."""
        return replace(self, lr=0.0, step=0.0)

    def ignored(self, reads: Collection[str]) -> list[str]:
        """``name=value`` of each setting a path reading only the fields ``reads`` would drop:
        every field outside them that is not at its default (0, False; kind and lr always)."""
        return [
            f"{f.name}={getattr(self, f.name)!r}"
            for f in fields(self)
            if f.name not in reads and (f.default is MISSING or getattr(self, f.name) != f.default)
        ]

    def clip_scale(self, grads: list, xp=np):
        """The factor every gradient of a step is multiplied by: clip_norm / ||g|| when the
        global L2 norm ||g|| over all of ``grads`` (before decay) exceeds clip_norm, else 1
        (Pascanu et al. 2013; PyTorch's ``clip_grad_norm_``).  ``xp``: numpy, or jax.numpy
        inside a traced program."""
        norm = xp.sqrt(sum(xp.sum(g * g) for g in grads))
        return self.clip_norm / xp.maximum(norm, self.clip_norm)

    def clipped(self, grads: list) -> list:
        """``grads`` scaled by ``clip_scale`` (themselves when clip_norm is 0)."""
        if not self.clip_norm:
            return grads
        scale = self.clip_scale(grads)
        return [g * scale for g in grads]

    def decayed(self, p, g):
        """The gradient g of parameter p with its L2 decay: g + weight_decay p where ``decays(p)``,
        else g itself (NumPy arrays, or JAX's inside a traced program)."""
        if self.weight_decay and decays(p) and not self.decoupled:
            return g + self.weight_decay * p
        return g

    def shrunk(self, p, lr=None):
        """p after decoupled decay: p - (lr weight_decay) p where ``decoupled`` and ``decays(p)``,
        else p itself.  NumPy arrays are changed in place (the scalar lr weight_decay is formed
        in float64 and rounded once, as the kernels' coefficient is); ``lr``: the rate as a
        traced scalar inside a JAX program (default: this rule's, in place)."""
        if not (self.decoupled and self.weight_decay and decays(p)):
            return p
        if lr is None:
            p -= (self.lr * self.weight_decay) * p
            return p
        return p - (lr * self.weight_decay) * p


def decays(param) -> bool:
    """Whether L2 weight decay applies to a parameter: the weight matrices (ndim >= 2), not the
    biases.  Written here only; every path asks (only ``ndim`` is read, so JAX's arrays too)."""
    return param.ndim >= 2


def _matching(state: list | None, params: list) -> list[np.ndarray]:
    """State arrays shaped, typed and laid out (C-contiguous) like ``params``: zeros if None."""
    if state is None:
        return [np.zeros_like(p) for p in params]
    return [
        s
        if s.flags.c_contiguous and s.dtype == p.dtype and s.shape == p.shape
        else np.ascontiguousarray(s, dtype=p.dtype).reshape(p.shape)
        for s, p in zip(state, params)
    ]


class Optimizer:
    """Base class.  ``lr`` may be changed between steps (schedules do)."""

    name = "optimizer"
    code = -1  # the kind of update the compiled kernels know it by (UpdateRule.kind)

    def __init__(self, lr: float, weight_decay: float = 0.0, clip_norm: float | None = None):
        if not (lr > 0 and math.isfinite(lr)):
            raise ValueError(f"learning rate must be a positive number, got {lr}")
        if weight_decay < 0:
            raise ValueError(f"weight decay must be >= 0, got {weight_decay}")
        if clip_norm is not None and not (clip_norm > 0 and math.isfinite(clip_norm)):
            raise ValueError(f"clip norm must be a positive number, got {clip_norm}")
        self.lr = float(lr)
        self.weight_decay = float(weight_decay)
        self.clip_norm = float(clip_norm or 0.0)  # 0: no clipping
        self.t = 0  # steps taken

    def step(self, params: list, grads: list) -> None:
        """One update of params [W0, b0, ...] in place from grads dE/dw in the same layout."""
        raise NotImplementedError

    def state_for(self, params: list) -> list[list[np.ndarray]]:
        """The optimiser's state arrays for ``params``, created (zeros) when missing and kept
        shaped, typed and C-contiguous like them: one list per kind of state, each in the layout
        of ``params`` ([velocity] for SGD with momentum, [m, v] for Adam, [] when stateless)."""
        return []

    def rule(self, t: int | None = None) -> UpdateRule:
        """The update of step ``t`` (1-based; default: the next one, ``self.t + 1``)."""
        raise NotImplementedError

    def step_size(self, t: int) -> float:
        """``UpdateRule.step`` of step ``t`` alone: the one field that changes from step to step
        (the others change only when a setting does, e.g. lr between epochs), so a compiled loop
        can take the rule once per call and this number once per step.  0 here (SGD)."""
        return 0.0

    def next_rule(self) -> UpdateRule:
        """Count one step taken and return its update (what ``step`` applies)."""
        self.t += 1
        return self.rule(self.t)

    def advance(self, n: int) -> None:
        """Count ``n`` steps taken elsewhere (a compiled loop of per-sample steps)."""
        self.t += int(n)

    def hyper(self) -> dict:
        """Hyper-parameters as JSON-able data."""
        return {
            "name": self.name,
            "lr": self.lr,
            "weight_decay": self.weight_decay,
            **({"clip_norm": self.clip_norm} if self.clip_norm else {}),
        }

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
    code = 0

    def __init__(
        self,
        lr: float = 0.1,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
        clip_norm: float | None = None,
    ):
        super().__init__(lr, weight_decay, clip_norm)
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        if nesterov and momentum == 0:
            raise ValueError("Nesterov momentum needs momentum > 0")
        self.momentum, self.nesterov = float(momentum), bool(nesterov)
        self.velocity: list[np.ndarray] | None = None

    def state_for(self, params: list) -> list[list[np.ndarray]]:
        if self.momentum == 0:
            return []
        self.velocity = _matching(self.velocity, params)
        return [self.velocity]

    def rule(self, t: int | None = None) -> UpdateRule:
        return UpdateRule(
            self.code,
            self.lr,
            self.weight_decay,
            self.momentum,
            self.nesterov,
            clip_norm=self.clip_norm,
        )

    def step(self, params: list, grads: list) -> None:
        rule = self.next_rule()
        grads = rule.clipped(grads)
        if rule.momentum == 0:
            for p, g in zip(params, grads):
                p -= rule.lr * rule.decayed(p, g)  # formula 5 (9, 10): w <- w - lr dE/dw
            return
        (velocity,) = self.state_for(params)
        mu = rule.momentum
        for p, g, v in zip(params, grads, velocity):
            g = rule.decayed(p, g)
            v *= mu
            v += g
            p -= rule.lr * (g + mu * v if rule.nesterov else v)

    def hyper(self) -> dict:
        return {**super().hyper(), "momentum": self.momentum, "nesterov": self.nesterov}

    def state_dict(self) -> dict[str, np.ndarray]:
        state = super().state_dict()
        for i, v in enumerate(self.velocity or []):
            state[f"velocity.{i}"] = v
        return state

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        n = sum(1 for k in state if k.startswith("velocity."))
        self.velocity = [np.array(state[f"velocity.{i}"]) for i in range(n)] or None


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015) with bias correction; L2 decay added to the gradient."""

    name = "adam"
    code = 1

    def __init__(
        self,
        lr: float = 1e-3,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        clip_norm: float | None = None,
    ):
        super().__init__(lr, weight_decay, clip_norm)
        if not (0 <= beta1 < 1 and 0 <= beta2 < 1):
            raise ValueError(f"Adam betas must be in [0, 1), got {beta1}, {beta2}")
        self.beta1, self.beta2, self.eps = float(beta1), float(beta2), float(eps)
        self.m: list[np.ndarray] | None = None
        self.v: list[np.ndarray] | None = None

    def state_for(self, params: list) -> list[list[np.ndarray]]:
        self.m, self.v = _matching(self.m, params), _matching(self.v, params)
        return [self.m, self.v]

    def rule(self, t: int | None = None) -> UpdateRule:
        t = self.t + 1 if t is None else t
        return UpdateRule(
            self.code,
            self.lr,
            self.weight_decay,
            0.0,
            False,
            self.step_size(t),
            self.beta1,
            self.beta2,
            self.eps,
            self.clip_norm,
        )

    def step_size(self, t: int) -> float:
        """lr sqrt(1 - beta2^t) / (1 - beta1^t): the bias-corrected step size of step t."""
        b1, b2 = self.beta1, self.beta2
        return self.lr * math.sqrt(1 - b2**t) / (1 - b1**t)

    def step(self, params: list, grads: list) -> None:
        ms, vs = self.state_for(params)
        rule = self.next_rule()
        grads = rule.clipped(grads)
        b1, b2 = rule.beta1, rule.beta2
        for p, g, m, v in zip(params, grads, ms, vs):
            rule.shrunk(p)  # AdamW: decay off the weights, apart from the gradient
            g = rule.decayed(p, g)  # Adam: L2 decay in the gradient
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * (g * g)
            p -= rule.step * m / (np.sqrt(v) + rule.eps)

    def hyper(self) -> dict:
        return {**super().hyper(), "beta1": self.beta1, "beta2": self.beta2, "eps": self.eps}

    def state_dict(self) -> dict[str, np.ndarray]:
        state = super().state_dict()
        for i, (m, v) in enumerate(zip(self.m or [], self.v or [])):
            state[f"m.{i}"], state[f"v.{i}"] = m, v
        return state

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        n = sum(1 for k in state if k.startswith("m."))
        self.m = [np.array(state[f"m.{i}"]) for i in range(n)] or None
        self.v = [np.array(state[f"v.{i}"]) for i in range(n)] or None


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter 2019, "Decoupled Weight Decay
    Regularization"; PyTorch's ``AdamW``): each step first takes w <- w - lr weight_decay w off
    the weight matrices (not the biases: ``decays``), then makes Adam's step on the gradient
    without any decay in it, so the decay is not rescaled by Adam's per-weight step sizes.  With
    weight_decay 0 it is Adam.  The same kernels and JAX program run it (``UpdateRule.decoupled``).
    """

    name = "adamw"

    def rule(self, t: int | None = None) -> UpdateRule:
        return replace(super().rule(t), decoupled=True)


OPTIMIZERS = {"sgd": SGD, "momentum": SGD, "nesterov": SGD, "adam": Adam, "adamw": AdamW}


def make_optimizer(name: str, lr: float, **kwargs: float | bool | None) -> Optimizer:
    """Build an optimiser by name: sgd, momentum (SGD, mu 0.9), nesterov, adam, adamw."""
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


def learning_rate(
    schedule: str, base_lr: float, epoch: int, total_epochs: int, **options: float
) -> float:
    """The learning rate for 0-based ``epoch`` under the named schedule."""
    try:
        fn = SCHEDULES[schedule]
    except KeyError:
        raise ValueError(
            f"unknown schedule {schedule!r}; choose one of {', '.join(SCHEDULES)}"
        ) from None
    return float(fn(base_lr, epoch, total_epochs, **options))
