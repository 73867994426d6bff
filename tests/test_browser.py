"""The draw-a-digit page end to end in headless Chromium (Playwright for Python).

``bpnn serve`` runs in a subprocess on a free loopback port with a model trained on the real
MNIST; the test draws a "1" with the mouse and expects the page to say 1, then draws with a finger
on a phone-sized screen.  Screenshots go to ``test-artifacts/`` in the repository root.
Skipped without Chromium or Playwright, unless BPNN_REQUIRE_BROWSER=1 (then they fail).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

import bpnn
from helpers_model import save_mnist_model, tiny_model

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:
    expect = sync_playwright = None

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def missing(reason: str):
    if os.environ.get("BPNN_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (BPNN_REQUIRE_BROWSER=1)")
    pytest.skip(reason)


def chromium_path() -> str:
    for candidate in (
        "/usr/bin/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
    ):
        if candidate and Path(candidate).exists():
            return candidate
    missing("Chromium not found (apt-get install chromium)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serving(model: Path):
    """``bpnn serve MODEL`` on a free loopback port, in a subprocess: yields its URL."""
    port = free_port()
    log = open(model.with_name("serve.log"), "w+b")  # a file, so a chatty server never blocks
    proc = subprocess.Popen(
        [sys.executable, "-m", "bpnn", "serve", str(model), "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as r:
                    assert json.load(r)["status"] == "ok"
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    pytest.fail(f"bpnn serve did not start: {log.read().decode(errors='replace')}")
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


@pytest.fixture(scope="module")
def server(mnist_dir, tmp_path_factory):
    model = save_mnist_model(mnist_dir, tmp_path_factory.mktemp("model") / "model.npz")
    with serving(model) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    path = chromium_path()
    if sync_playwright is None:
        missing("Playwright for Python is not installed")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield b
        b.close()


def seen_ink(page) -> int:
    """Sum of the grey levels shown in the page's 28x28 "what the network sees" canvas."""
    return page.evaluate("""() => {
        const d = document.getElementById('seen').getContext('2d').getImageData(0, 0, 28, 28).data;
        let s = 0; for (let i = 0; i < d.length; i += 4) s += d[i]; return s; }""")


def bar_fraction(page, digit: int) -> float:
    """How much of digit's probability bar is filled, as drawn on screen (0..1)."""
    fill = page.locator("#bars li .fill").nth(digit).bounding_box()
    track = page.locator("#bars li .track").nth(digit).bounding_box()
    return fill["width"] / track["width"]


def watch_final_answer(page) -> None:
    """Record in the page when the pen lifts (window.penUp) and when the answer for the final
    drawing is on screen, "reading" hidden again (window.answered), both performance.now() ms."""
    page.evaluate("""() => {
        const reading = document.getElementById('reading');
        window.penUp = window.answered = null;
        document.getElementById('pad').addEventListener('pointerup', () => {
            window.penUp = performance.now(); });
        new MutationObserver(() => {
            if (window.penUp !== null && reading.hidden && window.answered === null)
                window.answered = performance.now();
        }).observe(reading, { attributes: true });
    }""")


def test_draw_a_one_with_the_mouse(browser, server):
    page = browser.new_page(viewport={"width": 1000, "height": 700})
    page.goto(server)
    page.wait_for_selector("#bars li")
    sent = []
    page.on("request", lambda r: sent.append(r.url) if r.url.endswith("/api/predict") else None)
    box = page.locator("#pad").bounding_box()
    x, top, h = box["x"] + box["width"] * 0.52, box["y"], box["height"]
    # "reading" shows from a stroke until its answer: a few ms on a fast machine, so whether it
    # ever showed is recorded in the page rather than polled for
    page.evaluate(
        """() => new MutationObserver(() => {
             if (!document.getElementById("reading").hidden) window.sawReading = true;
           }).observe(document.getElementById("reading"), {attributes: true})"""
    )
    start = time.monotonic()
    page.mouse.move(x, top + 0.18 * h)
    page.mouse.down()
    page.mouse.move(x - 0.02 * h, top + 0.5 * h, steps=10)
    # an answer arrives while the button is still down: the page predicts as you draw
    expect(page.locator("#digit")).not_to_have_text("\u2013", timeout=15_000)
    page.evaluate('() => { window.sawReading = !document.getElementById("reading").hidden; }')
    page.mouse.move(x - 0.04 * h, top + 0.82 * h, steps=10)
    page.wait_for_function("() => window.sawReading === true", timeout=5_000)  # said: reading
    watch_final_answer(page)
    page.mouse.up()
    expect(page.locator("#digit")).to_have_text("1", timeout=15_000)
    page.wait_for_timeout(300)
    latency = page.evaluate("window.answered - window.penUp")  # ms from pen-up to the answer
    print(f"pen-up to the final answer on screen: {latency:.0f} ms")
    # the last drawing goes at pen-up, not when the 150 ms throttle allows: about 20 ms here when
    # the machine is idle; the bound is loose because CI machines are shared (speed is measured
    # by benchmarks, not asserted in tests)
    assert latency < 1000
    # throttled: 21 pointer events, at most one request per 150 ms (plus the last one)
    assert 2 <= len(sent) <= (time.monotonic() - start) / 0.15 + 2
    assert page.locator("#bars li.best .k").text_content() == "1"
    assert float(page.locator("#confidence").text_content().split("%")[0]) > 50
    expect(page.locator("#unsure")).to_be_hidden()  # a clear "1" is not unsure
    assert bar_fraction(page, 1) > 0.5 and bar_fraction(page, 0) < 0.5  # the bar chart shows it
    assert seen_ink(page) > 20 * 255  # the 28x28 image arrived and was drawn
    page.screenshot(path=str(ARTIFACTS / "draw-one.png"))
    page.click("#clear")
    assert page.locator("#digit").text_content() == "\u2013" and seen_ink(page) == 0
    page.close()


