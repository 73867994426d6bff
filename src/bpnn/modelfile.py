"""Model files: a trained network saved as plain data, .npz arrays + JSON, no pickle.

Every file is one ``.npz`` archive written atomically (temporary file in the same folder, fsync,
rename), so a crash leaves either the old file or the new one, never half of one.  The JSON
metadata travels inside the archive as a 0-d unicode array named ``__meta__``; archives are always
read with ``allow_pickle=False``, and every member is checked before it is read.

- ``write_model`` / ``read_model``: a trained network and its metadata, a ``ModelInfo``
  (``bpnn.modelinfo``: architecture, preprocessing -- MNIST's when none is given --, targets,
  training configuration, data, results).  Format ``bpnn-model``, version ``MODEL_VERSION``.
  ``bpnn.load`` (``bpnn.model``) reads one as a ``Model``.  A committee (``bpnn.committee``)
  is one file too: member 0's arrays under the single network's names (W0, b0, ...), member k's
  as ``m{k}.W0``..., and ``members: K`` in the metadata; a file without it is one network, as
  every file before committees was (a bpnn from before reads member 0 of a committee's file).
- ``save_model`` / ``load_model``: the same with the metadata as a plain dict (as stored).
- ``save_arrays`` / ``load_arrays``: the general mechanism, also used for training checkpoints.
- ``params_to_arrays`` / ``network_from_arrays``: a network's weights by name, and back, checked.

Not here: what the metadata holds (``bpnn.modelinfo``), the training checkpoint's contents
(``bpnn.runstate``).
"""

from __future__ import annotations

import json
import math
import os
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np

from .committee import Committee, members_of
from .errors import FormatError
from .fileio import atomic_write
from .limits import MAX_JSON_DEPTH, MAX_LAYER_SIZE, MAX_PARAMS_PER_FILE_BYTE
from .modelinfo import MNIST_PREPROCESSING, MODEL_FORMAT, MODEL_VERSION, ModelInfo
from .network import Network

__all__ = [
    "MNIST_PREPROCESSING",
    "MODEL_VERSION",
    "load_arrays",
    "load_model",
    "model_path",
    "network_from_arrays",
    "params_to_arrays",
    "read_member",
    "read_model",
    "save_arrays",
    "save_model",
    "write_model",
]

META_KEY = "__meta__"
MAX_META_BYTES = 16 << 20  # the JSON metadata of one file (a model's is a few KB)
MAX_MEMBER_RATIO = 1000  # inflation a member may claim: bpnn writes them uncompressed


def save_arrays(path, arrays: dict[str, np.ndarray], meta: dict) -> None:
    """Write named arrays and JSON-able ``meta`` to ``path`` (.npz) atomically."""
    # the meta's name, and np.savez's own parameters (allow_pickle=array dropped that array)
    for name in (META_KEY, "file", "allow_pickle"):
        if name in arrays:
            raise ValueError(f"array name {name!r} is reserved")
    payload = {k: np.asarray(v) for k, v in arrays.items()}
    payload[META_KEY] = np.array(json.dumps(meta))
    # (mypy cannot see that no key is allow_pickle, which the stubs type as a bool: checked above)
    atomic_write(path, lambda f: np.savez(f, **payload))  # type: ignore[arg-type]


def load_arrays(path, wanted=None) -> tuple[dict[str, np.ndarray], dict]:
    """Read an archive written by ``save_arrays``: (arrays, meta).  FormatError if it is not one.

    ``wanted(name) -> bool`` picks the members to read (default: all); the others are never
    inflated.  Every member is checked before its data is read (``read_member``): numeric
    dtype, a declared size its stored bytes can hold, no more than ``MAX_MEMBER_RATIO`` times
    inflation -- so a lying header or a zip bomb costs nothing.
    """
    path = Path(path)
    if not path.is_file():
        raise FormatError(f"{path}: no such file")
    try:
        with zipfile.ZipFile(path) as archive:
            members = {n.removesuffix(".npy"): archive.getinfo(n) for n in archive.namelist()}
            if META_KEY not in members:
                raise FormatError(f"{path}: not a bpnn file (no metadata)")
            meta = _read_meta(archive, members.pop(META_KEY), path)
            arrays = {
                name: read_member(archive, info, path)
                for name, info in members.items()
                if wanted is None or wanted(name)
            }
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError, RuntimeError) as exc:
        if isinstance(exc, FormatError):
            raise
        what = "not a zip archive" if isinstance(exc, zipfile.BadZipFile) else "unreadable"
        raise FormatError(
            f"{path}: not a bpnn file ({what}: a model or checkpoint is a .npz archive of plain "
            "arrays that bpnn wrote)"
        ) from None
    return arrays, meta


