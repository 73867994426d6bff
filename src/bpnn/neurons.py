"""The object engine: the tutorial's network of Node, BiasNode, Connection, Layer objects.

This is the reference that people read to learn backpropagation, so it keeps the tutorial's
structure and names (the tutorial's ``bp.py``), in one module as the tutorial has it (which is
why it runs past 400 lines: split, its forward and backward passes would no longer read side by
side):

- a ``Node`` records its output ``a``, its weighted input ``net`` and its error term ``delta``, and
  the connections to its upstream and downstream nodes;
- a ``BiasNode`` (the tutorial's ``ConstNode``) is the last node of every layer but the output
  layer; its output is always 1, so the weight of its connection to node j is the bias w_jb;
- a ``Connection`` joins node i (upstream) to node j (downstream) and holds the weight w_ji
  ("to j from i", as the tutorial numbers weights) and its gradient;
- a ``Layer`` is a list of nodes; an ``ObjectNetwork`` (the tutorial's ``Network``) is a list
  of layers plus all the connections.

Training is one sample at a time, formula by formula:

- formula 1, forward: net_j = sum_i w_ji x_ji, a_j = f(net_j);
- formula 3, output delta: delta_j = -dE/dnet_j; for sigmoid and squared error
  y_j (1 - y_j)(t_j - y_j);
- formula 4, hidden delta: delta_j = f'(a_j) sum_k w_kj delta_k over the downstream nodes k;
- formula 5, update: w_ji <- w_ji + eta delta_j x_ji (the bias input x_jb is 1).

Note the sign: the tutorial's delta (and ``Connection.gradient`` = delta_j x_ji) is *minus* the
true gradient dE/dw.  ``ObjectNetwork.gradient`` returns the true gradient in the vectorised
layout, so the two engines (and ``bpnn.gradcheck``) can be compared directly.

Every activation in ``bpnn.activations`` and both losses in ``bpnn.losses`` work: each node sums
its own inputs, then its layer applies the activation to all its nodes at once (softmax needs the
whole layer), and the output deltas come from the loss (softmax's Jacobian included).

Values are Python floats (float64).  Deliberately left out: batches, dropout, other dtypes and
speed tricks beyond plain loops over connections (``bpnn.network`` is the fast engine).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from .activations import Activation, hidden_activation
from .engine import EngineNames
from .init import init_weights
from .losses import Loss, get_loss

if TYPE_CHECKING:  # (bpnn.network is imported where it is used)
    from .network import Network

__all__ = ["BiasNode", "Connection", "Layer", "Node", "ObjectNetwork"]


class Node:
    """One neuron: its output a = f(net), its weighted input net and its error term delta.

    ``upstream``: the connections into this node; ``downstream``: the connections out of it.
    """

    __slots__ = ("delta", "downstream", "layer_index", "net", "node_index", "output", "upstream")

    def __init__(self, layer_index: int, node_index: int):
        self.layer_index, self.node_index = layer_index, node_index
        self.upstream: list[Connection] = []
        self.downstream: list[Connection] = []
        self.net = 0.0
        self.output = 0.0
        self.delta = 0.0

    def set_output(self, output: float) -> None:
        """Input-layer nodes simply hold the sample's value."""
        self.output = output

    def calc_net(self) -> float:
        """Formula 1's weighted sum: net_j = sum_i w_ji a_i (the bias node's a_i is 1)."""
        net = 0.0
        for conn in self.upstream:
            net += conn.weight * conn.upstream_node.output
        self.net = net
        return net

    def downstream_delta(self) -> float:
        """Formula 4's sum: sum_k w_kj delta_k over the nodes k this node feeds."""
        total = 0.0
        for conn in self.downstream:
            total += conn.weight * conn.downstream_node.delta
        return total

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(layer {self.layer_index}, index {self.node_index}, "
            f"output={self.output:.4g}, delta={self.delta:.4g})"
        )


class BiasNode(Node):
    """The tutorial's ConstNode: output always 1, so its connection's weight is a bias."""

    __slots__ = ()

    def __init__(self, layer_index: int, node_index: int):
        super().__init__(layer_index, node_index)
        self.output = 1.0

    def set_output(self, output: float) -> None:
        raise AttributeError("a bias node's output is always 1")

    def __repr__(self) -> str:
        return f"BiasNode(layer {self.layer_index}, index {self.node_index}, output=1)"