def test_phone_screen_and_finger(browser, server):
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    page = context.new_page()
    page.goto(server)
    page.wait_for_selector("#bars li")
    box = page.locator("#pad").bounding_box()
    assert box["x"] >= 0 and box["y"] >= 0 and box["width"] >= 300
    assert box["x"] + box["width"] <= 390 and box["y"] + box["height"] <= 844
    assert abs(box["width"] - box["height"]) < 2
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
    # A finger stroke: touch events through the DevTools protocol become pointer events.
    cdp = context.new_cdp_session(page)
    x = box["x"] + box["width"] * 0.5
    ys = [box["y"] + box["height"] * (0.18 + 0.064 * i) for i in range(11)]
    cdp.send(
        "Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": ys[0]}]}
    )
    for y in ys[1:]:
        cdp.send(
            "Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]}
        )
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    expect(page.locator("#digit")).to_have_text("1", timeout=15_000)
    assert page.evaluate("window.scrollY") == 0  # drawing did not scroll the page
    page.screenshot(path=str(ARTIFACTS / "phone.png"), full_page=True)
    context.close()


def test_an_unsure_answer_says_so(browser, tmp_path):
    """An untrained model gives every digit about 10%: the page says it is unsure."""
    with serving(tiny_model(tmp_path / "untrained.npz")) as url:
        page = browser.new_page(viewport={"width": 1000, "height": 700})
        page.goto(url)
        page.wait_for_selector("#bars li")
        expect(page.locator("#unsure")).to_be_hidden()
        box = page.locator("#pad").bounding_box()
        x, top, h = box["x"] + box["width"] * 0.5, box["y"], box["height"]
        page.mouse.move(x, top + 0.2 * h)
        page.mouse.down()
        page.mouse.move(x, top + 0.8 * h, steps=8)
        page.mouse.up()
        expect(page.locator("#unsure")).to_be_visible(timeout=15_000)
        expect(page.locator("#unsure")).to_contain_text("unsure: below 80%")
        assert "doubtful" in page.locator("#digit").get_attribute("class")
        page.screenshot(path=str(ARTIFACTS / "unsure.png"))
        page.click("#clear")
        expect(page.locator("#unsure")).to_be_hidden()
        page.close()


@pytest.fixture(scope="module")
def table_server(tmp_path_factory):
    pd = pytest.importorskip("pandas")
    gen = np.random.default_rng(0)
    rows = pd.DataFrame(
        {
            "age": gen.normal(40, 12, 120),
            "member": gen.choice(["yes", "no"], 120),
            "plan": gen.choice(["basic", "pro", "<b>gold</b>"], 120),  # markup: shown as text
        }
    )
    churn = np.where(rows["plan"] == "pro", "stays", "leaves")
    model = tmp_path_factory.mktemp("table") / "churn.npz"
    bpnn.fit(rows, churn, hidden=[8], epochs=60, lr=0.01, seed=1).save(model)  # learns "pro"
    with serving(model) as url:
        yield url


def test_a_table_model_shows_its_columns_not_a_canvas(browser, table_server):
    page = browser.new_page(viewport={"width": 1000, "height": 700})
    page.goto(table_server)
    expect(page.locator("#columns tbody tr")).to_have_count(3, timeout=15_000)
    assert not page.locator("#pad").is_visible() and page.locator("h1").text_content() == (
        "Predict from a table"
    )
    cells = page.locator("#columns tbody tr").all_inner_texts()
    assert cells[0].split("\t")[:2] == ["age", "numeric"]
    assert cells[1].split("\t") == ["member", "boolean", "yes / no"]
    assert "<b>gold</b>" in cells[2] and page.locator("#columns b").count() == 0
    request = json.loads(page.locator("#request").input_value())
    assert set(request["rows"][0]) == {"age", "member", "plan"}
    page.fill("#request", json.dumps({"rows": [{**request["rows"][0], "plan": "pro"}]}))
    page.click("#send")
    expect(page.locator("#answer")).to_contain_text('"label": "stays"', timeout=15_000)
    page.fill("#request", json.dumps({"rows": [{"age": 3}]}))
    page.click("#send")
    expect(page.locator("#table-status")).to_have_text(
        "row 1 has no column 'member' (the model reads age, member, plan; null for a missing value)"
    )
    page.screenshot(path=str(ARTIFACTS / "table-model.png"))
    page.close()
