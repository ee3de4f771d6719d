"""Training several seeds of one recurrent model together, each stopped at its first success.

:func:`train_until_solved` trains a :class:`~rnnkit.multiseed.MultiSeedRNN` (the seeds of one
configuration stacked along a leading seed axis) with Adam and per-seed gradient clipping
(:func:`clip_by_global_norm_per_seed`), scores every seed at fixed checkpoints and takes a seed out
of the computation at its first perfect score. Each seed's record is a :class:`SeedRun`.

Dimension legend: S seeds, then as in :mod:`rnnkit.multiseed`. See chapter 6,
:doc:`/book/06-vanishing-exploding` ("The remedies on the copy task"), and chapter 8, :doc:`/book/08-lstm`.
"""
from __future__ import annotations

from typing import Callable, NamedTuple, Sequence

import numpy as np

from .multiseed import MultiSeedRNN
from .progress import progress

__all__ = ["SeedRun", "clip_by_global_norm_per_seed", "train_until_solved"]


def clip_by_global_norm_per_seed(grads: dict, max_norm: float):
    r"""Clip each seed's gradients to global norm at most ``max_norm``, independently.

    For seed ``s`` this is :func:`rnnkit.optim.clip_by_global_norm` applied to
    ``{name: g[s]}``: all of the seed's gradients are scaled by
    :math:`\min(1, \text{max\_norm} / \lVert g_s \rVert)`.

    Parameters
    ----------
    grads : dict of ndarray
        Each of shape (S, ...).
    max_norm : float

    Returns
    -------
    clipped : dict
        New arrays, same shapes.
    norms : ndarray, shape (S,)
        Each seed's global norm before clipping.
    """
    if not max_norm > 0:
        raise ValueError(f"clip_by_global_norm_per_seed: argument 'max_norm' must be positive, got {max_norm}")
    if not isinstance(grads, dict) or not grads:
        raise ValueError("clip_by_global_norm_per_seed: argument 'grads' must be a non-empty dict of "
                         "name -> ndarray of shape (S, ...)")
    S = {np.shape(g)[0] if np.ndim(g) else None for g in grads.values()}
    if len(S) != 1 or None in S:
        raise ValueError("clip_by_global_norm_per_seed: every gradient must have the same leading seed axis S; "
                         f"got shapes {[np.shape(g) for g in grads.values()]}")
    squares = sum(np.square(g).reshape(len(g), -1).sum(axis=1, dtype=np.float64) for g in grads.values())
    norms = np.sqrt(squares)
    with np.errstate(divide="ignore"):
        scale = np.where(norms > 0, np.minimum(1.0, max_norm / norms), 1.0)
    return {k: g * scale.astype(g.dtype).reshape((-1,) + (1,) * (g.ndim - 1)) for k, g in grads.items()}, norms


class SeedRun(NamedTuple):
    """The record of one seed in :func:`train_until_solved`."""
    checkpoints: np.ndarray    #: steps at which the seed was scored, (n,)
    scores: np.ndarray         #: its score at those steps, (n,)
    solved_at: int | None      #: the first checkpoint with a score reaching the target, or None


