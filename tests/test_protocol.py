"""SimulationLike: a Simulation is one, and the views, dashboards, command
line and zoo helpers ask nothing else of a simulation, so a stand-in (a run
on several ranks, later) can take its place."""

import ast
from pathlib import Path

import numpy as np
import pytest

import snnlab as sl
from snnlab.protocol import SimulationLike, protocol_members
from snnlab.zoo import brunel

pytest.importorskip("bokeh")
from snnlab.viz import Dashboard, Membrane, Raster, Rates, input_rate  # noqa: E402

PACKAGE = Path(sl.__file__).parent
USERS = [*sorted((PACKAGE / "viz").glob("*.py")), PACKAGE / "cli.py",
         *sorted((PACKAGE / "zoo").glob("*.py"))]


def _simulation_members_used(path: Path) -> set[str]:
    """Attributes read or written on ``sim``, ``simulation`` or ``self.sim``."""
    used = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.Attribute):
            continue
        v = node.value
        if (isinstance(v, ast.Name) and v.id in ("sim", "simulation")) or (
                isinstance(v, ast.Attribute) and v.attr == "sim"
                and isinstance(v.value, ast.Name) and v.value.id == "self"):
            used.add(node.attr)
    return used


def test_a_simulation_is_simulation_like():
    sim = sl.Simulation(brunel.network(n=100), backend="cpu")
    assert isinstance(sim, SimulationLike)
    assert all(hasattr(sim, m) for m in protocol_members())


@pytest.mark.parametrize("path", USERS, ids=lambda p: p.name)
def test_users_ask_only_for_protocol_members(path):
    extra = _simulation_members_used(path) - protocol_members()
    assert not extra, f"{path.name} uses {sorted(extra)} of a simulation, outside SimulationLike"


class StandIn:
    """Something other than a Simulation with exactly SimulationLike's
    members (here forwarded to a local simulation)."""

    def __init__(self, sim):
        object.__setattr__(self, "_sim", sim)

    def __getattr__(self, name):
        if name not in protocol_members():
            raise AttributeError(f"StandIn has no {name!r}")
        return getattr(self._sim, name)

    def __setattr__(self, name, value):
        if name not in protocol_members():
            raise AttributeError(f"StandIn has no {name!r}")
        setattr(self._sim, name, value)


def test_a_dashboard_follows_a_stand_in():
    sim = sl.Simulation(brunel.network(n=400), backend="cpu", seed=2)
    stand_in = StandIn(sim)
    dash = Dashboard(stand_in, views=[Raster(), Rates(bin=5.0), Membrane("exc", neurons=(0, 1))],
                     controls=[input_rate("poisson->exc", 0.0, 30_000.0)], chunk=5.0)
    seen = []
    stand_in.add_observer(seen.append)
    dash.advance(4)
    assert sim.t == 20.0
    assert [c.last_step for c in seen] == [50, 100, 150, 200]
    (rec,) = sim.recorders  # the membrane view's, made through the stand-in
    assert any(id(rec) in c.samples for c in seen)
    np.testing.assert_array_equal(seen[-1].samples[id(rec)][1][-1],
                                  sim.state("exc", "V_m")[[0, 1]])
    dash.close()
    assert sim.recorders == []
