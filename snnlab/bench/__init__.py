"""Benchmark records: the context every run is recorded with."""

from .metadata import git_commit, machine

__all__ = ["machine", "git_commit"]
