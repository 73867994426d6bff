"""bpnn's formulas in ``jax.numpy``: forward, loss, backward and the optimisers' updates.

The same arithmetic as ``bpnn.network``, ``bpnn.activations``, ``bpnn.losses`` and
``bpnn.optim``, written out operation by operation (no ``jax.grad``): the backward pass is the
tutorial's delta recursion dZ_l = f'(a_l) * (dZ_{l+1} @ W_{l+1}), with derivatives taken from the
outputs.  Products run at full float32 precision (``HIGHEST``: no TF32 on the GPU), so a JAX run
and a NumPy run from the same weights on the same batches agree to float32 rounding.

Everything here is traced inside ``jax.jit``; the static description of the network is a
``Spec`` (hashable, so one compiled program serves every stepper with the same setup).
Not here: data, devices and the loop over steps (``bpnn.accel.jax_stepper``).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

HIGHEST = lax.Precision.HIGHEST


class Spec(NamedTuple):
    """What the compiled program is specialised on (everything but data, weights and rates).

    acts: ((name, alpha), ...) per layer; loss: a ``bpnn.losses`` name; inv_keeps: per layer
    1/(1-p) of its input dropout as the reference rounds it (0.0: none), keeps: 1-p;
    opt: ("sgd", momentum, nesterov) or ("adam", beta1, beta2, eps); weight_decay;
    weighted: sample weights given; shift: augmentation's largest shift (0: none) and side: the
    images' side; scale: the inputs' factor.
    """

    acts: tuple[tuple[str, float], ...]
    loss: str
    keeps: tuple
    inv_keeps: tuple
    opt: tuple
    weight_decay: float
    weighted: bool
    shift: int
    side: int
    scale: float


# the activations this module writes out (a new one in bpnn.activations needs its branch here)
ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "softplus", "identity", "softmax")


# ---- activations: value, and dE/dz from the output y and dE/dy (bpnn.activations) -----------
def activate(name: str, alpha: float, z):
    if name == "sigmoid":
        return 0.5 * (1.0 + jnp.tanh(0.5 * z))
    if name == "tanh":
        return jnp.tanh(z)
    if name == "relu":
        return jnp.maximum(z, 0)
    if name == "leaky_relu":
        return jnp.where(z > 0, z, alpha * z)
    if name == "softplus":  # max(z, 0) + log(1 + exp(-|z|)), as bpnn.activations.Softplus
        return jnp.maximum(z, 0) + jnp.log1p(jnp.exp(-jnp.abs(z)))
    if name == "softmax":
        e = jnp.exp(z - z.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    if name == "identity":
        return z
    raise ValueError(f"activation {name!r} has no JAX form")


def act_backward(name: str, alpha: float, y, g):
    if name == "sigmoid":
        return g * (y * (1.0 - y))
    if name == "tanh":
        return g * (1.0 - y * y)
    if name == "relu":
        return jnp.where(y > 0, g, 0).astype(g.dtype)
    if name == "leaky_relu":
        return g * jnp.where(y > 0, 1.0, alpha).astype(y.dtype)
    if name == "softplus":  # sigmoid(z) = 1 - e^-y
        return g * -jnp.expm1(-y)
    if name == "softmax":
        return y * (g - jnp.sum(g * y, axis=-1, keepdims=True))
    if name == "identity":
        return g
    raise ValueError(f"activation {name!r} has no JAX form")


# ---- losses: per-sample value and output delta dE/dz (bpnn.losses), targets as rows ---------
def loss_value(loss: str, z, y, T):
    """(n,) loss of each sample from logits z, outputs y and target rows T (all (n, k))."""
    if loss == "cross_entropy":
        m = z.max(axis=1, keepdims=True)
        log_sum = m[:, 0] + jnp.log(jnp.exp(z - m).sum(axis=1))
        return log_sum * T.sum(axis=1) - jnp.einsum("ij,ij->i", T, z, precision=HIGHEST)
    if loss == "binary_cross_entropy":
        per_output = jnp.maximum(z, 0) - z * T + jnp.log1p(jnp.exp(-jnp.abs(z)))
        return per_output.sum(axis=1)
    diff = T - y
    return 0.5 * jnp.einsum("ij,ij->i", diff, diff, precision=HIGHEST)


def output_delta(loss: str, out: tuple[str, float], z, y, T):
    """dE/dz at the output layer (n, k); ``out`` is the output layer's (name, alpha)."""
    if loss == "cross_entropy":
        return y * T.sum(axis=1, keepdims=True) - T
    if loss == "binary_cross_entropy":
        return y - T
    return act_backward(*out, y, y - T)


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
    for i, (name, alpha) in enumerate(spec.acts):
        if masks is not None and masks[i] is not None:
            A = A * masks[i]
        inputs.append(A)
        W, b = params[2 * i], params[2 * i + 1]
        z = jnp.matmul(A, W.T, precision=HIGHEST) + b
        A = activate(name, alpha, z)
        outputs.append(A)
    return inputs, outputs, z


def backward(spec: Spec, params: list, inputs, outputs, z, T, masks, w=None):
    """Formulas 7-9 as ``Network.backward``: gradients [dW0, db0, dW1, db1, ...] of the mean loss
    (the weighted mean when sample weights w (n,) are given)."""
    n = inputs[0].shape[0]
    dZ = output_delta(spec.loss, spec.acts[-1], z, outputs[-1], T)
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
        dZ = act_backward(*spec.acts[i - 1], outputs[i - 1], dA)
    return grads


# ---- optimisers (bpnn.optim, operation by operation) ----------------------------------------
def decayed(spec: Spec, p, g):
    """L2 decay on weight matrices only, as ``Optimizer._decayed``."""
    if spec.weight_decay and p.ndim >= 2:
        return g + spec.weight_decay * p
    return g


def update(spec: Spec, params: list, grads: list, state: list, lr, step):
    """One optimiser step: new (params, state).

    state: [] (plain SGD), [velocity...] (momentum) or [m..., v...] (Adam); lr: the rate
    (float32 scalar); step: Adam's lr sqrt(1 - b2^t) / (1 - b1^t), computed on the host in
    float64 as ``Adam.step`` does and rounded to float32 by the caller.
    """
    kind = spec.opt[0]
    if kind == "adam":
        _, b1, b2, eps = spec.opt
        k = len(params)
        new_p, new_m, new_v = [], [], []
        for p, g, m, v in zip(params, grads, state[:k], state[k:]):
            g = decayed(spec, p, g)
            m = m * b1 + (1 - b1) * g
            v = v * b2 + (1 - b2) * (g * g)
            new_p.append(p - step * m / (jnp.sqrt(v) + eps))
            new_m.append(m)
            new_v.append(v)
        return new_p, new_m + new_v
    _, mu, nesterov = spec.opt
    if mu == 0:
        return [p - lr * decayed(spec, p, g) for p, g in zip(params, grads)], state
    new_p, new_v = [], []
    for p, g, v in zip(params, grads, state):
        g = decayed(spec, p, g)
        v = v * mu + g
        new_p.append(p - lr * (g + mu * v if nesterov else v))
        new_v.append(v)
    return new_p, new_v