def _read_meta(archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path) -> dict:
    """The JSON metadata: a bounded string, bounded nesting, an object."""
    if info.file_size > MAX_META_BYTES:
        raise FormatError(
            f"{path}: metadata of {info.file_size:,} bytes (at most {MAX_META_BYTES:,})"
        )
    text = read_member(archive, info, path, kinds="U")
    try:
        meta = json.loads(str(text))
    except (json.JSONDecodeError, RecursionError) as exc:
        raise FormatError(f"{path}: corrupt metadata ({type(exc).__name__})") from None
    if not isinstance(meta, dict):
        raise FormatError(f"{path}: corrupt metadata (not an object)")
    if _depth(meta) > MAX_JSON_DEPTH:
        raise FormatError(f"{path}: metadata nested deeper than {MAX_JSON_DEPTH} levels")
    return meta


def _depth(value, limit: int = MAX_JSON_DEPTH + 1) -> int:
    """Nesting depth of JSON data, counted no further than ``limit``."""
    if limit <= 0 or not isinstance(value, (dict, list)):
        return 0
    items = value.values() if isinstance(value, dict) else value
    return 1 + max((_depth(v, limit - 1) for v in items), default=0)


def read_member(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path, kinds: str = "biuf"
) -> np.ndarray:
    """One .npy member, its header checked before any data is read: no more than
    ``MAX_MEMBER_RATIO`` times inflation, a dtype of ``kinds``, a declared shape its bytes hold.
    (Also the .npz data loader's check, ``bpnn.data.npzdata``.)"""
    name = info.filename.removesuffix(".npy")
    if info.file_size > MAX_MEMBER_RATIO * max(info.compress_size, 1) + 4096:
        raise FormatError(
            f"{path}: member {name} inflates {info.file_size:,} bytes from "
            f"{info.compress_size:,} (a zip bomb?)"
        )
    with archive.open(info) as f:
        version = np.lib.format.read_magic(f)
        read_header = (
            np.lib.format.read_array_header_1_0
            if version == (1, 0)
            else np.lib.format.read_array_header_2_0
        )
        shape, _fortran, dtype = read_header(f)
        if dtype.kind not in kinds or dtype.hasobject or dtype.fields is not None:
            raise FormatError(f"{path}: array {name} has dtype {dtype}, not a plain numeric array")
        if math.prod(shape) * dtype.itemsize > info.file_size:
            raise FormatError(
                f"{path}: array {name} declares shape {shape} but holds {info.file_size:,} bytes"
            )
        f.seek(0)
        return np.lib.format.read_array(f, allow_pickle=False)


def params_to_arrays(net: Network, prefix: str = "") -> dict[str, np.ndarray]:
    """{"W0": ..., "b0": ..., "W1": ...}: the network's parameters by name (after ``prefix``)."""
    return {
        f"{prefix}{kind}{i}": p
        for i, layer in enumerate(net.layers)
        for kind, p in (("W", layer.W), ("b", layer.b))
    }


def member_prefix(k: int) -> str:
    """The names of committee member k's arrays start so: "" for member 0, "m{k}." after."""
    return f"m{k}." if k else ""


def _weight_name(name: str) -> bool:
    """W0, b3, m2.W0: the members a model file's weights are stored in."""
    head, _, tail = name.rpartition(".")
    member = not head or (head[:1] == "m" and head[1:].isdigit())
    return member and tail[:1] in "Wb" and tail[1:].isdigit()


