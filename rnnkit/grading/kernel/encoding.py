"""The format cases and results travel in, shared by the kernel and the grader: values as JSON
structure plus plain arrays in an ``.npz`` (no pickle), with size limits on reading.

Only numpy and the standard library are imported: it ships into the grading sandbox with
:mod:`rnnkit.grading.kernel`.
"""
from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import numpy as np


#: Largest encoded payload, in either direction (bytes). The course's checks need a few hundred kB.
MAX_PAYLOAD = 32 * 2**20
#: Longest error text kept from a learner's exception.
MAX_ERROR_TEXT = 400
#: Longest string exchanged as a value (longer ones are described by their type only).
MAX_STR = 200

_PLAIN_KINDS = "biuf"  # bool, signed and unsigned integers, floats: the only array dtypes exchanged
#: Most arrays a payload holds before further Python floats are left out (each float in a list is an array
#: of its own): below the reader's limit on members, so a result returned as nested lists of numbers is
#: recorded as far as it goes and reported as a list, not as an unreadable payload.
MAX_ARRAYS = 4096


# ---------------------------------------------------------------------------
# values <-> (structure, arrays)
# ---------------------------------------------------------------------------

def encode_value(value: Any, arrays: dict[str, np.ndarray], depth: int = 0) -> dict:
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
    if isinstance(value, (float, np.floating)) and len(arrays) >= MAX_ARRAYS:
        return {"t": "other", "type": "value beyond the recording limit"}
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
                "items": [encode_value(v, arrays, depth + 1) for v in value]}
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            return {"t": "other", "type": "dict with non-string keys"}
        return {"t": "dict", "items": {k: encode_value(v, arrays, depth + 1) for k, v in value.items()}}
    return {"t": "other", "type": type(value).__name__}


class Other:
    """A returned value of a kind the grader does not accept (its type name only)."""

    def __init__(self, type_name: str):
        self.type_name = str(type_name)[:80]

    def __repr__(self) -> str:
        return f"<{self.type_name}>"


def decode_value(desc: Any, arrays: dict[str, np.ndarray], depth: int = 0) -> Any:
    """Inverse of :func:`encode_value`; anything malformed becomes :class:`Other`."""
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
        out = [decode_value(d, arrays, depth + 1) for d in items]
        return tuple(out) if t == "tuple" else out
    if t == "dict":
        items = desc.get("items")
        if not isinstance(items, dict):
            return Other("malformed dict")
        return {str(k): decode_value(v, arrays, depth + 1) for k, v in items.items()}
    if t == "other":
        return Other(desc.get("type", "object"))
    return Other("malformed value")


def pack_payload(structure: Any, arrays: dict[str, np.ndarray]) -> bytes:
    """``structure`` (JSON) and its ``arrays`` as the bytes of one ``.npz`` (read by :func:`unpack_payload`)."""
    buf = io.BytesIO()
    payload = dict(arrays)
    payload["__structure__"] = np.array(json.dumps(structure))
    np.savez(buf, **payload)
    return buf.getvalue()


def _plain_layout(arr: np.ndarray) -> np.ndarray:
    """``arr`` with its values unchanged, in the one representation every reader of a payload may assume:
    native byte order, C-contiguous, writeable, a base ``ndarray``.

    A result is judged on its values only. A learner's array may arrive big-endian (``'>f8'``, e.g. read
    from a file), in Fortran order, as a view with negative or gapped strides, or read-only: the format
    carries the dtype and layout faithfully, so they are undone here, where every payload is read, and no
    dtype comparison (``dtype != float64``) or byte-level identity downstream can see them.
    """
    if arr.dtype.byteorder not in ("=", "|"):
        arr = arr.astype(arr.dtype.newbyteorder("="))
    if type(arr) is not np.ndarray or not (arr.flags.c_contiguous and arr.flags.writeable):
        arr = np.array(arr, order="C", copy=True, subok=False)
    return arr


def unpack_payload(data: bytes) -> tuple[Any, dict[str, np.ndarray]]:
    """Read bytes written by :func:`pack_payload`, refusing anything but plain arrays and oversized members."""
    if len(data) > MAX_PAYLOAD:
        raise ValueError(f"payload of {len(data)} bytes exceeds {MAX_PAYLOAD}")
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        total = sum(info.file_size for info in zf.infolist())
        if total > MAX_PAYLOAD or len(zf.infolist()) > 10_000:
            raise ValueError("payload expands beyond the size limit")
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        arrays = {k: _plain_layout(npz[k]) for k in npz.files}
    raw = arrays.pop("__structure__", None)
    if raw is None or raw.dtype.kind != "U" or raw.shape != ():
        raise ValueError("payload has no structure record")
    return json.loads(str(raw)), arrays


