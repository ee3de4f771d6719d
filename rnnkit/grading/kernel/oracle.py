"""The oracle: correct helper results, readable only by a caller that passes the right inputs."""
from __future__ import annotations

import numpy as np

from .encoding import decode_value, encode_value, pack_payload, unpack_payload


def canonical_bytes(value, out: list, depth: int = 0) -> list:
    """Bytes that identify ``value`` exactly (dtype, shape and every bit of each array).

    Representation is not identity: an array is identified by its values in little-endian byte order
    and C layout, so the same numbers held big-endian, in Fortran order or as a strided view are the
    same argument (an honest loop that keeps its states in a ``'>f8'`` array still meets the oracle).
    """
    if depth > 6:
        out.append(b"?")
    elif isinstance(value, np.ndarray):
        little = value.dtype.newbyteorder("<")
        out += [b"A", little.str.encode(), repr(value.shape).encode(),
                np.ascontiguousarray(value, dtype=little).tobytes()]
    elif isinstance(value, (tuple, list)):
        out.append(b"(" if isinstance(value, tuple) else b"[")
        for v in value:
            canonical_bytes(v, out, depth + 1)
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
    ident = b"".join(canonical_bytes(tuple(inputs), []))
    arrays: dict[str, np.ndarray] = {}
    plain = np.frombuffer(pack_payload(encode_value(output, arrays), arrays), dtype=np.uint8)
    tag = np.frombuffer(hashlib.sha256(b"tag:" + ident).digest(), dtype=np.uint8)
    return tag, plain ^ _keystream(b"key:" + ident, plain.size)


def with_recorder(args: tuple, helper: str) -> dict:
    """A call of the learner's function during which their ``helper`` is recorded (its arguments and
    results), unchanged otherwise. A separate call, so that the learner's plain call runs with their own
    function object: a function that checks whether its helper was swapped behaves the same in both."""
    return {"__call__": tuple(args), "__record__": helper}


def with_budget(args: tuple, seconds: float) -> dict:
    """A plain call of the learner's function that must finish within ``seconds`` of CPU time: when the
    time is up, the call is interrupted (:class:`rnnkit.grading.kernel.TimeBudgetExceeded` is raised inside it)
    and recorded as that error. Used for the large case of a backward check, which an analytic backward
    pass finishes in milliseconds and numerical differentiation cannot finish at all. Advisory on the
    kernel's side (the learner can disarm it); the cell's time limit, enforced outside the kernel, is the
    hard bound, and the case is sized to exceed it too."""
    return {"__call__": tuple(args), "__budget__": float(seconds)}


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
    return np.frombuffer(hashlib.sha256(b"leaf:" + b"".join(canonical_bytes(value, []))).digest(), dtype=np.uint8)


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
        ident = b"".join(canonical_bytes(tuple(args) + tuple(kwargs[k] for k in sorted(kwargs)), []))
        box = self._boxes.get(hashlib.sha256(b"tag:" + ident).digest())
        if box is None:
            self.misses += 1
            if self.first_miss is None:
                leaves = _leaves(tuple(args) + tuple(kwargs[k] for k in sorted(kwargs)), [])
                self.first_miss = (self.calls, [self._known.get(leaf_tag(v).tobytes(), -1) for v in leaves])
            raise ValueError("this call of the step function has inputs a correct loop would not pass "
                             "(the step's arguments at this time step are not what they should be)")
        plain = box ^ _keystream(b"key:" + ident, box.size)
        structure, arrays = unpack_payload(plain.tobytes())
        return decode_value(structure, arrays)

    def record(self) -> dict:
        rec = {"calls": self.calls, "misses": self.misses}
        if self.first_miss is not None:
            rec["miss_call"] = self.first_miss[0]
            rec["miss_leaves"] = np.array(self.first_miss[1], dtype=np.int64)
        return rec
