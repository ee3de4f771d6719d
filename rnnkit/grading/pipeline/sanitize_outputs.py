"""Learner outputs made inert before a page shows them: text and validated images only.

Everything a graded notebook shows besides the instructor's cells came out of the learner's kernel or
names something the learner chose: outputs of answer cells and of the cells the learner added (and of
set-up cells, which run after the learner's code in the same kernel), execution counts, exception
names, messages and tracebacks, output metadata, and the texts of the pre-flight note (a cell type, a
file name). nbconvert's templates render ``text/html``, ``text/markdown``, ``image/svg+xml``,
``application/javascript`` and widget outputs as live markup, and write an image's ``width`` and
``height`` metadata unquoted into its ``<img>`` tag; the formgrader shows the autograded notebook with
those templates, in the instructor's session.

:class:`SanitizeOutputs` therefore keeps, of every output, only what a page shows as inert data:

- ``text/plain``, stream text and error texts, without escape sequences or control characters
  (:func:`~rnnkit.grading.pipeline.safe_text.printable`) and cut at :attr:`SanitizeOutputs.max_text`
  characters; the template escapes them;
- ``image/png`` and ``image/jpeg`` only when the data is valid base64 of an image of that format (its
  magic bytes) of at most :attr:`SanitizeOutputs.max_image` bytes, re-encoded; of the metadata only a
  ``width``/``height`` that is a plain positive integer;
- nothing else: an output of any other type is reduced to its ``text/plain``, or dropped, and a short
  note in the cell says which types were not shown.

Stream names are ``stdout`` or ``stderr``, execution counts integers or nothing, and every output is
rebuilt from these fields alone (no ``transient``, no foreign keys). The pre-flight note (the markdown
cell marked ``rnnkit_grading_note``) is escaped so that markdown renders it as text (:func:`inert_markdown`).
Cell and notebook metadata are bounded (:attr:`SanitizeOutputs.max_cell_metadata`,
:attr:`SanitizeOutputs.max_notebook_metadata`); notebook widget state is removed.

It runs in ``nbgrader autograde`` after the judge (so the autograded notebook the formgrader shows is
inert), in ``nbgrader generate_feedback`` again, and in the formgrader's own HTML export
(``nbgrader_config.py``). It is idempotent, and a malformed output costs only that output.
"""
from __future__ import annotations

import base64
import binascii
import json
import re

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Integer

from .safe_text import printable

__all__ = ["SanitizeOutputs", "inert_markdown", "IMAGE_MAGIC", "NOTE_KEY", "NOTE_REASON"]

#: Magic bytes of the image formats a page may show.
IMAGE_MAGIC = {"image/png": b"\x89PNG\r\n\x1a\n", "image/jpeg": b"\xff\xd8\xff"}
#: Cell metadata key of the pre-flight note (set by :class:`~rnnkit.grading.pipeline.RebuildFromTemplate`).
NOTE_KEY = "rnnkit_grading_note"

_TEXT = "text/plain"
_STREAMS = ("stdout", "stderr")
_TAG = re.compile(r"[A-Za-z0-9_-]{1,64}\Z")
_LARGEST_SIDE = 20_000  # pixels: a width or height above this is not an image's size


