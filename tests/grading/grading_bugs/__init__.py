"""Learner-style implementations for testing rnnkit.grading: classic bugs, cheats, and valid variants.

One module per assignment, in course order (``a1_recurrence`` ... ``a7_char_lm``); this package's
``CASES`` is the whole table, in that order. Each entry is ``(grader, label, function, expected)``:

* ``grader`` — a callable ``fn -> Verdict`` (a ``grade_*`` function with its options);
* ``expected`` — ``None`` for a valid implementation (must pass), otherwise a text
  fragment the failure message must contain (the named diagnosis).

Every implementation here is written the way a learner would write it — none of
them calls the grader's own buggy variants — so the table tests the diagnosis
honestly: the checker must recognise the mistake from its output alone.
"""
from __future__ import annotations

from . import (a1_recurrence, a2_forward_loss, a3_bptt, a4_gradients_over_time, a5_teacher_forcing, a6_lstm,
               a7_char_lm)

#: The per-assignment modules in course order.
ASSIGNMENTS = (a1_recurrence, a2_forward_loss, a3_bptt, a4_gradients_over_time, a5_teacher_forcing, a6_lstm,
               a7_char_lm)

CASES = [case for module in ASSIGNMENTS for case in module.CASES]
