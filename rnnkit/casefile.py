"""The kernel side of grading: call the learner's function on given inputs and record what it returns.

This module is the only grading code that runs in the learner's kernel. It decides
nothing: a hidden test cell is ::

    from rnnkit.casefile import run_check
    run_check("test_rnn_forward", rnn_forward)

which reads the inputs the grader drew for that cell (plain arrays in an ``.npz``
file), calls the function on each of them, and displays the return values as one
output of the cell. The grader, in its own process, reads that output back (plain
numbers only, no pickle), compares it with its references and writes the verdict.
Whatever the learner's code does to this module, to numpy or to the kernel can
change what is *reported*, never what the grader *accepts*: a score needs correct
values for inputs drawn at grading time, and no reference implementation of a
graded function exists in the sandbox the kernel runs in.

Only numpy is imported here, so this file can be copied into the sandbox alone.
The encoding is shared with the grader (``encode_*`` / ``decode_*``), so one set of
functions defines the format on both sides.
"""
from __future__ import annotations

import base64
import io
import json
import os
import zipfile
from typing import Any

import numpy as np

#: Mime type of the cell output that carries a check's results back to the grader.
RESULTS_MIME = "application/vnd.rnnkit.results+json"
#: Environment variable naming the directory with the cases (set by the sandbox).
CASES_ENV = "RNNKIT_CASES"
#: Largest encoded payload, in either direction (bytes). The course's checks need a few hundred kB.
MAX_PAYLOAD = 32 * 2**20
#: Longest error text kept from a learner's exception.
MAX_ERROR_TEXT = 400
#: Longest string exchanged as a value (longer ones are described by their type only).
MAX_STR = 200

_PLAIN_KINDS = "biuf"  # bool, signed and unsigned integers, floats: the only array dtypes exchanged


# ---------------------------------------------------------------------------
# values <-> (structure, arrays)
# ---------------------------------------------------------------------------

def _encode(value: Any, arrays: dict[str, np.ndarray], depth: int = 0) -> dict:
    """Describe ``value`` as JSON-able structure; its arrays go into ``arrays`` under fresh keys."""
    if depth > 8:
        return {"t": "other", "type": "deeply nested value"}
    if value is None:
        return {"t": "none"}
    if isinstance(value, (bool, np.bool_)):
        return {"t": "bool", "v": bool(value)}
    if isinstance(value, (int, np.integer)):
        return {"t": "int", "v": int(value), "np": isinstance(value, np.integer)}
    if isinstance(value, str) and len(value) <= MAX_STR:  # e.g. a special argument's kind
        return {"t": "str", "v": value}
    if isinstance(value, (float, np.floating)):
        key = f"a{len(arrays)}"
        arrays[key] = np.asarray(value, dtype=np.float64)
        return {"t": "float", "k": key, "np": type(value).__name__}
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in _PLAIN_KINDS:
            return {"t": "other", "type": f"ndarray of dtype {value.dtype}"}
        key = f"a{len(arrays)}"
        arrays[key] = np.array(value, copy=True, subok=False)
        return {"t": "array", "k": key, "cls": type(value).__name__}
    if isinstance(value, (tuple, list)):
        return {"t": "tuple" if isinstance(value, tuple) else "list",
                "items": [_encode(v, arrays, depth + 1) for v in value]}
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            return {"t": "other", "type": "dict with non-string keys"}
        return {"t": "dict", "items": {k: _encode(v, arrays, depth + 1) for k, v in value.items()}}
    return {"t": "other", "type": type(value).__name__}


class Other:
    """A returned value of a kind the grader does not accept (its type name only)."""

    def __init__(self, type_name: str):
        self.type_name = str(type_name)[:80]

    def __repr__(self) -> str:
        return f"<{self.type_name}>"


