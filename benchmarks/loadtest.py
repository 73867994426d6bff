"""Load test of ``bpnn serve``: many clients at once, good and bad, and what the server costs.

Starts ``bpnn serve`` on 127.0.0.1 (loopback only) with a 784-300-10 model (random weights: the
answers do not matter here), then for a fixed time runs ``--clients`` concurrent clients, each
sending one request after another, a mix of

- valid requests: the page's canvas as grey levels, a small PNG of a digit;
- near-limit images: a 16-bit PNG just under the decoded-pixel limit (the costliest thing to
  decode that the server accepts);
- hostile ones: an image over the pixel limit, a body over the byte limit, a truncated PNG, a PNG
  with broken EXIF;

while ``--slow`` more clients hold connections open sending half a request a byte at a time, and
one prober (a process of its own) asks for ``/health`` every 50 ms.  Reports requests per
second, p50/p99 latency, the answers by status, the number of 5xx, the /health p99 and the
server's peak memory (VmHWM), and checks the targets: no 5xx, /health p99 under 100 ms, peak
memory under 1 GB.

    python benchmarks/loadtest.py [--clients 64] [--slow 64] [--seconds 20] [--json]

Needs httpx (the ``test`` extra).  Not a unit test: it takes --seconds and loads every core.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import multiprocessing
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import zlib
from collections import Counter
from pathlib import Path

import httpx
import numpy as np
from PIL import Image, ImageDraw

import bpnn
from bpnn import limits

HEALTH_TARGET_S = 0.100
RSS_TARGET_BYTES = 1 << 30


# ---- what the clients send -------------------------------------------------------------------
def png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def digit(size: int, mode: str = "L") -> Image.Image:
    """A "7" drawn dark on light at size x size (mode "I;16": 16-bit grey)."""
    img = Image.new("L", (size, size), 255)
    ImageDraw.Draw(img).line(
        [(0.3 * size, 0.2 * size), (0.7 * size, 0.2 * size), (0.45 * size, 0.85 * size)],
        fill=0,
        width=max(2, size // 15),
    )
    if mode == "I;16":
        return Image.fromarray(np.asarray(img, dtype=np.uint16) * 257)
    return img


def broken_exif(data: bytes) -> bytes:
    """``data`` (a PNG) with an eXIf chunk that is not EXIF."""
    payload = b"garbage!"
    chunk = (
        len(payload).to_bytes(4, "big")
        + b"eXIf"
        + payload
        + zlib.crc32(b"eXIf" + payload).to_bytes(4, "big")
    )
    return data[:33] + chunk + data[33:]


def requests() -> dict[str, tuple[float, dict]]:
    """name -> (share of the requests, httpx keyword arguments for POST /api/predict)."""
    canvas = json.dumps(
        {"grey": np.asarray(digit(112)).reshape(-1).tolist(), "width": 112, "height": 112}
    ).encode()  # encoded once: the clients' time is shared
    near = int(limits.MAX_IMAGE_PIXELS**0.5) - 1  # a square just under the pixel limit
    small = png(digit(200))
    raw = {"content-type": "image/png"}
    return {
        "canvas grey levels": (
            0.40,
            {"content": canvas, "headers": {"content-type": "application/json"}},
        ),
        "small png": (0.15, {"content": small, "headers": raw}),
        "near-limit 16-bit png": (0.20, {"content": png(digit(near, "I;16")), "headers": raw}),
        "over the pixel limit": (0.05, {"content": png(digit(near + 100, "I;16")), "headers": raw}),
        "over the byte limit": (
            0.05,
            {"content": os.urandom(limits.MAX_UPLOAD_BYTES + 1), "headers": raw},
        ),
        "truncated png": (0.075, {"content": small[: len(small) // 2], "headers": raw}),
        "broken exif": (0.075, {"content": broken_exif(small), "headers": raw}),
    }


# ---- the server ------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(model: Path, port: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bpnn",
            "serve",
            str(model),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).raise_for_status()
            return proc
        except httpx.HTTPError:
            if proc.poll() is not None:
                err = proc.stderr.read().decode()
                raise SystemExit(f"bpnn serve did not start: {err}") from None
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("bpnn serve did not answer within 30 s")


def peak_rss(pid: int) -> int:
    """The process's peak resident memory in bytes (VmHWM in /proc/PID/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


# ---- the clients -----------------------------------------------------------------------------
async def client(http: httpx.AsyncClient, mix, stop: float, seen: list, rng: random.Random):
    names = list(mix)
    weights = [mix[n][0] for n in names]
    while time.monotonic() < stop:
        name = rng.choices(names, weights)[0]
        start = time.perf_counter()
        try:
            r = await http.post("/api/predict", **mix[name][1])
            status = r.status_code
        except httpx.HTTPError as exc:
            status = type(exc).__name__
        seen.append((name, status, time.perf_counter() - start))