class SanitizeOutputs(NbGraderPreprocessor):
    """Keep only inert outputs (text, validated PNG/JPEG), escape the pre-flight note, bound metadata."""

    max_text = Integer(100_000, help="Characters kept of one text of one output (message, stream, text/plain)"
                       ).tag(config=True)
    max_traceback = Integer(20_000, help="Characters kept of one error output's traceback").tag(config=True)
    max_image = Integer(2 * 2**20, help="Bytes of one image output kept (larger images are not shown)"
                        ).tag(config=True)
    max_cell_metadata = Integer(16_384, help="Characters of JSON of one cell's metadata kept").tag(config=True)
    max_notebook_metadata = Integer(65_536, help="Characters of JSON of the notebook's metadata kept"
                                    ).tag(config=True)

    def preprocess(self, nb, resources):
        nb.metadata = self._bounded(nb.get("metadata") or {}, self.max_notebook_metadata, "the notebook",
                                    drop=("widgets",))
        for index, cell in enumerate(nb.cells):
            cell.metadata = self._bounded(cell.get("metadata") or {}, self.max_cell_metadata, f"cell {index}")
            if cell.get("cell_type") == "code":
                cell.execution_count = _count(cell.get("execution_count"))
                kept = []
                for output in cell.get("outputs") or []:
                    kept.extend(self.inert_output(output))
                cell.outputs = kept
            elif cell.get("cell_type") == "markdown" and cell.metadata.get(NOTE_KEY):
                cell.source = inert_markdown(cell.get("source", ""), limit=self.max_text)
        return nb, resources

    # --- one output ------------------------------------------------------------------------------
    def inert_output(self, output) -> list:
        """The inert form of one recorded output: zero, one or two outputs (the kept part, a note)."""
        try:
            kind = output.get("output_type")
            if kind == "stream":
                name = output.get("name") if output.get("name") in _STREAMS else "stdout"
                return [nbformat.v4.new_output("stream", name=name, text=self._text(output.get("text", "")))]
            if kind == "error":
                traceback = printable("\n".join(_text(line) for line in (output.get("traceback") or [])),
                                      self.max_traceback)
                return [nbformat.v4.new_output("error", ename=printable(_text(output.get("ename", "")), 200),
                                               evalue=self._text(output.get("evalue", "")),
                                               traceback=traceback.split("\n") if traceback else [])]
            if kind in ("execute_result", "display_data"):
                return self._data_output(kind, output)
            return [_note(f"an output of type {_name(kind)}: not shown")]
        except Exception:  # a malformed output costs that output only
            return [_note("a malformed output: not shown")]

    def _data_output(self, kind, output) -> list:
        data = output.get("data") or {}
        metadata = output.get("metadata") or {}
        if not isinstance(data, dict):
            return [_note("a malformed output: not shown")]
        kept, kept_meta, refused = {}, {}, []
        for mime, value in data.items():
            if mime == _TEXT:
                kept[_TEXT] = self._text(value)
            elif mime in IMAGE_MAGIC:
                image = _image(value, IMAGE_MAGIC[mime], self.max_image)
                if image is None:
                    refused.append(f"{mime} (not a valid image of that type, or too large)")
                    continue
                kept[mime] = image
                size = _image_size(metadata.get(mime) if isinstance(metadata, dict) else None)
                if size:
                    kept_meta[mime] = size
            else:
                refused.append(_name(mime))
        outputs = []
        if kept:
            out = nbformat.v4.new_output(kind, data=kept, metadata=kept_meta)
            if kind == "execute_result":
                out.execution_count = _count(output.get("execution_count"))
            outputs.append(out)
        if refused:
            shown = ", ".join(refused[:5]) + (f" and {len(refused) - 5} more" if len(refused) > 5 else "")
            outputs.append(_note(f"{shown} output: " + ("shown as its plain text" if _TEXT in kept else "not shown")))
        return outputs

    def _text(self, value) -> str:
        return printable(_text(value), self.max_text)

    # --- metadata --------------------------------------------------------------------------------
    def _bounded(self, metadata, limit: int, where: str, drop: tuple = ()) -> dict:
        """``metadata`` without the keys in ``drop``, invalid tags, and, over ``limit`` characters of JSON,
        its largest keys other than ``nbgrader`` (logged)."""
        if not isinstance(metadata, dict):
            return nbformat.NotebookNode()
        out = nbformat.NotebookNode({k: v for k, v in metadata.items() if isinstance(k, str) and k not in drop})
        if "tags" in out:
            tags = out["tags"] if isinstance(out["tags"], list) else []
            out["tags"] = [t for t in tags if isinstance(t, str) and _TAG.match(t)]
        sizes = {k: _json_size(v) for k, v in out.items()}
        total = sum(sizes.values()) + sum(len(k) + 6 for k in sizes)
        for key in sorted(sizes, key=sizes.get, reverse=True):
            if total <= limit:
                break
            if key == "nbgrader":
                continue
            del out[key]
            total -= sizes[key] + len(key) + 6
            self.log.warning("metadata %r of %s dropped (%d characters; the limit is %d)",
                             printable(key, 40), where, sizes[key], limit)
        return out


