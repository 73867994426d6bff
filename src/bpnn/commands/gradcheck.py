"""``bpnn gradcheck``: the tutorial's formula 6 on every activation x loss, for both engines.

Each case is a small random float64 network (4-5-3 and the deeper 4-6-5-3) with one hidden
activation (``HIDDEN``) and one output/loss pair (``OUTPUTS``), checked on three random samples
by ``bpnn.gradcheck``:

- the vectorised engine (``bpnn.Network``), without and with dropout (0.25 on the hidden
  layers' inputs, masks from a fixed seed so every loss evaluation sees the same ones);
- the object engine (``bpnn.ObjectNetwork``) with the same weights.

ReLU kinks: the derivative jumps where a pre-activation is 0, so a case whose ReLU
pre-activations come within max(1e-3, 100 eps) of 0 is drawn again.

Output: a table, or with ``--json`` one JSON object
``{"passed": bool, "max_rel_error": float, "eps": ..., "threshold": ..., "seed": ...,
"cases": [{"engine", "sizes", "hidden", "output", "loss", "dropout", "max_rel_error",
"passed", "checked", "worst"}, ...]}``.  Exit status 1 if any case's maximum relative error
exceeds the threshold.
"""

from __future__ import annotations

import argparse
import itertools
import json

import numpy as np

from ..activations import HIDDEN_ACTIVATIONS
from ..gradcheck import check_network, check_object_network
from ..network import Network
from ..neurons import ObjectNetwork
from . import command

HIDDEN = HIDDEN_ACTIVATIONS  # every activation a hidden layer may have
OUTPUTS = (
    ("sigmoid", "squared"),
    ("tanh", "squared"),
    ("identity", "squared"),
    ("softmax", "squared"),
    ("softmax", "cross_entropy"),
    ("sigmoid", "binary_cross_entropy"),
)
NETS = ((4, 5, 3), (4, 6, 5, 3))
DROPOUT = 0.25
N_SAMPLES = 3
DROPOUT_SEED = 1234


def add_parser(subparsers) -> None:
    p = command(
        subparsers,
        "gradcheck",
        "check both engines' gradients against formula 6 (central differences)",
        "Check both engines' gradients against central differences (the tutorial's "
        "formula 6) for every hidden activation x (output, loss) on small random "
        "float64 networks; exit status 1 if any case exceeds the threshold.",
        run,
        json="print one JSON object instead of a table",
    )
    p.add_argument(
        "--eps",
        type=float,
        default=1e-5,
        help="central-difference step (default 1e-5; the tutorial's 1e-4 leaves "
        "truncation errors near 1e-6)",
    )
    p.add_argument(
        "--threshold",
        type=float,
        default=1e-6,
        help="largest acceptable relative error per case (default 1e-6)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the random networks and samples")


