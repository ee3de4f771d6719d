"""Fixtures of the grading tests: a command run inside a real grading sandbox."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from rnnkit.grading import learner_package, registry, sandbox

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def run_inside(tmp_path):
    """run_inside(code, assignment="a3-bptt", limits=Limits()) -> CompletedProcess of `python -c code` in the sandbox."""
    def run(code: str, assignment: str = "a3-bptt", limits: sandbox.Limits = sandbox.Limits(), timeout: float = 60):
        for d in ("cases", "ipc", "kernel"):
            (tmp_path / d).mkdir(exist_ok=True)
        learner_package.build_learner_package(registry.module_for(assignment), tmp_path / "lib")
        conn = tmp_path / "kernel" / "kernel.json"
        conn.write_text("{}")
        sandbox.prepare_private_dir(tmp_path / "ipc", conn)
        for p in [tmp_path, tmp_path / "cases", *(tmp_path / "lib").rglob("*"), tmp_path / "lib"]:
            os.chmod(p, 0o755 if p.is_dir() else 0o644)
        cmd = sandbox.sandbox_command(["-c", code], course_root=ROOT, cases_dir=tmp_path / "cases",
                                      lib_dir=tmp_path / "lib", connection_file=conn, ipc_dir=tmp_path / "ipc",
                                      limits=limits)
        env = dict(os.environ, NBGRADER_EXECUTION="autograde", SECRET_TOKEN="instructor-only")
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    return run
