"""The formgrader works with the course's grading pipeline.

nbgrader's formgrader (the ``nbgrader.server_extensions.formgrader`` extension of a Jupyter server)
loads the course's ``nbgrader_config.py`` into the configuration of its own pages: a global
``HTMLExporter.template_name`` made its manual-grading page fail (HTTP 500, ``TemplateNotFound:
bootstrap.min.css``) and its *Generate Feedback* button fail (``TemplateNotFound: feedback.html.j2``,
after nbgrader had removed the student's existing feedback). Here a real ``jupyter server`` on
127.0.0.1 serves the formgrader for a graded course: the manual-grading page of a submission loads, shows
the autograded notebook inert, and the generate-feedback API writes the course's feedback page. A
generation that fails while the exporter is set up (a broken installation) leaves the existing
feedback in place.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from nbgrader.api import Gradebook
from nbgrader_course import Course
from tools.release import nbgrader_env

A1 = "a1-recurrence"
#: A learner cell whose HTML display would run a script in the instructor's formgrader session.
HOSTILE_CELL = ('from IPython.display import display, HTML\n'
                'display(HTML("<script>document.title=\'PW\'+\'NED\'</script><b>bold</b>"))\n')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = Course(tmp_path_factory.mktemp("formgrader"), [A1])
    nb = course.notebook(A1)
    nb["cells"].append({"cell_type": "code", "metadata": {}, "source": HOSTILE_CELL, "outputs": [],
                        "execution_count": None})
    course.submit("s1", A1, nb)
    course.run("autograde", A1, "--force", "--Execute.timeout=10", timeout=600)
    assert course.scores(A1, "s1") == course.points(A1)
    return course


class _Server:
    """``jupyter server`` on 127.0.0.1 in the course directory, with only the formgrader extension."""

    def __init__(self, root: Path, log: Path):
        self.port, self.token = _free_port(), "rnnkit-test-token"
        extensions = {"nbgrader.server_extensions.formgrader": True}
        for name in ("jupyterlab", "jupyter_lsp", "notebook", "notebook_shim", "jupytext",
                     "jupyter_server_terminals", "nbgrader.server_extensions.validate_assignment",
                     "nbgrader.server_extensions.assignment_list", "nbgrader.server_extensions.course_list"):
            extensions[name] = False
        env = nbgrader_env()
        env["JUPYTER_RUNTIME_DIR"] = str(log.parent / "runtime")
        config = log.parent / "jupyter_server_config.py"
        config.write_text(f"c.ServerApp.jpserver_extensions = {extensions!r}\n")
        self.log = open(log, "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "jupyter_server", "--no-browser", "--ip=127.0.0.1", f"--port={self.port}",
             "--port-retries=0", f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={root}",
             f"--config={config}", *(["--allow-root"] if os.geteuid() == 0 else [])],
            cwd=root, env=env, stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if self.request("GET", "/api/status")[0] == 200:
                    return
            except OSError:
                pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.5)
        self.close()
        raise RuntimeError("jupyter server did not start:\n" + log.read_text()[-3000:])

    def request(self, method: str, path: str, timeout: float = 300) -> tuple[int, str]:
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", method=method,
                                     data=b"" if method == "POST" else None,
                                     headers={"Authorization": f"token {self.token}"})
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # 127.0.0.1 only, never a proxy
        try:
            with opener.open(req, timeout=timeout) as resp:
                return resp.status, resp.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode("utf-8", "replace")

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()


@pytest.fixture(scope="module")
def server(course, tmp_path_factory):
    srv = _Server(course.path, tmp_path_factory.mktemp("server-log") / "server.log")
    yield srv
    srv.close()


def _submission_id(course) -> str:
    with Gradebook(f"sqlite:///{course.path / 'gradebook.db'}") as gb:
        return gb.find_submission_notebook(A1, A1, "s1").id


def test_manual_grading_page_loads_and_shows_the_notebook_inert(course, server):
    status, page = server.request("GET", f"/formgrader/submissions/{_submission_id(course)}/")
    assert status == 200, page[-3000:]
    assert "TemplateNotFound" not in page and "rnnkit-no-math" not in page  # the formgrader's own template
    assert "recurrence_step" in page  # the submission's answer cells are there
    assert "<script>document.title" not in page and "<b>bold</b>" not in page
    assert "graded notebooks show only text" in page  # the note of SanitizeOutputs where the HTML display was


def test_generate_feedback_button_writes_the_course_feedback_page(course, server):
    page = course.path / "feedback" / "s1" / A1 / f"{A1}.html"
    status, body = server.request("POST", f"/formgrader/api/assignment/{A1}/s1/generate_feedback")
    assert status == 200, body[-3000:]
    result = json.loads(body)
    assert result["success"], result.get("error", "")[-3000:] + result.get("log", "")[-3000:]
    html = page.read_text(encoding="utf-8")
    assert "Content-Security-Policy" in html and "rnnkit-no-math" in html and "window.MathJax" in html
    assert "<script>document.title" not in html
    # and the manual-grading page still works after the run
    assert server.request("GET", f"/formgrader/submissions/{_submission_id(course)}/")[0] == 200


#: The formgrader's code path (NbGraderAPI.generate_feedback with force=True, as its button calls it)
#: in a fresh process of the course, with MathJax missing: a broken installation.
FAILING_GENERATION = """
import json, os, sys
from rnnkit.grading.pipeline import feedback

def missing():
    raise RuntimeError("MathJax is missing")

feedback.page_scripts = missing
from nbgrader.apps import NbGraderAPI
from traitlets.config.loader import PyFileConfigLoader
config = PyFileConfigLoader("nbgrader_config.py", path=os.getcwd()).load_config()
config.CourseDirectory.root = os.getcwd()
print(json.dumps(NbGraderAPI(config=config).generate_feedback(sys.argv[1], sys.argv[2], force=True)))
"""


def test_a_failed_generation_keeps_the_existing_feedback(course):
    course.run("generate_feedback", A1, "--force", timeout=600)
    page = course.path / "feedback" / "s1" / A1 / f"{A1}.html"
    before = page.read_bytes()
    run = subprocess.run([sys.executable, "-c", FAILING_GENERATION, A1, "s1"], cwd=course.path, env=nbgrader_env(),
                         capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert not result["success"] and "MathJax is missing" in result.get("error", "") + result.get("log", "")
    assert page.read_bytes() == before
