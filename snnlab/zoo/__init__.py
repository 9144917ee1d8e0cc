"""Ready-made reference models."""

from . import brunel, hpc_benchmark, microcircuit, topographic_map

__all__ = ["brunel", "hpc_benchmark", "microcircuit", "topographic_map", "MODELS"]

MODELS = {"brunel": brunel, "hpc_benchmark": hpc_benchmark, "microcircuit": microcircuit,
          "topographic_map": topographic_map}
