"""A report of a class's mistakes for instructors, read from the gradebook and the verdicts (nothing is re-run).

Run from the course directory after ``nbgrader autograde <a>`` (or ``grade_class``)::

    python -m rnnkit.grading.pipeline.class_report a3-bptt --out reports/

writes ``reports/a3-bptt-mistakes.html`` (one offline page: no script, no network, plots as inline SVG
made with matplotlib) and ``reports/a3-bptt-mistakes.csv`` (one row per student and graded function).

Per graded function: how many students got full marks; each named mistake (the ``name`` of a
:class:`~rnnkit.grading.engine.Mistake` of the assignment's specs) with its count and its students; the
failures no mistake named, grouped by their signature (which outputs are wrong, what was raised, which
probe cases fail); and where the errors sit when the verdict says so (the first wrong time step, the
LSTM gate blocks). A verdict names a mistake by its text after "Likely cause: "; :func:`mistake_catalogue`
collects every text each mistake has on the spec's own cases, so that a text with case-dependent words
(a6's gate-block rows, a4's chunk borders) is still recognised by the part all its cases share.
Every student-derived string (ids, messages, exception texts) is escaped before it reaches the page.
"""
from __future__ import annotations

import argparse
import csv
import html
import io
import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import registry

__all__ = ["Row", "FunctionReport", "spec_cases", "mistake_catalogue", "named_mistakes", "signature", "where",
           "summarise", "rows_from_course", "write_csv", "write_html", "report", "main"]

_CAUSE = re.compile(r"Likely cause: (.*?)(?=\n\S|$)", re.S)
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Row:
    """One student's verdict on one hidden test cell."""
    student: str
    grade_id: str
    score: float | None
    max_score: float
    message: str


@dataclass
class FunctionReport:
    """What the class did on one graded function."""
    grade_id: str
    function: str
    students: int = 0
    full_marks: int = 0
    named: dict = field(default_factory=dict)       # mistake name -> [students]
    texts: dict = field(default_factory=dict)       # mistake name -> its text (the first case's)
    unnamed: dict = field(default_factory=dict)     # signature -> [students]
    first_steps: Counter = field(default_factory=Counter)   # "t=3" -> count
    gates: Counter = field(default_factory=Counter)         # gate letter -> count


