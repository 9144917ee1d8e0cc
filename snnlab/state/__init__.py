"""state: the arrays of a simulation on its target, one part per concern.

The only layer that allocates (through :class:`~.memory.Arena`, by the
plan's layout).  Each part is a plain class answering a few questions:
``launches()`` (its work in the step, :mod:`snnlab.step.schedule`), what to
do around runs (``room``, ``after_run``, ``drain``), and ``save``/``load``
(:mod:`snnlab.checkpoint`).  :class:`State` makes them in dependency order;
they allocate in :meth:`State.create` and :meth:`State.build`, so the step's
structure is known, and compiled, before any array exists.
"""

from __future__ import annotations

from ..plan import Plan
from .clock import Clock
from .inputs import PoissonInputs
from .memory import Arena
from .populations import Populations, PopulationState
from .projections import CapacityError, Projections, ProjectionState
from .queues import Queues
from .rewiring import Rewiring
from .stdp import Stdp

__all__ = ["State", "Arena", "Clock", "Populations", "PopulationState", "PoissonInputs",
           "Queues", "Projections", "ProjectionState", "Stdp", "Rewiring", "CapacityError"]


class State:
    """Every part of a simulation's state.

    clock, populations, inputs, queues, projections, stdp, rewiring
        the parts, each a module of this package.
    """

    def __init__(self, plan: Plan, backend, launch):
        """``launch(name, *args, extent=)``: run one kernel now (construction)."""
        self.plan = plan
        self.backend = backend
        self.launch = launch
        self.arena = Arena(backend, plan.layout)
        self.clock = Clock(self.arena, len(plan.network.populations),
                           split=plan.options.schedule == "split",
                           ranks=plan.options.partition.n_ranks > 1)
        self.populations = Populations(plan, self.arena, self.clock)
        self.inputs = PoissonInputs(plan, self.arena, self.clock, self.populations)
        self.queues = Queues(plan, self.arena, self.clock, self.populations)
        self.projections = Projections(plan, self.arena, self.clock, self.populations,
                                       self.queues, launch)
        self.stdp = Stdp(plan, self.arena, self.populations, self.projections, launch)
        self.rewiring = Rewiring(plan, self.arena, self.clock, self.projections, self.stdp)

    def create(self) -> None:
        """Allocate the neurons' state (initial values drawn), queues and inputs."""
        self.clock.create()
        self.populations.create(self.launch)
        self.queues.create()
        self.inputs.create()

    def build(self, restored: dict | None = None) -> None:
        """The connectivity: constructed on the target, or the rows of a
        checkpoint's ``restored`` arrays; then what depends on the rows."""
        if restored is None:
            self.projections.build()
            if self.clock.ranks:  # only the rows of the sources that reach this rank
                self.populations.create_images(self.projections.compact_sources())
            self.stdp.create()
        else:
            self.projections.load(restored)
            saved = Stdp.saved_traces(restored, self.plan)
            if self.clock.ranks:  # the rows of the sources that reach this rank, and theirs
                images = self.projections.compact_sources()
                self.populations.create_images(images)
                for name, traces in saved.items():
                    rows = images[self.plan.projections[name].proj.pre.name]
                    for k in ("trace_x", "lazy_t_pre"):
                        if k in traces:
                            traces[k] = traces[k][rows]
            self.stdp.create(saved)
        self.rewiring.create(restored)
        # whoever keeps a view of the rows is told when host edits change them
        self.projections.watchers = [self.rewiring.rows_changed]
        self.projections.settlers = [self.stdp.settle]
