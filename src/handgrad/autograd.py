"""A tensor autograd engine: ``Tensor``, the scalar ``Value`` engine with arrays inside.

The graph structure is identical to ``handgrad.engine``: every operation makes
an output that keeps its inputs (``parents``), its name (``op``) and, written
next to the forward computation, its local backward rule. Only the per-node
math is heavier: a rule receives G = dL/d(out), an array shaped like the
output, and returns dL/d(input) for each input,

    C = A @ B       dL/dA = G @ Bᵀ                 dL/dB = Aᵀ @ G
    C = A + B       dL/dA = G                      dL/dB = G          (then un-broadcast)
    C = A * B       dL/dA = G ⊙ B                  dL/dB = G ⊙ A

and ``backward()`` walks the reverse topological order (the same iterative
sort as the scalar engine), adding each rule's result into ``grad``. When an
input was broadcast (a bias (n,) added to every row of a (B, n) batch), the
output's gradient is summed over the broadcast axes, which is the chain rule
for a value used B times.

As in the scalar engine and in PyTorch, leaf gradients accumulate across
``backward()`` calls and intermediate ones are recomputed; ``zero_grad()``
clears them. A tensor made with ``requires_grad=False`` (the input batch, a
constant) gets no gradient, and nothing upstream of it is differentiated.

dtype is kept: float32 data gives float32 outputs and gradients (plain
numbers are cast to the tensor's dtype); integer data becomes float32.
``log`` of a number <= 0, a negative base to a fractional power, division by
zero and an ``exp`` that overflows raise a ``ValueError`` naming the operation.

    from handgrad.autograd import Tensor, cross_entropy
    W = Tensor(rng.standard_normal((10, 64)).astype(np.float32))
    loss = cross_entropy(Tensor(X, requires_grad=False) @ W.T, y)
    loss.backward()
    W.grad                      # (10, 64) float32
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeAlias, cast

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from .engine.value import topological_order
from .nn.init import InitMethod, as_generator, init_weight
from .nn.module import check_state_matches

InputGrads: TypeAlias = tuple[np.ndarray | None, ...]
Rule: TypeAlias = Callable[[np.ndarray], InputGrads]
"""A local backward rule: dL/d(out) -> dL/d(input) for each input (None: not needed)."""


class Tensor:
    """An array in a computation graph: ``data`` (a NumPy array), ``grad`` (same shape, or
    None before backward), ``op`` ("" for a leaf), ``parents`` and the local backward rule.

    ``Tensor(array)`` shares a float array's memory (as ``torch.from_numpy`` does), so an
    update of ``t.data`` in place is seen by the array; integers become float32.
    """

    __slots__ = ("data", "grad", "label", "op", "parents", "requires_grad", "rule")
    __array_ufunc__ = None         # array + Tensor: NumPy steps aside, Tensor.__radd__ runs

    data: np.ndarray
    grad: np.ndarray | None
    label: str
    op: str
    parents: tuple[Tensor, ...]
    rule: Rule | None
    requires_grad: bool

    def __init__(self, data: ArrayLike, requires_grad: bool = True, label: str = "",
                 dtype: DTypeLike | None = None) -> None:
        data = np.asarray(data, dtype=dtype)           # a float array is shared, not copied
        if data.dtype.kind in "biu":
            data = data.astype(np.float32)
        if data.dtype.kind != "f":
            raise ValueError(f"Tensor needs real numbers; got dtype {data.dtype}")
        if not (np.isfinite(data.sum()) or np.isfinite(data).all()):    # one pass when finite
            raise ValueError("Tensor needs finite numbers; got NaN or Inf")
        self.data = data
        self.grad = None
        self.label = label
        self.op = ""
        self.parents = ()
        self.rule = None
        self.requires_grad = bool(requires_grad)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        extra = ((f", label={self.label!r}" if self.label else "")
                 + (f", op={self.op!r}" if self.op else ""))
        return f"Tensor(shape={self.shape}, dtype={self.dtype}{extra})"

    def numpy(self) -> np.ndarray:
        return self.data

    def item(self) -> float:
        return cast(float, self.data.item())

    # --- elementwise arithmetic, broadcasting -------------------------------------------

    def __add__(self, other: Tensor | ArrayLike) -> Tensor:
        other = lift(other, self)

        def rule(G: np.ndarray) -> InputGrads:         # ∂(a + b)/∂a = ∂(a + b)/∂b = 1
            return G, G

        return node(self.data + other.data, "+", (self, other), rule)

    def __sub__(self, other: Tensor | ArrayLike) -> Tensor:
        other = lift(other, self)

        def rule(G: np.ndarray) -> InputGrads:         # ∂(a - b)/∂a = 1, ∂(a - b)/∂b = -1
            return G, -G

        return node(self.data - other.data, "-", (self, other), rule)

    def __mul__(self, other: Tensor | ArrayLike) -> Tensor:
        other = lift(other, self)
        a, b = self.data, other.data

        def rule(G: np.ndarray) -> InputGrads:         # ∂(ab)/∂a = b, ∂(ab)/∂b = a
            return G * b, G * a

        return node(a * b, "*", (self, other), rule)

    def __truediv__(self, other: Tensor | ArrayLike) -> Tensor:
        other = lift(other, self)
        a, b = self.data, other.data
        if (b == 0).any():
            raise ValueError("/: division by zero")

        def rule(G: np.ndarray) -> InputGrads:         # ∂(a/b)/∂a = 1/b, ∂(a/b)/∂b = -a/b²
            return G / b, -G * a / (b * b)

        return node(a / b, "/", (self, other), rule)

    def __pow__(self, k: float) -> Tensor:
        if isinstance(k, Tensor) or not isinstance(k, numbers.Real):
            raise TypeError(f"**: the exponent must be an int or a float; got {type(k).__name__}")
        x = self.data
        if not float(k).is_integer() and (x < 0).any():
            raise ValueError(f"**: a negative base to the power {k} is not a real number")
        if k < 1 and k != 0 and (x == 0).any():
            raise ValueError(f"**: 0 ** {k} (or its derivative) is infinite")

        def rule(G: np.ndarray) -> InputGrads:         # ∂x^k/∂x = k x^(k-1)
            return (G * (k * x ** (k - 1)),)

        with np.errstate(over="ignore"):               # an overflow is reported by checked
            return node(checked(x ** k, "**"), "**", (self,), rule)

    def __neg__(self) -> Tensor:
        def rule(G: np.ndarray) -> InputGrads:         # ∂(-x)/∂x = -1
            return (-G,)

        return node(-self.data, "neg", (self,), rule)

    def __radd__(self, other: ArrayLike) -> Tensor:
        return lift(other, self) + self

    def __rsub__(self, other: ArrayLike) -> Tensor:
        return lift(other, self) - self

    def __rmul__(self, other: ArrayLike) -> Tensor:
        return lift(other, self) * self

    def __rtruediv__(self, other: ArrayLike) -> Tensor:
        return lift(other, self) / self

    # --- matrix product ---------------------------------------------------------------

    def __matmul__(self, other: Tensor | ArrayLike) -> Tensor:
        other = lift(other, self)
        A, B = self.data, other.data
        need_a, need_b = self.requires_grad, other.requires_grad

        def rule(G: np.ndarray) -> InputGrads:         # C = A B: dA = G Bᵀ, dB = Aᵀ G
            dA = G @ np.swapaxes(B, -1, -2) if need_a else None    # (m, n) @ (n, k) -> (m, k)
            dB = None
            if need_b and B.ndim == 2 and not B.flags.c_contiguous:
                dB = (G.T @ A).T       # B is a transposed view (x @ W.T): (n, m) @ (m, k), then
                                       # .T, so W's gradient comes back in W's own layout
            elif need_b:
                dB = np.swapaxes(A, -1, -2) @ G                    # (k, m) @ (m, n) -> (k, n)
            return dA, dB

        return node(A @ B, "@", (self, other), rule)

    @property
    def T(self) -> Tensor:
        def rule(G: np.ndarray) -> InputGrads:         # the transpose of a transpose
            return (G.T,)

        return node(self.data.T, "T", (self,), rule)

    def reshape(self, *shape: int | Sequence[int]) -> Tensor:
        dims = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        old = self.data.shape

        def rule(G: np.ndarray) -> InputGrads:         # same numbers, the input's shape
            return (G.reshape(old),)

        return node(self.data.reshape(dims), "reshape", (self,), rule)

    def __getitem__(self, index: Any) -> Tensor:
        index = index.data.astype(np.intp) if isinstance(index, Tensor) else index
        x = self.data

        def rule(G: np.ndarray) -> InputGrads:         # each picked entry gets its G; repeats add
            dx = np.zeros_like(x)
            np.add.at(dx, index, G)
            return (dx,)

        return node(x[index], "index", (self,), rule)

    # --- elementwise functions ----------------------------------------------------------

    def exp(self) -> Tensor:
        with np.errstate(over="ignore"):               # an overflow is reported just below
            e = checked(np.exp(self.data), "exp")

        def rule(G: np.ndarray) -> InputGrads:         # ∂e^x/∂x = e^x
            return (G * e,)

        return node(e, "exp", (self,), rule)

    def log(self) -> Tensor:
        x = self.data
        if (x <= 0).any():
            raise ValueError(f"log: needs positive numbers; got {x[x <= 0].ravel()[0]}")

        def rule(G: np.ndarray) -> InputGrads:         # ∂log x/∂x = 1/x
            return (G / x,)

        return node(checked(np.log(x), "log"), "log", (self,), rule)

    def relu(self) -> Tensor:
        x = self.data

        def rule(G: np.ndarray) -> InputGrads:         # ∂relu/∂x = [x > 0]
            return (G * (x > 0),)

        return node(np.maximum(x, 0), "relu", (self,), rule)

    def tanh(self) -> Tensor:
        t = np.tanh(self.data)

        def rule(G: np.ndarray) -> InputGrads:         # ∂tanh/∂x = 1 - tanh²
            return (G * (1 - t * t),)

        return node(t, "tanh", (self,), rule)

    def sigmoid(self) -> Tensor:
        x = self.data
        e = np.exp(-np.abs(x))                         # in (0, 1]: never overflows
        s = np.where(x >= 0, 1 / (1 + e), e / (1 + e))

        def rule(G: np.ndarray) -> InputGrads:         # ∂σ/∂x = σ(1 - σ)
            return (G * (s * (1 - s)),)

        return node(s, "sigmoid", (self,), rule)

    # --- reductions -------------------------------------------------------------------

    def sum(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        shape = self.data.shape

        def rule(G: np.ndarray) -> InputGrads:         # every summed entry gets G
            return (np.broadcast_to(_keep(G, shape, axis, keepdims), shape),)

        return node(self.data.sum(axis=axis, keepdims=keepdims), "sum", (self,), rule)

    def mean(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        shape = self.data.shape
        out = self.data.mean(axis=axis, keepdims=keepdims)
        n = self.data.size // max(np.size(out), 1)    # how many entries each mean averages

        def rule(G: np.ndarray) -> InputGrads:         # every entry gets G / n
            return (np.broadcast_to(_keep(G, shape, axis, keepdims) / n, shape),)

        return node(out, "mean", (self,), rule)

    def max(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        x = self.data
        m = x.max(axis=axis, keepdims=True)

        def rule(G: np.ndarray) -> InputGrads:         # G goes to the maximum; ties share it
            mask = (x == m)
            return (_keep(G, x.shape, axis, keepdims) * mask / mask.sum(axis=axis, keepdims=True),)

        out = m if keepdims else (m.reshape(()) if axis is None else np.squeeze(m, axis=axis))
        return node(out, "max", (self,), rule)

    def log_softmax(self, axis: int = -1) -> Tensor:
        """z - log Σ e^z along ``axis``, computed from z - max (no overflow, no log 0)."""
        s = self.data - self.data.max(axis=axis, keepdims=True)
        out = s - np.log(np.exp(s).sum(axis=axis, keepdims=True))
        p = np.exp(out)

        def rule(G: np.ndarray) -> InputGrads:         # ∂/∂z_j: G_j - p_j Σ_k G_k
            return (G - p * G.sum(axis=axis, keepdims=True),)

        return node(out, "log_softmax", (self,), rule)

    # --- the backward pass ------------------------------------------------------------

    def backward(self, grad: ArrayLike | None = None) -> None:
        """Fill ``grad`` of every tensor in this one's graph that requires it.

        ``grad`` seeds this tensor (default: ones, so a scalar loss gets dL/dL = 1).
        Leaves accumulate across calls; intermediates are recomputed.
        """
        seed = np.ones_like(self.data) if grad is None else np.array(grad, dtype=self.dtype)
        if seed.shape != self.shape:
            raise ValueError(f"backward's grad must have shape {self.shape}; got {seed.shape}")
        order = topological_order(self)
        for v in order:
            if v.parents:
                v.grad = None                          # intermediates: recomputed, not accumulated
        given: set[int] = set()                        # arrays already handed to a leaf
        accumulate(self, seed, given)
        for v in reversed(order):
            if v.rule is None or v.grad is None:
                continue
            for p, g in zip(v.parents, v.rule(v.grad)):
                if g is not None and p.requires_grad:
                    accumulate(p, unbroadcast(g, p.data.shape), given)

    def zero_grad(self) -> None:
        """Clear ``grad`` (to None) on every tensor of this one's graph."""
        for v in topological_order(self):
            v.grad = None


