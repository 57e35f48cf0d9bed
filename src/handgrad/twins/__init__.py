"""Floor 3: the same MLP in PyTorch (``torch_mlp``) and MLX (``mlx_mlp``).

``trainable(backend, model, optimizer)`` wraps a twin and its framework
optimizer so that ``handgrad.train.train`` drives them like the NumPy MLP:
the command line's ``--backend torch|mlx`` goes through it.
"""


def trainable(backend, model, optimizer, device="cpu"):
    """(twin model, twin optimizer) that ``handgrad.train.train`` can drive.

    ``model`` is the NumPy MLP whose spec and weights the twin copies (it keeps
    supplying the input checks and the shuffling generator); ``optimizer`` is a
    handgrad optimizer whose settings the framework optimizer takes.
    """
    if backend == "torch":
        from .torch_mlp import Trainable, TrainableOptimizer
    elif backend == "mlx":
        from .mlx_mlp import Trainable, TrainableOptimizer
    else:
        raise ValueError(f"unknown backend {backend!r}; valid names: numpy, torch, mlx")
    twin = Trainable(model, device)
    return twin, TrainableOptimizer(twin, optimizer)
