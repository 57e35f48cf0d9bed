"""The floors of the house: a module never imports one on a higher floor (not even inside a
function), and no modules import each other in a circle. The floors are listed in the
package's docstring (``handgrad/__init__.py``) and in CONTRIBUTING.md."""

import ast
from pathlib import Path

import pytest

import handgrad

SRC = Path(handgrad.__file__).resolve().parent

FLOORS = {
    "handgrad.nn": 1, "handgrad.optim": 1, "handgrad.engine": 1, "handgrad.autograd": 1,
    "handgrad.data": 2, "handgrad.plot": 2, "handgrad.train": 2, "handgrad.io": 2,
    "handgrad.history": 2, "handgrad.images": 2,
    "handgrad.mlp": 3, "handgrad.perceptron": 3,
    "handgrad.check": 4, "handgrad.twins": 4,
    "handgrad.sklearn": 5, "handgrad.recipes": 5, "handgrad.compare": 5, "handgrad.lab": 5,
    "handgrad.distributed": 5, "handgrad.learn": 5,
    "handgrad.cli": 6, "handgrad.playground": 6, "handgrad.__main__": 6,
    "handgrad": 4,     # the package itself re-exports floors 1 to 4
}


def module_name(path):
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def floor(name):
    """The floor of a module: its own entry or its package's."""
    while name not in FLOORS:
        if "." not in name:
            raise KeyError(name)
        name = name.rsplit(".", 1)[0]
    return FLOORS[name]


def imports(path, me=None):
    """Every handgrad module ``path`` imports, anywhere in the file (functions included)."""
    me = me or module_name(path)
    package = me if path.name == "__init__.py" else me.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "handgrad"}
        elif isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(node.level - 1):
                base = base.rsplit(".", 1)[0]
            target = (f"{base}.{node.module}" if node.module else base) if node.level else node.module
            if not target or target.split(".")[0] != "handgrad":
                continue
            for alias in node.names:      # `from . import optim` imports the module handgrad.optim
                sub = f"{target}.{alias.name}"
                is_module = (SRC.parent / Path(*sub.split("."))).with_suffix(".py").is_file() or \
                    (SRC.parent / Path(*sub.split("."))).is_dir()
                found.add(sub if is_module else target)
    found.discard(me)
    return found


GRAPH = {module_name(p): imports(p) for p in sorted(SRC.rglob("*.py"))}


def test_every_module_has_a_floor():
    missing = [m for m in GRAPH if not _has_floor(m)]
    assert not missing, f"add these modules to a floor: {missing}"


def _has_floor(name):
    try:
        floor(name)
        return True
    except KeyError:
        return False


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_no_import_points_up(module):
    up = sorted(t for t in GRAPH[module] if floor(t) > floor(module))
    assert not up, (f"{module} (floor {floor(module)}) imports "
                    + ", ".join(f"{t} (floor {floor(t)})" for t in up))


def test_no_import_circles():
    """Depth-first search for a back edge; ignores a package's edge to its own __init__."""
    def edges(m):
        return [t for t in GRAPH.get(m, ()) if t in GRAPH and not m.startswith(t + ".")]

    state, stack_path = {}, []

    def visit(m):
        state[m] = "open"
        stack_path.append(m)
        for t in edges(m):
            if state.get(t) == "open":
                cycle = stack_path[stack_path.index(t):] + [t]
                raise AssertionError("import circle: " + " -> ".join(cycle))
            if t not in state:
                visit(t)
        stack_path.pop()
        state[m] = "done"

    for m in GRAPH:
        if m not in state:
            visit(m)


def test_the_checker_sees_imports_hidden_in_functions(tmp_path):
    fake = tmp_path / "probe.py"
    fake.write_text("def f():\n    from ..cli import main\n    from . import losses\n")
    found = imports(fake, me="handgrad.nn.probe")
    assert found == {"handgrad.cli", "handgrad.nn.losses"}
    assert floor("handgrad.cli") > floor("handgrad.nn.probe")
