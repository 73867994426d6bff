"""The local sweep cluster keeps to 127.0.0.1 and lets no raw Dask warning through: a port 8787
already taken (a second sweep, a Dask dashboard) is no conflict, and a warning Dask raises
becomes one line of the sweep's log."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest

pytest.importorskip("distributed")

from bpnn.sweep import engine


def _hold(port: int) -> socket.socket | None:
    """A socket listening on 127.0.0.1:port, or None when something else already does."""
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        s.close()
        return None
    s.listen()
    return s


def test_local_cluster_listens_on_loopback_and_says_nothing_raw(capfd):
    held = _hold(8787)  # Dask's default HTTP port, taken: it used to warn and move
    lines: list[str] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with engine.connect(None, 1, lines.append) as client:
                cluster = client.cluster
                http = cluster.scheduler.http_server
                addresses = [client.scheduler.address, *client.scheduler_info()["workers"]]
                assert http.address == "127.0.0.1" and http.port != 8787
                assert all(a.startswith("tcp://127.0.0.1:") for a in addresses), addresses
    finally:
        if held is not None:
            held.close()
    raw = [w for w in caught if {"dask", "distributed"} & set(Path(w.filename).parts)]
    assert not raw, [str(w.message) for w in raw]
    assert "Port 8787" not in capfd.readouterr().err
    assert lines and lines[0].startswith("trials run on a local Dask cluster")


def test_a_dask_warning_is_one_log_line():
    import distributed

    lines: list[str] = []
    inside = str(Path(distributed.__file__).parent / "node.py")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with engine.dask_warnings_to(lines.append):
            warnings.warn_explicit(
                "Port 8787 is already in use.\nPerhaps you already have a cluster running?",
                UserWarning,
                inside,
                195,
            )
            warnings.warn_explicit("ours", UserWarning, "/elsewhere/bpnn_user.py", 1)
    assert lines == ["Dask: Port 8787 is already in use. (UserWarning)"]
    assert [str(w.message) for w in caught] == ["ours"]


def _certificates(folder: Path) -> dict:
    """A CA and a certificate for 127.0.0.1 signed by it (openssl), as Dask's TLS settings."""
    run = lambda *a: subprocess.run(["openssl", *a], cwd=folder, capture_output=True, check=True)  # noqa: E731
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
        "-days", "2", "-subj", "/CN=bpnn test CA")  # fmt: skip
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "node.key", "-out", "node.csr",
        "-subj", "/CN=127.0.0.1")  # fmt: skip
    (folder / "ext").write_text("subjectAltName=IP:127.0.0.1\n")
    run("x509", "-req", "-in", "node.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "node.pem", "-days", "2", "-extfile", "ext")  # fmt: skip
    return {
        k: str(folder / v) for k, v in (("ca", "ca.pem"), ("cert", "node.pem"), ("key", "node.key"))
    }


def test_a_tls_scheduler_is_reached_with_dasks_tls_settings(tmp_path):
    """The README's way to secure a cluster: ``--scheduler tls://...`` with Dask's own TLS
    settings (here ``dask.config``; DASK_DISTRIBUTED__COMM__TLS__* in the environment)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl not found")
    import dask
    import distributed

    tls = _certificates(tmp_path)
    port = free_port()
    scheduler = subprocess.Popen(
        [sys.executable, "-m", "distributed.cli.dask_scheduler", "--protocol", "tls",
         "--host", "127.0.0.1", "--port", str(port), "--dashboard-address", "127.0.0.1:0",
         "--tls-ca-file", tls["ca"], "--tls-cert", tls["cert"], "--tls-key", tls["key"]],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    address = f"tls://127.0.0.1:{port}"
    try:
        with pytest.raises(engine.BpnnError, match="needs Dask's TLS settings"):
            _retry(lambda: engine._client(distributed, address), tries=1)
        settings = {
            "distributed.comm.tls.ca-file": tls["ca"],
            "distributed.comm.tls.client.cert": tls["cert"],
            "distributed.comm.tls.client.key": tls["key"],
            "distributed.comm.require-encryption": True,
        }
        with dask.config.set(settings):
            client = _retry(lambda: engine._client(distributed, address), tries=40)
            try:
                assert client.scheduler.address == address
            finally:
                client.close()
    finally:
        scheduler.terminate()
        scheduler.wait(timeout=30)


def _retry(call, tries: int):
    """call(), again every 0.5 s while the scheduler is not up yet (a refused connection)."""
    for attempt in range(tries):
        try:
            return call()
        except engine.BpnnError as exc:
            if attempt == tries - 1 or "ssl_context" in str(exc):
                raise
            time.sleep(0.5)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
