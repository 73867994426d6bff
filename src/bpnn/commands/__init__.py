"""The bpnn sub-commands, one module each: add_parser(subparsers) and run(args); ``command`` and
``add_data_options`` build what their parsers share."""

from __future__ import annotations

MODEL = "a model file (model.npz) or its run folder"
SOURCES = (
    "mnist (default), fashion-mnist, kmnist, a folder of IDX files, a CSV or Parquet file or a "
    ".npz file"
)
LAST_COLUMN = "CSV: the target column (default: the last)"


def command(sub, name: str, summary: str, description: str, run, *, model=None, json=None):
    """The parser of ``bpnn NAME`` (``summary`` in ``bpnn --help``), which calls ``run(args)``;
    ``model``: the help of a first argument MODEL; ``json``: the help of a ``--json`` flag."""
    p = sub.add_parser(name, help=summary, description=description, allow_abbrev=False)
    if model:
        p.add_argument("model", metavar="MODEL", help=model)
    if json:
        p.add_argument("--json", action="store_true", help=json)
    p.set_defaults(func=run)
    return p


def add_data_options(p, data: str, target: str = LAST_COLUMN, *, test: bool = False, default=None):
    """``--data SOURCE`` and ``--target COLUMN`` (and ``--test SOURCE``) with these helps."""
    p.add_argument("--data", metavar="SOURCE", default=default, help=data)
    p.add_argument("--target", metavar="COLUMN", help=target)
    if test:
        p.add_argument("--test", metavar="SOURCE", help="a test set for a source that has none")
