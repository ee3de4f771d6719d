"""Nothing to borrow: the sandbox's Python holds the kernel, numpy, matplotlib and the learner package only.

Inside the sandbox (:func:`rnnkit.grading.sandbox.sandbox_command`), with the grader's own installation
(this repository's editable ``.venv``, where CI also installs ``torch``), nothing the grader has
installed beyond :data:`~rnnkit.grading.sandbox_environment.SANDBOX_DISTRIBUTIONS` and their
requirements can be found: not ``torch``, not ``nbgrader``, not the installed ``rnnkit`` with its
references. The same rules for a wheel in a virtualenv and a system-wide install are tried in
``tests/course/test_sandbox_installs.py``.
"""
from __future__ import annotations

import importlib.metadata as metadata
import json
import os
import sys
from pathlib import Path

import pytest

from rnnkit.grading import sandbox
from rnnkit.grading import sandbox_environment as env

ROOT = Path(__file__).resolve().parents[2]

#: What a learner must never import in the sandbox, whatever the grader has installed.
GRADER_ONLY = ("torch", "nbgrader", "rnnkit.layers", "rnnkit.models", "rnnkit.grading.registry",
               "rnnkit.grading.engine", "rnnkit.grading.a6_lstm", "rnnkit.grading.assignments")  # the kernel ships


@pytest.fixture
def run_inside(run_inside):
    """run_inside(code, assignment="a3-bptt") -> the last line of stdout of `python -c code` in the sandbox, as JSON
    (the sandbox runner of tests/grading/conftest.py)."""
    def run(code: str, assignment: str = "a3-bptt") -> dict:
        proc = run_inside(code, assignment, timeout=120)
        assert proc.returncode == 0, proc.stderr[-3000:]
        return json.loads(proc.stdout.strip().splitlines()[-1])
    return run


def _inside(path: Path, parent: Path) -> bool:
    return Path(path).resolve().is_relative_to(Path(parent).resolve())


FIND = ("import importlib.util, json, sys\n"
        "def found(name):\n"
        "    try:\n"
        "        return importlib.util.find_spec(name) is not None\n"
        "    except ImportError:\n"
        "        return False\n")


def test_grader_only_packages_cannot_be_imported(run_inside):
    """torch (in CI's .venv), nbgrader and the installed rnnkit's references are not there; the learner's rnnkit is."""
    if os.environ.get("RNNKIT_REQUIRE_TORCH") == "1":
        import torch  # noqa: F401 - CI installs torch next to the grader: the sandbox must still not see it
    import nbgrader  # noqa: F401 - the grader has it (it is running the grading)
    out = run_inside(FIND + "r = {}\n"
                     f"for name in {GRADER_ONLY!r}:\n"
                     "    try:\n"
                     "        __import__(name); r[name] = 'imported'\n"
                     "    except ImportError:\n"
                     "        r[name] = 'missing'\n"
                     "import rnnkit, rnnkit.grading.kernel\n"
                     "from rnnkit import numerical_gradient\n"
                     "r['rnnkit'] = rnnkit.__file__\n"
                     "print(json.dumps(r))")
    assert {name: out[name] for name in GRADER_ONLY} == {name: "missing" for name in GRADER_ONLY}
    assert out["rnnkit"] == f"{sandbox.LIB_DIR}/rnnkit/__init__.py"


def test_every_other_installed_distribution_is_invisible(run_inside):
    """Each top-level module the grader's environment installs, beyond the sandbox's closure, cannot be found."""
    closure = {name for name, _ in env.sandbox_python().distributions}
    allowed = {top for top, dists in metadata.packages_distributions().items()
               if any(env.normalized(d) in closure for d in dists)}
    others = sorted(top for top, dists in metadata.packages_distributions().items()
                    if top not in allowed and top.isidentifier() and top not in sys.stdlib_module_names
                    and top != "rnnkit")  # the learner package's name (its contents: the test above)
    assert "nbgrader" in others and "rnnkit" not in allowed
    out = run_inside(FIND + f"names = {others!r}\n"
                     "print(json.dumps(sorted(n for n in names if found(n))))")
    assert out == [], f"grader-only modules importable in the sandbox: {out}"


def test_kernel_and_notebook_imports_work(run_inside):
    """What a graded notebook runs: the kernel, numpy, matplotlib (Agg) and the assignment's helpers."""
    out = run_inside("import json, numpy, ipykernel.kernelapp, matplotlib.pyplot as plt\n"
                     "from rnnkit import numerical_gradient\n"
                     "from rnnkit.grading.kernel import run_check\n"
                     "x = numpy.ones(3)\n"
                     "g = numerical_gradient(lambda: float((x ** 2).sum()), x)\n"
                     "plt.plot([1, 2]); plt.close('all')\n"
                     "print(json.dumps({'grad': g.tolist(), 'backend': plt.get_backend()}))")
    assert out["grad"] == pytest.approx([2.0, 2.0, 2.0], rel=1e-6) and out["backend"].lower() == "agg"


