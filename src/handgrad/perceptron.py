"""Rosenblatt's perceptron (1958): one neuron with a step function, and why one is not enough.

    ŷ = step(w·x + b),   step(z) = 1 if z >= 0 else 0

The learning rule changes the weights only on a mistake, and then by the
input itself, pushed toward the right side:

    if ŷ != y:   w ← w + lr·(y - ŷ)·x,   b ← b + lr·(y - ŷ)

(y - ŷ is +1 when the neuron said 0 for a 1, -1 when it said 1 for a 0). An
epoch visits the examples in order; training stops at the first epoch
without a mistake.

Novikoff (1962): if some unit vector u separates the data with margin
γ = min_i y_i (u·x_i) > 0 (labels ±1, the bias folded in as a constant input
1) and every input has norm at most R, the perceptron started at zero makes
at most (R/γ)² mistakes in all, whatever the order and the learning rate.
AND, OR and NAND are separable, so they converge. XOR is not: no line puts
(0,1) and (1,0) on one side and (0,0) and (1,1) on the other, so there is
always a mistake, the weights never settle, and since they take finitely many
values they cycle. A hidden layer fixes it: XOR(x) = AND(OR(x), NAND(x)).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from .mlp import MLP
from .nn.init import as_generator
from .train import progress_bar

GATE_INPUTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)     # (4, 2)
GATES = {
    "and": np.array([0, 0, 0, 1]),
    "or": np.array([0, 1, 1, 1]),
    "nand": np.array([1, 1, 1, 0]),
    "xor": np.array([0, 1, 1, 0]),
}


@dataclass
class Cycle:
    """Weights that repeat: the state after epoch ``start`` comes back every ``period`` epochs.

    ``states`` (period, n_inputs + 1) lists the weights (then the bias) after
    each epoch of one turn; ``path`` (period * n_samples + 1, n_inputs + 1)
    the weights after every example of that turn, back to where it began."""
    start: int
    period: int
    states: np.ndarray
    path: np.ndarray


class Perceptron:
    """Rosenblatt's perceptron: ``Perceptron(n_inputs, lr=1.0, seed=None)``.

    ``seed=None`` starts from zero weights (Rosenblatt's and Novikoff's
    setting); a seed starts from small random weights N(0, 0.01²). Labels are
    0/1 or -1/+1: ``fit`` accepts either and ``predict`` answers in the form
    ``fit`` was given (0/1 before any fit).

    After ``fit``: ``weights`` (n_inputs,), ``bias``, ``mistakes`` (one count
    per epoch), ``converged``, ``epochs_``, ``history`` (epochs + 1,
    n_inputs + 1): the weights and bias at the start and after each epoch, and
    ``path``: the same after every example. ``cycle()`` finds the cycle in them.
    """

    labels: tuple[int, int]
    w: np.ndarray
    b: float
    mistakes: list[int]
    converged: bool
    history: np.ndarray
    path: np.ndarray

    def __init__(self, n_inputs: int, lr: float = 1.0, seed: int | None = None) -> None:
        if int(n_inputs) != n_inputs or n_inputs < 1:
            raise ValueError(f"n_inputs must be a positive integer; got {n_inputs!r}")
        if isinstance(lr, bool) or not isinstance(lr, (int, float, np.integer, np.floating)) \
                or not (math.isfinite(lr) and lr > 0):
            raise ValueError(f"lr must be positive and finite; got {lr!r}")
        self.n_inputs, self.lr, self.seed = int(n_inputs), float(lr), seed
        self.labels = (0, 1)
        self._reset()

    def _reset(self) -> None:
        if self.seed is None:
            self.w, self.b = np.zeros(self.n_inputs), 0.0
        else:
            draw = as_generator(None, self.seed).normal(0.0, 0.01, self.n_inputs + 1)
            self.w, self.b = draw[:-1], float(draw[-1])
        self.mistakes, self.converged = [], False
        self.history = np.r_[self.w, self.b][None, :]
        self.path = self.history

    @property
    def weights(self) -> np.ndarray:
        w: np.ndarray = self.w.copy()
        return w

    @property
    def bias(self) -> float:
        return self.b

    @property
    def epochs_(self) -> int:
        return len(self.mistakes)

    def __repr__(self) -> str:
        return f"Perceptron({self.n_inputs}, lr={self.lr}, seed={self.seed})"

    # --- inputs ----------------------------------------------------------------------------

    def _check_X(self, X: ArrayLike) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_inputs:
            raise ValueError(f"X must have shape (n_samples, {self.n_inputs}); got {X.shape}")
        if not np.isfinite(X).all():
            raise ValueError("X contains NaN or Inf")
        return X

    def _check_y(self, y: ArrayLike, n: int) -> tuple[np.ndarray, tuple[int, int]]:
        y = np.asarray(y).reshape(-1)
        if len(y) != n:
            raise ValueError(f"X has {n} samples but y has {len(y)}")
        found = set(np.unique(y).tolist())
        if found <= {0, 1}:
            labels = (0, 1) if found != {1} or self.labels != (-1, 1) else (-1, 1)
        elif found <= {-1, 1}:
            labels = (-1, 1)
        else:
            raise ValueError(f"labels must be 0/1 or -1/+1; got {sorted(found)}")
        return (y == 1).astype(np.int64), labels                  # as 0/1 inside

    # --- learning ------------------------------------------------------------------------------

    def fit(self, X: ArrayLike, y: ArrayLike, epochs: int = 100, *, stop_at_cycle: bool = False,
            progress: bool = False) -> Perceptron:
        """Rosenblatt's rule from the starting weights; stops at the first epoch with no mistake.

        Returns self. ``mistakes`` counts the mistakes of each epoch, ``converged``
        says whether the last epoch had none, ``history`` keeps the weights after
        each epoch (see ``cycle()``). ``stop_at_cycle=True`` also stops at the first
        epoch that ends where an earlier one did: from there the weights cycle for ever
        and never converge. ``progress=True`` shows a progress bar (tqdm) on a terminal.
        """
        Xc = self._check_X(X)
        t, self.labels = self._check_y(y, len(Xc))
        if isinstance(epochs, bool) or int(epochs) != epochs or epochs < 1:
            raise ValueError(f"epochs must be a positive integer; got {epochs!r}")
        self._reset()
        Xa = np.hstack([Xc, np.ones((len(Xc), 1))])        # (n, d + 1): the bias input is 1
        wb = np.r_[self.w, self.b]                         # (d + 1,): weights, then the bias
        states, path = [wb.copy()], [wb.copy()]
        seen = {self._state_key(wb): 0}
        bar = progress_bar(progress, int(epochs), unit="epoch")
        try:
            with np.errstate(over="ignore", invalid="ignore"):   # overflow: reported below
                for epoch in range(1, int(epochs) + 1):
                    wrong = 0
                    for x, target in zip(Xa, t):
                        guess = 1 if x @ wb >= 0 else 0            # step(w·x + b)
                        if guess != target:
                            wb += self.lr * (target - guess) * x   # w += lr (y - ŷ) x,  b += lr (y - ŷ)
                            wrong += 1
                        path.append(wb.copy())
                    if not np.isfinite(wb).all():
                        raise ValueError(f"the weights overflowed in epoch {epoch} at lr {self.lr:g}; "
                                         "use a smaller learning rate")
                    self.mistakes.append(wrong)
                    states.append(wb.copy())
                    if bar is not None:
                        bar.update()
                    if wrong == 0:
                        self.converged = True
                        break
                    if stop_at_cycle and seen.setdefault(self._state_key(wb), epoch) != epoch:
                        break
        finally:
            if bar is not None:
                bar.close()
            self.w, self.b = wb[:-1].copy(), float(wb[-1])
            self.history = np.array(states)                                # (epochs + 1, n + 1)
            self.path = np.array(path)                                     # (updates + 1, n + 1)
        return self

    def _state_key(self, wb: np.ndarray, decimals: int = 9) -> bytes:
        """The weights in units of the learning rate, rounded: equal keys, equal states.

        From a zero start every weight is lr times a sum of inputs, so the run's states
        are those of lr = 1 scaled by lr: in units of lr they compare at any rate."""
        return (np.round(wb / self.lr, decimals) + 0.0).tobytes()       # + 0.0: -0.0 is 0.0

    def decision_function(self, X: ArrayLike) -> np.ndarray:
        """w·x + b for a batch (n, n_inputs) -> (n,)."""
        z: np.ndarray = self._check_X(X) @ self.w + self.b      # (n,)
        return z

    def predict(self, x: ArrayLike) -> int | np.ndarray:
        """One sample (n_inputs,) -> an int label; a batch (n, n_inputs) -> (n,) labels."""
        x = np.asarray(x, dtype=np.float64)
        single = x.ndim == 1
        if single and x.shape != (self.n_inputs,):
            raise ValueError(f"one sample needs {self.n_inputs} inputs; got shape {x.shape}")
        step = (self.decision_function(x[None, :] if single else x) >= 0).astype(np.int64)
        out = np.where(step == 1, self.labels[1], self.labels[0])
        return int(out[0]) if single else out

    def score(self, X: ArrayLike, y: ArrayLike) -> float:
        """Accuracy on (X, y), labels in either form."""
        Xc = self._check_X(X)
        t, _ = self._check_y(y, len(Xc))
        return float(np.mean((self.decision_function(Xc) >= 0) == (t == 1)))

    def cycle(self, decimals: int = 9) -> Cycle | None:
        """The cycle the weights fell into, or None if no epoch ended where an earlier one did.

        An epoch's dynamics depend only on the weights it starts from (the
        examples come in the same order), so once the weights after epoch j equal
        those after an earlier epoch i, epochs i+1..j repeat for ever: a cycle of
        period j - i. Weights are compared in units of the learning rate, rounded to
        ``decimals`` places. A run that converged has no cycle (its last epoch changed
        nothing).
        """
        if self.converged:
            return None
        first: dict[bytes, int] = {}
        for j, state in enumerate(self.history):
            i = first.setdefault(self._state_key(state, decimals), j)
            if i != j:
                n = (len(self.path) - 1) // max(len(self.history) - 1, 1)    # examples per epoch
                return Cycle(start=i, period=j - i, states=self.history[i:j].copy(),
                             path=self.path[i * n:j * n + 1].copy())
        return None


# --- Novikoff's bound ---------------------------------------------------------------------------

@dataclass
class NovikoffBound:
    """γ: the margin of the unit separator u; R: the largest input norm (bias input 1 included);
    bound = (R/γ)², the most mistakes a perceptron started at zero can make."""
    gamma: float
    R: float
    bound: float


def novikoff_bound(X: ArrayLike, y: ArrayLike, w: ArrayLike, b: float = 0.0) -> NovikoffBound:
    """Novikoff's bound for data (X, y) separated by the hyperplane w·x + b = 0.

    Folds the bias in as a constant input 1, so x' = (x, 1), u = (w, b)/‖(w, b)‖:
    γ = min_i y_i (u·x'_i) with labels as ±1, R = max_i ‖x'_i‖. Raises ValueError
    if (w, b) does not separate the data (γ <= 0).
    """
    X = np.asarray(X, dtype=np.float64)
    s = np.where(np.asarray(y).reshape(-1) == 1, 1.0, -1.0)                      # (n,) ±1
    Xa = np.hstack([X, np.ones((len(X), 1))])                                    # (n, d + 1)
    u = np.r_[np.asarray(w, dtype=np.float64), b]                                # (d + 1,)
    u = u / np.linalg.norm(u)
    gamma = float(np.min(s * (Xa @ u)))
    if gamma <= 0:
        raise ValueError(f"(w, b) does not separate the data: the smallest margin is {gamma:.3g}")
    R = float(np.max(np.linalg.norm(Xa, axis=1)))
    return NovikoffBound(gamma=gamma, R=R, bound=(R / gamma) ** 2)


# --- the lesson's fix: a hidden layer -------------------------------------------------------

def xor_mlp(seed: int = 0, epochs: int = 2000, learning_rate: float = 0.5) -> MLP:
    """A 2-4-1 handgrad.MLP (tanh hidden, sigmoid output, Xavier init) trained on XOR with
    full-batch gradient descent: it solves it (30 seeds out of 30 tried)."""
    y = GATES["xor"]
    model = MLP([2, 4, 1], ["tanh", "sigmoid"], "xavier", seed=seed, dtype=np.float64)
    model.fit(GATE_INPUTS, y, epochs=epochs, learning_rate=learning_rate, shuffle=False)
    return model


def xor_by_hand(steepness: float = 20.0) -> MLP:
    """A 2-2-1 handgrad.MLP with weights set by hand: XOR = AND(OR, NAND).

        h1 = σ(k(x1 + x2 - 0.5))     OR:   on unless both are 0
        h2 = σ(k(-x1 - x2 + 1.5))    NAND: on unless both are 1
        y  = σ(k(h1 + h2 - 1.5))     AND:  on only when both are on

    A steep sigmoid (k = ``steepness``) is nearly a step: each unit is one of
    the perceptrons above, each separable gate drawn as one line, and the output
    unit combines the two half-planes into the band that XOR needs.
    """
    k = float(steepness)
    model = MLP([2, 2, 1], ["sigmoid", "sigmoid"], dtype=np.float64)
    model.load_state_dict({
        "layers.0.weight": k * np.array([[1.0, 1.0], [-1.0, -1.0]]),   # (2, 2): OR, NAND
        "layers.0.bias": k * np.array([-0.5, 1.5]),                    # (2,)
        "layers.1.weight": k * np.array([[1.0, 1.0]]),                 # (1, 2): AND
        "layers.1.bias": k * np.array([-1.5]),                         # (1,)
    })
    return model


def gate_report(gate: str, epochs: int = 1000, lr: float = 1.0, progress: bool = False) -> str:
    """Printable text: the perceptron trained on a logic gate (and, or, nand, xor), epoch by
    epoch, with the verdict: converged, or not and the cycle its weights fell into (training
    stops there: a cycle never ends). ``progress`` shows a progress bar on a terminal."""
    key = str(gate).lower()
    if key not in GATES:
        raise ValueError(f"unknown gate {gate!r}; valid gates: {', '.join(GATES)}")
    p = Perceptron(2, lr=lr).fit(GATE_INPUTS, GATES[key], epochs=epochs, stop_at_cycle=True,
                                 progress=progress)
    lines = [f"perceptron on {key.upper()} (step function, lr {lr:g}, zero start, "
             "examples in order)", ""]
    lines.append(" x1  x2  target  predicted")
    for x, t in zip(GATE_INPUTS.astype(int), GATES[key]):
        lines.append(f"{x[0]:>3} {x[1]:>3} {t:>7} {p.predict(x):>10}")
    shown = p.mistakes if len(p.mistakes) <= 12 else [*p.mistakes[:10], "…", *p.mistakes[-1:]]
    lines += ["", f"epochs: {p.epochs_}", "mistakes per epoch: " + " ".join(map(str, shown)),
              f"weights: {np.array2string(p.weights, precision=3)}, bias: {p.bias:.3g}"]
    if p.converged:
        lines.append(f"converged after {p.epochs_} epochs (the last one without a mistake)")
    else:
        c = p.cycle()
        if c is None:
            lines.append(f"did not converge in {p.epochs_} epochs")
        else:
            lines.append(f"did not converge; weights cycle with period {c.period} (from epoch "
                         f"{c.start} on), so it never will: stopped after epoch {p.epochs_}")
            turn = " -> ".join("(" + ", ".join(f"{v:g}" for v in s) + ")" for s in c.path)
            lines.append(f"one turn, (w1, w2, b) after each example: {turn}")
        if key == "xor":
            lines.append("no line separates XOR's classes; a hidden layer does: "
                         "XOR = AND(OR, NAND)")
    return "\n".join(lines)
