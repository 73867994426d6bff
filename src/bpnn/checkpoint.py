"""Saving and loading networks and training state as plain data: .npz arrays + JSON, no pickle.

Every file is one ``.npz`` archive written atomically (temporary file in the same folder, fsync,
rename), so a crash leaves either the old file or the new one, never half of one.  The JSON
metadata travels inside the archive as a 0-d unicode array named ``__meta__``; archives are always
read with ``allow_pickle=False``.

- ``save_model`` / ``load`` (``load_model`` also returns the metadata): a trained network, its
  architecture, the preprocessing its inputs need and whatever the caller records (training
  configuration, results).  Format ``bpnn-model``, version ``MODEL_VERSION``.
- ``save_arrays`` / ``load_arrays``: the general mechanism, also used for training checkpoints.
"""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np

from .errors import FormatError
from .fileio import atomic_write
from .network import Network

__all__ = ["atomic_write", "save_arrays", "load_arrays", "save_model", "load_model", "load",
           "MODEL_VERSION", "MNIST_PREPROCESSING"]

MODEL_FORMAT = "bpnn-model"
MODEL_VERSION = 1
META_KEY = "__meta__"
# How MNIST pixels become network inputs: 28x28 rows flattened, grey levels 0..255 scaled to [0, 1].
MNIST_PREPROCESSING = {"image_shape": [28, 28], "scale": 1 / 255, "ink": "light-on-dark"}


def save_arrays(path, arrays: dict[str, np.ndarray], meta: dict) -> None:
    """Write named arrays and JSON-able ``meta`` to ``path`` (.npz) atomically."""
    if META_KEY in arrays:
        raise ValueError(f"array name {META_KEY!r} is reserved")
    payload = {k: np.asarray(v) for k, v in arrays.items()}
    payload[META_KEY] = np.array(json.dumps(meta))
    atomic_write(path, lambda f: np.savez(f, **payload))


def load_arrays(path) -> tuple[dict[str, np.ndarray], dict]:
    """Read an archive written by ``save_arrays``: (arrays, meta).  FormatError if it is not one."""
    path = Path(path)
    if not path.is_file():
        raise FormatError(f"{path}: no such file")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise FormatError(f"{path}: not a bpnn file (not a readable .npz archive of plain arrays: "
                          f"{type(exc).__name__})") from None
    if META_KEY not in arrays:
        raise FormatError(f"{path}: not a bpnn file (no metadata)")
    try:
        meta = json.loads(str(arrays.pop(META_KEY)))
    except json.JSONDecodeError as exc:
        raise FormatError(f"{path}: corrupt metadata ({exc})") from None
    if not isinstance(meta, dict):
        raise FormatError(f"{path}: corrupt metadata (not an object)")
    return arrays, meta


def params_to_arrays(net: Network) -> dict[str, np.ndarray]:
    """{"W0": ..., "b0": ..., "W1": ...}: the network's parameters by name."""
    return {f"{kind}{i}": p for i, layer in enumerate(net.layers)
            for kind, p in (("W", layer.W), ("b", layer.b))}


def network_from_arrays(config: dict, arrays: dict, source="file") -> Network:
    """Rebuild a Network from its config and ``params_to_arrays`` arrays, checking shapes."""
    try:
        net = Network.from_config(config)
    except (KeyError, TypeError, ValueError) as exc:
        raise FormatError(f"{source}: bad network description ({exc})") from None
    params = []
    for i, layer in enumerate(net.layers):
        for kind, own in (("W", layer.W), ("b", layer.b)):
            name = f"{kind}{i}"
            if name not in arrays:
                raise FormatError(f"{source}: missing array {name}")
            if arrays[name].shape != own.shape:
                raise FormatError(f"{source}: array {name} has shape {arrays[name].shape}, "
                                  f"the architecture needs {own.shape}")
            if not np.isfinite(arrays[name]).all():
                raise FormatError(f"{source}: array {name} holds NaN or infinite values")
            params.append(arrays[name])
    net.set_params(params)
    return net


def save_model(path, net: Network, meta: dict | None = None,
               preprocessing: dict | None = None) -> None:
    """Save a trained network to ``path`` (.npz): weights plus JSON metadata, atomically."""
    header = {"format": MODEL_FORMAT, "version": MODEL_VERSION, "network": net.config(),
              "preprocessing": preprocessing if preprocessing is not None else MNIST_PREPROCESSING}
    save_arrays(path, params_to_arrays(net), {**(meta or {}), **header})


def load_model(path) -> tuple[Network, dict]:
    """(network, metadata) from a model file; FormatError for anything that is not a valid one."""
    arrays, meta = load_arrays(path)
    if meta.get("format") != MODEL_FORMAT:
        raise FormatError(f"{path}: not a bpnn model file")
    if meta.get("version") != MODEL_VERSION:
        raise FormatError(f"{path}: model format version {meta.get('version')!r} is not supported "
                          f"(this bpnn reads version {MODEL_VERSION})")
    return network_from_arrays(meta.get("network", {}), arrays, source=str(path)), meta


def load(path) -> Network:
    """The network saved in a model file (``bpnn.load("runs/fast/model.npz")``)."""
    return load_model(path)[0]
