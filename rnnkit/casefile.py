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
        if data.get("watch"):
            _watch_loss_and_grads(model)
        return model
    raise ValueError(f"unknown argument kind {kind!r}")


#: Most calls of a watched model's ``loss_and_grads`` that are recorded (a correct train_step makes one).
MAX_WATCHED_CALLS = 8


def _watch_loss_and_grads(model) -> None:
    """a7: the model handed to ``train_step`` notes how its ``loss_and_grads`` was called.

    Recorded per call: the ``state0`` it was given, ``return_state``, whether the parameters had
    already changed (a call after the update), and the gradient dict it returned, read again after
    ``train_step`` ended (clipping it in place after the update shows there). For the diagnosis only:
    the grader decides on the parameters and outputs, whatever this records.
    """
    import inspect
    original = model.loss_and_grads
    start = {k: np.array(v, copy=True) for k, v in model.params.items()}
    calls: list = []
    try:
        signature = inspect.signature(original)
    except (TypeError, ValueError):
        signature = None

    def changed() -> bool:
        try:
            return any(not _same(np.asarray(model.params[k]), v) for k, v in start.items())
        except Exception:
            return True

    def loss_and_grads(*args, **kwargs):
        entry = None
        if len(calls) < MAX_WATCHED_CALLS:
            try:
                bound = signature.bind(*args, **kwargs).arguments if signature is not None else {}
                state0 = bound.get("state0")
                entry = {"state0": _copy_value(state0) if isinstance(state0, (np.ndarray, tuple, list)) or
                         state0 is None else type(state0).__name__,
                         "return_state": bool(bound.get("return_state", False)), "after_update": changed(),
                         "grads": None}
            except Exception:
                entry = None
        out = original(*args, **kwargs)
        if entry is not None:
            if isinstance(out, tuple) and len(out) >= 2 and isinstance(out[1], dict):
                entry["grads"] = out[1]  # the very dict: its entries are read when the call has ended
            calls.append(entry)
        return out

    loss_and_grads.__wrapped__ = original
    loss_and_grads.__doc__ = original.__doc__
    model.loss_and_grads = loss_and_grads

    def record() -> dict:
        return {"params": dict(model.params) if isinstance(model.params, dict) else model.params,
                "calls": [{**c, "grads": dict(c["grads"]) if isinstance(c["grads"], dict) else None}
                          for c in calls]}

    model.record = record


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


def encode_calls(calls: list) -> bytes:
    """The grader's side: a list of positional-argument tuples, one per call, as bytes.

    A call may also be ``with_oracle(args, helper, table)``: that call runs with the helper
    function ``helper`` replaced by an :class:`Oracle` (see there).
    """
    arrays: dict[str, np.ndarray] = {}
    structure = []
    for call in calls:
        oracle = record = None
        if isinstance(call, dict) and "__call__" in call:
            call, oracle, record = call["__call__"], call.get("__oracle__"), call.get("__record__")
        descs = []
        for a in call:
            if isinstance(a, dict) and "__special__" in a:
                descs.append({"special": a["__special__"],
                              "data": {k: _encode(v, arrays) for k, v in a["data"].items()}})
            else:
                descs.append({"value": _encode(a, arrays)})
        entry = {"args": descs}
        if oracle is not None:
            entry["oracle"] = {"helper": oracle["helper"], "table": _encode(oracle["table"], arrays)}
            if "known" in oracle:
                entry["oracle"]["known"] = _encode(oracle["known"], arrays)
        if record is not None:
            entry["record"] = str(record)
        structure.append(entry)
    return _pack(structure, arrays)


class _CallArgs(list):
    """The arguments of one call, the oracle it runs with and the helper it records (if any)."""
    oracle = None
    record = None


def decode_calls(data: bytes) -> list[list]:
    """Argument lists for the learner's function (objects are built here, in the kernel)."""
    structure, arrays = _unpack(data)
    calls = []
    for entry in structure:
        args = _CallArgs(_build_special(d, arrays) if "special" in d else _decode(d["value"], arrays)
                         for d in entry["args"])
        if "oracle" in entry:
            table = _decode(entry["oracle"]["table"], arrays)
            known = _decode(entry["oracle"]["known"], arrays) if "known" in entry["oracle"] else None
            args.oracle = (str(entry["oracle"]["helper"]), Oracle(table, known))
        if "record" in entry:
            args.record = str(entry["record"])
        calls.append(args)
    return calls


# ---------------------------------------------------------------------------
# the oracle: correct helper results, readable only by a caller that passes the right inputs
# ---------------------------------------------------------------------------

