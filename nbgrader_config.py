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
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
    "rnnkit.grading.pipeline.PostCheck",             # scores == verdicts, nothing alive, tree unchanged
]

# Time limits while autograding. A hidden test cell only calls the learner's functions on
# small inputs (well under a second); 30 s per cell bounds an infinite loop, after which
# the sandbox is killed, the cell scores 0 and grading resumes with a fresh kernel.
# The whole notebook gets notebook_timeout seconds.
c.Execute.timeout = 30
c.SandboxedExecute.notebook_timeout = 300
c.Execute.execute_retries = 0

# Test cells deleted by a learner are put back (with their hidden tests) before grading;
# edited test cells are overwritten by OverwriteCells in any case.
c.OverwriteCells.add_missing_cells = True

# Autograde creates unknown students instead of refusing them.
c.Autograde.create_student = True


# Feedback pages: no hidden-test source, each graded cell named after its function, math rendered
# by a copy of MathJax inside the page (nothing loaded from the network), messages wrapped.
import os as _os  # noqa: E402
import nbgrader as _nbgrader  # noqa: E402
import rnnkit.grading.pipeline as _pipeline  # noqa: E402

c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "rnnkit.grading.pipeline.FeedbackCells",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
c.HTMLExporter.template_name = "rnnkit_feedback"
c.HTMLExporter.template_file = "feedback.html.j2"   # extends nbgrader's feedback index.html.j2
c.HTMLExporter.extra_template_basedirs = [
    str(_pipeline.TEMPLATES),
    _os.path.join(_os.path.dirname(_nbgrader.__file__), "server_extensions", "formgrader", "templates"),
]
