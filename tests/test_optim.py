import math

import numpy as np
import pytest

import handgrad as hg
from handgrad.optim import (
    Constant,
    Cosine,
    StepDecay,
    Warmup,
    clip_grad_norm,
    global_norm,
    optimizer_from_state,
    schedule_from_state,
)


class Bowl:
    """f(x, y) = x² + a·y², a model with one parameter array and its gradient."""

    def __init__(self, start, a=10.0):
        self.a = a
        self.params = {"xy": np.array(start, dtype=np.float64)}
        self.grads = {"xy": np.zeros(2)}

    def f(self):
        x, y = self.params["xy"]
        return x * x + self.a * y * y

    def grad(self):
        x, y = self.params["xy"]
        self.grads["xy"][:] = [2 * x, 2 * self.a * y]


def steps_to_minimum(make_opt, start=(-4.0, 2.0), a=10.0, threshold=1e-6, limit=20000):
    bowl, opt = Bowl(start, a), make_opt()
    for t in range(limit):
        if bowl.f() < threshold:
            return t
        bowl.grad()
        opt.step(bowl)
        if not math.isfinite(bowl.f()) or bowl.f() > 1e12:
            return math.inf
    return math.inf


def best(make, grid):
    return min(steps_to_minimum(lambda args=args: make(*args)) for args in grid)


def test_momentum_reaches_the_minimum_much_sooner_than_sgd_at_its_best_stable_rate():
    # f = x² + 10y²: SGD is stable for lr < 2/20; search its best rate below that.
    sgd = best(lambda lr: hg.SGD(lr), [(lr,) for lr in np.linspace(0.01, 0.0999, 90)])
    heavy_ball = steps_to_minimum(lambda: hg.SGD(0.1154, momentum=0.27))   # 4/(√20+√2)², ((√10-1)/(√10+1))²
    nesterov = best(lambda lr, mu: hg.SGD(lr, momentum=mu, nesterov=True),
                    [(lr, mu) for lr in np.linspace(0.02, 0.12, 21) for mu in (0.3, 0.5, 0.7)])
    assert 35 <= sgd <= 50
    assert heavy_ball * 2 <= sgd            # measured: 19 steps against 43
    assert nesterov < 0.6 * sgd             # measured: 22


def test_adam_reaches_the_minimum_much_sooner_when_the_curvatures_differ():
    # Adam scales each coordinate by its own gradient size. On x² + 1000y² SGD must
    # keep lr < 0.001 for y, and then x crawls; Adam does not care.
    sgd = min(steps_to_minimum(lambda lr=lr: hg.SGD(lr), a=1000.0, threshold=1e-4)
              for lr in np.linspace(0.0001, 0.000999, 10))
    adam = min(steps_to_minimum(lambda lr=lr: hg.Adam(lr), a=1000.0, threshold=1e-4)
               for lr in (0.1, 0.3, 0.5))
    assert adam * 10 < sgd
    # On the milder x² + 10y² it still gets there (tuned SGD is faster at κ = 10).
    assert steps_to_minimum(lambda: hg.Adam(0.3)) < 500


@pytest.mark.parametrize("scale", [1e-3, 1.0, 1e3])
def test_adams_first_step_is_lr_per_coordinate_whatever_the_gradient_scale(scale):
    bowl = Bowl([1.0, -1.0])
    bowl.grads["xy"][:] = [scale, -3 * scale]
    adam = hg.Adam(lr=0.01)
    adam.step(bowl)
    # bias correction: m̂ = g, v̂ = g², step = lr·g/(|g| + ε) ≈ lr·sign(g)
    assert np.allclose(bowl.params["xy"], [1.0 - 0.01, -1.0 + 0.01], rtol=1e-6)
    # without it the first step would be lr·(1-β1)/√(1-β2) ≈ 3.16·lr
    for _ in range(4):
        before = bowl.params["xy"].copy()
        adam.step(bowl)
        assert np.allclose(np.abs(bowl.params["xy"] - before), 0.01, rtol=1e-5)


def test_adamw_shrinks_every_weight_by_the_same_factor_and_adam_l2_does_not():
    start = np.array([10.0, 0.01])
    decoupled, coupled = Bowl(start.copy()), Bowl(start.copy())
    adamw, adam = hg.AdamW(lr=0.01, weight_decay=0.1), hg.Adam(lr=0.01, weight_decay=0.1)
    for _ in range(100):                         # a flat loss: only the decay acts
        adamw.step(decoupled)
        adam.step(coupled)
    # AdamW: θ ← θ(1 - lr·λ) each step, for big and small weights alike
    assert np.allclose(decoupled.params["xy"], start * (1 - 0.01 * 0.1) ** 100, rtol=1e-12)
    # Adam + L2: the decay λθ is divided by √v̂ ≈ |λθ|, so every weight moves ~lr per step:
    # the big weight loses 1.0 (10%), the small one is driven through zero.
    big, small = coupled.params["xy"]
    assert big == pytest.approx(9.0, abs=0.05)
    assert abs(small) < 0.01
    assert not np.allclose(decoupled.params["xy"], coupled.params["xy"], rtol=0.01)


