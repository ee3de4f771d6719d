"""The sandbox's Python is built the same way however rnnkit is installed (the editable clone: tests/grading).

* **a wheel in a separate virtualenv**: rnnkit built as a wheel and installed with pip into a fresh
  virtualenv (no editable finder, no ``.pth``), next to numpy, the kernel's distributions, and
  stand-ins for what a grader has and a learner must not use (``nbgrader``, ``iniconfig``);
* **a hub-like system install**: the same packages in the system interpreter's
  ``/usr/local/lib/python3.X/dist-packages`` — under ``/usr``, which the sandbox binds — shown to
  Debian's ``/usr/bin/python3`` in a private mount namespace (root only: nothing on the machine changes).

In each, a grading process run by that interpreter builds the sandbox and asks from inside it: the
installed rnnkit's references, nbgrader and the stand-in must be missing, the learner package, numpy
and the kernel must work. The virtualenv is filled by copying the needed distributions from this
test run's own environment (no download) and installing the wheel with pip (``--no-index``).
"""
from __future__ import annotations

import importlib.metadata as metadata
import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from rnnkit.grading import sandbox_environment as env

ROOT = Path(__file__).resolve().parents[2]

#: Run by the grader's interpreter of each installation: the sandbox's answers, as JSON.
CHECK = r'''
import json, os, subprocess, sys, tempfile
from pathlib import Path
import rnnkit
from rnnkit.grading import learner_package, registry, sandbox
tmp = Path(tempfile.mkdtemp(prefix="sbx-install-"))
for d in ("cases", "ipc", "kernel", "course"):
    (tmp / d).mkdir()
learner_package.build_learner_package(registry.module_for("a3-bptt"), tmp / "lib")
conn = tmp / "kernel" / "kernel.json"
conn.write_text("{}")
sandbox.prepare_private_dir(tmp / "ipc", conn)
for p in [tmp, tmp / "cases", *(tmp / "lib").rglob("*"), tmp / "lib"]:
    os.chmod(p, 0o755 if p.is_dir() else 0o644)
inside = """
import importlib.util, json, os, sys
def found(name):
    try:
        return importlib.util.find_spec(name) is not None
    except ImportError:
        return False
r = {n: found(n) for n in ("torch", "nbgrader", "iniconfig", "rnnkit.layers", "rnnkit.grading.engine",
                           "rnnkit.grading.assignments", "rnnkit.grading.pipeline", "rnnkit.models",
                           "rnnkit.grading.kernel")}
import numpy, ipykernel.kernelapp, rnnkit
from rnnkit import numerical_gradient
x = numpy.ones(2)
r["gradient"] = numerical_gradient(lambda: float((x ** 2).sum()), x).tolist()
r["rnnkit"] = rnnkit.__file__
r["site"] = sorted(os.listdir("/grading/site-packages"))
print(json.dumps(r))
"""
cmd = sandbox.sandbox_command(["-c", inside], course_root=tmp / "course", cases_dir=tmp / "cases",
                              lib_dir=tmp / "lib", connection_file=conn, ipc_dir=tmp / "ipc")
proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
if proc.returncode != 0:
    sys.exit("sandbox failed: " + proc.stderr[-3000:])
out = json.loads(proc.stdout.strip().splitlines()[-1])
out["grader_rnnkit"] = rnnkit.__file__
out["interpreter"] = sandbox.interpreter()
print(json.dumps(out))
'''

#: What the grader's environment gets besides rnnkit: the kernel's closure, and stand-ins for grader-only packages.
STAND_INS = ("nbgrader", "iniconfig")


