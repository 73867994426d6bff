"""The Makefile's ``make run``: it finds MNIST before anything slow (the gradient check)."""

from __future__ import annotations

from pathlib import Path


def test_make_run_finds_the_data_first():
    text = (Path(__file__).parent.parent / "Makefile").read_text()
    recipe = text.split("\nrun: $(VENV)/.installed-run\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert "find_mnist()" in recipe[0] and "gradcheck" in recipe[1]
