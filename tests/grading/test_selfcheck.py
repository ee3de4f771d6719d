"""rnnkit.selfcheck: the learner's advisory run of a hidden test, and the seed that replays a grading run.

A failure's feedback ends with "(Grading seed N.)"; ``self_check(grade_id, fn, seed=N)`` must check the
function on the very cases that run drew, so the learner sees the same message (sizes, errors, cause).
"""
from __future__ import annotations

import re

import numpy as np
import pytest

from rnnkit.grading import registry
from rnnkit.grading.engine import wrap
from rnnkit.selfcheck import CheckFailed, self_check


def rnn_step_forward_without_bias(x, h_prev, Wx, Ws, b):
    """A learner's step that forgets the bias: its message names the case's sizes and its largest error."""
    h = np.tanh(x @ Wx.T + h_prev @ Ws.T)
    return h, (x, h_prev, h, Wx, Ws)


def rnn_step_forward(x, h_prev, Wx, Ws, b):
    h = np.tanh(x @ Wx.T + h_prev @ Ws.T + b)
    return h, (x, h_prev, h, Wx, Ws)


def _printed_verdict(capsys) -> tuple[str, int]:
    out = capsys.readouterr().out
    verdict, seed_line = out.rstrip("\n").rsplit("\n", 1)
    return verdict, int(re.search(r"seed (\d+);", seed_line).group(1))


@pytest.mark.parametrize("grading_rng", [0, 1, 2])
def test_the_grading_seed_of_a_failure_replays_its_message(grading_rng, capsys):
    check = registry.find_check("test_rnn_step_forward")
    graded = check.grade(rnn_step_forward_without_bias, rng=np.random.default_rng(grading_rng))
    assert not graded.passed
    message, seed_line = graded.message.rsplit("\n", 1)
    seed = int(re.fullmatch(r"\(Grading seed (\d+)\.\)", seed_line).group(1))
    with pytest.raises(CheckFailed, match="fails the check of test_rnn_step_forward"):
        self_check("test_rnn_step_forward", rnn_step_forward_without_bias, seed=seed)
    printed, printed_seed = _printed_verdict(capsys)
    assert printed_seed == seed
    assert printed == "WRONG - " + wrap(message)
    assert "(Checked on fresh inputs: T=" in printed  # the sizes, which differ from one seed to the next


def test_two_seeds_give_two_messages(capsys):
    """The replay above is not vacuous: the message depends on the seed (sizes and errors)."""
    messages = []
    for seed in (11, 12):
        with pytest.raises(CheckFailed):
            self_check("test_rnn_step_forward", rnn_step_forward_without_bias, seed=seed)
        messages.append(_printed_verdict(capsys)[0])
    assert messages[0] != messages[1]


def test_a_self_check_prints_the_seed_that_repeats_it(capsys):
    with pytest.raises(CheckFailed):
        self_check("test_rnn_step_forward", rnn_step_forward_without_bias)
    first, seed = _printed_verdict(capsys)
    with pytest.raises(CheckFailed):
        self_check("test_rnn_step_forward", rnn_step_forward_without_bias, seed=seed)
    assert _printed_verdict(capsys) == (first, seed)
    assert self_check("test_rnn_step_forward", rnn_step_forward, seed=seed) is True
    assert capsys.readouterr().out.startswith("right - ")
