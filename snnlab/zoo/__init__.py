"""Ready-made reference models."""

from . import brunel

__all__ = ["brunel", "MODELS"]

MODELS = {"brunel": brunel}