def test_sgd_matches_the_pytorch_formulas_by_hand():
    bowl = Bowl([1.0, 2.0])
    opt = hg.SGD(0.1, momentum=0.9, weight_decay=0.01)
    g1 = np.array([0.5, -1.0])
    bowl.grads["xy"][:] = g1
    opt.step(bowl)
    v1 = g1 + 0.01 * np.array([1.0, 2.0])                 # v starts as the first gradient
    p1 = np.array([1.0, 2.0]) - 0.1 * v1
    assert np.allclose(bowl.params["xy"], p1)
    opt.step(bowl)
    v2 = 0.9 * v1 + (g1 + 0.01 * p1)
    assert np.allclose(bowl.params["xy"], p1 - 0.1 * v2)
    nest = hg.SGD(0.1, momentum=0.9, nesterov=True)
    b = Bowl([1.0, 2.0])
    b.grads["xy"][:] = g1
    nest.step(b)
    assert np.allclose(b.params["xy"], [1.0, 2.0] - 0.1 * (g1 + 0.9 * g1))
    with pytest.raises(ValueError, match="Nesterov momentum needs momentum > 0"):
        hg.SGD(0.1, nesterov=True)


def test_optimizer_state_round_trips():
    X = np.random.default_rng(0).standard_normal((32, 4)).astype(np.float32)
    y = np.arange(32) % 3
    for make in (lambda: hg.SGD(0.1, momentum=0.9, nesterov=True), lambda: hg.Adam(0.01),
                 lambda: hg.AdamW(0.01, weight_decay=0.05)):
        a, b = hg.MLP([4, 8, 3], seed=0), hg.MLP([4, 8, 3], seed=0)
        opt_a = make()
        a.fit(X, y, epochs=3, batch_size=8, optimizer=opt_a)
        b.load_state_dict(a.state_dict())
        opt_b = optimizer_from_state(opt_a.state_dict())
        assert opt_b.t == opt_a.t == 12 and repr(opt_b) == repr(opt_a)
        b.rng.bit_generator.state = a.rng.bit_generator.state
        a.fit(X, y, epochs=5, batch_size=8, optimizer=opt_a, history=a.history_)
        b.fit(X, y, epochs=5, batch_size=8, optimizer=opt_b, history=hg.History(a.history_.rows[:3]))
        for k in a.params:
            assert np.array_equal(a.params[k], b.params[k])


def test_schedules():
    assert [StepDecay(1.0, 10, 0.5)(t) for t in (0, 9, 10, 25)] == [1.0, 1.0, 0.5, 0.25]
    cos = Cosine(1.0, 100, min_lr=0.1)
    assert cos(0) == 1.0 and cos(50) == pytest.approx(0.55) and cos(100) == cos(500) == pytest.approx(0.1)
    warm = Warmup(Cosine(0.5, 100), warmup_steps=10)
    assert warm(0) == pytest.approx(0.05) and warm(9) == pytest.approx(0.5)
    assert warm(10) == pytest.approx(0.5) and warm(60) == pytest.approx(0.25)
    for s in (StepDecay(0.1, 5), cos, warm, Constant(0.3)):
        again = schedule_from_state(s.state_dict())
        assert [again(t) for t in range(0, 200, 7)] == [s(t) for t in range(0, 200, 7)]


def test_fit_applies_the_schedule_every_step():
    X = np.random.default_rng(0).standard_normal((40, 4)).astype(np.float32)
    y = np.arange(40) % 3
    model = hg.MLP([4, 8, 3], seed=0)
    opt = hg.SGD(0.1)
    model.fit(X, y, epochs=4, batch_size=10, optimizer=opt, schedule=StepDecay(0.1, 8, 0.1))
    assert opt.t == 16
    assert model.history_.column("lr") == pytest.approx([0.1, 0.1, 0.01, 0.01])


def test_clip_grad_norm_scales_to_the_limit():
    grads = {"a": np.array([3.0, 0.0]), "b": np.array([[4.0]])}
    assert global_norm(grads) == 5.0
    norm = clip_grad_norm(grads, 1.0)
    assert norm == 5.0 and global_norm(grads) == pytest.approx(1.0, rel=1e-6)
    assert np.allclose(grads["a"], [0.6, 0.0]) and np.allclose(grads["b"], [[0.8]])   # same direction
    small = {"a": np.array([0.3])}
    clip_grad_norm(small, 1.0)
    assert small["a"][0] == 0.3


def test_fit_with_each_optimizer_lowers_the_loss():
    X = np.random.default_rng(0).standard_normal((200, 4)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 1)
    for opt in (hg.SGD(0.1), hg.SGD(0.05, momentum=0.9), hg.SGD(0.05, momentum=0.9, nesterov=True),
                hg.Adam(0.01), hg.AdamW(0.01)):
        model = hg.MLP([4, 16, 3], seed=0)
        losses = model.fit(X, y, epochs=20, batch_size=20, optimizer=opt, clip_norm=5.0)
        assert losses[-1] < 0.5 * losses[0], opt
