/* View 4: the lesson's six-node graph L = relu(a·b + c), built by handgrad's scalar Value
 * engine (in a static copy, evaluated by the page from the same nodes), stepped forward
 * (values, cyan) and backward (gradients, amber). a, b and c can be changed: everything is
 * computed again at once. */
"use strict";

(function () {
  var $ = HG.$;
  var BOX_W = 150, BOX_H = 58, OP_R = 18;
  var OPS = {"*": "×", "+": "+", "relu": "ReLU", "tanh": "tanh", "-": "−", "**": "^", "exp": "exp"};
  var st = {data: null, step: 0, timer: null, built: false, layout: null, request: 0};

  /* A number as this view writes it: short, exact for whole numbers, a real minus sign. */
  function n(x) { return String(Number(Number(x).toPrecision(6))).replace("-", "−"); }

  function layout(nodes) {
    var depth = nodes.map(function () { return 0; });
    nodes.forEach(function (node, i) {
      node.parents.forEach(function (p) { depth[i] = Math.max(depth[i], depth[p] + 1); });
    });
    // a leaf sits just left of the first node that uses it
    nodes.forEach(function (node, i) {
      if (node.parents.length) return;
      var users = nodes.filter(function (m) { return m.parents.indexOf(i) >= 0; });
      if (users.length) depth[i] = Math.min.apply(null, users.map(function (m) { return depth[nodes.indexOf(m)]; })) - 1;
    });
    var cols = {}, pos = [];
    nodes.forEach(function (node, i) { (cols[depth[i]] = cols[depth[i]] || []).push(i); });
    var maxDepth = Math.max.apply(null, depth);
    nodes.forEach(function (node, i) {
      var col = cols[depth[i]], k = col.indexOf(i);
      var x = 30 + depth[i] * (840 - BOX_W) / Math.max(1, maxDepth);
      var y = 135 + (k - (col.length - 1) / 2) * 110 - BOX_H / 2;
      pos.push({x: x, y: y});
    });
    return pos;
  }

  function expression(node) {
    var d = st.data, names = node.parents.map(function (p) { return d.nodes[p].label; });
    if (!node.op) return node.label;
    if (names.length === 2) return node.label + " = " + names[0] + " " + (OPS[node.op] || node.op) + " " + names[1];
    return node.label + " = " + (OPS[node.op] || node.op) + "(" + names.join(", ") + ")";
  }

  function forwardText(i) {
    var d = st.data, node = d.nodes[i];
    if (!node.op) return node.label + " = " + n(node.data) + "   (a leaf: set above)";
    var parts = node.parents.map(function (p) { return d.nodes[p].label + " = " + n(d.nodes[p].data); }).join(", ");
    return expression(node) + " = " + n(node.data) + "   with " + parts;
  }

  function backwardText(k) {
    var d = st.data, e = d.backward[k], node = d.nodes[e.node];
    var text = "∂L/∂" + node.label + " = " + n(e.grads[e.node]);
    if (!e.adds.length) return text + "   (a leaf: nothing to pass on)";
    text += "  →  " + e.adds.map(function (a) {
      return "∂L/∂" + d.nodes[a.parent].label + " += " + n(a.local) + " × " + n(a.out_grad) + " = " + n(a.add);
    }).join(";  ");
    if (node.op === "relu" && d.nodes[node.parents[0]].data <= 0) {
      text += "   (the ReLU's input " + n(d.nodes[node.parents[0]].data) + " is not above 0: its local derivative is 0, the gradient stops here)";
    }
    return text;
  }

  /* What node i shows at the current step: its value once the forward pass reached it,
   * its gradient once the backward pass did (the seed, a step of its own, or a child's). */
  function shown(i) {
    var d = st.data, nF = d.nodes.length, s = st.step;
    var out = {data: s >= nF || i <= s, grad: null, fresh: false, pass: s < nF ? "forward" : "backward"};
    if (s < nF) { out.fresh = i === s; return out; }
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
    var d = st.data, now = shown(i), node = d.nodes[i];
    if (now.grad === null) return "grad: not reached yet (the backward pass comes later)";
    var text = "grad = ∂L/∂" + node.label + " = " + n(now.grad);
    var k = d.backward.map(function (e) { return e.node; }).indexOf(i);
    if (node.op && st.step - d.nodes.length >= k) {
      text += "\napplied:  " + d.backward[k].adds.map(function (a) {
        return d.nodes[a.parent].label + ".grad += " + n(a.local) + " × " + n(a.out_grad) + " = " + n(a.add);
      }).join(";  ");
    }
    return text;
  }

  /* The point where a line from (x0, y0) towards a circle's centre meets the circle. */
  function toCircle(x0, y0, cx, cy, r) {
    var dx = cx - x0, dy = cy - y0, len = Math.hypot(dx, dy) || 1;
    return [cx - dx / len * r, cy - dy / len * r];
  }

  function draw() {
    var svg = $("gr-svg"), d = st.data, pos = st.layout;
    svg.innerHTML = "";
    var defs = HG.svg("defs", {}, svg);
    var marker = HG.svg("marker", {id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto"}, defs);
    HG.svg("path", {d: "M0,0 L10,5 L0,10 z", fill: "#666"}, marker);
    d.nodes.forEach(function (node, i) {
      if (!node.op) return;
      var ox = pos[i].x - 46, oy = pos[i].y + BOX_H / 2;
      node.parents.forEach(function (p, k) {
        // each parent's arrow arrives at its own point of the circle, never on another's
        var x0 = pos[p].x + BOX_W, y0 = pos[p].y + BOX_H / 2 + (node.parents.length > 1 ? (k - 0.5) * 14 : 0);
        var end = toCircle(x0, y0, ox, oy, OP_R + 1);
        HG.svg("line", {x1: x0, y1: y0, x2: end[0], y2: end[1], stroke: "#666", "marker-end": "url(#arrow)", "data-arrow": d.nodes[p].label + ">" + node.label}, svg);
      });
      HG.svg("line", {x1: ox + OP_R, y1: oy, x2: pos[i].x, y2: oy, stroke: "#666", "marker-end": "url(#arrow)"}, svg);
      var g = HG.svg("g", {class: "gop"}, svg);
      HG.svg("circle", {cx: ox, cy: oy, r: OP_R}, g);
      HG.svg("text", {x: ox, y: oy + 5, "text-anchor": "middle", style: node.op.length > 2 ? "font-size:10px" : ""}, g).textContent = OPS[node.op] || node.op;
    });
    d.nodes.forEach(function (node, i) {
      var s = shown(i), p = pos[i];
      var g = HG.svg("g", {class: "gnode" + (s.fresh ? " lit " + s.pass : ""), "data-node": node.label}, svg);
      HG.svg("rect", {x: p.x, y: p.y, width: BOX_W, height: BOX_H}, g);
      HG.svg("text", {x: p.x + 10, y: p.y + 20, style: "font-weight:bold"}, g).textContent = node.label;
      HG.svg("text", {x: p.x + 40, y: p.y + 20, class: "data"}, g).textContent = "data " + (s.data ? HG.num(node.data) : "?");
      HG.svg("text", {x: p.x + 40, y: p.y + 42, class: "grad"}, g).textContent = "grad " + (s.grad === null ? "?" : HG.num(s.grad));
      g.addEventListener("mouseenter", function (e) {
        var now = shown(i);
        HG.showTip(e, {
          name: node.label, shape: node.op ? "op " + (OPS[node.op] || node.op) : "a leaf",
          formula: node.op ? expression(node) + (now.data ? " = " + n(node.data) : "") : node.label + " = " + n(node.data) + "  (a leaf: change it above)",
          code: node.op ? "local backward rule:  " + node.rule : "a leaf: its gradient is summed from the nodes that use it",
          numbers: hoverNumbers(i),
        });
      });
      g.addEventListener("mousemove", HG.moveTip);
      g.addEventListener("mouseleave", HG.hideTip);
    });
    var nF = d.nodes.length, s = st.step;
    $("gr-steps").querySelectorAll("li").forEach(function (li, k) {
      li.className = (k === s ? "current" : k < s ? "done" : "todo") + " " + (k < nF ? "forward" : "backward");
    });
    var title = $("gr-step");
    title.textContent = s < nF ? "Forward " + (s + 1) + " of " + nF : "Backward " + (s - nF + 1) + " of " + d.backward.length;
    title.className = "stage-title " + (s < nF ? "forward" : "backward");
    $("gr-text").textContent = s < nF ? forwardText(s) : backwardText(s - nF);
    $("gr-text").className = "formula " + (s < nF ? "forward" : "backward");
    var h = HG.readHash();
    if (h.view === "graph") {
      h.step = s;
      ["a", "b", "c"].forEach(function (k) { h[k] = d.leaves[k]; });
      HG.writeHash(h);
    }
  }

  function show(step) {
    if (!st.data) return;
    st.step = Math.max(0, Math.min(step, st.data.nodes.length + st.data.backward.length - 1));
    draw();
  }

  function play() {
    if (st.timer) { stop(); return; }
    var last = st.data.nodes.length + st.data.backward.length - 1;
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

  function onData(d, step) {
    if (d.type === "error") { HG.showBanner(d.message); return; }
    st.data = d;
    st.layout = layout(d.nodes);
    ["a", "b", "c"].forEach(function (k) {
      if (document.activeElement !== $("gr-" + k)) $("gr-" + k).value = d.leaves[k];
    });
    var list = $("gr-steps");
    list.innerHTML = "";
    var entries = d.nodes.map(function (_, i) { return {node: i, back: false, text: forwardText(i)}; })
      .concat(d.backward.map(function (e, k) { return {node: e.node, back: true, text: backwardText(k)}; }));
    entries.forEach(function (e, k) {
      var li = document.createElement("li");
      li.innerHTML = HG.escape((e.back ? "∂L/∂" : "") + d.nodes[e.node].label) + '<span class="pass">' +
        (e.back ? "backward" : "forward") + '</span><span class="sub">' + HG.escape(e.text) + "</span>";
      li.addEventListener("click", function () { stop(); show(k); });
      list.appendChild(li);
    });
    show(step);
  }

  /* a, b, c from the inputs (or the URL): computed again, keeping the step shown. */
  function load(leaves, step) {
    var ticket = ++st.request;
    HG.markBad($("gr-controls"), null);
    var answer = HG.STATIC ? new Promise(function (ok) { ok(HG.local.graph(leaves)); })
      : HG.api("api/graph?" + new URLSearchParams(leaves).toString());
    answer.then(function (d) {
      if (ticket !== st.request) return;       // an older answer, overtaken by a newer edit
      HG.hideBanner();
      onData(d, step);
    }).catch(function (e) {
      HG.showBanner(e.message);
      HG.markBad($("gr-controls"), e.field);
    });
  }

  function leavesFromHash() {
    var h = HG.readHash(), out = {};
    if (h.view !== "graph") return out;
    ["a", "b", "c"].forEach(function (k) { if (h[k] !== undefined) out[k] = h[k]; });
    return out;
  }

  HG.views.graph = {
    open: function () {
      if (!st.built) {
        st.built = true;
        if (HG.STATIC) $("gr-engine").textContent = "In this copy of the page the same nodes are evaluated in JavaScript; on the server they are built by";
        $("gr-first").addEventListener("click", function () { stop(); show(0); });
        $("gr-prev").addEventListener("click", function () { stop(); show(st.step - 1); });
        $("gr-next").addEventListener("click", function () { stop(); show(st.step + 1); });
        $("gr-play").addEventListener("click", play);
        ["a", "b", "c"].forEach(function (k) {
          $("gr-" + k).addEventListener("input", function () {
            var v = $("gr-" + k).value;
            if (v === "" || v === "-") return;           // still typing
            load({a: $("gr-a").value, b: $("gr-b").value, c: $("gr-c").value}, st.step);
          });
        });
      }
      if (st.data) { draw(); return; }
      var h = HG.readHash();
      load(leavesFromHash(), h.view === "graph" && h.step !== undefined ? Number(h.step) || 0 : 0);
    },
    close: stop,
    fromHash: function () {
      var h = HG.readHash();
      load(leavesFromHash(), Number(h.step) || 0);
    },
    state: st,
  };
})();
