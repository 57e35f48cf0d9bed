/* handgrad's JavaScript twin: the MLP's forward pass, backward pass and updates in plain
 * JavaScript, in float64, derived as handgrad's NumPy core derives them (handgrad.nn,
 * handgrad.mlp, handgrad.optim) and checked against it under Node. It is the same
 * network as handgrad's, spelled a fourth time beside the PyTorch and MLX twins, so that the
 * playground can train in the browser with no server.
 *
 * A classic script, not a module (a page opened from file:// may not load modules), with no
 * dependency and no build step. In a page it becomes HG.twin; under Node, module.exports.
 *
 *     var net = HG.twin.build({layer_sizes: [2, 4, 2, 2], activations: ["tanh", "tanh", "softmax"],
 *                              optimizer: "sgd", lr: 0.03, seed: 0});
 *     var loss = net.step(X, y);            // one mini-batch: forward, backward, update
 *     var P = net.predictProba(grid);       // (n, K) class probabilities, evaluation mode
 *
 * Arrays. A matrix is {rows, cols, data}, data a Float64Array in row-major order; a vector is a
 * Float64Array. Weights are stored (d_out, d_in) and z = x Wᵀ + b, as in torch.nn.Linear and
 * handgrad (not the x W of many lessons): a state dict moves between handgrad, PyTorch and this
 * twin with no transposes. Inputs may be nested arrays ([[x1, x2], ...]) or matrices.
 *
 * One layer l maps the previous activation a(l-1) to its own, with an optional norm and
 * dropout on hidden layers:
 *
 *     z(l) = a(l-1) W(l)ᵀ + b(l)      h(l) = norm(z(l))      a(l) = dropout(f(h(l)))
 *
 * and the backward pass runs the chain rule from the loss back to the first layer:
 *
 *     δ(L)  = dL/dz(L)                         from the loss (fused with softmax or sigmoid)
 *     δ(l)  = norm'((δ(l+1) W(l+1)) ⊙ mask ⊙ f'(h(l)))   every hidden layer
 *     dW(l) = δ(l)ᵀ a(l-1)      db(l) = Σ_batch δ(l)
 */
