"""Floor 4: the same MLP in PyTorch (``torch_mlp``) and MLX (``mlx_mlp``).

``TWINS`` is the one table of backend names; ``twin_module(name)`` imports a
twin (and with it its framework) only when asked. ``trainable(backend, model,
optimizer)`` wraps a twin and its framework optimizer so that
``handgrad.train.train`` drives them like the NumPy MLP: the command line's
``--backend torch|mlx`` goes through it.
"""

from importlib import import_module

TWINS = {"torch": "torch_mlp", "mlx": "mlx_mlp"}


def twin_module(backend):
    """The twin module for ``backend`` ("torch" or "mlx"), imported now."""
    if backend not in TWINS:
        raise ValueError(f"unknown backend {backend!r}; valid names: numpy, {', '.join(TWINS)}")
    return import_module(f"{__name__}.{TWINS[backend]}")


def trainable(backend, model, optimizer, device="cpu"):
    """(twin model, twin optimizer) that ``handgrad.train.train`` can drive.

    ``model`` is the NumPy MLP whose spec and weights the twin copies (it keeps
    supplying the input checks and the shuffling generator); ``optimizer`` is a
    handgrad optimizer whose settings the framework optimizer takes.
    """
    twin = twin_module(backend)
    model = twin.Trainable(model, device)
    return model, twin.TrainableOptimizer(model, optimizer)
