"""Checkpoints: the whole state of a simulation in one file, saved and
restored by asking each part of the state.

The file holds state, never code.  It is a ZIP archive of uncompressed
NumPy arrays (``<name>.npy``, one per key: ``step``, ``pop/<name>/state``,
``proj/<name>/ind``, ``rec/<k>/values``, ...) and ``meta.json``: the format
and its version, the run's options, the live parameters, input rates and
plasticity amplitudes, the recorders, a description of the network (to
name any difference from the network it is restored into) and each array's
dtype, shape and SHA-256.  Readable without snnlab (``zipfile``,
``numpy.load`` on each member, ``json``).

Restoring reads ``meta.json``, plans the simulation from the network the
caller passes, and checks every array against the plan before anything is
allocated: the names, dtypes and shapes from the archive's directory and
the arrays' headers, then the checksums and the values (indices in range,
rows ordered, delays within the rings, values finite in the kernels'
types).  A checkpoint is written to a temporary file beside the target and
renamed over it, so an interrupted write leaves the previous one whole.

Files of the first format (``meta.npy``, a pickle) restore only with
``allow_pickle=True``: unpickling can run code.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import math
import pickle
import re
import zipfile
from pathlib import Path

import numpy as np

from .backend.cpu import host_memory_available
from .distributions import Distribution, Values
from .files import write_atomically
from .plan import check_input_range, kernel_constants, stdp_history
from .plan.layout import SYNAPSE_DTYPES

__all__ = ["FORMAT", "VERSION", "CheckpointError", "save", "collect", "write", "read", "check",
           "load_into", "describe"]

FORMAT = "snnlab-checkpoint"
VERSION = 2
META = "meta.json"
META_LIMIT = 64 << 20  # bytes of meta.json read at most
_NAME = re.compile(r"^[A-Za-z0-9_./<>\-]+$")


class CheckpointError(ValueError):
    """A checkpoint file that cannot be restored: not one, damaged, from an
    untrusted older format, or made from another network."""


# ---------------------------------------------------------------- writing
def save(path, network, options, state, observation) -> None:
    """Write ``state`` and what ``observation`` recorded to ``path``
    (atomically: a temporary file beside it, renamed over it)."""
    write(path, *collect(network, options, state, observation))


def collect(network, options, state, observation) -> tuple[dict, dict]:
    """The arrays and metadata of a checkpoint of ``state`` (on a rank: its
    own part, which :mod:`snnlab.distributed` merges into the whole)."""
    arrays: dict[str, np.ndarray] = {}
    meta = {"format": FORMAT, "version": VERSION, "seed": options.seed,
            "precision": options.precision, "chunk_steps": options.chunk_steps,
            "recorded": list(options.recorded)}
    state.clock.save(arrays)
    rings = {name: state.queues.ring_with_queues(name) for name in state.populations.by_name}
    state.populations.save(arrays, meta, rings)
    observation.spikes.save(arrays)
    state.projections.save(arrays)
    state.rewiring.save(arrays)
    state.stdp.save(arrays, meta)
    observation.recorders.save(arrays, meta)
    state.inputs.save(arrays, meta)
    meta["plasticity"] = {k: _rule_fields(r) for k, r in meta.get("plasticity", {}).items()}
    meta["inputs"] = {k: list(v) for k, v in meta["inputs"].items()}
    meta["network"] = describe(network)
    return arrays, meta


def write(path, arrays: dict, meta: dict) -> None:
    """Write a checkpoint's arrays and metadata to ``path``, atomically."""
    meta = dict(meta)
    meta["arrays"] = {}
    blobs = {}
    for name, a in arrays.items():
        a = np.ascontiguousarray(a)
        buf = io.BytesIO()
        np.lib.format.write_array(buf, a, allow_pickle=False)
        blobs[name] = buf.getvalue()
        meta["arrays"][name] = {"dtype": a.dtype.str, "shape": list(a.shape),
                                "sha256": hashlib.sha256(a.tobytes()).hexdigest()}
    path = Path(path)
    if path.is_dir() or not path.name:
        raise ValueError(f"checkpoint: {str(path)!r} is a folder; give a file name")

    def write(f):
        with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED, allowZip64=True) as z:
            z.writestr(META, json.dumps(_jsonable(meta), indent=1, allow_nan=False))
            for name, blob in blobs.items():
                z.writestr(f"{name}.npy", blob)
    write_atomically(path, write)


