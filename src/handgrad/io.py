"""Checkpoints: ``.safetensors`` files, written atomically, loaded without unpickling.

A checkpoint holds the model's tensors under their PyTorch-style names
(``layers.0.weight``), the optimizer's state tensors under
``optimizer.<param>.<slot>``, and, as JSON strings in the metadata, the model
spec, the optimizer's hyperparameters and step count, the schedule, the
history and the random generator's state. Any backend can read it: the
NumPy MLP here, ``safetensors.torch`` or ``mlx.core.load``.

Writing goes to a temporary file in the same folder, is flushed to disk and
then renamed over the target: a crash mid-save leaves the previous file whole.
"""

from __future__ import annotations

import glob
import json
import os
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, cast

import numpy as np
from numpy.typing import DTypeLike

from .history import History
from .optim import Optimizer, Schedule, optimizer_from_state, schedule_from_state

FORMAT = "handgrad-checkpoint/1"
OPTIMIZER_PREFIX = "optimizer."

# How to build a NumPy model from a checkpoint's spec, by the spec's "kind" ("mlp" when it
# names none). A model class registers its builder where it is defined (handgrad.mlp does),
# so this module, below the models, names none of them.
MODEL_BUILDERS: dict[str, Callable[..., Any]] = {}


def register_model(kind: str, build: Callable[..., Any]) -> None:
    """``build(spec, dtype=None)`` makes an untrained model of this kind from its spec."""
    MODEL_BUILDERS[kind] = build


