"""The README against the tree: its public-API tour runs and names every export."""

from __future__ import annotations

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
