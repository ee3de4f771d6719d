"""The layout of the grading code (issue #19), read from the imports of rnnkit/ with ast.

* imports flow one way: rnnkit's library <- the kernel side (rnnkit.grading.kernel) <- the engine
  (rnnkit.grading.engine) <- the assignments (rnnkit.grading.assignments) <- the entry points (rnnkit.selfcheck,
  rnnkit.grading.pipeline, the sandbox modules, the registry, the rnnkit.grading package itself); every module
  under rnnkit/grading belongs to one of these;
* the kernel side imports numpy, the standard library and its own package only (two named exceptions);
* no assignment imports another; no private name crosses a module (``from x import _y``, ``x._y``), no private
  module is imported from outside its package or layer; no import cycle (lazy and ``importlib`` imports included);
* rnnkit's library (outside rnnkit/grading and rnnkit/selfcheck.py) never imports rnnkit.grading;
* no module or name contains the coined word "casefile";
* no dead code: every module under rnnkit/grading is reached from rnnkit's other modules, from the modules the
  registry loads for every assignment's checks, or from the course's configuration, notebooks and tools.

Each rule is a function of the parsed package returning its failures, each naming the file, the line and the
import; ``test_each_rule_can_fail`` runs the same function on a package in ``tmp_path`` with one violation.
"""
from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: The layers, lowest first: a module may import its own layer and those below it.
LAYERS = ("library", "kernel", "engine", "assignments", "entry")

#: Modules directly under rnnkit/grading that are entry points (besides pipeline/, sandbox* and rnnkit.grading).
ENTRY_MODULES = ("registry", "learner_package")

#: The coined word no module or name may contain.
COINED = "casefile"

#: Files outside rnnkit/ and tests/ whose naming a module of rnnkit.grading makes it used (nbgrader's
#: configuration, the notebooks' hidden cells, the maintainer tools, the build and CI scripts).
USERS = ("nbgrader_config.py", "tools/*.py", "source/*/*.ipynb", "Makefile", ".ci/*", "pyproject.toml")


@dataclass(frozen=True)
class Import:
    """``source`` (a module of the package, file ``path``) imports ``target`` (a module of the package, or an
    outside module) at ``line``; ``name``: the name taken from it (``from target import name``, ``target.name``)."""
    source: str
    path: str
    line: int
    target: str
    name: str
    text: str
    lazy: bool = False      # inside a function
    dynamic: bool = False   # an importlib.import_module call

    def where(self) -> str:
        kind = ", ".join(k for k, on in (("importlib", self.dynamic), ("inside a function", self.lazy)) if on)
        return f"{self.path}:{self.line}: {self.text}" + (f" ({kind})" if kind else "")


@dataclass
class Package:
    """A package read once: its modules (``{name: relative path}``), their imports, the private attributes they
    read from imported modules (``module._name``), and every name they define or use (``(where, name)``)."""
    modules: dict
    imports: list = field(default_factory=list)
    attributes: list = field(default_factory=list)
    names: list = field(default_factory=list)


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _owner(name: str, modules: dict) -> str:
    """The longest module of the package that ``name`` lies in (an outside module: as written)."""
    parts = name.split(".")
    while parts and ".".join(parts) not in modules:
        parts.pop()
    return ".".join(parts) if parts else name


def _dynamic(node: ast.Call, strings: set, modules: dict) -> list:
    """What an ``importlib.import_module(...)`` call loads: a constant name, or an f-string prefix whose variable
    part is one of the module's string constants (the registry's table of names)."""
    func = node.func
    called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    if called not in ("import_module", "__import__") or not node.args:
        return []
    arg = node.args[0]
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return [arg.value]
    if isinstance(arg, ast.JoinedStr) and isinstance(arg.values[0], ast.Constant):
        prefix = arg.values[0].value
        return [m for m in modules if m.startswith(prefix) and m[len(prefix):] in strings]
    return []


