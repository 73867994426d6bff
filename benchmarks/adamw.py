"""AdamW against Adam on small tables: test errors over seeds with bpnn's tabular defaults.

    python benchmarks/adamw.py [--seeds 0 1 2]

Each data set (scikit-learn's digits and breast cancer) is trained with the documented tabular
defaults (``bpnn.fit(X, y, seed=s)``: Adam at 0.001, a seeded 20% test split, early stopping on
the validation loss) and four optimiser settings: Adam, Adam with L2 decay 1e-2 in the
gradient, and AdamW (decoupled decay) at 1e-2 and 1e-1 with the cosine schedule.  Test errors
are summed over the seeds; seconds are the training loops' mean.  Checkpoints are written only
at the end (``checkpoint_every=1000``: they change no weight).
"""

from __future__ import annotations

import argparse

from sklearn.datasets import load_breast_cancer, load_digits

import bpnn

SETS = {"digits": load_digits, "breast cancer": load_breast_cancer}
SETTINGS = {
    "adam": dict(optimizer="adam"),
    "adam + L2 1e-2": dict(optimizer="adam", weight_decay=1e-2),
    "adamw 1e-2, cosine": dict(optimizer="adamw", weight_decay=1e-2, schedule="cosine"),
    "adamw 1e-1, cosine": dict(optimizer="adamw", weight_decay=1e-1, schedule="cosine"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    print("| data set | optimiser | test errors (all seeds) | mean training s |")
    print("|---|---|---|---|")
    for name, load in SETS.items():
        X, y = load(return_X_y=True)
        for label, settings in SETTINGS.items():
            wrong = total = 0
            seconds = 0.0
            for seed in args.seeds:
                r = bpnn.fit(X, y, seed=seed, checkpoint_every=1000, **settings).results
                wrong += round(r["test_error"] * r["test_samples"])
                total += r["test_samples"]
                seconds += r["seconds"]
            print(
                f"| {name} | {label} | {wrong} of {total} ({100 * wrong / total:.2f}%) "
                f"| {seconds / len(args.seeds):.2f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
