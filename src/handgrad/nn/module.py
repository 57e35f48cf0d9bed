"""The Module contract that every piece of handgrad follows.

    params:  name -> array    e.g. {"weight": (d_out, d_in), "bias": (d_out,)}
    grads:   name -> array    same keys and shapes, written by backward
    buffers: name -> array    saved but not trained (BatchNorm's running statistics)
    forward(x, training=True) -> output, caching what backward needs
    backward(grad_out)        -> dL/dx, filling grads

Arrays in params, grads and buffers are made once and then changed in place,
so a compound module's flat dict (``layers.0.weight``) and an optimizer can
hold on to them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike


class Module:
    """Base class: the three dicts, ``zero_grad`` and state-dict handling."""

    # names of the attributes forward keeps for backward (handgrad.check.trace reads them)
    caches: tuple[str, ...] = ()

    def __init__(self) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.buffers: dict[str, np.ndarray] = {}

    def forward(self, x: np.ndarray, training: bool = True) -> np.ndarray:
        """The output for ``x``, caching what backward needs; every module defines its own."""
        raise NotImplementedError(f"{type(self).__name__} defines no forward pass")

    def backward(self, grad_out: np.ndarray) -> np.ndarray | None:
        """dL/dx from dL/d(output), filling ``grads``; every module defines its own."""
        raise NotImplementedError(f"{type(self).__name__} defines no backward pass")

    def __call__(self, x: np.ndarray, training: bool = True) -> np.ndarray:
        return self.forward(x, training)

    def modules(self) -> list[Module]:
        """This module and every Module inside it (attributes, lists, dicts), each once."""
        return submodules(self)

    def infer(self, x: np.ndarray) -> np.ndarray:
        """The forward pass in evaluation mode, keeping nothing for a backward pass."""
        out = self.forward(x, training=False)
        self.clear_caches()
        return out

    def clear_caches(self) -> None:
        """Forget what the last forward pass kept for backward, here and in every module inside."""
        for m in self.modules():
            for name in type(m).caches:
                if getattr(m, name, None) is not None:
                    setattr(m, name, None)

    def add_child(self, prefix: str, child: Module) -> None:
        """Expose ``child``'s arrays here under ``prefix.name`` (same arrays, not copies)."""
        for mine, theirs in ((self.params, child.params), (self.grads, child.grads),
                             (self.buffers, child.buffers)):
            for name, array in theirs.items():
                mine[f"{prefix}.{name}"] = array

    def zero_grad(self) -> None:
        for g in self.grads.values():
            g.fill(0)

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of every parameter and buffer, keyed by PyTorch-style dotted names."""
        return {name: a.copy() for name, a in {**self.params, **self.buffers}.items()}

    def load_state_dict(self, state: Mapping[str, ArrayLike]) -> None:
        """Copy ``state`` into this module's arrays in place.

        Keys and shapes must match exactly; the error lists every difference.
        Values are cast to this module's dtype.
        """
        own = {**self.params, **self.buffers}
        check_state_matches(own, state)
        for name, array in own.items():
            np.copyto(array, np.asarray(state[name]), casting="unsafe")


def submodules(obj: Any) -> list[Module]:
    """``obj`` and every Module inside it (attributes, lists, dicts), each once; iterative."""
    seen: set[int] = set()
    stack: list[Any] = [obj]
    found: list[Module] = []
    while stack:
        m = stack.pop()
        if id(m) in seen:
            continue
        seen.add(id(m))
        if isinstance(m, Module):
            found.append(m)
            stack.extend(v for v in vars(m).values() if isinstance(v, (Module, list, tuple, dict)))
        elif isinstance(m, (list, tuple)):
            stack.extend(v for v in m if isinstance(v, (Module, list, tuple, dict)))
        elif isinstance(m, dict):
            stack.extend(v for v in m.values() if isinstance(v, (Module, list, tuple, dict)))
    return found


def check_state_matches(own: Mapping[str, np.ndarray], state: Mapping[str, ArrayLike]) -> None:
    """Raise ValueError listing missing keys, unexpected keys and shape mismatches."""
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = [f"{k}: expected {own[k].shape}, got {tuple(np.shape(state[k]))}"
              for k in sorted(set(own) & set(state))
              if tuple(np.shape(state[k])) != own[k].shape]
    if missing or unexpected or shapes:
        lines = ["state dict does not match the model:"]
        if missing:
            lines.append("  missing keys: " + ", ".join(missing))
        if unexpected:
            lines.append("  unexpected keys: " + ", ".join(unexpected))
        lines += ["  wrong shape: " + s for s in shapes]
        raise ValueError("\n".join(lines))
