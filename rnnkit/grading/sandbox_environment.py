"""The Python installation a learner's kernel sees in the grading sandbox: nothing to borrow.

The grader's own environment holds what a learner must not call: ``torch`` (an ``LSTMCell`` and
autograd would answer a step function), ``nbgrader``, and — however rnnkit is installed (an
editable clone, a wheel in a virtualenv, a package in a hub's system prefix) — the installed
``rnnkit`` with its reference implementations. So the sandbox never sees the grader's
site-packages. It sees:

* the interpreter and its standard library: the installation prefix of the *base* interpreter
  (a virtualenv is never bound; its ``bin/python`` is only a link to that interpreter), read-only;
* every directory the interpreter would import third-party code from — its site-packages and
  dist-packages, the user site, whatever a ``.pth`` file added — masked by an empty read-only
  directory (:attr:`SandboxPython.hidden`);
* a fresh site-packages, :data:`SITE_DIR`, holding only the distributions the kernel and the
  notebooks need (:data:`SANDBOX_DISTRIBUTIONS`) and everything they require, found with
  :mod:`importlib.metadata` (``Requires-Dist`` with markers evaluated, the files a
  distribution's ``RECORD`` lists, else its ``top_level.txt``). Each top-level entry of those
  distributions is bound there read-only, from wherever the grader has it installed;
* the learner package :func:`rnnkit.grading.learner_package.build_learner_package` writes (its own
  directory, first on ``PYTHONPATH``).

Never bound, whatever the closure says: the rnnkit distribution (package, ``.dist-info``), ``*.pth``
files and editable-install finders (``__editable__*``), which would point back at a repository,
and ``__pycache__``. The same rules apply to every installation layout, because they read only what
:mod:`importlib.metadata` and the interpreter report, never where the repository is.

This module computes the environment; :mod:`rnnkit.grading.sandbox` turns it into bind mounts.
"""
from __future__ import annotations

import functools
import importlib.metadata as metadata
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

#: Where the fresh site-packages appears inside the sandbox (on ``PYTHONPATH``, after the learner package).
SITE_DIR = "/grading/site-packages"

#: What the sandboxed kernel must import: the kernel itself (``ipykernel_launcher``), numpy (the
#: course and the learner package), matplotlib (every notebook's plot cells import ``pyplot``).
#: Their requirements are added by :func:`distribution_closure`.
SANDBOX_DISTRIBUTIONS = ("ipykernel", "numpy", "matplotlib")
#: Of those, what grading cannot go without (matplotlib missing only fails the cells that plot).
REQUIRED_DISTRIBUTIONS = ("ipykernel", "numpy")
#: Distributions never bound into the sandbox, even if something required them.
NEVER_BOUND = ("rnnkit",)


class SandboxEnvironmentError(RuntimeError):
    """The sandbox's Python cannot be assembled from this installation (a required distribution is missing)."""


