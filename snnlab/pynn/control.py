"""setup, run and the queries of PyNN's control API."""

from __future__ import annotations

from pyNN import common
from pyNN.common.control import DEFAULT_MAX_DELAY, DEFAULT_MIN_DELAY, DEFAULT_TIMESTEP
from pyNN.recording import get_io

from . import simulator

_OPTIONS = ("threads", "seed", "backend", "precision")


def setup(timestep=DEFAULT_TIMESTEP, min_delay=DEFAULT_MIN_DELAY, **extra_params):
    """PyNN's setup; snnlab's own options: ``threads``, ``seed``,
    ``backend`` ("auto", "cpu", "cuda") and ``precision``."""
    max_delay = extra_params.get("max_delay", DEFAULT_MAX_DELAY)
    if extra_params.get("spike_precision", "on_grid") != "on_grid":
        raise NotImplementedError("snnlab.pynn: spike_precision="
                                  f"{extra_params['spike_precision']!r}; snnlab's spikes are "
                                  "on the time grid ('on_grid')")
    common.setup(timestep, min_delay, **extra_params)
    state = simulator.state
    state.clear()
    state.dt = float(timestep)
    state.auto_min_delay = min_delay == "auto"  # the shortest delay, once built
    state.min_delay = float(timestep if min_delay == "auto" else min_delay)
    state.max_delay = float(max_delay) if max_delay != "auto" else 1e4
    state.options = {k: extra_params[k] for k in _OPTIONS if k in extra_params}
    return 0


def end(compatible_output=True):
    """Write what ``record(..., to_file=)`` asked for."""
    for population, variables, filename in simulator.state.write_on_end:
        population.write_data(get_io(filename), variables)
    simulator.state.write_on_end = []


run, run_until = common.build_run(simulator)
run_for = run
_reset = common.build_reset(simulator)


def reset(annotations=None):
    """Time back to 0, the cells' state to its initial values, recordings
    in a new segment (``simulator.State.reset``)."""
    return _reset(annotations or {})
initialize = common.initialize
get_current_time, get_time_step, get_min_delay, get_max_delay, num_processes, rank = \
    common.build_state_queries(simulator)
