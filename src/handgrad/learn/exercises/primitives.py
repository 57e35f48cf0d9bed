"""Exercises of the lesson on the four primitives (affine map, activation, loss, gradient
descent) and what follows them: descent on one parameter, momentum, Adam with its bias
correction, AdamW's decoupled decay, a tiny autograd engine, and whether three hidden layers
beat one on the quadrant task."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ...engine import Value
from ...optim import SGD, Adam, AdamW, Optimizer
from .. import measure
from ..checking import Fail, Learner, Mistake, choice, same
from ..registry import Lesson, Wrong, exercise
from .common import rng

LESSON = Lesson("primitives", "Affine maps, losses, backpropagation, optimizers and autograd")


# --- gradient descent on one parameter -------------------------------------------------------

def descent_step(lr: float, factor: float = 2, sign: float = -1) -> Callable[[float], float]:
    """θ ↦ θ − lr · factor · (θ − 3): one step on (θ − 3)² (factor 2 and sign −1 are right)."""
    return lambda t: t + sign * lr * factor * (t - 3)


def descent_path(theta0: float, steps: int, step: Callable[[float], float]) -> np.ndarray:
    """[θ0, step(θ0), step(step(θ0)), …], steps + 1 numbers."""
    thetas = [theta0]
    for _ in range(steps):
        thetas.append(step(thetas[-1]))
    return np.array(thetas)


@exercise(
    "gradient-descent-1d", "Walking downhill on one parameter", LESSON,
    "section “Walking downhill — gradient descent”",
    statement="""
    Take the toy loss L(θ) = (θ − 3)², whose derivative is 2(θ − 3). Gradient descent
    repeats θ ← θ − α·dL/dθ. From θ = 0 with α = 0.1 every step closes a fifth of the gap
    to 3.

    Write descend(theta0, lr, steps) returning the list [θ0, θ1, …, θ_steps] (steps + 1
    numbers). It is checked with α = 0.1, with α = 0.9 (overshooting, yet converging) and
    with α = 1.1 (diverging).
    """,
    template='''
    def descend(theta0, lr, steps):
        """[θ0, θ1, ..., θ_steps] for L(θ) = (θ − 3)² and θ ← θ − lr · dL/dθ."""
        ...
    ''',
    solution='''
    def descend(theta0, lr, steps):
        """[θ0, θ1, ..., θ_steps] for L(θ) = (θ − 3)² and θ ← θ − lr · dL/dθ."""
        thetas = [theta0]
        for _ in range(steps):
            grad = 2 * (thetas[-1] - 3)            # dL/dθ
            thetas.append(thetas[-1] - lr * grad)
        return thetas
    ''',
    hints=[
        "Keep a list; each new θ comes from the last one.",
        "The derivative of (θ − 3)² is 2(θ − 3) — the 2 matters.",
        "θ_next = θ − lr · 2(θ − 3); append it, steps times.",
    ],
    wrongs=[Wrong("missing-two", [("grad = 2 * (thetas[-1] - 3)", "grad = thetas[-1] - 3")]),
            Wrong("ascent", [("thetas[-1] - lr * grad", "thetas[-1] + lr * grad")])],
)
def check_descend(L: Learner) -> None:
    f = L.fn("descend")
    for theta0, lr, steps in ((0.0, 0.1, 30), (0.0, 0.9, 12), (1.0, 1.1, 10)):
        expected = descent_path(theta0, steps, descent_step(lr))
        same(f(theta0, lr, steps), expected, f"descend({theta0}, {lr}, {steps})", [
            Mistake("missing-two", descent_path(theta0, steps, descent_step(lr, factor=1)),
                    "the derivative of (θ − 3)² is 2(θ − 3): the 2 is missing"),
            Mistake("ascent", descent_path(theta0, steps, descent_step(lr, sign=1)),
                    "the steps go uphill: θ ← θ − α·dL/dθ"),
            Mistake("no-start", expected[1:], "the list should start with θ0 itself"),
        ])


# --- optimizers --------------------------------------------------------------------------------

class Holder:
    """params and grads, as handgrad's optimizers expect them."""

    def __init__(self, params: dict[str, np.ndarray]) -> None:
        self.params = {k: v.copy() for k, v in params.items()}
        self.grads = {k: np.zeros_like(v) for k, v in params.items()}


