"""End to end through the real nbgrader command line, in a temporary copy of the course.

generate_assignment -> submissions (correct, untouched, buggy, raising, looping, kernel-killing,
tampering, cheating) -> autograde -> generate_feedback; then exact scores per cell from the
gradebook, and the diagnoses in the feedback HTML. Nothing is written to the repository.
"""
from __future__ import annotations

import time
from pathlib import Path

import pytest
from nbgrader.api import Gradebook, MissingEntry

from nbgrader_course import NO_CARRY_BPTT, ROOT, Course, available_assignments, cell_id, source_points

pytestmark = pytest.mark.slow

ASSIGNMENT = "a3-bptt"
#: Short per-cell timeout for the test run (the course config uses 30 s): every
#: correct cell here runs in well under a second, the looping one costs 2 x TIMEOUT.
TIMEOUT = 8

#: grade_id -> points of a3's hidden test cells, in notebook order (from the nbgrader metadata).
POINTS = source_points(ASSIGNMENT)


NO_TANH_PRIME_STEP = '''
def rnn_step_backward(dh, cache):
    x, h_prev, h, Wx, Ws = cache
    delta = dh
    return delta @ Wx, delta @ Ws, delta.T @ x, delta.T @ h_prev, delta.sum(axis=0)
'''

NOT_CARRIED_FORWARD = '''
def rnn_forward(X, h0, Wx, Ws, b):
    Hs = np.stack([rnn_step_forward(x, h0, Wx, Ws, b)[0] for x in X])
    return Hs, (X, h0, Hs, Wx, Ws)
'''

RAISING_STEP = '''
def rnn_step_forward(x, h_prev, Wx, Ws, b):
    raise ValueError("I gave up on this one")
'''

LOOPING_OUTPUT = '''
def output_backward(dO, Hs, Wy):
    while True:
        pass
'''

DYING_OUTPUT = '''
def output_backward(dO, Hs, Wy):
    import os
    os._exit(1)
'''

CHEATING_FORWARD = '''
import rnnkit
np.allclose = lambda *args, **kwargs: True   # the judge does not run here
np.isclose = lambda *args, **kwargs: True

def rnn_forward(X, h0, Wx, Ws, b):
    return rnnkit.rnn_forward(X, h0, Wx, Ws, b)   # no reference exists in the grading sandbox
'''

CHEATING_BACKWARD = '''
from rnnkit import rnn_backward as _library_backward

def rnn_backward(dHs, cache):
    return _library_backward(dHs, rnnkit.RNNCache(*cache))
'''

# student -> (solution overrides, cell edits, expected scores per graded cell)
STUDENTS = {
    "correct": ({}, {}, POINTS),
    "untouched": (None, {}, {k: 0 for k in POINTS}),
    "no_carry": ({"rnn_backward": NO_CARRY_BPTT}, {},
                 POINTS | {"test_rnn_backward_parameters": 0, "test_rnn_backward_inputs": 0}),
    # rnn_backward (the solution's loop) calls the buggy rnn_step_backward: run with a correct step
    # standing in, the loop is right, so only the step's cell loses its points.
    "mixed_bugs": ({"rnn_step_backward": NO_TANH_PRIME_STEP, "rnn_forward": NOT_CARRIED_FORWARD}, {},
                   POINTS | {"test_rnn_step_backward": 0, "test_rnn_forward": 0}),
    # likewise rnn_forward over the raising rnn_step_forward
    "raises": ({"rnn_step_forward": RAISING_STEP}, {},
               POINTS | {"test_rnn_step_forward": 0}),
    "loops": ({"output_backward": LOOPING_OUTPUT}, {}, POINTS | {"test_output_backward": 0}),
    "dies": ({"output_backward": DYING_OUTPUT}, {}, POINTS | {"test_output_backward": 0}),
    "tampers": ({"rnn_backward": NO_CARRY_BPTT},
                {"test_rnn_backward_parameters": "delete", "test_rnn_backward_inputs": "# nothing to see\n"},
                POINTS | {"test_rnn_backward_parameters": 0, "test_rnn_backward_inputs": 0}),
    # the whole notebook fails to define rnn_backward: the import raises in the sandbox
    "cheats": ({"rnn_forward": CHEATING_FORWARD, "rnn_backward": CHEATING_BACKWARD}, {},
               POINTS | {"test_rnn_forward": 0, "test_rnn_backward_parameters": 0, "test_rnn_backward_inputs": 0}),
}

