"""One setting described: ``Setting`` (help, constraint, command-line parser, scikit-learn
name, resumable) and the constraints and parsers the settings table (``bpnn.settings``) is made of.

A constraint is a pair (check, what the value must be): the check says yes or no, the text makes
the one-line refusal ("dropout must be a number in [0, 1), got 1.5").
Not here: the table itself (``bpnn.settings``).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "FINITE",
    "NON_NEGATIVE",
    "POSITIVE",
    "Setting",
    "at_least",
    "dropout_rates",
    "int_list",
    "is_integral",
    "is_real",
    "layer_sizes",
    "number_in",
    "one_of",
    "or_none",
    "rates",
    "split_size",
]


# ---- constraints: (check, what the value must be) -----------------------------------------
def is_real(x) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool) and math.isfinite(x)


def is_integral(x) -> bool:
    return is_real(x) and float(x).is_integer()


def at_least(low: int) -> tuple[Callable[[Any], bool], str]:
    return (lambda x: is_integral(x) and x >= low), f"a whole number >= {low}"


def number_in(low: float, high: float, low_open=False, high_open=False) -> tuple:
    """A finite number between low and high (each end open or closed)."""

    def ok(x) -> bool:
        return (
            is_real(x)
            and (x > low if low_open else x >= low)
            and (x < high if high_open else x <= high)
        )

    left, right = "(" if low_open else "[", ")" if high_open else "]"
    return ok, f"a number in {left}{low:g}, {high:g}{right}"


def one_of(names) -> tuple[Callable[[Any], bool], str]:
    """One of ``names``; a registry (a dict) is read when checking, so later entries count."""
    live = names if isinstance(names, dict) else tuple(names)
    return (lambda x: isinstance(x, str | None) and x in live), "one of " + ", ".join(
        map(str, names)
    )


def or_none(rule: tuple) -> tuple:
    check, must = rule
    return (lambda x: x is None or check(x)), f"None or {must}"


def layer_sizes(x) -> bool:
    return isinstance(x, list) and len(x) >= 2 and all(is_integral(n) and n >= 1 for n in x)


def dropout_rates(x) -> bool:
    rates = x if isinstance(x, list) else [x]
    return all(number_in(0, 1, high_open=True)[0](r) for r in rates)


def split_size(x) -> bool:
    return is_real(x) and ((x >= 1 and float(x).is_integer()) or 0 <= x < 1)


POSITIVE = (lambda x: is_real(x) and x > 0), "a positive number"
NON_NEGATIVE = (lambda x: is_real(x) and x >= 0), "a number >= 0"
FINITE = is_real, "a finite number"


# ---- the table ------------------------------------------------------------------------------
def int_list(text: str) -> list[int]:
    """``300,100`` -> [300, 100] (a command-line value)."""
    return _numbers(text, int)


def rates(text: str) -> float | list[float]:
    """``0.2`` -> 0.2; ``0.2,0.5`` -> [0.2, 0.5] (a command-line value)."""
    values = _numbers(text, float)
    return values[0] if len(values) == 1 else values


def _numbers(text: str, kind) -> list:
    try:
        return [kind(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ValueError(f"comma-separated numbers are needed, got {text!r}") from None


@dataclass(frozen=True)
class Setting:
    """What the table says of one setting (see the module docstring).

    parse: turns the command-line text into the value (None: no ``bpnn train`` option);
    sklearn: the estimators' parameter that means the same (None: none, or not one to one).
    quiet_default: left out of ``TrainConfig.to_dict`` (so of the files that record settings)
    while at its default -- a setting added after such files were written, so that a bpnn from
    before still reads the files of runs that do not use it.
    """

    name: str
    help: str
    check: Callable[[Any], bool]
    must: str
    parse: Callable[[str], Any] | None = str
    sklearn: str | None = None
    resumable: bool = False
    quiet_default: bool = False

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def refuse(self, value) -> str | None:
        """The one-line reason ``value`` is not allowed, or None."""
        try:
            ok = bool(self.check(value))
        except (TypeError, ValueError):
            ok = False
        return None if ok else f"{self.flag[2:]} must be {self.must}, got {value!r}"