def _canonical(value, out: list, depth: int = 0) -> list:
    """Bytes that identify ``value`` exactly (dtype, shape and every bit of each array)."""
    if depth > 6:
        out.append(b"?")
    elif isinstance(value, np.ndarray):
        out += [b"A", value.dtype.str.encode(), repr(value.shape).encode(), np.ascontiguousarray(value).tobytes()]
    elif isinstance(value, (tuple, list)):
        out.append(b"(" if isinstance(value, tuple) else b"[")
        for v in value:
            _canonical(v, out, depth + 1)
        out.append(b")")
    else:
        out += [b"S", type(value).__name__.encode(), repr(value).encode()]
    return out


def _keystream(key: bytes, n: int) -> np.ndarray:
    import hashlib
    blocks = [hashlib.sha256(key + i.to_bytes(8, "little")).digest() for i in range((n + 31) // 32)]
    return np.frombuffer(b"".join(blocks)[:n], dtype=np.uint8)


def seal(inputs: tuple, output) -> tuple[np.ndarray, np.ndarray]:
    """``(tag, box)``: ``output`` encrypted under the exact bytes of ``inputs`` (the grader's side).

    Only a caller holding exactly ``inputs`` can compute the tag that finds the box and the key
    that opens it; SHA-256 cannot be inverted to recover either from the table.
    """
    import hashlib
    ident = b"".join(_canonical(tuple(inputs), []))
    arrays: dict[str, np.ndarray] = {}
    plain = np.frombuffer(_pack(_encode(output, arrays), arrays), dtype=np.uint8)
    tag = np.frombuffer(hashlib.sha256(b"tag:" + ident).digest(), dtype=np.uint8)
    return tag, plain ^ _keystream(b"key:" + ident, plain.size)


def with_recorder(args: tuple, helper: str) -> dict:
    """A call of the learner's function during which their ``helper`` is recorded (its arguments and
    results), unchanged otherwise. A separate call, so that the learner's plain call runs with their own
    function object: a function that checks whether its helper was swapped behaves the same in both."""
    return {"__call__": tuple(args), "__record__": helper}


def with_oracle(args: tuple, helper: str, entries: list[tuple[tuple, object]], known: tuple = ()) -> dict:
    """A call of the learner's function during which their ``helper`` answers correctly, for the inputs
    a correct use of it would pass (``entries``: ``(inputs, correct output)`` pairs).

    ``known`` (optional): values the grader can name (e.g. every ``X[t]``, ``h0``, each correct state).
    For the first call that misses, the oracle then records which of them each argument equals (each
    array inside a tuple or list argument counts as one argument: see :func:`leaf_tag`).
    """
    sealed = [seal(inputs, output) for inputs, output in entries]
    oracle = {"helper": helper, "table": [list(t) for t in sealed]}
    if len(known):
        oracle["known"] = np.stack([leaf_tag(v) for v in known])
    return {"__call__": tuple(args), "__oracle__": oracle}


def _leaves(value, out: list, depth: int = 0) -> list:
    """The values inside (nested) tuples and lists, in order; anything else is one leaf."""
    if isinstance(value, (tuple, list)) and depth < 4:
        for v in value:
            _leaves(v, out, depth + 1)
    else:
        out.append(value)
    return out


def leaf_tag(value) -> np.ndarray:
    """SHA-256 of one argument's exact bytes (identifies it, reveals nothing about it)."""
    import hashlib
    return np.frombuffer(hashlib.sha256(b"leaf:" + b"".join(_canonical(value, []))).digest(), dtype=np.uint8)


class Oracle:
    """Stands in for a learner's helper (their step function) during one call of their sequence function.

    It returns the correct result for exactly the inputs a correct sequence loop passes, and raises
    for any other input. So the sequence function is judged on its own logic, whatever the learner's
    step function does: a step-function mistake costs only the step function's cell.
    """

    def __init__(self, table, known=None):
        self.signature = None  # the learner's helper's, to put keyword arguments in their places
        self._boxes = {}
        for tag, box in table:
            self._boxes[np.asarray(tag, dtype=np.uint8).tobytes()] = np.asarray(box, dtype=np.uint8)
        self._known = {}  # leaf tag -> index of the first known value with those bytes
        if isinstance(known, np.ndarray) and known.ndim == 2:
            for i, tag in enumerate(np.asarray(known, dtype=np.uint8)):
                self._known.setdefault(tag.tobytes(), i)
        self.calls = 0
        self.misses = 0
        self.first_miss = None  # (call number, known index of each argument or -1)

    def __call__(self, *args, **kwargs):
        import hashlib
        self.calls += 1
        if kwargs and self.signature is not None:
            try:
                bound = self.signature.bind(*args, **kwargs)
                bound.apply_defaults()
                args, kwargs = tuple(bound.arguments.values()), {}
            except TypeError:
                pass
        ident = b"".join(_canonical(tuple(args) + tuple(kwargs[k] for k in sorted(kwargs)), []))
        box = self._boxes.get(hashlib.sha256(b"tag:" + ident).digest())
        if box is None:
            self.misses += 1
            if self.first_miss is None:
                leaves = _leaves(tuple(args) + tuple(kwargs[k] for k in sorted(kwargs)), [])
                self.first_miss = (self.calls, [self._known.get(leaf_tag(v).tobytes(), -1) for v in leaves])
            raise ValueError("this call of the step function has inputs a correct loop would not pass "
                             "(the step's arguments at this time step are not what they should be)")
        plain = box ^ _keystream(b"key:" + ident, box.size)
        structure, arrays = _unpack(plain.tobytes())
        return _decode(structure, arrays)

    def record(self) -> dict:
        rec = {"calls": self.calls, "misses": self.misses}
        if self.first_miss is not None:
            rec["miss_call"] = self.first_miss[0]
            rec["miss_leaves"] = np.array(self.first_miss[1], dtype=np.int64)
        return rec


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


#: Most calls of an observed helper recorded per call of the graded function.
MAX_OBSERVED_CALLS = 1000


class _Recorder:
    """Stands in for a learner's helper (e.g. their step function) while their sequence function runs:
    calls it unchanged and keeps a copy of each call's arguments and result."""

    def __init__(self, fn, log: list):
        self.fn, self.log = fn, log
        self.__name__ = getattr(fn, "__name__", "helper")
        self.__wrapped__ = fn  # inspect.signature(recorder) is the helper's: an oracle put in its place binds keywords

    def __call__(self, *args, **kwargs):
        entry = {"args": [_copy_value(a) for a in _positional(self.fn, args, kwargs)], "value": None, "error": None}
        try:
            value = self.fn(*args, **kwargs)
        except BaseException as exc:
            entry["error"] = type(exc).__name__
            if len(self.log) < MAX_OBSERVED_CALLS:
                self.log.append(entry)
            raise
        entry["value"] = _copy_value(value)
        if len(self.log) < MAX_OBSERVED_CALLS:
            self.log.append(entry)
        return value


def _positional(fn, args: tuple, kwargs: dict) -> tuple:
    """A call's arguments in ``fn``'s parameter order, keyword arguments bound by its signature (so a step
    function called as ``step(dh=..., dc=..., cache=...)`` is recorded like ``step(dh, dc, cache)``)."""
    if not kwargs:
        return args
    try:
        import inspect
        bound = inspect.signature(fn).bind(*args, **kwargs)
        bound.apply_defaults()
        return tuple(bound.arguments.values())
    except (TypeError, ValueError):
        return tuple(args) + tuple(kwargs[k] for k in sorted(kwargs))


def _copy_value(v, depth: int = 0):
    if depth > 4:
        return v
    if isinstance(v, np.ndarray):
        return v.copy()
    if isinstance(v, (tuple, list)):
        return type(v)(_copy_value(x, depth + 1) for x in v) if isinstance(v, tuple) else \
            [_copy_value(x, depth + 1) for x in v]
    return v


def _observing(fn, observe: dict):
    """Context: while ``fn`` runs, the names in ``observe`` (its module globals) are recorders.

    Why: a sequence function built on the learner's own step function is judged given that step
    function (a wrong step costs the step's points, not the sequence's). The grader needs the
    step calls the sequence function really made; their values are checked against the loop,
    so forging them gains nothing.
    """
    import contextlib

    @contextlib.contextmanager
    def ctx():
        logs = {name: [] for name in observe}
        namespace = getattr(fn, "__globals__", None)
        swapped = {}
        if isinstance(namespace, dict):
            for name, helper in observe.items():
                if namespace.get(name) is helper and callable(helper):
                    swapped[name] = helper
                    namespace[name] = _Recorder(helper, logs[name])
        try:
            yield logs
        finally:
            for name, helper in swapped.items():
                namespace[name] = helper
    return ctx()


def _substituting(fn, oracle):
    """Context: the helper named by ``oracle`` is the :class:`Oracle` in ``fn``'s globals while it runs."""
    import contextlib

    @contextlib.contextmanager
    def ctx():
        namespace = getattr(fn, "__globals__", None)
        if oracle is None or not isinstance(namespace, dict):
            yield
            return
        name, stand_in = oracle
        missing = object()
        before = namespace.get(name, missing)
        if callable(before):
            import inspect
            try:
                stand_in.signature = inspect.signature(before)
            except (TypeError, ValueError):
                pass
        namespace[name] = stand_in
        try:
            yield
        finally:
            if before is missing:
                namespace.pop(name, None)
            else:
                namespace[name] = before
    return ctx()


def _observed_for(args, observe: dict, namespace) -> dict:
    """The helpers recorded during one call: the caller's, plus the one a ``with_recorder`` call names."""
    name = getattr(args, "record", None)
    if name and isinstance(namespace, dict) and callable(namespace.get(name)):
        return {**observe, name: namespace[name]}
    return observe


def run_calls(fn, calls: list[list], observe: dict | None = None) -> list[dict]:
    """Call ``fn(*args)`` for each argument list; record result, exception, modified and aliased arguments.

    Each record is ``{"value": ..., "error": str | None, "modified": [argument index, ...],
    "aliased": [output path, ...], "objects": {argument index: record},
    "observed": {helper name: [{"args": [...], "value": ...}, ...]}}``; ``observe`` maps the names
    of helper functions ``fn`` calls (the learner's step function) to those functions.
    """
    import contextlib
    import warnings

    records = []
    observe = dict(observe or {})
    namespace = getattr(fn, "__globals__", None)
    for args in calls:
        originals = [[a.copy() for a in _arrays_in(arg, [])] for arg in args]
        rec: dict = {"value": None, "error": None, "modified": [], "aliased": [], "objects": {}, "observed": {}}
        oracle = getattr(args, "oracle", None)
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"), \
                    contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()), \
                    _observing(fn, _observed_for(args, observe, namespace)) as logs, _substituting(fn, oracle):
                warnings.simplefilter("ignore")
                rec["observed"] = logs
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
        if oracle is not None:
            rec["objects"]["oracle"] = oracle[1].record()
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
         "aliased": r["aliased"], "objects": {k: _encode(v, arrays) for k, v in r["objects"].items()},
         "observed": {name: [{"args": _encode(tuple(c["args"]), arrays), "value": _encode(c["value"], arrays),
                              "error": c.get("error")}
                             for c in log] for name, log in r.get("observed", {}).items()}}
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
            "observed": {str(name): [{"args": _decode(c.get("args"), arrays), "value": _decode(c.get("value"), arrays),
                                      "error": str(c["error"])[:80] if c.get("error") is not None else None}
                                     for c in log[:MAX_OBSERVED_CALLS] if isinstance(c, dict)]
                         for name, log in dict(r.get("observed", {})).items() if isinstance(log, list)},
        })
    return str(structure.get("grade_id")), records


