"""One budget for all outputs and metadata of a graded notebook, with the cut stated where it happens.

The executor caps the text of each cell (``SandboxedExecute.max_cell_output``) and nbgrader's
``LimitOutput`` the lines of each stream, but nothing bounds the notebook as a whole: many cells, each
under its cap, or megabytes of output metadata, make an autograded notebook (and its feedback page) of
tens of megabytes. :class:`LimitNotebookOutputs` keeps outputs in notebook order while their size (JSON
characters), together with the notebook's and the cells' metadata, stays within
:attr:`LimitNotebookOutputs.max_total`; the output that would exceed it, and every output after it, is
replaced by one line saying so, in each cell that lost outputs. The outputs of grade cells (the judge's
verdicts, and the fixed line of visible tests) are always kept and counted first: a score never depends
on the budget. Metadata is bounded per cell and per notebook by :class:`SanitizeOutputs`, which runs first.
"""
from __future__ import annotations

import json

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Integer

__all__ = ["LimitNotebookOutputs"]


class LimitNotebookOutputs(NbGraderPreprocessor):
    """Drop the outputs past a total budget for the notebook, with a note in each cell that lost some."""

    max_total = Integer(2 * 2**20, help="Characters (JSON) of outputs plus metadata kept in one notebook"
                        ).tag(config=True)

    def preprocess(self, nb, resources):
        used = _size(nb.get("metadata", {})) + sum(_size(c.get("metadata", {})) for c in nb.cells)
        code = [c for c in nb.cells if c.get("cell_type") == "code"]
        used += sum(_size(o) for c in code if _judged(c) for o in c.get("outputs", []))
        reached = None  # index of the cell where the budget ran out
        for index, cell in enumerate(nb.cells):
            if cell.get("cell_type") != "code" or _judged(cell):
                continue
            kept, dropped = [], 0
            for output in cell.get("outputs", []):
                size = _size(output)
                if reached is None and used + size <= self.max_total:
                    kept.append(output)
                    used += size
                else:
                    if reached is None:
                        reached = index
                    dropped += 1
            if dropped:
                mb = self.max_total / 2**20
                text = (f"[{dropped} output(s) not kept from here on: this notebook's outputs reached the "
                        f"grading limit of {mb:g} MB]\n" if reached == index else
                        f"[{dropped} output(s) not kept: the notebook's outputs reached the grading limit of "
                        f"{mb:g} MB in an earlier cell]\n")
                kept.append(nbformat.v4.new_output("stream", name="stdout", text=text))
                cell.outputs = kept
        if reached is not None:
            self.log.warning("outputs past %d characters were dropped from cell %d on", self.max_total, reached)
        return nb, resources


def _judged(cell) -> bool:
    """A grade cell that is not an answer: its outputs are written by the grader (verdict, fixed line)."""
    meta = (cell.get("metadata") or {}).get("nbgrader") or {}
    return isinstance(meta, dict) and bool(meta.get("grade")) and not meta.get("solution")


def _size(value) -> int:
    try:
        return len(json.dumps(value))
    except (TypeError, ValueError):
        return len(str(value))