def trajectory(opt: Optimizer, start: dict[str, np.ndarray],
               grads: list[dict[str, np.ndarray]]) -> list[dict[str, np.ndarray]]:
    """The parameters after each step of ``opt`` (a handgrad optimizer) on these gradients."""
    h, out = Holder(start), []
    for g in grads:
        for k in h.grads:
            h.grads[k][...] = g[k]
        opt.step(h)
        out.append({k: v.copy() for k, v in h.params.items()})
    return out


def by_hand(start: dict[str, np.ndarray], grads: list[dict[str, np.ndarray]],
            update: Callable[[np.ndarray, np.ndarray, dict[str, Any], int], None]
            ) -> list[dict[str, np.ndarray]]:
    """The parameters after each step of ``update(p, g, state, t)`` (a mistaken optimizer)."""
    params = {k: v.copy() for k, v in start.items()}
    states: dict[str, dict[str, Any]] = {k: {} for k in start}
    out = []
    with np.errstate(all="ignore"):
        for t, g in enumerate(grads, 1):
            for k in params:
                update(params[k], g[k], states[k], t)
            out.append({k: v.copy() for k, v in params.items()})
    return out


def problem(seed: int, steps: int = 6, scale: float = 1.0) -> tuple[dict[str, np.ndarray],
                                                                    list[dict[str, np.ndarray]]]:
    r = rng(seed)
    start = {"w": r.standard_normal((3, 4)), "b": r.standard_normal(4)}
    grads = [{"w": r.standard_normal((3, 4)) * scale, "b": r.standard_normal(4) * scale}
             for _ in range(steps)]
    return start, grads


def check_optimizer(L: Learner, class_name: str, kwargs: dict[str, Any],
                    expected: list[dict[str, np.ndarray]],
                    start: dict[str, np.ndarray], grads: list[dict[str, np.ndarray]],
                    mistakes: dict[str, tuple[list[dict[str, np.ndarray]], str]], what: str,
                    also_right: tuple[list[dict[str, np.ndarray]], str] | None = None) -> None:
    """Run the learner's optimizer step by step against ``expected``; name ``mistakes``."""
    Opt = L.fn(class_name)
    opt = Opt(**kwargs)
    arrays = {k: L.put(v) for k, v in start.items()}
    params = L.put(arrays)
    args = ", ".join(f"{k}={v}" for k, v in kwargs.items())
    for t, g in enumerate(grads):
        opt.step(params, g)
        held = {k: L.fetch(v) for k, v in arrays.items()}
        in_dict = L.fetch(params)
        for k in start:
            step_what = f"{class_name}({args}): {k} after step {t + 1} ({what})"
            if t == 0 and np.allclose(held[k], start[k]) and not np.allclose(
                    np.asarray(in_dict[k], dtype=float), start[k]):
                raise Fail(f"{step_what}: params['{k}'] is a new array and the array the model "
                           "holds did not change: update in place (p -= …)", "not-in-place")
            right = expected[t][k]
            if also_right is not None and np.allclose(held[k], also_right[0][t][k], rtol=1e-9,
                                                      atol=1e-12):
                if not np.allclose(held[k], right, rtol=1e-9, atol=1e-12):
                    L.note(also_right[1])
                continue
            same(held[k], right, step_what, [Mistake(key, path[t][k], text)
                                             for key, (path, text) in mistakes.items()],
                 rtol=1e-8, atol=1e-12)


