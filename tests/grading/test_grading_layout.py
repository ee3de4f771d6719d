"""The layout of the grading code, read from the imports of rnnkit/ (parsed with ast, nothing is run but the
registry's own loading, for the dead-code rule).

The rules (issue #19, .helpers/engine_api.md):

* imports flow one way: rnnkit's library <- the kernel side (rnnkit.grading.kernel) <- the engine
  (rnnkit.grading.engine) <- the assignments (rnnkit.grading.assignments) <- the entry points (rnnkit.selfcheck,
  rnnkit.grading.pipeline, the sandbox modules, the registry, the rnnkit.grading package itself);
  every module under rnnkit/grading belongs to one of these;
* the kernel side imports numpy, the standard library and its own package only;
* no assignment imports another;
* no private name crosses a module (``from x import _y``, ``x._y``), and no private module is imported from
  outside its package;
* no import cycle among rnnkit's modules, lazy imports inside functions and ``importlib`` calls included;
* rnnkit's library (everything outside rnnkit/grading and rnnkit/selfcheck.py) never imports rnnkit.grading;
* no module or name contains the coined word "casefile";
* no dead code: every module under rnnkit/grading is imported by something (another module of rnnkit, the
  registry's loading of every assignment's checks, or the course's configuration, notebooks and tools).

Each rule is a function of the parsed modules that returns the failures, each naming the file, the line and the
import; ``test_*_can_fail`` runs the same function on a small package written into ``tmp_path`` with one
violation.
"""
from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: The layers, lowest first: a module may import its own layer and those below it.
LAYERS = ("library", "kernel", "engine", "assignments", "entry")

#: Modules directly under rnnkit/grading that are entry points (besides pipeline/ and rnnkit.grading itself).
ENTRY_MODULES = ("registry", "sandbox", "sandbox_environment", "learner_package")

#: The coined word no module or name may contain.
COINED = "casefile"

#: Files outside rnnkit/ and tests/ that may name a module of rnnkit.grading as its user (nbgrader's
#: configuration, the notebooks' hidden cells, the maintainer tools, the build and CI scripts).
USERS = ("nbgrader_config.py", "tools/*.py", "source/*/*.ipynb", "Makefile", ".ci/*", "pyproject.toml")


# ---------------------------------------------------------------------------
# reading the imports
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Import:
    """One import of a module of the package: ``source`` imports ``target`` (a module of the package, or an
    outside module's top name) at ``line`` of ``path``; ``name`` is the name taken from it (``from target
    import name``) or ``""``; ``lazy``: inside a function; ``dynamic``: an ``importlib.import_module`` call."""
    source: str
    path: str
    line: int
    target: str
    name: str
    text: str
    lazy: bool = False
    dynamic: bool = False

    def where(self) -> str:
        kind = ", ".join(k for k, on in (("importlib", self.dynamic), ("inside a function", self.lazy)) if on)
        return f"{self.path}:{self.line}: {self.text}" + (f" ({kind})" if kind else "")


#: The text of every module read by :func:`modules_of`.
SOURCES: dict = {}


def modules_of(root: Path, package: str = "rnnkit") -> dict:
    """``{module name: path}`` of every module of ``package`` under ``root`` (a package is its __init__)."""
    out = {}
    for path in sorted((root / package).rglob("*.py")):
        try:  # read once: every rule sees the same text (a file edited meanwhile does not change under them)
            SOURCES[path] = path.read_text(encoding="utf-8")
        except FileNotFoundError:  # removed since the directory was listed
            continue
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _is_package(name: str, modules: dict) -> bool:
    return modules[name].name == "__init__.py"


