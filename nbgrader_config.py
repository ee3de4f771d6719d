"""nbgrader configuration for the course (nbgrader 0.9; run the commands from the repository root).

Layout: instructor notebooks in ``solutions/<assignment>/``, the generated student
versions in ``exercises/<assignment>/`` (committed, linked from the book).
``submitted/``, ``autograded/``, ``feedback/`` and ``gradebook.db`` are created
next to this file by the grading commands and are ignored by git.
See book/instructor-guide.md for the workflow.
"""
c = get_config()  # noqa: F821 - provided by traitlets when nbgrader loads this file

c.CourseDirectory.course_id = "rnn-course"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"

# Solution regions become this stub in the release.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.enforce_metadata = True

# Execution while autograding. A hidden test runs in about a second; 60 s per cell
# bounds an infinite loop, after which the kernel is interrupted and the cell scores 0.
c.Execute.timeout = 60
c.Execute.interrupt_on_timeout = True
# A kernel that dies (os._exit, segfault) fails that submission only; no retries,
# a deterministic crash would crash again.
c.Execute.execute_retries = 0

# Test cells deleted by a learner are put back (with their hidden tests) before grading;
# edited test cells are overwritten by OverwriteCells in any case.
c.OverwriteCells.add_missing_cells = True

# Autograde creates unknown students instead of refusing them.
c.Autograde.create_student = True