def inert_markdown(text, limit: int | None = None) -> str:
    """Markdown that renders ``text`` as plain text: no HTML, links, images, math or entities.

    Each line's list marker (``- ``) and a bold line (``**…**``) are kept; everything else that markdown
    could interpret is escaped with a backslash, except a code span holding only letters, digits, ``_``,
    ``.``, ``-`` and spaces (the grade ids the notes name), which renders as code either way. ``$`` and
    ``\\`` become their full-width forms, so that MathJax finds no delimiters in the rendered text. A
    backslash escape already there (of any punctuation but those two) is kept: escaping the result
    again changes nothing.
    """
    s = printable(_text(text), limit)
    lines = []
    for line in s.split("\n"):
        marker = ""
        if line.startswith("- "):
            marker, line = "- ", line[2:]
        bold = len(line) > 4 and line.startswith("**") and line.endswith("**")
        body = _escape_markdown(line[2:-2] if bold else line)
        lines.append(marker + (f"**{body}**" if bold else body))
    return "\n".join(lines)


_MARKDOWN_TOKEN = re.compile(
    r"(?P<escaped>\\[!\"#%&'()*+,\-./:;<=>?@\[\]^_`{|}~])"   # an escape already made: kept
    r"|(?P<code>`[A-Za-z0-9_.\- ]+`)"                          # a code span of a grade id: kept
    r"|(?P<math>[\\$])"                                       # backslash, dollar: full-width forms
    r"|(?P<punct>[!\"#%&'()*+,\-./:;<=>?@\[\]^_`{|}~])")     # anything markdown reads: escaped
_FULL_WIDTH = {"\\": "\uff3c", "$": "\uff04"}


def _escape_markdown(text: str) -> str:
    def one(m):
        if m.lastgroup in ("escaped", "code"):
            return m.group(0)
        if m.lastgroup == "math":
            return _FULL_WIDTH[m.group(0)]
        return "\\" + m.group(0)
    return _MARKDOWN_TOKEN.sub(one, text)


def _text(value) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "".join(value)
    return str(value)


def _name(value) -> str:
    return printable(value if isinstance(value, str) else repr(value), 60)


def _count(value):
    return value if type(value) is int and value >= 0 else None


def _image(value, magic: bytes, limit: int) -> str | None:
    """Canonical base64 of ``value`` if it decodes to at most ``limit`` bytes starting with ``magic``."""
    text = _text(value)
    if len(text) > limit * 4 // 3 + 4096:
        return None
    try:
        raw = base64.b64decode(re.sub(r"\s+", "", text), validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(raw) > limit or not raw.startswith(magic):
        return None
    return base64.b64encode(raw).decode("ascii")


def _image_size(meta) -> dict:
    if not isinstance(meta, dict):
        return {}
    return {k: meta[k] for k in ("width", "height")
            if type(meta.get(k)) is int and 0 < meta[k] <= _LARGEST_SIDE}


def _json_size(value) -> int:
    try:
        return len(json.dumps(value))
    except (TypeError, ValueError):
        return 1 << 30  # not JSON: dropped first


#: The end of every note of :class:`SanitizeOutputs`.
NOTE_REASON = "graded notebooks show only text and PNG/JPEG images"


def _note(text: str):
    return nbformat.v4.new_output("stream", name="stdout", text=f"[{text} ({NOTE_REASON})]\n")
