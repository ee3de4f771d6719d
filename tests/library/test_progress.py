"""rnnkit.progress: a bar when tqdm is there and wanted, the plain iterable otherwise."""
from __future__ import annotations

import sys

from rnnkit import progress as P


def test_disabled_by_environment_returns_the_iterable(monkeypatch):
    monkeypatch.setenv("RNNKIT_PROGRESS", "0")
    r = range(5)
    assert P.progress(r, desc="x") is r and not P.enabled()


def test_without_tqdm_returns_the_iterable(monkeypatch):
    monkeypatch.delenv("RNNKIT_PROGRESS", raising=False)
    monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm now raises ImportError
    r = [1, 2, 3]
    assert P.progress(r) is r and not P.enabled()


def test_with_tqdm_wraps_and_yields_everything(monkeypatch, capsys):
    monkeypatch.delenv("RNNKIT_PROGRESS", raising=False)
    bar = P.progress(range(4), desc="steps")
    assert bar is not None and not isinstance(bar, range)
    assert list(bar) == [0, 1, 2, 3]
    assert "steps" in capsys.readouterr().err
