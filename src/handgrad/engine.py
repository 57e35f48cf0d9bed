"""A scalar autograd engine: ``Value``, micrograd's idea, done right.

Every operation on a ``Value`` builds its output and, on the same lines, the
local derivative of that output with respect to each input:

    c = a * b       c.data = a.data * b.data       ∂c/∂a = b.data,  ∂c/∂b = a.data

The output keeps its inputs (``parents``), the name of the operation (``op``)
and those local derivatives (``local``). ``backward()`` then applies the chain
rule from the output back to every leaf, visiting the nodes in reverse
topological order, so a node's gradient is complete before it is passed on:

    parent.grad += local_derivative * node.grad      (for every edge node -> parent)

The ``+=`` is the multivariate chain rule: a value used in several places (a
weight shared by many neurons, or ``a * a``) receives the sum of the gradients
that come back along each use. ``RULES`` writes each operation's rule out as a
line of code.

What this engine does that the small teaching engines do not:

- a node used twice gets both gradients (``a + a`` has gradient 2);
- the topological sort is iterative, so a chain of 100,000 operations works;
- ``backward()`` twice behaves as PyTorch's does: leaf gradients accumulate
  (2x after two calls), intermediate gradients are recomputed, not doubled;
  ``zero_grad()`` resets every gradient in the graph;
- ``log`` of a number <= 0, a negative base to a fractional power, division by
  zero and any result or gradient that is not finite raise a ``ValueError``
  naming the operation, instead of a silent NaN.

Numbers are Python floats (float64). The network on top (``Neuron``, ``Layer``,
``MLP``) loads a handgrad state dict (``layers.{i}.weight`` (d_out, d_in),
``layers.{i}.bias``), so the same weights give the same gradients here, in the
hand-derived ``handgrad.MLP``, in the ``Tensor`` engine and in PyTorch.

    from handgrad.engine import Value
    a, b = Value(2.0, "a"), Value(-3.0, "b")
    L = (a * b + 10).relu()
    L.backward()
    a.grad, b.grad          # (-3.0, 2.0)
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np
from numpy.typing import ArrayLike

from .nn.init import InitMethod, as_generator, init_weight
from .nn.module import check_state_matches

# Each operation's local backward rule, as a line of code: ``out`` is the result,
# ``self`` (and ``other``) its inputs, ``k`` a constant exponent. The engine below
# applies exactly these rules (a test runs these strings against it).
RULES = {
    "+": "self.grad += out.grad; other.grad += out.grad",
    "-": "self.grad += out.grad; other.grad -= out.grad",
    "*": "self.grad += other.data * out.grad; other.grad += self.data * out.grad",
    "/": "self.grad += out.grad / other.data; other.grad -= self.data / other.data ** 2 * out.grad",
    "**": "self.grad += k * self.data ** (k - 1) * out.grad  # k: a constant, no gradient",
    "neg": "self.grad -= out.grad",
    "exp": "self.grad += out.data * out.grad",
    "log": "self.grad += out.grad / self.data",
    "tanh": "self.grad += (1 - out.data ** 2) * out.grad",
    "sigmoid": "self.grad += out.data * (1 - out.data) * out.grad",
    "relu": "self.grad += (self.data > 0) * out.grad",
}

_EXP_MAX = math.log(np.finfo(np.float64).max)     # 709.78: exp of anything larger overflows


class Value:
    """A scalar in a computation graph: its ``data``, ``grad`` = dL/d(this), and how it was made.

    ``op`` is the operation that made it ("" for a leaf), ``parents`` its inputs
    (a tuple of Values, in order), ``local`` the local derivative
    ∂(this)/∂(parent) for each parent, computed in the forward pass.
    Plain numbers mix in on either side: ``2 * a``, ``a + 1``, ``1 / a``; each
    becomes a leaf Value, so it shows in the graph. ``x ** k`` keeps its
    exponent the same way, as a second parent ``Value(k)`` that is a constant
    (its local derivative is 0).
    """

    __slots__ = ("data", "grad", "label", "local", "op", "parents")
    __array_ufunc__ = None         # array * Value: NumPy steps aside, Value.__rmul__ runs

    data: float
    grad: float
    label: str
    op: str
    parents: tuple[Value, ...]
    local: tuple[float, ...]

    def __init__(self, data: float, label: str = "") -> None:
        data = float(data)
        if data - data != 0.0:                       # inf - inf and nan - nan are nan
            raise ValueError(f"Value needs a finite number; got {data}")
        self.data = data
        self.grad = 0.0
        self.label = label
        self.op = ""
        self.parents = ()
        self.local = ()

    def __repr__(self) -> str:
        extra = ((f", label={self.label!r}" if self.label else "")
                 + (f", op={self.op!r}" if self.op else ""))
        return f"Value(data={self.data:.6g}, grad={self.grad:.6g}{extra})"

    # --- the operations: forward value and local derivatives side by side ---------------

    def __add__(self, other: Value | float) -> Value:
        other = other if isinstance(other, Value) else Value(other)
        return _node(self.data + other.data, "+", (self, other),
                     (1.0, 1.0))                                    # ∂/∂self = 1, ∂/∂other = 1

    def __sub__(self, other: Value | float) -> Value:
        other = other if isinstance(other, Value) else Value(other)
        return _node(self.data - other.data, "-", (self, other),
                     (1.0, -1.0))                                   # ∂/∂self = 1, ∂/∂other = -1

    def __mul__(self, other: Value | float) -> Value:
        other = other if isinstance(other, Value) else Value(other)
        return _node(self.data * other.data, "*", (self, other),
                     (other.data, self.data))                     # ∂/∂self = other, ∂/∂other = self

    def __truediv__(self, other: Value | float) -> Value:
        other = other if isinstance(other, Value) else Value(other)
        a, b = self.data, other.data
        if b == 0.0:
            raise ValueError(f"/: division by zero ({a} / 0)")
        q = a / b
        return _node(q, "/", (self, other),
                     _finite("/", (1.0 / b, -q / b), q))             # ∂/∂a = 1/b, ∂/∂b = -a/b²

    def __pow__(self, k: float) -> Value:
        if isinstance(k, Value) or not isinstance(k, numbers.Real):
            raise TypeError(f"**: the exponent must be an int or a float; got {type(k).__name__}")
        x, k = self.data, float(k)
        if x < 0 and not k.is_integer():
            raise ValueError(f"**: {x} ** {k} is not a real number (a negative base needs an "
                             "integer exponent)")
        if x == 0 and k < 0:
            raise ValueError(f"**: division by zero (0 ** {k})")
        if x == 0 and 0 < k < 1:
            raise ValueError(f"**: the derivative of x ** {k} is infinite at x = 0")
        try:
            out = x ** k
            dx = k * x ** (k - 1) if k != 0 else 0.0                 # ∂/∂x x^k = k x^(k-1)
        except OverflowError:
            raise ValueError(f"**: {x} ** {k} overflows float64") from None
        return _node(out, "**", (self, Value(k)), _finite("**", (dx, 0.0), out))   # k: a constant

    def __neg__(self) -> Value:
        return _node(-self.data, "neg", (self,), (-1.0,))             # ∂(-x)/∂x = -1

    def __radd__(self, other: float) -> Value:                     # other + self
        return Value(other) + self

    def __rsub__(self, other: float) -> Value:                     # other - self
        return Value(other) - self

    def __rmul__(self, other: float) -> Value:                     # other * self
        return Value(other) * self

    def __rtruediv__(self, other: float) -> Value:                 # other / self
        return Value(other) / self

    def exp(self) -> Value:
        x = self.data
        if x > _EXP_MAX:
            raise ValueError(f"exp: exp({x}) overflows float64 (the largest argument is "
                             "about 709.78)")
        e = math.exp(x)
        return _node(e, "exp", (self,), (e,))                        # ∂e^x/∂x = e^x

    def log(self) -> Value:
        x = self.data
        if x <= 0:
            raise ValueError(f"log: needs a positive number; got {x}")
        y = math.log(x)
        return _node(y, "log", (self,), _finite("log", (1.0 / x,), y))  # ∂log x/∂x = 1/x

    def tanh(self) -> Value:
        t = math.tanh(self.data)
        return _node(t, "tanh", (self,), (1.0 - t * t,))             # ∂tanh/∂x = 1 - tanh²

    def sigmoid(self) -> Value:
        x = self.data
        if x >= 0:
            s = 1.0 / (1.0 + math.exp(-x))
        else:                                                      # e^x / (1 + e^x): no overflow
            e = math.exp(x)
            s = e / (1.0 + e)
        return _node(s, "sigmoid", (self,), (s * (1.0 - s),))        # ∂σ/∂x = σ(1 - σ)

    def relu(self) -> Value:
        x = self.data
        return _node(x if x > 0 else 0.0, "relu", (self,),
                     (1.0 if x > 0 else 0.0,))                      # ∂relu/∂x = [x > 0]

    # --- the backward pass ----------------------------------------------------------

    def backward(self, grad: float = 1.0) -> None:
        """Fill ``grad`` of every node in this value's graph with d(this)/d(node).

        Leaves (``op == ""``: the inputs and weights) accumulate: a second call
        adds the same gradients again, as PyTorch's ``backward`` does for leaf
        tensors, so call ``zero_grad()`` (or the model's) between steps.
        Intermediate nodes are recomputed from zero on every call, never
        doubled. ``grad`` seeds this node (default 1: dL/dL).
        """
        grad = float(grad)
        if grad - grad != 0.0:
            raise ValueError(f"backward: the seed gradient must be a finite number; got {grad}")
        order = topological_order(self)
        for v in order:
            if v.parents:
                v.grad = 0.0                       # intermediates: recomputed, not accumulated
        self.grad += grad
        for v in reversed(order):                  # every use of v is done before v passes on
            g = v.grad
            if g - g != 0.0:
                _raise_nonfinite_grad(v, order)
            for p, d in zip(v.parents, v.local):
                p.grad += d * g                    # the chain rule; += sums over every use of p

    def zero_grad(self) -> None:
        """Set ``grad`` to 0 on every node of this value's graph, leaves included."""
        for v in topological_order(self):
            v.grad = 0.0


def _node(data: float, op: str, parents: tuple[Value, ...], local: tuple[float, ...]) -> Value:
    """A new Value made by ``op``; a result that is not finite is an error, never a silent NaN."""
    if data - data != 0.0:
        shown = ", ".join(f"{p.data:.6g}" for p in parents)
        raise ValueError(f"{op}: the result is {data} (inputs {shown}): not a finite number")
    out = Value.__new__(Value)
    out.data = data
    out.grad = 0.0
    out.label = ""
    out.op = op
    out.parents = parents
    out.local = local
    return out


def _finite(op: str, local: tuple[float, ...], result: float) -> tuple[float, ...]:
    """The local derivatives, checked finite (1/x and -a/b² overflow for tiny x, b), after
    the result (so that a result that overflows is reported as such)."""
    if result - result != 0.0:
        raise ValueError(f"{op}: the result is {result}: not a finite number")
    for d in local:
        if d - d != 0.0:
            raise ValueError(f"{op}: a local derivative is {d}: not a finite number")
    return local


def _raise_nonfinite_grad(v: Value, order: list[Value]) -> None:
    """Explain which operation sent a gradient that is not finite to ``v``."""
    position = {id(n): i for i, n in enumerate(order)}
    for node in reversed(order[position[id(v)] + 1:]):
        for p, d in zip(node.parents, node.local):
            if p is v and (d * node.grad) - (d * node.grad) != 0.0:
                raise ValueError(f"{node.op}: backward sent a gradient of {d * node.grad} to "
                                 f"{v!r}: not a finite number")
    raise ValueError(f"backward: the gradient of {v!r} overflowed while summing its uses")


class _Node(Protocol):
    """A node of a graph: a ``Value`` or a ``Tensor``, anything with ``parents``."""

    @property
    def parents(self) -> Sequence[Any]: ...


N = TypeVar("N", bound=_Node)


def topological_order(root: N) -> list[N]:
    """Every node of ``root``'s graph, each once, parents before children (leaves first).

    Depth-first post-order with an explicit stack, so a graph of any depth works
    (no recursion limit). A node goes back on the stack under a marker (None)
    with its parents above it; when the marker comes up, every parent has been
    placed, and so is the node. The stack holds only the graph's own nodes, so
    the sort makes no garbage.
    """
    order: list[N] = []
    seen: set[N] = set()
    stack: list[Any] = [root]                      # nodes, and None as a marker
    while stack:
        v = stack.pop()
        if v is None:                              # the marker: v's parents are all placed
            order.append(stack.pop())
        elif v not in seen:
            seen.add(v)
            stack.append(v)
            stack.append(None)
            stack.extend(reversed(v.parents))      # the first parent comes up first
    return order


def propagate(node: Value) -> None:
    """Apply ``node``'s local rule once: pass ``node.grad`` to its parents (one backward step)."""
    for p, d in zip(node.parents, node.local):
        p.grad += d * node.grad


# --- pictures ------------------------------------------------------------------------------

def _num(x: float) -> str:
    return f"{x:.4f}" if 1e-3 <= abs(x) < 1e5 or x == 0 else f"{x:.4g}"


def _escape(text: str) -> str:
    """Text safe inside a DOT record label."""
    for ch in '\\"{}|<>':
        text = text.replace(ch, "\\" + ch)
    return text


def to_dot(root: Value, rankdir: str = "LR") -> str:
    """The graph of ``root`` as Graphviz DOT text: one record per value (label, data, grad),
    one small node per operation, edges from inputs to operation to result. A value
    used twice has two edges into the operation."""
    order = topological_order(root)
    index = {id(v): i for i, v in enumerate(order)}
    lines = ["digraph engine {", f"  rankdir={rankdir};",
             '  node [shape=record, fontname="Helvetica", fontsize=11];']
    for i, v in enumerate(order):
        name = _escape(v.label) + " | " if v.label else ""
        lines.append(f'  v{i} [label="{{ {name}data {_num(v.data)} | grad {_num(v.grad)} }}"];')
        if v.op:
            lines.append(f'  v{i}_op [label="{_escape(v.op)}", shape=circle, width=0.4];')
            lines.append(f"  v{i}_op -> v{i};")
            lines += [f"  v{index[id(p)]} -> v{i}_op;" for p in v.parents]
    lines.append("}")
    return "\n".join(lines) + "\n"


def draw(root: Value, out: str | os.PathLike[str] | None = None, rankdir: str = "LR") -> str:
    """The graph of ``root`` as DOT text; with ``out``, also written to that file.

    ``.dot`` / ``.gv`` files are the text itself (nothing to install); ``.svg``,
    ``.png`` and ``.pdf`` are rendered by the ``graphviz`` Python package
    (``pip install 'handgrad[graph]'``) calling the Graphviz program ``dot``
    (``apt-get install graphviz`` or ``brew install graphviz``).
    """
    dot = to_dot(root, rankdir)
    if out is None:
        return dot
    path = Path(out)
    suffix = path.suffix.lower()
    if suffix in (".dot", ".gv"):
        path.write_text(dot)
        return dot
    if suffix not in (".svg", ".png", ".pdf"):
        raise ValueError(f"cannot draw to {path.name!r}: use a .svg, .png, .pdf or .dot file")
    try:
        import graphviz
    except ImportError:
        raise ImportError("drawing to .svg/.png needs the graphviz package: pip install "
                          "'handgrad[graph]' (and the Graphviz program: apt-get install graphviz); "
                          "a .dot file needs neither") from None
    try:
        picture = graphviz.Source(dot).pipe(format=suffix[1:])
    except graphviz.ExecutableNotFound:
        raise RuntimeError("the Graphviz program `dot` is not installed: apt-get install graphviz "
                           "(or brew install graphviz); a .dot file needs no program") from None
    path.write_bytes(picture)
    return dot


# --- the lesson's example --------------------------------------------------------------------

def example_graph() -> Value:
    """The lesson's graph, after backward: a = 2, b = -3, c = 10, d = a·b, e = d + c, L = relu(e).

    L = relu(2·(-3) + 10) = 4; dL/de = dL/dd = dL/dc = 1, dL/da = b = -3, dL/db = a = 2.
    """
    a, b, c = Value(2.0, "a"), Value(-3.0, "b"), Value(10.0, "c")
    d = a * b
    d.label = "d"
    e = d + c
    e.label = "e"
    L = e.relu()
    L.label = "L"
    L.backward()
    return L


def describe(root: Value) -> str:
    """Printable text: each node's value, gradient and how it was made, in topological order."""
    order = topological_order(root)
    names = {id(v): v.label or f"#{i}" for i, v in enumerate(order)}
    rows = [("node", "made by", "data", "grad")]
    for v in order:
        made = f"{v.op}({', '.join(names[id(p)] for p in v.parents)})" if v.op else "leaf"
        rows.append((names[id(v)], made, _num(v.data), _num(v.grad)))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = ["  ".join(c.ljust(w) if i < 2 else c.rjust(w)
                       for i, (c, w) in enumerate(zip(r, widths))) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append("")
    lines.append("topological order (leaves first): " + " -> ".join(names[id(v)] for v in order))
    lines.append("backward visits it in reverse; local rules:")
    for op in dict.fromkeys(v.op for v in order if v.op):
        lines.append(f"  {op:>7}: {RULES[op]}")
    return "\n".join(lines)


# --- the lesson's tiny network ------------------------------------------------------------------

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

    def fit(self, X: ArrayLike, y: ArrayLike, epochs: int = 100, learning_rate: float = 0.1,
            batch_size: int | None = None, loss: str = "cross_entropy", seed: int | None = None,
            rng: np.random.Generator | None = None) -> list[float]:
        """Plain SGD: for each mini-batch, zero_grad, loss, backward, p.data -= lr * p.grad.

        Returns the mean loss of each epoch. Batches are shuffled by a generator
        built from ``seed``; ``batch_size=None`` is the whole set.
        """
        X, y = np.asarray(X, dtype=np.float64), np.asarray(y)
        rng = as_generator(rng, seed)
        n = len(X)
        size = n if batch_size is None else int(batch_size)
        params = self.parameters()
        history: list[float] = []
        for _ in range(epochs):
            order, total = rng.permutation(n), 0.0
            for start in range(0, n, size):
                batch = order[start:start + size]
                self.zero_grad()
                L = self.loss(X[batch], y[batch], loss)
                L.backward()
                for p in params:
                    p.data -= learning_rate * p.grad
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