@exercise(
    "momentum", "SGD with momentum", LESSON, "section “Better optimizers: momentum”",
    statement="""
    Momentum keeps a velocity per parameter, an exponentially weighted sum of past gradients,
    and steps along it:

        v ← μ·v + g        (v starts at 0)
        θ ← θ − lr·v

    (This is PyTorch's form; another common one writes v ← μv − lr·g, θ ← θ + v, which
    agrees while lr is constant.)

    Write a class Momentum(lr, mu=0.9) whose step(params, grads) updates the arrays of the
    dict params in place, keeping one velocity per parameter name between calls.
    """,
    template='''
    import numpy as np


    class Momentum:
        def __init__(self, lr, mu=0.9):
            ...

        def step(self, params, grads):
            """One update of every array in params (in place) from grads (same keys)."""
            ...
    ''',
    solution='''
    import numpy as np


    class Momentum:
        def __init__(self, lr, mu=0.9):
            self.lr, self.mu = lr, mu
            self.velocity = {}                       # name -> v, same shape as the parameter

        def step(self, params, grads):
            """One update of every array in params (in place) from grads (same keys)."""
            for name, p in params.items():
                v = self.velocity.get(name, np.zeros_like(p))
                v = self.mu * v + grads[name]
                self.velocity[name] = v
                p -= self.lr * v
    ''',
    hints=[
        "The velocity must survive from one call of step to the next: keep it on self, one "
        "array per parameter name.",
        "v is a sum of gradients — the whole g is added each step, not (1 − μ)·g.",
        "v = mu * v + g; p -= lr * v.",
    ],
    wrongs=[Wrong("no-memory", [("self.velocity[name] = v", "self.velocity = {}")]),
            Wrong("ema-form", [("v = self.mu * v + grads[name]",
                                "v = self.mu * v + (1 - self.mu) * grads[name]")])],
)
def check_momentum(L: Learner) -> None:
    start, grads = problem(12)
    lr, mu = 0.1, 0.9

    def ema(p: np.ndarray, g: np.ndarray, s: dict[str, Any], t: int) -> None:
        s["v"] = mu * s.get("v", 0) + (1 - mu) * g
        p -= lr * s["v"]

    def inside(p: np.ndarray, g: np.ndarray, s: dict[str, Any], t: int) -> None:
        s["v"] = mu * s.get("v", 0) + lr * g
        p -= lr * s["v"]

    check_optimizer(L, "Momentum", {"lr": lr, "mu": mu},
                    trajectory(SGD(lr, momentum=mu), start, grads), start, grads, {
                        "no-memory": (trajectory(SGD(lr), start, grads),
                                      "the velocity is not carried from one step to the next: "
                                      "that is plain SGD"),
                        "ema-form": (by_hand(start, grads, ema), "that is an average, "
                                     "v ← μv + (1 − μ)g: the velocity adds the whole gradient"),
                        "lr-twice": (by_hand(start, grads, inside), "lr is applied twice: "
                                     "v ← μv + g, then θ ← θ − lr·v"),
                    }, "random gradients")


def adam_by_hand(lr: float, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8, *,
                 correct: bool = True, eps_inside: bool = False, square: bool = True,
                 t0: int = 0, l2: float = 0.0, decay: float = 0.0
                 ) -> Callable[[np.ndarray, np.ndarray, dict[str, Any], int], None]:
    """One Adam update with one known mistake switched on (the defaults are right)."""
    def update(p: np.ndarray, g: np.ndarray, s: dict[str, Any], t: int) -> None:
        t = t - t0
        g = g + l2 * p
        if decay:
            p -= decay * p
        s["m"] = b1 * s.get("m", 0) + (1 - b1) * g
        s["v"] = b2 * s.get("v", 0) + (1 - b2) * (g * g if square else g)
        m_hat = s["m"] / (1 - b1 ** t) if correct else s["m"]
        v_hat = s["v"] / (1 - b2 ** t) if correct else s["v"]
        p -= lr * m_hat / (np.sqrt(v_hat + eps) if eps_inside else np.sqrt(v_hat) + eps)
    return update