def normalized(name: str) -> str:
    """A distribution name in PEP 503 form (``Jupyter_Client`` -> ``jupyter-client``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


# ---------------------------------------------------------------------------
# which distributions
# ---------------------------------------------------------------------------

def _requirement_applies(requirement, extras: frozenset[str]) -> bool:
    if requirement.marker is None:
        return True
    return any(requirement.marker.evaluate({"extra": extra}) for extra in (extras or {""}))


def distribution_closure(names, *, optional=()) -> dict[str, metadata.Distribution]:
    """The installed distributions ``names`` and ``optional`` and everything they require, by normalized name.

    Requirements are read from each distribution's metadata (``Requires-Dist``) with their
    environment markers and extras evaluated for this interpreter, so ``appnope; platform_system ==
    'Darwin'`` or ``pytest; extra == 'test'`` are left out. A missing distribution of ``names``
    raises :class:`SandboxEnvironmentError`; a missing one of ``optional``, or a requirement that
    is not installed (the grader runs without it too), is left out.
    """
    from packaging.requirements import Requirement  # ipykernel requires packaging: present wherever we run

    found: dict[str, metadata.Distribution] = {}
    seen: set[tuple[str, frozenset[str]]] = set()
    todo = [(n, frozenset(), True) for n in names] + [(n, frozenset(), False) for n in optional]
    while todo:
        name, extras, required = todo.pop()
        key = (normalized(name), extras)
        if key in seen:
            continue
        seen.add(key)
        if key[0] in NEVER_BOUND:
            continue
        try:
            dist = found.get(key[0]) or metadata.distribution(name)
        except metadata.PackageNotFoundError:
            if required:
                raise SandboxEnvironmentError(
                    f"the grading sandbox needs the distribution {name!r}, which is not installed in "
                    f"{sys.prefix} (install rnnkit's [grading] extra)") from None
            continue
        found[key[0]] = dist
        for text in dist.requires or ():
            req = Requirement(text)
            if _requirement_applies(req, extras):
                todo.append((req.name, frozenset(req.extras), False))
    return found


# ---------------------------------------------------------------------------
# which files
# ---------------------------------------------------------------------------

def _bindable(name: str) -> bool:
    """Whether a top-level entry of a site-packages directory may appear in the sandbox at all."""
    if name in ("__pycache__", "") or name.endswith(".pth") or name.startswith("__editable__"):
        return False
    stem = re.split(r"[-.]", name, maxsplit=1)[0]
    return normalized(stem) not in NEVER_BOUND


def _is_namespace_dir(path: Path) -> bool:
    """A directory other distributions may share: no ``__init__.py`` and no metadata (``mpl_toolkits``,
    ``numpy.libs``); binding it whole would show what the others put there."""
    return path.is_dir() and not (path / "__init__.py").exists() \
        and not path.name.endswith((".dist-info", ".egg-info"))


def distribution_entries(dist: metadata.Distribution) -> list[Path]:
    """The files and directories of ``dist`` to bind into the sandbox's site-packages (absolute paths).

    From the distribution's ``RECORD`` (or ``installed-files.txt``): the first component of each
    path inside its site-packages directory, its metadata directory included; files installed
    elsewhere (``../../bin/…``) are not importable and are skipped. A namespace directory is split
    into the entries this distribution put in it. Without a file list, ``top_level.txt`` (or the
    distribution's name) names the packages or modules.
    """
    site = Path(dist.locate_file("")).resolve()
    files = [Path(f) for f in dist.files or () if Path(f).parts and Path(f).parts[0] != ".."
             and not Path(f).is_absolute()]
    out: set[Path] = set()
    if files:
        for top in {f.parts[0] for f in files}:
            path = site / top
            if not _bindable(top) or not path.exists():
                continue
            if _is_namespace_dir(path):
                out.update(site / top / f.parts[1] for f in files
                           if len(f.parts) > 2 and f.parts[0] == top and f.parts[1] != "__pycache__"
                           and (site / top / f.parts[1]).exists())
                out.update(site / f for f in files if len(f.parts) == 2 and f.parts[0] == top and (site / f).exists())
            else:
                out.add(path)
    else:
        names = {line.strip() for line in (dist.read_text("top_level.txt") or "").splitlines() if line.strip()}
        names.add(normalized(dist.metadata["Name"]).replace("-", "_"))
        for top in names:
            for path in [site / top, *site.glob(f"{top}.*")]:
                if path.exists() and _bindable(path.name) and not path.name.endswith((".dist-info", ".egg-info")):
                    out.add(path)
    return sorted(out)


# ---------------------------------------------------------------------------
# the interpreter and what to hide
# ---------------------------------------------------------------------------

def base_interpreter() -> Path:
    """The interpreter binary the sandbox runs: this one, through any virtualenv link to it.

    A virtualenv's ``bin/python`` is a link (or a copy) that makes the interpreter read the
    virtualenv's ``pyvenv.cfg`` and site-packages; the sandbox runs the installation it points to,
    so nothing of the virtualenv is bound.
    """
    real = Path(os.path.realpath(sys.executable))
    if sys.prefix != sys.base_prefix and (real.parent / ".." / "pyvenv.cfg").resolve().exists():
        # a copied (not linked) interpreter: use the base installation's binary
        v = sys.version_info
        for name in (f"python{v.major}.{v.minor}", f"python{v.major}"):
            candidate = Path(sys.base_prefix) / "bin" / name
            if candidate.exists():
                return Path(os.path.realpath(candidate))
    return real


_PROBE = ("import json, site, sys, sysconfig; p = sysconfig.get_paths(); "
          "print(json.dumps({'path': sys.path, 'site': site.getsitepackages(), "
          "'user': site.getusersitepackages(), 'purelib': p['purelib'], 'platlib': p['platlib'], "
          "'stdlib': p['stdlib'], 'platstdlib': p['platstdlib'], 'prefix': sys.prefix, "
          "'base_prefix': sys.base_prefix, 'version': list(sys.version_info[:2])}))")


@dataclass(frozen=True)
class SandboxPython:
    """Everything :mod:`rnnkit.grading.sandbox` binds or masks to give the kernel its Python."""

    #: The interpreter binary (run by its host path, which the sandbox shows read-only).
    interpreter: Path
    #: Installation roots to bind read-only at their own paths (standard library, shared libraries).
    prefixes: tuple[Path, ...]
    #: The standard library directories (never masked).
    stdlib: tuple[Path, ...]
    #: Directories the interpreter would import third-party code from, masked inside the sandbox.
    hidden: tuple[Path, ...]
    #: Top-level entries bound into :data:`SITE_DIR`, by the name they get there.
    site_entries: tuple[tuple[str, Path], ...]
    #: The distributions those entries come from (normalized name -> version).
    distributions: tuple[tuple[str, str], ...]


def _within(path: Path, parent: Path) -> bool:
    try:
        Path(path).resolve().relative_to(Path(parent).resolve())
        return True
    except ValueError:
        return False


@functools.lru_cache(maxsize=None)
def sandbox_python(distributions: tuple[str, ...] = SANDBOX_DISTRIBUTIONS,
                   required: tuple[str, ...] = REQUIRED_DISTRIBUTIONS) -> SandboxPython:
    """The sandbox's Python for this installation (computed once per process).

    The interpreter is asked, with a clean environment (``-E -s``), where its standard library
    and its import directories are: every import directory outside the standard library is hidden.
    The grader's own import directories (this process's ``sys.path``, a virtualenv's
    site-packages) are hidden too, should any lie under a bound root.
    """
    interpreter = base_interpreter()
    probe = subprocess.run([str(interpreter), "-E", "-s", "-c", _PROBE], capture_output=True, text=True,
                           env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}, timeout=60)
    if probe.returncode != 0:
        raise SandboxEnvironmentError(f"cannot ask {interpreter} for its paths: {probe.stderr.strip()[-500:]}")
    info = json.loads(probe.stdout)
    stdlib = tuple(sorted({Path(info["stdlib"]).resolve(), Path(info["platstdlib"]).resolve()}))
    prefixes: list[Path] = []
    for root in sorted({Path(info["prefix"]).resolve(), Path(info["base_prefix"]).resolve(),
                        interpreter.parent.parent}, key=lambda p: len(str(p))):
        if root.exists() and not any(_within(root, p) for p in prefixes):
            prefixes.append(root)
    candidates = {*info["path"], *info["site"], info["user"], info["purelib"], info["platlib"],
                  *sys.path, *_site_dirs_of_this_process()}
    hidden: set[Path] = set()
    for c in candidates:
        if not c or not os.path.isabs(c) or not os.path.isdir(c):
            continue
        p = Path(c).resolve()
        if any(_within(p, s) and p.name not in ("site-packages", "dist-packages") for s in stdlib):
            continue  # the standard library itself (lib-dynload included)
        if any(_within(s, p) for s in stdlib) or _within(interpreter, p):
            continue  # never mask what holds the standard library or the interpreter
        hidden.add(p)
    dists = distribution_closure([d for d in distributions if d in required],
                                 optional=[d for d in distributions if d not in required])
    entries: dict[str, Path] = {}
    for name, dist in sorted(dists.items()):
        for path in distribution_entries(dist):
            site = Path(dist.locate_file("")).resolve()
            rel = path.relative_to(site).as_posix() if _within(path, site) else path.name
            entries.setdefault(rel, path)
    for rel in entries:
        if not _bindable(rel.split("/", 1)[0]):
            raise AssertionError(f"sandbox site-packages entry {rel!r} must never be bound")
    return SandboxPython(interpreter=interpreter, prefixes=tuple(prefixes), stdlib=stdlib,
                         hidden=tuple(sorted(hidden)), site_entries=tuple(sorted(entries.items())),
                         distributions=tuple(sorted((n, d.version) for n, d in dists.items())))


def _site_dirs_of_this_process() -> set[str]:
    import site
    import sysconfig
    dirs = set(site.getsitepackages()) | {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    try:
        dirs |= set(site.getsitepackages([sys.base_prefix]))
    except TypeError:
        pass
    return dirs
