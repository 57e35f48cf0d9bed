"""Activations: each a small Module whose backward is its derivative.

Every activation maps ``z`` (B, d) to ``a`` (B, d) elementwise (softmax by row),
caches what its derivative needs, and multiplies the incoming gradient by it:

    forward:   a = f(z)
    backward:  dL/dz = dL/da ⊙ f'(z)          (softmax: the Jacobian-vector product)

| name       | f(z)                          | f'(z), from the cache          |
|------------|-------------------------------|--------------------------------|
| relu       | max(0, z)                     | 1[a > 0]                       |
| leaky_relu | z if z > 0 else αz            | 1 if a > 0 else α              |
| sigmoid    | σ(z) = 1 / (1 + e^-z)         | a (1 - a)                      |
| tanh       | tanh z                        | 1 - a²                         |
| gelu       | z Φ(z)                        | Φ(z) + z φ(z)                  |
| gelu_tanh  | ½z(1 + tanh u), u=√(2/π)(z+0.044715z³) | ½(1+t) + ½z(1-t²)u'(z) |
| silu/swish | z σ(z)                        | σ + z σ (1 - σ)                |
| identity   | z                             | 1                              |
| softmax    | e^z / Σ e^z                   | p ⊙ (g - Σ g p)                |
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeAlias, cast

import numpy as np

from .module import Module


def sigmoid(z: np.ndarray) -> np.ndarray:
    """σ(z) = 1 / (1 + e^-z) without overflow: only e^-|z| is ever computed."""
    e: np.ndarray = np.exp(-np.abs(z))                      # (…) in (0, 1]
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))       # (…)


def erf(x: np.ndarray) -> np.ndarray:
    """The error function, elementwise, in x's dtype (SciPy's when installed)."""
    try:
        from scipy.special import erf as scipy_erf
    except ImportError:  # NumPy alone: exact but slower, one Python call per element
        return cast(np.ndarray, np.vectorize(math.erf, otypes=[x.dtype])(x))
    return cast(np.ndarray, scipy_erf(x))


class Activation(Module):
    """An elementwise nonlinearity; ``key`` is its name in ACTIVATIONS, ``label`` its name
    on a page, ``hidden`` says whether a hidden layer may use it (softmax is an output's)."""

    name = ""
    label = ""
    hidden = True

    @property
    def key(self) -> str:
        """This activation's name in ACTIVATIONS (the twins look up their own lines by it)."""
        return self.name

    @property
    def spec(self) -> str | dict[str, Any]:
        """What rebuilds this activation: its name, or a dict with its settings."""
        return self.name

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """dL/dz = dL/da ⊙ f'(z), always an array; every activation defines its own."""
        raise NotImplementedError(f"{type(self).__name__} defines no backward pass")

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class ReLU(Activation):
    name = "relu"
    label = "ReLU"
    caches = ("a",)
    a: np.ndarray      # (B, d), set by forward

    def forward(self, z: np.ndarray, training: bool = True) -> np.ndarray:
        self.a = np.maximum(z, 0)          # (B, d)
        return self.a

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return grad_out * (self.a > 0)     # (B, d) ⊙ (B, d): f'(z) = 1[z > 0] = 1[a > 0]


class LeakyReLU(Activation):
    """max(z, αz) with slope α = 0.01 for z < 0 (PyTorch's default)."""

    name = "leaky_relu"
    label = "Leaky ReLU"
    caches = ("a",)
    a: np.ndarray      # (B, d), set by forward

    def __init__(self, alpha: float = 0.01) -> None:
        super().__init__()
        self.alpha = alpha

    @property
    def spec(self) -> str | dict[str, Any]:
        return self.name if self.alpha == 0.01 else {"name": self.name, "alpha": self.alpha}

    def forward(self, z: np.ndarray, training: bool = True) -> np.ndarray:
        self.a = np.where(z > 0, z, z * self.alpha)                    # (B, d)
        return self.a

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return cast(np.ndarray,
                    grad_out * np.where(self.a > 0, 1, self.alpha).astype(grad_out.dtype))  # (B, d)

    def __repr__(self) -> str:
        return f"LeakyReLU(alpha={self.alpha})"


class Sigmoid(Activation):
    """σ(z) = 1 / (1 + e^-z); finite for z = ±1000."""

    name = "sigmoid"
    label = "Sigmoid"
    caches = ("a",)
    a: np.ndarray      # (B, d), set by forward

    def forward(self, z: np.ndarray, training: bool = True) -> np.ndarray:
        self.a = sigmoid(z)                        # (B, d)
        return self.a

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return cast(np.ndarray, grad_out * self.a * (1 - self.a))  # (B, d): σ' = σ(1 - σ), from the cached a


class Tanh(Activation):
    name = "tanh"
    label = "Tanh"
    caches = ("a",)
    a: np.ndarray      # (B, d), set by forward

    def forward(self, z: np.ndarray, training: bool = True) -> np.ndarray:
        self.a = np.tanh(z)                        # (B, d)
        return self.a

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        # (B, d): tanh' = 1 - tanh², from the cached a
        return cast(np.ndarray, grad_out * (1 - self.a * self.a))


SQRT_2_OVER_PI = math.sqrt(2 / math.pi)


class GELU(Activation):
    """Gaussian error linear unit, exact by default: a = z Φ(z).

    f'(z) = Φ(z) + z φ(z), with Φ the normal CDF and φ its density.
    ``approximate="tanh"`` uses GPT-2's ½z(1 + tanh(√(2/π)(z + 0.044715 z³))).
    """

    name = "gelu"
    caches = ("z", "Phi", "t")
    z: np.ndarray      # (B, d), set by forward
    Phi: np.ndarray    # (B, d), set by an exact forward
    t: np.ndarray      # (B, d), set by a tanh forward

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU approximate must be 'none' or 'tanh'; got {approximate!r}")
        self.approximate = approximate

    @property
    def key(self) -> str:
        return "gelu" if self.approximate == "none" else "gelu_tanh"

    @property
    def label(self) -> str:  # type: ignore[override]  # the class's label depends on the setting
        return "GELU" if self.approximate == "none" else "GELU (tanh)"

    @property
    def spec(self) -> str:
        return self.key

    def forward(self, z: np.ndarray, training: bool = True) -> np.ndarray:
        self.z = z                                                       # (B, d)
        if self.approximate == "tanh":
            u = SQRT_2_OVER_PI * (z + 0.044715 * z ** 3)                 # (B, d)
            self.t = np.tanh(u)                                          # (B, d)
            return cast(np.ndarray, 0.5 * z * (1 + self.t))              # (B, d)
        self.Phi = 0.5 * (1 + erf(z * (1 / math.sqrt(2))))               # (B, d) normal CDF
        return z * self.Phi                                              # (B, d)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        z = self.z
        if self.approximate == "tanh":
            du = SQRT_2_OVER_PI * (1 + 3 * 0.044715 * z * z)             # (B, d) u'(z)
            return cast(np.ndarray,
                        grad_out * (0.5 * (1 + self.t) + 0.5 * z * (1 - self.t * self.t) * du))
        phi = np.exp(-0.5 * z * z) * (1 / math.sqrt(2 * math.pi))       # (B, d) normal density
        return cast(np.ndarray, grad_out * (self.Phi + z * phi))         # (B, d)

    def __repr__(self) -> str:
        return f"GELU(approximate={self.approximate!r})"


class SiLU(Activation):
    """SiLU, also called Swish: a = z σ(z); f'(z) = σ + z σ (1 - σ)."""

    name = "silu"
    label = "SiLU"
    caches = ("z", "s")
    z: np.ndarray      # (B, d), set by forward
    s: np.ndarray      # (B, d), set by forward

    def forward(self, z: np.ndarray, training: bool = True) -> np.ndarray:
        self.z = z                                  # (B, d)
        self.s = sigmoid(z)                         # (B, d)
        return cast(np.ndarray, z * self.s)         # (B, d)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        s = self.s
        return cast(np.ndarray, grad_out * (s * (1 + self.z * (1 - s))))   # (B, d)


Swish = SiLU


class Identity(Activation):
    """f(z) = z: the linear output of a regression network."""

    name = "identity"
    label = "Linear"

    def forward(self, z: np.ndarray, training: bool = True) -> np.ndarray:
        return z

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return grad_out


class Softmax(Activation):
    """p = e^z / Σ_j e^z_j by row, computed with the row maximum subtracted.

    Alone, its backward is the Jacobian-vector product
    dL/dz_i = p_i (g_i - Σ_j g_j p_j). In an MLP it is fused with
    cross-entropy instead, where the product collapses to (p - y) / B; the
    forward pass keeps log Σ e^z (lse) so the loss, lse - z_y, needs no log(p).
    """

    name = "softmax"
    label = "Softmax"
    hidden = False                 # an output: fused with cross-entropy
    caches = ("a", "lse")
    a: np.ndarray      # (B, K), set by forward
    lse: np.ndarray    # (B, 1), set by forward

    def forward(self, z: np.ndarray, training: bool = True) -> np.ndarray:
        zmax = z.max(axis=1, keepdims=True)                       # (B, 1)
        e: np.ndarray = np.exp(z - zmax)                          # (B, K), entries in (0, 1]
        total = e.sum(axis=1, keepdims=True)                      # (B, 1) ≥ 1
        e /= total                                                # (B, K) in place: e becomes p
        self.lse = zmax + np.log(total)                           # (B, 1) log Σ e^z, for the loss
        self.a = e
        return e

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        p = self.a
        return cast(np.ndarray, p * (grad_out - (grad_out * p).sum(axis=1, keepdims=True)))  # (B, K)


# what names an activation: "relu", {"name": "leaky_relu", "alpha": 0.2}, an instance, or None
ActivationSpec: TypeAlias = "str | dict[str, Any] | Activation | None"

# The one table of activation names: the command line's choices, the twins' lookups, the
# page's options and the tests' parametrization all read it. Adding an activation is a class
# above (with its name and label) and a line here, then its line in each twin.
ACTIVATIONS: dict[str, Callable[..., Activation]] = {
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "gelu": GELU,
    "gelu_tanh": lambda: GELU(approximate="tanh"),
    "silu": SiLU,
    "identity": Identity,
    "softmax": Softmax,
}
ACTIVATION_ALIASES = {"swish": "silu"}     # other spellings accepted wherever a name is


def activation_names(hidden: bool = False) -> list[str]:
    """The activations' names, in table order (no aliases); ``hidden=True``: only those a
    hidden layer may use (not softmax)."""
    return [name for name in ACTIVATIONS if not hidden or ACTIVATIONS[name]().hidden]


def activation_label(name: str) -> str:
    """How a page shows an activation: activation_label("leaky_relu") == "Leaky ReLU"."""
    return get_activation(name).label


def get_activation(spec: ActivationSpec) -> Activation:
    """An activation from a name ("relu"), a dict ({"name": "leaky_relu", "alpha": 0.2}),
    an Activation instance (returned as is) or None (identity)."""
    if spec is None:
        return Identity()
    if isinstance(spec, Activation):
        return spec
    settings: dict[str, Any] = {}
    if isinstance(spec, dict):
        settings = {k: v for k, v in spec.items() if k != "name"}
        spec = spec.get("name")
    key = spec.lower() if isinstance(spec, str) else None
    key = ACTIVATION_ALIASES.get(key, key) if key is not None else None
    if key not in ACTIVATIONS:
        raise ValueError(f"unknown activation {spec!r}; valid names: {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[key](**settings)
