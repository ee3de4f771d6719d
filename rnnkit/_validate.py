"""Input validation shared by every public function of :mod:`rnnkit`.

Errors name the function, the argument, the expected shape in dimension letters
(T time, B batch, D input, H hidden, K output) and the shape actually received,
so that a learner can fix a call without reading the library's source.
"""
from __future__ import annotations

import numpy as np

__all__ = ["check_array", "check_labels", "check_float_array"]


def _describe(dims: str, sizes: dict[str, int]) -> str:
    letters = dims.split()
    shape = "(" + ", ".join(letters) + ("," if len(letters) == 1 else "") + ")"
    known = [f"{d}={_expected_size(d, sizes)}" for d in letters
             if not d.isdigit() and _expected_size(d, sizes) is not None]
    return shape + (f" with {', '.join(known)}" if known else "")


def check_array(func: str, name: str, value, dims: str, sizes: dict[str, int] | None = None,
                *, finite: bool = True) -> np.ndarray:
    """Return ``value`` as a float ndarray after checking its rank, shape and values.

    Parameters
    ----------
    func, name : str
        Function and argument names, used in the error message.
    value : array_like
        The argument.
    dims : str
        Space-separated dimension letters, e.g. ``"T B D"``. A letter may be
        a compound such as ``"4H"`` or ``"H+D"``; compounds are checked
        against the sizes already bound.
    sizes : dict, optional
        Sizes already known (bound by earlier arguments). Letters seen for
        the first time are bound here, so that later arguments are checked
        against them. Modified in place.
    finite : bool
        Reject NaN and infinity.
    """
    if sizes is None:
        sizes = {}
    letters = dims.split()
    if value is None:
        raise ValueError(f"{func}: argument '{name}' is None; expected an array of shape {_describe(dims, sizes)}")
    arr = np.asarray(value)
    if arr.dtype.kind not in "f":
        raise ValueError(
            f"{func}: argument '{name}' must be a floating-point array (float32 or float64) "
            f"of shape {_describe(dims, sizes)}, got dtype {arr.dtype} and shape {arr.shape}")
    if arr.ndim != len(letters):
        raise ValueError(
            f"{func}: argument '{name}' must have {len(letters)} dimension(s), shape "
            f"{_describe(dims, sizes)}; got {arr.ndim} dimension(s), shape {arr.shape}")
    known = dict(sizes)  # describe the shape with what was fixed by earlier arguments only
    for axis, (letter, n) in enumerate(zip(letters, arr.shape)):
        expected = _expected_size(letter, sizes)
        if expected is None:
            _bind(func, name, letter, n, sizes)
        elif expected != n:
            raise ValueError(
                f"{func}: argument '{name}' must have shape {_describe(dims, known)}; "
                f"got shape {arr.shape} (axis {axis}, '{letter}', is {n}, expected {expected})")
    if finite and not _all_finite(arr):
        raise ValueError(f"{func}: argument '{name}' contains NaN or infinity (shape {arr.shape})")
    return arr


def _all_finite(arr: np.ndarray) -> bool:
    """True if no entry is NaN or ±inf.

    Large arrays are first summed: NaN and inf propagate through a sum, which needs
    no boolean temporary, so the common all-finite case costs one cheap pass. Only
    if the sum is not finite (a real NaN/inf, or an overflow of huge finite values)
    is the exact elementwise test run.
    """
    if arr.size > 4096:
        with np.errstate(over="ignore", invalid="ignore"):
            if np.isfinite(arr.sum()):
                return True
    return bool(np.all(np.isfinite(arr)))


def _expected_size(letter: str, sizes: dict[str, int]) -> int | None:
    """Size of a dimension letter; supports compounds like '4H' and 'H+D'."""
    if letter in sizes:
        return sizes[letter]
    if letter.isdigit():
        return int(letter)
    if "+" in letter:
        parts = [_expected_size(p, sizes) for p in letter.split("+")]
        return None if any(p is None for p in parts) else sum(parts)
    head = letter.rstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    if head and head.isdigit() and letter[len(head):] in sizes:
        return int(head) * sizes[letter[len(head):]]
    return None


def _bind(func: str, name: str, letter: str, n: int, sizes: dict[str, int]) -> None:
    """Bind a new dimension letter, solving compounds such as '4H' or 'H+D' for the unknown."""
    if "+" in letter:
        parts = letter.split("+")
        unknown = [p for p in parts if _expected_size(p, sizes) is None]
        if len(unknown) == 1:
            rest = sum(_expected_size(p, sizes) for p in parts if p not in unknown)
            if n - rest < 1:
                raise ValueError(f"{func}: argument '{name}' has a dimension '{letter}' of size {n}, "
                                 f"too small for the sizes already known ({sizes})")
            sizes[unknown[0]] = n - rest
        return
    head = letter.rstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    if head and head.isdigit():
        k = int(head)
        if n % k:
            raise ValueError(f"{func}: argument '{name}' has a dimension '{letter}' of size {n}, "
                             f"which is not a multiple of {k}")
        sizes[letter[len(head):]] = n // k
        return
    sizes[letter] = n


def check_float_array(func: str, name: str, value, *, finite: bool = True) -> np.ndarray:
    """Any-shape float array (used for parameter dictionaries)."""
    arr = np.asarray(value)
    if arr.dtype.kind != "f":
        raise ValueError(f"{func}: argument '{name}' must be a floating-point array, got dtype {arr.dtype}")
    if finite and not _all_finite(arr):
        raise ValueError(f"{func}: argument '{name}' contains NaN or infinity (shape {arr.shape})")
    return arr


def check_labels(func: str, name: str, value, dims: str, sizes: dict[str, int], num_classes: int) -> np.ndarray:
    """Integer class labels in ``[0, num_classes)`` with the given shape."""
    arr = np.asarray(value)
    letters = dims.split()
    if arr.dtype.kind not in "iu":
        raise ValueError(
            f"{func}: argument '{name}' must hold integer class labels of shape {_describe(dims, sizes)}, "
            f"got dtype {arr.dtype} and shape {arr.shape}")
    if arr.ndim != len(letters) or any(
            _expected_size(d, sizes) not in (None, n) for d, n in zip(letters, arr.shape)):
        raise ValueError(
            f"{func}: argument '{name}' must have shape {_describe(dims, sizes)}; got shape {arr.shape}")
    if arr.size and (arr.min() < 0 or arr.max() >= num_classes):
        raise ValueError(
            f"{func}: argument '{name}' must hold labels in [0, K) with K={num_classes}; "
            f"got values from {arr.min()} to {arr.max()}")
    return arr
