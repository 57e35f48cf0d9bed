"""Three ways to the same gradient: the hand-derived handgrad.MLP, the scalar Value engine's MLP and
the Tensor engine's MLP, with the same weights and batch, in float64 — and PyTorch's autograd.

Every parameter's gradient agrees to 1e-12 (max |a - b| over the array, relative to
max(1, max |b|)), for 1 to 3 hidden layers, ReLU / tanh / sigmoid, cross-entropy and the
lesson's MSE L = 1/(2n) Σ_i Σ_j (a_ij - y_ij)² (n examples, outputs summed).
"""

import numpy as np
import pytest

import handgrad as hg
from handgrad import autograd, engine

torch = pytest.importorskip("torch", reason="PyTorch is the fourth way")

TOL = 1e-12

ARCHITECTURES = [
    ([4, 5, 3], ["relu", "softmax"], "cross_entropy"),
    ([4, 6, 5, 3], ["tanh", "sigmoid", "softmax"], "cross_entropy"),
    ([3, 5, 4, 6, 4], ["relu", "tanh", "sigmoid", "softmax"], "cross_entropy"),
    ([4, 5, 1], ["tanh", "identity"], "mse"),
    ([4, 6, 3], ["sigmoid", "identity"], "mse"),
    ([3, 4, 5, 2], ["relu", "tanh", "identity"], "mse"),
    ([3, 4, 4, 4, 2], ["relu", "relu", "tanh", "sigmoid"], "mse"),     # sigmoid output, MSE
]


def random_architectures(count, seed=7):
    r = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        depth = int(r.integers(1, 4))
        sizes = [int(n) for n in r.integers(1, 7, depth + 2)]
        hidden = [str(a) for a in r.choice(["relu", "tanh", "sigmoid"], depth)]
        if r.random() < 0.5:
            sizes[-1] = max(sizes[-1], 2)
            out.append((sizes, hidden + ["softmax"], "cross_entropy"))
        else:
            out.append((sizes, hidden + [str(r.choice(["identity", "sigmoid", "tanh"]))], "mse"))
    return out


def batch(sizes, loss, B=8, seed=0):
    r = np.random.default_rng(seed)
    X = r.standard_normal((B, sizes[0]))
    if loss == "cross_entropy":
        return X, r.integers(0, sizes[-1], B)                        # labels
    return X, r.standard_normal((B, sizes[-1]))                      # regression targets


def by_hand(sizes, acts, loss, X, y):
    model = hg.MLP(sizes, acts, seed=3, dtype=np.float64, loss="mse" if loss == "mse" else None)
    L = model.loss_and_grad(X, y)
    return model.state_dict(), L, {k: g.copy() for k, g in model.grads.items()}


def logits_acts(acts):
    return ["identity" if a == "softmax" else a for a in acts]       # the loss reads logits


def value_engine(state, sizes, acts, loss, X, y):
    net = engine.MLP(sizes, logits_acts(acts)).load_state_dict(state)
    L = net.loss(X, y, loss)
    L.backward()
    return L.data, net.grad_dict()


def tensor_engine(state, sizes, acts, loss, X, y):
    net = autograd.MLP(sizes, logits_acts(acts), dtype=np.float64).load_state_dict(state)
    L = autograd.LOSSES[loss](net(X), y)
    L.backward()
    return L.item(), net.grad_dict()


def pytorch(state, acts, loss, X, y):
    params = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in state.items()}
    f = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid}
    a = torch.tensor(X)
    for i, act in enumerate(acts):
        a = a @ params[f"layers.{i}.weight"].T + params[f"layers.{i}.bias"]
        a = f[act](a) if act in f else a
    if loss == "cross_entropy":
        L = torch.nn.functional.cross_entropy(a, torch.as_tensor(y))
    else:
        L = 0.5 * ((a - torch.tensor(y)) ** 2).sum() / len(X)
    L.backward()
    return L.item(), {k: p.grad.numpy() for k, p in params.items()}


def differ(a, b):
    return float(np.max(np.abs(a - b))) / max(1.0, float(np.max(np.abs(b))))


@pytest.mark.parametrize("sizes,acts,loss", ARCHITECTURES + random_architectures(8),
                         ids=lambda v: "-".join(map(str, v)) if isinstance(v, list) else str(v))
def test_hand_derived_value_engine_tensor_engine_and_pytorch_agree(sizes, acts, loss):
    X, y = batch(sizes, loss)
    state, L_hand, g_hand = by_hand(sizes, acts, loss, X, y)
    L_value, g_value = value_engine(state, sizes, acts, loss, X, y)
    L_tensor, g_tensor = tensor_engine(state, sizes, acts, loss, X, y)
    L_torch, g_torch = pytorch(state, acts, loss, X, y)
    for L in (L_hand, L_value, L_tensor):
        assert L == pytest.approx(L_torch, rel=TOL)
    for name, ref in g_torch.items():
        assert np.abs(ref).max() > 0 or name.endswith("bias")
        for way, grads in (("by hand", g_hand), ("Value", g_value), ("Tensor", g_tensor)):
            assert grads[name].shape == ref.shape
            assert differ(grads[name], ref) <= TOL, (way, name, differ(grads[name], ref))


def test_multi_output_mse_is_the_lessons_definition_in_all_three():
    sizes, acts, loss = [3, 4, 3], ["tanh", "identity"], "mse"
    X, y = batch(sizes, loss, B=5)
    state, L_hand, _ = by_hand(sizes, acts, loss, X, y)
    h = np.tanh(X @ state["layers.0.weight"].T + state["layers.0.bias"])
    a = h @ state["layers.1.weight"].T + state["layers.1.bias"]
    expected = np.sum((a - y) ** 2) / (2 * 5)                          # 1/(2n), outputs summed
    assert L_hand == pytest.approx(expected, rel=1e-14)
    assert value_engine(state, sizes, acts, loss, X, y)[0] == pytest.approx(expected, rel=1e-14)
    assert tensor_engine(state, sizes, acts, loss, X, y)[0] == pytest.approx(expected, rel=1e-14)


def test_one_sgd_step_moves_the_three_to_the_same_weights():
    sizes, acts, loss = [4, 6, 3], ["relu", "softmax"], "cross_entropy"
    X, y = batch(sizes, loss)
    hand = hg.MLP(sizes, acts, seed=5, dtype=np.float64)
    state = hand.state_dict()
    hand.loss_and_grad(X, y)
    hand.update(0.5)
    v = engine.MLP(sizes, logits_acts(acts)).load_state_dict(state)
    v.fit(X, y, epochs=1, lr=0.5)                           # one full batch: one step
    t = autograd.MLP(sizes, logits_acts(acts), dtype=np.float64).load_state_dict(state)
    t.fit(X, y, epochs=1, lr=0.5, batch_size=len(X))
    for name, w in hand.state_dict().items():
        assert differ(v.state_dict()[name], w) <= TOL
        assert differ(t.state_dict()[name], w) <= TOL
