"""How one value from the page is checked: a number in a range, a name from a list, a list of
either. A bad value raises a ``SettingError`` that names the setting, says what was expected
and what came; the server turns it into a message shown in the page, and the session goes on.

    number("lr", "0.03", 0, 10, "learning rate", lo_open=True)    # 0.03
    choice("activation", "ReLU", ["relu", "tanh"], "activation")   # "relu"
"""

import math
from collections.abc import Collection, Mapping, Sequence
from typing import Any, Literal, overload


class SettingError(ValueError):
    """A bad setting: ``field`` names it, the message says what was expected and what came."""

    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(message)
        self.field = field


def show(value: Any) -> str:
    """A value as a message quotes it: its repr, cut to 40 characters."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


@overload
def number(field: str, value: Any, lo: float, hi: float, what: str, *, integer: Literal[True],
           lo_open: bool = False) -> int: ...
@overload
def number(field: str, value: Any, lo: float, hi: float, what: str, *,
           integer: Literal[False] = False, lo_open: bool = False) -> float: ...
def number(field: str, value: Any, lo: float, hi: float, what: str, *, integer: bool = False,
           lo_open: bool = False) -> float:
    """``value`` (a number or its text) as a float or int within [lo, hi] (or (lo, hi])."""
    if isinstance(value, bool):
        value = None
    try:
        x = float(value.strip()) if isinstance(value, str) else float(value)
    except (TypeError, ValueError, OverflowError):
        x = math.nan
    low = "above" if lo_open else "at least"
    kind = "a whole number" if integer else "a number"
    rule = f"{what} must be {kind} {low} {lo:g} and at most {hi:g}; got {show(value)}"
    if not math.isfinite(x) or x > hi or x < lo or (lo_open and x <= lo):
        raise SettingError(field, rule)
    if integer:
        if x != int(x):
            raise SettingError(field, rule)
        return int(x)
    return x


def choice(field: str, value: Any, options: Collection[str], what: str) -> str:
    """``value`` as one of ``options`` (text is trimmed and lower-cased first)."""
    key = value.strip().lower() if isinstance(value, str) else value
    if not isinstance(key, str) or key not in options:
        raise SettingError(field, f"unknown {what} {show(value)}; valid: {', '.join(options)}")
    return key


def _items(field: str, value: Any, what: str, kind: str) -> Sequence[Any]:
    if isinstance(value, str):
        value = [v for v in value.replace(" ", "").split(",") if v != ""]
    if not isinstance(value, (list, tuple)):
        raise SettingError(field, f"{what} must be a list of {kind}; got {show(value)}")
    return value


def int_list(field: str, value: Any, lo: int, hi: int, max_len: int, what: str) -> list[int]:
    """A list of whole numbers, from a list or from text like "4,2" ("" is the empty list).
    An empty entry ("4,,2") is refused, not skipped: it is most likely a typo."""
    if isinstance(value, str) and value.replace(" ", "").split(",")[1:-1].count(""):
        raise SettingError(field, f"{what}: an empty entry in {show(value)}; write sizes like 4,2")
    value = _items(field, value, what, "whole numbers")
    if len(value) > max_len:
        raise SettingError(field, f"{what}: at most {max_len} allowed; got {len(value)}")
    return [number(field, v, lo, hi, f"each entry of {what}", integer=True) for v in value]


def name_list(field: str, value: Any, options: Collection[str], what: str) -> list[str]:
    """A non-empty list of names from ``options``, each once, in the order given."""
    value = _items(field, value, what, "names")
    names = [choice(field, v, options, what) for v in value]
    if not names:
        raise SettingError(field, f"pick at least one {what}")
    return list(dict.fromkeys(names))


def known(settings: Any, allowed: Collection[str],
          aliases: Mapping[str, str] | None = None) -> dict[str, Any]:
    """``settings`` as a dict with old names (``aliases``: old -> new) read as their new ones;
    a SettingError for anything not in ``allowed``."""
    if not isinstance(settings, dict):
        raise SettingError(None, f"settings must be a JSON object; got {type(settings).__name__}")
    aliases = aliases or {}
    out: dict[str, Any] = {}
    for key, value in settings.items():
        name = aliases.get(key, key)
        if name not in allowed:
            raise SettingError(key, f"unknown setting {show(key)}; known settings: "
                                    f"{', '.join(sorted(allowed))}")
        if name not in out or key == name:          # the new name wins over an old one
            out[name] = value
    return out
