"""Benchmark configurations: TOML files with inheritance, expanded to cases.

A configuration names the axes of a matrix; every combination is a case::

    name = "brunel-small"
    extends = ["machines/this-machine.toml"]   # read first; this file overrides
    repeats = 3        # timed runs of each case and seed
    warmup = 1         # untimed runs of each case first (fills compile caches)
    timeout = 1800     # seconds a run may take before it is recorded as failed
    calibrate = true   # time a fixed workload before every run (compare --normalize)
    prefault = 0.0     # GiB touched in a throw-away process before every run (virtual
                       # machines whose host reclaims freed memory: see runner.prefault)
    order = "rounds"   # "rounds": each round runs every case once, in the matrix's
                       # order, and runs of one round are compared pair by pair;
                       # "cases": all of one case's runs, then the next case's
    store = "bench.sqlite"   # relative to this file (snnlab bench run --store overrides)

    [matrix]
    model = ["brunel"]
    simulator = ["snnlab", "nest", "brian2"]
    backend = ["cpu"]
    threads = [1, 2]
    ranks = [1]
    seed = [1, 2, 3]

    [models.brunel]    # each model's options: a list is one more axis
    n = [2500, 12500]
    t = 1000.0
    presim = 100.0

    [peers]            # where NEST and Brian2 run (default: the checkout's
    python = "..."     # benchmarks/.peers-venv and benchmarks/peers)
    scripts = "..."

Files named by ``extends`` (a path or a list, relative to the file naming
them) are read first, in order, each with its own ``extends``; tables merge
key by key and a later value replaces an earlier one (lists are replaced,
not joined).  ``overrides`` (``snnlab bench run --set matrix.seed=[1,2]``)
apply last.  Every key is checked: an unknown key or a value of the wrong
kind raises :class:`ConfigError` naming the key and what it allows.
"""

from __future__ import annotations

import itertools
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["Config", "Case", "ConfigError", "load", "parse", "MODEL_OPTIONS", "SIMULATORS"]

SIMULATORS = ("snnlab", "nest", "brian2")
BACKENDS = ("auto", "cpu", "cuda")
# each model's options (as `snnlab run` takes them) and their kinds
MODEL_OPTIONS = {
    "brunel": {"n": int, "short_term": bool, "t": float, "presim": float},
    "hpc_benchmark": {"scale": float, "plastic": bool, "pairing": str, "t": float,
                      "presim": float},
    "microcircuit": {"scale": float, "input": str, "thalamic": bool, "t": float,
                     "presim": float},
    "topographic_map": {"scale": int, "t": float},
}
CHOICES = {"pairing": ("nest", "soma"), "input": ("poisson", "dc")}
TOP = {"name": str, "extends": (str, list), "repeats": int, "warmup": int, "timeout": float,
       "calibrate": bool, "prefault": float, "order": str, "store": str, "matrix": dict,
       "models": dict, "peers": dict}
# how the timed runs are ordered (runner.run): in rounds of every case, or case by case
ORDERS = ("rounds", "cases")
MATRIX = {"model": str, "simulator": str, "backend": str, "threads": int, "ranks": int,
          "seed": int}
# what `snnlab run` does when t or presim is not given (its --t and --presim);
# the runner passes them to every simulator (the peer scripts' defaults differ)
RUN_DEFAULTS = {"t": 1000.0, "presim": 0.0}
MATRIX_DEFAULTS = {"simulator": ["snnlab"], "backend": ["auto"], "threads": [1], "ranks": [1],
                   "seed": [1]}
PEERS = {"python": str, "scripts": str}


class ConfigError(ValueError):
    """A configuration that cannot be run; the message names the key."""


@dataclass(frozen=True)
class Case:
    """One cell of the matrix, for one seed."""

    model: str
    options: tuple  # ((name, value), ...) sorted by name
    simulator: str
    backend: str
    threads: int
    ranks: int
    seed: int

    @property
    def key(self) -> str:
        """What a comparison matches cases by: everything but the seed."""
        opts = ",".join(f"{k}={v}" for k, v in self.options)
        return (f"{self.model}[{opts}]/{self.simulator}/{self.backend}"
                f"/threads={self.threads}/ranks={self.ranks}")

    def as_dict(self) -> dict:
        return {"model": self.model, "options": dict(self.options),
                "simulator": self.simulator, "backend": self.backend,
                "threads": self.threads, "ranks": self.ranks, "seed": self.seed}


