#!/usr/bin/env bash
# The wheel is complete: builds it from the checkout, installs it (with the
# viz extra) in a fresh virtual environment and, from a folder outside the
# checkout, checks that
#   - it installs every module of snnlab/ and nothing else (no tests/,
#     notebooks/, of benchmarks/ only the peer scripts as snnlab.peers, no
#     top-level kernels package),
#   - snnlab/peers holds the peers' setup.sh, requirements.txt and README.md,
#   - every module imports (CuPy and mpi4py are not installed),
#   - snnlab/kernels holds every kernels/*.cu and *.h of the checkout,
#   - a small network runs on the cpu backend, compiled from those sources.
# An editable install finds every file of the checkout, so only a wheel shows
# a package missing from the package list. Exits non-zero on any mismatch.
#
#   .ci/wheel_check.sh            (PYTHON=python3.12 .ci/wheel_check.sh)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/snnlab-wheel-check.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
SECONDS=0

fail() { echo "wheel check: FAILED: $*" >&2; exit 1; }

# The build reads a copy of the files a clone would have (tracked, plus
# untracked files that are not ignored): a build/ or *.egg-info left in the
# checkout by an earlier build cannot put stale files in the wheel.
mkdir "$WORK/src" "$WORK/dist" "$WORK/run"
if git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    (cd "$ROOT" && git ls-files -z --cached --others --exclude-standard \
        | tar --null -T - --ignore-failed-read -cf - 2>/dev/null) | tar -xf - -C "$WORK/src" \
        || fail "cannot copy the checkout"
else
    tar -C "$ROOT" --exclude=./.git --exclude=./.venv --exclude=./build --exclude=./dist \
        --exclude='*.egg-info' --exclude=__pycache__ -cf - . | tar -xf - -C "$WORK/src" \
        || fail "cannot copy the checkout"
fi

echo "wheel check: fresh virtual environment ($("$PYTHON" --version))"
"$PYTHON" -m venv "$WORK/venv"
VPY="$WORK/venv/bin/python"
"$VPY" -m pip install --quiet --upgrade pip

echo "wheel check: building the wheel"
"$VPY" -m pip wheel --quiet --no-deps -w "$WORK/dist" "$WORK/src" \
    || fail "the wheel does not build"
WHEELS=("$WORK/dist"/snnlab-*.whl)
[ "${#WHEELS[@]}" -eq 1 ] && [ -f "${WHEELS[0]}" ] || fail "expected one snnlab wheel in $WORK/dist"
WHEEL="${WHEELS[0]}"
echo "wheel check: $(basename "$WHEEL"), installing it with [viz]"
"$VPY" -m pip install --quiet "${WHEEL}[viz]" || fail "the wheel does not install"

cat > "$WORK/check.py" <<'EOF'
import importlib
import importlib.metadata
import importlib.util
import sys
import sysconfig
import traceback
from pathlib import Path

src = Path(sys.argv[1])
cache = Path(sys.argv[2])
errors = []

# a module that may fail to import only when this dependency is absent
# (none today: every module imports with the viz extra, without CuPy/mpi4py)
# (the peer scripts run in the peers' environment: NEST, Brian2 or snnTorch is not here)
OPTIONAL = {"snnlab.peers.brunel_nest": "nest", "snnlab.peers.brunel_brian2": "brian2",
            "snnlab.peers.eprop_snntorch": "snntorch",
            # (PyNN's API needs PyNN: the extra 'pynn')
            **{f"snnlab.pynn{m}": "pyNN" for m in ("", ".simulator", ".control", ".populations",
                                                   ".projections", ".recording",
                                                   ".standardmodels", ".electrodes")}}


def module_names(folder: Path, prefix: str) -> dict[str, Path]:
    """Module name -> file, for every *.py below folder (walked on disk)."""
    out = {}
    for f in sorted(folder.rglob("*.py")):
        parts = list(f.relative_to(folder).with_suffix("").parts)
        if "__pycache__" in parts:
            continue
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join([prefix, *parts])] = f
    return out


# located without being imported: the files are compared even when it fails to import
spec = importlib.util.find_spec("snnlab")
site = Path(sysconfig.get_paths()["purelib"]).resolve()
if spec is None or not spec.submodule_search_locations:
    sys.exit(f"wheel check: FAILED: no snnlab package in {site}")
pkg = Path(spec.submodule_search_locations[0]).resolve()
if pkg.parent != site:
    sys.exit(f"wheel check: FAILED: snnlab is found in {pkg}, not in {site}")

# the checkout's modules: snnlab/**/*.py, and kernels/*.py as snnlab.kernels
expected = module_names(src / "snnlab", "snnlab")
expected.update(module_names(src / "kernels", "snnlab.kernels"))
expected.update(module_names(src / "benchmarks" / "peers", "snnlab.peers"))
installed = module_names(pkg, "snnlab")
for name in sorted(expected.keys() - installed.keys()):
    f = expected[name]
    hint = ""
    for d in f.relative_to(src).parents:
        if d != Path(".") and d.parts[0] == "snnlab" and not (src / d / "__init__.py").is_file():
            hint = f" ({d}/ has no __init__.py, so it is not a package)"
            break
    errors.append(f"{f.relative_to(src)} of the checkout is not in the wheel{hint}")
