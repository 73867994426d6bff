"""A model file's metadata as one typed record: ``ModelInfo``, with its one reader and one writer.

Every model file (``bpnn.modelfile``) holds the weights as arrays and one JSON object beside them:

    format, version  "bpnn-model", ``MODEL_VERSION``: which file this is
    network          the architecture (``Network.config()``)
    preprocessing    raw features -> inputs (``Preprocessing.to_dict()``; MNIST's by default)
    targets          classes or regression scaling (``Targets.to_dict()``; absent: bpnn 0.1's
                     MNIST digit classifiers)
    config           the training settings (``TrainConfig.to_dict()``)
    data             what the model was trained on: ``DataInfo``
    results          how training went (the trainer's: test_error, epochs, seconds, metric, ...)
    trained_with     "bpnn"
    members          K, the networks of a committee (``--ensemble K``; absent: 1, one network)

- ``ModelInfo.from_meta(meta, source)``: the one reader.  Sections that must be objects are
  checked (``FormatError`` naming ``source``); ``data`` is read leniently (a field of the wrong
  type reads as None: an old or hand-edited file loses only that hint).  Keys it does not know
  are kept in ``extra``.
- ``ModelInfo.to_meta()``: the one writer: the JSON object a model file holds; sections not
  recorded are left out, ``data`` is written back as it was recorded.
- ``DataInfo``: the ``data`` section, typed; ``DataInfo.from_dict`` / ``to_dict``.

Not here: the archive, its format and version check and the weights (``bpnn.modelfile``); what
``config`` and ``results`` hold (``bpnn.settings``, ``bpnn.train``): they stay plain dicts.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from .errors import FormatError

__all__ = ["MNIST_PREPROCESSING", "MODEL_FORMAT", "MODEL_VERSION", "DataInfo", "ModelInfo"]

MODEL_FORMAT = "bpnn-model"
MODEL_VERSION = 1
# How MNIST pixels become network inputs: 28x28 rows flattened, grey levels 0..255 scaled to [0, 1].
MNIST_PREPROCESSING = {
    "kind": "scale",
    "image_shape": [28, 28],
    "scale": 1 / 255,
    "ink": "light-on-dark",
}
OBJECTS = ("network", "preprocessing", "config", "results", "targets", "data")  # must be dicts


def _text(value) -> str | None:
    return value if isinstance(value, str) else None


def _count(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _names(value) -> tuple[str, ...] | None:
    return tuple(str(n) for n in value) if isinstance(value, list) else None


def _shape(value) -> tuple[int, int] | None:
    try:
        return int(value[0]), int(value[1])
    except (TypeError, ValueError, IndexError, KeyError):  # None, a number, a short list...
        return None


@dataclass(frozen=True)
class DataInfo:
    """What a model was trained on: the ``data`` section of its file (None: not recorded).

    ``recorded`` is the section as read: written back unchanged (nulls and keys this bpnn does
    not know included) unless a field has been changed since.
    """

    source: str | None = None  # a registered name, a path, "arrays" or "scikit-learn"
    target: str | None = None  # the CSV target column asked for
    test: str | None = None  # the test source asked for
    found: str | None = None  # the folder an IDX set was found in, resolved
    limit: int | None = None  # only the first N samples were used
    checksum: str | None = None  # of the data's arrays (``Dataset.checksum``)
    kind: str | None = None  # "image" or "tabular"
    image_shape: tuple[int, int] | None = None  # (h, w) of image inputs
    feature_names: tuple[str, ...] | None = None  # the input columns, in order (CSV, DataFrames)
    target_names: tuple[str, ...] | None = None  # the target column(s)
    report: bool | None = None  # whether the run wrote its report
    schema: dict | None = None  # a table's columns -> inputs (``bpnn.tables.TableSchema``)
    recorded: dict | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_dict(cls, data: dict | None) -> DataInfo:
        """The section as read (None or a dict); fields of the wrong type read as None."""
        if data is None:
            return cls()
        return cls(
            source=_text(data.get("source")),
            target=_text(data.get("target")),
            test=_text(data.get("test")),
            found=_text(data.get("found")),
            limit=_count(data.get("limit")),
            checksum=_text(data.get("checksum")),
            kind=_text(data.get("kind")),
            image_shape=_shape(data.get("image_shape")),
            feature_names=_names(data.get("feature_names")),
            target_names=_names(data.get("target_names")),
            report=data.get("report") if isinstance(data.get("report"), bool) else None,
            schema=data.get("schema") if isinstance(data.get("schema"), dict) else None,
            recorded=dict(data),
        )

    def to_dict(self) -> dict | None:
        """The section to write: as recorded, else the fields that are set (None: nothing)."""
        if self.recorded is not None and DataInfo.from_dict(self.recorded) == self:
            return dict(self.recorded)
        values = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "recorded"}
        data = {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}
        return {k: v for k, v in data.items() if v is not None} or None


@dataclass(frozen=True)
class ModelInfo:
    """Everything a model file records besides its weights (see the module docstring).

    On a ``Model`` the network, preprocessing and targets objects are what counts; the sections
    here are the ones read from its file (``Model.save`` writes the objects' own).
    """

    network: dict | None = None
    preprocessing: dict | None = None
    targets: dict | None = None
    config: dict = field(default_factory=dict)  # empty: not recorded
    data: DataInfo = field(default_factory=DataInfo)
    results: dict = field(default_factory=dict)  # empty: not recorded
    trained_with: str | None = None
    version: int | None = None  # the format version it was read with; written: MODEL_VERSION
    members: int = 1  # networks averaged (a committee); 1 is not written, as before committees
    extra: dict = field(default_factory=dict)  # keys this bpnn does not know, kept as read

    @classmethod
    def from_meta(cls, meta: dict, source: str = "model") -> ModelInfo:
        """The record of a model file's JSON object ``meta``; FormatError (naming ``source``)
        when a section that must be an object is not one."""
        for key in OBJECTS:
            if meta.get(key) is not None and not isinstance(meta[key], dict):
                raise FormatError(
                    f"{source}: metadata {key!r} must be an object, got {type(meta[key]).__name__}"
                )
        known = {*OBJECTS, "format", "version", "trained_with", "members"}
        members = meta.get("members", 1)
        if not (isinstance(members, int) and not isinstance(members, bool) and members >= 1):
            raise FormatError(f"{source}: metadata 'members' must be a whole number >= 1")
        return cls(
            network=meta.get("network"),
            preprocessing=meta.get("preprocessing"),
            targets=meta.get("targets"),
            config=meta.get("config") or {},
            data=DataInfo.from_dict(meta.get("data")),
            results=meta.get("results") or {},
            trained_with=_text(meta.get("trained_with")),
            version=_count(meta.get("version")),
            members=members,
            extra={k: v for k, v in meta.items() if k not in known},
        )

    @classmethod
    def coerce(cls, meta: ModelInfo | dict, source: str = "model") -> ModelInfo:
        """``meta`` itself, or the record of a metadata dict (``from_meta``)."""
        return meta if isinstance(meta, ModelInfo) else cls.from_meta(meta, source)

    def to_meta(self) -> dict:
        """The JSON object a model file holds (in the order ``bpnn train`` writes it)."""
        sections = {
            "config": self.config or None,
            "data": self.data.to_dict(),
            "trained_with": self.trained_with,
            "results": self.results or None,
            "targets": self.targets,
            **self.extra,
            "format": MODEL_FORMAT,
            "version": MODEL_VERSION,
            "network": self.network,
            "preprocessing": self.preprocessing,
            "members": self.members if self.members > 1 else None,
        }
        return {k: v for k, v in sections.items() if v is not None}
