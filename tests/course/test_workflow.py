"""The CI workflow file (it cannot run here): it parses, runs the README's two commands, and publishes the book."""
from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _workflow():
    return yaml.safe_load((ROOT / ".github" / "workflows" / "book.yml").read_text())


def _readme_commands():
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"## Set-up: two commands\n.*?```bash\n(.*?)```", readme, flags=re.S).group(1)
    return [line.split("#")[0].strip() for line in block.splitlines() if line.strip()]


def test_readme_states_exactly_two_commands():
    assert _readme_commands() == ["make book", "make test"]


def test_workflow_runs_the_readme_commands():
    wf = _workflow()
    runs = [step.get("run", "") for job in wf["jobs"].values() for step in job.get("steps", [])]
    for command in _readme_commands():
        assert any(r.strip() == command for r in runs), f"the workflow never runs {command!r}"
    assert any("apt-get install -y bubblewrap" in r for r in runs), "the tests need the sandbox tool"


def test_workflow_publishes_the_built_html_from_main_only():
    wf = _workflow()
    jobs = wf["jobs"]
    upload = [s for s in jobs["book"]["steps"] if str(s.get("uses", "")).startswith("actions/upload-pages-artifact")]
    assert upload and upload[0]["with"]["path"] == "_build/html"
    publish = jobs["publish"]
    assert set(publish["needs"]) == {"test", "book"}
    assert "refs/heads/main" in publish["if"]
    assert publish["permissions"] == {"pages": "write", "id-token": "write"}
    assert any(str(s.get("uses", "")).startswith("actions/deploy-pages") for s in publish["steps"])
    # yaml reads the bare key `on` as True
    triggers = wf.get("on", wf.get(True))
    assert "push" in triggers and "pull_request" in triggers
