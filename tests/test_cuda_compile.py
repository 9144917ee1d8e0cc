"""Every kernel must compile for the GPU, also where there is none: the CUDA
C++ of a network using every model and a rewiring rule is compiled with nvcc
for sm_90."""

import os
import shutil
import subprocess

import pytest

import snnlab as sl
from snnlab.backend import kernel_dir
from snnlab.backend.codegen import translation_unit
from snnlab.backend.cuda import NVRTC_OPTIONS
from snnlab.plan.sources import neuron_kernel, rewire_kernels
from snnlab.zoo import topographic_map as tm


def _models():
    yield sl.models.LIF(synapse="delta")
    yield sl.models.LIF(synapse="exp")
    yield sl.models.LIF(synapse="alpha")
    yield sl.models.ALIF()
    yield sl.models.CondLIF()
    yield sl.models.CondLIF("alpha")
    yield sl.models.PoissonSource()
    yield tm.SpotSource(16)  # the topographic map's models
    yield tm.CondLIF()
    yield sl.models.NeuronModel("user", params={"a": 1.0}, state={"v": 0.0},
                                update="v = v * a + in_x + (scalar)uniform();",
                                threshold="v > 1", reset="v = 0;", ports=("x",))


@pytest.mark.parametrize("precision", ["float32", "float64"])
def test_kernels_compile_with_nvcc(tmp_path, precision):
    nvcc = shutil.which("nvcc")
    if nvcc is None:
        if os.environ.get("CI"):
            pytest.fail("nvcc is required in CI: a kernel that does not compile cannot land")
        pytest.skip("nvcc not found")
    code = []
    for m in _models():
        constants = list(m.constants(dict(m.params), 0.1))
        code.append(neuron_kernel(m, constants)[1])
    bamford = sl.plasticity.bamford(p_form=0.16, sigma=2.5, width=16, candidates=512).rule
    ctx = {"dt": 0.1, "period": 1.0, "n_pre": 256, "n_post": 256}
    code.append(rewire_kernels(bamford, list(bamford.constants(ctx)),
                               [("weight", "float32"), ("delay", "uint16")],
                               {"weight": "g_max", "delay": "1"}, True)[2])
    churn = sl.plasticity.RewiringRule(
        "churn", params={"p": 0.1}, code="""
        for (int64_t k = 0; k < row_length; ++k) if (uniform() < p) remove_synapse(k);
        if (find_synapse(id_pre) < 0 && poisson(0.5) > 0) add_synapse(random_int(n_post));""")
    code.append(rewire_kernels(churn, ["p"], [], {}, False)[2])
    src = tmp_path / "snn.cu"
    src.write_text(translation_unit(code, precision))
    out = tmp_path / "snn.cubin"
    res = subprocess.run([nvcc, "-cubin", "-arch=sm_90", *NVRTC_OPTIONS,
                          f"-I{kernel_dir()}", str(src), "-o", str(out)],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert out.stat().st_size > 0
    assert "warning" not in res.stderr.lower(), res.stderr
