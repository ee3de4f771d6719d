"""Learner-style implementations for testing rnnkit.grading: classic bugs, cheats, and valid variants.

One module per assignment, in course order (``a1_recurrence`` ... ``a7_char_lm``); this package's
``CASES`` is the whole table, in that order. Each entry is ``(grader, label, function, expected)``:

* ``grader`` — a callable ``fn, *, rng=None -> Verdict``: :func:`by_id` of the hidden test cell's grade_id
  (or, for an assignment not yet ported to the grading engine, a ``grade_*`` function with its options);
* ``expected`` — ``None`` for a valid implementation (must pass), otherwise a text
  fragment the failure message must contain (the named diagnosis).

Every implementation here is written the way a learner would write it — none of
them calls the grader's own buggy variants — so the table tests the diagnosis
honestly: the checker must recognise the mistake from its output alone.
"""
from __future__ import annotations

import dataclasses


def by_id(grade_id: str):
    """The grader of the hidden test cell ``grade_id``: ``grader(fn, *, rng=None) -> Verdict`` runs
    ``rnnkit.grading.registry.find_check(grade_id).grade(fn, rng=rng)``.

    The check is looked up when the grader runs (the registry prefers a ported assignment's module), and the
    grader's ``__name__`` is the grade_id, which names the table's test ids; ``grader.grade_id`` keeps it too.
    """
    def grader(fn, *, rng=None):
        from rnnkit.grading import registry
        return registry.find_check(grade_id).grade(fn, rng=rng)

    grader.__name__ = grader.__qualname__ = grade_id
    grader.grade_id = grade_id
    return grader


def check_classes() -> set:
    """Every class of check the table's graders can run: the old packages' ``Check`` and the engine's, and the
    class of every check the registry holds (whichever exist in this tree)."""
    import importlib

    from rnnkit.grading import registry
    classes = set()
    for module_name in ("rnnkit.grading._core.checks", "rnnkit.grading.engine"):
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError:
            continue
        if isinstance(getattr(module, "Check", None), type):
            classes.add(module.Check)
    for assignment in registry.MODULES:
        classes.update(type(check) for check in registry.checks_for(assignment).values())
    return {cls for cls in classes if dataclasses.is_dataclass(cls)
            and "large" in {f.name for f in dataclasses.fields(cls)} and hasattr(cls, "cases")}


def without_large_cases(setattr_):
    """Make every check draw its cases without its large case: ``setattr_(cls, "cases", ...)`` for each check
    class (pass ``monkeypatch.setattr``, or a function that records what to undo).

    The table runs a backward check's large case (fixed sizes, only its values change with the seed) on seed 0
    only: every valid implementation must pass it once; the diagnoses, which come from the small cases, are
    tested on every seed without paying for it again (test_representation.py tests the large cases).
    """
    for cls in check_classes():
        full = cls.cases

        def cases(self, *args, _full=full, **kwargs):
            return _full(dataclasses.replace(self, large=None), *args, **kwargs)

        setattr_(cls, "cases", cases)


# The table modules import by_id from here: defined above, so that importing them from here is no cycle.
from . import (a1_recurrence, a2_forward_loss, a3_bptt, a4_gradients_over_time, a5_teacher_forcing, a6_lstm,  # noqa: E402
               a7_char_lm)

#: The per-assignment modules in course order.
ASSIGNMENTS = (a1_recurrence, a2_forward_loss, a3_bptt, a4_gradients_over_time, a5_teacher_forcing, a6_lstm,
               a7_char_lm)

CASES = [case for module in ASSIGNMENTS for case in module.CASES]
