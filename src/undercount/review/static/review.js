"use strict";
// The review page: every call goes to the same-origin API with the HttpOnly cookie.
let queue = [];
let pos = 0;
let busy = false;

async function api(path, body) {
  const opts = body === undefined ? {} : {
    method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)};
  const resp = await fetch(path, {credentials: "same-origin", ...opts});
  const data = await resp.json();
  if (!resp.ok) throw new Error(data.error || resp.status);
  return data;
}

function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

function recordBox(box, rec, side) {
  box.replaceChildren();
  box.appendChild(el("h2", {}, `${side}: ${rec.list} · ${rec.record_id} (row ${rec.row})`));
  for (const [title, fields] of [["original", rec.original], ["standardised", rec.standardised]]) {
    const t = el("table", {"class": title});
    t.appendChild(el("caption", {}, title));
    for (const [k, v] of Object.entries(fields)) {
      if (v === null || v === "") continue;
      const tr = el("tr");
      tr.appendChild(el("td", {"class": "key"}, k));
      // dir=auto: Arabic values render right-to-left, Latin ones left-to-right.
      tr.appendChild(el("td", {"class": "value", "dir": "auto", "data-field": k}, v));
      t.appendChild(tr);
    }
    box.appendChild(t);
  }
}

function members(list, items) {
  list.replaceChildren();
  if (!items.length) list.appendChild(el("li", {}, "(none)"));
  for (const m of items) list.appendChild(el("li", {"dir": "auto"}, `${m.list} ${m.record_id}: ${m.name}`));
}

async function refreshState() {
  const s = await api("/api/state");
  document.getElementById("project").textContent = "· " + s.project;
  const pct = s.total ? Math.round(100 * s.labelled / s.total) : 100;
  document.getElementById("bar").style.width = pct + "%";
  document.getElementById("progress").setAttribute("aria-valuenow", pct);
  document.getElementById("counts").textContent =
    `${s.labelled} of ${s.total} labelled · match ${s.labels.match} · ` +
    `not a match ${s.labels["non-match"]} · unsure ${s.labels.unsure}`;
  const body = document.querySelector("#bands tbody");
  body.replaceChildren();
  for (const [b, c] of Object.entries(s.bands)) {
    const tr = el("tr");
    tr.appendChild(el("td", {}, b));
    tr.appendChild(el("td", {}, `${c.labelled} / ${c.pairs}`));
    body.appendChild(tr);
  }
}

async function show(i) {
  if (!queue.length) { document.getElementById("status").textContent = "no pairs to review"; return; }
  pos = Math.max(0, Math.min(queue.length - 1, i));
  const p = await api("/api/pairs/" + encodeURIComponent(queue[pos].pair_id));
  document.getElementById("pos").textContent = `${pos + 1} / ${queue.length}`;
  document.getElementById("pair-id").textContent = p.pair_id;
  document.getElementById("kind").textContent = p.kind + (p.band === null ? "" : ` (band ${p.band})`);
  document.getElementById("prob").textContent = p.match_probability.toPrecision(3);
  document.getElementById("weight").textContent = p.match_weight.toFixed(2);
  const cur = document.getElementById("current");
  cur.textContent = p.label || "none";
  cur.className = p.label ? "label-" + p.label : "";
  document.getElementById("note").value = p.note && !p.note.startsWith("undo of") ? p.note : "";
  recordBox(document.getElementById("left"), p.left, "left");
  recordBox(document.getElementById("right"), p.right, "right");
  const body = document.querySelector("#comparisons tbody");
  body.replaceChildren();
  for (const c of p.comparisons) {
    const tr = el("tr");
    tr.appendChild(el("td", {}, c.name));
    tr.appendChild(el("td", {}, c.level < 0 ? "null" : c.level));
    tr.appendChild(el("td", {"class": c.contribution >= 0 ? "pos" : "neg"}, c.contribution.toFixed(2)));
    body.appendChild(tr);
  }
  members(document.getElementById("left-cluster"), p.left_cluster);
  members(document.getElementById("right-cluster"), p.right_cluster);
}

async function label(value) {
  if (busy || !queue.length) return;
  busy = true;
  document.body.dataset.busy = "1";
  const status = document.getElementById("status");
  try {
    const pid = queue[pos].pair_id;
    const note = document.getElementById("note").value || null;
    await api("/api/labels", {pair_id: pid, label: value, note});
    queue[pos].label = value;
    await refreshState();
    let next = queue.findIndex((q, j) => j > pos && !q.label);
    if (next < 0) next = Math.min(pos + 1, queue.length - 1);
    await show(next);
    status.textContent = `saved: ${pid} ${value}`;
  } catch (e) {
    status.textContent = "NOT saved: " + e.message;
  } finally { busy = false; document.body.dataset.busy = ""; }
}

async function undo() {
  if (busy) return;
  busy = true;
  document.body.dataset.busy = "1";
  const status = document.getElementById("status");
  try {
    const row = await api("/api/undo", {});
    const i = queue.findIndex(q => q.pair_id === row.pair_id);
    if (i >= 0) queue[i].label = row.label === "retracted" ? null : row.label;
    await refreshState();
    await show(i >= 0 ? i : pos);
    status.textContent = `undone: ${row.pair_id} is now ${row.label === "retracted" ? "unlabelled" : row.label}`;
  } catch (e) {
    status.textContent = "undo: " + e.message;
  } finally { busy = false; document.body.dataset.busy = ""; }
}

document.addEventListener("keydown", (ev) => {
  if (ev.target.tagName === "TEXTAREA" || ev.ctrlKey || ev.metaKey || ev.altKey) return;
  const keys = {m: () => label("match"), n: () => label("non-match"), u: () => label("unsure"),
                z: () => undo(), ArrowLeft: () => show(pos - 1), ArrowRight: () => show(pos + 1)};
  if (keys[ev.key]) { ev.preventDefault(); keys[ev.key](); }
});
for (const b of document.querySelectorAll("button[data-label]"))
  b.addEventListener("click", () => label(b.dataset.label));
document.getElementById("btn-undo").addEventListener("click", undo);
document.getElementById("btn-prev").addEventListener("click", () => show(pos - 1));
document.getElementById("btn-next").addEventListener("click", () => show(pos + 1));

(async () => {
  try {
    queue = (await api("/api/pairs")).pairs;
    await refreshState();
    const first = queue.findIndex(q => !q.label);
    await show(first < 0 ? 0 : first);
    document.body.dataset.ready = "1";
  } catch (e) {
    document.getElementById("status").textContent = "could not load: " + e.message;
  }
})();
