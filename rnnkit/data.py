r"""Data the course uses: synthetic sequence tasks, a probabilistic grammar, characters and text.

Everything is generated from an explicit ``rng`` or read from a local file;
nothing is downloaded. The one text corpus, :func:`load_corpus`, ships inside the
package (``rnnkit/corpus/``): prose written for the course, with a fixed
train/validation/test split and a licence note in ``rnnkit/corpus/README.md``.

See chapter 6, :doc:`/book/06-vanishing-exploding` (long-range tasks),
chapter 7, :doc:`/book/07-teacher-forcing` (the fed tokens, :func:`shift_right`) and
chapter 9, :doc:`/book/09-char-lm` (grammar, characters, text).
"""
from __future__ import annotations

import hashlib
import math
from importlib import resources
from pathlib import Path

import numpy as np

__all__ = ["NO_TOKEN", "shift_right", "one_hot", "copy_task", "delayed_recall", "adding_problem", "ReberGrammar", "Vocab", "load_text",
           "lm_batches", "CORPUS_PARTS", "load_corpus"]


def _positive_int(func: str, name: str, n, minimum: int = 1) -> int:
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < minimum:
        raise ValueError(f"{func}: argument '{name}' must be an integer >= {minimum}, got {n!r}")
    return int(n)


#: The token id fed where there is no previous token (the first step under teacher forcing).
#: No class has it: class ids are ``0..K-1``.
NO_TOKEN = -1


def shift_right(seq, fill=NO_TOKEN) -> np.ndarray:
    r"""``seq`` delayed by one time step: ``out[0] = fill`` and ``out[t] = seq[t - 1]``.

    Under teacher forcing, step :math:`t` is fed the target of step :math:`t-1` and the first
    step is fed nothing: ``shift_right(Y)`` gives those fed tokens, :data:`NO_TOKEN` (-1) first.
    The same delay gives the previous state of every step, ``shift_right(Hs, fill=h0)``
    (:math:`h^{(t-1)}` for :math:`t = 1..T`), or one-hot inputs with a zero vector first,
    ``shift_right(one_hot(Y, K), fill=0.0)``. The last entry of ``seq`` is dropped.

    Parameters
    ----------
    seq : array_like, shape (T, ...)
        A time-major sequence: time on axis 0, e.g. targets (T, B) or states (T, B, H).
    fill : scalar or array_like, shape seq.shape[1:]
        What step 0 receives (broadcast over the other axes). For an integer ``seq`` it must be
        an integer, so that it is stored exactly.

    Returns
    -------
    ndarray, shape (T, ...)
        A new array with the dtype of ``seq``; ``seq`` itself is not modified.

    Raises
    ------
    ValueError
        If ``seq`` has no time axis (a scalar), if ``fill`` does not broadcast to
        ``seq.shape[1:]``, or if ``fill`` is not an integer while ``seq`` is.

    Examples
    --------
    >>> shift_right(np.array([[3, 1], [0, 2], [2, 2]]))
    array([[-1, -1],
           [ 3,  1],
           [ 0,  2]])

    See chapter 7, :doc:`/book/07-teacher-forcing`.
    """
    seq = np.asarray(seq)
    if seq.ndim == 0:
        raise ValueError(f"shift_right: argument 'seq' must have a time axis, shape (T, ...); got a scalar {seq!r}")
    fill = np.asarray(fill)
    step_shape = seq.shape[1:]
    try:
        np.broadcast_to(fill, step_shape)
    except ValueError:
        raise ValueError(f"shift_right: argument 'fill' must be a scalar or of shape seq.shape[1:] = {step_shape}; "
                         f"got shape {fill.shape}") from None
    if seq.dtype.kind in "iu" and fill.dtype.kind not in "iu":
        raise ValueError(f"shift_right: argument 'fill' must be an integer for the integer sequence 'seq' "
                         f"(dtype {seq.dtype}); got {fill.dtype} {fill.tolist()!r}")
    out = np.empty_like(seq)
    if len(seq):
        out[0] = fill
        out[1:] = seq[:-1]
    return out


def one_hot(ids, K: int, dtype=np.float64) -> np.ndarray:
    """One-hot encode integer ids.

    Parameters
    ----------
    ids : array_like of int, any shape S
    K : int
        Number of classes; ids must lie in ``[0, K)``.

    Returns
    -------
    ndarray, shape S + (K,)
    """
    ids = np.asarray(ids)
    K = _positive_int("one_hot", "K", K)
    if ids.dtype.kind not in "iu":
        raise ValueError(f"one_hot: argument 'ids' must be integers, got dtype {ids.dtype}")
    if ids.size and (ids.min() < 0 or ids.max() >= K):
        raise ValueError(f"one_hot: argument 'ids' must lie in [0, K) with K={K}; got {ids.min()}..{ids.max()}")
    return np.eye(K, dtype=dtype)[ids]


