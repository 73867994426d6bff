"""The README runner: every command and code block of the README, run as written, in order, in
a copy of the repository, so the README cannot drift from what bpnn does.  Slow (``-m slow``):
tens of minutes; the MNIST sections need ``BPNN_DATA`` (CI sets it), else the test is skipped.

Each ``sh`` block runs as one bash script (``set -e``: a command that fails fails the test, with
its output), each ``python`` block as one script, the ``toml`` block is the ``sweep.toml`` the
README's tracking example names; the layout block (no language) is ``tests/test_layout.py``'s.
Where running a command exactly as written cannot work in a test, the README text is changed
by one of these explicit, documented rules before it runs (nothing else is):

- ``SUBSTITUTIONS``: long trainings and benchmarks shortened (fewer epochs, ``--quick``), the
  MNIST folder and placeholders (``...``, ``[--quick]``, ``HEAD``) filled in, fixed ports made
  free ones, ``0.0.0.0`` made ``127.0.0.1``, ``make test`` limited to two test files (it would
  run this runner again);
- ``SERVERS``: a command that serves until stopped (``bpnn serve``, ``tensorboard``, ``mlflow
  ui``) is started, must stay up (``bpnn serve``: answer ``/health``), and is stopped;
- ``WITHOUT_GPU``: without a CUDA device, the GPU commands must end as the README says they do
  then (one line, exit status 2, or the benchmark's own refusal);
- ``CONTEXT``: a python block that uses names an earlier block or the reader supplies (``X``,
  ``images``) gets them first;
- ``PROVIDED``: files the README names but does not make (``digit.png``, ``photo.jpg``, TLS
  certificates) are made first.

Tools run from this tree: ``bpnn`` and ``python`` are this interpreter with ``PYTHONPATH`` at
``src/``; ``.venv`` is a stand-in for ``make setup``'s (this interpreter's environment), so
``make`` targets do not install anything; the README's own ``pip install`` lines install into a
fresh ``.venv-readme`` (from the package index or pip's cache).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
README = ROOT / "README.md"
BLOCK = re.compile(r"^(#{2,3} [^\n]*)$|^```(\w*)\n(.*?)^```", flags=re.S | re.M)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


PORTS = {
    name: free_port()
    for name in ("serve", "serve2", "serve3", "tb", "mlflow", "dask", "dash", "tls")
}

# (pattern, replacement, why): applied to every block's text, in this order
SUBSTITUTIONS = [
    (r"\.\./shared/data/mnist|~/mnist|/path/to/mnist", "$BPNN_DATA", "the MNIST folder"),
    (r"--preset tutorial", "--preset tutorial --epochs 2", "70 epochs: minutes"),
    (r"--preset best", "--preset best --epochs 1 --limit 2000", "120 epochs: 12 minutes"),
    (r"--preset records", "--preset records --epochs 1 --limit 2000", "300 epochs: over an hour"),
    (r"--epochs 20 --out runs/mine", "--epochs 2 --out runs/mine", "20 epochs of 500 units"),
    (r"bpnn train --json \.\.\.", "bpnn train --json --limit 2000 --out runs/json", "'...'"),
    (r"bpnn bench \[--data DIR\] \[--json\] \[--quick\]", "bpnn bench --quick", "options"),
    (r"bpnn bench --device cuda", "bpnn bench --quick --device cuda", "minutes"),
    (r"benchmarks/bench\.py --out", "benchmarks/bench.py --quick --out", "minutes"),
    (r"benchmarks/bench\.py --device cuda", "benchmarks/bench.py --quick --device cuda", "minutes"),
    # (one noisy round on a shared machine: flag only a doubling, not the default 5%)
    (r"--rounds 3", "--rounds 1 --epochs 2 --only sgd --no-torch --threshold 1", "minutes"),
    (r"update_cost\.py --record", "update_cost.py --epochs 2 --only sgd --no-torch --record", ""),
    (r"gpu_check\.py \$BPNN_DATA --quick", "gpu_check.py $BPNN_DATA --quick", ""),
    (r"--host 0\.0\.0\.0 --port 9000", f"--host 127.0.0.1 --port {PORTS['serve2']}", "loopback"),
    (r"(bpnn serve runs/fast/model\.npz)(\s+#)", rf"\1 --port {PORTS['serve']}\2", "a free port"),
    (r"(bpnn serve runs/survey)(\s+#)", rf"\1 --port {PORTS['serve3']}\2", "a free port"),
    (r"127\.0\.0\.1:8000/predict", f"127.0.0.1:{PORTS['serve3']}/predict", "the survey server"),
    (r"(?m)^curl -d ", "curl -fsS -d ", "a 4xx answer fails the block"),
    (r"tensorboard --logdir tb", f"tensorboard --logdir tb --port {PORTS['tb']}", "free port"),
    (r"mlflow ui", f"mlflow ui --port {PORTS['mlflow']}", "a free port"),
    (r"127\.0\.0\.1:8786|--port 8786", lambda m: m[0].replace("8786", str(PORTS["dask"])), ""),
    (r"127\.0\.0\.1:8787", "127.0.0.1:0", "Dask's dashboard on a free port"),
    (r"tls://HEAD:8786", f"tls://127.0.0.1:{PORTS['tls']}", "the runner's TLS scheduler"),
    (r"/tmp/report", "$RUNNER_TMP/report", "this test's own folder"),
    (r"python3 -m venv \.venv && \. \.venv/bin/activate", "", ""),  # (see INSTALL below)
]
INSTALL = "python3 -m venv .venv-readme && . .venv-readme/bin/activate"
LIMITED_TESTS = "tests/test_layout.py tests/test_readme.py"  # what `make test` runs here
SERVERS = ("bpnn serve ", "tensorboard --logdir", "mlflow ui")
WITHOUT_GPU = {  # command (substituted) -> the exit status it must end with without a CUDA device
    "bpnn train --preset best --epochs 1 --limit 2000 --device cuda": 2,
    "bpnn bench --quick --device cuda": 2,
    "python benchmarks/bench.py --quick --device cuda": 2,
    "python benchmarks/gpu_check.py $BPNN_DATA": 2,
}
CONTEXT = {  # a line of a python block -> what runs before the block
    'model = bpnn.load("runs/fast")': "import numpy as np\nfrom bpnn.data import find_mnist, load_mnist\n"
    "images = load_mnist(find_mnist(), 'test')[0][:100]\n",
    "net = bpnn.Network([784, 300, 10]": "X = __import__('numpy').random.default_rng(0)"
    ".integers(0, 256, size=(8, 784)) / 255\nT = __import__('bpnn').one_hot([1, 2, 3, 4, 5, 6, 7, 8"
    "], 10)\n",
    "report = bpnn.check_network(": "import numpy as np\nimport bpnn\n"
    "net = bpnn.Network([3, 4, 2], seed=0)\nX = np.random.default_rng(0).normal(size=(5, 3))\n"
    "T = bpnn.one_hot(np.array([0, 1, 0, 1, 1]), 2)\n",
}


def blocks() -> list[tuple[str, str, str]]:
    """(section, language, text) of every fenced block of the README, in order."""
    found, section = [], "(top)"
    for m in BLOCK.finditer(README.read_text(encoding="utf-8")):
        if m[1]:
            section = m[1]
        else:
            found.append((section, m[2], m[3]))
    return found


def substituted(text: str) -> str:
    for pattern, replacement, _why in SUBSTITUTIONS:
        text = re.sub(pattern, replacement, text)
    return text


def commands(block: str) -> list[str]:
    """The commands of a sh block: continuation lines joined, comments and blank lines dropped."""
    out = []
    for line in block.replace("\\\n", "").splitlines():
        line = re.sub(r"(^|\s+)#\s.*$", "", line).strip()
        if line and not line.startswith("#"):
            out.append(line)
    return out


def script(block: str, gpu: bool) -> tuple[str, int]:
    """A bash script for a sh block (its commands, servers started and stopped, commands that
    must fail without a GPU checked for their exit status), and the number of commands."""
    lines = [
        "set -e",
        'trap \'s=$?; [ $s -ne 0 ] && echo "README runner: failed ($s): $BASH_COMMAND" >&2; '
        "kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; exit $s' EXIT",
    ]
    cmds = commands(block)
    for cmd in cmds:
        if re.search(r"\bmake test", cmd):
            cmd = f"PYTEST_ADDOPTS='{LIMITED_TESTS}' {cmd}"
        expected = WITHOUT_GPU.get(cmd, 0)
        if cmd.startswith(SERVERS):
            health = "/health" if cmd.startswith("bpnn serve") else ""
            port = re.search(r"--port (\d+)", cmd)
            lines.append(f"serving {port[1] if port else 0} '{health}' {cmd}")
        elif expected and not gpu:
            lines.append(f"ends_with {expected} {cmd}")
        else:
            lines.append(cmd)
    return "\n".join(lines) + "\n", len(cmds)


BASH_HELPERS = r"""
serving() {  # PORT PATH CMD...: start a server and wait until PORT answers; it serves the
    # rest of its block (a curl after it asks it) and is stopped when the block ends
    local port=$1 path=$2; shift 2
    "$@" > "$RUNNER_TMP/server.log" 2>&1 & local pid=$!
    for i in $(seq 120); do
        sleep 0.5
        kill -0 $pid 2>/dev/null || { cat "$RUNNER_TMP/server.log" >&2; return 1; }
        python -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$port$path', timeout=2)" \
            2>/dev/null && break
        [ $i = 120 ] && { echo "no answer on port $port" >&2; return 1; }
    done
}
ends_with() {  # STATUS CMD...: CMD must end with exit status STATUS
    local want=$1; shift
    local got=0; "$@" > "$RUNNER_TMP/gpu.log" 2>&1 || got=$?
    [ $got = $want ] || { cat "$RUNNER_TMP/gpu.log" >&2; echo "exit $got, not $want" >&2; return 1; }
}
"""


def fake_venv(work: Path) -> None:
    """``work/.venv``: this interpreter's environment under make's name, already set up."""
    venv = work / ".venv"
    (venv / "bin").mkdir(parents=True)
    real = Path(sys.prefix)
    shutil.copy(real / "pyvenv.cfg", venv / "pyvenv.cfg")
    (venv / "lib").symlink_to(real / "lib")
    for tool in ("python", "ruff", "mypy"):  # (no pip: it would install into this environment)
        if (real / "bin" / tool).exists():
            (venv / "bin" / tool).symlink_to(real / "bin" / tool)
    shim = venv / "bin" / "bpnn"
    shim.write_text(f'#!/bin/sh\nexec "{venv}/bin/python" -m bpnn "$@"\n')
    shim.chmod(0o755)
    for stamp in (".installed-run", ".installed"):  # newer than pyproject.toml, in order:
        (venv / stamp).touch()  # make does not install


def environment(tmp_path: Path, work: Path) -> dict:
    """PATH: ``bpnn``/``python`` of this tree first, then this environment's tools; pip
    installs into ``.venv-readme``; MLflow's store in the work folder."""
    shims = tmp_path / "bin"
    shims.mkdir()
    scripts = {
        "bpnn": f'exec "{sys.executable}" -m bpnn "$@"',
        "pip": f'exec "{work}/.venv-readme/bin/pip" "$@"',
        # (a script, not a symlink: a symlinked interpreter elsewhere misses its environment)
        "python": f'exec "{sys.executable}" "$@"',
        "python3": f'exec "{sys.executable}" "$@"',
    }
    for name, line in scripts.items():
        (shims / name).write_text(f"#!/bin/sh\n{line}\n")
        (shims / name).chmod(0o755)
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(shims), str(Path(sys.executable).parent), env["PATH"]])
    env["PYTHONPATH"] = str(work / "src")
    env["RUNNER_TMP"] = str(tmp_path)
    env.pop("MLFLOW_TRACKING_URI", None)
    return env