def _decode(desc: Any, arrays: dict[str, np.ndarray], depth: int = 0) -> Any:
    """Inverse of :func:`_encode`; anything malformed becomes :class:`Other`."""
    if depth > 10 or not isinstance(desc, dict):
        return Other("malformed value")
    t = desc.get("t")
    if t == "none":
        return None
    if t == "bool":
        return bool(desc.get("v"))
    if t == "int":
        v = desc.get("v")
        if not isinstance(v, int) or isinstance(v, bool):
            return Other("malformed int")
        return np.int64(v) if desc.get("np") and abs(v) < 2**63 else v
    if t == "str":
        v = desc.get("v")
        return v if isinstance(v, str) and len(v) <= MAX_STR else Other("malformed str")
    if t in ("float", "array"):
        arr = arrays.get(desc.get("k"))
        if not isinstance(arr, np.ndarray) or arr.dtype.kind not in _PLAIN_KINDS:
            return Other(f"malformed {t}")
        if t == "float":
            if arr.shape != ():
                return Other("malformed float")
            return np.float64(arr) if desc.get("np") == "float64" else float(arr)
        return arr
    if t in ("tuple", "list"):
        items = desc.get("items")
        if not isinstance(items, list):
            return Other(f"malformed {t}")
        out = [_decode(d, arrays, depth + 1) for d in items]
        return tuple(out) if t == "tuple" else out
    if t == "dict":
        items = desc.get("items")
        if not isinstance(items, dict):
            return Other("malformed dict")
        return {str(k): _decode(v, arrays, depth + 1) for k, v in items.items()}
    if t == "other":
        return Other(desc.get("type", "object"))
    return Other("malformed value")


