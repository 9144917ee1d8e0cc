"""Continuous benchmarking: configurations expanded to cases, each run in
its own process and recorded with its full context (one schema), a
correctness gate, a store, and a verdict per case between two sets of
records.  ``snnlab bench --help``; :mod:`snnlab.bench.config` describes the
configuration files.

The names below load their module on first use: ``snnlab run`` (which
imports :mod:`snnlab.bench.metadata`) does not pay for SQLite and TOML."""

import importlib

_WHERE = {"machine": "metadata", "git_commit": "metadata", "context": "metadata",
          "load": "config", "Config": "config", "Case": "config", "ConfigError": "config",
          "Store": "store", "read_records": "store", "write_records": "store",
          "compare": "verdict", "Verdict": "verdict", "new_record": "schema",
          "check_record": "schema"}
__all__ = list(_WHERE)


def __getattr__(name):
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(f".{_WHERE[name]}", __name__)
    for n, m in _WHERE.items():  # the module's other names too
        if m == _WHERE[name]:
            globals()[n] = getattr(module, n)
    return globals()[name]