def copy_task(rng: np.random.Generator, B: int, *, length: int = 5, delay: int = 10, n_symbols: int = 4):
    """The copy task: remember ``length`` symbols across ``delay`` blank steps, then reproduce them.

    Input classes: symbols ``0..n_symbols-1``, blank ``n_symbols``, go marker
    ``n_symbols + 1``. The input shows the symbols, then blanks with the go
    marker on the last blank before recall; the target is blank (class
    ``n_symbols``) until recall, then the symbols in order.

    Returns
    -------
    X : ndarray, shape (T, B, n_symbols + 2), one-hot, with T = 2 * length + delay
    Y : ndarray of int, shape (T, B), classes in ``[0, n_symbols]``
    """
    B = _positive_int("copy_task", "B", B)
    length = _positive_int("copy_task", "length", length)
    delay = _positive_int("copy_task", "delay", delay)
    n_symbols = _positive_int("copy_task", "n_symbols", n_symbols)
    T = 2 * length + delay
    blank, go = n_symbols, n_symbols + 1
    symbols = rng.integers(0, n_symbols, size=(length, B))
    inputs = np.full((T, B), blank)
    inputs[:length] = symbols
    inputs[length + delay - 1] = go
    targets = np.full((T, B), blank)
    targets[length + delay:] = symbols
    return one_hot(inputs, n_symbols + 2), targets


def delayed_recall(rng: np.random.Generator, B: int, T: int, lag: int, n_symbols: int = 4):
    """Output now the symbol seen ``lag`` steps ago: ``y_t = x_{t-lag}``.

    Returns
    -------
    X : ndarray, shape (T, B, n_symbols), one-hot random symbols
    Y : ndarray of int, shape (T, B); class ``n_symbols`` ("nothing yet") for ``t < lag``
    """
    B, T = _positive_int("delayed_recall", "B", B), _positive_int("delayed_recall", "T", T)
    lag = _positive_int("delayed_recall", "lag", lag, minimum=0)
    if lag >= T:
        raise ValueError(f"delayed_recall: argument 'lag' must be smaller than T={T}, got {lag}")
    ids = rng.integers(0, n_symbols, size=(T, B))
    Y = np.full((T, B), n_symbols)
    Y[lag:] = ids[:T - lag]
    return one_hot(ids, n_symbols), Y


def adding_problem(rng: np.random.Generator, T: int, B: int):
    """The adding problem (Hochreiter & Schmidhuber, 1997): add the two marked numbers.

    Channel 0 holds uniform numbers in [0, 1); channel 1 marks one position in
    the first half and one in the second half. The target is the sum of the two
    marked numbers; predicting the mean (1.0) gives a mean squared error of 1/6.

    Returns
    -------
    X : ndarray, shape (T, B, 2)
    y : ndarray, shape (B,)
    """
    T, B = _positive_int("adding_problem", "T", T, minimum=2), _positive_int("adding_problem", "B", B)
    X = np.zeros((T, B, 2))
    X[:, :, 0] = rng.random((T, B))
    half = T // 2
    first = rng.integers(0, half, size=B)
    second = rng.integers(half, T, size=B)
    cols = np.arange(B)
    X[first, cols, 1] = 1.0
    X[second, cols, 1] = 1.0
    return X, X[first, cols, 0] + X[second, cols, 0]