def _rule_fields(rule) -> dict:
    return {"type": type(rule).__name__, "fields": dataclasses.asdict(rule)}


def _jsonable(x):
    """JSON with non-finite floats as the strings "inf", "-inf", "nan"."""
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        x = float(x)
        return x if math.isfinite(x) else repr(x)
    return x


def describe(network) -> dict:
    """The network's structure as JSON: what a checkpoint is compared with
    when it is restored (code as digests: a checkpoint holds no code)."""
    def digest(*parts) -> str:
        h = hashlib.sha256()
        for p in parts:
            h.update(np.ascontiguousarray(p).tobytes() if isinstance(p, np.ndarray)
                     else repr(p).encode())
            h.update(b"\0")
        return h.hexdigest()[:16]

    def fields(obj) -> dict:
        if not dataclasses.is_dataclass(obj):
            return {}
        out = {}
        for f in dataclasses.fields(obj):
            v = getattr(obj, f.name)
            if isinstance(v, np.ndarray):
                v = digest(v)
            elif callable(v) or dataclasses.is_dataclass(v):
                v = digest(getattr(v, "__qualname__", type(v).__name__))
            out[f.name] = v
        return out

    def model(m) -> dict:
        return {"name": m.name, "kind": m.kind, "params": dict(m.params),
                "state": {k: (digest(v.values) if isinstance(v, Values) else
                              v.encode().tolist() if isinstance(v, Distribution) else v)
                          for k, v in m.state.items()},
                "ports": list(m.ports), "refractory": m.refractory,
                "code": digest(m.update, m.threshold, m.reset),
                "extra": digest(*[np.asarray(t, np.float64)
                                  for t in m.extra.get("times", [])])}

    def rule(r) -> dict | None:
        return None if r is None else {"type": type(r).__name__, "fields": fields(r)}

    return _jsonable({
        "dt": network.dt,
        "populations": {p.name: {"n": p.n, "model": model(p.model)}
                        for p in network.populations.values()},
        "projections": {
            p.name: {"pre": p.pre.name, "post": p.post.name,
                     "connector": {"type": type(p.connector).__name__,
                                   "fields": fields(p.connector)},
                     "weight": p.weight.encode().tolist(), "delay": p.delay.encode().tolist(),
                     "port": p.port, "plasticity": rule(p.plasticity),
                     "short_term": None if p.short_term is None else fields(p.short_term),
                     "rewiring": None if p.rewiring is None else {
                         "rule": p.rewiring.rule.name,
                         "code": digest(p.rewiring.rule.code, sorted(p.rewiring.rule.init.items()),
                                        p.rewiring.rule.max_add, p.rewiring.rule.multapses),
                         "params": dict(p.rewiring.rule.params),
                         "period": p.rewiring.period,
                         "max_in_degree": p.rewiring.max_in_degree}}
            for p in network.projections.values()},
        "inputs": {i.name: {"target": i.target.name, "rate": i.rate, "weight": i.weight,
                            "port": i.port} for i in network.inputs.values()},
        "dc": dict(network.dc)})


