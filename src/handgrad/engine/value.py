"""The scalar autograd engine itself: ``Value``, its local rules (``RULES``) and the backward
pass over a topological order (see the package docstring, ``handgrad.engine``)."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any, Protocol, TypeVar

import numpy as np

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
