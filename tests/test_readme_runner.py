"""The README runner: every command and code block of the README's data sections, run as written
(in a copy of ``examples/``), so those sections cannot drift from what bpnn does.

Covered: "Train on your own data" and "Watching and steering a run" (``SECTIONS``).  Lines that
start a server or need a file the README does not make are skipped by name (``SKIP``); the MNIST
sections are not covered yet (their runs take minutes to hours).  Slow: run with ``-m slow``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
SECTIONS = ("Train on your own data", "Watching and steering a run")
SKIP = ("tensorboard --logdir", "mlflow ui")  # servers: they do not end


def section_blocks(title: str) -> list[tuple[str, str]]:
    """(language, text) of each fenced block in the README section ``title``."""
    text = (ROOT / "README.md").read_text()
    body = text.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```(\w+)\n(.*?)```", body, flags=re.S)


def sh_commands(block: str) -> list[str]:
    """The commands of a sh block: continuation lines joined, comments dropped."""
    joined = block.replace("\\\n", "")
    commands = []
    for line in joined.splitlines():
        line = re.sub(r"\s+#\s.*$", "", line).strip()
        if line and not line.startswith("#") and not line.startswith(SKIP):
            commands.append(line)
    return commands


def environment(tmp_path: Path) -> dict:
    """A PATH whose ``bpnn`` is this tree's (``python -m bpnn``), MLflow's store kept in tmp."""
    shims = tmp_path / "bin"
    shims.mkdir()
    bpnn = shims / "bpnn"
    bpnn.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m bpnn "$@"\n')
    bpnn.chmod(0o755)
    python = shims / "python"
    python.symlink_to(sys.executable)
    env = dict(os.environ)
    env["PATH"] = f"{shims}{os.pathsep}{env['PATH']}"
    env["PYTHONPATH"] = str(ROOT / "src")
    env.pop("MLFLOW_TRACKING_URI", None)
    return env


@pytest.mark.slow
def test_the_readme_runs_as_written(tmp_path):
    pytest.importorskip("sklearn")
    work = tmp_path / "work"
    shutil.copytree(ROOT / "examples", work / "examples")
    env = environment(tmp_path)
    ran, skipped = [], []
    for title in SECTIONS:
        for language, block in section_blocks(title):
            if language == "sh":
                for command in sh_commands(block):
                    if command.startswith("bpnn sweep sweep.toml"):
                        skipped.append(command)  # (a spec of the user's own)
                        continue
                    if ("--mlflow" in command and not _has("mlflow")) or (
                        "--tensorboard" in command and not _has("tensorboard")
                    ):
                        skipped.append(command)
                        continue
                    done = subprocess.run(
                        command, shell=True, cwd=work, env=env, capture_output=True, text=True
                    )
                    assert done.returncode == 0, f"{command}\n{done.stderr[-2000:]}"
                    ran.append(command)
            elif language == "python":
                done = subprocess.run(
                    [sys.executable, "-c", block], cwd=work, env=env, capture_output=True, text=True
                )
                assert done.returncode == 0, f"{block}\n{done.stderr[-2000:]}"
                ran.append(block.splitlines()[0])
    print(f"README runner: {len(ran)} commands and blocks run, {len(skipped)} skipped")
    assert len(ran) >= 10


def _has(package: str) -> bool:
    try:
        __import__(package)
    except ImportError:
        return False
    return True