class Connection:
    """The link from ``upstream_node`` (i) to ``downstream_node`` (j): weight w_ji and gradient.

    ``gradient`` follows the tutorial: delta_j x_ji = -dE/dw_ji, so formula 5 is
    ``weight += rate * gradient``.  ``ObjectNetwork.calc_gradient`` and ``update_weight`` set them
    for every connection in one loop (the tutorial's two method calls per weight are slower).
    """

    __slots__ = ("downstream_node", "gradient", "upstream_node", "weight")

    def __init__(self, upstream_node: Node, downstream_node: Node, weight: float = 0.0):
        self.upstream_node, self.downstream_node = upstream_node, downstream_node
        self.weight = float(weight)
        self.gradient = 0.0

    def __repr__(self) -> str:
        up, down = self.upstream_node, self.downstream_node
        return (
            f"Connection({up.layer_index}-{up.node_index} -> "
            f"{down.layer_index}-{down.node_index}, weight={self.weight:.4g})"
        )


class Layer:
    """The nodes of one layer; every layer but the output layer ends with a BiasNode.

    ``activation`` is applied to all its nodes at once (None for the input layer).
    """

    __slots__ = ("activation", "layer_index", "neurons", "nodes")

    def __init__(
        self, layer_index: int, node_count: int, activation: Activation | None, bias: bool
    ):
        self.layer_index = layer_index
        self.neurons: list[Node] = [Node(layer_index, i) for i in range(node_count)]
        # ``nodes`` is what the next layer connects from: the neurons and the bias node.
        self.nodes: list[Node] = self.neurons + (
            [BiasNode(layer_index, node_count)] if bias else []
        )
        self.activation = activation

    @property
    def act(self) -> Activation:
        """The activation of a hidden or output layer (a ValueError for the input layer)."""
        if self.activation is None:
            raise ValueError("the input layer has no activation")
        return self.activation

    def set_output(self, sample) -> None:
        """Input layer: node i outputs x_i."""
        for node, value in zip(self.neurons, sample):
            node.set_output(float(value))

    def calc_output(self) -> None:
        """Formula 1 for the whole layer: every node sums its inputs, then a = f(net)."""
        neurons = self.neurons
        nets = [node.calc_net() for node in neurons]
        # formula 1: a_j = f(net_j), net_j = sum_i w_ji x_ji (Node.calc_net), all nodes at once
        outputs = self.act.forward(np.array([nets]))[0].tolist()
        for node, a in zip(neurons, outputs):
            node.output = a

    def outputs(self) -> list[float]:
        return [node.output for node in self.neurons]

    def __repr__(self) -> str:
        act = self.activation.name if self.activation else "input"
        bias = " + bias" if len(self.nodes) > len(self.neurons) else ""
        return f"Layer({self.layer_index}, {len(self.neurons)} nodes{bias}, {act})"


