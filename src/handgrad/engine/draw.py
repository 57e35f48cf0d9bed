"""Pictures of a ``Value``'s graph: Graphviz DOT text, and with the ``graphviz`` package an
SVG, PNG or PDF."""

from __future__ import annotations

import os
from pathlib import Path

from .value import Value, topological_order


def short(x: float) -> str:
    """A number as the pictures and the printed tables show it."""
    return f"{x:.4f}" if 1e-3 <= abs(x) < 1e5 or x == 0 else f"{x:.4g}"


def _escape(text: str) -> str:
    """Text safe inside a DOT record label."""
    for ch in '\\"{}|<>':
        text = text.replace(ch, "\\" + ch)
    return text


def to_dot(root: Value, rankdir: str = "LR") -> str:
    """The graph of ``root`` as Graphviz DOT text: one record per value (label, data, grad),
    one small node per operation, edges from inputs to operation to result. A value
    used twice has two edges into the operation."""
    order = topological_order(root)
    index = {id(v): i for i, v in enumerate(order)}
    lines = ["digraph engine {", f"  rankdir={rankdir};",
             '  node [shape=record, fontname="Helvetica", fontsize=11];']
    for i, v in enumerate(order):
        name = _escape(v.label) + " | " if v.label else ""
        lines.append(f'  v{i} [label="{{ {name}data {short(v.data)} | grad {short(v.grad)} }}"];')
        if v.op:
            lines.append(f'  v{i}_op [label="{_escape(v.op)}", shape=circle, width=0.4];')
            lines.append(f"  v{i}_op -> v{i};")
            lines += [f"  v{index[id(p)]} -> v{i}_op;" for p in v.parents]
    lines.append("}")
    return "\n".join(lines) + "\n"


def draw(root: Value, out: str | os.PathLike[str] | None = None, rankdir: str = "LR") -> str:
    """The graph of ``root`` as DOT text; with ``out``, also written to that file.

    ``.dot`` / ``.gv`` files are the text itself (nothing to install); ``.svg``,
    ``.png`` and ``.pdf`` are rendered by the ``graphviz`` Python package
    (``pip install 'handgrad[graph]'``) calling the Graphviz program ``dot``
    (``apt-get install graphviz`` or ``brew install graphviz``).
    """
    dot = to_dot(root, rankdir)
    if out is None:
        return dot
    path = Path(out)
    suffix = path.suffix.lower()
    if suffix in (".dot", ".gv"):
        path.write_text(dot)
        return dot
    if suffix not in (".svg", ".png", ".pdf"):
        raise ValueError(f"cannot draw to {path.name!r}: use a .svg, .png, .pdf or .dot file")
    try:
        import graphviz
    except ImportError:
        raise ImportError("drawing to .svg/.png needs the graphviz package: pip install "
                          "'handgrad[graph]' (and the Graphviz program: apt-get install graphviz); "
                          "a .dot file needs neither") from None
    try:
        picture = graphviz.Source(dot).pipe(format=suffix[1:])
    except graphviz.ExecutableNotFound:
        raise RuntimeError("the Graphviz program `dot` is not installed: apt-get install graphviz "
                           "(or brew install graphviz); a .dot file needs no program") from None
    path.write_bytes(picture)
    return dot
