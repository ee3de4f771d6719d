"""Checks behind the hidden tests of the course's nbgrader assignments.

The layout (see :doc:`/book/grading-reference`); imports flow one way, from top to bottom:

* :mod:`rnnkit.grading.kernel` — what runs in the learner's kernel: a hidden test cell
  ``run_check(grade_id, fn)`` calls the function on the inputs the grader drew and records what it
  returns (numpy and the standard library only; it decides nothing);
* :mod:`rnnkit.grading.engine` — draws the cases, compares with the references, names the mistake;
* :mod:`rnnkit.grading.assignments` — one specification module per assignment, found by
  :mod:`rnnkit.grading.registry`;
* :mod:`rnnkit.grading.pipeline`, :mod:`rnnkit.grading.sandbox` and :mod:`rnnkit.selfcheck` —
  nbgrader, the sandbox a submission runs in, and the learner's advisory self-check.

Importing this package imports nothing else: the sandbox ships :mod:`rnnkit.grading.kernel` without
the checks.
"""
