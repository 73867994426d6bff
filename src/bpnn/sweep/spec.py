"""A sweep's SPEC file (TOML or JSON) and the trials it stands for.

A spec names the settings every trial shares and the ones searched::

    method = "random"          # "grid" (every combination of lists) or "random" (draw `trials`)
    trials = 16                # random search: how many trials to draw
    seed = 0                   # the draws' seed (each trial's own --seed is in [base] or searched)

    [base]                     # any `bpnn train` option, named as on its command line
    preset = "fast"
    epochs = 5

    [search]
    lr = { low = 0.01, high = 0.5, scale = "log" }     # a range: drawn (random search only)
    hidden = [[100], [300], [300, 100]]                # a list: one of these values
    batch_size = { low = 32, high = 256, scale = "log" } # integer ends: integer draws

Without ``method``, a spec whose search space is all lists is a grid, anything else random.
Random draws are rounded to 4 significant digits, so the value a trial ran with is the value
recorded.  Every trial gets an explicit seed (``seed`` in [base], else 0, unless searched), so
each one can be run again alone with ``bpnn train``.
Not here: running trials (``bpnn.sweep.trial``), Dask (``bpnn.sweep.engine``).
"""

from __future__ import annotations

import itertools
import json
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TypeGuard

import numpy as np

from ..errors import BpnnError
from ..limits import MAX_SPEC_DEPTH, MAX_SWEEP_TRIALS
from ..presets import PRESETS
from ..presets import preset as preset_settings
from ..runs import DATA_OPTIONS
from ..settings import HIDDEN, SETTINGS, TrainConfig, int_list

__all__ = ["BASE", "SEARCHABLE", "Range", "Spec", "Trial", "load_spec", "typed"]

# What [search] may vary: the settings with a `bpnn train` option (the settings table) and the
# preset; [base] may also pick the data (which stays fixed across trials).
_OPTIONS = {s.name: s for s in (HIDDEN, *SETTINGS) if s.parse is not None}
SEARCHABLE = (*_OPTIONS, "preset")
BASE = (*SEARCHABLE, *DATA_OPTIONS)
TOP_LEVEL = ("method", "trials", "seed", "base", "search")
METHODS = ("grid", "random")
SCALES = ("linear", "log")


@dataclass(frozen=True)
class Range:
    """A searched range: values drawn between ``low`` and ``high`` on a linear or log scale;
    integers when both ends are integers."""

    low: float
    high: float
    scale: str = "linear"
    integer: bool = False

    def draw(self, rng: np.random.Generator):
        if self.scale == "log":
            value = math.exp(rng.uniform(math.log(self.low), math.log(self.high)))
        else:
            value = rng.uniform(self.low, self.high)
        return round(value) if self.integer else float(f"{value:.4g}")


@dataclass(frozen=True)
class Trial:
    """One trial: its name (its folder under DIR/trials), every setting it runs with, and the
    searched ones (``params``)."""

    name: str
    settings: dict
    params: dict

    def to_dict(self) -> dict:
        return {"name": self.name, "settings": self.settings, "params": self.params}


@dataclass
class Spec:
    """A parsed spec: shared settings, the search space (name -> list or Range), the method."""

    base: dict
    space: dict
    method: str
    trials: int | None
    seed: int

    def scales(self) -> dict:
        """name -> "list", "linear" or "log": how each searched setting was chosen."""
        return {name: "list" if isinstance(v, list) else v.scale for name, v in self.space.items()}

    def size(self) -> int:
        """How many trials the sweep has (counted, not made)."""
        if self.method == "grid":
            return math.prod(len(v) for v in self.space.values())
        return self.trials or 0

    def make_trials(self) -> list[Trial]:
        """Every trial of the sweep, in order (grid: all combinations; random: ``trials`` draws);
        at most ``limits.MAX_SWEEP_TRIALS`` (``parse_spec`` refuses more)."""
        if self.size() > MAX_SWEEP_TRIALS:
            raise BpnnError(_too_many(self.size()))
        names = list(self.space)
        if self.method == "grid":
            combos = [
                dict(zip(names, values)) for values in itertools.product(*self.space.values())
            ]
        else:
            rng = np.random.default_rng(self.seed)
            combos = [
                {n: _pick(self.space[n], rng) for n in names} for _ in range(self.trials or 0)
            ]
        width = max(3, len(str(len(combos) - 1)))
        return [
            Trial(f"trial-{i:0{width}d}", {"seed": 0, **self.base, **params}, params)
            for i, params in enumerate(combos)
        ]


def _too_many(n: int) -> str:
    return (
        f"the sweep has {n} trials, more than bpnn sweep runs (limits.MAX_SWEEP_TRIALS = "
        f"{MAX_SWEEP_TRIALS}): search fewer values, or split it into several sweeps"
    )


def _depth(value, limit: int = MAX_SPEC_DEPTH) -> int:
    """How deep lists and tables nest in ``value``, counted only up to ``limit`` + 1 (a deeply
    nested file is refused without recursing through all of it)."""
    stack, deepest = [(value, 0)], 0
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth > limit:
            break
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return deepest


def _pick(choice, rng: np.random.Generator):
    if isinstance(choice, Range):
        return choice.draw(rng)
    return choice[int(rng.integers(len(choice)))]


