"""The tensor engine: every operation's gradient against PyTorch and central differences,
broadcasting, dtype, deep graphs, repeated backward, clear errors, and an MLP on the digits."""

import sys

import numpy as np
import pytest

from handgrad.autograd import MLP, Tensor, cross_entropy, log_softmax, mse, unbroadcast
from handgrad.engine.value import topological_order


@pytest.fixture(scope="module")
def torch():
    """PyTorch, the reference for the gradients (the tests that need no reference run without)."""
    return pytest.importorskip("torch", reason="PyTorch is the reference for the gradients")


rng = np.random.default_rng(0)
labels = np.array([2, 0, 1, 2])
pick = np.array([3, 0, 3, 1, 3])          # repeats: their gradients add up

# name, function on (Tensor or torch tensor) inputs, input shapes, [positive inputs?]
CASES = [
    ("add broadcast row", lambda a, b: a + b, [(4, 3), (3,)]),
    ("add broadcast column", lambda a, b: a + b, [(4, 3), (4, 1)]),
    ("add scalar both sides", lambda a: 2.0 + a + 1.5, [(4, 3)]),
    ("sub broadcast", lambda a, b: a - b, [(4, 3), (1, 3)]),
    ("rsub", lambda a: 1.0 - a, [(4, 3)]),
    ("mul broadcast", lambda a, b: a * b, [(2, 4, 3), (4, 1)]),
    ("rmul", lambda a: 3.0 * a, [(4, 3)]),
    ("div broadcast", lambda a, b: a / b, [(4, 3), (3,)], "positive"),
    ("rdiv", lambda a: 2.0 / a, [(4, 3)], "positive"),
    ("pow 2", lambda a: a ** 2, [(4, 3)]),
    ("pow 3", lambda a: a ** 3, [(4, 3)]),
    ("pow -1.5", lambda a: a ** -1.5, [(4, 3)], "positive"),
    ("pow 0.5", lambda a: a ** 0.5, [(4, 3)], "positive"),
    ("neg", lambda a: -a, [(4, 3)]),
    ("matmul", lambda a, b: a @ b, [(4, 3), (3, 5)]),
    ("matmul transposed", lambda a, b: a @ b.T, [(4, 3), (5, 3)]),
    ("batched matmul", lambda a, b: a @ b, [(2, 4, 3), (2, 3, 5)]),
    ("exp", lambda a: a.exp(), [(4, 3)]),
    ("log", lambda a: a.log(), [(4, 3)], "positive"),
    ("relu", lambda a: a.relu(), [(4, 3)]),
    ("tanh", lambda a: a.tanh(), [(4, 3)]),
    ("sigmoid", lambda a: a.sigmoid(), [(4, 3)]),
    ("sum all", lambda a: a.sum(), [(4, 3)]),
    ("sum axis 0", lambda a: a.sum(axis=0), [(4, 3)]),
    ("sum axis 1 keepdims", lambda a: a.sum(axis=1, keepdims=True), [(4, 3)]),
    ("sum axes (0, 2)", lambda a: a.sum(axis=(0, 2)), [(2, 4, 3)]),
    ("mean all", lambda a: a.mean(), [(4, 3)]),
    ("mean axis -1", lambda a: a.mean(axis=-1), [(4, 3)]),
    ("mean axis 0 keepdims", lambda a: a.mean(axis=0, keepdims=True), [(4, 3)]),
    ("max all", lambda a: a.max(), [(4, 3)]),
    ("max axis 1", lambda a: a.max(axis=1), [(4, 3)]),
    ("max axis 0 keepdims", lambda a: a.max(axis=0, keepdims=True), [(4, 3)]),
    ("reshape", lambda a: a.reshape(3, 4) * a.reshape((3, 4)), [(4, 3)]),
    ("transpose", lambda a: a.T * a.T, [(4, 3)]),
    ("index rows by integer array", lambda a: a[pick], [(4, 3)]),
    ("index entries by two arrays", lambda a: a[np.arange(4), labels], [(4, 3)]),
    ("log_softmax", lambda a: a.log_softmax(), [(4, 3)]),
    ("log_softmax axis 0", lambda a: a.log_softmax(axis=0), [(4, 3)]),
]