def read_package(root: Path, package: str = "rnnkit") -> Package:
    """Parse every module of ``package`` under ``root`` (a file removed while being listed is left out)."""
    sources = {}
    for path in sorted((root / package).rglob("*.py")):
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            continue
        parts = list(path.relative_to(root).with_suffix("").parts)
        sources[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = (path.relative_to(root), text)
    pkg = Package({name: rel for name, (rel, _) in sources.items()})
    for source, (rel, text) in sources.items():
        _read_module(pkg, source, str(rel), text)
    return pkg


def _read_module(pkg: Package, source: str, rel: str, text: str) -> None:
    tree = ast.parse(text, filename=rel)
    modules = pkg.modules
    here = source.split(".") if rel.endswith("__init__.py") else source.split(".")[:-1]
    strings = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    lazy = {id(n) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
            for n in ast.walk(f)}
    aliases = {}  # local name -> module of the package it is bound to
    for node in ast.walk(tree):
        common = dict(source=source, path=rel, line=getattr(node, "lineno", 0), lazy=id(node) in lazy)
        if isinstance(node, ast.Import):
            for alias in node.names:
                pkg.imports.append(Import(target=_owner(alias.name, modules), name="", text=f"import {alias.name}",
                                          **common))
                if alias.asname and alias.name in modules:
                    aliases[alias.asname] = alias.name
        elif isinstance(node, ast.ImportFrom) and node.module != "__future__":
            base = ".".join(here[:len(here) - node.level + 1] + [node.module or ""]).strip(".") if node.level \
                else node.module
            written = "." * node.level + (node.module or "")
            for alias in node.names:
                text_ = f"from {written} import {alias.name}" + (f" as {alias.asname}" if alias.asname else "")
                sub = f"{base}.{alias.name}"
                if sub in modules:  # `from package import module`
                    aliases[alias.asname or alias.name] = sub
                    pkg.imports.append(Import(target=sub, name="", text=text_, **common))
                else:
                    pkg.imports.append(Import(target=_owner(base, modules), name=alias.name, text=text_, **common))
        elif isinstance(node, ast.Call):
            for target in _dynamic(node, strings, modules):
                text_ = " ".join((ast.get_source_segment(text, node) or "").split())[:160]
                pkg.imports.append(Import(target=_owner(target, modules), name="", text=text_, dynamic=True,
                                          **common))
        for name in _names_of(node):
            pkg.names.append((f"{rel}:{common['line']}", name))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases \
                and _private(node.attr):
            pkg.attributes.append(Import(source=source, path=rel, line=node.lineno, target=aliases[node.value.id],
                                         name=node.attr, text=f"{node.value.id}.{node.attr}"))


def _names_of(node: ast.AST) -> list:
    """The names a node defines or uses."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, ast.alias):
        return [node.name, node.asname or ""]
    for kind, attr in ((ast.Name, "id"), (ast.Attribute, "attr"), (ast.arg, "arg"), (ast.ImportFrom, "module")):
        if isinstance(node, kind):
            return [getattr(node, attr) or ""]
    return []


# ---------------------------------------------------------------------------
# the rules: each returns its failures (empty: the rule holds)
# ---------------------------------------------------------------------------

def layer_of(name: str) -> str | None:
    """The layer of a module of rnnkit (``None``: a module of rnnkit/grading outside every layer)."""
    parts = name.split(".")
    if name == "rnnkit.selfcheck" or name == "rnnkit.grading":
        return "entry"
    if parts[:2] != ["rnnkit", "grading"]:
        return "library"
    if parts[2] in ("kernel", "engine", "assignments"):
        return parts[2]
    return "entry" if parts[2] == "pipeline" or parts[2] in ENTRY_MODULES or parts[2].startswith("sandbox") else None


def _in(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def layer_violations(pkg: Package) -> list:
    """Modules outside every layer, and imports against the flow (a module importing a higher layer)."""
    out = [f"{pkg.modules[m]}: {m} is in no layer of the layout (kernel, engine, assignments, pipeline, sandbox, "
           f"registry)" for m in pkg.modules if layer_of(m) is None]
    for imp in pkg.imports:
        have, want = layer_of(imp.source), layer_of(imp.target) if imp.target in pkg.modules else None
        if have and want and LAYERS.index(want) > LAYERS.index(have):
            out.append(f"{imp.where()}: the {have} module {imp.source} imports the {want} module {imp.target}")
    return out


#: The kernel side's only imports besides numpy and the standard library, each inside one function (never run by
#: ``import rnnkit.grading.kernel``): (file, module) -> why.
KERNEL_EXCEPTIONS = {
    ("rnnkit/grading/kernel/calls.py", "IPython.display"):
        "run_check publishes the recorded results as the hidden cell's output: IPython is the kernel it runs in",
    ("rnnkit/grading/kernel/arguments.py", "rnnkit"):
        "a7's model argument is built from rnnkit's public HiddenToHiddenRNN (the library is below the kernel)",
}


def kernel_violations(pkg: Package) -> list:
    """Imports of the kernel side other than numpy, the standard library, its own package and the two
    :data:`KERNEL_EXCEPTIONS` (inside a function)."""
    return [f"{imp.where()}: the kernel side imports {imp.target} (numpy and the standard library only)"
            for imp in pkg.imports if _in(imp.source, "rnnkit.grading.kernel")
            and not _in(imp.target, "rnnkit.grading.kernel") and not _in(imp.target, "numpy")
            and not (imp.target.split(".")[0] in sys.stdlib_module_names and imp.target not in pkg.modules)
            and not (imp.lazy and (imp.path, imp.target) in KERNEL_EXCEPTIONS)]


def cross_assignment_imports(pkg: Package) -> list:
    """Imports of one assignment module (or package) by another."""
    def assignment(name):
        parts = name.split(".")
        return parts[3] if parts[:3] == ["rnnkit", "grading", "assignments"] and len(parts) > 3 else None

    pairs = [(imp, assignment(imp.source), assignment(imp.target)) for imp in pkg.imports]
    return [f"{imp.where()}: assignment {mine} imports assignment {theirs}" for imp, mine, theirs in pairs
            if mine and theirs and mine != theirs]


def private_imports(pkg: Package) -> list:
    """A private name taken from another module; a private module imported from outside its package (or by
    another layer: the grading code uses the library's public API only)."""
    out = []
    for imp in pkg.imports + pkg.attributes:
        if imp.target not in pkg.modules or imp.target == imp.source:
            continue
        if imp.name and _private(imp.name):
            out.append(f"{imp.where()}: {imp.source} takes the private name {imp.name} of {imp.target}")
            continue
        parts = imp.target.split(".")
        for i, part in enumerate(parts):
            owner, private = ".".join(parts[:i]), ".".join(parts[:i + 1])
            if _private(part) and not (_in(imp.source, owner) and layer_of(imp.source) == layer_of(private)):
                out.append(f"{imp.where()}: {imp.source} imports the private module {private} from outside {owner}"
                           f" (or from another layer)")
                break
    return out


def import_cycles(pkg: Package) -> list:
    """Every cycle of imports among the package's modules: the modules that reach each other, and the imports
    between them."""
    edges = {}
    for imp in pkg.imports:
        if imp.target in pkg.modules and imp.target != imp.source:
            edges.setdefault(imp.source, {}).setdefault(imp.target, imp)

    def reach(start):
        seen, todo = set(), [start]
        while todo:
            for nxt in edges.get(todo.pop(), {}):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    reaches = {m: reach(m) for m in edges}
    cycles = {frozenset({m} | {n for n in reaches[m] if m in reaches.get(n, ())}) for m in edges if m in reaches[m]}
    return [f"import cycle among {', '.join(sorted(c))}: "
            + "; ".join(imp.where() for a in sorted(c) for b, imp in edges[a].items() if b in c)
            for c in sorted(cycles, key=sorted)]


def library_imports_of_grading(pkg: Package) -> list:
    """Imports of rnnkit.grading (or rnnkit.selfcheck, which grades) by rnnkit's library."""
    return [f"{imp.where()}: the library module {imp.source} imports {imp.target}" for imp in pkg.imports
            if layer_of(imp.source) == "library" and (_in(imp.target, "rnnkit.grading")
                                                      or imp.target == "rnnkit.selfcheck")]


def coined_names(pkg: Package) -> list:
    """Modules, and names defined or used in them, that contain the coined word."""
    return sorted({f"{path}: module {m}" for m, path in pkg.modules.items() if COINED in m.lower()}
                  | {f"{where}: the name {name}" for where, name in pkg.names if COINED in name.lower()})


def unused_modules(pkg: Package, used_elsewhere: set = frozenset({"rnnkit.grading.pipeline"})) -> list:
    """Modules under rnnkit/grading that nothing reaches: neither rnnkit's modules outside rnnkit/grading nor
    ``used_elsewhere`` (what the registry loads, what the course's files name), directly or through other
    modules. A module imported only by dead modules is dead too; importing a module runs its packages'
    __init__ modules."""
    edges = {}
    for imp in pkg.imports:
        edges.setdefault(imp.source, set()).add(imp.target)
    reached, todo = set(), [m for m in pkg.modules if not _in(m, "rnnkit.grading")] + sorted(used_elsewhere)
    while todo:
        parts = todo.pop().split(".")
        for module in (".".join(parts[:i]) for i in range(1, len(parts) + 1)):
            if module not in reached:
                reached.add(module)
                todo.extend(edges.get(module, ()))
    return [f"{pkg.modules[m]}: nothing imports {m}" for m in pkg.modules
            if _in(m, "rnnkit.grading") and m != "rnnkit.grading" and m not in reached]


# ---------------------------------------------------------------------------
# the rules on rnnkit/
# ---------------------------------------------------------------------------

def loaded_by_the_registry(root: Path) -> set:
    """The modules of rnnkit loaded, in a fresh interpreter, when every assignment's checks are loaded (modules
    found by name at run time count as used)."""
    code = (f"import json, sys\nsys.path.insert(0, {str(root)!r})\nfrom rnnkit.grading import registry\n"
            "for a in registry.MODULES:\n    registry.checks_for(a)\n"
            "print(json.dumps(sorted(m for m in sys.modules if m.startswith('rnnkit'))))\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root, timeout=300)
    assert run.returncode == 0, f"loading every assignment's checks failed:\n{run.stderr[-2000:]}"
    return set(json.loads(run.stdout.strip().splitlines()[-1]))


def named_by_the_course(root: Path, modules: dict) -> set:
    """Modules of rnnkit that a file of the course outside rnnkit/ and tests/ names (dotted)."""
    text = "\n".join(p.read_text(encoding="utf-8", errors="replace") for pattern in USERS
                     for p in sorted(root.glob(pattern)) if p.is_file())
    return {m for m in modules if re.search(re.escape(m) + r"(?!\w)", text)}


@pytest.fixture(scope="module")
def rnnkit_package():
    return read_package(ROOT)


#: The rules checked on rnnkit/ as they are, with the words a failure names them by.
RULES = [
    (layer_violations, "library <- kernel <- engine <- assignments <- entry points"),
    (kernel_violations, "the kernel side imports numpy and the standard library only"),
    (cross_assignment_imports, "no assignment imports another"),
    (private_imports, "no private name crosses a module"),
    (import_cycles, "no import cycle"),
    (library_imports_of_grading, "rnnkit's library never imports rnnkit.grading"),
    (coined_names, f"no module or name contains {COINED!r}"),
]


@pytest.mark.parametrize("rule, text", RULES, ids=[rule.__name__ for rule, _ in RULES])
def test_rule(rnnkit_package, rule, text):
    assert "rnnkit.grading.kernel" in rnnkit_package.modules, "rnnkit/grading/kernel/ does not exist"
    failures = rule(rnnkit_package)
    assert failures == [], f"{len(failures)} break the rule '{text}':\n  " + "\n  ".join(failures)


def test_every_grading_module_is_imported_by_something(rnnkit_package):
    used = loaded_by_the_registry(ROOT) | named_by_the_course(ROOT, rnnkit_package.modules)
    failures = unused_modules(rnnkit_package, used)
    assert failures == [], f"{len(failures)} dead module(s) under rnnkit/grading:\n  " + "\n  ".join(failures)


# ---------------------------------------------------------------------------
# each rule can fail: a small package with one violation each
# ---------------------------------------------------------------------------

#: A package that keeps every rule: the fixture each violation is added to (its pipeline is used by nbgrader's
#: configuration: unused_modules' default).
CLEAN = {
    "layers.py": "import numpy as np\n\ndef step(x):\n    return np.tanh(x)\n",
    "_helpers.py": "def public():\n    return 1\n",
    "models.py": "from ._helpers import public\nfrom .layers import step\n",
    "grading/kernel/__init__.py": "from .calls import run_calls\n",
    "grading/kernel/calls.py": "import json\nimport numpy as np\n\ndef run_calls(fn, calls):\n    return json.dumps([])\n",
    "grading/engine/__init__.py": "from rnnkit.layers import step\nfrom ..kernel import run_calls\n",
    "grading/assignments/a1_one.py": "from rnnkit.grading.engine import step\nCHECKS = {}\n",
    "grading/assignments/a2_two.py": "from ..engine import run_calls\nCHECKS = {}\n",
    "grading/registry.py": ("import importlib\nMODULES = {'a1': 'a1_one', 'a2': 'a2_two'}\n\ndef module_for(a):\n"
                            "    return importlib.import_module(f'rnnkit.grading.assignments.{MODULES[a]}')\n"),
    "grading/pipeline/__init__.py": "from .. import registry\n",
    "selfcheck.py": "from .grading import registry\n",
}

#: One violation per rule: the rule, the files changed, a text the failure must name.
VIOLATIONS = {
    "layers": (layer_violations, {"grading/engine/judge.py": "from ..assignments import a1_one\n"},
               "grading/engine/judge.py:1: from ..assignments import a1_one: the engine module"),
    "layers: a module in no layer": (layer_violations, {"grading/_core/old.py": "X = 1\n"},
                                     "rnnkit.grading._core.old is in no layer"),
    "kernel": (kernel_violations, {"grading/kernel/calls.py": "import numpy as np\nfrom rnnkit.layers import step\n"},
               "grading/kernel/calls.py:2: from rnnkit.layers import step"),
    "kernel: a third-party package": (kernel_violations, {"grading/kernel/calls.py": "import scipy\n"},
                                      "calls.py:1: import scipy"),
    "kernel: an allowed import at module level": (
        kernel_violations, {"grading/kernel/calls.py": "from IPython.display import display\n"}, "calls.py:1: from IP"),
    "assignments": (cross_assignment_imports,
                    {"grading/assignments/a2_two.py": "def f():\n    from .a1_one import CHECKS\n"},
                    "grading/assignments/a2_two.py:2: from .a1_one import CHECKS (inside a function)"),
    "private name": (private_imports, {"grading/assignments/a2_two.py": "from ..engine.cases import _draw\n",
                                       "grading/engine/cases.py": "def _draw():\n    pass\n"},
                     "takes the private name _draw of rnnkit.grading.engine.cases"),
    "private name of a sibling": (private_imports, {"grading/engine/a.py": "from .b import _x\n",
                                                    "grading/engine/b.py": "_x = 1\n"},
                                  "grading/engine/a.py:1: from .b import _x"),
    "private attribute": (private_imports, {"grading/engine/a.py": "from . import b\nY = b._x\n",
                                            "grading/engine/b.py": "_x = 1\n"}, "grading/engine/a.py:2: b._x"),
    "private module": (private_imports, {"grading/engine/__init__.py": "from rnnkit._helpers import public\n"},
                       "imports the private module rnnkit._helpers"),
    "cycle": (import_cycles, {"grading/kernel/calls.py": "def run_calls(fn, calls):\n    from ...selfcheck import x\n"},
              "rnnkit/grading/kernel/calls.py:2: from ...selfcheck import x (inside a function)"),
    "library imports grading": (library_imports_of_grading,
                                {"models.py": "import importlib\ndef f():\n"
                                              "    return importlib.import_module('rnnkit.grading')\n"},
                                "models.py:3: importlib.import_module('rnnkit.grading') (importlib, inside a function)"),
    "coined word": (coined_names, {"grading/kernel/casefile_arguments.py": "def encode():\n    pass\n"},
                    "module rnnkit.grading.kernel.casefile_arguments"),
    "coined name": (coined_names, {"grading/kernel/calls.py": "def read_casefile(path):\n    return path\n"},
                    "calls.py:1: the name read_casefile"),
    "dead module": (unused_modules, {"grading/engine/probes_old.py": "def interpret():\n    pass\n"},
                    "nothing imports rnnkit.grading.engine.probes_old"),
    "dead chain": (unused_modules, {"grading/engine/probes_old.py": "from .rules_old import RULES\n",
                                    "grading/engine/rules_old.py": "RULES = ()\n"},
                   "nothing imports rnnkit.grading.engine.rules_old"),
}


def _package(tmp_path: Path, files: dict) -> Package:
    """Write ``{relative path: source}`` under tmp_path/rnnkit (every directory a package) and read it."""
    for rel, source in files.items():
        (tmp_path / "rnnkit" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "rnnkit" / rel).write_text(source, encoding="utf-8")
    for directory in [tmp_path / "rnnkit", *(p for p in (tmp_path / "rnnkit").rglob("*") if p.is_dir())]:
        (directory / "__init__.py").touch()
    return read_package(tmp_path)


def test_the_clean_fixture_keeps_every_rule(tmp_path):
    pkg = _package(tmp_path, CLEAN)
    assert {name: rule(pkg) for name, (rule, _, _) in VIOLATIONS.items() if rule(pkg)} == {}
    # the registry's f-string import reaches both assignments (names in its table): neither is dead
    assert {i.target for i in pkg.imports if i.dynamic} == {"rnnkit.grading.assignments.a1_one",
                                                            "rnnkit.grading.assignments.a2_two"}


@pytest.mark.parametrize("name", VIOLATIONS)
def test_each_rule_can_fail(tmp_path, name):
    rule, changed, expected = VIOLATIONS[name]
    failures = rule(_package(tmp_path, {**CLEAN, **changed}))
    assert any(expected in f for f in failures), f"{name}: {expected!r} not in {failures}"
