"""What both fast steppers share: checked indices, the constants array, layer and loss codes."""

from __future__ import annotations

import numpy as np

from ..activations import Activation
from ..network import Network
from ._kernels import (
    ACTIVATIONS,
    C_HALF,
    C_ONE,
    C_SCALE,
    C_ZERO,
    IDENTITY,
    LOSSES,
    N_CONSTS,
    SampleNet,
)


def checked_indices(idx, n_samples: int) -> np.ndarray:
    """Sample indices as (k,) intp within 0..n_samples-1 (compiled code would read anywhere)."""
    idx = np.asarray(idx)
    if idx.ndim != 1 or (idx.size and idx.dtype.kind not in "iu"):
        raise ValueError(f"indices must be a 1-D integer array, got shape {idx.shape} {idx.dtype}")
    idx = idx.astype(np.intp, copy=False)
    if idx.size and (idx.min() < 0 or idx.max() >= n_samples):
        raise ValueError(f"indices must lie in 0..{n_samples - 1}, got {idx.min()}..{idx.max()}")
    return np.ascontiguousarray(idx)


def constants(dtype, scale: float) -> np.ndarray:
    """The kernels' constants array in the network's dtype (learning rate and n set per call)."""
    c = np.zeros(N_CONSTS, dtype)
    c[C_SCALE] = scale
    c[C_HALF], c[C_ONE], c[C_ZERO] = 0.5, 1.0, 0.0
    return c


def missing_branch(net: Network) -> str | None:
    """Why the kernels cannot compute this network's loss or activations, or None.

    Only the classes the kernels list have a branch (a subclass may compute something else); an
    output activation without one is fine when the loss's branch applies it (``fused_output``).
    """
    if type(net.loss_fn) not in LOSSES:
        return f"loss {net.loss_name!r} has no fast path"
    for i, layer in enumerate(net.layers):
        act, last = layer.activation, i == len(net.layers) - 1
        if type(act) not in ACTIVATIONS and not (last and net.loss_fn.fused_output):
            return f"layer {i} activation {act.name!r} with loss {net.loss_name!r} has no fast path"
    return None


def layer_codes(net: Network) -> tuple[np.ndarray, np.ndarray, int]:
    """Each layer's activation code and kernel parameter (n_layers,), and the loss code.

    An output activation the loss's branch applies (softmax) gets the identity's code, never read.
    A ValueError (``missing_branch``) when the kernels have no branch for the network.
    """
    reason, loss = missing_branch(net), net.loss_fn.code
    if reason is not None or loss is None:  # ruled out by unsupported_reason
        raise ValueError(reason)
    acts = [layer.activation for layer in net.layers]
    codes = [a.code if type(a) in ACTIVATIONS else IDENTITY for a in acts]
    alphas = np.array([kernel_param(a) for a in acts], dtype=net.dtype)
    return np.array(codes, dtype=np.int64), alphas, loss


def kernel_param(act: Activation) -> float:
    """The one setting the kernels pass to an activation's branch (LeakyReLU's alpha), or 0."""
    values = list(act.params().values())
    if len(values) > 1:
        raise ValueError(f"the kernels take one setting per activation, {act!r} has more")
    return float(values[0]) if values else 0.0


def kernel_net(W0T: np.ndarray, net: Network, codes, alphas, loss: int) -> SampleNet:
    """The network as the whole-loop kernels take it: W0T (the first layer's weights,
    input-major, kept by the stepper) and every layer's own W and b (``layer_codes``' codes)."""
    layers = net.layers
    return SampleNet(
        W0T,
        tuple(layer.W for layer in layers),
        tuple(layer.b for layer in layers),
        codes,
        alphas,
        loss,
    )


def load_input_major(W0T: np.ndarray, state0: list, net: Network, states: list) -> list:
    """At the start of a call: W0T (n_in, n_0) <- the first layer's W transposed, and each kind
    of optimiser state's first array (``states``, ``Optimizer.state_for``) transposed into
    ``state0`` (made anew when the optimiser's kinds of state changed); returns state0."""
    np.copyto(W0T, net.layers[0].W.T)
    if len(state0) != len(states):
        state0 = [np.empty_like(W0T) for _ in states]
    for s0, state in zip(state0, states):
        np.copyto(s0, state[0].T)
    return state0


def store_input_major(W0T: np.ndarray, state0: list, net: Network, states: list) -> None:
    """At the end of a call: ``load_input_major`` backwards (the network and the optimiser hold
    the current values again)."""
    np.copyto(net.layers[0].W, W0T.T)
    for s0, state in zip(state0, states):
        np.copyto(state[0], s0.T)
