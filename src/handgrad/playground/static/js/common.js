/* handgrad playground: what every view shares. Plain JavaScript, no libraries.
 * The page only draws: every number comes from handgrad through the server
 * (or, in a static copy, from the runs precomputed into static-data.js). */
"use strict";

var HG = window.HG = {};
HG.STATIC = window.HANDGRAD_STATIC || null;

/* Colours: class 0 / negative orange, class 1 / positive blue, then more classes. */
HG.CLASS_COLORS = [[245, 147, 34], [8, 119, 189], [63, 163, 77], [156, 77, 204], [214, 64, 78], [140, 109, 49]];
HG.NEG = HG.CLASS_COLORS[0];
HG.POS = HG.CLASS_COLORS[1];
HG.RUNNER_COLORS = {sgd: "#d6404e", momentum: "#3fa34d", adam: "#0877bd"};

HG.$ = function (id) { return document.getElementById(id); };

HG.rgb = function (c, a) {
  return a === undefined ? "rgb(" + c.join(",") + ")" : "rgba(" + c.join(",") + "," + a + ")";
};

/* base64 text -> Uint8Array */
HG.bytes = function (text) {
  var bin = atob(text), out = new Uint8Array(bin.length);
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
HG.signedColor = function (byte) {
  var v = (byte - 127.5) / 127.5, c = v < 0 ? HG.NEG : HG.POS, s = Math.min(1, Math.abs(v));
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

/* A decision boundary: {size, classes, probs (base64)} */
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

/* A 1-D signed picture (a neuron along x) drawn as a curve in a small canvas. */
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
HG.paintUnit = function (canvas, picture, j, bytes) {
  bytes = bytes || HG.bytes(picture.data);
  var h = picture.shape[0], w = picture.shape[1], n = h * w;
  if (h === 1) { HG.paintCurve(canvas, bytes, j * n, w); return; }
  HG.paintGrid(canvas, w, function (i) { return HG.signedColor(bytes[j * n + i]); });
};

/* Line chart: series [{values: [...], xs: [...] (optional), color, width, dash}] */
HG.lineChart = function (canvas, series, opts) {
  opts = opts || {};
  var ctx = canvas.getContext("2d"), W = canvas.width, H = canvas.height, pad = opts.pad || 4;
  ctx.clearRect(0, 0, W, H);
  var xmax = 1, ymax = 0;
  series.forEach(function (s) {
    s.values.forEach(function (v, i) {
      var x = s.xs ? s.xs[i] : i;
      if (x > xmax) xmax = x;
      if (v !== null && isFinite(v) && v > ymax) ymax = v;
    });
  });
  if (opts.ymax) ymax = Math.min(ymax, opts.ymax);
  if (ymax <= 0) ymax = 1;
  var left = opts.axes ? 44 : pad, bottom = opts.axes ? 22 : pad;
  var X = function (x) { return left + x / xmax * (W - left - pad); };
  var Y = function (y) { return H - bottom - Math.min(y, ymax) / ymax * (H - bottom - pad); };
  if (opts.axes) {
    ctx.fillStyle = "#777"; ctx.font = "11px sans-serif"; ctx.strokeStyle = "#eee";
    var raw = ymax / 4, mag = Math.pow(10, Math.floor(Math.log10(raw))), r = raw / mag;
    var step = (r <= 1 ? 1 : r <= 2 ? 2 : r <= 5 ? 5 : 10) * mag;   // a round tick step
    for (var yv = 0; yv <= ymax + 1e-12; yv += step) {
      var yy = Y(yv);
      ctx.beginPath(); ctx.moveTo(left, yy); ctx.lineTo(W - pad, yy); ctx.stroke();
      ctx.fillText(String(Number(yv.toPrecision(3))), 2, yy + 4);
    }
    ctx.fillText(opts.xlabel || "epoch", W - 40, H - 6);
    ctx.fillText("0", left, H - 6);
    ctx.fillText(String(xmax), W - pad - 60, H - 6);
  }
  series.forEach(function (s) {
    ctx.strokeStyle = s.color; ctx.lineWidth = s.width || 1.5;
    ctx.setLineDash(s.dash || []);
    ctx.beginPath();
    var started = false;
    s.values.forEach(function (v, i) {
      if (v === null || !isFinite(v)) { started = false; return; }
      var x = X(s.xs ? s.xs[i] : i), y = Y(v);
      if (!started) { ctx.moveTo(x, y); started = true; } else ctx.lineTo(x, y);
    });
    ctx.stroke();
  });
  ctx.setLineDash([]);
  if (opts.marker !== undefined) {
    ctx.strokeStyle = "#999"; ctx.lineWidth = 1;
    ctx.beginPath(); ctx.moveTo(X(opts.marker), pad); ctx.lineTo(X(opts.marker), H - bottom); ctx.stroke();
  }
};

HG.fmt = function (v, digits) {
  if (v === null || v === undefined || !isFinite(v)) return "–";
  return Number(v).toFixed(digits === undefined ? 3 : digits);
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

/* The URL hash holds the view and its settings: #view=race&dataset=moons&... */
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

HG.fillSelect = function (select, names, labels) {
  select.innerHTML = "";
  names.forEach(function (n) {
    var o = document.createElement("option");
    o.value = n; o.textContent = (labels && labels[n]) || n;
    select.appendChild(o);
  });
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

HG.views = {};
