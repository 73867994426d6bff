"""bpnn's formulas in ``jax.numpy``: forward, loss, backward and the optimisers' updates.

The same arithmetic as ``bpnn.network``, ``bpnn.activations``, ``bpnn.losses`` and
``bpnn.optim``, written out operation by operation (no ``jax.grad``): the backward pass is the
tutorial's delta recursion dZ_l = f'(a_l) * (dZ_{l+1} @ W_{l+1}), with derivatives taken from the
outputs.  Products run at full float32 precision (``HIGHEST``: no TF32 on the GPU), so a JAX run
and a NumPy run from the same weights on the same batches agree to float32 rounding.

Which formula runs is chosen through the registries' classes: ``ACTIVATIONS``, ``LOSSES`` and
``UPDATES`` map each class this module writes out to its JAX form, exactly that class (a subclass
may compute something else).  A class without an entry is a reason the program refuses
(``bpnn.accel.jax_stepper.unsupported_reason``), never a default; so is a setting of the
optimiser's ``UpdateRule`` that the updates do not read (``RULE_FIELDS``).

Everything here is traced inside ``jax.jit``; the static description of the network is a
``Spec`` (hashable, so one compiled program serves every stepper with the same setup).
Not here: data, devices and the loop over steps (``bpnn.accel.jax_stepper``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from ..activations import Activation, Identity, LeakyReLU, ReLU, Sigmoid, Softmax, Softplus, Tanh
from ..losses import BinaryCrossEntropy, Loss, SoftmaxCrossEntropy, SquaredError
from ..optim import SGD, Adam, AdamW, Optimizer, UpdateRule

HIGHEST = lax.Precision.HIGHEST


class ActivationForm(NamedTuple):
    """An activation in ``jax.numpy``, its settings (``Activation.params()``) as keywords:
    forward(z, **settings) -> y; backward(y, g, **settings) -> dE/dz from dE/dy = g."""

    forward: Callable
    backward: Callable


class LossForm(NamedTuple):
    """A loss in ``jax.numpy``, targets as rows T (n, k): value(z, y, T) -> (n,) per sample;
    delta(z, y, T, out) -> dE/dz (n, k), ``out`` the output layer's ``Act``."""

    value: Callable
    delta: Callable


class Act(NamedTuple):
    """A layer's activation as the program runs it: its form and its settings (name, value)."""

    form: ActivationForm
    settings: tuple[tuple[str, float], ...]

    def forward(self, z):
        return self.form.forward(z, **dict(self.settings))

    def backward(self, y, g):
        return self.form.backward(y, g, **dict(self.settings))


class Spec(NamedTuple):
    """What the compiled program is specialised on (everything but data, weights and rates).

    acts: each layer's ``Act``; loss: the loss's ``LossForm``; keeps, inv_keeps: per layer the
    ``DropoutPlan``'s keep probability and 1/keep as the reference rounds it (0.0: no dropout);
    update: the optimiser's entry of ``UPDATES`` and rule: its ``UpdateRule`` without the
    per-step numbers (``UpdateRule.fixed``; both None: forward only); weighted: sample weights
    given; shift: augmentation's largest shift (0: none) and side: the images' side; scale: the
    inputs' factor; deform: the deformations (``bpnn.deform.Deformation``; None: none) of
    images of shape (h, w).
    """

    acts: tuple[Act, ...]
    loss: LossForm
    keeps: tuple
    inv_keeps: tuple
    update: Callable | None
    rule: UpdateRule | None
    weighted: bool
    shift: int
    side: int
    scale: float
    deform: Any = None
    shape: tuple = ()


# ---- activations: value, and dE/dz from the output y and dE/dy (bpnn.activations) -----------
def _softmax(z):
    e = jnp.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


ACTIVATIONS: dict[type[Activation], ActivationForm] = {
    Sigmoid: ActivationForm(
        lambda z: 0.5 * (1.0 + jnp.tanh(0.5 * z)),
        lambda y, g: g * (y * (1.0 - y)),
    ),
    Tanh: ActivationForm(jnp.tanh, lambda y, g: g * (1.0 - y * y)),
    ReLU: ActivationForm(
        lambda z: jnp.maximum(z, 0),
        lambda y, g: jnp.where(y > 0, g, 0).astype(g.dtype),
    ),
    LeakyReLU: ActivationForm(
        lambda z, alpha: jnp.where(z > 0, z, alpha * z),
        lambda y, g, alpha: g * jnp.where(y > 0, 1.0, alpha).astype(y.dtype),
    ),
    Softplus: ActivationForm(  # max(z, 0) + log(1 + exp(-|z|)); its derivative 1 - e^-y
        lambda z: jnp.maximum(z, 0) + jnp.log1p(jnp.exp(-jnp.abs(z))),
        lambda y, g: g * -jnp.expm1(-y),
    ),
    Softmax: ActivationForm(
        _softmax, lambda y, g: y * (g - jnp.sum(g * y, axis=-1, keepdims=True))
    ),
    Identity: ActivationForm(lambda z: z, lambda y, g: g),
}


# ---- losses: per-sample value and output delta dE/dz (bpnn.losses), targets as rows ---------
def _squared(z, y, T):
    diff = T - y
    return 0.5 * jnp.einsum("ij,ij->i", diff, diff, precision=HIGHEST)


def _cross_entropy(z, y, T):
    m = z.max(axis=1, keepdims=True)
    log_sum = m[:, 0] + jnp.log(jnp.exp(z - m).sum(axis=1))
    return log_sum * T.sum(axis=1) - jnp.einsum("ij,ij->i", T, z, precision=HIGHEST)


def _binary_cross_entropy(z, y, T):
    per_output = jnp.maximum(z, 0) - z * T + jnp.log1p(jnp.exp(-jnp.abs(z)))
    return per_output.sum(axis=1)