ADAM_TEMPLATE = '''
import numpy as np


class Adam:
    def __init__(self, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        ...

    def step(self, params, grads):
        """One update of every array in params (in place) from grads (same keys)."""
        ...
'''

ADAM_SOLUTION = '''
import numpy as np


class Adam:
    def __init__(self, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        self.lr, (self.b1, self.b2), self.eps = lr, betas, eps
        self.t = 0                                  # steps taken
        self.m, self.v = {}, {}                     # name -> first, second moment

    def step(self, params, grads):
        """One update of every array in params (in place) from grads (same keys)."""
        self.t += 1
        for name, p in params.items():
            g = grads[name]
            m = self.b1 * self.m.get(name, 0) + (1 - self.b1) * g
            v = self.b2 * self.v.get(name, 0) + (1 - self.b2) * g * g
            self.m[name], self.v[name] = m, v
            m_hat = m / (1 - self.b1 ** self.t)      # bias correction
            v_hat = v / (1 - self.b2 ** self.t)
            p -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
'''


@exercise(
    "adam", "Adam, with its bias correction", LESSON, "section “Better optimizers: Adam”",
    statement="""
    Adam keeps two moving averages per parameter — of the gradient (m) and of its square
    (v) — and divides one by the square root of the other, which gives every parameter its
    own step size:

        m ← β1·m + (1 − β1)·g          v ← β2·v + (1 − β2)·g²
        m̂ = m / (1 − β1^t)             v̂ = v / (1 − β2^t)          t = 1, 2, 3, …
        θ ← θ − lr · m̂ / (√v̂ + ε)

    m and v start at 0, so early on they are too small: with β1 = 0.9 the first m is 0.1·g.
    The division by 1 − β^t (the bias correction) undoes that; without it the first steps are
    far too short. ε is added after the square root.

    Write a class Adam(lr, betas=(0.9, 0.999), eps=1e-8) with step(params, grads), in place.
    It is checked against handgrad's (and PyTorch's) Adam, also on gradients of 1e-9.
    """,
    template=ADAM_TEMPLATE,
    solution=ADAM_SOLUTION,
    hints=[
        "Count the steps: t is 1 on the first step, so 1 − β^t is never 0.",
        "Keep m and v per parameter name on self; bias-correct copies of them (m̂, v̂), not "
        "the stored ones.",
        "The step: lr * m_hat / (np.sqrt(v_hat) + eps).",
    ],
    wrongs=[Wrong("no-bias-correction", [("m_hat = m / (1 - self.b1 ** self.t)", "m_hat = m"),
                                         ("v_hat = v / (1 - self.b2 ** self.t)", "v_hat = v")]),
            Wrong("eps-inside-sqrt", [("(np.sqrt(v_hat) + self.eps)", "np.sqrt(v_hat + self.eps)")]),
            Wrong("v-not-squared", [("(1 - self.b2) * g * g", "(1 - self.b2) * g")])],
)
def check_adam(L: Learner) -> None:
    lr = 0.01
    for seed, scale, what in ((13, 1.0, "gradients of order 1"), (14, 1e-9, "gradients of 1e-9")):
        start, grads = problem(seed, scale=scale)
        check_optimizer(L, "Adam", {"lr": lr}, trajectory(Adam(lr), start, grads), start, grads, {
            "no-bias-correction": (by_hand(start, grads, adam_by_hand(lr, correct=False)),
                                   "the bias correction is missing: m and v start at 0, so the "
                                   "first m is only 0.1·g (with β1 = 0.9); divide by 1 − β^t"),
            "eps-inside-sqrt": (by_hand(start, grads, adam_by_hand(lr, eps_inside=True)),
                                "ε went inside the square root: √(v̂ + ε) is far larger than "
                                "√v̂ + ε when gradients are small; add ε after the root"),
            "v-not-squared": (by_hand(start, grads, adam_by_hand(lr, square=False)),
                              "v averages the gradient itself; it should average g²"),
            "t-from-zero": (by_hand(start, grads, adam_by_hand(lr, t0=1)),
                            "t starts at 0, so 1 − β^0 = 0 and the first step divides by zero; "
                            "count from 1"),
        }, what)


