"""What the two twins share: building from NumPy, and the NumPy side of the training loop."""

import copy

import numpy as np

from ..io import load_checkpoint


class FromNumpy:
    """Twin constructors: from a NumPy MLP or from a checkpoint written by any backend."""

    @classmethod
    def from_numpy(cls, model, dtype=None):
        twin = cls(model.spec, dtype=dtype)
        twin.load_numpy_state(model.state_dict())
        return twin

    @classmethod
    def from_checkpoint(cls, path, dtype=None):
        ckpt = load_checkpoint(path)
        twin = cls(ckpt.spec, dtype=dtype)
        twin.load_numpy_state(ckpt.state)
        return twin


class TrainableBase:
    """Delegates checks, spec and the shuffling generator to the NumPy model it was built from."""

    def __init__(self, ref):
        self.ref = ref
        self.rng = ref.rng
        self.spec = ref.spec

    def framework_seed(self):
        """A seed for the framework's own generator, drawn from a copy of ours (so ours does
        not move)."""
        return int(copy.deepcopy(self.rng).integers(2 ** 31))

    def check_X(self, X):
        return self.ref.check_X(X)

    def check_y(self, y, n=None):
        return self.ref.check_y(y, n)

    @property
    def task(self):
        return self.ref.task

    def evaluate(self, X, y, batch_size=4096):
        X, y = self.check_X(X), self.check_y(y, len(X))
        total, correct = 0.0, 0
        for i in range(0, len(X), batch_size):
            xb, yb = X[i:i + batch_size], y[i:i + batch_size]
            loss, out = self.eval_batch(xb, yb)
            total += loss * len(xb)
            if self.task == "classification":
                labels = yb if yb.ndim == 1 else yb.argmax(axis=1)
                correct += int(np.sum(out.argmax(axis=1) == labels))
        result = {"loss": total / len(X)}
        if self.task == "classification":
            result["accuracy"] = correct / len(X)
        return result

    def predict(self, X):
        return self.predict_proba(X).argmax(axis=1)

    def score(self, X, y):
        y = self.check_y(y, len(X))
        labels = y if y.ndim == 1 else y.argmax(axis=1)
        return float(np.mean(self.predict(X) == labels))
