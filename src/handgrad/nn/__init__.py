"""Floor 1: the hand-written primitives, each a Module (see module.py)."""

from .activations import (
    ACTIVATION_ALIASES,
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
    activation_label,
    activation_names,
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
    init_names,
    init_weight,
    standard_normal,
    xavier_normal,
    xavier_uniform,
)
from .keyed_dropout import KeyedDropout
from .linear import Linear
from .losses import (
    LOSS_ALIASES,
    LOSSES,
    Loss,
    binary_cross_entropy,
    cross_entropy,
    log_softmax,
    loss_names,
    mse,
    softmax,
)
from .module import Module
from .norms import NORMS, BatchNorm1d, LayerNorm, RMSNorm, get_norm, norm_names
from .penalties import PENALTIES, add_penalties, l1_penalty, l2_penalty
from .sparse import SparseLinear
from .sync_batchnorm import SyncBatchNorm

__all__ = [
    "ACTIVATIONS", "ACTIVATION_ALIASES", "activation_names", "activation_label", "GELU",
    "Activation", "Identity", "LeakyReLU", "ReLU", "SiLU", "Sigmoid", "Softmax", "Swish", "Tanh",
    "get_activation", "sigmoid", "FFN", "SwiGLU", "Dropout", "INITIALIZERS", "init_names",
    "as_generator", "gpt2_normal", "he_normal", "he_uniform", "init_weight", "standard_normal",
    "xavier_normal", "xavier_uniform", "Linear", "LOSSES", "LOSS_ALIASES", "Loss", "loss_names",
    "binary_cross_entropy", "cross_entropy", "log_softmax", "mse", "softmax", "Module", "NORMS",
    "norm_names", "BatchNorm1d", "LayerNorm", "RMSNorm", "get_norm", "KeyedDropout",
    "SyncBatchNorm", "PENALTIES", "add_penalties", "l1_penalty", "l2_penalty", "SparseLinear",
]