def differences(saved, given, where: str = "network") -> list[str]:
    """Where two descriptions differ, as readable lines."""
    if isinstance(saved, dict) and isinstance(given, dict):
        out = []
        for k in saved.keys() - given.keys():
            out.append(f"{where}.{k}: in the checkpoint, not in the network")
        for k in given.keys() - saved.keys():
            out.append(f"{where}.{k}: in the network, not in the checkpoint")
        for k in saved.keys() & given.keys():
            out += differences(saved[k], given[k], f"{where}.{k}")
        return sorted(out)
    if saved != given:
        return [f"{where}: {saved!r} in the checkpoint, {given!r} in the network"]
    return []


def _with_new_fields(saved: dict) -> dict:
    """A saved description with the plasticity rules' fields that came after
    it (e.g. ``dendritic_delay``, ``same_step``) at their defaults: a
    checkpoint written before them is of the same network."""
    from . import plasticity

    saved = json.loads(json.dumps(saved))
    for p in saved.get("projections", {}).values():
        p.setdefault("short_term", None)  # (none before short-term plasticity came)
        rule = p.get("plasticity")
        cls = getattr(plasticity, str((rule or {}).get("type")), None)
        if not (isinstance(rule, dict) and dataclasses.is_dataclass(cls)):
            continue
        for f in dataclasses.fields(cls):
            if f.default is not dataclasses.MISSING:
                rule.setdefault("fields", {}).setdefault(f.name, _jsonable(f.default))
    return saved


