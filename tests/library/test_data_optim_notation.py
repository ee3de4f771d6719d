import math

import numpy as np
import pytest

import rnnkit as rk


class TestTasks:
    def test_copy_task_layout(self, rng):
        X, Y = rk.copy_task(rng, 3, length=4, delay=6, n_symbols=5)
        assert X.shape == (14, 3, 7) and Y.shape == (14, 3)
        ids = X.argmax(-1)
        np.testing.assert_array_equal(Y[10:], ids[:4])          # the recall reproduces the symbols
        assert np.all(Y[:10] == 5) and np.all(ids[9] == 6)      # blanks, then the go marker
        np.testing.assert_array_equal(X.sum(-1), 1.0)

    def test_delayed_recall(self, rng):
        X, Y = rk.delayed_recall(rng, 2, 8, lag=3)
        np.testing.assert_array_equal(Y[3:], X.argmax(-1)[:5])
        assert np.all(Y[:3] == 4)
        with pytest.raises(ValueError, match="'lag' must be smaller than T"):
            rk.delayed_recall(rng, 2, 8, lag=8)

    def test_adding_problem(self, rng):
        X, y = rk.adding_problem(rng, 20, 50)
        assert np.all(X[:, :, 1].sum(0) == 2)
        assert np.all(X[:10, :, 1].sum(0) == 1)                 # one marker in each half
        np.testing.assert_allclose(y, (X[:, :, 0] * X[:, :, 1]).sum(0))


class TestShiftRight:
    def test_teacher_forcing_feeds_the_previous_target_and_nothing_first(self):
        Y = np.array([[3, 1], [0, 2], [2, 2]])                   # (T=3, B=2)
        fed = rk.shift_right(Y)
        np.testing.assert_array_equal(fed, [[-1, -1], [3, 1], [0, 2]])
        assert fed.dtype == Y.dtype and rk.NO_TOKEN == -1
        np.testing.assert_array_equal(Y, [[3, 1], [0, 2], [2, 2]])   # the targets are left as they were

    def test_matches_the_output_recurrent_models_teacher_feedback(self, rng):
        Y = rng.integers(0, 5, size=(7, 3))
        model = rk.OutputToHiddenRNN(2, 4, 5, rng=rng)
        np.testing.assert_array_equal(rk.shift_right(Y), model.teacher_feedback(Y))

    def test_previous_states_start_from_h0(self, rng):
        Hs = rng.standard_normal((4, 2, 3)).astype(np.float32)     # (T, B, H)
        h0 = rng.standard_normal((2, 3)).astype(np.float32)
        H_prev = rk.shift_right(Hs, fill=h0)
        assert H_prev.shape == Hs.shape and H_prev.dtype == np.float32
        np.testing.assert_array_equal(H_prev[0], h0)
        np.testing.assert_array_equal(H_prev[1:], Hs[:-1])

    def test_one_hot_inputs_start_with_a_zero_vector(self):
        fed = rk.shift_right(rk.one_hot(np.array([[1], [2]]), 3), fill=0.0)
        np.testing.assert_array_equal(fed, [[[0.0, 0.0, 0.0]], [[0.0, 1.0, 0.0]]])

    def test_a_single_step_receives_only_the_fill(self):
        np.testing.assert_array_equal(rk.shift_right(np.array([[4, 5]])), [[-1, -1]])
        assert rk.shift_right(np.zeros((0, 2), dtype=int)).shape == (0, 2)

    def test_bad_arguments_are_named(self):
        with pytest.raises(ValueError, match=r"'seq' must have a time axis, shape \(T, \.\.\.\)"):
            rk.shift_right(np.int64(3))
        with pytest.raises(ValueError, match=r"'fill' must be a scalar or of shape seq.shape\[1:\] = \(2, 3\); "
                                             r"got shape \(3, 2\)"):
            rk.shift_right(np.zeros((4, 2, 3)), fill=np.zeros((3, 2)))
        with pytest.raises(ValueError, match="'fill' must be an integer"):
            rk.shift_right(np.array([[1, 2]]), fill=-0.5)


