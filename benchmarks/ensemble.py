"""Committees against one network: test error and seconds of ``--ensemble K`` on small tables.

    python benchmarks/ensemble.py [--members 5] [--seeds 0] [--sets iris wine digits]

Each data set (scikit-learn's bundled iris, wine, digits) is trained with bpnn's documented
tabular defaults (``bpnn.fit(X, y, seed=s)``: a seeded 20% test split, early stopping on the
validation loss), once as one network and once as a committee of K (``ensemble=K``, members
seed, seed + 1, ...; the same splits).  Seconds are the training loops' (``results["seconds"]``,
every member's summed) and the wall time of the whole call.  The test sets are 30, 36 and 360
samples: one sample is 3.3%, 2.8% and 0.28%.
"""

from __future__ import annotations

import argparse
import time

from sklearn.datasets import load_digits, load_iris, load_wine

import bpnn

SETS = {"iris": load_iris, "wine": load_wine, "digits": load_digits}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=5)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--sets", nargs="+", choices=list(SETS), default=list(SETS))
    args = parser.parse_args()
    print("| data set | networks | seed | test error | training s | wall s |")
    print("|---|---|---|---|---|---|")
    for name in args.sets:
        X, y = SETS[name](return_X_y=True)
        for seed in args.seeds:
            for k in (1, args.members):
                start = time.perf_counter()
                model = bpnn.fit(X, y, ensemble=k, seed=seed)
                wall = time.perf_counter() - start
                r = model.results
                print(
                    f"| {name} | {k} | {seed} | {100 * r['test_error']:.2f}% "
                    f"({round(r['test_error'] * r['test_samples'])} of {r['test_samples']}) "
                    f"| {r['seconds']:.2f} | {wall:.2f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
