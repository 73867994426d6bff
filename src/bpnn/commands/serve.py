"""``bpnn serve MODEL [--host 127.0.0.1] [--port 8000]``: the draw-a-digit page (``bpnn.server``).

Binds to loopback unless ``--host`` says otherwise (``--host 0.0.0.0`` opens it to the network:
there is no authentication).  A loopback server answers only requests addressed to a loopback
name (against DNS rebinding).  The port is taken before anything is printed, so a port in use is
one error line.
"""

from __future__ import annotations

import ipaddress
import sys
from pathlib import Path

from ..modelfile import read_model
from . import command


def add_parser(sub) -> None:
    p = command(
        sub,
        "serve",
        "a web page where you draw a digit and the model reads it",
        "Serve the draw-a-digit page and its JSON API (POST /api/predict, GET /health); a "
        'model trained on a table answers POST /predict of JSON {"rows": [{column: value}]}.',
        run,
        model="a model file (model.npz) or a run folder holding one",
    )
    p.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1, this machine only)"
    )
    p.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")


def trusted_hosts(host: str):
    """The Host headers to answer: loopback names for a loopback address, any host otherwise."""
    from ..server import LOOPBACK_HOSTS

    try:
        loopback = ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        loopback = host == "localhost"
    return LOOPBACK_HOSTS if loopback else None


def run(args) -> int:
    if not 0 <= args.port <= 65535:
        raise ValueError(f"--port must be between 0 and 65535, got {args.port}")
    net, info = read_model(args.model)
    from ..httpd import listen, serve  # the web stack loads only for this command
    from ..server import create_app

    app = create_app(
        net, info, model_name=Path(args.model).name, allowed_hosts=trusted_hosts(args.host)
    )
    sock = listen(args.host, args.port)
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(
        f"bpnn serve: {args.model} at http://{host}:{sock.getsockname()[1]}/  (Ctrl+C to stop)",
        file=sys.stderr,
        flush=True,
    )
    serve(app, sock)
    return 0