@exercise(
    "adamw", "AdamW: weight decay, decoupled", LESSON, "section “Better optimizers: AdamW”",
    statement="""
    L2 regularization adds λθ to the gradient. Inside Adam that term gets divided by √v̂ like
    the rest, so weights with large gradients are barely decayed. AdamW decouples the decay:
    the Adam step uses the plain gradient, and every weight also shrinks by lr·λ·θ.

    PyTorch (and handgrad) shrink first, θ ← θ − lr·λ·θ, then take the Adam step; the lesson
    shrinks after the step. Both pass here (they differ by lr²λ per step, and the checker
    tells you which one you wrote).

    Write a class AdamW(lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01) with
    step(params, grads), in place. You may start from your Adam.
    """,
    template=ADAM_TEMPLATE.replace("class Adam:", "class AdamW:").replace(
        "eps=1e-8):", "eps=1e-8, weight_decay=0.01):"),
    solution=ADAM_SOLUTION.replace("class Adam:", "class AdamW:").replace(
        "eps=1e-8):", "eps=1e-8, weight_decay=0.01):").replace(
        "        self.t = 0 ", "        self.weight_decay = weight_decay\n        self.t = 0 ").replace(
        "            g = grads[name]\n",
        "            g = grads[name]\n            p -= self.lr * self.weight_decay * p     "
        "# decoupled decay: not through g\n"),
    hints=[
        "Decoupled means the decay never enters g, m or v.",
        "The decay is scaled by the learning rate: lr·λ·θ.",
        "Before (or after) the Adam step: p -= lr * weight_decay * p.",
    ],
    wrongs=[Wrong("l2-in-gradient", [("            p -= self.lr * self.weight_decay * p     "
                                      "# decoupled decay: not through g\n",
                                      "            g = g + self.weight_decay * p\n")]),
            Wrong("decay-not-scaled", [("p -= self.lr * self.weight_decay * p",
                                        "p -= self.weight_decay * p")])],
)
def check_adamw(L: Learner) -> None:
    lr, wd = 0.1, 0.1
    start, grads = problem(15)
    adam = adam_by_hand(lr)

    def decay_after(p: np.ndarray, g: np.ndarray, s: dict[str, Any], t: int) -> None:
        adam(p, g, s, t)
        p -= lr * wd * p                       # the lesson's order: after the Adam step

    after_decay = by_hand(start, grads, decay_after)
    check_optimizer(L, "AdamW", {"lr": lr, "weight_decay": wd},
                    trajectory(AdamW(lr, weight_decay=wd), start, grads), start, grads, {
                        "l2-in-gradient": (trajectory(Adam(lr, weight_decay=wd), start, grads),
                                           "the decay went through the gradient (g + λθ): that is "
                                           "Adam with L2, divided by √v̂ like the rest. Decouple it: "
                                           "θ ← θ − lr·λ·θ, outside the Adam step"),
                        "decay-not-scaled": (by_hand(start, grads, adam_by_hand(lr, decay=wd)),
                                             "the decay is not scaled by the learning rate: "
                                             "θ ← θ − lr·λ·θ"),
                        "no-decay": (trajectory(Adam(lr), start, grads), "there is no weight decay"),
                    }, f"weight_decay={wd}",
                    also_right=(after_decay, "you decay after the Adam step, as the lesson "
                                "writes; PyTorch and handgrad decay before it. The two differ by "
                                "lr²·λ times the Adam step, each step."))


# --- autograd ----------------------------------------------------------------------------------

