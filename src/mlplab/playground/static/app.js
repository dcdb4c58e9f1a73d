// mlplab playground page: sends the form and the controls to the server, draws the frames it streams.
// The engine runs in the server; nothing here computes E, gradients or steps.
"use strict";

const $ = (sel) => document.querySelector(sel);
const $$ = (sel) => [...document.querySelectorAll(sel)];
const HIDDEN_ACTS = ["tanh", "sigmoid", "relu", "leaky_relu", "identity", "softplus"];
const PANELS = ["convergence", "boundary", "line_search", "step_size", "surface", "gradients", "activations"];
const PRESETS = {  // network presets per data set (the optimizer is kept)
  "lecture": {model: "toy", init: "glorot", loss: "squared", batch: "2"},
  "lecture-network": {model: "mlp", init: "glorot", hidden: "2,2", acts: "sigmoid", bias: false, loss: "squared", batch: "2"},
  "xor": {model: "mlp", init: "glorot", hidden: "4", acts: "tanh", bias: true, loss: "binary_cross_entropy", batch: "2"},
  "moons": {model: "mlp", init: "he", batch: "16", hidden: "8,8", acts: "tanh", bias: true, loss: "binary_cross_entropy", n_samples: "200", noise: "0.1"},
  "circles": {model: "mlp", init: "he", batch: "16", hidden: "8,8", acts: "relu", bias: true, loss: "binary_cross_entropy", n_samples: "200", noise: "0.05"},
  "spirals": {model: "mlp", batch: "16", hidden: "32,32", acts: "relu", init: "he", bias: true, loss: "binary_cross_entropy", n_samples: "200", noise: "0.05"},
  "blobs": {model: "mlp", init: "glorot", batch: "16", hidden: "8", acts: "tanh", bias: true, loss: "cross_entropy", n_samples: "300", noise: "1"},
  "linear-regression": {model: "mlp", init: "glorot", batch: "16", hidden: "8", acts: "tanh", bias: true, loss: "squared", n_samples: "100", noise: "0.3"},
};
// step sizes per data set and method, chosen so that each makes progress from w^0: E after 500 steps
// below half of E(w^0), without divergence, for the seeds 0, 1 and 2 (tests/test_playground_presets.py
// runs every pair; on spirals only Adam gets there in 500 steps from (x1, x2) alone). SGD keeps a Robbins–Monro schedule (γ_k = c/(k+1)^0.6) where that makes progress,
// a constant γ elsewhere (the page says which).
const STEP_PRESETS = {
  "lecture": {"gd-exact": {"alpha_max": "10000"}, "gd-constant": {"alpha": "1"}, "sgd": {"schedule": "power", "c": "1", "p": "0.6"}, "minibatch": {"schedule": "constant", "c": "3", "reduction": "mean"}, "momentum": {"schedule": "constant", "c": "1", "reduction": "mean"}, "adam": {"schedule": "constant", "c": "0.1", "reduction": "mean"}},
  "lecture-network": {"gd-exact": {"alpha_max": "100"}, "gd-constant": {"alpha": "1"}, "sgd": {"schedule": "constant", "c": "3"}, "minibatch": {"schedule": "constant", "c": "3", "reduction": "sum"}, "momentum": {"schedule": "constant", "c": "1", "reduction": "mean"}, "adam": {"schedule": "constant", "c": "0.1", "reduction": "mean"}},
  "xor": {"gd-exact": {"alpha_max": "10000"}, "gd-constant": {"alpha": "1"}, "sgd": {"schedule": "constant", "c": "1"}, "minibatch": {"schedule": "constant", "c": "3", "reduction": "mean"}, "momentum": {"schedule": "constant", "c": "0.3", "reduction": "mean"}, "adam": {"schedule": "constant", "c": "0.1", "reduction": "mean"}},
  "moons": {"gd-exact": {"alpha_max": "100"}, "gd-constant": {"alpha": "0.03"}, "sgd": {"schedule": "constant", "c": "0.3"}, "minibatch": {"schedule": "constant", "c": "3", "reduction": "mean"}, "momentum": {"schedule": "constant", "c": "0.1", "reduction": "mean"}, "adam": {"schedule": "constant", "c": "0.03", "reduction": "mean"}},
  "circles": {"gd-exact": {"alpha_max": "10000"}, "gd-constant": {"alpha": "0.01"}, "sgd": {"schedule": "constant", "c": "0.1"}, "minibatch": {"schedule": "constant", "c": "1", "reduction": "mean"}, "momentum": {"schedule": "constant", "c": "0.3", "reduction": "mean"}, "adam": {"schedule": "constant", "c": "0.1", "reduction": "mean"}},
  "spirals": {"gd-exact": {"alpha_max": "100"}, "gd-constant": {"alpha": "0.01"}, "sgd": {"schedule": "constant", "c": "0.01"}, "minibatch": {"schedule": "constant", "c": "1", "reduction": "mean"}, "momentum": {"schedule": "constant", "c": "0.1", "reduction": "mean"}, "adam": {"schedule": "constant", "c": "0.03", "reduction": "mean"}},
  "blobs": {"gd-exact": {"alpha_max": "100"}, "gd-constant": {"alpha": "0.01"}, "sgd": {"schedule": "power", "c": "1", "p": "0.6"}, "minibatch": {"schedule": "constant", "c": "0.1", "reduction": "sum"}, "momentum": {"schedule": "constant", "c": "0.1", "reduction": "mean"}, "adam": {"schedule": "constant", "c": "0.1", "reduction": "mean"}},
  "linear-regression": {"gd-exact": {"alpha_max": "10"}, "gd-constant": {"alpha": "0.001"}, "sgd": {"schedule": "power", "c": "0.3", "p": "0.6"}, "minibatch": {"schedule": "constant", "c": "0.003", "reduction": "sum"}, "momentum": {"schedule": "constant", "c": "0.03", "reduction": "mean"}, "adam": {"schedule": "constant", "c": "0.1", "reduction": "mean"}},
};
const OPT_PRESETS = {  // step-size defaults per optimizer (then STEP_PRESETS for the data set)
  "sgd": {schedule: "inverse", c: "1"},
  "minibatch": {schedule: "inverse", c: "1", reduction: "sum"},
  "momentum": {schedule: "constant", c: "0.01", reduction: "mean"},
  "adam": {schedule: "constant", c: "0.01", reduction: "mean"},
};