def _pack(structure: Any, arrays: dict[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    payload = dict(arrays)
    payload["__structure__"] = np.array(json.dumps(structure))
    np.savez(buf, **payload)
    return buf.getvalue()


def _unpack(data: bytes) -> tuple[Any, dict[str, np.ndarray]]:
    """Read bytes written by :func:`_pack`, refusing anything but plain arrays and oversized members."""
    if len(data) > MAX_PAYLOAD:
        raise ValueError(f"payload of {len(data)} bytes exceeds {MAX_PAYLOAD}")
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        total = sum(info.file_size for info in zf.infolist())
        if total > MAX_PAYLOAD or len(zf.infolist()) > 10_000:
            raise ValueError("payload expands beyond the size limit")
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    raw = arrays.pop("__structure__", None)
    if raw is None or raw.dtype.kind != "U" or raw.shape != ():
        raise ValueError("payload has no structure record")
    return json.loads(str(raw)), arrays


# ---------------------------------------------------------------------------
# arguments the grader can ask for besides plain values
# ---------------------------------------------------------------------------

class Transition:
    """A state transition ``f(s_prev, x) -> s`` handed to a learner's ``unroll`` (it counts its calls).

    ``kind="tanh"``: ``tanh(s_prev @ A.T + x @ Bm.T)``; ``kind="other"``: a transition that is not an
    RNN layer, so that an unrolling that assumes one is caught.
    """

    def __init__(self, kind: str, A: np.ndarray, Bm: np.ndarray):
        self.kind, self.A, self.Bm = str(kind), np.array(A, dtype=np.float64), np.array(Bm, dtype=np.float64)
        self.calls = 0

    def __call__(self, s_prev, x):
        s_prev = np.asarray(s_prev, dtype=np.float64)
        x = np.asarray(x, dtype=np.float64)
        self.calls += 1
        if s_prev.shape[-1:] != self.A.shape[:1] or x.shape[-1:] != self.Bm.shape[1:]:
            raise ValueError(f"f(s_prev, x): expected s_prev (..., {self.A.shape[0]}) and x (..., "
                             f"{self.Bm.shape[1]}), got shapes {s_prev.shape} and {x.shape} - state first, then input")
        if self.kind == "tanh":
            return np.tanh(s_prev @ self.A.T + x @ self.Bm.T)
        return 0.6 * s_prev * np.cos(x @ self.Bm.T) + 0.3 * np.sin(s_prev @ self.A.T)

    def record(self) -> dict:
        return {"calls": self.calls}


class RecordingGenerator:
    """A ``numpy.random.Generator`` stand-in that records how many uniforms were drawn."""

    def __init__(self, seed: int):
        self._rng = np.random.default_rng(int(seed))
        self.draws: list[int] = []

    def random(self, size=None, *args, **kwargs):
        out = self._rng.random(size, *args, **kwargs)
        self.draws.append(int(np.size(out)))
        return out

    def __getattr__(self, name):  # other methods of a Generator, unrecorded
        return getattr(self._rng, name)

    def record(self) -> dict:
        return {"draws": np.array(self.draws, dtype=np.int64)}


def _build_special(desc: dict, arrays: dict[str, np.ndarray]):
    """Objects a check passes to the learner, built in the kernel from plain data."""
    kind = desc.get("special")
    data = {k: _decode(v, arrays) for k, v in desc.get("data", {}).items()}
    if kind == "transition":
        return Transition(data["kind"] if isinstance(data["kind"], str) else "tanh", data["A"], data["Bm"])
    if kind == "generator":
        return RecordingGenerator(int(data["seed"]))
    if kind == "rng":
        return np.random.default_rng(int(data["seed"]))
    if kind == "hidden_to_hidden_rnn":
        # Only assignments whose sandbox ships rnnkit.models ask for this (a7).
        from rnnkit import HiddenToHiddenRNN
        model = HiddenToHiddenRNN(int(data["D"]), int(data["H"]), int(data["K"]), cell=str(data["cell"]),
                                  rng=np.random.default_rng(0))
        model.params = {k: np.array(v, dtype=np.float64) for k, v in data["params"].items()}
        return model
    raise ValueError(f"unknown argument kind {kind!r}")


def _record_special(obj) -> Any:
    """What the grader wants to know about an object argument after the call."""
    if hasattr(obj, "record"):
        return obj.record()
    if hasattr(obj, "params") and isinstance(obj.params, dict):
        return {"params": dict(obj.params)}
    return None


def special(kind: str, /, **data) -> dict:
    """Describe an object argument for :func:`encode_calls` (used by the grader's case builders)."""
    return {"__special__": kind, "data": data}


def encode_calls(calls: list[tuple]) -> bytes:
    """The grader's side: a list of positional-argument tuples, one per call, as bytes."""
    arrays: dict[str, np.ndarray] = {}
    structure = []
    for args in calls:
        descs = []
        for a in args:
            if isinstance(a, dict) and "__special__" in a:
                descs.append({"special": a["__special__"],
                              "data": {k: _encode(v, arrays) for k, v in a["data"].items()}})
            else:
                descs.append({"value": _encode(a, arrays)})
        structure.append(descs)
    return _pack(structure, arrays)


def decode_calls(data: bytes) -> list[list]:
    """Argument lists for the learner's function (objects are built here, in the kernel)."""
    structure, arrays = _unpack(data)
    calls = []
    for descs in structure:
        calls.append([_build_special(d, arrays) if "special" in d else _decode(d["value"], arrays) for d in descs])
    return calls


# ---------------------------------------------------------------------------
# running the learner's function
# ---------------------------------------------------------------------------

def _arrays_in(value, out: list, depth: int = 0):
    if depth > 4:
        return out
    if isinstance(value, np.ndarray):
        out.append(value)
    elif isinstance(value, (tuple, list)):
        for v in value:
            _arrays_in(v, out, depth + 1)
    elif isinstance(value, dict):
        for v in value.values():
            _arrays_in(v, out, depth + 1)
    return out


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype and bool(np.array_equal(a, b, equal_nan=True))


def run_calls(fn, calls: list[list]) -> list[dict]:
    """Call ``fn(*args)`` for each argument list; record result, exception, modified and aliased arguments.

    Each record is ``{"value": ..., "error": str | None, "modified": [argument index, ...],
    "aliased": [output path, ...], "objects": {argument index: record}}``.
    """
    import contextlib
    import warnings

    records = []
    for args in calls:
        originals = [[a.copy() for a in _arrays_in(arg, [])] for arg in args]
        rec: dict = {"value": None, "error": None, "modified": [], "aliased": [], "objects": {}}
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"), \
                    contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                warnings.simplefilter("ignore")
                rec["value"] = fn(*args)
        except BaseException as exc:  # the learner's error (even sys.exit) is that call's result, not ours
            if isinstance(exc, KeyboardInterrupt):
                raise
            text = f"{type(exc).__name__}: {exc}"
            rec["error"] = text if len(text) <= MAX_ERROR_TEXT else text[:MAX_ERROR_TEXT] + "..."
        for i, (arg, before) in enumerate(zip(args, originals)):
            after = _arrays_in(arg, [])
            if len(after) != len(before) or not all(_same(a, b) for a, b in zip(after, before)):
                rec["modified"].append(i)
            if not isinstance(arg, (np.ndarray, tuple, list, dict, int, float, str)) and arg is not None:
                rec["objects"][str(i)] = _record_special(arg)
        inputs = [a for arg in args for a in _arrays_in(arg, [])]
        for j, out in enumerate(_arrays_in(rec["value"], [])):
            if any(np.shares_memory(out, a) for a in inputs):
                rec["aliased"].append(j)
        records.append(rec)
    return records


def encode_results(grade_id: str, records: list[dict]) -> bytes:
    arrays: dict[str, np.ndarray] = {}
    structure = {"grade_id": grade_id, "calls": [
        {"value": _encode(r["value"], arrays), "error": r["error"], "modified": r["modified"],
         "aliased": r["aliased"], "objects": {k: _encode(v, arrays) for k, v in r["objects"].items()}}
        for r in records]}
    return _pack(structure, arrays)


def decode_results(data: bytes) -> tuple[str, list[dict]]:
    """The grader's side: ``(grade_id, records)`` with values rebuilt from plain arrays only."""
    structure, arrays = _unpack(data)
    if not isinstance(structure, dict) or not isinstance(structure.get("calls"), list):
        raise ValueError("malformed results")
    records = []
    for r in structure["calls"]:
        if not isinstance(r, dict):
            raise ValueError("malformed results")
        error = r.get("error")
        records.append({
            "value": _decode(r.get("value"), arrays),
            "error": str(error)[:MAX_ERROR_TEXT + 3] if error is not None else None,
            "modified": [int(i) for i in r.get("modified", []) if isinstance(i, int)],
            "aliased": [int(i) for i in r.get("aliased", []) if isinstance(i, int)],
            "objects": {str(k): _decode(v, arrays) for k, v in dict(r.get("objects", {})).items()},
        })
    return str(structure.get("grade_id")), records


def run_check(grade_id: str, fn) -> None:
    """Entry point of a hidden test cell: run ``fn`` on this cell's cases and display the results."""
    from IPython.display import display

    directory = os.environ.get(CASES_ENV)
    if not directory:
        _check_here(grade_id, fn)
        return
    with open(os.path.join(directory, f"{os.path.basename(grade_id)}.npz"), "rb") as f:
        calls = decode_calls(f.read())
    if not callable(fn):
        records = [{"value": None, "error": f"not a function (got {type(fn).__name__})", "modified": [],
                    "aliased": [], "objects": {}}]
    else:
        records = run_calls(fn, calls)
    data = encode_results(grade_id, records)
    if len(data) > MAX_PAYLOAD:
        raise RuntimeError("the function's outputs are far larger than the check's inputs allow")
    display({RESULTS_MIME: {"grade_id": grade_id, "npz": base64.b64encode(data).decode("ascii")},
             "text/plain": f"outputs of {len(records)} calls recorded for grading"}, raw=True)


def _check_here(grade_id: str, fn) -> None:
    """Outside the grading sandbox (an instructor running the solutions): run the same check here.

    Advisory only: this runs in the kernel it reports to, so it decides nothing. Grading
    draws its own inputs in the grading process and judges there.
    """
    try:
        from rnnkit.grading import registry
    except ImportError:
        raise RuntimeError("hidden tests run when the notebook is graded; rnnkit.grading is not installed here") \
            from None
    check = registry.find_check(grade_id)
    verdict = check.grade(fn)
    print(verdict)
    if not verdict.passed:
        raise AssertionError(verdict.message)
