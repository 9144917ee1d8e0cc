"""The ziggurat tables in kernels/ziggurat.h are the ones snnlab.random computes."""

import math

import pytest

from snnlab.backend import kernel_dir
from snnlab.random import ziggurat_header, ziggurat_tables


def test_header_matches_its_generator():
    assert (kernel_dir() / "ziggurat.h").read_text() == ziggurat_header()


def test_layers_have_equal_area_and_close_at_zero():
    """Equal areas to the precision of the published R and V (13 digits)."""
    x, f = ziggurat_tables()
    v = x[0] * f[1]  # base rectangle of height f(R), tail included by construction
    for i in range(1, 128):
        assert x[i] * (f[i + 1] - f[i]) == pytest.approx(v, rel=1e-8)
    assert x[128] == 0.0 and f[128] == 1.0
    # the base layer's rectangle plus the tail beyond R is one layer's area
    tail = math.sqrt(math.pi / 2) * math.erfc(x[1] / math.sqrt(2))
    assert x[1] * f[1] + tail == pytest.approx(v, rel=1e-8)