VALUE_TEMPLATE = '''
class Value:
    """A number that remembers how it was made, so gradients can flow back through it."""

    def __init__(self, data, parents=(), op=""):
        self.data = float(data)
        self.grad = 0.0                  # dL/d(this value), filled by backward()
        self._parents = parents          # the Values this one was computed from
        self._op = op
        self._backward = lambda: None    # passes self.grad on to the parents

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        ...

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        ...

    def relu(self):
        ...

    def backward(self):
        """Fill .grad of every Value this one depends on (this one's own grad is 1)."""
        ...

    def __radd__(self, other):           # 2 + a
        return self + other

    def __rmul__(self, other):           # 2 * a
        return self * other

    def __repr__(self):
        return f"Value(data={self.data:.4g}, grad={self.grad:.4g})"
'''

VALUE_SOLUTION = '''
class Value:
    """A number that remembers how it was made, so gradients can flow back through it."""

    def __init__(self, data, parents=(), op=""):
        self.data = float(data)
        self.grad = 0.0                  # dL/d(this value), filled by backward()
        self._parents = parents          # the Values this one was computed from
        self._op = op
        self._backward = lambda: None    # passes self.grad on to the parents

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward():                 # d(a + b)/da = d(a + b)/db = 1
            self.grad += out.grad
            other.grad += out.grad
        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other), "*")

        def _backward():                 # d(ab)/da = b, d(ab)/db = a
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = _backward
        return out

    def relu(self):
        out = Value(max(self.data, 0.0), (self,), "relu")

        def _backward():
            self.grad += (self.data > 0) * out.grad
        out._backward = _backward
        return out

    def backward(self):
        """Fill .grad of every Value this one depends on (this one's own grad is 1)."""
        order, seen, stack = [], set(), [(self, False)]
        while stack:                     # topological order, without recursion
            v, done = stack.pop()
            if done:
                order.append(v)
            elif id(v) not in seen:
                seen.add(id(v))
                stack.append((v, True))
                stack.extend((p, False) for p in v._parents)
        self.grad = 1.0
        for v in reversed(order):        # every node's grad is complete before it passes it on
            v._backward()

    def __radd__(self, other):           # 2 + a
        return self + other

    def __rmul__(self, other):           # 2 * a
        return self * other

    def __repr__(self):
        return f"Value(data={self.data:.4g}, grad={self.grad:.4g})"
'''


class Flawed:
    """A scalar engine with one known mistake, to compute the gradients a learner's mistaken
    engine would give: "assign" (= instead of +=), "swap-mul" (d(ab)/da taken as a),
    "no-topo" (each node passes its gradient on as soon as it is reached, depth first)."""

    def __init__(self, data: float, parents: tuple[Flawed, ...] = (), flaw: str = "") -> None:
        self.data, self.grad, self.parents, self.flaw = float(data), 0.0, parents, flaw
        self.step: Callable[[], None] = lambda: None

    def _wrap(self, other: Any) -> Flawed:
        return other if isinstance(other, Flawed) else Flawed(other, flaw=self.flaw)

    def _add(self, target: Flawed, amount: float) -> None:
        target.grad = amount if self.flaw == "assign" else target.grad + amount

    def __add__(self, other: Any) -> Flawed:
        other = self._wrap(other)
        out = Flawed(self.data + other.data, (self, other), self.flaw)

        def step() -> None:
            out._add(self, out.grad)
            out._add(other, out.grad)
        out.step = step
        return out

    def __mul__(self, other: Any) -> Flawed:
        other = self._wrap(other)
        out = Flawed(self.data * other.data, (self, other), self.flaw)

        def step() -> None:
            swap = self.flaw == "swap-mul"
            out._add(self, (self.data if swap else other.data) * out.grad)
            out._add(other, (other.data if swap else self.data) * out.grad)
        out.step = step
        return out

    __radd__ = __add__
    __rmul__ = __mul__

    def relu(self) -> Flawed:
        out = Flawed(max(self.data, 0.0), (self,), self.flaw)

        def step() -> None:
            out._add(self, float(self.data > 0) * out.grad)
        out.step = step
        return out

    def backward(self) -> None:
        self.grad = 1.0
        if self.flaw == "no-topo":
            todo = [self]
            while todo:
                v = todo.pop()
                v.step()
                todo.extend(v.parents)
            return
        order, seen = [], set()

        def visit(v: Flawed) -> None:
            if id(v) not in seen:
                seen.add(id(v))
                for p in v.parents:
                    visit(p)
                order.append(v)
        visit(self)
        for v in reversed(order):
            v.step()