def to_numpy(value: Any) -> np.ndarray:
    """A NumPy array from a NumPy, PyTorch or MLX array."""
    if hasattr(value, "detach"):           # torch.Tensor
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def atomic_write(path: str | Path, data: bytes) -> None:
    """Write bytes to ``path`` via a temporary file and a rename.

    A temporary that an earlier writer left when it was killed mid-write (its name is
    ``.NAME.*.tmp`` beside the file) is removed once this write has landed; one still being
    written by another process was touched after this write began and stays."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    began = time.time()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())       # mkstemp makes 0600: give it the usual mode
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    _remove_abandoned(path, before=began)


def _remove_abandoned(path: Path, before: float) -> None:
    """Remove the temporaries of ``path`` last written before ``before`` (seconds since the
    epoch): what a killed writer left behind."""
    for stale in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        try:
            if stale.stat().st_mtime < before:
                stale.unlink()
        except OSError:                     # gone already, or not ours to remove
            pass


def unwritable(path: str | Path, *, folder: bool = True) -> str | None:
    """Why ``path`` (a folder, or a file with ``folder=False``) cannot be written, in one
    line, or None when it can. Nothing is left behind: the folder that would hold it (or
    the nearest one that exists, for a path still to be made) is tried with a temporary
    file, removed at once."""
    path = Path(path)
    if path.exists():
        if folder and not path.is_dir():
            return f"{path} is a file, not a folder"
        if not folder and path.is_dir():
            return f"{path} is a folder, not a file"
        where = path if folder else path.parent
    else:
        where = path.parent
        while not where.exists() and where != where.parent:
            where = where.parent
        if not where.is_dir():
            return f"cannot make {path}: {where} is a file, not a folder"
    try:
        fd, tmp = tempfile.mkstemp(dir=where, prefix=".handgrad-write-check-")
    except OSError as e:
        return f"cannot write to {path}: {where} does not take new files ({e.strerror or e})"
    os.close(fd)
    os.unlink(tmp)
    return None


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def save_tensors(path: str | Path, tensors: Mapping[str, Any],
                 metadata: Mapping[str, Any] | None = None) -> None:
    """Save a dict of arrays (any backend) and string metadata as one .safetensors file."""
    from safetensors.numpy import save
    arrays = {k: np.require(to_numpy(v), requirements="C") for k, v in tensors.items()}  # keeps 0-d
    atomic_write(path, save(arrays, metadata={k: str(v) for k, v in (metadata or {}).items()}))


def load_tensors(path: str | Path) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """(tensors, metadata) from a .safetensors file, or a ValueError saying what is wrong."""
    from safetensors import SafetensorError, safe_open
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        with safe_open(str(path), framework="numpy") as f:
            metadata = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except (SafetensorError, OSError, ValueError) as e:
        raise ValueError(f"{path} is not a readable checkpoint (a .safetensors file): "
                         f"{e}") from None
    return tensors, metadata


def save_checkpoint(path: str | Path, model: Any, *, optimizer: Any = None,
                    schedule: Any = None, history: History | None = None,
                    rng: np.random.Generator | None = None,
                    extra: Mapping[str, Any] | None = None) -> None:
    """Save ``model`` (anything with ``spec`` and ``state_dict()``) and its training state.

    ``optimizer`` and ``schedule`` are anything with a ``state_dict()`` (a handgrad
    optimizer and schedule, or a twin's); ``rng`` defaults to ``model.rng`` when the
    model has one.
    """
    tensors = dict(model.state_dict())
    meta = {"format": FORMAT, "spec": json.dumps(model.spec)}
    if optimizer is not None:
        sd = optimizer.state_dict()
        for name, slots in sd["state"].items():
            for slot, array in slots.items():
                tensors[f"{OPTIMIZER_PREFIX}{name}.{slot}"] = array
        meta["optimizer"] = json.dumps({k: sd[k] for k in ("type", "t", "lr", "hyper")})
    if schedule is not None:
        meta["schedule"] = json.dumps(schedule.state_dict())
    if history is not None:
        meta["history"] = json.dumps(history.rows)
    rng = getattr(model, "rng", None) if rng is None else rng
    if rng is not None:
        meta["rng"] = json.dumps(rng.bit_generator.state)
    for k, v in (extra or {}).items():
        meta[k] = json.dumps(v)
    save_tensors(path, tensors, meta)


class Snapshot:
    """A spec and a state dict: what save_checkpoint needs, from any backend."""

    def __init__(self, spec: dict[str, Any], state: dict[str, Any]) -> None:
        self.spec, self._state = spec, state

    def state_dict(self) -> dict[str, Any]:
        return self._state


class Checkpoint:
    """What a checkpoint file holds: ``state`` (model tensors), ``spec`` and the training state."""

    def __init__(self, tensors: Mapping[str, np.ndarray], metadata: Mapping[str, str],
                 path: str | None = None) -> None:
        self.path = path
        self.metadata = metadata
        if "spec" not in metadata:
            raise ValueError(f"{path} has no handgrad spec in its metadata; "
                             "was it written by handgrad.io.save_checkpoint?")
        self.spec: dict[str, Any] = json.loads(metadata["spec"])
        self.state = {k: v for k, v in tensors.items() if not k.startswith(OPTIMIZER_PREFIX)}
        self.optimizer_tensors = {k[len(OPTIMIZER_PREFIX):]: v for k, v in tensors.items()
                                  if k.startswith(OPTIMIZER_PREFIX)}

    def meta(self, key: str, default: Any = None) -> Any:
        return json.loads(self.metadata[key]) if key in self.metadata else default

    def optimizer(self) -> Optimizer | None:
        """The optimizer, rebuilt with its moments and step count (None if not saved)."""
        sd = self.meta("optimizer")
        if sd is None:
            return None
        state: dict[str, dict[str, np.ndarray]] = {}
        for key, array in self.optimizer_tensors.items():
            name, slot = key.rsplit(".", 1)
            state.setdefault(name, {})[slot] = array
        return optimizer_from_state({**sd, "state": state})

    def schedule(self) -> Schedule | None:
        sd = self.meta("schedule")
        return None if sd is None else schedule_from_state(sd)

    def history(self) -> History:
        return History(self.meta("history", []))

    def input_range(self) -> tuple[float, float] | None:
        """(lowest, highest) value among the training inputs, before any standardizing
        (None for a checkpoint that does not say)."""
        inputs = self.meta("inputs")
        return None if inputs is None else (float(inputs["min"]), float(inputs["max"]))

    def prepare(self, X: np.ndarray) -> np.ndarray:
        """Inputs as the model took them in training: standardized with the training set's
        mean and standard deviation when the run standardized its inputs."""
        inputs = self.meta("inputs") or {}
        if inputs.get("mean") is None:
            if self.meta("recipe", {}).get("standardize"):
                raise ValueError(f"{self.path} was trained on standardized inputs but does not "
                                 "hold the statistics to standardize new ones (an older "
                                 "checkpoint): train it again to use it here")
            return X
        mean = np.asarray(inputs["mean"], dtype=X.dtype)          # (d,)
        std = np.asarray(inputs["std"], dtype=X.dtype)            # (d,)
        return cast(np.ndarray, (X - mean) / std)                  # (n, d)

    def model(self, dtype: DTypeLike | None = None) -> Any:
        """The NumPy model (an MLP) with these weights and its generator's saved state."""
        kind = self.spec.get("kind", "mlp")
        if kind not in MODEL_BUILDERS:
            known = ", ".join(sorted(MODEL_BUILDERS)) or "none (import handgrad first)"
            raise ValueError(f"{self.path} holds a {kind!r} model; known kinds: {known}")
        model = MODEL_BUILDERS[kind](self.spec, dtype=dtype)
        model.load_state_dict(self.state)
        rng_state = self.meta("rng")
        if rng_state is not None:
            model.rng.bit_generator.state = rng_state
        return model


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Read a checkpoint file; build the model with ``.model()``."""
    tensors, metadata = load_tensors(path)
    return Checkpoint(tensors, metadata, path=str(path))


def load_model(path: str | Path, dtype: DTypeLike | None = None) -> Any:
    """The NumPy MLP saved at ``path``."""
    return load_checkpoint(path).model(dtype=dtype)
