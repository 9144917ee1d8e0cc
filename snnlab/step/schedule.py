"""The order of work: one step, and the launch groups outside it.

:func:`step_schedule` is the one place where the order of a step is set.
Every part of the state answers ``launches()`` with its work in the step,
as :class:`Planned` launches whose arguments are read when the schedule is
bound (arrays may be replaced between runs; the structure, which the
kernels and the CPU driver are compiled for, is known before anything is
allocated).  Launch groups outside the step (``reset``, later ``learn``)
are named in :data:`GROUPS` and launched once, on request.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..backend import Launch

__all__ = ["Planned", "step_schedule", "group_schedule", "GROUPS", "bound", "bound_all",
           "structure"]


@dataclass(frozen=True)
class Planned:
    """A launch before its arguments are read: kernel name, extent, timer
    phase (an index into ``backend.PHASES``), ``args`` (a callable returning
    the argument tuple) and ``gate`` (> 0: the kernel works only in steps
    that are multiples of it, see :class:`~snnlab.backend.Launch`)."""

    name: str
    extent: tuple
    phase: int
    args: Callable[[], tuple]
    gate: int = 0


def step_schedule(state, recorders) -> dict[str, list[Planned]]:
    """The step, in order, by name: ``step`` (and ``syn`` under the split
    schedule).

    Fused (one process): rewiring runs first, at the start of the steps it
    is due in; then the input of this step reaches the rings; then the
    neurons are updated and spike; plasticity acts on this step's spikes
    before they are propagated (a presynaptic spike is transmitted with the
    weight its own depression left); state is sampled; the step ends.

    Split (ranks, as NEST runs): ``step`` is the neurons' half (input,
    updates, samples; each step's spikes kept), run for a block of at most
    the shortest delay D ahead; then ``syn`` replays the block step by step
    (rewiring, plasticity, propagation of that step's spikes), in the fused
    order.  No spike of the block can arrive within it, and the synaptic
    work reads nothing the neurons' half writes but the spikes, so both
    orders give the same result bit for bit.  On the CPU the split
    schedule runs in blocks (``clear``, then ``step`` and ``syn``, reading
    each step's spikes from its row of the history:
    :attr:`~snnlab.plan.Plan.blocks`), on one process in one driver call."""
    rewiring = state.rewiring.launches()  # rule calls, then the in-degrees
    neurons = [
        *state.queues.launches(),  # queued input due in this step (CPU)
        *state.inputs.launches(),  # Poisson input
        *state.populations.launches(),  # spike sources and neuron updates, network order
    ]
    synaptic = [
        *state.stdp.launches(),  # depression, traces, potentiation
        *state.projections.launches(),  # this step's spikes into the rings (or queues)
    ]
    samples = recorders.launches()  # state samples
    if not state.clock.split:
        return {"step": [*rewiring, *neurons, *synaptic, *samples,
                         *state.clock.launches()]}  # spike counters cleared, the step advanced
    if state.plan.blocks:  # each step's spikes in its row of the history (CPU)
        return {"clear": state.populations.clear_launches(), "step": [*neurons, *samples],
                "syn": [*rewiring, *synaptic]}
    return {"step": [*neurons, *samples, *state.populations.stash_launches(),
                     *state.clock.launches()],
            "syn": [*state.populations.replay_launches(), *rewiring, *synaptic,
                    *state.clock.syn_launches()]}


# Launch groups outside the step: name -> the parts' launches, run once on
# request (Runner.launch_group).  Later: "learn" (a training step).
GROUPS = {
    # a new trial: neurons at their initial state, nothing in flight, traces at zero,
    # short-term synapses recovered
    "reset": lambda state, recorders: [*state.populations.reset_launches(),
                                       *state.queues.reset_launches(),
                                       *state.stdp.reset_launches(),
                                       *state.projections.reset_launches()],
}


def group_schedule(name: str, state, recorders) -> list[Planned]:
    """The launches of group ``name`` (:data:`GROUPS`)."""
    if name not in GROUPS:
        raise ValueError(f"launch group must be one of {sorted(GROUPS)}, got {name!r}")
    return GROUPS[name](state, recorders)


def structure(schedules: dict[str, list[Planned]]) -> dict[str, list[Launch]]:
    """The launches without arguments: what the kernels and driver are compiled for."""
    return {k: [Launch(p.name, (), p.extent, p.phase, p.gate) for p in planned]
            for k, planned in schedules.items()}


def bound(planned: list[Planned]) -> list[Launch]:
    """The launches with their arguments read now."""
    return [Launch(p.name, p.args(), p.extent, p.phase, p.gate) for p in planned]


def bound_all(schedules: dict[str, list[Planned]]) -> dict[str, list[Launch]]:
    return {k: bound(planned) for k, planned in schedules.items()}