class ReberGrammar:
    """The (embedded) Reber grammar: a finite automaton whose arcs are chosen with equal probability.

    Every state has one or two outgoing arcs with distinct symbols, so the
    state is a function of the prefix and the true next-symbol distribution is
    known exactly. That gives the best loss any language model can reach:
    :meth:`oracle_nll` on a given text, :meth:`entropy_rate` in expectation.

    Parameters
    ----------
    embedded : bool
        The embedded version wraps a Reber string as ``B T <reber> T E`` or
        ``B P <reber> P E``; predicting the second T/P requires remembering the
        first across the whole inner string — a long-range dependency.
    """

    _INNER = {0: (("T", 1), ("P", 2)), 1: (("S", 1), ("X", 3)), 2: (("T", 2), ("V", 4)),
              3: (("X", 2), ("S", 5)), 4: (("P", 3), ("V", 5))}

    def __init__(self, embedded: bool = True):
        self.embedded = embedded
        arcs: dict = {}

        def add_inner(prefix, start, end):
            # inner Reber string "B ... E" from `start` to `end`
            arcs[start] = (("B", (prefix, 0)),)
            for s, out in self._INNER.items():
                arcs[(prefix, s)] = tuple((sym, (prefix, t)) for sym, t in out)
            arcs[(prefix, 5)] = (("E", end),)

        if embedded:
            arcs["start"] = (("B", "branch"),)
            arcs["branch"] = (("T", ("T", "in")), ("P", ("P", "in")))
            for sym in "TP":
                add_inner(sym, (sym, "in"), (sym, "out"))
                arcs[(sym, "out")] = ((sym, (sym, "close")),)
                arcs[(sym, "close")] = (("E", "start"),)
        else:
            add_inner("r", "start", "start")
        self.arcs = arcs
        self.symbols = "".join(sorted({sym for out in arcs.values() for sym, _ in out}))

    def sample(self, rng: np.random.Generator) -> str:
        """One string of the grammar, e.g. ``'BTBTSSXXTVVETE'``."""
        state, out = "start", []
        while True:
            choices = self.arcs[state]
            sym, state = choices[rng.integers(len(choices))] if len(choices) > 1 else choices[0]
            out.append(sym)
            if state == "start":
                return "".join(out)

    def stream(self, rng: np.random.Generator, n_strings: int) -> str:
        """``n_strings`` strings concatenated (each starts with B and ends with E)."""
        n_strings = _positive_int("ReberGrammar.stream", "n_strings", n_strings)
        return "".join(self.sample(rng) for _ in range(n_strings))

    def _walk(self, text: str):
        """Yield (state before symbol, symbol) along ``text``, checking it is grammatical."""
        state = "start"
        for pos, sym in enumerate(text):
            nxt = dict(self.arcs[state])
            if sym not in nxt:
                raise ValueError(f"ReberGrammar: symbol {sym!r} at position {pos} is impossible after "
                                 f"{text[:pos][-12:]!r} (allowed: {sorted(nxt)})")
            yield state, sym
            state = nxt[sym]

    def next_symbol_probs(self, prefix: str) -> dict:
        """True distribution of the next symbol after ``prefix`` (a prefix of a stream)."""
        state = "start"
        for state, sym in self._walk(prefix):
            pass
        if prefix:
            state = dict(self.arcs[state])[prefix[-1]]
        out = self.arcs[state]
        return {sym: 1.0 / len(out) for sym, _ in out}

    def oracle_nll(self, text: str) -> float:
        """Mean NLL (nats) of the true grammar on the targets a language model sees.

        The targets are ``text[1:]``, each predicted from its prefix — the same
        targets as a character model trained on ``text``. ``text`` must be a
        stream starting at the beginning of a string.
        """
        if len(text) < 2:
            raise ValueError("ReberGrammar.oracle_nll: argument 'text' needs at least 2 symbols")
        nll = [math.log(len(self.arcs[state])) for state, _ in self._walk(text)]
        return float(np.mean(nll[1:]))

    def entropy_rate(self) -> float:
        r"""Expected NLL per symbol (nats) of the best possible model on a long stream.

        :math:`\sum_s \pi(s) \log n_s`, with :math:`\pi` the stationary distribution of
        the automaton's state chain and :math:`n_s` the number of (equally likely)
        arcs leaving state :math:`s`.
        """
        states = list(self.arcs)
        index = {s: i for i, s in enumerate(states)}
        n = len(states)
        P = np.zeros((n, n))
        for s, out in self.arcs.items():
            for _, t in out:
                P[index[s], index[t]] += 1.0 / len(out)
        # stationary distribution: pi (P - I) = 0 with sum(pi) = 1
        A = np.vstack([(P - np.eye(n)).T, np.ones(n)])
        rhs = np.zeros(n + 1)
        rhs[-1] = 1.0
        pi = np.linalg.lstsq(A, rhs, rcond=None)[0]
        return float(sum(pi[index[s]] * math.log(len(out)) for s, out in self.arcs.items()))


