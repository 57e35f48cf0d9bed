"""Gradient checking, shape tracing and memory accounting.

``gradcheck`` compares every analytic gradient with a central difference

    ∂L/∂θ_i ≈ (L(θ + ε e_i) - L(θ - ε e_i)) / 2ε,       ε = 1e-5 (error O(ε²))

and reports, per parameter, the largest relative error
|a - n| / (|a| + |n| + 1e-8) and where it is. It runs in float64: in float32
the rounding of L (about 1e-7 · |L|) divided by 2ε swamps the comparison.

Even in float64 a central difference cannot resolve everything: L itself is
rounded to about 1e-16 · |L|, so the numeric derivative carries noise of about
1e-16 · |L| / ε ≈ 1e-11 · |L|. An entry whose gradient is itself that small
(a weight behind a nearly dead unit, say) can show a "relative error" of 1e-5
that only measures the noise. The report gives the formula's maximum over
every entry; to pass, each entry must meet the tolerance or differ by less
than the noise floor 8 · 2.2e-16 · max(1, |L|) / ε, and the report counts
the entries that passed only that way.

``trace`` runs a model once on a batch and reads off what it made: the
forward table (operation, formula, shape), the backward table (each
gradient, its formula, its shape), the parameter count and the memory table.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any, cast

import numpy as np
from numpy.typing import ArrayLike

from .mlp import MLP
from .nn.dropout import Dropout
from .nn.module import Module, submodules
from .train import progress_bar

# --- walking a module --------------------------------------------------------------------

def _key(a: np.ndarray) -> tuple[int, int]:
    """One key per block of memory: (address, bytes)."""
    return a.__array_interface__["data"][0], a.nbytes


def held_arrays(model: Module) -> list[np.ndarray]:
    """Every distinct NumPy array the model's modules hold (parameters, gradients, caches)."""
    arrays: dict[tuple[int, int], np.ndarray] = {}
    for m in submodules(model):
        for value in vars(m).values():
            for a in (value.values() if isinstance(value, dict) else
                      value if isinstance(value, (list, tuple)) else [value]):
                if isinstance(a, np.ndarray) and a.nbytes:
                    arrays.setdefault(_key(a), a)
    return list(arrays.values())


def held_bytes(model: Module) -> int:
    """The bytes of every distinct array the model holds: the real memory, measured."""
    return sum(a.nbytes for a in held_arrays(model))


# --- gradient checking -------------------------------------------------------------------

def rel_error(a: np.ndarray, n: np.ndarray) -> np.ndarray:
    """|a - n| / (|a| + |n| + 1e-8), elementwise."""
    return cast(np.ndarray, np.abs(a - n) / (np.abs(a) + np.abs(n) + 1e-8))


class GradcheckReport:
    """One row per parameter: name, shape, max relative error, worst index and both values there."""

    def __init__(self, rows: list[dict[str, Any]], tol: float, noise_floor: float) -> None:
        self.rows, self.tol, self.noise_floor = rows, tol, noise_floor

    @property
    def max_error(self) -> float:
        return max((r["max_error"] for r in self.rows), default=0.0)

    @property
    def passed(self) -> bool:
        return all(r["passed"] for r in self.rows)

    def __getitem__(self, name: str) -> dict[str, Any]:
        return next(r for r in self.rows if r["name"] == name)

    def __str__(self) -> str:
        lines = [f"{'parameter':<22} {'shape':<12} {'max rel error':>13}  {'worst index':<12} "
                 f"{'analytic':>12} {'numeric':>12}  ok"]
        for r in self.rows:
            ok = ("yes" if r["max_error"] <= self.tol else "yes*") if r["passed"] else "NO"
            lines.append(f"{r['name']:<22} {r['shape']!s:<12} {r['max_error']:>13.2e}  "
                         f"{r['worst_index']!s:<12} {r['analytic']:>12.5e} "
                         f"{r['numeric']:>12.5e}  {ok}")
        noisy = sum(r["at_noise_floor"] for r in self.rows)
        if not self.passed:
            lines.append(f"FAILED: max relative error {self.max_error:.2e} "
                         f"> tolerance {self.tol:g}")
        elif self.max_error <= self.tol:
            lines.append(f"passed: max relative error {self.max_error:.2e} "
                         f"<= tolerance {self.tol:g}")
        else:
            lines.append(f"passed: max relative error {self.max_error:.2e} is above the tolerance "
                         f"{self.tol:g} only at {noisy} entries (yes*) whose analytic and numeric "
                         f"values differ by less than the finite-difference noise floor "
                         f"{self.noise_floor:.1e}: gradients too small for a central difference "
                         "to resolve, so they count as agreeing")
        return "\n".join(lines)

    __repr__ = __str__


