"""Side by side: one network trained in NumPy, PyTorch and MLX from the same start.

The weights are drawn once in NumPy and copied into each twin; the batches
are drawn once and fed to every backend in the same order; each backend then
trains its own way (handgrad's loop, PyTorch's heartbeat, MLX's
value_and_grad). What comes out: per-epoch loss, final test accuracy, seconds
per epoch and how far each backend's final weights are from NumPy's.
"""

import time

import numpy as np

from .data import load_dataset
from .mlp import MLP
from .optim import OPTIMIZERS

BACKENDS = ("numpy", "torch", "mlx")


def _batches(n, batch_size, epochs, seed):
    rng = np.random.default_rng(seed)
    return [[perm[i:i + batch_size] for i in range(0, n, batch_size)]
            for perm in (rng.permutation(n) for _ in range(epochs))]


def _run_numpy(model, opt, X, y, X_test, y_test, plan):
    losses, seconds = [], []
    for epoch in plan:
        start, total = time.perf_counter(), 0.0
        for idx in epoch:
            total += model.loss_and_grad(X[idx], y[idx]) * len(idx)
            opt.step(model)
        seconds.append(time.perf_counter() - start)
        losses.append(total / len(X))
    return losses, seconds, model.score(X_test, y_test), model.state_dict()


def _run_torch(model, opt, X, y, X_test, y_test, plan, device):
    import torch
    from .twins import torch_mlp
    twin = torch_mlp.TorchMLP.from_numpy(model).to(device)
    optimizer = torch_mlp.make_optimizer(twin, opt)
    Xt, yt = twin.tensor(X), twin.tensor(y, labels=True)          # resident on the device
    losses, seconds = [], []
    for epoch in plan:
        if device != "cpu":
            torch.cuda.synchronize()
        start, total = time.perf_counter(), 0.0
        for idx in epoch:
            i = torch.as_tensor(idx, device=twin.device)
            total += torch_mlp.train_step(twin, optimizer, Xt[i], yt[i]) * len(idx)
        if device != "cpu":
            torch.cuda.synchronize()
        seconds.append(time.perf_counter() - start)
        losses.append(total / len(X))
    acc = float(np.mean(twin.predict_proba(X_test).argmax(axis=1) == y_test))
    return losses, seconds, acc, twin.numpy_state()


def _run_mlx(model, opt, X, y, X_test, y_test, plan, device):
    import mlx.core as mx
    from .twins import mlx_mlp
    if device == "cuda":
        if not mx.cuda.is_available():
            raise RuntimeError("MLX has no CUDA backend here (pip install 'mlx[cuda]')")
        mx.set_default_device(mx.gpu)
    twin = mlx_mlp.MLXMLP.from_numpy(model)
    optimizer = mlx_mlp.make_optimizer(opt)
    Xm, ym = twin.array(X), twin.array(y, labels=True)
    losses, seconds = [], []
    for epoch in plan:
        start, total = time.perf_counter(), 0.0
        for idx in epoch:
            i = mx.array(idx)
            total += mlx_mlp.train_step(twin, optimizer, Xm[i], ym[i]) * len(idx)
        seconds.append(time.perf_counter() - start)
        losses.append(total / len(X))
    acc = float(np.mean(twin.predict_proba(X_test).argmax(axis=1) == y_test))
    return losses, seconds, acc, twin.numpy_state()


def compare(dataset="digits", epochs=5, layers=None, activation="relu", lr=0.1,
            batch_size=32, optimizer="sgd", momentum=0.0, seed=0, device="cpu",
            backends=BACKENDS, data_dir=None):
    """Train the same network in each backend; returns {backend: result or error}."""
    data = load_dataset(dataset, data_dir=data_dir, seed=seed)
    sizes = layers or [data.n_features, 256, data.n_classes]
    model = MLP(sizes, [activation] * (len(sizes) - 2) + ["softmax"], seed=seed)
    start_state = model.state_dict()
    plan = _batches(len(data.X_train), batch_size, epochs, seed)

    def make_opt():
        kw = {"momentum": momentum} if optimizer == "sgd" else {}
        return OPTIMIZERS[optimizer](lr=lr, **kw)

    args = (data.X_train, data.y_train, data.X_test, data.y_test)
    runners = {"numpy": lambda m: _run_numpy(m, make_opt(), *args, plan),
               "torch": lambda m: _run_torch(m, make_opt(), *args, plan, device),
               "mlx": lambda m: _run_mlx(m, make_opt(), *args, plan, device)}
    results = {}
    for name in backends:
        fresh = MLP(sizes, model.spec["activations"], seed=seed)
        fresh.load_state_dict(start_state)
        try:
            losses, seconds, acc, state = runners[name](fresh)
        except ImportError as e:
            results[name] = {"error": f"not installed ({e})"}
            continue
        except RuntimeError as e:
            results[name] = {"error": str(e)}
            continue
        results[name] = {"loss": losses, "seconds": seconds, "accuracy": acc, "state": state}
    ref = results.get("numpy", {}).get("state")
    for r in results.values():
        if ref is not None and "state" in r:
            r["max_weight_diff"] = max(float(np.max(np.abs(r["state"][k] - ref[k]))) for k in ref)
    return {"dataset": data.name, "layers": sizes, "epochs": epochs, "device": device,
            "results": results}


def format_table(report):
    results = report["results"]
    epochs = report["epochs"]
    head = f"{'backend':<8}" + "".join(f"{'loss ' + str(e + 1):>11}" for e in range(epochs)) \
        + f"{'test acc':>10}{'s/epoch':>9}{'max |Δθ| vs numpy':>19}"
    lines = [f"{report['dataset']}: {report['layers']}, {epochs} epochs, device {report['device']}",
             head]
    for name, r in results.items():
        if "error" in r:
            lines.append(f"{name:<8}  {r['error']}")
            continue
        lines.append(f"{name:<8}" + "".join(f"{v:>11.6f}" for v in r["loss"])
                     + f"{100 * r['accuracy']:>9.2f}%{np.median(r['seconds']):>9.3f}"
                     + f"{r.get('max_weight_diff', 0.0):>19.2e}")
    return "\n".join(lines)


def plot_losses(report, path):
    """One plot of every backend's loss curve."""
    from .plot import pyplot
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    styles = {"numpy": "-o", "torch": "--s", "mlx": ":^"}
    for name, r in report["results"].items():
        if "loss" in r:
            ax.plot(range(1, len(r["loss"]) + 1), r["loss"], styles.get(name, "-"), label=name)
    from matplotlib.ticker import MaxNLocator
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set(xlabel="epoch", ylabel="training loss",
           title=f"{report['dataset']} {report['layers']}: NumPy vs PyTorch vs MLX")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
