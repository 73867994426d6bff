"""Committees against one network: test error and seconds of ``--ensemble K`` on small tables.

    python benchmarks/ensemble.py [--members 5] [--seeds 0] [--sets iris wine digits]

Each data set (scikit-learn's bundled iris, wine, breast cancer, digits) is trained with bpnn's
documented tabular defaults (``bpnn.fit(X, y, seed=s)``: a seeded 20% test split, early
stopping on the validation loss), once as one network and once as a committee of K
(``ensemble=K``, members seed, seed + 1, ...; the same splits).  Checkpoints are written only
at the end (``checkpoint_every=1000``: they change no weight, and a per-epoch fsync on a busy
disk would dominate these small runs).  Seconds are the training loops' (``results["seconds"]``,
every member's summed) and the wall time of the whole call (evaluations included).  The test
sets are 30, 35, 113 and 359 samples.
"""

from __future__ import annotations

import argparse
import time

from sklearn.datasets import load_breast_cancer, load_digits, load_iris, load_wine

import bpnn

SETS = {
    "iris": load_iris,
    "wine": load_wine,
    "breast cancer": load_breast_cancer,
    "digits": load_digits,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=5)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--sets", nargs="+", choices=list(SETS), default=list(SETS))
    args = parser.parse_args()
    print("| data set | networks | seed | test error | training s | wall s |")
    print("|---|---|---|---|---|---|")
    runs: dict[tuple[str, int], list[tuple[int, int, float, float]]] = {}
    for name in args.sets:
        X, y = SETS[name](return_X_y=True)
        for seed in args.seeds:
            for k in (1, args.members):
                start = time.perf_counter()
                model = bpnn.fit(X, y, ensemble=k, seed=seed, checkpoint_every=1000)
                wall = time.perf_counter() - start
                r = model.results
                wrong = round(r["test_error"] * r["test_samples"])
                runs.setdefault((name, k), []).append(
                    (wrong, r["test_samples"], r["seconds"], wall)
                )
                print(
                    f"| {name} | {k} | {seed} | {100 * r['test_error']:.2f}% "
                    f"({wrong} of {r['test_samples']}) | {r['seconds']:.2f} | {wall:.2f} |",
                    flush=True,
                )
    print(f"\nover seeds {', '.join(map(str, args.seeds))}:\n")
    print("| data set | networks | test errors (all seeds) | mean test error | mean training s |")
    print("|---|---|---|---|---|")
    for (name, k), rows in runs.items():
        wrong, total = sum(r[0] for r in rows), sum(r[1] for r in rows)
        seconds = sum(r[2] for r in rows) / len(rows)
        print(f"| {name} | {k} | {wrong} of {total} | {100 * wrong / total:.2f}% | {seconds:.2f} |")


if __name__ == "__main__":
    main()
