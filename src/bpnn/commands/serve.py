"""``bpnn serve MODEL [--host 127.0.0.1] [--port 8000]``: the draw-a-digit page (``bpnn.server``).

Binds to loopback unless ``--host`` says otherwise (``--host 0.0.0.0`` opens it to the network:
there is no authentication).
"""
from __future__ import annotations

import sys
from pathlib import Path

from ..checkpoint import load_model


def add_parser(sub) -> None:
    p = sub.add_parser("serve", help="a web page where you draw a digit and the model reads it",
                       description="Serve the draw-a-digit page and its JSON API "
                       "(POST /api/predict, GET /health).")
    p.add_argument("model", metavar="MODEL", help="a model file (model.npz)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1, "
                   "this machine only)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.set_defaults(func=run)


def run(args) -> int:
    if not 0 <= args.port <= 65535:
        raise ValueError(f"--port must be between 0 and 65535, got {args.port}")
    net, meta = load_model(args.model)
    import uvicorn  # the web stack loads only for this command

    from ..server import create_app

    app = create_app(net, meta, model_name=Path(args.model).name)
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"bpnn serve: {args.model} at http://{host}:{args.port}/  (Ctrl+C to stop)",
          file=sys.stderr, flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0
