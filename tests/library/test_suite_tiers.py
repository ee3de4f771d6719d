"""The two tiers of the test suite (tests/conftest.py): `make test` runs every test not marked `exhaustive`,
`make test-exhaustive` the rest. Checked on a real collection of the whole suite (a subprocess, ~10-30 s)."""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TABLE = "tests/grading/test_grading_table.py"
PORTABILITY = "tests/course/test_portability.py"

#: Writes {nodeid: [seed parameter or None, marked exhaustive]} for every collected test, after every
#: other collection hook (tests/conftest.py's marks included).
PLUGIN = '''
import json, os, pytest

@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    out = {}
    for item in items:
        spec = getattr(item, "callspec", None)
        out[item.nodeid] = [spec.params.get("seed") if spec else None,
                            item.get_closest_marker("exhaustive") is not None]
    with open(os.environ["TIERS_OUT"], "w") as f:
        json.dump(out, f)
'''


def _collect(tmp_path: Path) -> dict:
    (tmp_path / "tiers_plugin.py").write_text(PLUGIN)
    out = tmp_path / "tiers.json"
    env = dict(os.environ, TIERS_OUT=str(out), RNNKIT_TABLE_SEEDS="10",
               PYTHONPATH=os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "tiers_plugin",
                           "-p", "no:cacheprovider", "--continue-on-collection-errors"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert out.is_file(), proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads(out.read_text())


def test_make_test_keeps_three_table_seeds_and_leaves_out_the_rest_of_the_exhaustive_tier(tmp_path):
    items = _collect(tmp_path)
    table = {nodeid: v for nodeid, v in items.items() if nodeid.startswith(TABLE + "::test_case[")}
    seeds = {seed for seed, _ in table.values()}
    assert seeds == set(range(10)), f"the bug table's seeds: {sorted(seeds)}"
    wrong = [nodeid for nodeid, (seed, exhaustive) in table.items() if exhaustive != (seed >= 3)]
    assert wrong == [], f"{len(wrong)} table tests in the wrong tier, e.g. {wrong[:3]}"
    portability = [v for nodeid, v in items.items() if nodeid.startswith(PORTABILITY + "::")]
    assert portability and all(exhaustive for _, exhaustive in portability), "the portability matrix is not exhaustive"
    others = [nodeid for nodeid, (_, exhaustive) in items.items()
              if exhaustive and nodeid not in table and not nodeid.startswith(PORTABILITY + "::")]
    assert others == [], f"marked exhaustive without a reason in tests/conftest.py: {others[:5]}"
    default = [nodeid for nodeid, (_, exhaustive) in items.items() if not exhaustive]
    assert len(default) > 1000 and any(n.startswith("tests/course/") for n in default)


def test_the_parallel_run_hands_out_the_table_test_by_test_and_other_modules_whole():
    """`--dist loadfile` with tests/conftest.py's scheduler: a module-scoped fixture (a graded course) is built on
    one worker; the bug table, which has none, is spread."""
    spec = importlib.util.spec_from_file_location("rnnkit_tests_root_conftest", ROOT / "tests" / "conftest.py")
    conftest = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conftest)

    class Config:
        values = {"dist": "loadfile", "tx": ["2*popen"]}   # what `-n 2` becomes

        def getvalue(self, name):
            return self.values.get(name)

    scheduler = conftest.pytest_xdist_make_scheduler(Config(), None)
    assert scheduler is not None
    row = f"{TABLE}::test_case[0-test_rnn_step_forward-correct]"
    assert scheduler._split_scope(row) == row
    e2e = "tests/course/test_grading_e2e.py::test_scores_per_cell[no_carry]"
    assert scheduler._split_scope(e2e) == "tests/course/test_grading_e2e.py"
    Config.values = {**Config.values, "dist": "load"}
    assert conftest.pytest_xdist_make_scheduler(Config(), None) is None
