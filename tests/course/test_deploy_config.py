"""The TLJH configuration of book/deploy.md does what the guide says, with the installed Jupyter tools.

A hub cannot run here; what can: the guide's snippets are read from book/deploy.md itself and applied to
an environment laid out as on TLJH (a Python environment with its own ``etc/jupyter``, not a virtualenv's
preference for it: ``JUPYTER_PREFER_ENV_PATH=0``, and a user's ``~/.jupyter``), and a Jupyter server and
nbgrader are started on them in-process. Checked: with the environment-wide
``server extension disable`` the formgrader is off for a user without the instructor's file and on, with
the course as its root, for the instructor; the per-user ``server extension enable --user`` the guide
warns against prints "could not be found" and writes nothing; every user's nbgrader reads the
environment's ``nbgrader_config.py`` (the exchange root), and the course's ``nbgrader_config.py`` takes
the exchange from ``NBGRADER_EXCHANGE_ROOT``.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow   # starts Jupyter servers (about 10 s each)

ROOT = Path(__file__).resolve().parents[2]
GUIDE = (ROOT / "book" / "deploy.md").read_text(encoding="utf-8")
EXCHANGE = "/srv/nbgrader/exchange"


def _block(first_line: str) -> str:
    """The fenced block of the guide whose first line starts with ``first_line``."""
    for m in re.finditer(r"```[a-z]*\n(.*?)```", GUIDE, re.S):
        if m.group(1).startswith(first_line):
            return m.group(1)
    raise AssertionError(f"book/deploy.md has no block starting with {first_line!r}")


@pytest.fixture(scope="module")
def tljh(tmp_path_factory):
    """A Python environment at ``env`` (the installed packages through a .pth file), a home and a course."""
    base = tmp_path_factory.mktemp("tljh")
    env = base / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True)
    site = Path(subprocess.run([str(env / "bin" / "python"), "-c", "import site; print(site.getsitepackages()[0])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    (site / "installed.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    (env / "share").symlink_to(Path(sys.prefix) / "share")          # JupyterLab's and nbconvert's data
    (env / "etc").mkdir()
    shutil.copytree(Path(sys.prefix) / "etc" / "jupyter", env / "etc" / "jupyter")   # extensions' own enabling
    # the guide's environment-wide steps: the nbgrader config for every user, the formgrader disabled
    (env / "etc" / "jupyter" / "nbgrader_config.py").write_text(
        _block("# /opt/tljh/user/etc/jupyter/nbgrader_config.py"), encoding="utf-8")
    disable = [line for line in _block("sudo /opt/tljh/user/bin/jupyter labextension disable").splitlines()
               if "server extension disable --sys-prefix" in line]
    assert disable == ["sudo /opt/tljh/user/bin/jupyter server extension disable --sys-prefix "
                       "nbgrader.server_extensions.formgrader"]
    home = base / "home"
    (home / ".jupyter").mkdir(parents=True)
    course = home / "rnn-course"
    course.mkdir()
    envvars = dict(os.environ, HOME=str(home), JUPYTER_CONFIG_DIR=str(home / ".jupyter"), JUPYTER_PREFER_ENV_PATH="0",
                   PATH=f"{env / 'bin'}:{Path(sys.executable).parent}:{os.environ['PATH']}")
    envvars.pop("JUPYTER_CONFIG_PATH", None)
    envvars.pop("NBGRADER_EXCHANGE_ROOT", None)
    py = env / "bin" / "python"
    # `jupyter server extension disable --sys-prefix`, run with the environment's interpreter
    run = subprocess.run([str(py), "-c", "import sys; from jupyter_server.extension.serverextension import main; "
                          "sys.argv = ['jupyter-server-extension', 'disable', '--sys-prefix', "
                          "'nbgrader.server_extensions.formgrader']; main()"],
                         env=envvars, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    return {"env": env, "py": py, "home": home, "course": course, "environ": envvars}


PROBE = textwrap.dedent("""
    from jupyter_server.serverapp import ServerApp
    app = ServerApp()
    app.initialize(["--port=0", "--ServerApp.open_browser=False", "--ip=127.0.0.1"])
    fg = app.web_app.settings.get("nbgrader_formgrader")
    print("FORMGRADER", fg.coursedir.root if fg else "off")
""")


def _formgrader(t) -> str:
    run = subprocess.run([str(t["py"]), "-c", PROBE], env=t["environ"], cwd=t["home"], capture_output=True,
                         text=True, timeout=300)
    lines = [line for line in run.stdout.splitlines() if line.startswith("FORMGRADER ")]
    assert run.returncode == 0 and lines, run.stderr[-3000:]
    return lines[-1].split(" ", 1)[1]


def test_the_formgrader_is_off_for_students_and_on_the_course_for_the_instructor(tljh):
    server_config = tljh["home"] / ".jupyter" / "jupyter_server_config.py"
    assert not server_config.exists()
    assert _formgrader(tljh) == "off"                        # a student: the environment-wide disable holds
    snippet = _block("# /home/jupyter-<instructor>/.jupyter/jupyter_server_config.py")
    snippet = snippet.replace("/home/jupyter-<instructor>/rnn-course", str(tljh["course"]))
    assert "<instructor>" not in snippet.split("\n", 1)[1]
    server_config.write_text(snippet, encoding="utf-8")
    try:
        assert _formgrader(tljh) == str(tljh["course"])      # the instructor: on, at the course
    finally:
        server_config.unlink()


def test_enable_user_writes_nothing_as_the_guide_says(tljh):
    before = sorted(p.name for p in (tljh["home"] / ".jupyter").rglob("*"))
    run = subprocess.run([str(tljh["py"]), "-c", "import sys; from jupyter_server.extension.serverextension import main; "
                          "sys.argv = ['jupyter-server-extension', 'enable', '--user', "
                          "'nbgrader.server_extensions.formgrader']; main()"],
                         env=tljh["environ"], capture_output=True, text=True, timeout=120)
    assert "could not be found" in run.stdout + run.stderr
    assert sorted(p.name for p in (tljh["home"] / ".jupyter").rglob("*")) == before


NBGRADER_PROBE = textwrap.dedent("""
    from nbgrader.apps.baseapp import NbGrader
    app = NbGrader()
    app.load_config_file()
    print("EXCHANGE", app.config.Exchange.root)
""")


def _exchange(t, cwd, **extra) -> str:
    run = subprocess.run([str(t["py"]), "-c", NBGRADER_PROBE], env=dict(t["environ"], **extra), cwd=cwd,
                         capture_output=True, text=True, timeout=120)
    lines = [line for line in run.stdout.splitlines() if line.startswith("EXCHANGE ")]
    assert run.returncode == 0 and lines, run.stderr[-3000:]
    return lines[-1].split(" ", 1)[1]


def test_every_users_nbgrader_reads_the_environments_exchange_and_the_course_reads_the_variable(tljh):
    assert _exchange(tljh, tljh["home"]) == EXCHANGE            # a student, anywhere in their home
    # in the course repository its own nbgrader_config.py wins: ./exchange unless the variable is set,
    # which the guide sets for every server (c.Spawner.environment)
    assert _exchange(tljh, ROOT) == str(ROOT / "exchange")
    hub = _block("# /opt/tljh/config/jupyterhub_config.d/nbgrader.py")
    assert f'"NBGRADER_EXCHANGE_ROOT": "{EXCHANGE}"' in hub
    assert _exchange(tljh, ROOT, NBGRADER_EXCHANGE_ROOT=EXCHANGE) == EXCHANGE
