"""The ``rnnkit`` package a learner's kernel imports inside the grading sandbox.

The sandbox never sees the installed rnnkit (its reference implementations): for each assignment
the grader writes a small package of its own with :mod:`rnnkit.grading.kernel` (the case runner, and of
:mod:`rnnkit.grading` nothing else: no engine, no assignment, no reference) and the
helpers the assignment allows (``SANDBOX_EXPORTS``), each module with the assignment's withheld
definitions (``SANDBOX_WITHHELD``) cut out. :mod:`rnnkit.grading.sandbox` binds it read-only, first
on ``PYTHONPATH``.
"""
from __future__ import annotations

import ast
from pathlib import Path

import rnnkit

__all__ = ["build_learner_package", "module_file", "relative_imports", "strip_definitions"]



def strip_definitions(source: str, names: set[str]) -> str:
    """``source`` without the top-level functions/classes called ``names`` (decorators included), and
    without those names in its relative imports (a package's ``__init__`` re-exporting a withheld
    function from its submodule would otherwise fail to import in the sandbox)."""
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    replace = []  # (first line, end line, replacement text)
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name in names:
            start = min([node.lineno] + [d.lineno for d in node.decorator_list]) - 1
            replace.append((start, node.end_lineno, ""))
        elif isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id in names for t in node.targets):
            replace.append((node.lineno - 1, node.end_lineno, ""))
        elif isinstance(node, ast.ImportFrom) and node.level and any(a.name in names for a in node.names):
            kept = [a for a in node.names if a.name not in names]
            text = ast.unparse(ast.ImportFrom(module=node.module, names=kept, level=node.level)) + "\n" if kept else ""
            replace.append((node.lineno - 1, node.end_lineno, text))
    for start, end, text in sorted(replace, reverse=True):
        lines[start:end] = [text] if text else []
    return "".join(lines)


def relative_imports(source: str, package: str) -> set[str]:
    """Modules of rnnkit that a module of the package ``package`` imports relatively (``from .x import``,
    ``from ..x import``, ``from . import x``; also inside functions), as dotted names relative to rnnkit
    (``"layers.rnn"``); ``package`` is the importing module's package, ``""`` for rnnkit itself."""
    mods = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.level >= 1:
            parts = package.split(".") if package else []
            base = parts[:len(parts) - (node.level - 1)] if node.level > 1 else parts
            if node.module:
                mods.add(".".join(base + node.module.split(".")))
            else:
                mods.update(".".join(base + [alias.name]) for alias in node.names)
    return mods


def module_file(pkg_src: Path, mod: str) -> Path | None:
    """The source file of the rnnkit module ``mod`` (dotted, relative to rnnkit): ``x.py`` or ``x/__init__.py``."""
    path = pkg_src.joinpath(*mod.split("."))
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None  # an imported name, not a module (``from . import sigmoid``)


def build_learner_package(assignment_module, dest: Path) -> Path:
    """Write the ``rnnkit`` package the sandbox of one assignment imports, into ``dest/rnnkit``.

    It holds :mod:`rnnkit.grading.kernel` (under an ``rnnkit/grading/__init__.py`` that imports
    nothing), the modules that define the assignment's ``SANDBOX_EXPORTS`` (and the modules they
    import), each with the assignment's ``SANDBOX_WITHHELD`` definitions cut out, and an ``__init__``
    that exports just those names. A sub-package whose ``__init__`` no shipped module imports gets an empty
    ``__init__`` (so ``rnnkit.layers._common`` ships without the other cell modules).
    A withheld name that survives raises here, not in a learner's kernel.
    """
    pkg_src = Path(rnnkit.__file__).resolve().parent
    exports = tuple(getattr(assignment_module, "SANDBOX_EXPORTS", ()))
    withheld = set(getattr(assignment_module, "SANDBOX_WITHHELD", ()))
    overlap = withheld.intersection(exports)
    if overlap:
        raise ValueError(f"{assignment_module.__name__}: {sorted(overlap)} both exported and withheld")
    where = {}
    for name in exports:
        obj = getattr(rnnkit, name)
        where[name] = obj.__module__.split(".", 1)[1]
    needed: dict[str, Path] = {}
    todo = ["grading.kernel", *set(where.values())]
    while todo:
        mod = todo.pop()
        path = module_file(pkg_src, mod)
        if mod in needed or path is None:
            continue
        needed[mod] = path
        package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        todo.extend(relative_imports(path.read_text(), package) - set(needed))
    out = dest / "rnnkit"
    out.mkdir(parents=True, exist_ok=True)
    for mod, path in sorted(needed.items()):
        text = strip_definitions(path.read_text(), withheld)
        target = out / path.relative_to(pkg_src)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        left = {n.name for n in ast.parse(text).body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
        if left & withheld:
            raise AssertionError(f"withheld {sorted(left & withheld)} still defined in sandbox {mod}")
    for sub in {d for p in out.rglob("*.py") for d in p.parents if out in d.parents}:
        marker = sub / "__init__.py"
        if not marker.exists():
            marker.write_text('"""Only the modules of this sub-package that the assignment needs."""\n')
    lines = ['"""rnnkit as the grading sandbox ships it: only the helpers this assignment allows."""\n']
    for name, mod in sorted(where.items()):
        lines.append(f"from .{mod} import {name}\n")
    lines.append(f"__all__ = {sorted(where)!r}\n")
    (out / "__init__.py").write_text("".join(lines))
    return out
