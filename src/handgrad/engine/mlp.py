"""The lesson's small network of ``Value``s: ``Neuron``, ``Layer``, ``MLP`` (with ``fit``) and
the two losses over a batch of output lists.

The network loads a handgrad state dict (``layers.{i}.weight`` (d_out, d_in),
``layers.{i}.bias``), so the same weights give the same gradients here, in the
hand-derived ``handgrad.MLP``, in the ``Tensor`` engine and in PyTorch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np
from numpy.typing import ArrayLike

from ..nn.init import InitMethod, as_generator, init_weight
from ..nn.module import check_state_matches
from .value import Value

ACTIVATIONS: dict[str, Callable[[Value], Value]] = {
    "relu": Value.relu,
    "tanh": Value.tanh,
    "sigmoid": Value.sigmoid,
    "identity": lambda z: z,
}


def _activation_name(name: str | None) -> str:
    key = "identity" if name in (None, "linear") else str(name).lower()
    if key not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; valid names: {', '.join(ACTIVATIONS)}")
    return key


def _sum(values: Iterable[Value], start: Value) -> Value:
    """start + v0 + v1 + …, left to right, with no extra 0 leaf."""
    total = start
    for v in values:
        total = total + v
    return total


class Neuron:
    """z = b + Σ_i w_i x_i, a = f(z): one row of a layer's weight matrix."""

    def __init__(self, weights: Iterable[float], bias: float = 0.0, activation: str | None = "relu",
                 name: str = "neuron") -> None:
        self.w = [Value(w, f"{name}.w[{i}]") for i, w in enumerate(weights)]
        self.b = Value(bias, f"{name}.b")
        self.activation = _activation_name(activation)

    def __call__(self, x: Sequence[Value | float]) -> Value:
        z = _sum((wi * xi for wi, xi in zip(self.w, x)), self.b)   # b + w·x
        return ACTIVATIONS[self.activation](z)

    def parameters(self) -> list[Value]:
        return self.w + [self.b]

    def __repr__(self) -> str:
        return f"Neuron({len(self.w)}, {self.activation})"


class Layer:
    """n_out neurons reading the same n_in inputs; weight row j belongs to neuron j."""

    def __init__(self, n_in: int, n_out: int, activation: str | None = "relu", init: InitMethod = "he",
                 rng: np.random.Generator | None = None, name: str = "layer") -> None:
        W = init_weight(init, as_generator(rng), n_out, n_in, np.float64)    # (n_out, n_in)
        self.neurons = [Neuron(W[j], 0.0, activation, f"{name}[{j}]") for j in range(n_out)]

    def __call__(self, x: Sequence[Value | float]) -> list[Value]:
        return [n(x) for n in self.neurons]

    def parameters(self) -> list[Value]:
        return [p for n in self.neurons for p in n.parameters()]

    def __repr__(self) -> str:
        return f"Layer({len(self.neurons[0].w)}, {len(self.neurons)}, {self.neurons[0].activation})"


