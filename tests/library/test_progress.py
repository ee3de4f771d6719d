"""rnnkit.progress: a widget bar in a Jupyter kernel with ipywidgets, a text bar on stdout elsewhere,
the plain iterable when tqdm is missing or bars are switched off; never stderr, never a warning.

The same choices in a real kernel (nbclient) are checked in tests/course/test_a7_finale.py."""
from __future__ import annotations

import sys
import types
import warnings

import pytest

from rnnkit import progress as P


@pytest.fixture
def bars_on(monkeypatch):
    monkeypatch.delenv("RNNKIT_PROGRESS", raising=False)


def test_disabled_by_environment_returns_the_iterable(monkeypatch):
    monkeypatch.setenv("RNNKIT_PROGRESS", "0")
    r = range(5)
    assert P.progress(r, desc="x") is r and not P.enabled() and P.display() == "none"


def test_without_tqdm_returns_the_iterable(bars_on, monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm now raises ImportError
    r = [1, 2, 3]
    assert P.progress(r) is r and not P.enabled() and P.display() == "none"


def test_outside_a_kernel_a_text_bar_on_stdout_and_nothing_on_stderr(bars_on, capsys):
    assert P.display() == "text"
    with warnings.catch_warnings():
        warnings.simplefilter("error")              # any warning (e.g. tqdm's TqdmWarning) fails the test
        bar = P.progress(range(4), desc="steps")
        assert bar is not None and not isinstance(bar, range)
        assert list(bar) == [0, 1, 2, 3]
    out, err = capsys.readouterr()
    assert "steps" in out and "4/4" in out, out
    assert err == ""


def test_in_a_kernel_without_ipywidgets_a_text_bar_and_no_warning(bars_on, monkeypatch, capsys):
    # tqdm.auto would warn "IProgress not found" here and draw on stderr
    monkeypatch.setattr(P, "_in_jupyter_kernel", lambda: True)
    monkeypatch.setitem(sys.modules, "ipywidgets", None)
    assert P.display() == "text"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert list(P.progress(range(3), desc="pass 1")) == [0, 1, 2]
    out, err = capsys.readouterr()
    assert "pass 1" in out and "3/3" in out and err == ""


def test_in_a_kernel_with_ipywidgets_the_widget_bar(bars_on, monkeypatch):
    monkeypatch.setattr(P, "_in_jupyter_kernel", lambda: True)
    monkeypatch.setitem(sys.modules, "ipywidgets", types.ModuleType("ipywidgets"))  # importable
    assert P.display() == "widget"


def test_a_terminal_ipython_is_not_a_kernel(monkeypatch):
    shell = types.SimpleNamespace()                   # IPython in a terminal: a shell without a kernel
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: shell))
    assert not P._in_jupyter_kernel()
    shell.kernel = object()
    assert P._in_jupyter_kernel()
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: None))
    assert not P._in_jupyter_kernel()
