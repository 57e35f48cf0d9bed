"""scikit-learn's own tests of its MLPs, run against handgrad's estimators.

The file is read at test time from the installed scikit-learn
(``sklearn/neural_network/tests/test_mlp.py``) — it is never copied here — and
compiled with one line changed: the import of ``MLPClassifier`` and
``MLPRegressor`` comes from ``handgrad.sklearn``. Every test function in it
then runs here under its own name. The tests that reach into scikit-learn's
private internals are deselected (not collected), each with its reason
(``PRIVATE`` below); every other test must pass.
"""

import importlib.util
import types
from pathlib import Path

import pytest

pytest.importorskip("sklearn", reason="scikit-learn is not installed")

# scikit-learn's file trains for thousands of epochs in places: a minute or more on 2 cores
pytestmark = pytest.mark.slow

SPEC = importlib.util.find_spec("sklearn.neural_network.tests.test_mlp")
SOURCE = Path(SPEC.origin) if SPEC is not None and SPEC.origin else None
ORIGINAL = "from sklearn.neural_network import MLPClassifier, MLPRegressor"
OURS = "from handgrad.sklearn import MLPClassifier, MLPRegressor"

# Tests that call or set scikit-learn's private members; what each reaches for.
PRIVATE = {
    "test_gradient": "calls the private _loss_grad_lbfgs with scikit-learn's own buffers",
    "test_fit": "builds an unfitted estimator by hand from private attributes "
                "(_coef_grads, _coef_velocity, ...) and partial_fits it",
}


def load_scikit_learns_tests():
    """The module of scikit-learn's tests, compiled with handgrad's estimators imported."""
    if SOURCE is None or not SOURCE.is_file():
        pytest.skip("this scikit-learn ships without its tests (sklearn/neural_network/tests)",
                    allow_module_level=True)
    text = SOURCE.read_text()
    assert text.count(ORIGINAL) == 1, f"{SOURCE} no longer imports the estimators as expected"
    module = types.ModuleType("sklearn_test_mlp_on_handgrad")
    module.__file__ = str(SOURCE)
    exec(compile(text.replace(ORIGINAL, OURS), str(SOURCE), "exec"), module.__dict__)
    return module


THEIRS = load_scikit_learns_tests()
TESTS = sorted(name for name in vars(THEIRS) if name.startswith("test_"))
globals().update({name: getattr(THEIRS, name) for name in TESTS if name not in PRIVATE})


@pytest.fixture(params=[0, 1, 42])
def global_random_seed(request):
    """scikit-learn's fixture: its default seed (42), and two more."""
    return request.param


def test_the_estimators_are_handgrads():
    from handgrad import sklearn as ours
    assert THEIRS.MLPClassifier is ours.MLPClassifier
    assert THEIRS.MLPRegressor is ours.MLPRegressor
    assert set(PRIVATE) <= set(TESTS)