def _resolve_from(source: str, node: ast.ImportFrom, modules: dict) -> str:
    """The module a ``from ... import`` reads from (a relative import resolved against ``source``)."""
    if not node.level:
        return node.module or ""
    base = source.split(".")
    if not _is_package(source, modules):
        base = base[:-1]
    base = base[:len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _owner(name: str, modules: dict) -> str:
    """The longest module of the package that ``name`` lies in (``a.b.c`` -> ``a.b`` if only that exists)."""
    parts = name.split(".")
    while parts and ".".join(parts) not in modules:
        parts.pop()
    return ".".join(parts) if parts else name.split(".")[0]


def _strings(tree: ast.AST) -> set:
    return {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}


def _dynamic(node: ast.Call, strings: set, modules: dict) -> list:
    """The modules an ``importlib.import_module(...)`` call can load: a constant name, or an f-string prefix
    whose variable part is one of the module's string constants (the registry's table of names)."""
    func = node.func
    called = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    if called not in ("import_module", "__import__") or not node.args:
        return []
    arg = node.args[0]
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return [arg.value]
    if isinstance(arg, ast.JoinedStr) and arg.values and isinstance(arg.values[0], ast.Constant):
        prefix = arg.values[0].value
        return [name for name in modules if name.startswith(prefix) and name[len(prefix):] in strings]
    return []


def imports_in(root: Path, modules: dict) -> list:
    """Every import made by the modules (module level, inside functions, importlib calls)."""
    found = []
    for source, path in modules.items():
        text = SOURCES[path]
        tree = ast.parse(text, filename=str(path))
        rel = str(path.relative_to(root))
        strings = _strings(tree)
        lazy_lines = {n.lineno for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
                      for n in ast.walk(f) if isinstance(n, (ast.Import, ast.ImportFrom, ast.Call))}
        for node in ast.walk(tree):
            if not isinstance(node, (ast.Import, ast.ImportFrom, ast.Call)):
                continue
            if isinstance(node, ast.Call) and not _dynamic(node, strings, modules):
                continue
            line = node.lineno
            segment = " ".join((ast.get_source_segment(text, node) or "").split())[:160]
            common = dict(source=source, path=rel, line=line, text=segment, lazy=line in lazy_lines)
            if isinstance(node, ast.Import):
                for alias in node.names:
                    found.append(Import(target=_owner(alias.name, modules), name="", **common))
            elif isinstance(node, ast.ImportFrom):
                base = _resolve_from(source, node, modules)
                if base == "__future__":
                    continue
                written = "." * node.level + (node.module or "")
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    one = dict(common, text=f"from {written} import {alias.name}"
                                            + (f" as {alias.asname}" if alias.asname else ""))
                    if sub in modules:  # `from package import module`
                        found.append(Import(target=sub, name="", **one))
                    else:
                        found.append(Import(target=_owner(base, modules), name=alias.name, **one))
            elif isinstance(node, ast.Call):
                for target in _dynamic(node, strings, modules):
                    found.append(Import(target=_owner(target, modules), name="", dynamic=True, **common))
    return found


def private_attributes(root: Path, modules: dict) -> list:
    """``alias._name`` where ``alias`` is a module of the package imported by ``import x as alias``."""
    found = []
    for source, path in modules.items():
        text = SOURCES[path]
        tree = ast.parse(text)
        aliases = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name in modules:
                        aliases[alias.asname or alias.name] = alias.name
            elif isinstance(node, ast.ImportFrom):
                base = _resolve_from(source, node, modules)
                for alias in node.names:
                    if f"{base}.{alias.name}" in modules:
                        aliases[alias.asname or alias.name] = f"{base}.{alias.name}"
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases
                    and _private(node.attr) and aliases[node.value.id] != source):
                found.append(Import(source=source, path=str(path.relative_to(root)), line=node.lineno,
                                    target=aliases[node.value.id], name=node.attr,
                                    text=ast.get_source_segment(text, node) or node.attr))
    return found


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


# ---------------------------------------------------------------------------
# the rules: each returns its failures (empty: the rule holds)
# ---------------------------------------------------------------------------

def layer_of(name: str, package: str = "rnnkit") -> str | None:
    """The layer of a module of the package (``None``: a module of rnnkit/grading outside every layer)."""
    parts = name.split(".")
    if name == f"{package}.selfcheck":
        return "entry"
    if parts[:2] != [package, "grading"]:
        return "library"
    if len(parts) == 2:
        return "entry"
    part = parts[2]
    if part in ("kernel", "engine", "assignments"):
        return part
    if part == "pipeline" or part in ENTRY_MODULES or part.startswith("sandbox"):
        return "entry"
    return None