def numeric_grad(f: Callable[[], float], x: np.ndarray, eps: float,
                 bar: Any = None) -> np.ndarray:
    """Central differences of the scalar f() with respect to every entry of x (changed in place)."""
    grad = np.zeros_like(x)
    flat, g = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        plus = f()
        flat[i] = old - eps
        minus = f()
        flat[i] = old
        g[i] = (plus - minus) / (2 * eps)
        if bar is not None:
            bar.update()
    return grad


def _row(name: str, analytic: np.ndarray, numeric: np.ndarray, tol: float,
         noise_floor: float) -> dict[str, Any]:
    err = rel_error(analytic, numeric)
    within_noise = np.abs(analytic - numeric) <= noise_floor
    i = np.unravel_index(int(np.argmax(err)), err.shape) if err.size else ()
    return {"name": name, "shape": analytic.shape, "max_error": float(err.max(initial=0.0)),
            "worst_index": tuple(int(j) for j in i),
            "analytic": float(analytic[i]) if err.size else 0.0,
            "numeric": float(numeric[i]) if err.size else 0.0,
            "passed": bool(np.all((err <= tol) | within_noise)),
            "at_noise_floor": int(np.sum((err > tol) & within_noise))}


def gradcheck(model: Module, X: ArrayLike, y: ArrayLike | None = None, *, eps: float = 1e-5,
              tol: float = 1e-6, training: bool = True, seed: int = 0,
              progress: bool = False) -> GradcheckReport:
    """Compare every analytic gradient of ``model`` with central differences.

    ``model`` is an MLP (the loss is its own, against ``y``) or any Module (the
    loss is Σ out ⊙ R for a fixed random R, and dL/dx is checked too).
    Dropout masks are held fixed during the check; buffers such as
    BatchNorm's running statistics are put back afterwards. Needs float64.
    ``eps`` is a finite step above 0, ``tol`` a relative error between 0 and 1 (the
    relative error never exceeds 1, so a tolerance of 1 would pass anything).
    ``progress=True`` shows a bar (tqdm, on a terminal) over the entries, two forward
    passes each; Ctrl-C stops the check with the model put back as it was.
    """
    if not (_finite(eps) and eps > 0):
        raise ValueError(f"eps, the finite-difference step, must be a finite number above 0; "
                         f"got {eps!r}")
    if not (_finite(tol) and 0 < tol < 1):
        raise ValueError("tol, the largest relative error that passes, must be above 0 and "
                         f"below 1 (a relative error is at most 1); got {tol!r}")
    X = np.array(X)                       # a copy: the check nudges its entries
    bad = [k for k, p in model.params.items() if p.dtype != np.float64]
    if X.dtype != np.float64 or bad:
        raise ValueError("gradient checks need float64 inputs and parameters (float32 rounding "
                         f"swamps a finite difference); got X {X.dtype}"
                         + (f", {bad[0]} {model.params[bad[0]].dtype}" if bad else ""))
    is_mlp = isinstance(model, MLP)
    if is_mlp and y is None:
        raise ValueError("checking an MLP needs the targets y its loss compares with; got None")
    saved = model.state_dict()
    dropouts = [m for m in submodules(model) if isinstance(m, Dropout)]
    bar = None
    try:
        if isinstance(model, MLP) and y is not None:
            L0 = model.loss_and_grad(X, y, training)
            loss = lambda: model.loss_of(X, y, training)           # noqa: E731
        else:
            out = model.forward(X, training)
            R = np.random.default_rng(seed).standard_normal(out.shape)
            dX = model.backward(R)
            L0 = float(np.sum(out * R))
            loss = lambda: float(np.sum(model.forward(X, training) * R))   # noqa: E731
        for d in dropouts:
            d.fixed_mask = d.mask               # replay the same mask on every forward
        analytic = {k: g.copy() for k, g in model.grads.items()}
        floor = 8 * np.finfo(np.float64).eps * max(1.0, abs(L0)) / eps
        entries = sum(p.size for p in model.params.values()) + (0 if is_mlp else X.size)
        bar = progress_bar(progress, entries, unit="entry", desc="gradient check")
        rows = [_row(name, analytic[name], numeric_grad(loss, p, eps, bar), tol, floor)
                for name, p in model.params.items()]
        if not is_mlp and dX is not None:
            rows.append(_row("input", dX, numeric_grad(loss, X, eps, bar), tol, floor))
    finally:
        if bar is not None:
            bar.close()
        for d in dropouts:
            d.fixed_mask = None
        model.load_state_dict(saved)
    return GradcheckReport(rows, tol, floor)


