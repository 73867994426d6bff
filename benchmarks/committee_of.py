"""The test error of a committee made of saved models: each model's, then the mean of the
first k models' softmax outputs for k = 2..K, on MNIST's 10,000 test digits.

    python benchmarks/committee_of.py MODEL [MODEL ...] [--data DIR]

For members of a committee still being trained (``bpnn train --ensemble K`` writes member k's
``model.npz`` in ``OUT/members/k`` when it is done), or for single runs of several seeds: the
committee ``bpnn evaluate`` reports once all K are done, from the members done so far.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"


def main(argv=None) -> None:
    import bpnn
    from bpnn.data.folder import load_mnist

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("models", nargs="+", help="model files (model.npz) or run folders")
    p.add_argument("--data", default=os.environ.get("BPNN_DATA") or str(SHARED))
    args = p.parse_args(argv)
    X, y = load_mnist(args.data, "test")
    probabilities, classes = [], None
    for path in args.models:
        model = bpnn.load(path)
        probabilities.append(model.predict_proba(X))
        classes = model.classes
        error = np.mean(classes[probabilities[-1].argmax(axis=1)] != y)
        print(f"{path}: test error {error:.2%}")
    for k in range(2, len(probabilities) + 1):
        mean = np.mean(probabilities[:k], axis=0)
        error = np.mean(classes[mean.argmax(axis=1)] != y)
        print(f"committee of the first {k}: test error {error:.2%}")


if __name__ == "__main__":
    main()