def layer_violations(imports: list, modules: dict, package: str = "rnnkit") -> list:
    """Imports against the flow (a module importing a higher layer), and modules outside every layer."""
    out = [f"{modules[m].relative_to(modules[package].parent.parent)}: {m} is in no layer of the layout "
           f"(kernel, engine, assignments, pipeline, sandbox, registry)"
           for m in modules if layer_of(m, package) is None]
    for imp in imports:
        if imp.target not in modules:
            continue
        have, want = layer_of(imp.source, package), layer_of(imp.target, package)
        if have is None or want is None:
            continue
        if LAYERS.index(want) > LAYERS.index(have):
            out.append(f"{imp.where()}: the {have} module {imp.source} imports the {want} module {imp.target}")
    return out


def kernel_violations(imports: list, modules: dict, package: str = "rnnkit") -> list:
    """Imports of the kernel side other than numpy, the standard library and its own package."""
    kernel = f"{package}.grading.kernel"
    out = []
    for imp in imports:
        if not (imp.source == kernel or imp.source.startswith(kernel + ".")):
            continue
        top = imp.target.split(".")[0]
        if imp.target == kernel or imp.target.startswith(kernel + ".") or top == "numpy":
            continue
        if top in sys.stdlib_module_names and imp.target not in modules:
            continue
        out.append(f"{imp.where()}: the kernel side imports {imp.target} (numpy and the standard library only)")
    return out


def cross_assignment_imports(imports: list, package: str = "rnnkit") -> list:
    """Imports of one assignment module (or package) by another."""
    prefix = f"{package}.grading.assignments."

    def assignment(name):
        return name[len(prefix):].split(".")[0] if name.startswith(prefix) else None

    return [f"{imp.where()}: assignment {assignment(imp.source)} imports assignment {assignment(imp.target)}"
            for imp in imports if assignment(imp.source) and assignment(imp.target)
            and assignment(imp.source) != assignment(imp.target)]


def private_imports(imports: list, modules: dict) -> list:
    """A private name taken from another module, or a private module imported from outside its package (or from
    another layer: the grading code uses the library's public API only)."""
    out = []
    for imp in imports:
        if imp.target not in modules or imp.target == imp.source:
            continue
        if imp.name and _private(imp.name):
            out.append(f"{imp.where()}: {imp.source} takes the private name {imp.name} of {imp.target}")
            continue
        parts = imp.target.split(".")
        for i, part in enumerate(parts):
            owner, private = ".".join(parts[:i]), ".".join(parts[:i + 1])
            # a private module is for its own package (and that package's subpackages of the same layer)
            if _private(part) and not (imp.source.startswith(owner + ".")
                                       and layer_of(imp.source) == layer_of(private)):
                out.append(f"{imp.where()}: {imp.source} imports the private module {private} from outside "
                           f"{owner}" + (f" ({layer_of(imp.source)} module, {layer_of(private)} private module)"
                              if imp.source.startswith(owner + ".") else ""))
                break
    return out


def import_cycles(imports: list, modules: dict) -> list:
    """Every cycle of imports among the package's modules (strongly connected components, Tarjan)."""
    edges = {}
    for imp in imports:
        if imp.target in modules and imp.target != imp.source:
            edges.setdefault(imp.source, {}).setdefault(imp.target, imp)
    index, low, stack, on_stack, components = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10 * len(modules) + 100))
    try:
        for v in sorted(modules):
            if v not in index:
                visit(v)
    finally:
        sys.setrecursionlimit(limit)
    out = []
    for component in components:
        inside = [edges[a][b].where() for a in component for b in edges.get(a, {}) if b in component]
        out.append(f"import cycle among {', '.join(component)}: " + "; ".join(inside))
    return out


def library_imports_of_grading(imports: list, package: str = "rnnkit") -> list:
    """Imports of rnnkit.grading (or rnnkit.selfcheck, which grades) by rnnkit's library."""
    grading = f"{package}.grading"
    return [f"{imp.where()}: the library module {imp.source} imports {imp.target}" for imp in imports
            if layer_of(imp.source, package) == "library"
            and (imp.target == grading or imp.target.startswith(grading + ".") or imp.target == f"{package}.selfcheck")]


