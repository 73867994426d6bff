"""Gradient checking (the tutorial's formula 6) as a library feature, for both engines.

For a parameter w, the numeric gradient is the central difference

    n = (E(w + eps) - E(w - eps)) / (2 eps),        eps = 1e-4 by default (the tutorial's),

and it is compared with the analytic gradient a (what backpropagation computed) through the
relative error

    rel = |a - n| / max(|a| + |n|, floor),
    floor = max(1e-8, 1e-3 * the largest |a| + |n| among the checked parameters).

The sum in the denominator makes the measure symmetric and bounded by 1 (1 means opposite
signs, or one of them zero).  The floor is there because a central difference has an absolute
error of about eps^2 |E'''| / 6 + 1e-16 |E| / eps whatever the size of the gradient: a gradient a
thousand times smaller than the largest one in the same check (a leaky ReLU's weights into a
negative unit, a dead ReLU's exact zeros) cannot be resolved relative to itself, so it is
measured against a thousandth of the largest instead.  A wrong derivative still shows up as rel
errors of 1e-3 to 1.

In float64 with eps = 1e-5 a correct gradient gives rel errors below about 1e-7.  The tutorial's
eps = 1e-4 leaves truncation errors (the eps^2 term) of up to about 1e-6 on strongly curved
losses, which is why ``bpnn gradcheck`` uses 1e-5.

``check_gradient`` is generic: a loss closure, the parameter arrays it reads (changed in place
and restored) and the analytic gradients.  ``check_network`` and ``check_object_network`` wrap
the vectorised engine (``bpnn.Network``, dropout included: a fixed seed gives the same masks on
every call) and the object engine (``bpnn.ObjectNetwork``).  For large nets pass ``sample=k``
to check k parameters drawn at random.

Not here: keeping inputs away from ReLU kinks (the ``bpnn gradcheck`` command does that).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

if TYPE_CHECKING:  # (only for the annotations)
    from .network import Network
    from .neurons import ObjectNetwork

__all__ = [
    "GradCheckReport",
    "ParamCheck",
    "check_gradient",
    "check_network",
    "check_object_network",
    "relative_error",
]

DEFAULT_EPS = 1e-4
DEFAULT_FLOOR = 1e-8
DEFAULT_SCALE_FLOOR = 1e-3


@dataclass(frozen=True)
class ParamCheck:
    """One checked parameter: ``name`` like ``W0[2, 1]``, both gradients and their rel error."""

    name: str
    analytic: float
    numeric: float
    rel_error: float


@dataclass
class GradCheckReport:
    """The outcome of one gradient check; ``passed`` when max_rel_error <= threshold.

    checks: one ParamCheck per checked parameter; n_params: parameters in the model (the checks
    may be a sample); floor: the denominator floor that was used.
    """

    checks: list[ParamCheck]
    threshold: float
    eps: float
    n_params: int
    floor: float
    details: dict = field(default_factory=dict)

    @property
    def max_rel_error(self) -> float:
        return max((c.rel_error for c in self.checks), default=0.0)

    @property
    def worst(self) -> ParamCheck | None:
        return max(self.checks, key=lambda c: c.rel_error, default=None)

    @property
    def passed(self) -> bool:
        return self.max_rel_error <= self.threshold

    def to_dict(self, per_param: bool = False) -> dict:
        """JSON-able summary (plus every parameter's numbers with ``per_param``)."""
        worst = self.worst
        out = {
            **self.details,
            "max_rel_error": self.max_rel_error,
            "threshold": self.threshold,
            "passed": self.passed,
            "eps": self.eps,
            "floor": self.floor,
            "checked": len(self.checks),
            "n_params": self.n_params,
            "worst": worst.name if worst else None,
        }
        if per_param:
            out["params"] = [asdict(c) for c in self.checks]
        return out

    def __repr__(self) -> str:
        return (
            f"GradCheckReport(max_rel_error={self.max_rel_error:.3g}, passed={self.passed}, "
            f"checked {len(self.checks)} of {self.n_params})"
        )


def relative_error(analytic, numeric, floor: float = DEFAULT_FLOOR) -> np.ndarray:
    """|a - n| / max(|a| + |n|, floor), element-wise."""
    a, n = np.asarray(analytic, dtype=np.float64), np.asarray(numeric, dtype=np.float64)
    return np.abs(a - n) / np.maximum(np.abs(a) + np.abs(n), floor)


def _positions(
    params: Sequence[np.ndarray], sample: int | None, rng: np.random.Generator | None
) -> list[tuple[int, tuple]]:
    """(array index, element index) of every parameter, or of ``sample`` of them drawn without
    replacement."""
    sizes = [p.size for p in params]
    flat = np.arange(sum(sizes))
    if sample is not None:
        if sample < 1:
            raise ValueError(f"sample must be a positive number of parameters, got {sample}")
        if sample < flat.size:
            rng = rng if rng is not None else np.random.default_rng(0)
            flat = np.sort(rng.choice(flat.size, size=sample, replace=False))
    starts = np.cumsum([0] + sizes)
    out = []
    for k in flat:
        i = int(np.searchsorted(starts, k, side="right") - 1)
        out.append((i, np.unravel_index(int(k - starts[i]), params[i].shape)))
    return out


def check_gradient(
    loss: Callable[[], float],
    params: Sequence[np.ndarray],
    grads: Sequence[np.ndarray],
    eps: float = DEFAULT_EPS,
    *,
    names: Sequence[str] | None = None,
    sample: int | None = None,
    rng: np.random.Generator | None = None,
    threshold: float = 1e-6,
    floor: float = DEFAULT_FLOOR,
    scale_floor: float = DEFAULT_SCALE_FLOOR,
) -> GradCheckReport:
    """Formula 6 for every parameter (or ``sample`` of them, drawn with ``rng``; default seed 0).

    loss: computes the loss from the current values of ``params`` (arrays changed in place and
    restored exactly).  grads: the analytic dE/dw, one array per parameter array, same shapes.
    names: one name per array (default ``p0``, ``p1``, ...).  The denominator's floor is
    max(floor, scale_floor * max(|a| + |n|)) (see the module docstring; ``scale_floor=0`` gives
    the plain relative error).
    """
    if not eps > 0:
        raise ValueError(f"eps must be positive, got {eps}")
    if len(params) != len(grads):
        raise ValueError(f"{len(params)} parameter arrays but {len(grads)} gradient arrays")
    for i, (p, g) in enumerate(zip(params, grads)):
        if np.shape(g) != p.shape:
            raise ValueError(f"gradient {i} has shape {np.shape(g)}, parameter {i} has {p.shape}")
    names = list(names) if names is not None else [f"p{i}" for i in range(len(params))]
    found = []  # (name, analytic, numeric)
    for i, idx in _positions(params, sample, rng):
        p = params[i]
        original = p[idx]
        p[idx] = original + eps
        e_plus = loss()
        p[idx] = original - eps
        e_minus = loss()
        p[idx] = original
        where = ", ".join(str(int(k)) for k in idx)
        numeric = (e_plus - e_minus) / (2 * eps)  # formula 6: (E(w + eps) - E(w - eps)) / 2 eps
        found.append((f"{names[i]}[{where}]", float(grads[i][idx]), numeric))
    a = np.array([f[1] for f in found])
    n = np.array([f[2] for f in found])
    floor = max(floor, scale_floor * float(np.max(np.abs(a) + np.abs(n), initial=0.0)))
    rel = relative_error(a, n, floor)
    checks = [ParamCheck(name, ai, ni, float(r)) for (name, ai, ni), r in zip(found, rel)]
    return GradCheckReport(checks, threshold, eps, sum(p.size for p in params), floor)


def _layer_names(n_layers: int) -> list[str]:
    return [f"{kind}{k}" for k in range(n_layers) for kind in ("W", "b")]


def check_network(
    net: Network,
    X: ArrayLike,
    T: ArrayLike,
    eps: float = DEFAULT_EPS,
    *,
    dropout_seed: int | None = None,
    weights: ArrayLike | None = None,
    **options: Any,
) -> GradCheckReport:
    """Check ``bpnn.Network.gradient`` on X (n, n_in) and T against its mean loss (the
    weighted mean with sample ``weights`` (n,)); options: ``check_gradient``'s (sample, rng,
    threshold, floor, scale_floor).

    A float32 network is checked as a float64 copy of itself (the same weights and maths):
    float32 rounding swamps a central difference, so float32 itself could never pass;
    ``details["checked_as"]`` says so.  With ``dropout_seed`` dropout is on, and every loss
    evaluation and the gradient draw their masks from ``default_rng(dropout_seed)``: the same
    masks every time.
    """
    checked_as = None
    if net.dtype != np.float64:
        checked_as = f"a float64 copy of the {net.dtype.name} network"
        from .network import Network as Net  # (a run-time import: network imports nothing here)

        params64 = [p.astype(np.float64) for p in net.params()]
        net = Net.from_config({**net.config(), "dtype": "float64"}, params64)

    def masks() -> np.random.Generator | None:
        return None if dropout_seed is None else np.random.default_rng(dropout_seed)

    grads = net.gradient(X, T, rng=masks(), weights=weights)
    report = check_gradient(
        lambda: net.loss_value(X, T, rng=masks(), weights=weights),
        net.params(),
        grads,
        eps,
        names=_layer_names(len(net.layers)),
        **options,
    )
    report.details["engine"] = "vectorised"
    if checked_as:
        report.details["checked_as"] = checked_as
    return report


def check_object_network(
    onet: ObjectNetwork,
    x: ArrayLike,
    t: ArrayLike,
    eps: float = DEFAULT_EPS,
    **options: Any,
) -> GradCheckReport:
    """Check ``bpnn.ObjectNetwork.gradient`` on one sample x (n_in,) and t, or rows of them;
    options: ``check_gradient``'s (sample, rng, threshold, floor, scale_floor).

    The weights live in Connection objects, so each loss evaluation first copies the (perturbed)
    parameter arrays into the network.
    """
    params = onet.params()
    grads = onet.gradient(x, t)

    def loss() -> float:
        onet.set_params(params)
        return onet.loss_value(x, t)

    try:
        report = check_gradient(
            loss,
            params,
            grads,
            eps,
            names=_layer_names(len(params) // 2),
            **options,
        )
    finally:
        onet.set_params(params)  # every weight back to its exact original value
    report.details["engine"] = "object"
    return report