def targets(output: str, n: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """Target rows (n, k) that the output activation can reach."""
    if output == "sigmoid":
        return rng.uniform(0.1, 0.9, (n, k))
    if output == "tanh":
        return rng.uniform(-0.8, 0.8, (n, k))
    if output == "softmax":
        return rng.dirichlet(np.ones(k), n)  # probability rows (one-hot is a special case)
    return rng.normal(0.0, 1.0, (n, k))


def kink_margin(net: Network, X: np.ndarray, dropout_seed: int | None) -> float:
    """The smallest |pre-activation| of any hidden unit whose activation has a kink at 0 (ReLU,
    leaky ReLU), inf when there is none.  X: (n, n_inputs)."""
    rng = None if dropout_seed is None else np.random.default_rng(dropout_seed)
    cache = net.forward(net.check_input(X), rng)
    margins = [
        np.abs(layer.linear(A)).min()
        for layer, A in zip(net.layers[:-1], cache.inputs)
        if layer.activation.kink
    ]
    return float(min(margins, default=np.inf))


def make_case(
    sizes, hidden: str, output: str, loss: str, dropout: float, eps: float, rng: np.random.Generator
):
    """A float64 network (random biases too) and samples X, T, drawn away from ReLU kinks."""
    seed = DROPOUT_SEED if dropout else None
    for _ in range(1000):
        net = Network(
            sizes,
            activation=hidden,
            output=output,
            loss=loss,
            init="xavier",
            dtype=np.float64,
            seed=rng,
            dropout=dropout,
        )
        for layer in net.layers:
            layer.b[:] = rng.uniform(-0.5, 0.5, layer.b.shape)
        X = rng.uniform(-1.0, 1.0, (N_SAMPLES, sizes[0]))
        if kink_margin(net, X, seed) > max(1e-3, 100 * eps):
            return net, X, targets(output, N_SAMPLES, sizes[-1], rng)
    raise RuntimeError("could not draw a case away from ReLU kinks")  # practically impossible


def run_cases(eps: float, threshold: float, seed: int) -> list[dict]:
    """Every case's record (see the module docstring)."""
    rng = np.random.default_rng(seed)
    records = []
    for sizes, hidden, (output, loss) in itertools.product(NETS, HIDDEN, OUTPUTS):
        base = {"sizes": list(sizes), "hidden": hidden, "output": output, "loss": loss}
        net, X, T = make_case(sizes, hidden, output, loss, 0.0, eps, rng)
        reports = [
            ("vectorised", 0.0, check_network(net, X, T, eps, threshold=threshold)),
            (
                "object",
                0.0,
                check_object_network(
                    ObjectNetwork.from_vectorised(net), X, T, eps, threshold=threshold
                ),
            ),
        ]
        net, X, T = make_case(sizes, hidden, output, loss, DROPOUT, eps, rng)
        reports.append(
            (
                "vectorised",
                DROPOUT,
                check_network(net, X, T, eps, dropout_seed=DROPOUT_SEED, threshold=threshold),
            )
        )
        for engine, dropout, report in reports:
            worst = report.worst  # None only when nothing was checked
            records.append(
                {
                    "engine": engine,
                    **base,
                    "dropout": dropout,
                    "max_rel_error": report.max_rel_error,
                    "passed": report.passed,
                    "checked": len(report.checks),
                    "worst": worst.name if worst else None,
                }
            )
    return records


def print_table(records: list[dict], threshold: float) -> None:
    header = (
        f"{'engine':<10} {'net':<10} {'hidden':<10} {'output':<8} {'loss':<13} "
        f"{'dropout':>7} {'params':>6} {'max rel error':>13}"
    )
    print(header)
    print("-" * len(header))
    for r in records:
        net = "-".join(str(s) for s in r["sizes"])
        flag = "" if r["passed"] else "  FAIL"
        print(
            f"{r['engine']:<10} {net:<10} {r['hidden']:<10} {r['output']:<8} {r['loss']:<13} "
            f"{r['dropout']:>7.2f} {r['checked']:>6} {r['max_rel_error']:>13.2e}{flag}"
        )
    failed = sum(not r["passed"] for r in records)
    worst = max(r["max_rel_error"] for r in records)
    verdict = "all passed" if not failed else f"{failed} FAILED"
    print(
        f"{len(records)} cases, largest relative error {worst:.2e} "
        f"(threshold {threshold:g}): {verdict}"
    )


def run(args: argparse.Namespace) -> int:
    if not args.eps > 0:
        raise ValueError(f"--eps must be positive, got {args.eps}")
    if not args.threshold > 0:
        raise ValueError(f"--threshold must be positive, got {args.threshold}")
    records = run_cases(args.eps, args.threshold, args.seed)
    passed = all(r["passed"] for r in records)
    if args.json:
        print(
            json.dumps(
                {
                    "passed": passed,
                    "max_rel_error": max(r["max_rel_error"] for r in records),
                    "eps": args.eps,
                    "threshold": args.threshold,
                    "seed": args.seed,
                    "cases": records,
                },
                indent=1,
            )
        )
    else:
        print_table(records, args.threshold)
    return 0 if passed else 1