def _finite(x: Any) -> bool:
    return (isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool)
            and math.isfinite(x))


# --- shape trace and memory --------------------------------------------------------------

class Trace:
    """Forward and backward tables, parameter count and memory of a model at one batch size."""

    def __init__(self, batch_size: int, forward: list[tuple[str, str, str]],
                 backward: list[tuple[str, str, str]], params: int, memory: dict[str, int],
                 itemsize: int, dtype: str) -> None:
        self.batch_size, self.forward, self.backward = batch_size, forward, backward
        self.params, self.memory, self.itemsize, self.dtype = params, memory, itemsize, dtype

    @property
    def batch(self) -> int:
        """The old name of ``batch_size`` (the lab's numerics experiment still reads it)."""
        return self.batch_size

    def floats(self, what: str) -> int:
        return self.memory[what] // self.itemsize

    def bytes(self, what: str) -> int:
        return self.memory[what]

    def __str__(self) -> str:
        out = [f"Forward (batch B = {self.batch_size})",
               _table(["operation", "formula", "shape"], self.forward),
               "", "Backward", _table(["gradient", "formula", "shape"], self.backward), "",
               f"Parameters: {self.params:,}", "",
               f"Memory ({self.dtype}, {self.itemsize} bytes per float)",
               _table(["what", "floats", "bytes"],
                      [(k, f"{v // self.itemsize:,}", _human(v)) for k, v in self.memory.items()])]
        return "\n".join(out)


