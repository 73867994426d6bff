"""Loss functions: each gives its value and the output layer's delta, side by side.

- ``squared``: the tutorial's E = 1/2 sum_i (t_i - y_i)^2, with any output activation.
  Its output delta is dE/dz = f'(z) (y - t); for sigmoid that is y (1 - y)(y - t), the negative
  of the tutorial's formula 3 (the tutorial's delta is -dE/dnet).
- ``cross_entropy``: softmax cross-entropy E = -sum_i t_i log softmax(z)_i, computed from the
  logits z with log-sum-exp, so logits of +-1000 are fine.  dE/dz = softmax(z) - t.  Requires a
  softmax output layer.
- ``binary_cross_entropy``: per-output binary cross-entropy with sigmoid outputs (Nielsen's
  network2 cost; multi-label problems): E = -sum_i [t_i log y_i + (1 - t_i) log(1 - y_i)],
  computed from the logits as max(z, 0) - z t + log(1 + exp(-|z|)).  dE/dz = y - t.

Each loss owns its rules: its targets (``targets``: what the class indices of a classification
problem become for it), its default output activation and which outputs it accepts
(``output_activation``, which the networks and the settings ask), and the integer ``code`` of its
branch in the compiled kernels (``fused_output``: that branch computes the output activation
from the logits itself, as softmax cross-entropy does).

Targets ``T`` are (n_samples, n_outputs) arrays; every loss also takes class indices of shape
(n_samples,), which become one-hot rows.  ``value`` returns the loss of each sample, shape
(n_samples,); the networks average it over rows.

Not here: regularisation (the optimisers' weight decay) and accuracy metrics.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from .activations import Activation, get_activation

__all__ = [
    "LOSSES",
    "BinaryCrossEntropy",
    "Loss",
    "SoftmaxCrossEntropy",
    "SquaredError",
    "check_labels",
    "get_loss",
    "one_hot",
]


def one_hot(
    labels: ArrayLike,
    n_classes: int,
    on: float = 1.0,
    off: float = 0.0,
    dtype: DTypeLike = np.float64,
) -> np.ndarray:
    """Class indices (n,) -> target rows (n, n_classes): ``on`` at the label, ``off`` elsewhere.

    The tutorial's MNIST targets are ``one_hot(labels, 10, on=0.9, off=0.1)``.
    """
    labels = check_labels(labels, n_classes)
    out = np.full((labels.size, n_classes), off, dtype=dtype)
    out[np.arange(labels.size), labels] = on
    return out


def check_labels(labels, n_classes: int) -> np.ndarray:
    """Class indices as a 1-D intp array, or a ValueError saying what is wrong with them."""
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise ValueError(
            f"labels must be a 1-D integer array, got shape {labels.shape} {labels.dtype}"
        )
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(
            f"labels must lie in 0..{n_classes - 1}, got {labels.min()}..{labels.max()}"
        )
    return labels.astype(np.intp, copy=False)


def _targets(T: np.ndarray, like: np.ndarray) -> np.ndarray:
    """T as rows shaped like the output ``like``; class indices become one-hot rows."""
    T = np.asarray(T)
    if T.ndim == 1 and T.dtype.kind in "iu" and like.ndim == 2:
        return one_hot(T, like.shape[1], dtype=like.dtype)
    if T.shape != like.shape:
        raise ValueError(f"targets have shape {T.shape}, expected {like.shape}")
    return T


class Loss:
    """Base class: ``value`` per sample and ``delta`` = dE/dz at the output layer."""

    name = "loss"
    default_output = "sigmoid"  # the output activation a network gets when none is named
    code: int | None = None  # its branch in the compiled kernels (bpnn.fast._kernels)
    fused_output = False  # True: that branch applies the output activation itself

    def targets(
        self,
        labels: np.ndarray,
        n_classes: int,
        on: float = 1.0,
        off: float = 0.0,
        dtype=np.float64,
    ) -> np.ndarray:
        """What class indices (n,) become for this loss: one-hot rows (n, n_classes) of on/off."""
        return one_hot(labels, n_classes, on=on, off=off, dtype=dtype)

    def value(self, z: np.ndarray, y: np.ndarray, T: np.ndarray) -> np.ndarray:
        """Loss of each sample, shape (n,), from logits z and outputs y (both (n, k))."""
        raise NotImplementedError

    def delta(self, z: np.ndarray, y: np.ndarray, T: np.ndarray, output: Activation) -> np.ndarray:
        """dE/dz for each sample, shape (n, k): what backpropagation starts from."""
        raise NotImplementedError

    def check_output(self, output: Activation) -> None:
        """Raise ValueError if this loss cannot be used with that output activation."""

    def output_activation(
        self, output: str | Activation | None = None, params: dict | None = None
    ) -> Activation:
        """The output layer's activation: ``output`` (a name with its ``params``, or an
        instance), else this loss's default; a ValueError if this loss cannot use it."""
        act = get_activation(self.default_output if output is None else output, params)
        self.check_output(act)
        return act

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class SquaredError(Loss):
    """E = 1/2 sum_i (t_i - y_i)^2 (the tutorial's objective)."""

    name = "squared"
    default_output = "sigmoid"  # the tutorial's; regression asks for "identity"
    code = 0

    def value(self, z, y, T):
        diff = _targets(T, y) - y
        return 0.5 * np.einsum("ij,ij->i", diff, diff)

    def delta(self, z, y, T, output):
        # formula 3: dE/dy = y - t through the output activation; sigmoid: y(1-y)(y-t) = -delta
        return output.backward(y, y - _targets(T, y))


