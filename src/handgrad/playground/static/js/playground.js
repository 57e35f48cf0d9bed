/* View 1: the playground. The engine (handgrad in the server, or the twin in this page)
 * trains an MLP; this file sends the settings and draws the frames that come back. */
"use strict";

(function () {
  var $ = HG.$;
  var VIEW = "playground";
  var LIST_KEYS = {features: true, hidden: true};
  var FIELDS = ["lr", "batch_size", "l1", "weight_decay", "dropout", "seed", "activation", "optimizer", "norm", "loss"];
  var SLIDERS = ["classes", "train", "noise", "points"];
  var NODE = 40, GAP = 52, TOP = 56;

  var st = {
    options: null, setup: null, ready: null, frame: null, curve: [], now: null,
    playing: false, started: false, diverged: null, speed: null, hover: null, note: "",
  };

  function send(msg) { msg.view = VIEW; HG.send(msg); }
  function dataset(name) {
    return st.options.datasets.filter(function (d) { return d.name === name; })[0] || {};
  }

  /* --- settings <-> controls <-> URL ---------------------------------------------------- */

  function fromHash(defaults) {
    var h = HG.renameOld(HG.readHash(), st.options.aliases), s = {};
    Object.keys(defaults).forEach(function (k) {
      if (h[k] === undefined || h.view !== VIEW && h.view !== undefined) { s[k] = defaults[k]; return; }
      s[k] = LIST_KEYS[k] ? h[k].split(",").filter(function (v) { return v !== ""; }) : h[k];
    });
    if (s.dataset === "csv") s.dataset = defaults.dataset;       // the file is not in the URL
    if (h.speed && st.options.speeds.indexOf(Number(h.speed)) >= 0) st.speed = Number(h.speed);
    return s;
  }

  function writeHash() {
    var values = {view: VIEW};
    Object.keys(st.options.defaults).forEach(function (k) { values[k] = st.setup[k]; });
    values.speed = st.speed;
    HG.writeHash(values);
  }

  function syncControls() {
    var s = st.setup, d = dataset(s.dataset), csv = s.dataset === "csv";
    FIELDS.concat(SLIDERS).forEach(function (k) {
      var el = $("pg-" + k);
      if (el && document.activeElement !== el) el.value = s[k];
    });
    $("pg-speed").value = String(st.speed);
    $("pg-classes-out").textContent = s.classes;
    $("pg-train-out").textContent = Math.round(Number(s.train) * 100) + "%";
    $("pg-noise-out").textContent = Math.round(Number(s.noise) * 100) + "%";
    $("pg-points-out").textContent = s.points;
    $("pg-classes-row").hidden = !d.classes;                  // a class count only where it means one
    document.querySelectorAll("#view-playground .generated").forEach(function (el) { el.hidden = csv; });
    $("pg-layer-count").textContent = s.hidden.length;
    document.querySelectorAll("#pg-datasets button").forEach(function (b) {
      b.classList.toggle("active", b.dataset.name === s.dataset);
    });
    var regression = (st.ready && st.ready.task === "regression") || d.task === "regression";
    $("pg-loss-field").hidden = regression;
  }

  /* A setting changed: a new network, from its seed, paused — and the page says so. */
  function change(key, value) {
    st.setup[key] = value;
    var label = {lr: "learning rate", batch_size: "batch size", weight_decay: "weight decay", l1: "L1 rate"}[key] || key;
    st.note = "New " + label + ": a fresh network from seed " + st.setup.seed + ", paused. Press play to train it.";
    sendSetup();
  }

  var pending = null;
  function sendSetup() {
    clearTimeout(pending);
    pending = setTimeout(function () { send({type: "setup", setup: st.setup}); }, 60);
  }

  /* --- messages from the engine ----------------------------------------------------------- */

  function onMessage(m) {
    if (m.type === "ready") onReady(m);
    else if (m.type === "frame") onFrame(m);
    else if (m.type === "status") {
      st.playing = m.playing;
      if (m.playing) st.note = "";
      HG.setIcon($("pg-play"), m.playing ? "pause" : "play");
      showStatus();
    } else if (m.type === "diverged") {
      st.playing = false;
      st.diverged = m;
      HG.setIcon($("pg-play"), "play");
      HG.showBanner(m.message);
      showStatus();
    } else if (m.type === "error") {
      HG.showBanner(m.message);
      HG.markBad($("view-playground"), m.field);
      st.note = "";
      showStatus();
      if (m.fatal) setEnabled(false);
    }
  }

  function onReady(m) {
    HG.hideBanner();
    HG.markBad($("view-playground"), null);
    st.ready = m;
    st.setup = JSON.parse(JSON.stringify(m.setup));           // ours to change; ready keeps what was built
    st.curve = [];
    st.diverged = null;
    syncControls();
    writeHash();
    buildNetwork();
    drawColorLegend();
    var sizes = m.layer_sizes;
    $("pg-info").textContent = "handgrad.MLP(" + JSON.stringify(sizes) + ") · " + m.params + " parameters · batch size " +
      m.batch_size + " (" + m.steps_per_epoch + " steps an epoch) · " + m.train.length + " training / " + m.test.length + " test points · " +
      (m.task === "regression" ? "squared error" : HG.labelOf(st.options.losses, m.setup.loss));
    $("pg-code").hidden = true;
    $("pg-weight-edit").hidden = true;
    showStatus();
  }

  function onFrame(f) {
    st.frame = f;
    f.curve.forEach(function (p) { st.curve.push(p); });
    if (st.curve.length > 4000) st.curve = st.curve.filter(function (_, i) { return i % 2 === 0; });
    st.now = f.now;
    draw();
    showStatus();
    if (f.seq !== undefined) HG.send({type: "ack", seq: f.seq});     // drawn: the next one may come
  }

  /* The line under the controls: playing or paused, and whether training is going well. */
  function showStatus() {
    var state = $("pg-state"), health = $("pg-health"), h = null;
    if (st.diverged) {
      state.textContent = "diverged"; state.className = "pill bad";
      health.textContent = "diverged at step " + st.diverged.step + ": " + st.diverged.reason + ". The picture shows the last good weights; lower the learning rate and press reset.";
      return;
    }
    state.textContent = st.playing ? "training" : "paused";
    state.className = "pill" + (st.playing ? " on" : "");
    if (st.ready) h = HG.health(st.curve, st.ready.task === "classification" ? 3 : undefined, st.ready.classes);
    if (h) { state.textContent = h.word; state.className = "pill warn"; }
    health.textContent = h ? h.text : st.note;
  }

  /* --- drawing ---------------------------------------------------------------------------- */

  function draw() {
    var f = st.frame, r = st.ready;
    if (!f || !r) return;
    $("pg-epoch").textContent = HG.pad6(f.epoch);
    $("pg-step-count").textContent = "step " + f.step + " · epoch " + HG.fmt(f.now[0], 2);
    $("pg-test-loss").textContent = HG.fmt(f.test_loss);
    $("pg-train-loss").textContent = HG.fmt(f.train_loss);
    $("pg-test-acc").textContent = f.test_accuracy === null ? "" : "accuracy " + HG.fmt(100 * f.test_accuracy, 1) + "%";
    $("pg-train-acc").textContent = f.train_accuracy === null ? "" : "accuracy " + HG.fmt(100 * f.train_accuracy, 1) + "%";
    drawOutput();
    var pts = st.curve.concat(st.now ? [st.now] : []);
    var xs = pts.map(function (p) { return p[0]; });
    HG.lineChart($("pg-curve"), [                      // training drawn last: dashed, on top
      {values: pts.map(function (p) { return p[2]; }), xs: xs, color: HG.TEST_COLOR, width: 2},
      {values: pts.map(function (p) { return p[1]; }), xs: xs, color: HG.TRAIN_COLOR, width: 1.5, dash: [5, 3]},
    ], {xlabel: "epoch", ylabel: "loss"});
    drawNeurons(f);
  }

  /* The big picture: the output, or the neuron under the mouse (as the TensorFlow Playground). */
  function drawOutput() {
    var f = st.frame, r = st.ready, canvas = $("pg-output"), label = $("pg-output-label");
    if (!f || !r) return;
    var discrete = $("pg-discrete").checked;
    if (st.hover && r.task === "classification") {
      var pic = st.hover.layer === 0 ? r.feature_pictures : f.neurons[st.hover.layer - 1];
      var unit = st.hover.layer === 0 ? r.feature_pictures.names.indexOf(st.hover.name) : st.hover.unit;
      if (pic && unit >= 0) {
        HG.paintUnit(canvas, pic, unit, undefined, discrete);
        HG.drawPoints(canvas, r.train);
        label.textContent = st.hover.text;
        label.hidden = false;
        return;
      }
    }
    label.hidden = true;
    if (f.output.kind === "grid") {
      HG.drawBoundary(canvas, f.output, discrete);
      HG.drawPoints(canvas, r.train);
      if ($("pg-show-test").checked) HG.drawPoints(canvas, r.test, {test: true});
    } else {
      drawRegression(canvas, f.output, r);
    }
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

  /* The colours' meaning: each class (with its name) and the neurons' −1 … +1 scale. */
  function drawColorLegend() {
    var box = $("pg-colors"), r = st.ready, html = "";
    if (r.task === "classification") {
      html += '<div class="classes">';
      r.class_names.forEach(function (name, k) {
        html += '<span class="swatch" style="background:' + HG.rgb(HG.CLASS_COLORS[k % HG.CLASS_COLORS.length]) +
          '"></span><span class="cname">' + HG.escape(name) + "</span>";
      });
      html += '</div><div class="hint">Colour: the class the network predicts, paler where it is unsure.</div>';
    } else {
      html += '<div class="hint">Dots: the data; blue line: the network\'s fitted curve.</div>';
    }
    html += '<div class="scale"><span>−1</span><span class="bar"></span><span>0</span><span class="bar pos"></span><span>+1</span>' +
      '<span class="hint"> a neuron\'s output, each scaled by its largest |value|</span></div>';
    box.innerHTML = html;
  }

  function drawNeurons(f) {
    var discrete = $("pg-discrete").checked;
    f.neurons.forEach(function (pic, l) {
      var bytes = HG.bytes(pic.data);
      pic.scales.forEach(function (_, j) {
        var c = document.querySelector('#pg-network canvas[data-layer="' + (l + 1) + '"][data-unit="' + j + '"]');
        if (c) HG.paintUnit(c, pic, j, bytes, discrete);
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

  function addNode(x, y, layer, unit, cls, tipFn, hover) {
    var div = document.createElement("div");
    div.className = "node " + (cls || "");
    div.style.left = x + "px"; div.style.top = y + "px";
    var c = document.createElement("canvas");
    c.width = 38; c.height = 38;
    c.dataset.layer = layer; c.dataset.unit = unit;
    div.appendChild(c);
    div.addEventListener("mouseenter", function (e) {
      HG.showTip(e, tipFn());
      if (hover) { st.hover = hover; drawOutput(); }
    });
    div.addEventListener("mousemove", HG.moveTip);
    div.addEventListener("mouseleave", function () {
      HG.hideTip();
      if (hover) { st.hover = null; drawOutput(); }
    });
    $("pg-network").appendChild(div);
    return div;
  }

  function addLabel(x, y, text, cls) {
    var s = document.createElement("div");
    s.className = "node-label " + (cls || ""); s.style.left = x + "px"; s.style.top = y + "px"; s.textContent = text;
    $("pg-network").appendChild(s);
  }

  function featureNames(r) {
    return r.task === "regression" ? st.options.features_1d : Object.keys(st.options.features);
  }

  function buildNetwork() {
    var net = $("pg-network"), r = st.ready;
    net.querySelectorAll(".node, .node-label, .layer-ctl").forEach(function (el) { el.remove(); });
    var hidden = r.setup.hidden, cols = hidden.length + 2;
    var all = featureNames(r), on = r.features;
    // features: every one shown (its picture from the engine); the chosen ones feed the network
    var fx = columnX(0, cols), fpics = r.feature_pictures, fbytes = HG.bytes(fpics.data);
    all.forEach(function (name, j) {
      var used = on.indexOf(name), pic = fpics.names.indexOf(name), label = st.options.features[name];
      var node = addNode(fx, nodeY(j), 0, used, "feature" + (used < 0 ? " off" : ""), function () {
        return {name: "feature " + label,
          shape: used < 0 ? "not used: click to use it" : "input column " + used + " of (n, " + on.length + ")",
          formula: "max |value| over the plane = " + fpics.scales[pic]};
      }, {layer: 0, name: name, text: "feature " + label});
      node.dataset.feature = name;
      node.addEventListener("click", function () { toggleFeature(name); });
      addLabel(fx - 58, nodeY(j) + 12, label, "feature-name");
      var canvas = node.querySelector("canvas");
      canvas.removeAttribute("data-layer");
      HG.paintUnit(canvas, fpics, pic, fbytes);
    });
    hidden.forEach(function (n, l) {
      var x = columnX(l + 1, cols);
      for (var j = 0; j < n; j++) {
        (function (l, j) {
          addNode(x, nodeY(j), l + 1, j, "", function () { return neuronTip(l, j); },
            {layer: l + 1, unit: j, text: "hidden layer " + (l + 1) + ", neuron " + j + " (the mouse is on it)"});
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
    var K = r.layer_sizes[r.layer_sizes.length - 1], ox = columnX(cols - 1, cols);
    for (var k = 0; k < K; k++) {
      (function (k) {
        addNode(ox, nodeY(k), cols - 1, k, "", function () {
          return r.task === "regression"
            ? {name: "output", shape: "(n, 1)", formula: "the fitted value ŷ along x (linear output, squared error)"}
            : {name: "output " + k + " (" + r.class_names[k] + ")", shape: "p[:, " + k + "] of (n, " + K + ")", formula: "probability of class " + k + " (softmax)"};
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
      formula: "a = " + HG.labelOf(st.options.activations, st.ready.setup.activation) + "(Σ_i W[" + j + ", i]·in_i + b[" + j + "])",
      numbers: "b = " + HG.num(b) + ";  W[" + j + ", :] = [" + row.map(function (v) { return HG.num(v, 3); }).join(", ") + "]" +
        ";  max |a| over the plane = " + f.neurons[l].scales[j]};
  }

  function drawLinks(weights) {
    var svg = $("pg-links"), r = st.ready;
    svg.innerHTML = "";
    var hidden = r.setup.hidden, cols = hidden.length + 2;
    var all = featureNames(r);
    var srcY = r.features.map(function (name) { return nodeY(all.indexOf(name)); });
    weights.forEach(function (w, l) {
      var x0 = columnX(l, cols) + NODE, x1 = columnX(l + 1, cols);
      var maxAbs = 0;
      w.W.forEach(function (row) { row.forEach(function (v) { maxAbs = Math.max(maxAbs, Math.abs(v)); }); });
      w.W.forEach(function (row, j) {
        row.forEach(function (v, i) {
          var y0 = (l === 0 ? srcY[i] : nodeY(i)) + NODE / 2, y1 = nodeY(j) + NODE / 2, mx = (x0 + x1) / 2;
          var d = "M" + x0 + "," + y0 + " C" + mx + "," + y0 + " " + mx + "," + y1 + " " + x1 + "," + y1;
          HG.svg("path", {d: d, fill: "none", stroke: HG.rgb(v >= 0 ? HG.POS : HG.NEG, 0.75),
            "stroke-width": Math.max(0.4, Math.min(7, 7 * Math.abs(v) / Math.max(maxAbs, 1e-9)))}, svg);
          var hit = HG.svg("path", {d: d, class: "link-hit", "data-link": l + "_" + j + "_" + i}, svg);
          var name = "W" + (l + 1) + "[" + j + ", " + i + "]";
          hit.addEventListener("mouseenter", function (e) {
            HG.showTip(e, {name: name, shape: "of (" + w.W.length + ", " + row.length + ") = (d_out, d_in)",
              numbers: "= " + HG.num(v) + "   (click to set it)"});
          });
          hit.addEventListener("mousemove", HG.moveTip);
          hit.addEventListener("mouseleave", HG.hideTip);
          hit.addEventListener("click", function (e) { editWeight(l, j, i, v, name, e); });
        });
      });
    });
  }

  /* Click a weight: a small box to type its new value (as the TensorFlow Playground). */
  function editWeight(l, j, i, v, name, event) {
    var box = $("pg-weight-edit"), col = box.parentNode.getBoundingClientRect();
    box.hidden = false;
    box.style.left = Math.max(0, event.clientX - col.left - 40) + "px";
    box.style.top = (event.clientY - col.top + 12) + "px";
    $("pg-weight-name").textContent = name + " =";
    var input = $("pg-weight-value");
    input.value = HG.fmt(v, 4);
    box.dataset.target = JSON.stringify([l, j, i]);
    input.focus();
    input.select();
  }

  function setWeight() {
    var box = $("pg-weight-edit"), t = JSON.parse(box.dataset.target || "null");
    if (!t) return;
    box.hidden = true;
    send({type: "set_weight", layer: t[0], row: t[1], col: t[2], value: $("pg-weight-value").value});
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
    st.options.datasets.forEach(function (d) {
      if (d.name === "csv") return;
      var b = document.createElement("button");
      b.dataset.name = d.name; b.title = d.label;
      var c = document.createElement("canvas"); c.width = 56; c.height = 56;
      var lab = document.createElement("span"); lab.textContent = d.label;
      b.appendChild(c); b.appendChild(lab);
      b.addEventListener("click", function () {
        var s = st.setup;
        if (d.task === "regression") s.features = ["x"];
        else if (dataset(s.dataset).task !== "classification") s.features = ["x", "y"];
        change("dataset", d.name);
      });
      box.appendChild(b);
    });
    var thumbs = HG.STATIC ? Promise.resolve(HG.local.thumbnails()) : HG.api("api/thumbnails");
    thumbs.then(function (all) {
      Object.keys(all).forEach(function (name) {
        var c = box.querySelector('button[data-name="' + name + '"] canvas');
        if (!c) return;
        var ctx = c.getContext("2d"), t = all[name];
        ctx.fillStyle = "#f4f4f4"; ctx.fillRect(0, 0, 56, 56);
        t.forEach(function (p) {
          ctx.fillStyle = p.length === 3 ? HG.rgb(HG.CLASS_COLORS[p[2] % 6]) : HG.rgb(HG.POS);
          ctx.fillRect((p[0] + 1) / 2 * 54, (1 - p[1]) / 2 * 54, 2.5, 2.5);
        });
      });
    }).catch(function () {});
  }

  var built = false;
  function buildControls() {
    if (built) return;
    built = true;
    var o = st.options;
    HG.fillSelect($("pg-activation"), o.activations);
    HG.fillSelect($("pg-optimizer"), o.optimizers);
    HG.fillSelect($("pg-norm"), o.norms);
    HG.fillSelect($("pg-loss"), o.losses);
    HG.fillSpeed($("pg-speed"), o);
    $("pg-classes").max = o.max_classes;
    $("pg-points").max = o.max_points;
    datasetButtons();
    FIELDS.forEach(function (k) {
      $("pg-" + k).addEventListener("change", function (e) { change(k, e.target.value); });
    });
    SLIDERS.forEach(function (k) {
      var el = $("pg-" + k);
      el.addEventListener("input", function () {
        var v = el.value;
        $("pg-" + k + "-out").textContent = k === "train" || k === "noise" ? Math.round(v * 100) + "%" : v;
      });
      el.addEventListener("change", function () { change(k, Number(el.value)); });
    });
    $("pg-speed").addEventListener("change", function () {
      st.speed = Number($("pg-speed").value);
      send({type: "speed", steps: st.speed});
      writeHash();
    });
    $("pg-dice").addEventListener("click", function () { change("seed", Math.floor(Math.random() * 100000)); });
    $("pg-play").addEventListener("click", function () { send({type: st.playing ? "pause" : "play"}); });
    $("pg-step").addEventListener("click", function () { send({type: "step"}); });
    $("pg-reset").addEventListener("click", function () {
      HG.hideBanner();
      st.note = "Reset: fresh weights from seed " + st.setup.seed + ".";
      send({type: "reset"});
    });
    $("pg-add-layer").addEventListener("click", function () { changeLayers(1); });
    $("pg-remove-layer").addEventListener("click", function () { changeLayers(-1); });
    $("pg-show-test").addEventListener("change", draw);
    $("pg-discrete").addEventListener("change", draw);
    $("pg-csv").addEventListener("change", uploadCsv);
    $("pg-show-code").addEventListener("click", showCode);
    $("pg-weight-set").addEventListener("click", setWeight);
    $("pg-weight-value").addEventListener("keydown", function (e) {
      if (e.key === "Enter") setWeight();
      if (e.key === "Escape") $("pg-weight-edit").hidden = true;
    });
    if (HG.STATIC) {
      $("pg-download").removeAttribute("href");
      $("pg-download").addEventListener("click", function (e) { e.preventDefault(); HG.local.downloadCheckpoint(); });
    }
  }

  function csvLoaded(name, d) {
    st.setup.features = d.task === "regression" ? ["x"] : ["x", "y"];
    $("pg-csv-info").textContent = name + ": " + d.rows + " rows, " +
      (d.task === "regression" ? "a curve to fit" : d.classes + " classes (" + d.class_names.join(", ") + ")");
    change("dataset", "csv");
  }

  function uploadCsv(e) {
    var file = e.target.files[0];
    if (!file) return;
    var done = function () { e.target.value = ""; };
    var fail = function (err) { HG.showBanner(file.name + ": " + err.message); HG.markBad($("view-playground"), null); };
    if (HG.STATIC) {
      file.text().then(function (text) { csvLoaded(file.name, HG.local.csv(text)); }).catch(fail).then(done);
      return;
    }
    var form = new FormData();
    form.append("file", file);
    fetch("api/session/" + HG.sid + "/csv", {method: "POST", body: form})
      .then(function (r) { return r.json().then(function (d) { if (!r.ok) throw new Error(d.message); return d; }); })
      .then(function (d) { csvLoaded(file.name, d); })
      .catch(fail).then(done);
  }

  function showCode() {
    var pre = $("pg-code");
    if (!pre.hidden) { pre.hidden = true; return; }
    var text = HG.STATIC ? Promise.resolve(HG.local.snippet()) :
      fetch("api/session/" + HG.sid + "/snippet").then(function (r) { return r.text(); });
    text.then(function (t) { pre.textContent = t; pre.hidden = false; });
  }

  function start() {
    buildControls();
    st.setup = fromHash(st.options.defaults);
    if (st.speed === null) st.speed = st.options.speed;
    syncControls();
    HG.connect();
    send({type: "speed", steps: st.speed});
    send({type: "setup", setup: st.setup});
    if (!HG.STATIC) {
      var wait = setInterval(function () {
        if (HG.sid) { $("pg-download").href = "api/session/" + HG.sid + "/checkpoint"; clearInterval(wait); }
      }, 100);
    }
  }

  HG.views.playground = {
    open: function () {
      if (!st.started) {
        st.started = true;
        HG.options().then(function (o) { st.options = o; start(); })
          .catch(function (e) { HG.showBanner(e.message); });
      } else if (st.setup) { writeHash(); }
    },
    close: function () {
      st.hover = null;
      if (st.playing) send({type: "pause"});
    },
    fromHash: function () {
      if (!st.options) return;
      st.setup = fromHash(st.options.defaults);
      syncControls();
      send({type: "setup", setup: st.setup});
    },
    onMessage: onMessage,
    state: st,
  };
})();