def as_torch(torch, name, f):
    """The same function written for torch (names that differ between the two)."""
    special = {
        "sum axes (0, 2)": lambda a: a.sum(dim=(0, 2)),
        "sum axis 0": lambda a: a.sum(dim=0),
        "sum axis 1 keepdims": lambda a: a.sum(dim=1, keepdim=True),
        "mean axis -1": lambda a: a.mean(dim=-1),
        "mean axis 0 keepdims": lambda a: a.mean(dim=0, keepdim=True),
        "max all": lambda a: torch.amax(a),
        "max axis 1": lambda a: torch.amax(a, dim=1),
        "max axis 0 keepdims": lambda a: torch.amax(a, dim=0, keepdim=True),
        "index rows by integer array": lambda a: a[torch.as_tensor(pick)],
        "index entries by two arrays": lambda a: a[torch.arange(4), torch.as_tensor(labels)],
        "log_softmax": lambda a: torch.log_softmax(a, dim=-1),
        "log_softmax axis 0": lambda a: torch.log_softmax(a, dim=0),
        "exp": torch.exp, "log": torch.log, "relu": torch.relu, "tanh": torch.tanh,
        "sigmoid": torch.sigmoid, "transpose": lambda a: a.T * a.T,
    }
    return special.get(name, f)


def inputs(shapes, positive=False, seed=0):
    r = np.random.default_rng(seed)
    arrays = [r.standard_normal(s) for s in shapes]
    return [np.abs(a) + 0.5 if positive else a for a in arrays]


def ours(f, arrays, seed):
    ts = [Tensor(a) for a in arrays]
    out = f(*ts)
    out.backward(seed)
    return out.data, [t.grad for t in ts]


def reference(torch, f, arrays, seed):
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = f(*ts)
    out.backward(torch.tensor(seed))
    return out.detach().numpy(), [t.grad.numpy() for t in ts]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_every_operation_against_pytorch_and_central_differences(torch, case):
    name, f, shapes = case[:3]
    arrays = inputs(shapes, positive=len(case) > 3)
    out = f(*[Tensor(a) for a in arrays])
    seed = np.random.default_rng(1).standard_normal(out.shape)        # a random dL/d(out)
    value, grads = ours(f, arrays, seed)
    t_value, t_grads = reference(torch, as_torch(torch, name, f), arrays, seed)
    np.testing.assert_allclose(value, t_value, rtol=1e-13, atol=1e-13)
    for g, tg, a in zip(grads, t_grads, arrays):
        assert g.shape == a.shape and g.dtype == np.float64
        np.testing.assert_allclose(g, tg, rtol=1e-12, atol=1e-13)
    # central differences of L = Σ seed ⊙ f(x), entry by entry
    eps = 1e-6
    for i, a in enumerate(arrays):
        numeric = np.zeros_like(a)
        for idx in np.ndindex(a.shape):
            up = [x.copy() for x in arrays]
            down = [x.copy() for x in arrays]
            up[i][idx] += eps
            down[i][idx] -= eps
            numeric[idx] = (np.sum(seed * f(*map(Tensor, up)).data)
                            - np.sum(seed * f(*map(Tensor, down)).data)) / (2 * eps)
        np.testing.assert_allclose(grads[i], numeric, rtol=1e-5, atol=1e-7)


