"""Host access to the device's counter-based generator (``kernels/philox.h``)."""

from __future__ import annotations

import numpy as np

from .backend import Launch, get_backend, kernel_module

__all__ = ["philox4x32"]


def philox4x32(counters, keys, backend: str = "cpu") -> np.ndarray:
    """Philox4x32-10 blocks: ``counters`` of shape (n, 4) and ``keys`` of shape
    (n, 2) or (2,), as uint32; returns (n, 4) uint32, computed by the kernel."""
    ctr = np.ascontiguousarray(np.atleast_2d(np.asarray(counters, dtype=np.uint32)))
    if ctr.ndim != 2 or ctr.shape[1] != 4:
        raise ValueError(f"counters must have shape (n, 4), got {ctr.shape}")
    key = np.asarray(keys, dtype=np.uint32)
    key = np.ascontiguousarray(np.broadcast_to(key, (len(ctr), 2)))
    be = get_backend(backend)
    mod = kernel_module(be)
    out = be.zeros(ctr.size, np.uint32)
    mod.launch(Launch("random_block", (len(ctr), be.asarray(ctr.ravel()), be.asarray(key.ravel()),
                                       out), ("flat", len(ctr))))
    return be.to_host(out).reshape(-1, 4)
