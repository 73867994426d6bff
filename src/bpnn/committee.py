"""A committee: K networks of one architecture whose outputs are averaged (``--ensemble K``).

``Committee(members)`` is a ``Network`` for everything that uses a trained one: ``predict`` and
``forward`` give the mean of the members' outputs (n, n_outputs) -- softmax probabilities for
the default classifiers, values for regression -- so ``bpnn.load(...).predict``, ``predict``,
``serve``, ``evaluate`` and the estimators use the average without knowing.  Its description
(``sizes``, ``config()``, ``layers``, activations, loss) is its first member's, which every
member shares; ``n_params`` counts them all.  It is never trained as one network: each member
is trained by its own ``Trainer`` (``bpnn.committees``), so the gradients refuse.

Not here: the file format (``bpnn.modelfile``: member k's arrays are ``m{k}.W0``...), training
the members (``bpnn.committees``), the ONNX graph (``bpnn.export``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .network import Cache, Network

__all__ = ["Committee", "members_of"]


class Committee(Network):
    """members: two or more ``Network`` objects with one architecture (``config()``)."""

    def __init__(self, members: Sequence[Network]):  # (no super().__init__: nothing to draw)
        members = list(members)
        if len(members) < 2:
            raise ValueError(f"a committee needs at least 2 networks, got {len(members)}")
        first = members[0]
        for k, net in enumerate(members[1:], 1):
            if net.config() != first.config():
                raise ValueError(f"committee member {k} has another architecture than member 0")
        self.members = members
        self.loss_fn, self.dtype, self.init = first.loss_fn, first.dtype, first.init
        self.layers = first.layers  # the description; the weights used are each member's

    def __repr__(self) -> str:
        return f"Committee({len(self.members)} x {super().__repr__()})"

    def n_params(self) -> int:
        return sum(net.n_params() for net in self.members)

    def params(self) -> list[np.ndarray]:
        """Every member's parameter arrays, member after member: [W0, b0, ...] of member 0, ..."""
        return [p for net in self.members for p in net.params()]

    def copy(self) -> Committee:
        return Committee([net.copy() for net in self.members])

    def forward(self, X: np.ndarray, rng: np.random.Generator | None = None) -> Cache:
        """The mean of the members' outputs, (n, n_outputs), as the only layer of a Cache
        (``outputs[-1]`` and ``z`` both: a committee has no logits of its own).  X: (n,
        n_inputs), checked.  No dropout: a committee only predicts."""
        if rng is not None:
            raise TypeError("a committee is not trained as one network: train its members")
        mean = self.members[0].forward(X).outputs[-1].copy()
        for net in self.members[1:]:
            mean += net.forward(X).outputs[-1]
        mean /= len(self.members)
        return Cache([X], [mean], mean, [None])

    def gradient(self, *args, **kwargs):
        raise TypeError("a committee is not trained as one network: train its members")

    backward = gradient


def members_of(net: Network) -> list[Network]:
    """The networks whose outputs a model averages: a committee's members, else ``[net]``."""
    return list(net.members) if isinstance(net, Committee) else [net]
