/* View 2: the optimizer race. The server trains SGD, momentum and Adam from the same start
 * and records their boundaries; this view scrubs through them with a slider. */
"use strict";

(function () {
  var $ = HG.$;
  var KEYS = ["dataset", "classes", "noise", "hidden", "activation", "epochs", "batch", "lr_sgd",
    "lr_momentum", "lr_adam", "seed"];
  var st = {options: null, result: null, index: 0, timer: null, built: false};

  function optionsReady() {
    if (HG.STATIC) return Promise.resolve(HG.STATIC.options);
    return HG.api("api/options");
  }

  function settingsFromHash(defaults) {
    var h = HG.readHash(), s = {};
    KEYS.forEach(function (k) { s[k] = h[k] !== undefined && h.view === "race" ? h[k] : defaults[k]; });
    if (Array.isArray(s.hidden)) s.hidden = s.hidden.join(",");
    return s;
  }

  function readControls() {
    var s = {};
    KEYS.forEach(function (k) { s[k] = $("race-" + k).value; });
    return s;
  }

  function build(options) {
    if (st.built) return;
    st.built = true;
    st.options = options;
    var datasets = HG.STATIC ? Object.keys(HG.STATIC.race) : options.datasets.filter(function (d) { return d !== "sine" && d !== "csv"; });
    HG.fillSelect($("race-dataset"), datasets);
    HG.fillSelect($("race-activation"), options.activations);
    var s = settingsFromHash(options.race_defaults);
    if (datasets.indexOf(s.dataset) < 0) s.dataset = datasets[0];
    KEYS.forEach(function (k) { $("race-" + k).value = s[k]; });
    if (HG.STATIC) {
      document.querySelectorAll("#race-controls .live-only").forEach(function (el) { el.hidden = true; });
      $("race-run").hidden = true;
      $("race-dataset").addEventListener("change", run);
    }
    $("race-run").addEventListener("click", run);
    $("race-slider").addEventListener("input", function () { show(+$("race-slider").value); });
    $("race-play").addEventListener("click", togglePlay);
  }

  function run() {
    stop();
    HG.hideBanner();
    HG.markBad($("race-controls"), null);
    if (HG.STATIC) { onResult(HG.STATIC.race[$("race-dataset").value]); return; }
    var s = readControls();
    $("race-run").disabled = true;
    $("race-run").textContent = "Racing…";
    HG.api("api/race", s).then(onResult).catch(function (e) {
      HG.showBanner(e.message);
      HG.markBad($("race-controls"), e.field);
    }).then(function () {
      $("race-run").disabled = false;
      $("race-run").textContent = "Run the race";
    });
  }

  function onResult(r) {
    st.result = r;
    var values = {view: "race"};
    KEYS.forEach(function (k) { values[k] = r.settings[k]; });
    values.t = null;
    HG.writeHash(values);
    var boards = $("race-boards");
    boards.innerHTML = "";
    r.runs.forEach(function (run) {
      var div = document.createElement("div");
      div.className = "racer"; div.dataset.name = run.name;
      div.innerHTML = '<h4 style="color:' + HG.RUNNER_COLORS[run.name] + '">' + HG.escape(run.label) +
        '</h4><div class="hint mono">' + HG.escape(run.optimizer) + '</div><canvas width="280" height="280"></canvas>' +
        '<div class="stat"></div>';
      boards.appendChild(div);
    });
    var slider = $("race-slider");
    slider.max = r.snapshot_epochs.length - 1;
    var t = Number(HG.readHash().t);
    show(isFinite(t) && t >= 0 && t < r.snapshot_epochs.length ? t : r.snapshot_epochs.length - 1);
  }

  function show(index) {
    var r = st.result;
    if (!r) return;
    st.index = index;
    $("race-slider").value = index;
    var epoch = r.snapshot_epochs[index];
    $("race-epoch").textContent = "epoch " + epoch + " of " + r.epochs;
    r.runs.forEach(function (run) {
      var div = document.querySelector('.racer[data-name="' + run.name + '"]');
      var canvas = div.querySelector("canvas");
      HG.drawBoundary(canvas, {size: r.grid, classes: r.classes, probs: run.frames[index]});
      HG.drawPoints(canvas, r.train, {radius: 2.6});
      var stat = div.querySelector(".stat");
      var dead = run.diverged && epoch >= run.diverged.epoch;
      var last = Math.min(epoch, run.test_loss.length - 1);
      stat.className = "stat" + (dead ? " bad" : "");
      stat.textContent = dead ? "diverged at step " + run.diverged.step + " (last good picture shown)"
        : "test loss " + HG.fmt(run.test_loss[last]) + " · accuracy " + HG.fmt(100 * run.test_accuracy[last], 1) + "%";
      div.dataset.loss = run.test_loss[last];
    });
    var series = [];
    r.runs.forEach(function (run) {
      series.push({values: run.train_loss, color: HG.RUNNER_COLORS[run.name], width: 1, dash: [4, 3]});
      series.push({values: run.test_loss, color: HG.RUNNER_COLORS[run.name], width: 2});
    });
    HG.lineChart($("race-curve"), series, {axes: true, marker: epoch, xlabel: "epoch",
      ymax: Math.max.apply(null, r.runs.map(function (x) { return x.test_loss[0] || 1; })) * 1.5});
    var ctx = $("race-curve").getContext("2d");
    ctx.font = "12px sans-serif";
    r.runs.forEach(function (run, i) {
      ctx.fillStyle = HG.RUNNER_COLORS[run.name];
      ctx.fillText("— " + run.label + " (lr " + run.lr + ")", 640, 20 + 16 * i);
    });
    ctx.fillStyle = "#777";
    ctx.fillText("solid: test loss, dashed: training loss", 640, 20 + 16 * 3);
    var h = HG.readHash();
    if (h.view === "race") { h.t = index; HG.writeHash(h); }
  }

  function togglePlay() {
    if (st.timer) { stop(); return; }
    if (!st.result) return;
    if (st.index >= st.result.snapshot_epochs.length - 1) show(0);
    HG.setIcon($("race-play"), "pause");
    st.timer = setInterval(function () {
      if (st.index >= st.result.snapshot_epochs.length - 1) { stop(); return; }
      show(st.index + 1);
    }, 120);
  }

  function stop() {
    clearInterval(st.timer);
    st.timer = null;
    HG.setIcon($("race-play"), "play");
  }

  HG.views.race = {
    open: function () {
      optionsReady().then(function (o) {
        build(o);
        if (!st.result) run();
        else show(st.index);
      }).catch(function (e) { HG.showBanner(e.message); });
    },
    close: stop,
    fromHash: function () {
      if (!st.options) return;
      var s = settingsFromHash(st.options.race_defaults);
      KEYS.forEach(function (k) { $("race-" + k).value = s[k]; });
      run();
    },
    state: st,
  };
})();
