"""bpnn.httpd and ``bpnn serve``: slow and idle clients are cut off, a flood of them cannot lock
out /health, a port in use is one line, and a loopback server refuses foreign Host headers."""

from __future__ import annotations

import http.client
import socket
import threading
import time
import urllib.request
import warnings

import pytest
import uvicorn

import bpnn
from bpnn import httpd
from bpnn.cli import main
from bpnn.commands.serve import trusted_hosts
from bpnn.server import LOOPBACK_HOSTS, create_app
from helpers_model import tiny_model

with warnings.catch_warnings():  # Starlette 1.x prefers httpx2 but works with httpx
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

TIMEOUT = 1.0  # the request deadline in these tests (bpnn serve: limits.REQUEST_TIMEOUT_S)


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    return tiny_model(tmp_path_factory.mktemp("m") / "tiny.npz")


def run_server(model_path, max_connections: int):
    """Start the guarded server on a free loopback port in a thread: (url, stop function)."""
    app = create_app(*bpnn.modelfile.load_model(model_path), allowed_hosts=LOOPBACK_HOSTS)
    sock = httpd.listen("127.0.0.1", 0)
    server = uvicorn.Server(httpd.server_config(app, TIMEOUT, max_connections))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)

    def stop():
        server.should_exit = True
        thread.join(10)

    return sock.getsockname()[1], stop


@pytest.fixture
def server(model_path):
    port, stop = run_server(model_path, max_connections=500)
    yield port
    stop()


def health_seconds(port: int) -> float:
    start = time.perf_counter()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as r:
        assert r.status == 200
    return time.perf_counter() - start


def open_slow_clients(port: int, n: int) -> list[socket.socket]:
    """n connections: a third idle, a third with half a request line, a third with half a body."""
    partial = [
        b"",
        b"GET /health HTTP/1.1\r\nHo",
        b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5000\r\n\r\nab",
    ]
    socks = []
    for i in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(partial[i % 3])
        socks.append(s)
    return socks


def closed_by_server(s: socket.socket, wait: float) -> bool:
    s.settimeout(wait)
    try:
        while True:
            data = s.recv(4096)
            if not data:
                return True
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True


def test_health_answers_under_a_flood_of_slow_clients_which_are_then_closed(server):
    socks = open_slow_clients(server, 200)
    try:
        for s in socks[::10]:  # trickling: one more byte, which must not extend the deadline
            s.sendall(b"x")
        assert max(health_seconds(server) for _ in range(5)) < 0.5
        time.sleep(TIMEOUT)
        assert all(closed_by_server(s, 2 * TIMEOUT) for s in socks)
    finally:
        for s in socks:
            s.close()
    assert health_seconds(server) < 0.5


def test_a_quick_request_is_not_cut_off(server):
    """A request sent whole well within the deadline is answered, on a reused connection too."""
    conn = http.client.HTTPConnection("127.0.0.1", server, timeout=5)
    try:
        sockets = []
        for _ in range(3):
            conn.request("GET", "/health")
            response = conn.getresponse()
            assert response.status == 200 and response.read()
            sockets.append(conn.sock)
            time.sleep(TIMEOUT / 2)  # 3 requests span more than one deadline: each has its own
        assert sockets[0] is sockets[-1]  # one connection throughout, never cut and reopened
    finally:
        conn.close()


def test_connection_cap_evicts_the_oldest_slow_client(model_path):
    port, stop = run_server(model_path, max_connections=50)
    socks = open_slow_clients(port, 120)
    try:
        assert health_seconds(port) < 0.5
        closed = sum(closed_by_server(s, 0.05) for s in socks[:60])
        assert closed >= 60 - 5  # the oldest made room for the newer ones
        assert not any(closed_by_server(s, 0.01) for s in socks[-40:])
    finally:
        for s in socks:
            s.close()
        stop()


def test_port_in_use_is_one_line_before_any_address(model_path, capsys):
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        assert main(["serve", str(model_path), "--port", str(port)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert f"cannot listen on 127.0.0.1 port {port}: Address already in use" in err
    assert "http://" not in err


def test_loopback_server_refuses_other_host_names(model_path):
    app = create_app(*bpnn.modelfile.load_model(model_path), allowed_hosts=LOOPBACK_HOSTS)
    for host in ("127.0.0.1:8000", "localhost", "[::1]:8000"):
        assert TestClient(app).get("/health", headers={"host": host}).status_code == 200
    for host in ("evil.example", "127.0.0.1.evil.example", "localhost.evil:8000"):
        assert TestClient(app).get("/health", headers={"host": host}).status_code == 400


@pytest.mark.parametrize(
    "host,trusted",
    [
        ("127.0.0.1", LOOPBACK_HOSTS),
        ("::1", LOOPBACK_HOSTS),
        ("localhost", LOOPBACK_HOSTS),
        ("0.0.0.0", None),
        ("192.168.1.5", None),
    ],
)
def test_trusted_hosts_follow_the_bind_address(host, trusted):
    assert trusted_hosts(host) == trusted