def copy_of_the_repository(work: Path) -> None:
    """A clone (so ``--old REV`` finds its commit) with this tree's files laid over it."""
    subprocess.run(["git", "clone", "-q", "--shared", str(ROOT), str(work)], check=True)
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    for name in listed.decode().split("\0"):
        if name and (ROOT / name).is_file():
            (work / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, work / name)


def provide(work: Path, env: dict) -> None:
    """Files the README names but does not make, and the TLS scheduler its TLS example uses."""
    shutil.copy(work / "examples" / "seven.jpg", work / "digit.png")
    shutil.copy(work / "examples" / "seven.jpg", work / "photo.jpg")
    toml = next(text for _, language, text in blocks() if language == "toml")
    (work / "sweep.toml").write_text(toml)


def start_tls_cluster(work: Path, env: dict) -> list[subprocess.Popen]:
    """A CA, certificates for 127.0.0.1 (``node``, ``client``) and a TLS scheduler + worker."""
    run = lambda *a: subprocess.run(["openssl", *a], cwd=work, capture_output=True, check=True)  # noqa: E731
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
        "-days", "2", "-subj", "/CN=readme CA")  # fmt: skip
    (work / "ext").write_text("subjectAltName=IP:127.0.0.1\n")
    for name in ("node", "client"):
        run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out",
            f"{name}.csr", "-subj", "/CN=127.0.0.1")  # fmt: skip
        run("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", f"{name}.pem", "-days", "2", "-extfile", "ext")  # fmt: skip
    tls = ["--tls-ca-file", "ca.pem", "--tls-cert", "node.pem", "--tls-key", "node.key"]
    address = f"tls://127.0.0.1:{PORTS['tls']}"
    common = ["--dashboard-address", "127.0.0.1:0", *tls]
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "cwd": work, "env": env}
    scheduler = subprocess.Popen(
        [sys.executable, "-m", "distributed.cli.dask_scheduler", "--protocol", "tls", "--host",
         "127.0.0.1", "--port", str(PORTS["tls"]), *common], **quiet,
    )  # fmt: skip
    time.sleep(3)
    worker = subprocess.Popen(
        [sys.executable, "-m", "distributed.cli.dask_worker", address, "--host", "127.0.0.1",
         "--nworkers", "1", "--nthreads", "1", *common], **quiet,
    )  # fmt: skip
    return [scheduler, worker]