(function (root) {
  "use strict";

  // --- arrays -------------------------------------------------------------------------------

  function matrix(rows, cols, data) {
    return {rows: rows, cols: cols, data: data || new Float64Array(rows * cols)};
  }

  function isMatrix(m) {
    return m !== null && typeof m === "object" && m.data instanceof Float64Array;
  }

  function show(value) {
    var text;
    if (typeof value === "number") return String(value);
    try { text = JSON.stringify(value); } catch (e) { text = String(value); }
    if (text === undefined) text = String(value);
    return text.length > 40 ? text.slice(0, 37) + "..." : text;
  }

  function shapeText(dims) {
    return "(" + dims.join(", ") + (dims.length === 1 ? ",)" : ")");
  }

  /* The dims of a nested array ([] for a number), or null when it is ragged or holds a
   * non-number. */
  function dimsOf(value) {
    if (typeof value === "number") return [];
    if (isMatrix(value)) return [value.rows, value.cols];
    if (value instanceof Float64Array) return [value.length];
    if (!Array.isArray(value)) return null;
    if (value.length === 0) return [0];
    var inner = dimsOf(value[0]);
    if (inner === null) return null;
    for (var i = 1; i < value.length; i++) {
      var d = dimsOf(value[i]);
      if (d === null || d.join() !== inner.join()) return null;
    }
    return [value.length].concat(inner);
  }

  /* Nested arrays [[...], ...] or a matrix -> a matrix of ``cols`` columns of finite numbers,
   * or an Error saying what ``what`` should have been. */
  function toMatrix(value, what, cols) {
    var rows;
    if (isMatrix(value)) {
      if (value.cols !== cols) {
        throw new Error(what + " has " + value.cols + " columns; expected " + cols);
      }
      rows = value.rows;
      for (var k = 0; k < value.data.length; k++) {
        if (!isFinite(value.data[k])) {
          throw new Error(what + " contains NaN or Inf (first at row " + Math.floor(k / cols) +
                          ", column " + (k % cols) + ")");
        }
      }
      return value;
    }
    if (!Array.isArray(value) || value.length === 0) {
      throw new Error(what + " must be a non-empty 2-D array, one row of " + cols +
                      " numbers per example; got " + show(value));
    }
    rows = value.length;
    var m = matrix(rows, cols);                                      // (rows, cols)
    for (var r = 0; r < rows; r++) {
      var row = value[r];
      if (!Array.isArray(row) && !(row instanceof Float64Array)) {
        throw new Error(what + " must be a 2-D array (rows of " + cols + " numbers); row " + r +
                        " is " + show(row));
      }
      if (row.length !== cols) {
        throw new Error(what + " has " + row.length + " columns in row " + r + "; expected " +
                        cols);
      }
      for (var c = 0; c < cols; c++) {
        var x = row[c];
        if (typeof x !== "number" || !isFinite(x)) {
          throw new Error(what + " must hold finite numbers; got " + show(x) + " at row " + r +
                          ", column " + c);
        }
        m.data[r * cols + c] = x;
      }
    }
    return m;
  }

  /* A matrix as nested arrays (a vector as a flat array): what JSON and the page read. */
  function toArrays(m) {
    if (m === null || m === undefined) return null;
    if (m instanceof Float64Array) return Array.from(m);
    var out = [];
    for (var r = 0; r < m.rows; r++) out.push(Array.from(m.data.subarray(r * m.cols, (r + 1) * m.cols)));
    return out;
  }

  function map(m, f) {
    var out = matrix(m.rows, m.cols);                                // (B, d)
    for (var i = 0; i < m.data.length; i++) out.data[i] = f(m.data[i]);
    return out;
  }

  function map2(a, b, f) {
    var out = matrix(a.rows, a.cols);                                // (B, d)
    for (var i = 0; i < a.data.length; i++) out.data[i] = f(a.data[i], b.data[i]);
    return out;
  }

  function takeRows(m, idx, start, end) {
    var out = matrix(end - start, m.cols);                           // (b, d)
    for (var i = start; i < end; i++) {
      out.data.set(m.data.subarray(idx[i] * m.cols, (idx[i] + 1) * m.cols), (i - start) * m.cols);
    }
    return out;
  }

  // --- the error function -------------------------------------------------------------------

  var TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);
  var ONE_OVER_SQRT_PI = 1 / Math.sqrt(Math.PI);

  /* x² = hi + lo exactly (Dekker's product: x split into two halves of 26 bits). */
  function squareExact(x) {
    var c = 134217729 * x;                         // 2^27 + 1
    var xh = c - (c - x), xl = x - xh;
    var hi = x * x;
    return [hi, ((xh * xh - hi) + 2 * xh * xl) + xl * xl];
  }

  /* e^-x² to within an ulp: e^-(hi + lo) = e^-hi (1 - lo), since |lo| ≤ ulp(x²)/2. */
  function expMinusSquare(hi, lo) {
    return Math.exp(-hi) * (1 - lo);
  }

  /* erf x for 0 ≤ x < 2.5 from Kummer's series, whose terms are all positive:
   *     erf x = (2/√π) x e^-x² Σ_n (2x²)^n / (1·3·5···(2n+1))
   * summed with Kahan's compensation; the terms use hi = fl(x²), and the first-order correction
   * (lo/hi) Σ n·term_n puts back the part of x² that hi lost. */
  function erfSeries(x) {
    var sq = squareExact(x), hi = sq[0], lo = sq[1];
    var q = 2 * hi, term = 1, sum = 1, carry = 0, moment = 0;
    for (var n = 1; term > 1e-17 * sum; n++) {
      term *= q / (2 * n + 1);
      var y = term - carry, t = sum + y;
      carry = (t - sum) - y;
      sum = t;
      moment += n * term;
    }
    if (hi > 0) sum += (lo / hi) * moment;
    return TWO_OVER_SQRT_PI * x * expMinusSquare(hi, lo) * sum;
  }

  /* erfc x for x ≥ 2.5 from Laplace's continued fraction, evaluated by Lentz's method:
   *     erfc x = e^-x² / √π · 1 / (x + (1/2) / (x + 1 / (x + (3/2) / (x + 2 / (x + ...)))))
   * (40 terms or fewer reach float64 here). */
  function erfcFraction(x) {
    var sq = squareExact(x);
    var f = x, C = x, D = 0;
    for (var n = 1; n < 200; n++) {
      var a = n / 2;
      D = 1 / (x + a * D);
      C = x + a / C;
      var step = C * D;
      f *= step;
      if (Math.abs(step - 1) < 1e-16) break;
    }
    return ONE_OVER_SQRT_PI * expMinusSquare(sq[0], sq[1]) / f;
  }

  /* The error function erf x = (2/√π) ∫_0^x e^-t² dt, within a few ulps (JavaScript has none).
   * Odd; 1 to float64 from |x| = 6 on (erfc 6 ≈ 2e-17). */
  function erf(x) {
    var ax = Math.abs(x);
    if (!(ax < 6)) return ax === ax ? (x > 0 ? 1 : -1) : NaN;
    var y = ax < 2.5 ? erfSeries(ax) : 1 - erfcFraction(ax);
    return x < 0 ? -y : y;
  }

  // --- activations ----------------------------------------------------------------------------
  //
  // Each maps h (B, d) to a (B, d) elementwise (softmax by row), keeping in ``c`` what its
  // derivative needs; backward multiplies the incoming gradient g = dL/da by f'(h).

  /* σ(z) = 1 / (1 + e^-z) without overflow: only e^-|z| is ever computed. */
  function sigmoid(v) {
    var e = Math.exp(-Math.abs(v));
    return v >= 0 ? 1 / (1 + e) : e / (1 + e);
  }

  var SQRT_HALF = 1 / Math.sqrt(2);
  var ONE_OVER_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
  var SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

  var ACTIVATIONS = {
    relu: function () {
      return {
        name: "relu",
        forward: function (z, c) {
          c.a = map(z, function (v) { return v > 0 ? v : 0; });             // (B, d) max(0, z)
          return c.a;
        },
        backward: function (g, c) {   // f'(z) = 1[z > 0] = 1[a > 0]
          return map2(g, c.a, function (gi, ai) { return gi * (ai > 0 ? 1 : 0); });   // (B, d)
        },
      };
    },
    leaky_relu: function (alpha) {   // slope α for z < 0: 0.01 as in PyTorch
      alpha = alpha === undefined ? 0.01 : alpha;
      return {
        name: "leaky_relu", alpha: alpha,
        forward: function (z, c) {
          c.a = map(z, function (v) { return v > 0 ? v : v * alpha; });      // (B, d)
          return c.a;
        },
        backward: function (g, c) {   // f' = 1 where a > 0, else α
          return map2(g, c.a, function (gi, ai) { return gi * (ai > 0 ? 1 : alpha); });   // (B, d)
        },
      };
    },
    sigmoid: function () {
      return {
        name: "sigmoid",
        forward: function (z, c) {
          c.a = map(z, sigmoid);                                             // (B, d)
          return c.a;
        },
        backward: function (g, c) {   // σ' = σ(1 - σ), from the kept a
          return map2(g, c.a, function (gi, ai) { return gi * ai * (1 - ai); });   // (B, d)
        },
      };
    },
    tanh: function () {
      return {
        name: "tanh",
        forward: function (z, c) {
          c.a = map(z, Math.tanh);                                           // (B, d)
          return c.a;
        },
        backward: function (g, c) {   // tanh' = 1 - tanh², from the kept a
          return map2(g, c.a, function (gi, ai) { return gi * (1 - ai * ai); });   // (B, d)
        },
      };
    },
    gelu: function () {   // exact: a = z Φ(z), Φ the normal CDF; f' = Φ(z) + z φ(z)
      return {
        name: "gelu",
        forward: function (z, c) {
          c.z = z;                                                           // (B, d)
          c.Phi = map(z, function (v) { return 0.5 * (1 + erf(v * SQRT_HALF)); });   // (B, d)
          return map2(z, c.Phi, function (v, P) { return v * P; });          // (B, d)
        },
        backward: function (g, c) {
          var out = matrix(g.rows, g.cols);                                  // (B, d)
          for (var i = 0; i < out.data.length; i++) {
            var v = c.z.data[i];
            var phi = Math.exp(-0.5 * v * v) * ONE_OVER_SQRT_2PI;            // normal density
            out.data[i] = g.data[i] * (c.Phi.data[i] + v * phi);
          }
          return out;
        },
      };
    },
    gelu_tanh: function () {   // GPT-2's a = ½z(1 + tanh u), u = √(2/π)(z + 0.044715 z³)
      return {
        name: "gelu_tanh",
        forward: function (z, c) {
          c.z = z;                                                           // (B, d)
          c.t = map(z, function (v) {                                        // (B, d) tanh u
            return Math.tanh(SQRT_2_OVER_PI * (v + 0.044715 * Math.pow(v, 3)));
          });
          return map2(z, c.t, function (v, t) { return 0.5 * v * (1 + t); });   // (B, d)
        },
        backward: function (g, c) {   // f' = ½(1 + t) + ½ z (1 - t²) u'(z)
          var out = matrix(g.rows, g.cols);                                  // (B, d)
          for (var i = 0; i < out.data.length; i++) {
            var v = c.z.data[i], t = c.t.data[i];
            var du = SQRT_2_OVER_PI * (1 + 3 * 0.044715 * v * v);            // u'(z)
            out.data[i] = g.data[i] * (0.5 * (1 + t) + 0.5 * v * (1 - t * t) * du);
          }
          return out;
        },
      };
    },
    silu: function () {   // also called swish: a = z σ(z); f' = σ + z σ (1 - σ)
      return {
        name: "silu",
        forward: function (z, c) {
          c.z = z;                                                           // (B, d)
          c.s = map(z, sigmoid);                                             // (B, d)
          return map2(z, c.s, function (v, s) { return v * s; });            // (B, d)
        },
        backward: function (g, c) {
          var out = matrix(g.rows, g.cols);                                  // (B, d)
          for (var i = 0; i < out.data.length; i++) {
            var s = c.s.data[i];
            out.data[i] = g.data[i] * (s * (1 + c.z.data[i] * (1 - s)));
          }
          return out;
        },
      };
    },
    identity: function () {   // a = z: the linear output of a regression
      return {
        name: "identity",
        forward: function (z) { return z; },
        backward: function (g) { return g; },
      };
    },
    softmax: function () {
      /* p = e^z / Σ_j e^z_j by row, the row maximum subtracted first; keeps lse = log Σ e^z for
       * the fused cross-entropy. Alone (after MSE), its backward is the Jacobian-vector product
       * dL/dz_i = p_i (g_i - Σ_j g_j p_j), from ∂p_j/∂z_i = p_j (1[i = j] - p_i). */
      return {
        name: "softmax",
        forward: function (z, c) {
          var B = z.rows, K = z.cols;
          var p = matrix(B, K);                                              // (B, K)
          c.lse = new Float64Array(B);                                       // (B,) log Σ e^z
          for (var r = 0; r < B; r++) {
            var o = r * K, zmax = -Infinity, total = 0, k;
            for (k = 0; k < K; k++) zmax = Math.max(zmax, z.data[o + k]);
            for (k = 0; k < K; k++) p.data[o + k] = Math.exp(z.data[o + k] - zmax);   // in (0, 1]
            for (k = 0; k < K; k++) total += p.data[o + k];                  // ≥ 1
            for (k = 0; k < K; k++) p.data[o + k] /= total;
            c.lse[r] = zmax + Math.log(total);
          }
          c.a = p;
          return p;
        },
        backward: function (g, c) {
          var B = g.rows, K = g.cols, p = c.a;
          var out = matrix(B, K);                                            // (B, K)
          for (var r = 0; r < B; r++) {
            var o = r * K, gp = 0, k;
            for (k = 0; k < K; k++) gp += g.data[o + k] * p.data[o + k];     // Σ_j g_j p_j
            for (k = 0; k < K; k++) out.data[o + k] = p.data[o + k] * (g.data[o + k] - gp);
          }
          return out;
        },
      };
    },
  };
  var ACTIVATION_ALIASES = {swish: "silu"};

  /* An activation from its name ("relu", or an alias: "swish") or {name: "leaky_relu",
   * alpha: 0.2}. */
  function getActivation(spec) {
    var name = spec, alpha;
    if (spec === null || spec === undefined) name = "identity";
    if (spec !== null && typeof spec === "object") { name = spec.name; alpha = spec.alpha; }
    var key = typeof name === "string" ? name.toLowerCase() : name;
    key = ACTIVATION_ALIASES[key] || key;
    if (typeof key !== "string" || !Object.prototype.hasOwnProperty.call(ACTIVATIONS, key)) {
      throw new Error("unknown activation " + show(name) + "; valid names: " +
                      Object.keys(ACTIVATIONS).join(", "));
    }
    return key === "leaky_relu" ? ACTIVATIONS[key](alpha) : ACTIVATIONS[key]();
  }

  // --- losses ---------------------------------------------------------------------------------
  //
  // Each returns {loss, grad}: the mean loss over the B examples and the gradient that starts
  // the backward pass: dL/dz for the fused ones, dL/da for MSE.

  /* Softmax cross-entropy from what the softmax kept, labels y (B,) integers:
   *     L = (1/B) Σ_b (lse_b - z_b,y_b) = -(1/B) Σ_b log p_b,y_b        δ = (p - Y) / B
   * since ∂L_b/∂z_j = p_j - Y_bj (using Σ_k Y_bk = 1). */
  function crossEntropy(z, p, lse, y) {
    var B = z.rows, K = z.cols, total = 0;
    var delta = matrix(B, K);                                            // (B, K)
    for (var r = 0; r < B; r++) {
      total += lse[r] - z.data[r * K + y[r]];                            // -log p_y = lse - z_y
      for (var k = 0; k < K; k++) delta.data[r * K + k] = p.data[r * K + k];   // p ...
      delta.data[r * K + y[r]] -= 1;                                     // ... then p - Y
      for (k = 0; k < K; k++) delta.data[r * K + k] /= B;                // (p - Y) / B
    }
    return {loss: total / B, grad: delta};
  }

  /* Sigmoid binary cross-entropy from logits z (B, d), targets 0 or 1, mean over all B·d:
   *     L = (1/Bd) Σ softplus(z) - y z,   softplus(z) = max(z, 0) + log(1 + e^-|z|)
   *     δ = (σ(z) - y) / (B d) */
  function binaryCrossEntropy(z, Y) {
    var B = z.rows, d = z.cols, n = B * d, total = 0;
    var delta = matrix(B, d);                                            // (B, d)
    for (var r = 0; r < B; r++) {
      var row = 0;
      for (var j = 0; j < d; j++) {
        var v = z.data[r * d + j], t = Y.data[r * d + j];
        row += Math.max(v, 0) - t * v + Math.log1p(Math.exp(-Math.abs(v)));
        delta.data[r * d + j] = (sigmoid(v) - t) / n;
      }
      total += row / d;
    }
    return {loss: total / B, grad: delta};
  }

  /* Mean squared error with the ½ that makes its derivative clean, over n = B examples with the
   * sum over the d outputs inside:  L = (1/2n) Σ_b Σ_j (a_bj - y_bj)²,   dL/da = (a - y) / n.
   * ``perEntry`` (mse_mean, scikit-learn's squared loss) divides both by d as well. */
  function meanSquaredError(a, Y, perEntry) {
    var B = a.rows, d = a.cols, total = 0;
    var grad = matrix(B, d);                                             // (B, d)
    for (var r = 0; r < B; r++) {
      var row = 0;
      for (var j = 0; j < d; j++) {
        var diff = a.data[r * d + j] - Y.data[r * d + j];
        row += diff * diff;
        grad.data[r * d + j] = perEntry ? diff / B / d : diff / B;
      }
      total += 0.5 * row;                                                // ½ Σ_j (a - y)²
    }
    return {loss: perEntry ? total / B / d : total / B, grad: grad};
  }

  var LOSSES = ["cross_entropy", "binary_cross_entropy", "mse", "mse_mean"];
  var LOSS_ALIASES = {ce: "cross_entropy", bce: "binary_cross_entropy"};

  /* The loss an output activation implies (softmax → cross-entropy, sigmoid → binary
   * cross-entropy, else MSE) unless ``name`` gives another; the fused ones need their output. */
  function outputLoss(activation, name) {
    var implied = {softmax: "cross_entropy", sigmoid: "binary_cross_entropy"}[activation] || "mse";
    if (name === null || name === undefined) return implied;
    var key = String(name).toLowerCase();
    key = LOSS_ALIASES[key] || key;
    if (LOSSES.indexOf(key) < 0) {
      throw new Error("unknown loss " + show(name) + "; valid names: " +
                      LOSSES.concat(Object.keys(LOSS_ALIASES)).sort().join(", "));
    }
    var fused = {cross_entropy: "softmax", binary_cross_entropy: "sigmoid"}[key];
    if (fused && activation !== fused) {
      throw new Error("loss '" + key + "' is fused with a " + fused + " output; the output " +
                      "activation is '" + activation + "'");
    }
    return key;
  }

  // --- norms ----------------------------------------------------------------------------------
  //
  // All three normalize, then scale by γ (and shift by β), γ = 1 and β = 0 at the start:
  //     batch   over the batch, per feature      x̂ = (x - μ_B) / √(σ²_B + ε)
  //     layer   over the features, per example   x̂ = (x - μ_row) / √(σ²_row + ε)
  //     rms     no centering, per example        x̂ = x / √(mean(x²)_row + ε)
  // μ and σ² depend on every x_j of what they average over, so (σ̂ = √(σ² + ε)):
  //     dx̂ = dy ⊙ γ        dx = (1/σ̂)(dx̂ - mean(dx̂) - x̂ ⊙ mean(dx̂ ⊙ x̂))
  // where the two means are the paths through μ and σ²; rms has only the σ path.

  var NORMS = ["batch", "layer", "rms"];
  var EPS = 1e-5;

  /* The mean of m over axis 0 (one per column: (d,)) or axis 1 (one per row: (B,)). */
  function mean(m, axis) {
    var out = new Float64Array(axis === 0 ? m.cols : m.rows);           // (d,) or (B,)
    for (var r = 0; r < m.rows; r++) {
      for (var c = 0; c < m.cols; c++) out[axis === 0 ? c : r] += m.data[r * m.cols + c];
    }
    var n = axis === 0 ? m.rows : m.cols;
    for (var i = 0; i < out.length; i++) out[i] /= n;
    return out;
  }

  /* Entry (r, c) of a statistic kept per column (axis 0) or per row (axis 1). */
  function stat(v, axis, r, c) {
    return axis === 0 ? v[c] : v[r];
  }

  function makeNorm(name, d) {
    if (name === null || name === undefined || name === "none") return null;
    if (NORMS.indexOf(name) < 0) {
      throw new Error("unknown norm " + show(name) + "; valid names: none, " + NORMS.join(", "));
    }
    var norm = {
      name: name,
      axis: name === "batch" ? 0 : 1,
      gamma: new Float64Array(d).fill(1),                                // (d,) γ
      dgamma: new Float64Array(d),                                       // (d,)
      beta: name === "rms" ? null : new Float64Array(d),                 // (d,) β
      dbeta: name === "rms" ? null : new Float64Array(d),                // (d,)
    };
    if (name === "batch") {
      norm.momentum = 0.1;
      norm.running_mean = new Float64Array(d);                           // (d,)
      norm.running_var = new Float64Array(d).fill(1);                    // (d,)
      norm.num_batches_tracked = 0;
    }
    return norm;
  }

  /* y = x̂ γ + β; keeps x̂, 1/σ̂ and the mode in ``c``. BatchNorm in training normalizes with the
   * batch's biased variance and moves its running statistics (momentum 0.1, the variance made
   * unbiased by B/(B-1)); in evaluation it normalizes with them. */
  function normForward(norm, x, training, c) {
    var B = x.rows, d = x.cols, axis = norm.axis, xc, v, r, j;
    if (norm.name === "rms") {
      xc = x;
      v = mean(map(x, function (t) { return t * t; }), 1);               // (B,) mean square
    } else if (norm.name === "layer" || training) {
      if (norm.name === "batch" && B < 2) {
        throw new Error("batch norm needs more than 1 example per batch in training (got " + B +
                        "); evaluate a single example in evaluation mode");
      }
      var mu = mean(x, axis);                                            // (d,) or (B,)
      xc = matrix(B, d);                                                 // (B, d)
      for (r = 0; r < B; r++) {
        for (j = 0; j < d; j++) xc.data[r * d + j] = x.data[r * d + j] - stat(mu, axis, r, j);
      }
      v = mean(map(xc, function (t) { return t * t; }), axis);           // biased σ²
      if (norm.name === "batch") {
        var m = norm.momentum;
        for (j = 0; j < d; j++) {
          norm.running_mean[j] = norm.running_mean[j] * (1 - m) + m * mu[j];
          norm.running_var[j] = norm.running_var[j] * (1 - m) + m * v[j] * (B / (B - 1));
        }
        norm.num_batches_tracked += 1;
      }
    } else {
      xc = matrix(B, d);                                                 // (B, d)
      for (r = 0; r < B; r++) {
        for (j = 0; j < d; j++) xc.data[r * d + j] = x.data[r * d + j] - norm.running_mean[j];
      }
      v = norm.running_var;                                              // (d,)
    }
    c.training = training;
    c.inv_std = v.map(function (s) { return 1 / Math.sqrt(s + EPS); });  // (d,) or (B,) 1/σ̂
    c.x_hat = matrix(B, d);                                              // (B, d)
    var y = matrix(B, d);                                                // (B, d)
    for (r = 0; r < B; r++) {
      for (j = 0; j < d; j++) {
        var i = r * d + j;
        c.x_hat.data[i] = xc.data[i] * stat(c.inv_std, axis, r, j);
        y.data[i] = c.x_hat.data[i] * norm.gamma[j];
        if (norm.beta) y.data[i] += norm.beta[j];
      }
    }
    return y;
  }

  /* Fills dγ = Σ_batch dy ⊙ x̂ and dβ = Σ_batch dy; returns dx (see above). */
  function normBackward(norm, g, c) {
    var B = g.rows, d = g.cols, axis = norm.axis, r, j, i;
    norm.dgamma.fill(0);
    if (norm.dbeta) norm.dbeta.fill(0);
    var dx_hat = matrix(B, d);                                           // (B, d)
    for (r = 0; r < B; r++) {
      for (j = 0; j < d; j++) {
        i = r * d + j;
        norm.dgamma[j] += g.data[i] * c.x_hat.data[i];
        if (norm.dbeta) norm.dbeta[j] += g.data[i];
        dx_hat.data[i] = g.data[i] * norm.gamma[j];
      }
    }
    var dx = matrix(B, d);                                               // (B, d)
    if (norm.name === "batch" && !c.training) {     // running statistics: constants
      for (i = 0; i < dx.data.length; i++) dx.data[i] = dx_hat.data[i] * c.inv_std[i % d];
      return dx;
    }
    var proj = mean(map2(dx_hat, c.x_hat, function (a, b) { return a * b; }), axis);   // σ² path
    var centre = norm.name === "rms" ? null : mean(dx_hat, axis);                       // μ path
    for (r = 0; r < B; r++) {
      for (j = 0; j < d; j++) {
        i = r * d + j;
        var t = centre ? dx_hat.data[i] - stat(centre, axis, r, j) : dx_hat.data[i];
        dx.data[i] = stat(c.inv_std, axis, r, j) * (t - c.x_hat.data[i] * stat(proj, axis, r, j));
      }
    }
    return dx;
  }

  // --- random numbers and initial weights ---------------------------------------------------

  /* A small seeded generator: mulberry32 (32 bits of state) for uniforms in [0, 1), Box–Muller
   * for normals. It is not NumPy's generator: the same seed gives other numbers than handgrad
   * (copy handgrad's weights in with loadStateDict to start from the same network). */
  function Rng(seed) {
    this.state = (Number(seed) || 0) >>> 0;
    this.spare = null;
  }
  Rng.prototype.random = function () {
    var t = this.state = (this.state + 0x6D2B79F5) >>> 0;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  Rng.prototype.normal = function () {
    if (this.spare !== null) {
      var kept = this.spare;
      this.spare = null;
      return kept;
    }
    var u = 1 - this.random(), v = this.random();          // u in (0, 1]: log u is finite
    var radius = Math.sqrt(-2 * Math.log(u)), angle = 2 * Math.PI * v;
    this.spare = radius * Math.sin(angle);
    return radius * Math.cos(angle);
  };
  Rng.prototype.uniform = function (lo, hi) {
    return lo + (hi - lo) * this.random();
  };
  /* 0 .. n-1 in random order (Fisher–Yates). */
  Rng.prototype.permutation = function (n) {
    var order = new Int32Array(n);                         // (n,)
    for (var i = 0; i < n; i++) order[i] = i;
    for (i = n - 1; i > 0; i--) {
      var j = Math.floor(this.random() * (i + 1)), t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
    return order;
  };

  /* A (d_out, d_in) weight's entries, drawn as handgrad's initializers draw them:
   * He keeps Var(z) through ReLU layers (2/n_in), Xavier for tanh and sigmoid (2/(n_in + n_out)). */
  var INITIALIZERS = {
    he: function (rng, d_out, d_in) { return rng.normal() * Math.sqrt(2 / d_in); },
    he_normal: function (rng, d_out, d_in) { return rng.normal() * Math.sqrt(2 / d_in); },
    he_uniform: function (rng, d_out, d_in) {
      var bound = Math.sqrt(6 / d_in);
      return rng.uniform(-bound, bound);
    },
    xavier: function (rng, d_out, d_in) {
      var bound = Math.sqrt(6 / (d_in + d_out));
      return rng.uniform(-bound, bound);
    },
    xavier_normal: function (rng, d_out, d_in) { return rng.normal() * Math.sqrt(2 / (d_in + d_out)); },
    xavier_uniform: function (rng, d_out, d_in) {
      var bound = Math.sqrt(6 / (d_in + d_out));
      return rng.uniform(-bound, bound);
    },
    gpt2: function (rng) { return rng.normal() * 0.02; },
    normal: function (rng) { return rng.normal(); },
  };

  // --- optimizers, as handgrad.optim (and torch.optim) define them ----------------------------
  //
  // Each updates flat Float64Arrays in place, name by name, and keeps its state by name.

  function checkRate(lr) {
    if (typeof lr !== "number" || !(lr > 0) || !isFinite(lr)) {
      throw new Error("learning rate must be a positive number; got " + show(lr));
    }
  }

  /* SGD with optional momentum μ, Nesterov and L2 weight decay λ (PyTorch's convention: the
   * learning rate stays outside the velocity):
   *     g ← g + λθ;   v ← μv + g (v starts as the first g);   d = g + μv if Nesterov else v;
   *     θ ← θ - lr·d */
  function SGD(lr, momentum, nesterov, weight_decay) {
    checkRate(lr);
    if (nesterov && !(momentum > 0)) throw new Error("Nesterov momentum needs momentum > 0");
    this.name = "sgd";
    this.lr = lr;
    this.momentum = momentum;
    this.nesterov = nesterov;
    this.weight_decay = weight_decay;
    this.t = 0;
    this.state = {};                                       // name -> {velocity}
  }
  SGD.prototype.update = function (name, p, g) {
    var n = p.length, i, lr = this.lr, mu = this.momentum, wd = this.weight_decay;
    if (wd) {
      var decayed = new Float64Array(n);                   // (…) g + λθ: the gradient stays intact
      for (i = 0; i < n; i++) decayed[i] = g[i] + wd * p[i];
      g = decayed;
    }
    if (mu) {
      var slots = this.state[name] || (this.state[name] = {});
      if (!slots.velocity) {
        slots.velocity = Float64Array.from(g);             // PyTorch starts v at the first gradient
      } else {
        for (i = 0; i < n; i++) slots.velocity[i] = slots.velocity[i] * mu + g[i];   // μv + g
      }
      var v = slots.velocity;
      if (this.nesterov) {
        var ahead = new Float64Array(n);                   // (…) g + μv
        for (i = 0; i < n; i++) ahead[i] = g[i] + mu * v[i];
        g = ahead;
      } else {
        g = v;
      }
    }
    for (i = 0; i < n; i++) p[i] -= g[i] * lr;             // θ ← θ - lr·d
  };

  /* Adam with bias correction (Kingma & Ba), as torch.optim.Adam; AdamW decouples the decay:
   *     g ← g + λθ                  (Adam's weight_decay: L2 in the gradient)
   *     θ ← θ - lr·λ·θ              (AdamW's, before the step, with the plain gradient)
   *     m ← β1 m + (1-β1) g;   v ← β2 v + (1-β2) g²
   *     θ ← θ - lr/(1-β1ᵗ) · m / (√v / √(1-β2ᵗ) + ε)      ε after the square root */
  function Adam(lr, betas, eps, weight_decay, decoupled) {
    checkRate(lr);
    this.name = decoupled ? "adamw" : "adam";
    this.lr = lr;
    this.betas = betas;
    this.eps = eps;
    this.weight_decay = weight_decay;
    this.decoupled = decoupled;
    this.t = 0;
    this.state = {};                                       // name -> {m, v}
  }
  Adam.prototype.update = function (name, p, g) {
    var n = p.length, i, lr = this.lr, wd = this.weight_decay;
    var b1 = this.betas[0], b2 = this.betas[1];
    if (wd && this.decoupled) {
      for (i = 0; i < n; i++) p[i] *= 1 - lr * wd;         // decoupled decay, first
    } else if (wd) {
      var decayed = new Float64Array(n);                   // (…) g + λθ
      for (i = 0; i < n; i++) decayed[i] = g[i] + wd * p[i];
      g = decayed;
    }
    var slots = this.state[name] || (this.state[name] = {m: new Float64Array(n), v: new Float64Array(n)});
    var m = slots.m, v = slots.v;
    var step_size = lr / (1 - Math.pow(b1, this.t));
    var root_correction = Math.sqrt(1 - Math.pow(b2, this.t));
    for (i = 0; i < n; i++) {
      m[i] = m[i] * b1 + g[i] * (1 - b1);                  // first moment
      v[i] = v[i] * b2 + g[i] * g[i] * (1 - b2);           // second moment
      var denom = Math.sqrt(v[i]) / root_correction + this.eps;   // √v̂ + ε
      p[i] -= m[i] / denom * step_size;
    }
  };

  /* One update of every parameter (name -> Float64Array) from its gradient. */
  function optimizerStep(opt, params, grads) {
    opt.t += 1;
    Object.keys(params).forEach(function (name) { opt.update(name, params[name], grads[name]); });
  }

  var OPTIMIZERS = ["sgd", "momentum", "nesterov", "adam", "adamw"];

  /* An optimizer from its name, as handgrad.optim.make_optimizer: "momentum" is SGD with
   * momentum 0.9 unless given, "nesterov" the same with Nesterov; weight_decay null means each
   * one's PyTorch default (0, or 0.01 for AdamW). */
  function makeOptimizer(name, s) {
    var key = String(name).toLowerCase(), momentum = s.momentum || 0, nesterov = !!s.nesterov;
    if (key === "momentum" || key === "nesterov") {
      momentum = momentum || 0.9;
      nesterov = nesterov || key === "nesterov";
      key = "sgd";
    }
    if (["sgd", "adam", "adamw"].indexOf(key) < 0) {
      throw new Error("unknown optimizer " + show(name) + "; valid names: " + OPTIMIZERS.join(", "));
    }
    nonNegative(momentum, "momentum");
    nonNegative(s.weight_decay || 0, "weight_decay");
    nonNegative(s.eps === undefined ? 0 : s.eps, "eps");
    var betas = s.betas || [0.9, 0.999];
    if (!Array.isArray(betas) || betas.length !== 2 ||
        !betas.every(function (b) { return typeof b === "number" && b >= 0 && b < 1; })) {
      throw new Error("betas must be two numbers in [0, 1); got " + show(s.betas));
    }
    var wd = s.weight_decay;
    if (key === "sgd") return new SGD(s.lr, momentum, nesterov, wd || 0);
    var decay = wd === null || wd === undefined ? (key === "adamw" ? 0.01 : 0) : wd;
    return new Adam(s.lr, betas, s.eps === undefined ? 1e-8 : s.eps, decay, key === "adamw");
  }

  // --- penalties, as handgrad.nn.penalties defines them ---------------------------------------
  //
  //     L1:  R = λ Σ|θ|,       dR/dθ = λ sign θ   (0 at θ = 0)
  //     L2:  R = (λ/2) Σ θ²,   dR/dθ = λ θ        (what weight_decay adds to the gradient)
  // over every parameter, as the optimizers' weight_decay is.

  function addL1Grad(params, grads, lam) {
    Object.keys(params).forEach(function (name) {
      var p = params[name], g = grads[name];
      for (var i = 0; i < p.length; i++) g[i] += lam * Math.sign(p[i]);
    });
  }

  // --- one layer ------------------------------------------------------------------------------

  /* a = dropout(f(norm(a_prev Wᵀ + b))), W (d_out, d_in). The last training forward pass
   * leaves its arrays here for the backward pass (and for anyone watching):
   *     x (B, d_in) the input a_prev    z (B, d_out)      h = norm(z) (z itself without a norm)
   *     a (B, d_out) the output         mask (B, d_out) 0 or 1/(1-p), null without dropout
   * and the backward pass its gradients:
   *     grad_a = dL/da    grad_h = dL/dh    delta = dL/dz    dW, db (and the norm's dgamma, dbeta)
   * ``act`` and ``normCache`` hold what the activation and the norm kept (softmax: a, lse). */
  function Layer(d_in, d_out, activation, options) {
    this.W = matrix(d_out, d_in);                                        // (d_out, d_in)
    this.b = options.bias ? new Float64Array(d_out) : null;              // (d_out,)
    this.dW = matrix(d_out, d_in);                                       // (d_out, d_in)
    this.db = options.bias ? new Float64Array(d_out) : null;             // (d_out,)
    this.activation = activation;
    this.norm = makeNorm(options.norm, d_out);
    this.p = options.dropout;
    this.needsInputGrad = true;
    this.x = this.z = this.h = this.a = this.mask = null;
    this.grad_a = this.grad_h = this.delta = null;
    this.act = null;
    this.normCache = null;
  }

  /* z = x Wᵀ + b: z_bj = Σ_i x_bi W_ji + b_j. */
  function linear(x, W, b) {
    var B = x.rows, d_in = W.cols, d_out = W.rows;
    var z = matrix(B, d_out);                              // (B, d_in) @ (d_in, d_out) -> (B, d_out)
    for (var r = 0; r < B; r++) {
      for (var j = 0; j < d_out; j++) {
        var s = 0;
        for (var i = 0; i < d_in; i++) s += x.data[r * d_in + i] * W.data[j * d_in + i];
        z.data[r * d_out + j] = b ? s + b[j] : s;          // + (d_out,), broadcast over the batch
      }
    }
    return z;
  }

  /* The forward pass of a batch x (B, d_in), its arrays left in ``c``: the layer itself in
   * training (for the backward pass and the backprop view), a fresh object in evaluation.
   * ``keepMask`` (B, d_out) of 0 and 1, when given, is the dropout mask; else one is drawn from
   * ``rng``. Returns a. */
  Layer.prototype.run = function (x, training, c, keepMask, rng) {
    c.x = x;                                                             // (B, d_in)
    c.z = linear(x, this.W, this.b);                                     // (B, d_out)
    c.normCache = this.norm ? {} : null;
    c.h = this.norm ? normForward(this.norm, c.z, training, c.normCache) : c.z;   // (B, d_out)
    c.act = {};
    var a = this.activation.forward(c.h, c.act);                         // (B, d_out)
    c.mask = null;
    if (training && this.p > 0) {
      var scale = 1 / (1 - this.p), p = this.p;
      c.mask = matrix(a.rows, a.cols);                                   // (B, d_out) 0 or 1/(1-p)
      for (var i = 0; i < c.mask.data.length; i++) {
        var kept = keepMask ? keepMask.data[i] : (rng.random() >= p ? 1 : 0);
        c.mask.data[i] = kept * scale;
      }
      a = map2(a, c.mask, function (ai, mi) { return ai * mi; });       // (B, d_out)
    }
    c.a = a;
    return a;
  };

  /* Given grad_a = dL/da (B, d_out): through the dropout mask, δ = dL/da ⊙ f'(h) through the
   * activation, then the norm's backward, then the linear one. Returns dL/da_prev. */
  Layer.prototype.backward = function (grad_a) {
    this.grad_a = grad_a;                                                // (B, d_out)
    var g = this.mask ? map2(grad_a, this.mask, function (gi, mi) { return gi * mi; }) : grad_a;
    this.grad_h = this.activation.backward(g, this.act);                 // (B, d_out) ⊙ f'(h)
    var delta = this.norm ? normBackward(this.norm, this.grad_h, this.normCache) : this.grad_h;
    return this.backwardDelta(delta);                                    // (B, d_in) or null
  };

  /* Given δ = dL/dz (B, d_out) and the input x (B, d_in) the forward pass kept:
   *     dW = δᵀ x         (d_out, B) @ (B, d_in) -> (d_out, d_in), since ∂z_bj/∂W_ji = x_bi
   *     db = Σ_batch δ    (B, d_out) -> (d_out,),                   since ∂z_bj/∂b_j = 1
   *     dx = δ W          (B, d_out) @ (d_out, d_in) -> (B, d_in),  since ∂z_bj/∂x_bi = W_ji
   * The first layer skips dx: nobody needs dL/dX. */
  Layer.prototype.backwardDelta = function (delta) {
    this.delta = delta;
    var B = delta.rows, d_out = this.W.rows, d_in = this.W.cols, x = this.x, r, j, i;
    for (j = 0; j < d_out; j++) {
      for (i = 0; i < d_in; i++) {
        var s = 0;
        for (r = 0; r < B; r++) s += delta.data[r * d_out + j] * x.data[r * d_in + i];
        this.dW.data[j * d_in + i] = s;
      }
      if (this.db) {
        var t = 0;
        for (r = 0; r < B; r++) t += delta.data[r * d_out + j];
        this.db[j] = t;
      }
    }
    if (!this.needsInputGrad) return null;
    var dx = matrix(B, d_in);                                            // (B, d_in)
    for (r = 0; r < B; r++) {
      for (i = 0; i < d_in; i++) {
        var u = 0;
        for (j = 0; j < d_out; j++) u += delta.data[r * d_out + j] * this.W.data[j * d_in + i];
        dx.data[r * d_in + i] = u;
      }
    }
    return dx;
  };

  // --- the network ----------------------------------------------------------------------------

  var SPEC_KEYS = ["layer_sizes", "activations", "loss", "norm", "dropout", "bias", "init",
                   "output_scale", "dtype", "seed", "optimizer", "lr", "momentum", "nesterov",
                   "betas", "eps", "l1", "l2"];

  function perLayer(value, n, what) {
    if (Array.isArray(value)) {
      if (value.length !== n) {
        throw new Error(what + " needs " + n + " entries (one per layer); got " + value.length);
      }
      return value.slice();
    }
    var out = [];
    for (var i = 0; i < n; i++) out.push(value);
    return out;
  }

  function nonNegative(value, what) {
    if (typeof value !== "number" || !(value >= 0) || !isFinite(value)) {
      throw new Error(what + " must be a number ≥ 0; got " + show(value));
    }
    return value;
  }

  /* The MLP of ``spec`` (handgrad's MLP.spec, plus the training settings):
   *     layer_sizes   [n_0, n_1, ..., n_L], at least 2 positive whole numbers
   *     activations   one per weight layer, or one name for all (default: relu hidden layers and
   *                   a softmax output); a name or {name: "leaky_relu", alpha}
   *     loss          cross_entropy | binary_cross_entropy | mse | mse_mean; default from the
   *                   output: softmax → cross_entropy, sigmoid → binary_cross_entropy, else mse
   *     norm          none | batch | layer | rms, for every hidden layer or a list of them
   *     dropout       probability in [0, 1), for every hidden layer or a list
   *     bias          true (default) or false, for every layer or a list
   *     init          he (default), he_normal, he_uniform, xavier, xavier_normal, xavier_uniform,
   *                   gpt2, normal;  output_scale multiplies the output layer's weight (default 1)
   *     seed          the twin's generator: weights, shuffling, dropout masks (default 0)
   *     optimizer     sgd (default) | momentum | nesterov | adam | adamw, with lr (default 0.1),
   *                   momentum, nesterov, betas, eps
   *     l2            weight decay λ: added to the gradient as λθ (SGD, Adam), or decoupled
   *                   (AdamW); null means each optimizer's default (0, AdamW 0.01)
   *     l1            λ sign(θ) added to every parameter's gradient before the update
   *     dtype         accepted and ignored: the twin computes in float64 */
  function MLP(spec) {
    if (spec === null || typeof spec !== "object" || Array.isArray(spec)) {
      throw new Error("the twin is built from a spec object ({layer_sizes: [...], ...}); got " +
                      show(spec));
    }
    var unknown = Object.keys(spec).filter(function (k) { return SPEC_KEYS.indexOf(k) < 0; });
    if (unknown.length) {
      throw new Error("unknown setting '" + unknown[0] + "'; known settings: " +
                      SPEC_KEYS.slice().sort().join(", "));
    }
    var sizes = spec.layer_sizes;
    if (!Array.isArray(sizes) || sizes.length < 2 ||
        !sizes.every(function (n) { return Number.isInteger(n) && n >= 1; })) {
      throw new Error("layer_sizes needs at least 2 positive whole numbers; got " + show(sizes));
    }
    var L = sizes.length - 1;
    var acts = spec.activations;
    if (acts === undefined || acts === null) {
      acts = [];
      for (var l = 0; l < L - 1; l++) acts.push("relu");
      acts.push("softmax");
    }
    acts = perLayer(acts, L, "activations").map(getActivation);
    var norms = perLayer(spec.norm === undefined ? null : spec.norm, L - 1, "norm").concat([null]);
    var drops = perLayer(spec.dropout === undefined ? 0 : spec.dropout, L - 1, "dropout").concat([0]);
    var biases = perLayer(spec.bias === undefined ? true : spec.bias, L, "bias");
    drops.forEach(function (p) {
      if (typeof p !== "number" || !(p >= 0 && p < 1)) {
        throw new Error("dropout must be a probability in [0, 1); got " + show(p));
      }
    });
    var init = spec.init === undefined ? "he" : spec.init;
    if (!Object.prototype.hasOwnProperty.call(INITIALIZERS, init)) {
      throw new Error("unknown init method " + show(init) + "; valid names: " +
                      Object.keys(INITIALIZERS).join(", "));
    }
    this.l1 = nonNegative(spec.l1 === undefined ? 0 : spec.l1, "l1");
    var l2 = spec.l2 === undefined || spec.l2 === null ? null : nonNegative(spec.l2, "l2");
    this.layer_sizes = sizes.slice();
    this.loss_name = outputLoss(acts[L - 1].name, spec.loss);
    this.task = {softmax: "classification", sigmoid: "binary"}[acts[L - 1].name] || "regression";
    this.rng = new Rng(spec.seed === undefined ? 0 : spec.seed);
    this.layers = [];
    for (l = 0; l < L; l++) {
      var layer = new Layer(sizes[l], sizes[l + 1], acts[l],
                            {bias: !!biases[l], norm: norms[l], dropout: drops[l]});
      var draw = INITIALIZERS[init], W = layer.W;
      for (var k = 0; k < W.data.length; k++) W.data[k] = draw(this.rng, W.rows, W.cols);
      this.layers.push(layer);
    }
    var scale = spec.output_scale === undefined ? 1 : spec.output_scale;
    if (scale !== 1) this.layers[L - 1].W.data.forEach(function (w, k, data) { data[k] = w * scale; });
    this.layers[0].needsInputGrad = false;
    this.optimizer = makeOptimizer(spec.optimizer === undefined ? "sgd" : spec.optimizer, {
      lr: spec.lr === undefined ? 0.1 : spec.lr, momentum: spec.momentum, nesterov: spec.nesterov,
      betas: spec.betas, eps: spec.eps, weight_decay: l2,
    });
    this.loss = null;          // the loss of the last backward pass
  }

  // --- names and arrays, as handgrad names them

  /* Every parameter by handgrad's name: layers.{i}.weight (d_out, d_in) and layers.{i}.bias,
   * layers.{i}.norm.weight (γ) and layers.{i}.norm.bias (β); each a Float64Array (row-major
   * for a weight), the live array (change it and the network changes). */
  MLP.prototype.params = function () {
    return this._named(function (layer) {
      return {weight: layer.W.data, bias: layer.b, "norm.weight": layer.norm && layer.norm.gamma,
              "norm.bias": layer.norm && layer.norm.beta};
    });
  };

  /* Every gradient of the last backward pass (after step: with the L1 term added), by the
   * parameters' names. */
  MLP.prototype.grads = function () {
    return this._named(function (layer) {
      return {weight: layer.dW.data, bias: layer.db, "norm.weight": layer.norm && layer.norm.dgamma,
              "norm.bias": layer.norm && layer.norm.dbeta};
    });
  };

  MLP.prototype._named = function (pick) {
    var out = {};
    this.layers.forEach(function (layer, i) {
      var arrays = pick(layer);
      Object.keys(arrays).forEach(function (k) {
        if (arrays[k]) out["layers." + i + "." + k] = arrays[k];
      });
    });
    return out;
  };

  /* The shape of every parameter and buffer by name: [d_out, d_in], [d] or [] (a count). */
  MLP.prototype.shapes = function () {
    var out = {};
    this.layers.forEach(function (layer, i) {
      var at = "layers." + i + ".";
      out[at + "weight"] = [layer.W.rows, layer.W.cols];
      if (layer.b) out[at + "bias"] = [layer.b.length];
      if (layer.norm) {
        var d = layer.norm.gamma.length;
        out[at + "norm.weight"] = [d];
        if (layer.norm.beta) out[at + "norm.bias"] = [d];
        if (layer.norm.running_mean) {
          out[at + "norm.running_mean"] = [d];
          out[at + "norm.running_var"] = [d];
          out[at + "norm.num_batches_tracked"] = [];
        }
      }
    });
    return out;
  };

  function nest(flat, dims) {
    if (dims.length === 0) return flat;
    if (dims.length === 1) return Array.from(flat);
    return toArrays(matrix(dims[0], dims[1], flat));
  }

  /* Parameters and buffers (batch norm's running statistics) as nested arrays by handgrad's
   * names: handgrad's MLP.state_dict() with .tolist() on every array. */
  MLP.prototype.stateDict = function () {
    var shapes = this.shapes(), params = this.params(), out = {};
    this.layers.forEach(function (layer, i) {
      if (layer.norm && layer.norm.running_mean) {
        var at = "layers." + i + ".norm.";
        params[at + "running_mean"] = layer.norm.running_mean;
        params[at + "running_var"] = layer.norm.running_var;
        params[at + "num_batches_tracked"] = layer.norm.num_batches_tracked;
      }
    });
    Object.keys(shapes).forEach(function (name) { out[name] = nest(params[name], shapes[name]); });
    return out;
  };

  /* Every gradient as nested arrays by the parameters' names. */
  MLP.prototype.gradDict = function () {
    var shapes = this.shapes(), grads = this.grads(), out = {};
    Object.keys(grads).forEach(function (name) { out[name] = nest(grads[name], shapes[name]); });
    return out;
  };

  /* Copy ``state`` (name -> nested arrays, as stateDict gives or handgrad's state_dict with
   * .tolist()) into the network. Names and shapes must match exactly; the Error lists every
   * difference. The optimizer's state is kept. */
  MLP.prototype.loadStateDict = function (state) {
    if (state === null || typeof state !== "object" || Array.isArray(state)) {
      throw new Error("a state dict is an object from parameter names to arrays; got " + show(state));
    }
    var shapes = this.shapes(), names = Object.keys(shapes);
    var missing = names.filter(function (k) { return !(k in state); }).sort();
    var unexpected = Object.keys(state).filter(function (k) { return !(k in shapes); }).sort();
    var wrong = [];
    names.forEach(function (k) {
      if (!(k in state)) return;
      var dims = dimsOf(state[k]);
      if (dims === null) {
        wrong.push(k + ": expected " + shapeText(shapes[k]) + " numbers, got a ragged array or " +
                   "one holding a non-number");
      } else if (dims.join() !== shapes[k].join()) {
        wrong.push(k + ": expected " + shapeText(shapes[k]) + ", got " + shapeText(dims));
      }
    });
    if (missing.length || unexpected.length || wrong.length) {
      var lines = ["state dict does not match the model:"];
      if (missing.length) lines.push("  missing keys: " + missing.join(", "));
      if (unexpected.length) lines.push("  unexpected keys: " + unexpected.join(", "));
      wrong.forEach(function (w) { lines.push("  wrong shape: " + w); });
      throw new Error(lines.join("\n"));
    }
    var flat = {};                                         // name -> the numbers, row by row
    names.forEach(function (k) {
      var rows = shapes[k].length === 2 ? Array.from(state[k]) : [state[k]];
      var values = [];
      rows.forEach(function (row) { values.push.apply(values, typeof row === "number" ? [row] : Array.from(row)); });
      values.forEach(function (v) {
        if (!isFinite(v)) throw new Error(k + " holds " + show(v) + "; expected finite numbers");
      });
      flat[k] = values;
    });
    var arrays = this.params();                            // checked: now copy, nothing before
    this.layers.forEach(function (layer, i) {
      var norm = layer.norm;
      if (!norm || !norm.running_mean) return;
      var at = "layers." + i + ".norm.";
      arrays[at + "running_mean"] = norm.running_mean;
      arrays[at + "running_var"] = norm.running_var;
      norm.num_batches_tracked = flat[at + "num_batches_tracked"][0];
    });
    names.forEach(function (k) {
      if (shapes[k].length) arrays[k].set(flat[k]);
    });
  };

  // --- what comes in

  MLP.prototype.checkX = function (X) {
    return toMatrix(X, "X", this.layer_sizes[0]);
  };

  /* Targets in the form the loss takes: labels (B,) for a softmax output (one-hot rows when the
   * loss is MSE), 0/1 or numbers (B, d) otherwise. */
  MLP.prototype.targets = function (y, B) {
    var K = this.layer_sizes[this.layer_sizes.length - 1];
    if (!Array.isArray(y) && !ArrayBuffer.isView(y) && !isMatrix(y)) {
      throw new Error("y must be an array with one target per example; got " + show(y));
    }
    var n = isMatrix(y) ? y.rows : y.length;
    if (n !== B) throw new Error("X has " + B + " samples but y has " + n);
    if (this.task === "classification") {
      var labels = new Int32Array(B);                                    // (B,)
      for (var i = 0; i < B; i++) {
        if (!Number.isInteger(y[i]) || y[i] < 0 || y[i] >= K) {
          throw new Error("labels must be integers in [0, " + K + ") for a " + K + "-class " +
                          "output; got " + show(y[i]) + " at index " + i);
        }
        labels[i] = y[i];
      }
      if (this.loss_name === "cross_entropy") return labels;
      var Y = matrix(B, K);                                              // (B, K) one-hot
      for (i = 0; i < B; i++) Y.data[i * K + labels[i]] = 1;
      return Y;
    }
    var rows = isMatrix(y) ? y : (Array.isArray(y[0]) || ArrayBuffer.isView(y[0]) ? y :
                                  Array.prototype.map.call(y, function (v) { return [v]; }));
    var T = toMatrix(rows, "y", K);                                      // (B, K)
    if (this.loss_name === "binary_cross_entropy" &&
        !T.data.every(function (v) { return v === 0 || v === 1; })) {
      throw new Error("binary cross-entropy targets must be 0 or 1");
    }
    return T;
  };

  // --- the lesson: forward, backward, update

  /* The output a(L) (B, n_L) of a batch X (B, n_0); every layer keeps its arrays for the
   * backward pass. options: {training: true (default; false: batch norm's running statistics,
   * no dropout), masks: [one (B, n_l) array of 0 and 1 per hidden layer, or null]}; without
   * masks, dropout draws them from the twin's generator. */
  MLP.prototype.forward = function (X, options) {
    return this._forward(this.checkX(X), options || {});
  };

  MLP.prototype._forward = function (X, options) {
    var training = options.training === undefined ? true : !!options.training;
    var masks = options.masks || [];
    var a = X;                                                           // (B, n_0)
    for (var l = 0; l < this.layers.length; l++) {
      var layer = this.layers[l], keepMask = null;
      if (training && layer.p > 0 && masks[l]) {
        keepMask = toMatrix(masks[l], "masks[" + l + "]", layer.W.rows);
        if (keepMask.rows !== a.rows) {
          throw new Error("masks[" + l + "] has " + keepMask.rows + " rows; the batch has " + a.rows);
        }
      }
      a = layer.run(a, training, layer, keepMask, this.rng);             // (B, n_{l-1}) -> (B, n_l)
    }
    return a;                                                            // (B, n_L)
  };

  /* The loss and its gradient for the output layer's arrays ``out`` against targets T:
   * dL/dz for cross-entropy and binary cross-entropy (fused), dL/da for MSE. */
  MLP.prototype._outputLoss = function (out, T) {
    if (this.loss_name === "cross_entropy") return crossEntropy(out.z, out.act.a, out.act.lse, T);
    if (this.loss_name === "binary_cross_entropy") return binaryCrossEntropy(out.z, T);
    return meanSquaredError(out.a, T, this.loss_name === "mse_mean");
  };

  /* The loss of the last forward pass against y; fills every gradient. The output layer's δ
   * comes from the fused loss ((p - y)/B, (σ(z) - y)/B) or from MSE's (a - y)/n times f';
   * every hidden layer then follows δ(l) = (δ(l+1) W(l+1)) ⊙ f'(h(l)). */
  MLP.prototype.backward = function (y) {
    var out = this.layers[this.layers.length - 1];
    if (!out.z) {
      throw new Error("backward needs the arrays of a forward pass: call forward(X) first");
    }
    return this._backward(this.targets(y, out.z.rows));
  };

  MLP.prototype._backward = function (T) {
    var out = this.layers[this.layers.length - 1];
    var result = this._outputLoss(out, T), g;
    if (this.loss_name === "cross_entropy" || this.loss_name === "binary_cross_entropy") {
      out.grad_a = out.grad_h = null;
      g = out.backwardDelta(result.grad);                                // δ(L) = dL/dz, fused
    } else {
      g = out.backward(result.grad);                                     // dL/da ⊙ f'(z)
    }
    for (var l = this.layers.length - 2; l >= 0; l--) {
      g = this.layers[l].backward(g);                                    // (B, n_l) -> (B, n_{l-1})
    }
    this.loss = result.loss;
    return result.loss;
  };

  /* L1's λ sign(θ) added to every gradient, then the optimizer's update (which applies l2). */
  MLP.prototype._update = function () {
    if (this.l1) addL1Grad(this.params(), this.grads(), this.l1);
    optimizerStep(this.optimizer, this.params(), this.grads());
  };

  /* One optimizer step on one mini-batch: forward (training), backward, then the update: L1's
   * λ sign(θ) added to every gradient and the optimizer's step (which applies l2). Returns the
   * batch's loss (the data loss, without the penalties). options as for forward. */
  MLP.prototype.step = function (X, y, options) {
    X = this.checkX(X);
    var T = this.targets(y, X.rows);
    this._forward(X, options || {});
    var loss = this._backward(T);
    this._update();
    return loss;
  };

  /* Steps taken so far. */
  Object.defineProperty(MLP.prototype, "t", {get: function () { return this.optimizer.t; }});

  /* The penalties' value: l1 Σ|θ| + (l2/2) Σθ² over every parameter (not part of the loss). */
  MLP.prototype.penalty = function () {
    var params = this.params(), l1 = this.l1, l2 = this.optimizer.weight_decay, total = 0;
    Object.keys(params).forEach(function (name) {
      params[name].forEach(function (w) { total += l1 * Math.abs(w) + 0.5 * l2 * w * w; });
    });
    return total;
  };

  /* One pass over (X, y) in mini-batches of ``batchSize`` (a last short batch included), in an
   * order drawn from the twin's generator unless ``shuffle`` is false, one step each, as
   * handgrad's training loop does. Stops at the first batch whose loss is not finite. Returns
   * {loss: the mean batch loss weighted by batch size (or the bad loss), steps, finite}. */
  MLP.prototype.epoch = function (X, y, batchSize, shuffle) {
    X = this.checkX(X);
    var n = X.rows, T = this.targets(y, n);
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new Error("batchSize must be a positive whole number; got " + show(batchSize));
    }
    var B = Math.min(batchSize, n), total = 0, steps = 0;
    var order = shuffle === false ? Int32Array.from({length: n}, function (_, i) { return i; })
                                  : this.rng.permutation(n);                  // (n,)
    for (var s = 0; s < n; s += B) {
      var end = Math.min(s + B, n);
      var Tb = isMatrix(T) ? takeRows(T, order, s, end) : order.subarray(s, end).map(function (i) { return T[i]; });
      this._forward(takeRows(X, order, s, end), {});                         // (b, n_0)
      var loss = this._backward(Tb);
      this._update();
      steps += 1;
      if (!isFinite(loss)) return {loss: loss, steps: steps, finite: false};
      total += loss * (end - s);
    }
    return {loss: total / n, steps: steps, finite: true};
  };

  // --- evaluation: nothing kept, the training arrays stay as they were

  /* Each layer's arrays for X in evaluation mode, in fresh objects ({x, z, h, a, act}). */
  MLP.prototype._infer = function (X) {
    var a = X, out = [];                                                 // (n, n_0)
    for (var l = 0; l < this.layers.length; l++) {
      var c = {};
      a = this.layers[l].run(a, false, c, null, null);                   // (n, n_l)
      out.push(c);
    }
    return out;
  };

  /* Every layer's output a(l) for X in evaluation mode: [a(1), ..., a(L)], each an (n, n_l)
   * matrix; nothing is kept (the neuron pictures). */
  MLP.prototype.layerOutputs = function (X) {
    return this._infer(this.checkX(X)).map(function (c) { return c.a; });
  };

  /* The output a(L) (n, n_L) in evaluation mode: probabilities for softmax, σ for sigmoid,
   * values for a regression. */
  MLP.prototype.output = function (X) {
    var outs = this._infer(this.checkX(X));
    return outs[outs.length - 1].a;
  };

  /* Class probabilities (n, K); for a sigmoid output, (n, 2) as [1 - p, p]. */
  MLP.prototype.predictProba = function (X) {
    if (this.task === "regression") {
      throw new Error("predictProba needs a softmax or sigmoid output; this network regresses");
    }
    var out = this.output(X);
    if (this.task === "classification") return out;
    var P = matrix(out.rows, 2);                                         // (n, 2)
    for (var r = 0; r < out.rows; r++) {
      P.data[2 * r] = 1 - out.data[r];
      P.data[2 * r + 1] = out.data[r];
    }
    return P;
  };

  /* Class labels (the most probable class) as an array, or the regression output: an array of
   * numbers for one output, nested arrays for several. */
  MLP.prototype.predict = function (X) {
    return this._labels(this.output(X));
  };

  MLP.prototype._labels = function (out) {
    var labels = [], r;
    if (this.task === "regression") return out.cols === 1 ? Array.from(out.data) : toArrays(out);
    for (r = 0; r < out.rows; r++) {
      var best = 0;
      if (this.task === "binary") {
        best = out.data[r] > 0.5 ? 1 : 0;
      } else {
        for (var k = 1; k < out.cols; k++) {
          if (out.data[r * out.cols + k] > out.data[r * out.cols + best]) best = k;
        }
      }
      labels.push(best);
    }
    return labels;
  };

  /* {loss, accuracy} on (X, y) in evaluation mode (accuracy for classifiers only), as
   * handgrad's MLP.evaluate; nothing is kept. */
  MLP.prototype.evaluate = function (X, y) {
    X = this.checkX(X);
    var T = this.targets(y, X.rows), outs = this._infer(X), out = outs[outs.length - 1];
    var report = {loss: this._outputLoss(out, T).loss};
    if (this.task !== "regression") {
      var pred = this._labels(out.a), correct = 0;
      for (var r = 0; r < X.rows; r++) {
        var label = this.task === "binary" ? T.data[r] : y[r];
        correct += pred[r] === label ? 1 : 0;
      }
      report.accuracy = correct / X.rows;
    }
    return report;
  };

  /* Every array of the last forward and backward pass as nested arrays, layer by layer, with
   * the loss, the parameters and the gradients: what the backprop view draws. */
  MLP.prototype.snapshot = function () {
    var layers = this.layers.map(function (layer) {
      return {x: toArrays(layer.x), z: toArrays(layer.z), h: toArrays(layer.h), a: toArrays(layer.a),
              mask: toArrays(layer.mask), grad_a: toArrays(layer.grad_a),
              grad_h: toArrays(layer.grad_h), delta: toArrays(layer.delta)};
    });
    return {loss: this.loss, step: this.t, layers: layers, params: this.stateDict(),
            grads: this.gradDict()};
  };

  function build(spec) {
    return new MLP(spec);
  }

  var twin = {
    build: build, MLP: MLP, Rng: Rng, erf: erf, matrix: matrix, toMatrix: toMatrix,
    toArrays: toArrays, getActivation: getActivation, makeOptimizer: makeOptimizer,
    ACTIVATIONS: Object.keys(ACTIVATIONS), ACTIVATION_ALIASES: ACTIVATION_ALIASES,
    LOSSES: LOSSES.slice(), LOSS_ALIASES: LOSS_ALIASES, NORMS: NORMS.slice(),
    OPTIMIZERS: OPTIMIZERS.slice(), INITIALIZERS: Object.keys(INITIALIZERS),
  };

  if (typeof module !== "undefined" && module.exports) module.exports = twin;
  if (root) {
    root.HG = root.HG || {};
    root.HG.twin = twin;
  }
})(typeof window !== "undefined" ? window : (typeof self !== "undefined" ? self : null));
