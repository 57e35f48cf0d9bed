"""Backprop, step by step: the lesson's 2 → 4 → 3 network on one example, stage by stage.

The network is a handgrad ``MLP([2, 4, 3], ["relu", "softmax"])``. The forward pass is
``model.forward(x)``; every layer caches x (= a_prev), z and a. The backward pass is
the one ``MLP.backward`` runs, called one piece at a time so each stage can be shown:

    loss, δ2 = cross_entropy(z2, y)          δ2 = (p − y)/B                 (B, 3)
    da1 = out.backward_delta(δ2)             dW2 = δ2ᵀ a1, db2 = Σ δ2;  da1 = δ2 W2
    δ1 = hidden.activation.backward(da1)     δ1 = da1 ⊙ 1[z1 > 0]           (B, 4)
    hidden.backward_delta(δ1)                dW1 = δ1ᵀ x,  db1 = Σ δ1

Every number in the result is read from handgrad's arrays afterwards. The hover texts
write each number's formula out with the actual values, e.g.
``z1[2] = x[0]·W1[2,0] + x[1]·W1[2,1] + b1[2] = 0.8×(−0.31) + 0.3×0.82 + 0 = −0.0020``.
"""

import numpy as np

from ..mlp import MLP
from ..nn.losses import cross_entropy
from .config import BACKPROP_PRESETS as PRESETS
from .config import SettingError, choice, number

SIZES = (2, 4, 3)
STAGES = [
    # key, pass, title, formula with shapes, where handgrad keeps it
    ("x", "forward", "Input", "x  (B, 2) = (1, 2)", "model.layers[0].x"),
    ("z1", "forward", "Hidden pre-activation",
     "z1 = x W1ᵀ + b1   (1, 2) @ (2, 4) + (4,) → (1, 4)", "model.layers[0].z"),
    ("a1", "forward", "ReLU", "a1 = relu(z1) = max(z1, 0)   (1, 4)", "model.layers[0].a"),
    ("z2", "forward", "Output logits",
     "z2 = a1 W2ᵀ + b2   (1, 4) @ (4, 3) + (3,) → (1, 3)", "model.layers[1].z"),
    ("p", "forward", "Softmax", "p = e^z2 / Σ e^z2   (1, 3)", "model.layers[1].a"),
    ("loss", "forward", "Cross-entropy loss", "L = −(1/B) Σ log p[y]   scalar",
     "cross_entropy(z2, y)[0]"),
    ("delta2", "backward", "Output error", "δ2 = ∂L/∂z2 = (p − y)/B   (1, 3)",
     "cross_entropy(z2, y)[1]"),
    ("dW2", "backward", "Output layer gradients",
     "dW2 = δ2ᵀ a1   (3, 1) @ (1, 4) → (3, 4);   db2 = Σ_batch δ2   (3,)",
     "model.layers[1].dW, .db"),
    ("da1", "backward", "Back through W2", "∂L/∂a1 = δ2 W2   (1, 3) @ (3, 4) → (1, 4)",
     "model.layers[1].backward_delta(δ2)"),
    ("delta1", "backward", "Back through the ReLU",
     "δ1 = ∂L/∂a1 ⊙ 1[z1 > 0]   (1, 4) ⊙ (1, 4)", "model.layers[0].activation.backward(da1)"),
    ("dW1", "backward", "Hidden layer gradients",
     "dW1 = δ1ᵀ x   (4, 1) @ (1, 2) → (4, 2);   db1 = Σ_batch δ1   (4,)",
     "model.layers[0].dW, .db"),
]


def fmt(v):
    """A number as the page prints it: 4 decimals, a real minus sign, negatives in brackets
    where they are multiplied (see ``term``)."""
    text = f"{float(v):.4f}"
    if text in ("-0.0000", "0.0000"):
        text = "0.0000"
    return text.replace("-", "−")


def term(v):
    text = fmt(v)
    return f"({text})" if text.startswith("−") else text


def check_example(query):
    """(x (1, 2), y (1,), seed, preset) from a preset name or x1, x2, label (and seed)."""
    known = {"preset", "x1", "x2", "label", "seed"}
    unknown = sorted(set(query) - known)
    if unknown:
        raise SettingError(unknown[0], f"unknown setting {unknown[0]!r}; known: "
                                       f"{', '.join(sorted(known))}")
    seed = number("seed", query.get("seed", 0), 0, 2**31 - 1, "seed", integer=True)
    preset = query.get("preset")
    if preset is not None and preset != "":
        preset = choice("preset", preset, tuple(PRESETS), "preset")
        x1, x2, label = PRESETS[preset]
    else:
        preset = None
        x1 = number("x1", query.get("x1", 0.5), -5, 5, "x1")
        x2 = number("x2", query.get("x2", -0.5), -5, 5, "x2")
        label = number("label", query.get("label", 0), 0, SIZES[-1] - 1, "label", integer=True)
    return np.array([[x1, x2]], dtype=np.float32), np.array([label]), seed, preset