def run_check(grade_id: str, fn, **observe) -> None:
    """Entry point of a hidden test cell: run ``fn`` on this cell's cases and display the results.

    Keyword arguments name helper functions ``fn`` uses whose calls the grader wants to see, e.g.
    ``run_check("test_rnn_forward", rnn_forward, rnn_step_forward=rnn_step_forward)``.
    """
    from IPython.display import display

    directory = os.environ.get(CASES_ENV)
    if not directory:
        _check_here(grade_id, fn, observe)
        return
    with open(os.path.join(directory, f"{os.path.basename(grade_id)}.npz"), "rb") as f:
        calls = decode_calls(f.read())
    if not callable(fn):
        records = [{"value": None, "error": f"not a function (got {type(fn).__name__})", "modified": [],
                    "aliased": [], "objects": {}}]
    else:
        records = run_calls(fn, calls, observe)
    data = encode_results(grade_id, records)
    if len(data) > MAX_PAYLOAD:
        raise RuntimeError("the function's outputs are far larger than the check's inputs allow")
    display({RESULTS_MIME: {"grade_id": grade_id, "npz": base64.b64encode(data).decode("ascii")},
             "text/plain": f"outputs of {len(records)} calls recorded for grading"}, raw=True)


def _check_here(grade_id: str, fn, observe: dict) -> None:
    """Outside the grading sandbox (an instructor running the solutions): the learner's self-check,
    the same check run here. Advisory: it runs in the kernel it reports to and decides nothing."""
    try:
        from rnnkit.selfcheck import self_check
    except ImportError:
        raise RuntimeError("hidden tests run when the notebook is graded; rnnkit.grading is not installed here") \
            from None
    self_check(grade_id, fn, **observe)
