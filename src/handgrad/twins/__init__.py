"""Floor 4: the same MLP in PyTorch (``torch_mlp``) and MLX (``mlx_mlp``).

``BACKENDS`` is the one table of backend names (with each one's label); the twin of
backend ``name`` is the module ``handgrad.twins.{name}_mlp``, which ``twin_module(name)``
imports (and with it its framework) only when asked. "numpy" is handgrad's own MLP: it
needs no twin.

Each twin module owns the one adapter of its backend, ``Trainable``: the twin built from a
NumPy MLP, behind the interface ``handgrad.train.train`` drives (the MLP's own), which the
command line's ``--backend``, ``handgrad.compare``, the benchmarks and the estimators use.
``trainable(backend, model, optimizer)`` builds it and its optimizer.
"""

from importlib import import_module
from typing import Any

BACKENDS = {"numpy": "handgrad NumPy", "torch": "handgrad PyTorch twin",
            "mlx": "handgrad MLX twin"}
TWINS = {name: f"{name}_mlp" for name in BACKENDS if name != "numpy"}   # backend -> twin module


def backend_names() -> list[str]:
    """The backends' names, in table order: numpy first."""
    return list(BACKENDS)


def twin_module(backend: str) -> Any:
    """The twin module for ``backend`` ("torch" or "mlx"), imported now."""
    if backend not in TWINS:
        raise ValueError(f"unknown backend {backend!r}; valid names: {', '.join(BACKENDS)}")
    return import_module(f"{__name__}.{TWINS[backend]}")


def trainable(backend: str, model: Any, optimizer: Any, device: str = "cpu") -> tuple[Any, Any]:
    """(adapter, optimizer) that ``handgrad.train.train`` can drive, for any backend.

    ``model`` is the NumPy MLP whose spec and weights the twin copies (it keeps
    supplying the input checks and the shuffling generator); ``optimizer`` is a
    handgrad optimizer whose settings the framework optimizer takes. For "numpy"
    they come back as they are: the MLP is its own adapter.
    """
    if backend == "numpy":
        if device != "cpu":
            raise ValueError("the NumPy MLP runs on the CPU only")
        return model, optimizer
    adapter = twin_module(backend).Trainable(model, device)
    return adapter, adapter.optimizer(optimizer)