def run(x, y, seed=0):
    """Forward and backward through the lesson's network; returns the model and every array."""
    model = MLP(list(SIZES), ["relu", "softmax"], seed=seed)
    hidden, out = model.layers
    hidden.needs_input_grad = False
    model.forward(x)                                        # caches x, z, a in every layer
    loss, delta2 = cross_entropy(out.z, y)                  # δ2 = (p − y)/B      (1, 3)
    da1 = out.backward_delta(delta2)                        # fills dW2, db2; δ2 W2  (1, 4)
    delta1 = hidden.activation.backward(da1)                # δ1 = da1 ⊙ 1[z1 > 0]  (1, 4)
    hidden.backward_delta(delta1)                           # fills dW1, db1
    arrays = {
        "x": hidden.x, "W1": hidden.W, "b1": hidden.b, "z1": hidden.z, "a1": hidden.a,
        "W2": out.W, "b2": out.b, "z2": out.z, "p": out.a, "y": y,
        "loss": np.array(loss), "delta2": delta2, "dW2": out.dW, "db2": out.db,
        "da1": da1, "delta1": delta1, "dW1": hidden.dW, "db1": hidden.db,
    }
    return model, {k: np.array(v, dtype=np.float64) if k != "y" else np.array(v)
                   for k, v in arrays.items()}


def _info(name, shape, formula, numbers, value):
    return {"name": name, "shape": shape, "formula": formula,
            "numbers": numbers, "value": round(float(value), 6), "text": fmt(value)}