def _copy_distribution(dist: metadata.Distribution, site: Path) -> None:
    for path in env.distribution_entries(dist):
        rel = path.relative_to(Path(dist.locate_file("")).resolve())
        target = site / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if path.is_dir():
            shutil.copytree(path, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(path, target)


@pytest.fixture(scope="module")
def wheel_venv(tmp_path_factory) -> Path:
    """A fresh virtualenv with rnnkit installed from a wheel, numpy, the kernel's closure and the stand-ins."""
    base = tmp_path_factory.mktemp("installs")
    src = base / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE", "LICENSE-CONTENT.md"):
        shutil.copy2(ROOT / name, src / name)
    shutil.copytree(ROOT / "rnnkit", src / "rnnkit", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "--no-index",
                    str(src), "-w", str(base / "wheels")], check=True, capture_output=True, timeout=300)
    wheel = next((base / "wheels").glob("rnnkit-*.whl"))
    venv = base / "venv"
    subprocess.run([env.base_interpreter(), "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    site = Path(subprocess.run([venv / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    for dist in env.distribution_closure(["numpy", "ipykernel"]).values():
        _copy_distribution(dist, site)
    for name in STAND_INS:  # the packages themselves: enough to be found, were they not hidden
        _copy_distribution(metadata.distribution(name), site)
    subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q",
                    "--no-deps", "--no-index", "--no-compile", str(wheel)], check=True, capture_output=True, timeout=300)
    assert not list(site.glob("*.pth")) and not list(site.glob("__editable__*")) and (site / "rnnkit").is_dir()
    return venv


def _check(proc: subprocess.CompletedProcess) -> dict:
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    # Of rnnkit.grading only the kernel side ships (it records what the learner's functions return and
    # decides nothing): never the engine, the assignments' references or the pipeline.
    absent = ("torch", "nbgrader", "iniconfig", "rnnkit.layers", "rnnkit.grading.engine", "rnnkit.grading.assignments",
              "rnnkit.grading.pipeline", "rnnkit.models")
    assert {n: out[n] for n in absent} == dict.fromkeys(absent, False), out
    assert out["rnnkit.grading.kernel"] is True, out
    assert out["gradient"] == pytest.approx([2.0, 2.0]) and out["rnnkit"] == "/grading/lib/rnnkit/__init__.py"
    assert not [e for e in out["site"] if e.endswith(".pth") or e.startswith(("__editable__", "rnnkit"))], out["site"]
    assert {"numpy", "ipykernel"} <= set(out["site"])
    return out


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}


def test_wheel_in_a_separate_virtualenv(wheel_venv, tmp_path):
    proc = subprocess.run([wheel_venv / "bin" / "python", "-c", CHECK], capture_output=True, text=True,
                          timeout=300, cwd=tmp_path, env=_clean_env())
    out = _check(proc)
    assert out["grader_rnnkit"].startswith(str(wheel_venv)) and "site-packages" in out["grader_rnnkit"]
    assert not out["interpreter"].startswith(str(wheel_venv))  # the base interpreter, not the venv's link


SYSTEM_PYTHON = Path("/usr/bin/python3")


def _system_site() -> str | None:
    if not SYSTEM_PYTHON.exists():
        return None
    proc = subprocess.run([SYSTEM_PYTHON, "-E", "-s", "-c",
                           "import sys, sysconfig; print(sysconfig.get_paths()['purelib'], "
                           "'%d.%d' % sys.version_info[:2])"], capture_output=True, text=True)
    purelib, version = proc.stdout.split()
    return purelib if version == sysconfig.get_python_version() and purelib.startswith("/usr/") else None


@pytest.mark.skipif(os.geteuid() != 0, reason="the system-install case mounts over /usr in a private mount "
                                               "namespace, which needs root (CI grades as root)")
def test_system_install_under_usr(wheel_venv, tmp_path):
    purelib = _system_site()
    assert purelib, f"{SYSTEM_PYTHON} with this test's Python version ({sysconfig.get_python_version()}) is needed"
    site = Path(subprocess.run([wheel_venv / "bin" / "python", "-c",
                                "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    script = tmp_path / "check.py"
    script.write_text(CHECK)
    # the virtualenv's packages appear as the system's (/usr/local/lib/python3.X/dist-packages), for this
    # process tree only: `sudo pip install` on a hub, without touching the machine
    shell = (f"mkdir -p {purelib} 2>/dev/null || mount -t tmpfs tmpfs {Path(purelib).parent}; mkdir -p {purelib} && "
             f"mount --bind {site} {purelib} && exec {SYSTEM_PYTHON} {script}")
    proc = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", shell],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path, env=_clean_env())
    out = _check(proc)
    assert out["grader_rnnkit"] == f"{purelib}/rnnkit/__init__.py" and out["interpreter"].startswith("/usr/")