class Vocab:
    """A character vocabulary: characters ⇄ integer ids.

    Parameters
    ----------
    chars : iterable of str
        The distinct characters, in id order.
    """

    def __init__(self, chars):
        self.chars = "".join(chars)
        if len(set(self.chars)) != len(self.chars) or not self.chars:
            raise ValueError("Vocab: argument 'chars' must be a non-empty sequence of distinct characters")
        self.index = {ch: i for i, ch in enumerate(self.chars)}

    @classmethod
    def from_text(cls, text: str) -> "Vocab":
        """Vocabulary of the distinct characters in ``text``, sorted."""
        if not text:
            raise ValueError("Vocab.from_text: argument 'text' is empty")
        return cls(sorted(set(text)))

    def __len__(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> np.ndarray:
        """Ids (N,) int64 of the characters of ``text``."""
        try:
            return np.fromiter((self.index[ch] for ch in text), dtype=np.int64, count=len(text))
        except KeyError as err:
            raise ValueError(f"Vocab.encode: character {err.args[0]!r} is not in the vocabulary") from None

    def decode(self, ids) -> str:
        """The string for a sequence of ids."""
        ids = np.asarray(ids)
        if ids.size and (ids.min() < 0 or ids.max() >= len(self)):
            raise ValueError(f"Vocab.decode: ids must lie in [0, {len(self)}), got {ids.min()}..{ids.max()}")
        return "".join(self.chars[i] for i in ids.reshape(-1))


def load_text(path, encoding: str = "utf-8") -> str:
    """Read a local text file for a character model (newlines normalised to ``\\n``).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file cannot be decoded with ``encoding`` or is empty.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"load_text: no such file: {path}")
    try:
        text = path.read_text(encoding=encoding)
    except UnicodeDecodeError as err:
        raise ValueError(f"load_text: {path} is not valid {encoding} text ({err.reason} at byte {err.start})") from None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text:
        raise ValueError(f"load_text: {path} is empty")
    return text


def lm_batches(ids, B: int, T: int):
    """Cut a long id sequence into B parallel streams and windows of T steps.

    Stream ``b`` is the ``b``-th contiguous slice of ``ids``; window ``j`` of every
    stream directly follows window ``j - 1``, so the state at the end of one
    batch is the right initial state for the next.

    Parameters
    ----------
    ids : ndarray of int, shape (N,)
    B, T : int

    Returns
    -------
    list of (inputs, targets), each ndarray of int, shape (T, B);
    ``targets`` is ``inputs`` shifted one character ahead.
    """
    ids = np.asarray(ids)
    B, T = _positive_int("lm_batches", "B", B), _positive_int("lm_batches", "T", T)
    if ids.ndim != 1 or ids.dtype.kind not in "iu":
        raise ValueError(f"lm_batches: argument 'ids' must be a 1-D integer array (N,), got {ids.dtype} {ids.shape}")
    L = (ids.size - 1) // B
    if L < T:
        raise ValueError(f"lm_batches: {ids.size} ids are too few for B={B} streams of at least T={T}+1 ids")
    inputs = np.stack([ids[b * L:b * L + L] for b in range(B)], axis=1)        # (L, B)
    targets = np.stack([ids[b * L + 1:b * L + L + 1] for b in range(B)], axis=1)
    return [(inputs[s:s + T], targets[s:s + T]) for s in range(0, L - T + 1, T)]


#: The parts of the course corpus and the SHA-256 of each file. The split is fixed by file, not
#: by a fraction of a concatenation, so results on "valid" and "test" do not drift when other
#: text changes; any edit of a corpus file changes its digest and is refused by load_corpus.
CORPUS_PARTS = {
    "train": "1d7513787f4ccddfc6d619d3b56f21be8a9cc4b1534a975c19e24b035b61d434",
    "valid": "5c2ed7dd5c1d49b6f431515f69c6a5c89c4b320aa603c6731106be44e3af2bef",
    "test": "695ab1c230dd22b5187282cf05064818f9895846efdbe37daf63ffe401e9d42c",
}


def load_corpus(part: str) -> str:
    """One part of the course corpus: English prose written for this course (CC BY 4.0).

    Fifteen short pieces (stories, letters, essays, fables, instructions) make up the
    training part; the validation and test parts are further pieces of the same kinds,
    never seen in training. All three are plain ASCII. The corpus is described, with its
    licence, in ``rnnkit/corpus/README.md``; it is not the book's own text. See chapter 9,
    :doc:`/book/09-char-lm`.

    Parameters
    ----------
    part : {"train", "valid", "test"}

    Returns
    -------
    str
        The text, lines separated by ``\\n``; ``train`` has about 74,000 characters, ``valid`` and
        ``test`` about 6,000 each.

    Raises
    ------
    ValueError
        For an unknown part, or if the file's SHA-256 differs from :data:`CORPUS_PARTS`
        (the file was edited: the numbers chapter 9 asserts would no longer hold).
    """
    if part not in CORPUS_PARTS:
        raise ValueError(f"load_corpus: argument 'part' must be one of {sorted(CORPUS_PARTS)}, got {part!r}")
    data = resources.files("rnnkit").joinpath("corpus").joinpath(f"{part}.txt").read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != CORPUS_PARTS[part]:
        raise ValueError(f"load_corpus: rnnkit/corpus/{part}.txt has been modified (SHA-256 {digest[:12]}..., "
                         f"expected {CORPUS_PARTS[part][:12]}...); restore it or update CORPUS_PARTS")
    return data.decode("ascii")
