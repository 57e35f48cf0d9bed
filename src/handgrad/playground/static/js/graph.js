/* View 4: the lesson's six-node graph, built by handgrad's scalar Value engine,
 * stepped forward (values) and backward (gradients). */
"use strict";

(function () {
  var $ = HG.$;
  var BOX_W = 150, BOX_H = 58;
  var OPS = {"*": "×", "+": "+", "relu": "ReLU", "tanh": "tanh", "-": "−", "**": "^", "exp": "exp"};
  var st = {data: null, step: 0, timer: null, built: false, layout: null};

  function layout(nodes) {
    var depth = nodes.map(function () { return 0; });
    nodes.forEach(function (n, i) {
      n.parents.forEach(function (p) { depth[i] = Math.max(depth[i], depth[p] + 1); });
    });
    // a leaf sits just left of the first node that uses it
    nodes.forEach(function (n, i) {
      if (n.parents.length) return;
      var users = nodes.filter(function (m) { return m.parents.indexOf(i) >= 0; });
      if (users.length) depth[i] = Math.min.apply(null, users.map(function (m) { return depth[nodes.indexOf(m)]; })) - 1;
    });
    var cols = {}, pos = [];
    nodes.forEach(function (n, i) { (cols[depth[i]] = cols[depth[i]] || []).push(i); });
    var maxDepth = Math.max.apply(null, depth);
    nodes.forEach(function (n, i) {
      var col = cols[depth[i]], k = col.indexOf(i);
      var x = 30 + depth[i] * (840 - BOX_W) / Math.max(1, maxDepth);
      var y = 135 + (k - (col.length - 1) / 2) * 110 - BOX_H / 2;
      pos.push({x: x, y: y});
    });
    return pos;
  }

  /* What node i shows at the current step: its value once the forward pass reached it,
   * its gradient once the backward pass did (the seed, a step of its own, or a child's). */
  function shown(i) {
    var d = st.data, nF = d.forward.length, s = st.step;
    var order = d.forward.map(function (f) { return f.node; });
    var out = {data: s >= nF || order.indexOf(i) <= s, grad: null, fresh: false};
    if (s < nF) { out.fresh = order[s] === i; return out; }
    var b = s - nF, touched = i === d.root;
    for (var k = 0; k <= b; k++) {
      var e = d.backward[k];
      if (e.node === i) touched = true;
      e.adds.forEach(function (a) { if (a.parent === i) touched = true; });
    }
    out.fresh = d.backward[b].node === i;
    if (touched) out.grad = d.backward[b].grads[i];
    return out;
  }

  function hoverNumbers(i) {
    var d = st.data, now = shown(i), n = d.nodes[i];
    if (now.grad === null) return "grad: not reached yet (the backward pass comes later)";
    var text = "grad = ∂L/∂" + n.label + " = " + now.grad;
    var k = d.backward.map(function (e) { return e.node; }).indexOf(i);
    if (n.op && st.step - d.forward.length >= k) {
      text += "\napplied:  " + d.backward[k].adds.map(function (a) {
        return d.nodes[a.parent].label + ".grad += " + a.local + " × " + a.out_grad + " = " + a.add;
      }).join(";  ");
    }
    return text;
  }

  function draw() {
    var svg = $("gr-svg"), d = st.data, pos = st.layout;
    svg.innerHTML = "";
    var defs = HG.svg("defs", {}, svg);
    var marker = HG.svg("marker", {id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto"}, defs);
    HG.svg("path", {d: "M0,0 L10,5 L0,10 z", fill: "#666"}, marker);
    d.nodes.forEach(function (n, i) {
      if (!n.op) return;
      var ox = pos[i].x - 46, oy = pos[i].y + BOX_H / 2;
      n.parents.forEach(function (p) {
        HG.svg("line", {x1: pos[p].x + BOX_W, y1: pos[p].y + BOX_H / 2, x2: ox - 18, y2: oy, stroke: "#666", "marker-end": "url(#arrow)"}, svg);
      });
      HG.svg("line", {x1: ox + 18, y1: oy, x2: pos[i].x, y2: oy, stroke: "#666", "marker-end": "url(#arrow)"}, svg);
      var g = HG.svg("g", {class: "gop"}, svg);
      HG.svg("circle", {cx: ox, cy: oy, r: 18}, g);
      HG.svg("text", {x: ox, y: oy + 5, "text-anchor": "middle", style: n.op.length > 2 ? "font-size:10px" : ""}, g).textContent = OPS[n.op] || n.op;
    });
    d.nodes.forEach(function (n, i) {
      var s = shown(i), p = pos[i];
      var g = HG.svg("g", {class: "gnode" + (s.fresh ? " lit" : ""), "data-node": n.label}, svg);
      HG.svg("rect", {x: p.x, y: p.y, width: BOX_W, height: BOX_H}, g);
      HG.svg("text", {x: p.x + 10, y: p.y + 20, style: "font-weight:bold"}, g).textContent = n.label;
      HG.svg("text", {x: p.x + 40, y: p.y + 20}, g).textContent = "data " + (s.data ? n.data.toFixed(4).replace("-", "−") : "?");
      HG.svg("text", {x: p.x + 40, y: p.y + 42, class: "grad"}, g).textContent = "grad " + (s.grad === null ? "?" : s.grad.toFixed(4).replace("-", "−"));
      g.addEventListener("mouseenter", function (e) {
        var now = shown(i);
        HG.showTip(e, {
          name: n.label, shape: n.op ? "op " + n.op : "a leaf",
          formula: n.expr + (now.data ? " = " + n.data : ""),
          code: n.op ? "local backward rule:  " + n.rule : "a leaf: its gradient is summed from the nodes that use it",
          numbers: hoverNumbers(i),
        });
      });
      g.addEventListener("mousemove", HG.moveTip);
      g.addEventListener("mouseleave", HG.hideTip);
    });
    document.querySelectorAll("#gr-steps li").forEach(function (li, k) {
      li.className = k === st.step ? "current" : k < st.step ? "done" : "todo";
    });
    var nF = d.forward.length, s = st.step;
    var entry = s < nF ? d.forward[s] : d.backward[s - nF];
    $("gr-step").textContent = (s < nF ? "Forward " + (s + 1) + " of " + nF : "Backward " + (s - nF + 1) + " of " + d.backward.length);
    $("gr-text").textContent = entry.text;
    var h = HG.readHash();
    if (h.view === "graph") { h.step = s; HG.writeHash(h); }
  }

  function show(step) {
    if (!st.data) return;
    st.step = Math.max(0, Math.min(step, st.data.forward.length + st.data.backward.length - 1));
    draw();
  }

  function play() {
    if (st.timer) { stop(); return; }
    var last = st.data.forward.length + st.data.backward.length - 1;
    if (st.step >= last) show(0);
    HG.setIcon($("gr-play"), "pause");
    st.timer = setInterval(function () {
      if (st.step >= last) { stop(); return; }
      show(st.step + 1);
    }, 900);
  }

  function stop() {
    clearInterval(st.timer);
    st.timer = null;
    HG.setIcon($("gr-play"), "play");
  }

  function onData(d) {
    if (d.type === "error") { HG.showBanner(d.message); return; }
    st.data = d;
    st.layout = layout(d.nodes);
    var list = $("gr-steps");
    list.innerHTML = "";
    d.forward.concat(d.backward).forEach(function (e, k) {
      var li = document.createElement("li"), back = k >= d.forward.length;
      li.innerHTML = HG.escape((back ? "∂L/∂" : "") + d.nodes[e.node].label) + '<span class="pass">' +
        (back ? "backward" : "forward") + '</span><span class="sub">' + HG.escape(e.text) + "</span>";
      li.addEventListener("click", function () { stop(); show(k); });
      list.appendChild(li);
    });
    var h = HG.readHash();
    show(h.view === "graph" && h.step !== undefined ? Number(h.step) || 0 : 0);
  }

  HG.views.graph = {
    open: function () {
      if (!st.built) {
        st.built = true;
        $("gr-first").addEventListener("click", function () { stop(); show(0); });
        $("gr-prev").addEventListener("click", function () { stop(); show(st.step - 1); });
        $("gr-next").addEventListener("click", function () { stop(); show(st.step + 1); });
        $("gr-play").addEventListener("click", play);
      }
      if (st.data) { draw(); return; }
      if (HG.STATIC) { onData(HG.STATIC.graph); return; }
      HG.api("api/graph").then(onData).catch(function (e) { HG.showBanner(e.message); });
    },
    close: stop,
    fromHash: function () {
      var h = HG.readHash();
      if (st.data) show(Number(h.step) || 0);
    },
    state: st,
  };
})();