async def slow_client(port: int, stop: float, counts: Counter):
    """Half a request line, a byte every second; when the server cuts it off, start again."""
    while time.monotonic() < stop:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            counts["refused"] += 1
            await asyncio.sleep(0.5)
            continue
        counts["opened"] += 1
        try:
            writer.write(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            while time.monotonic() < stop:
                await writer.drain()
                if reader.at_eof():
                    break
                try:
                    if not await asyncio.wait_for(reader.read(1), 1.0) and reader.at_eof():
                        counts["cut off by the server"] += 1
                        break
                except TimeoutError:
                    writer.write(b"x")
        except OSError:
            counts["cut off by the server"] += 1
        finally:
            writer.close()


def prober(port: int, seconds: float, results) -> None:
    """Ask for /health every 50 ms for ``seconds``; put (latencies, failures) on ``results``.
    Runs in its own process, so that the load generator's busy event loop does not count."""
    latencies, failures = [], Counter()
    stop = time.monotonic() + seconds
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
        while time.monotonic() < stop:
            start = time.perf_counter()
            try:
                r = http.get("/health")
                if r.status_code != 200:
                    failures[r.status_code] += 1
            except httpx.HTTPError as exc:
                failures[type(exc).__name__] += 1
            latencies.append(time.perf_counter() - start)
            time.sleep(0.05)
    results.put((latencies, failures))


async def run_load(port: int, clients: int, slow: int, seconds: float) -> dict:
    mix = requests()
    stop = time.monotonic() + seconds
    base = f"http://127.0.0.1:{port}"
    seen, slow_counts = [], Counter()
    pool = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    results = multiprocessing.Queue()
    probe = multiprocessing.Process(target=prober, args=(port, seconds, results))
    probe.start()
    async with httpx.AsyncClient(base_url=base, limits=pool, timeout=60) as http:
        started = time.perf_counter()
        await asyncio.gather(
            *(client(http, mix, stop, seen, random.Random(i)) for i in range(clients)),
            *(slow_client(port, stop, slow_counts) for _ in range(slow)),
        )
        elapsed = time.perf_counter() - started
    health, health_failures = results.get(timeout=60)
    probe.join()
    return summarise(seen, health, health_failures, slow_counts, elapsed)


def summarise(seen, health, health_failures, slow_counts, elapsed) -> dict:
    times = np.array([t for _, _, t in seen])
    by_kind: dict[str, Counter] = {}
    for name, status, _ in seen:
        by_kind.setdefault(name, Counter())[str(status)] += 1
    statuses = Counter(str(status) for _, status, _ in seen)
    return {
        "requests": len(seen),
        "seconds": round(elapsed, 1),
        "requests_per_s": round(len(seen) / elapsed, 1),
        "p50_ms": round(1000 * float(np.percentile(times, 50)), 1),
        "p99_ms": round(1000 * float(np.percentile(times, 99)), 1),
        "statuses": dict(statuses),
        "by_kind": {k: dict(v) for k, v in by_kind.items()},
        "5xx": sum(n for s, n in statuses.items() if s.startswith("5")),
        "client_errors": sum(n for s, n in statuses.items() if not s.isdigit()),
        "health_requests": len(health),
        "health_p99_ms": round(1000 * float(np.percentile(health, 99)), 1),
        "health_failures": dict(health_failures),
        "slow_clients": dict(slow_counts),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=64, help="concurrent clients (64)")
    parser.add_argument("--slow", type=int, default=64, help="slow clients besides (64)")
    parser.add_argument("--seconds", type=float, default=20.0, help="how long (20 s)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        model = Path(tmp) / "model.npz"
        bpnn.modelfile.save_model(
            model, bpnn.Network([784, 300, 10], output="softmax", loss="cross_entropy", seed=0)
        )
        port = free_port()
        server = start_server(model, port)
        try:
            result = asyncio.run(run_load(port, args.clients, args.slow, args.seconds))
            result["peak_rss_mb"] = round(peak_rss(server.pid) / 2**20, 1)
        finally:
            server.terminate()
            server.wait(10)
    result |= {
        "clients": args.clients,
        "slow": args.slow,
        "targets_met": {
            "no 5xx": result["5xx"] == 0,
            "/health p99 < 100 ms": result["health_p99_ms"] < 1000 * HEALTH_TARGET_S,
            "peak RSS < 1 GB": result["peak_rss_mb"] * 2**20 < RSS_TARGET_BYTES,
        },
    }
    print(json.dumps(result, indent=None if args.json else 1))
    return 0 if all(result["targets_met"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
