"""nbgrader configuration for the course (nbgrader 0.9; run the commands from the repository root).

Layout: instructor notebooks as MyST text in ``solutions/<assignment>/<assignment>.md`` (the
only hand-edited sources); the ``.ipynb`` nbgrader reads from ``source/<assignment>/``, generated
by ``python tools/release.py --source`` (ignored by git); the generated student versions in
``exercises/<assignment>/`` (committed, linked from the book).
``submitted/``, ``autograded/``, ``feedback/`` and ``gradebook.db`` are created
next to this file by the grading commands and are ignored by git.
See book/instructor-guide.md for the workflow.
"""
import os
from pathlib import Path

c = get_config()  # noqa: F821 - provided by traitlets when nbgrader loads this file
_here = Path(__file__).resolve().parent

# The course id and the exchange (where release_assignment puts notebooks, fetch/submit/collect
# move them). The default exchange is ./exchange next to this file (ignored by git), so that a
# first try on one machine needs no root and creates nothing outside the repository. A
# deployment sets the shared directory every user's server mounts (book/deploy.md), e.g.
#     export NBGRADER_EXCHANGE_ROOT=/srv/nbgrader/exchange
# and students' servers use the same course id and root (their own nbgrader_config.py).
c.CourseDirectory.course_id = os.environ.get("RNN_COURSE_ID", "rnn-course")
c.Exchange.root = os.environ.get("NBGRADER_EXCHANGE_ROOT", str(_here / "exchange"))
c.CourseDirectory.source_directory = "source"   # generated from solutions/<name>/<name>.md (tools/release.py)
c.CourseDirectory.release_directory = "exercises"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"

# Solution regions become this stub in the release.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.enforce_metadata = True

# Trusted grading (book/instructor-guide.md, "Threat model"): the learner's kernel runs in a
# bubblewrap sandbox and only records what the learner's functions return; verdicts are decided
# here, in the grading process. The lists restate nbgrader 0.9's defaults around our steps.
c.Autograde.sanitize_preprocessors = [
    "rnnkit.grading.pipeline.RebuildFromTemplate",   # only the learner's answer cells survive
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.DeduplicateIds",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "nbgrader.preprocessors.OverwriteCells",
    "nbgrader.preprocessors.CheckCellMetadata",
]
c.Autograde.autograde_preprocessors = [
    "rnnkit.grading.pipeline.SandboxedExecute",      # the kernel in the sandbox, crash-resilient
    "rnnkit.grading.pipeline.JudgeHiddenCells",      # verdicts from the recorded outputs
    "rnnkit.grading.pipeline.SanitizeOutputs",       # only text and valid images: the formgrader shows this
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "rnnkit.grading.pipeline.LimitNotebookOutputs",  # one budget for all outputs, stated where it cuts
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
    "rnnkit.grading.pipeline.PostCheck",             # scores == verdicts, nothing alive, tree unchanged
]

# A submission is files, never links (book/instructor-guide.md, "What a submission may contain"):
# autograde and generate_feedback read vetted copies (nbgrader has no option naming its converter,
# so use_vetted_converters() rebinds it; the pre-flight refuses notebooks that bypass it), collect
# copies from the exchange without following links, release_feedback releases only generated pages.
import rnnkit.grading.pipeline as _vetting  # noqa: E402
_vetting.use_vetted_converters()
c.ExchangeFactory.collect = "rnnkit.grading.pipeline.SafeCollect"
c.ExchangeFactory.release_feedback = "rnnkit.grading.pipeline.SafeReleaseFeedback"

# Time limits while autograding. A hidden test cell only calls the learner's functions on
# small inputs (well under a second); 30 s per cell bounds an infinite loop, after which
# the sandbox is killed, the cell scores 0 and grading resumes with a fresh kernel.
# The whole notebook gets notebook_timeout seconds.
c.Execute.timeout = 30
c.SandboxedExecute.notebook_timeout = 300
c.Execute.execute_retries = 0
# A sandbox that cannot start (or a kernel that dies before answering kernel_info: no learner code has
# run) is the grader's failure, not the learner's: it is tried start_attempts times; then that notebook
# gets no score at all (never a zero), the batch goes on, and autograde exits non-zero naming the cause.
c.SandboxedExecute.start_attempts = 3

# Test cells deleted by a learner are put back (with their hidden tests) before grading;
# edited test cells are overwritten by OverwriteCells in any case.
c.OverwriteCells.add_missing_cells = True

# Autograde creates unknown students instead of refusing them.
c.Autograde.create_student = True


# Feedback pages (book/instructor-guide.md, "What a feedback page shows"): no hidden-test source,
# each graded cell named after its function, outputs reduced to text and valid images again, math
# rendered by a copy of MathJax inside the page, and a Content Security Policy that lets only the
# page's own scripts run. The exporter fixes its own template: the global HTMLExporter settings are
# the formgrader's (its manual-grading page), and its Generate Feedback button sets
# HTMLExporter.template_name = "feedback" for the run.
c.GenerateFeedback.exporter_class = "rnnkit.grading.pipeline.FeedbackExporter"
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "rnnkit.grading.pipeline.SanitizeOutputs",
    "rnnkit.grading.pipeline.LimitNotebookOutputs",
    "rnnkit.grading.pipeline.FeedbackCells",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
# The formgrader shows autograded notebooks with nbconvert's HTMLExporter: they are inert already
# (SanitizeOutputs ran in autograde); sanitised again here for notebooks graded before it did.
c.HTMLExporter.preprocessors = ["rnnkit.grading.pipeline.SanitizeOutputs"]
c.FeedbackExporter.preprocessors = []  # GenerateFeedback.preprocessors above already include it