def train_until_solved(model: MultiSeedRNN, rngs: Sequence[np.random.Generator],
                       make_batch: Callable, score: Callable, *, steps: int, every: int, lr,
                       max_norm: float = 1.0, truncation: int | None = None, target: float = 1.0,
                       desc: str = "seeds") -> list[SeedRun]:
    """Train every seed of ``model`` with Adam and norm clipping until it is solved or ``steps`` run out.

    Seed ``s`` follows the protocol a single model would: at each step it draws its own batch
    ``make_batch(rngs[s])``, computes its loss gradient (full BPTT, or truncated), clips it to
    global norm ``max_norm`` and takes an Adam step (Kingma & Ba, 2015; the update of
    :class:`rnnkit.optim.Adam`, with its default betas and epsilon). Every ``every`` steps the
    seeds still training are scored; a seed whose score reaches ``target`` is taken out of the
    computation and keeps the parameters it had then. Seeds never mix: seed ``s`` ends with
    the parameters that training the single model ``model.model(s)`` with ``rngs[s]`` would give,
    up to floating-point rounding.

    Parameters
    ----------
    model : rnnkit.multiseed.MultiSeedRNN
        Trained in place: on return, ``model.params[...][s]`` are seed ``s``'s final parameters.
    rngs : sequence of S numpy.random.Generator
        One per seed; each seed's batches are drawn from its own generator.
    make_batch : callable
        ``make_batch(rng) -> (X, Y)`` with X (T, B, D) and integer Y (T, B).
    score : callable
        ``score(stack) -> scores``: given a :class:`~rnnkit.multiseed.MultiSeedRNN` of the random seeds still training,
        an array (S_active,) of scores, e.g. the recall accuracy on held-out data.
    steps, every : int
        Budget of training steps, and the interval between scorings.
    lr : float or array_like of shape (S,)
        Adam's learning rate, one for all seeds or one per seed.
    max_norm : float
        Clipping threshold for each seed's global gradient norm.
    truncation : int, optional
        Truncated BPTT with chunks of this length; ``None`` is full BPTT.
    target : float
        The score that counts as solved (default 1.0, a perfect score).
    desc : str
        Label of the progress bar (:mod:`rnnkit.progress`).

    Returns
    -------
    list of SeedRun
        One per seed, in the order of the stack.

    See chapter 6, :doc:`/book/06-vanishing-exploding`.
    """
    func = "train_until_solved"
    if not isinstance(model, MultiSeedRNN):
        raise ValueError(f"{func}: argument 'model' must be a MultiSeedRNN, got {type(model).__name__}")
    rngs = list(rngs)
    if len(rngs) != model.S or not all(isinstance(r, np.random.Generator) for r in rngs):
        raise ValueError(f"{func}: argument 'rngs' must hold one numpy.random.Generator per seed (S={model.S}), "
                         f"got {len(rngs)} item(s)")
    for name, n in (("steps", steps), ("every", every)):
        if not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"{func}: argument '{name}' must be a positive integer, got {n!r}")
    lrs = np.asarray(lr, dtype=np.float64)
    if lrs.ndim == 0:
        lrs = np.full(model.S, float(lrs))
    if lrs.shape != (model.S,) or not np.all(lrs > 0):
        raise ValueError(f"{func}: argument 'lr' must be a positive number or an array of shape (S,) with "
                         f"S={model.S}, got shape {lrs.shape}")
    beta1, beta2, eps = 0.9, 0.999, 1e-8           # rnnkit.optim.Adam's defaults
    dtype = model.dtype
    active = np.arange(model.S)
    params = {k: v.copy() for k, v in model.params.items()}
    moments = {k: (np.zeros_like(v), np.zeros_like(v)) for k, v in params.items()}
    checkpoints = [[] for _ in range(model.S)]
    scores = [[] for _ in range(model.S)]
    solved_at: list[int | None] = [None] * model.S

    def per_seed(values, like):
        return values.astype(dtype).reshape((-1,) + (1,) * (like.ndim - 1))

    stack = MultiSeedRNN(params, model.cell)       # the random seeds still training; updated in place below
    for step in progress(range(1, steps + 1), desc=desc, leave=False):
        batches = [make_batch(rngs[s]) for s in active]
        X = np.stack([np.asarray(x, dtype) for x, _ in batches], axis=1)
        Y = np.stack([y for _, y in batches], axis=1)
        _, grads = stack.loss_and_grads(X, Y, truncation=truncation)
        grads, _ = clip_by_global_norm_per_seed(grads, max_norm)
        for k, p in params.items():                # Adam, in the order of rnnkit.optim.Adam
            m, v = moments[k]
            g = grads[k]
            m *= beta1
            m += g * (1 - beta1)
            v *= beta2
            v += g * (1 - beta2) * g
            m_hat = m / (1 - beta1 ** step)
            v_hat = np.sqrt(v / (1 - beta2 ** step))
            v_hat += eps
            m_hat *= per_seed(lrs[active], p)
            m_hat /= v_hat
            p -= m_hat
        if step % every:
            continue
        now = np.asarray(score(stack), dtype=np.float64)
        if now.shape != (len(active),):
            raise ValueError(f"{func}: 'score' must return one score per seed still training, shape "
                             f"({len(active)},); got shape {now.shape}")
        for j, s in enumerate(active):
            checkpoints[s].append(step)
            scores[s].append(float(now[j]))
        done = now >= target
        if done.any():
            for k, p in params.items():
                model.params[k][active[done]] = p[done]
            for j in np.flatnonzero(done):
                solved_at[active[j]] = step
            keep = ~done
            active = active[keep]
            if not len(active):
                break
            params = {k: p[keep] for k, p in params.items()}
            moments = {k: (m[keep], v[keep]) for k, (m, v) in moments.items()}
            stack = MultiSeedRNN(params, model.cell)
    if len(active):
        for k, p in params.items():
            model.params[k][active] = p
    return [SeedRun(np.array(checkpoints[s], dtype=int), np.array(scores[s]), solved_at[s])
            for s in range(model.S)]
