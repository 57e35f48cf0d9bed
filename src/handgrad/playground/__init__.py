"""The playground: a local web page that trains handgrad's own networks live.

    handgrad playground                 # or: from handgrad.playground import serve; serve()

Four views (declared once, in ``views.VIEWS``): the playground (pick data, stack
layers, watch the decision boundary and every neuron form), an optimizer race (any
of handgrad's optimizers from the same start), backprop step by step through a
2 → 4 → 3 network, and a scalar-engine graph stepped forward and backward. Served,
every number the page shows is computed by handgrad's NumPy in the server; exported
(``export_static``), the page trains in the browser with handgrad's JavaScript twin.

The server needs the ``playground`` extra (Starlette, uvicorn, websockets,
python-multipart): ``pip install 'handgrad[playground]'``. ``import handgrad``
never imports it.
"""

from pathlib import Path
from typing import Any


def serve(host: str = "127.0.0.1", port: int = 0, open_browser: bool = True, **options: Any) -> None:
    """Start the server (see ``handgrad.playground.server.serve``)."""
    from .server import serve as run
    return run(host, port, open_browser, **options)


def export_static(directory: str | Path, **options: Any) -> Path:
    """Write the whole page as static files, training in the browser (see ``export``)."""
    from .export import export_static as write
    return write(directory, **options)


__all__ = ["serve", "export_static"]
