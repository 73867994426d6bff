"""The package people install: wheel and sdist build, ``twine check`` passes, and the wheel
works from a clean virtual environment (``bpnn --version``, ``bpnn gradcheck``,
``bpnn train --help``).  Slow: it builds and installs (numpy comes from the package index)."""

import subprocess
import sys
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

pytest.importorskip("build")
pytest.importorskip("twine")


def run(*cmd, cwd=None):
    done = subprocess.run(
        [str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, f"{cmd}: {done.stdout[-2000:]}{done.stderr[-2000:]}"
    return done.stdout


@pytest.mark.slow
def test_wheel_and_sdist_build_check_and_install(tmp_path):
    dist = tmp_path / "dist"
    # --no-isolation: build with this environment's setuptools (no download of a build env)
    run(
        sys.executable,
        "-m",
        "build",
        "--no-isolation",
        "--wheel",
        "--sdist",
        "--outdir",
        dist,
        REPO,
    )
    wheels, sdists = list(dist.glob("*.whl")), list(dist.glob("*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1
    run(sys.executable, "-m", "twine", "check", "--strict", *wheels, *sdists)
    env = tmp_path / "venv"
    venv.create(env, with_pip=True)
    py = env / "bin" / "python"
    run(py, "-m", "pip", "install", "--quiet", "--no-deps", wheels[0])
    run(py, "-m", "pip", "install", "--quiet", "numpy")
    assert run(env / "bin" / "bpnn", "--version").strip() == f"bpnn {_version()}"
    assert "passed" in run(env / "bin" / "bpnn", "gradcheck").lower()
    assert "--layers" in run(env / "bin" / "bpnn", "train", "--help")
    metadata = run(py, "-c", "import importlib.metadata as m; print(m.metadata('bpnn'))")
    for field in (
        "Summary:",
        "License-Expression: MIT",
        "License-File: LICENSE",
        "Classifier:",
        "Project-URL:",
        "Provides-Extra: sklearn",
        "Provides-Extra: onnx",
    ):
        assert field in metadata


def _version() -> str:
    import bpnn

    return bpnn.__version__
