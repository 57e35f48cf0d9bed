"""The graph view: the lesson's six nodes built by handgrad's scalar ``Value`` engine,

    a = 2,  b = −3,  c = 10,  d = a·b,  e = d + c,  L = relu(e)

stepped through forward (each node's value, leaves first, in the engine's
``topological_order``) and backward one node at a time: the seed ∂L/∂L = 1, then
``propagate(node)`` for each node in reverse order — the engine's own single step
of ``L.backward()``, which adds local derivative × node.grad to each parent's grad.
Every gradient shown is the engine's, read after each step. Hovering a node shows
its local backward rule as the engine writes it (``RULES[op]``) with the numbers.
"""

from .. import engine


def num(x):
    """A number as the page shows it: short, with a real minus sign."""
    return f"{x:g}".replace("-", "−")


def graph_steps():
    """Nodes (value, op, parents, rule, local derivatives, gradient) and every step."""
    root = engine.example_graph()
    order = engine.topological_order(root)                 # leaves first
    index = {id(v): i for i, v in enumerate(order)}
    label = [v.label or f"v{i}" for i, v in enumerate(order)]
    final = [float(v.grad) for v in order]                 # after example_graph's L.backward()

    root.zero_grad()
    root.grad = 1.0                                        # the seed: ∂L/∂L = 1
    backward = []
    for v in reversed(order):
        engine.propagate(v)                                # one step of the engine's backward
        adds = [{"parent": index[id(p)], "local": float(d), "out_grad": float(v.grad),
                 "add": float(d) * float(v.grad)} for p, d in zip(v.parents, v.local)]
        backward.append({"node": index[id(v)], "grads": [float(n.grad) for n in order],
                         "adds": adds, "text": _backward_text(v, label, adds, index)})

    nodes = []
    for i, v in enumerate(order):
        nodes.append({
            "id": i, "label": label[i], "op": v.op, "data": float(v.data), "grad": final[i],
            "parents": [index[id(p)] for p in v.parents], "local": [float(d) for d in v.local],
            "rule": engine.RULES.get(v.op, "") if v.op else "",
            "expr": _expression(v, label, index),
        })
    forward = [{"node": n["id"], "text": _forward_text(n, nodes)} for n in nodes]
    return {"type": "graph", "nodes": nodes, "root": index[id(root)],
            "forward": forward, "backward": backward}


def _expression(v, label, index):
    names = [label[index[id(p)]] for p in v.parents]
    me = label[index[id(v)]]
    if not v.op:
        return f"{me} = {num(v.data)}"
    if len(names) == 2:
        return f"{me} = {names[0]} {v.op} {names[1]}"
    return f"{me} = {v.op}({', '.join(names)})"


def _forward_text(node, nodes):
    if not node["op"]:
        return f"{node['label']} = {num(node['data'])}   (a leaf)"
    parts = ", ".join(f"{nodes[p]['label']} = {num(nodes[p]['data'])}" for p in node["parents"])
    return f"{node['expr']} = {num(node['data'])}   with {parts}"


def _backward_text(v, label, adds, index):
    me = label[index[id(v)]]
    text = f"∂L/∂{me} = {num(v.grad)}"
    if adds:
        text += "  →  " + ";  ".join(
            f"∂L/∂{label[a['parent']]} += {num(a['local'])} × {num(a['out_grad'])} = {num(a['add'])}"
            for a in adds)
    else:
        text += "   (a leaf: nothing to pass on)"
    return text