def lift(x: Tensor | ArrayLike, like: Tensor) -> Tensor:
    """``x`` as a Tensor; a plain number or array becomes a constant of ``like``'s dtype."""
    if isinstance(x, Tensor):
        return x
    return Tensor(np.asarray(x, dtype=like.data.dtype), requires_grad=False)


def node(data: ArrayLike, op: str, parents: tuple[Tensor, ...], rule: Rule) -> Tensor:
    """The output of ``op``: a graph node when an input needs a gradient, else a constant."""
    out = Tensor.__new__(Tensor)
    out.data = data if isinstance(data, np.ndarray) else np.asarray(data)
    out.grad = None
    out.label = ""
    out.op = op
    out.requires_grad = any(p.requires_grad for p in parents)
    out.parents = parents if out.requires_grad else ()
    out.rule = rule if out.requires_grad else None
    return out


def checked(x: np.ndarray, op: str) -> np.ndarray:
    """``x`` if every entry is finite, else a ValueError naming ``op``."""
    if not np.isfinite(x).all():
        raise ValueError(f"{op}: the result is not finite (overflow); scale the input down")
    return x


def accumulate(p: Tensor, g: np.ndarray, given: set[int]) -> None:
    """p.grad += g, never in place. A leaf's gradient may be changed in place by its user
    (clipping, an optimizer), so a leaf gets an array of its own: contiguous, writable, and
    shared with no other leaf (``given`` holds the arrays handed out in this pass)."""
    if p.grad is not None:
        p.grad = p.grad + g
    elif p.parents:
        p.grad = g                                     # an intermediate: kept as it came
    else:
        owner = id(g if g.base is None else g.base)
        if owner in given or not g.flags.writeable or not g.flags.c_contiguous:
            g = np.array(g, order="C")
            owner = id(g)
        given.add(owner)
        p.grad = g