// the token of the page's URL (a playground listening beyond this machine requires it on every request)
const TOKEN = new URLSearchParams(location.search).get("token");
const AUTH = TOKEN ? `?token=${encodeURIComponent(TOKEN)}` : "";

const state = {syncNext: true, seq: 0, ws: null, sid: null, frame: null, running: false, pending: null, drawing: false, snapshots: [0], drawTimes: []};
window.playground = state;  // for tests and the curious: state.frame is the last frame drawn

// --- form -------------------------------------------------------------------------------------

function field(name) { return document.querySelector(`[data-field="${name}"]`); }

function readForm() {
  const form = {};
  for (const el of $$("[data-field]")) {
    const name = el.dataset.field;
    if (el.type === "checkbox") form[name] = el.checked;
    else form[name] = el.value;
  }
  form.activations = $$("#acts select").map((s) => s.value);
  form.compare = $$("[data-compare]").filter((c) => c.checked).map((c) => c.dataset.compare);
  if (form.model === "toy") { delete form.hidden; delete form.activations; }
  return form;
}

function widths() {
  const raw = field("hidden").value.replace(/\s/g, "");
  if (raw === "") return [];
  const parts = raw.split(",");
  return parts.every((p) => /^\d+$/.test(p)) ? parts.map(Number) : null;
}

function buildActivationSelects(values) {
  const w = widths();
  if (w === null) return;
  const box = $("#acts");
  const old = values || $$("#acts select").map((s) => s.value);
  box.innerHTML = "";
  w.forEach((n, i) => {
    const lab = document.createElement("label");
    lab.innerHTML = `φ<sup>${i + 1}</sup> (${Number(n)} units) `;
    const sel = document.createElement("select");
    sel.dataset.testid = `activation-${i + 1}`;
    for (const a of HIDDEN_ACTS) {
      const o = document.createElement("option");
      o.value = o.textContent = a;
      sel.appendChild(o);
    }
    sel.value = old[Math.min(i, old.length - 1)] || "tanh";
    sel.addEventListener("change", sendConfig);
    lab.appendChild(sel);
    for (const [sign, delta] of [["+", 1], ["−", -1]]) {  // units of this layer
      const b = document.createElement("button");
      b.type = "button";
      b.className = "unit-btn";
      b.textContent = sign;
      b.title = `${delta > 0 ? "add a unit to" : "remove a unit from"} hidden layer ${i + 1}`;
      b.dataset.testid = `units-${delta > 0 ? "plus" : "minus"}-${i + 1}`;
      b.addEventListener("click", (e) => { e.preventDefault(); editWidths(i, delta); });
      lab.appendChild(b);
    }
    box.appendChild(lab);
  });
}

