/* View 2: the optimizer race. The engine trains the same network from the same start with
 * each chosen optimizer, a few mini-batches per frame; this view draws each racer's boundary,
 * keeps what it drew so the slider can scrub back, and plots the losses. */
"use strict";

(function () {
  var $ = HG.$;
  var VIEW = "race";
  var KEYS = ["dataset", "classes", "noise", "hidden", "activation", "batch_size", "epochs", "seed"];
  var MAX_SNAPSHOTS = 300;
  var st = {options: null, ready: null, frame: null, curves: [], snapshots: [], index: 0,
            playing: false, follow: true, speed: null, built: false, started: false};

  function send(msg) { msg.view = VIEW; HG.send(msg); }
  function dataset(name) {
    return st.options.datasets.filter(function (d) { return d.name === name; })[0] || {};
  }
  function classificationSets() {
    return st.options.datasets.filter(function (d) { return d.task === "classification"; });
  }

  /* --- settings <-> controls <-> URL ---------------------------------------------------- */

  function settingsFromHash() {
    var defaults = st.options.race_defaults, h = HG.renameOld(HG.readHash(), st.options.aliases), s = {};
    var mine = h.view === VIEW;
    Object.keys(defaults).forEach(function (k) { s[k] = mine && h[k] !== undefined ? h[k] : defaults[k]; });
    if (typeof s.optimizers === "string") s.optimizers = s.optimizers.split(",").filter(function (v) { return v; });
    if (Array.isArray(s.hidden)) s.hidden = s.hidden.join(",");
    if (mine && h.speed && st.options.speeds.indexOf(Number(h.speed)) >= 0) st.speed = Number(h.speed);
    return s;
  }

  function showSettings(s) {
    KEYS.forEach(function (k) { $("race-" + k).value = Array.isArray(s[k]) ? s[k].join(",") : s[k]; });
    st.options.optimizers.forEach(function (o) {
      $("race-use-" + o.name).checked = s.optimizers.indexOf(o.name) >= 0;
      $("race-lr_" + o.name).value = s["lr_" + o.name];
    });
    $("race-classes-field").hidden = !dataset(s.dataset).classes;
  }

  function readControls() {
    var s = {};
    KEYS.forEach(function (k) { s[k] = $("race-" + k).value; });
    s.optimizers = st.options.optimizers.filter(function (o) { return $("race-use-" + o.name).checked; })
      .map(function (o) { return o.name; });
    st.options.optimizers.forEach(function (o) { s["lr_" + o.name] = $("race-lr_" + o.name).value; });
    return s;
  }

  function writeHash() {
    var s = st.ready.setup, values = {view: VIEW};
    Object.keys(st.options.race_defaults).forEach(function (k) { values[k] = s[k]; });
    values.speed = st.speed;
    HG.writeHash(values);
  }

  function build() {
    if (st.built) return;
    st.built = true;
    var o = st.options;
    HG.fillSelect($("race-dataset"), classificationSets());
    HG.fillSelect($("race-activation"), o.activations);
    HG.fillSpeed($("race-speed"), o);
    var box = $("race-optimizers");
    o.optimizers.forEach(function (opt) {
      var label = document.createElement("label");
      label.className = "racer-pick";
      label.innerHTML = '<input type="checkbox" id="race-use-' + opt.name + '"> ' + HG.escape(opt.label) +
        ' <input id="race-lr_' + opt.name + '" name="lr_' + opt.name + '" size="5" title="learning rate">';
      box.appendChild(label);
    });
    $("race-dataset").addEventListener("change", function () {
      $("race-classes-field").hidden = !dataset($("race-dataset").value).classes;
    });
    $("race-apply").addEventListener("click", function () { setup(readControls()); });
    $("race-play").addEventListener("click", function () {
      if (!st.playing && st.frame && st.frame.finished) { send({type: "reset"}); }
      send({type: st.playing ? "pause" : "play"});
      st.follow = true;
    });
    $("race-step").addEventListener("click", function () { st.follow = true; send({type: "step"}); });
    $("race-reset").addEventListener("click", function () { HG.hideBanner(); send({type: "reset"}); });
    $("race-speed").addEventListener("change", function () {
      st.speed = Number($("race-speed").value);
      send({type: "speed", steps: st.speed});
      if (st.ready) writeHash();
    });
    $("race-slider").addEventListener("input", function () {
      if (st.playing) send({type: "pause"});
      st.follow = false;
      show(+$("race-slider").value);
    });
  }

  function setup(settings) {
    HG.hideBanner();
    HG.markBad($("race-controls"), null);
    send({type: "setup", setup: settings});
  }

  /* --- messages from the engine ----------------------------------------------------------- */

  function onMessage(m) {
    if (m.type === "ready") onReady(m);
    else if (m.type === "frame") onFrame(m);
    else if (m.type === "status") {
      st.playing = m.playing;
      HG.setIcon($("race-play"), m.playing ? "pause" : "play");
    } else if (m.type === "error") {
      HG.showBanner(m.message);
      HG.markBad($("race-controls"), m.field);
    }
  }

  function onReady(m) {
    HG.hideBanner();
    HG.markBad($("race-controls"), null);
    st.ready = m;
    st.curves = m.racers.map(function () { return []; });
    st.snapshots = [];
    st.follow = true;
    showSettings(m.setup);
    writeHash();
    var boards = $("race-boards");
    boards.innerHTML = "";
    m.racers.forEach(function (r, i) {
      var div = document.createElement("div");
      div.className = "racer"; div.dataset.name = r.name;
      div.innerHTML = '<h4 style="color:' + HG.RUNNER_COLORS[i % 4] + '">' + HG.escape(r.label) + " · lr " + r.lr +
        '</h4><div class="hint mono">' + HG.escape(r.optimizer) + '</div><canvas width="220" height="220"></canvas>' +
        '<div class="stat"></div>';
      boards.appendChild(div);
    });
  }

  function onFrame(f) {
    st.frame = f;
    f.racers.forEach(function (r, i) { r.curve.forEach(function (p) { st.curves[i].push(p); }); });
    st.snapshots.push({epoch: f.epoch, racers: f.racers});
    if (st.snapshots.length > MAX_SNAPSHOTS) {      // keep the first, thin the rest evenly
      st.snapshots = st.snapshots.filter(function (_, i) { return i === 0 || i % 2 === 1; });
    }
    var slider = $("race-slider");
    slider.max = st.snapshots.length - 1;
    if (st.follow) show(st.snapshots.length - 1);
    if (f.seq !== undefined) HG.send({type: "ack", seq: f.seq});
  }

  /* --- drawing ---------------------------------------------------------------------------- */

  function racerHealth(i) {
    return HG.health(st.curves[i], 3, st.ready.classes);
  }

  function show(index) {
    var r = st.ready, snap = st.snapshots[index];
    if (!r || !snap) return;
    st.index = index;
    $("race-slider").value = index;
    var latest = index === st.snapshots.length - 1;
    $("race-epoch").textContent = "epoch " + HG.fmt(snap.epoch, 2) + " of " + r.epochs + (latest ? "" : " (scrubbed back)");
    snap.racers.forEach(function (run, i) {
      var div = document.querySelector('.racer[data-name="' + run.name + '"]');
      if (!div) return;
      var canvas = div.querySelector("canvas");
      HG.drawBoundary(canvas, {size: r.grid, classes: r.classes, probs: run.picture});
      HG.drawPoints(canvas, r.train, {radius: 2.2});
      var stat = div.querySelector(".stat"), h = latest ? racerHealth(i) : null;
      var words = "test loss " + HG.fmt(run.test_loss) + " · accuracy " + HG.fmt(100 * run.test_accuracy, 1) + "%";
      var bad = false;
      if (run.diverged) { words = "diverged at step " + run.diverged.step + " (last good picture shown)"; bad = true; }
      else if (h) { words = h.word + " · " + words; bad = true; }
      stat.className = "stat" + (bad ? " bad" : "");
      stat.textContent = words;
      stat.title = run.diverged ? run.diverged.message : h ? h.text : "";
      div.dataset.loss = run.test_loss;
    });
    drawChart(snap.epoch);
  }

  function drawChart(marker) {
    var r = st.ready, series = [], legend = "";
    r.racers.forEach(function (run, i) {
      var color = HG.RUNNER_COLORS[i % 4], now = st.frame ? st.frame.racers[i] : null;
      var pts = st.curves[i].concat(now && !now.diverged ? [now.now] : []);
      var xs = pts.map(function (p) { return p[0]; }), last = pts.length ? pts[pts.length - 1] : null;
      var dead = now && now.diverged;
      series.push({values: pts.map(function (p) { return p[1]; }), xs: xs, color: color, width: 1, dash: [4, 3]});
      series.push({values: pts.map(function (p) { return p[2]; }), xs: xs, color: color, width: 2,
        end: dead && last ? [last[0], last[2]] : null});
      var h = racerHealth(i);
      legend += '<div><span class="k" style="background:' + color + '"></span>' + HG.escape(run.label) + " (lr " + run.lr + ")" +
        (dead ? ' <b class="bad">diverged</b>' : h ? ' <b class="bad">' + h.word + "</b>" : "") + "</div>";
    });
    HG.lineChart($("race-curve"), series, {xmax: r.epochs, marker: marker, xlabel: "epoch", ylabel: "loss"});
    $("race-legend").innerHTML = legend + '<div class="hint">solid: test loss · dashed: training loss · × where a racer diverged</div>';
  }

  function start() {
    build();
    var s = settingsFromHash();
    if (st.speed === null) st.speed = st.options.speed;
    $("race-speed").value = String(st.speed);
    showSettings(s);
    HG.connect();
    send({type: "speed", steps: st.speed});
    setup(s);
  }

  HG.views.race = {
    open: function () {
      if (!st.started) {
        st.started = true;
        HG.options().then(function (o) { st.options = o; start(); })
          .catch(function (e) { HG.showBanner(e.message); });
      } else if (st.ready) { writeHash(); show(st.index); }
    },
    close: function () { if (st.playing) send({type: "pause"}); },
    fromHash: function () { if (st.options) setup(settingsFromHash()); },
    onMessage: onMessage,
    state: st,
  };
})();