for name in sorted(installed.keys() - expected.keys()):
    errors.append(f"the wheel has {installed[name].relative_to(site)}, "
                  f"which is not in the checkout ({name})")

# every package directory of the wheel has its __init__.py
for d in sorted(p for p in pkg.rglob("*") if p.is_dir() and p.name != "__pycache__"):
    if any(d.glob("*.py")) and not (d / "__init__.py").is_file():
        errors.append(f"{d.relative_to(site)}/ in the wheel has no __init__.py")

# nothing is installed outside snnlab/ but the metadata and the command
dist = importlib.metadata.distribution("snnlab")
for f in dist.files or []:
    top = f.parts[0]
    if top != "snnlab" and not top.endswith((".dist-info", ".data")) and top != "..":
        errors.append(f"the wheel installs {f} outside snnlab/")
if not dist.files:
    errors.append("the installed distribution has no RECORD")

# every module imports
imported = 0
for name in sorted(installed):
    try:
        importlib.import_module(name)
        imported += 1
    except Exception as e:
        dep = OPTIONAL.get(name)
        if (dep and isinstance(e, ModuleNotFoundError) and e.name
                and e.name.split(".")[0] == dep and importlib.util.find_spec(dep) is None):
            print(f"wheel check: skipped {name}: needs {dep}, not installed")
            continue
        last = traceback.format_exception_only(type(e), e)[-1].strip()
        errors.append(f"import {name} fails: {last}")
absent = [dep for dep in ("cupy", "mpi4py") if importlib.util.find_spec(dep) is None]

# the kernel sources
kernels = pkg / "kernels"
want = {p.name: p for p in src.joinpath("kernels").iterdir() if p.suffix in (".cu", ".h")}
have = ({p.name: p for p in kernels.iterdir() if p.suffix in (".cu", ".h")}
        if kernels.is_dir() else {})
if not want:
    errors.append(f"no kernels/*.cu or *.h in the checkout ({src / 'kernels'})")
for n in sorted(want.keys() - have.keys()):
    errors.append(f"kernels/{n} of the checkout is not in the wheel's snnlab/kernels/")
for n in sorted(have.keys() - want.keys()):
    errors.append(f"the wheel's snnlab/kernels/{n} is not in the checkout")
for n in sorted(want.keys() & have.keys()):
    if want[n].read_bytes() != have[n].read_bytes():
        errors.append(f"snnlab/kernels/{n} of the wheel differs from kernels/{n}")

# the peers' environment is made from these (snnlab bench setup-peers)
for n in ("setup.sh", "requirements.txt", "README.md"):
    if not (pkg / "peers" / n).is_file():
        errors.append(f"the wheel has no snnlab/peers/{n} (benchmarks/peers/{n})")
from snnlab.bench.runner import peer_scripts  # noqa: E402

if peer_scripts().resolve() != (pkg / "peers").resolve():
    errors.append(f"snnlab bench looks for the peer scripts in {peer_scripts()}, not in the "
                  "wheel's snnlab/peers")

if errors:
    print("wheel check: FAILED:", *errors, sep="\n  ", file=sys.stderr)
    sys.exit(1)
print(f"wheel check: {len(installed)} modules, all imported "
      f"(not installed: {', '.join(absent) or 'none'}); {len(have)} kernel sources, all present")

# a small network on the cpu backend, compiled from the wheel's kernels
import snnlab as sl  # noqa: E402
from snnlab.backend import kernel_dir  # noqa: E402

if kernel_dir().resolve() != kernels:
    sys.exit(f"wheel check: FAILED: the kernels are read from {kernel_dir()}, not {kernels}")
net = sl.Network(dt=0.1)
net.population("n", sl.models.LIF(I_e=400.0), 10)
sim = sl.Simulation(net, backend="cpu", seed=1)
sim.run(50.0)
times, senders = sim.spikes("n")
libs = list(cache.rglob("*.so"))
if not libs:
    sys.exit(f"wheel check: FAILED: no library was compiled in {cache}")
if set(senders.tolist()) != set(range(10)):
    sys.exit(f"wheel check: FAILED: 10 neurons driven above threshold for 50 ms, "
             f"{len(set(senders.tolist()))} spiked")
print(f"wheel check: cpu backend compiled {libs[0].name} from {kernels}; "
      f"{len(times)} spikes in 50 ms")
EOF

echo "wheel check: checking the installed package (from $WORK/run)"
# -I: neither the working folder nor PYTHONPATH is on sys.path
(cd "$WORK/run" && SNNLAB_CACHE="$WORK/cache" "$VPY" -I "$WORK/check.py" "$WORK/src" "$WORK/cache")
(cd "$WORK/run" && "$WORK/venv/bin/snnlab" --help >/dev/null) || fail "the snnlab command fails"
echo "wheel check: passed in ${SECONDS}s"
