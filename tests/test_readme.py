"""The README against the tree: its public-API tour runs and names every export; its formula
table names, for each formula of the tutorial, functions whose source carries that formula's tag."""

from __future__ import annotations

import importlib
import inspect
import re

import bpnn
from conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def section_code(heading: str) -> str:
    """The first ```python block after a README heading."""
    start = README.index(f"\n{heading}\n")
    match = re.compile(r"```python\n(.*?)```", re.S).search(README, start)
    assert match, f"no python block after {heading!r}"
    return match.group(1)


def test_every_public_name_is_shown_in_use_in_the_api_tour():
    tour = section_code("### The public API")
    missing = [name for name in bpnn.__all__ if not re.search(rf"\bbpnn\.{name}\b", tour)]
    assert not missing, f"the README's public-API tour never uses {missing}"


def test_the_api_tour_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # it writes a model file
    exec(compile(section_code("### The public API"), "README.md", "exec"), {})
    assert (tmp_path / "tour.npz").is_file()


def section(heading: str) -> str:
    """A README section's text, from its heading to the next one of the same level."""
    start = README.index(f"\n{heading}\n")
    end = README.find("\n## ", start + len(heading) + 2)
    return README[start : end if end > 0 else None]


def resolve(dotted: str):
    """``bpnn.module.Class.method`` -> the object, importing the longest module prefix."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            obj = getattr(obj, name)
        return obj
    raise ImportError(dotted)


def formula_table() -> dict[int, list[str]]:
    """Formula number -> the dotted function names its row of the README table gives."""
    rows = {}
    for line in section("## The tutorial's formulas in the code").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0].isdigit():
            names = re.findall(r"`(bpnn\.[\w.]+)`", " ".join(cells[2:]))
            rows[int(cells[0])] = names
    return rows


def test_the_formula_table_has_the_tutorials_ten_formulas():
    table = formula_table()
    assert sorted(table) == list(range(1, 11))
    assert all(table.values()), "every formula needs at least one function"


def test_each_function_in_the_formula_table_carries_its_formula_tag():
    for number, names in formula_table().items():
        tag = re.compile(rf"#[^\n]*\bformula {number}\b")
        for name in names:
            source = inspect.getsource(resolve(name))
            assert tag.search(source), f"{name} has no '# formula {number}' comment"


def test_the_tag_check_would_notice_a_wrong_row():
    source = inspect.getsource(resolve("bpnn.optim.SGD.step"))
    assert re.search(r"#[^\n]*\bformula 5\b", source)
    assert not re.search(r"#[^\n]*\bformula 6\b", source)
