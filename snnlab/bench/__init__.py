"""Continuous benchmarking: configurations expanded to cases, each run in
its own process and recorded with its full context (one schema), a
correctness gate, a store, and a verdict per case between two sets of
records.  ``snnlab bench --help``; :mod:`snnlab.bench.config` describes the
configuration files."""

from .compare import Verdict, compare
from .config import Case, Config, ConfigError, load
from .metadata import context, git_commit, machine
from .schema import check_record, new_record
from .store import Store, read_records, write_records

__all__ = ["machine", "git_commit", "context", "load", "Config", "Case", "ConfigError",
           "Store", "read_records", "write_records", "compare", "Verdict", "new_record",
           "check_record"]
