"""The README's "How the code is laid out" section names every module and folder of the tree, and
nothing that is not there."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "bpnn"
NOT_LISTED = {"__init__.py", "__main__.py"}  # the package itself and ``python -m bpnn``


def layout_block() -> str:
    text = (ROOT / "README.md").read_text()
    section = text.split("## How the code is laid out", 1)[1]
    return section.split("```", 2)[1]


def named(block: str) -> set[str]:
    """Module files (x.py) and folders (x/) the block names."""
    return set(re.findall(r"(?<![\w/.])(\w+\.py\b|\w+/(?=\s))", block))


def test_layout_names_every_module_and_folder():
    tree = {p.name for p in PACKAGE.glob("*.py")} - NOT_LISTED
    tree |= {p.name + "/" for p in PACKAGE.iterdir() if p.is_dir() and p.name.isidentifier()}
    tree -= {"__pycache__/"}
    listed = named(layout_block())
    listed -= {"src/", "bpnn/", "benchmarks/"}
    listed = {n for n in listed if not (ROOT / "benchmarks" / n).is_file()}
    assert sorted(tree - listed) == [], "in the tree but not in the README's layout"
    assert sorted(listed - tree) == [], "in the README's layout but not in the tree"


def test_layout_names_the_benchmark_scripts():
    scripts = {p.name for p in (ROOT / "benchmarks").glob("*.py")}
    listed = named(layout_block())
    assert sorted(scripts - listed) == []


def test_no_import_circle_and_nothing_below_the_front_end_imports_it():
    """The house rule, checked by the shared import-graph tool (``../shared/tools``): no circle
    of modules, and no module outside ``commands/`` and ``cli`` imports them."""
    import subprocess
    import sys

    import pytest

    tool = ROOT.parent / "shared" / "tools" / "import_graph.py"
    if not tool.is_file():
        pytest.skip(f"{tool} is not here")
    done = subprocess.run(
        [sys.executable, str(tool)], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout
    assert " 0 circles, 0 imports into the front end" in done.stdout