class SoftmaxCrossEntropy(Loss):
    """E = logsumexp(z) - sum_i t_i z_i (for rows of t summing to 1); dE/dz = softmax(z) - t."""

    name = "cross_entropy"
    default_output = "softmax"
    code = 1
    fused_output = True  # the kernel's branch computes softmax from the logits

    def targets(self, labels, n_classes, on=1.0, off=0.0, dtype=np.float64):
        """Class indices stay indices (no one-hot matrix is needed); on/off do not apply."""
        return check_labels(labels, n_classes)

    def check_output(self, output):
        if output.name != "softmax":
            raise ValueError(
                f"loss 'cross_entropy' is softmax cross-entropy and needs output='softmax', "
                f"got output={output.name!r}"
            )

    def value(self, z, y, T):
        m = z.max(axis=1, keepdims=True)
        log_sum = m[:, 0] + np.log(np.exp(z - m).sum(axis=1))
        T = np.asarray(T)
        if T.ndim == 1 and T.dtype.kind in "iu":  # class indices: no (n, k) one-hot matrix
            return log_sum - z[np.arange(len(T)), check_labels(T, z.shape[1])]
        T = _targets(T, y)
        return log_sum * T.sum(axis=1) - np.einsum("ij,ij->i", T, z)

    def delta(self, z, y, T, output):
        T = np.asarray(T)
        if T.ndim == 1 and T.dtype.kind in "iu":  # class indices: no one-hot matrix needed
            d = y.copy()
            d[np.arange(len(T)), T] -= 1
            return d
        T = _targets(T, y)
        return y * T.sum(axis=1, keepdims=True) - T


class BinaryCrossEntropy(Loss):
    """E = -sum_i [t_i log y_i + (1 - t_i) log(1 - y_i)] with y = sigmoid(z); dE/dz = y - t.

    Targets are rows of values in [0, 1] (0/1 for each label of a multi-label problem); class
    indices become one-hot rows of 1 and 0.
    """

    name = "binary_cross_entropy"
    default_output = "sigmoid"
    code = 2
    fused_output = True  # the kernel's branch computes the sigmoid from the logits

    def targets(self, labels, n_classes, on=1.0, off=0.0, dtype=np.float64):
        """One-hot rows of 1 and 0 (on/off do not apply: the loss needs probabilities)."""
        return one_hot(labels, n_classes, dtype=dtype)

    def check_output(self, output):
        if output.name != "sigmoid":
            raise ValueError(
                f"loss 'binary_cross_entropy' needs output='sigmoid', got output={output.name!r}"
            )

    def value(self, z, y, T):
        T = _targets(T, y)
        # log(1 + exp(-|z|)) never overflows; max(z, 0) - z t completes -t log y - (1-t) log(1-y)
        per_output = np.maximum(z, 0) - z * T + np.log1p(np.exp(-np.abs(z)))
        return per_output.sum(axis=1)

    def delta(self, z, y, T, output):
        return y - _targets(T, y)


LOSSES: dict[str, type[Loss]] = {
    cls.name: cls for cls in (SquaredError, SoftmaxCrossEntropy, BinaryCrossEntropy)
}


def get_loss(name: str | Loss) -> Loss:
    """Return a loss instance for a registry name (or pass an instance through)."""
    if isinstance(name, Loss):
        return name
    try:
        return LOSSES[name]()
    except KeyError:
        raise ValueError(f"unknown loss {name!r}; choose one of {', '.join(LOSSES)}") from None