class TestReber:
    def test_strings_are_embedded_reber(self, rng):
        g = rk.ReberGrammar()
        for _ in range(50):
            s = g.sample(rng)
            assert s[0] == "B" and s[-1] == "E" and s[1] == s[-2] and s[1] in "TP"
            assert s[2] == "B" and s[-3] == "E"

    def test_next_symbol_probs(self):
        g = rk.ReberGrammar()
        assert g.next_symbol_probs("") == {"B": 1.0}
        assert g.next_symbol_probs("B") == {"T": 0.5, "P": 0.5}
        assert g.next_symbol_probs("BTBTSSXXTVVE") == {"T": 1.0}   # the long-range dependency
        with pytest.raises(ValueError, match="impossible"):
            g.next_symbol_probs("BTBX")

    @pytest.mark.parametrize("embedded", [True, False])
    def test_oracle_nll_converges_to_entropy_rate(self, embedded, rng):
        """Law of large numbers: on 20 000 strings the empirical oracle NLL is within 1 % of the
        analytic rate (its standard error there is ~0.2 %)."""
        g = rk.ReberGrammar(embedded)
        text = g.stream(rng, 20000)
        assert g.oracle_nll(text) == pytest.approx(g.entropy_rate(), rel=0.01)

    def test_entropy_rate_of_plain_reber_by_hand(self):
        """Plain Reber: per string, choices at states 0..4 each cost log 2. Expected number of
        binary choices per string / expected length, computed by hand from the automaton:
        visits to each branching state are geometric; 2 + ... (checked against the Markov chain)."""
        g = rk.ReberGrammar(embedded=False)
        rng = np.random.default_rng(7)
        lengths, choices = [], []
        for _ in range(20000):
            s = g.sample(rng)
            lengths.append(len(s))
            choices.append(len(s) - 2)   # every symbol except B and E is a fair binary choice
        assert g.entropy_rate() == pytest.approx(math.log(2) * np.mean(choices) / np.mean(lengths), rel=0.01)


class TestText:
    def test_vocab_round_trip(self):
        v = rk.Vocab.from_text("hello world")
        assert len(v) == 8 and v.decode(v.encode("hello")) == "hello"
        with pytest.raises(ValueError, match="not in the vocabulary"):
            v.encode("hi!")

    def test_load_text_reads_a_local_file(self, tmp_path):
        p = tmp_path / "corpus.txt"
        p.write_bytes("line one\r\nline two ünïcode\n".encode("utf-8"))
        assert rk.load_text(p) == "line one\nline two ünïcode\n"
        with pytest.raises(FileNotFoundError, match="no such file"):
            rk.load_text(tmp_path / "missing.txt")
        (tmp_path / "bad.txt").write_bytes(b"\xff\xfe\xfa")
        with pytest.raises(ValueError, match="not valid utf-8"):
            rk.load_text(tmp_path / "bad.txt")
        (tmp_path / "empty.txt").write_text("")
        with pytest.raises(ValueError, match="empty"):
            rk.load_text(tmp_path / "empty.txt")

    def test_lm_batches_are_contiguous_streams(self):
        ids = np.arange(101)
        batches = rk.lm_batches(ids, B=4, T=5)
        assert len(batches) == 5 and batches[0][0].shape == (5, 4)
        for inputs, targets in batches:
            np.testing.assert_array_equal(targets, inputs + 1)
        np.testing.assert_array_equal(batches[1][0][0], batches[0][0][-1] + 1)   # window j+1 follows j


class TestSampling:
    def test_temperature(self, rng):
        logits = np.log(np.array([[0.7, 0.2, 0.1]]))
        draws = np.array([rk.sample_from_logits(logits, rng=rng)[0] for _ in range(4000)])
        freq = np.bincount(draws, minlength=3) / 4000
        # binomial standard error at n=4000 is <= 0.008; 4 sigma
        np.testing.assert_allclose(freq, [0.7, 0.2, 0.1], atol=0.032)
        assert np.all(rk.sample_from_logits(np.repeat(logits, 5, 0), temperature=0, rng=rng) == 0)
        cold = np.array([rk.sample_from_logits(logits, temperature=0.2, rng=rng)[0] for _ in range(500)])
        assert np.mean(cold == 0) > 0.98          # p(0) ∝ 0.7^5 -> 0.9959

    def test_generate_text(self, rng):
        v = rk.Vocab("ab")
        m = rk.HiddenToHiddenRNN(2, 4, 2, rng=rng)
        out = rk.generate_text(m, v, "ab", 10, rng=rng)
        assert out.startswith("ab") and len(out) == 12 and set(out) <= {"a", "b"}