def unbroadcast(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``g`` over the axes that broadcasting added or stretched, back to ``shape``."""
    if g.shape == shape:
        return g
    extra = g.ndim - len(shape)
    if extra:
        g = g.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if stretched:
        g = g.sum(axis=stretched, keepdims=True)
    return g.reshape(shape)


def _keep(G: np.ndarray, shape: tuple[int, ...], axis: int | tuple[int, ...] | None,
          keepdims: bool) -> np.ndarray:
    """G with the reduced axes put back as size 1, ready to broadcast to ``shape``."""
    if keepdims or axis is None:
        return np.reshape(G, [1] * len(shape)) if axis is None else G
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    return np.expand_dims(G, tuple(a % len(shape) for a in axes))


# --- losses -------------------------------------------------------------------------------------

def log_softmax(z: Tensor, axis: int = -1) -> Tensor:
    return z.log_softmax(axis)


def cross_entropy(logits: Tensor, labels: Tensor | ArrayLike) -> Tensor:
    """Mean softmax cross-entropy of logits (B, K) against integer labels (B,), fused.

    L = (1/B) Σ_i (log Σ_k e^z_ik - z_iy);  dL/dz = (softmax(z) - onehot(y)) / B,
    the same δ as handgrad.MLP's output layer. Equal to
    ``-log_softmax(z)[arange(B), y].mean()``, in one node.
    """
    y = np.asarray(labels.data if isinstance(labels, Tensor) else labels).astype(np.intp)
    z = logits.data
    B, K = z.shape
    if y.shape != (B,):
        raise ValueError(f"labels must have shape ({B},); got {y.shape}")
    if y.size and (y.min() < 0 or y.max() >= K):
        raise ValueError(f"labels must be integers in [0, {K}); got {y[(y < 0) | (y >= K)][0]}")
    s = z - z.max(axis=1, keepdims=True)                        # (B, K), max 0
    lse = np.log(np.exp(s).sum(axis=1, keepdims=True))          # (B, 1)
    rows = np.arange(B)
    loss = np.mean(lse[:, 0] - s[rows, y])                      # scalar

    def rule(G: np.ndarray) -> InputGrads:                      # (p - Y) / B, times dL/dloss
        delta = np.exp(s - lse)                                 # (B, K) softmax
        delta[rows, y] -= 1                                     # (B, K) p - Y
        return (delta * (G / B),)

    return node(np.asarray(loss, dtype=z.dtype), "cross_entropy", (logits,), rule)


def mse(pred: Tensor, target: Tensor | ArrayLike) -> Tensor:
    """The lesson's MSE, L = 1/(2n) Σ_i Σ_j (a_ij - y_ij)² over n examples, from primitives:
    its gradient (a - y)/n comes out of the ``**``, ``sum`` and ``*`` rules."""
    target = lift(np.asarray(target.data if isinstance(target, Tensor) else target,
                             dtype=pred.dtype).reshape(pred.shape), pred)
    return ((pred - target) ** 2).sum() * (0.5 / len(pred))


LOSSES = {"cross_entropy": cross_entropy, "mse": mse}

ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "relu": Tensor.relu,
    "tanh": Tensor.tanh,
    "sigmoid": Tensor.sigmoid,
    "identity": lambda z: z,
}


# --- the MLP, in a dozen lines ----------------------------------------------------------------

class MLP:
    """a(l) = f(a(l-1) W(l)ᵀ + b(l)) on Tensors: the hand-derived handgrad.MLP, differentiated
    by the engine. W is (d_out, d_in) as in torch.nn.Linear; the output is logits (or values).

    Its words and ``fit``'s defaults are those of the scalar engine's ``handgrad.engine.MLP``:
    a linear output by default and ``step(lr)``, where ``handgrad.MLP`` fuses a softmax
    output with its loss and keeps the lesson's ``update`` (see ``handgrad.engine.MLP``).
    """

    params: dict[str, Tensor]

    def __init__(self, layer_sizes: Sequence[int], activations: Sequence[str] | None = None,
                 seed: int | None = None, rng: np.random.Generator | None = None,
                 dtype: DTypeLike = np.float32, init: InitMethod = "he") -> None:
        sizes = [int(n) for n in layer_sizes]
        n = len(sizes) - 1
        if n < 1 or min(sizes) < 1:
            raise ValueError(f"layer_sizes needs at least 2 positive sizes; "
                             f"got {list(layer_sizes)}")
        activations = list(activations or ["relu"] * (n - 1) + ["identity"])
        if len(activations) != n:
            raise ValueError(f"activations needs {n} entries (one per layer); "
                             f"got {len(activations)}")
        bad = [a for a in activations if a not in ACTIVATIONS]
        if bad:
            raise ValueError(f"unknown activation {bad[0]!r}; "
                             f"valid names: {', '.join(ACTIVATIONS)}")
        rng = as_generator(rng, seed)
        self.layer_sizes, self.activations, self.params = sizes, activations, {}
        for i in range(n):
            W = init_weight(init, rng, sizes[i + 1], sizes[i], dtype)              # (d_out, d_in)
            self.params[f"layers.{i}.weight"] = Tensor(W, label=f"layers.{i}.weight")
            self.params[f"layers.{i}.bias"] = Tensor(np.zeros(sizes[i + 1], dtype),  # (d_out,)
                                                     label=f"layers.{i}.bias")

    def __call__(self, X: Tensor | ArrayLike) -> Tensor:
        a = X if isinstance(X, Tensor) else Tensor(X, requires_grad=False)         # (B, d_0)
        for i, f in enumerate(self.activations):
            W, b = self.params[f"layers.{i}.weight"], self.params[f"layers.{i}.bias"]
            a = ACTIVATIONS[f](a @ W.T + b)            # (B, d_in) @ (d_in, d_out) + (d_out,)
        return a                                       # (B, d_out)

    def parameters(self) -> list[Tensor]:
        return list(self.params.values())

    def zero_grad(self) -> None:
        for p in self.params.values():
            p.grad = None

    def step(self, lr: float) -> None:
        """Plain SGD: θ ← θ - lr·dθ, in place."""
        for p in self.params.values():
            if p.grad is not None:
                p.data -= lr * p.grad

    def state_dict(self) -> dict[str, np.ndarray]:
        return {k: p.data.copy() for k, p in self.params.items()}

    def grad_dict(self) -> dict[str, np.ndarray | None]:
        return {k: p.grad for k, p in self.params.items()}

    def load_state_dict(self, state: Mapping[str, ArrayLike]) -> MLP:
        """Copy a handgrad (or PyTorch) state dict in, cast to this model's dtype."""
        check_state_matches({k: p.data for k, p in self.params.items()},
                            {k: np.asarray(v) for k, v in state.items()})
        for k, p in self.params.items():
            np.copyto(p.data, np.asarray(state[k]), casting="unsafe")
        return self

    def fit(self, X: np.ndarray, y: np.ndarray, epochs: int = 10, lr: float = 0.1,
            batch_size: int | None = None, loss: str = "cross_entropy", seed: int | None = None,
            rng: np.random.Generator | None = None) -> list[float]:
        """Mini-batch SGD (``batch_size=None``: the whole set); the mean loss of each epoch."""
        rng, n, history = as_generator(rng, seed), len(X), []
        size = n if batch_size is None else int(batch_size)
        for _ in range(epochs):
            order, total = rng.permutation(n), 0.0
            for start in range(0, n, size):
                batch = order[start:start + size]
                self.zero_grad()
                L = LOSSES[loss](self(X[batch]), y[batch])
                L.backward()
                self.step(lr)
                total += float(L.data) * len(batch)
            history.append(total / n)
        return history

    def predict(self, X: Tensor | ArrayLike) -> np.ndarray:
        out = self(X).data
        return out.argmax(axis=1) if out.shape[1] > 1 else out[:, 0]

    def score(self, X: Tensor | ArrayLike, y: ArrayLike) -> float:
        return float(np.mean(self.predict(X) == np.asarray(y)))
