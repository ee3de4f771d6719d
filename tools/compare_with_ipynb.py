"""Compare the notebooks built from ``solutions/<name>/<name>.md`` with ``.ipynb`` sources kept in git.

    python tools/compare_with_ipynb.py 4492bda     # the last commit with solutions/<name>/<name>.ipynb

The check made when the instructor notebooks moved from JSON to MyST text: for every assignment,
the notebook :func:`release.read_notebook` builds must have the same notebook metadata and, cell
by cell, the same id, type, source and metadata (nbgrader's above all) as the ``.ipynb`` at that
revision, and no outputs. Prints every difference; exit status 1 if there is one.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from release import ROOT, available_assignments, answer_source, read_notebook  # noqa: E402


def differences(old: dict, new: dict) -> list[str]:
    """What differs between the notebook ``old`` (JSON from git) and ``new`` (built from the MyST text)."""
    out = []
    if (old["nbformat"], old["nbformat_minor"]) != (new["nbformat"], new["nbformat_minor"]):
        out.append(f"nbformat {old['nbformat']}.{old['nbformat_minor']} -> {new['nbformat']}.{new['nbformat_minor']}")
    if old["metadata"] != new["metadata"]:
        out.append(f"notebook metadata {old['metadata']} -> {new['metadata']}")
    if len(old["cells"]) != len(new["cells"]):
        out.append(f"{len(old['cells'])} cells -> {len(new['cells'])}")
    for a, b in zip(old["cells"], new["cells"]):
        where = f"cell {a.get('id')}"
        for key in ("id", "cell_type", "metadata"):
            if a.get(key) != b.get(key):
                out.append(f"{where}: {key} {a.get(key)!r} -> {b.get(key)!r}")
        if "".join(a["source"]) != "".join(b["source"]):
            out.append(f"{where}: source differs")
        if b.get("outputs") or b.get("execution_count") is not None or a.get("outputs"):
            out.append(f"{where}: outputs {a.get('outputs')!r} -> {b.get('outputs')!r}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("revision", help="a git revision that still has solutions/<name>/<name>.ipynb")
    args = parser.parse_args(argv)
    failed = False
    for name in available_assignments(ROOT):
        old = json.loads(subprocess.run(["git", "show", f"{args.revision}:solutions/{name}/{name}.ipynb"],
                                        cwd=ROOT, capture_output=True, text=True, check=True).stdout)
        new = json.loads(json.dumps(read_notebook(answer_source(ROOT, name))))
        diff = differences(old, new)
        print(f"{name}: {len(new['cells'])} cells, " + ("identical" if not diff else f"{len(diff)} differences"))
        for line in diff:
            print("   ", line)
        failed |= bool(diff)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