def test_cross_entropy_is_the_fused_form_of_log_softmax_and_matches_pytorch(torch):
    z = rng.standard_normal((6, 4))
    y = np.array([0, 3, 1, 1, 2, 3])
    a, b = Tensor(z), Tensor(z)
    L1 = cross_entropy(a, y)
    L2 = -log_softmax(b)[np.arange(6), y].mean()
    L1.backward()
    L2.backward()
    zt = torch.tensor(z, requires_grad=True)
    Lt = torch.nn.functional.cross_entropy(zt, torch.as_tensor(y))
    Lt.backward()
    assert L1.item() == pytest.approx(Lt.item(), rel=1e-14) == pytest.approx(L2.item(), rel=1e-14)
    np.testing.assert_allclose(a.grad, zt.grad.numpy(), rtol=1e-13, atol=1e-16)
    np.testing.assert_allclose(b.grad, zt.grad.numpy(), rtol=1e-13, atol=1e-16)
    p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    np.testing.assert_allclose(a.grad, (p - np.eye(4)[y]) / 6, rtol=1e-13)      # (p - Y)/B


def test_mse_is_the_lessons_and_its_gradient_is_a_minus_y_over_n():
    a, Y = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    pred = Tensor(a)
    L = mse(pred, Y)
    L.backward()
    assert L.item() == pytest.approx(np.sum((a - Y) ** 2) / (2 * 5), rel=1e-14)
    np.testing.assert_allclose(pred.grad, (a - Y) / 5, rtol=1e-14)


def test_float32_stays_float32_end_to_end():
    x = Tensor(rng.standard_normal((8, 5)).astype(np.float32), requires_grad=False)
    W = Tensor(rng.standard_normal((3, 5)).astype(np.float32))
    b = Tensor(np.zeros(3, np.float32))
    out = ((x @ W.T + b).tanh() * 2.0 + 1.0) / 3.0
    L = cross_entropy(out, np.array([0, 1, 2, 0, 1, 2, 0, 1])) + mse(out, np.zeros((8, 3))) ** 2
    assert out.dtype == np.float32 and L.dtype == np.float32
    L.backward()
    assert W.grad.dtype == np.float32 and b.grad.dtype == np.float32 and x.grad is None
    assert Tensor([1, 2, 3]).dtype == np.float32                       # integers become float32


def test_max_shares_the_gradient_among_ties_as_pytorch_amax_does():
    a = np.array([[1.0, 3.0, 3.0], [2.0, 0.0, 2.0]])
    t = Tensor(a)
    t.max(axis=1).sum().backward()
    np.testing.assert_array_equal(t.grad, [[0, 0.5, 0.5], [0.5, 0, 0.5]])


def test_constants_get_no_gradient_and_build_no_graph():
    x = Tensor(np.ones((2, 2)), requires_grad=False)
    y = (x * 3.0).exp()
    assert not y.requires_grad and y.parents == () and y.op == "exp"
    W = Tensor(np.ones((2, 2)))
    L = (y @ W).sum()
    L.backward()
    assert x.grad is None and y.grad is None
    np.testing.assert_allclose(W.grad, np.full((2, 2), 2 * np.exp(3.0)), rtol=1e-15)   # yᵀ 1


def test_a_node_used_twice_and_a_broadcast_bias_get_all_their_gradient():
    a = Tensor(np.array([1.0, -2.0, 3.0]))
    (a * a + a).sum().backward()                       # d/da (a² + a) = 2a + 1
    np.testing.assert_array_equal(a.grad, [3.0, -3.0, 7.0])
    b = Tensor(np.array([0.5, -0.5]))
    (Tensor(np.ones((7, 2)), requires_grad=False) + b).sum().backward()
    np.testing.assert_array_equal(b.grad, [7.0, 7.0])  # used by 7 rows
    assert unbroadcast(np.ones((2, 4, 3)), (4, 1)).tolist() == [[6.0]] * 4


def test_backward_twice_accumulates_leaves_and_recomputes_intermediates():
    W = Tensor(rng.standard_normal((3, 2)))
    x = Tensor(rng.standard_normal((4, 3)), requires_grad=False)
    h = x @ W
    L = h.tanh().sum()
    L.backward()
    first_W, first_h = W.grad.copy(), h.grad.copy()
    L.backward()
    np.testing.assert_array_equal(W.grad, 2 * first_W)
    np.testing.assert_array_equal(h.grad, first_h)
    L.zero_grad()
    assert W.grad is None and h.grad is None
    L.backward()
    np.testing.assert_array_equal(W.grad, first_W)