# student -> text the feedback HTML must show
FEEDBACK = {
    "no_carry": "only the last step is right",
    "mixed_bugs": "factor is missing",
    "raises": "raised ValueError: I gave up on this one",
    "untouched": "is not implemented yet",
    "tampers": "only the last step is right",
    "cheats": "not defined",
    "loops": "ran longer than",
    "dies": "the kernel stopped while it ran",
}


def _submission(course: Course, name: str, overrides: dict | None, edits: dict) -> dict:
    """The release of ``name`` with the instructor's answers (or, with ``overrides=None``, the stubs),
    ``overrides`` (grade_id -> source) on top, then cells edited or deleted (``"delete"``)."""
    nb = course.notebook(name, overrides, base="release" if overrides is None else "solution")
    nb["cells"] = [dict(cell, source=edits.get(cell_id(cell), cell["source"])) for cell in nb["cells"]
                   if edits.get(cell_id(cell)) != "delete"]
    return nb


@pytest.fixture(scope="module")
def graded_course(tmp_path_factory):
    course = Course(tmp_path_factory.mktemp("course"), [ASSIGNMENT])
    for student, (overrides, edits, _) in STUDENTS.items():
        course.submit(student, ASSIGNMENT, _submission(course, ASSIGNMENT, overrides, edits))
    start = time.perf_counter()
    autograde = course.run("autograde", ASSIGNMENT, "--force", f"--Execute.timeout={TIMEOUT}", check=False, timeout=900)
    elapsed = time.perf_counter() - start
    feedback = course.run("generate_feedback", ASSIGNMENT, "--force", check=False, timeout=900)
    return course.path, autograde, feedback, elapsed


def _score(gb: Gradebook, student: str, cell: str):
    try:
        return gb.find_grade(cell, ASSIGNMENT, ASSIGNMENT, student).score
    except MissingEntry:
        return None


@pytest.mark.parametrize("student", list(STUDENTS))
def test_scores_per_cell(graded_course, student):
    course = graded_course[0]
    expected = STUDENTS[student][2]
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        got = {cell: _score(gb, student, cell) for cell in POINTS}
    got = {k: (0 if v is None else v) for k, v in got.items()}
    assert got == expected, f"{student}: scores {got}, expected {expected}"