// the +/− buttons: edit the hidden widths in the form and send the usual configuration
const MAX_WIDTH = 64, MAX_HIDDEN_LAYERS = 6;
function editWidths(layer, delta) {  // layer: a hidden layer's index (units ±1), or "add"/"remove" a layer
  const w = widths();
  if (w === null) return;
  if (layer === "add") { if (w.length >= MAX_HIDDEN_LAYERS) return; w.push(w.length ? w[w.length - 1] : 4); }
  else if (layer === "remove") { if (!w.length) return; w.pop(); }
  else {
    const n = w[layer] + delta;
    if (n < 1 || n > MAX_WIDTH) return;
    w[layer] = n;
  }
  field("hidden").value = w.join(",");
  buildActivationSelects();
  sendConfig();
}

// --- the form in the page's address: #dataset=moons&hidden=8,8&… (reload or share restores it) -----

function writeHash(form) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(form)) q.set(k, Array.isArray(v) ? v.join(",") : String(v));
  history.replaceState(null, "", location.pathname + location.search + "#" + q.toString());
}

function readHash() {  // the form from the address; true when there was one
  if (location.hash.length < 2) return false;
  const q = new URLSearchParams(location.hash.slice(1));
  let any = false;
  for (const [k, v] of q.entries()) {
    if (k === "activations" || k === "compare") continue;
    const el = field(k);
    if (!el) continue;
    any = true;
    if (el.type === "checkbox") el.checked = v === "true";
    else el.value = v;
  }
  if (q.has("compare")) {
    const c = q.get("compare").split(",");
    for (const box of $$("[data-compare]")) box.checked = c.includes(box.dataset.compare);
  }
  buildActivationSelects(q.has("activations") && q.get("activations") ? q.get("activations").split(",") : undefined);
  return any;
}

function showOnly() {
  const ds = field("dataset").value, model = field("model").value, opt = field("optimizer").value;
  const sched = field("schedule").value;
  const synthetic = ["moons", "circles", "spirals", "blobs", "linear-regression"].includes(ds);
  for (const el of $$("[data-for-data]")) el.hidden = !synthetic;
  for (const el of $$("[data-for-model]")) el.hidden = el.dataset.forModel !== model;
  for (const el of $$("[data-for-opt]")) el.hidden = !el.dataset.forOpt.split(" ").includes(opt);
  for (const el of $$("[data-for-sched]")) el.hidden = el.dataset.forSched !== sched;
  $("#p-line_search").classList.toggle("muted", !opt.startsWith("gd-") || opt === "gd-constant");
}

function setErrors(errors) {
  for (const el of $$("[data-err]")) {
    const msg = errors[el.dataset.err] || "";
    el.textContent = msg;
    el.classList.toggle("on", !!msg);
  }
  for (const el of $$("[data-field]")) el.classList.toggle("bad", !!errors[el.dataset.field]);
}

function syncForm(cfg) {  // the server's accepted configuration back into the form
  for (const el of $$("[data-field]")) {
    const name = el.dataset.field;
    if (!(name in cfg) || el === document.activeElement) continue;
    const v = cfg[name];
    if (el.type === "checkbox") el.checked = !!v;
    else if (name === "hidden") el.value = v.join(",");
    else el.value = String(v);
  }
  buildActivationSelects(cfg.activations);
  for (const c of $$("[data-compare]")) c.checked = (cfg.compare || []).includes(c.dataset.compare);
  showOnly();
}

function applyPreset(p) {
  for (const [k, v] of Object.entries(p)) {
    if (k === "acts") continue;
    const el = field(k);
    if (!el) continue;
    if (el.type === "checkbox") el.checked = v; else el.value = v;
  }
  if (p.hidden !== undefined) buildActivationSelects(p.acts ? [p.acts] : undefined);
}

function sendConfig() {
  showOnly();
  state.seq += 1;
  const form = readForm();
  writeHash(form);
  send({type: "config", form: form, seq: state.seq});
}

// --- connection ---------------------------------------------------------------------------

function send(msg) {
  if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify(msg));
}

