"""nbgrader preprocessors of the trusted grading pipeline (wired in by ``nbgrader_config.py``).

``nbgrader autograde <assignment>`` stays the instructor's command; for every submitted notebook:

1. :class:`RebuildFromTemplate` (first sanitize step): the notebook is rebuilt from the released
   template; only the learner's solution cells, matched by ``grade_id``, come from the submission.
   Duplicated, renamed, moved, flipped or missing cells and foreign schema versions cost that cell
   (or nothing) and are explained in a note at the top of the feedback; they never stop the batch.
2. :class:`SandboxedExecute` (replaces nbgrader's ``Execute``): the trusted side draws the inputs
   of every check and writes them as plain arrays; the kernel runs in the bubblewrap sandbox of
   :mod:`rnnkit.grading.sandbox`. It runs the set-up cells, the learner's solution cells and the
   hidden test cells (visible tests are advisory and are not run). A crash, kill, timeout or
   limit costs the cell it happened in: the kernel is restarted, the definitions before it are
   replayed, and grading goes on with the next cell.
3. :class:`JudgeHiddenCells`: in this process, which never imports learner code, each hidden cell's
   recorded outputs are judged and the cell's outputs are replaced by the verdict (an error output
   for a failure, so nbgrader scores it 0; a plain line for a pass).
   :class:`SanitizeOutputs` then keeps only inert outputs (text, validated PNG/JPEG) and
   :class:`LimitNotebookOutputs` bounds them as a whole, so that the autograded notebook the formgrader
   shows runs nothing a learner wrote.
4. :class:`PostCheck` (after ``SaveAutoGrades``): every grade cell's score in the gradebook equals
   the judge's verdict, no sandbox process is alive, the course tree is unchanged.

Before step 1, a submission is files, never links: :class:`VettedAutograde` hands nbgrader a vetted
copy of each submission (regular files read without following links, safe names, size limits;
:mod:`.submission_files`, :mod:`.submission_records`), :class:`VettedGenerateFeedback` copies no
learner file into ``feedback/``, :class:`SafeCollect` and :class:`SafeReleaseFeedback` do the same at
the exchange, and grading as root hands its files back to the course's owner (:mod:`.ownership`).
"""

from __future__ import annotations

from .notebook import KEY
from .preflight import RebuildFromTemplate
from .execute import NotebookClientInit, SandboxedExecute, SandboxKernelManager
from .judging import JudgeHiddenCells, PostCheck, tree_digest
from .sanitize_outputs import SanitizeOutputs
from .output_budget import LimitNotebookOutputs
from .feedback import FeedbackCells, FeedbackExporter, TEMPLATES
from .vetted_converters import VettedAutograde, VettedGenerateFeedback, use_vetted_converters
from .safe_collect import SafeCollect
from .safe_release_feedback import SafeReleaseFeedback