def test_batch_finishes_and_gradebook_is_sound(graded_course):
    course, autograde, feedback, elapsed = graded_course
    # No submission fails as a whole: crashes cost their cells only.
    errors = [line for line in autograde.stderr.splitlines() if "There was an error processing assignment '" in line]
    assert errors == [] and autograde.returncode == 0, autograde.stderr[-3000:]
    for student in STUDENTS:
        assert (course / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").is_file(), student
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        assignment = gb.find_assignment(ASSIGNMENT)
        assert assignment.max_score == sum(POINTS.values())
        for student in STUDENTS:
            sub = gb.find_submission(ASSIGNMENT, student)
            assert sub.score == sum(STUDENTS[student][2].values()), (student, sub.score)
    assert elapsed < 300, f"autograding {len(STUDENTS)} submissions took {elapsed:.0f} s"


@pytest.mark.parametrize("student", list(FEEDBACK))
def test_feedback_carries_the_diagnosis(graded_course, student):
    course = graded_course[0]
    html = course / "feedback" / student / ASSIGNMENT / f"{ASSIGNMENT}.html"
    assert html.is_file(), f"no feedback for {student}"
    assert FEEDBACK[student] in html.read_text(encoding="utf-8"), f"{student}: {FEEDBACK[student]!r} not in feedback"


def test_repository_left_clean(graded_course):
    for name in ("gradebook.db", "autograded", "submitted", "feedback"):
        assert not (ROOT / name).exists(), f"{name} appeared in the repository"


# ---------------------------------------------------------------------------
# Every assignment through the real CLI: a correct submission scores full points in every
# graded cell, the untouched release scores zero in every one.
# ---------------------------------------------------------------------------

ALL = available_assignments(ROOT)


@pytest.fixture(scope="module")
def all_assignments_graded(tmp_path_factory):
    course = Course(tmp_path_factory.mktemp("course_all"), ALL)
    for name in ALL:
        for student, overrides in (("correct", {}), ("untouched", None)):
            course.submit(student, name, _submission(course, name, overrides, {}))
    start = time.perf_counter()
    course.run("autograde", "*", "--force", timeout=900)
    elapsed = time.perf_counter() - start
    course.run("generate_feedback", "*", "--force", timeout=900)
    return course, elapsed


@pytest.mark.parametrize("name", ALL)
def test_every_assignment_scores_full_and_zero(all_assignments_graded, name):
    course, elapsed = all_assignments_graded
    points = course.points(name)
    course = course.path
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for cell, pts in points.items():
            assert gb.find_grade(cell, name, name, "correct").score == pts, (name, cell)
            assert gb.find_grade(cell, name, name, "untouched").score == 0, (name, cell)
        assert gb.find_submission(name, "correct").score == sum(points.values())
    for student in ("correct", "untouched"):
        assert (course / "feedback" / student / name / f"{name}.html").is_file()
    # every submission of every assignment in one batch: a few seconds per notebook
    assert elapsed < 20 * 2 * len(ALL), f"autograding {2 * len(ALL)} notebooks took {elapsed:.0f} s"


# ---------------------------------------------------------------------------
# The feedback page a learner gets back
# ---------------------------------------------------------------------------

def _feedback_html(course: Path, student: str) -> str:
    return (course / "feedback" / student / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("student", ["no_carry", "mixed_bugs", "untouched"])
def test_feedback_loads_nothing_remote_and_hides_the_tests(graded_course, student):
    import re
    html = _feedback_html(graded_course[0], student)
    tags = re.findall(r"<(?:script|link|img|iframe)\b[^>]*>", html, flags=re.I)
    remote = [t for t in tags if re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", t, flags=re.I)]
    assert remote == [], remote
    assert "@import url(http" not in html
    assert "window.MathJax" in html  # math is rendered by the copy inside the page
    for secret in ("BEGIN HIDDEN TESTS", "run_check(", "rnnkit.grading.kernel"):
        assert secret not in html, f"{student}: feedback shows hidden-test source ({secret})"


@pytest.mark.parametrize("student", ["no_carry", "mixed_bugs", "raises"])
def test_feedback_messages_fit_the_page(graded_course, student):
    import html as html_lib
    import re
    page = _feedback_html(graded_course[0], student)
    blocks = re.findall(r"<pre>(.*?)</pre>", page, flags=re.S)
    assert blocks, "no output blocks in the feedback"
    for block in blocks:
        text = html_lib.unescape(re.sub(r"<[^>]+>", "", block))
        for line in text.splitlines():
            assert len(line) <= 120, f"{student}: a feedback line of {len(line)} characters: {line[:80]}..."


def test_feedback_table_of_contents_names_the_functions(graded_course):
    import re
    page = _feedback_html(graded_course[0], "no_carry")
    toc = re.search(r'<div id="toc">(.*?)</div>', page, flags=re.S).group(1)
    names = re.findall(r'<a href="#(test_\w+)">([^<]+)</a>', toc)
    assert [gid for gid, _ in names] == list(POINTS), names
    assert dict(names)["test_rnn_backward_parameters"] == "rnn_backward (parameters)"
    assert "Test cell" not in toc
