"""Each family of names is declared once, in a registry beside its primitives, and every other
place reads it: the command line's choices, the twins' lookups, the tests' parametrization.

The last tests register a new activation (softplus) and a new optimizer (RMSprop) here, with
their twin lines, and find each wherever names are offered — touching no other file. A place
that comes to read a registry joins ``activation_places`` / ``optimizer_places`` with one line.
"""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import handgrad as hg
from handgrad.cli import Names, main
from handgrad.nn import (
    ACTIVATION_ALIASES,
    ACTIVATIONS,
    LOSSES,
    NORMS,
    Activation,
    activation_label,
    activation_names,
    get_activation,
    loss_names,
    norm_names,
    sigmoid,
)
from handgrad.optim import (
    OPTIMIZERS,
    SCHEDULES,
    Optimizer,
    make_optimizer,
    optimizer_class,
    optimizer_names,
    schedule_names,
)
from handgrad.twins import BACKENDS, TWINS, backend_names

ROOT = Path(__file__).resolve().parents[1]


def twin(backend):
    pytest.importorskip({"torch": "torch", "mlx": "mlx.core"}[backend],
                        reason=f"{backend} is not installed")
    from handgrad.twins import twin_module
    return twin_module(backend)


# --- the registries themselves -----------------------------------------------------------------

def test_each_family_lists_its_names_once_with_a_label():
    assert activation_names() == list(ACTIVATIONS) and "swish" not in activation_names()
    assert "softmax" not in activation_names(hidden=True)
    assert get_activation("swish").key == ACTIVATION_ALIASES["swish"] == "silu"
    assert activation_label("leaky_relu") == "Leaky ReLU"
    assert activation_label("gelu_tanh") != activation_label("gelu")
    assert all(get_activation(n).label and get_activation(n).key == n for n in activation_names())
    assert loss_names() == list(LOSSES) and all(LOSSES[n].label for n in loss_names())
    assert norm_names() == list(NORMS) and all(NORMS[n].label for n in norm_names())
    assert all(OPTIMIZERS[n].label for n in optimizer_names())
    assert all(SCHEDULES[n].label for n in schedule_names())
    assert backend_names() == list(BACKENDS) and backend_names()[0] == "numpy"
    assert list(TWINS) == backend_names()[1:]


def test_momentum_and_nesterov_are_named_settings_of_sgd():
    assert optimizer_class("momentum") is optimizer_class("nesterov") is hg.SGD
    m, n = make_optimizer("momentum", 0.1), make_optimizer("nesterov", 0.1, momentum=0.5)
    assert (m.momentum, m.nesterov) == (0.9, False) and (n.momentum, n.nesterov) == (0.5, True)
    assert make_optimizer("adam", 0.1, momentum=0.9).betas == (0.9, 0.999)   # SGD's, ignored
    with pytest.raises(TypeError, match="no optimizer takes momentom"):
        make_optimizer("sgd", 0.1, momentom=0.9)
    with pytest.raises(ValueError, match="valid names: sgd, momentum, nesterov, adam, adamw"):
        make_optimizer("adm", 0.1)


def cli_choices(what):
    """{'command --option': names} for every option of the command line that offers ``what``."""
    return {f"{name} {p.opts[0]}": set(p.type.choices) for name, command in main.commands.items()
            for p in getattr(command, "params", []) if isinstance(p.type, Names)
            and p.type.what == what}


@pytest.mark.parametrize("what, names", [
    ("activation", activation_names), ("loss", loss_names), ("norm", norm_names),
    ("optimizer", optimizer_names), ("schedule", schedule_names), ("backend", backend_names)])
def test_the_command_line_offers_exactly_the_registered_names(what, names):
    offered = cli_choices(what)
    assert offered, f"no option offers a {what}"
    for option, choices in offered.items():
        assert choices - {"none"} == set(names()), option


@pytest.mark.parametrize("backend", list(TWINS))
def test_every_registered_name_has_its_twin_line(backend):
    module = twin(backend)
    assert set(activation_names()) <= set(module.ACTIVATIONS)
    assert set(norm_names()) <= set(module.NORMS)
    assert set(loss_names()) <= set(module.LOSSES)
    assert {optimizer_class(n).name for n in optimizer_names()} <= set(module.OPTIMIZERS)


# --- a new activation and a new optimizer, registered here and found everywhere ----------------

class Softplus(Activation):
    """softplus(z) = log(1 + e^z), computed as logaddexp(0, z); f'(z) = σ(z)."""

    name, label = "softplus", "Softplus"
    caches = ("z",)

    def forward(self, z, training=True):
        self.z = z                                  # (B, d)
        return np.logaddexp(0, z)                   # (B, d)

    def backward(self, grad_out):
        return grad_out * sigmoid(self.z)           # (B, d)


