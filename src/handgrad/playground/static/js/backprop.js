/* View 3: backprop, step by step, through handgrad's MLP([2, 4, 3], ["relu", "softmax"]).
 * The engine sends every array of one forward and backward pass (handgrad's, from the
 * server; the twin's, in a static copy); this file writes the formulas and the hover texts
 * from them in either weight layout: the lesson's x W with W (d_in, d_out), or handgrad's
 * x Wᵀ with W (d_out, d_in). Forward is cyan, backward amber. */
"use strict";

(function () {
  var $ = HG.$;
  var COLS = {in: 100, h: 340, o: 580, loss: 700};
  var Y = {in: [150, 260], h: [70, 160, 250, 340], o: [115, 205, 295], loss: [205]};
  var R = 25;
  var st = {data: null, stage: 0, timer: null, built: false, layout: "lesson", options: null};

  /* --- formulas, in the chosen layout ------------------------------------------------------ */

  function lesson() { return st.layout === "lesson"; }

  /* W[l] as shown: its shape and the name of the weight from unit i (in) to unit j (out). */
  function wShape(l) {
    var dIn = l === 1 ? 2 : 4, dOut = l === 1 ? 4 : 3;
    return lesson() ? "(" + dIn + ", " + dOut + ") = (d_in, d_out)" : "(" + dOut + ", " + dIn + ") = (d_out, d_in)";
  }
  function wName(prefix, l, j, i) { return prefix + l + (lesson() ? "[" + i + "," + j + "]" : "[" + j + "," + i + "]"); }

  function formula(key) {
    var L = lesson();
    return {
      x: "x  (B, 2) = (1, 2)",
      z1: L ? "z1 = x W1 + b1   (1, 2) @ (2, 4) + (4,) → (1, 4)" : "z1 = x W1ᵀ + b1   (1, 2) @ (2, 4) + (4,) → (1, 4),  W1 is (4, 2)",
      a1: "a1 = relu(z1) = max(z1, 0)   (1, 4)",
      z2: L ? "z2 = a1 W2 + b2   (1, 4) @ (4, 3) + (3,) → (1, 3)" : "z2 = a1 W2ᵀ + b2   (1, 4) @ (4, 3) + (3,) → (1, 3),  W2 is (3, 4)",
      p: "p = e^z2 / Σ e^z2   (1, 3)",
      loss: "L = −(1/B) Σ log p[y]   scalar",
      delta2: "δ2 = ∂L/∂z2 = (p − y)/B   (1, 3)",
      dW2: L ? "dW2 = a1ᵀ δ2   (4, 1) @ (1, 3) → (4, 3);   db2 = Σ_batch δ2   (3,)"
        : "dW2 = δ2ᵀ a1   (3, 1) @ (1, 4) → (3, 4);   db2 = Σ_batch δ2   (3,)",
      da1: L ? "∂L/∂a1 = δ2 W2ᵀ   (1, 3) @ (3, 4) → (1, 4)" : "∂L/∂a1 = δ2 W2   (1, 3) @ (3, 4) → (1, 4)",
      delta1: "δ1 = ∂L/∂a1 ⊙ 1[z1 > 0]   (1, 4) ⊙ (1, 4)",
      dW1: L ? "dW1 = xᵀ δ1   (2, 1) @ (1, 4) → (2, 4);   db1 = Σ_batch δ1   (4,)"
        : "dW1 = δ1ᵀ x   (4, 1) @ (1, 2) → (4, 2);   db1 = Σ_batch δ1   (4,)",
    }[key];
  }

  function info(name, shape, f, numbers, value) {
    return {name: name, shape: shape, formula: f, numbers: numbers, value: value, text: HG.num(value)};
  }

  /* What a stage shows: {node or edge id: info}, every number read from the arrays. */
  function stageItems(key) {
    var A = st.data.arrays, x = A.x[0], W1 = A.W1, b1 = A.b1, z1 = A.z1[0], a1 = A.a1[0];
    var W2 = A.W2, b2 = A.b2, z2 = A.z2[0], p = A.p[0], y = A.y[0];
    var d2 = A.delta2[0], da1 = A.da1[0], d1 = A.delta1[0], num = HG.num, term = HG.term, L = lesson();
    var items = {}, i, j, k, sum;
    if (key === "x") {
      for (i = 0; i < 2; i++) items["in" + i] = info("x[" + i + "]", "x (1, 2)", "x[" + i + "] = input " + i, num(x[i]), x[i]);
    } else if (key === "z1") {
      for (j = 0; j < 4; j++) {
        sum = [0, 1].map(function (i) { return term(x[i]) + "×" + term(W1[j][i]); }).join(" + ");
        items["h" + j] = info("z1[" + j + "]", "z1 (1, 4)",
          "z1[" + j + "] = x[0]·" + wName("W", 1, j, 0) + " + x[1]·" + wName("W", 1, j, 1) + " + b1[" + j + "]",
          "= " + sum + " + " + term(b1[j]) + " = " + num(z1[j]), z1[j]);
        for (i = 0; i < 2; i++) {
          items["w1_" + j + "_" + i] = info(wName("W", 1, j, i), "W1 " + wShape(1),
            wName("W", 1, j, i) + ": the weight from x[" + i + "] into hidden unit " + j, num(W1[j][i]), W1[j][i]);
        }
      }
    } else if (key === "a1") {
      for (j = 0; j < 4; j++) items["h" + j] = info("a1[" + j + "]", "a1 (1, 4)", "a1[" + j + "] = max(z1[" + j + "], 0)",
        "= max(" + num(z1[j]) + ", 0) = " + num(a1[j]), a1[j]);
    } else if (key === "z2") {
      for (k = 0; k < 3; k++) {
        sum = [0, 1, 2, 3].map(function (j) { return term(a1[j]) + "×" + term(W2[k][j]); }).join(" + ");
        items["o" + k] = info("z2[" + k + "]", "z2 (1, 3)", "z2[" + k + "] = Σ_j a1[j]·" + wName("W", 2, k, "j") + " + b2[" + k + "]",
          "= " + sum + " + " + term(b2[k]) + " = " + num(z2[k]), z2[k]);
        for (j = 0; j < 4; j++) {
          items["w2_" + k + "_" + j] = info(wName("W", 2, k, j), "W2 " + wShape(2),
            wName("W", 2, k, j) + ": the weight from hidden unit " + j + " into output " + k, num(W2[k][j]), W2[k][j]);
        }
      }
    } else if (key === "p") {
      var exps = [0, 1, 2].map(function (m) { return "e^" + term(z2[m]); }).join(" + ");
      for (k = 0; k < 3; k++) items["o" + k] = info("p[" + k + "]", "p (1, 3)", "p[" + k + "] = e^z2[" + k + "] / Σ_m e^z2[m]",
        "= e^" + term(z2[k]) + " / (" + exps + ") = " + num(p[k]), p[k]);
    } else if (key === "loss") {
      items.loss = info("L", "scalar", "L = −log p[y],  y = " + y, "= −log " + num(p[y]) + " = " + num(A.loss), A.loss);
    } else if (key === "delta2") {
      for (k = 0; k < 3; k++) items["o" + k] = info("δ2[" + k + "]", "δ2 (1, 3)", "δ2[" + k + "] = (p[" + k + "] − y[" + k + "]) / B,  y one-hot, B = 1",
        "= (" + num(p[k]) + " − " + (k === y ? 1 : 0) + ") / 1 = " + num(d2[k]), d2[k]);
    } else if (key === "dW2") {
      for (k = 0; k < 3; k++) {
        for (j = 0; j < 4; j++) {
          var g2 = A.dW2[k][j], n2 = wName("dW", 2, k, j);
          items["w2_" + k + "_" + j] = info(n2, "dW2 " + wShape(2) + ", like W2",
            n2 + " = " + (L ? "a1[" + j + "]·δ2[" + k + "]   (dW2 = a1ᵀ δ2)" : "δ2[" + k + "]·a1[" + j + "]   (dW2 = δ2ᵀ a1)"),
            "= " + (L ? term(a1[j]) + "×" + term(d2[k]) : term(d2[k]) + "×" + term(a1[j])) + " = " + num(g2), g2);
        }
        items["o" + k] = info("db2[" + k + "]", "db2 (3,)", "db2[" + k + "] = Σ_batch δ2[" + k + "]", "= " + num(d2[k]), A.db2[k]);
      }
    } else if (key === "da1") {
      for (j = 0; j < 4; j++) {
        sum = [0, 1, 2].map(function (k) { return term(d2[k]) + "×" + term(W2[k][j]); }).join(" + ");
        items["h" + j] = info("∂L/∂a1[" + j + "]", "∂L/∂a1 (1, 4)",
          "∂L/∂a1[" + j + "] = Σ_k δ2[k]·" + wName("W", 2, "k", j) + "   (" + (L ? "δ2 W2ᵀ" : "δ2 W2") + ")",
          "= " + sum + " = " + num(da1[j]), da1[j]);
      }
    } else if (key === "delta1") {
      for (j = 0; j < 4; j++) {
        var mask = z1[j] > 0 ? 1 : 0;
        items["h" + j] = info("δ1[" + j + "]", "δ1 (1, 4)", "δ1[" + j + "] = ∂L/∂a1[" + j + "] · 1[z1[" + j + "] > 0]   (the ReLU mask)",
          "= " + term(da1[j]) + "×1[" + num(z1[j]) + " > 0] = " + term(da1[j]) + "×" + mask + " = " + num(d1[j]), d1[j]);
      }
    } else if (key === "dW1") {
      for (j = 0; j < 4; j++) {
        for (i = 0; i < 2; i++) {
          var g1 = A.dW1[j][i], n1 = wName("dW", 1, j, i);
          items["w1_" + j + "_" + i] = info(n1, "dW1 " + wShape(1) + ", like W1",
            n1 + " = " + (L ? "x[" + i + "]·δ1[" + j + "]   (dW1 = xᵀ δ1)" : "δ1[" + j + "]·x[" + i + "]   (dW1 = δ1ᵀ x)"),
            "= " + (L ? term(x[i]) + "×" + term(d1[j]) : term(d1[j]) + "×" + term(x[i])) + " = " + num(g1), g1);
        }
        items["h" + j] = info("db1[" + j + "]", "db1 (4,)", "db1[" + j + "] = Σ_batch δ1[" + j + "]", "= " + num(d1[j]), A.db1[j]);
      }
    }
    return items;
  }

  /* --- the picture ----------------------------------------------------------------------------- */

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
      out.push({id: "w1_" + j + "_" + i, x0: COLS.in + R, y0: Y.in[i], x1: COLS.h - R, y1: Y.h[j]});
    for (var k = 0; k < 3; k++) for (j = 0; j < 4; j++)
      out.push({id: "w2_" + k + "_" + j, x0: COLS.h + R, y0: Y.h[j], x1: COLS.o - R, y1: Y.o[k]});
    for (k = 0; k < 3; k++) out.push({id: "to_loss_" + k, x0: COLS.o + R, y0: Y.o[k], x1: COLS.loss - R, y1: Y.loss[0], plain: true});
    return out;
  }

  /* The info an item (node or edge) has at the current stage: from the latest stage that set it. */
  function infoAt(id) {
    if (!st.data) return null;
    for (var s = st.stage; s >= 0; s--) {
      var items = st.items[s];
      if (items[id]) return {info: items[id], stage: s, pass: st.data.stages[s].pass};
    }
    return null;
  }

  function passColor(pass) { return pass === "forward" ? HG.FORWARD : HG.BACKWARD; }

  function drawSvg() {
    var svg = $("bp-svg");
    svg.innerHTML = "";
    var L = lesson();
    var titles = [[COLS.in, "x  (1, 2)"], [COLS.h, "z1 → a1  (1, 4)"], [COLS.o, "z2 → p  (1, 3)"], [COLS.loss, "L"]];
    titles.forEach(function (t) { HG.svg("text", {x: t[0], y: 24, "text-anchor": "middle", class: "shape-label"}, svg).textContent = t[1]; });
    HG.svg("text", {x: (COLS.in + COLS.h) / 2, y: 392, "text-anchor": "middle", class: "shape-label"}, svg).textContent = "W1 " + (L ? "(2, 4)" : "(4, 2)") + ", b1 (4,)";
    HG.svg("text", {x: (COLS.h + COLS.o) / 2, y: 392, "text-anchor": "middle", class: "shape-label"}, svg).textContent = "W2 " + (L ? "(4, 3)" : "(3, 4)") + ", b2 (3,)";
    var maxAbs = {};
    edges().forEach(function (e) {
      var got = infoAt(e.id), layer = e.id.slice(0, 2);
      if (got) maxAbs[layer] = Math.max(maxAbs[layer] || 1e-9, Math.abs(got.info.value));
    });
    edges().forEach(function (e) {
      var got = e.plain ? null : infoAt(e.id), layer = e.id.slice(0, 2);
      var attrs = {x1: e.x0, y1: e.y0, x2: e.x1, y2: e.y1, class: "edge", "data-edge": e.id};
      if (got) {
        var v = got.info.value, fresh = got.stage === st.stage;
        attrs.style = "stroke:" + HG.rgb(passColor(got.pass), fresh ? 0.95 : 0.45) +
          ";stroke-width:" + Math.max(0.8, 5 * Math.abs(v) / maxAbs[layer]) + (v < 0 ? ";stroke-dasharray:5 3" : "");
      }
      HG.svg("line", attrs, svg);
    });
    nodes().forEach(function (n) {
      var got = infoAt(n.id), fresh = got && got.stage === st.stage;
      var cls = "unit" + (got ? " " + got.pass : "") + (fresh ? " fresh" : "");
      var g = HG.svg("g", {class: cls, "data-node": n.id}, svg);
      HG.svg("circle", {cx: n.x, cy: n.y, r: R}, g);
      HG.svg("text", {x: n.x, y: n.y - R - 6, "text-anchor": "middle", class: "name"}, g).textContent = got ? got.info.name : n.name;
      HG.svg("text", {x: n.x, y: n.y + 4, "text-anchor": "middle", class: "val"}, g).textContent = got ? got.info.text : "";
    });
  }

  /* Hover: the node under the mouse, else the nearest edge within a few pixels — so that
   * edges that cross never hide each other. */
  function itemAt(px, py) {
    var best = null, bestD = 7;
    nodes().forEach(function (n) {
      if (Math.hypot(px - n.x, py - n.y) <= R + 2) best = {id: n.id, name: n.name, d: 0};
    });
    if (best) return best;
    edges().forEach(function (e) {
      if (e.plain) return;
      var dx = e.x1 - e.x0, dy = e.y1 - e.y0;
      var t = Math.max(0, Math.min(1, ((px - e.x0) * dx + (py - e.y0) * dy) / (dx * dx + dy * dy)));
      var d = Math.hypot(px - (e.x0 + t * dx), py - (e.y0 + t * dy));
      if (d < bestD) { bestD = d; best = {id: e.id, name: "the weight " + e.id}; }
    });
    return best;
  }

  function onHover(event) {
    var svg = $("bp-svg"), pt = svg.createSVGPoint();
    pt.x = event.clientX; pt.y = event.clientY;
    var p = pt.matrixTransform(svg.getScreenCTM().inverse());
    var item = itemAt(p.x, p.y);
    svg.querySelectorAll(".hovered").forEach(function (el) { el.classList.remove("hovered"); });
    if (!item) { HG.hideTip(); return; }
    var el = svg.querySelector('[data-edge="' + item.id + '"], [data-node="' + item.id + '"]');
    if (el) el.classList.add("hovered");
    var got = infoAt(item.id);
    if (!got) { HG.showTip(event, {name: item.name, formula: "not computed yet at this stage"}); return; }
    var i = got.info;
    HG.showTip(event, {name: i.name + "  (" + got.pass + ")", shape: i.shape, formula: i.formula, numbers: i.numbers});
  }

  function show(stage) {
    if (!st.data) return;
    st.stage = Math.max(0, Math.min(stage, st.data.stages.length - 1));
    var s = st.data.stages[st.stage];
    var title = $("bp-stage-title");
    title.textContent = "Stage " + (st.stage + 1) + " of " + st.data.stages.length + " · " + s.pass + " · " + s.title;
    title.className = "stage-title " + s.pass;
    $("bp-formula").textContent = formula(s.key);
    $("bp-formula").className = "formula " + s.pass;
    $("bp-source").textContent = (HG.STATIC ? "the twin computes what handgrad keeps in " : "handgrad: ") + s.source;
    $("bp-stages").querySelectorAll("li").forEach(function (li, i) {
      li.className = (i === st.stage ? "current" : i < st.stage ? "done" : "todo") + " " + st.data.stages[i].pass;
      li.querySelector(".sub").textContent = formula(st.data.stages[i].key);
    });
    drawSvg();
    var h = HG.readHash();
    if (h.view === "backprop") { h.stage = st.stage; h.layout = st.layout; HG.writeHash(h); }
  }

  function onData(d) {
    st.data = d;
    st.layoutItems = null;
    relabel();
    var list = $("bp-stages");
    list.innerHTML = "";
    d.stages.forEach(function (s, i) {
      var li = document.createElement("li");
      li.innerHTML = HG.escape(s.title) + '<span class="pass">' + s.pass + '</span><span class="sub"></span>';
      li.addEventListener("click", function () { stop(); show(i); });
      list.appendChild(li);
    });
    document.querySelectorAll("#bp-presets button").forEach(function (b) {
      b.classList.toggle("active", b.dataset.preset === d.preset);
    });
    $("bp-x1").value = +d.x[0].toFixed(4); $("bp-x2").value = +d.x[1].toFixed(4); $("bp-label").value = d.label; $("bp-seed").value = d.seed;
    var h = HG.readHash(), values = {view: "backprop"};
    if (d.preset) values.preset = d.preset; else { values.x1 = +d.x[0].toFixed(4); values.x2 = +d.x[1].toFixed(4); values.label = d.label; values.seed = d.seed; }
    values.layout = st.layout;
    values.stage = h.view === "backprop" && h.stage !== undefined ? h.stage : 0;
    HG.writeHash(values);
    show(Number(values.stage) || 0);
  }

  /* The hover texts of every stage, for the current layout. */
  function relabel() {
    st.items = st.data.stages.map(function (s) { return stageItems(s.key); });
  }

  function setLayout(layout) {
    st.layout = layout === "torch" ? "torch" : "lesson";
    $("bp-layout-" + st.layout).checked = true;
    if (st.data) { relabel(); show(st.stage); }
  }

  function load(query) {
    stop();
    HG.markBad($("bp-controls"), null);
    var answer = HG.STATIC ? new Promise(function (ok) { ok(HG.local.backprop(query)); })
      : HG.api("api/backprop?" + new URLSearchParams(query).toString());
    answer.then(function (d) { HG.hideBanner(); onData(d); }).catch(function (e) {
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
      b.addEventListener("click", function () { HG.writeHash({view: "backprop", preset: name, stage: 0, layout: st.layout}); load({preset: name}); });
      box.appendChild(b);
    });
    $("bp-custom").addEventListener("click", function () {
      HG.writeHash({view: "backprop", stage: 0, layout: st.layout});
      load({x1: $("bp-x1").value, x2: $("bp-x2").value, label: $("bp-label").value, seed: $("bp-seed").value});
    });
    document.querySelectorAll('input[name="bp-layout"]').forEach(function (r) {
      r.addEventListener("change", function () { setLayout(r.value); });
    });
    $("bp-first").addEventListener("click", function () { stop(); show(0); });
    $("bp-prev").addEventListener("click", function () { stop(); show(st.stage - 1); });
    $("bp-next").addEventListener("click", function () { stop(); show(st.stage + 1); });
    $("bp-play").addEventListener("click", play);
    var svg = $("bp-svg");
    svg.addEventListener("mousemove", onHover);
    svg.addEventListener("mouseleave", function () { HG.hideTip(); });
  }

  function loadFromHash() {
    var h = HG.readHash(), q = {};
    setLayout(h.view === "backprop" && h.layout ? h.layout : st.layout);
    if (h.view === "backprop" && h.x1 !== undefined) {
      ["x1", "x2", "label", "seed"].forEach(function (k) { if (h[k] !== undefined) q[k] = h[k]; });
    } else q.preset = h.view === "backprop" && h.preset ? h.preset : "a";
    load(q);
  }

  HG.views.backprop = {
    open: function () {
      HG.options().then(function (o) {
        st.options = o;
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
