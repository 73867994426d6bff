"""``bpnn info MODEL``: architecture, parameter count, how it was trained, recorded results."""
from __future__ import annotations

import json

from ..checkpoint import load_model


def add_parser(sub) -> None:
    p = sub.add_parser("info", help="describe a model file",
                       description="Architecture, parameter count, training settings and results of a model.")
    p.add_argument("model", metavar="MODEL", help="a model file (model.npz)")
    p.add_argument("--json", action="store_true", help="print the description as JSON")
    p.set_defaults(func=run)


def describe(path) -> dict:
    net, meta = load_model(path)
    return {"model": str(path), "format_version": meta["version"], "network": net.config(),
            "parameters": net.n_params(), "preprocessing": meta.get("preprocessing"),
            "training": meta.get("config"), "results": meta.get("results")}


def run(args) -> int:
    info = describe(args.model)
    if args.json:
        print(json.dumps(info))
        return 0
    net = info["network"]
    print(f"model       {info['model']} (format version {info['format_version']})")
    print(f"layers      {'-'.join(map(str, net['sizes']))}  ({info['parameters']:,} parameters, {net['dtype']})")
    print(f"activation  {net['activation']} hidden, {net['output']} output, {net['loss']} loss")
    if any(net["dropout"]):
        print(f"dropout     {net['dropout']}")
    training = info["training"] or {}
    if training:
        print(f"trained     preset {training.get('preset')}, {training.get('optimizer')} lr {training.get('lr')}, "
              f"batch {training.get('batch_size')}, schedule {training.get('schedule')}, seed {training.get('seed')}")
    results = info["results"] or {}
    if "test_error" in results:
        print(f"results     test error {100 * results['test_error']:.2f}% after {results.get('epochs')} epochs "
              f"({results.get('seconds')} s); {results.get('stop_reason')}")
    return 0
