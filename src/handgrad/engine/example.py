"""The lesson's example graph, L = relu(a·b + c), and a printable account of any graph: each
node's value, gradient and how it was made (``handgrad engine`` prints it)."""

from __future__ import annotations

from .draw import short
from .value import RULES, Value, topological_order


def example_graph(a: float = 2.0, b: float = -3.0, c: float = 10.0, *,
                  backward: bool = True) -> Value:
    """The lesson's graph: d = a·b, e = d + c, L = relu(e), each node labelled as the lesson
    names it; after ``L.backward()`` unless ``backward=False``.

    With the lesson's a = 2, b = -3, c = 10: L = relu(2·(-3) + 10) = 4; dL/de = dL/dd = dL/dc
    = 1, dL/da = b = -3, dL/db = a = 2.
    """
    a_, b_, c_ = Value(a, "a"), Value(b, "b"), Value(c, "c")
    d = a_ * b_
    d.label = "d"
    e = d + c_
    e.label = "e"
    L = e.relu()
    L.label = "L"
    if backward:
        L.backward()
    return L


def describe(root: Value) -> str:
    """Printable text: each node's value, gradient and how it was made, in topological order."""
    order = topological_order(root)
    names = {id(v): v.label or f"#{i}" for i, v in enumerate(order)}
    rows = [("node", "made by", "data", "grad")]
    for v in order:
        made = f"{v.op}({', '.join(names[id(p)] for p in v.parents)})" if v.op else "leaf"
        rows.append((names[id(v)], made, short(v.data), short(v.grad)))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = ["  ".join(c.ljust(w) if i < 2 else c.rjust(w)
                       for i, (c, w) in enumerate(zip(r, widths))) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append("")
    lines.append("topological order (leaves first): " + " -> ".join(names[id(v)] for v in order))
    lines.append("backward visits it in reverse; local rules:")
    for op in dict.fromkeys(v.op for v in order if v.op):
        lines.append(f"  {op:>7}: {RULES[op]}")
    return "\n".join(lines)