class RMSprop(Optimizer):
    """v ← αv + (1 - α)g², θ ← θ - lr·g / (√v + ε), as torch.optim.RMSprop (no momentum)."""

    name, label = "rmsprop", "RMSprop"
    hyper = ("alpha", "eps")

    def __init__(self, lr=0.01, alpha=0.99, eps=1e-8):
        super().__init__(lr)
        self.alpha, self.eps = alpha, eps

    def update(self, name, p, g):
        v = self.slot(name, "v", p)
        v *= self.alpha
        v += (1 - self.alpha) * g * g                        # (…)
        p -= self.lr * g / (np.sqrt(v) + self.eps)           # (…)


def register(setitem):
    """Put softplus and RMSprop in the registries, and their lines in each installed twin."""
    setitem(ACTIVATIONS, "softplus", Softplus)
    setitem(OPTIMIZERS, "rmsprop", RMSprop)
    try:
        import torch

        from handgrad.twins import torch_mlp
        setitem(torch_mlp.ACTIVATIONS, "softplus", lambda act: torch.nn.Softplus())
        setitem(torch_mlp.OPTIMIZERS, "rmsprop", lambda params, o: torch.optim.RMSprop(
            params, lr=o.lr, alpha=o.alpha, eps=o.eps))
        setitem(torch_mlp.SLOTS, "square_avg", "v")
    except ImportError:
        pass
    try:
        import mlx.nn
        import mlx.optimizers

        from handgrad.twins import mlx_mlp
        setitem(mlx_mlp.ACTIVATIONS, "softplus", lambda act: mlx.nn.softplus)
        setitem(mlx_mlp.OPTIMIZERS, "rmsprop", lambda o: mlx_mlp.TwinOptimizer(
            mlx.optimizers.RMSprop(o.lr, alpha=o.alpha, eps=o.eps)))
        setitem(mlx_mlp.SLOTS, "rmsprop", {"v": "v"})
    except ImportError:
        pass


def installed_twins():
    found = []
    for backend in TWINS:
        try:
            __import__({"torch": "torch", "mlx": "mlx.core"}[backend])
            found.append(backend)
        except ImportError:
            pass
    return found


def activation_places():
    """Where activation names are offered, each read now."""
    places = {f"command line: {option}": names
              for option, names in cli_choices("activation").items()}
    places["hidden layers"] = set(activation_names(hidden=True))
    for backend in installed_twins():
        places[f"{backend} twin"] = set(twin(backend).ACTIVATIONS)
    return places


def optimizer_places():
    """Where optimizer names are offered, each read now."""
    places = {f"command line: {option}": names
              for option, names in cli_choices("optimizer").items()}
    for backend in installed_twins():
        places[f"{backend} twin"] = set(twin(backend).OPTIMIZERS)
    return places


def test_a_new_activation_and_optimizer_are_offered_everywhere(monkeypatch):
    register(monkeypatch.setitem)
    for place, names in activation_places().items():
        assert "softplus" in names, place
    for place, names in optimizer_places().items():
        assert "rmsprop" in names, place
    opt = make_optimizer("rmsprop", 0.01, alpha=0.9)
    assert opt.alpha == 0.9 and activation_label("softplus") == "Softplus"


def run(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.output


def test_a_new_activation_and_optimizer_train_from_the_command_line(monkeypatch):
    register(monkeypatch.setitem)
    code, out = run("gradcheck", "--activation", "softplus", "--loss", "mse")
    assert code == 0 and "passed" in out, out
    for backend in ["numpy", *installed_twins()]:
        code, out = run("train", "--dataset", "blobs", "--epochs", "2", "--activation",
                        "softplus", "--optimizer", "rmsprop", "--lr", "0.01", "--quiet",
                        "--backend", backend)
        assert code == 0 and "test accuracy" in out, (backend, out)


@pytest.mark.slow
def test_the_parity_and_gradcheck_tests_take_a_new_name_unchanged():
    """With softplus and RMSprop registered before collection, the gradient checks and the
    parity tests collect them and pass, though their files name neither."""
    code = ("import sys, pytest; sys.path.insert(0, 'tests'); import test_registries as t; "
            "t.register(lambda d, k, v: d.__setitem__(k, v)); "
            "sys.exit(pytest.main(['-q', '-p', 'no:cacheprovider', '-k', 'softplus or rmsprop', "
            "'tests/test_activations.py', 'tests/test_mlp.py', 'tests/test_parity.py']))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    passed = int(result.stdout.split(" passed")[0].split()[-1])
    twins = installed_twins()
    # gradcheck ×1, float32 ×1, trains ×1; parity: softplus and rmsprop on each twin case
    cases = {"torch": 1, "mlx": 2}
    assert passed == 3 + 2 * sum(cases[b] for b in twins), result.stdout
