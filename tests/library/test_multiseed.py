"""rnnkit.multiseed against the single-model code path it batches.

Seed s of a MultiSeedRNN must compute what HiddenToHiddenRNN s computes alone: the same loss and
gradients (full and truncated BPTT), the same clipping, and after training the same parameters.
In float64 the two paths differ only in the order of floating-point sums (relative differences of
order 1e-16 per operation), so the tolerances below (1e-10 for one gradient, 1e-8 after a few
dozen Adam steps) are far above rounding and far below any real mistake: a wrong sign, a missing
term or seeds leaking into each other change results at order 1e-3 or more.
"""
import numpy as np
import pytest

import rnnkit as rk
from rnnkit.multiseed import MultiSeedRNN
from rnnkit.multiseed_training import clip_by_global_norm_per_seed, train_until_solved

CELLS = ["rnn", "relu", "lstm", "gru"]


def _models(cell, S=3, D=5, H=6, K=4, dtype=np.float64):
    return [rk.HiddenToHiddenRNN(D, H, K, rng=np.random.default_rng(100 + s), cell=cell, dtype=dtype)
            for s in range(S)]


def _data(rng, T=7, S=3, B=4, D=5, K=4):
    return rng.standard_normal((T, S, B, D)), rng.integers(0, K, size=(T, S, B))


@pytest.mark.parametrize("cell", CELLS)
def test_seed_s_has_the_loss_and_gradients_of_model_s_alone(rng, cell):
    models = _models(cell)
    stack = MultiSeedRNN.from_models(models)
    X, Y = _data(rng)
    losses, grads = stack.loss_and_grads(X, Y)
    assert set(grads) == set(models[0].params)
    for s, model in enumerate(models):
        loss, g = model.loss_and_grads(X[:, s], Y[:, s])
        assert losses[s] == pytest.approx(loss, rel=1e-12)
        for name in g:
            np.testing.assert_allclose(grads[name][s], g[name], rtol=1e-10, atol=1e-13,
                                       err_msg=f"{cell}: gradient {name} of seed {s}")


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("k", [1, 3, 7])
def test_truncation_matches_tbptt_loss_and_grads(rng, cell, k):
    models = _models(cell)
    stack = MultiSeedRNN.from_models(models)
    X, Y = _data(rng)
    losses, grads = stack.loss_and_grads(X, Y, truncation=k)
    for s, model in enumerate(models):
        loss, g = rk.tbptt_loss_and_grads(model, X[:, s], Y[:, s], k)
        assert losses[s] == pytest.approx(loss, rel=1e-12)
        for name in g:
            np.testing.assert_allclose(grads[name][s], g[name], rtol=1e-10, atol=1e-13)


def test_truncation_changes_the_gradient():
    # the test above could pass if truncation were ignored and tbptt were exact: it is not
    stack = MultiSeedRNN.from_models(_models("rnn"))
    X, Y = _data(np.random.default_rng(0))
    full = stack.loss_and_grads(X, Y)[1]["Ws"]
    cut = stack.loss_and_grads(X, Y, truncation=2)[1]["Ws"]
    assert np.abs(full - cut).max() > 1e-4 * np.abs(full).max()


@pytest.mark.parametrize("cell", CELLS)
def test_logits_and_model_of_one_seed(rng, cell):
    models = _models(cell)
    stack = MultiSeedRNN.from_models(models)
    X, _ = _data(rng)
    O = stack.logits(X)
    for s, model in enumerate(models):
        np.testing.assert_allclose(O[:, s], model.logits(X[:, s])[0], rtol=1e-12, atol=1e-14)
        back = stack.model(s)
        assert back.cell == cell and all(np.array_equal(back.params[k], model.params[k]) for k in model.params)


def test_seeds_do_not_mix(rng):
    # changing seed 1's weights must leave seeds 0 and 2 bit for bit unchanged
    stack = MultiSeedRNN.from_models(_models("lstm"))
    X, Y = _data(rng)
    before = stack.loss_and_grads(X, Y)
    stack.params["W"][1] *= 3.0
    after = stack.loss_and_grads(X, Y)
    for s in (0, 2):
        assert before[0][s] == after[0][s]
        assert all(np.array_equal(before[1][k][s], after[1][k][s]) for k in before[1])
    assert before[0][1] != after[0][1]


def test_clipping_per_seed_equals_clip_by_global_norm(rng):
    scale = np.array([0.01, 1.0, 10.0])                 # seed 0 below the limit, seed 2 far above
    grads = {"a": rng.standard_normal((3, 4, 5)) * scale[:, None, None], "b": rng.standard_normal((3, 5)) * scale[:, None]}
    clipped, norms = clip_by_global_norm_per_seed(grads, 1.0)
    for s in range(3):
        single, norm = rk.clip_by_global_norm({k: g[s] for k, g in grads.items()}, 1.0)
        assert norms[s] == pytest.approx(norm, rel=1e-12)
        for k in grads:
            np.testing.assert_allclose(clipped[k][s], single[k], rtol=1e-12)
    assert norms[0] < 1.0 and np.array_equal(clipped["a"][0], grads["a"][0])   # below the limit: unchanged


def _single_training(model, rng, steps, every, lr, task, truncation=None):
    """The chapters' single-model loop: batch, gradient, clip to norm 1, Adam; stop when solved."""
    optimizer = rk.Adam(lr)
    for step in range(1, steps + 1):
        X, Y = task(rng)
        if truncation is None:
            _, grads = model.loss_and_grads(X, Y)
        else:
            _, grads = rk.tbptt_loss_and_grads(model, X, Y, truncation)
        grads, _ = rk.clip_by_global_norm(grads, 1.0)
        optimizer.step(model.params, grads)
        if step % every == 0 and _solved(model):
            return step
    return None


