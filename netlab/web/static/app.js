// netlab web: the live page of a lab. Plain JavaScript, no build step. The map is SVG
// (each node a <g data-node="NAME">), laid out once per lab by Cytoscape.js (headless);
// the status document comes over one websocket (/api/events) a few times a second.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const params = new URLSearchParams(location.search);
// The token came in the URL; the server has set its cookie: keep it out of the address bar.
if (params.has("token")) {
  params.delete("token");
  history.replaceState(null, "", location.pathname + (params.toString() ? "?" + params : ""));
}

const state = {
  lab: params.get("lab") || null,
  doc: null,           // the last status document
  layoutOf: null,      // the lab whose layout `positions` holds
  positions: {},       // node -> {x, y}
  selected: null,      // the node whose details show
  events: null,        // the websocket of /api/events
  terminals: new Map(),  // node -> {ws, term, fit, tab, pane}
  openLog: null,       // "node/service" whose log shows
};

// --- small helpers ----------------------------------------------------------------------
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value !== null && value !== undefined && value !== false) node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) {
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
  }
  return node;
}

function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
  for (const child of children) node.append(child);
  return node;
}

function withLab(path, extra) {
  const [bare, given] = path.split("?");
  const query = new URLSearchParams(given || "");
  for (const [key, value] of Object.entries(extra || {})) query.set(key, value);
  if (state.lab) query.set("lab", state.lab);
  const text = query.toString();
  return text ? `${bare}?${text}` : bare;
}

async function api(method, path, body) {
  const options = { method, headers: {} };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(withLab(path), options);
  const type = response.headers.get("Content-Type") || "";
  const data = type.includes("json") ? await response.json() : await response.text();
  if (!response.ok) {
    const message = data && data.error ? data.error + (data.hint ? ` (${data.hint})` : "") : String(data);
    throw new Error(message);
  }
  return data;
}

function banner(text) {
  const box = document.getElementById("banner");
  box.textContent = text || "";
  box.hidden = !text;
}

function kindClass(kind) {
  return ["host", "router", "switch"].includes(kind) ? `kind-${kind}` : "kind-other";
}

function interfaceOf(doc, endpoint) {
  const [node, ifname] = endpoint.split(":");
  const entry = doc.nodes.find((n) => n.name === node);
  return entry ? entry.interfaces.find((i) => i.name === ifname) || null : null;
}

function linkIsUp(doc, link) {
  return [link.a, link.b].every((end) => {
    const iface = interfaceOf(doc, end);
    return iface && iface.admin === "up" && iface.carrier;
  });
}

// --- labs ---------------------------------------------------------------------------------
async function chooseLab() {
  const { labs, only } = await api("GET", "/api/labs");
  const names = labs.map((l) => l.lab);
  const choice = document.getElementById("lab-choice");
  if (!state.lab || !names.includes(state.lab)) state.lab = only || names[0] || null;
  choice.replaceChildren(...names.map((name) => el("option", { value: name, selected: name === state.lab }, name)));
  choice.hidden = Boolean(only) || names.length < 2;
  document.getElementById("lab-name").textContent = choice.hidden ? state.lab || "" : "";
  if (!state.lab) banner("no lab is up: 'netlab up FILE' starts one; this page follows");
  return state.lab;
}

document.getElementById("lab-choice").addEventListener("change", (event) => {
  state.lab = event.target.value;
  state.selected = null;
  state.doc = null;
  for (const node of [...state.terminals.keys()]) closeTerminal(node);
  document.getElementById("checks").hidden = true;
  connect();
});

// --- live status ----------------------------------------------------------------------------
function connect() {
  if (state.events) {
    state.events.onclose = null;
    state.events.close();
  }
  const live = document.getElementById("live");
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(`${scheme}//${location.host}${withLab("/api/events")}`);
  state.events = ws;
  ws.onopen = () => { live.textContent = "live"; live.className = "badge ok"; };
  ws.onmessage = (message) => {
    const doc = JSON.parse(message.data);
    if (doc.error) {
      banner(doc.error);
      return;
    }
    banner("");
    show(doc);
  };
  ws.onclose = () => {
    live.textContent = "reconnecting…";
    live.className = "badge bad";
    setTimeout(async () => {
      try { await chooseLab(); } catch (error) { banner(error.message); }
      connect();
    }, 1500);
  };
}

