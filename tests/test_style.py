"""The house rules, kept by the test command: ruff's lint over the whole repository (the notebooks
and the book's hooks included), mypy --strict over the whole package, and type hints on every
public function and method.

The settings live in pyproject.toml ([tool.ruff], [tool.mypy]). ruff lints only: the code keeps
its own layout, shape comments aligned, so ``ruff format`` is not part of the rules.
"""

import importlib.util
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

import handgrad

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = Path(handgrad.__file__).resolve().parent


def run_tool(module, *args):
    """``python -m module args`` from the project root, or a skip when the tool is missing."""
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed: pip install {module} "
                    "(or pip install 'handgrad[test]')")
    return subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT,
                          capture_output=True, text=True, check=False)


def test_ruff_finds_nothing():
    result = run_tool("ruff", "check", "--no-fix", "--output-format", "concise", ".")
    assert result.returncode == 0, (
        "ruff check found problems (`ruff check --fix` sorts imports; "
        "the rest is by hand):\n" + result.stdout + result.stderr)


@pytest.mark.slow
def test_mypy_finds_nothing():
    result = run_tool("mypy", "--config-file", str(ROOT / "pyproject.toml"))
    assert result.returncode == 0, "mypy found problems:\n" + result.stdout + result.stderr


def test_package_says_it_is_typed():
    """PEP 561: the marker file tells mypy and editors to read handgrad's own hints."""
    assert (PACKAGE / "py.typed").is_file()


def public_callables(obj):
    """(qualified name, function) for a function, or for a class: the public methods,
    ``__init__`` and properties it defines or inherits from a class of the same package."""
    if inspect.isfunction(obj):
        return [(obj.__qualname__, obj)]
    package = obj.__module__.split(".")[0]
    found = []
    for cls in obj.__mro__:
        if cls.__module__.split(".")[0] != package:
            continue
        for name, member in vars(cls).items():
            if name.startswith("_") and name != "__init__":
                continue
            if isinstance(member, (classmethod, staticmethod)):
                member = member.__func__
            elif isinstance(member, property):
                member = member.fget
            if inspect.isfunction(member):
                found.append((f"{cls.__qualname__}.{name}", member))
    return found


def unannotated(fn):
    """The parameters (and 'return') of ``fn`` that carry no type hint."""
    sig = inspect.signature(fn)
    missing = [p.name for i, p in enumerate(sig.parameters.values())
               if p.annotation is inspect.Parameter.empty
               and not (i == 0 and p.name in ("self", "cls"))]
    if sig.return_annotation is inspect.Signature.empty:
        missing.append("return")
    return missing


def test_every_export_of_handgrad_is_annotated():
    """Everything ``import handgrad`` offers has hints on its parameters and return value."""
    gaps = {}
    for name in handgrad.__all__:
        obj = getattr(handgrad, name)
        if not (inspect.isfunction(obj) or inspect.isclass(obj)):
            continue
        for qualname, fn in public_callables(obj):
            missing = unannotated(fn)
            if missing:
                gaps[qualname] = missing
    assert not gaps, f"public functions without type hints: {gaps}"


def test_the_checker_sees_a_missing_hint():
    """The check above is not vacuous: an unannotated function and method are caught."""

    def bare(x, y=1):
        return x

    class Bare:
        def __init__(self, n):
            self.n = n

        @property
        def size(self):
            return self.n

    assert unannotated(bare) == ["x", "y", "return"]
    found = {qualname.split(".")[-1]: unannotated(fn) for qualname, fn in public_callables(Bare)}
    assert found == {"__init__": ["n", "return"], "size": ["return"]}