def shared(node: Any, use: Callable[[Any], Any]) -> Any:
    """``use(node)``: an expression that reads one node in several places."""
    return use(node)


def expressions() -> list[tuple[str, list[float], Callable[..., Any]]]:
    """(description, leaf values, expression of the leaves) — each built the same way with the
    learner's Value, handgrad's and the flawed ones."""
    return [
        ("relu(a*b + c), a=2, b=-3, c=10 (the lesson's graph)", [2.0, -3.0, 10.0],
         lambda a, b, c: (a * b + c).relu()),
        ("relu(a*b) with a*b < 0", [2.0, -3.0], lambda a, b: (a * b).relu()),
        ("a + a (a used twice)", [3.0], lambda a: a + a),
        ("a * a", [3.0], lambda a: a * a),
        ("3*a + 1 and a*2 + a (plain numbers on either side)", [1.5],
         lambda a: (3 * a + 1) * (a * 2 + a)),
        ("d = a*b; e = d + a; f = e * d (the node d used twice)", [2.0, -1.5],
         lambda a, b: shared(a * b, lambda d: (d + a) * d)),
        ("h = relu(a + b); g = (h*h + h*a) * (h + 1) (h used four times)", [1.5, 0.5],
         lambda a, b: shared((a + b).relu(), lambda h: (h * h + h * a) * (h + 1))),
        ("relu(w1*x1 + w2*x2 + b) * w1 (a neuron, a weight reused)", [0.5, -1.0, 2.0, 3.0, 0.25],
         lambda w1, w2, x1, x2, b: (w1 * x1 + w2 * x2 + b).relu() * w1),
    ]


@exercise(
    "value-engine", "A tiny autograd engine", LESSON, "section “Autograd”",
    statement="""
    Build a scalar Value that records the graph as you compute, then runs the chain rule
    backward through it. Each operation makes a new Value whose _backward closure knows the
    local derivatives and passes the output's gradient to its parents:

        c = a + b      a.grad += c.grad;           b.grad += c.grad
        c = a * b      a.grad += b.data * c.grad;  b.grad += a.data * c.grad
        c = relu(a)    a.grad += (a.data > 0) * c.grad

    The += matters: a Value used twice gets both contributions. backward() sets this
    Value's grad to 1, orders the graph topologically and calls every _backward from the
    output back, so each node's gradient is complete before it passes it on.

    Complete +, *, relu and backward(). Every gradient is compared with handgrad's own
    engine on seven expressions, from the lesson's relu(a·b + c) to graphs that reuse nodes.
    """,
    template=VALUE_TEMPLATE,
    solution=VALUE_SOLUTION,
    hints=[
        "Each operation: make out = Value(result, (self, other), op), define a _backward that "
        "adds to self.grad and other.grad, attach it, return out.",
        "Use += in every _backward: a value used twice must collect both gradients.",
        "backward: collect the nodes so that every node comes after its parents (a depth-first "
        "search), then call _backward in reverse order, starting with self.grad = 1.",
    ],
    wrongs=[Wrong("assign", [("            self.grad += out.grad\n            other.grad += out.grad",
                              "            self.grad = out.grad\n            other.grad = out.grad"),
                             ("            self.grad += other.data * out.grad\n"
                              "            other.grad += self.data * out.grad",
                              "            self.grad = other.data * out.grad\n"
                              "            other.grad = self.data * out.grad")]),
            Wrong("swap-mul", [("            self.grad += other.data * out.grad\n"
                                "            other.grad += self.data * out.grad",
                                "            self.grad += self.data * out.grad\n"
                                "            other.grad += other.data * out.grad")]),
            Wrong("no-topo", [("        for v in reversed(order):        # every node's grad is "
                               "complete before it passes it on\n            v._backward()",
                               "        todo = [self]\n        while todo:\n"
                               "            v = todo.pop()\n            v._backward()\n"
                               "            todo.extend(v._parents)")])],
)
def check_value(L: Learner) -> None:
    V = L.fn("Value")
    for what, values, expr in expressions():
        leaves = [V(x) for x in values]
        out = expr(*leaves)
        ref_leaves = [Value(x) for x in values]
        ref = expr(*ref_leaves)
        same(out.data, ref.data, f"the value of {what}")
        out.backward()
        ref.backward()
        got = [leaf.grad for leaf in leaves]
        expected = [leaf.grad for leaf in ref_leaves]
        mistakes = []
        for flaw, text in (("assign", "a gradient was overwritten: use += in _backward, so a "
                                      "value used twice collects both contributions"),
                           ("swap-mul", "the product rule is swapped: d(a·b)/da is b, so "
                                        "a.grad += b.data * out.grad"),
                           ("no-topo", "a node passed its gradient on before it was complete: "
                                       "call the _backward functions in reverse topological order")):
            flawed_leaves = [Flawed(x, flaw=flaw) for x in values]
            flawed = expr(*flawed_leaves)
            flawed.backward()
            mistakes.append(Mistake(flaw, [leaf.grad for leaf in flawed_leaves], text))
        same(got, expected, f"the gradients of the leaves of {what}", mistakes)