def _norm(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


def spec_cases(spec, seeds) -> list:
    """The cases a spec's mistakes are computed on: drawn with each seed, its edge cases, its probe cases."""
    out = []
    for seed in seeds:
        drawn = spec.draw(np.random.default_rng(seed))
        out += list(drawn) if isinstance(drawn, list) else [drawn]
    for make in spec.edge_cases:
        out.append(make())
    if spec.probe_base is not None:
        base = spec.probe_base()
        out += [base] + [p.make(base) for p in spec.probes]
    return out


def _common_prefix(texts: list[str]) -> str:
    first, last = min(texts), max(texts)
    n = 0
    while n < min(len(first), len(last)) and first[n] == last[n]:
        n += 1
    return first[:n]


def mistake_catalogue(assignment: str, seeds=range(6)) -> dict:
    """``grade_id -> [(name, text shared by all its cases, a full text)]`` for every Mistake of the assignment's
    specs, longest shared text first (so that the most specific mistake is tried first). Mistakes whose texts
    are the same words (a2's log2 and log10) are one entry, named ``"log2 / log10"``."""
    out = {}
    for gid, check in registry.checks_for(assignment).items():
        spec = check.spec
        texts: dict = defaultdict(list)
        if spec is None:
            out[gid] = []
            continue
        if callable(spec.mistakes):
            for case in spec_cases(spec, seeds):
                try:
                    mistakes = spec.mistakes(case)
                except Exception:  # a mistake list that does not apply to this (probe) case
                    continue
                for m in mistakes:
                    texts[m.name].append(_norm(m.text))
        else:
            for m in spec.mistakes:
                texts[m.name].append(_norm(m.text))
        merged: dict = {}  # mistakes the learner is told in the same words cannot be told apart: one entry
        for name, ts in texts.items():
            shared = _common_prefix(ts)
            merged.setdefault(shared, ([], ts[0]))[0].append(name)
        entries = [(" / ".join(names), shared, full) for shared, (names, full) in merged.items()]
        out[gid] = sorted(entries, key=lambda e: -len(e[1]))
    return out


def named_mistakes(message: str, catalogue: list) -> list[str]:
    """The names of the catalogue's mistakes the verdict ``message`` gives as a likely cause, in order, each once."""
    found = []
    for cause in _CAUSE.findall(message):
        cause = _norm(cause)
        for name, shared, _ in catalogue:
            if shared and cause.startswith(shared):
                if name not in found:
                    found.append(name)
                break
    return found


def signature(message: str, function: str) -> str:
    """What a failing verdict no mistake named says went wrong: the wrong outputs, what was raised, the form
    problem, the failing probe cases; learner-made details (values, exception texts) are left out."""
    text = _norm(message)
    parts = sorted(set(re.findall(rf"{re.escape(function)}: (\S+) is wrong", text)))
    out = [f"{', '.join(parts)} wrong"] if parts else []
    shapes = sorted(set(re.findall(rf"{re.escape(function)}: (\S+) has shape", text)))
    if shapes:
        out.append(f"{', '.join(shapes)} of the wrong shape")
    raised = re.search(rf"{re.escape(function)} raised (\w+)", text)
    if raised:
        out.append(f"raised {raised.group(1)}")
    for form, label in (("is not implemented yet", "not implemented (the stub left)"),
                        ("kernel stopped", "the kernel stopped (crash or limit)"),
                        ("ran longer than", "timed out"), ("is not defined", "not defined"),
                        ("is not a function", "not a function"),
                        ("no outputs were recorded", "no outputs recorded"),
                        ("not graded, because", "not graded (killed, timed out or refused)"),
                        ("the test cell stopped with", "test cell stopped"), ("must return", "returns the wrong form"),
                        ("must be", "returns the wrong type or shape"), ("in place", "modifies an argument"),
                        ("NaN or infinity", "NaN or infinity"), ("could not be judged", "outputs not judgeable")):
        if form in text and label not in out and not (label == "not graded (killed, timed out or refused)"
                                                      and out and out[-1] in ("the kernel stopped (crash or limit)",
                                                                              "timed out")):
            out.append(label)
    probes = re.search(r"wrong with (.*?)(?:\. So |\.$|\. \()", text)
    if probes:
        out.append("probes wrong: " + probes.group(1))
    return "; ".join(out) or "other"


def where(message: str) -> tuple[list[str], list[str]]:
    """Where the errors sit, when the message says so: ``(["t=3", ...], ["i", "f", ...])`` — the first wrong
    time step of each wrong output, the LSTM gate blocks named wrong."""
    text = _norm(message)
    steps = re.findall(r"the first wrong step is (t=\d+)", text)
    gates = []
    for block in re.findall(r"wrong in the blocks? of (.*?)(?:;|\.(?: |$))", text):
        gates += [g for g in re.findall(r"\b([ifog]) \(", block) if g not in gates]
    return steps, gates


def summarise(assignment: str, rows: list[Row], catalogue: dict | None = None) -> list[FunctionReport]:
    """One :class:`FunctionReport` per hidden test cell of ``assignment``, in the order the rows first name them
    (the notebook's, for rows read from a course), then the cells no row names."""
    checks = registry.checks_for(assignment)
    order = list(dict.fromkeys([r.grade_id for r in rows if r.grade_id in checks] + list(checks)))
    checks = {gid: checks[gid] for gid in order}
    catalogue = mistake_catalogue(assignment) if catalogue is None else catalogue
    reports = {gid: FunctionReport(gid, check.function) for gid, check in checks.items()}
    for row in rows:
        rep = reports.get(row.grade_id)
        if rep is None:
            continue
        rep.students += 1
        if row.score is not None and row.score >= row.max_score > 0:
            rep.full_marks += 1
            continue
        names = named_mistakes(row.message, catalogue.get(row.grade_id, []))
        for name in names:
            rep.named.setdefault(name, []).append(row.student)
            rep.texts[name] = next(full for n, _, full in catalogue[row.grade_id] if n == name)
        if not names:
            rep.unnamed.setdefault(signature(row.message, rep.function), []).append(row.student)
        steps, gates = where(row.message)
        rep.first_steps.update(set(steps))
        rep.gates.update(gates)
    return list(reports.values())


# ---------------------------------------------------------------------------
# reading a graded course
# ---------------------------------------------------------------------------

def _verdict_text(cell: dict) -> str:
    parts = []
    for o in cell.get("outputs", []):
        if o.get("output_type") == "stream":
            parts.append("".join(o.get("text", "")))
        elif o.get("output_type") == "error":
            parts.append(str(o.get("evalue", "")))
    return "\n".join(parts)


def rows_from_course(course: Path, assignment: str) -> list[Row]:
    """Every student's verdict on every hidden test cell: scores from ``gradebook.db``, messages from the
    autograded notebooks (read as JSON; nothing in them is run)."""
    from nbgrader.api import Gradebook
    course = Path(course)
    graded = registry.checks_for(assignment)  # the hidden test cells (visible ones carry no verdict)
    rows = []
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for sub in gb.assignment_submissions(assignment):
            student = sub.student.id
            messages = {}
            for nb in sub.notebooks:
                path = course / "autograded" / student / assignment / f"{nb.name}.ipynb"
                try:
                    cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
                except (OSError, ValueError):
                    cells = []
                for cell in cells:
                    gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
                    if gid:
                        messages[gid] = _verdict_text(cell)
                for grade in nb.grades:
                    if grade.cell.name in graded:
                        rows.append(Row(student, grade.cell.name, grade.score, grade.max_score,
                                        messages.get(grade.cell.name, "")))
    return rows


# ---------------------------------------------------------------------------
# output
# ---------------------------------------------------------------------------

def write_csv(path: Path, assignment: str, rows: list[Row], catalogue: dict) -> None:
    """One line per student and graded function: score, the named mistakes, the signature of an unnamed failure."""
    functions = {gid: c.function for gid, c in registry.checks_for(assignment).items()}
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["student", "grade_id", "function", "score", "max_score", "mistakes", "signature",
                    "first_wrong_steps", "gates"])
        for r in rows:
            full = r.score is not None and r.score >= r.max_score > 0
            names = [] if full else named_mistakes(r.message, catalogue.get(r.grade_id, []))
            fn = functions.get(r.grade_id, "")
            sig = "" if full or names else signature(r.message, fn)
            steps, gates = ([], []) if full else where(r.message)
            w.writerow([r.student, r.grade_id, fn, r.score, r.max_score, " ".join(names), sig,
                        " ".join(steps), " ".join(gates)])