# ---------------------------------------------------------------------------
# running the learner's function
# ---------------------------------------------------------------------------

def arrays_in(value, out: list, depth: int = 0) -> list:
    """The arrays inside ``value`` (nested tuples, lists and dict values, four levels deep), appended to ``out``."""
    if depth > 4:
        return out
    if isinstance(value, np.ndarray):
        out.append(value)
    elif isinstance(value, (tuple, list)):
        for v in value:
            arrays_in(v, out, depth + 1)
    elif isinstance(value, dict):
        for v in value.values():
            arrays_in(v, out, depth + 1)
    return out


def same_array(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether ``a`` and ``b`` hold the same shape, dtype and values (NaN equal to NaN)."""
    return a.shape == b.shape and a.dtype == b.dtype and bool(np.array_equal(a, b, equal_nan=True))


#: Most calls of an observed helper recorded per call of the graded function.
MAX_OBSERVED_CALLS = 1000


def copy_value(v, depth: int = 0):
    """``v`` with every array inside it (nested tuples and lists, four levels deep) copied."""
    if depth > 4:
        return v
    if isinstance(v, np.ndarray):
        return v.copy()
    if isinstance(v, (tuple, list)):
        return type(v)(copy_value(x, depth + 1) for x in v) if isinstance(v, tuple) else \
            [copy_value(x, depth + 1) for x in v]
    return v


#: Longest source line or function name read back for where a learner's exception was raised.
MAX_WHERE_TEXT = 160


def _plain_where(where) -> dict:
    """``{"line": int, "text": str, "function": str}`` if ``where`` is well formed (types checked, texts
    cut to :data:`MAX_WHERE_TEXT`), else ``{}``: a record's ``where`` is read from the kernel, never trusted."""
    if not isinstance(where, dict):
        return {}
    line, text, function = where.get("line"), where.get("text"), where.get("function")
    if not isinstance(line, int) or isinstance(line, bool) or not 0 < line < 10**7 \
            or not isinstance(text, str) or not isinstance(function, str):
        return {}
    return {"line": line, "text": text[:MAX_WHERE_TEXT], "function": function[:MAX_WHERE_TEXT]}


def encode_results(grade_id: str, records: list[dict]) -> bytes:
    """The kernel's side: the records of :func:`rnnkit.grading.kernel.run_calls` for ``grade_id``, as bytes."""
    arrays: dict[str, np.ndarray] = {}
    structure = {"grade_id": grade_id, "calls": [
        {"value": encode_value(r["value"], arrays), "error": r["error"], "modified": r["modified"],
         "aliased": r["aliased"], "objects": {k: encode_value(v, arrays) for k, v in r["objects"].items()},
         "observed": {name: [{"args": encode_value(tuple(c["args"]), arrays), "value": encode_value(c["value"], arrays),
                              "error": c.get("error")}
                             for c in log] for name, log in r.get("observed", {}).items()},
         "where": _plain_where(r.get("where"))}
        for r in records]}
    return pack_payload(structure, arrays)


def decode_results(data: bytes) -> tuple[str, list[dict]]:
    """The grader's side: ``(grade_id, records)`` with values rebuilt from plain arrays only."""
    structure, arrays = unpack_payload(data)
    if not isinstance(structure, dict) or not isinstance(structure.get("calls"), list):
        raise ValueError("malformed results")
    records = []
    for r in structure["calls"]:
        if not isinstance(r, dict):
            raise ValueError("malformed results")
        error = r.get("error")
        records.append({
            "value": decode_value(r.get("value"), arrays),
            "error": str(error)[:MAX_ERROR_TEXT + 3] if error is not None else None,
            "modified": [int(i) for i in r.get("modified", []) if isinstance(i, int)],
            "aliased": [int(i) for i in r.get("aliased", []) if isinstance(i, int)],
            "objects": {str(k): decode_value(v, arrays) for k, v in dict(r.get("objects", {})).items()},
            "observed": {str(name): [{"args": decode_value(c.get("args"), arrays), "value": decode_value(c.get("value"), arrays),
                                      "error": str(c["error"])[:80] if c.get("error") is not None else None}
                                     for c in log[:MAX_OBSERVED_CALLS] if isinstance(c, dict)]
                         for name, log in dict(r.get("observed", {})).items() if isinstance(log, list)},
            "where": _plain_where(r.get("where")),
        })
    return str(structure.get("grade_id")), records
