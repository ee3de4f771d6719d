r"""Checks for assignment a7-char-lm (chapter 9): batching, a training step, sampling with temperature.

* ``make_batches(ids, B, T)``: B contiguous streams of length L = (N-1)//B; window j of every stream
  follows window j-1; targets are the inputs shifted one id ahead (as :func:`rnnkit.data.lm_batches`).
* ``sample_with_temperature(logits, temperature, rng)``: one draw ``u = rng.random(B)`` and inverse-CDF
  sampling from softmax(logits / temperature) (as :func:`rnnkit.sampling.sample_from_logits`).
* ``train_step(model, X, Y, state, lr, max_norm) -> (loss, new_state)``: loss and gradients from
  ``model.loss_and_grads`` starting at ``state``, clipping by global norm, one SGD update of
  ``model.params`` in place, and the final state for the next batch.

Each hidden test cell is a :class:`~rnnkit.grading.Check` in :data:`CHECKS`: the case builder draws
fresh inputs in the grading process and adds fixed cases (judged on every run, so a regrade never
changes a score); the judge sees only what the kernel recorded: the returned values, the sizes the
generator handed to ``sample_with_temperature`` drew, and the parameters of the model ``train_step``
updated (with how its ``loss_and_grads`` was called). ``grade_*`` run a check in this process.

How a mistake is named (in this order):

1. a catalogue of classic mistakes (buggy variants computed here on the same inputs). A variant is
   named when it explains the learner's results on *every* case, the fixed probe cases included:
   the probes are chosen so that mistakes that agree on one case disagree on another (e.g. clipping
   each array on its own looks like no clipping at all when every array is small; a strong-clipping
   probe tells them apart);
2. for ``make_batches``, where each id is unique, a reading of the layout the learner produced
   (how far apart the streams start, the shift of the targets, where the windows start);
3. the probe tables (``_BATCH_PROBES``, ``_SAMPLE_PROBE_RULES``, ``_TRAIN_PROBE_RULES``): which probe
   cases, each with one part of the computation switched off (one stream, one window; temperature 1,
   equal logits; no clipping needed, a zero state), are right, and so which part is at fault.

A check also records facts a value cannot show: the uniforms drawn from the generator
(``sample_with_temperature`` must draw exactly ``rng.random(B)``) and, for ``train_step``, how the model's
``loss_and_grads`` was called (its ``state0``, whether after the update, and the gradient dict after the
call, which tells clipping after the update from no clipping at all). The draws are part of the
contract; the model's calls only explain a failure (the verdict rests on the returned values and the
parameters).
"""

from __future__ import annotations

from .common import SANDBOX_EXPORTS, SANDBOX_WITHHELD
from .checks import CHECKS, grade_make_batches, grade_sample_with_temperature, grade_train_step

__all__ = ["CHECKS", "SANDBOX_EXPORTS", "SANDBOX_WITHHELD",
           "grade_make_batches", "grade_sample_with_temperature", "grade_train_step"]