def _solved(model):
    # a score that some seeds reach during the test run and others do not
    return float(np.abs(model.params["Wy"]).mean()) > 0.29


@pytest.mark.parametrize("cell, truncation", [("rnn", None), ("relu", None), ("lstm", None), ("gru", None),
                                              ("rnn", 3)])
def test_training_seed_s_equals_training_model_s_alone(cell, truncation):
    S, steps, every, lr = 4, 30, 5, 1e-2

    def task(rng):
        return rk.copy_task(rng, 8, length=1, delay=4, n_symbols=3)

    D, K = 5, 4
    singles = [rk.HiddenToHiddenRNN(D, 6, K, rng=np.random.default_rng(s), cell=cell) for s in range(S)]
    stack = MultiSeedRNN.from_models(singles)
    runs = train_until_solved(stack, [np.random.default_rng(s + 50) for s in range(S)], task,
                              lambda st: np.array([float(_solved(st.model(j))) for j in range(st.S)]),
                              steps=steps, every=every, lr=lr, truncation=truncation)
    solved = [_single_training(m, np.random.default_rng(s + 50), steps, every, lr, task, truncation)
              for s, m in enumerate(singles)]
    assert [r.solved_at for r in runs] == solved
    assert len(set(solved)) > 1, "the test should see seeds stop at different steps (or not at all)"
    for s, model in enumerate(singles):
        for k in model.params:
            np.testing.assert_allclose(stack.params[k][s], model.params[k], rtol=1e-8, atol=1e-10,
                                       err_msg=f"{cell}: parameter {k} of seed {s} after training")
        expected = (solved[s] or steps) // every
        assert len(runs[s].checkpoints) == expected and list(runs[s].checkpoints) == list(
            range(every, every * expected + 1, every))


def test_float32_training_stays_close_to_the_single_path():
    # float32, as in the chapters: the paths differ by rounding, which stays small over 20 steps
    def task(rng):
        return rk.copy_task(rng, 8, length=1, delay=4, n_symbols=3)

    singles = [rk.HiddenToHiddenRNN(5, 6, 4, rng=np.random.default_rng(s), dtype=np.float32) for s in range(2)]
    stack = MultiSeedRNN.from_models(singles)
    train_until_solved(stack, [np.random.default_rng(s) for s in range(2)], task, lambda st: np.zeros(st.S),
                       steps=20, every=10, lr=1e-2)
    for s, model in enumerate(singles):
        _single_training(model, np.random.default_rng(s), 20, 10, 1e-2, lambda r: tuple(
            a.astype(np.float32) if a.dtype.kind == "f" else a for a in task(r)))
        assert stack.params["Ws"].dtype == np.float32
        np.testing.assert_allclose(stack.params["Ws"][s], model.params["Ws"], atol=1e-4)


def test_per_seed_learning_rates():
    # seed 0 at lr a and seed 1 at lr b is the same as two stacks with one rate each
    def task(rng):
        return rk.copy_task(rng, 4, length=1, delay=3, n_symbols=3)

    both = MultiSeedRNN.from_models(_models("rnn", S=2, D=5, K=4))
    train_until_solved(both, [np.random.default_rng(s) for s in range(2)], task, lambda st: np.zeros(st.S),
                       steps=6, every=3, lr=[1e-2, 1e-3])
    for s, lr in enumerate((1e-2, 1e-3)):
        alone = MultiSeedRNN.from_models(_models("rnn", S=2, D=5, K=4)[s:s + 1])
        train_until_solved(alone, [np.random.default_rng(s)], task, lambda st: np.zeros(st.S),
                           steps=6, every=3, lr=lr)
        np.testing.assert_allclose(both.params["Ws"][s], alone.params["Ws"][0], rtol=1e-12)


@pytest.mark.parametrize("call, match", [
    (lambda st: st.loss_and_grads(np.zeros((5, 2, 4, 5)), np.zeros((5, 3, 4), int)), r"'X'.*\(T, S, B, D\).*S=3"),
    (lambda st: st.loss_and_grads(np.zeros((5, 3, 4, 2)), np.zeros((5, 3, 4), int)), r"'X'.*D=5"),
    (lambda st: st.loss_and_grads(np.zeros((5, 3, 4, 5)), np.zeros((5, 3), int)), r"'Y'.*\(T, S, B\)"),
    (lambda st: st.loss_and_grads(np.zeros((5, 3, 4, 5)), np.zeros((5, 3, 4), int), truncation=0), "truncation"),
    (lambda st: st.model(3), r"'s'.*S=3"),
    (lambda st: MultiSeedRNN({**st.params, "Ws": st.params["Ws"][:, :2]}, "rnn"), r"params\['Ws'\].*\(S, H, H\)"),
    (lambda st: MultiSeedRNN(st.params, "lstm"), "keys"),
    (lambda st: MultiSeedRNN(st.params, "elman"), "'cell'"),
    (lambda st: train_until_solved(st, [np.random.default_rng(0)], None, None, steps=1, every=1, lr=0.1), "'rngs'"),
    (lambda st: train_until_solved(st, [np.random.default_rng(s) for s in range(3)], None, None, steps=1,
                                   every=1, lr=[0.1, 0.1]), r"'lr'.*\(S,\)"),
    (lambda st: clip_by_global_norm_per_seed({"a": np.zeros((3, 2)), "b": np.zeros((2, 2))}, 1.0), "seed axis"),
])
def test_bad_input_gets_a_clear_error(call, match):
    stack = MultiSeedRNN.from_models(_models("rnn"))
    with pytest.raises(ValueError, match=match):
        call(stack)


def test_from_models_rejects_mixed_models():
    with pytest.raises(ValueError, match="model 1"):
        MultiSeedRNN.from_models([_models("rnn")[0], _models("gru")[0]])
