import numpy as np
import pytest

import handgrad as hg
from handgrad.data import make_blobs, make_separable, make_sine, make_spiral, make_xor
from handgrad.nn import activation_names


def f64(sizes, acts, seed=0, **kw):
    return hg.MLP(sizes, acts, seed=seed, dtype=np.float64, output_scale=1.0, **kw)


def data_for(model, B, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((B, model.layer_sizes[0]))
    K = model.layer_sizes[-1]
    y = {"classification": lambda: rng.integers(0, K, B),
         "binary": lambda: rng.integers(0, 2, B),
         "regression": lambda: rng.standard_normal((B, K))}[model.task]()
    return X, y


# --- gradient checks -------------------------------------------------------------------

@pytest.mark.parametrize("sizes,acts", [
    ([3, 5, 4], ["relu", "softmax"]),                                      # one hidden layer
    ([4, 8, 6, 3], ["tanh", "sigmoid", "softmax"]),                          # two, mixed
    ([3, 7, 1, 9, 4, 6, 3], ["tanh", "gelu", "silu", "leaky_relu", "sigmoid", "softmax"]),  # five, width 1
    ([5, 64, 2], ["relu", "softmax"]),                                       # width 64
    ([4, 6, 1], ["tanh", "sigmoid"]),                                        # binary cross-entropy
    ([4, 6, 2], ["gelu_tanh", "identity"]),                                  # MSE, linear output
    ([2, 5, 3], ["silu", "tanh"]),                                           # MSE through tanh
])
def test_every_gradient_matches_central_differences(sizes, acts):
    model = f64(sizes, acts, seed=1)
    X, y = data_for(model, 8, seed=2)
    report = hg.gradcheck(model, X, y)
    assert [r["name"] for r in report.rows] == list(model.params)
    assert report.passed, report


def test_gradcheck_catches_a_wrong_backward(monkeypatch):
    model = f64([3, 4, 2], ["tanh", "softmax"])
    X, y = data_for(model, 5)
    monkeypatch.setattr(hg.Tanh, "backward", lambda self, g: g * (1 - self.a))   # wrong derivative
    report = hg.gradcheck(model, X, y)
    assert not report.passed
    assert report["layers.0.weight"]["max_error"] > 1e-3
    assert report["layers.1.weight"]["max_error"] < 1e-6    # the output layer is untouched


# --- one step by hand ----------------------------------------------------------------------

def test_one_training_step_worked_out_by_hand():
    # X = [1, 2], label 0. W1 = [[1, 0], [0, -1]], b1 = 0  ->  z1 = [1, -2], a1 = relu = [1, 0].
    # W2 = [[0.5, 0], [-0.5, 0]], b2 = 0  ->  z2 = [0.5, -0.5], p = [σ(1), 1 - σ(1)].
    model = hg.MLP([2, 2, 2], ["relu", "softmax"], dtype=np.float64)
    model.load_state_dict({"layers.0.weight": [[1, 0], [0, -1]], "layers.0.bias": [0, 0],
                           "layers.1.weight": [[0.5, 0], [-0.5, 0]], "layers.1.bias": [0, 0]})
    s = 0.7310585786300049                                    # σ(1) = e^0.5 / (e^0.5 + e^-0.5)
    loss = model.loss_and_grad(np.array([[1.0, 2.0]]), np.array([0]))
    assert loss == pytest.approx(0.31326168751822286, rel=1e-15)        # -log σ(1)
    dz2 = np.array([s - 1, 1 - s])                                      # p - y = [-0.269, 0.269]
    assert np.allclose(model.layers[1].dW, [[s - 1, 0], [1 - s, 0]])    # dz2ᵀ a1
    assert np.allclose(model.layers[1].db, dz2)
    # da1 = dz2 @ W2 = [-0.269·0.5 + 0.269·(-0.5), 0] = [s - 1, 0]; relu' = [1, 0]
    assert np.allclose(model.layers[0].dW, [[s - 1, 2 * (s - 1)], [0, 0]])   # dz1ᵀ X
    assert np.allclose(model.layers[0].db, [s - 1, 0])
    model.update(1.0)
    assert np.allclose(model.layers[0].W, [[2 - s, 2 - 2 * s], [0, -1]])
    assert np.allclose(model.layers[1].W, [[1.5 - s, 0], [-1.5 + s, 0]])
    assert np.allclose(model.layers[1].b, [1 - s, s - 1])


# --- learning ----------------------------------------------------------------------------

def test_xor_gets_all_four_points_right():
    X, y = make_xor()
    model = hg.MLP([2, 4, 1], ["relu", "sigmoid"], seed=0)
    losses = model.fit(X, y, epochs=2000, learning_rate=0.5)
    assert model.predict(X).tolist() == [0, 1, 1, 0]
    assert losses[-1] < 0.1 * losses[0]


@pytest.mark.parametrize("seed", [0, 2, 3])
def test_blob_network_reaches_95_percent_and_starts_at_log3(seed):
    # The output layer starts small (output_scale=0.01): the untrained network is
    # undecided, so its first loss is log 3. (Plain He init on these unscaled blobs
    # gives logits of a few units and a first loss 1.3 to 18 times log 3.)
    X, y = make_blobs(seed=seed)
    model = hg.MLP([4, 16, 3], ["relu", "softmax"], seed=seed, output_scale=0.01)
    first = model.loss_and_grad(X[:32], y[:32])
    assert abs(first - np.log(3)) < 0.1 * np.log(3)
    assert hg.MLP([4, 16, 3], seed=seed).loss_and_grad(X[:32], y[:32]) > 1.2 * np.log(3)
    steps, B = 2000, 32
    epochs = -(-steps * B // len(X))                       # 2000 steps of 32 (300 points)
    losses = model.fit(X, y, epochs=epochs, learning_rate=0.05, batch_size=B)
    assert model.score(X, y) > 0.95
    assert losses[-1] < losses[0]


def test_linearly_separable_data_near_100_percent():
    X, y = make_separable(400, seed=0)
    model = hg.MLP([2, 8, 2], seed=0)
    losses = model.fit(X, y, epochs=100, learning_rate=0.5, batch_size=32)
    assert model.score(X, y) >= 0.99
    assert losses[-1] < losses[0]


def test_three_arm_spiral_above_95_percent():
    X, y = make_spiral(100, 3, seed=0)
    model = hg.MLP([2, 64, 64, 3], seed=0)
    losses = model.fit(X, y, epochs=300, learning_rate=0.5, batch_size=32)
    assert model.score(X, y) > 0.95
    assert losses[-1] < 0.2 * losses[0]


def test_sine_regression_fits():
    X, y = make_sine(200, seed=0)
    model = hg.MLP([1, 32, 32, 1], ["tanh", "tanh", None], seed=0)
    assert model.loss_name == "mse" and model.task == "regression"
    losses = model.fit(X, y, epochs=500, learning_rate=0.1, batch_size=20)
    mse = float(np.mean((model.predict(X) - y[:, 0]) ** 2))
    assert mse < 0.01
    assert losses[-1] < 0.2 * losses[0]


@pytest.mark.parametrize("name", activation_names(hidden=True))
def test_every_activation_trains(name):
    X, y = make_blobs(seed=0)
    model = hg.MLP([4, 16, 3], [name, "softmax"], seed=0)
    losses = model.fit(X, y, epochs=30, learning_rate=0.05, batch_size=32)
    assert losses[-1] < 0.5 * losses[0]
    assert model.score(X, y) > 0.9


def test_two_class_softmax_is_logistic_regression():
    # p1 = softmax(z)_1 = σ(z1 - z0): with w = W[1] - W[0], softmax at lr η moves w
    # exactly as a one-unit sigmoid at lr 2η.
    X, y = make_separable(200, seed=1)
    X = X.astype(np.float64)
    soft = hg.MLP([2, 2], ["softmax"], seed=0, dtype=np.float64, output_scale=1.0)
    logi = hg.MLP([2, 1], ["sigmoid"], dtype=np.float64)
    logi.load_state_dict({"layers.0.weight": soft.layers[0].W[1:] - soft.layers[0].W[:1],
                          "layers.0.bias": soft.layers[0].b[1:] - soft.layers[0].b[:1]})
    soft.fit(X, y, epochs=50, learning_rate=0.3, shuffle=False)
    logi.fit(X, y, epochs=50, learning_rate=0.6, shuffle=False)
    W, b = soft.layers[0].W, soft.layers[0].b
    assert np.allclose(W[1] - W[0], logi.layers[0].W[0], rtol=1e-10)
    assert np.allclose(b[1] - b[0], logi.layers[0].b, rtol=1e-10)
    assert np.allclose(soft.predict_proba(X)[:, 1], logi.predict_proba(X)[:, 1], rtol=1e-10)


# --- shapes and dtypes ------------------------------------------------------------------

@pytest.mark.parametrize("B", [1, 7, 1000])
def test_output_and_gradient_shapes(B):
    model = hg.MLP([5, 9, 4, 3], seed=0)
    X, y = data_for(model, B)
    out = model.forward(X)
    assert out.shape == (B, 3)
    assert np.allclose(out.sum(axis=1), 1, atol=1e-6)
    model.backward(y)
    for layer, (n_in, n_out) in zip(model.layers, [(5, 9), (9, 4), (4, 3)]):
        assert layer.dW.shape == (n_out, n_in) and layer.W.shape == (n_out, n_in)
        assert layer.db.shape == (n_out,)
        assert layer.z.shape == layer.a.shape == (B, n_out)
        assert layer.a_prev.shape == (B, n_in)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_kept_end_to_end(dtype):
    model = hg.MLP([4, 8, 3], seed=0, dtype=dtype)
    X, y = make_blobs(20, seed=0)
    out = model.forward(X.astype(np.float64))            # a float64 input does not upcast
    assert out.dtype == dtype
    model.backward(y)
    assert all(p.dtype == dtype for p in model.params.values())
    assert all(g.dtype == dtype for g in model.grads.values())
    model.fit(X, y, epochs=2, batch_size=8)
    assert all(p.dtype == dtype for p in model.params.values())
    assert model.predict_proba(X).dtype == dtype


def test_state_dict_names_and_round_trip():
    model = hg.MLP([4, 8, 3], seed=0)
    sd = model.state_dict()
    assert {k: v.shape for k, v in sd.items()} == {
        "layers.0.weight": (8, 4), "layers.0.bias": (8,),
        "layers.1.weight": (3, 8), "layers.1.bias": (3,)}
    other = hg.MLP([4, 8, 3], seed=1)
    other.load_state_dict(sd)
    X = make_blobs(10, seed=0)[0]
    assert np.array_equal(other.forward(X), model.forward(X))
    sd["layers.0.weight"][:] = 0                           # a copy: the model is untouched
    assert model.layers[0].W.any()


def test_load_state_dict_lists_every_difference():
    model = hg.MLP([4, 8, 3], seed=0)
    bad = model.state_dict()
    bad.pop("layers.1.bias")
    bad["layers.0.weight"] = np.zeros((8, 5))
    bad["layers.9.weight"] = np.zeros(1)
    with pytest.raises(ValueError) as e:
        model.load_state_dict(bad)
    msg = str(e.value)
    assert "missing keys: layers.1.bias" in msg
    assert "unexpected keys: layers.9.weight" in msg
    assert "layers.0.weight: expected (8, 4), got (8, 5)" in msg


def test_update_is_plain_gradient_descent():
    model = hg.MLP([3, 4, 2], seed=0, dtype=np.float64)
    X, y = data_for(model, 6)
    model.loss_and_grad(X, y)
    before = model.state_dict()
    model.update(0.3)
    for k, p in model.params.items():
        assert np.allclose(p, before[k] - 0.3 * model.grads[k], rtol=0, atol=1e-15)


# --- mini-batches and seeds --------------------------------------------------------------

def test_batch_of_n_equals_full_batch():
    X, y = make_blobs(120, seed=0)
    a = hg.MLP([4, 10, 3], seed=5, dtype=np.float64)
    b = hg.MLP([4, 10, 3], seed=5, dtype=np.float64)
    la = a.fit(X, y, epochs=5, learning_rate=0.1, batch_size=None)
    lb = b.fit(X, y, epochs=5, learning_rate=0.1, batch_size=len(X))
    assert np.allclose(la, lb, rtol=1e-12, atol=0)
    for k in a.params:
        assert np.allclose(a.params[k], b.params[k], rtol=1e-12, atol=1e-14)


def test_batch_size_one_and_a_short_last_batch():
    X, y = make_blobs(50, seed=0)
    model = hg.MLP([4, 10, 3], seed=0)
    losses = model.fit(X, y, epochs=3, learning_rate=0.01, batch_size=1)
    assert len(losses) == 3 and losses[-1] < losses[0]
    model = hg.MLP([4, 10, 3], seed=0, dtype=np.float64)
    seen = []
    original = model.loss_and_grad
    model.loss_and_grad = lambda xb, yb, training=True: seen.append(len(xb)) or original(xb, yb)
    model.fit(X, y, epochs=1, batch_size=16)
    assert seen == [16, 16, 16, 2]                       # 50 = 3·16 + 2: the short batch is used


def test_same_seed_same_run_other_seed_other_curve():
    X, y = make_blobs(300, seed=0)

    def run(seed):
        model = hg.MLP([4, 16, 3], seed=seed)
        return model.fit(X, y, epochs=10, learning_rate=0.05, batch_size=32), model.score(X, y)

    (l1, a1), (l2, a2), (l3, a3) = run(7), run(7), run(8)
    assert l1 == l2 and a1 == a2                           # bit for bit
    assert l1 != l3
    assert abs(a1 - a3) < 0.05


# --- edge cases ---------------------------------------------------------------------------

def test_bottleneck_100_2_100_autoencoder():
    rng = np.random.default_rng(0)
    codes = rng.standard_normal((300, 2))
    X = np.tanh(codes @ rng.standard_normal((2, 100))).astype(np.float32)   # data on a 2-D surface
    model = hg.MLP([100, 2, 100], ["tanh", "identity"], seed=0, output_scale=1.0)
    losses = model.fit(X, X, epochs=100, learning_rate=0.005, batch_size=30)  # the loss sums 100 outputs
    assert losses[-1] < 0.3 * losses[0]
    assert model.layers[0].dW.shape == (2, 100)


def test_a_layer_wider_than_1000():
    X, y = make_blobs(64, seed=0)
    model = hg.MLP([4, 1500, 3], seed=0)
    losses = model.fit(X, y, epochs=10, learning_rate=0.05, batch_size=16)
    assert model.layers[0].W.shape == (1500, 4) and losses[-1] < losses[0]


def test_a_single_class():
    X, _ = make_blobs(40, seed=0)
    model = hg.MLP([4, 8, 3], seed=0)
    model.fit(X, np.zeros(40, dtype=int), epochs=50, learning_rate=0.1)
    assert (model.predict(X) == 0).all()
    one = hg.MLP([4, 8, 1], seed=0)                       # a one-class softmax: p = 1, loss 0
    assert one.fit(X, np.zeros(40, dtype=int), epochs=2) == [0.0, 0.0]


def test_no_nan_or_inf_anywhere_in_hard_cases():
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        big = hg.MLP([3, 2], ["softmax"], dtype=np.float64)
        big.load_state_dict({"layers.0.weight": [[1000, 0, 0], [-1000, 0, 0]], "layers.0.bias": [0, 0]})
        loss = big.loss_and_grad(np.array([[1.0, 0, 0]]), np.array([1]))      # logits ±1000
        assert loss == pytest.approx(2000) and np.isfinite(big.layers[0].dW).all()
        sure = hg.MLP([1, 1], ["sigmoid"], dtype=np.float64)
        sure.load_state_dict({"layers.0.weight": [[-1000.0]], "layers.0.bias": [0.0]})
        assert sure.loss_and_grad(np.array([[1.0]]), np.array([1])) == pytest.approx(1000)  # p ≈ 0
        zero = hg.MLP([5, 8, 3], seed=0)
        zero.loss_and_grad(np.zeros((4, 5), dtype=np.float32), np.array([0, 1, 2, 0]))
        assert all(np.isfinite(g).all() for g in zero.grads.values())
        deep = hg.MLP([10] + [32] * 8 + [3], seed=0)
        X, y = make_blobs(64, n_features=10, seed=0)
        losses = deep.fit(X, y, epochs=5, learning_rate=0.05, batch_size=16)
        assert np.isfinite(losses).all()
        assert all(np.isfinite(p).all() for p in deep.params.values())


# --- bad input ----------------------------------------------------------------------------

def test_bad_input_gives_clear_errors():
    model = hg.MLP([4, 8, 3], seed=0)
    X, y = make_blobs(10, seed=0)
    with pytest.raises(ValueError, match="X has 5 features, but this model expects 4"):
        model.forward(np.zeros((2, 5)))
    Xn = X.copy()
    Xn[3, 2] = np.nan
    with pytest.raises(ValueError, match=r"NaN or Inf \(first at row 3, column 2\)"):
        model.fit(Xn, y)
    with pytest.raises(ValueError, match=r"labels must be integers in \[0, 3\).*got 7"):
        model.fit(X, np.where(np.arange(10) == 4, 7, y))
    with pytest.raises(ValueError, match="batch_size must be a positive integer or None; got 0"):
        model.fit(X, y, batch_size=0)
    with pytest.raises(ValueError, match="unknown activation 'rleu'; valid names: relu"):
        hg.MLP([4, 8, 3], ["rleu", "softmax"])
    with pytest.raises(ValueError, match="X has 10 samples but y has 9"):
        model.fit(X, y[:9])
    with pytest.raises(ValueError, match="activations needs 2 entries"):
        hg.MLP([4, 8, 3], ["relu"])
    with pytest.raises(ValueError, match="X has 0 samples"):
        model.predict(np.zeros((0, 4)))
