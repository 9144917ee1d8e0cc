"""The public API that must not change: ``snnlab.__all__``, what
``snnlab.simulation`` exports, every public member of a Simulation (methods
with their signatures, properties and attributes) and the fields of the
recorded data.  ``api.json`` was recorded by this function at the commit
named in ``digests.json``, before the runtime was reorganised
(``python tests/golden/api.py > tests/golden/api.json``)."""

import dataclasses
import inspect
import json
import sys

import snnlab as sl


def api():
    import snnlab.simulation as simmod
    net = sl.Network(dt=0.1)
    net.population("n", sl.models.LIF(I_e=400.0), 3)
    sim = sl.Simulation(net, backend="cpu")
    names = sorted({k for k in dir(sim) if not k.startswith("_")})
    def params(fn):
        return [[p.name, p.kind.name, repr(p.default)]
                for p in inspect.signature(fn).parameters.values()]

    sigs = {}
    for k in names:
        v = inspect.getattr_static(sl.Simulation, k, None)
        if isinstance(v, classmethod):
            sigs[k] = params(v.__func__)
        elif callable(v) and not isinstance(v, property):
            sigs[k] = params(v)
    sigs["__init__"] = params(sl.Simulation.__init__)
    return {"__all__": sorted(sl.__all__),
            "snnlab.simulation": sorted(n for n in ("Simulation", "StateRecorder", "RecordedChunk",
                                                    "CapacityError") if hasattr(simmod, n)),
            "Simulation members": names, "Simulation parameters": sigs,
            "StateRecorder fields": [f.name for f in dataclasses.fields(sl.StateRecorder)
                                     if not f.name.startswith("_")],
            "RecordedChunk fields": [f.name for f in dataclasses.fields(sl.RecordedChunk)]}


if __name__ == "__main__":
    json.dump(api(), sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")