def coined_names(root: Path, modules: dict) -> list:
    """Modules, and names defined or imported in them, that contain the coined word."""
    out = [f"{path.relative_to(root)}: module {name}" for name, path in modules.items() if COINED in name.lower()]
    for name, path in modules.items():
        tree = ast.parse(SOURCES[path])
        for node in ast.walk(tree):
            names = []
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names = [node.name]
            elif isinstance(node, ast.Name):
                names = [node.id]
            elif isinstance(node, ast.Attribute):
                names = [node.attr]
            elif isinstance(node, ast.arg):
                names = [node.arg]
            elif isinstance(node, ast.alias):
                names = [node.name, node.asname or ""]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            for n in names:
                if COINED in n.lower():
                    out.append(f"{path.relative_to(root)}:{getattr(node, 'lineno', 0)}: the name {n}")
    return sorted(set(out))


def unused_modules(imports: list, modules: dict, used_elsewhere: set, package: str = "rnnkit") -> list:
    """Modules under rnnkit/grading that nothing reaches: not imported (directly or through other modules) by
    rnnkit's modules outside rnnkit/grading, by a module loaded with the registry's checks, or by a file of the
    course that names it (``used_elsewhere``). A module imported only by dead modules is dead too.

    Importing a module runs its packages' __init__ modules: they count as reached with it."""
    grading = f"{package}.grading"
    edges = {}
    for imp in imports:
        edges.setdefault(imp.source, set()).add(imp.target)
    reached, todo = set(), [m for m in modules if not m.startswith(grading + ".") and m != grading]
    todo += sorted(used_elsewhere)
    while todo:
        name = todo.pop()
        parts = name.split(".")
        for i in range(1, len(parts) + 1):
            module = ".".join(parts[:i])
            if module not in reached:
                reached.add(module)
                todo.extend(edges.get(module, ()))
    return [f"{modules[m].relative_to(modules[package].parent.parent)}: nothing imports {m}"
            for m in modules if m.startswith(grading + ".") and m not in reached]


# ---------------------------------------------------------------------------
# what the course uses besides rnnkit's own imports
# ---------------------------------------------------------------------------