function connect() {
  const proto = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${proto}://${location.host}/ws${AUTH}`);
  state.ws = ws;
  ws.onopen = () => {
    $("#conn").textContent = "connected"; $("#conn").className = "conn ok";
    if (state.fromHash) sendConfig();  // the settings of the address, not the server's defaults
  };
  ws.onclose = () => {
    $("#conn").textContent = "disconnected — reload the page"; $("#conn").className = "conn bad";
    state.running = false; updateButtons();
  };
  ws.onmessage = (ev) => {
    let msg;
    try { msg = JSON.parse(ev.data); } catch (e) { return; }
    if (msg.type === "hello") {
      state.sid = msg.sid;
      $("#dl-model").href = `/download/model/${msg.sid}${AUTH}`;
      $("#dl-history").href = `/download/history/${msg.sid}${AUTH}`;
      const sp = $("#speed");
      sp.innerHTML = "";
      for (const s of msg.speeds) { const o = document.createElement("option"); o.value = o.textContent = s; sp.appendChild(o); }
      sp.value = "30";
    } else if (msg.type === "errors") {
      setErrors(msg.errors);
      // accepted: the frame of this configuration brings the form back in line (e.g. an upload's loss)
      if (Object.keys(msg.errors).length === 0 && msg.seq === state.seq) state.syncNext = true;
    } else if (msg.type === "notice") {
      $("#status").textContent = msg.text;
      $("#status").className = "status " + (msg.level || "");
    } else if (msg.type === "frame") {
      state.pending = msg;
      if (!state.drawing) { state.drawing = true; requestAnimationFrame(draw); }
    }
  };
}

// --- drawing -------------------------------------------------------------------------------

const PLOT_CONFIG = {displayModeBar: false, responsive: true};

function fmt(v) {
  if (v === null || v === undefined || !isFinite(v)) return String(v);
  const a = Math.abs(v);
  return (a !== 0 && (a < 1e-4 || a >= 1e6)) ? v.toExponential(6) : String(Number(v.toPrecision(8)));
}

function draw() {
  const fr = state.pending;
  state.pending = null;
  state.drawing = false;
  if (!fr) return;
  const t0 = performance.now();
  state.frame = fr;
  state.running = !!fr.running;
  reached(fr);
  $("#iteration").textContent = String(fr.k);
  $("#loss").textContent = fmt(fr.loss);
  $("#gradnorm").textContent = fmt(fr.grad_norm);
  $("#test-readout").hidden = fr.test_loss === undefined;
  $("#test-loss").textContent = fr.test_loss === undefined ? "–" : fmt(fr.test_loss);
  $("#viewing").textContent = fr.live ? "" : `viewing iteration ${fr.k} (latest ${fr.live_k}) — step or run to go on`;
  const st = $("#status");
  st.textContent = fr.stopped || "";
  st.className = "status" + (fr.stopped ? " warn" : "");
  $("#robbins").textContent = fr.robbins_monro || "";
  const names = {"gd-exact": "GD exact", "gd-armijo": "GD Armijo", "gd-constant": "GD const", "sgd": "SGD",
                 "minibatch": "mini-batch", "momentum": "momentum", "adam": "Adam"};
  // the side-by-side methods with their step sizes (each uses the step-size fields' values)
  $("#compare-readout").textContent = (fr.compare || []).map((c) => `${c.steps || names[c.method]}: E = ${fmt(c.loss)}` +
    (c.stopped ? " (stopped)" : "")).join(" · ");
  $("#netinfo").textContent = `network ${fr.network}, d = ${fr.d} weights, S = ${fr.S} samples` +
    (fr.S_test ? ` (+ ${fr.S_test} held out)` : "") + `; ${fr.optimizer}` + (fr.regulariser ? `; ${fr.regulariser}` : "");
  state.snapshots = fr.snapshots;
  const sc = $("#scrubber");
  sc.max = String(fr.snapshots.length - 1);
  if (document.activeElement !== sc || fr.live) {
    let i = fr.snapshots.indexOf(fr.k);
    sc.value = String(i < 0 ? fr.snapshots.length - 1 : i);
  }
  if (fr.config && state.syncNext && fr.seq === state.seq) { state.syncNext = false; syncForm(fr.config); }
  for (const name of PANELS) {
    const div = document.getElementById("p-" + name);
    const fig = fr.figures[name];
    if (!fig) {
      if (name === "line_search") {
        Plotly.purge(div);
        div.innerHTML = '<p class="placeholder">φ(α) = E(w<sup>k</sup> + α d<sup>k</sup>): the line-search picture ' +
          "appears after a step of GD with exact or Armijo line search.</p>";
      }
      continue;
    }
    const ph = div.querySelector(".placeholder");
    if (ph) ph.remove();
    Plotly.react(div, fig.data, fig.layout, PLOT_CONFIG);
  }
  drawNetwork(fr.diagram, fr.network);
  const ls = document.getElementById("p-line_search");
  if (fr.phi) {
    ls.dataset.alphaK = String(fr.phi.alpha_k);
    ls.dataset.phiK = String(fr.phi.phi_k);
  } else { delete ls.dataset.alphaK; delete ls.dataset.phiK; }
  updateButtons();
  state.drawTimes.push(performance.now() - t0);  // ms per frame drawn (for tests and the curious)
  if (state.drawTimes.length > 100) state.drawTimes.shift();
  send({type: "ack"});  // drawn: the server may send the next frame
}

