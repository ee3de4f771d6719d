"""The kernel side of grading: what runs in the learner's kernel (in the grading sandbox).

A hidden test cell is ::

    from rnnkit.grading.kernel import run_check
    run_check("test_rnn_forward", rnn_forward)

It calls the learner's function on the inputs the grader drew and records what it returns; it
decides nothing. Only numpy and the standard library are imported, and nothing of the engine or
of an assignment: the sandbox ships this package alone. Its modules:

- :mod:`~rnnkit.grading.kernel.calls` runs the calls (:func:`run_check`, :func:`run_calls`);
- :mod:`~rnnkit.grading.kernel.encoding` is the format cases and results travel in, shared with the
  grader (:func:`encode_results` / :func:`decode_results`);
- :mod:`~rnnkit.grading.kernel.arguments` builds object arguments (:class:`Transition`,
  :class:`RecordingGenerator`, a model) and encodes a check's calls (:func:`encode_calls` /
  :func:`decode_calls`);
- :mod:`~rnnkit.grading.kernel.oracle` holds the :class:`Oracle`, correct step results sealed under the
  exact inputs a correct loop passes, and the call wrappers :func:`with_oracle`, :func:`with_recorder`,
  :func:`with_budget`.
"""
from .arguments import MAX_WATCHED_CALLS, RecordingGenerator, Transition, decode_calls, encode_calls, special
from .calls import (BUDGET_ERROR, CASES_ENV, RESULTS_MIME, TimeBudgetExceeded, run_calls, run_check,
                    set_local_check, where_raised)
from .encoding import (MAX_ERROR_TEXT, MAX_OBSERVED_CALLS, MAX_PAYLOAD, MAX_STR, MAX_WHERE_TEXT, Other,
                       decode_results, encode_results)
from .oracle import Oracle, canonical_bytes, leaf_tag, seal, with_budget, with_oracle, with_recorder

__all__ = ["BUDGET_ERROR", "CASES_ENV", "MAX_ERROR_TEXT", "MAX_OBSERVED_CALLS", "MAX_PAYLOAD", "MAX_STR",
           "MAX_WATCHED_CALLS", "MAX_WHERE_TEXT", "Oracle", "Other", "RESULTS_MIME", "RecordingGenerator", "TimeBudgetExceeded",
           "Transition", "canonical_bytes", "decode_calls", "decode_results", "encode_calls", "encode_results",
           "leaf_tag", "run_calls", "run_check", "seal", "set_local_check", "special", "with_budget",
           "where_raised", "with_oracle", "with_recorder"]
