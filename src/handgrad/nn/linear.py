"""The affine map z = x Wᵀ + b, with W stored (d_out, d_in) as in torch.nn.Linear."""

import numpy as np

from .init import as_generator, init_weight
from .module import Module


class Linear(Module):
    """z = x @ W.T + b.

    W is (d_out, d_in), the layout of ``torch.nn.Linear`` and ``mlx.nn.Linear``
    — not the x @ W of many lessons — so a state dict moves between the three
    backends with no transposes.

    Backward, given δ = dL/dz (B, d_out) and the cached input x (B, d_in):
        dL/dW = δᵀ x          (d_out, B) @ (B, d_in)  -> (d_out, d_in)
        dL/db = Σ_batch δ     (B, d_out)              -> (d_out,)
        dL/dx = δ W           (B, d_out) @ (d_out, d_in) -> (B, d_in)
    since z_bj = Σ_i x_bi W_ji + b_j. The first layer of a network sets
    ``needs_input_grad = False``: nobody needs dL/dX, and skipping it saves a
    third of that layer's backward work.
    """

    caches = ("x",)

    def __init__(self, d_in, d_out, bias=True, init="he", rng=None, dtype=np.float32):
        super().__init__()
        rng = as_generator(rng)
        self.params["weight"] = init_weight(init, rng, d_out, d_in, dtype)   # (d_out, d_in)
        if bias:
            self.params["bias"] = np.zeros(d_out, dtype=dtype)               # (d_out,)
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.needs_input_grad = True

    @property
    def W(self):
        return self.params["weight"]

    @property
    def b(self):
        return self.params.get("bias")

    @property
    def dW(self):
        return self.grads["weight"]

    @property
    def db(self):
        return self.grads.get("bias")

    def forward(self, x, training=True):
        self.x = x                                 # (B, d_in), kept for dW
        z = x @ self.W.T                           # (B, d_in) @ (d_in, d_out) -> (B, d_out)
        if self.b is not None:
            z += self.b                            # (B, d_out) + (d_out,), broadcast over the batch
        return z

    def backward(self, grad_out):
        return self.backward_delta(grad_out)

    def backward_delta(self, delta):
        """Fill dW, db from δ = dL/dz; return dL/dx (or None when not needed)."""
        np.matmul(delta.T, self.x, out=self.grads["weight"])   # (d_out, B) @ (B, d_in) -> (d_out, d_in)
        if self.b is not None:
            np.sum(delta, axis=0, out=self.grads["bias"])      # (B, d_out) -> (d_out,)
        if not self.needs_input_grad:
            return None
        return delta @ self.W                                  # (B, d_out) @ (d_out, d_in) -> (B, d_in)

    def __repr__(self):
        d_out, d_in = self.W.shape
        return f"{type(self).__name__}({d_in}, {d_out}, bias={self.b is not None})"
