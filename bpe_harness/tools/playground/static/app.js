// Tokenizer playground front end: plain JS, no build step. Asks the local server to tokenize the text as you type
// and renders one column per tokenizer. All text is inserted with textContent (never innerHTML).
"use strict";

const $ = (id) => document.getElementById(id);
const WHITESPACE = { " ": "·", "\t": "→", "\n": "↵\n", "\r": "␍" };
let info = null;
let latest = 0; // sequence number of the newest request: older answers are ignored
let timer = null;

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// A token's text with whitespace made visible (each marker in a dimmed span).
function tokenNode(token, index) {
  const classes = ["tok", token.special ? "special" : "c" + (index % 2)];
  if (token.partial) classes.push("partial");
  if (token.unknown) classes.push("unknown");
  if (token.diverges) classes.push("diverges");
  if (token.first) classes.push("first");
  const span = el("span", classes.join(" "));
  span.dataset.id = token.id;
  span.title = token.unknown
    ? `id ${token.id} is not in the vocab`
    : `id ${token.id} · bytes ${token.hex || "(none)"}` + (token.special ? " · special token" : "") +
      (token.partial ? " · part of a UTF-8 character" : "");
  let plain = "";
  const flush = () => { if (plain) { span.appendChild(document.createTextNode(plain)); plain = ""; } };
  for (const ch of token.unknown ? "?" : token.text) {
    if (WHITESPACE[ch] && !token.special) {
      flush();
      span.appendChild(el("span", "ws", WHITESPACE[ch]));
    } else {
      plain += ch;
    }
  }
  flush();
  return span;
}

function columnNode(col) {
  const box = el("div", "column " + col.kind);
  box.dataset.key = col.key;
  box.appendChild(el("h3", "", col.title));
  if (col.error) {
    box.appendChild(el("div", "error-box", col.error));
    if (col.detail) {
      const details = el("details");
      details.appendChild(el("summary", "", "details"));
      details.appendChild(el("pre", "", col.detail));
      box.appendChild(details);
    }
    return box;
  }
  const stats = el("div", "stats");
  stats.appendChild(el("b", "count", String(col.count)));
  stats.appendChild(document.createTextNode(col.count === 1 ? " token · " : " tokens · "));
  stats.appendChild(el("b", "ratio", col.ratio === null ? "–" : col.ratio.toFixed(2)));
  stats.appendChild(document.createTextNode(" bytes/token" + (col.seconds != null ? ` · ${(col.seconds * 1000).toFixed(1)} ms` : "")));
  box.appendChild(stats);
  const tokens = el("div", "tokens");
  col.tokens.forEach((t, i) => tokens.appendChild(tokenNode(t, i)));
  if (col.truncated) tokens.appendChild(el("div", "note", `… showing the first ${col.tokens.length} of ${col.count} tokens`));
  box.appendChild(tokens);
  if (col.note) box.appendChild(el("div", "note", col.note));
  return box;
}

function renderDivergence(result) {
  const panel = $("divergence");
  panel.replaceChildren();
  const impl = result.columns.find((c) => c.key === "impl");
  if (!impl || impl.error) { panel.hidden = true; return; }
  panel.hidden = false;
  if (result.divergence) {
    panel.className = "bad";
    panel.appendChild(el("h2", "", `Your tokens diverge from the expected ones at token ${result.divergence.position}` +
      " (outlined in red; every differing token is underlined). What the graded tests would say:"));
    panel.appendChild(el("pre", "", result.divergence.message));
  } else {
    panel.className = "good";
    panel.appendChild(el("h2", "", `Your tokens equal the expected ones (${impl.count} tokens).`));
  }
}

function render(result) {
  $("status").className = "muted";
  $("status").textContent = `${result.text_bytes} UTF-8 bytes` + (result.notices.length ? " · " + result.notices.join("; ") : "");
  renderDivergence(result);
  $("columns").replaceChildren(...result.columns.map(columnNode));
}

function showError(message) {
  $("status").className = "error";
  $("status").textContent = message;
}

function chosenEncodings() {
  return [...document.querySelectorAll("#encodings input:checked")].map((box) => box.value);
}

async function update() {
  const text = $("text").value;
  const body = JSON.stringify({ text, encodings: chosenEncodings() });
  const size = new Blob([body]).size;
  if (info && size > info.max_body) {
    showError(`The text is too big for the playground: ${(size / 1e6).toFixed(1)} MB, at most ${(info.max_body / 1e6).toFixed(1)} MB. Paste a shorter piece.`);
    return;
  }
  const seq = ++latest;
  $("status").className = "muted";
  $("status").textContent = "tokenizing…";
  let response, result;
  try {
    response = await fetch("/api/tokenize", { method: "POST", headers: { "Content-Type": "application/json" }, body });
    result = await response.json();
  } catch (err) {
    if (seq === latest) showError(`The playground server is not answering (was it stopped?): ${err}`);
    return;
  }
  if (seq !== latest) return;
  if (!response.ok) { showError(result.error || `server error ${response.status}`); return; }
  render(result);
  document.body.dataset.rendered = String(seq);
  window.renderedText = text; // lets tests wait until the page shows the tokens of exactly this text
}

function schedule() {
  clearTimeout(timer);
  timer = setTimeout(update, 150);
}

function showInfo() {
  const specials = info.specials.length ? info.specials.join(" ") : "none";
  $("info").textContent = `implementation: ${info.impl} · vocab: ${info.vocab_source} (${info.vocab_size} tokens, ` +
    `${info.merges} merges) · special tokens: ${specials} · encode timeout ${info.timeout} s`;
  const problems = $("problems");
  info.problems.forEach((p) => problems.appendChild(el("div", "banner error", p)));
  info.notes.forEach((n) => problems.appendChild(el("div", "banner note", n)));
  const encodings = $("encodings");
  for (const enc of info.encodings) {
    const label = el("label");
    const box = el("input");
    box.type = "checkbox";
    box.value = enc.name;
    box.checked = true;
    box.addEventListener("change", schedule);
    label.appendChild(box);
    label.appendChild(document.createTextNode(" " + enc.name + (enc.unavailable ? " (unavailable)" : "")));
    if (enc.unavailable) label.title = enc.unavailable;
    encodings.appendChild(label);
  }
}

async function start() {
  try {
    info = await (await fetch("/api/info")).json();
  } catch (err) {
    showError(`The playground server is not answering: ${err}`);
    return;
  }
  showInfo();
  $("text").addEventListener("input", schedule);
  update();
}

start();
