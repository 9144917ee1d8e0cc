r"""Structural plasticity: rules that remove and create synapses while the
network runs, on the device, row by row.

A :class:`RewiringRule` is C code run once per row (presynaptic neuron) of a
projection every ``period`` ms; attach it with
``Network.connect(..., rewiring=Rewiring(rule, period=...))``.  In the code:

``id_pre``, ``n_post``, ``row_length``, ``t`` [ms], ``dt``
    the row, the size of the target population, the number of synapses in
    the row at the start of the call, the time and the step.
``target(k)``, and each per-synapse array by name (``weight[k]``, ``delay[k]``)
    the synapse at position ``k`` (``0 <= k < row_length``; rows are
    ordered by target).
``find_synapse(j)``
    position of a synapse onto target ``j``, or -1.
``remove_synapse(k)``
    removes the synapse at position ``k``; the row is compacted after the
    rule, every per-synapse array moving with its synapse.
``add_synapse(j)``
    proposes a new synapse onto ``j``; it is inserted after every row's rule
    has run, with the per-synapse values of ``init``.  It fails (and is
    counted as failed) when ``j`` is out of range, when the row has proposed
    ``max_add`` synapses in this call already, when a synapse onto ``j``
    exists and ``multapses`` is off, or when it would push ``j`` over the
    maximum in-degree (below).
``in_degree(j)``, ``max_in_degree``
    with a maximum in-degree: the synapses onto ``j`` at the start of the call
    (over every projection onto the population that is rewired with the same
    maximum), and that maximum.
``uniform()``, ``random_int(n)``, ``poisson(lam)``
    counter-based random numbers keyed by (seed, projection, row, call):
    the same on every target and thread count.  ``poisson`` inverts 32-bit
    uniforms of a sequence of its own (four rows share a Philox block,
    ``kernels/rewiring.cu``), so it does not advance ``uniform()``.
``exp``, ``log``, ``pow``
    the portable versions of ``kernels/philox.h`` (same bits on CPU and GPU).
parameters and derived constants by name (doubles).
``n_attempts``
    with ``attempts=`` (below): this row's number of attempts in this call.

A rule whose work comes in attempts says so with ``attempts="name"`` (a
parameter or derived constant: the mean number of attempts per row and
call, the same for every row).  Each row then has a Poisson number of
attempts per call, and each attempt a target drawn uniformly; the code runs
once per attempt and acts on that one pair only:

``id_pre``, ``id_post``, ``n_post``, ``t``, ``dt``
    the attempt's source, its target and the size of the target population.
``attempt``, ``n_attempts``
    the attempt's index in its row and call, and the row's number of them.
``find_synapse()``
    position of a synapse from ``id_pre`` onto ``id_post``, or -1; the
    per-synapse arrays are read there (``weight[k]``).
``remove_synapse(k)``
    removes the synapse at ``k`` if it is one onto ``id_post``.
``add_synapse()``
    proposes a synapse onto ``id_post``: at most one per attempt, and only in
    the first ``max_add`` attempts of a row in a call; otherwise as above.
``in_degree()``, ``max_in_degree``
    the in-degree of ``id_post`` at the start of the call, and the maximum.
``uniform()``, ``random_int(n)``, ``poisson(lam)``
    keyed by (seed, projection, row, call, attempt): an attempt draws the same
    numbers whatever the others drew (at most 8191 of them; more raise).
``return;`` ends the attempt.

The framework draws which rows have attempts, walking from one such row to
the next with geometric gaps, and how many (Poisson, given that it is at
least 1).  A call costs the attempts, not the rows: at the topographic map's
0.02 attempts per row and call, a fiftieth of the rows run.  Since an attempt
acts on its own pair and draws its own numbers, such a rule gives the same
network on any number of MPI ranks: each rank runs the attempts onto its own
neurons.  A rule without ``attempts`` sees and draws across its whole row,
which ranks split by target; it runs on one process only (refused on ranks
before anything is built).

When several rows propose synapses onto one target in the same call and they
do not all fit under the maximum in-degree, all of them fail: the result does
not depend on the order in which rows run.  Rows grow automatically: before
each stretch of calls the host makes room for ``max_add`` synapses per row and
call (``grow=False`` raises :class:`~snnlab.CapacityError` instead).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..checks import balanced, finite

__all__ = ["RewiringRule", "Rewiring", "bamford"]

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
RESERVED = frozenset({
    "id_pre", "id_post", "n_post", "row_length", "t", "dt", "uniform", "random_int", "poisson",
    "target", "find_synapse", "remove_synapse", "add_synapse", "in_degree", "max_in_degree",
    "exp", "log", "pow", "weight", "delay", "snn", "n_attempts", "attempt"})
# what a row rule reads that an attempt rule may not (it sees one pair), and
# the calls whose forms differ: (pattern, what to say)
_NOT_IN_ATTEMPTS = (
    (r"\brow_length\b", "row_length (an attempt sees one pair: use find_synapse())"),
    (r"\btarget\s*\(", "target(k) (an attempt's target is id_post)"),
    (r"\bfind_synapse\s*\(\s*[^\s)]", "find_synapse(j) (an attempt's is find_synapse(), "
                                       "onto id_post)"),
    (r"\badd_synapse\s*\(\s*[^\s)]", "add_synapse(j) (an attempt's is add_synapse(), "
                                      "onto id_post)"),
    (r"\bin_degree\s*\(\s*[^\s)]", "in_degree(j) (an attempt's is in_degree(), of id_post)"))
_ONLY_IN_ATTEMPTS = re.compile(r"\b(n_attempts|attempt|id_post)\b|\b(find_synapse|add_synapse|"
                               r"in_degree)\s*\(\s*\)")
MAX_ATTEMPTS = 65000.0  # mean per row and call (kernels/rewiring.cu, the walk's draws)


@dataclass(frozen=True)
class RewiringRule:
    """A structural-plasticity rule: C ``code`` run per row (module docstring).

    name : str
        C identifier (used in the generated kernel's name).
    params : mapping of str to float
        Constants the code reads by name.
    code : str
        C statements, run once per row and call.
    init : mapping of str to str
        C expression giving the value of a per-synapse array (``"weight"``,
        ``"delay"`` in steps) in a new synapse; it may use the parameters,
        ``id_pre`` and ``id_post``.  Default: the projection's mean weight
        and delay.
    derived : callable ``(params, ctx) -> dict``, optional
        More constants, computed on the host; ``ctx`` holds ``dt``,
        ``period`` [ms], ``n_pre`` and ``n_post``.
    max_add : int
        Most synapses one row may gain in one call.
    multapses : bool
        Allow a second synapse between the same pair.
    attempts : str, optional
        Name of the parameter or derived constant that is the mean number
        of attempts per row and call (0 to 65000); only rows with attempts
        run, their count in ``n_attempts`` (module docstring).
    """

    name: str
    params: Mapping[str, float]
    code: str
    init: Mapping[str, str] = field(default_factory=dict)
    derived: Callable[[dict, dict], dict] | None = None
    max_add: int = 4
    multapses: bool = False
    attempts: str | None = None

    def __post_init__(self):
        if not isinstance(self.name, str) or not _IDENT.match(self.name):
            raise ValueError(f"RewiringRule: name must be a C identifier, got {self.name!r}")
        params = {}
        for k, v in dict(self.params).items():
            _check_name(self.name, k)
            params[k] = finite(f"{self.name}.{k}", v)
        object.__setattr__(self, "params", params)
        if not isinstance(self.code, str) or not self.code.strip():
            raise ValueError(f"RewiringRule {self.name!r}: code must be C statements, "
                             f"got {self.code!r}")
        balanced(f"RewiringRule {self.name!r}: code", self.code)
        init = dict(self.init)
        for k, v in init.items():
            if not isinstance(v, str) or not v.strip():
                raise ValueError(f"RewiringRule {self.name!r}: init[{k!r}] must be a C "
                                 f"expression, got {v!r}")
            balanced(f"RewiringRule {self.name!r}: init[{k!r}]", v)
        object.__setattr__(self, "init", init)
        if isinstance(self.max_add, bool) or not isinstance(self.max_add, int) \
                or not 1 <= self.max_add <= 65535:
            raise ValueError(f"RewiringRule {self.name!r}: max_add must be an integer in "
                             f"[1, 65535], got {self.max_add!r}")
        if self.derived is not None and not callable(self.derived):
            raise TypeError(f"RewiringRule {self.name!r}: derived must be callable")
        if self.attempts is not None and not (isinstance(self.attempts, str)
                                              and _IDENT.match(self.attempts)):
            raise ValueError(f"RewiringRule {self.name!r}: attempts must be None or the name "
                             f"of a parameter or derived constant, got {self.attempts!r}")
        if self.attempts is None:
            m = _ONLY_IN_ATTEMPTS.search(self.code)
            if m:
                raise ValueError(f"RewiringRule {self.name!r}: the code uses {m.group(0)!r}, "
                                 "which only a rule with attempts= has (it runs per attempt)")
        else:
            for pattern, what in _NOT_IN_ATTEMPTS:
                if re.search(pattern, self.code):
                    raise ValueError(f"RewiringRule {self.name!r}: a rule with attempts= runs "
                                     f"per attempt and cannot use {what}")

    def constants(self, ctx: dict) -> dict[str, float]:
        """Parameters and derived constants, in the order of the kernel's table."""
        out = dict(self.params)
        if self.derived is not None:
            extra = self.derived(dict(self.params), dict(ctx))
            for k, v in extra.items():
                _check_name(self.name, k)
                if k in out:
                    raise ValueError(f"RewiringRule {self.name!r}: derived constant {k!r} "
                                     "shadows a parameter")
                out[k] = finite(f"{self.name}.{k}", v)
        if self.attempts is not None:
            if self.attempts not in out:
                raise ValueError(f"RewiringRule {self.name!r}: attempts={self.attempts!r} is "
                                 f"neither a parameter nor a derived constant (have "
                                 f"{sorted(out)})")
            lam = out[self.attempts]
            if not 0.0 <= lam <= MAX_ATTEMPTS:
                raise ValueError(f"RewiringRule {self.name!r}: the mean number of attempts "
                                 f"per row and call ({self.attempts} = {lam!r}) must be in "
                                 f"[0, {MAX_ATTEMPTS:g}]")
        return out


def _check_name(rule: str, name: str) -> None:
    if not isinstance(name, str) or not _IDENT.match(name) or name in RESERVED \
            or name.startswith("snn_") or name.startswith("_"):
        raise ValueError(f"RewiringRule {rule!r}: {name!r} is not a usable name (a C "
                         f"identifier, not one of {sorted(RESERVED)}, not starting with "
                         "'snn_' or '_')")


@dataclass(frozen=True)
class Rewiring:
    """A rule, how often it runs, and the limits it works under.

    rule : RewiringRule
    period : float
        [ms] between calls, a positive multiple of dt; the first call is at
        ``t = period``, at the start of the step.
    max_in_degree : int, optional
        Keep the number of synapses onto each target at most this, counted
        over every projection onto the target population rewired with it.
    grow : bool
        Grow rows when a rule may need room; ``False`` raises
        :class:`~snnlab.CapacityError` before running instead.
    """

    rule: RewiringRule
    period: float = 1.0
    max_in_degree: int | None = None
    grow: bool = True

    def __post_init__(self):
        if not isinstance(self.rule, RewiringRule):
            raise TypeError(f"Rewiring: rule must be a RewiringRule, got {self.rule!r}")
        period = finite("Rewiring.period", self.period)
        if period <= 0:
            raise ValueError(f"Rewiring: period must be > 0 ms, got {self.period!r}")
        object.__setattr__(self, "period", period)
        m = self.max_in_degree
        if m is not None and (isinstance(m, bool) or not isinstance(m, int)
                              or not 1 <= m < 2**31):
            raise ValueError(f"Rewiring: max_in_degree must be None or a positive integer, "
                             f"got {m!r}")
        if not isinstance(self.grow, bool):
            raise TypeError(f"Rewiring: grow must be True or False, got {self.grow!r}")

    def period_steps(self, dt: float, what: str = "Rewiring") -> int:
        n = round(self.period / dt)
        if n < 1 or abs(n * dt - self.period) > 1e-9 * self.period:
            raise ValueError(f"{what}: period {self.period} ms is not a positive multiple of "
                             f"dt={dt} ms")
        return n


_BAMFORD_CODE = """
if (no_self != 0.0 && id_post == id_pre) return;  // lateral: no synapse onto itself
const int64_t k = find_synapse();
if (k >= 0) {  // elimination: weak synapses go faster
    if (uniform() < (weight[k] < 0.5 * g_max ? p_elim_dep : p_elim_pot)) remove_synapse(k);
} else if (in_degree() < max_in_degree) {  // formation: distance-dependent
    const int64_t w = (int64_t)width;
    int64_t dx = id_pre % w - id_post % w, dy = id_pre / w - id_post / w;
    dx = dx < 0 ? -dx : dx;
    dy = dy < 0 ? -dy : dy;
    dx = dx < w - dx ? dx : w - dx;
    dy = dy < w - dy ? dy : w - dy;
    const double d2 = (double)(dx * dx + dy * dy);
    if (uniform() < p_form * exp(-d2 / (2.0 * sigma * sigma))) add_synapse();
}
"""


def _bamford_derived(p: dict, ctx: dict) -> dict[str, Any]:
    # attempts are uniform over (target, candidate source) pairs: a row of
    # this projection is the source of a share n_post / candidates of them
    return {"attempts": p["attempt_rate"] * ctx["period"] * 1e-3 * ctx["n_post"]
            / p["candidates"]}


def bamford(p_form: float, sigma: float, width: int, candidates: int, g_max: float = 0.2,
            attempt_rate: float = 10000.0 / 256.0, p_elim_dep: float = 0.0245,
            p_elim_pot: float = 1.36e-4, max_in_degree: int = 32, period: float = 1.0,
            no_self: bool = False) -> Rewiring:
    """Distance-dependent formation and weight-dependent elimination
    (Bamford, Murray & Willshaw 2010), on a ``width`` x ``width`` torus.

    Rewiring attempts arrive at ``attempt_rate`` per target neuron and second,
    each on a target and a candidate source drawn uniformly (``candidates``:
    all candidate sources of the target population, over every projection
    rewired with this rule); a row is the source of a Poisson number of them
    per call.  An attempt on an existing synapse removes it with probability
    ``p_elim_dep`` if its weight is below ``g_max / 2``, ``p_elim_pot``
    otherwise; on an absent one it forms the synapse with probability
    ``p_form exp(-d^2 / 2 sigma^2)`` (d: torus distance in grid units) if
    the target's in-degree is below ``max_in_degree``.  New synapses start at
    ``g_max``.  The attempts are the rule's ``attempts=`` (only rows with
    some run): their mean per row and call, ``attempt_rate period n_post /
    candidates``, must stay within 65000.  Source and target layers must
    both be ``width`` x ``width``; ``no_self`` skips attempts of a neuron
    onto itself (lateral projections).

    >>> r = bamford(p_form=0.16, sigma=2.5, width=16, candidates=512)
    >>> r.rule.params["p_form"], r.max_in_degree
    (0.16, 32)
    """
    if isinstance(width, bool) or not isinstance(width, int) or width < 1:
        raise ValueError(f"bamford: width must be a positive integer, got {width!r}")
    if isinstance(candidates, bool) or not isinstance(candidates, int) or candidates < 1:
        raise ValueError(f"bamford: candidates must be a positive integer, got {candidates!r}")
    for name, v, lo, hi in (("p_form", p_form, 0.0, 1.0), ("p_elim_dep", p_elim_dep, 0.0, 1.0),
                            ("p_elim_pot", p_elim_pot, 0.0, 1.0)):
        if not (isinstance(v, (int, float)) and lo <= v <= hi):
            raise ValueError(f"bamford: {name} must be a probability in [0, 1], got {v!r}")
    for name, v in (("sigma", sigma), ("g_max", g_max), ("attempt_rate", attempt_rate)):
        if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
            raise ValueError(f"bamford: {name} must be > 0, got {v!r}")
    rule = RewiringRule(
        "bamford", params=dict(p_form=p_form, sigma=sigma, width=width, candidates=candidates,
                               g_max=g_max, attempt_rate=attempt_rate, p_elim_dep=p_elim_dep,
                               p_elim_pot=p_elim_pot, no_self=float(bool(no_self))),
        code=_BAMFORD_CODE, init={"weight": "g_max"}, derived=_bamford_derived, max_add=4,
        attempts="attempts")
    return Rewiring(rule, period=period, max_in_degree=max_in_degree)