// the network diagram: a node per unit, an edge per weight W^ℓ_ij (blue w > 0, orange w < 0, width ∝ |w|)
const SVGNS = "http://www.w3.org/2000/svg";
const POS_COLOR = "#1f77b4", NEG_COLOR = "#e6550d";

function svgEl(tag, attrs, parent) {
  const el = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (parent) parent.appendChild(el);
  return el;
}

function drawNetwork(dg, name) {
  const div = document.getElementById("p-network");
  if (!dg) return;
  const W = Math.max(div.clientWidth, 300), H = Math.max(div.clientHeight, 200);
  const svg = svgEl("svg", {width: W, height: H, viewBox: `0 0 ${W} ${H}`, "data-testid": "network-svg"});
  const L = dg.sizes.length;
  const r = Math.max(2.5, Math.min(9, 0.4 * (H - 60) / Math.max(...dg.sizes)));
  const top = 48 + r, bottom = 8 + r, left = 40, right = 40;
  const x = (l) => left + (L === 1 ? 0 : l * (W - left - right) / (L - 1));
  const y = (l, i) => { const n = dg.sizes[l]; return top + (n === 1 ? (H - top - bottom) / 2 : i * (H - top - bottom) / (n - 1)); };
  const t = svgEl("text", {x: 10, y: 18, class: "nettitle"}, svg);
  t.textContent = `network ${name}`;
  const shown = dg.edges.length;
  const note = svgEl("text", {x: 10, y: 34, class: "netnote"}, svg);
  note.textContent = `${shown === dg.n_edges ? `all ${dg.n_edges}` : `the ${shown} largest |w| of ${dg.n_edges}`} weights` +
    " — blue w > 0, orange w < 0, width ∝ |w|";
  let big = 0;
  for (const e of dg.edges) if (e[3] !== null && isFinite(e[3])) big = Math.max(big, Math.abs(e[3]));
  const edges = svgEl("g", {class: "edges"}, svg);
  for (const [l, i, j, w] of dg.edges) {
    const v = w === null ? 0 : w;
    const line = svgEl("line", {x1: x(l - 1), y1: y(l - 1, j), x2: x(l), y2: y(l, i),
      stroke: v >= 0 ? POS_COLOR : NEG_COLOR, "stroke-width": (0.4 + 5.6 * (big > 0 ? Math.abs(v) / big : 0)).toFixed(2),
      "stroke-opacity": 0.75, "data-layer": l, "data-i": i, "data-j": j, "data-w": String(w),
      "data-sign": v >= 0 ? "+" : "-"}, edges);
    svgEl("title", {}, line).textContent = `W^${l}[${i + 1},${j + 1}] = ${fmt(w)}`;
  }
  dg.sizes.forEach((n, l) => {
    for (let i = 0; i < n; i++) {
      const c = svgEl("circle", {cx: x(l), cy: y(l, i), r: r, fill: l === 0 ? "#eee" : (l === L - 1 ? "#ffe9c7" : "#fff"),
        stroke: "#333", "stroke-width": 1, class: "unit", "data-layer": l, "data-unit": i}, svg);
      if (l === 0 || l === L - 1) {  // the inputs x_i and the outputs ŷ named beside them
        const lab = svgEl("text", {x: l === 0 ? x(l) - r - 4 : x(l) + r + 4, y: y(l, i) + 4, class: "netnote",
          "text-anchor": l === 0 ? "end" : "start"}, svg);
        lab.textContent = l === 0 ? `x${i + 1}` : (n === 1 ? "ŷ" : `ŷ${i + 1}`);
      }
      svgEl("title", {}, c).textContent = l === 0 ? `input x${i + 1}` : (l === L - 1 ? `output ${i + 1}` : `unit ${i + 1} of hidden layer ${l}`);
    }
  });
  div.replaceChildren(svg);
}

