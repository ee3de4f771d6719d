"""rnnkit.booktext.glue writes exactly the record myst_nb.glue writes (without importing Sphinx)."""
import pytest
from IPython.display import Markdown

from rnnkit import booktext




@pytest.mark.parametrize("value", [0.123456789, 42, Markdown("It *beats* the trigram.")])
@pytest.mark.parametrize("display", [False, True])
def test_the_record_is_myst_nbs(monkeypatch, value, display):
    myst_glue = pytest.importorskip("myst_nb.ext.glue")
    import IPython.display

    theirs, ours = [], []
    monkeypatch.setattr(myst_glue, "ipy_display", lambda data, **kw: theirs.append((data, kw)))
    myst_glue.glue("name", value, display)
    monkeypatch.setattr(IPython.display, "display", lambda data, **kw: ours.append((data, kw)))
    booktext.glue("name", value, display)
    assert ours == theirs and len(ours) == 1


def test_hidden_values_carry_the_prefix_and_the_name(monkeypatch):
    import IPython.display

    ours = []
    monkeypatch.setattr(IPython.display, "display", lambda data, **kw: ours.append((data, kw)))
    booktext.glue("ch9_gap", Markdown("level"))
    (data, kw), = ours
    assert set(data) == {"application/papermill.record/text/markdown", "application/papermill.record/text/plain"}
    assert kw["metadata"]["scrapbook"] == {"name": "ch9_gap", "mime_prefix": "application/papermill.record/"}
    assert kw["raw"] is True
