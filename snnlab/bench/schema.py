"""The benchmark record: one schema for every run of every simulator.

A record is one timed run of one case (:class:`snnlab.bench.config.Case`)::

    schema, version   "snnlab-bench-record", 2 (version 1 records, which lack
                      thread_phases, are read as version 2 with none)
    uuid, created     a UUID4 and the UTC time it was made (ISO 8601)
    name              the configuration's name
    case, case_key    the case (model, options, simulator, backend, threads,
                      ranks, seed) and the key comparisons match by (no seed)
    repeat            which timed run of its case and seed (0, 1, ...)
    status            "ok", "out_of_band" (ran, failed the correctness gate)
                      or "failed" (did not finish: error says why)
    error             null, or why it failed
    simulator         {name, version}, and snnlab's schedule {name, block_steps}
    timers            beNNch's: create, connect, prepare, presim, sim [s]
    rtf               sim / model time
    phases            the step's phases [s] (snnlab; the peers: {})
    thread_phases     each CPU thread's phases [s], thread 0 first (its own
                      clock; ``wait``: at the driver's barriers between
                      kernels); rank by rank on ranks (snnlab; the peers: [])
    memory            {host_peak_bytes, device_peak_bytes}
    counts            {neurons, synapses, spikes}
    statistics        {rates, cv_isi}: per population, in the measured window
    gate              {checked, passed, band, failures}
    calibration_s     the calibration workload's time just before the run
                      (null when not measured)
    context           snnlab.bench.metadata.context(): where and with what
    config            the configuration as run (merged, with overrides)

Every field is present in every record (null where a simulator has no such
figure), so tables of records need no special cases.
"""

from __future__ import annotations

import datetime
import math
import uuid as _uuid

__all__ = ["SCHEMA", "VERSION", "new_record", "check_record", "finite_json", "FIELDS",
           "TIMERS"]

SCHEMA = "snnlab-bench-record"
VERSION = 2
READS = (1, 2)  # versions read (1: as 2, without thread phases)
TIMERS = ("create", "connect", "prepare", "presim", "sim")
FIELDS = ("schema", "version", "uuid", "created", "name", "case", "case_key", "repeat",
          "status", "error", "simulator", "timers", "rtf", "phases", "thread_phases", "memory",
          "counts", "statistics", "gate", "calibration_s", "context", "config")
STATUSES = ("ok", "out_of_band", "failed")


def finite_json(x):
    """JSON has no NaN or infinity: they become null (in dicts, lists, tuples)."""
    if isinstance(x, dict):
        return {k: finite_json(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [finite_json(v) for v in x]
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def new_record(*, name: str, case, repeat: int, status: str, error: str | None = None,
               simulator: dict | None = None, timers: dict | None = None,
               rtf: float | None = None, phases: dict | None = None,
               thread_phases: list | None = None, memory: dict | None = None,
               counts: dict | None = None,
               statistics: dict | None = None, gate: dict | None = None,
               calibration_s: float | None = None, context: dict, config: dict) -> dict:
    """A record with every field (see the module's docstring)."""
    r = {"schema": SCHEMA, "version": VERSION, "uuid": str(_uuid.uuid4()),
         "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
         "name": name, "case": case.as_dict(), "case_key": case.key, "repeat": int(repeat),
         "status": status, "error": error,
         "simulator": simulator or {"name": case.simulator, "version": None},
         "timers": {k: (timers or {}).get(k) for k in TIMERS}, "rtf": rtf,
         "phases": phases or {}, "thread_phases": list(thread_phases or []),
         "memory": {"host_peak_bytes": (memory or {}).get("host_peak_bytes"),
                    "device_peak_bytes": (memory or {}).get("device_peak_bytes")},
         "counts": {k: (counts or {}).get(k) for k in ("neurons", "synapses", "spikes")},
         "statistics": statistics or {"rates": {}, "cv_isi": {}},
         "gate": gate or {"checked": False, "passed": None, "band": None, "failures": []},
         "calibration_s": calibration_s, "context": context, "config": config}
    return check_record(finite_json(r))


def check_record(r, where: str = "record") -> dict:
    """``r`` if it is a record of this schema and version (a version 1
    record: a copy as version 2, with no thread phases), else ValueError
    naming what is wrong."""
    if not isinstance(r, dict):
        raise ValueError(f"{where}: a record is a JSON object, got {type(r).__name__}")
    if r.get("schema") != SCHEMA:
        raise ValueError(f"{where}: not a {SCHEMA} (schema {r.get('schema')!r})")
    if r.get("version") not in READS:
        raise ValueError(f"{where}: record version {r.get('version')!r}; this snnlab reads "
                         f"versions {', '.join(map(str, READS))}")
    if r["version"] == 1:
        r = {**r, "version": VERSION, "thread_phases": []}
    missing = [k for k in FIELDS if k not in r]
    if missing:
        raise ValueError(f"{where}: record {r.get('uuid')} lacks {', '.join(missing)}")
    for k in ("case", "simulator", "timers", "phases", "memory", "counts", "statistics",
              "gate", "context", "config"):
        if not isinstance(r[k], dict):
            raise ValueError(f"{where}: record {r['uuid']}: {k} is not an object")
    if not (isinstance(r["thread_phases"], list)
            and all(isinstance(row, dict) for row in r["thread_phases"])):
        raise ValueError(f"{where}: record {r['uuid']}: thread_phases is not a list of objects")
    for k in ("model", "options", "simulator", "backend", "threads", "ranks", "seed"):
        if k not in r["case"]:
            raise ValueError(f"{where}: record {r['uuid']}: case lacks {k}")
    if r["status"] not in STATUSES:
        raise ValueError(f"{where}: record {r['uuid']} has status {r['status']!r}; allowed: "
                         f"{', '.join(STATUSES)}")
    try:
        canonical = str(_uuid.UUID(str(r["uuid"])))
    except ValueError:
        canonical = None
    if canonical != r["uuid"]:  # (one spelling a UUID: the merge goes by it)
        raise ValueError(f"{where}: {r['uuid']!r} is not a UUID in its canonical form")
    return r
