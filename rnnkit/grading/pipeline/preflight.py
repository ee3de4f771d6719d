"""Step 1, pre-flight: the submitted notebook rebuilt from the released template."""
from __future__ import annotations

import copy
from pathlib import Path

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor

from .judging import PostCheck, tree_digest
from .notebook import course_directory, defined_functions, is_solution, nbgrader_meta, pipeline_state
from .vetted_converters import VETTED


# ---------------------------------------------------------------------------
# 1. pre-flight
# ---------------------------------------------------------------------------

class RebuildFromTemplate(NbGraderPreprocessor):
    """Rebuild a submission from the released notebook, keeping only the learner's solution cells.

    The notebook must have come through :class:`~.vetted_converters.VettedAutograde` (its notes on
    dropped files open the feedback); otherwise grading stops here rather than grade files nbgrader
    read by following links. A notebook that was itself dropped is graded as the untouched release.
    """

    def preprocess(self, nb, resources):
        vetted = resources.get(VETTED)
        if vetted is None:
            raise RuntimeError("this notebook was not read through rnnkit.grading.pipeline.VettedAutograde: "
                               "nbgrader_config.py must call use_vetted_converters()")
        state = pipeline_state(resources)
        state["notes"].extend(vetted["notes"])
        # a dropped notebook: the untouched release, without a note per missing answer cell
        rebuild_state = {"notes": [], "cell_notes": {}} if vetted["refused"] else state
        if vetted["refused"]:
            nb = nbformat.v4.new_notebook()
        info = resources["nbgrader"]
        course = course_directory(self.config)
        if PostCheck._digest is None:  # before any learner code of this batch has run
            PostCheck._digest = tree_digest(Path(course.root).resolve())
        template_path = Path(course.format_path(course.release_directory, ".", info["assignment"])) \
            / f"{info['notebook']}.ipynb"
        if not template_path.exists():
            raise FileNotFoundError(f"release template {template_path} is missing: run "
                                    f"'nbgrader generate_assignment {info['assignment']}' first")
        template = nbformat.read(str(template_path), as_version=4)
        submitted = [c for c in nb.get("cells", []) if isinstance(c, dict)]
        by_id: dict[str, list] = {}
        for c in submitted:
            gid = nbgrader_meta(c).get("grade_id") if isinstance(nbgrader_meta(c), dict) else None
            if isinstance(gid, str):
                by_id.setdefault(gid, []).append(c)
        used: set[int] = set()
        cells = []
        for tcell in template.cells:
            cell = copy.deepcopy(tcell)
            if is_solution(tcell):
                gid = nbgrader_meta(tcell)["grade_id"]
                cell.source = self._learner_source(tcell, gid, by_id, submitted, used, rebuild_state)
            cells.append(cell)
        template_ids = {nbgrader_meta(c).get("grade_id") for c in template.cells} - {None}  # a7's train-longer has none
        cells = self._with_learner_cells(cells, submitted, used, template_ids)
        nb = copy.deepcopy(template)
        nb.cells = cells
        if state["notes"]:
            note = nbformat.v4.new_markdown_cell(
                "**Notes from grading (your notebook as it was submitted):**\n\n"
                + "\n".join(f"- {n}" for n in state["notes"]))
            note.metadata["rnnkit_grading_note"] = True
            nb.cells.insert(0, note)
        return nb, resources

    @staticmethod
    def _with_learner_cells(cells, submitted, used, template_ids):
        """Keep code cells the learner added (helpers, experiments), after the template cell they followed.

        They run in the sandbox like the answer cells and decide nothing; as plain cells without
        nbgrader metadata they can never be graded themselves.
        """
        anchors: dict[str | None, list] = {}
        anchor = None
        for c in submitted:
            gid = nbgrader_meta(c).get("grade_id") if isinstance(nbgrader_meta(c), dict) else None
            if gid in template_ids:
                anchor = gid
                continue
            meta = c.get("metadata")
            tags = meta.get("tags") if isinstance(meta, dict) else None
            if c.get("cell_type") != "code" or id(c) in used or (isinstance(tags, list) and "skip-grading" in tags):
                continue  # a cell grading never runs (a7's extra training): the template's copy stands
            src = c.get("source", "")
            extra = nbformat.v4.new_code_cell("".join(src) if isinstance(src, list) else str(src))
            anchors.setdefault(anchor, []).append(extra)
        out = list(anchors.get(None, []))
        for cell in cells:
            out.append(cell)
            out.extend(anchors.get(nbgrader_meta(cell).get("grade_id"), []))
        return out

    @staticmethod
    def _learner_source(tcell, gid, by_id, submitted, used, state) -> str:
        def code_of(c):
            src = c.get("source", "")
            return "".join(src) if isinstance(src, list) else str(src)

        candidates = [c for c in by_id.get(gid, []) if c.get("cell_type") == "code"]
        if len(candidates) > 1:
            state["notes"].append(f"The cell `{gid}` appears {len(candidates)} times; the last copy was graded "
                                  f"(as *Run All* would leave it).")
        if candidates:
            chosen = candidates[-1]
            used.add(id(chosen))
            if not nbgrader_meta(chosen).get("solution"):
                state["notes"].append(f"The cell `{gid}` was no longer marked as an answer cell; its code was "
                                      f"graded anyway.")
            return code_of(chosen)
        if by_id.get(gid):
            state["notes"].append(f"The cell `{gid}` was turned into a {by_id[gid][-1].get('cell_type')} cell; "
                                  f"it is graded as unanswered.")
            state["cell_notes"].setdefault(gid, []).append("its answer cell was not a code cell")
            return tcell.source
        # renamed or re-created: find an unmatched code cell that defines the same functions
        wanted = defined_functions(tcell.source)
        for c in reversed(submitted):
            if id(c) in used or c.get("cell_type") != "code" or not wanted:
                continue
            if wanted <= defined_functions(code_of(c)):
                used.add(id(c))
                state["notes"].append(f"The answer cell `{gid}` was not found under its name; the cell that "
                                      f"defines {', '.join(sorted(wanted))} was graded instead.")
                return code_of(c)
        state["notes"].append(f"The answer cell `{gid}` is missing from the submission; it is graded as "
                              f"unanswered.")
        state["cell_notes"].setdefault(gid, []).append("its answer cell is missing from the submission")
        return tcell.source