def network_from_arrays(
    config: dict, arrays: dict, source="file", max_params: int | None = None
) -> Network:
    """Rebuild a Network from its config and ``params_to_arrays`` arrays, checking shapes.

    The declared sizes are checked before anything is built: each layer at most
    ``MAX_LAYER_SIZE`` units, and at most ``max_params`` parameters in all (a file's size bounds
    how many it can hold).  Weights must be finite in the network's own dtype (1e300 is not a
    float32).
    """
    _check_sizes(config, source, max_params)
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
                raise FormatError(
                    f"{source}: array {name} has shape {arrays[name].shape}, "
                    f"the architecture needs {own.shape}"
                )
            with np.errstate(over="ignore", invalid="ignore"):
                value = arrays[name].astype(own.dtype)
            if not np.isfinite(value).all():
                raise FormatError(
                    f"{source}: array {name} holds NaN or infinite values (as {own.dtype})"
                )
            params.append(value)
    net.set_params(params)
    return net


def _check_sizes(config, source, max_params: int | None) -> None:
    """FormatError unless ``config["sizes"]`` is a list of sane layer sizes within budget."""
    sizes = config.get("sizes") if isinstance(config, dict) else None
    if not (
        isinstance(sizes, list)
        and len(sizes) >= 2
        and all(isinstance(n, int) and not isinstance(n, bool) for n in sizes)
    ):
        raise FormatError(f"{source}: bad network description (sizes must be a list of integers)")
    if not all(1 <= n <= MAX_LAYER_SIZE for n in sizes):
        raise FormatError(f"{source}: layer sizes {sizes} out of range 1..{MAX_LAYER_SIZE:,}")
    n_params = sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:]))
    if max_params is not None and n_params > max_params:
        raise FormatError(
            f"{source}: declares {n_params:,} parameters, more than a file of its size can hold"
        )


def write_model(path, net: Network, info: ModelInfo) -> None:
    """Save a trained network to ``path`` (.npz): weights plus ``info`` as JSON, atomically.

    The architecture written is the network's own; no preprocessing in ``info`` means MNIST's.
    """
    if not isinstance(path, (str, os.PathLike)) or not isinstance(net, Network):
        raise TypeError(
            f"save_model(path, net, ...) takes a path and a Network, got "
            f"{type(path).__name__} and {type(net).__name__}"
        )
    prep = MNIST_PREPROCESSING if info.preprocessing is None else info.preprocessing
    members = members_of(net)
    info = replace(info, network=net.config(), preprocessing=prep, members=len(members))
    arrays = {}
    for k, member in enumerate(members):
        arrays.update(params_to_arrays(member, member_prefix(k)))
    save_arrays(path, arrays, info.to_meta())


def save_model(
    path, net: Network, meta: dict | None = None, preprocessing: dict | None = None
) -> None:
    """``write_model`` with the metadata as a dict: ``meta`` (targets, training configuration,
    results...) and ``preprocessing`` (MNIST's when None)."""
    info = ModelInfo.from_meta(meta or {})
    write_model(path, net, replace(info, preprocessing=preprocessing))


def model_path(path) -> Path:
    """A model file's path: ``path`` itself, or the model.npz of a run folder."""
    path = Path(path)
    return path / "model.npz" if path.is_dir() else path


def read_model(path) -> tuple[Network, ModelInfo]:
    """(network, metadata) from a model file (or a run folder); FormatError for anything that is
    not a valid one."""
    net, info, _ = _read(path)
    return net, info


def load_model(path) -> tuple[Network, dict]:
    """``read_model`` with the metadata as the plain dict the file holds."""
    net, _, meta = _read(path)
    return net, meta


def _read(path) -> tuple[Network, ModelInfo, dict]:
    path = model_path(path)
    arrays, meta = load_arrays(path, wanted=_weight_name)
    if meta.get("format") != MODEL_FORMAT:
        raise FormatError(f"{path}: not a bpnn model file")
    if meta.get("version") != MODEL_VERSION:
        raise FormatError(
            f"{path}: model format version {meta.get('version')!r} is not supported "
            f"(this bpnn reads version {MODEL_VERSION})"
        )
    info = ModelInfo.from_meta(meta, str(path))
    budget = MAX_PARAMS_PER_FILE_BYTE * path.stat().st_size
    members = []
    for k in range(info.members):
        prefix = member_prefix(k)
        own = {n[len(prefix) :]: a for n, a in arrays.items() if n.startswith(prefix)}
        source = f"{path} (committee member {k})" if k else str(path)
        members.append(network_from_arrays(info.network or {}, own, source, budget))
    return (members[0] if len(members) == 1 else Committee(members)), info, meta