def load_spec(path) -> Spec:
    """Read and check a spec file (``.json``, else TOML); BpnnError in one line when it is wrong."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise BpnnError(f"{path}: cannot read the spec file ({exc.strerror or exc})") from None
    what = "JSON" if path.suffix == ".json" else "TOML"
    try:
        raw = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise BpnnError(f"{path}: not a valid {what} file ({exc})") from None
    except RecursionError:
        raise BpnnError(f"{path}: nested too deeply (at most {MAX_SPEC_DEPTH} levels)") from None
    if not isinstance(raw, dict):
        raise BpnnError(f"{path}: a spec is a table of settings, not a {type(raw).__name__}")
    if _depth(raw) > MAX_SPEC_DEPTH:
        raise BpnnError(f"{path}: nested too deeply (at most {MAX_SPEC_DEPTH} levels)")
    try:
        return parse_spec(raw)
    except (BpnnError, ValueError, TypeError, OverflowError) as exc:
        raise BpnnError(f"{path}: {exc}") from None


def parse_spec(raw: dict) -> Spec:
    """A Spec from the file's parsed content (see the module docstring)."""
    _known(raw, TOP_LEVEL, "key")
    base, search = raw.get("base", {}), raw.get("search", {})
    if not isinstance(base, dict) or not isinstance(search, dict):
        raise BpnnError("[base] and [search] must be tables")
    _known(base, BASE, "setting in [base]")
    _known(search, SEARCHABLE, "setting in [search]")
    if not search:
        raise BpnnError("[search] names no setting to search")
    space = {name: _choice(name, value) for name, value in search.items()}
    method = raw.get("method") or (
        "grid"
        if all(isinstance(v, list) for v in space.values()) and "trials" not in raw
        else "random"
    )
    trials = raw.get("trials")
    if method not in METHODS:
        raise BpnnError(f"method must be {' or '.join(METHODS)}, got {method!r}")
    if method == "grid" and any(isinstance(v, Range) for v in space.values()):
        raise BpnnError('a grid takes lists only; a range (low, high) needs method = "random"')
    if method == "grid" and trials is not None:
        raise BpnnError("trials is for random search; a grid runs every combination")
    if method == "random" and (not isinstance(trials, int) or trials < 1):
        raise BpnnError(f"random search needs trials = a positive number, got {trials!r}")
    seed = raw.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**63:
        raise BpnnError(f"seed must be a whole number from 0 to 2**63 - 1, got {seed!r}")
    spec = Spec(dict(base), space, method, trials, seed)
    if spec.size() > MAX_SWEEP_TRIALS:
        raise BpnnError(_too_many(spec.size()))
    for trial in spec.make_trials():
        check_settings(trial.settings)
    return spec


def _known(table: dict, known, what: str) -> None:
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise BpnnError(
            f"unknown {what} {', '.join(map(repr, unknown))}; known: {', '.join(known)}"
        )


def _choice(name: str, value):
    """A list of values, or a Range from {low, high, scale}."""
    if isinstance(value, list):
        if not value:
            raise BpnnError(f"search {name}: the list is empty")
        return value
    if not isinstance(value, dict):
        raise BpnnError(
            f"search {name}: give a list of values or {{ low = ..., high = ..., scale = ... }}"
        )
    _known(value, ("low", "high", "scale"), f"key in search {name}")
    low, high, scale = value.get("low"), value.get("high"), value.get("scale", "linear")
    if not (_number(low) and _number(high) and low < high):
        raise BpnnError(
            f"search {name}: low and high must be numbers with low < high, got {low!r}, {high!r}"
        )
    if not (math.isfinite(low) and math.isfinite(high)) or not math.isfinite(high - low):
        raise BpnnError(f"search {name}: low and high must be finite, got {low!r}, {high!r}")
    if scale not in SCALES:
        raise BpnnError(f"search {name}: scale must be linear or log, got {scale!r}")
    if scale == "log" and low <= 0:
        raise BpnnError(f"search {name}: a log scale needs low > 0, got {low!r}")
    return Range(float(low), float(high), scale, isinstance(low, int) and isinstance(high, int))


def typed(settings: dict) -> dict:
    """A trial's settings as ``bpnn.runs`` takes them: text as the command line reads it
    ("300,100"), a single number where the setting is a list (hidden = 300 -> [300])."""
    out = {}
    for name, value in settings.items():
        parse = _OPTIONS[name].parse if name in _OPTIONS else None
        if parse not in (None, str) and isinstance(value, str):
            value = parse(value)
        elif parse is int_list and not isinstance(value, list):
            value = [value]
        out[name] = value
    return out


def check_settings(settings: dict) -> None:
    """Refuse a trial whose settings cannot make a TrainConfig (an unknown activation, a
    dropout of 1.2...) before anything runs: the settings table's checks, the ones every run
    makes; the data-dependent checks happen in the trial."""
    if settings.get("preset") not in (None, *PRESETS):
        raise BpnnError(
            f"unknown preset {settings['preset']!r}; choose one of {', '.join(PRESETS)}"
        )
    _check_data_options(settings)
    try:
        merged = {
            **(preset_settings(settings["preset"]) if settings.get("preset") else {}),
            **typed(settings),
        }
        fields = {k: v for k, v in merged.items() if k in TrainConfig.__dataclass_fields__}
        if merged.get("hidden") is not None:  # the data's widths are not known yet
            fields["layers"] = [1, *merged["hidden"], 1]
        TrainConfig.from_dict(fields)
    except (TypeError, ValueError) as exc:
        raise BpnnError(f"settings {settings}: {exc}") from None


def _check_data_options(settings: dict) -> None:
    """[base]'s data options as ``bpnn train`` would take them: ``limit`` a whole number >= 1,
    ``target`` and ``test`` text."""
    limit = settings.get("limit")
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
        raise BpnnError(f"limit must be a whole number >= 1, got {limit!r}")
    for name in ("target", "test"):
        value = settings.get(name)
        if value is not None and (not isinstance(value, str) or not value):
            raise BpnnError(f"{name} must be a column name or a path, got {value!r}")


def _number(value) -> TypeGuard[int | float]:
    """True for an int or a float (a bool is neither, here)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)