function show(doc) {
  const fresh = !state.doc || state.doc.lab !== doc.lab;
  state.doc = doc;
  const badge = document.getElementById("lab-state");
  badge.textContent = doc.state;
  badge.className = "badge " + (doc.state === "up" ? "ok" : "bad");
  const drift = document.getElementById("drift-count");
  drift.hidden = doc.drift.length === 0;
  drift.textContent = `${doc.drift.length} drift`;
  if (fresh || state.layoutOf !== doc.lab) layout(doc);
  drawMap(doc);
  showDrift(doc);
  if (state.selected) showDetails(doc, state.selected);
}

// --- the map ------------------------------------------------------------------------------------
function layout(doc) {
  const cy = cytoscape({
    headless: true,
    styleEnabled: false,
    elements: [
      ...doc.nodes.map((n) => ({ data: { id: n.name } })),
      ...doc.links.map((l, i) => ({ data: { id: `l${i}`, source: l.a.split(":")[0], target: l.b.split(":")[0] } })),
    ],
  });
  const count = doc.nodes.length;
  cy.nodes().forEach((node, i) => {  // a circle to start from: the layout is the same each time
    node.position({ x: 400 + 300 * Math.cos((2 * Math.PI * i) / count), y: 300 + 200 * Math.sin((2 * Math.PI * i) / count) });
  });
  cy.layout({
    name: "cose", animate: false, randomize: false, fit: true, padding: 60,
    boundingBox: { x1: 0, y1: 0, w: 800, h: 600 }, nodeRepulsion: () => 400000,
    idealEdgeLength: () => 120, nodeDimensionsIncludeLabels: false,
  }).run();
  state.positions = {};
  cy.nodes().forEach((node) => { state.positions[node.id()] = { ...node.position() }; });
  state.layoutOf = doc.lab;
  cy.destroy();
}

// The map's elements are made once per lab (a click must not land on an element that a
// live update has just replaced) and updated in place after that.
function drawMap(doc) {
  const graph = document.getElementById("graph");
  const shape = JSON.stringify([doc.lab, doc.nodes.map((n) => [n.name, n.kind]), doc.links]);
  if (graph.dataset.shape !== shape) {
    const xs = Object.values(state.positions).map((p) => p.x);
    const ys = Object.values(state.positions).map((p) => p.y);
    const pad = 70;
    const [x0, x1] = [Math.min(...xs) - pad, Math.max(...xs) + pad];
    const [y0, y1] = [Math.min(...ys) - pad, Math.max(...ys) + pad];
    graph.setAttribute("viewBox", `${x0} ${y0} ${Math.max(x1 - x0, 200)} ${Math.max(y1 - y0, 200)}`);
    graph.replaceChildren(svg("g", { class: "links" }, ...doc.links.map(makeLink)),
      svg("g", { class: "nodes" }, ...doc.nodes.map(makeNode)));
    graph.dataset.shape = shape;
  }
  const driftNodes = new Set(doc.drift.map((line) => line.split(":")[0]));
  doc.links.forEach((link, i) => updateLink(doc, link, graph.querySelector(`g.link[data-index="${i}"]`)));
  for (const node of doc.nodes) {
    updateNode(node, driftNodes.has(node.name), graph.querySelector(`g[data-node="${CSS.escape(node.name)}"]`));
  }
}

function makeLink(link, i) {
  const a = state.positions[link.a.split(":")[0]];
  const b = state.positions[link.b.split(":")[0]];
  const group = svg("g", { class: "link", "data-link": `${link.a} ${link.b}`, "data-index": i },
    svg("title", {}),
    svg("line", { class: "wire", x1: a.x, y1: a.y, x2: b.x, y2: b.y }),
    svg("line", { class: "hit", x1: a.x, y1: a.y, x2: b.x, y2: b.y }),
    svg("text", { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 - 6, "text-anchor": "middle", class: "counters" }));
  // Interface names at each end, part of the way along.
  for (const [end, from, to] of [[link.a, a, b], [link.b, b, a]]) {
    group.append(svg("text", { x: from.x + (to.x - from.x) * 0.28, y: from.y + (to.y - from.y) * 0.28 + 14, "text-anchor": "middle" },
      document.createTextNode(end.split(":")[1])));
  }
  group.addEventListener("click", () => toggleLink(link, group));
  return group;
}