LOSSES: dict[type[Loss], LossForm] = {
    SquaredError: LossForm(_squared, lambda z, y, T, out: out.backward(y, y - T)),
    SoftmaxCrossEntropy: LossForm(
        _cross_entropy, lambda z, y, T, out: y * T.sum(axis=1, keepdims=True) - T
    ),
    BinaryCrossEntropy: LossForm(_binary_cross_entropy, lambda z, y, T, out: y - T),
}


# ---- one training step -----------------------------------------------------------------------
def dropout_masks(spec: Spec, key, n: int, sizes: tuple, dtype):
    """Per layer the inverted-dropout scale of its input (0 or 1/keep), or None."""
    masks: list[jax.Array | None] = []
    for i, (keep, inv) in enumerate(zip(spec.keeps, spec.inv_keeps)):
        if inv == 0.0:
            masks.append(None)
            continue
        u = jax.random.uniform(jax.random.fold_in(key, i), (n, sizes[i]), dtype)
        masks.append(jnp.where(u < keep, jnp.asarray(inv, dtype), jnp.asarray(0, dtype)))
    return masks


def forward(spec: Spec, params: list, X, masks=None):
    """Formula 2 layer by layer; returns (inputs, outputs, z) as ``Network.forward`` keeps them.

    params: [W0 (n_1, n_0), b0, W1, b1, ...]; X: (n, n_0); masks: from ``dropout_masks``.
    """
    inputs, outputs, A, z = [], [], X, None
    for i, act in enumerate(spec.acts):
        if masks is not None and masks[i] is not None:
            A = A * masks[i]
        inputs.append(A)
        W, b = params[2 * i], params[2 * i + 1]
        z = jnp.matmul(A, W.T, precision=HIGHEST) + b
        A = act.forward(z)
        outputs.append(A)
    return inputs, outputs, z


def backward(spec: Spec, params: list, inputs, outputs, z, T, masks, w=None):
    """Formulas 7-9 as ``Network.backward``: gradients [dW0, db0, dW1, db1, ...] of the mean loss
    (the weighted mean when sample weights w (n,) are given)."""
    n = inputs[0].shape[0]
    dZ = spec.loss.delta(z, outputs[-1], T, spec.acts[-1])
    if w is None:
        dZ = dZ / n
    else:  # a batch whose weights are all zero has a zero gradient
        total = w.sum()
        dZ = dZ * w[:, None] / jnp.where(total > 0, total, 1)
    grads: list[jax.Array] = []
    for i in range(len(spec.acts) - 1, -1, -1):
        grads = [jnp.matmul(dZ.T, inputs[i], precision=HIGHEST), dZ.sum(axis=0)] + grads
        if i == 0:
            break
        dA = jnp.matmul(dZ, params[2 * i], precision=HIGHEST)
        if masks is not None and masks[i] is not None:
            dA = dA * masks[i]
        dZ = spec.acts[i - 1].backward(outputs[i - 1], dA)
    return grads


# ---- optimisers: an UpdateRule (bpnn.optim), operation by operation as ``step`` does -------
def _sgd(rule: UpdateRule, params: list, grads: list, state: list, lr, step):
    """SGD, momentum or Nesterov (``SGD.step``); state: [] or [velocity...]."""
    mu = rule.momentum
    if mu == 0:
        return [p - lr * rule.decayed(p, g) for p, g in zip(params, grads)], state
    new_p, new_v = [], []
    for p, g, v in zip(params, grads, state):
        g = rule.decayed(p, g)
        v = v * mu + g
        new_p.append(p - lr * (g + mu * v if rule.nesterov else v))
        new_v.append(v)
    return new_p, new_v


def _adam(rule: UpdateRule, params: list, grads: list, state: list, lr, step):
    """Adam (``Adam.step``); state: [m..., v...]; step: its bias-corrected step size."""
    b1, b2, eps = rule.beta1, rule.beta2, rule.eps
    k = len(params)
    new_p, new_m, new_v = [], [], []
    for p, g, m, v in zip(params, grads, state[:k], state[k:]):
        p = rule.shrunk(p, lr)  # AdamW's decoupled decay (p itself otherwise)
        g = rule.decayed(p, g)
        m = m * b1 + (1 - b1) * g
        v = v * b2 + (1 - b2) * (g * g)
        new_p.append(p - step * m / (jnp.sqrt(v) + eps))
        new_m.append(m)
        new_v.append(v)
    return new_p, new_m + new_v


UPDATES: dict[type[Optimizer], Callable] = {SGD: _sgd, Adam: _adam, AdamW: _adam}
# the UpdateRule fields the updates read (any other one set: the program refuses the optimiser)
RULE_FIELDS = (
    "clip_norm",
    "decoupled",
    "kind",
    "lr",
    "weight_decay",
    "momentum",
    "nesterov",
    "step",
    "beta1",
    "beta2",
    "eps",
)


def update(spec: Spec, params: list, grads: list, state: list, lr, step):
    """One optimiser step: new (params, state).

    state: [] (plain SGD), [velocity...] (momentum) or [m..., v...] (Adam); lr: the rate
    (float32 scalar); step: Adam's lr sqrt(1 - b2^t) / (1 - b1^t), computed on the host in
    float64 as ``Adam.step`` does and rounded to float32 by the caller.
    """
    if spec.update is None:
        raise ValueError("this Spec describes the forward pass only (no optimiser)")
    if spec.rule is not None and spec.rule.clip_norm:  # (fixed: the program is built on it)
        scale = spec.rule.clip_scale(grads, jnp)
        grads = [g * scale for g in grads]
    return spec.update(spec.rule, params, grads, state, lr, step)