@dataclass
class Config:
    name: str
    cases: list
    repeats: int = 3
    warmup: int = 1
    timeout: float = 1800.0
    calibrate: bool = True
    prefault: float = 0.0
    order: str = "rounds"
    store: Path | None = None
    peers: dict = field(default_factory=dict)
    source: dict = field(default_factory=dict)  # the merged configuration, as run


def _kind_name(kind) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join({str: "a string", int: "an integer", float: "a number",
                        bool: "true or false", list: "a list", dict: "a table"}[k]
                       for k in kinds)


def _check(where: str, value, kind):
    """value of kind (an int is a float; a bool is no number)."""
    kinds = kind if isinstance(kind, tuple) else (kind,)
    ok = any(isinstance(value, k) and not (k in (int, float) and isinstance(value, bool))
             or (k is float and isinstance(value, int) and not isinstance(value, bool))
             for k in kinds)
    if not ok:
        raise ConfigError(f"{where} must be {_kind_name(kind)}, got {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{where} must be finite, got {value!r}")
    return float(value) if kind is float else value


def _unknown(where: str, table: dict, allowed) -> None:
    bad = sorted(set(table) - set(allowed))
    if bad:
        prefix = f"{where}." if where else ""
        raise ConfigError(f"unknown key {prefix}{bad[0]}; allowed: {', '.join(sorted(allowed))}")


def _merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) \
            else v
    return out


def _read(path: Path, seen: tuple = ()) -> dict:
    path = path.resolve()
    if path in seen:
        raise ConfigError(f"extends: {path} includes itself (through "
                          f"{' -> '.join(str(p) for p in seen)})")
    try:
        data = tomllib.loads(path.read_text())
    except OSError as e:
        raise ConfigError(f"cannot read configuration {str(path)!r}: {e.strerror or e}") \
            from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from None
    ext = data.pop("extends", [])
    ext = [ext] if isinstance(ext, str) else ext
    _check("extends", ext, list)
    merged: dict = {}
    for base in ext:
        _check("extends[]", base, str)
        merged = _merge(merged, _read(path.parent / base, (*seen, path)))
    if "store" in data and isinstance(data["store"], str):
        data["store"] = str(path.parent / data["store"])
    peers = data.get("peers")
    if isinstance(peers, dict):  # (paths relative to the file that names them, as store)
        for k in ("python", "scripts"):
            if isinstance(peers.get(k), str):
                peers[k] = str(path.parent / Path(peers[k]).expanduser())
    return _merge(merged, data)


def _override(data: dict, item: str) -> dict:
    """``a.b=value`` (value in TOML) over data."""
    if "=" not in item:
        raise ConfigError(f"--set {item!r}: expected KEY=VALUE, e.g. matrix.seed=[1, 2]")
    key, text = item.split("=", 1)
    if key.strip() == "extends":
        raise ConfigError("--set extends: the files a configuration extends are read before "
                          "overrides; name them in the file")
    try:
        value = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError as e:
        if text.strip()[:1] in "[{\"'" or not text.strip():
            raise ConfigError(f"--set {item!r}: not a TOML value ({e})") from None
        value = text.strip()  # a bare word: a string
    *path, last = key.strip().split(".")
    node = data
    for p in path:
        node = node.setdefault(p, {})
        if not isinstance(node, dict):
            raise ConfigError(f"--set {item!r}: {p} is not a table")
    node[last] = value
    return data


def load(path, overrides=()) -> Config:
    """The configuration in ``path`` (with what it extends, then
    ``overrides``), checked and expanded to its cases."""
    data = _read(Path(path))
    for item in overrides:
        data = _override(data, item)
    return parse(data)


def _axis(where: str, value, kind) -> list:
    values = value if isinstance(value, list) else [value]
    if not values:
        raise ConfigError(f"{where} is an empty list")
    return [_check(where, v, kind) for v in values]


