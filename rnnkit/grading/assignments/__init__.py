"""The graded functions of each assignment, one specification each (:class:`rnnkit.grading.engine.GradedFunction`).

One module per assignment, or a package with one module per graded function when it would pass the module line
limit. Each exposes ``CHECKS`` (grade_id -> Check, from :func:`rnnkit.grading.engine.checks_in`),
``SANDBOX_EXPORTS`` and ``SANDBOX_WITHHELD``; :mod:`rnnkit.grading.registry` finds it by the assignment's name.
An assignment imports the engine and rnnkit's public library, never another assignment.
"""
