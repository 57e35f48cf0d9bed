/* View 1: the playground. A WebSocket session trains a handgrad MLP in the server;
 * this file sends the settings and draws the frames it gets back. */
"use strict";

(function () {
  var $ = HG.$;
  var SETUP_KEYS = ["dataset", "classes", "noise", "points", "train", "features", "hidden", "activation",
    "lr", "batch", "optimizer", "l2", "dropout", "norm", "loss", "seed"];
  var LIST_KEYS = {features: true, hidden: true};
  var NODE = 40, GAP = 52, TOP = 56;
  var ACT_LABELS = {relu: "ReLU", tanh: "Tanh", sigmoid: "Sigmoid", leaky_relu: "Leaky ReLU", gelu: "GELU",
    silu: "SiLU", identity: "Linear"};
  var OPT_LABELS = {sgd: "SGD", momentum: "Momentum", nesterov: "Nesterov", adam: "Adam", adamw: "AdamW"};
  var DATASET_LABELS = {xor: "XOR", circles: "circles", moons: "moons", spiral: "spiral", blobs: "blobs",
    checkerboard: "checker", quadrants: "quadrants", sine: "sine fit", csv: "your CSV"};

  var st = {
    ws: null, sid: null, options: null, setup: null, ready: null, frame: null,
    curve: [], playing: false, started: false, thumbs: null,
  };

  function send(msg) {
    if (st.ws && st.ws.readyState === 1) st.ws.send(JSON.stringify(msg));
  }

  /* --- settings <-> controls <-> URL ---------------------------------------------------- */

  function fromHash(defaults) {
    var h = HG.readHash(), s = {};
    SETUP_KEYS.forEach(function (k) {
      if (h[k] === undefined) { s[k] = defaults[k]; return; }
      s[k] = LIST_KEYS[k] ? h[k].split(",").filter(function (v) { return v !== ""; }) : h[k];
    });
    if (s.dataset === "csv") s.dataset = defaults.dataset;       // the file is not in the URL
    return s;
  }

  function writeHash() {
    var values = {view: "playground"};
    SETUP_KEYS.forEach(function (k) { values[k] = st.setup[k]; });
    HG.writeHash(values);
  }

  function syncControls() {
    var s = st.setup;
    ["lr", "batch", "l2", "dropout", "seed", "activation", "optimizer", "norm", "loss",
      "classes", "train", "noise", "points"].forEach(function (k) {
      var el = $("pg-" + k);
      if (el && document.activeElement !== el) el.value = s[k];
    });
    $("pg-classes-out").textContent = s.classes;
    $("pg-train-out").textContent = Math.round(Number(s.train) * 100) + "%";
    $("pg-noise-out").textContent = Math.round(Number(s.noise) * 100) + "%";
    $("pg-points-out").textContent = s.points;
    var multi = st.options.multiclass.indexOf(s.dataset) >= 0;
    $("pg-classes-row").style.visibility = multi ? "visible" : "hidden";
    $("pg-layer-count").textContent = s.hidden.length;
    document.querySelectorAll("#pg-datasets button").forEach(function (b) {
      b.classList.toggle("active", b.dataset.name === s.dataset);
    });
    $("pg-loss").disabled = s.dataset === "sine" || (st.ready && st.ready.task === "regression");
  }

  function change(key, value) {
    st.setup[key] = value;
    sendSetup();
  }

  var pending = null;
  function sendSetup() {
    clearTimeout(pending);
    pending = setTimeout(function () { send({type: "setup", setup: st.setup}); }, 60);
  }

  /* --- messages from the server --------------------------------------------------------- */

  function onMessage(event) {
    var m = JSON.parse(event.data);
    if (m.type === "hello") {
      st.sid = m.session;
      st.options = m.options;
      buildControls();
      st.setup = fromHash(st.options.defaults);
      syncControls();
      send({type: "setup", setup: st.setup});
      $("pg-download").href = "api/session/" + st.sid + "/checkpoint";
    } else if (m.type === "ready") {
      onReady(m);
    } else if (m.type === "frame") {
      onFrame(m);
    } else if (m.type === "status") {
      st.playing = m.playing;
      HG.setIcon($("pg-play"), m.playing ? "pause" : "play");
    } else if (m.type === "diverged") {
      st.playing = false;
      HG.setIcon($("pg-play"), "play");
      HG.showBanner(m.message + "  (The picture shows the last good weights; lower the learning rate and press reset.)");
      $("pg-info").dataset.diverged = m.step;
    } else if (m.type === "error") {
      HG.showBanner(m.message);
      HG.markBad($("view-playground"), m.field);
      if (m.fatal) setEnabled(false);
    }
  }

  function onReady(m) {
    HG.hideBanner();
    HG.markBad($("view-playground"), null);
    st.ready = m;
    st.setup = m.setup;
    st.curve = [];
    delete $("pg-info").dataset.diverged;
    syncControls();
    writeHash();
    buildNetwork();
    var sizes = m.layer_sizes;
    $("pg-info").textContent = "handgrad.MLP(" + JSON.stringify(sizes) + ") · " + m.params + " parameters · batch " +
      m.batch + " · " + m.train.length + " training / " + m.test.length + " test points · " +
      (m.task === "regression" ? "squared error" : m.setup.loss === "mse" ? "softmax + squared error" : "softmax + cross-entropy");
    $("pg-code").hidden = true;
  }

  function onFrame(f) {
    st.frame = f;
    f.curve.forEach(function (p) { st.curve.push(p); });
    if (st.curve.length > 4000) st.curve = st.curve.filter(function (_, i) { return i % 2 === 0; });
    draw();
    if (f.seq !== undefined) send({type: "ack", seq: f.seq});     // drawn: the next one may come
  }

  /* --- drawing ---------------------------------------------------------------------------- */

  function draw() {
    var f = st.frame, r = st.ready;
    if (!f || !r) return;
    $("pg-epoch").textContent = HG.pad6(f.epoch);
    $("pg-step-count").textContent = "step " + f.step;
    $("pg-test-loss").textContent = HG.fmt(f.test_loss);
    $("pg-train-loss").textContent = HG.fmt(f.train_loss);
    $("pg-test-acc").textContent = f.test_accuracy === null ? "" : "accuracy " + HG.fmt(100 * f.test_accuracy, 1) + "%";
    $("pg-train-acc").textContent = f.train_accuracy === null ? "" : "accuracy " + HG.fmt(100 * f.train_accuracy, 1) + "%";
    var canvas = $("pg-output");
    if (f.output.kind === "grid") {
      HG.drawBoundary(canvas, f.output, $("pg-discrete").checked);
      HG.drawPoints(canvas, r.train);
      if ($("pg-show-test").checked) HG.drawPoints(canvas, r.test, {test: true});
    } else {
      drawRegression(canvas, f.output, r);
    }
    var xs = st.curve.map(function (p) { return p[0]; });
    HG.lineChart($("pg-curve"), [
      {values: st.curve.map(function (p) { return p[1]; }), xs: xs, color: "#aaa"},
      {values: st.curve.map(function (p) { return p[2]; }), xs: xs, color: "#222"},
    ]);
    drawNeurons(f);
  }

  function drawRegression(canvas, out, r) {
    var ctx = canvas.getContext("2d"), W = canvas.width, H = canvas.height;
    ctx.fillStyle = "white"; ctx.fillRect(0, 0, W, H);
    ctx.strokeStyle = "#eee"; ctx.beginPath(); ctx.moveTo(0, H / 2); ctx.lineTo(W, H / 2);
    ctx.moveTo(W / 2, 0); ctx.lineTo(W / 2, H); ctx.stroke();
    var X = function (u) { return (u + 1) / 2 * W; }, Y = function (v) { return (1 - v) / 2 * H; };
    var dots = function (pts, color, ring) {
      pts.forEach(function (p) {
        ctx.beginPath(); ctx.arc(X(p[0]), Y(p[1]), 3, 0, 2 * Math.PI);
        ctx.fillStyle = color; ctx.fill();
        if (ring) { ctx.strokeStyle = "black"; ctx.stroke(); }
      });
    };
    dots(r.train, HG.rgb(HG.NEG, 0.85));
    if ($("pg-show-test").checked) dots(r.test, HG.rgb(HG.NEG, 0.5), true);
    ctx.strokeStyle = HG.rgb(HG.POS); ctx.lineWidth = 2.5; ctx.beginPath();
    out.values.forEach(function (v, i) {
      var x = i / (out.values.length - 1) * W, y = Y(Math.max(-1.2, Math.min(1.2, v)));
      if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
    });
    ctx.stroke(); ctx.lineWidth = 1;
  }

  function drawNeurons(f) {
    f.neurons.forEach(function (pic, l) {
      var bytes = HG.bytes(pic.data);
      pic.scales.forEach(function (_, j) {
        var c = document.querySelector('#pg-network canvas[data-layer="' + (l + 1) + '"][data-unit="' + j + '"]');
        if (c) HG.paintUnit(c, pic, j, bytes);
      });
    });
    var out = f.output;
    var n = st.ready.layer_sizes.length - 1;
    if (out.kind === "grid") {
      var q = HG.bytes(out.probs), K = out.classes;
      for (var k = 0; k < K; k++) {
        var c = document.querySelector('#pg-network canvas[data-layer="' + n + '"][data-unit="' + k + '"]');
        if (!c) continue;
        (function (k) {
          var col = HG.CLASS_COLORS[k % HG.CLASS_COLORS.length];
          HG.paintGrid(c, out.size, function (i) {
            var p = q[i * K + k] / 255;
            return [255 + (col[0] - 255) * p, 255 + (col[1] - 255) * p, 255 + (col[2] - 255) * p];
          });
        })(k);
      }
    } else {
      var c1 = document.querySelector('#pg-network canvas[data-layer="' + n + '"][data-unit="0"]');
      if (c1) {
        var bytes = new Uint8Array(out.values.map(function (v) { return Math.max(0, Math.min(255, Math.round((v + 1) * 127.5))); }));
        HG.paintCurve(c1, bytes, 0, out.values.length);
      }
    }
    drawLinks(f.weights);
  }

  /* --- the network diagram -------------------------------------------------------------- */

  function columnX(i, count) {
    var W = $("pg-network").clientWidth || 600;
    return 64 + i * (W - NODE - 74) / Math.max(1, count - 1);
  }

  function nodeY(j) { return TOP + j * GAP; }

  function addNode(x, y, layer, unit, cls, tipFn) {
    var div = document.createElement("div");
    div.className = "node " + (cls || "");
    div.style.left = x + "px"; div.style.top = y + "px";
    var c = document.createElement("canvas");
    c.width = 38; c.height = 38;
    c.dataset.layer = layer; c.dataset.unit = unit;
    div.appendChild(c);
    div.addEventListener("mouseenter", function (e) { HG.showTip(e, tipFn()); });
    div.addEventListener("mousemove", HG.moveTip);
    div.addEventListener("mouseleave", HG.hideTip);
    $("pg-network").appendChild(div);
    return div;
  }

  function addLabel(x, y, text, cls) {
    var s = document.createElement("div");
    s.className = "node-label " + (cls || ""); s.style.left = x + "px"; s.style.top = y + "px"; s.textContent = text;
    $("pg-network").appendChild(s);
  }

  function buildNetwork() {
    var net = $("pg-network"), r = st.ready;
    net.querySelectorAll(".node, .node-label, .layer-ctl").forEach(function (el) { el.remove(); });
    var hidden = r.setup.hidden, cols = hidden.length + 2;
    var all = r.task === "regression" ? st.options.features_1d : Object.keys(st.options.features);
    var on = r.features;
    // features: every one shown (its picture from the server); the chosen ones feed the network
    var fx = columnX(0, cols), fpics = r.feature_pictures, fbytes = HG.bytes(fpics.data);
    all.forEach(function (name, j) {
      var used = on.indexOf(name), pic = fpics.names.indexOf(name);
      var node = addNode(fx, nodeY(j), 0, used, "feature" + (used < 0 ? " off" : ""), function () {
        return {name: "feature " + st.options.features[name],
          shape: used < 0 ? "not used: click to use it" : "input column " + used + " of (n, " + on.length + ")",
          formula: "max |value| over the plane = " + fpics.scales[pic]};
      });
      node.dataset.feature = name;
      node.addEventListener("click", function () { toggleFeature(name); });
      addLabel(fx - 58, nodeY(j) + 12, st.options.features[name], "feature-name");
      var canvas = node.querySelector("canvas");
      canvas.removeAttribute("data-layer");
      HG.paintUnit(canvas, fpics, pic, fbytes);
    });
    // hidden layers
    hidden.forEach(function (n, l) {
      var x = columnX(l + 1, cols);
      for (var j = 0; j < n; j++) {
        (function (l, j) {
          addNode(x, nodeY(j), l + 1, j, "", function () { return neuronTip(l, j); });
        })(l, j);
      }
      var ctl = document.createElement("div");
      ctl.className = "layer-ctl"; ctl.style.left = (x - 6) + "px"; ctl.style.top = "8px";
      ctl.innerHTML = '<button class="small" data-l="' + l + '" data-d="1" title="Add a neuron">+</button>' +
        '<button class="small" data-l="' + l + '" data-d="-1" title="Remove a neuron">−</button>';
      var lab = document.createElement("div");
      lab.className = "layer-ctl"; lab.style.left = (x - 4) + "px"; lab.style.top = "32px";
      lab.textContent = n + (n === 1 ? " neuron" : " neurons");
      net.appendChild(ctl); net.appendChild(lab);
    });
    net.querySelectorAll(".layer-ctl button").forEach(function (b) {
      b.addEventListener("click", function () { changeNeurons(+b.dataset.l, +b.dataset.d); });
    });
    // output units
    var K = r.layer_sizes[r.layer_sizes.length - 1], ox = columnX(cols - 1, cols);
    for (var k = 0; k < K; k++) {
      (function (k) {
        addNode(ox, nodeY(k), cols - 1, k, "", function () {
          return r.task === "regression"
            ? {name: "output", shape: "(n, 1)", formula: "the fitted value ŷ along x (linear output, squared error)"}
            : {name: "output " + k, shape: "p[:, " + k + "] of (n, " + K + ")", formula: "probability of class " + k + " (softmax)"};
        });
      })(k);
      addLabel(ox - 2, nodeY(k) + NODE + 1, r.task === "regression" ? "ŷ" : "p" + k);
    }
    net.style.height = (TOP + Math.max(all.length, Math.max.apply(null, hidden.concat([K]))) * GAP + 10) + "px";
  }

  function neuronTip(l, j) {
    var f = st.frame, name = "hidden layer " + (l + 1) + ", neuron " + j;
    if (!f) return {name: name};
    var w = f.weights[l], b = w.b[j], row = w.W[j];
    return {name: name, shape: "a" + (l + 1) + "[:, " + j + "] of (n, " + st.ready.setup.hidden[l] + ")",
      formula: "a = " + (ACT_LABELS[st.ready.setup.activation] || st.ready.setup.activation) + "(Σ_i W[" + j + ", i]·in_i + b[" + j + "])",
      numbers: "b = " + b.toFixed(4) + ";  W[" + j + ", :] = [" + row.map(function (v) { return v.toFixed(3); }).join(", ") + "]" +
        ";  max |a| over the plane = " + f.neurons[l].scales[j]};
  }

  function drawLinks(weights) {
    var svg = $("pg-links"), r = st.ready;
    svg.innerHTML = "";
    var hidden = r.setup.hidden, cols = hidden.length + 2;
    var all = r.task === "regression" ? st.options.features_1d : Object.keys(st.options.features);
    var srcY = r.features.map(function (name) { return nodeY(all.indexOf(name)); });
    weights.forEach(function (w, l) {
      var x0 = columnX(l, cols) + NODE, x1 = columnX(l + 1, cols);
      var maxAbs = 0;
      w.W.forEach(function (row) { row.forEach(function (v) { maxAbs = Math.max(maxAbs, Math.abs(v)); }); });
      w.W.forEach(function (row, j) {
        row.forEach(function (v, i) {
          var y0 = (l === 0 ? srcY[i] : nodeY(i)) + NODE / 2, y1 = nodeY(j) + NODE / 2, mx = (x0 + x1) / 2;
          var p = HG.svg("path", {
            d: "M" + x0 + "," + y0 + " C" + mx + "," + y0 + " " + mx + "," + y1 + " " + x1 + "," + y1,
            fill: "none", stroke: HG.rgb(v >= 0 ? HG.POS : HG.NEG, 0.75),
            "stroke-width": Math.max(0.4, Math.min(7, 7 * Math.abs(v) / Math.max(maxAbs, 1e-9)))}, svg);
          p.addEventListener("mouseenter", function (e) {
            HG.showTip(e, {name: "W" + (l + 1) + "[" + j + ", " + i + "]", shape: "of (" + w.W.length + ", " + row.length + ") = (d_out, d_in)",
              numbers: "= " + v.toFixed(4)});
          });
          p.addEventListener("mousemove", HG.moveTip);
          p.addEventListener("mouseleave", HG.hideTip);
        });
      });
    });
  }

  /* --- controls ------------------------------------------------------------------------------ */

  function toggleFeature(name) {
    var f = st.setup.features.slice(), i = f.indexOf(name);
    if (i >= 0) f.splice(i, 1); else f.push(name);
    var order = Object.keys(st.options.features);
    f.sort(function (a, b) { return order.indexOf(a) - order.indexOf(b); });
    change("features", f);
  }

  function changeNeurons(l, d) {
    var h = st.setup.hidden.slice();
    h[l] = Math.max(1, Math.min(st.options.max_neurons, Number(h[l]) + d));
    change("hidden", h);
  }

  function changeLayers(d) {
    var h = st.setup.hidden.slice();
    if (d > 0 && h.length < st.options.max_layers) h.push(h.length ? h[h.length - 1] : 4);
    if (d < 0 && h.length) h.pop();
    change("hidden", h);
  }

  function setEnabled(on) {
    document.querySelectorAll("#view-playground button, #view-playground input, #view-playground select")
      .forEach(function (el) { el.disabled = !on; });
  }

  function datasetButtons() {
    var box = $("pg-datasets");
    box.innerHTML = "";
    st.options.datasets.forEach(function (name) {
      if (name === "csv") return;
      var b = document.createElement("button");
      b.dataset.name = name; b.title = DATASET_LABELS[name];
      var c = document.createElement("canvas"); c.width = 56; c.height = 56;
      var lab = document.createElement("span"); lab.textContent = DATASET_LABELS[name];
      b.appendChild(c); b.appendChild(lab);
      b.addEventListener("click", function () {
        var s = st.setup;
        if (name === "sine") s.features = ["x"];
        else if (s.dataset === "sine" || s.dataset === "csv") s.features = ["x", "y"];
        change("dataset", name);
      });
      box.appendChild(b);
    });
    HG.api("api/thumbnails").then(function (thumbs) {
      Object.keys(thumbs).forEach(function (name) {
        var c = box.querySelector('button[data-name="' + name + '"] canvas');
        if (!c) return;
        var ctx = c.getContext("2d"), t = thumbs[name];
        ctx.fillStyle = "#f4f4f4"; ctx.fillRect(0, 0, 56, 56);
        t.forEach(function (p) {
          var y = p.length === 3 ? p[1] : p[1];
          ctx.fillStyle = p.length === 3 ? HG.rgb(HG.CLASS_COLORS[p[2] % 6]) : HG.rgb(HG.POS);
          ctx.fillRect((p[0] + 1) / 2 * 54, (1 - y) / 2 * 54, 2.5, 2.5);
        });
      });
    }).catch(function () {});
  }

  var built = false;
  function buildControls() {
    if (built) return;
    built = true;
    var o = st.options;
    HG.fillSelect($("pg-activation"), o.activations, ACT_LABELS);
    HG.fillSelect($("pg-optimizer"), o.optimizers, OPT_LABELS);
    HG.fillSelect($("pg-norm"), o.norms, {none: "none", batch: "batch norm", layer: "layer norm", rms: "RMS norm"});
    $("pg-classes").max = o.max_classes;
    $("pg-points").max = o.max_points;
    datasetButtons();
    ["lr", "batch", "l2", "dropout", "seed", "activation", "optimizer", "norm", "loss"].forEach(function (k) {
      $("pg-" + k).addEventListener("change", function (e) { change(k, e.target.value); });
    });
    ["classes", "train", "noise", "points"].forEach(function (k) {
      var el = $("pg-" + k);
      el.addEventListener("input", function () {
        var v = el.value;
        $("pg-" + k + "-out").textContent = k === "train" || k === "noise" ? Math.round(v * 100) + "%" : v;
      });
      el.addEventListener("change", function () { change(k, Number(el.value)); });
    });
    $("pg-dice").addEventListener("click", function () { change("seed", Math.floor(Math.random() * 100000)); });
    $("pg-play").addEventListener("click", function () { send({type: st.playing ? "pause" : "play"}); });
    $("pg-step").addEventListener("click", function () { send({type: "step"}); });
    $("pg-reset").addEventListener("click", function () { HG.hideBanner(); send({type: "reset"}); });
    $("pg-add-layer").addEventListener("click", function () { changeLayers(1); });
    $("pg-remove-layer").addEventListener("click", function () { changeLayers(-1); });
    $("pg-show-test").addEventListener("change", draw);
    $("pg-discrete").addEventListener("change", draw);
    $("pg-csv").addEventListener("change", uploadCsv);
    $("pg-show-code").addEventListener("click", showCode);
  }

  function uploadCsv(e) {
    var file = e.target.files[0];
    if (!file) return;
    var form = new FormData();
    form.append("file", file);
    fetch("api/session/" + st.sid + "/csv", {method: "POST", body: form})
      .then(function (r) { return r.json().then(function (d) { if (!r.ok) throw new Error(d.message); return d; }); })
      .then(function (d) {
        st.setup.features = d.task === "regression" ? ["x"] : ["x", "y"];
        change("dataset", "csv");
        HG.showBanner("Loaded " + file.name + ": " + d.rows + " rows, " +
          (d.task === "regression" ? "a curve to fit" : d.classes + " classes") + ".", "info");
      })
      .catch(function (err) { HG.showBanner(file.name + ": " + err.message); })
      .then(function () { e.target.value = ""; });
  }

  function showCode() {
    var pre = $("pg-code");
    if (!pre.hidden) { pre.hidden = true; return; }
    fetch("api/session/" + st.sid + "/snippet").then(function (r) { return r.text(); })
      .then(function (text) { pre.textContent = text; pre.hidden = false; });
  }

  function connect() {
    var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws";
    var ws = new WebSocket(url);
    st.ws = ws;
    ws.addEventListener("message", onMessage);
    ws.addEventListener("close", function () {
      if (st.ws === ws) HG.showBanner("The connection to the playground server closed. Is `handgrad playground` still running? Reload the page to start again.");
    });
  }

  HG.views.playground = {
    open: function () {
      if (HG.STATIC) {
        $("pg-static-note").hidden = false;
        document.querySelector("#view-playground .controls").hidden = true;
        document.querySelector("#view-playground .board").hidden = true;
        return;
      }
      if (!st.started) { st.started = true; connect(); } else if (st.setup) { writeHash(); }
    },
    close: function () {
      if (st.playing) send({type: "pause"});
    },
    fromHash: function () {
      if (!st.options) return;
      st.setup = fromHash(st.options.defaults);
      syncControls();
      send({type: "setup", setup: st.setup});
    },
    state: st,
  };
})();