def parse(data: dict) -> Config:
    """A configuration from its merged table (see the module's docstring)."""
    _unknown("", data, TOP)
    for k, kind in TOP.items():
        if k in data:
            _check(k, data[k], kind)
    if "name" not in data:
        raise ConfigError("name is missing: every configuration names its records")
    for k in ("repeats", "warmup"):
        if data.get(k, 1) < (1 if k == "repeats" else 0):
            raise ConfigError(f"{k} must be >= {1 if k == 'repeats' else 0}, got {data[k]}")
    if data.get("timeout", 1.0) <= 0:
        raise ConfigError(f"timeout must be > 0 seconds, got {data['timeout']}")
    if data.get("prefault", 0.0) < 0:
        raise ConfigError(f"prefault must be >= 0 GiB, got {data['prefault']}")
    order = data.get("order", "rounds")
    if order not in ORDERS:
        raise ConfigError(f"order {order!r} is not one of: {', '.join(ORDERS)}")
    matrix = data.get("matrix", {})
    _unknown("matrix", matrix, MATRIX)
    if "model" not in matrix:
        raise ConfigError(f"matrix.model is missing; allowed: {', '.join(MODEL_OPTIONS)}")
    axes = {k: _axis(f"matrix.{k}", matrix.get(k, MATRIX_DEFAULTS.get(k)), kind)
            for k, kind in MATRIX.items()}
    for k, allowed in (("model", MODEL_OPTIONS), ("simulator", SIMULATORS),
                       ("backend", BACKENDS)):
        for v in axes[k]:
            if v not in allowed:
                raise ConfigError(f"matrix.{k} {v!r} is not one of: {', '.join(allowed)}")
    for k in ("threads", "ranks"):
        for v in axes[k]:
            if v < 1:
                raise ConfigError(f"matrix.{k} must be >= 1, got {v}")
    models = data.get("models", {})
    _unknown("models", models, MODEL_OPTIONS)
    option_axes = {}
    for model in axes["model"]:
        table = models.get(model, {})
        _check(f"models.{model}", table, dict)
        _unknown(f"models.{model}", table, MODEL_OPTIONS[model])
        opts = {}
        for k, v in table.items():
            vals = _axis(f"models.{model}.{k}", v, MODEL_OPTIONS[model][k])
            for x in vals:
                if k in CHOICES and x not in CHOICES[k]:
                    raise ConfigError(f"models.{model}.{k} {x!r} is not one of: "
                                      f"{', '.join(CHOICES[k])}")
                if isinstance(x, (int, float)) and not isinstance(x, bool) and (
                        x < 0 or (x == 0 and k not in ("t", "presim"))):
                    raise ConfigError(f"models.{model}.{k} must be > 0, got {x}")
            opts[k] = vals
        option_axes[model] = opts
    peers = data.get("peers", {})
    _unknown("peers", peers, PEERS)
    for k, kind in PEERS.items():
        if k in peers:
            _check(f"peers.{k}", peers[k], kind)
    cases, seen = [], set()
    for model in axes["model"]:
        names = sorted(option_axes[model])
        for values in itertools.product(*(option_axes[model][k] for k in names)):
            options = tuple(zip(names, values))
            for sim, backend, threads, ranks, seed in itertools.product(
                    axes["simulator"], axes["backend"], axes["threads"], axes["ranks"],
                    axes["seed"]):
                if sim != "snnlab":
                    backend = "cpu"  # (the peers run on the CPU, whatever the axis says)
                case = Case(model, options, sim, backend, threads, ranks, seed)
                if case not in seen:
                    seen.add(case)
                    cases.append(case)
    store = data.get("store")
    return Config(name=data["name"], cases=cases, repeats=data.get("repeats", 3),
                  warmup=data.get("warmup", 1), timeout=float(data.get("timeout", 1800.0)),
                  calibrate=data.get("calibrate", True),
                  prefault=float(data.get("prefault", 0.0)), order=order,
                  store=Path(store) if store else None, peers=dict(peers),
                  source={**data, "order": order})  # (the order as run, named or not)
