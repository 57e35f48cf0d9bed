/* handgrad playground: what every view shares. Plain JavaScript, no libraries, no build step.
 *
 * Two engines compute what the page shows. Served by `handgrad playground`, every number
 * comes from handgrad's NumPy code in the server, over one WebSocket per tab. Exported with
 * `handgrad playground --export DIR`, the page carries handgrad's JavaScript twin (twin.js)
 * and trains in the browser (local.js), speaking the same messages; static-data.js then holds
 * what handgrad computed at export time. Either way the views only send messages and draw. */
"use strict";

var HG = window.HG = window.HG || {};
HG.STATIC = window.HANDGRAD_STATIC || null;
HG.views = {};

/* Colours: class 0 / negative orange, class 1 / positive blue, then more classes. */
HG.CLASS_COLORS = [[245, 147, 34], [8, 119, 189], [63, 163, 77], [156, 77, 204], [214, 64, 78], [140, 109, 49]];
HG.NEG = HG.CLASS_COLORS[0];
HG.POS = HG.CLASS_COLORS[1];
HG.FORWARD = [0, 172, 193];       // cyan: values on the way forward
HG.BACKWARD = [230, 145, 0];      // amber: gradients on the way back
HG.TRAIN_COLOR = "#2e8b57";       // the loss charts: training dashed green, test solid purple
HG.TEST_COLOR = "#7b3fbf";
HG.RUNNER_COLORS = ["#d6404e", "#3fa34d", "#0877bd", "#9c4dcc"];

HG.$ = function (id) { return document.getElementById(id); };

HG.rgb = function (c, a) {
  return a === undefined ? "rgb(" + c.join(",") + ")" : "rgba(" + c.join(",") + "," + a + ")";
};

/* base64 text (from the server) or bytes (from the twin) -> Uint8Array */
HG.bytes = function (data) {
  if (data instanceof Uint8Array) return data;
  var bin = atob(data), out = new Uint8Array(bin.length);
  for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
};

/* Colour of one cell from its K class probabilities (bytes 0..255 at q[o..o+K)):
 * the class colours mixed by probability, faded towards white as the model is unsure. */
HG.mixColor = function (q, o, K, discrete) {
  var r = 0, g = 0, b = 0, best = 0, arg = 0;
  for (var k = 0; k < K; k++) {
    var p = q[o + k] / 255, c = HG.CLASS_COLORS[k % HG.CLASS_COLORS.length];
    r += p * c[0]; g += p * c[1]; b += p * c[2];
    if (p > best) { best = p; arg = k; }
  }
  if (discrete) {
    var cc = HG.CLASS_COLORS[arg % HG.CLASS_COLORS.length];
    return [cc[0] * 0.55 + 255 * 0.45, cc[1] * 0.55 + 255 * 0.45, cc[2] * 0.55 + 255 * 0.45];
  }
  var sure = Math.max(0, (best - 1 / K) / (1 - 1 / K)) * 0.8;
  return [255 + (r - 255) * sure, 255 + (g - 255) * sure, 255 + (b - 255) * sure];
};

/* A signed value in [-1, 1] (byte 0..255, 128 = 0): orange - white - blue. */
HG.signedColor = function (byte, discrete) {
  var v = (byte - 127.5) / 127.5, c = v < 0 ? HG.NEG : HG.POS, s = Math.min(1, Math.abs(v));
  if (discrete) s = 0.6;
  return [255 + (c[0] - 255) * s, 255 + (c[1] - 255) * s, 255 + (c[2] - 255) * s];
};