def _svg_bars(labels: list[str], counts: list[int], title: str) -> str:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6.5, 0.35 * len(labels) + 0.9))
    ax.barh(range(len(labels)), counts, color="#4a78b0")
    ax.set_yticks(range(len(labels)), labels)
    ax.invert_yaxis()
    ax.set_title(title, fontsize=10)
    ax.xaxis.get_major_locator().set_params(integer=True)
    fig.tight_layout()
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    plt.close(fig)
    svg = buf.getvalue()
    return svg[svg.index("<svg"):]  # no XML prologue inside the page


def write_html(path: Path, assignment: str, reports: list[FunctionReport], n_students: int) -> None:
    """The offline page: a table and a bar plot per graded function. Everything learner-derived is escaped."""
    e = html.escape
    out = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Mistakes in {e(assignment)}</title>",
           "<style>body{font-family:sans-serif;max-width:60em;margin:auto}td,th{border:1px solid #ccc;"
           "padding:2px 6px;vertical-align:top}table{border-collapse:collapse}small{color:#555}</style></head><body>",
           f"<h1>Mistakes in {e(assignment)}</h1><p>{n_students} students. Built from the gradebook and the "
           "verdicts; no submission was run again.</p>"]
    for rep in reports:
        out.append(f"<h2>{e(rep.function)} <small>({e(rep.grade_id)})</small></h2>"
                   f"<p>Full marks: {rep.full_marks} of {rep.students}.</p>")
        if rep.named:
            ordered = sorted(rep.named.items(), key=lambda kv: -len(kv[1]))
            out.append(_svg_bars([k for k, _ in ordered], [len(v) for _, v in ordered], "named mistakes"))
            out.append("<table><tr><th>mistake</th><th>count</th><th>what the learner is told</th>"
                       "<th>students</th></tr>")
            for name, students in ordered:
                out.append(f"<tr><td>{e(name)}</td><td>{len(students)}</td><td>{e(rep.texts[name])}</td>"
                           f"<td>{e(', '.join(students))}</td></tr>")
            out.append("</table>")
        if rep.unnamed:
            out.append("<h3>Failures no mistake named, by signature</h3><table><tr><th>signature</th>"
                       "<th>count</th><th>students</th></tr>")
            for sig, students in sorted(rep.unnamed.items(), key=lambda kv: -len(kv[1])):
                out.append(f"<tr><td>{e(sig)}</td><td>{len(students)}</td><td>{e(', '.join(students))}</td></tr>")
            out.append("</table>")
        if rep.first_steps:
            keys = sorted(rep.first_steps, key=lambda k: int(k[2:]))
            out.append(_svg_bars(keys, [rep.first_steps[k] for k in keys], "first wrong time step (students)"))
        if rep.gates:
            keys = [g for g in "ifog" if g in rep.gates]
            out.append(_svg_bars([f"gate {g}" for g in keys], [rep.gates[g] for g in keys],
                                 "gate blocks wrong (students)"))
    out.append("</body></html>")
    Path(path).write_text("\n".join(out), encoding="utf-8")


def report(course: Path, assignment: str, out_dir: Path) -> tuple[Path, Path, list[FunctionReport]]:
    """Read the graded course, write the HTML page and the CSV; return their paths and the summaries."""
    rows = rows_from_course(course, assignment)
    catalogue = mistake_catalogue(assignment)
    reports = summarise(assignment, rows, catalogue)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    page, table = out_dir / f"{assignment}-mistakes.html", out_dir / f"{assignment}-mistakes.csv"
    write_html(page, assignment, reports, len({r.student for r in rows}))
    write_csv(table, assignment, rows, catalogue)
    return page, table, reports


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m rnnkit.grading.pipeline.class_report",
                                 description=__doc__.split("\n")[0])
    ap.add_argument("assignment")
    ap.add_argument("--course", type=Path, default=Path("."), help="the course directory (default: here)")
    ap.add_argument("--out", type=Path, default=Path("reports"), help="folder for the HTML page and the CSV")
    args = ap.parse_args(argv)
    page, table, _ = report(args.course, args.assignment, args.out)
    print(f"wrote {page} and {table}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
