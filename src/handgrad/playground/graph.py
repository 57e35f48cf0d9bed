"""The graph view: the lesson's six nodes built by handgrad's scalar ``Value`` engine,

    a = 2,  b = −3,  c = 10,  d = a·b,  e = d + c,  L = relu(e)

with the page's own a, b and c (so a learner can make e < 0 and watch the ReLU stop the
gradient), stepped through forward (each node's value, leaves first, in the engine's
``topological_order``) and backward one node at a time: the seed ∂L/∂L = 1, then
``propagate(node)`` for each node in reverse order — the engine's own single step of
``L.backward()``, which adds local derivative × node.grad to each parent's grad. Every
value and gradient sent is the engine's, read after each step; the page writes the texts.
"""

from collections.abc import Mapping
from typing import Any

from ..engine.example import example_graph
from ..engine.value import RULES, propagate, topological_order
from .checks import SettingError, number

DEFAULT_LEAVES = {"a": 2.0, "b": -3.0, "c": 10.0}
LIMIT = 1000.0              # each leaf within ±LIMIT


def check_leaves(query: dict[str, Any]) -> dict[str, float]:
    """{"a", "b", "c"} as numbers from a query (defaults: the lesson's 2, −3, 10)."""
    unknown = sorted(set(query) - set(DEFAULT_LEAVES))
    if unknown:
        raise SettingError(unknown[0], f"unknown setting {unknown[0]!r}; known: a, b, c")
    return {k: number(k, query.get(k, v), -LIMIT, LIMIT, k) for k, v in DEFAULT_LEAVES.items()}


def graph_steps(query: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Nodes (value, op, parents, local derivatives, rule) and every backward step's grads."""
    leaves = check_leaves(dict(query or {}))
    root = example_graph(**leaves, backward=False)
    order = topological_order(root)                        # leaves first
    index = {id(v): i for i, v in enumerate(order)}
    root.grad = 1.0                                        # the seed: ∂L/∂L = 1
    backward = []
    for v in reversed(order):
        propagate(v)                                       # one step of the engine's backward
        adds = [{"parent": index[id(p)], "local": float(d), "out_grad": float(v.grad),
                 "add": float(d) * float(v.grad)} for p, d in zip(v.parents, v.local)]
        backward.append({"node": index[id(v)], "grads": [float(n.grad) for n in order],
                         "adds": adds})
    nodes = [{"id": i, "label": v.label, "op": v.op, "data": float(v.data),
              "grad": float(v.grad), "parents": [index[id(p)] for p in v.parents],
              "local": [float(d) for d in v.local],
              "rule": RULES.get(v.op, "") if v.op else ""}
             for i, v in enumerate(order)]
    return {"type": "graph", "leaves": leaves, "limit": LIMIT, "nodes": nodes,
            "root": index[id(root)], "backward": backward}