def _human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024:
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:,.1f} TiB"


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    rows = [tuple(str(c) for c in r) for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(header)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join([fmt.format(*header), fmt.format(*("-" * w for w in widths))]
                     + [fmt.format(*r) for r in rows])


class _StandIn:
    """A small copy of a model, and the way back from its shapes to the real ones.

    The stand-in has the real model's layers (activations, norms, dropout, biases, loss,
    dtype), but the batch and every width is a distinct prime from 11 up (a size of 1 stays
    1), so each dimension of an array it makes says which size it is: ``real(a)`` is the
    shape that array has in the real model, ``nbytes(a)`` its bytes there.
    """

    def __init__(self, model: MLP | Sequence[int] | dict[str, Any], batch: int, seed: int) -> None:
        if isinstance(model, MLP):
            spec = model.spec
        elif isinstance(model, dict):
            spec = model
        else:
            spec = {"layer_sizes": list(model), "activations": None}
        real_sizes = list(spec["layer_sizes"])
        if len(real_sizes) < 2 or not all(isinstance(n, (int, np.integer)) and not
                                          isinstance(n, bool) and n >= 1 for n in real_sizes):
            raise ValueError(f"layer sizes must be at least two positive integers; got {real_sizes}")
        real_sizes = [int(n) for n in real_sizes]
        primes = _primes(len(real_sizes) + 1)
        probe = [1 if n == 1 else p for n, p in zip(real_sizes, primes[1:])]
        self.B = 1 if batch == 1 else primes[0]
        self.to_real = {self.B: int(batch), **dict(zip(probe, real_sizes))}
        self.model = MLP(probe, spec["activations"], "he", seed, spec.get("dtype", "float32"),
                         norm=spec.get("norm") or None, dropout=spec.get("dropout") or 0.0,
                         bias=spec.get("bias", True), loss=spec.get("loss"))
        self.itemsize = self.model.dtype.itemsize

    def real(self, a: Any) -> tuple[int, ...]:
        return tuple(self.to_real.get(int(d), int(d)) for d in np.shape(a))

    def shape(self, a: Any) -> str:
        return str(self.real(a))

    def nbytes(self, a: np.ndarray) -> int:
        return math.prod(self.real(a)) * a.itemsize


def _primes(n: int) -> list[int]:
    """The first n primes from 11 up (no small constant of a shape is one of them)."""
    found: list[int] = []
    k = 11
    while len(found) < n:
        if all(k % d for d in range(2, math.isqrt(k) + 1)):
            found.append(k)
        k += 1
    return found


def _sample_targets(model: MLP, B: int, rng: np.random.Generator) -> np.ndarray:
    K = model.layer_sizes[-1]
    if model.task == "classification":
        return rng.integers(0, K, B)
    if model.task == "binary":
        return rng.integers(0, 2, B)
    return rng.standard_normal((B, K))


def trace(model: MLP | Sequence[int] | dict[str, Any], batch_size: int = 64, seed: int = 0, *,
          batch: int | None = None) -> Trace:
    """Trace ``model`` at ``batch_size``: an MLP, its ``spec`` (a dict), or layer sizes for a
    ReLU/softmax MLP. ``batch`` is the old name of ``batch_size``, still taken.

    Nothing of the real size is made, and the model is not touched: a small stand-in with
    the same layers (every width and the batch a distinct prime) runs one forward and
    backward pass, and each array it made is counted at the real sizes. So the tables of a
    network too large for this computer's memory come out as well, at once.
    """
    if batch is not None:
        batch_size = batch
    if (isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer))
            or batch_size < 1):
        raise ValueError(f"batch_size must be a positive integer; got {batch_size!r}")
    stand_in = _StandIn(model, int(batch_size), seed)
    model, _shape = stand_in.model, stand_in.shape
    rng = np.random.default_rng(seed)
    B, L = int(batch_size), len(model.layers)
    X = rng.standard_normal((stand_in.B, model.layer_sizes[0])).astype(model.dtype)
    model.loss_and_grad(X, _sample_targets(model, stand_in.B, rng))

    fwd, bwd = [("input", "a0 = X", _shape(X))], []
    for l, layer in enumerate(model.layers, 1):
        bias = f" + b{l}" if layer.b is not None else ""
        fwd.append((f"layers.{l - 1} linear", f"z{l} = a{l - 1} @ W{l}.T{bias}", _shape(layer.z)))
        pre = f"z{l}"
        if layer.norm is not None:
            fwd.append((f"layers.{l - 1} {layer.norm.name}norm", f"h{l} = γ{l} ⊙ norm(z{l})"
                        + (f" + β{l}" if "bias" in layer.norm.params else ""), _shape(layer.z)))
            pre = f"h{l}"
        fwd.append((f"layers.{l - 1} {layer.activation.name}",
                    f"a{l} = {layer.activation.name}({pre})", _shape(layer.a)))
        if layer.dropout is not None:
            fwd.append((f"layers.{l - 1} dropout", f"a{l} = a{l} ⊙ m{l} / (1 - {layer.dropout.p})",
                        _shape(layer.a)))
    out = model.layers[-1]
    fwd.append(("loss", {"cross_entropy": f"L = -mean(log a{L}[y])",
                         "binary_cross_entropy": f"L = mean(softplus(z{L}) - y z{L})",
                         "mse": f"L = sum((a{L} - y)²) / 2B",
                         "mse_mean": f"L = sum((a{L} - y)²) / 2Bd"}[model.loss_name], "()"))

    if model.loss_name == "cross_entropy":
        bwd.append((f"dz{L}", f"(a{L} - Y) / B", _shape(out.z)))
    elif model.loss_name == "binary_cross_entropy":
        bwd.append((f"dz{L}", f"(σ(z{L}) - y) / B", _shape(out.z)))
    else:
        bwd.append((f"da{L}", f"(a{L} - y) / B" + ("d" if model.loss_name == "mse_mean" else ""),
                    _shape(out.a)))
        bwd.append((f"dz{L}", f"da{L} ⊙ {out.activation.name}'(z{L})", _shape(out.z)))
    for l in range(L, 0, -1):
        layer = model.layers[l - 1]
        if l < L:
            bwd.append((f"da{l}", f"dz{l + 1} @ W{l + 1}", _shape(layer.a)))
            if layer.dropout is not None:
                bwd.append((f"da{l}", f"da{l} ⊙ m{l} / (1 - {layer.dropout.p})", _shape(layer.a)))
            pre = f"h{l}" if layer.norm is not None else f"z{l}"
            bwd.append((f"d{pre}", f"da{l} ⊙ {layer.activation.name}'({pre})", _shape(layer.a)))
            if layer.norm is not None:
                bwd.append((f"dγ{l}", f"sum(dh{l} ⊙ x̂{l}, axis=0)",
                            _shape(layer.norm.grads["weight"])))
                if "bias" in layer.norm.grads:
                    bwd.append((f"dβ{l}", f"sum(dh{l}, axis=0)", _shape(layer.norm.grads["bias"])))
                bwd.append((f"dz{l}", f"{layer.norm.name}norm_backward(dh{l})", _shape(layer.z)))
        bwd.append((f"dW{l}", f"dz{l}.T @ a{l - 1}", _shape(layer.dW)))
        if layer.b is not None:
            bwd.append((f"db{l}", f"sum(dz{l}, axis=0)", _shape(layer.db)))

    memory = _memory(model, X, stand_in)
    params = sum(math.prod(stand_in.real(p)) for p in model.params.values())
    return Trace(B, fwd, bwd, params, memory, model.dtype.itemsize, model.dtype.name)