// A switch port's VLANs (status `vlans`), short: "VLAN 10" (access port) or "trunk 10,20".
function vlanWords(iface) {
  const v = iface && iface.vlans ? (iface.vlans.now || iface.vlans.planned) : null;
  if (!v) return "";
  return v.tagged && v.tagged.length ? `trunk ${v.tagged.join(",")}` : `VLAN ${v.pvid}`;
}

function updateLink(doc, link, group) {
  const up = linkIsUp(doc, link);
  const ia = interfaceOf(doc, link.a) || {};
  const shaped = ia.shaping && ia.shaping.text ? ia.shaping.text : "";
  const vlans = vlanWords(ia) || vlanWords(interfaceOf(doc, link.b));
  group.setAttribute("class", `link ${up ? "up" : "down"}${group.classList.contains("busy") ? " busy" : ""}`);
  group.dataset.state = up ? "up" : "down";
  group.querySelector("title").textContent = `${link.a} — ${link.b}: ${up ? "up" : "down"}; ${link.a} sent ` +
    `${ia.tx_packets || 0} and received ${ia.rx_packets || 0} packets` + (shaped ? `; shaped: ${shaped}` : "") +
    `. Click to take it ${up ? "down" : "up"}.`;
  group.querySelector("text.counters").textContent = `${ia.tx_packets || 0}↑ ${ia.rx_packets || 0}↓` + (shaped ? ` · ${shaped}` : "") +
    (vlans ? ` · ${vlans}` : "");
}

function makeNode(node) {
  const p = state.positions[node.name];
  let shape;
  if (node.kind === "switch") shape = svg("rect", { class: "shape", x: -24, y: -16, width: 48, height: 32, rx: 5 });
  else if (node.kind === "router") shape = svg("polygon", { class: "shape", points: "0,-24 24,0 0,24 -24,0" });
  else shape = svg("circle", { class: "shape", r: 20 });
  const group = svg("g", { "data-node": node.name, "data-kind": node.kind, transform: `translate(${p.x},${p.y})` },
    svg("title", {}), shape, svg("text", { y: 40 }, document.createTextNode(node.name)));
  group.addEventListener("click", () => select(node.name));
  return group;
}

function updateNode(node, drifted, group) {
  const classes = ["node", kindClass(node.kind)];
  if (!node.present) classes.push("missing");
  if (drifted) classes.push("drift");
  if (state.selected === node.name) classes.push("selected");
  group.setAttribute("class", classes.join(" "));
  const lines = [`${node.name} (${node.kind})${node.present ? "" : ": namespace missing"}`];
  for (const iface of node.interfaces) {
    lines.push(`${iface.name}: ${iface.admin}${iface.carrier ? "" : ", no carrier"}` +
      (iface.addresses.length ? ` ${iface.addresses.join(" ")}` : ""));
  }
  group.querySelector("title").textContent = lines.join("\n");
}

async function toggleLink(link, group) {
  const up = linkIsUp(state.doc, link);
  group.classList.add("busy");
  try {
    if (up) {
      await api("POST", `/api/links/${encodeURIComponent(link.a)}/down`);
    } else {
      // Up again whichever end is down (taken down here, or by `netlab link`).
      for (const end of [link.a, link.b]) {
        const iface = interfaceOf(state.doc, end);
        if (iface && iface.admin === "down") await api("POST", `/api/links/${encodeURIComponent(end)}/up`);
      }
    }
  } catch (error) {
    banner(error.message);
  } finally {
    group.classList.remove("busy");
  }
}

// --- a node's details -------------------------------------------------------------------------
function select(name) {
  state.selected = name;
  state.openLog = null;
  if (state.doc) {
    drawMap(state.doc);
    showDetails(state.doc, name);
  }
}

