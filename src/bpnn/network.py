"""The vectorised engine: dense layers on a batch of samples (tutorial formulas 2 and 7-10).

The tutorial writes one neuron (formula 1), then a layer of them as one matrix product (formula
2), and rewrites its per-node deltas and update (3, 4, 5) for whole layers (7, 8, and 9-10, the
update of W and of b).  This engine computes those layer forms; ``bpnn.neurons`` computes the
per-node ones.  The README's "The tutorial's formulas in the code" maps each to its function.

One array convention everywhere: rows are samples.  A layer maps X (n, n_in) to
Y = f(X @ W.T + b), with W of shape (n_out, n_in) as in the tutorial (w_ji: to node j from
node i) and b of shape (n_out,).

Backpropagation works with the true gradient.  The tutorial's error term is
delta = -dE/dnet; here ``dZ`` = dE/dnet = -delta, so the tutorial's update w <- w + eta delta x
is w <- w - eta dE/dw, which is what the optimisers in ``bpnn.optim`` do.

Not here: the update rule (``bpnn.optim``), the training loop (``bpnn.train``), the neuron-by-
neuron view (``bpnn.neurons``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from .activations import Activation, get_activation, hidden_activation
from .dropout import mask as dropout_mask
from .engine import EngineNames
from .init import init_weights
from .losses import Loss, get_loss

__all__ = ["Cache", "Dense", "Network", "sample_weights"]


class Dense:
    """One fully connected layer: Y = f(X @ W.T + b).

    W: (n_out, n_in), b: (n_out,).  ``dropout`` is the probability of dropping each *input*
    unit while training (inverted dropout: kept units are scaled by 1 / (1 - p), so nothing
    changes at prediction time).
    """

    def __init__(
        self,
        W: np.ndarray,
        b: np.ndarray,
        activation: str | Activation = "sigmoid",
        dropout: float = 0.0,
    ):
        W, b = np.asarray(W), np.asarray(b)
        if W.ndim != 2 or b.shape != (W.shape[0],):
            raise ValueError(
                f"layer needs W (n_out, n_in) and b (n_out,), got {W.shape} and {b.shape}"
            )
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.W, self.b = W, b
        self.activation = get_activation(activation)
        self.dropout = float(dropout)

    @property
    def n_in(self) -> int:
        return self.W.shape[1]

    @property
    def n_out(self) -> int:
        return self.W.shape[0]

    def linear(self, X: np.ndarray) -> np.ndarray:
        """Z = X @ W.T + b: the weighted inputs ("net") of the layer, (n, n_out)."""
        return X @ self.W.T + self.b

    def __repr__(self) -> str:
        drop = f", dropout={self.dropout}" if self.dropout else ""
        return f"Dense({self.n_in} -> {self.n_out}, {self.activation.name}{drop})"


@dataclass
class Cache:
    """What the forward pass keeps for the backward pass.

    inputs[i]: the (possibly dropped-out) input of layer i, (n, n_in_i);
    outputs[i]: the activation of layer i, (n, n_out_i); z: the output layer's logits;
    masks[i]: the dropout scale applied to layer i's input (0 or 1/keep), or None.
    """

    inputs: list
    outputs: list
    z: np.ndarray
    masks: list


class Network(EngineNames):
    """A fully connected network, e.g. ``Network([784, 300, 10])``.

    sizes: units per layer, input first.  activation: hidden layers' activation (a name or an
    instance).  output: the output layer's activation (default: the loss's, as
    ``Loss.output_activation`` decides).  loss: a name or a ``Loss``.  init: ``uniform`` (the
    tutorial's), ``xavier`` or ``he``.  dtype: float32 or float64.  dropout: the input dropout
    probability of each layer (one number for all hidden layers' inputs, or a sequence with one
    value per layer, the first applying to the network's input).  seed: an int, a
    ``numpy.random.Generator`` or None.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        activation: str | Activation = "sigmoid",
        output: str | Activation | None = None,
        loss: str | Loss = "squared",
        init: str = "uniform",
        dtype: DTypeLike = np.float64,
        seed: int | np.random.Generator | None = None,
        dropout: float | Sequence[float] = 0.0,
    ) -> None:
        sizes = [int(s) for s in sizes]
        if len(sizes) < 2 or min(sizes) < 1:
            raise ValueError(f"sizes needs at least two positive layer sizes, got {sizes}")
        self.loss_fn: Loss = get_loss(loss)
        out_act = self.loss_fn.output_activation(output)
        hidden = hidden_activation(activation)
        self.dtype: np.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float32 or float64, got {self.dtype}")
        self.init = init
        drops = self._dropouts(dropout, len(sizes) - 1)
        rng = np.random.default_rng(seed)
        self.layers: list[Dense] = []
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            act = out_act if i == len(sizes) - 2 else hidden
            W = init_weights(init, rng, n_out, n_in, self.dtype)
            self.layers.append(Dense(W, np.zeros(n_out, self.dtype), act, drops[i]))

    @staticmethod
    def _dropouts(dropout, n_layers: int) -> list[float]:
        if np.ndim(dropout) == 0:  # one number: every hidden layer's input, not the pixels
            return [0.0] + [float(dropout)] * (n_layers - 1)
        drops = [float(p) for p in dropout]
        if len(drops) != n_layers:
            raise ValueError(f"dropout needs one value per layer ({n_layers}), got {len(drops)}")
        return drops

    # ---- description -------------------------------------------------------------------
    @property
    def sizes(self) -> list[int]:
        return [self.layers[0].n_in] + [layer.n_out for layer in self.layers]

    @property
    def n_inputs(self) -> int:
        return self.layers[0].n_in

    @property
    def n_outputs(self) -> int:
        return self.layers[-1].n_out

    def layer_activations(self) -> list[Activation]:
        return [layer.activation for layer in self.layers]

    def n_params(self) -> int:
        return sum(layer.W.size + layer.b.size for layer in self.layers)

    def config(self) -> dict:
        """The architecture as plain JSON-able data (no weights)."""
        return {
            "sizes": self.sizes,
            "activation": self.activation,
            "output": self.output,
            "activation_params": self.layers[0].activation.params() if len(self.layers) > 1 else {},
            "output_params": self.layers[-1].activation.params(),
            "loss": self.loss_name,
            "init": self.init,
            "dtype": self.dtype.name,
            "dropout": [layer.dropout for layer in self.layers],
        }

    @classmethod
    def from_config(cls, config: dict, params: Iterable[ArrayLike] | None = None) -> Network:
        """Rebuild a network from ``config()``; ``params`` as returned by ``params()``."""
        hidden = get_activation(config["activation"], config.get("activation_params"))
        output = get_activation(config["output"], config.get("output_params"))
        net = cls(
            config["sizes"],
            activation=hidden,
            output=output,
            loss=config["loss"],
            init=config.get("init", "uniform"),
            dtype=config.get("dtype", "float64"),
            dropout=config.get("dropout", 0.0),
            seed=0,
        )
        if params is not None:
            net.set_params(params)
        return net

    def __repr__(self) -> str:
        return (
            f"Network({self.sizes}, activation={self.activation!r}, output={self.output!r}, "
            f"loss={self.loss_name!r}, dtype={self.dtype.name})"
        )

    # ---- parameters --------------------------------------------------------------------
    def params(self) -> list[np.ndarray]:
        """The parameter arrays themselves (not copies): [W0, b0, W1, b1, ...]."""
        return [p for layer in self.layers for p in (layer.W, layer.b)]

    def set_params(self, params: Iterable[ArrayLike]) -> None:
        """Copy values into the parameters; shapes must match exactly."""
        params = list(params)
        own = self.params()
        if len(params) != len(own):
            raise ValueError(f"expected {len(own)} parameter arrays, got {len(params)}")
        for i, (dst, src) in enumerate(zip(own, params)):
            src = np.asarray(src)
            if src.shape != dst.shape:
                raise ValueError(f"parameter {i} has shape {src.shape}, expected {dst.shape}")
            dst[...] = src

    def copy(self) -> Network:
        return Network.from_config(self.config(), [p.copy() for p in self.params()])

    # ---- forward -----------------------------------------------------------------------
    def check_input(self, X: ArrayLike) -> np.ndarray:
        """X as a (n, n_inputs) array of this network's dtype, or a clear ValueError."""
        X = np.asarray(X)
        shape = X.shape
        if X.ndim == 1:
            X = X[None, :]
        if X.ndim != 2 or X.shape[1] != self.n_inputs:
            raise ValueError(
                f"input must have shape (n_samples, {self.n_inputs}) or "
                f"({self.n_inputs},), got {shape}"
            )
        if X.dtype.kind not in "biuf":
            raise ValueError(f"input must be numeric, got dtype {X.dtype}")
        X = X.astype(self.dtype, copy=False)
        if not np.isfinite(X).all():
            bad = int(np.count_nonzero(~np.isfinite(X)))
            raise ValueError(f"input must be finite, got {bad} NaN or infinite value(s)")
        return X

    def forward(self, X: np.ndarray, rng: np.random.Generator | None = None) -> Cache:
        """Formula 2 layer by layer; dropout is applied only when ``rng`` is given (training).

        X: (n, n_inputs), already checked.  Returns the Cache for ``backward``.
        """
        inputs, outputs, masks = [], [], []
        A = X
        for layer in self.layers:  # (at least one: z is the last layer's)
            mask = dropout_mask(layer.dropout, rng, A.shape, A.dtype)
            if mask is not None:
                A = A * mask
            masks.append(mask)
            inputs.append(A)
            z = layer.linear(A)  # formula 2: a = f(W x), for rows: A = f(X W^T + b)
            A = layer.activation.forward(z)
            outputs.append(A)
        return Cache(inputs, outputs, z, masks)

    def predict(self, X: ArrayLike) -> np.ndarray:
        """The output layer's activations, (n, n_outputs) (1-D for a single 1-D sample)."""
        single = np.ndim(X) == 1
        Y = self.forward(self.check_input(X)).outputs[-1]
        return Y[0] if single else Y

    def loss_value(
        self,
        X: ArrayLike,
        T: ArrayLike,
        rng: np.random.Generator | None = None,
        weights: ArrayLike | None = None,
    ) -> float:
        """Mean loss over the rows of X (targets T: (n, n_outputs) or class indices).

        weights: (n,) sample weights w >= 0 give the weighted mean sum_i w_i E_i / sum_i w_i.
        """
        X, T = self._sample_pair(X, T)
        cache = self.forward(X, rng)
        values = self.loss_fn.value(cache.z, cache.outputs[-1], T)
        if weights is None:
            return float(np.mean(values))
        w = sample_weights(weights, len(values))
        return float(np.dot(w, values) / w.sum())

    def _sample_pair(self, X: ArrayLike, T: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """Checked inputs, with a single 1-D sample's 1-D target row made 2-D too."""
        T = np.asarray(T)
        if np.ndim(X) == 1 and T.ndim == 1 and T.dtype.kind == "f":
            T = T[None, :]
        return self.check_input(X), T

    # ---- backward ----------------------------------------------------------------------
    def backward(
        self, cache: Cache, T: np.ndarray, weights: ArrayLike | None = None
    ) -> list[np.ndarray]:
        """Formulas 7-10 without the step (``bpnn.optim`` takes it): dE/dW and dE/db of the
        mean loss, laid out as ``params()``: [dW0 (n_1, n_0), db0 (n_1,), dW1, db1, ...].

        One flat layout for parameters and gradients (not (dW, db) pairs) because everything
        that consumes them -- the optimisers, the gradient check, model files, the object
        engine -- pairs each array with its gradient one to one: ``zip(params, grads)``.

        T: (n, n_outputs) target rows or (n,) class indices.  dZ (n, n_out) is dE/dnet =
        -delta.  Hidden layers: dZ_l = f'(a_l) * (dZ_{l+1} @ W_{l+1}); dropout masks pass the
        gradient through the kept units only.  weights: (n,) sample weights, for the weighted
        mean loss sum_i w_i E_i / sum_i w_i (row i's delta times w_i / sum w instead of 1 / n).
        """
        n = cache.inputs[0].shape[0]
        out = self.layers[-1].activation
        # formula 7: the output delta, from the loss (dZ = -delta, sigmoid: y(1-y)(y-t))
        dZ = self.loss_fn.delta(cache.z, cache.outputs[-1], T, out)
        if weights is None:
            dZ = dZ / n
        else:  # a batch whose weights are all zero has a zero gradient
            w = sample_weights(weights, n, zero_sum=True).astype(dZ.dtype)
            total = w.sum()
            dZ = dZ * w[:, None] / (total if total > 0 else 1)
        grads: list[np.ndarray] = [np.empty(0)] * (2 * len(self.layers))
        for i in range(len(self.layers) - 1, -1, -1):
            layer = self.layers[i]
            grads[2 * i] = dZ.T @ cache.inputs[i]  # formula 9's delta x^T, summed over rows
            grads[2 * i + 1] = dZ.sum(axis=0)  # formula 10's delta (the bias input is 1)
            if i == 0:
                break
            dA = dZ @ layer.W  # gradient w.r.t. this layer's (dropped-out) input
            if cache.masks[i] is not None:  # input = out * mask, so dOut = dIn * mask
                dA *= cache.masks[i]
            # formula 8 (formula 4 for a layer): delta_l = f'(a_l) * W_{l+1}^T delta_{l+1}
            dZ = self.layers[i - 1].activation.backward(cache.outputs[i - 1], dA)
        return grads

    def gradient(
        self,
        X: ArrayLike,
        T: ArrayLike,
        rng: np.random.Generator | None = None,
        weights: ArrayLike | None = None,
    ) -> list[np.ndarray]:
        """The true gradient dE/dw of the mean loss over the rows of X (weighted by ``weights``
        (n,) when given).

        X: (n, n_inputs); T: (n, n_outputs) rows or (n,) class indices.  Returns
        [dW0, db0, dW1, db1, ...] in the layout of ``params()`` (see ``backward``).  Note the
        sign: the tutorial's delta is -dE/dnet, so its update w += eta delta x is w -= eta dW.
        ``rng`` turns dropout on (the same seed gives the same masks).
        """
        X, T = self._sample_pair(X, T)
        return self.backward(self.forward(X, rng), T, weights)


def sample_weights(weights: ArrayLike, n: int, zero_sum: bool = False) -> np.ndarray:
    """Sample weights as a float64 (n,) array of finite values >= 0 with a positive sum
    (``zero_sum``: all zero is allowed too, as for one batch of a weighted set)."""
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (n,):
        raise ValueError(f"sample weights must have shape ({n},), got {w.shape}")
    if not (np.isfinite(w).all() and (w >= 0).all() and (zero_sum or w.sum() > 0)):
        raise ValueError("sample weights must be finite, >= 0 and not all zero")
    return w