class TestOptim:
    def test_clip_by_global_norm_keeps_direction(self, rng):
        g = {"a": rng.standard_normal(5), "b": rng.standard_normal((2, 2))}
        clipped, norm = rk.clip_by_global_norm(g, 0.5)
        assert norm == pytest.approx(np.sqrt(sum((v ** 2).sum() for v in g.values())))
        assert rk.global_norm(clipped) == pytest.approx(0.5)
        for k in g:
            np.testing.assert_allclose(clipped[k] * norm / 0.5, g[k])
        same, _ = rk.clip_by_global_norm(g, 1e6)
        for k in g:
            np.testing.assert_array_equal(same[k], g[k])

    def test_clip_by_value(self):
        out = rk.clip_by_value({"a": np.array([-3.0, 0.5, 9.0])}, 1.0)
        np.testing.assert_array_equal(out["a"], [-1.0, 0.5, 1.0])

    @pytest.mark.parametrize("make", [lambda: rk.SGD(0.1), lambda: rk.SGD(0.05, momentum=0.9),
                                      lambda: rk.Adagrad(0.5), lambda: rk.Adam(0.1)])
    def test_optimizers_minimise_a_quadratic(self, make):
        target = np.array([1.0, -2.0, 3.0])
        params = {"w": np.zeros(3)}
        opt = make()
        for _ in range(500):
            opt.step(params, {"w": 2 * (params["w"] - target)})
        np.testing.assert_allclose(params["w"], target, atol=1e-2)

    def test_sgd_step_exact(self):
        params = {"w": np.array([1.0, 2.0])}
        rk.SGD(0.1).step(params, {"w": np.array([10.0, -10.0])})
        np.testing.assert_allclose(params["w"], [0.0, 3.0])

    def test_mismatched_keys(self):
        with pytest.raises(ValueError, match="same keys"):
            rk.SGD(0.1).step({"w": np.zeros(2)}, {"v": np.zeros(2)})


class TestNotation:
    def test_goodfellow_round_trip(self, rng):
        p = dict(U=rng.standard_normal((4, 3)), W=rng.standard_normal((4, 4)), V=rng.standard_normal((2, 4)),
                 b=rng.standard_normal(4), c=rng.standard_normal(2))
        ours = rk.goodfellow_to_rnnkit(**p)
        assert set(ours) == {"Wx", "Ws", "Wy", "b", "c"}
        back = rk.rnnkit_to_goodfellow(ours)
        for k in p:
            np.testing.assert_array_equal(back[k], p[k])

    def test_lstm_adapter_reorders_gates(self):
        H, D = 2, 3
        W = np.repeat(np.arange(4.0), H)[:, None] * np.ones((4 * H, H + D))   # block k filled with k
        sd = rk.lstm_to_torch(W, np.repeat(np.arange(4.0), H))
        # rnnkit blocks (i, f, o, g) = (0, 1, 2, 3); torch order (i, f, g, o) = (0, 1, 3, 2)
        np.testing.assert_array_equal(sd["weight_ih_l0"][:, 0], np.repeat([0.0, 1.0, 3.0, 2.0], H))
        assert sd["weight_ih_l0"].shape == (4 * H, D) and sd["weight_hh_l0"].shape == (4 * H, H)
        W2, b2 = rk.lstm_from_torch(sd)
        np.testing.assert_array_equal(W2, W)

    def test_name_table_covers_the_weights(self):
        names = {row[3] for row in rk.NAME_TABLE}
        assert {"Wx", "Ws", "Wy", "b", "c"} <= names
