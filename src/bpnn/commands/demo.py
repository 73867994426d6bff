"""``bpnn demo``: the classic toy problems, learned by both engines in a couple of seconds.

- XOR: inputs (0,0), (0,1), (1,0), (1,1); target 0.9 where exactly one input is 1, else 0.1;
  a 2-4-1 sigmoid network.  Correct: the output is on the target's side of 0.5.
- The 8-3-8 encoder: the eight one-hot patterns of 8 bits, each to be reproduced at the output
  (0.9 / 0.1 targets) through a hidden layer of only 3 units, which must invent a 3-bit code.
  Correct: the largest output is the input's hot bit.

Both are trained as in the tutorial: sigmoid units, squared error, one sample at a time
(formula 5), from the same seeded initial weights, by the vectorised engine (``bpnn.Network``
with ``SGD`` at batch size 1) and by the object engine (``bpnn.neurons``); the two end with the
same weights up to rounding.  ``--json`` prints one JSON object with each problem's correct
counts per engine, final losses and the largest weight difference between the engines.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass

import numpy as np

from ..network import Network
from ..neurons import ObjectNetwork
from ..optim import SGD
from . import command


@dataclass(frozen=True)
class ToyProblem:
    """A tiny data set and the per-sample SGD settings that learn it."""

    name: str
    X: np.ndarray  # (n, n_in)
    T: np.ndarray  # (n, n_out), 0.9 / 0.1
    hidden: int
    rate: float
    epochs: int

    @property
    def sizes(self) -> list[int]:
        return [self.X.shape[1], self.hidden, self.T.shape[1]]

    def correct(self, Y: np.ndarray) -> int:
        """How many samples the outputs Y (n, n_out) get right."""
        if Y.shape[1] == 1:
            return int(np.sum((Y[:, 0] > 0.5) == (self.T[:, 0] > 0.5)))
        return int(np.sum(Y.argmax(axis=1) == self.T.argmax(axis=1)))


XOR = ToyProblem(
    "xor",
    np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64),
    np.array([[0.1], [0.9], [0.9], [0.1]]),
    hidden=4,
    rate=1.0,
    epochs=1500,
)
ENCODER = ToyProblem(
    "encoder-8-3-8", np.eye(8), np.where(np.eye(8) > 0, 0.9, 0.1), hidden=3, rate=2.0, epochs=1000
)
PROBLEMS = (XOR, ENCODER)


def train_vectorised(problem: ToyProblem, seed: int) -> Network:
    """Formula 5 with the vectorised engine: SGD, batch size 1, samples in order."""
    net = Network(problem.sizes, activation="sigmoid", loss="squared", init="xavier", seed=seed)
    opt, params = SGD(lr=problem.rate), net.params()
    for _ in range(problem.epochs):
        for x, t in zip(problem.X, problem.T):
            opt.step(params, net.gradient(x, t[None, :]))
    return net


def train_objects(problem: ToyProblem, seed: int) -> ObjectNetwork:
    """The same with the object engine, from the same initial weights."""
    onet = ObjectNetwork(
        problem.sizes, activation="sigmoid", loss="squared", init="xavier", seed=seed
    )
    onet.train(problem.X, problem.T, problem.rate, problem.epochs)
    return onet


def solve(problem: ToyProblem, seed: int = 0) -> dict:
    """Train both engines on one problem; their results as JSON-able data."""
    out = {
        "problem": problem.name,
        "sizes": problem.sizes,
        "samples": len(problem.X),
        "rate": problem.rate,
        "epochs": problem.epochs,
    }
    start = time.perf_counter()
    net = train_vectorised(problem, seed)
    Y = net.predict(problem.X)
    out["vectorised"] = {
        "correct": problem.correct(Y),
        "loss": net.loss_value(problem.X, problem.T),
        "seconds": time.perf_counter() - start,
    }
    start = time.perf_counter()
    onet = train_objects(problem, seed)
    out["object"] = {
        "correct": problem.correct(onet.predict(problem.X)),
        "loss": onet.loss_value(problem.X, problem.T),
        "seconds": time.perf_counter() - start,
    }
    out["max_weight_difference"] = max(
        float(np.abs(a - b).max()) for a, b in zip(net.params(), onet.params())
    )
    if problem is ENCODER:  # the 3-bit code the hidden layer invented, one row per pattern
        hidden = net.forward(net.check_input(problem.X)).outputs[0]
        out["hidden_code"] = (hidden > 0.5).astype(int).tolist()
    return out


def add_parser(subparsers) -> None:
    p = command(
        subparsers,
        "demo",
        "learn XOR and the 8-3-8 encoder with both engines",
        "Learn XOR and the 8-3-8 encoder one sample at a time with the vectorised and the "
        "object engine, from the same initial weights.",
        run,
        json="print one JSON object",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the initial weights (default 0)")


def run(args: argparse.Namespace) -> int:
    results = [solve(problem, args.seed) for problem in PROBLEMS]
    if args.json:
        print(json.dumps({"seed": args.seed, "problems": results}, indent=1))
        return 0
    for r in results:
        n = r["samples"]
        print(
            f"{r['problem']}: {'-'.join(map(str, r['sizes']))} sigmoid network, squared error, "
            f"one sample at a time, rate {r['rate']}, {r['epochs']} epochs"
        )
        for engine in ("vectorised", "object"):
            e = r[engine]
            print(
                f"  {engine + ' engine':<18} {e['correct']}/{n} correct, loss {e['loss']:.2e}, "
                f"{e['seconds']:.2f} s"
            )
        print(f"  the engines' weights differ by at most {r['max_weight_difference']:.1e}")
        if "hidden_code" in r:
            codes = " ".join("".join(map(str, row)) for row in r["hidden_code"])
            print(f"  hidden code of the 8 patterns: {codes}")
    return 0
