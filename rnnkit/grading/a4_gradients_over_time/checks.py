"""a4-gradients-over-time: ``CHECKS`` and the ``grade_*`` functions."""
from __future__ import annotations

from .._core import Verdict
from .clipping import CLIP_BY_GLOBAL_NORM, CLIP_BY_VALUE
from .jacobian import JACOBIAN_TO_LAST
from .tbptt import TBPTT_BACKWARD


#: The hidden test cells of a4-gradients-over-time, by grade_id.
CHECKS = {c.grade_id: c for c in (JACOBIAN_TO_LAST, CLIP_BY_VALUE, CLIP_BY_GLOBAL_NORM, TBPTT_BACKWARD)}


# ---------------------------------------------------------------------------
# in-process wrappers (tests, trusted code)
# ---------------------------------------------------------------------------

def grade_jacobian_to_last(fn, *, rng=None) -> Verdict:
    """Check ``jacobian_to_last(Hs, Ws, t) -> J`` (B, H, H) for t = 0 (the initial state), one t inside, and t = T."""
    return JACOBIAN_TO_LAST.grade(fn, rng=rng)


def grade_clip_by_value(fn, *, rng=None) -> Verdict:
    """Check ``clip_by_value(grads, limit) -> dict``: every entry clipped into [−limit, limit]."""
    return CLIP_BY_VALUE.grade(fn, rng=rng)


def grade_clip_by_global_norm(fn, *, rng=None) -> Verdict:
    """Check ``clip_by_global_norm(grads, max_norm) -> (dict, norm_before)``, above and below the threshold."""
    return CLIP_BY_GLOBAL_NORM.grade(fn, rng=rng)


def grade_tbptt_backward(fn, *, rng=None) -> Verdict:
    """Check ``tbptt_backward(dHs, cache, k) -> (dX, dWx, dWs, db)`` with ``cache = (X, h0, Hs, Wx, Ws)``."""
    return TBPTT_BACKWARD.grade(fn, rng=rng)
