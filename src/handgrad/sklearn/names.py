"""The values the estimators' parameters take: scikit-learn's names, and handgrad's tables.

scikit-learn's own names keep scikit-learn's meaning ("sgd" and "adam" are its
update rules, "logistic" is the sigmoid); every other name comes from the table
that declares it — activations, optimizers, schedules, norms, backends — read
when a fit validates its parameters, so a name registered there is accepted here.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np
from sklearn.utils._param_validation import Interval, Options, StrOptions

from .. import optim
from ..nn.activations import ACTIVATION_ALIASES, activation_names
from ..nn.norms import norm_names
from ..twins import backend_names

# scikit-learn's own names, each with scikit-learn's meaning; handgrad's tables add theirs
SCIKIT_LEARN_SOLVERS = ("lbfgs", "sgd", "adam")      # "sgd" and "adam": scikit-learn's rules
SCIKIT_LEARN_RATES = ("constant", "invscaling", "adaptive")
SCIKIT_LEARN_WORDS = {"logistic": "sigmoid"}         # scikit-learn's activation -> handgrad's


def hidden_activations() -> set[str]:
    """What ``activation`` takes: scikit-learn's four names and every activation of
    handgrad's table a hidden layer may use (``nn.activation_names``), aliases included."""
    return ({*activation_names(hidden=True), *ACTIVATION_ALIASES, *SCIKIT_LEARN_WORDS})


def solvers() -> set[str]:
    """What ``solver`` takes: "lbfgs", scikit-learn's "sgd" and "adam", and every other name
    of handgrad's optimizer table (``optim.optimizer_names``: "adamw", "momentum", …)."""
    return {*SCIKIT_LEARN_SOLVERS, *optim.optimizer_names()}


def rates() -> set[str]:
    """What ``learning_rate`` takes: scikit-learn's three and handgrad's schedules."""
    return {*SCIKIT_LEARN_RATES, *optim.schedule_names()}


def stochastic(solver: str) -> bool:
    return solver != "lbfgs"


def parameter_constraints() -> dict[str, list[Any]]:
    """scikit-learn's constraints, with the names that handgrad's tables hold read now."""
    return {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(hidden_activations())],
        "solver": [StrOptions(solvers())],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions(rates())],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state", np.random.Generator],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left"), Options(Real, {np.inf})],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "norm": [StrOptions(set(norm_names())), None],
        "weight_decay": [Interval(Real, 0, None, closed="left"), None],
        "warmup_steps": [Interval(Integral, 0, None, closed="left")],
        "dtype": [StrOptions({"float32", "float64"}), Options(type, {np.float32, np.float64}),
                  None],
        "backend": [StrOptions(set(backend_names()))],
        "device": [str, None],
    }
