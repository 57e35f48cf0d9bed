"""Exercises of the lesson "Stacking layers": the single-example forward pass checked on four
test points, one per quadrant, and the 2 → 8 → 1 network trained on noisy XOR."""

from __future__ import annotations

import numpy as np

from ...data import make_xor
from ...nn import Linear, ReLU
from ..checking import Fail, Learner, Mistake, as_array, same, same_number
from ..registry import Lesson, Wrong, exercise
from .common import mlp, weights

LESSON = Lesson("stacking", "Stacking layers")

POINTS = [(0.8, 0.6), (-0.7, 0.9), (-0.5, -0.8), (0.9, -0.4)]   # one per quadrant


@exercise(
    "mlp-forward-points", "The forward pass on four test points", LESSON,
    "section “The MLP forward pass”",
    statement="""
    One example at a time: x is a vector of n inputs, W has one row per output neuron (shape
    (out, n)) and b one entry per output. linear(x, W, b) gives W x + b; relu keeps the
    positive entries; mlp_forward chains linear → relu → linear.

    Write the three functions (lists or NumPy arrays both fine) and PARAMETERS, the number
    of trainable numbers of the lesson's 2 → 8 → 1 network. Your mlp_forward is compared
    with handgrad's on four test points, one in each quadrant of the plane, for a 2 → 8 → 1
    network and a square 2 → 2 → 2 one.
    """,
    template='''
    import numpy as np


    def linear(x, W, b):
        """W x + b for one example: x (n,), W (out, n), b (out,) -> (out,)."""
        ...


    def relu(x):
        ...


    def mlp_forward(x, w1, b1, w2, b2):
        """linear, relu, linear."""
        ...


    PARAMETERS = ...      # trainable numbers of a 2 -> 8 -> 1 network
    ''',
    solution='''
    import numpy as np


    def linear(x, W, b):
        """W x + b for one example: x (n,), W (out, n), b (out,) -> (out,)."""
        return np.asarray(W) @ np.asarray(x) + np.asarray(b)      # (out, n) @ (n,) -> (out,)


    def relu(x):
        return np.maximum(np.asarray(x), 0.0)


    def mlp_forward(x, w1, b1, w2, b2):
        """linear, relu, linear."""
        hidden = relu(linear(x, w1, b1))
        return linear(hidden, w2, b2)


    PARAMETERS = 8 * 2 + 8 + 8 + 1
    ''',
    hints=[
        "Each output is the dot product of one row of W with x, plus that row's bias: W @ x + b.",
        "No activation after the second linear layer.",
        "Parameters: 8×2 weights + 8 biases, then 1×8 weights + 1 bias.",
    ],
    wrongs=[Wrong("relu-on-output", [("return linear(hidden, w2, b2)",
                                      "return relu(linear(hidden, w2, b2))")]),
            Wrong("relu-before-bias", [("hidden = relu(linear(x, w1, b1))",
                                        "hidden = relu(linear(x, w1, 0 * np.asarray(b1))) + b1")]),
            Wrong("forgot-bias-count", [("PARAMETERS = 8 * 2 + 8 + 8 + 1", "PARAMETERS = 8 * 2 + 8")])],
)
def check_points(L: Learner) -> None:
    lin, fwd = L.fn("linear"), L.fn("mlp_forward")
    for sizes in ((2, 2, 2), (2, 8, 1)):
        Ws, bs = weights(sizes, seed=40 + sizes[1], bias_scale=0.5)
        for point in POINTS:
            x = np.array(point)
            layer = Linear(2, sizes[1], dtype=np.float64)
            layer.params["weight"][...], layer.params["bias"][...] = Ws[0], bs[0]
            what = f"x = {list(point)} on a {' → '.join(map(str, sizes))} network"
            same(lin(x, Ws[0], bs[0]), layer.forward(x[None])[0], f"linear(x, w1, b1) for {what}", [
                Mistake("transposed-weight", (x @ Ws[0] + bs[0]) if sizes[1] == 2 else np.nan,
                        "you multiplied x by W, not W by x: W has one row per output, so the "
                        "output is W @ x + b")])
            hidden = ReLU().forward(layer.forward(x[None]))[0]
            out = Ws[1] @ hidden + bs[1]
            same(fwd(x, Ws[0], bs[0], Ws[1], bs[1]), out, f"mlp_forward for {what}", [
                Mistake("relu-on-output", np.maximum(out, 0), "the output went through a ReLU: "
                        "the last layer is linear"),
                Mistake("relu-before-bias", Ws[1] @ (np.maximum(Ws[0] @ x, 0) + bs[0]) + bs[1],
                        "the bias was added after the ReLU: relu(W x + b)"),
            ])
    n = mlp(*weights((2, 8, 1)), output="sigmoid").count_params()
    same_number(L.answer("PARAMETERS"), n, "PARAMETERS", [
        Mistake("forgot-bias-count", 8 * 2 + 8, "that counts the first layer only"),
        Mistake("forgot-biases", 8 * 2 + 8, "biases count too: one per output neuron"),
    ])


