/* View 3: backprop, step by step, through handgrad's MLP([2, 4, 3], ["relu", "softmax"]).
 * Every value and every hover formula comes from the server's run of handgrad. */
"use strict";

(function () {
  var $ = HG.$;
  var COLS = {in: 100, h: 340, o: 580, loss: 700};
  var Y = {in: [150, 260], h: [70, 160, 250, 340], o: [115, 205, 295], loss: [205]};
  var R = 25;
  var st = {data: null, stage: 0, timer: null, built: false, query: null};

  function nodes() {
    var out = [];
    Y.in.forEach(function (y, i) { out.push({id: "in" + i, x: COLS.in, y: y, name: "x[" + i + "]"}); });
    Y.h.forEach(function (y, j) { out.push({id: "h" + j, x: COLS.h, y: y, name: "hidden " + j}); });
    Y.o.forEach(function (y, k) { out.push({id: "o" + k, x: COLS.o, y: y, name: "output " + k}); });
    out.push({id: "loss", x: COLS.loss, y: Y.loss[0], name: "loss"});
    return out;
  }

  function edges() {
    var out = [];
    for (var j = 0; j < 4; j++) for (var i = 0; i < 2; i++)
      out.push({id: "w1_" + j + "_" + i, x0: COLS.in, y0: Y.in[i], x1: COLS.h, y1: Y.h[j]});
    for (var k = 0; k < 3; k++) for (j = 0; j < 4; j++)
      out.push({id: "w2_" + k + "_" + j, x0: COLS.h, y0: Y.h[j], x1: COLS.o, y1: Y.o[k]});
    for (k = 0; k < 3; k++) out.push({id: "to_loss_" + k, x0: COLS.o, y0: Y.o[k], x1: COLS.loss, y1: Y.loss[0], plain: true});
    return out;
  }

  /* The info an item (node or edge) has at the current stage: from the latest stage that set it. */
  function infoAt(id) {
    if (!st.data) return null;
    for (var s = st.stage; s >= 0; s--) {
      var items = st.data.stages[s].items;
      if (items[id]) return {info: items[id], stage: s};
    }
    return null;
  }

  function drawSvg() {
    var svg = $("bp-svg");
    svg.innerHTML = "";
    var titles = [[COLS.in, "x  (1, 2)"], [COLS.h, "z1 → a1  (1, 4)"], [COLS.o, "z2 → p  (1, 3)"], [COLS.loss, "L"]];
    titles.forEach(function (t) { HG.svg("text", {x: t[0], y: 24, "text-anchor": "middle", class: "shape-label"}, svg).textContent = t[1]; });
    HG.svg("text", {x: (COLS.in + COLS.h) / 2, y: 392, "text-anchor": "middle", class: "shape-label"}, svg).textContent = "W1 (4, 2), b1 (4,)";
    HG.svg("text", {x: (COLS.h + COLS.o) / 2, y: 392, "text-anchor": "middle", class: "shape-label"}, svg).textContent = "W2 (3, 4), b2 (3,)";
    var maxAbs = {};
    edges().forEach(function (e) {
      var got = infoAt(e.id), layer = e.id.slice(0, 2);
      if (got) maxAbs[layer] = Math.max(maxAbs[layer] || 1e-9, Math.abs(got.info.value));
    });
    edges().forEach(function (e) {
      var got = e.plain ? null : infoAt(e.id), layer = e.id.slice(0, 2);
      var attrs = {x1: e.x0 + R, y1: e.y0, x2: e.x1 - R, y2: e.y1, class: "edge"};
      if (got) {
        var v = got.info.value, fresh = got.stage === st.stage;
        attrs.style = "stroke:" + HG.rgb(v >= 0 ? HG.POS : HG.NEG, fresh ? 0.95 : 0.55) +
          ";stroke-width:" + Math.max(0.6, 5 * Math.abs(v) / maxAbs[layer]);
      }
      HG.svg("line", attrs, svg);
      if (!e.plain) {
        var hit = HG.svg("line", {x1: e.x0 + R, y1: e.y0, x2: e.x1 - R, y2: e.y1, class: "edge-hit", "data-edge": e.id}, svg);
        hover(hit, e.id, "the weight " + e.id);
      }
    });
    nodes().forEach(function (n) {
      var got = infoAt(n.id);
      var g = HG.svg("g", {class: "unit" + (got && got.stage === st.stage ? " lit fresh" : ""), "data-node": n.id}, svg);
      HG.svg("circle", {cx: n.x, cy: n.y, r: R}, g);
      HG.svg("text", {x: n.x, y: n.y - R - 6, "text-anchor": "middle", class: "name"}, g).textContent = got ? got.info.name : n.name;
      HG.svg("text", {x: n.x, y: n.y + 4, "text-anchor": "middle", class: "val"}, g).textContent = got ? got.info.text : "";
      hover(g, n.id, n.name);
    });
  }

  function hover(el, id, fallback) {
    el.addEventListener("mouseenter", function (e) {
      var got = infoAt(id);
      if (!got) { HG.showTip(e, {name: fallback, formula: "not computed yet at this stage"}); return; }
      var i = got.info;
      HG.showTip(e, {name: i.name, shape: i.shape, formula: i.formula, numbers: i.numbers});
    });
    el.addEventListener("mousemove", HG.moveTip);
    el.addEventListener("mouseleave", HG.hideTip);
  }

  function show(stage) {
    if (!st.data) return;
    st.stage = Math.max(0, Math.min(stage, st.data.stages.length - 1));
    var s = st.data.stages[st.stage];
    $("bp-stage-title").textContent = "Stage " + (st.stage + 1) + " of " + st.data.stages.length + " · " + s.pass + " · " + s.title;
    $("bp-formula").textContent = s.formula;
    $("bp-source").textContent = "handgrad: " + s.source;
    var list = $("bp-stages");
    list.querySelectorAll("li").forEach(function (li, i) {
      li.className = i === st.stage ? "current" : i < st.stage ? "done" : "todo";
    });
    drawSvg();
    var h = HG.readHash();
    if (h.view === "backprop") { h.stage = st.stage; HG.writeHash(h); }
  }

  function onData(d) {
    st.data = d;
    var list = $("bp-stages");
    list.innerHTML = "";
    d.stages.forEach(function (s, i) {
      var li = document.createElement("li");
      li.innerHTML = HG.escape(s.title) + '<span class="pass">' + s.pass + '</span><span class="sub">' +
        HG.escape(s.formula) + "</span>";
      li.addEventListener("click", function () { stop(); show(i); });
      list.appendChild(li);
    });
    document.querySelectorAll("#bp-presets button").forEach(function (b) {
      b.classList.toggle("active", b.dataset.preset === d.preset);
    });
    $("bp-x1").value = +d.x[0].toFixed(4); $("bp-x2").value = +d.x[1].toFixed(4); $("bp-label").value = d.label; $("bp-seed").value = d.seed;
    var h = HG.readHash(), values = {view: "backprop"};
    if (d.preset) values.preset = d.preset; else { values.x1 = +d.x[0].toFixed(4); values.x2 = +d.x[1].toFixed(4); values.label = d.label; values.seed = d.seed; }
    values.stage = h.view === "backprop" && h.stage !== undefined ? h.stage : 0;
    HG.writeHash(values);
    show(Number(values.stage) || 0);
  }

  function load(query) {
    stop();
    HG.markBad($("bp-controls"), null);
    if (HG.STATIC) { onData(HG.STATIC.backprop[query.preset || "a"]); return; }
    var params = new URLSearchParams(query).toString();
    HG.api("api/backprop?" + params).then(function (d) { HG.hideBanner(); onData(d); }).catch(function (e) {
      HG.showBanner(e.message);
      HG.markBad($("bp-controls"), e.field);
    });
  }

  function play() {
    if (st.timer) { stop(); return; }
    if (st.stage >= st.data.stages.length - 1) show(0);
    HG.setIcon($("bp-play"), "pause");
    st.timer = setInterval(function () {
      if (st.stage >= st.data.stages.length - 1) { stop(); return; }
      show(st.stage + 1);
    }, 1100);
  }

  function stop() {
    clearInterval(st.timer);
    st.timer = null;
    HG.setIcon($("bp-play"), "play");
  }

  function build(options) {
    if (st.built) return;
    st.built = true;
    var box = $("bp-presets");
    Object.keys(options.backprop_presets).forEach(function (name) {
      var p = options.backprop_presets[name], b = document.createElement("button");
      b.className = "small"; b.dataset.preset = name;
      b.textContent = name.toUpperCase();
      b.title = "x = (" + p.x1 + ", " + p.x2 + "), y = " + p.label;
      b.addEventListener("click", function () { HG.writeHash({view: "backprop", preset: name, stage: 0}); load({preset: name}); });
      box.appendChild(b);
    });
    if (HG.STATIC) document.querySelectorAll("#bp-controls .live-only").forEach(function (el) { el.hidden = true; });
    $("bp-custom").addEventListener("click", function () {
      HG.writeHash({view: "backprop", stage: 0});
      load({x1: $("bp-x1").value, x2: $("bp-x2").value, label: $("bp-label").value, seed: $("bp-seed").value});
    });
    $("bp-first").addEventListener("click", function () { stop(); show(0); });
    $("bp-prev").addEventListener("click", function () { stop(); show(st.stage - 1); });
    $("bp-next").addEventListener("click", function () { stop(); show(st.stage + 1); });
    $("bp-play").addEventListener("click", play);
  }

  function loadFromHash() {
    var h = HG.readHash(), q = {};
    if (h.view === "backprop" && h.x1 !== undefined && !HG.STATIC) {
      ["x1", "x2", "label", "seed"].forEach(function (k) { if (h[k] !== undefined) q[k] = h[k]; });
    } else q.preset = h.view === "backprop" && h.preset ? h.preset : "a";
    load(q);
  }

  HG.views.backprop = {
    open: function () {
      var ready = HG.STATIC ? Promise.resolve(HG.STATIC.options) : HG.api("api/options");
      ready.then(function (o) {
        build(o);
        if (st.data) { show(st.stage); return; }
        loadFromHash();
      }).catch(function (e) { HG.showBanner(e.message); });
    },
    close: stop,
    fromHash: function () { if (st.built) loadFromHash(); },
    state: st,
  };
})();