# --- depth on the quadrant task ---------------------------------------------------------

@exercise(
    "predict-depth-quadrants", "Predict: one hidden layer or three?", LESSON,
    "section “Exercises: extend the MLP to 3 hidden layers”",
    statement="""
    Predict, then run. The quadrant task: 1000 points from a unit Gaussian in 2-D, labelled
    by quadrant (4 classes); hidden width 16, batches of 64, SGD with lr 0.1. Compare one
    hidden layer (2 → 16 → 4) with three (2 → 16 → 16 → 16 → 4): the number of steps until
    95% of the points are classified right (the median over 5 seeds).

    DEEPER_IS is "faster" (three layers need under 2/3 of the steps), "slower" (over 1.5
    times as many) or "similar".
    """,
    template='''
    DEEPER_IS = ...      # "faster", "slower" or "similar"
    ''',
    solution='''
    DEEPER_IS = "faster"
    ''',
    hints=[
        "The quadrant boundaries are two straight lines through the origin: one hidden layer "
        "can draw them.",
        "More layers means more products of weights in every gradient — and, here, more "
        "units to carve the plane with.",
        "Run it: the checker tells you the step counts when your answer is wrong.",
    ],
    wrongs=[Wrong("choice-similar", [('DEEPER_IS = "faster"', 'DEEPER_IS = "similar"')]),
            Wrong("choice-slower", [('DEEPER_IS = "faster"', 'DEEPER_IS = "slower"')])],
    heavy=True,
)
def check_depth(L: Learner) -> None:
    answer = L.answer("DEEPER_IS")
    m = measure.quadrant_depth()
    ratio = m["ratio"]
    measured = "faster" if ratio < 2 / 3 else "slower" if ratio > 1.5 else "similar"
    seen = (f"handgrad measured: one hidden layer reached 95% after {m['median_one']:g} steps "
            f"(seeds: {m['one']}), three after {m['median_three']:g} ({m['three']}): a ratio of "
            f"{ratio:.2f}.")
    choice(answer, measured, {"faster": "three layers are faster", "slower": "slower",
                              "similar": "similar"}, "DEEPER_IS",
           dict.fromkeys(("faster", "slower", "similar"), seen))
    L.note(seen)