@exercise(
    "xor-train", "Train 2 → 8 → 1 on noisy XOR", LESSON, "section “Train on XOR”",
    statement="""
    The 2 → 8 → 1 network: a ReLU hidden layer of 8 and one output unit whose sigmoid is the
    probability of class 1, trained with binary cross-entropy on the whole batch at once.
    With z the output's logit, the gradient starts from the clean (σ(z) − y) / n, the same
    shape of formula as softmax's (p − y) / B: the sigmoid is fused with the loss.

    Write train_step(params, X, y, lr) for params W1 (8, 2), b1 (8,), W2 (1, 8), b2 (1,): one
    full-batch gradient step, in place, returning the loss before the step,
    L = mean(−y log σ(z) − (1 − y) log(1 − σ(z))). The checker compares one step with
    handgrad's, then trains your step 2000 times on 200 noisy XOR points.
    """,
    template='''
    import numpy as np


    def sigmoid(z):
        e = np.exp(-np.abs(z))
        return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


    def train_step(params, X, y, lr):
        """One full-batch step of binary cross-entropy (in place); returns the loss before it."""
        ...
    ''',
    solution='''
    import numpy as np


    def sigmoid(z):
        e = np.exp(-np.abs(z))
        return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


    def train_step(params, X, y, lr):
        """One full-batch step of binary cross-entropy (in place); returns the loss before it."""
        n = X.shape[0]
        y = y.reshape(n, 1)
        z1 = X @ params["W1"].T + params["b1"]                   # (n, 8)
        a1 = np.maximum(z1, 0)                                    # (n, 8)
        z2 = a1 @ params["W2"].T + params["b2"]                  # (n, 1) logits
        loss = np.mean(np.maximum(z2, 0) - y * z2 + np.log1p(np.exp(-np.abs(z2))))
        dz2 = (sigmoid(z2) - y) / n                               # (n, 1) fused with the loss
        dz1 = (dz2 @ params["W2"]) * (z1 > 0)                     # (n, 8)
        grads = {"W2": dz2.T @ a1, "b2": dz2.sum(axis=0), "W1": dz1.T @ X, "b1": dz1.sum(axis=0)}
        for name, g in grads.items():
            params[name] -= lr * g
        return loss
    ''',
    hints=[
        "The loss without log(0): log σ(z) = −softplus(−z), and softplus(z) = max(z, 0) + "
        "log(1 + e^(−|z|)).",
        "Fused with the loss, the sigmoid's derivative cancels: dL/dz = (σ(z) − y) / n.",
        "Then the usual backward: dW2 = dz2ᵀ a1, dz1 = (dz2 W2) ⊙ 1[z1 > 0], dW1 = dz1ᵀ X.",
    ],
    wrongs=[Wrong("extra-sigmoid-factor", [("dz2 = (sigmoid(z2) - y) / n",
                                            "dz2 = (sigmoid(z2) - y) * sigmoid(z2) * "
                                            "(1 - sigmoid(z2)) / n")]),
            Wrong("forgot-n", [("dz2 = (sigmoid(z2) - y) / n", "dz2 = sigmoid(z2) - y")])],
    seconds=20,
    heavy=True,
)
def check_xor(L: Learner) -> None:
    step = L.fn("train_step")
    X, y = make_xor(n_samples=200, noise=0.1, seed=0)
    X, y = X.astype(np.float64), y.astype(np.float64)
    Ws, bs = weights((2, 8, 1), seed=41)
    start = {"W1": Ws[0], "b1": bs[0], "W2": Ws[1], "b2": bs[1]}
    model = mlp(Ws, bs, output="sigmoid")
    loss = model.loss_and_grad(X, y)
    g = {"W1": model.grads["layers.0.weight"], "b1": model.grads["layers.0.bias"],
         "W2": model.grads["layers.1.weight"], "b2": model.grads["layers.1.bias"]}
    held = L.put({k: v.copy() for k, v in start.items()})
    got_loss = step(held, X, y, 0.5)
    same_number(got_loss, loss, "the loss train_step returns (binary cross-entropy, before the step)")
    after = L.fetch(held)
    if not isinstance(after, dict):
        raise Fail("params should stay a dict of arrays", "wrong-type")
    n = len(X)
    z2 = model.layers[1].z
    s = 1 / (1 + np.exp(-z2))
    extra = (s - y[:, None]) * s * (1 - s) / n
    a1, z1 = model.layers[0].a, model.layers[0].z
    for name in ("W2", "b2", "W1", "b1"):
        right = start[name] - 0.5 * g[name]
        if name == "W2":
            wrong_extra = start[name] - 0.5 * (extra.T @ a1)
        elif name == "b2":
            wrong_extra = start[name] - 0.5 * extra.sum(axis=0)
        else:
            dz1 = (extra @ Ws[1]) * (z1 > 0)
            wrong_extra = start[name] - 0.5 * (dz1.T @ X if name == "W1" else dz1.sum(axis=0))
        same(after.get(name), right, f"params['{name}'] after one step (lr 0.5)", [
            Mistake("extra-sigmoid-factor", wrong_extra, "you multiplied by σ'(z): fused with "
                    "binary cross-entropy, the sigmoid's derivative cancels and dL/dz = "
                    "(σ(z) − y) / n"),
            Mistake("forgot-n", start[name] - 0.5 * n * g[name], f"the step is n = {n} times too "
                    "large: did you forget to divide by the number of examples?"),
        ])
    params = L.put({k: v.copy() for k, v in start.items()})
    for _ in range(2000):
        step(params, X, y, 0.5)
    final = L.fetch(params)
    trained = mlp([as_array(final["W1"], "W1"), as_array(final["W2"], "W2")],
                  [as_array(final["b1"], "b1"), as_array(final["b2"], "b2")], output="sigmoid")
    acc = float(np.mean(trained.predict(X) == y))
    corners = trained.predict(np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64))
    if acc < 0.95 or list(corners) != [0, 1, 1, 0]:
        raise Fail(f"after 2000 of your steps (lr 0.5) the network classifies {100 * acc:.1f}% "
                   f"of the XOR points and says {list(corners)} at the four corners (want "
                   "[0, 1, 1, 0])")
    L.note(f"trained with your steps: {100 * acc:.1f}% of the noisy XOR points, corners "
           f"{list(corners)}")