def test_leaf_gradients_are_arrays_of_their_own():
    a, b = Tensor(np.ones(3)), Tensor(np.ones(3))
    (a + b).sum().backward()                           # "+" hands the same G to both
    a.grad *= 10                                       # a user may change one in place
    np.testing.assert_array_equal(b.grad, np.ones(3))
    assert a.grad.flags.writeable and b.grad.flags.writeable


def test_a_chain_of_100000_operations_needs_no_recursion():
    x = Tensor(np.array([0.5]))
    y = x
    for _ in range(100_000):
        y = y + x
    y.backward()
    assert x.grad[0] == 100_001.0
    assert len(topological_order(y)) == 100_001
    assert sys.getrecursionlimit() < 100_000


@pytest.mark.parametrize("make,error,message", [
    (lambda: Tensor(np.array([1.0, 0.0])).log(), ValueError,
     "log: needs positive numbers; got 0.0"),
    (lambda: Tensor(np.array([-8.0])) ** 0.5, ValueError,
     r"\*\*: a negative base to the power 0.5"),
    (lambda: Tensor(np.array([0.0])) ** -1, ValueError, r"\*\*: 0 \*\* -1"),
    (lambda: Tensor(np.array([1.0])) / Tensor(np.array([0.0])), ValueError, "/: division by zero"),
    (lambda: 1.0 / Tensor(np.zeros(2)), ValueError, "/: division by zero"),
    (lambda: Tensor(np.array([1000.0])).exp(), ValueError, "exp: the result is not finite"),
    (lambda: Tensor(np.array([np.nan])), ValueError, "Tensor needs finite numbers"),
    (lambda: Tensor(np.array([1 + 2j])), ValueError, "Tensor needs real numbers"),
    (lambda: cross_entropy(Tensor(np.zeros((2, 3))), [0, 3]), ValueError,
     r"labels must be integers in \[0, 3\); got 3"),
    (lambda: cross_entropy(Tensor(np.zeros((2, 3))), [0]), ValueError,
     r"labels must have shape \(2,\)"),
    (lambda: Tensor(np.ones(2)) ** Tensor(np.ones(2)), TypeError,
     "exponent must be an int or a float"),
    (lambda: Tensor(np.ones(2)).sum().backward(np.ones(3)), ValueError, "grad must have shape"),
])
def test_bad_numbers_are_clear_errors_naming_the_operation(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_mlp_loads_a_handgrad_state_dict_and_rejects_a_wrong_one():
    import handgrad as hg
    hand = hg.MLP([5, 4, 3], seed=0)
    net = MLP([5, 4, 3]).load_state_dict(hand.state_dict())
    X = rng.standard_normal((6, 5)).astype(np.float32)
    np.testing.assert_allclose(net(X).data, hand._forward(X) * 0 + hand.layers[-1].z, rtol=1e-6)
    assert sorted(net.state_dict()) == sorted(hand.state_dict())
    with pytest.raises(ValueError, match=r"missing keys: layers\.1\.bias"):
        net.load_state_dict({k: v for k, v in hand.state_dict().items() if k != "layers.1.bias"})
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        MLP([2, 2], ["swish"])


def test_tensor_mlp_trains_on_the_digits_above_90_percent():
    pytest.importorskip("sklearn", reason="the digits come with scikit-learn")
    from handgrad.data import load_digits
    X_train, y_train, X_test, y_test = load_digits(seed=0)
    net = MLP([64, 64, 10], seed=0)
    losses = net.fit(X_train, y_train, epochs=10, lr=0.1, batch_size=32, seed=0)
    assert losses[-1] < losses[0] / 5
    assert net.params["layers.0.weight"].data.dtype == np.float32
    assert net.score(X_test, y_test) > 0.90
