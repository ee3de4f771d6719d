r"""The hidden test cells of assignment a4-gradients-over-time (chapter 6), one specification each.

* :mod:`.jacobian`: ``jacobian_to_last(Hs, Ws, t)``, :math:`\partial h^{(T)}/\partial h^{(t)}` per sequence;
* :mod:`.clipping`: ``clip_by_value(grads, limit)`` and ``clip_by_global_norm(grads, max_norm)``;
* :mod:`.tbptt`: ``tbptt_backward(dHs, cache, k)``, BPTT cut at the borders of chunks of k steps.

The engine (:mod:`rnnkit.grading.engine`) draws the cases, compares, names the mistakes and reads the
probe cases; each module holds only what is particular to its function.
"""
from __future__ import annotations

from rnnkit.grading.engine import checks_in, withheld_by

__all__ = ["CHECKS", "SANDBOX_EXPORTS", "SANDBOX_WITHHELD"]

#: grade_id -> Check of every hidden test cell.
CHECKS = checks_in(__name__)

#: What the notebook may import from rnnkit inside the grading sandbox. Its setup cell does
#: ``import rnnkit`` (for the visible tests only); no solution cell needs anything from it.
SANDBOX_EXPORTS = ()

#: rnnkit functions that compute (or trivially give) a graded function of this assignment.
SANDBOX_WITHHELD = withheld_by(CHECKS)