def loaded_by_the_registry(root: Path) -> set:
    """The modules of rnnkit.grading loaded when every assignment's checks are loaded and the entry points are
    imported (in a fresh interpreter): modules found by name at run time (a package's specification modules)."""
    code = ("import json, sys\n"
            f"sys.path.insert(0, {str(root)!r})\n"
            "from rnnkit.grading import registry\n"
            "for a in registry.MODULES:\n"
            "    registry.checks_for(a)\n"
            "print(json.dumps(sorted(m for m in sys.modules if m.startswith('rnnkit'))))\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root, timeout=300)
    assert run.returncode == 0, f"loading every assignment's checks failed:\n{run.stderr[-2000:]}"
    return set(json.loads(run.stdout.strip().splitlines()[-1]))


def named_by_the_course(root: Path, modules: dict) -> set:
    """Modules of rnnkit.grading that a file of the course outside rnnkit/ and tests/ names (dotted)."""
    text = "\n".join(p.read_text(encoding="utf-8", errors="replace") for pattern in USERS
                     for p in sorted(root.glob(pattern)) if p.is_file())
    return {m for m in modules if re.search(re.escape(m) + r"(?![\w])", text)}


@pytest.fixture(scope="module")
def tree():
    modules = modules_of(ROOT)
    return modules, imports_in(ROOT, modules)


def _report(failures: list, rule: str) -> str:
    return f"{len(failures)} import(s) break the rule '{rule}':\n  " + "\n  ".join(failures)


# ---------------------------------------------------------------------------
# the rules on rnnkit/
# ---------------------------------------------------------------------------

def test_imports_flow_from_the_entry_points_down_to_the_library(tree):
    modules, imports = tree
    failures = layer_violations(imports, modules)
    assert failures == [], _report(failures, "library <- kernel <- engine <- assignments <- entry points")


def test_the_kernel_side_imports_numpy_and_the_standard_library_only(tree):
    modules, imports = tree
    assert "rnnkit.grading.kernel" in modules, "rnnkit/grading/kernel/ does not exist"
    failures = kernel_violations(imports, modules)
    assert failures == [], _report(failures, "the kernel side imports numpy and the standard library only")


def test_no_assignment_imports_another(tree):
    modules, imports = tree
    failures = cross_assignment_imports(imports)
    assert failures == [], _report(failures, "no assignment imports another")


def test_no_private_name_crosses_a_module(tree):
    modules, imports = tree
    failures = private_imports(imports + private_attributes(ROOT, modules), modules)
    assert failures == [], _report(failures, "no private name crosses a module")


def test_no_import_cycle(tree):
    modules, imports = tree
    failures = import_cycles(imports, modules)
    assert failures == [], _report(failures, "no import cycle")


def test_the_library_never_imports_grading(tree):
    modules, imports = tree
    failures = library_imports_of_grading(imports)
    assert failures == [], _report(failures, "rnnkit's library never imports rnnkit.grading")


def test_no_module_or_name_is_the_coined_word(tree):
    modules, _ = tree
    failures = coined_names(ROOT, modules)
    assert failures == [], _report(failures, f"no module or name contains {COINED!r}")


def test_every_grading_module_is_imported_by_something(tree):
    modules, imports = tree
    used = loaded_by_the_registry(ROOT) | named_by_the_course(ROOT, modules)
    failures = unused_modules(imports, modules, used)
    assert failures == [], _report(failures, "no dead code: every module under rnnkit/grading is imported")


# ---------------------------------------------------------------------------
# each rule can fail: a small package with one violation each
# ---------------------------------------------------------------------------

def _package(tmp_path: Path, files: dict) -> tuple:
    """Write ``{relative path: source}`` under tmp_path/rnnkit (every directory a package) and read it."""
    for rel, source in files.items():
        path = tmp_path / "rnnkit" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source, encoding="utf-8")
    for directory in [tmp_path / "rnnkit", *(p for p in (tmp_path / "rnnkit").rglob("*") if p.is_dir())]:
        (directory / "__init__.py").touch()
    modules = modules_of(tmp_path)
    return modules, imports_in(tmp_path, modules)


#: A package that keeps every rule: the fixture each violation is added to.
CLEAN = {
    "layers.py": "import numpy as np\n\ndef step(x):\n    return np.tanh(x)\n",
    "_helpers.py": "def public():\n    return 1\n",
    "models.py": "from ._helpers import public\nfrom .layers import step\n",
    "grading/kernel/__init__.py": "from .calls import run_calls\n",
    "grading/kernel/calls.py": "import json\nimport numpy as np\n\ndef run_calls(fn, calls):\n    return json.dumps([])\n",
    "grading/engine/__init__.py": "from rnnkit.layers import step\nfrom ..kernel import run_calls\n",
    "grading/assignments/a1_one.py": "from rnnkit.grading.engine import step\nCHECKS = {}\n",
    "grading/assignments/a2_two.py": "from ..engine import run_calls\nCHECKS = {}\n",
    "grading/registry.py": ("import importlib\nMODULES = {'a1': 'a1_one', 'a2': 'a2_two'}\n\n"
                            "def module_for(a):\n"
                            "    return importlib.import_module(f'rnnkit.grading.assignments.{MODULES[a]}')\n"),
    "grading/pipeline/__init__.py": "from .. import registry\n",
    "selfcheck.py": "from .grading import registry\n",
}

