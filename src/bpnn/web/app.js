// The draw-a-digit page: pointer events draw on the canvas; while drawing, the canvas is sent
// to POST /api/predict as SIDE x SIDE grey levels (no image encoding to wait for; the server
// prepares them as it prepares an image), at most one request in flight and at most one per
// INTERVAL ms; when the pen lifts, the last drawing goes at once.  The answer fills in the digit,
// the ten probability bars and the 28x28 input image; "reading" shows while one is on its way.
// An answer the server marks unsure (probability below its threshold) says so under the digit.
"use strict";

const INTERVAL = 150; // ms between requests while drawing
const SIDE = 112; // the canvas is sent at this size (the network sees 28x28)
const pad = document.getElementById("pad");
const ctx = pad.getContext("2d");
const small = Object.assign(document.createElement("canvas"), { width: SIDE, height: SIDE });
const smallCtx = small.getContext("2d", { willReadFrequently: true });
const readingEl = document.getElementById("reading");
const seen = document.getElementById("seen").getContext("2d");
const digitEl = document.getElementById("digit");
const confidenceEl = document.getElementById("confidence");
const unsureEl = document.getElementById("unsure");
const statusEl = document.getElementById("status");
const bars = [];

let drawing = false, hasInk = false, prev = null;
let busy = false, dirty = false, lastSent = 0, timer = null, generation = 0;

function setupBars() {
  const list = document.getElementById("bars");
  for (let k = 0; k < 10; k++) {
    const li = document.createElement("li");
    li.innerHTML = `<span class="k">${k}</span><span class="track"><span class="fill"></span></span><span class="p"></span>`;
    list.appendChild(li);
    bars.push({ li, fill: li.querySelector(".fill"), p: li.querySelector(".p") });
  }
}

function clearPad() {
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, pad.width, pad.height);
  ctx.strokeStyle = "#000";
  ctx.fillStyle = "#000";
  ctx.lineWidth = pad.width / 14;
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  hasInk = false;
  generation++; // answers to earlier drawings are ignored
  dirty = false;
  readingEl.hidden = true;
  showResult(null);
  statusEl.textContent = "";
}

function point(e) {
  const r = pad.getBoundingClientRect();
  return {
    x: (e.clientX - r.left - pad.clientLeft) * pad.width / pad.clientWidth,
    y: (e.clientY - r.top - pad.clientTop) * pad.height / pad.clientHeight,
  };
}

function dot(p) {
  ctx.beginPath();
  ctx.arc(p.x, p.y, ctx.lineWidth / 2, 0, 2 * Math.PI);
  ctx.fill();
}

function line(a, b) {
  ctx.beginPath();
  ctx.moveTo(a.x, a.y);
  ctx.lineTo(b.x, b.y);
  ctx.stroke();
}

pad.addEventListener("pointerdown", (e) => {
  if (e.pointerType === "mouse" && e.button !== 0) return;
  e.preventDefault();
  pad.setPointerCapture(e.pointerId);
  drawing = true;
  prev = point(e);
  dot(prev);
  hasInk = true;
  request();
});

pad.addEventListener("pointermove", (e) => {
  if (!drawing) return;
  const events = e.getCoalescedEvents ? e.getCoalescedEvents() : [e];
  for (const ev of events.length ? events : [e]) {
    const p = point(ev);
    line(prev, p);
    prev = p;
  }
  request();
});

for (const type of ["pointerup", "pointercancel"]) {
  pad.addEventListener(type, () => {
    if (!drawing) return;
    drawing = false;
    request();
  });
}

document.getElementById("clear").addEventListener("click", clearPad);

// ---- talking to the server -------------------------------------------------------------
function request() {
  dirty = true;
  readingEl.hidden = !hasInk;
  schedule();
}

function schedule() {
  if (busy || !dirty) return;
  const wait = drawing ? Math.max(0, lastSent + INTERVAL - performance.now()) : 0;
  clearTimeout(timer); // the pen lifted: the last drawing goes now, not when the timer says
  timer = setTimeout(send, wait);
}

// The canvas reduced to SIDE x SIDE (the browser's smoothing), as grey levels 0..255.
function canvasGrey() {
  smallCtx.imageSmoothingQuality = "high";
  smallCtx.drawImage(pad, 0, 0, SIDE, SIDE);
  const rgba = smallCtx.getImageData(0, 0, SIDE, SIDE).data;
  const grey = new Array(SIDE * SIDE);
  for (let i = 0; i < grey.length; i++) {
    grey[i] = Math.round((rgba[4 * i] + rgba[4 * i + 1] + rgba[4 * i + 2]) / 3);
  }
  return { grey, width: SIDE, height: SIDE };
}

