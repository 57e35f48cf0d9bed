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

import numpy as np


class Module:
    """Base class: the three dicts, ``zero_grad`` and state-dict handling."""

    caches = ()   # names of the attributes forward keeps for backward (handgrad.check.trace reads them)

    def __init__(self):
        self.params = {}
        self.grads = {}
        self.buffers = {}

    def __call__(self, x, training=True):
        return self.forward(x, training)

    def modules(self):
        """This module and every Module inside it (attributes, lists, dicts), each once."""
        return submodules(self)

    def infer(self, x):
        """The forward pass in evaluation mode, keeping nothing for a backward pass."""
        out = self.forward(x, training=False)
        for m in self.modules():
            for name in type(m).caches:
                if getattr(m, name, None) is not None:
                    setattr(m, name, None)
        return out

    def add_child(self, prefix, child):
        """Expose ``child``'s arrays here under ``prefix.name`` (same arrays, not copies)."""
        for mine, theirs in ((self.params, child.params), (self.grads, child.grads),
                             (self.buffers, child.buffers)):
            for name, array in theirs.items():
                mine[f"{prefix}.{name}"] = array

    def zero_grad(self):
        for g in self.grads.values():
            g.fill(0)

    def state_dict(self):
        """Copies of every parameter and buffer, keyed by PyTorch-style dotted names."""
        return {name: a.copy() for name, a in {**self.params, **self.buffers}.items()}

    def load_state_dict(self, state):
        """Copy ``state`` into this module's arrays in place.

        Keys and shapes must match exactly; the error lists every difference.
        Values are cast to this module's dtype.
        """
        own = {**self.params, **self.buffers}
        check_state_matches(own, state)
        for name, array in own.items():
            np.copyto(array, np.asarray(state[name]), casting="unsafe")


def submodules(obj):
    """``obj`` and every Module inside it (attributes, lists, dicts), each once; iterative."""
    seen, stack, found = set(), [obj], []
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


def check_state_matches(own, state):
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