def _memory(model: MLP, X: np.ndarray, stand_in: _StandIn) -> dict[str, int]:
    """Bytes held after a forward and backward, by kind (each array once), and what inference
    needs, at the real sizes."""
    counted = set()

    def total(arrays: Iterable[np.ndarray | None]) -> int:
        n = 0
        for a in arrays:
            if a is not None and _key(a) not in counted:
                counted.add(_key(a))
                n += stand_in.nbytes(a)
        return n

    layers = model.layers
    norms = [l.norm for l in layers if l.norm is not None]
    mem = {
        "weights": total(l.W for l in layers),
        "biases": total(l.b for l in layers),
    }
    if norms:
        mem["norm parameters (γ, β)"] = total(p for n in norms for p in n.params.values())
        mem["norm running statistics"] = total(b for n in norms for b in n.buffers.values())
    mem["gradients"] = total(model.grads.values())
    mem["cached activations (X, a)"] = total([X] + [l.a for l in layers])
    mem["cached pre-activations (z)"] = total(l.z for l in layers)
    extra = [getattr(m, name, None) for m in submodules(model) for name in type(m).caches]
    mem["other caches (masks, norm and activation internals)"] = total(
        a for a in extra if isinstance(a, np.ndarray))
    mem["training total"] = sum(mem.values())
    # the most a layer needs at once: its input and its output
    B = stand_in.real(X)[0]
    live = max(B * sum(stand_in.real(l.W)) for l in layers) * X.itemsize
    mem["inference total"] = (mem["weights"] + mem["biases"] + mem.get("norm parameters (γ, β)", 0)
                              + mem.get("norm running statistics", 0) + live)
    return mem