function showDetails(doc, name) {
  const node = doc.nodes.find((n) => n.name === name);
  const box = document.getElementById("details");
  if (!node) {
    box.replaceChildren(el("p", { class: "muted" }, `node ${name} is not in lab ${doc.lab}`));
    return;
  }
  // Made anew only when more than the counters changed (a click must find its button).
  const shape = JSON.stringify([doc.lab, state.openLog, node],
    (key, value) => (key.endsWith("_packets") || key.endsWith("_bytes") ? undefined : value));
  if (box.dataset.shape === shape) {
    updateCounters(box, node);
    return;
  }
  box.dataset.shape = shape;
  const rows = node.interfaces.map((iface) => {
    const endpoint = `${node.name}:${iface.name}`;
    const pcap = withLab(`/api/capture/${encodeURIComponent(endpoint)}`, { count: 100, timeout: 10 });
    return el("tr", { "data-iface": iface.name },
      el("td", {}, el("b", {}, iface.name), el("div", { class: "muted" }, iface.kind || "")),
      el("td", {}, iface.addresses.map((a) => el("div", {}, a))),
      el("td", { class: iface.admin === "up" && iface.carrier ? "state-up" : "state-down" },
        iface.admin === "up" ? (iface.carrier ? "up" : "no carrier") : "down"),
      el("td", { class: "num counters" }, `${iface.tx_packets}↑ ${iface.rx_packets}↓`),
      el("td", {},
        el("a", { class: "small", href: pcap, download: `${doc.lab}-${node.name}-${iface.name}.pcap`,
                  title: "capture up to 100 packets (at most 10 s) as a pcap file" }, "pcap"), " ",
        el("button", { class: "small", type: "button", title: "shape what leaves through it (rate=1mbit delay=20ms …), or clear",
                       onclick: () => shape(endpoint, iface) }, "shape")));
  });
  const services = node.services.map((service) => {
    const key = `${node.name}/${service.name}`;
    return el("li", {},
      el("b", {}, service.name), " ",
      el("span", { class: service.running ? "state-up" : "state-down" }, service.running ? "running" : "not running"), " ",
      el("button", { class: "small", type: "button", onclick: () => showLog(node.name, service.name) }, "log"),
      state.openLog === key ? el("pre", { class: "log", id: "log" }, "…") : null);
  });
  box.replaceChildren(...[
    el("h2", {}, `${node.name} `, el("span", { class: "muted" }, node.kind),
      " ", el("button", { class: "small", type: "button", onclick: () => openTerminal(node.name) }, "terminal")),
    node.present ? null : el("p", { class: "state-down" }, `its namespace ${node.namespace} is missing`),
    el("h3", {}, "interfaces"),
    el("table", {}, el("tr", {}, ["name", "addresses", "state", "packets", ""].map((h) => el("th", {}, h))), rows),
    node.routes.length ? el("h3", {}, "routes") : null,
    node.routes.length ? el("table", {}, node.routes.map((r) => el("tr", {}, el("td", {}, r.to), el("td", {}, r.via ? `via ${r.via}` : ""), el("td", {}, r.dev || "")))) : null,
    node.services.length ? el("h3", {}, "services") : null,
    node.services.length ? el("ul", {}, services) : null,
  ].filter(Boolean));
  if (state.openLog && state.openLog.startsWith(node.name + "/")) fillLog(node.name, state.openLog.split("/")[1]);
}

function updateCounters(box, node) {
  for (const iface of node.interfaces) {
    const cell = box.querySelector(`tr[data-iface="${CSS.escape(iface.name)}"] .counters`);
    if (cell) cell.textContent = `${iface.tx_packets}↑ ${iface.rx_packets}↓`;
  }
}

async function shape(endpoint, iface) {
  const now = iface.shaping && iface.shaping.text ? iface.shaping.text : "";
  const text = prompt(`Shape what leaves ${endpoint} (KEY=VALUE …, e.g. rate=1mbit delay=20ms loss=1%); empty clears it.${now ? "\nNow: " + now : ""}`, "");
  if (text === null) return;
  try {
    if (!text.trim()) {
      await api("POST", `/api/links/${encodeURIComponent(endpoint)}/clear`);
      return;
    }
    const values = {};
    for (const pair of text.trim().split(/\s+/)) {
      const [key, ...rest] = pair.split("=");
      values[key] = rest.join("=");
    }
    await api("POST", `/api/links/${encodeURIComponent(endpoint)}/set`, values);
  } catch (error) {
    banner(error.message);
  }
}

function showLog(node, service) {
  const key = `${node}/${service}`;
  state.openLog = state.openLog === key ? null : key;
  showDetails(state.doc, node);
}

async function fillLog(node, service) {
  try {
    const text = await api("GET", `/api/nodes/${encodeURIComponent(node)}/logs/${encodeURIComponent(service)}`);
    const pre = document.getElementById("log");
    if (pre) {
      const atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
      pre.textContent = text || "(empty)";
      if (atEnd) pre.scrollTop = pre.scrollHeight;
    }
  } catch (error) {
    banner(error.message);
  }
}

