import pytest

from snnlab.backend import cuda_available

BACKENDS = ["cpu"] + (["cuda"] if cuda_available() else [])


@pytest.fixture(params=BACKENDS)
def backend(request):
    """Each test written once, run on every target present."""
    return request.param


@pytest.fixture(params=["float32", "float64"])
def precision(request):
    return request.param