class MLP:
    """The lesson's network of Values: ``MLP([2, 16, 16, 2], ["relu", "relu", "identity"])``.

    One activation per layer (default: ReLU hidden layers, a linear output that
    the loss reads as logits). Weights are drawn by ``init`` ("he", "xavier", …)
    from a generator built from ``seed``; biases start at 0. ``model(x)`` maps
    one example (a sequence of numbers or Values) to a list of output Values.

    It shares its words and ``fit``'s defaults (10 epochs, ``lr`` 0.1, the whole set as
    one batch) with ``handgrad.MLP`` and the Tensor engine's ``handgrad.autograd.MLP``, and
    differs from ``handgrad.MLP`` in two things on purpose: the output is linear by default
    (the loss takes logits, as PyTorch's losses do, where ``handgrad.MLP`` fuses a softmax
    output with its loss), and the plain SGD step is ``step(lr)``, PyTorch's word, where
    ``handgrad.MLP`` keeps the lesson's ``update``.
    """

    def __init__(self, layer_sizes: Sequence[int],
                 activations: str | Sequence[str | None] | None = None, seed: int | None = None,
                 rng: np.random.Generator | None = None, init: InitMethod = "he") -> None:
        sizes = [int(n) for n in layer_sizes]
        if len(sizes) < 2 or min(sizes) < 1:
            raise ValueError(f"layer_sizes needs at least 2 positive sizes; "
                             f"got {list(layer_sizes)}")
        n = len(sizes) - 1
        if activations is None:
            activations = ["relu"] * (n - 1) + ["identity"]
        if isinstance(activations, str):
            activations = [activations] * (n - 1) + ["identity"]
        if len(activations) != n:
            raise ValueError(f"activations needs {n} entries (one per layer); "
                             f"got {len(activations)}")
        rng = as_generator(rng, seed)
        self.layer_sizes = sizes
        self.layers = [Layer(sizes[i], sizes[i + 1], activations[i], init, rng, f"layers.{i}")
                       for i in range(n)]

    def __call__(self, x: Sequence[Value | float]) -> list[Value]:
        if len(x) != self.layer_sizes[0]:
            raise ValueError(f"an example needs {self.layer_sizes[0]} inputs; got {len(x)}")
        a = [xi if isinstance(xi, Value) else Value(xi) for xi in x]
        for layer in self.layers:
            a = layer(a)
        return a

    def __repr__(self) -> str:
        return "MLP(" + ", ".join(repr(l) for l in self.layers) + ")"

    def parameters(self) -> list[Value]:
        return [p for layer in self.layers for p in layer.parameters()]

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = 0.0

    # --- state dicts: the same weights as handgrad.MLP and PyTorch ----------------------

    def _arrays(self, what: str) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for i, layer in enumerate(self.layers):
            out[f"layers.{i}.weight"] = np.array([[getattr(w, what) for w in n.w]  # (d_out, d_in)
                                                  for n in layer.neurons])
            out[f"layers.{i}.bias"] = np.array([getattr(n.b, what)                    # (d_out,)
                                                for n in layer.neurons])
        return out

    def state_dict(self) -> dict[str, np.ndarray]:
        """Weights (d_out, d_in) and biases (d_out,) as float64 arrays, handgrad's names."""
        return self._arrays("data")

    def grad_dict(self) -> dict[str, np.ndarray]:
        """Gradients under the same names and shapes as ``state_dict``."""
        return self._arrays("grad")

    def load_state_dict(self, state: Mapping[str, ArrayLike]) -> MLP:
        """Copy a handgrad (or PyTorch) state dict in; keys and shapes must match exactly."""
        own = self.state_dict()
        check_state_matches(own, {k: np.asarray(v) for k, v in state.items()})
        for i, layer in enumerate(self.layers):
            W = np.asarray(state[f"layers.{i}.weight"], dtype=np.float64)   # (d_out, d_in)
            b = np.asarray(state[f"layers.{i}.bias"], dtype=np.float64)     # (d_out,)
            for j, n in enumerate(layer.neurons):
                for w, value in zip(n.w, W[j]):
                    w.data = float(value)
                n.b.data = float(b[j])
        return self

    # --- loss, training, prediction ---------------------------------------------------

    def loss(self, X: ArrayLike, y: ArrayLike, loss: str = "cross_entropy") -> Value:
        """The mean loss over a batch, a Value: X (B, d_in), y (B,) labels or (B, d_out) targets."""
        if loss not in LOSSES:
            raise ValueError(f"unknown loss {loss!r}; valid names: {', '.join(LOSSES)}")
        return LOSSES[loss]([self(x) for x in np.asarray(X, dtype=np.float64).tolist()], y)

    def step(self, lr: float) -> None:
        """Plain SGD: p.data -= lr * p.grad for every parameter."""
        for p in self.parameters():
            p.data -= lr * p.grad

    def fit(self, X: ArrayLike, y: ArrayLike, epochs: int = 10, lr: float = 0.1,
            batch_size: int | None = None, loss: str = "cross_entropy", seed: int | None = None,
            rng: np.random.Generator | None = None) -> list[float]:
        """Plain SGD: for each mini-batch, zero_grad, loss, backward, step(lr).

        Returns the mean loss of each epoch. Batches are shuffled by a generator
        built from ``seed``; ``batch_size=None`` is the whole set.
        """
        X, y = np.asarray(X, dtype=np.float64), np.asarray(y)
        rng = as_generator(rng, seed)
        n = len(X)
        size = n if batch_size is None else int(batch_size)
        history: list[float] = []
        for _ in range(epochs):
            order, total = rng.permutation(n), 0.0
            for start in range(0, n, size):
                batch = order[start:start + size]
                self.zero_grad()
                L = self.loss(X[batch], y[batch], loss)
                L.backward()
                self.step(lr)
                total += L.data * len(batch)
            history.append(total / n)
        return history

    def forward_values(self, X: ArrayLike) -> np.ndarray:
        """The outputs as a float array (n, d_out)."""
        rows = np.asarray(X, dtype=np.float64).tolist()
        return np.array([[o.data for o in self(x)] for x in rows])                 # (n, d_out)

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Class labels (argmax of the outputs) with 2+ outputs; the output values otherwise."""
        out = self.forward_values(X)
        return out.argmax(axis=1) if out.shape[1] > 1 else out[:, 0]

    def score(self, X: ArrayLike, y: ArrayLike) -> float:
        """Accuracy of ``predict`` against labels ``y``."""
        return float(np.mean(self.predict(X) == np.asarray(y)))


# --- losses over a batch of output lists ------------------------------------------------------

def cross_entropy(outputs: Sequence[Sequence[Value]], labels: ArrayLike) -> Value:
    """Mean softmax cross-entropy of logits (B lists of K Values) against labels (B,).

    L_i = log Σ_k e^(z_k - m) + m - z_y, with m = max_k z_k taken as a constant:
    L does not depend on m, so neither does its gradient, which comes out as
    softmax(z) - onehot(y) — the fused (p - y)/B of handgrad.MLP.
    """
    labels = [int(c) for c in np.asarray(labels).reshape(-1)]
    if len(labels) != len(outputs):
        raise ValueError(f"got {len(outputs)} outputs but {len(labels)} labels")
    losses: list[Value] = []
    for z, c in zip(outputs, labels):
        if not 0 <= c < len(z):
            raise ValueError(f"labels must be integers in [0, {len(z)}); got {c}")
        m = max(v.data for v in z)
        shifted = [(v - m).exp() for v in z]
        losses.append(_sum(shifted[1:], shifted[0]).log() + m - z[c])
    return _sum(losses[1:], losses[0]) * (1.0 / len(losses))


def mse(outputs: Sequence[Sequence[Value]], targets: ArrayLike) -> Value:
    """The lesson's MSE: L = 1/(2n) Σ_i Σ_j (a_ij - y_ij)², n examples; dL/da = (a - y)/n."""
    Y = np.asarray(targets, dtype=np.float64).reshape(len(outputs), -1)
    if Y.shape[1] != len(outputs[0]):
        raise ValueError(f"targets need {len(outputs[0])} columns to match the output; "
                         f"got {Y.shape[1]}")
    squares = [(a - t) ** 2 for row, trow in zip(outputs, Y.tolist()) for a, t in zip(row, trow)]
    return _sum(squares[1:], squares[0]) * (0.5 / len(outputs))


LOSSES = {"cross_entropy": cross_entropy, "mse": mse}
