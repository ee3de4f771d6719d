"""Checks behind the hidden tests of the course's nbgrader assignments.

The layout (see :doc:`/book/grading-reference`); imports flow one way, from top to bottom:

* :mod:`rnnkit.grading.kernel` — what runs in the learner's kernel: a hidden test cell
  ``run_check(grade_id, fn)`` calls the function on the inputs the grader drew and records what it
  returns (numpy and the standard library only; it decides nothing);
* the engine and one specification module per assignment (:mod:`rnnkit.grading.registry` finds
  them) — draw the cases, compare with the references, name the mistake;
* :mod:`rnnkit.grading.pipeline`, :mod:`rnnkit.grading.sandbox` and :mod:`rnnkit.selfcheck` —
  nbgrader, the sandbox a submission runs in, and the learner's advisory self-check.

Importing this package imports nothing else: the sandbox ships :mod:`rnnkit.grading.kernel` without
the checks.
"""

#: Names every assignment module defines for itself; read them per module (``registry.module_for``).
_PER_ASSIGNMENT = {"CHECKS", "SANDBOX_EXPORTS", "SANDBOX_WITHHELD"}


def __getattr__(name: str):
    """Transition only: the old ``grade_*``/``judge_*`` functions and other names of the assignment packages
    and ``_core``, found on first use (tests use ``registry.find_check(grade_id)`` instead); removed once
    nothing asks for them. A submodule (``registry``, ``kernel``, ...) is imported, nothing else."""
    import importlib
    import importlib.util
    if name.startswith("__"):
        raise AttributeError(name)
    if importlib.util.find_spec(f"{__name__}.{name}") is not None:
        return importlib.import_module(f"{__name__}.{name}")
    if name in ("Check", "Verdict", "GRAD_TOL", "VALUE_TOL", "BUG_MATCH_TOL", "judge", "require"):
        return getattr(importlib.import_module(f"{__name__}.engine"), name)
    registry = importlib.import_module(f"{__name__}.registry")
    for package in registry.MODULES.values():  # the old package of each assignment, while it is there
        if importlib.util.find_spec(f"{__name__}.{package}") is not None:
            module = importlib.import_module(f"{__name__}.{package}")
            if name in getattr(module, "__all__", ()) and name not in _PER_ASSIGNMENT:
                return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