/* Paint an n x n picture into a canvas, scaled up. colorAt(i) -> [r, g, b]. */
HG.paintGrid = function (canvas, n, colorAt) {
  var off = document.createElement("canvas");
  off.width = n; off.height = n;
  var ctx = off.getContext("2d"), img = ctx.createImageData(n, n);
  for (var i = 0; i < n * n; i++) {
    var c = colorAt(i);
    img.data[4 * i] = c[0]; img.data[4 * i + 1] = c[1]; img.data[4 * i + 2] = c[2]; img.data[4 * i + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
  var out = canvas.getContext("2d");
  out.imageSmoothingEnabled = true;
  out.clearRect(0, 0, canvas.width, canvas.height);
  out.drawImage(off, 0, 0, canvas.width, canvas.height);
};

/* A decision boundary: {size, classes, probs (base64 or bytes)} */
HG.drawBoundary = function (canvas, picture, discrete) {
  var q = HG.bytes(picture.probs), K = picture.classes;
  HG.paintGrid(canvas, picture.size, function (i) { return HG.mixColor(q, i * K, K, discrete); });
};

/* Points [[u, v, label], ...] in the square [-1, 1]^2 */
HG.drawPoints = function (canvas, points, opts) {
  opts = opts || {};
  var ctx = canvas.getContext("2d"), W = canvas.width, H = canvas.height;
  var r = opts.radius || Math.max(2.5, W / 110);
  for (var i = 0; i < points.length; i++) {
    var p = points[i], x = (p[0] + 1) / 2 * W, y = (1 - p[1]) / 2 * H;
    ctx.beginPath();
    ctx.arc(x, y, r, 0, 2 * Math.PI);
    ctx.fillStyle = HG.rgb(HG.CLASS_COLORS[p[2] % HG.CLASS_COLORS.length]);
    ctx.fill();
    ctx.lineWidth = opts.test ? 1.2 : 0.8;
    ctx.strokeStyle = opts.test ? "#333" : "white";
    ctx.stroke();
  }
};

/* A 1-D signed picture (a neuron along x) drawn as a curve in a canvas. */
HG.paintCurve = function (canvas, bytes, offset, n) {
  var ctx = canvas.getContext("2d"), W = canvas.width, H = canvas.height;
  ctx.clearRect(0, 0, W, H);
  ctx.strokeStyle = "#ddd"; ctx.beginPath(); ctx.moveTo(0, H / 2); ctx.lineTo(W, H / 2); ctx.stroke();
  ctx.strokeStyle = HG.rgb(HG.POS); ctx.lineWidth = 1.5; ctx.beginPath();
  for (var i = 0; i < n; i++) {
    var v = (bytes[offset + i] - 127.5) / 127.5, x = i / (n - 1) * W, y = H / 2 - v * (H / 2 - 2);
    if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
  }
  ctx.stroke();
};

/* Draw a signed picture {shape: [h, w], data, scales} unit j into a canvas. */
HG.paintUnit = function (canvas, picture, j, bytes, discrete) {
  bytes = bytes || HG.bytes(picture.data);
  var h = picture.shape[0], w = picture.shape[1], n = h * w;
  if (h === 1) { HG.paintCurve(canvas, bytes, j * n, w); return; }
  HG.paintGrid(canvas, w, function (i) { return HG.signedColor(bytes[j * n + i], discrete); });
};

/* A round step for about `count` ticks between 0 and max. */
HG.tickStep = function (max, count) {
  var raw = max / (count || 4), mag = Math.pow(10, Math.floor(Math.log10(raw))), r = raw / mag;
  return (r <= 1 ? 1 : r <= 2 ? 2 : r <= 5 ? 5 : 10) * mag;
};

/* The top of a loss chart's scale: robust to spikes. Each series' first value (where
 * training started) and the 80th percentile of everything, whichever is larger; a spike
 * above it is drawn clipped, with a mark, and the largest value is written in the corner. */
HG.robustMax = function (series) {
  var all = [], firsts = [];
  series.forEach(function (s) {
    var first = null;
    s.values.forEach(function (v) {
      if (v === null || !isFinite(v)) return;
      all.push(v);
      if (first === null) first = v;
    });
    if (first !== null) firsts.push(first);
  });
  if (!all.length) return {top: 1, max: 1};
  all.sort(function (a, b) { return a - b; });
  var q80 = all[Math.floor(0.8 * (all.length - 1))];
  var top = Math.max(q80, Math.max.apply(null, firsts.concat([0]))) * 1.1;
  return {top: top > 0 ? top : 1, max: all[all.length - 1]};
};

/* A loss chart with axes: series [{values, xs, color, width, dash}], x in epochs. */
HG.lineChart = function (canvas, series, opts) {
  opts = opts || {};
  var ctx = canvas.getContext("2d"), W = canvas.width, H = canvas.height;
  ctx.clearRect(0, 0, W, H);
  var xmax = opts.xmax || 0;
  series.forEach(function (s) {
    s.values.forEach(function (v, i) { var x = s.xs ? s.xs[i] : i; if (x > xmax) xmax = x; });
  });
  if (xmax <= 0) xmax = 1;
  var scale = HG.robustMax(series), ymax = scale.top;
  var left = 40, right = 14, top = 8, bottom = 30;
  var X = function (x) { return left + x / xmax * (W - left - right); };
  var Y = function (y) { return H - bottom - Math.min(y, ymax) / ymax * (H - bottom - top); };
  ctx.font = "10px sans-serif";
  ctx.lineWidth = 1;
  // axes, grid and ticks
  ctx.strokeStyle = "#eee"; ctx.fillStyle = "#666";
  var ys = HG.tickStep(ymax, 3);
  for (var yv = 0; yv <= ymax + 1e-12; yv += ys) {
    ctx.beginPath(); ctx.moveTo(left, Y(yv)); ctx.lineTo(W - right, Y(yv)); ctx.stroke();
    ctx.textAlign = "right"; ctx.fillText(String(Number(yv.toPrecision(3))), left - 4, Y(yv) + 3);
  }
  var xs = HG.tickStep(xmax, 4);
  ctx.textAlign = "center";
  for (var xv = 0; xv <= xmax + 1e-12; xv += xs) {
    ctx.fillText(String(Number(xv.toPrecision(4))), X(xv), H - bottom + 12);
  }
  ctx.strokeStyle = "#999";
  ctx.beginPath(); ctx.moveTo(left, top); ctx.lineTo(left, H - bottom); ctx.lineTo(W - right, H - bottom); ctx.stroke();
  ctx.fillStyle = "#666";
  ctx.textAlign = "center"; ctx.fillText(opts.xlabel || "epoch", left + (W - left - right) / 2, H - 3);
  ctx.save(); ctx.translate(9, top + (H - bottom - top) / 2); ctx.rotate(-Math.PI / 2);
  ctx.textAlign = "center"; ctx.fillText(opts.ylabel || "loss", 0, 0); ctx.restore();
  // the curves; a value above the scale is drawn at its top with a mark
  var clipped = false;
  series.forEach(function (s) {
    ctx.strokeStyle = s.color; ctx.lineWidth = s.width || 1.5;
    ctx.setLineDash(s.dash || []);
    ctx.beginPath();
    var started = false;
    s.values.forEach(function (v, i) {
      if (v === null || !isFinite(v)) { started = false; return; }
      var x = X(s.xs ? s.xs[i] : i), y = Y(v);
      if (v > ymax) clipped = true;
      if (!started) { ctx.moveTo(x, y); started = true; } else ctx.lineTo(x, y);
    });
    ctx.stroke();
    ctx.setLineDash([]);
    if (s.end) {                      // a marker where the line ends (a diverged run)
      var ex = X(s.end[0]), ey = Y(s.end[1]);
      ctx.beginPath(); ctx.moveTo(ex - 4, ey - 4); ctx.lineTo(ex + 4, ey + 4);
      ctx.moveTo(ex - 4, ey + 4); ctx.lineTo(ex + 4, ey - 4); ctx.stroke();
    }
  });
  if (clipped) {
    ctx.fillStyle = "#c62828"; ctx.textAlign = "right";
    ctx.fillText("▲ off the scale, up to " + HG.short(scale.max), W - right, top + 9);
  }
  if (opts.marker !== undefined) {
    ctx.strokeStyle = "#999"; ctx.lineWidth = 1;
    ctx.beginPath(); ctx.moveTo(X(opts.marker), top); ctx.lineTo(X(opts.marker), H - bottom); ctx.stroke();
  }
  ctx.textAlign = "start";
};

HG.short = function (v) {
  if (!isFinite(v)) return String(v);
  return Math.abs(v) >= 1e4 ? v.toExponential(1) : String(Number(v.toPrecision(3)));
};

/* How a run is going, read from its curve [[epoch, train loss, ..., accuracy], ...] the same
 * way in both engines: "diverging" when the training loss stays above where it started (or
 * hovers there with the accuracy at chance), "stuck" when it has not fallen for a while, or
 * the accuracy stays at chance, and the task is not solved. */
HG.health = function (curve, accuracyIndex, classes) {
  var pts = curve.filter(function (p) { return p[1] !== null && isFinite(p[1]); });
  if (pts.length < 6) return null;
  var n = pts.length, first = pts[0][1], last = pts.slice(-5), now = pts[n - 1];
  var recentMean = last.reduce(function (a, p) { return a + p[1]; }, 0) / last.length;
  var acc = accuracyIndex === undefined ? null : now[accuracyIndex];
  var chance = classes ? 1 / classes : null;
  var atChance = acc !== null && acc !== undefined && chance !== null && acc <= chance + 0.1;
  var accText = acc !== null && acc !== undefined ? ", accuracy " + HG.fmt(100 * acc, 1) + " %" +
    (atChance ? " where guessing gives " + HG.fmt(100 * chance, 0) + " %" : "") : "";
  if (last.every(function (p) { return p[1] > 1.2 * first; }) || (n >= 10 && atChance && recentMean > first)) {
    return {word: "diverging", text: "diverging: the training loss (" + HG.short(now[1]) + accText +
      ") stays above where it started (" + HG.short(first) + "): the steps overshoot; lower the learning rate"};
  }
  if (n >= 20 && atChance) {
    return {word: "stuck", text: "stuck: after " + Math.round(now[0]) + " epochs the network does no better than guessing (" +
      HG.short(now[1]) + accText + "); try another learning rate, more neurons or another activation"};
  }
  if (n < 30) return null;
  var w = Math.max(20, Math.floor(0.3 * n)), before = Infinity, recent = Infinity;
  pts.forEach(function (p, i) { if (i < n - w) before = Math.min(before, p[1]); else recent = Math.min(recent, p[1]); });
  var solved = acc !== null && acc !== undefined ? acc >= 0.97 : now[1] < 0.01 * first;
  if (recent > 0.995 * before && !solved) {
    return {word: "stuck", text: "stuck: the training loss has not fallen in " + Math.round(now[0] - pts[n - w][0]) +
      " epochs (" + HG.short(now[1]) + accText + "); try another learning rate, more neurons or another activation"};
  }
  return null;
};

HG.fmt = function (v, digits) {
  if (v === null || v === undefined || !isFinite(v)) return "–";
  return Number(v).toFixed(digits === undefined ? 3 : digits);
};

/* A number as the page prints it in formulas: 4 decimals, a real minus sign. */
HG.num = function (v, digits) {
  var text = Number(v).toFixed(digits === undefined ? 4 : digits);
  if (/^-?0\.?0*$/.test(text)) text = text.replace("-", "");
  return text.replace("-", "−");
};
/* ... and in brackets when negative, where it is multiplied. */
HG.term = function (v, digits) {
  var text = HG.num(v, digits);
  return text.charAt(0) === "−" ? "(" + text + ")" : text;
};

HG.pad6 = function (n) {
  var s = String(n);
  while (s.length < 6) s = "0" + s;
  return s.slice(0, 3) + "," + s.slice(3);
};

/* The error / info banner at the top of the page. */
HG.showBanner = function (text, kind) {
  var b = HG.$("banner");
  HG.$("banner-text").textContent = text;
  b.className = "banner" + (kind === "info" ? " info" : "");
  b.hidden = false;
};
HG.hideBanner = function () { HG.$("banner").hidden = true; };

/* The hover box. html is built from text only (escaped). */
HG.escape = function (s) {
  return String(s).replace(/[&<>"]/g, function (c) { return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[c]; });
};
HG.showTip = function (event, parts) {
  var tip = HG.$("tooltip"), html = "";
  if (parts.name) html += '<span class="t-name">' + HG.escape(parts.name) + "</span>";
  if (parts.shape) html += '<span class="t-shape">' + HG.escape(parts.shape) + "</span>";
  if (parts.formula) html += '<span class="t-formula">' + HG.escape(parts.formula) + "</span>";
  if (parts.code) html += "<code>" + HG.escape(parts.code) + "</code>";
  if (parts.numbers) html += '<span class="t-numbers">' + HG.escape(parts.numbers) + "</span>";
  tip.innerHTML = html;
  tip.hidden = false;
  HG.moveTip(event);
};
HG.moveTip = function (event) {
  var tip = HG.$("tooltip");
  var x = event.clientX + 14, y = event.clientY + 14;
  if (x + tip.offsetWidth > window.innerWidth - 8) x = event.clientX - tip.offsetWidth - 14;
  if (y + tip.offsetHeight > window.innerHeight - 8) y = event.clientY - tip.offsetHeight - 14;
  tip.style.left = Math.max(4, x) + "px"; tip.style.top = Math.max(4, y) + "px";
};
HG.hideTip = function () { HG.$("tooltip").hidden = true; };

/* JSON from the server; a 4xx answer with {"message"} becomes an Error with that text. */
HG.api = function (path, body) {
  var init = body === undefined ? {} : {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)};
  return fetch(path, init).then(function (r) {
    return r.json().catch(function () { return {message: "the server answered " + r.status}; })
      .then(function (data) {
        if (!r.ok) { var e = new Error(data.message || ("the server answered " + r.status)); e.field = data.field; throw e; }
        return data;
      });
  });
};

/* The options (choices from handgrad's registries, limits, defaults): carried by a static
 * copy, asked of the server otherwise. */
var optionsPromise = null;
HG.options = function () {
  if (!optionsPromise) optionsPromise = HG.STATIC ? Promise.resolve(HG.STATIC.options) : HG.api("api/options");
  return optionsPromise;
};

/* The URL hash holds the view and its settings: #view=race&dataset=moons&...
 * Older keys (batch, l2) are read as their new names. */
HG.readHash = function () {
  var out = {}, params = new URLSearchParams(location.hash.replace(/^#/, ""));
  params.forEach(function (v, k) { out[k] = v; });
  return out;
};
HG.writeHash = function (values) {
  var params = new URLSearchParams();
  Object.keys(values).forEach(function (k) {
    var v = values[k];
    if (v === undefined || v === null) return;
    params.set(k, Array.isArray(v) ? v.join(",") : String(v));
  });
  history.replaceState(null, "", "#" + params.toString());
};
HG.renameOld = function (values, aliases) {
  Object.keys(aliases || {}).forEach(function (old) {
    if (values[old] !== undefined) {
      if (values[aliases[old]] === undefined) values[aliases[old]] = values[old];
      delete values[old];
    }
  });
  return values;
};

/* A <select> from [{name, label}] as the options list them. */
HG.fillSelect = function (select, items) {
  select.innerHTML = "";
  items.forEach(function (item) {
    var o = document.createElement("option");
    if (typeof item === "object") { o.value = item.name; o.textContent = item.label; } else { o.value = item; o.textContent = item; }
    select.appendChild(o);
  });
};
HG.labelOf = function (items, name) {
  for (var i = 0; i < items.length; i++) if (items[i].name === name) return items[i].label;
  return name;
};

HG.markBad = function (container, field) {
  container.querySelectorAll(".bad").forEach(function (el) { el.classList.remove("bad"); });
  if (!field) return;
  var el = container.querySelector('[name="' + field + '"]');
  if (el) el.classList.add("bad");
};

HG.svg = function (tag, attrs, parent) {
  var el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  Object.keys(attrs || {}).forEach(function (k) { el.setAttribute(k, attrs[k]); });
  if (parent) parent.appendChild(el);
  return el;
};

/* Button icons as inline SVG (no icon font: nothing to fetch, the same in every browser). */
HG.ICONS = {
  play: '<path d="M8 5v14l11-7z"/>',
  pause: '<path d="M6 5h4v14H6zM14 5h4v14h-4z"/>',
  step: '<path d="M6 5v14l9-7zM16 5h3v14h-3z"/>',
  reset: '<path d="M12 5V1L7 6l5 5V7a5 5 0 1 1-5 5H5a7 7 0 1 0 7-7z"/>',
  first: '<path d="M6 5h3v14H6zM20 5v14l-10-7z"/>',
  prev: '<path d="M16 5v14L6 12z"/>',
  next: '<path d="M8 5v14l10-7z"/>',
  dice: '<path d="M5 3h14a2 2 0 0 1 2 2v14a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2zm2.5 3a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3zm9 0a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3zM12 10.5a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3zM7.5 15a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3zm9 0a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3z"/>',
};
HG.setIcon = function (button, name) {
  button.dataset.icon = name;
  button.innerHTML = '<svg viewBox="0 0 24 24" width="60%" height="60%" fill="currentColor" aria-hidden="true">' + HG.ICONS[name] + "</svg>";
  button.setAttribute("aria-label", name);
};
document.querySelectorAll("button[data-icon]").forEach(function (b) { HG.setIcon(b, b.dataset.icon); });

/* --- the connection: the server's socket, or the twin in this page -------------------------- *
 * HG.send(message) goes to the engine; each answer goes to HG.views[answer.view].onMessage
 * (an error without a view, to the banner). The live views call HG.connect() when they open. */
HG.connection = null;
HG.connect = function () {
  if (HG.connection) return HG.connection;
  var conn = HG.connection = {fatal: false, queue: [], open: false, send: null};
  function dispatch(m) {
    if (m.type === "hello") {
      HG.sid = m.session;
      conn.open = true;
      conn.queue.forEach(function (q) { conn.send(q); });
      conn.queue = [];
      return;
    }
    if (m.type === "error" && m.fatal) conn.fatal = true;
    var view = m.view && HG.views[m.view];
    if (view && view.onMessage) view.onMessage(m);
    else if (m.type === "error") HG.showBanner(m.message);
  }
  if (HG.STATIC) {
    var local = HG.local.connect(dispatch);
    conn.send = function (msg) { local.send(msg); };
    return conn;
  }
  var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws";
  var ws = new WebSocket(url);
  conn.send = function (msg) {
    if (!conn.open) { conn.queue.push(msg); return; }
    if (ws.readyState === 1) ws.send(JSON.stringify(msg));
  };
  ws.addEventListener("message", function (event) { dispatch(JSON.parse(event.data)); });
  ws.addEventListener("close", function () {
    conn.open = false;
    // a refused tab keeps the server's own words; any other close says what to do
    if (!conn.fatal) HG.showBanner("The connection to the playground server closed. Is `handgrad playground` still running? Reload the page to start again.");
  });
  return conn;
};
HG.send = function (msg) { HG.connect().send(msg); };

/* The speed control: mini-batches per frame, from the options. */
HG.fillSpeed = function (select, options) {
  HG.fillSelect(select, options.speeds.map(function (n) {
    return {name: String(n), label: n + (n === 1 ? " step" : " steps") + " / frame"};
  }));
  select.value = String(options.speed);
};