// what the speed menu promises against what the run reaches: iterations per second over the last 2 s
const rateLog = [];
function reached(fr) {
  const el = $("#reached");
  if (!fr.running) { rateLog.length = 0; if (!fr.stopped) el.textContent = ""; return; }
  const now = performance.now();
  rateLog.push([now, fr.live_k]);
  while (rateLog.length > 2 && now - rateLog[0][0] > 2000) rateLog.shift();
  const [t0, k0] = rateLog[0];
  if (now - t0 < 500) return;
  const rate = (fr.live_k - k0) / ((now - t0) / 1000);
  const asked = Number($("#speed").value);
  el.textContent = `reaching ${rate >= 100 ? Math.round(rate) : rate.toPrecision(2)} it/s` +
    (rate < 0.8 * asked ? ` (of ${asked} asked: this is as fast as the engine and the drawing go)` : "");
  el.dataset.rate = String(rate);
}

function updateButtons() {
  $("#run").disabled = state.running;
  $("#pause").disabled = !state.running;
}

// --- controls ----------------------------------------------------------------------------------

function wire() {
  $("#step").addEventListener("click", () => send({type: "step", n: 1}));
  $("#run").addEventListener("click", () => { state.running = true; updateButtons(); send({type: "run", speed: Number($("#speed").value)}); });
  $("#pause").addEventListener("click", () => { state.running = false; updateButtons(); send({type: "pause"}); });
  $("#reset").addEventListener("click", () => send({type: "reset"}));
  $("#speed").addEventListener("change", () => send({type: "speed", speed: Number($("#speed").value)}));
  $("#scrubber").addEventListener("input", () => {
    const i = Number($("#scrubber").value);
    send({type: "scrub", k: state.snapshots[Math.min(i, state.snapshots.length - 1)]});
  });
  $("#logscale").addEventListener("change", () => send({type: "view", log: $("#logscale").checked, x: $("#xaxis").value}));
  $("#xaxis").addEventListener("change", () => send({type: "view", log: $("#logscale").checked, x: $("#xaxis").value}));
  const stepPreset = () => {
    const p = (STEP_PRESETS[field("dataset").value] || {})[field("optimizer").value];
    if (p) applyPreset(p);
  };
  field("dataset").addEventListener("change", () => {
    const p = PRESETS[field("dataset").value];
    if (p) applyPreset(p);
    stepPreset();
    if (field("dataset").value === "upload") $("#upload").click();  // no file yet: the server says so
    sendConfig();
  });
  field("optimizer").addEventListener("change", () => {
    const p = OPT_PRESETS[field("optimizer").value];
    if (p) applyPreset(p);
    stepPreset();
    sendConfig();
  });
  field("hidden").addEventListener("input", () => buildActivationSelects());
  $("#add-layer").addEventListener("click", () => editWidths("add"));
  $("#remove-layer").addEventListener("click", () => editWidths("remove"));
  for (const el of $$("[data-field]")) {
    if (["dataset", "optimizer"].includes(el.dataset.field)) continue;
    el.addEventListener("change", sendConfig);
  }
  for (const el of $$("[data-compare]")) el.addEventListener("change", sendConfig);
  $("#upload").addEventListener("change", async () => {
    const file = $("#upload").files[0];
    if (!file) return;
    if (file.size > 2000000) { setErrors({upload: "the file is larger than 2 MB; upload at most 5000 rows"}); return; }
    const text = await file.text();
    const form = readForm();
    form.dataset = "upload";
    state.seq += 1;
    send({type: "upload", csv: text, form: form, seq: state.seq});
  });
  window.addEventListener("keydown", (e) => {
    if (e.target.closest("input, select, textarea")) return;
    if (e.key === " ") { e.preventDefault(); (state.running ? $("#pause") : $("#run")).click(); }
    else if (e.key === "s") $("#step").click();
  });
}

buildActivationSelects(["tanh"]);
state.fromHash = readHash();
showOnly();
wire();
updateButtons();
connect();
