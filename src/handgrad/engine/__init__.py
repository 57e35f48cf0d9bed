"""A scalar autograd engine: ``Value``, micrograd's idea, done right.

Every operation on a ``Value`` builds its output and, on the same lines, the
local derivative of that output with respect to each input:

    c = a * b       c.data = a.data * b.data       ∂c/∂a = b.data,  ∂c/∂b = a.data

The output keeps its inputs (``parents``), the name of the operation (``op``)
and those local derivatives (``local``). ``backward()`` then applies the chain
rule from the output back to every leaf, visiting the nodes in reverse
topological order, so a node's gradient is complete before it is passed on:

    parent.grad += local_derivative * node.grad      (for every edge node -> parent)

The ``+=`` is the multivariate chain rule: a value used in several places (a
weight shared by many neurons, or ``a * a``) receives the sum of the gradients
that come back along each use. ``RULES`` writes each operation's rule out as a
line of code.

What this engine does that the small teaching engines do not:

- a node used twice gets both gradients (``a + a`` has gradient 2);
- the topological sort is iterative, so a chain of 100,000 operations works;
- ``backward()`` twice behaves as PyTorch's does: leaf gradients accumulate
  (2x after two calls), intermediate gradients are recomputed, not doubled;
  ``zero_grad()`` resets every gradient in the graph;
- ``log`` of a number <= 0, a negative base to a fractional power, division by
  zero and any result or gradient that is not finite raise a ``ValueError``
  naming the operation, instead of a silent NaN.

Numbers are Python floats (float64). The package has one module a job:

    value     Value, its local rules (RULES) and the backward pass
    draw      the graph as Graphviz DOT text, or a picture (to_dot, draw)
    example   the lesson's graph and a printable account of a graph (example_graph, describe)
    mlp       the lesson's network of Values: Neuron, Layer, MLP with fit, and its losses

    from handgrad.engine import Value
    a, b = Value(2.0, "a"), Value(-3.0, "b")
    L = (a * b + 10).relu()
    L.backward()
    a.grad, b.grad          # (-3.0, 2.0)
"""

from .draw import draw, to_dot
from .example import describe, example_graph
from .mlp import MLP, Layer, Neuron
from .value import RULES, Value, propagate, topological_order

__all__ = ["Value", "RULES", "topological_order", "propagate", "draw", "to_dot",
           "example_graph", "describe", "MLP", "Layer", "Neuron"]