class ObjectNetwork(EngineNames):
    """A fully connected network of node objects, e.g. ``ObjectNetwork([3, 4, 2])``.

    The tutorial calls it ``Network``; here it is ``ObjectNetwork`` so that it is never confused
    with the vectorised ``bpnn.Network``.  Its methods keep the tutorial's names.

    The arguments mean what they mean for ``bpnn.Network`` (the same seed draws the same
    weights; biases start at 0).  ``layers[0]`` is the input layer.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        activation: str | Activation = "sigmoid",
        output: str | Activation | None = None,
        loss: str | Loss = "squared",
        init: str = "uniform",
        seed: int | np.random.Generator | None = None,
    ) -> None:
        sizes = [int(s) for s in sizes]
        if len(sizes) < 2 or min(sizes) < 1:
            raise ValueError(f"sizes needs at least two positive layer sizes, got {sizes}")
        self.loss_fn: Loss = get_loss(loss)
        out_act = self.loss_fn.output_activation(output)
        hidden_act = hidden_activation(activation)
        last = len(sizes) - 1
        self.layers = [
            Layer(i, n, None if i == 0 else out_act if i == last else hidden_act, bias=i < last)
            for i, n in enumerate(sizes)
        ]
        # Connections: every node of layer N-1 (bias included) to every neuron of layer N.
        self.connections: list[Connection] = []
        for upper, lower in zip(self.layers[:-1], self.layers[1:]):
            for down in lower.neurons:
                for up in upper.nodes:
                    conn = Connection(up, down)
                    up.downstream.append(conn)
                    down.upstream.append(conn)
                    self.connections.append(conn)
        rng = np.random.default_rng(seed)
        self.set_params(
            [
                p
                for n_in, n_out in zip(sizes[:-1], sizes[1:])
                for p in (init_weights(init, rng, n_out, n_in, np.float64), np.zeros(n_out))
            ]
        )

    # ---- description ---------------------------------------------------------------------
    @property
    def sizes(self) -> list[int]:
        return [len(layer.neurons) for layer in self.layers]

    def layer_activations(self) -> list[Activation]:
        return [layer.act for layer in self.layers[1:]]  # layers[0] is the input layer

    def node(self, number: int) -> Node:
        """The tutorial's numbering: neurons 1, 2, ... from the input layer on (no bias nodes)."""
        neurons = [node for layer in self.layers for node in layer.neurons]
        if not 1 <= number <= len(neurons):
            raise ValueError(f"node numbers run from 1 to {len(neurons)}, got {number}")
        return neurons[number - 1]

    def connection(self, j: int, i: int | str) -> Connection:
        """The connection carrying w_ji (tutorial numbering); ``i="b"`` gives the bias w_jb."""
        if isinstance(i, str) and i != "b":  # (was a TypeError from node())
            raise ValueError(f'i is a node number or "b" (the bias), got {i!r}')
        source = None if isinstance(i, str) else self.node(i)
        for conn in self.node(j).upstream:
            up = conn.upstream_node
            if up is source or (source is None and isinstance(up, BiasNode)):
                return conn
        raise ValueError(f"no connection to node {j} from node {i}")

    def __repr__(self) -> str:
        return (
            f"ObjectNetwork({self.sizes}, activation={self.activation!r}, "
            f"output={self.output!r}, loss={self.loss_name!r}, "
            f"{len(self.connections)} connections)"
        )

    def dump(self) -> str:
        """Every node and connection, one per line (the tutorial's ``dump``)."""
        lines = []
        for layer in self.layers:
            lines.append(repr(layer))
            for node in layer.nodes:
                lines.append(f"  {node!r}")
                lines.extend(f"    {conn!r}" for conn in node.upstream)
        return "\n".join(lines)

    # ---- conversion to and from the vectorised layout ------------------------------------
    def params(self) -> list[np.ndarray]:
        """Copies of the weights as [W0, b0, W1, b1, ...]; W: (n_out, n_in), b: (n_out,)."""
        out = []
        for layer in self.layers[1:]:
            rows = [[conn.weight for conn in node.upstream] for node in layer.neurons]
            A = np.array(rows, dtype=np.float64)  # the bias connection is each row's last
            out += [A[:, :-1], A[:, -1].copy()]
        return out

    def set_params(self, params: Iterable[ArrayLike]) -> None:
        """Set every weight from [W0, b0, W1, b1, ...] in the vectorised layout."""
        arrays = [np.asarray(p, dtype=np.float64) for p in params]
        if len(arrays) != 2 * (len(self.layers) - 1):
            raise ValueError(
                f"expected {2 * (len(self.layers) - 1)} parameter arrays, got {len(arrays)}"
            )
        for k, layer in enumerate(self.layers[1:]):
            W, b = arrays[2 * k], arrays[2 * k + 1]
            n_out, n_in = len(layer.neurons), len(self.layers[k].neurons)
            if W.shape != (n_out, n_in) or b.shape != (n_out,):
                raise ValueError(
                    f"layer {k + 1} needs W {(n_out, n_in)} and b {(n_out,)}, "
                    f"got {W.shape} and {b.shape}"
                )
            for node, w_row, b_j in zip(layer.neurons, W.tolist(), b.tolist()):
                for conn, w in zip(node.upstream, w_row + [b_j]):
                    conn.weight = w

    @classmethod
    def from_vectorised(cls, net: Network) -> ObjectNetwork:
        """An object network with the sizes, activations, loss and weights of a bpnn.Network."""
        onet = cls(
            net.sizes, activation=net.activation, output=net.output, loss=net.loss_name, seed=0
        )
        onet.set_params(net.params())
        return onet

    def to_vectorised(self, dtype: DTypeLike = np.float64) -> Network:
        """A bpnn.Network with the same architecture and weights."""
        from .network import Network

        net = Network(
            self.sizes,
            activation=self.activation,
            output=self.output,
            loss=self.loss_name,
            dtype=dtype,
            seed=0,
        )
        net.set_params(self.params())
        return net

    # ---- forward: formula 1 --------------------------------------------------------------
    def _sample(self, x: ArrayLike) -> list[float]:
        sample = np.asarray(x, dtype=np.float64)
        n_in = len(self.layers[0].neurons)
        if sample.shape != (n_in,):
            raise ValueError(f"a sample must have shape ({n_in},), got {sample.shape}")
        if not np.isfinite(sample).all():
            bad = int(np.count_nonzero(~np.isfinite(sample)))
            raise ValueError(f"a sample must be finite, got {bad} NaN or infinite value(s)")
        return sample.tolist()

    def _target(self, t: ArrayLike) -> np.ndarray:
        """t (n_out,) as a one-row array for the loss functions."""
        t = np.asarray(t, dtype=np.float64)
        n_out = len(self.layers[-1].neurons)
        if t.shape != (n_out,):
            raise ValueError(f"a target must have shape ({n_out},), got {t.shape}")
        return t[None, :]

    def forward(self, x: ArrayLike) -> list[float]:
        """Formula 1 layer by layer for one sample x (n_in,); the output layer's values."""
        self.layers[0].set_output(self._sample(x))
        for layer in self.layers[1:]:
            layer.calc_output()
        return self.layers[-1].outputs()

    def predict(self, x: ArrayLike) -> np.ndarray:
        """Output activations: one sample (n_in,) -> (n_out,); rows (n, n_in) -> (n, n_out)."""
        if np.ndim(x) == 2:
            return np.array([self.forward(row) for row in np.asarray(x)])
        return np.array(self.forward(x))

    def _output_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """The output layer's nets z and outputs y as (1, n_out) arrays."""
        out = self.layers[-1].neurons
        return (np.array([[node.net for node in out]]), np.array([[node.output for node in out]]))

    def loss_value(self, x: ArrayLike, t: ArrayLike) -> float:
        """The loss of one sample (n_in,) with target t (n_out,); the mean over rows for 2-D."""
        if np.ndim(x) == 2:
            rows = zip(np.asarray(x), np.asarray(t))
            return float(np.mean([self.loss_value(row, t_row) for row, t_row in rows]))
        T = self._target(t)
        self.forward(x)
        z, y = self._output_arrays()
        return float(self.loss_fn.value(z, y, T)[0])

    # ---- backward: formulas 3 and 4 ------------------------------------------------------
    def calc_delta(self, t: ArrayLike) -> None:
        """Every node's delta = -dE/dnet after ``predict``: output layer first, then backwards."""
        out = self.layers[-1]
        z, y = self._output_arrays()
        T = self._target(t)
        dE_dz = self.loss_fn.delta(z, y, T, out.act)[0].tolist()
        for node, g in zip(out.neurons, dE_dz):
            node.delta = -g  # formula 3: sigmoid + squared error gives y (1 - y)(t - y)
        for layer in self.layers[-2:0:-1]:  # hidden layers, last first (the input needs none)
            neurons = layer.neurons
            sums = np.array([[node.downstream_delta() for node in neurons]])
            outputs = np.array([layer.outputs()])
            # formula 4: f'(a) * sum_k w_kj delta_k (backward multiplies by f' computed from a)
            for node, d in zip(neurons, layer.act.backward(outputs, sums)[0].tolist()):
                node.delta = d

    # ---- formula 5 -----------------------------------------------------------------------
    def calc_gradient(self) -> None:
        """Every connection's gradient = delta_j x_ji (the tutorial's sign: -dE/dw)."""
        for layer in self.layers[1:]:
            for node in layer.neurons:
                delta = node.delta
                for conn in node.upstream:
                    conn.gradient = delta * conn.upstream_node.output

    def update_weight(self, rate: float) -> None:
        """Formula 5 for every weight: w_ji += rate * delta_j x_ji (also sets the gradients)."""
        for layer in self.layers[1:]:
            for node in layer.neurons:
                delta = node.delta
                for conn in node.upstream:
                    gradient = delta * conn.upstream_node.output
                    conn.gradient = gradient
                    conn.weight += rate * gradient  # formula 5: w_ji += eta delta_j x_ji

    def train_one_sample(self, x: ArrayLike, t: ArrayLike, rate: float) -> None:
        """The tutorial's per-sample step: forward, deltas, update (x: (n_in,), t: (n_out,))."""
        self.forward(x)
        self.calc_delta(t)
        self.update_weight(rate)

    def train(
        self, X: Iterable[ArrayLike], T: Iterable[ArrayLike], rate: float, epochs: int = 1
    ) -> None:
        """Per-sample training over the rows of X (n, n_in) and T (n, n_out), in order."""
        for _ in range(epochs):
            for x, t in zip(X, T):
                self.train_one_sample(x, t, rate)

    def get_gradient(self, x: ArrayLike, t: ArrayLike) -> None:
        """Forward, deltas and gradients for one sample, without changing any weight."""
        self.forward(x)
        self.calc_delta(t)
        self.calc_gradient()

    def gradient(self, x: ArrayLike, t: ArrayLike) -> list[np.ndarray]:
        """The true gradient dE/dw (mean over rows for 2-D x) as [dW0, db0, dW1, db1, ...].

        x: (n_in,) or (n, n_in); t: (n_out,) or (n, n_out).  This is minus the connections'
        ``gradient``, laid out as ``params()`` and ``bpnn.Network.gradient``.
        """
        rows = np.atleast_2d(np.asarray(x, dtype=np.float64))
        targets = np.atleast_2d(np.asarray(t, dtype=np.float64))
        total: list[np.ndarray] | None = None
        for row, t_row in zip(rows, targets):
            self.get_gradient(row, t_row)
            grads = [
                -np.array([[conn.gradient for conn in node.upstream] for node in layer.neurons])
                for layer in self.layers[1:]
            ]
            total = grads if total is None else [a + g for a, g in zip(total, grads)]
        if total is None:  # (was a TypeError: None is not iterable)
            raise ValueError("the gradient needs at least one sample")
        return [p for G in total for p in (G[:, :-1] / len(rows), G[:, -1] / len(rows))]