#: One violation per rule: (the rule's function on (tmp_path, modules, imports), the files changed, a text the
#: failure must name).
VIOLATIONS = {
    "layers": (lambda root, m, i: layer_violations(i, m),
               {"grading/engine/judge.py": "from ..assignments import a1_one\n"},
               "grading/engine/judge.py:1: from ..assignments import a1_one"),
    "layers: a module in no layer": (lambda root, m, i: layer_violations(i, m),
                                     {"grading/_core/old.py": "X = 1\n"}, "rnnkit.grading._core.old is in no layer"),
    "kernel": (lambda root, m, i: kernel_violations(i, m),
               {"grading/kernel/calls.py": "import numpy as np\nfrom rnnkit.layers import step\n"},
               "grading/kernel/calls.py:2: from rnnkit.layers import step"),
    "kernel: a third-party package": (lambda root, m, i: kernel_violations(i, m),
                                      {"grading/kernel/calls.py": "import scipy\n"}, "imports scipy"),
    "assignments": (lambda root, m, i: cross_assignment_imports(i),
                    {"grading/assignments/a2_two.py": "def f():\n    from .a1_one import CHECKS\n"},
                    "grading/assignments/a2_two.py:2: from .a1_one import CHECKS (inside a function)"),
    "private name": (lambda root, m, i: private_imports(i, m),
                     {"grading/assignments/a2_two.py": "from ..engine.cases import _draw\n",
                      "grading/engine/cases.py": "def _draw():\n    pass\n"},
                     "takes the private name _draw of rnnkit.grading.engine.cases"),
    "private name of a sibling": (lambda root, m, i: private_imports(i, m),
                                  {"grading/engine/a.py": "from .b import _x\n", "grading/engine/b.py": "_x = 1\n"},
                                  "grading/engine/a.py:1: from .b import _x"),
    "private attribute": (lambda root, m, i: private_imports(i + private_attributes(root, m), m),
                          {"grading/engine/a.py": "from . import b\nY = b._x\n", "grading/engine/b.py": "_x = 1\n"},
                          "grading/engine/a.py:2: b._x"),
    "private module": (lambda root, m, i: private_imports(i, m),
                       {"grading/engine/__init__.py": "from rnnkit._helpers import public\n"},
                       "imports the private module rnnkit._helpers from outside rnnkit"),
    "cycle": (lambda root, m, i: import_cycles(i, m),
              {"grading/kernel/calls.py": "def run_calls(fn, calls):\n    from ...selfcheck import registry\n"},
              "import cycle among"),
    "library imports grading": (lambda root, m, i: library_imports_of_grading(i),
                                {"models.py": "import importlib\n"
                                              "def f():\n    return importlib.import_module('rnnkit.grading')\n"},
                                "models.py:3: importlib.import_module('rnnkit.grading') (importlib, inside a function)"),
    "coined word": (lambda root, m, i: coined_names(root, m),
                    {"grading/kernel/casefile_arguments.py": "def encode():\n    pass\n"},
                    "module rnnkit.grading.kernel.casefile_arguments"),
    "coined name": (lambda root, m, i: coined_names(root, m),
                    {"grading/kernel/calls.py": "def read_casefile(path):\n    return path\n"},
                    "the name read_casefile"),
    "dead module": (lambda root, m, i: unused_modules(i, m, {"rnnkit.grading.pipeline"}),  # nbgrader's configuration
                    {"grading/engine/probes_old.py": "def interpret():\n    pass\n"},
                    "nothing imports rnnkit.grading.engine.probes_old"),
    "dead chain": (lambda root, m, i: unused_modules(i, m, {"rnnkit.grading.pipeline"}),
                   {"grading/engine/probes_old.py": "from .rules_old import RULES\n",
                    "grading/engine/rules_old.py": "RULES = ()\n"},
                   "nothing imports rnnkit.grading.engine.rules_old"),
}


def test_the_clean_fixture_keeps_every_rule(tmp_path):
    modules, imports = _package(tmp_path, CLEAN)
    for name, (rule, _, _) in VIOLATIONS.items():
        assert rule(tmp_path, modules, imports) == [], name
    # the registry's f-string import reaches both assignments (names in its table), so neither is dead
    assert {i.target for i in imports if i.dynamic} == {"rnnkit.grading.assignments.a1_one",
                                                        "rnnkit.grading.assignments.a2_two"}


@pytest.mark.parametrize("name", VIOLATIONS)
def test_each_rule_can_fail(tmp_path, name):
    rule, changed, expected = VIOLATIONS[name]
    modules, imports = _package(tmp_path, {**CLEAN, **changed})
    failures = rule(tmp_path, modules, imports)
    assert any(expected in f for f in failures), f"{name}: {expected!r} not in {failures}"
