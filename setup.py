"""The package list of the wheel; every other setting is in pyproject.toml.

Every package under snnlab/ (a folder with an ``__init__.py``) is found by
``find_packages``, so a new subpackage needs no edit here.  The kernel
sources are the top-level folder kernels/, shipped as ``snnlab.kernels``
(``package-dir`` and ``package-data`` in pyproject.toml), and the NEST and
Brian2 peer scripts are benchmarks/peers/, shipped as ``snnlab.peers`` (for
``snnlab bench`` without a checkout).  A search cannot find those packages, because their folders are outside snnlab/, and
``[tool.setuptools.packages.find]`` would drop it from the wheel without a
warning, so it is named here.  The list may not also be set in
pyproject.toml: ``[tool.setuptools] packages`` would override this one.
``.ci/wheel_check.sh`` checks the built wheel against the checkout.
"""

from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).resolve().parent

setup(packages=find_packages(where=str(HERE), include=["snnlab", "snnlab.*"])
      + ["snnlab.kernels", "snnlab.peers"])