# ---------------------------------------------------------------- reading
def read(path, network=None, allow_pickle: bool = False):
    """``(arrays, meta, network)`` of a checkpoint file, its directory,
    headers and checksums checked.  ``network``: the description to restore
    into (required for the current format, which holds no code)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint file {str(path)!r}")
    if not zipfile.is_zipfile(path):
        raise CheckpointError(f"{path}: not a snnlab checkpoint (not a ZIP archive)")
    try:
        with zipfile.ZipFile(path) as z:
            infos = {i.filename: i for i in z.infolist()}
            if "meta.npy" in infos:
                return _read_first_format(path, z, infos, network, allow_pickle)
            if META not in infos:
                raise CheckpointError(f"{path}: not a snnlab checkpoint (no {META})")
            if infos[META].file_size > META_LIMIT:
                raise CheckpointError(f"{path}: {META} of {infos[META].file_size} bytes")
            try:
                meta = json.loads(z.read(META).decode())
            except (ValueError, UnicodeDecodeError) as e:
                raise CheckpointError(f"{path}: {META} is not valid JSON ({e})") from None
            if not isinstance(meta, dict) or meta.get("format") != FORMAT:
                raise CheckpointError(f"{path}: not a snnlab checkpoint ({META} names no "
                                      f"format {FORMAT!r})")
            if meta.get("version") != VERSION:
                raise CheckpointError(f"{path}: checkpoint version {meta.get('version')!r}; "
                                      f"this snnlab reads {VERSION} (and 1, with allow_pickle)")
            if network is None:
                raise CheckpointError(
                    f"{path}: a checkpoint holds the state, not the model: pass the network "
                    "it was made from, Simulation.restore(path, network=net)")
            declared = meta.get("arrays")
            if not isinstance(declared, dict):
                raise CheckpointError(f"{path}: {META} lists no arrays")
            members = {n[:-4] for n in infos if n.endswith(".npy")}
            extra = sorted(set(infos) - {META} - {f"{n}.npy" for n in declared})
            if extra or members != set(declared):
                raise CheckpointError(f"{path}: the archive's members do not match {META} "
                                      f"(unexpected: {extra[:5]}, missing: "
                                      f"{sorted(set(declared) - members)[:5]})")
            for name, d in declared.items():
                _check_declared(path, name, d, infos[f"{name}.npy"])
            total = sum(infos[f"{name}.npy"].file_size for name in declared)
            if total > host_memory_available():
                raise CheckpointError(f"{path}: its arrays take {total / 2**30:.2f} GiB, "
                                      f"{host_memory_available() / 2**30:.2f} GiB are available")
            return meta, (lambda: _read_arrays(path, declared)), network
    except zipfile.BadZipFile as e:
        raise CheckpointError(f"{path}: a damaged checkpoint ({e})") from None


def _check_declared(path, name, d, info) -> None:
    if not _NAME.match(name) or ".." in name:
        raise CheckpointError(f"{path}: array name {name!r}")
    if info.compress_type != zipfile.ZIP_STORED:
        raise CheckpointError(f"{path}: {name} is compressed (checkpoints store arrays as "
                              "they are, so their size is known before reading)")
    try:
        dtype = np.dtype(d["dtype"])
        shape = tuple(int(s) for s in d["shape"])
    except (KeyError, TypeError, ValueError):
        raise CheckpointError(f"{path}: {name}: dtype and shape in {META} are {d!r}") from None
    if dtype.kind not in "biuf" or dtype.hasobject or any(s < 0 for s in shape):
        raise CheckpointError(f"{path}: {name}: dtype {dtype} shape {shape} (numbers only)")
    need = math.prod(shape) * dtype.itemsize
    if info.file_size < need or info.file_size > need + 4096:
        raise CheckpointError(f"{path}: {name}: {info.file_size} bytes in the archive for "
                              f"{dtype} {shape} ({need} bytes of data)")


def _read_arrays(path, declared) -> dict[str, np.ndarray]:
    """The arrays, each header matched with its declaration, each checksum checked."""
    out = {}
    with zipfile.ZipFile(path) as z:
        for name, d in declared.items():
            with z.open(f"{name}.npy") as f:
                try:
                    version = np.lib.format.read_magic(f)
                    header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                              else np.lib.format.read_array_header_2_0)
                    shape, fortran, dtype = header(f)
                except ValueError as e:
                    raise CheckpointError(f"{path}: {name}: not a NumPy array ({e})") from None
                if (dtype != np.dtype(d["dtype"]) or tuple(shape) != tuple(d["shape"])
                        or fortran):
                    raise CheckpointError(f"{path}: {name}: its header says {dtype} {shape}, "
                                          f"{META} says {d['dtype']} {tuple(d['shape'])}")
                data = f.read(math.prod(shape) * dtype.itemsize)
            a = np.frombuffer(data, dtype=dtype).reshape(shape).copy()
            if a.size != math.prod(shape):
                raise CheckpointError(f"{path}: {name}: truncated")
            if hashlib.sha256(a.tobytes()).hexdigest() != d.get("sha256"):
                raise CheckpointError(f"{path}: {name}: the checksum does not match (the "
                                      "file is damaged)")
            out[name] = a
    return out


def _read_first_format(path, z, infos, network, allow_pickle):
    """A checkpoint of the first format: arrays and a pickled ``meta``."""
    if not allow_pickle:
        raise CheckpointError(
            f"{path}: a checkpoint of the first format, whose metadata is a pickle, which "
            "can run code when read. Restore it only if you trust the file: "
            "Simulation.restore(path, allow_pickle=True); checkpoint it again to get the "
            "current format, which holds no code")
    with np.load(path, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    legacy = pickle.loads(arrays.pop("meta").tobytes())  # the caller trusts this file
    if legacy.get("version") != 1:
        raise CheckpointError(f"{path}: unsupported checkpoint version {legacy.get('version')}")
    net = network if network is not None else legacy.get("network")
    if net is None:
        raise CheckpointError(f"{path}: the network could not be stored in the checkpoint "
                              "(a model holds an unpicklable function); pass network=")
    meta = {k: legacy[k] for k in ("seed", "precision", "chunk_steps", "recorded", "params",
                                   "inputs")}
    meta["recorders"] = [list(r) for r in legacy.get("recorders", [])]
    meta["plasticity"] = {k: _rule_fields(r) for k, r in legacy.get("plasticity", {}).items()}
    meta["inputs"] = {k: list(v) for k, v in meta["inputs"].items()}
    meta["network"] = describe(net)
    return meta, (lambda: arrays), net


# ---------------------------------------------------------------- checking
def check(path, arrays: dict, meta: dict, plan, network) -> int:
    """Every array and value of a checkpoint against the simulation planned
    for it, before anything is allocated: raises CheckpointError naming
    what is wrong.  Returns the shortest of its synapses' own delays
    [steps] (added at run time, they may be shorter than the projections'
    range; a large number without any)."""
    bad = differences(_with_new_fields(meta["network"]), describe(network))
    if bad:
        raise CheckpointError(f"{path}: made from another network: " + "; ".join(bad[:5])
                              + (f" (and {len(bad) - 5} more)" if len(bad) > 5 else ""))
    lay = plan.layout
    shortest = 1 << 30

    def fail(msg):
        raise CheckpointError(f"{path}: {msg}")

    def get(name, dtype=None, size=None):
        if name not in arrays:
            fail(f"{name} is missing")
        a = arrays[name]
        if dtype is not None and a.dtype != np.dtype(dtype):
            fail(f"{name} has dtype {a.dtype}, not {np.dtype(dtype)}")
        if size is not None and a.size != size:
            fail(f"{name} has {a.size} values, the network needs {size}")
        return a

    known = set()

    def use(name, dtype=None, size=None):
        known.add(name)
        return get(name, dtype, size)

    step = use("step", np.int64, 1)
    step = int(step[0])
    if step < 0:
        fail(f"step {step}")
    scalar = plan.options.scalar
    for name, pp in plan.populations.items():
        o, n = f"pop/{name}", pp.pop.n
        state = use(f"{o}/state", None, lay.size(o, "state"))
        if state.dtype.kind != "f" or not np.all(np.isfinite(state.astype(scalar))):
            fail(f"{o}/state: not finite in {scalar}")
        refrac = use(f"{o}/refrac", np.int32, n)
        if refrac.size and refrac.min() < 0:
            fail(f"{o}/refrac: negative counts")
        use(f"{o}/inbuf", np.int64, lay.size(o, "inbuf"))
        use(f"{o}/param", np.float64)  # recomputed from the parameters below
        params = meta["params"].get(name)
        if not isinstance(params, dict) or set(params) != set(pp.params):
            fail(f"params of {name!r}: {sorted(params or {})}, the model has "
                 f"{sorted(pp.params)}")
        try:
            kernel_constants(pp.pop, {k: float(v) for k, v in params.items()}, plan.network.dt,
                             pp.constants, plan.options.precision)
        except (ValueError, TypeError) as e:
            fail(f"params of {name!r}: {e}")
        if pp.kernel == "spike_source_array":
            cursor = int(use(f"{o}/ssa_cursor", np.int64, 1)[0])
            if not 0 <= cursor <= lay.dims[o]["n_events"]:
                fail(f"{o}/ssa_cursor {cursor} beyond the {lay.dims[o]['n_events']} events")
        if name in plan.options.recorded and f"{o}/spike_steps" in arrays:
            s, i = use(f"{o}/spike_steps"), use(f"{o}/spike_ids")
            if s.dtype.kind not in "iu" or i.dtype.kind not in "iu" or s.shape != i.shape \
                    or s.ndim != 1:
                fail(f"{o}: spike steps and ids of dtypes {s.dtype}, {i.dtype}, shapes "
                     f"{s.shape}, {i.shape}")
            if s.size and (s.min() < 0 or s.max() >= step or i.min() < 0 or i.max() >= n
                           or np.any(np.diff(s) < 0)):
                fail(f"{o}: recorded spikes out of range or out of order")
    if "spikes/covered" in arrays:  # the recorded steps: since, then gaps [a, b)
        c = use("spikes/covered")
        if c.dtype.kind not in "iu" or c.ndim != 1 or c.size % 2 != 1 or c.min(initial=0) < 0 \
                or c.max(initial=0) > step or np.any(np.diff(c[1:]) < 0):
            fail(f"spikes/covered: {c.tolist()[:9]} is not a start and ordered gaps "
                 f"within [0, {step}]")
    for name in plan.network.inputs:
        for k in ("param", "table"):
            use(f"input/{name}/{k}")  # recomputed from the rate and weight below
        v = meta["inputs"].get(name)
        if not (isinstance(v, list) and len(v) == 2
                and all(isinstance(x, (int, float)) and math.isfinite(x) for x in v)
                and v[0] >= 0):
            fail(f"input {name!r}: rate and weight {v!r}")
    for name, pp in plan.projections.items():
        o, proj = f"proj/{name}", pp.proj
        n_pre, n_post = proj.pre.n, proj.post.n
        lengths = use(f"{o}/row_length", np.int32, n_pre)
        ind = use(f"{o}/ind", np.int32)
        if ind.ndim != 1 or (ind.size != 1 and ind.size % max(n_pre, 1)):
            fail(f"{o}/ind: {ind.size} places for {n_pre} rows")
        cap = ind.size // max(n_pre, 1)
        if lengths.size and (lengths.min() < 0 or lengths.max() > cap):
            fail(f"{o}/row_length: rows of {lengths.min()}..{lengths.max()} synapses, "
                 f"{cap} places each")
        rows = ind[:n_pre * cap].reshape(n_pre, cap) if cap else np.zeros((n_pre, 0), np.int32)
        live = np.arange(cap)[None, :] < lengths[:, None]
        targets = rows[live]
        if targets.size and (targets.min() < 0 or targets.max() >= n_post):
            fail(f"{o}/ind: targets {targets.min()}..{targets.max()}, the population has "
                 f"{n_post}")
        ordered = np.where(live[:, 1:], np.diff(rows, axis=1) >= 0, True)
        if not ordered.all():
            fail(f"{o}/ind: a row is not ordered by target")
        w_const = use(f"{o}/w_const", np.float64, 1)
        weights = None
        for key in [k for k in arrays if k.startswith(f"{o}/syn/")]:
            syn = use(key)
            k = key.rsplit("/", 1)[1]
            if syn.size != ind.size or syn.dtype.kind not in "iuf":
                fail(f"{key}: {syn.dtype} of {syn.size} values for {ind.size} places")
            if k in ("weight", "delay"):
                if syn.dtype != SYNAPSE_DTYPES[k]:
                    fail(f"{key} has dtype {syn.dtype}, not {SYNAPSE_DTYPES[k]}")
            values = syn[:n_pre * cap].reshape(n_pre, cap)[live] if cap else syn[:0]
            if syn.dtype.kind == "f" and not np.all(np.isfinite(values)):
                fail(f"{key}: values that are not finite")
            longest = plan.populations[proj.post.name].n_slots - 1
            if k == "delay" and values.size and (values.min() < 1 or values.max() > longest):
                fail(f"{key}: delays of {values.min()}..{values.max()} steps, the ring of "
                     f"{proj.post.name!r} holds 1..{longest}")
            if k == "delay" and values.size:
                shortest = min(shortest, int(values.min()))
            if k == "weight":
                weights = values
        if pp.individual_weight and weights is None:
            fail(f"{o}/syn/weight is missing")
        if proj.short_term is not None:  # each synapse's state: resources, utilisation, stamp
            for k in ("tm_used", "tm_y", "tm_u", "tm_last"):
                if f"{o}/syn/{k}" not in arrays:
                    fail(f"{o}/syn/{k} is missing (the synapses' short-term state)")
            last = arrays[f"{o}/syn/tm_last"]
            last = last[:n_pre * cap].reshape(n_pre, cap)[live] if cap else last[:0]
            if last.size and (last.min() < 0 or last.max() > step + 1):
                fail(f"{o}/syn/tm_last: stamps {last.min()}..{last.max()}, the clock is at "
                     f"step {step}")
        if not np.isfinite(w_const[0]):
            fail(f"{o}/w_const is not finite")
        in_degree = int(np.bincount(targets, minlength=1).max(initial=0))
        w_max = float(np.abs(weights).max(initial=0.0)) if weights is not None \
            else abs(float(w_const[0]))
        try:
            check_input_range(f"{o}", w_max, in_degree)
        except ValueError as e:
            fail(str(e))
        if proj.plasticity is not None:
            traces = [("trace_x", np.float64, n_pre)]
            if f"{o}/lazy_t_pre" in arrays:  # the lazy scheme's
                k = stdp_history(proj.plasticity, plan.network.dt)
                traces += [("lazy_t_pre", np.int64, n_pre), ("lazy_stamp", np.int64, n_post * k),
                           ("lazy_y_after", np.float64, n_post * k),
                           ("lazy_count", np.int64, n_post)]
                if f"{o}/lazy_recent" in arrays:  # written before it was read off the rings
                    traces += [("lazy_recent", np.int64, n_post * 4)]
            else:  # the eager scheme of earlier versions (restored into the lazy one)
                traces += [("trace_y", np.float64, n_post)]
            for key, dtype, size in traces:
                t = use(f"{o}/{key}", dtype, size)
                if not np.all(np.isfinite(t)) or (key == "lazy_count" and t.min(initial=0) < 0):
                    fail(f"{o}/{key}: not finite" if dtype is np.float64 else
                         f"{o}/{key}: negative counts")
            saved = meta.get("plasticity", {}).get(name)
            if not isinstance(saved, dict) or saved.get("type") != type(proj.plasticity).__name__:
                fail(f"plasticity of {name!r}: {saved!r}")
            try:
                dataclasses.replace(proj.plasticity, **saved["fields"])
            except (TypeError, ValueError) as e:
                fail(f"plasticity of {name!r}: {e}")
        if proj.rewiring is not None and f"{o}/rewire_calls" in arrays:
            calls = use(f"{o}/rewire_calls", np.int64)
            counts = use(f"{o}/rewire_counts", np.int64)
            if counts.shape != (calls.size, 3) or (counts.size and counts.min() < 0):
                fail(f"{o}: rewiring counts of shape {counts.shape} for {calls.size} calls")
    for k, r in enumerate(meta.get("recorders", [])):
        if not (isinstance(r, list) and len(r) == 3):
            fail(f"recorder {k}: {r!r}")
        population, variables, every = r
        if population not in plan.populations or not isinstance(every, int) or every < 1 \
                or not all(v in plan.populations[population].pop.model.state
                           for v in variables):
            fail(f"recorder {k}: {r!r}")
        neurons = use(f"rec/{k}/neurons")
        n = plan.populations[population].pop.n
        if neurons.dtype.kind not in "iu" or neurons.ndim != 1 or neurons.size == 0 \
                or neurons.min() < 0 or neurons.max() >= n:
            fail(f"rec/{k}/neurons: indices outside [0, {n})")
        steps, values = use(f"rec/{k}/steps"), use(f"rec/{k}/values")
        if steps.ndim != 1 or values.size != steps.size * len(variables) * neurons.size:
            fail(f"rec/{k}: {values.size} values for {steps.size} samples")
    unknown = sorted(set(arrays) - known)
    if unknown:
        fail(f"arrays the network does not have: {unknown[:5]}")
    return shortest


def load_into(arrays: dict, meta: dict, state, observation) -> None:
    """Set the created state to a checked checkpoint's (the step first: the
    rows and the rewiring counts are read in :meth:`snnlab.state.State.build`)."""
    state.populations.load(arrays, meta)
    state.queues.load()  # (after the rings)
    state.inputs.load(arrays, meta)
    state.stdp.load_rules(meta)
    observation.spikes.load(arrays)
    observation.base = state.clock.step
