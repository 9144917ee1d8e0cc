"""A verdict per case: is the new code faster, slower or the same?

Method (stated in every report): for each case, the samples of a metric
(every timed run of every seed whose status is "ok") are compared on a
log scale.  The ratio new/base is exp of the difference of the mean logs,
with a 95 % confidence interval from Welch's t (unequal variances,
Welch-Satterthwaite degrees of freedom): run times are closer to log-normal
than to normal, and a ratio is what a user asks for.  Verdict: "slower" when
the whole interval lies above 1, "faster" when it lies below, "same"
otherwise; a *regression* is a case whose interval lies above
1 + threshold (slower by more than the threshold, with confidence).  With
``normalize`` every sample is first divided by the calibration workload's
time measured just before it in the same run, which takes out a machine that
is faster or slower as a whole; a case whose runs were timed by different
calibration workloads (``context["calibration"]``,
:data:`snnlab.bench.runner.CALIBRATION`; "sort-2^21" where a record names
none), or not calibrated at all, gets no ratio but says so.  Fewer than
two samples on a side give no interval: the verdict is "too few runs".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["compare", "Verdict", "metric_value", "calibration_of", "t_quantile", "METRICS",
           "METHOD"]

METHOD = ("ratio new/base of geometric means, 95 % CI from Welch's t on log values; "
          "slower/faster when the CI excludes 1, regression when it lies above 1 + threshold")
METRICS = ("sim", "rtf", "construction", "create", "connect", "prepare", "presim",
           "host_memory", "device_memory")


def calibration_of(r: dict) -> str:
    """The calibration workload a record was timed with (records made before
    it was named were made with "sort-2^21")."""
    return r["context"].get("calibration") or "sort-2^21"


def metric_value(r: dict, metric: str, normalize: bool = False):
    """A record's value of ``metric`` (None where it has none)."""
    if metric not in METRICS:
        raise ValueError(f"metric {metric!r} is not one of: {', '.join(METRICS)}")
    t = r["timers"]
    if metric == "construction":
        parts = [t.get(k) for k in ("create", "connect", "prepare")]
        v = None if any(p is None for p in parts) else sum(parts)
    elif metric == "rtf":
        v = r.get("rtf")
    elif metric in ("host_memory", "device_memory"):
        v = r["memory"].get(f"{metric.split('_')[0]}_peak_bytes")
    else:
        v = t.get(metric)
    if v is None or not v > 0:
        return None
    if normalize:
        c = r.get("calibration_s")
        if not c or metric.endswith("memory"):
            return None
        v = v / c
    return float(v)


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the regularised incomplete beta (modified Lentz)."""
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 400):
        for num in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                    -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1.0 + num * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + num / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-15:
            break
    return h


def _ibeta(a: float, b: float, x: float) -> float:
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
                     + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def _t_cdf(t: float, df: float) -> float:
    tail = 0.5 * _ibeta(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t >= 0 else tail


def t_quantile(p: float, df: float) -> float:
    """The p-quantile (p > 0.5) of Student's t with ``df`` degrees of freedom.

    >>> round(t_quantile(0.975, 1), 3), round(t_quantile(0.975, 10), 3)
    (12.706, 2.228)
    """
    lo, hi = 0.0, 1.0
    while _t_cdf(hi, df) < p:
        hi *= 2.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if _t_cdf(mid, df) < p else (lo, mid)
    return 0.5 * (lo + hi)


@dataclass
class Verdict:
    case_key: str
    n_base: int
    n_new: int
    ratio: float | None  # new / base
    low: float | None  # 95 % confidence interval of the ratio
    high: float | None
    verdict: str  # "faster", "slower", "same", "too few runs", "only in base", "only in new";
    # normalised: "not calibrated" (a run without a calibration time),
    # "calibrations differ" (runs timed by different workloads)
    regression: bool
    excluded: int  # records of the case not compared (failed or out of band)
    seeds_base: tuple = ()  # the seeds each side ran (a difference is shown: the
    seeds_new: tuple = ()  # sides then differ in more than the code)

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def _interval(x: list, y: list, level: float = 0.95):
    lx, ly = [math.log(v) for v in x], [math.log(v) for v in y]
    mx, my = sum(lx) / len(lx), sum(ly) / len(ly)
    vx = sum((v - mx) ** 2 for v in lx) / (len(lx) - 1)
    vy = sum((v - my) ** 2 for v in ly) / (len(ly) - 1)
    d = my - mx
    se2 = vx / len(lx) + vy / len(ly)
    if se2 == 0.0:
        return math.exp(d), math.exp(d), math.exp(d)
    df = se2 * se2 / ((vx / len(lx)) ** 2 / (len(lx) - 1) + (vy / len(ly)) ** 2 / (len(ly) - 1))
    h = t_quantile(0.5 + level / 2.0, df) * math.sqrt(se2)
    return math.exp(d), math.exp(d - h), math.exp(d + h)


def compare(base: list, new: list, metric: str = "sim", threshold: float = 0.1,
            normalize: bool = False) -> list[Verdict]:
    """A :class:`Verdict` per case key of ``base`` and ``new`` records."""
    if not (math.isfinite(threshold) and threshold >= 0):
        raise ValueError(f"threshold must be a number >= 0, got {threshold}")
    metric_value({"timers": {}, "memory": {}}, metric)  # (checks the metric's name)

    def workloads(records, key):
        """The calibration workloads of a case's ok runs (None: a run without)."""
        return {calibration_of(r) if r.get("calibration_s") else None for r in records
                if r["case_key"] == key and r["status"] == "ok"}

    def samples(records):
        out: dict[str, list] = {}
        bad: dict[str, int] = {}
        for r in records:
            v = metric_value(r, metric, normalize) if r["status"] == "ok" else None
            out.setdefault(r["case_key"], [])
            if v is None:
                bad[r["case_key"]] = bad.get(r["case_key"], 0) + 1
            else:
                out[r["case_key"]].append(v)
        return out, bad

    def seeds_of(records, key):
        return tuple(sorted({r["case"]["seed"] for r in records
                             if r["case_key"] == key and r["status"] == "ok"}))

    (sb, bb), (sn, bn) = samples(base), samples(new)
    verdicts = []
    for key in sorted(set(sb) | set(sn)):
        x, y = sb.get(key), sn.get(key)
        excluded = bb.get(key, 0) + bn.get(key, 0)
        seeds = (seeds_of(base, key), seeds_of(new, key))
        if x is None or y is None:
            verdicts.append(Verdict(key, len(x or []), len(y or []), None, None, None,
                                    "only in new" if x is None else "only in base", False,
                                    excluded, *seeds))
            continue
        if normalize:  # (times divided by different workloads' mix two machines' speeds)
            used = workloads(base, key) | workloads(new, key)
            if None in used or len(used) > 1:
                verdicts.append(Verdict(key, len(x), len(y), None, None, None,
                                        "not calibrated" if None in used else
                                        "calibrations differ", False, excluded, *seeds))
                continue
        if len(x) < 2 or len(y) < 2:
            ratio = (math.exp(sum(map(math.log, y)) / len(y) - sum(map(math.log, x)) / len(x))
                     if x and y else None)
            verdicts.append(Verdict(key, len(x), len(y), ratio, None, None, "too few runs",
                                    False, excluded, *seeds))
            continue
        ratio, low, high = _interval(x, y)
        verdict = "slower" if low > 1.0 else "faster" if high < 1.0 else "same"
        verdicts.append(Verdict(key, len(x), len(y), ratio, low, high, verdict,
                                low > 1.0 + threshold, excluded, *seeds))
    return verdicts