function showDrift(doc) {
  const box = document.getElementById("drift");
  box.hidden = doc.drift.length === 0;
  box.replaceChildren(el("h3", {}, "drift (the kernel differs from the topology)"),
    el("ul", {}, doc.drift.map((line) => el("li", {}, line))));
}

// --- checks --------------------------------------------------------------------------------------
async function runChecks(button, path) {
  const box = document.getElementById("checks");
  button.disabled = true;
  box.hidden = false;
  box.replaceChildren(el("h3", {}, "checks"), el("p", { class: "muted" }, "running…"));
  try {
    const report = await api("POST", path);
    box.replaceChildren(
      el("h3", {}, "checks"),
      el("p", { class: report.ok ? "pass" : "fail" },
        report.ok ? `all ${report.total} checks passed` : `${report.failed} of ${report.total} checks failed`,
        el("span", { class: "muted" }, ` (${report.seconds} s)`)),
      el("table", {}, report.checks.map((c) => el("tr", {},
        el("td", { class: c.passed ? "pass" : "fail" }, c.passed ? "pass" : "FAIL"),
        el("td", {}, c.name), el("td", { class: "muted" }, c.why)))));
  } catch (error) {
    box.replaceChildren(el("h3", {}, "checks"), el("p", { class: "fail" }, error.message));
  } finally {
    button.disabled = false;
  }
}
document.getElementById("run-checks").addEventListener("click",
  (event) => runChecks(event.target, "/api/checks"));
document.getElementById("ping-all").addEventListener("click",
  (event) => runChecks(event.target, "/api/checks?pingall=1"));

// --- terminals -----------------------------------------------------------------------------------
function openTerminal(node) {
  const section = document.getElementById("terminals");
  section.hidden = false;
  if (state.terminals.has(node)) {
    activateTerminal(node);
    return;
  }
  const pane = el("div", { class: "terminal-pane", "data-terminal": node });
  const tab = el("button", { type: "button", onclick: () => activateTerminal(node) }, node,
    el("span", { class: "close", title: "close (ends the shell)",
                 onclick: (event) => { event.stopPropagation(); closeTerminal(node); } }, "×"));
  document.getElementById("terminal-panes").append(pane);
  document.getElementById("terminal-tabs").append(tab);
  const term = new Terminal({ cursorBlink: true, fontSize: 13, convertEol: false });
  const fit = new FitAddon.FitAddon();
  term.loadAddon(fit);
  term.open(pane);
  fit.fit();
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const path = withLab(`/api/nodes/${encodeURIComponent(node)}/terminal`, { cols: term.cols, rows: term.rows });
  const ws = new WebSocket(`${scheme}//${location.host}${path}`);
  ws.binaryType = "arraybuffer";
  ws.onmessage = (message) => term.write(new Uint8Array(message.data));
  ws.onclose = (event) => term.write(`\r\n[${event.reason || "closed"}]\r\n`);
  // Typed before the socket opens (a node made on first entry opens it a little later): kept, sent on open.
  const typed = [];
  ws.onopen = () => { for (const data of typed.splice(0)) ws.send(JSON.stringify({ input: data })); };
  term.onData((data) => {
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ input: data }));
    else if (ws.readyState === WebSocket.CONNECTING) typed.push(data);
  });
  term.onResize(({ cols, rows }) => { if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ cols, rows })); });
  state.terminals.set(node, { ws, term, fit, tab, pane });
  activateTerminal(node);
}

function activateTerminal(node) {
  for (const [name, t] of state.terminals) {
    t.pane.hidden = name !== node;
    t.tab.classList.toggle("active", name === node);
  }
  const t = state.terminals.get(node);
  if (t) {
    t.fit.fit();
    t.term.focus();
  }
}

function closeTerminal(node) {
  const t = state.terminals.get(node);
  if (!t) return;
  t.ws.onclose = null;
  t.ws.close();
  t.term.dispose();
  t.pane.remove();
  t.tab.remove();
  state.terminals.delete(node);
  const rest = [...state.terminals.keys()];
  if (rest.length) activateTerminal(rest[0]);
  else document.getElementById("terminals").hidden = true;
}

window.addEventListener("resize", () => {
  for (const t of state.terminals.values()) if (!t.pane.hidden) t.fit.fit();
});

// --- start ---------------------------------------------------------------------------------------
chooseLab().then(connect).catch((error) => banner(error.message));
