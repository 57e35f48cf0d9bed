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
from .optim import make_optimizer
from .plot import pyplot, whole_epoch_ticks
from .twins import twin_module

# --- one runner per backend: the same epoch, each backend's own way -----------------------

class NumpyRunner:
    """handgrad's step: forward, the hand-derived backward, the optimizer's update."""

    name = "handgrad NumPy"

    def __init__(self, model, optimizer, X, y, device="cpu"):
        if device != "cpu":
            raise ValueError("the NumPy MLP runs on the CPU only")
        self.model, self.opt = model, optimizer
        self.X, self.y = model.check_X(X), model.check_y(y, len(X))

    def epoch(self, batches):
        """Train on each batch of row indices in turn; (mean loss, seconds)."""
        start, total, n = time.perf_counter(), 0.0, 0
        for idx in batches:
            xb, yb = self.X.take(idx, axis=0), self.y.take(idx, axis=0)   # (B, d_in), (B,)
            total += self.model.loss_and_grad(xb, yb) * len(idx)
            self.opt.step(self.model)
            n += len(idx)
        return total / n, time.perf_counter() - start

    def accuracy(self, X, y):
        return self.model.score(X, y)

    def state(self):
        return self.model.state_dict()


class TorchRunner:
    """The PyTorch twin and torch.optim: PyTorch's heartbeat, data resident on the device."""

    name = "handgrad PyTorch twin"

    def __init__(self, model, optimizer, X, y, device="cpu"):
        import torch
        self.torch, self.tm = torch, twin_module("torch")
        if device == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(f"this PyTorch ({torch.__version__}) has no CUDA: install a CUDA "
                               "build of PyTorch (https://pytorch.org/get-started/locally/) on a "
                               "machine with an NVIDIA GPU, or use --device cpu")
        self.twin = self.tm.TorchMLP.from_numpy(model).to(device)
        self.opt = self.tm.framework_optimizer(optimizer, self.twin)
        self.X, self.y = self.twin.tensor(X), self.twin.tensor(y, labels=True)
        self.device = device

    def _sync(self):
        if self.device != "cpu":
            self.torch.cuda.synchronize()

    def epoch(self, batches):
        torch = self.torch
        self._sync()
        start, total, n = time.perf_counter(), 0.0, 0
        for idx in batches:
            i = torch.as_tensor(idx, device=self.twin.device)
            total += self.tm.train_step(self.twin, self.opt, self.X[i], self.y[i]) * len(idx)
            n += len(idx)
        self._sync()
        return total / n, time.perf_counter() - start

    def accuracy(self, X, y):
        return float(np.mean(self.twin.predict_proba(X).argmax(axis=1) == y))

    def state(self):
        return self.twin.numpy_state()


class MLXRunner:
    """The MLX twin and mlx.optimizers: value_and_grad, update, eval."""

    name = "handgrad MLX twin"

    def __init__(self, model, optimizer, X, y, device="cpu"):
        import mlx.core as mx
        self.mx, self.mm = mx, twin_module("mlx")
        if device == "cuda":
            if not mx.cuda.is_available():
                raise RuntimeError("this MLX has no CUDA backend: pip install 'mlx[cuda]' on a "
                                   "machine with an NVIDIA GPU, or use --device cpu")
            mx.set_default_device(mx.gpu)
        self.twin = self.mm.MLXMLP.from_numpy(model)
        self.opt = self.mm.framework_optimizer(optimizer)
        self.X, self.y = self.twin.array(X), self.twin.array(y, labels=True)

    def epoch(self, batches):
        mx = self.mx
        start, total, n = time.perf_counter(), 0.0, 0
        for idx in batches:
            i = mx.array(idx)
            total += self.mm.train_step(self.twin, self.opt, self.X[i], self.y[i]) * len(idx)
            n += len(idx)
        return total / n, time.perf_counter() - start

    def accuracy(self, X, y):
        return float(np.mean(self.twin.predict_proba(X).argmax(axis=1) == y))

    def state(self):
        return self.twin.numpy_state()


RUNNERS = {"numpy": NumpyRunner, "torch": TorchRunner, "mlx": MLXRunner}
BACKENDS = tuple(RUNNERS)


def batch_plan(n, batch_size, epochs, seed):
    """The mini-batches of every epoch, drawn once so that every backend sees the same ones."""
    rng = np.random.default_rng(seed)
    return [[perm[i:i + batch_size] for i in range(0, n, batch_size)]
            for perm in (rng.permutation(n) for _ in range(epochs))]


def compare(dataset="digits", epochs=5, layers=None, activation="relu", lr=0.1,
            batch_size=32, optimizer="sgd", momentum=0.0, seed=0, device="cpu",
            backends=BACKENDS, data_dir=None):
    """Train the same network in each backend; returns {backend: result or error}."""
    data = load_dataset(dataset, data_dir=data_dir, seed=seed)
    sizes = layers or [data.n_features, 256, data.n_classes]
    if sizes[0] != data.n_features or sizes[-1] != data.n_classes:
        raise ValueError(f"{data.name} needs {data.n_features} inputs and {data.n_classes} "
                         f"outputs; the layers are {sizes}")
    model = MLP(sizes, [activation] * (len(sizes) - 2) + ["softmax"], seed=seed)
    plan = batch_plan(len(data.X_train), batch_size, epochs, seed)
    results = {}
    for name in backends:
        fresh = MLP.from_spec(model.spec)
        fresh.load_state_dict(model.state_dict())
        opt = make_optimizer(optimizer, lr, momentum=momentum)
        try:
            runner = RUNNERS[name](fresh, opt, data.X_train, data.y_train, device)
            losses, seconds = zip(*(runner.epoch(batches) for batches in plan))
        except ImportError as e:
            results[name] = {"error": f"not installed ({e})"}
            continue
        except RuntimeError as e:
            results[name] = {"error": str(e)}
            continue
        results[name] = {"loss": list(losses), "seconds": list(seconds),
                         "accuracy": runner.accuracy(data.X_test, data.y_test),
                         "state": runner.state()}
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
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    styles = {"numpy": "-o", "torch": "--s", "mlx": ":^"}
    for name, r in report["results"].items():
        if "loss" in r:
            ax.plot(range(1, len(r["loss"]) + 1), r["loss"], styles.get(name, "-"), label=name)
    whole_epoch_ticks(ax)
    ax.set(xlabel="epoch", ylabel="training loss",
           title=f"{report['dataset']} {report['layers']}: NumPy vs PyTorch vs MLX")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
