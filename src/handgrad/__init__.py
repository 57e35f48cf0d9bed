"""handgrad: a multi-layer perceptron with every gradient derived by hand in NumPy.

    from handgrad import MLP
    model = MLP([784, 256, 10], ["relu", "softmax"], seed=0)
    losses = model.fit(X, y, epochs=5, lr=0.1, batch_size=128)

``import handgrad`` needs NumPy alone; PyTorch, MLX, scikit-learn and
matplotlib are optional and imported only where they are used.

The package is built in floors; a module imports only from its own floor or
below. ``FLOORS`` below is the one table of them (tests/test_layering.py reads it).
"""

from .autograd import Tensor
from .check import GradcheckReport, Trace, gradcheck, held_bytes, trace
from .engine.value import Value
from .history import DivergenceError, History
from .mlp import MLP, Layer
from .nn import (
    FFN,
    GELU,
    INITIALIZERS,
    BatchNorm1d,
    Dropout,
    Identity,
    LayerNorm,
    LeakyReLU,
    Linear,
    Module,
    ReLU,
    RMSNorm,
    Sigmoid,
    SiLU,
    Softmax,
    SwiGLU,
    Swish,
    Tanh,
    binary_cross_entropy,
    cross_entropy,
    get_activation,
    gpt2_normal,
    he_normal,
    he_uniform,
    log_softmax,
    mse,
    softmax,
    xavier_normal,
    xavier_uniform,
)
from .optim import SGD, Adam, AdamW, Cosine, StepDecay, Warmup, clip_grad_norm
from .perceptron import Perceptron
from .train import train

__version__ = "0.1.0"

# The floors of the house: a module imports only from its own floor or below, never from
# above (not even inside a function), and no modules import each other in a circle.
# tests/test_layering.py reads this table; a module not named here is on its package's floor.
FLOORS = {
    # 1: the hand-written primitives (every Module, activation, loss, norm, Dropout, init),
    #    the optimizers and schedules, the scalar Value and the Tensor autograd engines
    "handgrad.nn": 1, "handgrad.optim": 1, "handgrad.engine": 1, "handgrad.autograd": 1,
    # 2: datasets, pictures, the one training loop and what it records, checkpoints: written
    #    against the Module contract and the optimizers, naming no model class
    "handgrad.data": 2, "handgrad.plot": 2, "handgrad.train": 2, "handgrad.history": 2,
    "handgrad.io": 2, "handgrad.images": 2,
    # 3: the seed API (Layer, MLP) and Rosenblatt's perceptron
    "handgrad.mlp": 3, "handgrad.perceptron": 3,
    # 4: gradient checking and tracing; the PyTorch and MLX twins, each with its backend's
    #    adapter; and the package itself, which re-exports floors 1 to 4
    "handgrad.check": 4, "handgrad.twins": 4, "handgrad": 4,
    # 5: estimators, named recipes, side-by-side runs, the lessons' claims as experiments,
    #    the lessons' exercises and their checker, data-parallel training
    "handgrad.sklearn": 5, "handgrad.recipes": 5, "handgrad.compare": 5, "handgrad.lab": 5,
    "handgrad.learn": 5, "handgrad.distributed": 5,
    # 6: the command line; the local web server and its page
    "handgrad.cli": 6, "handgrad.playground": 6, "handgrad.__main__": 6,
}

__all__ = [
    "MLP", "Layer", "Linear", "Module", "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "GELU", "SiLU",
    "Swish", "Identity", "Softmax", "get_activation", "softmax", "log_softmax", "cross_entropy",
    "binary_cross_entropy", "mse", "he_normal", "he_uniform", "xavier_normal", "xavier_uniform",
    "gpt2_normal", "INITIALIZERS", "Dropout", "BatchNorm1d", "LayerNorm", "RMSNorm", "FFN",
    "SwiGLU", "SGD", "Adam", "AdamW", "StepDecay", "Cosine", "Warmup", "clip_grad_norm",
    "gradcheck", "trace", "held_bytes", "GradcheckReport", "Trace", "train", "History",
    "DivergenceError", "Value", "Tensor", "Perceptron", "__version__",
]