def has_gpu() -> bool:
    try:
        import jax

        return any(d.platform == "gpu" for d in jax.devices())
    except Exception:  # no jax, no CUDA plugin, no device
        return False


@pytest.mark.slow
def test_the_readme_runs_as_written(tmp_path, mnist_dir):
    for needed in ("sklearn", "distributed", "onnxruntime", "mlflow", "tensorboard"):
        pytest.importorskip(needed)
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed for the TLS example")
    work = tmp_path / "work"
    copy_of_the_repository(work)
    fake_venv(work)
    env = environment(tmp_path, work)
    env["BPNN_DATA"] = str(mnist_dir)
    provide(work, env)
    cluster = start_tls_cluster(work, env)
    gpu = has_gpu()
    ran, failed = 0, []
    try:
        for section, language, text in blocks():
            text = substituted(text)
            if language == "sh":
                if "pip install -e '.[all]'" in text:
                    text = INSTALL + "\n" + text
                body, count = script(text, gpu)
                done = subprocess.run(
                    ["bash", "-c", BASH_HELPERS + body],
                    cwd=work,
                    env=env,
                    capture_output=True,
                    text=True,
                )
            elif language == "python":
                context = next((c for line, c in CONTEXT.items() if line in text), "")
                done = subprocess.run(
                    [sys.executable, "-c", context + text],
                    cwd=work,
                    env=env,
                    capture_output=True,
                    text=True,
                )
                count = 1
            else:
                continue  # toml: sweep.toml (provide); the layout block: test_layout.py
            if done.returncode != 0:  # the rest still run: one pass finds every false command
                failed.append(f"{section}:\n{text}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
            ran += count
            print(f"{section}: {count} run, exit status {done.returncode}", flush=True)
    finally:
        for proc in cluster:
            proc.terminate()
            proc.wait(timeout=30)
    print(f"README runner: {ran} commands and blocks run, {len(failed)} block(s) failed")
    assert not failed, "\n\n".join(failed)
    assert ran >= 60