def test_site_packages_holds_only_the_closure(run_inside):
    """The fresh site-packages lists exactly the closure's entries: no .pth, no editable finder, no rnnkit."""
    python = env.sandbox_python()
    out = run_inside("import os, sys, json\n"
                     f"site = {env.SITE_DIR!r}\n"
                     "entries = sorted(os.listdir(site))\n"
                     "path = [p for p in sys.path if p and os.path.isdir(p)]\n"
                     "print(json.dumps({'entries': entries, 'path': path, "
                     "'hidden': {p: sorted(os.listdir(p)) for p in path if p not in (site, '/grading/lib') "
                     "and ('site-packages' in p or 'dist-packages' in p)}}))")
    expected = sorted({name.split("/")[0] for name, _ in python.site_entries})
    assert out["entries"] == expected
    assert not [e for e in out["entries"] if e.endswith(".pth") or e.startswith("__editable__")
                or e.split("-")[0].split(".")[0] == "rnnkit"]
    assert out["path"][:2] == [sandbox.LIB_DIR, env.SITE_DIR]
    assert all(listing == [] for listing in out["hidden"].values()), out["hidden"]


def test_no_virtualenv_and_no_repository_is_bound(tmp_path):
    """Bind sources are system directories, the base interpreter's prefix and the closure's own entries."""
    cmd = sandbox.sandbox_command(["-c", "pass"], course_root=ROOT, cases_dir=tmp_path, lib_dir=tmp_path,
                                  connection_file=tmp_path / "k.json", ipc_dir=tmp_path)
    sources = [Path(cmd[i + 1]) for i, arg in enumerate(cmd) if arg in ("--ro-bind", "--bind")]
    closure_sources = {p for _, p in env.sandbox_python().site_entries}
    for src in sources:
        if src in closure_sources or _inside(src, tmp_path):
            continue
        assert not _inside(src, ROOT), src
        assert sys.prefix == sys.base_prefix or not _inside(src, Path(sys.prefix)), src
    assert not any(_inside(p, ROOT) and "site-packages" not in str(p) for p in closure_sources)
    assert not any(p.name.endswith(".pth") or p.name.startswith("__editable__") or p.name.startswith("rnnkit")
                   for p in closure_sources)


# ---------------------------------------------------------------------------
# the closure and the entries, on made-up distributions
# ---------------------------------------------------------------------------

def _fake_dist(site: Path, name: str, requires=(), files=None, top=None):
    """A distribution ``name`` 1.0 installed in ``site``: its package and a .dist-info with METADATA and RECORD."""
    pkg = site / (top or name)
    pkg.mkdir(parents=True, exist_ok=True)
    (pkg / "__init__.py").write_text("")
    info = site / f"{name}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: " + name + "\nVersion: 1.0\n"
                                   + "".join(f"Requires-Dist: {r}\n" for r in requires)
                                   + "Provides-Extra: fancy\nProvides-Extra: test\n")
    files = list(files or [f"{top or name}/__init__.py"]) + [f"{name}-1.0.dist-info/METADATA",
                                                             f"{name}-1.0.dist-info/RECORD"]
    (info / "RECORD").write_text("".join(f"{f},,\n" for f in files))


def test_closure_follows_requirements_markers_and_extras(tmp_path, monkeypatch):
    site = tmp_path / "site"
    _fake_dist(site, "rootpkg", ["leafpkg[fancy]>=1", "darwinonly; platform_system == 'Darwin'",
                                 "testonly; extra == 'test'", "rnnkit", "notinstalled>=2"])
    _fake_dist(site, "leafpkg", ["extraleaf; extra == 'fancy'"])
    for name in ("extraleaf", "darwinonly", "testonly", "rnnkit"):
        _fake_dist(site, name)
    monkeypatch.syspath_prepend(str(site))
    found = env.distribution_closure(["rootpkg"])
    assert sorted(found) == ["extraleaf", "leafpkg", "rootpkg"]


def test_missing_required_distribution_is_a_clear_error():
    with pytest.raises(env.SandboxEnvironmentError, match="no-such-distribution"):
        env.distribution_closure(["no-such-distribution"])
    assert env.distribution_closure([], optional=["no-such-distribution"]) == {}


def test_entries_leave_out_pth_editable_finders_rnnkit_and_others_namespaces(tmp_path, monkeypatch):
    site = tmp_path / "site"
    _fake_dist(site, "evilpkg", files=["evilpkg/__init__.py", "evil.pth", "__editable___evil_finder.py",
                                       "rnnkit/__init__.py", "../../bin/evil", "nsdir/mine/__init__.py",
                                       "__pycache__/x.cpython-311.pyc"])
    for rel in ("evil.pth", "__editable___evil_finder.py", "rnnkit/__init__.py", "nsdir/mine/__init__.py",
                "nsdir/theirs/__init__.py", "__pycache__/x.cpython-311.pyc"):
        (site / rel).parent.mkdir(parents=True, exist_ok=True)
        (site / rel).write_text("")
    monkeypatch.syspath_prepend(str(site))
    entries = env.distribution_entries(metadata.distribution("evilpkg"))
    assert [p.relative_to(site.resolve()).as_posix() for p in entries] == [
        "evilpkg", "evilpkg-1.0.dist-info", "nsdir/mine"]


def test_grader_site_directories_are_hidden():
    """The grader's and the base interpreter's site-packages are on the list of masked directories."""
    import site
    import sysconfig
    hidden = set(env.sandbox_python().hidden)
    for d in {sysconfig.get_paths()["purelib"], *site.getsitepackages()}:
        if os.path.isdir(d):
            assert Path(d).resolve() in hidden, d
    assert not any(_inside(s, h) for h in hidden for s in env.sandbox_python().stdlib)
