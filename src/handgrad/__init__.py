"""handgrad: a multi-layer perceptron with every gradient derived by hand in NumPy.

    from handgrad import MLP
    model = MLP([784, 256, 10], ["relu", "softmax"], seed=0)
    losses = model.fit(X, y, epochs=5, learning_rate=0.1, batch_size=128)

``import handgrad`` needs NumPy alone; PyTorch, MLX, scikit-learn and
matplotlib are optional and imported only where they are used.

The package is built in floors; a module imports only from its own floor or
below (tests/test_layering.py keeps it so):

    1  nn, optim, engine, autograd         hand-written primitives, optimizers, autograd engines
    2  data, plot, train, history, io, images   datasets, pictures, the training loop, checkpoints
    3  mlp, perceptron                     the seed API and Rosenblatt's perceptron
    4  check, twins                        gradient checking and tracing; PyTorch and MLX twins
    5  sklearn, recipes, compare, lab, learn, distributed
    6  cli, playground
"""

from .autograd import Tensor
from .check import GradcheckReport, Trace, gradcheck, held_bytes, trace
from .engine import Value
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

__all__ = [
    "MLP", "Layer", "Linear", "Module", "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "GELU", "SiLU",
    "Swish", "Identity", "Softmax", "get_activation", "softmax", "log_softmax", "cross_entropy",
    "binary_cross_entropy", "mse", "he_normal", "he_uniform", "xavier_normal", "xavier_uniform",
    "gpt2_normal", "INITIALIZERS", "Dropout", "BatchNorm1d", "LayerNorm", "RMSNorm", "FFN",
    "SwiGLU", "SGD", "Adam", "AdamW", "StepDecay", "Cosine", "Warmup", "clip_grad_norm",
    "gradcheck", "trace", "held_bytes", "GradcheckReport", "Trace", "train", "History",
    "DivergenceError", "Value", "Tensor", "Perceptron", "__version__",
]