async function send() {
  timer = null;
  if (!dirty || !hasInk) return;
  dirty = false;
  busy = true;
  lastSent = performance.now();
  const mine = generation;
  try {
    const response = await fetch("/api/predict", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify(canvasGrey()),
    });
    const answer = await response.json();
    if (mine !== generation) return;
    if (response.ok) {
      showResult(answer);
      statusEl.textContent = "";
    } else {
      statusEl.textContent = answer.error || `error ${response.status}`;
    }
  } catch (err) {
    if (mine === generation) statusEl.textContent = "cannot reach the server";
  } finally {
    busy = false;
    if (!dirty) readingEl.hidden = true;
    schedule();
  }
}

// ---- showing the answer ------------------------------------------------------------------
function showResult(answer) {
  // a regressor answers a value (no probabilities); a classifier its own class and its index
  const probs = answer && answer.probabilities ? answer.probabilities : new Array(10).fill(0);
  const best = answer && answer.probabilities ? answer.index : -1;
  const said = answer && "value" in answer ? answer.value.toPrecision(4) : answer && answer.digit;
  digitEl.textContent = answer ? String(said) : "\u2013";
  confidenceEl.textContent = best >= 0 ? `${(100 * probs[best]).toFixed(1)}% sure` : "\u00a0";
  const unsure = Boolean(answer && answer.unsure);
  unsureEl.hidden = !unsure;
  unsureEl.textContent = unsure
    ? `unsure: below ${Math.round(100 * answer.unsure_below)}%, maybe not a digit it knows`
    : "";
  digitEl.classList.toggle("doubtful", unsure);
  bars.forEach((bar, k) => {
    const p = probs[k] || 0;
    bar.fill.style.width = `${(100 * p).toFixed(1)}%`;
    bar.p.textContent = answer ? `${(100 * p).toFixed(1)}%` : "";
    bar.li.classList.toggle("best", k === best);
  });
  drawSeen(answer ? answer.input : null);
}

function drawSeen(input) {
  const image = seen.createImageData(28, 28);
  for (let i = 0; i < 784; i++) {
    const v = input ? input[i] : 0;
    image.data.set([v, v, v, 255], 4 * i);
  }
  seen.putImageData(image, 0, 0);
}

// ---- a model trained on a table: its columns and a request to try, in place of the canvas ----
function cell(row, text) {
  const td = document.createElement("td");
  td.textContent = text; // textContent: a column name is data, never markup
  row.appendChild(td);
}

function showTable(inputs) {
  document.title = "bpnn: predict from a table";
  document.querySelector("h1").textContent = "Predict from a table";
  document.querySelector(".hint").textContent =
    `This model takes ${inputs.columns.length} columns and ` +
    (inputs.task === "classify" ? `says one of: ${inputs.classes.join(", ")}.` : "says a value.");
  document.querySelector("main").hidden = true;
  document.getElementById("table").hidden = false;
  const body = document.querySelector("#columns tbody");
  for (const c of inputs.columns) {
    const row = document.createElement("tr");
    cell(row, c.name);
    cell(row, c.type);
    cell(row, c.levels ? c.levels.join(", ") : c.values ? c.values.join(" / ") : "a number");
    body.appendChild(row);
  }
  const request = document.getElementById("request");
  request.value = JSON.stringify(inputs.example, null, 2);
  document.getElementById("send").addEventListener("click", () => sendRows(request.value));
}

async function sendRows(text) {
  const status = document.getElementById("table-status");
  const out = document.getElementById("answer");
  status.textContent = "reading\u2026";
  try {
    const response = await fetch("/predict", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: text,
    });
    const answer = await response.json();
    status.textContent = response.ok ? "" : answer.error || `error ${response.status}`;
    out.textContent = response.ok ? JSON.stringify(answer.predictions, null, 2) : "";
  } catch (err) {
    status.textContent = "cannot reach the server";
  }
}

async function showModel() {
  try {
    const info = await (await fetch("/health")).json();
    if (info.inputs && info.inputs.kind === "table") showTable(info.inputs);
    const error = info.results && info.results.test_error;
    const sizes = info.network.sizes.join("-");
    document.getElementById("model").textContent =
      `model ${info.model}: ${sizes} network` +
      (typeof error === "number" ? `, ${(100 * error).toFixed(2)}% test error` : "");
  } catch (err) {
    // the footer is decoration; drawing still works
  }
}

setupBars();
clearPad();
showModel();
