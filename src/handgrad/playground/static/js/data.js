/* The playground's data in the browser, for a static copy of the page: handgrad's toy
 * datasets drawn from a seed (the recipes of handgrad.data.toy, with the playground's reading
 * of noise and class count from playground/data.py), scaled into the square [-0.9, 0.9]²,
 * split into training and test, and turned into the chosen features; and the user's CSV file,
 * read by the same rules as the server's.
 *
 * The random draws come from a small seeded generator here, not NumPy's, so the same seed
 * draws other points than the server does — from the same recipe. A dataset registered in
 * handgrad without a generator here is not offered by a static page (the page lists only what
 * both know); tests/test_playground_browser.py checks that every registered one has its line.
 *
 * A classic script (a page opened from file:// may not load modules); under Node it is
 * module.exports, for the tests. */
(function (root) {
  "use strict";

  var FILL = 0.9, MAX_POINTS = 2000, MAX_CLASSES = 6, MIN_CSV_ROWS = 10, MAX_CSV_BYTES = 1000000;
  var MAX_COORDINATE = 1e12;

  /* A seeded generator: mulberry32 for uniforms, Box-Muller for normals. */
  function rng(seed) {
    var a = (seed >>> 0) ^ 0x9e3779b9, spare = null;
    function uniform() {
      a = (a + 0x6d2b79f5) | 0;
      var t = Math.imul(a ^ (a >>> 15), 1 | a);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    }
    function normal() {
      if (spare !== null) { var s = spare; spare = null; return s; }
      var u = 1 - uniform(), v = uniform(), r = Math.sqrt(-2 * Math.log(u));
      spare = r * Math.sin(2 * Math.PI * v);
      return r * Math.cos(2 * Math.PI * v);
    }
    function integer(n) { return Math.min(n - 1, Math.floor(uniform() * n)); }
    function permutation(n) {
      var p = [];
      for (var i = 0; i < n; i++) p.push(i);
      for (i = n - 1; i > 0; i--) { var j = integer(i + 1), t = p[i]; p[i] = p[j]; p[j] = t; }
      return p;
    }
    return {uniform: uniform, normal: normal, integer: integer, permutation: permutation};
  }

  /* --- handgrad.data.toy's generators: X as [[x1, x2], ...], y as labels (or targets) ---- */

  var TOY = {
    xor: function (a, r) {
      var C = [[0, 0], [0, 1], [1, 0], [1, 1]], Y = [0, 1, 1, 0], X = [], y = [];
      for (var i = 0; i < a.n_samples; i++) {
        var k = r.integer(4);
        X.push([C[k][0] + a.noise * r.normal(), C[k][1] + a.noise * r.normal()]);
        y.push(Y[k]);
      }
      return {X: X, y: y};
    },
    blobs: function (a, r) {
      var centers = [], X = [], y = [], k, i;
      for (k = 0; k < a.centers; k++) centers.push([3 * r.normal(), 3 * r.normal()]);
      for (i = 0; i < a.n_samples; i++) {
        k = r.integer(a.centers);
        X.push([centers[k][0] + a.cluster_std * r.normal(), centers[k][1] + a.cluster_std * r.normal()]);
        y.push(k);
      }
      return {X: X, y: y};
    },
    spiral: function (a, r) {
      var X = [], y = [], n = a.n_per_class;
      for (var k = 0; k < a.n_classes; k++) {
        for (var i = 0; i < n; i++) {
          var rad = n > 1 ? i / (n - 1) : 0;
          var t = k * 4 + (n > 1 ? 4 * i / (n - 1) : 0) + a.noise * r.normal();
          X.push([rad * Math.sin(t), rad * Math.cos(t)]);
          y.push(k);
        }
      }
      return {X: X, y: y};
    },
    quadrants: function (a, r) {
      var X = [], y = [];
      for (var i = 0; i < a.n_samples; i++) {
        var u = 2 * r.uniform() - 1, v = 2 * r.uniform() - 1;
        X.push([u, v]);
        y.push(u > 0 && v > 0 ? 0 : u <= 0 && v > 0 ? 1 : u <= 0 && v <= 0 ? 2 : 3);
      }
      return {X: X, y: y};
    },
    circles: function (a, r) {
      var X = [], y = [];
      for (var i = 0; i < a.n_samples; i++) {
        var c = r.integer(2), t = 2 * Math.PI * r.uniform(), rad = c === 1 ? 0.5 : 1;
        X.push([rad * Math.cos(t) + a.noise * r.normal(), rad * Math.sin(t) + a.noise * r.normal()]);
        y.push(c);
      }
      return {X: X, y: y};
    },
    moons: function (a, r) {
      var X = [], y = [];
      for (var i = 0; i < a.n_samples; i++) {
        var c = r.integer(2), t = Math.PI * r.uniform();
        var p = c === 0 ? [Math.cos(t), Math.sin(t)] : [1 - Math.cos(t), 0.5 - Math.sin(t)];
        X.push([p[0] + a.noise * r.normal(), p[1] + a.noise * r.normal()]);
        y.push(c);
      }
      return {X: X, y: y};
    },
    checkerboard: function (a, r) {
      var X = [], y = [];
      for (var i = 0; i < a.n_samples; i++) {
        var u = 2 * r.uniform() - 1, v = 2 * r.uniform() - 1;
        var cu = Math.min(a.tiles - 1, Math.floor((u + 1) / 2 * a.tiles));
        var cv = Math.min(a.tiles - 1, Math.floor((v + 1) / 2 * a.tiles));
        X.push([u + a.noise * r.normal(), v + a.noise * r.normal()]);
        y.push((cu + cv) % 2);
      }
      return {X: X, y: y};
    },
    separable: function (a, r) {
      var w = [r.normal(), r.normal()], len = Math.hypot(w[0], w[1]) || 1, X = [], y = [];
      w = [w[0] / len, w[1] / len];
      while (X.length < a.n_samples) {
        var u = 2 * r.uniform() - 1, v = 2 * r.uniform() - 1, s = u * w[0] + v * w[1];
        if (Math.abs(s) > 0.1) { X.push([u, v]); y.push(s > 0 ? 1 : 0); }
      }
      return {X: X, y: y};
    },
    sine: function (a, r) {
      var xs = [];
      for (var i = 0; i < a.n_samples; i++) xs.push(-Math.PI + 2 * Math.PI * r.uniform());
      xs.sort(function (p, q) { return p - q; });
      return {X: xs.map(function (x) { return [x]; }),
        y: xs.map(function (x) { return Math.sin(x) + a.noise * r.normal(); }), regression: true};
    },
  };

  /* The playground's reading of each dataset (playground/data.py's TOYS): the generator's
   * arguments for n points, the page's noise in [0, 1] and k classes, and a jitter added
   * afterwards for generators that take no noise. */
  var TOYS = {
    xor: {args: function (n, noise) { return {n_samples: n, noise: 0.4 * noise}; }},
    circles: {args: function (n, noise) { return {n_samples: n, noise: 0.25 * noise}; }},
    moons: {args: function (n, noise) { return {n_samples: n, noise: 0.5 * noise}; }},
    spiral: {args: function (n, noise, k) { return {n_per_class: Math.max(Math.floor(n / k), 2), n_classes: k, noise: noise}; }},
    blobs: {args: function (n, noise, k) { return {n_samples: n, n_features: 2, centers: k, cluster_std: 0.3 + 2 * noise}; }},
    checkerboard: {args: function (n, noise) { return {n_samples: n, tiles: 4, noise: 0.2 * noise}; }},
    quadrants: {args: function (n) { return {n_samples: n}; }, jitter: 0.2},
    separable: {args: function (n) { return {n_samples: n}; }, jitter: 0.2},
    sine: {args: function (n, noise) { return {n_samples: n, noise: 0.5 * noise}; }},
  };

  function has(name) { return Object.prototype.hasOwnProperty.call(TOY, name); }

  function generate(setup) {
    var name = setup.dataset, how = TOYS[name];
    if (!has(name) || !how) throw settingError("dataset", "no generator for dataset '" + name + "' in this page");
    var r = rng(Number(setup.seed));
    var out = TOY[name](how.args(Number(setup.points), Number(setup.noise), Number(setup.classes)), r);
    if (how.jitter) {
      out.X = out.X.map(function (p) {
        return p.map(function (v) { return v + how.jitter * Number(setup.noise) * r.normal(); });
      });
    }
    return out;
  }

  function settingError(field, message) {
    var e = new Error(message);
    e.field = field;
    return e;
  }

  /* (center, scale): (P - center) / scale fills [-FILL, FILL] on the wider axis. */
  function fitSquare(P) {
    var d = P[0].length, lo = [], hi = [], half = 0;
    for (var j = 0; j < d; j++) {
      lo.push(Infinity); hi.push(-Infinity);
      for (var i = 0; i < P.length; i++) { lo[j] = Math.min(lo[j], P[i][j]); hi[j] = Math.max(hi[j], P[i][j]); }
      half = Math.max(half, (hi[j] - lo[j]) / 2);
    }
    return {center: lo.map(function (l, j) { return (l + hi[j]) / 2; }), scale: half > 0 ? half / FILL : 1};
  }

  function scaled(P, fit) {
    return P.map(function (p) { return p.map(function (v, j) { return Math.fround((v - fit.center[j]) / fit.scale); }); });
  }

  /* The scaled dataset for a setup: {P, t, task, classes, names, fit}; a CSV table is
   * {P, t, names} from parseCsv. */
  function makePoints(setup, table) {
    var raw;
    if (setup.dataset === "csv") {
      if (!table) throw settingError("dataset", "choose a CSV file first (columns x, y, label — or x, target for a regression)");
      raw = {X: table.P, y: table.t, regression: table.names === null};
    } else raw = generate(setup);
    var fit = fitSquare(raw.X), P = scaled(raw.X, fit);
    if (!raw.regression) {
      var K = Math.max.apply(null, raw.y) + 1;
      return {P: P, t: raw.y, task: "classification", classes: K, fit: fit,
        names: table && table.names ? table.names : null};
    }
    var tfit = fitSquare(raw.y.map(function (v) { return [v]; }));
    return {P: P, t: raw.y.map(function (v) { return Math.fround((v - tfit.center[0]) / tfit.scale); }),
      task: "regression", classes: 0, fit: fit, tfit: tfit, names: null};
  }

  function roundHalfEven(x) {
    var f = Math.floor(x), d = x - f;
    return d > 0.5 || (d === 0.5 && f % 2 === 1) ? f + 1 : f;
  }

  /* A seeded split into training and test, stratified by class (as handgrad.data's). */
  function split(points, trainFraction, seed) {
    var r = rng(Number(seed) + 7919), n = points.P.length, test = [], train = [], i;
    var valFraction = 1 - Number(trainFraction);
    if (points.task === "classification") {
      for (var c = 0; c < points.classes; c++) {
        var idx = [];
        for (i = 0; i < n; i++) if (points.t[i] === c) idx.push(i);
        var order = r.permutation(idx.length), cut = roundHalfEven(valFraction * idx.length);
        for (i = 0; i < idx.length; i++) (i < cut ? test : train).push(idx[order[i]]);
      }
    } else {
      var all = r.permutation(n), cutAll = roundHalfEven(valFraction * n);
      all.forEach(function (k, i) { (i < cutAll ? test : train).push(k); });
    }
    var shuffle = function (list) { var p = r.permutation(list.length); return p.map(function (k) { return list[k]; }); };
    train = shuffle(train); test = shuffle(test);
    var pick = function (list) {
      return {U: list.map(function (k) { return points.P[k]; }), t: list.map(function (k) { return points.t[k]; })};
    };
    return {train: pick(train), test: pick(test)};
  }

  var FEATURES = {
    x: function (u) { return u; }, y: function (u, v) { return v; }, x2: function (u) { return u * u; },
    y2: function (u, v) { return v * v; }, xy: function (u, v) { return u * v; },
    sinx: function (u) { return Math.sin(Math.PI * u); }, siny: function (u, v) { return Math.sin(Math.PI * v); },
  };

  /* The feature matrix [[f1, f2, ...], ...] of scaled points (float32 values, as the server's). */
  function features(U, names) {
    return U.map(function (p) {
      var u = p[0], v = p.length > 1 ? p[1] : 0;
      return names.map(function (name) { return Math.fround(FEATURES[name](u, v)); });
    });
  }

  /* The square sampled at size x size cell centres, row 0 on top (as the server's grid). */
  function grid(size) {
    var out = [];
    for (var r = 0; r < size; r++) {
      for (var c = 0; c < size; c++) {
        out.push([Math.fround((c + 0.5) / size * 2 - 1), Math.fround((size - 1 - r + 0.5) / size * 2 - 1)]);
      }
    }
    return out;
  }

  function line(size) {
    var out = [];
    for (var i = 0; i < size; i++) out.push([Math.fround(-1 + 2 * i / (size - 1))]);
    return out;
  }

  function asList(U, t) {
    var r4 = function (v) { return Math.round(v * 1e4) / 1e4; };
    return U.map(function (p, i) { return p.length === 1 ? [r4(p[0]), r4(t[i])] : [r4(p[0]), r4(p[1]), t[i]]; });
  }

  /* --- the user's CSV file, by the server's rules ------------------------------------------ */

  function isNumber(text) { return text.trim() !== "" && isFinite(Number(text)) || /^[+-]?(inf|infinity|nan)$/i.test(text.trim()); }

  function coordinate(text, line) {
    var x = Number(text);
    if (text.trim() === "" || (isNaN(x) && !/^[+-]?(nan|inf|infinity)$/i.test(text.trim()))) throw settingError("csv", "line " + line + ": '" + text + "' is not a number");
    if (!isFinite(x)) throw settingError("csv", "line " + line + ": '" + text + "' is not a finite number");
    if (Math.abs(x) > MAX_COORDINATE) throw settingError("csv", "line " + line + ": '" + text + "' is too large; the playground takes values up to 1e+12 in size");
    return x;
  }

  /* A number as Python's "%g" writes it (1e+09, 0.25, -3). */
  function g(x) {
    if (x !== 0 && (Math.abs(x) >= 1e6 || Math.abs(x) < 1e-4)) {
      var e = Number(x).toExponential(5).replace(/\.?0+e/, "e").split("e");
      var p = Number(e[1]);
      return e[0] + "e" + (p < 0 ? "-" : "+") + (Math.abs(p) < 10 ? "0" : "") + Math.abs(p);
    }
    return String(Number(Number(x).toPrecision(6)));
  }

  function percentile(sorted, q) {
    var pos = (sorted.length - 1) * q, lo = Math.floor(pos), hi = Math.ceil(pos);
    return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
  }

  function checkSpread(values, lines, name) {
    var s = values.slice().sort(function (a, b) { return a - b; });
    var lo = percentile(s, 0.25), hi = percentile(s, 0.75), mid = percentile(s, 0.5);
    if (hi - lo > 0 && s[s.length - 1] - s[0] > 1e4 * (hi - lo)) {
      var far = 0;
      values.forEach(function (v, i) { if (Math.abs(v - mid) > Math.abs(values[far] - mid)) far = i; });
      throw settingError("csv", "line " + lines[far] + ": " + name + " = " + g(values[far]) + " lies so far from the others (the middle half of " +
        name + " is " + g(lo) + " to " + g(hi) + ") that every other point would fall on one dot; remove that row or rescale the column");
    }
  }

  /* {P, t, names} from CSV text: rows x, y, label (classes) or x, target (a regression). */
  function parseCsv(text) {
    if (text.length > MAX_CSV_BYTES) throw settingError("csv", "the CSV file is larger than 1000 kB; the playground takes at most " + MAX_POINTS + " rows");
    var lines = [];
    text.split(/\r\n|\n|\r/).forEach(function (ln, i) { if (ln.trim()) lines.push([i + 1, ln]); });
    if (!lines.length) throw settingError("csv", "the CSV file is empty; expected rows like 0.5,-1.2,1");
    var sep = [",", ";", "\t"].filter(function (s) { return lines[0][1].indexOf(s) >= 0; })[0] || ",";
    var rows = lines.map(function (l) {
      return [l[0], l[1].split(sep).map(function (c) { return c.trim().replace(/^"(.*)"$/, "$1"); })];
    });
    if (!isNumber(rows[0][1][0])) rows = rows.slice(1);
    if (!rows.length) throw settingError("csv", "the CSV file has a header but no rows");
    var width = rows[0][1].length;
    if (width !== 2 && width !== 3) throw settingError("csv", "line " + rows[0][0] + ": expected 3 columns (x, y, label) or 2 (x, target); got " + width);
    if (rows.length < MIN_CSV_ROWS || rows.length > MAX_POINTS) throw settingError("csv", "the CSV file needs " + MIN_CSV_ROWS + " to " + MAX_POINTS + " rows; got " + rows.length);
    var nc = width === 3 ? 2 : 1, P = [], labels = [], numbers = [];
    rows.forEach(function (row) {
      if (row[1].length !== width) throw settingError("csv", "line " + row[0] + ": expected " + width + " values like the first row; got " + row[1].length);
      var p = [];
      for (var j = 0; j < nc; j++) p.push(coordinate(row[1][j], row[0]));
      P.push(p);
      labels.push(row[1][width - 1]);
      numbers.push(row[0]);
    });
    ["x", "y"].slice(0, nc).forEach(function (name, j) { checkSpread(P.map(function (p) { return p[j]; }), numbers, name); });
    if (width === 2) {
      var t = labels.map(function (c, i) { return coordinate(c, numbers[i]); });
      checkSpread(t, numbers, "target");
      return {P: P, t: t, names: null};
    }
    var names = labels.filter(function (v, i) { return labels.indexOf(v) === i; });
    names.sort(function (a, b) {
      var na = isNumber(a), nb = isNumber(b);
      if (na !== nb) return na ? -1 : 1;
      if (na) return Number(a) - Number(b);
      return a < b ? -1 : a > b ? 1 : 0;
    });
    if (names.length < 2 || names.length > MAX_CLASSES) {
      throw settingError("csv", "the label column needs 2 to " + MAX_CLASSES + " classes; got " + names.length + " (" +
        names.slice(0, 8).join(", ") + (names.length > 8 ? " …" : "") + "); for a regression give two columns, x and target");
    }
    return {P: P, t: labels.map(function (l) { return names.indexOf(l); }), names: names};
  }

  /* A small sample of every dataset this page can draw, for the dataset buttons. */
  function thumbnails(names) {
    var out = {};
    names.forEach(function (name) {
      if (!has(name)) return;
      var p = makePoints({dataset: name, points: 150, noise: 0.15, classes: 3, seed: 0});
      out[name] = asList(p.P, p.t);
    });
    return out;
  }

  var api = {rng: rng, TOY: TOY, TOYS: TOYS, has: has, generate: generate, makePoints: makePoints,
    split: split, features: features, grid: grid, line: line, asList: asList, parseCsv: parseCsv,
    thumbnails: thumbnails, FILL: FILL};
  if (typeof module !== "undefined" && module.exports) module.exports = api;
  else { root.HG = root.HG || {}; root.HG.data = api; }
})(typeof window !== "undefined" ? window : this);