def _stage_items(key, A):
    """What a stage shows: {node or edge id: info}."""
    x, W1, b1, z1, a1 = A["x"][0], A["W1"], A["b1"], A["z1"][0], A["a1"][0]
    W2, b2, z2, p = A["W2"], A["b2"], A["z2"][0], A["p"][0]
    y = int(A["y"][0])
    d2, da1, d1 = A["delta2"][0], A["da1"][0], A["delta1"][0]
    items = {}
    if key == "x":
        for i in range(2):
            items[f"in{i}"] = _info(f"x[{i}]", "x (1, 2)", f"x[{i}] = input {i}", fmt(x[i]), x[i])
    elif key == "z1":
        for j in range(4):
            sum_ = " + ".join(f"{term(x[i])}×{term(W1[j, i])}" for i in range(2))
            items[f"h{j}"] = _info(
                f"z1[{j}]", "z1 (1, 4)",
                f"z1[{j}] = x[0]·W1[{j},0] + x[1]·W1[{j},1] + b1[{j}]",
                f"= {sum_} + {term(b1[j])} = {fmt(z1[j])}", z1[j])
            for i in range(2):
                items[f"w1_{j}_{i}"] = _info(
                    f"W1[{j},{i}]", "W1 (4, 2) = (d_out, d_in)",
                    f"W1[{j},{i}]: the weight from x[{i}] into hidden unit {j}",
                    fmt(W1[j, i]), W1[j, i])
    elif key == "a1":
        for j in range(4):
            items[f"h{j}"] = _info(f"a1[{j}]", "a1 (1, 4)", f"a1[{j}] = max(z1[{j}], 0)",
                                   f"= max({fmt(z1[j])}, 0) = {fmt(a1[j])}", a1[j])
    elif key == "z2":
        for k in range(3):
            sum_ = " + ".join(f"{term(a1[j])}×{term(W2[k, j])}" for j in range(4))
            items[f"o{k}"] = _info(
                f"z2[{k}]", "z2 (1, 3)",
                f"z2[{k}] = Σ_j a1[j]·W2[{k},j] + b2[{k}]",
                f"= {sum_} + {term(b2[k])} = {fmt(z2[k])}", z2[k])
            for j in range(4):
                items[f"w2_{k}_{j}"] = _info(
                    f"W2[{k},{j}]", "W2 (3, 4) = (d_out, d_in)",
                    f"W2[{k},{j}]: the weight from hidden unit {j} into output {k}",
                    fmt(W2[k, j]), W2[k, j])
    elif key == "p":
        exps = " + ".join(f"e^{term(z2[m])}" for m in range(3))
        for k in range(3):
            items[f"o{k}"] = _info(f"p[{k}]", "p (1, 3)", f"p[{k}] = e^z2[{k}] / Σ_m e^z2[m]",
                                   f"= e^{term(z2[k])} / ({exps}) = {fmt(p[k])}", p[k])
    elif key == "loss":
        items["loss"] = _info("L", "scalar", f"L = −log p[y],  y = {y}",
                              f"= −log {fmt(p[y])} = {fmt(A['loss'])}", A["loss"])
    elif key == "delta2":
        for k in range(3):
            items[f"o{k}"] = _info(f"δ2[{k}]", "δ2 (1, 3)",
                                   f"δ2[{k}] = (p[{k}] − y[{k}]) / B,  y one-hot, B = 1",
                                   f"= ({fmt(p[k])} − {int(k == y)}) / 1 = {fmt(d2[k])}", d2[k])
    elif key == "dW2":
        for k in range(3):
            for j in range(4):
                items[f"w2_{k}_{j}"] = _info(
                    f"dW2[{k},{j}]", "dW2 (3, 4), like W2",
                    f"dW2[{k},{j}] = δ2[{k}]·a1[{j}]   (dW2 = δ2ᵀ a1)",
                    f"= {term(d2[k])}×{term(a1[j])} = {fmt(A['dW2'][k, j])}", A["dW2"][k, j])
            items[f"o{k}"] = _info(f"db2[{k}]", "db2 (3,)", f"db2[{k}] = Σ_batch δ2[{k}]",
                                   f"= {fmt(d2[k])}", A["db2"][k])
    elif key == "da1":
        for j in range(4):
            sum_ = " + ".join(f"{term(d2[k])}×{term(W2[k, j])}" for k in range(3))
            items[f"h{j}"] = _info(f"∂L/∂a1[{j}]", "∂L/∂a1 (1, 4)",
                                   f"∂L/∂a1[{j}] = Σ_k δ2[k]·W2[k,{j}]   (δ2 W2)",
                                   f"= {sum_} = {fmt(da1[j])}", da1[j])
    elif key == "delta1":
        for j in range(4):
            mask = int(z1[j] > 0)
            items[f"h{j}"] = _info(f"δ1[{j}]", "δ1 (1, 4)",
                                   f"δ1[{j}] = ∂L/∂a1[{j}] · 1[z1[{j}] > 0]   (the ReLU mask)",
                                   f"= {term(da1[j])}×1[{fmt(z1[j])} > 0] = {term(da1[j])}×{mask}"
                                   f" = {fmt(d1[j])}", d1[j])
    elif key == "dW1":
        for j in range(4):
            for i in range(2):
                items[f"w1_{j}_{i}"] = _info(
                    f"dW1[{j},{i}]", "dW1 (4, 2), like W1",
                    f"dW1[{j},{i}] = δ1[{j}]·x[{i}]   (dW1 = δ1ᵀ x)",
                    f"= {term(d1[j])}×{term(x[i])} = {fmt(A['dW1'][j, i])}", A["dW1"][j, i])
            items[f"h{j}"] = _info(f"db1[{j}]", "db1 (4,)", f"db1[{j}] = Σ_batch δ1[{j}]",
                                   f"= {fmt(d1[j])}", A["db1"][j])
    return items


def backprop_steps(query=None):
    """Every stage of one forward and backward pass, with hover texts; ``query`` picks the
    example: {"preset": "a"} or {"x1": .., "x2": .., "label": ..} (and "seed")."""
    x, y, seed, preset = check_example(dict(query or {}))
    model, A = run(x, y, seed)
    stages = [{"key": key, "pass": pas, "title": title, "formula": formula, "source": source,
               "value": A[key].tolist() if key != "dW2" and key != "dW1"
               else {"dW": A[key].tolist(), "db": A["db" + key[-1]].tolist()},
               "items": _stage_items(key, A)}
              for key, pas, title, formula, source in STAGES]
    return {"type": "backprop", "preset": preset, "seed": seed, "sizes": list(SIZES),
            "x": A["x"][0].tolist(), "label": int(A["y"][0]), "model": repr(model),
            "shapes": {k: list(v.shape) for k, v in A.items()},
            "presets": {k: {"x1": v[0], "x2": v[1], "label": v[2]} for k, v in PRESETS.items()},
            "stages": stages}
