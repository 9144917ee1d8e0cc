"""Ready-made reference models."""

from . import brunel, hpc_benchmark, microcircuit

__all__ = ["brunel", "hpc_benchmark", "microcircuit", "MODELS"]

MODELS = {"brunel": brunel, "hpc_benchmark": hpc_benchmark, "microcircuit": microcircuit}
