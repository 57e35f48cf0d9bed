/* The engine of a static copy of the page: handgrad's JavaScript twin (twin.js) trains in
 * this browser and answers the messages the server would (see server.py): setup, play,
 * pause, step, reset, speed, set_weight — with ready, frame, status, diverged and error —
 * so the views cannot tell the two engines apart. The same rules as the server's, spelled
 * in JavaScript: the settings checked against the options (from handgrad's registries,
 * carried by static-data.js); one mini-batch at a time in the order of handgrad's loop (the
 * twin's generator shuffles each epoch); the loop's divergence rule; at most `speed`
 * mini-batches and about a tenth of a second of work a frame, at most `fps` frames a second.
 *
 * The backprop view's arrays come from the twin too, from handgrad's starting weights
 * (static-data.js); the graph view's from evaluating the graph's nodes here. */
"use strict";

(function () {
  var FRAME_SECONDS = 0.1, DIVERGENCE_FACTOR = 1e3, GRID = 48, NEURON_GRID = 24, CURVE = 160;
  var RACE_GRID = 40, MAX_WEIGHT = 100;
  var O = function () { return HG.STATIC.options; };

  /* --- the settings, checked as config.py checks them ------------------------------------- */

  function bad(field, message) { var e = new Error(message); e.field = field; return e; }
  function shown(v) { return typeof v === "string" ? "'" + v + "'" : JSON.stringify(v); }

  function number(field, value, lo, hi, what, integer, loOpen) {
    var x = typeof value === "boolean" || value === null || value === "" ? NaN : Number(value);
    var rule = what + " must be " + (integer ? "a whole number" : "a number") + " " + (loOpen ? "above " : "at least ") +
      lo + " and at most " + hi + "; got " + shown(value);
    if (!isFinite(x) || x > hi || x < lo || (loOpen && x <= lo) || (integer && x !== Math.round(x))) throw bad(field, rule);
    return x;
  }
  function choice(field, value, names, what) {
    var key = typeof value === "string" ? value.trim().toLowerCase() : value;
    if (names.indexOf(key) < 0) throw bad(field, "unknown " + what + " " + shown(value) + "; valid: " + names.join(", "));
    return key;
  }
  function list(value) {
    if (typeof value === "string") return value.replace(/ /g, "").split(",").filter(function (v) { return v !== ""; });
    return value;
  }
  function names(items) { return items.map(function (i) { return i.name; }); }

  function known(settings, defaults) {
    if (settings === null || typeof settings !== "object" || Array.isArray(settings)) {
      throw bad(null, "settings must be a JSON object; got " + (Array.isArray(settings) ? "list" : typeof settings));
    }
    var out = {}, aliases = O().aliases;
    Object.keys(settings).forEach(function (k) {
      var name = aliases[k] || k;
      if (!(name in defaults)) throw bad(k, "unknown setting '" + k + "'; known settings: " + Object.keys(defaults).sort().join(", "));
      if (!(name in out) || k === name) out[name] = settings[k];
    });
    return Object.assign({}, defaults, out);
  }

  function checkData(s) {
    var o = O(), out = {};
    var drawable = o.datasets.filter(function (d) { return d.name === "csv" || HG.data.has(d.name); });
    out.dataset = choice("dataset", s.dataset, names(drawable), "dataset");
    out.classes = number("classes", s.classes, 2, o.max_classes, "classes", true);
    out.noise = number("noise", s.noise, 0, 1, "noise");
    out.points = number("points", s.points, 20, o.max_points, "points", true);
    out.train = number("train", s.train, 0.1, 0.9, "the training fraction");
    var regression = (o.datasets.filter(function (d) { return d.name === out.dataset; })[0] || {}).task === "regression";
    var features = list(s.features);
    if (!Array.isArray(features)) throw bad("features", "feature must be a list of names; got " + shown(s.features));
    out.features = features.map(function (f) { return choice("features", f, Object.keys(o.features), "feature"); })
      .filter(function (f, i, all) { return all.indexOf(f) === i; });
    if (!out.features.length) throw bad("features", "pick at least one feature");
    if (regression) {
      out.features.forEach(function (f) {
        if (o.features_1d.indexOf(f) < 0) throw bad("features", "a 1-D regression has one input x: feature " + o.features[f] + " needs y; use " + o.features_1d.join(", "));
      });
    }
    var hidden = list(s.hidden);
    if (!Array.isArray(hidden)) throw bad("hidden", "neurons per hidden layer must be a list of whole numbers; got " + shown(s.hidden));
    if (hidden.length > o.max_layers) throw bad("hidden", "neurons per hidden layer: at most " + o.max_layers + " allowed; got " + hidden.length);
    out.hidden = hidden.map(function (n) { return number("hidden", n, 1, o.max_neurons, "each entry of neurons per hidden layer", true); });
    out.activation = choice("activation", s.activation, names(o.activations).filter(function (a) { return HG.twin.ACTIVATIONS.indexOf(a) >= 0; }), "activation");
    out.batch_size = number("batch_size", s.batch_size, 1, o.max_points, "batch size", true);
    out.seed = number("seed", s.seed, 0, 2147483647, "seed", true);
    return out;
  }

  function checkSetup(settings) {
    var o = O(), s = known(settings, o.defaults), out = checkData(s);
    out.lr = number("lr", s.lr, 0, 10, "learning rate", false, true);
    out.optimizer = choice("optimizer", s.optimizer, names(o.optimizers).filter(function (n) { return HG.twin.OPTIMIZERS.indexOf(n) >= 0; }), "optimizer");
    out.weight_decay = number("weight_decay", s.weight_decay, 0, 1, "weight decay (L2)");
    out.l1 = number("l1", s.l1, 0, 1, "L1 rate");
    out.dropout = number("dropout", s.dropout, 0, 0.9, "dropout");
    out.norm = choice("norm", s.norm, names(o.norms), "norm");
    out.loss = choice("loss", s.loss, names(o.losses), "loss");
    if (out.norm === "batch" && out.batch_size < 2) throw bad("batch_size", "batch norm needs a batch of at least 2 (its statistics are over the batch); got batch size " + out.batch_size);
    if ((out.norm !== "none" || out.dropout) && !out.hidden.length) throw bad("hidden", "norm and dropout act on hidden layers; add a hidden layer or set them off");
    return out;
  }

  function checkRace(settings) {
    var o = O(), s = known(settings, o.race_defaults);
    var d = o.datasets.filter(function (x) { return x.name === s.dataset; })[0];
    if (!d || d.task !== "classification") throw bad("dataset", "the race runs on the built-in classification datasets; got " + shown(s.dataset));
    var out = checkData(s);
    out.epochs = number("epochs", s.epochs, 1, o.max_race_epochs, "epochs", true);
    var opts = list(s.optimizers);
    if (!Array.isArray(opts)) throw bad("optimizers", "optimizer must be a list of names; got " + shown(s.optimizers));
    out.optimizers = opts.map(function (n) { return choice("optimizers", n, names(o.optimizers), "optimizer"); })
      .filter(function (n, i, all) { return all.indexOf(n) === i; });
    if (!out.optimizers.length) throw bad("optimizers", "pick at least one optimizer");
    if (out.optimizers.length > o.max_racers) throw bad("optimizers", "at most " + o.max_racers + " optimizers race at once; got " + out.optimizers.length);
    names(o.optimizers).forEach(function (n) {
      out["lr_" + n] = number("lr_" + n, s["lr_" + n], 0, 10, "the " + n + " learning rate", false, true);
    });
    return out;
  }

  /* --- pictures, packed as the server packs them (pictures.py) ----------------------------- */

  function pack01(M) {                         // values in [0, 1] -> bytes
    var out = new Uint8Array(M.data.length);
    for (var i = 0; i < M.data.length; i++) out[i] = Math.max(0, Math.min(255, Math.round(M.data[i] * 255)));
    return out;
  }

  /* Columns of A (n, units) each over its largest |value|, to bytes (128 = 0), unit by unit. */
  function packSigned(A) {
    var n = A.rows, u = A.cols, out = new Uint8Array(n * u), scales = [];
    for (var j = 0; j < u; j++) {
      var s = 0;
      for (var i = 0; i < n; i++) s = Math.max(s, Math.abs(A.data[i * u + j]));
      if (!(s > 0) || !isFinite(s)) s = 1;
      scales.push(Math.round(s * 1e5) / 1e5);
      for (i = 0; i < n; i++) {
        var v = Math.max(-1, Math.min(1, A.data[i * u + j] / s));
        out[j * n + i] = Math.max(0, Math.min(255, Math.round((v + 1) * 127.5)));
      }
    }
    return {data: out, scales: scales};
  }

  function matrixOf(rows) {
    var m = HG.twin.matrix(rows.length, rows[0].length);
    rows.forEach(function (r, i) { r.forEach(function (v, j) { m.data[i * r.length + j] = v; }); });
    return m;
  }

  function inputs(setup, task, size) {
    return HG.data.features(task === "classification" ? HG.data.grid(size) : HG.data.line(size), setup.features);
  }

  function round(v, digits) { var f = Math.pow(10, digits); return isFinite(v) ? Math.round(v * f) / f : null; }

  /* --- one mini-batch at a time, as trainer.py ------------------------------------------------ */

  function Walker(net, X, y, batchSize, onEpoch) {
    this.net = net; this.X = X; this.y = y; this.n = X.length;
    this.batch = Math.min(batchSize, this.n);
    this.stepsPerEpoch = Math.ceil(this.n / this.batch);
    this.cursor = 0; this.order = null; this.epochs = 0; this.sum = 0;
    this.first = null; this.lowest = Infinity; this.diverged = null; this.onEpoch = onEpoch;
  }
  Walker.prototype.epoch = function () { return this.epochs + this.cursor / this.n; };
  Walker.prototype.exploded = function (loss) {
    if (!isFinite(loss)) return "the loss became " + (isNaN(loss) ? "nan" : loss > 0 ? "inf" : "-inf");
    if (this.first === null) this.first = loss;
    if (loss > DIVERGENCE_FACTOR * this.first) {
      return "the loss exploded to " + HG.short(loss) + ", more than 1000x its starting value " + HG.short(this.first);
    }
    if (loss > this.first && loss > DIVERGENCE_FACTOR * this.lowest) {
      return "the loss exploded to " + HG.short(loss) + ", above its start and more than 1000x its lowest epoch mean " + HG.short(this.lowest);
    }
    return null;
  };
  Walker.prototype.step = function () {
    var net = this.net;
    if (this.cursor === 0) { this.order = net.rng.permutation(this.n); this.sum = 0; }
    var idx = Array.prototype.slice.call(this.order, this.cursor, this.cursor + this.batch);
    var xb = idx.map(function (i) { return this.X[i]; }, this), yb = idx.map(function (i) { return this.y[i]; }, this);
    var loss = net.step(xb, yb);                            // forward, backward, update
    var why = this.exploded(loss);
    if (why) return why;                                    // run() puts the frame's start back
    this.cursor += idx.length;
    this.sum += loss * idx.length;
    if (this.cursor >= this.n) {
      var mean = this.sum / this.n;
      this.epochs += 1; this.lowest = Math.min(this.lowest, mean); this.cursor = 0;
      if (this.onEpoch) this.onEpoch();
    }
    return null;
  };
  Walker.prototype.snapshot = function () {
    var opt = this.net.optimizer, state = {};
    Object.keys(opt.state).forEach(function (name) {
      state[name] = {};
      Object.keys(opt.state[name]).forEach(function (k) { state[name][k] = Float64Array.from(opt.state[name][k]); });
    });
    return {weights: this.net.stateDict(), t: opt.t, state: state, rng: [this.net.rng.state, this.net.rng.spare],
      cursor: this.cursor, order: this.order, epochs: this.epochs, sum: this.sum, first: this.first, lowest: this.lowest};
  };
  Walker.prototype.restore = function (s) {
    this.net.loadStateDict(s.weights);
    this.net.optimizer.t = s.t; this.net.optimizer.state = s.state;
    this.net.rng.state = s.rng[0]; this.net.rng.spare = s.rng[1];
    this.cursor = s.cursor; this.order = s.order; this.epochs = s.epochs; this.sum = s.sum;
    this.first = s.first; this.lowest = s.lowest;
  };
  /* Up to `steps` mini-batches, for about `seconds` at most; on divergence the state this
   * began with comes back and `diverged` says where. */
  Walker.prototype.run = function (steps, seconds) {
    if (this.diverged) return 0;
    var snap = this.snapshot(), start = performance.now(), done = 0;
    while (done < steps && (done === 0 || performance.now() - start < seconds * 1000)) {
      var why = this.step();
      if (why) {
        var step = this.net.optimizer.t + 1, epoch = this.epochs + 1;
        this.restore(snap);
        this.diverged = {step: step, epoch: epoch, reason: why,
          message: "Diverged at step " + step + " (epoch " + epoch + "): " + why + " with learning rate " +
            this.net.optimizer.lr + ". The picture shows the last good weights; lower the learning rate and press reset."};
        break;
      }
      done += 1;
    }
    return done;
  };

  /* --- the playground's session, as session.py ------------------------------------------------- */

  function twinSpec(setup, dIn, dOut, task) {
    var acts = setup.hidden.map(function () { return setup.activation; });
    return {layer_sizes: [dIn].concat(setup.hidden, [dOut]), activations: acts.concat([task === "classification" ? "softmax" : "identity"]),
      loss: task === "classification" ? setup.loss : "mse", norm: setup.norm === "none" || !setup.norm ? null : setup.norm,
      dropout: setup.dropout || 0, seed: setup.seed};
  }

  function Session(setup, table) { this.table = table; this.configure(setup); }
  Session.prototype.configure = function (setup, table) {
    if (table) this.table = table;
    var points = HG.data.makePoints(setup, this.table), parts = HG.data.split(points, setup.train, setup.seed);
    var train = parts.train, test = parts.test;
    if (setup.norm === "batch" && train.U.length % setup.batch_size === 1 && train.U.length > setup.batch_size) {
      test.U.push(train.U.pop()); test.t.push(train.t.pop());     // no batch of one for batch norm
    }
    this.setup = setup; this.points = points; this.train = train; this.test = test;
    this.X_train = HG.data.features(train.U, setup.features);
    this.X_test = HG.data.features(test.U, setup.features);
    this.reset();
  };
  Session.prototype.reset = function () {
    var s = this.setup, task = this.points.task, self = this;
    var spec = twinSpec(s, this.X_train[0].length, task === "classification" ? this.points.classes : 1, task);
    spec.optimizer = s.optimizer; spec.lr = s.lr; spec.l1 = s.l1; spec.l2 = s.weight_decay;
    this.net = HG.twin.build(spec);
    this.targets = task === "classification" ? this.train.t : this.train.t.map(function (v) { return [v]; });
    this.testTargets = task === "classification" ? this.test.t : this.test.t.map(function (v) { return [v]; });
    this.pending = [];
    this.walker = new Walker(this.net, this.X_train, this.targets, s.batch_size, function () { self.pending.push(self.curvePoint()); });
    this.pending.push(this.curvePoint());
  };
  Session.prototype.diverged = function () {
    return this.walker.diverged ? Object.assign({type: "diverged"}, this.walker.diverged) : null;
  };
  Session.prototype.advance = function (steps, seconds) {
    var kept = this.pending.length, done = this.walker.run(steps, seconds === undefined ? FRAME_SECONDS : seconds);
    if (this.walker.diverged) this.pending.length = kept;
    return done;
  };
  Session.prototype.evaluate = function (X, t) {
    var r = this.net.evaluate(X, t);
    return [round(r.loss, 6), r.accuracy === undefined ? null : round(r.accuracy, 6)];
  };
  Session.prototype.curvePoint = function () {
    var tr = this.evaluate(this.X_train, this.targets), te = this.evaluate(this.X_test, this.testTargets);
    return [round(this.walker.epoch(), 4), tr[0], te[0], tr[1], te[1]];
  };
  Session.prototype.classNames = function () {
    if (this.points.task !== "classification") return [];
    if (this.points.names) return this.points.names.slice();
    var out = [];
    for (var k = 0; k < this.points.classes; k++) out.push(String(k));
    return out;
  };
  Session.prototype.ready = function () {
    var p = this.points, s = this.setup, task = p.task;
    var all = task === "classification" ? Object.keys(O().features) : O().features_1d;
    var n = task === "classification" ? NEURON_GRID : CURVE / 2;
    var pics = packSigned(matrixOf(inputs({features: all}, task, n)));
    var params = 0, arrays = this.net.params();
    Object.keys(arrays).forEach(function (k) { params += arrays[k].length; });
    return {type: "ready", setup: s, task: task, classes: p.classes, class_names: this.classNames(),
      layer_sizes: this.net.layer_sizes.slice(), batch_size: this.walker.batch, steps_per_epoch: this.walker.stepsPerEpoch,
      features: s.features, feature_pictures: {names: all, shape: task === "classification" ? [n, n] : [1, n], data: pics.data, scales: pics.scales},
      train: HG.data.asList(this.train.U, this.train.t), test: HG.data.asList(this.test.U, this.test.t),
      params: params, model: "the JavaScript twin of handgrad.MLP(" + JSON.stringify(this.net.layer_sizes) + ")",
      optimizer: this.net.optimizer.name + "(lr=" + this.net.optimizer.lr + ")"};
  };
  Session.prototype.frame = function () {
    var s = this.setup, task = this.points.task, net = this.net;
    var points = this.pending, now = this.curvePoint();
    this.pending = [];
    var output;
    if (task === "classification") {
      var P = net.predictProba(inputs(s, task, GRID));                            // (G², K)
      output = {kind: "grid", size: GRID, classes: P.cols, probs: pack01(P)};
    } else {
      var Y = net.output(inputs(s, task, CURVE));                                 // (CURVE, 1)
      output = {kind: "curve", size: CURVE, values: Array.from(Y.data, function (v) { return round(v, 4); })};
    }
    var n = task === "classification" ? NEURON_GRID : CURVE / 2;
    var outs = net.layerOutputs(inputs(s, task, n));
    var neurons = outs.slice(0, -1).map(function (a) {
      var packed = packSigned(a);
      return {shape: task === "classification" ? [n, n] : [1, n], data: packed.data, scales: packed.scales};
    });
    var params = net.params(), weights = [];
    for (var l = 0; l < net.layers.length; l++) {
      var W = params["layers." + l + ".weight"], b = params["layers." + l + ".bias"];
      var rows = net.layer_sizes[l + 1], cols = net.layer_sizes[l], Wn = [];
      for (var r = 0; r < rows; r++) {
        var row = [];
        for (var c = 0; c < cols; c++) row.push(round(W[r * cols + c], 4));
        Wn.push(row);
      }
      weights.push({W: Wn, b: b ? Array.from(b, function (v) { return round(v, 4); }) : Wn.map(function () { return 0; })});
    }
    return {type: "frame", epoch: this.walker.epochs, step: net.optimizer.t, now: now,
      train_loss: now[1], test_loss: now[2], train_accuracy: now[3], test_accuracy: now[4], curve: points,
      output: output, neurons: neurons, weights: weights};
  };
  Session.prototype.setWeight = function (msg) {
    var sizes = this.net.layer_sizes;
    var layer = number("layer", msg.layer, 0, sizes.length - 2, "layer", true);
    var row = number("row", msg.row, 0, sizes[layer + 1] - 1, "row", true);
    var col = number("col", msg.col, 0, sizes[layer] - 1, "col", true);
    var value = number("value", msg.value, -MAX_WEIGHT, MAX_WEIGHT, "a weight");
    this.net.params()["layers." + layer + ".weight"][row * sizes[layer] + col] = value;
    return this.frame();
  };

  /* --- the race, as race.py ------------------------------------------------------------------ */

  function Race(settings) { this.configure(settings); }
  Race.prototype.configure = function (settings) {
    var points = HG.data.makePoints(settings), parts = HG.data.split(points, settings.train, settings.seed);
    this.setup = settings; this.classes = points.classes; this.train = parts.train; this.test = parts.test;
    this.X_train = HG.data.features(parts.train.U, settings.features);
    this.X_test = HG.data.features(parts.test.U, settings.features);
    this.X_grid = inputs(settings, "classification", RACE_GRID);
    this.reset();
  };
  Race.prototype.reset = function () {
    var s = this.setup, self = this, d = this.X_train[0].length;
    var base = twinSpec(Object.assign({}, s, {loss: "cross_entropy", norm: "none", dropout: 0}), d, this.classes, "classification");
    var start = HG.twin.build(base).stateDict();
    this.racers = s.optimizers.map(function (name, i) {
      var net = HG.twin.build(Object.assign({}, base, {optimizer: name, lr: s["lr_" + name]}));
      net.loadStateDict(start);                                                  // the same start
      var racer = {name: name, net: net, pending: []};
      racer.walker = new Walker(net, self.X_train, self.train.t, s.batch_size, function () { racer.pending.push(self.curvePoint(i)); });
      return racer;
    });
    this.racers.forEach(function (r, i) { r.pending.push(self.curvePoint(i)); });
  };
  Race.prototype.curvePoint = function (i) {
    var r = this.racers[i], tr = r.net.evaluate(this.X_train, this.train.t), te = r.net.evaluate(this.X_test, this.test.t);
    return [round(r.walker.epoch(), 4), round(tr.loss, 6), round(te.loss, 6), round(te.accuracy, 6)];
  };
  Race.prototype.finished = function () {
    var E = this.setup.epochs;
    return this.racers.every(function (r) { return r.walker.diverged || r.walker.epochs >= E; });
  };
  Race.prototype.diverged = function () { return null; };
  Race.prototype.advance = function (steps, seconds) {
    var E = this.setup.epochs, left = this.racers.filter(function (r) { return !r.walker.diverged && r.walker.epochs < E; });
    var budget = (seconds === undefined ? FRAME_SECONDS : seconds) / Math.max(1, left.length), done = 0;
    left.forEach(function (r) {
      var w = r.walker, toEnd = (E - w.epochs) * w.stepsPerEpoch - Math.ceil(w.cursor / w.batch);
      var kept = r.pending.length;
      done = Math.max(done, w.run(Math.min(steps, toEnd), budget));
      if (w.diverged) r.pending.length = kept;
    });
    return done;
  };
  Race.prototype.ready = function () {
    var s = this.setup, o = O();
    return {type: "ready", setup: s, classes: this.classes, task: "classification", layer_sizes: this.racers[0].net.layer_sizes.slice(),
      grid: RACE_GRID, epochs: s.epochs, steps_per_epoch: this.racers[0].walker.stepsPerEpoch,
      racers: this.racers.map(function (r) {
        return {name: r.name, label: HG.labelOf(o.optimizers, r.name), lr: s["lr_" + r.name],
          optimizer: HG.labelOf(o.optimizers, r.name) + "(lr=" + s["lr_" + r.name] + ") in the twin"};
      }),
      train: HG.data.asList(this.train.U, this.train.t), test: HG.data.asList(this.test.U, this.test.t)};
  };
  Race.prototype.frame = function () {
    var self = this, epoch = 0, step = 0;
    var racers = this.racers.map(function (r, i) {
      var now = self.curvePoint(i), curve = r.pending;
      r.pending = [];
      epoch = Math.max(epoch, now[0]); step = Math.max(step, r.net.optimizer.t);
      return {name: r.name, epoch: now[0], step: r.net.optimizer.t, now: now, train_loss: now[1], test_loss: now[2],
        test_accuracy: now[3], curve: curve, picture: pack01(r.net.predictProba(self.X_grid)), diverged: r.walker.diverged};
    });
    return {type: "frame", epoch: epoch, step: step, racers: racers, finished: this.finished()};
  };

  /* --- the connection: the server's message loop, in this page -------------------------------- */

  var KINDS = {playground: {check: checkSetup, make: function (s, table) { return new Session(s, table); }},
    race: {check: checkRace, make: function (s) { return new Race(s); }}};
  var MESSAGES = ["setup", "play", "pause", "step", "reset", "speed", "set_weight", "ack"];

  function connect(dispatch) {
    var runs = {}, table = {value: null};
    Object.keys(KINDS).forEach(function (k) { runs[k] = {session: null, playing: false, speed: O().speed}; });
    var timer = null, last = 0;
    function emit(view, message) { message.view = view; dispatch(message); }

    function loop(time) {
      timer = null;
      var playing = Object.keys(runs).filter(function (k) { return runs[k].playing && runs[k].session; });
      if (!playing.length) return;
      if (time - last >= 1000 / O().fps - 2) {
        last = time;
        playing.forEach(function (view) {
          var run = runs[view], s = run.session, message;
          try {
            s.advance(run.speed);
            message = s.diverged() || s.frame();
          } catch (e) {
            message = {type: "error", field: null, message: "training stopped (" + e.message + ")"};
          }
          var stopped = message.type !== "frame" || message.finished;
          if (stopped) run.playing = false;
          emit(view, message);
          if (stopped) emit(view, {type: "status", playing: false});
        });
      }
      timer = requestAnimationFrame(loop);
    }
    function wake() { if (timer === null) timer = requestAnimationFrame(loop); }

    function handle(msg) {
      var kind = msg.type;
      if (kind === "ack") return [];
      if (MESSAGES.indexOf(kind) < 0) throw bad(null, "unknown message type " + shown(kind) + "; valid: " + MESSAGES.join(", "));
      var view = msg.view || "playground", run = runs[view];
      if (!run) throw bad("view", "unknown view " + shown(view) + "; the views that train: " + Object.keys(runs).join(", "));
      if (kind === "setup") {                              // a good one pauses; a bad one changes nothing
        var setup = KINDS[view].check(msg.setup || {});
        run.playing = false;
        if (run.session) run.session.configure(setup, table.value); else run.session = KINDS[view].make(setup, table.value);
        return [{type: "status", playing: false}, run.session.ready(), run.session.frame()];
      }
      if (kind === "speed") { run.speed = number("steps", msg.steps, 1, O().speeds[O().speeds.length - 1], "speed (steps per frame)", true); return []; }
      if (!run.session) throw bad(null, "'" + kind + "' needs a network: send a setup first");
      var s = run.session;
      if (kind === "play") {
        if (s.diverged()) return [s.diverged(), {type: "status", playing: false}];
        run.playing = true; wake();
        return [{type: "status", playing: true}];
      }
      if (kind === "pause") { run.playing = false; return [{type: "status", playing: false}]; }
      if (kind === "step") {
        run.playing = false;
        s.advance(1);
        return [s.diverged() || s.frame(), {type: "status", playing: false}];
      }
      if (kind === "set_weight") {
        if (view !== "playground") throw bad(null, "weights are set by hand in the playground view only");
        return [s.setWeight(msg)];
      }
      run.playing = false;                                                    // reset
      s.reset();
      return [{type: "status", playing: false}, s.ready(), s.frame()];
    }

    setTimeout(function () { dispatch({type: "hello", session: "this page", options: O()}); }, 0);
    return {
      send: function (msg) {
        setTimeout(function () {                           // answers come later, as from a socket
          var view = msg && msg.view || "playground", replies;
          try { replies = handle(msg); } catch (e) { replies = [{type: "error", field: e.field || null, message: e.message}]; }
          replies.forEach(function (r) { emit(view, r); });
        }, 0);
      },
      setTable: function (t) { table.value = t; },
      runs: runs,
    };
  }

  /* --- the backprop view: handgrad's starting weights, the twin's arithmetic ---------------- */

  function backprop(query) {
    var data = HG.STATIC.views.backprop, presets = O().backprop_presets;
    var seed = number("seed", query.seed === undefined ? 0 : query.seed, 0, 2147483647, "seed", true), x1, x2, label, preset = null;
    if (query.preset) {
      preset = choice("preset", query.preset, Object.keys(presets), "preset");
      x1 = presets[preset].x1; x2 = presets[preset].x2; label = presets[preset].label;
    } else {
      x1 = number("x1", query.x1 === undefined ? 0.5 : query.x1, -5, 5, "x1");
      x2 = number("x2", query.x2 === undefined ? -0.5 : query.x2, -5, 5, "x2");
      label = number("label", query.label === undefined ? 0 : query.label, 0, data.sizes[2] - 1, "label", true);
    }
    var w = data.weights[String(seed)];
    if (!w) throw bad("seed", "this static copy of the page carries the starting weights of seeds 0 to " + (Object.keys(data.weights).length - 1) + "; got " + seed);
    var net = HG.twin.build({layer_sizes: data.sizes, activations: ["relu", "softmax"], seed: seed});
    net.loadStateDict({"layers.0.weight": w.W1, "layers.0.bias": w.b1, "layers.1.weight": w.W2, "layers.1.bias": w.b2});
    net.forward([[x1, x2]]);
    net.backward([label]);
    var snap = net.snapshot(), h = snap.layers[0], o = snap.layers[1];
    var arrays = {x: h.x, W1: w.W1, b1: w.b1, z1: h.z, a1: h.a, W2: w.W2, b2: w.b2, z2: o.z, p: o.a, y: [label],
      loss: snap.loss, delta2: o.delta, dW2: snap.grads["layers.1.weight"], db2: snap.grads["layers.1.bias"],
      da1: h.grad_a, delta1: h.delta, dW1: snap.grads["layers.0.weight"], db1: snap.grads["layers.0.bias"]};
    return {type: "backprop", preset: preset, seed: seed, sizes: data.sizes, x: [x1, x2], label: label,
      model: "the JavaScript twin of handgrad.MLP([2, 4, 3], ['relu', 'softmax'])", arrays: arrays, stages: data.stages, presets: presets};
  }

  /* --- the graph view: the lesson's nodes, evaluated here for the page's a, b, c ------------ */

  var LOCAL = {                                   // op -> the local derivatives of its output
    "*": function (p) { return [p[1].data, p[0].data]; },
    "+": function () { return [1, 1]; },
    "relu": function (p) { return [p[0].data > 0 ? 1 : 0]; },
  };
  var FORWARD = {
    "*": function (p) { return p[0].data * p[1].data; },
    "+": function (p) { return p[0].data + p[1].data; },
    "relu": function (p) { return Math.max(0, p[0].data); },
  };

  function graph(query) {
    var base = HG.STATIC.views.graph;
    if (base.type === "error") return base;
    var leaves = {};
    Object.keys(query).forEach(function (k) { if (!(k in base.leaves)) throw bad(k, "unknown setting '" + k + "'; known: a, b, c"); });
    Object.keys(base.leaves).forEach(function (k) {
      leaves[k] = number(k, query[k] === undefined ? base.leaves[k] : query[k], -base.limit, base.limit, k);
    });
    var nodes = base.nodes.map(function (n) {
      return {id: n.id, label: n.label, op: n.op, parents: n.parents.slice(), rule: n.rule, data: 0, grad: 0, local: []};
    });
    nodes.forEach(function (n) {
      if (!n.op) { n.data = leaves[n.label]; return; }
      if (!FORWARD[n.op]) throw bad(null, "this static page evaluates the ops *, + and relu; the graph has " + n.op);
      var ps = n.parents.map(function (p) { return nodes[p]; });
      n.data = FORWARD[n.op](ps);
      n.local = LOCAL[n.op](ps);
    });
    nodes[base.root].grad = 1;
    var backward = [];
    for (var i = nodes.length - 1; i >= 0; i--) {
      var v = nodes[i];
      var adds = v.parents.map(function (p, k) {
        nodes[p].grad += v.local[k] * v.grad;
        return {parent: p, local: v.local[k], out_grad: v.grad, add: v.local[k] * v.grad};
      });
      backward.push({node: i, grads: nodes.map(function (n) { return n.grad; }), adds: adds});
    }
    return {type: "graph", leaves: leaves, limit: base.limit, nodes: nodes, root: base.root, backward: backward};
  }

  /* --- the user's file, and what a learner takes home ------------------------------------------ */

  var localTable = null;                          // the user's CSV, parsed, for the next setup
  function csv(text) {
    var t = HG.data.parseCsv(text);
    localTable = t;
    return {rows: t.P.length, task: t.names === null ? "regression" : "classification",
      classes: t.names ? t.names.length : 0, class_names: t.names || []};
  }

  function playgroundSession() {
    var run = HG.local.active && HG.local.active.runs.playground;
    return run && run.session;
  }

  function spec(s) {
    var net = s.net, L = net.layer_sizes.length - 1, st = s.setup;
    var acts = net.layers.map(function (_, l) { return l < L - 1 ? st.activation : s.points.task === "classification" ? "softmax" : "identity"; });
    return {layer_sizes: net.layer_sizes, activations: acts, norm: acts.slice(1).map(function () { return st.norm === "none" ? null : st.norm; }),
      dropout: acts.slice(1).map(function () { return st.dropout; }), bias: acts.map(function () { return true; }),
      init: "he", output_scale: 1, dtype: "float64", loss: s.points.task === "classification" ? st.loss : "mse"};
  }

  /* The trained network as a handgrad checkpoint: a .safetensors file (float64 tensors by
   * handgrad's names, the spec in its metadata) that handgrad.io.load_model reads. */
  function shapeOf(v) { return typeof v === "number" ? [] : [v.length].concat(v.length ? shapeOf(v[0]) : []); }
  function flatten(v, out) {
    if (typeof v === "number") out.push(v); else for (var i = 0; i < v.length; i++) flatten(v[i], out);
    return out;
  }
  function checkpointBytes(s) {
    var state = s.net.stateDict(), header = {}, offset = 0, chunks = [];
    Object.keys(state).forEach(function (name) {
      var bytes = new Uint8Array(new Float64Array(flatten(state[name], [])).buffer);
      header[name] = {dtype: "F64", shape: shapeOf(state[name]), data_offsets: [offset, offset + bytes.length]};
      offset += bytes.length;
      chunks.push(bytes);
    });
    header.__metadata__ = {format: "handgrad-checkpoint/1", spec: JSON.stringify(spec(s)),
      playground: JSON.stringify(s.setup), scaling: JSON.stringify(scaling(s))};
    var head = new TextEncoder().encode(JSON.stringify(header)), pad = (8 - (head.length + 8) % 8) % 8;
    var padded = new Uint8Array(head.length + pad).fill(32);              // spaces: 8-byte aligned data
    padded.set(head);
    head = padded;
    var out = new Uint8Array(8 + head.length + offset);
    new DataView(out.buffer).setUint32(0, head.length, true);
    out.set(head, 8);
    var at = 8 + head.length;
    chunks.forEach(function (c) { out.set(c, at); at += c.length; });
    return out;
  }

  function scaling(s) {
    var p = s.points;
    return {center: p.fit.center, scale: p.fit.scale, target_center: p.tfit ? p.tfit.center[0] : 0, target_scale: p.tfit ? p.tfit.scale : 1};
  }

  function downloadCheckpoint() {
    var s = playgroundSession();
    if (!s) return;
    var blob = new Blob([checkpointBytes(s)], {type: "application/octet-stream"});
    var a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = "handgrad-playground.safetensors";
    document.body.appendChild(a);
    a.click();
    setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
  }

  var CODE = {x: "u", y: "v", x2: "u * u", y2: "v * v", xy: "u * v", sinx: "np.sin(np.pi * u)", siny: "np.sin(np.pi * v)"};

  /* Python that reloads the downloaded checkpoint and predicts, in the data's own units. */
  function snippet() {
    var s = playgroundSession();
    if (!s) return "";
    var sc = scaling(s), regression = s.points.task === "regression";
    var shift = sc.center.map(function (c) { return c >= 0 ? "- " + c.toPrecision(9) : "+ " + (-c).toPrecision(9); });
    var lines = [
      "# The playground's network " + JSON.stringify(s.net.layer_sizes) + ", trained in the browser by handgrad's JavaScript twin.",
      "import numpy as np",
      "from handgrad.io import load_model",
      "",
      "model = load_model('handgrad-playground.safetensors')",
      "",
      "",
      "def features(P):",
      "    \"\"\"The network's inputs for points P (n, 2), or (n, 1) for a curve, in the data's units.\"\"\"",
      "    u = (P[:, 0] " + shift[0] + ") / " + sc.scale.toPrecision(9) + "          # scaled into the playground's square",
    ];
    if (!regression) lines.push("    v = (P[:, 1] " + shift[1] + ") / " + sc.scale.toPrecision(9));
    lines.push("    return np.stack([" + s.setup.features.map(function (f) { return CODE[f]; }).join(", ") + "], axis=1)", "");
    lines.push("", "P = np.array([" + (regression ? "[0.0], [1.0]" : "[0.0, 0.0], [1.0, -1.0]") + "])   # points of your own");
    if (regression) lines.push("print(model.predict(features(P)) * " + sc.target_scale.toPrecision(9) + " + " + sc.target_center.toPrecision(9) + ")");
    else {
      lines.push("print(model.predict(features(P)))       # their classes" + (s.points.names ? ": " + s.points.names.map(function (n, i) { return i + " = " + n; }).join(", ") : ""));
      lines.push("print(model.predict_proba(features(P))) # and their probabilities");
    }
    return lines.join("\n") + "\n";
  }

  HG.local = {
    connect: function (dispatch) {
      var c = connect(dispatch);
      HG.local.active = c;
      return {send: function (msg) { c.setTable(localTable); c.send(msg); }};
    },
    thumbnails: function () { return HG.data.thumbnails(names(O().datasets)); },
    csv: csv, backprop: backprop, graph: graph, snippet: snippet, downloadCheckpoint: downloadCheckpoint,
    checkpointBytes: function () { return checkpointBytes(playgroundSession()); },
    checkSetup: checkSetup, checkRace: checkRace, Session: Session, Race: Race,
  };
})();
