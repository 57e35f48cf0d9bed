"""What a claim measured over several seeds: the mean, the spread, a 95 % interval and an effect
size, and whether the interval clears a threshold.

A stochastic claim ("the first loss is about log 3", "tanh needs more steps than ReLU") is
measured once per seed. One seed can land on either side of a threshold by luck, so a claim
holds only when the whole 95 % confidence interval of the mean lies on the claim's side; it
fails when the whole interval lies on the other side; otherwise the seeds do not settle it.

    mean ± t(0.975, n − 1) · sd / √n          Student's t interval of the mean
    d = (mean − threshold) / sd               the effect size: how many standard deviations
                                              the mean lies from the threshold
    p̂ ± Wilson's interval                     for a share of seeds (e.g. "solves XOR")
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# Student's t, 97.5th percentile, for 1 … 30 degrees of freedom (a two-sided 95 % interval)
T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
        2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
        2.060, 2.056, 2.052, 2.048, 2.045, 2.042]
Z975 = 1.959964


def t975(df: int) -> float:
    """The 97.5th percentile of Student's t with ``df`` degrees of freedom.

    From the table up to 30; beyond it, the Cornish-Fisher expansion around the normal
    z = 1.96: t ≈ z + (z³ + z)/(4 df) + (5z⁵ + 16z³ + 3z)/(96 df²), within 1e-3.
    """
    if df < 1:
        raise ValueError(f"an interval needs at least 2 seeds (1 degree of freedom); got {df}")
    if df <= len(T975):
        return T975[df - 1]
    z = Z975
    return z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df ** 2)


@dataclass
class Sample:
    """Numbers measured once per seed, summarised. ``log=True`` summarises log10 of them
    (for ratios and sizes that span decades): the mean is then a geometric mean."""

    values: list[float]
    log: bool = False

    def __post_init__(self) -> None:
        self.values = [float(v) for v in self.values]
        if len(self.values) < 2:
            raise ValueError(f"a sample needs at least 2 values; got {len(self.values)}")
        if self.log and min(self.values) <= 0:
            raise ValueError("a log sample needs positive values")

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def _x(self) -> np.ndarray:
        v = np.array(self.values, dtype=np.float64)
        return np.log10(v) if self.log else v

    def _back(self, x: float) -> float:
        return float(10 ** x) if self.log else float(x)

    @property
    def mean(self) -> float:
        return self._back(float(self._x.mean()))

    @property
    def sd(self) -> float:
        """The standard deviation across seeds (of log10 values for a log sample); NaN when a
        seed's value is infinite (a run that diverged), which no interval then clears."""
        with np.errstate(invalid="ignore"):                 # inf − inf inside std
            return float(self._x.std(ddof=1))

    @property
    def interval(self) -> tuple[float, float]:
        """The 95 % confidence interval of the mean."""
        x = self._x
        half = t975(self.n - 1) * self.sd / math.sqrt(self.n)
        return self._back(float(x.mean()) - half), self._back(float(x.mean()) + half)

    def effect(self, threshold: float) -> float:
        """(mean − threshold) / sd, on the log scale for a log sample; ±inf when sd = 0."""
        t = math.log10(threshold) if self.log else threshold
        gap = float(self._x.mean()) - t
        if self.sd == 0:
            return math.copysign(math.inf, gap) if gap else 0.0
        return gap / self.sd

    def to_dict(self) -> dict[str, object]:
        lo, hi = self.interval
        return {"n": self.n, "values": self.values, "mean": self.mean, "sd": self.sd,
                "ci95": [lo, hi], "log": self.log}


def wilson(successes: int, n: int) -> tuple[float, float]:
    """Wilson's 95 % interval for a share: successes out of n."""
    if n < 1:
        raise ValueError("a share needs at least one trial")
    p, z = successes / n, Z975
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass
class Share:
    """How many of n seeds showed something (a run that solved XOR, one that plateaued)."""

    hits: Sequence[bool]

    def __post_init__(self) -> None:
        self.hits = [bool(h) for h in self.hits]

    @property
    def n(self) -> int:
        return len(self.hits)

    @property
    def count(self) -> int:
        return sum(self.hits)

    @property
    def mean(self) -> float:
        return self.count / self.n

    @property
    def interval(self) -> tuple[float, float]:
        return wilson(self.count, self.n)

    def to_dict(self) -> dict[str, object]:
        lo, hi = self.interval
        return {"n": self.n, "count": self.count, "share": self.mean, "ci95": [lo, hi]}
