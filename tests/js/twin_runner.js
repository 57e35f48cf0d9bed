/* Runs the JavaScript twin for tests/test_js_twin.py: one JSON request per line on stdin, one
 * JSON answer per line on stdout, so one Node process serves a whole test session.
 *
 *     node tests/js/twin_runner.js src/handgrad/playground/static/js/twin.js
 *
 * Requests: {op: "parity", case}, {op: "erf", x: [...]}, {op: "names"}, {op: "calls", calls},
 * {op: "train", ...}, {op: "rng", seed, n}. A thrown Error answers {error: message}. */
"use strict";

const path = require("path");
const readline = require("readline");
const twin = require(path.resolve(process.argv[2]));

/* The twin built from case.spec with case.state loaded, stepped once per entry of case.steps;
 * after each step every cached array, the gradients (the L1 term added) and the state. */
function parity(c) {
  const net = twin.build(c.spec);
  net.loadStateDict(c.state);
  const steps = c.steps.map((s) => {
    const loss = net.step(s.X, s.y, {masks: s.masks});
    const snap = net.snapshot();
    return {loss: loss, z: snap.layers.map((l) => l.z), a: snap.layers.map((l) => l.a),
            delta: snap.layers.map((l) => l.delta), grads: snap.grads, params: snap.params};
  });
  const out = {steps: steps, output: twin.toArrays(net.output(c.grid)),
               evaluate: net.evaluate(c.grid, c.grid_y), predict: net.predict(c.grid)};
  if (net.task !== "regression") out.proba = twin.toArrays(net.predictProba(c.grid));
  return out;
}

/* A list of calls on one network ([name, ...args]): the last one's result, or the first Error's
 * message; and the network's state after them. */
function calls(list) {
  let net = null;
  const actions = {
    build: (spec) => { net = twin.build(spec); },
    load: (state) => net.loadStateDict(state),
    forward: (X, training) => net.forward(X, {training: training}),
    backward: (y) => net.backward(y),
    step: (X, y, masks) => net.step(X, y, {masks: masks}),
    epoch: (X, y, batch, shuffle) => net.epoch(X, y, batch, shuffle),
    snapshot: () => net.snapshot(),
    layerOutputs: (X) => net.layerOutputs(X).map(twin.toArrays),
    predict: (X) => net.predict(X),
    predictProba: (X) => net.predictProba(X),
    evaluate: (X, y) => net.evaluate(X, y),
  };
  let last = null;
  try {
    for (const [name, ...args] of list) last = actions[name](...args);
  } catch (e) {
    return {error: e.message, state: net && net.stateDict()};
  }
  return {result: last === undefined ? null : (last && last.data ? twin.toArrays(last) : last),
          state: net && net.stateDict()};
}

/* Train with epoch() from the spec's seed; the losses and the test accuracy. */
function train(r) {
  const net = twin.build(r.spec);
  const losses = [];
  for (let e = 0; e < r.epochs; e++) losses.push(net.epoch(r.X, r.y, r.batch, r.shuffle).loss);
  return {losses: losses, evaluate: net.evaluate(r.X_test, r.y_test), state: net.stateDict()};
}

function rng(r) {
  const g = new twin.Rng(r.seed);
  const uniform = [], normal = [];
  for (let i = 0; i < r.n; i++) uniform.push(g.random());
  for (let i = 0; i < r.n; i++) normal.push(g.normal());
  const net = twin.build({layer_sizes: r.layer_sizes, init: r.init, seed: r.seed});
  return {uniform: uniform, normal: normal, permutation: Array.from(g.permutation(r.n)),
          state: net.stateDict()};
}

function handle(request) {
  switch (request.op) {
    case "parity": return parity(request.case);
    case "erf": return {y: request.x.map((x) => twin.erf(Number(x)))};
    case "names": return {activations: twin.ACTIVATIONS, activation_aliases: twin.ACTIVATION_ALIASES,
                          losses: twin.LOSSES, loss_aliases: twin.LOSS_ALIASES, norms: twin.NORMS,
                          optimizers: twin.OPTIMIZERS, initializers: twin.INITIALIZERS};
    case "calls": return calls(request.calls);
    case "train": return train(request);
    case "rng": return rng(request);
    default: throw new Error("unknown op " + request.op);
  }
}

readline.createInterface({input: process.stdin}).on("line", (line) => {
  let answer;
  try {
    answer = handle(JSON.parse(line));
  } catch (e) {
    answer = {error: e instanceof Error ? e.message : String(e)};
  }
  process.stdout.write(JSON.stringify(answer) + "\n");
});
