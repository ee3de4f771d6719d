"""Arguments the grader can ask for besides plain values (a transition, a recording generator, a model),
built in the kernel from plain data, and the encoding of a check's calls."""
from __future__ import annotations

from typing import Any

import numpy as np

from .encoding import copy_value, decode_value, encode_value, pack_payload, same_array, unpack_payload
from .oracle import Oracle


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
    data = {k: decode_value(v, arrays) for k, v in desc.get("data", {}).items()}
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
            return any(not same_array(np.asarray(model.params[k]), v) for k, v in start.items())
        except Exception:
            return True

    def loss_and_grads(*args, **kwargs):
        entry = None
        if len(calls) < MAX_WATCHED_CALLS:
            try:
                bound = signature.bind(*args, **kwargs).arguments if signature is not None else {}
                state0 = bound.get("state0")
                entry = {"state0": copy_value(state0) if isinstance(state0, (np.ndarray, tuple, list)) or
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


def record_object(obj) -> Any:
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
        oracle = record = budget = None
        if isinstance(call, dict) and "__call__" in call:
            call, oracle, record, budget = (call["__call__"], call.get("__oracle__"), call.get("__record__"),
                                            call.get("__budget__"))
        descs = []
        for a in call:
            if isinstance(a, dict) and "__special__" in a:
                descs.append({"special": a["__special__"],
                              "data": {k: encode_value(v, arrays) for k, v in a["data"].items()}})
            else:
                descs.append({"value": encode_value(a, arrays)})
        entry = {"args": descs}
        if oracle is not None:
            entry["oracle"] = {"helper": oracle["helper"], "table": encode_value(oracle["table"], arrays)}
            if "known" in oracle:
                entry["oracle"]["known"] = encode_value(oracle["known"], arrays)
        if record is not None:
            entry["record"] = str(record)
        if budget is not None:
            entry["budget"] = float(budget)
        structure.append(entry)
    return pack_payload(structure, arrays)


class _CallArgs(list):
    """The arguments of one call, the oracle it runs with, the helper it records and its time budget in
    seconds (if any)."""
    oracle = None
    record = None
    budget = None


def decode_calls(data: bytes) -> list[list]:
    """Argument lists for the learner's function (objects are built here, in the kernel)."""
    structure, arrays = unpack_payload(data)
    calls = []
    for entry in structure:
        args = _CallArgs(_build_special(d, arrays) if "special" in d else decode_value(d["value"], arrays)
                         for d in entry["args"])
        if "oracle" in entry:
            table = decode_value(entry["oracle"]["table"], arrays)
            known = decode_value(entry["oracle"]["known"], arrays) if "known" in entry["oracle"] else None
            args.oracle = (str(entry["oracle"]["helper"]), Oracle(table, known))
        if "record" in entry:
            args.record = str(entry["record"])
        if isinstance(entry.get("budget"), (int, float)) and entry["budget"] > 0:
            args.budget = float(entry["budget"])
        calls.append(args)
    return calls
