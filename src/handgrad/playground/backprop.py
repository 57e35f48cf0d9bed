"""Backprop, step by step: the lesson's 2 → 4 → 3 network on one example, stage by stage.

The network is a handgrad ``MLP([2, 4, 3], ["relu", "softmax"])`` whose biases are set to
small numbers drawn from its own generator (a fresh network's biases are 0, and every sum
would end in "+ 0"). The forward pass is ``model.forward(x)``; every layer caches x
(= a_prev), z and a. The backward pass is the one ``MLP.backward`` runs, called one piece at a
time so each stage can be shown:

    loss, δ2 = cross_entropy(z2, y)          δ2 = (p − y)/B                 (B, 3)
    da1 = out.backward_delta(δ2)             dW2 = δ2ᵀ a1, db2 = Σ δ2;  da1 = δ2 W2
    δ1 = hidden.activation.backward(da1)     δ1 = da1 ⊙ 1[z1 > 0]           (B, 4)
    hidden.backward_delta(δ1)                dW1 = δ1ᵀ x,  db1 = Σ δ1

Every array is read from handgrad's layers afterwards and sent as numbers; the page writes
the formulas and hover texts from them, in either layout — handgrad's ``(d_out, d_in)``
weights with z = x Wᵀ + b, or the lesson's x W with W of shape ``(d_in, d_out)`` — so that
switching layout needs no new run. A static copy of the page computes the same arrays with
the JavaScript twin from these weights.
"""

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..mlp import MLP
from ..nn.losses import cross_entropy
from .checks import SettingError, choice, number
from .config import BACKPROP_PRESETS as PRESETS

SIZES = (2, 4, 3)
BIAS_RANGE = 0.3             # biases drawn from U(-0.3, 0.3)
STATIC_SEEDS = range(10)     # the seeds whose weights a static copy of the page carries
STAGES = [
    # key, pass, title, where handgrad keeps it
    ("x", "forward", "Input", "model.layers[0].x"),
    ("z1", "forward", "Hidden pre-activation", "model.layers[0].z"),
    ("a1", "forward", "ReLU", "model.layers[0].a"),
    ("z2", "forward", "Output logits", "model.layers[1].z"),
    ("p", "forward", "Softmax", "model.layers[1].a"),
    ("loss", "forward", "Cross-entropy loss", "cross_entropy(z2, y)[0]"),
    ("delta2", "backward", "Output error", "cross_entropy(z2, y)[1]"),
    ("dW2", "backward", "Output layer gradients", "model.layers[1].dW, .db"),
    ("da1", "backward", "Back through W2", "model.layers[1].backward_delta(δ2)"),
    ("delta1", "backward", "Back through the ReLU", "model.layers[0].activation.backward(da1)"),
    ("dW1", "backward", "Hidden layer gradients", "model.layers[0].dW, .db"),
]


def check_example(query: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, int, str | None]:
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
    return np.array([[x1, x2]], dtype=np.float64), np.array([label]), seed, preset


def lesson_model(seed: int = 0) -> MLP:
    """The view's network: handgrad's MLP([2, 4, 3]) with small non-zero biases, in float64
    (as the page's JavaScript twin computes, so that both agree to the last digits)."""
    model = MLP(list(SIZES), ["relu", "softmax"], seed=seed, dtype=np.float64)
    for layer in model.layers:
        # b (d_out,): every layer here has one (b is None only for a layer built with bias=False)
        layer.b[:] = model.rng.uniform(-BIAS_RANGE, BIAS_RANGE, layer.b.shape)  # type: ignore[index,union-attr]
    return model


def weights(seed: int = 0) -> dict[str, Any]:
    """The view's starting weights for ``seed``: W1 (4, 2), b1 (4,), W2 (3, 4), b2 (3,)."""
    hidden, out = lesson_model(seed).layers     # both have a bias
    return {"W1": hidden.W.tolist(), "b1": hidden.b.tolist(),  # type: ignore[union-attr]
            "W2": out.W.tolist(), "b2": out.b.tolist()}  # type: ignore[union-attr]


def run(x: np.ndarray, y: np.ndarray, seed: int = 0) -> tuple[MLP, dict[str, np.ndarray]]:
    """Forward and backward through the lesson's network; returns the model and every array."""
    model = lesson_model(seed)
    hidden, out = model.layers
    hidden.needs_input_grad = False
    model.forward(x)                                        # caches x, z, a in every layer
    loss, delta2 = cross_entropy(out.z, y)                  # δ2 = (p − y)/B      (1, 3)
    da1 = out.backward_delta(delta2)                        # fills dW2, db2; δ2 W2  (1, 4)
    assert da1 is not None                                  # the output layer passes dL/da1 back
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


def backprop_steps(query: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Every array of one forward and backward pass, and the stages that show them; ``query``
    picks the example: {"preset": "a"} or {"x1": .., "x2": .., "label": ..} (and "seed")."""
    x, y, seed, preset = check_example(dict(query or {}))
    model, A = run(x, y, seed)
    return {"type": "backprop", "preset": preset, "seed": seed, "sizes": list(SIZES),
            "x": A["x"][0].tolist(), "label": int(A["y"][0]), "model": repr(model),
            "arrays": {k: v.tolist() for k, v in A.items()},
            "stages": [{"key": key, "pass": pas, "title": title, "source": source}
                       for key, pas, title, source in STAGES],
            "presets": {k: {"x1": v[0], "x2": v[1], "label": v[2]} for k, v in PRESETS.items()}}


def static_data() -> dict[str, Any]:
    """What a static copy of the page carries: the starting weights of a few seeds."""
    return {"stages": [{"key": key, "pass": pas, "title": title, "source": source}
                       for key, pas, title, source in STAGES],
            "sizes": list(SIZES), "weights": {str(s): weights(s) for s in STATIC_SEEDS}}
