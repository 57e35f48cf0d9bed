"""Floor 1: the hand-written primitives, each a Module (see module.py)."""

from .activations import (
    ACTIVATIONS,
    GELU,
    Activation,
    Identity,
    LeakyReLU,
    ReLU,
    Sigmoid,
    SiLU,
    Softmax,
    Swish,
    Tanh,
    get_activation,
    sigmoid,
)
from .blocks import FFN, SwiGLU
from .dropout import Dropout
from .init import (
    INITIALIZERS,
    as_generator,
    gpt2_normal,
    he_normal,
    he_uniform,
    init_weight,
    standard_normal,
    xavier_normal,
    xavier_uniform,
)
from .linear import Linear
from .losses import LOSSES, binary_cross_entropy, cross_entropy, log_softmax, mse, softmax
from .module import Module
from .norms import NORMS, BatchNorm1d, LayerNorm, RMSNorm, get_norm
from .sparse import SparseLinear

__all__ = [
    "ACTIVATIONS", "GELU", "Activation", "Identity", "LeakyReLU", "ReLU", "SiLU", "Sigmoid",
    "Softmax", "Swish", "Tanh", "get_activation", "sigmoid", "FFN", "SwiGLU", "Dropout",
    "INITIALIZERS", "as_generator", "gpt2_normal", "he_normal", "he_uniform", "init_weight",
    "standard_normal", "xavier_normal", "xavier_uniform", "Linear", "LOSSES",
    "binary_cross_entropy", "cross_entropy", "log_softmax", "mse", "softmax", "Module", "NORMS",
    "BatchNorm1d", "LayerNorm", "RMSNorm", "get_norm", "SparseLinear",
]
