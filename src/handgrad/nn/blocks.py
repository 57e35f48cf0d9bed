"""The transformer's feed-forward blocks, built from Linear and the activations."""

from __future__ import annotations

from typing import cast

import numpy as np
from numpy.typing import DTypeLike

from .activations import ActivationSpec, SiLU, get_activation
from .init import InitMethod, as_generator
from .linear import Linear
from .module import Module


class FFN(Module):
    """GPT-2's position-wise feed-forward block: y = f(x W1ᵀ + b1) W2ᵀ + b2, d -> hidden -> d.

    Backward is two Linear backwards around the activation's:
        dh = dy W2,   du = dh ⊙ f'(u),   dx = du W1
    """

    def __init__(self, d: int, hidden: int | None = None, activation: ActivationSpec = "gelu",
                 init: InitMethod = "gpt2", rng: np.random.Generator | None = None,
                 dtype: DTypeLike = np.float32) -> None:
        super().__init__()
        rng = as_generator(rng)
        hidden = 4 * d if hidden is None else hidden
        self.fc1 = Linear(d, hidden, init=init, rng=rng, dtype=dtype)    # W1 (hidden, d)
        self.act = get_activation(activation)
        self.fc2 = Linear(hidden, d, init=init, rng=rng, dtype=dtype)    # W2 (d, hidden)
        self.add_child("fc1", self.fc1)
        self.add_child("fc2", self.fc2)

    def forward(self, x: np.ndarray, training: bool = True) -> np.ndarray:
        u = self.fc1.forward(x)            # (B, d) -> (B, hidden)
        h = self.act.forward(u)            # (B, hidden)
        return self.fc2.forward(h)         # (B, hidden) -> (B, d)

    def backward(self, grad_out: np.ndarray) -> np.ndarray | None:
        dh = self.fc2.backward(grad_out)   # (B, d) -> (B, hidden)
        assert dh is not None              # fc2 always passes its input gradient back
        du = self.act.backward(dh)         # (B, hidden)
        return self.fc1.backward(du)       # (B, hidden) -> (B, d)


class SwiGLU(Module):
    """The gated feed-forward block of LLaMA, without biases:

        u = x W1ᵀ,  v = x W3ᵀ,  h = SiLU(u) ⊙ v,  y = h W2ᵀ
        W1, W3: (hidden, d)   W2: (d, hidden)

    Backward: dh = dy W2;  the product rule splits dh into
        dv = dh ⊙ SiLU(u)        du = (dh ⊙ v) ⊙ SiLU'(u)
    and x feeds both branches, so dx = du W1 + dv W3.
    """

    def __init__(self, d: int, hidden: int, init: InitMethod = "gpt2",
                 rng: np.random.Generator | None = None, dtype: DTypeLike = np.float32) -> None:
        super().__init__()
        rng = as_generator(rng)
        self.w1 = Linear(d, hidden, bias=False, init=init, rng=rng, dtype=dtype)
        self.w2 = Linear(hidden, d, bias=False, init=init, rng=rng, dtype=dtype)
        self.w3 = Linear(d, hidden, bias=False, init=init, rng=rng, dtype=dtype)
        self.silu = SiLU()
        for name in ("w1", "w2", "w3"):
            self.add_child(name, getattr(self, name))

    def forward(self, x: np.ndarray, training: bool = True) -> np.ndarray:
        u = self.w1.forward(x)             # (B, d) -> (B, hidden)
        self.v = self.w3.forward(x)        # (B, d) -> (B, hidden)
        self.s = self.silu.forward(u)      # (B, hidden)
        return self.w2.forward(self.s * self.v)   # (B, hidden) -> (B, d)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        dh = self.w2.backward(grad_out)    # (B, d) -> (B, hidden)
        assert dh is not None              # w1, w2, w3 always pass their input gradients back
        dv = dh * self.s                   # (B, hidden)
        du = self.silu.backward(dh * self.v)      # (B, hidden)
        dx1, dx3 = self.w1.backward(du), self.w3.backward(dv)   # (B, d), (B, d)
        assert dx1 is not None and dx3 is not None
        return cast(np.ndarray, dx1 + dx3)  # (B, d) + (B, d)
