"""How the user started handgrad, so that a hint prints a command they can paste."""

import os
from pathlib import Path


def prog() -> str:
    """``handgrad``, or the command that started it: ``./run.sh`` sets HANDGRAD_PROG to the
    path it was called by."""
    return os.environ.get("HANDGRAD_PROG", "handgrad")


def prog_from(folder: str | Path) -> str:
    """``prog()`` as typed from inside ``folder``: a relative path to a script is made
    relative to that folder (``./run.sh`` seen from ``ws`` is ``../run.sh``)."""
    command = prog()
    if "/" not in command or Path(command).is_absolute():
        return command
    return os.path.relpath(Path(command).resolve(), Path(folder).resolve())
